"""OncoTx ML layer: survival models, treatment engine, evaluation, bundles (no streamlit here)."""
