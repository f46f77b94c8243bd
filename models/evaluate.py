"""How good is a survival model: discrimination, prediction error, calibration, intervals, cross-validation.

Conventions: times are in the cohort's unit (months for the built-in cohorts); ``risk`` is a log-hazard
(higher = worse, as :class:`models.base.SurvivalModel` returns it); a survival matrix is samples × times.

The IPCW metrics (Uno's C, time-dependent AUC, integrated Brier score) weight test patients by the
Kaplan-Meier censoring distribution of the *training* patients, which is only known up to the end of the
training follow-up. Each of them is therefore truncated at :func:`ipcw_horizon`: the 95th percentile of the
training times, capped by the longest test time.

Calibration (:func:`calibration`) is measured on the event-probability scale at one horizon: patients are
split into equal-sized groups by predicted S(horizon); within each group the Kaplan-Meier estimate gives the
observed S(horizon). The calibration slope and intercept come from the least-squares line of observed event
probability (1 - KM) on mean predicted event probability (1 - mean S), weighted by group size: ideal slope 1,
intercept 0 (slope < 1: predictions too extreme, the usual sign of over-fitting). Calibration-in-the-large is
mean predicted S(horizon) minus the Kaplan-Meier S(horizon) of everyone: positive = survival over-estimated.
"""
from __future__ import annotations

import logging
import math
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple

import numpy as np
import pandas as pd
from scipy.stats import norm
from sklearn.model_selection import KFold, StratifiedKFold
from sksurv.nonparametric import CensoringDistributionEstimator
from sksurv.util import Surv

from models.base import SurvivalModel

log = logging.getLogger(__name__)

SAFE_QUANTILE = 0.95  # IPCW metrics stop at this quantile of the training follow-up
DEFAULT_TIMES = np.arange(12.0, 121.0, 6.0)  # 1 to 10 years, every 6 months (IBS grid)
AUC_TIMES = (60.0, 120.0)
_PAIR_BLOCK = 4_000_000  # comparisons held in memory at once by the concordance count


class Interval(NamedTuple):
    """A point estimate with a bootstrap interval (``lo``/``hi`` are NaN when no interval was computed)."""

    point: float
    lo: float
    hi: float

    def to_dict(self) -> dict[str, float | None]:
        return {"value": _plain(self.point), "lo": _plain(self.lo), "hi": _plain(self.hi)}


# ---------------------------------------------------------------------------------------------- input checks


def _survival_data(time: Any, event: Any, *, what: str = "") -> tuple[np.ndarray, np.ndarray]:
    """Validated (time float64, event bool) arrays; ``what`` prefixes messages (``"test "``)."""
    t = np.asarray(time, dtype=np.float64)
    e = np.asarray(event)
    if t.ndim != 1 or e.ndim != 1:
        raise ValueError(f"{what}time and event must be 1-D arrays (got shapes {t.shape} and {e.shape}).")
    if len(t) != len(e):
        raise ValueError(f"{what}time and event have different lengths ({len(t)} vs {len(e)}).")
    if len(t) < 2:
        raise ValueError(f"{what}data need at least 2 patients (got {len(t)}).")
    if not np.isfinite(t).all() or (t < 0).any():
        raise ValueError(f"{what}time has {int((~np.isfinite(t) | (t < 0)).sum())} missing, infinite or negative values.")
    if e.dtype != bool:
        ef = np.asarray(e, dtype=np.float64)
        if not np.isin(ef, (0.0, 1.0)).all():
            raise ValueError(f"{what}event must be 0/1 (or boolean); found other values.")
        e = ef == 1.0
    if not e.any():
        raise ValueError(f"{what}data have no events: every patient is censored, so no metric is defined.")
    return t, e


def _risk_scores(risk: Any, n: int) -> np.ndarray:
    r = np.asarray(risk, dtype=np.float64)
    if r.ndim != 1 or len(r) != n:
        raise ValueError(f"risk must be a 1-D array of one score per patient ({n}); got shape {r.shape}.")
    if not np.isfinite(r).all():
        raise ValueError(f"risk has {int((~np.isfinite(r)).sum())} non-finite values (NaN or inf).")
    return r


