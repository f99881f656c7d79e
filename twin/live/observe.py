"""Observe a user's own TorchServe deployment: step through worker and user counts, record calibration runs.

Fidelity ledger (upstream: pytorch/serve 0.12.0 APIs as in `torchserve_api`; Apache JMeter 5.6.3 as in `loadgen`):
- Modelled: the load tests of the calibration table, one closed-loop JMeter-like step per (workers, users): workers
  set through the management API (asynchronously, polled until READY, the original min/max restored at the end),
  describe and `/metrics` snapshots before and after each step, one `runs.csv` row per step in the calibration
  schema (throughput, mean and p95 response and error % from the load generator as a JMeter summary report gives
  them; workers and batch settings from describe; `worker_load_s`, the time from asking for more workers until all
  were READY, on the first run after a scale-up) and TorchServe's own view, in `runs.csv` too: mean latency and mean
  queue time from the deltas of `ts_inference_latency_microseconds` / `ts_queue_latency_microseconds` over
  `ts_inference_requests_total` (which also counts 503 rejections). Beside every step, what the machine did
  (twin/live/host.py): its load average, and the CPU of the host, of the server's processes and of the load
  generator, so a node shared with other work is visible in the data; from them the other work's runnable threads
  (`background_threads`, a configuration column the twin's node takes). A line per step reports progress.
- Not modelled: several pods behind one Service (the management API answers for the pod it reaches: `pods` is
  copied from the node description, not measured), warm-up steps, GPU readings, think time.
Bounded: every step stops at its duration, every scale at `scale_timeout_s`. Atomic: the folder is written through
`twin.outputs` (staged beside `out_dir`, renamed into place at the end); on failure nothing is left behind.
"""
from __future__ import annotations

import contextlib
import csv
import dataclasses
import datetime
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from twin import outputs
from twin.errors import InputError
from twin.live.host import HostProbe, HostUse
from twin.live.loadgen import LoadConfig, LoadSummary, run_load_sync
from twin.live.torchserve_api import Endpoint, ObserveError, counters, describe, ready_workers, scale

RUN_COLUMNS = ("id", "date", "cloud_vm", "gpu_model", "gpu_partition", "node_vcpus", "node_ram_gb", "model",
               "device", "pods", "workers_per_pod", "users", "ramp_s", "duration_s", "batch_size",
               "max_batch_delay_ms", "throughput_text", "throughput_rps", "avg_response_text", "avg_response_ms",
               "error_pct", "p95_response_ms", "worker_load_s", "host_load_1m", "host_cpu_pct", "server_cpu_pct",
               "client_cpu_pct", "background_threads", "ts_mean_latency_ms", "ts_mean_queue_ms", "notes")
STEP_COLUMNS = ("id", "workers_ready_after", "requests", "errors", "p50_response_ms", "p95_response_ms",
                "p99_response_ms", "max_response_ms", "ts_requests", "ts_mean_latency_ms", "ts_mean_queue_ms")
_SOURCE = "observe"

__all__ = ["NodeDescription", "ObserveConfig", "ObserveError", "ObserveResult", "StepResult", "observe"]


@dataclass(frozen=True)
class NodeDescription:
    """What the run table says about the hardware; copied into every row, never measured."""

    cloud_vm: str | None = None
    gpu_model: str | None = None
    gpu_partition: str | None = None
    node_vcpus: int | None = None
    node_ram_gb: float | None = None
    device: str | None = None  # "gpu" | "cpu"
    pods: int = 1

    def __post_init__(self) -> None:
        if self.device not in (None, "gpu", "cpu"):
            _reject("device", "gpu or cpu", repr(self.device))
        for name, minimum in (("node_vcpus", 1), ("node_ram_gb", 0), ("pods", 1)):
            value = getattr(self, name)
            if value is not None and value < minimum:
                _reject(name, f"a number >= {minimum}", repr(value))


@dataclass(frozen=True)
class ObserveConfig:
    inference_url: str
    management_url: str
    model: str
    out_dir: Path
    force: bool = False  # replace an earlier observe's folder (never anyone else's)
    users: tuple[int, ...] = (1, 2, 4, 8)
    duration_s: float = 60.0
    ramp_s: float = 0.0
    pause_s: float = 5.0
    workers: tuple[int, ...] = ()  # empty: observe the deployment with the workers it has
    metrics_url: str | None = None
    inference_token: str | None = field(default=None, repr=False)
    management_token: str | None = field(default=None, repr=False)
    node: NodeDescription = NodeDescription()
    scale_timeout_s: float = 120.0
    request_timeout_s: float = 30.0
    payload: bytes = b"{}"
    content_type: str = "application/json"

    def __post_init__(self) -> None:
        for name, top in (("users", 1000), ("workers", 1000)):
            counts = getattr(self, name)
            if any(not 1 <= n <= top for n in counts) or len(set(counts)) != len(counts):
                _reject(name, f"distinct whole numbers from 1 to {top}", ",".join(map(str, counts)) or "none")
        if not self.users:
            _reject("users", "at least one user count", "none")
        if self.duration_s <= 0 or self.scale_timeout_s <= 0 or self.request_timeout_s <= 0:
            _reject("duration_s", "positive durations and timeouts", f"{self.duration_s:g} s")
        if not 0 <= self.ramp_s < self.duration_s:
            _reject("ramp_s", f"0 <= ramp < duration ({self.duration_s:g} s)", f"{self.ramp_s:g} s")
        if self.pause_s < 0:
            _reject("pause_s", "a pause >= 0 s", f"{self.pause_s:g} s")
        if not self.model:
            _reject("model", "a model name", "an empty name")


