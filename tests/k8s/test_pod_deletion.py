"""A deleted pod leaves the endpoints at once and drains; what is still in flight at the grace period is reset."""
from __future__ import annotations

import pytest

from tests.support.scenarios import scenario
from twin.core.world import World


def _deleted_while_busy(grace_s: float, cpu_ms: float) -> World:
    """Two pods under four closed-loop users; the busier deleted 5 s in, the run goes on to 30 s."""
    spec = scenario(duration_s=30, model={"cpu_ms": cpu_ms},
                    deployment={"pods": 2, "startup": {"termination_grace_s": grace_s}},
                    workload={"type": "closed", "users": 4})
    world = World(spec)
    world.run(until=5)
    busiest = max(world.cluster.pods, key=lambda pod: pod.server.busy + pod.server.pending)
    assert busiest.server.busy > 0
    world.cluster.delete_pod(busiest)
    world.run(until=30)
    return world


@pytest.mark.parametrize("grace_s, cpu_ms, resets", [(1.0, 4000.0, True), (30.0, 50.0, False)])
def test_requests_in_flight_past_the_grace_period_are_reset_and_the_rest_drain(grace_s, cpu_ms, resets):
    world = _deleted_while_busy(grace_s, cpu_ms)
    kinds = [event["event"] for event in world.events]
    assert "pod_terminated" in kinds
    assert (world.recorder.errors["connection_reset"] > 0) == resets
