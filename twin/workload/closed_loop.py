"""A JMeter thread group: users that loop request → response → think time, each on one keep-alive connection.

Fidelity ledger — upstream: Apache JMeter 5.6 Thread Group (linear ramp-up: user i starts at i·ramp/users; "same
user on each iteration", so connections outlive iterations), HTTP keep-alive with one connection per thread,
Constant/exponential timers. Modelled: a user's connection is bound to the pod kube-proxy picked when it connected,
for the connection's life (so pods can sit idle while others queue); the life ends at `connection_ttl_s` when set
(HttpClient4's time_to_live: the next request opens a new connection, balanced anew), when the pod is killed or
deleted (reset: reconnect on the next request), or never; a refused connection (no Ready pod) is an error, retried
after `reconnect_delay_s`. Not modelled: JMeter's own client CPU limits, connect timeouts, HTTP pipelining.
"""
from __future__ import annotations

import simpy

from twin.config.schema import Closed
from twin.kernel import request as outcome
from twin.kernel.request import Request
from twin.kernel.rng import Draws
from twin.kernel.timer import call_later
from twin.workload.open_loop import Send
from twin.workload.service import Service


class User:
    __slots__ = ("group", "pod", "delay_s", "connected_at")
    waits = True  # told of each response: the next request follows it

    def __init__(self, group: "ClosedLoop") -> None:
        self.group = group
        self.pod = None
        self.delay_s = group.delay_s
        self.connected_at = 0.0

    def on_response(self, request: Request, kind: str, done: float) -> None:
        self.group.responded(self, kind, done)


class ClosedLoop:
    def __init__(self, env: simpy.Environment, spec: Closed, *, service: Service, send: Send, delay_s: float,
                 stop_s: float, think: Draws) -> None:
        self.env = env
        self.spec = spec
        self.service = service
        self.send = send
        self.delay_s = delay_s
        self.stop_s = stop_s
        self.think = think
        self.users = [User(self) for _ in range(spec.users)]
        self._pinned: dict[object, set[User]] = {}
        self._ttl_s = spec.connection_ttl_s or float("inf")

    def start(self, at: float) -> None:
        step = self.spec.ramp_up_s / len(self.users)
        for index, user in enumerate(self.users):
            call_later(self.env, at + index * step - self.env.now, self._issue, user)

    def _issue(self, event: simpy.Event) -> None:
        user = event.value
        now = self.env.now
        if now >= self.stop_s:
            return
        if user.pod is not None and now - user.connected_at >= self._ttl_s:
            self._pinned[user.pod].discard(user)  # too old to reuse: closed, and a new one balanced anew
            user.pod = None
        if user.pod is None:
            user.pod = self.service.connect()
            user.connected_at = now
            if user.pod is not None:
                self._pinned.setdefault(user.pod, set()).add(user)
        self.send(Request(now, user), user.pod)

    def responded(self, user: User, kind: str, done: float) -> None:
        wait = done - self.env.now + self._think_time()
        if kind == outcome.NO_ENDPOINT:
            wait += self.spec.reconnect_delay_s
        call_later(self.env, wait, self._issue, user)

    def _think_time(self) -> float:
        if self.spec.think_time_s <= 0:
            return 0.0
        factor = self.think.next() if self.spec.think_distribution == "exponential" else 1.0
        return self.spec.think_time_s * factor

    def reset(self, pod: object) -> None:
        """The pod's connections are gone: its users connect anew on their next request."""
        for user in self._pinned.pop(pod, ()):
            user.pod = None

    def connected_pods(self) -> int:
        return sum(1 for users in self._pinned.values() if users)
