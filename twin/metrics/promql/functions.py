"""PromQL functions: range-vector functions per series window, and instant-vector/scalar functions.

Fidelity ledger
- Upstream: Prometheus 2.42 promql/functions.go (extrapolatedRate, instantValue, aggrOverTime with Kahan-Neumaier
  sums, clamp*, round, scalar, vector, time) and promql/quantile.go (bucketQuantile, coalesceBuckets,
  ensureMonotonic).
- Modelled: float samples only, with the same operation order so results agree to the last few ulps; Go math
  semantics for NaN/Inf (numpy ufuncs, evaluated under `np.errstate(all="ignore")` by the caller).
- Not modelled: native histograms, holt_winters, predict_linear, deriv, label_* and date functions.
"""
from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Callable, Sequence

import numpy as np

from twin.metrics.promql import values as values

VectorT = list[values.Sample]


@dataclass(frozen=True, slots=True)
class Window:
    """One series' non-stale samples inside a range selector's [start_ms, end_ms]."""

    times: Sequence[int]
    values: Sequence[float]
    start_ms: int
    end_ms: int


def _extrapolated_rate(w: Window, *, counter: bool, per_second: bool) -> float | None:
    """rate/increase/delta: Δ (plus pre-reset values for counters), extrapolated towards the range edges."""
    t, v = w.times, w.values
    if len(t) < 2:
        return None
    result = v[-1] - v[0]
    if counter:
        prev = v[0]
        for cur in v[1:]:
            if cur < prev:
                result += prev
            prev = cur
    to_start = (t[0] - w.start_ms) / 1000
    to_end = (w.end_ms - t[-1]) / 1000
    sampled = (t[-1] - t[0]) / 1000
    average = sampled / (len(t) - 1)
    if counter and result > 0 and v[0] >= 0:
        # A counter cannot have been below zero: do not extrapolate past where it would have been 0.
        to_start = min(to_start, sampled * (v[0] / result))
    threshold = average * 1.1  # beyond this, assume the series started/ended inside the range
    extended = sampled
    extended += to_start if to_start < threshold else average / 2
    extended += to_end if to_end < threshold else average / 2
    factor = extended / sampled
    if per_second:
        factor /= (w.end_ms - w.start_ms) / 1000
    return result * factor


def _instant_value(w: Window, *, per_second: bool) -> float | None:
    """irate/idelta: the last two samples only."""
    if len(w.times) < 2:
        return None
    last, prev = w.values[-1], w.values[-2]
    result = last if per_second and last < prev else last - prev
    interval_ms = w.times[-1] - w.times[-2]
    if interval_ms == 0:
        return None
    return result / (interval_ms / 1000) if per_second else result


def _kahan_inc(inc: float, total: float, c: float) -> tuple[float, float]:
    t = total + inc
    c += (total - t) + inc if abs(total) >= abs(inc) else (inc - t) + total
    return t, c


def _sum_over_time(w: Window) -> float:
    total, c = 0.0, 0.0
    for v in w.values:
        total, c = _kahan_inc(v, total, c)
    return total if math.isinf(total) else total + c


def _avg_over_time(w: Window) -> float:
    mean, c, count = 0.0, 0.0, 0.0
    for v in w.values:
        count += 1
        if math.isinf(mean) and (
            (math.isinf(v) and (mean > 0) == (v > 0)) or (not math.isinf(v) and not math.isnan(v))
        ):
            continue  # an infinite mean stays put; subtracting it would turn it into NaN
        mean, c = _kahan_inc(v / count - mean / count, mean, c)
    return mean if math.isinf(mean) else mean + c


def _extreme(w: Window, better: Callable[[float, float], bool]) -> float:
    best = w.values[0]
    for v in w.values:
        if better(v, best) or math.isnan(best):
            best = v
    return best


RANGE_FUNCTIONS: dict[str, Callable[[Window], float | None]] = {
    "rate": lambda w: _extrapolated_rate(w, counter=True, per_second=True),
    "increase": lambda w: _extrapolated_rate(w, counter=True, per_second=False),
    "delta": lambda w: _extrapolated_rate(w, counter=False, per_second=False),
    "irate": lambda w: _instant_value(w, per_second=True),
    "idelta": lambda w: _instant_value(w, per_second=False),
    "sum_over_time": _sum_over_time,
    "avg_over_time": _avg_over_time,
    "max_over_time": lambda w: _extreme(w, lambda a, b: a > b),
    "min_over_time": lambda w: _extreme(w, lambda a, b: a < b),
    "count_over_time": lambda w: float(len(w.values)),
    "last_over_time": lambda w: w.values[-1],
    "present_over_time": lambda w: 1.0,
}
KEEPS_NAME = frozenset({"last_over_time"})


