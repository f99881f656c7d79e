"""Sweeps: expansion, seeds, bad files, identical tables serial / in processes / on Dask, resume, failed runs."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from twin import cli
from twin.errors import InputError
from twin.sweep import execute, optimize, spec, table

ROOT = Path(__file__).resolve().parents[2]
BASE = """name: tiny
duration_s: 8
node_pools: [{name: pool, vcpus: 8, memory_gib: 32, price_per_hour: 1.0, image_cached: true}]
deployment: {pods: 1, torchserve: {model: {min_workers: 1}}}
model: {name: m, device: cpu, cpu_ms: 20, demand_distribution: exponential, worker_rss_mib: 100}
workload: {type: poisson, rate_rps: 30}
"""


def write(folder: Path, sweep: dict, base: str = BASE) -> Path:
    (folder / "base.yaml").write_text(base)
    path = folder / "sweep.yaml"
    path.write_text(yaml.safe_dump({"base": "base.yaml", **sweep}, sort_keys=False))
    return path


def test_a_grid_is_the_product_and_replications_share_seeds_across_points(tmp_path):
    sweep = spec.load_sweep(write(tmp_path, {"seed": 5, "replications": 3, "grid": {
        "deployment.pods": [1, 2], "workload.0.rate_rps": [10, 20, 30]}}))
    points = spec.points(sweep)
    assert points == [{"deployment.pods": p, "workload.0.rate_rps": r} for p in (1, 2) for r in (10, 20, 30)]
    runs = spec.runs(sweep)
    assert [r.run for r in runs] == list(range(18))
    by_replication = {r.replication: {x.seed for x in runs if x.replication == r.replication} for r in runs}
    assert all(len(seeds) == 1 for seeds in by_replication.values())  # common random numbers
    assert len({next(iter(s)) for s in by_replication.values()}) == 3
    assert spec.replication_seeds(6, 3) != spec.replication_seeds(5, 3)


def test_a_sample_is_drawn_from_the_sweep_seed_and_combined_with_the_grid(tmp_path):
    fields = {"workload.0.rate_rps": {"uniform": [5, 50]}, "deployment.pods": {"int": [1, 3]},
              "deployment.torchserve.model.batch_size": {"choice": [1, 4]}}
    first = spec.points(spec.load_sweep(write(tmp_path, {"seed": 9, "grid": {"duration_s": [5, 6]},
                                                          "sample": {"n": 4, "fields": fields}})))
    again = spec.points(spec.load_sweep(write(tmp_path, {"seed": 9, "grid": {"duration_s": [5, 6]},
                                                          "sample": {"n": 4, "fields": fields}})))
    other = spec.points(spec.load_sweep(write(tmp_path, {"seed": 10, "grid": {"duration_s": [5, 6]},
                                                          "sample": {"n": 4, "fields": fields}})))
    assert first == again and first != other and len(first) == 8
    assert [p["duration_s"] for p in first] == [5] * 4 + [6] * 4
    assert all(5 <= p["workload.0.rate_rps"] <= 50 and p["deployment.pods"] in (1, 2, 3) and
               p["deployment.torchserve.model.batch_size"] in (1, 4) for p in first)
    assert first[:4] == [{**p, "duration_s": 5} for p in (dict(list(q.items())[1:]) for q in first[4:])]


def test_a_manifest_field_named_by_file_can_be_swept(tmp_path):
    sweep = spec.Sweep(base=str(ROOT / "scenarios" / "keda-burst.yaml"), source=str(tmp_path / "s.yaml"),
                       grid={"autoscaling.keda.manifest.object.spec.triggers.0.metadata.threshold": ["7", "9"]})
    thresholds = [spec.scenario_of(sweep.base_path, p).autoscaling.keda.manifest.object["spec"]["triggers"][0]
                  ["metadata"]["threshold"] for p in spec.points(sweep)]
    assert thresholds == ["7", "9"]


def test_a_manifest_field_that_does_not_exist_names_the_sweep_file(tmp_path):
    path = tmp_path / "sweep.yaml"
    field = "autoscaling.keda.manifest.object.spec.triggers.3.metadata.threshold"
    path.write_text(yaml.safe_dump({"base": str(ROOT / "scenarios" / "keda-burst.yaml"), "grid": {field: ["7"]}}))
    with pytest.raises(InputError, match=rf"sweep.yaml:\d+: {field}: expected a value the scenario accepts"):
        spec.load_sweep(path)


@pytest.mark.parametrize("sweep, message", [
    ({"grid": {"deployment.pods": [1, -2]}}, r"sweep.yaml:3: deployment.pods: expected a value the scenario accepts"),
    ({"grid": {"deployment.podz": [1]}}, r"sweep.yaml:3: deployment.podz: expected a value the scenario accepts"),
    ({"sample": {"n": 2, "fields": {"deployment.pods": {"int": [1, 2], "choice": [1]}}}},
     r"sample.fields.deployment.pods: expected exactly one of"),
    ({"grid": {"deployment.pods": [1]}, "replications": 0}, r"replications: expected"),
])
def test_a_bad_sweep_names_the_sweep_file_and_the_field(tmp_path, sweep, message):
    path = write(tmp_path, sweep)
    with pytest.raises(InputError, match=message):
        spec.load_sweep(path)
    assert cli.main(["sweep", str(path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()  # nothing runs, nothing is written


def test_a_missing_base_is_named(tmp_path):
    path = tmp_path / "sweep.yaml"
    path.write_text("base: nowhere.yaml\ngrid: {deployment.pods: [1]}\n")
    with pytest.raises(InputError, match=r"sweep.yaml:1: base: expected an existing scenario file"):
        spec.load_sweep(path)


SMALL = {"seed": 3, "replications": 2, "grid": {"deployment.torchserve.model.min_workers": [1, 2, 3]}}


def test_serial_parallel_and_dask_give_identical_tables(tmp_path):
    from distributed import LocalCluster

    sweep = spec.load_sweep(write(tmp_path, SMALL))
    serial = execute.run_sweep(sweep, tmp_path / "serial", workers=1)
    parallel = execute.run_sweep(sweep, tmp_path / "parallel", workers=2)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=False, dashboard_address=":0") as cluster:
        on_dask = execute.run_sweep(sweep, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert len(serial.runs) == 6 and (serial.runs["status"] == "ok").all()
    pd.testing.assert_frame_equal(serial.runs, parallel.runs)
    pd.testing.assert_frame_equal(serial.runs, on_dask.runs)
    pd.testing.assert_frame_equal(serial.points, on_dask.points)
    pd.testing.assert_frame_equal(table.read_tables(tmp_path / "dask").runs, serial.runs)
    pd.testing.assert_frame_equal(table.read_tables(tmp_path / "parallel").points, serial.points)
    assert list(serial.points["deployment.torchserve.model.min_workers"]) == [1, 2, 3]
    # more workers, shorter queues: the sweep sees what the twin does
    assert serial.points["latency_ms.mean.mean"].is_monotonic_decreasing


def test_points_carry_the_mean_and_a_student_t_interval():
    values = np.array([10.0, 12.0, 14.0])
    mean, low, high = table.interval(values)
    assert mean == 12.0 and high - mean == pytest.approx(4.303 * 2.0 / np.sqrt(3), rel=1e-3)
    assert table.interval(np.array([5.0])) == (5.0, 5.0, 5.0)
    # where one more replication lands, 90 %: t(0.95, 2) = 2.920, s = 2, sqrt(1 + 1/3)
    _, low, high = table.interval(values, 0.90, prediction=True)
    assert high - 12.0 == pytest.approx(2.920 * 2.0 * np.sqrt(4 / 3), rel=1e-3) and low < 12.0


def test_an_interrupted_sweep_resumes_without_redoing_finished_runs(tmp_path):
    sweep = spec.load_sweep(write(tmp_path, SMALL))
    out = tmp_path / "out"
    first = execute.run_sweep(sweep, out, workers=1)
    (out / "runs" / "00003.json").unlink()  # as if the sweep had been stopped before run 3 finished
    kept = {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json")}
    seen = []
    again = execute.run_sweep(sweep, out, workers=1, progress=lambda done, total, failed: seen.append(done))
    assert seen[0] == 5 and seen[-1] == 6  # five found done, one run
    assert {p.name: p.stat().st_mtime_ns for p in (out / "runs").glob("*.json") if p.name in kept} == kept
    pd.testing.assert_frame_equal(first.runs, again.runs)


def test_a_folder_holding_another_sweep_is_refused(tmp_path):
    out = tmp_path / "out"
    execute.run_sweep(spec.load_sweep(write(tmp_path, SMALL)), out, workers=1)
    other = spec.load_sweep(write(tmp_path, {**SMALL, "seed": 4}))
    with pytest.raises(InputError, match="the results of a different sweep"):
        execute.run_sweep(other, out, workers=1)


def test_a_failed_run_is_reported_with_its_parameters_and_the_rest_complete(tmp_path):
    for name in ("a.csv", "b.csv"):
        shutil.copy(ROOT / "scenarios" / "examples" / "trace-example.csv", tmp_path / name)
    base = BASE.replace("workload: {type: poisson, rate_rps: 30}", "workload: {type: trace, path: a.csv}")
    path = write(tmp_path, {"replications": 2, "grid": {"workload.0.path": ["a.csv", "b.csv"]}}, base=base)
    sweep = spec.load_sweep(path)
    (tmp_path / "b.csv").unlink()  # vanishes between validation and the runs
    execute.run_sweep(sweep, tmp_path / "out", workers=2)
    runs = pd.read_csv(tmp_path / "out" / "runs.csv")
    assert list(runs["status"]) == ["ok", "ok", "failed", "failed"]
    assert runs.loc[2, "workload.0.path"] == "b.csv" and "b.csv" in runs.loc[2, "error"]
    points = pd.read_csv(tmp_path / "out" / "points.csv")
    assert list(points["failed"]) == [0, 2] and np.isnan(points.loc[1, "throughput_rps.mean"])


def test_the_bundled_sweep_and_question_validate_up_front():
    sweep = spec.load_sweep(ROOT / "scenarios" / "sweeps" / "pods-by-workers.yaml")
    assert len(spec.runs(sweep)) == 100 and len(spec.points(sweep)) == 25
    question = optimize.load_question(ROOT / "scenarios" / "questions" / "optimize-keda-workers.yaml")
    assert len(question.search["deployment.torchserve.model.min_workers"]) == 4
