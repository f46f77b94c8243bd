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

from dashboard.i18n import N_, regimen_label, tr
from dashboard.patient.figure_parts import (
    CATEGORY_COLOURS,
    FONT_SIZE,
    MISSING_COLOUR,
    NOT_ENOUGH,
    READING_ORDER,
    RISK_DOWN,
    RISK_UP,
    THRESHOLD,
    TOTAL_COLOUR,
    default_regimens,
    empty_figure,
    feature_display,
    has_columns,
    is_finite,
    legend_below,
    patient_layout,
    reading_class,
    reading_code_at,
    reading_colour,
    reading_title,
    regimen_colour,
    regimen_colours,
    truthy,
    words,
    wrap_text,
    years_text,
)
from dashboard.plotly_style import rgba

SHORT_LABEL = 24  # characters of a waterfall's tick label
# Up to this many cohort points the map is drawn as SVG: it draws at once in any browser, where WebGL needs a
# context (slow to create without a GPU: a headless or remote-desktop browser); above it WebGL is faster.
SVG_MAX_POINTS = 3000

__all__ = ["benefit_figure", "contributions_figure", "default_regimens", "embedding_figure", "risk_percentile",
           "risk_percentile_figure", "similar_patients_figure", "survival_curves_figure"]

# --------------------------------------------------------------------------- 1. predicted survival per regimen


def _fallback_shown(data: pd.DataFrame, order: list[str], baseline: str, current: str | None,
                    highlight: Sequence[str]) -> list[str]:
    """Without the options: baseline, current, highlighted, then the highest final survival, four at most."""
    final = data.sort_values("month").groupby(data["regimen"].astype(str))["S"].last()
    by_final = sorted(order, key=lambda r: -float(final.get(r, -1.0)))
    return list(dict.fromkeys([baseline, *([current] if current else []), *map(str, highlight), *by_final]))[:4]


def survival_curves_figure(curves: pd.DataFrame, *, baseline: str, horizons: Sequence[float], caption: str,
                           highlight: Sequence[str] = (), options: pd.DataFrame | Sequence[Mapping] | None = None,
                           current: str | None = None) -> go.Figure:
    """Predicted survival under each regimen: one line (and its interval band, where known) per regimen.

    ``curves`` has columns regimen, month, S, S_lo, S_hi (probabilities 0–1; S_lo/S_hi NaN → no band). Shown
    by default: :func:`default_regimens` of ``options`` (baseline, ``current``, the two best options; without
    ``options``: baseline, current, ``highlight``, then the highest survival, four at most); every other regimen
    is a legend toggle (``visible="legendonly"``). The baseline is dashed dark grey; dotted vertical lines mark the
    ``horizons`` (months). The x axis is in years, the y axis in percent.
    """
    title = tr("Predicted survival under each regimen")
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

    present = list(dict.fromkeys(str(r) for r in data["regimen"]))
    last = max((float(h) for h in horizons if is_finite(h)), default=None)
    rows_given = options is not None and len(options) > 0
    shown = default_regimens(options, baseline=baseline, current=current, horizon=last) if rows_given \
        else _fallback_shown(data, present, baseline, current, highlight)
    shown = [r for r in shown if r in present]
    order = shown + [r for r in present if r not in shown]
    colours = regimen_colours(order, baseline=baseline, current=current, shown=shown)
    fig = go.Figure()
    for regimen in order:
        rows = data[data["regimen"].astype(str) == regimen].sort_values("month")
        colour = colours[regimen]
        is_base = regimen == baseline
        label = regimen_label(regimen) + (tr(" (baseline)") if is_base else tr(" (current)") if regimen == current else "")
        visible = True if regimen in shown else "legendonly"
        x = rows["month"].to_numpy() / 12.0
        s, lo, hi = (rows[c].to_numpy(dtype=float) for c in ("S", "S_lo", "S_hi"))
        band = np.isfinite(lo) & np.isfinite(hi)
        if band.any():
            xb = x[band]
            fig.add_trace(go.Scatter(
                x=np.concatenate([xb, xb[::-1]]), y=np.concatenate([hi[band], lo[band][::-1]]) * 100.0,
                fill="toself", fillcolor=rgba(colour, 0.13), line={"width": 0}, mode="lines", visible=visible,
                hoverinfo="skip", showlegend=False, legendgroup=regimen, name=f"{label} interval",
            ))
        text = [
            f"{label}: {100 * si:.0f}% ({100 * li:.0f}–{100 * hi_:.0f}%) at {years_text(m)}"
            if is_finite(li) and is_finite(hi_) else f"{label}: {100 * si:.0f}% at {years_text(m)}"
            for si, li, hi_, m in zip(s, lo, hi, rows["month"], strict=True)
        ]
        fig.add_trace(go.Scatter(
            x=x, y=s * 100.0, mode="lines", name=label, legendgroup=regimen, visible=visible,
            line={"color": colour, "width": 2.8 if regimen in shown else 1.8, "dash": "dash" if is_base else "solid"},
            text=text, hovertemplate="%{text}<extra></extra>",
        ))
    for horizon in horizons:
        if is_finite(horizon):
            fig.add_vline(x=float(horizon) / 12.0, line_dash="dot", line_color="#555555", line_width=1,
                          annotation_text=years_text(float(horizon)), annotation_position="top")
    if len(order) > len(shown):
        caption = f"{caption} · " + tr("tap a regimen in the legend to show or hide it") if caption else \
            "Tap a regimen in the legend to show or hide it"
    return patient_layout(
        fig, title=title, caption=caption, height=400 + 20 * math.ceil(len(order) / 2),
        xaxis_title=tr("Years since diagnosis"), yaxis={"title": tr("Predicted survival"), "range": [0, 100],
                                                    "ticksuffix": "%"},
        legend=legend_below(y=-0.16), top=14,
    )


