"""The research pages' cached computations (``st.cache_data``): what the Cohort page and the Model lab compute
once per cohort, model or selection and then read.

Each wraps a pure function of :mod:`dashboard.cohort` or :mod:`dashboard.modelling`; the keys are ids, paths
with their manifest's mtime, and the selection itself, so a retrained model or another selection recomputes.
"""
from __future__ import annotations

from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from dashboard.cohort import explore, tables
from dashboard.cohort.tables import CLUSTER, RISK
from dashboard.i18n import N_
from dashboard.modelling import bundles, lab
from dashboard.ui import loaders
from dashboard.ui.caching import cache_data
from genomics.de import differential_expression_masks
from genomics.errors import InputError
from genomics.preprocess import preprocessed_cohort
from genomics.spec import CohortSpec
from models.registry import load_bundle

# --- the Cohort page -----------------------------------------------------------------------------------------


@cache_data(N_("Computing PCA, UMAP and clusters (first time only; about a minute)…"), max_entries=8)
def embedding_table(cohort_id: str) -> pd.DataFrame:
    """UMAP and PCA coordinates and the Leiden cluster per patient (cached on disk under ONCOTX_HOME too)."""
    return tables.embedding_table(preprocessed_cohort(cohort_id))


@cache_data(N_("Scoring pathways…"), max_entries=8)
def pathway_scores(cohort_id: str) -> tuple[pd.DataFrame, list[str]]:
    """Module scores and Hallmark scores per patient (whichever can be computed), with notes."""
    return tables.pathway_scores(loaders.cohort(cohort_id))


@cache_data(N_("Scoring patients with the model…"), max_entries=8)
def model_risk(cohort_id: str, bundle_path: str, manifest_mtime: float) -> pd.Series:
    return bundles.cohort_risk(load_bundle(bundle_path), loaders.cohort(cohort_id))


@cache_data(N_("Kaplan-Meier, log-rank and Cox…"), max_entries=32)
def group_survival(time: np.ndarray, event: np.ndarray, groups: pd.Series, reference: str | None,
                   landmark_at: float) -> explore.GroupSurvival:
    return explore.compare_groups(time, event, groups, reference=reference, landmark_at=landmark_at)


@cache_data(N_("Differential expression…"), max_entries=16)
def de_table(cohort_id: str, mask_a: np.ndarray, mask_b: np.ndarray, method: str, labels: tuple[str, str]):
    return differential_expression_masks(loaders.cohort(cohort_id), mask_a=mask_a, mask_b=mask_b, method=method,
                                         labels=labels)


def cohort_values(spec: CohortSpec, adata: ad.AnnData, key: str, *, endpoint: str) -> pd.Series:
    """A variable's values for every patient (index: ``obs_names``): the expression cluster and the model risk
    (of the Patient page's model for ``endpoint``) computed on first use, anything else from the cohort.
    :class:`~genomics.errors.InputError` when they cannot be had (no model trained yet, cohort too small)."""
    ids = adata.obs_names.astype(str)
    if key == CLUSTER:
        return embedding_table(spec.id)[CLUSTER].reindex(ids).set_axis(adata.obs_names)
    if key == RISK:
        path = bundles.page_bundle_path(spec, endpoint)
        if path is None:
            raise InputError(f"No model is trained for {endpoint} yet: train one in the Model lab.")
        return model_risk(spec.id, str(path), (path / "manifest.json").stat().st_mtime).reindex(ids).set_axis(
            adata.obs_names)
    return explore.variable_values(adata, spec, key)


# --- the Model lab -------------------------------------------------------------------------------------------


@cache_data(N_("Scoring the held-back patients…"), max_entries=32)
def predictions(cohort_id: str, bundle_path: str, manifest_mtime: float,
                horizons: tuple[float, ...] = (60.0, 120.0)) -> lab.HeldBack:
    return lab.held_back(load_bundle(Path(bundle_path)), loaders.cohort(cohort_id), horizons=horizons)


@cache_data(N_("Bootstrapping the metrics…"), max_entries=32)
def comparison(cohort_id: str, chosen: tuple[tuple[str, str, float], ...], horizon: float, n_boot: int,
               horizons: tuple[float, ...] = (60.0, 120.0)) -> lab.Comparison:
    """:func:`dashboard.modelling.lab.compare_on_cohort` of the chosen (label, bundle path, mtime) models."""
    held = {label: predictions(cohort_id, path, mtime, horizons) for label, path, mtime in chosen}
    return lab.compare_on_cohort(held, loaders.cohort_summary(cohort_id).spec, horizon=horizon, n_boot=n_boot)


@cache_data(N_("Computing PREDICT v2.1 on the cohort…"), max_entries=16)
def predict_reference(cohort_id: str) -> tuple[dict, pd.DataFrame]:
    """PREDICT v2.1 against each endpoint of the cohort, and its per-patient estimates (models.predict_breast)."""
    return lab.predict_reference(loaders.cohort(cohort_id))
