"""The model each cohort's Patient page uses, per endpoint: the ``model_preferences`` table.

The Model lab sets it (:func:`set_preferred`), or clears it to go back to the default model; the Patient and
Cohort pages read it (:func:`preferred_bundle`). A chosen bundle that has gone from disk counts as none.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.modelling.jobs import WRITE_LOCK
from dashboard.platform.db import Base, session_scope
from genomics.errors import InputError


class PreferenceRow(Base):
    """The bundle the Patient page uses for one cohort and endpoint."""

    __tablename__ = "model_preferences"

    cohort_id: Mapped[str] = mapped_column(String(255), primary_key=True)
    endpoint: Mapped[str] = mapped_column(String(64), primary_key=True)
    bundle_path: Mapped[str] = mapped_column(String(2000))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def set_preferred(cohort_id: str, endpoint: str, bundle_path: Path | str) -> None:
    """Make a bundle the one the Patient page uses for this cohort and endpoint."""
    path = Path(bundle_path)
    if not (path / "manifest.json").is_file():
        raise InputError(f"{path.name} is not a model bundle.")
    with WRITE_LOCK, session_scope() as s:
        row = s.get(PreferenceRow, (cohort_id, endpoint))
        if row is None:
            s.add(PreferenceRow(cohort_id=cohort_id, endpoint=endpoint, bundle_path=str(path), updated=datetime.now(UTC)))
        else:
            row.bundle_path, row.updated = str(path), datetime.now(UTC)


def clear_preferred(cohort_id: str, endpoint: str) -> None:
    """Back to the default model for this cohort and endpoint."""
    with WRITE_LOCK, session_scope() as s:
        row = s.get(PreferenceRow, (cohort_id, endpoint))
        if row is not None:
            s.delete(row)


def preferred_bundle(cohort_id: str, endpoint: str) -> Path | None:
    """The bundle chosen for the Patient page (None: use the default model, or the chosen one has gone)."""
    with session_scope() as s:
        row = s.get(PreferenceRow, (cohort_id, endpoint))
        path = None if row is None else Path(row.bundle_path)
    return path if path is not None and (path / "manifest.json").is_file() else None
