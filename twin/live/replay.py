"""Replay a decision log chosen offline against a cluster, in real time or compressed, and record the response.

Each decision is a target state (replicas, workers, memory, ScaledObject fields). It goes through the same gate as
the live loop, under the key `decision-N`, so a replay that is stopped and started again skips the decisions the
journal shows done, and re-sends an unsettled one only if the cluster does not already hold its target.
After each write the cluster is watched until it holds the target (replicas ready, workers READY) or the next
decision is due, and what it did is recorded.

Pods in a decision log made by the twin have the twin's names (`roberta-0`, `roberta-1`, ...). A target that names
a live pod is used as is; otherwise the twin's pods map by rank to the live pods, oldest first.
"""
from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from twin.config import reading
from twin.config.base import MAX_DURATION_S, MAX_MEMORY_GIB, MAX_NODES, MAX_PODS, MAX_WORKERS
from twin.errors import InputError
from twin.live.gate import Gate, Outcome
from twin.live.live_ports import GuardedCluster, GuardedTorchServe
from twin.ports import Decision

ACTIONS = {"scale_deployment": ("replicas",), "scale_workers": ("min_worker",), "resize_pod": ("memory_bytes",),
           "patch_scaled_object": (), "scale_placeholders": ("replicas",), "add_nodes": ("count",), "remove_node": (),
           "evict_pod": ()}


@dataclass(frozen=True)
class Response:
    index: int
    decision: dict
    status: str  # the gate's outcome, or `done` when the journal already had it
    detail: str
    sent_at_s: float | None  # seconds since the replay started
    reached_after_s: float | None  # how long the cluster took to hold the target; None: not within the wait

    def to_json(self) -> dict:
        return {"index": self.index, **self.decision, "status": self.status, "detail": self.detail,
                "sent_at_s": self.sent_at_s, "reached_after_s": self.reached_after_s}


