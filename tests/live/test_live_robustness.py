"""What a long live run meets: TorchServe keys that expire (a real TorchServe with a 3-second token expiry), and on
the API server (KMock through the official client) a write whose answer is lost, a resize the kubelet defers or
cannot fit after the write, and RBAC that forbids listing pods cluster-wide."""
from __future__ import annotations

import datetime
import json
import time

import pytest
import yaml

from tests.support import kube_cluster as kc, live_stack
from tests.support.torchserve import SLEEPY, RealTorchServe
from twin.errors import InputError
from twin.live import torchserve_api as ts
from twin.live.connect import connect
from twin.live.gate import Gate, Retry
from twin.live.guardrails import Rails, Review
from twin.live.journal import Journal
from twin.live.kubernetes_port import KubernetesCluster
from twin.live.live_ports import GuardedCluster
from twin.live.settings import LiveSettings, load_settings

NS = "serving"
GIB = 2**30


@pytest.fixture
def api():
    with kc.KubeApi() as server:
        server.put(kc.APPS, NS, "sleepy", kc.deployment("sleepy", NS, replicas=2))
        server.put(kc.PODS, NS, "sleepy-0", kc.pod("sleepy-0", NS, app="sleepy", node="n1"))
        server.put(kc.PODS, "elsewhere", "other-0", kc.pod("other-0", "elsewhere", app="other", node="n1"))
        server.put(kc.NODES, None, "n1", kc.node("n1", pool="a100"))
        yield server


def guarded(api: kc.KubeApi, tmp_path, *, timeout_s: float = 2.0) -> GuardedCluster:
    port = KubernetesCluster(api.client(), namespace=NS, deployment="sleepy", timeout_s=timeout_s)
    rails = Rails(namespaces=[NS], objects=["deployment/sleepy"], min_interval_s=0, max_memory_bytes=8 * GIB)
    gate = Gate("enact", Review(rails), Journal(tmp_path / "journal.jsonl"), retry=Retry(first_backoff_s=0.1))
    return GuardedCluster(port, gate, NS, "sleepy")


def journal(tmp_path) -> list[dict]:
    return [json.loads(line) for line in (tmp_path / "journal.jsonl").read_text().splitlines()]


def test_a_write_applied_whose_answer_is_lost_is_sent_once_and_the_next_period_sends_nothing(api, tmp_path):
    api.emulator.hang_s = 1.5
    api.inject("PATCH", r"/deployments/sleepy/scale$", "lost")
    cluster = guarded(api, tmp_path, timeout_s=0.5)
    cluster.scale_deployment(3)
    cluster.scale_deployment(3)  # the next period asks again
    assert api.get(kc.APPS, NS, "sleepy")["spec"]["replicas"] == 3
    assert [path for _, path in api.writes()] == [f"/apis/apps/v1/namespaces/{NS}/deployments/sleepy/scale"]
    lines = journal(tmp_path)
    assert [line["event"] for line in lines] == ["intent", "applied", "unchanged"]
    assert "answer lost" in lines[1]["detail"] and "no answer" in lines[1]["detail"]


def test_a_write_with_no_answer_that_did_not_apply_is_sent_again(api, tmp_path):
    """The other half: a hung call changed nothing, so the retry is what applies it."""
    api.emulator.hang_s = 1.5
    api.inject("PATCH", r"/deployments/sleepy/scale$", "hang")
    guarded(api, tmp_path, timeout_s=0.5).scale_deployment(3)
    assert api.get(kc.APPS, NS, "sleepy")["spec"]["replicas"] == 3
    assert len(api.writes()) == 2
    assert [line["event"] for line in journal(tmp_path)] == ["intent", "applied"]


def _pending(api: kc.KubeApi, reason: str) -> None:
    """The kubelet's verdict on the resize after the write: a PodResizePending condition."""
    pod = api.get(kc.PODS, NS, "sleepy-0")
    conditions = [c for c in pod["status"]["conditions"] if c["type"] != "PodResizePending"]
    api.patch(kc.PODS, NS, "sleepy-0", {"status": {"conditions": conditions + [
        {"type": "PodResizePending", "status": "True", "reason": reason, "message": "Node didn't have enough"}]}})


