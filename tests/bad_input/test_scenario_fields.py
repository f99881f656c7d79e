"""The loader's InputError, exactly: file, line, field, expected and got for each class of scenario mistake (the
CLI-level contract of the same mistakes is in test_scenario.py)."""
from __future__ import annotations

import textwrap

import pytest

from twin.config.loader import load_scenario
from twin.errors import InputError

GOOD = """\
name: t
duration_s: 10
node_pools:
  - name: cpu
    vcpus: 4
    memory_gib: 16
model:
  device: cpu
  cpu_ms: 10
workload:
  type: closed
  users: 2
"""


def write(tmp_path, text, name="scenario.yaml"):
    path = tmp_path / name
    path.write_text(textwrap.dedent(text))
    return path


def error_for(tmp_path, text) -> InputError:
    with pytest.raises(InputError) as caught:
        load_scenario(write(tmp_path, text))
    return caught.value


def test_the_good_scenario_loads(tmp_path):
    assert load_scenario(write(tmp_path, GOOD)).workload[0].users == 2


@pytest.mark.parametrize("old, new, field, line, expected, got", [
    ("users: 2", "users: 0", "workload.users", 12, "greater than or equal to 1", "0"),
    ("users: 2", "users: many", "workload.users", 12, "a valid integer", "'many'"),
    ("type: closed", "type: closd", "workload.type", 11, "one of 'closed', 'poisson'", "'closd'"),
    ("vcpus: 4", "vcpu: 4", "node_pools.0.vcpu", 5, "a known field", "unknown field 'vcpu'"),
    ("  cpu_ms: 10\n", "", "model.cpu_ms", 7, "the field is required", "nothing"),
    ("device: cpu", "device: tpu", "model.device", 8, "'gpu' or 'cpu'", "'tpu'"),
    ("duration_s: 10", "duration_s: -5", "duration_s", 2, "greater than 0", "-5"),
])
def test_a_wrong_field_is_named_with_its_line(tmp_path, old, new, field, line, expected, got):
    error = error_for(tmp_path, GOOD.replace(old, new))
    assert error.field == field
    assert error.line == line
    assert expected in error.expected
    assert got in error.got
    assert str(error).startswith(f"{tmp_path / 'scenario.yaml'}:{line}: {field}:")


def test_broken_yaml_names_the_line(tmp_path):
    error = error_for(tmp_path, GOOD.replace("users: 2", "users: [2"))
    assert error.expected == "valid YAML" and error.line is not None


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="expected an existing file"):
        load_scenario(tmp_path / "nope.yaml")


def test_a_scenario_that_is_not_a_mapping(tmp_path):
    assert error_for(tmp_path, "- just\n- a list\n").expected == "a mapping of scenario fields"


def test_kubernetes_quantities_are_checked(tmp_path):
    text = GOOD + "deployment:\n  resources:\n    limits: {memory: 4Gb}\n"
    error = error_for(tmp_path, text)
    assert error.field == "deployment.resources.limits" and "Kubernetes quantity" in error.expected


def test_an_unknown_mig_profile_is_named(tmp_path):
    text = GOOD.replace("    memory_gib: 16\n", "    memory_gib: 16\n    gpus:\n      sharing: {mode: mig, "
                        "mig_profiles: [1g.7gb]}\n")
    error = error_for(tmp_path, text)
    assert error.field == "node_pools.0.gpus.sharing.mig_profiles" and "'1g.7gb'" in error.expected


def test_a_missing_profile_file_names_the_referencing_field(tmp_path):
    error = error_for(tmp_path, GOOD.replace("  device: cpu\n  cpu_ms: 10\n", "  profile: missing.yaml\n"))
    assert (error.field, error.line) == ("model.profile", 8)


def test_a_bad_profile_file_is_named_itself(tmp_path):
    write(tmp_path, "device: cpu\ncpu_ms: fast\n", "profile.yaml")
    error = error_for(tmp_path, GOOD.replace("  device: cpu\n  cpu_ms: 10\n", "  profile: profile.yaml\n"))
    assert error.source.endswith("profile.yaml") and (error.field, error.line) == ("cpu_ms", 2)


def test_a_bad_trace_file_names_file_line_and_column(tmp_path):
    (tmp_path / "trace.csv").write_text("timestamp\n0.5\nsoon\n")
    text = GOOD.replace("  type: closed\n  users: 2\n", "  type: trace\n  path: trace.csv\n")
    error = error_for(tmp_path, text)
    assert error.source.endswith("trace.csv") and (error.field, error.line, error.got) == ("timestamp", 3, "'soon'")


