"""The VPA admission controller: a pod being created gets the recommendation as its requests (and scaled limits).

Fidelity ledger — upstream: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1, `pkg/admission-controller/
resource/pod/recommendation/recommendation_provider.go` (no patch for updateMode Off or a container whose mode is
Off; the recommendation capped by the policy and, for RequestsOnly, the container's limits; requests = target;
limits kept proportional (`GetProportionalLimit`) for RequestsAndLimits). It acts in every other mode (Initial,
Recreate, InPlaceOrRecreate, Auto): Initial differs only in that the updater never acts.
"""
from __future__ import annotations

from collections.abc import Mapping

from twin.policies.vpa import capping
from twin.policies.vpa.estimator import Bounds
from twin.policies.vpa.manifest import OFF, VpaSpec


def admit(spec: VpaSpec, container: str, recommendation: Bounds | None, requests: Mapping[str, float],
          limits: Mapping[str, float]) -> tuple[dict[str, float], dict[str, float]]:
    """The new pod's requests and limits (cores, bytes; other resources kept as they are)."""
    policy = spec.policy(container)
    if recommendation is None or spec.mode == OFF or policy.mode == OFF:
        return dict(requests), dict(limits)
    target = capping.cap(recommendation, policy, limits).target
    new_requests, new_limits = capping.resources(target, policy, requests, limits)
    return {**requests, **new_requests}, {**limits, **new_limits}