# --------------------------------------------------------------------------- 2. benefit against the baseline


def benefit_figure(options: pd.DataFrame, *, horizon: float, caption: str, margin: float | None = None,
                   current: str | None = None) -> go.Figure:
    """Absolute benefit of each regimen over the baseline at ``horizon`` months, in percentage points.

    ``options`` has one row per regimen with regimen, B<h>, B<h>_lo, B<h>_hi (fractions), is_baseline, the
    reading codes (reading<h>, else reading) and min_benefit (the regimen's worthwhile threshold T, a fraction).
    The baseline row is left out. One horizontal bar per regimen, its label and value written above it (legible
    at 390 px), coloured by its reading at ``horizon``, with its interval as whiskers and a black tick at its own
    threshold T; "not enough evidence" bars are pale and hatched, at the bottom. A coloured square before the
    label marks the regimens the survival chart shows by default, in their colour there. ``margin`` is accepted
    for old callers and ignored (the threshold is per regimen now).
    """
    del margin
    h = f"{horizon:g}"
    key, lo_key, hi_key = f"B{h}", f"B{h}_lo", f"B{h}_hi"
    title = tr("Benefit over the baseline at {horizon}", horizon=years_text(float(horizon)).replace(' y', tr(' years')))
    if not has_columns(options, ("regimen", key)):
        return empty_figure(title, caption)
    everything = options.copy()
    data = everything.copy()
    for name in (lo_key, hi_key, THRESHOLD):
        if name not in data.columns:
            data[name] = np.nan
    for name in (key, lo_key, hi_key, THRESHOLD):
        data[name] = pd.to_numeric(data[name], errors="coerce")
    data["code"] = [reading_code_at(r, horizon) for r in data.to_dict("records")]
    data["cls"] = [reading_class(c) for c in data["code"]]
    base_mask = data["is_baseline"].map(truthy) if "is_baseline" in data.columns else data["cls"] == "reference"
    baseline = next((str(r) for r in data.loc[base_mask.astype(bool), "regimen"]), "")
    data = data[~base_mask.astype(bool)]
    if data.empty:
        return empty_figure(title, caption)
    shown = default_regimens(everything, baseline=baseline, current=current)
    colours = regimen_colours([str(r) for r in everything["regimen"]], baseline=baseline, current=current,
                              shown=shown)
    no_value = ~np.isfinite(data[key])
    data["bottom"] = (data["cls"] == NOT_ENOUGH) | no_value
    data = data.assign(sort_value=data[key].fillna(-math.inf)).sort_values(["bottom", "sort_value"],
                                                                           ascending=[False, True], kind="stable")
    data["pos"] = np.arange(len(data), dtype=float)  # bottom to top: largest benefit on top
    b, lo, hi, t = (data[c].to_numpy(dtype=float) * 100.0 for c in (key, lo_key, hi_key, THRESHOLD))

    fig = go.Figure()
    fig.add_vline(x=0, line_color="#555555", line_width=1)
    for cls in [*READING_ORDER, ""]:
        part = data[(data["cls"] == cls) & np.isfinite(data[key])]
        if part.empty:
            continue
        pb, plo, phi = (part[c].to_numpy(dtype=float) * 100.0 for c in (key, lo_key, hi_key))
        hover = [f"{regimen_label(r)}: {bi:+.1f} pp" + (f" ({li:+.1f} to {hi_:+.1f})" if is_finite(li)
                 and is_finite(hi_) else " (no interval)") + f" · {reading_title(code)}"
                 + (f" · worthwhile threshold {100 * ti:.1f} pp" if is_finite(ti) else "")
                 for r, bi, li, hi_, code, ti in zip(part["regimen"], pb, plo, phi, part["code"], part[THRESHOLD],
                                                     strict=True)]
        pale = cls == NOT_ENOUGH
        fig.add_trace(go.Bar(
            x=pb, y=part["pos"], orientation="h", width=0.3, name=reading_title(cls or str(part["code"].iloc[0])),
            marker={"color": reading_colour(cls), "line": {"color": "#9e9e9e" if pale else reading_colour(cls),
                                                           "width": 1},
                    "pattern": {"shape": "/" if pale else "", "fgcolor": "#9e9e9e", "size": 6}},
            error_x={"type": "data", "symmetric": False, "array": np.nan_to_num(phi - pb),
                     "arrayminus": np.nan_to_num(pb - plo), "color": "#333333", "thickness": 1.5, "width": 5},
            customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        ))
    ticks = np.isfinite(t)
    if ticks.any():
        fig.add_trace(go.Scatter(
            x=t[ticks], y=data["pos"][ticks], mode="markers", name=tr("Worthwhile threshold"),
            marker={"symbol": "line-ns", "size": 14, "line": {"width": 3, "color": "#111111"}},
            customdata=[f"{regimen_label(r)}: worthwhile from {ti:+.1f} pp" for r, ti in
                        zip(data["regimen"][ticks], t[ticks], strict=True)],
            hovertemplate="%{customdata}<extra></extra>",
        ))
    if no_value.any():
        fig.add_trace(go.Scatter(
            x=[0.0] * int(no_value.sum()), y=data["pos"][no_value.to_numpy()], mode="markers", name=tr("No estimate"),
            marker={"symbol": "circle-open", "size": 10, "color": "#9e9e9e", "line": {"width": 2}},
            hovertemplate="no benefit estimate<extra></extra>",
        ))
    for regimen, pos, bi, li, hi_ in zip(data["regimen"].astype(str), data["pos"], b, lo, hi, strict=True):
        value = "no estimate" if not is_finite(bi) else f"{bi:+.1f} pp" + (
            f" ({li:+.1f} to {hi_:+.1f})" if is_finite(li) and is_finite(hi_) else "")
        swatch = f"<span style='color:{colours[regimen]}'>■</span> " if regimen in shown else ""
        fig.add_annotation(text=f"{swatch}<b>{regimen_label(regimen)}</b>  {value}", x=0, xref="paper",
                           xanchor="left", y=pos + 0.22, yref="y", yanchor="bottom", showarrow=False,
                           font={"size": FONT_SIZE, "color": "#222222"})
    values = np.concatenate([[0.0], b, lo, hi, t])
    values = values[np.isfinite(values)]
    x0, x1 = float(values.min()), float(values.max())
    pad = 0.08 * ((x1 - x0) or 1.0)
    reference = tr(" vs {baseline}", baseline=regimen_label(baseline)) if baseline else ""
    if set(shown) & set(data["regimen"].astype(str)):
        caption = f"{caption} · ■ its colour in the survival chart" if caption else "■ its colour in the survival chart"
    return patient_layout(
        # ~58 px a row (label above its bar) and ~100 px for the legend, which wraps to three rows on a phone
        fig, title=title, caption=caption, height=150 + 58 * len(data),
        xaxis={"title": tr("Benefit{reference} (percentage points)", reference=reference), "zeroline": False, "range": [x0 - pad, x1 + pad]},
        yaxis={"range": [-0.5, len(data) - 0.25], "showticklabels": False, "showgrid": False, "zeroline": False,
               "fixedrange": True},
        barmode="overlay", legend=legend_below(y=-0.1), margin={"l": 12, "b": 40},
    )

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
        label = (tr("other {count} feature", count=len(rest)) if len(rest) == 1
                 else tr("other {count} features", count=len(rest)))
        labels.append(label)
        values.append(other)
        measures.append("relative")
        hover.append(tr("{label}: {value} {unit} in all", label=label, value=f"{other:+.3f}", unit=unit))
    labels.append(tr("This patient"))
    values.append(total)  # plotly computes the total itself; the value is kept so the figure's data say it
    measures.append("total")
    hover.append(f"{tr('This patient')}: {total:.3f} {unit}")
    text = [f"{v:.3f}" if m != "relative" else f"{v:+.3f}" for v, m in zip(values, measures, strict=True)]

    up, down = (RISK_UP, RISK_DOWN) if increasing_is_risk else (RISK_DOWN, RISK_UP)
    # room on both sides for the value labels outside the bars
    running = np.cumsum([base, *values[1:-1]])
    lo_x, hi_x = min(0.0, float(running.min())), max(0.0, float(running.max()))
    pad = 0.3 * (hi_x - lo_x or 1.0)  # the value labels need ~45 px on a phone
    fig = go.Figure(go.Waterfall(
        orientation="h", y=labels, x=values, measure=measures, text=text, textposition="outside",
        customdata=hover, hovertemplate="%{customdata}<extra></extra>",
        increasing={"marker": {"color": up}}, decreasing={"marker": {"color": down}},
        totals={"marker": {"color": TOTAL_COLOUR}}, connector={"line": {"color": "#bbbbbb", "width": 1}},
        name=title,
    ))
    # short tick labels (a phone has ~150 px for them); the full name is in the hover
    ticks = [label if len(label) <= SHORT_LABEL else label[:SHORT_LABEL - 1] + "…" for label in labels]
    return patient_layout(
        fig, title=title, caption=caption, height=max(260, 70 + 28 * len(labels)),
        xaxis={"title": tr("Contribution ({unit})", unit=unit), "range": [lo_x - pad, hi_x + pad]},
        yaxis={"autorange": "reversed", "title": None, "type": "category", "automargin": True,
               "tickmode": "array", "tickvals": labels, "ticktext": ticks},
        showlegend=False, margin={"l": 8},
    )


