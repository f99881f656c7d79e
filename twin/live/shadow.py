"""Shadow predictions: a self-scoring twin beside a live cluster.

Every `every_s` the shadow reads the cluster's state (ready pods, workers per pod) and the load of the last `window`
from Prometheus, forecasts the load over each horizon (twin/live/forecast.py), runs the twin forward from that state
under that load, and keeps one prediction per horizon and forecast. Once a horizon has passed it reads what the
cluster really did over the same interval and scores the prediction on TorchServe's own basis
(twin/live/shadow_score.py); what is still pending when the run ends is reported as unscored, with the reason.
The twin runs without the scenario's autoscalers (in shadow mode nothing enacts them) but with the cluster's own:
its HPA or KEDA ScaledObject on the Deployment, read from the API at each prediction (twin/live/cluster_controllers.py)
and run in the forward run, so a prediction that spans their scale-out is scored fairly. Each prediction also says
what they do first in the forward run (the HPA's next rescale: replicas and when), the ready pods the forward run
ends with, and what the scenario's policy decided live meanwhile (not enacted), in shadow.csv and on the console.

The load is that of the scenario's first workload group: a closed loop (JMeter users) as the users Little's law
gives (throughput × (time in TorchServe + outside it + think time)), an open loop as Poisson arrivals at the rate.
Status rates come from TorchServe's frontend-wide `Requests2XX/5XX`, which carry no model label.
"""
from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass
from pathlib import Path
from statistics import mean
from typing import Callable, Mapping

from twin.config.loader import load_scenario
from twin.config.schema import Closed, Scenario
from twin.core.run import simulate
from twin.live import forecast, shadow_score
from twin.live.cluster_controllers import ClusterControllers
from twin.live.live_ports import TorchServeFleet
from twin.live.prometheus_api import PrometheusApi
from twin.metrics.promql.lex import parse_duration_ms
from twin.ports import ClusterPort, Decision, MetricsUnavailable
from twin.workload.rates import curve

PIECES = 6  # parts of a horizon with their own load
INSIDE_NOISE = 0.05  # of the mean number of requests inside TorchServe, before it counts as one more user
COLUMNS = shadow_score.COLUMNS


@dataclass(frozen=True)
class Traffic:
    """What Prometheus says TorchServe did over a window."""
    throughput_rps: float  # ts_inference_requests_total
    latency_ms: float  # TorchServe's own (frontend accept to response)
    queue_ms: float = 0.0
    status_5xx_rps: float = 0.0


@dataclass(frozen=True)
class Prediction:
    time_s: float  # wall clock
    horizon_s: float
    forecast: str
    pods: int
    workers: int
    window_load: float
    predicted_load: float
    figures: dict  # the twin's TorchServe figures (twin/core/torchserve_figures.py)
    client_latency_ms: float
    forward: "Forward | None" = None  # what the cluster's autoscalers did in the forward run
    policy_next: str = ""


@dataclass(frozen=True)
class Forward:
    """What the forward run says of the cluster's own autoscalers over a horizon."""
    controllers: str  # hpa/NAME, scaledobject/NAME; "" when the cluster has none
    first: str  # their first rescale: "2 replicas at +6.2 s"; "holds N" when they make none
    ready_pods_end: int


