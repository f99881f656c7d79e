"""Cluster Autoscaler scale-down: thresholds for CPU and GPU nodes, timing, delays, budgets, min sizes (FAQ numbers)."""
from __future__ import annotations

import pytest

from tests.policies.test_cluster_autoscaler import A100, LARGE, SMALL, node, pending, run
from twin.policies.cluster_autoscaler.loop import CAObservation, CAState, NodeGroup, record_scale_down_failure, utilisation

BIG = node("big", LARGE, [{"cpu": "9", "memory": "8Gi"}])  # 56 % cpu: needed, and room for 7 cpu of moved pods


def unneeded(nodes, **settings):
    _, state = run((SMALL, LARGE, A100), CAObservation(tuple(nodes)), now=0.0, **settings)
    return set(state.unneeded_since)


# cpu-small: 4 cpu, 16 GiB. "Smaller than 50 % of the node's allocatable" on the max of cpu and memory shares.
@pytest.mark.parametrize("pods, expected", [
    ([{"cpu": "1.9", "memory": "4Gi"}], True),  # 47.5 % cpu, 25 % memory
    ([{"cpu": "2", "memory": "4Gi"}], False),  # 50 % cpu is not below 50 %
    ([{"cpu": "500m", "memory": "8Gi"}], False),  # memory 50 %
    ([{"cpu": "1", "memory": "1Gi"}] * 3, False),  # 75 %
    ([], True),
])
def test_cpu_node_utilisation_is_the_max_of_cpu_and_memory(pods, expected):
    assert ("n" in unneeded([node("n", SMALL, pods), BIG])) == expected


# a100: 24 cpu, 4 GPUs. "Utilization calculation only cares about gpu resource for accelerator node."
@pytest.mark.parametrize("pods, expected_share, expected", [
    ([{"cpu": "20", "nvidia.com/gpu": "1"}], 0.25, True),  # cpu 83 % ignored
    ([{"cpu": "1", "nvidia.com/gpu": "2"}], 0.5, False),
    ([{"cpu": "1", "nvidia.com/gpu": "1"}], 0.25, True),
])
def test_gpu_node_utilisation_counts_gpu_requests_only(pods, expected_share, expected):
    gpu = node("g", A100, pods)
    free_gpu = node("g-free", A100, [{"nvidia.com/gpu": "2"}])
    assert utilisation(gpu) == (expected_share, True)
    assert ("g" in unneeded([gpu, free_gpu])) == expected


def test_gpu_threshold_is_its_own_flag():
    gpu = node("g", A100, [{"nvidia.com/gpu": "2"}])
    room = node("g-kept", A100, scale_down_disabled=True)  # a destination, never a candidate
    assert "g" in unneeded([gpu, room], scale_down_gpu_utilization_threshold=0.6)
    assert "g" not in unneeded([gpu, room], scale_down_utilization_threshold=0.9)


def test_pods_must_fit_elsewhere_and_nodes_do_not_share_the_room():
    # FAQ's example: pods of A fit on X, pods of B fit on X, but not both at once: only one is unneeded.
    a = node("a", SMALL, [{"cpu": "1.5"}])
    b = node("b", SMALL, [{"cpu": "1.5"}])
    x = node("x", SMALL, [{"cpu": "2"}])  # 50 %: needed, 2 cpu free
    assert unneeded([a, b, x]) in ({"a"}, {"b"})
    assert unneeded([a, node("lonely", LARGE, [{"cpu": "9"}], allocatable={"cpu": "10"})]) == set()


@pytest.mark.parametrize("flag", [{"movable": False}, {"scale_down_disabled": True}])
def test_blocked_drains_and_the_annotation_keep_a_node(flag):
    assert unneeded([node("n", SMALL, [{"cpu": "1"}], **flag), BIG]) == set()


def scan(nodes, times, *, state=CAState(), groups=(SMALL, LARGE), **settings):
    """Run the loop at each time; the names deleted at each, nodes vanishing once deleted."""
    nodes, deleted = list(nodes), []
    for now in times:
        decision, state = run(groups, CAObservation(tuple(nodes)), now=now, state=state, **settings)
        deleted.append(decision.delete_nodes)
        nodes = [n for n in nodes if n.name not in decision.delete_nodes]
    return deleted, state


