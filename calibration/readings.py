"""Resource readings of resources.csv turned into what calibration uses: demand constraints and memory sizes.

Demand constraints (utilisation law, U = X · D, at the run's measured throughput X), each a noisy observation:
  - nvtop GPU utilisation of a run (NVML: the share of time at least one kernel ran) → kernel time per request,
    not the accelerator phase, whose host-side launch and sync time leaves the device idle;
  - htop CPU% summed over a GPU run's busy workers → host core-time per request (the CPU phase's threads and the
    thread that launches kernels and waits for them).
Memory (direct readings, min–max kept as the range): GPU memory of a worker that has served and of one that never
has (nvtop per-process), host RSS of a worker (nvtop host memory, TorchServe's memoryUsage, or htop RES on a CPU
node), the Java frontend's RSS (htop). Readings are single instants, so constraints carry a wide spread.
Worker load time: the `worker_load_s` a run of `servetwin observe` measured when it added workers before it.
Server CPU (observe beside a local server): the TorchServe processes' CPU use over the run, over the measured
throughput → the core-time per request a CPU-served profile's processes held (the JVM frontend's share included):
its pool's threads for the request's time in the worker, each on its fair share of the cores, so under
oversubscription the reading holds the spin and waits too, not only the work.
Worker time (observe with TorchServe's metrics): TorchServe's own mean latency less its mean queue time → the mean
time a request spends in its worker (the twin's service time, stretched by whatever shares the node's CPU), a
reading of the same requests the load generator timed; it pins how the response splits into the worker's time and
the time outside it, which throughput and latency alone leave open. It also holds the frontend's own handling of
the job (a few ms on a loopback server), so it is a noisy reading, never an equality. Batched runs are left out
(their queue time includes the wait for a batch to fill).
The JVM frontend's CPU per request: htop's CPU% of the visible Java processes over the run's throughput (idle
frontends drop out of htop's busiest-first list, so it is a lower bound).
"""
from __future__ import annotations

import fnmatch
import statistics
from dataclasses import dataclass, field

from calibration.mapping import MappingError, Setup, setup_of
from calibration.readers import ResourceReading, Run


@dataclass(frozen=True)
class Constraint:
    run_id: str
    key: tuple[str, str]  # the profile it constrains
    kind: str  # per request: "gpu_ms" (kernel ms, from NVML), "cpu_core_ms" (host core-ms, from htop),
    # "server_core_ms" (core-ms the server's processes held over the run, from observe) or "worker_ms" (ms in the
    # worker, from TorchServe's metrics)
    value: float
    source_line: int
    vcpus: float = 1.0  # of the node read


@dataclass
class Memory:
    """Readings for one (model, accelerator) profile, memory in MiB and worker load times in s (measured by
    `servetwin observe` when it adds workers); each list keeps every reading."""

    gpu_served: list[float] = field(default_factory=list)
    gpu_idle: list[float] = field(default_factory=list)
    worker_rss: list[float] = field(default_factory=list)
    frontend_rss: list[float] = field(default_factory=list)
    load_s: list[float] = field(default_factory=list)
    frontend_cpu_ms: list[float] = field(default_factory=list)  # core-ms per request


@dataclass(frozen=True)
class Readings:
    constraints: tuple[Constraint, ...]
    memory: dict[tuple[str, str], Memory]


def gather(readings: tuple[ResourceReading, ...], runs: tuple[Run, ...]) -> Readings:
    """Tie each reading to the runs its run_id names (globs such as `A10-ROB-GPU-1p1w-*` included)."""
    constraints: list[Constraint] = []
    memory: dict[tuple[str, str], Memory] = {}
    for reading in readings:
        matched = _matching(reading.run_id, runs)
        if not matched:
            continue
        run, setup = matched[0]
        slot = memory.setdefault(setup.profile_key, Memory())
        _memory(reading, slot, setup)
        if len(matched) == 1 and run.result is not None and run.result.throughput_rps:
            constraints.extend(_demands(reading, run, setup))
            java = [v for v in reading.values("frontend_java_cpu_pct") or () if v is not None]
            if java and reading.tool == "htop":
                slot.frontend_cpu_ms.append(sum(java) / 100 / run.result.throughput_rps * 1000)
    for run in runs:
        key = _profile_key(run)
        if run.result is not None and run.result.worker_load_s is not None and key is not None:
            memory.setdefault(key, Memory()).load_s.append(run.result.worker_load_s)
        constraints.extend(_host_cpu(run))
        constraints.extend(_worker_time(run))
    return Readings(tuple(constraints), memory)


