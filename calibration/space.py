"""What a fit searches: the parameters, and how a value for each becomes one ModelProfile per (model, accelerator).

Two kinds of profile share one search:
  - the study's models (calibration/parameters.py): physical parameters shared across models, accelerators and the
    two clusters, so every run of the bundled data informs every profile it can;
  - any other model (a user's own runs, from `servetwin observe` or their JMeter tables): parameters of its own, the
    worker's service time, the time outside the worker and the service time's coefficient of variation (read from
    the p95 of runs where no request queues; without one it stays near the study's 0.2). Throughput and latency
    alone cannot split the response into the two times; TorchServe's own latency less its queue time (observe
    records it) is a reading of the time in the worker that does. A model served on CPU also gets the cores a
    request keeps busy (`cpu_threads`; below one for a handler that mostly waits), the slowdown when busy threads
    outnumber the cores (`cpu_oversubscription_penalty`) and how often its pool meets at a barrier, per core-ms of
    its work (`parallel_regions` over the request's core-ms). Their priors: torch's default intra-op pool, one
    thread per core in every worker process (TorchServe 0.12's handlers leave it so unless the handler or
    OMP_NUM_THREADS says otherwise), an oversubscription prior from the study's spin (PENALTY_PRIOR) and the barrier
    density counted for a family of torch models (BARRIERS_PRIOR). The threads are identified by the host's CPU use
    per request (observe records it: readings.py makes it a noisy reading of the cores the workers hold) or by runs
    with several workers busy at once; penalty and barriers only by the latter (other work on the node moves them
    a little). A field no run identifies rests on its prior and is named as assumed (`Space.assumed`), and its prior
    width reaches the prediction intervals.
  Its runs say nothing about how the work splits between CPU and GPU or how it shares a GPU: the service time is on
  the device the row names, full time-slicing efficiency. The provenance says so.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from typing import Iterable

from calibration import parameters as P
from calibration.mapping import CPU
from calibration.readings import Memory
from twin.config.schema import ModelProfile

Key = tuple[str, str]  # (model, accelerator)
SERVICE, OUTSIDE, SPREAD, THREADS, PENALTY, BARRIERS = ("service_ms", "frontend_ms", "demand_cv", "cpu_threads",
                                                         "cpu_penalty", "barriers_per_core_ms")
# What an own profile's throughput and latency cannot tell apart, left at plain values (module docstring).
OWN_ASSUMED = ("gpu_busy_fraction", "gpu_ms_per_extra_item", "load_cpu_cores")
STUDY_CV = 0.2  # the study's fixed lognormal spread (no per-request latencies were recorded to fit it)
THREADS_PRIOR_LOG_SD = math.log(4)  # handlers and OMP_NUM_THREADS often cut torch's default pool, rarely by more
# The penalty is the spin a pool burns per ms of work once the cores are contended: parameters.PRIORS["spin_ms"]
# (libgomp's GOMP_SPINCOUNT, ~0.3 ms a barrier) times barriers per ms, unknown for a model of one's own; centred where
# the study's roberta sits (0.3 ms x 74 barriers / 28 ms ~ 0.8, taken as 1), 95 % within a factor 10.
PENALTY_PRIOR = (1.0, math.log(10) / 1.96)
# How often the pool meets at a barrier, per core-ms of a request's CPU work: counted here (benchmarks/
# parallel_regions.py: libgomp's GOMP_parallel calls per forward pass at torch 2.13's default threads on 2 cores, over
# the pass's single-thread CPU ms) for a family of small torch models with random weights: transformer encoders of
# 2, 4 and 8 layers (d_model 384, 32 tokens) 7.4, 7.3 and 6.3 a ms, the 2-layer d_model-64 encoder 61, a 3-block
# conv net 8.2. Median and log sd across the family; `parallel_regions` = density × core-ms per request.
BARRIERS_PRIOR = (7.4, 0.96)


@dataclass(frozen=True)
class RunFacts:
    """What the space needs to know of one run."""

    key: Key
    response_ms: float
    vcpus: float
    busy_workers: int  # worker processes on the node that can be busy at once: min(users, pods × workers)
    cpu_reading: bool = False  # the host's CPU use was measured during the run
    core_ms: float | None = None  # that reading: core-ms per request
    worker_ms: float | None = None  # TorchServe's time in the worker per request, where its metrics were read


@dataclass(frozen=True)
class Own:
    """One profile outside the study: its start values and what its runs identify."""

    key: Key
    service: float
    outside: float
    vcpus: float = 1.0
    threads: float = 1.0  # where the search starts
    threads_identified: bool = False
    penalty_identified: bool = False

    @property
    def on_cpu(self) -> bool:
        return self.key[1] == CPU


@dataclass(frozen=True)
class Space:
    study: bool  # the study's shared parameters are searched (some run is of a bundled model)
    owns: tuple[Own, ...] = ()

    @property
    def own(self) -> tuple[Key, ...]:
        return tuple(o.key for o in self.owns)

    @cached_property
    def parameters(self) -> tuple[P.Parameter, ...]:
        return (P.PARAMETERS if self.study else ()) + tuple(p for o in self.owns for p in _own_parameters(o))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def as_dict(self, values: Iterable[float]) -> dict[str, float]:
        return dict(zip(self.names, (float(v) for v in values)))

    def demands(self, theta: dict[str, float]) -> dict[Key, dict[str, float]]:
        """The fitted demand fields of every profile the space describes."""
        out = P.demands(theta) if self.study else {}
        for own in self.owns:
            out[own.key] = _own_demands(own, theta)
        return out

    def other_starts(self) -> list[dict[str, float]]:
        """Starts beside the parameters' own: every CPU profile's pool at torch's default, all cores."""
        pools = {own_name(o.key, THREADS): o.vcpus for o in self.owns if o.on_cpu and o.threads != o.vcpus}
        return [pools] if pools else []

    def priors(self, theta: dict[str, float], observed: set[Key]) -> list[tuple[str, float]]:
        """The study's priors; a weak pull of each own spread towards the study's (it only matters when no run
        without queueing gives a p95), and of a CPU profile's threads and penalty towards theirs."""
        own = []
        for o in self.owns:
            own.append((own_name(o.key, SPREAD), math.log(theta[own_name(o.key, SPREAD)] / STUDY_CV) / math.log(4)))
            if o.on_cpu:
                own.append((own_name(o.key, THREADS),
                            math.log(theta[own_name(o.key, THREADS)] / o.vcpus) / THREADS_PRIOR_LOG_SD))
                own.append((own_name(o.key, PENALTY),
                            math.log(theta[own_name(o.key, PENALTY)] / PENALTY_PRIOR[0]) / PENALTY_PRIOR[1]))
                own.append((own_name(o.key, BARRIERS),
                            math.log(theta[own_name(o.key, BARRIERS)] / BARRIERS_PRIOR[0]) / BARRIERS_PRIOR[1]))
        return (P.priors(theta, observed) if self.study else []) + own

    def profile(self, key: Key, theta: dict[str, float], memory: dict[Key, Memory]) -> ModelProfile:
        if key in P.STUDY_KEYS:
            return P.profile(key, theta, memory)
        fields, _, assumed = P.measured_fields(key, memory)
        own = next(o for o in self.owns if o.key == key)
        unidentified = {"cpu_threads"} if own.on_cpu and not own.threads_identified else set()
        if own.on_cpu and not own.penalty_identified:
            unidentified |= {"cpu_oversubscription_penalty", "parallel_regions"}
        return ModelProfile(name=f"{key[0]}-{key[1]}", **self.demands(theta)[key], **fields,
                            assumed=tuple(sorted({*assumed, *OWN_ASSUMED, *unidentified})))

    def assumed(self, key: Key) -> list[str]:
        """The fields of an own profile that no run identifies, with the value they take."""
        own = next(o for o in self.owns if o.key == key)
        out = ["the service time all on the row's device (runs cannot split CPU from GPU time)",
               "timeslice_efficiency 1", "gpu_ms_per_extra_item 0 (no per-item batch cost)",
               "load_cpu_cores 1 while a worker loads (one loading thread: benchmarks/load_cpu.py)"]
        if own.on_cpu and not own.threads_identified:
            out.append(f"cpu_threads ~{own.vcpus:g} (torch's default pool, the node's vCPUs; no CPU reading and no "
                       "run with two workers busy)")
        if own.on_cpu and not own.penalty_identified:
            out.append(f"cpu_oversubscription_penalty ~{PENALTY_PRIOR[0]:g} (prior; no run with two workers busy)")
            out.append(f"parallel_regions ~{BARRIERS_PRIOR[0]:g} barriers per core-ms of CPU work (torch models "
                       "measured in benchmarks/parallel_regions.py; no run with two workers busy)")
        return out


