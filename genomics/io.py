"""Read expression uploads into an AnnData (samples × HGNC symbols).

Formats: CSV/TSV/TXT (optionally gzipped; delimiter sniffed), XLSX (first sheet) and .h5ad.
Orientation is detected (genes as rows or as columns) from where the gene identifiers are;
the common two-column ``gene, value`` single-sample file is genes-as-rows with one sample.
Columns that are not genes in a genes-as-columns table (a METABRIC-style patient row) are
kept as clinical fields in ``obs``. Every decision is recorded in ``uns["oncotx"]``. Parsing the bytes into a
table of strings is :mod:`genomics.raw_table`.

Only :class:`genomics.errors.InputError` leaves this module for bad input.
"""
from __future__ import annotations

import re
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Literal

import anndata as ad
import numpy as np
import pandas as pd

from genomics.deadline import Deadline
from genomics.errors import InputError
from genomics.genes import GeneMapping, classify_id, harmonise, load_gene_map
from genomics.raw_table import MAX_CELLS, NO_DEADLINE, RawTable, cellwise, is_numeric_cells, parse_numbers, read_table
from genomics.sniff import (
    Payload,
    gunzip_capped,
    read_source,
    safe_text,
)
from genomics.spec import PROVENANCE_KEY

Orientation = Literal["auto", "genes_as_rows", "genes_as_columns"]

ID_COLUMN_NAMES = {"sample", "sample_id", "sampleid", "patient", "patient_id", "patientid", "id", "barcode", ""}
GENE_COLUMN_NAMES = {"gene", "genes", "gene_id", "geneid", "symbol", "gene_symbol", "hugo_symbol", "entrez_gene_id", "ensembl", "ensembl_id", "id_ref", "probe"}
MISSING_TOKENS = {"", "na", "nan", "n/a", "null", "none", "#n/a", "?", "."}
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+([eE][-+]?\d+)?$")


def read_expression(
    source: Any,
    *,
    name: str | None = None,
    orientation: Orientation = "auto",
    deadline: Deadline | float | None = None,
) -> ad.AnnData:
    """Read an expression upload into an AnnData with provenance.

    Parameters
    ----------
    source
        A path, bytes, or a file-like upload.
    name
        Display name (used in messages only, never as a path).
    orientation
        ``auto`` detects; the page asks the user when detection is ambiguous.
    deadline
        Wall-clock budget: a :class:`~genomics.deadline.Deadline` (shared with the caller), seconds, or
        ``None`` for ``ONCOTX_PARSE_SECONDS`` (default 60 s). Past it, :class:`InputError`.
    """
    dl = Deadline.of(deadline)
    payload = read_source(source, name=name)
    dl.check()
    if payload.kind == "gzip":
        payload = gunzip_capped(payload, deadline=dl)
    if payload.kind == "hdf5":
        adata = _read_h5ad_bytes(payload)
        dl.check()
        return _harmonise_anndata(adata, payload=payload, deadline=dl)
    table = read_table(payload, deadline=dl)
    return _table_to_anndata(table, payload=payload, orientation=orientation, deadline=dl)


class _TickingIds(list):
    """A list of identifiers whose iteration ticks a deadline, so that a plain loop over it elsewhere
    (:func:`genomics.genes.harmonise`) stops on time without changing that function."""

    def __init__(self, ids: Any, deadline: Deadline) -> None:
        super().__init__(ids)
        self._deadline = deadline

    def __iter__(self) -> Iterator[Any]:
        return self._deadline.iterate(super().__iter__())


def _harmonise(ids: Any, deadline: Deadline, gene_map: Any = None) -> GeneMapping:
    deadline.check()
    return harmonise(_TickingIds(ids, deadline), gene_map=gene_map)


