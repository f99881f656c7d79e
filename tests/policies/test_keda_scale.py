"""KEDA's operator scale loop as a pure step; cases ported from kedacore/keda v2.20
`pkg/scaling/executor/scale_scaledobjects_test.go` (test named per case) and `scale_scaledobjects.go`."""
from __future__ import annotations

from typing import Any

import pytest

from tests.policies.test_keda_manifest import cpu, prometheus, scaled_object
from twin.policies.keda import scaled_object as keda

ACTIVE, INACTIVE = 5.0, 0.0
LONG_AGO = -10_000.0  # creation time far before `now`, so the initial cooldown has long passed
PAUSE_IN, PAUSE_OUT = "autoscaling.keda.sh/paused-scale-in", "autoscaling.keda.sh/paused-scale-out"


def spec_of(**kwargs: Any) -> keda.ScaledObjectSpec:
    return keda.scaledobject_from_manifest(scaled_object(**kwargs), "so.yaml")


def step(spec: keda.ScaledObjectSpec, value: keda.TriggerResult, current: int, *, now: float = 0.0,
         state: keda.KedaState | None = None, created_at: float = LONG_AGO) -> tuple[keda.KedaDecision, keda.KedaState]:
    results = {t.metric_name: value for t in spec.triggers if t.type == "prometheus"}
    return keda.poll(spec, state or keda.KedaState(), trigger_results=results, current_replicas=current, now=now,
                     created_at=created_at)


@pytest.mark.parametrize(("case", "kwargs", "value", "current", "expected", "active_status"), [
    ("TestScaleToMinReplicasWhenNotActive", {"minReplicaCount": 0}, INACTIVE, 10, 0, "False"),
    ("TestScaleToMinReplicasFromLowerInitialReplicaCount", {"minReplicaCount": 5}, INACTIVE, 1, 5, "False"),
    ("TestScaleFromMinReplicasWhenActive", {"minReplicaCount": 0}, ACTIVE, 0, 1, "True"),
    ("TestScaleToIdleReplicasWhenNotActive", {"idleReplicaCount": 0, "minReplicaCount": 5}, INACTIVE, 10, 0, "False"),
    ("TestScaleFromIdleToMinReplicasWhenActive", {"idleReplicaCount": 0, "minReplicaCount": 5}, ACTIVE, 0, 5, "True"),
    ("TestEventWitTriggerInfo (2 → 5 in idle mode)", {"idleReplicaCount": 0, "minReplicaCount": 5}, ACTIVE, 2, 5,
     "True"),
    ("TestNoScaleToMinReplicasWhenNotActiveAndPauseScaleInAnnotationSet",
     {"minReplicaCount": 0, "annotations": {PAUSE_IN: "true"}}, INACTIVE, 10, None, "False"),
    ("TestNoScaleToIdleReplicasWhenNotActiveAndPauseScaleInAnnotationSet",
     {"idleReplicaCount": 0, "minReplicaCount": 5, "annotations": {PAUSE_IN: "true"}}, INACTIVE, 10, None, "False"),
    ("TestScaleFromMinReplicasWhenActivationForced",
     {"minReplicaCount": 0, "annotations": {"autoscaling.keda.sh/force-activation": "true"}}, INACTIVE, 0, 1, "True"),
    ("TestNoScaleFromMinReplicasWhenActiveAndPausedScaleOutAnnotationSet",
     {"minReplicaCount": 0, "annotations": {PAUSE_OUT: "true"}}, ACTIVE, 0, None, "True"),
    ("TestNoScaleFromIdleReplicasToMinReplicasWhenActiveAndPausedScaleOutAnnotationSet",
     {"idleReplicaCount": 0, "minReplicaCount": 5, "annotations": {PAUSE_OUT: "true"}}, ACTIVE, 0, None, "True"),
    ("RequestScale: active and running → the HPA owns 1↔N", {"minReplicaCount": 0}, ACTIVE, 3, None, "True"),
    ("RequestScale: inactive at min without idle → no change", {"minReplicaCount": 2}, INACTIVE, 2, None, "False"),
    ("Prometheus activity is strictly value > activationThreshold",
     {"triggers": [prometheus(activationThreshold="5")]}, 5.0, 1, 0, "False"),
    ("getScaledObjectState: only cpu/memory triggers are always active",
     {"minReplicaCount": 1, "triggers": [cpu()]}, None, 0, 1, "True"),
])
def test_executor_decisions(case: str, kwargs: dict, value: float | None, current: int, expected: int | None,
                            active_status: str) -> None:
    decision, _ = step(spec_of(**kwargs), value, current)
    assert decision.replicas == expected, case
    assert decision.conditions["Active"].status == active_status, case


def test_activation_stamps_last_active_time() -> None:
    # TestScaleFromMinReplicasWhenActive: "assert.NotNil(t, result.LastActiveTime)"
    _, state = step(spec_of(), ACTIVE, 0, now=42.0)
    assert state.last_active_time == 42.0
    _, state = step(spec_of(), ACTIVE, 3, now=50.0, state=state)
    assert state.last_active_time == 50.0
    _, state = step(spec_of(), INACTIVE, 3, now=60.0, state=state)
    assert state.last_active_time == 50.0


@pytest.mark.parametrize(("now", "expected", "reason"), [
    (399.0, None, "ScalerCooldown"),
    (400.0, None, "ScalerCooldown"),  # lastActiveTime + cooldownPeriod must be strictly Before(now)
    (400.5, 0, "ScalerNotActive"),
])
def test_cooldown_governs_only_the_step_to_zero(now: float, expected: int | None, reason: str) -> None:
    state = keda.KedaState(last_active_time=100.0)
    decision, _ = step(spec_of(cooldownPeriod=300), INACTIVE, 1, now=now, state=state)
    assert decision.replicas == expected
    assert decision.conditions["Active"].reason == reason


