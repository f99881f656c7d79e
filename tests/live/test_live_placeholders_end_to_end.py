"""`servetwin live` with nodes ahead of demand as its policy, end to end: the suite's real TorchServe, Debian's
Prometheus scraping it and KMock as the API server (through a kubeconfig). The anticipatory policy's placeholder count
goes to the placeholder Deployment of deploy/placeholders.yaml as a journaled write in enact mode; shadow mode sends no
write at all and says what it would have sent."""
from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from tests.support import kube_cluster as kc, live_stack, prometheus
from tests.support.torchserve import SLEEPY
from twin import cli

NS = "serving"
ROOT = Path(__file__).resolve().parents[2]
POLICY = Path(__file__).parent / "data" / "sleepy-headroom.yaml"
PLACEHOLDERS = next(d for d in yaml.safe_load_all((ROOT / "deploy" / "placeholders.yaml").read_text())
                    if d and d["kind"] == "Deployment")
NAME = PLACEHOLDERS["metadata"]["name"]


@pytest.fixture(scope="module")
def cluster(torchserve):
    with prometheus.Server(config_yaml=live_stack.scrape_config(torchserve, pod="sleepy-0", namespace=NS)) as prom, \
            kc.KubeApi() as kube:
        kube.put(kc.APPS, NS, "sleepy", kc.deployment("sleepy", NS, replicas=1))
        kube.put(kc.PODS, NS, "sleepy-0", kc.pod("sleepy-0", NS, app="sleepy", node="n1"))
        kube.put(kc.NODES, None, "n1", kc.node("n1", pool="pool-a", cpu="64", memory="256Gi"))
        live_stack.await_first_scrape(prom.url)
        yield torchserve, prom, kube


def run_live(cluster, folder: Path, mode: str) -> tuple[dict, list[dict]]:
    torchserve, prom, kube = cluster
    kube.put(kc.APPS, NS, NAME, {**PLACEHOLDERS, "spec": {**PLACEHOLDERS["spec"], "replicas": 0},
                                 "status": {"replicas": 0}})
    folder.mkdir()
    (folder / "kubeconfig").write_text(live_stack.kubeconfig(kube.url, namespace=NS))
    settings = {"scenario": str(POLICY),
                "cluster": {"namespace": NS, "deployment": "sleepy", "kubeconfig": "kubeconfig", "placeholders": NAME,
                            "request_timeout_s": 2},
                "torchserve": {"model": SLEEPY, "management": torchserve.urls.management},
                "prometheus": {"url": prom.url}, "shadow": {"horizon_s": 4, "every_s": 4, "window": "4s"},
                "guardrails": {"namespaces": [NS], "objects": ["deployment/sleepy", f"deployment/{NAME}"],
                               "max_placeholders": 4, "max_replica_step": 2, "min_interval_s": 1},
                "tick_s": 0.5}
    (folder / "live.yaml").write_text(yaml.safe_dump(settings))
    out = folder / "out"
    assert cli.main(["live", str(folder / "live.yaml"), "--mode", mode, "--duration", "4", "--out", str(out)]) == 0
    writes = [json.loads(line) for line in (out / "writes.jsonl").read_text().splitlines()]
    return json.loads((out / "report.json").read_text()), writes


def test_enact_writes_the_placeholder_count_through_the_gate(cluster, tmp_path):
    kube = cluster[2]
    before = len(kube.writes())
    report, writes = run_live(cluster, tmp_path / "enact", "enact")
    assert report["step_errors"] == 0
    assert [(w["action"], w["target"], w["status"]) for w in writes] == [
        ("scale_placeholders", f"deployment/{NAME}", "applied")]
    assert kube.get(kc.APPS, NS, NAME)["spec"]["replicas"] == 2  # one serving pod's desired count + 2 spare
    assert kube.writes()[before:] == [("PATCH", f"/apis/apps/v1/namespaces/{NS}/deployments/{NAME}/scale")]
    journal = [json.loads(line) for line in (tmp_path / "enact" / "servetwin-journal.jsonl").read_text().splitlines()]
    assert [(e["event"], e.get("value")) for e in journal] == [("intent", {"placeholder_replicas": 2}),
                                                               ("applied", None)]


def test_shadow_sends_nothing_and_says_what_it_would_send(cluster, tmp_path):
    kube = cluster[2]
    before = len(kube.writes())
    report, writes = run_live(cluster, tmp_path / "shadow", "shadow")
    assert report["step_errors"] == 0 and report["mode"] == "shadow"
    assert [(w["action"], w["status"]) for w in writes] == [("scale_placeholders", "shadow")]
    assert kube.writes()[before:] == []  # no write request reached the API server
    assert kube.get(kc.APPS, NS, NAME)["spec"]["replicas"] == 0
    assert not (tmp_path / "shadow" / "servetwin-journal.jsonl").exists()
