"""Warm the heavy per-cohort objects once per server process, in the background, from the first run of the app.

What the first analysis of a cohort would otherwise wait for, in stages (:data:`STAGES`):

1. ``imports``: the numerical stack (numba, scanpy, plotly) and the Patient page's modules;
2. ``cohort``: the reference cohort and its summary (what the Patient page needs to draw its inputs);
3. ``models``: the treatment-effect model (trained once when absent), the cohort's default model bundles that
   exist, and the analysis context (evidence model, cohort risks, the map: numba compilation and UMAP);
4. ``analysis``: the held-back example patients and one throw-away analysis of the first of them (pure: nothing
   is audited or saved), so that the numba/explanation code paths of the first real Analyse are compiled.

:func:`start` runs them in a daemon thread the first time any session runs ``app.py`` (the sign-in page too), so
the cohort is warm by the time someone has signed in; a server started with
``--server.scriptHealthCheckEnabled true`` and asked ``/_stcore/script-health-check`` once (bench.serve does)
starts it at server start, before any browser connects. The per-key locks of ``st.cache_resource`` make a
request that arrives meanwhile wait for the same computation instead of repeating it, and the app shows a
spinner while the first stages run (:func:`in_progress`, :func:`wait`). ``ONCOTX_WARMUP=0`` turns it off (the
tests do, and ``python -m bench.load --cold``).
"""
from __future__ import annotations

import importlib
import logging
import os
import threading
import time
from dataclasses import dataclass, field

from genomics.spec import CohortSpec

log = logging.getLogger(__name__)
STAGES = ("imports", "cohort", "models", "analysis")
MODULES = ("numba", "scanpy", "plotly.graph_objects", "dashboard.ui.patient_view", "dashboard.patient.charts",
           "dashboard.patient.service")
_LOCK = threading.Lock()


@dataclass
class Progress:
    """One cohort's warm-up: the thread, the stages done (each with the seconds it took), and any failure."""

    thread: threading.Thread | None = None
    done: dict[str, float] = field(default_factory=dict)
    failed: str = ""
    finished: threading.Event = field(default_factory=threading.Event)
    changed: threading.Condition = field(default_factory=threading.Condition)


_STARTED: dict[str, Progress] = {}


def enabled() -> bool:
    return os.environ.get("ONCOTX_WARMUP", "1") != "0"


def start(spec: CohortSpec) -> threading.Thread | None:
    """Start warming ``spec``'s cohort (once per process); returns the thread, or None when off or already done."""
    if not enabled():
        return None
    with _LOCK:
        if spec.id in _STARTED:
            return None
        progress = Progress()
        # sklearn imported here, once, before any warm-up thread: two threads importing it at once fail
        # ("partially initialized module sklearn.utils.sparsefuncs", seen under parallel sessions)
        import sklearn.utils  # noqa: F401  # lazy: start-up cost (once per process, before the threads)
        progress.thread = threading.Thread(target=_warm, args=(spec, progress), name=f"oncotx-warmup-{spec.id}",
                                           daemon=True)
        _STARTED[spec.id] = progress
    progress.thread.start()
    return progress.thread


def progress_of(spec: CohortSpec) -> Progress | None:
    return _STARTED.get(spec.id)


def in_progress(spec: CohortSpec, stage: str = "cohort") -> bool:
    """Whether ``spec``'s warm-up is running and has not yet finished ``stage`` (nor failed)."""
    p = _STARTED.get(spec.id)
    return p is not None and not p.finished.is_set() and stage not in p.done


def wait(spec: CohortSpec, stage: str = "cohort", timeout: float = 300.0) -> bool:
    """Wait until ``spec``'s warm-up has done ``stage`` (or finished, or failed); True when the stage is done."""
    if stage not in STAGES:
        raise ValueError(f"unknown warm-up stage {stage!r}")
    p = _STARTED.get(spec.id)
    if p is None:
        return False
    deadline = time.monotonic() + timeout
    with p.changed:
        while stage not in p.done and not p.finished.is_set():
            left = deadline - time.monotonic()
            if left <= 0:
                break
            p.changed.wait(min(left, 1.0))
    return stage in p.done


def _stage(progress: Progress, name: str, t0: float) -> float:
    with progress.changed:
        progress.done[name] = round(time.monotonic() - t0, 2)
        progress.changed.notify_all()
    log.info("warm-up: %s done in %.1f s", name, progress.done[name])
    return time.monotonic()


def _warm(spec: CohortSpec, progress: Progress) -> None:
    try:
        t = time.monotonic()
        for name in MODULES:
            importlib.import_module(name)
        t = _stage(progress, "imports", t)
        from dashboard.ui import loaders  # lazy: start-up cost (anndata stack: in this thread, not the first page)

        loaders.cohort(spec.id)
        loaders.cohort_summary(spec.id)
        t = _stage(progress, "cohort", t)
        from dashboard.ui import model_cache  # lazy: start-up cost (models stack: in this thread, not the first page)

        for endpoint in spec.endpoints:  # the Cohort page's default models, when trained (never trained here)
            model_cache.existing_bundle(spec, endpoint.name)
        context = model_cache.analysis_context(spec)
        t = _stage(progress, "models", t)
        _first_analysis(spec, context, model_cache)
        _stage(progress, "analysis", t)
        log.info("warm-up of %s done", spec.id)
    except Exception as exc:  # a warm-up failure must never take the server down; the page reports it on use
        progress.failed = type(exc).__name__
        log.warning("warm-up of %s failed", spec.id, exc_info=True)
    finally:
        with progress.changed:
            progress.finished.set()
            progress.changed.notify_all()


def _first_analysis(spec: CohortSpec, context, model_cache) -> None:
    """One analysis of a held-back example patient, thrown away (compiles the analysis's code paths)."""
    from dashboard.patient import service  # lazy: start-up cost (models stack)

    ids = model_cache.example_patients(spec)
    if not ids:
        return
    upload = model_cache.example_upload(spec, ids[0])
    if not upload.report.ok or upload.adata is None:
        return
    obs = upload.adata.obs.iloc[0]
    clinical = {f.name: obs[f.name] for f in spec.clinical if f.name in obs.index}
    regimen = {t: int(obs[t]) for t in spec.treatments if t in obs.index and obs[t] == obs[t]}  # not NaN
    service.analyse(upload, context=context, clinical=clinical, regimen=regimen, baseline="none", user="warm-up")
