"""90 % prediction intervals: the arithmetic, the draws, and an interval that holds an unseen truth."""
import json
import math
from pathlib import Path

import numpy as np
import pytest
import yaml

from calibration import intervals
from calibration.fit import fit, observations
from calibration.mapping import setup_of
from calibration.predict import predict_rows, simulate_run
from calibration.profiles import load_profiles, load_spreads, write_profiles
from calibration.readers import Run, RunConfig, RunResult
from calibration.readings import Readings
from twin.cli import main
from twin.config.schema import ModelProfile

TRUTH = ModelProfile(name="truth", device="gpu", cpu_ms=0.0, gpu_ms=60.0, frontend_ms=15.0, demand_cv=0.5)
NODE = dict(date=None, cloud_vm="test", gpu_model="NVIDIA A100 80GB PCIe", gpu_partition=None, node_vcpus=8,
            node_ram_gb=64.0, model="acme/sentiment-xl", device="gpu", ramp_s=0.0, duration_s=60.0, batch_size=1,
            max_batch_delay_ms=0.0)
KEY = ("sentiment-xl", "a100-80gb")


def test_with_no_spread_in_the_ensemble_the_interval_is_the_misfit_s():
    band = intervals.band(100.0, [90.0, 90.0, 90.0], 0.1)
    assert band.low == pytest.approx(100 * math.exp(-1.6448536 * 0.1))
    assert band.high == pytest.approx(100 * math.exp(1.6448536 * 0.1))
    assert band.holds(100.0) and not band.holds(120.0)


def test_draws_follow_the_covariance_and_the_schema_s_limits():
    spread = intervals.Spread(("gpu_ms", "timeslice_efficiency"), ((0.04, 0.02), (0.02, 0.09)), 0.05)
    profile = TRUTH.model_copy(update={"timeslice_efficiency": 0.9})
    drawn = spread.draws(profile, 4000, np.random.default_rng(3))
    logs = np.log([[p.gpu_ms / 60.0, p.timeslice_efficiency / 0.9] for p in drawn])
    assert np.cov(logs[:, 0]) == pytest.approx(0.04, rel=0.1)
    assert np.corrcoef(logs[:, 0], logs[:, 1])[0, 1] > 0.3  # joint draws, not field by field
    assert max(p.timeslice_efficiency for p in drawn) == 1.0  # le=1 in the schema
    assert intervals.Spread.from_dict(spread.as_dict()) == spread


def _config(run_id: str, *, pods: int, workers: int, users: int) -> RunConfig:
    return RunConfig(id=run_id, pods=pods, workers_per_pod=workers, users=users, **NODE)


def _measured(config: RunConfig, seed: int) -> RunResult:
    twin = simulate_run(config, setup_of(config), TRUTH, seed=seed, replications=1)
    return RunResult(twin.throughput_rps, None, twin.avg_response_ms, None, 0.0, twin.p95_response_ms)


@pytest.fixture(scope="module")
def fitted():
    runs = tuple(Run(c, _measured(c, 7), None, 0) for c in (_config("u1", pods=1, workers=1, users=1),
                                                             _config("u4", pods=1, workers=1, users=4)))
    obs, _ = observations(runs)
    return runs, fit(obs, Readings((), {}), rounds=2, seeds=2)


def test_an_unseen_deployment_s_truth_lies_inside_a_modest_interval(fitted, tmp_path):
    runs, result = fitted
    written = write_profiles(result, Readings((), {}), sources=[], out_dir=tmp_path, in_sample={})
    assert len(written) == 1
    spreads, profiles = load_spreads(tmp_path), load_profiles(tmp_path)
    assert spreads[KEY].fields == tuple(intervals.spread_of(result, KEY).fields)
    unseen = [_config("2p2w-u6", pods=2, workers=2, users=6), _config("1p1w-u8", pods=1, workers=1, users=8)]
    rows = predict_rows(unseen, profiles, seed=11, replications=2, spreads=spreads, draws=8)
    for row, config in zip(rows, unseen):
        truth = _measured(config, 23)  # a seed neither the fit nor the prediction used
        assert row.throughput_low < truth.throughput_rps < row.throughput_high, row
        assert row.avg_response_low < truth.avg_response_ms < row.avg_response_high, row
        assert row.throughput_high / row.throughput_low < 1.6  # informative, not a shrug
    assert predict_rows(unseen[:1], profiles, replications=1, spreads=spreads, draws=0)[0].throughput_low is None


def test_run_replications_draws_the_profile_and_reports_a_90_percent_interval(tmp_path, capsys):
    bundled = Path(__file__).parents[2] / "calibration" / "profiles" / "roberta-base-go_emotions-a100-80gb.yaml"
    document = yaml.safe_load(bundled.read_text())
    spread = intervals.Spread(("gpu_ms", "cpu_ms"), ((0.04, 0.0), (0.0, 0.04)), 0.05)
    document["provenance"]["prediction_spread"] = spread.as_dict()
    (tmp_path / "profile.yaml").write_text(yaml.safe_dump(document))
    scenario = (Path(__file__).parents[2] / "scenarios" / "default.yaml").read_text().replace(
        "profile: ../calibration/profiles/roberta-base-go_emotions-a100-80gb.yaml",
        "profile: profile.yaml\n  cpu_ms: 8.0")  # the scenario sets cpu_ms itself: it is not drawn
    (tmp_path / "scenario.yaml").write_text(scenario)
    argv = ["run", str(tmp_path / "scenario.yaml"), "--duration", "20", "--replications", "3", "--json"]
    assert main([*argv, "--out", str(tmp_path / "out")]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["seeds"] == [1, 2, 3] and report["profile_uncertainty"] == ["gpu_ms"]
    throughput = report["intervals_90"]["throughput_rps"]
    assert throughput["low"] < throughput["mean"] < throughput["high"]
    # the misfit alone would give exp(±1.645 × 0.05): the draws and seeds can only widen it
    assert throughput["high"] / throughput["low"] >= math.exp(2 * 1.6448 * 0.05) * 0.999
    kept = json.loads((tmp_path / "out" / "replications.json").read_text())
    assert len(kept["summaries"]) == 3 and (tmp_path / "out" / "summary.json").is_file()
