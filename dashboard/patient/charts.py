"""The Patient page's figures as pure functions: plain data in, a ``plotly.graph_objects.Figure`` out.

Each builder draws from one part of a :class:`dashboard.patient.record.PatientAnalysis` (predicted survival
curves per regimen, the benefit of each regimen against the baseline, a model explanation as a waterfall,
the cohort embedding, the patient's risk percentile, the observed survival of similar cohort patients).
None of them imports Streamlit, so they are tested without a browser, and every one returns a figure that
says "not available" instead of raising when its input is empty.

Labels are readable (:func:`genomics.regimens.regimen_label`, :func:`~dashboard.patient.figure_parts.feature_display`)
and a regimen keeps its colour in every figure (:func:`~dashboard.patient.figure_parts.regimen_colour`).
"""
from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from dashboard.patient.figure_parts import (
    CATEGORY_COLOURS,
    MARGIN_LABEL,
    MISSING_COLOUR,
    NOT_ENOUGH,
    OTHER_READING_COLOUR,
    READING_COLOURS,
    RISK_DOWN,
    RISK_UP,
    TOTAL_COLOUR,
    empty_figure,
    feature_display,
    has_columns,
    is_finite,
    regimen_colour,
    title_text,
    truthy,
    words,
    years_text,
)
from dashboard.plotly_style import TEMPLATE, rgba
from genomics.regimens import regimen_label

# --------------------------------------------------------------------------- 1. predicted survival per regimen


def survival_curves_figure(curves: pd.DataFrame, *, baseline: str, horizons: Sequence[float], caption: str,
                           highlight: Sequence[str] = ()) -> go.Figure:
    """Predicted survival under each regimen: one line (and its interval band, where known) per regimen.

    ``curves`` has columns regimen, month, S, S_lo, S_hi (probabilities 0–1; S_lo/S_hi NaN → no band).
    The baseline is dashed; ``highlight`` regimens are drawn thick and the others thin and muted; dotted
    vertical lines mark the ``horizons`` (months). The x axis is in years, the y axis in percent.
    """
    title = "Predicted survival under each regimen"
    if not has_columns(curves, ("regimen", "month", "S")):
        return empty_figure(title, caption)
    data = curves.copy()
    for column in ("S_lo", "S_hi"):
        if column not in data.columns:
            data[column] = np.nan
    for column in ("month", "S", "S_lo", "S_hi"):
        data[column] = pd.to_numeric(data[column], errors="coerce")
    data = data[np.isfinite(data["month"]) & np.isfinite(data["S"])]
    if data.empty:
        return empty_figure(title, caption)

    order = list(dict.fromkeys(str(r) for r in data["regimen"]))
    if baseline in order:
        order.remove(baseline)
        order.insert(0, baseline)
    highlighted = {str(h) for h in highlight}
    fig = go.Figure()
    for regimen in order:
        rows = data[data["regimen"].astype(str) == regimen].sort_values("month")
        colour = regimen_colour(regimen)
        label = regimen_label(regimen) + (" (baseline)" if regimen == baseline else "")
        is_base = regimen == baseline
        if not highlighted:
            width, opacity, band_alpha = 2.2, 1.0, 0.10
        elif regimen in highlighted:
            width, opacity, band_alpha = 3.6, 1.0, 0.16
        elif is_base:
            width, opacity, band_alpha = 2.2, 0.9, 0.06
        else:
            width, opacity, band_alpha = 1.2, 0.45, 0.04
        x = rows["month"].to_numpy() / 12.0
        s, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("S", "S_lo", "S_hi"))
        band = np.isfinite(lo) & np.isfinite(hi)
        if band.any():
            xb = x[band]
            fig.add_trace(go.Scatter(
                x=np.concatenate([xb, xb[::-1]]), y=np.concatenate([hi[band], lo[band][::-1]]) * 100.0,
                fill="toself", fillcolor=rgba(colour, band_alpha), line={"width": 0}, mode="lines",
                hoverinfo="skip", showlegend=False, legendgroup=regimen, name=f"{label} interval",
            ))
        text = [
            f"{label}: {100 * si:.0f}% ({100 * li:.0f}–{100 * hi_:.0f}%) at {years_text(m)}"
            if is_finite(li) and is_finite(hi_) else f"{label}: {100 * si:.0f}% at {years_text(m)}"
            for si, li, hi_, m in zip(s, lo, hi, rows["month"], strict=True)
        ]
        fig.add_trace(go.Scatter(
            x=x, y=s * 100.0, mode="lines", name=label, legendgroup=regimen, opacity=opacity,
            line={"color": colour, "width": width, "dash": "dash" if is_base else "solid"},
            text=text, hovertemplate="%{text}<extra></extra>",
        ))
    for horizon in horizons:
        if is_finite(horizon):
            fig.add_vline(x=float(horizon) / 12.0, line_dash="dot", line_color="#555555", line_width=1,
                          annotation_text=years_text(float(horizon)), annotation_position="top")
    n_rows = math.ceil(len(order) / 3)
    fig.update_layout(
        title=title_text(title, caption),
        template=TEMPLATE,
        xaxis_title="Years since diagnosis",
        yaxis={"title": "Predicted survival", "range": [0, 100], "ticksuffix": "%"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "center", "x": 0.5,
                "font": {"size": 12}},
        margin={"t": 90, "l": 60, "r": 20, "b": 80 + 22 * n_rows},
        height=460 + 22 * n_rows,
    )
    return fig


