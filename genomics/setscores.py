"""Platform-robust expression features: within-sample rank scores of gene sets (singscore-style).

A score is computed from a sample's per-gene z-scores (each gene standardised against a reference of the
sample's own platform: :mod:`genomics.platforms`), ranked **within the sample** among the genes it shares
with the model: ``score = mean((rank - 0.5) / n over the set's genes) - 0.5``, in [-0.5, 0.5]. Ranks
discard the scale left over after standardisation (log base, quantile vs per-gene mode, array vs RNA-seq
dynamic range), and averaging over a set's genes damps the noise of any single gene, so the same set
lands in one space whether it came from arrays, RNA-seq or a partial panel (Foroutan et al. 2018,
singscore, for the rank score; here applied to reference-standardised values so that a gene's level is
judged against its own platform, not against other genes).

The sets: the breast-cancer modules (proliferation, ER, HER2, basal, immune, stromal) always, plus the 50
MSigDB Hallmark sets (v7.5.1, CC BY 4.0; Liberzon et al. 2015) when the data folder has them. A set
counts only with at least :data:`MIN_SET_GENES` of its genes measured.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
from scipy.stats import rankdata

from genomics.errors import InputError
from genomics.signatures import MODULES, load_hallmark_sets

#: Breast-cancer modules: :data:`genomics.signatures.MODULES` plus modules from the literature (basal keratins /
#: FOXC1; T-cell and interferon immune genes; cancer-associated fibroblast collagens).
BREAST_MODULES: dict[str, tuple[str, ...]] = {
    **MODULES,
    "basal": ("KRT5", "KRT14", "KRT17", "KRT6B", "KRT16", "FOXC1", "SOX10", "EN1", "VGLL1", "ROPN1B"),
    "immune": ("PTPRC", "CD3E", "CD3D", "CD2", "CD8A", "GZMB", "PRF1", "CXCL9", "CXCL10", "CXCL13", "LCK", "CCL5"),
    "stromal": ("COL1A1", "COL1A2", "COL3A1", "COL5A1", "FAP", "POSTN", "SPARC", "COL11A1", "THBS2", "CTHRC1"),
}
MIN_SET_GENES = 3


def robust_sets() -> dict[str, tuple[str, ...]]:
    """The breast modules, and the Hallmark sets when the data folder has them (named ``HALLMARK_...``)."""
    sets = dict(BREAST_MODULES)
    try:
        sets.update(load_hallmark_sets())
    except InputError:
        pass  # no data folder: the modules alone
    return sets


def sets_on(genes: Sequence[str], sets: Mapping[str, Sequence[str]], *, min_genes: int = MIN_SET_GENES
            ) -> dict[str, tuple[str, ...]]:
    """The sets with at least ``min_genes`` members among ``genes``, each restricted to those members."""
    present = set(genes)
    out = {}
    for name, members in sets.items():
        kept = tuple(g for g in members if g in present)
        if len(kept) >= min_genes:
            out[name] = kept
    return out


def rank_scores(z: np.ndarray, genes: Sequence[str], sets: Mapping[str, Sequence[str]]) -> np.ndarray:
    """Samples × sets rank scores from per-gene z-scores ``z`` (samples × ``genes``; NaN = not measured).

    Ranks are taken within each sample over its measured genes; a set's score averages the ranks of its
    measured members (NaN where none is measured).
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    index = {g: i for i, g in enumerate(genes)}
    out = np.full((z.shape[0], len(sets)), np.nan)
    for row in range(z.shape[0]):
        measured = np.isfinite(z[row])
        n = int(measured.sum())
        if n == 0:
            continue
        ranks = np.full(z.shape[1], np.nan)
        ranks[measured] = (rankdata(z[row, measured]) - 0.5) / n
        for j, members in enumerate(sets.values()):
            cols = [index[g] for g in members if g in index]
            values = ranks[cols]
            if np.isfinite(values).any():
                out[row, j] = float(np.nanmean(values)) - 0.5
    return out
