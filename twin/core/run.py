"""Run a scenario: the public entry point of the twin."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import pandas as pd

from twin.config.schema import Scenario
from twin.core.stop import Stop, Stopped
from twin.core.summary import Summary, summarise
from twin.core.usage import measure
from twin.core.world import World
from twin.kernel.timer import call_later
from twin.ports import Decision


@dataclass
class Result:
    summary: Summary
    timeseries: pd.DataFrame  # one row per simulated second
    events: list[dict]  # lifecycle and scaling events, in time order
    records: pd.DataFrame | None  # one row per request, when the scenario asks for them
    decisions: list[Decision]  # every controller action, in time order: what the live adapter replays
    complete: bool = True  # False: stopped early; the summary covers what was simulated until then


def simulate(scenario: Scenario, *, seed: int | None = None, duration_s: float | None = None,
             progress: Callable[[float], None] | None = None, stop: Stop | None = None) -> Result:
    """Simulate `scenario` (optionally with another seed or duration) and collect its results; `stop` may end it
    early (Ctrl-C), and then the result covers what was simulated so far."""
    if duration_s is not None:
        scenario = scenario.model_copy(update={"duration_s": duration_s})
    world = World(scenario, seed=seed)
    marks = {}
    call_later(world.env, scenario.warmup_s, lambda _: marks.setdefault("start", measure(world)))
    complete = True
    if stop is not None:
        stop.attach(world.env)
    try:
        world.run(progress=progress)
    except Stopped:
        complete = False
    summary = summarise(world, marks.get("start") or measure(world))
    records = world.recorder.records
    return Result(
        summary=summary,
        timeseries=world.sampler.frame(),
        events=world.events,
        records=pd.DataFrame(records, columns=["arrival_s", "latency_s", "outcome", "pod"]) if records is not None
        else None,
        decisions=world.control.decisions,
        complete=complete,
    )
