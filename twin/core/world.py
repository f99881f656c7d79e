"""The world: builds the simulated cluster, workload and recorders from a Scenario and owns the one SimPy clock.

Other layers change the world only through its methods (`scale_deployment`, `scale_workers`, `evict_pod`,
`add_node`, `remove_node`), so the same calls serve the control plane and tests.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable

import simpy

from twin.config import controllers, trace
from twin.config.schema import Closed, Scenario, Trace
from twin.core.control_plane import ControlPlane
from twin.core.recorder import Recorder
from twin.core.timeseries import Sampler
from twin.k8s.cluster import Cluster
from twin.k8s.node import Node
from twin.k8s.pod import Pod
from twin.kernel import loop
from twin.kernel import request as outcome
from twin.kernel.request import Request
from twin.kernel.rng import SMALL_BLOCK, Draws, Uniforms, stream
from twin.workload.closed_loop import ClosedLoop
from twin.workload.open_loop import OpenLoop, poisson_times, trace_times
from twin.workload.rates import curve
from twin.workload.service import Service

TICK_S = 1.0


class World:
    def __init__(self, scenario: Scenario, *, seed: int | None = None) -> None:
        self.scenario = scenario
        self.seed = scenario.seed if seed is None else seed
        self.env = simpy.Environment()
        self.events: list[dict] = []
        self.recorder = Recorder(warmup_s=scenario.warmup_s, per_request=scenario.outputs.per_request)
        profile = scenario.model
        demand = (profile.demand_distribution, profile.demand_cv)
        self.cluster = Cluster(self.env, profile=profile, deployment=scenario.deployment, log=self.log,
                               draws_for=lambda name: Draws(self.rng(f"demand/{name}"), *demand,
                                                             block=SMALL_BLOCK),
                               respond=self.respond, connections_reset=self._connections_reset,
                               placeholders=controllers.placeholders(scenario))
        for pool in scenario.node_pools:
            for _ in range(pool.count):
                self.cluster.add_node(pool)
        self.cluster.scale(scenario.deployment.ready_at_start, ready=True)
        self.cluster.scale(scenario.deployment.pods)  # any others start from scratch
        if self.cluster.placeholders is not None:  # after the serving pods, which would preempt them anyway
            self.cluster.scale_placeholders(self.cluster.placeholders.replicas, ready=True)
        self.service = Service(self.cluster.endpoints, Uniforms(self.rng("service")))
        self.closed_loops: list[ClosedLoop] = []
        for index, group in enumerate(scenario.workload):
            self._start_workload(index, group)
        self.sampler = Sampler(self)
        self.control = ControlPlane(self)
        self.env.process(self._tick())

    def rng(self, name: str):
        """The named random stream of a component (the same name and seed give the same numbers)."""
        return stream(self.seed, name)

    # --- workload ---------------------------------------------------------------------------------------------
    def _start_workload(self, index: int, group) -> None:
        delay_s = (self.scenario.model.frontend_ms + group.network_rtt_ms) / 1000.0
        stop_s = min(group.stop_s or self.scenario.duration_s, self.scenario.duration_s)
        name = f"workload/{index}"
        if isinstance(group, Closed):
            loop = ClosedLoop(self.env, group, service=self.service, send=self.send, delay_s=delay_s,
                              stop_s=stop_s, think=Draws(self.rng(name), "exponential"))
            self.closed_loops.append(loop)
        elif isinstance(group, Trace):
            times = trace.read_timestamps(Path(group.path), group.column)
            loop = OpenLoop(self.env, service=self.service, send=self.send, delay_s=delay_s, stop_s=stop_s,
                            next_time=trace_times(group, times, group.start_s))
        else:
            rng = self.rng(name)
            loop = OpenLoop(self.env, service=self.service, send=self.send, delay_s=delay_s, stop_s=stop_s,
                            next_time=poisson_times(curve(group), Draws(rng, "exponential"), Uniforms(rng)))
        loop.start(group.start_s)

    def send(self, request: Request, pod: Pod | None) -> None:
        """A request reaches the pod its connection is bound to (or is refused)."""
        self.recorder.arrived += 1
        server = pod.server if pod is not None else None
        if server is None:
            self.respond(request, outcome.NO_ENDPOINT)
            return
        request.pod = pod
        server.submit(request)

    def respond(self, request: Request, kind: str) -> None:
        """The hot path's end: record, and tell the client after the time outside the pod."""
        source = request.source
        done = self.env._now + source.delay_s
        pod = request.pod
        self.recorder.response(request.arrival, done - request.arrival, kind, pod)
        if kind == "ok" and pod is not None:
            pod.served += 1
        if source.waits:
            source.on_response(request, kind, done)

    def _connections_reset(self, pod: Pod) -> None:
        for loop in self.closed_loops:
            loop.reset(pod)

    # --- control surface --------------------------------------------------------------------------------------
    def log(self, kind: str, **fields) -> None:
        self.events.append({"time_s": round(self.env.now, 6), "event": kind, **fields})

    def scale_deployment(self, replicas: int) -> None:
        self.log("deployment_scaled", replicas=replicas)
        self.cluster.scale(replicas)

    def scale_workers(self, pod: Pod, min_workers: int, max_workers: int | None = None) -> bool:
        """The management API on one pod; False when its frontend is not up to answer."""
        if pod.server is None:
            return False
        pod.server.workers.scale(min_workers, max_workers)
        return True

    def evict_pod(self, pod: Pod) -> None:
        """The Eviction API: the pod is deleted gracefully and its ReplicaSet creates a replacement."""
        self.log("pod_evicted", pod=pod.name)
        self.cluster.delete_pod(pod)
        self.cluster.scale(self.cluster.replicas)

    def scale_placeholders(self, replicas: int) -> None:
        self.log("placeholders_scaled", replicas=replicas)
        self.cluster.scale_placeholders(replicas)

    def add_nodes(self, pool_name: str, count: int) -> None:
        """Ask the cloud for nodes: they register after the pool's provisioning delay."""
        pool = next(p for p in self.scenario.node_pools if p.name == pool_name)
        self.cluster.provision(pool, count)

    def remove_node(self, node: Node) -> None:
        self.cluster.remove_node(node)

    # --- running ----------------------------------------------------------------------------------------------
    def _tick(self):
        """Once a second: the time series row, and responseTimeout checks."""
        while True:
            yield self.env.timeout(TICK_S)
            for pod in self.cluster.pods:
                if pod.server is not None:
                    pod.server.check_timeouts()
            self.control.tick()
            self.sampler.sample()

    def run(self, until: float | None = None, progress: Callable[[float], None] | None = None) -> None:
        """Advance the clock to `until` (default: the scenario's end), reporting progress now and then; what
        happens at the last instant belongs to the run (the last tick). A livelocked model raises `loop.Stalled`."""
        end = self.scenario.duration_s if until is None else until
        step = max(TICK_S, (end - self.env.now) / 100)
        while True:
            loop.run_until(self.env, min(end, self.env.now + step))
            if progress is not None:
                progress(self.env.now)
            if self.env.now >= end:
                return
