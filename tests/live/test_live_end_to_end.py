"""`servetwin live` and `servetwin replay` end to end: a real TorchServe (its management API behind a recording proxy),
Debian's Prometheus scraping it, and KMock as the Kubernetes API server, reached through a kubeconfig file.

The policy is tests/live/data/sleepy.yaml: worker autoscaling on in-service requests, and KEDA at 5 req/s per pod.
Four closed-loop users on one worker of a 50 ms handler give ~20 req/s and ~200 ms: the policy wants more workers
and more pods.
"""
from __future__ import annotations

import csv
import json
import threading
from pathlib import Path

import pytest
import yaml

from tests.support import kube_cluster as kc, live_stack, prometheus
from tests.support.recording_proxy import RecordingProxy
from tests.support.torchserve import SLEEPY, RealTorchServe
from twin import cli
from twin.live import torchserve_api as ts
from twin.live.loadgen import LoadConfig, run_load_sync

NS = "serving"
POLICY = Path(__file__).parent / "data" / "sleepy.yaml"


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    """TorchServe, a proxy before its management API, Prometheus, and KMock with a tiny Deployment controller."""
    workdir = tmp_path_factory.mktemp("live-e2e")
    with RealTorchServe(workdir=workdir / "ts", models=(SLEEPY,), sleep_ms=50.0) as server, \
            RecordingProxy(server.urls.management) as proxy, \
            prometheus.Server(config_yaml=live_stack.scrape_config(server, pod="sleepy-0", namespace=NS)) as prom, \
            kc.KubeApi() as kube:
        kube.put(kc.APPS, NS, "sleepy", kc.deployment("sleepy", NS, replicas=1))
        kube.put(kc.PODS, NS, "sleepy-0", kc.pod("sleepy-0", NS, app="sleepy", node="n1"))
        kube.put(kc.NODES, None, "n1", kc.node("n1", pool="pool-a", cpu="64", memory="256Gi"))
        kube.put(kc.SCALED_OBJECTS, NS, "sleepy", {"apiVersion": "keda.sh/v1alpha1", "kind": "ScaledObject",
                                                   "metadata": {"name": "sleepy", "namespace": NS},
                                                   "spec": {"minReplicaCount": 1, "maxReplicaCount": 4}})
        controller = _Controller(kube)
        controller.start()
        live_stack.await_first_scrape(prom.url)
        yield _Stack(workdir, server, proxy, prom, kube)
        controller.stop()


class _Stack:
    def __init__(self, workdir, server, proxy, prom, kube) -> None:
        self.workdir, self.server, self.proxy, self.prom, self.kube = workdir, server, proxy, prom, kube

    def settings(self, name: str, **changes) -> Path:
        """A settings file and kubeconfig in a fresh folder; the journal and stop file live beside them."""
        folder = self.workdir / name
        folder.mkdir()
        (folder / "kubeconfig").write_text(live_stack.kubeconfig(self.kube.url, namespace=NS))
        settings = {
            "scenario": str(POLICY), "cluster": {"namespace": NS, "deployment": "sleepy", "kubeconfig": "kubeconfig",
                                                 "node_pool_label": "agentpool", "request_timeout_s": 2},
            "torchserve": {"model": SLEEPY, "management": self.proxy.url},
            "prometheus": {"url": self.prom.url},
            "shadow": {"horizon_s": 8, "every_s": 8, "window": "8s", "score_delay_s": 3},
            "guardrails": {"namespaces": [NS], "objects": ["deployment/sleepy", "scaledobject/sleepy"],
                           "max_replicas": 4, "max_workers": 3, "min_interval_s": 3, "max_writes_per_minute": 30},
            "tick_s": 0.5, **changes}
        path = folder / "live.yaml"
        path.write_text(yaml.safe_dump(settings))
        return path

    def workers(self) -> int:
        return ts.workers_view(ts.describe(ts.Endpoint(self.server.urls.management), SLEEPY)[1]).min_workers

    def reset(self) -> None:
        ts.scale(ts.Endpoint(self.server.urls.management), SLEEPY, 1, timeout_s=60)
        self.kube.patch(kc.APPS, NS, "sleepy", {"spec": {"replicas": 1}})


