"""Warm the heavy per-cohort objects once per server process, in the background, at startup.

The first analysis of a cohort needs its treatment-effect model (trained once, seconds to a minute), the
evidence model and the cohort map (numba compilation and UMAP: about a minute). :func:`start` builds them
in a daemon thread when the server process first runs the app, so the first clinician does not wait for
them; the per-key locks of ``st.cache_resource`` make a request that arrives meanwhile wait for the same
computation instead of repeating it. ``ONCOTX_WARMUP=0`` turns it off (the tests do).
"""
from __future__ import annotations

import logging
import os
import threading

from genomics.spec import CohortSpec

log = logging.getLogger(__name__)
_LOCK = threading.Lock()
_STARTED: dict[str, threading.Thread] = {}


def enabled() -> bool:
    return os.environ.get("ONCOTX_WARMUP", "1") != "0"


def start(spec: CohortSpec) -> threading.Thread | None:
    """Start warming ``spec``'s cohort (once per process); returns the thread, or None when off or already done."""
    if not enabled():
        return None
    with _LOCK:
        if spec.id in _STARTED:
            return None
        thread = threading.Thread(target=_warm, args=(spec,), name=f"oncotx-warmup-{spec.id}", daemon=True)
        _STARTED[spec.id] = thread
    thread.start()
    return thread


def _warm(spec: CohortSpec) -> None:
    from dashboard.ui import model_cache  # lazy: start-up cost (models stack: in this thread, not the first page)

    try:
        model_cache.analysis_context(spec)
        log.info("warm-up of %s done", spec.id)
    except Exception:  # a warm-up failure must never take the server down; the page reports it on use
        log.warning("warm-up of %s failed", spec.id, exc_info=True)
