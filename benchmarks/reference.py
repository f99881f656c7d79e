"""Speed of the twin on the reference scenario, beside a bare callback-style SimPy M/M/c at the same rate.

Prints simulated seconds per wall second and requests per wall second for both, their ratio, and peak memory for
two durations (memory must not grow with simulated time). Run: `make bench` or `python benchmarks/reference.py`.
"""
from __future__ import annotations

import argparse
import heapq
import time
import tracemalloc
from pathlib import Path

import numpy as np
import simpy

from twin.config.loader import load_scenario
from twin.core.run import simulate

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
SCENARIO = SCENARIOS / "benchmark-reference.yaml"
WITH_CONTROL = SCENARIOS / "benchmark-reference-control.yaml"


def bare_mmc(rate: float, service_s: float, servers: int, duration_s: float, seed: int = 1) -> int:
    """M/M/c with callbacks only: one event per arrival, one per departure, a deque-free FIFO list."""
    env = simpy.Environment()
    rng = np.random.default_rng(seed)
    gaps = iter(rng.exponential(1 / rate, int(rate * duration_s * 1.2) + 100).tolist())
    services = iter(rng.exponential(service_s, int(rate * duration_s * 1.2) + 100).tolist())
    state = {"free": servers, "waiting": [], "done": 0}

    def depart(_event):
        state["done"] += 1
        if state["waiting"]:
            heapq.heappop(state["waiting"])
            env.timeout(next(services)).callbacks.append(depart)
        else:
            state["free"] += 1

    def arrive(_event):
        if state["free"]:
            state["free"] -= 1
            env.timeout(next(services)).callbacks.append(depart)
        else:
            heapq.heappush(state["waiting"], env.now)
        env.timeout(next(gaps)).callbacks.append(arrive)

    env.timeout(next(gaps)).callbacks.append(arrive)
    env.run(until=duration_s)
    return state["done"]


def timed(function, *args, **kwargs):
    started = time.perf_counter()
    value = function(*args, **kwargs)
    return value, time.perf_counter() - started


def peak_memory_mib(function, *args, **kwargs) -> float:
    tracemalloc.start()
    function(*args, **kwargs)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak / 2**20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--duration", type=float, default=300.0, help="simulated seconds per measurement")
    args = parser.parse_args()
    scenario = load_scenario(SCENARIO)
    rate = scenario.workload[0].rate_rps
    result, twin_wall = timed(simulate, scenario, duration_s=args.duration)
    controlled, control_wall = timed(simulate, load_scenario(WITH_CONTROL), duration_s=args.duration)
    done, bare_wall = timed(bare_mmc, rate, 0.1, 40, args.duration)
    twin_speed, bare_speed = args.duration / twin_wall, args.duration / bare_wall
    print(f"reference scenario: {scenario.deployment.pods} pods x 1 worker on one time-sliced GPU, Poisson {rate:g} req/s")
    print(f"  twin      {twin_speed:8.0f}x real time  {result.summary.requests / twin_wall:9.0f} req/s  "
          f"({args.duration:g} s simulated in {twin_wall:.2f} s)")
    print(f"  + control {args.duration / control_wall:8.0f}x real time  "
          f"{controlled.summary.requests / control_wall:9.0f} req/s  (scraping, KEDA + HPA, workers, CA; "
          f"{controlled.summary.decisions} decisions)")
    print(f"  bare M/M/c{bare_speed:8.0f}x real time  {done / bare_wall:9.0f} req/s  "
          f"({args.duration:g} s simulated in {bare_wall:.2f} s)")
    print(f"  twin / bare SimPy: {twin_speed / bare_speed:.2f}")
    short, long = peak_memory_mib(simulate, scenario, duration_s=60), peak_memory_mib(simulate, scenario,
                                                                                      duration_s=600)
    print(f"  peak memory: {short:.1f} MiB for 60 s, {long:.1f} MiB for 600 s simulated "
          f"(growth {long - short:.1f} MiB: the per-second time series only)")


if __name__ == "__main__":
    main()
