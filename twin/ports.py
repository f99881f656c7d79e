"""The ports through which control steps see and change the world: plain views in, plain calls out.

The twin implements them over the simulated cluster (twin.core.twin_ports); the live adapter implements them over the
Kubernetes, TorchServe and Prometheus APIs. A control step knows only these.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Protocol

from twin.policies.pod_resources import Container


@dataclass(frozen=True)
class PodView:
    name: str
    phase: str  # Pending | Running | Terminating
    ready: bool
    node: str | None
    start_time: float | None  # status.startTime: when the pod was bound (None while unscheduled)
    ready_transition_time: float  # Ready condition's lastTransitionTime
    deleting: bool
    requests: Mapping[str, float] = field(default_factory=dict)  # cpu in cores, memory in bytes, devices in units
    limits: Mapping[str, float] = field(default_factory=dict)
    resize_status: str = ""  # "" | InProgress | Deferred | Infeasible
    # Every container as the API lists it (empty: `requests` above is the whole pod, as in the twin).
    containers: tuple[Container, ...] = ()
    init_containers: tuple[Container, ...] = ()
    pod_requests: Mapping[str, float] | None = None  # spec.resources.requests (pod-level resources)
    priority: int = 0  # spec.priority, from its PriorityClass (0 without one)
    nominated_node: str | None = None  # status.nominatedNodeName: its preemption victims are terminating there
    # lastState.terminated of a container OOMKilled: (startedAt, finishedAt); None when it never was
    last_oom: tuple[float, float] | None = None


@dataclass(frozen=True)
class NodeView:
    name: str
    pool: str
    ready: bool
    created_at: float
    allocatable: Mapping[str, float]
    requested: Mapping[str, float]
    pods: tuple[str, ...] = ()


@dataclass(frozen=True)
class WorkersView:
    """What TorchServe's describe API tells of one model in one pod."""

    min_workers: int
    max_workers: int
    ready: int  # READY workers (busy ones included: describe shows no busy state)
    starting: int  # shown as UNLOADING while they load
    pending_requests: int  # jobQueueStatus.pendingRequests


@dataclass(frozen=True)
class Sample:
    labels: Mapping[str, str]
    value: float


class MetricsUnavailable(Exception):
    """A metrics query failed (bad query, Prometheus down or answering an error)."""


class ClusterPort(Protocol):
    def deployment_replicas(self) -> tuple[int, int]: ...  # (spec.replicas, status.replicas)
    def pods(self) -> list[PodView]: ...
    def nodes(self) -> list[NodeView]: ...
    def pending_pods(self) -> list[PodView]: ...
    def upcoming_nodes(self) -> Mapping[str, int]: ...  # nodes requested and not yet registered, by pool
    def scale_deployment(self, replicas: int) -> None: ...
    def resize_pod(self, pod: str, requests: Mapping[str, float], limits: Mapping[str, float]) -> str: ...
    def evict_pod(self, pod: str) -> None: ...  # the Eviction API: the pod goes, its ReplicaSet replaces it
    def add_nodes(self, pool: str, count: int) -> None: ...
    def remove_node(self, node: str) -> None: ...
    # The placeholder Deployment (pause pods of low priority that keep nodes ahead of demand), when there is one.
    def placeholder_replicas(self) -> int: ...  # its spec.replicas (0 without one)
    def placeholder_pods(self) -> list[PodView]: ...
    def scale_placeholders(self, replicas: int) -> None: ...


class TorchServePort(Protocol):
    def describe(self, pod: str) -> WorkersView | None: ...  # None: the management API does not answer
    def scale_workers(self, pod: str, min_workers: int, max_workers: int) -> bool: ...


class MetricsPort(Protocol):
    def query(self, promql: str) -> list[Sample]: ...  # instant query now; raises MetricsUnavailable


@dataclass(frozen=True)
class Ports:
    """Everything a control step may touch."""

    cluster: ClusterPort
    torchserve: TorchServePort
    metrics: MetricsPort


@dataclass(frozen=True)
class Decision:
    """One controller action, as the decision log records it and the live adapter replays it."""

    time_s: float
    controller: str  # hpa | keda | workers | memory | vpa | cluster-autoscaler | anticipatory
    # scale_deployment | scale_workers | resize_pod | evict_pod | scale_placeholders | add_nodes | remove_node
    action: str
    target: str  # deployment, pod or node pool/node name
    value: Mapping[str, float | int | str]  # the target state, e.g. {"replicas": 4}
    reason: str = ""

    def to_json(self) -> dict:
        return {"time_s": round(self.time_s, 6), "controller": self.controller, "action": self.action,
                "target": self.target, "value": dict(self.value), "reason": self.reason}
