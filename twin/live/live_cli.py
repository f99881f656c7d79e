"""`servetwin live` and `servetwin replay`: the policy on a real cluster, or a decision log replayed against it.

Both are safe by default: `live` runs in shadow mode (reads only) unless told `--mode dry-run` or `--mode enact`,
and `replay` in dry-run unless told `--mode enact`. Output files grow line by line while the run goes on (a live run
has no end to wait for); the summary comes last. `live` wants a new folder (`--force` replaces an earlier live run's);
`replay` resumes in its own, appending to responses.jsonl.
"""
from __future__ import annotations

import argparse
import json
from collections import Counter
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from twin import outputs
from twin.config import values
from twin.errors import InputError

if TYPE_CHECKING:  # the commands import their network clients when they run (the live extra)
    from twin.live.connect import Connection
    from twin.live.shadow import Shadow


def add_commands(subparsers: Any) -> None:
    live = subparsers.add_parser("live", help="run the scenario's policy beside (shadow) or on a live cluster")
    live.add_argument("settings", type=Path, help="live settings YAML (cluster, APIs, guardrails, scenario)")
    live.add_argument("--mode", choices=("shadow", "dry-run", "enact"), default="shadow",
                      help="shadow (default): observe, predict, write nothing; dry-run: journal writes, send "
                           "none; enact: apply them")
    live.add_argument("--duration", type=values.duration, metavar="S", help="stop after S seconds (default: run until "
                                                                   "the stop file, SIGTERM or Ctrl-C)")
    outputs.add_arguments(live, required=False, default="servetwin-live",
                          help="new folder for decisions, writes, errors and the report (default servetwin-live)")
    live.add_argument("--snapshot", metavar="DIR", help="instead of running: write the cluster's state now (pods, "
                      "workers, traffic, its autoscalers' manifests) as a scenario in the new folder DIR, the start "
                      "state for run, sweep and the dashboard (--force replaces an earlier snapshot)")
    live.set_defaults(command=_live)
    replay = subparsers.add_parser("replay", help="replay a decision log against a live cluster")
    replay.add_argument("decisions", type=Path, help="decisions.jsonl from `servetwin run` or `optimize`")
    replay.add_argument("--settings", type=Path, required=True, metavar="FILE", help="live settings YAML")
    replay.add_argument("--mode", choices=("dry-run", "enact"), default="dry-run")
    replay.add_argument("--speed", type=values.speed, default=1.0, metavar="X",
                        help="time compression (2: twice as fast)")
    outputs.add_arguments(replay, required=False, default="servetwin-replay", force=False,
                          help="folder for responses.jsonl; a stopped replay resumes in it (default servetwin-replay)")
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
    if args.snapshot is not None:
        return _snapshot(args, settings)
    scenario = load_scenario(settings.path(settings.scenario))
    steps = policy_steps(scenario.autoscaling, scrape_interval_s=scenario.metrics.scrape_interval_s,
                         node_pools=scenario.node_pools)
    if any(step.name == "anticipatory" for step in steps) and settings.cluster.placeholders is None:
        raise InputError(settings.source, "cluster.placeholders", "the placeholder Deployment whose replicas the "
                         "scenario's anticipatory policy sets", "none")
    outputs.folder(args.out, command="live", force=args.force)
    connection = connect(settings, mode=args.mode)
    out = outputs.claim(args.out, command="live", resume=False, force=args.force)
    shadow = _shadow(connection) if args.mode == "shadow" else None
    with connection.gate.halt.installed(), (out / "decisions.jsonl").open("w") as decisions:
        loop = LiveLoop(steps, connection.ports, connection.gate, tick_s=settings.tick_s,
                        on_tick=shadow.tick if shadow else None,
                        on_decision=lambda d: _decided(decisions, d, shadow))
        loop.run(duration_s=args.duration)
        if shadow is not None:
            _finish(shadow, halted=connection.gate.halt.halted)
    report = {"mode": args.mode, "decisions": len(loop.decisions), "step_errors": len(loop.errors),
              "writes": _counts(connection), "halted": connection.gate.halt.halted}
    _write_lines(out / "writes.jsonl", [_write_json(w, o) for w, o in connection.gate.outcomes])
    _write_lines(out / "errors.jsonl", [vars(e) for e in loop.errors])
    if shadow is not None:
        with outputs.staged_file(out / "shadow.csv") as staging:
            write_csv(staging, COLUMNS, shadow.rows())
        report["shadow"] = shadow.report()
    outputs.write_text(out / "report.json", json.dumps(report, indent=2))
    outputs.mark(out, command="live")
    print(json.dumps(report))
    return 0


