"""Expression signatures: PAM50 subtype, an Oncotype-DX-like recurrence score, modules, Hallmarks, percentiles.

Every function takes the AnnData first (samples × HGNC symbols, log2 or z-score values) and options
keyword-only, and returns a DataFrame indexed by ``obs_names``. Values are compared with a ``reference``:
a cohort on the same platform and scale, or a :class:`~genomics.platforms.PlatformReference`; without one, a
cohort of at least :data:`MIN_SELF_REFERENCE` samples is its own reference, z-scores are used as they are
(already centred in their own cohort), and fewer log-scale samples are compared with the platform reference
that :func:`genomics.platforms.reference_for` picks (SCAN-B for RNA-seq, VDX for Affymetrix), after being
brought onto its scale (quantile mapping where the log convention differs). A log-scale sample is never
compared with a z-score reference. With no platform reference, an :class:`InputError` says why.
Missing genes are never filled silently: each table reports the genes used, and a part that cannot be
computed is refused (or NaN with a note in :func:`signature_table`).

The PAM50 centroids and Hallmark sets are read from the data folder (``ONCOTX_DATA``); the Oncotype DX
formula is a published fact (Paik 2004) and needs no file.
"""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from genomics.errors import InputError
from genomics.genes import ALIASES, gene_map_path, load_gene_map
from genomics.io import PROVENANCE_KEY
from genomics.platforms import PlatformReference, platform_values, reference_for
from genomics.scale import detect_scale
from genomics.settings import get_settings

log = logging.getLogger(__name__)

PAM50_SUBTYPES: tuple[str, ...] = ("Basal", "Her2", "LumA", "LumB", "Normal")
#: The 50 PAM50 genes by current HGNC symbol (the centroid values themselves are read from the data folder).
PAM50_GENES: tuple[str, ...] = tuple("""
ACTR3B ANLN BAG1 BCL2 BIRC5 BLVRA CCNB1 CCNE1 CDC20 CDC6 NUF2 CDH3 CENPF CEP55 CXXC5 EGFR ERBB2 ESR1
EXO1 FGFR4 FOXA1 FOXC1 GPR160 GRB7 KIF2C NDC80 KRT14 KRT17 KRT5 MAPT MDM2 MELK MIA MKI67 MLPH MMP11
MYBL2 MYC NAT1 ORC6 PGR PHGDH PTTG1 RRM2 SFRP1 SLC39A6 TMEM45B TYMS UBE2C UBE2T
""".split())
#: Fewest PAM50 genes for a call (40% of 50). genefu's ``intrinsic.cluster.predict`` has no floor: it correlates
#: whatever maps. Below 20 a Spearman correlation over n genes has a standard error above 1/sqrt(n-1) = 0.23, more
#: than the gap between the best and second-best centroid for most patients. On the demo cohort, calls from a
#: random 40 of the 50 genes agree with the 50-gene call for 94% of patients (worst of 10 draws 91%), from 30
#: genes 91% (85%), from 20 genes 86% (76%). Between 20 and 50 genes the call is made and ``pam50_confidence``
#: says how likely it is to stand (see :func:`pam50_subtype`); SCAN-B RNA-seq has 38, VDX's 655 genes 32.
MIN_PAM50_GENES = 20
#: Draws of the gene-dropping estimate behind ``pam50_confidence``; smallest share of genes dropped per draw.
PAM50_STABILITY_DRAWS = 200
PAM50_MIN_DROP = 0.1
#: ER-balanced centring needs at least this many ER-positive and ER-negative reference samples.
MIN_ER_GROUP = 10
ER_COLUMN = "er_status"
#: Smallest cohort that may serve as its own reference (its gene medians / means / ranges).
MIN_SELF_REFERENCE = 20
LOG_SCALES = ("log", "zscore")

RS_LABEL = "research approximation (not the Oncotype DX assay)"
#: Oncotype DX groups (Paik 2004): within-group weights; each group score is the weighted mean of its genes.
RS_GROUPS: dict[str, dict[str, float]] = {
    "her2": {"GRB7": 0.9, "ERBB2": 0.1},
    "estrogen": {"ESR1": 0.8, "PGR": 1.2, "BCL2": 1.0, "SCUBE2": 1.0},
    "proliferation": {"BIRC5": 1.0, "MKI67": 1.0, "MYBL2": 1.0, "CCNB1": 1.0, "AURKA": 1.0},
    "invasion": {"CTSV": 1.0, "MMP11": 1.0},  # CTSL2 is CTSV today
}
RS_GROUP_COEF = {"her2": 0.47, "estrogen": -0.34, "proliferation": 1.04, "invasion": 0.10}
RS_GROUP_FLOOR = {"her2": 8.0, "proliferation": 6.5}
RS_SINGLE_COEF = {"CD68": 0.05, "GSTM1": -0.08, "BAG1": -0.07}
RS_REFERENCE_GENES: tuple[str, ...] = ("ACTB", "GAPDH", "RPLP0", "GUSB", "TFRC")
RS_GENES: tuple[str, ...] = (*(g for grp in RS_GROUPS.values() for g in grp), *RS_SINGLE_COEF)
RS_ASSAY_RANGE = 15.0  # reference-normalised RT-PCR values span about 0-15 log2 units (Paik 2004, fig. 1)
#: Assay-like scale of each gene: mid-scale plus this many log2 units (RT-PCR cycles) per reference SD. An
#: assumption, not a published figure: genefu's min-max scaling stretches a cohort's range (about 5 SDs for 200
#: samples) over all 15 units, about 2.7 units per SD, which put 22% of SCAN-B and 40% of VDX at RS 100 and 13% of
#: SCAN-B at 0; one unit per SD keeps ordinary patients off the 0/100 bounds.
RS_ASSAY_SD = 1.0
#: Refuse the score when the measured genes carry less than this share of the formula's absolute weight
#: (each gene's weight = group coefficient x its share of the group, as in genefu's table; total 2.15), or when
#: a whole group is missing. Weight, not gene count: MKI67 moves the score 4x more than CD68. A missing gene of a
#: measured group is stood in for by the group's other genes (group scores are weighted means of the genes
#: measured), so 65% suffices with every group present: SCAN-B RNA-seq has 11 of 16 genes (70%: no PGR, SCUBE2,
#: BIRC5, MKI67, CTSV); on the demo cohort that panel's score correlates at r = 0.99 with the 16-gene score.
MIN_RS_WEIGHT_FRACTION = 0.65
RS_CUTOFFS = (18.0, 31.0)  # Paik 2004: low < 18 <= intermediate < 31 <= high

