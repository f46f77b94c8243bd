"""Drawing at scale: Kaplan-Meier curves thinned to a point budget, embeddings drawn from a uniform sample."""
from __future__ import annotations

import numpy as np
import pandas as pd

MAX_CURVE_POINTS = 1000  # a Kaplan-Meier curve is drawn at no more points than this
MAX_EMBEDDING_POINTS = 20_000  # an embedding draws at most this many patients (a random sample beyond)


def thin_curve(curve: pd.DataFrame, max_points: int = MAX_CURVE_POINTS) -> pd.DataFrame:
    """At most ``max_points`` rows of a step curve, chosen on an even time grid (exact values at kept steps).

    The last step at or before each grid time is kept, plus the first and last rows, so the drawn curve
    passes through true Kaplan-Meier values and only merges steps closer together than the grid spacing.
    """
    if len(curve) <= max_points:
        return curve
    times = curve["time"].to_numpy(dtype=float)
    grid = np.linspace(times[0], times[-1], max_points)
    idx = np.unique(np.concatenate([[0, len(times) - 1], np.searchsorted(times, grid, side="right") - 1]))
    return curve.iloc[idx]


def sample_rows(n: int, max_points: int = MAX_EMBEDDING_POINTS, *, seed: int = 0) -> np.ndarray:
    """Indices of a uniform random sample of ``max_points`` of ``n`` rows (all rows when fewer), sorted."""
    if n <= max_points:
        return np.arange(n)
    return np.sort(np.random.default_rng(seed).choice(n, size=max_points, replace=False))
