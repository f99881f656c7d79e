"""Cluster Autoscaler scale-down: thresholds for CPU and GPU nodes, timing, delays, budgets, min sizes (FAQ numbers)."""
from __future__ import annotations

import pytest

from tests.policies.test_cluster_autoscaler import A100, GIB, LARGE, SMALL, node, pending, run
from twin.policies.cluster_autoscaler.loop import (
    CAObservation, CASettings, CAState, Node, NodeGroup, Pod, UtilisationError, record_scale_down_failure, resources,
    utilisation,
)
from twin.policies.pod_resources import Container

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


# TestCalculate (simulator/utilization/info_test.go): a 2000m / 2000000-byte node; p1 asks 100m / 200000, p2 nothing.
P1 = Pod({"cpu": 0.1, "memory": 200_000}, name="p1")
P2 = Pod(name="p2")
DS3 = Pod({"cpu": 0.1, "memory": 200_000}, name="p3", daemonset=True)  # owned by a DaemonSet
DS4 = Pod({"cpu": 0.1, "memory": 200_000}, name="p4", daemonset=True)  # the daemonset-pod annotation
MIRROR = Pod({"cpu": 0.1, "memory": 200_000}, name="p4", mirror=True)
TEST_TIME = 10_000.0
TERMINATED = Pod({"cpu": 0.1, "memory": 200_000}, name="podTerminated", deleted_at=TEST_TIME - 600)
WITH_INIT = Pod(name="p-init", containers=(Container("c", {"cpu": 0.1, "memory": 200_000}),), init_containers=(
    Container("sidecar", {"cpu": 0.05, "memory": 100_000}, "Always"),  # restart always
    Container("init", {"cpu": 0.005, "memory": 100})))  # non-restartable: excluded, it runs before the containers
LARGE_INIT = Pod(name="p-large-init", containers=(Container("c", {"cpu": 0.1, "memory": 200_000}),),
                 init_containers=(Container("init", {"cpu": 50.0, "memory": 100_000_000}),))  # overwhelms the pod
NODE = {"cpu": 2.0, "memory": 2_000_000}
GPU_POD = Pod({"cpu": 0.1, "memory": 200_000, "nvidia.com/gpu": 1}, name="gpu_pod")

UTILISATION_CASES = [
    ("pods", NODE, (P1, P1, P2), {}, 2.0 / 10),
    ("no memory allocatable", {"cpu": 2.0}, (P1, P1, P2), {}, None),
    ("init containers", NODE, (P1, WITH_INIT, LARGE_INIT), {}, 50.25),
    ("daemonset pods skipped", NODE, (P1, P1, P2, DS3, DS4), {"ignore_daemonsets_utilization": True}, 2.5 / 10),
    ("daemonset pods counted", NODE, (P1, P2, DS3), {}, 2.0 / 10),
    ("long-terminating pod left out", NODE, (P1, P1, P2, TERMINATED), {}, 2.0 / 10),
    ("mirror pods skipped", NODE, (P1, P1, P2, MIRROR), {"ignore_mirror_pods_utilization": True}, 2.0 / 9),
    ("mirror pods counted", NODE, (P1, P2, MIRROR), {}, 2.0 / 10),
    ("daemonset and mirror pods skipped", NODE, (P1, MIRROR, DS3),
     {"ignore_daemonsets_utilization": True, "ignore_mirror_pods_utilization": True}, 1.0 / 8),
    ("gpu node", {**NODE, "nvidia.com/gpu": 1}, (P1, P1, GPU_POD), {}, 1.0),
    # PodRequests beyond upstream's table: pod-level cpu replaces the containers' 100m; overhead adds to memory
    ("pod-level requests and overhead", NODE, (Pod(containers=(Container("c", {"cpu": 0.1, "memory": 200_000}),),
                                                   pod_level={"cpu": 1.0}, overhead={"memory": 1_000_000}),), {},
     0.6),
]


@pytest.mark.parametrize("name,allocatable,pods,flags,expected", UTILISATION_CASES,
                         ids=[c[0] for c in UTILISATION_CASES])
def test_utilisation_matches_upstream(name, allocatable, pods, flags, expected):
    node = Node("node1", SMALL.name, allocatable, pods=pods)
    if expected is None:
        with pytest.raises(UtilisationError):
            utilisation(node, CASettings(**flags), now=TEST_TIME)
        return
    assert utilisation(node, CASettings(**flags), now=TEST_TIME)[0] == pytest.approx(expected, rel=0.01)


def test_gpu_node_with_gpu_not_yet_allocatable_counts_as_zero():
    """"Node with Unready GPU": a GPU label and no GPU allocatable → utilisation 0, so it can be scaled down."""
    labelled = Node("gpu_node", A100.name, NODE, pods=(P1, P1), labels={"cloud.google.com/gke-accelerator": "t4"})
    assert utilisation(labelled) == (0.0, True)
    # the same node without the label is a CPU node, 10 % cpu / 20 % memory
    assert utilisation(Node("n", A100.name, NODE, pods=(P1, P1))) == (pytest.approx(0.2), False)


def test_scale_down_takes_a_gpu_node_whose_gpus_never_appeared_and_skips_a_node_without_memory():
    # past max-node-startup-time, still no GPU: unready, utilisation 0 → unneeded (then scale-down-unready-time)
    stuck = node("stuck", A100, [{"cpu": "2", "memory": "4Gi"}],
                 allocatable={"cpu": "24", "memory": "220Gi", "nvidia.com/gpu": "0"}, created_at=-2000.0)
    broken = node("broken", SMALL, allocatable={"cpu": "4"})
    assert unneeded([stuck, broken, BIG]) == {"stuck"}


def test_daemonset_and_mirror_pods_do_not_move_and_can_be_left_out_of_utilisation():
    daemon = Pod({"cpu": 1.0, "memory": 2 * GIB}, daemonset=True)
    mirror = Pod({"cpu": 0.5, "memory": 2 * GIB}, mirror=True)
    app = Pod({"cpu": 0.6, "memory": GIB})
    busy = Node("n", SMALL.name, resources({"cpu": "4", "memory": "16Gi"}), pods=(daemon, mirror, app))
    assert "n" not in unneeded([busy, BIG])  # 2.1 of 4 cpu: 52.5 %
    both = {"ignore_daemonsets_utilization": True, "ignore_mirror_pods_utilization": True}
    assert "n" in unneeded([busy, BIG], **both)  # 0.6 of 2.5 cpu left: 24 %; only the 0.6 cpu pod must move
    alone = Node("d", SMALL.name, resources({"cpu": "4", "memory": "16Gi"}), pods=(daemon,))
    decision, _ = run((SMALL, LARGE), CAObservation((alone,)), now=0.0, scale_down_unneeded_time_s=0)
    assert decision.delete_nodes == ("d",)  # nothing to move, though no other node could take its DaemonSet pod


def test_a_gpu_resource_listed_at_zero_makes_a_gpu_node_at_zero_utilisation():
    assert utilisation(Node("g", A100.name, {**NODE, "nvidia.com/gpu": 0}, pods=(P1, P1))) == (0.0, True)