class _Controller(threading.Thread):
    """The Deployment controller's part: pods and status follow spec.replicas, every 0.2 s."""

    def __init__(self, kube: kc.KubeApi) -> None:
        super().__init__(daemon=True)
        self.kube, self.stopped = kube, threading.Event()

    def run(self) -> None:
        while not self.stopped.wait(0.2):
            kc.reconcile(self.kube, NS, "sleepy", node_name="n1")

    def stop(self) -> None:
        self.stopped.set()
        self.join(timeout=5)


def _under_load(stack: _Stack, seconds: float, run, *, users: int = 4) -> None:
    """Run `run()` while `users` users load the model; the load outlasts the run."""
    config = LoadConfig(base_url=stack.server.urls.inference, model=SLEEPY, users=users, duration_s=seconds,
                        payload=b"x", content_type="text/plain")
    load = threading.Thread(target=run_load_sync, args=(config,), daemon=True)
    load.start()
    try:
        run()
    finally:
        load.join(timeout=seconds + 30)


def _main(*args: str) -> None:
    assert cli.main(list(args)) == 0


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def test_shadow_predicts_latency_from_the_observed_state_and_writes_nothing(stack, capsys):
    settings = stack.settings("shadow")
    out = settings.parent / "out"
    writes_before = (len(stack.kube.writes()), len(stack.proxy.writes()))
    _under_load(stack, 40, lambda: _main("live", str(settings), "--duration", "36", "--out", str(out)))
    report = json.loads((out / "report.json").read_text())
    rows = _lines_csv(out / "shadow.csv")
    with capsys.disabled():
        print(f"\nshadow: {json.dumps(report['shadow'])}")
    assert report["shadow"]["predictions_scored"] >= 2, report
    assert report["shadow"]["latency_mape_pct"] < 25.0, rows
    for row in rows:
        assert 150 < float(row["observed_latency_ms"]) < 260 and float(row["pods"]) == 1 and row["workers"] == "1"
    wanted = {w["action"] for w in _lines(out / "writes.jsonl")}
    assert {"scale_workers", "scale_deployment"} <= wanted  # what it would have done
    assert {w["status"] for w in _lines(out / "writes.jsonl")} <= {"shadow", "refused"}  # refused: rate limits
    assert report["step_errors"] == 0
    assert (len(stack.kube.writes()), len(stack.proxy.writes())) == writes_before  # zero write calls
    assert not (settings.parent / "servetwin-journal.jsonl").exists()
    assert stack.workers() == 1


def test_shadow_follows_a_load_step_better_than_a_flat_forecast(stack, capsys):
    """Two users, then six from 24 s on: on TorchServe's basis the steady predictions stay within the shadow test's
    tolerance, and the predictions the step falls in are nearer with Holt's forecast than with the flat one."""
    settings = stack.settings("step", shadow={"horizon_s": [5, 15], "every_s": 2, "window": "6s",
                                              "score_delay_s": 3, "forecast": ["holt", "flat"]})
    out = settings.parent / "out"
    step = threading.Thread(target=run_load_sync, daemon=True, args=(LoadConfig(
        base_url=stack.server.urls.inference, model=SLEEPY, users=4, duration_s=40, payload=b"x",
        content_type="text/plain"),))
    threading.Timer(24, step.start).start()  # the load outlasts the run, however long the command takes to start
    _under_load(stack, 64, lambda: _main("live", str(settings), "--duration", "50", "--out", str(out)), users=2)
    step.join(timeout=60)
    report = json.loads((out / "report.json").read_text())["shadow"]
    with capsys.disabled():
        print(f"\nshadow step: {json.dumps(report['by_forecast'])}\nbefore (flat, end to end): "
              f"{json.dumps(_end_to_end_flat(_lines_csv(out / 'shadow.csv')))}")
    holt, flat = (_mape_by_period(report["by_forecast"][kind]) for kind in ("holt", "flat"))
    assert holt["steady"] < 25.0, report
    assert holt["changing"] < flat["changing"], report
    assert {"5s", "15s"} <= set(report["by_forecast"]["holt"])
    assert any(u["horizon_s"] == 15 and "after the run" in u["reason"] for u in report["unscored"]), report


