"""The closed-loop load generator: JMeter's statistics, bounds and errors, then against a real TorchServe."""

import asyncio
import csv
import socket
from collections import Counter
from pathlib import Path

import pytest

from tests.support.torchserve import SLEEPY, RealTorchServe
from twin.live import loadgen

SLEEP_S = 0.050  # the fixture's sleepy model
RUN_S = 3.0


def test_percent_point_rounds_half_up_like_jmeter() -> None:
    ranked = [float(value) for value in range(1, 11)]
    assert loadgen.percent_point(ranked, 0.25) == 3.0  # round(2.5) is 3 in Java, 2 in Python
    assert loadgen.percent_point(ranked, 0.50) == 5.0
    assert loadgen.percent_point(ranked, 0.95) == 10.0
    assert loadgen.percent_point(ranked, 0.01) == 1.0
    assert loadgen.percent_point([], 0.5) == 0.0


def test_throughput_spans_first_start_to_last_end() -> None:
    accumulator = loadgen.SummaryAccumulator()
    for start, elapsed, status in ((100.0, 0.5, "200"), (100.2, 0.8, "200"), (100.5, 1.5, "503")):
        accumulator.add(loadgen.Sample(start=start, elapsed_s=elapsed, latency_s=elapsed, connect_s=0.0,
                                       status=status, message="", ok=status == "200", thread="t",
                                       bytes_received=0, bytes_sent=0, active_users=1))
    summary = accumulator.summary()
    assert summary.throughput_rps == pytest.approx(3 / 2.0)
    assert summary.mean_ms == pytest.approx(2800 / 3)
    assert summary.error_pct == pytest.approx(100 / 3)
    assert summary.by_status == {"200": 2, "503": 1}


def test_config_rejects_unbounded_or_empty_groups() -> None:
    with pytest.raises(ValueError, match="users"):
        loadgen.LoadConfig(base_url="http://127.0.0.1:1", model="m", users=0)
    with pytest.raises(ValueError, match="max_requests"):
        loadgen.LoadConfig(base_url="http://127.0.0.1:1", model="m", max_requests=0)


def test_refused_connections_are_non_http_errors() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        config = loadgen.LoadConfig(base_url=f"http://127.0.0.1:{port}", model="m", users=2, max_requests=4)
        summary = loadgen.run_load_sync(config)
    assert summary.count == 4 and summary.error_pct == 100.0
    assert all(code.startswith("Non HTTP response code: ") for code in summary.by_status)


def _run(server: RealTorchServe, *, users: int, jtl_path: Path | None = None,
         samples: list[loadgen.Sample] | None = None) -> loadgen.LoadSummary:
    config = loadgen.LoadConfig(base_url=server.urls.inference, model=SLEEPY, users=users, duration_s=RUN_S,
                                jtl_path=jtl_path)
    return asyncio.run(loadgen.run_load(config, on_sample=None if samples is None else samples.append))


@pytest.fixture(scope="module")
def one_worker_runs(torchserve: RealTorchServe, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    torchserve.scale(SLEEPY, 1)
    jtl = tmp_path_factory.mktemp("jtl") / "two_users.jtl"
    samples: list[loadgen.Sample] = []
    one = _run(torchserve, users=1)
    two = _run(torchserve, users=2, jtl_path=jtl, samples=samples)
    return {"one": one, "two": two, "jtl": jtl, "samples": samples}


def test_one_user_one_worker_runs_at_the_service_rate(one_worker_runs: dict) -> None:
    one = one_worker_runs["one"]
    assert one.errors == 0
    assert 0.5 / SLEEP_S < one.throughput_rps <= 1.02 / SLEEP_S  # one worker can never beat 1 / sleep
    assert SLEEP_S * 1000 <= one.mean_ms < 2 * SLEEP_S * 1000
    assert one.count == pytest.approx(one.throughput_rps * RUN_S, rel=0.15)


def test_second_user_on_one_worker_doubles_latency_not_throughput(one_worker_runs: dict) -> None:
    one, two = one_worker_runs["one"], one_worker_runs["two"]
    assert two.throughput_rps <= 1.02 / SLEEP_S
    assert two.throughput_rps == pytest.approx(one.throughput_rps, rel=0.3)
    assert 1.6 < two.mean_ms / one.mean_ms < 2.4


def test_each_user_keeps_one_connection(one_worker_runs: dict) -> None:
    samples = one_worker_runs["samples"]
    connects = Counter(sample.thread for sample in samples if sample.connect_s > 0)
    assert connects == {"Thread Group 1-1": 1, "Thread Group 1-2": 1}
    assert Counter(sample.thread for sample in samples)["Thread Group 1-2"] > 10


def test_jtl_has_jmeter_header_and_one_row_per_request(one_worker_runs: dict) -> None:
    with open(one_worker_runs["jtl"], newline="") as stream:
        rows = list(csv.reader(stream))
    assert tuple(rows[0]) == loadgen.JTL_COLUMNS
    assert len(rows) - 1 == one_worker_runs["two"].count
    record = dict(zip(rows[0], rows[1]))
    assert record["responseCode"] == "200" and record["success"] == "true" and record["label"] == SLEEPY
    assert int(record["elapsed"]) >= SLEEP_S * 1000 and int(record["timeStamp"]) > 1_600_000_000_000
    assert record["URL"].endswith(f"/predictions/{SLEEPY}")


def test_two_workers_double_throughput(torchserve: RealTorchServe, one_worker_runs: dict) -> None:
    torchserve.scale(SLEEPY, 2)
    try:
        two_workers = _run(torchserve, users=2)
    finally:
        torchserve.scale(SLEEPY, 1)
    assert 1.5 < two_workers.throughput_rps / one_worker_runs["two"].throughput_rps < 2.3
    assert two_workers.mean_ms < 0.75 * one_worker_runs["two"].mean_ms


def test_max_requests_and_unknown_model_errors(torchserve: RealTorchServe) -> None:
    config = loadgen.LoadConfig(base_url=torchserve.urls.inference, model="missing", users=2, max_requests=5)
    summary = loadgen.run_load_sync(config)
    assert summary.count == 5 and summary.by_status == {"404": 5} and summary.error_pct == 100.0