class TrafficReader:
    """Observed TorchServe figures of one model over a window ending at a given time, or as a series of steps."""

    def __init__(self, prometheus: PrometheusApi, model: str) -> None:
        self.prometheus = prometheus
        self.selector = f'{{model_name="{model}"}}'

    def over(self, window: str, *, at_s: float) -> Traffic | None:
        try:
            rate, busy_us, queue_us = (self._value(counter, window, at_s) for counter in (
                "ts_inference_requests_total", "ts_inference_latency_microseconds", "ts_queue_latency_microseconds"))
            errors = self._value("Requests5XX", window, at_s, selector="") or 0.0
        except MetricsUnavailable:
            return None
        if rate is None or busy_us is None or rate <= 0:
            return None
        return Traffic(rate, busy_us / rate / 1000.0, (queue_us or 0.0) / rate / 1000.0, errors)

    def series(self, window: str, *, start_s: float, end_s: float, step_s: float) -> list[Traffic]:
        """Rate and latency at each step (rate() over `window`); steps without traffic are left out."""
        try:
            rates, busy = (self.prometheus.query_range(self._rate(counter, window), start_s=start_s, end_s=end_s,
                                                       step_s=step_s)
                           for counter in ("ts_inference_requests_total", "ts_inference_latency_microseconds"))
        except MetricsUnavailable:
            return []
        if not rates or not busy:
            return []
        latency = dict(busy[0][1])
        return [Traffic(rate, latency[t] / rate / 1000.0) for t, rate in rates[0][1] if rate > 0 and t in latency]

    def _value(self, counter: str, window: str, at_s: float, *, selector: str | None = None) -> float | None:
        samples = self.prometheus.query(self._rate(counter, window, selector), at_s=at_s)
        return samples[0].value if samples else None

    def _rate(self, counter: str, window: str, selector: str | None = None) -> str:
        return f"sum(rate({counter}{self.selector if selector is None else selector}[{window}]))"


