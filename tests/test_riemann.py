"""Riemann sums and their convergence, against closed forms, plain loops and mpmath."""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import given, settings
from hypothesis import strategies as st

from symcalc import SymcalcError, riemann_convergence, riemann_sum
from symcalc.numeric.riemann import RULES
from symcalc.symbolic.catalog import CATALOG, univariate_entry
from symcalc.symbolic.functions import expand_named
from symcalc.symbolic.kinks import kink_candidates
from symcalc.symbolic.parse import resolve

ALL = sorted(CATALOG)


def _mp_integral(f: str, a: float, b: float) -> float:
    entry = univariate_entry(resolve(f))
    func = sympy.lambdify(entry.variable, expand_named(entry.expr), modules="mpmath")
    kinks = sorted({float(k) for k in kink_candidates(entry.expr, entry.variable) if k.is_number})
    with mpmath.workdps(50):
        nodes = [mpmath.mpf(a), *[mpmath.mpf(k) for k in kinks if a < k < b], mpmath.mpf(b)]
        return float(mpmath.quad(func, nodes))


# closed forms of the four sums of x**2 on [0, 1] with n subintervals
SQUARE_SUMS = {
    "left": lambda n: (n - 1) * n * (2 * n - 1) / (6 * n**3),
    "right": lambda n: n * (n + 1) * (2 * n + 1) / (6 * n**3),
    "midpoint": lambda n: 1 / 3 - 1 / (12 * n**2),
    "trapezoid": lambda n: 1 / 3 + 1 / (6 * n**2),
}


@pytest.mark.parametrize("rule", RULES)
@pytest.mark.parametrize("n", [1, 2, 3, 10, 1000])
def test_sums_of_x_squared_match_their_closed_forms(rule, n):
    result = riemann_sum("x**2", 0, 1, n, rule=rule)
    assert result.value == pytest.approx(SQUARE_SUMS[rule](n), rel=1e-14, abs=1e-16)
    assert result.error == pytest.approx(SQUARE_SUMS[rule](n) - 1 / 3, rel=1e-9, abs=1e-15)


@pytest.mark.parametrize("rule", RULES)
def test_sums_match_a_plain_loop(rule):
    a, b, n = 0.3, 2.1, 7
    width = (b - a) / n
    total = 0.0
    for i in range(n):
        left, right = a + i * width, a + (i + 1) * width
        if rule == "left":
            total += math.sin(left) * width
        elif rule == "right":
            total += math.sin(right) * width
        elif rule == "midpoint":
            total += math.sin((left + right) / 2) * width
        else:
            total += (math.sin(left) + math.sin(right)) / 2 * width
    result = riemann_sum("sin(x)", a, b, n, rule=rule)
    assert result.value == pytest.approx(total, rel=1e-14)
    assert result.exact == pytest.approx(math.cos(a) - math.cos(b), rel=1e-14)
    assert result.edges.size == n + 1 and result.samples.size == (
        n + 1 if rule == "trapezoid" else n
    )


@pytest.mark.parametrize("name", ALL)
def test_the_reference_integral_matches_mpmath(name):
    low, high = univariate_entry(resolve(name)).plot_range
    result = riemann_sum(name, low, high, 64)
    assert result.exact == pytest.approx(_mp_integral(name, low, high), rel=1e-13, abs=1e-14)
    assert abs(result.error) < 0.05 * (high - low) * max(1.0, float(np.max(np.abs(result.heights))))


SMOOTH = [
    ("exp(x)", 0.0, 1.0),
    ("sin(x)", 0.2, 2.0),
    ("sigmoid", -1.0, 2.5),
    ("x**3 - x", -1.0, 2.0),
    ("gelu", -2.0, 1.5),
]


@pytest.mark.parametrize(("f", "a", "b"), SMOOTH)
def test_observed_orders_are_one_and_two_on_smooth_functions(f, a, b):
    study = riemann_convergence(f, a, b, max_power=10, exact=_mp_integral(f, a, b))
    assert study.counts.tolist() == [2**k for k in range(1, 11)]
    assert study.orders["left"] == pytest.approx(1.0, abs=0.05)
    assert study.orders["right"] == pytest.approx(1.0, abs=0.05)
    assert study.orders["midpoint"] == pytest.approx(2.0, abs=0.05)
    assert study.orders["trapezoid"] == pytest.approx(2.0, abs=0.05)
    # the trapezoid error is about twice the midpoint error, with the opposite sign
    for n in (64, 512):
        mid = riemann_sum(f, a, b, n, rule="midpoint").error
        trap = riemann_sum(f, a, b, n, rule="trapezoid").error
        assert trap / mid == pytest.approx(-2.0, rel=0.02)


def test_study_without_given_exact_uses_quadrature_and_agrees():
    study = riemann_convergence("exp(x)", 0, 1, max_power=8)
    assert study.exact == pytest.approx(math.e - 1, rel=1e-15)
    for rule in RULES:
        single = riemann_sum("exp(x)", 0, 1, 32, rule=rule)
        assert study.errors[rule][4] == pytest.approx(abs(single.error), rel=1e-12)


