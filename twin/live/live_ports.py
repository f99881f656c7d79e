"""The ports of twin.ports over a live cluster: reads go straight to the APIs, every write goes through the gate.

The control steps cannot tell these from the twin's ports: they read views, and their writes come back as
decisions. Here a write first meets the guardrails, the target-state check and the journal (twin.live.gate).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import Callable, Mapping

from twin.errors import InputError
from twin.live import torchserve_api as ts
from twin.live.failures import ApiFailure
from twin.live.gate import Gate, Outcome
from twin.live.guardrails import Write
from twin.ports import NodeView, PodView, WorkersView

EndpointFor = Callable[[str], "ts.Endpoint | None"]  # pod name -> its management API (None: unknown pod)


@dataclass
class TorchServeFleet:
    """TorchServe's management API of every pod of one model."""

    model: str
    endpoint_for: EndpointFor

    def describe(self, pod: str) -> WorkersView | None:
        try:
            return ts.workers_view(self._describe(pod))
        except ApiFailure:
            return None

    def workers(self, pod: str) -> dict[str, int]:
        description = self._describe(pod)
        return {"min_worker": int(description.get("minWorkers", 0)), "max_worker": int(description.get("maxWorkers", 0))}

    def request_workers(self, pod: str, min_workers: int, max_workers: int) -> None:
        _calling(lambda: ts.request_workers(self._endpoint(pod), self.model, min_workers, max_workers))

    def _describe(self, pod: str) -> dict:
        return _calling(lambda: ts.describe(self._endpoint(pod), self.model)[1])

    def _endpoint(self, pod: str) -> ts.Endpoint:
        endpoint = self.endpoint_for(pod)
        if endpoint is None:
            raise ApiFailure(f"no TorchServe management address for pod {pod}")
        return endpoint


def _calling(call):
    """TorchServe's errors as ApiFailure: a user-facing InputError (404, bad key, no answer) is a failed call here."""
    try:
        return call()
    except InputError as error:
        raise ApiFailure(str(error)) from None


@dataclass
class GuardedTorchServe:
    fleet: TorchServeFleet
    gate: Gate
    namespace: str
    deployment: str

    def describe(self, pod: str) -> WorkersView | None:
        return self.fleet.describe(pod)

    def scale_workers(self, pod: str, min_workers: int, max_workers: int) -> bool:
        write = Write("scale_workers", self.namespace, f"pod/{pod}",
                      {"min_worker": min_workers, "max_worker": max_workers}, owner=f"deployment/{self.deployment}")
        outcome = self.gate.apply(write, current=lambda: self.fleet.workers(pod),
                                  send=lambda v: self.fleet.request_workers(pod, int(v["min_worker"]),
                                                                            int(v["max_worker"])))
        return outcome.status in ("applied", "unchanged")


