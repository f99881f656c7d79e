"""Reports from the command line: `servetwin run --report FILE.html` and `servetwin compare A.yaml B.yaml
[--report FILE.html]`, a side-by-side table in the terminal and one self-contained HTML file.

The report's path is checked before anything runs (twin.outputs rules), and plotting is imported only when a report
is written, so the other commands start quickly.
"""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from twin.config import bundled, values

REPORT_HELP = "also write a self-contained HTML report (tables, warnings, the dashboard's figures) to this file"


def add_run_report(run: argparse.ArgumentParser) -> None:
    run.add_argument("--report", metavar="FILE.html", help=REPORT_HELP)


def add_compare(commands: Any) -> None:
    compare = commands.add_parser("compare", help="run two or more scenarios and show them side by side")
    compare.add_argument("scenarios", nargs="+", metavar="SCENARIO",
                         help="two or more scenario files, or names of bundled ones (default, ...)")
    compare.add_argument("--seed", type=values.seed, help="first seed (default: each scenario's own)")
    compare.add_argument("--seeds", type=values.whole(1, 1000, "a number of seeds"), default=1, metavar="N",
                         help="seeds per scenario (default 1)")
    compare.add_argument("--duration", type=values.duration, metavar="S",
                         help="override every simulated duration (seconds)")
    compare.add_argument("--report", metavar="FILE.html", help=REPORT_HELP)
    compare.add_argument("--force", action="store_true", help="replace FILE.html even if servetwin did not write it")
    compare.add_argument("--json", action="store_true", help="print the summaries as one JSON object by label")
    compare.add_argument("--quiet", action="store_true", help="accepted for symmetry with run: compare draws no bar")
    compare.set_defaults(command=_compare)


def report_target(args: argparse.Namespace) -> Path | None:
    """The checked report path, or None when no report is asked for."""
    if getattr(args, "report", None) is None:
        return None
    from twin.report import html

    return html.target(args.report, force=getattr(args, "force", False))


def write_run(path: Path, scenario, result) -> None:
    from twin.report import html, pages

    document = pages.run(result.summary.to_dict(), scenario.model_dump(mode="json"), result.timeseries,
                         result.events)
    html.write(path, document)


def _compare(args: argparse.Namespace) -> int:
    from twin.core import provenance
    from twin.core.run import simulate
    from twin.config.loader import load_scenario
    from twin.errors import InputError
    from twin.report import text

    if len(args.scenarios) < 2:
        raise InputError("compare", "scenarios", "two or more scenario files", f"{len(args.scenarios)} file(s)")
    report = report_target(args)
    overrides = {"duration_s": args.duration} if args.duration else {}
    paths = [bundled.scenario_file(name) for name in args.scenarios]
    scenarios = [load_scenario(path, overrides) for path in paths]
    labels = _labels(paths)
    summaries, frames = [], []
    for path, scenario in zip(paths, scenarios):
        first = scenario.seed if args.seed is None else args.seed
        results = [simulate(scenario, seed=first + i) for i in range(args.seeds)]
        for result in results:
            result.summary.warnings += provenance.warnings(path, overrides)
        summaries.append([r.summary.to_dict() for r in results])
        frames.append([r.timeseries for r in results])
    firsts = [runs[0] for runs in summaries]
    print(json.dumps(dict(zip(labels, firsts))) if args.json else text.side_by_side(labels, firsts))
    if report is not None:
        from twin.report import html, pages

        html.write(report, pages.compare(labels, summaries, frames))
    return 0


def _labels(paths: list[Path]) -> list[str]:
    """Each file's name without .yaml; the path where two names are the same."""
    stems = [p.stem for p in paths]
    return [p.stem if stems.count(p.stem) == 1 else str(p) for p in paths]
