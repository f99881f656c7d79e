"""Placeholder pods' manifests (a PriorityClass and a Deployment of pause pods): refused as the API server or the
Priority admission plugin would refuse them, naming the file and the field; deploy/placeholders.yaml loads."""
from __future__ import annotations

import pytest

from tests.bad_input.support import ROOT, SCENARIO, refused, write
from twin.cli import main

GOOD = (ROOT / "deploy" / "placeholders.yaml").read_text(encoding="utf-8").replace("nodeSelector: {agentpool: a100}",
                                                                                    "nodeSelector: {agentpool: gpu}")
PLACEHOLDERS = "    placeholders: {priority_class: placeholders.yaml, deployment: placeholders.yaml}\n"


def scenario(extra: str = PLACEHOLDERS) -> str:
    return SCENARIO + "autoscaling:\n  cluster:\n" + extra


CASES = [
    ("class-not-named", GOOD.replace("priorityClassName: servetwin-placeholder", "priorityClassName: other"),
     scenario(), ("placeholders.yaml", "priorityClassName", "'servetwin-placeholder'")),
    ("value-too-high", GOOD.replace("value: -10", "value: 2000000001"), scenario(), ("placeholders.yaml", "value")),
    ("value-not-whole", GOOD.replace("value: -10", "value: -10.5"), scenario(), ("placeholders.yaml", "value")),
    ("bad-policy", GOOD.replace("preemptionPolicy: Never ", "preemptionPolicy: Sometimes "), scenario(),
     ("placeholders.yaml", "preemptionPolicy")),
    ("bad-request", GOOD.replace('cpu: "4"', 'cpu: "four"'), scenario(), ("placeholders.yaml", "requests.cpu")),
    ("no-class-in-file", GOOD.split("---")[1], scenario(), ("placeholders.yaml", "kind")),
    ("anticipatory-without-placeholders", GOOD, scenario("    anticipatory: {group: gpu}\n"),
     ("scenario.yaml", "autoscaling.cluster.placeholders")),
]


@pytest.mark.parametrize("manifest, text, names", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_a_bad_placeholder_manifest_is_refused_with_one_line(tmp_path, capsys, manifest, text, names):
    write(tmp_path, "placeholders.yaml", manifest)
    write(tmp_path, "scenario.yaml", text)
    refused(tmp_path, ["validate", "scenario.yaml"], capsys, names=names)


def test_the_deployed_manifest_loads_with_a_signed_priority_cutoff(tmp_path, capsys):
    write(tmp_path, "placeholders.yaml", GOOD)
    write(tmp_path, "scenario.yaml", scenario("    settings: {expendable_pods_priority_cutoff: -20}\n" + PLACEHOLDERS
                                              + "    anticipatory: {group: gpu, min_headroom_pods: 1}\n"))
    assert main(["validate", str(tmp_path / "scenario.yaml")]) == 0, capsys.readouterr().err