def _mape_by_period(horizons: dict) -> dict[str, float]:
    """Latency MAPE over every horizon, by period, each prediction weighted alike."""
    totals: dict[str, list[float]] = {}
    for periods in horizons.values():
        for name, cell in periods.items():
            totals.setdefault(name, []).extend([cell["latency_mape_pct"]] * cell["n"])
    return {name: sum(values) / len(values) for name, values in totals.items()}


def _end_to_end_flat(rows: list[dict]) -> dict[str, float]:
    """The shadow as it was: flat forecast, the twin's end-to-end latency against TorchServe's."""
    errors: dict[str, list[float]] = {}
    for row in rows:
        if row["forecast"] == "flat":
            error = abs(float(row["predicted_client_latency_ms"]) / float(row["observed_latency_ms"]) - 1) * 100
            errors.setdefault(row["period"], []).append(error)
    return {name: sum(values) / len(values) for name, values in errors.items()}


def _lines_csv(path: Path) -> list[dict]:
    with path.open() as stream:
        return list(csv.DictReader(stream))


def test_enact_scales_workers_and_the_deployment_through_the_guardrails(stack):
    settings = stack.settings("enact")
    out = settings.parent / "out"
    try:
        _under_load(stack, 24, lambda: _main("live", str(settings), "--mode", "enact", "--duration", "20",
                                             "--out", str(out)))
        journal = _lines(settings.parent / "servetwin-journal.jsonl")
        applied = [line for line in journal if line["event"] == "applied"]
        intents = [line for line in journal if line["event"] == "intent"]
        assert stack.workers() >= 2 and any(line["target"] == "pod/sleepy-0" for line in intents)
        assert stack.kube.get(kc.APPS, NS, "sleepy")["spec"]["replicas"] >= 2
        for first, second in zip(journal, journal[1:]):
            if first["event"] == "intent":
                assert second["event"] in ("applied", "failed") and second["key"] == first["key"]
        replicas = [line["value"]["replicas"] for line in intents if line["action"] == "scale_deployment"]
        assert all(b - a <= 1 for a, b in zip([1, *replicas], replicas))  # max_replica_step 1
        assert len(applied) == len(intents)
    finally:
        stack.reset()


def _decision_log(path: Path) -> Path:
    decisions = [
        {"time_s": 0.0, "controller": "workers", "action": "scale_workers", "target": "sleepy-0",
         "value": {"min_worker": 2, "max_worker": 2}},
        {"time_s": 8.0, "controller": "keda-hpa", "action": "scale_deployment", "target": "sleepy",
         "value": {"replicas": 2}},
        {"time_s": 10.0, "controller": "workers", "action": "scale_workers", "target": "sleepy-3",
         "value": {"min_worker": 1, "max_worker": 1}},
    ]
    path.write_text("".join(json.dumps(d) + "\n" for d in decisions))
    return path


def test_dry_run_replay_journals_every_write_and_sends_none(stack):
    settings = stack.settings("dry-run", guardrails={"namespaces": [NS], "objects": ["deployment/sleepy"],
                                                     "min_interval_s": 0})
    log = _decision_log(settings.parent / "decisions.jsonl")
    before = (len(stack.kube.writes()), len(stack.proxy.writes()))
    _main("replay", str(log), "--settings", str(settings), "--speed", "20", "--out", str(settings.parent / "out"))
    journal = _lines(settings.parent / "servetwin-journal.jsonl")
    assert [(line["key"], line["event"]) for line in journal] == [
        ("decision-0", "dry-run"), ("decision-1", "dry-run"), ("decision-2", "unchanged")]
    assert (len(stack.kube.writes()), len(stack.proxy.writes())) == before
    assert stack.workers() == 1


