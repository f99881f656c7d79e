"""Predict load-test runs with the twin: one row of runs.csv in, the twin's JMeter-style numbers out.

Each row becomes a Scenario (calibration/mapping.py) served with the profile of its (model, accelerator) and is
simulated for `replications` seeds (seed, seed+1, …): kube-proxy pins users to pods at random, so one seed is one
possible pinning; the table reports the mean over seeds. The same seed gives the same table. A row that cannot be
mapped or has no profile gets its reason in the `note` column, and the other rows are still predicted.
"""
from __future__ import annotations

import csv
import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

from calibration.mapping import MappingError, Setup, scenario_for, setup_of
from calibration.readers import RunConfig
from twin.config.schema import ModelProfile
from twin.core.run import simulate

COLUMNS = ("id", "throughput_rps", "avg_response_ms", "p95_response_ms", "error_pct", "gpu_util", "cpu_util",
           "busy_pods", "pods", "workers_per_pod", "users", "profile", "replications", "note")
DEFAULT_REPLICATIONS = 5


@dataclass(frozen=True)
class Prediction:
    id: str
    throughput_rps: float | None = None
    avg_response_ms: float | None = None
    p95_response_ms: float | None = None
    error_pct: float | None = None
    gpu_util: float | None = None  # fraction of the run the node's GPU computed
    cpu_util: float | None = None  # fraction of the node's vCPUs busy
    busy_pods: float | None = None  # pods that served at least one request
    pods: int | None = None
    workers_per_pod: int | None = None
    users: int | None = None
    profile: str = ""
    replications: int = 0
    note: str = ""


def simulate_run(config: RunConfig, setup: Setup, profile: ModelProfile, *, seed: int = 1,
                 replications: int = DEFAULT_REPLICATIONS) -> Prediction:
    """The mean over `replications` seeds of the twin's result for one run."""
    scenario = scenario_for(config, profile)
    summaries = [simulate(scenario, seed=seed + i).summary for i in range(replications)]
    mean = statistics.fmean
    return Prediction(
        id=config.id,
        throughput_rps=mean(s.throughput_rps for s in summaries),
        avg_response_ms=mean(s.latency_ms["mean"] for s in summaries),
        p95_response_ms=mean(s.latency_ms["p95"] for s in summaries),
        error_pct=mean(100 * s.errors["total"] / max(1, s.requests) for s in summaries),
        gpu_util=mean(s.gpu_util for s in summaries), cpu_util=mean(s.cpu_util for s in summaries),
        busy_pods=mean(sum(1 for p in s.pods if p["served"] > 0) for s in summaries),
        pods=setup.pods, workers_per_pod=setup.workers, users=setup.users, profile=profile.name,
        replications=replications)


def predict_rows(configs: list[RunConfig], profiles: Mapping[tuple[str, str], ModelProfile], *, seed: int = 1,
                 replications: int = DEFAULT_REPLICATIONS,
                 progress: Callable[[int, int], None] | None = None) -> list[Prediction]:
    """One prediction per configuration, or its reason in `note`; `progress` hears (rows done, rows)."""
    rows = []
    for config in configs:
        rows.append(_predict_row(config, profiles, seed=seed, replications=replications))
        if progress:
            progress(len(rows), len(configs))
    return rows


def _predict_row(config: RunConfig, profiles: Mapping[tuple[str, str], ModelProfile], *, seed: int,
                 replications: int) -> Prediction:
    try:
        setup = setup_of(config)
    except MappingError as error:
        return Prediction(id=config.id, note=str(error))
    profile = profiles.get(setup.profile_key)
    if profile is None:
        return Prediction(id=config.id, note=f"{config.id}: no profile for {setup.profile_key[0]} on "
                                             f"{setup.profile_key[1]}")
    return simulate_run(config, setup, profile, seed=seed, replications=replications)


def twin_estimates(items: list[tuple[RunConfig, Setup]], profiles: Mapping[tuple[str, str], ModelProfile], *,
                   seeds: int = 3) -> dict[str, tuple[float, float]]:
    """(throughput, mean latency) of the twin per run with these profiles (used by the fit)."""
    out = {}
    for config, setup in items:
        p = simulate_run(config, setup, profiles[setup.profile_key], replications=seeds)
        out[config.id] = (p.throughput_rps, p.avg_response_ms)
    return out


def write_predictions(rows: list[Prediction], path: str | Path) -> None:
    with open(path, "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell(v) for k, v in asdict(row).items()})


def _cell(value):
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""  # not measured here (a CPU node has no GPU utilisation)
    return round(value, 4) if isinstance(value, float) else value
