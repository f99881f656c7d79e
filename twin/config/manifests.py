"""Real Kubernetes manifests in a scenario: a Deployment's replicas, resources and node selector; HPA, KEDA and VPA
objects read from files. The autoscaler manifests are validated by their own parsers (twin.policies) at load time.
Placeholder pods: a scheduling.k8s.io/v1 PriorityClass (`value` within kubernetes `pkg/apis/scheduling/types.go`'s
user range, up to HighestUserDefinablePriority 1e9; `preemptionPolicy` PreemptLowerPriority by default, or Never) and
the Deployment whose template names it, as the Priority admission plugin resolves `priorityClassName` into each pod.

A manifest file may hold one object, a multi-document stream (`helm template`) or a `kind: List` (`kubectl get -o
yaml`): the object of the wanted kind is picked from it, by name when there are several.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from twin.config.quantity import exact_quantity
from twin.errors import InputError

# PriorityClass `value`: int32, and for user classes at most HighestUserDefinablePriority (1e9).
PRIORITY_RANGE = (-2**31, 10**9)
PREEMPTION_POLICIES = ("PreemptLowerPriority", "Never")


def deployment_fields(manifest: Any, source: str, pools: list[str]) -> dict[str, Any]:
    """The scenario's `deployment` fields a real apps/v1 Deployment determines."""
    template = pod_spec(manifest, source)
    resources = serving_container(template).get("resources") or {}
    fields: dict[str, Any] = {
        "name": name_of(manifest) or "torchserve",
        "pods": manifest["spec"].get("replicas", 1),
        "resources": {"requests": resources.get("requests") or {}, "limits": resources.get("limits") or {}},
    }
    selected = [v for v in (template.get("nodeSelector") or {}).values() if v in pools]
    if selected:
        fields["node_pool"] = selected[0]
    return fields


@dataclass(frozen=True)
class PlaceholderPods:
    """A Deployment of pause pods with its PriorityClass, as the scheduler and the Cluster Autoscaler see its pods."""

    name: str
    replicas: int
    requests: Mapping[str, float]  # summed over the containers: cpu in cores, memory in bytes, devices in units
    priority: int  # the PriorityClass value the Priority admission plugin copies into each pod
    preemption_policy: str = "PreemptLowerPriority"
    node_pool: str | None = None


def placeholder_pods(priority_class: Any, class_source: str, deployment: Any, source: str,
                     pools: list[str]) -> PlaceholderPods:
    """The placeholder Deployment's pods; its template must name the PriorityClass (else its pods get priority 0
    and preempt nothing, nor are they preempted by the serving pods)."""
    value, policy = _priority(priority_class, class_source)
    template = pod_spec(deployment, source)
    wanted = name_of(priority_class)
    if template.get("priorityClassName") != wanted:
        raise InputError(source, "spec.template.spec.priorityClassName", f"the PriorityClass {wanted!r}",
                         repr(template.get("priorityClassName")))
    replicas = deployment["spec"].get("replicas", 1)
    if isinstance(replicas, bool) or not isinstance(replicas, int) or replicas < 0:
        raise InputError(source, "spec.replicas", "a whole number >= 0", repr(replicas))
    selected = [v for v in (template.get("nodeSelector") or {}).values() if v in pools]
    return PlaceholderPods(name_of(deployment) or "placeholders", replicas, _requests(template, source), value,
                           policy, selected[0] if selected else None)


def _priority(manifest: Any, source: str) -> tuple[int, str]:
    if not isinstance(manifest, dict) or manifest.get("kind") != "PriorityClass":
        raise InputError(source, "kind", "a scheduling.k8s.io/v1 PriorityClass", repr(_kind(manifest)))
    value = manifest.get("value")
    low, high = PRIORITY_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise InputError(source, "value", f"a whole number from {low} to {high}", repr(value))
    policy = manifest.get("preemptionPolicy", PREEMPTION_POLICIES[0])
    if policy not in PREEMPTION_POLICIES:
        raise InputError(source, "preemptionPolicy", " or ".join(PREEMPTION_POLICIES), repr(policy))
    return value, policy


