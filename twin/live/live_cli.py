"""`servetwin live` and `servetwin replay`: the policy on a real cluster, or a decision log replayed against it.

Both are safe by default: `live` runs in shadow mode (reads only) unless told `--mode dry-run` or `--mode enact`,
and `replay` in dry-run unless told `--mode enact`. Output files grow line by line while the run goes on (a live run
has no end to wait for); the summary comes last.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # the commands import their network clients when they run (the live extra)
    from twin.live.connect import Connection
    from twin.live.shadow import Shadow


def add_commands(subparsers: Any) -> None:
    live = subparsers.add_parser("live", help="run the scenario's policy beside (shadow) or on a live cluster")
    live.add_argument("settings", type=Path, help="live settings YAML (cluster, APIs, guardrails, scenario)")
    live.add_argument("--mode", choices=("shadow", "dry-run", "enact"), default="shadow",
                      help="shadow (default): observe, predict, write nothing; dry-run: journal writes, send "
                           "none; enact: apply them")
    live.add_argument("--duration", type=float, metavar="S", help="stop after S seconds (default: run until "
                                                                   "the stop file, SIGTERM or Ctrl-C)")
    live.add_argument("--out", type=Path, default=Path("servetwin-live"), metavar="DIR")
    live.set_defaults(command=_live)
    replay = subparsers.add_parser("replay", help="replay a decision log against a live cluster")
    replay.add_argument("decisions", type=Path, help="decisions.jsonl from `servetwin run` or `optimize`")
    replay.add_argument("--settings", type=Path, required=True, metavar="FILE", help="live settings YAML")
    replay.add_argument("--mode", choices=("dry-run", "enact"), default="dry-run")
    replay.add_argument("--speed", type=float, default=1.0, metavar="X", help="time compression (2: twice as fast)")
    replay.add_argument("--out", type=Path, default=Path("servetwin-replay"), metavar="DIR")
    replay.set_defaults(command=_replay)


def _live(args: argparse.Namespace) -> int:
    from twin.config.loader import load_scenario
    from twin.core.control_plane import policy_steps
    from twin.live.connect import connect
    from twin.live.observe import write_csv
    from twin.live.runner import LiveLoop
    from twin.live.settings import load_settings
    from twin.live.shadow import COLUMNS

    settings = load_settings(args.settings)
    scenario = load_scenario(settings.path(settings.scenario))
    steps = policy_steps(scenario.autoscaling, scrape_interval_s=scenario.metrics.scrape_interval_s)
    connection = connect(settings, mode=args.mode)
    args.out.mkdir(parents=True, exist_ok=True)
    shadow = _shadow(connection) if args.mode == "shadow" else None
    with connection.gate.halt.installed(), (args.out / "decisions.jsonl").open("w") as decisions:
        loop = LiveLoop(steps, connection.ports, connection.gate, tick_s=settings.tick_s,
                        on_tick=shadow.tick if shadow else None,
                        on_decision=lambda d: _line(decisions, d.to_json()))
        loop.run(duration_s=args.duration)
    report = {"mode": args.mode, "decisions": len(loop.decisions), "step_errors": len(loop.errors),
              "writes": _counts(connection), "halted": connection.gate.halt.halted}
    _write_lines(args.out / "writes.jsonl", [_write_json(w, o) for w, o in connection.gate.outcomes])
    _write_lines(args.out / "errors.jsonl", [vars(e) for e in loop.errors])
    if shadow is not None:
        write_csv(args.out / "shadow.csv", COLUMNS, shadow.rows())
        report["shadow"] = shadow.report()
    (args.out / "report.json").write_text(json.dumps(report, indent=2))
    print(json.dumps(report))
    return 0


def _replay(args: argparse.Namespace) -> int:
    from twin.live.connect import connect
    from twin.live.replay import Replay, read_decisions
    from twin.live.settings import load_settings

    decisions = read_decisions(args.decisions)
    connection = connect(load_settings(args.settings), mode=args.mode)
    unsettled = connection.gate.journal.unsettled()
    if unsettled:
        print(f"servetwin: resuming; {len(unsettled)} write(s) of unknown outcome will be checked against the "
              f"cluster before anything is sent", file=sys.stderr)
    args.out.mkdir(parents=True, exist_ok=True)
    with connection.gate.halt.installed(), (args.out / "responses.jsonl").open("a") as responses:
        replay = Replay(connection.cluster, connection.torchserve, connection.gate, speed=args.speed)
        done = replay.run(decisions, on_response=lambda r: _line(responses, r.to_json()))
    print(json.dumps({"mode": args.mode, "decisions": len(decisions), "statuses": dict(Counter(r.status for r in done)),
                      "halted": connection.gate.halt.halted}))
    return 0


def _shadow(connection: Connection) -> Shadow:
    from twin.live.shadow import Shadow, TrafficReader

    settings = connection.settings
    return Shadow(scenario_path=settings.path(settings.scenario), horizon_s=settings.shadow.horizon_s,
                  every_s=settings.shadow.every_s, window=settings.shadow.window,
                  traffic=TrafficReader(connection.prometheus.query, settings.torchserve.model),
                  cluster=connection.cluster, fleet=connection.fleet, started_at=time.time(),
                  score_delay_s=settings.shadow.score_delay_s)


def _counts(connection: Connection) -> dict[str, int]:
    return dict(Counter(outcome.status for _, outcome in connection.gate.outcomes))


def _write_json(write, outcome) -> dict:
    return {"action": write.action, "target": write.target, "wanted": dict(write.value),
            "value": dict(outcome.value), "status": outcome.status, "detail": outcome.detail}


def _line(stream: TextIO, record: dict) -> None:
    stream.write(json.dumps(record) + "\n")
    stream.flush()


def _write_lines(path: Path, records: list[dict]) -> None:
    path.write_text("".join(json.dumps(record) + "\n" for record in records))
