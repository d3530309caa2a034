"""Antiderivatives through u = exp(x): softplus and log σ are dilogarithms.

∫ log(1 + eˣ) dx has no elementary form (the Risch algorithm proves it), and SymPy finds
none in x; in u = eˣ the integrand is log(1 + u)/u, whose antiderivative −Li₂(−u) Meijer
G-functions find.  The truth: F′ = f by mpmath at 30 digits, and ∫ₐᵇ f by mpmath's
quadrature against F(b) − F(a).
"""

from __future__ import annotations

import mpmath
import pytest
import sympy

from symcalc import antiderivative, check_ftc
from symcalc.symbolic.integral_steps import real_form
from symcalc.symbolic.integration import _exponential, _has_exp


@pytest.mark.parametrize(
    ("name", "f", "expected"),
    [
        ("softplus", lambda t: mpmath.log1p(mpmath.exp(t)), "-polylog(2, -exp(x))"),
        ("log_sigmoid", lambda t: -mpmath.log1p(mpmath.exp(-t)), "-polylog(2, -exp(-x))"),
    ],
)
def test_softplus_and_log_sigmoid_integrate_to_dilogarithms(name, f, expected):
    found = antiderivative(name)
    assert found.method == "exponential", found.to_text()
    x = found.variable
    assert sympy.simplify(found.antiderivative - sympy.sympify(expected, {"x": x})) == 0
    F = sympy.lambdify(x, found.antiderivative, "mpmath")
    with mpmath.workdps(30):
        for p in (-40, -3.5, -0.25, 0, 0.5, 2, 25):
            p = mpmath.mpf(p)
            assert abs(mpmath.diff(F, p) - f(p)) <= 1e-25 * max(1, abs(f(p))), p
        a, b = mpmath.mpf(-2), mpmath.mpf(3)
        area = mpmath.quad(f, [a, b])
        assert abs((F(b) - F(a)) - area) <= 1e-25 * abs(area)


def test_the_ftc_check_of_softplus_holds_symbolically():
    check = check_ftc("softplus")
    assert check.symbolic_held is True and check.numeric_held, check.to_text()
    assert check.antiderivative.method == "exponential"


def test_the_substitution_reads_polar_numbers_as_ordinary_ones():
    x = sympy.Symbol("x", real=True)
    F, steps = _exponential(sympy.log(1 + sympy.exp(2 * x)), x)
    F = real_form(F)
    assert steps is None and not F.has(sympy.exp_polar)
    slope = sympy.lambdify(x, sympy.diff(F, x), "mpmath")
    with mpmath.workdps(30):
        for p in (-5, -0.5, 0.25, 3):
            truth = mpmath.log1p(mpmath.exp(2 * mpmath.mpf(p)))
            assert abs(slope(mpmath.mpf(p)) - truth) <= 1e-25 * truth


def test_the_substitution_applies_only_where_x_is_in_an_exponential():
    x = sympy.Symbol("x", real=True)
    assert _has_exp(sympy.log(sympy.cosh(x)), x)  # cosh counts: (eˣ + e⁻ˣ)/2
    assert not _has_exp(sympy.log(1 + x**2), x)
    assert not _has_exp(sympy.exp(sympy.Symbol("y")) * x, x)


def test_meijer_g_answers_carry_no_polar_numbers():
    """∫ log(1 + x)/x dx is −Li₂(−x); Meijer G-functions write −Li₂(x·exp_polar(iπ)), which
    the JSON showed as it was and a user's ``lambdify(..., "mpmath")`` could not evaluate
    (NameError: exp_polar)."""
    found = antiderivative("log(1 + x)/x")
    x = found.variable
    assert not found.antiderivative.has(sympy.exp_polar)
    assert "exp_polar" not in found.to_dict()["antiderivative"]
    F = sympy.lambdify(x, found.antiderivative, "mpmath")
    with mpmath.workdps(30):
        for p in (-0.9, -0.2, 0.3, 4.0):
            p = mpmath.mpf(p)
            assert abs(mpmath.diff(F, p) - mpmath.log1p(p) / p) <= 1e-25
