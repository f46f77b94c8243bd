"""Saved patient analyses: the ``analyses`` table and save / list / load / delete.

A saved analysis is the :class:`~dashboard.patient.record.PatientAnalysis` JSON (``payload``) with its SHA-256
(``payload_sha256``), plus a few plain columns for listing (who, when, which patient, cohort and model, a
one-line summary, and a ``label``: patient, date and the user's optional note, by which History names and finds
it). A database made before the ``label`` column existed gets it on first use (:func:`_migrated`). Reopening
returns exactly the saved object: the payload hash is checked first, and no model is re-run. A user sees, opens
and deletes only their own analyses; ``user=None`` means an administrator (all).
Every write is one transaction (:func:`dashboard.platform.db.session_scope`): a failure leaves nothing behind.
"""
from __future__ import annotations

import hashlib
import logging
import re
import threading
import uuid
from datetime import UTC, datetime

import pandas as pd
from sqlalchemy import DateTime, Index, String, Text, delete, inspect, select, text
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.patient.presentation import history_summary
from dashboard.patient.record import PatientAnalysis, parse_created
from dashboard.platform.db import Base, database_url, get_engine, session_scope
from genomics.regimens import regimen_label

log = logging.getLogger(__name__)

LIST_COLUMNS = ["id", "created", "user", "patient_id", "cohort_id", "model_id", "summary", "label"]
SUMMARY_MAX = 300
LABEL_MAX = 300
NOTE_MAX = 200
_MIGRATED: set[str] = set()
_MIGRATE_LOCK = threading.Lock()


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
    label: Mapped[str | None] = mapped_column(String(LABEL_MAX), nullable=True)  # patient · date · note
    payload: Mapped[str] = mapped_column(Text)
    payload_sha256: Mapped[str] = mapped_column(String(64))


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _utc(value: datetime) -> datetime:
    """Aware UTC (SQLite hands back naive datetimes; they were written as UTC)."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _migrated(url: str | None) -> str | None:
    """``url``, after adding the columns a database made by an older OncoTx lacks (once per URL per process)."""
    key = url or database_url()
    if key in _MIGRATED:
        return url
    with _MIGRATE_LOCK:
        if key not in _MIGRATED:
            engine = get_engine(url)
            columns = {c["name"] for c in inspect(engine).get_columns(AnalysisRow.__tablename__)}
            if "label" not in columns:
                with engine.begin() as conn:
                    conn.execute(text(f"ALTER TABLE {AnalysisRow.__tablename__} ADD COLUMN label "
                                      f"VARCHAR({LABEL_MAX})"))
                log.info("added the label column to the saved analyses")
            _MIGRATED.add(key)
    return url


def analysis_summary(analysis: PatientAnalysis) -> str:
    """One plain line for lists (:func:`dashboard.patient.presentation.history_summary`, at most SUMMARY_MAX
    characters): ``"vs None (no treatment): 1 worthwhile, 2 small, 3 uncertain"``."""
    line = history_summary(analysis)
    return line if len(line) <= SUMMARY_MAX else line[: SUMMARY_MAX - 1] + "…"


def analysis_label(analysis: PatientAnalysis, note: str | None = None) -> str:
    """The name a saved analysis is listed and found by: ``"PT-1a2b · 2026-03-01 · second opinion"``."""
    created = parse_created(analysis.created)
    day = f"{created:%Y-%m-%d}" if created is not None else ""
    note = " ".join(str(note or "").split())[:NOTE_MAX]
    label = " · ".join(p for p in (str(analysis.patient_id), day, note) if p)
    return label[:LABEL_MAX]


def shown_label(row) -> str:
    """A listed row's name: its label, else (saved before labels existed) patient and date."""
    label = getattr(row, "label", None)
    if isinstance(label, str) and label.strip():
        return label
    created = getattr(row, "created", None)
    day = f"{created:%Y-%m-%d %H:%M}" if isinstance(created, datetime) else ""
    return " · ".join(p for p in (str(getattr(row, "patient_id", "") or ""), day) if p) or "Saved analysis"


