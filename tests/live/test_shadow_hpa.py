"""Shadow mode beside the cluster's own HPA, and the snapshot of a cluster as a scenario, end to end.

The cluster: KMock serving a Deployment `sleepy` and an autoscaling/v2 HPA on it (a Pods metric, TorchServe's request
rate per pod, 10 req/s each, 1 to 2 replicas); two real TorchServes stand for its two possible pods, one per loopback
address (a pod's IP), both on the same management port as a Deployment's pods are; Prometheus scrapes both, labelled
with their pod. The test plays the two controllers KMock lacks: the Deployment controller (pods follow
spec.replicas, Ready at once: each stands for a TorchServe already up) and the HPA controller (every 15 s, upstream's
plain-metric rule: desired = ceil(mean / target x ready pods) outside a 0.1 tolerance, within min/max). Open-loop
load, 16 req/s, each request on a new connection to a Ready pod (as kube-proxy balances), first on one pod at
~80 % busy, then on two once the HPA scales out.
"""
from __future__ import annotations

import csv
import json
import math
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tests.support import kube_cluster as kc, live_stack, prometheus
from tests.support.open_load import PoissonLoad
from tests.support.torchserve import SLEEPY, RealTorchServe
from twin import cli
from twin.config.loader import load_scenario
from twin.core.run import simulate
from twin.live.cluster_controllers import ClusterControllers
from twin.live.prometheus_api import PrometheusApi
from twin.live.shadow import Shadow, TrafficReader

NS = "serving"
SCENARIO = Path(__file__).parent / "data" / "sleepy_open.yaml"
RATE_RPS = 16.0
TOLERANCE_PCT = 25.0  # the shadow tests' latency tolerance (test_live_end_to_end.py)
HPA_SYNC_S = 15.0  # --horizontal-pod-autoscaler-sync-period default (kube-controller-manager)
HPA_TOLERANCE = 0.1  # --horizontal-pod-autoscaler-tolerance default
METRIC = "ts_requests_per_second"
QUERY = f'sum by (pod) (rate(ts_inference_requests_total{{model_name="{SLEEPY}"}}[10s]))'
HPA = {"apiVersion": "autoscaling/v2", "kind": "HorizontalPodAutoscaler",
       "metadata": {"name": "sleepy", "namespace": NS, "uid": "0f1e", "resourceVersion": "7",
                    "annotations": {"kubectl.kubernetes.io/last-applied-configuration": "{}"}},
       "spec": {"scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "sleepy"},
                "minReplicas": 1, "maxReplicas": 2,
                "metrics": [{"type": "Pods", "pods": {"metric": {"name": METRIC},
                                                      "target": {"type": "AverageValue", "averageValue": "10"}}}]},
       "status": {"currentReplicas": 1, "desiredReplicas": 1}}


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("shadow-hpa")
    first = RealTorchServe(workdir=workdir / "ts0", models=(SLEEPY,), sleep_ms=50.0)
    second = RealTorchServe(workdir=workdir / "ts1", models=(SLEEPY,), sleep_ms=50.0, host="127.0.0.2",
                            management_port=first.ports["management"])
    with ThreadPoolExecutor(2) as pool:
        list(pool.map(RealTorchServe.start, (first, second)))
    servers = {"127.0.0.1": first, "127.0.0.2": second}
    try:
        with prometheus.Server(config_yaml=_scrape(servers)) as prom, kc.KubeApi() as kube:
            kube.put(kc.APPS, NS, "sleepy", kc.deployment("sleepy", NS, replicas=1))
            kube.put(kc.NODES, None, "n1", kc.node("n1", pool="pool-a", cpu="64", memory="256Gi"))
            kube.put(kc.HPAS, NS, "sleepy", HPA)
            deployments = _Deployments(kube, servers)
            deployments.start()
            live_stack.await_first_scrape(prom.url)
            yield _Stack(workdir, servers, prom, kube, deployments)
            deployments.stop()
    finally:
        first.stop()
        second.stop()


