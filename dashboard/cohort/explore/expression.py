"""Expression by group: two-group masks for differential expression, the top genes by group, scores by group."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from dashboard.cohort.explore.variables import as_text, category_order
from genomics.errors import InputError


def two_groups(groups: pd.Series, group: str, reference: str = "rest") -> tuple[np.ndarray, np.ndarray]:
    """Boolean masks of one group and its reference (another group, or every other patient with a group)."""
    text = as_text(groups)
    a = (text == group).to_numpy()
    b = (text.notna() & (text != group)).to_numpy() if reference == "rest" else (text == reference).to_numpy()
    return a, b


def top_genes_by_group(
    x: np.ndarray, genes: Sequence[str], groups: pd.Series, *, n_top: int = 25,
) -> tuple[pd.DataFrame, pd.Series]:
    """Mean standardised expression per group of the genes that best separate the groups.

    Each gene is standardised over the patients with a group (mean 0, SD 1); genes are ranked by the
    one-way ANOVA F statistic of the group means. Returns (genes x groups means, F per gene for the top genes).
    """
    labels = as_text(groups).to_numpy()
    keep = pd.notna(labels)
    order = [g for g in category_order(groups) if (labels == g).any()]
    if len(order) < 2:
        raise InputError("A heatmap by group needs at least two groups.")
    data = np.asarray(x, dtype=float)[keep]
    finite = np.isfinite(data).all(axis=0)
    data, names = data[:, finite], np.asarray(genes)[finite]
    sd = data.std(axis=0, ddof=1)
    use = sd > 0
    z = (data[:, use] - data[:, use].mean(axis=0)) / sd[use]
    names = names[use]
    lab = labels[keep]
    means = np.stack([z[lab == g].mean(axis=0) for g in order])
    sizes = np.array([(lab == g).sum() for g in order], dtype=float)
    between = (sizes[:, None] * means**2).sum(axis=0) / max(len(order) - 1, 1)
    within = sum(((z[lab == g] - means[k]) ** 2).sum(axis=0) for k, g in enumerate(order)) / max(len(z) - len(order), 1)
    f_stat = between / np.where(within > 0, within, np.nan)
    top = np.argsort(-np.nan_to_num(f_stat, nan=-1.0))[:n_top]
    table = pd.DataFrame(means[:, top].T, index=pd.Index(names[top], name="gene"), columns=[str(g) for g in order])
    return table, pd.Series(f_stat[top], index=table.index, name="F")


def scores_by_group(scores: pd.DataFrame, groups: pd.Series) -> pd.DataFrame:
    """Mean (and n) of each score column per group: rows = groups, columns = scores."""
    frame = scores.assign(_group=as_text(groups).to_numpy()).dropna(subset=["_group"])
    means = frame.groupby("_group", sort=False).mean(numeric_only=True)
    means = means.reindex([g for g in category_order(groups) if g in means.index])
    means.insert(0, "n", frame.groupby("_group", sort=False).size().reindex(means.index))
    means.index.name = "group"
    return means
