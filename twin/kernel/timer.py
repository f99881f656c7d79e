"""Callbacks at a future simulated time without a SimPy process: one Timeout event, one callback."""
from __future__ import annotations

from typing import Any, Callable

import simpy


def call_later(env: simpy.Environment, delay: float, callback: Callable[[simpy.Event], Any], value: Any = None) -> simpy.Event:
    """Run `callback(event)` after `delay`; `event.value` is `value`. Cheaper than a process per request."""
    event = env.timeout(delay, value)
    event.callbacks.append(callback)
    return event


class Cancellable:
    """A timer that may be cancelled: the callback runs only if the timer is still the current one."""

    __slots__ = ("_env", "_callback", "_token")

    def __init__(self, env: simpy.Environment, callback: Callable[[Any], Any]) -> None:
        self._env = env
        self._callback = callback
        self._token = 0

    def start(self, delay: float, value: Any = None) -> None:
        self._token += 1
        call_later(self._env, delay, self._fire, (self._token, value))

    def cancel(self) -> None:
        self._token += 1

    def _fire(self, event: simpy.Event) -> None:
        token, value = event.value
        if token == self._token:
            self._token += 1
            self._callback(value)
