"""PromQL for the twin: parse a query once, evaluate it at many simulated instants against a `tsdb.SeriesStore`.

Fidelity ledger
- Upstream: Prometheus 2.42 (the Debian bookworm binary) promql/parser, promql/engine.go, promql/functions.go;
  pinned by tests that feed the same samples to the real binary and compare answers to 1e-9.
- Modelled: instant queries over instant vectors with =, !=, =~, !~ matchers, range vectors, offset; rate, irate,
  increase, delta, idelta, *_over_time (avg, min, max, sum, count, last, present); sum/avg/max/min/count/group with
  by/without; arithmetic, comparisons (filter or bool) and and/or/unless between scalars and vectors, one-to-one
  matching with on/ignoring; histogram_quantile over `le` buckets; scalar, vector, time, clamp, clamp_min,
  clamp_max, round, abs, ceil, floor, sqrt, exp, ln. Lookback delta (default 5 m) and staleness markers as in 2.42.
- Not modelled: range queries (evaluate at each step), subqueries, @, group_left/group_right, topk and other
  parameterised aggregations, label_* functions, native histograms, query limits and timeouts.

Pure: plain data in, plain data out; `now` is an argument (seconds, the twin's clock).
"""
from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from twin import errors
from twin.metrics.promql import syntax as ast
from twin.metrics.promql import evaluate as promql_eval
from twin.metrics.promql import lex as promql_lex
from twin.metrics.promql import ops as promql_ops
from twin.metrics.promql import parse as promql_parse
from twin.metrics.promql import values as promql_values
from twin.metrics import tsdb

Sample = promql_values.Sample
Scalar = promql_values.Scalar
Vector = promql_values.Vector
Result = Scalar | Vector
DEFAULT_LOOKBACK_DELTA_S = 300.0  # Prometheus --query.lookback-delta default
_SOURCE = "<promql>"


@dataclass(frozen=True)
class Query:
    """A parsed, type-checked query; evaluating it touches no parser state, so one Query serves a whole run."""

    text: str
    root: ast.Node

    def evaluate(
        self, store: tsdb.SeriesStore, *, now: float, lookback_delta_s: float = DEFAULT_LOOKBACK_DELTA_S
    ) -> Result:
        """Answer the query at `now` seconds, as Prometheus' /api/v1/query?time=now would."""
        evaluator = promql_eval.Evaluator(store, now_ms=tsdb.to_ms(now), lookback_ms=tsdb.to_ms(lookback_delta_s))
        try:
            with np.errstate(all="ignore"):  # IEEE ±Inf/NaN results are PromQL semantics, not accidents
                value = evaluator.eval(self.root)
        except promql_ops.EvaluationError as err:
            raise errors.InputError(source=_SOURCE, field=self.text, expected=err.expected, got=err.got) from None
        if isinstance(value, float):
            return Scalar(value)
        return Vector(tuple(value))


@functools.lru_cache(maxsize=512)
def compile(query: str) -> Query:  # noqa: A001 - the name mirrors re.compile, as the design asks
    """Parse and type-check `query`; a mistake raises InputError naming what was expected and what was found."""
    try:
        root = promql_parse.parse(query)
    except promql_lex.PromQLSyntaxError as err:
        raise errors.InputError(source=_SOURCE, field=query, expected=err.expected, got=err.got) from None
    kind = ast.type_of(root)
    if kind not in (ast.ValueType.SCALAR, ast.ValueType.VECTOR):
        raise errors.InputError(source=_SOURCE, field=query, expected="a query returning a scalar or an instant "
                                "vector (wrap a range vector in a function such as rate())", got=kind.value)
    return Query(query, root)


def evaluate(
    query: str, store: tsdb.SeriesStore, *, now: float, lookback_delta_s: float = DEFAULT_LOOKBACK_DELTA_S
) -> Result:
    """Compile (cached) and evaluate in one call."""
    return compile(query).evaluate(store, now=now, lookback_delta_s=lookback_delta_s)
