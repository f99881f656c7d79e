"""The HPA KEDA generates; facts from kedacore/keda v2.20 `controllers/keda/hpa.go`, `scaledobject_types_test.go`
(TestGetHPAMinReplicas / TestGetHPAMaxReplicas) and `prometheus_scaler_test.go`
(TestPrometheusGetMetricSpecForScaling)."""
from __future__ import annotations

from typing import Any

import pytest

from tests.policies.test_keda_manifest import cpu, prometheus, scaled_object
from twin.policies.keda import scaled_object as keda
from twin.policies.hpa.manifest import hpa_from_manifest

SELECTOR = {"matchLabels": {"scaledobject.keda.sh/name": "torchserve"}}


def hpa(**kwargs: Any) -> dict[str, Any]:
    return keda.generated_hpa_manifest(keda.scaledobject_from_manifest(scaled_object(**kwargs), "so.yaml"))


def test_default_generated_hpa() -> None:
    manifest = hpa()
    assert manifest["metadata"]["name"] == "keda-hpa-torchserve"
    assert manifest["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "torchserve"}
    assert manifest["spec"]["metrics"] == [{"type": "External", "external": {
        "metric": {"name": "s0-prometheus", "selector": SELECTOR},
        "target": {"type": "AverageValue", "averageValue": "100"}}}]
    assert "behavior" not in manifest["spec"]  # nil behavior → the HPA's defaults


@pytest.mark.parametrize(("case", "kwargs", "minimum", "maximum"), [
    ("Default min and max", {}, 1, 100),
    ("Custom min, default max", {"minReplicaCount": 5}, 5, 100),
    ("Default min, custom max", {"maxReplicaCount": 10}, 1, 10),
    ("Custom min and max", {"minReplicaCount": 5, "maxReplicaCount": 10}, 5, 10),
    ("Zero min, default max", {"minReplicaCount": 0}, 1, 100),
])
def test_hpa_min_max_replicas(case: str, kwargs: dict, minimum: int, maximum: int) -> None:
    spec = hpa(**kwargs)["spec"]
    assert (spec["minReplicas"], spec["maxReplicas"]) == (minimum, maximum), case


@pytest.mark.parametrize(("threshold", "metric_type", "field", "text"), [
    ("0.5", "AverageValue", "averageValue", "500m"),
    ("1500", "AverageValue", "averageValue", "1500"),
    ("2000", "Value", "value", "2k"),
    ("0.00049", "AverageValue", "averageValue", "0"),  # GetMetricTargetMili rounds to milli ("%.3f")
])
def test_external_targets_are_threshold_quantities(threshold: str, metric_type: str, field: str, text: str) -> None:
    trigger = {**prometheus(threshold=threshold), "metricType": metric_type}
    target = hpa(triggers=[trigger])["spec"]["metrics"][0]["external"]["target"]
    assert target == {"type": metric_type, field: text}


def test_metric_names_indexed_and_sorted_by_source_type() -> None:
    # TestPrometheusGetMetricSpecForScaling: index 0 → s0-prometheus, 1 → s1-prometheus; hpa.go sorts by Type.
    metrics = hpa(triggers=[cpu(), prometheus(), {"type": "memory", "metricType": "AverageValue",
                                                  "metadata": {"value": "512Mi"}}])["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["External", "Resource", "Resource"]
    assert metrics[0]["external"]["metric"]["name"] == "s1-prometheus"
    assert metrics[1]["resource"] == {"name": "cpu", "target": {"type": "Utilization", "averageUtilization": 50}}
    assert metrics[2]["resource"]["target"] == {"type": "AverageValue", "averageValue": "512Mi"}


def test_behavior_copied_and_pause_annotations_disable_directions() -> None:
    behavior = {"scaleDown": {"stabilizationWindowSeconds": 60}}
    manifest = hpa(advanced={"horizontalPodAutoscalerConfig": {"name": "ts-hpa", "behavior": behavior}},
                   annotations={"autoscaling.keda.sh/paused-scale-in": "true"})
    assert manifest["metadata"]["name"] == "ts-hpa"
    assert manifest["spec"]["behavior"] == {"scaleDown": {"stabilizationWindowSeconds": 60, "selectPolicy": "Disabled"}}
    assert behavior == {"scaleDown": {"stabilizationWindowSeconds": 60}}  # the spec's copy is untouched
    out = hpa(annotations={"autoscaling.keda.sh/paused-scale-out": "true"})["spec"]["behavior"]
    assert out == {"scaleUp": {"selectPolicy": "Disabled"}}


@pytest.mark.parametrize(("metric_type", "field"), [("AverageValue", "averageValue"), ("Value", "value")])
def test_scaling_modifiers_replace_external_metrics_with_composite(metric_type: str, field: str) -> None:
    advanced = {"scalingModifiers": {"formula": "a + b", "target": "2.5", "metricType": metric_type}}
    metrics = hpa(minReplicaCount=1, triggers=[prometheus("a"), cpu(), prometheus("b")],
                  advanced=advanced)["spec"]["metrics"]
    assert [m["type"] for m in metrics] == ["Resource", "External"]
    assert metrics[1]["external"] == {"metric": {"name": "composite-metric", "selector": SELECTOR},
                                      "target": {"type": metric_type, field: "2500m"}}


def test_generated_manifest_parses_as_an_autoscaling_v2_hpa() -> None:
    manifest = hpa(minReplicaCount=2, maxReplicaCount=8, triggers=[prometheus(threshold="0.5"), cpu()],
                   advanced={"horizontalPodAutoscalerConfig": {"behavior": {"scaleDown": {
                       "stabilizationWindowSeconds": 30}}}})
    parsed = hpa_from_manifest(manifest, "generated")
    assert (parsed.name, parsed.min_replicas, parsed.max_replicas) == ("keda-hpa-torchserve", 2, 8)
    assert [(m.key.source, m.key.name) for m in parsed.metrics] == [("External", "s0-prometheus"), ("Resource", "cpu")]
    assert parsed.metrics[0].target.average_value_milli == 500
    assert parsed.behavior.scale_down.stabilization_window_seconds == 30
