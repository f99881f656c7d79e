"""Metrics KEDA serves to the HPA: fallback, composite metric, prometheus result rules. Cases ported from
kedacore/keda v2.20 `pkg/fallback/fallback_test.go`, `pkg/scaling/modifiers/formula_test.go` and
`pkg/scalers/prometheus_scaler_test.go` (`testPromQueryResult`), named per case."""
from __future__ import annotations

import math
from typing import Any

import pytest

from tests.policies.test_keda_manifest import prometheus, scaled_object
from twin.policies.keda import scaled_object as keda

METRIC = "s0-prometheus"
FAILED = keda.TriggerError("some error")


def spec_of(**kwargs: Any) -> keda.ScaledObjectSpec:
    return keda.scaledobject_from_manifest(scaled_object(**kwargs), "so.yaml")


def serve(spec: keda.ScaledObjectSpec, results: dict, *, failures: dict | None = None, current: int = 5,
          ready: int = 5, state: keda.KedaState | None = None) -> tuple[dict, keda.KedaState]:
    state = state or keda.KedaState(failures=failures or {})
    return keda.external_metric_values(spec, state, trigger_results=results, current_replicas=current,
                                       ready_replicas=ready)


def fallback_spec(behavior: str = "static", *, threshold: str = "10", metric_type: str = "AverageValue"):
    trigger = {**prometheus(threshold=threshold), "metricType": metric_type}
    return spec_of(triggers=[trigger], fallback={"failureThreshold": 3, "replicas": 10, "behavior": behavior})


def test_should_return_the_expected_metric_when_fallback_is_disabled() -> None:
    values, state = serve(spec_of(), {METRIC: 5.0})
    assert values == {METRIC: 5.0} and state.failures == {}


@pytest.mark.parametrize(("case", "fallback", "failures", "expected_failures"), [
    ("should initialise the health status on success when fallback is enabled and status is empty", True, {}, 0),
    ("should reset the health status when scaler metrics are available when fallback is enabled", True,
     {METRIC: 5}, 0),
    ("should not reset the health status when fallback is not enabled", False, {METRIC: 5}, 5),
])
def test_health_on_success(case: str, fallback: bool, failures: dict, expected_failures: int) -> None:
    spec = fallback_spec() if fallback else spec_of()
    values, state = serve(spec, {METRIC: 6.0}, failures=failures)
    assert values == {METRIC: 6.0}, case
    assert state.failures[METRIC] == expected_failures, case


def test_should_propagate_the_error_when_fallback_is_disabled() -> None:
    values, state = serve(spec_of(), {METRIC: FAILED})
    assert values == {METRIC: FAILED} and state.failures == {}


def test_should_bump_the_number_of_failures_when_metrics_call_fails() -> None:
    values, state = serve(fallback_spec(), {METRIC: FAILED}, failures={METRIC: 0})
    assert values == {METRIC: FAILED} and state.failures == {METRIC: 1}
    assert state.fallback is False


@pytest.mark.parametrize(("case", "behavior", "current", "expected"), [
    ("should return a normalised metric when number of failures are beyond threshold", "static", 5, 100.0),
    ("should use fallback replicas when current replicas is lower when behavior is 'currentReplicasIfHigher'",
     "currentReplicasIfHigher", 4, 100.0),
    ("should use current replicas when behavior is 'currentReplicas'", "currentReplicas", 6, 60.0),
    ("should ignore current replicas when behavior is 'static'", "static", 15, 100.0),
    ("doFallback: currentReplicasIfLower takes the current count when lower", "currentReplicasIfLower", 4, 40.0),
    ("doFallback: currentReplicasIfHigher takes the current count when higher", "currentReplicasIfHigher", 12, 120.0),
])
def test_fallback_behaviours(case: str, behavior: str, current: int, expected: float) -> None:
    values, state = serve(fallback_spec(behavior), {METRIC: FAILED}, failures={METRIC: 3}, current=current)
    assert values == {METRIC: expected}, case
    assert state.failures == {METRIC: 4} and state.fallback is True, case


def test_should_set_the_fallback_condition_when_a_fallback_exists_in_the_scaled_object() -> None:
    _, state = serve(fallback_spec(), {METRIC: 1.0}, failures={METRIC: 3, "some other metric name": 6})
    assert state.fallback is True


@pytest.mark.parametrize(("ready", "expected"), [
    (4, 25.0),  # doFallback: Value targets divide fallback replicas by ready replicas: 10 / 4 × 10
    (0, keda.TriggerError("error performing fallback: no ready replicas")),
])
def test_fallback_for_value_targets(ready: int, expected: Any) -> None:
    values, _ = serve(fallback_spec(metric_type="Value"), {METRIC: FAILED}, failures={METRIC: 3}, ready=ready)
    assert values == {METRIC: expected}


