"""What KEDA does with each trigger's value: fallback, the scalingModifiers composite, and the metrics it serves.

Fidelity ledger — upstream kedacore/keda v2.20 (main after v2.20.1):
- `pkg/fallback/fallback.go` (`GetMetricsWithFallback`, `doFallback`, `fallbackExceededThreshold`) and
  `fallback_test.go`: with a tracked fallback (`ScaledObjectSpec.fallback_tracked`) a success resets the metric's
  `numberOfFailures` to 0 and an error adds 1; once it is > failureThreshold the error is replaced by the
  synthetic value `int64(target × 1000 × replicas)` milli (replicas per behaviour: static, currentReplicas,
  currentReplicasIfHigher/IfLower; ÷ ready replicas for a Value target, an error when none is ready), or, for
  behaviour scalingModifiers, by a -1 placeholder the formula reads as nil. Condition Fallback = any count >
  threshold. Without a tracked fallback errors pass through and counts are left alone.
- `pkg/scaling/scale_handler.go` (`getScalerState`, `getScaledObjectState`, `GetScaledObjectMetrics`): the same
  fallback step runs in the polling loop and on every HPA metrics query (both count failures); a trigger is active
  when its value > activationThreshold or its fallback is served; with modifiers activity is recomputed as
  composite > activationTarget, and is false on any error; only-cpu/memory ScaledObjects are always active;
  `useCachedMetrics` triggers answer the HPA from the last poll.
- `pkg/scaling/modifiers/formula.go`: composite-metric = formula over trigger names (milli-truncated); a nil
  result serves fallback.replicas × target; while any fallback is served the composite is that fallback value.
- `pkg/scalers/scaler.go` `GenerateMetricInMili`: served values are rounded to milli, negative → 0.
Deviation: a cached record holds the raw trigger result, so an HPA read of a cached error counts a failure
(upstream caches the post-fallback value, whose read resets the count). Not modelled: per-metric `Happy/Failing`
strings (a count > 0 is Failing), concurrency between the two paths.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from typing import Mapping

from twin.policies.keda import formula as keda_formula
from twin.policies.keda import parse as keda_parse
from twin.policies.keda.manifest import ScaledObjectSpec
from twin.policies.keda.triggers import PrometheusTrigger, TriggerError, TriggerResult

COMPOSITE_METRIC = "composite-metric"


@dataclass(frozen=True)
class KedaState:
    """The ScaledObject status KEDA keeps between polls (never mutated; functions return a new one)."""

    last_active_time: float | None = None
    failures: Mapping[str, int] = field(default_factory=dict)  # status.health[metric].numberOfFailures
    fallback: bool | None = None  # condition Fallback; None until a tracked fallback first updates it
    cached: Mapping[str, TriggerResult] = field(default_factory=dict)  # useCachedMetrics records


@dataclass(frozen=True)
class Reading:
    """One external trigger's metric after the fallback step."""

    trigger: PrometheusTrigger
    value: float | None  # served value; None on error
    error: str | None = None
    active: bool = False
    fallback: bool = False  # a synthetic fallback value is served


@dataclass(frozen=True)
class Evaluation:
    readings: tuple[Reading, ...]
    state: KedaState

    @property
    def is_error(self) -> bool:
        return any(r.error is not None for r in self.readings)

    @property
    def fallback_active(self) -> bool:
        return any(r.fallback for r in self.readings)


def fallback_replicas(behavior: str, *, replicas: int, current_replicas: int) -> int:
    """`doFallback`'s replica count for a behaviour."""
    if behavior == "currentReplicas":
        return current_replicas
    if behavior == "currentReplicasIfHigher":
        return max(current_replicas, replicas)
    if behavior == "currentReplicasIfLower":
        return min(current_replicas, replicas)
    return replicas


def _read(spec: ScaledObjectSpec, trigger: PrometheusTrigger, raw: TriggerResult, failures: int | None, *,
          current_replicas: int, ready_replicas: int) -> tuple[Reading, int | None]:
    if not isinstance(raw, TriggerError):
        reading = Reading(trigger, keda_parse.served(raw), active=raw > trigger.activation_threshold)
        return reading, 0 if spec.fallback_tracked else failures
    if not spec.fallback_tracked:
        return Reading(trigger, None, raw.message), failures
    count = (failures or 0) + 1
    fallback = spec.fallback
    if count <= fallback.failure_threshold:
        return Reading(trigger, None, raw.message), count
    if fallback.behavior == "scalingModifiers":
        return Reading(trigger, -1.0), count  # the formula sees nil for this trigger
    replicas: float = fallback_replicas(fallback.behavior, replicas=fallback.replicas,
                                        current_replicas=current_replicas)
    modifiers = spec.modifiers
    if (modifiers.metric_type if modifiers else trigger.metric_type) == "Value":
        if ready_replicas == 0:
            return Reading(trigger, None, "error performing fallback: no ready replicas"), count
        replicas /= ready_replicas
    target = modifiers.target if modifiers else keda_parse.served(trigger.threshold)
    return Reading(trigger, int(target * 1000 * replicas) / 1000, active=True, fallback=True), count