# --------------------------------------------------------------------------- 2. benefit against the baseline


def _reading_colour(reading: str) -> str:
    if reading in READING_COLOURS:
        return READING_COLOURS[reading]
    if reading.startswith("uncertain"):  # "uncertain (no interval: single model)"
        return READING_COLOURS["uncertain"]
    return OTHER_READING_COLOUR


def benefit_figure(options: pd.DataFrame, *, horizon: float, caption: str, margin: float = 0.02) -> go.Figure:
    """Absolute benefit of each regimen over the baseline at ``horizon`` months, in percentage points.

    ``options`` has one row per regimen with regimen, B<h>, B<h>_lo, B<h>_hi (fractions), evidence,
    is_baseline and reading (h = f"{horizon:g}"). The baseline row is left out; bars are sorted by benefit
    and coloured by reading, with asymmetric error bars; a regimen read as "not enough evidence" gets no bar,
    only a marker at 0 saying so. A shaded band marks ±``margin`` around 0.
    """
    h = f"{horizon:g}"
    key, lo_key, hi_key = f"B{h}", f"B{h}_lo", f"B{h}_hi"
    title = f"Benefit over the baseline at {years_text(float(horizon)).replace(' y', ' years')}"
    if not has_columns(options, ("regimen", key)):
        return empty_figure(title, caption)
    data = options.copy()
    for column in (lo_key, hi_key):
        if column not in data.columns:
            data[column] = np.nan
    for column in (key, lo_key, hi_key):
        data[column] = pd.to_numeric(data[column], errors="coerce")
    data["reading"] = data["reading"].astype(str) if "reading" in data.columns else ""
    data["evidence"] = data["evidence"].astype(str) if "evidence" in data.columns else ""
    base_mask = data["is_baseline"].map(truthy) if "is_baseline" in data.columns else data["reading"] == "reference"
    baseline = [str(r) for r in data.loc[base_mask, "regimen"]]
    data = data[~base_mask.astype(bool)]
    if data.empty:
        return empty_figure(title, caption)
    data["label"] = [regimen_label(r) for r in data["regimen"]]
    no_bar = (data["reading"] == NOT_ENOUGH) | ~np.isfinite(data[key])
    bars = data[~no_bar].sort_values(key, kind="stable")
    markers = data[no_bar]
    # horizontal bars: first category at the bottom, so the largest benefit ends on top, the no-evidence rows below
    category_order = list(markers["label"]) + list(bars["label"])

    fig = go.Figure()
    fig.add_vrect(x0=-100 * margin, x1=100 * margin, fillcolor="#9e9e9e", opacity=0.18, line_width=0, layer="below")
    fig.add_annotation(text=f"shaded: ±{100 * margin:g} pp {MARGIN_LABEL}", x=0, y=1.0, xref="x", yref="paper",
                       yanchor="bottom", showarrow=False, font={"size": 11, "color": "#555555"})
    fig.add_vline(x=0, line_color="#555555", line_width=1)
    values_text: list[str] = []
    values_y: list[str] = []
    for reading, rows in bars.groupby("reading", sort=False):
        b, lo, hi = (rows[c].to_numpy(dtype=float) * 100.0 for c in (key, lo_key, hi_key))
        text = [f"{bi:+.1f} pp" for bi in b]
        hover = [
            f"{lab}: {bi:+.1f} pp ({li:+.1f} to {hi_:+.1f}) · {reading} · evidence {ev}" if is_finite(li) and is_finite(hi_)
            else f"{lab}: {bi:+.1f} pp (no interval) · {reading} · evidence {ev}"
            for lab, bi, li, hi_, ev in zip(rows["label"], b, lo, hi, rows["evidence"], strict=True)
        ]
        fig.add_trace(go.Bar(
            x=b, y=list(rows["label"]), orientation="h", name=str(reading),
            marker_color=_reading_colour(str(reading)),
            error_x={"type": "data", "symmetric": False, "array": hi - b, "arrayminus": b - lo,
                     "color": "#333333", "thickness": 1.5, "width": 4},
            customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        ))
        values_text += [f"{t} ({li:+.1f} to {hi_:+.1f})" if is_finite(li) and is_finite(hi_) else t
                        for t, li, hi_ in zip(text, lo, hi, strict=True)]
        values_y += list(rows["label"])
    if not markers.empty:
        hover = [f"{lab}: {NOT_ENOUGH} (evidence {ev}); no benefit shown"
                 for lab, ev in zip(markers["label"], markers["evidence"], strict=True)]
        fig.add_trace(go.Scatter(
            x=[0.0] * len(markers), y=list(markers["label"]), mode="markers+text", name=NOT_ENOUGH,
            marker={"symbol": "circle-open", "size": 11, "color": "#9e9e9e", "line": {"width": 2}},
            text=[NOT_ENOUGH] * len(markers), textposition="middle right", textfont={"color": "#777777"},
            customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        ))
    # the values as a column of text right of the plot (inside the bars they would collide with the error bars)
    for label, value_text in zip(values_y, values_text, strict=True):
        fig.add_annotation(text=value_text, x=1.01, xref="paper", y=label, yref="y", xanchor="left",
                           showarrow=False, font={"size": 12})
    reference = f" vs {regimen_label(baseline[0])}" if baseline else ""
    fig.update_layout(
        title=title_text(title, caption),
        template=TEMPLATE,
        xaxis={"title": f"Absolute survival benefit{reference} (percentage points)", "zeroline": False},
        yaxis={"categoryorder": "array", "categoryarray": category_order, "title": None},
        barmode="overlay",
        legend={"orientation": "h", "yanchor": "top", "y": -0.22, "xanchor": "center", "x": 0.5,
                "title": {"text": "Reading: "}},
        margin={"t": 110, "l": 170, "r": 190, "b": 110},
        height=max(320, 180 + 42 * len(category_order)),
    )
    return fig


