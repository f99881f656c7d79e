"""Parse a real `autoscaling.k8s.io/v1` VerticalPodAutoscaler manifest (a dict from YAML) into a `VpaSpec`.

Fidelity ledger — upstream: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1, `pkg/apis/autoscaling.k8s.io/v1/
types.go` (field names; updateMode Off, Initial, Recreate, InPlaceOrRecreate, Auto (deprecated, as Recreate);
container mode Auto or Off; controlledValues RequestsAndLimits (default) or RequestsOnly; containerName `*` for
every container), `pkg/utils/vpa/api.go` (`GetUpdateMode`: no mode is Recreate; `GetContainerResourcePolicy`: the
container's own policy, else the `*` one). Not modelled: updateMode InPlace (alpha, behind a feature gate),
evictionRequirements, startupBoost, custom recommenders (spec.recommenders).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from twin.config.quantity import parse_quantity
from twin.errors import InputError
from twin.policies.vpa.estimator import CPU, MEMORY

OFF, INITIAL, RECREATE, IN_PLACE_OR_RECREATE, AUTO = "Off", "Initial", "Recreate", "InPlaceOrRecreate", "Auto"
REQUESTS_AND_LIMITS, REQUESTS_ONLY = "RequestsAndLimits", "RequestsOnly"
ANY_CONTAINER = "*"


@dataclass(frozen=True)
class ContainerPolicy:
    container: str = ANY_CONTAINER
    mode: str = "Auto"
    min_allowed: dict[str, float] | None = None  # cpu in cores, memory in bytes
    max_allowed: dict[str, float] | None = None
    controlled_resources: tuple[str, ...] = (CPU, MEMORY)
    controlled_values: str = REQUESTS_AND_LIMITS


@dataclass(frozen=True)
class VpaSpec:
    name: str
    target_kind: str
    target_name: str
    update_mode: str = RECREATE
    min_replicas: int | None = None  # spec.updatePolicy.minReplicas: overrides the updater's --min-replicas
    policies: tuple[ContainerPolicy, ...] = ()

    def policy(self, container: str) -> ContainerPolicy:
        own = [p for p in self.policies if p.container == container]
        default = [p for p in self.policies if p.container == ANY_CONTAINER]
        return (own or default or [ContainerPolicy(container)])[0]

    @property
    def mode(self) -> str:
        return RECREATE if self.update_mode == AUTO else self.update_mode


def vpa_from_manifest(manifest: Any, source: str) -> VpaSpec:
    """A `VpaSpec` with the API's defaults; raises `InputError` naming the bad field."""
    data = _mapping(manifest, "", source)
    _choice(data, "apiVersion", "", source, ("autoscaling.k8s.io/v1",))
    _choice(data, "kind", "", source, ("VerticalPodAutoscaler",))
    spec = _mapping(data.get("spec"), "spec", source)
    target = _mapping(spec.get("targetRef"), "spec.targetRef", source)
    update = _mapping(spec.get("updatePolicy") or {}, "spec.updatePolicy", source)
    resource_policy = _mapping(spec.get("resourcePolicy") or {}, "spec.resourcePolicy", source)
    policies = resource_policy.get("containerPolicies") or []
    if not isinstance(policies, list):
        raise InputError(source, "spec.resourcePolicy.containerPolicies", "a list", repr(policies))
    return VpaSpec(
        name=str((data.get("metadata") or {}).get("name", "")),
        target_kind=_text(target, "kind", "spec.targetRef", source), target_name=_text(target, "name",
                                                                                     "spec.targetRef", source),
        update_mode=_choice(update, "updateMode", "spec.updatePolicy", source,
                            (OFF, INITIAL, RECREATE, IN_PLACE_OR_RECREATE, AUTO), default=RECREATE),
        min_replicas=_min_replicas(update, source),
        policies=tuple(_policy(p, f"spec.resourcePolicy.containerPolicies.{i}", source)
                       for i, p in enumerate(policies)))


def _policy(data: Any, path: str, source: str) -> ContainerPolicy:
    data = _mapping(data, path, source)
    controlled = data.get("controlledResources", [CPU, MEMORY])
    if not isinstance(controlled, list) or not set(controlled) <= {CPU, MEMORY}:
        raise InputError(source, f"{path}.controlledResources", "a list of cpu and memory", repr(controlled))
    return ContainerPolicy(
        container=_text(data, "containerName", path, source, default=ANY_CONTAINER),
        mode=_choice(data, "mode", path, source, ("Auto", "Off"), default="Auto"),
        min_allowed=_resources(data.get("minAllowed"), f"{path}.minAllowed", source),
        max_allowed=_resources(data.get("maxAllowed"), f"{path}.maxAllowed", source),
        controlled_resources=tuple(controlled),
        controlled_values=_choice(data, "controlledValues", path, source, (REQUESTS_AND_LIMITS, REQUESTS_ONLY),
                                  default=REQUESTS_AND_LIMITS))


def _resources(data: Any, path: str, source: str) -> dict[str, float] | None:
    if data is None:
        return None
    data = _mapping(data, path, source)
    parsed = {}
    for name, value in data.items():
        try:
            parsed[str(name)] = parse_quantity(value)
        except ValueError:
            raise InputError(source, f"{path}.{name}", "a quantity such as 500m, 2, 1Gi", repr(value)) from None
        if parsed[str(name)] < 0:
            raise InputError(source, f"{path}.{name}", "a non-negative quantity", repr(value))
    return parsed


def _min_replicas(update: dict, source: str) -> int | None:
    value = update.get("minReplicas")
    if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 1):
        raise InputError(source, "spec.updatePolicy.minReplicas", "a whole number >= 1", repr(value))
    return value


def _mapping(value: Any, path: str, source: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(source, path, "a mapping", repr(value) if value is not None else "nothing")
    return value


def _text(data: dict, key: str, path: str, source: str, default: str | None = None) -> str:
    value = data.get(key, default)
    if not isinstance(value, str) or not value:
        raise InputError(source, f"{path}.{key}" if path else key, "a non-empty string",
                         repr(value) if value is not None else "nothing")
    return value


def _choice(data: dict, key: str, path: str, source: str, choices: tuple[str, ...], default: str | None = None) -> str:
    value = data.get(key, default)
    if value not in choices:
        raise InputError(source, f"{path}.{key}" if path else key, " or ".join(choices),
                         repr(value) if value is not None else "nothing")
    return value
