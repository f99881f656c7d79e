"""Named random streams spawned from the scenario seed, and buffered draws for the hot path.

One numpy Generator per component name: adding a component never shifts another's numbers, and the same
scenario and seed give the same results whatever else runs.

Draws come from numpy in blocks (a numpy call per draw would dominate the hot path) through a generator, so taking
one is a single C-level `__next__`. A block of Python floats costs 32 bytes a number: 4,096 of them in each of 160 pods
(21 MB) fall out of the CPU caches, so per-pod streams ask for small blocks; the numbers do not depend on the block
size when one consumer has the Generator to itself.
"""
from __future__ import annotations

import zlib
from typing import Callable, Iterator

import numpy as np

BLOCK = 4096
SMALL_BLOCK = 256  # for streams of which there is one per pod


def stream(seed: int, name: str) -> np.random.Generator:
    """The generator for component `name` under scenario `seed`."""
    return np.random.default_rng([seed, zlib.crc32(name.encode())])


class Draws:
    """Unit-mean random factors; `next()` gives one.

    kind: "deterministic" (always 1), "exponential" (cv 1), "lognormal" (mean 1, coefficient of variation `cv`).
    """

    __slots__ = ("next",)

    def __init__(self, rng: np.random.Generator, kind: str = "exponential", cv: float = 1.0, *,
                 block: int = BLOCK) -> None:
        self.next: Callable[[], float] = _blocks(_block_of(rng, kind, cv, block)).__next__


class Uniforms:
    """Uniform [0, 1) numbers, for routing and thinning; `next()` gives one."""

    __slots__ = ("next",)

    def __init__(self, rng: np.random.Generator, *, block: int = BLOCK) -> None:
        self.next: Callable[[], float] = _blocks(lambda: rng.random(block).tolist()).__next__


def _block_of(rng: np.random.Generator, kind: str, cv: float, block: int) -> Callable[[], list[float]]:
    if kind == "deterministic":
        return lambda: [1.0] * block
    if kind == "exponential":
        return lambda: rng.standard_exponential(block).tolist()
    sigma2 = float(np.log1p(cv**2))
    return lambda: rng.lognormal(-sigma2 / 2, np.sqrt(sigma2), block).tolist()


def _blocks(refill: Callable[[], list[float]]) -> Iterator[float]:
    while True:
        yield from refill()
