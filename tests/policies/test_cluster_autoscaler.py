"""The Cluster Autoscaler and anticipatory policies as tables of cases (FAQ defaults)."""
from __future__ import annotations

import pytest

from twin.policies import anticipatory
from twin.policies.cluster_autoscaler import CASettings, CAState, Node, NodeGroup, reconcile

GIB = 2**30
CPU = NodeGroup("cpu", 1, 5, {"cpu": 8, "memory": 32 * GIB}, 0.4)
GPU = NodeGroup("gpu", 0, 3, {"cpu": 24, "memory": 220 * GIB, "nvidia.com/gpu": 1}, 3.67)
POD = {"cpu": 2, "memory": 4 * GIB}
GPU_POD = {"cpu": 2, "memory": 4 * GIB, "nvidia.com/gpu": 1}


def node(name, group, pods, template):
    requested = {r: sum(p.get(r, 0) for p in pods) for r in template.allocatable}
    return Node(name, group, dict(template.allocatable), requested, tuple(pods))


@pytest.mark.parametrize("pending, upcoming, expected", [
    ((POD,) * 5, {}, {"cpu": 2}),  # 4 per template node: 2 nodes; the cheaper-waste group wins
    ((GPU_POD,) * 2, {}, {"gpu": 2}),  # only the GPU group fits them
    ((POD,) * 3, {"cpu": 1}, {}),  # they fit on the node already on its way
    ((GPU_POD,) * 5, {}, {"gpu": 3}),  # capped at max_count
])
def test_scale_up_for_pending_pods(pending, upcoming, expected):
    decision, state = reconcile((CPU, GPU), CASettings(), CAState(), nodes=(), pending=pending, upcoming=upcoming,
                                now=100.0)
    assert dict(decision.add) == expected
    assert (state.last_scale_up == 100.0) == bool(expected)


def test_scale_down_after_the_unneeded_time_only():
    nodes = (node("cpu-0", "cpu", [POD], CPU), node("cpu-1", "cpu", [], CPU))
    settings = CASettings()
    decision, state = reconcile((CPU,), settings, CAState(), nodes=nodes, pending=(), upcoming={}, now=0.0)
    assert decision.remove == () and set(state.unneeded_since) == {"cpu-0", "cpu-1"}  # both under 50 %, and its pod fits elsewhere
    decision, state = reconcile((CPU,), settings, state, nodes=nodes, pending=(), upcoming={}, now=599.0)
    assert decision.remove == ()
    decision, _ = reconcile((CPU,), settings, state, nodes=nodes, pending=(), upcoming={}, now=600.0)
    assert decision.remove == ("cpu-1",)  # the empty one; the group's min (1) keeps the other


def test_gpu_nodes_are_judged_by_gpu_requests_and_scale_down_waits_after_a_scale_up():
    busy_gpu = node("gpu-0", "gpu", [GPU_POD], GPU)  # CPU 8 % used, GPU 100 %: needed
    decision, state = reconcile((GPU,), CASettings(scale_down_unneeded_time_s=0), CAState(last_scale_up=0.0),
                                nodes=(busy_gpu,), pending=(), upcoming={}, now=100.0)
    assert decision.remove == () and decision.reason == "scale-down delayed after a scale-up"
    decision, state = reconcile((GPU,), CASettings(scale_down_unneeded_time_s=0), CAState(), nodes=(busy_gpu,),
                                pending=(), upcoming={}, now=700.0)
    assert decision.remove == () and "gpu-0" not in state.unneeded_since


@pytest.mark.parametrize("history, free, expected", [
    (((0, 2), (60, 2)), 1, (1, 2)),  # no growth: the minimum headroom of 2 pods, 1 free -> one node of 4
    (((0, 2), (60, 8)), 3, (2, 9)),  # 6 pods a minute x 90 s lead = 9 wanted, 3 free -> 2 nodes
    (((0, 8), (60, 4)), 0, (1, 2)),  # shrinking: only the minimum
    (((0, 2), (60, 8)), 12, (0, 9)),
])
def test_anticipatory_headroom(history, free, expected):
    spec = anticipatory.Anticipation("gpu", lead_time_s=90, min_headroom_pods=2, window_s=60)
    assert anticipatory.nodes_to_add(spec, replicas=history, free_pod_slots=free, pods_per_node=4,
                                     now=60.0) == expected
