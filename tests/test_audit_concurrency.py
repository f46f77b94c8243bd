"""Several processes append to one audit trail at once: every append lands and the hash chain stays intact.

Each child process is a separate interpreter calling the app's own ``dashboard.platform.audit.record`` in a tight
loop against the same database; all of them start at the same instant. Without the cross-process append lock
(SQLite ``BEGIN IMMEDIATE``, PostgreSQL ``pg_advisory_xact_lock``) two processes read the same chain head and
both link to it, and :func:`verify_chain` reports the fork. The PostgreSQL run uses a scratch server
(tests/postgres.py; or ``ONCOTX_TEST_PG_URL``, a database the test may write to).
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap

from sqlalchemy import func, select

from dashboard.platform import audit
from dashboard.platform.db import get_engine, session_scope
from tests.conftest import REPO

PROCESSES, APPENDS = 4, 50

CHILD = textwrap.dedent("""
    import os, sys, time
    from dashboard.platform import audit
    url, go, n, who = sys.argv[1], sys.argv[2], int(sys.argv[3]), sys.argv[4]
    if os.environ.get("ONCOTX_TEST_AUDIT_NO_LOCK"):  # only to show that the test can fail
        audit.lock_for_append = lambda session, key: None
    audit.record(audit.Event(user=who, role="clinician", action="open"), url=url)  # engine and tables ready
    print("READY", flush=True)
    while not os.path.exists(go):
        time.sleep(0.001)
    for _ in range(n - 1):
        audit.record(audit.Event(user=who, role="clinician", action="analysis", detail="batch scoring"), url=url)
    print("DONE", flush=True)
""")


def _append_at_once(url: str, tmp_path) -> list[subprocess.CompletedProcess]:
    env = {**os.environ, "ONCOTX_HOME": str(tmp_path / "home"), "PYTHONPATH": str(REPO)}
    get_engine(url)  # the tables exist before the children start (creating them is not what is tested)
    go = tmp_path / "go"
    children = [subprocess.Popen([sys.executable, "-c", CHILD, url, str(go), str(APPENDS), f"proc{i}"],
                                 cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for i in range(PROCESSES)]
    for child in children:  # every child imported and connected before the first append
        assert child.stdout.readline().strip() == "READY", child.stderr.read()[-2000:]
    go.touch()
    done = []
    for child in children:
        out, err = child.communicate(timeout=180)
        done.append(subprocess.CompletedProcess(child.args, child.returncode, out, err))
    return done


def _check(url: str, tmp_path) -> None:
    for child in _append_at_once(url, tmp_path):
        assert child.returncode == 0 and "DONE" in child.stdout, child.stderr[-2000:]
    ok, summary = audit.verify_chain(url=url)
    assert ok, summary
    with session_scope(url) as s:
        rows = s.execute(select(func.count()).select_from(audit.AuditRow)).scalar()
        users = s.execute(select(func.count(func.distinct(audit.AuditRow.user)))).scalar()
    assert rows == PROCESSES * APPENDS, rows
    assert users == PROCESSES
    assert summary.startswith(f"{PROCESSES * APPENDS} events")


def test_concurrent_appends_keep_the_chain_sqlite(tmp_path):
    _check(f"sqlite:///{tmp_path / 'audit.db'}", tmp_path)


def test_concurrent_appends_keep_the_chain_postgresql(postgres_url, tmp_path):
    _check(postgres_url, tmp_path)
