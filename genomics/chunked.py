"""Reference statistics and PCA of a cohort too large to load, read from its file in row chunks.

:func:`reference_from_file` computes what :class:`genomics.reference.ReferenceModel` needs to place a
patient in a cohort (per-gene mean and sd, the average sorted profile for cross-platform uploads, the
highly variable genes, the scaling and loadings of the PCA, every patient's PCA coordinates) with the
same definitions as :func:`genomics.preprocess.preprocess_cohort`, without holding the expression
matrix: four passes over a ``.parquet``/``.csv`` patient table (with its ``.spec.json`` sidecar) or an
``.h5ad`` (anndata backed mode), ``chunk_rows`` patients at a time.

* Pass 1: per-gene non-missing count, sum and sum of squares → mean and sd (missing cells count as the
  gene mean, as the in-memory pipeline fills them).
* Pass 2: the average sorted profile; mean and variance of ``expm1`` per gene for scanpy's ``seurat``
  highly-variable-gene rule (exact: it only needs those two moments); a uniform row sample for the
  quantiles ``ref_q05`` … ``ref_q95`` (approximate: exact quantiles need every value at once).
* Pass 3: the covariance of the scaled, clipped highly variable genes, accumulated as a genes × genes Gram
  matrix; its eigenvectors are the PCA loadings (exact PCA, the same subspace as scanpy's ARPACK solver;
  memory genes² × 8 bytes, 32 MB for 2,000 genes).
* Pass 4: every patient's PCA coordinates.

Memory is bounded by ``chunk_rows`` × genes plus the Gram matrix and the n × n_pcs coordinates. Neighbours,
UMAP and Leiden are not computed (their cost grows with the cohort, not with a chunk); :meth:`ChunkedReference.to_anndata`
gives an AnnData (no ``X``) that ``ReferenceModel.from_preprocessed`` accepts, optionally on a random
subset of patients for the neighbour index (whose own set-up is quadratic in patients).
"""
from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from importlib.metadata import version
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from genomics.cohort_table import table_genes
from genomics.errors import InputError
from genomics.preprocess import PIPELINE_VERSION, QUANTILES, SCALE_CLIP, PipelineOptions, to_log_scale
from genomics.reference import ReferenceModel
from genomics.spec import PROVENANCE_KEY, CohortSpec

log = logging.getLogger(__name__)

CHUNK_ROWS = 20_000
QUANTILE_SAMPLE_ROWS = 50_000
N_BINS = 20  # scanpy's default for the seurat flavour


@dataclass
class ChunkedReference:
    """A cohort's reference space computed in chunks (see the module docstring)."""

    cohort_id: str
    spec: CohortSpec
    var: pd.DataFrame  # per gene: ref_mean, ref_sd, ref_q05..q95, highly_variable, pca_mean, pca_sd
    qn_target: np.ndarray
    loadings: np.ndarray  # genes × n_pcs (zero outside the highly variable genes)
    X_pca: np.ndarray  # patients × n_pcs
    variance_ratio: np.ndarray
    patient_ids: pd.Index
    n_missing: int
    seconds: float
    passes: list[str] = field(default_factory=list)

    @property
    def n_obs(self) -> int:
        return len(self.patient_ids)

    def to_anndata(self, *, max_patients: int | None = None, seed: int = 0) -> ad.AnnData:
        """The reference as an AnnData without ``X`` (``ReferenceModel.from_preprocessed`` reads var, varm, obsm
        and provenance only); with ``max_patients``, a random subset of patients carries the PCA coordinates."""
        rows = np.arange(self.n_obs)
        if max_patients is not None and self.n_obs > max_patients:
            rows = np.sort(np.random.default_rng(seed).choice(self.n_obs, size=max_patients, replace=False))
        out = ad.AnnData(obs=pd.DataFrame(index=self.patient_ids[rows].astype(str)), var=self.var.copy())
        out.obsm["X_pca"] = self.X_pca[rows]
        out.varm["PCs"] = self.loadings.astype(np.float32)
        n_comps = self.loadings.shape[1]
        out.uns["pca"] = {"variance_ratio": self.variance_ratio}
        out.uns[PROVENANCE_KEY] = {
            "cohort": self.cohort_id,
            "spec": self.spec.to_json(),
            "scale": self.spec.scale,
            "qn_target": self.qn_target.astype(np.float32),
            "pipeline": {
                "version": PIPELINE_VERSION,
                "mode": "chunked",
                "steps": [*self.passes, f"highly_variable({int(self.var['highly_variable'].sum())} genes)",
                          "scale(clip=10)", f"pca({n_comps}, exact from the Gram matrix)"],
                "patients": int(self.n_obs),
                "patients_in_neighbour_index": int(len(rows)),
                "anndata": version("anndata"),
                "seconds": round(self.seconds, 2),
            },
        }
        return out

    def reference_model(self, *, max_patients: int | None = 20_000, n_neighbors: int = 15):
        """A :class:`~genomics.reference.ReferenceModel` for projecting patients (see :meth:`to_anndata`)."""
        return ReferenceModel.from_preprocessed(self.to_anndata(max_patients=max_patients), n_neighbors=n_neighbors)


