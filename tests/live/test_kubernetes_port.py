"""The Kubernetes port through the official client against KMock: reads, subresource writes, and injected faults."""
from __future__ import annotations

import time

import pytest

from tests.support import kube_cluster as kc
from twin.live.failures import ApiFailure
from twin.live.kubernetes_port import KubernetesCluster

NS = "serving"
GIB = 2**30


@pytest.fixture
def api():
    with kc.KubeApi() as server:
        server.put(kc.APPS, NS, "sleepy", kc.deployment("sleepy", NS, replicas=2))
        server.put(kc.PODS, NS, "sleepy-0", kc.pod("sleepy-0", NS, app="sleepy", node="n1", ip="10.0.0.5"))
        server.put(kc.PODS, NS, "sleepy-1", kc.pod("sleepy-1", NS, app="sleepy", node=None, ready=False))
        server.put(kc.PODS, NS, "other-0", kc.pod("other-0", NS, app="other", node="n1", memory="1Gi"))
        server.put(kc.NODES, None, "n1", kc.node("n1", pool="a100", cpu="24", memory="220Gi", gpus=1))
        server.put(kc.SCALED_OBJECTS, NS, "sleepy", {
            "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "sleepy", "namespace": NS},
            "spec": {"minReplicaCount": 1, "triggers": [{"type": "prometheus", "metadata": {"threshold": "5"}}]}})
        yield server


def port(api: kc.KubeApi, timeout_s: float = 2.0) -> KubernetesCluster:
    return KubernetesCluster(api.client(), namespace=NS, deployment="sleepy", timeout_s=timeout_s)


def test_pods_of_the_deployment_read_with_state_resources_and_times(api):
    pods = {p.name: p for p in port(api).pods()}
    assert set(pods) == {"sleepy-0", "sleepy-1"}  # the selector leaves other-0 out
    running, pending = pods["sleepy-0"], pods["sleepy-1"]
    assert (running.phase, running.ready, running.node) == ("Running", True, "n1")
    assert running.requests == {"cpu": 0.5, "memory": 2 * GIB} and running.limits == {"memory": 2 * GIB}
    assert abs(running.start_time - (time.time() - 600)) < 5
    assert running.ready_transition_time > running.start_time
    assert (pending.phase, pending.ready, pending.node, pending.start_time) == ("Pending", False, None, None)
    assert [p.name for p in port(api).pending_pods()] == ["sleepy-1"]
    assert port(api).pod_ip("sleepy-0") == "10.0.0.5"


def test_a_pod_being_deleted_is_terminating(api):
    api.patch(kc.PODS, NS, "sleepy-0", {"metadata": {"deletionTimestamp": kc.now_rfc3339()}})
    pod = next(p for p in port(api).pods() if p.name == "sleepy-0")
    assert pod.deleting and pod.phase == "Terminating"


def test_nodes_carry_pool_allocatable_and_the_requests_of_every_pod_on_them(api):
    [node] = port(api).nodes()
    assert (node.name, node.pool, node.ready) == ("n1", "a100", True)
    assert node.allocatable == {"cpu": 24.0, "memory": 220 * GIB, "pods": 110.0, "nvidia.com/gpu": 1.0}
    assert node.requested == {"cpu": 1.0, "memory": 3 * GIB}  # sleepy-0 and other-0, whatever their deployment
    assert set(node.pods) == {"sleepy-0", "other-0"}


def test_scaling_goes_through_the_scale_subresource(api):
    port(api).scale_deployment(5)
    assert api.get(kc.APPS, NS, "sleepy")["spec"]["replicas"] == 5
    assert port(api).deployment_replicas() == (5, 2)
    assert api.writes() == [("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/sleepy/scale")]


@pytest.mark.parametrize("outcome, status", [("", ""), ("Deferred", "Deferred"), ("Infeasible", "Infeasible")])
def test_resize_in_place_reports_the_pods_resize_state(api, outcome, status):
    api.emulator.resize_outcome = outcome
    assert port(api).resize_pod("sleepy-0", {"memory": 3 * GIB}, {"memory": 3 * GIB}) == status
    pod = next(p for p in port(api).pods() if p.name == "sleepy-0")
    assert pod.limits["memory"] == 3 * GIB and pod.resize_status == status
    container = api.get(kc.PODS, NS, "sleepy-0")["spec"]["containers"][0]
    assert container["image"] == "pytorch/torchserve:0.12.0-cpu"  # merged by name, not replaced
    assert container["resources"]["requests"]["cpu"] == "500m"


def test_a_scaled_object_reads_and_patches_as_a_custom_object(api):
    cluster = port(api)
    assert cluster.scaled_object("sleepy")["spec"]["minReplicaCount"] == 1
    cluster.patch_scaled_object("sleepy", {"spec": {"minReplicaCount": 2}})
    stored = api.get(kc.SCALED_OBJECTS, NS, "sleepy")
    assert stored["spec"]["minReplicaCount"] == 2 and stored["spec"]["triggers"][0]["metadata"]["threshold"] == "5"


@pytest.mark.parametrize("status, retryable, conflict", [(409, True, True), (429, True, False), (500, True, False),
                                                         (403, False, False)])
def test_an_injected_fault_is_a_typed_failure_and_changes_nothing(api, status, retryable, conflict):
    api.inject("PATCH", r"/scale$", status, retry_after_s=7 if status == 429 else None)
    with pytest.raises(ApiFailure) as failure:
        port(api).scale_deployment(4)
    assert (failure.value.status, failure.value.retryable, failure.value.conflict) == (status, retryable, conflict)
    assert failure.value.retry_after_s == (7.0 if status == 429 else None)
    assert api.get(kc.APPS, NS, "sleepy")["spec"]["replicas"] == 2
    port(api).scale_deployment(4)  # the fault was for one call only
    assert api.get(kc.APPS, NS, "sleepy")["spec"]["replicas"] == 4


def test_a_hung_call_times_out_as_a_retryable_failure(api):
    api.emulator.hang_s = 3.0
    api.inject("GET", r"/deployments/sleepy$", "hang")
    started = time.monotonic()
    with pytest.raises(ApiFailure, match="no answer") as failure:
        port(api, timeout_s=0.5).deployment_replicas()
    assert failure.value.retryable and time.monotonic() - started < 2.5


def test_an_unknown_deployment_is_a_client_error(api):
    with pytest.raises(ApiFailure) as failure:
        KubernetesCluster(api.client(), namespace=NS, deployment="missing").deployment_replicas()
    assert failure.value.status == 404 and not failure.value.retryable
