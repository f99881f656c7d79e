"""The optimiser on a case whose answer queueing theory gives, and its outputs."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import yaml

from twin import cli
from twin.errors import InputError
from twin.sweep import optimize

# One single-worker pod per 8-vCPU node (each asks for 6 CPUs); 80 req/s Poisson, 20 ms exponential CPU demand.
# Per pod an M/M/1 queue: 2 nodes give rho 0.8, sojourn p95 = ln(20) * 20 / 0.2 = 300 ms; 3 nodes rho 0.53,
# p95 = 128 ms; 4 nodes 86 ms. With p95 <= 200 ms the cheapest feasible is 3 nodes; 1 node cannot keep up.
BASE = """name: three-nodes
duration_s: 100
warmup_s: 20
node_pools: [{name: pool, count: 1, vcpus: 8, memory_gib: 32, price_per_hour: 2.0, image_cached: true}]
deployment: {pods: 4, resources: {requests: {cpu: "6"}}, torchserve: {model: {min_workers: 1}}}
model: {name: m, device: cpu, cpu_ms: 20, demand_distribution: exponential, worker_rss_mib: 100}
workload: {type: poisson, rate_rps: 80}
"""


def question(tmp_path: Path, **changes) -> Path:
    (tmp_path / "base.yaml").write_text(BASE)
    path = tmp_path / "question.yaml"
    path.write_text(yaml.safe_dump({"base": "base.yaml", "seed": 4, "replications": 2,
                                    "slo": {"latency_p95_ms": 200, "max_error_ratio": 0.01},
                                    "search": {"node_pools.0.count": [1, 2, 3, 4]}, **changes}))
    return path


def test_the_grid_finds_the_cheapest_feasible_and_a_true_pareto_front(tmp_path, capsys):
    path = question(tmp_path)
    assert cli.main(["optimize", str(path), "--out", str(tmp_path / "out"), "--workers", "2", "--quiet"]) == 0
    printed = capsys.readouterr().out
    assert "chosen: node_pools.0.count = 3" in printed
    frame = pd.read_csv(tmp_path / "out" / "candidates.csv")
    assert list(frame["feasible"]) == [False, False, True, True]
    p95 = dict(zip(frame["node_pools.0.count"], frame["latency_ms.p95.mean"]))
    assert 240 < p95[2] < 380 and 100 < p95[3] < 160  # M/M/1: 300 ms and 128 ms
    cost, violation = frame["cost.total_usd.mean"].to_numpy(), frame["slo.violation_minutes.mean"].to_numpy()
    dominated = [bool(np.any((cost <= c) & (violation <= v) & ((cost < c) | (violation < v))))
                 for c, v in zip(cost, violation)]
    assert list(frame["pareto"]) == [not d for d in dominated]
    assert set(pd.read_csv(tmp_path / "out" / "pareto.csv")["node_pools.0.count"]) == \
        set(frame[frame["pareto"]]["node_pools.0.count"])


def test_random_search_then_neighbours_finds_the_optimum_without_trying_every_candidate(tmp_path):
    # cost = nodes x price: from any start the neighbour walk descends to 3 nodes at the lowest price
    search = {"node_pools.0.count": [1, 2, 3, 4, 5, 6], "node_pools.0.price_per_hour": [2.0, 3.0, 4.0]}
    path = question(tmp_path, method="random", budget=3, search=search)
    answer = optimize.optimize(optimize.load_question(path), tmp_path / "out", workers=2)
    assert answer.params == {"node_pools.0.count": 3, "node_pools.0.price_per_hour": 2.0}
    assert 3 < len(answer.candidates) < 18
    assert (tmp_path / "out" / "stage-2" / "runs.csv").is_file()  # the neighbours ran as a stage of their own
    tried = answer.candidates[["node_pools.0.count", "node_pools.0.price_per_hour"]]
    assert not tried.duplicated().any()


# KEDA on the request rate, pods of one worker asking for 6 of a node's 16 vCPUs, the Cluster Autoscaler adding nodes;
# 20 req/s, then 80 req/s from t = 60 s. A low threshold scales out early (more node-hours, short queues); a high one
# leaves one or two M/M/1 pods overloaded. Only the lowest threshold meets p95 <= 500 ms; it is not the cheapest.
KEDA = """apiVersion: keda.sh/v1alpha1
kind: ScaledObject
metadata: {name: m, namespace: default}
spec:
  scaleTargetRef: {name: m}
  pollingInterval: 5
  minReplicaCount: 1
  maxReplicaCount: 8
  triggers:
    - type: prometheus
      metadata: {serverAddress: "http://prometheus:9090", query: "sum(rate(ts_inference_requests_total[30s]))",
                 threshold: "30"}
