"""A wrong live settings file is one clear line naming the file, line and field; the bundled example is valid."""
from __future__ import annotations

from pathlib import Path

import pytest

from twin import cli
from twin.errors import InputError
from twin.live.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
GOOD = """scenario: scenario.yaml
cluster: {namespace: serving, deployment: roberta}
torchserve: {model: roberta}
prometheus: {url: http://127.0.0.1:9090}
guardrails: {namespaces: [serving], objects: [deployment/roberta]}
"""


def test_the_bundled_example_is_valid():
    settings = load_settings(ROOT / "deploy" / "live-example.yaml")
    assert settings.path(settings.scenario).is_file()
    assert settings.guardrails.max_replicas == 8 and settings.cluster.node_pool_label == "agentpool"


@pytest.mark.parametrize("change, message", [
    (("torchserve: {model: roberta}", "torchserve: {model: roberta, workers: 3}"),
     r"live.yaml:3: torchserve.workers: expected a known field"),
    (("namespaces: [serving]", "namespaces: [default]"), r"guardrails.namespaces must include cluster.namespace"),
    (("guardrails: {", "guardrails: {max_replicas: 0, "), r"live.yaml:5: guardrails.max_replicas: expected"),
    (("prometheus: {url: http://127.0.0.1:9090}", "prometheus: {url: http://x, timeout_s: -1}"),
     r"prometheus.timeout_s"),
    (("guardrails: {", "shadow: {horizon_s: [10, 60, -5]}\nguardrails: {"),
     r"live.yaml:5: shadow.horizon_s.2: expected greater than 0, got -5"),
    (("guardrails: {", "shadow: {forecast: [linear]}\nguardrails: {"), r"live.yaml:5: shadow.forecast.0: expected"),
])
def test_a_wrong_field_names_the_file_line_and_field(tmp_path, capsys, change, message):
    path = tmp_path / "live.yaml"
    path.write_text(GOOD.replace(*change))
    assert cli.main(["live", str(path)]) == 2
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(InputError, match=message):
        load_settings(path)


def test_shadow_horizons_are_one_number_or_a_list_and_flat_is_scored_beside_holt_by_default(tmp_path):
    path = tmp_path / "live.yaml"
    path.write_text(GOOD + "shadow: {horizon_s: 30}\n")
    assert load_settings(path).shadow.horizons_s == (30.0,)
    path.write_text(GOOD + "shadow: {horizon_s: [10, 60, 300]}\n")
    assert load_settings(path).shadow.horizons_s == (10.0, 60.0, 300.0)
    assert load_settings(path).shadow.forecast == ["holt", "flat"]


def test_a_decision_log_with_a_bad_line_is_refused_before_anything_is_sent(tmp_path, capsys):
    (tmp_path / "live.yaml").write_text(GOOD)
    log = tmp_path / "decisions.jsonl"
    log.write_text('{"time_s": 0, "controller": "hpa", "action": "scale_deployment", "target": "d", '
                   '"value": {"replicas": 2}}\n{"time_s": 1, "controller": "hpa", "action": "grow", "target": "d", '
                   '"value": {}}\n')
    assert cli.main(["replay", str(log), "--settings", str(tmp_path / "live.yaml")]) == 2
    assert "decisions.jsonl:2: action: expected one of scale_deployment" in capsys.readouterr().err
