"""Closed-form and exact queueing results: Erlang-C (M/M/c), M/M/1 processor sharing, exact Mean Value Analysis of
closed networks, and the expected number of pods that keep-alive connection pinning leaves busy."""
from __future__ import annotations

import math
from dataclasses import dataclass


def erlang_c(servers: int, offered_load: float) -> float:
    """Probability that an arrival waits in M/M/c with `offered_load` a = λ/μ Erlangs (requires a < c)."""
    if offered_load >= servers:
        raise ValueError("offered load must be below the number of servers")
    term, total = 1.0, 1.0  # a^k / k!, summed for k < c
    for k in range(1, servers):
        term *= offered_load / k
        total += term
    top = term * offered_load / servers / (1 - offered_load / servers)
    return top / (total + top)


def mmc_mean_response(arrival_rate: float, service_time: float, servers: int) -> float:
    """Mean time in system of M/M/c FCFS."""
    load = arrival_rate * service_time
    wait = erlang_c(servers, load) * service_time / (servers - load)
    return service_time + wait


def mm1_ps_mean_response(arrival_rate: float, service_time: float) -> float:
    """Mean sojourn time of M/M/1 processor sharing (also M/G/1-PS): S / (1 − ρ)."""
    rho = arrival_rate * service_time
    if rho >= 1:
        raise ValueError("utilisation must be below 1")
    return service_time / (1 - rho)


@dataclass(frozen=True)
class ClosedResult:
    throughput: float
    response_time: float  # at the queueing stations, without think time
    queue_lengths: tuple[float, ...]


def mva(users: int, demands: tuple[float, ...], think_time: float, servers: tuple[int, ...] | None = None
        ) -> ClosedResult:
    """Exact MVA for a closed single-class network of FCFS stations with `users` and a delay (think) station.

    `servers[k] > 1` makes station k a multi-server station, solved exactly with marginal probabilities
    (Reiser & Lavenberg 1980; Menascé's load-dependent form)."""
    servers = servers or (1,) * len(demands)
    queues = [0.0] * len(demands)
    marginals = [[1.0] + [0.0] * users for _ in demands]  # P(j jobs at station k) for the multi-server ones
    throughput, response = 0.0, 0.0
    for n in range(1, users + 1):
        times = [_station_time(d, c, q, p, n) for d, c, q, p in zip(demands, servers, queues, marginals)]
        response = sum(times)
        throughput = n / (response + think_time)
        queues = [throughput * t for t in times]
        for k, c in enumerate(servers):
            if c > 1:
                marginals[k] = _update_marginals(marginals[k], demands[k], c, throughput, n)
    return ClosedResult(throughput, response, tuple(queues))


def _station_time(demand: float, servers: int, queue: float, marginal: list[float], n: int) -> float:
    if servers == 1:
        return demand * (1 + queue)
    # R = D/c · (1 + Q + Σ_{j<c} (c−1−j) p(j))
    extra = sum((servers - 1 - j) * marginal[j] for j in range(min(servers - 1, n)))
    return demand / servers * (1 + queue + extra)


def _update_marginals(previous: list[float], demand: float, servers: int, throughput: float, n: int) -> list[float]:
    updated = [0.0] * len(previous)
    for j in range(1, n + 1):
        updated[j] = throughput * demand / min(j, servers) * previous[j - 1]
    updated[0] = max(0.0, 1.0 - sum(updated[1:]))
    return updated


def expected_connected_pods(pods: int, connections: int) -> float:
    """Pods that get at least one of `connections` placed uniformly at random: P · (1 − (1 − 1/P)^N)."""
    return pods * (1 - (1 - 1 / pods) ** connections)


def little_queue(throughput: float, response_time: float) -> float:
    return throughput * response_time


__all__ = ["erlang_c", "mmc_mean_response", "mm1_ps_mean_response", "mva", "ClosedResult",
           "expected_connected_pods", "little_queue"]
_ = math  # kept for callers extending the module with transcendental results
