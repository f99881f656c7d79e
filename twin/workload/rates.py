"""Arrival-rate curves for open-loop workloads, as pieces: on each, an upper bound of the rate for thinning.

A piece is `(bound, end, exact)`: the rate stays at or below `bound` from the asked time until `end`, and is exactly
`bound` throughout when `exact`. Constant, step and burst curves are exact pieces (thinning draws nothing); a diurnal
cosine is cut into 96 pieces a period, each bounded by its own maximum, so a night hour costs what its arrivals cost
instead of the peak's.
"""
from __future__ import annotations

import math
from bisect import bisect_right
from dataclasses import dataclass
from typing import Callable

from twin.config.schema import Bursts, Diurnal, Poisson, Steps

Piece = tuple[float, float, bool]  # (upper bound of the rate, end of the piece, the rate equals the bound)
DIURNAL_PIECES = 96


@dataclass(frozen=True)
class RateCurve:
    rate: Callable[[float], float]  # requests per second at t
    piece: Callable[[float], Piece]  # the piece holding t


def curve(spec: Poisson | Steps | Bursts | Diurnal) -> RateCurve:
    if isinstance(spec, Poisson):
        return RateCurve(lambda t: spec.rate_rps, lambda t: (spec.rate_rps, math.inf, True))
    if isinstance(spec, Steps):
        return _piecewise([s.at_s for s in spec.steps], [s.rate_rps for s in spec.steps])
    if isinstance(spec, Bursts):
        return _bursts(spec)
    return _diurnal(spec)


def _piecewise(starts: list[float], rates: list[float]) -> RateCurve:
    """A constant rate from each start to the next (zero before the first)."""

    def rate(t: float) -> float:
        index = bisect_right(starts, t) - 1
        return rates[index] if index >= 0 else 0.0

    def piece(t: float) -> Piece:
        index = bisect_right(starts, t)
        return rate(t), starts[index] if index < len(starts) else math.inf, True

    return RateCurve(rate, piece)


def _bursts(spec: Bursts) -> RateCurve:
    edges = sorted({0.0} | {b.at_s for b in spec.bursts} | {b.at_s + b.duration_s for b in spec.bursts})
    rates = [spec.base_rps + sum(b.rate_rps for b in spec.bursts if b.at_s <= t < b.at_s + b.duration_s)
             for t in edges]
    return _piecewise(edges, rates)


def _diurnal(spec: Diurnal) -> RateCurve:
    omega = 2 * math.pi / spec.period_s
    width = spec.period_s / DIURNAL_PIECES

    def rate(t: float) -> float:
        return spec.mean_rps * (1 + spec.amplitude * math.cos(omega * (t - spec.peak_at_s)))

    def piece(t: float) -> Piece:
        start = math.floor(t / width) * width
        end = start + width
        if end <= t:  # t sits on the boundary after rounding
            start, end = end, end + width
        peaks = math.ceil((start - spec.peak_at_s) / spec.period_s) * spec.period_s + spec.peak_at_s
        highest = spec.mean_rps * (1 + spec.amplitude) if peaks <= end else max(rate(start), rate(end))
        return highest, end, spec.amplitude == 0

    return RateCurve(rate, piece)
