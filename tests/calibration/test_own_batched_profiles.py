"""A model of one's own served on CPU with batching: the CPU work of each extra item in a batch is fitted when some
runs batched, and rests on the measured prior, named as assumed, when none did.

The truth is a known profile whose handler runs a batch as one forward pass (20 ms for the first item on two threads,
7 ms for each extra one, the pool's barriers once per pass); the twin makes its runs, as in test_own_cpu_profiles.
"""
import pytest

from calibration.fit import fit, observations
from calibration.mapping import setup_of
from calibration.predict import simulate_run
from calibration.readers import Run, RunConfig, RunResult
from calibration.readings import gather
from calibration.space import EXTRA_PRIOR, REGIONS_PER_EXTRA
from tests.calibration.test_own_cpu_profiles import KEY, NODE, TRUTH

EXTRA_MS = 7.0
BATCHING = TRUTH.model_copy(update={"cpu_ms_per_extra_item": EXTRA_MS,
                                    "parallel_regions_per_extra_item": REGIONS_PER_EXTRA * TRUTH.parallel_regions})


def _run(users: int, batch_size: int = 1, workers: int = 1) -> Run:
    config = RunConfig(id=f"w{workers}-u{users}-b{batch_size}", workers_per_pod=workers, users=users,
                       background_threads=None, **{**NODE, "batch_size": batch_size, "max_batch_delay_ms": 20.0})
    twin = simulate_run(config, setup_of(config), BATCHING, seed=5, replications=2)
    cpu_pct = twin.cpu_util * NODE["node_vcpus"] * 100
    return Run(config, RunResult(twin.throughput_rps, None, twin.avg_response_ms, None, 0.0, twin.p95_response_ms,
                                 server_cpu_pct=cpu_pct), None, 0)


def _profile(runs):
    obs, skipped = observations(runs)
    assert not skipped
    result = fit(obs, gather((), runs), rounds=3, seeds=2)
    return result, result.space.profile(KEY, result.theta, {})


def test_batched_runs_give_the_extra_item_s_cost_and_predict_an_unseen_batched_run():
    result, profile = _profile((_run(1), _run(4), _run(2, batch_size=4), _run(4, batch_size=4),
                                _run(8, batch_size=4)))
    assert profile.cpu_ms == pytest.approx(TRUTH.cpu_ms, rel=0.1)
    assert profile.cpu_ms_per_extra_item == pytest.approx(EXTRA_MS, rel=0.1)  # the prior's centre is far: 13.6 ms
    assert "cpu_ms_per_extra_item" not in profile.assumed
    # the fit's analytic surrogate batches as the twin does: its space-mapping corrections stay near one
    assert all(0.95 < c < 1.05 for pair in result.corrections.values() for c in pair)
    assert not [a for a in result.space.assumed(KEY) if a.startswith("cpu_ms_per_extra_item")]
    unseen = _run(6, batch_size=4)
    predicted = simulate_run(unseen.config, setup_of(unseen.config), profile, seed=9)
    assert predicted.throughput_rps == pytest.approx(unseen.result.throughput_rps, rel=0.1)


def test_without_batched_runs_the_extra_item_rests_on_the_prior_and_is_named_assumed():
    result, profile = _profile((_run(1), _run(4), _run(1, batch_size=4)))  # one user: no batch of two forms
    assert profile.cpu_ms_per_extra_item == pytest.approx(EXTRA_PRIOR[0] * profile.cpu_ms, rel=0.05)
    assert "cpu_ms_per_extra_item" in profile.assumed
    assert any(a.startswith(f"cpu_ms_per_extra_item ~{EXTRA_PRIOR[0]:g}") for a in result.space.assumed(KEY))
    value, low, high = result.field_ranges(KEY)["cpu_ms_per_extra_item"]
    assert high / low > 3  # the family's spread, not a confident number
