"""Normalisation cases ported from kubernetes/kubernetes pkg/controller/podautoscaler/horizontal_test.go:
TestScalingWithRules, TestStoreScaleEvents, TestNormalizeDesiredReplicasWithBehavior, TestNormalizeDesiredReplicas,
TestConvertDesiredReplicasWithRules, TestCalculateScaleUpLimitWithScalingRules,
TestCalculateScaleDownLimitWithBehaviors. Times are seconds before NOW.
"""
from __future__ import annotations

import pytest

from twin.policies.hpa.behavior import (
    HPAState, Recommendation, ScaleEvent, convert_with_behavior_rate, convert_with_rules, replicas_change,
    scale_down_limit, scale_up_limit, stabilize_legacy, stabilize_with_behavior, store_scale_event,
)
from twin.policies.hpa.spec import (
    MIN_POLICY, PERCENT_POLICY, PODS_POLICY, ScalingPolicy, ScalingRules, scale_down_rules, scale_up_rules,
)
from tests.policies._hpa_fixtures import NOW, rules


def uniform(changes: list[int], period: int) -> tuple[ScaleEvent, ...]:
    """generateEventsUniformDistribution: event i at the centre of segment i, in whole seconds (Go truncation)."""
    segment = period / len(changes)
    return tuple(ScaleEvent(change, NOW - int(period - segment * (i + 1) + segment / 2))
                 for i, change in enumerate(changes))


