"""Explorer variables, filters and groupings: anything a patient has one value of, as text labels and groups.

A *variable* is an ``obs`` column (clinical, treatment, subtype ...), a gene (``gene:ESR1``), the regimen, or
a column the caller derives (the expression cluster, a model's risk). Categorical variables group patients as
they are; continuous ones are split at the median, tertiles, quartiles or chosen cut points. Missing values
never form a group: they are counted and left out.
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

import anndata as ad
import numpy as np
import pandas as pd

from dashboard.i18n import tr
from dashboard.text import field_label
from genomics.errors import InputError
from genomics.regimens import regimen_labels
from genomics.spec import CohortSpec

Kind = Literal["categorical", "continuous"]
Split = Literal["categorical", "median", "tertiles", "quartiles", "cut"]
SPLITS: tuple[str, ...] = ("median", "tertiles", "quartiles", "cut")
GENE_PREFIX = "gene:"
REGIMEN = "regimen"
MAX_CATEGORIES = 30  # text columns with more distinct values (ids, free text) are not offered as groupings
CONTINUOUS_MIN_LEVELS = 12  # numeric columns with at least this many distinct values are continuous


# ---------------------------------------------------------------------------------------------- variables


@dataclass(frozen=True)
class Variable:
    """Something to filter, group or colour patients by."""

    key: str  # obs column, "gene:<symbol>", "regimen", or a key of the caller's extra columns
    label: str
    kind: Kind


def outcome_columns(spec: CohortSpec) -> set[str]:
    """Time and event columns of every endpoint (never offered as groupings)."""
    return {c for ep in spec.endpoints for c in (ep.time_col, ep.event_col)}


def variable_kind(values: pd.Series, *, declared: str | None = None) -> Kind:
    """Continuous for declared numeric fields and numeric columns with many levels; categorical otherwise."""
    if declared == "numeric":
        return "continuous"
    if declared in ("ordinal", "categorical", "binary"):
        return "categorical"
    if pd.api.types.is_bool_dtype(values) or isinstance(values.dtype, pd.CategoricalDtype):
        return "categorical"
    if pd.api.types.is_numeric_dtype(values) and values.nunique(dropna=True) >= CONTINUOUS_MIN_LEVELS:
        return "continuous"
    return "categorical"


def cohort_variables(
    adata: ad.AnnData, spec: CohortSpec, *, extra: Mapping[str, tuple[str, Kind]] | None = None,
) -> list[Variable]:
    """Variables of a cohort: subtype first, then clinical fields, treatments, regimen, other obs columns, extras.

    Outcome columns, the patient id and columns with one value or (text) too many values are left out.
    ``extra`` maps a key to (label, kind) for derived columns the caller adds (cluster, model risk ...).
    Genes are not listed (there may be thousands): use :func:`gene_variable`.
    """
    obs = adata.obs
    skip = outcome_columns(spec) | {spec.patient_id_col}
    declared = {f.name: f.kind for f in spec.clinical}
    first = [c for c in ([spec.subtype_col] if spec.subtype_col else []) + [f.name for f in spec.clinical]
             + list(spec.treatments) if c and c in obs.columns]
    out: list[Variable] = []
    for col in first + [c for c in obs.columns if c not in first]:
        if col in skip:
            continue
        values = obs[col]
        levels = values.nunique(dropna=True)
        kind = variable_kind(values, declared=declared.get(col))
        if levels < 2 or (kind == "categorical" and levels > MAX_CATEGORIES):
            continue
        label = tr("Subtype ({column})", column=col) if col == spec.subtype_col else tr(field_label(col))
        out.append(Variable(col, label, kind))
    if spec.treatments and all(t in obs.columns for t in spec.treatments):
        after = max((i for i, v in enumerate(out) if v.key in spec.treatments), default=len(out) - 1)
        out.insert(after + 1, Variable(REGIMEN, tr("Regimen (treatment combination)"), "categorical"))
    for key, (label, kind) in (extra or {}).items():
        out.append(Variable(key, label, kind))
    return out


def gene_variable(symbol: str) -> Variable:
    return Variable(f"{GENE_PREFIX}{symbol}", tr("{symbol} expression", symbol=symbol), "continuous")


def variable_values(
    adata: ad.AnnData, spec: CohortSpec, key: str, *, extra: Mapping[str, pd.Series] | None = None,
) -> pd.Series:
    """The values of a variable for every patient of ``adata`` (index = ``obs_names``)."""
    if extra and key in extra:
        return pd.Series(extra[key]).reindex(adata.obs_names)
    if key == REGIMEN:
        return regimen_labels(adata.obs, spec.treatments)
    if key.startswith(GENE_PREFIX):
        gene = key[len(GENE_PREFIX):]
        if gene not in adata.var_names:
            raise InputError(f"Gene {gene!r} is not measured in this cohort.")
        column = adata[:, gene].X
        column = column.toarray() if hasattr(column, "toarray") else np.asarray(column)
        return pd.Series(column.reshape(-1).astype(float), index=adata.obs_names, name=gene)
    if key not in adata.obs.columns:
        raise InputError(f"No variable {key!r} in this cohort.")
    return adata.obs[key]


def number_text(value: float) -> str:
    """2.0 → '2'; 2.5 → '2.5'."""
    value = float(value)
    return str(int(value)) if value.is_integer() else f"{value:g}"


def _is_number(values: pd.Series) -> bool:
    return pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values)


def as_text(values: pd.Series) -> pd.Series:
    """Values as text labels (numbers without a trailing .0), missing kept missing (None)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return values.astype(object).map(lambda v: None if pd.isna(v) else str(v))
    if _is_number(values):
        numeric = pd.to_numeric(values, errors="coerce")
        return numeric.map(lambda v: number_text(v) if pd.notna(v) else None).astype(object)
    return values.astype(object).map(lambda v: None if pd.isna(v) else str(v))


