"""Real manifests uploaded in the dashboard, in place of the scenario's references.

Each upload is written (staged, then renamed) to `<folder>/<sha256 prefix>/<its name>`, so the same content keeps the
same path and the cache stays valid, and the scenario is pointed at it through overrides:
- an apps/v1 Deployment replaces the scenario's pods, resources, name and node pool (`deployment.manifest`);
- a TorchServe config.properties replaces the model settings written in the scenario;
- an autoscaling/v2 HorizontalPodAutoscaler or a KEDA ScaledObject becomes the scenario's autoscaler, replacing
  the other kind.
The loader then validates them as it validates any scenario: a wrong manifest is an InputError naming the file.
"""
from __future__ import annotations

import hashlib
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

import yaml

from twin import outputs
from twin.errors import InputError

AUTOSCALERS = {"HorizontalPodAutoscaler": "hpa", "ScaledObject": "keda"}
_SET_BY_DEPLOYMENT = ("name", "pods", "resources", "node_pool", "manifest")


@dataclass(frozen=True)
class Upload:
    name: str
    content: bytes


def default_folder() -> Path:
    return Path(tempfile.gettempdir()) / "servetwin-dashboard-uploads"


def store(upload: Upload, folder: Path) -> Path:
    """The upload's path under `folder`, written once per content, never half-written."""
    digest = hashlib.sha256(upload.content).hexdigest()[:16]
    target = folder / digest / Path(upload.name).name
    if target.is_file():
        return target
    with outputs.staged_file(target) as staging:
        staging.write_bytes(upload.content)
    return target


def manifest_overrides(document: Mapping[str, Any], uploads: list[Upload], folder: Path) -> dict[str, Any]:
    """Overrides that point the scenario `document` at the uploaded manifests (Deployment first, so that a
    config.properties uploaded with it lands inside the new deployment section)."""
    overrides: dict[str, Any] = {}
    kinds = sorted(((_kind(u), u) for u in uploads), key=lambda pair: pair[0] != "Deployment")
    for kind, upload in kinds:
        path = str(store(upload, folder))
        deployment = document.get("deployment") or {}
        if kind == "config.properties":
            overrides["deployment.torchserve"] = {"config_properties": path}
        elif kind == "Deployment":
            kept = {k: v for k, v in deployment.items() if k not in _SET_BY_DEPLOYMENT}
            overrides["deployment"] = {**kept, "manifest": path}
        else:
            section = AUTOSCALERS[kind]
            written = (document.get("autoscaling") or {}).get(section) or {}
            overrides[f"autoscaling.{section}"] = {**written, "manifest": {"path": path}}
            other = "keda" if section == "hpa" else "hpa"
            overrides[f"autoscaling.{other}"] = None
    return overrides


def _kind(upload: Upload) -> str:
    if upload.name.endswith(".properties"):
        return "config.properties"
    try:
        manifest = yaml.safe_load(upload.content.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as error:
        raise InputError(upload.name, "", "a YAML manifest or a config.properties",
                         str(getattr(error, "problem", None) or error)) from None
    kind = manifest.get("kind") if isinstance(manifest, dict) else None
    if kind != "Deployment" and kind not in AUTOSCALERS:
        raise InputError(upload.name, "kind", "Deployment, HorizontalPodAutoscaler or ScaledObject", repr(kind))
    return kind
