"""Shared fixtures. Real data come from ../shared/data (read-only) via ONCOTX_DATA.

With ONCOTX_REQUIRE_REALDATA=1 (CI), a missing data folder or browser is a failure, not a skip,
and the session fails unless real-data and browser tests actually ran.
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

from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"
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
