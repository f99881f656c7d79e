"""Node autoscaling as reconcile steps: the Cluster Autoscaler's scan, and the anticipatory policy beside it."""
from __future__ import annotations

from twin.policies import anticipatory, cluster_autoscaler as ca
from twin.ports import Decision, NodeView, PodView, Ports


class ClusterAutoscalerStep:
    def __init__(self, groups: tuple[ca.NodeGroup, ...], settings: ca.CASettings) -> None:
        self.groups = groups
        self.settings = settings
        self.state = ca.CAState()

    def sync(self, now: float, ports: Ports) -> list[Decision]:
        cluster = ports.cluster
        pods = {p.name: p for p in cluster.pods()}
        nodes = tuple(_node(n, pods) for n in cluster.nodes() if n.ready)
        upcoming = dict(cluster.upcoming_nodes())
        for node in cluster.nodes():  # registered but GPUs not yet allocatable: still upcoming for the CA
            if not node.ready:
                upcoming[node.pool] = upcoming.get(node.pool, 0) + 1
        decision, self.state = ca.reconcile(self.groups, self.settings, self.state, nodes=nodes,
                                            pending=tuple(dict(p.requests) for p in cluster.pending_pods()),
                                            upcoming=upcoming, now=now)
        made = []
        for group, count in decision.add.items():
            cluster.add_nodes(group, count)
            made.append(Decision(now, "cluster-autoscaler", "add_nodes", group, {"count": count}, decision.reason))
        for name in decision.remove:
            cluster.remove_node(name)
            made.append(Decision(now, "cluster-autoscaler", "remove_node", name, {}, decision.reason))
        return made


def _node(view: NodeView, pods: dict[str, PodView]) -> ca.Node:
    return ca.Node(view.name, view.pool, dict(view.allocatable), dict(view.requested),
                   tuple(dict(pods[p].requests) for p in view.pods if p in pods))


class AnticipatoryStep:
    def __init__(self, spec: anticipatory.Anticipation, template: ca.NodeGroup) -> None:
        self.spec = spec
        self.template = template
        self.replicas: list[tuple[float, int]] = []

    def sync(self, now: float, ports: Ports) -> list[Decision]:
        cluster = ports.cluster
        wanted, _ = cluster.deployment_replicas()
        self.replicas = [(t, n) for t, n in self.replicas if t >= now - self.spec.window_s] + [(now, wanted)]
        pods = cluster.pods()
        if not pods:
            return []
        pod_requests = dict(pods[0].requests)
        per_node = _slots(pod_requests, dict(self.template.allocatable))
        free = sum(_slots(pod_requests, {r: n.allocatable[r] - n.requested.get(r, 0.0) for r in n.allocatable})
                   for n in cluster.nodes() if n.pool == self.template.name)
        free += per_node * cluster.upcoming_nodes().get(self.template.name, 0)
        free -= len(cluster.pending_pods())
        existing = sum(1 for n in cluster.nodes() if n.pool == self.template.name)
        count, headroom = anticipatory.nodes_to_add(self.spec, replicas=tuple(self.replicas), free_pod_slots=free,
                                                    pods_per_node=per_node, now=now)
        count = min(count, self.template.max_count - existing - cluster.upcoming_nodes().get(self.template.name, 0))
        if count <= 0:
            return []
        cluster.add_nodes(self.template.name, count)
        return [Decision(now, "anticipatory", "add_nodes", self.template.name, {"count": count},
                         f"headroom of {headroom} pods wanted, {free} free")]


def _slots(requests: dict[str, float], free: dict[str, float]) -> int:
    """How many pods with `requests` fit in `free`."""
    counts = [int(free.get(r, 0.0) // amount) for r, amount in requests.items() if amount > 0]
    return max(0, min(counts)) if counts else 0
