"""The Cluster Autoscaler's binpacking estimator: how many template nodes a group needs for the pending pods.

Fidelity ledger — upstream: kubernetes/autoscaler `cluster-autoscaler/estimator/binpacking_estimator.go`
(`Estimate`, `tryToScheduleOnExistingNodes`, `tryToScheduleOnNewNodes`), `decreasing_pod_orderer.go`,
`threshold_based_limiter.go` (commits 5128616e, 7c1f8d53), `simulator/predicatechecker` (`FitsAnyNodeMatching`
resumes after the node that took the last pod) and `utils/scheduler` (`DeepCopyTemplateNode` names each new node and
sets its hostname label), HEAD of 2026-08; cases from `binpacking_estimator_test.go` (`TestBinpackingEstimate`,
`BenchmarkBinpackingEstimate`; commit fad68680). Modelled: pods in equivalence groups (same requests, ports, labels,
constraints), groups by decreasing score cpu/node cpu + memory/node memory (ties keep their order); per group, pods
go onto the nodes already added until one does not fit, then onto the last added node, a new node being opened when
it is full; a new node that cannot take the pod ends the group (an empty last node ends it before a new one is
opened); at most `max_nodes` nodes are opened (0: no limit), empty ones included; nodes without pods are not
counted. The filters the simulation runs: every requested resource fits (cpu, memory, GPUs, extended resources) and
the node's pod count (`pods` allocatable), host ports (a port and protocol once per node), the pod's nodeSelector,
and topology spread constraints with whenUnsatisfiable DoNotSchedule (skew = pods matching the selector in the
node's domain + 1 − the fewest in any eligible domain, against maxSkew; a node without the topology key is not
eligible), counting the pods of the cluster's existing nodes. Work is near-linear: the last node is tried first, so
identical pods cost O(1) each. Not modelled: affinity/anti-affinity, taints, minDomains, ScheduleAnyway constraints
(scoring only), the limiter's time budget, DRA.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

HOSTNAME = "kubernetes.io/hostname"
EPSILON = 1e-9  # float quantities: 0.1 + 0.2 must fit in 0.3

Resources = Mapping[str, float]


@dataclass(frozen=True)
class SpreadConstraint:
    """A topologySpreadConstraint with whenUnsatisfiable DoNotSchedule."""

    max_skew: int
    topology_key: str
    match_labels: Mapping[str, str] = field(default_factory=dict)

    def selects(self, labels: Mapping[str, str]) -> bool:
        return all(labels.get(key) == value for key, value in self.match_labels.items())


class PodShape(Protocol):
    """What the simulation needs of a pod (`PendingPod` and `Pod` both have it)."""

    requests: Resources
    host_ports: tuple[int | str, ...]
    labels: Mapping[str, str]
    spread: tuple[SpreadConstraint, ...]
    node_selector: Mapping[str, str]


@dataclass(frozen=True)
class Estimate:
    nodes: tuple[tuple[int, ...], ...]  # pod indexes on each node opened that took pods, in the order opened
    scheduled: tuple[int, ...]  # pod indexes in the order they were placed

    @property
    def node_count(self) -> int:
        return len(self.nodes)


@dataclass
class SimNode:
    """A node of the simulation's snapshot: free room, ports in use, labels of its pods."""

    name: str
    labels: Mapping[str, str]
    free: dict[str, float]
    ports: set[tuple[int, str]] = field(default_factory=set)
    pod_labels: list[Mapping[str, str]] = field(default_factory=list)
    members: list[int] = field(default_factory=list)


def host_ports(pod: PodShape) -> set[tuple[int, str]]:
    """Ports as (port, protocol): 8080 or "8080" is TCP, "53/UDP" names its protocol."""
    ports = set()
    for entry in pod.host_ports:
        port, _, protocol = str(entry).partition("/")
        ports.add((int(port), protocol.upper() or "TCP"))
    return ports


@dataclass(frozen=True)
class Needs:
    """What the filters read of one equivalence group's pods, worked out once for the group."""

    requests: tuple[tuple[str, float], ...]  # positive amounts only
    ports: frozenset[tuple[int, str]]
    node_selector: tuple[tuple[str, str], ...]
    spread: tuple[SpreadConstraint, ...]
    labels: Mapping[str, str]

    @classmethod
    def of(cls, pod: PodShape) -> Needs:
        return cls(tuple((n, a) for n, a in pod.requests.items() if a > 0), frozenset(host_ports(pod)),
                   tuple(pod.node_selector.items()), tuple(pod.spread), pod.labels)


def fits(needs: Needs, node: SimNode, snapshot: Sequence[SimNode]) -> bool:
    """The scheduler's filters on one node of `snapshot`."""
    free = node.free
    if "pods" in free and free["pods"] < 1 - EPSILON:
        return False
    if any(free.get(name, 0.0) + EPSILON < amount for name, amount in needs.requests) or needs.ports & node.ports:
        return False
    return all(node.labels.get(k) == v for k, v in needs.node_selector) and \
        all(_spread_ok(needs, c, node, snapshot) for c in needs.spread)


