"""Prometheus scraping the simulated targets: each TorchServe pod (:8082/metrics), the kubelet's cAdvisor view of
each pod, and DCGM on each GPU node — every `scrape_interval` at the target's own phase, into the series store.

Fidelity ledger — upstream: Prometheus 2.42 scrape loop (per-target offset within the interval, staleness markers
when a target disappears), TorchServe 0.12 metric names (prometheus mode), cAdvisor, dcgm-exporter.
Modelled: counters as the components keep them (TorchServe's reset when its container restarts); a target whose
container is down is not scraped and its series go stale. Not modelled: scrape timeouts and duration, relabelling,
honor_labels, recording rules, the DCGM collection cadence (it is sampled at scrape time).
"""
from __future__ import annotations

from typing import Callable

from twin.kernel.rng import Uniforms
from twin.kernel.timer import call_later
from twin.metrics.tsdb import SeriesStore

TORCHSERVE_COUNTERS = (
    ("ts_inference_requests_total", "requests"),
    ("ts_inference_latency_microseconds", "latency_us"),
    ("ts_queue_latency_microseconds", "queue_latency_us"),
    ("Requests2XX", "status_2xx"),
    ("Requests4XX", "status_4xx"),
    ("Requests5XX", "status_5xx"),
)
KUBELET_SERIES = ("container_cpu_usage_seconds_total", "container_memory_working_set_bytes")
DCGM_SERIES = ("DCGM_FI_DEV_GPU_UTIL", "DCGM_FI_DEV_FB_USED")


def torchserve_labels(pod: str, model_name: str) -> dict[str, str]:
    """TorchServe's own labels (model_name is the registered name) on Prometheus' target labels."""
    return {"namespace": "default", "pod": pod, "job": "torchserve", "model_name": model_name,
            "model_version": "default", "hostname": pod}


def kubelet_labels(pod: str) -> dict[str, str]:
    return {"namespace": "default", "pod": pod, "job": "kubelet", "container": "torchserve"}


def dcgm_labels(node: str, index: int, device: str) -> dict[str, str]:
    return {"job": "dcgm-exporter", "Hostname": node, "gpu": str(index), "device": device}


class Scraper:
    def __init__(self, world, store: SeriesStore, *, interval_s: float, uniforms: Uniforms, model_name: str) -> None:
        self.world = world
        self.model_name = model_name
        self.store = store
        self.interval_s = interval_s
        self.uniforms = uniforms
        self._watched: set[str] = set()
        self._gpu_busy: dict[str, tuple[float, float]] = {}  # accelerator -> (time, busy seconds) at last scrape

    def discover(self) -> None:
        """Service discovery: start scraping targets that appeared (called every second; a set lookup a target)."""
        watched = self._watched
        for pod in self.world.cluster.pods:
            if pod.name not in watched:
                self._watch(pod.name, lambda pod=pod: self._scrape_pod(pod))
        for node in self.world.cluster.nodes:
            if node.name not in watched and node.units:
                self._watch(node.name, lambda node=node: self._scrape_node(node))

    def _watch(self, name: str, scrape: Callable[[], bool]) -> None:
        self._watched.add(name)
        call_later(self.world.env, self.uniforms.next() * self.interval_s, self._loop, scrape)

    def _loop(self, event) -> None:
        if event.value():
            call_later(self.world.env, self.interval_s, self._loop, event.value)

    def _scrape_pod(self, pod) -> bool:
        """One scrape of the pod's targets; False once the pod is gone for good."""
        now = self.world.env.now
        torchserve = torchserve_labels(pod.name, self.model_name)
        server = pod.server
        if server is None:
            self._stale(TORCHSERVE_COUNTERS, torchserve, now)
        else:
            for metric, field in TORCHSERVE_COUNTERS:
                self.store.append(metric, torchserve, now, getattr(server.counters, field))
        kubelet = kubelet_labels(pod.name)
        cpu, memory = KUBELET_SERIES
        if pod.phase == "Terminated":
            self.store.mark_stale(cpu, kubelet, now)
            self.store.mark_stale(memory, kubelet, now)
            return False
        self.store.append(cpu, kubelet, now, pod.usage.cpu_seconds)
        self.store.append(memory, kubelet, now, pod.rss_mib * 2**20)
        return True

    def _stale(self, metrics, labels: dict, now: float) -> None:
        for metric, _ in metrics:
            self.store.mark_stale(metric, labels, now)

    def _scrape_node(self, node) -> bool:
        now = self.world.env.now
        if node not in self.world.cluster.nodes:
            return False
        for index, accelerator in enumerate(node.accelerators):
            accelerator.compute.settle()
            busy = accelerator.kernel_seconds  # DCGM_FI_DEV_GPU_UTIL is NVML's: time a kernel ran
            then, before = self._gpu_busy.get(accelerator.name, (now, busy))
            self._gpu_busy[accelerator.name] = (now, busy)
            utilisation = 100 * (busy - before) / (now - then) if now > then else 0.0
            labels = dcgm_labels(node.name, index, accelerator.name)
            util, used = DCGM_SERIES
            self.store.append(util, labels, now, utilisation)
            self.store.append(used, labels, now, accelerator.used_mib)
        return True
