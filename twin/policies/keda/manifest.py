"""A real `keda.sh/v1alpha1` ScaledObject manifest → a validated, immutable `ScaledObjectSpec`.

Fidelity ledger — upstream kedacore/keda v2.20 (main after v2.20.1), `apis/keda/v1alpha1/`:
- `scaledobject_types.go`: CRD minimums (pollingInterval ≥ 1, cooldowns ≥ 0, replica counts ≥ 0, max ≥ 1,
  triggers ≥ 1), `minReplicaCount <= maxReplicaCount (default 100)`, fallback behaviour enum (default static),
  scalingModifiers metricType enum, pause / force-activation annotations (`getBoolAnnotation`: a value Go cannot
  parse as bool counts as true), `GetHPAMinReplicas` / `GetHPAMaxReplicas`, `CheckReplicaCountBoundsAreValid`
  (idle must be below `GetHPAMinReplicas` when min is set, below 0 — i.e. impossible — when it is not),
  `CheckFallbackValid` (thresholds ≥ 0; without modifiers at least one trigger that is not cpu/memory).
- `scaledobject_webhook.go`: name and HPA name ≤ 63 characters, trigger names unique, scalingModifiers need a
  formula and a target > 0 and not Utilization, the formula compiles over named non-cpu/memory triggers,
  `fallback.behavior: scalingModifiers` needs a formula, only cpu/memory triggers with minReplicaCount 0 rejected.
- `pkg/fallback/fallback.go` `HasValidFallback`: with modifiers, health is tracked only when the target parses
  as an integer > 0 (`strconv.ParseInt`) — a quirk kept on purpose (`fallback_tracked`).
- Kubernetes HPA validation: behavior stabilizationWindowSeconds within 0..3600.
Defaults: pollingInterval 30 s, cooldownPeriod 300 s, initialCooldownPeriod 0, minReplicaCount 0 (executor),
maxReplicaCount 100. Not modelled: duplicate-target/HPA-ownership checks (need the cluster), container resource
requests for cpu/memory triggers, `restoreToOriginalReplicaCount`, `envSourceContainerName`.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Mapping

from twin.errors import InputError
from twin.policies.keda import formula as keda_formula
from twin.policies.keda import parse as keda_parse
from twin.policies.keda import triggers as keda_triggers

FALLBACK_BEHAVIORS = ("static", "currentReplicas", "currentReplicasIfHigher", "currentReplicasIfLower",
                      "scalingModifiers")
_PREFIX = "autoscaling.keda.sh/"
_MAX_LABEL = 63


@dataclass(frozen=True)
class Fallback:
    failure_threshold: int
    replicas: int
    behavior: str = "static"

    def __post_init__(self) -> None:
        """`CheckFallbackValid` and the CRD enum, also for a spec built in code rather than read from YAML."""
        for name, value in (("failureThreshold", self.failure_threshold), ("replicas", self.replicas)):
            if value < 0:
                raise ValueError(f"spec.fallback.{name}: expected an integer >= 0, got {value}")
        if self.behavior not in FALLBACK_BEHAVIORS:
            raise ValueError(f"spec.fallback.behavior: expected {' | '.join(FALLBACK_BEHAVIORS)}, got {self.behavior}")


@dataclass(frozen=True)
class ScalingModifiers:
    formula: keda_formula.Formula
    target: float
    target_text: str  # kept: fallback health tracking parses it as an integer
    activation_target: float = 0.0
    metric_type: str = "AverageValue"


@dataclass(frozen=True)
class Annotations:
    paused: bool = False  # `paused` true or `paused-replicas` present: the scale loop stops, the HPA is deleted
    paused_replicas: int | None = None
    pause_scale_in: bool = False
    pause_scale_out: bool = False
    force_activation: bool = False


@dataclass(frozen=True)
class ScaleTargetRef:
    name: str
    kind: str = "Deployment"
    api_version: str = "apps/v1"


@dataclass(frozen=True)
class ScaledObjectSpec:
    name: str
    namespace: str
    scale_target_ref: ScaleTargetRef
    triggers: tuple[keda_triggers.Trigger, ...]
    polling_interval_s: int = 30
    cooldown_period_s: int = 300
    initial_cooldown_period_s: int = 0
    min_replica_count: int | None = None
    max_replica_count: int | None = None
    idle_replica_count: int | None = None
    fallback: Fallback | None = None
    hpa_name: str = ""
    hpa_behavior: Mapping[str, Any] | None = None
    modifiers: ScalingModifiers | None = None
    annotations: Annotations = field(default_factory=Annotations)

    @property
    def min_replicas(self) -> int:  # the executor's view: unset means 0
        return self.min_replica_count or 0

    @property
    def hpa_min_replicas(self) -> int:
        return max(1, self.min_replicas)

    @property
    def hpa_max_replicas(self) -> int:
        return 100 if self.max_replica_count is None else self.max_replica_count

    @property
    def fallback_tracked(self) -> bool:
        """`isFallbackEnabled && HasValidFallback`: failures are counted and fallback metrics served."""
        if self.fallback is None:
            return False
        return self.modifiers is None or bool(re.fullmatch(r"[+-]?\d+", self.modifiers.target_text)
                                              and int(self.modifiers.target_text) > 0)


class _Reader:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, path: str, expected: str, got: Any) -> InputError:
        return InputError(self.source, path, expected, repr(got))

    def mapping(self, value: Any, path: str) -> Mapping[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, Mapping):
            raise self.fail(path, "a mapping", value)
        return value

    def integer(self, parent: Mapping[str, Any], key: str, path: str, *, minimum: int,
                default: int | None = None) -> int | None:
        value = parent.get(key, default)
        if value is None:
            return None
        if type(value) is not int or not minimum <= value < 2**31:
            raise self.fail(f"{path}.{key}", f"an integer >= {minimum}", value)
        return value

    def text(self, parent: Mapping[str, Any], key: str, path: str, *, default: str = "") -> str:
        value = parent.get(key, default)
        if not isinstance(value, str):
            raise self.fail(f"{path}.{key}", "a string", value)
        return value


def scaledobject_from_manifest(manifest: Any, source: str) -> ScaledObjectSpec:
    """Validate `manifest` (a parsed ScaledObject YAML) the way the CRD schema and KEDA's webhook do."""
    read = _Reader(source)
    manifest = read.mapping(manifest, "")
    if manifest.get("apiVersion") != "keda.sh/v1alpha1" or manifest.get("kind") != "ScaledObject":
        raise read.fail("kind", "apiVersion keda.sh/v1alpha1, kind ScaledObject",
                        f"{manifest.get('apiVersion')}/{manifest.get('kind')}")
    meta, spec = read.mapping(manifest.get("metadata"), "metadata"), read.mapping(manifest.get("spec"), "spec")
    name = read.text(meta, "name", "metadata")
    if not name or len(name) > _MAX_LABEL:
        raise read.fail("metadata.name", f"a name of 1..{_MAX_LABEL} characters", name)
    triggers = _triggers(read, spec.get("triggers"))
    advanced = read.mapping(spec.get("advanced"), "spec.advanced")
    hpa_path = "spec.advanced.horizontalPodAutoscalerConfig"
    hpa_config = read.mapping(advanced.get("horizontalPodAutoscalerConfig"), hpa_path)
    hpa_name = read.text(hpa_config, "name", hpa_path) or f"keda-hpa-{name}"
    if len(hpa_name) > _MAX_LABEL:
        raise read.fail(f"{hpa_path}.name", f"at most {_MAX_LABEL} characters", hpa_name)
    result = ScaledObjectSpec(
        name=name, namespace=read.text(meta, "namespace", "metadata", default="default"),
        scale_target_ref=_target(read, spec.get("scaleTargetRef")), triggers=triggers,
        polling_interval_s=read.integer(spec, "pollingInterval", "spec", minimum=1, default=30),
        cooldown_period_s=read.integer(spec, "cooldownPeriod", "spec", minimum=0, default=300),
        initial_cooldown_period_s=read.integer(spec, "initialCooldownPeriod", "spec", minimum=0, default=0),
        min_replica_count=read.integer(spec, "minReplicaCount", "spec", minimum=0),
        max_replica_count=read.integer(spec, "maxReplicaCount", "spec", minimum=1),
        idle_replica_count=read.integer(spec, "idleReplicaCount", "spec", minimum=0),
        fallback=_fallback(read, spec.get("fallback")), hpa_name=hpa_name,
        hpa_behavior=_behavior(read, hpa_config.get("behavior")),
        modifiers=_modifiers(read, advanced.get("scalingModifiers"), triggers),
        annotations=_annotations(read, meta.get("annotations")))
    _check_replicas(read, result)
    _check_fallback(read, result)
    return result


