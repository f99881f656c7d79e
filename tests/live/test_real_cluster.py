"""Opt-in: the Kubernetes port against a real cluster (kind, minikube or any), run only when KUBECONFIG is set.

    KUBECONFIG=~/.kube/config SERVETWIN_LIVE_NAMESPACE=serving SERVETWIN_LIVE_DEPLOYMENT=roberta \
        .venv/bin/python -m pytest tests/live/test_real_cluster.py

Reads only, unless SERVETWIN_LIVE_ALLOW_WRITES=1: then it also writes the Deployment's current replica count back
through the scale subresource, through the gate in enact mode (a write that changes nothing on the cluster).
"""
from __future__ import annotations

import os

import pytest

from twin.live.gate import Gate
from twin.live.guardrails import Rails, Review, Write
from twin.live.journal import Journal
from twin.live.kubernetes_port import KubernetesCluster, api_client

pytestmark = pytest.mark.skipif(not os.environ.get("KUBECONFIG"), reason="opt-in: set KUBECONFIG to a real cluster")
NAMESPACE = os.environ.get("SERVETWIN_LIVE_NAMESPACE", "default")
DEPLOYMENT = os.environ.get("SERVETWIN_LIVE_DEPLOYMENT", "torchserve")


@pytest.fixture(scope="module")
def cluster() -> KubernetesCluster:
    client = api_client(kubeconfig=os.environ["KUBECONFIG"])
    return KubernetesCluster(client, namespace=NAMESPACE, deployment=DEPLOYMENT)


def test_reads_the_deployment_its_pods_and_the_nodes(cluster):
    spec, status = cluster.deployment_replicas()
    pods = cluster.pods()
    assert spec >= 0 and status >= 0
    assert sum(not p.deleting for p in pods) >= min(spec, status) - 1  # a rollout may be under way
    assert all(p.node for p in pods if p.phase == "Running")
    nodes = cluster.nodes()
    assert nodes and all(n.allocatable.get("cpu", 0) > 0 for n in nodes)


@pytest.mark.skipif(os.environ.get("SERVETWIN_LIVE_ALLOW_WRITES") != "1", reason="writes need "
                    "SERVETWIN_LIVE_ALLOW_WRITES=1")
def test_a_no_op_scale_goes_through_the_gate(cluster, tmp_path):
    replicas = cluster.deployment_replicas()[0]
    gate = Gate("enact", Review(Rails(namespaces=[NAMESPACE], objects=[f"deployment/{DEPLOYMENT}"],
                                      max_replicas=max(replicas, 1))), Journal(tmp_path / "journal.jsonl"))
    outcome = gate.apply(Write("scale_deployment", NAMESPACE, f"deployment/{DEPLOYMENT}", {"replicas": replicas}),
                         current=lambda: {"replicas": cluster.deployment_replicas()[0]},
                         send=lambda value: cluster.scale_deployment(int(value["replicas"])))
    assert outcome.status == "unchanged"  # the target is already held: nothing is sent
    cluster.scale_deployment(replicas)  # and the subresource write itself is allowed and harmless
    assert cluster.deployment_replicas()[0] == replicas
