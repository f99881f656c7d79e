"""The anticipatory node policy: nodes for the forecast replica count, released after a lasting surplus."""
from __future__ import annotations

import pytest

from twin.policies.anticipatory import Anticipation, AnticipationState, GroupView, forecast, reconcile

# A100 nodes of the scenarios: 4 single-GPU pods each, 180 s to register + 90 s until the GPU is allocatable.
SPEC = Anticipation("a100", lead_time_s=270.0, min_headroom_pods=2, window_s=60.0, release_after_s=600.0)


def view(desired, nodes, *, upcoming=0, empty=(), history=(), max_nodes=6, min_nodes=1):
    return GroupView(desired, pods_per_node=4, nodes=nodes, upcoming=upcoming, min_nodes=min_nodes,
                     max_nodes=max_nodes, empty_nodes=tuple(empty), history=tuple(history))


@pytest.mark.parametrize("history, desired, expected", [
    ((), 6, 6),  # no history: the target itself
    (((0, 2), (60, 8)), 8, 35),  # +6 in 60 s = 0.1 pod/s, carried 270 s: 8 + 27
    (((0, 8), (60, 4)), 4, 4),  # shrinking: never below the target
    (((0, 2), (30, 2), (60, 2)), 2, 2),
    (((-120, 2), (0, 2), (60, 8)), 8, 35),  # samples older than the window are ignored
    (((0, 2), (60, 8)), 40, 40),  # the autoscaler already heads higher than the trend
])
def test_forecast_is_the_target_or_the_trend_over_the_lead_time(history, desired, expected):
    assert forecast(SPEC, view(desired, 1, history=history), now=60.0) == expected


@pytest.mark.parametrize("desired, nodes, upcoming, history, add, wanted", [
    (2, 1, 0, (), 0, 1),  # 2 pods + 2 headroom = 1 node
    (6, 1, 0, (), 1, 2),  # 8 slots wanted = 2 nodes
    (6, 1, 1, (), 0, 2),  # one already on its way
    (8, 1, 0, ((0, 2), (60, 8)), 5, 6),  # trend wants 37 slots = 10 nodes, the group's max is 6
    (0, 0, 0, (), 1, 1),  # min nodes even at zero
])
def test_nodes_added_ahead(desired, nodes, upcoming, history, add, wanted):
    decision, state = reconcile(SPEC, AnticipationState(), view(desired, nodes, upcoming=upcoming, history=history),
                                now=60.0)
    assert (decision.add, decision.wanted_nodes) == (add, wanted)
    assert decision.release == () and state.surplus_since is None


def test_surplus_is_released_after_it_lasted_release_after_s_empty_nodes_only():
    state, released = AnticipationState(), []
    for now in (0.0, 300.0, 599.0, 600.0, 610.0):
        decision, state = reconcile(SPEC, state, view(2, 3, empty=("n1", "n2")), now=now)
        released.append(decision.release)
        assert decision.add == 0
    assert released == [(), (), (), ("n1", "n2"), ()]


def test_a_break_in_the_surplus_restarts_the_release_timer():
    _, state = reconcile(SPEC, AnticipationState(), view(2, 3, empty=("n2",)), now=0.0)
    _, state = reconcile(SPEC, state, view(10, 3), now=300.0)
    assert state.surplus_since is None
    decision, state = reconcile(SPEC, state, view(2, 3, empty=("n2",)), now=600.0)
    assert decision.release == () and state.surplus_since == 600.0


def test_only_empty_nodes_are_released_and_the_rest_held():
    # wanted 1 node, 4 there: 3 surplus but only one is empty; when wanted, empty nodes are held from the CA
    decision, _ = reconcile(SPEC, AnticipationState(surplus_since=0.0), view(2, 4, empty=("n3",)), now=600.0)
    assert decision.release == ("n3",) and decision.hold == ()
    decision, _ = reconcile(SPEC, AnticipationState(), view(6, 2, empty=("n1",)), now=600.0)
    assert decision.release == () and decision.hold == ("n1",)
    decision, _ = reconcile(SPEC, AnticipationState(surplus_since=0.0), view(2, 3, empty=("n1", "n2", "n3")),
                            now=600.0)
    assert decision.release == ("n1", "n2") and decision.hold == ("n3",)


def test_pods_per_node_must_be_positive():
    with pytest.raises(ValueError):
        reconcile(SPEC, AnticipationState(), GroupView(4, pods_per_node=0, nodes=1, upcoming=0), now=0.0)
