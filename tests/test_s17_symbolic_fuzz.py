"""Wrong or crashing answers found by fuzzing the symbolic layer (session 17).

Antiderivatives were checked only in the window |x| < 30 and on at most 12 intervals of
f's domain, and two intervals were joined when F looked continuous at 60 digits:

* ``1/(x - 50)``: a pole outside the window, so one constant "everywhere";
* ``1/(x - 2) + 1/(10**9*(x - 1))``: F's log|x - 1|/10⁹ too weak to see, so "x < 2";
* ``Piecewise((x, x < 40), (1/(x - 45), True))``: a piece beyond the window crashed
  (``EmptySet._inf``);
* ``Piecewise((1/x, x > 0), (x, True))``: f unbounded at 0 inside the one interval, and
  F = log|x| accepted there with one constant on the real line.

Parsing a number of more than 4,300 digits raised Python's ValueError from the LaTeX
reading, and a kernel of a constant beyond the float range raised OverflowError.

The truth: mpmath (F' = f by numeric differentiation, definite integrals by quadrature).
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy

from symcalc import ParseError, antiderivative, derivative, kernel, parse
from symcalc.cli import main


def _functions(result):
    x = result.variable
    F = sympy.lambdify(x, result.antiderivative, "mpmath")
    f = sympy.lambdify(x, result.integrand, "mpmath")
    return F, f


def _assert_antiderivative_on(result, a: float, b: float, kink: float | None = None) -> None:
    """F' = f inside (a, b) and F(b) − F(a) = ∫ₐᵇ f, at 30 digits (quadrature split at
    f's kink)."""
    F, f = _functions(result)
    with mpmath.workdps(30):
        for t in np.linspace(a, b, 8)[1:-1]:
            if t == kink:
                continue
            assert abs(mpmath.diff(F, t) - f(t)) < 1e-15 * max(1, abs(f(t)))
        quad = mpmath.quad(f, [a, (a + b) / 2 if kink is None else kink, b])
        assert abs(F(b) - F(a) - quad) < 1e-15 * max(1, abs(quad))


def test_a_pole_beyond_the_old_window_splits_the_constants():
    result = antiderivative("1/(x - 50)", timeout=30)
    assert result.intervals == (
        sympy.Interval.open(-sympy.oo, 50),
        sympy.Interval.open(50, sympy.oo),
    )
    _assert_antiderivative_on(result, 0, 49)
    _assert_antiderivative_on(result, 51, 70)


def test_a_pole_with_a_tiny_residue_is_not_joined_across():
    result = antiderivative("1/(x - 2) + 1/(10**9*(x - 1))", timeout=30)
    ends = [(i.inf, i.sup) for i in result.intervals]
    assert ends == [(-sympy.oo, 1), (1, 2), (2, sympy.oo)]
    _assert_antiderivative_on(result, 1.1, 1.9)


def test_a_piece_beyond_the_old_window_is_integrated_not_a_crash():
    result = antiderivative("Piecewise((x, x < 40), (1/(x - 45), True))", timeout=30)
    assert result.found
    assert [(i.inf, i.sup) for i in result.intervals] == [(-sympy.oo, 45), (45, sympy.oo)]
    _assert_antiderivative_on(result, 30, 44, kink=40)  # across the join at 40
    _assert_antiderivative_on(result, 46, 60)


def test_f_unbounded_inside_an_interval_with_a_jumping_F_is_refused():
    result = antiderivative("Piecewise((1/x, x > 0), (x, True))", timeout=30)
    assert not result.found
    assert "unbounded at x = 0" in result.reason


def test_an_integrable_singularity_inside_an_interval_still_has_one_constant():
    result = antiderivative("Piecewise((1/sqrt(x), x > 0), (0, True))", timeout=30)
    assert result.found and result.intervals is None
    _assert_antiderivative_on(result, -1, 1, kink=0)


