"""Startup warm-up (dashboard.ui.warmup): imports, cohort, models, the analysis context and one example analysis,
built in the background, once; and the per-session results cache of dashboard.ui.model_cache.build_analysis."""
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
    assert warmup.wait(demo_spec(), "cohort", timeout=600)  # what the app's first-load spinner waits for
    assert not warmup.in_progress(demo_spec(), "cohort")
    thread.join(timeout=600)
    assert not thread.is_alive()
    progress = warmup.progress_of(demo_spec())
    assert progress.failed == "" and list(progress.done) == list(warmup.STAGES)  # through one example analysis
    assert not warmup.in_progress(demo_spec(), "analysis") and warmup.wait(demo_spec(), "analysis", timeout=1)
    assert built == [1]
    context = model_cache.analysis_context(demo_spec())  # a request after the warm-up: served from the cache
    assert built == [1]
    assert context.bundle.card.model_kind == "effects" and len(context.cohort_risks) == context.cohort.n_obs
    assert (tmp_path / "home" / "models").is_dir()
    st.cache_resource.clear()


def test_analysis_key_follows_every_input():
    import anndata as ad
    import numpy as np

    from genomics.validate import UploadResult

    spec = demo_spec()
    adata = ad.AnnData(np.ones((1, 3)))
    adata.obs_names, adata.var_names = ["s1"], ["A", "B", "C"]
    adata.uns["oncotx"] = {"source_sha256": "ab" * 32}
    upload = UploadResult(adata, None, None)
    base = {"spec": spec, "clinical": {"age_at_diagnosis": 50.0}, "regimen": {"chemotherapy": 1},
            "baseline": "none", "bundle_sha256": "cd" * 32, "user": "dr.alice"}
    key = model_cache.analysis_key(upload, **base)
    assert key == model_cache.analysis_key(upload, **base)
    for change in ({"clinical": {"age_at_diagnosis": 51.0}}, {"regimen": {"chemotherapy": 0}},
                   {"baseline": "current"}, {"bundle_sha256": "ef" * 32}, {"user": "dr.bob"}):
        assert model_cache.analysis_key(upload, **(base | change)) != key, change
    other = adata.copy()
    other.X = other.X * 2  # same file hash, parsed differently (another orientation, say)
    assert model_cache.analysis_key(UploadResult(other, None, None), **base) != key
