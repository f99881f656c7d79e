"""How often a torch model's thread pool meets at a barrier: the measurement behind the `parallel_regions` prior of
an own CPU profile (calibration/space.py, twin/k8s/node.py).

For each model of a small family (transformer encoders of 2, 4 and 8 layers like the suite's `encoder4`, the two-layer
`tiny_encoder`, a small conv net), with random weights and torch's default threading, it counts the OpenMP parallel
regions one forward pass opens: a shim preloaded into the process (compiled here with the C compiler) wraps libgomp's
`GOMP_parallel`, which ATen's `parallel_for`, MKL and oneDNN all enter, and every region ends at the team's barrier.
It also measures the pass's single-thread CPU time (`torch.set_num_threads(1)`, process CPU time, so other work on
the machine barely moves it). Their ratio, barriers per core-ms of work, is what a model of one's own inherits: its
fitted core-ms per request times the family's median density, with the family's spread as the prior's width.

With `--contention`, each model also runs in 1, 2 and 4 processes at once for a few seconds (default threads, so each
pool takes every core; `--hogs K` adds K busy loops beside them), and all processes' passes per second against one
alone are printed beside the twin's (twin/k8s/node.py `cpu_speed` with the counted regions and the penalty prior),
with the spin per barrier that explains the two-process share in the form the study's profiles use (no idle waits):
the source of the spin prior in calibration/parameters.py and of the saturation of spin with crowding. With
`--idle-spin`, only the CPU an idle pool burns after a region before it sleeps (libgomp's GOMP_SPINCOUNT;
twin/k8s/idle_spin.py): a region then 10 ms of serial work, at one thread and at the default, and again under
OMP_WAIT_POLICY=passive. `encoder4`,
whose TorchServe runs judge the twin, is not timed. Needs a quiet machine, torch and cc. Run:
`python benchmarks/parallel_regions.py [--contention [--hogs K] | --idle-spin]`.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHIM = r"""
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdatomic.h>
static atomic_long regions;
typedef void (*parallel_fn)(void (*)(void *), void *, unsigned, unsigned);
void GOMP_parallel(void (*fn)(void *), void *data, unsigned threads, unsigned flags) {
  static parallel_fn real;
  if (!real) real = (parallel_fn)dlvsym(RTLD_NEXT, "GOMP_parallel", "GOMP_4.0");
  atomic_fetch_add(&regions, 1);
  real(fn, data, threads, flags);
}
long servetwin_regions(void) { return atomic_load(&regions); }
"""
FAMILY = ("encoder2", "encoder4", "encoder8", "tiny_encoder", "convnet")
HELD_OUT = "encoder4"  # its TorchServe runs judge the twin (tests/live/test_second_worker.py): not timed here
PASSES = 40


def build_model(name: str):
    """The model and one input, traced as the suite's archives are."""
    import torch

    sys.path.insert(0, str(ROOT / "tests" / "support" / "ts_models"))
    from build import SEQ_LEN, TinyEncoder

    torch.manual_seed(0)
    if name == "convnet":
        model, example = _convnet(), torch.rand((1, 3, 64, 64))
    else:
        shape = {} if name == "tiny_encoder" else {"d_model": 384, "layers": int(name.removeprefix("encoder"))}
        model, example = TinyEncoder(**shape), torch.zeros((1, SEQ_LEN), dtype=torch.long)
    with torch.no_grad():
        return torch.jit.trace(model.eval(), example), example


def _convnet():
    import torch.nn as nn

    def block(cin: int, cout: int) -> nn.Sequential:
        return nn.Sequential(nn.Conv2d(cin, cout, 3, padding=1), nn.BatchNorm2d(cout), nn.ReLU(), nn.MaxPool2d(2))

    return nn.Sequential(block(3, 32), block(32, 64), block(64, 128), nn.AdaptiveAvgPool2d(1), nn.Flatten(),
                         nn.Linear(128, 10))


