"""The HPA controller's sync as a reconcile step: observe through the ports, decide with `twin.policies.hpa.sync`, scale.

Resource metrics come as metrics-server serves them: a pod's CPU rate between its last two kubelet scrapes
(`irate` over the cAdvisor counter) and its working-set memory. Pods/Object/External metrics come from PromQL
queries named in the scenario (as a Prometheus adapter's rules would), or from KEDA for its generated HPA.
"""
from __future__ import annotations

from typing import Callable, Mapping

from twin.policies.hpa import sync as hpa
from twin.ports import Decision, MetricsPort, MetricsUnavailable, PodView, Ports

ExternalValues = Callable[[float, Ports], Mapping[str, hpa.MetricValues]]

RESOURCE_QUERIES = {
    "cpu": "sum by (pod) (irate(container_cpu_usage_seconds_total[2m]))",
    "memory": "sum by (pod) (container_memory_working_set_bytes)",
}


class HpaStep:
    def __init__(self, spec: hpa.HPASpec, *, settings: hpa.HPAControllerSettings, controller: str = "hpa",
                 queries: Mapping[str, str] | None = None, external: ExternalValues | None = None,
                 sample_window_s: float = 15.0) -> None:
        self.spec = spec
        self.settings = settings
        self.controller = controller
        self.queries = dict(queries or {})
        self.external = external
        self.sample_window_s = sample_window_s
        self.state = hpa.HPAState()
        self.last: hpa.HPADecision | None = None

    def sync(self, now: float, ports: Ports) -> list[Decision]:
        cluster, metrics = ports.cluster, ports.metrics
        spec_replicas, status_replicas = cluster.deployment_replicas()
        pods = cluster.pods()
        observation = hpa.HPAObservation(
            spec_replicas=spec_replicas, status_replicas=status_replicas,
            pods=tuple(self._pod(p, samples) for p, samples in self._pod_samples(pods, metrics, now)),
            metric_values=self._metric_values(now, ports),
        )
        self.last, self.state = hpa.reconcile(self.spec, self.state, observation, now=now, settings=self.settings)
        if not self.last.rescale:
            return []
        cluster.scale_deployment(self.last.desired_replicas)
        return [Decision(now, self.controller, "scale_deployment", self.spec.scale_target.name,
                         {"replicas": self.last.desired_replicas}, self.last.reason)]

    def _pod_samples(self, pods: list[PodView], metrics: MetricsPort, now: float):
        by_metric: dict[str, dict[str, float]] = {}
        for metric in self.spec.metrics:
            key = metric.key
            if key.source in ("Resource", "ContainerResource"):
                by_metric[key.sample_name] = by_pod(metrics, RESOURCE_QUERIES[key.name])
            elif key.source == "Pods" and key.name in self.queries:
                by_metric[key.sample_name] = by_pod(metrics, self.queries[key.name])
        for pod in pods:
            samples = {name: hpa.MetricSample(values[pod.name], timestamp=now, window=self.sample_window_s)
                       for name, values in by_metric.items() if pod.name in values}
            yield pod, samples

    @staticmethod
    def _pod(pod: PodView, samples: dict) -> hpa.PodObservation:
        """A pod with its containers when the port lists them (the HPA sums them), else its request totals."""
        requests = {"cpu": pod.requests.get("cpu", 0.0), "memory": pod.requests.get("memory", 0.0)}
        return hpa.PodObservation(
            name=pod.name, phase=pod.phase if pod.phase != "Terminating" else "Running", ready=pod.ready,
            start_time=pod.start_time, ready_transition_time=pod.ready_transition_time, deleting=pod.deleting,
            samples=samples, requests=requests, containers=pod.containers, init_containers=pod.init_containers,
            pod_requests=pod.pod_requests)

    def _metric_values(self, now: float, ports: Ports) -> dict[hpa.MetricKey, hpa.MetricValues]:
        metrics = ports.metrics
        external = self.external(now, ports) if self.external else {}
        values = {}
        for metric in self.spec.metrics:
            key = metric.key
            if key.source not in ("Object", "External"):
                continue
            if key.name in external:
                values[key] = external[key.name]
            elif key.name in self.queries:
                values[key] = _values(metrics, self.queries[key.name])
        return values


def by_pod(metrics: MetricsPort, query: str) -> dict[str, float]:
    try:
        return {s.labels.get("pod", ""): s.value for s in metrics.query(query)}
    except MetricsUnavailable:  # a failed query is a missing metric for the HPA, never a crash of the loop
        return {}


def _values(metrics: MetricsPort, query: str) -> hpa.MetricValues:
    try:
        return hpa.MetricValues(values=tuple(s.value for s in metrics.query(query)))
    except MetricsUnavailable as error:
        return hpa.MetricValues(error=str(error))