def _target(read: _Reader, raw: Any) -> ScaleTargetRef:
    ref = read.mapping(raw, "spec.scaleTargetRef")
    name = read.text(ref, "name", "spec.scaleTargetRef")
    if not name:
        raise read.fail("spec.scaleTargetRef.name", "the name of the workload to scale", ref.get("name"))
    return ScaleTargetRef(name=name, kind=read.text(ref, "kind", "spec.scaleTargetRef") or "Deployment",
                          api_version=read.text(ref, "apiVersion", "spec.scaleTargetRef") or "apps/v1")


def _triggers(read: _Reader, raw: Any) -> tuple[keda_triggers.Trigger, ...]:
    if not isinstance(raw, list) or not raw:
        raise read.fail("spec.triggers", "a non-empty list of triggers", raw)
    triggers = tuple(keda_triggers.parse_trigger(item, index=i, source=read.source) for i, item in enumerate(raw))
    seen: set[str] = set()
    for trigger in triggers:
        if trigger.name in seen:
            raise read.fail(f"spec.triggers[{trigger.index}].name", "a trigger name unique in the ScaledObject",
                            trigger.name)
        seen.update({trigger.name} - {""})
    return triggers


def _fallback(read: _Reader, raw: Any) -> Fallback | None:
    if raw is None:
        return None
    raw = read.mapping(raw, "spec.fallback")
    for key in ("failureThreshold", "replicas"):
        if key not in raw:
            raise read.fail(f"spec.fallback.{key}", "a required integer >= 0", None)
    behavior = read.text(raw, "behavior", "spec.fallback", default="static")
    if behavior not in FALLBACK_BEHAVIORS:
        raise read.fail("spec.fallback.behavior", " | ".join(FALLBACK_BEHAVIORS), behavior)
    return Fallback(failure_threshold=read.integer(raw, "failureThreshold", "spec.fallback", minimum=0),
                    replicas=read.integer(raw, "replicas", "spec.fallback", minimum=0), behavior=behavior)


