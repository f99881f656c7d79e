"""A model outside the study: its own two parameters, recovered from runs the twin itself produced.

The truth is a known profile (60 ms in the worker with a coefficient of variation of 0.5, 15 ms outside it, on a
GPU): runs at 1 and 4 users of one worker are simulated with it, handed to the fit as measurements (mean, p95), and
the fit must find the profile again and predict a two-pod run it never saw. A run that is the only one of its profile is not cross-validated.
"""
import dataclasses
import math

import pytest

from calibration.check import leave_one_out
from calibration.fit import fit, observations
from calibration.mapping import gpu_of, setup_of
from calibration.predict import simulate_run
from calibration.readers import Run, RunConfig, RunResult
from calibration.readings import Readings
from calibration.space import RunFacts, space_for
from twin.config.schema import ModelProfile

TRUTH = ModelProfile(name="truth", device="gpu", cpu_ms=0.0, gpu_ms=60.0, frontend_ms=15.0, demand_cv=0.5)
NODE = dict(date=None, cloud_vm="test", gpu_model="NVIDIA A100 80GB PCIe", gpu_partition=None, node_vcpus=8,
            node_ram_gb=64.0, model="acme/sentiment-xl", device="gpu", ramp_s=0.0, duration_s=60.0, batch_size=1,
            max_batch_delay_ms=0.0)


def _config(run_id: str, *, pods: int, workers: int, users: int) -> RunConfig:
    return RunConfig(id=run_id, pods=pods, workers_per_pod=workers, users=users, **NODE)


def _measured(config: RunConfig) -> Run:
    twin = simulate_run(config, setup_of(config), TRUTH, seed=7, replications=2)
    result = RunResult(twin.throughput_rps, None, twin.avg_response_ms, None, 0.0, twin.p95_response_ms)
    return Run(config, result, None, 0)


@pytest.fixture(scope="module")
def runs() -> tuple[Run, ...]:
    return tuple(_measured(_config(f"u{users}", pods=1, workers=1, users=users)) for users in (1, 4))


def test_the_fit_finds_the_profile_and_predicts_an_unseen_deployment(runs):
    obs, skipped = observations(runs)
    assert not skipped
    result = fit(obs, Readings((), {}), rounds=2, seeds=2)
    key = ("sentiment-xl", "a100-80gb")
    assert result.space.own == (key,) and not result.space.study
    profile = result.space.profile(key, result.theta, {})
    assert (profile.device, profile.cpu_ms, profile.cpu_threads) == ("gpu", 0.0, 1.0)
    assert profile.gpu_ms == pytest.approx(TRUTH.gpu_ms, rel=0.02)
    assert profile.frontend_ms == pytest.approx(TRUTH.frontend_ms, rel=0.1)
    assert profile.demand_cv == pytest.approx(TRUTH.demand_cv, rel=0.15)  # from the 1-user run's p95
    unseen = _config("2p2w-u6", pods=2, workers=2, users=6)
    truth, predicted = _measured(unseen).result, simulate_run(unseen, setup_of(unseen), profile, seed=11)
    assert predicted.throughput_rps == pytest.approx(truth.throughput_rps, rel=0.05)
    assert predicted.avg_response_ms == pytest.approx(truth.avg_response_ms, rel=0.05)
    assert predicted.p95_response_ms == pytest.approx(truth.p95_response_ms, rel=0.1)


def test_only_the_fitted_fields_get_ranges(runs):
    obs, _ = observations(runs)
    result = fit(obs, Readings((), {}), rounds=1, seeds=1)
    ranges = result.field_ranges(("sentiment-xl", "a100-80gb"))
    value, low, high = ranges["gpu_ms"]
    assert low < value < high and high / low < 1.3
    assert set(ranges) == {"gpu_ms", "frontend_ms", "demand_cv"}  # nothing else of the profile was fitted


def test_a_lone_run_of_its_profile_is_not_cross_validated(runs):
    other = dataclasses.replace(runs[0].config, id="cpu-u1", device="cpu", model="acme/other")
    obs, _ = observations((*runs, Run(other, runs[0].result, None, 0)))
    full = fit(obs, Readings((), {}), rounds=1, seeds=1)
    report = leave_one_out(obs, Readings((), {}), full=full, replications=1, rounds=1, seeds=1)
    assert report.alone == ("cpu-u1",)
    assert [f.id for f in report.folds] == ["u1", "u4"]
    assert all(math.isfinite(f.predicted_rps) for f in report.folds)


def test_the_space_starts_own_parameters_from_the_quickest_run():
    space = space_for([RunFacts(("m", "cpu"), 100.0, 4, 1), RunFacts(("m", "cpu"), 40.0, 4, 1),
                       RunFacts(("roberta-base-go_emotions", "cpu"), 140.0, 6, 1)])
    assert space.study and space.own == (("m", "cpu"),)
    starts = {p.name: p.initial for p in space.parameters}
    assert starts["service_ms[m@cpu]"] == pytest.approx(32.0) and starts["frontend_ms[m@cpu]"] == pytest.approx(8.0)


@pytest.mark.parametrize("name,expected", [
    ("NVIDIA A100 80GB PCIe", ("a100-80gb", 80.0)), ("NVIDIA A10 (vGPU profile A10-4Q)", ("a10-4q", 4.0)),
    ("NVIDIA A100-SXM4-40GB", ("a100-40gb", 40.0)), ("NVIDIA A10G", ("a10g-24gb", 24.0)),
    ("NVIDIA L40S", ("l40s-48gb", 48.0)), ("NVIDIA L4", ("l4-24gb", 24.0)), ("Tesla T4", ("t4-16gb", 16.0)),
    ("NVIDIA GeForce GTX 850M", None), (None, None)])
def test_gpus_are_known_by_the_name_nvidia_smi_prints(name, expected):
    assert gpu_of(name) == expected
