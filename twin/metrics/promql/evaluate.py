"""Instant-query evaluation of a parsed PromQL tree against a `tsdb.SeriesStore` at one timestamp.

Fidelity ledger
- Upstream: Prometheus 2.42 promql/engine.go (vectorSelectorSingle, matrixSelector/matrixIterSlice, the function
  and unary branches of eval, ContainsSameLabelset checks).
- Modelled: instant selectors take the newest sample in [t − offset − lookback, t − offset] and yield nothing when
  that sample is a staleness marker; range selectors take the non-stale samples in [t − offset − range,
  t − offset], both ends inclusive (Prometheus 2.x; 3.0 made the left end open); range functions drop the metric
  name except last_over_time; unary minus drops it too; a vector whose label sets collide is an error.
- Not modelled: range queries (the caller evaluates at each step), query limits, subqueries, @.
"""
from __future__ import annotations

from typing import Union

from twin.metrics.promql import syntax as ast
from twin.metrics.promql import functions as functions
from twin.metrics.promql import ops as ops
from twin.metrics.promql import values as values
from twin.metrics import tsdb

VectorT = list[values.Sample]
Value = Union[float, str, VectorT, list[functions.Window]]


class Evaluator:
    def __init__(self, store: tsdb.SeriesStore, *, now_ms: int, lookback_ms: int) -> None:
        self.store, self.now_ms, self.lookback_ms = store, now_ms, lookback_ms

    def eval(self, node: ast.Node) -> Value:
        if isinstance(node, ast.NumberLiteral):
            return node.value
        if isinstance(node, ast.StringLiteral):
            return node.value
        if isinstance(node, ast.VectorSelector):
            return self.instant(node)
        if isinstance(node, ast.Call):
            return self.call(node)
        if isinstance(node, ast.Aggregate):
            return _unique(ops.aggregate(node, self.eval(node.expr)))
        if isinstance(node, ast.Unary):
            return self.negate(self.eval(node.expr))
        if isinstance(node, ast.Binary):
            return self.binary(node)
        raise TypeError(f"a range vector cannot be evaluated on its own: {node}")

    def instant(self, node: ast.VectorSelector) -> VectorT:
        ref = self.now_ms - node.offset_ms
        out = []
        for series in self.store.select(node.matchers, mint_ms=ref - self.lookback_ms, maxt_ms=ref):
            newest = series.values[-1]
            if not tsdb.is_stale(newest):
                out.append(values.Sample(dict(series.labels), newest))
        return out

    def windows(self, node: ast.MatrixSelector) -> list[tuple[dict[str, str], functions.Window]]:
        end = self.now_ms - node.selector.offset_ms
        start = end - node.range_ms
        out = []
        for series in self.store.select(node.selector.matchers, mint_ms=start, maxt_ms=end):
            times, vals = series.times_ms, series.values
            if any(v != v for v in vals):  # only NaNs can be staleness markers: filter in that rare case
                kept = [i for i, v in enumerate(vals) if not tsdb.is_stale(v)]
                times, vals = [times[i] for i in kept], [vals[i] for i in kept]
            if not times:
                continue
            window = functions.Window(times, vals, start, end)
            out.append((dict(series.labels), window))
        return out

    def call(self, node: ast.Call) -> Value:
        fn = functions.RANGE_FUNCTIONS.get(node.func)
        if fn is None:
            args = [self.eval(arg) for arg in node.args]
            result = functions.INSTANT_FUNCTIONS[node.func](args, self.now_ms)
            return _unique(result) if isinstance(result, list) else result
        matrix = node.args[0]
        assert isinstance(matrix, ast.MatrixSelector)  # the parser's type check guarantees it
        out = []
        for labels, window in self.windows(matrix):
            value = fn(window)
            if value is not None:
                kept = labels if node.func in functions.KEEPS_NAME else values.drop_name(labels)
                out.append(values.Sample(kept, value))
        return _unique(out)

    @staticmethod
    def negate(operand: Value) -> Value:
        if isinstance(operand, float):
            return -operand
        return _unique([values.Sample(values.drop_name(s.labels), -s.value) for s in operand])

    def binary(self, node: ast.Binary) -> Value:
        lhs, rhs = self.eval(node.lhs), self.eval(node.rhs)
        if isinstance(lhs, float) and isinstance(rhs, float):
            return ops.scalar_binop(node.op, lhs, rhs)
        if isinstance(rhs, float):
            return _unique(ops.vector_scalar(node.op, lhs, rhs, scalar_left=False, return_bool=node.return_bool))
        if isinstance(lhs, float):
            return _unique(ops.vector_scalar(node.op, rhs, lhs, scalar_left=True, return_bool=node.return_bool))
        return _unique(ops.vector_binop(node, lhs, rhs))


def _unique(vector: VectorT) -> VectorT:
    """Prometheus refuses a vector in which two elements have the same label set."""
    if len({values.label_key(s.labels) for s in vector}) != len(vector):
        raise ops.EvaluationError("elements with distinct label sets",
                                  "vector cannot contain metrics with the same labelset")
    return vector
