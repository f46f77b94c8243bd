"""Reference space of a preprocessed cohort, and the projection of patients into it.

:class:`ReferenceModel` holds what a patient needs to be compared with a cohort: per-gene
reference statistics, the PCA loadings, the cohort's PCA and UMAP coordinates, a kNN index and
the cohort's own neighbour distances (for the out-of-distribution score). Built once per server
process from the preprocessed cohort; projecting one patient is a few small matrix products.

Patient transform into the reference feature space (per gene z relative to the cohort):

* ``standardise`` (platform matches): log-scale the upload as its scale requires, then
  ``z = (x - ref_mean) / ref_sd``; z-scored uploads against a z-scored reference are used as-is.
* ``quantile`` (another platform, or a single sample with no platform reference): the sample's
  within-sample ranks over the shared genes are mapped onto the reference's average sorted profile
  (quantile normalisation to the reference, as in frozen RMA), then standardised as above. Ranks do
  not change under counts → TPM → log2, so the three give the same projection.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import anndata as ad
import numpy as np
import pandas as pd
from sklearn.neighbors import NearestNeighbors

from genomics.coverage import Coverage, gene_coverage
from genomics.errors import InputError
from genomics.percentile import median
from genomics.preprocess import SCALE_CLIP, to_log_scale
from genomics.quantile import quantile_map_rows
from genomics.spec import PROVENANCE_KEY

MIN_PROJECTION_COVERAGE = 0.5  # below half of the PCA genes, positions are mostly imputation
OOD_WARN_PERCENTILE = 95.0
OOD_REFUSE_PERCENTILE = 99.5
# Same-platform check: a cohort's own samples correlate with its gene means at r >= 0.75 (VDX, min over
# 150) and sit within a median |z| of 1.4 (demo, max over 1,500); other platforms miss one or both.
SAME_PLATFORM_MIN_R = 0.6
SAME_PLATFORM_MAX_MEDIAN_Z = 1.5


@dataclass(frozen=True)
class Projection:
    """Where samples sit in a cohort: coordinates, neighbours, OOD score, and how they got there."""

    pca: np.ndarray  # samples × n_pcs
    umap: np.ndarray | None  # samples × 2
    neighbours: pd.DataFrame  # sample_id, rank, patient_id, distance
    ood_percentile: np.ndarray  # per sample, 0-100 (neighbour distance within the cohort's own)
    mode: str  # standardise | quantile
    coverage: Coverage
    warnings: tuple[str, ...] = ()

    def ood_message(self, i: int = 0) -> str | None:
        p = float(self.ood_percentile[i])
        if p >= OOD_REFUSE_PERCENTILE:
            return (f"This profile looks unlike every patient in the cohort (further from its neighbours than "
                    f"{p:.1f}% of cohort patients are): comparisons with this cohort are unreliable.")
        if p >= OOD_WARN_PERCENTILE:
            return (f"This profile is unusual for the cohort (neighbour distance above {p:.0f}% of cohort "
                    f"patients): read comparisons with care.")
        return None


@dataclass(frozen=True)
class GeneStandardiser:
    """Per-gene standardisation against a cohort, for same-platform and cross-platform inputs.

    Holds the cohort's gene means and sds (log scale) and its average sorted profile; see the module
    docstring for the two modes. Serialisable (:meth:`to_dict`) so that model bundles carry it.
    """

    genes: pd.Index
    ref_mean: np.ndarray
    ref_sd: np.ndarray
    qn_target: np.ndarray
    scale: str

    @classmethod
    def fit(cls, adata: ad.AnnData) -> GeneStandardiser:
        """Learn from a cohort (its ``X`` is brought to log scale on a copy first)."""
        work = adata.copy()
        work.X = np.asarray(work.X, dtype=np.float64)
        work.uns.setdefault(PROVENANCE_KEY, {}).setdefault("scale", "log")
        to_log_scale(work)
        X = np.asarray(work.X, dtype=np.float64)
        sd = np.nanstd(X, axis=0, ddof=1)
        finite = np.where(np.isfinite(X), X, np.nanmean(X, axis=0))
        return cls(
            genes=adata.var_names.copy(),
            ref_mean=np.nanmean(X, axis=0),
            ref_sd=np.where(sd > 0, sd, 1.0),
            qn_target=np.sort(finite, axis=1).mean(axis=0),
            scale=str(work.uns[PROVENANCE_KEY]["scale"]),
        )

    def to_dict(self) -> dict:
        return {"genes": list(self.genes), "ref_mean": self.ref_mean.tolist(), "ref_sd": self.ref_sd.tolist(),
                "qn_target": self.qn_target.tolist(), "scale": self.scale}

    @classmethod
    def from_dict(cls, raw: dict) -> GeneStandardiser:
        return cls(pd.Index(raw["genes"]), np.asarray(raw["ref_mean"]), np.asarray(raw["ref_sd"]),
                   np.asarray(raw["qn_target"]), str(raw["scale"]))

    # --- transform --------------------------------------------------------------------------------

    def aligned(self, patient: ad.AnnData) -> np.ndarray:
        """The patient's values on the reference genes (samples × genes; NaN where absent), log scale."""
        work = patient.copy()
        work.X = np.asarray(work.X, dtype=np.float32)
        to_log_scale(work)
        values = pd.DataFrame(np.asarray(work.X, dtype=np.float64), columns=work.var_names)
        return values.reindex(columns=self.genes).to_numpy()

    def choose_modes(self, patient: ad.AnnData, values: np.ndarray) -> np.ndarray:
        """Per sample: ``standardise`` when it looks like the reference platform, else ``quantile``."""
        n = len(values)
        scale = patient.uns.get(PROVENANCE_KEY, {}).get("scale", "log")
        if self.scale == "zscore":
            return np.full(n, "standardise" if scale == "zscore" else "quantile", dtype=object)
        if scale == "zscore":
            return np.full(n, "quantile", dtype=object)
        mask = np.isfinite(values)
        shared = mask.sum(axis=1)
        if mask.all():  # every gene measured (the usual batch): the same statistics without the NaN-aware passes
            dx = values - values.mean(axis=1, keepdims=True)
            dr = self.ref_mean - self.ref_mean.mean()
            with np.errstate(invalid="ignore", divide="ignore"):
                r = (dx @ dr) / np.sqrt((dx**2).sum(axis=1) * float((dr**2).sum()))
            median_z = median(np.abs((values - self.ref_mean) / self.ref_sd))
            same = (shared >= 10) & (median_z <= SAME_PLATFORM_MAX_MEDIAN_Z) & (r >= SAME_PLATFORM_MIN_R)
            return np.where(same, "standardise", "quantile").astype(object)
        x = np.where(mask, values, np.nan)
        ref = np.where(mask, self.ref_mean[None, :], np.nan)
        with np.errstate(invalid="ignore", divide="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN rows: decided by ``shared`` below
            dx = x - np.nanmean(x, axis=1, keepdims=True)
            dr = ref - np.nanmean(ref, axis=1, keepdims=True)
            r = np.nansum(dx * dr, axis=1) / np.sqrt(np.nansum(dx**2, axis=1) * np.nansum(dr**2, axis=1))
            median_z = np.nanmedian(np.abs((x - self.ref_mean) / self.ref_sd), axis=1)
        same = (shared >= 10) & (median_z <= SAME_PLATFORM_MAX_MEDIAN_Z) & (r >= SAME_PLATFORM_MIN_R)
        return np.where(same, "standardise", "quantile").astype(object)

    def choose_mode(self, patient: ad.AnnData, values: np.ndarray) -> str:
        """``standardise`` when the upload looks like the reference platform, else ``quantile``.

        Decided for the batch: one sample unlike the reference platform puts every sample of the batch on
        quantile mapping (:meth:`choose_modes` gives the per-sample view).
        """
        modes = self.choose_modes(patient, values)
        return "standardise" if len(modes) and (modes == "standardise").all() else "quantile"

    def transform(self, patient: ad.AnnData, *, mode: str = "auto") -> tuple[np.ndarray, str]:
        """Per-gene z-scores of the samples relative to the cohort (NaN for absent genes)."""
        values = self.aligned(patient)
        mode = self.choose_mode(patient, values) if mode == "auto" else mode
        if mode == "quantile":
            values = quantile_map_rows(values, self.qn_target)  # each row's ranks onto the cohort's sorted profile
        elif mode != "standardise":
            raise ValueError(f"unknown mode {mode!r}")
        return (values - self.ref_mean) / self.ref_sd, mode


@dataclass
class ReferenceModel:
    """A cohort's reference space (see module docstring). Built by :meth:`from_preprocessed`."""

    cohort_id: str
    standardiser: GeneStandardiser  # per-gene statistics of the cohort (genes, means, sds, sorted profile)
    pca_genes: np.ndarray  # bool mask over genes
    pca_mean: np.ndarray  # over pca genes
    pca_sd: np.ndarray
    loadings: np.ndarray  # pca genes × n_pcs
    cohort_pca: np.ndarray
    cohort_umap: np.ndarray | None
    patient_ids: pd.Index
    n_neighbors: int = 15
    knn_: NearestNeighbors = field(init=False, repr=False)
    cohort_knn_dist_: np.ndarray = field(init=False, repr=False)

    def __post_init__(self) -> None:
        k = min(self.n_neighbors, len(self.patient_ids) - 1)
        self.n_neighbors = k
        self.knn_ = NearestNeighbors(n_neighbors=k + 1, algorithm="brute").fit(self.cohort_pca)
        dist, _ = self.knn_.kneighbors(self.cohort_pca)
        self.cohort_knn_dist_ = np.sort(dist[:, 1:].mean(axis=1))  # drop self

    @classmethod
    def from_preprocessed(cls, adata: ad.AnnData, *, n_neighbors: int = 15) -> ReferenceModel:
        prov = adata.uns.get(PROVENANCE_KEY, {})
        if "pipeline" not in prov or "X_pca" not in adata.obsm:
            raise InputError("This cohort has not been preprocessed (run genomics.preprocess first).")
        hv = adata.var["highly_variable"].to_numpy(dtype=bool)
        sd = adata.var["ref_sd"].to_numpy(dtype=np.float64)
        standardiser = GeneStandardiser(
            genes=adata.var_names.copy(),
            ref_mean=adata.var["ref_mean"].to_numpy(dtype=np.float64),
            ref_sd=np.where(sd > 0, sd, 1.0),
            qn_target=np.asarray(prov["qn_target"], dtype=np.float64),
            scale=str(prov.get("scale", "log")),
        )
        return cls(
            cohort_id=str(prov.get("cohort", "cohort")),
            standardiser=standardiser,
            pca_genes=hv,
            pca_mean=adata.var["pca_mean"].to_numpy(dtype=np.float64)[hv],
            pca_sd=adata.var["pca_sd"].to_numpy(dtype=np.float64)[hv],
            loadings=np.asarray(adata.varm["PCs"], dtype=np.float64)[hv],
            cohort_pca=np.asarray(adata.obsm["X_pca"], dtype=np.float64),
            cohort_umap=np.asarray(adata.obsm["X_umap"], dtype=np.float64) if "X_umap" in adata.obsm else None,
            patient_ids=adata.obs_names.copy(),
            n_neighbors=n_neighbors,
        )

    def transform(self, patient: ad.AnnData, *, mode: str = "auto") -> tuple[np.ndarray, str]:
        """Per-gene z-scores of the samples relative to the cohort (see :class:`GeneStandardiser`)."""
        return self.standardiser.transform(patient, mode=mode)

    # --- projection -------------------------------------------------------------------------------

    def project(self, patient: ad.AnnData, *, mode: str = "auto", k: int | None = None) -> Projection:
        """Place samples in the cohort's PCA/UMAP space with their nearest cohort neighbours."""
        coverage = gene_coverage(patient, self.standardiser.genes[self.pca_genes], use=f"{self.cohort_id} projection",
                                 min_fraction=MIN_PROJECTION_COVERAGE)
        if not coverage.sufficient:
            raise InputError(f"Cannot place the profile in the cohort: {coverage.describe()}.")
        z, mode = self.transform(patient, mode=mode)
        pcs = self._pca_coordinates(z)
        k = min(k or self.n_neighbors, len(self.patient_ids))
        dist, idx = self.knn_.kneighbors(pcs, n_neighbors=k)
        mean_dist = dist[:, : self.n_neighbors].mean(axis=1)
        ood = 100.0 * np.searchsorted(self.cohort_knn_dist_, mean_dist, side="right") / len(self.cohort_knn_dist_)
        umap = None
        if self.cohort_umap is not None:
            w = 1.0 / np.maximum(dist, 1e-9)
            umap = (self.cohort_umap[idx] * w[..., None]).sum(axis=1) / w.sum(axis=1, keepdims=True)
        sample_ids = list(patient.obs_names)
        neighbours = pd.DataFrame(
            [(sample_ids[i], r + 1, self.patient_ids[j], float(d))
             for i in range(len(sample_ids)) for r, (j, d) in enumerate(zip(idx[i], dist[i], strict=True))],
            columns=["sample_id", "rank", "patient_id", "distance"],
        )
        warnings = []
        if mode == "quantile":
            warnings.append("Another platform than the cohort's: placed by quantile mapping onto the cohort "
                            "(approximate; gene levels are compared by rank).")
        if coverage.fraction < 1:
            warnings.append(f"Projection used {coverage.describe()}; missing genes were left out, not filled.")
        return Projection(pcs, umap, neighbours, ood, mode, coverage, tuple(warnings))

    def _pca_coordinates(self, z: np.ndarray) -> np.ndarray:
        """Least-squares PCA coordinates from the genes present (equals Lᵀx when none is missing)."""
        # back to reference units, then the pipeline's own scaling of the PCA genes
        std = self.standardiser
        x = z[:, self.pca_genes] * std.ref_sd[self.pca_genes] + std.ref_mean[self.pca_genes]
        scaled = np.clip((x - self.pca_mean) / self.pca_sd, -SCALE_CLIP, SCALE_CLIP)
        out = np.empty((len(z), self.loadings.shape[1]))
        for i, row in enumerate(scaled):
            mask = np.isfinite(row)
            if mask.all():
                out[i] = row @ self.loadings
            else:
                out[i] = np.linalg.lstsq(self.loadings[mask], row[mask], rcond=None)[0]
        return out