# ------------------------------------------------------------------------------------------------- readers
@dataclass(frozen=True)
class _Source:
    path: Path
    kind: str  # parquet | csv | h5ad
    spec: CohortSpec
    columns: tuple[str, ...]  # file columns (tables) or var names (h5ad) read as genes
    symbols: tuple[str, ...]  # their HGNC symbols (duplicates are averaged, as when loading)
    n_obs: int


def _open(path: Path) -> _Source:
    if not path.exists():
        raise InputError(f"No cohort file {path}.")
    name = path.name.lower()
    sidecar = path.with_name(path.name + ".spec.json")
    if name.endswith(".h5ad"):
        backed = ad.read_h5ad(path, backed="r")
        try:
            prov = dict(backed.uns.get(PROVENANCE_KEY, {}))
            genes = tuple(str(g) for g in backed.var_names)
            n_obs = backed.n_obs
        finally:
            backed.file.close()
        if sidecar.is_file():
            spec = CohortSpec.from_json_file(sidecar)
        elif "spec" in prov:
            raw = prov["spec"]
            spec = CohortSpec.from_dict(json.loads(raw) if isinstance(raw, str) else dict(raw))
        else:
            raise InputError(f"{path.name}: no cohort spec inside the .h5ad and no {sidecar.name} beside it.")
        return _Source(path, "h5ad", spec, genes, genes, n_obs)
    if not sidecar.is_file():
        raise InputError(f"{path.name}: a cohort table needs its spec beside it as {sidecar.name}.")
    spec = CohortSpec.from_json_file(sidecar)
    if name.endswith(".parquet"):
        import pyarrow as pa  # lazy: start-up cost (pyarrow; only parquet files need it)
        import pyarrow.parquet as pq  # lazy: start-up cost (pyarrow; only parquet files need it)

        meta = pq.ParquetFile(path)
        schema = meta.schema_arrow
        columns = list(schema.names)
        numeric = [pa.types.is_integer(schema.field(c).type) or pa.types.is_floating(schema.field(c).type)
                   for c in columns]
        n_obs = meta.metadata.num_rows
        kind = "parquet"
    else:
        head = pd.read_csv(path, nrows=200, sep=None, engine="python")
        columns = [str(c) for c in head.columns]
        numeric = [pd.api.types.is_numeric_dtype(head[c]) for c in head.columns]
        n_obs = -1
        kind = "csv"
    genes = table_genes(columns, numeric, spec)
    if not genes.columns:
        raise InputError(f"{path.name}: no gene columns recognised.")
    return _Source(path, kind, spec, genes.columns, genes.symbols, n_obs)


def _chunks(source: _Source, chunk_rows: int) -> Iterator[tuple[list[str], np.ndarray]]:
    """(patient ids, expression block on the cohort's symbols, float64) for each chunk of rows, in file order."""
    symbols = pd.Index(source.symbols)
    duplicated = symbols.duplicated().any()

    def collapse(block: np.ndarray) -> np.ndarray:
        if not duplicated:
            return block
        frame = pd.DataFrame(block, columns=symbols)
        return frame.T.groupby(level=0, sort=False).mean().T.to_numpy(dtype=np.float64)

    if source.kind == "h5ad":
        backed = ad.read_h5ad(source.path, backed="r")
        try:
            for start in range(0, backed.n_obs, chunk_rows):
                rows = backed[start: start + chunk_rows]
                yield list(map(str, rows.obs_names)), np.asarray(rows.X, dtype=np.float64)
        finally:
            backed.file.close()
        return
    id_col = source.spec.patient_id_col
    wanted = [id_col, *source.columns]
    if source.kind == "parquet":
        import pyarrow.parquet as pq  # lazy: start-up cost (pyarrow; only parquet files need it)

        for batch in pq.ParquetFile(source.path).iter_batches(batch_size=chunk_rows, columns=wanted):
            frame = batch.to_pandas()
            yield (frame[id_col].astype(str).tolist(),
                   collapse(frame[list(source.columns)].to_numpy(dtype=np.float64, na_value=np.nan)))
        return
    for frame in pd.read_csv(source.path, usecols=wanted, chunksize=chunk_rows, sep=None, engine="python"):
        yield frame[id_col].astype(str).tolist(), collapse(frame[list(source.columns)].to_numpy(dtype=np.float64))


