"""Node pools from real Node objects (`kubectl get nodes -o yaml`): capacity, allocatable and GPUs as the NVIDIA
device plugin and GPU Feature Discovery (GFD) label them.

Fidelity ledger — upstream: Kubernetes v1.30 core/v1 Node (status.capacity, status.allocatable, spec.taints,
spec.unschedulable) and the scheduler's TaintToleration and NodeSelector rules (k8s.io/api/core/v1 toleration.go);
NVIDIA k8s-device-plugin v0.20 and GFD labels (nvidia.com/gpu.product, .count, .memory in MiB, .replicas,
.sharing-strategy, mig.strategy; MIG "mixed" resources nvidia.com/mig-<profile>; "-SHARED" product suffix).
Modelled: nodes grouped into pools by their pool label (GKE, EKS, AKS, Karpenter) or instance type; nodes the
Deployment cannot use (cordoned, an untolerated NoSchedule/NoExecute taint, a nodeSelector they fail) left out;
exclusive, time-sliced, MPS and MIG GPUs. Not modelled: node affinity beyond nodeSelector, PreferNoSchedule, prices
(kubectl shows none).
"""
from __future__ import annotations

import re
from collections import defaultdict
from typing import Any

from twin.config.quantity import parse_quantity
from twin.errors import InputError

# The label that names a node's pool, most specific first; the instance type groups nodes otherwise.
POOL_LABELS = ("cloud.google.com/gke-nodepool", "eks.amazonaws.com/nodegroup", "karpenter.sh/nodepool",
               "kubernetes.azure.com/agentpool", "agentpool", "node.kubernetes.io/instance-type",
               "beta.kubernetes.io/instance-type")
MIG_RESOURCE = "nvidia.com/mig-"
DEFAULT_GPU = "NVIDIA A100 80GB PCIe"  # the schema's default board
GIB = 2**30


def node_pools(nodes: list[tuple[str, dict]], pod_spec: dict, notes: list[str]) -> list[dict[str, Any]]:
    """Scenario node pools from (source, Node) pairs, keeping the nodes the Deployment's pods may run on."""
    groups: dict[str, list[tuple[str, dict]]] = defaultdict(list)
    for source, node in nodes:
        groups[pool_name(node)].append((source, node))
    pools = [pool for name, members in groups.items() if (pool := _usable_pool(name, members, pod_spec, notes))]
    if not pools:
        raise InputError(", ".join(sorted({s for s, _ in nodes})) or "<inputs>", "kind",
                         "Node objects the Deployment can run on (kubectl get nodes -o yaml)",
                         f"{len(nodes)} node(s), none usable")
    notes.append("node_pools.*.price_per_hour: 0 (kubectl shows no prices): set it to see costs")
    notes.append("node_pools.*.image_cached: true, as the Deployment already runs there; nodes added later pull it")
    return pools


def pool_name(node: dict) -> str:
    labels = _labels(node)
    return next((labels[label] for label in POOL_LABELS if labels.get(label)), "nodes")


def _usable_pool(name: str, members: list[tuple[str, dict]], pod_spec: dict, notes: list[str]) -> dict | None:
    """The pool of the members the Deployment's pods may run on; one note per pool or node left out."""
    reasons = {_name(node): _unusable(node, pod_spec) for _, node in members}
    usable = [(source, node) for source, node in members if reasons[_name(node)] is None]
    if not usable:
        notes.append(f"node pool {name} ({len(members)} node(s)) left out: {next(iter(reasons.values()))}")
        return None
    notes += [f"node {node} of pool {name} left out: {reason}" for node, reason in reasons.items() if reason]
    return _pool(name, usable, notes)


def _unusable(node: dict, pod_spec: dict) -> str | None:
    """Why the scheduler would not place the Deployment's pods on `node`, or None."""
    spec = node.get("spec") or {}
    if spec.get("unschedulable"):
        return "cordoned (spec.unschedulable)"
    tolerations = pod_spec.get("tolerations") or []
    for taint in spec.get("taints") or []:
        if taint.get("effect") in ("NoSchedule", "NoExecute") and not any(_tolerates(t, taint) for t in tolerations):
            return (f"taint {taint.get('key')}={taint.get('value', '')}:{taint.get('effect')} is not tolerated by "
                    f"the Deployment")
    selector = pod_spec.get("nodeSelector") or {}
    missed = {k: v for k, v in selector.items() if _labels(node).get(k) != v}
    return f"the Deployment's nodeSelector {missed} does not match it" if missed else None


def _tolerates(toleration: dict, taint: dict) -> bool:
    """Kubernetes' Toleration.ToleratesTaint: same key (or an empty key with Exists), same value unless Exists, and
    the same effect unless the toleration names none."""
    if toleration.get("effect") and toleration["effect"] != taint.get("effect"):
        return False
    if toleration.get("key") and toleration["key"] != taint.get("key"):
        return False
    if toleration.get("operator", "Equal") == "Exists":
        return True
    return bool(toleration.get("key")) and toleration.get("value", "") == taint.get("value", "")


