"""`advanced.scalingModifiers.formula`: a safe evaluator for the expr-lang subset KEDA formulas use.

Fidelity ledger — upstream expr-lang/expr v1.17.8 (the version kedacore/keda v2.20 pins), `parser/parser.go`,
`parser/operator/operator.go`, `builtin/lib.go`, `vm/runtime`; KEDA `apis/keda/v1alpha1/scaledobject_webhook.go`
(`validateScalingModifiersFormula`, `castToFloatIfNecessary`).
Modelled: expr's own precedence climbing (`??` 500 > `**`/`^` 100 right-assoc > unary `-`/`+` 90 > `* / %` 60 >
unary `!`/`not` 50 > `+ -` 30 > comparisons 20, chained as `a < b && b < c` > `&&`/`and` 15 > `||`/`or` 10 >
ternary `c ? a : b` and `a ?: b`), the parse error for `??` mixed with another operator without parentheses,
`nil`/`true`/`false`, `/` always float (Go: x/0 → ±Inf), `%` integers only with Go's truncated remainder,
builtins `abs ceil floor round int float min max`; unknown names are a compile error as with `expr.Env`; the
webhook's dry run with every named trigger set to -1; a non-numeric result is rejected as `float(...)` would be.
Not modelled: strings, arrays, maps, closures (`count([a, b], {# > 1})`), `let`, `if {} else {}`, `in`,
`matches`, pipes, member access — each is reported as unsupported syntax. No `eval`, no Python `ast`: expr's
`?:`, `??` and `&&` are not Python syntax, so the formula is tokenised and parsed here.
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Callable, Mapping

from twin.errors import InputError

_TOKEN = re.compile(r"\s*(?:(?P<num>\d[\d_]*(?:\.\d[\d_]*)?(?:[eE][+-]?\d+)?)|(?P<name>[A-Za-z_$][\w$]*)"
                    r"|(?P<op>\?\?|\*\*|&&|\|\||==|!=|<=|>=|[-+*/%^<>!?:(),]))")
_BINARY = {"or": 10, "||": 10, "and": 15, "&&": 15, "==": 20, "!=": 20, "<": 20, ">": 20, "<=": 20, ">=": 20,
           "+": 30, "-": 30, "*": 60, "/": 60, "%": 60, "**": 100, "^": 100, "??": 500}
_UNARY = {"not": 50, "!": 50, "-": 90, "+": 90}
_RIGHT_ASSOC = {"**", "^"}
_COMPARISON = {"<", ">", "<=", ">="}
_CONSTANTS = {"nil": None, "true": True, "false": False}
_UNSUPPORTED_WORDS = {"in", "matches", "contains", "startsWith", "endsWith", "let", "if", "else"}


class FormulaError(Exception):
    """The formula cannot be parsed or evaluated (expr compile or run error)."""


def _number(value: Any, what: str) -> int | float:
    if type(value) is bool or not isinstance(value, (int, float)):
        raise FormulaError(f"{what} needs a number, got {_kind(value)}")
    return value


def _boolean(value: Any, what: str) -> bool:
    if type(value) is not bool:
        raise FormulaError(f"{what} needs a bool, got {_kind(value)}")
    return value


def _kind(value: Any) -> str:
    return "nil" if value is None else type(value).__name__


def _divide(a: int | float, b: int | float) -> float:
    if b == 0:  # Go float64 division
        return math.nan if a == 0 or math.isnan(a) else math.copysign(math.inf, a) * math.copysign(1.0, b)
    return a / b


def _modulo(a: Any, b: Any) -> int:
    if type(a) is not int or type(b) is not int:
        raise FormulaError(f"invalid operation: {_kind(a)} % {_kind(b)}")
    if b == 0:
        raise FormulaError("integer divide by zero")
    remainder = abs(a) % abs(b)
    return -remainder if a < 0 else remainder


def _equal(a: Any, b: Any) -> bool:
    if a is None or b is None or type(a) is bool or type(b) is bool:
        return type(a) is type(b) and a == b
    return a == b


def _power(a: int | float, b: int | float) -> float:
    try:
        return math.pow(a, b)
    except OverflowError:
        return math.inf
    except ValueError:  # Go math.Pow returns NaN for a negative base with a fractional exponent
        return math.nan


def _round(x: Any) -> float:  # Go math.Round: half away from zero
    x = float(_number(x, "round"))
    return math.copysign(math.floor(abs(x) + 0.5), x) if math.isfinite(x) else x


def _extreme(pick: Callable, name: str) -> Callable:
    def apply(*args: Any) -> int | float:
        if not args:
            raise FormulaError(f"not enough arguments to call {name}")
        return pick(_number(a, name) for a in args)
    return apply


_ARITHMETIC: dict[str, Callable[[Any, Any], Any]] = {
    "+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b, "/": _divide,
    "**": _power, "^": _power,
    "<": lambda a, b: a < b, ">": lambda a, b: a > b, "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b,
}
_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "abs": lambda x: abs(_number(x, "abs")), "ceil": lambda x: float(math.ceil(_number(x, "ceil"))),
    "floor": lambda x: float(math.floor(_number(x, "floor"))), "round": _round,
    "int": lambda x: int(_number(x, "int")), "float": lambda x: float(_number(x, "float")),
    "min": _extreme(min, "min"), "max": _extreme(max, "max"),
}


@dataclass(frozen=True)
class Node:
    kind: str  # "const" | "name" | "unary" | "binary" | "cond" | "call"
    value: Any = None  # constant, name, operator or function name
    args: tuple[Node, ...] = ()


class _Parser:
    def __init__(self, text: str) -> None:
        self.tokens = _tokenize(text)
        self.pos = 0

    def peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def take(self, expected: str | None = None) -> str:
        token = self.peek()
        if expected is not None and token != expected:
            raise FormulaError(f"expected {expected!r}, got {token or 'end of formula'!r}")
        self.pos += 1
        return token

    def expression(self, precedence: int = 0) -> Node:
        left, previous = self.primary(), ""
        while (op := self.peek()) in _BINARY and _BINARY[op] >= precedence:
            if previous == "??" and op != "??":
                raise FormulaError(f"operator ({op}) and coalesce expressions (??) cannot be mixed")
            self.take()
            if op in _COMPARISON:
                left = self.comparison(left, op)
            else:
                right = self.expression(_BINARY[op] + (0 if op in _RIGHT_ASSOC else 1))
                left = Node("binary", op, (left, right))
            previous = op
        return self.conditional(left) if precedence == 0 else left

    def comparison(self, left: Node, op: str) -> Node:
        root = None
        while True:  # expr chains `a < b < c` into `a < b && b < c`
            right = self.expression(_BINARY[op] + 1)
            node = Node("binary", op, (left, right))
            root = node if root is None else Node("binary", "&&", (root, node))
            if self.peek() not in _COMPARISON:
                return root
            left, op = right, self.take()

    def conditional(self, node: Node) -> Node:
        while self.peek() == "?":
            self.take()
            if self.peek() == ":":
                self.take()
                node = Node("cond", None, (node, node, self.expression()))
            else:
                then = self.expression()
                self.take(":")
                node = Node("cond", None, (node, then, self.expression()))
        return node

    def primary(self) -> Node:
        token = self.take()
        if token in _UNARY:
            return Node("unary", token, (self.expression(_UNARY[token]),))
        if token == "(":
            inner = self.expression()
            self.take(")")
            return inner
        if token[:1].isdigit():
            text = token.replace("_", "")
            return Node("const", float(text) if re.search(r"[.eE]", text) else int(text))
        if token in _CONSTANTS:
            return Node("const", _CONSTANTS[token])
        if not token or not re.fullmatch(r"[A-Za-z_$][\w$]*", token) or token in _UNSUPPORTED_WORDS | set(_BINARY):
            raise FormulaError(f"unsupported syntax at {token or 'end of formula'!r}")
        if self.peek() != "(":
            return Node("name", token)
        if token not in _FUNCTIONS:
            raise FormulaError(f"unknown function {token}")
        self.take("(")
        args: list[Node] = []
        while self.peek() != ")":
            args.append(self.expression())
            if self.peek() != ")":
                self.take(",")
        self.take(")")
        return Node("call", token, tuple(args))


def _tokenize(text: str) -> list[str]:
    tokens, pos = [], 0
    while pos < len(text.rstrip()):
        match = _TOKEN.match(text, pos)
        if not match:
            raise FormulaError(f"unsupported syntax at {text[pos:].strip()[:12]!r}")
        tokens.append(match.group(match.lastgroup))
        pos = match.end()
    return tokens


def _names(node: Node) -> set[str]:
    own = {node.value} if node.kind == "name" else set()
    return own.union(*(_names(arg) for arg in node.args))


def _evaluate(node: Node, env: Mapping[str, Any]) -> Any:
    match node.kind:
        case "const":
            return node.value
        case "name":
            return env.get(node.value)  # a trigger without a value is nil, as a missing map key in expr
        case "call":
            return _FUNCTIONS[node.value](*(_evaluate(arg, env) for arg in node.args))
        case "cond":
            condition = _boolean(_evaluate(node.args[0], env), "ternary condition")
            return _evaluate(node.args[1] if condition else node.args[2], env)
        case "unary":
            operand = _evaluate(node.args[0], env)
            if node.value in ("!", "not"):
                return not _boolean(operand, node.value)
            return -_number(operand, "-") if node.value == "-" else _number(operand, "+")
    return _binary(node.value, node.args, env)


def _binary(op: str, args: tuple[Node, ...], env: Mapping[str, Any]) -> Any:
    left = _evaluate(args[0], env)
    if op in ("&&", "and", "||", "or"):
        if _boolean(left, op) == (op in ("||", "or")):
            return left
        return _boolean(_evaluate(args[1], env), op)
    if op == "??":
        return left if left is not None else _evaluate(args[1], env)
    right = _evaluate(args[1], env)
    if op in ("==", "!="):
        return _equal(left, right) == (op == "==")
    if op == "%":
        return _modulo(left, right)
    return _ARITHMETIC[op](_number(left, op), _number(right, op))


@dataclass(frozen=True)
class Formula:
    """A compiled formula; `evaluate` maps trigger names to values (None = nil) to a float or None."""

    text: str
    root: Node

    def evaluate(self, values: Mapping[str, float | None]) -> float | None:
        try:
            result = _evaluate(self.root, values)
        except (OverflowError, ValueError) as error:  # int(NaN), int(Inf)
            raise FormulaError(str(error)) from error
        if result is None:  # only reachable through `??`; KEDA then serves fallback.replicas × target
            return None
        return float(_number(result, "float"))


def compile_formula(text: str, names: frozenset[str], *, source: str, field: str) -> Formula:
    """Parse `text`, check every name is a named non-cpu/memory trigger, and dry-run it with each at -1."""
    try:
        parser = _Parser(text)
        root = parser.expression()
        if parser.peek():
            raise FormulaError(f"unexpected token {parser.peek()!r}")
        unknown = sorted(_names(root) - names)
        if unknown:
            raise FormulaError(f"unknown name {unknown[0]}")
        formula = Formula(text, root)
        formula.evaluate({name: -1.0 for name in names})
    except FormulaError as error:
        raise InputError(source, field, "an expr-lang formula over the trigger names", f"{text!r} ({error})")
    return formula