def test_fallback_value_is_truncated_to_milli() -> None:
    # doFallback: NewMilliQuantity(int64(normalisationValue*1000*replicas)): 1 × 1000 × 10/6 = 1666.67 → 1.666
    values, _ = serve(fallback_spec(threshold="1", metric_type="Value"), {METRIC: FAILED},
                      failures={METRIC: 3}, ready=6)
    assert values == {METRIC: 1.666}


def test_served_values_are_rounded_to_milli_and_negative_becomes_zero() -> None:
    # scaler.go quantityFromFloat64: "%.3f", NaN/Inf/negative → 0
    spec = spec_of(triggers=[prometheus(), prometheus()])
    values, _ = serve(spec, {METRIC: 2.00049, "s1-prometheus": -3.0})
    assert values == {METRIC: 2.0, "s1-prometheus": 0.0}


def _modifier_spec(formula: str, *, target: str = "2", fallback: dict | None = None, **extra: str):
    kwargs: dict[str, Any] = {"triggers": [prometheus("a"), prometheus("b")],
                              "advanced": {"scalingModifiers": {"formula": formula, "target": target, **extra}}}
    if fallback:
        kwargs["fallback"] = fallback
    return spec_of(**kwargs)


def test_composite_metric_from_formula() -> None:
    # TestCalculateScalingModifiersFormula: trigger1=2 + trigger2=5 = 7 (stored as 7000m)
    values, _ = serve(_modifier_spec("a + b"), {METRIC: 2.0, "s1-prometheus": 5.0})
    assert values == {keda.COMPOSITE_METRIC: 7.0}


def test_composite_errors_when_a_trigger_errors_without_fallback() -> None:
    values, _ = serve(_modifier_spec("a + b"), {METRIC: 2.0, "s1-prometheus": FAILED})
    assert isinstance(values[keda.COMPOSITE_METRIC], keda.TriggerError)


SM_FALLBACK = {"failureThreshold": 3, "replicas": 5, "behavior": "scalingModifiers"}


@pytest.mark.parametrize(("case", "failures", "expected"), [
    ("TestScalingModifierTriggerValue: failures below threshold returns the metric value", {METRIC: 1}, None),
    ("TestScalingModifierTriggerValue: failures at threshold returns the metric value (gate is strict >)",
     {METRIC: 2}, None),
    ("TestScalingModifierTriggerValue: failures one over threshold returns nil", {METRIC: 3}, 8.0),
])
def test_scaling_modifiers_fallback_makes_failing_triggers_nil(case: str, failures: dict,
                                                               expected: float | None) -> None:
    # formula (a ?? b) + 1 with a failing, b = 7: nil only once a's count (after this failure) exceeds 3
    values, _ = serve(_modifier_spec("(a ?? b) + 1", fallback=SM_FALLBACK), {METRIC: FAILED, "s1-prometheus": 7.0},
                      failures=failures)
    if expected is None:
        assert isinstance(values[keda.COMPOSITE_METRIC], keda.TriggerError), case
    else:
        assert values == {keda.COMPOSITE_METRIC: expected}, case


def test_nil_formula_serves_fallback_replicas_times_target() -> None:
    # formula.go scalingModifiersFallbackTarget: Fallback.Replicas (5) × target (2)
    values, _ = serve(_modifier_spec("a ?? b", fallback=SM_FALLBACK), {METRIC: FAILED, "s1-prometheus": FAILED},
                      failures={METRIC: 3, "s1-prometheus": 3})
    assert values == {keda.COMPOSITE_METRIC: 10.0}


def test_static_fallback_replaces_the_composite() -> None:
    # HandleScalingModifiers: while fallback is active the composite is the fallback metric (target 2 × 6 replicas)
    spec = _modifier_spec("a + b", fallback={"failureThreshold": 0, "replicas": 6})
    values, state = serve(spec, {METRIC: FAILED, "s1-prometheus": 1.0})
    assert values == {keda.COMPOSITE_METRIC: 12.0} and state.fallback is True


def test_non_integer_modifier_target_disables_fallback_tracking() -> None:
    # HasValidFallback parses scalingModifiers.target with strconv.ParseInt
    spec = _modifier_spec("a + b", target="2.5", fallback={"failureThreshold": 0, "replicas": 6})
    values, state = serve(spec, {METRIC: FAILED, "s1-prometheus": 1.0})
    assert isinstance(values[keda.COMPOSITE_METRIC], keda.TriggerError) and state.failures == {}


def test_use_cached_metrics_answers_the_hpa_from_the_last_poll() -> None:
    spec = spec_of(triggers=[{**prometheus(), "useCachedMetrics": True}])
    _, state = keda.poll(spec, keda.KedaState(), trigger_results={METRIC: 3.0}, current_replicas=1, now=0.0,
                         created_at=0.0)
    values, _ = serve(spec, {METRIC: 9.0}, state=state)
    assert values == {METRIC: 3.0}
    values, _ = serve(spec_of(), {METRIC: 9.0}, state=state)  # without useCachedMetrics: live value
    assert values == {METRIC: 9.0}


