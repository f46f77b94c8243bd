"""Plotly figure builders: pure functions, data in, figure out (tested without a browser)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go

BAND = "rgba(31, 119, 180, 0.18)"
LINE = "#1f77b4"


def km_figure(km: pd.DataFrame, *, title: str, caption: str, time_unit: str = "months") -> go.Figure:
    """Kaplan-Meier step curve with its confidence band; ``caption`` names cohort, endpoint, n and events."""
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
            customdata=km["at_risk"], hovertemplate="%{x:.0f} " + time_unit + ": %{y:.1%} (at risk %{customdata})<extra></extra>",
        )
    )
    fig.update_layout(
        title={"text": f"{title}<br><sup>{caption}</sup>"},
        xaxis_title=f"Time ({time_unit})",
        yaxis_title="Survival probability",
        yaxis_range=[0, 1.02],
        yaxis_tickformat=".0%",
        template="plotly_white",
        margin={"t": 80, "l": 60, "r": 20, "b": 50},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def bar_figure(table: pd.DataFrame, *, x: str, y: str, title: str, caption: str) -> go.Figure:
    """A simple labelled bar chart (counts per category)."""
    fig = go.Figure(go.Bar(x=table[x], y=table[y], text=table[y], textposition="outside", marker_color=LINE))
    fig.update_layout(
        title={"text": f"{title}<br><sup>{caption}</sup>"},
        template="plotly_white",
        margin={"t": 80, "l": 60, "r": 20, "b": 80},
        yaxis_title=y,
    )
    return fig
