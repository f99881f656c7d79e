"""autoscaling/v2 manifest parsing, API-server defaults (pkg/apis/autoscaling/v2/defaults.go) and quantities."""
from __future__ import annotations

import copy
from fractions import Fraction

import pytest
import yaml

from twin.errors import InputError
from twin.policies.hpa.manifest import hpa_from_manifest
from twin.config.quantity import exact_quantity, milli_value
from twin.policies.hpa.spec import (
    AVERAGE_VALUE, CONTAINER_RESOURCE, EXTERNAL, OBJECT, PODS, RESOURCE, UTILIZATION, VALUE, LabelSelector,
    MetricKey, ObjectRef, ScalingPolicy,
)

FULL = yaml.safe_load("""
apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: {name: torchserve}
spec:
  scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: torchserve}
  minReplicas: 2
  maxReplicas: 12
  metrics:
  - type: Resource
    resource: {name: cpu, target: {type: Utilization, averageUtilization: 70}}
  - type: Resource
    resource: {name: memory, target: {type: AverageValue, averageValue: 1Gi}}
  - type: Pods
    pods:
      metric: {name: ts_queue_latency}
      target: {type: AverageValue, averageValue: 500m}
  - type: Object
    object:
      describedObject: {apiVersion: networking.k8s.io/v1, kind: Ingress, name: main-route}
      metric: {name: requests-per-second}
      target: {type: Value, value: 2k}
  behavior:
    scaleDown:
      stabilizationWindowSeconds: 60
      policies: [{type: Pods, value: 1, periodSeconds: 30}]
    scaleUp:
      selectPolicy: Min
      tolerance: 50m
""")

# What KEDA writes for a ScaledObject with one Prometheus trigger (keda-hpa-<name>, External, AverageValue).
KEDA = {
    "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "keda-hpa-ts"},
    "spec": {
        "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "ts"},
        "minReplicas": 1, "maxReplicas": 100,
        "metrics": [{"type": "External", "external": {
            "metric": {"name": "s0-prometheus", "selector": {"matchLabels": {"scaledobject.keda.sh/name": "ts"}}},
            "target": {"type": "AverageValue", "averageValue": "5"}}}],
    },
}


def test_full_manifest_fields() -> None:
    spec = hpa_from_manifest(FULL, "hpa.yaml")
    assert (spec.name, spec.min_replicas, spec.max_replicas) == ("torchserve", 2, 12)
    assert spec.scale_target == ObjectRef("Deployment", "torchserve", "apps/v1")
    cpu, memory, pods, obj = spec.metrics
    assert (cpu.key, cpu.target.type, cpu.target.average_utilization) == (MetricKey(RESOURCE, "cpu"), UTILIZATION, 70)
    assert (memory.target.type, memory.target.average_value_milli) == (AVERAGE_VALUE, 1024 ** 3 * 1000)
    assert (pods.key, pods.target.average_value_milli) == (MetricKey(PODS, "ts_queue_latency"), 500)
    assert obj.key == MetricKey(OBJECT, "requests-per-second", None,
                                ObjectRef("Ingress", "main-route", "networking.k8s.io/v1"))
    assert (obj.target.type, obj.target.value_milli) == (VALUE, 2_000_000)


def test_behavior_defaults_are_filled_per_field() -> None:
    """GenerateHPAScale{Up,Down}Rules: only nil fields take defaults; scaleDown's window stays unset."""
    behavior = hpa_from_manifest(FULL, "hpa.yaml").behavior
    up, down = behavior.scale_up, behavior.scale_down
    assert (up.stabilization_window_seconds, up.select_policy, up.tolerance) == (0, "Min", 0.05)
    assert up.policies == (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15))
    assert (down.stabilization_window_seconds, down.select_policy, down.tolerance) == (60, "Max", None)
    assert down.policies == (ScalingPolicy("Pods", 1, 30),)


def test_empty_behavior_gets_both_default_rule_sets() -> None:
    manifest = copy.deepcopy(KEDA)
    manifest["spec"]["behavior"] = {}
    behavior = hpa_from_manifest(manifest, "x").behavior
    assert behavior.scale_down.stabilization_window_seconds is None
    assert behavior.scale_down.policies == (ScalingPolicy("Percent", 100, 15),)
    assert behavior.scale_up.policies == (ScalingPolicy("Pods", 4, 15), ScalingPolicy("Percent", 100, 15))


