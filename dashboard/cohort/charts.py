"""The Cohort page's plotly figures: pure functions, data in, figure out (tested without a browser)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from dashboard.cohort.explore import thin_curve
from dashboard.i18n import N_, tr
from dashboard.plotly_style import MISSING_COLOUR, PALETTE, group_colour, layout, rgba

BAND = "rgba(31, 119, 180, 0.18)"
TIME_UNITS = {"years": N_("years"), "months": N_("months")}
LINE = "#1f77b4"


MONTHS_PER_YEAR = 12.0


def km_figure(km: pd.DataFrame, *, title: str, caption: str, time_unit: str = "years") -> go.Figure:
    """Kaplan-Meier step curve with its confidence band; ``caption`` names cohort, endpoint, n and events.
    ``km`` times are in months (as stored); they are drawn in years unless ``time_unit`` is ``months``."""
    km = km.assign(time=km["time"] / (MONTHS_PER_YEAR if time_unit == "years" else 1.0))
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(x=km["time"], y=km["upper"], line_shape="hv", mode="lines", line_width=0, showlegend=False,
                   hoverinfo="skip")
    )
    fig.add_trace(
        go.Scatter(x=km["time"], y=km["lower"], line_shape="hv", mode="lines", line_width=0, fill="tonexty",
                   fillcolor=BAND, name="95% CI", hoverinfo="skip")
    )
    fig.add_trace(
        go.Scatter(
            x=km["time"], y=km["survival"], line_shape="hv", mode="lines", line_color=LINE, name="Kaplan-Meier",
            customdata=km["at_risk"], hovertemplate="%{x:.1f} " + time_unit + ": %{y:.1%} (at risk %{customdata})<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": f"{title}<br><sup>{caption}</sup>"},
        xaxis_title=tr("Time ({unit})", unit=tr(TIME_UNITS.get(time_unit, time_unit))),
        yaxis_title=tr("Survival probability"),
        yaxis_range=[0, 1.02],
        yaxis_tickformat=".0%",
        margin={"t": 80, "l": 60, "r": 20, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def bar_figure(table: pd.DataFrame, *, x: str, y: str, title: str, caption: str) -> go.Figure:
    """A simple labelled bar chart (counts per category)."""
    fig = go.Figure(go.Bar(x=table[x], y=table[y], text=table[y], textposition="outside", marker_color=LINE))
    fig.update_layout(
        title={"text": f"{title}<br><sup>{caption}</sup>"},
        margin={"t": 80, "l": 60, "r": 20, "b": 80},
        yaxis_title=y,
    )
    return fig


# --- research pages: the explorer ---------------------------------------------------------------------------------

def p_text(p: float) -> str:
    """A p-value for display (two significant digits; tiny values in e-notation)."""
    if p != p:  # NaN
        return "n/a"
    if p == 0:  # below the smallest double
        return "< 1e-300"
    return f"{p:.2g}" if p >= 1e-4 else f"{p:.1e}"


def km_groups_figure(
    result, *, title: str, caption: str, time_unit: str = "years", max_points: int = 1000, show_ci: bool = True,
    min_band: int = 10,
) -> go.Figure:
    """Kaplan-Meier curves by group with the number-at-risk table under the plot (one figure, one download).

    ``result`` is a :class:`dashboard.cohort.explore.GroupSurvival`. Legend entries carry n, events and the hazard
    ratio against the reference; the log-rank p is printed on the plot. Curves longer than ``max_points``
    are drawn at that many time points (exact values at the points kept), and the caption says so. Groups
    under ``min_band`` patients get no confidence band (it would cover the plot); the caption says so too.
    Times (in months in ``result``) are drawn in years unless ``time_unit`` is ``months``.
    """
    per = MONTHS_PER_YEAR if time_unit == "years" else 1.0
    groups = list(result.summary["group"])
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.8, 0.2], vertical_spacing=0.1)
    thinned = False
    for i, row in enumerate(result.summary.itertuples(index=False)):
        colour = group_colour(i)
        full = result.curves[result.curves["group"] == row.group]
        curve = thin_curve(full, max_points)
        thinned |= len(curve) < len(full)
        curve = curve.assign(time=curve["time"] / per)
        if row.group == result.reference and len(groups) > 1:
            ratio = " · reference"
        elif row.hr == row.hr and row.hr_lo == row.hr_lo:
            ratio = f" · HR {row.hr:.2f} ({row.hr_lo:.2f}–{row.hr_hi:.2f})"
        else:
            ratio = ""
        name = f"{row.group} (n={row.n:,}, events={row.events:,}{ratio})"
        if show_ci and row.n >= min_band:
            fig.add_trace(go.Scatter(x=curve["time"], y=curve["upper"], line_shape="hv", mode="lines", line_width=0,
                                     showlegend=False, hoverinfo="skip", legendgroup=row.group, meta="km-ci"),
                          row=1, col=1)
            fig.add_trace(go.Scatter(x=curve["time"], y=curve["lower"], line_shape="hv", mode="lines", line_width=0,
                                     fill="tonexty", fillcolor=rgba(colour, 0.15), showlegend=False,
                                     hoverinfo="skip", legendgroup=row.group, meta="km-ci"), row=1, col=1)
        fig.add_trace(go.Scatter(
            x=curve["time"], y=curve["survival"], line_shape="hv", mode="lines", line={"color": colour, "width": 2},
            name=name, legendgroup=row.group, meta="km-curve", customdata=curve["at_risk"],
            hovertemplate=f"{row.group}<br>%{{x:.1f}} {time_unit}: %{{y:.1%}} (at risk %{{customdata}})<extra></extra>",
        ), row=1, col=1)
        counts = result.at_risk.loc[row.group]
        fig.add_trace(go.Scatter(
            x=[float(c) / per for c in result.at_risk.columns], y=[row.group] * len(counts), text=[f"{v:,}" for v in counts],
            mode="text", textfont={"color": colour, "size": 11}, showlegend=False, hoverinfo="skip", meta="at-risk",
        ), row=2, col=1)
    if len(groups) > 1:
        fig.add_annotation(text=tr("Log-rank p = {p} ({df} df)", p=p_text(result.logrank_p), df=result.logrank_df),
                           xref="x domain", yref="y domain", x=0.99, y=0.98, showarrow=False, xanchor="right",
                           font={"size": 13}, bgcolor="rgba(255,255,255,0.8)")
    fig.add_annotation(text=tr("Number at risk"), xref="x2 domain", yref="y2 domain", x=0, y=1.25, showarrow=False,
                       xanchor="left", font={"size": 12})
    if thinned:
        caption += f" · curves drawn at ≤{max_points:,} time points each"
    if show_ci and (result.summary["n"] < min_band).any():
        caption += f" · no band for groups under {min_band} patients"
    layout(fig, title=title, caption=caption, height=600 + 40 * len(groups),
            legend={"orientation": "h", "x": 0, "y": -0.1, "yanchor": "top", "xanchor": "left"},
            margin={"t": 90, "l": 90, "r": 20, "b": 40})
    fig.update_yaxes(title_text=tr("Survival probability"), range=[0, 1.02], tickformat=".0%", row=1, col=1)
    fig.update_yaxes(autorange="reversed", showgrid=False, tickfont={"size": 11}, row=2, col=1)
    ticks = [float(c) / per for c in result.at_risk.columns]  # the plot's ticks line up with the at-risk columns
    fig.update_xaxes(tickvals=ticks, title_text=tr("Time ({unit})", unit=tr(TIME_UNITS.get(time_unit, time_unit))), row=2, col=1)
    fig.update_xaxes(tickvals=ticks, showticklabels=True, row=1, col=1)
    return fig


def embedding_figure(
    frame: pd.DataFrame, *, kind: str, colour_label: str, title: str, caption: str, axis_labels=("1", "2"),
    order: list[str] | None = None,
) -> go.Figure:
    """WebGL scatter of an embedding; ``frame`` has x, y, value (and optional hover text ``label``).

    ``kind`` is ``categorical`` (one trace per value, legend) or ``continuous`` (colour scale). Missing
    values are drawn in light grey as their own trace.
    """
    fig = go.Figure()
    hover = frame["label"] if "label" in frame.columns else None
    missing = frame["value"].isna()
    if kind == "categorical":
        text = frame["value"].astype(object).where(~missing, None)
        levels = order or sorted({str(v) for v in text.dropna()})
        for i, level in enumerate(levels):
            sub = frame[(text == level).to_numpy()]
            if sub.empty:
                continue
            fig.add_trace(go.Scattergl(x=sub["x"], y=sub["y"], mode="markers", name=f"{level} ({len(sub):,})",
                                       marker={"size": 4, "color": group_colour(i), "opacity": 0.8},
                                       text=None if hover is None else sub["label"],
                                       hovertemplate=f"{level}<br>%{{text}}<extra></extra>" if hover is not None
                                       else f"{level}<extra></extra>"))
    else:
        sub = frame[~missing]
        fig.add_trace(go.Scattergl(
            x=sub["x"], y=sub["y"], mode="markers", name=colour_label, showlegend=False,
            marker={"size": 4, "color": sub["value"].astype(float), "colorscale": "Viridis", "opacity": 0.85,
                    "colorbar": {"title": {"text": colour_label[:24]}}},
            text=None if hover is None else sub["label"],
            hovertemplate=colour_label + " %{marker.color:.3g}<br>%{text}<extra></extra>",
        ))
    if missing.any():
        sub = frame[missing]
        fig.add_trace(go.Scattergl(x=sub["x"], y=sub["y"], mode="markers", name=f"missing ({len(sub):,})",
                                   marker={"size": 3, "color": MISSING_COLOUR}, hoverinfo="skip"))
    layout(fig, title=title, caption=caption, height=560, legend={"itemsizing": "constant"})
    fig.update_xaxes(title_text=axis_labels[0], showticklabels=False, zeroline=False)
    fig.update_yaxes(title_text=axis_labels[1], showticklabels=False, zeroline=False)
    return fig


def volcano_figure(
    table: pd.DataFrame, *, effect_label: str, title: str, caption: str, alpha: float = 0.05, label_top: int = 12,
) -> go.Figure:
    """Volcano plot of a differential-expression table (effect vs -log10 p), significant genes coloured."""
    y = -np.log10(table["p_value"].clip(lower=1e-300))
    significant = table["p_adj"] < alpha
    up = significant & (table["log2_fold_change"] > 0)
    down = significant & (table["log2_fold_change"] < 0)
    fig = go.Figure()
    for mask, name, colour in ((~significant, f"not significant (adj. p ≥ {alpha})", MISSING_COLOUR),
                               (up, "higher in group", PALETTE[1]), (down, "lower in group", PALETTE[0])):
        sub = table[mask]
        fig.add_trace(go.Scattergl(x=sub["log2_fold_change"], y=y[mask], mode="markers", name=f"{name} ({len(sub)})",
                                   marker={"size": 6, "color": colour}, text=sub["gene"],
                                   hovertemplate="%{text}<br>effect %{x:.3f}<br>-log10 p %{y:.2f}<extra></extra>"))
    for row in table[significant].head(label_top).itertuples(index=False):
        fig.add_annotation(x=row.log2_fold_change, y=float(-np.log10(max(row.p_value, 1e-300))), text=str(row.gene),
                           showarrow=False, yshift=10, font={"size": 10})
    layout(fig, title=title, caption=caption, height=500, legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text=effect_label)
    fig.update_yaxes(title_text=tr("-log10 p-value"))
    return fig


def heatmap_figure(matrix: pd.DataFrame, *, title: str, caption: str, colorbar: str, zmid: float | None = 0.0,
                   text: pd.DataFrame | None = None, colorscale: str = "RdBu_r") -> go.Figure:
    """A labelled heatmap (rows = index, columns = columns), optional cell text."""
    fig = go.Figure(go.Heatmap(
        z=matrix.to_numpy(dtype=float), x=[str(c) for c in matrix.columns], y=[str(i) for i in matrix.index],
        colorscale=colorscale, zmid=zmid, colorbar={"title": {"text": colorbar}},
        text=None if text is None else text.to_numpy(), texttemplate=None if text is None else "%{text}",
        hovertemplate="%{y} · %{x}: %{z:.3g}<extra></extra>",
    ))
    layout(fig, title=title, caption=caption, height=max(360, 120 + 18 * len(matrix)))
    fig.update_yaxes(autorange="reversed")
    return fig


def box_by_group_figure(values: pd.Series, groups: pd.Series, *, order: list[str], title: str, caption: str,
                        y_label: str) -> go.Figure:
    """One box per group (no individual points: stays light at any cohort size)."""
    fig = go.Figure()
    labels = groups.astype(object).to_numpy()
    for i, g in enumerate(order):
        sub = values.to_numpy()[labels == g]
        fig.add_trace(go.Box(y=sub, name=f"{g} ({len(sub):,})", marker_color=group_colour(i), boxpoints=False))
    layout(fig, title=title, caption=caption, height=440, showlegend=False)
    fig.update_yaxes(title_text=y_label)
    return fig