@dataclass(frozen=True)
class StepResult:
    id: str
    workers: int
    users: int
    load: LoadSummary
    batch_size: int | None
    max_batch_delay_ms: float | None
    workers_ready_after: int
    ts_requests: float | None  # counter delta; None without a metrics URL
    ts_mean_latency_ms: float | None
    ts_mean_queue_ms: float | None
    worker_load_s: float | None = None  # asking for more workers until all were READY, just before this step
    host: HostUse | None = None  # the machine during the step


@dataclass(frozen=True)
class ObserveResult:
    out_dir: Path
    steps: tuple[StepResult, ...]
    wall_s: float


@dataclass(frozen=True)
class _Apis:
    inference: Endpoint
    management: Endpoint
    metrics: Endpoint | None


Progress = Callable[[int, int, "StepResult"], None]  # (step number from 1, steps, its result)


def observe(config: ObserveConfig, progress: Progress | None = None) -> ObserveResult:
    """Run every step, write runs.csv, steps.csv, jtl/, describe/ and metrics/ into `config.out_dir` at once;
    `progress` hears of each step as it ends."""
    begun = time.monotonic()
    apis = _Apis(inference=Endpoint(config.inference_url, config.inference_token),
                 management=Endpoint(config.management_url, config.management_token),
                 metrics=Endpoint(config.metrics_url) if config.metrics_url else None)
    out = outputs.folder(config.out_dir, command="observe", force=config.force)
    _, original = describe(apis.management, config.model)
    apis.inference.get("/ping")
    if apis.metrics:
        apis.metrics.get("/metrics")
    with outputs.staged_folder(out, command="observe", force=config.force) as staging:
        for folder in ("jtl", "describe", "metrics"):
            (staging / folder).mkdir()
        with _restoring(apis.management, config, original):
            steps = _all_steps(config, apis, staging, workers_before=ready_workers(original), progress=progress)
        _write_tables(staging, config, steps)
    return ObserveResult(out_dir=out, steps=steps, wall_s=time.monotonic() - begun)


def _all_steps(config: ObserveConfig, apis: _Apis, staging: Path, *, workers_before: int,
               progress: Progress | None) -> tuple[StepResult, ...]:
    steps: list[StepResult] = []
    count = len(config.workers or (None,)) * len(config.users)
    for workers in config.workers or (None,):
        load_s = None
        if workers is not None:
            asked = time.monotonic()
            scale(apis.management, config.model, workers, timeout_s=config.scale_timeout_s)
            if workers > workers_before:  # new workers started and loaded the model, in parallel
                load_s = time.monotonic() - asked
            workers_before = workers
        for users in config.users:
            if steps and config.pause_s:
                time.sleep(config.pause_s)
            steps.append(_step(config, apis, staging, workers=workers, users=users, worker_load_s=load_s))
            load_s = None  # measured once, reported with the first run after it
            if progress:
                progress(len(steps), count, steps[-1])
    return tuple(steps)


def _step(config: ObserveConfig, apis: _Apis, staging: Path, *, workers: int | None, users: int,
          worker_load_s: float | None) -> StepResult:
    raw, before = describe(apis.management, config.model)
    workers = ready_workers(before) if workers is None else workers
    step_id = f"OBS-{config.model}-w{workers}-u{users}"
    (staging / "describe" / f"{step_id}.before.json").write_bytes(raw)
    counts_before = _metrics_snapshot(apis, staging / "metrics" / f"{step_id}.before.txt", config.model)
    headers = (("Authorization", f"Bearer {config.inference_token}"),) if config.inference_token else ()
    probe = HostProbe(config.inference_url)
    load = run_load_sync(LoadConfig(
        base_url=config.inference_url, model=config.model, users=users, ramp_up_s=config.ramp_s,
        duration_s=config.duration_s, payload=config.payload, content_type=config.content_type, headers=headers,
        request_timeout_s=config.request_timeout_s, group_name=step_id, jtl_path=staging / "jtl" / f"{step_id}.jtl"))
    host = probe.finish()
    raw, after = describe(apis.management, config.model)
    (staging / "describe" / f"{step_id}.after.json").write_bytes(raw)
    counts_after = _metrics_snapshot(apis, staging / "metrics" / f"{step_id}.after.txt", config.model)
    delta = {name: counts_after[name] - counts_before.get(name, 0.0) for name in counts_after}
    requests = delta.get("ts_inference_requests_total")
    return StepResult(
        id=step_id, workers=workers, users=users, load=load, batch_size=after.get("batchSize"),
        max_batch_delay_ms=after.get("maxBatchDelay"), workers_ready_after=ready_workers(after),
        ts_requests=requests, ts_mean_latency_ms=_mean_ms(delta.get("ts_inference_latency_microseconds"), requests),
        ts_mean_queue_ms=_mean_ms(delta.get("ts_queue_latency_microseconds"), requests), worker_load_s=worker_load_s,
        host=host)


