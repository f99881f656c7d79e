"""Run a sweep's runs in local processes or on a Dask distributed cluster, one file per finished run.

Each run's result lands in `DIR/runs/NNNNN.json` the moment it finishes (written to a temporary name, then renamed),
so an interrupted sweep resumes by running only the runs that have no file. A run that raises is recorded as failed
with its error and the sweep goes on. The tables are built from the run files at the end, sorted by run: serial,
parallel and Dask runs give identical tables.
"""
from __future__ import annotations

import hashlib
import json
import math
import traceback
from pathlib import Path
from typing import Any, Callable

import yaml

from twin import outputs, parallel
from twin.core.run import simulate
from twin.errors import InputError
from twin.sweep import spec, table

Progress = Callable[[int, int, int], None]  # (done, total, failed)
EXCLUDED = {"seed", "wall_s", "scenario"}  # not results: the seed is a column of its own, wall time varies


def run_one(base: str, duration_s: float | None, params: dict[str, Any], seed: int) -> dict[str, Any]:
    """One run, in whatever process it lands: its flat metrics, or its error."""
    try:
        summary = simulate(spec.scenario_of(Path(base), params, duration_s=duration_s), seed=seed).summary.to_dict()
    except Exception as error:  # noqa: BLE001 - one failing run must not sink the sweep
        return {"status": "failed", "error": f"{type(error).__name__}: {error}".strip()[:500],
                "trace": traceback.format_exc(limit=3)[-1000:]}
    return {"status": "ok", "error": "", **flatten(summary)}


def flatten(summary: dict[str, Any], prefix: str = "") -> dict[str, float]:
    flat: dict[str, float] = {}
    for key, value in summary.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat |= flatten(value, name + ".")
        elif isinstance(value, (int, float)) and not isinstance(value, bool) and name not in EXCLUDED:
            flat[name] = value
    if not prefix and "requests" in flat:  # `requests` counts every response after warm-up, errors included
        flat["error_ratio"] = flat.get("errors.total", 0) / flat["requests"] if flat["requests"] else math.nan
    return flat


def run_sweep(sweep: spec.Sweep, out: str | Path, *, workers: int = 1, scheduler: str | None = None,
              progress: Progress | None = None) -> table.Tables:
    out = outputs.claim(out, command="sweep")
    _claim(out, sweep)
    todo = [run for run in spec.runs(sweep) if not _run_file(out, run.run).exists()]
    total = len(spec.runs(sweep))
    done, failed = total - len(todo), _failed_so_far(out)
    if progress:
        progress(done, total, failed)
    for run, result in _results(sweep, todo, workers=workers, scheduler=scheduler):
        _write_run(out, run, result)
        done, failed = done + 1, failed + (result["status"] != "ok")
        if progress:
            progress(done, total, failed)
    return table.write_tables(out, sweep)


def _results(sweep: spec.Sweep, todo: list[spec.Run], *, workers: int, scheduler: str | None):
    args = (str(sweep.base_path.resolve()), sweep.duration_s)
    if scheduler:
        yield from _on_dask(scheduler, todo, args)
    elif workers <= 1:
        for run in todo:
            yield run, run_one(*args, run.params, run.seed)
    else:
        calls = [(*args, run.params, run.seed) for run in todo]
        for index, result in parallel.unordered(run_one, calls, processes=workers):
            yield todo[index], result


def _on_dask(scheduler: str, todo: list[spec.Run], args: tuple):
    from distributed import Client, as_completed as dask_completed  # imported only when a cluster is asked for

    try:
        client = Client(scheduler, timeout="10s")
    except (OSError, TimeoutError) as error:
        raise InputError("--scheduler", "", "a reachable Dask scheduler address", f"{scheduler} ({error})") from None
    with client:
        futures = {client.submit(run_one, *args, run.params, run.seed, pure=False): run for run in todo}
        for future in dask_completed(futures):
            yield futures[future], future.result()


def fingerprint(sweep: spec.Sweep) -> str:
    """What must match for a resume: the sweep as resolved and the base scenario's text."""
    text = json.dumps(sweep.model_dump(mode="json"), sort_keys=True) + sweep.base_path.read_text()
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _claim(out: Path, sweep: spec.Sweep) -> None:
    resolved = out / "sweep.resolved.yaml"
    mark = {"fingerprint": fingerprint(sweep), "sweep": sweep.model_dump(mode="json"),
            "base_scenario": str(sweep.base_path)}
    if resolved.exists():
        previous = yaml.safe_load(resolved.read_text()) or {}
        if previous.get("fingerprint") != mark["fingerprint"]:
            raise InputError(str(out), "", "an empty folder or one holding this same sweep (to resume it)",
                             "the results of a different sweep or base scenario")
    (out / "runs").mkdir(exist_ok=True)
    outputs.write_text(resolved, yaml.safe_dump(mark, sort_keys=False))


def _run_file(out: Path, run: int) -> Path:
    return out / "runs" / f"{run:05d}.json"


def _write_run(out: Path, run: spec.Run, result: dict[str, Any]) -> None:
    record = {"run": run.run, "point": run.point, "replication": run.replication, "seed": run.seed,
              "params": run.params, **result}
    outputs.write_text(_run_file(out, run.run), json.dumps(record))


def _failed_so_far(out: Path) -> int:
    return sum(json.loads(p.read_text()).get("status") != "ok" for p in (out / "runs").glob("*.json"))