MODULES: dict[str, tuple[str, ...]] = {
    # PAM50's 11-gene proliferation score (Nielsen 2010) plus Oncotype's AURKA and MYBL2 (genefu's AURKA module seed)
    "proliferation": ("BIRC5", "CCNB1", "CDC20", "NUF2", "CEP55", "NDC80", "MKI67", "PTTG1", "RRM2", "TYMS",
                      "UBE2C", "AURKA", "MYBL2"),
    "er": ("ESR1", "PGR", "BCL2", "SCUBE2", "GATA3", "FOXA1", "XBP1", "TFF1", "CA12", "AGR2", "NAT1", "SLC39A6"),
    "her2": ("ERBB2", "GRB7", "STARD3", "PGAP3", "MIEN1", "PSMD3"),
}
MIN_MODULE_GENES = 2
PERCENTILE_GENES = ("ESR1", "PGR", "ERBB2", "MKI67", "AURKA", "GATA3", "FOXA1", "KRT5", "EGFR", "TP53")
HALLMARK_FILE = Path("genesets") / "h.all.v7.5.1.symbols.gmt"
PAM50_FILE = Path("signatures") / "pam50_centroids.tsv"


# --- shared helpers -----------------------------------------------------------------------------------------


def _data_dir(data_dir: Path | str | None, what: str) -> Path:
    folder = Path(data_dir) if data_dir is not None else get_settings().data_dir
    if folder is None:
        raise InputError(f"{what} needs the reference data folder: set ONCOTX_DATA to it.")
    return folder


def _scale_of(adata: ad.AnnData) -> str:
    scale = adata.uns.get(PROVENANCE_KEY, {}).get("scale")
    return str(scale) if scale else detect_scale(_dense(adata.X))[0]


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=float)


def _values(adata: ad.AnnData, genes: Sequence[str]) -> pd.DataFrame:
    """Samples × genes (float64, NaN where absent or not finite) for the requested genes, in order."""
    idx = adata.var_names.get_indexer(list(genes))
    out = np.full((adata.n_obs, len(genes)), np.nan)
    found = idx >= 0
    if found.any():
        out[:, found] = _dense(adata.X[:, idx[found]])
    out[~np.isfinite(out)] = np.nan
    return pd.DataFrame(out, index=adata.obs_names, columns=list(genes))


def _check_scales(adata: ad.AnnData, reference: ad.AnnData | None, use: str) -> str:
    scale = _scale_of(adata)
    if scale not in LOG_SCALES:
        raise InputError(f"{use} needs log-scale or z-score expression, not {scale}: preprocess the data first.")
    if reference is not None and (ref_scale := _scale_of(reference)) != scale:
        raise InputError(f"{use}: the sample is on the {scale} scale but the reference cohort on {ref_scale}; "
                         "both must be on the same scale and platform.")
    return scale


def _reference_values(adata: ad.AnnData, reference: ad.AnnData | None, genes: Sequence[str], use: str) -> pd.DataFrame:
    """The reference cohort's values for ``genes``: the reference, else the cohort itself when large enough."""
    if reference is not None:
        return _values(reference, genes)
    if adata.n_obs >= MIN_SELF_REFERENCE:
        return _values(adata, genes)
    raise InputError(f"{use} of {adata.n_obs} sample(s) needs a reference cohort on the same platform "
                     f"(or at least {MIN_SELF_REFERENCE} samples to serve as their own reference).")


Reference = ad.AnnData | PlatformReference | None


@dataclass(frozen=True)
class _Resolved:
    """Sample values and reference values for some genes, on one scale, and how they got there."""

    x: pd.DataFrame  # samples × genes (the samples' values, on the reference's scale)
    ref: pd.DataFrame | None  # reference samples × genes; None: z-scores used as they are (centred already)
    ref_obs: pd.DataFrame | None  # the reference samples' clinical fields (for ER-balanced centring)
    scale: str  # "log" or "zscore"
    label: str  # which reference, in words
    mode: str  # self | cohort | zscore | standardise | quantile (platform reference)


