"""The control plane inside the twin: metrics as Prometheus would hold them, KEDA and HPA acting on them, resize and
node provisioning as the cluster would carry them out."""
from __future__ import annotations

from pathlib import Path

import pytest

from tests.support.scenarios import scenario
from twin.config.loader import load_scenario
from twin.core.run import simulate
from twin.core.world import World

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


@pytest.fixture(scope="module")
def keda_burst():
    return simulate(load_scenario(SCENARIOS / "keda-burst.yaml"))


def test_keda_scales_up_after_the_burst_and_back_down_after_it(keda_burst):
    decisions = [d.to_json() for d in keda_burst.decisions]
    ups = [d for d in decisions if d["value"]["replicas"] > 1 and d["time_s"] < 500]
    assert ups and 200 < ups[0]["time_s"] < 200 + 60  # a 1 m rate window and 15 s syncs: tens of seconds, not 0
    assert max(d["value"]["replicas"] for d in decisions) >= 5  # 120 req/s at 20 per pod
    downs = [d for d in decisions if d["time_s"] > 500]
    assert downs and downs[0]["time_s"] >= 500 + 120  # the scale-down stabilisation window of the manifest
    assert decisions[-1]["value"]["replicas"] <= 2  # the base 20 req/s sits at the 20 req/s threshold
    assert {d["controller"] for d in decisions} <= {"keda", "keda-hpa"}
    assert all(d["action"] == "scale_deployment" and d["target"] == "roberta" for d in decisions)


def test_scale_up_steps_obey_the_behavior_policy(keda_burst):
    ups = [d for d in keda_burst.decisions if d.time_s < 500]
    previous = 1
    for decision in ups:  # Pods policy: at most 4 more per 15 s period
        assert decision.value["replicas"] - previous <= 4
        previous = decision.value["replicas"]


def test_new_pods_serve_only_after_start_up(keda_burst):
    series = keda_burst.timeseries
    first_up = keda_burst.decisions[0].time_s
    grew = series[series.ready_pods > 1].time_s.min()
    assert grew >= first_up + 60  # image pull on the second node, container start, model load, probe


def test_torchserve_latency_through_promql_matches_what_the_workers_did():
    spec = scenario(duration_s=200, model={"frontend_ms": 0, "demand_distribution": "exponential"},
                    workload={"type": "poisson", "rate_rps": 60},
                    deployment={"torchserve": {"model": {"min_workers": 1}}})
    world = World(spec)
    world.run()
    ports = world.control.ports.metrics
    query = "sum(rate(ts_inference_latency_microseconds[1m])) / sum(rate(ts_inference_requests_total[1m]))"
    through_prometheus = ports.query(query)[0].value / 1000
    recorded = world.sampler.frame().tail(60)
    direct = (recorded.latency_mean_ms * recorded.ok).sum() / recorded.ok.sum()
    assert through_prometheus == pytest.approx(direct, rel=0.1)
    rate = ports.query("sum(rate(ts_inference_requests_total[1m]))")[0].value
    assert rate == pytest.approx(60, rel=0.15)


def test_hpa_on_cpu_scales_a_cpu_bound_deployment():
    spec = load_scenario(SCENARIOS / "hpa-cpu-steps.yaml")
    result = simulate(spec)
    replicas = [d.value["replicas"] for d in result.decisions]
    assert replicas and max(replicas) >= 3
    assert result.timeseries.pods.iloc[-1] >= 3


def test_an_in_place_resize_waits_for_room_and_is_infeasible_beyond_the_node():
    spec = scenario(node_pools=[{"name": "cpu", "vcpus": 8, "memory_gib": 16, "image_cached": True}],
                    deployment={"pods": 2, "resources": {"requests": {"memory": "6Gi"}, "limits": {"memory": "6Gi"}}},
                    workload={"type": "poisson", "rate_rps": 1})
    world = World(spec)
    world.run(until=2)
    first, second = world.cluster.pods
    assert first.resize({"memory": 20 * 2**30}, {"memory": 20 * 2**30}) == "Infeasible"
    assert second.resize({"memory": 11 * 2**30}, {"memory": 11 * 2**30}) == "Deferred"  # 6 + 11 > 16 GiB
    first.delete()
    world.run(until=5)
    assert second.resize_status == "" and second.memory_limit_mib == 11 * 1024
    assert any(e["event"] == "pod_resized" for e in world.events)


