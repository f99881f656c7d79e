"""The shadow's traffic forecasts and its score table, on series whose right answer is known."""
from __future__ import annotations

import math
from pathlib import Path

import pytest

from twin.live import forecast, shadow_score
from twin.live.forecast import Holt
from twin.live.prometheus_api import PrometheusApi
from twin.live.shadow import Prediction, Shadow, Traffic, TrafficReader, _pieces

SLEEPY = Path(__file__).parent / "data" / "sleepy.yaml"

STEP = [2.0] * 10 + [6.0] * 3  # users: two, then six for the last three seconds


def test_holt_holds_a_constant_level_with_no_trend():
    level, trend = Holt().fit([4.0] * 20)
    assert (level, trend) == (4.0, 0.0)
    assert forecast.trajectory("holt", series=[4.0] * 20, window_mean=4.0, step_s=1, horizon_s=10,
                               pieces=5) == [4.0] * 5


def test_after_a_step_holt_is_near_the_new_level_while_flat_keeps_the_window_mean():
    window_mean = sum(STEP) / len(STEP)  # 2.92: most of the window is before the step
    holt = forecast.trajectory("holt", series=STEP, window_mean=window_mean, step_s=1, horizon_s=10, pieces=5)
    flat = forecast.trajectory("flat", series=STEP, window_mean=window_mean, step_s=1, horizon_s=10, pieces=5)
    assert flat == [window_mean] * 5
    # level 5.5 three seconds after the step; the trend it picked up carries on, damped: it overshoots by < 25 %
    assert all(5.5 < value < 7.5 for value in holt), holt
    assert all(abs(h - 6.0) < abs(f - 6.0) for h, f in zip(holt, flat))


def test_a_ramp_goes_on_rising_but_the_damped_trend_flattens_out():
    ramp = [1.0 + 0.5 * t for t in range(20)]  # 0.5 users more each second, 10.5 at the last
    values = forecast.trajectory("holt", series=ramp, window_mean=sum(ramp) / 20, step_s=1, horizon_s=40, pieces=4)
    assert values == sorted(values) and values[0] > 10.5
    level, trend = Holt().fit(ramp)
    limit = level + trend * 0.9 / (1 - 0.9)  # phi / (1 - phi) steps of trend at most
    assert values[-1] < limit and math.isclose(Holt().ahead(level, trend, 1e6), limit)


def test_the_shape_forecast_follows_the_scenario_curve_from_the_observed_level():
    shape = lambda t: 10.0 if t < 100 else 30.0  # noqa: E731 - a steps curve: x3 at 100 s
    values = forecast.trajectory("shape", series=[12.0] * 10, window_mean=12.0, step_s=1, horizon_s=20, pieces=4,
                                 shape=shape, at_s=90.0)
    assert values == [12.0, 12.0, 36.0, 36.0]  # middles at 92.5, 97.5, 102.5, 107.5 s
    fallback = forecast.trajectory("shape", series=[12.0] * 10, window_mean=12.0, step_s=1, horizon_s=20, pieces=4)
    assert fallback == [12.0] * 4  # no curve: Holt's


@pytest.mark.parametrize("window, observed, wanted", [(2, 2.3, "steady"), (2, 2.5, "changing"), (6, 4.5, "changing"),
                                                       (6, 5.0, "steady"), (0, 0, "steady")])
def test_a_period_is_changing_when_the_load_moves_more_than_the_threshold(window, observed, wanted):
    assert shadow_score.period(window, observed, 0.2) == wanted


def _score(forecast_kind: str, horizon_s: float, period: str, latency_error: float) -> shadow_score.Score:
    return shadow_score.Score(
        time_s=0, horizon_s=horizon_s, forecast=forecast_kind, period=period, pods=1, workers=1, window_load=2,
        predicted_load=2, observed_load=2, predicted_throughput_rps=20, observed_throughput_rps=20,
        throughput_error_pct=0.0, predicted_latency_ms=100, observed_latency_ms=100, latency_error_pct=latency_error,
        predicted_queue_ms=0, observed_queue_ms=0, queue_error_pct=math.nan, predicted_5xx_rps=0, observed_5xx_rps=0,
        predicted_client_latency_ms=102)


