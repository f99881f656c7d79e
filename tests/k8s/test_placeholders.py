"""Placeholder pods in the twin's cluster, as the overprovisioning FAQ has them: serving pods preempt them, the
evicted ones are replaced Pending, and the Cluster Autoscaler adds a node for them unless they are expendable."""
from __future__ import annotations

import pytest

from tests.support.scenarios import scenario
from twin.core.world import World

REQUESTS = {"cpu": "2", "memory": "1Gi"}


def placeholders(value: int = -10, replicas: int = 2) -> dict:
    priority_class = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass",
                      "metadata": {"name": "headroom"}, "value": value, "preemptionPolicy": "Never"}
    deployment = {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "headroom"},
                  "spec": {"replicas": replicas, "template": {"spec": {
                      "priorityClassName": "headroom", "terminationGracePeriodSeconds": 0,
                      "containers": [{"name": "pause", "image": "registry.k8s.io/pause:3.10",
                                      "resources": {"requests": REQUESTS}}]}}}}
    return {"priority_class": {"object": priority_class}, "deployment": {"object": deployment}}


def world(value: int = -10) -> World:
    """One 8-cpu node: a serving pod and two placeholders of 2 cpu each; the pool may grow by provisioning."""
    spec = scenario(duration_s=400, workload={"type": "poisson", "rate_rps": 1},
                    node_pools=[{"name": "cpu", "count": 1, "vcpus": 8, "memory_gib": 64, "image_cached": True,
                                 "autoscaling": {"min_count": 1, "max_count": 3, "provision_s": 60}}],
                    deployment={"resources": {"requests": REQUESTS}},
                    autoscaling={"cluster": {"placeholders": placeholders(value)}})
    built = World(spec)
    built.run(until=5.0)
    built.scale_deployment(3)  # the second fits in the free 2 cpu; the third needs a placeholder's room
    return built


def events(built: World, kind: str) -> list[dict]:
    return [e for e in built.events if e["event"] == kind]


def test_a_serving_pod_preempts_one_placeholder_and_takes_its_room():
    built = world()
    built.run(until=30.0)
    preempted = events(built, "pod_preempted")
    assert len(preempted) == 1 and preempted[0]["pod"].startswith("headroom-")
    serving = [p for p in built.cluster.pods]
    assert len(serving) == 3 and all(p.node is not None for p in serving)
    assert built.cluster.pending_pods == []  # serving pods only: none waits
    pause = [p for p in built.cluster.pause_pods if p.phase != "Terminated"]
    assert len(pause) == 2 and sum(p.node is None for p in pause) == 1  # the replacement waits for a node
    scheduled = {e["pod"]: e["time_s"] for e in events(built, "pod_scheduled")}
    assert scheduled[preempted[0]["by"]] == pytest.approx(preempted[0]["time_s"])  # pause exits at SIGTERM
    assert all(p.nominated_node is None for p in serving)  # cleared once bound


def test_the_cluster_autoscaler_adds_a_node_for_the_evicted_placeholder():
    built = world()
    built.run(until=120.0)
    ups = [d for d in built.control.decisions if d.action == "add_nodes"]
    assert [(d.target, d.value["count"]) for d in ups] == [("cpu", 1)]
    assert len(built.cluster.nodes) == 2
    assert all(p.node is not None for p in built.cluster.pause_pods)  # headroom restored on the new node


def test_placeholders_below_the_priority_cutoff_trigger_no_scale_up():
    built = world(value=-11)
    built.run(until=120.0)
    assert not [d for d in built.control.decisions if d.action == "add_nodes"]
    assert sum(p.node is None for p in built.cluster.pause_pods) == 1
    assert events(built, "placeholder_unschedulable")


def full_node(value: int, policy: str) -> World:
    """Four serving pods fill the node; then placeholders of a class above theirs ask for room."""
    classes = placeholders(value, replicas=0)
    classes["priority_class"]["object"]["preemptionPolicy"] = policy
    spec = scenario(duration_s=400, workload={"type": "poisson", "rate_rps": 1},
                    node_pools=[{"name": "cpu", "count": 1, "vcpus": 8, "memory_gib": 64, "image_cached": True,
                                 "autoscaling": {"min_count": 1, "max_count": 1}}],
                    deployment={"pods": 4, "resources": {"requests": REQUESTS}},
                    autoscaling={"cluster": {"placeholders": classes}})
    built = World(spec)
    built.run(until=5.0)
    built.scale_placeholders(1)
    built.run(until=20.0)
    return built


def test_a_class_above_the_serving_pods_preempts_them_gracefully_and_their_replicaset_replaces_them():
    built = full_node(100, "PreemptLowerPriority")  # a misconfigured headroom class: above priority 0
    (preempted,) = events(built, "pod_preempted")
    assert preempted["by"].startswith("headroom-") and not preempted["pod"].startswith("headroom-")
    order = [e["event"] for e in built.events if e.get("pod") == preempted["pod"]]
    assert order[-3:] == ["pod_deleting", "pod_unready", "pod_terminated"]  # out of the endpoints, then ended
    assert len(built.cluster.pods) == 4 and len(built.cluster.pending_pods) == 1  # the replacement waits
    assert all(p.node is not None for p in built.cluster.pause_pods)


def test_preemption_policy_never_waits_instead():
    built = full_node(100, "Never")
    assert not events(built, "pod_preempted")
    assert [p.node for p in built.cluster.pause_pods] == [None] and len(built.cluster.pending_pods) == 0
