"""A streaming quantile sketch with bounded memory: log-spaced buckets, 1 % relative accuracy.

Latency quantiles over millions of requests without keeping them (the idea of DDSketch, Masson et al. 2019).
Values are seconds; the range 1 µs .. 1e5 s covers every latency the twin produces.
"""
from __future__ import annotations

import math
from bisect import bisect_left
from itertools import accumulate

_ALPHA = 0.01
_GAMMA = (1 + _ALPHA) / (1 - _ALPHA)
_LOG_GAMMA = math.log(_GAMMA)
_MIN = 1e-6
_LOG_MIN = math.log(_MIN)
_SIZE = int(math.ceil((math.log(1e5) - _LOG_MIN) / _LOG_GAMMA)) + 1


class QuantileSketch:
    """Counts per log bucket plus exact count, sum, min and max."""

    __slots__ = ("counts", "count", "total", "low", "high")

    def __init__(self) -> None:
        self.counts = [0] * _SIZE
        self.count = 0
        self.total = 0.0
        self.low = math.inf
        self.high = 0.0

    def add(self, value: float) -> None:
        if value > _MIN:  # _index, inlined: one call per response saved
            index = int((math.log(value) - _LOG_MIN) / _LOG_GAMMA)
            self.counts[index if index < _SIZE else _SIZE - 1] += 1
        else:
            self.counts[0] += 1
        self.count += 1
        self.total += value
        if value < self.low:
            self.low = value
        if value > self.high:
            self.high = value

    def mean(self) -> float:
        return self.total / self.count if self.count else math.nan

    def quantile(self, q: float) -> float:
        """The q-quantile (0..1) within 1 % relative error; NaN when empty."""
        return self.quantiles((q,))[0]

    def quantiles(self, qs: tuple[float, ...]) -> list[float]:
        """Several quantiles from one pass over the occupied buckets (those between the lowest and highest value)."""
        if not self.count:
            return [math.nan] * len(qs)
        first, last = _index(self.low), _index(self.high)
        cumulative = list(accumulate(self.counts[first:last + 1]))
        values = []
        for q in qs:
            index = first + bisect_left(cumulative, q * (self.count - 1) + 1)
            value = _MIN * 2 * _GAMMA ** (index + 1) / (_GAMMA + 1)
            values.append(min(max(value, self.low), self.high))
        return values

    def merge(self, other: "QuantileSketch") -> None:
        if not other.count:
            return
        counts, theirs = self.counts, other.counts
        for index in range(_index(other.low), _index(other.high) + 1):
            counts[index] += theirs[index]
        self.count += other.count
        self.total += other.total
        self.low = min(self.low, other.low)
        self.high = max(self.high, other.high)

    def copy(self) -> "QuantileSketch":
        twin = QuantileSketch()
        twin.merge(self)
        return twin


def _index(value: float) -> int:
    """Bucket i holds [MIN·γ^i, MIN·γ^(i+1)); the argument of int() is positive, so int() is floor()."""
    if value <= _MIN:
        return 0
    index = int((math.log(value) - _LOG_MIN) / _LOG_GAMMA)
    return index if index < _SIZE else _SIZE - 1
