"""`servetwin`: run, validate and import scenarios from the command line; the other surfaces register theirs here.

A user mistake prints one line (file:line: field: expected …, got …) and exits 2, never a traceback. Commands import
what they need when they run: `--help` is quick, a plain `pip install .` runs every simulation command, and a command
whose extra is missing says which one to install, in one line.
"""
from __future__ import annotations

import argparse
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Sequence

import twin
from twin.config import bundled, overrides
from twin.errors import InputError
from twin.live import live_cli, observe_cli
from twin.progress import Progress
from twin.sweep import cli as sweep_cli

if TYPE_CHECKING:
    from twin.config.schema import Scenario
    from twin.core.run import Result

# The extra that installs a module, for the one line a command prints when it is missing.
EXTRAS = {"kubernetes": "live", "aiohttp": "live", "psutil": "live", "streamlit": "app"}


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args, passed_on = parser.parse_known_args(argv)
    if passed_on and args.command is not _dashboard:
        parser.error(f"unrecognized arguments: {' '.join(passed_on)}")
    args.passed_on = passed_on
    try:
        return args.command(args)
    except InputError as error:
        print(f"servetwin: error: {error}", file=sys.stderr)
        return 2
    except ModuleNotFoundError as error:
        extra = EXTRAS.get((error.name or "").partition(".")[0])
        if extra is None:
            raise
        print(f"servetwin: error: this command needs the {extra} extra: pip install 'servetwin[{extra}]'",
              file=sys.stderr)
        return 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="servetwin", description="A digital twin of TorchServe on Kubernetes.")
    parser.add_argument("--version", action="version", version=f"servetwin {twin.__version__}")
    commands = parser.add_subparsers(required=True, metavar="COMMAND")
    run = commands.add_parser("run", help="simulate a scenario and print its summary")
    _scenario_arguments(run)
    run.add_argument("--seed", type=int, help="override the scenario's seed")
    run.add_argument("--duration", type=_positive, metavar="S", help="override the simulated duration (seconds)")
    run.add_argument("--out", type=Path, metavar="DIR", help="write time series, events and summary here")
    run.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    run.add_argument("--quiet", action="store_true",
                     help="no progress bar (none either when stderr is not a terminal)")
    run.set_defaults(command=_run)
    validate = commands.add_parser("validate", help="check a scenario file and the files it references")
    _scenario_arguments(validate)
    validate.set_defaults(command=_validate)
    dashboard = commands.add_parser("dashboard", help="start the Streamlit dashboard (needs the app extra)",
                                    description="Start the dashboard; other arguments go to `streamlit run`, e.g. "
                                                "--server.port 8502 --server.headless true.")
    dashboard.set_defaults(command=_dashboard)
    observe_cli.add_command(commands)
    live_cli.add_commands(commands)
    sweep_cli.add_commands(commands)
    from calibration import cli as calibration_cli  # a surface beside this one; imported late, it imports twin

    calibration_cli.add_commands(commands)
    return parser


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number of seconds, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive number of seconds, got {text!r}")
    return value


def _scenario_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("scenario", help="a scenario file, or the name of a bundled one (default, "
                                         "questions/workers-vs-pods-2x4, ...)")
    overrides.add_argument(parser)


def _load(args: argparse.Namespace, **fields: Any) -> Scenario:
    """The scenario named on the command line with `--set` and the given fields applied."""
    from twin.config.loader import load_scenario

    return load_scenario(bundled.scenario_file(args.scenario), {**dict(args.set), **fields})


def _validate(args: argparse.Namespace) -> int:
    scenario = _load(args)
    print(f"{args.scenario}: ok ({scenario.name}: {len(scenario.node_pools)} node pool(s), "
          f"{scenario.deployment.pods} pod(s), {len(scenario.workload)} workload group(s), {scenario.duration_s:g} s)")
    return 0


def _run(args: argparse.Namespace) -> int:
    from twin.core.run import simulate

    scenario = _load(args, **({"duration_s": args.duration} if args.duration else {}))
    if args.seed is not None:
        scenario = scenario.model_copy(update={"seed": args.seed})
    started = time.perf_counter()
    with Progress(scenario.duration_s, "s simulated", quiet=args.quiet) as progress:
        result = simulate(scenario, progress=lambda now: progress.update(now, _speed(now, progress.elapsed_s)))
    result.summary.wall_s = time.perf_counter() - started
    if args.out:
        write_outputs(args.out, scenario, result)
    summary = result.summary.to_dict()
    print(json.dumps(summary) if args.json else _human(summary))
    return 0


def write_outputs(directory: Path, scenario: Scenario, result: Result) -> None:
    """Write everything into a temporary folder first, then move it in place: never a half-written result."""
    import yaml

    directory.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".servetwin-", dir=directory.parent))
    try:
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
        if directory.exists():
            shutil.rmtree(directory)
        staging.rename(directory)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


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
        return server.wait()


def _human(summary: dict) -> str:
    latency = summary["latency_ms"]
    errors = summary["errors"]
    kinds = ", ".join(f"{k} {v}" for k, v in errors.items() if k != "total" and v)
    cost = summary["cost"]
    lines = [
        f"scenario {summary['scenario']} (seed {summary['seed']}): {summary['simulated_s']:g} s simulated "
        f"in {summary['wall_s']:.2f} s",
        f"  requests     {summary['requests']}  throughput {summary['throughput_rps']:.1f} req/s",
        "  latency ms   " + "  ".join(f"{k} {_fmt(v)}" for k, v in latency.items()),
        f"  errors       {errors['total']}" + (f" ({kinds})" if kinds else ""),
        f"  utilisation  cpu {_pct(summary['cpu_util'])}  gpu {_pct(summary['gpu_util'])}  "
        f"load avg {_fmt(summary['load_avg'])}",
        f"  cost         ${cost['total_usd']:.4f}  (${_fmt(cost['usd_per_million'])} per million inferences)",
        f"  SLO          {summary['slo']['violation_minutes']:.1f} min violated (p95 > "
        f"{summary['slo']['latency_p95_ms']:g} ms or errors > {100 * summary['slo']['max_error_ratio']:g} %)"
        + (f"; {summary['decisions']} autoscaler decisions" if summary["decisions"] else ""),
    ]
    return "\n".join(lines)


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}%"


def _speed(simulated_s: float, wall_s: float) -> str:
    return f"{simulated_s / max(wall_s, 1e-9):,.0f}x real time"


if __name__ == "__main__":
    sys.exit(main())
