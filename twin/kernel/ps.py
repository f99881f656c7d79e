"""Processor sharing by virtual time: one pending completion per shared resource, never a rescan of all jobs.

All jobs on a resource progress at the same speed `speed(n)` (work units per second) when `n` jobs are present.
The virtual clock `V` is the work every present job has received since the resource was created; a job that
arrives at `V0` with demand `d` finishes when `V` reaches `V0 + d`. A heap keyed by that finish point gives the
next completion. When `n` changes, `V` is brought up to date and at most one timer is (re)armed.

Completion is decided in virtual time, never by comparing clock readings: when the timer fires, every job whose
finish point is within a relative tolerance of `V`, or within what the current speed does in one clock ulp, is done.
Without the second bound a job left with less work than one ulp of the clock finishes would re-arm a timer that fires
at the same instant for ever (the clock's resolution coarsens as time grows: 7e-12 s at t = 4e4 s, 2e-9 s at 1e7 s).
"""
from __future__ import annotations

from heapq import heapify, heappop, heappush
from math import ulp
from typing import Any, Callable

import simpy

from twin.kernel.timer import call_later

_EPS = 1e-12
_INF = float("inf")


class SharedProcessor:
    """A resource shared equally by its jobs, with a speed that depends on how many there are.

    `speed_of(n)` gives the per-job speed with n jobs present (n >= 1). `capacity_used(n)` gives how much of the
    resource n jobs keep busy, in the resource's own units (cores, GPUs), for utilisation accounting.
    """

    __slots__ = (
        "_env", "_speed_of", "_capacity_used", "_speeds", "_used", "_heap", "_seq", "_virtual", "_last",
        "_speed", "_armed_at", "work_area", "jobs_area", "busy_time",
    )

    def __init__(
        self,
        env: simpy.Environment,
        speed_of: Callable[[int], float],
        capacity_used: Callable[[int], float],
    ) -> None:
        self._env = env
        self._speed_of = speed_of
        self._capacity_used = capacity_used
        self._speeds: list[float] = [0.0]
        self._used: list[float] = [0.0]
        self._heap: list[tuple[float, int, Callable[[Any], Any], Any]] = []
        self._seq = 0
        self._virtual = 0.0
        self._last = env.now
        self._speed = 0.0
        self._armed_at = _INF
        self.work_area = 0.0  # integral of capacity in use: core-seconds or GPU-seconds
        self.jobs_area = 0.0  # integral of the number of jobs present
        self.busy_time = 0.0  # time with at least one job present

    @property
    def jobs(self) -> int:
        return len(self._heap)

    def start(self, demand: float, done: Callable[[Any], Any], payload: Any) -> int:
        """Add a job needing `demand` work units; `done(payload)` runs when it completes. Returns its handle."""
        self._advance()
        self._seq += 1
        heappush(self._heap, (self._virtual + demand, self._seq, done, payload))
        self._speed = self._speed_for(len(self._heap))
        self._arm()
        return self._seq

    def remove(self, handle: int) -> None:
        """Drop a job before it completes (its process was killed); rare, so a linear scan is fine."""
        self._advance()
        kept = [entry for entry in self._heap if entry[1] != handle]
        if len(kept) == len(self._heap):
            return
        heapify(kept)
        self._heap = kept
        self._speed = self._speed_for(len(kept)) if kept else 0.0
        self._armed_at = _INF  # a pending timer may now be late: re-arm from scratch
        self._arm()

    def _speed_for(self, n: int) -> float:
        speeds = self._speeds
        if n < len(speeds):
            return speeds[n]
        while len(speeds) <= n:
            k = len(speeds)
            speeds.append(self._speed_of(k))
            self._used.append(self._capacity_used(k))
        return speeds[n]

    def _advance(self) -> None:
        now = self._env._now
        dt = now - self._last
        if dt > 0.0:
            n = len(self._heap)
            if n:
                self._virtual += self._speed * dt
                self.work_area += self._used[n] * dt
                self.jobs_area += n * dt
                self.busy_time += dt
            self._last = now

    def _arm(self) -> None:
        """Make sure a timer fires no later than the next completion."""
        heap = self._heap
        if not heap:
            return
        wait = (heap[0][0] - self._virtual) / self._speed
        if wait < 0.0:
            wait = 0.0
        due = self._last + wait  # _last is now: every caller has just advanced
        if due < self._armed_at - _EPS:
            self._armed_at = due
            call_later(self._env, wait, self._on_timer, due)

    def _on_timer(self, event) -> None:
        if event.value != self._armed_at:
            return  # superseded by an earlier timer
        self._armed_at = _INF
        self._advance()
        heap = self._heap
        limit = self._virtual + max(_EPS * max(1.0, abs(self._virtual)), self._speed * ulp(self._last))
        done, payload = None, None
        if heap and heap[0][0] <= limit:
            _, _, done, payload = heappop(heap)
            if heap and heap[0][0] <= limit:  # simultaneous completions: rare, so a list only then
                self._finish_all(limit, done, payload)
                return
        self._speed = self._speed_for(len(heap)) if heap else 0.0
        self._arm()
        if done is not None:
            done(payload)

    def _finish_all(self, limit: float, done, payload) -> None:
        heap = self._heap
        finished = [(done, payload)]
        while heap and heap[0][0] <= limit:
            _, _, done, payload = heappop(heap)
            finished.append((done, payload))
        self._speed = self._speed_for(len(heap)) if heap else 0.0
        self._arm()
        for done, payload in finished:
            done(payload)

    def settle(self) -> None:
        """Bring the utilisation integrals up to the current time (before reading them)."""
        self._advance()
