"""The run loop: SimPy's `Environment.step` inlined, with a liveness guard.

A model bug that schedules events forever at one instant (a timer shorter than the clock's resolution, a callback
that re-arms itself at zero delay) would make `env.run` spin for ever. Here, when simulated time has not advanced
for `stall_events` events in a row, the run stops with `Stalled`, naming the component whose callback kept firing.
"""
from __future__ import annotations

from heapq import heappop, heappush

import simpy

from twin.kernel import timer

_AFTER_NORMAL = 2  # simpy's priorities: URGENT 0, NORMAL 1
STALL_EVENTS = 1_000_000  # far more events than any legitimate instant holds (every pod and user starting at once)


class Stalled(RuntimeError):
    """Simulated time stopped advancing: the model is livelocked."""


def run_until(env: simpy.Environment, end: float, *, stall_events: int = STALL_EVENTS) -> None:
    """Process every event due at or before `end` (those at `end` included), then leave the clock at `end`.

    A marker queued at `end` behind every ordinary event there ends the loop, so no event pays for a look at the
    queue's head."""
    queue = env._queue
    marker = timer.Call()
    marker.callbacks, marker._ok = timer.NOTHING, True  # inert, should an error leave it on the queue
    heappush(queue, (end, _AFTER_NORMAL, next(env._eid), marker))
    last = env._now
    same = 0
    while True:
        now, _, _, event = heappop(queue)
        if event is marker:
            break
        if now != last:
            last = now
            same = 0
        else:
            same += 1
            if same >= stall_events:
                raise Stalled(f"simulated time stuck at t = {now!r} s for {same:,} events; "
                              f"still firing: {component(event)}")
        env._now = now
        callbacks, event.callbacks = event.callbacks, None
        for callback in callbacks:
            callback(event)
        if not event._ok and not hasattr(event, "_defused"):
            raise event._value
    env._now = end


def component(event) -> str:
    """Who an event calls back: `Class.method` of a bound method, or the generator of a SimPy process."""
    names = []
    for callback in event.callbacks or ():
        owner = getattr(callback, "__self__", None)
        if isinstance(owner, simpy.Process):
            names.append(f"process {owner._generator.__qualname__}")
        elif owner is not None:
            names.append(f"{type(owner).__qualname__}.{callback.__name__} ({type(owner).__module__})")
        else:
            names.append(getattr(callback, "__qualname__", repr(callback)))
    return ", ".join(names) or repr(event)
