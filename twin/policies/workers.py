"""TorchServe worker autoscaling per pod, with the pod memory each worker count needs — a pure policy.

Signal: the mean number of requests in service in a pod, by Little's law from TorchServe's own counters,
(rate(ts_inference_latency_microseconds) − rate(ts_queue_latency_microseconds)) / 10^6 — TorchServe exports no busy
gauge or worker count (pytorch/serve #714, #2101). With batching, requests in service overstate busy workers by up to
the batch size. Rule: desired = ceil(in_service / target_utilization), kept within a tolerance band, clamped to
[min, max], at most `max_step_up` more per decision, a scale-down only to a count that runs `tolerance` below target
(hysteresis, so noise on the rate does not undo it) and to the highest recommendation of the stabilisation window, and nothing while workers are still loading (TorchServe scales asynchronously).
Memory: frontend + workers × worker RSS × (1 + margin), rounded up to 64 MiB, as request and limit.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

MIB = 2**20


@dataclass(frozen=True)
class WorkerPolicy:
    min_workers: int = 1
    max_workers: int = 8
    target_utilization: float = 0.7  # requests in service per worker
    tolerance: float = 0.1
    max_step_up: int = 2
    scale_down_stabilization_s: float = 120.0
    worker_memory_mib: float = 2048.0  # host RSS of one worker (a calibrated profile's worker_rss_mib)
    frontend_memory_mib: float = 256.0
    memory_margin: float = 0.1
    gpu_memory_per_worker_mib: float = 0.0  # 0: not a GPU model

    def memory_bytes(self, workers: int) -> float:
        """Request and limit for `workers` workers."""
        mib = self.frontend_memory_mib + workers * self.worker_memory_mib * (1 + self.memory_margin)
        return math.ceil(mib / 64) * 64 * MIB


@dataclass(frozen=True)
class PodWorkers:
    pod: str
    workers: int  # min_workers as set through the management API
    starting: int  # workers still loading
    in_service: float | None  # mean requests in service; None when the metric is missing
    gpu_free_mib: float | None = None  # device memory left on the pod's GPU(s)


@dataclass(frozen=True)
class WorkerDecision:
    pod: str
    workers: int  # desired min_worker = max_worker
    reason: str


@dataclass(frozen=True)
class WorkerState:
    history: dict[str, tuple[tuple[float, int], ...]] = field(default_factory=dict)  # pod -> (time, recommendation)


def reconcile(policy: WorkerPolicy, state: WorkerState, pods: list[PodWorkers], *, now: float
              ) -> tuple[list[WorkerDecision], WorkerState]:
    decisions, history = [], {}
    for pod in pods:
        recommendation, reason = _recommend(policy, pod)
        window = tuple((t, n) for t, n in state.history.get(pod.pod, ())
                       if t > now - policy.scale_down_stabilization_s) + ((now, recommendation),)
        history[pod.pod] = window
        desired = recommendation
        if desired < pod.workers:
            desired = min(pod.workers, max(n for _, n in window))
            reason = reason if desired == recommendation else "scale-down stabilised"
        if desired != pod.workers:
            decisions.append(WorkerDecision(pod.pod, desired, reason))
    return decisions, replace(state, history=history)


def _hysteresis_floor(policy: WorkerPolicy, in_service: float) -> int:
    """The fewest workers that run at least `tolerance` below target: a scale-down to fewer would put the pod within
    noise of scaling straight back up (at constant load the 1-minute rate's noise made pods cycle 1 -> 2 -> 1)."""
    return math.ceil(in_service / (policy.target_utilization * (1 - policy.tolerance)) - 1e-9)


def _recommend(policy: WorkerPolicy, pod: PodWorkers) -> tuple[int, str]:
    if pod.starting:
        return pod.workers, "workers still loading"
    if pod.in_service is None:
        return pod.workers, "metric missing"
    ratio = pod.in_service / (policy.target_utilization * max(pod.workers, 1))
    if abs(ratio - 1) <= policy.tolerance:
        return pod.workers, "within tolerance"
    desired = max(policy.min_workers, min(policy.max_workers, math.ceil(pod.in_service / policy.target_utilization)))
    if desired < pod.workers:
        desired = min(pod.workers, max(desired, _hysteresis_floor(policy, pod.in_service)))
        if desired == pod.workers:
            return pod.workers, "fewer workers would sit at the edge of the tolerance band"
    desired = min(desired, pod.workers + policy.max_step_up)
    reason = "in-service requests above target" if desired > pod.workers else "in-service requests below target"
    if desired > pod.workers and policy.gpu_memory_per_worker_mib > 0 and pod.gpu_free_mib is not None:
        fits = pod.workers + int(pod.gpu_free_mib // policy.gpu_memory_per_worker_mib)
        if fits < desired:
            desired, reason = max(fits, pod.workers), "limited by GPU memory"
    return desired, reason
