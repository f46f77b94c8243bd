"""Rebuild the shipped reference tables from the data folder (:func:`derive_all`): copies of the small published
tables and the protein-coding reduction of the Ensembl 109 gene id map (ensgene, entrez, symbol, biotype).

The output is deterministic: the same data folder gives the same bytes (gzip without a timestamp).
"""
from __future__ import annotations

import gzip
import io
import shutil
from pathlib import Path

import pandas as pd

from genomics.reference_data import GENE_IDS, TABLES, ReferenceTable

#: Columns of the gene id map that the readers use (genomics.genes).
GENE_ID_COLUMNS = ("ensgene", "entrez", "symbol", "biotype")
GENE_ID_BIOTYPE = "protein_coding"


def gene_id_map_bytes(source: Path) -> bytes:
    """The protein-coding rows of the Ensembl id map, the columns the readers use, as gzip'd CSV (no timestamp)."""
    table = pd.read_csv(source, dtype=str, usecols=list(GENE_ID_COLUMNS), keep_default_na=False)
    table = table.loc[table["biotype"] == GENE_ID_BIOTYPE, list(GENE_ID_COLUMNS)]
    text = table.to_csv(index=False, lineterminator="\n")
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, mtime=0, compresslevel=9) as fh:
        fh.write(text.encode("utf-8"))
    return buffer.getvalue()


def derive_table(table: ReferenceTable, data_dir: Path, out_dir: Path) -> Path:
    """Write ``table`` derived from ``data_dir`` into ``out_dir``; returns the written file."""
    source = data_dir / table.data_path
    if not source.is_file():
        raise FileNotFoundError(f"{source} not found: is {data_dir} the reference data folder?")
    target = out_dir / table.shipped_file
    if table is GENE_IDS:
        target.write_bytes(gene_id_map_bytes(source))
    else:
        shutil.copyfile(source, target)
    return target


def derive_all(data_dir: Path, out_dir: Path) -> list[Path]:
    """Every shipped table, derived from ``data_dir`` into ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    return [derive_table(table, data_dir, out_dir) for table in TABLES.values()]
