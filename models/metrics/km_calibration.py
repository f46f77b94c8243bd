"""Calibration at one horizon: predicted survival against Kaplan-Meier observed survival in risk groups.

Patients are split into equal-sized groups by predicted S(horizon); within each group the Kaplan-Meier
estimate gives the observed S(horizon). The calibration slope and intercept come from the least-squares line
of observed event probability (1 - KM) on mean predicted event probability (1 - mean S), weighted by group
size: ideal slope 1, intercept 0 (slope < 1: predictions too extreme, the usual sign of over-fitting).
Calibration-in-the-large is mean predicted S(horizon) minus the Kaplan-Meier S(horizon) of everyone:
positive = survival over-estimated.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from genomics.jsonsafe import json_safe
from models.metrics.inputs import probability_matrix, survival_data


def km_at(time: np.ndarray, event: np.ndarray, horizon: float, z: float) -> tuple[float, float, float]:
    """Kaplan-Meier S(horizon) with a log-log (exponential Greenwood) pointwise interval."""
    event_times, deaths = np.unique(time[event & (time <= horizon)], return_counts=True)
    if len(event_times) == 0:
        return 1.0, 1.0, 1.0
    at_risk = len(time) - np.searchsorted(np.sort(time), event_times, side="left")
    s = float(np.prod(1.0 - deaths / at_risk))
    if s <= 0.0:
        return 0.0, 0.0, 0.0
    greenwood = float(np.sum(deaths / (at_risk * (at_risk - deaths))))
    se = math.sqrt(greenwood) / abs(math.log(s))
    return s, s ** math.exp(z * se), s ** math.exp(-z * se)


@dataclass(frozen=True, eq=False)
class CalibrationResult:
    """Calibration at one horizon; ``table`` has one row per risk group (see the module docstring)."""

    horizon: float
    table: pd.DataFrame = field(repr=False)
    slope: float
    intercept: float
    calibration_in_the_large: float
    predicted: float  # mean predicted S(horizon)
    observed: float  # Kaplan-Meier S(horizon), everyone
    observed_lo: float
    observed_hi: float

    def to_dict(self) -> dict[str, Any]:
        return json_safe({
            "horizon": self.horizon, "slope": self.slope, "intercept": self.intercept,
            "calibration_in_the_large": self.calibration_in_the_large, "predicted": self.predicted,
            "observed": self.observed, "observed_lo": self.observed_lo, "observed_hi": self.observed_hi,
            "groups": self.table.to_dict(orient="records"),
        })


def calibration(
    time: Any, event: Any, survival_at_horizon: Any, *, horizon: float, n_groups: int = 10, confidence: float = 0.95
) -> CalibrationResult:
    """Predicted against Kaplan-Meier observed survival at ``horizon`` in ``n_groups`` equal-sized risk groups.

    Groups are numbered from the lowest predicted survival; per group the table gives n, events by the
    horizon, mean predicted S, and the Kaplan-Meier observed S with its log-log interval. Slope/intercept:
    weighted least squares of observed on predicted event probability (weights = group sizes); NaN when the
    predictions do not vary.
    """
    t, e = survival_data(time, event)
    s = np.asarray(survival_at_horizon, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"survival_at_horizon must be 1-D, one S(horizon) per patient; got shape {s.shape}.")
    s = probability_matrix(s[:, None], len(t), 1)[:, 0]
    if not horizon > 0 or not (t > horizon).any():
        raise ValueError(f"No patient is followed beyond the horizon {horizon:g}: calibration is undefined there.")
    if not 1 <= n_groups <= len(t):
        raise ValueError(f"n_groups must be between 1 and the number of patients ({len(t)}); got {n_groups}.")
    z = float(norm.ppf(0.5 + confidence / 2))
    rows = []
    for k, idx in enumerate(np.array_split(np.argsort(s, kind="stable"), n_groups), start=1):
        obs, lo, hi = km_at(t[idx], e[idx], horizon, z)
        rows.append({"group": k, "n": len(idx), "events": int((e[idx] & (t[idx] <= horizon)).sum()),
                     "predicted": float(s[idx].mean()), "observed": obs, "observed_lo": lo, "observed_hi": hi})
    table = pd.DataFrame(rows)
    x, y, w = 1.0 - table["predicted"].to_numpy(), 1.0 - table["observed"].to_numpy(), table["n"].to_numpy(float)
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    sxx = float(np.sum(w * (x - xm) ** 2))
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx) if sxx > 1e-12 * w.sum() else float("nan")
    intercept = float(ym - slope * xm) if np.isfinite(slope) else float("nan")
    observed, lo, hi = km_at(t, e, horizon, z)
    return CalibrationResult(
        horizon=float(horizon), table=table, slope=slope, intercept=intercept,
        calibration_in_the_large=float(s.mean() - observed), predicted=float(s.mean()),
        observed=observed, observed_lo=lo, observed_hi=hi,
    )