def test_minimal_manifest_defaults() -> None:
    """SetDefaults_HorizontalPodAutoscaler: minReplicas 1, no metrics → CPU averageUtilization 80, no behavior."""
    spec = hpa_from_manifest({"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                              "spec": {"scaleTargetRef": {"kind": "Deployment", "name": "d"}, "maxReplicas": 3}}, "m")
    assert (spec.min_replicas, spec.behavior) == (1, None)
    (only,) = spec.metrics
    assert (only.key, only.target.type, only.target.average_utilization) == (MetricKey(RESOURCE, "cpu"), UTILIZATION,
                                                                             80)


def test_container_resource_metric() -> None:
    manifest = copy.deepcopy(KEDA)
    manifest["spec"]["metrics"] = [{"type": "ContainerResource", "containerResource": {
        "name": "cpu", "container": "torchserve", "target": {"type": "Utilization", "averageUtilization": 60}}}]
    (metric,) = hpa_from_manifest(manifest, "m").metrics
    assert metric.key == MetricKey(CONTAINER_RESOURCE, "cpu", container="torchserve")
    assert (metric.key.sample_name, metric.target.average_utilization) == ("torchserve/cpu", 60)


def test_keda_generated_hpa_is_accepted_with_its_selector() -> None:
    (metric,) = hpa_from_manifest(KEDA, "keda").metrics
    selector = LabelSelector(match_labels=(("scaledobject.keda.sh/name", "ts"),))
    assert metric.key == MetricKey(EXTERNAL, "s0-prometheus", selector)
    assert (metric.target.type, metric.target.average_value_milli) == (AVERAGE_VALUE, 5000)


@pytest.mark.parametrize("path,value,field", [
    (("apiVersion",), "autoscaling/v1", "apiVersion"),
    (("spec", "maxReplicas"), None, "spec.maxReplicas"),
    (("spec", "maxReplicas"), 0, "spec.maxReplicas"),
    (("spec", "minReplicas"), 101, "spec.minReplicas"),
    (("spec", "scaleTargetRef"), {"kind": "Deployment"}, "spec.scaleTargetRef.name"),
    (("spec", "metrics", 0, "type"), "Custom", "spec.metrics[0].type"),
    (("spec", "metrics", 0, "external", "target", "type"), "Utilization", "spec.metrics[0].external.target.type"),
    (("spec", "metrics", 0, "external", "target", "averageValue"), "ten",
     "spec.metrics[0].external.target.averageValue"),
    (("spec", "metrics", 0, "external", "target", "averageValue"), "0", "spec.metrics[0].external.target.averageValue"),
    (("spec", "metrics", 0, "external", "metric", "name"), "", "spec.metrics[0].external.metric.name"),
    (("spec", "behavior"), {"scaleUp": {"policies": [{"type": "Pods", "value": 4, "periodSeconds": 1801}]}},
     "spec.behavior.scaleUp.policies[0].periodSeconds"),
    (("spec", "behavior"), {"scaleDown": {"selectPolicy": "Fastest"}}, "spec.behavior.scaleDown.selectPolicy"),
    (("spec", "behavior"), {"scaleUp": {"policies": []}}, "spec.behavior.scaleUp.policies"),
    (("spec", "behavior"), {"scaleDown": {"stabilizationWindowSeconds": 3601}},
     "spec.behavior.scaleDown.stabilizationWindowSeconds"),
])
def test_malformed_manifest_names_the_field(path, value, field) -> None:
    manifest = copy.deepcopy(KEDA)
    node = manifest
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    with pytest.raises(InputError) as caught:
        hpa_from_manifest(manifest, "keda.yaml")
    assert caught.value.field == field and caught.value.source == "keda.yaml"
    assert str(caught.value).startswith("keda.yaml: " + field)


@pytest.mark.parametrize("text,expected", [
    ("500m", Fraction(1, 2)), ("1Gi", Fraction(2 ** 30)), ("2k", Fraction(2000)), ("1e3", Fraction(1000)),
    ("5E-3", Fraction(5, 1000)), ("1.5", Fraction(3, 2)), (".5", Fraction(1, 2)), ("-2", Fraction(-2)),
    ("100Mi", Fraction(100 * 2 ** 20)), ("2Ki", Fraction(2048)), ("3M", Fraction(3_000_000)), ("250u", Fraction(1, 4000)),
    ("2E", Fraction(2 * 10 ** 18)), (7, Fraction(7)), (0.1, Fraction(1, 10)),
])
def test_parse_quantity(text, expected) -> None:
    assert exact_quantity(text) == expected


@pytest.mark.parametrize("text", ["abc", "1.2.3", "5Mi3", "", "1 Gi", "Ki", True])
def test_parse_quantity_rejects_garbage(text) -> None:
    with pytest.raises(ValueError):
        exact_quantity(text)


@pytest.mark.parametrize("value,milli", [(Fraction(1, 2), 500), (Fraction(1, 10 ** 7), 1), (0.1, 100),
                                         (Fraction(-1, 10 ** 7), 0), (2.0005, 2001)])
def test_milli_value_rounds_up(value, milli) -> None:
    assert milli_value(value) == milli
