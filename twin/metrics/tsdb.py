"""In-memory sample store that the twin's simulated scraper appends to.

Fidelity ledger
- Upstream: Prometheus 2.42 TSDB head (tsdb/head_append.go), model/value (stale NaN), model/labels/matcher.go.
- Modelled: one series per (metric name, label set); integer-millisecond timestamps, as Prometheus stores them;
  strictly increasing timestamps per series (an identical re-append is ignored, a different one refused, like the
  head appender's out-of-order and duplicate-sample errors); staleness markers as the exact stale-NaN bit pattern;
  label matchers =, !=, =~, !~ with fully anchored regexes and "absent label equals empty value"; time-based
  retention counted back from the newest sample, so a simulated day uses constant memory.
- Not modelled: chunks, compression, WAL, blocks, native histograms, exemplars, out-of-order ingestion,
  Go RE2 regex dialect differences (Python `re` is used).
"""
from __future__ import annotations

import bisect
import re
import struct
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Sequence

METRIC_NAME = "__name__"
# Prometheus' value.StaleNaN: a NaN with a payload no computation produces, so real NaN samples stay distinct.
STALE_NAN_BITS = 0x7FF0000000000002
STALE_NAN: float = struct.unpack("<d", struct.pack("<Q", STALE_NAN_BITS))[0]
_MATCH_OPS = ("=", "!=", "=~", "!~")
_COMPACT_MIN = 256  # dropped-prefix length that makes shifting a series' lists worth it


def is_stale(value: float) -> bool:
    """True for the staleness marker (and not for an ordinary NaN sample)."""
    return value != value and struct.pack("<d", value) == struct.pack("<Q", STALE_NAN_BITS)


def to_ms(t_s: float) -> int:
    """Seconds (simulation time) to the integer milliseconds Prometheus stores."""
    return round(t_s * 1000)


@dataclass(frozen=True)
class LabelMatcher:
    """One label matcher; a label that is absent matches as the empty string."""

    name: str
    op: str
    value: str
    _regex: re.Pattern[str] | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        if self.op not in _MATCH_OPS:
            raise ValueError(f"label matcher operator must be one of {_MATCH_OPS}, got {self.op!r}")
        if self.op in ("=~", "!~"):
            object.__setattr__(self, "_regex", re.compile(self.value))  # 2.42: no (?s), "." skips \n

    def matches(self, value: str) -> bool:
        if self._regex is None:
            return (value == self.value) == (self.op == "=")
        return (self._regex.fullmatch(value) is not None) == (self.op == "=~")


@dataclass(frozen=True)
class SeriesSamples:
    """One selected series: its labels (with `__name__`; shared with the store, read only) and raw samples, stale
    markers included."""

    labels: Mapping[str, str]
    times_ms: Sequence[int]
    values: Sequence[float]


class _Series:
    """Parallel time/value lists; `start` skips the prefix retention dropped, deleted in bulk once it is long, so
    a series holds at most max(2 × window, window + 256) samples."""

    __slots__ = ("labels", "times", "values", "start", "retention_ms", "trim_after_ms")

    def __init__(self, labels: dict[str, str], retention_ms: int) -> None:
        self.labels = labels
        self.times: list[int] = []
        self.values: list[float] = []
        self.start = 0
        self.retention_ms = retention_ms
        # Trim in batches: an eighth of the retention of slack saves a bisect on every append.
        self.trim_after_ms = retention_ms + retention_ms // 8

    def add(self, t_ms: int, value: float) -> None:
        times = self.times
        if times and t_ms <= times[-1]:
            self._refuse_or_ignore(t_ms, value)
            return
        times.append(t_ms)
        self.values.append(value)
        if t_ms - times[self.start] > self.trim_after_ms:
            self.trim(t_ms - self.retention_ms)

    def _refuse_or_ignore(self, t_ms: int, value: float) -> None:
        last = self.values[-1]
        same = struct.pack("<d", last) == struct.pack("<d", value)
        if t_ms == self.times[-1] and same:
            return
        kind = "duplicate sample for timestamp" if t_ms == self.times[-1] else "out of order sample"
        raise ValueError(f"{kind}: series {self.labels} t={t_ms} ms, newest t={self.times[-1]} ms")

    def trim(self, min_t_ms: int) -> None:
        self.start = bisect.bisect_left(self.times, min_t_ms, self.start)
        if self.start >= _COMPACT_MIN and 2 * self.start >= len(self.times):
            del self.times[: self.start]
            del self.values[: self.start]
            self.start = 0

    def newest_ms(self) -> int:
        return self.times[-1]

    def window(self, mint_ms: int, maxt_ms: int) -> SeriesSamples:
        lo = bisect.bisect_left(self.times, mint_ms, self.start)
        hi = bisect.bisect_right(self.times, maxt_ms, lo)
        return SeriesSamples(self.labels, self.times[lo:hi], self.values[lo:hi])


