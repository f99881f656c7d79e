"""Uploaded manifests in place of the scenario's references, a JMeter result, and the CSV tables the tabs read."""
from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from app import measured, overrides, tables, uploads
from twin.config.loader import load_scenario
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]
DEFAULT = ROOT / "scenarios" / "default.yaml"
KEDA = ROOT / "scenarios" / "keda-burst.yaml"
JTL = ROOT / "tests" / "calibration" / "data" / "results.jtl"

DEPLOYMENT = {
    "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "roberta"},
    "spec": {"replicas": 3, "template": {"spec": {"containers": [
        {"name": "torchserve", "resources": {"requests": {"cpu": "2", "memory": "6Gi"},
                                             "limits": {"memory": "12Gi"}}}]}}},
}
HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler", "metadata": {"name": "roberta"},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "roberta"},
                "minReplicas": 1, "maxReplicas": 4,
                "metrics": [{"type": "Resource", "resource": {"name": "cpu",
                                                              "target": {"type": "Utilization",
                                                                         "averageUtilization": 70}}}]}}


def _upload(name: str, content) -> uploads.Upload:
    text = content if isinstance(content, str) else yaml.safe_dump(content)
    return uploads.Upload(name, text.encode())


def _load(scenario: Path, files: list[uploads.Upload], folder: Path):
    document = overrides.scenario_document(scenario)
    return load_scenario(scenario, uploads.manifest_overrides(document, files, folder))


def test_an_uploaded_deployment_replaces_pods_and_resources(tmp_path):
    scenario = _load(DEFAULT, [_upload("deployment.yaml", DEPLOYMENT)], tmp_path)
    assert scenario.deployment.pods == 3  # the scenario says 5: the manifest wins
    assert scenario.deployment.resources.requests == {"cpu": "2", "memory": "6Gi"}
    assert scenario.deployment.torchserve.model.min_workers == 5  # what the manifest does not say stays


def test_an_uploaded_config_properties_replaces_the_model_settings(tmp_path):
    text = (ROOT / "scenarios" / "examples" / "config.properties").read_text()
    scenario = _load(DEFAULT, [_upload("config.properties", text), _upload("d.yaml", DEPLOYMENT)], tmp_path)
    model = scenario.deployment.torchserve.model
    assert (model.min_workers, model.batch_size, model.max_batch_delay_ms, model.job_queue_size) == (3, 4, 20, 50)
    assert scenario.deployment.pods == 3  # both uploads apply, in either order
    assert Path(scenario.deployment.torchserve.config_properties).parent.parent == tmp_path


def test_an_uploaded_hpa_replaces_the_keda_scaledobject(tmp_path):
    scenario = _load(KEDA, [_upload("hpa.yaml", HPA)], tmp_path)
    assert scenario.autoscaling.keda is None
    assert scenario.autoscaling.hpa.manifest.object["spec"]["maxReplicas"] == 4


def test_an_upload_of_another_kind_names_the_file_and_the_kind(tmp_path):
    with pytest.raises(InputError) as error:
        _load(DEFAULT, [_upload("service.yaml", {"kind": "Service"})], tmp_path)
    assert str(error.value).startswith("service.yaml: kind: expected Deployment, HorizontalPodAutoscaler")
    with pytest.raises(InputError, match="broken.yaml"):
        _load(DEFAULT, [_upload("broken.yaml", "kind: [unclosed")], tmp_path)


def test_a_wrong_deployment_is_the_loaders_input_error(tmp_path):
    broken = {**DEPLOYMENT, "spec": {"replicas": 2, "template": {"spec": {"containers": "none"}}}}
    with pytest.raises(InputError) as error:
        _load(DEFAULT, [_upload("deployment.yaml", broken)], tmp_path)
    assert "deployment.yaml" in str(error.value) and "spec.template.spec.containers" in str(error.value)