def _spread_ok(needs: Needs, constraint: SpreadConstraint, node: SimNode, snapshot: Sequence[SimNode]) -> bool:
    key = constraint.topology_key
    if key not in node.labels:
        return False
    counts: dict[str, int] = {}
    for other in snapshot:
        if key in other.labels and all(other.labels.get(k) == v for k, v in needs.node_selector):
            domain = other.labels[key]
            counts[domain] = counts.get(domain, 0) + sum(1 for labels in other.pod_labels if constraint.selects(labels))
    own = 1 if constraint.selects(needs.labels) else 0
    return counts.get(node.labels[key], 0) + own - min(counts.values()) <= constraint.max_skew


def add(needs: Needs, index: int, node: SimNode) -> None:
    for name, amount in needs.requests:
        node.free[name] = node.free.get(name, 0.0) - amount
    if "pods" in node.free:
        node.free["pods"] -= 1
    node.ports |= needs.ports
    node.pod_labels.append(needs.labels)
    node.members.append(index)


def score(pod: PodShape, template: Resources) -> float:
    """DecreasingPodOrderer: cpu share plus memory share of the template node."""
    return sum(pod.requests.get(name, 0.0) / template[name] for name in ("cpu", "memory") if template.get(name))


def _groups(pods: Sequence[PodShape]) -> list[list[int]]:
    """Equivalence groups in order of first appearance (mappings compared in their own key order)."""
    groups: dict[tuple, list[int]] = {}
    for index, pod in enumerate(pods):
        spread = tuple((c.max_skew, c.topology_key, tuple(c.match_labels.items())) for c in pod.spread)
        key = (tuple(pod.requests.items()), tuple(pod.host_ports), tuple(pod.labels.items()),
               tuple(pod.node_selector.items()), spread)
        groups.setdefault(key, []).append(index)
    return list(groups.values())


class _Packing:
    """The estimation state: the snapshot (existing nodes, then the new ones) and where the next search starts."""

    def __init__(self, template: Resources, labels: Mapping[str, str], existing: list[SimNode], max_nodes: int):
        self.template, self.labels, self.max_nodes = template, labels, max_nodes
        self.snapshot = existing
        self.new: list[SimNode] = []
        self.next_search = 0
        self.scheduled: list[int] = []

    def on_existing(self, needs: Needs, group: list[int]) -> list[int]:
        """`tryToScheduleOnExistingNodes`: the group's pods that are left once one fits no new node."""
        for position, index in enumerate(group):
            node = self._first_fit(needs)
            if node is None:
                return group[position:]
            self._place(needs, index, node)
        return []

    def on_new(self, needs: Needs, group: list[int]) -> None:
        """`tryToScheduleOnNewNodes`: the last node first, a new one when it is full."""
        for index in group:
            last = self.new[-1] if self.new else None
            if last is not None and fits(needs, last, self.snapshot):
                self._place(needs, index, last)
                continue
            if (last is not None and not last.members) or (self.max_nodes and len(self.new) >= self.max_nodes):
                return
            node = self._open()
            if not fits(needs, node, self.snapshot):
                return
            self._place(needs, index, node)

    def _first_fit(self, needs: Needs) -> SimNode | None:
        count = len(self.new)
        for step in range(count):
            position = (self.next_search + step) % count
            if fits(needs, self.new[position], self.snapshot):
                self.next_search = (position + 1) % count
                return self.new[position]
        return None

    def _open(self) -> SimNode:
        name = f"template-{len(self.new)}"
        node = SimNode(name, {**self.labels, HOSTNAME: name}, dict(self.template))
        self.new.append(node)
        self.snapshot.append(node)
        return node

    def _place(self, needs: Needs, index: int, node: SimNode) -> None:
        add(needs, index, node)
        self.scheduled.append(index)


def estimate(pods: Sequence[PodShape], template: Resources, *, labels: Mapping[str, str] | None = None,
             max_nodes: int = 0, existing: Sequence[SimNode] = ()) -> Estimate:
    """`Estimate` for one node group: `existing` nodes only count for topology spreading."""
    packing = _Packing(template, labels or {}, [SimNode(n.name, n.labels, dict(n.free), set(n.ports),
                                                        list(n.pod_labels)) for n in existing], max_nodes)
    groups = sorted(_groups(pods), key=lambda g: -score(pods[g[0]], template))
    for group in groups:
        needs = Needs.of(pods[group[0]])
        packing.on_new(needs, packing.on_existing(needs, group))
    return Estimate(tuple(tuple(n.members) for n in packing.new if n.members), tuple(packing.scheduled))
