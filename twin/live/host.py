"""What the machine did during an observed step: its load average and the CPU its processes used.

Fidelity ledger (upstream: Linux /proc as psutil 5 reads it; htop 3 conventions):
- Modelled: the host's 1-minute load average at the step's end (the kernel's exponentially damped count of runnable
  and uninterruptible tasks, `os.getloadavg`); CPU use over the step in % of one core (htop's convention: 200 % is
  two busy cores) for the whole host, for the TorchServe server's processes (the JVM listening on the inference port
  and its descendants, the Python workers) and for this process (the load generator). What is left over is other
  work sharing the node: a busy neighbour shows in the data instead of silently slowing the server, and
  `background_threads` estimates it as runnable threads: the load average's share in proportion to the CPU the other
  work took (under fair sharing every runnable thread gets an equal share, so threads split as their CPU does).
- Only for a server on this machine (a loopback URL) whose processes this user can see; otherwise the server's share
  is blank. Not modelled: per-core readings, steal time, processes that start or end during the step (their CPU is
  left out, so a worker that ends mid-step never makes the reading negative).
psutil comes with the `live` extra; without it only the load average is recorded.
"""
from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

LOOPBACK = ("127.0.0.1", "localhost", "::1")


@dataclass(frozen=True)
class HostUse:
    load_1m: float | None
    host_cpu_pct: float | None
    server_cpu_pct: float | None
    client_cpu_pct: float | None

    @property
    def background_threads(self) -> float | None:
        if None in (self.load_1m, self.host_cpu_pct, self.server_cpu_pct) or self.host_cpu_pct <= 0:
            return None
        others = max(0.0, self.host_cpu_pct - self.server_cpu_pct - (self.client_cpu_pct or 0.0))
        return self.load_1m * others / self.host_cpu_pct


class HostProbe:
    """Started before a step, finished after it."""

    def __init__(self, inference_url: str) -> None:
        self._psutil = _psutil()
        self._server = _server_processes(self._psutil, inference_url) if self._psutil else []
        self._begun = time.monotonic()
        self._host = self._host_busy()
        self._server_s = self._server_cpu_s() or {}
        self._client_s = _own_cpu_s()

    def finish(self) -> HostUse:
        wall = max(1e-9, time.monotonic() - self._begun)
        host = self._host_busy()
        server = self._server_cpu_s()
        if server is not None:  # per process, over those that lived through the step: one that ended is left out
            server = sum(server[pid] - self._server_s[pid] for pid in server.keys() & self._server_s.keys())
        return HostUse(
            load_1m=os.getloadavg()[0] if hasattr(os, "getloadavg") else None,
            host_cpu_pct=None if host is None else 100 * (host - self._host) / wall,
            server_cpu_pct=None if server is None else 100 * server / wall,
            client_cpu_pct=100 * (_own_cpu_s() - self._client_s) / wall)

    def _host_busy(self) -> float | None:
        if self._psutil is None:
            return None
        times = self._psutil.cpu_times()
        return sum(times) - times.idle - getattr(times, "iowait", 0.0)

    def _server_cpu_s(self) -> dict[int, float] | None:
        """CPU-seconds of each server process still running (by pid)."""
        if not self._server:
            return None
        seconds = {}
        for process in self._server:
            with contextlib.suppress(self._psutil.Error):
                times = process.cpu_times()
                seconds[process.pid] = times.user + times.system
        return seconds


def _psutil():
    try:
        import psutil
    except ImportError:
        return None
    return psutil


def _server_processes(psutil, url: str) -> list:
    """The process listening on the URL's port and its descendants, for a loopback URL; else none."""
    parts = urlsplit(url)
    if parts.hostname not in LOOPBACK:
        return []
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        listeners = [c.pid for c in psutil.net_connections(kind="tcp")
                     if c.status == psutil.CONN_LISTEN and c.laddr and c.laddr.port == port and c.pid]
        if not listeners:
            return []
        root = psutil.Process(listeners[0])
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _own_cpu_s() -> float:
    times = os.times()
    return times.user + times.system
