"""Cross-validation: refit without some runs, predict them with the twin and a 90 % interval, compare.

Two protocols:
  - leave-one-out: each fold starts from the full fit (parameters and the twin/surrogate corrections of the other
    runs) without the left-out run's resource readings, so only the left-out run's information is removed. It
    flatters: a run's siblings (same model, node and concurrency) stay in the fit.
  - grouped (`families`): whole families of runs leave at once, each defined by the data's columns: every run of a
    (model, accelerator) above its lowest user count, every run of a model with several worker processes on the
    node, every run on an accelerator. A grouped fold refits from the parameters' initial values, with neither the
    full fit's optimum nor the left-out runs' resource readings, so nothing of the family reaches its prediction.
Every prediction carries its 90 % interval (calibration/intervals.py: the fold's parameter uncertainty, seed noise and
misfit), and the reports give the coverage: the share of held-out runs whose measurement falls inside.

A run of a model outside the study whose profile has no run left in the fit cannot be predicted (nothing informs its
own parameters): it is listed as not cross-validated rather than predicted from the full fit. A run that is the only
evidence for a study parameter (for example the one time-sliced run for timeslice_efficiency) is predicted from the
priors alone: the honest test of how far the twin extrapolates.
"""
from __future__ import annotations

import csv
import dataclasses
import math
import statistics
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, fields
from pathlib import Path

from calibration import intervals
from calibration.fit import Fit, Observation, fit
from calibration.parameters import STUDY_KEYS
from calibration.predict import simulate_run, with_interval
from calibration.readings import Readings
from twin import parallel

Progress = Callable[[int, int], None]  # (folds done, folds)


@dataclass(frozen=True)
class Fold:
    id: str
    measured_rps: float
    predicted_rps: float
    measured_ms: float
    predicted_ms: float
    rps_low: float | None = None  # the prediction's 90 % interval
    rps_high: float | None = None
    ms_low: float | None = None
    ms_high: float | None = None
    family: str = ""  # the family left out with it (grouped protocol)

    @property
    def throughput_error_pct(self) -> float:
        return 100 * (self.predicted_rps / self.measured_rps - 1)

    @property
    def latency_error_pct(self) -> float:
        return 100 * (self.predicted_ms / self.measured_ms - 1)

    @property
    def throughput_inside(self) -> bool | None:
        return None if self.rps_low is None else self.rps_low <= self.measured_rps <= self.rps_high

    @property
    def latency_inside(self) -> bool | None:
        return None if self.ms_low is None else self.ms_low <= self.measured_ms <= self.ms_high


@dataclass(frozen=True)
class Report:
    folds: tuple[Fold, ...]
    wall_s: float
    alone: tuple[str, ...] = ()  # runs whose profile has no run left in the fit: not cross-validated
    protocol: str = "LOO"

    @property
    def throughput_mape(self) -> float:
        return _mean_abs([f.throughput_error_pct for f in self.folds])

    @property
    def latency_mape(self) -> float:
        return _mean_abs([f.latency_error_pct for f in self.folds])

    @property
    def coverage(self) -> tuple[float, float]:
        """Shares of folds whose measured throughput, mean latency lies inside its 90 % interval."""
        return (_share([f.throughput_inside for f in self.folds]), _share([f.latency_inside for f in self.folds]))

    def worst(self, count: int = 3) -> list[Fold]:
        return sorted(self.folds, key=lambda f: -max(abs(f.throughput_error_pct), abs(f.latency_error_pct)))[:count]


def _mean_abs(errors: list[float]) -> float:
    return statistics.fmean(map(abs, errors)) if errors else math.nan


def _share(inside: list[bool | None]) -> float:
    known = [i for i in inside if i is not None]
    return sum(known) / len(known) if known else math.nan


@dataclass(frozen=True)
class Family:
    name: str
    ids: tuple[str, ...]


