"""PromQL binary operators, one-to-one vector matching, set operators and aggregations.

Fidelity ledger
- Upstream: Prometheus 2.42 promql/engine.go (scalarBinop, vectorElemBinop, VectorscalarBinop, VectorBinop,
  VectorAnd/Or/Unless, signatureFunc, resultMetric, shouldDropMetricName, aggregation).
- Modelled: Go float semantics (x/0 = ±Inf, 0/0 = NaN, math.Mod, math.Pow, math.Atan2); comparisons as filters
  that keep the vector's value, or 0/1 with `bool`; metric name dropped by + - * / % ^ and by `bool` (not by
  atan2 or plain comparisons); one-to-one matching on all labels but the name, `on(..)` or `ignoring(..)`, with the
  result keeping only the `on` labels or losing the `ignoring` ones; the engine's errors for duplicate series on
  the right side and for several left series matching one right series; sum/avg/max/min/count/group with `by` or
  `without`, including Prometheus' incremental mean and NaN handling for max/min.
- Not modelled: group_left/group_right, topk/bottomk/quantile/stddev/stdvar/count_values, native histograms.
"""
from __future__ import annotations

import operator
from typing import Callable, Mapping

import numpy as np

from twin.metrics.promql import syntax as ast
from twin.metrics.promql import values as values
from twin.metrics import tsdb

VectorT = list[values.Sample]


class EvaluationError(Exception):
    """A query that parses but cannot be answered for this data, as the Prometheus engine reports it."""

    def __init__(self, expected: str, got: str) -> None:
        super().__init__(f"expected {expected}, got {got}")
        self.expected, self.got = expected, got


_ARITH: dict[str, Callable[[float, float], float]] = {
    "+": operator.add,
    "-": operator.sub,
    "*": operator.mul,
    "/": operator.truediv,
    "%": np.fmod,  # C fmod = Go math.Mod (the result takes the dividend's sign)
    "^": np.power,
    "atan2": np.arctan2,
}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "==": operator.eq, "!=": operator.ne, ">": operator.gt, "<": operator.lt, ">=": operator.ge, "<=": operator.le,
}
_DROPS_NAME = frozenset({"+", "-", "*", "/", "%", "^"})


def scalar_binop(op: str, lhs: float, rhs: float) -> float:
    if op in _COMPARE:
        return 1.0 if _COMPARE[op](lhs, rhs) else 0.0
    return _arith(op, lhs, rhs)


def _arith(op: str, lhs: float, rhs: float) -> float:
    # numpy float64 gives IEEE results (±Inf, NaN) where Python floats raise, as Go does; the caller silences warnings.
    return float(_ARITH[op](np.float64(lhs), rhs))


def _element(op: str, lhs: float, rhs: float, kept: float, return_bool: bool) -> float | None:
    """Value of one pair, or None when a comparison filters it out; `kept` is what a passing comparison keeps."""
    if op not in _COMPARE:
        return _arith(op, lhs, rhs)
    passed = _COMPARE[op](lhs, rhs)
    if return_bool:
        return 1.0 if passed else 0.0
    return kept if passed else None


def vector_scalar(op: str, vector: VectorT, scalar: float, *, scalar_left: bool, return_bool: bool) -> VectorT:
    drop = op in _DROPS_NAME or return_bool
    out = []
    for s in vector:
        lhs, rhs = (scalar, s.value) if scalar_left else (s.value, scalar)
        value = _element(op, lhs, rhs, s.value, return_bool)
        if value is not None:
            out.append(values.Sample(values.drop_name(s.labels) if drop else s.labels, value))
    return out


def signature(labels: Mapping[str, str], matching: ast.VectorMatching) -> tuple[tuple[str, str], ...]:
    if matching.on:
        return tuple(sorted((k, labels[k]) for k in matching.labels if k in labels))
    ignored = {tsdb.METRIC_NAME, *matching.labels}
    return tuple(sorted((k, v) for k, v in labels.items() if k not in ignored))