def _pool(name: str, members: list[tuple[str, dict]], notes: list[str]) -> dict[str, Any]:
    source, node = members[0]
    status = node.get("status") or {}
    capacity, allocatable = status.get("capacity") or {}, status.get("allocatable") or {}
    pool: dict[str, Any] = {
        "name": name, "count": len(members),
        "vcpus": _amount(capacity, "cpu", source, node),
        "memory_gib": round(_amount(capacity, "memory", source, node) / GIB, 3),
        "allocatable_cpu": _amount(allocatable or capacity, "cpu", source, node),
        "allocatable_memory_gib": round(_amount(allocatable or capacity, "memory", source, node) / GIB, 3),
        "price_per_hour": 0.0, "image_cached": True,
    }
    gpus = _gpus(node, capacity, notes)
    if gpus is not None:
        pool["gpus"] = gpus
    if len({_shape(n) for _, n in members}) > 1:
        notes.append(f"node pool {name}: its nodes differ in capacity; all taken as {_name(node)}")
    return pool


def _gpus(node: dict, capacity: dict, notes: list[str]) -> dict[str, Any] | None:
    labels = _labels(node)
    mixed = {key.removeprefix(MIG_RESOURCE): int(parse_quantity(v)) for key, v in capacity.items()
             if key.startswith(MIG_RESOURCE)}
    units = int(parse_quantity(capacity.get("nvidia.com/gpu", 0)))
    if not mixed and not units:
        return None
    product = labels.get("nvidia.com/gpu.product", "").removesuffix("-SHARED")
    board, _, single = product.partition("-MIG-")  # MIG single strategy: "A100-SXM4-40GB-MIG-1g.5gb"
    if mixed:
        count, sharing = _mig_mixed(mixed, labels, node, notes)
    elif single:
        count, sharing = _mig_single(single, units, node, notes)
    else:
        count, sharing = _shared(labels, units, node, notes)
    model = board.replace("-", " ") if board else _assumed(notes, node, "nvidia.com/gpu.product", DEFAULT_GPU)
    memory = _gpu_memory_gib(labels, board, sliced=bool(single), node=node, notes=notes)
    return {"model": model, "count": count, "memory_gib": memory, "sharing": sharing}


def _mig_mixed(slices: dict[str, int], labels: dict, node: dict, notes: list[str]) -> tuple[int, dict[str, Any]]:
    """Mixed strategy: nvidia.com/mig-<profile> counts per node, spread evenly over its GPUs."""
    count = int(labels["nvidia.com/gpu.count"]) if "nvidia.com/gpu.count" in labels else \
        _assumed(notes, node, "nvidia.com/gpu.count", 1)
    return count, {"mode": "mig", "mig_profiles": [p for p, n in sorted(slices.items()) for _ in range(n // count)]}


def _mig_single(profile: str, units: int, node: dict, notes: list[str]) -> tuple[int, dict[str, Any]]:
    """Single strategy: nvidia.com/gpu counts slices of one profile; each GPU holds as many as fit in 7."""
    per_gpu = 7 // int(profile.split("g", 1)[0])
    count = max(1, units // per_gpu)
    notes.append(f"node {_name(node)}: MIG single strategy read as {count} GPU(s) of {per_gpu} x {profile}")
    return count, {"mode": "mig", "mig_profiles": [profile] * per_gpu}


def _shared(labels: dict, units: int, node: dict, notes: list[str]) -> tuple[int, dict[str, Any]]:
    """(physical GPUs, sharing) for whole GPUs, time-sliced when the device plugin advertises replicas."""
    replicas = int(labels.get("nvidia.com/gpu.replicas", 1))
    strategy = labels.get("nvidia.com/gpu.sharing-strategy", "none")
    count = int(labels.get("nvidia.com/gpu.count", max(1, units // max(replicas, 1))))
    if replicas > 1 or strategy in ("time-slicing", "mps"):
        mode = "mps" if strategy == "mps" else "time-slicing"
        return count, {"mode": mode, "replicas": max(replicas, units // count)}
    return count, {"mode": "exclusive"}


def _gpu_memory_gib(labels: dict, board: str, *, sliced: bool, node: dict, notes: list[str]) -> float:
    if labels.get("nvidia.com/gpu.memory") and not sliced:  # under MIG single it is one slice's memory
        return int(labels["nvidia.com/gpu.memory"]) / 1024
    stated = re.search(r"(\d+)GB", board)
    if stated:
        return float(stated.group(1))
    return _assumed(notes, node, "nvidia.com/gpu.memory", 80.0)


def _assumed(notes: list[str], node: dict, label: str, value: Any) -> Any:
    notes.append(f"node {_name(node)}: no {label} label: {value} assumed")
    return value


def _amount(resources: dict, name: str, source: str, node: dict) -> float:
    try:
        return parse_quantity(resources[name])
    except (KeyError, ValueError):
        raise InputError(source, f"Node {_name(node)}: status.capacity.{name}", "a Kubernetes quantity",
                         repr(resources.get(name))) from None


def _shape(node: dict) -> tuple:
    capacity = (node.get("status") or {}).get("capacity") or {}
    return tuple(sorted((k, str(v)) for k, v in capacity.items() if k in ("cpu", "memory", "nvidia.com/gpu")))


def _labels(node: dict) -> dict[str, str]:
    return (node.get("metadata") or {}).get("labels") or {}


def _name(node: dict) -> str:
    return str((node.get("metadata") or {}).get("name", "?"))
