"""Figures tested as data: traces, axis titles, the SLO line, event markers, capacity, bands, heatmap, Pareto."""
from __future__ import annotations

import itertools

import numpy as np
import pandas as pd
import pytest

from app import figures_fidelity, tables
from twin.report import figures_compare, figures_run, figures_sweep, series

POOLS = {"gpu": series.PoolShape(gpu_memory_mib=81920, host_memory_mib=225280, usd_per_hour=3.6)}


def _timeseries(seconds: int = 10, **columns) -> pd.DataFrame:
    t = np.arange(1, seconds + 1, dtype=float)
    base = {"time_s": t, "ok": 10 * t, "errors": 0 * t, "latency_p50_ms": 10 + t, "latency_p95_ms": 20 + t,
            "latency_p99_ms": 30 + t, "pods": np.where(t < 5, 1, 3), "ready_pods": np.where(t < 6, 1, 3),
            "workers": np.where(t < 5, 2, 6), "nodes": np.where(t < 4, 1, 2), "gpu_memory_mib": 1024 * t,
            "host_memory_mib": 2048 * t, "cpu_util": 0.5 + 0 * t, "gpu_util": 0.25 + 0 * t}
    base.update(columns)
    return pd.DataFrame(base)


EVENTS = [
    {"time_s": 0, "event": "node_added", "node": "gpu-0", "pool": "gpu"},
    {"time_s": 0, "event": "workers_scaled", "min_workers": 2},
    {"time_s": 2.5, "event": "nodes_requested", "pool": "gpu", "count": 1},
    {"time_s": 3.2, "event": "node_added", "node": "gpu-1", "pool": "gpu"},
    {"time_s": 4.5, "event": "deployment_scaled", "replicas": 3},
    {"time_s": 8.0, "event": "node_removed", "node": "gpu-0"},
]


def test_latency_has_the_percentiles_and_the_slo_line_at_its_value():
    fig = figures_run.latency(_timeseries(), slo_p95_ms=250)
    names = [t.name for t in fig.data]
    assert names[:3] == ["p50", "p95", "p99"]
    slo = fig.data[3]
    assert "SLO" in slo.name and set(slo.y) == {250}
    assert (slo.x[0], slo.x[-1]) == (1, 10)  # across the whole run
    assert list(fig.data[1].y) == list(_timeseries()["latency_p95_ms"])
    assert fig.layout.xaxis.title.text == "simulated time (s)"


def test_latency_far_below_the_slo_goes_on_a_log_axis_else_the_linear_range_holds_data_and_slo():
    far = figures_run.latency(_timeseries(), slo_p95_ms=250)  # p95 21..30 ms: a flat line under a linear 250
    assert far.layout.yaxis.type == "log" and far.layout.yaxis.title.text == "latency (ms, log scale)"
    near = figures_run.latency(_timeseries(), slo_p95_ms=35)
    assert near.layout.yaxis.type is None and near.layout.yaxis.title.text == "latency (ms)"
    assert near.layout.yaxis.range == (0, 1.08 * 40)  # p99 reaches 40 ms, above the SLO
    above = figures_run.latency(_timeseries(), slo_p95_ms=60)
    assert above.layout.yaxis.range == (0, 1.08 * 60)  # the SLO line stays in view


def test_throughput_shows_successes_and_errors_per_second():
    ts = _timeseries(errors=np.ones(10))
    fig = figures_run.throughput(ts)
    assert [t.name for t in fig.data] == ["successful", "errors"]
    assert list(fig.data[0].y) == list(ts["ok"]) and list(fig.data[1].y) == [1] * 10
    assert "req/s" in fig.layout.yaxis.title.text


def test_scaling_events_sit_on_their_series_at_their_second():
    ts = _timeseries()
    marks = figures_run.event_marks(ts, EVENTS)
    assert list(marks["event"]) == ["nodes_requested", "node_added", "deployment_scaled", "node_removed"]
    # 2.5 s belongs to second 3 (nodes 1), 3.2 s to second 4 (nodes 2), 4.5 s to second 5 (pods 3)
    assert list(marks["y"]) == [1, 2, 3, 2]
    fig = figures_run.scaling(ts, EVENTS)
    lines = [t.name for t in fig.data if t.mode == "lines"]
    assert lines == ["pods", "ready pods", "workers", "nodes"]
    markers = {t.name: list(t.x) for t in fig.data if t.mode == "markers"}
    assert markers == {"nodes requested": [2.5], "node added": [3.2], "deployment scaled": [4.5],
                       "node removed": [8.0]}  # the start's own events are not scaling


