"""The twin against exact queueing results, at loads where a queueing bug shows.

Tolerances: the relative error of each check was measured over 10 seeds (seeds 1-10, same durations); its standard
deviation is 2.5-3.5 % for the open queues at ρ ≥ 0.9 (long autocorrelation), 2 % for the closed loop's response time
and 1 % for its throughput. Each tolerance is about 4 such standard deviations: a correct twin passes, while a
queueing bug at these loads (wrong discipline, lost server, wrong sharing) moves the mean by 20 % or more.
"""
from __future__ import annotations

import numpy as np
import pytest

from tests.support.scenarios import scenario
from twin.core.run import simulate
from twin.core.world import World
from twin.theory.queueing import expected_connected_pods, mm1_ps_mean_response, mmc_mean_response, mva

EXPONENTIAL = {"demand_distribution": "exponential", "frontend_ms": 0}


def mean_response_s(result) -> float:
    return result.summary.latency_ms["mean"] / 1000


@pytest.mark.parametrize("servers, rho, duration_s", [(1, 0.9, 3000), (4, 0.9, 600), (8, 0.95, 400)])
def test_workers_of_a_pod_are_an_m_m_c_queue(servers, rho, duration_s):
    service = 0.010
    rate = rho * servers / service
    spec = scenario(
        duration_s=duration_s, warmup_s=50,
        node_pools=[{"name": "cpu", "vcpus": 16, "memory_gib": 64, "image_cached": True}],
        model={**EXPONENTIAL, "cpu_ms": service * 1000},
        deployment={"torchserve": {"model": {"min_workers": servers, "job_queue_size": 10**6}}},
        workload={"type": "poisson", "rate_rps": rate},
    )
    result = simulate(spec)
    exact = mmc_mean_response(rate, service, servers)
    assert result.summary.errors["total"] == 0
    assert result.summary.throughput_rps == pytest.approx(rate, rel=0.02)
    assert mean_response_s(result) == pytest.approx(exact, rel=0.12)


def test_busy_requests_share_one_cpu_as_m_m_1_processor_sharing():
    service, rho = 0.010, 0.9
    rate = rho / service
    spec = scenario(
        duration_s=3000, warmup_s=50,
        node_pools=[{"name": "cpu", "vcpus": 1, "memory_gib": 512, "image_cached": True}],
        model={**EXPONENTIAL, "cpu_ms": service * 1000, "worker_rss_mib": 1},
        deployment={"torchserve": {"model": {"min_workers": 160, "job_queue_size": 10**6}}},
        workload={"type": "poisson", "rate_rps": rate},
    )
    result = simulate(spec)
    assert mean_response_s(result) == pytest.approx(mm1_ps_mean_response(rate, service), rel=0.12)
    assert result.summary.cpu_util == pytest.approx(rho, rel=0.02)


@pytest.mark.parametrize("users, workers", [(10, 1), (12, 3)])
def test_a_closed_loop_with_think_time_matches_exact_mva(users, workers):
    service, think = 0.050, 0.300
    spec = scenario(
        duration_s=600, warmup_s=50,
        node_pools=[{"name": "cpu", "vcpus": 16, "memory_gib": 64, "image_cached": True}],
        model={**EXPONENTIAL, "cpu_ms": service * 1000},
        deployment={"torchserve": {"model": {"min_workers": workers}}},
        workload={"type": "closed", "users": users, "think_time_s": think, "think_distribution": "exponential"},
    )
    result = simulate(spec)
    exact = mva(users, (service,), think, (workers,))
    assert result.summary.throughput_rps == pytest.approx(exact.throughput, rel=0.04)
    assert mean_response_s(result) == pytest.approx(exact.response_time, rel=0.08)


def test_connection_pinning_leaves_the_expected_number_of_pods_busy():
    pods, users, runs = 10, 8, 300
    spec = scenario(
        duration_s=1, node_pools=[{"name": "cpu", "vcpus": 64, "memory_gib": 256, "image_cached": True}],
        deployment={"pods": pods}, workload={"type": "closed", "users": users},
    )
    counts = []
    for seed in range(runs):
        world = World(spec, seed=seed)
        world.run()
        counts.append(sum(1 for pod in world.cluster.pods if pod.served > 0))
    expected = expected_connected_pods(pods, users)  # 5.695
    standard_error = np.std(counts) / np.sqrt(runs)
    assert abs(np.mean(counts) - expected) < 4 * standard_error
    assert max(counts) <= users


def test_connections_past_their_time_to_live_are_balanced_anew():
    """JMeter's HttpClient4 closes a connection older than its TTL: each reconnect is a fresh uniform pick, so a user
    connected 5 times over 45 s with a 10 s TTL spreads like 5 users that never reconnect."""
    pods, users, runs, connections_per_user = 40, 2, 150, 5
    spec = scenario(
        duration_s=45, node_pools=[{"name": "cpu", "vcpus": 64, "memory_gib": 256, "image_cached": True}],
        deployment={"pods": pods}, workload={"type": "closed", "users": users, "connection_ttl_s": 10},
    )
    counts = []
    for seed in range(runs):
        world = World(spec, seed=seed)
        world.run()
        counts.append(sum(1 for pod in world.cluster.pods if pod.served > 0))
    expected = expected_connected_pods(pods, users * connections_per_user)  # 8.95
    standard_error = np.std(counts) / np.sqrt(runs)
    assert abs(np.mean(counts) - expected) < 4 * standard_error
    assert max(counts) <= users * connections_per_user
