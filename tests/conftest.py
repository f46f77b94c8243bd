"""Shared fixtures. Real data come from ../shared/data (read-only) via ONCOTX_DATA.

With ONCOTX_REQUIRE_REALDATA=1 (CI), a missing data folder or browser is a failure, not a skip,
and the session fails unless real-data and browser tests actually ran.

Tests that need only the gene id map (the hostile-input, fuzz and validation tests) use ``small_gene_map``:
a data folder holding only ``gene_ids/``, made from the committed rows of tests/data/gene_map_small.tsv, so
they run, with the same answers, without the data folder. Cohorts several test modules load are the
module fixtures ``metabric`` (real data) and ``demo`` below.
"""
from __future__ import annotations

import os

# OpenMP threads (xgboost, torch, scikit-learn share libgomp) spin while idle unless told not to; on a
# shared 2-core machine that made xgboost 20x slower. Must be set before any of them is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
# No background warm-up in test processes or the servers they start (tests/test_warmup.py turns it on).
os.environ["ONCOTX_WARMUP"] = "0"
# Pages open without sign-in unless a test asks for it (tests/test_auth*.py set local or oidc themselves).
os.environ["ONCOTX_AUTH"] = "demo"

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import pytest

from genomics.genes import gene_map_path
from tests.inputs import DEFAULT_DATA, REPO, load_real_cohort

if TYPE_CHECKING:
    import anndata as ad

GENE_MAP_SMALL = REPO / "tests" / "data" / "gene_map_small.tsv"
GENE_MAP_FILE = "grch38_ensembl109_all_genes.csv.gz"  # the name genomics.genes.gene_map_path looks for
REQUIRE = os.environ.get("ONCOTX_REQUIRE_REALDATA") == "1"

_ran: dict[str, int] = {"realdata": 0, "browser": 0}


def _data_dir() -> Path | None:
    env = os.environ.get("ONCOTX_DATA")
    path = Path(env).resolve() if env else DEFAULT_DATA
    return path if (path / "metabric").is_dir() else None


def missing(reason: str) -> None:
    """Skip locally, fail in CI."""
    if REQUIRE:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    path = _data_dir()
    if path is None:
        missing("reference data not found (set ONCOTX_DATA=../shared/data)")
    return path


@pytest.fixture(scope="session")
def small_gene_map_dir(tmp_path_factory) -> Path:
    """A data folder holding only gene_ids/: the committed rows of the Ensembl 109 map, as the real file."""
    folder = tmp_path_factory.mktemp("gene-map-data")
    (folder / "gene_ids").mkdir()
    table = pd.read_csv(GENE_MAP_SMALL, sep="\t", dtype=str)
    table.to_csv(folder / "gene_ids" / GENE_MAP_FILE, index=False)
    assert gene_map_path(folder) is not None, "genomics.genes no longer finds the gene map by this name"
    return folder


@pytest.fixture
def small_gene_map(request, monkeypatch, small_gene_map_dir) -> Path:
    """ONCOTX_DATA = the small gene-map folder (a realdata test keeps the real one): ids map as with the full
    map for the identifiers the tests use, with or without the data folder."""
    if request.node.get_closest_marker("realdata") is None:
        monkeypatch.setenv("ONCOTX_DATA", str(small_gene_map_dir))
    return small_gene_map_dir


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[str]:
    """A PostgreSQL server for this run: ``ONCOTX_TEST_PG_URL`` when set, else a scratch one (tests/postgres.py);
    skipped where neither PostgreSQL nor its driver is installed."""
    from tests import postgres  # lazy: only the PostgreSQL tests need it

    if os.environ.get("ONCOTX_TEST_PG_URL"):
        yield os.environ["ONCOTX_TEST_PG_URL"]
        return
    try:
        import psycopg  # noqa: F401  # lazy: optional dependency (the PostgreSQL driver)
    except ImportError:
        pytest.skip("the PostgreSQL driver (psycopg) is not installed")
    if not (postgres.postgres_bin("initdb") and postgres.postgres_bin("pg_ctl")):
        pytest.skip("no PostgreSQL server: install the postgresql package or set ONCOTX_TEST_PG_URL")
    with postgres.scratch_server() as url:
        yield url


@pytest.fixture
def postgres_url(postgres_server) -> Iterator[str]:
    """An empty PostgreSQL database of its own for one test."""
    from tests import postgres  # lazy: only the PostgreSQL tests need it

    with postgres.scratch_database(postgres_server) as url:
        yield url


@pytest.fixture(scope="module")
def metabric(data_dir) -> ad.AnnData:
    """The METABRIC cohort (real data), loaded once per module."""
    return load_real_cohort("metabric", data_dir)


@pytest.fixture(scope="module")
def demo() -> ad.AnnData:
    """The synthetic demo cohort, loaded once per module."""
    from genomics.cohorts import load_cohort  # lazy: conftest loads for every run; cohorts load dask

    return load_cohort("demo")


@pytest.fixture(autouse=True)
def _settings_env(request, monkeypatch, tmp_path_factory):
    """Every test gets its own ONCOTX_HOME; realdata tests get ONCOTX_DATA, others run with or without it."""
    monkeypatch.setenv("ONCOTX_HOME", str(tmp_path_factory.mktemp("home")))
    if request.node.get_closest_marker("realdata"):
        path = _data_dir()
        if path is None:
            missing("reference data not found (set ONCOTX_DATA=../shared/data)")
        monkeypatch.setenv("ONCOTX_DATA", str(path))
    yield


def pytest_runtest_logreport(report):
    if report.when == "call" and report.passed:
        for marker in _ran:
            if marker in report.keywords:
                _ran[marker] += 1


def pytest_sessionfinish(session, exitstatus):
    if REQUIRE and exitstatus == 0 and session.testscollected > 20:
        lacking = [m for m, n in _ran.items() if n == 0]
        if lacking:
            print(f"\nCI: no {' or '.join(lacking)} test passed; they must run in CI.")
            session.exitstatus = 1
