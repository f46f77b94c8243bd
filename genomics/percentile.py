"""Percentiles and medians along the last axis, by a vectorised sort.

``np.percentile`` selects with ``np.partition``, which on many short rows (tens of replicates per patient,
regimen and horizon) is about ten times slower than ``np.sort`` (SIMD-sorted rows). :func:`percentiles`
sorts once and applies numpy's own 'linear' rule (Hyndman & Fan method 7, numpy's default) to the sorted rows,
so its values equal ``np.percentile(values, q, axis=-1)`` bit for bit, NaN rows included; :func:`median` equals
``np.median(values, axis=-1)`` the same way (tests/test_percentile.py). Used for the replicate intervals of every
treatment option and the per-sample platform check of every upload.
"""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def percentiles(values: np.ndarray, q: Sequence[float]) -> np.ndarray:
    """``np.percentile(values, q, axis=-1)`` for a float array: the ``q`` axis first, then ``values``'s other axes."""
    values, ordered, has_nan = _sorted(values, "percentiles")
    n = values.shape[-1]
    out = np.empty((len(q), *values.shape[:-1]), dtype=np.result_type(values.dtype, np.float64))
    for i, pct in enumerate(q):
        share = np.true_divide(np.asarray(pct, dtype=np.float64), 100)
        virtual = (n - 1) * share  # numpy's virtual index for 'linear'
        # numpy's neighbours and weight: the floor and the next element inside the range; at or past either end
        # both neighbours are that end, and the weight is taken from index 0 (below) or -1 (above), as numpy does
        if virtual >= n - 1:
            below, above, gamma = n - 1, n - 1, virtual + 1
        elif virtual < 0:
            below, above, gamma = 0, 0, virtual
        else:
            below = int(np.floor(virtual))
            above, gamma = below + 1, virtual - np.floor(virtual)
        a, b = ordered[..., below], ordered[..., above]
        diff = b - a
        value = a + diff * gamma
        if gamma >= 0.5:
            value = b - diff * (1 - gamma)
        out[i] = np.where(has_nan, np.nan, value)
    return out


def median(values: np.ndarray) -> np.ndarray:
    """``np.median(values, axis=-1)`` for a float array (the mean of the two middle values for an even count)."""
    values, ordered, has_nan = _sorted(values, "median")
    n = values.shape[-1]
    middle = ordered[..., n // 2] if n % 2 else (ordered[..., n // 2 - 1] + ordered[..., n // 2]) / 2
    return np.where(has_nan, np.nan, middle)


def _sorted(values: np.ndarray, what: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(values as an array, sorted along the last axis, rows holding a NaN): the checks both functions share."""
    values = np.asarray(values)
    if not np.issubdtype(values.dtype, np.floating):
        raise TypeError(f"{what} needs a float array, not {values.dtype}")
    if values.shape[-1] == 0:
        raise ValueError(f"{what} of an empty axis")
    ordered = np.sort(values, axis=-1)
    return values, ordered, np.isnan(ordered[..., -1])  # NaN sorts last
