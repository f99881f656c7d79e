"""The Cluster Autoscaler's inputs, settings, state and decision as plain frozen data.

Fidelity ledger — upstream: kubernetes/autoscaler `cluster-autoscaler/FAQ.md` (flag table, HEAD of 2026-08) and
`config/autoscaling_options.go`. Modelled: the flags that drive scale-up and scale-down timing and limits, with
upstream defaults, in seconds; node groups with a template node (allocatable, labels); registered nodes; pods that
are unschedulable; nodes requested and not yet registered. Quantities go through `twin.config.quantity`, so
"32Gi" and 34359738368 are the same. Not modelled: per-group option overrides, taints/tolerations, affinity.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from twin.config.quantity import parse_quantity

GPU_PREFIX = "nvidia.com/"  # nvidia.com/gpu and MIG profiles such as nvidia.com/mig-1g.10gb
EXPANDERS = ("least-waste", "most-pods", "least-nodes")

Resources = Mapping[str, float]


def resources(values: Mapping[str, str | int | float]) -> dict[str, float]:
    """Kubernetes quantities ("500m", "32Gi", 1) as base-unit floats (cores, bytes, devices)."""
    return {name: parse_quantity(value) for name, value in values.items()}


def gpu_names(allocatable: Resources) -> tuple[str, ...]:
    return tuple(sorted(name for name in allocatable if name.startswith(GPU_PREFIX)))


def _normalise(obj: object, name: str) -> None:
    object.__setattr__(obj, name, resources(getattr(obj, name)))


@dataclass(frozen=True)
class NodeTemplate:
    """What a new node of the group will offer: the FAQ's "template node"."""

    allocatable: Resources
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _normalise(self, "allocatable")

    @property
    def has_gpu(self) -> bool:
        return any(self.allocatable[name] > 0 for name in gpu_names(self.allocatable))


@dataclass(frozen=True)
class NodeGroup:
    name: str
    min_size: int
    max_size: int
    template: NodeTemplate
    price_per_hour: float = 0.0

    def __post_init__(self) -> None:
        if not 0 <= self.min_size <= self.max_size:
            raise ValueError(f"node group {self.name}: need 0 <= min_size <= max_size")


@dataclass(frozen=True)
class CASpec:
    groups: tuple[NodeGroup, ...]

    def __post_init__(self) -> None:
        names = [g.name for g in self.groups]
        if len(set(names)) != len(names):
            raise ValueError(f"duplicate node group names: {names}")

    def group(self, name: str) -> NodeGroup | None:
        return next((g for g in self.groups if g.name == name), None)


@dataclass(frozen=True)
class CASettings:
    """Command-line flags (FAQ "What are the parameters to CA?"), durations in seconds."""

    scan_interval_s: float = 10.0
    scale_down_utilization_threshold: float = 0.5
    scale_down_gpu_utilization_threshold: float = 0.5
    scale_down_unneeded_time_s: float = 600.0
    scale_down_unready_time_s: float = 1200.0
    scale_down_delay_after_add_s: float = 600.0
    scale_down_delay_after_delete_s: float = 0.0
    scale_down_delay_after_failure_s: float = 180.0
    max_node_provision_time_s: float = 900.0
    max_node_startup_time_s: float = 900.0  # clusterstate's MaxNodeStartupTime: unready until then is "starting"
    new_pod_scale_up_delay_s: float = 0.0
    max_nodes_total: int = 0  # 0: no limit, as upstream
    expander: str = "least-waste"
    max_scale_down_parallelism: int = 10
    max_drain_parallelism: int = 1  # non-empty nodes deleted together
    ok_total_unready_count: int = 3
    max_total_unready_percentage: float = 45.0
    initial_node_group_backoff_s: float = 300.0
    max_node_group_backoff_s: float = 1800.0
    node_group_backoff_reset_s: float = 10800.0

    def __post_init__(self) -> None:
        if self.expander not in EXPANDERS:
            raise ValueError(f"expander {self.expander!r}: one of {EXPANDERS}")


@dataclass(frozen=True)
class Node:
    """A registered node. `pods` are the requests of the pods a drain would move (DaemonSet pods excluded);
    `requested` sums every pod's requests, as utilisation counts them."""

    name: str
    group: str
    allocatable: Resources
    requested: Resources
    pods: tuple[Resources, ...] = ()
    ready: bool = True
    created_at: float = 0.0
    movable: bool = True  # False: a pod that blocks the drain (no controller, local storage, PDB at its limit)
    scale_down_disabled: bool = False  # cluster-autoscaler.kubernetes.io/scale-down-disabled annotation

    def __post_init__(self) -> None:
        _normalise(self, "allocatable")
        _normalise(self, "requested")
        object.__setattr__(self, "pods", tuple(resources(p) for p in self.pods))

    def free(self) -> dict[str, float]:
        return {r: amount - self.requested.get(r, 0.0) for r, amount in self.allocatable.items()}


@dataclass(frozen=True)
class PendingPod:
    name: str
    requests: Resources
    unschedulable_since: float  # lastTransitionTime of PodScheduled=False/Unschedulable
    node_selector: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _normalise(self, "requests")


@dataclass(frozen=True)
class UpcomingNode:
    """A node the cloud was asked for and that has not registered yet."""

    group: str
    requested_at: float
    name: str = ""  # the cloud instance, for deleting it after a failed scale-up


@dataclass(frozen=True)
class CAObservation:
    nodes: tuple[Node, ...] = ()
    pending: tuple[PendingPod, ...] = ()
    upcoming: tuple[UpcomingNode, ...] = ()


@dataclass(frozen=True)
class Backoff:
    until: float
    duration_s: float
    failed_at: float


@dataclass(frozen=True)
class CAState:
    unneeded_since: Mapping[str, float] = field(default_factory=dict)
    last_scale_up: float | None = None
    last_scale_down: float | None = None
    last_scale_down_failure: float | None = None
    backoffs: Mapping[str, Backoff] = field(default_factory=dict)


@dataclass(frozen=True)
class CADecision:
    scale_up: Mapping[str, int] = field(default_factory=dict)  # group -> nodes to request
    delete_nodes: tuple[str, ...] = ()
    delete_unregistered: tuple[UpcomingNode, ...] = ()  # failed scale-ups to give back to the cloud
    backed_off: tuple[str, ...] = ()  # groups that entered backoff in this loop
    unhelpable: tuple[str, ...] = ()  # pending pods no group can take (NotTriggerScaleUp)
    halted: bool = False
    reason: str = ""
