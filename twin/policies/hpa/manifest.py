"""Parse a real `autoscaling/v2` HorizontalPodAutoscaler manifest (a dict from YAML) into an `HPASpec`.

Fidelity ledger — upstream: kubernetes/api `autoscaling/v2/types.go` (field names), kubernetes/kubernetes
`pkg/apis/autoscaling/v2/defaults.go` (defaults) and `pkg/apis/autoscaling/validation/validation.go` (ranges:
maxReplicas ≥ 1, minReplicas ≤ maxReplicas, stabilizationWindowSeconds 0…3600, policy value > 0,
periodSeconds 1…1800, target type must match the value given). Metric types Resource, ContainerResource, Pods,
Object, External; also accepts the autoscaling/v2 HPA that KEDA generates (External metrics with `metric.name` +
`metric.selector`). Not modelled: autoscaling/v1 `targetCPUUtilizationPercentage`.
"""
from __future__ import annotations

from typing import Any

from twin.errors import InputError
from twin.config.quantity import exact_quantity, milli_value
from twin.policies.hpa.spec import (
    AVERAGE_VALUE, CONTAINER_RESOURCE, DISABLED_POLICY, EXTERNAL, MAX_POLICY, MIN_POLICY, OBJECT, PERCENT_POLICY,
    PODS, PODS_POLICY, RESOURCE, UTILIZATION, VALUE, Behavior, HPASpec, LabelSelector, MetricKey, MetricSpec,
    MetricTarget, ObjectRef, ScalingPolicy, default_cpu_metric, scale_down_rules, scale_up_rules,
)

_API_VERSIONS = ("autoscaling/v2", "autoscaling/v2beta2")
_SOURCE_FIELD = {RESOURCE: "resource", CONTAINER_RESOURCE: "containerResource", PODS: "pods", OBJECT: "object",
                 EXTERNAL: "external"}