def _log_scaled(block: np.ndarray, scale: str) -> np.ndarray:
    """The chunk on a log scale, by the same function as the in-memory pipeline (row-wise, so chunks agree)."""
    if scale not in ("counts", "tpm"):
        return block
    chunk = ad.AnnData(block.astype(np.float32))
    chunk.uns[PROVENANCE_KEY] = {"scale": scale}
    to_log_scale(chunk)
    return np.asarray(chunk.X, dtype=np.float64)


# ------------------------------------------------------------------------------------------------- passes
def _seurat_hvg(mean: np.ndarray, var: np.ndarray, nonzero: np.ndarray, n_top: int) -> np.ndarray:
    """scanpy's ``flavor="seurat"`` rule from the per-gene mean and variance of ``expm1(x)``."""
    mean, var = mean.copy(), var.copy()
    mean[mean == 0] = 1e-12
    with np.errstate(divide="ignore", invalid="ignore"):
        dispersion = var / mean
        dispersion[dispersion == 0] = np.nan
        dispersion = np.log(dispersion)
    frame = pd.DataFrame({"means": np.log1p(mean), "dispersions": dispersion})[nonzero]
    frame["mean_bin"] = pd.cut(frame["means"], bins=N_BINS)
    stats = frame.groupby("mean_bin", observed=True)["dispersions"].agg(avg="mean", dev="std")
    single = stats["dev"].isnull()
    stats.loc[single, "dev"] = stats.loc[single, "avg"]
    stats.loc[single, "avg"] = 0
    per_gene = stats.loc[frame["mean_bin"]].set_index(frame.index)
    norm = ((frame["dispersions"] - per_gene["avg"]) / per_gene["dev"]).to_numpy()
    finite = norm[~np.isnan(norm)]
    n = min(n_top, finite.size)
    cutoff = np.sort(finite)[::-1][n - 1] if n else np.inf
    chosen = np.zeros(len(mean), dtype=bool)
    chosen[np.flatnonzero(nonzero)] = np.nan_to_num(norm, nan=-np.inf) >= cutoff
    return chosen


