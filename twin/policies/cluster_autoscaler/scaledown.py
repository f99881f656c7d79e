"""Cluster Autoscaler scale-down: which nodes are unneeded, since when, and which to delete in this loop.

Fidelity ledger — upstream: kubernetes/autoscaler `cluster-autoscaler/FAQ.md` "How does scale-down work?" and
"I have a couple of nodes with low utilization, but they are not scaled down. Why?", `core/scaledown/planner`
(unneeded nodes found one after another on a snapshot where the pods of the nodes already found have moved, so two
nodes never count on the same free room), `cluster_autoscaler.utilisation` (against scale-down-utilization-threshold,
or scale-down-gpu-utilization-threshold on a GPU node; a node whose utilisation is an error is no candidate),
`utils/drain` (DaemonSet, mirror and long-terminating pods do not move; a node with only those is empty),
`core/scaledown/budgets`
(max-scale-down-parallelism 10 in all, max-drain-parallelism 1 non-empty node). Modelled: unneeded time 10 min
(unready nodes: scale-down-unready-time 20 min), the scale-down-disabled annotation, pods that block a drain
(`movable`), group min sizes, empty nodes first. Not modelled: PDB budgets beyond the `movable` flag, the
5-minute recheck of unremovable nodes, soft taints, graceful termination and the drain itself.
"""
from __future__ import annotations

from dataclasses import dataclass

from twin.policies.cluster_autoscaler.binpack import place, size
from twin.policies.cluster_autoscaler.model import CASettings, CASpec, Node
from twin.policies.cluster_autoscaler.utilisation import UtilisationError, utilisation


@dataclass(frozen=True)
class Plan:
    unneeded_since: dict[str, float]
    order: tuple[Node, ...]  # unneeded nodes in the order they were found: the order to delete them
    drained: frozenset[str] = frozenset()  # those with pods to move (the others are empty)


def _shares(candidates: list[Node], settings: CASettings, *, now: float,
            gpu_groups: frozenset[str]) -> dict[str, float]:
    """Each candidate's share below its threshold; nodes above it, or whose utilisation is an error, are left out."""
    below = {}
    for node in candidates:
        try:
            share, gpu = utilisation(node, settings, now=now, gpu_node=(node.group in gpu_groups) or None)
        except UtilisationError:
            continue
        threshold = settings.scale_down_gpu_utilization_threshold if gpu else \
            settings.scale_down_utilization_threshold
        if share < threshold:
            below[node.name] = share
    return below


def plan(candidates: list[Node], destinations: list[Node], previous: dict[str, float], *, now: float,
         settings: CASettings, gpu_groups: frozenset[str] = frozenset()) -> Plan:
    """Unneeded nodes: under the threshold, drainable, their pods fitting on nodes that stay. Nodes of
    `gpu_groups` are GPU nodes even before their GPUs are allocatable."""
    free = {n.name: n.free() for n in destinations}
    moved_in: dict[str, list] = {}  # pods the simulation already moved onto a node: they move again with it
    found: list[Node] = []
    below = _shares(candidates, settings, now=now, gpu_groups=gpu_groups)
    for node in sorted((n for n in candidates if n.name in below),
                       key=lambda n: (bool(n.moving(now)), below[n.name], n.name)):
        if not node.movable:
            continue
        trial = {name: dict(room) for name, room in free.items() if name != node.name}
        pods = sorted([*node.moving(now), *moved_in.get(node.name, ())], key=lambda p: -size(p, node.allocatable))
        names = list(trial)
        slots = place(pods, [trial[name] for name in names])
        if None in slots:
            continue
        free = trial
        for pod, slot in zip(pods, slots):
            moved_in.setdefault(names[slot], []).append(pod)
        found.append(node)
    since = {n.name: previous.get(n.name, now) for n in found}
    return Plan(since, tuple(found), frozenset(n.name for n in found if n.moving(now)))


def to_delete(spec: CASpec, plan_: Plan, sizes: dict[str, int], *, now: float, settings: CASettings
              ) -> tuple[str, ...]:
    """Ripe unneeded nodes above their group's min size: empty ones in bulk, then at most
    max-drain-parallelism non-empty ones, max-scale-down-parallelism in all."""
    left = dict(sizes)
    empty, drained = [], []
    for node in plan_.order:
        wait = settings.scale_down_unneeded_time_s if node.ready else settings.scale_down_unready_time_s
        group = spec.group(node.group)
        if now - plan_.unneeded_since[node.name] < wait or group is None or left[node.group] <= group.min_size:
            continue
        has_pods = node.name in plan_.drained
        batch = drained if has_pods else empty
        budget = settings.max_drain_parallelism if has_pods else settings.max_scale_down_parallelism
        if len(batch) < budget and len(empty) + len(drained) < settings.max_scale_down_parallelism:
            batch.append(node.name)
            left[node.group] -= 1
    return (*empty, *drained)
