"""The real calibration tables and bundled profiles, and short-run variants of their rows for fast tests."""
from __future__ import annotations

import dataclasses
from pathlib import Path

from calibration.readers import RunConfig, read_runs

DATA = Path(__file__).parents[2] / "calibration" / "data"


def runs_by_id() -> dict:
    return {run.config.id: run for run in read_runs(DATA / "runs.csv")}


def config(run_id: str, **changes) -> RunConfig:
    """A real run's configuration, shortened to `duration_s` (default 30 s) so tests stay fast."""
    changes.setdefault("duration_s", 30.0)
    return dataclasses.replace(runs_by_id()[run_id].config, **changes)
