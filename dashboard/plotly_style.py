"""What the dashboard's plotly figures share: the template, translucent colours, the research charts' group
palette, caption line and layout."""
from __future__ import annotations

import plotly.graph_objects as go
import plotly.io as pio

from dashboard.i18n import tr

TEMPLATE = "plotly_white"
# Every figure of this process starts from it: plotly copies the default template into a new figure cheaply,
# where setting it on each figure validates the whole template again (~8 ms a figure; a Patient page has six).
pio.templates.default = TEMPLATE
# Colour-blind-safe qualitative palette (Okabe-Ito, yellow last: too light for text on white), then Tol's
# dark colours; cycled for more groups.
PALETTE = ("#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000", "#882255", "#117733",
           "#332288", "#999933", "#F0E442")
MISSING_COLOUR = "#cccccc"


def rgba(hex_colour: str, alpha: float) -> str:
    """'#1f77b4', 0.2 → 'rgba(31, 119, 180, 0.2)'."""
    h = hex_colour.lstrip("#")
    r, g, b = (int(h[i:i + 2], 16) for i in (0, 2, 4))
    return f"rgba({r}, {g}, {b}, {alpha})"


def group_colour(index: int) -> str:
    """The ``index``-th group's colour in a research chart (the palette, cycled)."""
    return PALETTE[index % len(PALETTE)]


def chart_caption(cohort: str, *, endpoint: str | None, n: int, events: int | None = None, extra: str = "") -> str:
    """The line every research chart carries: cohort · endpoint · n · events (· what else it needs to say)."""
    parts = [cohort, endpoint if endpoint else tr("no survival endpoint"), f"n={n:,}"]
    if events is not None:
        parts.append(tr("events={count}", count=f"{events:,}"))
    if extra:
        parts.append(extra)
    return " · ".join(parts)


def layout(fig: go.Figure, *, title: str, caption: str, **more) -> go.Figure:
    """A research chart's layout: title with its caption line, margins (and ``more``)."""
    settings = {"margin": {"t": 90, "l": 60, "r": 20, "b": 50}, **more}
    fig.update_layout(title={"text": f"{title}<br><sup>{caption}</sup>"}, **settings)
    return fig
