"""A request in flight: plain data passed from the workload through Kubernetes to TorchServe and back."""
from __future__ import annotations

from typing import Any


class Request:
    """One inference request. `source` is told of the response (a closed-loop user, or None for open loop)."""

    __slots__ = ("arrival", "source", "pod")

    def __init__(self, arrival: float, source: Any) -> None:
        self.arrival = arrival
        self.source = source
        self.pod: Any = None


# Outcomes: HTTP status and the kind of error, as a client and TorchServe's logs would tell them apart.
OK = "ok"
QUEUE_FULL = "queue_full"  # 503: the model's job queue is full
NO_WORKER = "no_worker"  # 503: the model has no worker thread at all
NO_ENDPOINT = "no_endpoint"  # connection refused: the Service has no Ready pod
RESPONSE_TIMEOUT = "response_timeout"  # 500: the worker did not answer within responseTimeout and was restarted
WORKER_STOPPED = "worker_stopped"  # 500: the worker was scaled down with the request in flight
GPU_OOM = "gpu_oom"  # 507: CUDA out of memory while serving
CONNECTION_RESET = "connection_reset"  # the pod died (OOM-kill, deletion) with the request in flight

STATUS = {OK: 200, QUEUE_FULL: 503, NO_WORKER: 503, NO_ENDPOINT: 0, RESPONSE_TIMEOUT: 500, WORKER_STOPPED: 500,
          GPU_OOM: 507, CONNECTION_RESET: 0}
ERROR_KINDS = tuple(kind for kind in STATUS if kind != OK)
