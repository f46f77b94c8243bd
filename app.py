"""OncoTx: Streamlit entry point. Signs the user in, registers the pages their role opens; each page is thin."""
from __future__ import annotations

import os

# OpenMP threads (xgboost, torch, scikit-learn share libgomp) spin while idle unless told not to; on a
# shared 2-core machine that made xgboost 20x slower. Must be set before any of them is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st

from dashboard.i18n import N_, tr
from dashboard.ui import auth, warmup
from dashboard.ui.shell import (
    account_box,
    attribution,
    cohort_selector,
    default_cohort,
    demo_notice,
    language_switch,
    research_notice,
    use_language,
    user_language,
)

st.set_page_config(page_title="OncoTx", page_icon="🧬", layout="wide")

# Page scripts live one folder down (pages/<audience>/). A fresh Streamlit server treats pages/ in its
# legacy folder mode until st.navigation first runs; pages/patient.py and pages/cohort.py only hand a
# deep link in that mode over to this shell, so /cohort opened first still gets the notice and selector.
ALL_PAGES = {
    N_("Clinician"): [("patient", "pages/clinician/patient.py", N_("Patient"), ":material/person:"),
                      ("history", "pages/clinician/history.py", N_("History"), ":material/history:")],
    N_("Research"): [("cohort", "pages/research/cohort.py", N_("Cohort"), ":material/groups:"),
                     ("models", "pages/research/models.py", N_("Model lab"), ":material/science:")],
    N_("Administration"): [("audit", "pages/admin/audit.py", N_("Audit trail"), ":material/policy:"),
                           ("users", "pages/admin/users.py", N_("Users"), ":material/manage_accounts:")],
}

use_language()  # before any words are drawn (the sign-in page too)
warmup.start(default_cohort())  # once per process, from the first run (the sign-in page too): see warmup
user = auth.signed_in()
if user is None:
    st.navigation([st.Page("pages/account/sign_in.py", title=tr("Sign in"), icon=":material/login:")]).run()
    language_switch()
    research_notice()
    st.stop()

user_language(user)  # the signed-in user's own language, where this session has not chosen one
opened = [name for entries in ALL_PAGES.values() for name, *_ in entries if auth.allowed(user, name)]
start = "patient" if "patient" in opened else opened[0]  # a researcher starts on Cohort
pages = {tr(section): [st.Page(path, title=tr(title), icon=icon, url_path=name, default=(name == start))
                   for name, path, title, icon in entries if name in opened]
         for section, entries in ALL_PAGES.items()}
navigation = st.navigation({section: entries for section, entries in pages.items() if entries})
st.sidebar.title("OncoTx")
account_box(user)
language_switch(user)
spec = cohort_selector()
warmup.start(spec)  # once per process and cohort: model, evidence and map, in the background
attribution(spec)
research_notice()
demo_notice(user)
if warmup.in_progress(spec):  # the first page of a fresh server: say so while the cohort loads
    with st.spinner(tr("Getting OncoTx ready on this server (loading the reference cohort and models; first use "
                       "only)…"), show_time=True):
        warmup.wait(spec, "cohort")
navigation.run()
