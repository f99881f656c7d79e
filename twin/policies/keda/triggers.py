"""ScaledObject triggers: prometheus, cpu and memory, parsed and validated as KEDA's scalers do.

Fidelity ledger — upstream kedacore/keda v2.20 (main after v2.20.1):
- `pkg/scalers/prometheus_scaler.go` (`prometheusMetadata`, `ExecutePromQuery`, `GetMetricsAndActivity`) and
  the `testPromMetadata` / `testPromQueryResult` tables in `prometheus_scaler_test.go`: required serverAddress,
  query, threshold; optional activationThreshold (0), namespace, customHeaders / queryParameters ("k=v,k2=v2"),
  ignoreNullValues (default true), unsafeSsl, timeout (Go duration or ms, not negative); metric name
  `s<index>-prometheus` (`GenerateMetricNameWithIndex`); metricType AverageValue by default, Utilization rejected
  (`GetMetricTargetType`); activity is `value > activationThreshold` on the raw value; the query must return
  exactly one sample: none (or an empty value) → 0 if ignoreNullValues else an error, more than one → "returned
  multiple elements", NaN/±Inf → 0 if ignoreNullValues else an error. A `scalar` result is an error: KEDA decodes
  `data.result` as a list of samples and Go's json rejects the scalar pair.
- `pkg/scalers/cpu_memory_scaler.go`: `value` required; trigger `metricType` Utilization (integer percent) or
  AverageValue (a Kubernetes quantity); the deprecated metadata `type` is an error; optional containerName.
Not modelled here: the reply itself (HTTP status, JSON, short and null values) is `keda.prometheus_reply`'s; other
scaler types, TriggerAuthentication/authModes, pod identity, `metricName` (ignored upstream too).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

from twin.config.quantity import parse_quantity
from twin.errors import InputError
from twin.policies.keda import parse as keda_parse

RESOURCE_TYPES = ("cpu", "memory")


@dataclass(frozen=True)
class TriggerError:
    """A failed scaler call (query error, bad response); stands where a trigger's value would."""

    message: str


TriggerResult = float | TriggerError


@dataclass(frozen=True)
class PrometheusTrigger:
    index: int
    name: str  # "" when unnamed; scalingModifiers formulas refer to triggers by this name
    server_address: str
    query: str
    threshold: float
    activation_threshold: float = 0.0
    metric_type: str = "AverageValue"  # or "Value"
    ignore_null_values: bool = True
    use_cached_metrics: bool = False
    unsafe_ssl: bool = False
    namespace: str = ""
    timeout_s: float | None = None
    custom_headers: Mapping[str, str] = field(default_factory=dict)
    query_parameters: Mapping[str, str] = field(default_factory=dict)
    type: str = "prometheus"

    @property
    def metric_name(self) -> str:
        return f"s{self.index}-prometheus"


@dataclass(frozen=True)
class ResourceTrigger:
    index: int
    name: str
    type: str  # "cpu" | "memory"
    metric_type: str  # "Utilization" | "AverageValue"
    value: str  # as written: an integer percent or a quantity
    container_name: str = ""


Trigger = PrometheusTrigger | ResourceTrigger


class _Metadata:
    """Reads `spec.triggers[i].metadata` with typed_config's rules (trimmed; empty = missing)."""

    def __init__(self, raw: Any, *, source: str, path: str) -> None:
        if not isinstance(raw, Mapping) or not all(isinstance(v, str) for v in raw.values()):
            raise InputError(source, path, "a mapping of string values", repr(raw))
        self.raw, self.source, self.path = raw, source, path

    def text(self, key: str, *, required: bool = False) -> str:
        value = str(self.raw.get(key, "")).strip()
        if required and not value:
            raise InputError(self.source, f"{self.path}.{key}", "a non-empty value", repr(self.raw.get(key)))
        return value

    def fail(self, key: str, expected: str) -> InputError:
        return InputError(self.source, f"{self.path}.{key}", expected, repr(self.raw.get(key)))

    def number(self, key: str, *, required: bool = False, default: float = 0.0) -> float:
        text = self.text(key, required=required)
        value = keda_parse.json_number(text) if text else default
        if value is None:
            raise self.fail(key, "a number (Go json float64)")
        return value

    def flag(self, key: str, *, default: bool) -> bool:
        text = self.text(key)
        value = keda_parse.go_bool(text) if text else default
        if value is None:
            raise self.fail(key, "a Go boolean (true/false/1/0/t/f)")
        return value

    def pairs(self, key: str) -> dict[str, str]:
        text = self.text(key)
        items = [item.strip().split("=") for item in text.split(",")] if text else []
        if any(len(kv) != 2 for kv in items):
            raise self.fail(key, "comma-separated key=value pairs")
        return {k.strip(): v.strip() for k, v in items}

    def duration(self, key: str) -> float | None:
        text = self.text(key)
        seconds = keda_parse.go_duration_seconds(text) if text else None
        if text and seconds is None:
            raise self.fail(key, "a non-negative Go duration or integer milliseconds")
        return seconds


