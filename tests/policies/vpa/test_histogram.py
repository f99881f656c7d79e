"""Upstream's histogram tests, ported with their numbers: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1
`pkg/recommender/util/histogram_options_test.go`, `histogram_test.go` and `decaying_histogram_test.go`."""
from __future__ import annotations

import pytest

from twin.policies.vpa.histogram import DecayingHistogram, ExponentialBuckets, Histogram, LinearBuckets

WEIGHT_EPSILON = 1e-15
TEST_BUCKETS = LinearBuckets(10.0, 1.0, WEIGHT_EPSILON)  # testHistogramOptions
HOUR = 3600.0
START = 1234567890.0  # startTime


def test_linear_buckets():
    o = LinearBuckets(5.0, 0.3, 0.001)
    assert o.count == 18
    assert (o.start(0), o.start(17)) == (0.0, pytest.approx(5.1))
    assert [o.find(v) for v in (-1.0, 0.0, 1.3, 100.0)] == [0, 0, 4, 17]


def test_exponential_buckets():
    o = ExponentialBuckets(500.0, 40.0, 1.5, 0.001)
    assert o.count == 6
    assert [o.start(b) for b in range(6)] == [0.0, 40.0, 100.0, 190.0, 325.0, 527.5]
    assert [o.find(v) for v in (-1.0, 39.99, 40.0, 100.0, 900.0)] == [0, 0, 1, 2, 5]


def test_percentiles_of_an_empty_histogram_are_zero():
    h = Histogram(TEST_BUCKETS)
    assert [h.percentile(p) for p in (-0.5, 0.0, 0.5, 1.0, 1.5)] == [0.0] * 5


def _one_to_four(h, times=(0.0,) * 4):
    for i, time_s in zip(range(1, 5), times):
        if isinstance(h, DecayingHistogram):
            h.add(float(i), float(i), time_s)
        else:
            h.add(float(i), float(i))


EXPECTED = {0.0: 2, 0.1: 2, 0.2: 3, 0.3: 3, 0.4: 4, 0.5: 4, 0.6: 4, 0.7: 5, 0.8: 5, 0.9: 5, 1.0: 5}


def test_percentiles():
    h = Histogram(TEST_BUCKETS)
    _one_to_four(h)
    assert {p: h.percentile(p) for p in EXPECTED} == pytest.approx(EXPECTED, rel=1e-15)


def test_percentile_out_of_bounds():
    h = Histogram(LinearBuckets(1.0, 0.1, WEIGHT_EPSILON))
    h.add(0.1, 0.1)
    h.add(0.2, 0.2)
    assert (h.percentile(-0.1), h.percentile(1.1)) == pytest.approx((0.2, 0.3), rel=1e-15)
    h.add(0.0, 0.1)
    h.add(1.0, 0.2)
    assert (h.percentile(-0.1), h.percentile(1.1)) == pytest.approx((0.1, 1.0), rel=1e-15)


def test_empty_after_subtracting_below_epsilon():
    h = Histogram(LinearBuckets(1.0, 0.1, WEIGHT_EPSILON))
    assert h.empty
    h.add(0.1, WEIGHT_EPSILON * 2.5)
    assert not h.empty
    h.subtract(0.1, WEIGHT_EPSILON)
    assert not h.empty
    h.subtract(0.1, WEIGHT_EPSILON)
    assert h.empty


def test_non_empty_on_epsilon_addition():
    h = Histogram(LinearBuckets(1.0, 0.1, WEIGHT_EPSILON))
    h.add(9.9, WEIGHT_EPSILON * 3)
    h.add(0.1, WEIGHT_EPSILON * 0.3)
    assert not h.empty
    h.add(999.9, WEIGHT_EPSILON * 0.3)
    assert not h.empty


def test_merge():
    h1, h2, expected = (Histogram(TEST_BUCKETS) for _ in range(3))
    for h, values in ((h1, (1, 2)), (h2, (2, 3)), (expected, (1, 2, 2, 3))):
        for v in values:
            h.add(v, 1)
    h1.merge(h2)
    assert (h1.weights, h1.min_bucket, h1.max_bucket) == (expected.weights, expected.min_bucket, expected.max_bucket)


def test_simple_decay():
    h = DecayingHistogram(TEST_BUCKETS, HOUR)
    h.add(2, 1000, START)
    h.add(1, 1, START + 20 * HOUR)  # 2^20 x 0.001 > 1000 times the first
    assert h.percentile(0.999) == pytest.approx(2, rel=1e-15)
    assert h.percentile(1.0) == pytest.approx(3, rel=1e-15)


def test_long_term_decay_renormalises():
    h = DecayingHistogram(TEST_BUCKETS, HOUR)
    h.add(2, 1, START)
    h.add(1, 1, START + 101 * HOUR)  # past 2^maxDecayExponent
    assert h.percentile(1.0) == pytest.approx(2, rel=1e-15)


def test_decaying_histogram_percentiles():
    h = DecayingHistogram(TEST_BUCKETS, HOUR)
    _one_to_four(h, [START + i * HOUR for i in range(4)])
    expected = {0.0: 2, 0.02: 2, 0.03: 3, 0.10: 3, 0.11: 4, 0.34: 4, 0.35: 5, 1.0: 5}
    assert {p: h.percentile(p) for p in expected} == pytest.approx(expected, rel=1e-15)


def test_no_decay_at_one_time():
    h = DecayingHistogram(TEST_BUCKETS, HOUR)
    _one_to_four(h, [START] * 4)
    assert {p: h.percentile(p) for p in EXPECTED} == pytest.approx(EXPECTED, rel=1e-15)


def test_decaying_merge():
    h1, h2, expected = (DecayingHistogram(TEST_BUCKETS, HOUR) for _ in range(3))
    h1.add(1, 1, START)
    h1.add(2, 1, START + HOUR)
    h2.add(2, 1, START + 2 * HOUR)
    h2.add(3, 1, START + HOUR)
    for value, hours in ((2, 2), (2, 1), (3, 1), (1, 0)):
        expected.add(value, 1, START + hours * HOUR)
    h1.merge(h2)
    assert h1.reference_s == expected.reference_s
    assert h1.histogram.weights == pytest.approx(expected.histogram.weights, abs=1e-15)
