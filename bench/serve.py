"""The real app under test, started as a deployment starts it, on a free loopback port, and how chromium is launched.

The server is ``python -m dashboard.serve`` (:data:`SERVE_MODULE`: the container's ENTRYPOINT too), given a loopback
address and a free port; so the browser tests exercise the deployment's start command and flags. Shared by the
browser tests (tests/test_browser*.py), tests/test_deploy.py and the load test (bench/load/): one server harness,
one set of chromium arguments and one window size.
"""
from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The start command of every deployment (Dockerfile ENTRYPOINT ``python -m dashboard.serve``) and of the tests.
SERVE_MODULE = "dashboard.serve"
STARTUP_S = 90
VIEWPORT = {"width": 1400, "height": 1000}
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                 "--disable-background-networking"]


class ServerError(RuntimeError):
    """The Streamlit server exited or did not answer its health check in time (the message holds its log tail)."""


def free_port() -> int:
    """A loopback port nobody is listening on now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    """Return once ``url`` answers ``/_stcore/health``; ServerError when the process exits or STARTUP_S pass."""
    deadline = time.monotonic() + STARTUP_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise ServerError(f"streamlit exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as resp:  # noqa: S310 (local URL)
                if resp.read().decode().strip() == "ok":
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise ServerError(f"streamlit did not answer /_stcore/health within {STARTUP_S} s:\n{log.read_text()[-3000:]}")


def start_warm_up(url: str, timeout: float = 120.0) -> bool:
    """Run the app once on the server, with no browser (Streamlit's script health check), so that its warm-up
    (dashboard.ui.warmup) starts at server start; True when the script ran without an error."""
    try:
        with urllib.request.urlopen(f"{url}/_stcore/script-health-check", timeout=timeout) as resp:  # noqa: S310
            return resp.read().decode().strip() == "ok"
    except OSError:
        return False


@contextlib.contextmanager
def streamlit_app(tmp: Path, *, data: Path | None, env: dict[str, str] | None = None, warm_start: bool = False,
                  cpus: set[int] | None = None):
    """The app (``python -m dashboard.serve``, i.e. ``streamlit run app.py``) on a free loopback port with its own
    ONCOTX_HOME; ``data=None`` runs the demo cohort (ONCOTX_DATA unset); ``env`` adds or overrides variables (e.g.
    ``ONCOTX_AUTH``). ``warm_start`` starts the app's warm-up as soon as the server answers (:func:`start_warm_up`);
    ``cpus`` pins the server to those cores (Linux). Yields (url, log path); the server is stopped afterwards."""
    extra = env or {}
    tmp.mkdir(parents=True, exist_ok=True)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "ONCOTX_DATA"}
    env |= {"ONCOTX_HOME": str(tmp / "home"), "ONCOTX_CONFIG": str(tmp / "no-such-oncotx.toml"),
            "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    if data is not None:
        env["ONCOTX_DATA"] = str(data)
    env |= extra
    log = tmp / "streamlit.log"
    with log.open("w") as out:
        proc = subprocess.Popen(  # noqa: S603 (fixed command line)
            # the deployment's defaults (headless, no file watcher, XSRF on, ...), on loopback and a free port
            [sys.executable, "-m", SERVE_MODULE, "--server.port", str(port), "--server.address", "127.0.0.1",
             "--server.scriptHealthCheckEnabled", str(warm_start).lower()],
            cwd=REPO, env=env, stdout=out, stderr=subprocess.STDOUT,
            preexec_fn=(lambda: os.sched_setaffinity(0, cpus)) if cpus else None,  # noqa: PLW1509 (no threads yet)
        )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, log)
        if warm_start:
            start_warm_up(url)
        yield url, log
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=15)
