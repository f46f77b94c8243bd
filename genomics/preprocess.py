"""Cohort preprocessing with scanpy: scale-aware log transform, optional ComBat, HVG, scaling, PCA,
neighbours, UMAP, Leiden; reference statistics saved with the result; cached per cohort and version.

The result is a new AnnData (the input is never modified) whose ``X`` is on a log scale (or the
cohort's z-scores), with ``obsm["X_pca"]``, ``obsm["X_umap"]``, ``obs["leiden"]``, the reference
statistics in ``var`` (``ref_mean``, ``ref_sd``, ``ref_q05`` … ``ref_q95``, ``pca_mean``,
``pca_sd``, ``highly_variable``), the loadings in ``varm["PCs"]`` and provenance in
``uns["oncotx"]["pipeline"]``.

Neighbours, UMAP and Leiden run on the GPU with rapids-singlecell when it is installed, a CUDA device is
visible and the device policy allows it (``ONCOTX_DEVICE``/settings ``device``: ``auto`` or ``cuda``);
otherwise, or if the GPU path fails, with scanpy on the CPU. The backend used is logged and recorded in
provenance. For cohorts too large to load, :mod:`genomics.chunked` computes the reference statistics and
PCA from the file in row chunks.
"""
from __future__ import annotations

import importlib.util
import logging
import os
import time
from dataclasses import asdict, dataclass
from importlib.metadata import version
from pathlib import Path

import anndata as ad
import numpy as np
import scanpy as sc

from genomics.cohorts import load_cohort
from genomics.errors import InputError
from genomics.settings import Settings, get_settings
from genomics.spec import PROVENANCE_KEY, spec_of

log = logging.getLogger(__name__)

PIPELINE_VERSION = "1"
QUANTILES = (0.05, 0.25, 0.5, 0.75, 0.95)
SCALE_CLIP = 10.0


@dataclass(frozen=True)
class PipelineOptions:
    """Options of the cohort pipeline (recorded in provenance; part of the cache key)."""

    n_top_genes: int = 2000
    n_pcs: int = 30
    n_neighbors: int = 15
    leiden_resolution: float = 1.0
    batch_correct: bool = False
    umap: bool = True
    seed: int = 0


def gpu_preprocessing_available() -> bool:
    """rapids-singlecell importable and a CUDA device visible to CuPy (both optional; never required)."""
    if importlib.util.find_spec("rapids_singlecell") is None:
        return False
    try:
        import cupy  # lazy: optional dependency (GPU)

        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:  # no driver, no device, broken install: the CPU path it is
        return False


def preprocessing_backend(device: str | None = None) -> str:
    """``"rapids"`` or ``"scanpy"`` for a device request (None → the configured device, see genomics.settings)."""
    wanted = (device or get_settings().device or "auto").lower()
    if wanted == "cpu":
        return "scanpy"
    if gpu_preprocessing_available():
        return "rapids"
    if wanted == "cuda":
        log.warning("GPU preprocessing requested but rapids-singlecell or a CUDA device is missing: using scanpy")
    return "scanpy"


def _to_host(value):
    """A CuPy array or sparse matrix back in host memory (anything else unchanged)."""
    return value.get() if hasattr(value, "get") and type(value).__module__.startswith("cupy") else value


def _graph_steps_gpu(adata: ad.AnnData, options: PipelineOptions) -> None:
    """Neighbours, UMAP and Leiden with rapids-singlecell (same parameters as the scanpy path)."""
    import rapids_singlecell as rsc  # lazy: optional dependency (GPU)

    rsc.pp.neighbors(adata, n_neighbors=options.n_neighbors, use_rep="X_pca", random_state=options.seed)
    if options.umap:
        rsc.tl.umap(adata, random_state=options.seed)
    rsc.tl.leiden(adata, resolution=options.leiden_resolution, random_state=options.seed)
    for store in (adata.obsm, adata.obsp):
        for key in list(store.keys()):
            store[key] = _to_host(store[key])


def _graph_steps_cpu(adata: ad.AnnData, options: PipelineOptions) -> None:
    sc.pp.neighbors(adata, n_neighbors=options.n_neighbors, use_rep="X_pca", random_state=options.seed)
    if options.umap:
        sc.tl.umap(adata, random_state=options.seed)
    sc.tl.leiden(adata, resolution=options.leiden_resolution, flavor="igraph", n_iterations=2, directed=False,
                 random_state=options.seed)


