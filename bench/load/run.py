"""Load test: N parallel users of the real Streamlit app, upload to dashboard, in one headless chromium.

The run (:func:`run_load`: server, patients, sessions, checks) and the command line (``python -m bench.load``);
the package docstring (:mod:`bench.load`) says what is measured and checked.
"""
from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import secrets
import shutil
import signal
import tempfile
from pathlib import Path

from bench.load.checks import check_database
from bench.load.cpu import allowed_cores, pin_cores, restore_cores
from bench.load.patients import make_patients, temporary_environ
from bench.load.report import parallel_floor, print_report, summarise, targets
from bench.load.session import run_all
from bench.serve import streamlit_app
from dashboard.platform import db

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts"


def _forget_engine(url: str) -> None:
    """Dispose of this process's engine for the run's database (its file is about to be removed)."""
    with contextlib.suppress(Exception):
        db._ENGINES.pop(url).dispose()


#: Exceptions a server logs when a browser goes away mid-message (not a failure of the app).
DISCONNECT_ERRORS = ("WebSocketClosedError", "StreamClosedError")


def traceback_tails(log_text: str, *, lines: int = 6) -> list[str]:
    """The last ``lines`` lines of each traceback in a server log (where it was raised and what), to print."""
    tails = []
    for block in log_text.split("Traceback")[1:]:
        body = [line.strip() for line in block.splitlines()[1:] if line.strip()]
        stop = next((i for i, line in enumerate(body) if not line.startswith(("File ", "^", "~")) and i > 0
                     and not body[i - 1].startswith("File ")), len(body) - 1)
        tails.append(" / ".join(body[max(0, stop - lines + 1):stop + 1]))
    return tails


def run_load(sessions: int = 16, *, cold: bool = False, repeats: int = 5, reloads: int = 5, cores: int | None = 2,
             keep_artifacts: Path | None = None, shots: Path | None = ARTIFACTS, deadline_s: float = 1500.0) -> dict:
    """Start the server, run the load and the checks; return the result dict (``result["ok"]``, and
    ``result["targets"]``: the issue's speed targets, each PASS or SHORT). ``cores`` pins the run (this process,
    the server and the browser) to that many cores; ``repeats``/``reloads`` size the single-user measurement."""
    if sessions < 1:
        raise ValueError("--sessions must be at least 1")
    before = allowed_cores()
    pinned = pin_cores(cores)
    try:
        return _run_load(sessions, cold=cold, repeats=repeats, reloads=reloads, pinned=pinned,
                         keep_artifacts=keep_artifacts, shots=shots, deadline_s=deadline_s)
    finally:
        restore_cores(before)


