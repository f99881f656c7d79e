"""`servetwin live SETTINGS --snapshot DIR`: the cluster as it is now, as a scenario that `run`, `sweep` and the
dashboard start from ("what if I raise the threshold now?").

DIR holds `scenario.yaml` — the settings' scenario (model, node pools, metrics, SLOs) with the observed state in
place of its own — the autoscaler manifests read from the cluster beside it (`hpa-NAME.yaml`,
`scaledobject-NAME.yaml`, `vpa-NAME.yaml`), and `observed.json`, what was read and when. Written through
twin/outputs.py: a new folder (or, with --force, one an earlier snapshot wrote), complete or not at all; the scenario
is loaded back before the folder is moved into place.

Fidelity ledger (what stands for what):
- Pods: the Deployment's pods that are not terminating; the Ready ones start ready (`initial_ready_pods`), the rest
  start from scratch, as a pod caught mid start-up would go on.
- Workers: TorchServe's minWorkers/maxWorkers of the Ready pods (management API); the twin gives every pod the same,
  the rounded mean (each pod's own are in observed.json).
- Traffic: TorchServe's request rate and latency over the settings' `shadow.window` (Prometheus), held level, as the
  scenario's kind of load: closed-loop users by Little's law, or Poisson arrivals at the observed rate
  (twin/live/shadow.py `observed_workload`).
- Autoscalers: the cluster's own HPA or ScaledObject on the Deployment, and its VPA where the twin has a VPA
  policy (twin/live/cluster_controllers.py), in place of the scenario's, beside the scenario's worker and node
  policies (the plan servetwin enacts; drop them to see the cluster alone). A VPA the twin cannot run is written
  beside as read, referenced by nothing (observed.json lists it under `not_run`).
- Not carried: the controllers' internal state (HPA recommendation history, KEDA's last active time), requests in
  flight, nodes (the scenario's node pools stand), pod resources resized in place since the Deployment was applied.
"""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import yaml

from twin import outputs
from twin.config.loader import load_scenario
from twin.errors import InputError
from twin.live import cluster_controllers
from twin.live.shadow import Traffic, TrafficReader, observed_workload

if TYPE_CHECKING:
    from twin.config.schema import Scenario
    from twin.live.connect import Connection

COMMAND = "snapshot"


@dataclass(frozen=True)
class Observed:
    time_s: float  # wall clock
    pods: int
    ready_pods: int
    workers: dict[str, tuple[int, int]]  # Ready pod -> (minWorkers, maxWorkers)
    traffic: Traffic
    controllers: cluster_controllers.ClusterControllers


def observe(connection: Connection) -> Observed:
    """Read the state through a `twin.live.connect.Connection` (reads only)."""
    settings = connection.settings
    now = time.time()
    pods = [p for p in connection.cluster.pods() if not p.deleting]
    views = {p.name: connection.fleet.describe(p.name) for p in pods if p.ready}
    workers = {name: (view.min_workers, view.max_workers) for name, view in views.items() if view is not None}
    traffic = TrafficReader(connection.prometheus, settings.torchserve.model).over(settings.shadow.window, at_s=now)
    if traffic is None or not workers:
        got = "no TorchServe answering" if not workers else f"no traffic over {settings.shadow.window}"
        raise InputError(settings.source, "", "a Deployment serving traffic to snapshot", got)
    controllers = cluster_controllers.read(connection.kube, settings.cluster.deployment)
    return Observed(now, len(pods), sum(p.ready for p in pods), workers, traffic, controllers)


def write(out: str, *, force: bool, scenario_path: Path, observed: Observed, queries: dict[str, str]) -> Path:
    """DIR with the snapshot (see the module docstring); the scenario file written."""
    base = load_scenario(scenario_path)
    scenario = load_scenario(scenario_path, _overrides(base, observed, queries)).model_dump(mode="json",
                                                                                           exclude_unset=True)
    files = _manifest_files(scenario["autoscaling"], observed.controllers)
    with outputs.staged_folder(out, command=COMMAND, force=force) as staging:
        for name, manifest in files.items():
            (staging / name).write_text(yaml.safe_dump(manifest, sort_keys=False))
        (staging / "scenario.yaml").write_text(_header(observed) + yaml.safe_dump(scenario, sort_keys=False))
        (staging / "observed.json").write_text(json.dumps(_record(observed, files), indent=2) + "\n")
        load_scenario(staging / "scenario.yaml")  # what is written loads, or nothing is moved into place
    return Path(out) / "scenario.yaml"


def _overrides(base: Scenario, observed: Observed, queries: dict[str, str]) -> dict:
    minimum, maximum = (round(sum(w[i] for w in observed.workers.values()) / len(observed.workers)) for i in (0, 1))
    kept = base.autoscaling.model_dump(exclude_unset=True, exclude={"hpa", "keda", "vpa"})
    cluster = observed.controllers.overrides(queries)
    return {"deployment.pods": observed.pods, "deployment.initial_ready_pods": observed.ready_pods,
            "deployment.initial_state": "ready", "deployment.torchserve.model.min_workers": minimum,
            "deployment.torchserve.model.max_workers": max(minimum, maximum),
            "workload": [observed_workload(base, observed.traffic)],
            **cluster, "autoscaling": {**kept, **cluster.get("autoscaling", {})}}


def _manifest_files(autoscaling: dict, controllers: cluster_controllers.ClusterControllers) -> dict[str, dict]:
    """Each manifest read from the cluster as its own file; the scenario's sections name theirs by path."""
    files = {f"vpa-{v['metadata']['name']}.yaml": v for v in controllers.carried()}
    for section, kind in (("hpa", "hpa"), ("keda", "scaledobject"), ("vpa", "vpa")):
        if section in autoscaling:
            manifest = autoscaling[section]["manifest"]["object"]
            name = f"{kind}-{manifest['metadata']['name']}.yaml"
            files[name] = manifest
            autoscaling[section]["manifest"] = {"path": name}
    return files


def _header(observed: Observed) -> str:
    stamp = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(observed.time_s))
    return (f"# servetwin live --snapshot at {stamp}: the cluster's state as a start state (observed.json has what "
            f"was read).\n")


def _record(observed: Observed, files: dict[str, dict]) -> dict:
    traffic = observed.traffic
    return {"time_s": round(observed.time_s, 3), "pods": observed.pods, "ready_pods": observed.ready_pods,
            "workers": {pod: {"min": low, "max": high} for pod, (low, high) in observed.workers.items()},
            "traffic": {"throughput_rps": traffic.throughput_rps, "latency_ms": traffic.latency_ms,
                        "queue_ms": traffic.queue_ms, "status_5xx_rps": traffic.status_5xx_rps},
            "controllers": observed.controllers.names(), "manifests": sorted(files),
            "not_run": sorted(set(observed.controllers.names()) - set(observed.controllers.running()))}
