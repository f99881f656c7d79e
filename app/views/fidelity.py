"""The Calibration tab: an uploaded JMeter result beside the twin for the same users, and the bundled calibration
runs (calibration/data/runs.csv) predicted with the bundled profiles — or a leave-one-out table from
`servetwin check --out DIR` — against what was measured."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import streamlit as st

from app import figures_fidelity, measured, runs, tables
from app.views import common
from app.views.sidebar import Current
from calibration import predict, profiles, readers
from twin.errors import InputError

RUNS_CSV = Path(predict.__file__).parent / "data" / "runs.csv"
IN_SAMPLE = ("in-sample", "the bundled profiles were fitted to these very runs, so this shows how well the fit "
                          "reproduces them — not how well it predicts a run it has not seen")
LEAVE_ONE_OUT = ("leave-one-out", "each run predicted by a fit made without it: the error to expect on a new run")


def render(current: Current) -> None:
    st.markdown("#### Your JMeter result against the twin")
    if current.jtl is None:
        st.info("Upload a JMeter result (.jtl) in the sidebar to see it beside the twin for the same users.")
    else:
        _jmeter(current)
    st.markdown("#### Calibration runs: predicted against measured")
    source = st.radio("Source", ("bundled runs, predicted now with the bundled profiles",
                                 "a leave-one-out table (loo.csv)"), key="fidelity_source", horizontal=True)
    if source.startswith("bundled"):
        replications = int(st.number_input("Seeds per run", value=1, min_value=1, max_value=10, step=1,
                                           key="fidelity_reps"))
        draws = int(st.number_input("Draws for the 90 % interval (0: none)", value=4, min_value=0, max_value=20,
                                    step=1, key="fidelity_draws"))
        if st.button("Predict the calibration runs", key="fidelity_run"):
            st.session_state["fidelity"] = (replications, draws)
        if "fidelity" in st.session_state:
            with st.spinner("Simulating every calibration run…"):
                _show(_predicted(*st.session_state["fidelity"]), IN_SAMPLE)
    else:
        path = st.text_input("loo.csv", key="fidelity_loo", placeholder="out/loo.csv",
                             help="written by `servetwin check --out DIR`")
        table = common.read(tables.read_fidelity, path) if path else None
        if table is not None:
            _show(table, LEAVE_ONE_OUT)


@st.cache_data(show_spinner=False)
def _predicted(replications: int, draws: int = 0) -> pd.DataFrame:
    runs_read = readers.read_runs(RUNS_CSV)
    rows = predict.predict_rows([r.config for r in runs_read], profiles.load_profiles(profiles.BUNDLED),
                                replications=replications, spreads=profiles.load_spreads(profiles.BUNDLED),
                                draws=draws)
    return tables.calibration_table(list(runs_read), rows)


def _show(table: pd.DataFrame, kind: tuple[str, str]) -> None:
    name, meaning = kind
    if table.empty:
        st.warning("No run has both a measurement and a prediction.")
        return
    st.caption(f"**{name} error**: {meaning}")
    inside = tables.coverage(table)
    common.metric_row([("Runs", len(table)),
                       (f"Throughput MAPE ({name})", f"{table['throughput_error_pct'].abs().mean():.1f} %"),
                       (f"Mean latency MAPE ({name})", f"{table['latency_error_pct'].abs().mean():.1f} %"),
                       ("Inside the 90 % interval", "-" if inside is None else f"{100 * inside:.0f} %")])
    common.chart(figures_fidelity.parity(table, kind=name), key="fidelity-parity")
    common.chart(figures_fidelity.errors(table, kind=name), key="fidelity-errors")
    with st.expander("Table"):
        st.dataframe(table.round(2), hide_index=True)


def _jmeter(current: Current) -> None:
    jtl = current.jtl
    change = measured.closed_users_override([g.type for g in current.scenario.workload], jtl.users) \
        if current.scenario is not None else {}
    if not change:
        st.warning("The twin is compared at the sidebar's workload: the scenario needs exactly one closed "
                   "workload group, and the JTL an allThreads column, to match the users.")
    st.caption(f"JMeter: {jtl.users or '?'} users · {jtl.throughput_rps or 0:.1f} req/s · mean {jtl.mean_ms:.0f} ms "
               f"· p95 {jtl.p95_ms:.0f} ms · {jtl.error_pct:.1f} % errors")
    if not st.button("Run the twin with these users", key="jtl_run", disabled=current.scenario is None):
        return
    try:
        scenario = current.with_changes(change).scenario()
    except InputError as error:
        common.show_error(error)
        return
    output = runs.run(scenario, current.seed)
    twin = {"throughput_rps": output.summary["throughput_rps"], "mean_ms": output.summary["latency_ms"]["mean"],
            "p95_ms": output.summary["latency_ms"]["p95"]}
    mine = {"throughput_rps": jtl.throughput_rps or 0.0, "mean_ms": jtl.mean_ms, "p95_ms": float(jtl.p95_ms)}
    left, right = st.columns(2)
    with left:
        common.chart(figures_fidelity.measured_vs_twin(mine, twin), key="jtl-bars")
    with right:
        common.chart(figures_fidelity.per_second(jtl.per_second, output.timeseries), key="jtl-series")

