"""Predict load-test runs with the twin: one row of runs.csv in, the twin's JMeter-style numbers out.

Each row becomes a Scenario (calibration/mapping.py) served with the profile of its (model, accelerator) and is
simulated for `replications` seeds (seed, seed+1, …): kube-proxy pins users to pods at random, so one seed is one
possible pinning; the table reports the mean over seeds. Where the profile carries its fit's uncertainty, each row
also gets a 90 % interval of throughput and mean latency (calibration/intervals.py). The same seed gives the same
table. A row that cannot be mapped or has no profile gets its reason in the `note` column, and the other rows are
still predicted.
"""
from __future__ import annotations

import csv
import dataclasses
import math
import statistics
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable, Mapping

import numpy as np

from calibration import intervals
from calibration.mapping import MappingError, Setup, scenario_for, setup_of
from calibration.readers import RunConfig
from twin.config.schema import ModelProfile
from twin.core.run import simulate

COLUMNS = ("id", "throughput_rps", "avg_response_ms", "p95_response_ms", "error_pct", "throughput_low",
           "throughput_high", "avg_response_low", "avg_response_high", "gpu_util", "cpu_util",
           "busy_pods", "pods", "workers_per_pod", "users", "profile", "replications", "note")
DEFAULT_REPLICATIONS = 5


@dataclass(frozen=True)
class Prediction:
    id: str
    throughput_rps: float | None = None
    avg_response_ms: float | None = None
    throughput_low: float | None = None  # the 90 % interval, where the profile's uncertainty is known
    throughput_high: float | None = None
    avg_response_low: float | None = None
    avg_response_high: float | None = None
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


def with_interval(prediction: Prediction, config: RunConfig, setup: Setup, profile: ModelProfile,
                  spread: intervals.Spread, *, seed: int = 1, draws: int = intervals.DEFAULT_DRAWS) -> Prediction:
    """`prediction` with its 90 % intervals: the twin once per draw of the profile's fitted fields, each draw on a
    seed of its own, and the fit's misfit (calibration/intervals.py)."""
    rng = np.random.default_rng([seed, 90])
    ensemble = [simulate_run(config, setup, drawn, seed=seed + 1000 + i, replications=1)
                for i, drawn in enumerate(spread.draws(profile, draws, rng))]
    x = intervals.band(prediction.throughput_rps, [e.throughput_rps for e in ensemble], spread.misfit_sd)
    r = intervals.band(prediction.avg_response_ms, [e.avg_response_ms for e in ensemble], spread.misfit_sd)
    return dataclasses.replace(prediction, throughput_low=x.low, throughput_high=x.high, avg_response_low=r.low,
                               avg_response_high=r.high)


def predict_rows(configs: list[RunConfig], profiles: Mapping[tuple[str, str], ModelProfile], *, seed: int = 1,
                 replications: int = DEFAULT_REPLICATIONS,
                 spreads: Mapping[tuple[str, str], intervals.Spread] | None = None,
                 draws: int = intervals.DEFAULT_DRAWS,
                 progress: Callable[[int, int], None] | None = None) -> list[Prediction]:
    """One prediction per configuration, or its reason in `note`; with `spreads` (and draws > 0) each predicted row
    carries its 90 % intervals; `progress` hears (rows done, rows)."""
    rows = []
    for config in configs:
        rows.append(_predict_row(config, profiles, seed=seed, replications=replications, spreads=spreads or {},
                                 draws=draws))
        if progress:
            progress(len(rows), len(configs))
    return rows


def _predict_row(config: RunConfig, profiles: Mapping[tuple[str, str], ModelProfile], *, seed: int,
                 replications: int, spreads: Mapping[tuple[str, str], intervals.Spread], draws: int) -> Prediction:
    try:
        setup = setup_of(config)
    except MappingError as error:
        return Prediction(id=config.id, note=str(error))
    profile = profiles.get(setup.profile_key)
    if profile is None:
        return Prediction(id=config.id, note=f"{config.id}: no profile for {setup.profile_key[0]} on "
                                             f"{setup.profile_key[1]}")
    row = simulate_run(config, setup, profile, seed=seed, replications=replications)
    spread = spreads.get(setup.profile_key)
    if spread is None or draws <= 0:
        return row
    return with_interval(row, config, setup, profile, spread, seed=seed, draws=draws)


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
