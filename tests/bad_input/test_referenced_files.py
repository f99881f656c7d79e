"""Files a scenario names: a Deployment manifest, HPA and KEDA manifests, config.properties, a trace CSV, a profile.

Each is read as its owner reads it (config.properties as ISO-8859-1, like Java), and what the real system rejects
(the API server, TorchServe, KEDA's admission webhook) is rejected with the same rule, naming the file that says it.
"""
from __future__ import annotations

import pytest

from tests.bad_input.support import HPA, KEDA, SCENARIO, refused, write
from twin.cli import main

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: roberta}
spec:
  replicas: 2
  template:
    spec:
      containers:
        - name: torchserve
          resources: {requests: {cpu: "2", memory: 4Gi}, limits: {memory: 6Gi}}
"""


MODELS_OVER_LINES = """\
inference_address=http://0.0.0.0:8080
models={\\
  "roberta": {\\
    "1.0": {\\
      "minWorkers": 4,\\
      "maxWorkers": 2\\
    }\\
  }\\
}
"""


def uses(section: str) -> str:
    return SCENARIO + section


KEDA_SCENARIO = uses("autoscaling:\n  keda: {manifest: keda.yaml}\n")
HPA_SCENARIO = uses("autoscaling:\n  hpa: {manifest: hpa.yaml}\n")
PROPERTIES_SCENARIO = SCENARIO.replace("  pods: 1\n", "  pods: 1\n  torchserve: {config_properties: config.properties}\n")
TRACE_SCENARIO = SCENARIO.replace("  type: closed\n  users: 2\n  think_time_s: 0.1\n", "  type: trace\n  path: trace.csv\n")
MANIFEST_SCENARIO = SCENARIO.replace("  name: roberta\n  pods: 1\n", "  manifest: deployment.yaml\n")
PROFILE_SCENARIO = SCENARIO.replace("  cpu_ms: 5\n  gpu_ms: 10\n", "  profile: profile.yaml\n")

# (id, scenario text, referenced file name, its content, what the line must name)
CASES = [
    ("manifest-latin-1", MANIFEST_SCENARIO, "deployment.yaml", DEPLOYMENT.replace("roberta", "rob\xe9rta").encode(
        "latin-1"), ("deployment.yaml", "UTF-8")),
    ("manifest-duplicate-key", MANIFEST_SCENARIO, "deployment.yaml", DEPLOYMENT + "kind: StatefulSet\n",
     ("deployment.yaml", "kind")),
    ("manifest-limit-below-request", MANIFEST_SCENARIO, "deployment.yaml", DEPLOYMENT.replace("limits: {memory: 6Gi}",
                                                                                          "limits: {memory: 1Gi}"),
     ("deployment.yaml:10: spec.template.spec.containers.0.resources.requests.memory:", "limits.memory")),
    ("manifest-negative-cpu", MANIFEST_SCENARIO, "deployment.yaml", DEPLOYMENT.replace('cpu: "2"', 'cpu: "-2"'),
     ("requests.cpu",)),
    ("manifest-replicas-huge", MANIFEST_SCENARIO, "deployment.yaml", DEPLOYMENT.replace("replicas: 2",
                                                                                       "replicas: 4294967296"),
     ("deployment.yaml:5: spec.replicas:", "150000")),
    ("manifest-replicas-text", MANIFEST_SCENARIO, "deployment.yaml", DEPLOYMENT.replace("replicas: 2", "replicas: two"),
     ("deployment.yaml:5: spec.replicas:", "'two'")),
    ("manifest-resource-name", MANIFEST_SCENARIO, "deployment.yaml", DEPLOYMENT.replace('cpu: "2"', 'cpus: "2"'),
     ("deployment.yaml:10: spec.template.spec.containers.0.resources.requests.cpus:",)),
    ("keda-utf-16", KEDA_SCENARIO, "keda.yaml", KEDA.encode("utf-16"), ("keda.yaml", "UTF-16")),
    ("keda-unbalanced-promql", KEDA_SCENARIO, "keda.yaml", KEDA.replace("[1m]))", "[1m])"),
     ("keda.yaml:13: spec.triggers.0.metadata.query", "PromQL")),
    ("keda-server-not-http", KEDA_SCENARIO, "keda.yaml", KEDA.replace("http://prometheus:9090", "prometheus:9090"),
     ("keda.yaml", "serverAddress")),
    ("keda-server-port-99999", KEDA_SCENARIO, "keda.yaml", KEDA.replace("prometheus:9090", "prometheus:99999"),
     ("keda.yaml", "serverAddress")),
    ("keda-negative-polling", KEDA_SCENARIO, "keda.yaml", KEDA.replace("pollingInterval: 15", "pollingInterval: -15"),
     ("keda.yaml", "pollingInterval")),
    ("keda-negative-threshold", KEDA_SCENARIO, "keda.yaml", KEDA.replace('threshold: "20"', 'threshold: "-20"'),
     ("keda.yaml", "threshold")),
    ("keda-other-deployment", KEDA_SCENARIO, "keda.yaml", KEDA.replace("scaleTargetRef: {name: roberta}",
                                                                       "scaleTargetRef: {name: detr}"),
     ("keda.yaml", "scaleTargetRef", "'detr'")),
    ("hpa-other-deployment", HPA_SCENARIO, "hpa.yaml", HPA.replace("name: roberta}", "name: detr}"),
     ("hpa.yaml", "scaleTargetRef", "'detr'")),
    ("hpa-negative-target", HPA_SCENARIO, "hpa.yaml", HPA.replace("averageUtilization: 60", "averageUtilization: -60"),
     ("hpa.yaml:10: spec.metrics[0].resource.target.averageUtilization",)),
    ("keda-inline-min-above-max", SCENARIO + "autoscaling:\n  keda:\n    manifest:\n      object:\n"
     + "".join(f"        {line}\n" for line in KEDA.replace("minReplicaCount: 1", "minReplicaCount: 9").splitlines()),
     "unused.txt", "", ("scenario.yaml:28: autoscaling.keda.manifest.object.spec.minReplicaCount",)),
    ("hpa-min-replicas-zero", HPA_SCENARIO, "hpa.yaml", HPA.replace("minReplicas: 1", "minReplicas: 0"),
     ("hpa.yaml:6: spec.minReplicas", "HPAScaleToZero")),
    ("hpa-directory", HPA_SCENARIO, "hpa.yaml/x", "", ("hpa.yaml",)),
    ("properties-max-below-min", PROPERTIES_SCENARIO, "config.properties",
     'models={"roberta": {"1.0": {"minWorkers": 4, "maxWorkers": 2}}}\n',
     ("config.properties:1", "models.maxWorkers", "models.minWorkers (4)", "got 2")),
    ("properties-max-below-min-over-lines", PROPERTIES_SCENARIO, "config.properties", MODELS_OVER_LINES,
     ("config.properties:6", "models.maxWorkers")),
    ("properties-max-below-server-default", PROPERTIES_SCENARIO, "config.properties",
     'default_workers_per_model=4\nmodels={"roberta": {"1.0": {"maxWorkers": 2}}}\n',
     ("config.properties:2", "models.maxWorkers", "default_workers_per_model (4)")),
    ("properties-workers-negative", PROPERTIES_SCENARIO, "config.properties", "default_workers_per_model=-1\n",
     ("config.properties:1", "default_workers_per_model", "-1")),
    ("properties-timeout-fraction", PROPERTIES_SCENARIO, "config.properties", "default_response_timeout=2.5\n",
     ("config.properties:1", "default_response_timeout", "whole number")),
    ("properties-queue-zero-space-separated", PROPERTIES_SCENARIO, "config.properties", "# q\njob_queue_size   0\n",
     ("config.properties:2", "job_queue_size")),
    ("properties-models-batch-bool", PROPERTIES_SCENARIO, "config.properties",
     'models={"roberta": {"1.0": {"batchSize": true}}}\n', ("config.properties:1", "models.batchSize", "true")),
    ("properties-models-delay-negative", PROPERTIES_SCENARIO, "config.properties",
     'models={"roberta": {"1.0": {"maxBatchDelay": -3}}}\n', ("models.maxBatchDelay", "-3")),
    ("properties-malformed-unicode-escape", PROPERTIES_SCENARIO, "config.properties", "job_queue_size=\\u00\n",
     ("config.properties:1", "job_queue_size", "\\uXXXX")),
    ("properties-utf-16", PROPERTIES_SCENARIO, "config.properties", "job_queue_size=5\n".encode("utf-16"),
     ("config.properties", "UTF-16")),
    ("properties-nan", PROPERTIES_SCENARIO, "config.properties", "job_queue_size=NaN\n",
     ("config.properties:1", "job_queue_size")),
    ("properties-binary", PROPERTIES_SCENARIO, "config.properties", b"job_queue_size=1\x00\x01\x02",
     ("config.properties", "binary")),
    ("properties-models-not-json", PROPERTIES_SCENARIO, "config.properties", 'models={"roberta": \n',
     ("config.properties", "models")),
    ("trace-utf-16", TRACE_SCENARIO, "trace.csv", "timestamp\n0.1\n0.2\n".encode("utf-16"), ("trace.csv", "UTF-16")),
    ("trace-inf", TRACE_SCENARIO, "trace.csv", "timestamp\n0.1\ninf\n", ("trace.csv:3", "timestamp")),
    ("trace-header-only", TRACE_SCENARIO, "trace.csv", "timestamp\n", ("trace.csv", "timestamp")),
    ("trace-bad-quoting", TRACE_SCENARIO, "trace.csv", 'timestamp\n"0.1\n', ("trace.csv",)),
    ("profile-binary", PROFILE_SCENARIO, "profile.yaml", b"\xff\xfe\x00\x01", ("profile.yaml",)),
    ("profile-cpu-ms-inf", PROFILE_SCENARIO, "profile.yaml", "cpu_ms: .inf\n", ("profile.yaml", "cpu_ms")),
]


@pytest.mark.parametrize("scenario, name, content, names", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_referenced_file_is_refused_with_one_line(tmp_path, capsys, scenario, name, content, names):
    write(tmp_path, "scenario.yaml", scenario)
    write(tmp_path, name, content)
    refused(tmp_path, ["run", "scenario.yaml", "--quiet", "--out", "out"], capsys, names=names)


def test_an_hpa_and_a_scaled_object_on_one_deployment_are_refused_as_keda_does(tmp_path, capsys):
    write(tmp_path, "keda.yaml", KEDA)
    write(tmp_path, "hpa.yaml", HPA)
    write(tmp_path, "scenario.yaml", uses("autoscaling:\n  keda: {manifest: keda.yaml}\n  hpa: {manifest: hpa.yaml}\n"))
    refused(tmp_path, ["validate", "scenario.yaml"], capsys, names=("scenario.yaml", "autoscaling", "not both"))


def test_an_unbalanced_hpa_query_is_refused_at_load(tmp_path, capsys):
    hpa = HPA.replace("    - type: Resource\n      resource: {name: cpu, target: {type: Utilization, "
                      "averageUtilization: 60}}\n",
                      "    - type: Pods\n      pods:\n        metric: {name: inflight}\n"
                      "        target: {type: AverageValue, averageValue: '2'}\n")
    write(tmp_path, "hpa.yaml", hpa)
    write(tmp_path, "scenario.yaml", uses("autoscaling:\n  hpa:\n    manifest: hpa.yaml\n"
                                          "    queries: {inflight: 'sum(rate(x[1m])'}\n"))
    refused(tmp_path, ["validate", "scenario.yaml"], capsys, names=("scenario.yaml:", "autoscaling.hpa.queries"))


def test_a_latin_1_config_properties_is_read_as_java_reads_it(tmp_path, capsys):
    """ISO-8859-1 is the encoding of .properties files: an accented comment is no error, and \\u escapes decode."""
    write(tmp_path, "config.properties", "# r\xe9glages de l'\xe9quipe\njob_queue_size=\\u0037\n".encode("latin-1"))
    write(tmp_path, "scenario.yaml", PROPERTIES_SCENARIO)
    from twin.config.loader import load_scenario

    assert load_scenario(tmp_path / "scenario.yaml").deployment.torchserve.model.job_queue_size == 7


def test_config_properties_separators_and_escapes_are_javas(tmp_path):
    """Whitespace separates a key as `=` and `:` do; `\\` continues a line, whose leading blanks are dropped."""
    write(tmp_path, "config.properties", "job_queue_size   12\ndefault_response_timeout : 30\n"
                                         "default_workers_per_model=\\\n    3\n")
    write(tmp_path, "scenario.yaml", PROPERTIES_SCENARIO)
    from twin.config.loader import load_scenario

    model = load_scenario(tmp_path / "scenario.yaml").deployment.torchserve.model
    assert (model.job_queue_size, model.response_timeout_s, model.min_workers) == (12, 30, 3)


def test_the_good_referenced_files_load(tmp_path, capsys):
    """Each case above breaks one file of a set that loads."""
    for name, content in (("deployment.yaml", DEPLOYMENT), ("keda.yaml", KEDA), ("hpa.yaml", HPA),
                          ("config.properties", "job_queue_size=5\n"), ("trace.csv", "timestamp\n0.1\n0.2\n")):
        write(tmp_path, name, content)
    for scenario in (MANIFEST_SCENARIO, KEDA_SCENARIO, HPA_SCENARIO, PROPERTIES_SCENARIO, TRACE_SCENARIO):
        write(tmp_path, "scenario.yaml", scenario)
        assert main(["validate", str(tmp_path / "scenario.yaml")]) == 0, capsys.readouterr().err
