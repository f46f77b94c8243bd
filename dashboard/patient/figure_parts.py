"""Labels, colours and small building blocks of the Patient page's figures (:mod:`dashboard.patient.charts`).

A regimen keeps its colour in every figure (:func:`regimen_colour`); model features read as words
(:func:`feature_display`); every builder returns :func:`empty_figure` instead of raising on missing input.
"""
from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Iterable, Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go

from dashboard import plotly_style  # noqa: F401 (sets the template every figure starts from)
from dashboard.i18n import tr
from dashboard.patient.presentation import READING_TITLES
from dashboard.text import FIELD_LABELS
from models.columns import BENEFIT, READING, column

NOT_AVAILABLE = "not available"
NOT_ENOUGH = "not enough evidence"
THRESHOLD = "min_benefit"  # per option row: the regimen's worthwhile threshold T against the baseline (fraction)

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

# Reading codes (models.treatment), best first: the order that picks the survival chart's default regimens.
READING_ORDER = ("worthwhile benefit", "small benefit", "uncertain", "no worthwhile benefit", "likely harm",
                 NOT_ENOUGH)
# Codes of analyses saved before the worthwhile-threshold rule, read as their nearest current code.
_OLD_READINGS = {"likely benefit": "worthwhile benefit", "possible harm": "likely harm",
                 "no expected benefit": "no worthwhile benefit"}
READING_COLOURS = {
    "worthwhile benefit": "#1a7f37",  # strong green
    "small benefit": "#9fd89a",  # light green
    "uncertain": "#a8a8a8",  # grey
    "no worthwhile benefit": "#6e6e6e",  # darker grey
    "likely harm": "#d62728",  # red
    NOT_ENOUGH: "#ececec",  # pale, hatched
}
OTHER_READING_COLOUR = "#a8a8a8"
# The survival chart's default set, by role: at most four strong colours (the same in the benefit chart).
BASELINE_COLOUR = "#404040"
ROLE_COLOURS = ("#0072B2", "#E69F00", "#8E44AD")  # current regimen / best option / second best option
MUTED_COLOURS = ("#8da0cb", "#e78ac3", "#a6d854", "#e5c494", "#66c2a5", "#fc8d62", "#b3b3b3", "#ffd92f")
RISK_UP = "#d62728"
RISK_DOWN = "#1f77b4"
TOTAL_COLOUR = "#444444"

# Words shown in capitals in feature labels (er_status → "ER status").
_ACRONYMS = {"er", "pr", "her2", "pam50", "npi", "tnm", "rs", "snp6", "cna", "os", "dss", "rfs", "pfs", "ki67", "id"}
_MISSING_SUFFIX = "__missing"
_BENEFIT_KEY = re.compile(re.escape(BENEFIT) + r"(\d+(?:\.\d+)?)")


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


TITLE_CHARS, CAPTION_CHARS = 40, 54  # characters a line holds on a 390 px phone (title 15 px, caption 12 px)
FONT_SIZE = 12
MODEBAR_PX = 28  # plotly's tool bar, top right: the title starts below it


def wrap_text(text: str, width: int) -> str:
    """``text`` broken into lines of at most ``width`` characters at spaces (plotly's ``<br>``; long words kept)."""
    lines: list[str] = []
    for word in str(text).split():
        if lines and len(lines[-1]) + 1 + len(word) <= width:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def title_text(title: str, caption: str, *, height: float | None = None) -> dict:
    """A plotly title legible at 390 px: the title (15 px) and its caption (12 px, grey) below it, each wrapped to
    fit, left aligned at the top of a figure ``height`` pixels high (plotly's subtitle overlaps a wrapped title)."""
    text = wrap_text(title, TITLE_CHARS)
    if caption:
        text += "".join(f"<br><span style='font-size:12px;color:#555555'>{line}</span>"
                        for line in wrap_text(caption, CAPTION_CHARS).split("<br>"))
    # below the tool bar (about 28 px; on a phone a tap shows it over the title), and plotly anchors a multi-line
    # title by its first line's middle: 12 px more keep that line whole
    y = 1.0 - (MODEBAR_PX + 12.0) / height if height else 0.9
    return {"text": text, "x": 0.0, "xanchor": "left", "xref": "container", "pad": {"l": 8},
            "font": {"size": 15}, "yref": "container", "y": y, "yanchor": "top"}


def title_height(title: str, caption: str) -> int:
    """Pixels the title and its caption take (:func:`patient_layout`'s top margin)."""
    lines = wrap_text(title, TITLE_CHARS).count("<br>") + 1
    sub = wrap_text(caption, CAPTION_CHARS).count("<br>") + 1 if caption else 0
    return MODEBAR_PX + 16 + 20 * lines + 16 * sub


def legend_below(**more) -> dict:
    """A horizontal legend under the plot, left aligned, 12 px (it wraps on a phone)."""
    return {"orientation": "h", "x": 0.0, "xanchor": "left", "y": -0.2, "yanchor": "top",
            "font": {"size": FONT_SIZE}, **more}


