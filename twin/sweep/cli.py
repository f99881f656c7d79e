"""`servetwin sweep` and `servetwin optimize` on the command line."""
from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from twin import outputs
from twin.config import values
from twin.sweep import execute, optimize, spec


def add_commands(subparsers: Any) -> None:
    sweep = subparsers.add_parser("sweep", help="run a batch of scenarios (grid, sample, replications)")
    sweep.add_argument("sweep", type=Path, help="sweep YAML")
    _execution(sweep)
    sweep.set_defaults(command=_sweep)
    best = subparsers.add_parser("optimize", help="cheapest configuration that meets the SLO, and the Pareto front")
    best.add_argument("question", type=Path, help="optimisation question YAML")
    _execution(best)
    best.set_defaults(command=_optimize)


def _execution(parser: argparse.ArgumentParser) -> None:
    outputs.add_arguments(parser, force=False, help="a new or empty results folder, or this same command's own: "
                                                    "an interrupted run resumes in it")
    parser.add_argument("--workers", type=values.processes, default=os.cpu_count() or 1, metavar="N",
                        help="local processes")
    parser.add_argument("--scheduler", type=values.scheduler, metavar="ADDRESS",
                        help="a Dask scheduler (tcp://host:8786) instead")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _sweep(args: argparse.Namespace) -> int:
    sweep = spec.load_sweep(args.sweep)
    tables = execute.run_sweep(sweep, args.out, workers=args.workers, scheduler=args.scheduler,
                               progress=None if args.quiet else Bar().update)
    failed = tables.runs[tables.runs["status"] != "ok"]
    print(f"{len(tables.runs)} runs ({len(failed)} failed) at {len(tables.points)} points -> "
          f"{args.out}/runs.csv, {args.out}/points.csv")
    for _, row in failed.head(5).iterrows():
        print(f"  failed run {row['run']} {dict((f, row[f]) for f in sweep.fields)}: {row['error']}")
    _report(args.out, lambda pages: pages.sweep(tables.points, sweep.fields, Path(args.sweep).stem))
    return 0


def _optimize(args: argparse.Namespace) -> int:
    question = optimize.load_question(args.question)
    answer = optimize.optimize(question, args.out, workers=args.workers, scheduler=args.scheduler,
                               progress=None if args.quiet else Bar().update)
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


class Bar:
    """Runs done of the total on stderr, with failures, once the work takes more than a moment."""

    def __init__(self) -> None:
        self.started = time.perf_counter()

    def update(self, done: int, total: int, failed: int) -> None:
        if time.perf_counter() - self.started < 1.0 and done < total:
            return
        bar = "#" * int(30 * done / max(total, 1))
        end = "\n" if done == total else ""
        print(f"\r[{bar:<30}] {done}/{total} runs" + (f", {failed} failed" if failed else ""), end=end,
              file=sys.stderr, flush=True)
