"""Reader for `runs.csv`: one load-test run per row, its configuration apart from its results.

Blank cells mean "not stated in the source" and stay None (never 0). A numeric cell may carry a trailing remark, as
in `pods = "1 (docker compose)"` or `date = "2023-08-14 (inferred: ...)"`: the leading value is parsed and the
remark kept in `RunConfig.remarks` under the column name. A table for prediction may omit the result columns.
"""
from __future__ import annotations

import datetime
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from calibration.readers import _csv
from twin.config import base as limits

DEVICES = ("gpu", "cpu")
CONFIG_COLUMNS = (
    "id", "cloud_vm", "gpu_model", "gpu_partition", "node_vcpus", "node_ram_gb", "model", "device", "pods",
    "workers_per_pod", "users", "ramp_s", "duration_s", "batch_size", "max_batch_delay_ms",
)
RESULT_COLUMNS = ("throughput_text", "throughput_rps", "avg_response_text", "avg_response_ms", "error_pct",
                  "p95_response_ms", "worker_load_s", "host_load_1m", "host_cpu_pct", "server_cpu_pct",
                  "client_cpu_pct", "ts_mean_latency_ms", "ts_mean_queue_ms")
_SPEC = _csv.TableSpec(required=CONFIG_COLUMNS, optional=("date", "notes", "background_threads", *RESULT_COLUMNS))
# column -> (minimum, maximum, integer); the maxima are the scenario schema's, so every run read can be simulated
_CONFIG_NUMBERS = {
    "node_vcpus": (1, limits.MAX_VCPUS, True), "node_ram_gb": (0, limits.MAX_MEMORY_GIB, False),
    "pods": (1, limits.MAX_PODS, True), "workers_per_pod": (1, limits.MAX_WORKERS, True),
    "users": (1, limits.MAX_USERS, True), "ramp_s": (0, limits.MAX_DURATION_S, False),
    "duration_s": (0, limits.MAX_DURATION_S, False), "batch_size": (1, limits.MAX_BATCH_SIZE, True),
    "max_batch_delay_ms": (0, limits.MAX_DURATION_S * 1000, False),
}


@dataclass(frozen=True)
class RunConfig:
    """What was deployed and how it was loaded. Durations in seconds, delays in ms, RAM in GB as the source says."""

    id: str
    date: datetime.date | None
    cloud_vm: str | None
    gpu_model: str | None
    gpu_partition: str | None
    node_vcpus: int | None
    node_ram_gb: float | None
    model: str | None
    device: str | None  # "gpu" | "cpu"
    pods: int | None
    workers_per_pod: int | None
    users: int | None  # JMeter threads (closed loop)
    ramp_s: float | None
    duration_s: float | None
    batch_size: int | None
    max_batch_delay_ms: float | None
    remarks: Mapping[str, str] = field(default_factory=dict)  # column -> text after the leading value
    # runnable threads of other work on the node during the run (`servetwin observe` estimates it); blank: none
    background_threads: float | None = None


@dataclass(frozen=True)
class RunResult:
    """What the load test reported; the `*_text` fields keep the source's wording ("54/minute")."""

    throughput_rps: float | None
    throughput_text: str | None
    avg_response_ms: float | None
    avg_response_text: str | None
    error_pct: float | None
    p95_response_ms: float | None = None  # not in the study's tables; `servetwin observe` writes both
    worker_load_s: float | None = None  # from asking for more workers until all were READY, before this run
    # the host's 1-minute load average at the run's end, and CPU use over the run in % of one core (htop's
    # convention) of the whole host, the TorchServe processes and the load generator (`servetwin observe`,
    # twin/live/host.py); the rest of the host's use is other work sharing the node
    host_load_1m: float | None = None
    host_cpu_pct: float | None = None
    server_cpu_pct: float | None = None
    client_cpu_pct: float | None = None
    # TorchServe's own mean latency (frontend in to response out) and queue time of the run's requests, from its
    # metrics (`servetwin observe` with a metrics URL): their difference is the time a request spent in the worker
    ts_mean_latency_ms: float | None = None
    ts_mean_queue_ms: float | None = None


@dataclass(frozen=True)
class Run:
    config: RunConfig
    result: RunResult | None  # None when every result cell is blank or absent
    notes: str | None
    line: int


def read_runs(path: str | os.PathLike[str]) -> tuple[Run, ...]:
    """Every run of the table, in file order; ids must be unique."""
    runs: list[Run] = []
    seen: set[str] = set()
    for row in _csv.read_rows(path, _SPEC):
        run = _run(row)
        if run.config.id in seen:
            raise row.error("id", expected="a unique run id", got=f"{run.config.id!r} again")
        seen.add(run.config.id)
        runs.append(run)
    return tuple(runs)


def _run(row: _csv.Row) -> Run:
    return Run(config=_config(row), result=_result(row), notes=row.text("notes"), line=row.line)


def _config(row: _csv.Row) -> RunConfig:
    remarks: dict[str, str] = {}
    numbers = {}
    for column, (minimum, maximum, integer) in _CONFIG_NUMBERS.items():
        value, remark = row.number_with_note(column, minimum=minimum, maximum=maximum, integer=integer)
        numbers[column] = value
        if remark:
            remarks[column] = remark
    device = row.text("device")
    if device is not None and device not in DEVICES:
        raise row.error("device", expected=" or ".join(DEVICES), got=repr(device))
    return RunConfig(
        id=row.required_text("id"), date=_date(row, remarks), cloud_vm=row.text("cloud_vm"),
        gpu_model=row.text("gpu_model"), gpu_partition=row.text("gpu_partition"), model=row.text("model"),
        device=device, remarks=remarks, background_threads=row.number("background_threads", minimum=0), **numbers,
    )


def _date(row: _csv.Row, remarks: dict[str, str]) -> datetime.date | None:
    raw = row.text("date")
    if raw is None:
        return None
    head, _, remark = raw.partition(" ")
    try:
        value = datetime.date.fromisoformat(head)
    except ValueError:
        raise row.error("date", expected="an ISO date YYYY-MM-DD", got=repr(raw)) from None
    if remark.strip():
        remarks["date"] = remark.strip()
    return value


def _result(row: _csv.Row) -> RunResult | None:
    result = RunResult(
        throughput_rps=row.number("throughput_rps", minimum=0),
        throughput_text=row.text("throughput_text"),
        avg_response_ms=row.number("avg_response_ms", minimum=0),
        avg_response_text=row.text("avg_response_text"),
        error_pct=row.number("error_pct", minimum=0),
        p95_response_ms=row.number("p95_response_ms", minimum=0),
        worker_load_s=row.number("worker_load_s", minimum=0),
        host_load_1m=row.number("host_load_1m", minimum=0),
        host_cpu_pct=row.number("host_cpu_pct", minimum=0),
        server_cpu_pct=row.number("server_cpu_pct", minimum=0),
        client_cpu_pct=row.number("client_cpu_pct", minimum=0),
        ts_mean_latency_ms=row.number("ts_mean_latency_ms", minimum=0),
        ts_mean_queue_ms=row.number("ts_mean_queue_ms", minimum=0),
    )
    if result.error_pct is not None and result.error_pct > 100:
        raise row.error("error_pct", expected="a percentage from 0 to 100", got=repr(row.text("error_pct")))
    if all(value is None for value in vars(result).values()):
        return None
    return result
