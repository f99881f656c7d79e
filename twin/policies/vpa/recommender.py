"""The VPA recommender for one VerticalPodAutoscaler: per-pod container states feeding one aggregate, and the
recommendation it publishes each loop (status.recommendation), already within the container policy.

Fidelity ledger — upstream: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1, `pkg/recommender/routines/
recommender.go` (each loop: samples in, recommendations out, then `ApplyVPAPolicy` to minAllowed / maxAllowed),
`pkg/recommender/input/cluster_feeder.go` (one metrics-server sample per container per loop: CPU rate and working
set), `pkg/recommender/input/oom/observer.go` (an OOMKilled container adds an OOM sample with the memory the container
requested). The twin's pods run one container, the serving one; `container` names it for the resource policy.
A container whose policy mode is Off gets no recommendation.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from twin.policies.vpa.aggregate import AggregateState, AggregationConfig, ContainerState, amount, millicores
from twin.policies.vpa.capping import cap
from twin.policies.vpa.estimator import Bounds, RecommenderConfig, estimate
from twin.policies.vpa.manifest import VpaSpec, vpa_from_manifest

SERVING_CONTAINER = "torchserve"  # the container name of the TorchServe Helm chart and kubernetes examples


@dataclass
class Recommender:
    spec: VpaSpec
    config: RecommenderConfig = field(default_factory=RecommenderConfig)
    aggregation: AggregationConfig = field(default_factory=AggregationConfig)
    container: str = SERVING_CONTAINER

    def __post_init__(self) -> None:
        self.aggregate = AggregateState(self.aggregation)
        self.containers: dict[str, ContainerState] = {}

    @classmethod
    def from_manifest(cls, manifest: Any, source: str = "<inline>", **settings: Any) -> "Recommender":
        """A recommender for a VerticalPodAutoscaler manifest; `settings` are the dataclass fields (config,
        aggregation, container)."""
        return cls(vpa_from_manifest(manifest, source), **settings)

    @property
    def policy(self):
        return self.spec.policy(self.container)

    def observe(self, pod: str, time_s: float, *, cpu_cores: float | None = None,
                memory_bytes: float | None = None) -> None:
        """One metrics-server sample of the pod's container."""
        state = self._state(pod)
        if cpu_cores is not None:
            state.add_cpu(time_s, millicores(cpu_cores))
        if memory_bytes is not None:
            state.add_memory(time_s, amount(memory_bytes))

    def record_oom(self, pod: str, time_s: float, requested_bytes: float) -> bool:
        return self._state(pod).record_oom(time_s, amount(requested_bytes))

    def forget(self, live: set[str]) -> None:
        """Pods that are gone: their container states go; what they added to the aggregate stays."""
        self.containers = {name: state for name, state in self.containers.items() if name in live}

    def recommendation(self) -> Bounds | None:
        """status.recommendation for the container, or None when it has no samples or its policy is Off."""
        if self.policy.mode == "Off" or self.aggregate.total_samples == 0:
            return None
        raw = estimate(self.aggregate, self.config, controlled=self.policy.controlled_resources)
        return cap(raw, self.policy)

    def _state(self, pod: str) -> ContainerState:
        if pod not in self.containers:
            self.containers[pod] = ContainerState(self.aggregate)
        return self.containers[pod]
