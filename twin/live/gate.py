"""The write gate: the single door through which the live adapter changes a cluster.

For each write: refuse it when halted; review it against the guardrails; compare its target state with the current
one (equal: nothing is sent, so a repeated or resumed action is never applied twice); journal the intent; then, by
mode, record it (`shadow`: in memory only, `dry-run`: in the journal) or send it (`enact`) with bounded retries.
In shadow mode nothing was ever sent, and the outcomes say what the gate would have done: "would send", "would be
refused by the guardrails: … would have been written 2 s ago".
A failed write leaves an outcome line and the loop goes on; the next period decides again from fresh observations.
A send whose answer is lost (a timeout, a dropped connection) may have been applied: the target state is read again
before any retry, and a target the cluster holds is journaled as applied ("its answer lost"), never sent twice.
"""
from __future__ import annotations

import contextlib
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

from twin.live.failures import ApiFailure
from twin.live.guardrails import Review, Value, Write
from twin.live.journal import Journal

MODES = ("shadow", "dry-run", "enact")


@dataclass(frozen=True)
class Outcome:
    status: str  # applied | unchanged | refused | dry-run | shadow | failed | halted | deferred | infeasible
    value: Value
    detail: str = ""


@dataclass(frozen=True)
class Retry:
    attempts: int = 5
    first_backoff_s: float = 0.5
    max_backoff_s: float = 8.0


class Halt:
    """Stops every write at once: a stop file appears, or SIGTERM/SIGINT arrives."""

    def __init__(self, stop_file: Path | None = None) -> None:
        self.stop_file = stop_file
        self.signalled = False

    @contextlib.contextmanager
    def installed(self) -> Iterator["Halt"]:
        """SIGTERM and SIGINT set the halt (instead of killing mid-write) while the block runs."""
        previous = {number: signal.signal(number, self._on_signal) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            yield self
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)

    def _on_signal(self, _number, _frame) -> None:
        self.signalled = True

    @property
    def halted(self) -> bool:
        return self.signalled or (self.stop_file is not None and self.stop_file.exists())


@dataclass
class Gate:
    mode: str
    review: Review
    journal: Journal
    halt: Halt = field(default_factory=Halt)
    retry: Retry = field(default_factory=Retry)
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep
    key: str | None = None  # names the next writes in the journal (a replay's decision), else their target
    outcomes: list[tuple[Write, Outcome]] = field(default_factory=list)  # every write's outcome, in order

    def __post_init__(self) -> None:
        self.review.shadow = self.mode == "shadow"

    def apply(self, write: Write, *, current: Callable[[], Value], send: Callable[[Value], object],
              key: str | None = None) -> Outcome:
        key = key or self.key or write.target
        if self.halt.halted:
            return self._record(key, write, Outcome("halted", write.value, "stop requested"))
        now = self.clock()
        try:
            state = current()
        except ApiFailure as failure:
            return self._record(key, write, Outcome("failed", write.value, f"reading current state: {failure}"))
        verdict = self.review.review(write, current=state, now=now)
        if not verdict.allowed:
            refused = self._would("be refused by the guardrails", verdict.reason)
            return self._record(key, write, Outcome("refused", write.value, refused))
        if _reached(verdict.value, state):
            return self._record(key, write, Outcome("unchanged", verdict.value, "the cluster already holds it"))
        self.review.sent(write, now)
        if self.mode != "enact":
            return self._record(key, write, Outcome(self.mode, verdict.value, self._would("send", verdict.reason)))
        self.journal.log(key, "intent", **_fields(write, verdict.value), detail=verdict.reason)
        outcome = self._send(write, verdict.value, current=current, send=send)
        self.journal.log(key, outcome.status, detail=outcome.detail or verdict.reason)
        self.outcomes.append((write, outcome))
        return outcome

    def notice(self, write: Write, status: str, detail: str) -> Outcome:
        """What the cluster did with a write after it was sent (a resize the kubelet defers or cannot fit): an
        outcome and a journal line like any other, sending nothing."""
        return self._record(write.target, write, Outcome(status, write.value, detail))

    def _would(self, verb: str, reason: str) -> str:
        """Shadow mode's outcomes are hypothetical: "would send", "would be refused: ..."."""
        if self.mode != "shadow":
            return reason
        return f"would {verb}" + (f": {reason}" if reason else "")

    def _send(self, write: Write, value: Value, *, current, send) -> Outcome:
        backoff = self.retry.first_backoff_s
        for attempt in range(1, self.retry.attempts + 1):
            if self.halt.halted:
                return Outcome("halted", value, f"stop requested before attempt {attempt}")
            try:
                send(value)
                return Outcome("applied", value, f"attempt {attempt}")
            except ApiFailure as failure:
                held = _held_after(failure, value, current)
                if held:
                    return Outcome("applied", value, held)
                if not failure.retryable or attempt == self.retry.attempts:
                    return Outcome("failed", value, str(failure))
                self.sleep(min(max(failure.retry_after_s or 0.0, backoff), self.retry.max_backoff_s))
                backoff = min(2 * backoff, self.retry.max_backoff_s)
        raise AssertionError("unreachable")

    def _record(self, key: str, write: Write, outcome: Outcome) -> Outcome:
        """Shadow mode writes nothing at all, not even a journal; the other modes journal every outcome."""
        if self.mode != "shadow":
            self.journal.log(key, outcome.status, **_fields(write, outcome.value), detail=outcome.detail)
        self.outcomes.append((write, outcome))
        return outcome


def _fields(write: Write, value: Value) -> dict:
    return {"action": write.action, "namespace": write.namespace, "target": write.target, "value": dict(value)}


def _reached(value: Value, state: Value) -> bool:
    return all(key in state and _same(state[key], wanted) for key, wanted in value.items())


def _same(have, wanted) -> bool:
    if isinstance(wanted, (int, float)) and isinstance(have, (int, float)):
        return abs(float(have) - float(wanted)) <= 1e-9 * max(1.0, abs(float(wanted)))
    return str(have) == str(wanted)


def _held_after(failure: ApiFailure, value: Value, current: Callable[[], Value]) -> str:
    """Why a failed send counts as applied: a 409 whose target another writer reached, or a call with no answer
    (timeout, dropped connection) that the server applied anyway; "" when the cluster does not hold the target."""
    unanswered = failure.status is None and failure.retryable  # a retryable failure without a status: no answer
    if not (failure.conflict or unanswered) or not _reached(value, _safe(current)):
        return ""
    return "already applied by another writer" if failure.conflict else f"applied, its answer lost ({failure})"


def _safe(current: Callable[[], Value]) -> Value:
    try:
        return current()
    except ApiFailure:
        return {}
