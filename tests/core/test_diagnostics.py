"""Runs that go wrong say so: each warning of the summary (and of `validate`) triggered by a scenario built to cause
it, and quiet where nothing is wrong."""
from __future__ import annotations

import json
import re
from pathlib import Path

import yaml

from tests.support.scenarios import scenario
from twin.cli import main
from twin.core import catalogue, diagnostics, scraping
from twin.core.run import simulate

GPU_POOL = {"name": "gpu", "count": 1, "vcpus": 8, "memory_gib": 64, "image_cached": True,
            "gpus": {"count": 1, "memory_gib": 16}}
GPU_MODEL = {"device": "gpu", "cpu_ms": 2, "gpu_ms": 5, "gpu_memory_mib": 1000, "demand_distribution": "deterministic",
             "worker_rss_mib": 100, "frontend_rss_mib": 100, "load_time_s": 1, "name": "roberta-base-a100"}


def keda(query: str, threshold: float = 5) -> dict:
    return {"keda": {"manifest": {"object": {
        "apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject", "metadata": {"name": "torchserve"},
        "spec": {"scaleTargetRef": {"name": "torchserve"}, "pollingInterval": 5, "minReplicaCount": 1,
                 "maxReplicaCount": 4,
                 "triggers": [{"type": "prometheus", "metadata": {
                     "serverAddress": "http://prometheus:9090", "query": query, "threshold": str(threshold)}}]}}}}}


def codes(summary) -> list[str]:
    return [w["code"] for w in summary.warnings]


def test_a_healthy_run_has_no_warnings_and_names_its_busiest_and_idlest_pod():
    summary = simulate(scenario(duration_s=30, deployment={"pods": 2})).summary
    assert summary.warnings == []
    load = summary.diagnostics["load"]
    assert {load["busiest"]["pod"], load["idlest"]["pod"]} == {"torchserve-0", "torchserve-1"}
    assert load["busiest"]["rps"] >= load["idlest"]["rps"] > 0
    assert load["busiest"]["share"] + load["idlest"]["share"] == 1.0
    assert all(p["status"] == "Running" for p in summary.pods)


def test_a_trigger_on_a_model_name_the_twin_does_not_serve_matches_nothing_and_never_scales():
    spec = scenario(duration_s=60, workload={"type": "poisson", "rate_rps": 60},
                    autoscaling=keda('sum(rate(ts_inference_requests_total{model_name="roberta"}[30s]))'))
    assert [m.names_no_model for m in catalogue.misses(spec)] == [True]  # validate sees it before any run
    result = simulate(spec)
    assert {"label_names_no_model", "trigger_no_series"} <= set(codes(result.summary))
    trigger = result.summary.diagnostics["triggers"][0]
    assert trigger["asked"] > 0 and trigger["matched"] == 0 and not trigger["scaled"]
    assert not any(d.action == "scale_deployment" for d in result.decisions)


def test_config_properties_names_the_model_so_the_same_trigger_matches_and_scales(tmp_path):
    props = tmp_path / "config.properties"
    props.write_text('models={"roberta": {"1.0": {"minWorkers": 1}}}\n')
    spec = scenario(duration_s=60, workload={"type": "poisson", "rate_rps": 60},
                    deployment={"torchserve": {"config_properties": str(props)}},
                    autoscaling=keda('sum(rate(ts_inference_requests_total{model_name="roberta"}[30s]))'))
    assert catalogue.served_model_name(spec) == "roberta" and catalogue.misses(spec) == []
    result = simulate(spec)
    assert result.summary.warnings == []
    assert any(d.action == "scale_deployment" for d in result.decisions)


def test_load_models_name_and_bare_archive_name_the_model(tmp_path):
    props = tmp_path / "config.properties"
    for line, name in (("load_models=bert=bert-v2.mar", "bert"), ("load_models=encoder.mar", "encoder"),
                       ("load_models=all", "model")):
        props.write_text(line + "\n")
        spec = scenario(deployment={"torchserve": {"config_properties": str(props)}})
        assert catalogue.served_model_name(spec) == name


