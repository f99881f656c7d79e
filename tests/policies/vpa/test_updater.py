"""The updater and the recommendation processor, with upstream's test numbers: kubernetes/autoscaler
vertical-pod-autoscaler v1.7.1 `pkg/updater/priority/priority_processor_test.go`,
`pkg/updater/restriction/pods_eviction_restriction_test.go`, `pkg/utils/vpa/limit_and_request_scaling_test.go`."""
from __future__ import annotations

import pytest

from twin.policies.vpa.capping import cap, proportional_limit, resources
from twin.policies.vpa.estimator import Bounds
from twin.policies.vpa.manifest import IN_PLACE_OR_RECREATE, INITIAL, OFF, RECREATE, REQUESTS_ONLY, ContainerPolicy
from twin.policies.vpa.updater import Budget, PodState, UpdaterConfig, UpdaterState, plan, priority

GI = 2**30


def _cpu(target: float, lower: float | None = None, upper: float | None = None) -> Bounds:
    bounds = [{"cpu": round(v * 1000)} if v is not None else {} for v in (target, lower, upper)]
    return Bounds(*bounds)


@pytest.mark.parametrize("request_cores, bounds, expected", [
    (2, _cpu(10), (False, True, 4.0)),  # simple scale up
    (4, _cpu(2), (False, False, 0.5)),  # simple scale down
    (2, _cpu(2), (False, False, 0.0)),  # no resource diff
    (0.01, _cpu(0.9), (False, True, 89.0)),  # scale up on milliquantities
    (4, _cpu(10, 6, 14), (True, True, 1.5)),  # scale up outside recommended range
    (8, _cpu(2, 1, 3), (True, False, 0.75)),  # scale down outside recommended range
])
def test_update_priority(request_cores, bounds, expected):
    rank = priority({"cpu": request_cores}, bounds)
    assert (rank.outside_range, rank.scale_up, rank.resource_diff) == expected


def test_priority_sums_relative_diffs_over_resources():
    both_up = Bounds({"cpu": 6000, "memory": 20_000_000}, {}, {})
    assert priority({"cpu": 3, "memory": 10e6}, both_up).resource_diff == pytest.approx(1.0 + 1.0)
    one_up = Bounds({"cpu": 2000, "memory": 20_000_000}, {}, {})
    assert priority({"cpu": 4, "memory": 10e6}, one_up).resource_diff == pytest.approx(1.5 + 0.0)


def test_eviction_tolerance():
    budget = Budget(configured=5, running=5, tolerance=int(5 * 0.8))
    evicted = 0
    while budget.disruptable():
        budget.disrupted += 1
        evicted += 1
    assert evicted == 4  # TestEvictionTolerance: 4 of 5 go, the 5th is refused


def test_evict_at_least_one():
    budget = Budget(configured=5, running=5, tolerance=int(5 * 0.1))
    assert budget.disruptable()
    budget.disrupted += 1
    assert not budget.disruptable()  # TestEvictAtLeastOne


def _pods(count: int, memory: float = 1 * GI, start: float = 0.0, **fields) -> list[PodState]:
    return [PodState(f"p{i}", "Running", start, {"memory": memory}, **fields) for i in range(count)]


MEMORY_UP = Bounds({"memory": 4 * GI}, {"memory": 3 * GI}, {"memory": 40 * GI})


def _plan(mode: str, pods: list[PodState], *, now: float = 120.0, replicas: int | None = None, **kwargs):
    return plan(mode, pods, {p.name: MEMORY_UP for p in pods}, replicas=replicas or len(pods), now=now,
                config=UpdaterConfig(), state=kwargs.pop("state", UpdaterState()), **kwargs)


def test_too_few_replicas_are_left_alone():
    assert _plan(RECREATE, _pods(1)) == []  # --min-replicas 2
    assert [a.kind for a in _plan(RECREATE, _pods(1), min_replicas=1)] == ["evict"]


def test_recreate_evicts_within_the_tolerance():
    actions = _plan(RECREATE, _pods(4))
    assert [a.kind for a in actions] == ["evict", "evict"]  # int(4 x 0.5) = 2 at a time


def test_off_and_initial_never_touch_running_pods():
    assert _plan(OFF, _pods(4)) == [] and _plan(INITIAL, _pods(4)) == []


def test_in_range_pods_wait_for_twelve_hours_of_life():
    inside = _pods(2, memory=3.5 * GI)
    assert _plan(RECREATE, inside) == []
    assert len(_plan(RECREATE, inside, now=12 * 3600 + 1)) == 1  # diff 0.14 > 0.1, and old enough


def test_a_quick_oom_updates_a_pod_in_range():
    pods = _pods(2, memory=3.5 * GI, last_oom=(60.0, 100.0))
    assert len(_plan(RECREATE, pods)) == 1


def test_in_place_first_then_eviction_when_infeasible_or_deferred_too_long():
    state = UpdaterState()
    assert [a.kind for a in _plan(IN_PLACE_OR_RECREATE, _pods(2), state=state)] == ["resize"]
    deferred = _pods(2, resize_status="Deferred")
    assert _plan(IN_PLACE_OR_RECREATE, deferred, state=state, now=120.0 + 300) == []
    assert [a.kind for a in _plan(IN_PLACE_OR_RECREATE, deferred, state=state, now=120.0 + 301)] == ["evict"]
    infeasible = _pods(2, resize_status="Infeasible")
    assert [a.kind for a in _plan(IN_PLACE_OR_RECREATE, infeasible, state=UpdaterState())] == ["evict"]


@pytest.mark.parametrize("limit, requested, recommended, expected", [
    (2000, 1000, 10000, 20000),  # scale proportionally
    (None, 1000, 10000, None),  # no original limit
    (2000, None, 10000, 10000),  # no original request
    (None, 1000, 0, None),  # no recommendation
    (1000, 1000, 10000, 10000),  # limit equal to request
    (2000, 1500, 1000, 1333),  # non-integer ratio: 1333.3m -> 1.333
])
def test_proportional_limit(limit, requested, recommended, expected):
    assert proportional_limit(limit, requested, recommended) == expected


def test_policy_caps_and_requests_only_keeps_the_limit():
    policy = ContainerPolicy(min_allowed={"memory": 2 * GI}, max_allowed={"memory": 6 * GI})
    wide = Bounds({"memory": 8 * GI}, {"memory": GI}, {"memory": 80 * GI})
    capped = cap(wide, policy)
    assert (capped.target, capped.lower, capped.upper) == ({"memory": 6 * GI}, {"memory": 2 * GI},
                                                          {"memory": 6 * GI})
    only = ContainerPolicy(controlled_values=REQUESTS_ONLY)
    assert cap(wide, only, {"memory": 5 * GI}).target == {"memory": 5 * GI}
    requests, limits = resources({"memory": 3 * GI}, only, {"memory": 2 * GI}, {"memory": 5 * GI})
    assert (requests, limits) == ({"memory": 3 * GI}, {"memory": 5 * GI})


def test_requests_and_limits_scale_the_limit():
    requests, limits = resources({"memory": 3 * GI}, ContainerPolicy(), {"memory": 2 * GI}, {"memory": 4 * GI})
    assert (requests, limits) == ({"memory": 3 * GI}, {"memory": 6 * GI})
