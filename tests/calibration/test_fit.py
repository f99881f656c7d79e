"""The surrogate, the readings and the fit on the real tables."""
import dataclasses
import math

import pytest

from calibration import parameters as P
from calibration.fit import fit, observations
from calibration.mapping import A10, setup_of
from calibration.readers import read_resources, read_runs
from calibration.readings import gather
from calibration.surrogate import estimate, occupancies
from tests.calibration._real import DATA, config
from twin.config.schema import ModelProfile
from twin.theory.queueing import expected_connected_pods


@pytest.mark.parametrize("users,pods", [(5, 25), (5, 5), (10, 1), (3, 40)])
def test_pinning_partitions_are_a_distribution_with_the_theoretical_busy_pods(users, pods):
    parts = occupancies(users, pods)
    assert math.isclose(sum(p for _, p in parts), 1.0)
    busy = sum(p * len(part) for part, p in parts)
    assert math.isclose(busy, expected_connected_pods(pods, users))


def test_surrogate_is_exact_for_one_user_on_an_idle_node():
    profile = ModelProfile(cpu_ms=8, gpu_ms=12, frontend_ms=60)
    setup = setup_of(config("A10-ROB-GPU-1p1w-u1", ramp_s=0.0))
    e = estimate(setup, profile, vcpus=6)
    assert math.isclose(e.throughput_rps, 1000 / 80)
    assert math.isclose(e.mean_ms, 80)


def test_surrogate_single_worker_never_beats_its_capacity():
    profile = ModelProfile(cpu_ms=8, gpu_ms=12, frontend_ms=60)
    e = estimate(setup_of(config("A10-ROB-GPU-1p1w-u10", ramp_s=0.0)), profile, vcpus=6)
    assert e.throughput_rps <= 1000 / 20 + 1e-9
    assert e.mean_ms >= 10 * 20 - 1e-6


def test_readings_give_demand_constraints_and_memory():
    runs = read_runs(DATA / "runs.csv")
    readings = gather(read_resources(DATA / "resources.csv"), runs)
    gpu = [c.value for c in readings.constraints if c.kind == "gpu_ms"]
    assert len(gpu) == 3 and all(2.5 < v < 3.5 for v in gpu)  # kernel ms: 33-40 % at 121-123 req/s
    assert all(c.vcpus == 24 for c in readings.constraints)  # every reading is of the A100 node
    a100 = readings.memory[(P.ROB, "a100-80gb")]
    assert max(a100.gpu_served) == 1868 and min(a100.gpu_idle) == 1488


def test_fit_of_the_a10_saturation_runs_recovers_the_worker_time_and_the_round_trip():
    runs = [r for r in read_runs(DATA / "runs.csv") if r.config.id.startswith("A10-ROB-GPU-1p1w-u")]
    obs, _ = observations(tuple(runs))
    result = fit(obs, gather((), tuple(runs)), rounds=1, seeds=1)
    t = result.theta
    worker_ms = t["cpu_rob_gpunode"] + t["launch_rob"] + t["gpu_rob_a10"]  # CPU phase, then launches and kernels
    assert 19 < worker_ms < 24  # 1 / (46.5 req/s) at saturation
    assert 60 < t["frontend_a10_rob"] < 75  # 90 ms at one user minus the worker
    assert result.low["frontend_a10_rob"] < t["frontend_a10_rob"] < result.high["frontend_a10_rob"]
    assert result.rms_log_error < 0.10


def test_the_cross_model_cpu_fallback_applies_only_without_a_detr_cpu_run():
    theta = {p.name: p.initial for p in P.PARAMETERS}
    with_run = dict(P.priors(theta, {(P.DETR, "cpu")}))
    without = dict(P.priors(theta, set()))
    assert "detr_cpu_scaling" not in with_run
    by_macs = theta["cpu_rob_cpu"] * P.MACS_G[P.DETR] / P.MACS_G[P.ROB]
    a10 = P.demands(theta)
    by_gpu_ratio = theta["cpu_rob_cpu"] * sum(a10[(P.DETR, A10)][f] for f in ("cpu_ms", "gpu_ms")) / sum(
        a10[(P.ROB, A10)][f] for f in ("cpu_ms", "gpu_ms"))
    assert by_gpu_ratio < by_macs  # the prior sits at the geometric mean of the two estimates
    expected = math.log(theta["cpu_detr_cpu"] / math.sqrt(by_macs * by_gpu_ratio))
    assert math.isclose(without["detr_cpu_scaling"], expected / math.log(4))


def test_readings_are_read_as_what_they_measure():
    # NVML counts time a kernel ran, htop the host thread's CPU: neither is the accelerator phase
    fields = {"cpu_ms": 5.0, "cpu_threads": 1.0, "gpu_ms": 8.0, "gpu_busy_fraction": 0.25}
    assert P.kernel_ms(fields) == 2.0 and P.host_core_ms(fields, 24) == 5.0 + 6.0
    assert P.host_core_ms({**fields, "cpu_threads": "cores"}, 24) == 5.0 * 24 + 6.0


def test_profiles_name_the_fields_no_measurement_identified():
    runs = read_runs(DATA / "runs.csv")
    memory = gather(read_resources(DATA / "resources.csv"), runs).memory
    theta = {p.name: p.initial for p in P.PARAMETERS}
    detr = P.profile((P.DETR, "a100-80gb"), theta, memory)
    assert {"gpu_memory_mib", "worker_rss_mib", "cpu_oversubscription_penalty", "gpu_ms_per_extra_item"} <= set(
        detr.assumed)
    roberta = P.profile((P.ROB, "a100-80gb"), theta, memory)
    assert "gpu_memory_mib" not in roberta.assumed and "gpu_ms_per_extra_item" in roberta.assumed
    assert roberta.timeslice_efficiency == theta["timeslice_a100"] and detr.cpu_threads == "cores"
    assert 1.0 < roberta.frontend_cpu_ms < 2.5 and detr.frontend_cpu_ms == roberta.frontend_cpu_ms  # JVMs' htop CPU


def test_without_any_a10_run_its_kernel_time_and_client_come_from_priors_not_the_bounds():
    runs = read_runs(DATA / "runs.csv")
    obs, _ = observations(runs)
    rest = [o for o in obs if o.setup.accelerator != A10]
    readings = gather(read_resources(DATA / "resources.csv"), runs)
    kept = dataclasses.replace(readings, constraints=tuple(
        c for c in readings.constraints if c.run_id in {o.id for o in rest}))
    result = fit(rest, kept, rounds=1, seeds=1)
    t = result.theta
    centre, sd = P.A10_KERNEL_RATIO
    assert abs(math.log(t["gpu_rob_a10"] / t["gpu_rob_a100"] / centre)) < 0.5 * sd  # the spec prior decides it
    assert result.high["gpu_rob_a10"] / result.low["gpu_rob_a10"] > 5  # and it stays as uncertain as the prior
    assert t["frontend_a10_rob"] > 5  # the CPU runs alone would drive the client's round trip to its bound

