"""`servetwin sweep` and `servetwin optimize` on the command line."""
from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any, Callable

from twin import outputs
from twin.config import bundled, overrides, values
from twin.progress import Progress


def add_commands(subparsers: Any) -> None:
    sweep = subparsers.add_parser("sweep", help="run a batch of scenarios (grid, sample, replications)")
    sweep.add_argument("sweep", help="sweep YAML, or a bundled one by name (sweeps/pods-by-workers)")
    overrides.add_argument(sweep)
    _execution(sweep)
    sweep.set_defaults(command=_sweep)
    best = subparsers.add_parser("optimize", help="cheapest configuration that meets the SLO, and the Pareto front")
    best.add_argument("question", help="optimisation question YAML, or a bundled one by name "
                                        "(questions/optimize-keda-workers)")
    _execution(best)
    best.set_defaults(command=_optimize)


def _execution(parser: argparse.ArgumentParser) -> None:
    outputs.add_arguments(parser, force=False, help="a new or empty results folder, or this same command's own: "
                                                    "an interrupted run resumes in it")
    parser.add_argument("--workers", type=values.processes, default=os.cpu_count() or 1, metavar="N",
                        help="local processes")
    parser.add_argument("--scheduler", type=values.scheduler, metavar="ADDRESS",
                        help="a Dask scheduler (tcp://host:8786) instead")
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (none either when stderr is not a terminal)")


def _sweep(args: argparse.Namespace) -> int:
    from twin.sweep import execute, spec

    sweep = spec.load_sweep(bundled.scenario_file(args.sweep), fixed=dict(args.set))
    tables = execute.run_sweep(sweep, args.out, workers=args.workers, scheduler=args.scheduler,
                               progress=_progress(args))
    failed = tables.runs[tables.runs["status"] != "ok"]
    print(f"{len(tables.runs)} runs ({len(failed)} failed) at {len(tables.points)} points -> "
          f"{args.out}/runs.csv, {args.out}/points.csv")
    for _, row in failed.head(5).iterrows():
        print(f"  failed run {row['run']} {dict((f, row[f]) for f in sweep.fields)}: {row['error']}")
    _report(args.out, lambda pages: pages.sweep(tables.points, sweep.fields, Path(args.sweep).stem))
    return 0


def _optimize(args: argparse.Namespace) -> int:
    from twin.sweep import optimize

    question = optimize.load_question(bundled.scenario_file(args.question))
    answer = optimize.optimize(question, args.out, workers=args.workers, scheduler=args.scheduler,
                               progress=_progress(args))
    described = optimize.describe(question, answer)
    print(described)
    print(f"candidates: {args.out}/candidates.csv, Pareto front: {args.out}/pareto.csv"
          + (f", to apply: {args.out}/chosen/" if answer.params is not None else ""))
    _report(args.out, lambda pages: pages.optimize(answer.candidates, list(question.search),
                                                   Path(args.question).stem, described))
    return 0


def _report(out: str | Path, document) -> None:
    """report.html in the command's own results folder: the same figures as the dashboard's Sweep tab."""
    from twin.report import html, pages  # plotting loads only when a report is written

    path = Path(out) / "report.html"
    html.write(path, document(pages))
    print(f"report: {path}")


def _progress(args: argparse.Namespace) -> Callable[[int, int, int], None]:
    """The executor's (done, total, failed) callback drawing one progress line."""
    progress = Progress(0, "runs", quiet=args.quiet)

    def update(done: int, total: int, failed: int) -> None:
        progress.step(done, total, f"{failed} failed" if failed else "")
        if done == total:
            progress.close()
    return update
