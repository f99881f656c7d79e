"""One HPA sync as a pure step: (spec, state, observation, now) → (decision, new state). The HPA's front door.

Fidelity ledger — upstream: kubernetes/kubernetes `pkg/controller/podautoscaler/horizontal.go`
(`reconcileAutoscaler`, `computeReplicasForMetrics` — an unknown metric source type is that metric's error, the
others still decide — tolerances from `behavior.scale{Up,Down}.tolerance`),
Kubernetes 1.33+ with `HPAConfigurableTolerance` on. Modelled: scaling disabled at 0 replicas (minReplicas ≠ 0),
the current > max / current < min shortcuts, max over metric proposals, the invalid-metric rules (all invalid, or
some invalid while the rest would scale down → no scaling), legacy or behavior normalisation, scale events stored
only on a rescale, and the AbleToScale / ScalingActive / ScalingLimited conditions this sync sets.
Not modelled: the scale-subresource write itself (the caller enacts `desired_replicas` when `rescale`; a failed
write is the caller's FailedUpdateScale), selector validation and ambiguous selectors, status.currentMetrics.
The manifest parser lives in `hpa.manifest`, the calculator in `hpa.replicas`, normalisation in `hpa.behavior`.
"""
from __future__ import annotations

from dataclasses import dataclass, replace

from twin.policies.hpa.behavior import (
    HPAState, Normalized, Recommendation, ScaleEvent, normalize_legacy, normalize_with_behavior, store_scale_event,
)
from twin.policies.hpa.manifest import hpa_from_manifest
from twin.policies.hpa.observation import HPAObservation, MetricSample, MetricValues, PodObservation
from twin.policies.hpa.replicas import CalcContext, Proposal, Tolerances, propose
from twin.policies.hpa.spec import HPAControllerSettings, HPASpec, MetricKey

__all__ = [
    "Condition", "HPAControllerSettings", "HPADecision", "HPAObservation", "HPASpec", "HPAState", "MetricKey",
    "MetricSample", "MetricValues", "PodObservation", "Proposal", "Recommendation", "ScaleEvent",
    "hpa_from_manifest", "reconcile",
]

ABLE_TO_SCALE, SCALING_ACTIVE, SCALING_LIMITED = "AbleToScale", "ScalingActive", "ScalingLimited"


@dataclass(frozen=True)
class Condition:
    type: str
    status: bool
    reason: str


@dataclass(frozen=True)
class HPADecision:
    current_replicas: int
    desired_replicas: int  # status.desiredReplicas: equals current_replicas when not rescaling
    rescale: bool
    proposals: tuple[Proposal, ...]
    conditions: tuple[Condition, ...]  # those set by this sync, in the order upstream sets them last
    reason: str = ""  # the SuccessfulRescale event's reason
    error: str | None = None  # invalid metrics, reported even when the valid ones still scale

    def condition(self, type_: str) -> Condition | None:
        return next((c for c in self.conditions if c.type == type_), None)


@dataclass(frozen=True)
class MetricsOutcome:
    replicas: int | None  # None: do not scale (upstream's -1)
    proposals: tuple[Proposal, ...]
    active: Condition
    error: str | None


def tolerances_for(spec: HPASpec, settings: HPAControllerSettings) -> Tolerances:
    """Per-direction tolerance from spec.behavior when set, else the controller flag."""
    up = down = settings.tolerance
    if spec.behavior is not None:
        up = settings.tolerance if spec.behavior.scale_up.tolerance is None else spec.behavior.scale_up.tolerance
        down = settings.tolerance if spec.behavior.scale_down.tolerance is None else spec.behavior.scale_down.tolerance
    return Tolerances(scale_down=down, scale_up=up)


def compute_replicas_for_metrics(spec: HPASpec, observation: HPAObservation, *, now: float,
                                 settings: HPAControllerSettings) -> MetricsOutcome:
    """`computeReplicasForMetrics`: the highest valid proposal, unless invalid metrics forbid acting."""
    ctx = CalcContext(observation.spec_replicas, observation.status_replicas, observation.pods,
                      tolerances_for(spec, settings), now, settings, observation.unlisted_samples)
    proposals = tuple(propose(metric, observation, ctx) for metric in spec.metrics)
    valid = [p for p in proposals if p.error is None]
    invalid = [p for p in proposals if p.error is not None]
    replicas = max((p.replicas for p in valid), default=0)
    error = None
    if invalid:
        error = f"invalid metrics ({len(invalid)} invalid out of {len(proposals)}), first error is: {invalid[0].error}"
    if invalid and (not valid or replicas < observation.spec_replicas):
        return MetricsOutcome(None, proposals, Condition(SCALING_ACTIVE, False, invalid[0].reason), error)
    return MetricsOutcome(replicas, proposals, Condition(SCALING_ACTIVE, True, "ValidMetricFound"), error)


