"""A batch run as one forward pass (twin/torchserve/batching.py): its first item's cost plus each extra item's, and
its pool's barriers once per pass; unset per-item fields leave a batch as its requests in a row, to the bit."""
from __future__ import annotations

import pytest

from tests.core.test_batching_timeline import replay
from tests.support.scenarios import model_config
from twin.config.loader import load_scenario
from twin.core.run import simulate

BATCH_OF_FOUR = model_config(batch_size=4, max_batch_delay_ms=100)
# Two vCPUs with three other busy threads: a lone request's pool of two is crowded, the crowd the same throughout.
CROWDED = [{"name": "cpu", "count": 1, "vcpus": 2, "memory_gib": 64, "image_cached": True, "background_threads": 3}]
BUNDLED = "scenarios/examples/cpu-oversubscribed.yaml"  # five all-core pools on six vCPUs
POOL = {"cpu_ms": 10, "cpu_threads": 2, "parallel_regions": 40}


def _latencies(tmp_path, count: int, **model) -> set[float]:
    return {r[1] for r in replay(tmp_path, [1.0] * count, deployment=BATCH_OF_FOUR, model=model)}


def test_a_batch_on_an_idle_node_costs_its_first_item_and_each_extra_one(tmp_path):
    assert _latencies(tmp_path, 4, cpu_ms_per_extra_item=3) == {0.019}  # 10 + 3 x 3 ms, the batch full at once
    assert _latencies(tmp_path, 4) == {0.040}  # unset: four requests' CPU in a row, as before the field


def test_the_next_batch_starts_as_its_pool_stops_spinning(tmp_path):
    """Eight requests at once on two vCPUs: the second batch starts as the first ends, when the worker's pool is
    still spinning (twin/k8s/idle_spin.py); that spin ends as the batch starts, so it runs on an idle node too."""
    idle = [{**CROWDED[0], "background_threads": 0}]
    result = {r[1] for r in replay(tmp_path, [1.0] * 8, node_pools=idle, deployment=BATCH_OF_FOUR,
                                   model={**POOL, "cpu_ms_per_extra_item": 3})}
    assert result == {0.019, 0.038}


def test_a_one_pass_batch_meets_at_its_barriers_once(tmp_path):
    """On a crowded node a pool waits at each barrier. A batch of four whose extra items cost a full request's work
    but no barriers takes one request's time (work and waits) plus three requests' work alone (the same pool
    without barriers); as its requests in a row, four requests' time."""
    crowded = {"node_pools": CROWDED}

    def one(**model) -> float:
        return {r[1] for r in replay(tmp_path, [1.0], **crowded, model={**POOL, **model})}.pop()

    request, work = one(), one(parallel_regions=0)
    assert request > 1.5 * work  # the barriers' waits matter here
    passes = {r[1] for r in replay(tmp_path, [1.0] * 4, **crowded, deployment=BATCH_OF_FOUR,
                                   model={**POOL, "cpu_ms_per_extra_item": 10, "parallel_regions_per_extra_item": 0})}
    assert len(passes) == 1 and passes.pop() == pytest.approx(request + 3 * work, abs=2e-6)  # timelines in µs
    in_a_row = {r[1] for r in replay(tmp_path, [1.0] * 4, **crowded, deployment=BATCH_OF_FOUR, model=POOL)}
    assert len(in_a_row) == 1 and in_a_row.pop() == pytest.approx(4 * request, abs=3e-6)


def test_per_item_fields_equal_to_a_request_s_leave_a_bundled_batched_scenario_s_summary_unchanged():
    """Set to cpu_ms and parallel_regions, the one-pass batch is the batch of requests in a row: the same numbers
    (the study's CPU profile has its spin in the penalty, no barriers: some are given, so the waits count too)."""
    batched = {"deployment.torchserve.model.batch_size": 4, "workload.0.users": 20, "model.parallel_regions": 30}
    base = load_scenario(BUNDLED, batched)
    same = load_scenario(BUNDLED, {**batched, "model.cpu_ms_per_extra_item": base.model.cpu_ms,
                                   "model.parallel_regions_per_extra_item": base.model.parallel_regions})
    assert base.model.parallel_regions > 0 and base.model.cpu_ms_per_extra_item is None
    before, after = simulate(base).summary, simulate(same).summary
    assert before.requests > 300
    assert (before.throughput_rps, before.latency_ms, before.cpu_util) == \
        (after.throughput_rps, after.latency_ms, after.cpu_util)
