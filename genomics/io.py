"""Read expression uploads into an AnnData (samples × HGNC symbols).

Formats: CSV/TSV/TXT (optionally gzipped; delimiter sniffed), XLSX (first sheet) and .h5ad.
Orientation is detected (genes as rows or as columns) from where the gene identifiers are;
the common two-column ``gene, value`` single-sample file is genes-as-rows with one sample.
Columns that are not genes in a genes-as-columns table (a METABRIC-style patient row) are
kept as clinical fields in ``obs``. Every decision is recorded in ``uns["oncotx"]``.

Only :class:`genomics.errors.InputError` leaves this module for bad input.
"""
from __future__ import annotations

import csv
import io
import re
import tempfile
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import anndata as ad
import numpy as np
import pandas as pd

from genomics.errors import InputError
from genomics.genes import GeneMapping, classify_id, harmonise, load_gene_map
from genomics.sniff import (
    Deadline,
    Payload,
    check_zip_members,
    gunzip_capped,
    open_text_payload,
    read_source,
    safe_text,
)

Orientation = Literal["auto", "genes_as_rows", "genes_as_columns"]

MAX_CELLS = 60_000_000
MAX_COLUMNS = 100_000
ID_COLUMN_NAMES = {"sample", "sample_id", "sampleid", "patient", "patient_id", "patientid", "id", "barcode", ""}
GENE_COLUMN_NAMES = {"gene", "genes", "gene_id", "geneid", "symbol", "gene_symbol", "hugo_symbol", "entrez_gene_id", "ensembl", "ensembl_id", "id_ref", "probe"}
MISSING_TOKENS = {"", "na", "nan", "n/a", "null", "none", "#n/a", "?", "."}
_DECIMAL_COMMA = re.compile(r"^[-+]?\d+,\d+([eE][-+]?\d+)?$")
PROVENANCE_KEY = "oncotx"
_BLOCK_CELLS = 500_000  # cells per vectorised step between deadline checks
_UNLIMITED = Deadline.unlimited()


@dataclass(frozen=True)
class RawTable:
    """A parsed table of strings before orientation and numeric conversion."""

    cells: pd.DataFrame  # header=None, dtype object
    fmt: str
    encoding: str | None = None
    delimiter: str | None = None


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
        Wall-clock budget: a :class:`~genomics.sniff.Deadline` (shared with the caller), seconds, or
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


