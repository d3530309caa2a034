"""LaTeX input: `symcalc.symbolic.parse_latex.latex_to_text` and `parse` reading LaTeX.

Every accepted formula is compared with an expression built directly in SymPy from
real symbols; every refused one is checked for the message that names the problem.
"""

from __future__ import annotations

import ast
import inspect
import re

import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st
from sympy import Abs, Float, Max, Min, Rational, erf, exp, log, oo, pi, sqrt

import symcalc.symbolic.parse_latex
from symcalc.errors import ParseError
from symcalc.symbolic.functions import sigmoid, symbol
from symcalc.symbolic.parse import parse
from symcalc.symbolic.parse_latex import latex_to_text

a, b, c, d, p, r, u, v, w, x, y, z = (symbol(n) for n in "abcdpruvwxyz")
alpha, beta, gamma, sigma, theta0, theta1, lamda = (
    symbol(n) for n in ("alpha", "beta", "gamma", "sigma", "theta_0", "theta_1", "lamda")
)

VALID = [
    (r"\frac{1}{1+e^{-x}}", 1 / (1 + exp(-x))),
    (r"x\tanh\left(\ln\left(1+e^{x}\right)\right)", x * sympy.tanh(log(1 + exp(x)))),
    (r"\max(0, x)", Max(0, x)),
    (
        r"\frac{x}{2}\left(1+\operatorname{erf}\left(\frac{x}{\sqrt{2}}\right)\right)",
        x / 2 * (1 + erf(x / sqrt(2))),
    ),
    (r"\sigma(x)(1-\sigma(x))", sigmoid(x) * (1 - sigmoid(x))),
    (r"-\left(y\log p + (1-y)\log(1-p)\right)", -(y * log(p) + (1 - y) * log(1 - p))),
    (r"$|p - y|$", Abs(p - y)),
    (r"\sqrt[3]{x}", x ** Rational(1, 3)),
    (r"$2x^2 + 3x + 1$", 2 * x**2 + 3 * x + 1),
    (r"e^{-x^2}", exp(-(x**2))),
    (r"\log_2 x", log(x, 2)),
    (r"$$\frac{1}{2}(p-y)^2$$", (p - y) ** 2 / 2),
    (r"\(x^{-1}\)", 1 / x),
    (r"\[ \sqrt{x^2 + 1} \]", sqrt(x**2 + 1)),
    (r"\dfrac{a}{b} + \tfrac12", a / b + Rational(1, 2)),
    (r"x\,y\;z\!w\quad 2", 2 * x * y * z * w),
    (r"$xy + 2x$", x * y + 2 * x),
    (r"2\sin x", 2 * sympy.sin(x)),
    (r"\sin 2x", sympy.sin(2 * x)),
    (r"\sin x \cos x", sympy.sin(x) * sympy.cos(x)),
    (r"$x(1+x)$", x * (1 + x)),
    (r"$(a+b)(c+d)$", (a + b) * (c + d)),
    (r"x_1 + z_{12} + w_{i}", symbol("x_1") + symbol("z_12") + symbol("w_i")),
    (r"\alpha\beta + \gamma", alpha * beta + gamma),
    (r"\lambda x", lamda * x),
    (r"\theta_0 + \theta_1 x", theta0 + theta1 * x),
    (r"\pi r^2", pi * r**2),
    (r"\exp(u) \exp v", exp(u) * exp(v)),
    (r"$e + 1$", sympy.E + 1),
    (r"\mathrm{e}^{x}", exp(x)),
    (r"x \cdot y \times z / w", x * y * z / w),
    (r"\left[ x + 1 \right]^2 + [y]", (x + 1) ** 2 + y),
    (r"\{x + 1\}", x + 1),
    (r"\left| x \right| + \lvert y \rvert + \left\lvert z \right\rvert", Abs(x) + Abs(y) + Abs(z)),
    (r"$||x| - |y||$", Abs(Abs(x) - Abs(y))),
    (r"\sin^2 x + \cos^2 x", sympy.Integer(1)),
    (r"\arcsin x + \arccos x + \arctan x", sympy.asin(x) + sympy.acos(x) + sympy.atan(x)),
    (r"\sec x + \csc x + \cot x", sympy.sec(x) + sympy.csc(x) + sympy.cot(x)),
    (r"\sinh x \cosh x", sympy.sinh(x) * sympy.cosh(x)),
    (r"\log_{10}(x) + \log^2 x", log(x, 10) + log(x) ** 2),
    (r"\min(x, y, z)", Min(x, y, z)),
    (r"\operatorname{relu}(x - 1)", Max(0, x - 1)),
    (r"\operatorname{softplus}(x)", log(1 + exp(x))),
    (r"\mathrm{sigmoid}(x) + \operatorname{tanh} x", sigmoid(x) + sympy.tanh(x)),
    (r"\operatorname{sign}(x) \operatorname{erfc}(x)", sympy.sign(x) * sympy.erfc(x)),
    (r"\operatorname{leaky\_relu}(x)", sympy.Piecewise((x, x > 0), (x / 100, True))),
    (r"\sigma\left(x\right)", sigmoid(x)),
    (r"\sigma^2 + \sigma_1", sigma**2 + symbol("sigma_1")),
    (r"x^{y^{z}}", x ** (y**z)),
    (r"-x^{2}", -(x**2)),
    (r"(-x)^{2}", x**2),
    (r"a - (b - c)", a - b + c),
    (r"\frac{1}{b c}", 1 / (b * c)),
    (r"\sqrt{2}x", sqrt(2) * x),
    (r"0.5x^{2}", Float("0.5") * x**2),
    (r"\left(\frac{x}{2}\right)^{2}", x**2 / 4),
    (r"\frac{e^{x} - e^{-x}}{e^{x} + e^{-x}}", (exp(x) - exp(-x)) / (exp(x) + exp(-x))),
    (r"x \cdot -y", -x * y),
    (r"\infty", oo),
    (r"-\infty", -oo),
]


