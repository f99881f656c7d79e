"""The soak's invariants on a run the suite can afford, and proof that they catch what they are for.

The week of the diurnal KEDA + Cluster Autoscaler question is `benchmarks/soak.py` (minutes of CPU a simulated day).
Here the same question's day is compressed into 90 simulated minutes at a lower rate, on nodes of two pods, so that
pods and nodes are still added at the peak and removed in the trough: every path that creates, moves or drops
requests (scale-up, scale-down with requests in flight, node drain) runs under the same checks.
"""
from __future__ import annotations

import pytest

from benchmarks import soak
from twin.config.loader import load_scenario
from twin.core import ledger
from twin.core.world import World
from twin.kernel import request as outcome

SCENARIOS = soak.QUESTION.parents[1]
DAY_S = 5400
COMPRESSED = {"duration_s": DAY_S, "warmup_s": 60, "workload.0.period_s": DAY_S, "workload.0.peak_at_s": DAY_S / 2,
              "workload.0.mean_rps": 25, "node_pools.0.gpus.sharing.replicas": 2,
              "autoscaling.cluster.settings.scale_down_unneeded_time_s": 300}


def test_a_compressed_diurnal_day_keeps_every_invariant_while_pods_and_nodes_come_and_go():
    watch = soak.soak(load_scenario(soak.QUESTION, COMPRESSED))
    assert watch.broken == [], soak.report(watch)
    book = ledger.ledger(watch.world)
    assert book.balanced and book.arrived > 100_000 and book.served > 0.99 * book.arrived
    kinds = [event["event"] for event in watch.world.events]
    assert kinds.count("node_added") >= 1 and kinds.count("node_removed") >= 1, sorted(set(kinds))
    assert watch.checks > 100


# The HPA's step up, then a drop it scales down from: the pods it deletes drain within their grace period.
SCALED_DOWN = {"duration_s": 1200,
               "workload.0.steps": [{"at_s": 0, "rate_rps": 20}, {"at_s": 120, "rate_rps": 120},
                                    {"at_s": 300, "rate_rps": 10}, {"at_s": 700, "rate_rps": 60}]}


@pytest.mark.parametrize("name, changes, lost_with, resets", [
    ("hpa-cpu-steps.yaml", SCALED_DOWN, "pod_terminated", False),
    ("questions/worker-autoscaling-without-resize.yaml", {}, "pod_oom_killed", True)])
def test_the_books_balance_where_requests_fail_and_pods_die(name, changes, lost_with, resets):
    """Queues overflowing (503), requests refused while no pod is Ready, pods deleted (drained: nothing lost; a pod
    killed past its grace period is tests/k8s/test_pod_deletion.py) or OOM-killed with requests in flight
    (connection reset)."""
    watch = soak.soak(load_scenario(SCENARIOS / name, changes))
    book = ledger.ledger(watch.world)
    assert watch.broken == [] and book.balanced and book.failed > 0.1 * book.arrived, soak.report(watch)
    assert (watch.world.recorder.errors["connection_reset"] > 0) == resets
    assert lost_with in {event["event"] for event in watch.world.events}


def test_the_ledger_notices_a_request_dropped_or_answered_twice():
    world = World(load_scenario(soak.QUESTION, {"duration_s": 600, "warmup_s": 0}))
    while not (held := [r for pod in world.cluster.pods if pod.server for w in pod.server.workers.all
                        for r in w.batch or ()]):
        world.env.step()
    assert ledger.violations(world) == []
    world.respond(held[0], outcome.QUEUE_FULL)  # answered while still held: counted twice
    assert any("arrived" in problem for problem in ledger.violations(world))


def test_the_time_series_check_names_the_second_that_went_wrong():
    columns = {name: [0.0, 0.0, 0.0] for name in ("queued", "busy_workers", "workers", "pods", "gpu_memory_mib",
                                                  "host_memory_mib")}
    columns["time_s"] = [1.0, 2.0, 2.0]
    columns["gpu_memory_mib"] = [0.0, -4.0, 0.0]
    assert ledger.series_violations(columns) == ["clock: 2 s after 2 s", "gpu_memory_mib: -4 at 2 s"]


def test_memory_kept_beyond_the_time_series_breaks_the_soak():
    world = World(load_scenario(soak.QUESTION, {"duration_s": 60, "warmup_s": 0}))
    watch = soak.Soak(world)
    world.run(progress=watch.check)
    kept = bytes(range(256)) * (int(soak.GROWTH_MIB + 64) * 2**12)  # resident at once: every page written
    watch.finish()
    assert any(problem.startswith("memory: RSS grew") for problem in watch.broken), (watch.broken, len(kept))
