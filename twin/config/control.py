"""Scenario sections for the control plane: the metrics pipeline and the autoscalers.

Real manifests keep their upstream shape: `hpa.manifest` is an autoscaling/v2 HorizontalPodAutoscaler,
`keda.manifest` a keda.sh/v1alpha1 ScaledObject and `vpa.manifest` an autoscaling.k8s.io/v1 VerticalPodAutoscaler,
given inline or as a path to the YAML file.
"""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from twin.config import base
from twin.config.base import NonNegativeFloat, PositiveFloat, Strict


class Metrics(Strict):
    """Prometheus scraping TorchServe (:8082/metrics), the kubelet (cAdvisor) and DCGM."""

    scrape_interval_s: PositiveFloat = Field(15.0, description="Prometheus' scrape_interval for every target")
    lookback_delta_s: PositiveFloat = Field(300.0, description="--query.lookback-delta")
    retention_s: PositiveFloat = Field(3600.0, description="samples kept for queries (memory stays bounded)")


class Manifest(Strict):
    """A Kubernetes object, inline or read from `path` (the loader reads the file into `object`)."""

    path: str | None = Field(None, description="the manifest's file, relative to the scenario (from a helm template "
                             "stream or kubectl List, the object of the right kind)")
    object: dict[str, Any] | None = Field(None, description="the object itself, inline (read from path when path is "
                                          "given)")
    source: str = Field("<inline>", description="where the object came from, for error messages")

    @model_validator(mode="after")
    def _has_object(self) -> "Manifest":
        if self.object is None:
            raise ValueError("the manifest inline (object:) or a path to its YAML file (path:)")
        return self


class Hpa(Strict):
    manifest: Manifest = Field(description="an autoscaling/v2 HorizontalPodAutoscaler")
    queries: dict[str, str] = Field(default_factory=dict, description="PromQL per Pods/Object/External metric "
                                    "name, as a Prometheus adapter's rules would serve it")
    sync_period_s: PositiveFloat = Field(15.0, description="--horizontal-pod-autoscaler-sync-period")
    tolerance: NonNegativeFloat = Field(0.1, description="--horizontal-pod-autoscaler-tolerance: a change of the "
                                        "ratio below it is ignored")
    downscale_stabilization_s: NonNegativeFloat = Field(
        300.0, description="--horizontal-pod-autoscaler-downscale-stabilization (when behavior sets none)")


class Keda(Strict):
    manifest: Manifest = Field(description="a keda.sh/v1alpha1 ScaledObject")
    hpa_sync_period_s: PositiveFloat = Field(15.0, description="sync period of the HPA that KEDA generates")


class Vpa(Strict):
    """The Vertical Pod Autoscaler's recommender, updater and admission controller (twin.policies.vpa)."""

    manifest: Manifest = Field(description="an autoscaling.k8s.io/v1 VerticalPodAutoscaler")
    recommender_interval_s: PositiveFloat = Field(60.0, description="the recommender's --recommender-interval")
    recommender: dict[str, Any] = Field(default_factory=dict, description="recommender flags, e.g. "
                                        "safety_margin_fraction, target_memory_percentile, pod_min_memory_mb")
    aggregation: dict[str, Any] = Field(default_factory=dict, description="recommender history flags, e.g. "
                                        "memory_aggregation_interval_s, memory_half_life_s, oom_bump_up_ratio")
    updater: dict[str, Any] = Field(default_factory=dict, description="updater flags, e.g. interval_s, "
                                    "min_replicas, eviction_tolerance, pod_lifetime_update_threshold_s")


class WorkerAutoscaling(Strict):
    """Scale TorchServe workers per pod through the management API (the policy in twin.policies.workers)."""

    policy: dict[str, Any] = Field(default_factory=dict, description="fields of the worker policy's spec")
    period_s: PositiveFloat = Field(15.0, description="how often the worker policy runs")
    resize_memory: bool = Field(True, description="resize pod memory in place as workers change")
    window: str = Field("1m", pattern=r"^[0-9]+(ms|s|m|h)$", description="rate() window of the in-service metric")


class Placeholders(Strict):
    """Headroom as a cluster keeps it (Cluster Autoscaler FAQ, overprovisioning): pause pods of low priority that
    serving pods preempt; evicted, they go Pending and the Cluster Autoscaler adds nodes for them."""

    priority_class: Manifest = Field(description="a scheduling.k8s.io/v1 PriorityClass (value, preemptionPolicy)")
    deployment: Manifest = Field(description="an apps/v1 Deployment of pause pods naming that PriorityClass: its "
                                 "replicas are the headroom, its requests a serving pod's, GPU included")


class ClusterAutoscaling(Strict):
    settings: dict[str, Any] = Field(default_factory=dict, description="Cluster Autoscaler flags, e.g. "
                                     "scan_interval_s, scale_down_unneeded_time_s, expendable_pods_priority_cutoff")
    placeholders: Placeholders | None = Field(None, description="placeholder pods keeping nodes ahead of demand")
    anticipatory: dict[str, Any] | None = Field(None, description="set the placeholders' replicas ahead of pod "
                                                "scale-up (needs placeholders)")


class Autoscaling(Strict):
    hpa: Hpa | None = Field(None, description="an HPA scaling the Deployment")
    keda: Keda | None = Field(None, description="a KEDA ScaledObject scaling the Deployment")
    vpa: Vpa | None = Field(None, description="a VerticalPodAutoscaler on the Deployment")
    workers: WorkerAutoscaling | None = Field(None, description="TorchServe worker autoscaling in each pod")
    cluster: ClusterAutoscaling | None = Field(None, description="the Cluster Autoscaler adding and removing nodes")
    decision_log: bool = Field(True, description="record every controller action (decisions.jsonl with --out)")


class NodeGroupLimits(Strict):
    """Cluster Autoscaler limits and timings of a node pool."""

    min_count: int = Field(0, ge=0, le=base.MAX_NODES, description="nodes the Cluster Autoscaler keeps at least "
                           "(--nodes min)")
    max_count: int = Field(10, ge=0, le=base.MAX_NODES, description="nodes the Cluster Autoscaler grows the pool to "
                           "at most (--nodes max)")
    provision_s: NonNegativeFloat = Field(180.0, description="from request to the node registering")
    gpu_ready_s: NonNegativeFloat = Field(90.0, description="driver and device plugin until GPUs are allocatable")

    @model_validator(mode="after")
    def _min_within_max(self) -> "NodeGroupLimits":
        """Cluster Autoscaler (and every cloud's node-pool API) refuses a group whose minimum exceeds its maximum."""
        if self.min_count > self.max_count:
            raise ValueError(f"min_count: at most max_count ({self.max_count}), got {self.min_count}")
        return self


Kind = Literal["hpa", "keda"]
