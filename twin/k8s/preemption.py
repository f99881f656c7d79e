"""The scheduler's preemption (DefaultPreemption PostFilter) as a pure choice: which node, which victims.

Fidelity ledger — upstream: kubernetes/kubernetes `pkg/scheduler/framework/plugins/defaultpreemption/
default_preemption.go` (`SelectVictimsOnNode`, `PodEligibleToPreemptOthers`) and `pkg/scheduler/framework/preemption/
preemption.go` (`pickOneNodeForPreemption`), Kubernetes docs "Pod Priority and Preemption".
Modelled: a pod whose `preemptionPolicy` is Never preempts nothing; on each node every pod of lower priority is
removed, the node is a candidate if the pod then fits, and the removed pods are reprieved one by one, most important
first (higher priority, then earlier start), whenever the pod still fits with it back: the victims are the least
important pods that must go. Among candidates the node is chosen by, in turn: the lowest highest-priority victim,
the lowest sum of victim priorities, the fewest victims, the latest start time of the highest-priority victims, the
first node. Not modelled: PodDisruptionBudgets (no PDB here, so criterion 1 ties everywhere), inter-pod affinity,
extenders, the scheduler's sampling of candidate nodes (every node is tried: clusters here are small).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

INT32_OFFSET = 2**31  # upstream adds MaxInt32 + 1 so that negative priorities sum as positive numbers

Resources = Mapping[str, float]


@dataclass(frozen=True)
class Running:
    """A pod bound to a node, as the preemption plugin weighs it."""

    name: str
    priority: int
    start_time: float
    requests: Resources


@dataclass(frozen=True)
class Room:
    """A node: what it can allocate now and the pods on it (their requests make up what is requested)."""

    name: str
    allocatable: Resources
    pods: tuple[Running, ...] = ()
    requested: Resources = field(default_factory=dict)


@dataclass(frozen=True)
class Preemption:
    node: str
    victims: tuple[Running, ...]  # most important first, as upstream orders them


def preempt(requests: Resources, priority: int, nodes: list[Room], *, policy: str = "PreemptLowerPriority"
            ) -> Preemption | None:
    """The node and victims the scheduler picks for a pod that fits nowhere; None when preemption cannot help."""
    if policy == "Never":
        return None
    found = [(room.name, victims) for room in nodes
             if (victims := victims_on(requests, priority, room)) is not None and victims]
    if not found:
        return None
    node, victims = min(enumerate(found), key=lambda item: _rank(item[0], item[1][1]))[1]
    return Preemption(node, victims)


def victims_on(requests: Resources, priority: int, room: Room) -> tuple[Running, ...] | None:
    """SelectVictimsOnNode: None when the pod does not fit even with every lower-priority pod gone."""
    lower = [p for p in room.pods if p.priority < priority]
    free = {r: room.allocatable.get(r, 0.0) - room.requested.get(r, 0.0) for r in requests}
    for pod in lower:
        free = _plus(free, pod.requests, sign=1.0)
    if not _fits(requests, free):
        return None
    victims = []
    for pod in sorted(lower, key=lambda p: (-p.priority, p.start_time)):
        reprieved = _plus(free, pod.requests, sign=-1.0)
        if _fits(requests, reprieved):
            free = reprieved
        else:
            victims.append(pod)
    return tuple(victims)


def _rank(index: int, victims: tuple[Running, ...]) -> tuple:
    """pickOneNodeForPreemption's criteria as a sort key, smallest best."""
    highest = victims[0].priority
    earliest = min(p.start_time for p in victims if p.priority == highest)  # GetEarliestPodStartTime
    return (highest, sum(p.priority + INT32_OFFSET for p in victims), len(victims), -earliest, index)


def _plus(free: dict[str, float], requests: Resources, *, sign: float) -> dict[str, float]:
    return {r: amount + sign * requests.get(r, 0.0) for r, amount in free.items()}


def _fits(requests: Resources, free: Mapping[str, float]) -> bool:
    return all(amount <= 0 or amount <= free.get(r, 0.0) + 1e-9 for r, amount in requests.items())
