"""Whether a valid scenario can finish, and whether it can do what it asks: refused when the run would never end or
take hours and all memory; a warning (one line each) when it is legal but doomed, because a what-if may ask exactly
that (pods that can never schedule, workers that cannot fit).

The work of a run is its requests and its periodic ticks. The twin costs a few microseconds per event and several
events per request, so MAX_REQUESTS is hours of wall time, and a closed loop whose requests take no time at all
never lets the clock advance.
"""
from __future__ import annotations

import math

from twin.config.reading import Lines
from twin.policies.hpa import sync as hpa
from twin.config.schema import MIG_PROFILES, Closed, NodePool, Scenario, Workload
from twin.errors import InputError

MAX_REQUESTS = 1e9  # refused beyond: hours of wall time
WARN_REQUESTS = 1e8  # warned beyond: many minutes
MAX_TICKS = 1e8  # of one periodic activity (a scrape, a probe per pod, a controller sync)
WARN_RECORDS = 1e7  # outputs.per_request beyond this holds gigabytes
GIB = 2**30
RESOURCE_METRICS = ("cpu", "memory")  # what metrics-server's resource metrics API serves


def check(scenario: Scenario, source: str, lines: Lines) -> None:
    """Refuse a run that would never end or take hours: zero-time closed loops, too many requests or ticks."""
    for index, group in enumerate(scenario.workload):
        if isinstance(group, Closed):
            _check_closed_loop(group, scenario, f"workload.{index}", source, lines)
    requests = expected_requests(scenario)
    if requests > MAX_REQUESTS:
        raise InputError(source, "workload", f"at most {MAX_REQUESTS:.0e} requests in the run (hours of wall time; "
                         "shorten duration_s or lower the load)", f"about {requests:.2g}", lines.get(("workload",)))
    for field, ticks in _ticks(scenario):
        if ticks > MAX_TICKS:
            raise InputError(source, field, f"at most {MAX_TICKS:.0e} ticks over the run (a longer period or a "
                             "shorter duration_s)", f"about {ticks:.2g}", lines.get(tuple(field.split("."))))


def _check_closed_loop(group: Closed, scenario: Scenario, field: str, source: str, lines: Lines) -> None:
    """A user who sends again at the same instant, for ever, stops the clock: when requests take no time, or when a
    refused connection is retried at once with no think or network time in between."""
    line = lines.get(("workload",))
    if _cycle_s(group, scenario) == 0:
        raise InputError(source, f"{field}.think_time_s", "think time, network time or a model demand above 0 "
                         "(a closed loop of zero-time requests never lets the clock advance)", "0", line)
    if group.reconnect_delay_s == 0 and group.think_time_s == 0 and group.network_rtt_ms == 0:
        raise InputError(source, f"{field}.reconnect_delay_s", "a delay above 0 when think_time_s and "
                         "network_rtt_ms are 0 (a refused user would retry at the same instant for ever)", "0", line)


def expected_requests(scenario: Scenario) -> float:
    return sum(_requests(group, scenario) for group in scenario.workload)


def _requests(group: Workload, scenario: Scenario) -> float:
    start = group.start_s
    end = min(group.stop_s or scenario.duration_s, scenario.duration_s)
    span = max(0.0, end - start)
    if isinstance(group, Closed):
        return group.users * span / _cycle_s(group, scenario)
    if group.type == "poisson":
        return group.rate_rps * span
    if group.type == "diurnal":
        return group.mean_rps * (1 + group.amplitude) * span
    if group.type == "bursts":
        inside = [max(0.0, min(b.at_s + b.duration_s, end) - max(b.at_s, start)) for b in group.bursts]
        return group.base_rps * span + sum(b.rate_rps * s for b, s in zip(group.bursts, inside))
    if group.type == "steps":
        return max(step.rate_rps for step in group.steps) * span
    return 0.0  # a trace is as long as its file, which the boundary has already bounded


def _cycle_s(group: Closed, scenario: Scenario) -> float:
    """A lower bound of one user's request cycle: think, network and the demand on an idle node."""
    model = scenario.model
    return group.think_time_s + (group.network_rtt_ms + model.cpu_ms + model.gpu_ms + model.frontend_ms) / 1000