# TestScalingWithRules: (name, up events, down events, min, max, up rules, down rules, current, desired,
#                        expected replicas, expected ScalingLimited reason). None rules → API defaults.
SCALING = [
    ("prenormalized desired replicas within range", (), (), 3, 8, None, None, 5, 7, 7, "DesiredWithinRange"),
    ("prenormalized desired replicas < minReplicas", (), (), 2, 8, None, None, 3, 1, 2, "TooFewReplicas"),
    ("prenormalized desired replicas within range when minReplicas is 0", (), (), 0, 10, None, None, 1, 0, 0,
     "DesiredWithinRange"),
    ("maxReplicas is the limit because maxReplicas < scaleUpLimit", (), (), 1, 10, None, None, 20, 1000, 10,
     "TooManyReplicas"),
    ("desired replica count is more than the maximum replica count", (), (), 100, 150, None, None, 100, 1000, 150,
     "TooManyReplicas"),
    ("scaleUpLimit is the limit because scaleUpLimit < maxReplicas with user policies", (), (), 1, 2000,
     rules(0, 0, 1, 60, 0), None, 3, 1000, 4, "ScaleUpLimit"),
    ("scaleDownLimit is the limit because scaleDownLimit > minReplicas with user defined policies", (), (), 3, 2000,
     None, rules(20, 60, 0, 0, 0), 1000, 3, 980, "ScaleDownLimit"),
    ("scaleUp with default behavior", (), (), 1, 1000, None, None, 10, 50, 20, "ScaleUpLimit"),
    ("scaleUp with pods policy larger than percent policy", (), (), 1, 1000, rules(100, 60, 100, 60, 0), None,
     10, 500, 110, "ScaleUpLimit"),
    ("scaleUp with percent policy larger than pods policy", (), (), 1, 1000, rules(2, 60, 100, 60, 0), None,
     10, 500, 20, "ScaleUpLimit"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy", (), (), 1, 1000, rules(100, 60, 0, 0, 0),
     None, 10, 50, 50, "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large percent policy", (), (), 1, 1000,
     rules(10000, 60, 0, 0, 0), None, 10, 50, 50, "DesiredWithinRange"),
    ("scaleUp with pod policy limitation", (), (), 1, 1000, rules(30, 60, 0, 0, 0), None, 10, 50, 40,
     "ScaleUpLimit"),
    ("scaleUp with percent policy limitation", (), (), 1, 1000, rules(0, 0, 200, 60, 0), None, 10, 50, 30,
     "ScaleUpLimit"),
    ("scaleDown with percent policy larger than pod policy", (), (), 1, 1000, None, rules(20, 60, 1, 60, 300),
     100, 2, 80, "ScaleDownLimit"),
    ("scaleDown with pod policy larger than percent policy", (), (), 1, 1000, None, rules(2, 60, 1, 60, 300),
     100, 2, 98, "ScaleDownLimit"),
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy", (), (), 1, 1000, None,
     rules(100, 60, 0, 0, 300), 10, 0, 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy", (), (), 5, 1000, None,
     rules(0, 0, 100, 60, 300), 10, 2, 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation", (), (), 1, 1000, None, rules(5, 60, 0, 0, 300), 10, 2, 5,
     "ScaleDownLimit"),
    ("scaleDown with percent policy limitation", (), (), 1, 1000, None, rules(0, 0, 50, 60, 300), 10, 5, 5,
     "DesiredWithinRange"),
    ("scaleUp with spec MaxReplicas limitation with large pod policy and events", uniform([1, 5, 9], 120), (), 1,
     200, rules(300, 60, 0, 0, 0), None, 100, 500, 200, "TooManyReplicas"),
    ("scaleUp with spec MaxReplicas limitation with large percent policy and events", uniform([1, 5, 9], 120), (),
     1, 200, rules(0, 0, 10000, 60, 0), None, 100, 500, 200, "TooManyReplicas"),
    ("scaleUp with currentReplicas limitation with rate.PeriodSeconds with a lot of recent scale up events",
     uniform([1, 5, 9], 120), (), 1, 1000, rules(5, 120, 0, 0, 0), None, 100, 500, 100, "ScaleUpLimit"),
    ("scaleUp with pod policy and previous scale up events", uniform([1, 5, 9], 120), (), 1, 1000,
     rules(150, 120, 0, 0, 0), None, 100, 500, 235, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up events", uniform([1, 5, 9], 120), (), 1, 1000,
     rules(0, 0, 200, 120, 0), None, 100, 500, 255, "ScaleUpLimit"),
    ("scaleUp with percent policy and previous scale up and down events", uniform([4], 120), uniform([2], 120), 1,
     1000, rules(0, 0, 300, 300, 0), None, 6, 24, 16, "ScaleUpLimit"),
    ("scaleDown with default policy and previous events", (), uniform([1, 5, 9], 120), 1, 1000, None, None,
     10, 5, 5, "DesiredWithinRange"),
    ("scaleDown with spec MinReplicas=nil limitation with large pod policy and previous events", (),
     uniform([1, 5, 9], 120), 1, 1000, None, rules(115, 120, 0, 0, 300), 100, 0, 1, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large pod policy and previous events", (),
     uniform([1, 5, 9], 120), 5, 1000, None, rules(130, 120, 0, 0, 300), 100, 0, 5, "TooFewReplicas"),
    ("scaleDown with spec MinReplicas limitation with large percent policy and previous events", (),
     uniform([1, 5, 9], 120), 5, 1000, None, rules(0, 0, 100, 120, 300), 100, 2, 5, "TooFewReplicas"),
    ("scaleDown with pod policy limitation and previous events", (), uniform([1, 5, 9], 120), 1, 1000, None,
     rules(5, 120, 0, 0, 300), 100, 2, 100, "ScaleDownLimit"),
    ("scaleDown with percent policy limitation and previous events", (), uniform([2, 4, 6], 120), 1, 1000, None,
     rules(0, 0, 50, 120, 300), 100, 0, 56, "ScaleDownLimit"),
    ("scaleDown with percent policy and previous scale up and down events", uniform([2], 120), uniform([4], 120),
     1, 1000, None, rules(0, 0, 50, 180, 0), 10, 1, 6, "ScaleDownLimit"),
    ("scaleDown with previous events preventing further scale down", (), uniform([10, 10, 10], 120), 1, 1000,
     None, rules(0, 0, 10, 120, 300), 100, 0, 100, "ScaleDownLimit"),
    ("scaleDown with with previous events still allowing more scale down", (), uniform([10, 10, 10], 120), 1,
     1000, None, rules(0, 0, 1000, 120, 300), 10, 5, 5, "DesiredWithinRange"),
    ("check 'outdated' flag for events for one behavior for up", uniform([8, 12, 9, 11], 120), (), 1, 1000,
     rules(1000, 60, 0, 0, 0), None, 100, 200, 200, "DesiredWithinRange"),
    ("check that events were not marked 'outdated' for two different policies in the behavior for up",
     uniform([8, 12, 9, 11], 120), (), 1, 1000, rules(1000, 120, 100, 60, 0), None, 100, 200, 200,
     "DesiredWithinRange"),
    ("check that events were marked 'outdated' for two different policies in the behavior for up",
     uniform([8, 12, 9, 11], 120), (), 1, 1000, rules(1000, 30, 100, 60, 0), None, 100, 200, 200,
     "DesiredWithinRange"),
    ("check 'outdated' flag for events for one behavior for down", (), uniform([8, 12, 9, 11], 120), 1, 1000,
     None, rules(1000, 60, 0, 0, 300), 100, 5, 5, "DesiredWithinRange"),
    ("check that events were not marked 'outdated' for two different policies in the behavior for down", (),
     uniform([8, 12, 9, 11], 120), 1, 1000, None, rules(1000, 120, 100, 60, 300), 100, 5, 5, "DesiredWithinRange"),
    ("check that events were marked 'outdated' for two different policies in the behavior for down", (),
     uniform([8, 12, 9, 11], 120), 1, 1000, None, rules(1000, 30, 100, 60, 300), 100, 5, 5, "DesiredWithinRange"),
]