def _log_copy(adata: ad.AnnData) -> ad.AnnData:
    """``adata`` on a log scale (a copy when counts/TPM need transforming; never logged twice)."""
    from genomics.preprocess import to_log_scale

    if _scale_of(adata) in LOG_SCALES:
        return adata
    work = adata.copy()
    work.X = _dense(work.X).astype(np.float32)
    work.uns.setdefault(PROVENANCE_KEY, {}).setdefault("scale", _scale_of(adata))
    to_log_scale(work)
    work.uns[PROVENANCE_KEY]["scale"] = "log"
    return work


def _platform_resolved(adata: ad.AnnData, platform: PlatformReference, genes: Sequence[str], label: str) -> _Resolved:
    x, mode = platform_values(adata, genes, reference=platform)
    ref = platform.values.reindex(columns=list(genes)).astype(float)
    obs = platform.obs.reindex(ref.index) if platform.obs is not None else None
    return _Resolved(x.set_axis(adata.obs_names), ref, obs, platform.scale, label, mode)


def _resolve(adata: ad.AnnData, reference: Reference, genes: Sequence[str], use: str) -> _Resolved:
    """Where the comparison values come from (see the module docstring for the order)."""
    genes = list(genes)
    if isinstance(reference, PlatformReference):
        return _platform_resolved(adata, reference, genes, reference.name)
    if reference is not None:
        scale = _check_scales(adata, reference, use)
        return _Resolved(_values(adata, genes), _values(reference, genes), reference.obs, scale,
                         "the given reference cohort", "cohort")
    scale = _scale_of(adata)
    if adata.n_obs >= MIN_SELF_REFERENCE:
        work = _log_copy(adata)
        x = _values(work, genes)
        if scale == "zscore":
            return _Resolved(x, None, None, "zscore", "the samples' own cohort (z-scores, used as they are)", "zscore")
        return _Resolved(x, x, adata.obs, "log", f"the {adata.n_obs} samples themselves", "self")
    if scale == "zscore":  # already centred per gene by the uploader's own cohort
        return _Resolved(_values(adata, genes), None, None, "zscore",
                         "the uploader's own cohort (z-scores, used as they are)", "zscore")
    platform, call = reference_for(adata)
    if platform is None:
        raise InputError(f"{use} of {adata.n_obs} sample(s) needs a reference cohort on the same platform "
                         f"(or at least {MIN_SELF_REFERENCE} samples to serve as their own reference); "
                         f"no platform reference applies: {call.reason}")
    return _platform_resolved(adata, platform, genes, f"{platform.name} (platform reference: {call.reason})")


# --- PAM50 ----------------------------------------------------------------------------------------------------


def load_pam50_centroids(data_dir: Path | str | None = None) -> pd.DataFrame:
    """PAM50 centroids (Parker 2009; genefu), genes × subtypes, indexed by current HGNC symbol.

    Symbols come from the Entrez id column through the gene id map, so CDCA1/KNTC2/ORC6L read as
    NUF2/NDC80/ORC6. Read once per path.
    """
    folder = _data_dir(data_dir, "PAM50")
    path = folder / PAM50_FILE
    if not path.is_file():
        raise InputError(f"PAM50 centroids not found under the data folder ({PAM50_FILE}).")
    return _read_centroids(path.resolve(), gene_map_path(folder)).copy()


@functools.lru_cache(maxsize=4)
def _read_centroids(path: Path, map_path: Path | None) -> pd.DataFrame:
    table = pd.read_csv(path, sep="\t", dtype={"entrez_id": str})
    by_entrez = load_gene_map(map_path).by_entrez if map_path is not None else {}
    symbols = [by_entrez.get(str(e).split(".")[0]) or ALIASES.get(s.upper(), s)
               for s, e in zip(table["symbol"], table["entrez_id"], strict=True)]
    out = table[list(PAM50_SUBTYPES)].astype(float)
    out.index = pd.Index(symbols, name="symbol")
    return out


def _spearman_rows(x: np.ndarray, centroids: np.ndarray) -> np.ndarray:
    """Spearman correlation of each row of ``x`` (NaN = gene absent there) with each centroid column."""
    out = np.full((x.shape[0], centroids.shape[1]), np.nan)
    finite = np.isfinite(x)
    for pattern in np.unique(finite, axis=0):  # rows sharing a missingness pattern are ranked together
        rows = (finite == pattern).all(axis=1)
        if pattern.sum() < 3:
            continue
        rx = pd.DataFrame(x[np.ix_(rows, pattern)]).rank(axis=1).to_numpy()
        rc = pd.DataFrame(centroids[pattern]).rank(axis=0).to_numpy()
        rx -= rx.mean(axis=1, keepdims=True)
        rc -= rc.mean(axis=0)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[rows] = (rx / np.linalg.norm(rx, axis=1, keepdims=True)) @ (rc / np.linalg.norm(rc, axis=0))
    return out


def _er_groups(obs: pd.DataFrame | None, index: pd.Index) -> pd.Series | None:
    """ER status of the reference samples when both groups have :data:`MIN_ER_GROUP` members, else None."""
    if obs is None or ER_COLUMN not in obs.columns:
        return None
    er = obs[ER_COLUMN].reindex(index).astype(object).astype(str)
    counts = er.value_counts()
    if counts.get("Positive", 0) < MIN_ER_GROUP or counts.get("Negative", 0) < MIN_ER_GROUP:
        return None
    return er