def _scrape(servers: dict[str, RealTorchServe]) -> str:
    targets = "".join(f"      - {{targets: ['{s.urls.metrics.removeprefix('http://')}'], labels: {{pod: sleepy-{i}, "
                      f"namespace: {NS}}}}}\n" for i, s in enumerate(servers.values()))
    return ("global: {scrape_interval: 1s, evaluation_interval: 1s}\nscrape_configs:\n  - job_name: torchserve\n"
            f"    static_configs:\n{targets}")


class _Stack:
    def __init__(self, workdir, servers, prom, kube, deployments) -> None:
        self.workdir, self.servers, self.prom, self.kube = workdir, servers, prom, kube
        self.deployments = deployments

    def settings(self, name: str) -> Path:
        folder = self.workdir / name
        folder.mkdir()
        (folder / "kubeconfig").write_text(live_stack.kubeconfig(self.kube.url, namespace=NS))
        management = next(iter(self.servers.values())).ports["management"]
        settings = {
            "scenario": str(SCENARIO),
            "cluster": {"namespace": NS, "deployment": "sleepy", "kubeconfig": "kubeconfig", "request_timeout_s": 2,
                        "metric_queries": {METRIC: QUERY}},
            "torchserve": {"model": SLEEPY, "management_port": management},
            "prometheus": {"url": self.prom.url},
            # The load is level: the flat forecast keeps forecast noise out of what this measures (Holt's
            # damped trend follows the per-second noise of a Poisson rate); Holt is scored beside it.
            "shadow": {"horizon_s": 40, "every_s": 3, "window": "12s", "score_delay_s": 3,
                       "forecast": ["flat", "holt"]},
            "guardrails": {"namespaces": [NS], "objects": ["deployment/sleepy"], "max_replicas": 2,
                           "max_workers": 3},
            "tick_s": 0.5}
        path = folder / "live.yaml"
        path.write_text(yaml.safe_dump(settings))
        return path

    def load(self, seconds: float) -> PoissonLoad:
        load = PoissonLoad(rate_rps=RATE_RPS, duration_s=seconds, endpoints=self.deployments.endpoints, model=SLEEPY)
        load.start()
        return load


class _Deployments(threading.Thread):
    """The Deployment controller's part, every 0.2 s: pod sleepy-i at 127.0.0.(i+1), Ready, for i < spec.replicas;
    and the inference URLs of the Ready pods, for the load."""

    def __init__(self, kube: kc.KubeApi, servers: dict[str, RealTorchServe]) -> None:
        super().__init__(daemon=True)
        self.kube, self.servers, self.stopped = kube, servers, threading.Event()
        self.ready: list[str] = []

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            self.reconcile()

    def reconcile(self) -> None:
        wanted = self.kube.get(kc.APPS, NS, "sleepy")["spec"]["replicas"]
        ips = list(self.servers)[:wanted]
        for index, ip in enumerate(ips):
            name = f"sleepy-{index}"
            if name not in self._pods():
                self.kube.put(kc.PODS, NS, name, kc.pod(name, NS, app="sleepy", node="n1", ip=ip, started_s_ago=1))
        for extra in sorted(self._pods())[wanted:]:
            self.kube.delete(kc.PODS, NS, extra)
        self.kube.patch(kc.APPS, NS, "sleepy", {"status": {"replicas": wanted, "readyReplicas": wanted}})
        self.ready = [self.servers[ip].urls.inference for ip in ips]

    def endpoints(self) -> list[str]:
        return self.ready

    def _pods(self) -> set[str]:
        return {name for (resource, ns, name) in kc._names(self.kube) if resource == kc.PODS and ns == NS}

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


