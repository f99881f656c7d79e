"""Replica calculator cases ported from kubernetes/kubernetes pkg/controller/podautoscaler/replica_calculator_test.go.

Each id names the upstream test. Levels and targets are upstream's milli-values; upstream splits every pod into two
containers with equal requests and usage, which leaves every ratio unchanged, so one value per pod is used here.
"""
from __future__ import annotations

from dataclasses import dataclass

import pytest

from twin.policies.hpa.observation import (
    FAILED, PENDING, RUNNING, HPAObservation, MetricSample, MetricValues, PodObservation,
)
from twin.policies.hpa.replicas import CalcContext, Tolerances, group_pods, propose
from twin.policies.hpa.requests import RequestError, pod_request
from twin.policies.pod_resources import Container
from twin.policies.hpa.spec import (
    AVERAGE_VALUE, CONTAINER_RESOURCE, EXTERNAL, OBJECT, PODS, RESOURCE, UTILIZATION, VALUE, LabelSelector,
    MetricKey, MetricSpec, MetricTarget, ObjectRef,
)
from tests.policies._hpa_fixtures import COOL, HOT, NOW, TEST_SETTINGS, make_pods, milli

T, F = True, False
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1
R, P, X = RUNNING, PENDING, FAILED
DEPLOYMENT = ObjectRef("Deployment", "some-deployment", "apps/v1")
SELECTOR = LabelSelector(match_labels=(("label", "value"),))


@dataclass(frozen=True)
class Case:
    id: str
    current: int
    expected: int | None  # None: the calculator reports an error
    kind: str  # cpu | pods | object | object_per_pod | external | external_per_pod
    levels: tuple[int, ...]
    target: int  # percent for cpu, milli-units otherwise
    expected_usage: int | None = None  # utilization percent for cpu, usage (milli) otherwise
    requests: tuple[float, ...] | None = None  # cpu only; None: 1.0 core per pod
    readiness: tuple[bool, ...] = ()
    start: tuple[float, ...] = ()
    phases: tuple[str, ...] = ()
    deleting: tuple[bool, ...] = ()
    error: str = ""


def cpu(id_, current, expected, levels, target, usage=None, **kw) -> Case:
    return Case(id_, current, expected, "cpu", tuple(levels), target, usage, **kw)


def metric(id_, kind, current, expected, levels, target, usage=None, **kw) -> Case:
    return Case(id_, current, expected, kind, tuple(levels), target, usage, **kw)