@dataclass
class GuardedCluster:
    """Reads from the Kubernetes port; scale (the placeholders' too), resize and ScaledObject patches through the
    gate; node actions and evictions are advice (the gate refuses them and records what the policy wanted). A
    resize the kubelet then defers or finds infeasible is noticed when the pods are read, and recorded once."""

    kube: object  # twin.live.kubernetes_port.KubernetesCluster
    gate: Gate
    namespace: str
    deployment: str
    _resizes: dict[str, str] = field(default_factory=dict)  # pod -> the pending resize state last reported

    def deployment_replicas(self) -> tuple[int, int]:
        return self.kube.deployment_replicas()

    def pods(self) -> list[PodView]:
        views = self.kube.pods()
        for view in views:
            self._notice_resize(view)
        return views

    def nodes(self) -> list[NodeView]:
        return self.kube.nodes()

    def pending_pods(self) -> list[PodView]:
        return self.kube.pending_pods()

    def upcoming_nodes(self) -> Mapping[str, int]:
        return self.kube.upcoming_nodes()

    def placeholder_replicas(self) -> int:
        return self.kube.placeholder_replicas()

    def placeholder_pods(self) -> list[PodView]:
        return self.kube.placeholder_pods()

    def scale_placeholders(self, replicas: int) -> None:
        """Nodes ahead of demand, as a write like any other: the placeholder Deployment's replicas."""
        self.gate.apply(Write("scale_placeholders", self.namespace, f"deployment/{self.kube.placeholders}",
                              {"placeholder_replicas": replicas}),
                        current=lambda: {"placeholder_replicas": self.kube.placeholder_replicas()},
                        send=lambda v: self.kube.scale_placeholders(int(v["placeholder_replicas"])))

    def scale_deployment(self, replicas: int) -> None:
        self.gate.apply(Write("scale_deployment", self.namespace, f"deployment/{self.deployment}",
                              {"replicas": replicas}),
                        current=lambda: {"replicas": self.kube.deployment_replicas()[0]},
                        send=lambda v: self.kube.scale_deployment(int(v["replicas"])))

    def resize_pod(self, pod: str, requests: Mapping[str, float], limits: Mapping[str, float]) -> str:
        memory = limits.get("memory", requests.get("memory"))
        write = Write("resize_pod", self.namespace, f"pod/{pod}", {"memory_bytes": memory},
                      owner=f"deployment/{self.deployment}")
        outcome = self.gate.apply(write, current=lambda: {"memory_bytes": self._memory_limit(pod)},
                                  send=lambda v: self.kube.resize_pod(pod, {"memory": v["memory_bytes"]},
                                                                      {"memory": v["memory_bytes"]}))
        return "" if outcome.status in ("applied", "unchanged") else outcome.status

    def patch_scaled_object(self, name: str, fields: Mapping[str, float | int | str]) -> Outcome:
        """Set ScaledObject fields given as dotted paths (`spec.minReplicaCount`,
        `spec.triggers.0.metadata.threshold`) to target values."""
        return self.gate.apply(Write("patch_scaled_object", self.namespace, f"scaledobject/{name}", dict(fields)),
                               current=lambda: _dotted(self.kube.scaled_object(name), fields),
                               send=lambda v: self.kube.patch_scaled_object(name, _patch(self.kube.scaled_object(name), v)))

    def add_nodes(self, pool: str, count: int) -> None:
        self.gate.apply(Write("add_nodes", self.namespace, f"nodepool/{pool}", {"count": count}),
                        current=dict, send=lambda v: None)

    def remove_node(self, node: str) -> None:
        self.gate.apply(Write("remove_node", self.namespace, f"node/{node}", {"removed": 1}),
                        current=dict, send=lambda v: None)

    def evict_pod(self, pod: str) -> None:
        self.gate.apply(Write("evict_pod", self.namespace, f"pod/{pod}", {"evicted": 1},
                              owner=f"deployment/{self.deployment}"), current=dict, send=lambda v: None)

    def _memory_limit(self, pod: str) -> float | None:
        """The limit the spec asks for: a resize the kubelet has not run yet is still held, never sent again."""
        return self.kube.desired_memory_limit(pod)

    def _notice_resize(self, view: PodView) -> None:
        """A resize the kubelet defers or cannot fit, once per pod and state: journaled, and reported as an outcome."""
        pending = view.resize_status if view.resize_status in ("Deferred", "Infeasible") else ""
        if self._resizes.get(view.name, "") == pending:
            return
        self._resizes[view.name] = pending
        if pending:
            try:
                asked = self.kube.desired_memory_limit(view.name)
            except ApiFailure:
                asked = None  # gone since: the state is still worth reporting
            write = Write("resize_pod", self.namespace, f"pod/{view.name}", {"memory_bytes": asked},
                          owner=f"deployment/{self.deployment}")
            self.gate.notice(write, pending.lower(), f"resize {pending}: the kubelet runs "
                                                     f"{view.limits.get('memory')} bytes, not the {asked} asked")


def _dotted(document: Mapping, fields: Mapping) -> dict:
    """The current values at the dotted paths (absent paths are left out, so they never count as reached)."""
    found = {}
    for path in fields:
        node = document
        for part in path.split("."):
            node = node[int(part)] if isinstance(node, list) and part.isdigit() and int(part) < len(node) \
                else node.get(part) if isinstance(node, Mapping) else None
            if node is None:
                break
        if node is not None:
            found[path] = node
    return found


def _patch(document: Mapping, fields: Mapping) -> dict:
    """A merge patch setting each dotted path. A merge patch replaces a list whole, so a path through a list (a
    trigger) sends that whole list, edited; KEDA trigger metadata are strings."""
    edited = copy.deepcopy(dict(document))
    patch: dict = {}
    for path, value in fields.items():
        parts = path.split(".")
        node, out = edited, patch
        for part in parts[:-1]:
            node = node[int(part)] if isinstance(node, list) else node.setdefault(part, {})
            if isinstance(node, list):
                out[part] = node  # the edits below land in this list, which goes out whole
                out = None
            elif out is not None:
                out = out.setdefault(part, {})
        text = str(value) if "metadata" in parts else value
        if isinstance(node, list):
            node[int(parts[-1])] = text
        else:
            node[parts[-1]] = text
        if out is not None:
            out[parts[-1]] = text
    return patch