def read_table(payload: Payload, *, deadline: Deadline | None = None) -> RawTable:
    """Parse a text or XLSX payload into a table of strings (no header interpretation).

    Rows are read in blocks with a ``deadline`` check between blocks.
    """
    dl = deadline or _UNLIMITED
    if payload.kind == "xlsx":
        check_zip_members(payload)
        cells = _read_xlsx_cells(payload, dl)
        cells = cells.map(lambda v: "" if v is None or (isinstance(v, float) and np.isnan(v)) else str(v))
        return RawTable(_trim(cells, payload.name, deadline=dl), fmt="xlsx")
    if payload.kind == "parquet":
        raise InputError(f"{payload.name} is a parquet table: load it as a cohort, not as a patient upload.")
    payload, text, encoding = open_text_payload(payload, deadline=dl)
    delimiter = _sniff_delimiter(text)
    first = next((ln for ln in _head_lines(text, 5) if ln.strip()), "")
    per_row = first.count(delimiter) + 1 if len(delimiter) == 1 else len(first.split()) or 1
    parts: list[pd.DataFrame] = []
    try:
        with pd.read_csv(
            io.StringIO(text), sep=delimiter, header=None, dtype=str, keep_default_na=False,
            na_filter=False, engine="c" if len(delimiter) == 1 else "python", quoting=csv.QUOTE_MINIMAL,
            skip_blank_lines=True, comment=None, chunksize=max(1, _BLOCK_CELLS // per_row),
        ) as reader:
            for part in reader:
                parts.append(part)
                dl.check()
    except InputError:
        raise
    except pd.errors.EmptyDataError:
        raise InputError(f"{payload.name} is empty.") from None
    except (pd.errors.ParserError, ValueError, csv.Error) as exc:
        reason = str(exc).splitlines()[0][:160] if str(exc) else type(exc).__name__
        raise InputError(f"{payload.name} is not a well-formed table: {reason}.") from None
    if not parts:
        raise InputError(f"{payload.name} is empty.")
    cells = parts[0] if len(parts) == 1 else pd.concat(parts, ignore_index=True)
    return RawTable(_trim(cells, payload.name, deadline=dl), fmt="text", encoding=encoding, delimiter=delimiter)


def _head_lines(text: str, n: int) -> list[str]:
    """The first ``n`` lines without splitting the whole text."""
    return text[: 1 << 20].splitlines()[:n]


def _read_xlsx_cells(payload: Payload, deadline: Deadline) -> pd.DataFrame:
    """The first sheet's cells as pandas' ``read_excel(header=None, dtype=object)`` gives them, read row by
    row (openpyxl read-only) with a deadline check per row."""
    from openpyxl import load_workbook
    from openpyxl.cell.cell import TYPE_ERROR, TYPE_NUMERIC
    from pandas.io.parsers import TextParser

    def convert(cell: Any) -> Any:  # as pandas' openpyxl reader
        if cell.value is None:
            return ""
        if cell.data_type == TYPE_ERROR:
            return np.nan
        if cell.data_type == TYPE_NUMERIC:
            whole = int(cell.value)
            return whole if whole == cell.value else float(cell.value)
        return cell.value

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            book = load_workbook(io.BytesIO(payload.data), read_only=True, data_only=True, keep_links=False)
            try:
                sheet = book.worksheets[0]
                sheet.reset_dimensions()
                rows: list[list[Any]] = []
                last = -1
                for number, row in enumerate(sheet.rows):
                    deadline.check()
                    converted = [convert(cell) for cell in row]
                    while converted and converted[-1] == "":
                        converted.pop()
                    if converted:
                        last = number
                    rows.append(converted)
            finally:
                book.close()
            rows = rows[: last + 1]
            if not rows:
                return pd.DataFrame()
            width = max(len(r) for r in rows)
            rows = [r + [""] * (width - len(r)) for r in rows]
            return TextParser(rows, header=None, dtype=object, skip_blank_lines=False).read()
    except InputError:
        raise
    except Exception as exc:  # openpyxl raises many types on damaged files
        raise InputError(f"{payload.name} could not be read as an Excel workbook ({type(exc).__name__}).") from None


def _sniff_delimiter(text: str) -> str:
    lines = [ln for ln in text.splitlines()[:50] if ln.strip() and not ln.startswith("#")]
    if not lines:
        return ","
    best, best_score = ",", -1.0
    for delim in ("\t", ",", ";", "|"):
        counts = [ln.count(delim) for ln in lines]
        if min(counts) == 0:
            continue
        # consistent counts across lines score highest
        score = min(counts) + (5 if len(set(counts)) == 1 else 0)
        if score > best_score:
            best, best_score = delim, score
    if best_score < 0 and all(len(ln.split()) > 1 for ln in lines):
        return r"\s+"
    return best


def _cellwise(func: Callable[[np.ndarray], np.ndarray], cells: Any, deadline: Deadline) -> np.ndarray:
    """Apply an element-wise vectorised ``func`` (1-D in, 1-D out) to ``cells`` in blocks of
    ``_BLOCK_CELLS``, checking ``deadline`` between blocks; the result has the shape of ``cells``."""
    arr = np.asarray(cells)
    flat = arr.ravel()
    if flat.size <= _BLOCK_CELLS:
        deadline.check()
        out = func(flat)
    else:
        parts = []
        for start in range(0, flat.size, _BLOCK_CELLS):
            deadline.check()
            parts.append(func(flat[start:start + _BLOCK_CELLS]))
        out = np.concatenate(parts)
    return np.asarray(out).reshape(arr.shape)


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


def _trim(cells: pd.DataFrame, name: str, *, deadline: Deadline = _UNLIMITED) -> pd.DataFrame:
    if cells.size > MAX_CELLS or cells.shape[1] > MAX_COLUMNS:
        raise InputError(f"{name} has {cells.shape[0]} × {cells.shape[1]} cells; the limit is {MAX_CELLS:,} cells.")
    cells = pd.DataFrame(_cellwise(np.char.strip, cells.to_numpy(dtype=str), deadline), dtype=object)
    # drop comment rows (cBioPortal-style '#' headers) and fully empty rows/columns
    first = cells.iloc[:, 0] if cells.shape[1] else pd.Series(dtype=str)
    cells = cells[~first.str.startswith("#")]
    empty = cells.eq("")
    cells = cells.loc[~empty.all(axis=1), ~empty.all(axis=0)]
    if cells.empty:
        raise InputError(f"{name} has no data rows.")
    return cells.reset_index(drop=True).T.reset_index(drop=True).T


def _parse_numbers(cells: np.ndarray, *, decimal_comma: bool = False, deadline: Deadline = _UNLIMITED) -> np.ndarray:
    """Parse a 2-D array of strings in vectorised blocks; NaN where a cell is not a number."""

    def parse(block: np.ndarray) -> np.ndarray:
        flat = pd.Series(block, dtype=object).astype(str)
        if decimal_comma:
            flat = flat.str.replace(",", ".", regex=False)
        return pd.to_numeric(flat, errors="coerce").to_numpy(dtype=float)

    return _cellwise(parse, np.asarray(cells, dtype=object), deadline)


def _is_numeric_cells(values: pd.Series | pd.DataFrame, deadline: Deadline = _UNLIMITED) -> np.ndarray:
    """True where a cell parses as a number, decimal commas included (missing tokens are not numbers)."""
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    return ~np.isnan(_parse_numbers(frame.to_numpy(), decimal_comma=True, deadline=deadline))


def _table_to_anndata(
    table: RawTable, *, payload: Payload, orientation: Orientation, deadline: Deadline = _UNLIMITED
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
    cells: pd.DataFrame, name: str, deadline: Deadline = _UNLIMITED
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """First column = gene ids; other numeric columns = samples. Returns samples × ids values."""
    header_numeric = _is_numeric_cells(cells.iloc[0, 1:], deadline).all()
    body = cells if header_numeric else cells.iloc[1:]
    n_value_cols = cells.shape[1] - 1
    if header_numeric:
        sample_names = ["sample"] if n_value_cols == 1 else [f"sample_{i + 1}" for i in range(n_value_cols)]
    else:
        sample_names = [str(c) or f"sample_{i + 1}" for i, c in enumerate(cells.iloc[0, 1:])]
    # annotation columns (e.g. a description or a second id column) are mostly non-numeric
    numeric_frac = _is_numeric_cells(body.iloc[:, 1:], deadline).mean(axis=0)
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
    cells: pd.DataFrame, name: str, deadline: Deadline = _UNLIMITED
) -> tuple[pd.DataFrame, pd.DataFrame, list[str], list[str]]:
    """Header = gene ids (and clinical fields); rows = samples."""
    header = [str(h) for h in cells.iloc[0]]
    body = cells.iloc[1:]
    mapping = _harmonise(header, deadline, load_gene_map())
    first_is_gene = mapping.symbols[0] is not None
    first_numeric = _is_numeric_cells(body.iloc[:, 0], deadline).mean() >= 0.5
    has_id_col = header[0].lower() in ID_COLUMN_NAMES or not (first_is_gene or first_numeric)
    if has_id_col:
        sample_names = list(body.iloc[:, 0])
        start = 1
    else:
        sample_names = ["sample"] if len(body) == 1 else [f"sample_{i + 1}" for i in range(len(body))]
        start = 0
    numeric_frac = _is_numeric_cells(body, deadline).mean(axis=0)
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
    parsed = _parse_numbers(raw, deadline=deadline) if raw.size else np.zeros(raw.shape)
    numeric_col = np.all(~np.isnan(parsed) | ~present, axis=0)
    int_like = _cellwise(
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
    values: pd.DataFrame, name: str, *, ids: list[str], decimal_comma_ok: bool, deadline: Deadline = _UNLIMITED
) -> tuple[pd.DataFrame, list[str]]:
    """Convert string cells to float; missing tokens → NaN; text cells → InputError naming them."""
    conversions: list[str] = []
    if values.size == 0:
        raise InputError(f"{name}: no expression values next to the gene identifiers.")
    cells = values.to_numpy(dtype=str)
    missing_tokens = list(MISSING_TOKENS)
    missing = _cellwise(lambda block: np.isin(np.char.lower(block), missing_tokens), cells, deadline)
    comma = _cellwise(
        lambda block: pd.Series(block, dtype=object).str.match(_DECIMAL_COMMA).to_numpy(dtype=bool), cells, deadline
    )
    if comma.any():
        if not decimal_comma_ok:
            raise InputError(f"{name}: numbers with decimal commas in a comma-separated file; re-export with '.' decimals.")
        conversions.append(f"decimal commas read as decimal points in {int(comma.sum())} cells")
    parsed = _parse_numbers(cells, decimal_comma=bool(comma.any()), deadline=deadline)
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


def _harmonise_anndata(adata: ad.AnnData, *, payload: Payload, deadline: Deadline = _UNLIMITED) -> ad.AnnData:
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
