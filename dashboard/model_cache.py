"""Default model bundles for the app: picked up from ONCOTX_HOME or trained on first use."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import loaders
from genomics.settings import get_settings
from genomics.spec import CohortSpec
from models.registry import Bundle, default_bundle_path, load_bundle

DEFAULT_KIND = "ensemble"  # predictions with intervals
TREATMENT_KIND = "effects"  # the treatment-effect engine (competing risks, bootstrap intervals)


def bundle_path(spec: CohortSpec, endpoint: str) -> Path:
    return default_bundle_path(spec.id, endpoint, DEFAULT_KIND, models_dir=get_settings().models_dir)


@st.cache_resource(show_spinner="Loading model…", max_entries=16)
def _load(path: str, manifest_mtime: float) -> Bundle:
    """A verified bundle, shared read-only across sessions (keyed by its manifest's mtime)."""
    return load_bundle(Path(path))


def existing_bundle(spec: CohortSpec, endpoint: str) -> Bundle | None:
    path = bundle_path(spec, endpoint)
    manifest = path / "manifest.json"
    return _load(str(path), manifest.stat().st_mtime) if manifest.is_file() else None


def train_default(spec: CohortSpec, endpoint: str) -> Bundle:
    """Train the default model with progress shown; atomic, so a concurrent reader never sees half a bundle."""
    from models.training import train_bundle

    with st.status(f"Training the default model for {spec.display_name} · {endpoint}…", expanded=True) as status:
        bundle = train_bundle(loaders.cohort(spec.id), endpoint=endpoint, kind=DEFAULT_KIND,
                              out=bundle_path(spec, endpoint), progress=status.write)
        status.update(label="Default model trained", state="complete", expanded=False)
    return existing_bundle(spec, endpoint) or bundle


def treatment_endpoint(spec: CohortSpec) -> str:
    """Overall survival where the cohort has it (the engine splits it by cause), else the first endpoint."""
    names = [ep.name for ep in spec.endpoints]
    return "OS" if "OS" in names else names[0]


@st.cache_resource(show_spinner=False, max_entries=8)
def _treatment_bundle(cohort_id: str, path: str) -> Bundle:
    from models.training import train_bundle

    folder = Path(path)
    if not (folder / "manifest.json").is_file():
        spec = loaders.cohort_summary(cohort_id).spec
        train_bundle(loaders.cohort(cohort_id), endpoint=treatment_endpoint(spec), kind=TREATMENT_KIND, out=folder)
    return load_bundle(folder)


def treatment_bundle(spec: CohortSpec) -> Bundle:
    """The cohort's treatment-effect model: the one chosen in the Model lab (a treatment-effect bundle), else the
    default under ONCOTX_HOME, trained once per process when absent (seconds)."""
    from dashboard import jobs

    endpoint = treatment_endpoint(spec)
    chosen = jobs.preferred_bundle(spec.id, endpoint)
    if chosen is not None:
        bundle = _load(str(chosen), (chosen / "manifest.json").stat().st_mtime)
        if bundle.card.model_kind == TREATMENT_KIND:
            return bundle
    path = default_bundle_path(spec.id, endpoint, TREATMENT_KIND, models_dir=get_settings().models_dir)
    return _treatment_bundle(spec.id, str(path))


@st.cache_resource(show_spinner=False, max_entries=8)
def _analysis_context(cohort_id: str, bundle_sha: str, with_map: bool):
    from dashboard.patient_analysis import make_context

    spec = loaders.cohort_summary(cohort_id).spec
    return make_context(spec, loaders.cohort(cohort_id), treatment_bundle(spec), with_map=with_map)


def analysis_context(spec: CohortSpec, *, progress=None, with_map: bool | None = None):
    """Evidence model, cohort risks and reference map of the cohort, shared read-only by every session."""
    import os

    if progress is not None:
        progress(f"loading the treatment model and reference data for {spec.display_name}")
    bundle = treatment_bundle(spec)
    if with_map is None:
        with_map = os.environ.get("ONCOTX_NO_MAP", "") != "1"
    return _analysis_context(spec.id, bundle.sha256, with_map)