def families(obs: list[Observation]) -> list[Family]:
    """The families the grouped protocol leaves out, from the runs' columns; a family that would leave nothing to fit,
    or holds the same runs as one before it, is dropped."""
    by_key, by_model, by_accelerator = defaultdict(list), defaultdict(list), defaultdict(list)
    for o in obs:
        by_key[o.setup.profile_key].append(o)
        by_model[o.setup.model].append(o)
        by_accelerator[o.setup.accelerator].append(o)
    found = []
    for (model, accelerator), runs in by_key.items():
        lowest = min(o.setup.users for o in runs)
        found.append(Family(f"{model} on {accelerator} above {lowest} user(s)",
                            tuple(o.id for o in runs if o.setup.users > lowest)))
    for model, runs in by_model.items():
        found.append(Family(f"{model} with several workers on the node",
                            tuple(o.id for o in runs if o.setup.pods * o.setup.workers > 1)))
    found += [Family(f"every run on {accelerator}", tuple(o.id for o in runs))
              for accelerator, runs in by_accelerator.items()]
    kept, seen = [], set()
    for family in found:
        ids = frozenset(family.ids)
        if ids and len(ids) < len(obs) and ids not in seen:
            kept.append(family)
            seen.add(ids)
    return kept


@dataclass(frozen=True)
class _Task:
    left_out: tuple[Observation, ...]
    rest: list[Observation]
    readings: Readings
    full: Fit | None  # LOO starts from it; a grouped fold starts afresh
    family: str
    replications: int
    rounds: int
    seeds: int
    draws: int


def leave_one_out(obs: list[Observation], readings: Readings, *, full: Fit, replications: int = 5,
                  rounds: int = 2, seeds: int = 3, jobs: int = 1, draws: int = intervals.DEFAULT_DRAWS,
                  progress: Progress | None = None) -> Report:
    """Every fold, on `jobs` processes (folds are independent: the same table whatever the number); `progress`
    hears (folds done, folds) as folds end."""
    tasks = [_Task((o,), obs[:i] + obs[i + 1:], _without(readings, {o.id}), full, "", replications, rounds, seeds,
                   draws) for i, o in enumerate(obs)]
    return _report(tasks, jobs, "LOO", progress)


def grouped(obs: list[Observation], readings: Readings, *, replications: int = 5, rounds: int = 2, seeds: int = 3,
            jobs: int = 1, draws: int = intervals.DEFAULT_DRAWS, progress: Progress | None = None) -> Report:
    """One fold per family (`families`); a run in several families is predicted once per family."""
    tasks = []
    for family in families(obs):
        out = set(family.ids)
        rest = [o for o in obs if o.id not in out]
        tasks.append(_Task(tuple(o for o in obs if o.id in out), rest, _without(readings, out), None, family.name,
                           replications, rounds, seeds, draws))
    return _report(tasks, jobs, "grouped", progress)


def _without(readings: Readings, ids: set[str]) -> Readings:
    """The resource readings of every run but these: a left-out run's htop and NVML figures are its data too."""
    return dataclasses.replace(readings, constraints=tuple(c for c in readings.constraints if c.run_id not in ids))


def _report(tasks: list[_Task], jobs: int, protocol: str, progress: Progress | None) -> Report:
    started = time.perf_counter()
    if jobs > 1 and len(tasks) > 1:
        finished = parallel.unordered(_run_fold, [(task,) for task in tasks], processes=min(jobs, len(tasks)))
    else:
        finished = enumerate(map(_run_fold, tasks))
    by_index = {}
    for index, fold in finished:
        by_index[index] = fold
        if progress:
            progress(len(by_index), len(tasks))
    done = [by_index[i] for i in range(len(tasks))]
    folds = tuple(f for predicted, _ in done for f in predicted)
    alone = tuple(dict.fromkeys(run_id for _, lone in done for run_id in lone))
    return Report(folds, time.perf_counter() - started, alone, protocol)


def _run_fold(task: _Task) -> tuple[list[Fold], list[str]]:
    """The fold's fit, then each left-out run predicted with it (or named, when its profile has no run left)."""
    fitted = {o.setup.profile_key for o in task.rest}
    study = bool(fitted & STUDY_KEYS)
    predictable = [o for o in task.left_out if o.setup.profile_key in fitted
                   or (study and o.setup.profile_key in STUDY_KEYS)]
    alone = [o.id for o in task.left_out if o not in predictable]
    if not predictable:
        return [], alone
    fold_fit = _fold_fit(task)
    return [_predicted(o, fold_fit, task) for o in predictable], alone


def _fold_fit(task: _Task) -> Fit:
    if task.full is None:
        return fit(task.rest, task.readings, rounds=task.rounds, seeds=task.seeds)
    ids = {o.id for o in task.left_out}
    corrections = {k: v for k, v in task.full.corrections.items() if k not in ids}
    return fit(task.rest, task.readings, space=task.full.space, start=task.full.theta, corrections=corrections,
               rounds=task.rounds, seeds=task.seeds)


