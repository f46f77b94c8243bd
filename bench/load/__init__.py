"""Load test: the issue's speed targets and N parallel users of the real Streamlit app, in one headless chromium.

    python -m bench.load [--sessions 16] [--repeats 5] [--reloads 5] [--cores 2] [--cold] [--keep-artifacts DIR]

Pinned to ``--cores`` cores (default 2; this process, the server and chromium: ``os.sched_setaffinity``, printed).
One ``streamlit run app.py`` (bench.serve.streamlit_app) on a free loopback port, in local sign-in mode
(``ONCOTX_AUTH=local``) on the synthetic demo cohort, with its own ONCOTX_HOME, SQLite database and pseudonym
key; its warm-up (dashboard.ui.warmup) starts at server start (the script health check). N clinician accounts and
N different demo patients (cohort rows; record ``patient_id`` ``load-<i>``).

Unless ``--cold``: one warm-up user first runs the whole flow alone (reported as "cold"); then one single user
(targets (a) and (b)) signs in, analyses ``--repeats`` + 1 different patients (upload, Check files, Analyse →
every chart on screen drawn; the first is not counted) and reloads the page ``--reloads`` times (→ still signed
in, page usable). Then N browser contexts run at once (target (c)): sign in → upload expression and record →
validation report → Analyse → every chart drawn (the "upload_to_charts" phase) → the heading shows *this*
patient's pseudonym and no other session's → Save to history → History lists exactly one saved analysis, with
that pseudonym. An upload whose files never reach the validation report is counted as dropped. ``--cold`` turns
the warm-up off and skips the warm-up and single users, so the N sessions all hit the cold server together.

The browser steps find controls by their visible labels (bench.load.steps), so they follow the Patient page: the
uploaders in a form with a "Check files" button, or (older page) each file checked as it is chosen.

Then the database is checked: one saved analysis per user with the right pseudonym and input hash, payloads load
(hash verified), the audit trail has sign_in, upload, analysis and save (outcome ok) per user and an intact hash
chain, and no audit cell holds a record's patient id, a file name or a clinical value.

Prints a table (sessions, successes, errors, p50/p95/max per phase, wall time, CPU used by the server and by the
whole machine), then one TARGET line per speed target of issue 17 with PASS or SHORT (warm single user Analyse →
all charts p50 ≤ 1 s; reload → usable p50 ≤ 2 s; N parallel users upload → all charts p95 ≤ 5 s; zero dropped
uploads), the CPU time one upload -> all charts flow costs the machine (measured on the single user: browser
and server) with the floor it sets for N users who start together (N x that CPU time / the cores, were the work
perfectly shared: no server change brings target (c) below it), and the result dict; the exit code is non-zero
when anything failed (a SHORT target is reported, not failed on). Screenshots of one dashboard and one History page go to test-artifacts/load_*.png (from the warm-up
session, so as not to slow the parallel ones). Loopback only: the browser's requests to any other host are aborted
(and counted as errors). Bounded: every wait has a timeout, each session a deadline (``--deadline``), and SIGTERM
stops the server and cleans up.

Modules: :mod:`bench.load.patients` (the demo patients and their accounts), :mod:`bench.load.steps` (the timed
browser steps and the single user), :mod:`bench.load.session` (one user's flow in the browser, all sessions at
once), :mod:`bench.load.cpu` (CPU time from /proc, core pinning), :mod:`bench.load.checks` (what the database
must hold), :mod:`bench.load.report` (summary, table, targets) and :mod:`bench.load.run` (the run and the command
line).
"""
from __future__ import annotations

import os

# OpenMP threads spin while idle unless told not to (see tests/conftest.py); before anything loads them, and
# inherited by the server this run starts
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

from bench.load.report import print_report, summarise  # noqa: E402
from bench.load.run import main, run_load  # noqa: E402

__all__ = ["main", "print_report", "run_load", "summarise"]
