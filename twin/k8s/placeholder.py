"""A placeholder pod: a pause container of low priority that holds a serving pod's requests, GPU included.

Fidelity ledger — upstream: Cluster Autoscaler FAQ "How can I configure overprovisioning with Cluster Autoscaler?"
(a Deployment of pause pods with a low-priority PriorityClass; real pods preempt them, the evicted ones go Pending
and the Cluster Autoscaler adds nodes for them), kubernetes/pause `pause.c` (SIGTERM and SIGINT end it at once).
Modelled: Pending until bound; bound, it runs at once and is Ready (no probe; the pause image is a few hundred KiB,
its pull is not modelled) and takes device-plugin units like any pod; deletion sends SIGTERM, which pause answers
by exiting, so it ends at once, whatever its `terminationGracePeriodSeconds` (the FAQ's manifest sets 0), and its
resources are free for the preemptor. It uses no CPU and no memory beyond its requests' reservation. Not modelled:
the kubelet's own latency in killing it.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import simpy

from twin.config.manifests import PlaceholderPods
from twin.k8s.pod import PENDING, RUNNING, TERMINATED, TERMINATING
from twin.kernel.timer import call_later

if TYPE_CHECKING:
    from twin.k8s.node import Node


class PausePod:
    EVENT = "placeholder"  # prefix of its events, apart from the serving pods' `pod_*`
    rss_mib = 0.0
    resize_status = ""
    last_oom = None  # pause uses no memory: never OOM-killed

    def __init__(self, env: simpy.Environment, *, name: str, spec: PlaceholderPods, log: Callable[..., None],
                 terminated: Callable[["PausePod"], None]) -> None:
        self.env = env
        self.name = name
        self.requests = dict(spec.requests)
        self.priority = spec.priority
        self.preemption_policy = spec.preemption_policy
        self.node_pool = spec.node_pool
        self._log = log
        self._terminated = terminated
        self.phase = PENDING
        self.node: Node | None = None
        self.nominated_node: str | None = None
        self.units: list = []
        self.ready = False
        self.created_at = env.now
        self.ready_changed_at = env.now
        self.bound_at: float | None = None

    def bind(self, node: "Node", *, ready: bool = False) -> None:
        """Bound is running: the pause container starts at once (`ready` is the same here)."""
        self.node = node
        self.bound_at = self.ready_changed_at = self.env.now
        for resource, amount in self.requests.items():
            if resource.startswith("nvidia.com/"):
                self.units += node.take_units(resource, int(amount), self)
        self.phase, self.ready = RUNNING, True
        self._log("placeholder_scheduled", pod=self.name, node=node.name)

    def delete(self) -> None:
        if self.phase in (TERMINATING, TERMINATED):
            return
        self.phase, self.ready = TERMINATING, False
        self._log("placeholder_deleting", pod=self.name)
        call_later(self.env, 0.0, self._end)  # after the deleting step: never from inside the scheduler's loop

    def _end(self, _event) -> None:
        self.phase = TERMINATED
        for unit in self.units:
            unit.pod = None
        self.units = []
        self._terminated(self)

    def limits(self) -> dict[str, float]:
        return {}

    def retry_resize(self) -> str:
        return ""