def _metrics_snapshot(apis: _Apis, path: Path, model: str) -> dict[str, float]:
    if apis.metrics is None:
        return {}
    text = apis.metrics.get("/metrics").decode(errors="replace")
    path.write_text(text)
    return counters(text, model)


def _mean_ms(total_us: float | None, requests: float | None) -> float | None:
    return total_us / requests / 1000.0 if total_us is not None and requests else None


@contextlib.contextmanager
def _restoring(management: Endpoint, config: ObserveConfig, original: dict[str, Any]):
    """Put the model's min/max workers back after stepping through worker counts, even on failure."""
    if not config.workers:
        yield
        return

    def restore() -> None:
        scale(management, config.model, original["minWorkers"], max_workers=original["maxWorkers"],
              timeout_s=config.scale_timeout_s)

    try:
        yield
    except BaseException:
        with contextlib.suppress(InputError, ObserveError):
            restore()  # best effort: the first failure is the one to report
        raise
    restore()


def _write_tables(staging: Path, config: ObserveConfig, steps: tuple[StepResult, ...]) -> None:
    today = datetime.date.today().isoformat()
    write_csv(staging / "runs.csv", RUN_COLUMNS, [_run_row(config, step, today) for step in steps])
    write_csv(staging / "steps.csv", STEP_COLUMNS, [_step_row(step) for step in steps])


def write_csv(path: Path, columns: tuple[str, ...], rows: list[dict[str, object]]) -> None:
    """A table with these columns; floats to three decimals, None as an empty cell."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows({key: _cell(value) for key, value in row.items()} for row in rows)


def _run_row(config: ObserveConfig, step: StepResult, today: str) -> dict[str, object]:
    load = step.load
    ts = "" if step.ts_mean_latency_ms is None else (
        f"; TorchServe mean {step.ts_mean_latency_ms:.1f} ms (queue {step.ts_mean_queue_ms or 0.0:.1f} ms)")
    gone = "" if step.workers_ready_after == step.workers else f"; {step.workers_ready_after} workers READY after"
    return {
        "id": step.id, "date": today, **dataclasses.asdict(config.node), "model": config.model,
        "workers_per_pod": step.workers, "users": step.users, "ramp_s": config.ramp_s,
        "duration_s": config.duration_s, "batch_size": step.batch_size, "max_batch_delay_ms": step.max_batch_delay_ms,
        "throughput_text": f"{load.throughput_rps:.1f}/s", "throughput_rps": load.throughput_rps,
        "avg_response_text": f"{load.mean_ms:.0f}ms", "avg_response_ms": load.mean_ms,
        "error_pct": load.error_pct, "p95_response_ms": load.p95_ms, "worker_load_s": step.worker_load_s,
        **_host_cells(step.host), "ts_mean_latency_ms": step.ts_mean_latency_ms,
        "ts_mean_queue_ms": step.ts_mean_queue_ms,
        "notes": f"servetwin observe: {load.count} samples, p95 {load.p95_ms:.1f} ms{ts}{gone}",
    }


def _host_cells(host: HostUse | None) -> dict[str, float | None]:
    host = host or HostUse(None, None, None, None)
    return {"host_load_1m": host.load_1m, "host_cpu_pct": host.host_cpu_pct, "server_cpu_pct": host.server_cpu_pct,
            "client_cpu_pct": host.client_cpu_pct, "background_threads": host.background_threads}


def _step_row(step: StepResult) -> dict[str, object]:
    load = step.load
    return {"id": step.id, "workers_ready_after": step.workers_ready_after, "requests": load.count,
            "errors": load.errors, "p50_response_ms": load.p50_ms, "p95_response_ms": load.p95_ms,
            "p99_response_ms": load.p99_ms, "max_response_ms": load.max_ms, "ts_requests": step.ts_requests,
            "ts_mean_latency_ms": step.ts_mean_latency_ms, "ts_mean_queue_ms": step.ts_mean_queue_ms}


def _cell(value: object) -> object:
    if value is None:
        return ""  # the table's "not stated"
    if isinstance(value, float):
        return round(value, 3)
    return value


def _reject(name: str, expected: str, got: str) -> None:
    raise InputError(source=_SOURCE, field=name, expected=expected, got=got)
