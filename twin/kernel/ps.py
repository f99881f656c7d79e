"""Processor sharing by virtual time: one pending completion per shared resource, never a rescan of all jobs.

All jobs on a resource progress at the same speed `speed(n)` (work units per second) when `n` jobs are present.
The virtual clock `V` is the work every present job has received since the resource was created; a job that
arrives at `V0` with demand `d` finishes when `V` reaches `V0 + d`. A heap keyed by that finish point gives the
next completion, and one cancellable timer (the completion slot) stands for it: when the next completion moves
(the speed changed, or a new job finishes first) the slot is cancelled and re-armed, so no timer fires early or for
nothing. A job that neither changes the speed nor finishes first (an uncontended CPU) leaves the slot alone.

Completion is decided in virtual time, never by comparing clock readings: the slot stands for the head job, so when
it fires that job is done, however little work the clock could still resolve (its resolution coarsens as time grows:
7e-12 s at t = 4e4 s, 2e-9 s at 1e7 s; re-checking the work left against a fixed tolerance re-armed a zero-length
timer for ever). Other jobs finish with it when their finish point is within a relative tolerance of `V` or within
what the current speed does in one clock ulp.
"""
from __future__ import annotations

from heapq import heapify, heappop, heappush
from math import ulp
from typing import Any, Callable

import simpy

from twin.kernel import timer

_EPS = 1e-12
# ulp(t) <= t * 2**-52, so speed * ulp(t) stays below a tolerance whenever speed * t <= tolerance * 4e15 (a margin
# of 0.89 covers the products' rounding): then the ulp need not be computed
_ULP_BOUND = 4e15


class SharedProcessor:
    """A resource shared equally by its jobs, with a speed that depends on how many there are.

    `speed_of(n)` gives the per-job speed with n jobs present (n >= 1). `capacity_used(n)` gives how much of the
    resource n jobs keep busy, in the resource's own units (cores, GPUs), for utilisation accounting.
    """

    __slots__ = (
        "_env", "_speed_of", "_capacity_used", "_speeds", "_used", "_heap", "_seq", "_virtual", "_last",
        "_speed", "_slot", "_fire", "work_area", "jobs_area",
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
        self._slot: timer.Call | None = None  # the pending completion timer
        self._fire = (self._on_timer,)  # its callbacks: a tuple serves the run loop as well as a list, made once
        self.work_area = 0.0  # integral of capacity in use: core-seconds or GPU-seconds
        self.jobs_area = 0.0  # integral of the number of jobs present

    @property
    def jobs(self) -> int:
        return len(self._heap)

    def start(self, demand: float, done: Callable[[Any], Any], payload: Any) -> int:
        """Add a job needing `demand` work units; `done(payload)` runs when it completes. Returns its handle."""
        heap = self._heap
        now = self._env._now
        n = len(heap)
        if n:  # _advance, inlined: every job starts here
            dt = now - self._last
            if dt > 0.0:
                self._virtual += self._speed * dt
                self.work_area += self._used[n] * dt
                self.jobs_area += n * dt
        self._last = now  # (when idle until now there is nothing to integrate)
        self._seq = seq = self._seq + 1
        heappush(heap, (self._virtual + demand, seq, done, payload))
        n += 1
        try:
            speed = self._speeds[n]
        except IndexError:
            speed = self._speed_for(n)
        if speed != self._speed or heap[0][1] == seq or self._slot is None:
            self._speed = speed
            self._arm()
        return seq

    def remove(self, handle: int) -> None:
        """Drop a job before it completes (its process was killed); rare, so a linear scan is fine."""
        self._advance()
        kept = [entry for entry in self._heap if entry[1] != handle]
        if len(kept) == len(self._heap):
            return
        heapify(kept)
        self._heap = kept
        self._speed = self._speed_for(len(kept)) if kept else 0.0
        self._arm()

    def reshape(self, speed_of: Callable[[int], float], capacity_used: Callable[[int], float]) -> None:
        """New rules for the speed and capacity from now on (work beside the jobs started or ended: a worker
        loading its model); rare, so the cached speeds are simply rebuilt."""
        self._advance()
        self._speed_of, self._capacity_used = speed_of, capacity_used
        self._speeds, self._used = [0.0], [0.0]
        if self._heap:
            self._speed = self._speed_for(len(self._heap))
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
            self._last = now

    def _arm(self) -> None:
        """Cancel the pending completion and arm one for the next (every caller has just advanced to now)."""
        slot = self._slot
        if slot is not None:
            slot.callbacks = timer.NOTHING
        heap = self._heap
        if heap:
            wait = (heap[0][0] - self._virtual) / self._speed
            env = self._env
            self._slot = slot = timer.Call()  # timer.call_later, inlined: this is the hottest schedule
            slot.callbacks = self._fire
            slot._ok = True
            heappush(env._queue, (env._now + (wait if wait > 0.0 else 0.0), 1, next(env._eid), slot))
        else:
            self._slot = None

    def _on_timer(self, event: timer.Call) -> None:
        heap = self._heap
        env = self._env
        now = env._now  # _advance, inlined: the heap is not empty here
        dt = now - self._last
        if dt > 0.0:
            n = len(heap)
            self._virtual += self._speed * dt
            self.work_area += self._used[n] * dt
            self.jobs_area += n * dt
            self._last = now
        _, _, done, payload = heappop(heap)
        if heap:
            virtual = self._virtual
            tolerance = _EPS * (virtual if virtual > 1.0 else 1.0)
            if self._speed * now > tolerance * _ULP_BOUND:  # else one clock ulp's work is below the tolerance
                tolerance = max(tolerance, self._speed * ulp(now))
            limit = virtual + tolerance
            head = heap[0][0]
            if head <= limit:  # simultaneous completions: rare, so a list only then
                self._slot = None
                self._finish_all(limit, done, payload)
                return
            n = len(heap)
            try:
                self._speed = speed = self._speeds[n]
            except IndexError:
                self._speed = speed = self._speed_for(n)
            wait = (head - virtual) / speed  # _arm, inlined, with the timer that fired serving again
            event.callbacks = self._fire
            heappush(env._queue, (now + (wait if wait > 0.0 else 0.0), 1, next(env._eid), event))
        else:
            self._slot = None
            self._speed = 0.0
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
