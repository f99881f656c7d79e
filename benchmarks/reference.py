"""Speed of the twin, measured side by side in one run: run `make bench` or `python benchmarks/reference.py`.

Prints, for the reference scenario and the control scenario (scraping, KEDA + HPA, worker autoscaling, Cluster
Autoscaler): simulated seconds per wall second, µs of CPU per request and SimPy events per request, beside a bare
callback-style SimPy M/M/c of the same rate and the ratio; Python opcodes and calls per request (counted, so they do
not move with the machine's load); the fixed cost per simulated second at 1 req/s; growth
with pods (10/40/160) and with rate (100/400/1600 req/s at constant utilisation); decisions per simulated hour (a
controller that flaps shows here); peak RSS over simulated time; and the bundled control sweep's time.

Ratios are robust on a shared machine (both sides run alternately in one process, best of `--repeats`); absolute
times are not. `--full` runs the simulated day and the 100-run sweep of one simulated hour each (many minutes).
"""
from __future__ import annotations

import argparse
import heapq
import math
import os
import resource
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import simpy

from twin import compiled
from twin.config.loader import load_scenario
from twin.config.schema import Scenario
from twin.core.world import World

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "benchmark-reference.yaml"
WITH_CONTROL = ROOT / "scenarios" / "benchmark-reference-control.yaml"
SWEEP = ROOT / "scenarios" / "sweeps" / "pods-by-workers-control.yaml"


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


@dataclass
class Speed:
    duration_s: float
    wall_s: float
    cpu_s: float
    requests: int
    events: int
    decisions: int = 0

    @property
    def real_time(self) -> float:
        return self.duration_s / self.wall_s

    @property
    def cpu_us_per_request(self) -> float:
        return self.cpu_s / max(self.requests, 1) * 1e6

    @property
    def events_per_request(self) -> float:
        return self.events / max(self.requests, 1)


def twin_speed(scenario: Scenario, duration_s: float) -> Speed:
    """The run loop alone (the world built, summary not yet made), every response counted."""
    world = World(scenario.model_copy(update={"duration_s": duration_s, "warmup_s": 0.0}))
    wall, cpu = time.perf_counter(), time.process_time()
    world.run()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    requests = world.recorder.requests
    events = next(world.env._eid) - len(world.env._queue)  # every event scheduled, less those still pending
    return Speed(duration_s, wall, cpu, requests, events, len(world.control.decisions))


def bare_speed(rate: float, duration_s: float) -> Speed:
    wall, cpu = time.perf_counter(), time.process_time()
    done = bare_mmc(rate, 0.1, 40, duration_s)
    return Speed(duration_s, time.perf_counter() - wall, time.process_time() - cpu, done, 2 * done)


def best(runs: list[Speed]) -> Speed:
    return min(runs, key=lambda s: s.cpu_s)


def compiled_modules() -> list[str]:
    """The hot modules running from their compiled builds in this process (twin/compiled.py)."""
    return [name for name in compiled.MODULES if not sys.modules[name].__file__.endswith(".py")]


def side_by_side(args) -> None:
    print(f"compiled: {len(compiled_modules())} of the {len(compiled.MODULES)} hot modules "
          "(SERVETWIN_PURE_PYTHON=1 runs their source)")
    reference, control = load_scenario(SCENARIO), load_scenario(WITH_CONTROL)
    rate = reference.workload[0].rate_rps
    rows: dict[str, list[Speed]] = {"twin": [], "+ control": [], "bare M/M/c": []}
    for _ in range(args.repeats):  # alternate, so that a busy moment of the machine hits every side alike
        rows["twin"].append(twin_speed(reference, args.duration))
        rows["bare M/M/c"].append(bare_speed(rate, args.duration))
        rows["+ control"].append(twin_speed(control, args.duration))
    print(f"reference: {reference.deployment.pods} pods x 1 worker on one time-sliced GPU, Poisson {rate:g} req/s; "
          f"{args.duration:g} s simulated, best CPU of {args.repeats}")
    bare = best(rows["bare M/M/c"])
    for name, runs in rows.items():
        s = best(runs)
        print(f"  {name:<11}{s.real_time:7.0f}x real time  {s.cpu_us_per_request:6.1f} µs CPU/request  "
              f"{s.events_per_request:4.2f} events/request  {bare.cpu_s / s.cpu_s:5.2f} of bare SimPy")


