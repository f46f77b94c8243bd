"""Percentile bootstrap intervals of any metric, and of a concordance in one pass over all resamples."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any, NamedTuple

import numpy as np

from genomics.jsonsafe import json_safe
from models.metrics.concordance import concordance_counts, weighted_concordance

log = logging.getLogger(__name__)


class Interval(NamedTuple):
    """A point estimate with a bootstrap interval (``lo``/``hi`` are NaN when no interval was computed)."""

    point: float
    lo: float
    hi: float

    def to_dict(self) -> dict[str, float | None]:
        return {"value": json_safe(self.point), "lo": json_safe(self.lo), "hi": json_safe(self.hi)}


def bootstrap_ci(
    metric_fn: Callable[..., float], *arrays: Any, n_boot: int = 200, seed: int = 0, confidence: float = 0.95
) -> Interval:
    """Percentile bootstrap interval of ``metric_fn(*arrays)`` over resampled rows of ``arrays``.

    The arrays (test-set time, event, risk, survival matrix ...) are resampled together by row; anything
    fixed (training times, a time grid) goes into ``metric_fn`` by closure. Resamples on which the metric
    raises ``ValueError`` (e.g. no events drawn) are skipped; with fewer than half usable the bounds are NaN.
    The same seed draws the same resamples, so intervals of different metrics are paired.
    """
    if not arrays:
        raise ValueError("bootstrap_ci needs at least one array to resample.")
    data = [np.asarray(a) for a in arrays]
    n = len(data[0])
    if any(len(a) != n for a in data):
        raise ValueError(f"Arrays to resample have different lengths: {[len(a) for a in data]}.")
    if n_boot < 1 or not 0 < confidence < 1:
        raise ValueError("n_boot must be >= 1 and confidence within (0, 1).")
    point = float(metric_fn(*data))
    values = []
    for idx in resamples(n, n_boot, seed):
        try:
            v = float(metric_fn(*(a[idx] for a in data)))
        except ValueError:
            continue
        values.append(v)
    return percentile_interval(point, np.asarray(values), n_boot=n_boot, confidence=confidence)


def resamples(n: int, n_boot: int, seed: int):
    """The row indices of each bootstrap resample (the same for every metric with the same seed)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n, n)


def percentile_interval(point: float, values: np.ndarray, *, n_boot: int, confidence: float) -> Interval:
    values = values[np.isfinite(values)]
    if len(values) < max(2, n_boot // 2):
        log.info("bootstrap: only %d of %d resamples usable; no interval", len(values), n_boot)
        return Interval(point, float("nan"), float("nan"))
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return Interval(point, float(lo), float(hi))


def bootstrap_concordance(
    time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray, *, n_boot: int, seed: int,
    confidence: float,
) -> Interval:
    """:func:`bootstrap_ci` of a (weighted) concordance, all resamples in one pass (same resamples)."""
    point = weighted_concordance(time, event, risk, weight)
    counts = np.stack([np.bincount(idx, minlength=len(time)) for idx in resamples(len(time), n_boot, seed)])
    values = concordance_counts(time, event, risk, weight, counts.astype(np.float64))
    return percentile_interval(point, values, n_boot=n_boot, confidence=confidence)
