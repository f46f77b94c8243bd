"""Safe tabular exports: text cells that a spreadsheet would run as a formula are neutralised."""
from __future__ import annotations

import pandas as pd

FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")


def neutralise_cell(value: object) -> object:
    """Prefix a text cell starting with = + - @ (or tab/CR) with a quote; numbers pass unchanged."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return value


def to_safe_csv(frame: pd.DataFrame, *, index: bool = False) -> bytes:
    """CSV bytes with formula-like text cells (and headers) neutralised (CWE-1236)."""
    safe = frame.copy()
    safe.columns = [neutralise_cell(str(c)) for c in safe.columns]
    for col in safe.columns:
        if safe[col].dtype == object or pd.api.types.is_string_dtype(safe[col]):
            safe[col] = safe[col].map(neutralise_cell)
    if index:
        safe.index = safe.index.map(neutralise_cell)
    return safe.to_csv(index=index).encode("utf-8")
