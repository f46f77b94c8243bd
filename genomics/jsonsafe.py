"""One JSON-safe converter for everything the project writes as JSON (analyses, model cards, metrics, jobs).

:func:`json_safe` returns a copy that :func:`json.dumps` accepts with ``allow_nan=False``: mappings with
string keys, lists for tuples and arrays, Python numbers for numpy scalars, ``None`` for NaN and infinities.
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np


def json_safe(value: Any) -> Any:
    """A JSON-safe copy of ``value`` (see the module docstring)."""
    if isinstance(value, Mapping):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value
