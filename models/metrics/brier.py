"""Prediction error: the integrated Brier score with inverse-probability-of-censoring weights."""
from __future__ import annotations

from typing import Any

import numpy as np

from models.metrics.inputs import probability_matrix, survival_data, time_grid
from models.metrics.ipcw import Censoring, ipcw_horizon


def integrated_brier(
    time_train: Any, event_train: Any, time_test: Any, event_test: Any, survival_matrix: Any, *, times: Any
) -> float:
    """Integrated Brier score with IPCW (Graf 1999; as :func:`sksurv.metrics.integrated_brier_score`).

    Columns of ``survival_matrix`` are S at ``times``; columns outside the test follow-up or at/after
    :func:`ipcw_horizon` are dropped (at least two must remain). Trapezoidal rule over the kept times,
    divided by their span. Lower is better; 0.25 is what S = 0.5 for everyone scores.
    """
    tt, et = survival_data(time_train, event_train, what="training ")
    t, e = survival_data(time_test, event_test, what="test ")
    grid = time_grid(times)
    s = probability_matrix(survival_matrix, len(t), len(grid))
    keep = ibs_columns(grid, t, ipcw_horizon(tt, t))
    cens = Censoring.fit(tt, et)
    return ibs_on_grid(t, e, s[:, keep], grid[keep], cens.at(t), cens.at(grid[keep]))


def ibs_columns(grid: np.ndarray, t: np.ndarray, limit: float) -> np.ndarray:
    keep = (grid >= t.min()) & (grid < limit)
    if keep.sum() < 2:
        raise ValueError(f"The integrated Brier score needs at least 2 times within [{t.min():g}, {limit:g}); "
                         f"got {grid.tolist()}.")
    return keep


def ibs_on_grid(t: np.ndarray, e: np.ndarray, s: np.ndarray, grid: np.ndarray, g_t: np.ndarray, g_grid: np.ndarray) -> float:
    """Brier(t) = mean(S² · 1[event by t] / G(t_i) + (1 - S)² · 1[t_i > t] / G(t)), integrated over the grid."""
    case = (t[:, None] <= grid[None, :]) & e[:, None]
    control = t[:, None] > grid[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.where(case, s**2 / g_t[:, None], 0.0) + np.where(control, (1.0 - s) ** 2 / g_grid[None, :], 0.0)
    brier = err.mean(axis=0)
    return float(np.trapezoid(brier, grid) / (grid[-1] - grid[0]))
