"""App support without ML maths, grouped by responsibility: ui (the only Streamlit importers), patient (one
patient's analysis, its presentation, charts and report), cohort (the explorer), modelling (model lab, jobs,
bundles), platform (database, users, audit, pseudonyms); serve (the start command); text and plotly_style are shared
leaves."""
