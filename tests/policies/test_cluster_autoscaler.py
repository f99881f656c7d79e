"""Cluster Autoscaler scale-up, failed provisioning, backoff and health: tables of cases with the FAQ's defaults.

Also holds the groups and builders the scale-down tests import (A100 nodes time-sliced 4×, like the scenarios).
"""
from __future__ import annotations

import pytest

from twin.policies.cluster_autoscaler.loop import (
    CAObservation, CASettings, CASpec, CAState, Node, NodeGroup, NodeTemplate, PendingPod, Pod, SpreadConstraint,
    UpcomingNode, reconcile, resources,
)

GIB = 2**30
SMALL = NodeGroup("cpu-small", 0, 10, NodeTemplate({"cpu": "4", "memory": "16Gi"}, {"pool": "cpu"}), 0.19)
LARGE = NodeGroup("cpu-large", 0, 10, NodeTemplate({"cpu": "16", "memory": "64Gi"}, {"pool": "cpu"}), 0.77)
A100 = NodeGroup("a100", 0, 3, NodeTemplate({"cpu": "24", "memory": "220Gi", "nvidia.com/gpu": "4"},
                                            {"pool": "a100"}), 3.67)
MIG = NodeGroup("a100-mig", 0, 2, NodeTemplate({"cpu": "24", "memory": "220Gi", "nvidia.com/mig-1g.10gb": "7"},
                                               {"pool": "mig"}), 3.67)
CPU_POD = {"cpu": "3", "memory": "4Gi"}
GPU_POD = {"cpu": "4", "memory": "4Gi", "nvidia.com/gpu": "1"}


def pending(count: int, requests: dict, *, since: float = 0.0, prefix: str = "pod", **kw) -> tuple[PendingPod, ...]:
    return tuple(PendingPod(f"{prefix}-{i}", requests, since, **kw) for i in range(count))


def node(name: str, group: NodeGroup, pods=(), *, allocatable: dict | None = None, daemon: dict | None = None,
         **kw) -> Node:
    """A node of `group` running `pods` (moved on drain) plus `daemon` requests (counted, never moved)."""
    alloc = resources(allocatable) if allocatable is not None else dict(group.template.allocatable)
    parts = [resources(p) for p in pods] + [resources(daemon or {})]
    requested = {r: sum(p.get(r, 0.0) for p in parts) for r in alloc}
    return Node(name, group.name, alloc, requested, tuple(pods), **kw)


def run(groups, observation, *, now=100.0, state=CAState(), **settings):
    return reconcile(CASpec(tuple(groups)), state, observation, now=now, settings=CASettings(**settings))


# least-waste by hand for 3 pods of 3 cpu / 4 GiB: cpu-small needs 3 nodes, idle cpu 3/12 + idle memory 36/48 = 1.0;
# cpu-large needs 1 node, idle 7/16 + 52/64 = 1.25. least-nodes prefers the 1 node; most-pods ties 3-3, name breaks it.
@pytest.mark.parametrize("expander, expected", [
    ("least-waste", {"cpu-small": 3}),
    ("least-nodes", {"cpu-large": 1}),
    ("most-pods", {"cpu-large": 1}),
])
def test_the_expander_picks_one_group_and_sizes_it_by_bin_packing(expander, expected):
    decision, state = run((SMALL, LARGE), CAObservation(pending=pending(3, CPU_POD)), expander=expander)
    assert dict(decision.scale_up) == expected
    assert state.last_scale_up == 100.0


