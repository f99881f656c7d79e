"""`--set PATH=VALUE` on run, validate and sweep, and bundled scenarios and profiles used by name."""
from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from twin.cli import main
from twin.config import overrides
from twin.config.loader import load_scenario
from twin.errors import InputError

ROOT = Path(__file__).resolve().parents[2]


def _summary(capsys, *argv: str) -> dict:
    assert main(["run", *argv, "--json", "--quiet"]) == 0
    return json.loads(capsys.readouterr().out)


def test_set_values_are_yaml():
    assert overrides.assignment("deployment.pods=3") == ("deployment.pods", 3)
    assert overrides.assignment("deployment.resources.limits.memory=16Gi")[1] == "16Gi"
    assert overrides.assignment('threshold="10"')[1] == "10" and overrides.assignment("x={a: 1}")[1] == {"a": 1}
    assert overrides.assignment("model.name=a=b")[1] == "a=b"  # only the first '=' splits


def test_run_with_set_changes_the_scenario(capsys):
    summary = _summary(capsys, "default", "--duration", "15", "--set", "deployment.pods=2",
                       "--set", "workload.0.users=4")
    assert summary["scenario"] == "default" and len(summary["pods"]) == 2
    assert _summary(capsys, "default", "--duration", "15")["requests"] > summary["requests"]  # 5 users, not 4


def test_a_bad_set_is_one_line(capsys):
    assert main(["validate", "default", "--set", "deployment.podz=2"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "deployment.podz" in error and "unknown field 'podz'" in error
    assert main(["validate", "default", "--set", "workload.3.users=2"]) == 2
    assert "an index below 1" in capsys.readouterr().err
    assert main(["run", "default", "--set", "deployment.pods"]) == 2
    assert "expected PATH=VALUE" in capsys.readouterr().err


def test_bundled_scenarios_by_name_from_any_folder(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["validate", "questions/workers-vs-pods-2x4"]) == 0
    assert main(["validate", "scenarios/default.yaml"]) == 0  # the README's path, outside the checkout
    assert "ok" in capsys.readouterr().out
    assert main(["run", "no-such-scenario"]) == 2
    error = capsys.readouterr().err
    assert "default, " in error and "questions/workers-vs-pods-2x4" in error and "no such file" in error


def test_compare_takes_bundled_scenarios_by_name_as_run_does(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["compare", "default", "questions/workers-vs-pods-2x4", "--duration", "30", "--json"]) == 0
    assert set(json.loads(capsys.readouterr().out)) == {"default", "workers-vs-pods-2x4"}
    assert main(["compare", "default", "no-such-scenario"]) == 2
    assert "no-such-scenario" in capsys.readouterr().err


def test_bundled_profiles_by_name_in_a_scenario(tmp_path):
    text = (ROOT / "scenarios/default.yaml").read_text().replace(
        "profile: ../calibration/profiles/roberta-base-go_emotions-a100-80gb.yaml", "profile: detr-resnet-50-a10-4q")
    (tmp_path / "s.yaml").write_text(text)
    assert load_scenario(tmp_path / "s.yaml").model.name == "detr-resnet-50-a10-4q"  # the file's own name
    with pytest.raises(InputError) as raised:
        load_scenario(tmp_path / "s.yaml", {"model.profile": "detr-resnet-50-h100"})
    assert raised.value.field == "model.profile" and "detr-resnet-50-a100-80gb" in raised.value.expected


def test_sweep_with_set_fixes_a_field_of_every_run(tmp_path, capsys):
    sweep = tmp_path / "sweep.yaml"
    sweep.write_text(f"base: {ROOT / 'scenarios/default.yaml'}\nduration_s: 15\ngrid: {{deployment.pods: [1, 2]}}\n")
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "1", "--quiet",
                 "--set", "workload.0.users=2"]) == 0
    runs = pd.read_csv(tmp_path / "out/runs.csv")
    assert list(runs["workload.0.users"]) == [2, 2] and list(runs["deployment.pods"]) == [1, 2]
    assert main(["sweep", str(sweep), "--out", str(tmp_path / "again"), "--set", "deployment.pods=3"]) == 2
    assert "a field the sweep does not vary" in capsys.readouterr().err
