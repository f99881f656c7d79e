"""The cluster: nodes, the Deployment's pods, the scheduler, and the Service's endpoints.

Fidelity ledger — upstream: kube-scheduler (NodeResourcesFit + LeastAllocated scoring), ReplicaSet controller
(which pods go first on scale-down), EndpointSlice controller, kube-proxy.
Modelled: a pod waits `schedule_s`, then binds to the feasible node with the most free cpu/memory share (ties: the
first node), or stays Pending and is retried whenever capacity changes, higher priority first (PrioritySort: priority,
then creation); a pod that fits nowhere preempts lower-priority pods (`twin.k8s.preemption`) unless its
preemptionPolicy is Never or its victims are still terminating on its nominated node (`PodEligibleToPreemptOthers`),
waits for them to end, and the victims' ReplicaSet replaces them; scale-down deletes unscheduled, then not-ready, then
the newest pods first; the Service lists Ready pods only, and kube-proxy picks an endpoint uniformly at random per new
connection. Priorities: serving pods have no PriorityClass (0, with no global default class); placeholder pods
(`twin.k8s.placeholder`) that of their Deployment's class. Not modelled: affinity, taints, topology spread,
PodDisruptionBudgets, the nominated node being held for the preemptor against pods of lower priority (here the
preemptor is simply first in the queue when the victims end).
"""
from __future__ import annotations

from typing import Callable

import simpy

from twin.config.manifests import PlaceholderPods
from twin.config.schema import Deployment, ModelProfile, NodePool
from twin.k8s import preemption
from twin.k8s.node import Node
from twin.k8s.placeholder import PausePod
from twin.k8s.pod import PENDING, RUNNING, TERMINATED, TERMINATING, Pod, PodHooks
from twin.kernel.rng import Draws
from twin.kernel.timer import call_later


