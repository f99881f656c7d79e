"""ScaledObject manifest parsing and validation; cases ported from kedacore/keda v2.20 tests (named per case)."""
from __future__ import annotations

from typing import Any

import pytest
import yaml

from twin.errors import InputError
from twin.policies.keda import scaled_object as keda
from twin.policies.keda.manifest import Fallback

PROM = {"serverAddress": "http://prometheus:9090", "query": "sum(ts_queue_latency_microseconds)", "threshold": "100"}


def prometheus(name: str = "", **metadata: str) -> dict[str, Any]:
    return {"type": "prometheus", "name": name, "metadata": {**PROM, **metadata}}


def cpu(value: str = "50", metric_type: str = "Utilization", **extra: Any) -> dict[str, Any]:
    return {"type": "cpu", "metricType": metric_type, "metadata": {"value": value}, **extra}


def scaled_object(*, triggers: list | None = None, annotations: dict | None = None, name: str = "torchserve",
                  **spec: Any) -> dict[str, Any]:
    """A ScaledObject manifest as a user would paste it (YAML parsed to a dict)."""
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
            "metadata": {"name": name, "namespace": "serving", "annotations": annotations or {}},
            "spec": {"scaleTargetRef": {"name": "torchserve"},
                     "triggers": [prometheus()] if triggers is None else triggers, **spec}}


def load(**kwargs: Any) -> keda.ScaledObjectSpec:
    return keda.scaledobject_from_manifest(scaled_object(**kwargs), "so.yaml")


def modifiers(formula: str, target: str = "2", **extra: str) -> dict[str, Any]:
    return {"scalingModifiers": {"formula": formula, "target": target, **extra}}


def test_defaults_follow_scaledobject_types_and_executor() -> None:
    # scaledobject_types.go: defaultHPAMinReplicas 1, defaultHPAMaxReplicas 100; withtriggers_types.go polling 30;
    # executor defaults cooldown 300, initialCooldown 0, minReplicaCount 0 (TestGetHPAMinReplicas "Default min").
    spec = load()
    assert (spec.polling_interval_s, spec.cooldown_period_s, spec.initial_cooldown_period_s) == (30, 300, 0)
    assert (spec.min_replicas, spec.hpa_min_replicas, spec.hpa_max_replicas) == (0, 1, 100)
    assert spec.hpa_name == "keda-hpa-torchserve"
    assert (spec.scale_target_ref.kind, spec.scale_target_ref.api_version) == ("Deployment", "apps/v1")
    trigger = spec.triggers[0]
    assert (trigger.metric_name, trigger.metric_type, trigger.threshold) == ("s0-prometheus", "AverageValue", 100.0)
    assert trigger.ignore_null_values is True and trigger.activation_threshold == 0.0


