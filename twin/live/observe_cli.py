"""`servetwin observe`: the command-line face of `twin.live.observe` (flags -> ObserveConfig -> one line per step).

A user mistake (bad flag value, unreachable server, wrong key) raises `InputError`, which the CLI prints as one line;
a deployment that misbehaves mid-run (a scale that never becomes READY) prints one line and exits 1.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from twin import outputs
from twin.config import values
from twin.config.limits import MAX_MEMORY_GIB, MAX_PODS, MAX_USERS, MAX_VCPUS, MAX_WORKERS

if TYPE_CHECKING:  # the command imports its HTTP client when it runs (the live extra)
    from twin.live.observe import ObserveResult, StepResult


def add_command(subparsers: Any) -> argparse.ArgumentParser:
    """Register `observe` on the CLI's subparsers; its handler is `args.command(args) -> exit code`."""
    parser = subparsers.add_parser(
        "observe", help="load a running TorchServe step by step and record the steps as calibration runs",
        description="Run a closed-loop load test per (workers, users) step against your own TorchServe and write "
                    "runs.csv (the calibration table), steps.csv, one JTL per step and describe/metrics snapshots.")
    parser.add_argument("--url", type=values.url, required=True,
                        help="inference API base URL, e.g. http://host:8080")
    parser.add_argument("--management-url", type=values.url, required=True,
                        help="management API base URL, e.g. http://host:8081")
    parser.add_argument("--metrics-url", type=values.url,
                        help="metrics API base URL, e.g. http://host:8082 (adds TorchServe's view)")
    parser.add_argument("--model", type=values.label, required=True, help="registered model name")
    parser.add_argument("--users", type=values.whole_list(1, MAX_USERS), default=(1, 2, 4, 8), metavar="N,N,...",
                        help="closed-loop user counts, one step each (default 1,2,4,8)")
    parser.add_argument("--workers", type=values.whole_list(1, MAX_WORKERS), default=(), metavar="N,N,...",
                        help="worker counts to step through via the management API (default: leave as is)")
    parser.add_argument("--duration", type=values.duration, default=60.0, metavar="S", help="seconds per step (60)")
    parser.add_argument("--ramp", type=values.seconds, default=0.0, metavar="S", help="ramp-up seconds per step (0)")
    parser.add_argument("--pause", type=values.seconds, default=5.0, metavar="S", help="seconds between steps (5)")
    parser.add_argument("--scale-timeout", type=values.duration, default=120.0, metavar="S",
                        help="seconds to wait for scaled workers to be READY (120)")
    keys = parser.add_mutually_exclusive_group()
    keys.add_argument("--token-file", type=Path, metavar="FILE", help="TorchServe's key_file.json")
    keys.add_argument("--token", type=values.label, help="one bearer token for both the inference and management APIs")
    outputs.add_arguments(parser, help="new or empty output folder")
    node = parser.add_argument_group("node description (copied into runs.csv)")
    node.add_argument("--cloud-vm", type=values.label)
    node.add_argument("--gpu-model", type=values.line)
    node.add_argument("--gpu-partition", type=values.line)
    node.add_argument("--node-vcpus", type=values.whole(1, MAX_VCPUS, "a number of vCPUs"))
    node.add_argument("--node-ram-gb", type=values.positive(MAX_MEMORY_GIB, "gigabytes of RAM"))
    node.add_argument("--device", choices=("cpu", "gpu"))
    node.add_argument("--pods", type=values.whole(1, MAX_PODS, "a number of pods"), default=1)
    parser.add_argument("--quiet", action="store_true",
                        help="no progress line (none either when stderr is not a terminal)")
    parser.set_defaults(command=run_command)
    return parser


def run_command(args: argparse.Namespace) -> int:
    from twin.live.observe import NodeDescription, ObserveConfig, ObserveError, observe

    inference_token, management_token = _tokens(args)
    config = ObserveConfig(
        inference_url=args.url, management_url=args.management_url, metrics_url=args.metrics_url, model=args.model,
        out_dir=args.out, force=args.force, users=args.users, workers=args.workers, duration_s=args.duration,
        ramp_s=args.ramp,
        pause_s=args.pause, scale_timeout_s=args.scale_timeout, inference_token=inference_token,
        management_token=management_token,
        node=NodeDescription(cloud_vm=args.cloud_vm, gpu_model=args.gpu_model, gpu_partition=args.gpu_partition,
                             node_vcpus=args.node_vcpus, node_ram_gb=args.node_ram_gb, device=args.device,
                             pods=args.pods))
    from twin.progress import Progress

    try:
        with Progress(len(args.workers or (None,)) * len(args.users), "steps observed", quiet=args.quiet) as progress:
            result = observe(config, lambda done, steps, step: progress.step(done, steps, _line(step) + _host(step)))
    except ObserveError as error:
        print(f"servetwin: error: {error} (nothing written to {args.out})", file=sys.stderr)
        return 1
    print(_report(result))
    return 0


def _report(result: ObserveResult) -> str:
    lines = [f"{len(result.steps)} step(s) in {result.wall_s:.0f} s -> {result.out_dir}"]
    lines += [f"  {_line(step)}{_host(step)}" for step in result.steps]
    return "\n".join(lines)


def _line(step: StepResult) -> str:
    load = step.load
    own = "" if step.ts_mean_latency_ms is None else f"  (TorchServe {step.ts_mean_latency_ms:.1f} ms)"
    return (f"{step.id}: {load.throughput_rps:.1f} req/s  mean {load.mean_ms:.1f} ms  p95 {load.p95_ms:.1f} ms  "
            f"errors {load.error_pct:.1f}%{own}")


def _host(step: StepResult) -> str:
    """The machine beside the step: a busy neighbour explains a slow step."""
    host = step.host
    if host is None or host.load_1m is None:
        return ""
    cpu = "" if host.host_cpu_pct is None else f", host CPU {host.host_cpu_pct:.0f} %"
    server = "" if host.server_cpu_pct is None else f" (server {host.server_cpu_pct:.0f} %)"
    return f"  [load {host.load_1m:.2f}{cpu}{server}]"


def _tokens(args: argparse.Namespace) -> tuple[str | None, str | None]:
    """(inference, management) bearer keys: from key_file.json, or one token for both, or none."""
    from twin.live.torchserve_api import read_keys

    if args.token_file is None:
        return args.token, args.token
    return read_keys(args.token_file)

