"""Nodes ahead of need, as placeholder pods: keep free slots for where the pod autoscaler is heading.

Not an upstream controller: the product's proposal, to compare against the reactive Cluster Autoscaler, which acts
only once a pod is Pending, so a burst waits node provisioning plus GPU driver start before new pods can even be
scheduled. It is enacted the way clusters get headroom (Cluster Autoscaler FAQ "How can I configure overprovisioning
with Cluster Autoscaler?"): a Deployment of low-priority pause pods, each requesting what a serving pod would; the
policy decides only that Deployment's replicas, and the cluster does the rest (serving pods preempt placeholders, the
evicted placeholders go Pending, the Cluster Autoscaler adds nodes for them, and removes nodes the placeholders no
longer fill after its scale-down-unneeded-time). The FAQ's own dynamic variant scales the placeholders with the
cluster's size (cluster-proportional-autoscaler); here the count follows the replica trend instead.
Rule, per call:
- forecast = max(desired replicas, latest desired + trend × lead time), the trend being the growth of the desired
  replicas over the last `window_s` (never negative);
- placeholders = forecast + min_headroom_pods − desired replicas (never negative): with no trend, a fixed headroom
  of `min_headroom_pods` serving pods.
Not modelled: pods of other workloads on the group, forecasts other than a linear trend.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Anticipation:
    group: str  # the node pool whose lead time the forecast spans
    lead_time_s: float  # node request → pods schedulable on it (provisioning + GPU allocatable)
    min_headroom_pods: int = 0  # free pod slots kept at all times
    window_s: float = 60.0  # how far back the trend looks


@dataclass(frozen=True)
class View:
    """What the policy sees of the workload."""

    desired_replicas: int  # where the pod autoscaler is heading (HPA/KEDA desiredReplicas: the Deployment's spec)
    history: tuple[tuple[float, int], ...] = ()  # (time, desired replicas), oldest first


@dataclass(frozen=True)
class AnticipationDecision:
    forecast_replicas: int
    placeholders: int
    reason: str = ""


def forecast(spec: Anticipation, view: View, *, now: float) -> int:
    """Replicas expected one lead time from now: the target, or the recent trend carried forward if higher."""
    recent = [(t, n) for t, n in view.history if now - spec.window_s <= t <= now]
    if len(recent) < 2 or recent[-1][0] <= recent[0][0]:
        return view.desired_replicas
    (t0, n0), (t1, n1) = recent[0], recent[-1]
    slope = max(0.0, (n1 - n0) / (t1 - t0))
    return max(view.desired_replicas, math.ceil(n1 + slope * spec.lead_time_s))


def reconcile(spec: Anticipation, view: View, *, now: float) -> AnticipationDecision:
    replicas = forecast(spec, view, now=now)
    placeholders = max(0, replicas + spec.min_headroom_pods - view.desired_replicas)
    return AnticipationDecision(replicas, placeholders,
                                f"{replicas} replicas forecast + {spec.min_headroom_pods} headroom, "
                                f"{view.desired_replicas} desired: {placeholders} placeholder(s)")
