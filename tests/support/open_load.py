"""Open-loop load on the pods of a Deployment: Poisson arrivals, each request on a new connection to a Ready pod.

Each connection lands on a Ready pod chosen uniformly at random, as kube-proxy's iptables mode sends a new connection
(twin/workload/service.py models the same); a request per connection, so the load spreads over the pods the moment
a new one is Ready. Arrival times come from a seeded generator; the set of Ready pods is read before each request.
"""
from __future__ import annotations

import asyncio
import random
import threading
from typing import Callable

import aiohttp


class PoissonLoad(threading.Thread):
    def __init__(self, *, rate_rps: float, duration_s: float, endpoints: Callable[[], list[str]], model: str,
                 seed: int = 1) -> None:
        super().__init__(daemon=True)
        self.rate_rps, self.duration_s, self.endpoints, self.model = rate_rps, duration_s, endpoints, model
        self.random = random.Random(seed)
        self.statuses: list[int] = []

    def run(self) -> None:
        asyncio.run(self._load())

    async def _load(self) -> None:
        loop = asyncio.get_running_loop()
        end = loop.time() + self.duration_s
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(force_close=True, limit=0)) as session:
            sent = []
            at = loop.time()
            while at < end:
                await asyncio.sleep(max(0.0, at - loop.time()))
                sent.append(asyncio.create_task(self._send(session)))
                at += self.random.expovariate(self.rate_rps)
            await asyncio.gather(*sent)

    async def _send(self, session: aiohttp.ClientSession) -> None:
        ready = self.endpoints()
        if not ready:
            self.statuses.append(0)
            return
        url = f"{self.random.choice(ready)}/predictions/{self.model}"
        try:
            async with session.post(url, data=b"x", headers={"Content-Type": "text/plain"},
                                    timeout=aiohttp.ClientTimeout(total=30)) as response:
                await response.read()
                self.statuses.append(response.status)
        except (aiohttp.ClientError, asyncio.TimeoutError):
            self.statuses.append(0)
