"""Sweep and optimisation question files: sample bounds, empty grids, sizes, seeds, and points the base refuses."""
from __future__ import annotations

import pytest

from tests.bad_input.support import SCENARIO, refused, write

SWEEP = "base: scenario.yaml\nreplications: 1\ngrid: {deployment.pods: [1, 2]}\n"
QUESTION = ("base: scenario.yaml\nreplications: 1\nslo: {latency_p95_ms: 200}\n"
            "search: {deployment.pods: [1, 2]}\n")

# (id, sweep file, what the line must name)
SWEEP_CASES = [
    ("empty-grid", "base: scenario.yaml\ngrid: {}\n", ("grid", "at least one field")),
    ("empty-points", "base: scenario.yaml\npoints: []\n", ("points",)),
    ("grid-field-without-values", "base: scenario.yaml\ngrid: {deployment.pods: []}\n", ("grid.deployment.pods",)),
    ("nothing-varies", "base: scenario.yaml\n", ("nothing varies",)),
    ("sample-int-low-above-high", "base: scenario.yaml\nsample: {n: 2, fields: {deployment.pods: {int: [5, 1]}}}\n",
     ("sample.fields.deployment.pods.int", "low at most high")),
    ("sample-uniform-low-above-high", "base: scenario.yaml\nsample: {n: 2, fields: {slo.max_error_ratio: "
                                      "{uniform: [0.5, 0.1]}}}\n", ("uniform",)),
    ("sample-uniform-inf", "base: scenario.yaml\nsample: {n: 2, fields: {slo.max_error_ratio: "
                           "{uniform: [0, .inf]}}}\n", ("uniform",)),
    ("replications-zero", SWEEP.replace("replications: 1", "replications: 0"), ("replications",)),
    ("seed-negative", SWEEP + "seed: -1\n", ("seed",)),
    ("duration-inf", SWEEP + "duration_s: .inf\n", ("duration_s", "finite")),
    ("duration-bool", SWEEP + "duration_s: true\n", ("duration_s", "true/false")),
    ("too-many-runs", "base: scenario.yaml\nreplications: 1000\ngrid: {deployment.pods: [1, 2, 3, 4, 5, 6, 7, 8, 9, "
                      "10, 11], workload.users: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]}\n", ("grid", "100,000")),
    ("point-the-base-refuses", SWEEP.replace("[1, 2]", "[1, -2]"), ("deployment.pods", "point 1")),
    ("missing-base", SWEEP.replace("base: scenario.yaml", "base: nope.yaml"), ("base", "nope.yaml")),
    ("duplicate-key", SWEEP + "replications: 2\n", ("replications", "each key once")),
    ("utf-16", SWEEP.encode("utf-16"), ("UTF-16",)),
]


QUESTION_CASES = [
    ("search-empty", QUESTION.replace("search: {deployment.pods: [1, 2]}", "search: {}"), ("search",)),
    ("search-values-empty", QUESTION.replace("[1, 2]", "[]"), ("search",)),
    ("slo-inf", QUESTION.replace("latency_p95_ms: 200", "latency_p95_ms: .inf"), ("slo.latency_p95_ms",)),
    ("seed-negative", QUESTION + "seed: -3\n", ("seed",)),
    ("too-many-runs", QUESTION.replace("search: {deployment.pods: [1, 2]}",
                                       "search: {deployment.pods: [%s], workload.users: [%s]}"
                                       % (", ".join(map(str, range(1, 400))), ", ".join(map(str, range(1, 400))))),
     ("search", "100,000")),
    ("candidate-the-base-refuses", QUESTION.replace("[1, 2]", "[1, 2147483648]"), ("deployment.pods",)),
]


CASES = [("sweep", "sweep.yaml", *case) for case in SWEEP_CASES] + [
    ("optimize", "question.yaml", *case) for case in QUESTION_CASES]


@pytest.mark.parametrize("command, name, content, names", [c[:2] + c[3:] for c in CASES],
                         ids=[f"{c[0]}-{c[2]}" for c in CASES])
def test_a_bad_sweep_or_question_file_is_refused_with_one_line(tmp_path, capsys, command, name, content, names):
    write(tmp_path, "scenario.yaml", SCENARIO)
    write(tmp_path, name, content)
    refused(tmp_path, [command, name, "--out", "out", "--workers", "1", "--quiet"], capsys, names=(name, *names))


@pytest.mark.parametrize("command, name, content", [("sweep", "sweep.yaml", SWEEP), ("optimize", "question.yaml",
                                                                                     QUESTION)])
def test_a_base_that_is_wrong_on_its_own_is_named_not_the_sweep(tmp_path, capsys, command, name, content):
    write(tmp_path, "scenario.yaml", SCENARIO.replace("duration_s: 60", "duration_s: -60"))
    write(tmp_path, name, content)
    line = refused(tmp_path, [command, name, "--out", "out", "--quiet"], capsys, names=("scenario.yaml:2:", "duration_s"))
    assert name not in line


def test_the_good_sweep_and_question_load(tmp_path):
    from twin.sweep import optimize, spec

    write(tmp_path, "scenario.yaml", SCENARIO)
    assert len(spec.points(spec.load_sweep(write(tmp_path, "sweep.yaml", SWEEP)))) == 2
    assert len(optimize.grid(optimize.load_question(write(tmp_path, "question.yaml", QUESTION)))) == 2
