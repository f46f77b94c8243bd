"""`python -m genomics validate`: exit 0 valid, 2 invalid with one line per problem, never a traceback."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from genomics.cli import main
from tests import inputs

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.realdata


def _run(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.run([sys.executable, "-m", "genomics", *args], capture_output=True, text=True, cwd=REPO,
                          env=env, timeout=120)


@pytest.mark.parametrize(
    "make",
    [lambda: inputs.metabric_row_csv(0), inputs.rnaseq_counts_tsv, inputs.vdx_sample_tsv],
    ids=["metabric-row", "rnaseq-counts", "vdx-sample"],
)
def test_valid_inputs_exit_0(tmp_path, make, capsys):
    path = tmp_path / "profile.txt"
    path.write_bytes(make())
    assert main(["validate", str(path)]) == 0
    assert capsys.readouterr().out.strip().endswith("VALID")


BAD = {
    "empty": b"",
    "header-only": b"gene,value\n",
    "one-column": b"ESR1\nPGR\n",
    "binary": b"\x89PNG\r\n\x1a\n\x00\x00\x00",
    "few-genes": b"gene,value\nESR1,1\nPGR,2\n",
    "no-genes": b"a,b\nx,1\ny,2\n",
    "non-numeric": b"gene,value\n" + b"".join(f"G{i},1\n".encode() for i in range(3)) + b"ESR1,abc\n",
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_inputs_exit_2_with_one_line_reasons(tmp_path, name, capsys):
    path = tmp_path / "bad.csv"
    path.write_bytes(BAD[name])
    assert main(["validate", str(path)]) == 2
    out = capsys.readouterr().out
    errors = [ln for ln in out.splitlines() if ln.startswith("ERROR: ")]
    assert errors and all("\n" not in e for e in errors)
    assert "Traceback" not in out


def test_subprocess_contract_and_records(tmp_path):
    profile = tmp_path / "p.csv"
    profile.write_bytes(inputs.metabric_row_csv(1))
    record = tmp_path / "r.json"
    record.write_text(json.dumps({"age_at_diagnosis": 48, "er_status": "Positive", "grade": 2}))
    done = _run("validate", str(profile), "--records", str(record), "--json")
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert report["ok"] and report["facts"]["clinical fields mapped"] == 3
    bad = _run("validate", str(tmp_path / "missing.csv"))
    assert bad.returncode == 2 and "not found" in bad.stdout and "Traceback" not in bad.stdout + bad.stderr


def test_bad_record_is_exit_2(tmp_path):
    profile = tmp_path / "p.csv"
    profile.write_bytes(inputs.metabric_row_csv(1))
    record = tmp_path / "r.json"
    record.write_text(json.dumps({"age_at_diagnosis": 400}))
    done = _run("validate", str(profile), "--records", str(record))
    assert done.returncode == 2 and "age" in done.stdout.lower()


def test_internal_error_is_exit_1(monkeypatch, capsys):
    import genomics.validate

    def boom(*args, **kwargs):
        raise RuntimeError("bug")

    monkeypatch.setattr(genomics.validate, "check_upload", boom)
    assert main(["validate", "whatever.csv"]) == 1
    assert "INTERNAL ERROR" in capsys.readouterr().err


def test_cohorts_command_lists_metabric(capsys):
    assert main(["cohorts"]) == 0
    out = capsys.readouterr().out
    assert "metabric" in out and "demo" in out


def test_signatures_command_writes_one_row_per_sample(tmp_path):
    from genomics.demo import make_demo_cohort

    cohort = make_demo_cohort(n_patients=30, seed=5)
    expression = tmp_path / "thirty.csv"
    cohort.to_df().to_csv(expression)
    out = tmp_path / "sig.csv"
    done = _run("signatures", "--expression", str(expression), "--out", str(out))
    assert done.returncode == 0, done.stderr
    import pandas as pd

    table = pd.read_csv(out)
    assert len(table) == 30 and list(table["sample_id"]) == list(cohort.obs_names)
    assert {"pam50", "pam50_confidence", "rs_approx", "module_proliferation", "pam50_coverage"} <= set(table.columns)
    called = table["pam50"].notna()
    assert called.all()
    assert (table.loc[called, "pam50"] == cohort.obs["subtype"].astype(str).to_numpy()[called]).mean() >= 0.6
