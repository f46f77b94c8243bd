"""Patient page: input (upload or example patient) → validation report → clinical form → analysis → dashboard.

Thin: the validation report is genomics.validate's, the analysis is dashboard.ui.model_cache.build_analysis
(run only on valid input, with its progress shown), and the dashboard is dashboard.ui.patient_view.render_analysis,
drawn from the PatientAnalysis kept in this session (the History page reopens saved ones with the same renderer).
"""
from __future__ import annotations

import hashlib
import logging

import streamlit as st

from dashboard.patient.presentation import form_values
from dashboard.platform.audit import AuditError
from dashboard.platform.store import StoreError
from dashboard.text import plain
from dashboard.ui import auth, loaders
from dashboard.ui.patient_view import render_analysis
from dashboard.ui.shell import current_cohort
from dashboard.ui.widgets import clinical_form, show_report
from genomics.errors import InputError
from genomics.regimens import regimen_label
from genomics.validate import UploadResult, check_upload
from models.errors import ModelError

log = logging.getLogger(__name__)
ANALYSIS, ANALYSIS_OWNER = "patient_analysis", "patient_analysis_owner"  # the analysis shown, and whose it is
UPLOAD, UPLOAD_KEY = "upload", "upload_key"
INPUTS_OWNER = "patient_inputs_owner"
SOURCES = {"upload": "Upload files", "example": "Example patient"}
BASELINES = {"none": "No treatment", "current": "The current or planned regimen"}


def _sha(*parts: bytes) -> str:
    return hashlib.sha256(b"|".join(parts)).hexdigest()


def _uploaded(spec) -> tuple[UploadResult, str] | None:
    expression = st.file_uploader(
        "Expression profile (CSV, TSV, TXT, gzipped, XLSX or .h5ad; genes as rows or columns)",
        type=["csv", "tsv", "txt", "gz", "xlsx", "h5ad"], key="expression_file",
    )
    records = st.file_uploader("Clinical record (optional: CSV, JSON or FHIR R4 Bundle)", type=["csv", "json", "gz"],
                               key="records_file")
    orientation = st.radio(
        "Where are the genes?", ["auto", "genes_as_rows", "genes_as_columns"], horizontal=True,
        format_func={"auto": "Detect", "genes_as_rows": "Rows", "genes_as_columns": "Columns"}.get, key="orientation",
    )
    if expression is None and records is None:
        st.write("Upload a profile, a clinical record, or both to begin (a record alone is answered by the "
                 "clinical-only model). The analysis runs only on input that passes validation.")
        return None
    data = expression.getvalue() if expression is not None else None
    rec = records.getvalue() if records is not None else None
    key = _sha(data or b"", rec or b"", orientation.encode(), spec.id.encode(),
               (expression.name if expression else "").encode(), (records.name if records else "").encode())
    if st.session_state.get(UPLOAD_KEY) != key:
        result = check_upload(
            data, name=expression.name if expression else None, records=rec,
            records_name=records.name if records else None, orientation=orientation, spec=spec,
            reference_genes=list(loaders.cohort(spec.id).var_names),
        )
        what = "expression and record" if data is not None and rec else "expression" if data is not None else "record"
        auth.log_action("upload", outcome="ok" if result.report.ok else "refused", cohort_id=spec.id,
                        input_sha256=hashlib.sha256(data if data is not None else rec).hexdigest(), detail=what)
        st.session_state[UPLOAD] = result
        st.session_state[UPLOAD_KEY] = key
    return st.session_state[UPLOAD], key


def _example(spec) -> tuple[UploadResult, str] | None:
    from dashboard.ui.model_cache import example_patients, example_upload  # lazy: start-up cost (models stack)

    st.caption("Held-back test patients of the cohort's treatment model: it never trained on them.")
    with st.spinner("Loading the held-back patients (the first time trains the cohort's treatment model)…"):
        ids = example_patients(spec)
    if not ids:
        st.info("This cohort has no held-back example patients.")
        return None
    chosen = st.selectbox("Example patient", ids, index=None, placeholder="Choose a held-back patient",
                          key="example_patient")
    if chosen is None:
        return None
    key = _sha(b"example", spec.id.encode(), str(chosen).encode())
    if st.session_state.get(UPLOAD_KEY) != key:
        st.session_state[UPLOAD] = example_upload(spec, chosen)
        st.session_state[UPLOAD_KEY] = key
    return st.session_state[UPLOAD], key


def _one_sample(result: UploadResult) -> UploadResult:
    """A multi-sample upload: the user picks the patient to analyse."""
    if result.adata is None or result.adata.n_obs <= 1:
        return result
    names = [str(n) for n in result.adata.obs_names]
    chosen = st.selectbox(f"This file holds {len(names)} samples: the patient to analyse", names, key="sample_choice")
    return UploadResult(result.adata[[names.index(chosen)]].copy(), result.report, result.record)


