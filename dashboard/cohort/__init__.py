"""The cohort explorer without Streamlit: explorer maths (explore), its plotly figures (charts), per-patient
tables (embedding coordinates, pathway scores)."""
