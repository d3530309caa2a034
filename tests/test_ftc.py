"""Antiderivatives and the fundamental-theorem check, against independent truth.

Truth here is mpmath: antiderivatives are differentiated by SymPy and evaluated at
50 digits, definite integrals F(b) − F(a) are compared with ``mpmath.quad`` (split at
the kinks), and the numeric accumulation is compared with ``mpmath.quad`` too.
"""

from __future__ import annotations

import functools
import json
import math
import re

import mpmath
import numpy as np
import pytest
import sympy

from symcalc import SymcalcError, antiderivative, check_ftc
from symcalc.numeric.ftc import FTCCheck, default_lower_limit
from symcalc.numeric.quadrature import accumulate, integrate_numeric
from symcalc.symbolic.catalog import CATALOG, catalog, univariate_entry
from symcalc.symbolic.functions import expand_named, symbol
from symcalc.symbolic.integrals import Antiderivative, integral_latex, integral_text
from symcalc.symbolic.kinks import kink_candidates
from symcalc.symbolic.parse import parse, resolve

ALL = sorted(CATALOG)
ACTIVATIONS = [e.name for e in catalog("activation")]
#: Activations whose antiderivative is elementary (or erf): symcalc must find it.
CLOSED_FORM = [
    "identity",
    "sigmoid",
    "tanh",
    "relu",
    "leaky_relu",
    "relu6",
    "elu",
    "selu",
    "celu",
    "softsign",
    "gelu",
    "hard_sigmoid",
    "hard_tanh",
    "hard_swish",
    "gaussian",
    "sinusoid",
]
#: Activations with no elementary antiderivative (polylog or worse): numeric only.
NO_CLOSED_FORM = ["softplus", "silu", "mish", "log_sigmoid"]


@functools.cache
def _antiderivative(name: str) -> Antiderivative:
    return antiderivative(name)


@functools.cache
def _check(name: str) -> FTCCheck:
    return check_ftc(name)


def _mp_function(expr: sympy.Expr, x: sympy.Symbol):
    return sympy.lambdify(x, expand_named(expr), modules="mpmath")


def _kinks(entry) -> list[float]:
    out = []
    for point in kink_candidates(entry.expr, entry.variable):
        try:
            out.append(float(point))
        except TypeError:
            continue
    return sorted(set(out))


def _mp_integral(entry, a: float, b: float) -> mpmath.mpf:
    """∫ₐᵇ f with mpmath at 50 digits, split at the kinks so each piece is smooth."""
    f = _mp_function(entry.expr, entry.variable)
    lo, hi = min(a, b), max(a, b)
    with mpmath.workdps(50):
        nodes = [
            mpmath.mpf(lo),
            *[mpmath.mpf(k) for k in _kinks(entry) if lo < k < hi],
            mpmath.mpf(hi),
        ]
        value = mpmath.quad(f, nodes)
    return value if a <= b else -value


def _sample(entry, rng, count=10) -> np.ndarray:
    low, high = entry.plot_range
    return rng.uniform(low, high, count)


# -- functions of one variable -------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_univariate_entry_is_a_function_of_its_first_variable_alone(name):
    entry = univariate_entry(resolve(name))
    assert entry.variables == (CATALOG[name].variable,)
    assert entry.expr.free_symbols <= {entry.variable}
    assert not entry.params


def test_univariate_entry_refuses_several_free_variables():
    with pytest.raises(SymcalcError, match=r"function of x, y; .* write numbers for y"):
        univariate_entry(resolve("x*y"))


# -- antiderivatives ------------------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_antiderivative_differentiates_back_and_gives_definite_integrals(name, rng):
    result = _antiderivative(name)
    entry = result.entry
    if not result.found:
        assert result.method == "none" and result.reason
        return
    F = result.antiderivative
    assert not F.has(sympy.Integral), "an unevaluated Integral is no antiderivative"
    x = entry.variable
    residual = _mp_function(sympy.diff(F, x) - entry.expr, x)
    f = _mp_function(entry.expr, x)
    with mpmath.workdps(50):
        for point in _sample(entry, rng):
            assert abs(residual(mpmath.mpf(point))) <= 1e-30 * max(1, abs(f(mpmath.mpf(point))))
    # F(b) - F(a) is the definite integral, also across kinks (F must be continuous)
    F_mp = _mp_function(F, x)
    low, high = entry.plot_range
    for a, b in [(low, high), (low, (low + high) / 2), (0.3 * low + 0.7 * high, high)]:
        with mpmath.workdps(50):
            difference = F_mp(mpmath.mpf(b)) - F_mp(mpmath.mpf(a))
        truth = _mp_integral(entry, a, b)
        assert abs(difference - truth) <= 1e-25 * max(1, abs(truth))