def opcodes(args) -> None:
    """Python bytecodes and calls per request, counted (sys.settrace) over the reference and control scenarios: a
    measure of the hot path's cost that does not move with the machine's load, for before/after comparisons.
    Compiled code runs no opcodes, so the count is of the source, in a process that runs it."""
    if compiled_modules():
        subprocess.run([sys.executable, __file__, "--only", "opcodes"], check=True,
                       env={**os.environ, "SERVETWIN_PURE_PYTHON": "1"})
        return
    for path in (SCENARIO, WITH_CONTROL):
        world = World(load_scenario(path).model_copy(update={"duration_s": 12.0, "warmup_s": 0.0}))
        world.run(until=2.0)  # past the start-up: the counts are of the steady state
        counts = {"opcode": 0, "call": 0}

        def trace(frame, event, _arg):
            if event == "call":
                frame.f_trace_opcodes = True
            if event in counts:
                counts[event] += 1
            return trace

        before = world.recorder.arrived
        sys.settrace(trace)
        world.run()
        sys.settrace(None)
        requests = world.recorder.arrived - before
        print(f"{path.stem}: {counts['opcode'] / requests:.0f} Python opcodes and {counts['call'] / requests:.1f} "
              f"Python calls per request")


def decisions(args) -> None:
    """Controllers' actions per simulated hour at constant load, and how many undo the pod's previous one (a 2 -> 1
    after a 1 -> 2): a controller that flaps shows here, a one-off settling does not repeat hour after hour."""
    scenario = load_scenario(WITH_CONTROL)
    world = World(scenario.model_copy(update={"duration_s": args.decisions_s}))
    world.run()
    made = world.control.decisions
    by_kind: dict[str, int] = {}
    for decision in made:
        key = f"{decision.controller} {decision.action}"
        by_kind[key] = by_kind.get(key, 0) + 1
    hours = max(1, math.ceil(args.decisions_s / 3600))
    per_hour = [sum(1 for d in made if int(d.time_s // 3600) == hour) for hour in range(hours)]
    print(f"control decisions at constant load: {len(made) / args.decisions_s * 3600:.0f} per simulated hour "
          f"over {args.decisions_s:g} s ({', '.join(f'{k}: {v}' for k, v in sorted(by_kind.items())) or 'none'}); "
          f"{reversals(made, scenario.deployment.torchserve.model.min_workers)} undo the pod's previous worker count"
          + (f"; by hour: {' '.join(map(str, per_hour))}" if hours > 1 else ""))


def reversals(made, start: int) -> int:
    """Worker scalings that go back the way the pod's previous scaling came (1 -> 2 -> 1 counts once)."""
    counts: dict[str, list[int]] = {}
    undone = 0
    for decision in made:
        if decision.action != "scale_workers":
            continue
        seen = counts.setdefault(decision.target, [start])
        now = int(decision.value["min_worker"])
        if len(seen) >= 2 and (now - seen[-1]) * (seen[-1] - seen[-2]) < 0:
            undone += 1
        seen.append(now)
    return undone


def fixed_cost(args) -> None:
    control = load_scenario(WITH_CONTROL)
    quiet = with_rate(control, 1.0)
    s = best([twin_speed(quiet, args.duration) for _ in range(args.repeats)])
    print(f"fixed cost at 1 req/s with the control plane: {s.cpu_s / s.duration_s * 1e3:.3f} ms CPU per simulated "
          f"second")


def with_rate(scenario: Scenario, rate: float, *, constant_load: bool = False) -> Scenario:
    """The scenario at another Poisson rate; with `constant_load` the service times shrink to keep utilisation."""
    workload = scenario.workload[0].model_copy(update={"rate_rps": rate})
    update: dict = {"workload": (workload,)}
    if constant_load:
        factor = scenario.workload[0].rate_rps / rate
        update["model"] = scenario.model.model_copy(update={"cpu_ms": scenario.model.cpu_ms * factor,
                                                            "gpu_ms": scenario.model.gpu_ms * factor})
    return scenario.model_copy(update=update)


def with_pods(scenario: Scenario, pods: int) -> Scenario:
    """`pods` pods at the reference's load per pod (10 req/s): a time-sliced GPU per 40 pods, 96 vCPUs per GPU,
    KEDA held at that count."""
    gpus = max(1, pods // 40)
    pool = scenario.node_pools[0]
    sharing = pool.gpus.sharing.model_copy(update={"replicas": min(pods, 40)})
    pool = pool.model_copy(update={"vcpus": 96 * gpus, "memory_gib": 880 * gpus,
                                   "gpus": pool.gpus.model_copy(update={"count": gpus, "sharing": sharing})})
    deployment = scenario.deployment.model_copy(update={"pods": pods})
    update: dict = {"node_pools": (pool,), "deployment": deployment}
    keda = scenario.autoscaling.keda
    if keda is not None:
        spec = dict(keda.manifest.object["spec"], minReplicaCount=pods, maxReplicaCount=pods)
        manifest = keda.manifest.model_copy(update={"object": {**keda.manifest.object, "spec": spec}})
        update["autoscaling"] = scenario.autoscaling.model_copy(
            update={"keda": keda.model_copy(update={"manifest": manifest})})
    return with_rate(scenario.model_copy(update=update), 10.0 * pods)


def growth(args) -> None:
    control = load_scenario(WITH_CONTROL)
    print("growth with pods (control scenario, 10 req/s a pod):")
    for pods in (10, 40, 160):
        s = best([twin_speed(with_pods(control, pods), args.duration) for _ in range(args.repeats)])
        print(f"  {pods:4d} pods  {s.cpu_us_per_request:6.1f} µs CPU/request  {s.real_time:6.0f}x real time")
    print("growth with rate at constant utilisation (control scenario):")
    for rate in (100.0, 400.0, 1600.0):
        s = best([twin_speed(with_rate(control, rate, constant_load=True), args.duration)
                  for _ in range(args.repeats)])
        print(f"  {rate:5.0f} req/s  {s.cpu_us_per_request:6.1f} µs CPU/request  {s.real_time:6.0f}x real time")


def peak_rss_mib(duration_s: float) -> float:
    """Peak resident memory of a fresh process that simulates the control scenario for `duration_s`."""
    code = ("import resource, sys; from twin.config.loader import load_scenario; from twin.core.run import simulate; "
            f"simulate(load_scenario({str(WITH_CONTROL)!r}), duration_s={duration_s}); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True, cwd=ROOT)
    return int(out.stdout.split()[-1]) / 1024


def memory(args) -> None:
    if args.full:
        print(f"peak RSS of a simulated day at 400 req/s (control): {peak_rss_mib(86400):.0f} MiB")
        return
    short, long = args.memory_s, 2 * args.memory_s
    a, b = peak_rss_mib(short), peak_rss_mib(long)
    per_hour = max(0.0, (b - a) / (long - short) * 3600)  # below the allocator's noise it reads as nothing
    print(f"peak RSS (control): {a:.0f} MiB for {short:g} s, {b:.0f} MiB for {long:g} s simulated; "
          f"{per_hour:.1f} MiB per simulated hour, so about {a + per_hour * 24:.0f} MiB for a day or more (growth "
          f"of a few MiB an hour hides in the allocator's steps over so short a span; `--full` measures the day)")


def timed_sweep(sweep) -> tuple[float, float]:
    """Wall seconds and CPU seconds (both worker processes) of a sweep on 2 processes."""
    from twin.sweep import execute  # the sweep layer, only for this measurement

    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        execute.run_sweep(sweep, Path(folder) / "out", workers=2)
        wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's processes are reaped when it closes
    return wall, (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)


def sweep_time(args) -> None:
    """The bundled control sweep; short of `--full`, every `--sweep-every`-th run to its full simulated hour, on the
    sweep's own 2-process pool, gives the CPU a run takes (shortened runs would miss what happens later in the
    hour, once KEDA has scaled)."""
    from twin import parallel
    from twin.sweep import execute, spec

    sweep = spec.load_sweep(SWEEP)
    runs = spec.runs(sweep)
    if args.full:
        wall, cpu = timed_sweep(sweep)
        print(f"sweep {SWEEP.name}: {len(runs)} runs of {sweep.duration_s:g} simulated s on 2 processes: "
              f"{wall:.0f} s wall, {cpu:.0f} s CPU (so {cpu / 2 / 60:.1f} min on 2 idle cores)")
        return
    subset = runs[::args.sweep_every]
    calls = [(str(sweep.base_path.resolve()), sweep.duration_s, run.params, run.seed) for run in subset]
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    results = [result for _, result in parallel.unordered(execute.run_one, calls, processes=2)]
    after = resource.getrusage(resource.RUSAGE_CHILDREN)  # the pool's processes are reaped when it closes
    cpu = (after.ru_utime + after.ru_stime) - (children.ru_utime + children.ru_stime)
    failed = sum(result["status"] != "ok" for result in results)
    print(f"sweep {SWEEP.name}: {len(subset)} of its {len(runs)} runs (every {args.sweep_every}th) to "
          f"{sweep.duration_s:g} simulated s: {cpu / len(subset):.2f} s CPU a run, so the sweep takes about "
          f"{cpu / len(subset) * len(runs) / 2 / 60:.1f} min on 2 idle cores ({failed} failed; `--full` runs it)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=60.0, help="simulated seconds per measurement")
    parser.add_argument("--repeats", type=int, default=3, help="alternating repetitions; the best CPU time counts")
    parser.add_argument("--memory-s", type=float, default=600.0, help="simulated seconds for the memory probe")
    parser.add_argument("--decisions-s", type=float, default=3600.0, help="simulated seconds for decisions per hour")
    parser.add_argument("--sweep-every", type=int, default=10, help="the sweep's runs timed: every n-th")
    parser.add_argument("--full", action="store_true", help="a simulated day and the full sweep (long)")
    parser.add_argument("--only", nargs="+", choices=sorted(SECTIONS), help="some of the measurements")
    args = parser.parse_args()
    for name in args.only or SECTIONS:
        SECTIONS[name](args)


SECTIONS = {"speed": side_by_side, "opcodes": opcodes, "decisions": decisions, "fixed": fixed_cost, "growth": growth,
            "memory": memory, "sweep": sweep_time}


if __name__ == "__main__":
    main()
