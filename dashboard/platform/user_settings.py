"""Each user's own settings, remembered across sessions: the ``user_settings`` table (today: the language).

The public demo (``ONCOTX_DEMO=1``) keeps nothing, so nothing is written there (:func:`set_language`).
"""
from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import DateTime, String
from sqlalchemy.orm import Mapped, mapped_column

from dashboard.platform.db import Base, session_scope
from genomics.settings import demo_mode_on


class UserSettingsRow(Base):
    """One user's settings."""

    __tablename__ = "user_settings"

    username: Mapped[str] = mapped_column(String(64), primary_key=True)
    language: Mapped[str] = mapped_column(String(16))
    updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))


def get_language(username: str) -> str | None:
    """The language this user last chose, or None."""
    if demo_mode_on():
        return None
    with session_scope() as s:
        row = s.get(UserSettingsRow, username)
        return row.language if row is not None else None


def set_language(username: str, language: str) -> None:
    """Remember this user's language (not in the public demo, which keeps nothing)."""
    if demo_mode_on():
        return
    with session_scope() as s:
        row = s.get(UserSettingsRow, username)
        if row is None:
            s.add(UserSettingsRow(username=username, language=language, updated=datetime.now(UTC)))
        elif row.language != language:
            row.language, row.updated = language, datetime.now(UTC)
