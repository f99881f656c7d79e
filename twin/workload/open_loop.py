"""Open-loop arrivals: Poisson at a rate curve (constant, steps, bursts, diurnal) by piecewise thinning, or a
replayed trace.

Each request opens its own connection, so kube-proxy picks a Ready pod per request.
"""
from __future__ import annotations

import math
from typing import Callable

import numpy as np
import simpy

from twin.config.schema import Trace
from twin.kernel.request import Request
from twin.kernel.rng import Draws, Uniforms
from twin.kernel import timer
from twin.workload.rates import RateCurve
from twin.workload.service import Service

Send = Callable[[Request, object], None]


class OpenLoop:
    """Sends requests at the times of a (possibly non-homogeneous) Poisson process or a trace."""

    __slots__ = ("env", "service", "send", "delay_s", "stop_s", "_next_time", "_fire")
    waits = False  # open-loop clients do not wait for responses: they are not told of them

    def __init__(self, env: simpy.Environment, *, service: Service, send: Send, delay_s: float, stop_s: float,
                 next_time: Callable[[float], float | None]) -> None:
        self.env = env
        self.service = service
        self.send = send
        self.delay_s = delay_s  # time outside the pod added to every response (network, frontend)
        self.stop_s = stop_s
        self._next_time = next_time
        self._fire = (self._arrive,)  # the arrival timer's callbacks, made once

    def start(self, at: float) -> None:
        self._schedule(at, timer.Call())

    def _schedule(self, after: float, event: timer.Call) -> None:
        t = self._next_time(after)
        if t is not None and t < self.stop_s:
            timer.call_at(self.env, t, self._fire, event)

    def _arrive(self, event: timer.Call) -> None:
        now = self.env._now
        self.send(Request(now, self), self.service.connect())
        self._schedule(now, event)  # the timer that fired serves again: one arrival pending at a time


def poisson_times(rate: RateCurve, gaps: Draws, uniforms: Uniforms) -> Callable[[float], float | None]:
    """Next arrival after t by thinning (Lewis and Shedler 1979) against the bound of the piece holding t.

    A candidate past the piece's end is dropped and the search restarts at the end: the exponential gap is memoryless.
    On an exact piece every candidate is an arrival and no uniform is drawn."""
    rate_at, piece_at = rate.rate, rate.piece
    next_gap, next_uniform = gaps.next, uniforms.next
    bound, end, exact = 0.0, -math.inf, True

    def next_time(t: float) -> float | None:
        nonlocal bound, end, exact
        while True:
            if t >= end:
                bound, end, exact = piece_at(t)
            if bound <= 0.0:
                if end == math.inf:
                    return None
                t = end
                continue
            candidate = t + next_gap() / bound
            if candidate >= end:
                t = end
                continue
            t = candidate
            if exact or next_uniform() * bound <= rate_at(t):
                return t

    return next_time


def trace_times(spec: Trace, times: np.ndarray, start_s: float) -> Callable[[float], float | None]:
    """The trace's timestamps in order, scaled and shifted to the group's start."""
    scaled = (start_s + times * spec.time_scale).tolist()
    position = [0]

    def next_time(_t: float) -> float | None:
        index = position[0]
        if index >= len(scaled):
            return None
        position[0] = index + 1
        return scaled[index]

    return next_time
