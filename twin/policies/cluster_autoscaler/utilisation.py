"""A node's utilisation as the Cluster Autoscaler's scale-down judges it.

Fidelity ledger — upstream: kubernetes/autoscaler `cluster-autoscaler/simulator/utilization/info.go` (`Calculate`,
`CalculateUtilizationOfResource`, commit 5c22805b) and `info_test.go` (`TestCalculate`, commit 0a11e9c1),
`utils/drain` (`IsPodLongTerminating`: deleted more than the grace period + 30 s ago), `utils/pod`
(`IsDaemonSetPod`, `IsMirrorPod`), `utils/gpu` (`GetGpuConfigFromNode`). Modelled: a GPU node (a GPU label, its
group's template offering GPUs, or a GPU resource in its allocatable, even at 0) is judged by its GPU request share
only, and counts 0 while its GPUs are not allocatable yet — a scale-down candidate; any other node by max(cpu share,
memory share), an error when it lacks cpu or memory allocatable (not a candidate); with
--ignore-daemonsets-utilization / --ignore-mirror-pods-utilization those pods leave both the requests and the
allocatable; long-terminating pods leave the requests; a pod's request is `PodRequests` (max(init step, containers +
sidecars), pod-level requests, overhead). Not modelled: DRA resource slices.
"""
from __future__ import annotations

import math

from twin.policies.cluster_autoscaler.model import GPU_LABELS, CASettings, Node, Pod, gpu_names


class UtilisationError(ValueError):
    """The node's utilisation cannot be computed (upstream's error: the node is skipped by scale-down)."""


def is_gpu_node(node: Node) -> bool:
    """`GetGpuConfigFromNode`: a GPU label, or GPUs allocatable. A GPU resource listed at 0 counts too: it stands
    for the label on nodes described without labels (the device plugin registered, no device ready yet)."""
    return any(label in node.labels for label in GPU_LABELS) or bool(gpu_names(node.allocatable))


def of_resource(node: Node, name: str, settings: CASettings, *, now: float) -> float:
    """`CalculateUtilizationOfResource`."""
    allocatable = node.allocatable.get(name)
    if not allocatable:
        raise UtilisationError(f"node {node.name}: {name} allocatable is {'0' if allocatable == 0 else 'missing'}")
    requested, skipped = node.requested.get(name, 0.0), 0.0
    for pod in node.pods:
        amount = pod.requests.get(name, 0.0)
        if _factored_out(pod, settings):
            skipped += amount
            requested -= amount
        elif pod.long_terminating(now):
            requested -= amount
    room = allocatable - skipped
    if room <= 0:  # Go's float division: +Inf, or NaN for 0/0 — never below a threshold
        return math.inf if requested > 0 else math.nan
    return requested / room


def _factored_out(pod: Pod, settings: CASettings) -> bool:
    return (settings.ignore_daemonsets_utilization and pod.daemonset) or \
        (settings.ignore_mirror_pods_utilization and pod.mirror)


def utilisation(node: Node, settings: CASettings = CASettings(), *, now: float = 0.0,
                gpu_node: bool | None = None) -> tuple[float, bool]:
    """(request share, is a GPU node); `gpu_node` None: told by the node's labels and allocatable."""
    if is_gpu_node(node) if gpu_node is None else gpu_node:
        gpus = [name for name in gpu_names(node.allocatable) if node.allocatable[name] > 0]
        return max((of_resource(node, name, settings, now=now) for name in gpus), default=0.0), True
    return max(of_resource(node, "cpu", settings, now=now), of_resource(node, "memory", settings, now=now)), False
