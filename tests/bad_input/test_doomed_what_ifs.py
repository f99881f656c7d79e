"""A legal but doomed what-if runs and warns, one line on stderr each: it is a question a user may mean to ask."""
from __future__ import annotations

import pytest

from tests.bad_input.support import SCENARIO, write
from twin.cli import main

SHORT = SCENARIO.replace("duration_s: 60", "duration_s: 5")

HPA_ON_GPU = """\
autoscaling:
  hpa:
    manifest:
      object:
        apiVersion: autoscaling/v2
        kind: HorizontalPodAutoscaler
        metadata: {name: roberta}
        spec:
          scaleTargetRef: {apiVersion: apps/v1, kind: Deployment, name: roberta}
          maxReplicas: 3
          metrics: [{type: Resource, resource: {name: gpu, target: {type: Utilization, averageUtilization: 60}}}]
"""
HPA_ON_INFLIGHT = HPA_ON_GPU.replace("{type: Resource, resource: {name: gpu, target: {type: Utilization, "
                                     "averageUtilization: 60}}}",
                                     "{type: Pods, pods: {metric: {name: inflight}, target: {type: AverageValue, "
                                     "averageValue: '2'}}}")

# (id, scenario, words of the one warning)
CASES = [
    ("pods-that-never-schedule", SHORT.replace("  pods: 1\n", "  pods: 1\n  resources: {requests: {cpu: '64'}}\n"),
     ("Pending", "cpu 64")),
    ("gpu-pods-on-a-cpu-pool", SHORT.replace("    gpus: {count: 1, memory_gib: 80}\n", "").replace(
        "  pods: 1\n", "  pods: 1\n  resources: {limits: {nvidia.com/gpu: 1}}\n").replace(
        "  cpu_ms: 5\n  gpu_ms: 10\n", "  device: cpu\n  cpu_ms: 5\n"), ("Pending", "nvidia.com/gpu 1")),
    ("more-pods-than-the-nodes-hold", SHORT.replace("  pods: 1\n", "  pods: 3\n  resources: {requests: {cpu: '6'}}\n"),
     ("at most 1 of the 3 pods", "Pending")),
    ("a-gpu-profile-on-cpu-nodes", SHORT.replace("    gpus: {count: 1, memory_gib: 80}\n", ""),
     ("model.device is gpu", "no node of gpu has a GPU")),
    ("workers-that-together-overfill-the-gpu", SHORT.replace("  gpu_ms: 10\n", "  gpu_ms: 10\n  gpu_memory_mib: 30000\n")
     .replace("  pods: 1\n", "  pods: 1\n  torchserve: {model: {min_workers: 4}}\n"), ("GPU memory", "only 2 can start")),
    ("workers-above-the-node-memory", SHORT.replace("  pods: 1\n", "  pods: 1\n  torchserve: {model: {min_workers: 20}}\n"),
     ("20 worker(s)", "largest node", "OOM-killed")),
    ("workers-that-cannot-fit-the-gpu", SHORT.replace("  gpu_ms: 10\n", "  gpu_ms: 10\n  gpu_memory_mib: 200000\n"),
     ("GPU memory", "fail to start")),
    ("hpa-on-a-resource-metrics-server-does-not-serve", SHORT + HPA_ON_GPU, ("HPA", "Resource gpu", "not scale")),
    ("hpa-pods-metric-without-a-query", SHORT + HPA_ON_INFLIGHT, ("HPA", "Pods inflight", "autoscaling.hpa.queries")),
    ("group-that-starts-after-the-run", SHORT.replace("  think_time_s: 0.1\n", "  think_time_s: 0.1\n  start_s: 30\n"),
     ("workload.0", "sends nothing")),
    ("workers-above-the-memory-limit", SHORT.replace("  pods: 1\n", "  pods: 1\n  resources: {limits: "
                                                                    "{memory: 1Gi}}\n"), ("OOM-killed",)),
]


@pytest.mark.parametrize("scenario, words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_doomed_what_if_runs_and_warns_once(tmp_path, capsys, scenario, words):
    write(tmp_path, "scenario.yaml", scenario)
    assert main(["run", str(tmp_path / "scenario.yaml"), "--quiet", "--json"]) == 0
    captured = capsys.readouterr()
    warnings = [line for line in captured.err.splitlines() if line.startswith("servetwin: warning:")]
    assert len(warnings) == 1, captured.err
    assert all(word in warnings[0] for word in words) and "scenario.yaml" in warnings[0]
    assert "Traceback" not in captured.err and captured.out.startswith("{")


def test_a_what_if_that_can_go_well_runs_without_a_warning(tmp_path, capsys):
    write(tmp_path, "scenario.yaml", SHORT)
    assert main(["run", str(tmp_path / "scenario.yaml"), "--quiet", "--json"]) == 0
    assert "warning" not in capsys.readouterr().err
