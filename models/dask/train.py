"""Training on Dask: ``xgboost.dask`` with the exact Cox gradient across workers, and a Breslow baseline
aggregated over partitions.

:func:`train_xgb_dask` and :func:`fit_on_dask` run ``xgboost.dask.train`` with the hyperparameters of
:class:`models.xgb.XGBSurvival` and return the same ``XGBSurvival`` (or :class:`models.ensemble.SurvivalEnsemble`)
object a single process would, so bundles are identical in format.

* **Exact Cox gradient across workers.** xgboost's built-in ``survival:cox`` builds its risk sets from the
  rows each worker holds, so on a cluster it would fit a Cox model stratified by worker (a risk set stops at
  the partition edge). Here the gradient is the full-data Breslow gradient (:func:`cox_gradient`): every
  round each worker bins ``exp(margin)`` and the events of its rows by event time, one allreduce over
  xgboost's collective sums the bins, and each worker reads its rows' gradients off the global risk-set sums.
  ``objective="survival:cox"`` stays in the parameters, so the saved model says what it is.
* **Hyperparameters.** Tuned in one process by the inner cross-validation of ``XGBSurvival`` on the training
  rows, or on a random ``tune_rows`` subsample of them when there are more (default 20,000; cross-validation
  of a few candidates is cheap next to the final fit, and a subsample keeps it in one process's memory).
  With ``params``/``n_rounds`` given, nothing is tuned. Number of rounds tuned on a subsample tends to be
  conservative for the full cohort (more data supports more rounds).
* **Breslow baseline.** From margins predicted by ``xgboost.dask.predict``; per partition, the sums of
  ``exp(margin)`` over each event time's risk set and the deaths per event time are binned on the unique
  event times (never the rows), and the bins are summed across partitions (:func:`breslow_dask`).
* **Ensembles.** Each bootstrap member trains on the same resample a single process draws
  (:meth:`SurvivalEnsemble.resample_rows`), expressed as integer row weights (copies of a row), so no data
  move; the weighted gradient and baseline equal those of the duplicated rows.

What differs from one process: xgboost's row subsampling (``subsample``) draws per worker, and histogram
sums add up in another order, so trees are statistically equivalent, not bit-identical (tests/test_dask.py
states the tolerance). What is the same: the cohort is loaded and its features built in this process, as for a
single-process fit, and the feature matrix goes to the workers in row blocks; the boosting, the predictions for
the baseline and the ensemble members run on the workers. (A cohort whose feature matrix does not fit in one
process would need its features built on the workers from a partitioned file: not done yet.)
"""
from __future__ import annotations

import logging
import math
import time as clock
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from models.breslow import BreslowBaseline
from models.dask.cluster import device_on_workers, here, n_workers
from models.ensemble import SurvivalEnsemble
from models.errors import ModelError
from models.xgb import SHARED_PARAMS, XGBSurvival, default_threads

log = logging.getLogger(__name__)

TUNE_ROWS = 20_000
ROWS_PER_TRAINING_PART = 100_000
DASK_KINDS = ("xgb", "ensemble")


def _allreduce(values: np.ndarray, op: str) -> np.ndarray:
    """Sum/max over xgboost's collective (the training workers); the values themselves on one worker."""
    from xgboost import collective  # lazy: start-up cost (xgboost; runs on the workers)

    if collective.get_world_size() <= 1:
        return values
    return np.asarray(collective.allreduce(np.ascontiguousarray(values), getattr(collective.Op, op)))


