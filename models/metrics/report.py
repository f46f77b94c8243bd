"""All metrics of one model on one test set: :func:`evaluate_predictions` and its :class:`EvaluationReport`."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from genomics.jsonsafe import json_safe
from models.base import SurvivalModel
from models.metrics.bootstrap import Interval, bootstrap_ci, bootstrap_concordance
from models.metrics.brier import ibs_columns, ibs_on_grid
from models.metrics.concordance import auc_at, uno_weights
from models.metrics.inputs import probability_matrix, risk_scores, survival_data, time_grid
from models.metrics.ipcw import Censoring, ipcw_horizon
from models.metrics.km_calibration import CalibrationResult, calibration

DEFAULT_TIMES = np.arange(12.0, 121.0, 6.0)  # 1 to 10 years, every 6 months (IBS grid)
AUC_TIMES = (60.0, 120.0)


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
        return json_safe(out)


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
    tt, et = survival_data(time_train, event_train, what="training ")
    t, e = survival_data(time_test, event_test, what="test ")
    if model is not None:
        if X_test is None:
            raise ValueError("evaluate_predictions with a model needs X_test.")
        grid = time_grid(np.union1d(DEFAULT_TIMES if times is None else times, [horizon]))
        risk = model.predict_risk(np.asarray(X_test))
        survival = model.predict_survival(np.asarray(X_test), grid)
    elif risk is None or survival is None or times is None:
        raise ValueError("evaluate_predictions needs a model and X_test, or risk, survival and times.")
    else:
        grid = time_grid(times)
    r = risk_scores(risk, len(t))
    s = probability_matrix(survival, len(t), len(grid))
    boot = {"n_boot": n_boot, "seed": seed, "confidence": confidence}
    notes: list[str] = []

    harrell = bootstrap_concordance(t, e, r, np.ones(len(t)), **boot)
    tau = ipcw_horizon(tt, t)
    uno = _attempt(notes, "Uno's C", lambda: bootstrap_concordance(
        t, e, r, uno_weights(tt, et, t, e, tau=tau), **boot))
    cens = Censoring.fit(tt, et)
    g_t = cens.at(t)  # travels with each patient through the resamples
    aucs: dict[float, Interval] = {}
    for at in auc_times:
        if not t.min() <= at < tau:
            notes.append(f"td-AUC at {at:g}: not computed (outside the usable follow-up [{t.min():g}, {tau:g}))")
            continue
        got = bootstrap_ci(lambda t_, e_, r_, g_, at=at: auc_at(t_, e_, r_, g_, at), t, e, r, g_t, **boot)
        if np.isfinite(got.point):
            aucs[float(at)] = got
        else:
            notes.append(f"td-AUC at {at:g}: not computed (no events by then, or no one event-free after)")
    keep = _attempt(notes, "integrated Brier score", lambda: ibs_columns(grid, t, tau))
    ibs, kept = None, grid[:0]
    if keep is not None:
        kept = grid[keep]
        g_grid = cens.at(kept)
        ibs = bootstrap_ci(lambda t_, e_, s_, g_: ibs_on_grid(t_, e_, s_, kept, g_, g_grid), t, e, s[:, keep], g_t, **boot)
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
