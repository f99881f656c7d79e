"""The Kubernetes Service in front of the pods: kube-proxy balances connections, not requests.

Fidelity ledger — upstream: kube-proxy iptables/nftables mode (random endpoint per new connection), EndpointSlices
(Ready pods only). Modelled: a new connection goes to a Ready pod chosen uniformly at random; no Ready pod refuses
the connection. Not modelled: IPVS schedulers, session affinity, topology-aware routing, external LB health checks.
"""
from __future__ import annotations

from typing import Sequence

from twin.kernel.rng import Uniforms


class Service:
    __slots__ = ("_endpoints", "_uniforms")

    def __init__(self, endpoints: Sequence, uniforms: Uniforms) -> None:
        self._endpoints = endpoints  # the cluster's live list of Ready pods
        self._uniforms = uniforms

    def connect(self):
        """The pod a new connection lands on, or None when the Service has no Ready endpoint."""
        endpoints = self._endpoints
        if not endpoints:
            return None
        return endpoints[int(self._uniforms.next() * len(endpoints))]
