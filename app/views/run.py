"""The Run tab: run the configuration of the sidebar and look at it (latency against the SLO, throughput, replicas
with scaling events, memory against capacity, utilisation, cost); save it as a variant for the Compare tab."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import runs
from app.views import common, compare
from app.views.sidebar import Current
from twin.config.schema import Scenario
from twin.core import provenance
from twin.report import figures_run, series
from twin.report import tables as report_tables


def render(current: Current) -> None:
    scenario = current.scenario
    st.subheader(f"{current.setup.label} · seed {current.seed}")
    st.caption("Changed: " + ", ".join(f"`{k}` = {v}" for k, v in current.changes.items())
               if current.changes else "Changed: nothing yet — the scenario as written.")
    left, right = st.columns([1, 3])
    clicked = left.button("Run", type="primary", disabled=scenario is None, key="run")
    with right:
        _save_variant(current)
    if clicked and scenario is not None:
        runs.run(scenario, current.seed)
        st.session_state["last_run"] = (scenario.model_dump_json(), current.seed)
    last = st.session_state.get("last_run")
    if last is None:
        st.info("Change the scenario in the sidebar, then press **Run**.")
        return
    if scenario is None or last != (scenario.model_dump_json(), current.seed):
        st.warning("The settings changed since this run: press **Run** to see them.")
    output = runs.run(Scenario.model_validate_json(last[0]), last[1])
    show(output, provenance.warnings(Path(current.setup.path), current.setup.overrides))


def show(output: runs.RunOutput, profile_warnings: list[dict]) -> None:
    summary, ts = output.summary, output.timeseries
    capacity = series.capacity(ts["time_s"], output.events, series.pool_shapes(output.scenario))
    _metrics(summary, ts)
    _diagnosis(summary, profile_warnings)
    slo = output.scenario["slo"]["latency_p95_ms"]
    pairs = ((figures_run.latency(ts, slo), figures_run.throughput(ts)),
             (figures_run.scaling(ts, output.events), figures_run.memory(ts, capacity)),
             (figures_run.utilisation(ts), figures_run.cost(capacity)))
    for row, (first, second) in enumerate(pairs):
        left, right = st.columns(2)
        with left:
            common.chart(first, key=f"run-{row}-a")
        with right:
            common.chart(second, key=f"run-{row}-b")
    with st.expander("Events, controller decisions and the summary as JSON"):
        st.dataframe(output.events, height=240)
        if output.decisions:
            st.dataframe(output.decisions, height=200)
        st.json(summary, expanded=False)
        st.download_button("Time series (CSV)", ts.to_csv(index=False), file_name="timeseries.csv",
                           mime="text/csv")


def _metrics(summary: dict, ts) -> None:
    latency = summary["latency_ms"]
    cells = (
        ("Throughput", f"{summary['throughput_rps']:.1f} req/s"),
        ("Latency p95", "–" if latency["p95"] is None else f"{latency['p95']:.0f} ms"),
        ("Errors", f"{summary['errors']['total']:,}"),
        ("SLO violated", f"{summary['slo']['violation_minutes']:.1f} min"),
        ("Cost", f"${summary['cost']['total_usd']:.3f}"),
        ("Pods at the end", f"{int(ts['pods'].iloc[-1])}"),
        ("Workers at the end", f"{int(ts['workers'].iloc[-1])}"),
        ("Nodes at the end", f"{int(ts['nodes'].iloc[-1])}"),
    )
    for start in (0, 4):  # two rows of four: the numbers stay readable beside the sidebar
        for column, (label, value) in zip(st.columns(4), cells[start:start + 4]):
            column.metric(label, value, border=True)


def _diagnosis(summary: dict, profile_warnings: list[dict]) -> None:
    """What went wrong first, then the pods as kubectl lists them (with what each served and its memory)."""
    for found in summary.get("warnings", []) + profile_warnings:
        st.warning(f"{found['message']}  `{found['code']}`", icon="⚠️")
    _table(*report_tables.pods(summary))
    with st.expander("Nodes, pending pods and autoscaler triggers"):
        for table in (report_tables.nodes, report_tables.pending, report_tables.triggers):
            _table(*table(summary))


def _table(header: tuple[str, ...], rows: list[tuple]) -> None:
    if rows:
        st.dataframe(pd.DataFrame([[str(c) for c in row] for row in rows], columns=header), hide_index=True)


def _save_variant(current: Current) -> None:
    variants = st.session_state.setdefault("variants", {})
    name_col, button_col = st.columns([3, 1])
    name = name_col.text_input("Variant name", value=f"variant {len(variants) + 1}", key="variant_name",
                               label_visibility="collapsed")
    if button_col.button("Save as variant", key="save_variant", disabled=current.scenario is None,
                         help="Keep these settings to compare them in the Compare tab"):
        variants[name] = runs.Setup(name, current.setup.path, current.setup.overrides)
        picked = st.session_state.setdefault(compare.PICK, [compare.CURRENT])
        st.session_state[compare.PICK] = [*[p for p in picked if p != name], name]
        st.toast(f"Saved {name!r} for the Compare tab")
