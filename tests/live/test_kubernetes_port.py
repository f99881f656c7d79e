"""The Kubernetes port through the official client against KMock: reads, subresource writes, and injected faults."""
from __future__ import annotations

import email.utils
import json
import time
from pathlib import Path

import pytest

from tests.support import kube_cluster as kc
from twin.errors import InputError
from twin.live.failures import ApiFailure
from twin.control.hpa_step import HpaStep
from twin.live.kubernetes_port import KubernetesCluster, api_client
from twin.policies.hpa.requests import pod_request

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


def test_a_container_oom_killed_before_its_restart_is_read_for_the_vpa(api):
    raw = kc.pod("sleepy-0", NS, app="sleepy", node="n1")
    raw["status"]["containerStatuses"][0] |= {"restartCount": 1, "lastState": {"terminated": {
        "reason": "OOMKilled", "exitCode": 137, "startedAt": kc.now_rfc3339(-300), "finishedAt": kc.now_rfc3339(-60)}}}
    api.put(kc.PODS, NS, "sleepy-0", raw)
    pods = {p.name: p for p in port(api).pods()}
    started, finished = pods["sleepy-0"].last_oom
    assert abs(finished - started - 240) < 2 and abs(finished - (time.time() - 60)) < 5
    assert pods["sleepy-1"].last_oom is None  # never OOM-killed (and not even running)


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
    running = 2 * GIB if status else 3 * GIB  # a pending resize is asked for (the spec), not yet run
    assert pod.limits["memory"] == running and pod.resize_status == status
    assert port(api).desired_memory_limit("sleepy-0") == 3 * GIB
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


def test_pool_label_of_any_cloud_and_device_requests(api):
    gpu_pod = kc.pod("sleepy-2", NS, app="sleepy", node="g1")
    resources = gpu_pod["spec"]["containers"][0]["resources"]
    resources["requests"] |= {"cpu": "2", "nvidia.com/gpu": "1"}
    resources["limits"] |= {"nvidia.com/gpu": "1"}
    gpu_pod["status"]["containerStatuses"][0]["resources"] = resources  # what the kubelet runs: the same
    api.put(kc.PODS, NS, "sleepy-2", gpu_pod)
    gke = kc.node("g1", pool="", gpus=1)
    gke["metadata"]["labels"] = {"cloud.google.com/gke-nodepool": "a100-pool"}
    api.put(kc.NODES, None, "g1", gke)
    cluster = KubernetesCluster(api.client(), namespace=NS, deployment="sleepy",
                                node_pool_label="cloud.google.com/gke-nodepool")
    nodes = {n.name: n for n in cluster.nodes()}
    assert (nodes["g1"].pool, nodes["n1"].pool) == ("a100-pool", "")  # n1 carries only the AKS label
    assert nodes["g1"].requested == {"cpu": 2.0, "memory": 2 * GIB, "nvidia.com/gpu": 1.0}
    pod = next(p for p in cluster.pods() if p.name == "sleepy-2")
    assert pod.requests["nvidia.com/gpu"] == 1.0 and pod.limits == {"memory": 2 * GIB, "nvidia.com/gpu": 1.0}


def test_hpas_of_the_namespace_read_as_plain_dicts(api):
    for namespace in (NS, "elsewhere"):
        api.put(kc.HPAS, namespace, "sleepy", {
            "apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": "sleepy", "namespace": namespace},
            "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sleepy"},
                     "minReplicas": 1, "maxReplicas": 8, "metrics": [{"type": "Resource", "resource": {
                         "name": "cpu", "target": {"type": "Utilization", "averageUtilization": 70}}}]}})
    [hpa] = port(api).hpas()
    assert hpa["metadata"]["namespace"] == NS and hpa["spec"]["maxReplicas"] == 8
    assert hpa["spec"]["metrics"][0]["resource"]["target"]["averageUtilization"] == 70