class Shadow:
    def __init__(self, *, scenario_path: Path, horizons_s: tuple[float, ...], every_s: float, window: str,
                 traffic: TrafficReader, cluster: ClusterPort, fleet: TorchServeFleet, started_at: float,
                 score_delay_s: float = 10.0, forecasts: tuple[str, ...] = ("holt", "flat"),
                 change_threshold: float = 0.2, controllers: Callable[[], ClusterControllers] | None = None,
                 queries: Mapping[str, str] | None = None, say: Callable[[str], None] | None = None) -> None:
        self.scenario_path = scenario_path
        self.horizons_s = horizons_s
        self.every_s = every_s
        self.window = window
        self.traffic = traffic
        self.cluster = cluster
        self.fleet = fleet
        self.started_at = started_at
        self.score_delay_s = score_delay_s  # Prometheus holds an interval's samples only a scrape or two later
        self.forecasts = forecasts  # the first is the shadow's prediction; the others are scored beside it
        self.change_threshold = change_threshold
        self.controllers = controllers  # reads the cluster's autoscalers; None: the forward run has none
        self.queries = dict(queries or {})  # PromQL of the HPA's Pods/Object/External metrics (the adapter's rules)
        self.say = say  # one line per prediction, for the console
        self.policy: dict[tuple[str, str], Decision] = {}  # the policy's latest decision per action and target
        # The first prediction waits one rate window: before that the observed traffic is a start-up transient.
        self.next_start = started_at + parse_duration_ms(window) / 1000.0
        self.pending: list[Prediction] = []
        self.scores: list[shadow_score.Score] = []
        self.unscored: list[dict] = []
        self.base = load_scenario(scenario_path)
        self.group = self.base.workload[0]
        self.step_s = self.base.metrics.scrape_interval_s
        self.shape = self._shape()
        self._runs: dict[tuple, tuple[dict, float, Forward]] = {}  # the twin's answer by its inputs, per prediction

    def tick(self, now: float) -> None:
        self._score_due(now)
        if now >= self.next_start:
            self.next_start = now + self.every_s
            self.pending.extend(self.predict(now))

    def policy_decided(self, decision: Decision) -> None:
        """A decision of the scenario's policy on the live loop (shadow mode: written nowhere)."""
        self.policy[decision.action, decision.target] = decision

    def _score_due(self, now: float) -> None:
        due = [p for p in self.pending if now >= p.time_s + p.horizon_s + self.score_delay_s]
        ready = sum(p.ready for p in self.cluster.pods()) if due else 0
        for prediction in due:
            self.pending.remove(prediction)
            self._score(prediction, ready)

    def lag_left(self, now: float) -> float:
        """How long until every prediction whose horizon is over can be scored (0 when none waits on the lag)."""
        due = [p.time_s + p.horizon_s + self.score_delay_s for p in self.pending if p.time_s + p.horizon_s <= now]
        return max([0.0, *(t - now for t in due)])

    def finish(self, now: float, *, ended_s: float | None = None) -> None:
        """The run ended at `ended_s` (default: now): score what can be by now, report the rest as unscored."""
        self._score_due(now)
        ended_s = now if ended_s is None else ended_s
        for prediction in self.pending:
            self._unscored(prediction, _why_pending(prediction.time_s + prediction.horizon_s - ended_s))
        self.pending = []

    def _unscored(self, prediction: Prediction, reason: str) -> None:
        self.unscored.append({"time_s": round(prediction.time_s - self.started_at, 3),
                              "horizon_s": prediction.horizon_s, "forecast": prediction.forecast, "reason": reason})

    def predict(self, now: float) -> list[Prediction]:
        traffic = self.traffic.over(self.window, at_s=now)
        pods = [p.name for p in self.cluster.pods() if p.ready]
        workers = [view.min_workers for view in map(self.fleet.describe, pods) if view is not None]
        if traffic is None or not workers:
            return []  # no traffic or no TorchServe answering: nothing to predict from
        window_s = parse_duration_ms(self.window) / 1000.0
        steps = self.traffic.series(f"{3 * self.step_s:g}s", start_s=now - window_s, end_s=now, step_s=self.step_s)
        self._runs = {}  # forecasts that agree share one twin run
        controllers = self.controllers() if self.controllers is not None else ClusterControllers("")
        policy_next, self.policy = _policy_text(self.policy.values()), {}
        made = [self._predict(now, traffic, [self.load(t) for t in steps], kind, horizon_s, controllers,
                              pods=len(workers), workers=round(sum(workers) / len(workers)), policy_next=policy_next)
                for horizon_s in self.horizons_s for kind in self.forecasts]
        made = [prediction for prediction in made if prediction.figures["requests_rps"] > 0]
        if self.say is not None:
            self.say(self._line(now, [p for p in made if p.forecast == self.forecasts[0]]))
        return made

    def _predict(self, now: float, traffic: Traffic, series: list[float], kind: str, horizon_s: float,
                 controllers: ClusterControllers, *, pods: int, workers: int, policy_next: str) -> Prediction:
        loads = forecast.trajectory(kind, series=series, window_mean=self.load(traffic), step_s=self.step_s,
                                    horizon_s=horizon_s, pieces=PIECES, shape=self.shape, at_s=now - self.started_at)
        unseen = self._unseen_users(traffic)
        figures, client_ms, forward = self._twin(pods, workers, horizon_s, [load + unseen for load in loads],
                                                 extra_think_s=unseen / traffic.throughput_rps, controllers=controllers)
        return Prediction(now, horizon_s, kind, pods, workers, self.load(traffic), mean(loads), figures, client_ms,
                          forward, policy_next)

    def _line(self, now: float, made: list[Prediction]) -> str:
        """The console's line for one prediction time: the state, then each horizon's forecast and autoscalers."""
        if not made:
            return f"shadow +{now - self.started_at:.0f} s: no prediction (no traffic in the twin)"
        first = made[0]
        horizons = "; ".join(f"{p.horizon_s:g} s: load {p.predicted_load:.1f}, {p.figures['latency_ms']:.0f} ms, "
                             f"cluster: {_next(p.forward)}" for p in made)
        return (f"shadow +{now - self.started_at:.0f} s: {first.pods} pod(s) x {first.workers} worker(s), load "
                f"{first.window_load:.1f} | {horizons} | policy: {first.policy_next or 'nothing new'}")

    def load(self, traffic: Traffic) -> float:
        return observed_load(self.base, traffic)

    def _unseen_users(self, traffic: Traffic) -> float:
        return unseen_users(self.base, traffic)

    def _shape(self):
        """The scenario's own load over time, when it has one: users of its closed groups, or its rate curve."""
        if isinstance(self.group, Closed):
            closed = [g for g in self.base.workload if isinstance(g, Closed)]
            if len(closed) < 2:
                return None
            return lambda t: sum(g.users for g in closed if g.start_s <= t < (g.stop_s or float("inf")))
        return None if self.group.type == "poisson" or self.group.type == "trace" else curve(self.group).rate

    def _twin(self, pods: int, workers: int, horizon_s: float, loads: list[float], *, extra_think_s: float,
              controllers: ClusterControllers = ClusterControllers("")) -> tuple[dict, float, Forward]:
        pieces = _pieces(loads, horizon_s, closed=isinstance(self.group, Closed))
        think_s = round(self.group.think_time_s + extra_think_s, 3) if isinstance(self.group, Closed) else 0.0
        cluster = controllers.overrides(self.queries)
        key = (pods, workers, horizon_s, tuple(pieces), think_s, json.dumps(cluster, sort_keys=True))
        if key not in self._runs:
            result = simulate(self._scenario(pods, workers, horizon_s, self._workload(pieces, horizon_s, think_s),
                                             cluster))
            self._runs[key] = (result.summary.torchserve, result.summary.latency_ms.get("mean"),
                               _forward(result, ", ".join(controllers.running()), pods))
        return self._runs[key]

    def _scenario(self, pods: int, workers: int, horizon_s: float, workload: list[dict], cluster: dict):
        """The forward run: the observed state and forecast load, the cluster's autoscalers and no others."""
        overrides = {"deployment.pods": pods, "deployment.initial_state": "ready",
                     "deployment.torchserve.model.min_workers": workers,
                     "deployment.torchserve.model.max_workers": workers,
                     "workload": workload, "duration_s": horizon_s, "warmup_s": 0.0, "autoscaling": {}, **cluster}
        return load_scenario(self.scenario_path, overrides)

    def _workload(self, pieces: list[tuple[float, float]], horizon_s: float, think_s: float) -> list[dict]:
        group = self.group
        if isinstance(group, Closed):
            ends = [start for start, _ in pieces[1:]] + [horizon_s]
            return [{"type": "closed", "users": int(users), "think_time_s": think_s,
                     "network_rtt_ms": group.network_rtt_ms, "start_s": start, "stop_s": end}
                    for (start, users), end in zip(pieces, ends)]
        return [{"type": "steps", "network_rtt_ms": group.network_rtt_ms,
                 "steps": [{"at_s": start, "rate_rps": rate} for start, rate in pieces]}]

    def _score(self, prediction: Prediction, ready_pods: int) -> None:
        end = prediction.time_s + prediction.horizon_s
        observed = self.traffic.over(f"{prediction.horizon_s:g}s", at_s=end)
        if observed is None:
            self._unscored(prediction, "Prometheus had no traffic for its horizon")
            return
        figures, load = prediction.figures, self.load(observed)
        forward = prediction.forward or Forward("", "", prediction.pods)
        self.scores.append(shadow_score.Score(
            time_s=round(prediction.time_s - self.started_at, 3), horizon_s=prediction.horizon_s,
            forecast=prediction.forecast,
            period=shadow_score.period(prediction.window_load, load, self.change_threshold),
            pods=prediction.pods, workers=prediction.workers, window_load=prediction.window_load,
            predicted_load=prediction.predicted_load, observed_load=load,
            predicted_throughput_rps=figures["requests_rps"], observed_throughput_rps=observed.throughput_rps,
            throughput_error_pct=shadow_score.error_pct(figures["requests_rps"], observed.throughput_rps),
            predicted_latency_ms=figures["latency_ms"], observed_latency_ms=observed.latency_ms,
            latency_error_pct=shadow_score.error_pct(figures["latency_ms"], observed.latency_ms),
            predicted_queue_ms=figures["queue_latency_ms"], observed_queue_ms=observed.queue_ms,
            queue_error_pct=shadow_score.error_pct(figures["queue_latency_ms"], observed.queue_ms),
            predicted_5xx_rps=figures["status_5xx_rps"], observed_5xx_rps=observed.status_5xx_rps,
            predicted_client_latency_ms=prediction.client_latency_ms,
            controllers=forward.controllers, cluster_next=forward.first, policy_next=prediction.policy_next,
            predicted_ready_pods_end=forward.ready_pods_end, observed_ready_pods_end=ready_pods))

    def report(self) -> dict:
        return shadow_score.report(self.scores, self.unscored, primary=self.forecasts[0])

    def rows(self) -> list[dict]:
        return [asdict(score) for score in self.scores]