def test_a_bad_config_properties_value_names_its_key(tmp_path):
    (tmp_path / "config.properties").write_text("inference_address=http://0.0.0.0:8080\njob_queue_size=lots\n")
    text = GOOD + "deployment:\n  torchserve:\n    config_properties: config.properties\n"
    error = error_for(tmp_path, text)
    assert error.source.endswith("config.properties") and (error.field, error.line) == ("job_queue_size", 2)


def test_cross_field_mistakes_are_caught(tmp_path):
    error = error_for(tmp_path, GOOD + "warmup_s: 20\n")
    assert (error.field, error.line, error.got) == ("warmup_s", 13, "20")
    assert "shorter than duration_s (10 s)" in error.expected
    error = error_for(tmp_path, GOOD + "deployment: {node_pool: gpu}\n")
    assert error.field == "deployment" and "['cpu']" in error.expected


def test_an_unknown_worker_policy_field_is_named(tmp_path):
    text = GOOD + "autoscaling:\n  workers:\n    policy: {target_utilisation: 0.7}\n"
    error = error_for(tmp_path, text)
    assert error.field == "autoscaling.workers.policy.target_utilisation" and "target_utilization" in error.expected


def test_a_broken_hpa_manifest_is_named(tmp_path):
    (tmp_path / "hpa.yaml").write_text("apiVersion: autoscaling/v2\nkind: HorizontalPodAutoscaler\nspec: {}\n")
    error = error_for(tmp_path, GOOD + "autoscaling:\n  hpa: {manifest: {path: hpa.yaml}}\n")
    assert error.source.endswith("hpa.yaml") and error.field.startswith("spec")


VPA = """\
apiVersion: autoscaling.k8s.io/v1
kind: VerticalPodAutoscaler
metadata: {name: torchserve}
spec:
  targetRef: {apiVersion: apps/v1, kind: Deployment, name: torchserve}
"""


def test_a_vpa_on_another_deployment_is_named(tmp_path):
    (tmp_path / "vpa.yaml").write_text(VPA.replace("name: torchserve}\n", "name: other}\n"))
    error = error_for(tmp_path, GOOD + "autoscaling:\n  vpa: {manifest: {path: vpa.yaml}}\n")
    assert error.source.endswith("vpa.yaml") and error.field == "spec.targetRef" and "other" in error.got


def test_an_unknown_vpa_updater_flag_is_named(tmp_path):
    (tmp_path / "vpa.yaml").write_text(VPA)
    error = error_for(tmp_path, GOOD + "autoscaling:\n  vpa:\n    manifest: {path: vpa.yaml}\n"
                      "    updater: {eviction_tolerence: 0.5}\n")
    assert error.field == "autoscaling.vpa.updater.eviction_tolerence" and "eviction_tolerance" in error.expected


def test_a_vpa_half_life_of_zero_is_refused(tmp_path):
    (tmp_path / "vpa.yaml").write_text(VPA)
    error = error_for(tmp_path, GOOD + "autoscaling:\n  vpa:\n    manifest: {path: vpa.yaml}\n"
                      "    aggregation: {memory_half_life_s: 0}\n")
    assert error.field == "autoscaling.vpa.aggregation.memory_half_life_s" and "above 0" in error.expected


DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: roberta}
spec:
  replicas: 3
  template:
    spec:
      nodeSelector: {agentpool: cpu}
      containers:
        - name: torchserve
          image: pytorch/torchserve:0.12.0-gpu
          resources:
            requests: {cpu: "2", memory: 4Gi}
            limits: {memory: 6Gi}
"""


def test_a_real_deployment_manifest_sets_pods_resources_and_pool(tmp_path):
    write(tmp_path, DEPLOYMENT, "deployment.yaml")
    scenario = load_scenario(write(tmp_path, GOOD + "deployment: {manifest: deployment.yaml}\n"))
    deployment = scenario.deployment
    assert (deployment.name, deployment.pods, deployment.node_pool) == ("roberta", 3, "cpu")
    assert deployment.resources.limits == {"memory": "6Gi"} and deployment.resources.requests["cpu"] == "2"


def test_a_manifest_of_the_wrong_kind_is_named(tmp_path):
    write(tmp_path, DEPLOYMENT.replace("kind: Deployment", "kind: StatefulSet"), "deployment.yaml")
    error = error_for(tmp_path, GOOD + "deployment: {manifest: deployment.yaml}\n")
    assert error.source.endswith("deployment.yaml") and error.field == "kind" and "'StatefulSet'" in error.got


def test_an_unknown_cluster_autoscaler_expander_is_a_clear_error(tmp_path):
    error = error_for(tmp_path, GOOD + "autoscaling:\n  cluster:\n    settings: {expander: cheapest}\n")
    assert error.field == "autoscaling.cluster.settings" and "cheapest" in error.got
