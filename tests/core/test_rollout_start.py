"""A load test that begins while a scale-up is still rolling out: some pods are up at t=0, the rest start cold."""
from __future__ import annotations

import pydantic
import pytest

from tests.support.scenarios import scenario
from twin.core.world import World

NODE = {"name": "cpu", "vcpus": 64, "memory_gib": 256, "image_cached": True}


def _world(duration_s: float = 90, **deployment) -> World:
    spec = scenario(duration_s=duration_s, node_pools=[NODE], deployment={"pods": 4, **deployment},
                    workload={"type": "closed", "users": 6, "connection_ttl_s": 60})
    world = World(spec, seed=3)
    world.run()
    return world


def _became_ready(world: World) -> list[float]:
    return [e["time_s"] for e in world.events if e["event"] == "pod_ready" and e["time_s"] > 0]


def _serving(world: World) -> list[str]:
    return [pod.name for pod in world.cluster.pods if pod.served > 0]


def test_users_stay_on_the_pods_up_at_the_start_until_their_connections_expire():
    before_ttl, after_ttl = _world(50, initial_ready_pods=1), _world(90, initial_ready_pods=1)
    assert len(_became_ready(before_ttl)) == 3  # the three others start from scratch
    assert _serving(before_ttl) == [before_ttl.cluster.pods[0].name]  # every user connected to the one Ready pod
    assert len(_serving(after_ttl)) > 1  # at 60 s their connections expire and spread over the four


def test_the_default_keeps_every_pod_up_or_every_pod_cold():
    assert _became_ready(_world()) == []
    assert len(_became_ready(_world(initial_state="cold"))) == 4


def test_more_ready_pods_than_pods_is_refused():
    with pytest.raises(pydantic.ValidationError, match="initial_ready_pods"):
        scenario(deployment={"pods": 2, "initial_ready_pods": 3})