def test_the_named_container_is_read_and_resized_not_the_first(api):
    sidecar = {"name": "proxy", "image": "envoy", "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}}}
    raw = kc.pod("sleepy-0", NS, app="sleepy", node="n1")
    raw["spec"]["containers"].insert(0, sidecar)
    api.put(kc.PODS, NS, "sleepy-0", raw)
    cluster = KubernetesCluster(api.client(), namespace=NS, deployment="sleepy", container="torchserve")
    assert next(p for p in cluster.pods() if p.name == "sleepy-0").requests == {"cpu": 0.5, "memory": 2 * GIB}
    cluster.resize_pod("sleepy-0", {"memory": 4 * GIB}, {"memory": 4 * GIB})
    containers = {c["name"]: c for c in api.get(kc.PODS, NS, "sleepy-0")["spec"]["containers"]}
    assert containers["torchserve"]["resources"]["limits"]["memory"] == str(4 * GIB)
    assert containers["proxy"] == sidecar


def test_a_failed_resize_or_scaled_object_patch_changes_nothing(api):
    api.inject("PATCH", r"/pods/sleepy-0/resize$|/scaledobjects/sleepy$", 409, times=2)
    pod, scaled = api.get(kc.PODS, NS, "sleepy-0"), api.get(kc.SCALED_OBJECTS, NS, "sleepy")
    for write in (lambda c: c.resize_pod("sleepy-0", {"memory": GIB}, {"memory": GIB}),
                  lambda c: c.patch_scaled_object("sleepy", {"spec": {"minReplicaCount": 3}})):
        with pytest.raises(ApiFailure) as failure:
            write(port(api))
        assert failure.value.conflict and failure.value.retryable
    assert api.get(kc.PODS, NS, "sleepy-0") == pod and api.get(kc.SCALED_OBJECTS, NS, "sleepy") == scaled


def test_retry_after_as_an_http_date_is_seconds_from_now(api):
    api.inject("PATCH", r"/scale$", 503, retry_after_s=email.utils.formatdate(time.time() + 30, usegmt=True))
    with pytest.raises(ApiFailure) as failure:
        port(api).scale_deployment(4)
    assert failure.value.retryable and 25 < failure.value.retry_after_s <= 30


def write_kubeconfig(folder: Path, server: str) -> Path:
    path = folder / "kubeconfig"
    path.write_text(json.dumps({  # JSON is YAML
        "apiVersion": "v1", "kind": "Config", "current-context": "kmock",
        "clusters": [{"name": "kmock", "cluster": {"server": server}}],
        "users": [{"name": "tester", "user": {"token": "t"}}],
        "contexts": [{"name": "kmock", "context": {"cluster": "kmock", "user": "tester"}}]}))
    return path


def test_a_client_from_a_kubeconfig_sends_a_timed_out_read_once(api, tmp_path):
    cluster = KubernetesCluster(api_client(kubeconfig=str(write_kubeconfig(tmp_path, api.url)), context="kmock"),
                                namespace=NS, deployment="sleepy", timeout_s=0.3)
    assert cluster.deployment_replicas() == (2, 2)
    api.emulator.hang_s = 1.0
    api.inject("GET", r"/deployments/sleepy$", "hang", times=5)
    with pytest.raises(ApiFailure) as failure:
        cluster.deployment_replicas()
    assert failure.value.retryable
    reads = [path for method, path in api.requests() if method == "GET" and path.endswith("/deployments/sleepy")]
    assert len(reads) == 2  # the good read and the hung one: urllib3 did not send it again


def test_an_unusable_kubeconfig_or_no_cluster_is_an_input_error(tmp_path, monkeypatch):
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    with pytest.raises(InputError, match="missing.*expected a usable kubeconfig"):
        api_client(kubeconfig=str(tmp_path / "missing"))
    with pytest.raises(InputError, match="context: expected a kubeconfig with context 'nope'"):
        api_client(kubeconfig=str(write_kubeconfig(tmp_path, "http://127.0.0.1:1")), context="nope")
    with pytest.raises(InputError, match="in-cluster service account: expected to run in a pod"):
        api_client()


def test_every_container_is_read_for_the_hpa_and_the_node_sum(api):
    """A sidecar container, a restartable init container and a plain one: the pod view lists them all, the HPA's
    request sums containers and sidecars (not the plain init container), the node counts `PodRequests`."""
    raw = kc.pod("sleepy-0", NS, app="sleepy", node="n1")
    raw["spec"]["containers"].append({"name": "proxy", "resources": {"requests": {"cpu": "100m"}}})
    raw["spec"]["initContainers"] = [
        {"name": "migrate", "resources": {"requests": {"cpu": "4", "memory": "1Gi"}}},
        {"name": "log-agent", "restartPolicy": "Always", "resources": {"requests": {"cpu": "50m"}}}]
    api.put(kc.PODS, NS, "sleepy-0", raw)
    view = next(p for p in port(api).pods() if p.name == "sleepy-0")
    assert [c.name for c in view.containers] == ["torchserve", "proxy"]
    assert [(c.name, c.restartable) for c in view.init_containers] == [("migrate", False), ("log-agent", True)]
    observed = HpaStep._pod(view, {})
    assert pod_request(observed, "cpu") == 650 and pod_request(observed, "cpu", "proxy") == 100
    [node] = port(api).nodes()
    # migrate runs before the log agent starts: max(4 cores, 650m steady) + other-0's 500m
    assert node.requested["cpu"] == pytest.approx(4.0 + 0.5)
