"""Reader for TorchServe's management API describe-model answer (`GET :8081/models/NAME`, JSON).

Fidelity ledger (upstream: TorchServe 0.12 `ManagementRequestHandler`/`DescribeModelResponse`):
- modelled: the answer is a list of model objects (one per version); each carries `modelName`, `modelVersion`,
  `minWorkers`, `maxWorkers`, `batchSize`, `maxBatchDelay` (ms), `responseTimeout` (s), `jobQueueStatus`
  {`remainingCapacity`, `pendingRequests`} and `workers` [{`id`, `startTime`, `status`, `memoryUsage` (bytes of host
  RSS, 0 until the metrics collector first runs), `pid` (-1 while starting), `gpu`, `gpuUsage`}]. A starting worker
  shows `UNLOADING` and a busy one `READY`: there is no busy state. `gpuUsage` is nvidia-smi's text
  ("gpuId::0 utilization.gpu [%]::21 % utilization.memory [%]::1 % memory.used [MiB]::1644 MiB") or "N/A"; its
  pairs are parsed into `gpu_usage` and memory.used into `gpu_memory_used_mib`. Other keys are ignored.
- not modelled: the `customizedMetadata`, `parallelType`, `continuousBatching`, ... keys.
"""
from __future__ import annotations

import datetime
import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from calibration.readers import _csv
from twin.errors import InputError

_GPU_PAIR = re.compile(r"([A-Za-z_.]+(?: \[[^\]]*\])?)::(\S+(?: (?:%|MiB))?)")


@dataclass(frozen=True)
class WorkerInfo:
    id: str
    start_time: datetime.datetime
    status: str  # READY | UNLOADING
    memory_usage_bytes: int | None
    pid: int | None  # None while the worker process is starting (pid -1)
    gpu: bool
    gpu_usage: Mapping[str, str]  # e.g. {"gpuId": "0", "memory.used [MiB]": "1644 MiB"}; empty when "N/A"
    gpu_memory_used_mib: float | None  # whole-GPU memory.used as the worker's nvidia-smi query saw it


@dataclass(frozen=True)
class ModelDescription:
    model_name: str
    model_version: str
    min_workers: int
    max_workers: int
    batch_size: int
    max_batch_delay_ms: int
    response_timeout_s: int | None
    queue_remaining_capacity: int | None  # jobQueueStatus; None when the key is absent
    queue_pending_requests: int | None
    workers: tuple[WorkerInfo, ...]


def read_describe(path: str | os.PathLike[str]) -> tuple[ModelDescription, ...]:
    return parse_describe(_csv.read_text(path), source=os.fspath(path))


def parse_describe(text: str, *, source: str = "<describe>") -> tuple[ModelDescription, ...]:
    """The model objects of a describe answer (a list; a single object is accepted too)."""
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputError(source=source, line=exc.lineno, field="", expected="JSON", got=exc.msg) from None
    models = document if isinstance(document, list) else [document]
    if not models:
        raise InputError(source=source, field="", expected="at least one model", got="an empty list")
    return tuple(_model(_Node(source, f"[{index}]", model)) for index, model in enumerate(models))


@dataclass(frozen=True)
class _Node:
    """A JSON object and its path, to name the field of any error."""

    source: str
    path: str
    value: Any

    def child(self, key: str, *, required: bool = True) -> _Node | None:
        if not isinstance(self.value, dict):
            raise self.error(self.path, expected="an object", got=type(self.value).__name__)
        if key not in self.value:
            if required:
                raise self.error(f"{self.path}.{key}", expected="a value", got="no such key")
            return None
        return _Node(self.source, f"{self.path}.{key}", self.value[key])

    def error(self, path: str, *, expected: str, got: str) -> InputError:
        return InputError(source=self.source, field=path, expected=expected, got=got)

    def integer(self, key: str, *, minimum: int = 0, required: bool = True) -> int | None:
        node = self.child(key, required=required)
        if node is None:
            return None
        if isinstance(node.value, bool) or not isinstance(node.value, int) or node.value < minimum:
            raise self.error(node.path, expected=f"a whole number >= {minimum}", got=repr(node.value))
        return node.value

    def string(self, key: str) -> str:
        node = self.child(key)
        if not isinstance(node.value, str) or not node.value:
            raise self.error(node.path, expected="a non-empty string", got=repr(node.value))
        return node.value


def _model(node: _Node) -> ModelDescription:
    queue = node.child("jobQueueStatus", required=False)
    workers = node.child("workers")
    if not isinstance(workers.value, list):
        raise node.error(workers.path, expected="a list", got=type(workers.value).__name__)
    return ModelDescription(
        model_name=node.string("modelName"), model_version=node.string("modelVersion"),
        min_workers=node.integer("minWorkers"), max_workers=node.integer("maxWorkers"),
        batch_size=node.integer("batchSize", minimum=1), max_batch_delay_ms=node.integer("maxBatchDelay"),
        response_timeout_s=node.integer("responseTimeout", required=False),
        queue_remaining_capacity=None if queue is None else queue.integer("remainingCapacity"),
        queue_pending_requests=None if queue is None else queue.integer("pendingRequests"),
        workers=tuple(_worker(_Node(node.source, f"{workers.path}[{i}]", w)) for i, w in enumerate(workers.value)),
    )


def _worker(node: _Node) -> WorkerInfo:
    pid = node.integer("pid", minimum=-1, required=False)
    gpu = node.child("gpu", required=False)
    if gpu is not None and not isinstance(gpu.value, bool):
        raise node.error(gpu.path, expected="true or false", got=repr(gpu.value))
    usage = _gpu_usage(node)
    return WorkerInfo(
        id=str(node.child("id").value), start_time=_start_time(node), status=node.string("status"),
        memory_usage_bytes=node.integer("memoryUsage", required=False),
        pid=None if pid == -1 else pid, gpu=bool(gpu and gpu.value), gpu_usage=usage,
        gpu_memory_used_mib=_mib(usage.get("memory.used [MiB]")),
    )


def _start_time(node: _Node) -> datetime.datetime:
    text = node.string("startTime")
    try:
        return datetime.datetime.fromisoformat(text)
    except ValueError:
        raise node.error(f"{node.path}.startTime", expected="an ISO 8601 time", got=repr(text)) from None


def _gpu_usage(node: _Node) -> dict[str, str]:
    usage = node.child("gpuUsage", required=False)
    if usage is None or usage.value in ("N/A", ""):
        return {}
    if not isinstance(usage.value, str):
        raise node.error(usage.path, expected="nvidia-smi text or N/A", got=repr(usage.value))
    return dict(_GPU_PAIR.findall(usage.value))


def _mib(text: str | None) -> float | None:
    return None if text is None else _csv.parse_float(text.removesuffix("MiB"))