def _map(vector: VectorT, fn: Callable[[float], float]) -> VectorT:
    return [values.Sample(values.drop_name(s.labels), float(fn(s.value))) for s in vector]


def _clamp(args: list, now_ms: int) -> VectorT:
    vector, low, high = args
    return [] if high < low else _map(vector, lambda v: np.maximum(low, np.minimum(high, v)))


def _round(args: list, now_ms: int) -> VectorT:
    inverse = 1.0 / (args[1] if len(args) > 1 else 1.0)  # Prometheus divides by the inverse, to limit float error
    return _map(args[0], lambda v: np.floor(v * inverse + 0.5) / inverse)


def _scalar(args: list, now_ms: int) -> float:
    return args[0][0].value if len(args[0]) == 1 else math.nan


def _math(fn: Callable[[float], float], args: list, now_ms: int) -> VectorT:
    return _map(args[0], fn)


_MATH = {"abs": np.abs, "ceil": np.ceil, "floor": np.floor, "sqrt": np.sqrt, "exp": np.exp, "ln": np.log}
# Go's math.Max/Min return NaN when either side is NaN; numpy's maximum/minimum do the same.
INSTANT_FUNCTIONS: dict[str, Callable[[list, int], object]] = {
    **{name: functools.partial(_math, fn) for name, fn in _MATH.items()},
    "clamp": _clamp,
    "clamp_min": lambda args, now_ms: _map(args[0], lambda v: np.maximum(args[1], v)),
    "clamp_max": lambda args, now_ms: _map(args[0], lambda v: np.minimum(args[1], v)),
    "round": _round,
    "scalar": _scalar,
    "vector": lambda args, now_ms: [values.Sample({}, args[0])],
    "time": lambda args, now_ms: now_ms / 1000,
    "histogram_quantile": lambda args, now_ms: histogram_quantile(args[0], args[1]),
}


def histogram_quantile(q: float, vector: VectorT) -> VectorT:
    """φ-quantile per group of `le` buckets (the group is every label but `le`; the result drops the name)."""
    groups: dict[tuple, tuple[dict[str, str], list[tuple[float, float]]]] = {}
    for s in vector:
        try:
            upper = float(s.labels.get("le", ""))
        except ValueError:
            continue  # no or malformed `le`: not a bucket
        rest = {k: v for k, v in s.labels.items() if k != "le"}
        group = groups.setdefault(values.label_key(rest), (values.drop_name(rest), []))
        group[1].append((upper, s.value))
    return [values.Sample(labels, _bucket_quantile(q, buckets)) for labels, buckets in groups.values()]


def _bucket_quantile(q: float, buckets: list[tuple[float, float]]) -> float:
    if math.isnan(q):
        return math.nan
    if q < 0 or q > 1:
        return math.copysign(math.inf, q)
    buckets = sorted(buckets, key=lambda b: b[0])
    if not math.isinf(buckets[-1][0]) or buckets[-1][0] < 0:
        return math.nan
    bounds, counts = _coalesce_monotonic(buckets)
    if len(bounds) < 2 or counts[-1] == 0:
        return math.nan
    rank = q * counts[-1]
    b = next((i for i in range(len(bounds) - 1) if counts[i] >= rank), len(bounds) - 1)
    if b == len(bounds) - 1:
        return bounds[-2]
    if b == 0 and bounds[0] <= 0:
        return bounds[0]
    start, count = 0.0, counts[b]
    if b > 0:
        start, count, rank = bounds[b - 1], count - counts[b - 1], rank - counts[b - 1]
    return start + (bounds[b] - start) * (rank / count)


def _coalesce_monotonic(buckets: list[tuple[float, float]]) -> tuple[list[float], list[float]]:
    """Merge buckets with equal bounds, then force counts non-decreasing (scrape races can break that)."""
    bounds: list[float] = []
    counts: list[float] = []
    for upper, count in buckets:
        if bounds and bounds[-1] == upper:
            counts[-1] += count
        else:
            bounds.append(upper)
            counts.append(count)
    highest = counts[0]
    for i in range(1, len(counts)):
        if counts[i] > highest:
            highest = counts[i]
        elif counts[i] < highest:
            counts[i] = highest
    return bounds, counts
