"""Differential expression between two groups of samples (``scanpy.tl.rank_genes_groups`` on a private copy).

Bulk expression of patients is compared gene by gene: Wilcoxon rank-sum (normal approximation with tie
correction, as ``scipy.stats.mannwhitneyu(method="asymptotic", use_continuity=False)``) or Welch's t-test,
with Benjamini-Hochberg adjustment over the genes tested. The input AnnData is never modified.
"""
from __future__ import annotations

import logging
import warnings
from typing import Literal

import anndata as ad
import numpy as np
import pandas as pd
from scipy import sparse

from genomics.errors import InputError
from genomics.scale import detect_scale
from genomics.spec import PROVENANCE_KEY

log = logging.getLogger(__name__)

Method = Literal["wilcoxon", "t-test"]
LOG_SCALES = ("log", "zscore")
MIN_GROUP_SIZE = 3
_GROUP, _REFERENCE = "group", "reference"
COLUMNS = ("gene", "log2_fold_change", "statistic", "p_value", "p_adj", "mean_group", "mean_reference")


def differential_expression(
    adata: ad.AnnData, *, groupby: str, group: str, reference: str = "rest", method: Method = "wilcoxon",
    layer: str | None = None,
) -> pd.DataFrame:
    """Genes that differ between samples with ``obs[groupby] == group`` and the reference samples.

    Parameters
    ----------
    groupby
        An ``obs`` column; values are compared as text. Samples with a missing value are left out.
    group, reference
        Values of that column; ``reference="rest"`` means every other sample with a value.
    method
        ``"wilcoxon"`` (rank-sum) or ``"t-test"`` (Welch, unequal variances).
    layer
        Use ``layers[layer]`` instead of ``X``.

    Returns
    -------
    See :func:`differential_expression_masks`.
    """
    if groupby not in adata.obs.columns:
        raise InputError(f"No column {groupby!r} in the sample annotations (obs).")
    values = adata.obs[groupby]
    text = values.astype(str).where(values.notna())
    known = sorted(text.dropna().unique())
    for name in (group,) if reference == "rest" else (group, reference):
        if str(name) not in known:
            shown = ", ".join(known[:10]) or "none"
            raise InputError(f"{groupby!r} has no value {name!r}; values present: {shown}.")
    mask_a = (text == str(group)).to_numpy()
    mask_b = (text.notna() & (text != str(group))).to_numpy() if reference == "rest" else (
        text == str(reference)).to_numpy()
    labels = (f"{groupby}={group}", "rest" if reference == "rest" else f"{groupby}={reference}")
    return differential_expression_masks(adata, mask_a=mask_a, mask_b=mask_b, method=method, layer=layer,
                                         labels=labels)


