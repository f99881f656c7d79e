"""The bookkeeping a long run must keep, checked rather than assumed (benchmarks/soak.py, tests/core/test_soak.py).

Every request sent is answered (served or failed) or still in flight, and in flight is counted where requests are
held — job queues, batches being collected, batches running — not by subtraction, so a request that a code path
drops (or answers twice) breaks the identity. Counters that only go up and down in pairs (busy workers, memory) are
never negative, and the clock never goes back.
"""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Ledger:
    time_s: float
    arrived: int  # every request sent, warm-up included
    served: int  # answered 200
    failed: int  # answered with an error (503, 500, reset, refused, ...)
    in_flight: int  # held by some pod's TorchServe at `time_s`

    @property
    def balanced(self) -> bool:
        return self.arrived == self.served + self.failed + self.in_flight


def ledger(world) -> Ledger:
    recorder = world.recorder
    return Ledger(time_s=world.env.now, arrived=recorder.arrived, served=recorder.answered_ok,
                  failed=recorder.answered_failed, in_flight=sum(_held(pod.server) for pod in world.cluster.pods
                                                                  if pod.server is not None))


def _held(server) -> int:
    """Requests in the job queue, plus those in a worker's batch (being collected under the lock, or running)."""
    return len(server.queue) + sum(len(worker.batch) for worker in server.workers.all if worker.batch)


def violations(world) -> list[str]:
    """What is wrong with the world's state now (nothing: an empty list)."""
    found = []
    book = ledger(world)
    if not book.balanced:
        found.append(f"requests: arrived {book.arrived} != served {book.served} + failed {book.failed} "
                     f"+ in flight {book.in_flight}")
    for pod in world.cluster.pods:
        if pod.rss_mib < 0:
            found.append(f"pod {pod.name}: host memory {pod.rss_mib:g} MiB")
        server = pod.server
        if server is not None and server.busy != sum(1 for w in server.workers.all if w.job is not None):
            found.append(f"pod {pod.name}: {server.busy} busy workers counted, "
                         f"{sum(1 for w in server.workers.all if w.job is not None)} running a batch")
    for node in world.cluster.nodes:
        if node.rss_mib < 0:
            found.append(f"node {node.name}: host memory {node.rss_mib:g} MiB")
        found += [f"{a.name}: GPU memory {a.used_mib:g} MiB" for a in node.accelerators if a.used_mib < 0]
    return found


def series_violations(columns: dict[str, list[float]]) -> list[str]:
    """What the per-second time series shows going wrong at any second: the clock going back, a negative count."""
    found = []
    times = columns["time_s"]
    back = next((i for i in range(1, len(times)) if times[i] <= times[i - 1]), None)
    if back is not None:
        found.append(f"clock: {times[back]:g} s after {times[back - 1]:g} s")
    for name in ("queued", "busy_workers", "workers", "pods", "gpu_memory_mib", "host_memory_mib"):
        low = min(columns[name], default=0)
        if low < 0:
            found.append(f"{name}: {low:g} at {times[columns[name].index(low)]:g} s")
    return found