def _ticks(scenario: Scenario) -> list[tuple[str, float]]:
    duration, autoscaling = scenario.duration_s, scenario.autoscaling
    pods = max(scenario.deployment.pods, 1)
    periods = [("metrics.scrape_interval_s", scenario.metrics.scrape_interval_s, 1),
               ("deployment.startup.readiness.period_s", scenario.deployment.startup.readiness.period_s, pods)]
    if autoscaling.hpa is not None:
        periods.append(("autoscaling.hpa.sync_period_s", autoscaling.hpa.sync_period_s, 1))
    if autoscaling.keda is not None:
        periods.append(("autoscaling.keda.hpa_sync_period_s", autoscaling.keda.hpa_sync_period_s, 1))
    if autoscaling.workers is not None:
        periods.append(("autoscaling.workers.period_s", autoscaling.workers.period_s, pods))
    return [(field, duration / period * times) for field, period, times in periods]


def warnings(scenario: Scenario) -> list[str]:
    """One line per legal but doomed (or very long) part of the what-if."""
    notes = []
    requests = expected_requests(scenario)
    if requests > WARN_REQUESTS:
        notes.append(f"about {requests:.2g} requests: this run may take many minutes")
    if scenario.outputs.per_request and requests > WARN_RECORDS:
        notes.append(f"outputs.per_request keeps about {requests:.2g} records in memory (gigabytes)")
    return (notes + _unschedulable(scenario) + _pods_beyond_the_nodes(scenario) + _gpu_model_without_a_gpu(scenario)
            + _workers_that_cannot_fit(scenario) + _workers_beyond_the_gpu(scenario) + _over_memory_limit(scenario)
            + _workers_beyond_the_node(scenario) + _unread_hpa_metrics(scenario) + _groups_after_the_end(scenario))


def _pods_beyond_the_nodes(scenario: Scenario) -> list[str]:
    """More pods at the start than the pools' nodes can ever hold (with the Cluster Autoscaler, at max_count)."""
    pods, pools = scenario.deployment.pods, _pools(scenario)
    room = sum(_pods_per_node(scenario, pool) * _most_nodes(scenario, pool) for pool in pools)
    if room == 0 or pods <= room:
        return []  # none fit at all: _unschedulable says so
    return [f"the nodes of {', '.join(p.name for p in pools)} hold at most {room:g} of the {pods} pods' requests: "
            f"the rest will stay Pending"]


def _pods_per_node(scenario: Scenario, pool: NodePool) -> float:
    resources = scenario.deployment.resources
    cpu, memory = resources.amount("requests", "cpu"), resources.amount("requests", "memory")
    gpus = resources.amount("requests", "nvidia.com/gpu") or resources.amount("limits", "nvidia.com/gpu")
    fits = [(pool.allocatable_cpu or pool.vcpus) / cpu if cpu else math.inf,
            (pool.allocatable_memory_gib or pool.memory_gib) * GIB / memory if memory else math.inf,
            _gpu_units(pool) / gpus if gpus else math.inf]
    return math.floor(min(fits)) if min(fits) < math.inf else math.inf


def _most_nodes(scenario: Scenario, pool: NodePool) -> int:
    return max(pool.count, pool.autoscaling.max_count) if scenario.autoscaling.cluster is not None else pool.count


def _gpu_model_without_a_gpu(scenario: Scenario) -> list[str]:
    pools = _pools(scenario)
    if scenario.model.device != "gpu" or any(pool.gpus is not None for pool in pools):
        return []
    return [f"model.device is gpu but no node of {', '.join(p.name for p in pools)} has a GPU: TorchServe would run "
            f"the model on the CPU, which this GPU profile does not describe"]


def _workers_beyond_the_gpu(scenario: Scenario) -> list[str]:
    """Each worker fits its GPU alone, but a pod's starting workers together do not: the last ones fail to load."""
    need, workers = scenario.model.idle_gpu_memory_mib, scenario.deployment.torchserve.model.min_workers
    devices = [_device_mib(pool) for pool in _pools(scenario) if pool.gpus is not None]
    if scenario.model.device != "gpu" or need <= 0 or not devices or need > max(devices):
        return []
    if workers * need <= max(devices):
        return []
    return [f"{workers} workers need {workers * need:g} MiB of GPU memory and the largest GPU (or MIG slice) has "
            f"{max(devices):g} MiB: only {int(max(devices) // need)} can start (CUDA out of memory)"]


def _workers_beyond_the_node(scenario: Scenario) -> list[str]:
    """A pod's frontend and starting workers above what any node has: the node runs out of memory."""
    need = _pod_memory_mib(scenario)
    largest = max((pool.allocatable_memory_gib or pool.memory_gib) * 1024 for pool in _pools(scenario))
    if need <= largest:
        return []
    workers = scenario.deployment.torchserve.model.min_workers
    return [f"a pod's frontend and {workers} worker(s) need {need:g} MiB of memory, above the {largest:g} MiB of the "
            f"largest node: pods will be OOM-killed"]