_ALLOWED_TARGETS = {RESOURCE: (UTILIZATION, AVERAGE_VALUE), CONTAINER_RESOURCE: (UTILIZATION, AVERAGE_VALUE),
                    PODS: (AVERAGE_VALUE,),
                    OBJECT: (VALUE, AVERAGE_VALUE), EXTERNAL: (VALUE, AVERAGE_VALUE)}


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class _Reader:
    """Typed access to a nested manifest that reports the dotted path of whatever is wrong."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, expected: str, got: Any) -> InputError:
        return InputError(self.source, path, expected, repr(got) if got is not None else "nothing")

    def mapping(self, data: Any, path: str, *, required: bool = True) -> dict:
        if data is None and not required:
            return {}
        if not isinstance(data, dict):
            raise self.fail(path, "a mapping", data)
        return data

    def field(self, data: dict, name: str, path: str) -> Any:
        if data.get(name) is None:
            raise self.fail(_join(path, name), "a value", None)
        return data[name]

    def integer(self, data: dict, name: str, path: str, *, low: int, high: int | None = None,
                default: int | None = None) -> int:
        value = data.get(name, default)
        if value is None:
            raise self.fail(_join(path, name), "an integer", None)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            raise self.fail(_join(path, name), f"an integer in [{low}, {high if high is not None else '∞'}]", value)
        return value

    def text(self, data: dict, name: str, path: str, *, choices: tuple[str, ...] = ()) -> str:
        value = self.field(data, name, path)
        if not isinstance(value, str) or not value or (choices and value not in choices):
            raise self.fail(_join(path, name), " or ".join(choices) if choices else "a non-empty string", value)
        return value

    def quantity(self, data: dict, name: str, path: str) -> Any:
        try:
            value = exact_quantity(self.field(data, name, path))
        except (ValueError, TypeError):
            raise self.fail(_join(path, name), "a quantity such as 500m, 2, 1Gi", data.get(name)) from None
        if value < 0:
            raise self.fail(_join(path, name), "a non-negative quantity", data.get(name))
        return value


def hpa_from_manifest(manifest: dict, source: str) -> HPASpec:
    """An `HPASpec` with API-server defaults filled in; raises `InputError` naming the bad field."""
    reader = _Reader(source)
    manifest = reader.mapping(manifest, "")
    reader.text(manifest, "apiVersion", "", choices=_API_VERSIONS)
    reader.text(manifest, "kind", "", choices=("HorizontalPodAutoscaler",))
    metadata = reader.mapping(manifest.get("metadata"), "metadata", required=False)
    spec = reader.mapping(manifest.get("spec"), "spec")
    max_replicas = reader.integer(spec, "maxReplicas", "spec", low=1)
    min_replicas = reader.integer(spec, "minReplicas", "spec", low=0, high=max_replicas, default=1)
    metrics = spec.get("metrics") or []
    if not isinstance(metrics, list):
        raise reader.fail("spec.metrics", "a list", metrics)
    parsed = tuple(_metric(reader, m, f"spec.metrics[{i}]") for i, m in enumerate(metrics)) or (default_cpu_metric(),)
    behavior = spec.get("behavior")
    return HPASpec(
        name=str(metadata.get("name", "")),
        scale_target=_object_ref(reader, reader.mapping(spec.get("scaleTargetRef"), "spec.scaleTargetRef"),
                                 "spec.scaleTargetRef"),
        max_replicas=max_replicas, min_replicas=min_replicas, metrics=parsed,
        behavior=None if behavior is None else _behavior(reader, reader.mapping(behavior, "spec.behavior")),
    )


def _object_ref(reader: _Reader, data: dict, path: str) -> ObjectRef:
    return ObjectRef(kind=reader.text(data, "kind", path), name=reader.text(data, "name", path),
                     api_version=str(data.get("apiVersion", "")))


def _metric(reader: _Reader, data: Any, path: str) -> MetricSpec:
    data = reader.mapping(data, path)
    source = reader.text(data, "type", path, choices=tuple(_SOURCE_FIELD))
    body_path = f"{path}.{_SOURCE_FIELD[source]}"
    body = reader.mapping(data.get(_SOURCE_FIELD[source]), body_path)
    target = _target(reader, reader.mapping(body.get("target"), f"{body_path}.target"), f"{body_path}.target",
                     allowed=_ALLOWED_TARGETS[source])
    if source == RESOURCE:
        return MetricSpec(MetricKey(RESOURCE, reader.text(body, "name", body_path)), target)
    if source == CONTAINER_RESOURCE:
        container = reader.text(body, "container", body_path)
        return MetricSpec(MetricKey(source, reader.text(body, "name", body_path), container=container), target)
    metric_path = f"{body_path}.metric"
    metric = reader.mapping(body.get("metric"), metric_path)
    selector = _selector(reader, metric.get("selector"), f"{metric_path}.selector")
    described = None
    if source == OBJECT:
        described = _object_ref(reader, reader.mapping(body.get("describedObject"), f"{body_path}.describedObject"),
                                f"{body_path}.describedObject")
    return MetricSpec(MetricKey(source, reader.text(metric, "name", metric_path), selector, described), target)


def _target(reader: _Reader, data: dict, path: str, *, allowed: tuple[str, ...]) -> MetricTarget:
    kind = reader.text(data, "type", path, choices=allowed)
    if kind == UTILIZATION:
        return MetricTarget(kind, average_utilization=reader.integer(data, "averageUtilization", path, low=1))
    if kind == AVERAGE_VALUE:
        return MetricTarget(kind, average_value_milli=_positive_milli(reader, data, "averageValue", path))
    return MetricTarget(kind, value_milli=_positive_milli(reader, data, "value", path))


def _positive_milli(reader: _Reader, data: dict, name: str, path: str) -> int:
    milli = milli_value(reader.quantity(data, name, path))
    if milli <= 0:
        raise reader.fail(_join(path, name), "a positive quantity", data.get(name))
    return milli


def _selector(reader: _Reader, data: Any, path: str) -> LabelSelector | None:
    if data is None:
        return None
    data = reader.mapping(data, path)
    labels = reader.mapping(data.get("matchLabels"), f"{path}.matchLabels", required=False)
    expressions = data.get("matchExpressions") or []
    if not isinstance(expressions, list):
        raise reader.fail(f"{path}.matchExpressions", "a list", expressions)
    parsed = []
    for i, item in enumerate(expressions):
        item_path = f"{path}.matchExpressions[{i}]"
        item = reader.mapping(item, item_path)
        values = item.get("values") or []
        if not isinstance(values, list):
            raise reader.fail(f"{item_path}.values", "a list", values)
        parsed.append((reader.text(item, "key", item_path),
                       reader.text(item, "operator", item_path, choices=("In", "NotIn", "Exists", "DoesNotExist")),
                       tuple(str(v) for v in values)))
    return LabelSelector(tuple(sorted((str(k), str(v)) for k, v in labels.items())), tuple(parsed))


def _behavior(reader: _Reader, data: dict) -> Behavior:
    up = _rules(reader, data.get("scaleUp"), "spec.behavior.scaleUp")
    down = _rules(reader, data.get("scaleDown"), "spec.behavior.scaleDown")
    return Behavior(scale_up=scale_up_rules(**up), scale_down=scale_down_rules(**down))


def _rules(reader: _Reader, data: Any, path: str) -> dict:
    """The user's fields only; `scale_up_rules` / `scale_down_rules` add the defaults."""
    data = reader.mapping(data, path, required=False)
    fields: dict = {}
    if data.get("stabilizationWindowSeconds") is not None:
        fields["window"] = reader.integer(data, "stabilizationWindowSeconds", path, low=0, high=3600)
    if data.get("selectPolicy") is not None:
        fields["select"] = reader.text(data, "selectPolicy", path, choices=(MAX_POLICY, MIN_POLICY, DISABLED_POLICY))
    if data.get("tolerance") is not None:
        fields["tolerance"] = float(reader.quantity(data, "tolerance", path))
    if data.get("policies") is not None:
        fields["policies"] = _policies(reader, data["policies"], f"{path}.policies")
    return fields


def _policies(reader: _Reader, data: Any, path: str) -> tuple[ScalingPolicy, ...]:
    if not isinstance(data, list) or not data:
        raise reader.fail(path, "a list of at least one policy", data)
    policies = []
    for i, item in enumerate(data):
        item_path = f"{path}[{i}]"
        item = reader.mapping(item, item_path)
        policies.append(ScalingPolicy(
            type=reader.text(item, "type", item_path, choices=(PODS_POLICY, PERCENT_POLICY)),
            value=reader.integer(item, "value", item_path, low=1),
            period_seconds=reader.integer(item, "periodSeconds", item_path, low=1, high=1800)))
    return tuple(policies)
