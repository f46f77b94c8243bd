"""A scratch PostgreSQL server for the tests: ``initdb`` into a temporary folder, listening on a Unix socket only,
trust authentication, stopped and removed at the end. PostgreSQL refuses to run as root, so under root the server runs
as ``nobody``. ``ONCOTX_TEST_PG_URL`` (a database the tests may write to) is used instead when set.

``scratch_database(server_url)`` gives each test its own empty database on that server.
"""
from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import sqlalchemy as sa

USER = "oncotx"


def postgres_bin(name: str) -> str | None:
    """``initdb`` / ``pg_ctl`` on PATH, else in Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    return candidates[0] if candidates else None


def _as_server_user(cmd: list[str]) -> list[str]:
    return ["runuser", "-u", "nobody", "--", *cmd] if os.geteuid() == 0 else cmd


@contextlib.contextmanager
def scratch_server() -> Iterator[str]:
    """Start a throw-away server; yield its SQLAlchemy URL (psycopg 3, the ``postgres`` database)."""
    initdb, pg_ctl = postgres_bin("initdb"), postgres_bin("pg_ctl")
    if not (initdb and pg_ctl):
        raise FileNotFoundError("initdb / pg_ctl not found (install the postgresql package)")
    folder = Path(tempfile.mkdtemp(prefix="oncotx-pg-"))
    if os.geteuid() == 0:
        nobody = pwd.getpwnam("nobody")
        os.chown(folder, nobody.pw_uid, nobody.pw_gid)
    data = folder / "data"
    try:
        subprocess.run(_as_server_user([initdb, "-D", str(data), "-A", "trust", "-U", USER, "-E", "UTF8"]),
                       check=True, capture_output=True, timeout=180, cwd=folder)
        options = f"-k {folder} -c listen_addresses='' -c fsync=off"  # a Unix socket only; scratch data
        subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-l", str(folder / "server.log"), "-w",
                                        "-o", options, "start"]),
                       check=True, capture_output=True, timeout=120, cwd=folder)
        yield f"postgresql+psycopg://{USER}@/postgres?host={folder}"
    finally:
        if data.exists():
            subprocess.run(_as_server_user([pg_ctl, "-D", str(data), "-m", "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60, cwd=folder)
        shutil.rmtree(folder, ignore_errors=True)


@contextlib.contextmanager
def scratch_database(server_url: str) -> Iterator[str]:
    """A new empty database on the server of ``server_url``; dropped afterwards."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(server_url, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            conn.exec_driver_sql(f'CREATE DATABASE "{name}"')
        url = sa.make_url(server_url).set(database=name)
        yield url.render_as_string(hide_password=False)
        with admin.connect() as conn:
            conn.exec_driver_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        admin.dispose()
