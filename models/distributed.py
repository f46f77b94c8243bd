"""Training and batch scoring on Dask: a LocalCluster by default, any Dask cluster by scheduler address.

Training (:func:`train_xgb_dask`, :func:`fit_on_dask`) runs ``xgboost.dask.train`` with the hyperparameters
of :class:`models.xgb.XGBSurvival` and returns the same ``XGBSurvival`` (or
:class:`models.ensemble.SurvivalEnsemble`) object a single process would, so bundles are identical in format.

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

Scoring (:func:`score_partitions`) reads a cohort file lazily (parquet/CSV with ``dask.dataframe``, ``.h5ad``
in row chunks through anndata's backed mode), applies the bundle's FeatureBuilder, model and the treatment
engine per partition (``map_partitions``), and each task writes its own part of the result; parts are joined
by streaming into one CSV or parquet file (or left as a parquet folder). The bundle and the reference
evidence are sent to every worker once. Memory per worker is bounded by one partition
(``partition_bytes``, default 64 MiB of input; a parquet row group is never split, so write large files with
row groups of at most ~100,000 rows) and the scoring chunk (``chunk_rows``).

Workers must be able to import OncoTx (the same environment as the client); for scoring from a file they
must see the file. With ``device="cuda"``, start a GPU cluster (e.g. dask-cuda's LocalCUDACluster) and pass
its address: xgboost then trains on each worker's GPU.
"""
from __future__ import annotations

import logging
import math
import shutil
import tempfile
import time as clock
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anndata as ad
import numpy as np
import pandas as pd

from genomics.errors import InputError
from models.baseline import BreslowBaseline
from models.errors import ModelError

log = logging.getLogger(__name__)

LOCAL = "local"
N_LOCAL_WORKERS = 2
TUNE_ROWS = 20_000
ROWS_PER_TRAINING_PART = 100_000
PARTITION_BYTES = "64MiB"
CHUNK_ROWS = 5_000
LARGE_ROW_GROUP = 250_000
OUTPUT_KINDS = (".csv", ".parquet")
Progress = Callable[[str], None]


# --------------------------------------------------------------------------------------------------- cluster
@contextmanager
def dask_client(address: str | None = None, *, n_workers: int = N_LOCAL_WORKERS, threads_per_worker: int = 1,
                memory_limit: str | float | None = "auto", timeout: str = "20s") -> Iterator[Any]:
    """A ``distributed.Client``: a new LocalCluster (``address`` None or ``"local"``) or an existing scheduler.

    The LocalCluster has ``n_workers`` worker processes with ``threads_per_worker`` threads each and no
    dashboard; it is closed on exit. A scheduler not reached within ``timeout`` is an :class:`InputError`.
    """
    from distributed import Client, LocalCluster

    if address in (None, "", LOCAL):
        quiet = logging.getLogger("distributed")  # the scheduler runs in this process: its INFO lines are not ours
        level = quiet.level
        quiet.setLevel(logging.ERROR)
        try:
            with LocalCluster(n_workers=n_workers, threads_per_worker=threads_per_worker, processes=True,
                              dashboard_address=None, memory_limit=memory_limit,
                              silence_logs=logging.ERROR) as cluster, Client(cluster) as client:
                client.run(_quiet_worker)
                log.info("dask: LocalCluster with %d workers × %d thread(s)", n_workers, threads_per_worker)
                yield client
        finally:
            quiet.setLevel(level)
        return
    try:
        client = Client(address, timeout=timeout)
    except (OSError, TimeoutError) as exc:
        raise InputError(f"Could not reach the Dask scheduler at {address}: {exc}") from None
    try:
        log.info("dask: connected to %s (%d workers)", address, len(client.scheduler_info()["workers"]))
        yield client
    finally:
        client.close()


def _quiet_worker() -> None:
    """Our own local workers: xgboost's console messages ('got rank …') would land on the CLI's stdout."""
    import xgboost

    xgboost.set_config(verbosity=0)


