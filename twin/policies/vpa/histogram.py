"""The VPA recommender's histograms: bucketed weights, and the decaying variant that halves old samples' weight.

Fidelity ledger — upstream: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1, `pkg/recommender/util/
histogram_options.go` (linear and exponential buckets: bucket n >= 1 starts at first * (ratio^n - 1) / (ratio - 1);
values past the range fall in the end buckets), `histogram.go` (a percentile is the end of the bucket where the
cumulative weight reaches it, the start of the last bucket when it is that one; a bucket lighter than epsilon is
empty; 0 when the histogram is empty), `decaying_histogram.go` (a sample weighs 2^((t - reference) / half-life); the
reference moves forward in whole half-lives, rescaling every weight, once the exponent would pass 100).
Not modelled: checkpoints (VerticalPodAutoscalerCheckpoint): a twin run starts with an empty history.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

MAX_DECAY_EXPONENT = 100


@dataclass(frozen=True)
class LinearBuckets:
    max_value: float
    bucket_size: float
    epsilon: float

    @property
    def count(self) -> int:
        return math.ceil(self.max_value / self.bucket_size) + 1

    def find(self, value: float) -> int:
        return min(max(int(value / self.bucket_size), 0), self.count - 1)

    def start(self, bucket: int) -> float:
        return bucket * self.bucket_size


@dataclass(frozen=True)
class ExponentialBuckets:
    max_value: float
    first_bucket_size: float
    ratio: float
    epsilon: float

    @property
    def count(self) -> int:
        return math.ceil(_log(self.ratio, self.max_value * (self.ratio - 1) / self.first_bucket_size + 1)) + 1

    def find(self, value: float) -> int:
        if value < self.first_bucket_size:
            return 0
        bucket = int(_log(self.ratio, value * (self.ratio - 1) / self.first_bucket_size + 1))
        return min(bucket, self.count - 1)

    def start(self, bucket: int) -> float:
        if bucket == 0:
            return 0.0
        return self.first_bucket_size * (math.pow(self.ratio, bucket) - 1) / (self.ratio - 1)


Buckets = LinearBuckets | ExponentialBuckets


def _log(base: float, x: float) -> float:
    return math.log(x) / math.log(base)


class Histogram:
    """Weights per bucket, with the first and last bucket holding at least epsilon."""

    def __init__(self, buckets: Buckets) -> None:
        self.buckets = buckets
        self._count = buckets.count
        self.weights = [0.0] * self._count
        self.total = 0.0
        self.min_bucket = self._count - 1
        self.max_bucket = 0

    def add(self, value: float, weight: float) -> None:
        bucket = self.buckets.find(value)
        self.weights[bucket] += weight
        self.total += weight
        if self.weights[bucket] >= self.buckets.epsilon:
            self.min_bucket = min(self.min_bucket, bucket)
            self.max_bucket = max(self.max_bucket, bucket)

    def subtract(self, value: float, weight: float) -> None:
        bucket = self.buckets.find(value)
        if weight > self.weights[bucket] - self.buckets.epsilon:
            weight = self.weights[bucket]  # never below zero: a bucket within epsilon of the weight empties
        self.total -= weight
        self.weights[bucket] -= weight
        self._trim()

    def merge(self, other: "Histogram") -> None:
        for bucket in range(other.min_bucket, other.max_bucket + 1):
            self.weights[bucket] += other.weights[bucket]
        self.total += other.total
        self.min_bucket = min(self.min_bucket, other.min_bucket)
        self.max_bucket = max(self.max_bucket, other.max_bucket)

    def scale(self, factor: float) -> None:
        for bucket in range(self.min_bucket, self.max_bucket + 1):
            self.weights[bucket] *= factor
        self.total *= factor
        self._trim()

    @property
    def empty(self) -> bool:
        return self.weights[self.min_bucket] < self.buckets.epsilon

    def percentile(self, percentile: float) -> float:
        if self.empty:
            return 0.0
        threshold = percentile * self.total
        partial, bucket = 0.0, self.min_bucket
        while bucket < self.max_bucket:
            partial += self.weights[bucket]
            if partial >= threshold:
                break
            bucket += 1
        if bucket < self._count - 1:
            return self.buckets.start(bucket + 1)  # the end of the bucket
        return self.buckets.start(bucket)  # the last bucket has no end

    def _trim(self) -> None:
        epsilon = self.buckets.epsilon
        while self.weights[self.min_bucket] < epsilon and self.min_bucket < self._count - 1:
            self.min_bucket += 1
        while self.weights[self.max_bucket] < epsilon and self.max_bucket > 0:
            self.max_bucket -= 1


class DecayingHistogram:
    """A histogram whose samples lose half their weight every `half_life_s`."""

    def __init__(self, buckets: Buckets, half_life_s: float) -> None:
        self.histogram = Histogram(buckets)
        self.half_life_s = half_life_s
        self.reference_s = 0.0  # always a whole number of half-lives

    def add(self, value: float, weight: float, time_s: float) -> None:
        self.histogram.add(value, weight * self._decay(time_s))

    def subtract(self, value: float, weight: float, time_s: float) -> None:
        self.histogram.subtract(value, weight * self._decay(time_s))

    def merge(self, other: "DecayingHistogram") -> None:
        if self.reference_s < other.reference_s:
            self._shift(other.reference_s)
        elif other.reference_s < self.reference_s:
            other._shift(self.reference_s)
        self.histogram.merge(other.histogram)

    def percentile(self, percentile: float) -> float:
        return self.histogram.percentile(percentile)

    @property
    def empty(self) -> bool:
        return self.histogram.empty

    def _decay(self, time_s: float) -> float:
        if time_s > self.reference_s + self.half_life_s * MAX_DECAY_EXPONENT:
            self._shift(time_s)
        return math.exp2((time_s - self.reference_s) / self.half_life_s)

    def _shift(self, reference_s: float) -> None:
        reference_s = _round(reference_s / self.half_life_s) * self.half_life_s
        self.histogram.scale(math.ldexp(1.0, _round((self.reference_s - reference_s) / self.half_life_s)))
        self.reference_s = reference_s


def _round(x: float) -> int:
    """Go's `int(math.Floor(x + 0.5))` (halves away from zero upwards, not to even)."""
    return math.floor(x + 0.5)
