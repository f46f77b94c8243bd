"""K-fold cross-validation of a survival model: out-of-fold predictions, per-fold and pooled metrics."""
from __future__ import annotations

import logging
import time as _time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import KFold, StratifiedKFold

from genomics.jsonsafe import json_safe
from models.base import SurvivalModel
from models.metrics.brier import integrated_brier
from models.metrics.concordance import harrell_c, uno_c
from models.metrics.inputs import probability_matrix, risk_scores, survival_data, time_grid
from models.metrics.km_calibration import CalibrationResult, calibration
from models.metrics.report import DEFAULT_TIMES

log = logging.getLogger(__name__)


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
        return json_safe(row)

    def to_dict(self) -> dict[str, Any]:
        return json_safe({"summary": self.summary(), "folds": self.folds.to_dict(orient="records"),
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
    t, e = survival_data(time, event)
    X = np.asarray(X)
    if X.ndim != 2 or X.shape[0] != len(t):
        raise ValueError(f"X must be patients × features with {len(t)} rows; got shape {X.shape}.")
    if len(feature_names) != X.shape[1]:
        raise ValueError(f"{len(feature_names)} feature names for {X.shape[1]} columns.")
    if not 2 <= n_folds <= int(e.sum()):
        raise ValueError(f"n_folds must be between 2 and the number of events ({int(e.sum())}); got {n_folds}.")
    grid = time_grid(np.union1d(DEFAULT_TIMES if times is None else times, [horizon]))
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
        risk = risk_scores(model.predict_risk(X[test]), len(test))
        surv = probability_matrix(model.predict_survival(X[test], grid), len(test), len(grid))
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
