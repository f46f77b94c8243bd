"""The input checks of the metrics: survival data, risk scores, time grids and survival matrices."""
from __future__ import annotations

from typing import Any

import numpy as np

from genomics.survival import survival_arrays


def survival_data(time: Any, event: Any, *, what: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Validated (time float64, event bool) arrays of at least 2 patients with an event
    (:func:`genomics.survival.survival_arrays`; ``what`` prefixes messages, ``"test "``)."""
    return survival_arrays(time, event, what=what, min_patients=2)


def risk_scores(risk: Any, n: int) -> np.ndarray:
    r = np.asarray(risk, dtype=np.float64)
    if r.ndim != 1 or len(r) != n:
        raise ValueError(f"risk must be a 1-D array of one score per patient ({n}); got shape {r.shape}.")
    if not np.isfinite(r).all():
        raise ValueError(f"risk has {int((~np.isfinite(r)).sum())} non-finite values (NaN or inf).")
    return r


def time_grid(times: Any) -> np.ndarray:
    g = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if g.ndim != 1 or len(g) == 0 or not np.isfinite(g).all() or (g < 0).any():
        raise ValueError("times must be a non-empty 1-D array of finite, non-negative times.")
    if (np.diff(g) <= 0).any():
        raise ValueError("times must be strictly increasing.")
    return g


def probability_matrix(survival: Any, n: int, n_times: int) -> np.ndarray:
    s = np.asarray(survival, dtype=np.float64)
    if s.shape != (n, n_times):
        raise ValueError(f"survival matrix must be patients × times ({n} × {n_times}); got shape {s.shape}.")
    if not np.isfinite(s).all() or (s < -1e-9).any() or (s > 1 + 1e-9).any():
        raise ValueError("survival probabilities must be finite and within [0, 1].")
    return np.clip(s, 0.0, 1.0)
