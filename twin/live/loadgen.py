"""Closed-loop HTTP load generator in the manner of a JMeter thread group, on asyncio + aiohttp.

Fidelity ledger (Apache JMeter 5.6.3: ThreadGroup, HTTPSamplerProxy, Calculator, StatCalculator, CSV JTL):
- Modelled: N users started evenly over the ramp-up (user i at i * ramp_up / N); the scheduler's duration
  counts from the test start, a user starts no request after it and finishes the one in flight; think time
  after each sample; one keep-alive connection per user for its life (JMeter's HttpClient4 keeps one
  connection per thread); success = response code 200-399; JTL timeStamp = sample start
  (`sampleresult.timestamp.start=true` in the shipped jmeter.properties), elapsed/Latency/Connect in ms;
  throughput = count / (last sample end - first sample start) as Calculator.getRate; percentiles as
  StatCalculator.getPercentPoint (value at rank round(n * p)).
- Not modelled: assertions (failureMessage stays empty, as without assertions), loops/iterations, timers
  other than a constant think time, cookies, embedded resources, the exact byte counts of request
  headers (`sentBytes` counts the body only; `bytes` counts response body and header lines).
Bounded: stops by itself at the duration or after `max_requests` samples, whichever comes first.
"""

from __future__ import annotations

import asyncio
import csv
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Callable, TextIO

import aiohttp

JTL_COLUMNS = ("timeStamp", "elapsed", "label", "responseCode", "responseMessage", "threadName", "dataType",
               "success", "failureMessage", "bytes", "sentBytes", "grpThreads", "allThreads", "URL", "Latency",
               "IdleTime", "Connect")
_STOP_GRACE_S = 5.0  # after duration + request timeout, cancel whatever is still running


@dataclass(frozen=True)
class LoadConfig:
    """One thread group against `POST {base_url}/predictions/{model}`."""

    base_url: str
    model: str
    users: int = 1
    ramp_up_s: float = 0.0
    duration_s: float = 10.0
    think_time_s: float = 0.0
    max_requests: int | None = None
    payload: bytes = b"{}"
    content_type: str = "application/json"
    headers: tuple[tuple[str, str], ...] = ()
    request_timeout_s: float = 30.0
    group_name: str = "Thread Group 1"
    jtl_path: Path | None = None

    def __post_init__(self) -> None:
        if not 1 <= self.users <= 1000:
            raise ValueError(f"users: expected 1..1000, got {self.users}")
        if self.duration_s <= 0 or self.request_timeout_s <= 0:
            raise ValueError("duration_s and request_timeout_s must be positive")
        if self.ramp_up_s < 0 or self.think_time_s < 0:
            raise ValueError("ramp_up_s and think_time_s must not be negative")
        if self.max_requests is not None and self.max_requests < 1:
            raise ValueError(f"max_requests: expected >= 1 or None, got {self.max_requests}")

    @property
    def url(self) -> str:
        return f"{self.base_url.rstrip('/')}/predictions/{self.model}"


@dataclass(frozen=True)
class Sample:
    """One request, as a JTL row holds it (times in seconds; `start` is epoch)."""

    start: float
    elapsed_s: float
    latency_s: float
    connect_s: float
    status: str
    message: str
    ok: bool
    thread: str
    bytes_received: int
    bytes_sent: int
    active_users: int


@dataclass(frozen=True)
class LoadSummary:
    count: int
    errors: int
    error_pct: float
    throughput_rps: float
    mean_ms: float
    min_ms: float
    max_ms: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    by_status: dict[str, int]


@dataclass
class SummaryAccumulator:
    """Aggregates samples as they arrive; elapsed times are kept for exact percentiles (runs are bounded)."""

    elapsed_ms: list[float] = field(default_factory=list)
    errors: int = 0
    by_status: dict[str, int] = field(default_factory=dict)
    first_start: float = math.inf
    last_end: float = -math.inf

    def add(self, sample: Sample) -> None:
        self.elapsed_ms.append(sample.elapsed_s * 1000.0)
        self.errors += not sample.ok
        self.by_status[sample.status] = self.by_status.get(sample.status, 0) + 1
        self.first_start = min(self.first_start, sample.start)
        self.last_end = max(self.last_end, sample.start + sample.elapsed_s)

    def summary(self) -> LoadSummary:
        count = len(self.elapsed_ms)
        ranked = sorted(self.elapsed_ms)
        span = self.last_end - self.first_start
        return LoadSummary(
            count=count, errors=self.errors, error_pct=100.0 * self.errors / count if count else 0.0,
            throughput_rps=count / span if count and span > 0 else 0.0,
            mean_ms=sum(ranked) / count if count else 0.0, min_ms=ranked[0] if count else 0.0,
            max_ms=ranked[-1] if count else 0.0, p50_ms=percent_point(ranked, 0.50),
            p90_ms=percent_point(ranked, 0.90), p95_ms=percent_point(ranked, 0.95),
            p99_ms=percent_point(ranked, 0.99), by_status=dict(self.by_status))


