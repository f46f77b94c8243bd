"""Audit page (administrators; read-only in demo mode): browse, filter, verify and export the audit trail.

Thin: rows from dashboard.platform.audit.events, the chain check from dashboard.platform.audit.verify_chain. The trail holds no
patient values, only identifiers of users, inputs (SHA-256), cohorts and models.
"""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import streamlit as st

from dashboard.i18n import tr
from dashboard.platform import audit
from dashboard.text import plain
from dashboard.ui import auth

user = auth.require("audit")
st.title(tr("Audit trail"))
st.caption(tr("Who did what, when, on which input (SHA-256 of the file) and with which model. Append-only; "
              "no patient values or names are ever written here."))

cols = st.columns([2, 2, 2, 3])
who = cols[0].text_input(tr("User"), key="audit_user", placeholder=tr("any"))
action = cols[1].selectbox(tr("Action"), ("", *audit.ACTIONS), key="audit_action", format_func=lambda a: a or tr("any"))
outcome = cols[2].selectbox(tr("Outcome"), ("", *audit.OUTCOMES), key="audit_outcome",
                            format_func=lambda a: a or tr("any"))
today = datetime.now(UTC).date()
span = cols[3].date_input(tr("Dates (UTC)"), (today - timedelta(days=30), today), key="audit_dates")
since = until = None
if isinstance(span, tuple) and len(span) == 2:
    since = datetime.combine(span[0], time.min, tzinfo=UTC)
    until = datetime.combine(span[1], time.min, tzinfo=UTC) + timedelta(days=1)

try:
    frame = audit.events(user=who.strip().lower() or None, action=action or None, outcome=outcome or None,
                         since=since, until=until)
    intact, summary = audit.verify_chain()
except Exception:  # noqa: BLE001 (database unavailable: say so, never a traceback)
    st.error(tr("The audit trail could not be read; the details are in the server log."))
    st.stop()

(st.success if intact else st.error)(plain(summary), icon=":material/verified:" if intact else ":material/error:")
st.caption(tr("{count} events match (newest first).", count=len(frame)))
st.dataframe(frame.assign(time=frame["time"].dt.strftime("%Y-%m-%d %H:%M:%S")), hide_index=True, width="stretch",
             column_config={"input_sha256": st.column_config.TextColumn("input SHA-256"),
                            "bundle_sha256": st.column_config.TextColumn("bundle SHA-256")})


def _exported() -> None:
    auth.log_action("audit_export", user=user, detail="audit trail as CSV")


st.download_button(tr("Export these events (CSV)"), audit.to_csv(frame), file_name="oncotx-audit.csv", mime="text/csv",
                   icon=":material/download:", key="audit_csv", on_click=_exported)
