"""Shadow predictions: a self-scoring twin beside a live cluster.

Every `every_s` the shadow reads the cluster's state (ready pods, workers per pod) and the traffic of the last
`window` from Prometheus, runs the twin forward `horizon_s` from that state under that traffic, and keeps the
prediction. Once the horizon has passed it reads what the cluster really did over the same interval and scores the
prediction. The twin runs without the scenario's autoscalers: in shadow mode nothing enacts them, so the cluster
stays as it was observed (its own HPA or KEDA, if any, are outside the prediction).

Traffic is carried forward as it was: a closed-loop scenario (JMeter users) as the number of users that Little's law
gives (throughput × (latency + think time)); an open-loop one as Poisson arrivals at the observed rate.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

from twin.config.loader import load_scenario
from twin.core.run import simulate
from twin.live.live_ports import TorchServeFleet
from twin.metrics.promql.lex import parse_duration_ms
from twin.ports import ClusterPort, MetricsUnavailable

COLUMNS = ("time_s", "horizon_s", "pods", "workers", "users", "predicted_throughput_rps", "observed_throughput_rps",
           "predicted_latency_ms", "observed_latency_ms", "latency_error_pct", "throughput_error_pct")


@dataclass(frozen=True)
class Traffic:
    throughput_rps: float
    latency_ms: float  # TorchServe's own (frontend accept to response)


@dataclass
class Prediction:
    time_s: float
    horizon_s: float
    pods: int
    workers: int
    users: int
    predicted_throughput_rps: float
    predicted_latency_ms: float


@dataclass(frozen=True)
class Score:
    time_s: float  # seconds since the shadow started
    horizon_s: float
    pods: int
    workers: int
    users: int
    predicted_throughput_rps: float
    observed_throughput_rps: float
    predicted_latency_ms: float
    observed_latency_ms: float
    latency_error_pct: float
    throughput_error_pct: float


class TrafficReader:
    """Observed throughput and mean latency of one model over a window ending at a given time."""

    def __init__(self, query: Callable[..., list], model: str) -> None:
        self.query = query
        self.selector = f'{{model_name="{model}"}}'


    def over(self, window: str, *, at_s: float) -> Traffic | None:
        try:
            rate = _scalar(self.query(self._rate("ts_inference_requests_total", window), at_s=at_s))
            busy_us = _scalar(self.query(self._rate("ts_inference_latency_microseconds", window), at_s=at_s))
        except MetricsUnavailable:
            return None
        if rate is None or busy_us is None or rate <= 0:
            return None
        return Traffic(rate, busy_us / rate / 1000.0)

    def _rate(self, counter: str, window: str) -> str:
        return f"sum(rate({counter}{self.selector}[{window}]))"


class Shadow:
    def __init__(self, *, scenario_path: Path, horizon_s: float, every_s: float, window: str,
                 traffic: TrafficReader, cluster: ClusterPort, fleet: TorchServeFleet, started_at: float,
                 score_delay_s: float = 10.0) -> None:
        self.scenario_path = scenario_path
        self.horizon_s = horizon_s
        self.every_s = every_s
        self.window = window
        self.traffic = traffic
        self.cluster = cluster
        self.fleet = fleet
        self.started_at = started_at
        self.score_delay_s = score_delay_s  # Prometheus holds an interval's samples only a scrape or two later
        # The first prediction waits one rate window: before that the observed traffic is a start-up transient.
        self.next_start = started_at + parse_duration_ms(window) / 1000.0
        self.pending: list[Prediction] = []
        self.scores: list[Score] = []
        self.base = load_scenario(scenario_path)

    def tick(self, now: float) -> None:
        for prediction in [p for p in self.pending if now >= p.time_s + p.horizon_s + self.score_delay_s]:
            self.pending.remove(prediction)
            self._score(prediction)
        if now >= self.next_start:
            self.next_start = now + self.every_s
            prediction = self.predict(now)
            if prediction is not None:
                self.pending.append(prediction)

    def predict(self, now: float) -> Prediction | None:
        traffic = self.traffic.over(self.window, at_s=now)
        pods = [p.name for p in self.cluster.pods() if p.ready]
        workers = [view.min_workers for view in map(self.fleet.describe, pods) if view is not None]
        if traffic is None or not workers:
            return None  # no traffic or no TorchServe answering: nothing to predict from
        per_pod = round(sum(workers) / len(workers))
        users = self._users(traffic)
        summary = simulate(self._scenario(len(workers), per_pod, users, traffic)).summary
        if summary.latency_ms.get("mean") is None:
            return None
        return Prediction(now, self.horizon_s, len(workers), per_pod, users, summary.throughput_rps,
                          summary.latency_ms["mean"])

    def _users(self, traffic: Traffic) -> int:
        closed = [group for group in self.base.workload if group.type == "closed"]
        if not closed:
            return 0
        think_s = closed[0].think_time_s
        return max(1, round(traffic.throughput_rps * (traffic.latency_ms / 1000.0 + think_s)))

    def _scenario(self, pods: int, workers: int, users: int, traffic: Traffic):
        base = self.base
        if users:
            workload = [{"type": "closed", "users": users, "think_time_s": base.workload[0].think_time_s}]
        else:
            workload = [{"type": "poisson", "rate_rps": traffic.throughput_rps}]
        overrides = {"deployment.pods": pods, "deployment.initial_state": "ready",
                     "deployment.torchserve.model.min_workers": workers,
                     "deployment.torchserve.model.max_workers": workers,
                     "workload": workload, "duration_s": self.horizon_s, "warmup_s": 0.0, "autoscaling": {}}
        return load_scenario(self.scenario_path, overrides)

    def _score(self, prediction: Prediction) -> None:
        end = prediction.time_s + prediction.horizon_s
        observed = self.traffic.over(f"{prediction.horizon_s:g}s", at_s=end)
        if observed is None:
            return
        self.scores.append(Score(
            time_s=round(prediction.time_s - self.started_at, 3), horizon_s=prediction.horizon_s,
            pods=prediction.pods, workers=prediction.workers, users=prediction.users,
            predicted_throughput_rps=prediction.predicted_throughput_rps,
            observed_throughput_rps=observed.throughput_rps,
            predicted_latency_ms=prediction.predicted_latency_ms, observed_latency_ms=observed.latency_ms,
            latency_error_pct=_error_pct(prediction.predicted_latency_ms, observed.latency_ms),
            throughput_error_pct=_error_pct(prediction.predicted_throughput_rps, observed.throughput_rps)))

    def report(self) -> dict:
        return {"predictions_scored": len(self.scores), "predictions_pending": len(self.pending),
                "latency_mape_pct": self._mape("latency_error_pct"),
                "throughput_mape_pct": self._mape("throughput_error_pct")}

    def _mape(self, key: str) -> float | None:
        errors = [abs(getattr(score, key)) for score in self.scores]
        return sum(errors) / len(errors) if errors else None

    def rows(self) -> list[dict]:
        return [asdict(score) for score in self.scores]


def _scalar(samples: list) -> float | None:
    return samples[0].value if samples else None


def _error_pct(predicted: float, observed: float) -> float:
    return 100.0 * (predicted - observed) / observed if observed else float("nan")
