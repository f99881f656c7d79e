"""Node autoscaling as reconcile steps: the Cluster Autoscaler's scan, and the anticipatory policy beside it."""
from __future__ import annotations

from typing import Callable

from twin.policies import anticipatory
from twin.policies.cluster_autoscaler import loop as ca
from twin.ports import ClusterPort, Decision, NodeView, PodView, Ports


class ClusterAutoscalerStep:
    """`held`: nodes another policy keeps (the scale-down-disabled annotation, as the anticipatory step asks)."""

    def __init__(self, spec: ca.CASpec, settings: ca.CASettings,
                 held: Callable[[], frozenset[str]] = frozenset) -> None:
        self.spec = spec
        self.settings = settings
        self.held = held
        self.state = ca.CAState()
        self.requested: dict[str, list[float]] = {}  # request times of nodes still unregistered, oldest first
        self.unschedulable_since: dict[str, float] = {}
        self._built: dict[tuple, ca.Node] = {}  # the CA's view of a node, kept while the node's facts are unchanged

    def sync(self, now: float, ports: Ports) -> list[Decision]:
        cluster = ports.cluster
        decision, self.state = ca.reconcile(self.spec, self.state, self._observe(now, cluster), now=now,
                                            settings=self.settings)
        made = []
        for group, count in decision.scale_up.items():
            cluster.add_nodes(group, count)
            self.requested.setdefault(group, []).extend([now] * count)
            made.append(Decision(now, "cluster-autoscaler", "add_nodes", group, {"count": count}, decision.reason))
        for name in decision.delete_nodes:
            cluster.remove_node(name)
            made.append(Decision(now, "cluster-autoscaler", "remove_node", name, {}, decision.reason))
        return made

    def _observe(self, now: float, cluster: ClusterPort) -> ca.CAObservation:
        pods = {p.name: p for p in cluster.pods()}
        held = self.held()
        nodes = tuple(self._node(n, pods, disabled=n.name in held) for n in cluster.nodes())
        pending = cluster.pending_pods()
        self.unschedulable_since = {p.name: self.unschedulable_since.get(p.name, now) for p in pending}
        waiting = tuple(ca.PendingPod(p.name, dict(p.requests), self.unschedulable_since[p.name]) for p in pending)
        upcoming = []
        for group, count in cluster.upcoming_nodes().items():  # the oldest requests register first
            times = self.requested.get(group, [])[-count:] if count else []
            self.requested[group] = [now] * (count - len(times)) + times
            upcoming += [ca.UpcomingNode(group, t) for t in self.requested[group]]
        return ca.CAObservation(nodes, waiting, tuple(upcoming))

    def _node(self, view: NodeView, pods: dict[str, PodView], *, disabled: bool) -> ca.Node:
        """Built once per distinct set of facts: the CA's model parses every quantity exactly (with Fraction),
        which would otherwise be done for every pod at every scan."""
        requests = tuple(tuple(pods[p].requests.items()) for p in view.pods if p in pods)
        key = (view.name, view.pool, tuple(view.allocatable.items()), tuple(view.requested.items()), requests,
               view.ready, view.created_at, disabled)
        node = self._built.get(key)
        if node is None:
            if len(self._built) > 1024:  # facts of nodes long gone
                self._built.clear()
            node = self._built[key] = ca.Node(view.name, view.pool, dict(view.allocatable), dict(view.requested),
                                              tuple(dict(r) for r in requests), ready=view.ready,
                                              created_at=view.created_at, scale_down_disabled=disabled)
        return node


class AnticipatoryStep:
    def __init__(self, spec: anticipatory.Anticipation, group: ca.NodeGroup) -> None:
        self.spec = spec
        self.group = group
        self.state = anticipatory.AnticipationState()
        self.history: list[tuple[float, int]] = []
        self.held: frozenset[str] = frozenset()

    def sync(self, now: float, ports: Ports) -> list[Decision]:
        cluster = ports.cluster
        wanted, _ = cluster.deployment_replicas()
        self.history = [(t, n) for t, n in self.history if t >= now - self.spec.window_s] + [(now, wanted)]
        pods = cluster.pods()
        if not pods:
            return []
        per_node = _slots(dict(pods[0].requests), dict(self.group.template.allocatable))
        if per_node <= 0:
            return []
        mine = [n for n in cluster.nodes() if n.pool == self.group.name]
        view = anticipatory.GroupView(wanted, pods_per_node=per_node, nodes=len(mine),
                                      upcoming=cluster.upcoming_nodes().get(self.group.name, 0),
                                      min_nodes=self.group.min_size, max_nodes=self.group.max_size,
                                      empty_nodes=tuple(n.name for n in mine if not n.pods),
                                      history=tuple(self.history))
        decision, self.state = anticipatory.reconcile(self.spec, self.state, view, now=now)
        self.held = frozenset(decision.hold)
        made = []
        if decision.add > 0:
            cluster.add_nodes(self.group.name, decision.add)
            made.append(Decision(now, "anticipatory", "add_nodes", self.group.name, {"count": decision.add},
                                 decision.reason))
        for name in decision.release:
            cluster.remove_node(name)
            made.append(Decision(now, "anticipatory", "remove_node", name, {}, decision.reason))
        return made


def _slots(requests: dict[str, float], free: dict[str, float]) -> int:
    """How many pods with `requests` fit in `free`."""
    counts = [int(free.get(r, 0.0) // amount) for r, amount in requests.items() if amount > 0]
    return max(0, min(counts)) if counts else 0