def test_the_report_splits_by_forecast_horizon_and_period_and_lists_the_unscored():
    scores = [_score("holt", 5, "steady", 4.0), _score("holt", 5, "steady", -8.0), _score("holt", 5, "changing", 30),
              _score("holt", 15, "steady", 2.0), _score("flat", 5, "changing", -50.0)]
    unscored = [{"time_s": 40, "horizon_s": 15, "forecast": "holt", "reason": "its horizon ends 5 s after the run"}]
    report = shadow_score.report(scores, unscored, primary="holt")
    assert (report["predictions_scored"], report["predictions_unscored"]) == (4, 1)
    assert report["latency_mape_pct"] == pytest.approx(11.0) and report["queue_mape_pct"] is None  # NaN: no queue
    assert report["by_forecast"]["holt"]["5s"]["steady"] == {"n": 2, "latency_mape_pct": 6.0,
                                                            "throughput_mape_pct": 0.0, "queue_mape_pct": None}
    assert report["by_forecast"]["flat"]["5s"]["changing"]["latency_mape_pct"] == 50.0
    assert set(report["by_forecast"]["holt"]) == {"5s", "15s"} and report["unscored"] == unscored


def _shadow() -> Shadow:
    """A shadow of the suite's sleepy scenario; nothing here reaches Prometheus or a cluster."""
    return Shadow(scenario_path=SLEEPY, horizons_s=(5.0, 15.0), every_s=2, window="6s",
                  traffic=TrafficReader(PrometheusApi("http://127.0.0.1:9"), "sleepy"), cluster=None, fleet=None,
                  started_at=1000.0, score_delay_s=3.0)


def test_users_missing_from_little_s_law_are_made_up_from_the_requests_inside_torchserve():
    shadow = _shadow()
    measured = Traffic(throughput_rps=17.25, latency_ms=81.0)  # 1.40 inside TorchServe, 1.43 by the profile's 2 ms
    assert shadow.load(measured) == pytest.approx(17.25 * 0.083)
    assert shadow._unseen_users(measured) == pytest.approx(2 - 17.25 * 0.083)  # two users, the rest thinking
    assert shadow._unseen_users(Traffic(19.0, 294.0)) == pytest.approx(6 - 19.0 * 0.296)
    assert shadow._unseen_users(Traffic(20.0, 102.0)) == 0.0  # 2.04 inside: noise, not a third user


def test_a_forecast_becomes_closed_groups_one_after_another_over_the_horizon():
    shadow = _shadow()
    pieces = _pieces([2.2, 2.4, 3.6, 5.7, 6.1, 5.9], 12.0, closed=True)
    assert pieces == [(0.0, 2), (4.0, 4), (6.0, 6)]
    groups = shadow._workload(pieces, 12.0, 0.035)
    assert [(g["users"], g["start_s"], g["stop_s"], g["think_time_s"]) for g in groups] == [
        (2, 0.0, 4.0, 0.035), (4, 4.0, 6.0, 0.035), (6, 6.0, 12.0, 0.035)]


def test_predictions_still_open_when_the_run_ends_are_reported_unscored_with_the_reason():
    shadow = _shadow()
    figures = {"requests_rps": 20.0}
    shadow.pending = [Prediction(1040.0, 15.0, "holt", 1, 1, 2.0, 2.0, figures, 100.0),
                      Prediction(1044.0, 5.0, "holt", 1, 1, 2.0, 2.0, figures, 100.0)]
    assert shadow.lag_left(1050.0) == pytest.approx(2.0)  # the 5 s one ended at 1049: Prometheus by 1052
    shadow.finish(1050.0)
    assert [u["reason"] for u in shadow.unscored] == [
        "its horizon ends 5.0 s after the run",
        "its horizon ended 1.0 s before the run did: too soon for Prometheus to hold it (score_delay_s)"]
    assert shadow.pending == [] and shadow.report()["predictions_unscored"] == 2