def parse_trigger(raw: Any, *, index: int, source: str) -> Trigger:
    """One entry of `spec.triggers`, validated; raises InputError naming `spec.triggers[index]...`."""
    path = f"spec.triggers[{index}]"
    if not isinstance(raw, Mapping):
        raise InputError(source, path, "a trigger mapping", repr(raw))
    kind, name, metric_type = raw.get("type"), raw.get("name", ""), raw.get("metricType", "")
    if kind not in ("prometheus", *RESOURCE_TYPES):
        raise InputError(source, f"{path}.type", "one of prometheus, cpu, memory", repr(kind))
    if not isinstance(name, str) or not isinstance(metric_type, str):
        raise InputError(source, path, "string name and metricType", f"{name!r}, {metric_type!r}")
    cached = raw.get("useCachedMetrics", False)
    if not isinstance(cached, bool):
        raise InputError(source, f"{path}.useCachedMetrics", "true or false", repr(cached))
    if cached and kind in RESOURCE_TYPES:  # ValidateTriggers
        raise InputError(source, f"{path}.useCachedMetrics", f"unset for a {kind} trigger", "true")
    meta = _Metadata(raw.get("metadata"), source=source, path=f"{path}.metadata")
    if kind in RESOURCE_TYPES:
        return _resource_trigger(meta, kind=kind, index=index, name=name, metric_type=metric_type)
    if metric_type not in ("", "AverageValue", "Value"):
        raise InputError(source, f"{path}.metricType", "AverageValue or Value (Utilization is not supported "
                         "for external metrics)", repr(metric_type))
    return PrometheusTrigger(
        index=index, name=name, metric_type=metric_type or "AverageValue", use_cached_metrics=cached,
        server_address=meta.text("serverAddress", required=True), query=meta.text("query", required=True),
        threshold=meta.number("threshold", required=True), activation_threshold=meta.number("activationThreshold"),
        ignore_null_values=meta.flag("ignoreNullValues", default=True),
        unsafe_ssl=meta.flag("unsafeSsl", default=False), namespace=meta.text("namespace"),
        timeout_s=meta.duration("timeout"), custom_headers=meta.pairs("customHeaders"),
        query_parameters=meta.pairs("queryParameters"))


def _resource_trigger(meta: _Metadata, *, kind: str, index: int, name: str, metric_type: str) -> ResourceTrigger:
    if meta.text("type"):
        raise meta.fail("type", "no 'type' (removed in KEDA v2.18; use the trigger's metricType)")
    value = meta.text("value", required=True)
    if metric_type == "Utilization":
        if not value.lstrip("+-").isdigit() or not -2**31 <= int(value) < 2**31:
            raise meta.fail("value", "an integer percentage for Utilization")
    elif metric_type == "AverageValue":
        try:
            parse_quantity(value)
        except ValueError:
            raise meta.fail("value", "a Kubernetes quantity for AverageValue") from None
    else:
        raise InputError(meta.source, meta.path.removesuffix(".metadata") + ".metricType",
                         "Utilization or AverageValue", repr(metric_type))
    return ResourceTrigger(index=index, name=name, type=kind, metric_type=metric_type, value=value,
                           container_name=meta.text("containerName"))


def prometheus_value(samples: Sequence[float | None], *, ignore_null_values: bool,
                     result_type: str = "vector") -> TriggerResult:
    """What the prometheus scaler makes of an instant query's samples (None = a sample with an empty value)."""
    if result_type != "vector":
        return TriggerError(f"cannot decode a {result_type} result as a list of samples")
    if len(samples) > 1:
        return TriggerError("prometheus query returned multiple elements")
    value = samples[0] if samples else None
    if value is None or math.isnan(value) or math.isinf(value):
        return 0.0 if ignore_null_values else TriggerError(f"prometheus query returned {value}")
    return float(value)
