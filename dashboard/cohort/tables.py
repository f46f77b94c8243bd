"""Per-patient tables of a cohort for the explorer: embedding coordinates with clusters, and pathway scores."""
from __future__ import annotations

import anndata as ad
import numpy as np
import pandas as pd

from genomics.errors import InputError
from genomics.signatures import hallmark_scores, module_scores

CLUSTER, RISK = "cluster", "risk"  # the explorer's derived variables: expression cluster, model risk


def embedding_table(pre: ad.AnnData) -> pd.DataFrame:
    """UMAP and PCA coordinates and the Leiden cluster per patient of a preprocessed cohort
    (:func:`genomics.preprocess.preprocessed_cohort`); index: patient ids as text."""
    table = pd.DataFrame(index=pre.obs_names.astype(str))
    if "X_umap" in pre.obsm:
        table["UMAP 1"], table["UMAP 2"] = pre.obsm["X_umap"][:, 0], pre.obsm["X_umap"][:, 1]
    ratio = pre.uns.get("pca", {}).get("variance_ratio", [np.nan, np.nan])
    table[f"PC1 ({ratio[0]:.0%})"], table[f"PC2 ({ratio[1]:.0%})"] = pre.obsm["X_pca"][:, 0], pre.obsm["X_pca"][:, 1]
    table[CLUSTER] = pre.obs["leiden"].astype(str).to_numpy()
    return table


def pathway_scores(adata: ad.AnnData) -> tuple[pd.DataFrame, list[str]]:
    """Module scores and Hallmark scores per patient (whichever can be computed), with notes."""
    notes, parts = [], []
    try:
        mods = module_scores(adata)
        parts.append(mods[[c for c in mods.columns if c.startswith("module_") and not c.endswith(("_genes", "notes"))]]
                     .dropna(axis=1, how="all"))
    except InputError as exc:
        notes.append(f"Module scores: {exc}")
    try:
        hall = hallmark_scores(adata)
        parts.append(hall)
        if hall.attrs.get("skipped"):
            notes.append(f"{len(hall.attrs['skipped'])} Hallmark sets skipped (fewer than 5 of their genes measured).")
    except InputError as exc:
        notes.append(f"Hallmark scores: {exc}")
    table = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=adata.obs_names)
    return table, notes
