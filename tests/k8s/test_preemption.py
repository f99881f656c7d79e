"""The scheduler's preemption choice (DefaultPreemption): cases after upstream's `TestSelectBestCandidate` and
`SelectVictimsOnNode` rules: fewest, least important victims; the node whose victims matter least."""
from __future__ import annotations

import pytest

from twin.k8s.preemption import Room, Running, preempt, victims_on

GPU = {"cpu": 4.0, "nvidia.com/gpu": 1.0}
NODE = {"cpu": 24.0, "nvidia.com/gpu": 4.0}


def room(name: str, *pods: Running, allocatable=NODE) -> Room:
    requested = {r: sum(p.requests.get(r, 0.0) for p in pods) for r in allocatable}
    return Room(name, allocatable, pods, requested)


def pod(name: str, priority: int, start: float = 0.0, requests=GPU) -> Running:
    return Running(name, priority, start, requests)


def test_only_as_many_victims_as_the_pod_needs_the_least_important_first():
    # one GPU short: of three placeholders the newest goes (reprieve keeps the earlier-started ones)
    full = room("n0", pod("serving-0", 0), pod("ph-0", -10, 1.0), pod("ph-1", -10, 2.0), pod("ph-2", -10, 3.0))
    assert [v.name for v in victims_on(GPU, 0, full)] == ["ph-2"]
    mixed = room("n0", pod("serving-0", 0), pod("low", -5, 1.0), pod("lowest", -10, 2.0), pod("ph", -10, 0.5))
    assert {v.name for v in victims_on(GPU, 0, mixed)} == {"lowest"}  # of -10 pods, the newer; -5 is reprieved first


def test_pods_of_equal_or_higher_priority_are_never_victims():
    full = room("n0", pod("a", 0), pod("b", 0), pod("c", 5), pod("d", 0))
    assert victims_on(GPU, 0, full) is None
    assert preempt(GPU, 0, [full]) is None


def test_a_pod_too_large_even_without_every_lower_pod_has_no_candidate():
    small = room("n0", pod("ph", -10), allocatable={"cpu": 2.0, "nvidia.com/gpu": 4.0})
    assert victims_on(GPU, 0, small) is None


@pytest.mark.parametrize("nodes, expected", [
    # lowest highest-priority victim wins: -10 over -5
    ((room("a", pod("a0", 0), pod("a1", 0), pod("a2", 0), pod("a3", -5)),
      room("b", pod("b0", 0), pod("b1", 0), pod("b2", 0), pod("b3", -10))), "b"),
    # equal highest priority: the smaller sum of priorities (one victim of -10 against two, both needed)
    ((room("a", pod("a0", 0), pod("a1", 0), pod("a2", 0), pod("a3", -10)),
      room("b", pod("b0", 0), pod("b1", 0), pod("b2", -10, requests={"cpu": 2.0, "nvidia.com/gpu": 0.5}),
           pod("b3", -10, requests={"cpu": 2.0, "nvidia.com/gpu": 0.5}))), "a"),
    # all else equal: the node whose highest-priority victims started latest
    ((room("a", pod("a0", 0), pod("a1", 0), pod("a2", 0), pod("a3", -10, start=5.0)),
      room("b", pod("b0", 0), pod("b1", 0), pod("b2", 0), pod("b3", -10, start=9.0))), "b"),
    # a full tie: the first node
    ((room("a", pod("a0", 0), pod("a1", 0), pod("a2", 0), pod("a3", -10)),
      room("b", pod("b0", 0), pod("b1", 0), pod("b2", 0), pod("b3", -10))), "a"),
])
def test_the_node_is_the_one_whose_victims_matter_least(nodes, expected):
    assert preempt(GPU, 0, list(nodes)).node == expected


def test_preemption_policy_never_preempts_nothing():
    full = room("n0", pod("a", 0), pod("b", 0), pod("c", 0), pod("ph", -10))
    assert preempt(GPU, 0, [full]).victims == (pod("ph", -10),)
    assert preempt(GPU, 0, [full], policy="Never") is None
