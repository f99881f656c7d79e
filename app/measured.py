"""A JMeter result (.jtl / .csv) read with the calibration readers, in the shape the dashboard compares with the twin.

Users are JMeter's `allThreads` at its peak (the thread group's size once ramped up); the per-second series counts
samples by the second they ended in, as the twin counts responses.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from calibration.readers import jtl, jtl_summary


@dataclass(frozen=True)
class Measured:
    users: int | None  # None when the JTL has no allThreads column
    throughput_rps: float | None
    mean_ms: float
    p95_ms: float
    error_pct: float
    per_second: pd.DataFrame  # time_s (from the first sample), ok, errors, latency_mean_ms


def read_measured(path: str | Path) -> Measured:
    samples = jtl.read_jtl(path)
    summary = jtl_summary.summarize(samples)
    threads = [s.all_threads for s in samples if s.all_threads is not None]
    return Measured(users=max(threads) if threads else None, throughput_rps=summary.throughput_rps,
                    mean_ms=summary.mean_ms, p95_ms=summary.p95_ms, error_pct=summary.error_pct,
                    per_second=per_second(samples))


def per_second(samples: tuple[jtl.Sample, ...]) -> pd.DataFrame:
    start = min(s.start_ms for s in samples)
    frame = pd.DataFrame({
        "time_s": [(s.end_ms - start) // 1000 + 1 for s in samples],
        "ok": [s.sample_count - s.error_count for s in samples],
        "errors": [s.error_count for s in samples],
        "elapsed_ms": [s.elapsed_ms for s in samples],
        "count": [s.sample_count for s in samples],
    })
    grouped = frame.groupby("time_s", as_index=False).sum()
    grouped["latency_mean_ms"] = grouped["elapsed_ms"] / grouped["count"]
    return grouped[["time_s", "ok", "errors", "latency_mean_ms"]]


def closed_users_override(workload_kinds: list[str], users: int | None) -> dict[str, int]:
    """The change that gives the twin the JTL's users: its closed workload group's `users`, when it has one."""
    closed = [i for i, kind in enumerate(workload_kinds) if kind == "closed"]
    if users is None or len(closed) != 1:
        return {}
    return {f"workload.{closed[0]}.users": users}
