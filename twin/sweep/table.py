"""The sweep's tidy tables, built from the run files: one row per run, and one row per point with the mean, a 95 %
Student-t confidence interval of that mean (`ci_low`, `ci_high`: where the average lies) and a 90 % Student-t
prediction interval of one more replication (`pi90_low`, `pi90_high`: where a single run, one seed, lands) of every
metric across replications. Both are seed noise only: the profile's own uncertainty is `servetwin predict`'s and
`servetwin run --replications`'s."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from twin import outputs
from twin.errors import InputError
from twin.sweep import spec

KEYS = ["run", "point", "replication", "seed", "status", "error"]


@dataclass(frozen=True)
class Tables:
    runs: pd.DataFrame
    points: pd.DataFrame


def write_tables(out: Path, sweep: spec.Sweep) -> Tables:
    runs = runs_table(out, sweep.fields)
    points = points_table(runs, sweep.fields)
    for name, frame in (("runs", runs), ("points", points)):
        with outputs.staged_file(out / f"{name}.csv") as staging:
            frame.to_csv(staging, index=False)
        with outputs.staged_file(out / f"{name}.parquet") as staging:
            frame.to_parquet(staging, index=False)
    return Tables(runs, points)


def runs_table(out: Path, fields: list[str]) -> pd.DataFrame:
    records = [json.loads(path.read_text()) for path in sorted((out / "runs").glob("*.json"))]
    rows = [{**{k: r.get(k) for k in KEYS}, **{f: _cell(r["params"].get(f)) for f in fields},
             **{k: v for k, v in r.items() if k not in KEYS and k not in ("params", "trace")}} for r in records]
    frame = pd.DataFrame(rows, columns=None if rows else KEYS + fields)
    return frame.sort_values("run", kind="stable").reset_index(drop=True)


def read_tables(out: Path) -> Tables:
    """The tables of a finished sweep (or optimiser stage) folder, as `run_sweep` returned them."""
    out = Path(out)
    missing = [name for name in ("runs.parquet", "points.parquet") if not (out / name).is_file()]
    if missing:
        raise InputError(str(out), "", "a finished sweep folder (runs.parquet, points.parquet)",
                         f"no {', '.join(missing)}")
    return Tables(pd.read_parquet(out / "runs.parquet"), pd.read_parquet(out / "points.parquet"))


def _cell(value: Any) -> Any:
    """A swept value as a table cell: a mapping or list (a whole node pool, say) as its JSON text."""
    return json.dumps(value, sort_keys=True) if isinstance(value, (dict, list)) else value


def points_table(runs: pd.DataFrame, fields: list[str]) -> pd.DataFrame:
    metrics = [c for c in runs.columns if c not in KEYS and c not in fields]
    rows = []
    for point, group in runs.groupby("point", sort=True):
        ok = group[group["status"] == "ok"]
        row = {"point": point, **{f: group[f].iloc[0] for f in fields}, "replications": len(ok),
               "failed": int((group["status"] != "ok").sum())}
        for metric in metrics:
            values = ok[metric].to_numpy(dtype=float)
            mean, low, high = interval(values)
            _, next_low, next_high = interval(values, 0.90, prediction=True)
            row |= {f"{metric}.mean": mean, f"{metric}.ci_low": low, f"{metric}.ci_high": high,
                    f"{metric}.pi90_low": next_low, f"{metric}.pi90_high": next_high}
        rows.append(row)
    return pd.DataFrame(rows)


def interval(values: np.ndarray, confidence: float = 0.95, *, prediction: bool = False
             ) -> tuple[float, float, float]:
    """Mean and Student-t interval of the mean, or with `prediction` of one more value (s·√(1 + 1/n) instead of
    s/√n); with one value the interval is that value (no spread is known)."""
    values = values[~np.isnan(values)]
    if len(values) == 0:
        return (np.nan, np.nan, np.nan)
    mean = float(values.mean())
    if len(values) == 1 or values.std(ddof=1) == 0:
        return (mean, mean, mean)
    n = len(values)
    scale = np.sqrt(1 + 1 / n) if prediction else 1 / np.sqrt(n)
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1) * values.std(ddof=1) * scale)
    return (mean, mean - half, mean + half)
