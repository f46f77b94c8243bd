"""Load, small: 2 users at once, each signing in, uploading their own patient, analysing, saving and opening History,
after one warm-up user and one single user (an analysis and a reload measured), in one real server and one headless
chromium (python -m bench.load; the full run with the issue's speed targets is ``python -m bench.load``). Nothing may
be lost or dropped and no session may see another's patient; the database and the audit trail must hold exactly what
each user did, and no patient data. The speed targets are reported, not asserted (the machine is shared)."""
from __future__ import annotations

import shutil

import pytest

from tests.test_browser import _missing

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.timeout(900)]
SESSIONS = 2


def test_parallel_sessions_upload_to_history():
    if shutil.which("chromium") is None:
        _missing("chromium not found on PATH")
    try:
        import playwright.async_api  # noqa: F401
    except ImportError:
        _missing("playwright is not installed")
    from bench.load import print_report, run_load

    result = run_load(SESSIONS, repeats=1, reloads=1, deadline_s=600)
    print_report(result)
    assert result["cold_s"] is not None and "total" in result["cold_s"], result["errors"]  # the warm-up user passed
    assert result["successes"] == SESSIONS, result["errors"]
    assert result["errors"] == []
    assert result["cross_talk"] == []
    assert result["blocked_requests"] == []  # loopback only
    assert result["db_problems"] == [] and result["db_ok"]
    pseudonyms = [s["pseudonym"] for s in result["sessions_detail"]]
    assert len(set(pseudonyms)) == SESSIONS and all(p.startswith("PT-") for p in pseudonyms)
    shown = [s["saved_id"] for s in result["sessions_detail"] if s["saved_id"]]  # when the page shows the id
    assert len(set(shown)) == len(shown)  # (one saved analysis per user: the database check)
    assert result["server_log_tracebacks"] == 0
    assert result["dropped_uploads"] == 0
    single = result["single_user"]
    assert single["error"] == "" and len(single["analyse_s"]) == 1 and len(single["reload_s"]) == 1
    assert [t["verdict"] in ("PASS", "SHORT") for t in result["targets"]] == [True] * 4
    assert result["ok"]
