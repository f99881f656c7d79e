"""What a batched forward pass costs on CPU: the measurement behind `cpu_ms_per_extra_item` and
`parallel_regions_per_extra_item` (twin/torchserve/batching.py) and their prior for a model of one's own
(calibration/space.py).

For each model of benchmarks/parallel_regions.py's family (encoder4 left out: its TorchServe runs judge the twin), with
random weights, traced at batch 1 as the suite's archives are and called on a stacked batch as the suite's handler
does, it times one forward pass at batch 1, 2, 4 and 8 on one thread (`torch.set_num_threads(1)`, process CPU time,
so other work on the machine barely moves it) and counts the OpenMP parallel regions the pass opens at torch's
default threads (the same libgomp shim). The cost of each extra item is the least-squares slope of CPU ms over
batch size, as a fraction of the batch-1 pass (1: a batch costs as many single passes; below 1: the pass amortises
per-op dispatch and per-layer weight traffic); the region count per batch against batch 1 says whether the pool
meets once per op whatever the batch (ratio 1) or once per item (ratio k). Family median and log sd are the prior.
Run: `nice -n 10 python benchmarks/batch_cost.py`; needs torch and cc.
"""
from __future__ import annotations

import argparse
import ctypes
import json
import math
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from benchmarks.parallel_regions import FAMILY, HELD_OUT, _passes, _result, _shim, _spawn, build_model  # noqa: E402

BATCHES = (1, 2, 4, 8)
PASSES = 20


def child(name: str) -> dict:
    """In a process with the shim preloaded: per batch size, regions per pass (default threads) and 1-thread CPU ms."""
    import torch

    count = ctypes.CDLL(None).servetwin_regions
    count.restype = ctypes.c_long
    model, example = build_model(name)
    rows = {}
    with torch.inference_mode():
        for k in BATCHES:
            rows[k] = {"regions": _regions(model, example.repeat(k, *([1] * (example.dim() - 1))), count)}
        torch.set_num_threads(1)
        for k in BATCHES:
            rows[k]["cpu_ms"] = _cpu_ms(model, example.repeat(k, *([1] * (example.dim() - 1))))
    return {"model": name, "batches": rows}


def _regions(model, batch, count) -> float:
    _passes(model, batch, 5)
    before = count()
    _passes(model, batch, PASSES)
    return (count() - before) / PASSES


def _cpu_ms(model, batch) -> float:
    _passes(model, batch, 3)
    started = time.process_time()
    _passes(model, batch, PASSES)
    return (time.process_time() - started) / PASSES * 1000


def extra_fraction(row: dict) -> float:
    """Least-squares slope of CPU ms over batch size, over the batch-1 pass's CPU ms."""
    sizes = [int(k) for k in row["batches"]]
    cpu = [row["batches"][k]["cpu_ms"] for k in row["batches"]]
    mean_k, mean_c = statistics.fmean(sizes), statistics.fmean(cpu)
    slope = sum((k - mean_k) * (c - mean_c) for k, c in zip(sizes, cpu)) / sum((k - mean_k) ** 2 for k in sizes)
    return slope / row["batches"][next(iter(row["batches"]))]["cpu_ms"]


def spread(values: list[float]) -> tuple[float, float]:
    logs = [math.log(v) for v in values]
    return math.exp(statistics.median(logs)), statistics.stdev(logs)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(child(args.child)))
        return
    with tempfile.TemporaryDirectory(prefix="servetwin-batch-") as tmp:
        shim = _shim(Path(tmp))
        rows = [_result(_spawn(["--child", name], {"LD_PRELOAD": str(shim)}, script=__file__))
                for name in FAMILY if name != HELD_OUT]
    print(f"{'model':14s} " + " ".join(f"{'ms@' + str(k):>8s}" for k in BATCHES) + "  extra/first  "
          + " ".join(f"{'reg@' + str(k):>7s}" for k in BATCHES))
    for r in rows:
        b = r["batches"]
        print(f"{r['model']:14s} " + " ".join(f"{b[str(k)]['cpu_ms']:8.2f}" for k in BATCHES)
              + f"  {extra_fraction(r):11.3f}  " + " ".join(f"{b[str(k)]['regions']:7.1f}" for k in BATCHES))
    median, sd = spread([extra_fraction(r) for r in rows])
    print(f"CPU per extra item over the first: median {median:.3f}, log sd across the family {sd:.2f}")
    growth = [(r["batches"][str(BATCHES[-1])]["regions"] / r["batches"]["1"]["regions"] - 1) / (BATCHES[-1] - 1)
              for r in rows]
    print("regions per extra item over batch 1's: " + ", ".join(f"{r['model']} {g:.3f}" for r, g in zip(rows, growth))
          + f" (median {statistics.median(growth):.3f})")


if __name__ == "__main__":
    main()