@pytest.mark.parametrize("pods, nodes, upcoming, groups, expected, unhelpable", [
    # 6 GPU pods, 4 per A100 node: only the GPU group fits them, 2 nodes
    (pending(6, GPU_POD), (), (), (SMALL, A100), {"a100": 2}, 0),
    # 9 of them: 3 nodes is a100's max; with 2 nodes registered (full) only 1 more, 5 pods left this loop
    (pending(9, GPU_POD), (), (), (A100,), {"a100": 3}, 0),
    (pending(9, GPU_POD), ("full",) * 2, (), (A100,), {"a100": 1}, 5),
    # pods that fit a node already requested trigger nothing; a fifth pod needs one more
    (pending(4, GPU_POD), (), ("a100",), (A100,), {}, 0),
    (pending(5, GPU_POD), (), ("a100",), (A100,), {"a100": 1}, 0),
    # a pod that fits free room of a ready node waits for the scheduler
    (pending(1, CPU_POD), ("half",), (), (SMALL,), {}, 0),
    # a pod too big for every template helps nobody
    (pending(1, {"cpu": "32"}), (), (), (SMALL, LARGE), {}, 1),
    # the node selector limits the groups: a GPU pod asking for the MIG pool
    (pending(1, {"nvidia.com/gpu": "1"}, node_selector={"pool": "mig"}), (), (), (A100, MIG), {}, 1),
    (pending(2, {"nvidia.com/mig-1g.10gb": "1"}, node_selector={"pool": "mig"}), (), (), (A100, MIG),
     {"a100-mig": 1}, 0),
])
def test_scale_up_counts_nodes_there_and_on_the_way(pods, nodes, upcoming, groups, expected, unhelpable):
    shapes = {"full": [GPU_POD] * 4, "half": [{"cpu": "1"}]}
    group_of = {"full": A100, "half": SMALL}
    registered = tuple(node(f"n{i}", group_of[s], shapes[s]) for i, s in enumerate(nodes))
    observation = CAObservation(registered, pods, tuple(UpcomingNode(g, 50.0) for g in upcoming))
    decision, _ = run(groups, observation)
    assert dict(decision.scale_up) == expected
    assert len(decision.unhelpable) == unhelpable


@pytest.mark.parametrize("max_total, expected", [(0, {"cpu-small": 3}), (3, {"cpu-small": 2}), (1, {})])
def test_max_nodes_total_caps_the_cluster(max_total, expected):
    observation = CAObservation(nodes=(node("busy", SMALL, [CPU_POD]),), pending=pending(3, CPU_POD))
    decision, _ = run((SMALL,), observation, max_nodes_total=max_total)
    assert dict(decision.scale_up) == expected


@pytest.mark.parametrize("now, expected", [(129.0, {}), (130.0, {"cpu-small": 1})])
def test_new_pod_scale_up_delay(now, expected):
    decision, _ = run((SMALL,), CAObservation(pending=pending(1, CPU_POD, since=100.0)), now=now,
                      new_pod_scale_up_delay_s=30)
    assert dict(decision.scale_up) == expected


@pytest.mark.parametrize("gpus, created_at, expected", [
    ("0", 60.0, {}),  # registered, GPUs not allocatable yet: upcoming, no second scale-up
    ("4", 60.0, {}),  # GPUs allocatable: its free room takes the pods
    ("0", -900.0, {"a100": 1}),  # still no GPU 15 min after creation: unready, no longer counted on
])
def test_gpu_node_without_allocatable_gpu_counts_as_upcoming(gpus, created_at, expected):
    alloc = {**A100.template.allocatable, "nvidia.com/gpu": gpus}
    waiting_gpu = node("a100-0", A100, allocatable=alloc, created_at=created_at)
    decision, _ = run((A100,), CAObservation((waiting_gpu,), pending(4, GPU_POD)), now=100.0,
                      scale_down_unneeded_time_s=0)
    assert dict(decision.scale_up) == expected
    assert decision.delete_nodes == ()  # never removed while the driver starts


@pytest.mark.parametrize("now, deleted", [(899.0, False), (900.0, True)])
def test_unregistered_after_max_node_provision_time_is_deleted_and_another_group_tried(now, deleted):
    lost = UpcomingNode("a100", 0.0, "i-lost")
    twin = NodeGroup("a100-b", 0, 3, A100.template, 3.67)
    decision, state = run((A100, twin), CAObservation(upcoming=(lost,), pending=pending(1, GPU_POD)), now=now)
    assert decision.delete_unregistered == ((lost,) if deleted else ())
    assert decision.backed_off == (("a100",) if deleted else ())
    assert dict(decision.scale_up) == ({"a100-b": 1} if deleted else {})  # before: the pod waits for that node
    assert ("a100" in state.backoffs) == deleted


def test_a_group_in_backoff_is_skipped_until_the_backoff_ends():
    lost = UpcomingNode("a100", 0.0)
    _, state = run((A100,), CAObservation(upcoming=(lost,)), now=900.0)
    assert state.backoffs["a100"].until == 1200.0  # initial-node-group-backoff-duration 5 min
    for now, expected in ((910.0, {}), (1199.0, {}), (1200.0, {"a100": 1})):
        decision, _ = run((A100,), CAObservation(pending=pending(1, GPU_POD)), now=now, state=state)
        assert dict(decision.scale_up) == expected


