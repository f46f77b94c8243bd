"""OncoTx: Streamlit entry point. Registers the pages; each page is thin."""
from __future__ import annotations

import os

# OpenMP threads (xgboost, torch, scikit-learn share libgomp) spin while idle unless told not to; on a
# shared 2-core machine that made xgboost 20x slower. Must be set before any of them is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st

from dashboard import warmup
from dashboard.shell import attribution, cohort_selector, research_notice

st.set_page_config(page_title="OncoTx", page_icon="🧬", layout="wide")

# Page scripts live one folder down (pages/<audience>/). A fresh Streamlit server treats pages/ in its
# legacy folder mode until st.navigation first runs; pages/patient.py and pages/cohort.py only hand a
# deep link in that mode over to this shell, so /cohort opened first still gets the notice and selector.
pages = {
    "Clinician": [st.Page("pages/clinician/patient.py", title="Patient", icon=":material/person:", default=True),
                  st.Page("pages/clinician/history.py", title="History", icon=":material/history:")],
    "Research": [st.Page("pages/research/cohort.py", title="Cohort", icon=":material/groups:"),
                 st.Page("pages/research/models.py", title="Model lab", icon=":material/science:")],
}
navigation = st.navigation(pages)
st.sidebar.title("OncoTx")
spec = cohort_selector()
warmup.start(spec)  # once per process: model, evidence and map of the cohort, in the background
attribution(spec)
research_notice()
navigation.run()
