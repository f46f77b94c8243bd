"""Patient page: upload an expression profile (+ clinical record), see the validation report."""
from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from dashboard import loaders
from dashboard.shell import current_cohort
from dashboard.text import plain
from dashboard.views import clinical_form, show_report, survival_section
from genomics.validate import UploadResult, check_upload

st.title("Patient")
spec = current_cohort()
st.caption(f"Reference cohort: {plain(spec.display_name)}")

expression = st.file_uploader(
    "Expression profile (CSV, TSV, TXT, gzipped, XLSX or .h5ad; genes as rows or columns)",
    type=["csv", "tsv", "txt", "gz", "xlsx", "h5ad"],
    key="expression_file",
)
records = st.file_uploader("Clinical record (optional: CSV, JSON or FHIR R4 Bundle)", type=["csv", "json", "gz"],
                           key="records_file")
orientation = st.radio(
    "Where are the genes?", ["auto", "genes_as_rows", "genes_as_columns"], horizontal=True,
    format_func={"auto": "Detect", "genes_as_rows": "Rows", "genes_as_columns": "Columns"}.get, key="orientation",
)

if expression is not None:
    data = expression.getvalue()
    rec = records.getvalue() if records is not None else None
    key = hashlib.sha256(b"|".join([data, rec or b"", orientation.encode(), spec.id.encode(),
                                    expression.name.encode()])).hexdigest()
    if st.session_state.get("upload_key") != key:
        st.session_state["upload"] = check_upload(
            data, name=expression.name, records=rec, records_name=records.name if records else None,
            orientation=orientation, spec=spec, reference_genes=list(loaders.cohort(spec.id).var_names),
        )
        st.session_state["upload_key"] = key
    result: UploadResult = st.session_state["upload"]
    show_report(result.report)
    if result.report.ok and result.adata is not None:
        st.subheader("Clinical fields")
        st.caption("From the record or the file; fill in what is missing below (nothing is assumed silently).")
        known = {f.name: result.adata.obs[f.name].iloc[0] for f in spec.clinical
                 if f.name in result.adata.obs.columns and result.adata.n_obs == 1}
        clinical = clinical_form(spec, known=known)
        if result.adata.n_obs == 1:
            survival_section(spec, result.adata, clinical)
        else:
            st.caption("Upload one patient for survival estimates; `python -m models` scores batches.")
        preview = pd.DataFrame({"gene": result.adata.var_names[:20],
                                "value": result.adata.X[0, :20] if result.adata.n_obs else []})
        with st.expander("First genes as read"):
            st.dataframe(preview, hide_index=True)
else:
    st.write("Upload a profile to begin. The analysis runs only on input that passes validation.")
