"""`servetwin`: run and validate scenarios from the command line.

A user mistake prints one line (file:line: field: expected …, got …) and exits 2, never a traceback.
"""
from __future__ import annotations

import signal
import sys
import threading


def _quit_while_starting(_signal, _frame) -> None:
    print("\nservetwin: interrupted", file=sys.stderr)
    raise SystemExit(130)  # quietly: nothing has been done yet


# The imports below take a second or more; a Ctrl-C meanwhile ends the command without a traceback.
_MAIN = threading.current_thread() is threading.main_thread()
_BEFORE = signal.signal(signal.SIGINT, _quit_while_starting) if _MAIN else None

import argparse  # noqa: E402
import contextlib  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import Iterator, NoReturn, Sequence  # noqa: E402

import yaml  # noqa: E402

from twin import cli_reports, outputs  # noqa: E402
from twin.config import feasibility, values  # noqa: E402
from twin.config.loader import load_scenario, read_yaml  # noqa: E402
from twin.config.schema import Scenario  # noqa: E402
from twin.core.run import Result, simulate  # noqa: E402
from twin.core.stop import Stop  # noqa: E402
from twin.errors import InputError  # noqa: E402
from twin.live import live_cli, observe_cli  # noqa: E402
from twin.sweep import cli as sweep_cli  # noqa: E402

if _MAIN:
    signal.signal(signal.SIGINT, _BEFORE)


