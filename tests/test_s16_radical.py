"""Integrals that need the substitution u = P(x)^(1/q) to clear a root of a polynomial.

SymPy's textbook rules substitute u only where g/(du/dx) has no x left, so ∫ √(4 − x²)/x³
had no answer and ∫ √(1 − x²)/x one with I·π/2 terms that cancel on the interval.  With
u = √(1 − x²), x² = 1 − u² and √(1 − x²)/x dx = −u²/(1 − u²) du, a rational function.
The truth: F′ = f by mpmath at 30 digits at points of each interval of the domain.
"""

from __future__ import annotations

import json

import mpmath
import pytest
import sympy

from symcalc import antiderivative
from symcalc.cli import main
from symcalc.symbolic.integration import _in_root


def _holds(text: str, points: list[float]) -> None:
    found = antiderivative(text)
    assert found.found, found.to_text()
    x = found.variable
    F = sympy.lambdify(x, found.antiderivative, "mpmath")
    f = sympy.lambdify(x, sympy.sympify(text, locals={"x": x}), "mpmath")
    with mpmath.workdps(30):
        for p in points:
            slope = mpmath.diff(F, mpmath.mpf(p))
            assert abs(mpmath.im(slope)) < 1e-25, (text, p)
            assert abs(slope - f(mpmath.mpf(p))) <= 1e-20 * max(1, abs(f(mpmath.mpf(p)))), p
            assert abs(mpmath.im(F(mpmath.mpf(p)))) < 1e-25, (text, p)  # F is real there
    return found


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("sqrt(1 - x**2)/x", [-0.9, -0.3, 0.2, 0.7, 0.99]),
        ("sqrt(4 - x**2)/x**3", [-1.9, -0.5, 0.1, 1.2, 1.99]),
        ("sqrt(x**2 + 1)/x", [-30.0, -1.0, 0.01, 2.0, 50.0]),
        ("1/(x*sqrt(1 + x**2))", [-7.0, -0.2, 0.3, 4.0]),
        ("x**5*sqrt(1 + x**3)", [-0.9, 0.0, 1.5, 3.0]),
        ("1/(x*(1 + x**3)**(1/3))", [-0.5, 0.5, 2.0, 9.0]),
    ],
)
def test_a_root_of_a_polynomial_is_cleared_by_substitution(text, points):
    found = _holds(text, points)
    assert found.method == "radical"
    assert not found.antiderivative.has(sympy.I)
    step = found.steps
    assert step is not None and step.rule == "substitution"


def test_the_steps_show_the_substitution_and_the_rational_integral():
    found = antiderivative("sqrt(1 - x**2)/x")
    x = found.variable
    assert found.steps.details[0][1] == sympy.sqrt(1 - x**2)
    inner = found.steps.substeps[0]
    u = inner.variable
    assert sympy.simplify(inner.integrand - u**2 / (u**2 - 1)) == 0


def test_the_cli_names_the_method(capsys):
    assert main(["integrate", "sqrt(4 - x**2)/x**3", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["method"] == "radical" and data["antiderivative"]


def test_no_substitution_where_the_two_roots_for_x_disagree():
    """1/(x²√(x² + 9)): g/(du/dx) = 1/x³, odd in x, so x = ±√(u² − 9) give different
    integrands in u: no single H(u) holds on both sides, and none is offered."""
    x = sympy.Symbol("x", real=True)
    u = sympy.Dummy("u", real=True)
    g = 1 / (x**2 * sympy.sqrt(x**2 + 9))
    assert _in_root(g, x, sympy.sqrt(x**2 + 9), u) is None
    H = _in_root(sympy.sqrt(1 - x**2) / x, x, sympy.sqrt(1 - x**2), u)
    assert sympy.simplify(H - u**2 / (u**2 - 1)) == 0