def _own_parameters(own: Own) -> tuple[P.Parameter, ...]:
    where = f"{own.key[0]} on {own.key[1]}"
    found = (P.Parameter(own_name(own.key, SERVICE), own.service, 1e-3, 1e6, f"ms in the worker per request, {where}"),
             P.Parameter(own_name(own.key, OUTSIDE), own.outside, 1e-3, 1e6, f"ms outside the worker, {where}"),
             P.Parameter(own_name(own.key, SPREAD), STUDY_CV, 0.01, 3.0,
                         f"coefficient of variation of the service time, {where}"))
    if not own.on_cpu:
        return found
    return found + (
        P.Parameter(own_name(own.key, THREADS), own.threads, 0.01, max(own.vcpus, 1.01),
                    f"cores a request keeps busy, {where}"),
        P.Parameter(own_name(own.key, PENALTY), PENALTY_PRIOR[0], 1e-3, 10,
                    f"slowdown per unit of CPU oversubscription, {where}"),
        P.Parameter(own_name(own.key, BARRIERS), BARRIERS_PRIOR[0], 0.01, 1000,
                    f"thread-pool barriers per core-ms of CPU work, {where}"))


def _own_demands(own: Own, theta: dict[str, float]) -> dict[str, float]:
    key = own.key
    service, outside = theta[own_name(key, SERVICE)], theta[own_name(key, OUTSIDE)]
    fields = {"frontend_ms": outside, "demand_distribution": "lognormal", "demand_cv": theta[own_name(key, SPREAD)]}
    if not own.on_cpu:
        return {**fields, "device": "gpu", "cpu_threads": 1.0, "cpu_ms": 0.0, "gpu_ms": service}
    threads = theta[own_name(key, THREADS)]
    return {**fields, "device": "cpu", "cpu_ms": service, "gpu_ms": 0.0, "cpu_threads": threads,
            "cpu_oversubscription_penalty": theta[own_name(key, PENALTY)],
            "parallel_regions": theta[own_name(key, BARRIERS)] * service * threads}


