"""Guardrails: every write the live adapter would send is reviewed here first.

A write names a target state (replicas, workers, memory, a ScaledObject field), never a delta. The review keeps it
inside the allowlist and the bounds, moves at most `max_step` from the current state in one action, and holds it
back when the same target was written too recently or too many writes went out in the last minute. A refused write
is not retried: the next period's decision is taken afresh from new observations.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from typing import Mapping

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

Value = Mapping[str, float | int | str]


class Rails(BaseModel):
    """The bounds a live run may never cross; the defaults are deliberately tight."""

    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)

    namespaces: list[str] = Field(min_length=1)
    objects: list[str] = Field(min_length=1, description="kind/name, e.g. deployment/roberta; pods of an allowed "
                                                         "deployment are allowed with it")
    min_replicas: int = Field(1, ge=0)
    max_replicas: int = Field(4, ge=1)
    max_replica_step: int = Field(1, ge=1)
    max_placeholders: int = Field(4, ge=0, description="placeholder pods (each holds a node slot, GPU included)")
    min_workers: int = Field(1, ge=0)
    max_workers: int = Field(4, ge=1)
    max_worker_step: int = Field(1, ge=1)
    max_memory_bytes: float = Field(32 * 2**30, gt=0)
    min_interval_s: float = Field(30.0, ge=0, description="between two writes to the same target")
    max_writes_per_minute: int = Field(6, ge=1)

    @field_validator("objects")
    @classmethod
    def _kind_and_name(cls, objects: list[str]) -> list[str]:
        for entry in objects:
            kind, _, name = entry.partition("/")
            if not kind or not name or "/" in name:
                raise ValueError(f"objects as kind/name such as deployment/roberta, got {entry!r}")
        return objects

    @model_validator(mode="after")
    def _minimum_within_maximum(self) -> "Rails":
        for low, high in (("min_replicas", "max_replicas"), ("min_workers", "max_workers")):
            if getattr(self, low) > getattr(self, high):
                raise ValueError(f"{low}: at most {high} ({getattr(self, high)}), got {getattr(self, low)}")
        return self


@dataclass(frozen=True)
class Write:
    action: str  # scale_deployment | scale_placeholders | scale_workers | resize_pod | patch_scaled_object | ...
    namespace: str
    target: str  # kind/name: deployment/roberta, pod/roberta-0, scaledobject/roberta, nodepool/a100
    value: Value  # the target state
    owner: str = ""  # the allowlisted object a pod belongs to (deployment/NAME)


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    value: Value
    reason: str = ""


@dataclass
class Review:
    rails: Rails
    _last_write: dict[str, float] = field(default_factory=dict)
    _recent: deque = field(default_factory=deque)
    shadow: bool = False  # the writes counted were never sent, only would have been: say so in refusals

    def review(self, write: Write, *, current: Value, now: float) -> Verdict:
        refusal = self._refusal(write, now)
        if refusal:
            return Verdict(False, write.value, refusal)
        value, notes = _bounded(self.rails, write, current)
        return Verdict(True, value, "; ".join(notes))

    def sent(self, write: Write, now: float) -> None:
        """Count a write that went out (or would have, in a dry run) against the rate limits."""
        self._last_write[write.target] = now
        self._recent.append(now)

    def _refusal(self, write: Write, now: float) -> str:
        rails = self.rails
        if write.namespace not in rails.namespaces:
            return f"namespace {write.namespace} is not in the allowlist"
        if write.target not in rails.objects and write.owner not in rails.objects:
            return f"{write.target} is not in the allowlist"
        if write.action in ("add_nodes", "remove_node"):
            return "node actions are advice only: nodes come from the cloud provider's autoscaler"
        last = self._last_write.get(write.target)
        if last is not None and now - last < rails.min_interval_s:
            written = "would have been written" if self.shadow else "was written"
            return f"{write.target} {written} {now - last:.0f} s ago (min_interval_s {rails.min_interval_s:g})"
        while self._recent and now - self._recent[0] >= 60.0:
            self._recent.popleft()
        if len(self._recent) >= rails.max_writes_per_minute:
            writes = "writes would have gone out" if self.shadow else "writes"
            return (f"{len(self._recent)} {writes} in the last minute "
                    f"(max_writes_per_minute {rails.max_writes_per_minute})")
        return ""


def _bounded(rails: Rails, write: Write, current: Value) -> tuple[dict, list[str]]:
    value, notes = dict(write.value), []
    limits = {"replicas": (rails.min_replicas, rails.max_replicas, rails.max_replica_step),
              "minReplicaCount": (rails.min_replicas, rails.max_replicas, rails.max_replica_step),
              "maxReplicaCount": (rails.min_replicas, rails.max_replicas, rails.max_replicas),
              "placeholder_replicas": (0, rails.max_placeholders, rails.max_replica_step),
              "min_worker": (rails.min_workers, rails.max_workers, rails.max_worker_step),
              "max_worker": (rails.min_workers, rails.max_workers, rails.max_worker_step)}
    for key, (low, high, step) in limits.items():
        if key in value:
            value[key] = _clamped(key, int(value[key]), current.get(key), low, high, step, notes)
    if "memory_bytes" in value and float(value["memory_bytes"]) > rails.max_memory_bytes:
        notes.append(f"memory_bytes {value['memory_bytes']:g} capped at {rails.max_memory_bytes:g}")
        value["memory_bytes"] = rails.max_memory_bytes
    if "min_worker" in value and "max_worker" in value and value["max_worker"] < value["min_worker"]:
        value["max_worker"] = value["min_worker"]
    return value, notes


def _clamped(key: str, wanted: int, current, low: int, high: int, step: int, notes: list[str]) -> int:
    value = min(max(wanted, low), high)
    if current is not None:
        value = min(max(value, int(current) - step), int(current) + step)
    if value != wanted:
        notes.append(f"{key} {wanted} -> {value} (bounds {low}..{high}, step {step})")
    return value
