"""Kinks: values at a kink by the convention, against mpmath and one-sided limits."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

import symcalc


def _truth_x_coth_minus_abs_prime(x: float) -> float:
    # d/dx (x coth x - |x|) = coth x - x / sinh(x)^2 - sign(x); at 0 the smooth part's
    # limit is 0 and sign(0) = 0 (every convention), one-sided limits -1 (right), +1 (left)
    if x == 0:
        return 0.0
    with mpmath.workdps(50):
        t = mpmath.mpf(x)
        smooth = mpmath.coth(t) - t / mpmath.sinh(t) ** 2
        return float(smooth - mpmath.sign(t))


def test_x_coth_minus_abs_derivative_at_its_kink_is_the_convention_value_not_nan():
    points = np.array([0.0, 5e-324, -5e-324, 1e-300, -1e-300, 1e-8, -1e-8, 1e-3, 0.3, -2.0, 30.0])
    got = symcalc.kernel("x/tanh(x) - Abs(x)", order=1)(points)
    truth = np.array([_truth_x_coth_minus_abs_prime(float(p)) for p in points])
    np.testing.assert_allclose(got, truth, rtol=1e-13, atol=1e-300)
    assert got[0] == 0.0  # was nan: 0/0 in coth(x) - x/sinh(x)^2 next to -sign(x)


@pytest.mark.parametrize("side", [1, -1])
def test_the_kink_value_lies_between_the_one_sided_limits(side):
    f = symcalc.kernel("x/tanh(x) - Abs(x)", order=1)
    assert f(np.array([side * 1e-12]))[0] == pytest.approx(-side, abs=1e-11)
    assert -1 <= f(np.array([0.0]))[0] <= 1


@pytest.mark.parametrize(
    ("f", "step", "offset"),
    [
        ("sign(sin(x))", sympy.pi, 0),
        ("Abs(sin(x))", sympy.pi, 0),
        ("Abs(cos(2*x))", sympy.pi / 2, sympy.pi / 4),
    ],
)
def test_a_periodic_kink_set_is_reported_whole(f, step, offset):
    # sign(sin x) switches at every n*pi; only 0 and pi were listed (the rest dropped silently)
    d = symcalc.derive(f)
    assert not d.kinks and len(d.kink_sets) == 1
    (found,) = d.kink_sets
    entry = symcalc.resolve(f)
    g = sympy.lambdify(entry.variables, entry.expr, "mpmath")
    with mpmath.workdps(60):
        _kinks_at_every_point(found, g, step, offset)
    assert found.contains(sympy.Rational(1, 3)) is not sympy.true
    assert len(d.to_dict()["kink_sets"]) == 1
    assert "every integer n" in d.kinks_text()


def _kinks_at_every_point(found, g, step, offset):
    h = mpmath.mpf("1e-20")
    for n in (-7, -1, 0, 1, 2, 5, 40):
        point = offset + n * step
        assert found.contains(point) is sympy.true
        t = mpmath.mpf(sympy.N(point, 60))  # a kink there: one-sided slopes or values differ
        left, right = (g(t) - g(t - h)) / h, (g(t + h) - g(t)) / h
        assert abs(left - right) > 1e-3 or abs(g(t + h) - g(t - h)) > 1e-3


def _one_sided_slopes(text: str, point: float) -> tuple[float, float]:
    """Left and right difference quotients of f at ``point``, by mpmath at 50 digits."""
    entry = symcalc.resolve(text)
    g = sympy.lambdify(entry.variables, entry.expr, "mpmath")
    with mpmath.workdps(50):
        h, t = mpmath.mpf("1e-30"), mpmath.mpf(point)
        return float((g(t) - g(t - h)) / h), float((g(t + h) - g(t)) / h)


@pytest.mark.parametrize("convention", ["zero", "half", "one"])
@pytest.mark.parametrize(
    ("f", "point"),
    [
        ("Max(x, x/10)", 0),  # was 0 under "zero" and 11/10 under "one": outside [1/10, 1]
        ("Max(2*x, x)", 0),
        ("Min(x, -x)", 0),
        ("Min(x, 3*x)", 0),
        ("Min(x**2, x)", 0),
        ("Min(x**2, x)", 1),
        ("Max(sin(x), x/2)", 0),
        ("relu", 0),
        ("Max(0, -x)", 0),
        ("relu6", 6),
        ("hard_tanh", 1),
    ],
)
def test_a_max_or_min_at_a_tie_takes_a_value_between_its_one_sided_slopes(f, point, convention):
    x = symcalc.resolve(f).variables[0]
    left, right = _one_sided_slopes(f, point)
    low, high = min(left, right), max(left, right)
    value = symcalc.derivative(f, convention=convention).subs(x, point)
    assert low - 1e-12 <= float(value) <= high + 1e-12
    steps = symcalc.derive(f, convention=convention).steps[0].result.subs(x, point)
    assert steps == value  # the step-by-step derivation shows the same value
    if f.startswith(("Max(x", "Max(2", "Min(x", "Max(sin")):  # both vary: the mean, as torch
        assert float(value) == pytest.approx((left + right) / 2, abs=1e-12)


@pytest.mark.parametrize("convention", ["zero", "half", "one"])
def test_the_relu_family_keeps_its_kink_values(convention):
    c = {"zero": 0, "half": sympy.Rational(1, 2), "one": 1}[convention]
    x = symcalc.resolve("relu").variables[0]
    assert symcalc.derivative("relu", convention=convention).subs(x, 0) == c
    assert symcalc.derivative("Max(0, -x)", convention=convention).subs(x, 0) == -c
    assert symcalc.derivative("Min(0, x)", convention=convention).subs(x, 0) == c
    assert symcalc.derivative("relu6", convention=convention).subs(x, 6) == c
    assert symcalc.derivative("Min(x, -x)", convention=convention).subs(x, 0) == 0  # as -|x|
    # both arguments vary: the mean of the slopes under every convention (as torch, JAX)
    mean = sympy.Rational(11, 20)
    assert symcalc.derivative("Max(x, x/10)", convention=convention).subs(x, 0) == mean


def test_solving_for_kinks_runs_under_the_time_budget():
    """sympy.solve searched minutes for the zeros of sin³x - cos(x)/2 + 1/3 (no closed
    form) outside any budget: derive hung.  Now the search stops at the budget and the
    derivative is shown, without kinks it cannot list."""
    import os
    import subprocess
    import sys

    code = (
        "import symcalc, mpmath\n"
        "d = symcalc.derive('Abs(sin(x)**3 - cos(x)/2 + 1/3)')\n"
        "f = symcalc.kernel('Abs(sin(x)**3 - cos(x)/2 + 1/3)', order=1)\n"
        "print(float(f(0.3)))\n"
    )
    env = {**os.environ, "SYMCALC_TIME_BUDGET": "1"}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    with mpmath.workdps(30):
        x = mpmath.mpf("0.3")
        w = mpmath.sin(x) ** 3 - mpmath.cos(x) / 2 + mpmath.mpf(1) / 3
        truth = mpmath.sign(w) * (3 * mpmath.sin(x) ** 2 * mpmath.cos(x) + mpmath.sin(x) / 2)
    assert abs(float(done.stdout) - float(truth)) <= 1e-12 * abs(float(truth))
