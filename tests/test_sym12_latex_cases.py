"""LaTeX symcalc prints reads back as the same function: piecewise ``cases`` and upright names.

symcalc prints a Piecewise as ``\\begin{cases} ... \\end{cases}`` (SymPy's form) and a
multi-letter name upright (``\\mathrm{slope}``); the LaTeX reader used to refuse both, so
the LaTeX of relu', elu, huber, leaky_relu, selu ... could not be read back.  The truth
is the expression printed, compared by mpmath at 30 digits at random points.
"""

from __future__ import annotations

import mpmath
import pytest
import sympy

import symcalc
from symcalc.errors import ParseError
from symcalc.symbolic.derivatives import derive
from symcalc.symbolic.functions import latex, symbol
from symcalc.symbolic.parse import parse
from symcalc.symbolic.render import TextbookLatexPrinter

x, y = symbol("x"), symbol("y")


#: Working digits of `_same`'s first look (mpmath through ``lambdify``): 20 more than the
#: 30 of its truth, so that rounding stays far below the 1e-20 it compares to.
FIRST_LOOK_DIGITS = 50


def _mpmath_function(expr: sympy.Expr, symbols: list[sympy.Symbol]):
    """``expr`` as an mpmath function of ``symbols``, or None where lambdify cannot print it."""
    try:
        return sympy.lambdify(symbols, expr, modules="mpmath")
    except Exception:  # noqa: BLE001 - then SymPy's evalf alone judges
        return None


def _agree_at_first_look(fa, fb, point: dict, symbols: list[sympy.Symbol]) -> bool:
    """Both functions finite at ``point`` and equal to 1e-20, at `FIRST_LOOK_DIGITS`."""
    if fa is None or fb is None:
        return False
    with mpmath.workdps(FIRST_LOOK_DIGITS):
        values = [mpmath.mpf(point[s]) for s in symbols]
        try:
            va, vb = complex(fa(*values)), complex(fb(*values))
        except Exception:  # noqa: BLE001 - undefined here, or not for mpmath: evalf decides
            return False
    finite = mpmath.isfinite(va) and mpmath.isfinite(vb)
    return bool(finite and abs(va - vb) <= 1e-20 * max(1.0, abs(va)))


def _same(a: sympy.Expr, b: sympy.Expr, rng, low=-3.0, high=3.0) -> bool:
    """a and b equal at 16 random points, by SymPy's evalf at 30 digits.

    Where both evaluate through mpmath (``lambdify``, 50 digits) and agree, that answers
    the point (evalf of a large expression costs 10 to 100 times more); a disagreement, a
    value that is not finite and whatever lambdify cannot print go to evalf, which judges.
    """
    names = {s.name.replace("lambd", "lamda"): s for s in a.free_symbols}
    b = b.xreplace({s: names.get(s.name, s) for s in b.free_symbols})
    if {s.name for s in b.free_symbols} - {s.name for s in a.free_symbols}:
        return False
    symbols = sorted(a.free_symbols, key=lambda s: s.name)
    fa, fb = _mpmath_function(a, symbols), _mpmath_function(b, symbols)
    seen = 0
    for _ in range(16):
        point = {s: sympy.Float(rng.uniform(low, high), 30) for s in a.free_symbols}
        if _agree_at_first_look(fa, fb, point, symbols):
            seen += 1
            continue
        va, vb = complex(a.evalf(30, subs=point)), complex(b.evalf(30, subs=point))
        if not (mpmath.isfinite(va) and mpmath.isfinite(vb)):
            continue
        if abs(va - vb) > 1e-20 * max(1.0, abs(va)):
            return False
        seen += 1
    return seen >= 4


