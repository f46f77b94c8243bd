"""Patient page: first step (an example patient, or your own files) → validation report → which model will answer
→ clinical form → analysis → dashboard.

Thin: the validation report is genomics.validate's, which model answers is models.variants' plan (shown before
anything is fitted), the analysis is dashboard.ui.model_cache.build_analysis (run only on valid input, with its
progress shown), and the dashboard is dashboard.ui.patient_view.render_analysis, drawn from the PatientAnalysis
kept in this session (the History page reopens saved ones with the same renderer). Uploads go through a form with
its own "Check files" button, so a rerun of the page never drops a file half-way.
"""
from __future__ import annotations

import hashlib
import logging

import streamlit as st

from dashboard.i18n import N_, regimen_label, tr, translate_error
from dashboard.patient.presentation import form_values
from dashboard.platform.audit import AuditError
from dashboard.platform.demo_mode import MAX_UPLOAD_MB, UPLOAD_TOO_LARGE, demo_mode_on, upload_within_limit
from dashboard.platform.store import StoreError
from dashboard.text import plain
from dashboard.ui import auth, loaders
from dashboard.ui.patient_view import render_analysis
from dashboard.ui.preload import preload_result_elements
from dashboard.ui.record_review import (
    corrected_inputs,
    hold_form_values,
    keep_submitted,
    note_corrections,
    record_review,
    start_form,
)
from dashboard.ui.shell import current_cohort, fragment
from dashboard.ui.widgets import clinical_form, example_downloads, filled_lines, model_plan, show_report
from genomics.errors import InputError
from genomics.validate import UploadResult, check_upload
from models.errors import ModelError

log = logging.getLogger(__name__)
ANALYSIS, ANALYSIS_OWNER = "patient_analysis", "patient_analysis_owner"  # the analysis shown, and whose it is
UPLOAD, UPLOAD_KEY = "upload", "upload_key"
ANALYSE_KEY = "patient_analyse"  # the form's submit button
INPUTS_OWNER = "patient_inputs_owner"
SOURCE, FIRST_EXAMPLE = "patient_input_source", "patient_first_example"  # "upload" | "example"; pick the first
BASELINES = {"none": N_("No treatment"), "current": N_("The current or planned regimen")}
ORIENTATIONS = {N_("Detect"): "auto", N_("Rows"): "genes_as_rows", N_("Columns"): "genes_as_columns"}  # words → reader
VARIANT_TITLES = {"full": N_("Full model"), "companion": N_("Companion model"), "robust": N_("Platform-robust model"),
                  "clinical": N_("Clinical-only model")}


def _sha(*parts: bytes) -> str:
    return hashlib.sha256(b"|".join(parts)).hexdigest()


def _choose(source: str) -> None:
    st.session_state[SOURCE] = source
    if source == "example":
        st.session_state[FIRST_EXAMPLE] = True


def _start(source: str) -> None:
    """The first step: an example patient in one click, or your own files."""
    with st.container(border=True):
        left, right = st.columns(2)
        with left:
            st.markdown(tr("**New here? Try an example patient**"))
            st.caption(tr("A held-back patient of the reference cohort (the models never trained on them), with their "
                          "profile and clinical record: one click, then Analyse."))
            st.button(tr("Try an example patient"), type="primary", icon=":material/person_search:", key="try_example",
                      on_click=_choose, args=("example",))
        with right:
            st.markdown(tr("**Or analyse your own files**"))
            st.caption(tr("An expression profile, a clinical record, or both."))
            st.button(tr("Upload your own files"), icon=":material/upload_file:", key="use_upload",
                      on_click=_choose, args=("upload",), disabled=source == "upload")
            example_downloads()


def _uploaded(spec) -> tuple[UploadResult, str] | None:
    with st.form("patient_upload", border=True):
        expression = st.file_uploader(
            tr("Expression profile (CSV, TSV, TXT, gzipped, XLSX or .h5ad; genes as rows or columns)"),
            type=["csv", "tsv", "txt", "gz", "xlsx", "h5ad"], key="expression_file",
        )
        records = st.file_uploader(tr("Clinical record (optional: CSV, JSON or FHIR R4 Bundle)"),
                                   type=["csv", "json", "gz"], key="records_file")
        orientation = ORIENTATIONS[st.radio(tr("Where are the genes in the profile?"), list(ORIENTATIONS), format_func=tr,
                                            horizontal=True, key="orientation")]
        st.form_submit_button(tr("Check files"), icon=":material/fact_check:", key="check_files", type="primary")
    if expression is None and records is None:
        st.write(tr("Upload a profile, a clinical record, or both to begin (a record alone is answered by the "
                    "clinical-only model), then press Check files. The analysis runs only on input that passes "
                    "validation."))
        return None
    data = expression.getvalue() if expression is not None else None
    rec = records.getvalue() if records is not None else None
    if demo_mode_on() and not upload_within_limit(len(data or b"") + len(rec or b"")):
        st.error(UPLOAD_TOO_LARGE.format(limit=MAX_UPLOAD_MB))
        return None
    key = _sha(data or b"", rec or b"", orientation.encode(), spec.id.encode(),
               (expression.name if expression else "").encode(), (records.name if records else "").encode())
    if st.session_state.get(UPLOAD_KEY) != key:
        with st.spinner(tr("Checking the files…")):
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

    with st.spinner(tr("Loading the example patients (the first time, the cohort's treatment model is trained: up "
                       "to a minute)…"), show_time=True):
        ids = example_patients(spec)
    if not ids:
        st.info(tr("This reference cohort has no held-back example patients: upload your own files instead."))
        return None
    if st.session_state.pop(FIRST_EXAMPLE, False) or st.session_state.get("example_patient") not in ids:
        st.session_state["example_patient"] = ids[0]
    chosen = st.selectbox(tr("Example patient (held back from the model's training; choose another if you like)"), ids,
                          key="example_patient")
    key = _sha(b"example", spec.id.encode(), str(chosen).encode())
    if st.session_state.get(UPLOAD_KEY) != key:
        with st.spinner(tr("Loading the example patient…")):
            st.session_state[UPLOAD] = example_upload(spec, chosen)
        st.session_state[UPLOAD_KEY] = key
    return st.session_state[UPLOAD], key


