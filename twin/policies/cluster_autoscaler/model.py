"""The Cluster Autoscaler's inputs, settings, state and decision as plain frozen data.

Fidelity ledger — upstream: kubernetes/autoscaler `cluster-autoscaler/FAQ.md` (flag table, HEAD of 2026-08) and
`config/autoscaling_options.go`. Modelled: the flags that drive scale-up and scale-down timing and limits, with
upstream defaults, in seconds; node groups with a template node (allocatable, labels); registered nodes; pods that
are unschedulable; nodes requested and not yet registered. Quantities go through `twin.config.quantity`, so
"32Gi" and 34359738368 are the same. Pods carry what utilisation and the scheduling simulation read of them:
requests (or containers, init containers and pod-level requests, summed as `PodRequests` does), DaemonSet and
mirror ownership, deletion time and grace period, host ports, labels, nodeSelector and topology spread constraints.
Not modelled: per-group option overrides, taints/tolerations, affinity.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping

from twin.config.quantity import parse_quantity
from twin.policies.cluster_autoscaler.estimator import SpreadConstraint
from twin.policies.pod_resources import Container, pod_requests

GPU_PREFIX = "nvidia.com/"  # nvidia.com/gpu and MIG profiles such as nvidia.com/mig-1g.10gb
# Labels a cloud provider or the GPU operator puts on a GPU node before its device plugin reports GPUs
# (`GetGpuConfigFromNode`: a GPU label, or GPUs allocatable, make a node a GPU node).
GPU_LABELS = ("nvidia.com/gpu.present", "cloud.google.com/gke-accelerator", "k8s.amazonaws.com/accelerator")
DEFAULT_GRACE_PERIOD_S = 30.0  # v1.DefaultTerminationGracePeriodSeconds
LONG_TERMINATING_EXTRA_S = 30.0  # drain.PodLongTerminatingExtraThreshold
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
    expendable_pods_priority_cutoff: int = -10  # pods of lower priority trigger no scale-up
    max_nodes_total: int = 0  # 0: no limit, as upstream
    expander: str = "least-waste"
    ignore_daemonsets_utilization: bool = False  # --ignore-daemonsets-utilization
    ignore_mirror_pods_utilization: bool = False  # --ignore-mirror-pods-utilization
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
class Pod:
    """A pod on a node. Give `requests`, or `containers` (with `init_containers`, `pod_level`, `overhead`), from
    which `requests` becomes the pod's effective requests."""

    requests: Resources = field(default_factory=dict)
    name: str = ""
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    pod_level: Resources | None = None  # spec.resources.requests
    overhead: Resources | None = None
    daemonset: bool = False  # owned by a DaemonSet, or annotated cluster-autoscaler.kubernetes.io/daemonset-pod
    mirror: bool = False  # a static pod's mirror (kubernetes.io/config.mirror annotation)
    deleted_at: float | None = None  # deletionTimestamp
    grace_period_s: float = DEFAULT_GRACE_PERIOD_S  # terminationGracePeriodSeconds
    host_ports: tuple[int | str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    spread: tuple[SpreadConstraint, ...] = ()
    node_selector: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.containers or self.init_containers:
            object.__setattr__(self, "requests", pod_requests(
                [_parsed(c) for c in self.containers], [_parsed(c) for c in self.init_containers],
                pod_level=resources(self.pod_level or {}), overhead=resources(self.overhead or {})))
        else:
            _normalise(self, "requests")

    def long_terminating(self, now: float) -> bool:
        """`drain.IsPodLongTerminating`: deleted longer ago than its grace period plus 30 s."""
        return self.deleted_at is not None and self.deleted_at + self.grace_period_s + LONG_TERMINATING_EXTRA_S < now

    def moves_on_drain(self, now: float) -> bool:
        """DaemonSet and mirror pods stay (the drain skips them); long-terminating pods are gone already."""
        return not (self.daemonset or self.mirror or self.long_terminating(now))


def _parsed(container: Container) -> Container:
    return Container(container.name, resources(container.requests), container.restart_policy)


@dataclass(frozen=True)
class Node:
    """A registered node. `pods`: Pods, or plain request mappings (pods a drain would move). `requested`: every
    pod's requests summed, as utilisation counts them (DaemonSet pods included); unset, the sum over `pods`."""

    name: str
    group: str
    allocatable: Resources
    requested: Resources | None = None
    pods: tuple[Pod | Resources, ...] = ()
    ready: bool = True
    created_at: float = 0.0
    movable: bool = True  # False: a pod that blocks the drain (no controller, local storage, PDB at its limit)
    scale_down_disabled: bool = False  # cluster-autoscaler.kubernetes.io/scale-down-disabled annotation
    labels: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _normalise(self, "allocatable")
        pods = tuple(p if isinstance(p, Pod) else Pod(p) for p in self.pods)
        object.__setattr__(self, "pods", pods)
        if self.requested is None:
            total: dict[str, float] = {}
            for pod in pods:
                total = {r: total.get(r, 0.0) + pod.requests.get(r, 0.0) for r in {*total, *pod.requests}}
            object.__setattr__(self, "requested", total)
        else:
            _normalise(self, "requested")

    def free(self) -> dict[str, float]:
        return {r: amount - self.requested.get(r, 0.0) for r, amount in self.allocatable.items()}

    def moving(self, now: float) -> list[Resources]:
        """The requests of the pods a drain would move elsewhere."""
        return [pod.requests for pod in self.pods if pod.moves_on_drain(now)]


@dataclass(frozen=True)
class PendingPod:
    name: str
    requests: Resources
    unschedulable_since: float  # lastTransitionTime of PodScheduled=False/Unschedulable
    node_selector: Mapping[str, str] = field(default_factory=dict)
    host_ports: tuple[int | str, ...] = ()
    labels: Mapping[str, str] = field(default_factory=dict)
    spread: tuple[SpreadConstraint, ...] = ()
    priority: int = 0  # spec.priority (0: no PriorityClass and no global default)
    nominated_node: str = ""  # status.nominatedNodeName: waiting for the preemption of lower-priority pods there

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
