"""PromQL evaluation on hand-computed numbers (the real-engine comparison lives in test_against_prometheus.py)."""
from __future__ import annotations

import dataclasses
import math

import pytest

from twin import errors
from twin.metrics import tsdb
from twin.metrics.promql import query as promql


def _store(*series: tuple[str, dict[str, str], list[tuple[float, float]]]) -> tsdb.SeriesStore:
    store = tsdb.SeriesStore(retention_s=3600)
    for name, labels, samples in series:
        for t, v in samples:
            store.append(name, labels, t, v)
    return store


def _one(query: str, store: tsdb.SeriesStore, now: float, **kw: float) -> float:
    result = promql.evaluate(query, store, now=now, **kw)
    if isinstance(result, promql.Scalar):
        return result.value
    [sample] = result.samples
    return sample.value


def _values(query: str, store: tsdb.SeriesStore, now: float) -> dict[tuple, float]:
    result = promql.evaluate(query, store, now=now)
    assert isinstance(result, promql.Vector)
    return {tuple(sorted(s.labels.items())): s.value for s in result}


# --- rate / increase / irate: Prometheus' extrapolatedRate rules -------------------------------------------------
@pytest.mark.parametrize(("samples", "increase", "rate"), [
    # Samples 5 s and 10 s from the edges (< 1.1 × 15 s): extrapolate to both edges: 45 × 60/45.
    ([(5, 10), (20, 25), (35, 40), (50, 55)], 60.0, 1.0),
    # Same slope from 2: the counter would hit 0 two seconds before the first sample, so start there: 45 × 57/45.
    ([(5, 2), (20, 17), (35, 32), (50, 47)], 57.0, 0.95),
    # Series starts 40 s into the window (> 1.1 × 5 s): extend by half an interval only: 30 × (15+2.5+5)/15.
    ([(40, 100), (45, 110), (50, 120), (55, 130)], 45.0, 0.75),
    # Counter reset 20 → 5 adds the pre-reset 20: Δ = 25, extended by 15 s at the start: 25 × 60/45.
    ([(15, 10), (30, 20), (45, 5), (60, 15)], 25 * 60 / 45, 25 / 45),
])
def test_increase_and_rate_extrapolation(samples, increase, rate):
    store = _store(("c", {}, samples))
    assert _one("increase(c[1m])", store, 60) == pytest.approx(increase, rel=1e-12)
    assert _one("rate(c[1m])", store, 60) == pytest.approx(rate, rel=1e-12)


def test_rate_needs_two_samples_and_delta_ignores_resets():
    store = _store(("c", {}, [(15, 10), (30, 20), (45, 5), (60, 15)]))
    assert len(promql.evaluate("rate(c[10s])", store, now=60)) == 0
    assert _one("delta(c[1m])", store, 60) == pytest.approx(5 * 60 / 45)


def test_irate_uses_the_last_two_samples_and_handles_resets():
    store = _store(("c", {}, [(15, 10), (30, 20), (45, 5), (60, 15)]))
    assert _one("irate(c[1m])", store, 60) == pytest.approx(10 / 15)
    assert _one("irate(c[1m])", store, 45) == pytest.approx(5 / 15)  # reset: the new value is the increase
    assert _one("idelta(c[1m])", store, 45) == pytest.approx(-15)


def test_torchserve_mean_latency_is_the_ratio_of_two_rates():
    lat = [(t, 100.0 * i) for i, t in enumerate(range(0, 120, 15))]
    req = [(t, 2.0 * i) for i, t in enumerate(range(0, 120, 15))]
    store = _store(("ts_inference_latency_microseconds", {"pod": "a"}, lat),
                   ("ts_inference_requests_total", {"pod": "a"}, req))
    query = "rate(ts_inference_latency_microseconds[1m]) / rate(ts_inference_requests_total[1m])"
    assert _values(query, store, 100) == {(("pod", "a"),): pytest.approx(50.0)}


# --- *_over_time ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("func", "expected"), [
    ("avg_over_time", 3.0), ("sum_over_time", 12.0), ("count_over_time", 4.0), ("max_over_time", 6.0),
    ("min_over_time", 1.0), ("present_over_time", 1.0),
])
def test_over_time_functions(func, expected):
    store = _store(("g", {"pod": "a"}, [(0, 99), (10, 1), (20, 3), (30, 2), (40, 6)]))
    assert _values(f"{func}(g[30s])", store, 40) == {(("pod", "a"),): expected}


def test_last_over_time_keeps_the_name_other_range_functions_drop_it():
    store = _store(("g", {"pod": "a"}, [(0, 1), (10, 2)]))
    assert _values("last_over_time(g[1m])", store, 10) == {(("__name__", "g"), ("pod", "a")): 2.0}
    assert _values("max_over_time(g[1m])", store, 10) == {(("pod", "a"),): 2.0}


