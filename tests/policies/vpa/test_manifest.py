"""autoscaling.k8s.io/v1 VerticalPodAutoscaler parsing: field names and defaults of upstream's v1 types
(kubernetes/autoscaler vertical-pod-autoscaler v1.7.1 `pkg/apis/autoscaling.k8s.io/v1/types.go`, `pkg/utils/vpa/
api.go`), and a `Recommender` built straight from a manifest, as shadow mode builds one from the cluster's VPAs."""
from __future__ import annotations

import copy

import pytest
import yaml

from twin.errors import InputError
from twin.policies.vpa.manifest import ANY_CONTAINER, REQUESTS_ONLY, vpa_from_manifest
from twin.policies.vpa.recommender import Recommender

FULL = yaml.safe_load("""
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: roberta}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: roberta}
  updatePolicy: {updateMode: InPlaceOrRecreate, minReplicas: 1}
  resourcePolicy:
    containerPolicies:
      - {containerName: "*", mode: "Off"}
      - containerName: torchserve
        controlledResources: [memory]
        controlledValues: RequestsOnly
        minAllowed: {memory: 1Gi}
        maxAllowed: {cpu: "8", memory: 40Gi}
""")


def test_full_manifest():
    spec = vpa_from_manifest(FULL, "vpa.yaml")
    assert (spec.name, spec.target_kind, spec.target_name) == ("roberta", "Deployment", "roberta")
    assert (spec.mode, spec.min_replicas) == ("InPlaceOrRecreate", 1)
    own = spec.policy("torchserve")
    assert own.controlled_resources == ("memory",) and own.controlled_values == REQUESTS_ONLY
    assert own.min_allowed == {"memory": 2**30} and own.max_allowed == {"cpu": 8.0, "memory": 40 * 2**30}
    assert spec.policy("sidecar").container == ANY_CONTAINER and spec.policy("sidecar").mode == "Off"


def test_defaults():
    bare = {"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
            "spec": {"targetRef": {"kind": "Deployment", "name": "roberta"}}}
    spec = vpa_from_manifest(bare, "vpa.yaml")
    assert spec.mode == "Recreate" and spec.min_replicas is None  # GetUpdateMode: none given is Recreate
    policy = spec.policy("torchserve")
    assert policy.controlled_resources == ("cpu", "memory") and policy.controlled_values == "RequestsAndLimits"
    auto = copy.deepcopy(bare)
    auto["spec"]["updatePolicy"] = {"updateMode": "Auto"}
    assert vpa_from_manifest(auto, "vpa.yaml").mode == "Recreate"  # deprecated Auto acts as Recreate


@pytest.mark.parametrize("path, value, field", [
    (("apiVersion",), "autoscaling.k8s.io/v1beta2", "apiVersion"),
    (("spec", "updatePolicy", "updateMode"), "Sometimes", "spec.updatePolicy.updateMode"),
    (("spec", "updatePolicy", "minReplicas"), 0, "spec.updatePolicy.minReplicas"),
    (("spec", "targetRef"), None, "spec.targetRef"),
    (("spec", "resourcePolicy", "containerPolicies"), {"containerName": "x"}, "spec.resourcePolicy.containerPolicies"),
])
def test_bad_fields_are_named(path, value, field):
    manifest = copy.deepcopy(FULL)
    parent = manifest
    for key in path[:-1]:
        parent = parent[key]
    parent[path[-1]] = value
    with pytest.raises(InputError) as caught:
        vpa_from_manifest(manifest, "vpa.yaml")
    assert caught.value.source == "vpa.yaml" and caught.value.field == field


@pytest.mark.parametrize("key, value", [("minAllowed", {"memory": "lots"}), ("controlledValues", "Limits"),
                                        ("controlledResources", ["gpu"]), ("mode", "Sometimes")])
def test_bad_container_policy_fields_are_named(key, value):
    manifest = copy.deepcopy(FULL)
    manifest["spec"]["resourcePolicy"]["containerPolicies"][1][key] = value
    with pytest.raises(InputError) as caught:
        vpa_from_manifest(manifest, "vpa.yaml")
    assert caught.value.field.startswith(f"spec.resourcePolicy.containerPolicies.1.{key}")


def test_a_recommender_from_a_manifest_caps_to_the_policy():
    recommender = Recommender.from_manifest(FULL, "vpa.yaml")
    assert recommender.recommendation() is None  # no samples yet
    for minute in range(10):
        recommender.observe("roberta-0", minute * 60.0, cpu_cores=2.0, memory_bytes=500e6)
    bounds = recommender.recommendation()
    assert set(bounds.target) == {"memory"}  # controlledResources
    assert bounds.target["memory"] == bounds.lower["memory"] == 2**30  # minAllowed over 500 MB x 1.15
    assert bounds.upper["memory"] == 40 * 2**30  # 9 minutes of history: x (1 + 160), capped


def test_a_container_whose_policy_is_off_gets_no_recommendation():
    recommender = Recommender.from_manifest(FULL, "vpa.yaml", container="sidecar")
    recommender.observe("roberta-0", 0.0, cpu_cores=1.0, memory_bytes=1e9)
    assert recommender.recommendation() is None


def test_pods_of_one_container_name_share_one_aggregate():
    """`TestAggregateStateByContainerName` (model/aggregate_container_state_test.go), container app-A: two pods'
    samples (1 and 3 cores, 2e9 and 4e9 bytes) land in one aggregate, two CPU samples, one peak per pod."""
    recommender = Recommender.from_manifest(FULL, "vpa.yaml")
    recommender.observe("pod-1", 0.0, cpu_cores=1.0, memory_bytes=2e9)
    recommender.observe("pod-2", 0.0, cpu_cores=3.0, memory_bytes=4e9)
    aggregate = recommender.aggregate
    assert aggregate.total_samples == 2
    memory = aggregate.memory_peaks.histogram
    weights = {memory.buckets.find(v): memory.weights[memory.buckets.find(v)] for v in (2e9, 4e9)}
    assert len(weights) == 2 and all(w == pytest.approx(memory.total / 2) for w in weights.values())
    recommender.forget({"pod-2"})
    assert set(recommender.containers) == {"pod-2"} and aggregate.total_samples == 2  # what pod-1 added stays
