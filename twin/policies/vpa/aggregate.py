"""What the VPA recommender remembers of a workload's container: CPU usage and memory peaks in decaying histograms,
fed by each pod's container state (one memory peak per aggregation interval, OOM kills as bumped peaks).

Fidelity ledger — upstream: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1, `pkg/recommender/model/
aggregations_config.go` (defaults: memory aggregation interval 24 h; CPU and memory half-life 24 h;
buckets grow 5 %; CPU buckets from 0.01 core to 1000 cores, memory from 1e7 bytes to 1e12; a CPU sample weighs 0.1,
epsilon 0.001 x 0.1; OOM bump 1.2 x, at least 100 MiB), `aggregate_container_state.go` (CPU samples count for the
confidence, memory samples do not), `container.go` (a memory sample raises the current interval's peak: the old
peak is subtracted and the new one added at the interval's end; a sample past the end opens the next interval; an
OOM adds max(used + 100 MiB, used x 1.2) with used = max(request, peak) unless older than the interval before the
current end), `types.go` (amounts are whole millicores and bytes, truncated, capped at 1e14).
Not modelled: aggregates expiring after 8 intervals without samples (a twin run is shorter).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from twin.policies.vpa.histogram import DecayingHistogram, ExponentialBuckets

MIN_SAMPLE_WEIGHT = 0.1
EPSILON = 0.001 * MIN_SAMPLE_WEIGHT
MAX_AMOUNT = 10**14
MIB = 2**20
BUCKET_GROWTH = 0.05  # DefaultHistogramBucketSizeGrowth: each bucket 5 % larger than the one before


def amount(value: float) -> int:
    """`resourceAmountFromFloat`: truncated to a whole unit, within [0, 1e14]; NaN (0 x infinite) counts as 0."""
    if value != value or value < 0:
        return 0
    return MAX_AMOUNT if value > MAX_AMOUNT else int(value)


def millicores(cores: float) -> int:
    return amount(cores * 1000.0)


def scale(value: int, factor: float) -> int:
    return amount(value * factor)


@dataclass(frozen=True)
class AggregationConfig:
    memory_aggregation_interval_s: float = 86400.0  # --memory-aggregation-interval
    memory_half_life_s: float = 86400.0  # --memory-histogram-decay-half-life
    cpu_half_life_s: float = 86400.0  # --cpu-histogram-decay-half-life
    oom_bump_up_ratio: float = 1.2  # --oom-bump-up-ratio
    oom_min_bump_up_bytes: float = 100.0 * MIB  # --oom-min-bump-up-bytes

    def cpu_buckets(self) -> ExponentialBuckets:
        return ExponentialBuckets(1000.0, 0.01, 1.0 + BUCKET_GROWTH, EPSILON)

    def memory_buckets(self) -> ExponentialBuckets:
        return ExponentialBuckets(1e12, 1e7, 1.0 + BUCKET_GROWTH, EPSILON)


@dataclass
class AggregateState:
    """One container name across the workload's pods."""

    config: AggregationConfig = field(default_factory=AggregationConfig)
    first_sample_s: float | None = None
    last_sample_s: float | None = None
    total_samples: int = 0

    def __post_init__(self) -> None:
        self.cpu = DecayingHistogram(self.config.cpu_buckets(), self.config.cpu_half_life_s)
        self.memory_peaks = DecayingHistogram(self.config.memory_buckets(), self.config.memory_half_life_s)

    def add_cpu(self, millicores_used: int, time_s: float) -> None:
        self.cpu.add(millicores_used / 1000.0, MIN_SAMPLE_WEIGHT, time_s)
        self.last_sample_s = time_s if self.last_sample_s is None else max(self.last_sample_s, time_s)
        self.first_sample_s = time_s if self.first_sample_s is None else min(self.first_sample_s, time_s)
        self.total_samples += 1


@dataclass
class ContainerState:
    """One container of one pod: its last samples and the current memory interval's peaks."""

    aggregate: AggregateState
    last_cpu_s: float | None = None
    last_memory_s: float | None = None
    window_end_s: float | None = None
    memory_peak: int = 0
    oom_peak: int = 0

    def add_cpu(self, time_s: float, millicores_used: int) -> bool:
        if millicores_used < 0 or (self.last_cpu_s is not None and time_s <= self.last_cpu_s):
            return False  # invalid, duplicate or out of order
        self.aggregate.add_cpu(millicores_used, time_s)
        self.last_cpu_s = time_s
        return True

    def add_memory(self, time_s: float, bytes_used: int, *, oom: bool = False) -> bool:
        if bytes_used < 0 or (not oom and self.last_memory_s is not None and time_s < self.last_memory_s):
            return False
        self.last_memory_s = time_s
        if self.window_end_s is None:
            self.window_end_s = time_s
        if time_s < self.window_end_s:
            if not self._raises_peak(bytes_used):
                return True
        else:
            self._next_window(time_s)
        self.aggregate.memory_peaks.add(float(bytes_used), 1.0, self.window_end_s)
        if oom:
            self.oom_peak = bytes_used
        else:
            self.memory_peak = bytes_used
        return True

    def record_oom(self, time_s: float, requested_bytes: int) -> bool:
        """An OOM kill of this container while it requested `requested_bytes`; False when too old to count."""
        interval = self.aggregate.config.memory_aggregation_interval_s
        if self.window_end_s is not None and time_s < self.window_end_s - interval:
            return False
        used = max(requested_bytes, self.memory_peak)
        config = self.aggregate.config
        needed = max(used + amount(config.oom_min_bump_up_bytes), scale(used, config.oom_bump_up_ratio))
        return self.add_memory(time_s, needed, oom=True)

    def _raises_peak(self, bytes_used: int) -> bool:
        """Within the interval: a higher peak replaces the old one in the histogram."""
        old = max(self.memory_peak, self.oom_peak)
        if old == 0 or bytes_used <= old:
            return False
        self.aggregate.memory_peaks.subtract(float(old), 1.0, self.window_end_s)
        return True

    def _next_window(self, time_s: float) -> None:
        interval = self.aggregate.config.memory_aggregation_interval_s
        self.window_end_s += (time_s - self.window_end_s) // interval * interval + interval
        self.memory_peak = self.oom_peak = 0