def vector_binop(node: ast.Binary, lhs: VectorT, rhs: VectorT) -> VectorT:
    matching = node.matching or ast.VectorMatching()
    if node.op in ast.SET_OPS:
        return _set_op(node.op, lhs, rhs, matching)
    if not lhs or not rhs:
        return []
    right: dict[tuple, values.Sample] = {}
    for s in rhs:
        sig = signature(s.labels, matching)
        if sig in right:
            raise EvaluationError("unique series on the right-hand side of " + repr(node.op),
                                  f"found duplicate series for the match group {dict(sig)}")
        right[sig] = s
    matched: set[tuple] = set()
    out = []
    for s in lhs:
        sig = signature(s.labels, matching)
        other = right.get(sig)
        if other is None:
            continue
        value = _element(node.op, s.value, other.value, s.value, node.return_bool)
        if value is None:
            continue
        if sig in matched:
            raise EvaluationError("one-to-one matching", "multiple matches for labels: many-to-one matching must "
                                  "be explicit (group_left/group_right)")
        matched.add(sig)
        out.append(values.Sample(_result_labels(s.labels, node, matching), value))
    return out


def _result_labels(labels: Mapping[str, str], node: ast.Binary, matching: ast.VectorMatching) -> dict[str, str]:
    drop = {tsdb.METRIC_NAME} if node.op in _DROPS_NAME or node.return_bool else set()
    if matching.on:
        return {k: v for k, v in labels.items() if k in matching.labels and k not in drop}
    drop.update(matching.labels)
    return {k: v for k, v in labels.items() if k not in drop}


def _set_op(op: str, lhs: VectorT, rhs: VectorT, matching: ast.VectorMatching) -> VectorT:
    right = {signature(s.labels, matching) for s in rhs}
    if op == "and":
        return [s for s in lhs if signature(s.labels, matching) in right]
    if op == "unless":
        return [s for s in lhs if signature(s.labels, matching) not in right]
    left = {signature(s.labels, matching) for s in lhs}
    return lhs + [s for s in rhs if signature(s.labels, matching) not in left]


class _Group:
    __slots__ = ("labels", "value", "mean", "count")

    def __init__(self, labels: dict[str, str], value: float) -> None:
        self.labels, self.value, self.mean, self.count = labels, value, value, 1


def _grouping_labels(labels: Mapping[str, str], node: ast.Aggregate) -> dict[str, str]:
    if node.without:
        dropped = {tsdb.METRIC_NAME, *node.grouping}
        return {k: v for k, v in labels.items() if k not in dropped}
    return {k: labels[k] for k in node.grouping if k in labels}


def _add(op: str, group: _Group, v: float) -> None:
    if op == "sum":
        group.value += v
    elif op == "avg":
        group.count += 1
        mean = group.mean
        if np.isinf(mean) and ((np.isinf(v) and (mean > 0) == (v > 0)) or not (np.isinf(v) or np.isnan(v))):
            return  # an infinite mean stays put; subtracting it would turn it into NaN
        group.mean += v / group.count - mean / group.count
    elif op == "max" and (group.value < v or np.isnan(group.value)):
        group.value = v
    elif op == "min" and (group.value > v or np.isnan(group.value)):
        group.value = v
    elif op == "count":
        group.count += 1


def aggregate(node: ast.Aggregate, vector: VectorT) -> VectorT:
    groups: dict[tuple, _Group] = {}
    for s in vector:
        labels = _grouping_labels(s.labels, node)
        key = values.label_key(labels)
        group = groups.get(key)
        if group is None:
            groups[key] = _Group(labels, s.value)
        else:
            _add(node.op, group, s.value)
    result = {"avg": lambda g: g.mean, "count": lambda g: float(g.count), "group": lambda g: 1.0}
    pick = result.get(node.op, lambda g: g.value)
    return [values.Sample(g.labels, pick(g)) for g in groups.values()]
