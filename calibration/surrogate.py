"""A fast analytic stand-in for the twin on one load-test run, used to search profile parameters.

It solves the same model the twin simulates (twin/torchserve/server.py, twin/k8s/node.py, twin/gpu/device.py,
twin/workload/closed_loop.py): JMeter users pinned uniformly at random to pods for the whole run, each pod a
multi-server station of `workers` (exact MVA, `twin.theory.queueing.mva`) whose service time is the CPU phase plus
the GPU phase, and a pure delay of `frontend_ms`. The node's CPUs and GPU are shared by every pod; their slowdown is
found by fixed-point iteration: the other workers are each in the CPU (GPU) phase independently with the probability
the current throughputs give (binomial), and a phase takes its demand over the speed the twin's own sharing rules
(twin/k8s/node.py `cpu_speed`, twin/gpu/sharing.py) grant with that many jobs. Exact for one worker on an idle node; an approximation under sharing (the twin
confirms it). The expectation over random pinnings is taken over every partition of users into pods.
A pod that batches (batch_size > 1): its users travel in groups, as the worker gathering under the model lock takes
every request there, up to batch_size; each group is one batch of its share of the users, waiting the batch delay
when it cannot fill, and the groups are the pod's customers; a batch's CPU phase is its demand as the twin forms it
(twin/torchserve/batching.py: one pass or its requests in a row) at the crowd the other busy workers make.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

from calibration.mapping import Setup
from twin.config.schema import GpuSpec, ModelProfile
from twin.gpu.device import sharing_of
from twin.k8s.node import cpu_speed, default_slice_ms
from twin.theory.queueing import mva
from twin.torchserve.batching import BatchCost, barrier_share


@dataclass(frozen=True)
class Estimate:
    throughput_rps: float  # as JMeter reports it: requests over the whole run, ramp-up included
    mean_ms: float  # mean response time over all requests
    worker_ms: float = 0.0  # mean time a request spends in its worker (TorchServe's latency less its queue time)
    batch_items: float = 1.0  # mean requests per batch, request-weighted


@lru_cache(maxsize=256)
def occupancies(users: int, pods: int) -> tuple[tuple[tuple[int, ...], float], ...]:
    """Every way (as a sorted partition) users land on pods uniformly at random, with its probability."""
    result = []
    for parts in _partitions(users, users, pods):
        counts = [parts.count(v) for v in set(parts)]
        arrangements = math.perm(pods, len(parts)) / math.prod(math.factorial(c) for c in counts)
        assignments = math.factorial(users) / math.prod(math.factorial(p) for p in parts)
        result.append((parts, arrangements * assignments / pods ** users))
    return tuple(result)


def _partitions(total: int, largest: int, parts_left: int):
    if total == 0:
        yield ()
        return
    if parts_left == 0:
        return
    for first in range(min(total, largest), 0, -1):
        for rest in _partitions(total - first, first, parts_left - 1):
            yield (first, *rest)


def estimate(setup: Setup, profile: ModelProfile, *, vcpus: float) -> Estimate:
    """Expected JMeter throughput and mean latency of the run `setup` with `profile` on a node of `vcpus`."""
    throughput = latency = worker = items = 0.0
    gpu_speed = sharing_of(GpuSpec(model=setup.accelerator), profile).speed_of
    for parts, probability in occupancies(setup.users, setup.pods):
        if setup.batch_size > 1:
            x, service_s, b = _batched_steady_state(parts, setup, profile, vcpus, gpu_speed)
        else:
            x, service_s = _steady_state(parts, setup.workers, profile, vcpus, gpu_speed, setup.background_threads)
            b = 1.0
        throughput += probability * x
        latency += probability * setup.users / x
        worker += probability * x * service_s  # a request-weighted mean
        items += probability * x * b
    # users start one by one over the ramp, and JMeter divides by the whole run
    ramp_share = setup.ramp_s * (setup.users - 1) / (2 * setup.users * setup.duration_s)
    return Estimate(throughput * (1 - ramp_share), latency * 1000, worker / throughput * 1000,
                    1.0 if setup.batch_size == 1 else items / throughput)


def unqueued_p95_ms(profile: ModelProfile) -> float:
    """p95 response of a request that never waits for a worker on an idle node: the constant time outside the worker
    plus the 95th percentile of the service demand, drawn as the twin draws it (twin/kernel/rng.py)."""
    service = profile.cpu_ms + profile.gpu_ms
    z95 = 1.6448536269514722
    if profile.demand_distribution == "deterministic":
        return profile.frontend_ms + service
    if profile.demand_distribution == "exponential":
        return profile.frontend_ms + service * math.log(20)
    sigma = math.sqrt(math.log(1 + profile.demand_cv ** 2))
    return profile.frontend_ms + service * math.exp(z95 * sigma - sigma ** 2 / 2)


def _steady_state(parts: tuple[int, ...], workers: int, profile: ModelProfile, vcpus: float, gpu_speed,
                  background: float = 0.0) -> tuple[float, float]:
    """Throughput (req/s) with `parts[i]` users pinned to pod i, and the time (s) a request spends in its worker."""
    cpu_s, gpu_s, delay_s = profile.cpu_ms / 1000, profile.gpu_ms / 1000, profile.frontend_ms / 1000
    servers = [min(workers, k) for k in parts]
    slots = sum(servers)  # workers that can be busy at once
    speed = cpu_speed(vcpus, profile, slice_ms=default_slice_ms(vcpus), background=background)
    cpu_time, gpu_time = cpu_s, gpu_s
    total = 0.0
    for _ in range(200):
        service = cpu_time + gpu_time
        total = sum(_pod_throughput(k, c, service, delay_s, profile) for k, c in zip(parts, servers))
        new_cpu = cpu_s * _expected(slots, total * cpu_time / slots, lambda m: 1 / speed(m + 1))
        new_gpu = gpu_s * _expected(slots, total * gpu_time / slots, lambda m: 1 / gpu_speed(m + 1))
        if abs(new_cpu - cpu_time) + abs(new_gpu - gpu_time) < 1e-9:
            break
        cpu_time, gpu_time = 0.5 * (cpu_time + new_cpu), 0.5 * (gpu_time + new_gpu)
    return total, cpu_time + gpu_time


def _batched_steady_state(parts: tuple[int, ...], setup: Setup, profile: ModelProfile, vcpus: float,
                          gpu_speed) -> tuple[float, float, float]:
    """Throughput (req/s), the time (s) a request spends in its worker and the requests per batch (request-weighted)
    with `parts[i]` users pinned to pod i, when pods batch (module docstring)."""
    groups = [math.ceil(k / setup.batch_size) for k in parts]
    items = [k / g for k, g in zip(parts, groups)]
    servers = [min(setup.workers, g) for g in groups]
    slots = sum(servers)
    waits = [setup.max_batch_delay_ms / 1000 if b < setup.batch_size else 0.0 for b in items]
    speed, cost = _batch_cpu(profile, vcpus, setup.background_threads)
    work = [cost.work_s(b) for b in items]
    gpu = [(profile.gpu_ms + profile.gpu_ms_per_extra_item * (b - 1)) / 1000 for b in items]
    cpu_time, gpu_time = list(work), list(gpu)
    delay_s = profile.frontend_ms / 1000
    for _ in range(200):
        rates = [_pod_throughput(g, c, ct + gt, delay_s + w, profile)  # batches a second
                 for g, c, ct, gt, w in zip(groups, servers, cpu_time, gpu_time, waits)]
        cpu_busy = sum(r * t for r, t in zip(rates, cpu_time)) / slots
        gpu_busy = sum(r * t for r, t in zip(rates, gpu_time)) / slots
        new_cpu = [_expected(slots, cpu_busy, lambda m, b=b, w=w: w * cost.stretch(b, m + 1) / speed(m + 1))
                   for b, w in zip(items, work)]
        new_gpu = [g * _expected(slots, gpu_busy, lambda m: 1 / gpu_speed(m + 1)) for g in gpu]
        moved = sum(abs(a - b) for a, b in zip(new_cpu + new_gpu, cpu_time + gpu_time))
        cpu_time = [0.5 * (a + b) for a, b in zip(cpu_time, new_cpu)]
        gpu_time = [0.5 * (a + b) for a, b in zip(gpu_time, new_gpu)]
        if moved < 1e-9:
            break
    requests = [r * b for r, b in zip(rates, items)]
    total = sum(requests)
    in_worker = sum(x * (ct + gt) for x, ct, gt in zip(requests, cpu_time, gpu_time)) / total
    return total, in_worker, sum(x * b for x, b in zip(requests, items)) / total


def _batch_cpu(profile: ModelProfile, vcpus: float, background: float):
    """The node's per-job CPU speed and the batch cost whose barrier share it gives (as twin/k8s/node.py's)."""
    def speed_for(model: ModelProfile):
        return cpu_speed(vcpus, model, slice_ms=default_slice_ms(vcpus), background=background)

    return speed_for(profile), BatchCost(profile, barrier_share(speed_for, profile))


def _pod_throughput(users: int, servers: int, service_s: float, delay_s: float, profile: ModelProfile) -> float:
    """Throughput of one pod's users: no queue when each has a worker; one worker: MVA with the residual service
    of the request in progress taken as S(1 + cv²)/2 (the twin's demands are far less variable than exponential)."""
    if servers >= users:
        return users / (service_s + delay_s)
    if servers > 1:
        return mva(users, (service_s,), delay_s, (servers,)).throughput
    residual = (1 + _cv2(profile)) / 2
    queue = busy = throughput = 0.0
    for n in range(1, users + 1):
        response = service_s * (1 + queue - busy * (1 - residual))
        throughput = n / (response + delay_s)
        queue, busy = throughput * response, throughput * service_s
    return min(throughput, 1 / service_s)  # the approximation may overshoot the single worker's capacity


def _cv2(profile: ModelProfile) -> float:
    return {"deterministic": 0.0, "exponential": 1.0}.get(profile.demand_distribution, profile.demand_cv ** 2)


def _expected(slots: int, busy_share: float, slowdown) -> float:
    """E[slowdown(m)] with m of the other `slots − 1` workers in the phase, each independently w.p. busy_share."""
    q = min(max(busy_share, 0.0), 1.0)
    others = slots - 1
    return sum(math.comb(others, m) * q ** m * (1 - q) ** (others - m) * slowdown(m) for m in range(others + 1))
