"""KEDA as two reconcile steps, as it runs for real: the operator's scale loop every `pollingInterval` (0↔1, idle,
fallback) and the HPA it generates, which asks KEDA's metrics server for live trigger values at every HPA sync.
While the ScaledObject is paused the controller holds the paused count, the loop stops and the HPA is gone: its
syncs do nothing. (A step's spec is fixed for its life, so a pause lasts as long as the step.)
"""
from __future__ import annotations

from typing import Mapping

from twin.control.hpa_step import HpaStep
from twin.policies.hpa import sync as hpa
from twin.policies.keda import scaled_object as keda
from twin.policies.keda.fallback import external_triggers
from twin.ports import Decision, MetricsPort, MetricsUnavailable, Ports


class KedaStep:
    def __init__(self, spec: keda.ScaledObjectSpec, *, source: str, settings: hpa.HPAControllerSettings,
                 created_at: float = 0.0) -> None:
        self.spec = spec
        self.created_at = created_at
        self.state = keda.KedaState()
        generated = keda.generated_hpa_manifest(spec)
        self.hpa = HpaStep(hpa.hpa_from_manifest(generated, source), settings=settings, controller="keda-hpa",
                           external=self._served_to_hpa)
        self.last: keda.KedaDecision | None = None

    @property
    def polling_interval_s(self) -> float:
        return self.spec.polling_interval_s

    def poll(self, now: float, ports: Ports) -> list[Decision]:
        """The operator's scale loop: activation, scale to and from zero (or idle), fallback."""
        cluster, metrics = ports.cluster, ports.metrics
        current, _ = cluster.deployment_replicas()
        paused = keda.pause(self.spec, current_replicas=current)
        if paused is not None:
            self.last = paused
        else:
            ready = sum(1 for p in cluster.pods() if p.ready)
            self.last, self.state = keda.poll(self.spec, self.state, trigger_results=self._fetch(metrics),
                                              current_replicas=current, now=now, created_at=self.created_at,
                                              ready_replicas=ready)
        replicas = self.last.replicas
        if replicas is None or replicas == current:
            return []
        cluster.scale_deployment(replicas)
        reason = "paused-replicas" if paused else ("active" if self.last.is_active else "inactive past cooldownPeriod")
        return [Decision(now, "keda", "scale_deployment", self.spec.scale_target_ref.name, {"replicas": replicas},
                         reason)]

    def sync_hpa(self, now: float, ports: Ports) -> list[Decision]:
        """The generated HPA's sync; it reads the live trigger values through `_served_to_hpa`."""
        return [] if self.spec.annotations.paused else self.hpa.sync(now, ports)

    def _fetch(self, metrics: MetricsPort) -> dict[str, keda.TriggerResult]:
        results: dict[str, keda.TriggerResult] = {}
        for trigger in external_triggers(self.spec):
            try:
                values = [s.value for s in metrics.query(trigger.query)]
            except MetricsUnavailable as error:
                results[trigger.metric_name] = keda.TriggerError(str(error))
                continue
            results[trigger.metric_name] = keda.prometheus_value(values, ignore_null_values=trigger.ignore_null_values)
        return results

    def _served_to_hpa(self, now: float, ports: Ports) -> Mapping[str, hpa.MetricValues]:
        current, _ = ports.cluster.deployment_replicas()
        ready = sum(1 for p in ports.cluster.pods() if p.ready)
        values, self.state = keda.external_metric_values(self.spec, self.state,
                                                         trigger_results=self._fetch(ports.metrics),
                                                         current_replicas=current, ready_replicas=ready)
        return {name: hpa.MetricValues(error=value.message) if isinstance(value, keda.TriggerError)
                else hpa.MetricValues(values=(value,)) for name, value in values.items()}
