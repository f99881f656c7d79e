"""The binpacking estimator: kubernetes/autoscaler `cluster-autoscaler/estimator/binpacking_estimator_test.go`
(`TestBinpackingEstimate`, each case named, and `BenchmarkBinpackingEstimate`'s counts), in upstream's units."""
from __future__ import annotations

import pytest

from twin.policies.cluster_autoscaler.binpack import pack_new_nodes
from twin.policies.cluster_autoscaler.estimator import HOSTNAME, SimNode, SpreadConstraint, estimate
from twin.policies.cluster_autoscaler.model import PendingPod

MIB = 2**20
ZONE = "topology.kubernetes.io/zone"
APP = {"app": "estimatee"}


def pods(count: int, millicores: int, mib: int, **kw) -> list[PendingPod]:
    return [PendingPod(f"estimatee-{i}", {"cpu": millicores / 1000, "memory": mib * MIB}, 0.0, labels=APP, **kw)
            for i in range(count)]


def skew(max_skew: int, key: str) -> tuple[SpreadConstraint, ...]:
    return (SpreadConstraint(max_skew, key, APP),)


# Upstream adds "oldnode" (100m, 100 MiB, 10 pods) in zone-jupiter; the template node is in zone-mars, 10 pods.
OLD_NODE = SimNode("oldnode", {HOSTNAME: "oldnode", ZONE: "zone-jupiter"},
                   {"cpu": 0.1, "memory": 100 * MIB, "pods": 10})
HIGH = pods(10, 500, 1000)

CASES = [
    ("simple resource-based binpacking", 350 * 3 - 50, 2000, 0, pods(10, 350, 1000), 5, 10),
    ("pods-per-node bound binpacking", 10000, 20000, 0, pods(20, 10, 100), 2, 20),
    ("hostport conflict forces pod-per-node", 1000, 5000, 0, pods(8, 200, 1000, host_ports=(5555,)), 8, 8),
    ("limiter cuts binpacking", 1000, 5000, 5, pods(20, 500, 1000), 5, 10),
    ("decreasing ordered pods are processed first", 1000, 5000, 5, pods(10, 50, 1000) + HIGH, 5, 10),
    ("hostname topology spreading with maxSkew=2 forces 2 pods/node", 1000, 5000, 0,
     pods(8, 20, 100, spread=skew(2, HOSTNAME)), 4, 8),
    ("zonal topology spreading with maxSkew=2 only allows 2 pods to schedule", 1000, 5000, 0,
     pods(8, 20, 100, spread=skew(2, ZONE)), 1, 2),
]


@pytest.mark.parametrize("name,millicores,mib,max_nodes,pending,nodes,placed", CASES, ids=[c[0] for c in CASES])
def test_binpacking_estimate_matches_upstream(name, millicores, mib, max_nodes, pending, nodes, placed) -> None:
    template = {"cpu": millicores / 1000, "memory": mib * MIB, "pods": 10}
    found = estimate(pending, template, labels={HOSTNAME: "template", ZONE: "zone-mars"}, max_nodes=max_nodes,
                     existing=(OLD_NODE,))
    assert (found.node_count, len(found.scheduled)) == (nodes, placed)


def test_the_bigger_group_is_packed_first() -> None:
    """"decreasing ordered pods are processed first": the ten 500m pods are the ones estimated."""
    found = estimate(pods(10, 50, 1000) + HIGH, {"cpu": 1.0, "memory": 5000 * MIB, "pods": 10}, max_nodes=5)
    assert sorted(found.scheduled) == list(range(10, 20))


def test_upstream_benchmark_counts() -> None:
    """BenchmarkBinpackingEstimate: 50,000 + 1,000 pods need 2,595 nodes (the 95m pods first, 10 a node, then the
    50m pods, one in each node's last 50m and 20 a node after)."""
    pending = pods(50_000, 50, 100) + pods(1_000, 95, 190)
    found = estimate(pending, {"cpu": 1.0, "memory": 5000 * MIB, "pods": 100}, max_nodes=3000)
    assert (found.node_count, len(found.scheduled)) == (2595, 51_000)


def test_a_pod_too_big_for_the_template_ends_only_its_own_group() -> None:
    template = {"cpu": 1.0, "memory": 5000 * MIB}
    found = estimate(pods(2, 2000, 100) + pods(3, 400, 100), template)
    assert (found.node_count, sorted(found.scheduled)) == (2, [2, 3, 4])


def test_host_ports_conflict_only_on_the_same_protocol() -> None:
    template = {"cpu": 1.0, "memory": 5000 * MIB}
    tcp_and_udp = pods(1, 100, 100, host_ports=(53,)) + pods(1, 100, 100, host_ports=("53/UDP",))
    assert estimate(tcp_and_udp, template).node_count == 1
    assert estimate(pods(2, 100, 100, host_ports=("53/udp",)), template).node_count == 2


def test_the_older_call_shape_takes_plain_requests() -> None:
    bins = pack_new_nodes([{"cpu": 0.6}] * 3 + [{"cpu": 0.3}], {"cpu": 1.0}, limit=10)
    assert bins == [[0, 3], [1], [2]]
    assert pack_new_nodes([{"cpu": 0.6}] * 3, {"cpu": 1.0}, limit=0) == []
