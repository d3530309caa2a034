"""Session 18: wrong answers and refusals found by fuzzing the numeric side of the
fundamental theorem (quadrature, Riemann sums, FTC checks, gradient checks) against mpmath
at 30 digits."""

import mpmath
import pytest
import sympy

from symcalc import gradcheck
from symcalc.numeric.quadrature import integrate_numeric


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
    with mpmath.workdps(30):
        expected = truth(mpmath.mpf(a), mpmath.mpf(b))
    got = integrate_numeric(text, a, b)
    assert abs(got - expected) <= 1e-13 * abs(expected)


@pytest.mark.parametrize(
    ("text", "point"),
    [
        # Re log(1 + w) rounded to 0 in the complex step's own evaluation, and the product
        # lost half its derivative: correct derivatives failed with relative error 0.5
        ("x**2*log(1 + x**2)", 1e-8),
        ("log(1 + exp(x))/(1 + exp(-x))", -309.13842177064726),
        ("log(1 + x**2)/(1 + exp(-x))", 1e-8),
    ],
)
def test_complex_step_has_no_false_alarm_where_log_of_one_plus_small(text, point):
    x = sympy.Symbol("x", real=True)
    expr = sympy.sympify(text, locals={"x": x})
    # 400 digits: 1 + exp(-309) needs 135 of them (derivative_values' 65 round it to 1)
    derivative = sympy.lambdify(x, sympy.diff(expr, x), modules="mpmath")
    with mpmath.workdps(400):
        truth = float(derivative(mpmath.mpf(point)))
    check = gradcheck(text, at=[point], method="complex")
    assert check.passed
    assert abs(check.numeric[0, 0] - truth) <= 1e-12 * abs(truth)


@pytest.mark.parametrize("method", ["central", "richardson"])
def test_fast_oscillation_is_no_false_alarm(method):
    # sin(x²) at 1249 turns every 2.5e-3; steps of 7.6e-3 (eps^(1/3)·|x|) and their
    # neighbours agreed by accident on the slope -2.2, and the correct -815.6 failed
    point = 1249.2551058466997
    with mpmath.workdps(50):
        truth = float(2 * mpmath.mpf(point) * mpmath.cos(mpmath.mpf(point) ** 2))
    check = gradcheck("sin(x**2)", at=[point], method=method)
    assert check.passed
    assert abs(check.numeric[0, 0] - truth) <= check.error_estimates[0, 0] + 1e-9 * abs(truth)
    wrong = gradcheck("sin(x**2)", at=[point], method=method, derivative="2*x*cos(x**2) + 1")
    assert not wrong.passed
