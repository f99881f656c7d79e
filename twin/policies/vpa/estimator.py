"""The VPA recommender's estimate for one container: target, lower and upper bound of CPU and memory.

Fidelity ledger — upstream: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1, `pkg/recommender/logic/
estimator.go` (percentile of the CPU histogram and of the memory peaks; margin: + fraction x value; confidence =
min(lifespan in intervals, CPU samples / interval minutes); multiplier (1 + m / confidence)^e, infinite at no
history), `logic/recommender.go` (target p90, lower p50 x (1 + 0.001/confidence)^-2, upper p95 x (1 + 1/confidence),
all with the 15 % margin, then at least the pod minimum split over the containers; only controlled resources),
`pkg/recommender/config/config.go` (defaults: --recommendation-margin-fraction 0.15,
--pod-recommendation-min-cpu-millicores 25, --pod-recommendation-min-memory-mb 250 (MiB: x 1024 x 1024),
percentiles 0.9 / 0.5 / 0.95, --confidence-interval-cpu and -memory 24 h, --recommender-interval 1 min).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from twin.policies.vpa.aggregate import MIB, AggregateState, amount, millicores, scale

CPU, MEMORY = "cpu", "memory"


@dataclass(frozen=True)
class RecommenderConfig:
    safety_margin_fraction: float = 0.15
    pod_min_cpu_millicores: float = 25.0
    pod_min_memory_mb: float = 250.0
    target_cpu_percentile: float = 0.9
    lower_bound_cpu_percentile: float = 0.5
    upper_bound_cpu_percentile: float = 0.95
    target_memory_percentile: float = 0.9
    lower_bound_memory_percentile: float = 0.5
    upper_bound_memory_percentile: float = 0.95
    confidence_interval_cpu_s: float = 86400.0
    confidence_interval_memory_s: float = 86400.0


@dataclass(frozen=True)
class Bounds:
    """One container's recommendation in upstream's units: CPU in millicores, memory in bytes."""

    target: dict[str, int]
    lower: dict[str, int]
    upper: dict[str, int]


def percentile(state: AggregateState, resource: str, p: float) -> int:
    if resource == CPU:
        return millicores(state.cpu.percentile(p))
    return amount(state.memory_peaks.percentile(p))


def with_margin(value: int, fraction: float) -> int:
    return value + scale(value, fraction)


def confidence(state: AggregateState, interval_s: float) -> float:
    span = (state.last_sample_s or 0.0) - (state.first_sample_s or 0.0)
    return min(span / interval_s, state.total_samples / (interval_s / 60.0))


def with_confidence(value: int, state: AggregateState, multiplier: float, exponent: float, interval_s: float) -> int:
    known = confidence(state, interval_s)
    ratio = multiplier / known if known > 0 else math.inf  # no history: an unbounded upper, a zero lower bound
    return scale(value, math.pow(1.0 + ratio, exponent))


def pod_minimum(config: RecommenderConfig, containers: int) -> dict[str, int]:
    """The pod's minimum, split evenly over the containers the recommendation covers."""
    fraction = 1.0 / containers
    return {CPU: scale(millicores(config.pod_min_cpu_millicores * 0.001), fraction),
            MEMORY: scale(amount(config.pod_min_memory_mb * MIB), fraction)}


def estimate(state: AggregateState, config: RecommenderConfig, *, containers: int = 1,
             controlled: tuple[str, ...] = (CPU, MEMORY)) -> Bounds:
    minimum = pod_minimum(config, containers)
    bounds = {name: {} for name in ("target", "lower", "upper")}
    for resource in controlled:
        base = {name: with_margin(percentile(state, resource, p), config.safety_margin_fraction)
                for name, p in _percentiles(config, resource).items()}
        interval = config.confidence_interval_cpu_s if resource == CPU else config.confidence_interval_memory_s
        base["lower"] = with_confidence(base["lower"], state, 0.001, -2.0, interval)
        base["upper"] = with_confidence(base["upper"], state, 1.0, 1.0, interval)
        for name, value in base.items():
            bounds[name][resource] = max(value, minimum[resource])
    return Bounds(**bounds)


def _percentiles(config: RecommenderConfig, resource: str) -> dict[str, float]:
    if resource == CPU:
        return {"target": config.target_cpu_percentile, "lower": config.lower_bound_cpu_percentile,
                "upper": config.upper_bound_cpu_percentile}
    return {"target": config.target_memory_percentile, "lower": config.lower_bound_memory_percentile,
            "upper": config.upper_bound_memory_percentile}
