"""Platform references: which platform an upload comes from, and per-gene standardisation against it.

A real patient's profile is rarely on the platform of the training cohort. Each platform with a reference
cohort in the data folder gets a :class:`PlatformReference` (its samples × HGNC genes on its own log scale):

* ``rnaseq``: SCAN-B development set (GSE96058), log2(FPKM+0.1), 196 samples × ~10,000 genes;
* ``affymetrix``: VDX (HG-U133A, log2), 150 samples; GSE7390 is the same array and uses it too;
* ``illumina``: METABRIC's per-gene z-scores (``metabric``), useful only for z-score uploads.

:func:`detect_platform` says which platform an upload is on (and why, in plain words);
:func:`standardise_to_platform` turns samples into per-gene z-scores relative to the platform reference:
``standardise`` when the sample is on the reference's own scale convention (``z = (x - mean) / sd``), else
``quantile`` (the sample's within-sample ranks over all genes it shares with the reference are mapped onto
the reference's average sorted profile over those genes, then standardised), so that natural-log CPM from raw
counts and log2 FPKM land on the same per-gene scale. A log-scale sample is never compared with a z-score
reference. Nothing is log-transformed twice (:func:`genomics.preprocess.to_log_scale` checks provenance).
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field, replace

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import spearmanr

from genomics.cohorts import load_cohort
from genomics.errors import InputError
from genomics.reference import GeneStandardiser
from genomics.scale import detect_scale
from genomics.settings import Settings, get_settings
from genomics.spec import PROVENANCE_KEY, spec_of

log = logging.getLogger(__name__)

PLATFORMS = ("rnaseq", "affymetrix", "illumina")
#: The reference each platform uses for log-scale uploads (illumina z-scores need none: they are centred already).
PLATFORM_REFERENCE = {"rnaseq": "scanb", "affymetrix": "vdx", "illumina": None}
REFERENCE_PLATFORM = {"scanb": "rnaseq", "vdx": "affymetrix", "metabric": "illumina"}
REFERENCE_NAMES = {"scanb": "SCAN-B RNA-seq", "vdx": "VDX Affymetrix", "metabric": "METABRIC Illumina"}
#: Cohort ids whose own samples are known to be on a reference's platform.
COHORT_PLATFORM = {"scanb": "rnaseq", "vdx": "affymetrix", "gse7390": "affymetrix", "metabric": "illumina"}
#: Fewest genes shared with a reference for a standardisation (quantile mapping over fewer is meaningless).
MIN_SHARED_GENES = 10
#: A z-score upload "matches METABRIC" when at least this share of METABRIC's 300 genes, or of its own genes,
#: is among METABRIC's.
MIN_ILLUMINA_OVERLAP = 0.5
#: Log-scale platform evidence: a clear winner needs this much higher rank correlation with the reference's gene
#: means; within it, the reference sharing more genes with the sample wins.
R_MARGIN = 0.05
#: Below this rank correlation with every reference's gene means a log-scale upload matches no platform (real
#: profiles correlate at 0.6 or more even with another platform's gene means; synthetic data near 0).
MIN_PLATFORM_R = 0.5
#: Scale-convention check (same log base and offset as the reference): the sample's interquartile range over the
#: shared genes within this ratio of the reference's, and its median within this many IQRs of the reference's.
#: Natural log vs log2 gives an IQR ratio of 0.69; log1p(CPM) vs log2(FPKM+0.1) shifts the low end.
IQR_RATIO_RANGE = (0.8, 1.25)
#: Platform evidence of a large upload is judged on this many evenly spaced samples.
MAX_EVIDENCE_SAMPLES = 50
MAX_MEDIAN_SHIFT_IQR = 0.25

_LOCK = threading.Lock()
_REFERENCES: dict[tuple[str, str], PlatformReference] = {}


@dataclass(frozen=True)
class PlatformCall:
    """Which platform an upload is on, the reference that applies (None: none applies or none available), why."""

    platform: str  # "rnaseq" | "affymetrix" | "illumina" | "unknown"
    reference_id: str | None  # "scanb", "vdx", None
    reason: str


@dataclass(frozen=True, eq=False)
class PlatformReference:
    """One platform's reference cohort: samples × HGNC genes on its own log scale (or METABRIC's z-scores)."""

    id: str  # "scanb" | "vdx" | "metabric"
    name: str
    platform: str
    attribution: str
    values: pd.DataFrame  # reference samples × HGNC genes, log scale (float32), as loaded
    scale: str = "log"  # "log", or "zscore" for METABRIC
    obs: pd.DataFrame | None = None  # the reference samples' clinical fields (same index as ``values``)
    _cache: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def genes(self) -> pd.Index:
        return self.values.columns

    @property
    def n_samples(self) -> int:
        return len(self.values)

    def standardiser(self, genes: Sequence[str]) -> GeneStandardiser:
        """A :class:`GeneStandardiser` fitted on the reference restricted to ``genes`` present in it.

        Means, sds and the average sorted profile (``qn_target``) come from those genes only. Cached per gene
        tuple.
        """
        present = set(self.values.columns)
        key = tuple(dict.fromkeys(g for g in genes if g in present))
        if not key:
            raise InputError(f"None of the requested genes is in the {self.name} reference.")
        with _LOCK:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        sub = self.values[list(key)]
        ref = ad.AnnData(X=sub.to_numpy(dtype=np.float32), var=pd.DataFrame(index=pd.Index(key)),
                         obs=pd.DataFrame(index=sub.index.astype(str)))
        ref.uns[PROVENANCE_KEY] = {"scale": self.scale, "transformations": []}
        fitted = GeneStandardiser.fit(ref)
        with _LOCK:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = fitted
        return fitted

    def medians(self, genes: Sequence[str]) -> pd.Series:
        """Per-gene medians over the reference samples (NaN for genes the reference lacks)."""
        return self.values.reindex(columns=list(genes)).median(axis=0).astype(float)

    def without(self, sample_ids: Sequence[str]) -> PlatformReference:
        """A copy without ``sample_ids`` (leave-one-out references for honest benchmarks)."""
        drop = [s for s in map(str, sample_ids) if s in self.values.index]
        values = self.values.drop(index=drop)
        obs = self.obs.drop(index=[s for s in drop if s in self.obs.index]) if self.obs is not None else None
        return replace(self, values=values, obs=obs, name=f"{self.name} without {len(drop)} sample(s)")


# --- loading ---------------------------------------------------------------------------------------------------


def platform_reference(ref_id: str, *, settings: Settings | None = None) -> PlatformReference:
    """The reference ``scanb``, ``vdx`` or ``metabric`` from the data folder (cached per process)."""
    if ref_id not in REFERENCE_PLATFORM:
        raise InputError(f"No platform reference {ref_id!r}: give one of {', '.join(REFERENCE_PLATFORM)}.")
    settings = settings or get_settings()
    if settings.data_dir is None:
        raise InputError(f"The {REFERENCE_NAMES[ref_id]} reference cohort is not available: the reference data are "
                         "not installed on this server (ask the administrator).",
                         detail="set ONCOTX_DATA to the reference data folder")
    key = (ref_id, str(settings.data_dir))
    with _LOCK:
        cached = _REFERENCES.get(key)
    if cached is not None:
        return cached
    reference = _load_reference(ref_id, settings)
    with _LOCK:
        _REFERENCES[key] = reference
    return reference


def _load_reference(ref_id: str, settings: Settings) -> PlatformReference:
    cohort = load_cohort(ref_id, settings=settings)  # InputError with the missing file named when absent
    spec = spec_of(cohort)
    X = cohort.X.toarray() if sparse.issparse(cohort.X) else np.asarray(cohort.X)
    values = pd.DataFrame(X.astype(np.float32), index=cohort.obs_names.astype(str),
                          columns=cohort.var_names.astype(str))
    values = values.loc[:, values.notna().any(axis=0)]
    n = len(values)
    names = {
        "scanb": f"SCAN-B RNA-seq development set ({n} samples, log2 FPKM)",
        "vdx": f"VDX Affymetrix HG-U133A ({n} samples, log2)",
        "metabric": f"METABRIC Illumina HT-12 ({n:,} samples, per-gene z-scores)",
    }
    return PlatformReference(
        id=ref_id, name=names[ref_id], platform=REFERENCE_PLATFORM[ref_id],
        attribution=f"{spec.attribution} Licence: {spec.licence}.", values=values,
        scale="zscore" if spec.scale == "zscore" else "log",
        obs=cohort.obs.set_axis(cohort.obs_names.astype(str)).loc[values.index].copy(),
    )


# --- detection -------------------------------------------------------------------------------------------------


def _scale(adata: ad.AnnData) -> str:
    scale = adata.uns.get(PROVENANCE_KEY, {}).get("scale")
    return str(scale) if scale else detect_scale(_dense(adata.X))[0]


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=float)


def _rank_evidence(adata: ad.AnnData, reference: PlatformReference) -> tuple[float, int]:
    """Median over samples of the Spearman r of a sample's values with the reference's gene means, and the
    number of genes shared (finite in the sample and present in the reference)."""
    in_ref = set(reference.genes)
    genes = [g for g in adata.var_names if g in in_ref]
    if len(genes) < MIN_SHARED_GENES:
        return float("nan"), len(genes)
    rows = np.unique(np.linspace(0, adata.n_obs - 1, min(adata.n_obs, MAX_EVIDENCE_SAMPLES)).round().astype(int))
    x = _dense(adata.X[rows][:, adata.var_names.get_indexer(genes)])
    means = reference.values[genes].mean(axis=0).to_numpy(dtype=float)
    rs, shared = [], 0
    for row in x:
        ok = np.isfinite(row) & np.isfinite(means)
        shared = max(shared, int(ok.sum()))
        if ok.sum() >= MIN_SHARED_GENES and np.ptp(row[ok]) > 0:
            rs.append(float(spearmanr(row[ok], means[ok]).statistic))
    return (float(np.median(rs)) if rs else float("nan")), shared


def detect_platform(adata: ad.AnnData, *, settings: Settings | None = None) -> PlatformCall:
    """Which platform the samples come from, the reference that applies, and why (plain words).

    Rules, in order: Affymetrix probe ids (provenance ``id_type`` "probe") → affymetrix/VDX; a cohort loaded from
    the data folder → its own platform; counts or TPM/FPKM → rnaseq/SCAN-B; z-scores → already centred per gene in
    the user's own cohort: "illumina" when the genes match METABRIC's, with no reference (values used as they
    are); log scale → the candidate reference (SCAN-B, VDX) whose gene means correlate best (Spearman, over the
    genes shared) with the sample's values; within :data:`R_MARGIN`, the one sharing more genes; "unknown" when
    none reaches :data:`MIN_PLATFORM_R`.
    """
    prov = adata.uns.get(PROVENANCE_KEY, {})
    scale = _scale(adata)
    cohort = str(prov.get("cohort", ""))
    if prov.get("id_type") == "probe":
        return PlatformCall("affymetrix", "vdx", "Affymetrix probe identifiers: an HG-U133-type array; "
                                                 "the VDX cohort (HG-U133A) is the reference.")
    if cohort in COHORT_PLATFORM and scale == ("zscore" if cohort == "metabric" else "log"):
        platform = COHORT_PLATFORM[cohort]
        ref = PLATFORM_REFERENCE[platform]
        if ref is None:
            return PlatformCall(platform, None, f"samples of the {cohort} cohort: per-gene z-scores within their own "
                                                "cohort, used as they are (no platform reference needed).")
        return PlatformCall(platform, ref, f"samples of the {cohort} cohort ({prov.get('platform', platform)}).")
    if scale in ("counts", "tpm"):
        what = "raw counts" if scale == "counts" else "linear TPM/FPKM-like values"
        return PlatformCall("rnaseq", "scanb", f"{what}: RNA-seq; the SCAN-B RNA-seq cohort is the reference.")
    if scale == "zscore":
        try:
            metabric = set(platform_reference("metabric", settings=settings).genes)
        except InputError as exc:
            return PlatformCall("unknown", None, f"z-scores (already centred per gene in the uploader's own "
                                                 f"cohort), used as they are; METABRIC's gene list unavailable: {exc}")
        genes = set(map(str, adata.var_names))
        shared = len(genes & metabric)
        if shared >= MIN_ILLUMINA_OVERLAP * len(metabric) or (genes and shared >= MIN_ILLUMINA_OVERLAP * len(genes)):
            return PlatformCall("illumina", None, f"z-scores on {shared} of METABRIC's {len(metabric)} Illumina genes: "
                                                  "already centred per gene in their own cohort, used as they are.")
        return PlatformCall("unknown", None, f"z-scores sharing {shared} genes with METABRIC: already centred per gene "
                                             "in the uploader's own cohort, used as they are (platform not identified).")
    # log scale: weigh the evidence for each candidate reference
    evidence: dict[str, tuple[float, int]] = {}
    problems: list[str] = []
    for ref_id in ("scanb", "vdx"):
        try:
            evidence[ref_id] = _rank_evidence(adata, platform_reference(ref_id, settings=settings))
        except InputError as exc:
            problems.append(str(exc))
    usable = {k: v for k, v in evidence.items() if np.isfinite(v[0])}
    if not usable:
        why = "; ".join(problems) or "too few genes shared with any platform reference"
        return PlatformCall("unknown", None, f"log-scale values, platform not identified: {why}.")
    best = max(usable, key=lambda k: (usable[k][0], usable[k][1]))
    for other, (r, n) in usable.items():
        if other != best and usable[best][0] - r < R_MARGIN and n > usable[best][1]:
            best = other
    described = "; ".join(f"{_LABEL[k]} r = {r:.2f} over {n:,} shared genes" for k, (r, n) in usable.items())
    if usable[best][0] < MIN_PLATFORM_R:
        return PlatformCall("unknown", None, f"log-scale values whose gene levels match no platform reference "
                                             f"(rank correlation with the references' gene means: {described}; "
                                             f"needs {MIN_PLATFORM_R}).")
    return PlatformCall(REFERENCE_PLATFORM[best], best,
                        f"log-scale values whose gene levels match the {_LABEL[best]} reference best "
                        f"(rank correlation with its gene means: {described}).")


_LABEL = {"scanb": "SCAN-B RNA-seq", "vdx": "VDX Affymetrix", "metabric": "METABRIC Illumina"}


def reference_for(adata: ad.AnnData, *, settings: Settings | None = None
                  ) -> tuple[PlatformReference | None, PlatformCall]:
    """The platform reference for ``adata`` (None when none applies or the data folder lacks it) and the call."""
    call = detect_platform(adata, settings=settings)
    if call.reference_id is None:
        return None, call
    try:
        return platform_reference(call.reference_id, settings=settings), call
    except InputError as exc:
        return None, PlatformCall(call.platform, None, f"{call.reason} Reference not available: {exc}")


# --- standardisation -------------------------------------------------------------------------------------------


def _same_convention(values: np.ndarray, standardiser: GeneStandardiser) -> bool:
    """Every sample's value distribution over the shared genes has the reference's spread and centre."""
    target = standardiser.qn_target
    q1, med, q3 = np.quantile(target, [0.25, 0.5, 0.75])
    iqr = q3 - q1
    if not iqr > 0:
        return False
    for row in values:
        row = row[np.isfinite(row)]
        if row.size < MIN_SHARED_GENES:
            return False
        s1, smed, s3 = np.quantile(row, [0.25, 0.5, 0.75])
        ratio = (s3 - s1) / iqr
        if not (IQR_RATIO_RANGE[0] <= ratio <= IQR_RATIO_RANGE[1]) or abs(smed - med) > MAX_MEDIAN_SHIFT_IQR * iqr:
            return False
    return True


def _shared_standardiser(adata: ad.AnnData, reference: PlatformReference) -> tuple[GeneStandardiser, ad.AnnData]:
    sample_scale = _scale(adata)
    if reference.scale == "zscore" and sample_scale != "zscore":
        raise InputError(f"A {sample_scale}-scale sample cannot be compared with the {reference.name}: those are "
                         "z-scores centred within their own cohort. Use a log-scale platform reference.")
    genes = set(map(str, adata.var_names))
    shared = [g for g in reference.genes if g in genes]
    if len(shared) < MIN_SHARED_GENES:
        raise InputError(f"Only {len(shared)} genes are shared with the {reference.name} (needs {MIN_SHARED_GENES}).")
    work = adata[:, shared].copy()
    work.uns[PROVENANCE_KEY] = dict(adata.uns.get(PROVENANCE_KEY, {}))
    work.uns[PROVENANCE_KEY].setdefault("scale", sample_scale)
    return reference.standardiser(shared), work


def choose_platform_mode(adata: ad.AnnData, *, reference: PlatformReference) -> str:
    """``standardise`` when the samples are on the reference's scale convention, else ``quantile``.

    Standardise needs all of: the sample was log-scale (or z-score against a z-score reference) as uploaded,
    not transformed here from counts/TPM (natural-log CPM is not log2 FPKM); :meth:`GeneStandardiser.choose_mode`
    agrees (rank agreement with the reference's gene means, median |z| small); and each sample's value
    distribution has the reference's spread and centre (:data:`IQR_RATIO_RANGE`, :data:`MAX_MEDIAN_SHIFT_IQR`).
    """
    std, work = _shared_standardiser(adata, reference)
    return _mode(work, std, reference)


def _mode(work: ad.AnnData, std: GeneStandardiser, reference: PlatformReference) -> str:
    scale = _scale(work)
    if reference.scale == "zscore":
        return "standardise" if scale == "zscore" else "quantile"
    if scale != "log":
        return "quantile"
    values = std.aligned(work)
    if std.choose_mode(work, values) != "standardise":
        return "quantile"
    return "standardise" if _same_convention(values, std) else "quantile"


def _transform(adata: ad.AnnData, reference: PlatformReference, mode: str
               ) -> tuple[pd.DataFrame, GeneStandardiser, str]:
    std, work = _shared_standardiser(adata, reference)
    if mode == "auto":
        mode = _mode(work, std, reference)
    z, mode = std.transform(work, mode=mode)
    return pd.DataFrame(z, index=adata.obs_names, columns=std.genes), std, mode


def standardise_to_platform(adata: ad.AnnData, genes: Sequence[str], *, reference: PlatformReference,
                            mode: str = "auto") -> tuple[np.ndarray, str]:
    """Per-gene z-scores of the samples relative to the platform reference (samples × ``len(genes)``).

    NaN where the sample or the reference lacks the gene. ``mode`` (``auto``: :func:`choose_platform_mode`):
    ``standardise`` = ``(x - mean) / sd`` on the sample's log scale; ``quantile`` = within-sample quantile mapping
    over all genes the sample shares with the reference, onto the reference's average sorted profile over those
    genes, then per-gene z. A log-scale sample and a z-score reference are refused (:class:`InputError`).
    """
    z, _, mode = _transform(adata, reference, mode)
    return z.reindex(columns=list(map(str, genes))).to_numpy(dtype=np.float64), mode


def platform_values(adata: ad.AnnData, genes: Sequence[str], *, reference: PlatformReference,
                    mode: str = "auto") -> tuple[pd.DataFrame, str]:
    """The samples' values for ``genes`` brought onto the reference's own scale (samples × genes; NaN where the
    sample or the reference lacks a gene), and the mode used (as :func:`standardise_to_platform`).

    ``standardise`` leaves the sample's log values as they are; ``quantile`` gives the quantile-mapped values.
    """
    z, std, mode = _transform(adata, reference, mode)
    values = z * std.ref_sd + std.ref_mean
    return values.reindex(columns=list(map(str, genes))), mode