def reconcile(spec: HPASpec, state: HPAState, observation: HPAObservation, *, now: float,
              settings: HPAControllerSettings = HPAControllerSettings()) -> tuple[HPADecision, HPAState]:
    """`reconcileAutoscaler` after a successful read of the scale subresource."""
    current = observation.spec_replicas
    if state.recommendations is None:
        state = replace(state, recommendations=(Recommendation(current, now),))
    got_scale = Condition(ABLE_TO_SCALE, True, "SucceededGetScale")
    if current == 0 and spec.min_replicas != 0:
        disabled = Condition(SCALING_ACTIVE, False, "ScalingDisabled")
        return HPADecision(current, current, False, (), (got_scale, disabled)), state
    if current > spec.max_replicas:
        return _enact(spec, state, current, spec.max_replicas, (got_scale,), now=now,
                      reason="Current number of replicas above Spec.MaxReplicas")
    if current < spec.min_replicas:
        return _enact(spec, state, current, spec.min_replicas, (got_scale,), now=now,
                      reason="Current number of replicas below Spec.MinReplicas")
    outcome = compute_replicas_for_metrics(spec, observation, now=now, settings=settings)
    if outcome.replicas is None:
        decision = HPADecision(current, current, False, outcome.proposals, (got_scale, outcome.active),
                               error=outcome.error)
        return decision, state
    normalized = _normalize(spec, state, current, outcome.replicas, now=now, settings=settings)
    state = replace(state, recommendations=normalized.recommendations)
    conditions = (Condition(ABLE_TO_SCALE, True, normalized.able_to_scale_reason), outcome.active,
                  Condition(SCALING_LIMITED, normalized.limited, normalized.limited_reason))
    return _enact(spec, state, current, normalized.replicas, conditions, now=now,
                  reason=_rescale_reason(outcome, current), proposals=outcome.proposals, error=outcome.error)


def _normalize(spec: HPASpec, state: HPAState, current: int, desired: int, *, now: float,
               settings: HPAControllerSettings) -> Normalized:
    if spec.behavior is None:
        return normalize_legacy(state.recommendations or (), current=current, desired=desired,
                                min_replicas=spec.min_replicas, max_replicas=spec.max_replicas, now=now,
                                window=settings.downscale_stabilization_window,
                                factor=settings.legacy_scale_up_factor, minimum=settings.legacy_scale_up_minimum)
    return normalize_with_behavior(state, current=current, desired=desired, min_replicas=spec.min_replicas,
                                   max_replicas=spec.max_replicas, up_rules=spec.behavior.scale_up,
                                   down_rules=spec.behavior.scale_down,
                                   down_window_default=settings.downscale_stabilization_window, now=now)


def _rescale_reason(outcome: MetricsOutcome, current: int) -> str:
    if outcome.replicas > current:
        best = max((p for p in outcome.proposals if p.error is None), key=lambda p: p.replicas)
        return f"{best.key.source} metric {best.key.name} above target"
    return "All metrics below target" if outcome.replicas < current else ""


def _enact(spec: HPASpec, state: HPAState, current: int, desired: int, conditions: tuple[Condition, ...], *,
           now: float, reason: str, proposals: tuple[Proposal, ...] = (),
           error: str | None = None) -> tuple[HPADecision, HPAState]:
    """Rescale when the count changed: upstream then reports SucceededRescale and stores a scale event."""
    if desired == current:
        return HPADecision(current, current, False, proposals, conditions, error=error), state
    others = tuple(c for c in conditions if c.type != ABLE_TO_SCALE)
    conditions = (Condition(ABLE_TO_SCALE, True, "SucceededRescale"), *others)
    decision = HPADecision(current, desired, True, proposals, conditions, reason, error)
    return decision, _store_event(spec, state, current, desired, now)


def _store_event(spec: HPASpec, state: HPAState, current: int, desired: int, now: float) -> HPAState:
    if spec.behavior is None:
        return state  # events only feed the behavior policies
    if desired > current:
        events = store_scale_event(state.scale_up_events, spec.behavior.scale_up, change=desired - current, now=now)
        return replace(state, scale_up_events=events)
    events = store_scale_event(state.scale_down_events, spec.behavior.scale_down, change=current - desired,
                               now=now)
    return replace(state, scale_down_events=events)
