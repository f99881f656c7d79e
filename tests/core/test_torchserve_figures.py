"""The twin's figures on TorchServe's basis: its accept-to-response time leaves out what happens outside the pod."""
from __future__ import annotations

from pathlib import Path

import pytest

from twin.config.loader import load_scenario
from twin.core import torchserve_figures
from twin.core.run import simulate

SLEEPY = Path(__file__).parents[1] / "live" / "data" / "sleepy.yaml"


def _summary(users: int):
    return simulate(load_scenario(SLEEPY, {
        "duration_s": 30, "warmup_s": 5, "autoscaling": {}, "deployment.torchserve.model.max_workers": 1,
        "workload": [{"type": "closed", "users": users, "network_rtt_ms": 3}]})).summary


def test_one_user_sees_frontend_and_network_on_top_of_torchserve_s_own_latency():
    summary = _summary(1)  # deterministic 50 ms of work; 2 ms frontend + 3 ms network outside TorchServe's timer
    figures = summary.torchserve
    assert figures["latency_ms"] == pytest.approx(50.0, abs=0.01) and figures["queue_latency_ms"] < 0.01
    assert summary.latency_ms["mean"] == pytest.approx(55.0, abs=0.01)
    assert figures["requests_rps"] == pytest.approx(1000 / 55, rel=0.01) == figures["status_2xx_rps"]
    assert figures["status_5xx_rps"] == 0


def test_with_two_users_on_one_worker_each_waits_for_the_other_in_torchserve_s_queue():
    figures = _summary(2).torchserve  # the worker never idles: 20 req/s; each request queues behind the other's
    assert figures["requests_rps"] == pytest.approx(20.0, rel=0.01)
    assert figures["latency_ms"] == pytest.approx(95.0, abs=1.0)  # a cycle of 100 ms less the 5 ms outside
    assert figures["queue_latency_ms"] == pytest.approx(45.0, abs=1.0)


def test_a_counter_that_went_down_counts_from_zero_as_rate_does():
    start = {"p": (100, 5e6, 1e6, 100, 0, 0)}
    end = {"p": (10, 1e6, 0.0, 9, 0, 1), "q": (10, 2e6, 0.0, 10, 0, 0)}  # p restarted; q is new
    figures = torchserve_figures.figures(start, end, window_s=10.0)
    assert figures["requests_rps"] == 2.0 and figures["latency_ms"] == pytest.approx(150.0)
    assert figures["status_5xx_rps"] == 0.1
