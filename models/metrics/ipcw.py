"""Inverse-probability-of-censoring weights (IPCW) and the horizon up to which they are safe.

The IPCW metrics (Uno's C, time-dependent AUC, integrated Brier score) weight test patients by the
Kaplan-Meier censoring distribution of the *training* patients, which is only known up to the end of the
training follow-up. Each of them is therefore truncated at :func:`ipcw_horizon`: the 95th percentile of the
training times, capped by the longest test time.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from sksurv.nonparametric import CensoringDistributionEstimator
from sksurv.util import Surv

SAFE_QUANTILE = 0.95  # IPCW metrics stop at this quantile of the training follow-up


def ipcw_horizon(time_train: Any, time_test: Any, *, quantile: float = SAFE_QUANTILE) -> float:
    """Latest time at which IPCW metrics are safe: the ``quantile`` of training times, capped by the test follow-up.

    Below the largest training time the Kaplan-Meier censoring survival is positive, so the weights exist.
    """
    tt = np.asarray(time_train, dtype=np.float64)
    limit = float(np.quantile(tt, quantile))
    if limit >= tt.max():  # many ties at the end of follow-up
        below = tt[tt < tt.max()]
        limit = float(below.max()) if len(below) else 0.0
    return min(limit, float(np.max(time_test)))


@dataclass(frozen=True, eq=False)
class Censoring:
    """Kaplan-Meier survival G of the training censoring times (scikit-survival's estimator), fitted once."""

    times: np.ndarray
    prob: np.ndarray

    @classmethod
    def fit(cls, time_train: np.ndarray, event_train: np.ndarray) -> Censoring:
        cens = CensoringDistributionEstimator().fit(Surv.from_arrays(event=event_train, time=time_train))
        return cls(np.asarray(cens.unique_time_, dtype=np.float64), np.asarray(cens.prob_, dtype=np.float64))

    def at(self, times: np.ndarray) -> np.ndarray:
        """G(t), right-continuous; past the last training time the last value is carried (never weighted)."""
        idx = np.searchsorted(self.times, np.asarray(times, dtype=np.float64), side="right") - 1
        return self.prob[np.clip(idx, 0, None)]
