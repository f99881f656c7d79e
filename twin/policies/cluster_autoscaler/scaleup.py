"""Cluster Autoscaler scale-up: failed provisioning and group backoff, then sizing and choosing a group.

Fidelity ledger — upstream: kubernetes/autoscaler `cluster-autoscaler/FAQ.md` "How does scale-up work?",
`core/scaleup/orchestrator` (filter pods that fit existing or upcoming nodes, one expansion option per group, best
option by the expander, capped by the group's max size and max-nodes-total, sized by `cluster_autoscaler.estimator`
on the group's template node), `expander/waste` (least-waste: the
smallest (idle cpu share + idle memory share) of the nodes added; upstream breaks ties at random, here by group
name), `utils/backoff/exponential_backoff.go` (first backoff initial-node-group-backoff-duration 5 min, doubled on
every failure within node-group-backoff-reset-timeout 3 h of the last, at most 30 min), `clusterstate`
(max-node-provision-time 15 min: unregistered nodes then stop counting and are deleted, the group backs off),
FAQ "How does Cluster Autoscaler work with Pod Priority and Preemption?" (pods of priority below
expendable-pods-priority-cutoff, default -10 since CA 1.12, trigger no scale-up; nor does a pod already waiting for
the preemption of lower-priority pods, i.e. one with a nominated node).
Not modelled: balancing similar groups, node-group auto-provisioning, pods that could be helped only by a group in
backoff being retried elsewhere within the same loop (they are, on the next loop).
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from collections.abc import Sequence

from twin.policies.cluster_autoscaler.binpack import by_size, pack_new_nodes, place
from twin.policies.cluster_autoscaler.estimator import SimNode
from twin.policies.cluster_autoscaler.model import (
    Backoff, CASettings, CASpec, CAState, NodeGroup, PendingPod, Resources, UpcomingNode,
)


@dataclass(frozen=True)
class Option:
    group: NodeGroup
    count: int
    pods: tuple[str, ...]
    waste: float


def expired(upcoming: tuple[UpcomingNode, ...], *, now: float, settings: CASettings) -> tuple[UpcomingNode, ...]:
    """Requested nodes still unregistered after max-node-provision-time: the scale-up failed."""
    return tuple(u for u in upcoming if now - u.requested_at >= settings.max_node_provision_time_s)


def back_off(state: CAState, groups: set[str], *, now: float, settings: CASettings) -> CAState:
    """One failed scale-up per group: exponential backoff, reset after a quiet node-group-backoff-reset-timeout."""
    backoffs = dict(state.backoffs)
    for name in groups:
        previous = backoffs.get(name)
        duration = settings.initial_node_group_backoff_s
        if previous is not None and now - previous.failed_at < settings.node_group_backoff_reset_s:
            duration = min(2 * previous.duration_s, settings.max_node_group_backoff_s)
        backoffs[name] = Backoff(until=now + duration, duration_s=duration, failed_at=now)
    return replace(state, backoffs=backoffs)


def waiting_pods(unscheduled: list[PendingPod], upcoming: list[dict[str, float]], *, now: float,
                 settings: CASettings) -> list[PendingPod]:
    """Pods old enough (new-pod-scale-up-delay), not expendable, not waiting on a preemption, that no upcoming node
    will take either."""
    old = [p for p in unscheduled if now - p.unschedulable_since >= settings.new_pod_scale_up_delay_s
           and p.priority >= settings.expendable_pods_priority_cutoff and not p.nominated_node]
    order = by_size([p.requests for p in old], upcoming)
    slots = place([old[i].requests for i in order], upcoming)
    return [old[i] for i, slot in zip(order, slots) if slot is None]


def options(spec: CASpec, pods: list[PendingPod], *, sizes: dict[str, int], total: int, now: float,
            state: CAState, settings: CASettings, existing: Sequence[SimNode] = ()) -> list[Option]:
    """One expansion option per group not in backoff with room left: how many template nodes its pods need.
    `existing`: the cluster's nodes, which count for topology spreading."""
    found = []
    for group in spec.groups:
        backoff = state.backoffs.get(group.name)
        room = group.max_size - sizes.get(group.name, 0)
        if settings.max_nodes_total > 0:
            room = min(room, settings.max_nodes_total - total)
        if (backoff is not None and now < backoff.until) or room <= 0:
            continue
        eligible = [p for p in pods if _selects(p, group)]
        bins = pack_new_nodes(eligible, group.template.allocatable, limit=room, labels=group.template.labels,
                              existing=existing)
        if bins:
            placed = [eligible[i] for members in bins for i in members]
            found.append(Option(group, len(bins), tuple(p.name for p in placed),
                                _waste(group.template.allocatable, [p.requests for p in placed], len(bins))))
    return found


def _selects(pod: PendingPod, group: NodeGroup) -> bool:
    labels = group.template.labels
    return all(labels.get(key) == value for key, value in pod.node_selector.items())


def _waste(template: Resources, pods: list[Resources], count: int) -> float:
    """least-waste's score: idle cpu share plus idle memory share of the `count` new nodes."""
    score = 0.0
    for name in ("cpu", "memory"):
        available = template.get(name, 0.0) * count
        if available > 0:
            score += (available - sum(p.get(name, 0.0) for p in pods)) / available
    return score


def best(found: list[Option], expander: str) -> Option | None:
    keys = {
        "least-waste": lambda o: (o.waste, o.group.name),
        "most-pods": lambda o: (-len(o.pods), o.group.name),
        "least-nodes": lambda o: (o.count, o.group.name),
    }
    return min(found, key=keys[expander], default=None)