def percent_point(ranked: list[float], percent: float) -> float:
    """JMeter's StatCalculator.getPercentPoint over sorted values: the value at rank round(n * percent)."""
    if not ranked:
        return 0.0
    if percent >= 1.0:
        return ranked[-1]
    target = math.floor(len(ranked) * percent + 0.5)  # Java Math.round: half up
    return ranked[max(target, 1) - 1]


class JtlWriter:
    """Writes samples as JMeter's CSV result file (default column set, header line, ms units)."""

    def __init__(self, stream: TextIO, *, config: LoadConfig):
        self._csv = csv.writer(stream, lineterminator="\n")
        self._config = config
        self._csv.writerow(JTL_COLUMNS)

    def write(self, sample: Sample) -> None:
        self._csv.writerow((
            round(sample.start * 1000), round(sample.elapsed_s * 1000), self._config.model, sample.status,
            sample.message, sample.thread, "text", "true" if sample.ok else "false", "", sample.bytes_received,
            sample.bytes_sent, sample.active_users, sample.active_users, self._config.url,
            round(sample.latency_s * 1000), 0, round(sample.connect_s * 1000)))


@dataclass
class _Run:
    """State the users share: clocks, the request budget and where samples go."""

    config: LoadConfig
    sinks: list[Callable[[Sample], None]]
    epoch0: float = field(default_factory=time.time)
    perf0: float = field(default_factory=time.perf_counter)
    issued: int = 0
    active: int = 0

    def may_start(self) -> bool:
        within_time = time.perf_counter() - self.perf0 < self.config.duration_s
        within_count = self.config.max_requests is None or self.issued < self.config.max_requests
        if within_time and within_count:
            self.issued += 1
            return True
        return False

    def epoch(self, perf: float) -> float:
        return self.epoch0 + (perf - self.perf0)

    def record(self, sample: Sample) -> None:
        for sink in self.sinks:
            sink(sample)


async def run_load(config: LoadConfig, *, on_sample: Callable[[Sample], None] | None = None) -> LoadSummary:
    """Run the thread group to its end and return the summary; writes the JTL when `config.jtl_path` is set."""
    accumulator = SummaryAccumulator()
    sinks = [accumulator.add] + ([on_sample] if on_sample else [])
    jtl = open(config.jtl_path, "w", newline="", encoding="utf-8") if config.jtl_path else None
    try:
        if jtl:
            sinks.append(JtlWriter(jtl, config=config).write)
        run = _Run(config=config, sinks=sinks)
        users = [_user(run, index) for index in range(config.users)]
        limit = config.ramp_up_s + config.duration_s + config.request_timeout_s + _STOP_GRACE_S
        await asyncio.wait_for(asyncio.gather(*users), timeout=limit)
    finally:
        if jtl:
            jtl.close()
    return accumulator.summary()


def run_load_sync(config: LoadConfig) -> LoadSummary:
    return asyncio.run(run_load(config))


async def _user(run: _Run, index: int) -> None:
    config = run.config
    await asyncio.sleep(index * config.ramp_up_s / config.users)
    thread = f"{config.group_name}-{index + 1}"
    tracing = aiohttp.TraceConfig()
    tracing.on_connection_create_start.append(_connect_started)
    tracing.on_connection_create_end.append(_connect_ended)
    connector = aiohttp.TCPConnector(limit=1)  # the user's one keep-alive connection
    timeout = aiohttp.ClientTimeout(total=config.request_timeout_s)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout, trace_configs=[tracing]) as session:
        run.active += 1
        try:
            while run.may_start():
                run.record(await _sample(session, run, thread))
                if config.think_time_s:
                    await asyncio.sleep(config.think_time_s)
        finally:
            run.active -= 1


async def _sample(session: aiohttp.ClientSession, run: _Run, thread: str) -> Sample:
    config = run.config
    timing = SimpleNamespace(connect_start=0.0, connect_s=0.0)
    headers = {"Content-Type": config.content_type, **dict(config.headers)}
    begun = time.perf_counter()
    latency = 0.0
    received = 0
    try:
        async with session.post(config.url, data=config.payload, headers=headers,
                                trace_request_ctx=timing) as response:
            latency = time.perf_counter() - begun
            body = await response.read()
            received = len(body) + sum(len(k) + len(v) + 4 for k, v in response.raw_headers)
            status, message = str(response.status), response.reason or ""
            ok = 200 <= response.status < 400
    except (aiohttp.ClientError, asyncio.TimeoutError) as error:
        status = f"Non HTTP response code: {type(error).__name__}"
        message = f"Non HTTP response message: {error}"
        ok = False
    elapsed = time.perf_counter() - begun
    return Sample(start=run.epoch(begun), elapsed_s=elapsed, latency_s=latency,
                  connect_s=timing.connect_s, status=status, message=message, ok=ok, thread=thread,
                  bytes_received=received, bytes_sent=len(config.payload), active_users=run.active)


async def _connect_started(_session: object, context: SimpleNamespace, _params: object) -> None:
    context.trace_request_ctx.connect_start = time.perf_counter()


async def _connect_ended(_session: object, context: SimpleNamespace, _params: object) -> None:
    timing = context.trace_request_ctx
    timing.connect_s = time.perf_counter() - timing.connect_start
