"""Node autoscaling as reconcile steps: the Cluster Autoscaler's scan, and the anticipatory policy's placeholders."""
from __future__ import annotations

from twin.policies import anticipatory
from twin.policies.cluster_autoscaler import loop as ca
from twin.ports import ClusterPort, Decision, NodeView, PodView, Ports


class ClusterAutoscalerStep:
    """The Cluster Autoscaler over the cluster port: it sees the placeholder pods as it sees every pod."""

    def __init__(self, spec: ca.CASpec, settings: ca.CASettings) -> None:
        self.spec = spec
        self.settings = settings
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
        placeholders = cluster.placeholder_pods()
        pods = {p.name: p for p in [*cluster.pods(), *placeholders]}
        nodes = tuple(self._node(n, pods) for n in cluster.nodes())
        pending = [*cluster.pending_pods(), *(p for p in placeholders if p.node is None and not p.deleting)]
        self.unschedulable_since = {p.name: self.unschedulable_since.get(p.name, now) for p in pending}
        waiting = tuple(ca.PendingPod(p.name, dict(p.requests), self.unschedulable_since[p.name],
                                      priority=p.priority, nominated_node=p.nominated_node or "")
                        for p in pending)
        upcoming = []
        for group, count in cluster.upcoming_nodes().items():  # the oldest requests register first
            times = self.requested.get(group, [])[-count:] if count else []
            self.requested[group] = [now] * (count - len(times)) + times
            upcoming += [ca.UpcomingNode(group, t) for t in self.requested[group]]
        return ca.CAObservation(nodes, waiting, tuple(upcoming))

    def _node(self, view: NodeView, pods: dict[str, PodView]) -> ca.Node:
        """Built once per distinct set of facts: the CA's model parses every quantity exactly (with Fraction),
        which would otherwise be done for every pod at every scan."""
        requests = tuple(tuple(pods[p].requests.items()) for p in view.pods if p in pods)
        key = (view.name, view.pool, tuple(view.allocatable.items()), tuple(view.requested.items()), requests,
               view.ready, view.created_at)
        node = self._built.get(key)
        if node is None:
            if len(self._built) > 1024:  # facts of nodes long gone
                self._built.clear()
            node = self._built[key] = ca.Node(view.name, view.pool, dict(view.allocatable), dict(view.requested),
                                              tuple(dict(r) for r in requests), ready=view.ready,
                                              created_at=view.created_at)
        return node


class AnticipatoryStep:
    """The anticipatory policy's placeholder count, written as the placeholder Deployment's scale."""

    def __init__(self, spec: anticipatory.Anticipation, *, target: str) -> None:
        self.spec = spec
        self.target = target  # the placeholder Deployment
        self.history: list[tuple[float, int]] = []

    def sync(self, now: float, ports: Ports) -> list[Decision]:
        cluster = ports.cluster
        wanted, _ = cluster.deployment_replicas()
        self.history = [(t, n) for t, n in self.history if t >= now - self.spec.window_s] + [(now, wanted)]
        decision = anticipatory.reconcile(self.spec, anticipatory.View(wanted, tuple(self.history)), now=now)
        if decision.placeholders == cluster.placeholder_replicas():
            return []
        cluster.scale_placeholders(decision.placeholders)
        return [Decision(now, "anticipatory", "scale_placeholders", self.target,
                         {"replicas": decision.placeholders}, decision.reason)]
