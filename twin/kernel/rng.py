"""Named random streams spawned from the scenario seed, and buffered draws for the hot path.

One numpy Generator per component name: adding a component never shifts another's numbers, and the same
scenario and seed give the same results whatever else runs.
"""
from __future__ import annotations

import zlib

import numpy as np

_BLOCK = 4096


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator for component `name` under scenario `seed`."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


class Draws:
    """Unit-mean random factors drawn in blocks (a numpy call per draw would dominate the hot path).

    kind: "deterministic" (always 1), "exponential" (cv 1), "lognormal" (mean 1, coefficient of variation `cv`).
    """

    __slots__ = ("_rng", "_kind", "_cv", "_buffer", "_index")

    def __init__(self, rng: np.random.Generator, kind: str = "exponential", cv: float = 1.0) -> None:
        self._rng = rng
        self._kind = kind
        self._cv = cv
        self._buffer: list[float] = []
        self._index = 0

    def next(self) -> float:
        if self._index >= len(self._buffer):
            self._buffer = self._refill()
            self._index = 0
        value = self._buffer[self._index]
        self._index += 1
        return value

    def _refill(self) -> list[float]:
        if self._kind == "deterministic":
            return [1.0] * _BLOCK
        if self._kind == "exponential":
            return self._rng.standard_exponential(_BLOCK).tolist()
        sigma2 = np.log1p(self._cv**2)
        return self._rng.lognormal(-sigma2 / 2, np.sqrt(sigma2), _BLOCK).tolist()


class Uniforms:
    """Uniform [0, 1) numbers in blocks, for routing and thinning."""

    __slots__ = ("_rng", "_buffer", "_index")

    def __init__(self, rng: np.random.Generator) -> None:
        self._rng = rng
        self._buffer: list[float] = []
        self._index = 0

    def next(self) -> float:
        if self._index >= len(self._buffer):
            self._buffer = self._rng.random(_BLOCK).tolist()
            self._index = 0
        value = self._buffer[self._index]
        self._index += 1
        return value
