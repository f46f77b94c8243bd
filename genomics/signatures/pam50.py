"""PAM50 intrinsic subtype: nearest centroid by Spearman correlation over the measured genes, with reference
centring (ER-balanced where possible) and a gene-dropping confidence (:func:`pam50_subtype`)."""
from __future__ import annotations

import functools
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd
from scipy.stats import rankdata

from genomics.errors import InputError
from genomics.genes import ALIASES, gene_map_path, load_gene_map
from genomics.reference_data import PAM50, table_path
from genomics.signatures.resolve import Reference, Resolved, resolve_reference

PAM50_SUBTYPES: tuple[str, ...] = ("Basal", "Her2", "LumA", "LumB", "Normal")
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
PAM50_FILE = PAM50.data_path


def load_pam50_centroids(data_dir: Path | str | None = None) -> pd.DataFrame:
    """PAM50 centroids (Parker 2009; genefu), genes × subtypes, indexed by current HGNC symbol.

    Symbols come from the Entrez id column through the gene id map, so CDCA1/KNTC2/ORC6L read as
    NUF2/NDC80/ORC6. The data folder's copy where it holds one, else the shipped copy
    (:mod:`genomics.reference_data`). Read once per path.
    """
    path = table_path(PAM50, data_dir)
    if not path.is_file():
        raise InputError(f"PAM50 centroids not found ({PAM50_FILE}).")
    return _read_centroids(path.resolve(), gene_map_path(Path(data_dir) if data_dir is not None else None)).copy()


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


def _pam50_centre(resolved: Resolved, genes: list[str], centring: str) -> tuple[pd.Series, str]:
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
    r = rankdata(x, axis=-1)
    r -= r.mean(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return r / np.linalg.norm(r, axis=-1, keepdims=True)


def pam50_stability(xc: np.ndarray, centroids: np.ndarray, called: np.ndarray, *, n_panel: int,
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


def pam50_table(adata: ad.AnnData, *, reference: Reference, min_genes: int, centring: str = "auto"
                 ) -> pd.DataFrame:
    cent = load_pam50_centroids()
    resolved = resolve_reference(adata, reference, list(cent.index), "PAM50")
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
    stability = pam50_stability(xc, C, called, n_panel=len(cent))
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
    table = pam50_table(adata, reference=reference, min_genes=min_genes, centring=centring)
    adata.obs[key_added] = table["pam50"].values
    adata.obs[f"{key_added}_confidence"] = table["pam50_confidence"].to_numpy()
    return table
