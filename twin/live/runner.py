"""The live loop: the twin's control steps on a wall clock against a real cluster.

Each step runs on its own period, reads through the live ports and writes through the gate. Nothing that goes wrong
in one step (an API error, Prometheus gone, TorchServe down, even a bug) stops the loop: it is recorded and the
step runs again next period. The loop ends at its duration, when the stop file appears, or on SIGTERM/SIGINT.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass, field
from typing import Callable

from twin.core.control_plane import Periodic
from twin.live.gate import Gate
from twin.ports import Decision, Ports


@dataclass(frozen=True)
class StepError:
    time_s: float
    controller: str
    error: str


@dataclass
class LiveLoop:
    steps: list[Periodic]
    ports: Ports
    gate: Gate
    tick_s: float = 1.0
    on_tick: Callable[[float], None] | None = None  # the shadow's predictions, once a tick
    on_decision: Callable[[Decision], None] | None = None
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    decisions: list[Decision] = field(default_factory=list)
    errors: list[StepError] = field(default_factory=list)

    def run(self, *, duration_s: float | None = None) -> None:
        start = self.clock()
        due = [start] * len(self.steps)
        while not self.gate.halt.halted:
            now = self.clock()
            if duration_s is not None and now - start >= duration_s:
                return
            for index, periodic in enumerate(self.steps):
                if now >= due[index]:
                    due[index] = now + periodic.period_s
                    self._run(periodic, now)
            if self.on_tick is not None:
                self._guarded("shadow", now, lambda: self.on_tick(now))
            self.sleep(max(0.0, min([self.tick_s, *(d - self.clock() for d in due)])))

    def _run(self, periodic: Periodic, now: float) -> None:
        made = self._guarded(periodic.name, now, lambda: periodic.step(now, self.ports)) or []
        for decision in made:
            self.decisions.append(decision)
            if self.on_decision is not None:
                self.on_decision(decision)

    def _guarded(self, name: str, now: float, call: Callable[[], object]):
        try:
            return call()
        except Exception as error:  # noqa: BLE001 - the loop outlives any one failing step, and says why
            last = traceback.extract_tb(error.__traceback__)[-1]
            self.errors.append(StepError(now, name, f"{type(error).__name__}: {error} "
                                                   f"({last.filename.rsplit('/', 1)[-1]}:{last.lineno})"))
            return None
