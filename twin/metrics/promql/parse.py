"""PromQL recursive-descent parser with the static type checks Prometheus makes at parse time.

Fidelity ledger
- Upstream: Prometheus 2.42 promql/parser (generated_parser.y, parse.go).
- Modelled: operator precedence and associativity (or < and/unless < comparisons < + - < * / % atan2 < ^, ^ right-
  associative, unary minus binding like *), `bool`, `on`/`ignoring`, `by`/`without` before or after the argument,
  `offset` (negative allowed), Inf/NaN literals, and the type rules (function argument types, comparisons between scalars need
  `bool`, set operators need vectors, a selector needs a non-empty matcher).
- Not modelled (rejected with a clear error): subqueries, `@`, group_left/group_right, aggregations with a parameter.
"""
from __future__ import annotations

import re

from twin.metrics.promql import syntax as ast
from twin.metrics.promql import lex as lex
from twin.metrics import tsdb

# Binary operators by precedence level, lowest first.
_LEVELS: tuple[tuple[str, ...], ...] = (("or",), ("and", "unless"), ast.COMPARISON_OPS, ("+", "-"),
                                        ("*", "/", "%", "atan2"))
_MATCH_OPS = ("=", "!=", "=~", "!~")


def parse(text: str) -> ast.Node:
    """The syntax tree of `text`; raises lex.PromQLSyntaxError (expected, got) when it is not valid PromQL."""
    parser = _Parser(lex.tokens(text))
    node = parser.expr()
    parser.expect_kind("eof", "end of input")
    return node


def _check_arg(func: str, index: int, node: ast.Node, want: ast.ValueType) -> None:
    got = ast.type_of(node)
    if got is not want:
        raise lex.PromQLSyntaxError(f"argument {index + 1} of {func}() to be {want.value}", got.value)