# --------------------------------------------------------------------------- 3. explanation waterfall


def contributions_figure(contributions: pd.DataFrame, *, base: float, title: str, caption: str, top: int = 12,
                         unit: str = "log hazard", increasing_is_risk: bool = True) -> go.Figure:
    """Waterfall from ``base`` through the ``top`` largest contributions (and one bar for the rest) to the total.

    ``contributions`` has columns feature, group, value; the total bar equals base + sum of all values.
    Bars that raise the output are red and bars that lower it blue (``increasing_is_risk=False`` swaps
    them, for outputs where higher is better).
    """
    if not has_columns(contributions, ("feature", "value")):
        return empty_figure(title, caption)
    data = contributions.copy()
    data["value"] = pd.to_numeric(data["value"], errors="coerce").fillna(0.0)
    if "group" not in data.columns:
        data["group"] = None
    data["magnitude"] = data["value"].abs()
    data = data.sort_values("magnitude", ascending=False, kind="stable")
    top = max(int(top), 0)
    shown, rest = data.iloc[:top], data.iloc[top:]
    base = float(base)
    total = base + float(data["value"].sum())

    labels = ["Base value"]
    values = [base]
    measures = ["absolute"]
    hover = [f"Base value (cohort average): {base:.3f} {unit}"]
    for feature, group, value in zip(shown["feature"], shown["group"], shown["value"], strict=True):
        label = feature_display(feature, group if isinstance(group, str) else None)
        labels.append(label)
        values.append(float(value))
        measures.append("relative")
        hover.append(f"{label} ({group}): {value:+.3f} {unit}" if isinstance(group, str) and group not in label
                     else f"{label}: {value:+.3f} {unit}")
    if len(rest):
        other = float(rest["value"].sum())
        label = f"other {len(rest)} feature{'s' if len(rest) != 1 else ''}"
        labels.append(label)
        values.append(other)
        measures.append("relative")
        hover.append(f"{label}: {other:+.3f} {unit} in all")
    labels.append("This patient")
    values.append(total)  # plotly computes the total itself; the value is kept so the figure's data say it
    measures.append("total")
    hover.append(f"This patient: {total:.3f} {unit}")
    text = [f"{v:.3f}" if m != "relative" else f"{v:+.3f}" for v, m in zip(values, measures, strict=True)]

    up, down = (RISK_UP, RISK_DOWN) if increasing_is_risk else (RISK_DOWN, RISK_UP)
    # room on both sides for the value labels outside the bars
    running = np.cumsum([base, *values[1:-1]])
    lo_x, hi_x = min(0.0, float(running.min())), max(0.0, float(running.max()))
    pad = 0.15 * (hi_x - lo_x or 1.0)
    fig = go.Figure(go.Waterfall(
        orientation="h", y=labels, x=values, measure=measures, text=text, textposition="outside",
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        increasing={"marker": {"color": up}}, decreasing={"marker": {"color": down}},
        totals={"marker": {"color": TOTAL_COLOUR}}, connector={"line": {"color": "#bbbbbb", "width": 1}},
        name=title,
    ))
    fig.update_layout(
        title=title_text(title, caption),
        template=TEMPLATE,
        xaxis={"title": f"Contribution ({unit})", "range": [lo_x - pad, hi_x + pad]},
        yaxis={"autorange": "reversed", "title": None, "type": "category"},
        showlegend=False,
        margin={"t": 90, "l": 200, "r": 40, "b": 50},
        height=max(320, 130 + 30 * len(labels)),
    )
    return fig


