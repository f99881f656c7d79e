"""Widget specifications derived from the scenario schema (pydantic), not written by hand one per field.

A `FieldSpec` says what widget a scalar field needs: a Literal gives a choice of its values, a bool a flag, an int
or a float a number with the bounds of its `Field` constraints. `sections(scenario)` picks the parts of a resolved
scenario a what-if question changes (workload, pods and workers, batching, GPU sharing, nodes, autoscalers, SLO).
Paths are the dotted paths of `load_scenario` overrides, with list items by index (`node_pools.0.count`).
"""
from __future__ import annotations

import math
import types
import typing
from dataclasses import dataclass
from typing import Any, Literal, Mapping

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo

from twin.config import control, schema

Kind = Literal["choice", "flag", "int", "float"]
_UNITS = {"_ms": "ms", "_s": "s", "_mib": "MiB", "_gib": "GiB", "_rps": "req/s", "_usd": "USD"}


@dataclass(frozen=True)
class FieldSpec:
    path: str  # dotted override path
    label: str
    kind: Kind
    value: Any  # the value in the resolved scenario: the widget's default
    choices: tuple = ()
    minimum: float | None = None  # bounds as declared; `exclusive_*` when declared with gt/lt
    maximum: float | None = None
    exclusive_minimum: bool = False
    exclusive_maximum: bool = False
    help: str = ""


@dataclass(frozen=True)
class Section:
    title: str
    specs: tuple[FieldSpec, ...]


def field_spec(name: str, info: FieldInfo, value: Any, prefix: str = "") -> FieldSpec | None:
    """The widget for one field, or None for what a widget does not edit (text, lists, mappings, sub-models, and
    optional fields that are unset)."""
    annotation = _unwrap_optional(info.annotation)
    if value is None:
        return None
    path = f"{prefix}.{name}" if prefix else name
    common = {"path": path, "label": label(name), "value": value, "help": _help(path, info)}
    if typing.get_origin(annotation) is Literal:
        return FieldSpec(kind="choice", choices=typing.get_args(annotation), **common)
    if annotation is bool:
        return FieldSpec(kind="flag", **common)
    if annotation in (int, float):
        return FieldSpec(kind="int" if annotation is int else "float", **common, **_bounds(info))
    return None


def model_specs(model: BaseModel, prefix: str, names: tuple[str, ...] | None = None) -> tuple[FieldSpec, ...]:
    """Specs for the scalar fields of `model` (all of them, or `names` in that order)."""
    fields = type(model).model_fields
    chosen = names if names is not None else tuple(fields)
    specs = (field_spec(name, fields[name], getattr(model, name), prefix) for name in chosen)
    return tuple(spec for spec in specs if spec is not None)


def sections(scenario: schema.Scenario) -> list[Section]:
    """The what-if sections of a resolved scenario, with the scenario's values as defaults."""
    found = [Section(f"Workload {i + 1}: {group.type}", model_specs(group, f"workload.{i}", _workload_names(group)))
             for i, group in enumerate(scenario.workload)]
    deployment = scenario.deployment
    found.append(Section("Pods and workers", model_specs(deployment, "deployment", ("pods", "initial_state"))
                         + model_specs(deployment.torchserve.model, "deployment.torchserve.model",
                                       ("min_workers", "max_workers", "job_queue_size", "response_timeout_s"))))
    found.append(Section("Batching", model_specs(deployment.torchserve.model, "deployment.torchserve.model",
                                                 ("batch_size", "max_batch_delay_ms"))))
    for i, pool in enumerate(scenario.node_pools):
        specs = model_specs(pool, f"node_pools.{i}", ("count", "price_per_hour"))
        if pool.gpus is not None:
            specs += model_specs(pool.gpus.sharing, f"node_pools.{i}.gpus.sharing", ("mode", "replicas"))
        specs += model_specs(pool.autoscaling, f"node_pools.{i}.autoscaling")
        found.append(Section(f"Node pool {pool.name}: nodes, GPU sharing, Cluster Autoscaler limits", specs))
    found.append(Section("Autoscalers", _autoscaler_specs(scenario.autoscaling)))
    found.append(Section("SLO and duration", model_specs(scenario.slo, "slo")
                         + model_specs(scenario, "", ("duration_s", "warmup_s"))))
    return [section for section in found if section.specs]


def changes(specs: tuple[FieldSpec, ...] | list[FieldSpec], values: Mapping[str, Any]) -> dict[str, Any]:
    """The widget values that differ from the scenario's: the overrides of the what-if question."""
    changed = {}
    for spec in specs:
        value = values.get(spec.path, spec.value)
        if value != spec.value:
            changed[spec.path] = int(value) if spec.kind == "int" else value
    return changed


def label(name: str) -> str:
    """`max_batch_delay_ms` → `max batch delay (ms)`."""
    for suffix, unit in _UNITS.items():
        if name.endswith(suffix):
            return f"{name.removesuffix(suffix).replace('_', ' ')} ({unit})"
    return name.replace("_", " ")


def _workload_names(group: BaseModel) -> tuple[str, ...]:
    # when a group starts and stops, and where its trace is, are not what-if knobs
    return tuple(n for n in type(group).model_fields if n not in ("type", "start_s", "stop_s", "path", "column"))


def _autoscaler_specs(autoscaling: control.Autoscaling) -> tuple[FieldSpec, ...]:
    specs: tuple[FieldSpec, ...] = ()
    for name in ("hpa", "keda", "workers"):
        section = getattr(autoscaling, name)
        if section is not None:
            specs += model_specs(section, f"autoscaling.{name}")
    return specs


def _unwrap_optional(annotation: Any) -> Any:
    """`int | None` → `int`; other annotations as they are."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _bounds(info: FieldInfo) -> dict[str, Any]:
    bounds: dict[str, Any] = {}
    for item in info.metadata:
        if isinstance(item, annotated_types.Ge):
            bounds.update(minimum=item.ge, exclusive_minimum=False)
        elif isinstance(item, annotated_types.Gt):
            bounds.update(minimum=item.gt, exclusive_minimum=True)
        elif isinstance(item, annotated_types.Le):
            bounds.update(maximum=item.le, exclusive_maximum=False)
        elif isinstance(item, annotated_types.Lt):
            bounds.update(maximum=item.lt, exclusive_maximum=True)
    return bounds


def _help(path: str, info: FieldInfo) -> str:
    parts = [f"`{path}`"]
    if info.description:
        parts.append(info.description)
    return " — ".join(parts)


def inclusive_bounds(spec: FieldSpec) -> tuple[float | None, float | None]:
    """Bounds a number widget can enforce: an int's exclusive bound moves by one; a float's by the smallest step
    that still shows (1e-6), so the widget never offers a value the schema refuses."""
    nudge = 1 if spec.kind == "int" else 1e-6
    low = spec.minimum + nudge if spec.minimum is not None and spec.exclusive_minimum else spec.minimum
    high = spec.maximum - nudge if spec.maximum is not None and spec.exclusive_maximum else spec.maximum
    return low, high


def number_step(spec: FieldSpec) -> float:
    """The power of ten just below the current value, capped at 1 (0.01 for 0.05, 1 for 130)."""
    if spec.kind == "int":
        return 1
    magnitude = abs(float(spec.value)) or 1.0
    return min(1.0, 10 ** math.floor(math.log10(magnitude)))