def shown_summary(summary: object) -> str:
    """A listed summary in today's words (one saved before them read ``"Options vs none: ..."``)."""
    text = str(summary or "")
    old = re.fullmatch(r"Options vs (\S+): (.*)", text, flags=re.S)
    return f"vs {regimen_label(old.group(1))}: {old.group(2)}" if old else text


def search_analyses(frame: pd.DataFrame, query: str | None) -> pd.DataFrame:
    """The rows of a :func:`list_analyses` frame matching every word of ``query`` (case-insensitive) in their
    label (patient, date, note), patient, cohort, summary or date (``2026-03-01 10:00``); all rows for none."""
    words = str(query or "").casefold().split()
    if not words or frame.empty:
        return frame
    created = frame["created"].dt.strftime("%Y-%m-%d %H:%M") if "created" in frame else ""
    haystack = (frame.get("label", pd.Series("", index=frame.index)).fillna("").astype(str) + " "
                + frame["patient_id"].astype(str) + " " + frame["cohort_id"].astype(str) + " "
                + frame["summary"].astype(str) + " " + created).str.casefold()
    keep = pd.Series(True, index=frame.index)
    for word in words:
        keep &= haystack.str.contains(word, regex=False)
    return frame[keep]


def _short(value: object, *, name: str, limit: int = 255) -> str:
    text = str(value)
    if len(text) > limit:
        raise StoreError(f"The analysis cannot be saved: its {name} is longer than {limit} characters.")
    return text


def save_analysis(analysis: PatientAnalysis, *, label: str | None = None, url: str | None = None) -> str:
    """Save ``analysis`` in one transaction and return its new id (32 hex characters). ``label``: the name it is
    listed by (default :func:`analysis_label` without a note: patient and date).

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
        label=(" ".join(str(label).split())[:LABEL_MAX] if label and str(label).strip() else analysis_label(analysis)),
        payload=payload,
        payload_sha256=_sha256(payload),
    )
    with session_scope(_migrated(url)) as session:
        session.add(row)
        session.flush()
    log.info("saved analysis %s (model %s)", row.id, row.model_id)
    return row.id


def list_analyses(*, user: str | None = None, url: str | None = None, limit: int = 200,
                  search: str | None = None) -> pd.DataFrame:
    """Saved analyses, newest first (no payload): columns ``id, created, user, patient_id, cohort_id, model_id,
    summary, label`` (summaries in today's words: :func:`shown_summary`). ``user=None`` lists everyone's (administrator); a user sees only their own. ``search``:
    only those matching every word (:func:`search_analyses`), the newest ``limit`` of them."""
    columns = [getattr(AnalysisRow, c) for c in LIST_COLUMNS]
    query = select(*columns).order_by(AnalysisRow.created.desc(), AnalysisRow.saved.desc(), AnalysisRow.id)
    if user is not None:
        query = query.where(AnalysisRow.user == user)
    searching = bool(str(search or "").split())
    if not searching:
        query = query.limit(max(int(limit), 0))
    with session_scope(_migrated(url)) as session:
        rows = [tuple(r) for r in session.execute(query)]
    frame = pd.DataFrame(rows, columns=LIST_COLUMNS)
    frame["created"] = pd.to_datetime([_utc(t) for t in frame["created"]], utc=True)
    frame["summary"] = [shown_summary(v) for v in frame["summary"]]
    if searching:
        frame = search_analyses(frame, search).head(max(int(limit), 0)).reset_index(drop=True)
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
    with session_scope(_migrated(url)) as session:
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
    with session_scope(_migrated(url)) as session:
        deleted = session.execute(query).rowcount
    if deleted:
        log.info("deleted analysis %s", analysis_id)
    return bool(deleted)
