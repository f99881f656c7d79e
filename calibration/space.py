"""What a fit searches: the parameters, and how a value for each becomes one ModelProfile per (model, accelerator).

Two kinds of profile share one search:
  - the study's models (calibration/parameters.py): physical parameters shared across models, accelerators and the
    two clusters, so every run of the bundled data informs every profile it can;
  - any other model (a user's own runs, from `servetwin observe` or their JMeter tables): three parameters of its
    own, the worker's service time, the time outside the worker and the service time's coefficient of variation
    (read from the p95 of runs where no request queues; without one it stays near the study's 0.2). Its runs say
    nothing about how its work splits between CPU and GPU, how many cores it keeps busy, or how it shares a GPU,
    so those stay at plain values: the service time is on the device the row names, one core per busy worker, no
    oversubscription penalty, full time-slicing efficiency. The provenance says so.
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
SERVICE, OUTSIDE, SPREAD = "service_ms", "frontend_ms", "demand_cv"
# What an own profile's throughput and latency cannot tell apart, left at plain values (module docstring).
OWN_ASSUMED = ("cpu_threads", "parallel_regions", "gpu_busy_fraction", "gpu_ms_per_extra_item")
STUDY_CV = 0.2  # the study's fixed lognormal spread (no per-request latencies were recorded to fit it)


@dataclass(frozen=True)
class Space:
    study: bool  # the study's shared parameters are searched (some run is of a bundled model)
    own: tuple[Key, ...] = ()  # other profiles, each with its own three parameters
    starts: tuple[tuple[float, float], ...] = ()  # (service, outside) start values per `own` key

    @cached_property
    def parameters(self) -> tuple[P.Parameter, ...]:
        own = tuple(P.Parameter(own_name(key, field), start, low, high, f"{meaning}, {key[0]} on {key[1]}")
                    for key, (service, outside) in zip(self.own, self.starts)
                    for field, start, low, high, meaning in (
                        (SERVICE, service, 1e-3, 1e6, "ms in the worker per request"),
                        (OUTSIDE, outside, 1e-3, 1e6, "ms outside the worker"),
                        (SPREAD, STUDY_CV, 0.01, 3.0, "coefficient of variation of the service time")))
        return (P.PARAMETERS if self.study else ()) + own

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(p.name for p in self.parameters)

    def as_dict(self, values: Iterable[float]) -> dict[str, float]:
        return dict(zip(self.names, (float(v) for v in values)))

    def demands(self, theta: dict[str, float]) -> dict[Key, dict[str, float]]:
        """The fitted demand fields of every profile the space describes."""
        out = P.demands(theta) if self.study else {}
        for key in self.own:
            service, outside = theta[own_name(key, SERVICE)], theta[own_name(key, OUTSIDE)]
            device = "cpu" if key[1] == CPU else "gpu"
            out[key] = {"device": device, "cpu_threads": 1.0, "frontend_ms": outside,
                        "cpu_ms": service if device == "cpu" else 0.0, "gpu_ms": service if device == "gpu" else 0.0,
                        "demand_distribution": "lognormal", "demand_cv": theta[own_name(key, SPREAD)]}
        return out

    def priors(self, theta: dict[str, float], observed: set[Key]) -> list[tuple[str, float]]:
        """The study's priors, and a weak pull of each own spread towards the study's, which only matters when no
        run without queueing gives a p95."""
        own = [(own_name(key, SPREAD), math.log(theta[own_name(key, SPREAD)] / STUDY_CV) / math.log(4))
               for key in self.own]
        return (P.priors(theta, observed) if self.study else []) + own

    def profile(self, key: Key, theta: dict[str, float], memory: dict[Key, Memory]) -> ModelProfile:
        if key in P.STUDY_KEYS:
            return P.profile(key, theta, memory)
        fields, _, assumed = P.measured_fields(key, memory)
        return ModelProfile(name=f"{key[0]}-{key[1]}", **self.demands(theta)[key], **fields,
                            assumed=tuple(sorted({*assumed, *OWN_ASSUMED})))


def own_name(key: Key, field: str) -> str:
    return f"{field}[{key[0]}@{key[1]}]"


def space_for(runs: Iterable[tuple[Key, float]]) -> Space:
    """The space for runs given as (profile key, measured mean response ms): the study's parameters if any run is
    of a study profile, three of its own for every other key: service and outside times started from its quickest
    run's response split 4:1, the spread from the study's."""
    quickest: dict[Key, float] = {}
    for key, response_ms in runs:
        quickest[key] = min(response_ms, quickest.get(key, response_ms))
    own = tuple(sorted(k for k in quickest if k not in P.STUDY_KEYS))
    return Space(study=any(k in P.STUDY_KEYS for k in quickest), own=own,
                 starts=tuple((0.8 * quickest[k], 0.2 * quickest[k]) for k in own))
