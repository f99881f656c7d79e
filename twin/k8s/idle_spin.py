"""A torch pool's threads spinning after a parallel region, before they sleep: CPU the node loses between regions.

Fidelity ledger — upstream: GCC libgomp manual ("GOMP_SPINCOUNT": with OMP_WAIT_POLICY unset, a thread waiting for
work spins 300,000 times before it sleeps on a futex; OMP_WAIT_POLICY=passive: not at all), PyTorch's intra-op pool
(OpenMP in the Linux wheels). Measured here (benchmarks/parallel_regions.py --idle-spin): one parallel region
followed by a 10 ms sleep costs 7.4-8.3 CPU-ms with torch's default two threads against 0.13-0.14 with one and 0.2
under OMP_WAIT_POLICY=passive: the pool's other thread spins 7-8 ms (~25 ns an iteration) after every region that
serial work follows. Modelled: when a worker's CPU phase ends, its pool's other threads (`pool_on − 1`) spin as busy
threads on the node for `pool_idle_spin_ms` of CPU each (stretched by the node's crowd at its start, as a thread at
its fair share), or until the worker's next CPU phase wakes them; the pod is charged what they spun. A GPU worker's
pool spins through its accelerator phase; a CPU worker's between its requests. Not modelled: spins between the
regions of one CPU phase (its `cpu_threads` holds them), the JVM's and the tokenizer's own pools.
"""
from __future__ import annotations

from typing import Callable

import simpy

from twin.kernel.timer import call_later


class IdleSpin:
    """The spinning pools of one node: how many threads spin now, told to the node's CPU when it changes."""

    def __init__(self, env: simpy.Environment, *, spinners: int, spin_ms: float,
                 changed: Callable[[], None], crowd: Callable[[], float]) -> None:
        self.env = env
        self.spinners = spinners if spin_ms > 0 else 0  # each idle pool's spinning threads
        self._spin_s = spin_ms / 1000.0
        self._changed = changed
        self._crowd = crowd
        self.threads = 0  # spinning now, all pools together
        self._spinning: dict[object, tuple[int, float, float, object]] = {}  # worker -> (turn, start, stretch, bill)
        self._turns = 0

    def idle(self, worker: object, bill) -> None:
        """`worker`'s CPU phase ended: its pool spins; `bill.cpu_seconds` is charged what it spins."""
        stretch = max(1.0, self._crowd())
        self._turns += 1
        self._spinning[worker] = (self._turns, self.env.now, stretch, bill)
        self._spun(self.spinners)
        call_later(self.env, self._spin_s * stretch, self._over, (worker, self._turns))

    def busy(self, worker: object) -> None:
        """`worker` starts a CPU phase: a pool still spinning goes to work."""
        if worker in self._spinning:
            self._stop(worker)

    def _over(self, event: simpy.Event) -> None:
        worker, turn = event.value
        if self._spinning.get(worker, (None,))[0] == turn:
            self._stop(worker)

    def _stop(self, worker: object) -> None:
        _, start, stretch, bill = self._spinning.pop(worker)
        bill.cpu_seconds += self.spinners * (self.env.now - start) / stretch
        self._spun(-self.spinners)

    def _spun(self, delta: int) -> None:
        self.threads += delta
        self._changed()
