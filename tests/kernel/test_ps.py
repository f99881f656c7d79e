"""Processor sharing at large clock values: no job is lost to floating-point resolution, nothing spins.

The clock's resolution coarsens with time (ulp(1e7 s) = 1.9e-9 s), so a job with less work left than one ulp of the
clock finishes must still complete. The exact reference is work conservation: with per-job speed c/n the resource
serves c work units a second while busy, so the last departure of a busy period is the Lindley workload recursion's,
whatever the order of service.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import simpy

from twin.kernel import loop
from twin.kernel.ps import SharedProcessor
from twin.kernel.timer import call_later

CLOCKS = (4e4, 1e5, 1e6, 1e7)


def bounded_run(env: simpy.Environment, max_events: int) -> int:
    """Step until the queue is empty; fail (never hang) when it takes more than `max_events`."""
    steps = 0
    while env._queue:
        env.step()
        steps += 1
        assert steps <= max_events, f"still running after {max_events} events at t = {env.now!r}"
    return steps


@pytest.mark.parametrize("clock", CLOCKS)
@pytest.mark.parametrize("left", [1.28e-12, 1e-13, 5e-12, 3e-9])
def test_job_with_less_work_than_one_clock_ulp_completes(clock, left):
    """The livelock seen at t = 37,401 s: 1.28e-12 work left, a timer below the clock's resolution."""
    env = simpy.Environment(initial_time=clock)
    processor = SharedProcessor(env, lambda n: 1.0 / n, lambda n: 1.0)
    finished = []
    processor.start(left, lambda payload: finished.append(env.now), None)
    assert bounded_run(env, 4) <= 2
    assert finished and finished[0] - clock <= left + math.ulp(clock)
    assert processor.jobs == 0


def adversarial_demands(rng: np.random.Generator, count: int) -> np.ndarray:
    """Demands from far below to far above the clock's resolution, with exact ties and ulp-sized leftovers."""
    demands = 10.0 ** rng.uniform(-15, 0, count)
    demands[::7] = 1.28e-12
    demands[3::11] = demands[2::11][: len(demands[3::11])]  # ties
    demands[5::13] = 0.1 + 1e-12
    return demands


@pytest.mark.parametrize("clock", (1e5, 1e6, 1e7))
@pytest.mark.parametrize("rate", (1.0, 0.37))
def test_busy_period_ends_where_work_conservation_says(clock, rate):
    rng = np.random.default_rng(int(clock) + int(rate * 100))
    env = simpy.Environment(initial_time=clock)
    processor = SharedProcessor(env, lambda n: rate / n, lambda n: 1.0)
    demands = adversarial_demands(rng, 600)
    gaps = np.where(rng.random(600) < 0.2, 0.0, 10.0 ** rng.uniform(-13, -1, 600))
    arrivals, finished = [], []

    def arrive(event):
        arrivals.append(env.now)
        processor.start(event.value, lambda _: finished.append(env.now), None)

    at = 0.0
    for gap, demand in zip(gaps, demands):
        at += gap
        call_later(env, at, arrive, float(demand))
    events = bounded_run(env, 4 * len(demands))
    assert len(finished) == len(demands) and processor.jobs == 0
    workload, previous = 0.0, arrivals[0]
    for arrival, demand in zip(arrivals, demands):
        workload = max(workload - rate * (arrival - previous), 0.0) + demand
        previous = arrival
    exact_end = arrivals[-1] + workload / rate
    # each completion may come early by its tolerance: 1e-12 of the virtual clock, or one clock ulp of work
    tolerance = len(demands) * (1e-12 * max(1.0, demands.sum()) / rate * len(demands) + 2 * math.ulp(clock))
    assert finished[-1] == pytest.approx(exact_end, abs=tolerance)
    assert events <= 3 * len(demands)


def test_a_callback_that_rearms_at_the_same_instant_is_stopped_and_named():
    env = simpy.Environment(initial_time=37_401.0)

    class Spinner:
        def again(self, _event):
            call_later(env, 0.0, self.again)

    call_later(env, 1.0, Spinner().again)
    with pytest.raises(loop.Stalled, match=r"t = 37402.0 s .*Spinner.again"):
        loop.run_until(env, 40_000.0, stall_events=1_000)


def test_many_events_at_one_instant_are_not_a_stall():
    env = simpy.Environment()
    fired = []
    for _ in range(5_000):
        call_later(env, 2.0, fired.append)
    loop.run_until(env, 3.0, stall_events=10_000)
    assert len(fired) == 5_000 and env.now == 3.0


def test_new_rules_apply_from_the_instant_they_are_given():
    """A job of 2 units at speed 1 for 1 s, then at speed 0.5 (other work began): it ends at 1 + 1 / 0.5 = 3 s,
    and the capacity it held is integrated under each rule for its own time."""
    env = simpy.Environment()
    processor = SharedProcessor(env, lambda n: 1.0, lambda n: 1.0)
    finished = []
    processor.start(2.0, lambda payload: finished.append(env.now), None)
    call_later(env, 1.0, lambda _: processor.reshape(lambda n: 0.5, lambda n: 0.25))
    bounded_run(env, 10)
    assert finished == [pytest.approx(3.0)]
    assert processor.work_area == pytest.approx(1.0 * 1.0 + 0.25 * 2.0)
