"""Add nodes ahead of need: keep free room for the pods the autoscaler will want within one node lead time.

The reactive Cluster Autoscaler acts only when a pod is already Pending, so a burst waits node provisioning plus GPU
driver start before new pods can even be scheduled. This policy watches the Deployment's replica count and keeps
free pod slots (on nodes that exist or are on their way) for the growth expected over the lead time:
headroom = max(min_headroom_pods, ceil(growth per second over `window_s` × lead_time_s)). Nodes it adds that stay
unused are released by the Cluster Autoscaler's ordinary scale-down.
"""
from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass(frozen=True)
class Anticipation:
    group: str
    lead_time_s: float  # provisioning + GPU readiness of the group
    min_headroom_pods: int = 0
    window_s: float = 60.0


def nodes_to_add(spec: Anticipation, *, replicas: tuple[tuple[float, int], ...], free_pod_slots: int,
                 pods_per_node: int, now: float) -> tuple[int, int]:
    """(nodes to request now, headroom wanted in pods); `replicas` is the (time, spec.replicas) history,
    `free_pod_slots` counts room on existing and upcoming nodes."""
    recent = [(t, n) for t, n in replicas if t >= now - spec.window_s]
    growth = max(0.0, (recent[-1][1] - recent[0][1]) / spec.window_s) if len(recent) > 1 else 0.0
    headroom = max(spec.min_headroom_pods, math.ceil(growth * spec.lead_time_s))
    deficit = headroom - free_pod_slots
    if deficit <= 0 or pods_per_node <= 0:
        return 0, headroom
    return math.ceil(deficit / pods_per_node), headroom
