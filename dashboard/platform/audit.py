"""The audit trail: an append-only table of who did what, when, on which input, with which model.

One row per event: sign-ins (and failed ones), uploads, analyses, exports, saves, opens, deletions, trainings,
user administration and failures. A row holds identifiers of *things* (SHA-256 of the input file, cohort id,
model id, bundle SHA-256) and never patient values, names or free text from a user: ``detail`` must be one of
the short fixed phrases the app passes (checked: no digits runs, no e-mail-like text, 120 characters at most).

Append-only twice over: the module has no update or delete function, and the database refuses them
(SQLite/PostgreSQL triggers). Each row also carries ``chain`` = SHA-256(previous row's chain | this row's
fields), so an edit made behind the app's back (or a deleted row) shows up in :func:`verify_chain`. Appends are
serialised across processes (``dashboard.platform.db.lock_for_append``: SQLite ``BEGIN IMMEDIATE``, PostgreSQL
an advisory transaction lock), so several server processes never link two rows to the same chain head.

In the public demo (``ONCOTX_DEMO=1``, :mod:`dashboard.platform.demo_mode`) nothing is stored: :func:`record` checks
the event and logs it (action, outcome, user and role, as always) but writes no row.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
from dataclasses import dataclass
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import DDL, DateTime, Integer, String, event, select
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.platform.db import Base, lock_for_append, session_scope
from dashboard.platform.demo_mode import demo_mode_on
from genomics.export import to_safe_csv

log = logging.getLogger(__name__)

ACTIONS = (
    "sign_in", "sign_out", "session_expired", "session_restored", "first_admin", "user_created", "user_changed",
    "upload", "analysis", "export", "save", "open", "delete", "train", "audit_export", "failure",
)
OUTCOMES = ("ok", "refused", "error")
COLUMNS = ["id", "time", "user", "role", "action", "outcome", "subject", "input_sha256", "cohort_id", "model_id",
           "bundle_sha256", "detail"]
DETAIL_MAX = 120
GENESIS = "0" * 64
_HEX = re.compile(r"^[0-9a-f]{0,64}$")
_ID = re.compile(r"^[A-Za-z0-9._:+@/-]{0,128}$")  # cohort ids, model ids, user names: no spaces, no markup
_NOT_DETAIL = re.compile(r"\d{4,}|@|<|>")  # long numbers (dates, MRNs), e-mail addresses, markup
_WRITE_LOCK = threading.Lock()
APPEND_LOCK_KEY = 0x0A0D17  # the PostgreSQL advisory lock that serialises appends to the chain


class AuditError(Exception):
    """The audit trail could not be written or read (plain message)."""


class AuditRow(Base):
    """One audited event (never updated, never deleted)."""

    __tablename__ = "audit"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    time: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    user: Mapped[str] = mapped_column(String(128), index=True)
    role: Mapped[str] = mapped_column(String(32))
    action: Mapped[str] = mapped_column(String(32), index=True)
    outcome: Mapped[str] = mapped_column(String(16))
    subject: Mapped[str] = mapped_column(String(128), default="")  # the account or saved analysis acted on
    input_sha256: Mapped[str] = mapped_column(String(64), default="")
    cohort_id: Mapped[str] = mapped_column(String(128), default="")
    model_id: Mapped[str] = mapped_column(String(128), default="")
    bundle_sha256: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(DETAIL_MAX), default="")
    chain: Mapped[str] = mapped_column(String(64))


for _dialect in ("sqlite",):
    for _op in ("UPDATE", "DELETE"):
        event.listen(AuditRow.__table__, "after_create", DDL(
            f"CREATE TRIGGER IF NOT EXISTS audit_no_{_op.lower()} BEFORE {_op} ON audit "
            "BEGIN SELECT RAISE(ABORT, 'the audit trail is append-only'); END").execute_if(dialect=_dialect))
event.listen(AuditRow.__table__, "after_create", DDL(
    "CREATE OR REPLACE FUNCTION oncotx_audit_append_only() RETURNS trigger AS $$ BEGIN "
    "RAISE EXCEPTION 'the audit trail is append-only'; END; $$ LANGUAGE plpgsql; "
    "CREATE TRIGGER audit_append_only BEFORE UPDATE OR DELETE ON audit "
    "FOR EACH ROW EXECUTE FUNCTION oncotx_audit_append_only()").execute_if(dialect="postgresql"))


@dataclass(frozen=True)
class Event:
    """What to record; every field is an identifier or a fixed phrase, never a patient value."""

    user: str
    role: str
    action: str
    outcome: str = "ok"
    subject: str = ""
    input_sha256: str = ""
    cohort_id: str = ""
    model_id: str = ""
    bundle_sha256: str = ""
    detail: str = ""

    def checked(self) -> Event:
        """The event if every field is of the allowed form, else :class:`AuditError` (a programming error)."""
        if self.action not in ACTIONS:
            raise AuditError(f"unknown audit action {self.action!r}")
        if self.outcome not in OUTCOMES:
            raise AuditError(f"unknown audit outcome {self.outcome!r}")
        for name in ("input_sha256", "bundle_sha256"):
            if not _HEX.match(getattr(self, name)):
                raise AuditError(f"audit {name} must be a lower-case SHA-256")
        for name in ("user", "role", "subject", "cohort_id", "model_id"):
            if not _ID.match(getattr(self, name)):
                raise AuditError(f"audit {name} has characters an identifier cannot have")
        if len(self.detail) > DETAIL_MAX or _NOT_DETAIL.search(self.detail):
            raise AuditError("audit detail must be a short fixed phrase without numbers, addresses or markup")
        return self


def _link(previous: str, row: AuditRow) -> str:
    fields = (previous, _utc(row.time).isoformat(timespec="microseconds"), row.user, row.role, row.action,
              row.outcome, row.subject, row.input_sha256, row.cohort_id, row.model_id, row.bundle_sha256, row.detail)
    return hashlib.sha256("|".join(fields).encode("utf-8")).hexdigest()


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def record(event_: Event, *, url: str | None = None) -> int:
    """Append one event (one transaction) and return its id. Raises :class:`AuditError` when it cannot.

    In the public demo the event is checked and logged but not stored, and the id is 0."""
    e = event_.checked()
    if demo_mode_on():  # the public demo keeps nothing, the audit trail included
        log.info("audit (public demo, not stored): %s %s by %s (%s)", e.action, e.outcome, e.user, e.role)
        return 0
    try:
        with _WRITE_LOCK, session_scope(url) as s:
            lock_for_append(s, key=APPEND_LOCK_KEY)  # other processes append one at a time too
            last = s.execute(select(AuditRow.chain).order_by(AuditRow.id.desc()).limit(1)).scalar()
            row = AuditRow(time=datetime.now(UTC), user=e.user, role=e.role, action=e.action, outcome=e.outcome,
                           subject=e.subject, input_sha256=e.input_sha256, cohort_id=e.cohort_id, model_id=e.model_id,
                           bundle_sha256=e.bundle_sha256, detail=e.detail, chain="")
            row.chain = _link(last or GENESIS, row)
            s.add(row)
            s.flush()
            new_id = int(row.id)
    except AuditError:
        raise
    except Exception as exc:
        log.exception("audit write failed: action=%s", e.action)
        raise AuditError("The audit trail could not be written, so the action was not completed. "
                         "Try again; if it persists, tell the administrator.") from exc
    log.info("audit: %s %s by %s (%s)", e.action, e.outcome, e.user, e.role)
    return new_id


def events(*, user: str | None = None, action: str | None = None, outcome: str | None = None,
           since: datetime | None = None, until: datetime | None = None, limit: int = 10_000,
           url: str | None = None) -> pd.DataFrame:
    """Events, newest first, filtered by user, action, outcome and time (UTC)."""
    query = select(AuditRow).order_by(AuditRow.id.desc()).limit(limit)
    if user:
        query = query.where(AuditRow.user == user)
    if action:
        query = query.where(AuditRow.action == action)
    if outcome:
        query = query.where(AuditRow.outcome == outcome)
    if since is not None:
        query = query.where(AuditRow.time >= since)
    if until is not None:
        query = query.where(AuditRow.time < until)
    with session_scope(url) as s:
        rows = s.execute(query).scalars().all()
        data = [{c: (_utc(r.time) if c == "time" else getattr(r, c)) for c in COLUMNS} for r in rows]
    frame = pd.DataFrame(data, columns=COLUMNS)
    frame["time"] = pd.to_datetime(frame["time"], utc=True)
    return frame


def verify_chain(*, url: str | None = None) -> tuple[bool, str]:
    """Recompute the hash chain: (True, summary) when intact, else (False, the first broken row)."""
    previous, n = GENESIS, 0
    with session_scope(url) as s:
        for row in s.execute(select(AuditRow).order_by(AuditRow.id)).scalars():
            if _link(previous, row) != row.chain:
                return False, f"The audit trail was altered at event {row.id} (or an event before it was removed)."
            previous, n = row.chain, n + 1
    return True, f"{n} events; hash chain intact."


def to_csv(frame: pd.DataFrame) -> bytes:
    """The events as CSV (formula-safe; UTC ISO times)."""
    shown = frame.assign(time=frame["time"].dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ"))
    return to_safe_csv(shown)
