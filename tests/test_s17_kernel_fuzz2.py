"""Kernels of users' expressions that crashed symcalc (internal errors) in a second fuzz,
or whose derivative was finite where the function is not real.

Each kernel is checked against the function written again with mpmath (independent of
symcalc's parsing, derivation and tidying) and differentiated by mpmath at 50 digits, at
points away from kinks; NaN where the function is not real.
"""

from __future__ import annotations

import math
import warnings

import mpmath
import numpy as np
import pytest

from symcalc import SymcalcError, kernel


def _sigmoid(z):
    return 1 / (1 + mpmath.exp(-z))


def _relu(z):
    return max(z, 0)


def _celu(z):
    return z if z > 0 else mpmath.exp(z) - 1


def _hardshrink(z):
    return z if abs(z) > mpmath.mpf(1) / 2 else mpmath.mpf(0)


def _truth(f, order: int, points: list[float]) -> np.ndarray:
    """``f``'s derivative of ``order`` at ``points``, by mpmath at 50 digits; NaN where
    ``f`` is not real."""
    values = []
    with mpmath.workdps(50):
        for p in points:
            try:
                value = f(mpmath.mpf(p))
                if isinstance(value, mpmath.mpc) or not mpmath.isfinite(value):
                    raise ValueError("not real")
                if order:
                    value = mpmath.diff(f, mpmath.mpf(p), order)
            except (ValueError, ZeroDivisionError):
                value = math.nan
            values.append(float(value))
    return np.array(values)


def _check(text: str, f, order: int, points: list[float]) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # NaN where f is undefined may warn
        got = kernel(text, order=order)(np.array(points))
    np.testing.assert_allclose(got, _truth(f, order, points), rtol=1e-12, atol=1e-300)


def _u(a: str, b: str):
    """x -> a*x + b with the decimals read exactly as the parser reads them."""
    a_, b_ = mpmath.mpf(float(a)), mpmath.mpf(float(b))
    return lambda x: a_ * x + b_


def test_a_max_of_an_abs_and_a_line_is_differentiated():
    """Tidying rewrote the Max as a Piecewise whose decimal conditions SymPy flips back
    and forth for ever: RecursionError.  Kinks at x = -1/180 and -1/88."""
    text = "sigmoid(Max(abs(90.0*x + 0.5), 130.0*x + 2.0))"
    points = [-3.0, -0.5, -0.02, -0.008, 0.01, 0.3, 2.0]
    want = []
    with mpmath.workdps(50):  # σ′(m)·m′ in closed form (σ′ = e^-m/(1 + e^-m)^2 is exact)
        for p in points:
            a, b = _u("90.0", "0.5")(p), _u("130.0", "2.0")(p)
            m, slope = (b, 130) if b > abs(a) else (abs(a), 90 * mpmath.sign(a))
            want.append(float(mpmath.exp(-m) / (1 + mpmath.exp(-m)) ** 2 * slope))
    got = kernel(text, order=1)(np.array(points))
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-300)


def test_a_min_of_relu_and_celu_is_differentiated(monkeypatch):
    """RecursionError in tidying (kinks at x = 5 and 11.82).  A small budget: the answer
    is the same, tidied or not, and the test stays cheap."""
    monkeypatch.setenv("SYMCALC_TIME_BUDGET", "0.5")
    f = lambda x: min(_relu(_u("-0.4", "2.0")(x)), _celu(_u("0.011", "-0.13")(x)))  # noqa: E731
    points = [-50.0, -3.0, 0.0, 4.0, 7.0, 20.0, 100.0, 1000.0]
    _check("Min(relu(-0.4*x + 2.0), celu(0.011*x - 0.13))", f, 1, points)


def test_tidying_skips_a_rewrite_sympy_loops_on():
    """Max(0.0036x - 3.0, 0.29 - 0.47x).rewrite(Piecewise) recurses for ever in SymPy 1.14
    (it flips the decimal condition back and forth): tidying keeps the form it had."""
    import sympy

    from symcalc.symbolic.derivatives import tidy
    from symcalc.symbolic.functions import symbol

    x = symbol("x")
    u, v = (sympy.sympify(t, locals={"x": x}) for t in ("0.0036*x - 3.0", "-0.47*x + 0.29"))
    expr = sympy.Piecewise((1, x > 0), (2, True)) * sympy.Max(u, v)
    tidied, finished = tidy(expr, math.inf)
    assert finished
    for point in (-30.0, -1.0, 0.5, 6.9, 7.0, 40.0):
        assert float(tidied.subs(x, point)) == pytest.approx(float(expr.subs(x, point)), 1e-14)


def test_a_min_of_two_decimal_lines_is_differentiated():
    """RecursionError while differentiating: the derivative of the Min is a Piecewise whose
    decimal conditions SymPy flips for ever (the lines cross at x = 6.9468)."""

    def f(x):
        m = min(_u("0.0036", "-3.0")(x), _u("-0.47", "0.29")(x))
        return m - mpmath.tanh(m)

    points = [-20.0, -1.0, 0.0, 3.0, 10.0, 50.0]
    _check("tanhshrink(Min(0.0036*x - 3.0, -0.47*x + 0.29))", f, 1, points)


