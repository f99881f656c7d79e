"""Wire the live adapter from its settings: API clients, the gate in the chosen mode, and the ports over them."""
from __future__ import annotations

from dataclasses import dataclass

from twin.errors import InputError
from twin.live import kubernetes_port as kube, torchserve_api as ts
from twin.live.gate import MODES, Gate, Halt
from twin.live.guardrails import Review
from twin.live.journal import Journal
from twin.live.live_ports import GuardedCluster, GuardedTorchServe, TorchServeFleet
from twin.live.prometheus_api import PrometheusApi
from twin.live.settings import LiveSettings
from twin.ports import Ports


@dataclass
class Connection:
    settings: LiveSettings
    gate: Gate
    kube: kube.KubernetesCluster
    fleet: TorchServeFleet
    prometheus: PrometheusApi
    cluster: GuardedCluster
    torchserve: GuardedTorchServe

    @property
    def ports(self) -> Ports:
        return Ports(cluster=self.cluster, torchserve=self.torchserve, metrics=self.prometheus)


def connect(settings: LiveSettings, *, mode: str, api_client=None) -> Connection:
    """`api_client`: an official-client ApiClient to use instead of the settings' kubeconfig (tests, notebooks)."""
    if mode not in MODES:
        raise InputError("--mode", "", f"one of {', '.join(MODES)}", mode)
    c = settings.cluster
    client = api_client or kube.api_client(kubeconfig=str(settings.path(c.kubeconfig)) if c.kubeconfig else None,
                                           context=c.context)
    cluster_api = kube.KubernetesCluster(client, namespace=c.namespace, deployment=c.deployment,
                                         container=c.container, node_pool_label=c.node_pool_label,
                                         timeout_s=c.request_timeout_s, placeholders=c.placeholders)
    journal = Journal(None if mode == "shadow" else settings.path(settings.journal))
    gate = Gate(mode, Review(settings.guardrails), journal, halt=Halt(settings.path(settings.stop_file)))
    fleet = TorchServeFleet(settings.torchserve.model, _endpoints(settings, cluster_api))
    return Connection(settings, gate, cluster_api, fleet,
                      PrometheusApi(settings.prometheus.url, timeout_s=settings.prometheus.timeout_s),
                      GuardedCluster(cluster_api, gate, c.namespace, c.deployment),
                      GuardedTorchServe(fleet, gate, c.namespace, c.deployment))


def _endpoints(settings: LiveSettings, cluster_api: kube.KubernetesCluster):
    """Each pod's management API: one configured URL for all, or the pod's own IP and the management port."""
    keys = _key_file(settings)
    if settings.torchserve.management:
        single = ts.Endpoint(settings.torchserve.management, keys=keys)
        return lambda pod: single
    port = settings.torchserve.management_port

    def endpoint_for(pod: str) -> ts.Endpoint | None:
        address = cluster_api.pod_ip(pod)
        return ts.Endpoint(f"http://{address}:{port}", keys=keys) if address else None

    return endpoint_for


def _key_file(settings: LiveSettings) -> ts.KeyFile | None:
    """The management key, read now (a bad file stops here) and renewed when TorchServe refuses it."""
    if settings.torchserve.token_file is None:
        return None
    return ts.KeyFile(settings.path(settings.torchserve.token_file))
