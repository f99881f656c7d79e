"""The cluster's own autoscalers read through the official client from KMock, as the twin's scenario sections."""
from __future__ import annotations

import kmock
import pytest
import yaml

from tests.support import kube_cluster as kc
from twin import cli
from twin.config.loader import load_scenario
from twin.errors import InputError
from twin.live import cluster_controllers
from twin.live.kubernetes_port import KubernetesCluster
from twin.live.prometheus_api import PrometheusApi
from twin.live.shadow import Shadow, TrafficReader
from tests.live.test_shadow_hpa import HPA, HPA_SYNC_S, METRIC, QUERY, SCENARIO

NS = "serving"
VPAS = kmock.resource("autoscaling.k8s.io", "v1", "verticalpodautoscalers")


def _scaled_object(name: str, target: str) -> dict:
    return {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": name, "namespace": NS},
            "spec": {"scaleTargetRef": {"name": target}, "minReplicaCount": 1, "maxReplicaCount": 4, "triggers": [
                {"type": "prometheus", "metadata": {"serverAddress": "http://prometheus:9090", "threshold": "5",
                                                    "query": "sum(rate(ts_inference_requests_total[1m]))"}}]}}


def _keda_hpa() -> dict:
    """The HPA KEDA generates for its ScaledObject: KEDA's, not a second autoscaler."""
    return {**HPA, "metadata": {"name": "keda-hpa-sleepy", "namespace": NS, "ownerReferences": [
        {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "name": "sleepy", "uid": "1"}]}}


@pytest.fixture
def api():
    with kc.KubeApi() as server:
        server.put(kc.APPS, NS, "sleepy", kc.deployment("sleepy", NS, replicas=1))
        yield server


def _read(api: kc.KubeApi) -> cluster_controllers.ClusterControllers:
    return cluster_controllers.read(KubernetesCluster(api.client(), namespace=NS, deployment="sleepy"), "sleepy")


def test_the_hpa_on_the_deployment_is_read_as_its_manifest_and_runs_in_the_twin(api):
    api.put(kc.HPAS, NS, "sleepy", HPA)
    api.put(kc.HPAS, NS, "other", _other_hpa())
    found = _read(api)
    assert found.names() == ["hpa/sleepy"]
    manifest = found.hpas[0]
    assert manifest["spec"] == HPA["spec"] and set(manifest) == {"apiVersion", "kind", "metadata", "spec"}
    assert manifest["metadata"] == {"name": "sleepy", "namespace": NS}  # uid, resourceVersion, kubectl's copy gone
    overrides = found.overrides({METRIC: QUERY})
    scenario = load_scenario(SCENARIO, overrides)
    assert scenario.autoscaling.hpa.queries == {METRIC: QUERY} and scenario.autoscaling.workers is None
    assert scenario.autoscaling.hpa.manifest.source == "horizontalpodautoscaler/sleepy (read from the cluster)"


def test_a_scaled_object_counts_once_and_vpas_are_carried(api):
    api.put(kc.SCALED_OBJECTS, NS, "sleepy", _scaled_object("sleepy", "sleepy"))
    api.put(kc.SCALED_OBJECTS, NS, "elsewhere", _scaled_object("elsewhere", "other"))
    api.put(kc.HPAS, NS, "keda-hpa-sleepy", _keda_hpa())
    api.put(VPAS, NS, "sleepy", {"apiVersion": "autoscaling.k8s.io/v1", "kind": "VerticalPodAutoscaler",
                                 "metadata": {"name": "sleepy", "namespace": NS},
                                 "spec": {"targetRef": {"apiVersion": "apps/v1", "kind": "Deployment",
                                                        "name": "sleepy"}, "updatePolicy": {"updateMode": "Off"}}})
    found = _read(api)
    assert found.names() == ["scaledobject/sleepy", "vpa/sleepy"]
    runs_vpa = cluster_controllers.VPA_RUNS  # the VPA runs where the twin has a VPA policy, else it is carried
    assert set(found.autoscaling({})) == ({"keda", "vpa"} if runs_vpa else {"keda"})
    carried = (found.names(), 0) if runs_vpa else (["scaledobject/sleepy"], 1)
    assert (found.running(), len(found.carried())) == carried
    assert load_scenario(SCENARIO, found.overrides({})).autoscaling.keda is not None


def _other_hpa() -> dict:
    return {**HPA, "metadata": {"name": "other", "namespace": NS},
            "spec": {**HPA["spec"], "scaleTargetRef": {"kind": "Deployment", "name": "x"}}}


def test_nothing_scaling_the_deployment_adds_nothing(api):
    # KEDA and VPA not installed: their lists answer 404
    assert _read(api).names() == [] and _read(api).overrides({}) == {}


def test_two_autoscalers_on_one_deployment_are_named_in_one_error(api):
    api.put(kc.HPAS, NS, "sleepy", HPA)
    api.put(kc.SCALED_OBJECTS, NS, "sleepy", _scaled_object("sleepy", "sleepy"))
    with pytest.raises(InputError, match="hpa/sleepy, scaledobject/sleepy"):
        _read(api).overrides({})


def test_a_snapshot_into_someone_else_s_folder_is_refused_before_anything_is_read(tmp_path, capsys):
    settings = tmp_path / "live.yaml"
    settings.write_text(yaml.safe_dump({
        "scenario": str(SCENARIO), "cluster": {"namespace": NS, "deployment": "sleepy", "kubeconfig": "missing"},
        "torchserve": {"model": "sleepy"}, "prometheus": {"url": "http://127.0.0.1:9"},
        "guardrails": {"namespaces": [NS], "objects": ["deployment/sleepy"]}}))
    theirs = tmp_path / "notes"
    theirs.mkdir()
    (theirs / "todo.txt").write_text("mine")
    assert cli.main(["live", str(settings), "--snapshot", str(theirs)]) == 2
    error = capsys.readouterr().err.strip()
    assert len(error.splitlines()) == 1 and "notes" in error and "Traceback" not in error, error
    assert sorted(p.name for p in theirs.iterdir()) == ["todo.txt"]


def test_the_forward_run_scales_out_as_the_cluster_s_hpa_would_and_says_when():
    """16 req/s on one pod against 10 per pod: the HPA the shadow read scales to 2 in the forward run, and the
    prediction says so; the same run without it stays on one pod, slower."""
    shadow = Shadow(scenario_path=SCENARIO, horizons_s=(40.0,), every_s=3, window="12s",
                    traffic=TrafficReader(PrometheusApi("http://127.0.0.1:9"), "sleepy"), cluster=None, fleet=None,
                    started_at=0.0, queries={METRIC: QUERY})
    read = cluster_controllers.ClusterControllers("sleepy", hpas=(cluster_controllers.manifest(HPA),))
    with_hpa, _, forward = shadow._twin(1, 1, 40.0, [16.0] * 6, extra_think_s=0.0, controllers=read)
    alone, _, unscaled = shadow._twin(1, 1, 40.0, [16.0] * 6, extra_think_s=0.0)
    assert forward.controllers == "hpa/sleepy" and forward.first.startswith("2 replicas at +")
    assert float(forward.first.split("+")[1].split()[0]) < HPA_SYNC_S  # the first sync, within one period
    assert (forward.ready_pods_end, unscaled.ready_pods_end, unscaled.first) == (2, 1, "holds 1")
    assert with_hpa["latency_ms"] < 0.8 * alone["latency_ms"]
