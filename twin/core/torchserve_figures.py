"""The twin's figures on TorchServe's own basis: what Prometheus gives from TorchServe's counters.

A run's end-to-end latency (the summary's `latency_ms`) is what a client sees: TorchServe's time plus the profile's
`frontend_ms` and the workload's `network_rtt_ms`, added outside the pod. A live shadow reads Prometheus instead, and
Prometheus only has TorchServe's counters: `ts_inference_latency_microseconds` (frontend accept to response),
`ts_queue_latency_microseconds` (accept to hand-off to a worker) and `Requests2XX/4XX/5XX`. These figures are those
counters' increases over the measured window, combined as the usual queries do
(`rate(ts_inference_latency_microseconds[w]) / rate(ts_inference_requests_total[w])`), so twin and cluster are scored
on one basis. A counter that went down (its container restarted) counts from zero, as `rate()` does.

Fidelity ledger — upstream: TorchServe 0.12 prometheus-mode counters (kept by twin/torchserve/server.py),
Prometheus 2.42 `rate()`. Modelled: the counters' increases over the window, resets. Not modelled: `rate()`'s
extrapolation to the window's edges, scrape timing (a run's window is exact; Prometheus' is sampled).
"""
from __future__ import annotations

import math

from twin.core.scraping import TORCHSERVE_COUNTERS

FIELDS = tuple(field for _, field in TORCHSERVE_COUNTERS)
Counts = dict[str, tuple[float, ...]]  # pod -> its counters' values, in FIELDS order


def snapshot(world) -> Counts:
    """Every running TorchServe's counters now, by pod."""
    return {pod.name: tuple(getattr(pod.server.counters, field) for field in FIELDS)
            for pod in world.cluster.pods if pod.server is not None}


def figures(start: Counts, end: Counts, window_s: float) -> dict[str, float]:
    """Mean latency and queue latency per request (ms) and request rates by status (req/s) over the window."""
    totals = dict.fromkeys(FIELDS, 0.0)
    for pod, values in end.items():
        before = start.get(pod, (0.0,) * len(FIELDS))
        for field, now, then in zip(FIELDS, values, before):
            totals[field] += now - then if now >= then else now
    requests = totals["requests"]
    per_request = (lambda us: us / requests / 1000.0) if requests else (lambda us: math.nan)
    return {"latency_ms": per_request(totals["latency_us"]),
            "queue_latency_ms": per_request(totals["queue_latency_us"]),
            "requests_rps": requests / window_s, "status_2xx_rps": totals["status_2xx"] / window_s,
            "status_4xx_rps": totals["status_4xx"] / window_s, "status_5xx_rps": totals["status_5xx"] / window_s}