@pytest.mark.parametrize(("latex", "expected"), VALID, ids=[t for t, _ in VALID])
def test_latex_reads_as_sympy(latex, expected):
    result = parse(latex)
    assert result == expected or sympy.simplify(result - expected) == 0


def test_table_is_large_enough():
    assert len(VALID) >= 40 and len(INVALID) >= 15


def test_output_is_plain_sympy_syntax():
    assert latex_to_text(r"\frac{1}{1+e^{-x}}") == "1/(1+exp(-x))"
    assert latex_to_text(r"\lambda_{1} w_{ij}") == "lamda_1*w_ij"
    assert latex_to_text(r"\log_2 x + \sqrt[3]{w_{12}}") == "log(x, 2)+w_12**(1/3)"
    assert latex_to_text(r"$\sigma$") == "sigma"


INVALID = [
    (r"x + \foo", r"unknown LaTeX command '\foo' at column 5", 5),
    (r"x+{y", r"unbalanced brace: '{' at column 3 is never closed", 3),
    (r"x+{y}+1}", r"'}' at column 8 has no matching '{'", 8),
    (r"\frac{1}", r"\frac needs two groups: \frac{a}{b}", 1),
    (r"\frac{}{x}", r"empty group at column 6", 6),
    (r"x\right)", r"'\right)' without '\left('", 2),
    (r"x & y", r"unexpected '&' at column 3", 3),
    (r"\left(x", r"'\left(' at column 1 is never closed", 1),
    (r"\left(x\right]", r"'\left(' at column 1 is closed by '\right]' at column 8", 8),
    (r"(x]", r"'(' at column 1 is closed by ']' at column 3", 3),
    (r"x^{2}+", r"expression ends too early after '+'", None),
    (r"\sin", r"\sin at column 1 needs an argument", 1),
    (r"\max x", r"\max needs its arguments in parentheses", 1),
    (r"\max(x)", r"\max takes at least 2 arguments, got 1", 1),
    (r"\sin(x, y)", r"\sin takes 1 argument, got 2", 1),
    (r"x^23", r"put '23' in braces after ^", 3),
    (r"x^-1", r"the exponent after '^' at column 2 needs braces", 2),
    (r"x^2^3", r"double superscript at column 4", 4),
    (r"x^{2}_1", r"put the subscript before the exponent", 6),
    (r"\sin^{-1} x", r"'\sin^{-1}' at column 1 is ambiguous", 1),
    (r"$sin x$", r"'sin' at column 2 would be read as the product s*i*n; write \sin", 2),
    (r"\sigmoid(x)", r"'\sigmoid' at column 1; write \operatorname{sigmoid}", 1),
    (r"\frca{1}{2}", r"did you mean '\frac'?", 1),
    (
        r"\operatorname{sigmod}(x)",
        r"unknown function 'sigmod' in \operatorname{sigmod} at column 1; did you mean 'sigmoid'?",
        1,
    ),
    (r"$x", r"'$' at column 1 is never closed", 1),
    (r"$2 3$", r"two numbers in a row at column 4", 4),
    (r"x_{1.5}", r"a subscript may hold only letters, digits and Greek letters", 4),
    (r"\ln_2 x", r"\ln takes no subscript", 4),
    (r"\left x", r"\left at column 1 must be followed by a delimiter", 1),
    (r"$()$", r"empty group at column 2", 2),
    ("\\", r"lone backslash at column 1", 1),
    (r"\sqrt", r"\sqrt needs a group: \sqrt{u}", 1),
    (r"\int x", r"unknown LaTeX command '\int' at column 1", 1),
    (r"\mathrm{d}x", r"unknown function 'd' in \mathrm{d}", 1),
    (r"$|x$", r"'|' at column 2 is never closed", 2),
]


