"""Labels, colours and small building blocks of the Patient page's figures (:mod:`dashboard.patient.charts`).

A regimen keeps its colour in every figure (:func:`regimen_colour`); model features read as words
(:func:`feature_display`); every builder returns :func:`empty_figure` instead of raising on missing input.
"""
from __future__ import annotations

import hashlib
import math
from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard.plotly_style import TEMPLATE
from dashboard.text import FIELD_LABELS

NOT_AVAILABLE = "not available"
NOT_ENOUGH = "not enough evidence"
MARGIN_LABEL = "clinically meaningful margin"

# One colour per regimen, keyed by its treatments in sorted order (so "a+b" and "b+a" agree).
_REGIMEN_COLOURS = {
    "none": "#7f7f7f",
    "hormone_therapy": "#1f77b4",
    "chemotherapy": "#ff7f0e",
    "radio_therapy": "#2ca02c",
    "chemotherapy+hormone_therapy": "#9467bd",
    "hormone_therapy+radio_therapy": "#17becf",
    "chemotherapy+radio_therapy": "#8c564b",
    "chemotherapy+hormone_therapy+radio_therapy": "#e377c2",
}
# Regimens of other cohorts: a stable hash of the name picks one of these.
_FALLBACK_COLOURS = (
    "#bcbd22", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d",
    "#31a354", "#756bb1", "#636363", "#ad494a", "#a55194", "#6b6ecf", "#b5cf6b", "#e7ba52",
)
CATEGORY_COLOURS = (
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#bcbd22", "#17becf",
    "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173",
)
MISSING_COLOUR = "#c7c7c7"

READING_COLOURS = {
    "likely benefit": "#2ca02c",
    "possible harm": "#d62728",
    "no expected benefit": "#9e9e9e",
    "uncertain": "#f0a202",
}
OTHER_READING_COLOUR = "#6c8ebf"
RISK_UP = "#d62728"
RISK_DOWN = "#1f77b4"
TOTAL_COLOUR = "#444444"

# Words shown in capitals in feature labels (er_status → "ER status").
_ACRONYMS = {"er", "pr", "her2", "pam50", "npi", "tnm", "rs", "snp6", "cna", "os", "dss", "rfs", "pfs", "ki67", "id"}
_MISSING_SUFFIX = "__missing"


# --------------------------------------------------------------------------- labels and colours


def _regimen_key(name: str) -> str:
    name = str(name)
    return name if name == "none" else "+".join(sorted(name.split("+")))


def regimen_colour(name: str) -> str:
    """The regimen's colour in every figure (a fixed palette for the usual regimens, a stable hash otherwise)."""
    key = _regimen_key(name)
    if key in _REGIMEN_COLOURS:
        return _REGIMEN_COLOURS[key]
    digest = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16)
    return _FALLBACK_COLOURS[digest % len(_FALLBACK_COLOURS)]


def words(name: str) -> str:
    """A column name in words: FIELD_LABELS where known, else underscores to spaces with acronyms in capitals."""
    if name in FIELD_LABELS:
        return FIELD_LABELS[name]
    words = [w.upper() if w.lower() in _ACRONYMS else w for w in name.replace("_", " ").split()]
    if not words:
        return name
    first = words[0]
    words[0] = first if first.isupper() else first[:1].upper() + first[1:]
    return " ".join(words)


def feature_display(name: str, group: str | None = None) -> str:
    """A model feature in words: 'gene:ESR1' → 'ESR1 (gene)', 'er_status=Positive' → 'ER status = Positive'."""
    name = str(name)
    for prefix in ("gene", "pathway"):
        if name.startswith(prefix + ":"):
            return f"{name[len(prefix) + 1:]} ({prefix})"
    if group in ("gene", "pathway"):
        return f"{name} ({group})"
    if "=" in name:
        column, level = name.split("=", 1)
        return f"{words(column)} = {level}"
    if name.endswith(_MISSING_SUFFIX):
        return f"{words(name.removesuffix(_MISSING_SUFFIX))} missing"
    return words(name)


# --------------------------------------------------------------------------- shared helpers


def title_text(title: str, caption: str) -> dict[str, str]:
    """A plotly title: the title with the caption as a smaller second line (when there is one)."""
    return {"text": f"{title}<br><sup>{caption}</sup>" if caption else title}


def is_finite(value: object) -> bool:
    """A finite number (or a value that converts to one)."""
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def years_text(months: float) -> str:
    """60 → '5 y'; 18 → '1.5 y'."""
    years = months / 12.0
    return f"{years:.0f} y" if abs(years - round(years)) < 1e-9 else f"{years:.1f} y"


def empty_figure(title: str, caption: str, message: str = NOT_AVAILABLE) -> go.Figure:
    """An empty figure with ``message`` centred: what every builder returns for missing input."""
    fig = go.Figure()
    fig.add_annotation(text=message, x=0.5, y=0.5, xref="paper", yref="paper", showarrow=False,
                       font={"size": 16, "color": "#888888"})
    fig.update_layout(title=title_text(title, caption), template=TEMPLATE, xaxis_visible=False, yaxis_visible=False,
                      margin={"t": 80, "l": 40, "r": 20, "b": 40}, height=320)
    return fig


def has_columns(frame: pd.DataFrame | None, columns: Sequence[str]) -> bool:
    """A non-empty table with every one of ``columns``."""
    return frame is not None and not frame.empty and all(c in frame.columns for c in columns)


def truthy(value: object) -> bool:
    """True, 1, 'yes', 'true' ... (NaN and missing are not)."""
    if isinstance(value, str):
        return value.strip().lower() in ("true", "1", "yes")
    try:
        return bool(value) and not (isinstance(value, float) and math.isnan(value))
    except (TypeError, ValueError):
        return False
