"""Arrival-rate curves for open-loop workloads: rate(t) in requests per second and an upper bound for thinning."""
from __future__ import annotations

import math
from bisect import bisect_right
from typing import Callable

from twin.config.schema import Bursts, Diurnal, Poisson, Steps

RateCurve = tuple[Callable[[float], float], float]  # (rate at t, maximum rate)


def curve(spec: Poisson | Steps | Bursts | Diurnal) -> RateCurve:
    if isinstance(spec, Poisson):
        return (lambda t: spec.rate_rps), spec.rate_rps
    if isinstance(spec, Steps):
        return _steps(spec)
    if isinstance(spec, Bursts):
        return _bursts(spec)
    return _diurnal(spec)


def _steps(spec: Steps) -> RateCurve:
    steps = sorted(spec.steps, key=lambda s: s.at_s)
    starts = [s.at_s for s in steps]
    rates = [s.rate_rps for s in steps]

    def rate(t: float) -> float:
        index = bisect_right(starts, t) - 1
        return rates[index] if index >= 0 else 0.0

    return rate, max(rates)


def _bursts(spec: Bursts) -> RateCurve:
    bursts = spec.bursts

    def rate(t: float) -> float:
        extra = sum(b.rate_rps for b in bursts if b.at_s <= t < b.at_s + b.duration_s)
        return spec.base_rps + extra

    return rate, spec.base_rps + sum(b.rate_rps for b in bursts)


def _diurnal(spec: Diurnal) -> RateCurve:
    omega = 2 * math.pi / spec.period_s

    def rate(t: float) -> float:
        return spec.mean_rps * (1 + spec.amplitude * math.cos(omega * (t - spec.peak_at_s)))

    return rate, spec.mean_rps * (1 + spec.amplitude)
