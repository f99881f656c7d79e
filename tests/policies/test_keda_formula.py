"""scalingModifiers formulas: KEDA's webhook/modifier test formulas and expr-lang v1.17.8 operator semantics."""
from __future__ import annotations

import math

import pytest

from twin.errors import InputError
from twin.policies.keda.formula import FormulaError, compile_formula

NAMES = frozenset({"a", "b", "workload_trig", "cron_trig", "trig_one", "trig_two", "trigger1", "trigger2"})


def run(formula: str, **values: float | None) -> float | None:
    return compile_formula(formula, NAMES, source="so.yaml", field="formula").evaluate(values)


@pytest.mark.parametrize(("case", "formula", "values", "expected"), [
    ("TestCalculateScalingModifiersFormula: trigger1=2 + trigger2=5 = 7",
     "trigger1 + trigger2", {"trigger1": 2.0, "trigger2": 5.0}, 7.0),
    ("webhook: casting float from ternary operator (true branch)",
     "float(workload_trig < 5 ? cron_trig + workload_trig : 5)", {"workload_trig": 1.0, "cron_trig": 2.0}, 3.0),
    ("webhook: ternary operator without casting float (false branch)",
     "workload_trig < 5 ? cron_trig + workload_trig : 5", {"workload_trig": 9.0, "cron_trig": 2.0}, 5.0),
    ("webhook: complex ternary (nested, right-associative)",
     "float(trig_one < 2 ? trig_one+trig_two >= 2 ? 5 : 10 : 0)", {"trig_one": 1.0, "trig_two": 0.5}, 10.0),
    ("webhook: double float cast", "float(float(trig_two < 5 ? trig_one + trig_two : 5))",
     {"trig_one": 1.5, "trig_two": 2.0}, 3.5),
    ("operator.go: * (60) binds tighter than + (30)", "a + b * 3", {"a": 1.0, "b": 2.0}, 7.0),
    ("operator.go: ** (100) above unary - (90)", "-a ** 2", {"a": 2.0}, -4.0),
    ("operator.go: ** is right-associative", "a ** 3 ** 2", {"a": 2.0}, 512.0),
    ("parser.go parseComparison: a < b < c is a < b && b < c", "1 < a < 3 ? 1 : 0", {"a": 2.0}, 1.0),
    ("parser.go parseComparison: chained, second comparison false", "1 < a < 3 ? 1 : 0", {"a": 4.0}, 0.0),
    ("operator.go: && (15) binds tighter than || (10)", "a > 5 || a > 1 && b > 1 ? 1 : 0",
     {"a": 2.0, "b": 2.0}, 1.0),
    ("unary ! with keywords and/or/not", "not (a > 1) or b > 1 and true ? 1 : 0", {"a": 2.0, "b": 0.0}, 0.0),
    ("|| short-circuits: the nil comparison is never evaluated", "true || a > 1 ? 1 : 0", {"a": None}, 1.0),
    ("?? takes the right side for nil", "a ?? 3", {"a": None}, 3.0),
    ("?? keeps a value", "a ?? 3", {"a": 0.0}, 0.0),
    ("?? (500) binds tighter than +", "b + a ?? 1", {"a": None, "b": 2.0}, 3.0),
    ("elvis a ?: b (a when true)", "(a > 1 ?: false) ? 1 : 0", {"a": 2.0}, 1.0),
    ("builtins min/max are variadic", "min(a, b, 3) + max(a, b)", {"a": 5.0, "b": 4.0}, 8.0),
    ("builtins abs/ceil/floor", "abs(a) + ceil(b) + floor(b)", {"a": -1.5, "b": 2.2}, 6.5),
    ("builtin round is Go math.Round (half away from zero)", "round(a) + round(b)", {"a": 2.5, "b": -2.5}, 0.0),
    ("int truncates toward zero", "int(a)", {"a": -2.7}, -2.0),
    ("/ is float division even on integers", "7 / 2", {}, 3.5),
    ("% on integers is Go's truncated remainder", "-7 % 3", {}, -1.0),
    ("x / 0 is +Inf as in Go float64", "a / 0", {"a": 1.0}, math.inf),
])
def test_formula_evaluation(case: str, formula: str, values: dict, expected: float) -> None:
    assert run(formula, **values) == expected, case


def test_nil_result_is_returned_for_keda_fallback() -> None:
    # castToFloatIfNecessary keeps a `??` formula's nil so KEDA can serve fallback.replicas × target.
    assert run("a ?? b", a=None, b=None) is None


@pytest.mark.parametrize(("case", "formula"), [
    ("parser.go: ?? mixed with another operator needs parentheses", "a ?? b + 1"),
    ("expr.Env: unknown names are a compile error", "x + 1"),
    ("castToFloatIfNecessary: float(bool) is invalid", "a > 1"),
    ("webhook dry run with -1: % needs integers", "a % 2"),
    ("ternary condition must be bool", "a ? 1 : 2"),
    ("unsupported: closures/arrays (count([...], {# > 1}))", "count([trig_one,trig_two],{#>1}) > 1 ? 5 : 0"),
    ("unsupported: strings", "a + 'x'"),
    ("unknown function", "sqrt(a)"),
    ("trailing tokens", "a b"),
    ("unclosed parenthesis", "(a + b"),
])
def test_invalid_formulas_are_input_errors(case: str, formula: str) -> None:
    with pytest.raises(InputError) as error:
        run(formula)
    assert error.value.field == "formula" and formula in error.value.got, case


def test_runtime_errors_surface_as_formula_errors() -> None:
    formula = compile_formula("a + b", NAMES, source="so.yaml", field="formula")
    with pytest.raises(FormulaError):
        formula.evaluate({"a": None, "b": 1.0})  # nil arithmetic: expr runtime error, KEDA drops the metric
