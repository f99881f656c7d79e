"""Exact event timelines of TorchServe's queue and batching with deterministic demands and replayed arrivals."""
from __future__ import annotations

import pytest

from tests.support.scenarios import model_config, scenario
from twin.core.run import simulate


def replay(tmp_path, times, **changes):
    trace = tmp_path / "trace.csv"
    trace.write_text("timestamp\n" + "\n".join(f"{t:.6f}" for t in times) + "\n")
    spec = scenario(workload={"type": "trace", "path": str(trace), "start_s": times[0]},
                    outputs={"per_request": True}, **changes)
    records = simulate(spec).records.sort_values("arrival_s", kind="stable")
    return list(zip(records.arrival_s.round(6), records.latency_s.round(6), records.outcome))


def test_a_lone_request_waits_the_whole_batch_delay(tmp_path):
    result = replay(tmp_path, [1.0], deployment=model_config(batch_size=4, max_batch_delay_ms=100))
    assert result == [(1.0, 0.110, "ok")]  # 100 ms batch delay + 10 ms of CPU


def test_a_full_batch_leaves_at_once_and_the_next_waits_from_its_first_job(tmp_path):
    times = [2.000, 2.010, 2.020, 2.030, 2.040, 2.050]
    result = replay(tmp_path, times, deployment=model_config(batch_size=4, max_batch_delay_ms=100))
    # The first four fill a batch at 2.030 and take 4 x 10 ms: done at 2.070. The worker then takes the two
    # queued jobs at once and waits up to 100 ms from 2.070 for two more: dispatched at 2.170, done at 2.190.
    assert result == [
        (2.000, 0.070, "ok"), (2.010, 0.060, "ok"), (2.020, 0.050, "ok"), (2.030, 0.040, "ok"),
        (2.040, 0.150, "ok"), (2.050, 0.140, "ok"),
    ]


def test_without_batching_requests_are_served_first_come_first_served(tmp_path):
    result = replay(tmp_path, [1.0, 1.0, 1.005], deployment=model_config(batch_size=1))
    assert result == [(1.0, 0.010, "ok"), (1.0, 0.020, "ok"), (1.005, 0.025, "ok")]


def test_a_full_job_queue_answers_503(tmp_path):
    # The worker takes the first job straight from its poll; two fit in the queue; the rest are rejected.
    result = replay(tmp_path, [1.0] * 5, deployment=model_config(job_queue_size=2),
                    model={"cpu_ms": 100})
    assert sorted(r[2] for r in result) == ["ok", "ok", "ok", "queue_full", "queue_full"]
    assert sorted(r[1] for r in result if r[2] == "ok") == [0.1, 0.2, 0.3]


def test_a_model_without_workers_answers_503(tmp_path):
    result = replay(tmp_path, [1.0, 2.0], deployment=model_config(min_workers=0))
    assert [r[2] for r in result] == ["no_worker", "no_worker"]


def test_two_workers_share_the_queue(tmp_path):
    result = replay(tmp_path, [1.0, 1.0, 1.0], deployment=model_config(min_workers=2))
    assert sorted(r[1] for r in result) == [0.010, 0.010, 0.020]


def test_response_timeout_kills_the_worker_and_it_comes_back(tmp_path):
    trace = tmp_path / "trace.csv"
    trace.write_text("timestamp\n0\n")
    spec = scenario(workload={"type": "trace", "path": str(trace), "start_s": 1.0},
                    deployment=model_config(response_timeout_s=2), model={"cpu_ms": 5000, "load_time_s": 1},
                    outputs={"per_request": True})
    result = simulate(spec)
    assert list(result.records.outcome) == ["response_timeout"]
    died = [e for e in result.events if e["event"] == "worker_died"]
    ready = [e for e in result.events if e["event"] == "worker_ready"]
    # checked once a second: the 2 s limit from t=1 is seen at t=3; back-off 1 s, load 1 s: ready again at t=5
    assert [e["time_s"] for e in died] == [3.0]
    assert [e["time_s"] for e in ready] == [0.0, 5.0]


@pytest.mark.parametrize("delay_ms", [0, 50])
def test_a_zero_delay_never_waits_for_more(tmp_path, delay_ms):
    result = replay(tmp_path, [1.0], deployment=model_config(batch_size=8, max_batch_delay_ms=delay_ms))
    assert result == [(1.0, round(0.010 + delay_ms / 1000, 6), "ok")]