def _pod_memory_mib(scenario: Scenario) -> float:
    workers = scenario.deployment.torchserve.model.min_workers
    return scenario.model.frontend_rss_mib + workers * scenario.model.worker_rss_mib


def _unread_hpa_metrics(scenario: Scenario) -> list[str]:
    """An HPA metric nothing serves: metrics-server serves only cpu and memory, and a Pods, Object or External
    metric needs a query (a Prometheus adapter's rule). The real HPA reports FailedGetResourceMetric (or
    FailedGetPodsMetric ...) and does not scale on it."""
    section = scenario.autoscaling.hpa
    if section is None:
        return []
    spec = hpa.hpa_from_manifest(section.manifest.object, section.manifest.source)
    unread = [f"{m.key.source} {m.key.name}" for m in spec.metrics
              if (m.key.name not in RESOURCE_METRICS if m.key.source in ("Resource", "ContainerResource")
                  else m.key.name not in section.queries)]
    return [f"the HPA's metric {name} has no source (metrics-server serves cpu and memory; other metrics need "
            f"autoscaling.hpa.queries): the HPA will not scale on it" for name in unread]


def _groups_after_the_end(scenario: Scenario) -> list[str]:
    return [f"workload.{index} starts at {group.start_s:g} s, when the run is over ({scenario.duration_s:g} s): it "
            f"sends nothing" for index, group in enumerate(scenario.workload) if group.start_s >= scenario.duration_s]


def _pools(scenario: Scenario) -> list[NodePool]:
    selected = scenario.deployment.node_pool
    return [pool for pool in scenario.node_pools if selected is None or pool.name == selected]


def _unschedulable(scenario: Scenario) -> list[str]:
    resources = scenario.deployment.resources
    cpu, memory = resources.amount("requests", "cpu"), resources.amount("requests", "memory")
    gpus = resources.amount("requests", "nvidia.com/gpu") or resources.amount("limits", "nvidia.com/gpu")
    fits = [pool for pool in _pools(scenario) if cpu <= (pool.allocatable_cpu or pool.vcpus)
            and memory <= (pool.allocatable_memory_gib or pool.memory_gib) * GIB and gpus <= _gpu_units(pool)]
    if fits or scenario.deployment.pods == 0:
        return []
    return [f"no node of {', '.join(p.name for p in _pools(scenario))} can hold a pod requesting cpu {cpu:g}, "
            f"memory {memory / GIB:g} GiB, nvidia.com/gpu {gpus:g}: every pod will stay Pending"]


def _gpu_units(pool: NodePool) -> float:
    if pool.gpus is None:
        return 0
    sharing = pool.gpus.sharing
    per_gpu = sharing.replicas if sharing.mode == "time-slicing" else max(len(sharing.mig_profiles), 1)
    return pool.gpus.count * per_gpu


def _workers_that_cannot_fit(scenario: Scenario) -> list[str]:
    """A worker whose GPU memory exceeds the largest device (or MIG slice) it could get fails to load (CUDA OOM)."""
    need = scenario.model.idle_gpu_memory_mib
    if scenario.model.device != "gpu" or need <= 0:
        return []
    devices = [_device_mib(pool) for pool in _pools(scenario) if pool.gpus is not None]
    if not devices or need <= max(devices):
        return []
    return [f"a worker needs {need:g} MiB of GPU memory and the largest GPU (or MIG slice) has {max(devices):g} MiB: "
            f"workers will fail to start (CUDA out of memory)"]


def _over_memory_limit(scenario: Scenario) -> list[str]:
    """The frontend and the starting workers above the container's memory limit: the kubelet OOM-kills the pod."""
    limit = scenario.deployment.resources.amount("limits", "memory")
    workers = scenario.deployment.torchserve.model.min_workers
    need = _pod_memory_mib(scenario) * 2**20
    if limit <= 0 or need <= limit:
        return []
    return [f"{workers} worker(s) and the frontend need {need / 2**20:g} MiB, above the memory limit of "
            f"{limit / 2**20:g} MiB: pods will be OOM-killed"]


def _device_mib(pool: NodePool) -> float:
    sharing = pool.gpus.sharing
    if sharing.mode == "mig":
        return max(MIG_PROFILES[p][1] for p in sharing.mig_profiles) * 1024
    return pool.gpus.memory_gib * 1024
