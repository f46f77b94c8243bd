"""The report's charts, drawn with matplotlib's Agg canvas (no pyplot state): PNG bytes and the height/width ratio.

Each returns None when the analysis has nothing to draw (the PDF then prints a "not available" line).
"""
from __future__ import annotations

import io
from collections.abc import Sequence
from typing import Any

import matplotlib
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from dashboard.patient.record import PatientAnalysis
from dashboard.patient.report.wording import finite_number, is_baseline, regimen_names
from dashboard.text import field_label
from genomics.regimens import regimen_label
from models.columns import BENEFIT, LOWER, UPPER, bounded, column, horizon_short_label

MAX_CONTRIBUTIONS = 12
READING_COLOURS = {
    "likely benefit": "#2e7d32", "possible harm": "#c62828", "no expected benefit": "#757575",
    "uncertain": "#1f77b4", "not enough evidence": "#bdbdbd",
}


def _png(fig: Figure) -> tuple[bytes, float]:
    """PNG bytes of a figure (Agg canvas, no pyplot state) and its height/width ratio."""
    FigureCanvasAgg(fig)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=150)
    width, height = fig.get_size_inches()
    fig.clear()
    return buffer.getvalue(), float(height / width)


def _colours(names: Sequence[str]) -> dict[str, Any]:
    cmap = matplotlib.colormaps["tab10"]
    return {name: cmap(i % 10) for i, name in enumerate(names)}


def survival_chart(analysis: PatientAnalysis) -> tuple[bytes, float] | None:
    """Survival curves per regimen with their interval bands (PNG, height/width), or None without curves."""
    frame = pd.DataFrame(analysis.curves)
    if frame.empty or not {"regimen", "month", "S"} <= set(frame.columns):
        return None
    for col in ("month", "S", "S_lo", "S_hi"):
        frame[col] = pd.to_numeric(frame[col], errors="coerce") if col in frame else float("nan")
    names = [n for n in regimen_names(analysis) if n in set(frame["regimen"].astype(str))]
    colours = _colours(names)
    fig = Figure(figsize=(7.2, 4.4), layout="constrained")
    ax = fig.add_subplot()
    for name in names:
        part = frame[frame["regimen"].astype(str) == name].sort_values("month")
        baseline = name == analysis.baseline
        ax.plot(part["month"], 100 * part["S"], color="black" if baseline else colours[name],
                lw=2.0 if baseline else 1.4, ls="--" if baseline else "-",
                label=regimen_label(name) + (" (baseline)" if baseline else ""))
        band = part.dropna(subset=["S_lo", "S_hi"])
        if len(band):
            ax.fill_between(band["month"], 100 * band["S_lo"], 100 * band["S_hi"],
                            color="black" if baseline else colours[name], alpha=0.10, lw=0)
    for h in analysis.horizons:
        ax.axvline(h, color="#999999", lw=0.8, ls=":")
    ax.set_xlabel("Months since diagnosis")
    ax.set_ylabel(f"Estimated survival, % ({analysis.endpoint})")
    ax.set_ylim(0, 100)
    ax.set_xlim(left=0)
    ax.grid(alpha=0.3)
    ax.set_title("Estimated survival under each regimen (bands: interval)", fontsize=10)
    fig.legend(fontsize=7, loc="outside lower center", ncol=3, frameon=False)
    return _png(fig)


def benefit_chart(analysis: PatientAnalysis) -> tuple[bytes, float] | None:
    """Benefit against the baseline at the last horizon with its interval (PNG, height/width), or None."""
    if not analysis.options or not analysis.horizons:
        return None
    key = column(BENEFIT, analysis.horizons[-1])
    rows = [r for r in analysis.options if not is_baseline(analysis, r)]
    if not rows:
        return None
    labels, points, lows, highs, colours = [], [], [], [], []
    for row in rows:
        point = finite_number(row.get(key))
        lo, hi = finite_number(row.get(bounded(key, LOWER))), finite_number(row.get(bounded(key, UPPER)))
        labels.append(regimen_label(str(row.get("regimen"))))
        points.append(100 * point if point is not None else 0.0)
        lows.append(100 * (point - lo) if point is not None and lo is not None else 0.0)
        highs.append(100 * (hi - point) if point is not None and hi is not None else 0.0)
        colours.append(READING_COLOURS.get(str(row.get("reading")), "#1f77b4"))
    fig = Figure(figsize=(7.2, 1.3 + 0.32 * len(rows)), layout="constrained")
    ax = fig.add_subplot()
    y = list(range(len(rows)))[::-1]
    ax.barh(y, points, color=colours, height=0.6)
    ax.errorbar(points, y, xerr=[lows, highs], fmt="none", ecolor="black", elinewidth=1, capsize=3)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_yticks(y, labels, fontsize=8)
    ax.set_xlabel(f"Benefit at {horizon_short_label(analysis.horizons[-1])} vs {regimen_label(analysis.baseline)} "
                  "(percentage points)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Estimated benefit with interval", fontsize=10)
    shown = [r for r in READING_COLOURS if r in {str(row.get("reading")) for row in rows}]
    if shown:
        handles = [Patch(color=READING_COLOURS[r], label=r) for r in shown]
        fig.legend(handles=handles, fontsize=7, loc="outside lower center", ncol=min(len(shown), 5), frameon=False)
    return _png(fig)


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
    ax.set_yticks(range(len(items)), [field_label(f) if "_" in f else f for f, _ in items], fontsize=8)
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel("Contribution to the risk score (red raises risk, blue lowers it)", fontsize=8)
    ax.tick_params(axis="x", labelsize=8)
    ax.grid(axis="x", alpha=0.3)
    ax.set_title("Largest contributions to this patient's risk", fontsize=10)
    return _png(fig)