def _run_load(sessions: int, *, cold: bool, repeats: int, reloads: int, pinned: list[int] | None,
              keep_artifacts: Path | None, shots: Path | None, deadline_s: float) -> dict:
    tmp = Path(tempfile.mkdtemp(prefix="oncotx-load-"))
    key = secrets.token_hex(16)
    database = f"sqlite:///{tmp / 'oncotx.sqlite'}"
    server_env = {"ONCOTX_AUTH": "local", "ONCOTX_PSEUDONYM_KEY": key, "ONCOTX_DATABASE_URL": database,
                  "ONCOTX_WARMUP": "0" if cold else "1", "ONCOTX_SESSION_MINUTES": "60"}
    mine = {"ONCOTX_DATA": None, "ONCOTX_HOME": str(tmp / "home"), "ONCOTX_CONFIG": str(tmp / "no-such.toml"),
            "ONCOTX_DATABASE_URL": database, "ONCOTX_PSEUDONYM_KEY": key}
    fail_shots = keep_artifacts or shots
    try:
        with temporary_environ(mine):
            everyone = make_patients(tmp / "patients", sessions, warmup=not cold, key=key)
            warmup = None if cold else everyone[0]
            patients = everyone if cold else everyone[1:]
            # the single user's patients: other cohort rows; one more than measured (the first is not counted)
            single = [] if cold or repeats < 1 else make_patients(tmp / "single", repeats + 1, warmup=False, key=key,
                                                                   prefix="a", offset=3)
            with streamlit_app(tmp, data=None, env=server_env, warm_start=not cold) as (url, log):
                load_before = os.getloadavg()[0]
                run = run_all(url, warmup, patients, shots=shots, fail_shots=fail_shots, deadline_s=deadline_s,
                              single=single, reloads=reloads)
                first, results, wall, cpu, alone = asyncio.run(run)
            db_problems = check_database(patients, results, everyone=everyone)
            _forget_engine(database)
        result = summarise(sessions, first, results, wall, db_problems, cold_mode=cold)
        result["single_user"] = None if alone is None else {
            "analyse_s": [round(v, 2) for v in alone.analyse_s], "reload_s": [round(v, 2) for v in alone.reload_s],
            "first_analyse_s": None if alone.discarded_s is None else round(alone.discarded_s, 2),
            "flow_cpu_s": [round(v, 2) for v in alone.flow_cpu_s],
            "flow_server_cpu_s": [round(v, 2) for v in alone.flow_server_cpu_s], "error": alone.error}
        if alone is not None and alone.error:
            result["errors"].append(f"single user: {alone.error}")
            result["ok"] = False
        result["cores_used"] = pinned
        # where the time went: one Streamlit process serves every session (near 1 core used: bound by its
        # interpreter lock); the machine's busy cores include the browser and whatever else runs on it
        for name, used in cpu.items():
            result[f"{name}_cpu_s"] = None if used is None else round(used, 1)
            result[f"{name}_cores_busy"] = None if used is None else round(used / max(wall, 1e-9), 2)
        result["load_average_before"] = round(load_before, 2)
        result["cpu_count"] = os.cpu_count()
        result["parallel_floor_s"] = parallel_floor(result)
        result["targets"] = targets(result)
        tails = traceback_tails(log.read_text(errors="replace"))
        # a browser tab closed while the server was still sending (tornado logs it): noise, counted apart
        disconnects = [t for t in tails if any(name in t for name in DISCONNECT_ERRORS)]
        failures = [t for t in tails if t not in disconnects]
        result["server_log_tracebacks"] = len(failures)
        result["server_log_disconnects"] = len(disconnects)
        if failures:
            result["ok"] = False
            result["errors"].append(f"server log has {len(failures)} tracebacks: " + " | ".join(failures))
        result["sessions_detail"] = [{"user": r.user, "ok": r.ok, "error": r.error, "pseudonym": r.shown_pseudonym,
                                      "saved_id": r.saved_id, "history": r.history,
                                      "times": {k: round(v, 2) for k, v in r.times.items()}}
                                     for r in results]
        return result
    finally:
        if keep_artifacts is not None:
            keep_artifacts.mkdir(parents=True, exist_ok=True)
            shutil.copytree(tmp, keep_artifacts / tmp.name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("models", "cache"))
        shutil.rmtree(tmp, ignore_errors=True)


def _terminated(signum, _frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.load", description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, default=16, help="parallel user sessions (default 16)")
    parser.add_argument("--repeats", type=int, default=5,
                        help="single-user analyses measured, one patient each (default 5; 0: none)")
    parser.add_argument("--reloads", type=int, default=5, help="single-user reloads measured (default 5)")
    parser.add_argument("--cores", type=int, default=2,
                        help="pin the run (server and browser) to this many cores (default 2; 0: no pinning)")
    parser.add_argument("--cold", action="store_true",
                        help="no warm-up session: the N sessions meet a cold server (first analysis trains the model)")
    parser.add_argument("--keep-artifacts", type=Path, default=None,
                        help="copy the run's folder (server log, database, patient files) here")
    parser.add_argument("--deadline", type=float, default=1500.0,
                        help="seconds allowed for each session (default 1500)")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _terminated)  # so that `timeout` still stops the server and cleans up
    result = run_load(args.sessions, cold=args.cold, repeats=args.repeats, reloads=args.reloads, cores=args.cores,
                      keep_artifacts=args.keep_artifacts, deadline_s=args.deadline)
    print_report(result)
    print(json.dumps(result, indent=1, default=str))
    return 0 if result["ok"] else 1
