"""The Dask cluster: a LocalCluster by default, any Dask cluster by scheduler address; the workers' device.

Workers must be able to import OncoTx (the same environment as the client); for scoring from a file they
must see the file. With ``device="cuda"``, start a GPU cluster (e.g. dask-cuda's LocalCUDACluster) and pass
its address: xgboost then trains on each worker's GPU.
"""
from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from genomics.errors import InputError
from models import device as device_policy

log = logging.getLogger(__name__)

LOCAL = "local"
N_LOCAL_WORKERS = 2


@contextmanager
def dask_client(address: str | None = None, *, n_workers: int = N_LOCAL_WORKERS, threads_per_worker: int = 1,
                memory_limit: str | float | None = "auto", timeout: str = "20s") -> Iterator[Any]:
    """A ``distributed.Client``: a new LocalCluster (``address`` None or ``"local"``) or an existing scheduler.

    The LocalCluster has ``n_workers`` worker processes with ``threads_per_worker`` threads each and no
    dashboard; it is closed on exit. A scheduler not reached within ``timeout`` is an :class:`InputError`.
    """
    from distributed import Client, LocalCluster  # lazy: start-up cost (distributed)

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
    import xgboost  # lazy: start-up cost (xgboost; runs on the workers)

    xgboost.set_config(verbosity=0)


def _worker_has_gpu() -> bool:
    return device_policy.cuda_available()


def device_on_workers(client, request: str | None = None) -> str:
    """The device policy applied to the workers, not to this process: ``cuda`` when asked for (or ``auto``) and
    every worker sees a GPU, else ``cpu`` (with a warning when ``cuda`` was asked for)."""
    wanted, source = device_policy.requested_device(request)
    if wanted not in device_policy.REQUESTS:
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



def here(device: str) -> str:
    """The device for work in this process (tuning, predictions) when the workers train on ``device``."""
    return "cuda" if device == "cuda" and device_policy.cuda_available() else "cpu"

