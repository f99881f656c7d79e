"""A batch's demand on the CPU when the handler runs it as one forward pass, not as its requests one after another.

Fidelity ledger — upstream: pytorch/serve 0.12 `BaseHandler.handle` (preprocess stacks the batch, one `inference`
call), the suite's encoder handler likewise. Measured here (benchmarks/batch_cost.py, torch 2.x, one thread, process
CPU time, four small torch models with random weights): an item beyond the first costs a share of the first, 0.15 to
1.13, median 0.68 (the pass amortises per-op dispatch and weight traffic): `cpu_ms_per_extra_item`; and the thread
pool meets at each op's barrier once per batch, each region larger: the counts grow by 0.03-0.07 of batch 1's per
extra item (a few ops crossing ATen's grain size), not by 1: `parallel_regions_per_extra_item`. Both unset: a batch
costs as many requests, barriers included (the twin before these fields, and a handler that loops over its batch).
Modelled: the CPU (twin/k8s/node.py) shares its cores by processor sharing with one speed for every job, its barrier
waits charged per ms of a batch-1 request's work; a batch with fewer barriers per ms of work gets the demand that
takes as long at the crowd it starts in: its work W with the share s of a request's time that barriers take moved
to the batch's own barrier count, W (1 − s) + cpu_ms (R_batch / R) s. Exact on an idle node, for a batch of one and
while the crowd holds for the batch's time (a closed loop in steady state). Not modelled: the crowd changing while
a batch runs; a batch's better scaling across a pool's threads (the share is measured on one thread); the cores a
batch holds are counted with a request's mix of work and waits.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable

from twin.config.schema import ModelProfile


def one_pass(profile: ModelProfile) -> bool:
    """The profile runs a batch as one forward pass (either per-item field set), not as its requests in a row."""
    return profile.cpu_ms_per_extra_item is not None or profile.parallel_regions_per_extra_item is not None


def barrier_share(speed_for: Callable[[ModelProfile], Callable[[int], float]],
                  profile: ModelProfile) -> Callable[[int], float]:
    """jobs -> the share of a batch-1 request's time on the CPU that its barriers take: 1 − its per-job speed over
    the speed it would have without them, `speed_for(profile)` being the node's speed rule (twin/k8s/node.py)."""
    speed, bare = speed_for(profile), speed_for(_without_barriers(profile))
    return lambda jobs: 1.0 - speed(jobs) / bare(jobs)


@lru_cache(maxsize=64)
def _without_barriers(profile: ModelProfile) -> ModelProfile:
    return profile.model_copy(update={"parallel_regions": 0.0})


class BatchCost:
    """The CPU work of a batch of `size` and the stretch its barriers' mix asks of the node's shared CPU."""

    __slots__ = ("_first_s", "_extra_s", "_region_ratio", "_barrier_share")

    def __init__(self, profile: ModelProfile, barrier_share: Callable[[int], float]) -> None:
        extra, regions = profile.cpu_ms_per_extra_item, profile.parallel_regions
        self._first_s = profile.cpu_ms / 1000.0
        self._extra_s = (profile.cpu_ms if extra is None else extra) / 1000.0
        per_item = profile.parallel_regions_per_extra_item
        self._region_ratio = 1.0 if per_item is None or regions <= 0.0 else per_item / regions
        self._barrier_share = barrier_share  # jobs on the CPU -> share of a request's time at barriers

    def work_s(self, size: int) -> float:
        """Seconds of work on an idle node."""
        return self._first_s + self._extra_s * (size - 1)

    def stretch(self, size: int, jobs: int) -> float:
        """The batch's demand over its work with `jobs` on the CPU (itself included): module docstring."""
        work = self.work_s(size)
        share = self._barrier_share(jobs)
        if share <= 0.0 or work <= 0.0:
            return 1.0
        barriers_as_work = self._first_s * (1.0 + self._region_ratio * (size - 1))
        return 1.0 - share + share * barriers_as_work / work
