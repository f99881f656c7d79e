"""Real Kubernetes manifests in a scenario: a Deployment's replicas, resources and node selector; HPA and KEDA objects
read from files. The autoscaler manifests are validated by their own parsers (twin.policies) at load time."""
from __future__ import annotations

from typing import Any

from twin.errors import InputError


def deployment_fields(manifest: Any, source: str, pools: list[str]) -> dict[str, Any]:
    """The scenario's `deployment` fields a real apps/v1 Deployment determines."""
    if not isinstance(manifest, dict) or manifest.get("kind") != "Deployment":
        raise InputError(source, "kind", "an apps/v1 Deployment", repr(_kind(manifest)))
    spec = _mapping(manifest, "spec", source)
    template = _mapping(_mapping(spec, "template", source, "spec"), "spec", source, "spec.template")
    containers = template.get("containers")
    if not isinstance(containers, list) or not containers or not isinstance(containers[0], dict):
        raise InputError(source, "spec.template.spec.containers", "a list of containers", repr(containers))
    resources = containers[0].get("resources") or {}
    fields: dict[str, Any] = {
        "name": (manifest.get("metadata") or {}).get("name", "torchserve"),
        "pods": spec.get("replicas", 1),
        "resources": {"requests": resources.get("requests") or {}, "limits": resources.get("limits") or {}},
    }
    selected = [v for v in (template.get("nodeSelector") or {}).values() if v in pools]
    if selected:
        fields["node_pool"] = selected[0]
    return fields


def _kind(manifest: Any) -> Any:
    return manifest.get("kind") if isinstance(manifest, dict) else type(manifest).__name__


def _mapping(parent: dict, key: str, source: str, prefix: str = "") -> dict:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise InputError(source, f"{prefix}.{key}" if prefix else key, "a mapping", repr(value))
    return value
