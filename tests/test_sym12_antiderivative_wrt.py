"""``antiderivative(f, wrt=...)``: integrate by a named variable, as ``derivative`` does.

The truth is independent of symcalc: the answer differentiated back by SymPy equals the
integrand at random points (mpmath, 30 digits), with the other symbols at values of
both signs.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sympy

import symcalc
from symcalc.errors import SymcalcError
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.parse import parse

x, y, p = symbol("x"), symbol("y"), symbol("p")


def _antiderivative_of(F: sympy.Expr, f: sympy.Expr, var: sympy.Symbol, rng) -> bool:
    dF = sympy.diff(F, var)
    free = sorted(f.free_symbols | F.free_symbols, key=lambda s: s.name)
    seen = 0
    for _ in range(20):
        point = {s: sympy.Float(rng.uniform(-2.5, 2.5), 30) for s in free}
        a, b = complex(dF.evalf(30, subs=point)), complex(f.evalf(30, subs=point))
        assert abs(a - b) <= 1e-20 * max(1.0, abs(b)), (point, a, b)
        seen += 1
    return seen > 10


@pytest.mark.parametrize(
    ("f", "wrt"),
    [("x*y**2", "y"), ("x*y**2", "x"), ("y*exp(x*y)", "x"), ("exp(x*y)", "x"), ("mse", "y")],
)
def test_antiderivative_by_a_named_variable(f, wrt, rng):
    result = symcalc.antiderivative(f, wrt=wrt, timeout=60)
    assert result.variable.name == wrt
    assert result.antiderivative is not None
    integrand = symcalc.resolve(f).expr
    assert _antiderivative_of(result.antiderivative, integrand, result.variable, rng)


def test_a_form_that_holds_for_one_sign_only_is_not_shown():
    # atan(x/sqrt(y))/sqrt(y) is an antiderivative of 1/(x^2 + y) for y > 0 only
    result = symcalc.antiderivative("1/(x**2 + y)", wrt="x", timeout=60)
    if result.antiderivative is not None:
        F = result.antiderivative
        for value in (sympy.Rational(7, 10), sympy.Rational(-13, 10)):
            g = sympy.diff(F, x).subs(y, value) - 1 / (x**2 + value)
            assert abs(complex(g.subs(x, sympy.Rational(5, 2)).evalf(30))) < 1e-20


def test_wrt_default_and_errors():
    assert (
        symcalc.antiderivative("x*exp(x)", wrt="x").antiderivative
        == symcalc.antiderivative("x*exp(x)").antiderivative
    )
    with pytest.raises(SymcalcError, match="unknown variable 'z'"):
        symcalc.antiderivative("x*y", wrt="z")
    with pytest.raises(SymcalcError, match="'alpha' is a parameter of elu"):
        symcalc.antiderivative("elu", wrt="alpha")
    with pytest.raises(TypeError):
        symcalc.antiderivative("x*y", "x")  # keyword-only, as in derivative


def test_cli_integrate_takes_wrt():
    out = subprocess.run(
        [sys.executable, "-m", "symcalc", "integrate", "x*y**2", "--wrt", "y", "--format", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    record = json.loads(out.stdout)
    assert record["variable"] == "y"
    assert sympy.simplify(parse(record["antiderivative"]) - parse("x*y**3/3")) == 0
    bad = subprocess.run(
        [sys.executable, "-m", "symcalc", "integrate", "x*y", "--wrt", "q"],
        capture_output=True,
        text=True,
    )
    assert bad.returncode != 0 and len(bad.stderr.strip().splitlines()) == 1
