"""A TorchServe pod: start-up, readiness, memory against its limit, OOM-kill and restart, termination.

Fidelity ledger — upstream: kubelet (pod workers, probes, CrashLoopBackOff), Linux memory cgroup v2.
Modelled: Pending until bound; image pull on the first pod of a node (concurrent pods share the pull); container
start; TorchServe frontend start, then workers load; a readiness probe every `period_s` after `initial_delay_s`
(`ping`: the frontend answers; `workers`: every worker READY); the container's RSS (frontend + workers) against its
memory limit — crossing it OOM-kills the whole container (memory.oom.group, Kubernetes ≥ 1.28 on cgroup v2), which
restarts after CrashLoopBackOff (10 s doubling to 300 s, reset after 10 min up); deletion removes the pod from
endpoints at once and ends the container after in-flight work drains or the grace period passes (so a pod preempted by
one of higher priority ends gracefully too). Priority 0: the serving Deployment names no PriorityClass (Kubernetes docs
"Pod Priority and Preemption": without a globalDefault class such pods have priority zero), and it may preempt pods
of lower priority (preemptionPolicy PreemptLowerPriority, the default). Not modelled: liveness probes, init
containers, ephemeral storage.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Callable

import simpy

from twin.config.quantity import parse_quantity
from twin.config.schema import Deployment, ModelProfile
from twin.kernel.rng import Draws
from twin.kernel.timer import call_later
from twin.torchserve.server import ServedWork, TorchServe
from twin.torchserve.workers import READY

if TYPE_CHECKING:
    from twin.k8s.node import Node

PENDING, RUNNING, TERMINATING, TERMINATED = "Pending", "Running", "Terminating", "Terminated"
RESIZE_ACTUATION_S = 1.0  # kubelet picks the resize up and rewrites the cgroup
BACKOFF_START_S, BACKOFF_MAX_S, BACKOFF_RESET_S = 10.0, 300.0, 600.0


class Pod:
    EVENT = "pod"  # prefix of its events
    priority = 0
    preemption_policy = "PreemptLowerPriority"

    def __init__(self, env: simpy.Environment, *, name: str, deployment: Deployment, profile: ModelProfile,
                 draws: Draws, hooks: "PodHooks") -> None:
        self.env = env
        self.name = name
        self.deployment = deployment
        self.profile = profile
        self.draws = draws
        self.hooks = hooks
        self.requests = {k: parse_quantity(v) for k, v in deployment.resources.requests.items()}
        self.node_pool = deployment.node_pool
        self.nominated_node: str | None = None  # status.nominatedNodeName, once it preempted pods there
        limit = deployment.resources.limits.get("memory")
        self.memory_limit_mib = parse_quantity(limit) / 2**20 if limit is not None else None
        self.phase = PENDING
        self.node: Node | None = None
        self.units: list = []
        self.server: TorchServe | None = None
        self.ready = False
        self.ready_changed_at = env.now  # the Ready condition's lastTransitionTime
        self.bound_at: float | None = None  # status.startTime
        self.frontend_up = False
        self.rss_mib = 0.0
        self.restarts = 0
        self.waiting_reason = ""  # the container's state.waiting.reason: CrashLoopBackOff between restarts
        self.served = 0  # successful responses
        self.usage = ServedWork()
        self.created_at = env.now
        self.container_started_at: float | None = None
        self.last_oom: tuple[float, float] | None = None  # (started, killed) of the last container OOM-killed
        self.resize_status = ""  # "" | InProgress | Deferred | Infeasible (PodResizePending / PodResizeInProgress)
        self._desired: tuple[dict[str, float], float | None] | None = None
        self._container = 0  # container generation: timers of a dead container do nothing
        self._oom_pending = False

    # --- start-up ---------------------------------------------------------------------------------------------
    def bind(self, node: "Node", *, ready: bool = False) -> None:
        self.node = node
        self.bound_at = self.env.now
        for resource, amount in self.requests.items():
            if resource.startswith("nvidia.com/"):
                self.units += node.take_units(resource, int(amount), self)
        self.hooks.log("pod_scheduled", pod=self.name, node=node.name)
        if ready:
            self.start_ready(node)
            return
        pull = self._pull_delay(node)
        call_later(self.env, pull + self.deployment.startup.container_start_s, self._container_started, self._container)

    def start_ready(self, node: "Node") -> None:
        """Up and Ready at once with its workers loaded: a deployment that was running before the run began."""
        self.phase = RUNNING
        self.container_started_at = self.env.now
        self._set_rss(self.profile.frontend_rss_mib)
        self.frontend_up = True
        self.server = self._new_server()
        self.server.start(preloaded=True)
        self._set_ready(True)
        call_later(self.env, self.deployment.startup.readiness.period_s, self._probe, self._container)

    def _pull_delay(self, node: "Node") -> float:
        now = self.env.now
        if node.image_ready_at is None:
            node.image_ready_at = now + self.deployment.startup.image_pull_s
        return max(0.0, node.image_ready_at - now)

    def _container_started(self, event: simpy.Event) -> None:
        if event.value != self._container or self.phase not in (PENDING, RUNNING):
            return
        self.phase = RUNNING
        self.container_started_at = self.env.now
        self.waiting_reason = ""
        self.hooks.log("container_started", pod=self.name, restarts=self.restarts)
        self._set_rss(self.profile.frontend_rss_mib)
        startup = self.deployment.startup
        call_later(self.env, startup.frontend_start_s, self._frontend_started, self._container)
        call_later(self.env, startup.readiness.initial_delay_s, self._probe, self._container)

    def _frontend_started(self, event: simpy.Event) -> None:
        if event.value != self._container or self.phase != RUNNING:
            return
        self.frontend_up = True
        self.server = self._new_server()
        self.server.start()

    def _new_server(self) -> TorchServe:
        node = self.node
        devices = [u.accelerator for u in self.units] if self.units else node.accelerators
        devices = list(dict.fromkeys(devices))
        return TorchServe(self.env, profile=self.profile, config=self.deployment.torchserve.model, cpu=node.cpu,
                          cpu_threads=node.threads,
                          accelerators=devices, respond=self.hooks.respond, rss_changed=self._set_rss,
                          log=self._log, draws=self.draws, served=self.usage, loading=node.loading_changed,
                          spin=node.spin)

    def _log(self, kind: str, **fields) -> None:
        self.hooks.log(kind, pod=self.name, **fields)

    def _probe(self, event: simpy.Event) -> None:
        if event.value != self._container or self.phase != RUNNING:
            return
        healthy = self._healthy()
        if healthy != self.ready:
            self._set_ready(healthy)
        call_later(self.env, self.deployment.startup.readiness.period_s, self._probe, self._container)

    def _set_ready(self, ready: bool) -> None:
        self.ready = ready
        self.ready_changed_at = self.env.now
        self.hooks.log("pod_ready" if ready else "pod_unready", pod=self.name)
        self.hooks.readiness_changed(self)

    def _healthy(self) -> bool:
        if not self.frontend_up:
            return False
        if self.deployment.startup.readiness.check == "ping":
            return True
        workers = self.server.workers.all
        return bool(workers) and all(w.state == READY for w in workers)

    # --- memory -----------------------------------------------------------------------------------------------
    def _set_rss(self, delta_mib: float) -> None:
        self.rss_mib += delta_mib
        limit = self.memory_limit_mib
        if limit is not None and self.rss_mib > limit and not self._oom_pending:
            self._oom_pending = True  # kill after the current step: never from inside the worker that grew
            call_later(self.env, 0.0, self._oom_kill, (self._container, "memory limit"))
        if delta_mib > 0:
            self.hooks.node_memory_grew(self)

    def oom_kill(self, reason: str) -> None:
        if not self._oom_pending and self.phase == RUNNING:
            self._oom_pending = True
            call_later(self.env, 0.0, self._oom_kill, (self._container, reason))

    def _oom_kill(self, event: simpy.Event) -> None:
        container, reason = event.value
        if container == self._container and self.phase == RUNNING:
            self._kill(reason)
        self._oom_pending = False  # only now: memory still above the limit while the container stops is no new OOM

    def _kill(self, reason: str) -> None:
        self.hooks.log("pod_oom_killed", pod=self.name, rss_mib=round(self.rss_mib, 1),
                       limit_mib=self.memory_limit_mib, reason=reason)
        started = self.env.now if self.container_started_at is None else self.container_started_at
        uptime = self.env.now - started
        self.last_oom = (started, self.env.now)
        self._stop_container()
        self.restarts = 1 if uptime >= BACKOFF_RESET_S else self.restarts + 1
        backoff = min(BACKOFF_MAX_S, BACKOFF_START_S * 2 ** (self.restarts - 1))
        self.waiting_reason = "CrashLoopBackOff"
        call_later(self.env, backoff, self._container_started, self._container)

    def _stop_container(self) -> None:
        self._container += 1
        self.frontend_up = False
        if self.ready:
            self._set_ready(False)
        if self.server is not None:
            self.server.shutdown()
            self.server = None
        self.rss_mib = 0.0
        self.hooks.connections_reset(self)

    # --- in-place resize (KEP-1287, resizePolicy NotRequired) ---------------------------------------------------
    def limits(self) -> dict[str, float]:
        return {"memory": self.memory_limit_mib * 2**20} if self.memory_limit_mib is not None else {}

    def admit(self, requests: dict[str, float], limits: dict[str, float]) -> None:
        """A mutating admission webhook's patch of the pod being created (the VPA admission controller)."""
        self.requests = dict(requests)
        limit = limits.get("memory")
        self.memory_limit_mib = limit / 2**20 if limit is not None else None

    def resize(self, requests: dict[str, float], limits: dict[str, float]) -> str:
        """A patch of the pods/resize subresource; returns the resize status the kubelet reports."""
        limit = limits.get("memory")
        self._desired = ({**self.requests, **requests}, limit / 2**20 if limit is not None else self.memory_limit_mib)
        self.hooks.log("pod_resize_requested", pod=self.name, requests=dict(requests), limits=dict(limits))
        return self.retry_resize()

    def retry_resize(self) -> str:
        """Admit the pending resize if the node has room now (the kubelet retries deferred resizes)."""
        if self._desired is None or self.resize_status == "InProgress":
            return self.resize_status
        requests, limit_mib = self._desired
        node = self.node
        if node is None:  # not yet bound: the scheduler sees the new requests
            self.requests, self.memory_limit_mib, self._desired = requests, limit_mib, None
            return ""
        if any(amount > node.allocatable.get(r, 0.0) for r, amount in requests.items()):
            status = "Infeasible"
        elif not node.fits({r: a - self.requests.get(r, 0.0) for r, a in requests.items()}) or (
                limit_mib is not None and limit_mib < self.rss_mib):
            status = "Deferred"  # no room on the node now, or memory in use above the new limit
        else:
            status = "InProgress"
            call_later(self.env, RESIZE_ACTUATION_S, self._resized, self._desired)
        if status != self.resize_status:
            self.hooks.log("pod_resize_status", pod=self.name, status=status)
        self.resize_status = status
        return status

    def _resized(self, event: simpy.Event) -> None:
        if self._desired is not event.value or self.phase not in (PENDING, RUNNING):
            return
        self.requests, self.memory_limit_mib = self._desired
        self._desired, self.resize_status = None, ""
        self.hooks.log("pod_resized", pod=self.name, memory_limit_mib=self.memory_limit_mib)

    # --- termination ------------------------------------------------------------------------------------------
    def delete(self) -> None:
        """Graceful deletion: out of the endpoints now, container stopped when drained or at the grace period."""
        if self.phase in (TERMINATING, TERMINATED):
            return
        was_pending = self.phase == PENDING and self.node is None
        self.phase = TERMINATING
        self.hooks.log("pod_deleting", pod=self.name)
        if self.ready:
            self._set_ready(False)
        self.hooks.connections_reset(self)  # SIGTERM: keep-alive clients move to other pods; in-flight work drains
        if was_pending:
            self._terminated()
            return
        self._drain_check(self.env.now + self.deployment.startup.termination_grace_s)

    def _drain_check(self, deadline: float) -> None:
        server = self.server
        if server is None or (server.busy == 0 and server.pending == 0) or self.env.now >= deadline:
            self._stop_container()
            self._terminated()
        else:
            call_later(self.env, min(1.0, deadline - self.env.now), lambda _: self._drain_check(deadline))

    def _terminated(self) -> None:
        self.phase = TERMINATED
        for unit in self.units:
            unit.pod = None
        self.units = []
        self.hooks.log("pod_terminated", pod=self.name)
        self.hooks.terminated(self)


class PodHooks:
    """What a pod tells the cluster and the world. Plain callables, so the pod knows nothing above it."""

    def __init__(self, *, respond: Callable, log: Callable[..., None], readiness_changed: Callable,
                 connections_reset: Callable, terminated: Callable, node_memory_grew: Callable) -> None:
        self.respond = respond
        self.log = log
        self.readiness_changed = readiness_changed
        self.connections_reset = connections_reset
        self.terminated = terminated
        self.node_memory_grew = node_memory_grew
