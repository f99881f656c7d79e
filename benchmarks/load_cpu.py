"""How much CPU a TorchServe worker takes while it loads its model: the measurement behind `load_cpu_cores`, the
cores a starting worker keeps busy on its node (twin/k8s/node.py, twin/config/schema.py).

Starts the suite's real TorchServe serving `encoder4` (a traced four-layer encoder, random weights) with one worker,
then asks for more workers and times each scale-up until every worker is READY, reading the CPU time of the server's
processes (the JVM and its Python workers, through psutil) over it. The CPU-seconds over the load's wall time are
the cores the loading took; the machine's load average beside each step says how crowded it was (on a crowded node a
loader gets its fair share, not all it wants, so the figure is a lower bound there). Run:
`python benchmarks/load_cpu.py [--steps 3]`.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.torchserve import ENCODER4, RealTorchServe  # noqa: E402


def server_cpu_s(server: RealTorchServe) -> float:
    total = 0.0
    for pid in server.process_ids():
        try:
            times = psutil.Process(pid).cpu_times()
            total += times.user + times.system
        except psutil.Error:
            continue  # a process that ended between listing and reading
    return total


def load_step(server: RealTorchServe, workers: int) -> tuple[float, float]:
    """Wall seconds until `workers` are READY, and the server's CPU-seconds over them."""
    cpu, begun = server_cpu_s(server), time.monotonic()
    server.scale(ENCODER4, workers, timeout_s=server.start_timeout_s)
    return time.monotonic() - begun, server_cpu_s(server) - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="scale-ups of one worker each (3)")
    args = parser.parse_args()
    cores = []
    with tempfile.TemporaryDirectory(prefix="servetwin-load-") as tmp:
        with RealTorchServe(workdir=Path(tmp), models=(ENCODER4,)) as server:
            server.scale(ENCODER4, 1, timeout_s=server.start_timeout_s)
            for workers in range(2, args.steps + 2):
                wall, cpu = load_step(server, workers)
                cores.append(cpu / wall)
                print(f"1 -> {workers} workers: READY after {wall:.2f} s, server CPU {cpu:.2f} s = "
                      f"{cores[-1]:.2f} cores (load average {os.getloadavg()[0]:.1f})")
    print(f"cores while a worker loads: median {statistics.median(cores):.2f} over {len(cores)} loads")


if __name__ == "__main__":
    main()
