"""Figures of a sweep or an optimiser run: a heatmap of a metric over two swept parameters, and the Pareto front of
cost against SLO violation (both minimised)."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from twin.report import style

COST = "cost.total_usd.mean"
VIOLATION = "slo.violation_minutes.mean"
# what a sweep is usually asked about, in the order a report shows it
KEY_METRICS = ("throughput_rps.mean", "latency_ms.p95.mean", VIOLATION, COST, "error_ratio.mean",
               "cost.usd_per_million.mean", "diagnostics.oom_kills.count.mean")
_UNITS = (("usd_per_million", "USD per million"), ("_usd", "USD"), ("_rps", "req/s"), ("_ms", "ms"),
          ("_minutes", "min"), ("_mib", "MiB"), ("_util", "fraction busy"), ("ratio", "fraction"),
          ("node_hours", "h"), ("_s", "s"))


def unit(metric: str) -> str:
    """The unit a metric column is in, read from its name (`latency_ms.p95.mean` → ms); "" when it is a count."""
    parts = metric.removesuffix(".mean").removesuffix(".ci_low").removesuffix(".ci_high").split(".")
    return next((u for marker, u in _UNITS if any(part.endswith(marker) for part in parts)), "")


def with_unit(metric: str) -> str:
    """`latency_ms.p95.mean` → `latency_ms.p95 (ms)`: the column without its statistic, and its unit."""
    name, found = metric.removesuffix(".mean"), unit(metric)
    return f"{name} ({found})" if found else name


def short(path: str) -> str:
    """A swept field's path cut to its last two parts, so an axis title is never clipped (hover has it all)."""
    return ".".join(path.split(".")[-2:])


def varying(points: pd.DataFrame, metrics: list[str]) -> list[str]:
    """`metrics` with those that differ between points first (key metrics before others), constant ones last."""
    rank = {m: i for i, m in enumerate(KEY_METRICS)}
    return sorted(metrics, key=lambda m: (not _differs(points, m), rank.get(m, len(rank))))


def _differs(points: pd.DataFrame, metric: str) -> bool:
    return points[metric].dropna().nunique() > 1


def overview(points: pd.DataFrame, fields: list[str]) -> list[go.Figure]:
    """A heatmap over the first two swept fields (a line with its band for one) of every key metric that varies."""
    shown = [m for m in KEY_METRICS if m in points and _differs(points, m)]
    swept = [f for f in fields if _differs(points, f)] or list(fields)
    if len(swept) == 1:
        return [line_ci(points, x=swept[0], metric=m) for m in shown]
    return [heatmap(points, x=swept[0], y=swept[1], metric=m) for m in shown] if swept else []


def pivot(points: pd.DataFrame, *, x: str, y: str, metric: str) -> pd.DataFrame:
    """`metric` with `y` down and `x` across; points that share (x, y) and differ in other parameters are
    averaged."""
    return points.pivot_table(index=y, columns=x, values=metric, aggfunc="mean").sort_index().sort_index(axis=1)


def heatmap(points: pd.DataFrame, *, x: str, y: str, metric: str) -> go.Figure:
    table = pivot(points, x=x, y=y, metric=metric)
    label = with_unit(metric)
    fig = go.Figure(go.Heatmap(
        z=table.to_numpy(), x=[str(v) for v in table.columns], y=[str(v) for v in table.index],
        colorscale="Viridis", colorbar={"title": {"text": unit(metric) or "count", "side": "right"}},
        texttemplate="%{z:.3g}", hovertemplate=f"{x}=%{{x}}<br>{y}=%{{y}}<br>{label}=%{{z:.4g}}<extra></extra>",
    ))
    fig = style.finish(fig, title=f"{label}<br><sup>mean over replications, by {short(x)} × {short(y)}</sup>",
                       x=short(x), y=short(y), height=420)
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
    fig = style.finish(fig, title="Cost against SLO violation (lower left is better)", x=with_unit(x),
                       y=with_unit(y), height=420)
    fig.update_layout(hovermode="closest")
    fig.update_xaxes(rangemode="tozero")  # cost and minutes are never negative
    fig.update_yaxes(rangemode="tozero")
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
    fig.add_trace(go.Scatter(x=ordered[x], y=ordered[metric], mode="lines+markers", name="mean",
                             line={"color": style.color(0)}))
    return style.finish(fig, title=f"{with_unit(metric)} along {short(x)}", x=short(x), y=with_unit(metric),
                        height=380)
