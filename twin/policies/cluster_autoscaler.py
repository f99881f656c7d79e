"""The Cluster Autoscaler's scale-up and scale-down decisions as a pure policy.

Fidelity ledger — upstream: kubernetes/autoscaler cluster-autoscaler FAQ ("How does scale-up work?", "How does
scale-down work?", flag defaults), utils/gpu (GPU nodes count as upcoming until GPUs are allocatable).
Modelled: scale-up for pending pods that fit no node, after discounting what fits on nodes already upcoming; pods
bin-packed first-fit-decreasing onto each group's template node; the group chosen by least waste (expander
least-waste) within its max; scale-down of a node whose requests stay below the utilisation threshold (GPU requests
only on GPU nodes) for `scale_down_unneeded_time_s`, whose pods fit elsewhere, above the group's min, not within
`scale_down_delay_after_add_s` of a scale-up; empty nodes in bulk, others one at a time. Not modelled: PDBs, local
storage and other non-movable pods, max-node-provision-time failures and backoff, max-nodes-total, priorities,
balancing similar groups.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Mapping


@dataclass(frozen=True)
class NodeGroup:
    name: str
    min_count: int
    max_count: int
    allocatable: Mapping[str, float]  # the group's template node
    price_per_hour: float = 0.0


@dataclass(frozen=True)
class CASettings:
    scan_interval_s: float = 10.0
    scale_down_utilization_threshold: float = 0.5
    scale_down_gpu_utilization_threshold: float = 0.5
    scale_down_unneeded_time_s: float = 600.0
    scale_down_delay_after_add_s: float = 600.0


@dataclass(frozen=True)
class Node:
    name: str
    group: str
    allocatable: Mapping[str, float]
    requested: Mapping[str, float]
    pods: tuple[Mapping[str, float], ...] = ()  # requests of the pods on it


@dataclass(frozen=True)
class CAState:
    unneeded_since: Mapping[str, float] = field(default_factory=dict)
    last_scale_up: float | None = None


@dataclass(frozen=True)
class CADecision:
    add: Mapping[str, int] = field(default_factory=dict)  # group -> nodes to request
    remove: tuple[str, ...] = ()
    reason: str = ""


def reconcile(groups: tuple[NodeGroup, ...], settings: CASettings, state: CAState, *, nodes: tuple[Node, ...],
              pending: tuple[Mapping[str, float], ...], upcoming: Mapping[str, int], now: float
              ) -> tuple[CADecision, CAState]:
    """One scan: scale up for pending pods if any, else consider scale-down."""
    by_name = {g.name: g for g in groups}
    unplaced = _unplaced(pending, [by_name[g].allocatable for g, n in upcoming.items() for _ in range(n)
                                   if g in by_name])
    if unplaced:
        add = _scale_up(groups, unplaced, nodes, upcoming)
        if add:
            return CADecision(add=add, reason=f"{len(unplaced)} pending pod(s) fit no node"), \
                CAState(unneeded_since={}, last_scale_up=now)
        return CADecision(reason="pending pods fit no group"), state
    return _scale_down(by_name, settings, state, nodes, now)


def _fits(requests: Mapping[str, float], free: Mapping[str, float]) -> bool:
    return all(free.get(r, 0.0) + 1e-9 >= amount for r, amount in requests.items() if amount > 0)


def _take(requests: Mapping[str, float], free: dict[str, float]) -> None:
    for r, amount in requests.items():
        free[r] = free.get(r, 0.0) - amount


def _unplaced(pods: tuple[Mapping[str, float], ...], capacities: list[Mapping[str, float]]
              ) -> list[Mapping[str, float]]:
    """Pods left after first-fit-decreasing onto the given free capacities."""
    free = [dict(c) for c in capacities]
    left = []
    for pod in sorted(pods, key=lambda p: -sum(p.values())):
        slot = next((f for f in free if _fits(pod, f)), None)
        if slot is None:
            left.append(pod)
        else:
            _take(pod, slot)
    return left


def _scale_up(groups, pods, nodes, upcoming) -> dict[str, int]:
    best, best_waste = None, math.inf
    for group in groups:
        existing = sum(1 for n in nodes if n.group == group.name) + upcoming.get(group.name, 0)
        room = group.max_count - existing
        fitting = [p for p in pods if _fits(p, group.allocatable)]
        if room <= 0 or not fitting:
            continue
        bins: list[dict[str, float]] = []
        for pod in sorted(fitting, key=lambda p: -sum(p.values())):
            slot = next((b for b in bins if _fits(pod, b)), None)
            if slot is None:
                slot = dict(group.allocatable)
                bins.append(slot)
            _take(pod, slot)
        count = min(len(bins), room)
        waste = _waste(group.allocatable, bins) - len(fitting)  # prefer groups that place more pods
        if waste < best_waste:
            best, best_waste = {group.name: count}, waste
    return best or {}


def _waste(template: Mapping[str, float], bins: list[dict[str, float]]) -> float:
    shares = [b[r] / template[r] for b in bins for r in ("cpu", "memory") if template.get(r)]
    return sum(shares) / max(len(shares), 1)


def _utilisation(node: Node) -> float:
    gpus = [r for r in node.allocatable if r.startswith("nvidia.com/") and node.allocatable[r] > 0]
    names = gpus or [r for r in ("cpu", "memory") if node.allocatable.get(r)]
    return max((node.requested.get(r, 0.0) / node.allocatable[r] for r in names), default=0.0)


def _scale_down(groups: Mapping[str, NodeGroup], settings: CASettings, state: CAState, nodes: tuple[Node, ...],
                now: float) -> tuple[CADecision, CAState]:
    if state.last_scale_up is not None and now - state.last_scale_up < settings.scale_down_delay_after_add_s:
        return CADecision(reason="scale-down delayed after a scale-up"), state
    unneeded = {}
    for node in nodes:
        threshold = settings.scale_down_gpu_utilization_threshold if any(
            r.startswith("nvidia.com/") for r in node.allocatable) else settings.scale_down_utilization_threshold
        others = [dict((r, n.allocatable[r] - n.requested.get(r, 0.0)) for r in n.allocatable)
                  for n in nodes if n is not node]
        if _utilisation(node) < threshold and not _unplaced(node.pods, others):
            unneeded[node.name] = state.unneeded_since.get(node.name, now)
    counts = {g: sum(1 for n in nodes if n.group == g) for g in groups}
    ripe = [n for n in nodes if n.name in unneeded and now - unneeded[n.name] >= settings.scale_down_unneeded_time_s]
    remove: list[str] = []
    for node in sorted(ripe, key=lambda n: len(n.pods)):
        group = groups.get(node.group)
        if group is None or counts[node.group] <= group.min_count or (node.pods and remove):
            continue
        if node.pods and any(not n.pods for n in ripe if n.name in remove):
            continue
        remove.append(node.name)
        counts[node.group] -= 1
        if node.pods:
            break  # non-empty nodes one at a time
    new_state = CAState(unneeded_since={k: v for k, v in unneeded.items() if k not in remove},
                        last_scale_up=state.last_scale_up)
    return CADecision(remove=tuple(remove), reason="unneeded" if remove else ""), new_state