class _Hpa(threading.Thread):
    """The HPA controller's part: every sync period, the HPA object's Pods metric from Prometheus over the Ready
    pods, upstream's `calcPlainMetricReplicas` when no pod is missing a sample; the scale written when it changes."""

    def __init__(self, kube: kc.KubeApi, prom_url: str, *, first_sync_s: float) -> None:
        super().__init__(daemon=True)
        self.kube, self.prometheus, self.first_sync_s = kube, PrometheusApi(prom_url), first_sync_s
        self.stopped, self.rescaled_at = threading.Event(), []

    def run(self) -> None:
        wait = self.first_sync_s
        while not self.stopped.wait(wait):
            self.sync()
            wait = HPA_SYNC_S

    def sync(self) -> None:
        spec = self.kube.get(kc.HPAS, NS, "sleepy")["spec"]
        target = float(spec["metrics"][0]["pods"]["target"]["averageValue"])
        current = self.kube.get(kc.APPS, NS, "sleepy")["spec"]["replicas"]
        ready = [f"sleepy-{i}" for i in range(current)]
        samples = {s.labels["pod"]: s.value for s in self.prometheus.query(QUERY)}
        if not all(pod in samples for pod in ready):
            return
        ratio = sum(samples[pod] for pod in ready) / len(ready) / target
        desired = current if abs(ratio - 1) <= HPA_TOLERANCE else math.ceil(ratio * len(ready))
        desired = min(max(desired, spec["minReplicas"]), spec["maxReplicas"])
        if desired != current:
            self.kube.patch(kc.APPS, NS, "sleepy", {"spec": {"replicas": desired}})
            self.rescaled_at.append((time.time(), desired))

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def _rows(path: Path) -> list[dict]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


def test_a_shadow_prediction_spanning_the_cluster_s_hpa_scale_out_is_scored_within_tolerance(stack, capsys):
    settings = stack.settings("scale-out")
    out = settings.parent / "out"
    load = stack.load(90)
    time.sleep(8)  # the first prediction's window already holds traffic
    hpa = _Hpa(stack.kube, stack.prom.url, first_sync_s=24)
    started = time.time()
    hpa.start()
    try:
        assert cli.main(["live", str(settings), "--duration", "66", "--out", str(out)]) == 0
    finally:
        hpa.stop()
        load.join(timeout=90)
        stack.kube.patch(kc.APPS, NS, "sleepy", {"spec": {"replicas": 1}})
    rows, report = _rows(out / "shadow.csv"), json.loads((out / "report.json").read_text())
    scaled_at = hpa.rescaled_at[0][0] - started if hpa.rescaled_at else math.inf
    # A prediction spans the scale-out when it starts on one pod and the cluster has two by the time it is scored.
    spanning = [r for r in rows if r["forecast"] == "flat" and (r["pods"], r["observed_ready_pods_end"]) == ("1", "2")]
    without = [_without_the_hpa(stack, row) for row in spanning]
    with capsys.disabled():
        print(f"\nshadow over an HPA scale-out (test clock +{scaled_at:.1f} s): "
              + "; ".join(f"+{r['time_s']} s: predicted {float(r['predicted_latency_ms']):.0f} ms "
                          f"({r['cluster_next']}), observed {float(r['observed_latency_ms']):.0f} ms, "
                          f"without the HPA {w:.0f} ms" for r, w in zip(spanning, without)))
    assert hpa.rescaled_at and hpa.rescaled_at[0][1] == 2, "the cluster's HPA never scaled out"
    assert len(spanning) >= 2, rows
    for row in spanning:
        assert row["controllers"] == "hpa/sleepy" and row["cluster_next"].startswith("2 replicas at +"), row
        assert row["predicted_ready_pods_end"] == "2", row
    errors = [abs(float(r["latency_error_pct"])) for r in spanning]
    assert sum(errors) / len(errors) < TOLERANCE_PCT, spanning
    # The same predictions with the twin run forward without the cluster's HPA miss by more than the tolerance.
    missed = [abs(w / float(r["observed_latency_ms"]) - 1) * 100 for r, w in zip(spanning, without)]
    assert sum(missed) / len(missed) > TOLERANCE_PCT, (missed, spanning)
    assert report["step_errors"] == 0 and report["writes"].keys() <= {"shadow", "refused"}, report


