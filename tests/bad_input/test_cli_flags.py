"""Every flag checked by type and range before any work starts: one line, exit 2, nothing written.

Most run in-process through `twin.cli.main`; a few through a real `python -m twin.cli` process, so that the exit
code and stderr are the operating system's.
"""
from __future__ import annotations

import pytest

from tests.bad_input.support import SCENARIO, SETTINGS, refused, refused_in_subprocess, write

OBSERVE = ["observe", "--url", "http://127.0.0.1:8080", "--management-url", "http://127.0.0.1:8081", "--model", "m",
           "--out", "out"]

# (id, argv, what the line must name)
CASES = [
    ("run-seed-negative", ["run", "scenario.yaml", "--seed", "-1"], ("--seed", "-1")),
    ("run-seed-not-a-number", ["run", "scenario.yaml", "--seed", "one"], ("--seed",)),
    ("run-duration-nan", ["run", "scenario.yaml", "--duration", "nan"], ("--duration", "nan")),
    ("run-duration-inf", ["run", "scenario.yaml", "--duration", "inf"], ("--duration",)),
    ("run-duration-zero", ["run", "scenario.yaml", "--duration", "0"], ("--duration",)),
    ("run-duration-absurd", ["run", "scenario.yaml", "--duration", "1e15"], ("--duration",)),
    ("run-unknown-flag", ["run", "scenario.yaml", "--sped", "2"], ("--sped",)),
    ("run-missing-scenario", ["run"], ("scenario",)),
    ("unknown-command", ["simulate", "scenario.yaml"], ("simulate",)),
    ("live-duration-nan", ["live", "live.yaml", "--duration", "nan"], ("--duration",)),
    ("live-duration-negative", ["live", "live.yaml", "--duration", "-5"], ("--duration", "-5")),
    ("live-mode-unknown", ["live", "live.yaml", "--mode", "yolo"], ("--mode",)),
    ("replay-speed-zero", ["replay", "decisions.jsonl", "--settings", "live.yaml", "--speed", "0"], ("--speed",)),
    ("replay-speed-negative", ["replay", "decisions.jsonl", "--settings", "live.yaml", "--speed", "-2"], ("--speed",)),
    ("replay-speed-inf", ["replay", "decisions.jsonl", "--settings", "live.yaml", "--speed", "inf"], ("--speed",)),
    ("sweep-workers-negative", ["sweep", "sweep.yaml", "--out", "out", "--workers", "-3"], ("--workers", "-3")),
    ("sweep-workers-zero", ["sweep", "sweep.yaml", "--out", "out", "--workers", "0"], ("--workers",)),
    ("sweep-dask-without-port", ["sweep", "sweep.yaml", "--out", "out", "--scheduler", "tcp://scheduler"],
     ("--scheduler", "port")),
    ("sweep-dask-port-99999", ["sweep", "sweep.yaml", "--out", "out", "--scheduler", "tcp://scheduler:99999"],
     ("--scheduler",)),
    ("optimize-workers-text", ["optimize", "question.yaml", "--out", "out", "--workers", "many"], ("--workers",)),
    ("predict-replications-zero", ["predict", "--runs", "runs.csv", "--out", "o.csv", "--replications", "0"],
     ("--replications",)),
    ("predict-seed-negative", ["predict", "--runs", "runs.csv", "--out", "o.csv", "--seed", "-1"], ("--seed",)),
    ("check-jobs-zero", ["check", "--jobs", "0"], ("--jobs",)),
    ("check-replications-negative", ["check", "--replications", "-2"], ("--replications",)),
    ("observe-url-not-a-url", ["observe", "--url", "localhost", *OBSERVE[3:]], ("--url", "http(s)")),
    ("observe-url-ftp", ["observe", "--url", "ftp://host:21", *OBSERVE[3:]], ("--url",)),
    ("observe-url-port-99999", ["observe", "--url", "http://host:99999", *OBSERVE[3:]], ("--url", "65535")),
    ("observe-metrics-url", [*OBSERVE, "--metrics-url", "host:8082"], ("--metrics-url",)),
    ("observe-model-empty", ["observe", *OBSERVE[1:5], "--model", "", "--out", "out"], ("--model",)),
    ("observe-users-zero", [*OBSERVE, "--users", "1,0,4"], ("--users",)),
    ("observe-users-millions", [*OBSERVE, "--users", "5000000"], ("--users",)),
    ("observe-workers-negative", [*OBSERVE, "--workers", "-1"], ("--workers",)),
    ("observe-duration-negative", [*OBSERVE, "--duration", "-5"], ("--duration",)),
    ("observe-pause-nan", [*OBSERVE, "--pause", "nan"], ("--pause",)),
    ("observe-pods-zero", [*OBSERVE, "--pods", "0"], ("--pods",)),
    ("observe-node-ram-inf", [*OBSERVE, "--node-ram-gb", "inf"], ("--node-ram-gb",)),
    ("observe-gpu-model-empty", [*OBSERVE, "--gpu-model", ""], ("--gpu-model",)),
    ("observe-cloud-vm-with-a-space", [*OBSERVE, "--cloud-vm", "Standard NC24"], ("--cloud-vm",)),
    ("observe-token-with-a-newline", [*OBSERVE, "--token", "abc\ndef"], ("--token",)),
    ("compare-seed-negative", ["compare", "scenario.yaml", "default", "--seed", "-1"], ("--seed", "-1")),
    ("compare-seeds-zero", ["compare", "scenario.yaml", "default", "--seeds", "0"], ("--seeds",)),
    ("compare-seeds-absurd", ["compare", "scenario.yaml", "default", "--seeds", "1000000"], ("--seeds",)),
    ("compare-duration-nan", ["compare", "scenario.yaml", "default", "--duration", "nan"], ("--duration",)),
    ("compare-one-scenario", ["compare", "scenario.yaml"], ("two or more",)),
    ("compare-missing-scenario", ["compare", "scenario.yaml", "nope"], ("nope", "bundled scenario")),
]


@pytest.fixture
def folder(tmp_path):
    write(tmp_path, "scenario.yaml", SCENARIO)
    write(tmp_path, "live.yaml", SETTINGS)
    write(tmp_path, "sweep.yaml", "base: scenario.yaml\ngrid: {deployment.pods: [1, 2]}\n")
    write(tmp_path, "question.yaml", "base: scenario.yaml\nslo: {latency_p95_ms: 200}\n"
                                     "search: {deployment.pods: [1, 2]}\n")
    write(tmp_path, "decisions.jsonl", '{"time_s": 0, "controller": "hpa", "action": "scale_deployment", '
                                       '"target": "roberta", "value": {"replicas": 2}}\n')
    return tmp_path


@pytest.mark.parametrize("argv, names", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_flag_is_refused_before_any_work(folder, capsys, argv, names):
    line = refused(folder, argv, capsys, names=names)
    assert line.startswith("servetwin: error: ")


def test_the_real_process_exits_2_with_one_line_for_a_flag(folder):
    refused_in_subprocess(folder, ["run", "scenario.yaml", "--seed", "-1"], names=("--seed",))


def test_the_real_process_exits_2_with_one_line_for_a_file(folder):
    write(folder, "scenario.yaml", SCENARIO.replace("duration_s: 60", "duration_s: .inf"))
    refused_in_subprocess(folder, ["run", "scenario.yaml", "--quiet"], names=("scenario.yaml:2", "duration_s"))
