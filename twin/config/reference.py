"""The scenario reference, generated from the schema: every field with its type, unit, default and meaning.

`docs/scenario.md` is this module's output, and a test keeps the two equal; after changing the schema, run
`python -m twin.config.reference > docs/scenario.md`.
"""
from __future__ import annotations

import inspect
import sys
import typing
from typing import Any, Iterator, Literal, Union

import annotated_types
from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from twin.config.schema import Scenario

# A field's unit by its name's suffix, as the schema's convention spells it; the names below say theirs otherwise.
SUFFIX_UNITS = (("_ms", "ms"), ("_s", "s"), ("_mib", "MiB"), ("_gib", "GiB"), ("_rps", "req/s"),
                ("_per_hour", "USD/hour"))
NAMED_UNITS = {"vcpus": "vCPUs", "allocatable_cpu": "vCPUs", "cpu_threads": "cores", "users": "users",
               "requests": "quantities", "limits": "quantities", "NodePool.count": "nodes", "GpuSpec.count": "GPUs",
               "pods": "pods", "gpu_ms_per_extra_item": "ms", "cpu_ms_per_extra_item": "ms",
               "min_workers": "workers", "max_workers": "workers", "batch_size": "requests",
               "job_queue_size": "requests", "replicas": "per GPU", "min_count": "nodes", "max_count": "nodes"}
FRACTIONS = {"amplitude", "timeslice_efficiency", "max_error_ratio", "tolerance", "demand_cv"}
BOUNDS = ((annotated_types.Ge, "≥", "ge"), (annotated_types.Gt, ">", "gt"), (annotated_types.Le, "≤", "le"),
          (annotated_types.Lt, "<", "lt"))

HEADER = """\
# Scenario reference

Every field of a scenario file, with its type, unit, default and meaning. Generated from the schema
(`twin/config/schema.py`, `twin/config/control.py`) by `python -m twin.config.reference`; a test keeps this file in
step with it.

A field's path joins the names below with dots, a list taking an index: `deployment.pods`,
`workload.0.users`, `autoscaling.keda.manifest.object.spec.maxReplicaCount`. These paths are what
`servetwin run --set PATH=VALUE` and sweep files set. Kubernetes quantities are written as in a manifest (`500m`,
`4Gi`); names that exist upstream keep their upstream meaning.
"""


def markdown() -> str:
    sections = [HEADER]
    for path, model, variant in _models(Scenario, "scenario"):
        sections.append(_section(path, model, variant))
    return "\n".join(sections)


def _models(model: type[BaseModel], path: str, variant: str = "",
            seen: set | None = None) -> Iterator[tuple[str, type[BaseModel], str]]:
    """Each model once, depth first in field order, with the path where it first appears."""
    seen = set() if seen is None else seen
    if model in seen:
        return
    seen.add(model)
    yield path, model, variant
    for name, field in model.model_fields.items():
        nested = _nested(field.annotation)
        for child in nested:
            tag = _tag(child) if len(nested) > 1 else ""
            yield from _models(child, f"{path}.{name}" if path != "scenario" else name, tag, seen)


def _section(path: str, model: type[BaseModel], variant: str) -> str:
    title = f"## `{path}`" + (f" with `type: {variant}`" if variant else "")
    doc = inspect.getdoc(model) if model.__doc__ and model.__doc__ is not BaseModel.__doc__ else ""
    rows = ["| field | type | unit | default | meaning |", "| --- | --- | --- | --- | --- |"]
    rows += [_row(model, name, field) for name, field in model.model_fields.items()]
    return "\n".join([title, "", *([doc.replace("\n", " "), ""] if doc else []), *rows, ""])


def _row(model: type[BaseModel], name: str, field: FieldInfo) -> str:
    cells = [f"`{name}`", _type(field.annotation) + _bounds(field), _unit(f"{model.__name__}.{name}"), _default(field),
             (field.description or "").replace("|", "\\|")]
    return "| " + " | ".join(cells) + " |"


def _type(annotation: Any) -> str:
    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin is Literal:
        return "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (Union, getattr(__import__("types"), "UnionType")):
        kinds = [_type(a) for a in args if a is not type(None)]
        return " or ".join(dict.fromkeys(kinds)) + (" or none" if type(None) in args else "")
    if origin in (tuple, list):
        return f"list of {_type(args[0])}"
    if origin is dict:
        return "mapping"
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return "section"
    return {int: "integer", float: "number", str: "text", bool: "true/false"}.get(annotation, str(annotation))


def _bounds(field: FieldInfo) -> str:
    limits = [f"{sign} {getattr(m, attribute):,}" for m in _metadata(field) for kind, sign, attribute in BOUNDS
              if isinstance(m, kind)]
    return f" ({', '.join(limits)})" if limits else ""


def _metadata(field: FieldInfo) -> list[Any]:
    """The field's constraints, and those of an optional type's constrained member (`PositiveFloat | None`)."""
    inner = [m for arg in typing.get_args(field.annotation) for info in getattr(arg, "__metadata__", ())
             if isinstance(info, FieldInfo) for m in info.metadata]
    return list(field.metadata) + inner


def _unit(qualified: str) -> str:
    """`Model.field`'s unit: named for the model's field, for the field, or by the name's suffix."""
    name = qualified.split(".", 1)[1]
    if qualified in NAMED_UNITS or name in NAMED_UNITS:
        return NAMED_UNITS.get(qualified) or NAMED_UNITS[name]
    if name in FRACTIONS:
        return "fraction"
    return next((unit for suffix, unit in SUFFIX_UNITS if name.endswith(suffix)), "—")


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None:
        value = field.default_factory()
    elif field.default is PydanticUndefined:
        return "required"
    else:
        value = field.default
    if isinstance(value, BaseModel):
        return "see its section"
    if value is None:
        return "none"
    if value == "":
        return '`""`'
    if isinstance(value, (tuple, list)):
        return "`[]`" if not value else f"`{list(value)}`"
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


def _nested(annotation: Any) -> list[type[BaseModel]]:
    if inspect.isclass(annotation) and issubclass(annotation, BaseModel):
        return [annotation]
    return [m for arg in typing.get_args(annotation) for m in _nested(arg)]


def _tag(model: type[BaseModel]) -> str:
    """The value of a workload variant's `type` discriminator."""
    return typing.get_args(model.model_fields["type"].annotation)[0]


if __name__ == "__main__":
    sys.stdout.write(markdown())
