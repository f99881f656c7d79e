"""Resource arithmetic and bin-packing for the Cluster Autoscaler's scheduling simulations.

Fidelity ledger — upstream: kubernetes/autoscaler `cluster-autoscaler/estimator/binpacking_estimator.go` (pods
sorted by a size score, placed on existing template nodes before a new one is opened) and the scheduler's
NodeResourcesFit filter that the simulator runs. Modelled: first-fit decreasing by the sum of request shares of a
template node, every requested resource (cpu, memory, extended resources) must fit. Not modelled: pod count limits
per node, affinity, topology spread, taints; upstream's own ordering and its per-loop time and node-count limits.
"""
from __future__ import annotations

from typing import Mapping, Sequence

Resources = Mapping[str, float]
EPSILON = 1e-9  # float quantities: 0.1 + 0.2 must fit in 0.3


def fits(requests: Resources, free: Resources) -> bool:
    return all(free.get(name, 0.0) + EPSILON >= amount for name, amount in requests.items() if amount > 0)


def take(requests: Resources, free: dict[str, float]) -> None:
    for name, amount in requests.items():
        free[name] = free.get(name, 0.0) - amount


def size(requests: Resources, scale: Resources) -> float:
    """A pod's size as the sum of its request shares of `scale` (a template node): the decreasing order."""
    return sum(amount / scale[name] for name, amount in requests.items() if scale.get(name))


def by_size(pods: Sequence[Resources], capacity: Sequence[Resources]) -> list[int]:
    """Pod indexes, biggest first, size measured against the largest room of each resource in `capacity`."""
    scale = {name: max(room.get(name, 0.0) for room in capacity) for room in capacity for name in room}
    return sorted(range(len(pods)), key=lambda i: -size(pods[i], scale))


def place(pods: Sequence[Resources], free: list[dict[str, float]]) -> list[int | None]:
    """First fit, in the given order, onto `free` (updated in place): each pod's slot index, None if none fits."""
    slots: list[int | None] = []
    for pod in pods:
        slot = next((i for i, room in enumerate(free) if fits(pod, room)), None)
        if slot is not None:
            take(pod, free[slot])
        slots.append(slot)
    return slots


def pack_new_nodes(pods: Sequence[Resources], template: Resources, *, limit: int) -> list[list[int]]:
    """First-fit decreasing onto at most `limit` new template nodes: the pod indexes on each node opened.
    Pods that fit no empty template node, or no node once the limit is reached, are left out."""
    order = sorted(range(len(pods)), key=lambda i: -size(pods[i], template))
    bins: list[tuple[dict[str, float], list[int]]] = []
    for index in order:
        pod = pods[index]
        if not fits(pod, template):
            continue
        slot = next((b for b in bins if fits(pod, b[0])), None)
        if slot is None and len(bins) < limit:
            slot = (dict(template), [])
            bins.append(slot)
        if slot is not None:
            take(pod, slot[0])
            slot[1].append(index)
    return [members for _, members in bins]
