"""Runs of the twin for the dashboard: cached per (resolved scenario, seed), with progress shown while they run.

The cache key is the resolved scenario as JSON (every referenced profile, manifest and config.properties already
merged in) and the seed, so an edit to any input is a new run and the same question is answered from the cache.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping

import pandas as pd
import streamlit as st

from twin.config.loader import load_scenario
from twin.config.schema import Scenario
from twin.core.run import simulate

Progress = Callable[[float], None]


@dataclass(frozen=True)
class Setup:
    """A configuration to run: a scenario file and the overrides of a what-if question."""

    label: str
    path: str
    overrides: Mapping[str, Any]

    def scenario(self) -> Scenario:
        return load_scenario(Path(self.path), _fresh(self.overrides))


@dataclass(frozen=True)
class RunOutput:
    scenario: dict  # the resolved scenario as run (JSON-compatible)
    summary: dict
    timeseries: pd.DataFrame
    events: list[dict]
    decisions: list[dict]


def run(scenario: Scenario, seed: int, label: str = "Simulating") -> RunOutput:
    """The twin's result for `scenario` with `seed`, from the cache when it has been asked before; a progress bar
    (labelled `label`) while it runs."""
    return _cached(scenario.model_dump_json(), seed, _label=label)


@st.cache_data(show_spinner=False, max_entries=128)
def _cached(scenario_json: str, seed: int, _label: str = "Simulating") -> RunOutput:
    # The bar is made and removed in here: Streamlit replays a cached function's elements on a hit, which works
    # only for elements created inside it (and replays to nothing, as the bar is gone by the end).
    scenario = Scenario.model_validate_json(scenario_json)
    bar = st.progress(0.0, text=_label)
    result = simulate(scenario, seed=seed, progress=_throttled(bar, scenario.duration_s, _label))
    bar.empty()
    return RunOutput(scenario=scenario.model_dump(mode="json"), summary=result.summary.to_dict(),
                     timeseries=result.timeseries, events=list(result.events),
                     decisions=[d.to_json() for d in result.decisions])


def run_seeds(scenario: Scenario, seeds: list[int], label: str) -> list[RunOutput]:
    return [run(scenario, seed, f"{label}, seed {seed} ({i + 1} of {len(seeds)})") for i, seed in enumerate(seeds)]


def _throttled(bar, total_s: float, label: str) -> Progress:
    """Feed the bar simulated seconds, redrawn every 5 % (each redraw is one more message to replay)."""
    shown = [-1]

    def update(now: float) -> None:
        done = min(1.0, now / total_s) if total_s > 0 else 1.0
        if int(done * 20) > shown[0]:
            shown[0] = int(done * 20)
            bar.progress(done, text=f"{label}: {now:,.0f} of {total_s:,.0f} simulated seconds")

    return update


def _fresh(overrides: Mapping[str, Any]) -> dict[str, Any]:
    # the loader writes override values into the document; a copy keeps a saved variant unchanged
    return copy.deepcopy(dict(overrides))
