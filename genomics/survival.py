"""Survival summaries of a cohort: Kaplan-Meier tables and follow-up (lifelines does the maths)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from lifelines import KaplanMeierFitter
from lifelines.utils import median_survival_times

from genomics.errors import InputError


def _clean(time: pd.Series | np.ndarray, event: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    t = pd.to_numeric(pd.Series(np.asarray(time, dtype=object)), errors="coerce").to_numpy(dtype=float)
    e = pd.to_numeric(pd.Series(np.asarray(event, dtype=object)), errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(t) & np.isfinite(e) & (t >= 0)
    if keep.sum() == 0:
        raise InputError("No patients with a known survival time and event.")
    return t[keep], e[keep].astype(int)


def kaplan_meier(time, event, *, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier estimate with a pointwise CI: columns time, survival, lower, upper, at_risk."""
    t, e = _clean(time, event)
    kmf = KaplanMeierFitter(alpha=alpha).fit(t, e)
    sf = kmf.survival_function_.iloc[:, 0]
    ci = kmf.confidence_interval_survival_function_
    table = kmf.event_table
    return pd.DataFrame(
        {
            "time": sf.index.to_numpy(dtype=float),
            "survival": sf.to_numpy(),
            "lower": ci.iloc[:, 0].to_numpy(),
            "upper": ci.iloc[:, 1].to_numpy(),
            "at_risk": table["at_risk"].reindex(sf.index).to_numpy(),
        }
    )


def median_follow_up(time, event) -> float:
    """Median follow-up by the reverse Kaplan-Meier method (censoring as the event)."""
    t, e = _clean(time, event)
    kmf = KaplanMeierFitter().fit(t, 1 - e)
    return float(median_survival_times(kmf))


@dataclass(frozen=True)
class EndpointSummary:
    name: str
    description: str
    n: int
    events: int
    median_follow_up_months: float
    survival_5y: float
    survival_10y: float


def survival_at(km: pd.DataFrame, months: float) -> float:
    """Step-function value of a KM table at a time (NaN beyond the last follow-up)."""
    if months > km["time"].max():
        return float("nan")
    return float(km.loc[km["time"] <= months, "survival"].iloc[-1])


def number_at_risk(time, at) -> np.ndarray:
    """Patients still under follow-up (time >= t) at each time of ``at`` (KM convention, as lifelines)."""
    t = np.sort(np.asarray(time, dtype=float))
    return len(t) - np.searchsorted(t, np.asarray(at, dtype=float), side="left")


def landmark(time, event, at: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Landmark at ``at``: patients still event-free and followed beyond it, times counted from the landmark.

    Returns (time since the landmark, event, mask of the patients kept); ``at <= 0`` keeps everyone.
    """
    t = np.asarray(time, dtype=float)
    e = np.asarray(event)
    keep = t > at if at > 0 else np.ones(len(t), dtype=bool)
    return t[keep] - max(at, 0.0), e[keep], keep
