"""The quantile sketch: merging parts equals sketching the whole, and quantiles are within the promised 1 %."""
from __future__ import annotations

import numpy as np
import pytest

from twin.kernel.sketch import QuantileSketch


def sketch_of(values) -> QuantileSketch:
    sketch = QuantileSketch()
    for value in values:
        sketch.add(float(value))
    return sketch


def test_merged_parts_equal_the_whole_and_a_copy_is_independent():
    values = np.random.default_rng(3).lognormal(-3.0, 1.2, 5000)
    whole = sketch_of(values)
    merged = sketch_of(values[:1234])
    merged.merge(sketch_of(values[1234:]))
    merged.merge(QuantileSketch())  # an empty interval changes nothing
    assert merged.counts == whole.counts and merged.count == whole.count
    assert (merged.low, merged.high) == (whole.low, whole.high)
    assert merged.total == pytest.approx(whole.total, rel=1e-12)
    copy = whole.copy()
    copy.add(1.0)
    assert copy.count == whole.count + 1 and sum(whole.counts) == whole.count


@pytest.mark.parametrize("q", [0.01, 0.5, 0.95, 0.99, 1.0])
def test_quantiles_within_one_percent_of_the_exact_order_statistic(q):
    values = np.random.default_rng(5).exponential(0.05, 20001) + 1e-4
    exact = np.sort(values)[int(q * (len(values) - 1))]
    assert sketch_of(values).quantile(q) == pytest.approx(exact, rel=0.0101)
