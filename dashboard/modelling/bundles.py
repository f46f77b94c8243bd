"""Model bundles on disk for the app: the default bundles of a cohort, the lab's bundles, and scoring a cohort.

The default model of a cohort and endpoint lives under ``ONCOTX_HOME/models`` (:func:`default_path`), the
treatment-effect model the Patient page needs under its own kind (:func:`treatment_path`); both are trained on
first use (:func:`train_default`, :func:`train_treatment`). :func:`list_bundles` reads model cards without
loading a model. No Streamlit here: :mod:`dashboard.ui.model_cache` caches what these return.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from dashboard.modelling.jobs import LAB_FOLDER
from dashboard.modelling.preferences import preferred_bundle
from genomics.settings import Settings, get_settings
from genomics.spec import CohortSpec
from models.registry import Bundle, default_bundle_path
from models.training import Progress, train_bundle

DEFAULT_KIND = "ensemble"  # predictions with intervals
TREATMENT_KIND = "effects"  # the treatment-effect engine (competing risks, bootstrap intervals)


def default_path(spec: CohortSpec, endpoint: str) -> Path:
    """Where the cohort's default model for ``endpoint`` lives (under ONCOTX_HOME/models)."""
    return default_bundle_path(spec.id, endpoint, DEFAULT_KIND, models_dir=get_settings().models_dir)


def treatment_endpoint(spec: CohortSpec) -> str:
    """Overall survival where the cohort has it (the engine splits it by cause), else the first endpoint."""
    names = [ep.name for ep in spec.endpoints]
    return "OS" if "OS" in names else names[0]


def treatment_path(spec: CohortSpec) -> Path:
    """Where the cohort's default treatment-effect model lives (under ONCOTX_HOME/models)."""
    return default_bundle_path(spec.id, treatment_endpoint(spec), TREATMENT_KIND, models_dir=get_settings().models_dir)


def train_default(cohort: ad.AnnData, spec: CohortSpec, endpoint: str, *, progress: Progress | None = None) -> Bundle:
    """Train the cohort's default model for ``endpoint`` into :func:`default_path` (atomic)."""
    return train_bundle(cohort, endpoint=endpoint, kind=DEFAULT_KIND, out=default_path(spec, endpoint),
                        progress=progress)


def train_treatment(cohort: ad.AnnData, spec: CohortSpec, folder: Path) -> Bundle:
    """Train the cohort's treatment-effect model into ``folder`` (atomic)."""
    return train_bundle(cohort, endpoint=treatment_endpoint(spec), kind=TREATMENT_KIND, out=folder)


def page_bundle_path(spec: CohortSpec, endpoint: str) -> Path | None:
    """The bundle the Patient page uses for this endpoint: chosen in the Model lab, else the default (None when
    neither has been trained)."""
    path = preferred_bundle(spec.id, endpoint) or default_path(spec, endpoint)
    return path if (path / "manifest.json").is_file() else None


def cohort_risk(bundle: Bundle, adata: ad.AnnData) -> pd.Series:
    """The model's risk score of every patient of ``adata`` (index: patient ids as text; name: the model id)."""
    risk = bundle.model.predict_risk(bundle.features.transform(adata).X)
    return pd.Series(np.asarray(risk, dtype=float), index=adata.obs_names.astype(str), name=bundle.card.model_id)


@dataclass(frozen=True)
class BundleInfo:
    """A bundle on disk, described by its model card (read without loading the model)."""

    path: Path
    card: dict

    @property
    def label(self) -> str:
        c = self.card.get("metrics", {}).get("harrell_c", {}).get("value")
        score = f", C {c:.3f}" if isinstance(c, int | float) else ""
        return f"{self.card.get('model_kind', '?')} · {self.card.get('created', '')[:16]}{score} · {self.path.name}"


def list_bundles(cohort_id: str, endpoint: str | None = None, *, settings: Settings | None = None,
                 external: bool = False) -> list[BundleInfo]:
    """Bundles under ONCOTX_HOME/models (default models and lab models) for a cohort (and endpoint), newest first;
    ``external=True``: the bundles trained on every *other* cohort instead (for external validation)."""
    root = (settings or get_settings()).models_dir
    out = []
    for card_path in [*root.glob("*/model_card.json"), *root.glob(f"{LAB_FOLDER}/*/model_card.json")]:
        folder = card_path.parent
        if folder.name.startswith(".") or not (folder / "manifest.json").is_file():
            continue  # a bundle being written (temporary folder) or not a bundle
        try:
            card = json.loads(card_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if (card.get("cohort_id") == cohort_id) == external:
            continue
        if endpoint is not None and str(card.get("endpoint", "")).lower() != endpoint.lower():
            continue
        out.append(BundleInfo(folder, card))
    return sorted(out, key=lambda b: str(b.card.get("created", "")), reverse=True)


def effect_modifiers(folder: Path) -> pd.DataFrame | None:
    """The single-gene modifiers a treatment-effect bundle's screen found (models.gene_screen), one row per
    treatment x gene, from the model's metadata (no model is loaded); None for a bundle of another kind or one
    trained before the screen."""
    meta = Path(folder) / "model" / "effects_meta.json"
    if not meta.is_file():
        return None
    data = json.loads(meta.read_text(encoding="utf-8"))
    if "screen" not in data:
        return None
    rows = [{"treatment": h["treatment"], "gene": str(h["gene"]).removeprefix("gene:"), "z": round(float(h["z"]), 2),
             "q": float(h["q"]), "stability": h.get("stability")} for h in data["screen"]]
    return pd.DataFrame(rows, columns=["treatment", "gene", "z", "q", "stability"])