@pytest.mark.parametrize(
    "text", ["9" * 5000, "x + " + "1" * 1001, r"\frac{1}{" + "9" * 5000 + "}", "1." + "0" * 1200]
)
def test_a_number_of_more_than_a_thousand_digits_is_refused_in_one_line(text):
    with pytest.raises(ParseError, match=r"number is too large \(more than 1000 digits\)") as error:
        parse(text)
    assert "\n" not in str(error.value) and len(str(error.value)) < 100


def test_messages_shorten_long_numbers():
    with pytest.raises(ParseError) as error:
        parse("9" * 999 + ".5e999")
    assert len(str(error.value)) < 120


def test_a_constant_beyond_the_float_range_evaluates_to_inf(capsys):
    with np.errstate(over="ignore"):  # inf raises NumPy's overflow condition, as a ufunc does
        values = kernel("10**400")(np.array([1.0, 2.0]))
        negative = kernel("-10**400")(np.array([1.0]))
    np.testing.assert_array_equal(values, [math.inf, math.inf])
    assert negative[0] == -math.inf
    assert main(["eval", "10**400", "--at", "1"]) == 0
    assert "->  inf" in capsys.readouterr().out


@pytest.mark.parametrize("text", ["oo", "x + oo", "oo*x", "loggamma(x - x) + x"])
def test_an_infinite_formula_is_refused_not_derived(text):
    """d/dx (x + oo) was 0 and loggamma(0)/x gave -oo/x**2: no real function is there."""
    with pytest.raises(ParseError, match="is infinite"):
        derivative(text)
    with pytest.raises(ParseError, match="is infinite"):
        antiderivative(text, timeout=5)


def test_an_infinity_in_a_condition_or_read_alone_stays():
    assert derivative("Piecewise((x**2, x < oo))") == 2 * sympy.Symbol("x", real=True)
    assert parse(r"\infty") == sympy.oo


@pytest.mark.parametrize(
    ("text", "kink"),
    [
        ("Min(sin(x), besselj(1, 5))", None),  # simplify gave 0
        ("Max(sin(x), besselj(1, 5))", None),  # simplify gave cos(x) on [0, 2π] only
        ("Min(x, besselj(1, 5))", sympy.besselj(1, 5)),  # no value at the kink
    ],
)
def test_a_tidied_derivative_keeps_the_values_of_sympy_diff(text, kink):
    x = sympy.Symbol("x", real=True)
    result = derivative(text)
    (symbol,) = result.free_symbols
    truth = sympy.diff(sympy.sympify(text, locals={"x": x}), x)
    for point in [-5.5, -4.2, -2.0, -0.3, 0.4, 1.9, 3.3, 4.7, 6.1]:
        got = complex(result.subs(symbol, point).evalf(30))
        want = complex(truth.subs(x, point).evalf(30))
        assert abs(got - want) < 1e-20, (point, got, want)
    if kink is not None:  # the convention's value, Heaviside(0) = 0: Min(x, c)′ = 0 at c
        assert result.subs(symbol, kink) == 0


def test_a_kernel_of_two_numbers_where_no_condition_may_hold(capsys):
    """Piecewise((1, x > 0))′ = Piecewise((0, x > 0)): NaN outside, not a NameError."""
    points = np.array([-2.0, 0.5, 2.0])
    with np.errstate(invalid="ignore"):
        first = kernel("Piecewise((x, x > 0))", order=1)(points)
        step = kernel("Piecewise((1, x > 0))")(points)
    np.testing.assert_array_equal(first, [math.nan, 1.0, 1.0])
    np.testing.assert_array_equal(step, [math.nan, 1.0, 1.0])
    assert main(["show", "Piecewise((x, x > 0))"]) == 0
    capsys.readouterr()


def test_a_pole_beyond_the_widest_window_is_stated_not_joined_over():
    result = antiderivative("1/(x - 2e4)", timeout=30)
    assert result.intervals is None and result.domain is not None
    assert "on each interval of the domain of f" in result.constants_text()
