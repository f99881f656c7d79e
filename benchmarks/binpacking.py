"""Speed of the Cluster Autoscaler's binpacking estimate on upstream's own large case, beside a scan-every-node
first fit (how the twin packed new nodes before: each pod tried on every node opened so far).

The case is `BenchmarkBinpackingEstimate` of kubernetes/autoscaler `cluster-autoscaler/estimator/
binpacking_estimator_test.go`: a 1000m / 5000 MiB template node holding at most 100 pods, 50,000 pods of 50m /
100 MiB and 1,000 of 95m / 190 MiB, at most 3,000 nodes; upstream expects 2,595 nodes for all 51,000 pods.
Run: `python benchmarks/binpacking.py` (the baseline takes about 90 CPU seconds at full size; `--pods-scale 0.1` for
a quick look, `--skip-baseline` to time only the estimator).
"""
from __future__ import annotations

import argparse
import time

from twin.policies.cluster_autoscaler.binpack import fits, take
from twin.policies.cluster_autoscaler.estimator import estimate
from twin.policies.cluster_autoscaler.model import PendingPod

MIB = 2**20
TEMPLATE = {"cpu": 1.0, "memory": 5000 * MIB, "pods": 100}
MAX_NODES = 3000


def upstream_case(scale: float) -> list[PendingPod]:
    small = [PendingPod(f"small-{i}", {"cpu": 0.05, "memory": 100 * MIB}, 0.0) for i in range(int(50_000 * scale))]
    large = [PendingPod(f"large-{i}", {"cpu": 0.095, "memory": 190 * MIB}, 0.0) for i in range(int(1_000 * scale))]
    return small + large


def scan_every_node(pods: list[PendingPod], template: dict, *, limit: int) -> int:
    """The former packing: pods by decreasing size, each on the first of all opened nodes with room."""
    order = sorted(pods, key=lambda p: -sum(p.requests[r] / template[r] for r in ("cpu", "memory")))
    bins: list[dict[str, float]] = []
    for pod in order:
        needs = {**pod.requests, "pods": 1}
        room = next((b for b in bins if fits(needs, b)), None)
        if room is None and len(bins) < limit:
            room = dict(template)
            bins.append(room)
        if room is not None:
            take(needs, room)
    return len(bins)


def timed(label: str, run) -> float:
    """Wall and CPU seconds (on a shared machine the CPU time is the fairer of the two); returns the CPU time."""
    wall, cpu = time.perf_counter(), time.process_time()
    nodes, placed = run()
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"{label:<28} {wall:8.2f} s wall {cpu:8.2f} s cpu   {nodes} nodes   {placed} pods")
    return cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pods-scale", type=float, default=1.0, help="fraction of upstream's 51,000 pods")
    parser.add_argument("--skip-baseline", action="store_true")
    args = parser.parse_args()
    pods = upstream_case(args.pods_scale)
    print(f"{len(pods)} pods, template {TEMPLATE['cpu']} cpu / 5000 MiB / {TEMPLATE['pods']} pods, "
          f"at most {MAX_NODES} nodes")

    def estimator_run():
        found = estimate(pods, TEMPLATE, max_nodes=MAX_NODES)
        return found.node_count, len(found.scheduled)

    after = timed("estimator (last node first)", estimator_run)
    if args.skip_baseline:
        return
    before = timed("scan every node (before)", lambda: (scan_every_node(pods, TEMPLATE, limit=MAX_NODES), len(pods)))
    print(f"speed-up {before / after:.0f}x (CPU time)")


if __name__ == "__main__":
    main()
