"""How the app is served: ``python -m dashboard.serve [--server.FLAG VALUE ...]``, the one start command.

The container's ENTRYPOINT (Dockerfile) and the server the browser tests and the load test start (bench/serve.py)
are this module, so what CI exercises is what a deployment runs. It replaces itself (``exec``, so signals reach
Streamlit directly) with ``streamlit run app.py`` from the checkout and these flags (:func:`streamlit_flags`):

* ``--server.address 0.0.0.0`` and ``--server.port $PORT`` (default 8501);
* ``--server.headless true``, ``--browser.gatherUsageStats false``, ``--server.enableXsrfProtection true``,
  ``--server.fileWatcherType none`` (a server never reloads its source);
* in the public demo (``ONCOTX_DEMO=1``) ``--server.maxUploadSize`` = :data:`dashboard.platform.demo_mode.MAX_UPLOAD_MB`
  (otherwise ``.streamlit/config.toml``'s limit holds).

Flags given on the command line replace the default of the same name (``--server.address 127.0.0.1``,
``--server.baseUrlPath oncotx``). Streamlit's own ``STREAMLIT_*`` variables work as usual for the rest, e.g.
``STREAMLIT_SERVER_BASE_URL_PATH``, which :func:`health_url` follows too.

``python -m dashboard.serve --health``: exit 0 when the server on ``$PORT`` answers ``ok`` on ``/_stcore/health``
(the container's HEALTHCHECK; Python's urllib, no curl needed), else 1.
"""
from __future__ import annotations

import os
import sys
import urllib.request
from collections.abc import Sequence
from pathlib import Path

from dashboard.platform.demo_mode import MAX_UPLOAD_MB, demo_mode_on

REPO = Path(__file__).resolve().parents[1]
APP = "app.py"
DEFAULT_PORT = 8501


def _port() -> int:
    value = os.environ.get("PORT", "").strip()
    if not value:
        return DEFAULT_PORT
    if not value.isdigit() or not 0 < int(value) < 65536:
        raise SystemExit(f"PORT must be a TCP port number, not {value!r}")
    return int(value)


def _overrides(argv: Sequence[str]) -> dict[str, str]:
    """``--name value`` / ``--name=value`` pairs from the command line (every Streamlit flag takes a value)."""
    found: dict[str, str] = {}
    args = list(argv)
    while args:
        arg = args.pop(0)
        if not arg.startswith("--") or arg == "--":
            raise SystemExit(f"expected a Streamlit flag such as --server.baseUrlPath VALUE, not {arg!r}")
        if "=" in arg:
            name, value = arg.split("=", 1)
        elif args and not args[0].startswith("--"):
            name, value = arg, args.pop(0)
        else:
            raise SystemExit(f"{arg} needs a value")
        found[name] = value
    return found


def streamlit_flags(argv: Sequence[str] = ()) -> list[str]:
    """The flags ``streamlit run app.py`` gets: the deployment defaults, replaced by those in ``argv``."""
    flags = {
        "--server.address": "0.0.0.0",  # noqa: S104 (a server; the container or a proxy decides who reaches it)
        "--server.port": str(_port()),
        "--server.headless": "true",
        "--browser.gatherUsageStats": "false",
        "--server.enableXsrfProtection": "true",
        "--server.fileWatcherType": "none",
    }
    if demo_mode_on():
        flags["--server.maxUploadSize"] = str(MAX_UPLOAD_MB)
    flags |= _overrides(argv)
    return [part for name, value in flags.items() for part in (name, value)]


def command(argv: Sequence[str] = ()) -> list[str]:
    """The full command line this module runs."""
    return [sys.executable, "-m", "streamlit", "run", APP, *streamlit_flags(argv)]


def health_url() -> str:
    """Where this machine's server answers its health check (``$PORT``, ``STREAMLIT_SERVER_BASE_URL_PATH``)."""
    base = os.environ.get("STREAMLIT_SERVER_BASE_URL_PATH", "").strip("/")
    prefix = f"/{base}" if base else ""
    return f"http://127.0.0.1:{_port()}{prefix}/_stcore/health"


def healthy(url: str | None = None, *, timeout: float = 5.0) -> bool:
    """True when ``url`` (default :func:`health_url`) answers ``ok``."""
    try:
        with urllib.request.urlopen(url or health_url(), timeout=timeout) as resp:  # noqa: S310 (a local URL)
            return resp.read().decode().strip() == "ok"
    except OSError:
        return False


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args == ["--health"]:
        return 0 if healthy() else 1
    cmd = command(args)
    os.chdir(REPO)  # .streamlit/config.toml is read from the working directory
    print("oncotx: " + " ".join(cmd[1:]), file=sys.stderr, flush=True)
    os.execv(sys.executable, cmd)  # noqa: S606 (a fixed command line: python -m streamlit run app.py FLAGS)
    return 0  # not reached


if __name__ == "__main__":
    raise SystemExit(main())
