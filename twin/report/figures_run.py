"""Figures of one run, pure functions of its DataFrames: latency against the SLO, throughput, replicas with scaling
events, memory against capacity, utilisation and cost."""
from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin.report import style

TIME = "simulated time (s)"
# events worth a marker on the replicas chart, and the series they sit on
EVENT_SERIES = {
    "deployment_scaled": "pods", "pod_oom_killed": "pods", "pod_unschedulable": "pods", "pod_preempted": "pods",
    "nodes_requested": "nodes", "node_added": "nodes", "node_removed": "nodes",
    "workers_scaled": "workers", "worker_gpu_oom": "workers", "worker_died": "workers",
}
LOG_TICKS = [m * 10.0 ** e for e in range(-1, 6) for m in (1, 2, 5)]  # 1-2-5 per decade, labelled in full
EVENT_SYMBOLS = ("triangle-up", "x", "diamond", "star", "circle-open", "square", "cross", "hexagon", "bowtie",
                 "triangle-down")


def latency(ts: pd.DataFrame, slo_p95_ms: float) -> go.Figure:
    """Latency percentiles per second, with the SLO's p95 limit as a dashed line."""
    fig = go.Figure()
    for i, (column, name) in enumerate((("latency_p50_ms", "p50"), ("latency_p95_ms", "p95"),
                                        ("latency_p99_ms", "p99"))):
        fig.add_trace(go.Scatter(x=ts["time_s"], y=ts[column], name=name, mode="lines",
                                 line={"color": style.color(i), "width": 1.6}))
    fig.add_trace(go.Scatter(x=[ts["time_s"].min(), ts["time_s"].max()], y=[slo_p95_ms, slo_p95_ms],
                             name=f"SLO p95 ≤ {slo_p95_ms:g} ms", mode="lines",
                             line={"color": style.SLO_COLOR, "dash": "dash", "width": 2}))
    log = _far_below(ts["latency_p95_ms"], slo_p95_ms)
    style.finish(fig, title="Latency percentiles per second", x=TIME,
                 y="latency (ms, log scale)" if log else "latency (ms)")
    if log:
        fig.update_yaxes(type="log", tickvals=LOG_TICKS, ticktext=[f"{v:g}" for v in LOG_TICKS])
    else:
        top = np.nanmax([ts[["latency_p50_ms", "latency_p95_ms", "latency_p99_ms"]].max().max(), slo_p95_ms])
        fig.update_yaxes(range=[0, 1.08 * top])
    return fig


def _far_below(p95: pd.Series, slo_ms: float) -> bool:
    """Latency typically under a quarter of the SLO: on a linear axis up to the SLO line it would be a flat line
    along the bottom, so the axis becomes logarithmic (both stay in view, the data keeps its shape)."""
    typical = p95[p95 > 0].median()
    return bool(typical == typical and typical * 4 < slo_ms)


