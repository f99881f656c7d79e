"""The control plane inside the twin: Prometheus scraping, and each controller's reconcile step on its own period
and phase, talking to the world only through the ports. Every action lands in the decision log."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from twin.config import manifests
from twin.control.hpa_step import HpaStep
from twin.control.keda_step import KedaStep
from twin.control.nodes_step import AnticipatoryStep, ClusterAutoscalerStep
from twin.control.vpa_step import VpaStep
from twin.control.workers_step import WorkersStep
from twin.core import catalogue
from twin.core.scraping import Scraper
from twin.core.twin_ports import TwinPorts
from twin.kernel.rng import Uniforms
from twin.kernel.timer import call_later
from twin.metrics.tsdb import SeriesStore
from twin.policies import anticipatory, workers
from twin.policies.cluster_autoscaler import loop as ca
from twin.policies.hpa import sync as hpa
from twin.policies.keda import scaled_object as keda
from twin.policies.vpa import aggregate as vpa_aggregate
from twin.policies.vpa import estimator as vpa_estimator
from twin.policies.vpa import updater as vpa_updater
from twin.policies.vpa.recommender import Recommender
from twin.ports import Decision, Ports

Step = Callable[[float, Ports], list[Decision]]


class ControlPlane:
    def __init__(self, world) -> None:
        self.world = world
        scenario = world.scenario
        self.store = SeriesStore(retention_s=scenario.metrics.retention_s)
        twin_ports = TwinPorts(world, self.store, lookback_delta_s=scenario.metrics.lookback_delta_s)
        self.ports = Ports(cluster=twin_ports, torchserve=twin_ports, metrics=twin_ports)
        self.scraper = Scraper(world, self.store, interval_s=scenario.metrics.scrape_interval_s,
                               uniforms=Uniforms(world.rng("scrape")),
                               model_name=catalogue.served_model_name(scenario))
        self.decisions: list[Decision] = []
        self._phases = Uniforms(world.rng("controller-phases"))
        self.steps: dict[str, object] = {}
        self._build(scenario.autoscaling)

    def _build(self, autoscaling) -> None:
        scenario = self.world.scenario
        for periodic in policy_steps(autoscaling, scrape_interval_s=scenario.metrics.scrape_interval_s,
                                     node_pools=scenario.node_pools):
            self.steps.setdefault(periodic.name, periodic.owner)
            self.every(periodic.period_s, periodic.step)
        if autoscaling.vpa is not None:  # the admission controller: in the twin, new pods get the recommendation
            self.world.cluster.admission = self.steps["vpa"].admit
        if autoscaling.cluster is not None:
            self._build_node_autoscaling(autoscaling.cluster)

    def _build_node_autoscaling(self, section) -> None:
        groups = tuple(_node_group(pool, self.world.cluster) for pool in self.world.scenario.node_pools)
        settings = ca.CASettings(**section.settings)
        step = ClusterAutoscalerStep(ca.CASpec(groups), settings)
        self.steps["cluster-autoscaler"] = step
        self.every(settings.scan_interval_s, step.sync)

    def every(self, period_s: float, step: Step) -> None:
        """Run `step` every `period_s`, first at a random phase within the period (controllers start unaligned)."""

        def run(_event) -> None:
            self.decisions.extend(step(self.world.env.now, self.ports))
            call_later(self.world.env, period_s, run)

        call_later(self.world.env, self._phases.next() * period_s, run)

    def tick(self) -> None:
        """Once a simulated second: service discovery for the scraper."""
        self.scraper.discover()


@dataclass(frozen=True)
class Periodic:
    name: str  # the controller
    period_s: float
    step: Step
    owner: object  # the step object, whose state tests and reports read


def policy_steps(autoscaling, *, scrape_interval_s: float, node_pools=()) -> list[Periodic]:
    """The controllers that need only ports (HPA, KEDA, VPA, worker autoscaling, the anticipatory placeholders): the
    same objects run in the twin and, on a wall clock, against a live cluster."""
    steps = []
    if autoscaling.hpa is not None:
        section = autoscaling.hpa
        spec = hpa.hpa_from_manifest(section.manifest.object, section.manifest.source)
        step = HpaStep(spec, settings=_hpa_settings(section.sync_period_s, section.tolerance,
                                                    section.downscale_stabilization_s),
                       queries=section.queries, sample_window_s=scrape_interval_s)
        steps.append(Periodic("hpa", section.sync_period_s, step.sync, step))
    if autoscaling.keda is not None:
        section = autoscaling.keda
        spec = keda.scaledobject_from_manifest(section.manifest.object, section.manifest.source)
        step = KedaStep(spec, source=section.manifest.source,
                        settings=_hpa_settings(section.hpa_sync_period_s, 0.1, 300.0))
        steps += [Periodic("keda", step.polling_interval_s, step.poll, step),
                  Periodic("keda", section.hpa_sync_period_s, step.sync_hpa, step)]
    if autoscaling.vpa is not None:
        step = vpa_step(autoscaling.vpa)
        steps += [Periodic("vpa", autoscaling.vpa.recommender_interval_s, step.recommend, step),
                  Periodic("vpa", step.updater.interval_s, step.update, step)]
    if autoscaling.workers is not None:
        section = autoscaling.workers
        step = WorkersStep(workers.WorkerPolicy(**section.policy), resize_memory=section.resize_memory,
                           window=section.window)
        steps.append(Periodic("workers", section.period_s, step.sync, step))
    cluster = autoscaling.cluster
    if cluster is not None and cluster.anticipatory is not None and cluster.placeholders is not None:
        step = AnticipatoryStep(_anticipation(cluster.anticipatory, node_pools),
                                target=manifests.name_of(cluster.placeholders.deployment.object))
        steps.append(Periodic("anticipatory", ca.CASettings(**cluster.settings).scan_interval_s, step.sync, step))
    return steps


def vpa_step(section) -> VpaStep:
    """The VPA of a scenario's `autoscaling.vpa`: its manifest and the recommender's and updater's flags."""
    recommender = Recommender.from_manifest(
        section.manifest.object, section.manifest.source,
        config=vpa_estimator.RecommenderConfig(**section.recommender),
        aggregation=vpa_aggregate.AggregationConfig(**section.aggregation))
    return VpaStep(recommender, vpa_updater.UpdaterConfig(**section.updater))


def _anticipation(fields: dict, node_pools) -> anticipatory.Anticipation:
    """The lead time, unless given, is the pool's: provisioning, then the GPU driver and device plugin."""
    pool = next((p for p in node_pools if p.name == fields["group"]), None)
    lead = 0.0 if pool is None else pool.autoscaling.provision_s + (pool.autoscaling.gpu_ready_s if pool.gpus else 0.0)
    return anticipatory.Anticipation(**{"lead_time_s": lead, **fields})


def _node_group(pool, cluster) -> ca.NodeGroup:
    """A pool as the Cluster Autoscaler sees it: limits, price and a template node's allocatable."""
    template = cluster.template(pool)
    return ca.NodeGroup(pool.name, pool.autoscaling.min_count, pool.autoscaling.max_count,
                        ca.NodeTemplate(template), pool.price_per_hour)


def _hpa_settings(sync_period_s: float, tolerance: float, downscale_s: float) -> hpa.HPAControllerSettings:
    return hpa.HPAControllerSettings(sync_period=sync_period_s, tolerance=tolerance,
                                     downscale_stabilization_window=downscale_s)
