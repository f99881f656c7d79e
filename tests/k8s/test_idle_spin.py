"""Idle pool threads spin (libgomp's GOMP_SPINCOUNT) after each CPU phase: CPU the node's other work does not get."""
from __future__ import annotations

import pytest
import simpy

from twin.config.schema import ModelProfile, NodePool
from twin.k8s.node import Node
from twin.torchserve.server import ServedWork

POOLED = ModelProfile(device="cpu", cpu_ms=10, cpu_threads="cores")


def _node(profile: ModelProfile, spin_ms: float = 7.0) -> Node:
    return Node(simpy.Environment(), name="n", pool=NodePool(name="p", vcpus=4, memory_gib=8, pool_idle_spin_ms=spin_ms),
                profile=profile)


def test_an_idle_pool_spins_its_other_threads_for_the_spin_time_and_is_billed_for_it():
    node, bill = _node(POOLED), ServedWork()
    node.spin.idle("worker", bill)
    assert node.spin.threads == 3  # a pool of four on four cores: three wait for the next region
    node.env.run(until=0.0069)
    assert node.spin.threads == 3
    node.env.run(until=0.0071)
    assert node.spin.threads == 0 and bill.cpu_seconds == pytest.approx(3 * 0.007)


def test_a_new_cpu_phase_wakes_the_spinning_pool_and_what_it_did_not_spin_is_not_billed():
    node, bill = _node(POOLED), ServedWork()
    node.spin.idle("worker", bill)
    node.env.run(until=0.002)
    node.spin.busy("worker")
    assert node.spin.threads == 0 and bill.cpu_seconds == pytest.approx(3 * 0.002)
    node.env.run(until=0.01)  # the first spin's end finds it already over
    assert node.spin.threads == 0 and bill.cpu_seconds == pytest.approx(3 * 0.002)


def test_spinning_threads_slow_the_requests_on_the_node():
    node = _node(POOLED)
    done: list[float] = []
    node.cpu.start(0.01, lambda _: done.append(node.env.now), None)  # a 10 ms phase on all four cores
    node.spin.idle("other", ServedWork())  # another pool's three threads spin beside it for 7 ms
    node.env.run()
    beside_spin = 4 / (4 + 3)  # seven busy threads on four cores for the spin's 7 ms, then the phase alone
    assert done == [pytest.approx(0.007 + (0.01 - 0.007 * beside_spin))]


@pytest.mark.parametrize("profile, spin_ms", [(ModelProfile(device="cpu", cpu_ms=10, cpu_threads=1.0), 7.0),
                                              (POOLED, 0.0)])
def test_single_threaded_workers_and_passive_waits_do_not_spin(profile, spin_ms):
    node = _node(profile, spin_ms)
    assert node.spin.spinners == 0
