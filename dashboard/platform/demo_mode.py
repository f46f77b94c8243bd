"""The read-only public demo mode (``ONCOTX_DEMO=1``): its rules, without Streamlit.

In this mode the app offers the synthetic demo cohort and the example patients only; there are no accounts and
no sign-in; nothing is saved (no History, no Model lab, no audit rows: :func:`dashboard.platform.audit.record` logs
the event and stores nothing; what state there is, caches and trained models, goes to a temporary folder that
:func:`genomics.settings.get_settings` removes at exit, never under ``ONCOTX_HOME``); uploads stay in the
session's memory; an upload is at most :data:`MAX_UPLOAD_MB` and a session may run at most
:data:`ANALYSES_PER_WINDOW` analyses per :data:`RATE_WINDOW_S` (:func:`allow_analysis`). The research-use notice
and :data:`PUBLIC_DEMO_NOTICE` are on every page.

User-facing words are the constants below (one place, for the message catalogue).
"""
from __future__ import annotations

from collections.abc import Sequence

from genomics.settings import demo_mode_on

__all__ = ["ANALYSES_PER_WINDOW", "DEMO_PAGES", "MAX_UPLOAD_MB", "PUBLIC_DEMO_NOTICE", "RATE_LIMITED", "RATE_WINDOW_S",
           "UPLOAD_TOO_LARGE", "allow_analysis", "demo_mode_on", "upload_within_limit"]

#: Pages a public demo opens (no History, Audit, Users or Model lab: they save or show saved things).
DEMO_PAGES = frozenset({"patient", "cohort"})
#: Largest upload in the public demo, profile and record together (checked by the Patient page before parsing).
MAX_UPLOAD_MB = 10
#: Analyses a session may start per window.
ANALYSES_PER_WINDOW = 10
RATE_WINDOW_S = 600.0

PUBLIC_DEMO_NOTICE = ("Public demo: synthetic data and example patients only. Nothing you upload is saved: it stays "
                      "in this browser session and is gone when you close it. Do not upload real patient data.")
UPLOAD_TOO_LARGE = "This file is larger than the public demo accepts ({limit} MB)."
RATE_LIMITED = ("The public demo allows {n} analyses every {minutes} minutes per session: please wait a few "
                "minutes and try again.")


def upload_within_limit(n_bytes: int, *, limit_mb: int = MAX_UPLOAD_MB) -> bool:
    """True when an upload of ``n_bytes`` is within the demo's size limit."""
    return n_bytes <= limit_mb * 1024 * 1024


def allow_analysis(started: Sequence[float], now: float, *, limit: int = ANALYSES_PER_WINDOW,
                   window_s: float = RATE_WINDOW_S) -> tuple[bool, list[float]]:
    """Whether a session that started analyses at ``started`` (monotonic seconds) may start one at ``now``, and the
    start times to keep (those inside the window, plus ``now`` when allowed)."""
    recent = [t for t in started if now - t < window_s]
    if len(recent) >= limit:
        return False, recent
    return True, [*recent, now]
