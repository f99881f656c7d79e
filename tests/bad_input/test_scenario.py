"""Scenario YAML: encodings, YAML shape, numbers out of range, and contradictions the real systems reject."""
from __future__ import annotations

import pytest

from tests.bad_input.support import SCENARIO, refused, write

LATIN_1 = SCENARIO.replace("name: bad-input", "name: caf\xe9").encode("latin-1")
DEEP = "duration_s: 60\nx: " + "[" * 5000 + "]" * 5000 + "\n"
ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join(['*' + chr(97 + i)] * 10)}]\n" for i in range(7))


def replaced(old: str, new: str) -> str:
    assert old in SCENARIO
    return SCENARIO.replace(old, new)


# (id, content of scenario.yaml, what the one line must name)
CASES = [
    ("latin-1", LATIN_1, ("UTF-8", "scenario.yaml:1:")),
    ("utf-16", SCENARIO.encode("utf-16"), ("UTF-16",)),
    ("binary", b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", ("binary",)),
    ("deep-nesting", DEEP, ("nested",)),
    ("alias-bomb", ALIAS_BOMB, ("aliases",)),
    ("recursive-alias", "duration_s: 60\nx: &a [*a]\n", ("alias",)),
    ("duplicate-key", SCENARIO + "duration_s: 120\n", ("duration_s", "each key once")),
    ("not-a-mapping", "- a\n- b\n", ("mapping",)),
    ("duration-inf", replaced("duration_s: 60", "duration_s: .inf"), ("duration_s", "finite")),
    ("duration-nan", replaced("duration_s: 60", "duration_s: .nan"), ("duration_s",)),
    ("duration-bool", replaced("duration_s: 60", "duration_s: true"), ("duration_s", "true/false")),
    ("duration-absurd", replaced("duration_s: 60", "duration_s: 1e12"), ("duration_s", "31622400")),
    ("rate-inf", replaced("  type: closed\n  users: 2\n  think_time_s: 0.1\n", "  type: poisson\n  rate_rps: .inf\n"),
     ("rate_rps", "finite")),
    ("rate-absurd", replaced("  type: closed\n  users: 2\n  think_time_s: 0.1\n", "  type: poisson\n  rate_rps: 1e9\n"),
     ("workload", "requests")),
    ("cpu-ms-inf", replaced("cpu_ms: 5", "cpu_ms: .inf"), ("model.cpu_ms",)),
    ("pods-above-int32", replaced("pods: 1", "pods: 2147483648"), ("deployment.pods", "150000")),
    ("millions-of-users", replaced("users: 2", "users: 5000000"), ("workload.users",)),
    ("users-bool", replaced("users: 2", "users: true"), ("users", "true/false")),
    ("seed-negative", "seed: -1\n" + SCENARIO, ("seed",)),
    ("zero-time-closed-loop", replaced("cpu_ms: 5\n  gpu_ms: 10", "cpu_ms: 0").replace("think_time_s: 0.1",
                                                                                     "think_time_s: 0"),
     ("think_time_s", "clock")),
    ("scrape-every-nanosecond", SCENARIO + "metrics: {scrape_interval_s: 1e-9}\n", ("scrape_interval_s", "ticks")),
    ("max-workers-below-min", SCENARIO.replace("  pods: 1\n", "  pods: 1\n  torchserve: {model: {min_workers: 4, "
                                               "max_workers: 2}}\n"), ("max_workers", "min_worker")),
    ("limit-below-request", replaced("  pods: 1\n", "  pods: 1\n  resources: {requests: {memory: 4Gi}, limits: "
                                                  "{memory: 2Gi}}\n"), ("requests.memory", "limits.memory")),
    ("negative-cpu-request", replaced("  pods: 1\n", "  pods: 1\n  resources: {requests: {cpu: '-1'}}\n"),
     ("requests.cpu", ">= 0")),
    ("gpu-request-not-whole", replaced("  pods: 1\n", "  pods: 1\n  resources: {limits: {nvidia.com/gpu: 500m}}\n"),
     ("nvidia.com/gpu", "whole")),
    ("gpu-request-not-limit", replaced("  pods: 1\n", "  pods: 1\n  resources: {requests: {nvidia.com/gpu: 1}, "
                                                    "limits: {nvidia.com/gpu: 2}}\n"), ("nvidia.com/gpu", "equal")),
    ("pool-min-above-max", replaced("    gpus: {count: 1, memory_gib: 80}\n", "    gpus: {count: 1, memory_gib: 80}\n"
                                    "    autoscaling: {min_count: 5, max_count: 2}\n"), ("min_count", "max_count")),
    ("allocatable-above-vcpus", replaced("    vcpus: 8\n", "    vcpus: 8\n    allocatable_cpu: 16\n"),
     ("node_pools.0.allocatable_cpu", "vcpus")),
    ("stop-before-start", replaced("  think_time_s: 0.1\n", "  think_time_s: 0.1\n  start_s: 30\n  stop_s: 10\n"),
     ("workload.stop_s", "start_s")),
    ("steps-out-of-order", replaced("  type: closed\n  users: 2\n  think_time_s: 0.1\n", "  type: steps\n  steps: "
                                    "[{at_s: 30, rate_rps: 1}, {at_s: 0, rate_rps: 2}]\n"), ("steps", "order")),
    ("nodes-absurd", replaced("    vcpus: 8\n", "    vcpus: 8\n    count: 1000000\n"), ("node_pools.0.count",)),
    ("negative-interval", SCENARIO + "metrics: {scrape_interval_s: -15}\n", ("scrape_interval_s",)),
    ("unknown-field", replaced("users: 2", "user: 2"), ("workload.user",)),
    ("instant-retry", replaced("think_time_s: 0.1", "think_time_s: 0\n  reconnect_delay_s: 0"),
     ("reconnect_delay_s", "same instant")),
    ("quantity-exponent", replaced("  pods: 1\n", "  pods: 1\n  resources: {limits: {memory: 1e999999999}}\n"),
     ("deployment.resources.limits", "quantity")),
    ("yaml-python-object", SCENARIO + "x: !!python/object/apply:os.system ['true']\n", ("valid YAML",)),
    ("vpa-unknown-mode", SCENARIO + "autoscaling: {vpa: {manifest: {object: {apiVersion: autoscaling.k8s.io/v1, kind: "
     "VerticalPodAutoscaler, spec: {targetRef: {kind: Deployment, name: roberta}, updatePolicy: {updateMode: "
     "Sometimes}}}}}}\n", ("spec.updatePolicy.updateMode", "InPlaceOrRecreate")),
]


@pytest.mark.parametrize("content, names", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_scenario_is_refused_with_one_line(tmp_path, capsys, content, names):
    write(tmp_path, "scenario.yaml", content)
    line = refused(tmp_path, ["run", "scenario.yaml", "--quiet", "--out", "out"], capsys, names=("scenario.yaml",
                                                                                                 *names))
    assert "expected" in line and "got" in line


@pytest.mark.parametrize("make, got", [
    (lambda folder: folder / "missing.yaml", "no such file"),
    (lambda folder: (folder / "adir.yaml").mkdir() or folder / "adir.yaml", "a directory"),
])
def test_a_scenario_that_is_not_a_file_is_named(tmp_path, capsys, make, got):
    path = make(tmp_path)
    refused(tmp_path, ["validate", path.name], capsys, names=(path.name, got))


def test_the_line_of_a_duplicate_key_is_named(tmp_path, capsys):
    write(tmp_path, "scenario.yaml", SCENARIO + "duration_s: 120\n")
    line = refused(tmp_path, ["validate", "scenario.yaml"], capsys)
    assert line.startswith(f"servetwin: error: scenario.yaml:{SCENARIO.count(chr(10)) + 1}:")
    assert "first at line 2" in line


def test_the_good_scenario_passes(tmp_path, capsys):
    """The cases above differ from a scenario that loads: each fails for its own mistake."""
    from twin.cli import main
    write(tmp_path, "scenario.yaml", SCENARIO)
    assert main(["validate", str(tmp_path / "scenario.yaml")]) == 0
    assert capsys.readouterr().err == ""


def test_a_burst_beyond_the_run_does_not_count_against_its_size(tmp_path, capsys):
    """The work bound counts what happens inside the run: a huge burst after the end is legal, and harmless."""
    from twin.cli import main
    write(tmp_path, "scenario.yaml", replaced("  type: closed\n  users: 2\n  think_time_s: 0.1\n",
                                              "  type: bursts\n  base_rps: 1\n  bursts: [{at_s: 1e9, duration_s: 1e9, "
                                              "rate_rps: 1e6}]\n"))
    assert main(["validate", str(tmp_path / "scenario.yaml")]) == 0, capsys.readouterr().err
