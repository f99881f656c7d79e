"""A model of one's own served on CPU: the threads its requests keep busy and the oversubscription slowdown are fitted
when the runs identify them, and named as assumed when they do not.

The truth is a known profile (20 ms of CPU per request on two threads, penalty 1.5, on a 2-vCPU node: every worker's
pool takes every core, as torch's default does), whose runs the twin makes; the server's CPU use per run is the
twin's busy core-seconds, as `servetwin observe` records it beside a local server (server_cpu_pct).
"""
import pytest

from calibration.fit import fit, observations
from calibration.mapping import setup_of
from calibration.predict import simulate_run
from calibration.readers import Run, RunConfig, RunResult
from calibration.readings import gather
from twin.config.schema import ModelProfile

TRUTH = ModelProfile(name="truth", device="cpu", cpu_ms=20.0, cpu_threads=2.0, cpu_oversubscription_penalty=1.5,
                     frontend_ms=3.0, demand_cv=0.2)
NODE = dict(date=None, cloud_vm="test", gpu_model=None, gpu_partition=None, node_vcpus=2, node_ram_gb=64.0,
            model="acme/encoder", device="cpu", pods=1, ramp_s=0.0, duration_s=40.0, batch_size=1,
            max_batch_delay_ms=0.0)
KEY = ("encoder", "cpu")


def _run(workers: int, users: int, *, reading: bool = True, truth: ModelProfile = TRUTH) -> Run:
    config = RunConfig(id=f"w{workers}-u{users}", workers_per_pod=workers, users=users, **NODE)
    twin = simulate_run(config, setup_of(config), truth, seed=5, replications=2)
    cpu_pct = twin.cpu_util * NODE["node_vcpus"] * 100 if reading else None
    return Run(config, RunResult(twin.throughput_rps, None, twin.avg_response_ms, None, 0.0, twin.p95_response_ms,
                                 server_cpu_pct=cpu_pct), None, 0)


def _fit(runs):
    obs, skipped = observations(runs)
    assert not skipped
    return fit(obs, gather((), runs), rounds=2, seeds=2)


def test_threads_and_penalty_are_found_when_two_workers_were_busy_and_predict_four():
    result = _fit((_run(1, 1), _run(1, 4), _run(2, 4)))
    profile = result.space.profile(KEY, result.theta, {})
    assert profile.cpu_ms == pytest.approx(TRUTH.cpu_ms, rel=0.1)
    assert profile.cpu_threads == pytest.approx(TRUTH.cpu_threads, rel=0.15)  # the CPU reading per request
    assert profile.cpu_oversubscription_penalty == pytest.approx(1.5, rel=0.3)  # the 2-worker collapse
    assert not [a for a in result.space.assumed(KEY) if "cpu_" in a]
    unseen = _run(4, 8)
    predicted = simulate_run(unseen.config, setup_of(unseen.config), profile, seed=9)
    assert predicted.throughput_rps == pytest.approx(unseen.result.throughput_rps, rel=0.15)
    assert predicted.throughput_rps < 0.5 * _run(1, 4).result.throughput_rps  # four workers serve less than one


def test_one_worker_runs_without_readings_leave_threads_and_penalty_assumed_at_their_priors():
    result = _fit((_run(1, 1, reading=False), _run(1, 4, reading=False)))
    profile = result.space.profile(KEY, result.theta, {})
    assumed = " ".join(result.space.assumed(KEY))
    assert "cpu_threads ~2" in assumed and "cpu_oversubscription_penalty ~1" in assumed
    assert profile.cpu_threads == pytest.approx(2.0, rel=0.05)  # torch's default: the node's vCPUs
    assert profile.cpu_oversubscription_penalty == pytest.approx(1.0, rel=0.05)
    ranges = result.field_ranges(KEY)
    value, low, high = ranges["cpu_oversubscription_penalty"]
    assert high / low > 20  # the prior's width, not a confident number


def test_a_server_that_only_waits_keeps_its_workers_apart():
    """A handler that sleeps uses almost no CPU: the reading says so, and two workers do not contend."""
    sleepy = TRUTH.model_copy(update={"cpu_threads": 0.05})
    result = _fit((_run(1, 1, truth=sleepy), _run(1, 4, truth=sleepy)))
    assert result.space.profile(KEY, result.theta, {}).cpu_threads < 0.2