def _predicted(left_out: Observation, fold_fit: Fit, task: _Task) -> Fold:
    key = left_out.setup.profile_key
    profile = fold_fit.space.profile(key, fold_fit.theta, task.readings.memory)
    config, setup = left_out.run.config, left_out.setup
    predicted = simulate_run(config, setup, profile, replications=task.replications)
    if task.draws > 0:
        predicted = with_interval(predicted, config, setup, profile, intervals.spread_of(fold_fit, key),
                                  draws=task.draws)
    result = left_out.run.result
    return Fold(left_out.id, result.throughput_rps, predicted.throughput_rps, result.avg_response_ms,
                predicted.avg_response_ms, predicted.throughput_low, predicted.throughput_high,
                predicted.avg_response_low, predicted.avg_response_high, task.family)


COLUMNS_HEAD = (f"{'run':24s} {'X meas':>7s} {'X pred':>7s} {'err%':>7s} {'X 90% interval':>15s}  "
                f"{'R meas':>7s} {'R pred':>7s} {'err%':>7s} {'R 90% interval':>15s}")


def format_report(report: Report) -> str:
    lines, family = [COLUMNS_HEAD], ""
    for f in report.folds:
        if f.family != family:
            family = f.family
            lines.append(f"-- left out together: {family}")
        lines.append(f"{f.id:24s} {f.measured_rps:7.1f} {f.predicted_rps:7.1f} {f.throughput_error_pct:+7.1f} "
                     f"{_band(f.rps_low, f.rps_high, f.throughput_inside):>15s}  {f.measured_ms:7.1f} "
                     f"{f.predicted_ms:7.1f} {f.latency_error_pct:+7.1f} "
                     f"{_band(f.ms_low, f.ms_high, f.latency_inside):>15s}")
    x_in, r_in = report.coverage
    lines.append(f"{report.protocol} MAPE: throughput {report.throughput_mape:.1f} % (target 10), mean latency "
                 f"{report.latency_mape:.1f} % (target 15); 90 % interval coverage: throughput {_pct(x_in)}, "
                 f"latency {_pct(r_in)} (target >= 80 %); {len(report.folds)} predictions in {report.wall_s:.0f} s")
    if report.alone:
        lines.append("not cross-validated (no run of their profile left in the fit): " + ", ".join(report.alone))
    lines.append("worst: " + ", ".join(f"{f.id} ({f.throughput_error_pct:+.0f} % / {f.latency_error_pct:+.0f} %)"
                                       for f in report.worst()))
    return "\n".join(lines)


def format_side_by_side(reports: list[Report]) -> str:
    """One line per protocol: MAPE and coverage, for the README."""
    lines = [f"{'protocol':9s} {'predictions':>11s} {'X MAPE %':>9s} {'R MAPE %':>9s} {'X in 90 %':>10s} "
             f"{'R in 90 %':>10s}"]
    for r in reports:
        x_in, r_in = r.coverage
        lines.append(f"{r.protocol:9s} {len(r.folds):11d} {r.throughput_mape:9.1f} {r.latency_mape:9.1f} "
                     f"{_pct(x_in):>10s} {_pct(r_in):>10s}")
    return "\n".join(lines)


def _band(low: float | None, high: float | None, inside: bool | None) -> str:
    return "-" if low is None else f"{low:.1f}-{high:.1f}{' ' if inside else '!'}"


def _pct(share: float) -> str:
    return "-" if math.isnan(share) else f"{100 * share:.0f} %"


def write_report(report: Report, out_dir: Path) -> list[Path]:
    """`<protocol>.csv` (one row per prediction) and `<protocol>.txt` (the printed table) in `out_dir`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = report.protocol.lower()
    table = out_dir / f"{stem}.csv"
    with open(table, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow([*(f.name for f in fields(Fold)), "throughput_error_pct", "latency_error_pct"])
        for f in report.folds:
            writer.writerow([*(_cell(v) for v in asdict(f).values()), round(f.throughput_error_pct, 2),
                             round(f.latency_error_pct, 2)])
    summary = out_dir / f"{stem}.txt"
    summary.write_text(format_report(report) + "\n")
    return [table, summary]


def _cell(value):
    return "" if value is None else round(value, 3) if isinstance(value, float) else value