def to_log_scale(adata: ad.AnnData) -> list[str]:
    """Bring ``adata.X`` to a log scale in place according to ``uns["oncotx"]["scale"]``.

    counts → normalize_total (1e4) + log1p; TPM/FPKM → log1p; log or z-score → unchanged.
    Returns the transformations applied and records them; refuses to log-transform twice.
    """
    prov = adata.uns.setdefault(PROVENANCE_KEY, {})
    scale = prov.get("scale")
    if scale is None:
        raise InputError("The data carry no detected scale; validate them first.")
    done = list(prov.get("transformations", []))
    if any(step.startswith("log1p") for step in done):
        return []
    steps: list[str] = []
    if scale == "counts":
        sc.pp.normalize_total(adata, target_sum=1e4)
        steps.append("normalize_total(target_sum=1e4)")
    if scale in ("counts", "tpm"):
        sc.pp.log1p(adata)
        steps.append("log1p")
    prov["transformations"] = done + steps
    prov["log_scale"] = True
    return steps


def _fill_missing(adata: ad.AnnData) -> int:
    """Replace NaN/inf cells by the gene's cohort mean (PCA cannot take them); returns how many."""
    X = np.asarray(adata.X, dtype=np.float32)
    bad = ~np.isfinite(X)
    n_bad = int(bad.sum())
    if n_bad:
        means = np.nanmean(np.where(bad, np.nan, X), axis=0)
        X[bad] = np.take(np.nan_to_num(means), np.nonzero(bad)[1])
        adata.X = X
    return n_bad


def preprocess_cohort(adata: ad.AnnData, *, options: PipelineOptions | None = None,
                      device: str | None = None) -> ad.AnnData:
    """Run the cohort pipeline on a copy of a loaded cohort (see module docstring).

    ``device`` (auto/cpu/cuda; default: the configured device) picks the backend of the graph steps.
    """
    options = options or PipelineOptions()
    spec = spec_of(adata)
    if adata.n_obs < 10 or adata.n_vars < 5:
        raise InputError(f"Cohort {spec.id!r} is too small to preprocess ({adata.n_obs} × {adata.n_vars}).")
    started = time.perf_counter()
    out = adata.copy()
    out.X = np.asarray(out.X, dtype=np.float32)
    prov = out.uns.setdefault(PROVENANCE_KEY, {})
    prov.setdefault("scale", spec.scale)
    steps = to_log_scale(out)
    n_filled = _fill_missing(out)
    if n_filled:
        steps.append(f"filled {n_filled} missing cells with the gene mean")
    if options.batch_correct and spec.batch_col and spec.batch_col in out.obs:
        batches = out.obs[spec.batch_col].astype(str)
        if batches.nunique() > 1:
            out.obs["_batch"] = batches.to_numpy()
            sc.pp.combat(out, key="_batch")
            del out.obs["_batch"]
            steps.append(f"combat(batch={spec.batch_col})")
    _reference_statistics(out)

    _select_genes(out, spec_scale=prov["scale"], n_top=options.n_top_genes)
    hv = out.var["highly_variable"].to_numpy()
    Z = np.asarray(out.X, dtype=np.float32)[:, hv]
    mean = out.var["ref_mean"].to_numpy()[hv]
    sd = out.var["ref_sd"].to_numpy()[hv] * np.sqrt((out.n_obs - 1) / out.n_obs)  # population sd, as sc.pp.scale
    sd[sd == 0] = 1.0
    Z -= mean.astype(np.float32)
    Z /= sd.astype(np.float32)
    np.clip(Z, -SCALE_CLIP, SCALE_CLIP, out=Z)
    out.var["pca_mean"] = np.nan
    out.var["pca_sd"] = np.nan
    out.var.loc[hv, "pca_mean"] = mean
    out.var.loc[hv, "pca_sd"] = sd
    n_comps = int(min(options.n_pcs, Z.shape[1] - 1, out.n_obs - 1))
    pca = ad.AnnData(Z)
    sc.tl.pca(pca, n_comps=n_comps, random_state=options.seed, svd_solver="arpack")
    out.obsm["X_pca"] = pca.obsm["X_pca"]
    loadings = np.zeros((out.n_vars, n_comps), dtype=np.float32)
    loadings[hv] = pca.varm["PCs"]
    out.varm["PCs"] = loadings
    out.uns["pca"] = {"variance_ratio": pca.uns["pca"]["variance_ratio"]}
    backend = preprocessing_backend(device)
    if backend == "rapids":
        try:
            _graph_steps_gpu(out, options)
        except Exception as exc:  # a GPU problem must not stop the pipeline: the CPU gives the same steps
            log.warning("rapids-singlecell failed (%s: %s): falling back to scanpy", type(exc).__name__, exc)
            backend = "scanpy"
    if backend == "scanpy":
        _graph_steps_cpu(out, options)
    log.info("cohort %s: neighbours/UMAP/Leiden with %s", spec.id, backend)
    prov["transformations"] = list(prov.get("transformations", [])) + [s for s in steps if "filled" in s or "combat" in s]
    prov["pipeline"] = {
        "version": PIPELINE_VERSION,
        "options": asdict(options),
        "steps": [*steps, f"highly_variable({int(hv.sum())} genes)", "scale(clip=10)", f"pca({n_comps})",
                  f"neighbors(k={options.n_neighbors})", *(["umap"] if options.umap else []), "leiden(igraph)"],
        "scanpy": version("scanpy"),
        "graph_backend": backend,
        "anndata": version("anndata"),
        "seconds": round(time.perf_counter() - started, 2),
    }
    return out