@pytest.mark.parametrize(("latex", "message", "column"), INVALID, ids=[t for t, _, _ in INVALID])
def test_malformed_latex_is_refused(latex, message, column):
    with pytest.raises(ParseError, match=re.escape(message)) as info:
        latex_to_text(latex)
    if column is not None:
        assert info.value.column == column
    assert "\n" not in str(info.value)


@pytest.mark.parametrize(
    "latex",
    [
        r"\text{__import__('os')}",
        r"\operatorname{__import__}(x)",
        r"\mathrm{eval}(x)",
        r"\operatorname{os.system}(x)",
        r"\frac{1}{x}.real",
        r"{x}.__class__",
        r"$__import__('os').system('ls')$",
        r"\sigma(x); 1",
        r"\lambda: 1",
        r"\exp(x)\\ \exec",
    ],
)
def test_hostile_content_is_refused(latex):
    with pytest.raises(ParseError):
        parse(latex)


def test_no_evaluating_calls_in_the_module():
    tree = ast.parse(inspect.getsource(symcalc.symbolic.parse_latex))
    evaluators = {"eval", "exec", "sympify", "parse_expr", "parse_latex", "__import__"}
    names = {n.id for n in ast.walk(tree) if isinstance(n, ast.Name)}
    attributes = {n.attr for n in ast.walk(tree) if isinstance(n, ast.Attribute)}
    imports = [n for n in ast.walk(tree) if isinstance(n, (ast.Import, ast.ImportFrom))]
    imported = {al.name for n in imports for al in n.names}
    modules = {getattr(n, "module", None) or "" for n in imports}
    assert not (names | attributes | imported) & evaluators
    assert "compile" not in names  # the builtin; re.compile is an attribute
    assert not any(m.startswith("sympy") for m in modules)


@pytest.mark.parametrize(
    ("opener", "closer"),
    [("(", ")"), ("{", "}"), (r"\left(", r"\right)"), ("-(", ")"), (r"\sqrt{", "}")],
)
def test_nesting_is_limited_without_recursion_error(opener, closer):
    assert latex_to_text(opener * 20 + "x" + closer * 20)
    with pytest.raises(ParseError, match="nested too deeply"):
        latex_to_text(opener * 65 + "x" + closer * 65)


@pytest.mark.parametrize(
    "text", ["-" * 1999 + "x", r"\sin " * 399 + "x", "x^{" * 400 + "x" + "}" * 400]
)
def test_long_hostile_nesting_is_refused_cleanly(text):
    with pytest.raises(ParseError, match="nested too deeply"):
        latex_to_text(text)


_PIECES = [
    *"xye.+-*/^_()[]{}|,& $",
    "2",
    "12",
    "0.5",
    *r"""\frac \sqrt \sin \log \max \left \right \left( \right) \left| \right| \sigma \alpha
    \pi \infty \cdot \operatorname{relu} \mathrm{e} \lvert \rvert \{ \} \exp \, \vert \ln
    \lambda""".split(),
]


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_PIECES), min_size=1, max_size=14))
def test_any_token_soup_gives_text_or_parse_error(pieces):
    text = "".join(pieces)
    try:
        out = latex_to_text(text)
    except ParseError as exc:
        assert exc.column is None or 1 <= exc.column <= len(text) + 1
        return
    assert isinstance(out, str)
    ast.parse(out, mode="eval")  # always valid expression syntax
