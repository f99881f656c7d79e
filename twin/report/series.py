"""Series the dashboard derives from a run: memory capacity and cumulative cost of the nodes alive each second.

Nodes come and go with the Cluster Autoscaler; the run's `node_added` / `node_removed` events say when, and the
scenario's node pools say what each node brings (GPU memory, host memory, price per hour).
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from twin.config.schema import MIG_PROFILES


@dataclass(frozen=True)
class PoolShape:
    gpu_memory_mib: float
    host_memory_mib: float
    usd_per_hour: float


def pool_shapes(scenario: dict) -> dict[str, PoolShape]:
    """Per node of each pool (from the resolved scenario as a dict): GPU and host memory, price."""
    shapes = {}
    for pool in scenario["node_pools"]:
        gpus = pool.get("gpus")
        gpu_gib = 0.0
        if gpus:
            sharing = gpus.get("sharing") or {}
            per_gpu = (sum(MIG_PROFILES[p][1] for p in sharing.get("mig_profiles", ()))
                       if sharing.get("mode") == "mig" else gpus["memory_gib"])
            gpu_gib = gpus["count"] * per_gpu
        shapes[pool["name"]] = PoolShape(gpu_gib * 1024, pool["memory_gib"] * 1024, pool["price_per_hour"])
    return shapes


def capacity(times: pd.Series, events: list[dict], shapes: dict[str, PoolShape]) -> pd.DataFrame:
    """GPU and host memory capacity (MiB) of the nodes alive at each time, and the cost (USD) accrued by then."""
    t = np.asarray(times, dtype=float)
    gpu, host, rate, cost = (np.zeros_like(t) for _ in range(4))
    for start, end, shape in _lifetimes(events, shapes):
        alive = (t >= start) & (t < end)
        gpu += alive * shape.gpu_memory_mib
        host += alive * shape.host_memory_mib
        rate += alive * shape.usd_per_hour
        cost += np.clip(t - start, 0.0, end - start) / 3600 * shape.usd_per_hour
    return pd.DataFrame({"time_s": t, "gpu_memory_capacity_mib": gpu, "host_memory_capacity_mib": host,
                         "usd_per_hour": rate, "cost_usd": cost})


def _lifetimes(events: list[dict], shapes: dict[str, PoolShape]) -> list[tuple[float, float, PoolShape]]:
    added = {e["node"]: (e["time_s"], shapes[e["pool"]]) for e in events if e["event"] == "node_added"}
    removed = {e["node"]: e["time_s"] for e in events if e["event"] == "node_removed"}
    return [(start, removed.get(node, np.inf), shape) for node, (start, shape) in added.items()]

