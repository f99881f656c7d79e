"""Add nodes ahead of need: have the nodes for where the pod autoscaler is heading ready when its pods appear.

Not an upstream controller: the product's proposal, to compare against the reactive Cluster Autoscaler, which acts
only once a pod is Pending, so a burst waits node provisioning plus GPU driver start before new pods can even be
scheduled. The nearest upstream practice is over-provisioning with low-priority placeholder pods (Cluster
Autoscaler FAQ "How can I configure overprovisioning with Cluster Autoscaler?"); here the headroom follows the
replica count instead of being fixed.
Rule, per call (every CA scan is fine):
- forecast = max(desired replicas, latest desired + trend × lead time), the trend being the growth of the desired
  replicas over the last `window_s` (never negative);
- wanted nodes = ceil((forecast + min_headroom_pods) / pods_per_node), within the group's min and max;
- add = wanted − (registered + upcoming nodes), when positive;
- release: once the group has had more nodes than wanted for `release_after_s` without a break, the surplus is
  released, empty nodes only, and the timer starts again; every other empty node is `hold`: the caller keeps the
  Cluster Autoscaler off it (the scale-down-disabled annotation), as placeholder pods would.
Not modelled: pods of other workloads on the group, several groups per workload, forecasts other than a linear trend.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Anticipation:
    group: str
    lead_time_s: float  # node request → pods schedulable on it (provisioning + GPU allocatable)
    min_headroom_pods: int = 0  # free pod slots kept at all times
    window_s: float = 60.0  # how far back the trend looks
    release_after_s: float = 600.0  # how long a surplus must last before nodes are released


@dataclass(frozen=True)
class GroupView:
    """What the policy sees of the workload and its node group."""

    desired_replicas: int  # where the pod autoscaler is heading (HPA/KEDA desiredReplicas, or a forecast)
    pods_per_node: int
    nodes: int  # registered, ready or not
    upcoming: int  # requested, not registered
    min_nodes: int = 0
    max_nodes: int = 1_000
    empty_nodes: tuple[str, ...] = ()  # registered nodes with no pod of the workload
    history: tuple[tuple[float, int], ...] = ()  # (time, desired replicas), oldest first


@dataclass(frozen=True)
class AnticipationState:
    surplus_since: float | None = None


@dataclass(frozen=True)
class AnticipationDecision:
    forecast_replicas: int
    wanted_nodes: int
    add: int = 0
    release: tuple[str, ...] = ()
    hold: tuple[str, ...] = ()
    reason: str = ""


def forecast(spec: Anticipation, view: GroupView, *, now: float) -> int:
    """Replicas expected one lead time from now: the target, or the recent trend carried forward if higher."""
    recent = [(t, n) for t, n in view.history if now - spec.window_s <= t <= now]
    if len(recent) < 2 or recent[-1][0] <= recent[0][0]:
        return view.desired_replicas
    (t0, n0), (t1, n1) = recent[0], recent[-1]
    slope = max(0.0, (n1 - n0) / (t1 - t0))
    return max(view.desired_replicas, math.ceil(n1 + slope * spec.lead_time_s))


def reconcile(spec: Anticipation, state: AnticipationState, view: GroupView, *, now: float
              ) -> tuple[AnticipationDecision, AnticipationState]:
    if view.pods_per_node <= 0:
        raise ValueError("pods_per_node must be positive")
    replicas = forecast(spec, view, now=now)
    wanted = math.ceil((replicas + spec.min_headroom_pods) / view.pods_per_node)
    wanted = min(max(wanted, view.min_nodes), view.max_nodes)
    have = view.nodes + view.upcoming
    if have <= wanted:
        decision = AnticipationDecision(replicas, wanted, add=wanted - have, hold=view.empty_nodes,
                                        reason=f"{replicas} replicas + {spec.min_headroom_pods} headroom "
                                               f"want {wanted} nodes, {have} there or coming")
        return decision, AnticipationState()
    since = now if state.surplus_since is None else state.surplus_since
    if now - since < spec.release_after_s:
        return AnticipationDecision(replicas, wanted, hold=view.empty_nodes), AnticipationState(since)
    release = view.empty_nodes[:have - wanted]
    hold = view.empty_nodes[len(release):]
    decision = AnticipationDecision(replicas, wanted, release=release, hold=hold,
                                    reason=f"{have - wanted} node(s) surplus for {now - since:.0f} s")
    return decision, AnticipationState(None if release else since)
