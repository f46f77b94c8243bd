"""Regimens: combinations of a cohort's treatment columns, their names, flags and labels (one vocabulary).

A regimen's **name** is its treatment columns joined by ``+`` in the cohort's column order, or ``none``
(METABRIC: ``chemotherapy+radio_therapy``). Its **label** is what people read (``Chemo + Radio``;
``none`` reads :data:`NONE_LABEL`). Every module that names, lists, flags or labels regimens uses these.
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence

import numpy as np
import pandas as pd

from genomics.errors import InputError

NONE = "none"
NONE_LABEL = "None (no treatment)"
#: Short labels of the breast cohorts' treatment columns; any other column reads as its name in words.
TREATMENT_LABELS = {"chemotherapy": "Chemo", "hormone_therapy": "Hormone", "radio_therapy": "Radio"}


def regimens(treatments: Sequence[str]) -> list[str]:
    """All 2^k regimen names of the treatments, 'none' first, then by size in column order."""
    treatments = tuple(treatments)
    names = [NONE]
    for k in range(1, len(treatments) + 1):
        names += ["+".join(combo) for combo in itertools.combinations(treatments, k)]
    return names


def regimen_flags(name: str, treatments: Sequence[str]) -> dict[str, int]:
    """The 0/1 treatment flags of a regimen name ('none' → all zero); an unknown name is an InputError."""
    parts = [] if name == NONE else name.split("+")
    unknown = [p for p in parts if p not in treatments]
    if unknown or len(set(parts)) != len(parts):
        raise InputError(f"Unknown regimen {name!r} (treatments: {', '.join(treatments) or 'none'}).")
    return {t: int(t in parts) for t in treatments}


def regimen_labels(obs: pd.DataFrame, treatments: Sequence[str]) -> pd.Series:
    """Regimen name per patient: treatment columns with value 1 joined by '+', or 'none'."""
    treatments = tuple(treatments)
    if not treatments:
        return pd.Series(NONE, index=obs.index)
    given = obs[list(treatments)].apply(pd.to_numeric, errors="coerce").fillna(0).to_numpy() != 0
    codes = given @ (1 << np.arange(len(treatments)))  # vectorised: 100,000 patients in milliseconds
    names = np.array(["+".join(t for i, t in enumerate(treatments) if code >> i & 1) or NONE
                      for code in range(2 ** len(treatments))])
    return pd.Series(names[codes], index=obs.index, name="regimen")


def treatment_label(column: str) -> str:
    """'chemotherapy' → 'Chemo'; another column → its stem in words ('immunotherapy' → 'Immuno', 'targeted_therapy'
    → 'Targeted', 'surgery' → 'Surgery')."""
    if column in TREATMENT_LABELS:
        return TREATMENT_LABELS[column]
    stem = (column.removesuffix("therapy").rstrip("_") or column).replace("_", " ")
    return stem[:1].upper() + stem[1:]


def regimen_label(name: str) -> str:
    """'chemotherapy+radio_therapy' → 'Chemo + Radio'; 'none' → :data:`NONE_LABEL`."""
    name = str(name)
    if name == NONE:
        return NONE_LABEL
    return " + ".join(treatment_label(part) for part in name.split("+"))
