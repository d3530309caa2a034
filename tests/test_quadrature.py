"""Numeric integration (adaptive Gauss-Legendre, split at kinks) against mpmath at 50 digits."""

from __future__ import annotations

import warnings

import mpmath
import numpy as np
import pytest
import sympy

from symcalc import SymcalcError
from symcalc.numeric.quadrature import accumulate, integrate_numeric
from symcalc.symbolic.catalog import CATALOG, univariate_entry
from symcalc.symbolic.functions import expand_named
from symcalc.symbolic.kinks import kink_candidates
from symcalc.symbolic.parse import resolve

ALL = sorted(CATALOG)


def _kinks(entry) -> list[float]:
    out = []
    for point in kink_candidates(entry.expr, entry.variable):
        try:
            out.append(float(point))
        except TypeError:
            continue
    return sorted(set(out))


def mp_integral(entry, a: float, b: float) -> mpmath.mpf:
    """∫ₐᵇ f with mpmath at 50 digits, split at the kinks so each piece is smooth."""
    f = sympy.lambdify(entry.variable, expand_named(entry.expr), modules="mpmath")
    lo, hi = min(a, b), max(a, b)
    with mpmath.workdps(50):
        nodes = [
            mpmath.mpf(lo),
            *[mpmath.mpf(k) for k in _kinks(entry) if lo < k < hi],
            mpmath.mpf(hi),
        ]
        value = mpmath.quad(f, nodes)
    return value if a <= b else -value


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
    truth = float(mp_integral(entry, low, high))
    assert integrate_numeric(name, low, high) == pytest.approx(truth, rel=1e-13, abs=1e-14)
    assert integrate_numeric(name, high, low) == pytest.approx(-truth, rel=1e-13, abs=1e-14)


def test_quadrature_refuses_a_divergent_integral():
    with pytest.raises(SymcalcError, match="did not reach 1e-10 accuracy"):
        integrate_numeric("1/x", 0, 1)
    assert integrate_numeric("log(x)", 0, 1) == pytest.approx(-1.0, abs=1e-13)


#: Integrals that diverge: a pole inside the interval or at its end.  ∫ 1/x over [-1, 1]
#: was 0 (the Gauss nodes are symmetric about the pole) and accumulate gave ∫ tan over
#: [-1, 2] as 0.34 and ∫ 1/x² over [-1, 1] as 9e14, without a word.
DIVERGENT = [
    ("1/x", -1, 1),
    ("1/x**2", -1, 1),
    ("tan(x)", -1, 2),
    ("1/(x - 0.3)", 0, 1),
    ("x/sin(x)", -4, 4),
    ("1/abs(x)**1.0001", -1, 1),  # QUADPACK alone returns -1e4 for half of it
]


@pytest.mark.parametrize(("f", "a", "b"), DIVERGENT)
def test_an_integral_across_a_pole_is_refused_by_both(f, a, b):
    with pytest.raises(SymcalcError, match="did not reach 1e-10 accuracy"):
        integrate_numeric(f, a, b)
    with pytest.raises(SymcalcError, match="did not reach 1e-10 accuracy"):
        accumulate(f, a, [b])


#: Integrable singularities at a kink, inside or at an end, with mpmath's value (50 digits).
INTEGRABLE = [
    ("1/sqrt(abs(x))", -1, 1, lambda: mpmath.mpf(4)),
    (
        "1/sqrt(abs(x - 1/3))",
        0,
        1,
        lambda: 2 * (mpmath.sqrt(1 / mpmath.mpf(3)) + mpmath.sqrt(2 / mpmath.mpf(3))),
    ),
    ("abs(x)**(-0.9)", -1, 2, lambda: 10 * (1 + mpmath.mpf(2) ** mpmath.mpf("0.1"))),
    ("log(abs(x))/sqrt(abs(x))", -1, 1, lambda: mpmath.mpf(-8)),
    ("1/sqrt(x)", 0, 2, lambda: 2 * mpmath.sqrt(2)),
]


@pytest.mark.parametrize(("f", "a", "b", "truth"), INTEGRABLE)
def test_an_integrable_singularity_is_resolved(f, a, b, truth):
    """The halving alone cannot resolve 1/√|x| at 0 (it was refused); QUADPACK's
    extrapolation on the panels it leaves does, to its error estimate."""
    with mpmath.workdps(50):
        exact = float(truth())
    assert integrate_numeric(f, a, b) == pytest.approx(exact, rel=1e-13)
    assert accumulate(f, a, [b])[0] == pytest.approx(exact, rel=1e-13)


def test_accumulate_refuses_points_that_are_not_numbers():
    with pytest.raises(SymcalcError, match="x must be numbers"):
        accumulate("x", 0, "abc")


def test_quadrature_of_a_jump_is_exact_on_each_side():
    # |x + 1|/(x + 1) is -1 left of -1 and 1 right of it: the integral over [-3, 3] is 2
    assert integrate_numeric("abs(x + 1)/(x + 1)", -3, 3) == pytest.approx(2.0, abs=1e-12)


def test_rounding_noise_in_f_does_not_make_the_panels_explode():
    """sqrt(16x² - 9)/x near 3/4 is computed with cancellation: its rounding noise keeps the
    two Gauss rules apart at every scale.  The halving stops at a bounded number of panels
    and the integral is still right (mpmath at 50 digits)."""
    from symcalc.numeric.quadrature import _kernel, _panel_integrals

    entry = univariate_entry(resolve("sqrt(16*x**2 - 9)/x"))
    kern = _kernel(entry)
    evaluated = []

    def counted(t):
        evaluated.append(t.size)
        return kern(t)

    grid = np.linspace(0.75, 5, 199)
    panels, converged = _panel_integrals(counted, grid[:-1], grid[1:])
    assert converged
    assert sum(evaluated) < 2_000_000  # it was 1.7e8 points, 5 s
    exact = mp_integral(entry, 0.75, 5)
    assert float(np.sum(panels)) == pytest.approx(float(exact), rel=1e-13)


@pytest.mark.parametrize(
    "text, a, b, truth",
    [
        # one panel's Gauss nodes all missed the peak, and both rules agreed on 0.0
        ("exp(-x**2)", -1e5, 1e5, mpmath.sqrt(mpmath.pi)),
        ("exp(-x**2)", 0.0, 1e300, mpmath.sqrt(mpmath.pi) / 2),
        ("1/(1 + x**2)", -1e300, 1e300, mpmath.pi - 2 / mpmath.mpf(1e300)),
        # hi - lo overflowed: a warning, then "f is not finite at -inf"
        ("exp(-x**2)", -1.7976931348623157e308, 1.7976931348623157e308, mpmath.sqrt(mpmath.pi)),
    ],
)
def test_a_wide_interval_sees_a_peak_near_0(text, a, b, truth):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        got = integrate_numeric(text, a, b)
        accumulated = accumulate(text, a, [b])[0]
    assert got == pytest.approx(float(truth), rel=1e-12)
    assert accumulated == pytest.approx(float(truth), rel=1e-12)
