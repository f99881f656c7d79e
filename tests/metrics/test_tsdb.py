"""SeriesStore: appends, matchers, staleness markers, retention and bounded memory."""
from __future__ import annotations

import math

import pytest

from twin.metrics import tsdb


def _eq(name: str, value: str) -> tsdb.LabelMatcher:
    return tsdb.LabelMatcher(name, "=", value)


def _store_with_pods() -> tsdb.SeriesStore:
    store = tsdb.SeriesStore(retention_s=600)
    for pod in ("a", "b", "c"):
        for i in range(5):
            store.append("req_total", {"pod": pod, "zone": "z1" if pod != "c" else "z2"}, 10.0 * i, float(i))
    store.append("other", {"pod": "a"}, 0.0, 1.0)
    return store


def test_select_returns_inclusive_window_in_integer_ms():
    store = _store_with_pods()
    [series] = store.select([_eq("__name__", "req_total"), _eq("pod", "a")], mint_ms=10_000, maxt_ms=30_000)
    assert series.labels == {"__name__": "req_total", "pod": "a", "zone": "z1"}
    assert list(series.times_ms) == [10_000, 20_000, 30_000]
    assert list(series.values) == [1.0, 2.0, 3.0]


@pytest.mark.parametrize(("matcher", "pods"), [
    (tsdb.LabelMatcher("pod", "!=", "a"), ["b", "c"]),
    (tsdb.LabelMatcher("pod", "=~", "a|b"), ["a", "b"]),
    (tsdb.LabelMatcher("pod", "=~", "a|"), ["a"]),  # anchored: "a|" does not match "b"
    (tsdb.LabelMatcher("pod", "!~", "[ab]"), ["c"]),
    (tsdb.LabelMatcher("zone", "=", "z2"), ["c"]),
    (tsdb.LabelMatcher("missing", "=", ""), ["a", "b", "c"]),  # an absent label equals ""
    (tsdb.LabelMatcher("missing", "!=", ""), []),
])
def test_label_matchers(matcher, pods):
    store = _store_with_pods()
    got = store.select([_eq("__name__", "req_total"), matcher], mint_ms=0, maxt_ms=10**9)
    assert [s.labels["pod"] for s in got] == pods


def test_name_regex_selects_across_metrics():
    store = _store_with_pods()
    got = store.select([tsdb.LabelMatcher("__name__", "=~", "req_.*|other"), _eq("pod", "a")], mint_ms=0,
                       maxt_ms=10**9)
    assert sorted(s.labels["__name__"] for s in got) == ["other", "req_total"]


def test_stale_marker_is_distinct_from_an_ordinary_nan():
    assert tsdb.is_stale(tsdb.STALE_NAN)
    assert math.isnan(tsdb.STALE_NAN)
    assert not tsdb.is_stale(math.nan)
    assert not tsdb.is_stale(1.0)


def test_mark_stale_appends_the_marker_and_ignores_unknown_series():
    store = tsdb.SeriesStore(retention_s=600)
    store.append("up", {"pod": "a"}, 0.0, 1.0)
    store.mark_stale("up", {"pod": "a"}, 15.0)
    store.mark_stale("up", {"pod": "never-seen"}, 15.0)
    [series] = store.select([_eq("__name__", "up")], mint_ms=0, maxt_ms=20_000)
    assert series.values[0] == 1.0 and tsdb.is_stale(series.values[1])
    assert store.series_count() == 1


def test_out_of_order_and_conflicting_duplicates_are_refused_identical_ones_ignored():
    store = tsdb.SeriesStore(retention_s=600)
    store.append("x", {}, 10.0, 1.0)
    store.append("x", {}, 10.0, 1.0)
    with pytest.raises(ValueError, match="duplicate sample"):
        store.append("x", {}, 10.0, 2.0)
    with pytest.raises(ValueError, match="out of order"):
        store.append("x", {}, 9.0, 1.0)
    assert store.sample_count() == 1


