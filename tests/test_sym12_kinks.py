"""Kinks: values at a kink by the convention, against mpmath and one-sided limits."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

import symcalc

mpmath.mp.dps = 50


def _truth_x_coth_minus_abs_prime(x: float) -> float:
    # d/dx (x coth x - |x|) = coth x - x / sinh(x)^2 - sign(x); at 0 the smooth part's
    # limit is 0 and sign(0) = 0 (every convention), one-sided limits -1 (right), +1 (left)
    if x == 0:
        return 0.0
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