def test_capacity_and_cost_follow_the_nodes_alive():
    ts = _timeseries()
    cap = series.capacity(ts["time_s"], EVENTS, POOLS)
    nodes_alive = [1, 1, 1, 2, 2, 2, 2, 1, 1, 1]  # gpu-1 from 3.2 s; gpu-0 gone at 8 s
    assert list(cap["gpu_memory_capacity_mib"]) == [81920 * n for n in nodes_alive]
    assert list(cap["host_memory_capacity_mib"]) == [225280 * n for n in nodes_alive]
    # by 10 s: gpu-0 lived 8 s, gpu-1 6.8 s
    assert cap["cost_usd"].iloc[-1] == pytest.approx((8 + 6.8) / 3600 * 3.6)
    assert cap["cost_usd"].is_monotonic_increasing
    fig = figures_run.memory(ts, cap)
    capacity_traces = [t for t in fig.data if t.name == "capacity"]
    assert [list(t.y) for t in capacity_traces] == [list(cap["gpu_memory_capacity_mib"] / 1024),
                                                    list(cap["host_memory_capacity_mib"] / 1024)]
    assert fig.layout.yaxis.title.text == "memory (GiB)"
    cost = figures_run.cost(cap)
    assert list(cost.data[0].y) == list(cap["cost_usd"]) and list(cost.data[1].y) == list(cap["usd_per_hour"])


def test_pool_shapes_count_gpus_and_mig_slices():
    pools = [{"name": "full", "memory_gib": 220, "price_per_hour": 3.67,
              "gpus": {"count": 2, "memory_gib": 80, "sharing": {"mode": "exclusive"}}},
             {"name": "mig", "memory_gib": 220, "price_per_hour": 3.67,
              "gpus": {"count": 1, "memory_gib": 80,
                       "sharing": {"mode": "mig", "mig_profiles": ["3g.40gb", "4g.40gb"]}}},
             {"name": "cpu", "memory_gib": 64, "price_per_hour": 0.77, "gpus": None}]
    shapes = series.pool_shapes({"node_pools": pools})
    assert shapes["full"].gpu_memory_mib == 160 * 1024
    assert shapes["mig"].gpu_memory_mib == 80 * 1024
    assert shapes["cpu"] == series.PoolShape(0.0, 64 * 1024, 0.77)


def test_bands_contain_the_mean_across_seeds():
    runs = [_timeseries(latency_p95_ms=np.arange(10) * k) for k in (1.0, 2.0, 4.0)]
    b = figures_compare.band(runs, "latency_p95_ms")
    assert list(b["mean"]) == pytest.approx(list(np.arange(10) * 7 / 3))
    assert (b["low"] <= b["mean"]).all() and (b["mean"] <= b["high"]).all()
    assert list(b["low"]) == list(np.arange(10.0)) and list(b["high"]) == list(np.arange(10) * 4.0)
    fig = figures_compare.bands({"A": runs, "B": runs[:2]}, "latency_p95_ms", title="p95", y="latency (ms)")
    means = [t for t in fig.data if "seeds" in (t.name or "")]
    assert [t.name for t in means] == ["A (3 seeds)", "B (2 seeds)"]
    assert fig.data[1].fill == "tonexty"  # the band fills between max and min


def test_confidence_interval_contains_the_mean_and_narrows_with_more_seeds():
    mean, low, high = figures_compare.mean_ci([1.0, 2.0, 3.0])
    assert mean == 2.0 and low < mean < high
    assert high - low == pytest.approx(2 * 4.302652729911275 * 1 / np.sqrt(3))  # t(0.975, 2) · s / √n
    wide = figures_compare.mean_ci([1.0, 3.0])
    assert wide[2] - wide[1] > high - low
    assert figures_compare.mean_ci([5.0]) == (5.0, 5.0, 5.0)
    fig = figures_compare.metric_bars({"A": [1.0, 2.0, 3.0]}, title="Throughput", y="req/s")
    assert list(fig.data[0].y) == [2.0]
    assert fig.data[0].error_y.array[0] == pytest.approx(high - mean)


def _points() -> pd.DataFrame:
    rows = []
    for pods, batch in itertools.product([1, 2, 4], [1, 8]):
        rows.append({"point": len(rows), "deployment.pods": pods, "deployment.torchserve.model.batch_size": batch,
                     "replications": 3, "latency_ms.p95.mean": 100 / pods + batch,
                     "cost.total_usd.mean": 0.1 * pods + 0.01 * batch,
                     "slo.violation_minutes.mean": 12 / (pods * batch)})
    return pd.DataFrame(rows)


