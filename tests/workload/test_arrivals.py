"""Open-loop arrivals by piecewise thinning: counts follow the rate curve, and a quiet hour costs its own arrivals.

Counts in a bin of a Poisson process are Poisson with mean ∫rate over the bin; each bin is checked within 4.5
standard deviations (about one false alarm in 150,000 bins), with fixed seeds.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from twin.config.schema import Diurnal, Steps
from twin.kernel.rng import Draws, Uniforms, stream
from twin.workload.open_loop import poisson_times
from twin.workload.rates import curve


def arrivals(spec, until: float, seed: int = 7) -> tuple[np.ndarray, int]:
    """Arrival times up to `until`, and how many uniforms the thinning drew."""
    rng = stream(seed, "test")
    uniforms = Uniforms(rng)
    drawn = [0]
    draw = uniforms.next

    def counted() -> float:
        drawn[0] += 1
        return draw()

    uniforms.next = counted
    next_time = poisson_times(curve(spec), Draws(rng, "exponential"), uniforms)
    times, t = [], 0.0
    while (t := next_time(t)) is not None and t < until:
        times.append(t)
    return np.array(times), drawn[0]


def check_bins(times: np.ndarray, expected: list[float], edges: np.ndarray) -> None:
    counts, _ = np.histogram(times, bins=edges)
    for count, mean in zip(counts, expected):
        assert abs(count - mean) <= 4.5 * math.sqrt(mean) + 1, (count, mean)


def test_diurnal_counts_follow_the_integrated_rate_and_thinning_wastes_little():
    spec = Diurnal(type="diurnal", mean_rps=20.0, amplitude=0.8, period_s=7200.0, peak_at_s=5000.0)
    times, drawn = arrivals(spec, 7200.0)
    edges = np.linspace(0.0, 7200.0, 25)
    omega = 2 * math.pi / spec.period_s

    def integral(t: float) -> float:
        return spec.mean_rps * (t + spec.amplitude / omega * math.sin(omega * (t - spec.peak_at_s)))

    check_bins(times, [integral(b) - integral(a) for a, b in zip(edges[:-1], edges[1:])], edges)
    assert drawn < 1.05 * len(times)  # against the peak alone it would be (1 + a) / (1 - a) = 9 at night


@pytest.mark.parametrize("seed", [1, 2])
def test_steps_are_exact_pieces_that_draw_no_uniform(seed):
    spec = Steps(type="steps", steps=[{"at_s": 0, "rate_rps": 5}, {"at_s": 100, "rate_rps": 0},
                                      {"at_s": 200, "rate_rps": 40}])
    times, drawn = arrivals(spec, 300.0, seed)
    assert drawn == 0
    assert not ((times >= 100) & (times < 200)).any()
    check_bins(times, [500.0, 0.0, 4000.0], np.array([0.0, 100.0, 200.0, 300.0]))