def throughput(ts: pd.DataFrame) -> go.Figure:
    """Successful responses and errors per second."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=ts["time_s"], y=ts["ok"], name="successful", mode="lines",
                             line={"color": style.color(2)}))
    fig.add_trace(go.Scatter(x=ts["time_s"], y=ts["errors"], name="errors", mode="lines",
                             line={"color": style.SLO_COLOR}))
    return style.finish(fig, title="Throughput", x=TIME, y="responses per second (req/s)")


def scaling(ts: pd.DataFrame, events: list[dict]) -> go.Figure:
    """Pods, ready pods, workers and nodes over time, with a marker per scaling event (hover for details)."""
    fig = go.Figure()
    for i, (column, name) in enumerate((("pods", "pods"), ("ready_pods", "ready pods"), ("workers", "workers"),
                                        ("nodes", "nodes"))):
        fig.add_trace(go.Scatter(x=ts["time_s"], y=ts[column], name=name, mode="lines", line_shape="hv",
                                 line={"color": style.color(i)}))
    for i, (kind, marks) in enumerate(event_marks(ts, events).groupby("event", sort=False)):
        fig.add_trace(go.Scatter(x=marks["time_s"], y=marks["y"], name=kind.replace("_", " "), mode="markers",
                                 text=marks["detail"], hovertemplate="%{text}<extra></extra>",
                                 marker={"symbol": EVENT_SYMBOLS[i % len(EVENT_SYMBOLS)], "size": 10,
                                         "color": "#333333"}))
    return style.finish(fig, title="Replicas, workers and nodes, with scaling events", x=TIME, y="count")


def event_marks(ts: pd.DataFrame, events: list[dict]) -> pd.DataFrame:
    """Scaling events after the start, each at the value of its series in the second it happened."""
    rows = [e for e in events if e["event"] in EVENT_SERIES and e["time_s"] > 0]
    if not rows or ts.empty:
        return pd.DataFrame(columns=["time_s", "event", "y", "detail"])
    times = ts["time_s"].to_numpy()
    index = np.minimum(np.searchsorted(times, [e["time_s"] for e in rows]), len(times) - 1)
    return pd.DataFrame({
        "time_s": [e["time_s"] for e in rows],
        "event": [e["event"] for e in rows],
        "y": [ts[EVENT_SERIES[e["event"]]].iloc[i] for e, i in zip(rows, index)],
        "detail": [_detail(e) for e in rows],
    })


def memory(ts: pd.DataFrame, capacity: pd.DataFrame) -> go.Figure:
    """GPU memory and host memory in use against the capacity of the nodes alive (GiB)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("GPU memory", "Host memory"), horizontal_spacing=0.1)
    pairs = (("gpu_memory_mib", "gpu_memory_capacity_mib"), ("host_memory_mib", "host_memory_capacity_mib"))
    for col, (used, cap) in enumerate(pairs, start=1):
        fig.add_trace(go.Scatter(x=ts["time_s"], y=ts[used] / 1024, name="in use", mode="lines",
                                 line={"color": style.color(0)}, fill="tozeroy", showlegend=col == 1,
                                 legendgroup="used"), row=1, col=col)
        fig.add_trace(go.Scatter(x=capacity["time_s"], y=capacity[cap] / 1024, name="capacity", mode="lines",
                                 line={"color": style.SLO_COLOR, "dash": "dash"}, line_shape="hv",
                                 showlegend=col == 1, legendgroup="capacity"), row=1, col=col)
        fig.update_xaxes(title_text=TIME, row=1, col=col)
        fig.update_yaxes(title_text="memory (GiB)", rangemode="tozero", row=1, col=col)
    style.finish(fig, title="Memory against capacity", x=TIME, y="memory (GiB)", panels=True)
    return fig


def utilisation(ts: pd.DataFrame) -> go.Figure:
    fig = go.Figure()
    for i, (column, name) in enumerate((("cpu_util", "CPU"), ("gpu_util", "GPU"))):
        fig.add_trace(go.Scatter(x=ts["time_s"], y=100 * ts[column], name=name, mode="lines",
                                 line={"color": style.color(i + 4)}))
    fig = style.finish(fig, title="Utilisation (mean over nodes)", x=TIME, y="busy (%)")
    fig.update_yaxes(range=[0, 105])
    return fig


def cost(capacity: pd.DataFrame) -> go.Figure:
    """Cost accrued by the nodes alive, and the hourly rate they cost at."""
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Scatter(x=capacity["time_s"], y=capacity["cost_usd"], name="accrued (USD)", mode="lines",
                             line={"color": style.color(3)}, fill="tozeroy"), secondary_y=False)
    fig.add_trace(go.Scatter(x=capacity["time_s"], y=capacity["usd_per_hour"], name="rate (USD/h)", mode="lines",
                             line={"color": style.color(7), "dash": "dot"}, line_shape="hv"), secondary_y=True)
    style.finish(fig, title="Node cost", x=TIME, y="accrued cost (USD)")
    fig.update_yaxes(title_text="rate (USD/h)", secondary_y=True, rangemode="tozero", showgrid=False)
    return fig


def _detail(event: dict) -> str:
    fields = ", ".join(f"{k}={v}" for k, v in event.items() if k not in ("time_s", "event"))
    return f"{event['time_s']:.1f} s · {event['event'].replace('_', ' ')}" + (f" ({fields})" if fields else "")