def child(name: str) -> dict:
    """In a process with the shim preloaded: regions per pass at default threads, and single-thread CPU ms."""
    import torch

    count = ctypes.CDLL(None).servetwin_regions
    count.restype = ctypes.c_long
    model, example = build_model(name)
    threads = torch.get_num_threads()
    with torch.inference_mode():
        _passes(model, example, 10)
        before = count()
        _passes(model, example, PASSES)
        regions = (count() - before) / PASSES
        torch.set_num_threads(1)
        _passes(model, example, 5)
        started = time.process_time()
        _passes(model, example, PASSES)
        cpu_ms = (time.process_time() - started) / PASSES * 1000
    return {"model": name, "threads": threads, "regions": regions, "cpu_ms": cpu_ms}


def rate(name: str, seconds: float) -> dict:
    """Passes per second at default threads over `seconds` (one of the processes of a contention step)."""
    import torch

    model, example = build_model(name)
    with torch.inference_mode():
        _passes(model, example, 5)
        done, started = 0, time.perf_counter()
        while time.perf_counter() - started < seconds:
            _passes(model, example, 1)
            done += 1
    return {"rate": done / (time.perf_counter() - started)}


def idle_spin(rounds: int = 200, sleep_s: float = 0.01) -> dict:
    """CPU ms a round of one parallel region then `sleep_s` of serial work costs, at 1 thread and at the default."""
    import torch

    tensor = torch.rand(1 << 18)  # above ATen's grain size: `add_` opens a parallel region
    default = torch.get_num_threads()
    costs = {}
    for threads in (1, default):
        torch.set_num_threads(threads)
        started = time.process_time()
        for _ in range(rounds):
            tensor.add_(1.0)
            time.sleep(sleep_s)
        costs[threads] = (time.process_time() - started) / rounds * 1000
    return {"threads": default, "one_ms": costs[1], "default_ms": costs[default]}


def spin_report() -> None:
    """The idle spin after a region, in this process's environment and with OMP_WAIT_POLICY=passive."""
    for label, env in (("as set", None), ("OMP_WAIT_POLICY=passive", {"OMP_WAIT_POLICY": "passive"})):
        got = _result(_spawn(["--idle-spin-child"], env))
        spin = (got["default_ms"] - got["one_ms"]) / max(1, got["threads"] - 1)
        print(f"idle spin ({label}): a region then 10 ms of serial work costs {got['default_ms']:.2f} CPU-ms at "
              f"{got['threads']} threads, {got['one_ms']:.2f} at one: each other thread spins {spin:.2f} ms")


def _passes(model, example, count: int) -> None:
    for _ in range(count):
        model(example)


def _shim(folder: Path) -> Path:
    source, library = folder / "shim.c", folder / "shim.so"
    source.write_text(SHIM)
    subprocess.run(["cc", "-shared", "-fPIC", "-O2", "-o", str(library), str(source), "-ldl"], check=True)
    return library


def _spawn(arguments: list[str], env: dict | None = None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, __file__, *arguments], stdout=subprocess.PIPE, text=True,
                            env={**os.environ, **(env or {})})


def _result(process: subprocess.Popen) -> dict:
    out, _ = process.communicate()
    if process.returncode:
        raise SystemExit(f"a measuring process failed ({process.returncode})")
    return json.loads(out.strip().splitlines()[-1])


def counted(shim: Path) -> list[dict]:
    return [_result(_spawn(["--child", name], {"LD_PRELOAD": str(shim)})) for name in FAMILY]


CROWDS = (1, 2, 4)  # processes at once: on two cores, 2 and 4 pools of two threads per core


def total_rates(name: str, seconds: float, hogs: int) -> dict[int, float]:
    """Passes per second of all processes together with 1, 2 and 4 of them at once (beside `hogs` busy loops)."""
    loops = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(hogs)]
    try:
        return {n: sum(_result(p)["rate"] for p in [_spawn(["--rate", name, str(seconds)]) for _ in range(n)])
                for n in CROWDS}
    finally:
        for loop in loops:
            loop.kill()


def twin_rates(row: dict, spin_ms: float, *, regions: float, background: float = 0.0) -> dict[int, float]:
    """What twin/k8s/node.py's CPU gives the same processes, as a share of one process's rate alone."""
    from twin.config.schema import ModelProfile
    from twin.k8s.node import cpu_speed, default_slice_ms

    vcpus = os.cpu_count() or 1
    alone_ms = row["cpu_ms"] / row["threads"]
    profile = ModelProfile(name=row["model"], cpu_ms=alone_ms, cpu_threads=row["threads"], parallel_regions=regions,
                           cpu_oversubscription_penalty=spin_ms * row["regions"] / alone_ms)
    speed = cpu_speed(vcpus, profile, slice_ms=default_slice_ms(vcpus), background=background)
    return {n: n * speed(n) / speed(1) for n in CROWDS}