def _table_to_anndata(
    table: RawTable, *, payload: Payload, orientation: Orientation, deadline: Deadline = NO_DEADLINE
) -> ad.AnnData:
    cells = table.cells
    if cells.shape[1] < 2:
        raise InputError(
            f"{payload.name} has a single column: expected gene identifiers and values "
            "separated by a tab, comma or semicolon."
        )
    if cells.shape[0] < 2:
        raise InputError(f"{payload.name} has a header but no data rows.")
    gmap = load_gene_map()
    header = cells.iloc[0]
    first_col = cells.iloc[1:, 0]
    row_ids = _harmonise(list(first_col), deadline, gmap)
    col_ids = _harmonise(list(header.iloc[1:]), deadline, gmap)
    row_score = row_ids.n_mapped + len(row_ids.excel_mangled)
    if first_col.nunique() < 0.9 * len(first_col):  # identifiers are (nearly) unique; ages or grades are not
        row_score = 0
    col_score = col_ids.n_mapped + len(col_ids.excel_mangled)
    if orientation == "auto":
        if row_score == 0 and col_score == 0:
            kinds = {k: row_ids.id_type_counts.get(k, 0) + col_ids.id_type_counts.get(k, 0)
                     for k in ("probe", "ensembl", "entrez")}
            if gmap.source is None and any(kinds.values()):  # ids that only the identifier tables can read
                what = "Affymetrix probe" if kinds["probe"] >= max(kinds["ensembl"], kinds["entrez"]) else "gene"
                raise InputError(
                    f"{payload.name}: its {what} identifiers cannot be read on this server: the gene-identifier "
                    "tables are not installed (ask the administrator). A file with gene symbols can be read.")
            if kinds["probe"] and not gmap.by_probe:
                raise InputError(
                    f"{payload.name}: its Affymetrix probe identifiers cannot be read on this server: the array "
                    "annotation is not installed (ask the administrator). A file with gene symbols can be read.")
            raise InputError(
                f"{payload.name}: no recognised human gene identifiers in the first row or the first column "
                "(expected HGNC symbols, Ensembl or Entrez ids)."
            )
        big, small = max(row_score, col_score), min(row_score, col_score)
        if small >= 10 and big < 1.5 * small:
            raise InputError(
                f"{payload.name}: genes found both in the first row ({col_score}) and the first column "
                f"({row_score}); choose the orientation (genes as rows or as columns)."
            )
        orientation = "genes_as_rows" if row_score >= col_score else "genes_as_columns"
    if orientation == "genes_as_rows":
        values, obs, ids, dropped = _genes_as_rows(cells, payload.name, deadline)
    else:
        values, obs, ids, dropped = _genes_as_columns(cells, payload.name, deadline)
    numeric, conversions = _to_numeric(
        values, payload.name, ids=ids, decimal_comma_ok=table.delimiter not in (",", None), deadline=deadline
    )
    mapping = _harmonise(ids, deadline, gmap)
    adata = _assemble(numeric, obs=obs, mapping=mapping, ids=ids)
    deadline.check()
    adata.uns[PROVENANCE_KEY] = _provenance(
        payload,
        fmt=table.fmt,
        encoding=table.encoding,
        delimiter=table.delimiter,
        orientation=orientation,
        mapping=mapping,
        adata=adata,
        extra={"dropped_columns": dropped, "conversions": conversions},
    )
    return adata


