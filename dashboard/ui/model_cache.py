"""The app's per-process model caches (``st.cache_resource``): default bundles, the treatment-effect model, and
the analysis context every Patient page analysis of a cohort shares.

What is cached is read-only and holds no patient data. The training and loading are in
:mod:`dashboard.modelling.bundles` and :mod:`models.registry`; the analysis in :mod:`dashboard.patient.service`.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import streamlit as st

from dashboard.modelling import bundles
from dashboard.modelling.preferences import preferred_bundle
from dashboard.patient import service
from dashboard.patient.record import PatientAnalysis
from dashboard.ui import loaders
from genomics.errors import InputError
from genomics.spec import CohortSpec
from genomics.validate import UploadResult
from models.registry import Bundle, load_bundle


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _load(path: str, manifest_mtime: float) -> Bundle:
    """A verified bundle, shared read-only across sessions (keyed by its manifest's mtime)."""
    return load_bundle(Path(path))


def existing_bundle(spec: CohortSpec, endpoint: str) -> Bundle | None:
    path = bundles.default_path(spec, endpoint)
    manifest = path / "manifest.json"
    return _load(str(path), manifest.stat().st_mtime) if manifest.is_file() else None


def train_default(spec: CohortSpec, endpoint: str) -> Bundle:
    """Train the default model with progress shown; atomic, so a concurrent reader never sees half a bundle."""
    with st.status(f"Training the default model for {spec.display_name} · {endpoint}…", expanded=True) as status:
        bundle = bundles.train_default(loaders.cohort(spec.id), spec, endpoint, progress=status.write)
        status.update(label="Default model trained", state="complete", expanded=False)
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
        progress(f"loading the treatment model and reference data for {spec.display_name}")
    bundle = treatment_bundle(spec)
    if with_map is None:
        with_map = os.environ.get("ONCOTX_NO_MAP", "") != "1"
    return _analysis_context(spec.id, bundle.sha256, with_map)


# ------------------------------------------------------------------------------------------------------
# The Patient page's entry points: the pure service with the cached context
# ------------------------------------------------------------------------------------------------------


def build_analysis(upload: UploadResult, *, spec: CohortSpec, clinical: dict[str, Any], regimen: dict[str, int],
                   baseline: str = "none", user: str = "demo",
                   progress: service.Progress | None = None) -> PatientAnalysis:
    """:func:`dashboard.patient.service.analyse` with the cached context of ``spec``'s cohort (trains the
    treatment model on first use)."""
    context = analysis_context(spec, progress=progress)
    return service.analyse(upload, context=context, clinical=clinical, regimen=regimen, baseline=baseline, user=user,
                           progress=progress)


def example_patients(spec: CohortSpec, n: int = 20) -> list[str]:
    """Held-back test patients of the cohort's treatment model (never ones it trained on)."""
    return list(treatment_bundle(spec).card.test_patient_ids[:n])


def example_upload(spec: CohortSpec, patient_id: str) -> UploadResult:
    """A held-back cohort patient as if uploaded: expression plus clinical record, validated the usual way."""
    if patient_id not in example_patients(spec, n=10_000):
        raise InputError("Only held-back test patients can be used as examples.")
    return service.cohort_patient_upload(spec, loaders.cohort(spec.id), patient_id)