def _worker_has_gpu() -> bool:
    from models.device import cuda_available

    return cuda_available()


def device_on_workers(client, request: str | None = None) -> str:
    """The device policy applied to the workers, not to this process: ``cuda`` when asked for (or ``auto``) and
    every worker sees a GPU, else ``cpu`` (with a warning when ``cuda`` was asked for)."""
    from models.device import REQUESTS, requested_device

    wanted, source = requested_device(request)
    if wanted not in REQUESTS:
        raise ValueError(f"device must be auto, cpu or cuda, not {wanted!r} (from {source})")
    if wanted == "cpu":
        return "cpu"
    gpus = client.run(_worker_has_gpu)
    if gpus and all(gpus.values()):
        return "cuda"
    if wanted == "cuda":
        log.warning("device 'cuda' requested (%s) but not every Dask worker sees a GPU: training on CPUs", source)
    return "cpu"


def n_workers(client) -> int:
    """Workers the scheduler knows now (at least 1)."""
    return max(1, len(client.scheduler_info().get("workers", {})))


# ------------------------------------------------------------------------------------------------ Cox gradient
def _allreduce(values: np.ndarray, op: str) -> np.ndarray:
    """Sum/max over xgboost's collective (the training workers); the values themselves on one worker."""
    from xgboost import collective

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
    import dask.array as da

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
    import dask.array as da

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
    import dask

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


def here(device: str) -> str:
    """The device for work in this process (tuning, predictions) when the workers train on ``device``."""
    from models.device import cuda_available

    return "cuda" if device == "cuda" and cuda_available() else "cpu"


def _tuning_rows(n: int, event: np.ndarray, tune_rows: int, seed: int) -> np.ndarray:
    """All rows, or a random subsample of ``tune_rows`` that keeps the event share (sorted)."""
    if n <= tune_rows:
        return np.arange(n)
    from sklearn.model_selection import train_test_split

    rows, _ = train_test_split(np.arange(n), train_size=tune_rows, random_state=seed, stratify=event.astype(int))
    return np.sort(rows)


def tune_on_sample(data: DaskTrainingData, *, device: str, seed: int, tune_rows: int = TUNE_ROWS,
                   nthread: int | None = None) -> dict[str, Any]:
    """XGBSurvival's inner cross-validation in this process on (a subsample of) the training rows."""
    from models.xgb import XGBSurvival

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
    import dask.array as da
    import xgboost as xgb
    from xgboost import dask as dxgb

    from models.xgb import SHARED_PARAMS, XGBSurvival, default_threads

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
    from models.ensemble import SurvivalEnsemble

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


DASK_KINDS = ("xgb", "ensemble")


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


# ---------------------------------------------------------------------------------------------------- scoring
@dataclass(frozen=True)
class ScoringResult:
    """What a batch scoring run did."""

    out: Path
    n_patients: int
    n_partitions: int
    flagged: int  # patients with at least one option read as 'likely benefit'
    n_regimens: int
    seconds: float

    @property
    def patients_per_second(self) -> float:
        return self.n_patients / self.seconds if self.seconds > 0 else float("nan")


@dataclass(frozen=True)
class _Scorer:
    """Everything a partition needs besides its rows (sent to each worker once)."""

    bundle: Any
    evidence: Any
    spec: Any
    genes: Any  # genomics.cohorts.TableGenes for tables, None for AnnData partitions
    source_name: str
    source_sha256: str
    baseline: str
    chunk_rows: int
    parts_dir: str
    kind: str  # csv | parquet
    threads: int | None  # on a worker: its thread count; None in this process (the bundle's own setting)


def _limit_threads(bundle, threads: int | None) -> None:
    """xgboost predicts with the worker's thread count (the bundle's own setting would oversubscribe)."""
    if threads is None:
        return
    members = getattr(bundle.model, "members_", None) or [bundle.model]
    for member in members:
        booster = getattr(member, "booster_", None)
        if booster is not None and getattr(member, "nthread_", None) != threads:
            booster.set_param({"nthread": threads})
            member.nthread_ = threads


