"""Fit a parameter space (calibration/space.py: the study's shared physical parameters, each other model's own) to
the measured runs.

Search: weighted least squares on log errors of throughput and mean latency, with the resource readings as extra
residuals (utilisation law), the p95 of an own profile's runs where nobody queues, and weak physical priors, solved
over log-parameters with the analytic surrogate. Confirm: the twin itself simulates every run at the optimum; its
ratio to the surrogate per run (the surrogate's approximation error under sharing) multiplies the surrogate in the
next search — space mapping — until the parameters settle. Uncertainty: the linearised (Laplace) covariance of the
log-parameters at the optimum, scaled by the misfit when the runs disagree more than their rounding, with the search
bounds as a vague prior (so a direction no run informs stays as wide as the bounds), as 95 % ranges.
"""
from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from calibration.mapping import MappingError, Setup, setup_of
from calibration.parameters import host_core_ms, kernel_ms
from calibration.readers import Run
from calibration.readings import Constraint, Readings
from calibration.space import RunFacts, Space, space_for
from calibration.surrogate import Estimate, estimate, unqueued_p95_ms
from calibration.predict import twin_estimates
from twin.config.schema import ModelProfile
from twin.k8s.node import cpu_sharing, default_slice_ms

OBSERVATION_SD = 0.05  # README numbers are rounded ("15/s", "300ms"): about 5 % either way
UNIDENTIFIED = math.log(100)  # a 95 % half-range wider than this (in log units) says "not identified"
# Readings are single instants of sampled quantities, so each is a likelihood term with its own noise, never an
# equality: NVML averages "a kernel ran" over a 1/6-1 s sample period and nvtop shows one such sample; htop's
# per-process CPU% is ~1.5 s of /proc ticks. Between instants of a steady closed loop the busy count itself moves
# (a few of 5 users' requests in the phase at once), so a factor ~1.3 either way (log sd 0.25).
# TorchServe's latency less its queue time is a mean over the run's requests, but it holds the frontend's own handling
# of each job beside the worker's time (1-3 ms on a loopback server, the sleepy handler's 53.9 ms against its 50 ms
# sleep here): a factor ~1.1 either way.
# The server's CPU that observe reads is the processes' CPU time over the whole run (/proc ticks, not an instant), but
# it holds the JVM frontend's and the worker's own handling beside the pool's work (a handler that only sleeps reads
# ~7 core-ms a request here): ~1.1 either way.
CONSTRAINT_SD = {"gpu_ms": 0.25, "cpu_core_ms": 0.25, "server_core_ms": 0.1, "worker_ms": 0.1}


@dataclass(frozen=True)
class Observation:
    run: Run
    setup: Setup

    @property
    def id(self) -> str:
        return self.run.config.id

    @property
    def vcpus(self) -> float:
        return float(self.run.config.node_vcpus)


@dataclass
class Fit:
    space: Space
    theta: dict[str, float]
    low: dict[str, float]  # 95 % range
    high: dict[str, float]
    used: tuple[str, ...]  # run ids fitted
    rms_log_error: float  # over the runs' throughput and latency, twin-confirmed
    corrections: dict[str, tuple[float, float]] = field(default_factory=dict)  # twin / surrogate per run
    rounds: int = 0
    covariance: np.ndarray | None = None  # of the log-parameters, in the space's order

    def field_covariance(self, key: tuple[str, str]) -> tuple[dict[str, float], np.ndarray]:
        """The fields of a profile that fitted parameters move (derived ones included), and the covariance of their
        logs by the delta method; a field no parameter moves is fixed, not uncertain, and is left out."""
        u = np.log([self.theta[n] for n in self.space.names])
        base = self.space.demands(self.theta)[key]
        names = [n for n, v in base.items() if isinstance(v, float) and v > 0]
        moved = [self.space.demands(self.space.as_dict(np.exp(u + step)))[key] for step in np.eye(len(u)) * 1e-5]
        gradient = np.array([[(math.log(f[n]) - math.log(base[n])) / 1e-5 for f in moved] for n in names])
        fitted = [i for i, row in enumerate(gradient) if np.any(row != 0)]
        jacobian = gradient[fitted].reshape(len(fitted), len(u))
        return {names[i]: base[names[i]] for i in fitted}, jacobian @ self.covariance @ jacobian.T

    def field_ranges(self, key: tuple[str, str]) -> dict[str, tuple[float, float | None, float | None]]:
        """(value, low, high) at 95 % of every fitted field of a profile; low and high are None where the runs
        fitted leave the field unidentified (a range wider than 100×)."""
        values, covariance = self.field_covariance(key)
        out = {}
        for (name, value), variance in zip(values.items(), np.diag(covariance)):
            spread = 1.96 * math.sqrt(max(0.0, float(variance)))
            out[name] = (value, None, None) if spread > UNIDENTIFIED else (
                value, value * math.exp(-spread), value * math.exp(spread))
        return out


