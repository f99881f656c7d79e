"""A model of one's own served on CPU: the threads its requests keep busy, the oversubscription slowdown and the
pool's barriers are fitted when the runs identify them, and named as assumed when they do not.

The truth is a known profile (20 ms of CPU per request on two threads, penalty 1.5, 150 barriers a request, half the
family prior's density, on a 2-vCPU node: every worker's pool takes every core, as torch's default does), whose runs
the twin makes; the server's CPU use per run is the twin's busy core-seconds, as `servetwin observe` records it beside
a local server (server_cpu_pct), and TorchServe's own latency is the twin's time in the worker plus its queue.
"""
import pytest

from calibration.fit import fit, observations
from calibration.mapping import setup_of
from calibration.predict import simulate_run
from calibration.readers import Run, RunConfig, RunResult
from calibration.readings import gather
from calibration.space import BARRIERS_PRIOR
from twin.config.schema import ModelProfile

TRUTH = ModelProfile(name="truth", device="cpu", cpu_ms=20.0, cpu_threads=2.0, cpu_oversubscription_penalty=1.5,
                     parallel_regions=150.0, frontend_ms=3.0, demand_cv=0.2)
NODE = dict(date=None, cloud_vm="test", gpu_model=None, gpu_partition=None, node_vcpus=2, node_ram_gb=64.0,
            model="acme/encoder", device="cpu", pods=1, ramp_s=0.0, duration_s=40.0, batch_size=1,
            max_batch_delay_ms=0.0)
KEY = ("encoder", "cpu")


def _run(workers: int, users: int, *, reading: bool = True, truth: ModelProfile = TRUTH,
         background: float | None = None) -> Run:
    config = RunConfig(id=f"w{workers}-u{users}", workers_per_pod=workers, users=users, **NODE,
                       background_threads=background)
    twin = simulate_run(config, setup_of(config), truth, seed=5, replications=2)
    cpu_pct = twin.cpu_util * NODE["node_vcpus"] * 100 if reading else None
    in_server = twin.avg_response_ms - truth.frontend_ms  # TorchServe's latency: its queue and the worker
    worker = _worker_ms(twin, users, workers, truth)
    return Run(config, RunResult(twin.throughput_rps, None, twin.avg_response_ms, None, 0.0, twin.p95_response_ms,
                                 server_cpu_pct=cpu_pct, ts_mean_latency_ms=in_server if reading and worker else None,
                                 ts_mean_queue_ms=in_server - worker if reading and worker else None), None, 0)


def _worker_ms(twin, users: int, workers: int, truth: ModelProfile) -> float | None:
    """The time in the worker where the twin's figures give it: all of TorchServe's time when nobody queues, a lone
    worker's 1/X when users keep it busy."""
    if users <= workers:
        return twin.avg_response_ms - truth.frontend_ms
    return 1000 / twin.throughput_rps if workers == 1 else None


def _fit(runs):
    obs, skipped = observations(runs)
    assert not skipped
    return fit(obs, gather((), runs), rounds=2, seeds=2)


def test_threads_penalty_and_barriers_are_found_when_two_workers_were_busy_and_predict_four():
    result = _fit((_run(1, 1), _run(1, 4), _run(2, 4)))
    profile = result.space.profile(KEY, result.theta, {})
    assert profile.cpu_ms == pytest.approx(TRUTH.cpu_ms, rel=0.1)
    assert profile.cpu_threads == pytest.approx(TRUTH.cpu_threads, rel=0.15)  # the CPU reading per request
    assumed = [a for a in result.space.assumed(KEY) if a.startswith(("cpu_", "parallel_regions"))]
    assert all("extra_item" in a for a in assumed)  # only a batch's per-item cost: no run batched
    # one contended run fixes what spin and barrier waits cost together, not how they split (each grows differently
    # with more workers): the extrapolation to four workers is looser than the fit
    unseen = _run(4, 8)
    predicted = simulate_run(unseen.config, setup_of(unseen.config), profile, seed=9)
    assert predicted.throughput_rps == pytest.approx(unseen.result.throughput_rps, rel=0.25)
    assert predicted.throughput_rps < 0.5 * _run(1, 4).result.throughput_rps  # four workers serve less than one


def test_one_worker_runs_without_readings_leave_threads_and_penalty_assumed_at_their_priors():
    result = _fit((_run(1, 1, reading=False), _run(1, 4, reading=False)))
    profile = result.space.profile(KEY, result.theta, {})
    assumed = " ".join(result.space.assumed(KEY))
    assert "cpu_threads ~2" in assumed and "cpu_oversubscription_penalty ~1" in assumed
    assert "parallel_regions ~7.4 barriers per core-ms" in assumed
    assert profile.cpu_threads == pytest.approx(2.0, rel=0.05)  # torch's default: the node's vCPUs
    assert profile.cpu_oversubscription_penalty == pytest.approx(1.0, rel=0.05)
    core_ms = profile.cpu_ms * profile.cpu_threads
    assert profile.parallel_regions == pytest.approx(BARRIERS_PRIOR[0] * core_ms, rel=0.05)  # the family's density
    ranges = result.field_ranges(KEY)
    for name in ("cpu_oversubscription_penalty", "parallel_regions"):
        value, low, high = ranges[name]
        assert high / low > 20, name  # the prior's width, not a confident number


def test_a_server_that_only_waits_keeps_its_workers_apart():
    """A handler that sleeps uses almost no CPU: the reading says so, and two workers do not contend."""
    sleepy = TRUTH.model_copy(update={"cpu_threads": 0.05})
    result = _fit((_run(1, 1, truth=sleepy), _run(1, 4, truth=sleepy)))
    assert result.space.profile(KEY, result.theta, {}).cpu_threads < 0.2



def test_torchserve_s_worker_time_splits_a_waiting_handler_s_response_on_a_busy_node():
    """A handler that sleeps 50 ms and computes little, beside other work filling both cores: throughput and latency
    alone cannot tell its 50 ms in the worker from 5 ms outside it (any split sums to the same response), and the
    busy node must not be read as a slow pool: TorchServe's worker time and the CPU reading say what it is."""
    waiting = TRUTH.model_copy(update={"cpu_ms": 50.0, "cpu_threads": 0.1, "parallel_regions": 0.0,
                                       "frontend_ms": 5.0})
    runs = tuple(_run(1, users, truth=waiting, background=3.0) for users in (1, 2, 4))
    result = _fit(runs)
    profile = result.space.profile(KEY, result.theta, {})
    assert profile.cpu_ms == pytest.approx(50.0, rel=0.1)  # the service of an idle node, not the busy one
    assert profile.frontend_ms == pytest.approx(5.0, rel=0.3)
    assert profile.cpu_threads < 0.2
    assumed = " ".join(result.space.assumed(KEY))
    assert "cpu_oversubscription_penalty ~1" in assumed and "parallel_regions" in assumed
    assert profile.cpu_oversubscription_penalty == pytest.approx(1.0, rel=0.05)  # the prior, not a bound
    two = _run(2, 4, truth=waiting, background=3.0)
    predicted = simulate_run(two.config, setup_of(two.config), profile, seed=9)
    assert predicted.throughput_rps == pytest.approx(two.result.throughput_rps, rel=0.15)
    assert predicted.throughput_rps > 1.6 * runs[-1].result.throughput_rps  # a second worker doubles it