def external_triggers(spec: ScaledObjectSpec) -> tuple[PrometheusTrigger, ...]:
    """The triggers behind External metrics (cpu/memory are Resource metrics the HPA reads itself)."""
    return tuple(t for t in spec.triggers if isinstance(t, PrometheusTrigger))


def evaluate(spec: ScaledObjectSpec, state: KedaState, results: Mapping[str, TriggerResult], *,
             current_replicas: int, ready_replicas: int) -> Evaluation:
    """Run every external trigger's result through the fallback step; `results` is keyed by metric name."""
    failures, readings = dict(state.failures), []
    for trigger in external_triggers(spec):
        count = failures.get(trigger.metric_name)
        reading, count = _read(spec, trigger, results[trigger.metric_name], count,
                               current_replicas=current_replicas, ready_replicas=ready_replicas)
        if count is not None:
            failures[trigger.metric_name] = count
        readings.append(reading)
    condition = state.fallback
    if spec.fallback_tracked and readings:
        condition = any(n > spec.fallback.failure_threshold for n in failures.values())
    return Evaluation(tuple(readings), replace(state, failures=failures, fallback=condition))


def composite(spec: ScaledObjectSpec, evaluation: Evaluation) -> TriggerResult:
    """The composite-metric value (`HandleScalingModifiers`); requires `spec.modifiers`."""
    fallbacks = [r.value for r in evaluation.readings if r.fallback]
    if fallbacks:
        return fallbacks[0]
    values = {r.trigger.name: _formula_input(spec, evaluation, r) for r in evaluation.readings
              if r.error is None and r.trigger.name}
    try:
        out = spec.modifiers.formula.evaluate(values)
    except keda_formula.FormulaError as error:
        return TriggerError(f"error trying to run custom formula: {error}")
    if out is None:
        if spec.fallback is None:
            return TriggerError("scalingModifiers formula evaluated to nil but no fallback is configured")
        out = spec.fallback.replicas * spec.modifiers.target
    if not math.isfinite(out):
        return TriggerError(f"scalingModifiers formula returned {out}")
    return int(out * 1000) / 1000


def _formula_input(spec: ScaledObjectSpec, evaluation: Evaluation, reading: Reading) -> float | None:
    """`scalingModifierTriggerValue`: nil once a scalingModifiers-fallback trigger is past its threshold."""
    fallback = spec.fallback
    if fallback is None or fallback.behavior != "scalingModifiers":
        return reading.value
    failing = evaluation.state.failures.get(reading.trigger.metric_name, 0) > fallback.failure_threshold
    return None if failing else reading.value


def is_active(spec: ScaledObjectSpec, evaluation: Evaluation) -> bool:
    """`getScaledObjectState`'s isActive."""
    if spec.modifiers is None:
        active = any(r.active for r in evaluation.readings)  # an errored trigger is inactive, the others count
    elif evaluation.is_error:
        active = False
    else:
        value = composite(spec, evaluation)
        active = not isinstance(value, TriggerError) and value > spec.modifiers.activation_target
    only_resources = not external_triggers(spec)
    return active or (only_resources and not evaluation.is_error)


def external_metric_values(spec: ScaledObjectSpec, state: KedaState, *, trigger_results: Mapping[str, TriggerResult],
                           current_replicas: int, ready_replicas: int
                           ) -> tuple[dict[str, TriggerResult], KedaState]:
    """What KEDA's metrics server answers the HPA for each External metric of the generated HPA, and the new state.

    `trigger_results` maps metric names (`s0-prometheus`) to live values or errors; triggers with
    `useCachedMetrics` use the result stored by the last `poll` instead when there is one.
    """
    results = {t.metric_name: state.cached[t.metric_name] if t.use_cached_metrics and t.metric_name in state.cached
               else trigger_results[t.metric_name] for t in external_triggers(spec)}
    evaluation = evaluate(spec, state, results, current_replicas=current_replicas, ready_replicas=ready_replicas)
    if spec.modifiers is None:
        values = {r.trigger.metric_name: r.value if r.error is None else TriggerError(r.error)
                  for r in evaluation.readings}
    elif evaluation.is_error and not evaluation.fallback_active:
        values = {COMPOSITE_METRIC: TriggerError(f"metric:{COMPOSITE_METRIC} encountered error")}
    else:
        values = {COMPOSITE_METRIC: composite(spec, evaluation)}
    return values, evaluation.state

