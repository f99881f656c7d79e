"""Whole-sync cases ported from kubernetes/kubernetes pkg/controller/podautoscaler/horizontal_test.go (testCase.runTest:
one reconcile against a fake scale, pod lister and metrics clients), plus multi-sync properties of the state.

Upstream's horizontal tests raise the legacy scale-up factor to 8 (`init()`), use a 2-minute CPU initialisation
period, a 10 s readiness delay, pods whose Ready transition equals their start time, and samples stamped "now".
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace

import pytest

from twin.policies.hpa.sync import reconcile
from twin.policies.hpa.behavior import HPAState, Recommendation
from twin.policies.hpa.observation import HPAObservation, MetricValues
from twin.policies.hpa.spec import (
    AVERAGE_VALUE, EXTERNAL, PODS, RESOURCE, UTILIZATION, VALUE, Behavior, HPASpec, LabelSelector, MetricKey,
    MetricSpec, MetricTarget, ObjectRef, scale_down_rules, scale_up_rules,
)
from tests.policies._hpa_fixtures import COOL, HOT, NOW, TEST_SETTINGS, make_pods, rules

SETTINGS = replace(TEST_SETTINGS, legacy_scale_up_factor=8.0)
QPS = MetricSpec(MetricKey(PODS, "qps"), MetricTarget(AVERAGE_VALUE, average_value_milli=15_000))
EXTERNAL_QPS = MetricKey(EXTERNAL, "qps", LabelSelector())
FAILING_EXTERNAL = MetricSpec(EXTERNAL_QPS, MetricTarget(VALUE, value_milli=1000))
CHEDDAR = MetricSpec(MetricKey("CheddarCheese", ""), MetricTarget(VALUE, value_milli=1))  # an unknown source type
OK = {"AbleToScale": (True, "SucceededRescale"), "ScalingActive": (True, "ValidMetricFound"),
      "ScalingLimited": (False, "DesiredWithinRange")}


@dataclass(frozen=True)
class Case:
    id: str
    min: int
    max: int
    replicas: int
    expected: int
    cpu_target: int = 0
    levels: tuple[int, ...] = ()
    requests: tuple[float, ...] | None = None  # None: one pod per replica, 1.0 core each
    readiness: tuple[bool, ...] = ()
    start: tuple[float, ...] = ()
    extra: tuple[MetricSpec, ...] = ()
    recommendations: tuple[tuple[int, float], ...] | None = None  # (replicas, age s); None: never synced
    behavior: Behavior | None = None
    conditions: dict = field(default_factory=lambda: dict(OK))


def expect(**overrides) -> dict:
    return {**OK, **overrides}


CASES = [
    Case("TestScaleUp", 2, 6, 3, 5, 30, (300, 500, 700)),
    Case("TestScaleUpUnreadyLessScale", 2, 6, 3, 4, 30, (300, 500, 700), readiness=(False, True, True)),
    Case("TestScaleUpHotCpuLessScale", 2, 6, 3, 4, 30, (300, 500, 700), start=(HOT, COOL, COOL)),
    Case("TestScaleUpUnreadyNoScale", 2, 6, 3, 3, 30, (400, 500, 700), readiness=(True, False, False),
         conditions=expect(AbleToScale=(True, "ReadyForNewScale"))),
    Case("TestScaleDown", 2, 6, 5, 3, 50, (100, 300, 500, 250, 250), recommendations=()),
    Case("TestStabilizeDownscale", 1, 5, 4, 4, 100, (50, 50, 50), requests=(0.1, 0.1, 0.1),
         recommendations=((10, 600), (4, 60)), conditions=expect(AbleToScale=(True, "ScaleDownStabilized"))),
    Case("TestScaleUpRCImmediately", 2, 6, 1, 2, 0, (0, 0, 0, 0), requests=(1.0,) * 4,
         conditions={"AbleToScale": (True, "SucceededRescale")}),
    Case("TestScaleDownRCImmediately", 2, 5, 6, 5, 50, (8000, 9500, 1000), requests=(0.9, 1.0, 1.1),
         conditions={"AbleToScale": (True, "SucceededRescale")}),
    Case("TestMissingReports", 1, 5, 4, 2, 50, (200,), requests=(0.2,), recommendations=()),
    Case("TestUpscaleCap", 1, 100, 3, 24, 10, (100, 200, 300), requests=(0.1, 0.1, 0.1),
         behavior=Behavior(rules(0, 0, 700, 60, 0), scale_down_rules()),
         conditions=expect(ScalingLimited=(True, "ScaleUpLimit"))),
    Case("TestUpscaleCapGreaterThanMaxReplicas", 1, 20, 3, 20, 10, (100, 200, 300), requests=(0.1, 0.1, 0.1),
         conditions=expect(ScalingLimited=(True, "TooManyReplicas"))),
    Case("TestZeroReplicas", 3, 5, 0, 0, 90, (), requests=(),
         conditions={"AbleToScale": (True, "SucceededGetScale"), "ScalingActive": (False, "ScalingDisabled")}),
    Case("TestNoBackoffUpscaleCM", 1, 5, 3, 4, 0, (20000, 10000, 30000), extra=(QPS,)),
    Case("TestNoBackoffUpscaleCMNoBackoffCpu", 1, 5, 3, 5, 10, (20000, 10000, 30000), extra=(QPS,),
         conditions=expect(ScalingLimited=(True, "TooManyReplicas"))),
    Case("TestNoScaleDownOneMetricEmpty", 2, 6, 5, 5, 50, (100, 300, 500, 250, 250), extra=(FAILING_EXTERNAL,),
         recommendations=(), conditions={"AbleToScale": (True, "SucceededGetScale"),
                                         "ScalingActive": (False, "FailedGetExternalMetric")}),
    Case("TestScaleUpOneMetricEmpty", 2, 6, 3, 4, 30, (300, 400, 500), extra=(FAILING_EXTERNAL,)),
    Case("TestConditionInvalidSourceType", 2, 6, 3, 3, 0, (20000,), extra=(CHEDDAR,),
         conditions={"AbleToScale": (True, "SucceededGetScale"), "ScalingActive": (False, "InvalidMetricSourceType")}),
    Case("TestConditionInvalidSourceType with a valid CPU metric beside it", 2, 6, 3, 5, 30, (300, 500, 700),
         extra=(CHEDDAR,)),
]


def _spec(case: Case) -> HPASpec:
    cpu = (MetricSpec(MetricKey(RESOURCE, "cpu"), MetricTarget(UTILIZATION, average_utilization=case.cpu_target)),)
    metrics = (cpu if case.cpu_target else ()) + case.extra
    return HPASpec("test-hpa", ObjectRef("ReplicationController", "test-rc", "v1"), case.max, case.min,
                   metrics=metrics or cpu, behavior=case.behavior)


def _observation(case: Case) -> HPAObservation:
    count = len(case.requests) if case.requests is not None else case.replicas
    requests = case.requests if case.requests is not None else (1.0,) * count
    pods = make_pods(count, metrics=("cpu", "qps"), levels=list(case.levels), requests=list(requests),
                     readiness=list(case.readiness), start=list(case.start), sample_time=NOW,
                     transition_at_start=True)
    failing = {EXTERNAL_QPS: MetricValues(error="something went wrong")}
    return HPAObservation(case.replicas, case.replicas, pods, failing)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_reconcile_matches_upstream(case: Case) -> None:
    history = None if case.recommendations is None else tuple(Recommendation(r, NOW - age)
                                                              for r, age in case.recommendations)
    decision, _ = reconcile(_spec(case), HPAState(recommendations=history), _observation(case), now=NOW,
                            settings=SETTINGS)
    assert decision.desired_replicas == case.expected
    assert decision.rescale == (case.expected != case.replicas)
    assert {c.type: (c.status, c.reason) for c in decision.conditions} == case.conditions


def test_some_metrics_invalid_still_scales_up_but_reports_the_error() -> None:
    case = next(c for c in CASES if c.id == "TestScaleUpOneMetricEmpty")
    decision, _ = reconcile(_spec(case), HPAState(), _observation(case), now=NOW, settings=SETTINGS)
    assert decision.rescale and "invalid metrics (1 invalid out of 2)" in decision.error


def _cpu_hpa(behavior: Behavior | None = None) -> HPASpec:
    metric = MetricSpec(MetricKey(RESOURCE, "cpu"), MetricTarget(UTILIZATION, average_utilization=50))
    return HPASpec("h", ObjectRef("Deployment", "d"), max_replicas=100, min_replicas=1, metrics=(metric,),
                   behavior=behavior)


def _cpu_load(replicas: int, level: int) -> HPAObservation:
    pods = make_pods(replicas, levels=[level] * replicas, requests=[1.0] * replicas)
    return HPAObservation(replicas, replicas, pods)


def test_first_sync_records_current_replicas_so_legacy_scale_down_waits_for_the_window() -> None:
    """recordInitialRecommendation: a fresh HPA keeps its current size for downscaleStabilizationWindow."""
    spec = _cpu_hpa()
    first, state = reconcile(spec, HPAState(), _cpu_load(6, 250), now=NOW)  # wants ceil(0.5·6) = 3
    assert (first.desired_replicas, first.rescale) == (6, False)
    later, _ = reconcile(spec, state, _cpu_load(6, 250), now=NOW + 301)
    assert (later.desired_replicas, later.rescale) == (3, True)


def test_default_behavior_rate_limits_across_syncs_with_stored_events() -> None:
    """Default scale-up policies (4 pods or 100 % per 15 s): 10 → 20, hold while the event is in the period."""
    spec = _cpu_hpa(Behavior(scale_up_rules(), scale_down_rules()))
    first, state = reconcile(spec, HPAState(), _cpu_load(10, 2500), now=NOW)  # wants 50
    assert first.desired_replicas == 20 and [e.replica_change for e in state.scale_up_events] == [10]
    held, state = reconcile(spec, state, _cpu_load(20, 2500), now=NOW + 10)
    assert (held.desired_replicas, held.rescale) == (20, False)
    assert held.condition("ScalingLimited").reason == "ScaleUpLimit"
    freed, state = reconcile(spec, state, _cpu_load(20, 2500), now=NOW + 15)  # the +10 event left the period
    assert freed.desired_replicas == 40


def test_legacy_path_stores_no_scale_events() -> None:
    """TestStoreScaleEvents (no behavior): nothing is recorded without spec.behavior."""
    _, state = reconcile(_cpu_hpa(), HPAState(), _cpu_load(2, 2000), now=NOW)
    assert state.scale_up_events == () and state.scale_down_events == ()


def test_scale_down_window_defaults_to_the_controller_flag() -> None:
    """behavior.scaleDown.stabilizationWindowSeconds unset → --horizontal-pod-autoscaler-downscale-stabilization."""
    spec = _cpu_hpa(Behavior(scale_up_rules(), scale_down_rules()))
    state = HPAState(recommendations=(Recommendation(8, NOW - 200),))
    short = replace(SETTINGS, downscale_stabilization_window=100.0)
    assert reconcile(spec, state, _cpu_load(8, 100), now=NOW, settings=SETTINGS)[0].desired_replicas == 8
    assert reconcile(spec, state, _cpu_load(8, 100), now=NOW, settings=short)[0].desired_replicas == 2


def test_per_hpa_scale_down_tolerance_from_behavior() -> None:
    """KEP-4951: behavior.scaleDown.tolerance 0.02 acts on a 6 % drop that the default 10 % band ignores."""
    lenient = _cpu_hpa(Behavior(scale_up_rules(), scale_down_rules(window=0)))
    strict = _cpu_hpa(Behavior(scale_up_rules(), scale_down_rules(window=0, tolerance=0.02)))
    load = _cpu_load(20, 470)  # 47 % of request against a 50 % target: ratio 0.94
    assert reconcile(lenient, HPAState(), load, now=NOW)[0].desired_replicas == 20
    assert reconcile(strict, HPAState(), load, now=NOW)[0].desired_replicas == 19
