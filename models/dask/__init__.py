"""Training and batch scoring on Dask: a LocalCluster by default, any Dask cluster by scheduler address.

* :mod:`models.dask.cluster`: the client (:func:`dask_client`), the workers' device and count.
* :mod:`models.dask.train`: ``xgboost.dask`` training with the exact Cox gradient across workers
  (:func:`cox_gradient`) and the Breslow baseline aggregated over partitions (:func:`breslow_dask`);
  :func:`fit_on_dask` returns the same model objects a single process fits.
* :mod:`models.dask.score`: :func:`score_partitions`, the ``recommend`` table of a large cohort partition by
  partition, with the partition readers and writers.

Importing this package loads xgboost and the treatment engine; the dask and distributed libraries load when a
function needs them. (Inside the package ``import dask`` is the dask library: imports are absolute.)
"""
from __future__ import annotations

from models.dask.cluster import LOCAL, N_LOCAL_WORKERS, dask_client, device_on_workers, n_workers
from models.dask.score import CHUNK_ROWS, PARTITION_BYTES, Batch, ScoringResult, score_partitions
from models.dask.train import (
    DASK_KINDS,
    TUNE_ROWS,
    CoxObjective,
    DaskTrainingData,
    breslow_dask,
    cox_gradient,
    event_time_grid,
    fit_on_dask,
    scatter_rows,
    train_ensemble_dask,
    train_xgb_dask,
    tune_on_sample,
)

__all__ = [
    "CHUNK_ROWS", "DASK_KINDS", "LOCAL", "N_LOCAL_WORKERS", "PARTITION_BYTES", "TUNE_ROWS", "Batch", "CoxObjective",
    "DaskTrainingData", "ScoringResult", "breslow_dask", "cox_gradient", "dask_client", "device_on_workers",
    "event_time_grid", "fit_on_dask", "n_workers", "scatter_rows", "score_partitions", "train_ensemble_dask",
    "train_xgb_dask", "tune_on_sample",
]