def _genes_as_rows(
    cells: pd.DataFrame, name: str, deadline: Deadline = NO_DEADLINE
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """First column = gene ids; other numeric columns = samples. Returns samples × ids values."""
    header_numeric = is_numeric_cells(cells.iloc[0, 1:], deadline).all()
    body = cells if header_numeric else cells.iloc[1:]
    n_value_cols = cells.shape[1] - 1
    if header_numeric:
        sample_names = ["sample"] if n_value_cols == 1 else [f"sample_{i + 1}" for i in range(n_value_cols)]
    else:
        sample_names = [str(c) or f"sample_{i + 1}" for i, c in enumerate(cells.iloc[0, 1:])]
    # annotation columns (e.g. a description or a second id column) are mostly non-numeric
    numeric_frac = is_numeric_cells(body.iloc[:, 1:], deadline).mean(axis=0)
    keep = [i for i, frac in enumerate(numeric_frac) if frac >= 0.5]
    dropped = [sample_names[i] for i in range(n_value_cols) if i not in keep]
    if not keep:
        raise InputError(f"{name}: no numeric expression columns next to the gene identifiers.")
    values = body.iloc[:, [1 + i for i in keep]].T
    values.index = [sample_names[i] for i in keep]
    ids = list(body.iloc[:, 0])
    values.columns = range(len(ids))
    obs = pd.DataFrame(index=values.index)
    return values, obs, ids, dropped


def _genes_as_columns(
    cells: pd.DataFrame, name: str, deadline: Deadline = NO_DEADLINE
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Header = gene ids (and clinical fields); rows = samples."""
    header = [str(h) for h in cells.iloc[0]]
    body = cells.iloc[1:]
    mapping = _harmonise(header, deadline, load_gene_map())
    first_is_gene = mapping.symbols[0] is not None
    first_numeric = is_numeric_cells(body.iloc[:, 0], deadline).mean() >= 0.5
    has_id_col = header[0].lower() in ID_COLUMN_NAMES or not (first_is_gene or first_numeric)
    if has_id_col:
        sample_names = list(body.iloc[:, 0])
        start = 1
    else:
        sample_names = ["sample"] if len(body) == 1 else [f"sample_{i + 1}" for i in range(len(body))]
        start = 0
    numeric_frac = is_numeric_cells(body, deadline).mean(axis=0)
    gene_cols = [
        i for i in range(start, len(header))
        if numeric_frac[i] >= 0.5
        and (mapping.symbols[i] is not None or classify_id(header[i]) in ("excel", "probe", "ensembl"))
    ]
    gene_set = set(gene_cols)
    other_cols = [i for i in range(start, len(header)) if i not in gene_set]
    values = body.iloc[:, gene_cols]
    values.index = sample_names
    values.columns = range(len(gene_cols))
    obs = body.iloc[:, other_cols].copy()
    obs.columns = _unique_names([header[i] or f"column_{i + 1}" for i in other_cols])
    obs.index = sample_names
    # one pass over all cells (a per-column loop took seconds on a 10,000-column row)
    raw = obs.to_numpy(dtype=object)
    present = raw != ""
    parsed = parse_numbers(raw, deadline=deadline) if raw.size else np.zeros(raw.shape)
    numeric_col = np.all(~np.isnan(parsed) | ~present, axis=0)
    int_like = cellwise(
        lambda block: pd.Series(block, dtype=object).str.fullmatch(r"[-+]?\d{1,15}").to_numpy(dtype=bool),
        raw, deadline,
    ) if raw.size else np.zeros(raw.shape, dtype=bool)
    int_col = numeric_col & np.all(int_like, axis=0)
    columns = list(obs.columns)
    obs = pd.concat(
        [pd.DataFrame(parsed[:, numeric_col], columns=[c for c, n in zip(columns, numeric_col, strict=True) if n]),
         pd.DataFrame(np.where(present, raw, np.nan)[:, ~numeric_col], dtype=object,
                      columns=[c for c, n in zip(columns, numeric_col, strict=True) if not n])],
        axis=1,
    )[columns]
    ints = [c for c, n in zip(columns, int_col, strict=True) if n]
    if ints:
        obs[ints] = obs[ints].astype(np.int64)
    obs.index = sample_names
    return values, obs, [header[i] for i in gene_cols], []


def _unique_names(names: list[str]) -> list[str]:
    """Suffix repeated column names (``age``, ``age.1``) so that none is lost."""
    seen: dict[str, int] = {}
    out = []
    for name in names:
        count = seen.get(name, 0)
        out.append(name if count == 0 else f"{name}.{count}")
        seen[name] = count + 1
    return out


def _to_numeric(
    values: pd.DataFrame, name: str, *, ids: list[str], decimal_comma_ok: bool, deadline: Deadline = NO_DEADLINE
) -> tuple[pd.DataFrame, list[str]]:
    """Convert string cells to float; missing tokens → NaN; text cells → InputError naming them."""
    conversions: list[str] = []
    if values.size == 0:
        raise InputError(f"{name}: no expression values next to the gene identifiers.")
    cells = values.to_numpy(dtype=str)
    missing_tokens = list(MISSING_TOKENS)
    missing = cellwise(lambda block: np.isin(np.char.lower(block), missing_tokens), cells, deadline)
    comma = cellwise(
        lambda block: pd.Series(block, dtype=object).str.match(_DECIMAL_COMMA).to_numpy(dtype=bool), cells, deadline
    )
    if comma.any():
        if not decimal_comma_ok:
            raise InputError(f"{name}: numbers with decimal commas in a comma-separated file; re-export with '.' decimals.")
        conversions.append(f"decimal commas read as decimal points in {int(comma.sum())} cells")
    parsed = parse_numbers(cells, decimal_comma=bool(comma.any()), deadline=deadline)
    bad = np.isnan(parsed) & ~missing
    if bad.any():
        rows, cols = np.nonzero(bad)
        where = [f"sample {safe_text(values.index[r], 40)} / gene {safe_text(ids[c], 40)}"
                 for r, c in zip(rows[:3], cols[:3], strict=False)]
        raise InputError(
            f"{name}: {int(bad.sum())} non-numeric expression cell(s), e.g. {'; '.join(where)}.",
            problems=[f"non-numeric value at {w}" for w in where],
        )
    numeric = pd.DataFrame(parsed, index=values.index, columns=values.columns)
    return numeric, conversions


def _assemble(numeric: pd.DataFrame, *, obs: pd.DataFrame, mapping: GeneMapping, ids: list[str]) -> ad.AnnData:
    """Keep mapped genes, average duplicates (visible rule), build the AnnData."""
    keep = [i for i, s in enumerate(mapping.symbols) if s is not None]
    symbols = [mapping.symbols[i] for i in keep]
    frame = numeric.iloc[:, keep]
    frame.columns = symbols
    if len(set(map(str, numeric.index))) != len(numeric.index):
        dupes = pd.Index(numeric.index.astype(str))
        shown = ", ".join(safe_text(d) for d in sorted(set(dupes[dupes.duplicated()]))[:5])
        raise InputError(f"Duplicate sample ids: {shown}. Each sample must appear once.")
    n_dup = int(pd.Index(symbols).duplicated().sum())
    if n_dup:
        frame = frame.T.groupby(level=0, sort=False).mean().T
    gmap = load_gene_map()
    var = pd.DataFrame(index=pd.Index(frame.columns.astype(str), name="symbol"))
    var["ensembl_id"] = [gmap.ensembl_of.get(s, "") for s in var.index]
    var["entrez_id"] = [gmap.entrez_of.get(s, "") for s in var.index]
    obs = obs.copy()
    obs.index = pd.Index(numeric.index.astype(str), name="sample_id")
    adata = ad.AnnData(X=frame.to_numpy(dtype=np.float32), obs=obs, var=var)
    adata.uns["_duplicates"] = {"n_duplicate_ids": n_dup, "rule": "mean of duplicate rows per gene"} if n_dup else {}
    return adata


def _provenance(
    payload: Payload,
    *,
    fmt: str,
    encoding: str | None,
    delimiter: str | None,
    orientation: str,
    mapping: GeneMapping,
    adata: ad.AnnData,
    extra: dict[str, Any],
) -> dict[str, Any]:
    duplicates = adata.uns.pop("_duplicates", {})
    return {
        "source_name": payload.name,
        "source_sha256": payload.sha256,
        "format": fmt + ("+gzip" if payload.compressed else ""),
        "encoding": encoding or "",
        "delimiter": {"\t": "tab", ",": "comma", ";": "semicolon", "|": "pipe", r"\s+": "whitespace"}.get(
            delimiter or "", ""
        ),
        "orientation": orientation,
        "id_type": mapping.id_type,
        "id_type_counts": mapping.id_type_counts,
        "n_input_ids": len(mapping.symbols),
        "n_mapped_ids": mapping.n_mapped,
        "unmapped_ids": list(mapping.unmapped[:200]),
        "n_unmapped_ids": len(mapping.unmapped),
        "renamed": dict(list(mapping.renamed.items())[:200]),
        "excel_mangled": mapping.excel_mangled,
        "mouse_like_ids": mapping.mouse_like,
        "gene_map_available": mapping.map_available,
        "duplicates": duplicates,
        "transformations": [],
        **extra,
    }


def _read_h5ad_bytes(payload: Payload) -> ad.AnnData:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "upload.h5ad"  # fixed name: the user's file name is never a path
        path.write_bytes(payload.data)
        try:
            adata = ad.read_h5ad(path)
        except Exception as exc:  # h5py/anndata raise many types on foreign HDF5 files
            raise InputError(f"{payload.name} is an HDF5 file but not a readable .h5ad ({type(exc).__name__}).") from None
    if adata.n_obs == 0 or adata.n_vars == 0:
        raise InputError(f"{payload.name} holds no samples or no genes.")
    if adata.n_obs * adata.n_vars > MAX_CELLS:
        raise InputError(f"{payload.name} has {adata.n_obs} × {adata.n_vars} cells; the limit is {MAX_CELLS:,}.")
    return adata


def _harmonise_anndata(adata: ad.AnnData, *, payload: Payload, deadline: Deadline = NO_DEADLINE) -> ad.AnnData:
    """Map an uploaded AnnData's var names to symbols with the same rules as text files."""
    X = adata.X.toarray() if hasattr(adata.X, "toarray") else np.asarray(adata.X)
    try:
        X = X.astype(float)
    except (TypeError, ValueError):
        raise InputError(f"{payload.name}: the expression matrix is not numeric.") from None
    numeric = pd.DataFrame(X, index=adata.obs_names.astype(str))
    ids = list(adata.var_names.astype(str))
    mapping = _harmonise(ids, deadline)
    out = _assemble(numeric, obs=adata.obs.copy(), mapping=mapping, ids=ids)
    deadline.check()
    out.uns[PROVENANCE_KEY] = _provenance(
        payload, fmt="h5ad", encoding=None, delimiter=None, orientation="genes_as_columns", mapping=mapping,
        adata=out, extra={"dropped_columns": [], "conversions": []},
    )
    return out
