"""A patient table (one row per patient) as a cohort AnnData: which columns are genes, the outcome checks,
and the provenance every loader stores (:func:`cohort_from_table`)."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import anndata as ad
import numpy as np
import pandas as pd

from genomics.errors import InputError
from genomics.genes import harmonise
from genomics.spec import PROVENANCE_KEY, CohortSpec


@dataclass(frozen=True)
class TableGenes:
    """Which columns of a patient table are genes, and their HGNC symbols (see :func:`table_genes`)."""

    columns: tuple[str, ...]
    symbols: tuple[str, ...]
    renamed: dict[str, str]


def table_genes(columns: Sequence[str], numeric: Sequence[bool], spec: CohortSpec) -> TableGenes:
    """The gene columns of a patient table from its column names and which of them are numeric.

    Gene columns are numeric columns whose names map to HGNC symbols and that the spec does not
    declare as clinical, treatment or outcome columns. Worked out once per file, this lets a table read
    in partitions map every partition the same way (:func:`cohort_from_table` ``genes=``).
    """
    declared = {spec.patient_id_col, *spec.treatments, *(f.name for f in spec.clinical)}
    declared |= {c for ep in spec.endpoints for c in (ep.time_col, ep.event_col)}
    if spec.batch_col:
        declared.add(spec.batch_col)
    if spec.subtype_col:
        declared.add(spec.subtype_col)
    candidates = [str(c) for c, num in zip(columns, numeric, strict=True) if c not in declared and num]
    mapping = harmonise(candidates)
    kept = [(c, s) for c, s in zip(candidates, mapping.symbols, strict=True) if s is not None]
    return TableGenes(tuple(c for c, _ in kept), tuple(s for _, s in kept), dict(mapping.renamed))


def cohort_from_table(table: pd.DataFrame, spec: CohortSpec, *, source: str, sha256: str,
                      genes: TableGenes | None = None) -> ad.AnnData:
    """Split a patient table (one row per patient) into expression genes and obs columns.

    Gene columns are numeric columns whose names map to HGNC symbols and that the spec does not
    declare as clinical, treatment or outcome columns (``genes``: worked out beforehand by
    :func:`table_genes`, e.g. once for all partitions of a large file).
    """
    if spec.patient_id_col not in table.columns:
        raise InputError(f"Cohort table has no patient id column {spec.patient_id_col!r}.")
    ids = table[spec.patient_id_col].astype(str)
    if ids.duplicated().any():
        raise InputError(f"Duplicate patient ids in the cohort table, e.g. {ids[ids.duplicated()].iloc[0]}.")
    if genes is None:
        genes = table_genes(list(table.columns), [pd.api.types.is_numeric_dtype(table[c]) for c in table.columns],
                            spec)
    missing = [c for c in genes.columns if c not in table.columns]
    if missing:
        raise InputError(f"Cohort table lacks gene column(s) {', '.join(missing[:5])}.")
    gene_cols, symbols = list(genes.columns), list(genes.symbols)
    obs = table.drop(columns=gene_cols).copy()
    obs.index = pd.Index(ids.to_numpy(), name="patient_id")
    expr = table[gene_cols].astype(float)
    expr.columns = symbols
    expr.index = obs.index
    if expr.columns.duplicated().any():
        expr = expr.T.groupby(level=0, sort=False).mean().T
    _check_outcomes(obs, spec)
    adata = ad.AnnData(X=expr.to_numpy(dtype=np.float32), obs=obs, var=pd.DataFrame(index=expr.columns.astype(str)))
    adata.var.index.name = "symbol"
    adata.uns[PROVENANCE_KEY] = {
        "cohort": spec.id,
        "spec": spec.to_json(),
        "source_name": source,
        "source_sha256": sha256,
        "scale": spec.scale,
        "platform": spec.platform,
        "renamed": genes.renamed,
        "transformations": [],
        "synthetic": spec.synthetic,
    }
    return adata


def _check_outcomes(obs: pd.DataFrame, spec: CohortSpec) -> None:
    for ep in spec.endpoints:
        for col in (ep.time_col, ep.event_col):
            if col not in obs.columns:
                raise InputError(f"Cohort {spec.id!r}: endpoint {ep.name} needs column {col!r}, which is missing.")
        events = obs[ep.event_col].dropna()
        if not events.isin([0, 1]).all():
            raise InputError(f"Cohort {spec.id!r}: event column {ep.event_col!r} must hold 0/1 only.")
        if (obs[ep.time_col].dropna() < 0).any():
            raise InputError(f"Cohort {spec.id!r}: time column {ep.time_col!r} has negative times.")
    for col in spec.treatments:
        if col not in obs.columns:
            raise InputError(f"Cohort {spec.id!r}: treatment column {col!r} is missing.")