def test_a_trigger_that_matches_but_never_reaches_its_threshold_never_fired():
    spec = scenario(duration_s=60, autoscaling=keda("sum(rate(ts_inference_requests_total[30s]))", threshold=1000))
    summary = simulate(spec).summary
    assert codes(summary) == ["trigger_never_fired"]
    assert "threshold 1000" in summary.warnings[0]["message"]
    assert summary.diagnostics["triggers"][0]["peak"] < 1000


def test_a_query_on_a_metric_the_twin_does_not_export_is_named():
    spec = scenario(autoscaling=keda("sum(rate(nginx_ingress_controller_requests[1m]))"))
    (warning,) = diagnostics.query_warnings(spec)
    assert warning["code"] == "query_selects_nothing" and "exports no such metric" in warning["message"]


def test_pods_that_fit_nowhere_are_pending_with_the_schedulers_reason():
    spec = scenario(duration_s=20, node_pools=[GPU_POOL], model=GPU_MODEL,
                    deployment={"pods": 3, "resources": {"requests": {"nvidia.com/gpu": 1}}})
    summary = simulate(spec).summary
    assert codes(summary) == ["unschedulable"]
    pending = summary.diagnostics["pending"]
    assert [p["reason"] for p in pending] == ["0/1 nodes are available: 1 Insufficient nvidia.com/gpu."] * 2
    assert sorted(p["status"] for p in summary.pods) == ["Pending", "Pending", "Running"]


def test_a_memory_request_above_every_node_says_insufficient_memory():
    spec = scenario(duration_s=5, deployment={"pods": 1, "resources": {"requests": {"memory": "100Gi"}}})
    summary = simulate(spec).summary
    assert summary.diagnostics["pending"][0]["reason"] == "0/1 nodes are available: 1 Insufficient memory."
    assert "Insufficient memory" in summary.warnings[0]["message"]


def test_a_memory_limit_below_the_workers_rss_ooms_and_crash_loops():
    spec = scenario(duration_s=60, deployment={"pods": 1, "initial_state": "cold",
                                               "resources": {"limits": {"memory": "150Mi"}}})
    summary = simulate(spec).summary
    assert codes(summary) == ["oom_killed", "crash_loop"]
    assert summary.diagnostics["oom_kills"]["count"] >= 2 and summary.diagnostics["restarts"] >= 2
    assert summary.pods[0]["status"] == "CrashLoopBackOff"
    assert summary.pods[0]["memory_limit_mib"] == 150


def test_workers_that_do_not_fit_in_gpu_memory_are_named():
    spec = scenario(duration_s=20, node_pools=[GPU_POOL], model={**GPU_MODEL, "gpu_memory_mib": 6000},
                    deployment={"pods": 1, "initial_state": "cold",
                                "torchserve": {"model": {"min_workers": 3}}})
    summary = simulate(spec).summary
    assert "gpu_oom" in codes(summary)
    assert summary.diagnostics["gpu_oom"]["by_device"] == [{"device": "gpu-0/gpu0",
                                                            "count": summary.diagnostics["gpu_oom"]["count"]}]


def _profile_file(folder: Path, provenance: dict | None) -> str:
    profile = {"name": "m", "device": "cpu", "cpu_ms": 10, "worker_rss_mib": 100, "frontend_rss_mib": 100}
    document = {"profile": profile, "provenance": provenance} if provenance is not None else profile
    (folder / "m.yaml").write_text(yaml.safe_dump(document))
    scenario_file = folder / "s.yaml"
    scenario_file.write_text(yaml.safe_dump({
        "duration_s": 5, "node_pools": [{"name": "cpu", "vcpus": 4, "memory_gib": 16}],
        "model": {"profile": "m.yaml", "frontend_ms": 1}, "workload": {"type": "poisson", "rate_rps": 5}}))
    return str(scenario_file)


def _validated(capsys, path: str) -> list[str]:
    assert main(["validate", path]) == 0
    return [line for line in capsys.readouterr().out.splitlines() if line.startswith("warning:")]


