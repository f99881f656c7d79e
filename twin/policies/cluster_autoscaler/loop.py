"""One Cluster Autoscaler loop as a pure step: (spec, state, observation, now) → (decision, new state).

Fidelity ledger — upstream: kubernetes/autoscaler `cluster-autoscaler` (FAQ.md at HEAD of 2026-08,
`core/static_autoscaler.go` RunOnce, `clusterstate/clusterstate.go`, `processors/customresources/gpu_processor.go`).
Modelled, in RunOnce's order:
- health: halt when unready nodes exceed both ok-total-unready-count 3 and max-total-unready-percentage 45 % of the
  registered nodes (`IsClusterHealthy`; unready = not ready and past max-node-startup-time 15 min).
- a node that is not ready yet, or a GPU node whose allocatable GPU is still 0 (device plugin starting; upstream
  PR #461 marks it unready), counts as upcoming while younger than max-node-startup-time, so pods waiting for it do
  not trigger a second scale-up.
- failed scale-ups: nodes unregistered after max-node-provision-time 15 min are deleted and their group backs off
  (`cluster_autoscaler.scaleup`).
- scale-up for unschedulable pods older than new-pod-scale-up-delay that no ready node takes under the scheduler's
  filters (room and pod count, host ports, nodeSelector, topology spread) and no upcoming node has room for; sizing
  by the binpacking estimator on template nodes; one group per loop, chosen by the expander (least-waste by
  default) (`cluster_autoscaler.scaleup`, `cluster_autoscaler.estimator`).
- scale-down: unneeded nodes are tracked every loop, judged by `cluster_autoscaler.utilisation` (nodes of a GPU
  group are GPU nodes from their first moment); deletion waits out scale-down-delay-after-add 10 min, -after-delete
  0 and -after-failure 3 min (`cluster_autoscaler.scaledown`).
Priorities: pods below expendable-pods-priority-cutoff (-10) and pods waiting on a preemption trigger no scale-up
(`cluster_autoscaler.scaleup`). Not modelled: the cloud API calls themselves (the caller enacts the decision and
reports a failed deletion with `record_scale_down_failure`), per-node-group health, expendable pods in scale-down
(upstream neither counts nor moves them; here they count as any pod), PDBs, resource limits (cores/memory totals).
"""
from __future__ import annotations

from dataclasses import replace

from twin.policies.cluster_autoscaler.binpack import by_size
from twin.policies.cluster_autoscaler.estimator import HOSTNAME, Needs, SimNode, SpreadConstraint, add, fits, host_ports
from twin.policies.cluster_autoscaler.model import (
    Backoff, CADecision, CAObservation, CASettings, CASpec, CAState, Node, NodeGroup, NodeTemplate, PendingPod, Pod,
    UpcomingNode, gpu_names, resources,
)
from twin.policies.cluster_autoscaler.scaledown import plan, to_delete
from twin.policies.cluster_autoscaler.scaleup import back_off, best, expired, options, waiting_pods
from twin.policies.cluster_autoscaler.utilisation import UtilisationError, utilisation

__all__ = [
    "Backoff", "CADecision", "CAObservation", "CASettings", "CASpec", "CAState", "Node", "NodeGroup",
    "NodeTemplate", "PendingPod", "Pod", "SpreadConstraint", "UpcomingNode", "UtilisationError", "reconcile",
    "record_scale_down_failure", "resources", "utilisation",
]


def reconcile(spec: CASpec, state: CAState, observation: CAObservation, *, now: float,
              settings: CASettings = CASettings()) -> tuple[CADecision, CAState]:
    known = [n for n in observation.nodes if spec.group(n.group) is not None]
    starting = [n for n in known if _starting(n, spec, now=now, settings=settings)]
    registered = [n for n in known if n not in starting]
    unready = sum(1 for n in registered if not _ready(n, spec))
    if unready > settings.ok_total_unready_count and \
            unready > settings.max_total_unready_percentage / 100.0 * len(observation.nodes):
        return CADecision(halted=True, reason=f"cluster unhealthy: {unready} unready nodes"), state
    failed = expired(observation.upcoming, now=now, settings=settings)
    if failed:
        state = back_off(state, {u.group for u in failed}, now=now, settings=settings)
    upcoming = [u for u in observation.upcoming if u not in failed]
    sizes = _sizes([n.group for n in known] + [u.group for u in upcoming])
    ready, unscheduled = _schedule([n for n in registered if _ready(n, spec)], observation.pending)
    on_the_way = [dict(spec.group(g).template.allocatable) for g in [n.group for n in starting] +
                  [u.group for u in upcoming]]
    up, unhelpable, state = _scale_up(spec, state, unscheduled, now=now, settings=settings, sizes=sizes,
                                      upcoming=on_the_way, registered=ready)
    delete, state = _scale_down(spec, state, registered, ready, sizes=sizes, now=now, settings=settings)
    decision = CADecision(scale_up=up, delete_nodes=delete, delete_unregistered=failed,
                          backed_off=tuple(sorted({u.group for u in failed})), unhelpable=unhelpable,
                          reason=_reason(up, delete, failed))
    return decision, state


def record_scale_down_failure(state: CAState, *, now: float) -> CAState:
    """The caller's deletion failed: scale-down pauses for scale-down-delay-after-failure."""
    return replace(state, last_scale_down_failure=now)