@pytest.mark.parametrize("name", sorted(symcalc.CATALOG))
@pytest.mark.parametrize("order", [1, 2])
def test_catalog_latex_reads_back(name, order, rng):
    entry = symcalc.get(name)
    for var in entry.variables[:2]:
        d = derive(name, wrt=var, order=order, steps=False)
        record = d.to_dict()
        shown = [(record["expr_latex"], d.expr), (record["derivative_latex"], d.derivative)]
        if d.identity is not None:
            shown.append((record["identity_latex"], d.identity))
        for tex, truth in shown:
            assert _same(truth, parse(tex), rng), tex


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        (r"\begin{cases} 1 & \text{for}\: x > 0 \\0 & \text{otherwise} \end{cases}", "relu'"),
        (
            r"\begin{cases} \frac{x}{3} + \frac{1}{2} & \text{for}\: -3 < x < 3 \\1 & "
            r"\text{for}\: x \geq 3 \\0 & \text{for}\: x \leq -3 \end{cases}",
            sympy.Piecewise(
                (x / 3 + sympy.Rational(1, 2), (x > -3) & (x < 3)), (1, x >= 3), (0, True)
            ),
        ),
        (
            r"\begin{cases} 1 & \text{for}\: \left(x > 0 \wedge x < 1\right) \vee x > 3 \\2 & "
            r"\text{for}\: x \neq 2 \\3 & \text{for}\: x \leq 5 \\0 & \text{otherwise} \end{cases}",
            sympy.Piecewise(
                (1, ((x > 0) & (x < 1)) | (x > 3)), (2, sympy.Ne(x, 2)), (3, x <= 5), (0, True)
            ),
        ),
        (
            r"\begin{cases} x^2 & x \le 0 \\ \sin x & \text{otherwise} \\ \end{cases}",
            sympy.Piecewise((x**2, x <= 0), (sympy.sin(x), True)),
        ),
        (r"\mathrm{rb} x + \mathrm{slope}_{2}", symbol("rb") * x + symbol("slope_2")),
    ],
)
def test_cases_and_upright_names_read_back(written, meant, rng):
    if meant == "relu'":
        meant = symcalc.derivative("relu")
    assert _same(meant, parse(written), rng)


def test_printed_piecewise_with_an_equality_reads_back(rng):
    half = symcalc.derivative("relu", convention="half")  # 1/2 at x = 0
    back = parse(latex(half))
    assert back.subs(x, 0) == sympy.Rational(1, 2)
    assert _same(half, back, rng)


@pytest.mark.parametrize(
    ("written", "message"),
    [
        (r"\begin{matrix} 1 \end{matrix}", "environment 'matrix'"),
        (r"\begin{cases} 1 & x > 0 \\ 0 & x", "needs a relation|never closed"),
        (r"\begin{cases} 1 \\ 0 & \text{otherwise} \end{cases}", "needs '&'"),
        (r"\begin{cases} 1 & \text{otherwise} \\ 0 & x > 0 \end{cases}", "last row"),
        (r"\begin{cases} 1 & x > 0 \\ 0 & \text{otherwise}", "never closed"),
        (r"\frac{1}{2} < x", "unexpected '<'"),
        (r"\mathrm{foo}(x)", "knows no function foo"),
        (r"\text{hello}", "text is not math"),
    ],
)
def test_broken_cases_are_refused_in_one_line(written, message):
    with pytest.raises(ParseError, match=message):
        parse(written)


def test_a_derivative_over_a_thousand_parts_reads_back(rng):
    # d^4/dx^4 of this product is 1,167 parts of JSON and 2,690 characters of LaTeX (the old
    # limits: 1,000 parts and 2,000 characters, so symcalc could not read back its own JSON)
    f = "x**2*sin(x)**3*exp(-x**2)*tanh(x)"
    found = symcalc.derivative(f, order=4, simplify=False)
    printer = TextbookLatexPrinter()
    for text in (sympy.sstr(found), printer.doprint(found)):
        assert _same(found, parse(text), rng)
    assert len(printer.doprint(found)) > 2000


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        # symcalc's product-rule line d/dx[x]·tanh(x) read as d/dx(x·tanh x)
        (r"\frac{d}{dx}\left[x\right] \tanh{\left(x \right)}", sympy.tanh(x)),
        (r"\frac{d}{dx}[x^2] \sin x", 2 * x * sympy.sin(x)),
        (
            r"\frac{d}{dx}\left[x\right] \tanh{\left(x \right)} + "
            r"x \frac{d}{dx}\left[\tanh{\left(x \right)}\right]",
            sympy.diff(x * sympy.tanh(x), x),
        ),
    ],
)
def test_a_derivative_of_a_square_bracket_is_of_the_bracket_alone(written, meant, rng):
    assert _same(meant, parse(written), rng)


@pytest.mark.parametrize("f", ["x*tanh(x)", "tanh(x)/(x**2 + 3)", "x + softplus(x)", "gelu(x)"])
def test_every_step_side_symcalc_prints_reads_back(f, rng):
    from symcalc.symbolic import render

    d = derive(f, order=2)
    printer = TextbookLatexPrinter()
    for tree in d.steps:
        for line in render.lines(tree):
            for side in line.rhs:
                assert _same(side.doit(), parse(printer.doprint(side)), rng), printer.doprint(side)


def test_a_power_after_a_derivative_of_a_bracket_is_refused():
    with pytest.raises(ParseError, match="unclear"):
        parse(r"\frac{d}{dx}\left[x\right]^{2}")