def observed_load(scenario: Scenario, traffic: Traffic) -> float:
    """Users in the system (a closed loop first in the scenario's workload) or the request rate (open loop)."""
    group = scenario.workload[0]
    if not isinstance(group, Closed):
        return traffic.throughput_rps
    outside_ms = scenario.model.frontend_ms + group.network_rtt_ms
    return traffic.throughput_rps * ((traffic.latency_ms + outside_ms) / 1000.0 + group.think_time_s)


def unseen_users(scenario: Scenario, traffic: Traffic) -> float:
    """Users Little's law misses when the profile's time outside TorchServe is short of the real one (client
    overhead, a busy load generator): a closed loop has at least as many users as requests inside TorchServe (less
    a little noise), and the twin gives the missing ones the missing time as think time."""
    if not isinstance(scenario.workload[0], Closed):
        return 0.0
    inside = traffic.throughput_rps * traffic.latency_ms / 1000.0
    return max(0.0, math.ceil(inside - INSIDE_NOISE) - observed_load(scenario, traffic))


def observed_workload(scenario: Scenario, traffic: Traffic) -> dict:
    """The observed traffic held level, as the scenario's kind of load: closed-loop users (the missing ones given the
    missing time as think time) or Poisson arrivals at the observed rate."""
    group = scenario.workload[0]
    if not isinstance(group, Closed):
        return {"type": "poisson", "rate_rps": round(traffic.throughput_rps, 3), "network_rtt_ms": group.network_rtt_ms}
    unseen = unseen_users(scenario, traffic)
    think_s = group.think_time_s + unseen / traffic.throughput_rps
    return {"type": "closed", "users": max(1, round(observed_load(scenario, traffic) + unseen)),
            "think_time_s": round(think_s, 3), "network_rtt_ms": group.network_rtt_ms}