@dataclass(frozen=True)
class Batch:
    """How a batch's expression enters the model: the features' mode and the reported gene coverage.

    A single-process ``recommend`` transforms the whole input as one batch
    (:meth:`genomics.reference.GeneStandardiser.choose_mode`): one profile unlike the reference platform puts
    every patient on quantile mapping, and the reported gene coverage is the batch minimum. A cheap first pass
    over the partitions (read, align the genes; no model) works out both for the whole input, and every
    partition is then scored with them, so results never depend on how the input was partitioned. (Should the
    standardiser decide per sample one day, ``_batch_facts`` must follow it.)
    """

    mode: str = "auto"
    coverage: float | None = None
    probe: bool = False  # only work out the partition's own facts (mode, coverage); score nothing


def _batch_facts(scorer: _Scorer, adata: ad.AnnData) -> tuple[str, float]:
    """(auto mode, minimum gene coverage) of a partition as one batch, from its aligned expression only."""
    standardiser = scorer.bundle.features.standardiser_
    if standardiser is None or adata.n_obs == 0:
        return "none", 1.0
    values = standardiser.aligned(adata)
    return standardiser.choose_mode(adata, values), float(np.isfinite(values).mean(axis=1).min())


def _score_adata(scorer: _Scorer, adata: ad.AnnData, batch: Batch) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The recommend table of one partition (scored ``chunk_rows`` at a time, as one batch) and its facts."""
    from models.treatment import recommend_table, treatment_options

    if batch.mode == "auto" or batch.coverage is None:
        auto_mode, coverage = _batch_facts(scorer, adata)
    else:
        auto_mode, coverage = batch.mode, batch.coverage
    mode = auto_mode if batch.mode == "auto" else batch.mode
    tables = []
    for start in range(0, adata.n_obs, scorer.chunk_rows):
        chunk = adata[start: start + scorer.chunk_rows]
        options = treatment_options(scorer.bundle, chunk, cohort=scorer.evidence, baseline=scorer.baseline,
                                    expression_mode="auto" if mode == "none" else mode)
        tables.append(recommend_table(options))
    table = pd.concat(tables, ignore_index=True) if tables else pd.DataFrame([])
    if len(table):
        table["gene_coverage"] = coverage if batch.coverage is None else batch.coverage
    return table, {"mode": auto_mode, "coverage": coverage}


def _write_part(scorer: _Scorer, table: pd.DataFrame, number: int, facts: dict[str, Any]) -> pd.DataFrame:
    """Write one partition's rows; return its one-row summary."""
    from genomics.export import to_safe_csv

    path = Path(scorer.parts_dir) / f"part-{number:06d}.{scorer.kind}"
    tmp = path.with_suffix(".tmp")
    flagged = 0
    if not table.empty:
        if scorer.kind == "csv":
            tmp.write_bytes(to_safe_csv(table))
        else:
            table.to_parquet(tmp, index=False)
        tmp.replace(path)
        flagged = int(table.filter(like="reading").eq("likely benefit").any(axis=1).sum())
    return pd.DataFrame({"partition": [number], "patients": [len(table)], "flagged": [flagged],
                         "mode": [facts["mode"]], "coverage": [facts["coverage"]]})


def _run_partition(scorer: _Scorer, number: int, make: Callable[[], ad.AnnData], batch: Batch) -> pd.DataFrame:
    from threadpoolctl import threadpool_limits

    _limit_threads(scorer.bundle, scorer.threads)
    with threadpool_limits(scorer.threads):
        adata = make()
        if batch.probe:
            mode, coverage = _batch_facts(scorer, adata)
            return pd.DataFrame({"partition": [number], "patients": [adata.n_obs], "flagged": [0], "mode": [mode],
                                 "coverage": [coverage]})
        table, facts = _score_adata(scorer, adata, batch)
        return _write_part(scorer, table, number, facts)