# --------------------------------------------------------------------------- 4. cohort embedding


def embedding_figure(cohort: pd.DataFrame, *, patient: Mapping[str, float] | None, neighbours: pd.DataFrame | None,
                     colour: str, caption: str, max_points: int = 20000) -> go.Figure:
    """The cohort in a 2-D embedding (``x``, ``y``) coloured by ``colour``, with the patient and neighbours on top.

    A categorical colour column gives discrete colours and a legend, a numeric one a colour scale. Above
    ``max_points`` cohort patients a seeded random sample is drawn, and the caption says so.
    """
    title = "Where this patient sits in the cohort"
    if not has_columns(cohort, ("x", "y")):
        return empty_figure(title, caption)
    data = cohort[np.isfinite(pd.to_numeric(cohort["x"], errors="coerce"))
                  & np.isfinite(pd.to_numeric(cohort["y"], errors="coerce"))]
    if data.empty:
        return empty_figure(title, caption)
    n_total = len(data)
    if n_total > max_points:
        data = data.sample(n=max(int(max_points), 1), random_state=0).sort_index()
        caption = (f"{caption} · showing a random sample of {len(data):,} of {n_total:,} cohort patients "
                   f"(downsampled, seed 0)")
    fig = go.Figure()
    legend_title = words(colour) if colour else ""
    if colour in data.columns and pd.api.types.is_numeric_dtype(data[colour]) \
            and not pd.api.types.is_bool_dtype(data[colour]):
        values = pd.to_numeric(data[colour], errors="coerce")
        fig.add_trace(go.Scattergl(
            x=data["x"], y=data["y"], mode="markers", name="Cohort", showlegend=False,
            marker={"color": values, "colorscale": "Viridis", "size": 5, "opacity": 0.7,
                    "colorbar": {"title": {"text": legend_title}}},
            customdata=values, hovertemplate=f"{legend_title}: %{{customdata:.3g}}<extra>cohort</extra>",
        ))
    elif colour in data.columns:
        categories = data[colour].astype("object").where(data[colour].notna(), "missing").astype(str)
        is_regimen = colour == "regimen"
        levels = sorted(set(categories) - {"missing"}) + (["missing"] if (categories == "missing").any() else [])
        for i, level in enumerate(levels):
            rows = data[categories == level]
            if level == "missing":
                col, name = MISSING_COLOUR, "missing"
            elif is_regimen:
                col, name = regimen_colour(level), regimen_label(level)
            else:
                col, name = CATEGORY_COLOURS[i % len(CATEGORY_COLOURS)], level
            fig.add_trace(go.Scattergl(
                x=rows["x"], y=rows["y"], mode="markers", name=name, legendgroup=level,
                marker={"color": col, "size": 5, "opacity": 0.65},
                hovertemplate=f"{legend_title}: {name}<extra>cohort</extra>",
            ))
    else:
        fig.add_trace(go.Scattergl(
            x=data["x"], y=data["y"], mode="markers", name="Cohort",
            marker={"color": "#8fa8c8", "size": 5, "opacity": 0.6}, hovertemplate="cohort patient<extra></extra>",
        ))
    if has_columns(neighbours, ("x", "y")):
        ids = neighbours["id"].astype(str) if "id" in neighbours.columns else pd.Series([""] * len(neighbours))
        fig.add_trace(go.Scattergl(
            x=neighbours["x"], y=neighbours["y"], mode="markers", name=f"Nearest cohort patients (n={len(neighbours)})",
            marker={"symbol": "circle-open", "size": 10, "color": "#111111", "line": {"width": 1.5}},
            customdata=list(ids), hovertemplate="neighbour %{customdata}<extra></extra>",
        ))
    if patient is not None and is_finite(patient.get("x")) and is_finite(patient.get("y")):
        fig.add_trace(go.Scattergl(
            x=[float(patient["x"])], y=[float(patient["y"])], mode="markers+text", name="This patient",
            marker={"symbol": "star", "size": 22, "color": "#000000", "line": {"color": "#ffffff", "width": 1}},
            text=["This patient"], textposition="top center", textfont={"size": 13, "color": "#000000"},
            hovertemplate="This patient<extra></extra>",
        ))
    fig.update_layout(
        title=title_text(title, caption),
        template=TEMPLATE,
        xaxis={"title": "Embedding 1", "showticklabels": False, "zeroline": False},
        yaxis={"title": "Embedding 2", "showticklabels": False, "zeroline": False},
        legend={"title": {"text": legend_title}, "itemsizing": "constant"},
        margin={"t": 90, "l": 50, "r": 20, "b": 50},
        height=560,
    )
    return fig


