"""OncoTx: Streamlit entry point. Signs the user in, registers the pages their role opens; each page is thin."""
from __future__ import annotations

import os

# OpenMP threads (xgboost, torch, scikit-learn share libgomp) spin while idle unless told not to; on a
# shared 2-core machine that made xgboost 20x slower. Must be set before any of them is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st

from dashboard.ui import auth, warmup
from dashboard.ui.shell import account_box, attribution, cohort_selector, default_cohort, demo_notice, research_notice

st.set_page_config(page_title="OncoTx", page_icon="🧬", layout="wide")

# Page scripts live one folder down (pages/<audience>/). A fresh Streamlit server treats pages/ in its
# legacy folder mode until st.navigation first runs; pages/patient.py and pages/cohort.py only hand a
# deep link in that mode over to this shell, so /cohort opened first still gets the notice and selector.
ALL_PAGES = {
    "Clinician": [("patient", "pages/clinician/patient.py", "Patient", ":material/person:"),
                  ("history", "pages/clinician/history.py", "History", ":material/history:")],
    "Research": [("cohort", "pages/research/cohort.py", "Cohort", ":material/groups:"),
                 ("models", "pages/research/models.py", "Model lab", ":material/science:")],
    "Administration": [("audit", "pages/admin/audit.py", "Audit trail", ":material/policy:"),
                       ("users", "pages/admin/users.py", "Users", ":material/manage_accounts:")],
}

warmup.start(default_cohort())  # once per process, from the first run (the sign-in page too): see warmup
user = auth.signed_in()
if user is None:
    st.navigation([st.Page("pages/account/sign_in.py", title="Sign in", icon=":material/login:")]).run()
    research_notice()
    st.stop()

opened = [name for entries in ALL_PAGES.values() for name, *_ in entries if auth.allowed(user, name)]
start = "patient" if "patient" in opened else opened[0]  # a researcher starts on Cohort
pages = {section: [st.Page(path, title=title, icon=icon, url_path=name, default=(name == start))
                   for name, path, title, icon in entries if name in opened]
         for section, entries in ALL_PAGES.items()}
navigation = st.navigation({section: entries for section, entries in pages.items() if entries})
st.sidebar.title("OncoTx")
account_box(user)
spec = cohort_selector()
warmup.start(spec)  # once per process and cohort: model, evidence and map, in the background
attribution(spec)
research_notice()
demo_notice(user)
if warmup.in_progress(spec):  # the first page of a fresh server: say so while the cohort loads
    with st.spinner("Getting OncoTx ready on this server (loading the reference cohort and models; first use "
                    "only)…", show_time=True):
        warmup.wait(spec, "cohort")
navigation.run()
