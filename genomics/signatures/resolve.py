"""What a signature compares the samples with: a reference cohort, the samples themselves, or a platform reference
(:func:`resolve_reference`, the order is in :mod:`genomics.signatures`), and the shared value helpers."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from genomics.errors import InputError
from genomics.platforms import PlatformReference, platform_values, reference_for
from genomics.preprocess import to_log_scale
from genomics.scale import detect_scale
from genomics.spec import PROVENANCE_KEY

#: Smallest cohort that may serve as its own reference (its gene medians / means / ranges).
MIN_SELF_REFERENCE = 20
LOG_SCALES = ("log", "zscore")


def scale_of(adata: ad.AnnData) -> str:
    scale = adata.uns.get(PROVENANCE_KEY, {}).get("scale")
    return str(scale) if scale else detect_scale(dense(adata.X))[0]


def dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=float)


def gene_values(adata: ad.AnnData, genes: Sequence[str]) -> pd.DataFrame:
    """Samples × genes (float64, NaN where absent or not finite) for the requested genes, in order."""
    idx = adata.var_names.get_indexer(list(genes))
    out = np.full((adata.n_obs, len(genes)), np.nan)
    found = idx >= 0
    if found.any():
        out[:, found] = dense(adata.X[:, idx[found]])
    out[~np.isfinite(out)] = np.nan
    return pd.DataFrame(out, index=adata.obs_names, columns=list(genes))


def check_scales(adata: ad.AnnData, reference: ad.AnnData | None, use: str) -> str:
    scale = scale_of(adata)
    if scale not in LOG_SCALES:
        raise InputError(f"{use} needs log-scale or z-score expression, not {scale}: preprocess the data first.")
    if reference is not None and (ref_scale := scale_of(reference)) != scale:
        raise InputError(f"{use}: the sample is on the {scale} scale but the reference cohort on {ref_scale}; "
                         "both must be on the same scale and platform.")
    return scale


def reference_values(adata: ad.AnnData, reference: ad.AnnData | None, genes: Sequence[str], use: str) -> pd.DataFrame:
    """The reference cohort's values for ``genes``: the reference, else the cohort itself when large enough."""
    if reference is not None:
        return gene_values(reference, genes)
    if adata.n_obs >= MIN_SELF_REFERENCE:
        return gene_values(adata, genes)
    raise InputError(f"{use} of {adata.n_obs} sample(s) needs a reference cohort on the same platform "
                     f"(or at least {MIN_SELF_REFERENCE} samples to serve as their own reference).")


Reference = ad.AnnData | PlatformReference | None


@dataclass(frozen=True)
class Resolved:
    """Sample values and reference values for some genes, on one scale, and how they got there."""

    x: pd.DataFrame  # samples × genes (the samples' values, on the reference's scale)
    ref: pd.DataFrame | None  # reference samples × genes; None: z-scores used as they are (centred already)
    ref_obs: pd.DataFrame | None  # the reference samples' clinical fields (for ER-balanced centring)
    scale: str  # "log" or "zscore"
    label: str  # which reference, in words
    mode: str  # self | cohort | zscore | standardise | quantile (platform reference)


def log_copy(adata: ad.AnnData) -> ad.AnnData:
    """``adata`` on a log scale (a copy when counts/TPM need transforming; never logged twice)."""
    if scale_of(adata) in LOG_SCALES:
        return adata
    work = adata.copy()
    work.X = dense(work.X).astype(np.float32)
    work.uns.setdefault(PROVENANCE_KEY, {}).setdefault("scale", scale_of(adata))
    to_log_scale(work)
    work.uns[PROVENANCE_KEY]["scale"] = "log"
    return work


def _platform_resolved(adata: ad.AnnData, platform: PlatformReference, genes: Sequence[str], label: str) -> Resolved:
    x, mode = platform_values(adata, genes, reference=platform)
    ref = platform.values.reindex(columns=list(genes)).astype(float)
    obs = platform.obs.reindex(ref.index) if platform.obs is not None else None
    return Resolved(x.set_axis(adata.obs_names), ref, obs, platform.scale, label, mode)


def resolve_reference(adata: ad.AnnData, reference: Reference, genes: Sequence[str], use: str) -> Resolved:
    """Where the comparison values come from (see the module docstring for the order)."""
    genes = list(genes)
    if isinstance(reference, PlatformReference):
        return _platform_resolved(adata, reference, genes, reference.name)
    if reference is not None:
        scale = check_scales(adata, reference, use)
        cohort = reference.uns.get(PROVENANCE_KEY, {}).get("cohort")
        label = f"the reference cohort {cohort}" if cohort else "the given reference cohort"
        return Resolved(gene_values(adata, genes), gene_values(reference, genes), reference.obs, scale, label,
                        "cohort")
    scale = scale_of(adata)
    if adata.n_obs >= MIN_SELF_REFERENCE:
        work = log_copy(adata)
        x = gene_values(work, genes)
        if scale == "zscore":
            return Resolved(x, None, None, "zscore", "the samples' own cohort (z-scores, used as they are)", "zscore")
        return Resolved(x, x, adata.obs, "log", f"the {adata.n_obs} samples themselves", "self")
    if scale == "zscore":  # already centred per gene by the uploader's own cohort
        return Resolved(gene_values(adata, genes), None, None, "zscore",
                         "the uploader's own cohort (z-scores, used as they are)", "zscore")
    platform, call = reference_for(adata)
    if platform is None:
        raise InputError(f"{use} of {adata.n_obs} sample(s) needs a reference cohort on the same platform "
                         f"(or at least {MIN_SELF_REFERENCE} samples to serve as their own reference); "
                         f"no platform reference applies: {call.reason}")
    return _platform_resolved(adata, platform, genes, f"{platform.name} (platform reference: {call.reason})")
