"""Default model bundles for the app: picked up from ONCOTX_HOME or trained on first use."""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from dashboard import loaders
from genomics.settings import get_settings
from genomics.spec import CohortSpec
from models.registry import Bundle, default_bundle_path, load_bundle

DEFAULT_KIND = "ensemble"  # predictions with intervals


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