def test_fields_assumed_rather_than_calibrated_are_listed(tmp_path, capsys):
    provenance = {"assumed": ["load_time_s: not measured", {"field": "demand_cv"}],
                  "memory": ["worker_rss_mib estimated (no reading): 700 MiB", "frontend_rss_mib read"],
                  "parameters_95pct": {"cpu_ms": {"value": 10, "low": 9, "high": 11},
                                       "frontend_ms": {"value": 3, "note": "not identified by the runs fitted"}}}
    (line,) = _validated(capsys, _profile_file(tmp_path, provenance))
    # frontend_ms is set by the scenario itself, so it is the user's number, not an assumption
    assert line.endswith("assumed, not calibrated: demand_cv, load_time_s, worker_rss_mib [assumed_fields]")


def test_a_hand_set_profile_is_all_assumption(tmp_path, capsys):
    (line,) = _validated(capsys, _profile_file(tmp_path, None))
    assert "no calibration provenance: every field is hand-set" in line and "[assumed_fields]" in line


def test_a_fit_with_a_large_error_is_named_with_its_run(tmp_path, capsys):
    provenance = {"fit_quality": {"runs_of_this_profile": {
        "RUN-A": {"throughput_rps": [100, 104], "avg_response_ms": [50, 51]},
        "RUN-B": {"throughput_rps": [100, 130], "avg_response_ms": [50, 40]}}}}
    (line,) = _validated(capsys, _profile_file(tmp_path, provenance))
    assert "in-sample error on run RUN-B is large:" in line and "RUN-A" not in line
    assert "throughput_rps +30 % (target ±10 %)" in line and "avg_response_ms -20 % (target ±15 %)" in line


def test_run_prints_pods_pending_reasons_and_warnings_as_text_and_json(tmp_path, capsys):
    spec = {"duration_s": 10, "node_pools": [GPU_POOL], "model": GPU_MODEL, "workload": {"type": "poisson",
                                                                                          "rate_rps": 5},
            "deployment": {"pods": 2, "resources": {"requests": {"nvidia.com/gpu": 1, "memory": "1Gi"},
                                                    "limits": {"memory": "2Gi"}}}}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    assert main(["run", str(path), "--quiet"]) == 0
    text = capsys.readouterr().out
    assert "STATUS" in text and "200/1024/2048" in text  # RSS against request and limit, MiB
    assert "torchserve-1   0 s     0/1 nodes are available: 1 Insufficient nvidia.com/gpu." in text
    assert "warning: 1 pod(s) could not be scheduled, 1 still Pending at the end" in text
    assert main(["run", str(path), "--quiet", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert [w["code"] for w in summary["warnings"]] == ["unschedulable", "assumed_fields"]
    assert summary["diagnostics"]["pending"][0]["pod"] == "torchserve-1"


def test_validate_warns_of_a_trigger_label_that_names_no_model(tmp_path, capsys):
    spec = {"duration_s": 10, "node_pools": [GPU_POOL], "model": GPU_MODEL, "workload": {"type": "poisson",
                                                                                          "rate_rps": 5},
            "autoscaling": keda('sum(rate(ts_inference_requests_total{model_name="roberta"}[1m]))')}
    path = tmp_path / "s.yaml"
    path.write_text(yaml.safe_dump(spec))
    first, _ = _validated(capsys, str(path))
    assert 'model_name="roberta" names no model the twin serves: it serves "roberta-base-a100"' in first
    assert first.endswith("[label_names_no_model]")


def test_the_twin_labels_torchserve_series_as_a_real_torchserve_does():
    # metrics.txt is a real TorchServe 0.12 scrape of a model registered as "roberta"
    real = Path(__file__).parents[1] / "calibration" / "data" / "metrics.txt"
    line = next(x for x in real.read_text().splitlines() if x.startswith("ts_inference_requests_total{"))
    labels = dict(re.findall(r'(\w+)="([^"]*)"', line))
    twin = scraping.torchserve_labels("torchserve-0", "roberta")
    prometheus_target = {"namespace", "pod", "job"}  # added by the scrape, not by TorchServe
    assert set(twin) - prometheus_target == set(labels)
    assert (twin["model_name"], twin["model_version"]) == (labels["model_name"], labels["model_version"])
