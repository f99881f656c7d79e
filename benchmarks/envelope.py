"""What the twin predicts outside the bundled runs' envelope: run `python benchmarks/envelope.py`.

A benchmark, not a timed test. For each family of the study (roberta and DETR on the A100, A10-4Q vGPU and CPU
nodes) it takes a measured run as the template, changes pods, workers and users beyond what was measured, and
prints the twin's throughput, mean latency, GPU utilisation (NVML's "a kernel ran") and CPU use with the bundled
profiles (calibration/profiles/), so that a change of physics can be shown before and after. `busy` names the
resource the twin found saturated (GPU or CPU at 85 % or more), else none; `law` the first cap by the utilisation
law with no sharing losses: `gpu` (device busy time), `cpu` (the node's cores), `users` (the closed loop: every user
waits on its own request) or `workers` (each worker serves one request at a time).
"""
from __future__ import annotations

import argparse
import dataclasses
from pathlib import Path

from calibration.mapping import setup_of
from calibration.predict import simulate_run
from calibration.profiles import load_profiles
from calibration.readers import read_runs
from calibration.parameters import host_core_ms, kernel_ms

DATA = Path(__file__).resolve().parents[1] / "calibration" / "data" / "runs.csv"
USERS = (5, 10, 20, 50, 100)
# (template run, [(pods, workers per pod)])
FAMILIES = (
    ("A100-ROB-40p1w-u5", [(5, 1), (25, 1), (40, 1), (5, 5)]),
    ("A100-DETR-1p1w-u5", [(1, 1), (1, 5), (5, 1), (5, 5)]),
    ("A10-ROB-GPU-1p1w-u5", [(1, 1)]),
    ("A10-ROB-GPUSHARE-u5", [(2, 1)]),
    ("A10-DETR-GPU-u1", [(1, 1)]),
    ("A10-ROB-CPU-1p1w-u5", [(1, 1), (5, 1), (1, 5)]),
    ("A10-DETR-CPU-u1", [(1, 1), (1, 6), (1, 2)]),
)


def bound(profile, vcpus: float, workers: int, users: int) -> str:
    """The first resource to saturate by the utilisation law (ignoring sharing losses)."""
    in_worker = profile.cpu_ms + profile.gpu_ms
    total = in_worker + profile.frontend_ms
    caps = {"users": users / total, "workers": workers / in_worker,
            "cpu": vcpus / max(1e-9, host_core_ms(profile.model_dump(), vcpus))}
    if profile.device == "gpu":
        caps["gpu"] = 1.0 / max(1e-9, kernel_ms(profile.model_dump()))
    name = min(caps, key=caps.get)
    return f"{name} {caps[name] * 1000:.0f}/s"


def busy(gpu: float | None, cpu: float) -> str:
    found = [name for name, share in (("gpu", gpu), ("cpu", cpu)) if share is not None and share >= 0.85]
    return "+".join(found) or "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replications", type=int, default=2)
    parser.add_argument("--duration", type=float, default=60.0, help="simulated seconds per point")
    args = parser.parse_args()
    runs = {run.config.id: run.config for run in read_runs(DATA)}
    profiles = load_profiles()
    print(f"{'family':26} {'pods x w':>8} {'users':>5} {'X/s':>8} {'R ms':>8} {'GPU %':>6} {'CPU %':>6} {'busy':>7}"
          f"  law")
    for template, shapes in FAMILIES:
        for pods, workers in shapes:
            for users in USERS:
                config = dataclasses.replace(runs[template], id=f"{template}", pods=pods, workers_per_pod=workers,
                                             users=users, duration_s=args.duration, ramp_s=5.0)
                setup = setup_of(config)
                profile = profiles[setup.profile_key]
                p = simulate_run(config, setup, profile, replications=args.replications)
                gpu = None if p.gpu_util is None or p.gpu_util != p.gpu_util else p.gpu_util
                shown = "" if gpu is None else f"{100 * gpu:.0f}"
                print(f"{template:26} {pods:>3} x {workers:<3} {users:>5} {p.throughput_rps:8.1f} "
                      f"{p.avg_response_ms:8.1f} {shown:>6} {100 * p.cpu_util:6.0f} {busy(gpu, p.cpu_util):>7}  "
                      f"{bound(profile, config.node_vcpus, pods * workers, users)}", flush=True)


if __name__ == "__main__":
    main()
