"""Fidelity against a real server: observe a real TorchServe on this machine's CPU, calibrate the twin on its 1-worker
runs, predict the multi-worker runs it never saw, and print each run's error and the MAPE.

The server is the suite's real TorchServe fixture serving `encoder4` (four transformer encoder layers with random
weights, ~20 ms per request on one thread) with TorchServe's and torch's defaults, so every worker's intra-op pool
takes every core. The grid is workers 1, 2, 4 × users 1, 2, 4, 8, at batch size 1 and at batch size 4 with a batch
delay, each step through `servetwin observe`; then `servetwin calibrate` on the 1-worker rows and `servetwin predict`
on the rest, all through the command line a user has. A benchmark, not a test: the numbers depend on the machine
and on whatever else shares its cores (observe records the host's load average and CPU use beside every step).

Run: `python benchmarks/fidelity_local.py [--duration S] [--out DIR]` (about 3 minutes with the defaults).
"""
from __future__ import annotations

import argparse
import csv
import os
import statistics
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.support.torchserve import ENCODER4, RealTorchServe  # noqa: E402
from twin.cli import main as servetwin  # noqa: E402

BATCHED = f"{ENCODER4}_b4"
BATCH_DELAY_MS = 20


def observe(server: RealTorchServe, model: str, out: Path, *, duration_s: float) -> Path:
    code = servetwin(["observe", "--url", server.urls.inference, "--management-url", server.urls.management,
                      "--metrics-url", server.urls.metrics, "--model", model, "--workers", "1,2,4",
                      "--users", "1,2,4,8", "--duration", str(duration_s), "--pause", "1", "--device", "cpu",
                      "--node-vcpus", str(os.cpu_count() or 1), "--node-ram-gb", f"{ram_gib():.1f}",
                      "--cloud-vm", "this-machine",
                      "--out", str(out)])
    if code:
        raise SystemExit(f"observe {model} failed ({code})")
    return out / "runs.csv"


def ram_gib() -> float:
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2 ** 30


def merged(tables: list[Path], target: Path) -> list[dict[str, str]]:
    """One table of both batch settings under one model name, so one profile describes both."""
    rows = []
    for table in tables:
        with table.open(newline="") as handle:
            rows += [{**row, "model": ENCODER4} for row in csv.DictReader(handle)]
    write(rows, target)
    return rows


def write(rows: list[dict[str, str]], target: Path) -> Path:
    with target.open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return target


def compare(measured: list[dict[str, str]], predicted: Path) -> str:
    with predicted.open(newline="") as handle:
        twin = {row["id"]: row for row in csv.DictReader(handle)}
    lines = [f"{'run':24s} {'batch':>5s} {'other':>5s} {'X meas':>7s} {'X pred':>7s} {'err%':>7s} {'X 90%':>11s} "
             f"{'R meas':>7s} {'R pred':>7s} {'err%':>7s}"]
    x_errors, r_errors, inside, blank = [], [], [], []
    for row in measured:
        got = twin[row["id"]]
        if not got["throughput_rps"] or not got["avg_response_ms"]:
            blank.append(row["id"])  # no simulated request completed within the step's few seconds
            continue
        x, r = float(row["throughput_rps"]), float(row["avg_response_ms"])
        px, pr = float(got["throughput_rps"]), float(got["avg_response_ms"])
        x_errors.append(100 * (px / x - 1))
        r_errors.append(100 * (pr / r - 1))
        band = (float(got["throughput_low"]), float(got["throughput_high"])) if got.get("throughput_low") else None
        if band:
            inside.append(band[0] <= x <= band[1])
        lines.append(f"{row['id']:24s} {row['batch_size']:>5s} {_threads(row):>5s} {x:7.1f} {px:7.1f} "
                     f"{x_errors[-1]:+7.1f} {_band(band):>11s} {r:7.0f} {pr:7.0f} {r_errors[-1]:+7.1f}")
    mape = statistics.fmean
    lines.append(f"held-out MAPE over {len(x_errors)} multi-worker runs: throughput "
                 f"{mape(map(abs, x_errors)):.1f} %, mean latency {mape(map(abs, r_errors)):.1f} %"
                 + (f"; measured throughput inside the 90 % interval: {sum(inside)}/{len(inside)}" if inside else ""))
    if blank:
        lines.append("not predicted (no simulated request completed in the step): " + ", ".join(blank))
    return "\n".join(lines)


def _threads(row: dict[str, str]) -> str:
    """Other work's runnable threads beside the step (observe's estimate): a busy neighbour explains a slow run."""
    return f"{float(row['background_threads']):.1f}" if row.get("background_threads") else "-"


def _band(band: tuple[float, float] | None) -> str:
    return f"{band[0]:.1f}-{band[1]:.1f}" if band else "-"


def run(work: Path, *, duration_s: float) -> str:
    with RealTorchServe(workdir=work / "torchserve", models=(ENCODER4,)) as server:
        server.register(BATCHED, ENCODER4, batch_size=4, max_batch_delay_ms=BATCH_DELAY_MS)
        tables = [observe(server, model, work / f"observed-{model}", duration_s=duration_s)
                  for model in (ENCODER4, BATCHED)]
    rows = merged(tables, work / "runs.csv")
    one_worker = write([r for r in rows if r["workers_per_pod"] == "1"], work / "calibration.csv")
    held_out = [r for r in rows if r["workers_per_pod"] != "1"]
    if servetwin(["calibrate", "--runs", str(one_worker), "--out", str(work / "profiles")]):
        raise SystemExit("calibrate failed")
    predicted = work / "predicted.csv"
    if servetwin(["predict", "--runs", str(write(held_out, work / "held-out.csv")), "--profiles",
                  str(work / "profiles"), "--out", str(predicted)]):
        raise SystemExit("predict failed")
    return compare(held_out, predicted)


def report(work: Path) -> str:
    """The comparison again, from a kept --out folder."""
    with (work / "held-out.csv").open(newline="") as handle:
        return compare(list(csv.DictReader(handle)), work / "predicted.csv")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=4.0, help="seconds per observed step (4)")
    parser.add_argument("--out", type=Path, help="keep the observed tables, profiles and predictions here")
    parser.add_argument("--report", type=Path, metavar="DIR", help="only print the comparison of a kept --out folder")
    args = parser.parse_args()
    if args.report:
        print(report(args.report))
        return
    if args.out:
        args.out.mkdir(parents=True, exist_ok=False)
        print(run(args.out, duration_s=args.duration))
        return
    with tempfile.TemporaryDirectory(prefix="servetwin-fidelity-") as tmp:
        print(run(Path(tmp), duration_s=args.duration))


if __name__ == "__main__":
    main()