def test_max_over_time_skips_a_leading_nan():
    store = _store(("g", {}, [(0, math.nan), (10, 1), (20, 0.5)]))
    assert _one("max_over_time(g[1m])", store, 20) == 1.0
    assert _one("min_over_time(g[1m])", store, 20) == 0.5


# --- lookback and staleness -------------------------------------------------------------------------------------
def test_instant_lookback_is_inclusive_and_configurable():
    store = _store(("g", {}, [(0, 7)]))
    assert _one("g", store, 300) == 7.0
    assert len(promql.evaluate("g", store, now=300.001)) == 0
    assert len(promql.evaluate("g", store, now=61, lookback_delta_s=60)) == 0
    assert _one("g", store, 60, lookback_delta_s=60) == 7.0
    assert len(promql.evaluate("g", store, now=-0.001)) == 0  # nothing from the future


def test_staleness_marker_ends_the_series_until_it_returns():
    store = _store(("g", {"pod": "a"}, [(0, 7)]))
    store.mark_stale("g", {"pod": "a"}, 15)
    store.append("g", {"pod": "a"}, 30, 8)
    assert _one("g", store, 10) == 7.0
    assert len(promql.evaluate("g", store, now=15)) == 0
    assert len(promql.evaluate("g", store, now=29)) == 0
    assert _one("g", store, 30) == 8.0
    assert _one("count_over_time(g[1m])", store, 30) == 2.0  # markers are not samples in a range


def test_offset_shifts_both_selectors():
    store = _store(("g", {}, [(0, 1), (60, 2), (120, 3)]))
    assert _one("g offset 1m", store, 120) == 2.0
    assert _one("sum_over_time(g[1m] offset 1m)", store, 120) == 3.0  # samples at 0 and 60, both edges in


# --- aggregation ------------------------------------------------------------------------------------------------
def _pods() -> tsdb.SeriesStore:
    return _store(("q", {"model": "m1", "pod": "a"}, [(0, 1)]), ("q", {"model": "m1", "pod": "b"}, [(0, 3)]),
                  ("q", {"model": "m2", "pod": "c"}, [(0, 8)]))


@pytest.mark.parametrize(("query", "expected"), [
    ("sum(q)", {(): 12.0}),
    ("sum by (model) (q)", {(("model", "m1"),): 4.0, (("model", "m2"),): 8.0}),
    ("avg without (pod) (q)", {(("model", "m1"),): 2.0, (("model", "m2"),): 8.0}),
    ("max by (model) (q)", {(("model", "m1"),): 3.0, (("model", "m2"),): 8.0}),
    ("min(q)", {(): 1.0}),
    ("count by (model) (q)", {(("model", "m1"),): 2.0, (("model", "m2"),): 1.0}),
    ("group by (model) (q)", {(("model", "m1"),): 1.0, (("model", "m2"),): 1.0}),
    ("sum by (nothere) (q)", {(): 12.0}),
])
def test_aggregations(query, expected):
    assert _values(query, _pods(), 0) == expected


def test_max_ignores_nan_unless_everything_is_nan():
    store = _store(("g", {"pod": "a"}, [(0, math.nan)]), ("g", {"pod": "b"}, [(0, 2)]))
    assert _one("max(g)", store, 0) == 2.0
    assert math.isnan(_one("sum(g)", store, 0))


# --- binary operators ----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "expected"), [
    ("q * 2", {(("model", "m1"), ("pod", "a")): 2.0, (("model", "m1"), ("pod", "b")): 6.0,
               (("model", "m2"), ("pod", "c")): 16.0}),
    ("q > 2", {(("__name__", "q"), ("model", "m1"), ("pod", "b")): 3.0,
               (("__name__", "q"), ("model", "m2"), ("pod", "c")): 8.0}),
    ("2 < q", {(("__name__", "q"), ("model", "m1"), ("pod", "b")): 3.0,
               (("__name__", "q"), ("model", "m2"), ("pod", "c")): 8.0}),
    ("q == bool 3", {(("model", "m1"), ("pod", "a")): 0.0, (("model", "m1"), ("pod", "b")): 1.0,
                     (("model", "m2"), ("pod", "c")): 0.0}),
    ("q / on(pod) q", {(("pod", "a"),): 1.0, (("pod", "b"),): 1.0, (("pod", "c"),): 1.0}),
    ("q - ignoring(model) q", {(("pod", "a"),): 0.0, (("pod", "b"),): 0.0, (("pod", "c"),): 0.0}),
    ('q{pod="a"} or q{pod=~"a|b"}', {(("__name__", "q"), ("model", "m1"), ("pod", "a")): 1.0,
                                      (("__name__", "q"), ("model", "m1"), ("pod", "b")): 3.0}),
    ('q and on(pod) q{pod="c"}', {(("__name__", "q"), ("model", "m2"), ("pod", "c")): 8.0}),
    ('q unless on(model) q{pod="c"}', {(("__name__", "q"), ("model", "m1"), ("pod", "a")): 1.0,
                                        (("__name__", "q"), ("model", "m1"), ("pod", "b")): 3.0}),
    ("sum(nothing) or vector(0)", {(): 0.0}),
])
def test_vector_operators(query, expected):
    assert _values(query, _pods(), 0) == expected