class Cluster:
    def __init__(self, env: simpy.Environment, *, profile: ModelProfile, deployment: Deployment,
                 log: Callable[..., None], draws_for: Callable[[str], Draws], respond: Callable,
                 connections_reset: Callable[[Pod], None], placeholders: PlaceholderPods | None = None) -> None:
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
        self.placeholders = placeholders
        self.pause_pods: list[PausePod] = []  # the placeholder Deployment's pods, not yet terminated
        self.placeholder_replicas = 0
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
        self._replace_deleted()

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
        self._reconcile(self.pods, replicas, self._create_pod, ready=ready)

    def scale_placeholders(self, replicas: int, *, ready: bool = False) -> None:
        """Set the placeholder Deployment's replicas (a cluster without one has none to set)."""
        if self.placeholders is None:
            return
        self.placeholder_replicas = replicas
        self._reconcile(self.pause_pods, replicas, self._create_pause_pod, ready=ready)

    def _reconcile(self, pods: list, replicas: int, create: Callable, *, ready: bool) -> None:
        live = [p for p in pods if p.phase in (PENDING, RUNNING)]
        if len(live) < replicas:
            for _ in range(replicas - len(live)):
                pod = create(schedule=not ready)
                if ready and not self._bind(pod, ready=True):
                    self._unschedulable(pod)
        else:
            for pod in sorted(live, key=self._deletion_cost)[: len(live) - replicas]:
                self.delete_pod(pod)

    def _replace_deleted(self) -> None:
        """Both ReplicaSets replace the pods a drain or a preemption deleted."""
        self.scale(self.replicas)
        self.scale_placeholders(self.placeholder_replicas)

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

    def _create_pause_pod(self, *, schedule: bool = True) -> PausePod:
        name = self._name(self.placeholders.name)
        pod = PausePod(self.env, name=name, spec=self.placeholders, log=self.log, terminated=self.terminated)
        self.pause_pods.append(pod)
        self.log("placeholder_created", pod=name)
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
            self._unschedulable(pod)
            self._preempt(pod)

    def _unschedulable(self, pod: Pod | PausePod) -> None:
        self._pending.append(pod)
        self.log(f"{pod.EVENT}_unschedulable", pod=pod.name, reason=self.why_unschedulable(pod))

    def _bind(self, pod: Pod | PausePod, *, ready: bool = False) -> bool:
        pool = pod.node_pool
        feasible = [n for n in self.nodes if (pool is None or n.pool.name == pool) and n.fits(pod.requests)]
        if not feasible:
            return False
        node = max(feasible, key=lambda n: n.free_fraction(pod.requests))
        node.pods.append(pod)
        pod.nominated_node = None  # the scheduler clears nominatedNodeName once the pod is bound
        pod.bind(node, ready=ready)
        return True

    def _schedule_pending(self) -> None:
        for pod in sorted(self._pending, key=lambda p: (-p.priority, p.created_at)):
            if pod not in self._pending:  # deleted by a preemption earlier in this pass
                continue
            if self._bind(pod):
                self._pending.remove(pod)
            else:
                self._preempt(pod)

    # --- preemption -------------------------------------------------------------------------------------------
    def _preempt(self, pod: Pod | PausePod) -> None:
        """The scheduler's PostFilter for a pod that fits nowhere: delete the chosen victims, nominate the node."""
        if not any(p.priority < pod.priority for p in (*self.pause_pods, *self.pods)) or not self._may_preempt(pod):
            return  # nothing of lower priority anywhere: the common case, decided without weighing nodes
        pool = pod.node_pool
        nodes = [n for n in self.nodes if pool is None or n.pool.name == pool]
        choice = preemption.preempt(pod.requests, pod.priority, [_room(n) for n in nodes],
                                    policy=pod.preemption_policy)
        if choice is None:
            return
        pod.nominated_node = choice.node
        on_node = {p.name: p for n in nodes if n.name == choice.node for p in n.pods}
        for victim in choice.victims:
            self.log("pod_preempted", pod=victim.name, by=pod.name, node=choice.node)
            self.delete_pod(on_node[victim.name])
        self._replace_deleted()

    def _may_preempt(self, pod: Pod | PausePod) -> bool:
        """Not while lower-priority pods it already preempted are terminating on its nominated node."""
        node = next((n for n in self.nodes if n.name == pod.nominated_node), None)
        return node is None or not any(p.phase == TERMINATING and p.priority < pod.priority for p in node.pods)

    def why_unschedulable(self, pod: Pod | PausePod) -> str:
        """The scheduler's FailedScheduling message: each reason a node does not fit, counted over the nodes
        (kube-scheduler's FitError; a node outside the node selector is filtered before its resources are)."""
        if not self.nodes:
            return "no nodes available to schedule pods"
        pool = pod.node_pool
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
        """The serving pods waiting for a node (placeholders waiting are the headroom asking for one)."""
        return [p for p in self._pending if isinstance(p, Pod)]

    # --- pod events -------------------------------------------------------------------------------------------
    def readiness_changed(self, pod: Pod) -> None:
        if pod.ready and pod not in self.endpoints:
            self.endpoints.append(pod)
        elif not pod.ready and pod in self.endpoints:
            self.endpoints.remove(pod)

    def terminated(self, pod: Pod | PausePod) -> None:
        assert pod.phase == TERMINATED
        if pod in self._pending:
            self._pending.remove(pod)
        for pods in (self.pods, self.pause_pods):
            if pod in pods:
                pods.remove(pod)
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


def _room(node: Node) -> preemption.Room:
    """A node as the preemption plugin weighs it: what it offers now, and its pods that are not already going."""
    pods = tuple(preemption.Running(p.name, p.priority, p.bound_at or 0.0, dict(p.requests))
                 for p in node.pods if p.phase != TERMINATING)
    return preemption.Room(node.name, {r: node.allocatable_now(r) for r in node.allocatable}, pods,
                           {r: node.requested(r) for r in node.allocatable})
