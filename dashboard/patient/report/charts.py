"""The report's charts, drawn with matplotlib's Agg canvas (no pyplot state): PNG bytes and the height/width ratio.

Each returns None when the analysis has nothing to draw (the PDF then prints a "not available" line).
"""
from __future__ import annotations

import functools
import io

import pandas as pd
from matplotlib import font_manager
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch
from matplotlib.text import Text

from dashboard.i18n import horizon_short, regimen_label, tr
from dashboard.patient.figure_parts import (
    NOT_ENOUGH,
    READING_COLOURS,
    READING_ORDER,
    THRESHOLD,
    default_regimens,
    reading_class,
    reading_code_at,
    reading_colour,
    reading_title,
    regimen_colours,
)
from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.wording import cjk_font_file, finite_number, is_baseline, regimen_names, uses_cjk_font
from dashboard.text import field_label
from models.columns import BENEFIT, LOWER, UPPER, bounded, column

MAX_CONTRIBUTIONS = 12


@functools.cache
def _cjk_family() -> str | None:
    """The system CJK font's family name, registered with matplotlib once (None when the server lacks it)."""
    if (path := cjk_font_file()) is None:
        return None
    font_manager.fontManager.addfont(str(path))
    return font_manager.FontProperties(fname=str(path)).get_name()


def _png(fig: Figure) -> tuple[bytes, float]:
    """PNG bytes of a figure (Agg canvas, no pyplot state) and its height/width ratio."""
    FigureCanvasAgg(fig)
    if uses_cjk_font() and (cjk := _cjk_family()) is not None:  # Chinese words: DejaVu, then the CJK font
        for text in fig.findobj(Text):
            text.set_fontfamily(["DejaVu Sans", cjk])
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    width, height = fig.get_size_inches()
    fig.clear()
    return buffer.getvalue(), float(height / width)


def _current(analysis: PatientAnalysis) -> str | None:
    return str((analysis.risk or {}).get("regimen") or "") or None


def survival_chart(analysis: PatientAnalysis) -> tuple[bytes, float] | None:
    """:func:`survival_figure` as PNG bytes and its height/width, or None without curves."""
    fig = survival_figure(analysis)
    return _png(fig) if fig is not None else None


