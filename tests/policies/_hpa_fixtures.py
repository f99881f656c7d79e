"""Builders that mirror the fixtures of upstream's HPA unit tests (replica_calculator_test.go, horizontal_test.go)."""
from __future__ import annotations

from twin.policies.hpa.observation import RUNNING, MetricSample, PodObservation
from twin.policies.hpa.spec import (
    MAX_POLICY, PERCENT_POLICY, PODS_POLICY, HPAControllerSettings, ScalingPolicy, ScalingRules,
)

NOW = 10_000.0  # seconds; pods "started at the zero time" start at 0.0, long before NOW
HOT = NOW  # hotCPUCreationTime(): started now, inside the CPU initialisation period
COOL = NOW - 180.0  # coolCPUCreationTime(): started 3 minutes ago

# defaultTestingCPUInitializationPeriod = 2 min, defaultTestingDelayOfInitialReadinessStatus = 10 s.
TEST_SETTINGS = HPAControllerSettings(cpu_initialization_period=120.0, initial_readiness_delay=10.0)


def milli(value: int) -> float:
    """Upstream tests give levels in milli-units."""
    return value / 1000


def make_pods(count: int, *, levels: list[int], metrics: tuple[str, ...] = ("cpu",),
              requests: list[float] | None = None,
              readiness: list[bool] | None = None, start: list[float] | None = None, phases: list[str] | None = None,
              deleting: list[bool] | None = None, sample_time: float = 0.0, transition_at_start: bool = False,
              ) -> tuple[PodObservation, ...]:
    """Pods test-pod-0..count-1; pod i gets levels[i] (milli) as its sample of each of `metrics` if i < len(levels)."""
    pods = []
    for i in range(count):
        started = start[i] if start else 0.0
        pods.append(PodObservation(
            name=f"test-pod-{i}",
            phase=phases[i] if phases else RUNNING,
            ready=readiness[i] if readiness and i < len(readiness) else True,
            start_time=started,
            ready_transition_time=started if transition_at_start else 0.0,
            deleting=bool(deleting and deleting[i]),
            samples={m: MetricSample(milli(levels[i]), sample_time, 60.0) for m in metrics} if i < len(levels) else {},
            requests={"cpu": requests[i]} if requests and i < len(requests) else {},
        ))
    return tuple(pods)


def rules(pods: int, pods_period: int, percent: int, percent_period: int, window: int) -> ScalingRules:
    """generateScalingRules: a Pods policy then a Percent policy (each only when non-zero), selectPolicy Max."""
    policies = []
    if pods:
        policies.append(ScalingPolicy(PODS_POLICY, pods, pods_period))
    if percent:
        policies.append(ScalingPolicy(PERCENT_POLICY, percent, percent_period))
    return ScalingRules(window, MAX_POLICY, tuple(policies))