def spin_explaining(row: dict, measured: float) -> float:
    """The spin per barrier (ms) that gives two processes the measured share of one alone, in the form the study's
    profiles use (calibration/parameters.py: every loss is spin, no idle waits at barriers)."""
    low, high = 1e-4, 100.0
    for _ in range(60):  # bisection on a log scale: the share falls as the spin grows
        mid = math.sqrt(low * high)
        low, high = (mid, high) if twin_rates(row, mid, regions=0.0)[2] > measured else (low, mid)
    return math.sqrt(low * high)


def contention(rows: list[dict], seconds: float, hogs: int) -> None:
    from calibration.parameters import PRIORS
    from calibration.space import BARRIERS_PRIOR, PENALTY_PRIOR

    print(f"all processes' passes per second against one alone, {hogs} busy loop(s) beside them; twin: the own-model "
          f"form (counted regions, penalty prior {PENALTY_PRIOR[0]:g})")
    spins = []
    for row in (r for r in rows if r["model"] != HELD_OUT):
        rates = total_rates(row["model"], seconds, hogs)
        share = {n: rates[n] / rates[1] for n in CROWDS}
        twin = twin_rates(row, PENALTY_PRIOR[0] * row["cpu_ms"] / row["threads"] / row["regions"],
                          regions=row["regions"], background=hogs)
        spins.append(spin_explaining(row, share[2]))
        print(f"{row['model']:14s} measured " + "  ".join(f"{n}: {share[n]:5.2f}" for n in CROWDS)
              + "   twin " + "  ".join(f"{n}: {twin[n]:5.2f}" for n in CROWDS)
              + f"   spin a barrier {spins[-1]:.2f} ms (load {os.getloadavg()[0]:.2f})")
    logs = [math.log(s) for s in spins]
    print(f"spin per barrier explaining two processes (the study's form): geometric mean "
          f"{math.exp(statistics.fmean(logs)):.2f} ms, log sd {statistics.stdev(logs):.2f} "
          f"(calibration/parameters.py prior {PRIORS['spin_ms'][0]:g} ms; barrier density prior "
          f"{BARRIERS_PRIOR[0]:g} a core-ms)")


def density(rows: list[dict]) -> tuple[float, float]:
    """The family's median barriers per single-thread core-ms, and the log sd of the density across it."""
    logs = [math.log(r["regions"] / r["cpu_ms"]) for r in rows if r["regions"] > 0]
    return math.exp(statistics.median(logs)), statistics.stdev(logs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contention", action="store_true", help="also time 1, 2 and 4 processes at once")
    parser.add_argument("--seconds", type=float, default=6.0, help="seconds per contention step (6)")
    parser.add_argument("--hogs", type=int, default=0, help="busy loops beside the contention steps (0)")
    parser.add_argument("--idle-spin", action="store_true", help="only measure the idle spin after a region")
    parser.add_argument("--idle-spin-child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--rate", nargs=2, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.idle_spin_child:
        print(json.dumps(idle_spin()))
        return
    if args.idle_spin:
        spin_report()
        return
    if args.child:
        print(json.dumps(child(args.child)))
        return
    if args.rate:
        print(json.dumps(rate(args.rate[0], float(args.rate[1]))))
        return
    with tempfile.TemporaryDirectory(prefix="servetwin-regions-") as tmp:
        rows = counted(_shim(Path(tmp)))
    print(f"{'model':14s} {'threads':>7s} {'regions':>8s} {'1-thread ms':>11s} {'per ms':>7s}")
    for r in rows:
        print(f"{r['model']:14s} {r['threads']:7d} {r['regions']:8.1f} {r['cpu_ms']:11.2f} "
              f"{r['regions'] / r['cpu_ms']:7.2f}")
    median, spread = density(rows)
    print(f"barriers per single-thread core-ms: median {median:.2f}, log sd across the family {spread:.2f}")
    if args.contention:
        sys.path.insert(0, str(ROOT))
        contention(rows, args.seconds, args.hogs)

if __name__ == "__main__":
    main()
