"""Qualitative facts of the real load tests that the calibrated twin must reproduce (short simulated runs)."""
from calibration.mapping import setup_of
from calibration.predict import predict_rows, simulate_run
from calibration.profiles import load_profiles
from tests.calibration._real import config

PROFILES = load_profiles()


def _predict(run_id: str, replications: int = 2, **changes):
    c = config(run_id, **changes)
    setup = setup_of(c)
    return simulate_run(c, setup, PROFILES[setup.profile_key], replications=replications)


def test_a_single_a10_vgpu_worker_saturates():
    # measured: 46.4, 46.6, 44 req/s at 4, 5, 10 users while latency grows 85 -> 220 ms
    runs = [_predict(f"A10-ROB-GPU-1p1w-u{u}", replications=1) for u in (4, 5, 10)]
    rates = [r.throughput_rps for r in runs]
    assert all(36 < x < 52 for x in rates)  # 4 users: 37.9 (one seed) with the launch/kernel split
    assert max(rates) / min(rates) < 1.15
    assert runs[2].avg_response_ms > 1.8 * runs[0].avg_response_ms


def test_more_busy_cpu_workers_than_cores_lower_throughput():
    # measured on the 6-vCPU A10 node at 5 users: 1 pod x 1 worker 35.4 req/s, 5 pods x 1 worker 22 req/s
    one = _predict("A10-ROB-CPU-1p1w-u5")
    # every pod up from the start (the measured run began mid-rollout: mapping.READY_AT_START)
    five = _predict("A10-ROB-CPU-5p1w-u5", replications=3, id="five-pods-all-up")
    assert 31 < one.throughput_rps < 40
    assert five.throughput_rps < 0.8 * one.throughput_rps
    assert five.cpu_util > 0.9


def test_connection_pinning_leaves_pods_idle():
    # measured on the A100: 25 pods x 1 worker, 5 users -> at most 5 workers ever served (14 of 25 had, 4 busy)
    for seed in (1, 2, 3):
        c = config("A100-ROB-25p1w-u5", duration_s=15.0)
        row = simulate_run(c, setup_of(c), PROFILES[setup_of(c).profile_key], seed=seed, replications=1)
        assert 1 <= row.busy_pods <= 5


def test_predictions_are_deterministic_for_a_seed_and_skip_unmappable_rows():
    configs = [config("A10-ROB-GPU-1p1w-u2", duration_s=20.0), config("LOCAL-ROB-CPU-u15")]
    first = predict_rows(configs, PROFILES, seed=7, replications=2)
    again = predict_rows(configs, PROFILES, seed=7, replications=2)
    assert first == again
    assert first[0].throughput_rps > 0 and not first[0].note
    assert first[1].throughput_rps is None and "node_vcpus" in first[1].note


def test_the_run_that_began_mid_rollout_slows_once_users_leave_the_old_pod():
    # measured: ~180 ms for the first minute, ~315 ms after it (latency_points.csv), 250 ms overall
    first_minute = _predict("A10-ROB-CPU-5p1w-u5", replications=3, duration_s=60.0)
    whole = _predict("A10-ROB-CPU-5p1w-u5", replications=3, duration_s=120.0)
    assert first_minute.busy_pods == 1.0
    assert whole.busy_pods > 1.5 and whole.avg_response_ms > 1.3 * first_minute.avg_response_ms


def test_processes_on_one_a100_share_it_until_its_kernel_time_is_spent():
    # 25 roberta processes, each mostly host-side launch and CPU: throughput grows with users until the device's
    # busy time (kernel ms a request, read by NVML) is spent, not at one process's accelerator phase
    profile = PROFILES[("roberta-base-go_emotions", "a100-80gb")]
    kernel_ms = profile.gpu_ms * profile.gpu_busy_fraction
    device_cap = 1000 * profile.timeslice_efficiency / kernel_ms
    few, many = (_predict("A100-ROB-25p1w-u5", users=u, id=f"u{u}", ramp_s=2.0, replications=1) for u in (5, 50))
    assert many.throughput_rps > 2.3 * few.throughput_rps
    assert many.throughput_rps > 1000 / profile.gpu_ms  # beyond one phase held exclusively
    assert 0.85 * device_cap < many.throughput_rps <= device_cap * 1.02
    assert many.gpu_util > 0.85