def test_heatmap_z_is_the_pivot_of_the_points():
    points = _points()
    fig = figures_sweep.heatmap(points, x="deployment.pods", y="deployment.torchserve.model.batch_size",
                                metric="latency_ms.p95.mean")
    heat = fig.data[0]
    expected = [[100 / p + b for p in (1, 2, 4)] for b in (1, 8)]
    assert np.allclose(np.array(heat.z, dtype=float), expected)
    assert list(heat.x) == ["1", "2", "4"] and list(heat.y) == ["1", "8"]
    assert fig.layout.xaxis.title.text == "deployment.pods"


def test_pareto_points_are_the_non_dominated_ones():
    points = _points()
    mask = figures_sweep.pareto_mask(points)
    values = points[[figures_sweep.COST, figures_sweep.VIOLATION]].to_numpy()
    for i, row in enumerate(values):
        dominated = any((other <= row).all() and (other < row).any() for other in values)
        assert mask[i] == (not dominated)
    assert mask.any() and not mask.all()
    fig = figures_sweep.pareto(points, ["deployment.pods", "deployment.torchserve.model.batch_size"])
    front = next(t for t in fig.data if t.name == "Pareto front")
    assert sorted(front.x) == sorted(points.loc[mask, figures_sweep.COST])
    assert list(front.x) == sorted(front.x)  # joined left to right


def test_pareto_ignores_rows_with_missing_metrics():
    points = pd.DataFrame({figures_sweep.COST: [1.0, np.nan, 2.0], figures_sweep.VIOLATION: [5.0, 0.0, 1.0]})
    assert list(figures_sweep.pareto_mask(points)) == [True, False, True]


def test_parity_puts_each_run_at_measured_predicted():
    table = pd.DataFrame({"id": ["a", "b"], "measured_rps": [10.0, 40.0], "predicted_rps": [11.0, 38.0],
                          "measured_ms": [100.0, 250.0], "predicted_ms": [90.0, 260.0]})
    fig = figures_fidelity.parity(table, kind="leave-one-out")
    runs = [t for t in fig.data if t.name == "run"]
    assert [list(t.x) for t in runs] == [[10.0, 40.0], [100.0, 250.0]]
    assert [list(t.y) for t in runs] == [[11.0, 38.0], [90.0, 260.0]]
    diagonal = next(t for t in fig.data if t.name == "predicted = measured")
    assert list(diagonal.x) == list(diagonal.y)
    assert "(leave-one-out)" in fig.layout.title.text  # never an unlabelled error beside the other kind
    errors = figures_fidelity.errors(tables.with_errors(table), kind="in-sample")
    assert "(in-sample)" in errors.layout.title.text


def test_parity_shows_each_run_s_90_percent_interval_and_the_coverage_counts_it():
    table = pd.DataFrame({"id": ["a", "b"], "measured_rps": [10.0, 40.0], "predicted_rps": [11.0, 38.0],
                          "measured_ms": [100.0, 250.0], "predicted_ms": [90.0, 260.0],
                          "rps_low": [9.0, 30.0], "rps_high": [12.0, 39.0], "ms_low": [80.0, 200.0],
                          "ms_high": [110.0, 300.0]})
    throughput, latency = [t for t in figures_fidelity.parity(table, kind="held-out").data if t.name == "run"]
    assert list(throughput.error_y.array) == [1.0, 1.0] and list(throughput.error_y.arrayminus) == [2.0, 8.0]
    assert list(latency.error_y.array) == [20.0, 40.0]
    assert tables.coverage(table) == 0.5  # b's 40 req/s lies above its 30-39 interval
    assert tables.coverage(table.drop(columns=["rps_low"])) is None


def test_shadow_shows_predicted_and_observed_and_the_error():
    report = pd.DataFrame({"time_s": [0, 30, 60], "horizon_s": [60] * 3,
                           "predicted_throughput_rps": [10, 11, 12], "observed_throughput_rps": [10, 10, 10],
                           "predicted_latency_ms": [50, 55, 60], "observed_latency_ms": [50, 50, 50],
                           "latency_error_pct": [0, 10, 20]})
    fig = figures_fidelity.shadow(report)
    by_axis = {(t.name, t.yaxis): list(t.y) for t in fig.data}
    assert by_axis[("predicted", "y")] == [10, 11, 12] and by_axis[("observed", "y")] == [10, 10, 10]
    assert by_axis[("predicted", "y2")] == [50, 55, 60] and by_axis[("latency error", "y3")] == [0, 10, 20]