def observations(runs: tuple[Run, ...]) -> tuple[list[Observation], list[str]]:
    """Runs with a measured throughput and latency that map to a scenario; a message for each one skipped."""
    usable, skipped = [], []
    for run in runs:
        result = run.result
        if result is None or not result.throughput_rps or not result.avg_response_ms:
            skipped.append(f"{run.config.id}: no measured throughput and mean latency")
            continue
        try:
            usable.append(Observation(run, setup_of(run.config)))
        except MappingError as error:
            skipped.append(str(error))
    return usable, skipped


def _residuals(u: np.ndarray, space: Space, obs: list[Observation], readings: Readings,
               corrections: dict[str, tuple[float, float]]) -> np.ndarray:
    theta = space.as_dict(np.exp(u))
    fields = space.demands(theta)
    out, estimates = [], {}
    for o in obs:
        profile = _profile(fields[o.setup.profile_key])
        e = estimate(o.setup, profile, vcpus=o.vcpus)
        estimates[o.id] = (o, e)
        cx, cr = corrections.get(o.id, (1.0, 1.0))
        out.append(math.log(e.throughput_rps * cx / o.run.result.throughput_rps) / OBSERVATION_SD)
        out.append(math.log(e.mean_ms * cr / o.run.result.avg_response_ms) / OBSERVATION_SD)
    for o in obs:  # the tail of an own profile, where no request waits for a worker or for a batch to fill
        if o.setup.profile_key in space.own and o.run.result.p95_response_ms and o.setup.users <= o.setup.workers \
                and o.setup.batch_size == 1:
            profile = _profile(fields[o.setup.profile_key])
            out.append(math.log(unqueued_p95_ms(profile) / o.run.result.p95_response_ms) / OBSERVATION_SD)
    for c in readings.constraints:  # noisy readings of defined quantities (calibration/readings.py)
        modelled = _modelled(c, fields, estimates)
        if modelled is not None:
            out.append(math.log(modelled / c.value) / CONSTRAINT_SD[c.kind])
    out.extend(value for _, value in space.priors(theta, {o.setup.profile_key for o in obs}))
    return np.asarray(out)


def _modelled(c: Constraint, fields: dict, estimates: dict[str, tuple[Observation, Estimate]]) -> float | None:
    """The fit's value of what a reading measures; None where the fit has no such profile (or run, for a reading
    of one run's worker time)."""
    if c.key not in fields:
        return None
    f, run = fields[c.key], estimates.get(c.run_id)
    if c.kind == "worker_ms":
        return run[1].worker_ms if run else None
    if c.kind == "server_core_ms":
        return held_core_ms(run[1], f, c.vcpus, run[0].setup.background_threads) if run else None
    return kernel_ms(f) if c.kind == "gpu_ms" else host_core_ms(f, c.vcpus)


def held_core_ms(e: Estimate, fields: dict, vcpus: float, background: float) -> float:
    """Core-ms per request a CPU-served model's processes hold over a run (what observe's reading of their CPU over
    the throughput measures): for the request's time in the worker, the cores the node grants its pool beside the
    other busy workers and the node's other work (twin/k8s/node.py `cpu_sharing`: spin included, barrier sleep not);
    a batch's cores serve its every request."""
    busy = max(1e-9, e.throughput_rps * e.worker_ms / 1000 / e.batch_items)  # Little's law: batches in workers
    cores_of = cpu_sharing(vcpus, _profile(fields), slice_ms=default_slice_ms(vcpus), background=background)[1]
    return e.worker_ms * cores_of(busy) / (busy * e.batch_items)


def _profile(fields: dict) -> ModelProfile:
    return ModelProfile(**fields)


def _search(space: Space, obs, readings, corrections, start: np.ndarray):
    lower, upper = _bounds(space)
    return least_squares(_residuals, np.clip(start, lower + 1e-9, upper - 1e-9), bounds=(lower, upper),
                         args=(space, obs, readings, corrections), x_scale=1.0, diff_step=1e-4)


