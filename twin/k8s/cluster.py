"""The cluster: nodes, the Deployment's pods, the scheduler, and the Service's endpoints.

Fidelity ledger — upstream: kube-scheduler (NodeResourcesFit + LeastAllocated scoring), ReplicaSet controller
(which pods go first on scale-down), EndpointSlice controller, kube-proxy.
Modelled: a pod waits `schedule_s`, then binds to the feasible node with the most free cpu/memory share (ties: the
first node), or stays Pending and is retried whenever capacity changes; scale-down deletes unscheduled, then
not-ready, then the newest pods first; the Service lists Ready pods only, and kube-proxy picks an endpoint uniformly at
random per new connection. Not modelled: affinity, taints, topology spread, PodDisruptionBudgets.
"""
from __future__ import annotations

from typing import Callable

import simpy

from twin.config.schema import Deployment, ModelProfile, NodePool
from twin.k8s.node import Node
from twin.k8s.pod import PENDING, RUNNING, TERMINATED, Pod, PodHooks
from twin.kernel.rng import Draws
from twin.kernel.timer import call_later


class Cluster:
    def __init__(self, env: simpy.Environment, *, profile: ModelProfile, deployment: Deployment,
                 log: Callable[..., None], draws_for: Callable[[str], Draws], respond: Callable,
                 connections_reset: Callable[[Pod], None]) -> None:
        self.env = env
        self.profile = profile
        self.deployment = deployment
        self.log = log
        self.draws_for = draws_for
        self.hooks = PodHooks(respond=respond, log=log, readiness_changed=self.readiness_changed,
                              connections_reset=connections_reset, terminated=self.terminated,
                              node_memory_grew=self.node_memory_grew)
        self.nodes: list[Node] = []
        self.pods: list[Pod] = []  # not yet terminated
        self.endpoints: list[Pod] = []  # Ready pods, in the order they became ready
        self._pending: list[Pod] = []
        self._names: dict[str, int] = {}
        self.replicas = 0
        self.removed_nodes: list[Node] = []
        self.upcoming: dict[str, int] = {}  # nodes requested from the cloud, not yet registered, by pool
        # A mutating admission webhook on pod creation: (requests, limits) -> (requests, limits)
        self.admission: Callable[[dict, dict], tuple[dict, dict]] | None = None

    # --- nodes ------------------------------------------------------------------------------------------------
    def add_node(self, pool: NodePool, *, devices_delay_s: float = 0.0) -> Node:
        node = Node(self.env, name=self._name(pool.name), pool=pool, profile=self.profile,
                    devices_ready_at=self.env.now + devices_delay_s if pool.gpus else None)
        self.nodes.append(node)
        self.log("node_added", node=node.name, pool=pool.name)
        self._schedule_pending()
        if pool.gpus and devices_delay_s > 0:
            call_later(self.env, devices_delay_s, self._devices_ready, node)
        return node

    def provision(self, pool: NodePool, count: int) -> None:
        """Cloud provisioning: each node registers after the pool's provisioning delay, then waits for its GPUs."""
        self.upcoming[pool.name] = self.upcoming.get(pool.name, 0) + count
        self.log("nodes_requested", pool=pool.name, count=count)
        for _ in range(count):
            call_later(self.env, pool.autoscaling.provision_s, self._registered, pool)

    def _registered(self, event: simpy.Event) -> None:
        pool = event.value
        self.upcoming[pool.name] -= 1
        self.add_node(pool, devices_delay_s=pool.autoscaling.gpu_ready_s)

    def _devices_ready(self, event: simpy.Event) -> None:
        node = event.value
        if node in self.nodes:
            self.log("node_gpus_ready", node=node.name)
            self._schedule_pending()

    def remove_node(self, node: Node) -> None:
        """Drain and delete: its pods go, and the ReplicaSet replaces them elsewhere."""
        for pod in list(node.pods):
            pod.delete()
        node.removed_at = self.env.now
        self.nodes.remove(node)
        self.removed_nodes.append(node)
        self.log("node_removed", node=node.name)
        self.scale(self.replicas)

    def template(self, pool: NodePool) -> dict[str, float]:
        """What a new node of `pool` will offer (the Cluster Autoscaler's template node)."""
        probe = Node(self.env, name=f"{pool.name}-template", pool=pool, profile=self.profile)
        return dict(probe.allocatable)

    def _name(self, prefix: str) -> str:
        index = self._names.get(prefix, 0)
        self._names[prefix] = index + 1
        return f"{prefix}-{index}"

    # --- the Deployment ---------------------------------------------------------------------------------------
    def scale(self, replicas: int, *, ready: bool = False) -> None:
        """Set the Deployment's replicas, as its ReplicaSet would. `ready` places new pods at once, up and Ready
        (the state before a load test starts); those that fit nowhere stay Pending."""
        self.replicas = replicas
        live = [p for p in self.pods if p.phase in (PENDING, RUNNING)]
        if len(live) < replicas:
            for _ in range(replicas - len(live)):
                pod = self._create_pod(schedule=not ready)
                if ready and not self._bind(pod, ready=True):
                    self._pending.append(pod)
                    self.log("pod_unschedulable", pod=pod.name, reason=self.why_unschedulable(pod))
        else:
            for pod in sorted(live, key=self._deletion_cost)[: len(live) - replicas]:
                self.delete_pod(pod)

    @staticmethod
    def _deletion_cost(pod: Pod) -> tuple:
        return (pod.node is not None, pod.ready, -pod.created_at)

    def _create_pod(self, *, schedule: bool = True) -> Pod:
        name = self._name(self.deployment.name)
        pod = Pod(self.env, name=name, deployment=self.deployment, profile=self.profile,
                  draws=self.draws_for(name), hooks=self.hooks)
        if self.admission is not None:
            pod.admit(*self.admission(dict(pod.requests), pod.limits()))
        self.pods.append(pod)
        self.log("pod_created", pod=name)
        if schedule:
            call_later(self.env, self.deployment.startup.schedule_s, self._try_bind, pod)
        return pod

    def delete_pod(self, pod: Pod) -> None:
        if pod in self._pending:
            self._pending.remove(pod)
        pod.delete()

    def _try_bind(self, event: simpy.Event) -> None:
        pod = event.value
        if pod.phase == PENDING and pod.node is None and not self._bind(pod):
            self._pending.append(pod)
            self.log("pod_unschedulable", pod=pod.name, reason=self.why_unschedulable(pod))

    def _bind(self, pod: Pod, *, ready: bool = False) -> bool:
        pool = self.deployment.node_pool
        feasible = [n for n in self.nodes if (pool is None or n.pool.name == pool) and n.fits(pod.requests)]
        if not feasible:
            return False
        node = max(feasible, key=lambda n: n.free_fraction(pod.requests))
        node.pods.append(pod)
        pod.bind(node, ready=ready)
        return True

    def _schedule_pending(self) -> None:
        for pod in list(self._pending):
            if self._bind(pod):
                self._pending.remove(pod)

    def why_unschedulable(self, pod: Pod) -> str:
        """The scheduler's FailedScheduling message: each reason a node does not fit, counted over the nodes
        (kube-scheduler's FitError; a node outside the node selector is filtered before its resources are)."""
        if not self.nodes:
            return "no nodes available to schedule pods"
        pool = self.deployment.node_pool
        counts: dict[str, int] = {}
        for node in self.nodes:
            reasons = ["node(s) didn't match Pod's node affinity/selector"] if pool not in (None, node.pool.name) \
                else [f"Insufficient {r}" for r in node.short_of(pod.requests)]
            for reason in reasons:
                counts[reason] = counts.get(reason, 0) + 1
        listed = ", ".join(f"{count} {reason}" for reason, count in sorted(counts.items()))
        return f"0/{len(self.nodes)} nodes are available: {listed}."

    @property
    def pending_pods(self) -> list[Pod]:
        return list(self._pending)

    # --- pod events -------------------------------------------------------------------------------------------
    def readiness_changed(self, pod: Pod) -> None:
        if pod.ready and pod not in self.endpoints:
            self.endpoints.append(pod)
        elif not pod.ready and pod in self.endpoints:
            self.endpoints.remove(pod)

    def terminated(self, pod: Pod) -> None:
        assert pod.phase == TERMINATED
        if pod in self.pods:
            self.pods.remove(pod)
        if pod.node is not None and pod in pod.node.pods:
            pod.node.pods.remove(pod)
            for neighbour in pod.node.pods:
                neighbour.retry_resize()
        self._schedule_pending()

    def node_memory_grew(self, pod: Pod) -> None:
        """The kernel's OOM killer when a node runs out: the pod furthest above its memory request goes."""
        node = pod.node
        if node is None or node.rss_mib <= node.memory_mib:
            return
        victim = max(node.pods, key=lambda p: p.rss_mib - p.requests.get("memory", 0.0) / 2**20)
        victim.oom_kill("node out of memory")
