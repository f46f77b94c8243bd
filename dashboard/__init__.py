"""App support without ML maths, grouped by responsibility: ui (the only Streamlit importers), patient (one
patient's analysis, its presentation, charts and report), cohort (the explorer), modelling (model lab, jobs,
bundles), platform (database, users, audit, pseudonyms); text and plotly_style are shared leaves."""