def test_a_resize_deferred_then_infeasible_after_the_write_is_journaled_once_each_and_never_resent(api, tmp_path):
    cluster = guarded(api, tmp_path)
    cluster.resize_pod("sleepy-0", {"memory": 3 * GIB}, {"memory": 3 * GIB})  # accepted: the spec asks for 3 GiB
    [before] = cluster.pods()
    assert before.limits["memory"] == 3 * GIB and before.resize_status == ""
    api.patch(kc.PODS, NS, "sleepy-0", {"spec": {"containers": [kc.pod("x", NS, app="x", node="n1", memory="4Gi")[
        "spec"]["containers"][0]]}})  # a second writer asks for 4 GiB, which the kubelet defers
    _pending(api, "Deferred")
    cluster.resize_pod("sleepy-0", {"memory": 4 * GIB}, {"memory": 4 * GIB})  # the policy's next period
    [deferred] = cluster.pods()
    assert deferred.resize_status == "Deferred" and deferred.limits["memory"] == 3 * GIB  # no room for workers
    cluster.pods()  # read again: nothing new to say
    _pending(api, "Infeasible")
    cluster.pods()
    events = [(line["event"], line.get("value")) for line in journal(tmp_path)]
    assert events == [("intent", {"memory_bytes": 3 * GIB}), ("applied", None),
                      ("unchanged", {"memory_bytes": 4 * GIB}),  # the spec holds it: not sent blindly again
                      ("deferred", {"memory_bytes": 4 * GIB}), ("infeasible", {"memory_bytes": 4 * GIB})]
    assert "runs 3221225472.0 bytes, not the 4294967296.0 asked" in journal(tmp_path)[3]["detail"]
    assert len([path for _, path in api.writes() if path.endswith("/resize")]) == 1
    statuses = [outcome.status for _, outcome in cluster.gate.outcomes]
    assert statuses == ["applied", "unchanged", "deferred", "infeasible"]  # the report counts them


def test_nodes_are_read_by_node_not_by_listing_every_pod(api):
    port = KubernetesCluster(api.client(), namespace=NS, deployment="sleepy")
    [node] = port.nodes()
    assert set(node.pods) == {"sleepy-0", "other-0"} and node.requested["memory"] == 4 * GIB
    listed = [r.params.get("fieldSelector", "") for r in list(api.emulator) if r.url.path == "/api/v1/pods"]
    assert listed and all(selector.startswith("spec.nodeName=n1,") for selector in listed)


def test_where_rbac_forbids_a_cluster_wide_pod_list_the_namespace_s_pods_are_read(api):
    api.inject("GET", r"^/api/v1/pods$", 403, times=99)
    port = KubernetesCluster(api.client(), namespace=NS, deployment="sleepy")
    for _ in range(2):
        [node] = port.nodes()
        assert node.pods == ("sleepy-0",) and node.requested["memory"] == 2 * GIB  # this namespace's share
    assert port.node_pods_namespaced
    assert len([1 for _, path in api.requests() if path == "/api/v1/pods"]) == 1  # asked once, not every period


def _expiry(key_file) -> float:
    text = json.loads(key_file.read_text())["management"]["expiration time"]
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()  # digits past µs are dropped


def _wait_past(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()) + 0.5)


def _token_settings(folder, management: str, key_file) -> LiveSettings:
    """Live settings naming TorchServe's own key file (the cluster is never called here)."""
    path = folder / "live.yaml"
    path.write_text(yaml.safe_dump({
        "scenario": "unused.yaml", "cluster": {"namespace": NS, "deployment": "sleepy", "kubeconfig": "kubeconfig"},
        "torchserve": {"model": SLEEPY, "management": management, "token_file": str(key_file)},
        "prometheus": {"url": "http://127.0.0.1:9"},
        "guardrails": {"namespaces": [NS], "objects": ["deployment/sleepy"]}}))
    (folder / "kubeconfig").write_text(live_stack.kubeconfig("http://127.0.0.1:9", namespace=NS))
    return load_settings(path)


def test_an_expired_torchserve_key_is_renewed_and_the_live_calls_go_on(tmp_path):
    """token_expiration_min 0.05: keys last 3 s, as an hour-long key does at minute 61 of a long run."""
    with RealTorchServe(workdir=tmp_path / "ts", models=(SLEEPY,), token_auth=True,
                        token_expiration_min=0.05) as server:
        key_file = tmp_path / "ts" / "key_file.json"
        fleet = connect(_token_settings(tmp_path, server.urls.management, key_file), mode="shadow").fleet
        keys = fleet.endpoint_for("sleepy-0").keys
        first = keys.key()
        _wait_past(_expiry(key_file))
        with pytest.raises(InputError, match="token"):  # the key has expired: TorchServe refuses it
            ts.describe(ts.Endpoint(server.urls.management, first), SLEEPY)
        assert fleet.workers("sleepy-0") == {"min_worker": 1, "max_worker": 1}  # renewed, then answered
        renewed = keys.key()
        assert renewed != first and renewed == json.loads(key_file.read_text())["management"]["key"]
        server.renew_keys()  # another client renews first: the file's key is taken, no second renewal
        fleet.request_workers("sleepy-0", 1, 1)
        assert keys.key() == server.keys.management == json.loads(key_file.read_text())["management"]["key"]


def test_a_key_file_that_is_not_the_server_s_is_refused_with_one_line(tmp_path):
    with RealTorchServe(workdir=tmp_path / "ts", models=(SLEEPY,), token_auth=True) as server:
        other = tmp_path / "other.json"
        other.write_text(json.dumps({api: {"key": "nope"} for api in ("inference", "management", "API")}))
        with pytest.raises(InputError, match="expected a valid bearer key"):
            ts.describe(ts.Endpoint(server.urls.management, keys=ts.KeyFile(other)), SLEEPY)
        assert server.ready_workers(SLEEPY) == 1
