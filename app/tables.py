"""The CSV tables the dashboard reads: a sweep's or an optimiser's folder, a shadow report, a leave-one-out table,
and the bundled calibration runs beside the twin's predictions. A wrong table is an InputError naming the file, the
column, what was expected and what was got."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from calibration.predict import Prediction
from calibration.readers import Run
from twin.errors import InputError

STATISTICS = (".mean", ".ci_low", ".ci_high", ".pi90_low", ".pi90_high")
NOT_PARAMETERS = {"run", "point", "replication", "replications", "seed", "status", "error", "failed", "feasible",
                  "pareto"}
SHADOW = ("time_s", "horizon_s", "predicted_throughput_rps", "observed_throughput_rps", "predicted_latency_ms",
          "observed_latency_ms", "latency_error_pct")
FIDELITY = ("id", "measured_rps", "predicted_rps", "measured_ms", "predicted_ms")
INTERVALS = ("rps_low", "rps_high", "ms_low", "ms_high")  # 90 % prediction intervals, where known


@dataclass(frozen=True)
class Sweep:
    folder: Path
    points: pd.DataFrame | None  # points.csv: one row per point, metrics as X.mean / X.ci_low / X.ci_high
    candidates: pd.DataFrame | None  # candidates.csv (optimiser), else the points
    runs: pd.DataFrame | None  # runs.csv: one row per run

    @property
    def parameters(self) -> list[str]:
        table = self.points if self.points is not None else self.candidates
        return [] if table is None else parameters(table)

    @property
    def metrics(self) -> list[str]:
        table = self.points if self.points is not None else self.candidates
        return [] if table is None else [c for c in table.columns if c.endswith(".mean")]


def read_csv(path: Path, required: tuple[str, ...] = (), numeric: tuple[str, ...] = ()) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(str(path), "", "an existing CSV file", "no such file")
    try:
        table = pd.read_csv(path)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as error:
        raise InputError(str(path), "", "a CSV table with a header", str(error).splitlines()[0]) from None
    missing = [c for c in required if c not in table.columns]
    if missing:
        raise InputError(str(path), missing[0], f"a column {missing[0]!r} (needed: {', '.join(required)})",
                         f"columns {', '.join(map(str, table.columns))}", 1)
    for column in numeric:
        values = pd.to_numeric(table[column], errors="coerce")
        bad = values.isna() & table[column].notna()
        if bad.any():
            row = int(bad.idxmax())
            raise InputError(str(path), column, "a number", repr(table[column].iloc[row]), row + 2)
        table[column] = values
    return table


def parameters(table: pd.DataFrame) -> list[str]:
    """The swept parameters of a points/candidates table: every column that is neither bookkeeping nor a
    metric statistic."""
    return [c for c in table.columns if c not in NOT_PARAMETERS and not c.endswith(STATISTICS)]


def read_sweep(folder: Path) -> Sweep:
    """A sweep's output folder (points.csv, runs.csv) or an optimiser's (candidates.csv, pareto.csv)."""
    if not folder.is_dir():
        raise InputError(str(folder), "", "a folder with points.csv or candidates.csv", "no such folder")
    found = {name: read_csv(folder / f"{name}.csv") for name in ("points", "candidates", "runs")
             if (folder / f"{name}.csv").is_file()}
    if "points" not in found and "candidates" not in found:
        listed = ", ".join(sorted(p.name for p in folder.iterdir())) or "an empty folder"
        raise InputError(str(folder), "", "points.csv (a sweep) or candidates.csv (an optimiser)", listed)
    points = found.get("points")
    return Sweep(folder, points, found.get("candidates", points), found.get("runs"))


def read_shadow(path: Path) -> pd.DataFrame:
    """Rows in time order; a prediction's rows keep the adapter's order, its own forecast first."""
    return read_csv(path, SHADOW, numeric=SHADOW).sort_values("time_s", ignore_index=True, kind="stable")


def read_fidelity(path: Path) -> pd.DataFrame:
    """A leave-one-out table (`servetwin check --out DIR` writes DIR/loo.csv)."""
    return with_errors(read_csv(path, FIDELITY, numeric=FIDELITY[1:]))


def calibration_table(runs: list[Run], predictions: list[Prediction]) -> pd.DataFrame:
    """Measured (runs.csv) beside predicted, for the runs that have both."""
    measured = {r.config.id: r.result for r in runs if r.result is not None}
    rows = [{"id": p.id, "measured_rps": measured[p.id].throughput_rps, "predicted_rps": p.throughput_rps,
             "measured_ms": measured[p.id].avg_response_ms, "predicted_ms": p.avg_response_ms,
             "rps_low": p.throughput_low, "rps_high": p.throughput_high, "ms_low": p.avg_response_low,
             "ms_high": p.avg_response_high}
            for p in predictions if p.throughput_rps is not None and p.id in measured
            and measured[p.id].throughput_rps and measured[p.id].avg_response_ms]
    return with_errors(pd.DataFrame(rows, columns=[*FIDELITY, *INTERVALS]))


def coverage(table: pd.DataFrame) -> float | None:
    """The share of runs whose measured throughput and mean latency both lie inside their 90 % intervals."""
    if not set(INTERVALS) <= set(table.columns) or table["rps_low"].isna().all():
        return None
    known = table.dropna(subset=list(INTERVALS))
    inside = (known["rps_low"] <= known["measured_rps"]) & (known["measured_rps"] <= known["rps_high"]) & \
             (known["ms_low"] <= known["measured_ms"]) & (known["measured_ms"] <= known["ms_high"])
    return float(inside.mean())


def with_errors(table: pd.DataFrame) -> pd.DataFrame:
    table = table.copy()
    table["throughput_error_pct"] = 100 * (table["predicted_rps"] / table["measured_rps"] - 1)
    table["latency_error_pct"] = 100 * (table["predicted_ms"] / table["measured_ms"] - 1)
    return table