@pytest.mark.parametrize(("query", "expected"), [
    ("1 / 0", math.inf), ("-1 / 0", -math.inf), ("7 % 3", 1.0), ("-7 % 3", -1.0), ("2 ^ 0.5", math.sqrt(2)),
    ("(-8) ^ (1/3)", math.nan), ("5 % 0", math.nan), ("2 > bool 1", 1.0), ("time()", 42.0),
    ("scalar(vector(3) * 2)", 6.0), ("scalar(q)", math.nan), ("0 / 0", math.nan),
])
def test_scalar_expressions_follow_go_float_semantics(query, expected):
    got = _one(query, _pods(), 42)
    assert (math.isnan(got) and math.isnan(expected)) or got == pytest.approx(expected)


def test_vector_matching_errors_are_input_errors():
    with pytest.raises(errors.InputError, match="duplicate series"):
        promql.evaluate("q / on(model) q", _pods(), now=0)
    store = _store(("a", {"x": "1"}, [(0, 1)]), ("b", {"x": "1"}, [(0, 2)]))
    with pytest.raises(errors.InputError, match="same labelset") as info:
        promql.evaluate('abs({__name__=~"a|b"})', store, now=0)
    assert info.value.field == 'abs({__name__=~"a|b"})'


# --- instant functions --------------------------------------------------------------------------------------------
@pytest.mark.parametrize(("query", "expected"), [
    ("clamp_min(q, 2)", {"a": 2.0, "b": 3.0, "c": 8.0}),
    ("clamp_max(q, 2)", {"a": 1.0, "b": 2.0, "c": 2.0}),
    ("clamp(q, 2, 5)", {"a": 2.0, "b": 3.0, "c": 5.0}),
    ("clamp(q, 5, 2)", {}),
    ("abs(q - 4)", {"a": 3.0, "b": 1.0, "c": 4.0}),
    ("round(q / 3, 0.5)", {"a": 0.5, "b": 1.0, "c": 2.5}),
    ("sqrt(q)", {"a": 1.0, "b": math.sqrt(3), "c": math.sqrt(8)}),
])
def test_instant_functions_drop_the_name(query, expected):
    result = promql.evaluate(query, _pods(), now=0)
    assert all("__name__" not in s.labels for s in result)
    assert {s.labels["pod"]: s.value for s in result} == pytest.approx(expected)


_BUCKETS = [("0.1", 10), ("0.5", 30), ("1", 40), ("+Inf", 40)]


@pytest.mark.parametrize(("q", "expected"), [(0.5, 0.3), (0.95, 0.9), (1.0, 1.0), (0.0, 0.0), (-1, -math.inf),
                                             (2, math.inf)])
def test_histogram_quantile_interpolates_inside_the_bucket(q, expected):
    store = _store(*(("h_bucket", {"le": le, "pod": "a"}, [(0, n)]) for le, n in _BUCKETS))
    assert _values(f"histogram_quantile({q}, h_bucket)", store, 0) == {(("pod", "a"),): pytest.approx(expected)}


def test_histogram_quantile_edge_cases():
    in_inf = _store(("h_bucket", {"le": "0.1"}, [(0, 10)]), ("h_bucket", {"le": "+Inf"}, [(0, 20)]))
    assert _one("histogram_quantile(0.9, h_bucket)", in_inf, 0) == 0.1  # rank falls in +Inf: highest finite bound
    no_inf = _store(("h_bucket", {"le": "0.1"}, [(0, 10)]), ("h_bucket", {"le": "1"}, [(0, 20)]))
    assert math.isnan(_one("histogram_quantile(0.9, h_bucket)", no_inf, 0))
    dip = [("1", 4), ("2", 10), ("3", 8), ("4", 20), ("+Inf", 20)]
    store = _store(*(("h_bucket", {"le": le}, [(0, n)]) for le, n in dip))
    # The dip 10 → 8 is lifted back to 10 first: 3 + (12 − 10)/(20 − 10), not 3 + (12 − 8)/(20 − 8).
    assert _one("histogram_quantile(0.6, h_bucket)", store, 0) == pytest.approx(3.2)


def test_results_are_frozen_dataclasses():
    result = promql.evaluate("sum(q)", _pods(), now=0)
    with pytest.raises(dataclasses.FrozenInstanceError):
        result.samples[0].value = 1.0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        promql.evaluate("1", _pods(), now=0).value = 2.0  # type: ignore[misc]


def test_one_compiled_query_serves_many_instants():
    store = _store(("c", {}, [(t, t / 15) for t in range(0, 601, 15)]))
    query = promql.compile("rate(c[1m])")
    assert [query.evaluate(store, now=t).samples[0].value for t in (60, 300, 600)] == pytest.approx([1 / 15] * 3)