@pytest.mark.parametrize("name", CLOSED_FORM)
def test_textbook_activations_have_a_closed_form(name):
    result = _antiderivative(name)
    assert result.found, result.reason
    assert result.method in ("manualintegrate", "piecewise", "integrate")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("sigmoid", "log(1 + exp(x))"),
        ("tanh", "log(cosh(x))"),
        ("relu", "Piecewise((0, x <= 0), (x**2/2, True))"),
        ("gaussian", "sqrt(pi)*erf(x)/2"),
        ("sinusoid", "-cos(x)"),
        ("binary_cross_entropy", "p - p*log(p)"),
    ],
)
def test_known_antiderivatives_exactly(name, expected):
    from symcalc.symbolic.parse import parse

    F = _antiderivative(name).antiderivative
    assert sympy.simplify(F - parse(expected)) == 0


@pytest.mark.parametrize("name", NO_CLOSED_FORM)
def test_no_closed_form_is_a_normal_answer(name):
    result = _antiderivative(name)
    assert not result.found and result.antiderivative is None and result.steps is None
    assert "no closed form" in result.to_text()
    data = result.to_dict()
    assert data["antiderivative"] is None and data["steps"] == []
    json.dumps(data, allow_nan=False)


def test_time_budget_runs_out_cleanly():
    result = antiderivative("exp(-x**2)*log(1 + exp(x))*sin(x)**3", timeout=0.05)
    assert not result.found
    assert "time budget of 0.05 s" in result.reason


@pytest.mark.parametrize("name", ALL)
def test_every_integration_step_is_an_identity(name, rng):
    result = _antiderivative(name)
    for step in result.step_list():
        if step.rule == "no rule found":
            continue
        residual = _mp_function(
            sympy.diff(step.result, step.variable) - step.integrand, step.variable
        )
        for point in rng.uniform(0.1, 2.5, 4):  # inside every piece's domain that steps use
            with mpmath.workdps(40):
                value = complex(residual(mpmath.mpf(point)))
            assert abs(value) < 1e-25, (step.rule, step.integrand, step.result)


def test_steps_read_like_a_derivation():
    result = antiderivative("x*exp(x)")
    rules = [s.rule for s in result.step_list()]
    assert rules == ["integration by parts", "exponential rule", "exponential rule"]
    text = result.to_text(steps=True)
    assert "∫ x*exp(x) dx = x*exp(x) - exp(x) + C" in text
    assert "(integration by parts, u = x, dv = exp(x) dx)" in text
    latex = result.to_latex(steps=True)
    body = latex.split("\\begin{align*}\n")[1].split("\n\\end{align*}")[0].splitlines()
    assert len(body) == 4 and all("&=" in line for line in body)  # ∫ = F + C, then 3 steps
    assert all("\\tag*{" in line for line in body[1:])  # each step's rule at the right
    records = result.to_dict()["steps"]
    assert {"rule", "variable", "expr", "result", "note", "latex"} <= set(records[0])


def test_substitution_and_piecewise_steps_name_their_details():
    sig = antiderivative("sigmoid")
    assert [s.rule for s in sig.step_list()] == ["rewrite", "substitution", "reciprocal rule"]
    assert sig.step_list()[1].details == (("u", sympy.exp(symbol("x")) + 1),)
    hard = antiderivative("hard_tanh")
    root, *pieces = hard.step_list()
    assert root.rule == "piecewise rule" and "continuous" in root.comment
    assert [p.note().split("for ")[-1] for p in pieces] == ["x <= -1", "-1 < x < 1", "x >= 1"]
    assert r", for $-1 < x < 1$}" in hard.to_latex()


# -- how integrals are printed -----------------------------------------------------------