def _snapshot(args: argparse.Namespace, settings) -> int:
    from twin.live import snapshot
    from twin.live.connect import connect

    outputs.folder(args.snapshot, command=snapshot.COMMAND, force=args.force)
    observed = snapshot.observe(connect(settings, mode="shadow"))
    written = snapshot.write(args.snapshot, force=args.force, scenario_path=settings.path(settings.scenario),
                             observed=observed, queries=settings.cluster.metric_queries)
    names = ", ".join(observed.controllers.names()) or "none"
    print(f"servetwin: snapshot {written}: {observed.pods} pod(s), {observed.ready_pods} ready, "
          f"{observed.traffic.throughput_rps:.1f} req/s, autoscalers: {names}")
    return 0


def _replay(args: argparse.Namespace) -> int:
    from twin.live.connect import connect
    from twin.live.replay import Replay, read_decisions
    from twin.live.settings import load_settings

    decisions = read_decisions(args.decisions)
    outputs.folder(args.out, command="replay", resume=True)
    connection = connect(load_settings(args.settings), mode=args.mode)
    unsettled = connection.gate.journal.unsettled()
    if unsettled:
        print(f"servetwin: resuming; {len(unsettled)} write(s) of unknown outcome will be checked against the "
              f"cluster before anything is sent", file=sys.stderr)
    out = outputs.claim(args.out, command="replay")
    with connection.gate.halt.installed(), (out / "responses.jsonl").open("a") as responses:
        replay = Replay(connection.cluster, connection.torchserve, connection.gate, speed=args.speed)
        done = replay.run(decisions, on_response=lambda r: _line(responses, r.to_json()))
    outputs.mark(out, command="replay")
    print(json.dumps({"mode": args.mode, "decisions": len(decisions), "statuses": dict(Counter(r.status for r in done)),
                      "halted": connection.gate.halt.halted}))
    return 0


def _decided(decisions: TextIO, decision, shadow: Shadow | None) -> None:
    _line(decisions, decision.to_json())
    if shadow is not None:
        shadow.policy_decided(decision)


def _shadow(connection: Connection) -> Shadow:
    from twin.live import cluster_controllers
    from twin.live.shadow import Shadow, TrafficReader

    settings = connection.settings
    wanted = settings.shadow
    return Shadow(scenario_path=settings.path(settings.scenario), horizons_s=wanted.horizons_s,
                  every_s=wanted.every_s, window=wanted.window,
                  traffic=TrafficReader(connection.prometheus, settings.torchserve.model),
                  cluster=connection.cluster, fleet=connection.fleet, started_at=time.time(),
                  score_delay_s=wanted.score_delay_s, forecasts=tuple(wanted.forecast),
                  change_threshold=wanted.change_threshold,
                  controllers=lambda: cluster_controllers.read(connection.kube, settings.cluster.deployment),
                  queries=settings.cluster.metric_queries, say=lambda line: print(line, file=sys.stderr))


def _finish(shadow: Shadow, *, halted: bool) -> None:
    """Wait out the scrape lag of horizons already over (bounded by score_delay_s), so the last ones are scored too;
    a stop (SIGTERM, Ctrl-C) is not delayed by it."""
    now = time.time()
    wait_s = 0.0 if halted else shadow.lag_left(now)
    time.sleep(wait_s)
    shadow.finish(max(time.time(), now + wait_s), ended_s=now)


def _counts(connection: Connection) -> dict[str, int]:
    return dict(Counter(outcome.status for _, outcome in connection.gate.outcomes))


def _write_json(write, outcome) -> dict:
    return {"action": write.action, "target": write.target, "wanted": dict(write.value),
            "value": dict(outcome.value), "status": outcome.status, "detail": outcome.detail}


def _line(stream: TextIO, record: dict) -> None:
    stream.write(json.dumps(record) + "\n")
    stream.flush()


def _write_lines(path: Path, records: list[dict]) -> None:
    outputs.write_text(path, "".join(json.dumps(record) + "\n" for record in records))
