"""What one HPA sync reads from the cluster, as plain frozen data (times in seconds on the caller's clock).

Fidelity ledger — upstream: kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator.go` inputs:
the scale subresource (spec.replicas, status.replicas), the pod lister (phase, Ready condition and its
lastTransitionTime, startTime, deletionTimestamp, containers and init containers by name with their requests and
restartPolicy, pod-level `spec.resources.requests`) and the metrics APIs (per-pod samples with timestamp and
window, including samples of pods the lister does not know; object and external metric values). Values are in
natural units (cores, bytes, requests/s); the calculator converts them to milli-units as `MilliValue` does.
A pod may instead give its request totals directly in `requests` (the twin's own pods); containers win when set.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from twin.policies.hpa.spec import MetricKey
from twin.policies.pod_resources import Container

RUNNING, PENDING, SUCCEEDED, FAILED = "Running", "Pending", "Succeeded", "Failed"


@dataclass(frozen=True)
class MetricSample:
    """A per-pod sample from metrics.k8s.io or custom.metrics.k8s.io."""

    value: float
    timestamp: float = 0.0
    window: float = 60.0


@dataclass(frozen=True)
class PodObservation:
    name: str
    phase: str = RUNNING
    ready: bool | None = True  # None: the pod has no Ready condition
    start_time: float | None = 0.0  # None: status.startTime unset
    ready_transition_time: float = 0.0  # Ready condition lastTransitionTime
    deleting: bool = False  # deletionTimestamp set
    # Keyed by `MetricKey.sample_name`: resource or metric name ("cpu", "ts_queue"), or "container/resource".
    samples: Mapping[str, MetricSample] = field(default_factory=dict)
    requests: Mapping[str, float] = field(default_factory=dict)  # "cpu": pod total; "container/cpu": one container
    containers: tuple[Container, ...] = ()  # spec.containers, by name
    init_containers: tuple[Container, ...] = ()  # spec.initContainers; restartPolicy Always marks a sidecar
    pod_requests: Mapping[str, float] | None = None  # spec.resources.requests (pod-level resources, KEP-2837)


@dataclass(frozen=True)
class MetricValues:
    """An Object metric (one value) or External metric (all matching series); `error` when the fetch failed."""

    values: tuple[float, ...] = ()
    error: str | None = None


@dataclass(frozen=True)
class HPAObservation:
    spec_replicas: int  # scale.spec.replicas: the controller's "current replicas"
    status_replicas: int  # scale.status.replicas
    pods: tuple[PodObservation, ...] = ()
    metric_values: Mapping[MetricKey, MetricValues] = field(default_factory=dict)  # Object and External metrics
    # Samples the metrics APIs returned for pods the lister does not know: pod name → sample name → sample.
    unlisted_samples: Mapping[str, Mapping[str, MetricSample]] = field(default_factory=dict)
