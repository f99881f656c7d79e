"""Streaming aggregation of responses: counts, sums and quantile sketches, never a list per request
(unless per-request records are asked for).

A response is added to one sketch only, its interval's; the summary's sketch takes each interval when it ends (a
merge over the occupied buckets), so the summary costs nothing per request.
"""
from __future__ import annotations

from twin.kernel import request as outcome
from twin.kernel.sketch import QuantileSketch


class Recorder:
    """Responses by the time their client saw them; the summary counts those that arrived after warm-up."""

    __slots__ = ("warmup_s", "_finished", "requests", "errors", "second", "early", "second_errors", "records",
                 "arrived", "answered_ok", "answered_failed")

    def __init__(self, *, warmup_s: float, per_request: bool) -> None:
        self.warmup_s = warmup_s
        self._finished = QuantileSketch()  # successful responses after warm-up, in finished intervals
        self.requests = 0
        self.errors = dict.fromkeys(outcome.ERROR_KINDS, 0)
        self.second = QuantileSketch()  # successful responses in the current interval that arrived after warm-up
        self.early = QuantileSketch()  # ... and those that arrived before it (in the time series, not the summary)
        self.second_errors = 0
        self.records: list[tuple[float, float, str, str]] | None = [] if per_request else None
        self.arrived = 0  # every request sent, warm-up included: the ledger's other side (twin.core.ledger)
        self.answered_ok = 0
        self.answered_failed = 0

    def response(self, arrival: float, latency: float, kind: str, pod) -> None:
        """One response; `pod` is the pod that answered, or None."""
        if kind == "ok":
            self.answered_ok += 1
            if arrival >= self.warmup_s:
                self.requests += 1
                self.second.add(latency)
            else:
                self.early.add(latency)
        else:
            self.answered_failed += 1
            self.second_errors += 1
            if arrival >= self.warmup_s:
                self.requests += 1
                self.errors[kind] += 1
        if self.records is not None:
            self.records.append((arrival, latency, kind, pod.name if pod is not None else ""))

    @property
    def latency(self) -> QuantileSketch:
        """Successful responses after warm-up, so far."""
        sketch = self._finished.copy()
        sketch.merge(self.second)
        return sketch

    def next_interval(self) -> tuple[QuantileSketch, int]:
        """The finished interval's sketch and error count; a fresh interval starts."""
        self._finished.merge(self.second)
        sketch = self.second
        if self.early.count:
            sketch = sketch.copy()
            sketch.merge(self.early)
            self.early = QuantileSketch()
        finished = (sketch, self.second_errors)
        self.second = QuantileSketch()
        self.second_errors = 0
        return finished