def _one_sample(result: UploadResult) -> UploadResult:
    """A multi-sample upload: the user picks the patient to analyse."""
    if result.adata is None or result.adata.n_obs <= 1:
        return result
    names = [str(n) for n in result.adata.obs_names]
    chosen = st.selectbox(tr("This file holds {count} samples: the patient to analyse", count=len(names)), names,
                          key="sample_choice")
    return UploadResult(result.adata[[names.index(chosen)]].copy(), result.report, result.record)


def _entered(spec) -> dict:
    """The clinical values the form holds now (None: blank)."""
    values = {}
    for f in spec.clinical:
        v = st.session_state.get(f"clin_{f.name}")
        values[f.name] = None if v is None or v == "unknown" else v
    return values


def _plan(spec, upload: UploadResult) -> tuple[dict, object] | None:
    """Which model will answer, said before Analyse (the first time, the treatment model is loaded or trained)."""
    try:
        with st.spinner(tr("Loading the cohort's treatment model (the first time it is trained: up to a minute)…"),
                        show_time=True):
            plan, features = model_plan(spec, upload, _entered(spec))
    except (InputError, ModelError) as exc:
        st.warning(plain(translate_error(getattr(exc, "message", None) or str(exc))))
        return None
    title = tr(VARIANT_TITLES.get(str(plan.get("variant")), N_("The model")))
    st.info(tr("**Which model will answer: {model}.**", model=plain(title))
            + f" {plain(translate_error(str(plan.get('sentence') or '')))}",
            icon=":material/model_training:")
    return plan, features


def _inputs(spec, upload: UploadResult, planned: tuple[dict, object] | None) -> tuple[dict, dict, str, bool, bool]:
    """Clinical fields, current or planned regimen and baseline, entered in one form (analysed on submit)."""
    with st.form("patient_inputs", border=True):
        st.subheader(tr("Clinical fields"), anchor=False)
        lines = []
        if planned is not None:
            plan, features = planned
            lines = filled_lines(spec, _entered(spec), numeric=dict(features.numeric_),
                                 categorical=dict(features.categorical_), variant=str(plan.get("variant")))
        if lines:
            st.caption(tr("From the record or the file; fill in what you know. A field still blank when you press "
                          "Analyse is handled as follows: {lines}.", lines=plain("; ".join(lines))))
        else:
            st.caption(tr("From the record or the file; check them, then press Analyse."))
        clinical = clinical_form(spec, known={})  # values from form_values, through the session state
        regimen: dict[str, int] = {}
        if spec.treatments:
            st.caption(tr("Current or planned treatment (the risk estimate is for this regimen):"))
            cols = st.columns(len(spec.treatments) + 1)
            for col, t in zip(cols, spec.treatments, strict=False):
                regimen[t] = int(col.checkbox(regimen_label(t), key=f"regimen_{t}"))
            baseline = cols[-1].selectbox(tr("Compare options against"), list(BASELINES), format_func=lambda b: tr(BASELINES[b]),
                                          key="patient_baseline")
        else:
            baseline = "none"
        confirmed = True
        if upload.needs_confirmation:
            confirmed = st.checkbox(tr("I have read the low-coverage warning above and want this profile analysed "
                                       "anyway"), key="coverage_confirm")
        submitted = st.form_submit_button(tr("Analyse"), type="primary", icon=":material/play_arrow:",
                                          key=ANALYSE_KEY)
    return clinical, regimen, baseline, submitted, confirmed


