"""Figures of a sweep or an optimiser run: a heatmap of a metric over two swept parameters, and the Pareto front of
cost against SLO violation (both minimised)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from twin.report import style

COST = "cost.total_usd.mean"
VIOLATION = "slo.violation_minutes.mean"


def pivot(points: pd.DataFrame, *, x: str, y: str, metric: str) -> pd.DataFrame:
    """`metric` with `y` down and `x` across; points that share (x, y) and differ in other parameters are
    averaged."""
    return points.pivot_table(index=y, columns=x, values=metric, aggfunc="mean").sort_index().sort_index(axis=1)


def heatmap(points: pd.DataFrame, *, x: str, y: str, metric: str) -> go.Figure:
    table = pivot(points, x=x, y=y, metric=metric)
    fig = go.Figure(go.Heatmap(
        z=table.to_numpy(), x=[str(v) for v in table.columns], y=[str(v) for v in table.index],
        colorscale="Viridis", colorbar={"title": {"text": metric}}, texttemplate="%{z:.3g}",
        hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{metric}=%{{z:.4g}}<extra></extra>",
    ))
    fig = style.finish(fig, title=f"{metric} over {x} × {y}", x=x, y=y, height=420)
    fig.update_xaxes(type="category")
    fig.update_yaxes(type="category")
    return fig


def pareto_mask(frame: pd.DataFrame, *, x: str = COST, y: str = VIOLATION) -> np.ndarray:
    """True for the rows no other row dominates (no worse in both `x` and `y`, better in one); rows with a
    missing value are never on the front."""
    values = frame[[x, y]].to_numpy(dtype=float)
    valid = ~np.isnan(values).any(axis=1)
    mask = np.zeros(len(values), dtype=bool)
    for i in np.flatnonzero(valid):
        others = values[valid]
        dominated = ((others <= values[i]).all(axis=1) & (others < values[i]).any(axis=1)).any()
        mask[i] = not dominated
    return mask


def pareto(frame: pd.DataFrame, parameters: list[str], *, x: str = COST, y: str = VIOLATION) -> go.Figure:
    """Every candidate, with the non-dominated ones joined as the front (hover shows the parameters)."""
    mask = pareto_mask(frame, x=x, y=y)
    text = frame[parameters].astype(str).apply(lambda r: "<br>".join(f"{k}={v}" for k, v in r.items()), axis=1) \
        if parameters else pd.Series([""] * len(frame), index=frame.index)
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=frame.loc[~mask, x], y=frame.loc[~mask, y], mode="markers", name="dominated",
                             text=text[~mask], marker={"color": "#b0b0b0", "size": 9},
                             hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}<extra></extra>"))
    front = frame.loc[mask].sort_values(x)
    fig.add_trace(go.Scatter(x=front[x], y=front[y], mode="lines+markers", name="Pareto front",
                             text=text[front.index], line={"color": style.SLO_COLOR, "shape": "hv"},
                             marker={"size": 11}, hovertemplate="%{text}<br>%{x:.4g}, %{y:.4g}<extra></extra>"))
    fig = style.finish(fig, title="Cost against SLO violation (lower left is better)", x=f"{x} (USD)",
                       y=f"{y} (min)", height=420)
    fig.update_layout(hovermode="closest")
    return fig


def line_ci(points: pd.DataFrame, *, x: str, metric: str) -> go.Figure:
    """`metric` (X.mean) along one parameter with its confidence interval (X.ci_low, X.ci_high) as a band."""
    name = metric.removesuffix(".mean")
    ordered = points.sort_values(x)
    fig = go.Figure()
    if f"{name}.ci_low" in points and f"{name}.ci_high" in points:
        fig.add_trace(go.Scatter(x=list(ordered[x]) + list(ordered[x])[::-1],
                                 y=list(ordered[f"{name}.ci_high"]) + list(ordered[f"{name}.ci_low"])[::-1],
                                 fill="toself", fillcolor=style.translucent(style.color(0)), line={"width": 0},
                                 name="95 % CI", hoverinfo="skip"))
    fig.add_trace(go.Scatter(x=ordered[x], y=ordered[metric], mode="lines+markers", name=metric,
                             line={"color": style.color(0)}))
    return style.finish(fig, title=f"{metric} along {x}", x=x, y=metric, height=380)