def _same_function(read: sympy.Expr, expected: sympy.Expr, x: sympy.Symbol, rng) -> None:
    """``read`` (text or LaTeX read back) equals ``expected`` at random points, by mpmath."""
    read = read.xreplace({s: x for s in read.free_symbols if s.name == x.name})
    mine, truth = _mp_function(read, x), _mp_function(expected, x)
    with mpmath.workdps(50):
        for point in rng.uniform(0.1, 2.5, 4):
            a, b = mine(mpmath.mpf(point)), truth(mpmath.mpf(point))
            # floats print with 17 digits: agreement to 1e-14, not to 50 digits
            assert abs(a - b) <= 1e-14 * max(1, abs(b)), (read, expected)


def test_an_integral_of_a_sum_puts_the_sum_in_parentheses():
    huber = antiderivative("huber")
    assert r"\int \left(- p - \frac{1}{2}\right) dp &= - \frac{p^{2}}{2} - \frac{p}{2}" in (
        huber.to_latex(steps=True)
    )
    assert "∫ (-p - 1/2) dp = -p**2/2 - p/2   (sum rule, for p < -1)" in huber.to_text(steps=True)
    line = antiderivative("x + 1")
    assert line.to_text() == "∫ (x + 1) dx = x**2/2 + x + C"
    assert line.latex_equation() == r"\int \left(x + 1\right) dx = \frac{x^{2}}{2} + x + C"
    assert repr(line) == "<Antiderivative ∫ (x + 1) dx = x**2/2 + x>"
    assert antiderivative("x*exp(x)").to_text() == "∫ x*exp(x) dx = x*exp(x) - exp(x) + C"


def test_a_sum_in_dv_is_in_parentheses_too():
    parts = antiderivative("(x + 1)*log(x)")
    assert "dv = (x + 1) dx" in parts.step_list()[0].note()
    assert r"dv = \left(x + 1\right) dx" in parts.to_latex(steps=True)
    assert "∫ (x + 1) dx = x**2/2 + x   (sum rule, this gives v)" in parts.to_text(steps=True)


@pytest.mark.parametrize("name", ALL)
def test_every_printed_integral_reads_back_as_its_integrand(name, rng):
    """Each step's ∫ ... d(var), text and LaTeX: a sum in parentheses, the inside f itself."""
    result = _antiderivative(name)
    text_lines = result.to_text(steps=True).split("\nsteps:\n")[-1].splitlines()
    records = result.to_dict()["steps"]
    steps = result.step_list()
    if not steps:
        steps, text_lines = [None], [result.to_text()]
        records = [{"latex": result.latex_equation()}]
    for step, text, record in zip(steps, text_lines, records, strict=True):
        integrand = result.integrand if step is None else step.integrand
        var = (result.variable if step is None else step.variable).name
        is_sum = isinstance(integrand, sympy.Add)
        texts = re.match(rf"∫ (.*) d{var}( = |: )", text)
        d = re.escape(sympy.latex(symbol(var)))
        latexes = re.match(rf"\\int (.*?)( \\, |\\right\) )d{d}", record["latex"])
        assert texts and latexes, (text, record["latex"])
        inside_text, inside_latex = texts.group(1), latexes.group(1)
        if is_sum:
            assert inside_text.startswith("(") and inside_text.endswith(")"), text
            assert inside_latex.startswith(r"\left(") and latexes.group(2) == r"\right) ", record
            inside_latex = inside_latex.removeprefix(r"\left(")
        else:
            assert latexes.group(2) == r" \, ", record["latex"]
        x = symbol(var)
        if "Piecewise" not in inside_text:
            _same_function(parse(inside_text), integrand, x, rng)
        if r"\begin" not in inside_latex and "Piecewise" not in inside_text:
            _same_function(parse(inside_latex), integrand, x, rng)


def test_integral_printers_for_other_modules():
    p = symbol("p")
    half = sympy.Rational(1, 2)
    assert integral_text(-p - half, p) == "∫ (-p - 1/2) dp"
    assert integral_latex(-p - half, p) == r"\int \left(- p - \frac{1}{2}\right) dp"
    assert integral_text(-p, p) == "∫ -p dp"
    assert integral_latex(sympy.exp(-(p**2)), p) == r"\int e^{- p^{2}} \, dp"


def test_logs_are_real_and_keep_the_integrand_domain():
    assert str(antiderivative("1/(x - 1)").antiderivative) == "log(Abs(x - 1))"
    assert str(antiderivative("log(x)").antiderivative) == "x*log(x) - x"
    assert antiderivative("softsign").antiderivative.has(sympy.I) is False


