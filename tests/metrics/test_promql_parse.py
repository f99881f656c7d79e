"""PromQL parser: tree shapes, precedence, durations, strings, and the errors users see."""
from __future__ import annotations

import pytest

from twin import errors
from twin.metrics import tsdb
from twin.metrics.promql import query as promql
from twin.metrics.promql import syntax as ast
from twin.metrics.promql import lex as promql_lex


def _root(query: str) -> ast.Node:
    return promql.compile(query).root


def _sel(name: str, *matchers: tsdb.LabelMatcher, offset_ms: int = 0) -> ast.VectorSelector:
    return ast.VectorSelector((tsdb.LabelMatcher("__name__", "=", name), *matchers), offset_ms)


def test_selector_with_all_matcher_kinds_and_trailing_comma():
    root = _root('http_requests_total{job="api", code=~"5..", path!="/", method!~"GET|HEAD",}')
    assert root == _sel("http_requests_total", tsdb.LabelMatcher("job", "=", "api"),
                        tsdb.LabelMatcher("code", "=~", "5.."), tsdb.LabelMatcher("path", "!=", "/"),
                        tsdb.LabelMatcher("method", "!~", "GET|HEAD"))


def test_range_offset_and_function():
    root = _root("rate(x[1h30m] offset -5m)")
    assert root == ast.Call("rate", (ast.MatrixSelector(_sel("x", offset_ms=-300_000), 5_400_000),))


@pytest.mark.parametrize(("text", "ms"), [
    ("250ms", 250), ("30s", 30_000), ("5m", 300_000), ("2h", 7_200_000), ("1d", 86_400_000),
    ("1w", 604_800_000), ("1y", 31_536_000_000), ("1h30m15s", 5_415_000),
])
def test_durations(text, ms):
    assert promql_lex.parse_duration_ms(text) == ms


@pytest.mark.parametrize("text", ["5", "1m1h", "5m5m", "1.5m", "m"])
def test_bad_durations(text):
    with pytest.raises(promql_lex.PromQLSyntaxError):
        promql_lex.parse_duration_ms(text)


@pytest.mark.parametrize(("query", "expected"), [
    ("1 + 2 * 3", ast.Binary("+", ast.NumberLiteral(1), ast.Binary("*", ast.NumberLiteral(2), ast.NumberLiteral(3)))),
    ("2 ^ 3 ^ 2", ast.Binary("^", ast.NumberLiteral(2), ast.Binary("^", ast.NumberLiteral(3), ast.NumberLiteral(2)))),
    ("-x ^ 2", ast.Unary("-", ast.Binary("^", _sel("x"), ast.NumberLiteral(2)))),
    ("(1 + 2) * 3", ast.Binary("*", ast.Binary("+", ast.NumberLiteral(1), ast.NumberLiteral(2)),
                               ast.NumberLiteral(3))),
    ("1 - 2 - 3", ast.Binary("-", ast.Binary("-", ast.NumberLiteral(1), ast.NumberLiteral(2)), ast.NumberLiteral(3))),
    ("-1", ast.NumberLiteral(-1)),
    ("0x1F + .5e1", ast.Binary("+", ast.NumberLiteral(31), ast.NumberLiteral(5))),
])
def test_precedence_and_numbers(query, expected):
    assert _root(query) == expected


def test_set_operators_bind_looser_than_comparisons():
    root = _root("a > 1 or b unless c")
    assert isinstance(root, ast.Binary) and root.op == "or"
    assert isinstance(root.lhs, ast.Binary) and root.lhs.op == ">"
    assert isinstance(root.rhs, ast.Binary) and root.rhs.op == "unless"


def test_binary_modifiers():
    root = _root("a / on(pod, ns) b > bool ignoring(x) c")
    assert isinstance(root, ast.Binary) and root.op == ">" and root.return_bool
    assert root.matching == ast.VectorMatching(on=False, labels=("x",))
    assert isinstance(root.lhs, ast.Binary) and root.lhs.matching == ast.VectorMatching(on=True, labels=("pod", "ns"))


@pytest.mark.parametrize("query", ["sum by (pod) (x)", "sum(x) by (pod)", "sum by (pod,) (x)"])
def test_aggregation_grouping_before_or_after(query):
    assert _root(query) == ast.Aggregate("sum", _sel("x"), ("pod",), False)


def test_without_and_comments():
    assert _root("avg without (pod) (x) # mean per model") == ast.Aggregate("avg", _sel("x"), ("pod",), True)


def test_string_escapes_and_quote_styles():
    root = _root(r'''x{a="q\"\n\u00e9", b='it\'s', c=`raw\d`}''')
    assert [m.value for m in root.matchers[1:]] == ['q"\né', "it's", r"raw\d"]


def test_inf_nan_literals_and_parenthesised_range_argument():
    assert _root("Inf") == ast.NumberLiteral(float("inf"))
    assert _root("rate((x[5m]))") == ast.Call("rate", (ast.MatrixSelector(_sel("x"), 300_000),))


def test_compile_is_cached_and_query_keeps_its_text():
    assert promql.compile("sum(up)") is promql.compile("sum(up)")
    assert promql.compile("sum(up)").text == "sum(up)"


@pytest.mark.parametrize(("query", "expected_part"), [
    ("sum(", "an expression"),
    ("rate(x)", "range vector"),
    ("abs(x[5m])", "instant vector"),
    ("x[5m]", "scalar or an instant vector"),
    ("1 > 2", "bool modifier"),
    ("x + bool 1", "bool only after a comparison"),
    ("1 and x", "instant vectors on both sides"),
    ("1 + on(a) x", "on/ignoring only between two instant vectors"),
    ("foo(x)", "a supported function"),
    ("topk(3, x)", "a supported aggregation"),
    ("x[5m:1m]", "a supported PromQL feature"),
    ("x @ 100", "a supported PromQL feature"),
    ("a + on(x) group_left b", "a supported PromQL feature"),
    ("{a=~\".*\"}", "at least one matcher that does not match the empty string"),
    ("x{a=~\"(\"}", "a valid regular expression"),
    ("x{a=1}", "a quoted label value"),
    ("x[0s]", "a duration greater than 0"),
    ("(x)[5m]", "end of input"),
    ("rate(x[5m]) offset 1m", "end of input"),
    ("clamp_min(x)", "arguments to clamp_min()"),
    ("x{__name__='y'}", "the metric name once"),
    ("x $ 1", "a PromQL token"),
    ('x{a="\\q"}', "a valid escape sequence"),
])
def test_errors_name_the_query_what_was_expected_and_what_was_found(query, expected_part):
    with pytest.raises(errors.InputError) as info:
        promql.compile(query)
    err = info.value
    assert err.source == "<promql>" and err.field == query
    assert expected_part in err.expected, str(err)
    assert err.got