def test_backoff_doubles_up_to_30_minutes_and_resets_after_3_hours():
    state, durations = CAState(), []
    for failed_at in (900.0, 2000.0, 4000.0, 7000.0, 9000.0, 9000.0 + 3 * 3600):
        _, state = run((A100,), CAObservation(upcoming=(UpcomingNode("a100", failed_at - 900),)), now=failed_at,
                       state=state)
        durations.append(state.backoffs["a100"].duration_s)
    assert durations == [300, 600, 1200, 1800, 1800, 300]


@pytest.mark.parametrize("unready, total, halted", [
    (3, 4, False),  # ok-total-unready-count 3 tolerates 3 whatever the share
    (4, 8, True),  # 4 > 3 and 50 % > 45 %
    (4, 9, False),  # 4 > 3 but 44 % <= 45 %
])
def test_the_loop_halts_when_too_many_nodes_are_unready(unready, total, halted):
    old = -2000.0  # past max-node-startup-time: unready, not starting
    nodes = tuple(node(f"n{i}", SMALL, [{"cpu": "4"}], ready=i >= unready, created_at=old) for i in range(total))
    decision, state = run((SMALL,), CAObservation(nodes, pending(1, {"cpu": "4"})), now=0.0)
    assert decision.halted == halted
    assert bool(decision.scale_up) != halted
    assert (state == CAState()) == halted


def test_quantities_are_parsed_and_settings_validated():
    assert node("n", SMALL).allocatable == {"cpu": 4.0, "memory": 16 * GIB}
    with pytest.raises(ValueError):
        CASettings(expander="price")
    with pytest.raises(ValueError):
        NodeGroup("bad", 3, 2, SMALL.template)
    with pytest.raises(ValueError):
        CASpec((SMALL, SMALL))


@pytest.mark.parametrize("other_zone, unhelpable", [(True, 2), (False, 0)])
def test_zonal_spreading_counts_the_registered_nodes_of_other_zones(other_zone, unhelpable):
    """maxSkew 1 on the zone: a full node in zone-b (no matching pods) lets zone-a take one pod only."""
    zone = "topology.kubernetes.io/zone"
    zoned = NodeGroup("zone-a", 0, 10, NodeTemplate({"cpu": "4", "memory": "16Gi"}, {zone: "zone-a"}))
    full = node("full-b", SMALL, [{"cpu": "4"}], labels={zone: "zone-b"})
    spread = (SpreadConstraint(1, zone, {"app": "x"}),)
    waiting = pending(3, {"cpu": "1"}, labels={"app": "x"}, spread=spread)
    decision, _ = run((zoned, SMALL), CAObservation((full,) if other_zone else (), waiting), max_nodes_total=0)
    assert dict(decision.scale_up) == {"zone-a": 1} and len(decision.unhelpable) == unhelpable


@pytest.mark.parametrize("max_pods, port, expected", [
    ("110", None, {}),  # room left: the scheduler places it
    ("110", 8080, {"cpu-small": 1}),  # the port is taken on the only node with room
    ("110", "8080/UDP", {}),  # another protocol: no conflict
    ("1", None, {"cpu-small": 1}),  # the node holds its one pod already
])
def test_the_scheduler_filters_decide_what_registered_nodes_take(max_pods, port, expected):
    running = Pod({"cpu": 1.0, "memory": GIB}, host_ports=(8080,))
    busy = Node("busy", SMALL.name, resources({"cpu": "4", "memory": "16Gi", "pods": max_pods}), pods=(running,))
    waiting = pending(1, {"cpu": "1"}, host_ports=(port,) if port else ())
    decision, _ = run((SMALL,), CAObservation((busy,), waiting))
    assert dict(decision.scale_up) == expected


# FAQ "How does Cluster Autoscaler work with Pod Priority and Preemption?": pods below the cutoff (-10 by default,
# the overprovisioning FAQ's placeholder class sits at -10, "the lowest priority that triggers scaling") do not
# trigger a scale-up, nor does a pod already waiting for a preemption on its nominated node.
@pytest.mark.parametrize("priority, nominated, settings, expected", [
    (0, "", {}, {"a100": 1}),
    (-10, "", {}, {"a100": 1}),  # placeholders at the cutoff still scale the cluster up
    (-11, "", {}, {}),  # below: expendable
    (-11, "", {"expendable_pods_priority_cutoff": -20}, {"a100": 1}),
    (0, "a100-0", {}, {}),  # waiting for its victims to terminate
])
def test_expendable_and_nominated_pods_trigger_no_scale_up(priority, nominated, settings, expected):
    pods = pending(2, GPU_POD, priority=priority, nominated_node=nominated)
    decision, _ = run((A100,), CAObservation(pending=pods), **settings)
    assert dict(decision.scale_up) == expected
