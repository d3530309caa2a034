"""Session 18: wrong answers and refusals found by fuzzing the numeric side of the
fundamental theorem (quadrature, Riemann sums, FTC checks, gradient checks) against mpmath
at 30 digits."""

import mpmath
import pytest

from symcalc.numeric.quadrature import integrate_numeric

mpmath.mp.dps = 30


@pytest.mark.parametrize(
    ("text", "a", "b", "truth"),
    [
        # QUADPACK asked for 1e-13 gave up on rounding in its extrapolation table at the
        # singular end x = 1, and the integral was refused though it converges
        (
            "1/sqrt(1-x**2)",
            -0.9572927316949917,
            1.0,
            lambda a, b: mpmath.asin(b) - mpmath.asin(a),
        ),
        (
            "1/sqrt(1-x**2)",
            1.0,
            -0.9572927316949917,
            lambda a, b: mpmath.asin(b) - mpmath.asin(a),
        ),
    ],
)
def test_endpoint_singularity_is_integrated_not_refused(text, a, b, truth):
    expected = truth(mpmath.mpf(a), mpmath.mpf(b))
    got = integrate_numeric(text, a, b)
    assert abs(got - expected) <= 1e-13 * abs(expected)