# --------------------------------------------------------------------------- 5. risk percentile


def risk_percentile(cohort_risks: Sequence[float], patient_risk: float) -> float:
    """Percent of the cohort (finite scores) with a lower risk score than the patient (ties count half)."""
    risks = np.asarray([r for r in cohort_risks if is_finite(r)], dtype=float)
    if risks.size == 0 or not is_finite(patient_risk):
        return float("nan")
    below = float(np.sum(risks < patient_risk)) + 0.5 * float(np.sum(risks == patient_risk))
    return 100.0 * below / risks.size


def risk_percentile_figure(cohort_risks: Sequence[float], *, patient_risk: float, caption: str) -> go.Figure:
    """Histogram of the cohort's risk scores with the patient's score and percentile marked."""
    title = "This patient's risk within the cohort"
    risks = np.asarray([r for r in (cohort_risks if cohort_risks is not None else []) if is_finite(r)], dtype=float)
    if risks.size == 0:
        return empty_figure(title, caption)
    fig = go.Figure(go.Histogram(
        x=risks, nbinsx=min(50, max(10, int(np.sqrt(risks.size)))), name="Cohort",
        marker={"color": "#9ecae1", "line": {"color": "#ffffff", "width": 0.5}},
        hovertemplate="risk %{x}: %{y} patients<extra></extra>",
    ))
    if is_finite(patient_risk):
        pct = risk_percentile(risks, float(patient_risk))
        fig.add_vline(x=float(patient_risk), line_color="#000000", line_width=2.5)
        fig.add_annotation(text=f"This patient: higher risk than {pct:.0f}% of the cohort", x=float(patient_risk),
                           xref="x", y=1.0, yref="paper", yanchor="bottom", xanchor="left" if pct < 60 else "right",
                           showarrow=False, font={"size": 13})
    else:
        fig.add_annotation(text="patient's risk score not available", x=0.5, y=1.0, xref="paper", yref="paper",
                           showarrow=False, yanchor="bottom")
    fig.update_layout(
        title=title_text(title, caption),
        template=TEMPLATE,
        xaxis_title="Risk score (higher = worse prognosis)",
        yaxis_title="Cohort patients",
        showlegend=False,
        bargap=0.02,
        margin={"t": 110, "l": 60, "r": 20, "b": 50},
        height=380,
    )
    return fig