def _inputs(spec, result: UploadResult) -> tuple[dict, dict, str, bool]:
    """Clinical fields, current or planned regimen and baseline, entered in one form (analysed on submit)."""
    with st.form("patient_inputs", border=True):
        st.subheader("Clinical fields", anchor=False)
        st.caption("From the record or the file; fill in what is missing (anything left missing is filled from "
                   "the cohort and listed with the results).")
        clinical = clinical_form(spec, known={})  # values from form_values, through the session state
        regimen: dict[str, int] = {}
        if spec.treatments:
            st.caption("Current or planned treatment (the risk estimate is for this regimen):")
            cols = st.columns(len(spec.treatments) + 1)
            for col, t in zip(cols, spec.treatments, strict=False):
                regimen[t] = int(col.checkbox(regimen_label(t), key=f"regimen_{t}"))
            baseline = cols[-1].selectbox("Compare options against", list(BASELINES), format_func=BASELINES.get,
                                          key="patient_baseline")
        else:
            baseline = "none"
        submitted = st.form_submit_button("Analyse", type="primary", icon=":material/play_arrow:")
    return clinical, regimen, baseline, submitted


def _analyse(spec, result: UploadResult, owner: str, clinical: dict, regimen: dict, baseline: str) -> None:
    from dashboard.ui.model_cache import build_analysis  # lazy: start-up cost (models stack)

    for name in (ANALYSIS, ANALYSIS_OWNER):
        st.session_state.pop(name, None)
    with st.status("Analysing the patient…", expanded=True) as status:
        try:
            analysis = build_analysis(result, spec=spec, clinical=clinical, regimen=regimen, baseline=baseline,
                                      user=user.username, progress=status.write)
            auth.log_action("analysis", cohort_id=spec.id, input_sha256=analysis.inputs_sha256.get("expression", ""),
                            model_id=analysis.model_id, bundle_sha256=analysis.bundle_sha256,
                            subject=analysis.patient_id, detail=f"baseline {baseline}")
        except (InputError, ModelError, StoreError, AuditError) as exc:
            status.update(label="The analysis could not be completed", state="error", expanded=False)
            st.error(plain(getattr(exc, "message", None) or str(exc)))
            _audit_failure(spec, "analysis refused")
            return
        except Exception:  # noqa: BLE001 (no traceback reaches the user; the server log has it)
            log.exception("patient analysis failed")
            status.update(label="The analysis could not be completed", state="error", expanded=False)
            st.error("The analysis failed unexpectedly; the details are in the server log.")
            _audit_failure(spec, "analysis failed unexpectedly")
            return
        status.update(label="Analysis ready", state="complete", expanded=False)
    st.session_state[ANALYSIS] = analysis
    st.session_state[ANALYSIS_OWNER] = owner


def _audit_failure(spec, detail: str) -> None:
    try:
        auth.log_action("failure", outcome="error", cohort_id=spec.id, detail=detail)
    except AuditError:
        log.exception("audit of a failure failed")


user = auth.require("patient")
st.title("Patient")
spec = current_cohort()
st.caption(f"Reference cohort: {plain(spec.display_name)}")
source = st.segmented_control("Input", list(SOURCES), format_func=SOURCES.get, default="upload", required=True,
                              key="patient_source")
try:
    picked = _example(spec) if source == "example" else _uploaded(spec)
except (InputError, ModelError, StoreError, AuditError) as exc:
    st.error(plain(getattr(exc, "message", None) or str(exc)))
    picked = None

if picked is not None:
    upload, upload_key = picked
    show_report(upload.report)
    if upload.report.ok and upload.adata is not None:
        upload = _one_sample(upload)
        owner = _sha(upload_key.encode(), str(upload.adata.obs_names[0]).encode())  # this upload and sample
        if st.session_state.get(INPUTS_OWNER) != owner:
            # a new patient: the form starts from its file and record (set through the session state, so that
            # the browser's widgets follow; their defaults stay empty)
            st.session_state.update(form_values(spec, upload.adata.obs.iloc[0].to_dict()))
            st.session_state[INPUTS_OWNER] = owner
        clinical, regimen, baseline, submitted = _inputs(spec, upload)
        if submitted:
            _analyse(spec, upload, owner, clinical, regimen, baseline)
        shown = st.session_state.get(ANALYSIS)
        if shown is not None and st.session_state.get(ANALYSIS_OWNER) == owner:
            render_analysis(shown, key_prefix="patient")
        elif not submitted:
            st.caption("Check the fields above, then press Analyse.")
