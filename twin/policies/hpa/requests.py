"""The HPA's per-pod request for a resource metric: the denominator of utilisation.

Fidelity ledger — upstream: kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator.go`
(`calculateRequests`, `calculatePodLevelRequests`, `calculatePodRequestsFromContainers`, master of 2026 — the
indexed copy with `Tolerances`, `PodLevelResources` (beta, on by default since 1.34) and the MaxInt64 cap) and its
`TestCalculateRequests` table. Modelled: without a container name, pod-level requests win when the pod sets any
(then the pod total comes from `PodRequests`, and a resource it lacks is "missing pod-level request"); otherwise
containers plus restartable init containers (sidecars) are summed, plain init containers are not, and every counted
container must request the resource; a ContainerResource metric takes that container's request only, pod-level
requests notwithstanding, and a container the pod lacks is an error. Pods that give no containers fall back to
`PodObservation.requests` (pre-summed totals). Not modelled: the `PodLevelResources` gate turned off (it is on by
default where pod-level resources exist).
"""
from __future__ import annotations

from twin.config.quantity import milli_value
from twin.policies.hpa.observation import PodObservation
from twin.policies.pod_resources import pod_level_resource, pod_requests


class RequestError(Exception):
    """A pod whose request for the metric's resource cannot be known (upstream's error from calculateRequests)."""


def pod_request(pod: PodObservation, resource: str, container: str = "") -> int:
    """The request, in milli-units (each container's `MilliValue` summed), that utilisation divides by."""
    if not container and any(pod_level_resource(name) for name in pod.pod_requests or {}):
        return _pod_level(pod, resource)
    if pod.containers:
        return _from_containers(pod, resource, container)
    name = f"{container}/{resource}" if container else resource
    if name not in pod.requests:
        raise RequestError(f"missing request for {name} in pod {pod.name}")
    return milli_value(pod.requests[name])


def _pod_level(pod: PodObservation, resource: str) -> int:
    totals = pod_requests(pod.containers, pod.init_containers, pod_level=pod.pod_requests)
    if resource not in totals:
        raise RequestError(f"missing pod-level request for {resource} in Pod {pod.name}")
    return milli_value(round(totals[resource], 9))  # a sum of floats: drop the binary noise before rounding up


def _from_containers(pod: PodObservation, resource: str, container: str) -> int:
    counted = [*pod.containers, *(c for c in pod.init_containers if c.restartable)]
    if container:
        counted = [c for c in counted if c.name == container][:1]  # names are unique within a pod
        if not counted:
            raise RequestError(f"container {container} not found in Pod {pod.name}")
    for c in counted:
        if resource not in c.requests:
            raise RequestError(f"missing request for {resource} in container {c.name} of Pod {pod.name}")
    return sum(milli_value(c.requests[resource]) for c in counted)