def test_timestamps_are_rounded_to_milliseconds():
    store = tsdb.SeriesStore(retention_s=600)
    store.append("x", {}, 1.0004, 1.0)
    store.append("x", {}, 1.0016, 2.0)
    [series] = store.select([_eq("__name__", "x")], mint_ms=0, maxt_ms=10_000)
    assert list(series.times_ms) == [1000, 1002]


def test_retention_keeps_memory_constant_over_a_simulated_day():
    store = tsdb.SeriesStore(retention_s=300)
    per_window = 300 // 5 + 1
    for i in range(86_400 // 5):
        store.append("c", {"pod": "a"}, 5.0 * i, float(i))
        assert store.sample_count() <= per_window * 9 // 8 + 1  # trimmed in batches of an eighth of retention
    last_ms = 5_000 * (86_400 // 5 - 1)
    [series] = store.select([_eq("__name__", "c")], mint_ms=0, maxt_ms=10**9)
    assert last_ms - series.times_ms[0] <= 300_000 * 9 // 8 and series.times_ms[-1] == last_ms
    [window] = store.select([_eq("__name__", "c")], mint_ms=last_ms - 300_000, maxt_ms=last_ms)
    assert len(window.times_ms) == per_window


def test_labels_in_another_order_name_the_same_series():
    store = tsdb.SeriesStore(retention_s=60)
    store.append("x", {"a": "1", "b": "2"}, 0.0, 1.0)
    store.append("x", {"b": "2", "a": "1"}, 1.0, 2.0)
    [series] = store.select([_eq("__name__", "x")], mint_ms=0, maxt_ms=10_000)
    assert list(series.values) == [1.0, 2.0] and store.series_count() == 1


def test_series_whose_target_disappeared_are_forgotten_after_retention():
    store = tsdb.SeriesStore(retention_s=60)
    for i in range(100):
        store.append("up", {"pod": f"pod-{i // 10}"}, 10.0 * i, 1.0)  # a new pod every 100 s
    assert store.series_count() <= 3
    got = store.select([_eq("__name__", "up")], mint_ms=0, maxt_ms=10**9)
    assert [s.labels["pod"] for s in got] == ["pod-9"]


def test_empty_label_values_are_dropped_and_name_must_not_be_a_label():
    store = tsdb.SeriesStore(retention_s=60)
    store.append("x", {"a": "", "b": "1"}, 0.0, 1.0)
    [series] = store.select([_eq("__name__", "x")], mint_ms=0, maxt_ms=1)
    assert series.labels == {"__name__": "x", "b": "1"}
    with pytest.raises(ValueError, match="__name__"):
        store.append("x", {"__name__": "y"}, 1.0, 1.0)


def test_invalid_matcher_operator_and_retention_are_refused():
    with pytest.raises(ValueError, match="operator"):
        tsdb.LabelMatcher("a", "==", "b")
    with pytest.raises(ValueError, match="retention_s"):
        tsdb.SeriesStore(retention_s=0)


def test_a_selector_asked_again_sees_series_created_and_dropped_since():
    """Matching is remembered between queries (controllers repeat theirs every period) but never goes stale."""
    store = tsdb.SeriesStore(retention_s=60)
    selector = [_eq("__name__", "req_total")]
    store.append("req_total", {"pod": "b"}, 0.0, 1.0)
    assert [s.labels["pod"] for s in store.select(selector, mint_ms=0, maxt_ms=10_000)] == ["b"]
    store.append("req_total", {"pod": "a"}, 1.0, 1.0)  # a new target: found, and in label order
    assert [s.labels["pod"] for s in store.select(selector, mint_ms=0, maxt_ms=10_000)] == ["a", "b"]
    for t in range(2, 200, 10):  # "b" stops reporting; retention drops it
        store.append("req_total", {"pod": "a"}, float(t), 1.0)
    assert [s.labels["pod"] for s in store.select(selector, mint_ms=0, maxt_ms=200_000)] == ["a"]
