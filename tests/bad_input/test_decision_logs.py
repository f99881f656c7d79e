"""Decision logs for `servetwin replay`: read and checked as a whole before anything is sent (no cluster needed)."""
from __future__ import annotations

import json

import pytest

from tests.bad_input.support import SCENARIO, SETTINGS, refused, write


def log(*decisions: dict) -> str:
    return "".join(json.dumps(d) + "\n" for d in decisions)


def scale(time_s, replicas=2) -> dict:
    return {"time_s": time_s, "controller": "hpa", "action": "scale_deployment", "target": "roberta",
            "value": {"replicas": replicas}}


# (id, log content, what the line must name)
CASES = [
    ("empty", "", ("at least one decision",)),
    ("blank-lines-only", "\n\n  \n", ("at least one decision",)),
    ("nan-time", '{"time_s": NaN, "controller": "hpa", "action": "scale_deployment", "target": "r", '
                 '"value": {"replicas": 1}}\n', ("decisions.jsonl:1", "NaN")),
    ("infinite-time", '{"time_s": Infinity, "controller": "hpa", "action": "scale_deployment", "target": "r", '
                      '"value": {"replicas": 1}}\n', ("decisions.jsonl:1", "Infinity")),
    ("huge-time", '{"time_s": 1e999, "controller": "hpa", "action": "scale_deployment", "target": "r", '
                  '"value": {"replicas": 1}}\n', ("decisions.jsonl:1", "time_s")),
    ("negative-time", log(scale(-5)), ("decisions.jsonl:1", "time_s")),
    ("far-future-time", log(scale(0), scale(1e12)), ("decisions.jsonl:2", "time_s")),
    ("unordered", log(scale(10), scale(5)), ("decisions.jsonl:2", "in order")),
    ("negative-replicas", log(scale(0, replicas=-3)), ("decisions.jsonl:1", "value.replicas")),
    ("fractional-replicas", log(scale(0, replicas=1.5)), ("value.replicas", "whole")),
    ("replicas-bool", log(scale(0, replicas=True)), ("value.replicas",)),
    ("time-bool", log({**scale(0), "time_s": True}), ("decisions.jsonl:1",)),
    ("missing-value", log({**scale(0), "value": {}}), ("value", "replicas")),
    ("placeholders-without-replicas", log({**scale(0), "action": "scale_placeholders", "value": {"count": 2}}),
     ("value", "replicas for scale_placeholders")),
    ("unknown-action", log({**scale(0), "action": "delete_cluster"}), ("action",)),
    ("not-json", "time_s=5\n", ("decisions.jsonl:1", "JSON")),
    ("a-name-twice", log(scale(0)).replace('"time_s": 0,', '"time_s": 0, "time_s": 9,'),
     ("decisions.jsonl:1", "'time_s' twice")),
    ("empty-target", log({**scale(0), "target": ""}), ("decisions.jsonl:1", "target")),
    ("deep-json", "[" * 100000 + "]" * 100000 + "\n", ("decisions.jsonl:1",)),
    ("latin-1", (log(scale(0))[:-2] + ', "reason": "r\xe9plique"}\n').encode("latin-1"), ("UTF-8",)),
    ("utf-16", log(scale(0)).encode("utf-16"), ("UTF-16",)),
]


@pytest.mark.parametrize("content, names", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_decision_log_is_refused_before_anything_is_sent(tmp_path, capsys, content, names):
    write(tmp_path, "scenario.yaml", SCENARIO)
    write(tmp_path, "live.yaml", SETTINGS)
    write(tmp_path, "decisions.jsonl", content)
    refused(tmp_path, ["replay", "decisions.jsonl", "--settings", "live.yaml"], capsys,
            names=("decisions.jsonl", *names))


def test_a_decision_log_that_is_a_folder_is_named(tmp_path, capsys):
    (tmp_path / "decisions.jsonl").mkdir()
    refused(tmp_path, ["replay", "decisions.jsonl", "--settings", "live.yaml"], capsys,
            names=("decisions.jsonl", "directory"))


def test_the_good_log_reads(tmp_path):
    from twin.live.replay import read_decisions

    decisions = read_decisions(write(tmp_path, "decisions.jsonl", log(scale(0), scale(0), scale(30, replicas=0))))
    assert [d.time_s for d in decisions] == [0, 0, 30] and decisions[2].value["replicas"] == 0


def test_a_twin_log_with_placeholder_scaling_reads(tmp_path):
    from twin.live.replay import read_decisions

    ahead = {**scale(10, replicas=3), "controller": "anticipatory", "action": "scale_placeholders",
             "target": "roberta-headroom"}
    decisions = read_decisions(write(tmp_path, "decisions.jsonl", log(scale(0), ahead)))
    assert [(d.action, d.value["replicas"]) for d in decisions] == [("scale_deployment", 2), ("scale_placeholders", 3)]
