"""Load: 8 users at once, each signing in, uploading their own patient, analysing, saving and opening History, in
one real server and one headless chromium (bench/load.py). Nothing may be lost and no session may see another's
patient; the database and the audit trail must hold exactly what each user did, and no patient data."""
from __future__ import annotations

import shutil

import pytest

from tests.test_browser import _missing

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(1500)]
SESSIONS = 8


def test_parallel_sessions_upload_to_history():
    if shutil.which("chromium") is None:
        _missing("chromium not found on PATH")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _missing("playwright is not installed")
    from bench.load import print_report, run_load

    result = run_load(SESSIONS, deadline_s=1200)
    print_report(result)
    assert result["cold_s"] is not None and "total" in result["cold_s"], result["errors"]  # the warm-up user passed
    assert result["successes"] == SESSIONS, result["errors"]
    assert result["errors"] == []
    assert result["cross_talk"] == []
    assert result["blocked_requests"] == []  # loopback only
    assert result["db_problems"] == [] and result["db_ok"]
    pseudonyms = [s["pseudonym"] for s in result["sessions_detail"]]
    assert len(set(pseudonyms)) == SESSIONS and all(p.startswith("PT-") for p in pseudonyms)
    assert len({s["saved_id"] for s in result["sessions_detail"]}) == SESSIONS
    assert result["server_log_tracebacks"] == 0
    assert result["ok"]
