"""TorchServe worker autoscaling as a reconcile step: per pod, scale workers through the management API and, when
asked, resize the pod's memory in place first (up) or after (down), so new workers never cross the memory limit."""
from __future__ import annotations

from twin.policies import workers as policy
from twin.ports import Decision, MetricsUnavailable, PodView, Ports

IN_SERVICE = ("sum by (pod) (rate(ts_inference_latency_microseconds[{window}])"
              " - rate(ts_queue_latency_microseconds[{window}])) / 1e6")


class WorkersStep:
    def __init__(self, spec: policy.WorkerPolicy, *, resize_memory: bool, window: str = "1m") -> None:
        self.spec = spec
        self.resize_memory = resize_memory
        self.query = IN_SERVICE.format(window=window)
        self.state = policy.WorkerState()

    def sync(self, now: float, ports: Ports) -> list[Decision]:
        in_service = self._in_service(ports)
        pods, observed = {}, []
        for pod in ports.cluster.pods():
            described = ports.torchserve.describe(pod.name) if pod.ready else None
            if described is None:
                continue
            pods[pod.name] = pod
            observed.append(policy.PodWorkers(pod.name, described.min_workers, described.starting,
                                              in_service.get(pod.name)))
        decisions, self.state = policy.reconcile(self.spec, self.state, observed, now=now)
        current = {p.pod: p.workers for p in observed}
        return [d for decision in decisions
                for d in self._enact(now, ports, pods[decision.pod], current[decision.pod], decision)]

    def _in_service(self, ports: Ports) -> dict[str, float]:
        try:
            return {s.labels.get("pod", ""): s.value for s in ports.metrics.query(self.query)}
        except MetricsUnavailable:
            return {}

    def _enact(self, now: float, ports: Ports, pod: PodView, workers: int,
               decision: policy.WorkerDecision) -> list[Decision]:
        need = self.spec.memory_bytes(decision.workers)
        limit = pod.limits.get("memory")
        growing = decision.workers > workers
        if self.resize_memory and growing and (limit is None or limit < need):
            if pod.resize_status:
                return []  # a resize is under way or waiting for room: the workers follow once it is applied
            status = ports.cluster.resize_pod(pod.name, {"memory": need}, {"memory": need})
            return [Decision(now, "memory", "resize_pod", pod.name, {"memory_bytes": need},
                             f"room for {decision.workers} workers ({status or 'applied'})")]
        ports.torchserve.scale_workers(pod.name, decision.workers, decision.workers)
        made = [Decision(now, "workers", "scale_workers", pod.name,
                         {"min_worker": decision.workers, "max_worker": decision.workers}, decision.reason)]
        if self.resize_memory and not growing and limit is not None and limit > need:
            ports.cluster.resize_pod(pod.name, {"memory": need}, {"memory": need})
            made.append(Decision(now, "memory", "resize_pod", pod.name, {"memory_bytes": need},
                                 f"{decision.workers} workers need less"))
        return made
