"""How well the twin predicts reality: calibration runs (predicted against measured), a JMeter result beside the
twin's run for the same users, and a shadow report (predictions scored against the live cluster)."""
from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from twin.report import style


def parity(table: pd.DataFrame, *, kind: str) -> go.Figure:
    """Predicted against measured per run (throughput and mean latency), on the y = x diagonal when exact; the
    shaded wedge is ±10 % for throughput and ±15 % for latency (the calibration targets); a run's bar is its 90 %
    prediction interval where the table has one (rps_low/high, ms_low/high)."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Throughput (req/s)", "Mean latency (ms)"),
                        horizontal_spacing=0.1)
    pairs = (("measured_rps", "predicted_rps", 0.10, "rps"), ("measured_ms", "predicted_ms", 0.15, "ms"))
    for col, (measured, predicted, tolerance, unit) in enumerate(pairs, start=1):
        top = 1.1 * float(max(table[measured].max(), table[predicted].max()))
        fig.add_trace(go.Scatter(x=[0, top, top, 0], y=[0, top * (1 + tolerance), top * (1 - tolerance), 0],
                                 mode="lines", fill="toself", fillcolor=style.translucent(style.color(2), 0.15),
                                 line={"width": 0}, name=f"±{tolerance:.0%}", hoverinfo="skip",
                                 showlegend=False), row=1, col=col)
        fig.add_trace(go.Scatter(x=[0, top], y=[0, top], mode="lines", line={"color": "#888", "dash": "dash"},
                                 name="predicted = measured", showlegend=col == 1, hoverinfo="skip"),
                      row=1, col=col)
        fig.add_trace(go.Scatter(x=table[measured], y=table[predicted], mode="markers", name="run",
                                 text=table["id"], marker={"size": 10, "color": style.color(0)},
                                 error_y=_interval(table, predicted, unit),
                                 showlegend=col == 1, hovertemplate="%{text}<br>measured %{x:.4g}<br>"
                                                                    "predicted %{y:.4g}<extra></extra>"),
                      row=1, col=col)
        fig.update_xaxes(title_text="measured", row=1, col=col, rangemode="tozero")
        fig.update_yaxes(title_text="predicted", row=1, col=col, rangemode="tozero")
    style.finish(fig, title=f"Calibration fidelity ({kind}): predicted against measured", x="measured", y="predicted",
                 height=420, panels=True)
    fig.update_layout(hovermode="closest")
    return fig


def _interval(table: pd.DataFrame, predicted: str, unit: str) -> dict | None:
    low, high = f"{unit}_low", f"{unit}_high"
    if low not in table or table[low].isna().all():
        return None
    return {"type": "data", "symmetric": False, "array": list(table[high] - table[predicted]),
            "arrayminus": list(table[predicted] - table[low]), "color": style.color(0), "thickness": 1}


def errors(table: pd.DataFrame, *, kind: str) -> go.Figure:
    """Relative error of each run's prediction (%), throughput and latency side by side."""
    fig = go.Figure()
    for i, (column, name) in enumerate((("throughput_error_pct", "throughput"), ("latency_error_pct", "latency"))):
        fig.add_trace(go.Bar(x=table["id"], y=table[column], name=name, marker_color=style.color(i)))
    fig = style.finish(fig, title=f"Prediction error per run ({kind})", x="run", y="predicted / measured − 1 (%)",
                       height=380)
    fig.update_layout(barmode="group", hovermode="x")
    return fig


def measured_vs_twin(measured: dict[str, float], twin: dict[str, float]) -> go.Figure:
    """Measured (JMeter) and predicted (twin) numbers side by side, one panel per unit."""
    fig = make_subplots(rows=1, cols=2, subplot_titles=("Throughput (req/s)", "Latency (ms)"))
    panels = ((1, ("throughput_rps",)), (2, ("mean_ms", "p95_ms")))
    for i, (name, values) in enumerate((("measured (JMeter)", measured), ("twin", twin))):
        for col, keys in panels:
            fig.add_trace(go.Bar(x=list(keys), y=[values[k] for k in keys], name=name, marker_color=style.color(i),
                                 showlegend=col == 1, legendgroup=name, text=[f"{values[k]:.3g}" for k in keys],
                                 textposition="outside"), row=1, col=col)
    style.finish(fig, title="Your JMeter result beside the twin, same users", x="", y="", height=360, panels=True)
    fig.update_layout(barmode="group", hovermode="closest")
    return fig


def shadow(report: pd.DataFrame) -> go.Figure:
    """Predicted against observed throughput and latency over time, and the latency error."""
    fig = make_subplots(rows=3, cols=1, shared_xaxes=True, vertical_spacing=0.07,
                        subplot_titles=("Throughput (req/s)", "Mean latency (ms)", "Latency error (%)"))
    for row, quantity in ((1, "throughput_rps"), (2, "latency_ms")):
        for i, kind in enumerate(("predicted", "observed")):
            fig.add_trace(go.Scatter(x=report["time_s"], y=report[f"{kind}_{quantity}"], name=kind,
                                     mode="lines+markers", line={"color": style.color(i), "dash": "dash" if i == 0
                                                                 else "solid"},
                                     showlegend=row == 1, legendgroup=kind), row=row, col=1)
    fig.add_trace(go.Bar(x=report["time_s"], y=report["latency_error_pct"], name="latency error",
                         marker_color=style.color(3), showlegend=False), row=3, col=1)
    style.finish(fig, title="Shadow mode: the twin's predictions scored against the cluster", x="", y="",
                 height=640, panels=True)
    fig.update_xaxes(title_text="time since the shadow started (s)", row=3, col=1)
    return fig


def per_second(measured: pd.DataFrame, twin: pd.DataFrame) -> go.Figure:
    """Successful responses per second, measured and simulated, on one time axis from the first sample."""
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=measured["time_s"], y=measured["ok"], name="measured (JMeter)", mode="lines",
                             line={"color": style.color(0)}))
    fig.add_trace(go.Scatter(x=twin["time_s"], y=twin["ok"], name="twin", mode="lines",
                             line={"color": style.color(1)}))
    return style.finish(fig, title="Throughput per second, measured and simulated", x="time (s)",
                        y="responses per second (req/s)")
