"""The Compare tab: two or more configurations (the sidebar's, saved variants, other scenario files), each run with
several seeds; per-second means in min–max bands, and summary metrics with 95 % confidence intervals."""
from __future__ import annotations

import pandas as pd
import streamlit as st

from app import runs
from app.views import common
from app.views.sidebar import Current
from twin.errors import InputError
from twin.report import figures_compare

CURRENT = "current settings"
PICK = "compare_pick"  # the multiselect's key
SERIES = (("latency_p95_ms", "p95 latency", "latency (ms)"), ("ok", "Throughput", "responses per second (req/s)"),
          ("pods", "Pods", "pods"))
METRICS = (("throughput_rps", "Throughput", "req/s"), ("latency_ms.p95", "p95 latency", "ms"),
           ("cost.total_usd", "Cost", "USD"), ("slo.violation_minutes", "SLO violated", "min"))


def render(current: Current) -> None:
    choices = _choices(current)
    if PICK not in st.session_state:  # afterwards the Run tab adds each variant it saves
        st.session_state[PICK] = [CURRENT, *st.session_state.get("variants", {})]
    picked = st.multiselect("Configurations", list(choices), key=PICK,
                            help="Save variants in the Run tab; scenario files run as written")
    seeds = int(st.number_input("Seeds per configuration", value=3, min_value=2, max_value=20, step=1,
                                key="compare_seeds", help=f"seeds {current.seed}, {current.seed + 1}, …"))
    if st.button("Compare", type="primary", key="compare", disabled=len(picked) < 2):
        st.session_state["last_compare"] = [(name, choices[name]) for name in picked], seeds
    if len(picked) < 2:
        st.info("Pick two or more configurations: save a variant in the Run tab, or add a scenario file.")
    request = st.session_state.get("last_compare")
    if request is not None:
        _show(*request, first_seed=current.seed)


def _choices(current: Current) -> dict[str, runs.Setup]:
    choices = {CURRENT: runs.Setup(CURRENT, current.setup.path, current.setup.overrides)}
    choices.update(st.session_state.get("variants", {}))
    for name in common.bundled_scenarios():
        path = str(common.SCENARIOS / name)
        if path != current.setup.path or current.setup.overrides:  # else it is the current settings again
            choices[name] = runs.Setup(name, path, {})
    return choices


def _show(picked: list[tuple[str, runs.Setup]], seeds: int, *, first_seed: int) -> None:
    seed_list = list(range(first_seed, first_seed + seeds))
    try:
        scenarios = {name: setup.scenario() for name, setup in picked}
    except InputError as error:
        common.show_error(error)
        return
    outputs = {name: runs.run_seeds(scenario, seed_list, name) for name, scenario in scenarios.items()}
    frames = {label: [o.timeseries for o in outs] for label, outs in outputs.items()}
    for column, (name, title, unit) in zip(st.columns(len(SERIES)), SERIES):
        with column:
            common.chart(figures_compare.bands(frames, name, title=title, y=unit), key=f"cmp-band-{name}")
    columns = st.columns(len(METRICS))
    table = {}
    for column, (path, title, unit) in zip(columns, METRICS):
        values = {label: [figures_compare.summary_value(o.summary, path) for o in outs]
                  for label, outs in outputs.items()}
        table[f"{title} ({unit})"] = {label: _cell(v) for label, v in values.items()}
        with column:
            common.chart(figures_compare.metric_bars(values, title=title, y=unit), key=f"cmp-bar-{path}")
    st.dataframe(pd.DataFrame(table))


def _cell(values: list[float]) -> str:
    mean, low, high = figures_compare.mean_ci(values)
    return f"{mean:.4g} [{low:.4g}, {high:.4g}]"
