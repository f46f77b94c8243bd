"""Survival estimates for uploaded patients from a verified bundle, always with the model's interval."""
from __future__ import annotations

from dataclasses import dataclass

import anndata as ad
import numpy as np

from models.registry import Bundle


@dataclass(frozen=True)
class SurvivalEstimate:
    """S(t) per sample at ``times`` with a resampling interval (NaN bounds for a single model)."""

    sample_ids: tuple[str, ...]
    times: tuple[float, ...]
    point: np.ndarray  # samples × times
    lo: np.ndarray
    hi: np.ndarray
    risk: np.ndarray  # log-hazard per sample
    filled: dict[str, tuple[str, ...]]  # fields the model had to fill per sample (shown to the user)
    gene_coverage: float
    expression_mode: str
    model_id: str
    bundle_sha256: str

    @property
    def has_interval(self) -> bool:
        return bool(np.isfinite(self.lo).all() and np.isfinite(self.hi).all())


def estimate_survival(bundle: Bundle, adata: ad.AnnData, *, times: tuple[float, ...] = (60.0, 120.0)) -> SurvivalEstimate:
    """Features → S(t) (+ interval when the model is an ensemble) for every sample of ``adata``."""
    frame = bundle.features.transform(adata)
    grid = np.asarray(times, dtype=np.float64)
    model = bundle.model
    if hasattr(model, "predict_survival_interval"):
        point, lo, hi = model.predict_survival_interval(frame.X, grid)
    else:
        point = model.predict_survival(frame.X, grid)
        lo = hi = np.full_like(point, np.nan)
    return SurvivalEstimate(
        sample_ids=frame.sample_ids, times=tuple(float(t) for t in grid), point=point, lo=lo, hi=hi,
        risk=model.predict_risk(frame.X), filled=frame.filled, gene_coverage=frame.gene_coverage,
        expression_mode=frame.expression_mode, model_id=bundle.card.model_id, bundle_sha256=bundle.sha256,
    )
