"""A recommendation as the updater and the admission controller apply it to one pod: capped to the container
policy's minAllowed / maxAllowed (and, for RequestsOnly, to the container's limits), then the new requests and limits.

Fidelity ledger — upstream: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1, `pkg/utils/vpa/capping.go`
(minAllowed then maxAllowed on target, lower and upper bound, a zero bound ignored; RequestsOnly caps to the
container's limit), `pkg/utils/vpa/limit_and_request_scaling.go` (`GetProportionalLimit`: RequestsAndLimits keeps the
limit-to-request ratio, limit = limit x recommended / request in whole units; a limit equal to the request, or no
request, becomes the recommendation; no limit stays none). Not modelled: LimitRange defaults and caps.
"""
from __future__ import annotations

import math
from collections.abc import Mapping

from twin.policies.vpa.estimator import CPU, MEMORY, Bounds
from twin.policies.vpa.manifest import REQUESTS_ONLY, ContainerPolicy


def upstream_units(resources: Mapping[str, float]) -> dict[str, int]:
    """Cores and bytes as upstream compares them: `MilliValue()` for CPU, `Value()` for memory, both rounded up."""
    converted = {}
    if CPU in resources:
        converted[CPU] = math.ceil(round(resources[CPU] * 1000, 6))
    if MEMORY in resources:
        converted[MEMORY] = math.ceil(resources[MEMORY])
    return converted


def twin_units(resources: Mapping[str, int]) -> dict[str, float]:
    converted = {}
    if CPU in resources:
        converted[CPU] = resources[CPU] / 1000.0
    if MEMORY in resources:
        converted[MEMORY] = float(resources[MEMORY])
    return converted


def cap(bounds: Bounds, policy: ContainerPolicy, limits: Mapping[str, float] | None = None) -> Bounds:
    """The recommendation within the policy, and within the container's limits when only requests are controlled."""
    floor = upstream_units(policy.min_allowed or {})
    ceiling = upstream_units(policy.max_allowed or {})
    limit = upstream_units(limits or {}) if policy.controlled_values == REQUESTS_ONLY else {}

    def one(values: dict[str, int]) -> dict[str, int]:
        capped = {}
        for resource, value in values.items():
            if floor.get(resource):
                value = max(value, floor[resource])
            if ceiling.get(resource):
                value = min(value, ceiling[resource])
            if resource in limit:
                value = min(value, limit[resource])
            capped[resource] = value
        return capped

    return Bounds(one(bounds.target), one(bounds.lower), one(bounds.upper))


def proportional_limit(limit: int | None, request: int | None, recommended: int) -> int | None:
    """`getProportionalResourceLimit` for one resource."""
    if not limit or not recommended:
        return None
    if not request or request == limit:
        return recommended
    return limit * recommended // request


def resources(target: Mapping[str, int], policy: ContainerPolicy, requests: Mapping[str, float],
              limits: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """The container's new requests and limits (cores and bytes) for a capped target."""
    old_requests, old_limits = upstream_units(requests), upstream_units(limits)
    new_requests = {**old_requests, **target}
    new_limits = dict(old_limits)
    if policy.controlled_values != REQUESTS_ONLY:
        for resource, value in target.items():
            scaled = proportional_limit(old_limits.get(resource), old_requests.get(resource), value)
            if scaled is not None:
                new_limits[resource] = scaled
    return twin_units(new_requests), twin_units(new_limits)
