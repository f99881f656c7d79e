"""The Vertical Pod Autoscaler as reconcile steps: the recommender loop (metrics-server samples and OOM kills in, a
recommendation out), the updater loop (resize in place or evict through the ports) and, in the twin, the admission
controller that gives new pods the recommendation.

Samples come as metrics-server serves them (the HPA step's resource queries); an OOM kill is seen in the pod's last
termination state, with the memory the pod requested then.
"""
from __future__ import annotations

from twin.control.hpa_step import RESOURCE_QUERIES, by_pod
from twin.policies.vpa import admission, capping
from twin.policies.vpa import updater as policy
from twin.policies.vpa.estimator import Bounds
from twin.policies.vpa.recommender import Recommender
from twin.ports import Decision, PodView, Ports


class VpaStep:
    def __init__(self, recommender: Recommender, updater: policy.UpdaterConfig, controller: str = "vpa") -> None:
        self.recommender = recommender
        self.updater = updater
        self.controller = controller
        self.state = policy.UpdaterState()
        self.bounds: Bounds | None = None  # status.recommendation
        self._ooms: dict[str, tuple[float, float]] = {}  # the last OOM seen per pod

    def recommend(self, now: float, ports: Ports) -> list[Decision]:
        pods = [p for p in ports.cluster.pods() if not p.deleting]
        cpu, memory = (by_pod(ports.metrics, RESOURCE_QUERIES[r]) for r in ("cpu", "memory"))
        for pod in pods:
            if pod.phase == "Running":
                self.recommender.observe(pod.name, now, cpu_cores=cpu.get(pod.name), memory_bytes=memory.get(pod.name))
            self._oom(pod)
        live = {p.name for p in pods}
        self.recommender.forget(live)
        self._ooms = {name: oom for name, oom in self._ooms.items() if name in live}
        self.bounds = self.recommender.recommendation()
        return []

    def update(self, now: float, ports: Ports) -> list[Decision]:
        if self.bounds is None:
            return []
        pods = {p.name: p for p in ports.cluster.pods() if not p.deleting}
        states = [policy.PodState(p.name, p.phase, p.start_time, p.requests, p.resize_status, p.last_oom)
                  for p in pods.values()]
        actions = policy.plan(self.recommender.spec.mode, states, self._bounds_by_pod(pods.values()),
                              replicas=ports.cluster.deployment_replicas()[0], now=now, config=self.updater,
                              state=self.state, min_replicas=self.recommender.spec.min_replicas)
        return [self._enact(now, ports, pods[a.pod], a) for a in actions]

    def admit(self, requests: dict[str, float], limits: dict[str, float]) -> tuple[dict, dict]:
        """The admission controller's patch of a pod being created."""
        recommender = self.recommender
        return admission.admit(recommender.spec, recommender.container, self.bounds, requests, limits)

    def _bounds_by_pod(self, pods) -> dict[str, Bounds]:
        return {p.name: capping.cap(self.bounds, self.recommender.policy, p.limits) for p in pods}

    def _oom(self, pod: PodView) -> None:
        if pod.last_oom is not None and self._ooms.get(pod.name) != pod.last_oom:
            self._ooms[pod.name] = pod.last_oom
            self.recommender.record_oom(pod.name, pod.last_oom[1], pod.requests.get("memory", 0.0))

    def _enact(self, now: float, ports: Ports, pod: PodView, action: policy.Action) -> Decision:
        if action.kind == "evict":
            ports.cluster.evict_pod(pod.name)
            return Decision(now, self.controller, "evict_pod", pod.name, {}, action.reason)
        target = capping.cap(self.bounds, self.recommender.policy, pod.limits).target
        requests, limits = capping.resources(target, self.recommender.policy, pod.requests, pod.limits)
        status = ports.cluster.resize_pod(pod.name, requests, limits)
        value = {"memory_bytes" if r == "memory" else r: requests[r] for r in target if r in requests}
        return Decision(now, self.controller, "resize_pod", pod.name, value, f"{action.reason} ({status or 'applied'})")