def _reference_statistics(adata: ad.AnnData, *, chunk: int = 8192) -> None:
    """Per-gene mean, sd and quantiles, and the average sorted profile, in row chunks (bounded memory)."""
    X = np.asarray(adata.X, dtype=np.float32)
    n = X.shape[0]
    total = np.zeros(X.shape[1])
    total_sq = np.zeros(X.shape[1])
    sorted_sum = np.zeros(X.shape[1])
    for start in range(0, n, chunk):
        block = X[start : start + chunk].astype(np.float64)
        total += block.sum(axis=0)
        total_sq += (block**2).sum(axis=0)
        sorted_sum += np.sort(block, axis=1).sum(axis=0)
    mean = total / n
    var = np.maximum(total_sq / n - mean**2, 0.0) * n / max(n - 1, 1)
    adata.var["ref_mean"] = mean
    adata.var["ref_sd"] = np.sqrt(var)
    for q, values in zip(QUANTILES, np.quantile(X, QUANTILES, axis=0), strict=True):
        adata.var[f"ref_q{int(q * 100):02d}"] = values
    # quantile-normalisation target: the cohort's average sorted profile (for cross-platform uploads)
    adata.uns[PROVENANCE_KEY]["qn_target"] = (sorted_sum / n).astype(np.float32)


def _select_genes(adata: ad.AnnData, *, spec_scale: str, n_top: int) -> None:
    """Highly variable genes: all genes for z-scores or small panels, else scanpy's seurat flavour."""
    if spec_scale == "zscore" or adata.n_vars <= n_top:
        adata.var["highly_variable"] = True
        return
    sc.pp.highly_variable_genes(adata, n_top_genes=n_top, flavor="seurat")


def cache_path(spec_id: str, source_sha256: str, options: PipelineOptions, settings: Settings) -> Path:
    opts = "-".join(str(v) for v in asdict(options).values())
    return settings.cache_dir / f"{spec_id}-{source_sha256[:12]}-p{PIPELINE_VERSION}-{opts}.h5ad"


def preprocessed_cohort(
    ref: str | Path, *, options: PipelineOptions | None = None, settings: Settings | None = None
) -> ad.AnnData:
    """The preprocessed cohort, read from the cache under ONCOTX_HOME or computed and cached."""
    settings = settings or get_settings()
    options = options or PipelineOptions()
    cohort = load_cohort(ref, settings=settings)
    spec = spec_of(cohort)
    sha = str(cohort.uns.get(PROVENANCE_KEY, {}).get("source_sha256", "nohash"))
    path = cache_path(spec.id, f"{sha}{cohort.n_obs}", options, settings)
    if path.is_file():
        try:
            return ad.read_h5ad(path)
        except Exception:  # a damaged cache file is rebuilt, never trusted
            log.warning("cache file unreadable, rebuilding: %s", path.name)
    result = preprocess_cohort(cohort, options=options)
    settings.ensure_home()
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    result.write_h5ad(tmp)
    tmp.replace(path)  # atomic: a reader never sees half a file
    return result
