"""The CLI's outputs, determinism, streaming aggregation, and the default scenario."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd

from tests.support.scenarios import scenario
from twin.cli import main
from twin.core.run import simulate
from twin.config.schema import Outputs
from twin.core.world import World

ROOT = Path(__file__).resolve().parents[2]


def test_run_json_prints_one_object_with_the_promised_keys(capsys):
    assert main(["run", str(ROOT / "scenarios/default.yaml"), "--json", "--duration", "20", "--quiet"]) == 0
    summary = json.loads(capsys.readouterr().out)
    for key in ("throughput_rps", "requests", "simulated_s", "wall_s"):
        assert isinstance(summary[key], (int, float))
    assert set(summary["latency_ms"]) >= {"mean", "p50", "p95", "p99"}
    assert summary["errors"]["total"] == 0
    assert summary["simulated_s"] == 20 and summary["requests"] > 0 and summary["wall_s"] > 0
    assert summary["latency_ms"]["p50"] <= summary["latency_ms"]["p95"] <= summary["latency_ms"]["p99"]


def test_run_out_writes_series_events_summary_and_the_resolved_scenario(tmp_path, capsys):
    out = tmp_path / "result"
    assert main(["run", str(ROOT / "scenarios/default.yaml"), "--seed", "7", "--duration", "15",
                 "--out", str(out), "--quiet"]) == 0
    assert "throughput" in capsys.readouterr().out
    series = pd.read_csv(out / "timeseries.csv")
    assert len(series) == 15 and series.time_s.iloc[-1] == 15
    assert series.ok.sum() > 0 and (series.ready_pods == 5).all()
    events = [json.loads(line) for line in (out / "events.jsonl").read_text().splitlines()]
    assert {"node_added", "pod_ready", "worker_ready"} <= {e["event"] for e in events}
    resolved = (out / "scenario.resolved.yaml").read_text()
    assert "seed: 7" in resolved and "cpu_ms:" in resolved  # the profile is inlined
    assert json.loads((out / "summary.json").read_text())["seed"] == 7
    assert not list(tmp_path.glob(".servetwin-*"))  # no staging folder left behind


def test_validate_reports_ok(capsys):
    assert main(["validate", str(ROOT / "scenarios/default.yaml")]) == 0
    assert "ok" in capsys.readouterr().out


def test_the_console_script_runs_as_installed():
    done = subprocess.run([sys.executable, "-m", "twin.cli", "run", str(ROOT / "scenarios/default.yaml"),
                           "--duration", "12", "--json", "--quiet"], capture_output=True, text=True, check=True)
    assert json.loads(done.stdout)["simulated_s"] == 12


def test_same_scenario_and_seed_give_identical_results():
    spec = scenario(duration_s=30, model={"demand_distribution": "exponential"},
                    deployment={"pods": 3, "torchserve": {"model": {"min_workers": 2}}},
                    workload={"type": "poisson", "rate_rps": 300})
    first, second = simulate(spec), simulate(spec)
    assert first.summary.to_dict() == second.summary.to_dict()
    pd.testing.assert_frame_equal(first.timeseries, second.timeseries)
    assert first.events == second.events
    third = simulate(spec, seed=2)
    assert third.summary.to_dict() != first.summary.to_dict()


def test_memory_does_not_grow_with_requests_unless_records_are_asked_for():
    spec = scenario(duration_s=60, workload={"type": "poisson", "rate_rps": 50})
    world = World(spec)
    world.run()
    assert world.recorder.records is None and world.recorder.latency.count > 2000
    assert len(world.recorder.latency.counts) < 2000  # a fixed number of sketch buckets
    with_records = simulate(spec.model_copy(update={"outputs": Outputs(per_request=True)}))
    assert len(with_records.records) == with_records.summary.requests


def test_open_loop_rate_curves_deliver_their_mean_rate():
    steps = {"type": "steps", "steps": [{"at_s": 0, "rate_rps": 20}, {"at_s": 50, "rate_rps": 60}]}
    diurnal = {"type": "diurnal", "mean_rps": 40, "amplitude": 0.5, "period_s": 100, "peak_at_s": 0}
    bursts = {"type": "bursts", "base_rps": 10, "bursts": [{"at_s": 20, "duration_s": 10, "rate_rps": 100}]}
    for workload, expected in ((steps, 40 * 100), (diurnal, 40 * 100), (bursts, 10 * 100 + 100 * 10)):
        spec = scenario(duration_s=100, workload=workload, deployment={"torchserve": {"model": {"min_workers": 4}}})
        requests = simulate(spec).summary.requests
        assert abs(requests - expected) < 4 * expected**0.5, (workload["type"], requests, expected)


def test_the_default_scenario_looks_like_the_a100_load_test():
    from twin.config.loader import load_scenario
    result = simulate(load_scenario(ROOT / "scenarios/default.yaml"), duration_s=40)
    summary = result.summary
    # measured on AKS: 121 req/s at 40 ms with 5 users on 5 pods x 5 workers; GPU 40 %
    assert 100 < summary.throughput_rps < 150 and 30 < summary.latency_ms["mean"] < 50
    served = [p["served"] for p in summary.to_dict()["pods"]]
    assert sum(1 for s in served if s > 0) <= 5
