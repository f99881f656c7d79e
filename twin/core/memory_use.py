"""Pod memory against what the pods request, by the second after warm-up: what a memory policy (worker-driven
resize, the VPA) wastes and how long it leaves pods short.

A Running pod is short of memory while it uses more than it requests, or waits in CrashLoopBackOff after an OOM kill
(the twin's only restart); wasted memory is requested and unused, a pod in back-off wasting its whole request.
"""
from __future__ import annotations

from dataclasses import dataclass

from twin.k8s.pod import RUNNING

MIB = 2**20


@dataclass
class MemoryUse:
    warmup_s: float
    wasted_mib_s: float = 0.0
    short_s: float = 0.0
    longest_short_s: float = 0.0  # the longest stretch with some pod short
    last_short_at_s: float | None = None  # the last second some pod was short: minus a load step's time, the time
    # the deployment took to reach the right memory after it
    _stretch_s: float = 0.0

    def add(self, now: float, pods, tick_s: float) -> None:
        if now <= self.warmup_s:
            return
        short = False
        for pod in pods:
            request = pod.requests.get("memory")
            if pod.phase != RUNNING or request is None:
                continue
            self.wasted_mib_s += max(0.0, request / MIB - pod.rss_mib) * tick_s
            short = short or pod.rss_mib > request / MIB or pod.waiting_reason == "CrashLoopBackOff"
        self._stretch_s = self._stretch_s + tick_s if short else 0.0
        self.longest_short_s = max(self.longest_short_s, self._stretch_s)
        if short:
            self.short_s += tick_s
            self.last_short_at_s = now

    def summary(self, oom_kills: int) -> dict:
        return {"oom_kills": oom_kills, "wasted_gib_hours": self.wasted_mib_s / 1024 / 3600,
                "short_minutes": self.short_s / 60, "longest_short_s": self.longest_short_s,
                "last_short_at_s": self.last_short_at_s}