class SeriesStore:
    """Series keyed by (name, label set); retention bounds memory per series and drops dead series."""

    def __init__(self, *, retention_s: float = 3600.0) -> None:
        if not retention_s > 0:
            raise ValueError(f"retention_s must be > 0, got {retention_s}")
        self._retention_ms = to_ms(retention_s)
        self._series: dict[tuple[str, frozenset[tuple[str, str]]], _Series] = {}
        self._by_name: dict[str, dict[frozenset[tuple[str, str]], _Series]] = {}
        # Hot-path alias: (name, labels as the caller's dict orders them) -> series; a tuple hashes faster than a
        # frozenset, and a scraper passes the same dict shape every time.
        self._fast: dict[tuple[str, tuple[tuple[str, str], ...]], _Series] = {}
        self._next_gc_ms = -(2**62)
        self._generation = 0  # bumped when a series is created or dropped
        self._matched: dict[tuple[LabelMatcher, ...], tuple[int, list[_Series]]] = {}

    def append(self, name: str, labels: Mapping[str, str], t: float, value: float) -> None:
        """Append one sample at `t` seconds; timestamps must increase per series."""
        series = self._fast.get((name, tuple(labels.items())))
        if series is None:
            series = self._lookup(name, labels, create=True)
        t_ms = round(t * 1000)
        series.add(t_ms, float(value))
        if t_ms >= self._next_gc_ms:
            self._collect(t_ms)

    def mark_stale(self, name: str, labels: Mapping[str, str], t: float) -> None:
        """Write a staleness marker, as Prometheus does when a target or series disappears from a scrape."""
        if self._lookup(name, labels, create=False) is not None:
            self.append(name, labels, t, STALE_NAN)

    def select(
        self, matchers: Iterable[LabelMatcher], *, mint_ms: int, maxt_ms: int
    ) -> list[SeriesSamples]:
        """Series matching every matcher, with their samples in [mint_ms, maxt_ms] (both inclusive, as in 2.x)."""
        out = []
        for series in self._matching(tuple(matchers)):
            samples = series.window(mint_ms, maxt_ms)
            if samples.times_ms:
                out.append(samples)
        return out

    def _matching(self, matchers: tuple[LabelMatcher, ...]) -> list[_Series]:
        """The series matching every matcher, in label order; kept until a series is created or dropped, so a
        controller's query asked every period matches and sorts only when the targets change."""
        known = self._matched.get(matchers)
        if known is not None and known[0] == self._generation:
            return known[1]
        found = [series for series in self._candidates(list(matchers))
                 if all(m.matches(series.labels.get(m.name, "")) for m in matchers)]
        found.sort(key=lambda series: sorted(series.labels.items()))
        self._matched[matchers] = (self._generation, found)
        return found

    def series_count(self) -> int:
        return len(self._series)

    def sample_count(self) -> int:
        return sum(len(s.times) - s.start for s in self._series.values())

    def _candidates(self, matchers: list[LabelMatcher]) -> Iterable[_Series]:
        for m in matchers:
            if m.name == METRIC_NAME and m.op == "=":
                return list(self._by_name.get(m.value, {}).values())
        return list(self._series.values())

    def _lookup(self, name: str, labels: Mapping[str, str], *, create: bool) -> _Series | None:
        key = (name, frozenset(labels.items()))
        series = self._series.get(key)
        if series is None and create:
            series = self._create(key, name, labels)
        if series is not None:
            self._fast[(name, tuple(labels.items()))] = series
        return series

    def _create(self, key: tuple[str, frozenset[tuple[str, str]]], name: str, labels: Mapping[str, str]) -> _Series:
        if METRIC_NAME in labels:
            raise ValueError(f"pass the metric name as `name`, not as label {METRIC_NAME!r}")
        # Prometheus drops empty-valued labels: a label set with x="" is the one without x.
        full = {METRIC_NAME: name, **{k: v for k, v in labels.items() if v != ""}}
        series = _Series(full, self._retention_ms)
        self._generation += 1
        self._series[key] = series
        self._by_name.setdefault(name, {})[key[1]] = series
        return series

    def _collect(self, now_ms: int) -> None:
        """Once per retention period: trim every series and forget those whose newest sample expired."""
        horizon = now_ms - self._retention_ms
        for key, series in list(self._series.items()):
            if series.newest_ms() < horizon:
                self._generation += 1
                del self._series[key]
                same_name = self._by_name[key[0]]
                del same_name[key[1]]
                if not same_name:
                    del self._by_name[key[0]]
            else:
                series.trim(horizon)
        alive = {id(series) for series in self._series.values()}
        self._fast = {k: series for k, series in self._fast.items() if id(series) in alive}
        self._next_gc_ms = now_ms + self._retention_ms
