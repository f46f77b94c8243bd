"""OncoTx data layer: readers, validation, gene identifiers, cohorts (no streamlit here)."""