def test_replay_reaches_the_recorded_targets_and_a_rerun_repeats_nothing(stack):
    settings = stack.settings("replay", guardrails={"namespaces": [NS], "objects": ["deployment/sleepy"],
                                                    "min_interval_s": 0})
    log = _decision_log(settings.parent / "decisions.jsonl")
    out = settings.parent / "out"
    try:
        _main("replay", str(log), "--settings", str(settings), "--mode", "enact", "--out", str(out))
        responses = _lines(out / "responses.jsonl")
        assert [r["status"] for r in responses] == ["applied", "applied", "applied"]
        assert all(r["reached_after_s"] is not None for r in responses), responses
        assert stack.workers() == 1 and stack.kube.get(kc.APPS, NS, "sleepy")["spec"]["replicas"] == 2
        assert stack.kube.get(kc.APPS, NS, "sleepy")["status"]["replicas"] == 2
        writes = (len(stack.kube.writes()), len(stack.proxy.writes()))
        _main("replay", str(log), "--settings", str(settings), "--mode", "enact", "--out", str(out))
        assert [r["status"] for r in _lines(out / "responses.jsonl")][3:] == ["done", "done", "done"]
        assert (len(stack.kube.writes()), len(stack.proxy.writes())) == writes
    finally:
        stack.reset()


def test_a_restart_after_a_crash_between_intent_and_outcome_sends_nothing_twice(stack):
    settings = stack.settings("crash", guardrails={"namespaces": [NS], "objects": ["deployment/sleepy"],
                                                   "min_interval_s": 0})
    log = settings.parent / "decisions.jsonl"
    log.write_text(json.dumps({"time_s": 0, "controller": "hpa", "action": "scale_deployment", "target": "sleepy",
                               "value": {"replicas": 2}}) + "\n")
    try:
        stack.kube.patch(kc.APPS, NS, "sleepy", {"spec": {"replicas": 2}})  # the write went out, then the crash
        (settings.parent / "servetwin-journal.jsonl").write_text(json.dumps(
            {"seq": 0, "key": "decision-0", "event": "intent", "action": "scale_deployment", "namespace": NS,
             "target": "deployment/sleepy", "value": {"replicas": 2}}) + "\n")
        before = len(stack.kube.writes())
        _main("replay", str(log), "--settings", str(settings), "--mode", "enact",
              "--out", str(settings.parent / "out"))
        assert _lines(settings.parent / "out" / "responses.jsonl")[0]["status"] == "unchanged"
        assert len(stack.kube.writes()) == before
    finally:
        stack.reset()


@pytest.mark.parametrize("status, times, outcome, replicas", [
    (500, 2, "applied", 3), (409, 1, "applied", 3), (429, 1, "applied", 3), (500, 9, "failed", 1)])
def test_injected_faults_end_applied_once_or_failed_never_half_applied(stack, status, times, outcome, replicas):
    settings = stack.settings(f"fault-{status}-{times}", guardrails={
        "namespaces": [NS], "objects": ["deployment/sleepy"], "min_interval_s": 0, "max_replica_step": 2})
    log = settings.parent / "decisions.jsonl"
    log.write_text("".join(json.dumps(d) + "\n" for d in [
        {"time_s": 0, "controller": "hpa", "action": "scale_deployment", "target": "sleepy", "value": {"replicas": 3}},
        {"time_s": 0, "controller": "workers", "action": "scale_workers", "target": "sleepy-0",
         "value": {"min_worker": 1, "max_worker": 1}}]))
    stack.kube.inject("PATCH", r"/deployments/sleepy/scale$", status, times=times,
                      retry_after_s=1 if status == 429 else None)
    scales_before = len([w for w in stack.kube.writes() if w[1].endswith("/scale")])
    versions_before = len(stack.kube.replicas_history(NS, "sleepy"))
    try:
        _main("replay", str(log), "--settings", str(settings), "--mode", "enact",
              "--out", str(settings.parent / "out"))
        responses = _lines(settings.parent / "out" / "responses.jsonl")
        assert [r["status"] for r in responses] == [outcome, "unchanged"]  # the loop went on after a failure
        assert stack.kube.get(kc.APPS, NS, "sleepy")["spec"]["replicas"] == replicas
        scales = len([w for w in stack.kube.writes() if w[1].endswith("/scale")]) - scales_before
        assert scales == (times + 1 if outcome == "applied" else 5)  # retried to success, or 5 attempts at most
        changes = stack.kube.replicas_history(NS, "sleepy")[versions_before - 1:]
        assert changes[-1] == replicas and len(set(changes)) == (2 if outcome == "applied" else 1)
    finally:
        stack.kube.emulator.faults.clear()
        stack.reset()
