"""Background training jobs, kept in the database.

A job is a row of the ``jobs`` table: cohort, endpoint, model kind, status (queued → running → done or
failed), progress text, times, the bundle it wrote or the error it hit. :func:`submit` writes the row and
hands the work to a small thread pool in the server process, so training never blocks a page and other
sessions keep working; the page only reads rows, so a reload (or another user) sees the same job. A job
whose server process has gone (restart, crash) is marked failed the next time jobs are listed.

Progress is what :func:`models.training.train_bundle` reports plus the models' own log lines (trees fitted,
ensemble members, epochs), captured for the job's thread only. No Streamlit here: tests and the CLI use the
same code. The bundles on disk are listed by :mod:`dashboard.modelling.bundles`; the model each cohort's
Patient page uses is kept by :mod:`dashboard.modelling.preferences`.
"""
from __future__ import annotations

import logging
import os
import re
import socket
import threading
import uuid
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from sqlalchemy import DateTime, Integer, String, Text, select
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.platform.db import Base, database_url, session_scope
from genomics.cohorts import load_cohort
from genomics.errors import InputError
from genomics.settings import Settings, get_settings
from models.errors import ModelError
from models.training import train_bundle

log = logging.getLogger(__name__)

STATUSES = ("queued", "running", "done", "failed")
ACTIVE = ("queued", "running")
KINDS = ("effects", "xgb", "ensemble", "torch")
PROGRESS_LINES = 60  # the progress column keeps the latest lines
LAB_FOLDER = "lab"  # bundles trained here live under ONCOTX_HOME/models/lab/
_WORKERS = max(1, int(os.environ.get("ONCOTX_TRAIN_WORKERS", "1")))
_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()
WRITE_LOCK = threading.Lock()  # one writer at a time in this process (jobs and preferences tables)
_RECOVERED: set[str] = set()
_FUTURES: dict[str, Future] = {}


