"""A sweep file: a base scenario, the points to run (a grid, a random sample, or both), and replications.

    base: ../questions/workers-vs-pods-2x4.yaml
    seed: 11
    replications: 3
    duration_s: 120                       # optional: every run's duration
    grid:
      deployment.pods: [1, 2, 4]
      deployment.torchserve.model.min_workers: [1, 2, 4]
    sample:
      n: 10
      fields:
        workload.0.users: {int: [2, 20]}
        autoscaling.keda.manifest.object.spec.triggers.0.metadata.threshold: {choice: ["10", "20"]}

`points:` may also list explicit points (mappings of field paths to values). Field paths are the overrides of
`twin.config.loader.load_scenario`: a number indexes a list (`workload.0.users`), and a path through
`<section>.manifest.object` reaches into a manifest the scenario names by file (the KEDA threshold above). Explicit
points, grid points and sampled points are combined by product; the sample is drawn from the sweep seed.

Replication r of every point runs with the same seed (common random numbers): the differences between points are
then the parameters', not the noise's. Seeds derive from (sweep seed, replication) by SeedSequence.spawn.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import ConfigDict, Field, model_validator

from twin.config import reading
from twin.config.base import Duration, Strict
from twin.config.loader import load_scenario, validate
from twin.config.schema import Scenario
from twin.config.values import MAX_SEED
from twin.errors import InputError

MAX_RUNS = 100_000  # runs of one sweep: beyond, even second-long runs take days on a workstation
MAX_REPLICATIONS = 1_000


class Distribution(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    uniform: tuple[float, float] | None = None
    integer: tuple[int, int] | None = Field(None, alias="int", description="inclusive bounds")
    choice: list[Any] | None = Field(None, min_length=1)

    @model_validator(mode="after")
    def _one_kind(self) -> "Distribution":
        if sum(x is not None for x in (self.uniform, self.integer, self.choice)) != 1:
            raise ValueError("exactly one of uniform: [lo, hi], int: [lo, hi], choice: [...]")
        for kind, bounds in (("uniform", self.uniform), ("int", self.integer)):
            if bounds is not None and bounds[0] > bounds[1]:
                raise ValueError(f"{kind}: [low, high] with low at most high, got {list(bounds)}")
        return self

    def draw(self, rng: np.random.Generator) -> Any:
        if self.uniform is not None:
            return float(rng.uniform(*self.uniform))
        if self.integer is not None:
            return int(rng.integers(self.integer[0], self.integer[1] + 1))
        return self.choice[int(rng.integers(len(self.choice)))]


class Sample(Strict):
    n: int = Field(ge=1, le=MAX_RUNS)
    fields: dict[str, Distribution] = Field(min_length=1)


class Sweep(Strict):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    base: str
    seed: int = Field(1, ge=0, le=MAX_SEED)
    replications: int = Field(1, ge=1, le=MAX_REPLICATIONS)
    duration_s: Duration | None = None
    points_: list[dict[str, Any]] = Field(default_factory=list, alias="points",
                                          description="explicit points, each a mapping of field paths to values")
    grid: dict[str, list[Any]] = Field(default_factory=dict)
    sample: Sample | None = None
    source: str = Field("", exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _nothing_empty(cls, data: Any) -> Any:
        """An empty grid or list of points written out is a mistake: the sweep would quietly run the base alone."""
        for key, empty in (("grid", {}), ("points", [])):
            if isinstance(data, dict) and key in data and data[key] in (empty, None):
                raise ValueError(f"{key}: at least one {'field' if key == 'grid' else 'point'}, got none")
        return data

    @model_validator(mode="after")
    def _something_to_vary(self) -> "Sweep":
        empty = next((field for field, values in self.grid.items() if len(values) == 0), None)
        if empty is not None:
            raise ValueError(f"grid.{empty}: at least one value, got none")
        if not (self.grid or self.points_ or self.sample or self.replications > 1):
            raise ValueError("grid: a grid, points, a sample or replications above 1 (nothing varies), got none")
        return self

    @property
    def base_path(self) -> Path:
        return Path(self.source).parent / self.base

    @property
    def fields(self) -> list[str]:
        explicit = list(dict.fromkeys(path for point in self.points_ for path in point))
        return explicit + list(self.grid) + (list(self.sample.fields) if self.sample else [])


@dataclass(frozen=True)
class Run:
    run: int  # position in the sweep: point-major, replication-minor
    point: int
    replication: int
    seed: int
    params: dict[str, Any]


def load_sweep(path: str | Path, *, fixed: dict[str, Any] | None = None) -> Sweep:
    """The sweep in `path`; `fixed` values (`--set`) join every point, as fields the sweep does not vary."""
    data, lines = reading.read_yaml(path)
    sweep = validate(Sweep, data, source=str(path), lines=lines).model_copy(update={"source": str(path)})
    if not sweep.base_path.is_file():
        raise InputError(str(path), "base", "an existing scenario file", repr(sweep.base), lines.get(("base",)))
    check_size(sweep, lines)
    if fixed:
        sweep = _with_fixed(sweep, fixed)
    for index, params in enumerate(points(sweep)):
        check_point(sweep, params, where=f"point {index}", lines=lines)
    return sweep


def _with_fixed(sweep: Sweep, fixed: dict[str, Any]) -> Sweep:
    varied = sorted(set(fixed) & {*sweep.fields, *(["duration_s"] if sweep.duration_s else [])})
    if varied:
        raise InputError(sweep.source, varied[0], "a field the sweep does not vary", f"--set {varied[0]}")
    return sweep.model_copy(update={"points_": [{**fixed, **point} for point in sweep.points_ or [{}]]})


def check_size(sweep: Sweep, lines: reading.Lines) -> None:
    """Points times replications within MAX_RUNS, counted before any point is built."""
    grid = int(np.prod([len(values) for values in sweep.grid.values()], dtype=float))
    total = max(len(sweep.points_), 1) * grid * (sweep.sample.n if sweep.sample else 1) * sweep.replications
    if total > MAX_RUNS:
        raise InputError(sweep.source, "grid", f"at most {MAX_RUNS:,} runs (points x replications)",
                         f"{total:,}", lines.get(("grid",)))


def points(sweep: Sweep) -> list[dict[str, Any]]:
    """Explicit points × grid × sample, each part standing for one empty point when absent."""
    grid = [dict(zip(sweep.grid, values)) for values in itertools.product(*sweep.grid.values())] or [{}]
    grid = [{**explicit, **g} for explicit in (sweep.points_ or [{}]) for g in grid]
    if sweep.sample is None:
        return grid
    rng = np.random.default_rng(np.random.SeedSequence([sweep.seed, 0x5A3]))
    drawn = [{path: dist.draw(rng) for path, dist in sweep.sample.fields.items()} for _ in range(sweep.sample.n)]
    return [{**g, **d} for g in grid for d in drawn]


def runs(sweep: Sweep) -> list[Run]:
    seeds = replication_seeds(sweep.seed, sweep.replications)
    return [Run(point * sweep.replications + r, point, r, seeds[r], params)
            for point, params in enumerate(points(sweep)) for r in range(sweep.replications)]


def replication_seeds(seed: int, replications: int) -> list[int]:
    children = np.random.SeedSequence(seed).spawn(replications)
    return [int(child.generate_state(1, dtype=np.uint32)[0]) for child in children]


def scenario_of(base: Path, params: dict[str, Any], *, duration_s: float | None = None) -> Scenario:
    """The base scenario with a point's values (and the sweep's duration) set."""
    return load_scenario(base, {**params, **({"duration_s": duration_s} if duration_s else {})})


def check_point(sweep: Sweep, params: dict[str, Any], *, where: str, lines) -> None:
    """A point whose scenario does not validate is the sweep file's mistake: name the sweep file and the field; unless
    the base is wrong on its own, which its own file and line say."""
    try:
        scenario_of(sweep.base_path, params, duration_s=sweep.duration_s)
    except InputError as error:
        load_scenario(sweep.base_path)
        field = next((p for p in params if _unindexed(error.field).startswith(_unindexed(p))), "")
        line = lines.get(("grid", field)) or lines.get(("search", field)) or lines.get(("sample", "fields", field))
        raise InputError(sweep.source, field or error.field, f"a value the scenario accepts ({error.expected})",
                         f"{error.got} at {where} {params}", line) from None


def _unindexed(path: str) -> str:
    """`workload.0.path` as the validator names it: `workload.path`."""
    return ".".join(part for part in path.split(".") if not part.isdigit())
