"""Callbacks at a future simulated time without a SimPy process.

The hot path schedules a few of these per request, so they skip SimPy's Timeout constructor: a slotted event with
the two attributes `Environment.step` reads (`callbacks`, `_ok`) pushed straight onto the environment's queue, as
`Environment.schedule` does (SimPy 4). Everything else in the twin uses SimPy's ordinary API.
"""
from __future__ import annotations

from heapq import heappush
from typing import Any, Callable

import simpy

_NORMAL = 1  # simpy.events.NORMAL


class Call:
    """A scheduled callback; `value` is handed to it through the event."""

    __slots__ = ("callbacks", "_ok", "value")


def call_later(env: simpy.Environment, delay: float, callback: Callable[[Any], Any], value: Any = None) -> Call:
    """Run `callback(event)` after `delay`; `event.value` is `value`."""
    event = Call()
    event.callbacks = [callback]
    event._ok = True
    event.value = value
    heappush(env._queue, (env._now + delay, _NORMAL, next(env._eid), event))
    return event


def call_at(env: simpy.Environment, t: float, callbacks: tuple, event: Call) -> Call:
    """Schedule `event` (new, or one that has fired) at time `t` with ready-made `callbacks`: the cheapest schedule,
    for a component that keeps one timer pending and re-arms it."""
    event.callbacks = callbacks
    event._ok = True
    heappush(env._queue, (t, _NORMAL, next(env._eid), event))
    return event


NOTHING: tuple = ()  # the callbacks of a cancelled Call: it stays on the queue (a heap cannot drop an entry), inert