def _pam50_centre(resolved: _Resolved, genes: list[str], centring: str) -> tuple[pd.Series, str]:
    """Per-gene centre: 0 for z-scores; the ER-balanced median (mean of the ER+ and ER- medians) when the
    reference's ER status is known (``centring="auto"`` or ``"er_balanced"``), else the median."""
    if resolved.ref is None:
        return pd.Series(0.0, index=genes), "none (z-scores)"
    ref = resolved.ref[genes]
    er = _er_groups(resolved.ref_obs, ref.index) if centring in ("auto", "er_balanced") else None
    if er is not None:
        return (ref[er == "Positive"].median(axis=0) + ref[er == "Negative"].median(axis=0)) / 2, "ER-balanced median"
    if centring == "er_balanced":
        raise InputError("ER-balanced PAM50 centring needs the reference's ER status "
                         f"(at least {MIN_ER_GROUP} ER-positive and {MIN_ER_GROUP} ER-negative samples).")
    return ref.median(axis=0), "median"


def _rank_rows(x: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata

    r = rankdata(x, axis=-1)
    r -= r.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return r / np.linalg.norm(r, axis=-1, keepdims=True)


def _pam50_stability(xc: np.ndarray, centroids: np.ndarray, called: np.ndarray, *, n_panel: int,
                     draws: int = PAM50_STABILITY_DRAWS, seed: int = 0) -> np.ndarray:
    """Share of random gene subsets that keep each sample's call (see :func:`pam50_subtype`, confidence)."""
    out = np.full(len(xc), np.nan)
    finite = np.isfinite(xc)
    for pattern in np.unique(finite, axis=0):
        rows = np.flatnonzero((finite == pattern).all(axis=1) & (called >= 0))
        used = np.flatnonzero(pattern)
        n = len(used)
        if not len(rows) or n < 3:
            continue
        drop = max((n_panel - n) / n_panel, PAM50_MIN_DROP)
        k = max(3, int(round(n * (1.0 - drop))))
        rng = np.random.default_rng([seed, *used.tolist()])  # the same draws for the same gene set
        subsets = np.stack([np.sort(rng.choice(used, size=k, replace=False)) for _ in range(draws)])  # draws × k
        rc = _rank_rows(centroids[subsets].transpose(0, 2, 1))  # draws × 5 × k
        for chunk in np.array_split(rows, max(1, len(rows) // 128)):
            rx = _rank_rows(xc[chunk][:, subsets])  # rows × draws × k
            corr = np.einsum("rdk,dsk->rds", rx, rc)
            same = np.nan_to_num(corr, nan=-np.inf).argmax(axis=2) == called[chunk][:, None]
            out[chunk] = same.mean(axis=1)
    return out


def _pam50_table(adata: ad.AnnData, *, reference: Reference, min_genes: int, centring: str = "auto"
                 ) -> pd.DataFrame:
    cent = load_pam50_centroids()
    resolved = _resolve(adata, reference, list(cent.index), "PAM50")
    x = resolved.x
    present = x.notna().any(axis=0)
    if resolved.ref is not None:
        present &= resolved.ref.notna().any(axis=0)
    n = int(present.sum())
    if n < min_genes:
        raise InputError(f"not enough PAM50 genes: {n} of {len(cent)} (needs {min_genes})")
    genes = list(present.index[present])
    centre, how = _pam50_centre(resolved, genes, centring)
    xc = (x[genes] - centre).to_numpy()
    C = cent.loc[genes].to_numpy()
    corr = _spearman_rows(xc, C)
    filled = np.nan_to_num(corr, nan=-np.inf)
    order = np.sort(filled, axis=1)
    used = np.isfinite(xc).sum(axis=1)
    enough = used >= min_genes  # a sample with its own gaps needs the floor too
    called = np.where(enough & np.isfinite(corr).any(axis=1), filled.argmax(axis=1), -1)
    stability = _pam50_stability(xc, C, called, n_panel=len(cent))
    out = pd.DataFrame(index=adata.obs_names)
    out["pam50"] = pd.Categorical([PAM50_SUBTYPES[i] if i >= 0 else np.nan for i in called],
                                  categories=list(PAM50_SUBTYPES))
    out["pam50_confidence"] = np.where(called >= 0, stability, np.nan)
    out["pam50_margin"] = np.where(called >= 0, order[:, -1] - order[:, -2], np.nan)
    for j, name in enumerate(PAM50_SUBTYPES):
        out[f"pam50_corr_{name}"] = corr[:, j]
    out["pam50_genes_used"] = used
    finite = np.isfinite(xc)
    out["pam50_genes_missing"] = [";".join([*(g for g in cent.index if g not in genes),
                                            *(g for g, ok in zip(genes, row, strict=True) if not ok)])
                                  for row in finite]
    out["pam50_reference"] = resolved.label
    out["pam50_mode"] = resolved.mode
    out.attrs.update(pam50_missing_genes=[g for g in cent.index if g not in genes], pam50_centring=how,
                     pam50_reference=resolved.label)
    return out


def pam50_subtype(
    adata: ad.AnnData, *, reference: Reference = None, min_genes: int = MIN_PAM50_GENES,
    centring: str = "auto", key_added: str = "pam50",
) -> pd.DataFrame:
    """PAM50 intrinsic subtype by nearest centroid (Spearman correlation of gene-centred values).

    Reference (which values centre each gene): ``reference`` (a cohort on the same platform and scale, or a
    :class:`~genomics.platforms.PlatformReference`), else ``adata`` itself when it has at least
    :data:`MIN_SELF_REFERENCE` samples; z-score data are already centred and are used as they are; fewer
    log-scale samples are brought onto the scale of their platform reference (:func:`genomics.platforms.reference_for`:
    SCAN-B RNA-seq, VDX Affymetrix; quantile mapping when the log convention differs) and centred on it.

    Centring (``centring="auto"``): the ER-balanced median, i.e. the mean of the reference's ER-positive and
    ER-negative gene medians, when the reference records ER status for at least :data:`MIN_ER_GROUP` of each
    (Zhao et al. 2015; the Parker 2009 training set was ER-balanced, so centring on an ER+-rich cohort's median
    calls luminal tumours Normal-like or Her2); else the median. ``"median"`` forces the median.

    Partial panels are called from :data:`MIN_PAM50_GENES` (20) of the 50 genes. ``pam50_confidence`` estimates the
    probability that the call would stand if the missing genes were measured: the sample's n measured genes play
    the part of the whole panel, and the share that is missing (``(50 - n) / 50``, at least 10% so that a
    full-panel call still shows how close it is) is dropped again at random, 200 times (fixed seed per gene set);
    the confidence is the share of those draws that give the same subtype (a delete-d jackknife). It falls as genes
    are missing and as the best and second-best centroid get closer. ``pam50_margin`` is that gap itself.

    Returns
    -------
    Table indexed by ``obs_names``: ``pam50``, ``pam50_confidence``, ``pam50_margin`` (best minus second-best
    correlation), ``pam50_corr_<subtype>``, ``pam50_genes_used``, ``pam50_genes_missing`` (';'-joined),
    ``pam50_reference`` (the reference in words), ``pam50_mode`` (self, cohort, zscore, standardise or quantile).
    Also writes ``obs[key_added]`` and ``obs[key_added + "_confidence"]``.
    """
    if centring not in ("auto", "median", "er_balanced"):
        raise ValueError(f"unknown centring {centring!r}")
    table = _pam50_table(adata, reference=reference, min_genes=min_genes, centring=centring)
    adata.obs[key_added] = table["pam50"].values
    adata.obs[f"{key_added}_confidence"] = table["pam50_confidence"].to_numpy()
    return table


# --- Oncotype-DX-like recurrence score ---------------------------------------------------------------------------


def _rs_gene_weights() -> pd.Series:
    weights = {g: abs(RS_GROUP_COEF[grp]) * w / sum(RS_GROUPS[grp].values())
               for grp, genes in RS_GROUPS.items() for g, w in genes.items()}
    weights.update({g: abs(c) for g, c in RS_SINGLE_COEF.items()})
    return pd.Series(weights)


def _rs_assay_scale(resolved: _Resolved) -> tuple[pd.DataFrame, list[str]]:
    """The 16 genes on an assay-like 0-15 scale, and notes on how they got there."""
    x, ref = resolved.x, resolved.ref
    notes = []
    housekeeping = [g for g in RS_REFERENCE_GENES
                    if x[g].notna().any() and (ref is None or ref[g].notna().any())]
    if resolved.scale == "log" and ref is not None and len(housekeeping) >= 3:
        # the assay reports each gene relative to the mean of its 5 reference genes (a delta-Ct)
        x = x.sub(x[housekeeping].mean(axis=1), axis=0)
        ref = ref.sub(ref[housekeeping].mean(axis=1), axis=0)
        notes.append(f"normalised to {len(housekeeping)} of 5 reference genes")
    x = x[list(RS_GENES)]
    if ref is None:
        z = x
        notes.append("z-scores used as they are (centred in their own cohort)")
    else:
        ref = ref[list(RS_GENES)]
        z = (x - ref.mean(axis=0)) / ref.std(axis=0, ddof=1).where(lambda v: v > 0)
        notes.append(f"per-gene z-scores against {resolved.label}")
    scaled = (RS_ASSAY_RANGE / 2 + RS_ASSAY_SD * z).clip(0.0, RS_ASSAY_RANGE)
    notes.append(f"each gene placed on the 0-15 assay scale at mid-scale 7.5 plus {RS_ASSAY_SD:g} unit per reference SD")
    return scaled, notes


def _rs_from_scaled(scaled: pd.DataFrame) -> pd.Series:
    """RSu from assay-scale values: group scores are weighted means of the genes measured in each sample."""
    rsu = pd.Series(0.0, index=scaled.index)
    for grp, genes in RS_GROUPS.items():
        w = pd.Series(genes)
        vals = scaled[list(genes)]
        score = (vals * w).sum(axis=1, min_count=1) / vals.notna().mul(w).sum(axis=1).replace(0, np.nan)
        if grp in RS_GROUP_FLOOR:
            score = score.clip(lower=RS_GROUP_FLOOR[grp])
        rsu += RS_GROUP_COEF[grp] * score
    for gene, coef in RS_SINGLE_COEF.items():
        # an unmeasured single gene sits at mid-scale (a neutral value), reported through the weight covered
        rsu += coef * scaled[gene].fillna(RS_ASSAY_RANGE / 2)
    return rsu


def recurrence_score(
    adata: ad.AnnData, *, reference: Reference = None, min_weight: float = MIN_RS_WEIGHT_FRACTION,
) -> pd.DataFrame:
    """Oncotype-DX-like recurrence score: a research approximation, not the Oncotype DX assay.

    The published formula (Paik 2004) expects RT-PCR values normalised to 5 reference genes, on a 0-15 log2
    scale. Array and RNA-seq data get there in three steps: (1) on log data with at least 3 of the reference
    genes (ACTB, GAPDH, RPLP0, GUSB, TFRC), subtract each sample's mean of them (in the sample and in the
    reference); (2) place each gene on the 0-15 scale at ``7.5 + RS_ASSAY_SD * z``, z being the gene's z-score
    against the reference (the cohort itself when it has 20+ samples; for fewer samples the platform reference,
    as for :func:`pam50_subtype`; z-scores as they are), clipped to 0-15; (3) apply the formula: group floors
    (HER2 8, proliferation 6.5), ``RS = 20 * (RSu - 6.7)`` truncated to 0-100. Group scores use the genes
    measured; an unmeasured CD68/GSTM1/BAG1 sits at mid-scale. The scale is reference-relative, so the score
    ranks patients within a platform; its absolute value and groups are not the assay's.

    Parameters
    ----------
    reference
        Cohort on the same platform and scale, or a platform reference, whose per-gene means and SDs define the
        0-15 scale.
    min_weight
        Refuse below this share of the formula's absolute weight measured (see :data:`MIN_RS_WEIGHT_FRACTION`).

    Returns
    -------
    Table indexed by ``obs_names``: ``rs_approx``, ``rs_group`` (low < 18 <= intermediate < 31 <= high),
    ``rs_unscaled``, ``rs_genes_used`` (of 16), ``rs_weight_covered``, ``rs_method`` (the label) and
    ``rs_reference`` (the reference in words).
    """
    resolved = _resolve(adata, reference, [*RS_GENES, *RS_REFERENCE_GENES], "The recurrence score")
    weights = _rs_gene_weights()
    x = resolved.x[list(RS_GENES)]
    measured = x.notna().any(axis=0)
    if resolved.ref is not None:
        measured &= resolved.ref[list(RS_GENES)].notna().any(axis=0)
    covered = float(weights[measured].sum() / weights.sum())
    empty = [grp for grp, genes in RS_GROUPS.items() if not measured[list(genes)].any()]
    if covered < min_weight or empty:
        why = f"; no gene of the {', '.join(empty)} group{'s' if len(empty) > 1 else ''}" if empty else ""
        raise InputError(f"not enough recurrence-score genes: {int(measured.sum())} of 16 measured, carrying "
                         f"{covered:.0%} of the formula's weight (needs {min_weight:.0%}){why}")
    scaled, notes = _rs_assay_scale(resolved)
    scaled.loc[:, ~measured.to_numpy()] = np.nan
    per_sample = scaled.notna().mul(weights).sum(axis=1) / weights.sum()
    rsu = _rs_from_scaled(scaled).where(per_sample >= min_weight)
    rs = (20.0 * (rsu - 6.7)).clip(0.0, 100.0)
    out = pd.DataFrame(index=adata.obs_names)
    out["rs_approx"] = rs
    out["rs_group"] = pd.Categorical(
        np.select([rs < RS_CUTOFFS[0], rs < RS_CUTOFFS[1], rs >= RS_CUTOFFS[1]], ["low", "intermediate", "high"],
                  default=None), categories=["low", "intermediate", "high"])
    out["rs_unscaled"] = rsu
    out["rs_genes_used"] = scaled.notna().sum(axis=1)
    out["rs_weight_covered"] = per_sample
    out["rs_method"] = RS_LABEL
    out["rs_reference"] = resolved.label
    out.attrs.update(label=RS_LABEL, rs_missing_genes=[g for g in RS_GENES if not measured[g]], rs_steps=notes,
                     rs_reference=resolved.label)
    return out


# --- modules, Hallmarks, percentiles ---------------------------------------------------------------------------


def module_scores(adata: ad.AnnData, *, reference: Reference = None) -> pd.DataFrame:
    """Proliferation, ER and HER2 module scores: the mean of per-gene standardised values.

    Each gene is standardised against ``reference`` (mean and SD; a cohort on the same platform and scale or a
    platform reference), else against ``adata`` itself (20+ samples), else against the platform reference (as for
    :func:`pam50_subtype`); z-score data are used as they are. Gene lists are in :data:`MODULES`.

    Returns
    -------
    Table with ``module_<name>`` and ``module_<name>_genes`` (genes used); NaN where fewer than 2 genes are
    measured, explained in ``module_notes``.
    """
    all_genes = list(dict.fromkeys(g for genes in MODULES.values() for g in genes))
    resolved = _resolve(adata, reference, all_genes, "Module scores")
    if resolved.ref is None:
        z_all = resolved.x
    else:
        z_all = (resolved.x - resolved.ref.mean(axis=0)) / resolved.ref.std(axis=0, ddof=1).where(lambda v: v > 0)
    out = pd.DataFrame(index=adata.obs_names)
    notes = pd.Series("", index=adata.obs_names)
    used: dict[str, list[str]] = {}
    for name, genes in MODULES.items():
        z = z_all[list(genes)]
        n = z.notna().sum(axis=1)
        out[f"module_{name}"] = z.mean(axis=1).where(n >= MIN_MODULE_GENES)
        out[f"module_{name}_genes"] = n
        notes = notes.where(n >= MIN_MODULE_GENES,
                            notes + f"{name} module: {int(n.max()) if len(n) else 0} of {len(genes)} genes; ")
        used[name] = [g for g in genes if z[g].notna().any()]
    out["module_notes"] = notes.str.rstrip("; ")
    out.attrs.update(module_genes=used, module_reference=resolved.label)
    return out


def load_hallmark_sets(data_dir: Path | str | None = None) -> dict[str, tuple[str, ...]]:
    """MSigDB Hallmark gene sets (v7.5.1, CC BY 4.0; Liberzon 2015): name → gene symbols."""
    path = _data_dir(data_dir, "Hallmark scores") / HALLMARK_FILE
    if not path.is_file():
        raise InputError(f"Hallmark gene sets not found under the data folder ({HALLMARK_FILE}).")
    return dict(_read_gmt(path.resolve()))


@functools.lru_cache(maxsize=2)
def _read_gmt(path: Path) -> tuple[tuple[str, tuple[str, ...]], ...]:
    sets = []
    for line in path.read_text(encoding="utf-8").splitlines():
        fields = line.rstrip("\n").split("\t")
        if len(fields) >= 3:
            sets.append((fields[0], tuple(dict.fromkeys(g for g in fields[2:] if g))))
    return tuple(sets)


def hallmark_scores(
    adata: ad.AnnData, *, sets: Iterable[str] | None = None, min_genes: int = 5,
    reference: ad.AnnData | None = None, data_dir: Path | str | None = None,
) -> pd.DataFrame:
    """Hallmark gene-set scores with ``scanpy.tl.score_genes`` (Tirosh 2016; ``random_state=0``).

    A score is the mean of the set's genes minus the mean of control genes drawn from the same expression
    bins, the bins being gene means over the scored rows. For a few samples those means are the samples' own
    values, which cancels the signal, so fewer than 20 samples are scored together with ``reference`` (same
    platform and scale; common genes only) and their own rows returned; without a reference they are refused.
    Sets with fewer than ``min_genes`` genes present are skipped and listed in ``attrs["skipped"]``.
    The input is not modified and numpy's global random state is restored.
    """
    import scanpy as sc

    _check_scales(adata, reference, "Hallmark scores")
    all_sets = load_hallmark_sets(data_dir)
    names = list(all_sets) if sets is None else list(sets)
    if unknown := [s for s in names if s not in all_sets]:
        raise InputError(f"Unknown Hallmark set(s): {', '.join(unknown[:5])}.")
    work = _scoring_matrix(adata, reference)
    out = pd.DataFrame(index=adata.obs_names)
    skipped: dict[str, int] = {}
    used: dict[str, int] = {}
    state = np.random.get_state()
    try:
        for name in names:
            genes = [g for g in all_sets[name] if g in work.var_names]
            if len(genes) < min_genes:
                skipped[name] = len(genes)
                continue
            sc.tl.score_genes(work, genes, score_name="_score", random_state=0, use_raw=False)
            out[name] = work.obs["_score"].to_numpy()[: adata.n_obs]
            used[name] = len(genes)
    finally:
        np.random.set_state(state)
    if skipped:
        log.info("Hallmark sets skipped (fewer than %d genes present): %d", min_genes, len(skipped))
    out.attrs.update(skipped=skipped, genes_used=used)
    return out


def _scoring_matrix(adata: ad.AnnData, reference: ad.AnnData | None) -> ad.AnnData:
    """A fresh AnnData (rows of ``adata`` first, then the reference's) holding only finite, shared genes."""
    if reference is None:
        if adata.n_obs < MIN_SELF_REFERENCE:
            raise InputError(f"Hallmark scores of {adata.n_obs} sample(s) need a reference cohort on the same "
                             f"platform (or at least {MIN_SELF_REFERENCE} samples).")
        genes = list(adata.var_names)
        x = _values(adata, genes)
    else:
        genes = [g for g in adata.var_names if g in set(reference.var_names)]
        x = pd.concat([_values(adata, genes), _values(reference, genes)], axis=0, ignore_index=True)
    x = x.loc[:, x.notna().all(axis=0)]
    return ad.AnnData(X=x.to_numpy(), var=pd.DataFrame(index=x.columns.astype(str)),
                      obs=pd.DataFrame(index=[str(i) for i in range(len(x))]))


def gene_percentiles(
    adata: ad.AnnData, *, reference: ad.AnnData, genes: Sequence[str] = PERCENTILE_GENES,
) -> pd.DataFrame:
    """Percentile (0-100) of each sample's value among the reference cohort's values of that gene.

    Assumes the sample and the reference are on the same platform and scale (checked by scale label only).
    Ties count half (``scipy.stats.percentileofscore(kind="mean")``). Genes absent from either side are NaN
    and listed in ``attrs["missing"]``.
    """
    _check_scales(adata, reference, "Gene percentiles")
    genes = list(genes)
    x, ref = _values(adata, genes), _values(reference, genes)
    out = pd.DataFrame(np.nan, index=adata.obs_names, columns=genes)
    missing = []
    for gene in genes:
        pool = np.sort(ref[gene].dropna().to_numpy())
        if pool.size == 0 or x[gene].isna().all():
            missing.append(gene)
            continue
        v = x[gene].to_numpy()
        below = np.searchsorted(pool, v, side="left")
        at_or_below = np.searchsorted(pool, v, side="right")
        out[gene] = np.where(np.isfinite(v), 100.0 * (below + at_or_below) / (2 * pool.size), np.nan)
    out.attrs["missing"] = missing
    return out


# --- the table the CLI writes ----------------------------------------------------------------------------------


def _usable_reference(adata: ad.AnnData, reference: Reference, notes: list[str]) -> Reference:
    """``reference`` when it suits the samples, else None (the samples' own or their platform's reference).

    A cohort suits when it is on the samples' scale and not on a platform known to differ from theirs; e.g. an
    RNA-seq patient given the METABRIC z-score cohort is compared with SCAN-B instead, and the note says so.
    """
    if reference is None or isinstance(reference, PlatformReference):
        return reference
    from genomics.platforms import detect_platform

    scale, ref_scale = _scale_of(adata), _scale_of(reference)
    why = None
    if scale != ref_scale:
        why = f"the sample is on the {scale} scale, the cohort on {ref_scale}"
    else:
        mine, theirs = detect_platform(adata).platform, detect_platform(reference).platform
        if "unknown" not in (mine, theirs) and mine != theirs:
            why = f"the sample looks {mine}, the cohort {theirs}"
    if why is None:
        return reference
    cohort = str(reference.uns.get(PROVENANCE_KEY, {}).get("cohort", "the given cohort"))
    notes.append(f"signatures not compared with {cohort} ({why}): compared with the sample's platform reference")
    return None


def signature_table(adata: ad.AnnData, *, reference: Reference = None) -> pd.DataFrame:
    """One row per sample: PAM50, recurrence score, module scores, gene coverage and the reference used.

    ``reference`` is used when it suits the samples (same scale, same platform; see :func:`_usable_reference`),
    else the samples' own cohort (20+ samples) or their platform reference (:func:`genomics.platforms.reference_for`),
    so a single RNA-seq or Affymetrix sample gets PAM50 and RS. A part that cannot be computed (too few genes, no
    reference, no data folder) is NaN, and ``notes`` says why. This is what ``python -m genomics signatures``
    writes.
    """
    notes: list[str] = []
    reference = _usable_reference(adata, reference, notes)
    pam = _attempt(lambda: _pam50_table(adata, reference=reference, min_genes=MIN_PAM50_GENES), "PAM50", notes)
    rs = _attempt(lambda: recurrence_score(adata, reference=reference), "recurrence score", notes)
    mods = _attempt(lambda: module_scores(adata, reference=reference), "module scores", notes)
    out = pd.DataFrame({"sample_id": adata.obs_names.astype(str)}, index=adata.obs_names)
    for part, columns in ((pam, ("pam50", "pam50_confidence")), (rs, ("rs_approx", "rs_group"))):
        for col in columns:
            out[col] = part[col].values if part is not None else np.nan
    out["rs_method"] = RS_LABEL
    for name in MODULES:
        out[f"module_{name}"] = mods[f"module_{name}"].to_numpy() if mods is not None else np.nan
    pam_used = pam["pam50_genes_used"] if pam is not None else _values(adata, PAM50_GENES).notna().sum(axis=1)
    rs_used = rs["rs_genes_used"] if rs is not None else _values(adata, RS_GENES).notna().sum(axis=1)
    out["pam50_genes_used"] = pam_used.to_numpy(dtype=int)
    out["pam50_coverage"] = [f"{n}/{len(PAM50_GENES)}" for n in out["pam50_genes_used"]]
    out["rs_genes_used"] = rs_used.to_numpy(dtype=int)
    out["rs_coverage"] = [f"{n}/{len(RS_GENES)}" for n in out["rs_genes_used"]]
    out["pam50_margin"] = pam["pam50_margin"].to_numpy() if pam is not None else np.nan
    out["pam50_genes_missing"] = pam["pam50_genes_missing"].to_numpy() if pam is not None else ""
    out["pam50_reference"] = pam["pam50_reference"].to_numpy() if pam is not None else ""
    out["rs_reference"] = rs["rs_reference"].to_numpy() if rs is not None else ""
    row_notes = mods["module_notes"] if mods is not None else pd.Series("", index=adata.obs_names)
    out["notes"] = [("; ".join([*notes, r] if r else notes)) for r in row_notes]
    return out.reset_index(drop=True)


def _attempt(compute, what: str, notes: list[str]) -> pd.DataFrame | None:
    """Run one part of the table; an InputError becomes a note (anything else is a bug and propagates)."""
    try:
        return compute()
    except InputError as err:
        notes.append(f"{what}: {err}")
        return None