def test_pending_pods_wait_for_a_provisioned_gpu_node():
    pool = {"name": "gpu", "count": 1, "vcpus": 8, "memory_gib": 64, "image_cached": True,
            "gpus": {"memory_gib": 80}, "autoscaling": {"provision_s": 100, "gpu_ready_s": 50}}
    spec = scenario(node_pools=[pool], duration_s=400, model={"device": "gpu", "gpu_ms": 1},
                    deployment={"pods": 1, "resources": {"requests": {"nvidia.com/gpu": 1}}})
    world = World(spec)
    world.run(until=10)
    world.scale_deployment(2)
    world.add_nodes("gpu", 1)
    world.run()
    scheduled = [e for e in world.events if e["event"] == "pod_scheduled"]
    assert scheduled[-1]["time_s"] == pytest.approx(10 + 100 + 50)  # registered at 110, GPUs allocatable at 160


@pytest.mark.parametrize("mode", ["with", "without"])
def test_worker_autoscaling_with_and_without_an_in_place_resize(mode):
    result = simulate(load_scenario(SCENARIOS / "questions" / f"worker-autoscaling-{mode}-resize.yaml"),
                      duration_s=500)
    kills = [e for e in result.events if e["event"] == "pod_oom_killed"]
    scaled = [d for d in result.decisions if d.action == "scale_workers"]
    assert scaled and scaled[0].value["min_worker"] > 1
    if mode == "with":
        resizes = [d for d in result.decisions if d.action == "resize_pod"]
        assert not kills and resizes and resizes[0].time_s < scaled[0].time_s  # memory first, then workers
        assert result.summary.pods[0]["workers"] > 1
    else:
        assert kills  # the second worker crosses the 4 GiB limit
        assert result.summary.errors["total"] > 0.1 * result.summary.requests


@pytest.fixture(scope="module")
def nodes_question():
    """The burst question's three answers: reactive Cluster Autoscaler, fixed placeholders, anticipatory ones."""
    return {name: simulate(load_scenario(SCENARIOS / "questions" / f"nodes-{name}.yaml"), duration_s=1300)
            for name in ("reactive", "placeholders", "anticipatory")}


@pytest.mark.parametrize("name", ["placeholders", "anticipatory"])
def test_placeholder_headroom_buys_slo_minutes_with_money(nodes_question, name):
    reactive, ahead = nodes_question["reactive"], nodes_question[name]
    first_node = [min(d.time_s for d in r.decisions if d.action == "add_nodes") for r in (reactive, ahead)]
    assert first_node[1] < first_node[0]  # ahead of the serving pods going Pending
    assert ahead.summary.slo["violation_minutes"] < reactive.summary.slo["violation_minutes"]
    assert ahead.summary.cost["total_usd"] > reactive.summary.cost["total_usd"]


def test_serving_pods_preempt_placeholders_and_the_autoscaler_adds_nodes_only_for_what_they_evict(nodes_question):
    """Fixed headroom: nobody but the Cluster Autoscaler adds nodes, and it does so after a preemption."""
    result = nodes_question["placeholders"]
    preempted = [e for e in result.events if e["event"] == "pod_preempted"]
    assert preempted and all(e["pod"].startswith("roberta-headroom-") for e in preempted)
    assert all(e["by"].startswith("roberta-") and not e["by"].startswith("roberta-headroom") for e in preempted)
    adds = [d for d in result.decisions if d.action == "add_nodes"]
    assert {d.controller for d in adds} == {"cluster-autoscaler"}
    assert min(e["time_s"] for e in preempted) < min(d.time_s for d in adds)


def test_the_anticipatory_policy_acts_only_on_the_placeholders_scale(nodes_question):
    mine = [d for d in nodes_question["anticipatory"].decisions if d.controller == "anticipatory"]
    assert mine and {(d.action, d.target) for d in mine} == {("scale_placeholders", "roberta-headroom")}
    assert max(d.value["replicas"] for d in mine) > 2  # the trend asks beyond the fixed headroom


@pytest.mark.parametrize("annotation, replicas", [({"autoscaling.keda.sh/paused-replicas": "2"}, [2]),
                                                  ({"autoscaling.keda.sh/paused": "true"}, [])])
def test_a_paused_scaledobject_holds_its_count_through_the_burst(annotation, replicas):
    """handlePause: the loop and the HPA stop; paused-replicas is set once, `paused` keeps the count it had."""
    spec = load_scenario(SCENARIOS / "keda-burst.yaml", overrides={
        "duration_s": 400, "autoscaling.keda.manifest.object.metadata.annotations": annotation})
    result = simulate(spec)
    assert [d.value["replicas"] for d in result.decisions] == replicas
    assert {d.controller for d in result.decisions} <= {"keda"}
