"""Values a PromQL query produces: a scalar, or an instant vector of labelled samples."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator, Mapping

from twin.metrics import tsdb


@dataclass(frozen=True, slots=True)
class Sample:
    """One element of an instant vector; `labels` carries `__name__` when the query keeps the metric name."""

    labels: Mapping[str, str]
    value: float


@dataclass(frozen=True, slots=True)
class Scalar:
    value: float


@dataclass(frozen=True, slots=True)
class Vector:
    samples: tuple[Sample, ...]

    def __iter__(self) -> Iterator[Sample]:
        return iter(self.samples)

    def __len__(self) -> int:
        return len(self.samples)


def drop_name(labels: Mapping[str, str]) -> dict[str, str]:
    """Labels without the metric name, as Prometheus returns them from functions and arithmetic."""
    return {k: v for k, v in labels.items() if k != tsdb.METRIC_NAME}


def label_key(labels: Mapping[str, str]) -> tuple[tuple[str, str], ...]:
    """A hashable, order-independent identity for a label set."""
    return tuple(sorted(labels.items()))
