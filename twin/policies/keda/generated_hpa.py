"""The autoscaling/v2 HorizontalPodAutoscaler that KEDA's operator creates for a ScaledObject, as a manifest dict.

Fidelity ledger — upstream kedacore/keda v2.20 (main after v2.20.1):
- `controllers/keda/hpa.go` (`newHPAForScaledObject`, `getScaledObjectMetricSpecs`, `getHPAName`): name
  `keda-hpa-<name>` unless `advanced.horizontalPodAutoscalerConfig.name`; minReplicas `max(1, minReplicaCount)`;
  maxReplicas `maxReplicaCount` (100); behavior copied, with `selectPolicy: Disabled` on scaleDown / scaleUp
  under the paused-scale-in / paused-scale-out annotations; External metrics carry the selector
  `scaledobject.keda.sh/name: <name>`; metrics sorted by source type (a stable sort here; Go's `sort.Slice` is
  not stable); with scalingModifiers every External metric is replaced by one `composite-metric` whose target is
  `int64(target × 1000)` milli, and only Resource metrics are kept (ContainerResource ones are dropped, as upstream).
- `pkg/scalers/prometheus_scaler.go` `GetMetricSpecForScaling` + `scaler.go` `GetMetricTargetMili`: External
  metric `s<i>-prometheus`, target AverageValue or Value = threshold rounded to milli.
- `pkg/scalers/cpu_memory_scaler.go`: Resource (or ContainerResource with containerName) with Utilization
  `averageUtilization` or AverageValue `averageValue`.
- `apis/keda/v1alpha1/gvkr.go`: scaleTargetRef defaults apps/v1 Deployment.
Not modelled: labels/annotations/ownerReferences on the HPA (not used for scaling decisions).
"""
from __future__ import annotations

import copy
from typing import Any

from twin.policies.keda import parse as keda_parse
from twin.policies.keda.fallback import COMPOSITE_METRIC
from twin.policies.keda.manifest import ScaledObjectSpec
from twin.policies.keda.triggers import PrometheusTrigger, ResourceTrigger

OWNER_LABEL = "scaledobject.keda.sh/name"


def generated_hpa_manifest(spec: ScaledObjectSpec) -> dict[str, Any]:
    """The HPA manifest KEDA would apply for `spec`."""
    manifest: dict[str, Any] = {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": {"name": spec.hpa_name, "namespace": spec.namespace},
        "spec": {
            "scaleTargetRef": {"apiVersion": spec.scale_target_ref.api_version, "kind": spec.scale_target_ref.kind,
                               "name": spec.scale_target_ref.name},
            "minReplicas": spec.hpa_min_replicas,
            "maxReplicas": spec.hpa_max_replicas,
            "metrics": _metrics(spec),
        },
    }
    behavior = _behavior(spec)
    if behavior is not None:
        manifest["spec"]["behavior"] = behavior
    return manifest


def _behavior(spec: ScaledObjectSpec) -> dict[str, Any] | None:
    behavior = copy.deepcopy(dict(spec.hpa_behavior)) if spec.hpa_behavior is not None else None
    for paused, direction in ((spec.annotations.pause_scale_in, "scaleDown"),
                              (spec.annotations.pause_scale_out, "scaleUp")):
        if paused:
            behavior = behavior or {}
            behavior[direction] = {**(behavior.get(direction) or {}), "selectPolicy": "Disabled"}
    return behavior


def _metrics(spec: ScaledObjectSpec) -> list[dict[str, Any]]:
    metrics = [_external(spec, t) if isinstance(t, PrometheusTrigger) else _resource(t) for t in spec.triggers]
    metrics.sort(key=lambda m: m["type"])
    if spec.modifiers is None:
        return metrics
    target_milli = int(spec.modifiers.target * 1000)
    composite = _external_spec(spec, COMPOSITE_METRIC, spec.modifiers.metric_type, target_milli)
    return [m for m in metrics if m["type"] == "Resource"] + [composite]


def _external(spec: ScaledObjectSpec, trigger: PrometheusTrigger) -> dict[str, Any]:
    return _external_spec(spec, trigger.metric_name, trigger.metric_type, keda_parse.milli(trigger.threshold))


def _external_spec(spec: ScaledObjectSpec, name: str, metric_type: str, target_milli: int) -> dict[str, Any]:
    field = "averageValue" if metric_type == "AverageValue" else "value"
    return {"type": "External", "external": {
        "metric": {"name": name, "selector": {"matchLabels": {OWNER_LABEL: spec.name}}},
        "target": {"type": metric_type, field: keda_parse.milli_string(target_milli)}}}


def _resource(trigger: ResourceTrigger) -> dict[str, Any]:
    if trigger.metric_type == "Utilization":
        target: dict[str, Any] = {"type": "Utilization", "averageUtilization": int(trigger.value)}
    else:
        target = {"type": "AverageValue", "averageValue": trigger.value}
    if trigger.container_name:
        return {"type": "ContainerResource", "containerResource": {
            "name": trigger.type, "container": trigger.container_name, "target": target}}
    return {"type": "Resource", "resource": {"name": trigger.type, "target": target}}