"""
KEDA_BASE = """name: keda-small
duration_s: 200
warmup_s: 20
metrics: {scrape_interval_s: 5}
node_pools: [{name: pool, count: 1, vcpus: 16, memory_gib: 64, price_per_hour: 2.0, image_cached: true,
              autoscaling: {min_count: 1, max_count: 8, provision_s: 10}}]
deployment: {name: m, pods: 1, resources: {requests: {cpu: "6"}}, torchserve: {model: {min_workers: 1}}}
model: {name: m, device: cpu, cpu_ms: 20, demand_distribution: exponential, worker_rss_mib: 100}
workload: {type: steps, steps: [{at_s: 0, rate_rps: 20}, {at_s: 60, rate_rps: 80}]}
autoscaling: {keda: {manifest: keda.yaml}, cluster: {}}
"""
THRESHOLD = "autoscaling.keda.manifest.object.spec.triggers.0.metadata.threshold"


def test_the_chosen_folder_holds_the_manifests_to_apply_and_the_decision_log_to_replay(tmp_path):
    (tmp_path / "keda.yaml").write_text(KEDA)
    (tmp_path / "base.yaml").write_text(KEDA_BASE)
    path = tmp_path / "question.yaml"
    path.write_text(yaml.safe_dump({"base": "base.yaml", "seed": 2, "replications": 2,
                                    "slo": {"latency_p95_ms": 500, "max_error_ratio": 0.01},
                                    "search": {THRESHOLD: ["15", "30", "60", "120"]}}))
    answer = optimize.optimize(optimize.load_question(path), tmp_path / "out", workers=2)
    frame = answer.candidates
    assert answer.params == {THRESHOLD: "15"} and list(frame["feasible"]) == [True, False, False, False]
    assert frame["cost.total_usd.mean"].iloc[0] > frame["cost.total_usd.mean"].min()  # feasible costs more
    chosen = tmp_path / "out" / "chosen"
    keda = yaml.safe_load((chosen / "manifests" / "keda.yaml").read_text())
    assert keda["kind"] == "ScaledObject" and keda["spec"]["triggers"][0]["metadata"]["threshold"] == "15"
    assert yaml.safe_load((chosen / "values.yaml").read_text())["chosen"] == {THRESHOLD: "15"}
    scenario = yaml.safe_load((chosen / "scenario.resolved.yaml").read_text())
    assert scenario["slo"]["latency_p95_ms"] == 500 and scenario["autoscaling"]["decision_log"] is True
    patch = yaml.safe_load((chosen / "manifests" / "deployment-patch.yaml").read_text())
    assert patch["metadata"]["name"] == "m" and patch["spec"]["replicas"] == 1
    assert patch["spec"]["template"]["spec"]["containers"][0]["resources"]["requests"] == {"cpu": "6"}
    assert '"minWorkers":1' in (chosen / "manifests" / "config.properties").read_text()
    decisions = [json.loads(line) for line in (chosen / "decisions.jsonl").read_text().splitlines()]
    scaling = [d for d in decisions if d["controller"] == "keda-hpa"]
    assert all(d["action"] == "scale_deployment" and d["target"] == "m" for d in scaling)
    assert max(d["value"]["replicas"] for d in scaling) >= 4  # 80 req/s over a threshold of 15
    assert any(d["controller"] == "cluster-autoscaler" and d["action"] == "add_nodes" for d in decisions)
    # the decision run is replication 0 of the chosen candidate again: the same seed gives the same numbers
    run0 = pd.read_csv(tmp_path / "out" / "stage-1" / "runs.csv").iloc[0]
    summary = json.loads((chosen / "summary.json").read_text())
    assert summary["seed"] == run0["seed"] and summary["latency_ms"]["p95"] == pytest.approx(run0["latency_ms.p95"])
    assert summary["decisions"] == len(decisions)


@pytest.mark.parametrize("changes, message", [
    ({"search": {"node_pools.0.count": [1, -1]}},
     r"question.yaml:\d+: node_pools.0.count: expected a value the scenario"),
    ({"search": {"node_pools.0.count": []}}, r"question.yaml:\d+: search.node_pools.0.count: expected .*at least 1"),
    ({"objective": "latency"}, r"question.yaml:\d+: objective: expected 'cost.total_usd' or 'cost.usd_per_million'"),
])
def test_a_bad_question_names_the_question_file_and_the_field(tmp_path, changes, message):
    path = question(tmp_path, **changes)
    with pytest.raises(InputError, match=message):
        optimize.load_question(path)
    assert cli.main(["optimize", str(path), "--out", str(tmp_path / "out")]) == 2
    assert not (tmp_path / "out").exists()
