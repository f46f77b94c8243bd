"""Load test: N parallel users of the real Streamlit app, upload to dashboard, in one headless chromium.

    python -m bench.load --sessions 8 [--cold] [--keep-artifacts DIR] [--deadline 1500]

One ``streamlit run app.py`` (bench.serve.streamlit_app) on a free loopback port, in local sign-in mode
(``ONCOTX_AUTH=local``) on the synthetic demo cohort, with its own ONCOTX_HOME, SQLite database and pseudonym
key, and the background warm-up off (``ONCOTX_WARMUP=0``) so that the first analysis's cost is measured, not
hidden. N clinician accounts and N different demo patients (cohort rows; record ``patient_id`` ``load-<i>``).

Unless ``--cold``, one extra user first runs the whole flow alone (its times are reported as "cold": the first
analysis trains the demo treatment model and builds the cohort map). Then N browser contexts run at once
(playwright's async API, one chromium): sign in → upload expression, then record → "Validation passed" →
Analyse → dashboard → the heading shows *this* patient's pseudonym and no other session's → Save to history →
History lists exactly one saved analysis, with that pseudonym. ``--cold`` skips the warm-up user, so the N
sessions all hit the cold server together (the shared model is then trained once while they wait).

Then the database is checked: one saved analysis per user with the right pseudonym and input hash, payloads load
(hash verified), the audit trail has sign_in, upload, analysis and save (outcome ok) per user and an intact hash
chain, and no audit cell holds a record's patient id, a file name or a clinical value.

Prints a table (sessions, successes, errors, p50/p95/max per phase, wall time, CPU used by the server and by the
whole machine) and the result dict; the exit code is non-zero when anything failed. Screenshots of one dashboard and
one History page go to test-artifacts/load_*.png (from the warm-up session, so as not to slow the parallel ones).
Loopback only: the browser's requests to any other host are aborted (and counted as errors). Bounded: every wait
has a timeout, each session a deadline (``--deadline``), and SIGTERM stops the server and cleans up.

Modules: :mod:`bench.load.patients` (the demo patients and their accounts), :mod:`bench.load.session` (one
user's flow in the browser, all sessions at once), :mod:`bench.load.cpu` (CPU time from /proc),
:mod:`bench.load.checks` (what the database must hold), :mod:`bench.load.report` (summary and table) and
:mod:`bench.load.run` (the run and the command line).
"""
from __future__ import annotations

import os

# OpenMP threads spin while idle unless told not to (see tests/conftest.py); before anything loads them, and
# inherited by the server this run starts
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from bench.load.report import print_report, summarise  # noqa: E402
from bench.load.run import main, run_load  # noqa: E402

__all__ = ["main", "print_report", "run_load", "summarise"]
