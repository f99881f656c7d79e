"""One look for every figure: white template, titles with units, legends above the plot, a fixed palette."""
from __future__ import annotations

import plotly.graph_objects as go

TEMPLATE = "plotly_white"
PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22",
           "#17becf")
SLO_COLOR = "#d62728"
HEIGHT = 340


def finish(fig: go.Figure, *, title: str, x: str, y: str, height: int = HEIGHT, panels: bool = False,
           legend_below: bool = False) -> go.Figure:
    """Title, axis titles (with units), legend and margins; `panels` (subplots with titles) lifts the legend above
    the panel titles; `legend_below` puts it under the x axis, for narrow figures with a two-line title."""
    legend = {"orientation": "h", "yanchor": "bottom", "y": 1.08 if panels else 1.0, "xanchor": "right", "x": 1.0}
    if legend_below:
        legend = {"orientation": "h", "yanchor": "top", "y": -0.3, "xanchor": "left", "x": 0.0}
    fig.update_layout(
        template=TEMPLATE, title={"text": title, "x": 0.01, "xanchor": "left"}, height=height,
        margin={"l": 60, "r": 20, "t": 95 if panels else 70, "b": 110 if legend_below else 50},
        hovermode="x unified", legend=legend, xaxis_title=x, yaxis_title=y,
    )
    return fig


def color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def translucent(hex_color: str, alpha: float = 0.2) -> str:
    """`#rrggbb` as an rgba fill."""
    red, green, blue = (int(hex_color[i:i + 2], 16) for i in (1, 3, 5))
    return f"rgba({red},{green},{blue},{alpha})"
