"""Soak: the diurnal KEDA + Cluster Autoscaler question over a simulated week, its bookkeeping checked throughout.

Checked a hundred times along the run and at its end (twin/core/ledger.py): every request accounted for (arrived =
served + failed + in flight, in flight counted where requests are held), busy-worker counts that match the workers
running a batch, no negative memory; over every second of the time series, a clock that only moves forward and no
negative queue, worker, pod or memory figure. Memory: the process's peak RSS must stay within a fixed allowance plus
what the per-second time series needs (it is an output, one row a simulated second); growth beyond that would be
state kept per request. Prints the figures and exits 1 when an invariant fails.

Run: `python benchmarks/soak.py` (a week; about 2 min of CPU per simulated day on one core) or `--days 1`.
"""
from __future__ import annotations

import argparse
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from twin.config.loader import load_scenario
from twin.config.schema import Scenario
from twin.core import ledger
from twin.core.world import World

QUESTION = Path(__file__).resolve().parents[1] / "scenarios" / "questions" / "keda-cluster-diurnal.yaml"
BASE_MIB = 400.0  # interpreter, numpy, pandas, pydantic, the world itself
SERIES_BYTES_PER_S = 1024.0  # 21 per-second columns of Python floats in lists (~21 x 40 B), with headroom


@dataclass
class Soak:
    """What a soak saw: the ledger at the end, every invariant broken along the way, and the memory it took."""

    world: World
    wall_s: float = 0.0
    broken: list[str] = field(default_factory=list)
    checks: int = 0
    last_now: float = 0.0
    started: float = field(default_factory=time.perf_counter)

    def check(self, now: float) -> None:
        """Between two chunks of the run: the clock moved forward and the books balance."""
        if now < self.last_now:
            self.broken.append(f"clock: {now:g} s after {self.last_now:g} s")
        self.last_now = now
        self.checks += 1
        self.broken += [f"at {now:,.0f} s: {problem}" for problem in ledger.violations(self.world)]
        print(f"\r{now / 86400:5.2f} days simulated in {time.perf_counter() - self.started:,.0f} s, "
              f"{len(self.broken)} broken", end="", file=sys.stderr, flush=True)

    def finish(self) -> None:
        self.check(self.world.env.now)
        self.broken += ledger.series_violations(self.world.sampler.columns)
        times = [event["time_s"] for event in self.world.events]
        if any(later < earlier for earlier, later in zip(times, times[1:])):
            self.broken.append("events: out of time order")
        if self.peak_rss_mib() > self.allowance_mib():
            self.broken.append(f"memory: peak RSS {self.peak_rss_mib():,.0f} MiB above the "
                               f"{self.allowance_mib():,.0f} MiB allowance")

    def peak_rss_mib(self) -> float:
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux

    def allowance_mib(self) -> float:
        return BASE_MIB + SERIES_BYTES_PER_S * self.world.env.now / 2**20


def soak(scenario: Scenario, *, seed: int | None = None) -> Soak:
    world = World(scenario, seed=seed)
    watch = Soak(world)
    world.run(progress=watch.check)
    watch.wall_s = time.perf_counter() - watch.started
    watch.finish()
    print(file=sys.stderr)
    return watch


def report(watch: Soak) -> str:
    book = ledger.ledger(watch.world)
    lines = [
        f"simulated {book.time_s:,.0f} s ({book.time_s / 86400:.2f} days) in {watch.wall_s:,.1f} s wall "
        f"({book.time_s / max(watch.wall_s, 1e-9):,.0f}x real time)",
        f"requests   arrived {book.arrived:,} = served {book.served:,} + failed {book.failed:,} "
        f"+ in flight {book.in_flight:,}: {'balanced' if book.balanced else 'NOT BALANCED'}",
        f"memory     peak RSS {watch.peak_rss_mib():,.0f} MiB (allowance {watch.allowance_mib():,.0f} MiB; "
        f"{watch.peak_rss_mib() * 2**20 / max(book.arrived, 1):,.1f} B per request)",
        f"checks     {watch.checks} along the run, {len(watch.world.sampler.columns['time_s']):,} seconds of series, "
        f"{len(watch.world.events):,} events, {len(watch.world.cluster.nodes)} nodes at the end",
        "invariants " + ("all hold" if not watch.broken else f"{len(watch.broken)} broken:"),
    ]
    return "\n".join(lines + [f"  {problem}" for problem in watch.broken[:20]])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=float, default=7.0, help="simulated days (default: a week)")
    parser.add_argument("--seed", type=int, default=None, help="default: the question's")
    parser.add_argument("--scenario", type=Path, default=QUESTION)
    args = parser.parse_args(argv)
    scenario = load_scenario(args.scenario, {"duration_s": args.days * 86400})
    watch = soak(scenario, seed=args.seed)
    print(report(watch))
    return 1 if watch.broken else 0


if __name__ == "__main__":
    sys.exit(main())
