"""The summary of a run: throughput, latency, errors, utilisation, memory and cost over the measured window."""
from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

from twin.core import diagnostics, torchserve_figures
from twin.core.timeseries import utilisation
from twin.core.usage import Usage, measure


@dataclass
class Summary:
    scenario: str
    seed: int
    simulated_s: float
    measured_s: float  # after warm-up
    requests: int  # responses to requests sent after warm-up, successful or not
    throughput_rps: float  # successful responses per second
    latency_ms: dict[str, float]  # successful responses, end to end (as the client sees): mean, p50, p95, p99, max
    errors: dict[str, int]  # total and by kind
    cpu_util: float
    gpu_util: float
    load_avg: float
    memory_used_mib: float  # of the nodes at the end: the OS's and every pod's, as htop's "Mem" shows
    nodes: list[dict] = field(default_factory=list)
    pods: list[dict] = field(default_factory=list)
    cost: dict = field(default_factory=dict)
    slo: dict = field(default_factory=dict)
    memory: dict = field(default_factory=dict)  # OOM kills, memory wasted and time short of it (memory_use)
    decisions: int = 0  # controller actions taken
    wall_s: float = 0.0
    diagnostics: dict = field(default_factory=dict)  # load spread, pending pods, OOM kills, triggers (diagnostics)
    warnings: list[dict] = field(default_factory=list)  # {code, message}: what went wrong, in plain words
    torchserve: dict = field(default_factory=dict)  # the same window as Prometheus gives it (torchserve_figures)

    def to_dict(self) -> dict:
        return _finite(asdict(self))


def _finite(value):
    """NaN has no JSON spelling: None stands for 'no data'."""
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def summarise(world, start: Usage) -> Summary:
    end = measure(world)
    recorder = world.recorder
    window = max(end.time_s - start.time_s, 1e-9)
    sketch = recorder.latency
    latency = {name: q * 1000 for name, q in (("mean", sketch.mean()), ("p50", sketch.quantile(0.5)),
                                               ("p95", sketch.quantile(0.95)), ("p99", sketch.quantile(0.99)),
                                               ("max", sketch.high if sketch.count else math.nan))}
    errors = {"total": sum(recorder.errors.values()), **recorder.errors}
    nodes = world.cluster.nodes
    pods = [_pod(pod, start, end, window) for pod in world.cluster.pods]
    found, warnings = diagnostics.diagnose(world, pods, window)
    return Summary(
        scenario=world.scenario.name, seed=world.seed, simulated_s=world.env.now, measured_s=window,
        requests=recorder.requests, throughput_rps=sketch.count / window, latency_ms=latency, errors=errors,
        **utilisation(start, end, nodes), memory_used_mib=sum(node.memory_used_mib for node in nodes),
        nodes=[_node(node, start, end, window) for node in nodes], pods=pods,
        cost=_cost(world, start.time_s, end.time_s, sketch.count),
        slo=_slo(world, start.time_s), memory=world.sampler.memory.summary(found["oom_kills"]["count"]),
        decisions=len(world.control.decisions),
        diagnostics=found, warnings=warnings,
        torchserve=torchserve_figures.figures(start.torchserve, end.torchserve, window),
    )


def _slo(world, start_s: float) -> dict:
    """Minutes (counted by the second, after warm-up) in which the SLO was violated."""
    slo = world.scenario.slo
    columns = world.sampler.columns
    seconds = 0
    for t, p95, ok, errors in zip(columns["time_s"], columns["latency_p95_ms"], columns["ok"], columns["errors"]):
        if t <= start_s:
            continue
        answered = ok + errors
        if (p95 == p95 and p95 > slo.latency_p95_ms) or (answered and errors / answered > slo.max_error_ratio):
            seconds += 1
    return {"latency_p95_ms": slo.latency_p95_ms, "max_error_ratio": slo.max_error_ratio,
            "violation_minutes": seconds / 60}


def _node(node, start: Usage, end: Usage, window: float) -> dict:
    return {
        "name": node.name, "pool": node.pool.name, "pods": len(node.pods),
        "cpu_util": (end.node_cpu[node.name] - start.node_cpu.get(node.name, 0.0)) / (window * node.pool.vcpus),
        "load_avg": (end.node_jobs[node.name] - start.node_jobs.get(node.name, 0.0)) / window,
        "host_memory_mib": node.rss_mib, "memory_used_mib": node.memory_used_mib,
        "host_memory_capacity_mib": node.memory_mib, **diagnostics.node_memory(node),
        "gpus": [{"name": a.name, "util": (end.gpu_busy[a.name] - start.gpu_busy.get(a.name, 0.0)) / window,
                  "memory_used_mib": a.used_mib, "memory_peak_mib": a.peak_mib, "memory_capacity_mib": a.memory_mib}
                 for a in node.accelerators],
    }


def _pod(pod, start: Usage, end: Usage, window: float) -> dict:
    workers = pod.server.workers.all if pod.server is not None else []
    return {
        "name": pod.name, "node": pod.node.name if pod.node else None, "phase": pod.phase, "ready": pod.ready,
        "restarts": pod.restarts, "served": end.pod_served[pod.name] - start.pod_served.get(pod.name, 0),
        "cpu_cores": (end.pod_cpu[pod.name] - start.pod_cpu.get(pod.name, 0.0)) / window,
        "gpu_busy": (end.pod_gpu[pod.name] - start.pod_gpu.get(pod.name, 0.0)) / window,
        "host_memory_mib": pod.rss_mib, "memory_limit_mib": pod.memory_limit_mib,
        "workers": len(workers), "gpu_memory_mib": sum(w.gpu_mib for w in workers), **diagnostics.pod_memory(pod),
    }


def _cost(world, start_s: float, end_s: float, successes: int) -> dict:
    """Node-hours by pool inside the measured window, their price, and cost per million successful inferences."""
    hours: dict[str, float] = {}
    usd: dict[str, float] = {}
    for node in world.cluster.nodes + world.cluster.removed_nodes:
        alive_until = node.removed_at if node.removed_at is not None else end_s
        overlap = max(0.0, min(alive_until, end_s) - max(node.created_at, start_s)) / 3600
        hours[node.pool.name] = hours.get(node.pool.name, 0.0) + overlap
        usd[node.pool.name] = usd.get(node.pool.name, 0.0) + overlap * node.pool.price_per_hour
    total = sum(usd.values())
    return {"node_hours": hours, "usd": usd, "total_usd": total,
            "usd_per_million": total / successes * 1e6 if successes else math.nan}