class JobRow(Base):
    """One training job."""

    __tablename__ = "jobs"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    cohort: Mapped[str] = mapped_column(String(1000))  # id or path, as given to load_cohort
    cohort_id: Mapped[str] = mapped_column(String(255), index=True)
    endpoint: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(32))
    seed: Mapped[int] = mapped_column(Integer, default=0)
    device: Mapped[str] = mapped_column(String(16), default="auto")
    status: Mapped[str] = mapped_column(String(16), index=True)
    progress: Mapped[str] = mapped_column(Text, default="")
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    started: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    finished: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    bundle_path: Mapped[str | None] = mapped_column(String(2000), nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    worker: Mapped[str] = mapped_column(String(255))  # host:pid of the server process that runs it


@dataclass(frozen=True)
class Job:
    """A job as read from the database (plain values; see :class:`JobRow`)."""

    id: str
    cohort: str
    cohort_id: str
    endpoint: str
    kind: str
    seed: int
    device: str
    status: str
    progress: str
    created: datetime
    started: datetime | None
    finished: datetime | None
    updated: datetime
    bundle_path: str | None
    error: str | None
    worker: str

    @property
    def active(self) -> bool:
        return self.status in ACTIVE

    @property
    def last_line(self) -> str:
        lines = self.progress.strip().splitlines()
        return lines[-1] if lines else ""

    @property
    def seconds(self) -> float | None:
        if self.started is None:
            return None
        end = self.finished or datetime.now(UTC)
        return (end - self.started).total_seconds()


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _job(row: JobRow) -> Job:
    return Job(id=row.id, cohort=row.cohort, cohort_id=row.cohort_id, endpoint=row.endpoint, kind=row.kind,
               seed=row.seed, device=row.device, status=row.status, progress=row.progress or "",
               created=_utc(row.created), started=_utc(row.started), finished=_utc(row.finished),
               updated=_utc(row.updated), bundle_path=row.bundle_path, error=row.error, worker=row.worker)


def _now() -> datetime:
    return datetime.now(UTC)


def _worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def lab_dir(settings: Settings | None = None) -> Path:
    return (settings or get_settings()).models_dir / LAB_FOLDER


# ---------------------------------------------------------------------------------------------- submit and run


def submit(
    cohort: str, *, cohort_id: str, endpoint: str, kind: str = "xgb", seed: int = 0, device: str = "auto",
) -> Job:
    """Queue a training job and return its row at once; a worker thread trains and records progress.

    ``cohort`` is what :func:`genomics.cohorts.load_cohort` takes (an id or a path); ``cohort_id`` is its
    spec id (bundles and preferences are filed under it). The bundle goes to
    ``ONCOTX_HOME/models/lab/<cohort>-<endpoint>-<kind>-<job id>``; nothing is overwritten.
    """
    if kind not in KINDS:
        raise InputError(f"Unknown model kind {kind!r} (known: {', '.join(KINDS)}).")
    settings = get_settings()
    url = database_url()
    _recover(url)
    job_id = uuid.uuid4().hex
    now = _now()
    with session_scope(url) as s:
        s.add(JobRow(id=job_id, cohort=str(cohort), cohort_id=cohort_id, endpoint=endpoint, kind=kind, seed=int(seed),
                     device=device, status="queued", progress="queued\n", created=now, updated=now,
                     worker=_worker_id()))
    out = lab_dir(settings) / f"{_safe(cohort_id)}-{_safe(endpoint.lower())}-{kind}-{job_id[:8]}"
    _FUTURES[job_id] = _pool().submit(_run, job_id, url, settings, out)
    return get_job(job_id, url=url)


def _safe(text: str) -> str:
    """A path-safe fragment of an id (cohort ids and endpoint names are never used raw as paths)."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)[:60] or "x"


def _pool() -> ThreadPoolExecutor:
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="oncotx-train")
        return _POOL


def _update(url: str, job_id: str, **values) -> None:
    with WRITE_LOCK, session_scope(url) as s:
        row = s.get(JobRow, job_id)
        if row is None:
            return
        for key, value in values.items():
            setattr(row, key, value)
        row.updated = _now()


def _reporter(url: str, job_id: str) -> Callable[[str], None]:
    lines: list[str] = []

    def say(message: str) -> None:
        text = " ".join(str(message).split())[:300]
        if not text:
            return
        lines.append(f"{_now():%H:%M:%S} {text}")
        del lines[:-PROGRESS_LINES]
        try:
            _update(url, job_id, progress="\n".join(lines) + "\n")
        except Exception:  # progress is best effort: a busy database must not stop training
            log.warning("job %s: progress not recorded", job_id, exc_info=True)

    return say


class _ThreadLog(logging.Handler):
    """Forwards the model packages' log lines emitted by one thread (the job's) to its progress."""

    def __init__(self, say: Callable[[str], None]) -> None:
        super().__init__(logging.INFO)
        self.thread = threading.get_ident()
        self.say = say
        self.fits = 0

    def emit(self, record: logging.LogRecord) -> None:
        if record.thread != self.thread:
            return
        message = record.getMessage()
        rounds = re.match(r"xgb (\S+): (\d+) rounds", message)
        if rounds:
            self.fits += 1
            self.say(f"model fit {self.fits}: boosted trees, {rounds.group(2)} trees ({rounds.group(1)})")
        else:
            self.say(message.split(" with {")[0])


def _run(job_id: str, url: str, settings: Settings, out: Path) -> None:
    """The worker: load the cohort, train, record the bundle (or the error). Never raises."""
    say = _reporter(url, job_id)
    handler = _ThreadLog(say)
    models_logger = logging.getLogger("models")
    previous_level = models_logger.level
    try:
        _update(url, job_id, status="running", started=_now())
        job = get_job(job_id, url=url)
        if job is None:
            return
        say(f"loading cohort {job.cohort_id}")
        cohort = load_cohort(job.cohort, settings=settings)
        models_logger.addHandler(handler)
        if models_logger.getEffectiveLevel() > logging.INFO:
            models_logger.setLevel(logging.INFO)
        bundle = train_bundle(cohort, endpoint=job.endpoint, kind=job.kind, out=out, device=job.device,
                              seed=job.seed, progress=say)
        c = bundle.card.metrics.get("harrell_c", {}).get("value")
        say(f"done: held-back Harrell C {c:.3f}" if isinstance(c, float) else "done")
        _update(url, job_id, status="done", finished=_now(), bundle_path=str(out))
    except (InputError, ModelError) as exc:
        say(f"failed: {exc}")
        _update(url, job_id, status="failed", finished=_now(), error=str(exc))
    except Exception as exc:  # a bug: logged with its traceback, the row says what happened
        log.exception("training job %s failed", job_id)
        message = f"{type(exc).__name__}: {exc}"
        try:
            say(f"failed: {message}")
            _update(url, job_id, status="failed", finished=_now(), error=message[:2000])
        except Exception:
            log.exception("job %s: could not record the failure", job_id)
    finally:
        models_logger.removeHandler(handler)
        models_logger.setLevel(previous_level)
        _FUTURES.pop(job_id, None)


def _recover(url: str) -> None:
    """Mark jobs of this host whose server process is gone as failed (once per process and database)."""
    if url in _RECOVERED:
        return
    _RECOVERED.add(url)
    host = socket.gethostname()
    with WRITE_LOCK, session_scope(url) as s:
        for row in s.scalars(select(JobRow).where(JobRow.status.in_(ACTIVE))):
            worker_host, _, pid = row.worker.rpartition(":")
            if worker_host == host and pid.isdigit() and not _alive(int(pid)):
                row.status = "failed"
                row.error = "Interrupted: the server process running it stopped. Start it again."
                row.finished = row.updated = _now()


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# ---------------------------------------------------------------------------------------------- read


def get_job(job_id: str, *, url: str | None = None) -> Job | None:
    with session_scope(url) as s:
        row = s.get(JobRow, job_id)
        return None if row is None else _job(row)


def list_jobs(cohort_id: str | None = None, *, limit: int = 50) -> list[Job]:
    """Latest jobs first (of one cohort, or all)."""
    url = database_url()
    _recover(url)
    query = select(JobRow).order_by(JobRow.created.desc()).limit(limit)
    if cohort_id is not None:
        query = query.where(JobRow.cohort_id == cohort_id)
    with session_scope(url) as s:
        return [_job(row) for row in s.scalars(query)]


def jobs_frame(jobs: list[Job]) -> pd.DataFrame:
    """A display table of jobs (no paths: the bundle's folder name only)."""
    rows = []
    for j in jobs:
        seconds = j.seconds
        rows.append({"job": j.id[:8], "endpoint": j.endpoint, "model": j.kind, "seed": j.seed, "status": j.status,
                     "progress": j.error if j.status == "failed" and j.error else j.last_line,
                     "started": j.started.strftime("%Y-%m-%d %H:%M:%S UTC") if j.started else "",
                     "seconds": None if seconds is None else round(seconds, 1),
                     "bundle": Path(j.bundle_path).name if j.bundle_path else ""})
    return pd.DataFrame(rows, columns=["job", "endpoint", "model", "seed", "status", "progress", "started",
                                       "seconds", "bundle"])


def wait(job_id: str, *, timeout: float = 300.0) -> Job:
    """Block until a job of this process has finished (tests, scripts); returns its final row."""
    future = _FUTURES.get(job_id)
    if future is not None:
        future.result(timeout=timeout)
    job = get_job(job_id)
    if job is None:
        raise KeyError(job_id)
    return job