def _score_table_partition(part: pd.DataFrame, scorer: _Scorer, batch: Batch = Batch(), number: int | None = None,
                           partition_info: dict | None = None) -> pd.DataFrame:
    from genomics.cohorts import cohort_from_table

    if number is None:
        number = int(partition_info["number"]) if partition_info else 0
    return _run_partition(scorer, number, lambda: cohort_from_table(
        part, scorer.spec, source=scorer.source_name, sha256=scorer.source_sha256, genes=scorer.genes), batch)


def _score_h5ad_rows(path: str, start: int, stop: int, spec_json: str | None, scorer: _Scorer, number: int,
                     batch: Batch) -> pd.DataFrame:
    from genomics.io import PROVENANCE_KEY

    def make() -> ad.AnnData:
        backed = ad.read_h5ad(path, backed="r")
        try:
            rows = backed[start:stop].to_memory()
        finally:
            backed.file.close()
        if spec_json is not None:
            rows.uns.setdefault(PROVENANCE_KEY, {})["spec"] = spec_json
        return rows

    return _run_partition(scorer, number, make, batch)


def _score_anndata_rows(rows: ad.AnnData, scorer: _Scorer, number: int, batch: Batch) -> pd.DataFrame:
    return _run_partition(scorer, number, lambda: rows, batch)


SUMMARY_META = {"partition": "i8", "patients": "i8", "flagged": "i8", "mode": "object", "coverage": "f8"}


def _table_source(path: Path, *, partition_bytes: str):
    """(dask DataFrame, spec, TableGenes, sha256) of a parquet or CSV patient table with its spec sidecar."""
    import dask.dataframe as dd

    from genomics.cohorts import table_genes
    from genomics.sniff import file_sha256
    from genomics.spec import CohortSpec

    sidecar = path.with_name(path.name + ".spec.json")
    if not sidecar.is_file():
        raise InputError(f"{path.name}: a cohort table needs its spec beside it as {sidecar.name}.")
    spec = CohortSpec.from_json_file(sidecar)
    name = path.name.lower()
    if path.is_dir() or name.endswith(".parquet"):
        frame = dd.read_parquet(str(path), split_row_groups="infer", blocksize=partition_bytes)
        _warn_large_row_groups(path)
    else:
        if name.endswith((".gz", ".bz2", ".xz", ".zip")):
            log.warning("%s is compressed: it cannot be split and is scored as one partition (use parquet)", path.name)
        dtypes: dict[str, str] = {spec.patient_id_col: "object"}
        for f in spec.clinical:
            dtypes[f.name] = "float64" if f.kind in ("numeric", "ordinal") else "object"
        for col in (*spec.treatments, *(c for ep in spec.endpoints for c in (ep.time_col, ep.event_col))):
            dtypes[col] = "float64"
        header = pd.read_csv(path, nrows=0, sep=None, engine="python")
        sep = "\t" if len(header.columns) == 1 and "\t" in str(header.columns[0]) else ","
        frame = dd.read_csv(str(path), sep=sep, blocksize=None if name.endswith((".gz", ".bz2", ".xz", ".zip"))
                            else partition_bytes, dtype={k: v for k, v in dtypes.items()}, assume_missing=True)
    meta = frame._meta
    numeric = [pd.api.types.is_numeric_dtype(meta[c]) for c in meta.columns]
    genes = table_genes(list(meta.columns), numeric, spec)
    if not genes.columns:
        raise InputError(f"{path.name}: no gene columns recognised.")
    sha = f"{file_sha256(path)}" if path.is_file() else f"folder:{path.name}"
    return frame, spec, genes, sha