def _without_the_hpa(stack: _Stack, row: dict) -> float:
    """The row's forward run again, from the same state and forecast level, with no autoscaler of the cluster's."""
    shadow = Shadow(scenario_path=SCENARIO, horizons_s=(40.0,), every_s=3, window="12s",
                    traffic=TrafficReader(PrometheusApi(stack.prom.url), SLEEPY), cluster=None, fleet=None,
                    started_at=0.0)
    figures, _, forward = shadow._twin(1, int(row["workers"]), 40.0, [float(row["predicted_load"])] * 6,
                                       extra_think_s=0.0, controllers=ClusterControllers("sleepy"))
    assert forward.ready_pods_end == 1
    return figures["latency_ms"]


def test_a_snapshot_is_a_scenario_that_run_starts_from_the_observed_pods_and_workers(stack, capsys):
    stack.kube.patch(kc.APPS, NS, "sleepy", {"spec": {"replicas": 2}})
    stack.deployments.reconcile()
    for server in stack.servers.values():
        server.scale(SLEEPY, 2)
    settings = stack.settings("snapshot")
    snapshot = settings.parent / "snap"
    load = stack.load(14)
    try:
        time.sleep(10)
        assert cli.main(["live", str(settings), "--snapshot", str(snapshot)]) == 0
        load.join(timeout=30)
        observed = json.loads((snapshot / "observed.json").read_text())
        scenario = load_scenario(snapshot / "scenario.yaml")
        manifest = yaml.safe_load((snapshot / "hpa-sleepy.yaml").read_text())
        assert (observed["pods"], observed["ready_pods"], observed["controllers"]) == (2, 2, ["hpa/sleepy"])
        assert (scenario.deployment.pods, scenario.deployment.torchserve.model.min_workers) == (2, 2)
        assert scenario.workload[0].type == "poisson" and abs(scenario.workload[0].rate_rps - RATE_RPS) < 4
        assert scenario.autoscaling.hpa.queries == {METRIC: QUERY} and scenario.autoscaling.workers is not None
        assert manifest["spec"] == HPA["spec"] and "status" not in manifest and "uid" not in manifest["metadata"]
        assert "annotations" not in manifest["metadata"]  # kubectl's last-applied copy is the server's, not the HPA
        run = settings.parent / "run"
        assert cli.main(["run", str(snapshot / "scenario.yaml"), "--duration", "20", "--out", str(run)]) == 0
        first = _rows(run / "timeseries.csv")[0]
        assert (float(first["ready_pods"]), float(first["ready_workers"])) == (2, 4), first
        # "What if the HPA's target were other?": a sweep from the snapshot, through the HPA manifest's own field.
        sweep = settings.parent / "sweep.yaml"
        sweep.write_text(yaml.safe_dump({"base": str(snapshot / "scenario.yaml"), "replications": 1, "duration_s": 10,
                                         "grid": {f"autoscaling.hpa.manifest.object.spec.metrics.0.pods.target."
                                                  f"averageValue": ["5", "20"]}}))
        assert cli.main(["sweep", str(sweep), "--out", str(settings.parent / "swept"), "--quiet"]) == 0
        points = _rows(settings.parent / "swept" / "points.csv")
        assert [(p["point"], p["failed"]) for p in points] == [("0", "0"), ("1", "0")]
        with capsys.disabled():
            print(f"\nsnapshot: {observed}")
    finally:
        for server in stack.servers.values():
            server.scale(SLEEPY, 1)
        stack.kube.patch(kc.APPS, NS, "sleepy", {"spec": {"replicas": 1}})