@pytest.mark.parametrize(("case", "kwargs", "field"), [
    ("webhook: shouldn't validate the so creation when the replica counts are wrong",
     {"minReplicaCount": 10, "maxReplicaCount": 5}, "spec.minReplicaCount"),
    ("TestCheckReplicaCountBoundsAreValid: Invalid: idle 1 == min 1",
     {"minReplicaCount": 1, "maxReplicaCount": 5, "idleReplicaCount": 1}, "spec.idleReplicaCount"),
    ("TestCheckReplicaCountBoundsAreValid: Invalid: idle 2 > min 1",
     {"minReplicaCount": 1, "maxReplicaCount": 5, "idleReplicaCount": 2}, "spec.idleReplicaCount"),
    ("CheckReplicaCountBoundsAreValid: idle set, min unset compares against 0",
     {"idleReplicaCount": 0}, "spec.idleReplicaCount"),
    ("webhook: shouldn't validate the so creation when the fallback is wrong",
     {"fallback": {"failureThreshold": -1, "replicas": -3}}, "spec.fallback.failureThreshold"),
    ("fallback_test: should return error when fallback is enabled but scaledobject has invalid parameter",
     {"fallback": {"failureThreshold": -3, "replicas": 10}}, "spec.fallback.failureThreshold"),
    ("TestCheckFallbackValid: negative replicas", {"fallback": {"failureThreshold": 3, "replicas": -1}},
     "spec.fallback.replicas"),
    ("CRD: failureThreshold is an int32", {"fallback": {"failureThreshold": 2**31, "replicas": 1}},
     "spec.fallback.failureThreshold"),
    ("TestCheckFallbackValid: CPU trigger - invalid",
     {"minReplicaCount": 1, "triggers": [cpu()], "fallback": {"failureThreshold": 3, "replicas": 6}}, "spec.fallback"),
    ("webhook: should validate empty triggers in ScaledObject (rejected)", {"triggers": []}, "spec.triggers"),
    ("TestValidateTriggers: duplicate trigger names",
     {"triggers": [prometheus("trigger1"), prometheus("trigger1")]}, "spec.triggers[1].name"),
    ("TestValidateTriggers: unsupported useCachedMetrics property for cpu scaler",
     {"minReplicaCount": 1, "triggers": [cpu(useCachedMetrics=True)]}, "spec.triggers[0].useCachedMetrics"),
    ("webhook: shouldn't create so when stabilizationWindowSeconds exceeds 3600",
     {"advanced": {"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {"stabilizationWindowSeconds": 3700}}}}},
     "spec.advanced.horizontalPodAutoscalerConfig.behavior.scaleDown.stabilizationWindowSeconds"),
    ("webhook: shouldnt validate the so creation with scalingModifiers.Formula but no target",
     {"triggers": [prometheus("workload_trig"), prometheus("cron_trig")],
      "advanced": modifiers("workload_trig + cron_trig", target="")}, "spec.advanced.scalingModifiers.target"),
    ("webhook: shouldnt validate the so creation with ScalingModifiers when triggers dont have names",
     {"triggers": [prometheus(), prometheus()], "advanced": modifiers("workload_trig + cron_trig")},
     "spec.advanced.scalingModifiers.formula"),
    ("validateScalingModifiersTarget: Utilization rejected",
     {"triggers": [prometheus("a")], "advanced": modifiers("a", metricType="Utilization")},
     "spec.advanced.scalingModifiers.metricType"),
    ("webhook: scalingModifiers fallback behavior requires scalingModifiers.formula",
     {"fallback": {"failureThreshold": 3, "replicas": 6, "behavior": "scalingModifiers"}}, "spec.fallback.behavior"),
    ("webhook: shouldn't validate so creation with cpu scaler requirements not being met for scaling to 0",
     {"triggers": [cpu()]}, "spec.minReplicaCount"),
    ("GetMetricTargetType: ErrScalerUnsupportedUtilizationMetricType",
     {"triggers": [{**prometheus(), "metricType": "Utilization"}]}, "spec.triggers[0].metricType"),
    ("webhook: shouldn't validate the so creation when the name exceeds the label value limit",
     {"name": "n" * 64}, "metadata.name"),
    ("webhook: shouldn't validate ... generated HPA name would exceed the label value limit",
     {"name": "n" * 60}, "spec.advanced.horizontalPodAutoscalerConfig.name"),
    ("cpu_memory_scaler: the deprecated metadata 'type' is an error",
     {"minReplicaCount": 1, "triggers": [{"type": "cpu", "metricType": "Utilization",
                                           "metadata": {"type": "Utilization", "value": "50"}}]},
     "spec.triggers[0].metadata.type"),
    ("paused-replicas must be an integer (GetPausedReplicaCount)",
     {"annotations": {"autoscaling.keda.sh/paused-replicas": "two"}},
     "metadata.annotations.autoscaling.keda.sh/paused-replicas"),
])
def test_invalid_scaledobjects_are_rejected_naming_the_field(case: str, kwargs: dict, field: str) -> None:
    with pytest.raises(InputError) as error:
        load(**kwargs)
    assert error.value.field == field, case
    assert error.value.source == "so.yaml"


@pytest.mark.parametrize(("case", "kwargs"), [
    ("TestCheckReplicaCountBoundsAreValid: Valid: min 1, max 5, idle 0",
     {"minReplicaCount": 1, "maxReplicaCount": 5, "idleReplicaCount": 0}),
    ("CheckReplicaCountBoundsAreValid: explicit min 0 counts as 1 (GetHPAMinReplicas), so idle 0 passes",
     {"minReplicaCount": 0, "idleReplicaCount": 0}),
    ("TestCheckFallbackValid: Multiple triggers with one CPU and one valid - valid",
     {"triggers": [cpu(), prometheus()], "fallback": {"failureThreshold": 3, "replicas": 6}}),
    ("webhook: should validate the so creation when the fallback is configured, and so uses ScalingModifiers",
     {"triggers": [prometheus("workload_trig_1"), prometheus("workload_trig_2")],
      "advanced": modifiers("workload_trig_1 + workload_trig_2", metricType="Value"),
      "fallback": {"failureThreshold": 3, "replicas": 6}}),
    ("webhook: should validate ... when formula triggers do have names but not all triggers",
     {"triggers": [prometheus(), prometheus("workload_trig")], "advanced": modifiers("workload_trig + 1")}),
    ("webhook: should validate so creation when min replicas is > 0 with only cpu scaler given",
     {"minReplicaCount": 1, "triggers": [cpu()]}),
    ("webhook: should validate ... name is at the label value limit and a custom HPA name is set",
     {"name": "n" * 63, "advanced": {"horizontalPodAutoscalerConfig": {"name": "short"}}}),
])
def test_valid_scaledobjects_are_accepted(case: str, kwargs: dict) -> None:
    spec = load(**kwargs)
    assert spec.name == kwargs.get("name", "torchserve"), case


# prometheus_scaler_test.go testPromMetadata, in order (metricName is ignored upstream and here).
_BASE = {"serverAddress": "http://localhost:9090", "threshold": "100", "query": "up"}
_PROM_METADATA = [
    ({}, True),
    ({**_BASE, "metricName": "http_requests_total"}, False),  # all properly formed
    ({**_BASE, "namespace": "foo"}, False),
    ({**_BASE, "ignoreNullValues": "false"}, False),
    ({**_BASE, "activationThreshold": "50"}, False),
    ({**_BASE, "serverAddress": ""}, True),  # missing serverAddress
    ({"serverAddress": "http://localhost:9090", "query": "up"}, True),  # missing threshold
    ({**_BASE, "threshold": "one"}, True),  # malformed threshold
    ({**_BASE, "activationThreshold": "one"}, True),  # malformed activationThreshold
    ({**_BASE, "query": ""}, True),  # missing query
    ({**_BASE, "ignoreNullValues": "xxxx"}, True),
    ({**_BASE, "serverAddress": "https://localhost:9090", "unsafeSsl": "true"}, False),
    ({**_BASE, "customHeaders": "key1=value1,key2=value2"}, False),
    ({**_BASE, "customHeaders": "key1=value1,key2"}, True),
    ({**_BASE, "queryParameters": "key1=value1,key2=value2"}, False),
    ({**_BASE, "queryParameters": "key1=value1,key2"}, True),
    ({**_BASE, "timeout": "1000"}, False),
    ({**_BASE, "timeout": "-1"}, True),
    ({**_BASE, "timeout": "a"}, True),
]


@pytest.mark.parametrize(("index", "metadata", "is_error"), [(i, m, e) for i, (m, e) in enumerate(_PROM_METADATA)])
def test_prometheus_metadata_table(index: int, metadata: dict, is_error: bool) -> None:
    """TestPrometheusParseMetadata over testPromMetadata[index]."""
    manifest = scaled_object(triggers=[{"type": "prometheus", "metadata": metadata}])
    if is_error:
        with pytest.raises(InputError) as error:
            keda.scaledobject_from_manifest(manifest, "so.yaml")
        assert error.value.field.startswith("spec.triggers[0].metadata.")
    else:
        trigger = keda.scaledobject_from_manifest(manifest, "so.yaml").triggers[0]
        assert trigger.query == "up" and trigger.threshold == 100.0


def test_prometheus_optional_metadata_values_are_parsed() -> None:
    trigger = load(triggers=[prometheus(activationThreshold="50", ignoreNullValues="f", timeout="1m30s",
                                        customHeaders="X-Tenant=a, X-Org=b")]).triggers[0]
    assert (trigger.activation_threshold, trigger.ignore_null_values, trigger.timeout_s) == (50.0, False, 90.0)
    assert trigger.custom_headers == {"X-Tenant": "a", "X-Org": "b"}


@pytest.mark.parametrize(("annotations", "paused", "paused_replicas"), [
    ({}, False, None),  # TestNeedToBePausedByAnnotation: No annotations
    ({"autoscaling.keda.sh/paused": "true"}, True, None),  # PausedAnnotation with true value
    ({"autoscaling.keda.sh/paused": "false"}, False, None),  # PausedAnnotation with false value
    ({"autoscaling.keda.sh/paused": "invalid"}, True, None),  # PausedAnnotation with invalid value
    ({"autoscaling.keda.sh/paused-replicas": "5"}, True, 5),  # PausedReplicasAnnotation with value
    ({"autoscaling.keda.sh/paused": "false", "autoscaling.keda.sh/paused-replicas": "5"}, True, 5),  # Both, false
])
def test_pause_annotations(annotations: dict, paused: bool, paused_replicas: int | None) -> None:
    spec = load(annotations=annotations)
    assert (spec.annotations.paused, spec.annotations.paused_replicas) == (paused, paused_replicas)


def test_resource_trigger_quantities_parse_as_kubernetes_does() -> None:
    spec = load(minReplicaCount=1, triggers=[cpu("500m", "AverageValue"), {"type": "memory", "metricType":
                                              "AverageValue", "metadata": {"value": "1.5Gi"}}])
    assert [t.value for t in spec.triggers] == ["500m", "1.5Gi"]
    with pytest.raises(InputError) as error:
        load(minReplicaCount=1, triggers=[cpu("500x", "AverageValue")])
    assert error.value.field == "spec.triggers[0].metadata.value"


def test_a_pasted_yaml_scaledobject() -> None:
    document = yaml.safe_load("""
apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata:
  name: torchserve-resnet
  annotations:
    autoscaling.keda.sh/paused-scale-in: "true"
spec:
  scaleTargetRef: {name: torchserve, kind: StatefulSet}
  pollingInterval: 15
  cooldownPeriod: 120
  minReplicaCount: 1
  maxReplicaCount: 8
  fallback: {failureThreshold: 3, replicas: 4, behavior: currentReplicasIfHigher}
  triggers:
    - type: prometheus
      name: queue
      metricType: Value
      useCachedMetrics: true
      metadata:
        serverAddress: http://prometheus.monitoring:9090
        query: sum(rate(ts_inference_requests_total[1m]))
        threshold: "50.5"
        activationThreshold: "1"
""")
    spec = keda.scaledobject_from_manifest(document, "resnet.yaml")
    replicas = (spec.hpa_min_replicas, spec.hpa_max_replicas)
    assert (spec.polling_interval_s, spec.cooldown_period_s, replicas) == (15, 120, (1, 8))
    assert spec.scale_target_ref.kind == "StatefulSet" and spec.annotations.pause_scale_in
    assert spec.fallback.behavior == "currentReplicasIfHigher"
    trigger = spec.triggers[0]
    assert (trigger.name, trigger.metric_type, trigger.threshold) == ("queue", "Value", 50.5)
    assert trigger.use_cached_metrics and trigger.activation_threshold == 1.0


@pytest.mark.parametrize(("fields", "named"), [
    ({"failure_threshold": -3, "replicas": 10}, "spec.fallback.failureThreshold"),
    ({"failure_threshold": 3, "replicas": -1}, "spec.fallback.replicas"),
    ({"failure_threshold": 3, "replicas": 1, "behavior": "sometimes"}, "spec.fallback.behavior"),
])
def test_a_fallback_admission_would_reject_cannot_be_built(fields: dict, named: str) -> None:
    with pytest.raises(ValueError, match=named):
        Fallback(**fields)