def _warn_large_row_groups(path: Path) -> None:
    import pyarrow.parquet as pq

    files = sorted(path.glob("*.parquet")) if path.is_dir() else [path]
    for file in files[:50]:
        meta = pq.ParquetFile(file).metadata
        largest = max((meta.row_group(i).num_rows for i in range(meta.num_row_groups)), default=0)
        if largest > LARGE_ROW_GROUP:
            log.warning("%s has row groups of %d rows: a partition cannot be smaller than a row group, so a worker "
                        "holds that many rows at once (rewrite with row_group_size=50000 to bound memory)",
                        file.name, largest)
            return


def _source_name(source: str | Path | ad.AnnData) -> str:
    return source.uns.get("oncotx", {}).get("cohort", "cohort") if isinstance(source, ad.AnnData) else Path(source).name


def score_partitions(
    bundle,
    source: str | Path | ad.AnnData,
    out: Path,
    *,
    client=None,
    reference: ad.AnnData | Any,
    baseline: str = "none",
    partition_bytes: str = PARTITION_BYTES,
    rows_per_partition: int | None = None,
    chunk_rows: int = CHUNK_ROWS,
    progress: Progress | None = None,
) -> ScoringResult:
    """Treatment options for every patient of a large cohort, partition by partition (see the module docstring).

    Parameters
    ----------
    bundle
        A loaded :class:`~models.registry.Bundle`.
    source
        A ``.parquet`` file or folder, a ``.csv`` (with its ``.spec.json`` sidecar), an ``.h5ad``, or an
        AnnData already in memory (sent to the workers in ``rows_per_partition`` blocks).
    out
        ``*.csv`` or ``*.parquet`` (one file, joined by streaming), or a folder (parquet parts).
    client
        A ``distributed.Client`` (:func:`dask_client`); None scores the same partitions one after another in
        this process (the single-process baseline of the benchmarks, also with bounded memory).
    reference
        The reference cohort the evidence is judged against (normally the training cohort), or a fitted
        :class:`~models.treatment.RegimenEvidence`.
    partition_bytes, rows_per_partition
        Partition size: input bytes for parquet/CSV (a parquet row group is never split); rows for h5ad and
        in-memory sources (default: as many rows as fit ``partition_bytes`` of float32 expression).
    baseline, chunk_rows
        As for :func:`models.treatment.treatment_options`; rows are scored ``chunk_rows`` at a time.

    The output has the columns and row order of the single-process ``recommend``.
    """
    from genomics.regimens import regimens
    from models.treatment import RegimenEvidence

    say = progress or (lambda message: log.info(message))
    started = clock.perf_counter()
    out = Path(out)
    kind = out.suffix.lower()
    if kind and kind not in OUTPUT_KINDS:
        raise InputError(f"--out must end in .csv or .parquet (or be a folder), not {out.name}.")
    evidence = reference if isinstance(reference, RegimenEvidence) else RegimenEvidence().fit(bundle.features, reference)
    out.parent.mkdir(parents=True, exist_ok=True)
    parts_dir = Path(tempfile.mkdtemp(prefix=f".{out.name}.parts-", dir=out.parent))
    part_kind = "csv" if kind == ".csv" else "parquet"
    threads = 1 if client is not None else None
    try:
        summaries = _dispatch(bundle, source, evidence=evidence, client=client, baseline=baseline,
                              partition_bytes=partition_bytes, rows_per_partition=rows_per_partition,
                              chunk_rows=chunk_rows, parts_dir=parts_dir, part_kind=part_kind, threads=threads,
                              say=say)
        summary = pd.concat(summaries, ignore_index=True).sort_values("partition")
        _join_parts(parts_dir, out, part_kind)
    finally:
        shutil.rmtree(parts_dir, ignore_errors=True)
    seconds = clock.perf_counter() - started
    result = ScoringResult(out=out, n_patients=int(summary["patients"].sum()), n_partitions=len(summary),
                           flagged=int(summary["flagged"].sum()), n_regimens=len(regimens(bundle.features.treatments_)),
                           seconds=seconds)
    say(f"scored {result.n_patients:,} patients in {result.n_partitions} partitions in {seconds:.1f} s "
        f"({result.patients_per_second:,.0f} patients/s)")
    return result


