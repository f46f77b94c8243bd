"""History page: the user's saved analyses, named by their label (patient, date, note) and searchable; reopen one
exactly as it was saved, or delete it.

Thin: rows from dashboard.platform.store (the user's own only), the dashboard from dashboard.ui.patient_view.render_analysis
on the stored PatientAnalysis (no model is re-run). ``?analysis=<id>`` opens one directly (the Patient page links
here after saving).
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard.i18n import tr
from dashboard.platform import store
from dashboard.platform.audit import AuditError
from dashboard.text import plain
from dashboard.ui import auth
from dashboard.ui.patient_view import render_analysis

PARAM = "analysis"
LOADED = "history_loaded"  # session: (id, the analysis opened), so a rerun does not read it again

me = auth.require("history")
user = auth.store_owner(me)  # None for an administrator: every user's analyses
st.title(tr("History"))
whose = tr("every user (you are an administrator)") if user is None else plain(me.username)
st.caption(tr("Analyses saved by {whose}, newest first. Reopening shows an analysis exactly as it was saved: "
              "nothing is recomputed.", whose=whose))
try:
    every = store.list_analyses(user=user)
except store.StoreError as exc:
    st.error(plain(str(exc)))
    every = pd.DataFrame(columns=store.LIST_COLUMNS)

if every.empty:
    st.info(tr("No saved analyses yet: analyse a patient on the Patient page and press “Save to history”."))
    st.page_link("pages/clinician/patient.py", label=tr("Go to the Patient page"), icon=":material/person:")
else:
    query = st.text_input(tr("Search"), key="history_search", placeholder=tr("a note, a patient or a date (2026-03)"),
                          help=tr("Finds the saved analyses whose name (patient · date · note), patient, date or "
                                  "summary holds every word typed."), icon=":material/search:")
    wanted = st.query_params.get(PARAM)
    saved = store.search_analyses(every, query)
    if wanted and wanted not in set(saved["id"].astype(str)):  # a deep link stays openable whatever is typed
        saved = pd.concat([every[every["id"].astype(str) == wanted], saved])
    ids = [str(i) for i in saved["id"]]
    labels = {str(r.id): f"{store.shown_label(r)} · {r.summary}" for r in saved.itertuples()}
    names = {str(r.id): store.shown_label(r) for r in every.itertuples()}
    if saved.empty:
        st.info(tr("No saved analysis matches this search: try fewer words, a patient or a date."))
    listing = pd.DataFrame({tr("Name"): [store.shown_label(r) for r in saved.itertuples()],
                            tr("Analysed (UTC)"): saved["created"].dt.strftime("%Y-%m-%d %H:%M"),
                            tr("User"): saved["user"], tr("Patient"): saved["patient_id"], tr("Cohort"): saved["cohort_id"],
                            tr("Summary"): saved["summary"]})
    if user is not None:
        listing = listing.drop(columns=tr("User"))
    st.dataframe(listing, hide_index=True, width="stretch")
    chosen = st.selectbox(tr("Open a saved analysis"), ids, index=ids.index(wanted) if wanted in ids else None,
                          format_func=labels.get, placeholder=tr("Choose an analysis"), key="history_choice")
    if chosen != wanted:
        if chosen is None:
            st.query_params.pop(PARAM, None)
        else:
            st.query_params[PARAM] = chosen
    if chosen is not None:
        opened = st.session_state.get("history_opened")
        try:
            held = st.session_state.get(LOADED)
            if held is not None and held[0] == (chosen, user):
                analysis = held[1]
            else:
                analysis = store.load_analysis(chosen, user=user)
                st.session_state[LOADED] = ((chosen, user), analysis)
            if opened != chosen:  # audit each opening once, not every rerun
                auth.log_action("open", subject=chosen, cohort_id=analysis.cohort_id, model_id=analysis.model_id,
                                bundle_sha256=analysis.bundle_sha256,
                                input_sha256=analysis.inputs_sha256.get("expression", ""))
                st.session_state["history_opened"] = chosen
        except (store.StoreError, AuditError) as exc:
            st.error(plain(str(exc)))
        else:
            with st.popover(tr("Delete…"), icon=":material/delete:"):
                st.caption(tr("Delete this saved analysis permanently?"))
                delete = st.button(tr("Delete permanently"), key="history_delete", type="primary")
            if delete:
                if store.delete_analysis(chosen, user=user):
                    auth.log_action("delete", subject=chosen, cohort_id=analysis.cohort_id)
                    st.session_state.pop(LOADED, None)
                    st.query_params.pop(PARAM, None)
                    st.toast(tr("Analysis deleted."))
                    st.rerun()
                st.error(tr("The analysis could not be deleted (it is no longer there or not yours)."))
            st.caption(tr("Saved analysis “{name}”", name=plain(names.get(chosen, ""))))
            render_analysis(analysis, key_prefix="history", saved_id=chosen, saved_label=names.get(chosen))