def _behavior(read: _Reader, raw: Any) -> Mapping[str, Any] | None:
    if raw is None:
        return None
    behavior = read.mapping(raw, "spec.advanced.horizontalPodAutoscalerConfig.behavior")
    for direction in ("scaleUp", "scaleDown"):
        path = f"spec.advanced.horizontalPodAutoscalerConfig.behavior.{direction}"
        rules = read.mapping(behavior.get(direction), path)
        window = rules.get("stabilizationWindowSeconds")
        if window is not None and (type(window) is not int or not 0 <= window <= 3600):
            raise read.fail(f"{path}.stabilizationWindowSeconds", "an integer in 0..3600", window)
    return behavior


def _modifiers(read: _Reader, raw: Any, triggers: tuple[keda_triggers.Trigger, ...]) -> ScalingModifiers | None:
    path = "spec.advanced.scalingModifiers"
    raw = read.mapping(raw, path)
    if not any(raw.get(k) for k in ("formula", "target", "activationTarget", "metricType")):
        return None  # IsUsingModifiers: the struct is empty
    formula, target = read.text(raw, "formula", path), read.text(raw, "target", path)
    if not formula:
        raise read.fail(f"{path}.formula", "a formula (mandatory with scalingModifiers)", raw.get("formula"))
    if keda_parse.json_number(target.strip()) is None or float(target) <= 0:
        raise read.fail(f"{path}.target", "a number > 0 (required with a formula)", raw.get("target"))
    metric_type = read.text(raw, "metricType", path) or "AverageValue"
    if metric_type not in ("AverageValue", "Value"):
        raise read.fail(f"{path}.metricType", "AverageValue or Value", metric_type)
    activation = read.text(raw, "activationTarget", path)
    if activation and keda_parse.json_number(activation.strip()) is None:
        raise read.fail(f"{path}.activationTarget", "a number", activation)
    names = frozenset(t.name for t in triggers if t.name and t.type not in keda_triggers.RESOURCE_TYPES)
    compiled = keda_formula.compile_formula(formula, names, source=read.source, field=f"{path}.formula")
    return ScalingModifiers(formula=compiled, target=float(target), target_text=target,
                            activation_target=float(activation) if activation else 0.0, metric_type=metric_type)