def _dispatch(bundle, source, *, evidence, client, baseline: str, partition_bytes: str, rows_per_partition: int | None,
              chunk_rows: int, parts_dir: Path, part_kind: str, threads: int | None,
              say: Progress) -> list[pd.DataFrame]:
    """Run the partitions (on the cluster, or one after another here), reconcile them into one batch (see
    :class:`Batch`); their summaries."""
    run = _partition_runner(bundle, source, evidence=evidence, client=client, baseline=baseline,
                            partition_bytes=partition_bytes, rows_per_partition=rows_per_partition,
                            chunk_rows=chunk_rows, parts_dir=parts_dir, part_kind=part_kind, threads=threads, say=say)
    facts = pd.concat(run(None, Batch(probe=True)), ignore_index=True)
    facts = facts[facts["patients"] > 0]
    if facts.empty:
        return [facts]
    whole = Batch(mode="quantile" if (facts["mode"] == "quantile").any() else str(facts["mode"].iloc[0]),
                  coverage=float(facts["coverage"].min()))
    differ = int(((facts["mode"] != whole.mode) | (facts["coverage"] != whole.coverage)).sum())
    say(f"the whole input is one batch: expression mode {whole.mode}, gene coverage {whole.coverage:.3f}"
        + (f" ({differ} partition(s) alone would have had other values)" if differ else ""))
    return run(None, whole)