def _analyse(spec, result: UploadResult, owner: str, clinical: dict, regimen: dict, baseline: str) -> None:
    from dashboard.ui.model_cache import build_analysis  # lazy: start-up cost (models stack)

    for name in (ANALYSIS, ANALYSIS_OWNER):
        st.session_state.pop(name, None)
    with st.status(tr("Analysing the patient…"), expanded=True) as status:
        try:
            analysis = build_analysis(result, spec=spec, clinical=clinical, regimen=regimen, baseline=baseline,
                                      user=user.username,
                                      progress=lambda line: status.write(tr(line)))
            auth.log_action("analysis", cohort_id=spec.id, input_sha256=analysis.inputs_sha256.get("expression", ""),
                            model_id=analysis.model_id, bundle_sha256=analysis.bundle_sha256,
                            subject=analysis.patient_id, detail=f"baseline {baseline}")
        except (InputError, ModelError, StoreError, AuditError) as exc:
            status.update(label=tr("The analysis could not be completed"), state="error", expanded=False)
            st.error(plain(translate_error(getattr(exc, "message", None) or str(exc))))
            _audit_failure(spec, "analysis refused")
            return
        except Exception:  # noqa: BLE001 (no traceback reaches the user; the server log has it)
            log.exception("patient analysis failed")
            status.update(label=tr("The analysis could not be completed"), state="error", expanded=False)
            st.error(tr("The analysis failed unexpectedly; the details are in the server log."))
            _audit_failure(spec, "analysis failed unexpectedly")
            return
        status.update(label=tr("Analysis ready"), state="complete", expanded=False)
    st.session_state[ANALYSIS] = analysis
    st.session_state[ANALYSIS_OWNER] = owner


def _audit_failure(spec, detail: str) -> None:
    try:
        auth.log_action("failure", outcome="error", cohort_id=spec.id, detail=detail)
    except AuditError:
        log.exception("audit of a failure failed")


@fragment
def _analysis_area(spec, upload: UploadResult, owner: str, corrections) -> None:
    """Which model answers, the clinical form, the analysis and its dashboard: a fragment, so Analyse reruns this
    part alone (the upload, its report and the record review above stay as they are, on the server and on
    screen)."""
    planned = _plan(spec, upload)
    if upload.needs_confirmation:
        st.warning(plain(translate_error(upload.report.confirmation)), icon=":material/warning:")
    clinical, regimen, baseline, submitted, confirmed = _inputs(spec, upload, planned)
    if submitted and not confirmed:
        st.error(tr("This profile is below the coverage floor: tick the confirmation in the form to analyse it "
                    "anyway."))
    elif submitted:
        keep_submitted([f"clin_{f.name}" for f in spec.clinical] + [f"regimen_{t}" for t in spec.treatments])
        _analyse(spec, upload, owner, corrected_inputs(spec, corrections, clinical), regimen, baseline)
        note_corrections(ANALYSIS, corrections)
    shown = st.session_state.get(ANALYSIS)
    if shown is not None and st.session_state.get(ANALYSIS_OWNER) == owner:
        render_analysis(shown, key_prefix="patient")
    elif not submitted:
        st.caption(tr("Check the fields above, then press Analyse."))
        if planned is not None and not upload.needs_confirmation:
            _prepare(spec, upload, corrected_inputs(spec, corrections, clinical), regimen, baseline)


def _prepare(spec, upload: UploadResult, clinical: dict, regimen: dict, baseline: str) -> None:
    """The form's analysis, started while the clinician reads it (Analyse with these inputs then only draws it)."""
    from dashboard.ui.model_cache import prepare_analysis  # lazy: start-up cost (models stack)

    try:
        prepare_analysis(upload, spec=spec, clinical=clinical, regimen=regimen, baseline=baseline,
                         user=user.username)
    except (InputError, ModelError) as exc:  # Analyse will analyse and report it the usual way
        log.info("analysis not prepared: %s", exc)


user = auth.require("patient")
st.title(tr("Patient"))
spec = current_cohort()
st.caption(tr("Reference cohort: {cohort}", cohort=plain(spec.display_name)))
source = st.session_state.setdefault(SOURCE, "upload")
_start(source)
try:
    picked = _example(spec) if source == "example" else _uploaded(spec)
except (InputError, ModelError, StoreError, AuditError) as exc:
    st.error(plain(translate_error(getattr(exc, "message", None) or str(exc))))
    picked = None

if picked is not None:
    upload, upload_key = picked
    show_report(upload.report)
    preload_result_elements()  # the charts' browser code loads while the user reads the form
    if upload.report.ok and upload.adata is not None:
        upload = _one_sample(upload)
        owner = _sha(upload_key.encode(), str(upload.adata.obs_names[0]).encode())  # this upload and sample
        if st.session_state.get(INPUTS_OWNER) != owner:
            # a new patient: the form starts from its file and record (set through the session state, so that
            # the browser's widgets follow; their defaults stay empty)
            start_form(form_values(spec, upload.adata.obs.iloc[0].to_dict()))
            st.session_state.pop("coverage_confirm", None)
            st.session_state[INPUTS_OWNER] = owner
        corrections = record_review(spec, upload.record, key=owner)  # the review step: before the form
        if not st.session_state.get(ANALYSE_KEY):  # Analyse pressed: the form's submitted values stand
            hold_form_values()
        _analysis_area(spec, upload, owner, corrections)