# --------------------------------------------------------------------------- 6. similar patients' Kaplan-Meier


def similar_patients_figure(km_by_regimen: Mapping[str, pd.DataFrame], *, caption: str,
                            time_unit: str = "months") -> go.Figure:
    """Observed Kaplan-Meier survival of the patient's nearest cohort patients, one step curve per regimen received.

    Each frame has columns time, survival, lower, upper, at_risk (as for :func:`dashboard.cohort.charts.km_figure`);
    the legend reads "regimen (n=…)" with n the number at risk at the first time. Times in months are shown
    in years, like the predicted curves.
    """
    title = "Observed survival of similar cohort patients"
    frames = {str(r): km for r, km in (km_by_regimen or {}).items() if has_columns(km, ("time", "survival"))}
    if not frames:
        return empty_figure(title, caption)
    scale = 12.0 if time_unit == "months" else 1.0
    fig = go.Figure()
    for regimen, km in frames.items():
        km = km.sort_values("time", kind="stable")
        colour = regimen_colour(regimen)
        n = int(km["at_risk"].iloc[0]) if "at_risk" in km.columns and is_finite(km["at_risk"].iloc[0]) else None
        label = regimen_label(regimen) + (f" (n={n})" if n is not None else "")
        x = pd.to_numeric(km["time"], errors="coerce").to_numpy(dtype=float) / scale
        if has_columns(km, ("lower", "upper")):
            fig.add_trace(go.Scatter(
                x=x, y=km["upper"].to_numpy(dtype=float) * 100.0, line_shape="hv", mode="lines", line_width=0,
                showlegend=False, legendgroup=regimen, hoverinfo="skip", name=f"{label} upper",
            ))
            fig.add_trace(go.Scatter(
                x=x, y=km["lower"].to_numpy(dtype=float) * 100.0, line_shape="hv", mode="lines", line_width=0,
                fill="tonexty", fillcolor=rgba(colour, 0.10), showlegend=False, legendgroup=regimen,
                hoverinfo="skip", name=f"{label} band",
            ))
        at_risk = km["at_risk"].tolist() if "at_risk" in km.columns else [""] * len(km)
        fig.add_trace(go.Scatter(
            x=x, y=km["survival"].to_numpy(dtype=float) * 100.0, line_shape="hv", mode="lines", name=label,
            legendgroup=regimen, line={"color": colour, "width": 2.4}, customdata=at_risk,
            hovertemplate=f"{label}: %{{y:.0f}}% at %{{x:.1f}} y (at risk %{{customdata}})<extra></extra>"
            if scale == 12.0 else f"{label}: %{{y:.0f}}% at %{{x:.1f}} {time_unit} (at risk %{{customdata}})"
            "<extra></extra>",
        ))
    fig.update_layout(
        title=title_text(title, caption),
        template=TEMPLATE,
        xaxis_title="Years since diagnosis" if scale == 12.0 else f"Time ({time_unit})",
        yaxis={"title": "Observed survival (Kaplan-Meier)", "range": [0, 102], "ticksuffix": "%"},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "center", "x": 0.5},
        margin={"t": 90, "l": 60, "r": 20, "b": 110},
        height=460,
    )
    return fig