def _partition_runner(bundle, source, *, evidence, client, baseline: str, partition_bytes: str,
                      rows_per_partition: int | None, chunk_rows: int, parts_dir: Path, part_kind: str,
                      threads: int | None, say: Progress) -> Callable[[list[int] | None, Batch], list[pd.DataFrame]]:
    """``run(partitions or None for all, batch)`` for the source: on the cluster, or one after another here."""
    import dask

    from genomics.cohorts import spec_of
    from genomics.io import PROVENANCE_KEY

    def scorer_for(spec, genes, name: str, sha: str):
        scorer = _Scorer(bundle=bundle, evidence=evidence, spec=spec, genes=genes, source_name=name,
                         source_sha256=sha, baseline=baseline, chunk_rows=chunk_rows, parts_dir=str(parts_dir),
                         kind=part_kind, threads=threads)
        return client.scatter(scorer, broadcast=True) if client is not None else scorer

    def rows_for(n_vars: int) -> int:
        if rows_per_partition is not None:
            return max(1, int(rows_per_partition))
        from dask.utils import parse_bytes

        return max(1, parse_bytes(partition_bytes) // (4 * max(n_vars, 1) + 256))

    def by_rows(n_obs: int, n_vars: int) -> list[tuple[int, int]]:
        step = rows_for(n_vars)
        return [(a, min(a + step, n_obs)) for a in range(0, n_obs, step)]

    def execute(calls: list[tuple[Callable, tuple]]) -> list[pd.DataFrame]:
        if client is None:
            return [fn(*args) for fn, args in calls]
        return _gather(client, [dask.delayed(fn)(*args) for fn, args in calls], say)

    if isinstance(source, ad.AnnData):
        scorer = scorer_for(spec_of(source), None, _source_name(source), "")
        bounds = by_rows(source.n_obs, source.n_vars)
        blocks = [source[a:b].copy() for a, b in bounds]
        if client is not None:
            blocks = [client.scatter(block) for block in blocks]
        say(f"{_source_name(source)}: {len(bounds)} partition(s) of up to {bounds[0][1] - bounds[0][0]:,} patients"
            if bounds else "empty input")

        def run_memory(numbers: list[int] | None, batch: Batch) -> list[pd.DataFrame]:
            chosen = range(len(blocks)) if numbers is None else numbers
            return execute([(_score_anndata_rows, (blocks[i], scorer, i, batch)) for i in chosen])

        return run_memory
    path = Path(source)
    if not path.exists():
        raise InputError(f"No cohort file {path}.")
    if path.suffix.lower() == ".h5ad":
        backed = ad.read_h5ad(path, backed="r")
        try:
            n_obs, n_vars = backed.n_obs, backed.n_vars
            prov = dict(backed.uns.get(PROVENANCE_KEY, {}))
        finally:
            backed.file.close()
        sidecar = path.with_name(path.name + ".spec.json")
        spec_json = None
        if sidecar.is_file():
            from genomics.spec import CohortSpec

            spec_json = CohortSpec.from_json_file(sidecar).to_json()
        elif "spec" not in prov:
            raise InputError(f"{path.name}: no cohort spec inside the .h5ad and no {sidecar.name} beside it.")
        scorer = scorer_for(None, None, path.name, "")
        bounds = by_rows(n_obs, n_vars)
        say(f"{path.name}: {len(bounds)} partition(s)")

        def run_h5ad(numbers: list[int] | None, batch: Batch) -> list[pd.DataFrame]:
            chosen = range(len(bounds)) if numbers is None else numbers
            return execute([(_score_h5ad_rows, (str(path), *bounds[i], spec_json, scorer, i, batch)) for i in chosen])

        return run_h5ad
    frame, spec, genes, sha = _table_source(path, partition_bytes=partition_bytes)
    scorer = scorer_for(spec, genes, path.name, sha)
    say(f"{path.name}: {frame.npartitions} partition(s), {len(genes.columns)} gene columns")

    def run_table(numbers: list[int] | None, batch: Batch) -> list[pd.DataFrame]:
        if client is None:
            chosen = range(frame.npartitions) if numbers is None else numbers
            return [_score_table_partition(frame.get_partition(i).compute(scheduler="sync"), scorer, batch, i)
                    for i in chosen]
        if numbers is None:
            scored = frame.map_partitions(_score_table_partition, scorer, batch, meta=SUMMARY_META)
            return _gather(client, scored.to_delayed(), say)
        tasks = [frame.get_partition(i).map_partitions(_score_table_partition, scorer, batch, i, meta=SUMMARY_META)
                 for i in numbers]
        return _gather(client, [t.to_delayed()[0] for t in tasks], say)

    return run_table


def _gather(client, tasks: list, say: Progress) -> list[pd.DataFrame]:
    from distributed import as_completed

    futures = client.compute(tasks)
    done, total, patients, results = 0, len(futures), 0, []
    step = max(1, total // 10)
    for future in as_completed(futures):
        summary = future.result()
        results.append(summary)
        done += 1
        patients += int(summary["patients"].sum())
        if done % step == 0 or done == total:
            say(f"scored {done}/{total} partitions ({patients:,} patients)")
    return results


def _join_parts(parts_dir: Path, out: Path, part_kind: str) -> None:
    """Move the parts into place: streamed into one CSV/parquet file, or as a folder of parquet parts."""
    parts = sorted(parts_dir.glob(f"part-*.{part_kind}"))
    tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex[:8]}.tmp")
    if out.suffix.lower() == ".csv":
        with tmp.open("wb") as sink:
            for i, part in enumerate(parts):
                with part.open("rb") as src:
                    header = src.readline()
                    if i == 0:
                        sink.write(header)
                    shutil.copyfileobj(src, sink, length=1 << 20)
    elif out.suffix.lower() == ".parquet":
        import pyarrow.parquet as pq

        writer = None
        try:
            for part in parts:
                table = pq.read_table(part)
                if writer is None:
                    writer = pq.ParquetWriter(tmp, table.schema)
                writer.write_table(table.cast(writer.schema))
        finally:
            if writer is not None:
                writer.close()
        if writer is None:
            pd.DataFrame([]).to_parquet(tmp)
    else:
        tmp.mkdir()
        for part in parts:
            part.replace(tmp / part.name)
    if out.is_dir():
        shutil.rmtree(out)
    elif out.exists():
        out.unlink()
    tmp.replace(out)
