"""Saved patient analyses: the ``analyses`` table and save / list / load / delete.

A saved analysis is the :class:`~dashboard.patient.record.PatientAnalysis` JSON (``payload``) with its SHA-256
(``payload_sha256``), plus a few plain columns for listing (who, when, which patient, cohort and model, a
one-line summary). Reopening returns exactly the saved object: the payload hash is checked first, and no model
is re-run. A user sees, opens and deletes only their own analyses; ``user=None`` means an administrator (all).
Every write is one transaction (:func:`dashboard.platform.db.session_scope`): a failure leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import logging
import uuid
from collections import Counter
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import DateTime, Index, String, Text, delete, select
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.patient.record import PatientAnalysis, parse_created
from dashboard.platform.db import Base, session_scope

log = logging.getLogger(__name__)

LIST_COLUMNS = ["id", "created", "user", "patient_id", "cohort_id", "model_id", "summary"]
SUMMARY_MAX = 300
_READING_ORDER = ("likely benefit", "possible harm", "no expected benefit", "uncertain", "not enough evidence")


class StoreError(Exception):
    """A saved analysis cannot be saved or opened (plain message, shown to the user as is)."""


class AnalysisRow(Base):
    """One saved patient analysis."""

    __tablename__ = "analyses"
    __table_args__ = (Index("ix_analyses_user_created", "user", "created"),)

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    created: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)  # the analysis' time (UTC)
    saved: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # when it was written (UTC)
    user: Mapped[str] = mapped_column(String(255))
    patient_id: Mapped[str] = mapped_column(String(255))  # pseudonymised
    cohort_id: Mapped[str] = mapped_column(String(255))
    model_id: Mapped[str] = mapped_column(String(255))
    bundle_sha256: Mapped[str] = mapped_column(String(64))
    expression_sha256: Mapped[str] = mapped_column(String(64))
    records_sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    summary: Mapped[str] = mapped_column(String(SUMMARY_MAX))
    payload: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _utc(value: datetime) -> datetime:
    """Aware UTC (SQLite hands back naive datetimes; they were written as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def analysis_summary(analysis: PatientAnalysis) -> str:
    """One line for lists: ``"Options vs none: 3 likely benefit, 4 not enough evidence"``."""
    rows = [r for r in analysis.options if not r.get("is_baseline") and r.get("regimen") != analysis.baseline]
    if not rows:
        return "No treatment options"
    counts = Counter(str(r.get("reading") or "no reading") for r in rows)
    order = [k for k in _READING_ORDER if k in counts] + sorted(k for k in counts if k not in _READING_ORDER)
    text = f"Options vs {analysis.baseline}: " + ", ".join(f"{counts[k]} {k}" for k in order)
    return text if len(text) <= SUMMARY_MAX else text[: SUMMARY_MAX - 1] + "…"


def _short(value: object, *, name: str, limit: int = 255) -> str:
    text = str(value)
    if len(text) > limit:
        raise StoreError(f"The analysis cannot be saved: its {name} is longer than {limit} characters.")
    return text


def save_analysis(analysis: PatientAnalysis, *, url: str | None = None) -> str:
    """Save ``analysis`` in one transaction and return its new id (32 hex characters).

    Raises
    ------
    StoreError
        When the analysis cannot be serialised or a listed field is too long.
    """
    try:
        payload = analysis.to_json()
    except (TypeError, ValueError) as exc:
        raise StoreError(f"The analysis cannot be saved: it holds a value that is not plain data ({exc}).") from exc
    now = datetime.now(UTC)
    inputs = analysis.inputs_sha256 or {}
    records = inputs.get("records")
    row = AnalysisRow(
        id=uuid.uuid4().hex,
        created=parse_created(analysis.created) or now,
        saved=now,
        user=_short(analysis.user, name="user"),
        patient_id=_short(analysis.patient_id, name="patient id"),
        cohort_id=_short(analysis.cohort_id, name="cohort id"),
        model_id=_short(analysis.model_id, name="model id"),
        bundle_sha256=_short(analysis.bundle_sha256, name="bundle SHA-256", limit=64),
        expression_sha256=_short(inputs.get("expression", ""), name="expression SHA-256", limit=64),
        records_sha256=_short(records, name="records SHA-256", limit=64) if records else None,
        summary=analysis_summary(analysis),
        payload=payload,
        payload_sha256=_sha256(payload),
    )
    with session_scope(url) as session:
        session.add(row)
        session.flush()
    log.info("saved analysis %s (model %s)", row.id, row.model_id)
    return row.id


def list_analyses(*, user: str | None = None, url: str | None = None, limit: int = 200) -> pd.DataFrame:
    """Saved analyses, newest first (no payload): columns ``id, created, user, patient_id, cohort_id, model_id,
    summary``. ``user=None`` lists everyone's (administrator); a user sees only their own."""
    columns = [getattr(AnalysisRow, c) for c in LIST_COLUMNS]
    query = select(*columns).order_by(AnalysisRow.created.desc(), AnalysisRow.saved.desc(), AnalysisRow.id)
    if user is not None:
        query = query.where(AnalysisRow.user == user)
    query = query.limit(max(int(limit), 0))
    with session_scope(url) as session:
        rows = [tuple(r) for r in session.execute(query)]
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
    frame["created"] = pd.to_datetime([_utc(t) for t in frame["created"]], utc=True)
    return frame


def _not_found(analysis_id: str) -> StoreError:
    return StoreError(f"No saved analysis {analysis_id!r} is available to you: it does not exist or is not yours.")


def load_analysis(analysis_id: str, *, user: str | None = None, url: str | None = None) -> PatientAnalysis:
    """The saved analysis, exactly as saved, after checking its payload hash.

    Raises
    ------
    StoreError
        Unknown id, another user's analysis (when ``user`` is given), or a payload that changed after saving.
    """
    with session_scope(url) as session:
        row = session.get(AnalysisRow, str(analysis_id))
        if row is None or (user is not None and row.user != user):
            raise _not_found(analysis_id)
        payload, expected = row.payload, row.payload_sha256
    if _sha256(payload) != expected:
        log.warning("analysis %s failed its integrity check", analysis_id)
        raise StoreError(f"Saved analysis {analysis_id!r} failed its integrity check (its content changed after it "
                         "was saved), so it was not opened.")
    try:
        return PatientAnalysis.from_json(payload)
    except (TypeError, ValueError) as exc:
        raise StoreError(f"Saved analysis {analysis_id!r} cannot be read ({exc}).") from exc


def delete_analysis(analysis_id: str, *, user: str | None = None, url: str | None = None) -> bool:
    """Delete one saved analysis; False when there is none with this id that ``user`` may delete."""
    query = delete(AnalysisRow).where(AnalysisRow.id == str(analysis_id))
    if user is not None:
        query = query.where(AnalysisRow.user == user)
    with session_scope(url) as session:
        deleted = session.execute(query).rowcount
    if deleted:
        log.info("deleted analysis %s", analysis_id)
    return bool(deleted)
