"""Builders of test inputs from the real data (and a few generated edge cases)."""
from __future__ import annotations

import gzip
import io
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

REPO = Path(__file__).resolve().parents[1]
DEFAULT_DATA = REPO.parent / "shared" / "data"  # the real data folder when ONCOTX_DATA is not set


def data_dir() -> Path:
    return DEFAULT_DATA


def metabric_table(data: Path | None = None) -> pd.DataFrame:
    data = data or data_dir()
    return pd.read_parquet(data / "metabric" / "metabric_1904_clinical_treatment_expr300.parquet")


def metabric_row_csv(index: int = 0, data: Path | None = None) -> bytes:
    """One METABRIC patient row: clinical + treatment + outcome + 300 z-scored genes."""
    return metabric_table(data).iloc[[index]].to_csv(index=False).encode()


def metabric_genes(data: Path | None = None) -> pd.DataFrame:
    """METABRIC z-scores only (patients × 300 symbols), indexed by patient id."""
    table = metabric_table(data).set_index("patient_id")
    genes = [c for c in table.columns if c.isupper() and "_" not in c and table[c].dtype.kind == "f"]
    genes = [g for g in genes if g not in ("NPI",)]
    return table[genes]


def vdx_sample_tsv(index: int = 0, data: Path | None = None) -> bytes:
    """One VDX sample as the common two-column 'probe <tab> value' file (genes as rows)."""
    data = data or data_dir()
    expr = pd.read_csv(data / "vdx" / "vdxs_expr.csv.gz").set_index("sample_id")
    return expr.iloc[[index]].T.to_csv(sep="\t").encode()


def rnaseq_counts_tsv(*, n_genes: int = 12000, seed: int = 0, data: Path | None = None) -> bytes:
    """A single-sample RNA-seq counts file keyed by versioned Ensembl ids (negative-binomial counts)."""
    data = data or data_dir()
    ids = pd.read_csv(data / "gene_ids" / "grch38_ensembl109_protein_coding.tsv", sep="\t", usecols=["ensgene"])
    rng = np.random.default_rng(seed)
    genes = ids["ensgene"].iloc[:n_genes]
    means = rng.lognormal(mean=4.0, sigma=2.0, size=len(genes))
    counts = rng.negative_binomial(n=5, p=5 / (5 + means))
    versioned = [f"{g}.{rng.integers(1, 20)}" for g in genes]
    frame = pd.DataFrame({"gene_id": versioned, "counts": counts})
    return frame.to_csv(sep="\t", index=False).encode()


def symbols_matrix_csv(frame: pd.DataFrame, *, genes_as_rows: bool) -> bytes:
    """A samples × genes frame written in either orientation."""
    out = frame.T if genes_as_rows else frame
    out = out.copy()
    out.index.name = "gene" if genes_as_rows else "sample_id"
    return out.to_csv().encode()


def gz(data: bytes) -> bytes:
    return gzip.compress(data)


def xlsx(frame: pd.DataFrame) -> bytes:
    buf = io.BytesIO()
    frame.to_excel(buf, index=True)
    return buf.getvalue()


def load_real_cohort(cohort: str, data_dir: Path):
    """Load with ONCOTX_DATA set, so that probe and gene ids map as in the app (module fixtures run before
    the per-test environment is set)."""
    from genomics.cohorts import load_cohort  # lazy: conftest imports this module; cohorts load dask

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("ONCOTX_DATA", str(data_dir))
        return load_cohort(cohort)
