"""Leave-one-out cross-validation: refit without each run, predict it with the twin, compare with the measurement.

Each fold starts from the full fit (parameters and the twin/surrogate corrections of the other runs), so only the
left-out run's information is removed. A run that is the only evidence for a parameter (for example the one
time-sliced run for timeslice_efficiency) is then predicted from the priors alone: that is the honest test of
how far the twin extrapolates, and such runs are named in the report. A run of a model outside the study that is the
only run of its profile cannot be predicted once left out (nothing else informs its own parameters): it is listed as
not cross-validated rather than predicted from the full fit.
"""
from __future__ import annotations

import csv
import math
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from calibration.fit import Fit, Observation, fit
from calibration.predict import simulate_run
from calibration.readings import Readings
from twin import parallel


@dataclass(frozen=True)
class Fold:
    id: str
    measured_rps: float
    predicted_rps: float
    measured_ms: float
    predicted_ms: float

    @property
    def throughput_error_pct(self) -> float:
        return 100 * (self.predicted_rps / self.measured_rps - 1)

    @property
    def latency_error_pct(self) -> float:
        return 100 * (self.predicted_ms / self.measured_ms - 1)


@dataclass(frozen=True)
class Report:
    folds: tuple[Fold, ...]
    wall_s: float
    alone: tuple[str, ...] = ()  # runs the only evidence of their own profile: not cross-validated

    @property
    def throughput_mape(self) -> float:
        return _mean_abs([f.throughput_error_pct for f in self.folds])

    @property
    def latency_mape(self) -> float:
        return _mean_abs([f.latency_error_pct for f in self.folds])

    def worst(self, count: int = 3) -> list[Fold]:
        return sorted(self.folds, key=lambda f: -max(abs(f.throughput_error_pct), abs(f.latency_error_pct)))[:count]


def _mean_abs(errors: list[float]) -> float:
    return statistics.fmean(map(abs, errors)) if errors else math.nan


def leave_one_out(obs: list[Observation], readings: Readings, *, full: Fit, replications: int = 5,
                  rounds: int = 2, seeds: int = 3, jobs: int = 1,
                  progress: Callable[[int, int], None] | None = None) -> Report:
    """Every fold, on `jobs` processes (folds are independent: the same table whatever the number); `progress`
    hears (runs done, runs) as folds end."""
    started = time.perf_counter()
    folds, alone = [], []
    for index, left_out in enumerate(obs):
        rest = obs[:index] + obs[index + 1:]
        key = left_out.setup.profile_key
        if key in full.space.own and all(o.setup.profile_key != key for o in rest):
            alone.append(left_out.id)
        else:
            folds.append(_FoldTask(left_out, rest, readings, full, replications, rounds, seeds))
    if jobs > 1 and len(folds) > 1:
        finished = parallel.unordered(_run_fold, [(fold,) for fold in folds], processes=min(jobs, len(folds)))
    else:
        finished = enumerate(map(_run_fold, folds))
    done: dict[int, Fold] = {}
    for index, fold in finished:
        done[index] = fold
        if progress:
            progress(len(alone) + len(done), len(obs))
    return Report(tuple(done[i] for i in range(len(folds))), time.perf_counter() - started, tuple(alone))


@dataclass(frozen=True)
class _FoldTask:
    left_out: Observation
    rest: list[Observation]
    readings: Readings
    full: Fit
    replications: int
    rounds: int
    seeds: int


def _run_fold(task: _FoldTask) -> Fold:
    left_out, full = task.left_out, task.full
    corrections = {k: v for k, v in full.corrections.items() if k != left_out.id}
    fold_fit = fit(task.rest, task.readings, space=full.space, start=full.theta, corrections=corrections,
                   rounds=task.rounds, seeds=task.seeds)
    profile = full.space.profile(left_out.setup.profile_key, fold_fit.theta, task.readings.memory)
    predicted = simulate_run(left_out.run.config, left_out.setup, profile, replications=task.replications)
    result = left_out.run.result
    return Fold(left_out.id, result.throughput_rps, predicted.throughput_rps, result.avg_response_ms,
                predicted.avg_response_ms)


def format_report(report: Report) -> str:
    lines = [f"{'run':24s} {'X meas':>8s} {'X pred':>8s} {'err%':>7s} {'R meas':>8s} {'R pred':>8s} {'err%':>7s}"]
    for f in report.folds:
        lines.append(f"{f.id:24s} {f.measured_rps:8.1f} {f.predicted_rps:8.1f} {f.throughput_error_pct:+7.1f} "
                     f"{f.measured_ms:8.1f} {f.predicted_ms:8.1f} {f.latency_error_pct:+7.1f}")
    lines.append(f"LOO MAPE: throughput {report.throughput_mape:.1f} % (target 10), mean latency "
                 f"{report.latency_mape:.1f} % (target 15); {len(report.folds)} runs in {report.wall_s:.0f} s")
    if report.alone:
        lines.append("not cross-validated (the only run of their profile): " + ", ".join(report.alone))
    lines.append("worst: " + ", ".join(f"{f.id} ({f.throughput_error_pct:+.0f} % / {f.latency_error_pct:+.0f} %)"
                                       for f in report.worst()))
    return "\n".join(lines)


def write_report(report: Report, out_dir: Path) -> list[Path]:
    out_dir.mkdir(parents=True, exist_ok=True)
    table = out_dir / "loo.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*(f.name for f in fields(Fold)), "throughput_error_pct", "latency_error_pct"])
        for f in report.folds:
            writer.writerow([*asdict(f).values(), round(f.throughput_error_pct, 2), round(f.latency_error_pct, 2)])
    summary = out_dir / "loo.txt"
    summary.write_text(format_report(report) + "\n")
    return [table, summary]
