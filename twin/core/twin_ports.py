"""The ports (twin.ports) implemented over the simulated world: what control steps see and do inside the twin."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from twin.errors import InputError
from twin.k8s.pod import PENDING, TERMINATED, TERMINATING
from twin.metrics.promql import query as promql
from twin.metrics.tsdb import SeriesStore
from twin.ports import MetricsUnavailable, NodeView, PodView, Sample, WorkersView
from twin.torchserve.workers import READY, STARTING


@dataclass
class QueryTally:
    """What one query answered over a run: how often it was asked, how often it matched a series, its peak."""

    asked: int = 0
    matched: int = 0
    peak: float | None = None

    def add(self, values: list[float]) -> None:
        self.asked += 1
        finite = [v for v in values if v == v]
        if values:
            self.matched += 1
        if finite:
            self.peak = max(finite) if self.peak is None else max(self.peak, *finite)


class TwinPorts:
    """ClusterPort, TorchServePort and MetricsPort over one World."""

    def __init__(self, world, store: SeriesStore, *, lookback_delta_s: float) -> None:
        self.world = world
        self.store = store
        self.lookback_delta_s = lookback_delta_s
        self.tallies: dict[str, QueryTally] = {}  # by query text, for the run's warnings
        self._by_name: dict[str, object] = {}  # pods by name, rebuilt when a name is not (or no longer) in it

    # --- ClusterPort ------------------------------------------------------------------------------------------
    def deployment_replicas(self) -> tuple[int, int]:
        cluster = self.world.cluster
        return cluster.replicas, sum(1 for p in cluster.pods if p.phase != TERMINATING)

    def pods(self) -> list[PodView]:
        return [self._pod(p) for p in self.world.cluster.pods if p.phase != TERMINATED]

    @staticmethod
    def _pod(pod) -> PodView:
        return PodView(
            name=pod.name, phase=pod.phase, ready=pod.ready, node=pod.node.name if pod.node else None,
            start_time=pod.bound_at, ready_transition_time=pod.ready_changed_at,
            deleting=pod.phase == TERMINATING, requests=dict(pod.requests), limits=pod.limits(),
            resize_status=pod.resize_status, priority=pod.priority, nominated_node=pod.nominated_node,
            last_oom=pod.last_oom)

    def nodes(self) -> list[NodeView]:
        return [NodeView(name=n.name, pool=n.pool.name, ready=n.devices_ready, created_at=n.created_at,
                         allocatable={r: n.allocatable_now(r) for r in n.allocatable},
                         requested={r: n.requested(r) for r in n.allocatable},
                         pods=tuple(p.name for p in n.pods)) for n in self.world.cluster.nodes]

    def pending_pods(self) -> list[PodView]:
        return [self._pod(p) for p in self.world.cluster.pods if p.phase == PENDING and p.node is None]

    def upcoming_nodes(self) -> Mapping[str, int]:
        return dict(self.world.cluster.upcoming)

    def scale_deployment(self, replicas: int) -> None:
        self.world.scale_deployment(replicas)

    def placeholder_replicas(self) -> int:
        return self.world.cluster.placeholder_replicas

    def placeholder_pods(self) -> list[PodView]:
        return [self._pod(p) for p in self.world.cluster.pause_pods if p.phase != TERMINATED]

    def scale_placeholders(self, replicas: int) -> None:
        self.world.scale_placeholders(replicas)

    def resize_pod(self, pod: str, requests: Mapping[str, float], limits: Mapping[str, float]) -> str:
        return self._find(pod).resize(requests, limits)

    def evict_pod(self, pod: str) -> None:
        self.world.evict_pod(self._find(pod))

    def add_nodes(self, pool: str, count: int) -> None:
        self.world.add_nodes(pool, count)

    def remove_node(self, node: str) -> None:
        match = next(n for n in self.world.cluster.nodes if n.name == node)
        self.world.remove_node(match)

    def _find(self, name: str):
        """The pod called `name`, in O(1): controllers ask for every pod each period."""
        pod = self._by_name.get(name)
        if pod is None or pod.phase == TERMINATED:  # a terminated pod has left the cluster's list
            self._by_name = {p.name: p for p in self.world.cluster.pods}
            pod = self._by_name[name]
        return pod

    # --- TorchServePort ---------------------------------------------------------------------------------------
    def describe(self, pod: str) -> WorkersView | None:
        server = self._find(pod).server
        if server is None:
            return None
        workers = server.workers
        return WorkersView(min_workers=workers.min_workers, max_workers=workers.max_workers,
                           ready=sum(1 for w in workers.all if w.state == READY),
                           starting=sum(1 for w in workers.all if w.state == STARTING),
                           pending_requests=len(server.queue))

    def scale_workers(self, pod: str, min_workers: int, max_workers: int) -> bool:
        return self.world.scale_workers(self._find(pod), min_workers, max_workers)

    # --- MetricsPort ------------------------------------------------------------------------------------------
    def query(self, query: str) -> list[Sample]:
        try:
            result = promql.compile(query).evaluate(self.store, now=self.world.env.now,
                                                    lookback_delta_s=self.lookback_delta_s)
        except InputError as error:
            raise MetricsUnavailable(str(error)) from None
        samples = [Sample({}, result.value)] if isinstance(result, promql.Scalar) else \
            [Sample(dict(s.labels), s.value) for s in result]
        self.tallies.setdefault(query, QueryTally()).add([s.value for s in samples])
        return samples
