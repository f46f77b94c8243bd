"""Survival summaries of a cohort: Kaplan-Meier tables and follow-up (lifelines does the maths), and the one
(time, event) input check every estimator uses (:func:`survival_arrays`)."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from genomics.errors import InputError


def survival_arrays(time, event, *, n: int | None = None, what: str = "", min_patients: int = 1,
                    min_events: int = 1, positive: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """The one check of a (time, event) pair, used by every estimator: 1-D float64 times and boolean events.

    Raises :class:`InputError` (a ``ValueError``) naming the first problem, its message prefixed by ``what``
    (``"training "``, ``"test "``): time or event not 1-D; different lengths (or not ``n`` values each); fewer
    than ``min_patients`` patients; a time missing, infinite or negative (or zero too, with ``positive``); an
    event other than 0/1 or a boolean; no event when ``min_events`` is 1 (fewer than ``min_events`` above 1).
    The model layer raises its own error type around it (:func:`models.base.training_target`).
    """
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event)
    if t.ndim != 1 or e.ndim != 1:
        raise InputError(f"{what}time and event must be 1-D arrays (got shapes {t.shape} and {e.shape}).")
    if n is not None and (len(t) != n or len(e) != n):
        raise InputError(f"{what}time ({len(t)}) and event ({len(e)}) must have one value per sample ({n}).")
    if len(t) != len(e):
        raise InputError(f"{what}time and event have different lengths ({len(t)} vs {len(e)}).")
    if len(t) < min_patients:
        raise InputError(f"{what}data need at least {min_patients} patients (got {len(t)}).")
    bad = ~np.isfinite(t) | ((t <= 0) if positive else (t < 0))
    if bad.any():
        raise InputError(f"{what}time has {int(bad.sum())} missing, infinite or "
                         + ("non-positive values: survival times must be positive (drop unusable rows first)."
                            if positive else "negative values."))
    if e.dtype != bool:
        ef = np.asarray(e, dtype=np.float64)
        if not np.isin(ef, (0.0, 1.0)).all():
            raise InputError(f"{what}event must be 0/1 (or boolean); found other values.")
        e = ef == 1.0
    events = int(e.sum())
    if events < min_events:
        raise InputError(f"{what}data have no events: every patient is censored." if events == 0 else
                         f"{what}data have {events} events; at least {min_events} are needed.")
    return t, e


def _clean(time: pd.Series | np.ndarray, event: pd.Series | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The patients with a known time and event (unknown ones are left out), checked by :func:`survival_arrays`."""
    t = pd.to_numeric(pd.Series(np.asarray(time, dtype=object)), errors="coerce").to_numpy(dtype=float)
    e = pd.to_numeric(pd.Series(np.asarray(event, dtype=object)), errors="coerce").to_numpy(dtype=float)
    keep = np.isfinite(t) & np.isfinite(e) & (t >= 0)
    if keep.sum() == 0:
        raise InputError("No patients with a known survival time and event.")
    t, e = survival_arrays(t[keep], e[keep], min_events=0)
    return t, e.astype(int)


def kaplan_meier(time, event, *, alpha: float = 0.05) -> pd.DataFrame:
    """Kaplan-Meier estimate with a pointwise CI: columns time, survival, lower, upper, at_risk."""
    from lifelines import KaplanMeierFitter  # lazy: start-up cost (lifelines; survival_arrays needs only numpy)

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
    from lifelines import KaplanMeierFitter  # lazy: start-up cost (lifelines)
    from lifelines.utils import median_survival_times  # lazy: start-up cost (lifelines)

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