def reference_from_file(path: str | Path, *, options: PipelineOptions | None = None, chunk_rows: int = CHUNK_ROWS,
                        quantile_rows: int = QUANTILE_SAMPLE_ROWS) -> ChunkedReference:
    """Reference statistics and PCA of a cohort file, read ``chunk_rows`` patients at a time (module docstring)."""
    options = options or PipelineOptions()
    if options.batch_correct:
        raise InputError("Batch correction (ComBat) needs the whole matrix; it is not available in chunked mode.")
    started = time.perf_counter()
    source = _open(Path(path))
    spec = source.spec
    scale = spec.scale
    genes = pd.Index(pd.unique(pd.Index(source.symbols)), name="symbol")
    p = len(genes)

    # pass 1: counts, sums, sums of squares (missing cells left out)
    count, total, total_sq = np.zeros(p), np.zeros(p), np.zeros(p)
    ids: list[str] = []
    for chunk_ids, block in _chunks(source, chunk_rows):
        block = _log_scaled(block, scale)
        ok = np.isfinite(block)
        values = np.where(ok, block, 0.0)
        count += ok.sum(axis=0)
        total += values.sum(axis=0)
        total_sq += (values**2).sum(axis=0)
        ids += chunk_ids
    n = len(ids)
    if n < 10 or p < 5:
        raise InputError(f"Cohort {spec.id!r} is too small to preprocess ({n} × {p}).")
    if len(set(ids)) != n:
        raise InputError(f"Duplicate patient ids in {Path(path).name}.")
    mean = np.where(count > 0, total / np.maximum(count, 1), 0.0)
    var = np.maximum(total_sq - count * mean**2, 0.0) / max(n - 1, 1)  # filled cells sit at the mean
    sd = np.sqrt(var)
    n_missing = int(n * p - count.sum())

    def filled(block: np.ndarray) -> np.ndarray:
        block = _log_scaled(block, scale)
        return np.where(np.isfinite(block), block, mean)

    # pass 2: sorted profile, expm1 moments (seurat HVG), a row sample for quantiles
    rng = np.random.default_rng(options.seed)
    keep_rate = min(1.0, quantile_rows / n)
    sorted_sum, e_sum, e_sq, nonzero = np.zeros(p), np.zeros(p), np.zeros(p), np.zeros(p, dtype=bool)
    sample: list[np.ndarray] = []
    for _, block in _chunks(source, chunk_rows):
        block = filled(block)
        sorted_sum += np.sort(block, axis=1).sum(axis=0)
        expm1 = np.expm1(block.astype(np.float32)).astype(np.float64)
        e_sum += expm1.sum(axis=0)
        e_sq += (expm1**2).sum(axis=0)
        nonzero |= (block != 0).any(axis=0)
        sample.append(block[rng.random(len(block)) < keep_rate].astype(np.float32))
    quantiles = np.quantile(np.vstack(sample), QUANTILES, axis=0)
    del sample
    if scale == "zscore" or p <= options.n_top_genes:
        hv = np.ones(p, dtype=bool)
    else:
        e_mean = e_sum / n
        e_var = (e_sq / n - e_mean**2) * n / (n - 1)
        hv = _seurat_hvg(e_mean, e_var, nonzero, options.n_top_genes)

    # pass 3: covariance of the scaled, clipped HVG block (exact PCA)
    pca_mean = mean[hv]
    pca_sd = sd[hv] * np.sqrt((n - 1) / n)  # population sd, as sc.pp.scale
    pca_sd[pca_sd == 0] = 1.0

    def scaled(block: np.ndarray) -> np.ndarray:
        z = (filled(block)[:, hv].astype(np.float32) - pca_mean.astype(np.float32)) / pca_sd.astype(np.float32)
        return np.clip(z, -SCALE_CLIP, SCALE_CLIP).astype(np.float64)

    k = int(hv.sum())
    z_sum, gram = np.zeros(k), np.zeros((k, k))
    for _, block in _chunks(source, chunk_rows):
        z = scaled(block)
        z_sum += z.sum(axis=0)
        gram += z.T @ z
    z_mean = z_sum / n
    cov = (gram - n * np.outer(z_mean, z_mean)) / (n - 1)
    eigenvalues, eigenvectors = np.linalg.eigh(cov)
    n_comps = int(min(options.n_pcs, k - 1, n - 1))
    order = np.argsort(eigenvalues)[::-1][:n_comps]
    components = eigenvectors[:, order]
    flip = np.sign(components[np.abs(components).argmax(axis=0), np.arange(n_comps)])
    components *= np.where(flip == 0, 1.0, flip)  # sklearn's convention: the largest loading is positive
    variance_ratio = eigenvalues[order] / max(float(np.trace(cov)), 1e-300)

    # pass 4: coordinates
    X_pca = np.empty((n, n_comps), dtype=np.float32)
    start = 0
    for _, block in _chunks(source, chunk_rows):
        X_pca[start: start + len(block)] = (scaled(block) - z_mean) @ components
        start += len(block)

    var_frame = pd.DataFrame(index=genes)
    var_frame["ref_mean"] = mean
    var_frame["ref_sd"] = sd
    for q, values in zip(QUANTILES, quantiles, strict=True):
        var_frame[f"ref_q{int(q * 100):02d}"] = values
    var_frame["highly_variable"] = hv
    var_frame["pca_mean"] = np.nan
    var_frame["pca_sd"] = np.nan
    var_frame.loc[hv, "pca_mean"] = pca_mean
    var_frame.loc[hv, "pca_sd"] = pca_sd
    loadings = np.zeros((p, n_comps))
    loadings[hv] = components
    seconds = time.perf_counter() - started
    log.info("chunked reference of %s: %d patients × %d genes, %d HVG, %d PCs in %.1f s", spec.id, n, p, k,
             n_comps, seconds)
    return ChunkedReference(
        cohort_id=spec.id, spec=spec, var=var_frame, qn_target=sorted_sum / n, loadings=loadings, X_pca=X_pca,
        variance_ratio=variance_ratio, patient_ids=pd.Index(ids, name="patient_id"), n_missing=n_missing,
        seconds=seconds,
        passes=[f"chunked({chunk_rows} rows, 4 passes)", *([f"filled {n_missing} missing cells with the gene mean"]
                                                          if n_missing else [])],
    )
