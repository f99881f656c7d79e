"""Ending a run early, between two events, so that what was simulated so far can still be summarised.

`Stop.request()` may be called from a signal handler (Ctrl-C): it puts one event on the clock's queue at the current
instant (a single heap push, which no handler can split), and that event raises `Stopped` when its turn comes. The
event in progress finishes first, so the world is never left half-way through one.
"""
from __future__ import annotations

import simpy

from twin.kernel.timer import call_later


class Stopped(Exception):
    """The run was asked to stop; the world holds everything simulated up to `env.now`."""


class Stop:
    def __init__(self) -> None:
        self.requested = False
        self._env: simpy.Environment | None = None

    def attach(self, env: simpy.Environment) -> None:
        self._env = env
        if self.requested:
            self._schedule()

    def request(self) -> None:
        self.requested = True
        if self._env is not None:
            self._schedule()

    def _schedule(self) -> None:
        call_later(self._env, 0.0, _raise)


def _raise(_event) -> None:
    raise Stopped
