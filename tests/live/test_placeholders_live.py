"""Nodes ahead of demand, live: the anticipatory policy's placeholder count is a write through the gate to the
placeholder Deployment of deploy/placeholders.yaml (its scale subresource, on KMock through the official client),
journaled and held to the guardrails; shadow mode sends nothing and journals nothing."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support import kube_cluster as kc
from twin.config.loader import load_scenario
from twin.control.nodes_step import AnticipatoryStep
from twin.core.control_plane import policy_steps
from twin.live.gate import Gate
from twin.live.guardrails import Rails, Review
from twin.live.journal import Journal
from twin.live.kubernetes_port import KubernetesCluster
from twin.live.live_ports import GuardedCluster
from twin.live.replay import Replay
from twin.policies.anticipatory import Anticipation
from twin.ports import Decision, Ports

NS = "serving"
ROOT = Path(__file__).resolve().parents[2]
MANIFEST = ROOT / "deploy" / "placeholders.yaml"
PLACEHOLDERS = next(d for d in yaml.safe_load_all(MANIFEST.read_text()) if d and d["kind"] == "Deployment")
NAME = PLACEHOLDERS["metadata"]["name"]
SCALE = f"/apis/apps/v1/namespaces/{NS}/deployments/{NAME}/scale"
RAILS = dict(namespaces=[NS], objects=["deployment/roberta", f"deployment/{NAME}"], max_placeholders=6,
             max_replica_step=2, min_interval_s=0)


def placeholder_pod(index: int, *, node: str | None) -> dict:
    template = PLACEHOLDERS["spec"]["template"]
    raw = kc.pod(f"{NAME}-{index}", NS, app=NAME, node=node)
    raw["spec"] = {**template["spec"], "priority": -10, **({"nodeName": node} if node else {})}
    if node is None:
        raw["status"]["nominatedNodeName"] = ""
    return raw


@pytest.fixture
def api():
    with kc.KubeApi() as server:
        server.put(kc.APPS, NS, "roberta", kc.deployment("roberta", NS, replicas=3))
        server.put(kc.APPS, NS, NAME, {**PLACEHOLDERS, "status": {"replicas": 2}})
        server.put(kc.PODS, NS, f"{NAME}-0", placeholder_pod(0, node="n1"))
        server.put(kc.PODS, NS, f"{NAME}-1", placeholder_pod(1, node=None))
        yield server


def guarded(api, tmp_path, mode: str, **rails) -> tuple[Gate, Ports]:
    kube = KubernetesCluster(api.client(), namespace=NS, deployment="roberta", placeholders=NAME)
    gate = Gate(mode, Review(Rails(**{**RAILS, **rails})), Journal(None if mode == "shadow" else tmp_path / "j"))
    return gate, Ports(cluster=GuardedCluster(kube, gate, NS, "roberta"), torchserve=None, metrics=None)


def enact(api, tmp_path, mode: str, **rails) -> tuple[Gate, list]:
    """One period of the anticipatory step over the guarded live port."""
    gate, ports = guarded(api, tmp_path, mode, **rails)
    step = AnticipatoryStep(Anticipation("a100", lead_time_s=270.0, min_headroom_pods=3), target=NAME)
    return gate, step.sync(1000.0, ports)


def test_the_scenario_s_own_step_writes_the_deployed_placeholders(api, tmp_path):
    """What `servetwin live` runs: the policy steps of the anticipatory question, its placeholders those of deploy/."""
    scenario = load_scenario(ROOT / "scenarios" / "questions" / "nodes-anticipatory.yaml")
    steps = {s.name: s for s in policy_steps(scenario.autoscaling, scrape_interval_s=15.0,
                                             node_pools=scenario.node_pools)}
    ahead = steps["anticipatory"]
    assert ahead.owner.target == NAME and ahead.owner.spec.lead_time_s == 180.0 + 90.0
    api.patch(kc.APPS, NS, NAME, {"spec": {"replicas": 0}})  # scaled to nothing by hand
    gate, ports = guarded(api, tmp_path, "enact")
    assert [d.value for d in ahead.step(1000.0, ports)] == [{"replicas": 2}]  # the scenario's 2 headroom pods
    assert [o.status for _, o in gate.outcomes] == ["applied"] and api.writes() == [("PATCH", SCALE)]
    assert api.get(kc.APPS, NS, NAME)["spec"]["replicas"] == 2
    assert ahead.step(1010.0, ports) == [] and api.writes() == [("PATCH", SCALE)]  # held: nothing more is sent


def test_the_placeholder_pods_read_with_their_priority_and_whole_requests(api):
    kube = KubernetesCluster(api.client(), namespace=NS, deployment="roberta", container="torchserve",
                             placeholders=NAME)
    pods = {p.name: p for p in kube.placeholder_pods()}
    assert set(pods) == {f"{NAME}-0", f"{NAME}-1"}
    assert all(p.priority == -10 for p in pods.values())
    assert dict(pods[f"{NAME}-0"].requests) == {"cpu": 4.0, "memory": 4 * 2**30, "nvidia.com/gpu": 1.0}
    assert pods[f"{NAME}-1"].node is None and kube.placeholder_replicas() == 2
    assert {p.name for p in kube.pods()} == set()  # the serving Deployment's selector does not match them


def test_enact_scales_the_placeholder_deployment_through_the_gate_and_journals_it(api, tmp_path):
    gate, decisions = enact(api, tmp_path, "enact")
    assert [(d.action, d.target, d.value) for d in decisions] == [("scale_placeholders", NAME, {"replicas": 3})]
    assert api.get(kc.APPS, NS, NAME)["spec"]["replicas"] == 3  # 3 headroom pods, no trend yet
    assert api.get(kc.APPS, NS, "roberta")["spec"]["replicas"] == 3  # the serving Deployment untouched
    assert api.writes() == [("PATCH", SCALE)]
    entries = [json.loads(line) for line in (tmp_path / "j").read_text().splitlines()]
    assert [e["event"] for e in entries] == ["intent", "applied"]
    assert entries[0]["target"] == f"deployment/{NAME}" and entries[0]["value"] == {"placeholder_replicas": 3}
    assert [o.status for _, o in gate.outcomes] == ["applied"]


def test_the_guardrails_bound_the_placeholder_count(api, tmp_path):
    enact(api, tmp_path, "enact", max_placeholders=2)
    assert api.get(kc.APPS, NS, NAME)["spec"]["replicas"] == 2  # already at the bound: nothing sent
    assert api.writes() == []


def test_placeholders_outside_the_allowlist_are_refused(api, tmp_path):
    gate, _ = enact(api, tmp_path, "enact", objects=["deployment/roberta"])
    assert [o.status for _, o in gate.outcomes] == ["refused"]
    assert api.writes() == [] and api.get(kc.APPS, NS, NAME)["spec"]["replicas"] == 2


def test_shadow_mode_writes_nothing_and_says_what_it_would_send(api, tmp_path):
    gate, decisions = enact(api, tmp_path, "shadow")
    assert decisions and api.writes() == []
    assert api.get(kc.APPS, NS, NAME)["spec"]["replicas"] == 2
    assert [(o.status, o.detail) for _, o in gate.outcomes] == [("shadow", "would send")]
    assert list(tmp_path.iterdir()) == []  # no journal either


def test_a_twin_decision_to_scale_the_placeholders_replays_through_the_gate(api, tmp_path):
    gate, ports = guarded(api, tmp_path, "enact")
    decision = Decision(40.0, "anticipatory", "scale_placeholders", NAME, {"replicas": 4}, "trend")
    (response,) = Replay(ports.cluster, None, gate, wait_s=0.0).run([decision])
    assert (response.status, api.get(kc.APPS, NS, NAME)["spec"]["replicas"]) == ("applied", 4)  # step 2: 2 -> 4
    assert api.writes() == [("PATCH", SCALE)]
