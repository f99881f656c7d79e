"""PromQL syntax tree: frozen nodes that the parser builds once and the evaluator walks many times.

Fidelity ledger
- Upstream: Prometheus 2.42 promql/parser/ast.go and functions.go (value types, function signatures).
- Modelled: the node kinds and static value types of the subset listed in `FUNCTIONS` and `AGGREGATIONS`.
- Not modelled: subqueries, the @ modifier, group_left/group_right, native histograms, string-valued functions.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Union

from twin.metrics import tsdb


class ValueType(Enum):
    SCALAR = "scalar"
    VECTOR = "instant vector"
    MATRIX = "range vector"
    STRING = "string"


@dataclass(frozen=True)
class FunctionSig:
    arg_types: tuple[ValueType, ...]
    returns: ValueType
    optional: int = 0  # how many trailing arguments may be left out


_S, _V, _M = ValueType.SCALAR, ValueType.VECTOR, ValueType.MATRIX
_RANGE_FUNCS = (
    "rate", "irate", "increase", "delta", "idelta", "avg_over_time", "min_over_time", "max_over_time",
    "sum_over_time", "count_over_time", "last_over_time", "present_over_time",
)
_MATH_FUNCS = ("abs", "ceil", "floor", "sqrt", "exp", "ln")
FUNCTIONS: dict[str, FunctionSig] = {
    **{name: FunctionSig((_M,), _V) for name in _RANGE_FUNCS},
    **{name: FunctionSig((_V,), _V) for name in _MATH_FUNCS},
    "clamp": FunctionSig((_V, _S, _S), _V),
    "clamp_min": FunctionSig((_V, _S), _V),
    "clamp_max": FunctionSig((_V, _S), _V),
    "round": FunctionSig((_V, _S), _V, optional=1),
    "histogram_quantile": FunctionSig((_S, _V), _V),
    "scalar": FunctionSig((_V,), _S),
    "vector": FunctionSig((_S,), _V),
    "time": FunctionSig((), _S),
}
AGGREGATIONS = ("sum", "avg", "max", "min", "count", "group")
UNSUPPORTED_AGGREGATIONS = ("stddev", "stdvar", "topk", "bottomk", "quantile", "count_values")
ARITHMETIC_OPS = ("+", "-", "*", "/", "%", "^", "atan2")
COMPARISON_OPS = ("==", "!=", "<=", "<", ">=", ">")
SET_OPS = ("and", "or", "unless")


@dataclass(frozen=True)
class NumberLiteral:
    value: float


@dataclass(frozen=True)
class StringLiteral:
    value: str


@dataclass(frozen=True)
class VectorSelector:
    matchers: tuple[tsdb.LabelMatcher, ...]
    offset_ms: int = 0


@dataclass(frozen=True)
class MatrixSelector:
    selector: VectorSelector
    range_ms: int


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple["Node", ...]


@dataclass(frozen=True)
class Aggregate:
    op: str
    expr: "Node"
    grouping: tuple[str, ...] = ()
    without: bool = False


@dataclass(frozen=True)
class Unary:
    op: str  # "-" ("+" is dropped by the parser)
    expr: "Node"


@dataclass(frozen=True)
class VectorMatching:
    """How two vectors pair up: by every label but the name (default), `on(labels)` or `ignoring(labels)`."""

    on: bool = False
    labels: tuple[str, ...] = ()


@dataclass(frozen=True)
class Binary:
    op: str
    lhs: "Node"
    rhs: "Node"
    matching: VectorMatching | None = None  # set only when both sides are vectors
    return_bool: bool = False


Node = Union[NumberLiteral, StringLiteral, VectorSelector, MatrixSelector, Call, Aggregate, Unary, Binary]


def type_of(node: Node) -> ValueType:
    """Static value type, as the Prometheus parser checks it before any evaluation."""
    if isinstance(node, NumberLiteral):
        return ValueType.SCALAR
    if isinstance(node, StringLiteral):
        return ValueType.STRING
    if isinstance(node, MatrixSelector):
        return ValueType.MATRIX
    if isinstance(node, Call):
        return FUNCTIONS[node.func].returns
    if isinstance(node, Unary):
        return type_of(node.expr)
    if isinstance(node, Binary):
        both_scalar = type_of(node.lhs) is _S and type_of(node.rhs) is _S
        return _S if both_scalar else _V
    return ValueType.VECTOR  # VectorSelector, Aggregate
