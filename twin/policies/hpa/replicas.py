"""The HPA replica calculator: one metric's proposal from one observation.

Fidelity ledger — upstream: kubernetes/kubernetes `pkg/controller/podautoscaler/replica_calculator.go`
(`GetResourceReplicas`, `GetRawResourceReplicas`, `GetMetricReplicas`, `calcPlainMetricReplicas`,
`GetObjectMetricReplicas`, `GetObjectPerPodMetricReplicas`, `GetExternalMetricReplicas`,
`GetExternalPerPodMetricReplicas`, `getUsageRatioReplicaCount`, `groupPods`, `calculateRequests`) and
`metrics/utilization.go`, `metrics/rest_metrics_client.go`, Kubernetes master of 2026 (with `Tolerances`, the
MaxInt32 / MaxInt64 caps and the test table of `replica_calculator_test.go` of that copy). Modelled exactly, in
milli-units with Go's integer truncation: pod grouping (ignored / unready / missing, CPU-only readiness rules with
the CPU initialisation period and the initial readiness delay), missing-pod filling, unready pods counted as 0 on
scale-up, the direction-flip rules, tolerance bands, Object/External Value vs AverageValue paths, scale-from-zero
for Value targets, ContainerResource metrics (samples and requests under "container/resource"), requests as
`hpa.requests` sums them, samples of pods the lister does not know (left out of utilisation, which needs a request,
but counted in the plain per-pod average, as upstream's maps keep them), an unknown metric source type as that
metric's error ("InvalidMetricSourceType"), and upstream's integer rails: desired replicas saturate at MaxInt32,
summed external values and milli-values at MaxInt64, the utilisation percent at the int32 range. Not modelled:
nothing of the decision is left out.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from twin.policies.hpa.observation import (
    FAILED, PENDING, RUNNING, HPAObservation, MetricSample, PodObservation,
)
from twin.config.quantity import milli_value
from twin.policies.hpa.requests import RequestError, pod_request
from twin.policies.hpa.spec import (
    AVERAGE_VALUE, CONTAINER_RESOURCE, EXTERNAL, OBJECT, PODS, RESOURCE, HPAControllerSettings, MetricKey, MetricSpec,
)

_FAILURE_REASON = {RESOURCE: "FailedGetResourceMetric", CONTAINER_RESOURCE: "FailedGetContainerResourceMetric",
                   PODS: "FailedGetPodsMetric",
                   OBJECT: "FailedGetObjectMetric", EXTERNAL: "FailedGetExternalMetric"}
INT32_MAX, INT64_MAX = 2**31 - 1, 2**63 - 1


class CalculationError(Exception):
    """A metric could not be turned into a replica count (the controller's `err`)."""


@dataclass(frozen=True)
class Tolerances:
    scale_down: float = 0.1
    scale_up: float = 0.1

    def is_within(self, ratio: float) -> bool:
        return (1.0 - self.scale_down) <= ratio <= (1.0 + self.scale_up)


@dataclass(frozen=True)
class Proposal:
    """One metric's outcome: a replica count, or an error with the ScalingActive reason it would set."""

    key: MetricKey
    replicas: int | None
    usage_milli: int | None = None  # the value the status would report (average or total), milli-units
    utilization: int | None = None  # percent of request, Resource Utilization targets only
    error: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class PodGroups:
    ready_count: int
    unready: frozenset[str]
    missing: frozenset[str]
    ignored: frozenset[str]


@dataclass(frozen=True)
class CalcContext:
    current: int  # scale.spec.replicas
    status_replicas: int
    pods: tuple[PodObservation, ...]
    tolerances: Tolerances
    now: float
    settings: HPAControllerSettings
    unlisted_samples: Mapping[str, Mapping[str, MetricSample]] = field(default_factory=dict)


def propose(spec: MetricSpec, observation: HPAObservation, ctx: CalcContext) -> Proposal:
    """`computeReplicasForMetric`: the proposal for one metric spec, errors included."""
    if spec.source not in _FAILURE_REASON:  # the API server's validation stops these; the controller still copes
        return Proposal(spec.key, None, error=f"unknown metric source type {spec.source!r}",
                        reason="InvalidMetricSourceType")
    try:
        return _dispatch(spec, observation, ctx)
    except (CalculationError, RequestError) as error:
        return Proposal(spec.key, None, error=str(error), reason=_FAILURE_REASON[spec.source])


def _dispatch(spec: MetricSpec, observation: HPAObservation, ctx: CalcContext) -> Proposal:
    target, resource = spec.target, spec.source in (RESOURCE, CONTAINER_RESOURCE)
    if resource and target.average_value_milli is None:
        return resource_utilization_replicas(spec, ctx)
    if resource or spec.source == PODS:
        is_cpu = resource and spec.key.name == "cpu"
        replicas, usage = plain_metric_replicas(spec.key.sample_name, target.average_value_milli, ctx=ctx,
                                                is_cpu=is_cpu)
        return Proposal(spec.key, replicas, usage_milli=usage)
    usage = _fetch_value(observation, spec.key)
    if target.type == AVERAGE_VALUE:
        replicas, average = per_pod_replicas(usage, target.average_value_milli, ctx=ctx)
        return Proposal(spec.key, replicas, usage_milli=average)
    replicas = usage_ratio_replicas(usage / target.value_milli, ctx)
    return Proposal(spec.key, replicas, usage_milli=usage)


def group_pods(pods: Iterable[PodObservation], metric: str, *, is_cpu: bool, now: float,
               settings: HPAControllerSettings) -> PodGroups:
    """`groupPods`: readiness rules; unready (not missing) classification of samples applies to CPU only."""
    ready, unready, missing, ignored = 0, set(), set(), set()
    for pod in pods:
        if pod.deleting or pod.phase == FAILED:
            ignored.add(pod.name)
        elif pod.phase == PENDING:
            unready.add(pod.name)
        elif metric not in pod.samples:
            missing.add(pod.name)
        elif is_cpu and _cpu_unready(pod, pod.samples[metric], now, settings):
            unready.add(pod.name)
        else:
            ready += 1
    return PodGroups(ready, frozenset(unready), frozenset(missing), frozenset(ignored))


def _cpu_unready(pod: PodObservation, sample: MetricSample, now: float, settings: HPAControllerSettings) -> bool:
    if pod.ready is None or pod.start_time is None:
        return True
    if pod.start_time + settings.cpu_initialization_period > now:
        # Still initialising: skip unless ready and a full metric window was collected since becoming ready.
        return pod.ready is False or sample.timestamp < pod.ready_transition_time + sample.window
    # Afterwards: skip only pods that have never been ready.
    return pod.ready is False and pod.start_time + settings.initial_readiness_delay > pod.ready_transition_time


def resource_utilization_replicas(spec: MetricSpec, ctx: CalcContext) -> Proposal:
    """`GetResourceReplicas` for an averageUtilization target."""
    name, target = spec.key.sample_name, spec.target.average_utilization
    metrics = _samples(ctx, name)
    groups = _usable_groups(metrics, name, ctx, is_cpu=spec.key.name == "cpu")
    requests = {pod.name: pod_request(pod, spec.key.name, spec.key.container) for pod in ctx.pods}
    ratio, utilization, raw = _utilization_ratio(metrics, requests, target)

    def fill_missing(scale_down: bool) -> dict[str, int]:
        fallback = max(100, target)  # scale-down: missing pods use their full request, or the target if higher
        return {pod: (requests[pod] * fallback // 100 if scale_down else 0) for pod in groups.missing}

    replicas = _with_fallbacks(ratio, metrics, groups, fill_missing, ctx,
                               lambda filled: _utilization_ratio(filled, requests, target)[0])
    return Proposal(spec.key, replicas, usage_milli=raw, utilization=utilization)


def plain_metric_replicas(name: str, target: int, *, ctx: CalcContext, is_cpu: bool) -> tuple[int, int]:
    """`calcPlainMetricReplicas`: per-pod average against an AverageValue target; returns (replicas, usage)."""
    metrics = _samples(ctx, name)
    groups = _usable_groups(metrics, name, ctx, is_cpu=is_cpu)
    usage = _go_div(sum(metrics.values()), len(metrics))

    def fill_missing(scale_down: bool) -> dict[str, int]:
        return {pod: (target if scale_down else 0) for pod in groups.missing}

    replicas = _with_fallbacks(usage / target, metrics, groups, fill_missing, ctx,
                               lambda filled: _go_div(sum(filled.values()), len(filled)) / target)
    return replicas, usage


def _usable_groups(metrics: dict[str, int], name: str, ctx: CalcContext, *, is_cpu: bool) -> PodGroups:
    """Group pods and drop the samples of ignored and unready pods (mutates `metrics`, a private copy)."""
    if not metrics:
        raise CalculationError("no metrics returned from the metrics API")
    if not ctx.pods:
        raise CalculationError("no pods returned by selector while calculating replica count")
    groups = group_pods(ctx.pods, name, is_cpu=is_cpu, now=ctx.now, settings=ctx.settings)
    for pod in groups.ignored | groups.unready:
        metrics.pop(pod, None)
    if not metrics:
        raise CalculationError("did not receive metrics for targeted pods (pods might be unready)")
    return groups


def _with_fallbacks(ratio: float, metrics: dict[str, int], groups: PodGroups,
                    fill_missing: Callable[[bool], dict[str, int]], ctx: CalcContext,
                    recompute: Callable[[dict[str, int]], float]) -> int:
    """The shared tail of both calculators: tolerance, then missing/unready filling and the direction rules."""
    scale_up_with_unready = bool(groups.unready) and ratio > 1.0
    if not scale_up_with_unready and not groups.missing:
        if ctx.tolerances.is_within(ratio):
            return ctx.current
        return int32_ceil(ratio * groups.ready_count)
    filled = dict(metrics)
    if groups.missing and ratio != 1.0:
        filled.update(fill_missing(ratio < 1.0))
    if scale_up_with_unready:
        filled.update({pod: 0 for pod in groups.unready})
    new_ratio = recompute(filled)
    flipped = (ratio < 1.0 < new_ratio) or (ratio > 1.0 > new_ratio)
    if ctx.tolerances.is_within(new_ratio) or flipped:
        return ctx.current
    new_replicas = int32_ceil(new_ratio * len(filled))
    if (new_ratio < 1.0 and new_replicas > ctx.current) or (new_ratio > 1.0 and new_replicas < ctx.current):
        return ctx.current  # the extra pods would move the count against the metric's direction
    return new_replicas


def usage_ratio_replicas(ratio: float, ctx: CalcContext) -> int:
    """`getUsageRatioReplicaCount` (Object and External Value targets)."""
    if ctx.current == 0:
        return int32_ceil(ratio)  # scale from zero: neither tolerance nor ready pods apply
    if ctx.tolerances.is_within(ratio):
        return ctx.current
    if not ctx.pods:
        raise CalculationError("unable to calculate ready pods: no pods returned by selector")
    ready = sum(1 for pod in ctx.pods if pod.phase == RUNNING and pod.ready is True)
    return int32_ceil(ratio * ready)


def per_pod_replicas(usage: int, target: int, *, ctx: CalcContext) -> tuple[int, int | None]:
    """`GetObjectPerPodMetricReplicas` / `GetExternalPerPodMetricReplicas`: total against target × status replicas."""
    status = ctx.status_replicas
    ratio = usage / (target * status) if status else (math.inf if usage > 0 else math.nan)
    replicas = status if ctx.tolerances.is_within(ratio) else int32_ceil(usage / target)
    if not status:
        return replicas, None
    return replicas, INT64_MAX if float(usage) >= float(INT64_MAX) else math.ceil(usage / status)


def _fetch_value(observation: HPAObservation, key: MetricKey) -> int:
    """The object metric's value, or the sum of all external series, in milli-units."""
    fetched = observation.metric_values.get(key)
    if fetched is None or fetched.error is not None:
        raise CalculationError(f"unable to get metric {key.name}: {fetched.error if fetched else 'not available'}")
    if not fetched.values:
        raise CalculationError(f"unable to get metric {key.name}: no metrics returned")
    if key.source == OBJECT:
        return _milli(fetched.values[0])
    return capped_sum(_milli(value) for value in fetched.values)


def capped_sum(values: Iterable[int]) -> int:
    """`GetExternalMetricReplicas`' sum: it stops at MaxInt64 rather than wrap around."""
    total = 0
    for value in values:
        if value > 0 and total > INT64_MAX - value:
            return INT64_MAX
        total += value
    return total


def int32_ceil(value: float) -> int:
    """ceil, saturating at MaxInt32 as the calculator does before converting to int32."""
    return INT32_MAX if value > INT32_MAX else math.ceil(value)


def _milli(value: float) -> int:
    """`MilliValue` on the int64 rail."""
    return max(-INT64_MAX - 1, min(INT64_MAX, milli_value(value)))


def _samples(ctx: CalcContext, name: str) -> dict[str, int]:
    """The metrics API's answer: listed pods' samples, plus any it returned for pods the lister does not know."""
    samples = {pod: by_name[name] for pod, by_name in ctx.unlisted_samples.items() if name in by_name}
    samples.update({pod.name: pod.samples[name] for pod in ctx.pods if name in pod.samples})
    return {pod: _milli(sample.value) for pod, sample in samples.items()}


def _utilization_ratio(metrics: Mapping[str, int], requests: Mapping[str, int],
                       target: int) -> tuple[float, int, int]:
    """`GetResourceUtilizationRatio`: (ratio, integer percent clamped to int32, raw average) over the pods that
    have both a sample and a request."""
    matched = [pod for pod in metrics if pod in requests]
    used = sum(metrics[pod] for pod in matched)
    requested = sum(requests[pod] for pod in matched)
    if requested == 0:
        raise CalculationError("no metrics returned matched known pods")
    utilization = max(-INT32_MAX - 1, min(INT32_MAX, _go_div(used * 100, requested)))
    return utilization / target, utilization, _go_div(used, len(matched))


def _go_div(numerator: int, denominator: int) -> int:
    """Go's integer division, which truncates toward zero."""
    if denominator == 0:
        return 0
    quotient = abs(numerator) // abs(denominator)
    return quotient if (numerator >= 0) == (denominator > 0) else -quotient
