"""Summary statistics of JTL samples, computed the way JMeter's Summary and Aggregate Reports compute them.

Fidelity ledger (upstream: apache/jmeter 5.6, `org.apache.jmeter.util.Calculator`, `jorphan.math.StatCalculator`,
`visualizers.StatGraphVisualizer`):
- throughput = samples / (latest end - earliest start), the window grown sample by sample in file order as
  `Calculator.addSample` does (each end is measured from the earliest start seen so far);
- mean and population standard deviation of elapsed; an aggregated sample (SampleCount n) adds n to the count, its
  elapsed to the sum, and elapsed/n (integer division) n times to the distribution;
- percentiles are StatCalculator's `getPercentPoint`: the smallest value whose cumulative count reaches
  round(count * p) (Java `Math.round`), with the Aggregate Report's 90/95/99 passed as Java floats;
  p >= 1 gives the max; median is p = 0.5 (so the median of 1..10 is 5, not 5.5);
- error % = error samples / samples * 100; KB/s = bytes / 1024 / window seconds.
- not modelled: JMeter shows 0.0 throughput for a zero-length window; here it is None.
"""
from __future__ import annotations

import itertools
import math
import struct
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from calibration.readers.jtl import Sample

TOTAL_LABEL = "TOTAL"


@dataclass(frozen=True)
class JtlSummary:
    label: str
    samples: int
    errors: int
    error_pct: float
    mean_ms: float
    std_dev_ms: float
    min_ms: int
    max_ms: int
    median_ms: int
    p90_ms: int
    p95_ms: int
    p99_ms: int
    window_s: float  # latest end - earliest start
    throughput_rps: float | None  # None when the window is empty
    received_kb_per_s: float | None
    sent_kb_per_s: float | None


def summarize(samples: Sequence[Sample], *, label: str = TOTAL_LABEL) -> JtlSummary:
    """One summary over all `samples` (JMeter's TOTAL row when given every sample)."""
    if not samples:
        raise ValueError("summarize needs at least one sample")  # a programming error: readers never return none
    distribution = Counter()
    for sample in samples:
        distribution[sample.elapsed_ms // sample.sample_count] += sample.sample_count
    count = sum(s.sample_count for s in samples)
    total = sum(s.elapsed_ms for s in samples)
    squares = sum(s.elapsed_ms * s.elapsed_ms / s.sample_count for s in samples)
    mean = total / count
    errors = sum(s.error_count for s in samples)
    window_s = _window_ms(samples) / 1000
    return JtlSummary(
        label=label, samples=count, errors=errors, error_pct=100 * errors / count, mean_ms=mean,
        std_dev_ms=math.sqrt(max(squares / count - mean * mean, 0.0)),
        min_ms=min(distribution), max_ms=max(distribution),
        median_ms=percent_point(distribution, 0.5),
        p90_ms=percent_point(distribution, _java_float(0.90)),
        p95_ms=percent_point(distribution, _java_float(0.95)),
        p99_ms=percent_point(distribution, _java_float(0.99)),
        window_s=window_s,
        throughput_rps=_rate(count, window_s),
        received_kb_per_s=_kb_rate((s.received_bytes for s in samples), window_s),
        sent_kb_per_s=_kb_rate((s.sent_bytes for s in samples), window_s),
    )


def summarize_by_label(samples: Sequence[Sample]) -> dict[str, JtlSummary]:
    """One summary per label, in order of first appearance, then TOTAL, as the JMeter reports list them."""
    groups: dict[str, list[Sample]] = {}
    for sample in samples:
        groups.setdefault(sample.label, []).append(sample)
    summaries = {name: summarize(group, label=name) for name, group in groups.items()}
    summaries[TOTAL_LABEL] = summarize(samples)
    return summaries


def percent_point(distribution: Counter, percent: float) -> int:
    """StatCalculator.getPercentPoint over a value -> count distribution."""
    if percent >= 1.0:
        return max(distribution)
    target = math.floor(sum(distribution.values()) * percent + 0.5)  # Java Math.round
    values = sorted(distribution)
    cumulative = itertools.accumulate(distribution[value] for value in values)
    return next(value for value, reached in zip(values, cumulative) if reached >= target)


def _java_float(value: float) -> float:
    """`value` rounded to a 32-bit float, as `Float.parseFloat("99") / 100` is before reaching a double."""
    return struct.unpack("f", struct.pack("f", value))[0]


def _window_ms(samples: Iterable[Sample]) -> int:
    first_start, window = math.inf, 0
    for sample in samples:
        first_start = min(first_start, sample.start_ms)
        window = max(window, sample.end_ms - first_start)
    return int(window)


def _rate(amount: float, window_s: float) -> float | None:
    return amount / window_s if window_s > 0 else None


def _kb_rate(byte_counts: Iterable[int | None], window_s: float) -> float | None:
    values = list(byte_counts)
    if any(v is None for v in values):
        return None
    rate = _rate(sum(values), window_s)
    return None if rate is None else rate / 1024
