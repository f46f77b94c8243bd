"""Issue 19 part 3, deployments: the container recipe and the one start command (``python -m dashboard.serve``).

The Dockerfile's ENTRYPOINT and HEALTHCHECK name the same module the browser tests start the server with
(bench.serve.SERVE_MODULE), so they cannot drift; the flags it gives Streamlit; and a server it starts answers
``ok`` on ``/_stcore/health``, to Python's urllib and to ``python -m dashboard.serve --health`` (the HEALTHCHECK).
There is no container runtime in CI: the image itself is not built here.
"""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from bench.serve import SERVE_MODULE, streamlit_app
from dashboard import serve
from dashboard.platform.demo_mode import MAX_UPLOAD_MB
from tests.conftest import REPO

DOCKERFILE = REPO / "Dockerfile"


def _instructions() -> dict[str, list[str]]:
    """Each Dockerfile instruction's arguments (continuation lines joined, comments dropped)."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text(encoding="utf-8"))
    found: dict[str, list[str]] = {}
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            found.setdefault(word.upper(), []).append(rest.strip())
    return found


def test_the_container_starts_the_app_as_the_tests_do():
    assert serve.__name__ == SERVE_MODULE == "dashboard.serve"
    ins = _instructions()
    assert [json.loads(e) for e in ins["ENTRYPOINT"]] == [["python", "-m", SERVE_MODULE]]
    assert "CMD" not in ins or all(json.loads(c) == [] for c in ins["CMD"])  # no second start command
    [health] = ins["HEALTHCHECK"]
    assert health.split(" CMD ", 1)[1].strip() == json.dumps(["python", "-m", SERVE_MODULE, "--health"])


def test_the_container_recipe():
    ins = _instructions()
    assert ins["FROM"] == ["python:3.11-slim"]
    installs = " ".join(ins["RUN"])
    assert "fonts-wqy-microhei" in installs and "pip install" in installs and "-r requirements.txt" in installs
    assert ins["EXPOSE"] == ["8501"]
    [user] = ins["USER"]
    assert user not in ("root", "0")
    env = " ".join(ins["ENV"])
    assert "ONCOTX_HOME=/var/lib/oncotx" in env
    assert any("/var/lib/oncotx" in v for v in ins["VOLUME"])
    ignored = (REPO / ".dockerignore").read_text(encoding="utf-8").split()
    for path in (".venv", ".oncotx", "test-artifacts", "__pycache__", ".git", ".streamlit/secrets.toml"):
        assert any(p.strip("/*") == path.strip("/") or p.rstrip("/") == f"**/{path}" for p in ignored), path


def test_a_postgresql_driver_is_pinned():
    pins = dict(line.split("==") for line in (REPO / "requirements.txt").read_text().split() if "==" in line)
    assert pins.get("psycopg") and pins.get("psycopg-binary") == pins["psycopg"]


def _flags(argv=()) -> dict[str, str]:
    flags = serve.streamlit_flags(argv)
    return dict(zip(flags[::2], flags[1::2], strict=True))


def test_serve_flags(monkeypatch):
    monkeypatch.delenv("PORT", raising=False)
    monkeypatch.delenv("ONCOTX_DEMO", raising=False)
    flags = _flags()
    assert flags == {"--server.address": "0.0.0.0", "--server.port": "8501", "--server.headless": "true",
                     "--browser.gatherUsageStats": "false", "--server.enableXsrfProtection": "true",
                     "--server.fileWatcherType": "none"}
    assert serve.command()[1:5] == ["-m", "streamlit", "run", "app.py"]
    monkeypatch.setenv("PORT", "9000")
    monkeypatch.setenv("ONCOTX_DEMO", "1")
    flags = _flags(["--server.address", "127.0.0.1", "--server.baseUrlPath=oncotx"])
    assert flags["--server.port"] == "9000" and flags["--server.maxUploadSize"] == str(MAX_UPLOAD_MB)
    assert flags["--server.address"] == "127.0.0.1" and flags["--server.baseUrlPath"] == "oncotx"
    monkeypatch.setenv("STREAMLIT_SERVER_BASE_URL_PATH", "/oncotx/")
    assert serve.health_url() == "http://127.0.0.1:9000/oncotx/_stcore/health"
    for bad in (["--server.port"], ["app.py"]):
        with pytest.raises(SystemExit):
            serve.streamlit_flags(bad)
    monkeypatch.setenv("PORT", "http")
    with pytest.raises(SystemExit, match="PORT"):
        serve.streamlit_flags()


def _health_check(port: int) -> int:
    env = {k: v for k, v in os.environ.items() if k != "STREAMLIT_SERVER_BASE_URL_PATH"} | {"PORT": str(port)}
    return subprocess.run([sys.executable, "-m", SERVE_MODULE, "--health"], cwd=REPO, env=env,  # noqa: S603
                          timeout=60).returncode


@pytest.mark.slow
def test_the_entry_script_serves_a_healthy_app(tmp_path):
    with streamlit_app(tmp_path / "serve", data=None, env={"ONCOTX_DEMO": "1"}) as (url, log):
        assert "oncotx: -m streamlit run app.py" in log.read_text()  # started by python -m dashboard.serve
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=10) as resp:  # noqa: S310 (local URL)
            assert resp.status == 200 and resp.read().decode().strip() == "ok"
        port = int(url.rsplit(":", 1)[1])
        assert _health_check(port) == 0
    assert _health_check(port) == 1  # the server is gone: the container would be marked unhealthy


def test_community_cloud_gets_the_chinese_pdf_font():
    """Streamlit Community Cloud installs the Debian packages listed in packages.txt (docs/deploy.md)."""
    assert (REPO / "packages.txt").read_text().split() == ["fonts-wqy-microhei"]
    assert "fonts-wqy-microhei" in " ".join(_instructions()["RUN"])
