"""The fundamental-theorem check, against independent truth.

Truth here is mpmath: the numeric accumulation is compared with ``mpmath.quad`` (split
at the kinks, see `test_quadrature.mp_integral`), claimed antiderivatives are known
closed forms, and singular points come from the formula itself.
"""

from __future__ import annotations

import functools
import json
import math

import mpmath
import numpy as np
import pytest
import sympy
from test_quadrature import mp_integral

from symcalc import SymcalcError, check_ftc, parse
from symcalc.numeric.ftc import FTCCheck, default_lower_limit
from symcalc.symbolic.catalog import CATALOG, catalog, univariate_entry
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.parse import resolve

ALL = sorted(CATALOG)
ACTIVATIONS = [e.name for e in catalog("activation")]
#: Activations with no elementary antiderivative (polylog or worse): numeric only.
NO_CLOSED_FORM = ["softplus", "silu", "mish", "log_sigmoid"]
x = symbol("x")


@functools.cache
def _check(name: str) -> FTCCheck:
    return check_ftc(name)


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
    if check.antiderivative.found:
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
        truth = mp_integral(entry, check.a, float(check.x[index]))
        assert abs(check.accumulation[index] - float(truth)) <= 1e-13 * max(1.0, abs(float(truth)))


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
        ({"f": "tanh", "antiderivative": "log(cosh(y))"}, "may only use x"),
        ({"f": "tanh", "antiderivative": "log(cosh(x)"}, "never closed"),
    ],
)
def test_bad_input_gets_one_clear_line(kwargs, message):
    f = kwargs.pop("f")
    with pytest.raises(SymcalcError, match=message):
        check_ftc(f, **kwargs)


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


# -- singular points, undefined values, steps with floor -------------------------------------


def test_json_never_holds_nan_or_inf():
    # a claimed F that is not real left of x = 1: F(x) - F(a) is undefined there
    check = check_ftc("1/abs(x)", 2.0, x_range=(0.2, 3), antiderivative="log(x - 1)")
    assert not check.held
    data = check.to_dict()
    json.dumps(data, allow_nan=False)
    assert data["numeric"]["accumulation_error"] is None
    assert "numeric.accumulation_error" in data["null_reasons"]


def test_an_infinite_constant_in_F_is_never_held():
    F = sympy.Piecewise(
        (-sympy.log(sympy.Abs(x)), x <= 0), (sympy.log(sympy.Abs(x)) + sympy.oo, True)
    )
    check = check_ftc("1/abs(x)", 1.0, x_range=(0.2, 3), antiderivative=F)
    assert check.symbolic_held is False and "not finite" in check.symbolic_method
    assert not check.held
    json.dumps(check.to_dict(), allow_nan=False)


def test_the_ftc_of_a_function_with_a_pole_outside_the_range_holds():
    check = check_ftc("1/abs(x)", 1.0, x_range=(0.2, 3))
    assert check.held and check.singular == ()
    json.dumps(check.to_dict(), allow_nan=False)


def test_an_antiderivative_with_floor_is_checked():
    # SymPy's answer: continuous thanks to the floor term, whose derivative is 0 between steps
    F = (
        -x / 2
        + sympy.sqrt(5)
        * (
            sympy.atan(sympy.sqrt(5) * sympy.tan(x))
            + sympy.pi * sympy.floor((x - sympy.pi / 2) / sympy.pi)
        )
        / 2
    )
    f = "(1 + cos(2*x))/(3 - 2*cos(2*x))"
    check = check_ftc(f, x_range=(-3, 3), antiderivative=F)
    assert check.symbolic_held is True and check.numeric_held, check.to_text()
    json.dumps(check.to_dict(), allow_nan=False)
    # without the floor term F jumps at ±π/2: not an antiderivative across them
    jumping = F.subs(sympy.floor((x - sympy.pi / 2) / sympy.pi), 0)
    check = check_ftc(f, x_range=(-3, 3), antiderivative=jumping)
    assert check.symbolic_held is False and check.symbolic_method.startswith("continuity")
    assert not check.numeric_held