def _why_pending(left_s: float) -> str:
    if left_s > 0:
        return f"its horizon ends {left_s:.1f} s after the run"
    return f"its horizon ended {-left_s:.1f} s before the run did: too soon for Prometheus to hold it (score_delay_s)"


def _forward(result, controllers: str, pods: int) -> Forward:
    """The first rescale of the Deployment in a forward run (only the cluster's autoscalers run there)."""
    rescale = next((d for d in result.decisions if d.action == "scale_deployment"), None)
    first = f"holds {pods}" if rescale is None else f"{rescale.value['replicas']} replicas at +{rescale.time_s:.1f} s"
    ready = result.timeseries["ready_pods"]
    return Forward(controllers, first, int(ready.iloc[-1]) if len(ready) else pods)


def _next(forward: Forward) -> str:
    return f"{forward.controllers} {forward.first}" if forward.controllers else "no autoscaler"


def _policy_text(decisions) -> str:
    return "; ".join(f"{d.action} {d.target} -> " + ",".join(f"{k}={v}" for k, v in d.value.items())
                     for d in decisions)


def _pieces(loads: list[float], horizon_s: float, *, closed: bool) -> list[tuple[float, float]]:
    """(start, load) of each part of the horizon; whole users (at least one); equal neighbours merged."""
    width = horizon_s / len(loads)
    pieces: list[tuple[float, float]] = []
    for index, load in enumerate(loads):
        value = max(1, round(load)) if closed else round(load, 3)
        if not pieces or pieces[-1][1] != value:
            pieces.append((round(index * width, 6), value))
    return pieces
