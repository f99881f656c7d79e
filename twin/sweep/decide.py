"""The chosen configuration as files a person can apply: values, manifests, TorchServe settings, and the decision log
of its run for `servetwin replay`."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import yaml

from twin import outputs
from twin.config.properties import MODEL_KEYS
from twin.config.schema import Scenario
from twin.core.run import simulate
from twin.sweep import spec


def write_decision(folder: Path, *, base: Path, overrides: dict[str, Any], duration_s: float | None, seed: int,
                   values: dict[str, Any]) -> None:
    """Run the chosen configuration again with the decision log on, and write its folder (complete or not at all).
    `values` is what `values.yaml` records beside the seed: the chosen values, the SLO."""
    scenario = spec.scenario_of(base, {**overrides, "autoscaling.decision_log": True}, duration_s=duration_s)
    result = simulate(scenario, seed=seed)
    with outputs.staged_folder(folder, command="optimize", force=True) as staging:  # inside optimize's own folder
        (staging / "values.yaml").write_text(yaml.safe_dump(
            {"base": str(base), **values, "seed": seed}, sort_keys=False))
        (staging / "scenario.resolved.yaml").write_text(yaml.safe_dump(scenario.model_dump(mode="json"),
                                                                      sort_keys=False))
        (staging / "summary.json").write_text(json.dumps(result.summary.to_dict(), indent=2))
        (staging / "decisions.jsonl").write_text("".join(json.dumps(d.to_json()) + "\n" for d in result.decisions))
        _write_manifests(staging / "manifests", scenario)


def _write_manifests(folder: Path, scenario: Scenario) -> None:
    folder.mkdir()
    (folder / "deployment-patch.yaml").write_text(yaml.safe_dump(deployment_patch(scenario), sort_keys=False))
    (folder / "config.properties").write_text(model_properties(scenario))
    for kind in ("keda", "hpa"):
        section = getattr(scenario.autoscaling, kind)
        if section is not None:
            (folder / f"{kind}.yaml").write_text(yaml.safe_dump(section.manifest.object, sort_keys=False))


def deployment_patch(scenario: Scenario) -> dict:
    """A strategic-merge patch for the Deployment: replicas and the TorchServe container's resources
    (`kubectl patch deployment NAME --patch-file deployment-patch.yaml`; the container name is assumed)."""
    deployment = scenario.deployment
    resources = {kind: {k: _quantity(v) for k, v in getattr(deployment.resources, kind).items()}
                 for kind in ("requests", "limits") if getattr(deployment.resources, kind)}
    return {"metadata": {"name": deployment.name}, "spec": {"replicas": deployment.pods, "template": {"spec": {
        "containers": [{"name": "torchserve", "resources": resources}]}}}}


def _quantity(value: str | float) -> str:
    """A Kubernetes quantity as a manifest spells it: `1`, not `1.0`."""
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def model_properties(scenario: Scenario) -> str:
    """The `models=` line of TorchServe's config.properties with the chosen per-model settings."""
    model = scenario.deployment.torchserve.model
    settings = {key: getattr(model, field) for key, field in MODEL_KEYS.items()}
    settings["maxWorkers"] = settings["maxWorkers"] if settings["maxWorkers"] is not None else model.min_workers
    settings["maxBatchDelay"] = int(round(settings["maxBatchDelay"]))
    settings["responseTimeout"] = int(round(settings["responseTimeout"]))
    name = scenario.deployment.name
    return (f"# per-model settings chosen by servetwin optimize for {scenario.name}\n"
            f"models={json.dumps({name: {'1.0': settings}}, separators=(',', ':'))}\n")