def own_name(key: Key, field: str) -> str:
    return f"{field}[{key[0]}@{key[1]}]"


def space_for(runs: Iterable[RunFacts]) -> Space:
    """The space for these runs: the study's parameters if any run is of a study profile, its own for every other
    key, started where its runs point (`_own`)."""
    by_key: dict[Key, list[RunFacts]] = {}
    for run in runs:
        by_key.setdefault(run.key, []).append(run)
    owns = tuple(_own(key, by_key[key]) for key in sorted(k for k in by_key if k not in P.STUDY_KEYS))
    return Space(study=any(k in P.STUDY_KEYS for k in by_key), owns=owns)


def _own(key: Key, facts: list[RunFacts]) -> Own:
    """Service and outside times started from the quickest run's response, split as TorchServe's worker time says
    (4:1 without it); the threads from the CPU reading over that service time, else torch's default pool."""
    quickest = min(facts, key=lambda f: f.response_ms)
    service = min(quickest.worker_ms or 0.8 * quickest.response_ms, 0.95 * quickest.response_ms)
    vcpus = max(f.vcpus for f in facts)
    readings = sorted(f.core_ms for f in facts if f.core_ms)
    threads = min(max(readings[len(readings) // 2] / service, 0.02), vcpus) if readings else vcpus
    contended = any(f.busy_workers > 1 for f in facts)
    return Own(key, service, quickest.response_ms - service, vcpus=vcpus, threads=threads,
               threads_identified=contended or bool(readings), penalty_identified=contended)
