"""One patient's analysis without Streamlit: the record, the service that builds it, its presentation, charts and report."""
