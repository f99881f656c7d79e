"""deploy/rbac.yaml grants every call the Kubernetes port makes, and nothing broad: checked by making every call
against KMock and matching each request the server saw to a rule."""
from __future__ import annotations

import re
from pathlib import Path

import yaml

from tests.support import kube_cluster as kc
from twin.live.kubernetes_port import KubernetesCluster

RBAC = Path(__file__).resolve().parents[2] / "deploy" / "rbac.yaml"
NS = "serving"
MANIFESTS = yaml.safe_load_all((RBAC.parent / "placeholders.yaml").read_text())
PLACEHOLDERS = next(doc["metadata"]["name"] for doc in MANIFESTS if doc and doc["kind"] == "Deployment")
PATH = re.compile(r"^/(?:api/v1|apis/(?P<group>[^/]+)/[^/]+)(?:/namespaces/(?P<ns>[^/]+))?/(?P<resource>[^/]+)"
                  r"(?:/(?P<name>[^/]+))?(?:/(?P<sub>[^/]+))?$")


def documents() -> list[dict]:
    return [doc for doc in yaml.safe_load_all(RBAC.read_text()) if doc]


def rules(kind: str) -> list[dict]:
    return [rule for doc in documents() if doc["kind"] == kind for rule in doc["rules"]]


def every_call() -> list[tuple[str, str]]:
    with kc.KubeApi() as api:
        api.put(kc.APPS, NS, "roberta", kc.deployment("roberta", NS, replicas=1))
        api.put(kc.APPS, NS, PLACEHOLDERS, kc.deployment(PLACEHOLDERS, NS, replicas=1))
        api.put(kc.PODS, NS, "roberta-0", kc.pod("roberta-0", NS, app="roberta", node="n1"))
        api.put(kc.NODES, None, "n1", kc.node("n1", pool="a"))
        api.put(kc.HPAS, NS, "roberta", {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
                                         "metadata": {"name": "roberta", "namespace": NS}, "spec": {}})
        api.put(kc.SCALED_OBJECTS, NS, "roberta", {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                                                   "metadata": {"name": "roberta", "namespace": NS}, "spec": {}})
        cluster = KubernetesCluster(api.client(), namespace=NS, deployment="roberta", placeholders=PLACEHOLDERS)
        cluster.deployment_replicas(), cluster.pods(), cluster.pending_pods(), cluster.pod_ip("roberta-0")
        cluster.nodes(), cluster.hpas(), cluster.scaled_object("roberta"), cluster.scaled_objects(), cluster.vpas()
        cluster.scale_deployment(2)
        cluster.placeholder_replicas(), cluster.placeholder_pods(), cluster.scale_placeholders(3)
        cluster.resize_pod("roberta-0", {"memory": 2**31}, {"memory": 2**31})
        cluster.patch_scaled_object("roberta", {"spec": {"minReplicaCount": 1}})
        return api.requests()


def grants(rule: dict, group: str, resource: str, verb: str, name: str | None) -> bool:
    return (group in rule["apiGroups"] and resource in rule["resources"] and verb in rule["verbs"]
            and (name in rule.get("resourceNames", [name]) or verb == "list"))


def test_every_call_the_port_makes_is_granted():
    calls = every_call()
    assert len(calls) >= 10
    for method, path in calls:
        match = PATH.match(path)
        assert match, path
        group, namespaced = match["group"] or "", match["ns"] is not None
        resource = match["resource"] + (f"/{match['sub']}" if match["sub"] else "")
        verb = {"GET": "get" if match["name"] else "list", "PATCH": "patch"}[method]
        kind = "Role" if namespaced else "ClusterRole"
        assert any(grants(rule, group, resource, verb, match["name"]) for rule in rules(kind)), (method, path)


def test_nothing_broad_and_no_secrets():
    for rule in rules("Role") + rules("ClusterRole"):
        assert "*" not in rule["apiGroups"] + rule["resources"] + rule["verbs"]
        assert not {"secrets", "configmaps"} & set(rule["resources"])
        assert not {"create", "delete", "deletecollection", "update", "escalate", "bind", "impersonate"} & set(
            rule["verbs"])
    writes = [rule for rule in rules("Role") if "patch" in rule["verbs"]]
    assert {r for rule in writes for r in rule["resources"]} == {"deployments/scale", "pods/resize", "scaledobjects"}
    assert all(rule.get("resourceNames") for rule in writes if rule["resources"] != ["pods/resize"])
    scales = [rule["resourceNames"] for rule in writes if rule["resources"] == ["deployments/scale"]]
    assert sorted(scales) == [["roberta"], [PLACEHOLDERS]]  # each Deployment's scale alone, the placeholders' too
    cluster_wide = rules("ClusterRole")
    assert all(rule["verbs"] == ["list"] for rule in cluster_wide)
