"""Upstream's estimator and recommender tests, ported with their numbers: kubernetes/autoscaler
vertical-pod-autoscaler v1.7.1 `pkg/recommender/logic/estimator_test.go` and `recommender_test.go`."""
from __future__ import annotations

import pytest

from twin.policies.vpa.aggregate import MAX_AMOUNT, AggregateState, amount, millicores
from twin.policies.vpa.estimator import (
    CPU, MEMORY, RecommenderConfig, confidence, estimate, percentile, pod_minimum, with_confidence, with_margin,
)

DAY = 86400.0


def _with_cpu_samples(count: int = 9, step_s: float = 120.0) -> AggregateState:
    state = AggregateState()
    for i in range(count):
        state.add_cpu(millicores(1.0), i * step_s)
    return state


def test_percentile_estimator():
    state = AggregateState()
    for cores, memory in ((1.0, 1e9), (2.0, 2e9), (3.0, 3e9)):
        state.cpu.histogram.add(cores, 1.0)
        state.memory_peaks.histogram.add(memory, 1.0)
    assert percentile(state, CPU, 0.2) / 1000 == pytest.approx(1.0, rel=0.05)  # histogram rounding: 5 %
    assert percentile(state, MEMORY, 0.5) == pytest.approx(2e9, rel=0.05)


def test_confidence_multiplier_without_history_is_unbounded_or_zero():
    state = AggregateState()
    assert with_confidence(millicores(3.14), state, 1.0, 1.0, DAY) == MAX_AMOUNT
    assert with_confidence(millicores(3.14), state, 1.0, -1.0, DAY) == 0
    assert with_confidence(millicores(3.14), state, 0.1, 2.0, DAY) == MAX_AMOUNT


def test_confidence_multiplier():
    state = _with_cpu_samples()
    assert confidence(state, DAY) == 0.00625  # 9 / (60 x 24)
    assert with_confidence(millicores(3.14), state, 0.1, 2.0, DAY) / 1000 == 907.46  # 3.14 x (1 + 0.1/0.00625)^2
    assert with_confidence(amount(3.14e9), state, 0.1, 2.0, DAY) == 9.0746e11


def test_confidence_multiplier_with_custom_interval():
    state = _with_cpu_samples()
    assert confidence(state, 18 * 60.0) == 0.5  # 9 / 18
    assert with_confidence(millicores(3.14), state, 0.1, 2.0, 18 * 60.0) / 1000 == 4.521  # 4.5216, truncated
    assert with_confidence(amount(3.14e9), state, 0.1, 2.0, 18 * 60.0) == 4.5216e9


def test_margin():
    assert with_margin(millicores(3.14), 0.1) / 1000 == 3.454  # Go's constant 3.14*1.1 is exact
    assert with_margin(amount(3.14e9), 0.1) == 3.454e9


def test_min_resources_applied():
    minimum = pod_minimum(RecommenderConfig(), containers=1)
    assert minimum == {CPU: millicores(25 / 1000), MEMORY: amount(250 * 1024 * 1024)}
    bounds = estimate(AggregateState(), RecommenderConfig())  # no usage: every estimate is below the minimum
    assert bounds.target == minimum and bounds.lower == minimum


def test_min_resources_split_across_containers():
    assert pod_minimum(RecommenderConfig(), containers=2) == {CPU: millicores(25 / 1000 / 2),
                                                              MEMORY: amount(250 * 1024 * 1024 / 2)}


def test_controlled_resources_filtered():
    bounds = estimate(_with_cpu_samples(), RecommenderConfig(), controlled=(MEMORY,))
    assert all(set(b) == {MEMORY} for b in (bounds.target, bounds.lower, bounds.upper))
    both = estimate(_with_cpu_samples(), RecommenderConfig())
    assert all(set(b) == {CPU, MEMORY} for b in (both.target, both.lower, both.upper))


def test_default_pipeline_target_is_p90_plus_15_percent():
    state = _with_cpu_samples(count=1440 * 2, step_s=60.0)  # two days of 1-core samples: confidence 2
    bounds = estimate(state, RecommenderConfig())
    bucket_end = state.cpu.percentile(0.9)
    assert bounds.target[CPU] == millicores(bucket_end) + int(millicores(bucket_end) * 0.15)
    assert 1000 <= bucket_end * 1000 <= 1050  # the end of the 5 % bucket holding 1 core
    assert bounds.upper[CPU] == int(bounds.target[CPU] * 1.5)  # p95 in the same bucket, x (1 + 1/2)
    assert bounds.lower[CPU] == int(bounds.target[CPU] * (1 + 0.001 / 2) ** -2)