def _ready(node: Node, spec: CASpec) -> bool:
    """Ready, and for a node of a GPU group, with GPUs allocatable (the GPU processor's rule)."""
    group = spec.group(node.group)
    gpu_pending = group.template.has_gpu and sum(node.allocatable.get(g, 0.0)
                                                 for g in gpu_names(group.template.allocatable)) <= 0
    return node.ready and not gpu_pending


def _starting(node: Node, spec: CASpec, *, now: float, settings: CASettings) -> bool:
    return not _ready(node, spec) and now - node.created_at < settings.max_node_startup_time_s


def _sizes(groups: list[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in groups:
        counts[name] = counts.get(name, 0) + 1
    return counts


def _schedule(ready: list[Node], pending: tuple[PendingPod, ...]) -> tuple[list[Node], list[PendingPod]]:
    """Pending pods that pass the scheduler's filters on a ready node (room and pod count, host ports, nodeSelector,
    topology spread) are the scheduler's to place: they land there in the simulation (upstream's
    filter-out-schedulable puts them in the snapshot); the rest are unschedulable."""
    sims = [_sim_node(n) for n in ready]
    landed: dict[int, list[PendingPod]] = {}
    unscheduled = []
    for i in by_size([p.requests for p in pending], [sim.free for sim in sims]):
        needs = Needs.of(pending[i])
        slot = next((k for k, sim in enumerate(sims) if fits(needs, sim, sims)), None)
        if slot is None:
            unscheduled.append(pending[i])
            continue
        add(needs, i, sims[slot])
        landed.setdefault(slot, []).append(pending[i])
    snapshot = [n if k not in landed else _with_pods(n, landed[k]) for k, n in enumerate(ready)]
    return snapshot, unscheduled


def _with_pods(node: Node, pods: list[PendingPod]) -> Node:
    added = [Pod(p.requests, name=p.name, labels=p.labels, host_ports=p.host_ports) for p in pods]
    requested = dict(node.requested)
    for pod in added:
        requested = {r: requested.get(r, 0.0) + pod.requests.get(r, 0.0) for r in {*requested, *pod.requests}}
    return replace(node, requested=requested, pods=node.pods + tuple(added))


def _sim_node(node: Node) -> SimNode:
    """A registered node as the estimator's snapshot holds it: its labels (hostname its name by default), free room
    with the pods it may still take, and the ports and labels of its pods."""
    free = node.free()
    if "pods" in free:
        free["pods"] = node.allocatable["pods"] - len(node.pods)
    ports = set().union(*(host_ports(p) for p in node.pods))
    return SimNode(node.name, {HOSTNAME: node.name, **node.labels}, free, ports, [p.labels for p in node.pods])


def _scale_up(spec: CASpec, state: CAState, unscheduled: list[PendingPod], *, now: float, settings: CASettings,
              sizes: dict[str, int], upcoming: list[dict[str, float]], registered: list[Node]
              ) -> tuple[dict[str, int], tuple[str, ...], CAState]:
    waiting = waiting_pods(unscheduled, upcoming, now=now, settings=settings)
    if not waiting:
        return {}, (), state
    found = options(spec, waiting, sizes=sizes, total=sum(sizes.values()), now=now, state=state, settings=settings,
                    existing=[_sim_node(n) for n in registered])
    helped = {name for option in found for name in option.pods}
    unhelpable = tuple(p.name for p in waiting if p.name not in helped)
    chosen = best(found, settings.expander)
    if chosen is None:
        return {}, unhelpable, state
    return {chosen.group.name: chosen.count}, unhelpable, replace(state, last_scale_up=now)


def _scale_down(spec: CASpec, state: CAState, registered: list[Node], ready: list[Node], *, sizes: dict[str, int],
                now: float, settings: CASettings) -> tuple[tuple[str, ...], CAState]:
    """Unneeded nodes are tracked every loop; they are deleted only outside the cool-down after add/delete/failure."""
    snapshot = {n.name: n for n in ready}  # with the pods the scheduler is about to place
    candidates = [snapshot.get(n.name, n) for n in registered if not n.scale_down_disabled]
    gpu_groups = frozenset(g.name for g in spec.groups if g.template.has_gpu)
    found = plan(candidates, ready, dict(state.unneeded_since), now=now, settings=settings, gpu_groups=gpu_groups)
    delete = () if _cooling_down(state, now=now, settings=settings) else to_delete(
        spec, found, sizes, now=now, settings=settings)
    since = {name: t for name, t in found.unneeded_since.items() if name not in delete}
    return delete, replace(state, unneeded_since=since, last_scale_down=now if delete else state.last_scale_down)


def _cooling_down(state: CAState, *, now: float, settings: CASettings) -> bool:
    delays = ((state.last_scale_up, settings.scale_down_delay_after_add_s),
              (state.last_scale_down, settings.scale_down_delay_after_delete_s),
              (state.last_scale_down_failure, settings.scale_down_delay_after_failure_s))
    return any(at is not None and now < at + delay for at, delay in delays)


def _reason(up: dict[str, int], delete: tuple[str, ...], failed: tuple[UpcomingNode, ...]) -> str:
    parts = [f"scale up {group} by {count}" for group, count in up.items()]
    parts += [f"delete unneeded {', '.join(delete)}"] if delete else []
    parts += [f"{len(failed)} node(s) not registered in time"] if failed else []
    return "; ".join(parts)
