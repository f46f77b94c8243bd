"""Gene-module scores, Hallmark gene-set scores and per-gene percentiles against a reference."""
from __future__ import annotations

import functools
import logging
from collections.abc import Iterable, Sequence
from pathlib import Path

import anndata as ad
import numpy as np
import pandas as pd

from genomics.errors import InputError
from genomics.reference_data import HALLMARK, table_path
from genomics.signatures.resolve import (
    MIN_SELF_REFERENCE,
    Reference,
    check_scales,
    gene_values,
    resolve_reference,
)

log = logging.getLogger(__name__)

MODULES: dict[str, tuple[str, ...]] = {
    # PAM50's 11-gene proliferation score (Nielsen 2010) plus Oncotype's AURKA and MYBL2 (genefu's AURKA module seed)
    "proliferation": ("BIRC5", "CCNB1", "CDC20", "NUF2", "CEP55", "NDC80", "MKI67", "PTTG1", "RRM2", "TYMS",
                      "UBE2C", "AURKA", "MYBL2"),
    "er": ("ESR1", "PGR", "BCL2", "SCUBE2", "GATA3", "FOXA1", "XBP1", "TFF1", "CA12", "AGR2", "NAT1", "SLC39A6"),
    "her2": ("ERBB2", "GRB7", "STARD3", "PGAP3", "MIEN1", "PSMD3"),
}
MIN_MODULE_GENES = 2
PERCENTILE_GENES = ("ESR1", "PGR", "ERBB2", "MKI67", "AURKA", "GATA3", "FOXA1", "KRT5", "EGFR", "TP53")
HALLMARK_FILE = HALLMARK.data_path


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
    resolved = resolve_reference(adata, reference, all_genes, "Module scores")
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
    """MSigDB Hallmark gene sets (v7.5.1, CC BY 4.0; Liberzon 2015): name → gene symbols (the data folder's copy
    where it holds one, else the shipped copy, :mod:`genomics.reference_data`)."""
    path = table_path(HALLMARK, data_dir)
    if not path.is_file():
        raise InputError(f"Hallmark gene sets not found ({HALLMARK_FILE}).")
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
    import scanpy as sc  # lazy: start-up cost (scanpy, numba)

    check_scales(adata, reference, "Hallmark scores")
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
        x = gene_values(adata, genes)
    else:
        genes = [g for g in adata.var_names if g in set(reference.var_names)]
        x = pd.concat([gene_values(adata, genes), gene_values(reference, genes)], axis=0, ignore_index=True)
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
    check_scales(adata, reference, "Gene percentiles")
    genes = list(genes)
    x, ref = gene_values(adata, genes), gene_values(reference, genes)
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