def test_log_of_hardshrink_of_decimal_lines_is_right_or_refused():
    """RecursionError while differentiating; now an answer or a one-line refusal."""
    text = "log(hardshrink(Max(0.0062*x - 1.0, -0.086*x - 3.0)))"

    def f(x):
        return mpmath.log(_hardshrink(max(_u("0.0062", "-1.0")(x), _u("-0.086", "-3.0")(x))))

    try:
        kernel(text, order=1)
    except SymcalcError as error:
        assert "\n" not in str(error)
        return
    _check(text, f, 1, [-100.0, -10.0, 0.0, 300.0, 1000.0])  # pragma: no cover


def test_relu6_of_hard_sigmoid_of_log_is_nan_for_negative_x():
    """ValueError 'not comparable': the far branch for x < 0 wrote log(-y) into a Min."""

    def f(x):
        if x <= 0:
            raise ValueError("log of a non-positive number is not real")
        return min(max(min(max(mpmath.log(x) / 6 + mpmath.mpf(1) / 2, 0), 1), 0), 6)

    points = [-1e300, -2.0, -1e-3, 1e-3, 0.1, 1.0, 10.0, 1e5, 1e300]
    _check("relu6(hard_sigmoid(log(x)))", f, 0, points)


@pytest.mark.parametrize(
    "text, order",
    [
        ("tanhshrink(Min(0.0036*x - 3.0, -0.47*x + 0.29))", "1"),
        ("relu6(hard_sigmoid(log(x)))", "0"),
    ],
)
def test_the_cli_answers_without_a_traceback(text, order, capsys):
    from symcalc.cli import main

    try:
        code = main(["eval", text, "--order", order, "--at", "1.5"])
    except SystemExit as exit_:
        code = exit_.code
    captured = capsys.readouterr()
    assert code in (0, None), captured.err
    assert "Traceback" not in captured.err


def _real_log(w):
    if w <= 0:
        raise ValueError("log of a non-positive number is not real")
    return mpmath.log(w)


def _elu(z):
    return z if z > 0 else mpmath.exp(z) - 1


def test_a_derivative_is_nan_where_f_is_not_real():
    """elu(log1p(199x + 1))′ was 199 for x < -2/199: its Piecewise condition on
    log(199x + 2) is false where that is NaN, so the exp branch (199) was taken."""
    f = lambda x: _elu(_real_log(_u("199.0", "2.0")(x)))  # noqa: E731
    points = [-5.0, -0.02, -0.0101, -0.008, -0.005, 0.5, 3.0]
    _check("elu(log1p(200.0*x + 1.0 - x))", f, 1, points)


def test_a_clipped_derivative_is_nan_where_the_square_root_is_not_real():
    """sqrt(hinge(x, 1) - 0.15)′ was 0 for x >= 1 (the hinge's flat side), where f is
    sqrt(-0.15); f is real for x <= 0.85 only."""

    def f(x):
        w = max(0, 1 - x) - mpmath.mpf(0.15)
        if w < 0:
            raise ValueError("square root of a negative number is not real")
        return mpmath.sqrt(w)

    points = [-3.0, 0.0, 0.5, 0.84, 0.9, 1.0, 3.0]
    _check("sqrt(hinge(x, 1) - 0.15)", f, 1, points)


@pytest.mark.parametrize("order", [1, 2])
def test_log_derivatives_are_nan_for_negative_x(order):
    _check("log(x)", _real_log, order, [-3.0, -0.5, 0.5, 3.0])


def test_relu6_of_hard_sigmoid_of_log_derivative_is_nan_for_negative_x():
    """Its derivative was 0 for x < 0 (the Piecewise's condition on log(x) is false)."""

    def f(x):
        return min(max(min(max(_real_log(x) / 6 + mpmath.mpf(1) / 2, 0), 1), 0), 6)

    _check("relu6(hard_sigmoid(log(x)))", f, 1, [-2.0, -1e-3, 0.1, 1.0, 10.0])


@pytest.mark.parametrize("text", ["sqrt(x)", "asin(x)", "log(x)**2", "softplus(x)"])
def test_a_derivative_that_is_nan_by_itself_is_not_guarded(text):
    """Where the derivative holds the part that is not real (sqrt(x)′ = 1/(2·sqrt(x))) or
    the part is real everywhere, the kernel has no extra condition to evaluate."""
    assert "nan" not in str(kernel(text, order=1).expr)


def test_a_label_that_switches_a_term_off_also_switches_off_its_domain():
    """-y·log(p) - (1 - y)·log(1 - p): at y = 1 the second term is 0 (symcalc's label
    convention), so f is real at p = 1 and its derivative -1/p = -1 there; at p = -0.5
    with y = 1, log(p) is not real: NaN."""
    k = kernel("-y*log(p) - (1 - y)*log(1 - p)", order=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = k(np.array([1.0, 0.0, -0.5, 1.5, 0.5]), np.array([1.0, 0.0, 1.0, 0.0, 0.3]))
    np.testing.assert_allclose(got, [-1.0, 1.0, math.nan, math.nan, 0.8], rtol=1e-15)
