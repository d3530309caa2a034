"""The integration search's remembered work gives the answers it computed before.

`symcalc.symbolic.domains.evaluator` remembers its compiled formulas (by expression,
variable and parameter values), `symcalc.symbolic.integration._fit` its verdicts on a
scope (by candidate), and `preload_methods` imports the methods' modules in the caller.
Each must leave every value and every choice as it was: checked against mpmath itself
and against a fresh verdict."""

from __future__ import annotations

import dataclasses
import sys

import mpmath
import pytest
import sympy

from symcalc.symbolic import integration
from symcalc.symbolic.domains import evaluator
from symcalc.symbolic.functions import symbol

x, a = symbol("x"), symbol("a")


def test_a_remembered_formula_is_evaluated_with_its_own_parameter_values():
    """The same formula with other values for its parameters is another function."""
    f = sympy.exp(a * x) + a
    for value in (1, 2, sympy.Rational(1, 3), 1, 2):
        at = evaluator(f, x, {a: value})
        with mpmath.workdps(30):
            truth = complex(mpmath.exp(mpmath.mpf(value) * mpmath.mpf(0.75)) + value)
        assert at(0.75, 30) == pytest.approx(truth, rel=1e-15)


def test_floats_of_other_precision_are_other_formulas():
    """0.1 at 15 digits and at 40 digits differ past the 16th: each keeps its own."""
    coarse = evaluator(sympy.Float(0.1, 15) * x, x)(1.0, 40)
    fine = evaluator(sympy.Float("0.1", 40) * x, x)(1.0, 40)
    again = evaluator(sympy.Float(0.1, 15) * x, x)(1.0, 40)
    assert coarse == again == 0.1  # the double 0.1 (0.1000000000000000055...)
    with mpmath.workdps(40):
        assert abs(mpmath.mpf(fine.real) - mpmath.mpf("0.1")) < 1e-17
    assert sympy.Float(0.1, 15) * x != sympy.Float("0.1", 40) * x


def test_undefined_points_stay_undefined_when_remembered():
    for _ in range(2):
        at = evaluator(1 / (x - 1), x)
        assert at(1.0, 30) is None
        assert at(2.0, 30) == pytest.approx(1.0)


def _scope(f: sympy.Expr):
    clock = integration._Clock(None, interruptible=False)
    scope, _ = integration._scope(f, x, sympy.S.Reals, ({},), clock)
    return scope


def test_a_remembered_verdict_names_the_candidate_asked_about():
    """An equal candidate built again is the one returned (the race tells a whole answer
    by identity), and the verdict is the fresh one."""
    scope = _scope(1 / x)
    first = sympy.log(sympy.Abs(x))
    sympy.core.cache.clear_cache()  # else SymPy hands back the same object
    again = sympy.log(sympy.Abs(x))
    assert first == again and first is not again
    chosen, reasons = integration._fit(first, scope)
    assert all(c is first for c in chosen) and reasons == []
    chosen, reasons = integration._fit(again, scope)
    assert all(c is again for c in chosen) and reasons == []
    assert (chosen, reasons) == integration._fit_anew(again, scope, True)


def test_a_remembered_rejection_is_the_fresh_one():
    scope = _scope(1 / x)
    wrong = sympy.log(x**2)  # twice the antiderivative
    for _ in range(2):
        chosen, reasons = integration._fit(wrong, scope)
        assert (chosen, reasons) == integration._fit_anew(wrong, scope, True)
        assert chosen == [None, None] and len(reasons) == 2


def test_a_scope_made_from_another_keeps_no_verdicts_of_it():
    """A scope narrowed to some intervals (the signed-variable retry) judges afresh."""
    scope = _scope(1 / x)
    integration._fit(sympy.log(x), scope)
    assert scope.fitted
    part = dataclasses.replace(scope, samples=scope.samples[1:])
    assert part.fitted == {}
    chosen, reasons = integration._fit(sympy.log(x), part)
    assert chosen == [sympy.log(x)] and reasons == []


def test_the_methods_modules_are_loaded_by_the_caller():
    integration.preload_methods()
    assert set(integration._FIRST_USE) <= set(sys.modules)


def test_a_value_that_cannot_be_remembered_is_still_put_in():
    class Unhashable(float):
        __hash__ = None  # type: ignore[assignment]

    at = evaluator(a * x, x, {a: Unhashable(2.0)})
    assert at(3.0, 30) == pytest.approx(6.0)