CASES = [
    cpu("TestReplicaCalcScaleUp", 3, 5, [300, 500, 700], 30, 50),
    cpu("TestReplicaCalcScaleUpUnreadyLessScale", 3, 4, [300, 500, 700], 30, 60, readiness=(F, T, T)),
    cpu("TestReplicaCalcScaleUpHotCpuLessScale", 3, 4, [300, 500, 700], 30, 60, start=(HOT, COOL, COOL)),
    cpu("TestReplicaCalcScaleUpUnreadyNoScale", 3, 3, [400, 500, 700], 30, 40, readiness=(T, F, F)),
    cpu("TestReplicaCalcScaleHotCpuNoScale", 3, 3, [400, 500, 700], 30, 40, readiness=(T, F, F),
        start=(COOL, HOT, HOT)),
    cpu("TestReplicaCalcScaleUpIgnoresFailedPods", 2, 4, [500, 700], 30, 60, readiness=(T, T, F, F),
        phases=(R, R, X, X)),
    cpu("TestReplicaCalcScaleUpIgnoresDeletionPods", 2, 4, [500, 700], 30, 60, readiness=(T, T, F, F),
        phases=(R, R, R, R), deleting=(F, F, T, T)),
    metric("TestReplicaCalcScaleUpCM", "pods", 3, 4, [20000, 10000, 30000], 15000, 20000),
    metric("TestReplicaCalcScaleUpCMUnreadyHotCpuNoLessScale", "pods", 3, 6, [50000, 10000, 30000], 15000, 30000,
           readiness=(T, T, F), start=(COOL, COOL, HOT)),
    metric("TestReplicaCalcScaleUpCMUnreadyHotCpuScaleWouldScaleDown", "pods", 3, 7, [50000, 15000, 30000], 15000,
           31666, readiness=(F, T, F), start=(HOT, COOL, HOT)),
    metric("TestReplicaCalcScaleUpCMObject", "object", 3, 4, [20000], 15000, 20000),
    metric("TestReplicaCalcScaleUpCMPerPodObject", "object_per_pod", 3, 4, [20000], 5000, 6667),
    metric("TestReplicaCalcScaleUpCMObjectIgnoresUnreadyPods", "object", 3, 5, [50000], 10000, 50000,
           readiness=(F, T, F)),
    metric("TestReplicaCalcScaleUpCMExternal", "pods", 1, 2, [8600], 4400, 8600),
    metric("TestReplicaCalcScaleUpCMExternalIgnoresUnreadyPods", "external", 3, 2, [8600], 4400, 8600,
           readiness=(F, T, F)),
    metric("TestReplicaCalcScaleUpPerPodCMExternal", "external_per_pod", 3, 4, [8600], 2150, 2867),
    cpu("TestReplicaCalcScaleDown", 5, 3, [100, 300, 500, 250, 250], 50, 28),
    metric("TestReplicaCalcScaleDownCM", "pods", 5, 3, [12000] * 5, 20000, 12000),
    metric("TestReplicaCalcScaleDownPerPodCMObject", "object_per_pod", 5, 3, [6000], 2000, 1200),
    metric("TestReplicaCalcScaleDownCMObject", "object", 5, 3, [12000], 20000, 12000),
    metric("TestReplicaCalcScaleDownCMExternal", "external", 5, 3, [8600], 14334, 8600),
    metric("TestReplicaCalcScaleDownPerPodCMExternal", "external_per_pod", 5, 3, [8600], 2867, 1720),
    cpu("TestReplicaCalcScaleDownIncludeUnreadyPods", 5, 2, [100, 300, 500, 250, 250], 50, 30,
        readiness=(T, T, T, F, F)),
    cpu("TestReplicaCalcScaleDownExcludeUnscheduledPods", 5, 1, [100], 50, 10, readiness=(T, F, F, F, F),
        phases=(R, P, P, P, P)),
    cpu("TestReplicaCalcScaleDownIgnoreHotCpuPods", 5, 2, [100, 300, 500, 250, 250], 50, 30,
        start=(COOL, COOL, COOL, HOT, HOT)),
    cpu("TestReplicaCalcScaleDownIgnoresFailedPods", 5, 3, [100, 300, 500, 250, 250], 50, 28,
        readiness=(T, T, T, T, T, F, F), phases=(R, R, R, R, R, X, X)),
    cpu("TestReplicaCalcScaleDownIgnoresDeletionPods", 5, 3, [100, 300, 500, 250, 250], 50, 28,
        readiness=(T, T, T, T, T, F, F), phases=(R,) * 7, deleting=(F, F, F, F, F, T, T)),
    cpu("TestReplicaCalcTolerance", 3, 3, [1010, 1030, 1020], 100, 102, requests=(0.9, 1.0, 1.1)),
    metric("TestReplicaCalcToleranceCM", "pods", 3, 3, [20000, 21000, 21000], 20000, 20666),
    metric("TestReplicaCalcToleranceCMObject", "object", 3, 3, [20666], 20000, 20666),
    metric("TestReplicaCalcTolerancePerPodCMObject", "object_per_pod", 4, 4, [20166], 5000, 5042),
    metric("TestReplicaCalcToleranceCMExternal", "external", 3, 3, [8600], 8888, 8600),
    metric("TestReplicaCalcTolerancePerPodCMExternal", "external_per_pod", 3, 3, [8600], 2900, 2867),
    cpu("TestReplicaCalcMissingMetrics", 4, 3, [400, 95], 100, 24),
    cpu("TestReplicaCalcEmptyMetrics", 4, None, [], 100, requests=(1.0, 1.0, 1.0), error="no metrics returned"),
    cpu("TestReplicaCalcEmptyCPURequest", 1, None, [200], 100, requests=(), error="missing request for"),
    cpu("TestReplicaCalcMissingMetricsNoChangeEq", 2, 2, [1000], 100, 100),
    cpu("TestReplicaCalcMissingMetricsNoChangeGt", 2, 2, [1900], 100, 190),
    cpu("TestReplicaCalcMissingMetricsNoChangeLt", 2, 2, [600], 100, 60),
    cpu("TestReplicaCalcMissingMetricsUnreadyChange", 3, 3, [100, 450], 50, 45, readiness=(F, T, T)),
    cpu("TestReplicaCalcMissingMetricsHotCpuNoChange", 3, 3, [100, 450], 50, 45, start=(HOT, COOL, COOL)),
    cpu("TestReplicaCalcMissingMetricsUnreadyScaleUp", 3, 4, [100, 2000], 50, 200, readiness=(F, T, T)),
    cpu("TestReplicaCalcMissingMetricsHotCpuScaleUp", 3, 4, [100, 2000], 50, 200, readiness=(F, T, T),
        start=(HOT, COOL, COOL)),
    cpu("TestReplicaCalcMissingMetricsUnreadyScaleDown", 4, 3, [100, 100, 100], 50, 10, readiness=(F, T, T, T)),
    cpu("TestReplicaCalcDuringRollingUpdateWithMaxSurge", 2, 2, [100, 100], 50, 10, phases=(R, R, R)),
    cpu("TestReplicaCalcResourceMissingMetrics/scale down: target over 100", 4, 2, [200, 100, 100], 300, 6,
        requests=(1.0, 1.0, 2.0, 2.0), readiness=(F, T, T, T)),
    # Upstream's integer rails: replicas saturate at MaxInt32, usage at MaxInt64.
    metric("TestReplicaCalcObjectMetric/scale up: very large metric saturates replicas to MaxInt32", "object", 3,
           INT32_MAX, [INT64_MAX], 1, INT64_MAX),
    metric("TestReplicaCalcExternalPerPodMetric/replica count overflow saturates to MaxInt32", "external_per_pod",
           1, INT32_MAX, [INT64_MAX], 1, INT64_MAX),
    metric("TestReplicaCalcExternalPerPodMetric/usage overflow with huge target leaves replicas unchanged",
           "external_per_pod", 1, 1, [INT64_MAX], INT64_MAX, INT64_MAX),
    metric("TestReplicaCalcExternalMetric/usage overflow caps at MaxInt64", "external", 3, 3,
           [INT64_MAX // 2 + 1] * 2, INT64_MAX, INT64_MAX),
    # TestReplicaCalcComputedToleranceAlgImplementation: 10 pods using 150m of ~300m (jittered requests);
    # target int((1/(2·0.9) + .01)·100) = 56 scales to 9, target int((1/(2·0.9) + .004)·100) = 55 stays at 10.
    cpu("TestReplicaCalcComputedToleranceAlgImplementation/scale", 10, 9, [150] * 10, 56, 50,
        requests=(0.4, 0.2, 0.31, 0.29, 0.302, 0.298, 0.301, 0.299, 0.3, 0.3)),
    cpu("TestReplicaCalcComputedToleranceAlgImplementation/within", 10, 10, [150] * 10, 55, 50,
        requests=(0.4, 0.2, 0.31, 0.29, 0.302, 0.298, 0.301, 0.299, 0.3, 0.3)),
]


def _spec(case: Case) -> MetricSpec:
    if case.kind == "cpu":
        return MetricSpec(MetricKey(RESOURCE, "cpu"), MetricTarget(UTILIZATION, average_utilization=case.target))
    if case.kind == "pods":
        return MetricSpec(MetricKey(PODS, "qps"), MetricTarget(AVERAGE_VALUE, average_value_milli=case.target))
    source = OBJECT if case.kind.startswith("object") else EXTERNAL
    key = MetricKey(source, "qps", SELECTOR if source == EXTERNAL else None,
                    DEPLOYMENT if source == OBJECT else None)
    if case.kind.endswith("per_pod"):
        return MetricSpec(key, MetricTarget(AVERAGE_VALUE, average_value_milli=case.target))
    return MetricSpec(key, MetricTarget(VALUE, value_milli=case.target))


def _observation(case: Case, spec: MetricSpec) -> HPAObservation:
    count = max(case.current, len(case.phases))
    per_pod = case.kind in ("cpu", "pods")
    requests = case.requests if case.requests is not None else (1.0,) * count
    pods = make_pods(count, metrics=(spec.key.name,), levels=list(case.levels) if per_pod else [],
                     requests=list(requests) if case.kind == "cpu" else None, readiness=list(case.readiness),
                     start=list(case.start), phases=list(case.phases), deleting=list(case.deleting))
    values = {} if per_pod else {spec.key: MetricValues(tuple(milli(level) for level in case.levels))}
    return HPAObservation(case.current, case.current, pods, values)


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_replica_calculator_matches_upstream(case: Case) -> None:
    spec = _spec(case)
    observation = _observation(case, spec)
    ctx = CalcContext(case.current, case.current, observation.pods, Tolerances(), NOW, TEST_SETTINGS)
    proposal = propose(spec, observation, ctx)
    if case.expected is None:
        assert proposal.replicas is None and case.error in proposal.error
        return
    assert proposal.error is None
    assert proposal.replicas == case.expected
    if case.expected_usage is not None:
        got = proposal.utilization if case.kind == "cpu" else proposal.usage_milli
        assert got == case.expected_usage


def _pod(name: str, **kw) -> PodObservation:
    return PodObservation(name, phase=kw.pop("phase", "Succeeded"), **kw)


def _sample(timestamp: float = 0.0, window: float = 60.0) -> dict[str, MetricSample]:
    return {"cpu": MetricSample(0.001, timestamp, window)}


# TestGroupPods: (name, pods, resource is cpu, ready count, unready names, missing names).
GROUP_CASES = [
    ("void", (), True, 0, set(), set()),
    ("count in a ready pod - memory", (_pod("bentham", samples={"memory": MetricSample(1e-3, NOW)}),), False,
     1, set(), set()),
    ("ignore a pod without ready condition - CPU", (_pod("lucretius", start_time=NOW, ready=None,
                                                         samples=_sample()),), True, 0, {"lucretius"}, set()),
    ("count in a ready pod with fresh metrics during initialization period - CPU",
     (_pod("bentham", start_time=NOW - 60, ready_transition_time=NOW - 30, samples=_sample(NOW, 30)),), True,
     1, set(), set()),
    ("ignore a ready pod without fresh metrics during initialization period - CPU",
     (_pod("bentham", start_time=NOW - 60, ready_transition_time=NOW - 30, samples=_sample(NOW, 60)),), True,
     0, {"bentham"}, set()),
    ("ignore an unready pod during initialization period - CPU",
     (_pod("lucretius", start_time=NOW - 600, ready=False, ready_transition_time=NOW - 594, samples=_sample()),),
     True, 0, {"lucretius"}, set()),
    ("count in a ready pod without fresh metrics after initialization period - CPU",
     (_pod("bentham", start_time=NOW - 180, ready_transition_time=NOW - 180, samples=_sample(NOW - 120)),),
     True, 1, set(), set()),
    ("count in an unready pod that was ready after initialization period - CPU",
     (_pod("lucretius", start_time=NOW - 600, ready=False, ready_transition_time=NOW - 540, samples=_sample()),),
     True, 1, set(), set()),
    ("ignore pod that has never been ready after initialization period - CPU",  # the 10 s boundary is not strict
     (_pod("lucretius", start_time=NOW - 600, ready=False, ready_transition_time=NOW - 590, samples=_sample()),),
     True, 1, set(), set()),
    ("a missing pod", (_pod("epicurus", start_time=NOW - 180),), True, 0, set(), {"epicurus"}),
    ("several pods", (_pod("lucretius", start_time=NOW, ready=None, samples=_sample()),
                      _pod("niccolo", start_time=NOW - 180, ready_transition_time=NOW - 180, samples=_sample()),
                      _pod("epicurus", start_time=NOW - 180)), True, 1, {"lucretius"}, {"epicurus"}),
    ("pending pods are ignored", (_pod("unscheduled", phase=PENDING, start_time=None),), True, 0,
     {"unscheduled"}, set()),
]


@pytest.mark.parametrize("name,pods,is_cpu,ready,unready,missing", GROUP_CASES, ids=[c[0] for c in GROUP_CASES])
def test_group_pods_matches_upstream(name, pods, is_cpu, ready, unready, missing) -> None:
    metric_name = "cpu" if is_cpu else "memory"
    groups = group_pods(pods, metric_name, is_cpu=is_cpu, now=NOW, settings=TEST_SETTINGS)
    assert (groups.ready_count, set(groups.unready), set(groups.missing)) == (ready, unready, missing)


def test_deleted_and_failed_pods_are_ignored_not_unready() -> None:
    pods = (_pod("a", phase=FAILED, samples=_sample()), _pod("b", phase=RUNNING, deleting=True, samples=_sample()))
    groups = group_pods(pods, "cpu", is_cpu=True, now=NOW, settings=TEST_SETTINGS)
    assert groups.ignored == frozenset({"a", "b"}) and not groups.unready and groups.ready_count == 0


def test_external_value_scales_from_zero_without_tolerance() -> None:
    """getUsageRatioReplicaCount with currentReplicas == 0: ceil(ratio), even inside the tolerance band."""
    spec = MetricSpec(MetricKey(EXTERNAL, "queue", SELECTOR), MetricTarget(VALUE, value_milli=10_000))
    observation = HPAObservation(0, 0, (), {spec.key: MetricValues((4.0, 6.5))})
    ctx = CalcContext(0, 0, (), Tolerances(), NOW, TEST_SETTINGS)
    assert propose(spec, observation, ctx).replicas == 2  # ceil(10.5 / 10)


def test_external_average_value_sums_all_series_and_ignores_readiness() -> None:
    """KEDA's default path: desired = ceil(Σ/target) once Σ/(target·status.replicas) leaves the band."""
    spec = MetricSpec(MetricKey(EXTERNAL, "s0-prometheus", SELECTOR), MetricTarget(AVERAGE_VALUE,
                                                                                   average_value_milli=5_000))
    pods = make_pods(2, levels=[], readiness=[False, False])
    observation = HPAObservation(2, 2, pods, {spec.key: MetricValues((12.0, 9.0))})
    ctx = CalcContext(2, 2, pods, Tolerances(), NOW, TEST_SETTINGS)
    assert propose(spec, observation, ctx).replicas == 5  # ceil(21 / 5)


def test_container_resource_uses_that_container_only() -> None:
    """ContainerResource: utilization of one container's usage over that container's request (CPU rules apply)."""
    spec = MetricSpec(MetricKey(CONTAINER_RESOURCE, "cpu", container="app"),
                      MetricTarget(UTILIZATION, average_utilization=50))
    pods = tuple(PodObservation(f"p{i}", samples={"app/cpu": MetricSample(0.9), "cpu": MetricSample(0.1)},
                                requests={"app/cpu": 1.0, "cpu": 4.0}) for i in range(2))
    proposal = propose(spec, HPAObservation(2, 2, pods), CalcContext(2, 2, pods, Tolerances(), NOW, TEST_SETTINGS))
    assert (proposal.replicas, proposal.utilization) == (4, 90)


def test_missing_container_request_is_reported_as_container_failure() -> None:
    spec = MetricSpec(MetricKey(CONTAINER_RESOURCE, "cpu", container="app"),
                      MetricTarget(UTILIZATION, average_utilization=50))
    pods = (PodObservation("p0", samples={"app/cpu": MetricSample(0.9)}, requests={"cpu": 1.0}),)
    proposal = propose(spec, HPAObservation(1, 1, pods), CalcContext(1, 1, pods, Tolerances(), NOW, TEST_SETTINGS))
    assert proposal.reason == "FailedGetContainerResourceMetric" and "missing request for app/cpu" in proposal.error


def test_failed_external_fetch_is_an_error_proposal() -> None:
    spec = MetricSpec(MetricKey(EXTERNAL, "queue", SELECTOR), MetricTarget(VALUE, value_milli=1000))
    observation = HPAObservation(3, 3, (), {spec.key: MetricValues(error="connection refused")})
    proposal = propose(spec, observation, CalcContext(3, 3, (), Tolerances(), NOW, TEST_SETTINGS))
    assert proposal.replicas is None and proposal.reason == "FailedGetExternalMetric"
    assert "connection refused" in proposal.error


@pytest.mark.parametrize("tolerances,expected", [(Tolerances(), 3), (Tolerances(scale_up=0.05), 4)])
def test_per_direction_tolerance(tolerances: Tolerances, expected: int) -> None:
    """KEP-4951: a 7 % excess is inside the default 10 % band but outside a 5 % scale-up tolerance."""
    spec = MetricSpec(MetricKey(PODS, "qps"), MetricTarget(AVERAGE_VALUE, average_value_milli=10_000))
    pods = make_pods(3, metrics=("qps",), levels=[10_700] * 3)
    proposal = propose(spec, HPAObservation(3, 3, pods), CalcContext(3, 3, pods, tolerances, NOW, TEST_SETTINGS))
    assert proposal.replicas == expected


@pytest.mark.parametrize("levels,expected", [
    ([2000, 2000], 2),  # scale-down: the missing pod counts as exactly the target, (2+2+10)/3 → ceil(0.47·3)
    ([30000, 30000], 6),  # scale-up: the missing pod counts as 0, (30+30+0)/3 = 20 → ceil(2·3)
])
def test_pods_metric_fills_missing_pods_by_direction(levels: list[int], expected: int) -> None:
    """calcPlainMetricReplicas: missing pods are `target` on a scale-down and 0 on a scale-up."""
    spec = MetricSpec(MetricKey(PODS, "qps"), MetricTarget(AVERAGE_VALUE, average_value_milli=10_000))
    pods = make_pods(3, metrics=("qps",), levels=levels)
    proposal = propose(spec, HPAObservation(3, 3, pods), CalcContext(3, 3, pods, Tolerances(), NOW, TEST_SETTINGS))
    assert proposal.replicas == expected


def test_unready_pods_only_discounted_on_scale_up() -> None:
    """Ready pods at 47 % of a 50 % target are within tolerance; unready pods must not drag the ratio down."""
    spec = MetricSpec(MetricKey(RESOURCE, "cpu"), MetricTarget(UTILIZATION, average_utilization=50))
    pods = make_pods(4, levels=[470, 470, 100, 100], requests=[1.0] * 4, readiness=[True, True, False, False])
    proposal = propose(spec, HPAObservation(4, 4, pods), CalcContext(4, 4, pods, Tolerances(), NOW, TEST_SETTINGS))
    assert proposal.replicas == 4


def test_average_value_within_tolerance_keeps_status_replicas() -> None:
    """GetExternalPerPodMetricReplicas answers status.replicas (not spec.replicas) when inside the band."""
    spec = MetricSpec(MetricKey(EXTERNAL, "queue", SELECTOR), MetricTarget(AVERAGE_VALUE, average_value_milli=2000))
    observation = HPAObservation(4, 5, (), {spec.key: MetricValues((10.0,))})
    proposal = propose(spec, observation, CalcContext(4, 5, (), Tolerances(), NOW, TEST_SETTINGS))
    assert (proposal.replicas, proposal.usage_milli) == (5, 2000)


def _two_container_pods(levels: list[list[int]], *, requests: float = 1.0, names: list[str] | None = None,
                        count: int | None = None) -> tuple[tuple[PodObservation, ...], dict]:
    """Upstream's fixture: pods test-pod-i with container1 and container2, each requesting `requests` cores; the
    metrics API reports levels[i] (milli) per container, under `names[i]` when given (a pod the lister lacks)."""
    count = len(levels) if count is None else count
    pods, unlisted = [], {}
    for i in range(max(count, len(levels))):
        usage = levels[i] if i < len(levels) else None
        samples = {} if usage is None else {
            "cpu": MetricSample(milli(sum(usage))),
            **{f"container{j + 1}/cpu": MetricSample(milli(u)) for j, u in enumerate(usage)}}
        name = names[i] if names and i < len(names) else f"test-pod-{i}"
        if i >= count or name != f"test-pod-{i}":
            unlisted[name] = samples
        if i < count:
            pods.append(PodObservation(
                f"test-pod-{i}", samples={} if name != f"test-pod-{i}" else samples,
                containers=(Container("container1", {"cpu": requests}), Container("container2", {"cpu": requests}))))
    return tuple(pods), unlisted


# (upstream case, current, levels per container, container, extra pod names, target %, expected, util %, raw milli)
CONTAINER_CASES = [
    ("TestReplicaCalcResourceScale/scale up: container metric", 3, [[1000, 300], [1000, 500], [1000, 700]],
     "container2", None, 30, 5, 50, 500),
    ("TestReplicaCalcResourceScale/scale down: container metric", 5,
     [[1000, 100], [1000, 300], [1000, 500], [1000, 250], [1000, 250]], "container2", None, 50, 3, 28, 280),
    ("TestReplicaCalcResourceMissingMetrics/superfluous metrics counted", 4,
     [[4000] * 2, [9500] * 2, [3000] * 2, [7000] * 2, [3200] * 2, [2000] * 2], "", None, 100, 24, 587, 11750),
    ("TestReplicaCalcResourceMissingMetrics/disjoint pod and metric names", 1, [[100, 100]], "",
     ["an-older-pod-name"], 100, None, None, None),
]


@pytest.mark.parametrize("case,current,levels,container,names,target,expected,utilization,raw", CONTAINER_CASES,
                         ids=[c[0] for c in CONTAINER_CASES])
def test_containers_by_name_and_samples_of_unknown_pods(case, current, levels, container, names, target, expected,
                                                       utilization, raw) -> None:
    pods, unlisted = _two_container_pods(levels, names=names, count=current)
    source = CONTAINER_RESOURCE if container else RESOURCE
    spec = MetricSpec(MetricKey(source, "cpu", container=container), MetricTarget(UTILIZATION,
                                                                                  average_utilization=target))
    observation = HPAObservation(current, current, pods, unlisted_samples=unlisted)
    ctx = CalcContext(current, current, pods, Tolerances(), NOW, TEST_SETTINGS, unlisted)
    proposal = propose(spec, observation, ctx)
    if expected is None:
        assert proposal.replicas is None and "no metrics returned matched known pods" in proposal.error
        return
    assert (proposal.replicas, proposal.utilization, proposal.usage_milli) == (expected, utilization, raw)


def test_plain_metric_average_counts_samples_of_pods_the_lister_lacks() -> None:
    """calcPlainMetricReplicas keeps every sample the custom metrics API returned in its average; the replica count
    still multiplies by the ready pods the lister knows."""
    spec = MetricSpec(MetricKey(PODS, "qps"), MetricTarget(AVERAGE_VALUE, average_value_milli=10_000))
    pods = make_pods(2, metrics=("qps",), levels=[10_000, 10_000])
    unlisted = {"gone": {"qps": MetricSample(40.0)}}
    ctx = CalcContext(2, 2, pods, Tolerances(), NOW, TEST_SETTINGS, unlisted)
    proposal = propose(spec, HPAObservation(2, 2, pods, unlisted_samples=unlisted), ctx)
    assert (proposal.replicas, proposal.usage_milli) == (4, 20_000)  # mean 20 over 3 samples → ceil(2 · 2)


def _requests_pod(containers=(), init=(), pod_level=None) -> PodObservation:
    return PodObservation("test-pod", containers=tuple(containers), init_containers=tuple(init),
                          pod_requests=pod_level)


C1, C2 = Container("container1", {"cpu": 0.1}), Container("container2", {"cpu": 0.05})
# TestCalculateRequests and TestCalculatePodRequestsFromContainers_NonExistentContainer (PodLevelResources on).
REQUEST_CASES = [
    ("Sum container requests", _requests_pod([C1, C2]), "", 150, ""),
    ("Pod-level resources override container requests", _requests_pod([C1, C2], pod_level={"cpu": 0.8}), "", 800,
     ""),
    ("Fail if at least one of the containers is missing requests", _requests_pod([Container("container1"), C2]), "",
     None, "missing request for cpu in container container1 of Pod test-pod"),
    ("Pod-level resources override missing container requests",
     _requests_pod([Container("container1"), C2], pod_level={"cpu": 0.8}), "", 800, ""),
    ("Container: only that container", _requests_pod([C1, C2]), "container1", 100, ""),
    ("Container: only that container, pod-level requests ignored", _requests_pod([C1, C2], pod_level={"cpu": 0.8}),
     "container1", 100, ""),
    ("pod with restartable init containers",
     _requests_pod([C1], [Container("init-container1", {"cpu": 0.02}),
                          Container("restartable-container1", {"cpu": 0.05}, "Always")]), "", 150, ""),
    ("NonExistentContainer", _requests_pod([C1]), "non-existent-container", None,
     "container non-existent-container not found in Pod test-pod"),
    ("Pod-level requests without the metric's resource", _requests_pod([Container("c")], pod_level={"memory": 1e9}),
     "", None, "missing pod-level request for cpu in Pod test-pod"),
]


@pytest.mark.parametrize("name,pod,container,expected,error", REQUEST_CASES, ids=[c[0] for c in REQUEST_CASES])
def test_calculate_requests_matches_upstream(name, pod, container, expected, error) -> None:
    if expected is None:
        with pytest.raises(RequestError, match=error):
            pod_request(pod, "cpu", container)
        return
    assert pod_request(pod, "cpu", container) == expected


def test_plain_init_container_does_not_count_but_a_sidecar_does_in_utilisation() -> None:
    """Two pods at 150m of CPU: the 50m sidecar makes the request 150m (100 %), the 2-core init container nothing."""
    spec = MetricSpec(MetricKey(RESOURCE, "cpu"), MetricTarget(UTILIZATION, average_utilization=50))
    init = (Container("migrate", {"cpu": 2.0}), Container("proxy", {"cpu": 0.05}, "Always"))
    pods = tuple(PodObservation(f"p{i}", samples={"cpu": MetricSample(0.15)}, containers=(C1,), init_containers=init)
                 for i in range(2))
    proposal = propose(spec, HPAObservation(2, 2, pods), CalcContext(2, 2, pods, Tolerances(), NOW, TEST_SETTINGS))
    assert (proposal.replicas, proposal.utilization) == (4, 100)


def test_unknown_metric_source_type_is_that_metrics_error() -> None:
    spec = MetricSpec(MetricKey("CheddarCheese", "brie"), MetricTarget(VALUE, value_milli=1))
    proposal = propose(spec, HPAObservation(3, 3), CalcContext(3, 3, (), Tolerances(), NOW, TEST_SETTINGS))
    assert proposal.replicas is None and proposal.reason == "InvalidMetricSourceType"
    assert "CheddarCheese" in proposal.error