class _Parser:
    def __init__(self, tokens: list[lex.Token]) -> None:
        self.tokens, self.i = tokens, 0

    # --- token helpers -------------------------------------------------------------------------------------------
    def peek(self, ahead: int = 0) -> lex.Token:
        return self.tokens[min(self.i + ahead, len(self.tokens) - 1)]

    def next(self) -> lex.Token:
        tok = self.peek()
        self.i += 1
        return tok

    def accept(self, text: str) -> bool:
        tok = self.peek()
        if tok.kind in ("op", "ident") and tok.text == text:
            self.i += 1
            return True
        return False

    def expect(self, text: str) -> None:
        if not self.accept(text):
            raise lex.PromQLSyntaxError(repr(text), self.peek().describe())

    def expect_kind(self, kind: str, what: str) -> lex.Token:
        if self.peek().kind != kind:
            raise lex.PromQLSyntaxError(what, self.peek().describe())
        return self.next()

    # --- binary expressions ----------------------------------------------------------------------------------------
    def expr(self, level: int = 0) -> ast.Node:
        if level == len(_LEVELS):
            return self.unary()
        lhs = self.expr(level + 1)
        while self.peek().kind in ("op", "ident") and self.peek().text in _LEVELS[level]:
            op = self.next().text
            return_bool, matching = self.modifiers(op)
            rhs = self.expr(level + 1)
            lhs = self.binary(op, lhs, rhs, return_bool=return_bool, matching=matching)
        return lhs

    def modifiers(self, op: str) -> tuple[bool, ast.VectorMatching]:
        return_bool = self.accept("bool")
        if return_bool and op not in ast.COMPARISON_OPS:
            raise lex.PromQLSyntaxError("bool only after a comparison operator", f"bool after {op!r}")
        matching = ast.VectorMatching()
        for keyword in ("on", "ignoring"):
            if self.accept(keyword):
                matching = ast.VectorMatching(on=keyword == "on", labels=self.label_list())
        for keyword in ("group_left", "group_right"):
            if self.peek().text == keyword:
                raise lex.PromQLSyntaxError("a supported PromQL feature", f"{keyword} (many-to-one matching)")
        return return_bool, matching

    def binary(self, op: str, lhs: ast.Node, rhs: ast.Node, *, return_bool: bool,
               matching: ast.VectorMatching) -> ast.Binary:
        lt, rt = ast.type_of(lhs), ast.type_of(rhs)
        for side in (lt, rt):
            if side not in (ast.ValueType.SCALAR, ast.ValueType.VECTOR):
                raise lex.PromQLSyntaxError(f"a scalar or instant vector operand of {op!r}", side.value)
        both_vectors = lt is rt is ast.ValueType.VECTOR
        if op in ast.SET_OPS and not both_vectors:
            raise lex.PromQLSyntaxError(f"instant vectors on both sides of {op!r}", f"{lt.value} {op} {rt.value}")
        if op in ast.COMPARISON_OPS and lt is rt is ast.ValueType.SCALAR and not return_bool:
            raise lex.PromQLSyntaxError("bool modifier for a comparison between scalars", f"{op} without bool")
        if matching != ast.VectorMatching() and not both_vectors:
            raise lex.PromQLSyntaxError("on/ignoring only between two instant vectors", f"{lt.value} {op} {rt.value}")
        return ast.Binary(op, lhs, rhs, matching if both_vectors else None, return_bool)

    def unary(self) -> ast.Node:
        if self.peek().kind == "op" and self.peek().text in "+-":
            sign = self.next().text
            operand = self.unary()
            if ast.type_of(operand) not in (ast.ValueType.SCALAR, ast.ValueType.VECTOR):
                raise lex.PromQLSyntaxError("a scalar or instant vector after unary " + sign,
                                        ast.type_of(operand).value)
            if sign == "+":
                return operand
            if isinstance(operand, ast.NumberLiteral):
                return ast.NumberLiteral(-operand.value)
            return ast.Unary("-", operand)
        return self.power()

    def power(self) -> ast.Node:
        base = self.primary()
        if self.accept("^"):
            return_bool, matching = self.modifiers("^")
            return self.binary("^", base, self.unary(), return_bool=return_bool, matching=matching)
        return base

    # --- operands ------------------------------------------------------------------------------------------------
    def postfix(self, node: ast.VectorSelector) -> ast.Node:
        """Range `[5m]` and `offset` after a selector (elsewhere they are syntax errors, found by the caller)."""
        range_ms = None
        if self.accept("["):
            range_ms = self.duration()
            if self.peek().text.startswith(":"):  # ":1m" lexes as an identifier (colons are legal in names)
                raise lex.PromQLSyntaxError("a supported PromQL feature", "a subquery [range:step]")
            self.expect("]")
        if self.accept("offset"):
            sign = -1 if self.accept("-") else 1
            node = ast.VectorSelector(node.matchers, sign * self.duration())
        if self.peek().text == "@":
            raise lex.PromQLSyntaxError("a supported PromQL feature", "the @ modifier")
        return node if range_ms is None else ast.MatrixSelector(node, range_ms)

    def duration(self) -> int:
        tok = self.next()
        if tok.kind not in ("duration", "number"):
            raise lex.PromQLSyntaxError("a duration such as 5m", tok.describe())
        ms = lex.parse_duration_ms(tok.text)
        if ms == 0:
            raise lex.PromQLSyntaxError("a duration greater than 0", tok.describe())
        return ms

    def primary(self) -> ast.Node:
        tok = self.next()
        if tok.kind == "number":
            return ast.NumberLiteral(float(int(tok.text, 16)) if tok.text[:2].lower() == "0x" else float(tok.text))
        if tok.kind == "string":
            return ast.StringLiteral(lex.unquote(tok))
        if tok.kind == "op" and tok.text == "(":
            inner = self.expr()
            self.expect(")")
            return inner
        if tok.kind == "op" and tok.text == "{":
            return self.postfix(self.selector(None))
        if tok.kind == "ident":
            return self.identifier(tok)
        raise lex.PromQLSyntaxError("an expression", tok.describe())

    def identifier(self, tok: lex.Token) -> ast.Node:
        word = tok.text
        if word.lower() in ("inf", "nan"):
            return ast.NumberLiteral(float(word))
        if word in ast.AGGREGATIONS:
            return self.aggregate(word)
        if word in ast.UNSUPPORTED_AGGREGATIONS:
            raise lex.PromQLSyntaxError("a supported aggregation (" + ", ".join(ast.AGGREGATIONS) + ")", word)
        if self.peek().text == "(":
            return self.call(tok)
        if self.accept("{"):
            return self.postfix(self.selector(word))
        return self.postfix(ast.VectorSelector((tsdb.LabelMatcher(tsdb.METRIC_NAME, "=", word),)))

    def call(self, tok: lex.Token) -> ast.Call:
        sig = ast.FUNCTIONS.get(tok.text)
        if sig is None:
            raise lex.PromQLSyntaxError("a supported function (" + ", ".join(sorted(ast.FUNCTIONS)) + ")",
                                    tok.describe())
        self.expect("(")
        args: list[ast.Node] = []
        while not self.accept(")"):
            if args:
                self.expect(",")
            args.append(self.expr())
        required = len(sig.arg_types) - sig.optional
        if not required <= len(args) <= len(sig.arg_types):
            raise lex.PromQLSyntaxError(f"{required}..{len(sig.arg_types)} arguments to {tok.text}()", str(len(args)))
        for index, (arg, want) in enumerate(zip(args, sig.arg_types)):
            _check_arg(tok.text, index, arg, want)
        return ast.Call(tok.text, tuple(args))

    def aggregate(self, op: str) -> ast.Aggregate:
        grouping, without = self.grouping()
        self.expect("(")
        inner = self.expr()
        self.expect(")")
        if grouping is None:
            grouping, without = self.grouping()
        _check_arg(op, 0, inner, ast.ValueType.VECTOR)
        return ast.Aggregate(op, inner, tuple(grouping or ()), without)

    def grouping(self) -> tuple[tuple[str, ...] | None, bool]:
        for keyword in ("by", "without"):
            if self.accept(keyword):
                return self.label_list(), keyword == "without"
        return None, False

    def label_list(self) -> tuple[str, ...]:
        self.expect("(")
        names: list[str] = []
        while not self.accept(")"):
            if names:
                self.expect(",")
                if self.accept(")"):
                    break
            names.append(self.expect_kind("ident", "a label name").text)
        return tuple(names)

    def selector(self, name: str | None) -> ast.VectorSelector:
        matchers = [] if name is None else [tsdb.LabelMatcher(tsdb.METRIC_NAME, "=", name)]
        while not self.accept("}"):
            if len(matchers) > (name is not None):
                self.expect(",")
                if self.accept("}"):
                    break
            label = self.expect_kind("ident", "a label name").text
            op = self.next()
            if op.text not in _MATCH_OPS:
                raise lex.PromQLSyntaxError("a label matcher operator (=, !=, =~, !~)", op.describe())
            value = lex.unquote(self.expect_kind("string", "a quoted label value"))
            matchers.append(self.matcher(label, op.text, value))
        if name is not None and any(m.name == tsdb.METRIC_NAME for m in matchers[1:]):
            raise lex.PromQLSyntaxError("the metric name once", f"{name} and a __name__ matcher")
        if not any(not m.matches("") for m in matchers):
            raise lex.PromQLSyntaxError("a selector with at least one matcher that does not match the empty string",
                                    "{" + ", ".join(f"{m.name}{m.op}{m.value!r}" for m in matchers) + "}")
        return ast.VectorSelector(tuple(matchers))

    @staticmethod
    def matcher(label: str, op: str, value: str) -> tsdb.LabelMatcher:
        try:
            return tsdb.LabelMatcher(label, op, value)
        except re.error as err:
            raise lex.PromQLSyntaxError("a valid regular expression", f"{value!r} ({err})") from None