def _best_start(space: Space, obs, readings, corrections, u: np.ndarray):
    """The search from `u` and from each other start the space suggests, the one that fits best (a pool that wants
    little of a core and one starved of its share read the same on a busy node: both are tried)."""
    starts = [u] + [np.where([n in other for n in space.names], np.log([other.get(n, 1.0) for n in space.names]), u)
                    for other in space.other_starts()]
    return min((_search(space, obs, readings, corrections, s) for s in starts), key=lambda r: r.cost)


def _bounds(space: Space) -> tuple[np.ndarray, np.ndarray]:
    return np.log([p.lower for p in space.parameters]), np.log([p.upper for p in space.parameters])


def fit(obs: list[Observation], readings: Readings, *, space: Space | None = None,
        start: dict[str, float] | None = None, corrections: dict[str, tuple[float, float]] | None = None,
        rounds: int = 3, seeds: int = 3, progress: Callable[[int, int], None] | None = None) -> Fit:
    """Fit to `obs` in `space` (default: the space their profiles need); `space`, `start` and `corrections` let a
    leave-one-out fold begin from the full fit; `progress` hears (rounds done, rounds) as each round ends."""
    space = space or space_for(_facts(obs, readings))
    corrections = dict(corrections or {})
    u = np.log([(start or {}).get(p.name, p.initial) for p in space.parameters])
    result = None
    for round_ in range(1, rounds + 1):
        result = _search(space, obs, readings, corrections, u) if start or round_ > 1 else \
            _best_start(space, obs, readings, corrections, u)
        moved = float(np.max(np.abs(result.x - u)))
        u = result.x
        corrections = _twin_corrections(space, obs, u, readings, seeds=seeds)
        converged = moved < 0.02 and round_ > 1
        if progress:
            progress(rounds if converged else round_, rounds)
        if converged:
            break
    theta = space.as_dict(np.exp(u))
    low, high, covariance = _ranges(space, result)
    rms = _twin_rms(space, obs, corrections, u, readings)
    return Fit(space, theta, low, high, tuple(o.id for o in obs), rms, corrections, round_, covariance)


def _facts(obs: list[Observation], readings: Readings) -> list[RunFacts]:
    read = {(c.kind, c.run_id): c.value for c in readings.constraints if c.kind in ("server_core_ms", "worker_ms")}
    return [RunFacts(o.setup.profile_key, o.run.result.avg_response_ms, o.vcpus,
                     min(o.setup.users, o.setup.pods * o.setup.workers), ("server_core_ms", o.id) in read,
                     o.setup.batched, read.get(("server_core_ms", o.id)), read.get(("worker_ms", o.id))) for o in obs]


def _twin_corrections(space: Space, obs, u, readings, *, seeds: int):
    theta = space.as_dict(np.exp(u))
    profiles = {key: space.profile(key, theta, readings.memory) for key in {o.setup.profile_key for o in obs}}
    twin = twin_estimates([(o.run.config, o.setup) for o in obs], profiles, seeds=seeds)
    fields = space.demands(theta)
    corrections = {}
    for o in obs:
        e = estimate(o.setup, _profile(fields[o.setup.profile_key]), vcpus=o.vcpus)
        x, r = twin[o.id]
        corrections[o.id] = (x / e.throughput_rps, r / e.mean_ms)
    return corrections


def _twin_rms(space: Space, obs, corrections, u, readings) -> float:
    residuals = _residuals(u, space, obs, readings, corrections)[: 2 * len(obs)] * OBSERVATION_SD
    return float(np.sqrt(np.mean(residuals ** 2))) if len(residuals) else float("nan")


def _ranges(space: Space, result) -> tuple[dict[str, float], dict[str, float], np.ndarray]:
    jac = result.jac
    dof = max(1, len(result.fun) - len(result.x))
    scale = max(1.0, 2 * result.cost / dof)
    lower, upper = _bounds(space)
    # the search bounds as a vague 95 % prior: a direction no run informs keeps the bounds' width, not none at all
    vague = np.diag(((upper - lower) / (2 * 1.96)) ** -2.0)
    cov = np.linalg.inv(jac.T @ jac / scale + vague)
    sd = np.sqrt(np.clip(np.diag(cov), 0, None))
    low = space.as_dict(np.exp(np.maximum(result.x - 1.96 * sd, lower)))
    high = space.as_dict(np.exp(np.minimum(result.x + 1.96 * sd, upper)))
    return low, high, cov
