"""OncoTx: Streamlit entry point. Registers the pages; each page is thin."""
from __future__ import annotations

import streamlit as st

from dashboard.shell import attribution, cohort_selector, research_notice

st.set_page_config(page_title="OncoTx", page_icon="🧬", layout="wide")

pages = [
    st.Page("pages/patient.py", title="Patient", icon="🧑‍⚕️", default=True),
    st.Page("pages/cohort.py", title="Cohort", icon="📊"),
]
navigation = st.navigation(pages)
st.sidebar.title("OncoTx")
spec = cohort_selector()
attribution(spec)
research_notice()
navigation.run()
