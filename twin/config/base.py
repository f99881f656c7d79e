"""Shared pieces of the scenario schema, and the limits that keep a run finite.

Every number is finite (`allow_inf_nan=False`: `.inf` and `.nan` are YAML floats, never a duration or a rate), and a
number is never a YAML boolean (`duration_s: true` would otherwise read as 1).
"""
from __future__ import annotations

import types
import typing
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, model_validator

PositiveFloat = Annotated[float, Field(gt=0)]
NonNegativeFloat = Annotated[float, Field(ge=0)]

# Limits, each with its reason. Sizes beyond them take hours or all memory, or do not exist in Kubernetes.
MAX_DURATION_S = 366 * 86400  # a simulated year; the soak benchmark runs a week
MAX_PODS = 150_000  # Kubernetes "Considerations for large clusters": at most 150,000 pods
MAX_NODES = 5_000  # same page: at most 5,000 nodes
MAX_USERS = 100_000  # each user is a connection held for the whole run; JMeter engines hold a few thousand
MAX_WORKERS = 1_024  # TorchServe workers per model on one pod, each a Python process
MAX_VCPUS = 1_024  # larger than any cloud VM (the largest offer under 900 vCPUs)
MAX_MEMORY_GIB = 32_768  # 32 TiB, the largest cloud VMs
MAX_GPUS_PER_NODE = 64
MAX_BATCH_SIZE = 65_536  # TorchServe's batchSize; larger batches exist in no serving setup
Duration = Annotated[float, Field(gt=0, le=MAX_DURATION_S)]
Seconds = Annotated[float, Field(ge=0, le=MAX_DURATION_S)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, data: Any) -> Any:
        for name, value in data.items() if isinstance(data, dict) else ():
            field = cls.model_fields.get(name)
            if isinstance(value, bool) and field is not None and _numeric_only(field.annotation):
                raise ValueError(f"{name}: a number, not true/false, got {value}")
        return data


def _numeric_only(annotation: Any) -> bool:
    """The field takes int or float and nothing that a boolean could mean (bool, Any, str)."""
    leaves = _leaves(annotation)
    return bool(leaves & {int, float}) and not leaves & {bool, Any, str}


def _leaves(annotation: Any) -> set[Any]:
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return _leaves(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return set().union(*(_leaves(arg) for arg in typing.get_args(annotation)))
    return {annotation}
