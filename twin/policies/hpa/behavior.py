"""HPA normalisation: stabilisation windows, scaling policies and the state they keep between syncs.

Fidelity ledger — upstream: kubernetes/kubernetes `pkg/controller/podautoscaler/horizontal.go`
(`recordInitialRecommendation`, `stabilizeRecommendation`, `normalizeDesiredReplicas`,
`convertDesiredReplicasWithRules`, `calculateScaleUpLimit`, `stabilizeRecommendationWithBehaviors`,
`convertDesiredReplicasWithBehaviorRate`, `calculateScaleUpLimitWithScalingRules`,
`calculateScaleDownLimitWithBehaviors`, `getReplicasChangePerPeriod`, `storeScaleEvent`, `markScaleEventsOutdated`),
Kubernetes 1.33+. Modelled exactly, including the slot reuse of stored recommendations and events (which decides
what later periods still see), strict before/after comparisons, Go's int32 truncation for Percent scale-down and
the periodStart that counts both scale-up and scale-down events.
Not modelled: nothing of the decision is left out; the per-HPA locks have no meaning here.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from twin.policies.hpa.spec import DISABLED_POLICY, MIN_POLICY, PODS_POLICY, ScalingRules

WITHIN_RANGE = "DesiredWithinRange"
_INT32_MIN, _INT32_MAX = -(2 ** 31), 2 ** 31 - 1  # Go's starting values when folding the policies


@dataclass(frozen=True)
class Recommendation:
    replicas: int
    timestamp: float


@dataclass(frozen=True)
class ScaleEvent:
    replica_change: int  # always positive; the list it sits in gives the direction
    timestamp: float
    outdated: bool = False


@dataclass(frozen=True)
class HPAState:
    """What the controller remembers per HPA; `recommendations` is None until the first sync."""

    recommendations: tuple[Recommendation, ...] | None = None
    scale_up_events: tuple[ScaleEvent, ...] = ()
    scale_down_events: tuple[ScaleEvent, ...] = ()


@dataclass(frozen=True)
class Normalized:
    replicas: int
    able_to_scale_reason: str  # ReadyForNewScale | ScaleUpStabilized | ScaleDownStabilized
    limited: bool  # ScalingLimited status
    limited_reason: str
    recommendations: tuple[Recommendation, ...]


def _reuse_or_append(items: tuple, new: object, is_obsolete: Callable[[object], bool]) -> tuple:
    """Overwrite the last obsolete slot, or append: upstream's way of bounding its history."""
    obsolete = [index for index, item in enumerate(items) if is_obsolete(item)]
    if not obsolete:
        return (*items, new)
    return tuple(new if index == obsolete[-1] else item for index, item in enumerate(items))


def stabilize_legacy(recommendations: tuple[Recommendation, ...], desired: int, *, now: float,
                     window: float) -> tuple[int, tuple[Recommendation, ...]]:
    """`stabilizeRecommendation`: the highest recommendation of the last `window` seconds, this one included."""
    cutoff = now - window
    highest = max([desired, *(rec.replicas for rec in recommendations if not rec.timestamp < cutoff)])
    stored = _reuse_or_append(recommendations, Recommendation(desired, now), lambda rec: rec.timestamp < cutoff)
    return highest, stored


def convert_with_rules(current: int, desired: int, *, min_replicas: int, max_replicas: int,
                       factor: float = 2.0, minimum: float = 4.0) -> tuple[int, str]:
    """`convertDesiredReplicasWithRules`: clamp to [min, min(max, max(factor·current, minimum))]."""
    scale_up_limit = int(max(factor * current, minimum))
    if max_replicas > scale_up_limit:
        ceiling, reason = scale_up_limit, "ScaleUpLimit"
    else:
        ceiling, reason = max_replicas, "TooManyReplicas"
    if desired < min_replicas:
        return min_replicas, "TooFewReplicas"
    if desired > ceiling:
        return ceiling, reason
    return desired, WITHIN_RANGE


def normalize_legacy(recommendations: tuple[Recommendation, ...], *, current: int, desired: int,
                     min_replicas: int, max_replicas: int, now: float, window: float,
                     factor: float, minimum: float) -> Normalized:
    """`normalizeDesiredReplicas` (spec.behavior == nil)."""
    stabilized, stored = stabilize_legacy(recommendations, desired, now=now, window=window)
    able = "ScaleDownStabilized" if stabilized != desired else "ReadyForNewScale"
    replicas, reason = convert_with_rules(current, stabilized, min_replicas=min_replicas,
                                          max_replicas=max_replicas, factor=factor, minimum=minimum)
    return Normalized(replicas, able, replicas != stabilized, reason, stored)


def stabilize_with_behavior(recommendations: tuple[Recommendation, ...], *, current: int, desired: int,
                            up_window: float, down_window: float, now: float) -> tuple[int, str, tuple]:
    """`stabilizeRecommendationWithBehaviors`: keep `current` unless every recent recommendation agrees."""
    up_cutoff, down_cutoff = now - up_window, now - down_window
    up_floor = min([desired, *(rec.replicas for rec in recommendations if rec.timestamp > up_cutoff)])
    down_ceiling = max([desired, *(rec.replicas for rec in recommendations if rec.timestamp > down_cutoff)])
    stabilized = min(max(current, up_floor), down_ceiling)
    stored = _reuse_or_append(recommendations, Recommendation(desired, now),
                              lambda rec: rec.timestamp < up_cutoff and rec.timestamp < down_cutoff)
    reason = "ScaleUpStabilized" if desired >= current else "ScaleDownStabilized"
    return stabilized, reason, stored


