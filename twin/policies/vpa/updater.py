"""The VPA updater's pass over a workload's pods: which pods to resize in place and which to evict, in what order,
within the eviction budget.

Fidelity ledger — upstream: kubernetes/autoscaler vertical-pod-autoscaler v1.7.1, `pkg/updater/config/config.go`
(defaults: --updater-interval 1 min, --min-replicas 2, --eviction-tolerance 0.5, --pod-update-threshold 0.1,
--in-recommendation-bounds-eviction-lifetime-threshold 12 h, --evict-after-oom-threshold 10 min),
`priority/priority_processor.go` (outside the range when a request is below the lower or above the upper bound, or
missing; resource diff = sum over resources of |request - target| / request, in milli-units),
`priority/update_priority_calculator.go` (a pod within the range is updated only after 12 h of life and a diff of at
least 0.1; a container OOM-killed within 10 min of starting updates the pod at once unless nothing would change;
order: outside the range first, then by diff), `restriction/pods_restriction_factory.go` (no update at all below
min replicas; tolerance = int(replicas x fraction)), `restriction/pods_eviction_restriction.go` and
`isPodDisruptable` (alive minus evicted and resized must stay above replicas - tolerance, or exactly one when the
tolerance is 0 and all replicas run; a Pending pod may always go), `restriction/pods_inplace_restriction.go`
(InPlaceOrRecreate: a pod already resizing is evicted if Infeasible, Deferred over 5 min, or InProgress over 1 h;
otherwise in place), `logic/updater.go` (Off and Initial: the updater does nothing).
Not modelled: the eviction rate limiter (off by default), PodDisruptionBudgets, admission-controller status checks.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from twin.policies.vpa.capping import upstream_units
from twin.policies.vpa.estimator import Bounds
from twin.policies.vpa.manifest import IN_PLACE_OR_RECREATE, RECREATE

PENDING = "Pending"
INFEASIBLE, DEFERRED, IN_PROGRESS = "Infeasible", "Deferred", "InProgress"


@dataclass(frozen=True)
class UpdaterConfig:
    interval_s: float = 60.0
    min_replicas: int = 2
    eviction_tolerance: float = 0.5
    min_change_priority: float = 0.1
    pod_lifetime_update_threshold_s: float = 43200.0
    evict_after_oom_threshold_s: float = 600.0
    deferred_resize_timeout_s: float = 300.0
    in_progress_resize_timeout_s: float = 3600.0


@dataclass(frozen=True)
class PodState:
    """What the updater reads of one pod (one container): requests in cores and bytes."""

    name: str
    phase: str
    start_time: float | None
    requests: Mapping[str, float]
    resize_status: str = ""
    last_oom: tuple[float, float] | None = None  # the OOM-killed container's (startedAt, finishedAt)


@dataclass(frozen=True)
class Priority:
    outside_range: bool
    scale_up: bool
    resource_diff: float


@dataclass(frozen=True)
class Action:
    pod: str
    kind: str  # "resize" (in place) | "evict"
    reason: str


@dataclass
class UpdaterState:
    resize_started: dict[str, float] = field(default_factory=dict)  # lastInPlaceAttemptTimeMap


def priority(requests: Mapping[str, float], bounds: Bounds) -> Priority:
    """`GetUpdatePriority` for a one-container pod."""
    have = upstream_units(requests)
    outside = up = False
    diff = 0.0
    for resource, target in bounds.target.items():
        request = have.get(resource)
        if request is None:
            outside = up = True
        else:
            up = up or target > request
            outside = outside or request < bounds.lower.get(resource, request) or \
                request > bounds.upper.get(resource, request)
        base = max(float(request or 0), 1.0)
        diff += abs(base - target) / base
    return Priority(outside, up, diff)


def wants_update(pod: PodState, rank: Priority, now: float, config: UpdaterConfig) -> bool:
    quick_oom = pod.last_oom is not None and pod.last_oom[1] - pod.last_oom[0] < config.evict_after_oom_threshold_s
    if not rank.outside_range and not quick_oom:
        if pod.start_time is None or now < pod.start_time + config.pod_lifetime_update_threshold_s:
            return False  # a short-lived pod within the range is left alone
        if rank.resource_diff < config.min_change_priority:
            return False
    return not (quick_oom and rank.resource_diff == 0)


@dataclass
class Budget:
    """`singleGroupStats` of the Deployment."""

    configured: int
    running: int
    tolerance: int
    disrupted: int = 0

    def disruptable(self) -> bool:
        alive = self.running - self.disrupted
        return alive > self.configured - self.tolerance or (
            self.configured == self.running and self.tolerance == 0 and self.disrupted == 0)


def plan(mode: str, pods: list[PodState], bounds: Mapping[str, Bounds], *, replicas: int, now: float,
         config: UpdaterConfig, state: UpdaterState, min_replicas: int | None = None) -> list[Action]:
    """One updater pass: the actions in the order the updater takes them. `bounds` is each pod's recommendation as
    the recommendation processor capped it for that pod."""
    if mode not in (RECREATE, IN_PLACE_OR_RECREATE) or len(pods) < (min_replicas or config.min_replicas):
        return []
    state.resize_started = {p: t for p, t in state.resize_started.items() if p in {pod.name for pod in pods}}
    ranked = [(p, priority(p.requests, bounds[p.name])) for p in pods]
    chosen = sorted(((p, r) for p, r in ranked if wants_update(p, r, now, config)),
                    key=lambda pr: (not pr[1].outside_range, -pr[1].resource_diff))
    running = sum(1 for p in pods if p.phase != PENDING)
    budget = Budget(replicas, running, int(replicas * config.eviction_tolerance))
    actions = []
    for pod, _ in chosen:
        action = _in_place(pod, budget, now, config, state) if mode == IN_PLACE_OR_RECREATE \
            else _evict(pod, budget, "requests outside the recommendation")
        if action is not None:
            actions.append(action)
    return actions


def _evict(pod: PodState, budget: Budget, reason: str) -> Action | None:
    if pod.phase == PENDING:
        return Action(pod.name, "evict", reason)
    if not budget.disruptable():
        return None
    budget.disrupted += 1
    return Action(pod.name, "evict", reason)


def _in_place(pod: PodState, budget: Budget, now: float, config: UpdaterConfig, state: UpdaterState) -> Action | None:
    if pod.phase == PENDING:
        return None
    if pod.resize_status:
        started = state.resize_started.setdefault(pod.name, now)
        return _evict(pod, budget, why) if (why := _stuck(pod.resize_status, now - started, config)) else None
    if not budget.disruptable():
        return None
    budget.disrupted += 1
    state.resize_started[pod.name] = now
    return Action(pod.name, "resize", "requests outside the recommendation")


def _stuck(status: str, waited_s: float, config: UpdaterConfig) -> str:
    """Why a resize under way falls back to eviction, or "" to keep waiting."""
    if status == INFEASIBLE:
        return "in-place resize infeasible"
    if status == DEFERRED and waited_s > config.deferred_resize_timeout_s:
        return f"in-place resize deferred over {config.deferred_resize_timeout_s:g} s"
    if status == IN_PROGRESS and waited_s > config.in_progress_resize_timeout_s:
        return f"in-place resize in progress over {config.in_progress_resize_timeout_s:g} s"
    return ""