def cox_gradient(margin: np.ndarray, label: np.ndarray, weight: np.ndarray | None, event_times: np.ndarray, *,
                 allreduce: Callable[[np.ndarray, str], np.ndarray] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Gradient and hessian of the negative Breslow partial log-likelihood over *all* rows of all workers.

    Parameters
    ----------
    margin
        This worker's current log-hazards.
    label
        xgboost's Cox label: the time, negative for censored rows.
    weight
        Row weights (copies of a row; None = 1). The risk-set sums and the death counts are weighted, and each
        row's gradient and hessian are multiplied by its weight: exactly the sums over duplicated rows.
    event_times
        The sorted unique event times of all rows (as float32 labels, widened to float64).
    allreduce
        ``allreduce(values, "SUM" | "MAX")`` across workers; None on a single process.

    Ties are Breslow's: every row at risk at an event time shares the full risk set, and all deaths at that
    time count (xgboost's built-in objective lets later rows of a tie see earlier deaths only).
    """
    reduce = allreduce or (lambda values, op: values)
    margin = np.asarray(margin, dtype=np.float64).reshape(-1)
    time = np.abs(np.asarray(label, dtype=np.float64).reshape(-1))
    event = np.asarray(label).reshape(-1) > 0
    w = np.ones_like(time) if weight is None or np.size(weight) == 0 else np.asarray(weight, dtype=np.float64)
    k = len(event_times)
    shift = float(reduce(np.array([margin.max() if margin.size else -np.inf]), "MAX")[0])
    ep = np.exp(margin - (shift if np.isfinite(shift) else 0.0))  # the shift cancels in ep * sum(d / D)
    last = np.searchsorted(event_times, time, side="right") - 1  # the latest event time <= t: at risk up to there
    at_risk_bins = np.bincount(last + 1, weights=w * ep, minlength=k + 1)[1:]
    counted = event & (w > 0)  # rows of weight 0 (left out of a resample) add nothing
    slot = np.searchsorted(event_times, time[counted], side="left")
    exact = (slot < k) & (event_times[np.clip(slot, 0, max(k - 1, 0))] == time[counted]) if k else slot < 0
    if not exact.all():
        raise ModelError("An event time of this worker is missing from the event-time grid (internal error).")
    death_bins = np.bincount(slot, weights=w[counted], minlength=k)
    sums = reduce(np.concatenate([at_risk_bins, death_bins]), "SUM")
    risk_set = np.cumsum(sums[:k][::-1])[::-1]
    deaths = sums[k:]
    with np.errstate(divide="ignore", invalid="ignore"):
        r = np.cumsum(np.where(risk_set > 0, deaths / risk_set, 0.0))
        s = np.cumsum(np.where(risk_set > 0, deaths / risk_set**2, 0.0))
    at = np.clip(last, 0, None)
    r_i = np.where(last >= 0, r[at] if k else 0.0, 0.0)
    s_i = np.where(last >= 0, s[at] if k else 0.0, 0.0)
    grad = w * (ep * r_i - event)
    hess = w * (ep * r_i - ep**2 * s_i)
    return grad, hess


class CoxObjective:
    """xgboost custom objective: :func:`cox_gradient` with an allreduce over the training workers."""

    def __init__(self, event_times: np.ndarray) -> None:
        self.event_times = np.asarray(event_times, dtype=np.float64)

    def __call__(self, predt: np.ndarray, dtrain) -> tuple[np.ndarray, np.ndarray]:
        return cox_gradient(predt, dtrain.get_label(), dtrain.get_weight(), self.event_times, allreduce=_allreduce)


# ----------------------------------------------------------------------------------------------- data on dask
@dataclass(frozen=True)
class DaskTrainingData:
    """Training rows: features, time and event as dask arrays with the same row chunks, plus host copies of
    time and event (two numbers per patient: the event-time grid and the resamples are drawn from them)."""

    X: Any
    time: Any
    event: Any
    time_host: np.ndarray
    event_host: np.ndarray

    @property
    def n(self) -> int:
        return int(self.X.shape[0])


def scatter_rows(client, X: np.ndarray, time: np.ndarray, event: np.ndarray, *,
                 rows_per_part: int = ROWS_PER_TRAINING_PART) -> DaskTrainingData:
    """In-memory training rows sent to the workers in row blocks (at least two per worker)."""
    import dask.array as da  # lazy: start-up cost (dask.array)

    n = len(X)
    if n == 0:
        raise ModelError("No training rows.")
    parts = max(min(2 * n_workers(client), n), math.ceil(n / rows_per_part))
    bounds = np.linspace(0, n, parts + 1).astype(int)
    blocks: dict[str, list] = {"X": [], "time": [], "event": []}
    arrays = {"X": np.ascontiguousarray(X, dtype=np.float32), "time": np.asarray(time, dtype=np.float64),
              "event": np.asarray(event, dtype=np.float64)}
    for a, b in zip(bounds[:-1], bounds[1:], strict=True):
        if b <= a:
            continue
        for name, values in arrays.items():
            future = client.scatter(values[a:b])
            blocks[name].append(da.from_delayed(future, shape=(b - a, *values.shape[1:]), dtype=values.dtype))
    return DaskTrainingData(**{name: da.concatenate(parts_, axis=0) for name, parts_ in blocks.items()},
                            time_host=arrays["time"], event_host=arrays["event"] > 0)


def _weights_like(data: DaskTrainingData, weights: np.ndarray | None):
    import dask.array as da  # lazy: start-up cost (dask.array)

    if weights is None:
        return None
    return da.from_array(np.asarray(weights, dtype=np.float32), chunks=(data.X.chunks[0],))


def event_time_grid(time: np.ndarray, event: np.ndarray, weights: np.ndarray | None = None, *,
                    as_label: bool = False) -> np.ndarray:
    """Sorted unique event times of rows with positive weight; rounded to float32 when ``as_label`` (xgboost's
    labels are float32, and the gradient compares them with the grid)."""
    t = np.asarray(time, dtype=np.float32).astype(np.float64) if as_label else np.asarray(time, dtype=np.float64)
    keep = np.asarray(event) > 0
    if weights is not None:
        keep &= np.asarray(weights) > 0
    return np.unique(t[keep])


# --------------------------------------------------------------------------------------------------- training
def _breslow_block(margin: np.ndarray, time: np.ndarray, event: np.ndarray, weight: np.ndarray | None,
                   event_times: np.ndarray) -> tuple[float, np.ndarray]:
    """One partition: (its largest margin, then risk-set sums of exp(margin - that) and deaths, 2 × K)."""
    k = len(event_times)
    w = np.ones(len(time)) if weight is None else np.asarray(weight, dtype=np.float64)
    margin = np.asarray(margin, dtype=np.float64)
    used = w > 0
    shift = float(margin[used].max()) if used.any() else -np.inf
    ep = np.exp(margin - shift) if used.any() else np.zeros(len(margin))
    last = np.searchsorted(event_times, time, side="right") - 1
    risk = np.bincount(last + 1, weights=w * ep, minlength=k + 1)[1:]
    e = (np.asarray(event) > 0) & used
    deaths = np.bincount(np.searchsorted(event_times, time[e]), weights=w[e], minlength=k)
    return shift, np.stack([risk, deaths])


def breslow_dask(margin, time, event, weight=None, *, event_times: np.ndarray) -> BreslowBaseline:
    """:meth:`BreslowBaseline.fit` over dask arrays (weights = copies of a row): the risk-set sums and deaths are
    binned on the event-time grid per partition and summed; one pass, no rows leave the workers."""
    import dask  # lazy: start-up cost (dask)

    if len(event_times) == 0:
        raise ModelError("No events in the training data: a survival model cannot be fitted.")
    blocks = [margin.to_delayed().ravel(), time.to_delayed().ravel(), event.to_delayed().ravel(),
              weight.to_delayed().ravel() if weight is not None else [None] * margin.numblocks[0]]
    partials = dask.compute(*[dask.delayed(_breslow_block)(m, t, e, w, event_times)
                              for m, t, e, w in zip(*blocks, strict=True)])
    shift = max(p[0] for p in partials)
    risk = sum(np.exp(p[0] - shift) * p[1][0] for p in partials if np.isfinite(p[0]))  # onto one common shift
    deaths = sum(p[1][1] for p in partials)
    risk_set = np.cumsum(risk[::-1])[::-1]
    cumulative = np.cumsum(deaths / risk_set) * np.exp(-shift)
    return BreslowBaseline(times=event_times, cumulative_hazard=cumulative)


def _tuning_rows(n: int, event: np.ndarray, tune_rows: int, seed: int) -> np.ndarray:
    """All rows, or a random subsample of ``tune_rows`` that keeps the event share (sorted)."""
    if n <= tune_rows:
        return np.arange(n)
    from sklearn.model_selection import train_test_split  # lazy: start-up cost (sklearn)

    rows, _ = train_test_split(np.arange(n), train_size=tune_rows, random_state=seed, stratify=event.astype(int))
    return np.sort(rows)


def tune_on_sample(data: DaskTrainingData, *, device: str, seed: int, tune_rows: int = TUNE_ROWS,
                   nthread: int | None = None) -> dict[str, Any]:
    """XGBSurvival's inner cross-validation in this process on (a subsample of) the training rows."""
    started = clock.perf_counter()
    rows = _tuning_rows(data.n, data.event_host, tune_rows, seed)
    X = np.asarray((data.X if len(rows) == data.n else data.X[rows]).compute())
    t, e = data.time_host[rows], data.event_host[rows].astype(np.float64)
    tuner = XGBSurvival(device=device, seed=seed, nthread=nthread)
    params, n_rounds, cv_results = tuner.tune(X, t, e)
    return {"params": params, "n_rounds": n_rounds, "cv_results": cv_results,
            "seconds": clock.perf_counter() - started, "rows": int(len(rows))}


def train_xgb_dask(
    client,
    data: DaskTrainingData,
    *,
    feature_names: Sequence[str],
    treatment_index: Sequence[int] = (),
    params: Mapping[str, Any] | None = None,
    n_rounds: int | None = None,
    objective: str = "survival:cox",
    device: str = "auto",
    seed: int = 0,
    weights: np.ndarray | None = None,
    tune_rows: int = TUNE_ROWS,
    cv_results: list[dict[str, Any]] | None = None,
):
    """Fit an :class:`~models.xgb.XGBSurvival` with ``xgboost.dask`` (see the module docstring).

    ``params``/``n_rounds``: the tuned hyperparameters (``params_``/``n_rounds_`` of a model) or None to tune
    here on up to ``tune_rows`` rows. ``weights``: a row weight per training row (e.g. bootstrap copies).
    """
    import dask.array as da  # lazy: start-up cost (dask.array)
    import xgboost as xgb  # lazy: start-up cost (xgboost)
    from xgboost import dask as dxgb  # lazy: start-up cost (xgboost.dask loads distributed)

    if (params is None) != (n_rounds is None):
        raise ValueError("params and n_rounds go together: pass both to skip tuning, or neither")
    started = clock.perf_counter()
    chosen = device if device in ("cpu", "cuda") else device_on_workers(client, device)
    used = data.event_host if weights is None else data.event_host & (np.asarray(weights) > 0)
    if not used.any():
        raise ModelError("No events in the training data: a survival model cannot be fitted.")
    if params is None:
        tuned = tune_on_sample(data, device=here(chosen), seed=seed, tune_rows=tune_rows)
        params, n_rounds, cv_results = tuned["params"], tuned["n_rounds"], tuned["cv_results"]
    model = XGBSurvival(objective=objective, device=chosen, seed=seed)
    model.device_ = here(chosen)  # predictions in this process (bundles re-resolve it when loaded)
    model.nthread_ = default_threads()
    model.params_ = {**SHARED_PARAMS, **dict(params)}
    model.n_rounds_ = int(n_rounds)  # type: ignore[arg-type]
    model.cv_results_ = list(cv_results or [])
    model.feature_names_ = [str(f) for f in feature_names]
    model.treatment_index_ = [int(i) for i in treatment_index]
    if len(model.feature_names_) != data.X.shape[1]:
        raise ModelError(f"{len(model.feature_names_)} feature names for {data.X.shape[1]} columns.")
    w = _weights_like(data, weights)
    train_params = {k: v for k, v in model._train_params(model.params_).items() if k != "nthread"}
    if model._is_cox:
        train_params["base_score"] = 1.0  # hazard ratio 1: margin 0 (the built-in objective estimates ~0 too)
        label = da.where(data.event > 0, data.time, -data.time)
        dtrain = dxgb.DaskDMatrix(client, data.X, label=label, weight=w)
        objective_fn = CoxObjective(event_time_grid(data.time_host, data.event_host, weights, as_label=True))
    else:
        upper = da.where(data.event > 0, data.time, np.inf)
        dtrain = dxgb.DaskDMatrix(client, data.X, label_lower_bound=data.time, label_upper_bound=upper, weight=w)
        objective_fn = None
    result = dxgb.train(client, train_params, dtrain, num_boost_round=model.n_rounds_, obj=objective_fn)
    booster: xgb.Booster = result["booster"]
    booster.set_param({"device": model.device_, "nthread": model.nthread_})
    model.booster_ = booster
    model.trained_device_ = chosen
    if model._is_cox:
        margin = dxgb.predict(client, booster, data.X, output_margin=True).astype(np.float64)
        model.baseline_ = breslow_dask(margin, data.time, data.event, w,
                                       event_times=event_time_grid(data.time_host, data.event_host, weights))
    else:
        model.baseline_ = None
    model.fit_seconds_ = clock.perf_counter() - started
    log.info("xgb (dask, %d workers) %s: %d rounds with %s (%.1f s)", n_workers(client), objective,
             model.n_rounds_, model.params_, model.fit_seconds_)
    return model


def train_ensemble_dask(client, data: DaskTrainingData, *, feature_names: Sequence[str],
                        treatment_index: Sequence[int] = (), n_members: int = 10, resampling: str = "bootstrap",
                        seed: int = 0, confidence: float = 0.9, device: str = "auto", tune_rows: int = TUNE_ROWS):
    """A :class:`~models.ensemble.SurvivalEnsemble` of xgboost members, each trained with ``xgboost.dask``.

    Tuned once (as the single-process ensemble does), then member k trains on the resample drawn with seed
    ``seed + k``, as row weights.
    """
    started = clock.perf_counter()
    device = device if device in ("cpu", "cuda") else device_on_workers(client, device)
    ensemble = SurvivalEnsemble(kind="xgb", n_members=n_members, resampling=resampling, seed=seed,
                                confidence=confidence, member_options={"device": device})
    event = data.event_host
    tuned = tune_on_sample(data, device=here(device), seed=seed, tune_rows=tune_rows)
    ensemble.feature_names_ = [str(f) for f in feature_names]
    ensemble.treatment_index_ = [int(i) for i in treatment_index]
    ensemble.tuning_ = {k: tuned[k] for k in ("params", "n_rounds", "cv_results", "seconds")}
    ensemble.members_, ensemble.member_seeds_ = [], []
    for k in range(n_members):
        member_seed = seed + k
        weights = np.bincount(ensemble.resample_rows(event, member_seed), minlength=data.n)
        member = train_xgb_dask(client, data, feature_names=feature_names, treatment_index=treatment_index,
                                params=tuned["params"], n_rounds=tuned["n_rounds"], device=device, seed=member_seed,
                                weights=weights)
        ensemble.members_.append(member)
        ensemble.member_seeds_.append(member_seed)
    ensemble.fit_seconds_ = clock.perf_counter() - started
    return ensemble


def fit_on_dask(client, kind: str, X: np.ndarray, time: np.ndarray, event: np.ndarray, *,
                feature_names: Sequence[str], treatment_index: Sequence[int] = (), device: str = "auto",
                seed: int = 0, tune_rows: int = TUNE_ROWS):
    """The model :func:`models.training.make_model` would fit for ``kind``, fitted on the Dask cluster."""
    if kind not in DASK_KINDS:
        raise ModelError(f"--dask trains the xgboost models ({', '.join(DASK_KINDS)}); '{kind}' trains in one "
                         "process (leave out --dask).")
    data = scatter_rows(client, X, time, event)
    if kind == "xgb":
        return train_xgb_dask(client, data, feature_names=feature_names, treatment_index=treatment_index,
                              device=device, seed=seed, tune_rows=tune_rows)
    return train_ensemble_dask(client, data, feature_names=feature_names, treatment_index=treatment_index,
                               device=device, seed=seed, tune_rows=tune_rows)