@pytest.mark.parametrize(("now", "expected"), [(120.0, None), (121.0, 0)])
def test_initial_cooldown_applies_until_first_activity(now: float, expected: int | None) -> None:
    decision, _ = step(spec_of(initialCooldownPeriod=120), INACTIVE, 4, now=now, created_at=0.0)
    assert decision.replicas == expected


def test_cooldown_back_to_idle_not_zero() -> None:
    spec = spec_of(idleReplicaCount=0, minReplicaCount=3, cooldownPeriod=60)
    decision, _ = step(spec, INACTIVE, 7, now=100.0, state=keda.KedaState(last_active_time=0.0))
    assert decision.replicas == 0


def test_partial_trigger_error_keeps_scaling_but_does_not_stamp() -> None:
    spec = spec_of(triggers=[prometheus(), prometheus()])
    results = {"s0-prometheus": ACTIVE, "s1-prometheus": keda.TriggerError("connection refused")}
    decision, state = keda.poll(spec, keda.KedaState(last_active_time=1.0), trigger_results=results,
                                current_replicas=2, now=9.0, created_at=0.0)
    assert (decision.is_active, decision.is_error, decision.replicas) == (True, True, None)
    assert decision.conditions["Ready"] == keda.Condition("Unknown", "PartialTriggerError")
    assert state.last_active_time == 1.0


def test_error_without_fallback_never_scales_to_zero() -> None:
    decision, _ = step(spec_of(), keda.TriggerError("timeout"), 3)
    assert decision.replicas is None
    assert decision.conditions["Ready"] == keda.Condition("False", "TriggerError")


@pytest.mark.parametrize(("fallback_replicas", "expected"), [(4, None), (0, 0)])
def test_error_with_fallback_waits_unless_fallback_replicas_is_zero(fallback_replicas: int,
                                                                    expected: int | None) -> None:
    spec = spec_of(fallback={"failureThreshold": 3, "replicas": fallback_replicas})
    decision, state = step(spec, keda.TriggerError("timeout"), 3)
    assert decision.replicas == expected
    assert state.failures == {"s0-prometheus": 1}
    assert decision.conditions["Fallback"].status == "False"


def test_fallback_past_threshold_counts_as_active() -> None:
    spec = spec_of(fallback={"failureThreshold": 2, "replicas": 4})
    state = keda.KedaState()
    for _ in range(3):
        decision, state = step(spec, keda.TriggerError("timeout"), 2, state=state)
    assert state.failures == {"s0-prometheus": 3}
    assert (decision.is_active, decision.fallback_active, decision.is_error) == (True, True, False)
    assert decision.conditions["Fallback"] == keda.Condition("True", "FallbackExists")
    decision, state = step(spec, 1.0, 2, state=state)
    assert state.failures == {"s0-prometheus": 0} and decision.conditions["Fallback"].status == "False"


PAUSED_REPLICAS, PAUSED = "autoscaling.keda.sh/paused-replicas", "autoscaling.keda.sh/paused"


@pytest.mark.parametrize(("annotations", "value", "current"), [
    ({PAUSED_REPLICAS: "0"}, ACTIVE, 2),  # TestScaleToPausedReplicasCount: 2 replicas, paused-replicas 0, active
    ({PAUSED: "true"}, INACTIVE, 5),  # inactive with min 0 would scale to 0 past the cooldown
    ({PAUSED: "true"}, ACTIVE, 0),  # active at 0 would wake the target
])
def test_the_executor_returns_early_while_paused(annotations: dict, value: float, current: int) -> None:
    decision, state = step(spec_of(annotations=annotations), value, current)
    assert decision.replicas is None and decision.conditions["Paused"].status == "True"
    assert "Active" not in decision.conditions and state == keda.KedaState()


@pytest.mark.parametrize(("annotations", "current", "expected"), [
    ({PAUSED_REPLICAS: "0"}, 2, 0),  # handlePause → scaleTargetToPausedCount
    ({PAUSED_REPLICAS: "2"}, 2, None),  # already at the paused count
    ({PAUSED: "true"}, 5, None),  # paused=true without a count: frozen at the count it was paused at
    ({PAUSED: "false", PAUSED_REPLICAS: "5"}, 2, 5),  # paused-replicas pauses whatever `paused` says
])
def test_the_controller_holds_the_paused_count(annotations: dict, current: int, expected: int | None) -> None:
    decision = keda.pause(spec_of(annotations=annotations), current_replicas=current)
    assert decision is not None and decision.replicas == expected
    assert decision.conditions["Paused"].status == "True"


def test_not_paused_leaves_the_loop_running() -> None:
    assert keda.pause(spec_of(annotations={PAUSED: "false"}), current_replicas=3) is None


def test_scaling_modifiers_activity_uses_the_composite() -> None:
    # getScaledObjectState: with a formula, isActive = composite > activationTarget.
    triggers = [prometheus("a"), prometheus("b")]
    advanced = {"scalingModifiers": {"formula": "a + b", "target": "10", "activationTarget": "6"}}
    spec = spec_of(triggers=triggers, advanced=advanced)
    low = {"s0-prometheus": 2.0, "s1-prometheus": 3.0}
    high = {"s0-prometheus": 2.0, "s1-prometheus": 5.0}
    decisions = [keda.poll(spec, keda.KedaState(), trigger_results=r, current_replicas=0, now=0.0, created_at=0.0)[0]
                 for r in (low, high)]
    assert [d.is_active for d in decisions] == [False, True]
    assert [d.replicas for d in decisions] == [None, 1]
