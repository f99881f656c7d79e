"""Every bundled scenario validates and runs; the examples show the effect they are there to show."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from twin.config.loader import load_scenario
from twin.core.run import simulate

SCENARIOS = sorted((Path(__file__).resolve().parents[2] / "scenarios").rglob("*.yaml"))
# Sweep and optimiser question files name a `base:` scenario; they are not scenarios themselves.
SCENARIOS = [p for p in SCENARIOS if p.parent.name not in ("profiles", "manifests")
             and "base" not in (yaml.safe_load(p.read_text()) or {})]


@pytest.mark.parametrize("path", SCENARIOS, ids=[p.stem for p in SCENARIOS])
def test_bundled_scenario_runs(path):
    scenario = load_scenario(path)
    result = simulate(scenario, duration_s=min(scenario.duration_s, max(20.0, scenario.warmup_s + 10)))
    assert result.summary.simulated_s > 0 and len(result.timeseries) > 0


def run(name: str, **overrides):
    path = Path(__file__).resolve().parents[2] / "scenarios" / "examples" / f"{name}.yaml"
    return simulate(load_scenario(path, overrides))


def test_more_busy_cpu_threads_than_cores_lower_throughput():
    one, five = run("cpu-oversubscribed", **{"deployment.pods": 1}), run("cpu-oversubscribed")
    assert five.summary.throughput_rps < 0.8 * one.summary.throughput_rps
    # the load average counts runnable threads: pools beyond the cores sleep at their barriers, so both show the
    # 6 saturated cores (the study's 5-pod run: load 5.97 with four busy pools of six threads)
    assert one.summary.load_avg == pytest.approx(6, rel=0.05) and five.summary.load_avg == pytest.approx(6, rel=0.05)


def test_mig_isolates_slices_while_time_slicing_shares_the_gpu():
    mig, shared = run("mig-a100", duration_s=60), run("time-slicing", duration_s=60)
    assert mig.summary.throughput_rps == pytest.approx(shared.summary.throughput_rps, rel=0.05)
    # a 1g slice runs a request at 1/7 of the GPU's speed: slower per request than a shared whole GPU at this load
    assert mig.summary.latency_ms["mean"] > shared.summary.latency_ms["mean"]
    mig_gpus = mig.summary.nodes[0]["gpus"]
    assert len(mig_gpus) == 7 and all(g["memory_capacity_mib"] == 10 * 1024 for g in mig_gpus)


def test_a_third_worker_does_not_fit_the_a10_vgpu():
    result = run("a10-gpu-memory", duration_s=60)
    assert any(e["event"] == "worker_gpu_oom" for e in result.events)
    gpu = result.summary.nodes[0]["gpus"][0]
    assert gpu["memory_used_mib"] <= gpu["memory_capacity_mib"] and result.summary.pods[0]["workers"] == 3


def test_more_workers_per_pod_save_the_frontends_memory_not_load():
    questions = Path(__file__).resolve().parents[2] / "scenarios" / "questions"
    one, five = (simulate(load_scenario(questions / f"cpu-workers-vs-pods-{q}.yaml")).summary for q in ("1x5", "5x1"))
    # four JVM frontends fewer (343 MiB each) out of ~7 GiB: the study's 20 %
    assert one.memory_used_mib == pytest.approx(five.memory_used_mib - 4 * 343, rel=1e-6)
    assert 0.15 < 1 - one.memory_used_mib / five.memory_used_mib < 0.25
    # both saturate the 6 cores with all-core pools, so the load average cannot differ much (the study: -59 %)
    assert one.load_avg == pytest.approx(five.load_avg, rel=0.05)