def survival_figure(analysis: PatientAnalysis) -> Figure | None:
    """Survival curves with their interval bands for the screen's default set (baseline, current regimen, the two
    best options: :func:`~dashboard.patient.figure_parts.default_regimens`) in the screen's colours, or None."""
    frame = pd.DataFrame(analysis.curves)
    if frame.empty or not {"regimen", "month", "S"} <= set(frame.columns):
        return None
    for col in ("month", "S", "S_lo", "S_hi"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce") if col in frame else float("nan")
    present = set(frame["regimen"].astype(str))
    current = _current(analysis)
    last = analysis.horizons[-1] if analysis.horizons else None
    shown = [n for n in default_regimens(analysis.options, baseline=analysis.baseline, current=current, horizon=last)
             if n in present]
    if not shown:  # no options (an old or partial analysis): the curves as they come, four at most
        shown = [n for n in regimen_names(analysis) if n in present][:4]
    colours = regimen_colours(shown, baseline=analysis.baseline, current=current, shown=shown)
    fig = Figure(figsize=(7.2, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for name in shown:
        part = frame[frame["regimen"].astype(str) == name].sort_values("month")
        baseline = name == analysis.baseline
        suffix = tr(" (baseline)") if baseline else tr(" (current)") if name == current else ""
        ax.plot(part["month"] / 12.0, 100 * part["S"], color=colours[name], lw=2.0, ls="--" if baseline else "-",
                label=regimen_label(name) + suffix)
        band = part.dropna(subset=["S_lo", "S_hi"])
        if len(band):
            ax.fill_between(band["month"] / 12.0, 100 * band["S_lo"], 100 * band["S_hi"], color=colours[name],
                            alpha=0.12, lw=0)
    for h in analysis.horizons:
        ax.axvline(h / 12.0, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel(tr("Years since diagnosis"))
    ax.set_ylabel(tr("Estimated survival, % ({endpoint})", endpoint=analysis.endpoint))
    ax.set_ylim(0, 100)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    hidden = len(present - set(shown))
    ax.set_title(tr("Estimated survival: baseline, current regimen and the two best options (bands: interval)")
                 + ("\n" + (tr("{count} other regimen: see the options table", count=hidden) if hidden == 1 else
                            tr("{count} other regimens: see the options table", count=hidden)) if hidden else ""),
                 fontsize=9)
    fig.legend(fontsize=7, loc="outside lower center", ncol=min(len(shown), 4), frameon=False)
    return fig


def benefit_chart(analysis: PatientAnalysis) -> tuple[bytes, float] | None:
    """:func:`benefit_figure` as PNG bytes and its height/width, or None."""
    fig = benefit_figure(analysis)
    return _png(fig) if fig is not None else None


def benefit_figure(analysis: PatientAnalysis) -> Figure | None:
    """Benefit against the baseline at the last horizon with its interval, coloured by the reading there, and a
    tick at each regimen's worthwhile threshold, or None without options."""
    if not analysis.options or not analysis.horizons:
        return None
    horizon = analysis.horizons[-1]
    key = column(BENEFIT, horizon)
    rows = [r for r in analysis.options if not is_baseline(analysis, r)]
    if not rows:
        return None
    labels, points, lows, highs, colours, hatches, ticks, classes = [], [], [], [], [], [], [], []
    for row in rows:
        point = finite_number(row.get(key))
        lo, hi = finite_number(row.get(bounded(key, LOWER))), finite_number(row.get(bounded(key, UPPER)))
        code = reading_code_at(row, horizon)
        labels.append(regimen_label(str(row.get("regimen"))))
        points.append(100 * point if point is not None else 0.0)
        lows.append(100 * (point - lo) if point is not None and lo is not None else 0.0)
        highs.append(100 * (hi - point) if point is not None and hi is not None else 0.0)
        colours.append(reading_colour(code))
        hatches.append("//" if reading_class(code) == NOT_ENOUGH else "")
        threshold = finite_number(row.get(THRESHOLD))
        ticks.append(100 * threshold if threshold is not None else None)
        classes.append(reading_class(code))
    fig = Figure(figsize=(7.2, 1.5 + 0.32 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    ax.barh(y, points, color=colours, height=0.6, hatch=hatches, edgecolor="#9e9e9e", linewidth=0.5)
    ax.errorbar(points, y, xerr=[lows, highs], fmt="none", ecolor="black", elinewidth=1, capsize=3)
    marked = [(t, yi) for t, yi in zip(ticks, y, strict=True) if t is not None]
    if marked:
        ax.scatter([t for t, _ in marked], [yi for _, yi in marked], marker="|", s=160, linewidths=2.2,
                   color="#111111", zorder=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(tr("Benefit at {when} vs {baseline} (percentage points)", when=horizon_short(horizon),
                     baseline=regimen_label(analysis.baseline)), fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(tr("Estimated benefit with interval; black tick: the regimen's worthwhile threshold"), fontsize=9)
    shown = [c for c in READING_ORDER if c in classes]
    handles = [Patch(facecolor=READING_COLOURS[c], edgecolor="#9e9e9e", hatch="//" if c == NOT_ENOUGH else "",
                     label=reading_title(c)) for c in shown]
    if marked:
        handles.append(Line2D([], [], color="#111111", marker="|", ls="", markersize=10, markeredgewidth=2,
                              label=tr("Worthwhile threshold")))
    if handles:
        fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=min(len(handles), 4), frameon=False)
    return fig


def risk_chart(analysis: PatientAnalysis) -> tuple[bytes, float] | None:
    """The largest contributions to the risk score as horizontal bars (PNG, height/width), or None."""
    items = [(str(c.get("feature")), finite_number(c.get("value"))) for c in analysis.explanations.get("risk") or []
             if isinstance(c, dict)]
    items = [(f, v) for f, v in items if v is not None]
    if not items:
        return None
    items = sorted(items, key=lambda fv: abs(fv[1]), reverse=True)[:MAX_CONTRIBUTIONS][::-1]
    fig = Figure(figsize=(7.2, 1.0 + 0.3 * len(items)), layout="constrained")
    ax = fig.add_subplot()
    ax.barh(range(len(items)), [v for _, v in items],
            color=["#c62828" if v > 0 else "#1565c0" for _, v in items], height=0.6)
    ax.set_yticks(range(len(items)), [tr(field_label(f)) if "_" in f else f for f, _ in items], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(tr("Contribution to the risk score (red raises risk, blue lowers it)"), fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title(tr("Largest contributions to this patient's risk"), fontsize=10)
    return _png(fig)