def category_order(values: pd.Series) -> list[str]:
    """Distinct non-missing values as text (as :func:`as_text`), in the column's own order.

    Categorical columns keep their categories' order, numbers sort numerically, text alphabetically.
    """
    present = set(as_text(values).dropna())
    if isinstance(values.dtype, pd.CategoricalDtype):
        return [str(c) for c in values.cat.categories if str(c) in present]
    if _is_number(values):
        return [number_text(v) for v in sorted(pd.to_numeric(values, errors="coerce").dropna().unique())]
    return sorted(present)


# ---------------------------------------------------------------------------------------------- filters


@dataclass(frozen=True)
class Rule:
    """Keep patients whose ``key`` is one of ``values`` (categorical) or within [lo, hi] (continuous)."""

    key: str
    values: tuple[str, ...] | None = None
    lo: float | None = None
    hi: float | None = None
    keep_missing: bool = False


def filter_mask(frame: pd.DataFrame, rules: Sequence[Rule]) -> np.ndarray:
    """Patients (rows of ``frame``, one column per rule key) that pass every rule."""
    keep = np.ones(len(frame), dtype=bool)
    for rule in rules:
        values = frame[rule.key]
        missing = values.isna().to_numpy()
        if rule.values is not None:
            ok = as_text(values).isin(set(rule.values)).to_numpy()
        else:
            numeric = pd.to_numeric(values, errors="coerce").to_numpy(dtype=float)
            ok = np.ones(len(frame), dtype=bool)
            with np.errstate(invalid="ignore"):
                if rule.lo is not None:
                    ok &= numeric >= rule.lo
                if rule.hi is not None:
                    ok &= numeric <= rule.hi
        keep &= np.where(missing, rule.keep_missing, ok)
    return keep


# ---------------------------------------------------------------------------------------------- groupings


def split_groups(values: pd.Series, how: Split = "categorical", *, cuts: Sequence[float] = ()) -> pd.Series:
    """Group labels per patient as an ordered Categorical; missing values stay missing (never a group).

    ``categorical``: the values themselves. ``median``: at or below the median vs above. ``tertiles`` /
    ``quartiles``: equal-count bins by quantile (tied values never straddle two groups, so with many ties
    there may be fewer groups). ``cut``: bins at the given cut points (value <= cut goes below). Empty groups
    are dropped.
    """
    if how == "categorical":
        text = as_text(values)
        return pd.Series(pd.Categorical(text, categories=category_order(values)), index=values.index)
    numeric = pd.to_numeric(values, errors="coerce").astype(float)
    known = numeric.dropna()
    if known.empty:
        return pd.Series(pd.Categorical([None] * len(values), categories=[]), index=values.index)
    if how == "median":
        edges = [float(known.median())]
    elif how in ("tertiles", "quartiles"):
        k = 3 if how == "tertiles" else 4
        edges = [float(q) for q in np.quantile(known.to_numpy(), np.arange(1, k) / k)]
    elif how == "cut":
        edges = sorted({float(c) for c in cuts if c is not None and math.isfinite(float(c))})
        if not edges:
            raise InputError("Give at least one cut point to split the values.")
    else:
        raise InputError(f"Unknown split {how!r}: use categorical, median, tertiles, quartiles or cut.")
    edges = sorted(set(edges))
    bins = [-np.inf, *edges, np.inf]
    codes = np.searchsorted(np.asarray(edges), numeric.to_numpy(), side="left")  # value <= edge goes below
    labels = _bin_labels(how, bins, known)
    text = np.where(numeric.notna().to_numpy(), np.asarray(labels, dtype=object)[np.clip(codes, 0, len(labels) - 1)],
                    None)
    present = [lab for lab in labels if (text == lab).any()]
    return pd.Series(pd.Categorical(text, categories=present), index=values.index)


def _bin_labels(how: str, bins: list[float], known: pd.Series) -> list[str]:
    lo_all, hi_all = float(known.min()), float(known.max())
    names = {"median": ("low", "high"), "tertiles": ("T1", "T2", "T3"), "quartiles": ("Q1", "Q2", "Q3", "Q4")}
    labels = []
    for i in range(len(bins) - 1):
        lo, hi = bins[i], bins[i + 1]
        if math.isinf(lo):
            rng = f"≤ {_fmt(hi)}" if not math.isinf(hi) else f"{_fmt(lo_all)}–{_fmt(hi_all)}"
        elif math.isinf(hi):
            rng = f"> {_fmt(lo)}"
        else:
            rng = f"{_fmt(lo)}–{_fmt(hi)}"
        prefix = names.get(how, ())
        labels.append(f"{prefix[i]} ({rng})" if i < len(prefix) else rng)
    return labels


def _fmt(value: float) -> str:
    return f"{value:.3g}"