def _host_cpu(run: Run) -> list[Constraint]:
    result = run.result
    key = _profile_key(run)
    if result is None or result.server_cpu_pct is None or not result.throughput_rps or run.config.device != "cpu" \
            or key is None:
        return []
    cores = max(result.server_cpu_pct / 100, 1e-3)
    return [Constraint(run.config.id, key, "server_core_ms", cores / result.throughput_rps * 1000, run.line,
                       float(run.config.node_vcpus or 1))]


def _worker_time(run: Run) -> list[Constraint]:
    result = run.result
    key = _profile_key(run)
    if result is None or result.ts_mean_latency_ms is None or (run.config.batch_size or 1) > 1 or key is None:
        return []
    worker_ms = max(result.ts_mean_latency_ms - (result.ts_mean_queue_ms or 0.0), 1e-3)
    return [Constraint(run.config.id, key, "worker_ms", worker_ms, run.line, float(run.config.node_vcpus or 1))]


def _profile_key(run: Run) -> tuple[str, str] | None:
    try:
        return setup_of(run.config).profile_key
    except MappingError:
        return None  # a run that maps to no profile informs none


def _matching(run_id: str, runs: tuple[Run, ...]) -> list[tuple[Run, Setup]]:
    pattern = run_id.split(" ")[0]
    found = []
    for run in runs:
        if fnmatch.fnmatchcase(run.config.id, pattern):
            try:
                found.append((run, setup_of(run.config)))
            except MappingError:
                continue
    return found


def _demands(reading: ResourceReading, run: Run, setup: Setup) -> list[Constraint]:
    rate = run.result.throughput_rps
    out = []
    gpu = reading.value("gpu_util_pct")
    if gpu is not None and reading.tool == "nvtop" and setup.accelerator != "cpu":
        out.append(Constraint(run.config.id, setup.profile_key, "gpu_ms", gpu / 100 / rate * 1000, reading.line,
                              float(run.config.node_vcpus or 1)))
    cpu = reading.values("worker_cpu_pct")
    if cpu and reading.tool == "htop" and setup.accelerator != "cpu":
        total = sum(v for v in cpu if v is not None) / 100
        out.append(Constraint(run.config.id, setup.profile_key, "cpu_core_ms", total / rate * 1000, reading.line,
                              float(run.config.node_vcpus or 1)))
    return out


def _memory(reading: ResourceReading, slot: Memory, setup: Setup) -> None:
    per_worker = [v for v in reading.values("worker_gpu_mem_mib") or () if v is not None]
    if per_worker:
        slot.gpu_served.append(max(per_worker))
        if min(per_worker) < max(per_worker):
            slot.gpu_idle.append(min(per_worker))
    elif reading.value("gpu_mem_used") and reading.value("n_worker_procs_visible") == 1:
        slot.gpu_served.append(reading.value("gpu_mem_used"))  # whole GPU with one worker (an upper bound)
    host = [v for v in reading.values("worker_host_mem_mib_nvtop") or () if v is not None]
    if host:
        slot.worker_rss.append(max(host))
    elif setup.accelerator == "cpu" or reading.tool.startswith("TorchServe"):
        slot.worker_rss.extend(v for v in reading.values("worker_res_mib") or () if v is not None)
    slot.frontend_rss.extend(v for v in reading.values("frontend_java_res") or () if v is not None)


def central(values: list[float]) -> float | None:
    return statistics.median(values) if values else None