def test_deleted_after_10_minutes_unneeded():
    deleted, _ = scan([node("idle", SMALL), BIG], (0.0, 300.0, 599.0, 600.0))
    assert deleted == [(), (), (), ("idle",)]


def test_unneeded_time_restarts_when_the_node_is_needed_again():
    idle, busy = node("n", SMALL), node("n", SMALL, [{"cpu": "3"}])
    _, state = run((SMALL,), CAObservation((idle, BIG)), now=0.0)
    _, state = run((SMALL,), CAObservation((busy, BIG)), now=300.0, state=state)
    assert "n" not in state.unneeded_since
    decision, state = run((SMALL,), CAObservation((idle, BIG)), now=600.0, state=state)
    assert decision.delete_nodes == () and state.unneeded_since["n"] == 600.0


def test_unready_nodes_wait_the_unready_time():
    sick = node("sick", SMALL, ready=False, created_at=-3600.0)
    deleted, _ = scan([sick, BIG], (0.0, 600.0, 1199.0, 1200.0))
    assert deleted == [(), (), (), ("sick",)]


@pytest.mark.parametrize("state, settings, times, expected", [
    # scale-down-delay-after-add 10 min from the scale-up at 100 s, though the node is ripe at 600 s
    (CAState(last_scale_up=100.0), {}, (0.0, 600.0, 699.0, 700.0), [(), (), (), ("idle",)]),
    # a failed deletion at 500 s: scale-down-delay-after-failure 3 min
    (record_scale_down_failure(CAState(), now=500.0), {}, (0.0, 600.0, 679.0, 680.0), [(), (), (), ("idle",)]),
    # a deletion at 550 s with scale-down-delay-after-delete 2 min
    (CAState(last_scale_down=550.0), {"scale_down_delay_after_delete_s": 120}, (0.0, 600.0, 669.0, 670.0),
     [(), (), (), ("idle",)]),
])
def test_delays_after_add_failure_and_delete(state, settings, times, expected):
    deleted, _ = scan([node("idle", SMALL), BIG], times, state=state, **settings)
    assert deleted == expected


def test_a_scale_up_in_this_loop_blocks_deletion_but_not_the_unneeded_clock():
    state = CAState(unneeded_since={"idle": 0.0})
    observation = CAObservation((node("idle", SMALL), BIG), pending(1, {"cpu": "12"}))
    decision, state = run((SMALL, LARGE), observation, now=900.0, state=state)
    assert dict(decision.scale_up) == {"cpu-large": 1} and decision.delete_nodes == ()
    assert state.unneeded_since == {"idle": 0.0}


def test_empty_nodes_go_in_bulk_up_to_the_parallelism_and_drained_ones_one_at_a_time():
    empty = [node(f"e{i:02}", SMALL) for i in range(12)]
    drained = [node(f"d{i}", SMALL, [{"cpu": "1"}]) for i in range(2)]
    roomy = node("roomy", LARGE, [{"cpu": "9"}])
    deleted, _ = scan(empty + drained + [roomy], (0.0, 600.0, 610.0, 620.0))
    assert deleted[1] == tuple(f"e{i:02}" for i in range(10))  # max-scale-down-parallelism 10, none drained
    assert deleted[2] == ("e10", "e11", "d0")  # the rest of the empty ones and one non-empty node
    assert deleted[3] == ("d1",)


def test_min_size_is_respected():
    group = NodeGroup("cpu-small", 2, 10, SMALL.template)
    deleted, _ = scan([node(f"e{i}", SMALL) for i in range(3)], (0.0, 600.0, 610.0), groups=(group,))
    assert deleted == [(), ("e0",), ()]


def test_pending_pods_that_fit_a_node_keep_it():
    state = CAState(unneeded_since={"idle": 0.0})
    decision, _ = run((SMALL,), CAObservation((node("idle", SMALL),), pending(1, {"cpu": "3"})), now=600.0,
                      state=state)
    assert decision.delete_nodes == () and decision.scale_up == {}
    decision, _ = run((SMALL,), CAObservation((node("idle", SMALL),)), now=600.0, state=state)
    assert decision.delete_nodes == ("idle",)
