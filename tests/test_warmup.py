"""Startup warm-up (dashboard.ui.warmup): the first analysis context is built in the background, once."""
from __future__ import annotations

import streamlit as st

from dashboard.patient import service as patient_analysis
from dashboard.ui import model_cache, warmup
from genomics.demo import demo_spec


def test_warm_up_builds_the_context_once_in_the_background(monkeypatch, tmp_path):
    monkeypatch.setenv("ONCOTX_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("ONCOTX_NO_MAP", "1")  # the map's UMAP is covered elsewhere; keep this test short
    monkeypatch.delenv("ONCOTX_DATA", raising=False)
    monkeypatch.setattr(warmup, "_STARTED", {})
    st.cache_resource.clear()
    built = []
    real = patient_analysis.make_context
    monkeypatch.setattr(patient_analysis, "make_context", lambda *a, **k: built.append(1) or real(*a, **k))
    monkeypatch.setenv("ONCOTX_WARMUP", "0")
    assert warmup.start(demo_spec()) is None  # off
    monkeypatch.setenv("ONCOTX_WARMUP", "1")
    thread = warmup.start(demo_spec())
    assert thread is not None and warmup.start(demo_spec()) is None  # once per process
    thread.join(timeout=600)
    assert not thread.is_alive()
    assert built == [1]
    context = model_cache.analysis_context(demo_spec())  # a request after the warm-up: served from the cache
    assert built == [1]
    assert context.bundle.card.model_kind == "effects" and len(context.cohort_risks) == context.cohort.n_obs
    assert (tmp_path / "home" / "models").is_dir()
    st.cache_resource.clear()
