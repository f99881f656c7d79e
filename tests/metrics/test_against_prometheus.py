"""The proof: the same samples go to the real Prometheus 2.42 engine and to twin.metrics.promql.query; answers must agree.

Samples reach Prometheus bit for bit through its remote-write receiver (stale markers included). The data mimic
a TorchServe deployment scraped every 15 s with per-target phase and millisecond jitter: a counter reset (pod
restart), a two-minute scrape gap, a target that goes stale and returns, gauges with NaN, and a histogram.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from tests.support import prometheus
from twin import errors
from twin.metrics import tsdb
from twin.metrics.promql import query as promql

BASE_MS = 1_700_000_000_000
SCRAPE_MS = 15_000
END_MS = 20 * 60_000  # twenty minutes of data
PODS = ("p0", "p1", "p2", "p3")
PHASE_MS = {"p0": 0, "p1": 3_700, "p2": 7_100, "p3": 11_200}
BUCKETS = ("0.05", "0.1", "0.25", "0.5", "1", "+Inf")
RESET_MS, GAP_MS, STALE_MS, RETURN_MS = 8 * 60_000, (10 * 60_000, 12 * 60_000), 14 * 60_000, 17 * 60_000

QUERIES = (
    "rate(ts_inference_requests_total[1m])",
    "irate(ts_inference_requests_total[1m])",
    "increase(ts_inference_requests_total[2m])",
    "rate(ts_inference_requests_total[45s])",
    "increase(ts_inference_requests_total[5m])",
    "delta(QueueTime[2m])",
    "idelta(QueueTime[1m])",
    "sum(rate(ts_inference_requests_total[1m]))",
    "sum by (model) (rate(ts_inference_requests_total[1m]))",
    "sum without (pod) (increase(ts_inference_requests_total[1m]))",
    "rate(ts_inference_latency_microseconds[1m]) / rate(ts_inference_requests_total[1m])",
    "sum(rate(ts_inference_latency_microseconds[2m])) / sum(rate(ts_inference_requests_total[2m]))",
    "rate(ts_queue_latency_microseconds[1m]) / on(pod) rate(ts_inference_requests_total[1m])",
    "rate(ts_queue_latency_microseconds[1m]) / ignoring(kind) rate(ts_inference_requests_total[1m])",
    "avg_over_time(QueueTime[1m])",
    "max_over_time(QueueTime[2m])",
    "min_over_time(QueueTime[30s])",
    "sum_over_time(QueueTime[1m])",
    "count_over_time(QueueTime[5m])",
    "last_over_time(QueueTime[1m])",
    "QueueTime",
    "QueueTime offset 1m",
    "rate(ts_inference_requests_total[1m] offset 30s)",
    "QueueTime * 1000 + 5",
    "100 - 2 * QueueTime ^ 2",
    "-QueueTime",
    "QueueTime > 0.5",
    "0.5 < QueueTime",
    "QueueTime >= bool 0.5",
    "QueueTime > on(pod) QueueTime offset 15s",
    "avg by (pod) (QueueTime)",
    "count(QueueTime)",
    "max without (pod) (QueueTime)",
    "min(QueueTime)",
    "group by (model) (QueueTime)",
    "avg(nan_gauge)",
    "max_over_time(nan_gauge[2m])",
    "nan_gauge > 1",
    "histogram_quantile(0.9, sum by (le) (rate(request_duration_seconds_bucket[1m])))",
    "histogram_quantile(0.5, rate(request_duration_seconds_bucket[2m]))",
    "scalar(sum(QueueTime)) * 2",
    "vector(3) + scalar(count(QueueTime))",
    "clamp_min(QueueTime, 0.3)",
    "clamp_max(QueueTime, 0.6)",
    "abs(QueueTime - 1)",
    "round(QueueTime, 0.1)",
    'rate(ts_inference_requests_total{pod=~"p[01]"}[1m])',
    'QueueTime{pod!="p0"}',
    'QueueTime{pod!~"p[23]"}',
    "sum(rate(no_such_metric[1m])) or vector(0)",
    "QueueTime and on(pod) rate(ts_inference_requests_total[1m]) > 1",
    "QueueTime unless on(pod) rate(ts_inference_requests_total[1m]) > 1",
    "1 + 2 * 3 - 4 / 8",
    "-2 ^ 2 + 10 % 3 ^ 2 * 2 - 1 - 1",
    "2 > bool 1 + 1",
    "0x10 / -Inf + (-8) ^ (1/3)",
    "QueueTime atan2 0.5",
    "round(-QueueTime, 0.3) / 0",
    "ts_inference_requests_total + on(model) QueueTime",  # many matches: an error in both engines
)


@dataclass
class Data:
    series: dict[tuple, prometheus.Series] = field(default_factory=dict)

    def add(self, labels: dict[str, str], t_ms: int, value: float) -> None:
        key = tuple(sorted(labels.items()))
        if key not in self.series:
            self.series[key] = prometheus.Series(labels, [])
        self.series[key].samples.append((t_ms, value))  # type: ignore[attr-defined]


def _scrape_times(pod: str, rng: np.random.Generator) -> list[int]:
    times = []
    for t in range(PHASE_MS[pod], END_MS, SCRAPE_MS):
        if pod == "p2" and GAP_MS[0] <= t < GAP_MS[1]:
            continue
        if pod == "p3" and STALE_MS < t < RETURN_MS:
            continue
        times.append(BASE_MS + t + int(rng.integers(-40, 41)))
    return times


def _build() -> Data:
    rng = np.random.default_rng(20240607)
    data = Data()
    for pod in PODS:
        req = lat = queue = 0.0
        buckets = [0.0] * len(BUCKETS)
        restarted = pod != "p1"
        for t_ms in _scrape_times(pod, rng):
            if not restarted and t_ms - BASE_MS >= RESET_MS:
                req = lat = queue = 0.0  # pod restart: counters start again
                buckets = [0.0] * len(BUCKETS)
                restarted = True
            n = float(rng.poisson(40))
            req, lat = req + n, lat + n * float(rng.uniform(2e4, 9e4))
            queue += n * float(rng.uniform(0, 3e3))
            base = {"model": "resnet", "pod": pod}
            data.add({"__name__": "ts_inference_requests_total", **base}, t_ms, req)
            data.add({"__name__": "ts_inference_latency_microseconds", **base}, t_ms, lat)
            data.add({"__name__": "ts_queue_latency_microseconds", "kind": "q", **base}, t_ms, queue)
            data.add({"__name__": "QueueTime", **base}, t_ms, float(rng.uniform(0, 1.2)))
            data.add({"__name__": "nan_gauge", **base}, t_ms, math.nan if rng.random() < 0.2 else float(rng.normal()))
            for i, share in enumerate(np.cumsum(rng.dirichlet(np.ones(len(BUCKETS))))):
                buckets[i] += round(n * float(share))
                data.add({"__name__": "request_duration_seconds_bucket", "le": BUCKETS[i], **base}, t_ms, buckets[i])
            if pod == "p3" and STALE_MS - SCRAPE_MS < t_ms - BASE_MS <= STALE_MS:
                for s in list(data.series.values()):  # target vanished: the next scrape writes stale markers
                    if s.labels["pod"] == "p3":
                        s.samples.append((t_ms + SCRAPE_MS, tsdb.STALE_NAN))  # type: ignore[attr-defined]
    return data


def _eval_times(data: Data) -> list[int]:
    times = list(range(BASE_MS + 20_000, BASE_MS + END_MS + 400_000, 31_700))
    p0 = data.series[(("__name__", "QueueTime"), ("model", "resnet"), ("pod", "p0"))].samples
    # Samples exactly on a range's left edge, on the lookback edge, and just past it: inclusive bounds matter.
    edges = [p0[10][0] + 60_000, p0[20][0] + 120_000, p0[-1][0] + 300_000, p0[-1][0] + 300_001, p0[30][0]]
    return sorted(times + edges)


@pytest.fixture(scope="module")
def engines():
    data = _build()
    store = tsdb.SeriesStore(retention_s=7200)
    for s in data.series.values():
        labels = {k: v for k, v in s.labels.items() if k != "__name__"}
        for t_ms, value in s.samples:
            store.append(s.labels["__name__"], labels, t_ms / 1000, value)
    with prometheus.Server() as server:
        server.remote_write(data.series.values())
        yield server, store, _eval_times(data)


def _prom_answer(server: prometheus.Server, query: str, t_ms: int):
    try:
        data = server.query(query, at_s=t_ms / 1000)
    except RuntimeError as err:
        return ("error", str(err))
    if data["resultType"] == "scalar":
        return float(data["result"][1])
    return {tuple(sorted(r["metric"].items())): float(r["value"][1]) for r in data["result"]}


def _twin_answer(store: tsdb.SeriesStore, query: str, t_ms: int):
    try:
        result = promql.evaluate(query, store, now=t_ms / 1000)
    except errors.InputError as err:
        return ("error", str(err))
    if isinstance(result, promql.Scalar):
        return result.value
    return {tuple(sorted(s.labels.items())): s.value for s in result}


def _same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == b or math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-12)


@pytest.mark.parametrize("query", QUERIES)
def test_twin_matches_prometheus(engines, query):
    server, store, times = engines
    answered = refused = 0
    for t_ms in times:
        want, got = _prom_answer(server, query, t_ms), _twin_answer(store, query, t_ms)
        where = f"{query!r} at base+{(t_ms - BASE_MS) / 1000} s: prometheus {want}, twin {got}"
        if isinstance(want, tuple) or isinstance(got, tuple):
            assert isinstance(want, tuple) and isinstance(got, tuple), where  # both refuse, or neither
            refused += 1
            continue
        if isinstance(want, float):
            assert isinstance(got, float) and _same(want, got), where
            answered += not math.isnan(want)
            continue
        assert isinstance(got, dict) and got.keys() == want.keys(), where
        assert all(_same(want[k], got[k]) for k in want), where
        answered += bool(want)
    # Every query must be informative somewhere: a real answer, or (for the error case) a refusal by both.
    assert answered or refused and query == QUERIES[-1] or "(-8)" in query, f"{query!r} never answered anything"


def test_the_data_exercise_the_cases_we_claim(engines):
    """Guard the table's meaning: the reset, gap and staleness really are in the window at some query time."""
    server, _, times = engines
    resets = server.query("resets(ts_inference_requests_total{pod='p1'}[20m])", at_s=(BASE_MS + END_MS) / 1000)
    assert float(resets["result"][0]["value"][1]) == 1.0
    stale_at = (BASE_MS + STALE_MS + SCRAPE_MS + 5_000) / 1000
    assert server.query("QueueTime{pod='p3'}", at_s=stale_at)["result"] == []
    gap_mid = (BASE_MS + 11 * 60_000) / 1000
    assert server.query("count_over_time(QueueTime{pod='p2'}[1m])", at_s=gap_mid)["result"] == []
    assert server.query("QueueTime{pod='p2'}", at_s=gap_mid)["result"] != []  # lookback bridges the gap


def test_lookback_delta_matches_a_prometheus_started_with_the_same_flag(engines):
    _, store, times = engines
    data = _build()
    with prometheus.Server(extra_args=["--query.lookback-delta=1m"]) as server:
        server.remote_write(s for s in data.series.values() if s.labels["__name__"] == "QueueTime")
        for t_ms in times:
            want = server.query("count by (pod) (QueueTime)", at_s=t_ms / 1000)
            got = promql.evaluate("count by (pod) (QueueTime)", store, now=t_ms / 1000, lookback_delta_s=60)
            assert {r["metric"]["pod"] for r in want["result"]} == {s.labels["pod"] for s in got}, t_ms


def test_missing_binary_fails_loudly(monkeypatch):
    monkeypatch.setenv("PATH", "")
    with pytest.raises(RuntimeError, match="install-system-deps"):
        prometheus.Server().start()