def main(argv: Sequence[str] | None = None) -> int:
    try:
        args = _parser().parse_args(argv)
        return args.command(args)
    except (InputError, UsageError) as error:
        print(f"servetwin: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:  # every writer stages its output, so an interrupted command leaves none
        print("\nservetwin: interrupted; nothing half-written was left behind", file=sys.stderr)
        return INTERRUPTED


INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


class UsageError(Exception):
    """A flag or argument argparse refused: printed as one line like every other input error."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="servetwin", description="A digital twin of TorchServe on Kubernetes.")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="simulate a scenario and print its summary")
    run.add_argument("scenario", type=Path)
    run.add_argument("--seed", type=values.seed, help="override the scenario's seed")
    run.add_argument("--duration", type=values.duration, metavar="S",
                     help="override the simulated duration (seconds)")
    outputs.add_arguments(run, required=False, help="write time series, events and summary into this new folder")
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--replications", type=values.replications, default=1, metavar="N",
                     help="run N seeds (seed, seed+1, ...), each with the profile drawn from its fit's uncertainty "
                          "where the profile file records it, and report the mean and a 90 %% interval of the "
                          "headline numbers (calibration/intervals.py); --out keeps the first seed's run")
    cli_reports.add_run_report(run)
    run.set_defaults(command=_run)
    validate = commands.add_parser("validate", help="check a scenario file and the files it references")
    validate.add_argument("scenario", type=Path)
    validate.set_defaults(command=_validate)
    observe_cli.add_command(commands)
    live_cli.add_commands(commands)
    sweep_cli.add_commands(commands)
    cli_reports.add_compare(commands)
    from calibration import cli as calibration_cli  # a surface beside this one; imported late, it imports twin

    calibration_cli.add_commands(commands)
    return parser


def _validate(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    _warn(args.scenario, scenario)
    print(f"{args.scenario}: ok ({scenario.name}: {len(scenario.node_pools)} node pool(s), "
          f"{scenario.deployment.pods} pod(s), {len(scenario.workload)} workload group(s), {scenario.duration_s:g} s)")
    _print_warnings(_static_warnings(args.scenario, scenario, {}))
    return 0


def _static_warnings(path: Path, scenario: Scenario, overrides: dict) -> list[dict]:
    """What is doomed before any run: trigger queries that select nothing, a profile's assumptions and misfits."""
    from twin.core import diagnostics, provenance

    return diagnostics.query_warnings(scenario) + provenance.warnings(path, overrides)


def _print_warnings(found: list[dict]) -> None:
    from twin.report import text

    for line in text.warnings(found):
        print(line)


def _run(args: argparse.Namespace) -> int:
    overrides = {"duration_s": args.duration} if args.duration else {}
    scenario = load_scenario(args.scenario, overrides)
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    _warn(args.scenario, scenario)
    if args.out is not None:
        outputs.folder(args.out, command="run", force=args.force)
    if args.replications > 1:
        return _replicated(args, scenario, overrides)
    report = cli_reports.report_target(args)
    bar = _ProgressBar(scenario.duration_s, enabled=not args.quiet)
    started = time.perf_counter()
    stop = Stop()
    with _first_interrupt_stops(stop):
        result = simulate(scenario, progress=bar.update, stop=stop)
    result.summary.wall_s = time.perf_counter() - started
    bar.close()
    from twin.core import provenance

    result.summary.warnings += provenance.warnings(args.scenario, overrides)
    if not result.complete:
        print(f"servetwin: interrupted at {result.summary.simulated_s:,.0f} of {scenario.duration_s:,.0f} s "
              f"simulated; summary so far below, no output written", file=sys.stderr)
    else:
        if args.out is not None:
            write_outputs(args.out, scenario, result, force=args.force)
        if report is not None:
            cli_reports.write_run(report, scenario, result)
    summary = result.summary.to_dict()
    print(json.dumps(summary) if args.json else _human(summary))
    return 0 if result.complete else INTERRUPTED


def _warn(path: Path, scenario: Scenario) -> None:
    """A legal but doomed what-if runs; the user hears why it will go badly, one line each on stderr."""
    for note in feasibility.warnings(scenario):
        print(f"servetwin: warning: {path}: {note}", file=sys.stderr)


def _replicated(args: argparse.Namespace, scenario: Scenario, overrides: dict) -> int:
    """N seeds, the profile drawn per seed from its fit's uncertainty: the mean and 90 % interval of each headline
    number, which hold the parameters' uncertainty, the seed's noise and the fit's misfit."""
    import numpy as np

    from calibration import intervals  # a surface beside this one

    spread, own = _profile_spread(args.scenario, overrides)
    spread = spread.without(own) if spread else intervals.Spread()
    models = spread.draws(scenario.model, args.replications, np.random.default_rng([scenario.seed, 90]))
    results = [simulate(scenario.model_copy(update={"seed": scenario.seed + i, "model": model}))
               for i, model in enumerate(models)]
    summaries = [r.summary.to_dict() for r in results]
    bands = intervals.headline_bands(summaries, spread.misfit_sd)
    report = {"scenario": scenario.name, "replications": args.replications,
              "seeds": [scenario.seed + i for i in range(args.replications)],
              "profile_uncertainty": list(spread.fields), "misfit_log_sd": spread.misfit_sd, "intervals_90": bands}
    if args.out is not None:
        write_outputs(args.out, scenario.model_copy(update={"model": models[0]}), results[0], force=args.force,
                      extra={"replications.json": json.dumps({**report, "summaries": summaries}, indent=2)})
    print(json.dumps(report) if args.json else _human_bands(report))
    return 0


def _profile_spread(scenario_path: Path, overrides: dict):
    """The fit's uncertainty recorded in the scenario's profile file, and the fields the scenario sets itself."""
    from calibration import intervals

    data, _ = read_yaml(scenario_path)
    model = data.get("model") if isinstance(data, dict) else None
    if not isinstance(model, dict) or "profile" not in model:
        return None, set()
    own = {k for k in model if k != "profile"} | {k.split(".", 1)[1] for k in overrides if k.startswith("model.")}
    return intervals.in_profile_file(Path(scenario_path).parent / str(model["profile"])), own


def _human_bands(report: dict) -> str:
    from calibration import intervals

    varied = ", ".join(report["profile_uncertainty"]) or "none recorded: seed noise only"
    lines = [f"scenario {report['scenario']}: {report['replications']} replications (seeds {report['seeds'][0]}-"
             f"{report['seeds'][-1]}); profile drawn from its fit's uncertainty ({varied}), misfit "
             f"{report['misfit_log_sd']:.3f} log sd", f"  {'':18s} {'mean':>10s}   90 % interval"]
    for path, label in intervals.HEADLINE:
        if path in report["intervals_90"]:
            b = report["intervals_90"][path]
            lines.append(f"  {label:18s} {b['mean']:10.2f}   {b['low']:.2f} - {b['high']:.2f}")
    return "\n".join(lines)


@contextlib.contextmanager
def _first_interrupt_stops(stop: Stop) -> Iterator[None]:
    """The first Ctrl-C ends the simulation at the next event (its summary is still printed); a second one quits."""
    def first(_signal, _frame) -> None:
        signal.signal(signal.SIGINT, signal.default_int_handler)
        stop.request()

    if threading.current_thread() is not threading.main_thread():
        yield  # only the main thread receives signals
        return
    previous = signal.signal(signal.SIGINT, first)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def write_outputs(directory: str | Path, scenario: Scenario, result: Result, *, force: bool = False,
                  extra: dict[str, str] | None = None) -> None:
    """Everything a run has to say (and `extra` files by name), as one folder that appears complete or not at all."""
    with outputs.staged_folder(directory, command="run", force=force) as staging:
        for name, text in (extra or {}).items():
            (staging / name).write_text(text)
        (staging / "summary.json").write_text(json.dumps(result.summary.to_dict(), indent=2))
        (staging / "scenario.resolved.yaml").write_text(
            yaml.safe_dump(scenario.model_dump(mode="json"), sort_keys=False))
        result.timeseries.to_csv(staging / "timeseries.csv", index=False)
        with (staging / "events.jsonl").open("w") as events:
            events.writelines(json.dumps(event) + "\n" for event in result.events)
        if scenario.autoscaling.decision_log:
            with (staging / "decisions.jsonl").open("w") as log:
                log.writelines(json.dumps(decision.to_json()) + "\n" for decision in result.decisions)
        if result.records is not None:
            result.records.to_csv(staging / "requests.csv", index=False)


def _human(summary: dict) -> str:
    from twin.report import text

    return text.summary(summary)


class _ProgressBar:
    """A bar on stderr, shown only once a run has taken more than a moment."""

    def __init__(self, total: float, *, enabled: bool) -> None:
        self.total = total
        self.enabled = enabled
        self.started = time.perf_counter()
        self.shown = False

    def update(self, now: float) -> None:
        elapsed = time.perf_counter() - self.started
        if not self.enabled or elapsed < 1.0:
            return
        self.shown = True
        done = now / self.total
        bar = "#" * int(30 * done)
        print(f"\r[{bar:<30}] {100 * done:5.1f}%  {now:,.0f}/{self.total:,.0f} s simulated  "
              f"{now / elapsed:,.0f}x real time", end="", file=sys.stderr, flush=True)

    def close(self) -> None:
        if self.shown:
            print(file=sys.stderr)


if __name__ == "__main__":
    sys.exit(main())