# testPromQueryResult (name, samples, ignoreNullValues, expected); None = a sample whose value list is empty.
@pytest.mark.parametrize(("name", "samples", "ignore", "expected"), [
    ("no values", [], True, 0.0),
    ("no values but shouldn't ignore", [], False, None),
    ("value is empty list", [None], True, 0.0),
    ("value is empty list but shouldn't ignore", [None], False, None),
    ("valid value", [2.0], True, 2.0),
    ("multiple results", [1.0, 2.0], True, None),
    ("+Inf", [math.inf], True, 0.0),
    ("+Inf but shouldn't ignore", [math.inf], False, None),
    ("-Inf", [-math.inf], True, 0.0),
    ("-Inf but shouldn't ignore", [-math.inf], False, None),
    ("NaN", [math.nan], True, 0.0),
    ("NaN but shouldn't ignore", [math.nan], False, None),
])
def test_prometheus_query_result_rules(name: str, samples: list, ignore: bool, expected: float | None) -> None:
    result = keda.prometheus_value(samples, ignore_null_values=ignore)
    if expected is None:
        assert isinstance(result, keda.TriggerError), name
    else:
        assert result == expected, name


def test_prometheus_scalar_result_is_an_error() -> None:
    # ExecutePromQuery unmarshals data.result into a list of samples; a scalar's [t, "v"] pair fails to decode.
    assert isinstance(keda.prometheus_value([1.0], ignore_null_values=True, result_type="scalar"), keda.TriggerError)
    assert "multiple elements" in keda.prometheus_value([1.0, 1.0], ignore_null_values=True).message


# testPromQueryResult verbatim: (name, body, HTTP status, ignoreNullValues, expected); None = an error. Then replies
# upstream's table lacks, read by ExecutePromQuery's rules: a null value keeps Go's -1, a scalar result and a text
# ParseFloat rejects fail to decode, a finite number out of float64 range is ParseFloat's range error.
@pytest.mark.parametrize(("name", "body", "status", "ignore", "expected"), [
    ("no results", "{}", 200, True, 0.0),
    ("no values", '{"data":{"result":[]}}', 200, True, 0.0),
    ("no values but shouldn't ignore", '{"data":{"result":[]}}', 200, False, None),
    ("value is empty list", '{"data":{"result":[{"value": []}]}}', 200, True, 0.0),
    ("value is empty list but shouldn't ignore", '{"data":{"result":[{"value": []}]}}', 200, False, None),
    ("valid value", '{"data":{"result":[{"value": ["1", "2"]}]}}', 200, True, 2.0),
    ("not enough values", '{"data":{"result":[{"value": ["1"]}]}}', 200, True, None),
    ("multiple results", '{"data":{"result":[{},{}]}}', 200, True, None),
    ("error status response", "{}", 400, True, None),
    ("+Inf", '{"data":{"result":[{"value": ["1", "+Inf"]}]}}', 200, True, 0.0),
    ("+Inf but shouldn't ignore", '{"data":{"result":[{"value": ["1", "+Inf"]}]}}', 200, False, None),
    ("-Inf", '{"data":{"result":[{"value": ["1", "-Inf"]}]}}', 200, True, 0.0),
    ("-Inf but shouldn't ignore", '{"data":{"result":[{"value": ["1", "-Inf"]}]}}', 200, False, None),
    ("NaN", '{"data":{"result":[{"value": ["1", "NaN"]}]}}', 200, True, 0.0),
    ("NaN but shouldn't ignore", '{"data":{"result":[{"value": ["1", "NaN"]}]}}', 200, False, None),
    ("null value", '{"data":{"result":[{"value": [1, null]}]}}', 200, False, -1.0),
    ("scalar result", '{"data":{"resultType":"scalar","result":[1.0, "2"]}}', 200, True, None),
    ("unparsable value", '{"data":{"result":[{"value": [1, "1_000"]}]}}', 200, True, None),
    ("out of float64 range", '{"data":{"result":[{"value": [1, "1e400"]}]}}', 200, True, None),
    ("keys matched case-insensitively", '{"Data":{"Result":[{"Value": [1, "7.5"]}]}}', 200, False, 7.5),
    ("server unavailable", "", 503, True, None),
    ("not JSON", "<html>", 200, True, None),
])
def test_prometheus_reply_decoding_matches_upstream(name, body, status, ignore, expected) -> None:
    result = keda.decode_reply(status, body, ignore_null_values=ignore, query="up")
    if expected is None:
        assert isinstance(result, keda.TriggerError), name
    else:
        assert result == expected, name