def read_decisions(path: Path) -> list[Decision]:
    """The decisions of a log, checked as a whole before anything is sent: at least one, times finite, not negative,
    within a simulated year and in order, targets whole and not negative."""
    text = reading.read_text(path)
    decisions = [_decision(path, number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    if not decisions:
        raise InputError(str(path), "", "at least one decision (JSON lines from `servetwin run --out`)", "none")
    for (number, earlier), (later_number, later) in zip(decisions, decisions[1:]):
        if later.time_s < earlier.time_s:
            raise InputError(str(path), "time_s", f"times in order (line {number} has {earlier.time_s:g})",
                             f"{later.time_s:g}", later_number)
    return [decision for _, decision in decisions]


def _decision(path: Path, number: int, line: str) -> tuple[int, Decision]:
    expected = "a JSON decision (time_s, controller, action, target, value)"
    data = reading.parse_json(line, source=str(path), line=number, expected=expected)
    try:
        decision = Decision(_time(data["time_s"]), str(data["controller"]), str(data["action"]),
                            str(data["target"]), dict(data["value"]), str(data.get("reason", "")))
    except (ValueError, KeyError, TypeError):
        raise InputError(str(path), "", expected, line[:60], number) from None
    if not 0 <= decision.time_s <= MAX_DURATION_S:
        raise InputError(str(path), "time_s", f"seconds from 0 to {MAX_DURATION_S:,} (a simulated year)",
                         f"{decision.time_s:g}", number)
    if not decision.target.strip():
        raise InputError(str(path), "target", "the name of what the decision scales", repr(decision.target), number)
    if decision.action not in ACTIONS:
        raise InputError(str(path), "action", f"one of {', '.join(ACTIONS)}", decision.action, number)
    for key, (low, high, whole) in _TARGETS.items():
        if key in decision.value and not _within(decision.value[key], low, high, whole):
            kind = "a whole number" if whole else "a number"
            raise InputError(str(path), f"value.{key}", f"{kind} from {low:g} to {high:g}",
                             json.dumps(decision.value[key]), number)
    missing = [key for key in ACTIONS[decision.action] if key not in decision.value]
    if missing:
        raise InputError(str(path), "value", f"{', '.join(missing)} for {decision.action}",
                         json.dumps(decision.value), number)
    return number, decision


def _time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError("time_s is not a number")
    return float(value)


def _within(value: object, low: float, high: float, whole: bool) -> bool:
    number = isinstance(value, (int, float)) and not isinstance(value, bool)
    return number and low <= value <= high and (not whole or float(value).is_integer())


# value key -> (lowest, highest, whole): Kubernetes and TorchServe bounds, as the schema states them
_TARGETS = {"replicas": (0, MAX_PODS, True), "min_worker": (0, MAX_WORKERS, True),
            "max_worker": (0, MAX_WORKERS, True), "count": (1, MAX_NODES, True),
            "memory_bytes": (1, MAX_MEMORY_GIB * 2**30, False)}


@dataclass
class Replay:
    cluster: GuardedCluster
    torchserve: GuardedTorchServe
    gate: Gate
    speed: float = 1.0
    wait_s: float = 120.0  # longest watch after a write when the next decision is further away
    clock: Callable[[], float] = time.time
    sleep: Callable[[float], None] = time.sleep

    def run(self, decisions: list[Decision], *, on_response: Callable[[Response], None] | None = None) -> list[Response]:
        done = self.gate.journal.done()
        start, first = self.clock(), decisions[0].time_s if decisions else 0.0
        responses = []
        for index, decision in enumerate(decisions):
            if self.gate.halt.halted:
                break
            due = start + (decision.time_s - first) / self.speed
            if f"decision-{index}" in done:
                response = Response(index, decision.to_json(), "done", "the journal has it applied", None, None)
            else:
                self.sleep(max(0.0, due - self.clock()))
                response = self._apply(index, decision, start, next_due=self._next_due(decisions, index, start, first))
            responses.append(response)
            if on_response is not None:
                on_response(response)
        return responses

    def _next_due(self, decisions: list[Decision], index: int, start: float, first: float) -> float:
        later = decisions[index + 1].time_s if index + 1 < len(decisions) else None
        return start + (later - first) / self.speed if later is not None else self.clock() + self.wait_s

    def _apply(self, index: int, decision: Decision, start: float, *, next_due: float) -> Response:
        sent = self.clock()
        self.gate.key = f"decision-{index}"
        try:
            outcome, reached = self._send(decision)
        finally:
            self.gate.key = None
        after = None
        if outcome.status == "applied" or outcome.status == "unchanged":
            after = self._watch(reached, sent, until=min(next_due, sent + self.wait_s))
        return Response(index, decision.to_json(), outcome.status, outcome.detail, round(sent - start, 3), after)

    def _send(self, decision: Decision) -> tuple[Outcome, Callable[[], bool]]:
        value, cluster = decision.value, self.cluster
        if decision.action == "scale_deployment":
            cluster.scale_deployment(int(value["replicas"]))
            return self._last(), lambda: self._replicas_ready(int(value["replicas"]))
        if decision.action == "scale_workers":
            pod = self._live_pod(decision.target)
            self.torchserve.scale_workers(pod, int(value["min_worker"]), int(value.get("max_worker",
                                                                                     value["min_worker"])))
            return self._last(), lambda: self._workers_ready(pod, int(value["min_worker"]))
        if decision.action == "resize_pod":
            pod = self._live_pod(decision.target)
            memory = float(value["memory_bytes"])
            cluster.resize_pod(pod, {"memory": memory}, {"memory": memory})
            return self._last(), lambda: True
        if decision.action == "scale_placeholders":
            cluster.scale_placeholders(int(value["replicas"]))
            return self._last(), lambda: True
        if decision.action == "patch_scaled_object":
            return cluster.patch_scaled_object(decision.target.split("/")[-1], value), lambda: True
        if decision.action == "add_nodes":
            cluster.add_nodes(decision.target, int(value["count"]))
        elif decision.action == "evict_pod":
            cluster.evict_pod(self._live_pod(decision.target))
        else:
            cluster.remove_node(decision.target)
        return self._last(), lambda: True

    def _last(self) -> Outcome:
        return self.gate.outcomes[-1][1]

    def _watch(self, reached: Callable[[], bool], sent: float, *, until: float) -> float | None:
        while True:
            try:
                if reached():
                    return round(self.clock() - sent, 3)
            except Exception:  # noqa: BLE001 - a read that fails while watching only means "not yet"
                pass
            if self.clock() >= until or self.gate.halt.halted:
                return None
            self.sleep(0.25)

    def _replicas_ready(self, replicas: int) -> bool:
        ready = sum(pod.ready for pod in self.cluster.pods() if not pod.deleting)
        return self.cluster.deployment_replicas()[1] == replicas and ready == replicas

    def _workers_ready(self, pod: str, workers: int) -> bool:
        view = self.torchserve.describe(pod)
        return view is not None and view.ready == workers and view.starting == 0

    def _live_pod(self, target: str) -> str:
        live = sorted((p for p in self.cluster.pods() if not p.deleting),
                      key=lambda p: (p.start_time or float("inf"), p.name))
        names = [p.name for p in live]
        if target in names or not names:
            return target
        rank = re.search(r"(\d+)$", target)
        return names[int(rank.group(1)) % len(names)] if rank else names[0]
