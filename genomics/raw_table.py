"""An upload parsed into a table of strings (:class:`RawTable`): CSV/TSV/TXT with the delimiter sniffed, or the first
sheet of an XLSX workbook, read in blocks with a deadline check between them; and the blockwise cell helpers
(:func:`cellwise`, :func:`parse_numbers`) that the expression reader uses."""
from __future__ import annotations

import csv
import io
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from pandas.io.parsers import TextParser

from genomics.deadline import Deadline
from genomics.errors import InputError
from genomics.sniff import Payload, check_zip_members, open_text_payload

MAX_CELLS = 60_000_000
MAX_COLUMNS = 100_000
_BLOCK_CELLS = 500_000  # cells per vectorised step between deadline checks
NO_DEADLINE = Deadline.unlimited()


@dataclass(frozen=True)
class RawTable:
    """A parsed table of strings before orientation and numeric conversion."""

    cells: pd.DataFrame  # header=None, dtype object
    fmt: str
    encoding: str | None = None
    delimiter: str | None = None


def read_table(payload: Payload, *, deadline: Deadline | None = None) -> RawTable:
    """Parse a text or XLSX payload into a table of strings (no header interpretation).

    Rows are read in blocks with a ``deadline`` check between blocks.
    """
    dl = deadline or NO_DEADLINE
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
    from openpyxl import load_workbook  # lazy: start-up cost (openpyxl; only XLSX uploads need it)
    from openpyxl.cell.cell import TYPE_ERROR, TYPE_NUMERIC  # lazy: start-up cost (openpyxl; only XLSX uploads need it)

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


def cellwise(func: Callable[[np.ndarray], np.ndarray], cells: Any, deadline: Deadline) -> np.ndarray:
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

def _trim(cells: pd.DataFrame, name: str, *, deadline: Deadline = NO_DEADLINE) -> pd.DataFrame:
    if cells.size > MAX_CELLS or cells.shape[1] > MAX_COLUMNS:
        raise InputError(f"{name} has {cells.shape[0]} × {cells.shape[1]} cells; the limit is {MAX_CELLS:,} cells.")
    cells = pd.DataFrame(cellwise(np.char.strip, cells.to_numpy(dtype=str), deadline), dtype=object)
    # drop comment rows (cBioPortal-style '#' headers) and fully empty rows/columns
    first = cells.iloc[:, 0] if cells.shape[1] else pd.Series(dtype=str)
    cells = cells[~first.str.startswith("#")]
    empty = cells.eq("")
    cells = cells.loc[~empty.all(axis=1), ~empty.all(axis=0)]
    if cells.empty:
        raise InputError(f"{name} has no data rows.")
    return cells.reset_index(drop=True).T.reset_index(drop=True).T


def parse_numbers(cells: np.ndarray, *, decimal_comma: bool = False, deadline: Deadline = NO_DEADLINE) -> np.ndarray:
    """Parse a 2-D array of strings in vectorised blocks; NaN where a cell is not a number."""

    def parse(block: np.ndarray) -> np.ndarray:
        flat = pd.Series(block, dtype=object).astype(str)
        if decimal_comma:
            flat = flat.str.replace(",", ".", regex=False)
        return pd.to_numeric(flat, errors="coerce").to_numpy(dtype=float)

    return cellwise(parse, np.asarray(cells, dtype=object), deadline)


def is_numeric_cells(values: pd.Series | pd.DataFrame, deadline: Deadline = NO_DEADLINE) -> np.ndarray:
    """True where a cell parses as a number, decimal commas included (missing tokens are not numbers)."""
    frame = values.to_frame() if isinstance(values, pd.Series) else values
    return ~np.isnan(parse_numbers(frame.to_numpy(), decimal_comma=True, deadline=deadline))
