"""The Sweep tab: browse a sweep's output folder (points.csv, runs.csv) or an optimiser's (candidates.csv,
pareto.csv): a heatmap of a metric over two swept parameters, a line with its confidence band for one, and the
Pareto front of cost against SLO violation."""
from __future__ import annotations

import streamlit as st

from app import tables
from app.views import common
from twin.report import figures_sweep


def render() -> None:
    folder = st.text_input("Sweep or optimiser folder", key="sweep_folder", placeholder="results/sweep",
                           help="A folder with points.csv (and runs.csv) from a sweep, or candidates.csv and "
                                "pareto.csv from an optimiser; relative to where the dashboard was started")
    if not folder:
        st.info("Give the path of a sweep's output folder to browse it.")
        return
    sweep = common.read(tables.read_sweep, folder)
    if sweep is None:
        return
    parameters, metrics = sweep.parameters, sweep.metrics
    table = sweep.points if sweep.points is not None else sweep.candidates
    st.caption(f"{len(table)} points · parameters: {', '.join(parameters) or 'none'} · "
               f"{len(sweep.runs) if sweep.runs is not None else 'no'} runs")
    if metrics and parameters:
        _heatmap(table, parameters, metrics)
    if {figures_sweep.COST, figures_sweep.VIOLATION} <= set(sweep.candidates.columns):
        common.chart(figures_sweep.pareto(sweep.candidates, tables.parameters(sweep.candidates)), key="sweep-pareto")
    with st.expander("Tables"):
        st.dataframe(table)
        if sweep.runs is not None:
            failed = sweep.runs[sweep.runs["status"] != "ok"] if "status" in sweep.runs else sweep.runs.iloc[:0]
            st.caption(f"{len(failed)} failed runs")
            st.dataframe(sweep.runs)


def _heatmap(table, parameters: list[str], metrics: list[str]) -> None:
    columns = st.columns(3)
    metric = columns[0].selectbox("Metric", figures_sweep.varying(table, metrics), key="sweep_metric",
                                  format_func=figures_sweep.with_unit,
                                  help="Metrics that differ between the points come first")
    x = columns[1].selectbox("x", parameters, key="sweep_x", format_func=figures_sweep.short,
                             help="Swept fields, shown by their last two parts: " + ", ".join(parameters))
    others = [p for p in parameters if p != x]
    if not others:
        common.chart(figures_sweep.line_ci(table, x=x, metric=metric), key="sweep-line")
        return
    y = columns[2].selectbox("y", others, key="sweep_y", format_func=figures_sweep.short)
    if len(parameters) > 2:
        st.caption("Points that differ only in the other parameters are averaged in a cell.")
    common.chart(figures_sweep.heatmap(table, x=x, y=y, metric=metric), key="sweep-heatmap")