@pytest.mark.parametrize("name,up,down,lo,hi,up_rules,down_rules,current,desired,expected,reason", SCALING,
                         ids=[f"TestScalingWithRules/{c[0]}" for c in SCALING])
def test_scaling_with_rules(name, up, down, lo, hi, up_rules, down_rules, current, desired, expected, reason):
    state = HPAState(recommendations=(), scale_up_events=up, scale_down_events=down)
    up_rules = up_rules or scale_up_rules()
    down_rules = down_rules or scale_down_rules()
    got = convert_with_behavior_rate(state, current=current, desired=desired, min_replicas=lo, max_replicas=hi,
                                     up_rules=up_rules, down_rules=down_rules, now=NOW)
    assert got == (expected, reason)


# TestStoreScaleEvents (cases with a behavior): (name, previous events as (change, age s), rules,
#   change within the last 60 s before storing, stored events afterwards as (change, outdated)).
STORE = [
    ("empty entries with two-policy-behavior", [], rules(10, 60, 100, 60, 0), 0, [(5, False)]),
    ("one outdated entry to be replaced with behavior", [(7, 61)], rules(10, 60, 100, 60, 0), 0, [(5, False)]),
    ("one actual entry to be not touched with behavior", [(7, 58)], rules(10, 60, 100, 60, 0), 7,
     [(7, False), (5, False)]),
    ("two entries, one of them to be replaced", [(7, 61), (6, 59)], rules(10, 60, 0, 0, 0), 6,
     [(5, False), (6, False)]),
    ("replace one entry, use policies with different periods", [(8, 29), (6, 59), (7, 61), (9, 61)],
     rules(10, 60, 100, 30, 0), 14, [(8, False), (6, False), (7, True), (5, False)]),
    ("two entries, both actual", [(7, 58), (6, 59)], rules(10, 120, 100, 30, 0), 13,
     [(7, False), (6, False), (5, False)]),
]


@pytest.mark.parametrize("name,previous,scaling_rules,recent_change,stored", STORE,
                         ids=[f"TestStoreScaleEvents/{c[0]}" for c in STORE])
def test_store_scale_events(name, previous, scaling_rules, recent_change, stored):
    events = tuple(ScaleEvent(change, NOW - age) for change, age in previous)
    assert replicas_change(60, events, now=NOW) == recent_change
    after = store_scale_event(events, scaling_rules, change=5, now=NOW)
    assert [(e.replica_change, e.outdated) for e in after] == stored
    assert after[[e.replica_change for e in after].index(5)].timestamp == NOW


# TestNormalizeDesiredReplicasWithBehavior: (name, recommendations as (replicas, age s), current, desired,
#   expected, stored replicas afterwards or None, up window, down window).
STABILIZE = [
    ("empty recommendations for scaling down", [], 100, 5, 5, [5], 0, 0),
    ("simple scale down stabilization", [(4, 120), (5, 60)], 100, 3, 5, [4, 5, 3], 0, 180),
    ("simple scale up stabilization", [(4, 120), (5, 60)], 1, 7, 4, [4, 5, 7], 300, 0),
    ("no scale down stabilization", [(1, 120), (2, 60)], 100, 3, 3, [1, 2, 3], 300, 0),
    ("no scale up stabilization", [(4, 120), (5, 60)], 1, 3, 3, [4, 5, 3], 0, 300),
    ("no scale down stabilization, reuse recommendation element", [(10, 600), (9, 540)], 100, 3, 3, [10, 3], 0, 0),
    ("no scale up stabilization, reuse recommendation element", [(10, 600), (9, 540)], 1, 100, 100, [10, 100], 0, 0),
    ("scale down stabilization, reuse one of obsolete recommendation element",
     [(10, 600), (4, 60), (5, 120), (9, 540)], 100, 3, 5, [10, 4, 5, 3], 0, 180),
    ("scale up stabilization, reuse one of obsolete recommendation element",
     [(10, 6000), (6, 60), (5, 120), (9, 180)], 1, 100, 5, [100, 6, 5, 9], 300, 0),
    ("scale up and down stabilization, do not scale up when prenormalized rec goes down", [(2, 6000), (3, 180)],
     2, 1, 2, None, 300, 300),
    ("scale up and down stabilization, do not scale down when prenormalized rec goes up", [(2, 6000), (1, 180)],
     2, 3, 2, None, 300, 300),
]