# -- the fundamental theorem ---------------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_ftc_holds_for_every_catalog_entry(name):
    check = _check(name)
    assert check.numeric_held, check.to_text()
    assert check.held
    assert check.derivative_error < 1e-12
    if check.antiderivative.found:
        assert check.symbolic_held is True, check.to_text()
        assert check.accumulation_error < 1e-12
    else:
        assert check.symbolic_held is None and check.symbolic_method is None


@pytest.mark.parametrize("name", ACTIVATIONS)
def test_ftc_for_activations_is_symbolic_where_a_closed_form_exists(name):
    check = _check(name)
    assert check.numeric_held
    if name in CLOSED_FORM:
        assert check.symbolic_held is True
        assert check.symbolic_method in ("simplify", "random points")
    elif name in NO_CLOSED_FORM:
        assert check.symbolic_held is None  # numeric only, and that is a pass
        assert check.held
    else:  # an activation added later: a closed form, if found, must check out
        assert check.symbolic_held is not False


@pytest.mark.parametrize(
    "name", ["relu", "hard_tanh", "huber", "gelu", "mish", "silu", "binary_cross_entropy"]
)
def test_accumulation_matches_mpmath_quadrature(name):
    check = _check(name)
    entry = check.entry
    for index in np.linspace(0, check.x.size - 1, 9).astype(int):
        truth = _mp_integral(entry, check.a, float(check.x[index]))
        assert abs(check.accumulation[index] - float(truth)) <= 1e-13 * max(1.0, abs(float(truth)))


def test_accumulate_is_the_integral_from_a():
    xs = np.array([[-2.0, 0.5], [3.0, 0.0]])
    assert np.allclose(accumulate("cos(x)", 0, xs), np.sin(xs), rtol=0, atol=1e-14)
    assert accumulate("relu", 1.0, [-1.0, 1.0, 2.0]).tolist() == pytest.approx(
        [-0.5, 0.0, 1.5], abs=1e-15
    )
    assert accumulate("x", 0, []).shape == (0,)


@pytest.mark.parametrize("name", ALL)
def test_integrate_numeric_matches_mpmath(name):
    entry = univariate_entry(resolve(name))
    low, high = entry.plot_range
    truth = float(_mp_integral(entry, low, high))
    assert integrate_numeric(name, low, high) == pytest.approx(truth, rel=1e-13, abs=1e-14)
    assert integrate_numeric(name, high, low) == pytest.approx(-truth, rel=1e-13, abs=1e-14)


def test_quadrature_refuses_a_divergent_integral():
    with pytest.raises(SymcalcError, match="did not reach 1e-10 accuracy"):
        integrate_numeric("1/x", 0, 1)
    assert integrate_numeric("log(x)", 0, 1) == pytest.approx(-1.0, abs=1e-13)


def test_ftc_over_a_wide_range_and_far_tails():
    wide = check_ftc("sigmoid", x_range=(-1000, 1000), points=101)
    assert wide.held and wide.accumulation_error <= 1e-12 * 1000
    tails = check_ftc("gaussian", x_range=(-40, 40))
    assert tails.held and tails.derivative_error < 1e-14


def test_a_wrong_antiderivative_fails_both_parts():
    check = check_ftc("sigmoid", antiderivative="x + log(1 + exp(x))")
    assert check.symbolic_held is False and check.numeric_held is False and not check.held
    assert check.accumulation_error == pytest.approx(6.0, rel=1e-12)  # the extra x over [0, 6]


def test_a_constant_shift_is_still_an_antiderivative():
    assert check_ftc("sigmoid", antiderivative="log(1 + exp(x)) + 7").held


def test_an_antiderivative_that_jumps_fails_the_continuity_check():
    # right derivative on every piece, wrong constants: not an antiderivative on the line
    check = check_ftc(
        "hard_tanh", antiderivative="Piecewise((-x, x <= -1), (x**2/2, x <= 1), (x, True))"
    )
    assert check.symbolic_held is False and check.symbolic_method.startswith("continuity")
    assert check.numeric_held is False
    assert check.accumulation_error == pytest.approx(0.5, rel=1e-12)


def test_an_unevaluated_integral_is_refused_as_an_antiderivative():
    x, t = symbol("x"), symbol("t")
    with pytest.raises(SymcalcError, match="closed form"):
        check_ftc("tanh", antiderivative=sympy.Integral(sympy.tanh(t), (t, 0, x)))


