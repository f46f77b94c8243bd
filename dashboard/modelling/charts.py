"""The Model lab's plotly figures: calibration by risk group and metrics with their intervals, side by side."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

from dashboard.i18n import horizon_label, tr
from dashboard.plotly_style import group_colour, layout


def calibration_figure(tables: dict[str, pd.DataFrame], *, horizon: float, title: str, caption: str) -> go.Figure:
    """Predicted vs Kaplan-Meier observed survival at a horizon by risk group, one trace per model."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=[0, 1], y=[0, 1], mode="lines", line={"color": "#999", "dash": "dash"},
                             name="perfect calibration", hoverinfo="skip"))
    for i, (label, table) in enumerate(tables.items()):
        fig.add_trace(go.Scatter(
            x=table["predicted"], y=table["observed"], mode="markers+lines", name=label,
            marker={"size": 8, "color": group_colour(i)}, line={"width": 1, "color": group_colour(i)},
            error_y={"type": "data", "symmetric": False, "array": table["observed_hi"] - table["observed"],
                     "arrayminus": table["observed"] - table["observed_lo"], "thickness": 1},
            customdata=table[["group", "n"]].to_numpy(),
            hovertemplate="risk group %{customdata[0]} (n=%{customdata[1]})<br>predicted %{x:.1%}<br>"
                          "observed %{y:.1%}<extra>" + label + "</extra>",
        ))
    layout(fig, title=title, caption=caption, height=520, legend={"orientation": "h", "y": -0.2})
    fig.update_xaxes(title_text=tr("Predicted survival at {when}", when=horizon_label(horizon)), range=[0, 1.02],
                     tickformat=".0%")
    fig.update_yaxes(title_text=tr("Observed (Kaplan-Meier) at {when}", when=horizon_label(horizon)), range=[0, 1.02],
                     tickformat=".0%")
    return fig


def interval_figure(frame: pd.DataFrame, *, x: str, y: str, series: str, title: str, caption: str,
                    x_label: str, horizontal: bool = False, value_range: tuple[float, float] | None = None,
                    reference: float | None = None) -> go.Figure:
    """Points with interval bars (columns ``value``, ``lo``, ``hi``), one trace per ``series`` value, side by side.

    Vertical: categories on ``x``; horizontal (a forest plot): categories on ``y``.
    """
    fig = go.Figure()
    for i, (name, sub) in enumerate(frame.groupby(series, sort=False)):
        err = {"type": "data", "symmetric": False, "array": (sub["hi"] - sub["value"]).fillna(0),
               "arrayminus": (sub["value"] - sub["lo"]).fillna(0), "thickness": 1.2}
        common = {"mode": "markers", "name": str(name), "marker": {"size": 9, "color": group_colour(i)}}
        if horizontal:
            fig.add_trace(go.Scatter(x=sub["value"], y=sub[y], error_x=err, **common))
        else:
            fig.add_trace(go.Scatter(x=sub[x], y=sub["value"], error_y=err, **common))
    layout(fig, title=title, caption=caption, height=440 if not horizontal else max(360, 140 + 26 * frame[y].nunique()),
            scattermode="group", legend={"orientation": "h", "y": -0.2})
    if horizontal:
        fig.update_xaxes(title_text=x_label, range=value_range)
        fig.update_yaxes(autorange="reversed")
        if reference is not None:
            fig.add_vline(x=reference, line={"color": "#999", "dash": "dash", "width": 1})
    else:
        fig.update_yaxes(title_text=x_label, range=value_range)
        if reference is not None:
            fig.add_hline(y=reference, line={"color": "#999", "dash": "dash", "width": 1})
    return fig
