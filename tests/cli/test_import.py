"""`servetwin import` from real shapes of input: a `kubectl get deploy,hpa,scaledobject,nodes -o yaml` List (GKE,
GPU Feature Discovery labels, a KEDA ScaledObject and the HPA KEDA generated), and a `helm template` stream with
`kubectl get nodes -o yaml` of an AKS cluster (time-sliced A100, a tainted system pool) and the chart's
config.properties. Each imported scenario is loaded and run; the manifests also serve as `deployment.manifest`."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from twin.cli import main
from twin.config.loader import load_scenario
from twin.errors import InputError

DATA = Path(__file__).parent / "data"


def _import(tmp_path, *argv: str) -> Path:
    out = tmp_path / "imported.yaml"
    assert main(["import", *argv, "--out", str(out)]) == 0
    return out


def test_a_kubectl_list_becomes_a_scenario_that_runs(tmp_path, capsys):
    out = _import(tmp_path, str(DATA / "kubectl-get.yaml"), "--profile", "roberta-base-go_emotions-a100-80gb")
    scenario = load_scenario(out)
    (pool,) = scenario.node_pools  # default-pool fails the Deployment's nodeSelector
    assert (pool.name, pool.count, pool.vcpus, pool.allocatable_cpu) == ("gpu-a100", 2, 12, 11.9)
    assert pool.memory_gib == pytest.approx(174059588 / 2**20, abs=1e-3)  # 174059588Ki
    assert (pool.gpus.model, pool.gpus.count, pool.gpus.memory_gib) == ("NVIDIA A100 SXM4 80GB", 1, 80)
    assert pool.gpus.sharing.mode == "exclusive" and pool.image_cached
    deployment = scenario.deployment
    assert (deployment.name, deployment.pods, deployment.node_pool) == ("roberta", 2, "gpu-a100")
    assert deployment.resources.requests == {"cpu": "4", "memory": "12Gi", "nvidia.com/gpu": "1"}  # not the sidecar's
    assert (deployment.startup.readiness.initial_delay_s, deployment.startup.readiness.period_s) == (20, 5)
    assert deployment.startup.termination_grace_s == 60
    keda = scenario.autoscaling.keda.manifest.object
    assert keda["metadata"] == {"name": "roberta", "namespace": "serving"} and "status" not in keda
    assert scenario.autoscaling.hpa is None  # keda-hpa-roberta is KEDA's own
    assert scenario.model.name == "roberta"  # the name the trigger's query selects
    notes = capsys.readouterr().err.splitlines()
    assert any("default-pool" in n and "nodeSelector" in n for n in notes)
    assert any(n.startswith("servetwin import: node_pools.*.price_per_hour: 0") for n in notes)
    header = out.read_text().split("\nname:")[0]
    assert header.startswith("# Imported by `servetwin import`") and "price_per_hour" in header and "workload" in header
    assert main(["run", str(out), "--duration", "40", "--quiet"]) == 0


def test_a_helm_template_stream_with_nodes_and_config_properties(tmp_path, capsys):
    chart = tmp_path / "chart"
    chart.mkdir()
    for name in ("helm-template.yaml", "aks-nodes.yaml", "config.properties"):
        shutil.copy(DATA / name, chart / name)
    out = _import(tmp_path, str(chart / "helm-template.yaml"), str(chart / "aks-nodes.yaml"),
                  "--config-properties", str(chart / "config.properties"), "--profile", "detr-resnet-50-a100-80gb")
    text = out.read_text()
    assert "config_properties: chart/config.properties" in text  # relative to the scenario, so the folder can move
    scenario = load_scenario(out)
    (pool,) = scenario.node_pools  # the system pool's CriticalAddonsOnly taint is not tolerated
    assert (pool.name, pool.gpus.model, pool.gpus.count) == ("gpunp", "NVIDIA A100 80GB PCIe", 1)
    assert (pool.gpus.sharing.mode, pool.gpus.sharing.replicas) == ("time-slicing", 4)
    assert (scenario.deployment.name, scenario.deployment.pods) == ("detr-torchserve", 2)  # not detr-metrics-proxy
    model = scenario.deployment.torchserve.model
    assert (model.min_workers, model.batch_size, model.max_batch_delay_ms, model.job_queue_size) == (2, 4, 50, 1000)
    assert scenario.workload[0].users == 4  # one per worker: 2 pods x 2 workers
    hpa = scenario.autoscaling.hpa.manifest.object
    assert [m["type"] for m in hpa["spec"]["metrics"]] == ["Resource", "Pods"]
    notes = capsys.readouterr().err
    assert "node pool system (1 node(s)) left out: taint CriticalAddonsOnly=true:NoSchedule" in notes
    assert "autoscaling.hpa.queries.ts_queue_latency_microseconds" in notes
    assert "deployment: detr-torchserve, the one Deployment running a TorchServe image" in notes
    assert main(["run", str(out), "--duration", "40", "--quiet"]) == 0


def test_import_never_overwrites_and_names_what_is_missing(tmp_path, capsys):
    out = _import(tmp_path, str(DATA / "kubectl-get.yaml"), "--profile", "roberta-base-go_emotions-a100-80gb")
    before = out.read_text()
    assert main(["import", str(DATA / "kubectl-get.yaml"), "--profile", "roberta-base-go_emotions-a100-80gb",
                 "--out", str(out)]) == 2
    assert out.read_text() == before and "--force" in capsys.readouterr().err
    assert main(["import", str(DATA / "helm-template.yaml"), "--profile", "detr-resnet-50-a100-80gb",
                 "--out", str(tmp_path / "no-nodes.yaml")]) == 2
    assert "Node objects" in capsys.readouterr().err and not (tmp_path / "no-nodes.yaml").exists()
    assert main(["import", str(DATA / "kubectl-get.yaml"), "--profile", "no-such-profile",
                 "--out", str(tmp_path / "x.yaml")]) == 2
    assert "roberta-base-go_emotions-a100-80gb" in capsys.readouterr().err  # the bundled names are offered


GOOD = """\
duration_s: 30
node_pools: [{name: gpunp, vcpus: 24, memory_gib: 220, gpus: {count: 1, sharing: {mode: time-slicing, replicas: 4}}}]
model: {profile: detr-resnet-50-a100-80gb}
workload: {type: closed, users: 2}
"""


def test_deployment_manifest_picks_the_deployment_from_a_stream_or_a_list(tmp_path):
    shutil.copy(DATA / "helm-template.yaml", tmp_path)
    shutil.copy(DATA / "kubectl-get.yaml", tmp_path)
    (tmp_path / "helm.yaml").write_text(GOOD + "deployment: {manifest: helm-template.yaml, name: detr-torchserve}\n"
                                        "autoscaling: {hpa: {manifest: helm-template.yaml}}\n")
    scenario = load_scenario(tmp_path / "helm.yaml")
    assert (scenario.deployment.pods, scenario.deployment.node_pool) == (2, "gpunp")
    assert scenario.autoscaling.hpa.manifest.object["metadata"]["name"] == "detr-torchserve"
    (tmp_path / "kubectl.yaml").write_text(GOOD.replace("gpunp", "gpu-a100")
                                           + "deployment: {manifest: kubectl-get.yaml}\n")
    assert load_scenario(tmp_path / "kubectl.yaml").deployment.resources.limits["memory"] == "16Gi"


def test_several_deployments_in_a_stream_must_be_named(tmp_path):
    shutil.copy(DATA / "helm-template.yaml", tmp_path)
    (tmp_path / "s.yaml").write_text(GOOD + "deployment: {manifest: helm-template.yaml}\n")
    with pytest.raises(InputError) as raised:
        load_scenario(tmp_path / "s.yaml")
    assert raised.value.source.endswith("helm-template.yaml") and "deployment.name" in raised.value.expected
    assert "'detr-metrics-proxy'" in raised.value.got and "'detr-torchserve'" in raised.value.got


def _node(name: str, labels: dict, capacity: dict, **spec) -> tuple[str, dict]:
    return "nodes.yaml", {"kind": "Node", "metadata": {"name": name, "labels": labels}, "spec": spec,
                          "status": {"capacity": {"cpu": "8", "memory": "64Gi", **capacity}}}


@pytest.mark.parametrize("labels, capacity, gpus", [
    ({"nvidia.com/gpu.count": "1", "nvidia.com/gpu.product": "NVIDIA-A100-SXM4-80GB",
      "nvidia.com/mig.strategy": "mixed"}, {"nvidia.com/mig-3g.40gb": "2"}, {"count": 1, "memory_gib": 80.0,
                                        "sharing": {"mode": "mig", "mig_profiles": ["3g.40gb", "3g.40gb"]}}),
    ({"nvidia.com/gpu.product": "NVIDIA-A100-SXM4-40GB-MIG-1g.5gb", "nvidia.com/mig.strategy": "single",
      "nvidia.com/gpu.memory": "4864"}, {"nvidia.com/gpu": "14"},
     {"count": 2, "memory_gib": 40.0, "sharing": {"mode": "mig", "mig_profiles": ["1g.5gb"] * 7}}),
    ({"nvidia.com/gpu.count": "2", "nvidia.com/gpu.replicas": "3", "nvidia.com/gpu.sharing-strategy": "mps",
      "nvidia.com/gpu.product": "NVIDIA-L4-SHARED", "nvidia.com/gpu.memory": "23034"}, {"nvidia.com/gpu": "6"},
     {"count": 2, "memory_gib": 23034 / 1024, "sharing": {"mode": "mps", "replicas": 3}}),
])
def test_gpus_as_the_device_plugin_advertises_them(labels, capacity, gpus):
    from twin.importer import nodes

    (pool,) = nodes.node_pools([_node("n", {"agentpool": "gpu", **labels}, capacity)], {}, [])
    assert {k: pool["gpus"][k] for k in gpus} == gpus


def test_nodes_the_pods_cannot_use_are_left_out_with_the_reason():
    from twin.importer import nodes

    taint = {"key": "dedicated", "value": "infer", "effect": "NoSchedule"}
    found = [_node("a", {"agentpool": "gpu"}, {}, taints=[taint]),
             _node("b", {"agentpool": "gpu"}, {}, unschedulable=True),
             _node("c", {"agentpool": "gpu"}, {}, taints=[taint])]
    notes: list[str] = []
    (pool,) = nodes.node_pools(found, {"tolerations": [{"key": "dedicated", "operator": "Exists"}]}, notes)
    assert pool["count"] == 2 and any("node b of pool gpu left out: cordoned" in n for n in notes)
    with pytest.raises(InputError):  # Equal with another value does not tolerate it
        nodes.node_pools(found[:1], {"tolerations": [{"key": "dedicated", "value": "train"}]}, [])