def patient_layout(fig: go.Figure, *, title: str, caption: str, height: int, **more) -> go.Figure:
    """The layout every Patient chart shares: wrapped title and caption, 12 px text, small margins (the template is
    every figure's default: :mod:`dashboard.plotly_style`).
    ``height`` is the plot's own; the title's lines are added on top (``top``: more pixels there, e.g. for
    annotations above the plot). ``more`` overrides (legend, margin, axes)."""
    top = title_height(title, caption)
    margin = {"t": top + more.pop("top", 0), "l": 48, "r": 12, "b": 44, **more.pop("margin", {})}
    # The margins are set here, so the axes do not grow them (the template's automargin): plotly then lays a chart
    # out once instead of twice (headless chromium: 300 -> 150 ms for the page's five charts). A chart whose
    # labels vary in length (the explanation waterfall) asks for automargin again in ``more``.
    fig.update_layout(xaxis_automargin=False, yaxis_automargin=False)
    fig.update_layout(title=title_text(title, caption, height=height + top),
                      font={"size": FONT_SIZE}, margin=margin, height=height + top, **more)
    return fig


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
    return patient_layout(fig, title=title, caption=caption, height=260, xaxis_visible=False, yaxis_visible=False,
                          margin={"l": 12})


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


# --------------------------------------------------------------------------- readings and the default regimens


def reading_class(code: object) -> str:
    """A reading code as one of :data:`READING_ORDER` (old codes mapped, "uncertain (no interval…)" → "uncertain");
    "reference" stays; anything else → ""."""
    code = str(code or "").strip()
    code = _OLD_READINGS.get(code, code)
    if code.startswith("uncertain"):
        return "uncertain"
    return code if code in READING_ORDER or code == "reference" else ""


def reading_code_at(row: Mapping, horizon: float | None) -> str:
    """The row's reading code at ``horizon`` months (column reading<h>), else its plain "reading" (the last horizon)."""
    if horizon is not None:
        value = row.get(column(READING, horizon))
        if isinstance(value, str) and value.strip():
            return value
    value = row.get(READING)
    return value if isinstance(value, str) else ""


def reading_title(code: object) -> str:
    """A reading code's title as the table and the PDF write it (old codes too): "Worthwhile benefit", …"""
    code = str(code or "").strip()
    cls = reading_class(code)
    known = READING_TITLES.get(code) or READING_TITLES.get(cls)
    title = tr(known) if known else cls or code or tr("other")
    return title[:1].upper() + title[1:]


def reading_colour(code: object) -> str:
    """The benefit bar's colour for a reading code (old codes too)."""
    return READING_COLOURS.get(reading_class(code), OTHER_READING_COLOUR)


def _rows(options: pd.DataFrame | Iterable[Mapping] | None) -> list[Mapping]:
    if options is None:
        return []
    if isinstance(options, pd.DataFrame):
        return options.to_dict("records")
    return [r for r in options if isinstance(r, Mapping)]


def last_horizon(rows: Iterable[Mapping]) -> float | None:
    """The largest horizon with a benefit column (B<h>) in the rows, or None."""
    found = [float(m.group(1)) for r in rows for k in r if (m := _BENEFIT_KEY.fullmatch(str(k)))]
    return max(found) if found else None


def default_regimens(options_rows: pd.DataFrame | Iterable[Mapping] | None, *, baseline: str,
                     current: str | None = None, horizon: float | None = None, best: int = 2) -> list[str]:
    """The regimens drawn (with bands) by default: the baseline, the patient's current regimen, then the ``best``
    best other options at ``horizon`` (default: the last horizon): highest reading class first (worthwhile benefit
    > small benefit > uncertain > no worthwhile benefit > likely harm > not enough evidence), then the largest
    benefit point. At most ``2 + best`` names, no repeats; a current regimen not among the options is kept."""
    rows = _rows(options_rows)
    horizon = last_horizon(rows) if horizon is None else horizon
    chosen = [str(baseline)] + ([str(current)] if current and str(current) != str(baseline) else [])
    key = column(BENEFIT, horizon) if horizon is not None else None

    def rank(row: Mapping) -> tuple[int, float]:
        cls = reading_class(reading_code_at(row, horizon))
        position = READING_ORDER.index(cls) if cls in READING_ORDER else len(READING_ORDER)
        point = row.get(key) if key else None
        return position, -float(point) if is_finite(point) else math.inf

    others = [r for r in rows if str(r.get("regimen")) not in chosen and not truthy(r.get("is_baseline"))]
    for row in sorted(others, key=rank)[:max(int(best), 0)]:
        chosen.append(str(row.get("regimen")))
    return list(dict.fromkeys(chosen))


def regimen_colours(regimens: Iterable[str], *, baseline: str, current: str | None, shown: Sequence[str]) -> dict:
    """Colour per regimen for the survival and benefit charts: dark grey for the baseline, one strong colour each
    for the current regimen and the best options (``shown``, from :func:`default_regimens`), muted ones for the
    rest (legend toggles). At most four strong colours."""
    colours: dict[str, str] = {str(baseline): BASELINE_COLOUR}
    roles = [str(r) for r in shown if str(r) != str(baseline)]
    palette = list(ROLE_COLOURS)
    if current and str(current) in roles:
        colours[str(current)] = palette.pop(0)
        roles.remove(str(current))
    else:
        palette = palette[1:] + palette[:1]  # blue stays the current regimen's, used last
    for name, colour in zip(roles, palette, strict=False):
        colours[name] = colour
    muted = iter(MUTED_COLOURS * 4)
    for name in regimens:
        if str(name) not in colours:
            colours[str(name)] = next(muted, MUTED_COLOURS[0])
    return colours
