"""Streaming aggregation of responses: counts, sums and quantile sketches, never a list per request
(unless per-request records are asked for)."""
from __future__ import annotations

from twin.kernel import request as outcome
from twin.kernel.sketch import QuantileSketch


class Recorder:
    """Responses by the time their client saw them; the summary counts those that arrived after warm-up."""

    __slots__ = ("warmup_s", "latency", "requests", "errors", "second", "second_errors", "records", "arrived",
                 "answered_ok", "answered_failed")

    def __init__(self, *, warmup_s: float, per_request: bool) -> None:
        self.warmup_s = warmup_s
        self.latency = QuantileSketch()  # successful responses after warm-up, seconds
        self.requests = 0
        self.errors = dict.fromkeys(outcome.ERROR_KINDS, 0)
        self.second = QuantileSketch()  # successful responses in the current time-series interval
        self.second_errors = 0
        self.records: list[tuple[float, float, str, str]] | None = [] if per_request else None
        self.arrived = 0  # every request sent, warm-up included: the ledger's other side (twin.core.ledger)
        self.answered_ok = 0
        self.answered_failed = 0

    def response(self, arrival: float, latency: float, kind: str, pod: str) -> None:
        if kind == "ok":
            self.answered_ok += 1
            self.second.add(latency)
            if arrival >= self.warmup_s:
                self.requests += 1
                self.latency.add(latency)
        else:
            self.answered_failed += 1
            self.second_errors += 1
            if arrival >= self.warmup_s:
                self.requests += 1
                self.errors[kind] += 1
        if self.records is not None:
            self.records.append((arrival, latency, kind, pod))

    def next_interval(self) -> tuple[QuantileSketch, int]:
        """The finished interval's sketch and error count; a fresh interval starts."""
        finished = (self.second, self.second_errors)
        self.second = QuantileSketch()
        self.second_errors = 0
        return finished
