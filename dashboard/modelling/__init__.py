"""Models for the app without Streamlit: the model lab's comparisons and figures, training jobs, bundles on disk,
the Patient page's choice of model (preferences)."""