@pytest.mark.parametrize("name,recs,current,desired,expected,stored,up_window,down_window", STABILIZE,
                         ids=[f"TestNormalizeDesiredReplicasWithBehavior/{c[0]}" for c in STABILIZE])
def test_stabilize_with_behavior(name, recs, current, desired, expected, stored, up_window, down_window):
    history = tuple(Recommendation(replicas, NOW - age) for replicas, age in recs)
    got, _, after = stabilize_with_behavior(history, current=current, desired=desired, up_window=up_window,
                                            down_window=down_window, now=NOW)
    assert got == expected
    if stored is not None:
        assert [rec.replicas for rec in after] == stored


# TestNormalizeDesiredReplicas (legacy, 5-minute window): (name, recommendations, desired, expected, log length).
LEGACY = [
    ("empty log", [], 5, 5, 1),
    ("stabilize", [(4, 120), (5, 60)], 3, 5, 3),
    ("no stabilize", [(1, 120), (2, 60)], 3, 3, 3),
    ("no stabilize - old recommendations", [(10, 600), (9, 540)], 3, 3, 2),
    ("stabilize - old recommendations", [(10, 600), (4, 60), (5, 120), (9, 540)], 3, 5, 4),
]


@pytest.mark.parametrize("name,recs,desired,expected,length", LEGACY,
                         ids=[f"TestNormalizeDesiredReplicas/{c[0]}" for c in LEGACY])
def test_stabilize_legacy(name, recs, desired, expected, length):
    history = tuple(Recommendation(replicas, NOW - age) for replicas, age in recs)
    got, after = stabilize_legacy(history, desired, now=NOW, window=300)
    assert (got, len(after)) == (expected, length)
    assert Recommendation(desired, NOW) in after


# TestConvertDesiredReplicasWithRules (factor 2, minimum 4 as in production):
#   (annotation, current, desired, min, max, expected, reason).
CONVERT = [
    ("prenormalized desired replicas within range", 5, 7, 3, 8, 7, "DesiredWithinRange"),
    ("prenormalized desired replicas < minReplicas", 3, 1, 2, 8, 2, "TooFewReplicas"),
    ("prenormalized desired zeroed replicas within range", 1, 0, 0, 10, 0, "DesiredWithinRange"),
    ("maxReplicas is the limit because maxReplicas < scaleUpLimit", 20, 1000, 1, 10, 10, "TooManyReplicas"),
    ("scaleUpLimit is the limit because scaleUpLimit < maxReplicas", 3, 1000, 1, 2000, 6, "ScaleUpLimit"),
]


@pytest.mark.parametrize("name,current,desired,lo,hi,expected,reason", CONVERT,
                         ids=[f"TestConvertDesiredReplicasWithRules/{c[0]}" for c in CONVERT])
def test_convert_with_rules(name, current, desired, lo, hi, expected, reason):
    assert convert_with_rules(current, desired, min_replicas=lo, max_replicas=hi) == (expected, reason)


def test_legacy_scale_up_limit_minimum_is_four_replicas() -> None:
    assert convert_with_rules(1, 100, min_replicas=1, max_replicas=100) == (4, "ScaleUpLimit")


def test_min_select_policy_limits() -> None:
    """TestCalculateScaleUpLimitWithScalingRules / TestCalculateScaleDownLimitWithBehaviors (Min picks the least
    change): Pods 2/60 s and Percent 50/60 s from 1 replica up → 2, from 5 replicas down → 3."""
    policies = (ScalingPolicy(PODS_POLICY, 2, 60), ScalingPolicy(PERCENT_POLICY, 50, 60))
    min_rules = ScalingRules(300, MIN_POLICY, policies)
    assert scale_up_limit(1, min_rules, up=(), down=(), now=NOW) == 2
    assert scale_down_limit(5, min_rules, up=(), down=(), now=NOW) == 3


def test_disabled_select_policy_holds_current() -> None:
    disabled = scale_up_rules(select="Disabled")
    state = HPAState(recommendations=())
    assert convert_with_behavior_rate(state, current=4, desired=9, min_replicas=1, max_replicas=10,
                                      up_rules=disabled, down_rules=scale_down_rules(), now=NOW) == (4, "ScaleUpLimit")


def test_percent_scale_down_limit_truncates_like_go_int32() -> None:
    """int32(5 · (1 − 50/100)) = 2, not 3: a Percent policy may remove more than its share when rounding."""
    half = ScalingRules(None, "Max", (ScalingPolicy(PERCENT_POLICY, 50, 60),))
    assert scale_down_limit(5, half, up=(), down=(), now=NOW) == 2
