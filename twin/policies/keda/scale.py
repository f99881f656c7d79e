"""One tick of KEDA's operator scale loop for a ScaledObject, as a pure step: it decides 0↔1 and idle↔min.

Fidelity ledger — upstream kedacore/keda v2.20 (main after v2.20.1; pause handling re-read at commit 8b4f083c):
- `pkg/scaling/executor/scale_scaledobjects.go` (`RequestScale`, `scaleToZeroOrIdle`, `scaleFromZeroOrIdle`,
  `handlePaused`) and its `_test.go`. Active (or force-activation annotation): from 0, or below min in idle
  mode, set `minReplicaCount` (1 if 0) and stamp lastActiveTime unless paused-scale-out; already running → stamp
  lastActiveTime, except when some trigger errored (Ready=Unknown "PartialTriggerError", no stamp). Inactive:
  an error with a fallback of replicas ≠ 0 → wait for the fallback; an error without fallback → Ready=False;
  above idle (idle mode) or above 0 with min 0 → scale to idle/min once `lastActiveTime + cooldownPeriod < now`
  (or, never active, `creation + initialCooldownPeriod < now`), else Active=False "ScalerCooldown", skipped under
  paused-scale-in; no idle mode and below min → set min. Everything from 1 to N is the generated HPA's job.
- `controllers/keda/scaledobject_controller.go` (`handlePause`, `scaleTargetToPausedCount`): `paused: true` or
  `paused-replicas` stop the loop and delete the HPA; with paused-replicas the controller sets the target to that
  count once, with `paused: true` the target keeps the count it was paused at. This is `pause`, separate from
  `poll`: the executor's `handlePaused` only returns early with Paused=True (TestScaleToPausedReplicasCount: no
  scaling, no Active condition). Paused-scale-in/out only set Paused=True and let the loop run.
- `pkg/scaling/scale_handler.go` (`checkScalers`): state from `keda_fallback.evaluate`; `useCachedMetrics`
  triggers store this poll's result for the HPA path.
Times are seconds on the caller's clock; the caller calls `poll` every `spec.polling_interval_s`.
Not modelled: events, the HPAActive condition, `restoreToOriginalReplicaCount`, scale-target read errors.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Mapping

from twin.policies.keda import fallback as keda_fallback
from twin.policies.keda.fallback import KedaState
from twin.policies.keda.manifest import ScaledObjectSpec
from twin.policies.keda.triggers import TriggerResult


@dataclass(frozen=True)
class Condition:
    status: str  # "True" | "False" | "Unknown"
    reason: str


@dataclass(frozen=True)
class KedaDecision:
    replicas: int | None  # the scale target's new replica count, None to leave it alone
    is_active: bool
    is_error: bool = False
    fallback_active: bool = False
    conditions: Mapping[str, Condition] = field(default_factory=dict)  # by type: Ready, Active, Fallback, Paused


PAUSED = Condition("True", "ScaledObjectPaused")


def pause(spec: ScaledObjectSpec, *, current_replicas: int) -> KedaDecision | None:
    """The controller's `handlePause`: None when the ScaledObject is not paused; else the target's paused count
    (None to leave it where it was paused). While this answers, neither `poll` nor the HPA run."""
    if not spec.annotations.paused:
        return None
    target = spec.annotations.paused_replicas
    replicas = target if target is not None and target != current_replicas else None
    return KedaDecision(replicas, is_active=False, conditions={"Paused": PAUSED})


def poll(spec: ScaledObjectSpec, state: KedaState, *, trigger_results: Mapping[str, TriggerResult],
         current_replicas: int, now: float, created_at: float, ready_replicas: int | None = None
         ) -> tuple[KedaDecision, KedaState]:
    """Evaluate every trigger (keyed by metric name, e.g. `s0-prometheus`) and decide the scale loop's action.

    `ready_replicas` (default: `current_replicas`) only matters for a fallback on a Value target.
    """
    annotations = spec.annotations
    paused = {"Paused": PAUSED} if annotations.paused or annotations.pause_scale_in or \
        annotations.pause_scale_out else {}
    if annotations.paused:  # `handlePaused`: return early, scale nothing; `pause` owns the paused count
        return KedaDecision(None, is_active=False, conditions=paused), state
    evaluation = keda_fallback.evaluate(spec, state, trigger_results, current_replicas=current_replicas,
                                        ready_replicas=current_replicas if ready_replicas is None else ready_replicas)
    state = replace(evaluation.state, cached={**state.cached, **{
        t.metric_name: trigger_results[t.metric_name] for t in keda_fallback.external_triggers(spec)
        if t.use_cached_metrics}})
    is_active, is_error = keda_fallback.is_active(spec, evaluation), evaluation.is_error
    conditions = {"Ready": Condition("True", "ScaledObjectReady"), **paused}
    if state.fallback is not None:
        conditions["Fallback"] = Condition("True", "FallbackExists") if state.fallback \
            else Condition("False", "NoFallbackFound")
    if is_active or annotations.force_activation:
        replicas, stamp = _active(spec, current_replicas=current_replicas, is_error=is_error, conditions=conditions)
    else:
        replicas = _inactive(spec, state, current_replicas=current_replicas, is_error=is_error, now=now,
                             created_at=created_at, conditions=conditions)
        stamp = False
    if stamp:
        state = replace(state, last_active_time=now)
    decision = KedaDecision(replicas, is_active=is_active, is_error=is_error,
                            fallback_active=evaluation.fallback_active, conditions=conditions)
    return decision, state


def _active(spec: ScaledObjectSpec, *, current_replicas: int, is_error: bool,
            conditions: dict[str, Condition]) -> tuple[int | None, bool]:
    """The replicas to set and whether lastActiveTime is stamped."""
    conditions["Active"] = Condition("True", "ScalerActive")
    idle_mode = spec.idle_replica_count is not None
    if (idle_mode and current_replicas < spec.min_replicas) or current_replicas == 0:
        if spec.annotations.pause_scale_out:
            return None, False
        return max(spec.min_replicas, 1), True
    if is_error:
        conditions["Ready"] = Condition("Unknown", "PartialTriggerError")
        return None, False
    return None, True


def _inactive(spec: ScaledObjectSpec, state: KedaState, *, current_replicas: int, is_error: bool, now: float,
              created_at: float, conditions: dict[str, Condition]) -> int | None:
    conditions["Active"] = Condition("False", "ScalerNotActive")
    idle = spec.idle_replica_count
    if is_error and spec.fallback is not None and spec.fallback.replicas != 0:
        return None  # stay up so the HPA can apply fallback.replicas once the threshold is passed
    if is_error and spec.fallback is None:
        conditions["Ready"] = Condition("False", "TriggerError")
        return None
    if (idle is not None and current_replicas > idle) or (current_replicas > 0 and spec.min_replicas == 0):
        return _scale_in(spec, state, now=now, created_at=created_at, conditions=conditions)
    if idle is None and current_replicas < spec.min_replicas:
        return spec.min_replicas
    return None


def _scale_in(spec: ScaledObjectSpec, state: KedaState, *, now: float, created_at: float,
              conditions: dict[str, Condition]) -> int | None:
    if spec.annotations.pause_scale_in:
        return None
    if state.last_active_time is None:
        expired = created_at + spec.initial_cooldown_period_s < now
    else:
        expired = state.last_active_time + spec.cooldown_period_s < now
    if not expired:
        conditions["Active"] = Condition("False", "ScalerCooldown")
        return None
    return spec.idle_replica_count if spec.idle_replica_count is not None else spec.min_replicas
