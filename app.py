"""OncoTx: Streamlit entry point. Registers the pages; each page is thin."""
from __future__ import annotations

import os

# OpenMP threads (xgboost, torch, scikit-learn share libgomp) spin while idle unless told not to; on a
# shared 2-core machine that made xgboost 20x slower. Must be set before any of them is imported.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import streamlit as st

from dashboard.shell import attribution, cohort_selector, research_notice

st.set_page_config(page_title="OncoTx", page_icon="🧬", layout="wide")

# Page scripts live one folder down (pages/<audience>/): a top-level pages/*.py would switch a fresh
# Streamlit server into its legacy folder mode, where a deep link skips this shell.
pages = {
    "Clinician": [st.Page("pages/clinician/patient.py", title="Patient", icon=":material/person:", default=True)],
    "Research": [st.Page("pages/research/cohort.py", title="Cohort", icon=":material/groups:")],
}
navigation = st.navigation(pages)
st.sidebar.title("OncoTx")
spec = cohort_selector()
attribution(spec)
research_notice()
navigation.run()
