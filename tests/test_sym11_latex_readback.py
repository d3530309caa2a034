"""LaTeX that symcalc (and SymPy) writes reads back as the same function.

SymPy writes a function's argument in braces, ``\\log{\\left(x \\right)}^{2}`` for log(x)²,
and symcalc's printer is SymPy's: what it prints must read back as what was printed, never
as another function.  The truth is the expression printed, compared exactly or at random
points by mpmath at 30 digits.
"""

from __future__ import annotations

import mpmath
import pytest
import sympy

from symcalc.errors import SymcalcError
from symcalc.symbolic.derivatives import derive
from symcalc.symbolic.functions import FUNCTIONS, latex, symbol
from symcalc.symbolic.parse import parse
from symcalc.symbolic.render import TextbookLatexPrinter

x, y = symbol("x"), symbol("y")


def _equal_at_random_points(a: sympy.Expr, b: sympy.Expr, rng) -> bool:
    free = sorted(a.free_symbols | b.free_symbols, key=lambda s: s.name)
    seen = 0
    for _ in range(12):
        point = {s: sympy.Float(rng.uniform(0.2, 1.7), 30) for s in free}
        try:
            va, vb = complex(a.evalf(30, subs=point)), complex(b.evalf(30, subs=point))
        except (TypeError, ValueError):
            continue
        if not all(map(mpmath.isfinite, (va, vb))):
            continue
        if abs(va - vb) > 1e-20 * max(1.0, abs(vb)):
            return False
        seen += 1
    return seen >= 3


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        # SymPy's own LaTeX: the power after a braced, parenthesised argument is the function's
        # (was log(x**2), so x**3/log(x)**2 read as x**3/log(x**2))
        (r"\log{\left(x \right)}^{2}", sympy.log(x) ** 2),
        (r"\frac{x^{3}}{\log{\left(x \right)}^{2}}", x**3 / sympy.log(x) ** 2),
        (r"e^{- \log{\left(x \right)}^{2}}", sympy.exp(-(sympy.log(x) ** 2))),  # was x**(-2)
        (r"\log{(x)}^{3}", sympy.log(x) ** 3),
        # and the argument ends with the group (was sin(x*sqrt(cos(x))))
        (
            r"\sin{\left(x \right)} \sqrt{\cos{\left(x \right)}}",
            sympy.sin(x) * sympy.sqrt(sympy.cos(x)),
        ),
        (r"\sin{\left(x + y \right)} \theta", sympy.sin(x + y) * symbol("theta")),
        # a braced argument that is not one parenthesised group reads as before
        (r"\sin{x}^{2}", sympy.sin(x**2)),
        (r"\sin{(x) + 1}", sympy.sin(x + 1)),
        (r"\sin{\left(x \right) \left(y \right)}", sympy.sin(x * y)),
    ],
)
def test_a_braced_parenthesised_argument_reads_as_parentheses(written, meant):
    assert parse(written) == meant


@pytest.mark.parametrize(
    ("written", "message"),
    [(r"\sin{(x)", "never closed"), (r"\sin{(x}", "unexpected '}'"), (r"\sin{()}", "empty")],
)
def test_broken_braced_arguments_are_refused(written, message):
    with pytest.raises(SymcalcError, match=message):
        parse(written)


def test_heaviside_is_written_so_that_it_reads_back():
    """SymPy writes Heaviside(x) as \\theta\\left(x\\right), read back as θ·x."""
    for expr in (x * sympy.Heaviside(x), sympy.sin(x + 7) * sympy.Heaviside(3 * x - 7)):
        for printed in (latex(expr), TextbookLatexPrinter().doprint(expr)):
            assert r"\theta" not in printed
            assert parse(printed) == expr
    assert parse(latex(sympy.Heaviside(x - 1) ** 2)) == sympy.Heaviside(x - 1) ** 2


def _calls(name: str) -> list[str]:
    u, v = "x/3 + 1/4", "1/5"
    return [f"{name}({u})", f"{name}(2, {u})", f"{name}({u}, {v})"]


def _readable_calls(name: str) -> list[sympy.Expr]:
    calls = []
    for call in _calls(name):
        try:
            calls.append(parse(call))
        except SymcalcError:
            pass  # not this arity, or a number constructor (Rational, Float)
    return calls


#: Every function a formula may call, by the name it is read by.
CALLED = sorted(name for name in FUNCTIONS if _readable_calls(name))


def test_most_functions_are_checked():
    assert len(CALLED) >= 60 and {"log", "Heaviside", "besselj", "sigmoid"} <= set(CALLED)


@pytest.mark.parametrize("name", CALLED)
def test_every_function_printed_in_a_formula_reads_back(name, rng):
    """f(u)**3/log(x)**2 and sin(x)*f(u)*sqrt(y), printed, read back as themselves."""
    read = 0
    for inner in _readable_calls(name):
        for expr in (inner**3 / sympy.log(x) ** 2, sympy.sin(x) * inner * sympy.sqrt(y)):
            for printed in (latex(expr), TextbookLatexPrinter().doprint(expr)):
                back = parse(printed)
                assert back == expr or _equal_at_random_points(back, expr, rng), printed
                read += 1
    assert read


def test_a_derivative_with_a_squared_log_reads_back_from_its_latex(rng):
    d = derive("log(x)**3").to_dict()
    assert parse(d["derivative_latex"]) == parse(d["derivative"]) == 3 * sympy.log(x) ** 2 / x
    for step in d["steps"]:
        rhs = step["latex"].split(" = ")[-1]
        back, result = parse(rhs), parse(step["result"])
        assert back == result or _equal_at_random_points(back, result, rng), step["latex"]
