"""Resource arithmetic and first-fit placement for the Cluster Autoscaler's simulations on registered nodes.

Fidelity ledger — upstream: the scheduler's NodeResourcesFit filter that the simulator runs (every requested
resource — cpu, memory, extended resources — must fit), for `core/scaledown` (pods of a drained node placed on the
nodes that stay) and pods waiting for upcoming nodes. Sizing new nodes, and the full filters for pending pods on
registered nodes, are `cluster_autoscaler.estimator`'s; `pack_new_nodes` reaches it.
Not modelled here: pod counts, host ports, affinity, topology spread and taints for drains and upcoming nodes.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Sequence

from twin.policies.cluster_autoscaler import estimator
from twin.policies.cluster_autoscaler.estimator import PodShape

Resources = Mapping[str, float]
EPSILON = estimator.EPSILON


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


def pack_new_nodes(pods: Sequence[Resources | PodShape], template: Resources, *, limit: int,
                   labels: Mapping[str, str] | None = None,
                   existing: Sequence[estimator.SimNode] = ()) -> list[list[int]]:
    """The pod indexes on each new template node the estimator opens (at most `limit`, 0: none allowed); pods may
    be plain request mappings."""
    shapes = [pod if hasattr(pod, "requests") else _Requests(pod) for pod in pods]
    if limit <= 0:
        return []
    found = estimator.estimate(shapes, template, labels=labels, max_nodes=limit, existing=existing)
    return [list(members) for members in found.nodes]


@dataclass(frozen=True)
class _Requests:
    """A plain request mapping as a pod with nothing else to schedule by."""

    requests: Resources
    host_ports: tuple = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    spread: tuple = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)