def test_the_lower_limit_respects_the_domain():
    assert _check("binary_cross_entropy").a == 0.5
    with pytest.raises(
        SymcalcError, match=r"a = 0 is outside the domain of binary_cross_entropy .*e\.g\. 0\.5"
    ):
        check_ftc("binary_cross_entropy", a=0)
    with pytest.raises(SymcalcError, match="leaves the domain"):
        check_ftc("binary_cross_entropy", x_range=(-1, 0.5))


@pytest.mark.parametrize("name", ALL)
def test_the_default_lower_limit_is_the_one_checks_and_plots_use(name):
    a = default_lower_limit(name)
    entry = univariate_entry(resolve(name))
    domain = entry.domain_of(entry.variable)
    assert domain.contains(sympy.Float(a)) is sympy.true
    middle = sum(entry.plot_range) / 2
    assert a == (0.0 if domain.contains(0) is sympy.true else middle)
    assert _check(name).a == a


def test_the_default_lower_limit_of_a_bounded_domain_is_inside_it():
    assert default_lower_limit("binary_cross_entropy") == 0.5
    assert default_lower_limit("log(x)") == 0.0  # 0 is in the parser's domain; check_ftc moves it
    assert default_lower_limit("sigmoid") == 0.0


def test_the_lower_limit_moves_inside_where_f_is_undefined_at_0():
    check = check_ftc("log(x)", x_range=(0.5, 4))
    assert check.a == 2.25 and check.held
    with pytest.raises(
        SymcalcError, match=r"f is not finite at a = 0; choose another `a`"
    ) as refused:
        check_ftc("log(x)", a=0, x_range=(0.5, 4))
    assert refused.value.parameter == "a"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"f": "sigmod"}, "did you mean 'sigmoid'"),
        ({"f": "x*y"}, "function of one variable"),
        ({"f": "tanh", "a": float("nan")}, "`a` must be a finite number"),
        ({"f": "tanh", "x_range": (2, -2)}, "A < B"),
        ({"f": "tanh", "x_range": (0, "b")}, "`x_range` must be a number"),
        ({"f": "tanh", "points": 5}, "`points` must be a whole number"),
        ({"f": "tanh", "timeout": -1}, "`timeout` must be a positive number"),
        ({"f": "1/x", "a": 0.5, "x_range": (-1, 1)}, "f is not finite at 0"),
        ({"f": "tanh", "antiderivative": "log(cosh(y))"}, "may only use x"),
        ({"f": "tanh", "antiderivative": "log(cosh(x)"}, "never closed"),
    ],
)
def test_bad_input_gets_one_clear_line(kwargs, message):
    f = kwargs.pop("f")
    with pytest.raises(SymcalcError, match=message):
        check_ftc(f, **kwargs)


def test_antiderivative_bad_input():
    with pytest.raises(SymcalcError, match="`timeout` must be a positive number") as refused:
        antiderivative("tanh", timeout=0)
    assert refused.value.parameter == "timeout"
    with pytest.raises(SymcalcError, match="unknown function 'sigmod'"):
        antiderivative("sigmod(x)")


def test_results_render_for_people_programs_and_notebooks():
    check = _check("relu")
    data = check.to_dict()
    assert {"input", "a", "antiderivative", "symbolic", "numeric"} <= set(data)
    assert {"held", "seconds"} <= set(data["symbolic"])
    assert {"held", "max_abs_error", "points", "seconds"} <= set(data["numeric"])
    assert data["antiderivative"] == "Piecewise((0, x <= 0), (x**2/2, True))"
    json.dumps(data, allow_nan=False)
    text = check.to_text()
    assert "symbolic: held" in text and "numeric:  held" in text
    assert repr(check).startswith("<FTCCheck relu: symbolic True, numeric True")
    assert check._repr_png_().startswith(b"\x89PNG\r\n\x1a\n")
    found = check.antiderivative
    assert found._repr_latex_().startswith("$$\\int \\max\\left(0, x\\right) \\, dx = ")
    assert repr(found) == "<Antiderivative ∫ Max(0, x) dx = Piecewise((0, x <= 0), (x**2/2, True))>"
    assert math.isfinite(check.max_abs_error)
