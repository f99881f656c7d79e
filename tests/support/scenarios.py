"""Small scenarios built in code for tests: one node, one pod, deterministic or exponential demands."""
from __future__ import annotations

import copy
from typing import Any

from twin.config.schema import Scenario

BASE: dict[str, Any] = {
    "name": "test",
    "seed": 1,
    "duration_s": 10,
    "node_pools": [{"name": "cpu", "count": 1, "vcpus": 8, "memory_gib": 64, "image_cached": True}],
    "deployment": {
        "pods": 1,
        "torchserve": {"model": {"min_workers": 1, "batch_size": 1, "max_batch_delay_ms": 100,
                                 "job_queue_size": 100}},
    },
    "model": {"device": "cpu", "cpu_ms": 10, "demand_distribution": "deterministic", "worker_rss_mib": 100,
              "frontend_rss_mib": 100, "load_time_s": 1},
    "workload": {"type": "poisson", "rate_rps": 10},
}


# A scenario file's text for command-line tests: seconds of Poisson traffic on one CPU pod, no warm-up.
TINY_YAML = """name: tiny
duration_s: 4
warmup_s: 0
node_pools: [{name: pool, vcpus: 8, memory_gib: 32, price_per_hour: 1.0, image_cached: true}]
deployment: {pods: 1, torchserve: {model: {min_workers: 1}}}
model: {name: m, device: cpu, cpu_ms: 20, demand_distribution: exponential, worker_rss_mib: 100}
workload: {type: poisson, rate_rps: 20}
"""


REPLACED = {"workload"}  # a new workload replaces the old one instead of merging into it


def merge(base: dict, changes: dict) -> dict:
    result = copy.deepcopy(base)
    for key, value in changes.items():
        if isinstance(value, dict) and isinstance(result.get(key), dict) and key not in REPLACED:
            result[key] = merge(result[key], value)
        else:
            result[key] = value
    return result


def scenario(**changes: Any) -> Scenario:
    """BASE with nested changes merged in (dicts merge, everything else replaces)."""
    return Scenario.model_validate(merge(BASE, changes))


def model_config(**fields: Any) -> dict:
    return {"torchserve": {"model": fields}}