def _requests(template: dict, source: str) -> dict[str, float]:
    total: dict[str, float] = {}
    for index, container in enumerate(template["containers"]):
        for resource, text in ((container.get("resources") or {}).get("requests") or {}).items():
            try:
                amount = float(exact_quantity(text))
            except ValueError:
                raise InputError(source, f"spec.template.spec.containers.{index}.resources.requests.{resource}",
                                 "a Kubernetes quantity such as '500m' or '4Gi'", repr(text)) from None
            total[resource] = total.get(resource, 0.0) + amount
    return total


def pod_spec(manifest: Any, source: str) -> dict:
    """A Deployment's pod template spec, checked to hold containers."""
    if not isinstance(manifest, dict) or manifest.get("kind") != "Deployment":
        raise InputError(source, "kind", "an apps/v1 Deployment", repr(_kind(manifest)))
    spec = _mapping(manifest, "spec", source)
    template = _mapping(_mapping(spec, "template", source, "spec"), "spec", source, "spec.template")
    containers = template.get("containers")
    if not isinstance(containers, list) or not containers or not all(isinstance(c, dict) for c in containers):
        raise InputError(source, "spec.template.spec.containers", "a list of containers", repr(containers))
    return template


def serving_container(template: dict) -> dict:
    """The container running TorchServe: the one whose image names it (a sidecar may come first), else the first."""
    containers = template["containers"]
    return next((c for c in containers if "torchserve" in str(c.get("image", ""))), containers[0])


def objects(documents: list[Any]) -> list[Any]:
    """The objects of a YAML stream: `kind: List` items flattened, empty documents (a helm template's comments)
    dropped."""
    return [item for document in documents if document is not None
            for item in (document.get("items") or [] if _is_list(document) else [document])]


def pick(found: list[Any], kind: str, source: str, *, target: str | None = None) -> Any:
    """The one object of `kind` in a file; `target` (the Deployment's name) chooses among several: a Deployment by
    its name, an autoscaler by its scaleTargetRef. HPAs that KEDA generated for a ScaledObject are not candidates.
    A file of one object returns it as is, for its own parser to judge."""
    if len(found) == 1:
        return found[0]
    candidates = [o for o in found if _kind(o) == kind and not owned_by_keda(o)]
    if target is not None and len(candidates) > 1:
        candidates = [o for o in candidates if target_name(o) == target]
    if len(candidates) == 1:
        return candidates[0]
    if not candidates:
        kinds = sorted({str(_kind(o)) for o in found})
        raise InputError(source, "kind", f"a {kind} among the file's objects", ", ".join(kinds) or "no object")
    names = ", ".join(repr(name_of(o)) for o in candidates)
    raise InputError(source, "metadata.name", f"one {kind} (name the Deployment in deployment.name)",
                     f"{len(candidates)}: {names}")


def name_of(manifest: Any) -> str:
    return str((manifest.get("metadata") or {}).get("name", ""))


def target_name(manifest: Any) -> str:
    """A Deployment's own name; the name of the object an autoscaler scales (a VPA's targetRef)."""
    if _kind(manifest) == "Deployment":
        return name_of(manifest)
    spec = manifest.get("spec") or {}
    return str((spec.get("scaleTargetRef") or spec.get("targetRef") or {}).get("name", ""))


def owned_by_keda(manifest: Any) -> bool:
    """An HPA KEDA generated for a ScaledObject (`keda-hpa-<name>`): KEDA's, not the user's."""
    owners = (manifest.get("metadata") or {}).get("ownerReferences") or []
    return any(isinstance(o, dict) and o.get("kind") == "ScaledObject" for o in owners)


def _is_list(document: Any) -> bool:
    return isinstance(document, dict) and str(document.get("kind", "")).endswith("List") and "items" in document


def _kind(manifest: Any) -> Any:
    return manifest.get("kind") if isinstance(manifest, dict) else type(manifest).__name__


def _mapping(parent: dict, key: str, source: str, prefix: str = "") -> dict:
    value = parent.get(key)
    if not isinstance(value, dict):
        raise InputError(source, f"{prefix}.{key}" if prefix else key, "a mapping", repr(value))
    return value
