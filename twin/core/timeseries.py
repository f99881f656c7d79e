"""Per-second time series: one row a tick, columns kept as lists and turned into a DataFrame at the end."""
from __future__ import annotations

import math

import pandas as pd

from twin.core.memory_use import MemoryUse
from twin.core.usage import Usage, measure
from twin.kernel.sketch import QuantileSketch
from twin.torchserve.workers import READY

COLUMNS = (
    "time_s", "ok", "errors", "latency_mean_ms", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms",
    "pods", "ready_pods", "pending_pods", "connected_pods", "workers", "ready_workers", "busy_workers", "queued",
    "nodes", "cpu_util", "gpu_util", "gpu_memory_mib", "host_memory_mib", "load_avg",
)


class Sampler:
    def __init__(self, world) -> None:
        self.world = world
        self.columns: dict[str, list[float]] = {name: [] for name in COLUMNS}
        self._last: Usage = measure(world, pods=False)
        self.memory = MemoryUse(world.scenario.warmup_s)

    def sample(self) -> None:
        world = self.world
        cluster = world.cluster
        sketch, errors = world.recorder.next_interval()
        usage = measure(world, pods=False)
        row = {"time_s": world.env.now, "ok": sketch.count, "errors": errors, **_latency(sketch)}
        row.update(_servers(cluster.pods))
        row.update(
            pods=len(cluster.pods), ready_pods=len(cluster.endpoints), pending_pods=len(cluster.pending_pods),
            connected_pods=sum(loop.connected_pods() for loop in world.closed_loops),
            nodes=len(cluster.nodes),
            gpu_memory_mib=sum(a.used_mib for n in cluster.nodes for a in n.accelerators),
            host_memory_mib=sum(n.rss_mib for n in cluster.nodes),
            **utilisation(self._last, usage, cluster.nodes),
        )
        self.memory.add(world.env.now, cluster.pods, usage.time_s - self._last.time_s)
        self._last = usage
        for name in COLUMNS:
            self.columns[name].append(row[name])

    def frame(self) -> pd.DataFrame:
        return pd.DataFrame(self.columns)


def _servers(pods) -> dict[str, int]:
    """Workers, ready workers, busy workers and queued requests over the pods' TorchServes, in one pass."""
    workers = ready = busy = queued = 0
    for pod in pods:
        server = pod.server
        if server is not None:
            every = server.workers.all
            workers += len(every)
            for worker in every:
                if worker.state == READY:
                    ready += 1
            busy += server.busy
            queued += server.pending
    return {"workers": workers, "ready_workers": ready, "busy_workers": busy, "queued": queued}


def _latency(sketch: QuantileSketch) -> dict[str, float]:
    p50, p95, p99 = sketch.quantiles((0.5, 0.95, 0.99))
    return {"latency_mean_ms": sketch.mean() * 1000, "latency_p50_ms": p50 * 1000, "latency_p95_ms": p95 * 1000,
            "latency_p99_ms": p99 * 1000}


def utilisation(before: Usage, after: Usage, nodes) -> dict[str, float]:
    """Mean CPU and GPU utilisation (0..1) and load average over the nodes between two measurements."""
    span = after.time_s - before.time_s
    if span <= 0 or not nodes:
        return {"cpu_util": math.nan, "gpu_util": math.nan, "load_avg": math.nan}
    cpu = [(after.node_cpu[n.name] - before.node_cpu.get(n.name, 0.0)) / (span * n.pool.vcpus) for n in nodes]
    load = [(after.node_jobs[n.name] - before.node_jobs.get(n.name, 0.0)) / span for n in nodes]
    gpus = [(after.gpu_busy[a] - before.gpu_busy.get(a, 0.0)) / span for a in after.gpu_busy]
    return {
        "cpu_util": sum(cpu) / len(cpu),
        "gpu_util": sum(gpus) / len(gpus) if gpus else math.nan,
        "load_avg": sum(load) / len(load),
    }