def _annotations(read: _Reader, raw: Any) -> Annotations:
    found = {k.removeprefix(_PREFIX): str(v) for k, v in read.mapping(raw, "metadata.annotations").items()
             if k.startswith(_PREFIX)}

    def flag(key: str) -> bool:  # getBoolAnnotation: present but not a Go bool → true
        return key in found and keda_parse.go_bool(found[key]) is not False

    paused_replicas = found.get("paused-replicas")
    if paused_replicas is not None and not re.fullmatch(r"[+-]?\d+", paused_replicas):
        raise read.fail(f"metadata.annotations.{_PREFIX}paused-replicas", "an integer", paused_replicas)
    return Annotations(paused=flag("paused") or paused_replicas is not None,
                       paused_replicas=None if paused_replicas is None else int(paused_replicas),
                       pause_scale_in=flag("paused-scale-in"), pause_scale_out=flag("paused-scale-out"),
                       force_activation=flag("force-activation"))


def _check_replicas(read: _Reader, spec: ScaledObjectSpec) -> None:
    if spec.min_replica_count is not None and spec.min_replica_count > spec.hpa_max_replicas:
        raise read.fail("spec.minReplicaCount", f"<= maxReplicaCount ({spec.hpa_max_replicas})", spec.min_replica_count)
    floor = 0 if spec.min_replica_count is None else spec.hpa_min_replicas  # CheckReplicaCountBoundsAreValid
    if spec.idle_replica_count is not None and spec.idle_replica_count >= floor:
        raise read.fail("spec.idleReplicaCount", f"< minReplicaCount ({floor})", spec.idle_replica_count)
    if all(t.type in keda_triggers.RESOURCE_TYPES for t in spec.triggers) and spec.min_replicas == 0:
        raise read.fail("spec.minReplicaCount", ">= 1 when every trigger is cpu/memory (they cannot wake from 0)",
                        spec.min_replica_count)


def _check_fallback(read: _Reader, spec: ScaledObjectSpec) -> None:
    if spec.fallback is None:
        return
    external = any(t.type not in keda_triggers.RESOURCE_TYPES for t in spec.triggers)
    if spec.modifiers is None and not external:
        raise read.fail("spec.fallback", "at least one trigger that is not cpu or memory", "only cpu/memory triggers")
    if spec.fallback.behavior == "scalingModifiers" and spec.modifiers is None:
        raise read.fail("spec.fallback.behavior", "scalingModifiers.formula to be defined", "scalingModifiers")
