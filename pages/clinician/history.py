"""History page: the user's saved analyses; reopen one exactly as it was saved, or delete it.

Thin: rows from dashboard.platform.store (the user's own only), the dashboard from dashboard.ui.patient_view.render_analysis
on the stored PatientAnalysis (no model is re-run). ``?analysis=<id>`` opens one directly (the Patient page links
here after saving).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.platform import store
from dashboard.platform.audit import AuditError
from dashboard.text import plain
from dashboard.ui import auth
from dashboard.ui.patient_view import render_analysis

PARAM = "analysis"

me = auth.require("history")
user = auth.store_owner(me)  # None for an administrator: every user's analyses
st.title("History")
whose = "every user (you are an administrator)" if user is None else plain(me.username)
st.caption(f"Analyses saved by {whose}, newest first. Reopening shows an analysis exactly as it was saved: "
           "nothing is recomputed.")
try:
    saved = store.list_analyses(user=user)
except store.StoreError as exc:
    st.error(plain(str(exc)))
    saved = pd.DataFrame(columns=store.LIST_COLUMNS)

if saved.empty:
    st.info("No saved analyses yet: analyse a patient on the Patient page and press “Save to history”.")
    st.page_link("pages/clinician/patient.py", label="Go to the Patient page", icon=":material/person:")
else:
    ids = [str(i) for i in saved["id"]]
    labels = {str(r.id): f"{r.created:%Y-%m-%d %H:%M} UTC · {r.patient_id} · {r.cohort_id} · {r.summary}"
              for r in saved.itertuples()}
    listing = saved.assign(created=saved["created"].dt.strftime("%Y-%m-%d %H:%M"))[
        ["created", "user", "patient_id", "cohort_id", "model_id", "summary", "id"]]
    if user is not None:
        listing = listing.drop(columns="user")
    st.dataframe(listing.rename(columns={"created": "Analysed (UTC)", "user": "User", "patient_id": "Patient",
                                         "cohort_id": "Cohort", "model_id": "Model", "summary": "Summary",
                                         "id": "Id"}), hide_index=True, width="stretch")
    wanted = st.query_params.get(PARAM)
    chosen = st.selectbox("Open a saved analysis", ids, index=ids.index(wanted) if wanted in ids else None,
                          format_func=labels.get, placeholder="Choose an analysis", key="history_choice")
    if chosen != wanted:
        if chosen is None:
            st.query_params.pop(PARAM, None)
        else:
            st.query_params[PARAM] = chosen
    if chosen is not None:
        opened = st.session_state.get("history_opened")
        try:
            analysis = store.load_analysis(chosen, user=user)
            if opened != chosen:  # audit each opening once, not every rerun
                auth.log_action("open", subject=chosen, cohort_id=analysis.cohort_id, model_id=analysis.model_id,
                                bundle_sha256=analysis.bundle_sha256,
                                input_sha256=analysis.inputs_sha256.get("expression", ""))
                st.session_state["history_opened"] = chosen
        except (store.StoreError, AuditError) as exc:
            st.error(plain(str(exc)))
        else:
            with st.popover("Delete…", icon=":material/delete:"):
                st.caption("Delete this saved analysis permanently?")
                delete = st.button("Delete permanently", key="history_delete", type="primary")
            if delete:
                if store.delete_analysis(chosen, user=user):
                    auth.log_action("delete", subject=chosen, cohort_id=analysis.cohort_id)
                    st.query_params.pop(PARAM, None)
                    st.toast("Analysis deleted.")
                    st.rerun()
                st.error("The analysis could not be deleted (it is no longer there or not yours).")
            st.caption(f"Saved analysis {plain(chosen)}")
            render_analysis(analysis, key_prefix="history", saved_id=chosen)
