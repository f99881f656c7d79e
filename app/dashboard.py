"""ServeTwin's what-if dashboard. Start it from the repository root:

    .venv/bin/streamlit run app/dashboard.py

The sidebar picks a scenario (or real manifests) and changes it; the tabs run it, compare configurations across
seeds, browse a sweep, show calibration fidelity and a shadow-mode report. A link can open a tab and a shadow
report: `?tab=Shadow&shadow=PATH` (what `make shadow-demo` prints).
"""
from __future__ import annotations

import streamlit as st

from app.views import compare, fidelity, run, shadow, sidebar, sweep

st.set_page_config(page_title="ServeTwin · what if?", page_icon="📈", layout="wide")
st.title("ServeTwin · what if?")
st.caption("A discrete-event twin of TorchServe on Kubernetes: change the workload, pods, workers, batching, GPU "
           "sharing or autoscalers in the sidebar, then run.")

current = sidebar.render()
TABS = ["Run", "Compare", "Sweep", "Calibration", "Shadow"]
opened = st.query_params.get("tab")
tab_run, tab_compare, tab_sweep, tab_calibration, tab_shadow = st.tabs(TABS, default=opened if opened in TABS else None)
with tab_run:
    if current is not None:
        run.render(current)
with tab_compare:
    if current is not None:
        compare.render(current)
with tab_sweep:
    sweep.render()
with tab_calibration:
    if current is not None:
        fidelity.render(current)
with tab_shadow:
    shadow.render()
