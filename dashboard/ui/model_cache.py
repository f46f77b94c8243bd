"""The app's per-process model caches (``st.cache_resource``): default bundles, the treatment-effect model, and
the analysis context every Patient page analysis of a cohort shares.

What is cached per process is read-only and holds no patient data; a patient's results are cached only in their
browser session (:func:`build_analysis`). The training and loading are in
:mod:`dashboard.modelling.bundles` and :mod:`models.registry`; the analysis in :mod:`dashboard.patient.service`.
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import streamlit as st
from streamlit.runtime.scriptrunner import get_script_run_ctx

from dashboard.i18n import N_, tr
from dashboard.modelling import bundles
from dashboard.modelling.preferences import preferred_bundle
from dashboard.patient import service
from dashboard.patient.record import PatientAnalysis
from dashboard.platform import demo_mode
from dashboard.ui import loaders
from dashboard.ui.caching import cache_resource
from genomics.errors import InputError
from genomics.jsonsafe import json_safe
from genomics.spec import CohortSpec
from genomics.validate import UploadResult
from models.registry import Bundle, load_bundle

RESULTS_KEY, RESULTS_KEPT = "analysis_results", 4  # this session's recent analyses, by analysis_key
PREPARED_KEY = "analysis_prepared"  # session: (analysis_key, future) of the form's analysis started before Analyse
#: One prepared analysis at a time per server process: it uses time the server would spend waiting while a
#: clinician reads the form; one still queued when Analyse comes is dropped and computed in the run instead.
_PREPARER = ThreadPoolExecutor(max_workers=1, thread_name_prefix="oncotx-prepare")


@cache_resource(N_("Loading model…"), max_entries=16)
def _load(path: str, manifest_mtime: float) -> Bundle:
    """A verified bundle, shared read-only across sessions (keyed by its manifest's mtime)."""
    return load_bundle(Path(path))


def load_bundle_at(path: Path) -> Bundle:
    """The bundle in ``path`` (which holds a manifest), through the shared cache."""
    return _load(str(path), (path / "manifest.json").stat().st_mtime)


def existing_bundle(spec: CohortSpec, endpoint: str) -> Bundle | None:
    path = bundles.default_path(spec, endpoint)
    manifest = path / "manifest.json"
    return _load(str(path), manifest.stat().st_mtime) if manifest.is_file() else None


def train_default(spec: CohortSpec, endpoint: str) -> Bundle:
    """Train the default model with progress shown; atomic, so a concurrent reader never sees half a bundle."""
    with st.status(tr("Training the default model for {cohort} · {endpoint}…", cohort=spec.display_name,
                      endpoint=endpoint), expanded=True) as status:
        bundle = bundles.train_default(loaders.cohort(spec.id), spec, endpoint, progress=status.write)
        status.update(label=tr("Default model trained"), state="complete", expanded=False)
    return existing_bundle(spec, endpoint) or bundle


@st.cache_resource(show_spinner=False, max_entries=8)
def _treatment_bundle(cohort_id: str, path: str) -> Bundle:
    folder = Path(path)
    if not (folder / "manifest.json").is_file():
        bundles.train_treatment(loaders.cohort(cohort_id), loaders.cohort_summary(cohort_id).spec, folder)
    return load_bundle(folder)


def treatment_bundle(spec: CohortSpec) -> Bundle:
    """The cohort's treatment-effect model: the one chosen in the Model lab (a treatment-effect bundle), else the
    default under ONCOTX_HOME, trained once per process when absent (seconds)."""
    chosen = preferred_bundle(spec.id, bundles.treatment_endpoint(spec))
    if chosen is not None:
        bundle = _load(str(chosen), (chosen / "manifest.json").stat().st_mtime)
        if bundle.card.model_kind == bundles.TREATMENT_KIND:
            return bundle
    return _treatment_bundle(spec.id, str(bundles.treatment_path(spec)))


@st.cache_resource(show_spinner=False, max_entries=8)
def _analysis_context(cohort_id: str, bundle_sha: str, with_map: bool) -> service.AnalysisContext:
    spec = loaders.cohort_summary(cohort_id).spec
    return service.make_context(spec, loaders.cohort(cohort_id), treatment_bundle(spec), with_map=with_map)


def analysis_context(spec: CohortSpec, *, progress: service.Progress | None = None,
                     with_map: bool | None = None) -> service.AnalysisContext:
    """Evidence model, cohort risks and reference map of the cohort, shared read-only by every session."""
    if progress is not None:
        progress(tr("loading the treatment model and reference data for {cohort}", cohort=spec.display_name))
    bundle = treatment_bundle(spec)
    if with_map is None:
        with_map = os.environ.get("ONCOTX_NO_MAP", "") != "1"
    return _analysis_context(spec.id, bundle.sha256, with_map)


# ------------------------------------------------------------------------------------------------------
# The Patient page's entry points: the pure service with the cached context
# ------------------------------------------------------------------------------------------------------


def analysis_key(upload: UploadResult, *, spec: CohortSpec, clinical: dict[str, Any], regimen: dict[str, int],
                 baseline: str, bundle_sha256: str, user: str) -> str:
    """What an analysis depends on, hashed: the inputs' SHA-256 (expression and record), the sample and its parsed
    values, the clinical values, the regimen, the baseline, the cohort, the treatment model bundle's SHA-256 and
    the user."""
    prov = upload.adata.uns.get("oncotx", {}) if upload.adata is not None else {}
    record = getattr(upload.record, "facts", {}).get("sha256", "") if upload.record is not None else ""
    sample, values = "", ""
    if upload.adata is not None and upload.adata.n_obs:
        first = upload.adata[:1]  # the analysed sample, as parsed (a different orientation parses differently)
        sample = str(first.obs_names[0])
        matrix = first.X.toarray() if hasattr(first.X, "toarray") else np.asarray(first.X)
        values = hashlib.sha256(np.ascontiguousarray(matrix, dtype=np.float64).tobytes()
                                + "\x1f".join(map(str, first.var_names)).encode("utf-8")).hexdigest()
    parts = [str(prov.get("source_sha256", "")), str(record), sample, values, spec.id, bundle_sha256, baseline, user,
             json.dumps(json_safe(clinical), sort_keys=True, default=str), json.dumps(regimen, sort_keys=True)]
    return hashlib.sha256("\x1f".join(parts).encode("utf-8")).hexdigest()


def _session_results() -> OrderedDict | None:
    """This browser session's recent analyses (None outside a Streamlit run): they hold patient data, so they
    live in the session, never in a process-wide cache, and go with it (sign-out clears the session)."""
    if get_script_run_ctx() is None:
        return None
    return st.session_state.setdefault(RESULTS_KEY, OrderedDict())


def build_analysis(upload: UploadResult, *, spec: CohortSpec, clinical: dict[str, Any], regimen: dict[str, int],
                   baseline: str = "none", user: str = "demo",
                   progress: service.Progress | None = None) -> PatientAnalysis:
    """:func:`dashboard.patient.service.analyse` with the cached context of ``spec``'s cohort (trains the
    treatment model on first use).

    Results are cached per upload hash in this session (:func:`analysis_key`, the last :data:`RESULTS_KEPT`): an
    identical re-analysis (Analyse pressed again, a baseline switched back) returns the same result without
    recomputing it, as a shallow copy with a fresh ``created`` time (cheap: no array is copied; the result is
    read-only for its consumers), since ``created`` says when the analysis was asked for."""
    _demo_rate_limit()
    context = analysis_context(spec, progress=progress)
    results = _session_results()
    key = analysis_key(upload, spec=spec, clinical=clinical, regimen=regimen, baseline=baseline,
                       bundle_sha256=context.bundle.sha256, user=user)
    if results is not None and key in results:
        results.move_to_end(key)
        if progress is not None:
            progress(tr("the same inputs were analysed a moment ago in this session: showing that result"))
        return dataclasses.replace(results[key], created=datetime.now(UTC).isoformat(timespec="seconds"))
    analysis = _prepared(key)
    if analysis is not None:
        if progress is not None:
            progress(tr("analysed while the form was being read (the same inputs): showing that result"))
        analysis = dataclasses.replace(analysis, created=datetime.now(UTC).isoformat(timespec="seconds"))
    else:
        analysis = service.analyse(upload, context=context, clinical=clinical, regimen=regimen, baseline=baseline,
                                   user=user, progress=progress)
    if results is not None:
        results[key] = analysis
        while len(results) > RESULTS_KEPT:
            results.popitem(last=False)
    return analysis


def prepare_analysis(upload: UploadResult, *, spec: CohortSpec, clinical: dict[str, Any], regimen: dict[str, int],
                     baseline: str = "none", user: str = "demo") -> None:
    """Start the analysis of the form as it stands, in the background, while the clinician reads it: Analyse with
    the same inputs then only has to draw it (:func:`build_analysis` takes the result over). Nothing is shown,
    audited or counted against the demo's limit before Analyse is pressed; a changed form is analysed afresh on
    Analyse. The result stays in this session only, like every analysis (:func:`_session_results`). The public
    demo prepares nothing: its per-session analysis limit is what bounds a visitor's use of the server."""
    results = _session_results()
    if results is None or not upload.report.ok or upload.adata is None or demo_mode.demo_mode_on():
        return
    context = analysis_context(spec)
    key = analysis_key(upload, spec=spec, clinical=clinical, regimen=regimen, baseline=baseline,
                       bundle_sha256=context.bundle.sha256, user=user)
    held = st.session_state.get(PREPARED_KEY)
    if key in results or (held is not None and held[0] == key):
        return
    if held is not None:
        held[1].cancel()
    st.session_state[PREPARED_KEY] = (key, _PREPARER.submit(
        service.analyse, upload, context=context, clinical=dict(clinical), regimen=dict(regimen), baseline=baseline,
        user=user))


def _prepared(key: str) -> PatientAnalysis | None:
    """The analysis :func:`prepare_analysis` started for exactly these inputs (waited for if it is running), else
    None: none started, other inputs, still queued (dropped: computing it in this run is as quick) or failed
    (computed again by the caller, which shows the error the usual way)."""
    if get_script_run_ctx() is None:
        return None
    held = st.session_state.pop(PREPARED_KEY, None)
    if held is None:
        return None
    prepared_for, future = held
    if prepared_for != key:
        future.cancel()  # other inputs: not used (one already running finishes unseen)
        return None
    if future.cancel():  # still queued behind other sessions' work
        return None
    try:
        return future.result()
    except Exception:  # noqa: BLE001 (the caller analyses again and reports the error itself)
        return None


def _demo_rate_limit() -> None:
    """The public demo's per-session analysis limit (:func:`dashboard.platform.demo_mode.allow_analysis`)."""
    if not demo_mode.demo_mode_on():
        return
    ok, kept = demo_mode.allow_analysis(st.session_state.get("demo_analyses", []), time.monotonic())
    st.session_state["demo_analyses"] = kept
    if not ok:
        raise InputError(demo_mode.RATE_LIMITED.format(n=demo_mode.ANALYSES_PER_WINDOW,
                                                       minutes=int(demo_mode.RATE_WINDOW_S // 60)))


def example_patients(spec: CohortSpec, n: int = 20) -> list[str]:
    """Held-back test patients of the cohort's treatment model (never ones it trained on)."""
    return list(treatment_bundle(spec).card.test_patient_ids[:n])


def example_upload(spec: CohortSpec, patient_id: str) -> UploadResult:
    """A held-back cohort patient as if uploaded: expression plus clinical record, validated the usual way."""
    if patient_id not in example_patients(spec, n=10_000):
        raise InputError("Only held-back test patients can be used as examples.")
    return service.cohort_patient_upload(spec, loaders.cohort(spec.id), patient_id)
