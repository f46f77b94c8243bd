"""Breslow baseline cumulative hazard: turns any Cox-type risk score into S(t | x)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class BreslowBaseline:
    """Cumulative baseline hazard H0 at the distinct event times (step function, H0 = 0 before the first)."""

    times: np.ndarray
    cumulative_hazard: np.ndarray

    @classmethod
    def fit(cls, log_hazard: np.ndarray, time: np.ndarray, event: np.ndarray) -> BreslowBaseline:
        """Breslow's estimator: dH0(t) = d(t) / sum_{j at risk at t} exp(lp_j)."""
        lp = np.asarray(log_hazard, dtype=np.float64)
        lp = lp - lp.max()  # stabilise; the shift cancels in S(t|x) because predictions use the same shift
        shift = float(np.asarray(log_hazard, dtype=np.float64).max())
        t = np.asarray(time, dtype=np.float64)
        e = np.asarray(event, dtype=bool)
        order = np.argsort(t, kind="stable")
        t, e, w = t[order], e[order], np.exp(lp[order])
        at_risk = np.cumsum(w[::-1])[::-1]  # sum of exp(lp) over t_j >= t_i
        event_times = np.unique(t[e])
        first = np.searchsorted(t, event_times, side="left")
        deaths = np.array([e[(t == et)].sum() for et in event_times], dtype=np.float64)
        increments = deaths / at_risk[first]
        cumulative = np.cumsum(increments) * np.exp(-shift)
        return cls(times=event_times, cumulative_hazard=cumulative)

    def at(self, times: np.ndarray) -> np.ndarray:
        idx = np.searchsorted(self.times, np.asarray(times, dtype=np.float64), side="right") - 1
        return np.where(idx >= 0, self.cumulative_hazard[np.clip(idx, 0, None)], 0.0)

    def survival(self, log_hazard: np.ndarray, times: np.ndarray) -> np.ndarray:
        """S(t | x) = exp(-H0(t) exp(lp)); samples × times, in [0, 1], non-increasing in t."""
        h0 = self.at(times)[None, :]
        return np.exp(-h0 * np.exp(np.asarray(log_hazard, dtype=np.float64))[:, None])

    def to_dict(self) -> dict:
        return {"times": self.times.tolist(), "cumulative_hazard": self.cumulative_hazard.tolist()}

    @classmethod
    def from_dict(cls, raw: dict) -> BreslowBaseline:
        return cls(np.asarray(raw["times"], dtype=np.float64), np.asarray(raw["cumulative_hazard"], dtype=np.float64))