def test_uploads_are_stored_once_per_content_with_nothing_half_written(tmp_path):
    first = uploads.store(uploads.Upload("a.yaml", b"x: 1\n"), tmp_path)
    again = uploads.store(uploads.Upload("a.yaml", b"x: 1\n"), tmp_path)
    other = uploads.store(uploads.Upload("a.yaml", b"x: 2\n"), tmp_path)
    assert first == again != other
    assert first.read_bytes() == b"x: 1\n" and other.read_bytes() == b"x: 2\n"
    assert not list(tmp_path.rglob(".staging-*"))


def test_a_jmeter_result_gives_users_throughput_and_latency():
    result = measured.read_measured(JTL)
    assert result.users == max(int(line.split(",")[12]) for line in JTL.read_text().splitlines()[1:])
    assert result.throughput_rps > 0 and result.mean_ms > 0 and result.p95_ms >= result.mean_ms * 0.5
    per_second = result.per_second
    assert per_second["ok"].sum() + per_second["errors"].sum() == len(JTL.read_text().splitlines()) - 1
    assert measured.closed_users_override(["closed"], result.users) == {"workload.0.users": result.users}
    assert measured.closed_users_override(["poisson"], 5) == {}


def test_a_bad_jmeter_result_is_an_input_error(tmp_path):
    bad = tmp_path / "bad.jtl"
    bad.write_text("timeStamp,elapsed,label,success\nyesterday,100,predict,true\n")
    with pytest.raises(InputError) as error:
        measured.read_measured(bad)
    assert "bad.jtl" in str(error.value) and "timeStamp" in str(error.value)


def test_a_sweep_folder_gives_parameters_and_metrics(tmp_path):
    pd.DataFrame({"point": [0, 1], "deployment.pods": [1, 2], "replications": [3, 3],
                  "throughput_rps.mean": [10.0, 20.0], "throughput_rps.ci_low": [9.0, 19.0],
                  "throughput_rps.ci_high": [11.0, 21.0]}).to_csv(tmp_path / "points.csv", index=False)
    sweep = tables.read_sweep(tmp_path)
    assert sweep.parameters == ["deployment.pods"] and sweep.metrics == ["throughput_rps.mean"]
    assert sweep.candidates is sweep.points and sweep.runs is None


def test_a_folder_without_sweep_tables_says_what_it_holds(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    with pytest.raises(InputError) as error:
        tables.read_sweep(tmp_path)
    assert "points.csv" in str(error.value) and "notes.txt" in str(error.value)


def test_a_shadow_report_missing_a_column_names_it(tmp_path):
    path = tmp_path / "shadow.csv"
    pd.DataFrame({c: [1.0] for c in tables.SHADOW if c != "observed_latency_ms"}).to_csv(path, index=False)
    with pytest.raises(InputError) as error:
        tables.read_shadow(path)
    assert "observed_latency_ms" in str(error.value) and "shadow.csv" in str(error.value)


def test_a_shadow_report_with_a_word_for_a_number_names_its_line(tmp_path):
    path = tmp_path / "shadow.csv"
    rows = {c: [1.0, 2.0] for c in tables.SHADOW}
    rows["predicted_latency_ms"] = [1.0, "fast"]
    pd.DataFrame(rows).to_csv(path, index=False)
    with pytest.raises(InputError) as error:
        tables.read_shadow(path)
    assert error.value.line == 3 and error.value.field == "predicted_latency_ms"


def test_a_loo_table_gets_its_errors(tmp_path):
    path = tmp_path / "loo.csv"
    pd.DataFrame({"id": ["a"], "measured_rps": [10.0], "predicted_rps": [11.0], "measured_ms": [100.0],
                  "predicted_ms": [80.0]}).to_csv(path, index=False)
    table = tables.read_fidelity(path)
    assert table["throughput_error_pct"].iloc[0] == pytest.approx(10.0)
    assert table["latency_error_pct"].iloc[0] == pytest.approx(-20.0)
