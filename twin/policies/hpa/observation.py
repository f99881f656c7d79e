"""What one HPA sync reads from the cluster, as plain frozen data (times in seconds on the caller's clock).

Fidelity ledger — upstream: kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator.go` inputs:
the scale subresource (spec.replicas, status.replicas), the pod lister (phase, Ready condition and its
lastTransitionTime, startTime, deletionTimestamp, container requests) and the metrics APIs (per-pod samples with
timestamp and window; object and external metric values). Values are in natural units (cores, bytes, requests/s);
the calculator converts them to milli-units as `MilliValue` does.
Not modelled: metrics returned for pods the lister does not know (upstream keeps them in some sums); the caller
sums container requests (sidecars included) into the pod total, as `calculateRequests` does without pod-level
resources.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from twin.policies.hpa.spec import MetricKey

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
