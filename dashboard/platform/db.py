"""The one database: SQLAlchemy engine per URL (SQLite under ONCOTX_HOME by default, PostgreSQL by URL).

Tables are declared on :class:`Base` in the modules that own them (``dashboard.platform.store`` for saved analyses,
``dashboard.modelling.jobs`` for training jobs, ...); :func:`get_engine` creates every declared table once per URL.
SQLite runs in WAL mode with a busy timeout so that several Streamlit sessions can read while one writes,
and every write happens inside one transaction (``with session_scope() as s: ...``).
"""
from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker

from genomics.settings import get_settings

TABLE_MODULES = ("dashboard.platform.store", "dashboard.modelling.jobs", "dashboard.modelling.preferences",
                 "dashboard.platform.audit", "dashboard.platform.users", "dashboard.platform.user_settings")
_LOCK = threading.Lock()
_ENGINES: dict[str, Engine] = {}


class Base(DeclarativeBase):
    """Declarative base of every OncoTx table."""


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA secure_delete=ON")  # a deleted analysis is overwritten on disk, not only unlinked
    cursor.close()


def database_url() -> str:
    """The configured URL (``ONCOTX_DATABASE_URL``, else SQLite under ONCOTX_HOME, created on first use)."""
    settings = get_settings()
    url = settings.database_url
    if url.startswith("sqlite:///"):
        settings.ensure_home()
    return url


def get_engine(url: str | None = None) -> Engine:
    """The engine for ``url`` (default: :func:`database_url`), with every declared table created."""
    url = url or database_url()
    with _LOCK:
        engine = _ENGINES.get(url)
        if engine is None:
            engine = create_engine(url, future=True, pool_pre_ping=True)
            if engine.dialect.name == "sqlite":
                event.listen(engine, "connect", _sqlite_pragmas)
            _import_tables()
            Base.metadata.create_all(engine)
            _ENGINES[url] = engine
        return engine


def _import_tables() -> None:
    """Import the modules that declare tables so that ``create_all`` sees them (each is optional)."""
    for name in TABLE_MODULES:
        try:
            importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise


def lock_for_append(session: Session, *, key: int) -> None:
    """Serialise a read-then-append across processes: call first in the transaction, before reading the head.

    SQLite: ``BEGIN IMMEDIATE`` (the write lock is taken now, so no other process can commit between this
    transaction's read and its write; others wait up to the busy timeout). PostgreSQL: a transaction-scoped
    advisory lock on ``key`` (released at commit or rollback). Other databases: nothing (one process only).
    """
    dialect = session.get_bind().dialect.name
    if dialect == "sqlite":
        session.connection().exec_driver_sql("BEGIN IMMEDIATE")
    elif dialect == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": int(key)})


@contextmanager
def session_scope(url: str | None = None) -> Iterator[Session]:
    """One transaction: commits on success, rolls back on any error (nothing half-written)."""
    session = sessionmaker(bind=get_engine(url), expire_on_commit=False)()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()