def test_linear_functions_are_integrated_exactly_by_midpoint_and_trapezoid():
    study = riemann_convergence("3*x + 1", -1, 2, max_power=6)
    assert study.orders["midpoint"] is None and study.orders["trapezoid"] is None
    assert np.all(study.errors["midpoint"] < 1e-14)
    assert study.orders["left"] == pytest.approx(1.0, abs=1e-9)
    assert "exact" in study.to_text()


def test_sums_converge_across_kinks():
    exact = 2.0  # ∫ relu over [-1, 2]
    errors = [
        abs(riemann_sum("relu", -1, 2, n, rule="midpoint").value - exact) for n in (5, 50, 500)
    ]
    assert errors[0] > errors[1] > errors[2] and errors[2] < 1e-5


def test_a_million_subintervals_in_one_vectorized_pass():
    n = 10**6
    result = riemann_sum("x**2", 0, 1, n, rule="midpoint")
    assert result.value == pytest.approx(1 / 3 - 1 / (12 * n**2), abs=2e-15)


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(-20, 20, allow_nan=False),
    width=st.floats(0.01, 30),
    n=st.integers(1, 200),
)
def test_left_and_right_sums_bracket_the_integral_of_an_increasing_function(a, width, n):
    b = a + width
    left = riemann_sum("sigmoid", a, b, n, rule="left")
    right = riemann_sum("sigmoid", a, b, n, rule="right")
    slack = 1e-13 * max(1.0, abs(left.exact))
    assert left.value <= left.exact + slack and right.exact - slack <= right.value


@settings(max_examples=40, deadline=None)
@given(
    a=st.floats(-5, 5, allow_nan=False),
    width=st.floats(0.01, 10),
    n=st.integers(1, 200),
)
def test_midpoint_and_trapezoid_bracket_the_integral_of_a_convex_function(a, width, n):
    b = a + width
    mid = riemann_sum("exp(x)", a, b, n, rule="midpoint")
    trap = riemann_sum("exp(x)", a, b, n, rule="trapezoid")
    slack = 1e-13 * max(1.0, abs(mid.exact))
    assert mid.value <= mid.exact + slack <= trap.value + 2 * slack


def test_extreme_intervals_stay_finite():
    far = riemann_sum("sigmoid", -1000, 1000, 4000)
    assert far.exact == pytest.approx(1000.0, rel=1e-14) and math.isfinite(far.value)
    assert far.value == pytest.approx(1000.0, rel=1e-12)
    tiny = riemann_sum("cos(x)", 0, 1e-8, 3, rule="left")
    assert tiny.value == pytest.approx(1e-8, rel=1e-15)


@pytest.mark.parametrize(
    ("args", "kwargs", "message"),
    [
        (("x**2", 0, 1, 10), {"rule": "midpont"}, "did you mean 'midpoint'"),
        (("x**2", 0, 1, 0), {}, "`n` must be from 1"),
        (("x**2", 0, 1, 2.5), {}, "`n` must be a whole number"),
        (("x**2", 0, 1, True), {}, "`n` must be a whole number"),
        (("x**2", 1, 1, 4), {}, "needs a < b"),
        (("x**2", 2, 1, 4), {}, "needs a < b"),
        (("x**2", float("nan"), 1, 4), {}, "`a` must be a finite number"),
        (("x**2", 0, float("inf"), 4), {}, "`b` must be a finite number"),
        (("binary_cross_entropy", -0.5, 0.5, 4), {}, "a = -0.5 is outside the domain"),
        (("1/x", 0, 1, 4), {}, "did not reach 1e-10 accuracy"),
        (("x*y", 0, 1, 4), {}, "function of one variable"),
    ],
)
def test_bad_input_gets_one_clear_line(args, kwargs, message):
    with pytest.raises(SymcalcError, match=message):
        riemann_sum(*args, **kwargs)


def test_bad_study_input():
    with pytest.raises(SymcalcError, match="`max_power` must be a whole number"):
        riemann_convergence("x", 0, 1, max_power=0)
    with pytest.raises(SymcalcError, match="unknown Riemann rule 'simpson'"):
        riemann_convergence("x", 0, 1, rules=["simpson"])
    with pytest.raises(SymcalcError, match="at least one rule"):
        riemann_convergence("x", 0, 1, rules=[])


def test_results_render():
    result = riemann_sum("x**2", 0, 1, 4, rule="left")
    assert float(result) == result.value == 0.21875
    assert result.to_dict() == {
        "input": "x**2",
        "name": "x**2",
        "variable": "x",
        "a": 0.0,
        "b": 1.0,
        "n": 4,
        "rule": "left",
        "value": 0.21875,
        "exact": result.exact,
        "error": result.error,
    }
    assert "left Riemann sum of x**2 on [0, 1] with n = 4: 0.21875" in result.to_text()
    assert repr(result) == "<RiemannSum left n=4 of x**2 on [0, 1] = 0.21875>"
    assert result._repr_png_().startswith(b"\x89PNG")
    study = riemann_convergence("x**2", 0, 1, max_power=4)
    json.dumps(study.to_dict(), allow_nan=False)
    assert study.to_text().splitlines()[-1].split()[0] == "order"
    assert repr(study).startswith("<RiemannStudy x**2 on [0, 1], n up to 16:")
    assert study._repr_png_().startswith(b"\x89PNG")
