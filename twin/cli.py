"""`servetwin`: run, validate and import scenarios from the command line; the other surfaces register theirs here.

A user mistake prints one line (file:line: field: expected …, got …) and exits 2, never a traceback. Commands import
what they need when they run: `--help` is quick, a plain `pip install .` runs every simulation command, and a command
whose extra is missing says which one to install, in one line. Ctrl-C ends any command with one line and exit 130.
"""
from __future__ import annotations

import argparse
import contextlib
import json
import os
import signal
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator, NoReturn, Sequence

import twin
from twin import cli_reports, outputs
from twin.config import bundled, overrides, values
from twin.errors import InputError, Stalled
from twin.live import live_cli, observe_cli
from twin.progress import Progress
from twin.sweep import cli as sweep_cli

if TYPE_CHECKING:
    from twin.config.schema import Scenario
    from twin.core.run import Result
    from twin.core.stop import Stop

# The extra that installs a module, for the one line a command prints when it is missing.
EXTRAS = {"kubernetes": "live", "aiohttp": "live", "psutil": "live", "streamlit": "app"}
INTERRUPTED = 130  # 128 + SIGINT, as a shell reports it


def main(argv: Sequence[str] | None = None) -> int:
    try:
        return _dispatch(argv)
    except (InputError, UsageError) as error:
        print(f"servetwin: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        extra = EXTRAS.get((error.name or "").partition(".")[0])
        if extra is None:
            raise
        print(f"servetwin: error: this command needs the {extra} extra: pip install 'servetwin[{extra}]'",
              file=sys.stderr)
        return 2
    except Stalled as error:  # a livelock in the model: one line to report, not a hang and not a traceback
        print(f"servetwin: internal error, please report it: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # every writer stages its output, so an interrupted command leaves none
        print("\nservetwin: interrupted; nothing half-written was left behind", file=sys.stderr)
        return INTERRUPTED
    except BrokenPipeError:  # the reader left (`| head`): say nothing more, and let exit's flush say nothing either
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 1


class UsageError(Exception):
    """A flag or argument argparse refused: printed as one line like every other input error."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def _dispatch(argv: Sequence[str] | None) -> int:
    """Parse and run; only `dashboard` takes arguments of its own (Streamlit's), the rest refuse unknown ones."""
    parser = _parser()
    args, passed_on = parser.parse_known_args(argv)
    if passed_on and args.command is not _dashboard:
        parser.error(f"unrecognized arguments: {' '.join(passed_on)}")
    args.passed_on = passed_on
    return args.command(args)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="servetwin", description="A digital twin of TorchServe on Kubernetes.")
    parser.add_argument("--version", action="version", version=f"servetwin {twin.__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="simulate a scenario and print its summary")
    _scenario_arguments(run)
    run.add_argument("--seed", type=values.seed, help="override the scenario's seed")
    run.add_argument("--duration", type=values.duration, metavar="S",
                     help="override the simulated duration (seconds)")
    outputs.add_arguments(run, required=False, help="write time series, events and summary into this new folder")
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar (none either when stderr is not a terminal)")
    run.add_argument("--replications", type=values.replications, default=1, metavar="N",
                     help="run N seeds (seed, seed+1, ...), each with the profile drawn from its fit's uncertainty "
                          "where the profile file records it, and report the mean and a 90 %% interval of the "
                          "headline numbers (calibration/intervals.py); --out keeps the first seed's run")
    cli_reports.add_run_report(run)
    run.set_defaults(command=_run)
    validate = commands.add_parser("validate", help="check a scenario file and the files it references")
    _scenario_arguments(validate)
    validate.set_defaults(command=_validate)
    _import_arguments(commands.add_parser(
        "import", help="write a scenario from kubectl or helm manifests, a config.properties and a profile",
        description="Build a scenario from `kubectl get deploy,hpa,scaledobject,nodes -o yaml` output (or `helm "
                    "template` output beside `kubectl get nodes -o yaml`), TorchServe's config.properties and a "
                    "model profile. Every assumption is printed and heads the written file."))
    dashboard = commands.add_parser("dashboard", help="start the Streamlit dashboard (needs the app extra)",
                                    description="Start the dashboard; other arguments go to `streamlit run`, e.g. "
                                                "--server.port 8502 --server.headless true.")
    dashboard.set_defaults(command=_dashboard)
    cli_reports.add_compare(commands)
    observe_cli.add_command(commands)
    live_cli.add_commands(commands)
    sweep_cli.add_commands(commands)
    from calibration import cli as calibration_cli  # a surface beside this one; imported late, it imports twin

    calibration_cli.add_commands(commands)
    return parser


def _scenario_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="a scenario file, or the name of a bundled one (default, "
                                         "questions/workers-vs-pods-2x4, ...)")
    overrides.add_argument(parser)


def _load(args: argparse.Namespace, **fields: Any) -> tuple[Path, dict[str, Any], Scenario]:
    """The scenario named on the command line, with `--set` and `fields` applied: (its file, the overrides, it)."""
    from twin.config.loader import load_scenario

    path, applied = bundled.scenario_file(args.scenario), {**dict(args.set), **fields}
    return path, applied, load_scenario(path, applied)


def _import_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("manifests", nargs="+", metavar="MANIFESTS",
                        help="YAML files: a kubectl List, a multi-document stream, single objects")
    parser.add_argument("--profile", required=True, help="a profile file, or a bundled profile by name "
                                                         "(roberta-base-go_emotions-a100-80gb, ...)")
    parser.add_argument("--config-properties", type=Path, metavar="FILE", help="TorchServe's config.properties")
    parser.add_argument("--deployment", metavar="NAME", help="the TorchServe Deployment, when there are several")
    parser.add_argument("--duration", type=values.duration, default=600.0, metavar="S",
                        help="simulated seconds (600)")
    outputs.add_arguments(parser, metavar="FILE", help="the scenario file to write (a new file)")
    parser.set_defaults(command=_import)


def _import(args: argparse.Namespace) -> int:
    from twin.config.loader import load_scenario, read_config_properties, read_objects
    from twin.importer import scenario as importer

    out = outputs.file(args.out, force=args.force)
    objects = [(str(path), obj) for path in args.manifests for obj in read_objects(Path(path))]
    settings = read_config_properties(args.config_properties) if args.config_properties else {}
    imported = importer.scenario(
        objects, profile=_profile_reference(args.profile, out.parent), deployment=args.deployment,
        config_properties=_relative(args.config_properties, out.parent) if args.config_properties else None,
        duration_s=args.duration, workers=settings.get("min_workers"))
    with outputs.staged_file(out) as staging:
        staging.write_text(importer.render(imported))
        scenario = load_scenario(staging)  # it runs from where it will live: its references resolve from there
    for line in imported.assumptions:
        print(f"servetwin import: {line}", file=sys.stderr)
    print(f"wrote {args.out}: what the import assumed or left out heads it (above, too); "
          f"`servetwin run {args.out}` runs it")
    _print_warnings(_static_warnings(out, scenario, {}))
    return 0


def _profile_reference(text: str, base: Path) -> str:
    """As a scenario beside `base` names it: a bundled profile by its name, a file by its path from there."""
    if Path(text).is_file():
        return _relative(Path(text), base)
    if bundled.profile_file(text) is None:
        raise InputError(text, "--profile", "a profile file or a bundled profile: "
                         + ", ".join(bundled.profile_names()), "no such file")
    return text


def _relative(path: Path, base: Path) -> str:
    return os.path.relpath(path.resolve(), base.resolve())


def _validate(args: argparse.Namespace) -> int:
    path, applied, scenario = _load(args)
    _warn(path, scenario)
    print(f"{args.scenario}: ok ({scenario.name}: {len(scenario.node_pools)} node pool(s), "
          f"{scenario.deployment.pods} pod(s), {len(scenario.workload)} workload group(s), {scenario.duration_s:g} s)")
    _print_warnings(_static_warnings(path, scenario, applied))
    return 0


def _static_warnings(path: Path, scenario: Scenario, applied: dict) -> list[dict]:
    """What is doomed before any run: trigger queries that select nothing, a profile's assumptions and misfits."""
    from twin.core import diagnostics, provenance

    return diagnostics.query_warnings(scenario) + provenance.warnings(path, applied)


def _warn(path: Path, scenario: Scenario) -> None:
    """A legal but doomed what-if runs; the user hears why it will go badly, one line each on stderr."""
    from twin.config import feasibility

    for note in feasibility.warnings(scenario):
        print(f"servetwin: warning: {path}: {note}", file=sys.stderr)


def _print_warnings(found: list[dict]) -> None:
    from twin.report import text

    for line in text.warnings(found):
        print(line)


def _run(args: argparse.Namespace) -> int:
    from twin.core import provenance
    from twin.core.run import simulate
    from twin.core.stop import Stop

    path, applied, scenario = _load(args, **({"duration_s": args.duration} if args.duration else {}))
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    _warn(path, scenario)
    if args.out is not None:
        outputs.folder(args.out, command="run", force=args.force)
    if args.replications > 1:
        return _replicated(args, path, scenario, applied)
    report = cli_reports.report_target(args)
    started = time.perf_counter()
    stop = Stop()
    with _first_interrupt_stops(stop), Progress(scenario.duration_s, "s simulated", quiet=args.quiet) as progress:
        result = simulate(scenario, stop=stop,
                          progress=lambda now: progress.update(now, _speed(now, progress.elapsed_s)))
    result.summary.wall_s = time.perf_counter() - started
    result.summary.warnings += provenance.warnings(path, applied)
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


def _speed(simulated_s: float, wall_s: float) -> str:
    return f"{simulated_s / max(wall_s, 1e-9):,.0f}x real time"


def _replicated(args: argparse.Namespace, path: Path, scenario: Scenario, overrides: dict[str, Any]) -> int:
    """N seeds, the profile drawn per seed from its fit's uncertainty: the mean and 90 % interval of each headline
    number, which hold the parameters' uncertainty, the seed's noise and the fit's misfit."""
    import numpy as np

    from calibration import intervals  # a surface beside this one
    from twin.core.run import simulate

    spread, own = _profile_spread(path, overrides)
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


def _profile_spread(scenario_path: Path, overrides: dict[str, Any]):
    """The fit's uncertainty recorded in the scenario's profile file, and the fields the scenario sets itself."""
    from calibration import intervals
    from twin.config.reading import read_yaml

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
    import yaml

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


def _dashboard(args: argparse.Namespace) -> int:
    import importlib.util
    import subprocess

    if importlib.util.find_spec("streamlit") is None:
        raise ModuleNotFoundError("No module named 'streamlit'", name="streamlit")
    script = Path(importlib.util.find_spec("app.dashboard").origin)
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", str(script), *args.passed_on])
    try:
        return server.wait()
    except KeyboardInterrupt:  # Streamlit got the same Ctrl-C and shuts down: let it finish
        server.wait()
        return INTERRUPTED


def _human(summary: dict) -> str:
    from twin.report import text

    return text.summary(summary)


if __name__ == "__main__":
    sys.exit(main())
