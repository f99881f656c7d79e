"""The cheapest configuration that meets an SLO, with the Pareto front of cost against SLO violation.

    base: ../default.yaml
    seed: 5
    replications: 3
    duration_s: 300
    slo: {latency_p95_ms: 150, max_error_ratio: 0.01}   # and optionally max_violation_minutes
    objective: cost.total_usd
    search:                                   # candidate values per field path (any sweep field path)
      deployment.pods: [1, 2, 3, 4, 5]
      deployment.torchserve.model.min_workers: [1, 2, 3, 4, 5]
    method: grid                              # or `random` with `budget:` (then neighbours of the best)

Every candidate runs the same replications with the same seeds (common random numbers), through the sweep runner.
A candidate is feasible when no run failed and its mean p95 and mean error ratio (and mean SLO-violation minutes,
when bounded) meet the SLO; the chosen one is the feasible candidate of least mean objective, the lower p95 breaking
ties. `random` evaluates `budget` candidates drawn from the grid, then the untried grid neighbours (one step along one
field) of the best so far, stage after stage, until the best has no untried neighbour: a plain coordinate search,
easy to follow and to check. Each stage is a sweep folder under DIR, so an interrupted optimisation resumes.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

import numpy as np
import pandas as pd
from pydantic import Field, PositiveFloat

from twin import outputs
from twin.config.base import Duration, Strict
from twin.config.loader import read_yaml, validate
from twin.config.values import MAX_SEED
from twin.errors import InputError
from twin.sweep import decide, execute, spec


class Slo(Strict):
    latency_p95_ms: PositiveFloat
    max_error_ratio: float = Field(0.01, ge=0, le=1)
    max_violation_minutes: float | None = Field(None, ge=0, description="bound on the mean SLO-violation minutes")


class Question(Strict):
    base: str
    seed: int = Field(1, ge=0, le=MAX_SEED)
    replications: int = Field(3, ge=1, le=spec.MAX_REPLICATIONS)
    duration_s: Duration | None = None
    slo: Slo
    objective: Literal["cost.total_usd", "cost.usd_per_million"] = "cost.total_usd"
    search: dict[str, Annotated[list[Any], Field(min_length=1)]] = Field(min_length=1)
    method: Literal["grid", "random"] = "grid"
    budget: int = Field(20, ge=1, le=spec.MAX_RUNS, description="random: candidates drawn before the neighbour search")
    source: str = Field("", exclude=True)


NEEDED = [f"{metric}.mean" for metric in ("latency_ms.p95", "error_ratio", "slo.violation_minutes",
                                             "cost.total_usd", "cost.usd_per_million", "throughput_rps")]


@dataclass(frozen=True)
class Answer:
    candidates: pd.DataFrame  # one row per evaluated candidate, `feasible` and `pareto` marked
    chosen: dict[str, Any] | None  # the cheapest feasible candidate's row, None when nothing meets the SLO
    params: dict[str, Any] | None  # its values of the search fields, as the question spells them


def load_question(path: str | Path) -> Question:
    data, lines = read_yaml(Path(path))
    question = validate(Question, data, source=str(path), lines=lines).model_copy(update={"source": str(path)})
    if not (Path(question.source).parent / question.base).is_file():
        raise InputError(str(path), "base", "an existing scenario file", repr(question.base), lines.get(("base",)))
    candidates = int(np.prod([len(values) for values in question.search.values()], dtype=float))
    if candidates * question.replications > spec.MAX_RUNS:
        raise InputError(str(path), "search", f"at most {spec.MAX_RUNS:,} runs (candidates x replications)",
                         f"{candidates * question.replications:,}", lines.get(("search",)))
    sweep = _sweep(question, grid(question))
    for index, point in enumerate(spec.points(sweep)):
        spec.check_point(sweep, point, where=f"candidate {index}", lines=lines)
    return question


def grid(question: Question) -> list[dict[str, Any]]:
    """Every candidate: the product of the search values, the first field varying slowest."""
    return [dict(zip(question.search, values)) for values in itertools.product(*question.search.values())]


def optimize(question: Question, out: str | Path, *, workers: int = 1, scheduler: str | None = None,
             progress: execute.Progress | None = None) -> Answer:
    out = outputs.claim(out, command="optimize")
    every = grid(question)
    if question.method == "grid" or question.budget >= len(every):
        tried, evaluated = every, _evaluate(question, every, out / "stage-1", workers, scheduler, progress)
    else:
        tried, evaluated = _coordinate_search(question, every, out, workers, scheduler, progress)
    candidates = _mark(evaluated, question)
    best = _best(candidates, question)
    chosen, params = (None, None) if best is None else (candidates.loc[best].to_dict(), tried[best])
    _write(out, question, candidates, params)
    return Answer(candidates, chosen, params)


def _coordinate_search(question: Question, every: list[dict], out: Path, workers: int, scheduler: str | None,
                       progress) -> tuple[list[dict], pd.DataFrame]:
    """`budget` random candidates, then the untried neighbours of the best so far, stage by stage, until none is
    left. Candidates keep the question's own values (a table row turns 3 into 3.0); rows align with `tried`."""
    rng = np.random.default_rng(np.random.SeedSequence([question.seed, 0x0B7]))
    batch = [every[i] for i in sorted(rng.choice(len(every), size=question.budget, replace=False))]
    tried: list[dict] = []
    frames: list[pd.DataFrame] = []
    for stage in itertools.count(1):
        frames.append(_evaluate(question, batch, out / f"stage-{stage}", workers, scheduler, progress))
        tried += batch
        evaluated = pd.concat(frames, ignore_index=True)
        marked = _mark(evaluated, question)
        best = _best(marked, question)
        anchor = tried[best if best is not None else _least_violating(marked)]
        seen = {_key(candidate) for candidate in tried}
        batch = [n for n in _neighbours(anchor, question) if _key(n) not in seen]
        if not batch:
            return tried, evaluated
    raise AssertionError("unreachable: the grid is finite")


