"""The hostile-input corpus (tests/hostile): every file gives its expected plain message, never a traceback.

Files are built by ``tests/hostile/make_corpus.py`` into a temporary folder (bombs and the oversized file
are never committed); ``tests/hostile/expected.json`` holds the expected outcome of each.
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from genomics.errors import InputError
from genomics.records import read_records
from genomics.validate import check_upload
from tests.hostile.make_corpus import BUILDERS, SPECIAL, build, load_manifest

# gene symbols map as with the full map, from the small committed one (tests/conftest.py: small_gene_map)
pytestmark = pytest.mark.usefixtures("small_gene_map")

CASES = load_manifest()
MAX_SECONDS = 20.0
REPO = Path(__file__).resolve().parents[1]
_MARKUP = re.compile(r"<\s*/?\s*[a-zA-Z!]")
_TIMINGS: dict[str, float] = {}


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> dict[str, Path]:
    return build(tmp_path_factory.mktemp("hostile"))


def _outcome(case: dict, path: Path) -> tuple[list[str], list[str], str | None]:
    """(errors, warnings, shown source name) for one case; raises only on a bug."""
    name = case.get("upload_name", case["file"])
    if case["kind"] == "records":
        try:
            record = read_records(path, name=name)
        except InputError as exc:
            return [exc.message, *exc.problems], [], None
        return [], [*record.warnings, *record.unknown], None
    result = check_upload(path, name=name)
    shown = result.adata.uns["oncotx"]["source_name"] if result.adata is not None else None
    return list(result.report.errors), list(result.report.warnings), shown


def _assert_plain(messages: list[str], corpus_dir: Path) -> None:
    for msg in messages:
        assert "Traceback" not in msg and 'File "/' not in msg, msg
        assert str(corpus_dir) not in msg and str(REPO) not in msg, msg
        assert "/etc/" not in msg and "../" not in msg and "..\\" not in msg, msg
        assert not _MARKUP.search(msg), f"raw markup echoed: {msg}"
        assert "\x00" not in msg and all(ch.isprintable() for ch in msg), repr(msg)


def test_manifest_covers_the_corpus():
    files = [c["file"] for c in CASES]
    assert len(files) >= 30 and len(set(files)) == len(files)
    assert set(files) == set(BUILDERS) | set(SPECIAL)
    assert {c["outcome"] for c in CASES} == {"ok", "error"}


def test_corpus_is_deterministic():
    small = {n: b() for n, b in BUILDERS.items() if n not in ("gzip_bomb.csv.gz", "xlsx_bomb.xlsx")}
    assert small == {n: b() for n, b in BUILDERS.items() if n in small}


@pytest.mark.parametrize("case", CASES, ids=[c["file"] for c in CASES])
def test_hostile_file_gives_its_expected_outcome(case, corpus):
    path = corpus[case["file"]]
    start = time.perf_counter()
    errors, warnings, shown = _outcome(case, path)
    elapsed = time.perf_counter() - start
    _TIMINGS[case["file"]] = elapsed
    assert elapsed < MAX_SECONDS, f"{case['file']} took {elapsed:.1f} s"
    _assert_plain(errors + warnings, path.parent)
    if case["outcome"] == "error":
        assert errors, f"{case['file']}: expected an error, got warnings {warnings}"
        assert any(case["message"] in e for e in errors), errors
    else:
        assert not errors, errors
        for fragment in case["warnings"]:
            assert any(fragment in w for w in warnings), (fragment, warnings)
        if not case["warnings"]:
            assert not warnings, warnings
    if "source_name" in case:
        assert shown == case["source_name"]


@pytest.mark.parametrize("case", [c for c in CASES if c["kind"] == "records"], ids=lambda c: c["file"])
def test_hostile_records_through_check_upload(case, corpus):
    """The same records files attached to a valid upload: errors are prefixed, never raised."""
    result = check_upload(corpus["gzip_ok.csv.gz"], name="ok.csv.gz", records=corpus[case["file"]],
                          records_name=case["file"])
    record_errors = [e for e in result.report.errors if e.startswith("Clinical record:")]
    if case["outcome"] == "error":
        assert any(case["message"] in e for e in record_errors), result.report.errors
    _assert_plain(list(result.report.errors) + list(result.report.warnings), corpus[case["file"]].parent)


@pytest.mark.parametrize("file_name", ["gzip_bomb.csv.gz", "png_named.csv", "unbalanced_quotes.csv"])
def test_cli_refuses_hostile_files_without_traceback(file_name, corpus):
    env = {**os.environ, "OMP_WAIT_POLICY": "PASSIVE"}
    proc = subprocess.run([sys.executable, "-m", "genomics", "validate", str(corpus[file_name])], cwd=REPO,
                          capture_output=True, text=True, timeout=120, env=env)
    assert proc.returncode == 2, (proc.stdout, proc.stderr)
    assert "Traceback" not in proc.stderr and "Traceback" not in proc.stdout
    assert "INVALID" in proc.stdout
    case = next(c for c in CASES if c["file"] == file_name)
    assert case["message"] in proc.stdout


@pytest.mark.parametrize("case", [c for c in CASES if "small_deadline" in c], ids=lambda c: c["file"])
def test_pathological_files_stop_at_a_small_parse_deadline(case, corpus):
    """Under a small wall-clock budget the same file stops with the plain time-limit message (no traceback)."""
    path, seconds = corpus[case["file"]], case["small_deadline"]
    expected = f"took longer than the {seconds:g} s limit; it is too large or malformed. Nothing was stored."
    start = time.perf_counter()
    if case["kind"] == "records":
        with pytest.raises(InputError) as info:
            read_records(path, name=case["file"], deadline=seconds)
        errors = [info.value.message, *info.value.problems]
    else:
        result = check_upload(path, name=case["file"], deadline=seconds)
        assert result.adata is None
        errors = list(result.report.errors)
    assert time.perf_counter() - start < MAX_SECONDS
    assert any(expected in e for e in errors), errors
    _assert_plain(errors, path.parent)


def test_timings_reported(corpus):
    """Not a micro-assertion: prints the slowest files (run with -s) once the cases above have run."""
    slowest = sorted(_TIMINGS.items(), key=lambda kv: -kv[1])[:5]
    print("slowest hostile files:", ", ".join(f"{n} {t:.2f}s" for n, t in slowest))
    assert all(t < MAX_SECONDS for t in _TIMINGS.values())