@pytest.mark.parametrize(
    ("f", "singular", "pieces"),
    [
        ("sqrt(x**2 + 2*x + 1)/(x + 1)", (-1.0,), ((-3.0, -1.0, -2.0), (-1.0, 3.0, 0.0))),
        ("abs(x + 1)/(x + 1)", (-1.0,), ((-3.0, -1.0, -2.0), (-1.0, 3.0, 0.0))),
        ("1/x", (0.0,), ((-3.0, 0.0, -1.5), (0.0, 3.0, 1.0))),
    ],
)
def test_the_theorem_is_checked_on_each_piece_between_singular_points(f, singular, pieces):
    a = pieces[1][2]
    check = check_ftc(f, a, x_range=(-3, 3))
    assert check.held, check.to_text()
    assert check.singular == singular and check.pieces == pieces
    assert check.accumulation_error < 1e-12 and check.derivative_error < 1e-9
    assert "checked on each piece" in check.to_text()
    data = check.to_dict()
    assert data["singular_points"] == list(singular) and len(data["pieces"]) == 2
    # the arrays for plots break at the singular point
    where = np.flatnonzero(check.x == singular[0])
    assert where.size == 1 and math.isnan(check.accumulation[where[0]])


def test_a_is_refused_at_a_singular_point():
    with pytest.raises(SymcalcError, match="f is not finite at a = -1"):
        check_ftc("abs(x + 1)/(x + 1)", -1.0, x_range=(-3, 3))


# -- defaults where f is not real on the whole plot range ---------------------------------


@pytest.mark.parametrize(
    ("f", "x_range", "a", "singular"),
    [
        ("sqrt(x)", (0.0, 5.0), 0.0, ()),  # f is real on [0, ∞): not on [-5, 0)
        ("log(x)", (0.0, 5.0), 2.5, (0.0,)),  # log 0 = -∞: the check runs on (0, 5]
        ("x*log(2*x)", (0.0, 5.0), 2.5, (0.0,)),
        ("1/x", (-5.0, 5.0), 2.5, (0.0,)),  # a pole: both sides, each from its own a
        ("tanh(1/atan(x))", (-5.0, 5.0), 2.5, (0.0,)),
        ("sqrt(16*x**2 - 9)/x", (0.75, 5.0), 2.875, ()),  # the longer side, x >= 3/4
        ("sqrt(cos(x))", (0.0, math.pi / 2), 0.0, ()),  # the stretch holding 0
    ],
)
def test_without_a_range_the_check_runs_where_f_is_real(f, x_range, a, singular):
    check = check_ftc(f)
    assert check.held, check.to_text()
    assert check.x_range == pytest.approx(x_range, abs=1e-12)
    assert check.a == a and check.singular == singular
    # the truth: A(x) = ∫ₐˣ f by mpmath at 30 digits at the range's far end
    g = sympy.lambdify(sympy.Symbol("x"), sympy.sympify(f), modules="mpmath")
    with mpmath.workdps(30):
        far = float(mpmath.quad(g, [a, x_range[1]]))
    assert check.accumulation[-1] == pytest.approx(far, rel=1e-12)


def test_a_range_the_caller_gives_is_kept():
    with pytest.raises(SymcalcError, match="f is not finite at -5"):
        check_ftc("sqrt(x)", x_range=(-5, 5))


def test_a_fast_varying_f_is_differentiated_with_a_small_enough_step():
    """exp(cosh x): f'/f = sinh x = 27 at x = 4, so a step of 1e-2 has a truncation error
    of about 1e-7 relative; the step is halved until two steps agree.  f has no elementary
    antiderivative: one second of search finds none, as the default five did (the check is
    the same, its to_dict() too but for the time it reports)."""
    check = check_ftc("2*exp(cosh(x))", timeout=1)
    assert check.numeric_held, check.to_text()
    f = np.array([2 * mpmath.exp(mpmath.cosh(v)) for v in check.x], dtype=float)
    assert np.max(check.derivative_error / np.max(f)) < 1e-12


def test_the_poles_of_a_union_of_domains_split_the_check():
    """1/(x cos x): SymPy's domain is a union of two complements, ((-∞, 0) and (0, ∞),
    each without the zeros of cos), which was read as "no cut" and the check ran across
    ±π/2 (FAILED, 1.3e-9).  The truth: the zeros of x·cos(x) in [-5, 5]."""
    check = check_ftc("1/(x*cos(x))")
    assert check.held, check.to_text()
    expected = [k * math.pi / 2 for k in (-3, -1, 1, 3)] + [0.0]
    assert sorted(check.singular) == pytest.approx(sorted(expected), abs=1e-12)


@pytest.mark.parametrize("f", ["(x + 1)/Abs(x) + exp(5*x/6)", "1/sqrt(1 + 9/(16*x**2))"])
def test_f_undefined_where_f_jumps_leaves_each_side_its_own_constant(f):
    """f is undefined at 0; F = its antiderivative with one constant on each side jumps
    there, which is no failure of the theorem (it said "FAILED by continuity")."""
    check = check_ftc(f)
    assert check.symbolic_held and check.numeric_held, check.to_text()
    assert check.singular == (0.0,)