def differential_expression_masks(
    adata: ad.AnnData, *, mask_a, mask_b, method: Method = "wilcoxon", layer: str | None = None,
    labels: tuple[str, str] = ("A", "B"),
) -> pd.DataFrame:
    """Genes that differ between two arbitrary sets of samples (e.g. two lasso selections).

    ``log2_fold_change`` is ``mean_group - mean_reference`` computed here: on log2 data that is the log2 fold
    change of the geometric means; on z-score data it is a difference in standard-deviation units (there is no
    ratio to take). scanpy's own ``logfoldchanges`` assume natural-log ``log1p`` data and are not used.

    Parameters
    ----------
    mask_a, mask_b
        Boolean arrays over ``obs`` (disjoint, at least 3 samples each): the group and the reference.
    labels
        Names of the two sets, kept in ``attrs``.

    Returns
    -------
    One row per gene, sorted by p-value: ``gene``, ``log2_fold_change``, ``statistic`` (z of the rank sum, or
    Welch's t), ``p_value``, ``p_adj`` (Benjamini-Hochberg), ``mean_group``, ``mean_reference``. ``attrs`` hold
    the method, group sizes, scale and genes left out for missing values.
    """
    if method not in ("wilcoxon", "t-test"):
        raise InputError(f"Unknown method {method!r}: use 'wilcoxon' or 't-test'.")
    a, b = _as_mask(mask_a, adata.n_obs, "mask_a"), _as_mask(mask_b, adata.n_obs, "mask_b")
    if (a & b).any():
        raise InputError(f"The two groups share {int((a & b).sum())} sample(s); they must be disjoint.")
    for label, mask in zip(labels, (a, b), strict=True):
        if mask.sum() < MIN_GROUP_SIZE:
            raise InputError(f"Group {label!r} has {int(mask.sum())} sample(s); differential expression needs at "
                             f"least {MIN_GROUP_SIZE} in each group.")
    scale = _scale_of(adata)
    if scale not in LOG_SCALES:
        raise InputError(f"Differential expression needs log-scale or z-score data, not {scale}: preprocess first.")
    x = _dense(adata.layers[layer] if layer is not None else adata.X)[a | b]
    finite = np.isfinite(x).all(axis=0)
    if not finite.any():
        raise InputError("Every gene has missing values in these samples; nothing to compare.")
    genes = adata.var_names[finite].astype(str)
    if not finite.all():
        log.info("Differential expression: %d gene(s) with missing values left out", int((~finite).sum()))
    table = _rank_two_groups(x[:, finite], genes, a[a | b], method)
    table.attrs.update(method=method, groups=labels, n_group=int(a.sum()), n_reference=int(b.sum()), scale=scale,
                       skipped_genes=list(adata.var_names[~finite].astype(str)),
                       effect="difference of mean z-scores (SD units)" if scale == "zscore" else "log2 fold change")
    return table


def _dense(x) -> np.ndarray:
    return np.asarray(x.toarray() if sparse.issparse(x) else x, dtype=float)


def _scale_of(adata: ad.AnnData) -> str:
    scale = adata.uns.get(PROVENANCE_KEY, {}).get("scale")
    return str(scale) if scale else detect_scale(_dense(adata.X))[0]


def _as_mask(mask, n: int, name: str) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.shape != (n,) or arr.dtype != bool:
        raise InputError(f"{name} must be a boolean array with one entry per sample ({n}).")
    return arr


def _rank_two_groups(x: np.ndarray, genes: pd.Index, in_group: np.ndarray, method: Method) -> pd.DataFrame:
    import scanpy as sc  # lazy: start-up cost (scanpy, numba)

    work = ad.AnnData(
        X=x.astype(np.float64),
        obs=pd.DataFrame({"_de": pd.Categorical(np.where(in_group, _GROUP, _REFERENCE),
                                                categories=[_GROUP, _REFERENCE])},
                         index=[str(i) for i in range(x.shape[0])]),
        var=pd.DataFrame(index=genes),
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # constant genes: scanpy sets their statistic to 0, p to 1
        sc.tl.rank_genes_groups(work, "_de", groups=[_GROUP], reference=_REFERENCE, method=method,
                                corr_method="benjamini-hochberg", tie_correct=method == "wilcoxon",
                                use_raw=False, n_genes=None)
    res = sc.get.rank_genes_groups_df(work, group=_GROUP).set_index("names").reindex(genes)
    mean_a, mean_b = x[in_group].mean(axis=0), x[~in_group].mean(axis=0)
    table = pd.DataFrame({
        "gene": genes,
        "log2_fold_change": mean_a - mean_b,
        "statistic": res["scores"].to_numpy(dtype=float),
        "p_value": res["pvals"].to_numpy(dtype=float),
        "p_adj": res["pvals_adj"].to_numpy(dtype=float),
        "mean_group": mean_a,
        "mean_reference": mean_b,
    })
    order = np.lexsort((-np.abs(table["log2_fold_change"].to_numpy()), table["p_value"].to_numpy()))
    return table.iloc[order].reset_index(drop=True)