def replicas_change(period_seconds: float, events: tuple[ScaleEvent, ...], *, now: float) -> int:
    """`getReplicasChangePerPeriod`: the sum of changes strictly newer than now − period."""
    cutoff = now - period_seconds
    return sum(event.replica_change for event in events if event.timestamp > cutoff)


def _period_start(policy_period: int, current: int, up: tuple[ScaleEvent, ...], down: tuple[ScaleEvent, ...],
                  now: float) -> int:
    return current - replicas_change(policy_period, up, now=now) + replicas_change(policy_period, down, now=now)


def scale_up_limit(current: int, rules: ScalingRules, *, up: tuple[ScaleEvent, ...], down: tuple[ScaleEvent, ...],
                   now: float) -> int:
    """`calculateScaleUpLimitWithScalingRules`."""
    if rules.select_policy == DISABLED_POLICY:
        return current
    proposals = []
    for policy in rules.policies:
        start = _period_start(policy.period_seconds, current, up, down, now)
        if policy.type == PODS_POLICY:
            proposals.append(start + policy.value)
        else:  # rounded up, or a small Percent could never add a pod
            proposals.append(math.ceil(float(start) * (1 + policy.value / 100)))
    if rules.select_policy == MIN_POLICY:
        return min(proposals, default=_INT32_MAX)
    return max(proposals, default=_INT32_MIN)


def scale_down_limit(current: int, rules: ScalingRules, *, up: tuple[ScaleEvent, ...],
                     down: tuple[ScaleEvent, ...], now: float) -> int:
    """`calculateScaleDownLimitWithBehaviors`: Max picks the lowest floor (the largest change)."""
    if rules.select_policy == DISABLED_POLICY:
        return current
    proposals = []
    for policy in rules.policies:
        start = _period_start(policy.period_seconds, current, up, down, now)
        if policy.type == PODS_POLICY:
            proposals.append(start - policy.value)
        else:
            proposals.append(int(float(start) * (1 - policy.value / 100)))  # Go int32(): truncation
    if rules.select_policy == MIN_POLICY:
        return max(proposals, default=_INT32_MIN)
    return min(proposals, default=_INT32_MAX)


def convert_with_behavior_rate(state: HPAState, *, current: int, desired: int, min_replicas: int,
                               max_replicas: int, up_rules: ScalingRules, down_rules: ScalingRules,
                               now: float) -> tuple[int, str]:
    """`convertDesiredReplicasWithBehaviorRate`: apply the policies' limits, then min/max replicas."""
    up, down = state.scale_up_events, state.scale_down_events
    if desired > current:
        limit = max(scale_up_limit(current, up_rules, up=up, down=down, now=now), current)
        ceiling, reason = (limit, "ScaleUpLimit") if max_replicas > limit else (max_replicas, "TooManyReplicas")
        if desired > ceiling:
            return ceiling, reason
    elif desired < current:
        limit = min(scale_down_limit(current, down_rules, up=up, down=down, now=now), current)
        floor, reason = (limit, "ScaleDownLimit") if min_replicas < limit else (min_replicas, "TooFewReplicas")
        if desired < floor:
            return floor, reason
    return desired, WITHIN_RANGE


def normalize_with_behavior(state: HPAState, *, current: int, desired: int, min_replicas: int, max_replicas: int,
                            up_rules: ScalingRules, down_rules: ScalingRules, down_window_default: float,
                            now: float) -> Normalized:
    """`normalizeDesiredReplicasWithBehaviors`: stabilise, then rate-limit."""
    down_window = down_rules.stabilization_window_seconds
    stabilized, reason, stored = stabilize_with_behavior(
        state.recommendations or (), current=current, desired=desired, now=now,
        up_window=up_rules.stabilization_window_seconds,
        down_window=down_window_default if down_window is None else down_window)
    able = reason if stabilized != desired else "ReadyForNewScale"
    replicas, limited_reason = convert_with_behavior_rate(
        state, current=current, desired=stabilized, min_replicas=min_replicas, max_replicas=max_replicas,
        up_rules=up_rules, down_rules=down_rules, now=now)
    return Normalized(replicas, able, replicas != stabilized, limited_reason, stored)


def store_scale_event(events: tuple[ScaleEvent, ...], rules: ScalingRules, *, change: int,
                      now: float) -> tuple[ScaleEvent, ...]:
    """`storeScaleEvent` for one direction: mark events older than the longest period, reuse the last such slot."""
    longest = max((policy.period_seconds for policy in rules.policies), default=0)
    cutoff = now - longest
    marked = tuple(ScaleEvent(e.replica_change, e.timestamp, e.outdated or e.timestamp < cutoff) for e in events)
    return _reuse_or_append(marked, ScaleEvent(change, now), lambda event: event.outdated)
