"""90 % prediction intervals: what the fit does not know, what the seed decides, and what the model gets wrong.

A measurement differs from the twin's prediction for three reasons:
  - the parameters: the fit's covariance of its log-parameters (calibration/fit.py), carried to the profile's fields
    by the delta method (`Spread`) and written into the profile's provenance, so `predict` needs no refit;
  - the seed: which users land on which pod, the service-time draws;
  - the model's misfit and the measurement's own noise: the fit's rms log error over the runs it fitted, scaled by
    √(n / (n − k)) for the k parameters it spent on n residuals. That is an in-sample figure, so an interval is
    only as honest as the fit is general: `servetwin check` measures its coverage on runs the fit did not see.
The twin runs once per draw of the profile's fields, each draw with its own seed, so one ensemble holds the first two;
the interval is log-normal about the prediction: log y ± z₀.₉₅ · √(variance of the ensemble's logs + misfit²).
"""
from __future__ import annotations

import math
import typing
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from twin.config.schema import ModelProfile

if TYPE_CHECKING:
    from calibration.fit import Fit

Z90 = 1.6448536269514722  # the standard normal's 95th percentile: a two-sided 90 % interval
DEFAULT_DRAWS = 12


@dataclass(frozen=True)
class Spread:
    """How uncertain one profile is: the covariance of its fitted fields' logs and the fit's misfit (log sd)."""

    fields: tuple[str, ...] = ()
    log_covariance: tuple[tuple[float, ...], ...] = ()
    misfit_sd: float = 0.0

    def draws(self, profile: ModelProfile, count: int, rng: np.random.Generator) -> list[ModelProfile]:
        """`count` profiles with the fitted fields drawn jointly (log-normal about `profile`'s values)."""
        if not self.fields:
            return [profile] * count
        steps = rng.multivariate_normal(np.zeros(len(self.fields)), np.array(self.log_covariance), size=count,
                                        method="eigh")
        return [profile.model_copy(update={name: _bounded(name, getattr(profile, name) * math.exp(step))
                                           for name, step in zip(self.fields, row)}) for row in steps]

    def without(self, names: set[str]) -> Spread:
        """The spread of the other fields (a scenario that sets a field itself makes it certain)."""
        keep = [i for i, name in enumerate(self.fields) if name not in names]
        return Spread(tuple(self.fields[i] for i in keep),
                      tuple(tuple(self.log_covariance[i][j] for j in keep) for i in keep), self.misfit_sd)

    def as_dict(self) -> dict:
        return {"fields": list(self.fields), "misfit_log_sd": round(self.misfit_sd, 5),
                "log_covariance": [[float(f"{v:.5g}") for v in row] for row in self.log_covariance]}

    @classmethod
    def from_dict(cls, document: dict) -> Spread:
        return cls(tuple(document["fields"]), tuple(tuple(row) for row in document["log_covariance"]),
                   float(document["misfit_log_sd"]))


def spread_of(fit: Fit, key: tuple[str, str]) -> Spread:
    """The Spread of a fitted profile."""
    values, covariance = fit.field_covariance(key)
    residuals, parameters = 2 * len(fit.used), len(fit.space.names)
    misfit = fit.rms_log_error * math.sqrt(residuals / max(1, residuals - parameters))
    return Spread(tuple(values), tuple(map(tuple, covariance.tolist())), misfit)


def from_ranges(ranges: dict[str, dict], misfit_sd: float) -> Spread:
    """A Spread from a profile's 95 % ranges alone (profiles written before the covariance was kept): each field on
    its own, which overstates the spread where fitted fields trade off against each other."""
    fields = [name for name, r in ranges.items() if "low" in r and r["low"] > 0]
    sd = [math.log(ranges[name]["high"] / ranges[name]["low"]) / (2 * 1.96) for name in fields]
    return Spread(tuple(fields), tuple(tuple(s * s if i == j else 0.0 for j, s in enumerate(sd))
                                       for i, _ in enumerate(sd)), misfit_sd)


@dataclass(frozen=True)
class Band:
    """A 90 % interval."""

    low: float
    high: float

    def holds(self, value: float) -> bool:
        return self.low <= value <= self.high


def band(center: float, ensemble: list[float], misfit_sd: float) -> Band:
    """The interval about `center` from the ensemble's spread (parameters and seeds) and the misfit."""
    logs = np.log([v for v in ensemble if v > 0])
    variance = float(np.var(logs, ddof=1)) if len(logs) > 1 else 0.0
    half = Z90 * math.sqrt(variance + misfit_sd ** 2)
    return Band(center * math.exp(-half), center * math.exp(half))


def _bounded(name: str, value: float) -> float:
    """A drawn value kept within the schema's own limits for the field (timeslice_efficiency <= 1, say)."""
    for limit in _limits(ModelProfile.model_fields[name]):
        top = getattr(limit, "le", None)
        if top is not None:
            value = min(value, top)
    return value


def _limits(info) -> list:
    """A field's constraints, also where the type is an optional Annotated[float, Field(...)]."""
    found = list(info.metadata)
    for argument in typing.get_args(info.annotation):
        for meta in getattr(argument, "__metadata__", ()):
            found += [meta, *getattr(meta, "metadata", ())]
    return found


def of_provenance(provenance: dict) -> Spread | None:
    """The Spread a calibrated profile's provenance records: its prediction_spread, else (an older file) its 95 %
    ranges field by field with the fit's rms log error as the misfit; None for a profile without either."""
    if "prediction_spread" in provenance:
        return Spread.from_dict(provenance["prediction_spread"])
    if "parameters_95pct" in provenance:
        misfit = provenance.get("fit_quality", {}).get("rms_log_error_all_runs", 0.0)
        return from_ranges(provenance["parameters_95pct"], misfit)
    return None


def in_profile_file(path) -> Spread | None:
    """The Spread of a profile file (None for a hand-set one)."""
    import yaml

    document = yaml.safe_load(open(path, encoding="utf-8"))
    provenance = document.get("provenance") if isinstance(document, dict) else None
    return of_provenance(provenance) if isinstance(provenance, dict) else None


HEADLINE = (("throughput_rps", "throughput req/s"), ("latency_ms.mean", "latency mean ms"),
            ("latency_ms.p95", "latency p95 ms"), ("latency_ms.p99", "latency p99 ms"),
            ("cost.usd_per_million", "$ per million"))


def headline_bands(summaries: list[dict], misfit_sd: float) -> dict[str, dict[str, float]]:
    """Mean and 90 % interval of each headline number over replications (summary dicts of `servetwin run`)."""
    out = {}
    for path, _ in HEADLINE:
        values = [_at(s, path) for s in summaries]
        values = [v for v in values if v is not None and v > 0]
        if values:
            mean = float(np.mean(values))
            b = band(mean, values, misfit_sd)
            out[path] = {"mean": mean, "low": b.low, "high": b.high}
    return out


def _at(summary: dict, path: str) -> float | None:
    value = summary
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value
