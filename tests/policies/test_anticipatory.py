"""The anticipatory policy: placeholder pods for the forecast replica count plus a fixed headroom."""
from __future__ import annotations

import pytest

from twin.policies.anticipatory import Anticipation, View, forecast, reconcile

# A100 nodes of the scenarios: 180 s to register + 90 s until the GPU is allocatable.
SPEC = Anticipation("a100", lead_time_s=270.0, min_headroom_pods=2, window_s=60.0)


@pytest.mark.parametrize("history, desired, expected", [
    ((), 6, 6),  # no history: the target itself
    (((0, 2), (60, 8)), 8, 35),  # +6 in 60 s = 0.1 pod/s, carried 270 s: 8 + 27
    (((0, 8), (60, 4)), 4, 4),  # shrinking: never below the target
    (((0, 2), (30, 2), (60, 2)), 2, 2),
    (((-120, 2), (0, 2), (60, 8)), 8, 35),  # samples older than the window are ignored
    (((0, 2), (60, 8)), 40, 40),  # the autoscaler already heads higher than the trend
])
def test_forecast_is_the_target_or_the_trend_over_the_lead_time(history, desired, expected):
    assert forecast(SPEC, View(desired, history), now=60.0) == expected


@pytest.mark.parametrize("history, desired, placeholders", [
    ((), 2, 2),  # steady: the fixed headroom
    ((), 0, 2),  # even at zero replicas
    (((0, 2), (60, 8)), 8, 29),  # the trend wants 35 + 2 slots, 8 are serving pods
    (((0, 8), (60, 4)), 4, 2),  # shrinking: back to the headroom, the Cluster Autoscaler removes the nodes
])
def test_placeholders_fill_the_gap_between_the_forecast_plus_headroom_and_the_desired_replicas(
        history, desired, placeholders):
    decision = reconcile(SPEC, View(desired, history), now=60.0)
    assert decision.placeholders == placeholders
    assert decision.forecast_replicas + SPEC.min_headroom_pods == desired + placeholders


def test_without_headroom_and_trend_there_are_no_placeholders():
    spec = Anticipation("a100", lead_time_s=270.0)
    assert reconcile(spec, View(5, ((0, 5), (60, 5))), now=60.0).placeholders == 0