def _neighbours(here: dict, question: Question) -> list[dict]:
    """One step along one field, in the order the question lists the values."""
    found = []
    for field, values in question.search.items():
        index = values.index(here[field])
        found += [{**here, field: values[index + step]} for step in (-1, 1) if 0 <= index + step < len(values)]
    return found


def _key(candidate: dict) -> str:
    return json.dumps(candidate, sort_keys=True)


def _sweep(question: Question, candidates: list[dict]) -> spec.Sweep:
    """The candidates as explicit sweep points, with the question's SLO set in every scenario."""
    slo = _slo_overrides(question)
    return spec.Sweep(base=question.base, seed=question.seed, replications=question.replications,
                      duration_s=question.duration_s, points=[{**c, **slo} for c in candidates],
                      source=question.source)


def _slo_overrides(question: Question) -> dict[str, float]:
    """The SLO the scenario's violation minutes are counted against: the question's."""
    return {"slo.latency_p95_ms": question.slo.latency_p95_ms, "slo.max_error_ratio": question.slo.max_error_ratio}


def _evaluate(question, candidates, folder, workers, scheduler, progress) -> pd.DataFrame:
    tables = execute.run_sweep(_sweep(question, candidates), folder, workers=workers, scheduler=scheduler,
                               progress=progress)
    points = tables.points.drop(columns=list(_slo_overrides(question)))
    # a stage whose every run failed has no metric columns: NaN, so nothing there is feasible or on the front
    return points.reindex(columns=list(dict.fromkeys([*points.columns, *NEEDED])))


def _mark(frame: pd.DataFrame, question: Question) -> pd.DataFrame:
    frame = frame.copy()
    slo = question.slo
    feasible = (frame["latency_ms.p95.mean"] <= slo.latency_p95_ms) & \
               (frame["error_ratio.mean"] <= slo.max_error_ratio) & (frame["failed"] == 0)
    if slo.max_violation_minutes is not None:
        feasible &= frame["slo.violation_minutes.mean"] <= slo.max_violation_minutes
    frame["feasible"] = feasible
    frame["pareto"] = pareto(frame[f"{question.objective}.mean"].to_numpy(),
                             frame["slo.violation_minutes.mean"].to_numpy())
    return frame


def pareto(cost: np.ndarray, violation: np.ndarray) -> list[bool]:
    """Not dominated: no other candidate is as cheap and as good, and strictly better in one (NaN never is)."""
    return [bool(np.isfinite(c) and np.isfinite(v) and
                 not np.any((cost <= c) & (violation <= v) & ((cost < c) | (violation < v))))
            for c, v in zip(cost, violation)]


def _best(frame: pd.DataFrame, question: Question) -> int | None:
    """The row of least mean objective among the feasible; among equal costs the lower p95 (more headroom)."""
    feasible = frame[frame["feasible"]]
    if feasible.empty:
        return None
    return int(feasible.sort_values([f"{question.objective}.mean", "latency_ms.p95.mean"], kind="stable").index[0])


def _least_violating(frame: pd.DataFrame) -> int:
    return int(frame.sort_values(["slo.violation_minutes.mean", "latency_ms.p95.mean"], kind="stable").index[0])


def _write(out: Path, question: Question, candidates: pd.DataFrame, params: dict | None) -> None:
    outputs.write_text(out / "candidates.csv", candidates.to_csv(index=False))
    outputs.write_text(out / "pareto.csv", candidates[candidates["pareto"]].to_csv(index=False))
    if params is not None:
        decide.write_decision(out / "chosen", base=Path(question.source).parent / question.base,
                              overrides={**params, **_slo_overrides(question)}, duration_s=question.duration_s,
                              seed=spec.replication_seeds(question.seed, 1)[0],
                              values={"chosen": params, "slo": question.slo.model_dump(exclude_none=True)})


def describe(question: Question, answer: Answer) -> str:
    frame, objective = answer.candidates, f"{question.objective}.mean"
    lines = [f"{len(frame)} candidates, {int(frame['feasible'].sum())} meet p95 <= "
             f"{question.slo.latency_p95_ms:g} ms and errors <= {100 * question.slo.max_error_ratio:g} %; "
             f"Pareto front of {objective} against SLO-violation minutes: {int(frame['pareto'].sum())} candidates"]
    if answer.chosen is None:
        lines.append("no candidate meets the SLO: widen the search")
        return "\n".join(lines)
    row = answer.chosen
    lines.append("chosen: " + ", ".join(f"{f} = {v}" for f, v in answer.params.items()))
    lines.append(f"  {question.objective} {row[objective]:.4f} "
                 f"(95 % CI {row[f'{question.objective}.ci_low']:.4f}..{row[f'{question.objective}.ci_high']:.4f}), "
                 f"p95 {row['latency_ms.p95.mean']:.1f} ms, throughput {row['throughput_rps.mean']:.1f} req/s, "
                 f"errors {100 * row['error_ratio.mean']:.2f} %, "
                 f"SLO violated {row['slo.violation_minutes.mean']:.1f} min")
    return "\n".join(lines)
