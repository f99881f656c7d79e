"""The worker autoscaling policy as a table of cases."""
from __future__ import annotations

import pytest

from twin.policies.workers import PodWorkers, WorkerPolicy, WorkerState, reconcile

POLICY = WorkerPolicy(min_workers=1, max_workers=6, target_utilization=0.5, tolerance=0.1, max_step_up=2,
                      scale_down_stabilization_s=60, gpu_memory_per_worker_mib=2000)


@pytest.mark.parametrize("pod, expected, reason", [
    (PodWorkers("p", 2, 0, 1.0), None, "within tolerance"),  # 1.0 in service / (0.5 x 2) = 1
    (PodWorkers("p", 2, 0, 2.0), 4, "in-service requests above target"),
    (PodWorkers("p", 2, 0, 5.0), 4, "in-service requests above target"),  # at most 2 more at a time
    (PodWorkers("p", 5, 0, 9.0), 6, "in-service requests above target"),  # clamped to max
    (PodWorkers("p", 2, 1, 5.0), None, "workers still loading"),
    (PodWorkers("p", 2, 0, None), None, "metric missing"),
    (PodWorkers("p", 2, 0, 3.0, gpu_free_mib=2500), 3, "limited by GPU memory"),
    (PodWorkers("p", 4, 0, 0.4), 1, "in-service requests below target"),  # first sync: nothing to stabilise on
    # hysteresis: 0.95 in service would put 2 workers at 0.95 of target (in noise of scaling back up), 3 at 0.63
    (PodWorkers("p", 4, 0, 0.95), 3, "in-service requests below target"),
    (PodWorkers("p", 2, 0, 0.48), None, "held"),  # 1 worker would run at 0.96 of target: held at 2
])
def test_one_decision(pod, expected, reason):
    decisions, _ = reconcile(POLICY, WorkerState(), [pod], now=0.0)
    if expected is None:
        assert decisions == []
    else:
        assert [(d.workers, d.reason) for d in decisions] == [(expected, reason)]


def test_scale_down_waits_for_the_stabilisation_window():
    state = WorkerState()
    _, state = reconcile(POLICY, state, [PodWorkers("p", 4, 0, 1.9)], now=0.0)  # recommends 4
    decisions, state = reconcile(POLICY, state, [PodWorkers("p", 4, 0, 0.4)], now=30.0)
    assert decisions == []  # the 4 of 30 s ago is inside the 60 s window
    decisions, _ = reconcile(POLICY, state, [PodWorkers("p", 4, 0, 0.4)], now=61.0)
    assert [d.workers for d in decisions] == [1]


def test_memory_for_a_worker_count_is_rounded_up_to_64_mib():
    policy = WorkerPolicy(worker_memory_mib=2756, frontend_memory_mib=200, memory_margin=0.05)
    assert policy.memory_bytes(2) == 6016 * 2**20  # 200 + 2 x 2893.8 = 5987.6 -> 6016
    assert policy.memory_bytes(0) == 256 * 2**20
