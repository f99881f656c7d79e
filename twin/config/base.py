"""Shared pieces of the scenario schema, with the limits that keep a run finite (twin.config.limits).

Every number is finite (`allow_inf_nan=False`: `.inf` and `.nan` are YAML floats, never a duration or a rate), and a
number is never a YAML boolean (`duration_s: true` would otherwise read as 1) nor quoted text (`pods: "2"`, which
the API server refuses for an integer field too).
"""
from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

from twin.config.limits import (MAX_BATCH_SIZE, MAX_DURATION_S, MAX_GPUS_PER_NODE, MAX_MEMORY_GIB,  # noqa: F401
                                MAX_NODES, MAX_PODS, MAX_USERS, MAX_VCPUS, MAX_WORKERS)

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]

Duration = Annotated[float, Field(gt=0, le=MAX_DURATION_S)]
Seconds = Annotated[float, Field(ge=0, le=MAX_DURATION_S)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, data: Any) -> Any:
        for name, value in data.items() if isinstance(data, dict) else ():
            field = cls.model_fields.get(name)
            if isinstance(value, (bool, str)) and field is not None and _numeric_only(field.annotation):
                shown = "true/false" if isinstance(value, bool) else "text"
                raise ValueError(f"{name}: a number, not {shown}, got {value!r}")
        return data


def _numeric_only(annotation: Any) -> bool:
    """The field takes int or float and nothing that a boolean could mean (bool, Any, str)."""
    leaves = _leaves(annotation)
    return bool(leaves & {int, float}) and not leaves & {bool, Any, str}


def _leaves(annotation: Any) -> set[Any]:
    origin = typing.get_origin(annotation)
    if origin is typing.Literal:
        return {type(arg) for arg in typing.get_args(annotation)}
    if origin is Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaves(arg) for arg in typing.get_args(annotation)))
    return {annotation}
