"""Numeric integration (adaptive Gauss-Legendre, split at kinks) against mpmath at 50 digits."""

from __future__ import annotations

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
