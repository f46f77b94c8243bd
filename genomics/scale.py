"""Detect the scale of an expression matrix: counts, TPM/FPKM (linear), log, or z-score.

The scale is recorded in provenance so that no step ever log-transforms twice.
"""
from __future__ import annotations

import numpy as np

SCALE_LABELS = {
    "counts": "raw counts (RNA-seq)",
    "tpm": "linear, non-integer (TPM/FPKM or unlogged intensities)",
    "log": "log scale (log2 intensities or log-transformed RNA-seq)",
    "zscore": "centred (z-scores or log-ratios)",
}


def detect_scale(values: np.ndarray) -> tuple[str, str]:
    """Return (scale, reason) from the finite values of a matrix (any shape)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0:
        return "log", "no finite values"
    if v.size > 200_000:  # a deterministic subsample is enough to judge a scale
        v = v[:: v.size // 200_000 + 1]
    vmin, vmax, median = float(v.min()), float(v.max()), float(np.median(v))
    q99 = float(np.quantile(v, 0.99))
    integer_frac = float(np.mean(np.abs(v - np.round(v)) < 1e-6))
    neg_frac = float(np.mean(v < 0))
    if vmin < 0:
        if integer_frac > 0.98 and vmax > 50:
            return "counts", f"integer values up to {vmax:.0f} (with negatives)"
        if neg_frac > 0.2 and abs(median) < 1.0:
            return "zscore", f"values centred near 0, median {0.0 if abs(median) < 0.005 else median:.2f}, {neg_frac:.0%} negative"
        return "log", f"mostly positive values up to {vmax:.1f} with some negatives"
    if integer_frac > 0.98 and vmax > 50:
        return "counts", f"non-negative integers up to {vmax:.0f}"
    if q99 > 50 or vmax > 1000:
        return "tpm", f"non-negative non-integer values up to {vmax:.0f} (99th percentile {q99:.0f})"
    return "log", f"values between {vmin:.1f} and {vmax:.1f}"
