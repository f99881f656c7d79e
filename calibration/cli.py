"""`servetwin calibrate | predict | check`: the calibration commands, registered on the servetwin parser.

`calibrate` warns (one line on stderr) when the twin reproduces the runs it was fitted on worse than POOR_FIT, naming
the runs it misses most and what to do, and names the fields of each profile that no run identified (assumed, not
fitted).

twin/cli.py calls `add_commands(subparsers)`; each command's handler is `args.command(args) -> int` (0 = success,
2 = bad input: a message on stderr, no traceback). Handlers import the fitting and the twin when they run, so that
`servetwin --help` stays quick.
"""
from __future__ import annotations

import argparse
import math
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from twin import outputs
from twin.config import values
from twin.errors import InputError
from twin.progress import Progress

if TYPE_CHECKING:
    from calibration.fit import Fit

DATA = Path(__file__).parent / "data"
ASSUMPTIONS_TITLE = "assumptions for blank cells:"


class _WithAssumptions(argparse.RawDescriptionHelpFormatter):
    """Help whose epilog lists calibration.mapping's assumptions, imported only when the help is shown."""

    def add_text(self, text: str | None) -> None:
        if text == ASSUMPTIONS_TITLE:
            from calibration.mapping import ASSUMPTIONS

            text = "\n".join([ASSUMPTIONS_TITLE, *(f"  - {a}" for a in ASSUMPTIONS)])
        super().add_text(text)


# rms log error of the twin over the runs fitted above which calibrate warns: three times the ~5 % a measurement's
# rounding and run-to-run noise explain (the study's fit reaches 0.06)
POOR_FIT = 0.15


def add_commands(subparsers) -> None:
    formatter, assumptions = _WithAssumptions, ASSUMPTIONS_TITLE
    calibrate = subparsers.add_parser("calibrate", help="fit model profiles to measured load-test runs",
                                      formatter_class=formatter, epilog=assumptions)
    calibrate.add_argument("--runs", type=Path, required=True, help="runs.csv with measured results")
    calibrate.add_argument("--resources", type=Path, help="resources.csv readings (constraints and memory)")
    outputs.add_arguments(calibrate, help="new folder for the profile YAML files")
    _quiet(calibrate)
    calibrate.set_defaults(command=_calibrate)

    predict = subparsers.add_parser("predict", help="predict load-test runs with the twin",
                                    formatter_class=formatter, epilog=assumptions)
    predict.add_argument("--runs", type=Path, required=True, help="runs.csv (configuration columns are enough)")
    outputs.add_arguments(predict, metavar="FILE", help="new CSV: id, throughput_rps, avg_response_ms, ...")
    predict.add_argument("--seed", type=values.seed, default=1, help="first seed (same seed, same table)")
    predict.add_argument("--replications", type=values.replications,
                         help="seeds averaged per run (random pinning of users to pods; default 5)")
    predict.add_argument("--profiles", type=Path, nargs="+", metavar="DIR",
                         help="folders of fitted profiles (default: the bundled ones); a later folder's profile of "
                              "the same model and accelerator wins")
    _quiet(predict)
    _draws_option(predict)
    predict.set_defaults(command=_predict)

    check = subparsers.add_parser("check", help="cross-validation over the calibration runs: leave-one-out, and with "
                                               "--groups whole families of runs left out",
                                  formatter_class=formatter, epilog=assumptions)
    check.add_argument("--runs", type=Path, default=DATA / "runs.csv")
    check.add_argument("--resources", type=Path, default=DATA / "resources.csv")
    outputs.add_arguments(check, required=False, help="new folder for loo.csv and loo.txt (and grouped.csv, "
                                                       "grouped.txt)")
    check.add_argument("--replications", type=values.replications, help="seeds averaged per run (default 5)")
    check.add_argument("--groups", action="store_true",
                       help="also leave out whole families (a profile's runs above its lowest user count, a "
                            "model's multi-worker runs, an accelerator's runs), refitted from scratch")
    _draws_option(check)
    check.add_argument("--jobs", type=values.processes, default=os.cpu_count() or 1,
                       help="folds run at once (processes; the table does not depend on it)")
    _quiet(check)
    check.set_defaults(command=_check)


def _quiet(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--quiet", action="store_true",
                        help="no progress bar (none either when stderr is not a terminal)")


def _draws_option(parser) -> None:
    parser.add_argument("--draws", type=values.whole(0, 10_000, "twin runs"), metavar="N",
                        help="twin runs per prediction for its 90 %% interval (profile drawn from the fit's "
                             "uncertainty, each on its own seed; default 12); 0: no interval")


def _draws(args: argparse.Namespace) -> int:
    from calibration import intervals

    return intervals.DEFAULT_DRAWS if args.draws is None else args.draws


def _inputs(runs_path: Path, resources_path: Path | None):
    from calibration.fit import observations
    from calibration.readers import read_resources, read_runs
    from calibration.readings import gather

    runs = read_runs(runs_path)
    readings = gather(read_resources(resources_path) if resources_path else (), runs)
    obs, skipped = observations(runs)
    for message in skipped:
        print(f"skipped {message}", file=sys.stderr)
    return obs, readings


def _guarded(handler):
    def run(args) -> int:
        try:
            return handler(args)
        except InputError as error:
            print(f"error: {error}", file=sys.stderr)
            return 2
    return run


