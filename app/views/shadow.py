"""The Shadow tab: a shadow-mode report (shadow.csv from the live adapter), the twin's predictions of throughput and
latency against what the cluster did over the same interval."""
from __future__ import annotations

import streamlit as st

from app import figures_fidelity, tables, uploads
from app.views import common


def render() -> None:
    left, right = st.columns(2)
    path = left.text_input("shadow.csv", key="shadow_path", value=st.query_params.get("shadow", ""),
                           placeholder="out/shadow/shadow.csv",
                           help="written by the live adapter in shadow mode")
    upload = right.file_uploader("…or upload it", type=["csv"], key="shadow_upload")
    if upload is not None:
        path = str(uploads.store(uploads.Upload(upload.name, upload.getvalue()), uploads.default_folder()))
    if not path:
        st.info("Give the path of a shadow report, or upload one.")
        return
    report = common.read(tables.read_shadow, path)
    if report is None:
        return
    if report.empty:
        st.warning("The report has no scored predictions yet.")
        return
    report = _one_series(report)
    throughput_error = 100 * (report["predicted_throughput_rps"] / report["observed_throughput_rps"] - 1)
    common.metric_row([("Predictions scored", len(report)), ("Horizon", f"{report['horizon_s'].median():g} s"),
                       ("Latency error (mean |%|)", f"{report['latency_error_pct'].abs().mean():.1f} %"),
                       ("Throughput error (mean |%|)", f"{throughput_error.abs().mean():.1f} %")])
    _next_moves(report)
    common.chart(figures_fidelity.shadow(report), key="shadow")
    with st.expander("Table"):
        st.dataframe(report, hide_index=True)


def _one_series(report):
    """One forecast at one horizon, the shadow's own forecast first: each prediction is a row per forecast, and
    horizons differ in what they score."""
    for column, label in (("forecast", "Forecast"), ("horizon_s", "Horizon (s)")):
        if column in report.columns and report[column].nunique() > 1:
            choice = st.selectbox(label, list(dict.fromkeys(report[column])), key=f"shadow_{column}")
            report = report[report[column] == choice]
    return report


def _next_moves(report) -> None:
    """What the cluster's own autoscalers and the policy do next, as of the latest prediction."""
    latest = report.iloc[-1]
    moves = [(label, latest[column]) for column, label in (("cluster_next", "The cluster's autoscalers next"),
                                                          ("policy_next", "The policy decided (not enacted)"))
             if column in report.columns and isinstance(latest[column], str) and latest[column]]
    if moves:
        st.caption("  ·  ".join(f"{label}: {value}" for label, value in moves))