# --------------------------------------------------------------------------- 4. cohort embedding


def embedding_figure(cohort: pd.DataFrame, *, patient: Mapping[str, float] | None, neighbours: pd.DataFrame | None,
                     colour: str, caption: str, max_points: int = 20000) -> go.Figure:
    """The cohort in a 2-D embedding (``x``, ``y``) coloured by ``colour``, with the patient and neighbours on top.

    A categorical colour column gives discrete colours and a legend, a numeric one a colour scale. Above
    ``max_points`` cohort patients a seeded random sample is drawn, and the caption says so.
    """
    title = tr("Where this patient sits in the cohort")
    if not has_columns(cohort, ("x", "y")):
        return empty_figure(title, caption)
    data = cohort[np.isfinite(pd.to_numeric(cohort["x"], errors="coerce"))
                  & np.isfinite(pd.to_numeric(cohort["y"], errors="coerce"))]
    if data.empty:
        return empty_figure(title, caption)
    n_total = len(data)
    if n_total > max_points:
        data = data.sample(n=max(int(max_points), 1), random_state=0).sort_index()
        caption = caption + tr(" · {shown} of {total} cohort patients drawn (a fixed random sample)",
                               shown=f"{len(data):,}", total=f"{n_total:,}")
    points = go.Scatter if len(data) <= SVG_MAX_POINTS else go.Scattergl
    fig = go.Figure()
    legend_title = (tr(N_("Subtype")) if colour == "subtype" else tr(words(colour))) if colour else ""
    if colour in data.columns and pd.api.types.is_numeric_dtype(data[colour]) \
            and not pd.api.types.is_bool_dtype(data[colour]):
        values = pd.to_numeric(data[colour], errors="coerce")
        fig.add_trace(points(
            x=data["x"], y=data["y"], mode="markers", name=tr("Cohort"), showlegend=False,
            marker={"color": values, "colorscale": "Viridis", "size": 5, "opacity": 0.7,
                    "colorbar": {"title": {"text": legend_title, "side": "top"}, "orientation": "h", "y": -0.06,
                                 "yanchor": "top", "thickness": 12, "len": 0.9}},
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
            fig.add_trace(points(
                x=rows["x"], y=rows["y"], mode="markers", name=name, legendgroup=level,
                marker={"color": col, "size": 5, "opacity": 0.65},
                hovertemplate=f"{legend_title}: {name}<extra>cohort</extra>",
            ))
    else:
        fig.add_trace(points(
            x=data["x"], y=data["y"], mode="markers", name=tr("Cohort"),
            marker={"color": "#8fa8c8", "size": 5, "opacity": 0.6}, hovertemplate="cohort patient<extra></extra>",
        ))
    if has_columns(neighbours, ("x", "y")):
        ids = neighbours["id"].astype(str) if "id" in neighbours.columns else pd.Series([""] * len(neighbours))
        fig.add_trace(points(
            x=neighbours["x"], y=neighbours["y"], mode="markers", name=tr("Nearest cohort patients (n={count})", count=len(neighbours)),
            marker={"symbol": "circle-open", "size": 10, "color": "#111111", "line": {"width": 1.5}},
            customdata=list(ids), hovertemplate="neighbour %{customdata}<extra></extra>",
        ))
    if patient is not None and is_finite(patient.get("x")) and is_finite(patient.get("y")):
        fig.add_trace(points(
            x=[float(patient["x"])], y=[float(patient["y"])], mode="markers+text", name=tr("This patient"),
            marker={"symbol": "star", "size": 22, "color": "#000000", "line": {"color": "#ffffff", "width": 1}},
            text=[tr("This patient")], textposition="top center", textfont={"size": 13, "color": "#000000"},
            hovertemplate="This patient<extra></extra>",
        ))
    return patient_layout(
        fig, title=title, caption=caption, height=500,
        xaxis={"title": tr("Embedding 1"), "showticklabels": False, "zeroline": False},
        yaxis={"title": tr("Embedding 2"), "showticklabels": False, "zeroline": False},
        legend=legend_below(y=-0.08, title={"text": legend_title, "side": "top left"}, itemsizing="constant"),
        margin={"l": 24, "b": 24},
    )


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
    title = tr("This patient's risk within the cohort")
    risks = np.asarray([r for r in (cohort_risks if cohort_risks is not None else []) if is_finite(r)], dtype=float)
    if risks.size == 0:
        return empty_figure(title, caption)
    fig = go.Figure(go.Histogram(
        x=risks, nbinsx=min(50, max(10, int(np.sqrt(risks.size)))), name=tr("Cohort"),
        marker={"color": "#9ecae1", "line": {"color": "#ffffff", "width": 0.5}},
        hovertemplate="risk %{x}: %{y} patients<extra></extra>",
    ))
    if is_finite(patient_risk):
        pct = risk_percentile(risks, float(patient_risk))
        fig.add_vline(x=float(patient_risk), line_color="#000000", line_width=2.5)
        note = wrap_text(tr("This patient (black line): higher risk than {percent}% of the cohort", percent=f"{pct:.0f}"), 44)
    else:
        note = "patient's risk score not available"
    # above the plot, left aligned: next to the line it would run off a phone's screen
    fig.add_annotation(text=note, x=0.0, xref="paper", xanchor="left", y=1.0, yref="paper", yanchor="bottom",
                       yshift=4, showarrow=False, align="left", font={"size": FONT_SIZE + 1})
    return patient_layout(
        fig, title=title, caption=caption, height=340, top=40,
        xaxis_title=tr("Risk score (higher = worse prognosis)"), yaxis_title=tr("Cohort patients"),
        showlegend=False, bargap=0.02,
    )


# --------------------------------------------------------------------------- 6. similar patients' Kaplan-Meier


def similar_patients_figure(km_by_regimen: Mapping[str, pd.DataFrame], *, caption: str,
                            time_unit: str = "months") -> go.Figure:
    """Observed Kaplan-Meier survival of the patient's nearest cohort patients, one step curve per regimen received.

    Each frame has columns time, survival, lower, upper, at_risk (as for :func:`dashboard.cohort.charts.km_figure`);
    the legend reads "regimen (n=…)" with n the number at risk at the first time. Times in months are shown
    in years, like the predicted curves.
    """
    title = tr("Observed survival of similar cohort patients")
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
    return patient_layout(
        fig, title=title, caption=caption, height=440,
        xaxis_title=tr("Years since diagnosis") if scale == 12.0 else tr("Time ({unit})", unit=time_unit),
        yaxis={"title": tr("Observed survival"), "range": [0, 102], "ticksuffix": "%"},
        legend=legend_below(y=-0.16),
    )