def _time_grid(times: Any) -> np.ndarray:
    g = np.atleast_1d(np.asarray(times, dtype=np.float64))
    if g.ndim != 1 or len(g) == 0 or not np.isfinite(g).all() or (g < 0).any():
        raise ValueError("times must be a non-empty 1-D array of finite, non-negative times.")
    if (np.diff(g) <= 0).any():
        raise ValueError("times must be strictly increasing.")
    return g


def _survival_matrix(survival: Any, n: int, n_times: int) -> np.ndarray:
    s = np.asarray(survival, dtype=np.float64)
    if s.shape != (n, n_times):
        raise ValueError(f"survival matrix must be patients × times ({n} × {n_times}); got shape {s.shape}.")
    if not np.isfinite(s).all() or (s < -1e-9).any() or (s > 1 + 1e-9).any():
        raise ValueError("survival probabilities must be finite and within [0, 1].")
    return np.clip(s, 0.0, 1.0)


# ---------------------------------------------------------------------------------------------- discrimination


def _concordance_counts(
    time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray, counts: np.ndarray
) -> np.ndarray:
    """Weighted concordance for each row of ``counts`` (m × n multiplicities, e.g. bootstrap resamples).

    Pairs (i event, j later, or j censored at i's time) are comparable; concordant when risk_i > risk_j, tied
    risks count 1/2; pair weight weight_i · counts_i · counts_j. NaN where a row has no comparable pair.
    A resample as multiplicities gives the same C as the resampled arrays (copies of one patient never
    form a comparable pair), so all resamples share one pass over the pairs.
    """
    rows = np.flatnonzero(event & (weight > 0))
    step = max(1, _PAIR_BLOCK // len(time))
    num = np.zeros(counts.shape[0])
    den = np.zeros(counts.shape[0])
    for start in range(0, len(rows), step):
        i = rows[start:start + step]
        ti, ri = time[i, None], risk[i, None]
        comparable = (time[None, :] > ti) | ((time[None, :] == ti) & ~event[None, :])
        score = (comparable & (risk[None, :] < ri)) + 0.5 * (comparable & (risk[None, :] == ri))
        left = counts[:, i] * weight[i]
        num += ((left @ score) * counts).sum(axis=1)
        den += ((left @ comparable) * counts).sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _concordance(time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray) -> float:
    c = float(_concordance_counts(time, event, risk, weight, np.ones((1, len(time))))[0])
    if not np.isfinite(c):
        raise ValueError("No comparable pairs: no event is followed by a longer survival time.")
    return c


def harrell_c(time: Any, event: Any, risk: Any) -> float:
    """Harrell's concordance index.

    Pairs (i, j) with an event for i before j's time (or j censored at i's event time) are comparable;
    a pair is concordant when i has the higher risk, and tied risks count one half. Equals
    ``lifelines.utils.concordance_index(time, -risk, event)``.
    """
    t, e = _survival_data(time, event)
    r = _risk_scores(risk, len(t))
    return _concordance(t, e, r, np.ones(len(t)))


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
class _Censoring:
    """Kaplan-Meier survival G of the training censoring times (scikit-survival's estimator), fitted once."""

    times: np.ndarray
    prob: np.ndarray

    @classmethod
    def fit(cls, time_train: np.ndarray, event_train: np.ndarray) -> _Censoring:
        cens = CensoringDistributionEstimator().fit(Surv.from_arrays(event=event_train, time=time_train))
        return cls(np.asarray(cens.unique_time_, dtype=np.float64), np.asarray(cens.prob_, dtype=np.float64))

    def at(self, times: np.ndarray) -> np.ndarray:
        """G(t), right-continuous; past the last training time the last value is carried (never weighted)."""
        idx = np.searchsorted(self.times, np.asarray(times, dtype=np.float64), side="right") - 1
        return self.prob[np.clip(idx, 0, None)]


def uno_c(
    time_train: Any, event_train: Any, time_test: Any, event_test: Any, risk: Any, *, tau: float | None = None
) -> float:
    """Uno's IPCW concordance index up to ``tau``.

    As :func:`sksurv.metrics.concordance_index_ipcw` (each comparable pair weighted by 1/G(t_i)^2, G the
    training censoring survival), but ``tau`` is always truncated at :func:`ipcw_horizon` so test times
    beyond the training follow-up never raise.
    """
    tt, et = _survival_data(time_train, event_train, what="training ")
    t, e = _survival_data(time_test, event_test, what="test ")
    r = _risk_scores(risk, len(t))
    return _concordance(t, e, r, _uno_weights(tt, et, t, e, tau=tau))


def _uno_weights(tt: np.ndarray, et: np.ndarray, t: np.ndarray, e: np.ndarray, *, tau: float | None) -> np.ndarray:
    """1/G(t_i)^2 for test events before tau (tau capped at :func:`ipcw_horizon`), else 0."""
    limit = ipcw_horizon(tt, t)
    tau = limit if tau is None else min(float(tau), limit)
    use = e & (t < tau)
    if not use.any():
        raise ValueError(f"No test events before tau = {tau:g}: Uno's C is undefined.")
    weight = np.zeros(len(t))
    weight[use] = _Censoring.fit(tt, et).at(t[use]) ** -2.0
    return weight


def td_auc(
    time_train: Any, event_train: Any, time_test: Any, event_test: Any, risk: Any, *, times: Any
) -> np.ndarray:
    """Cumulative/dynamic AUC at each of ``times`` (Uno 2007; as :func:`sksurv.metrics.cumulative_dynamic_auc`).

    Cases: events by t, weighted by 1/G(t_i); controls: still event-free after t; tied risks count 1/2.
    ``times`` must lie within the test follow-up and below :func:`ipcw_horizon`.
    """
    tt, et = _survival_data(time_train, event_train, what="training ")
    t, e = _survival_data(time_test, event_test, what="test ")
    r = _risk_scores(risk, len(t))
    grid = _time_grid(times)
    limit = ipcw_horizon(tt, t)
    if grid[0] < t.min() or grid[-1] >= limit:
        raise ValueError(f"td-AUC times must lie within [{t.min():g}, {limit:g}) (test follow-up, "
                         f"capped at the {SAFE_QUANTILE:.0%} quantile of training times); got {grid.tolist()}.")
    g = _Censoring.fit(tt, et).at(t)
    return np.array([_auc_at(t, e, r, g, at) for at in grid])


def _auc_at(t: np.ndarray, e: np.ndarray, r: np.ndarray, g: np.ndarray, at: float) -> float:
    """IPCW cumulative/dynamic AUC at one time; ``g`` = G(t_i) per patient. NaN without cases or controls."""
    case = e & (t <= at)
    controls = np.sort(r[t > at])
    if not case.any() or len(controls) == 0:
        return float("nan")
    below = np.searchsorted(controls, r[case], side="left")
    tied = np.searchsorted(controls, r[case], side="right") - below
    w = 1.0 / g[case]
    return float(np.sum(w * (below + 0.5 * tied)) / (np.sum(w) * len(controls)))


# ---------------------------------------------------------------------------------------------- prediction error


def integrated_brier(
    time_train: Any, event_train: Any, time_test: Any, event_test: Any, survival_matrix: Any, *, times: Any
) -> float:
    """Integrated Brier score with IPCW (Graf 1999; as :func:`sksurv.metrics.integrated_brier_score`).

    Columns of ``survival_matrix`` are S at ``times``; columns outside the test follow-up or at/after
    :func:`ipcw_horizon` are dropped (at least two must remain). Trapezoidal rule over the kept times,
    divided by their span. Lower is better; 0.25 is what S = 0.5 for everyone scores.
    """
    tt, et = _survival_data(time_train, event_train, what="training ")
    t, e = _survival_data(time_test, event_test, what="test ")
    grid = _time_grid(times)
    s = _survival_matrix(survival_matrix, len(t), len(grid))
    keep = _ibs_columns(grid, t, ipcw_horizon(tt, t))
    cens = _Censoring.fit(tt, et)
    return _ibs(t, e, s[:, keep], grid[keep], cens.at(t), cens.at(grid[keep]))


def _ibs_columns(grid: np.ndarray, t: np.ndarray, limit: float) -> np.ndarray:
    keep = (grid >= t.min()) & (grid < limit)
    if keep.sum() < 2:
        raise ValueError(f"The integrated Brier score needs at least 2 times within [{t.min():g}, {limit:g}); "
                         f"got {grid.tolist()}.")
    return keep


def _ibs(t: np.ndarray, e: np.ndarray, s: np.ndarray, grid: np.ndarray, g_t: np.ndarray, g_grid: np.ndarray) -> float:
    """Brier(t) = mean(S² · 1[event by t] / G(t_i) + (1 - S)² · 1[t_i > t] / G(t)), integrated over the grid."""
    case = (t[:, None] <= grid[None, :]) & e[:, None]
    control = t[:, None] > grid[None, :]
    with np.errstate(divide="ignore", invalid="ignore"):
        err = np.where(case, s**2 / g_t[:, None], 0.0) + np.where(control, (1.0 - s) ** 2 / g_grid[None, :], 0.0)
    brier = err.mean(axis=0)
    return float(np.trapezoid(brier, grid) / (grid[-1] - grid[0]))


# ---------------------------------------------------------------------------------------------- calibration


def _km_at(time: np.ndarray, event: np.ndarray, horizon: float, z: float) -> tuple[float, float, float]:
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
        return _plain({
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
    t, e = _survival_data(time, event)
    s = np.asarray(survival_at_horizon, dtype=np.float64)
    if s.ndim != 1:
        raise ValueError(f"survival_at_horizon must be 1-D, one S(horizon) per patient; got shape {s.shape}.")
    s = _survival_matrix(s[:, None], len(t), 1)[:, 0]
    if not horizon > 0 or not (t > horizon).any():
        raise ValueError(f"No patient is followed beyond the horizon {horizon:g}: calibration is undefined there.")
    if not 1 <= n_groups <= len(t):
        raise ValueError(f"n_groups must be between 1 and the number of patients ({len(t)}); got {n_groups}.")
    z = float(norm.ppf(0.5 + confidence / 2))
    rows = []
    for k, idx in enumerate(np.array_split(np.argsort(s, kind="stable"), n_groups), start=1):
        obs, lo, hi = _km_at(t[idx], e[idx], horizon, z)
        rows.append({"group": k, "n": len(idx), "events": int((e[idx] & (t[idx] <= horizon)).sum()),
                     "predicted": float(s[idx].mean()), "observed": obs, "observed_lo": lo, "observed_hi": hi})
    table = pd.DataFrame(rows)
    x, y, w = 1.0 - table["predicted"].to_numpy(), 1.0 - table["observed"].to_numpy(), table["n"].to_numpy(float)
    xm, ym = np.average(x, weights=w), np.average(y, weights=w)
    sxx = float(np.sum(w * (x - xm) ** 2))
    slope = float(np.sum(w * (x - xm) * (y - ym)) / sxx) if sxx > 1e-12 * w.sum() else float("nan")
    intercept = float(ym - slope * xm) if np.isfinite(slope) else float("nan")
    observed, lo, hi = _km_at(t, e, horizon, z)
    return CalibrationResult(
        horizon=float(horizon), table=table, slope=slope, intercept=intercept,
        calibration_in_the_large=float(s.mean() - observed), predicted=float(s.mean()),
        observed=observed, observed_lo=lo, observed_hi=hi,
    )


# ---------------------------------------------------------------------------------------------- intervals


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
    for idx in _resamples(n, n_boot, seed):
        try:
            v = float(metric_fn(*(a[idx] for a in data)))
        except ValueError:
            continue
        values.append(v)
    return _percentile_interval(point, np.asarray(values), n_boot=n_boot, confidence=confidence)


def _resamples(n: int, n_boot: int, seed: int):
    """The row indices of each bootstrap resample (the same for every metric with the same seed)."""
    rng = np.random.default_rng(seed)
    for _ in range(n_boot):
        yield rng.integers(0, n, n)


def _percentile_interval(point: float, values: np.ndarray, *, n_boot: int, confidence: float) -> Interval:
    values = values[np.isfinite(values)]
    if len(values) < max(2, n_boot // 2):
        log.info("bootstrap: only %d of %d resamples usable; no interval", len(values), n_boot)
        return Interval(point, float("nan"), float("nan"))
    alpha = (1.0 - confidence) / 2
    lo, hi = np.quantile(values, [alpha, 1.0 - alpha])
    return Interval(point, float(lo), float(hi))


def _bootstrap_concordance(
    time: np.ndarray, event: np.ndarray, risk: np.ndarray, weight: np.ndarray, *, n_boot: int, seed: int,
    confidence: float,
) -> Interval:
    """:func:`bootstrap_ci` of a (weighted) concordance, all resamples in one pass (same resamples)."""
    point = _concordance(time, event, risk, weight)
    counts = np.stack([np.bincount(idx, minlength=len(time)) for idx in _resamples(len(time), n_boot, seed)])
    values = _concordance_counts(time, event, risk, weight, counts.astype(np.float64))
    return _percentile_interval(point, values, n_boot=n_boot, confidence=confidence)


# ---------------------------------------------------------------------------------------------- subgroups


def metrics_by_subgroup(
    time: Any, event: Any, risk: Any, groups: pd.Series | Sequence, *, min_events: int = 10
) -> pd.DataFrame:
    """Harrell's C per subgroup: columns group, n, events, harrell_c, note.

    Rows follow the categories' order (sorted labels otherwise); missing labels form ``"(missing)"``.
    Groups with fewer than ``min_events`` events get NaN and say so in ``note``.
    """
    t, e = _survival_data(time, event)
    r = _risk_scores(risk, len(t))
    g = groups if isinstance(groups, pd.Series) else pd.Series(list(groups))
    if len(g) != len(t):
        raise ValueError(f"groups has {len(g)} labels for {len(t)} patients.")
    missing = g.isna().to_numpy()
    if isinstance(g.dtype, pd.CategoricalDtype):
        order = [c for c in g.cat.categories if (g == c).any()]
    else:
        order = sorted(g.dropna().unique(), key=str)
    labels = g.to_numpy(dtype=object)
    masks = [(label, (labels == label) & ~missing) for label in order]
    if missing.any():
        masks.append(("(missing)", missing))
    rows = []
    for label, mask in masks:
        n_events = int(e[mask].sum())
        c, note = float("nan"), ""
        if n_events < min_events:
            note = f"fewer than {min_events} events ({n_events}): not estimated"
        else:
            try:
                c = _concordance(t[mask], e[mask], r[mask], np.ones(int(mask.sum())))
            except ValueError as err:
                note = str(err)
        rows.append({"group": label, "n": int(mask.sum()), "events": n_events, "harrell_c": c, "note": note})
    return pd.DataFrame(rows, columns=["group", "n", "events", "harrell_c", "note"])


# ---------------------------------------------------------------------------------------------- one test set


@dataclass(frozen=True, eq=False)
class EvaluationReport:
    """All metrics of one model on one test set; ``to_dict`` is what model cards and the CLI store."""

    n: int
    events: int
    horizon: float
    harrell_c: Interval
    uno_c: Interval | None
    uno_tau: float
    td_auc: dict[float, Interval]
    ibs: Interval | None
    ibs_times: tuple[float, float]
    calibration: CalibrationResult | None
    n_boot: int
    confidence: float
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready: metric → {value, lo, hi} or a number; counts and settings under ``sample``."""
        out: dict[str, Any] = {"harrell_c": self.harrell_c.to_dict()}
        if self.uno_c is not None:
            out["uno_c"] = {**self.uno_c.to_dict(), "tau": self.uno_tau}
        for t, interval in self.td_auc.items():
            out[f"td_auc_{t:g}"] = interval.to_dict()
        if self.ibs is not None:
            out["ibs"] = {**self.ibs.to_dict(), "from": self.ibs_times[0], "to": self.ibs_times[1]}
        if self.calibration is not None:
            cal = self.calibration
            out["calibration_slope"] = cal.slope
            out["calibration_intercept"] = cal.intercept
            out["calibration_in_the_large"] = cal.calibration_in_the_large
            out["calibration"] = cal.to_dict()
        out["sample"] = {"n": self.n, "events": self.events, "horizon": self.horizon, "n_boot": self.n_boot,
                         "confidence": self.confidence}
        out["notes"] = list(self.notes)
        return _plain(out)


def evaluate_predictions(
    model: SurvivalModel | None = None,
    *,
    time_train: Any,
    event_train: Any,
    time_test: Any,
    event_test: Any,
    X_train: Any = None,
    X_test: Any = None,
    risk: Any = None,
    survival: Any = None,
    times: Any = None,
    horizon: float = 120.0,
    auc_times: Sequence[float] = AUC_TIMES,
    n_boot: int = 200,
    seed: int = 0,
    confidence: float = 0.95,
    n_groups: int = 10,
) -> EvaluationReport:
    """Harrell C, Uno C, td-AUC, IBS (with bootstrap intervals) and calibration at ``horizon`` on a test set.

    Give either a fitted ``model`` and ``X_test`` (predictions are made at ``times``, default
    :data:`DEFAULT_TIMES`, plus ``horizon``), or ``risk`` and ``survival`` (patients × ``times``, which must
    contain ``horizon``). The training times only estimate the censoring distribution; ``X_train`` is
    accepted for symmetry and unused. A metric that cannot be computed on these data is left out with a note.
    """
    tt, et = _survival_data(time_train, event_train, what="training ")
    t, e = _survival_data(time_test, event_test, what="test ")
    if model is not None:
        if X_test is None:
            raise ValueError("evaluate_predictions with a model needs X_test.")
        grid = _time_grid(np.union1d(DEFAULT_TIMES if times is None else times, [horizon]))
        risk = model.predict_risk(np.asarray(X_test))
        survival = model.predict_survival(np.asarray(X_test), grid)
    elif risk is None or survival is None or times is None:
        raise ValueError("evaluate_predictions needs a model and X_test, or risk, survival and times.")
    else:
        grid = _time_grid(times)
    r = _risk_scores(risk, len(t))
    s = _survival_matrix(survival, len(t), len(grid))
    boot = {"n_boot": n_boot, "seed": seed, "confidence": confidence}
    notes: list[str] = []

    harrell = _bootstrap_concordance(t, e, r, np.ones(len(t)), **boot)
    tau = ipcw_horizon(tt, t)
    uno = _attempt(notes, "Uno's C", lambda: _bootstrap_concordance(
        t, e, r, _uno_weights(tt, et, t, e, tau=tau), **boot))
    cens = _Censoring.fit(tt, et)
    g_t = cens.at(t)  # travels with each patient through the resamples
    aucs: dict[float, Interval] = {}
    for at in auc_times:
        if not t.min() <= at < tau:
            notes.append(f"td-AUC at {at:g}: not computed (outside the usable follow-up [{t.min():g}, {tau:g}))")
            continue
        got = bootstrap_ci(lambda t_, e_, r_, g_, at=at: _auc_at(t_, e_, r_, g_, at), t, e, r, g_t, **boot)
        if np.isfinite(got.point):
            aucs[float(at)] = got
        else:
            notes.append(f"td-AUC at {at:g}: not computed (no events by then, or no one event-free after)")
    keep = _attempt(notes, "integrated Brier score", lambda: _ibs_columns(grid, t, tau))
    ibs, kept = None, grid[:0]
    if keep is not None:
        kept = grid[keep]
        g_grid = cens.at(kept)
        ibs = bootstrap_ci(lambda t_, e_, s_, g_: _ibs(t_, e_, s_, kept, g_, g_grid), t, e, s[:, keep], g_t, **boot)
    cal = None
    if horizon in grid:
        cal = _attempt(notes, f"calibration at {horizon:g}", lambda: calibration(
            t, e, s[:, int(np.searchsorted(grid, horizon))], horizon=horizon, n_groups=n_groups,
            confidence=confidence))
    else:
        notes.append(f"calibration at {horizon:g}: the survival matrix has no column at the horizon")
    return EvaluationReport(
        n=len(t), events=int(e.sum()), horizon=float(horizon), harrell_c=harrell, uno_c=uno, uno_tau=tau,
        td_auc=aucs, ibs=ibs, ibs_times=(float(kept[0]), float(kept[-1])) if len(kept) else (np.nan, np.nan),
        calibration=cal, n_boot=n_boot, confidence=confidence, notes=tuple(notes),
    )


def _attempt(notes: list[str], what: str, compute: Callable[[], Any]) -> Any:
    try:
        return compute()
    except ValueError as err:
        notes.append(f"{what}: not computed ({err})")
        return None


# ---------------------------------------------------------------------------------------------- cross-validation


@dataclass(frozen=True, eq=False)
class CVResult:
    """Out-of-fold predictions (each row predicted once, by the model that did not see it) and metrics."""

    model_name: str
    n: int
    events: int
    n_folds: int
    seed: int
    horizon: float
    times: np.ndarray
    fold: np.ndarray  # fold number (0-based) that predicted each row
    oof_risk: np.ndarray
    oof_survival: np.ndarray  # rows × times
    folds: pd.DataFrame  # one row per fold: sizes, harrell_c, uno_c, ibs, calibration_slope, fit_seconds
    pooled_c: float
    pooled_ibs: float
    calibration: CalibrationResult  # on the pooled out-of-fold S(horizon)

    def summary(self) -> dict[str, Any]:
        """One row: mean ± sd of per-fold metrics, pooled out-of-fold calibration, fit times."""
        f = self.folds
        row: dict[str, Any] = {"model": self.model_name, "n": self.n, "events": self.events,
                               "n_folds": self.n_folds, "seed": self.seed, "horizon": self.horizon}
        for col, key in (("harrell_c", "c"), ("uno_c", "uno_c"), ("ibs", "ibs"), ("calibration_slope", "fold_slope")):
            row[f"{key}_mean"] = float(f[col].mean())
            row[f"{key}_sd"] = float(f[col].std(ddof=1)) if len(f) > 1 else float("nan")
        row.update({
            "pooled_c": self.pooled_c, "pooled_ibs": self.pooled_ibs,
            "calibration_slope": self.calibration.slope, "calibration_intercept": self.calibration.intercept,
            "calibration_in_the_large": self.calibration.calibration_in_the_large,
            "fit_seconds_mean": float(f["fit_seconds"].mean()), "fit_seconds_total": float(f["fit_seconds"].sum()),
        })
        return _plain(row)

    def to_dict(self) -> dict[str, Any]:
        return _plain({"summary": self.summary(), "folds": self.folds.to_dict(orient="records"),
                       "calibration": self.calibration.to_dict()})


def cross_validate(
    make_model: Callable[[], SurvivalModel],
    X: Any,
    time: Any,
    event: Any,
    *,
    feature_names: Sequence[str],
    treatment_index: Sequence[int] = (),
    n_folds: int = 5,
    seed: int = 0,
    horizon: float = 120.0,
    stratify_events: bool = True,
    times: Any = None,
    n_groups: int = 10,
) -> CVResult:
    """K-fold cross-validation with a fresh model per fold (fixed ``seed``; folds stratified by event).

    Per fold: Harrell C, Uno C and IBS (censoring weights from the fold's training part), calibration slope
    at ``horizon``, fit seconds. Pooled over the out-of-fold predictions: Harrell C, IBS and calibration.
    S(t) is predicted at ``times`` (default :data:`DEFAULT_TIMES`) plus ``horizon``.
    """
    t, e = _survival_data(time, event)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] != len(t):
        raise ValueError(f"X must be patients × features with {len(t)} rows; got shape {X.shape}.")
    if len(feature_names) != X.shape[1]:
        raise ValueError(f"{len(feature_names)} feature names for {X.shape[1]} columns.")
    if not 2 <= n_folds <= int(e.sum()):
        raise ValueError(f"n_folds must be between 2 and the number of events ({int(e.sum())}); got {n_folds}.")
    grid = _time_grid(np.union1d(DEFAULT_TIMES if times is None else times, [horizon]))
    h = int(np.searchsorted(grid, horizon))
    splitter = (StratifiedKFold if stratify_events else KFold)(n_splits=n_folds, shuffle=True, random_state=seed)
    fold = np.full(len(t), -1)
    oof_risk = np.full(len(t), np.nan)
    oof_surv = np.full((len(t), len(grid)), np.nan)
    rows, name = [], ""
    for k, (train, test) in enumerate(splitter.split(X, e.astype(int))):
        model = make_model()
        if not isinstance(model, SurvivalModel):
            raise TypeError(f"make_model returned {type(model).__name__}, which is not a SurvivalModel.")
        name = type(model).name
        started = _time.perf_counter()
        model.fit(X[train], t[train], e[train].astype(np.float64), feature_names=list(feature_names),
                  treatment_index=list(treatment_index))
        seconds = _time.perf_counter() - started
        risk = _risk_scores(model.predict_risk(X[test]), len(test))
        surv = _survival_matrix(model.predict_survival(X[test], grid), len(test), len(grid))
        fold[test], oof_risk[test], oof_surv[test] = k, risk, surv
        tr, te = (t[train], e[train]), (t[test], e[test])
        rows.append({
            "fold": k, "n_train": len(train), "n_test": len(test), "events_test": int(e[test].sum()),
            "harrell_c": harrell_c(*te, risk),
            "uno_c": _or_nan(uno_c, *tr, *te, risk),
            "ibs": _or_nan(integrated_brier, *tr, *te, surv, times=grid),
            "calibration_slope": _or_nan(_calibration_slope, *te, surv[:, h], horizon=horizon,
                                         n_groups=min(n_groups, len(test))),
            "fit_seconds": seconds,
        })
        log.info("fold %d/%d: %s fitted in %.2f s, C = %.3f", k + 1, n_folds, name, seconds, rows[-1]["harrell_c"])
    return CVResult(
        model_name=name, n=len(t), events=int(e.sum()), n_folds=n_folds, seed=seed, horizon=float(horizon),
        times=grid, fold=fold, oof_risk=oof_risk, oof_survival=oof_surv, folds=pd.DataFrame(rows),
        pooled_c=harrell_c(t, e, oof_risk),
        pooled_ibs=_or_nan(integrated_brier, t, e, t, e, oof_surv, times=grid),
        calibration=calibration(t, e, oof_surv[:, h], horizon=horizon, n_groups=n_groups),
    )


def _calibration_slope(time: np.ndarray, event: np.ndarray, survival: np.ndarray, **options: Any) -> float:
    return calibration(time, event, survival, **options).slope


def _or_nan(metric: Callable[..., float], *args: Any, **kwargs: Any) -> float:
    try:
        return float(metric(*args, **kwargs))
    except ValueError as err:
        log.info("metric not computed: %s", err)
        return float("nan")


def _plain(value: Any) -> Any:
    """JSON-ready copy: numpy scalars → Python, NaN/inf → None, tuples → lists, keys → str."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer | int):
        return int(value)
    if isinstance(value, np.floating | float):
        return float(value) if math.isfinite(value) else None
    return value
