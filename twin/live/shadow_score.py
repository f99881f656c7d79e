"""Scoring shadow predictions: one row per scored prediction, and the report that sums them up.

Every prediction is scored on TorchServe's own basis, the one Prometheus gives: mean latency from frontend accept to
response (`ts_inference_latency_microseconds`), mean queue latency (`ts_queue_latency_microseconds`), request rate
(`ts_inference_requests_total`) — each the twin's counters against the cluster's over the same interval. The twin's
end-to-end (client-side) latency is kept beside them but not scored: Prometheus holds no client-side measurement.

A prediction is *changing* when the load (users for a closed loop, request rate for an open one) over its horizon
differs from the load over the window it was predicted from by more than `change_threshold` (relative); otherwise
*steady*. The split separates what the twin gets wrong in steady state from what the forecast gets wrong.
Beside the scores each row says which of the cluster's autoscalers the forward run ran, what they did first in it,
and the ready pods it ended with against the cluster's: a prediction that spans a scale event names it.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, fields
from statistics import mean


@dataclass(frozen=True)
class Score:
    time_s: float  # seconds since the shadow started
    horizon_s: float
    forecast: str
    period: str  # steady | changing
    pods: int
    workers: int
    window_load: float  # users (closed loop) or req/s (open loop) over the window the prediction started from
    predicted_load: float  # the forecast's mean over the horizon
    observed_load: float
    predicted_throughput_rps: float  # TorchServe's request rate, 503s included, as ts_inference_requests_total
    observed_throughput_rps: float
    throughput_error_pct: float
    predicted_latency_ms: float  # TorchServe's accept-to-response mean
    observed_latency_ms: float
    latency_error_pct: float
    predicted_queue_ms: float  # TorchServe's accept-to-worker mean
    observed_queue_ms: float
    queue_error_pct: float
    predicted_5xx_rps: float
    observed_5xx_rps: float
    predicted_client_latency_ms: float  # end to end, frontend_ms and network included: not scored
    controllers: str = ""  # the cluster's autoscalers the forward run ran (hpa/NAME, scaledobject/NAME)
    cluster_next: str = ""  # what they do first in the forward run: "2 replicas at +6.2 s", or "holds 1"
    policy_next: str = ""  # what the scenario's policy decided live since the previous prediction (not enacted)
    predicted_ready_pods_end: int = 0  # at the end of the horizon, in the forward run
    observed_ready_pods_end: int = 0  # when the prediction is scored (score_delay_s after its horizon)


COLUMNS = tuple(field.name for field in fields(Score))
SCORED = ("latency_error_pct", "throughput_error_pct", "queue_error_pct")


def period(window_load: float, observed_load: float, threshold: float) -> str:
    changed = abs(observed_load - window_load) > threshold * max(window_load, 1e-9)
    return "changing" if changed else "steady"


def error_pct(predicted: float, observed: float) -> float:
    return 100.0 * (predicted - observed) / observed if observed else math.nan


def report(scores: list[Score], unscored: list[dict], *, primary: str) -> dict:
    """The primary forecast's overall MAPE first, then every forecast by horizon and period, then what went unscored."""
    mine = [score for score in scores if score.forecast == primary]
    return {"forecast": primary, "predictions_scored": len(mine), "predictions_unscored": len(unscored),
            **_mapes(mine), "by_forecast": _by_forecast(scores), "unscored": unscored}


def _by_forecast(scores: list[Score]) -> dict:
    table: dict = {}
    for score in scores:
        by_period = table.setdefault(score.forecast, {}).setdefault(f"{score.horizon_s:g}s", {})
        by_period.setdefault(score.period, []).append(score)
    return {forecast: {horizon: {name: {"n": len(group), **_mapes(group)} for name, group in periods.items()}
                       for horizon, periods in horizons.items()} for forecast, horizons in table.items()}


def _mapes(scores: list[Score]) -> dict:
    return {key.replace("error_pct", "mape_pct"): _mape([getattr(score, key) for score in scores]) for key in SCORED}


def _mape(errors: list[float]) -> float | None:
    finite = [abs(error) for error in errors if not math.isnan(error)]
    return mean(finite) if finite else None
