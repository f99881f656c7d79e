"""Figures comparing configurations run with several seeds: the mean per second with a min–max band across seeds,
and summary metrics as means with 95 % confidence intervals (Student's t over the seeds)."""
from __future__ import annotations

import math
import statistics
from typing import Mapping, Sequence

import pandas as pd
import plotly.graph_objects as go
from scipy import stats

from twin.report import style

TIME = "simulated time (s)"


def band(frames: Sequence[pd.DataFrame], column: str) -> pd.DataFrame:
    """Per second across runs: mean, low (min) and high (max) of `column`."""
    stacked = pd.concat([f[["time_s", column]] for f in frames], ignore_index=True)
    grouped = stacked.groupby("time_s")[column]
    return pd.DataFrame({"mean": grouped.mean(), "low": grouped.min(), "high": grouped.max()}).reset_index()


def bands(runs: Mapping[str, Sequence[pd.DataFrame]], column: str, *, title: str, y: str) -> go.Figure:
    """One mean line per configuration inside its min–max band across seeds."""
    fig = go.Figure()
    for i, (label, frames) in enumerate(runs.items()):
        b, colour = band(frames, column), style.color(i)
        fig.add_trace(go.Scatter(x=b["time_s"], y=b["high"], mode="lines", line={"width": 0}, showlegend=False,
                                 legendgroup=label, hoverinfo="skip", name=f"{label} max"))
        fig.add_trace(go.Scatter(x=b["time_s"], y=b["low"], mode="lines", line={"width": 0}, fill="tonexty",
                                 fillcolor=style.translucent(colour), showlegend=False, legendgroup=label,
                                 hoverinfo="skip", name=f"{label} min"))
        fig.add_trace(go.Scatter(x=b["time_s"], y=b["mean"], mode="lines", line={"color": colour, "width": 2},
                                 legendgroup=label, name=f"{label} ({len(frames)} seed{'s' if len(frames) != 1 else ''})"))
    return style.finish(fig, title=f"{title}<br><sup>mean, and min–max across seeds</sup>", x=TIME, y=y, height=430,
                        legend_below=True)


def mean_ci(values: Sequence[float], level: float = 0.95) -> tuple[float, float, float]:
    """Mean and its `level` confidence interval (Student's t); a single value has a zero-width interval."""
    clean = [v for v in values if v is not None and not math.isnan(v)]
    if not clean:
        return math.nan, math.nan, math.nan
    mean = statistics.fmean(clean)
    if len(clean) < 2:
        return mean, mean, mean
    half = stats.t.ppf(0.5 + level / 2, len(clean) - 1) * statistics.stdev(clean) / math.sqrt(len(clean))
    return mean, mean - half, mean + half


def metric_bars(values: Mapping[str, Sequence[float]], *, title: str, y: str) -> go.Figure:
    """A bar per configuration at the mean over seeds, with its 95 % confidence interval as error bars."""
    labels = list(values)
    cis = [mean_ci(values[label]) for label in labels]
    fig = go.Figure(go.Bar(
        x=labels, y=[c[0] for c in cis], marker_color=[style.color(i) for i in range(len(labels))],
        error_y={"type": "data", "symmetric": False, "array": [c[2] - c[0] for c in cis],
                 "arrayminus": [c[0] - c[1] for c in cis], "thickness": 1.5},
        text=[f"{c[0]:.3g}" for c in cis], textposition="inside", insidetextanchor="start", name=title,
    ))
    fig = style.finish(fig, title=f"{title} (mean, 95 % CI)", x="configuration", y=y, height=300)
    fig.update_layout(hovermode="closest", showlegend=False)
    if not any(c[2] > 0 for c in cis):  # all zero (no SLO violated): an axis from 0, not one around 0
        fig.update_yaxes(range=[0, 1])
    return fig


def summary_value(summary: dict, dotted: str) -> float:
    """`latency_ms.p95` → summary["latency_ms"]["p95"] (None, meaning no data, as NaN)."""
    value = summary
    for key in dotted.split("."):
        value = value[key]
    return math.nan if value is None else float(value)
