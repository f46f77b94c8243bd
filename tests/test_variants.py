"""Every real upload gets an answer: the model variant chosen for what the upload has (issue 15).

Real data throughout: the default METABRIC bundle (``python -m models train``'s default kind) answers a
SCAN-B RNA-seq sample with the mCODE FHIR record, a record alone, a 20-gene panel, an Affymetrix probe
upload and an RNA-seq counts upload, each through the ``recommend`` CLI.
"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.realdata
MCODE = REPO / "tests" / "data" / "records" / "mcode_bundle.json"
REGIMENS = ("none", "chemotherapy", "hormone_therapy", "radio_therapy", "chemotherapy+hormone_therapy",
            "chemotherapy+radio_therapy", "hormone_therapy+radio_therapy",
            "chemotherapy+hormone_therapy+radio_therapy")


@pytest.fixture(scope="module")
def home(tmp_path_factory) -> Path:
    """One ONCOTX_HOME for the module, so the companions fitted by one test are reused by the next."""
    return tmp_path_factory.mktemp("variants-home")


@pytest.fixture(autouse=True)
def _shared_home(home, monkeypatch, data_dir):
    monkeypatch.setenv("ONCOTX_HOME", str(home))
    monkeypatch.setenv("ONCOTX_DATA", str(data_dir))


@pytest.fixture(scope="module")
def default_bundle(metabric, home, data_dir):
    """The default bundle of ``python -m models train --cohort metabric --endpoint OS`` (an xgboost ensemble)."""
    from models.training import train_bundle

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONCOTX_HOME", str(home))
        mp.setenv("ONCOTX_DATA", str(data_dir))
        return train_bundle(metabric, endpoint="OS", kind="ensemble", out=home / "metabric-os-ensemble",
                            source="metabric")


@pytest.fixture(scope="module")
def scanb(data_dir) -> pd.DataFrame:
    return pd.read_csv(data_dir / "scanb" / "scanb_dev_expr_log2fpkm_196x10000.csv.gz", index_col=0)


def _one_sample(values: pd.Series, path: Path, *, column: str = "value") -> Path:
    frame = values.rename(column).to_frame()
    frame.index.name = "gene"
    frame.to_csv(path, sep="\t")
    return path


def _recommend(bundle, out: Path, *args: str) -> pd.DataFrame:
    from models.cli import main

    assert main(["recommend", "--model", str(bundle.path), "--out", str(out), *args]) == 0
    return pd.read_csv(out)


def _assert_answer(table: pd.DataFrame, *, variant: str) -> None:
    assert len(table) == 1
    row = table.iloc[0]
    assert row["variant"] == variant
    for r in REGIMENS:
        for h in (5, 10):
            s, lo, hi = row[f"S{h}_{r}"], row[f"S{h}_{r}_lo"], row[f"S{h}_{r}_hi"]
            assert 0.0 < s < 1.0 and np.isfinite(lo) and np.isfinite(hi)
            assert lo <= s + 1e-9 <= hi + 2e-9
    assert 0.5 < row["model_c_index"] < 0.8
    assert row["recommended"] in REGIMENS


def test_scanb_sample_with_mcode_record_through_the_cli(default_bundle, scanb, tmp_path):
    """The issue's first 'done when': exit 0, survival under every regimen with intervals, variant and genes named."""
    sample = _one_sample(scanb.iloc[0], tmp_path / "scanb_F2974.tsv")
    out = tmp_path / "options.csv"
    proc = subprocess.run(  # noqa: S603 - the CLI as a user runs it
        [sys.executable, "-m", "models", "recommend", "--model", str(default_bundle.path), "--expression",
         str(sample), "--records", str(MCODE), "--out", str(out)],
        cwd=REPO, capture_output=True, text=True, timeout=600, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table = pd.read_csv(out)
    _assert_answer(table, variant="companion")
    row = table.iloc[0]
    n_shared = len(set(scanb.columns) & set(default_bundle.features.genes_))
    assert row["genes_used"] == n_shared and row["genes_missing"] == 300 - n_shared
    assert row["platform"] == "rnaseq" and row["platform_reference"] == "scanb"
    assert "companion model on the shared genes" in proc.stderr
    assert f"{n_shared} genes" in proc.stderr and "held-back C" in proc.stderr


def test_record_only_gets_the_clinical_model(default_bundle, tmp_path):
    table = _recommend(default_bundle, tmp_path / "o.csv", "--records", str(MCODE))
    _assert_answer(table, variant="clinical")
    assert table.iloc[0]["genes_used"] == 0


def test_twenty_gene_panel(default_bundle, scanb, tmp_path):
    genes = [g for g in default_bundle.features.genes_ if g in scanb.columns][:20]
    sample = _one_sample(scanb.iloc[1][genes], tmp_path / "panel.tsv")
    table = _recommend(default_bundle, tmp_path / "o.csv", "--expression", str(sample), "--records", str(MCODE))
    _assert_answer(table, variant="companion")
    assert table.iloc[0]["genes_used"] == 20


def test_affymetrix_probe_upload(default_bundle, data_dir, tmp_path):
    vdx = pd.read_csv(data_dir / "vdx" / "vdxs_expr.csv.gz").set_index("sample_id")
    path = tmp_path / "vdx_probe.tsv"
    vdx.iloc[[3]].T.to_csv(path, sep="\t")  # probe ids as rows, as arrays export them
    table = _recommend(default_bundle, tmp_path / "o.csv", "--expression", str(path), "--records", str(MCODE))
    assert table.iloc[0]["platform"] == "affymetrix" and table.iloc[0]["platform_reference"] == "vdx"
    _assert_answer(table, variant="companion" if table.iloc[0]["genes_used"] >= 10 else "clinical")


def test_rnaseq_counts_upload(default_bundle, scanb, tmp_path):
    counts = np.round((2.0 ** scanb.iloc[2] - 0.1).clip(lower=0) * 30).astype(int)
    sample = _one_sample(counts, tmp_path / "counts.tsv", column="count")
    table = _recommend(default_bundle, tmp_path / "o.csv", "--expression", str(sample), "--records", str(MCODE))
    _assert_answer(table, variant="companion")
    assert table.iloc[0]["platform"] == "rnaseq"


def test_companion_is_cached_and_uses_only_shared_genes(default_bundle, scanb, metabric):
    from genomics.validate import check_upload
    from models.variants import answer, companion_dir

    genes = [g for g in default_bundle.features.genes_ if g in scanb.columns][:40]
    text = scanb.iloc[5][genes].rename("value").to_csv(sep="\t").encode()
    patient = check_upload(text, name="p.tsv").adata
    first = answer(default_bundle, patient, cohort=metabric)
    folders = sorted(companion_dir().iterdir())
    again = answer(default_bundle, patient, cohort=metabric)
    assert sorted(companion_dir().iterdir()) == folders  # nothing refitted
    assert again.bundle.sha256 == first.bundle.sha256
    assert first.variant == "companion" and sorted(first.bundle.features.genes_) == sorted(genes)
    assert first.bundle.card.variant == "companion" and first.bundle.card.parent_sha256 == default_bundle.sha256
    assert set(first.genes_missing) == set(default_bundle.features.genes_) - set(genes)
    # the same held-back patients as the full model, so the C values are comparable
    assert first.bundle.card.test_patient_ids == default_bundle.card.test_patient_ids
    assert first.full_c_index == pytest.approx(default_bundle.card.metrics["harrell_c"]["value"])


def test_metabric_row_is_answered_by_the_full_model(default_bundle, metabric):
    from models.variants import answer

    patient = metabric[[default_bundle.card.test_patient_ids[0]]].copy()
    chosen = answer(default_bundle, patient, cohort=metabric)
    assert chosen.variant == "full" and chosen.bundle.sha256 == default_bundle.sha256
    assert chosen.reference is None and chosen.coverage == 1.0
    np.testing.assert_array_equal(np.asarray(chosen.patients.X), np.asarray(patient.X))


def test_other_platform_is_standardised_against_its_reference(default_bundle, scanb):
    """A SCAN-B sample on SCAN-B's own scale: each gene's value is its z against SCAN-B, in METABRIC units."""
    from genomics.validate import check_upload
    from models.variants import to_training_space

    text = scanb.iloc[7].rename("value").to_csv(sep="\t").encode()
    patient = check_upload(text, name="p.tsv").adata
    moved, platform, reference, _note = to_training_space(patient, default_bundle)
    assert (platform, reference) == ("rnaseq", "scanb")
    std = default_bundle.features.standardiser_
    for gene in ("ESR1", "ERBB2", "AURKA"):
        if gene not in moved.var_names or gene not in std.genes:
            continue
        col = scanb[gene].astype(float)
        z = (scanb.iloc[7][gene] - col.mean()) / col.std(ddof=1)
        i = list(std.genes).index(gene)
        expected = std.ref_mean[i] + z * std.ref_sd[i]
        assert float(moved[:, gene].X[0, 0]) == pytest.approx(expected, abs=0.02)


def test_robust_variant_uses_gene_set_rank_scores(default_bundle, scanb, metabric):
    from genomics.validate import check_upload
    from models.variants import answer

    text = scanb.iloc[9].rename("value").to_csv(sep="\t").encode()
    patient = check_upload(text, name="p.tsv").adata
    chosen = answer(default_bundle, patient, variant="robust", cohort=metabric)
    columns = chosen.bundle.features.columns_
    assert any(c.startswith("score:") for c in columns) and not any(c.startswith("gene:") for c in columns)
    X = chosen.bundle.features.transform(chosen.patients, require_coverage=False).X
    scores = X[0, [i for i, c in enumerate(columns) if c.startswith("score:")]]
    assert np.all(np.abs(scores) <= 0.5) and np.std(scores) > 0


def test_forced_full_model_on_too_few_genes_is_refused(default_bundle, scanb):
    from genomics.validate import check_upload
    from models.errors import ModelError
    from models.variants import answer

    text = scanb.iloc[0].rename("value").to_csv(sep="\t").encode()
    with pytest.raises(ModelError, match="never filled silently"):
        answer(default_bundle, check_upload(text, name="p.tsv").adata, variant="full")


def test_bundle_trained_on_a_path_recommends_without_flags(tmp_path, metabric):
    """Issue 15 bug: a model trained on a cohort PATH must find that cohort again (no --reference-cohort)."""
    from genomics.cohorts import load_cohort
    from models.cli import main

    demo = load_cohort("demo")
    path = tmp_path / "my_cohort.h5ad"
    demo.write_h5ad(path)
    out = tmp_path / "model"
    assert main(["train", "--cohort", str(path), "--endpoint", "OS", "--model", "effects", "--out", str(out)]) == 0
    card = json.loads((out / "model_card.json").read_text())
    assert card["cohort_source"] == str(path.resolve())
    assert main(["recommend", "--model", str(out), "--cohort", str(path), "--out", str(tmp_path / "o.csv")]) == 0
    assert len(pd.read_csv(tmp_path / "o.csv")) == demo.n_obs
    path.unlink()  # the cohort moved away: a clear message naming what is needed
    assert main(["recommend", "--model", str(out), "--records", str(MCODE), "--out", str(tmp_path / "p.csv")]) == 2


# --- which variant will answer, said before any fit (light: no model is fitted) ----------------------


def _fake_bundle(n_genes: int = 300):
    from types import SimpleNamespace

    features = SimpleNamespace(genes_=[f"G{i}" for i in range(n_genes)], numeric_=["age_at_diagnosis"],
                               categorical_=["er_status"])
    return SimpleNamespace(features=features)


@pytest.mark.parametrize("n_shared, variant", [(300, "full"), (240, "full"), (239, "companion"), (52, "companion"),
                                               (10, "companion"), (9, "clinical"), (0, "clinical")])
def test_planned_variant_follows_the_one_rule(n_shared, variant):
    from models.features import MIN_GENE_COVERAGE
    from models.variants import MIN_COMPANION_GENES, choose_variant, planned_variant

    bundle = _fake_bundle()
    genes = [f"G{i}" for i in range(n_shared)] + ["NOT_IN_MODEL"]
    plan = planned_variant(bundle, genes, ["age_at_diagnosis"])
    assert plan["variant"] == variant == choose_variant(n_shared / 300, n_shared)
    assert MIN_GENE_COVERAGE == 0.8 and MIN_COMPANION_GENES == 10
    assert len(plan["genes_missing"]) == 300 - n_shared and "NOT_IN_MODEL" not in plan["genes_used"]
    assert plan["genes_used"] == ([] if variant == "clinical" else genes[:n_shared])
    assert plan["fields_missing"] == ["er_status"] and plan["label"]
    sentence = plan["sentence"]
    assert {"full": "The full model will answer", "companion": f"A companion model on the {n_shared} genes",
            "clinical": "The clinical-only model will answer"}[variant] in sentence
    assert "_" not in sentence.replace("NOT_IN_MODEL", "") and "ONCOTX" not in sentence
    if variant != "full":
        assert "ER status" in sentence  # the missing field, in words


def test_answer_uses_planned_variant():
    """answer() takes its automatic choice from planned_variant (one rule), read from the source."""
    import inspect

    from models import variants

    source = inspect.getsource(variants.answer)
    assert "planned_variant(" in source and "choose_variant(" not in source