@_guarded
def _calibrate(args) -> int:
    from calibration.fit import fit
    from calibration.predict import simulate_run
    from calibration.profiles import write_profiles

    outputs.folder(args.out, command="calibrate", force=args.force)
    obs, readings = _inputs(args.runs, args.resources)
    if not obs:
        print("error: no run with a measured throughput and latency to fit", file=sys.stderr)
        return 2
    with Progress(0, "fit rounds", quiet=args.quiet) as progress:
        result = fit(obs, readings, progress=progress.step)
    in_sample = {}
    with Progress(len(obs), "runs simulated with the fit", quiet=args.quiet) as progress:
        for o in obs:
            profile = result.space.profile(o.setup.profile_key, result.theta, readings.memory)
            in_sample[o.id] = (o, simulate_run(o.run.config, o.setup, profile))
            progress.advance()
    sources = [p for p in (args.runs, args.resources) if p]
    _write_folder(args, "calibrate", lambda staging: write_profiles(result, readings, sources=sources,
                                                                     out_dir=staging, in_sample=in_sample))
    print(format_parameters(result))
    for key in result.space.own:
        print(f"assumed for {key[0]} on {key[1]} (no run identifies them): {', '.join(result.space.assumed(key))}")
        profile = result.space.profile(key, result.theta, readings.memory)
        print(f"fields of {profile.name} at assumed values: "
              + ", ".join(f"{name} {_shown(getattr(profile, name))}" for name in profile.assumed))
    if result.rms_log_error > POOR_FIT:
        print(poor_fit_warning(result.rms_log_error, in_sample), file=sys.stderr)
    return 0


def _shown(value) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def poor_fit_warning(rms: float, in_sample: dict) -> str:
    """One line: how poor, the runs the twin misses most (with the other work beside them), what to do."""
    def miss(item) -> float:
        o, twin = item
        return abs(math.log(twin.throughput_rps / o.run.result.throughput_rps)) if twin.throughput_rps else math.inf

    worst = sorted(in_sample.values(), key=miss, reverse=True)[:3]
    named = ", ".join(f"{o.id} ({twin.throughput_rps:.3g} against {o.run.result.throughput_rps:.3g} req/s"
                      + (f", {o.setup.background_threads:.1f} other threads" if o.setup.background_threads else "")
                      + ")" for o, twin in worst)
    return (f"warning: poor fit: the twin misses the runs it was fitted on by {rms:.2f} rms log error (over "
            f"{POOR_FIT}), most {named}; predictions from it are unreliable: rerun those steps longer (observe "
            "--duration) on a quieter node, or leave out runs that another load disturbed, and calibrate again")


def format_parameters(result: Fit) -> str:
    width = max(24, *map(len, result.space.names))
    lines = [f"{'parameter':{width}s} {'value':>9s} {'95% low':>9s} {'95% high':>9s}"]
    lines += [f"{name:{width}s} {result.theta[name]:9.3f} {result.low[name]:9.3f} {result.high[name]:9.3f}"
              for name in result.space.names]
    lines.append(f"twin rms log error over {len(result.used)} runs: {result.rms_log_error:.3f}")
    return "\n".join(lines)


@_guarded
def _predict(args) -> int:
    from calibration.predict import DEFAULT_REPLICATIONS, predict_rows, write_predictions
    from calibration.profiles import BUNDLED, load_profiles, load_spreads
    from calibration.readers import read_runs

    out = outputs.file(args.out, force=args.force, inputs=(args.runs,))
    folders = args.profiles or [BUNDLED]
    profiles = {key: profile for folder in folders for key, profile in load_profiles(folder).items()}
    spreads = {key: spread for folder in folders for key, spread in load_spreads(folder).items()}
    configs = [run.config for run in read_runs(args.runs)]
    with Progress(len(configs), "runs predicted", quiet=args.quiet) as progress:
        rows = predict_rows(configs, profiles, seed=args.seed, replications=args.replications or DEFAULT_REPLICATIONS,
                            spreads=spreads, draws=_draws(args), progress=progress.step)
    with outputs.staged_file(out) as staging:
        write_predictions(rows, staging)
    for row in rows:
        if row.note:
            print(f"not predicted: {row.note}", file=sys.stderr)
    print(f"wrote {args.out}: {sum(not r.note for r in rows)} of {len(rows)} runs predicted")
    return 0


@_guarded
def _check(args) -> int:
    from calibration.check import format_report, format_side_by_side, grouped, leave_one_out, write_report
    from calibration.fit import fit
    from calibration.predict import DEFAULT_REPLICATIONS

    if args.out is not None:
        outputs.folder(args.out, command="check", force=args.force)
    obs, readings = _inputs(args.runs, args.resources)
    replications, draws = args.replications or DEFAULT_REPLICATIONS, _draws(args)
    with Progress(0, "rounds of the fit to every run", quiet=args.quiet) as progress:
        full = fit(obs, readings, progress=progress.step)
    with Progress(len(obs), "runs left out, refitted and predicted", quiet=args.quiet) as progress:
        reports = [leave_one_out(obs, readings, full=full, replications=replications, jobs=args.jobs, draws=draws,
                                 progress=progress.step)]
    if args.groups:
        with Progress(0, "families left out, refitted and predicted", quiet=args.quiet) as progress:
            reports.append(grouped(obs, readings, replications=replications, jobs=args.jobs, draws=draws,
                                   progress=progress.step))
    for report in reports:
        print(format_report(report) + "\n")
    print(format_side_by_side(reports))
    if args.out is not None:
        _write_folder(args, "check", lambda staging: [path for report in reports
                                                      for path in write_report(report, staging)])
    return 0


def _write_folder(args, command: str, write: Callable[[Path], list[Path]]) -> None:
    """`write` fills a staging folder that becomes --out when complete; the files are named where they now are."""
    with outputs.staged_folder(args.out, command=command, force=args.force) as staging:
        written = write(staging)
    for path in written:
        print(f"wrote {Path(args.out) / path.name}")