@pytest.mark.parametrize(
    ("f", "pole"),
    [
        # SymPy's domain: a ConditionSet it cannot solve; the poles are found numerically
        (
            "1/(-3*x/4 + atan(x))",
            lambda: mpmath.findroot(lambda t: mpmath.atan(t) - 3 * t / 4, 1.1),
        ),
        ("1/(x - 0.3001)**2", lambda: mpmath.mpf("0.3001")),  # no sign change across it
    ],
)
def test_a_pole_between_grid_points_is_found_and_splits_the_check(f, pole):
    check = check_ftc(f)
    assert check.numeric_held, check.to_text()
    with mpmath.workdps(30):
        where = float(pole())
    assert any(abs(c - where) <= 1e-12 for c in check.singular), (check.singular, where)


@pytest.mark.parametrize("f", ["cosh(5*x)", "125*x**9/27"])
def test_the_accumulation_is_summed_outwards_from_a(f):
    """A running sum from the left end of [-5, 5] reaches 7e9 for cosh(5t); A(x) near a = 0
    was that sum minus its value at a, with absolute errors of 1e-6 where A is about
    0.01 ("numeric: FAILED" for a true theorem).  The truth: F(x) - F(0) at 50 digits."""
    check = check_ftc(f)
    assert check.numeric_held, check.to_text()
    F = sympy.integrate(sympy.sympify(f), sympy.Symbol("x"))
    g = sympy.lambdify(sympy.Symbol("x"), F, "mpmath")
    with mpmath.workdps(50):
        exact = np.array([float(g(mpmath.mpf(float(t))) - g(0)) for t in check.x])
    assert np.all(np.abs(check.accumulation - exact) <= 1e-12 * np.maximum(1, np.abs(exact)))


def test_a_cube_root_is_checked_where_it_is_real_with_its_antiderivative():
    """x**(1/3) is the principal root: real on [0, ∞).  Its F was refused ('f is not real at
    any point tried') and the check ran on [-5, 5] without one."""
    check = check_ftc("x**(1/3)")
    assert check.x_range == (0.0, 5.0)
    assert check.antiderivative.antiderivative == parse("3*x**(4/3)/4")
    assert check.symbolic_held and check.numeric_held


@pytest.mark.parametrize(
    ("text", "F", "end"),
    [
        ("1/sqrt(2*x**2 - 4)", "sqrt(2)*log(2*x + sqrt(2)*sqrt(2*x**2 - 4))/2", math.sqrt(2)),
        (
            "1/sqrt(x**2/3 + 2*x + 3/2)",
            "sqrt(3)*log(2*x/3 + 2*sqrt(3)*sqrt(x**2/3 + 2*x + 3/2)/3 + 2)",
            -3 + 3 * math.sqrt(2) / 2,
        ),
    ],
)
def test_an_end_of_the_range_where_f_blows_up_is_left_out_like_a_pole(text, F, end):
    """The range is cut to f's domain at an irrational end; its float lies just inside, where
    f is 1e8 and finite: the panel reaching it was integrated to 1e-6 and the right F FAILED."""
    check = check_ftc(text, antiderivative=F, timeout=2)
    assert check.x_range[0] == pytest.approx(end, abs=1e-15)
    assert check.singular == (check.x_range[0],)
    assert check.held and check.accumulation_error < 1e-12


def test_an_f_whose_antiderivative_formula_is_undefined_at_a_takes_its_limit_there():
    """x³/log(x)² from a = 0 (where f = 0): F = -E₂(-4 log x)/log x is undefined at 0 itself,
    so every F(x) - F(a) was NaN and a right F FAILED; F(0⁺) = 0 is its limit."""
    check = check_ftc("x**3/log(x)**2")
    assert check.a == 0.0 and check.singular == (1.0,)
    assert check.held and check.accumulation_error < 1e-10
    F = check.antiderivative.antiderivative
    x = check.antiderivative.variable
    assert abs(sympy.N(F.subs(x, sympy.Rational(1, 10**8)), 30)) < 1e-30  # F(0⁺) = 0


def test_a_domain_sympy_does_not_find_is_cut_where_f_is_finite():
    """SymPy finds no domain for x**log(x**log(x**log(x))) (SymPy's heurisch tests): the
    default range [-5, 5] was refused ('f is not finite at -5'); it is cut to (0, 5]."""
    check = check_ftc("x**log(x**log(x**log(x)))", timeout=1)
    low, high = check.x_range
    assert 0 < low <= 0.01 and high == 5.0
    assert check.numeric_held
    truth = mpmath.mpf(5) ** (mpmath.log(5) ** 3)  # f(5), the last grid point
    assert check.x[-1] == 5.0 and abs(check.values[-1] / truth - 1) < 1e-12
