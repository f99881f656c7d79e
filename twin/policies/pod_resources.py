"""A pod's effective requests as the scheduler, the Cluster Autoscaler and the HPA count them.

Fidelity ledger — upstream: kubernetes/kubernetes `staging/src/k8s.io/component-helpers/resource/helpers.go`
(`PodRequests`, `AggregateContainerRequests`, `IsPodLevelRequestsSet`, `IsSupportedPodLevelResource`), the sidecar
rule of KEP-753 and the pod-level resources of KEP-2837 (beta, on by default since 1.34). Modelled: containers
summed; a restartable init container (restartPolicy Always, a sidecar) adds to the steady sum and to every later
init container; the pod asks for max(steady sum, largest init step); pod-level requests replace the aggregate for
the resources they may set (cpu, memory, hugepages-*); `overhead` is added last.
Not modelled: in-place resize status (allocated vs desired), the non-zero defaults the scheduler's scoring uses.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

ALWAYS = "Always"  # the only restartPolicy an init container may carry: it makes the container a sidecar

Requests = Mapping[str, float]


@dataclass(frozen=True)
class Container:
    name: str = ""
    requests: Requests = field(default_factory=dict)
    restart_policy: str | None = None  # init containers only; "Always" marks a sidecar

    @property
    def restartable(self) -> bool:
        return self.restart_policy == ALWAYS


def pod_level_resource(name: str) -> bool:
    """`IsSupportedPodLevelResource`."""
    return name in ("cpu", "memory") or name.startswith("hugepages-")


def _add(total: dict[str, float], extra: Requests) -> dict[str, float]:
    return {name: total.get(name, 0.0) + extra.get(name, 0.0) for name in {*total, *extra}}


def _max(a: Requests, b: Requests) -> dict[str, float]:
    return {name: max(a.get(name, 0.0), b.get(name, 0.0)) for name in {*a, *b}}


def aggregate(containers: Iterable[Container], init_containers: Iterable[Container] = ()) -> dict[str, float]:
    """`AggregateContainerRequests`: max(containers + sidecars, the largest init step)."""
    steady: dict[str, float] = {}
    for container in containers:
        steady = _add(steady, container.requests)
    sidecars: dict[str, float] = {}
    largest_init: dict[str, float] = {}
    for init in init_containers:
        if init.restartable:
            steady = _add(steady, init.requests)
            sidecars = _add(sidecars, init.requests)
            step = sidecars
        else:
            step = _add(init.requests, sidecars)  # the sidecars started before it keep running
        largest_init = _max(largest_init, step)
    return _max(steady, largest_init)


def pod_requests(containers: Iterable[Container], init_containers: Iterable[Container] = (), *,
                 pod_level: Requests | None = None, overhead: Requests | None = None) -> dict[str, float]:
    """`PodRequests`: the aggregate, pod-level requests where set, then the runtime overhead."""
    total = aggregate(containers, init_containers)
    for name, amount in (pod_level or {}).items():
        if pod_level_resource(name):
            total[name] = amount
    return _add(total, overhead or {})
