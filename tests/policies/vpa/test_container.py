"""Upstream's container-state tests, ported with their numbers: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1
`pkg/recommender/model/container_test.go`. Upstream watches a mock histogram's AddSample/SubtractSample calls; here
the real decaying histogram shows the same thing: one peak of weight 1 (decayed at the interval's end) per window."""
from __future__ import annotations

import math

import pytest

from twin.policies.vpa.aggregate import AggregateState, AggregationConfig, ContainerState

MB = 1024 * 1024
T0 = 1492536905.0  # 2017-04-18 17:35:05
DAY = 86400.0


def _container(**config) -> ContainerState:
    return ContainerState(AggregateState(AggregationConfig(**config)))


def _peaks(c: ContainerState) -> dict[float, float]:
    """The memory histogram as {bucket start: weight relative to a sample at `end`}."""
    h = c.aggregate.memory_peaks
    buckets = h.histogram.buckets
    scale = math.exp2((c.window_end_s - h.reference_s) / h.half_life_s)
    return {buckets.start(b): w / scale for b, w in enumerate(h.histogram.weights) if w > 1e-9}


def _bucket(value: float) -> float:
    buckets = AggregationConfig().memory_buckets()
    return buckets.start(buckets.find(value))


def test_samples_aggregate_per_window_and_bad_ones_are_refused():
    c = _container()
    step = DAY / 2
    assert c.add_cpu(T0, 3140) and c.add_memory(T0, 5)
    assert c.add_cpu(T0 + step, 6280) and c.add_memory(T0 + step, 10)  # same window: 5 out, 10 in
    assert c.window_end_s == T0 + DAY and c.memory_peak == 10
    assert c.add_cpu(T0 + 2 * step, 1570) and c.add_memory(T0 + 2 * step, 2)  # next window
    assert c.window_end_s == T0 + 2 * DAY and c.memory_peak == 2
    assert not c.add_cpu(T0 + 2 * step, 1000)  # out of order
    assert not c.add_cpu(T0 + 4 * step, -1000)
    assert not c.add_memory(T0 + 4 * step, -1000)
    assert c.aggregate.total_samples == 3
    assert sum(_peaks(c).values()) == pytest.approx(1 + 0.5)  # the first window's peak, a half-life older


def test_oom_bumped_by_ratio():
    c = _container()
    assert c.record_oom(T0, 1000 * MB)
    assert c.oom_peak == 1200 * MB and c.window_end_s == T0 + DAY
    assert _peaks(c) == pytest.approx({_bucket(1200 * MB): 1.0})


def test_oom_does_not_run_away():
    c = _container()
    c.record_oom(T0, 1000 * MB)
    assert c.record_oom(T0, 999 * MB) and c.record_oom(T0, 999 * MB)
    assert c.oom_peak == 1200 * MB  # smaller OOMs leave the peak
    c.record_oom(T0, 2000 * MB)
    assert c.oom_peak == 2400 * MB
    assert _peaks(c) == pytest.approx({_bucket(2400 * MB): 1.0})


def test_oom_bumped_by_at_least_100_mib():
    c = _container()
    c.record_oom(T0, 1 * MB)
    assert c.oom_peak == 101 * MB


def test_oom_starts_from_a_known_higher_peak():
    c = _container()
    assert c.add_memory(T0, 3000 * MB)
    c.record_oom(T0, 1000 * MB)
    assert c.oom_peak == 3600 * MB
    assert _peaks(c) == pytest.approx({_bucket(3600 * MB): 1.0})


def test_old_oom_is_discarded():
    c = _container()
    c.add_memory(T0, 1000 * MB)
    assert not c.record_oom(T0 - 30 * 3600, 1000 * MB)
    assert c.oom_peak == 0


def test_oom_in_a_new_window():
    c = _container()
    c.add_memory(T0, 2000 * MB)
    assert c.record_oom(T0 + 2 * DAY, 1000 * MB)
    assert c.window_end_s == T0 + 3 * DAY and c.oom_peak == 2400 * MB


def test_custom_interval_windows():
    c = _container(memory_aggregation_interval_s=3600.0)
    c.add_memory(T0, 5)
    assert c.window_end_s == T0 + 3600
    c.add_memory(T0 + 2 * 3600, 10)
    assert c.window_end_s == T0 + 3 * 3600
    within = _container(memory_aggregation_interval_s=3600.0)
    within.add_memory(T0, 5)
    within.add_memory(T0 + 1800, 10)
    assert within.window_end_s == T0 + 3600 and within.memory_peak == 10


def test_custom_interval_discards_older_oom():
    c = _container(memory_aggregation_interval_s=3600.0)
    c.add_memory(T0, 1000 * MB)
    assert not c.record_oom(T0 - 2 * 3600, 1000 * MB)
