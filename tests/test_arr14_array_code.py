"""Array code (JAX, PyTorch, NumPy modules of ``symcalc export``, and the NumPy kernels
that share its stable forms) where session 14's checks found wrong finite numbers.
Truth: mpmath at 50 digits or more."""

from __future__ import annotations

import functools

import mpmath
import numpy as np
import pytest
import sympy
from frameworks import check_exported

from symcalc import kernel
from symcalc.symbolic.parse import parse

pytest.importorskip("jax")
pytest.importorskip("torch")


@functools.cache
def _mpmath_derivative(text: str, order: int, together: bool):
    """The ``order``-th derivative of ``text`` as an mpmath function (SymPy's own
    derivative, not symcalc's), built once per formula: the exported modules and the
    kernels are checked at the same points."""
    expr = parse(text)
    (v,) = expr.free_symbols
    d = sympy.diff(expr, v, order).replace(sympy.DiracDelta, lambda *_: 0)  # no point is at 0
    if together:  # softplus″ as e^u/(1 + e^u)², not a difference that is 0 at x = 2000
        d = sympy.factor(sympy.together(d))
    return sympy.lambdify(v, d, modules="mpmath")


@functools.cache
def _truth(text: str, order: int, x: float, together: bool = False) -> float:
    """mpmath at rising precision until two agree to 1e-25 (a formula whose terms
    cancel, softplus(3 + x/3)″ at x = 2000, needs hundreds of digits)."""
    f = _mpmath_derivative(text, order, together)
    digits = 50 + int(3 * abs(np.log10(abs(x) or 1.0)))
    last = None
    for dps in (digits, 2 * digits, 4 * digits, 8 * digits, 16 * digits):
        with mpmath.workdps(dps):
            value = f(mpmath.mpf(x))
            if last is not None and abs(value - last) <= mpmath.mpf(10) ** -25 * abs(value):
                return float(value)
            last = value
    raise AssertionError(f"no settled truth for {text} at {x}")


def _check(text: str, order: int, points, dtype=np.float64, together: bool = False) -> None:
    truth = functools.partial(_truth, together=together)
    check_exported(text, order, points, truth, dtype)
    k = kernel(text, order=order, dtype=np.dtype(dtype).name)
    x = np.asarray(points, dtype)
    expected = np.array([truth(text, order, float(p)) for p in x])
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    np.testing.assert_allclose(k(x), expected, rtol=rtol, err_msg=f"kernel: {text}")


def test_a_root_of_a_double_zero_gets_a_branch_on_each_side():
    # √(log(erfc(x/3))² + (x/7)²)″ jumps at 0 (±0.1323): its terms of about 1/x² cancel,
    # and no polynomial fits across the jump; it was 1.4e84 at x = 1e-100, 0 at 1e-30
    # (-7e13 in the NumPy kernel) and NaN at 1e-300
    text = "sqrt(log(erfc(x/3))**2 + (x/7)**2)"
    pts = [1e-300, -1e-300, 1e-200, 1e-100, -1e-100, 1e-30, -1e-30, 1e-8, 0.01, 0.3, -2.0]
    _check(text, 2, pts)
    _check(text, 2, [1e-30, -1e-30, 1e-20, 0.01, -0.01], np.float32)


def test_sin_and_cos_of_three_x_take_no_rounded_argument():
    # x·cos²x/(2 + sin x)″ holds sin 3x and cos 3x: 3x rounded is a wrong phase past
    # 2^53 (1.6 % off at x = 1e36, 50 % at 1e100, in every backend); now the angle sum
    # over 2x and x, which are exact
    text = "x*cos(x)**2/(2 + sin(x))"
    _check(text, 2, [1e36, -1e36, 1e100, 1e20, 12345.678, 0.3, -2.0])
    _check(text, 2, [1e36, -1e36, 1e20, 3e5, 0.3], np.float32)
    _check("sin(3*x) + cos(7*x)", 0, [1e36, 1e100, -1e200, 12345.678, 0.3, 1e-300])


def test_a_quotient_of_sums_of_exponentials_is_scaled_before_it_overflows():
    # softsign(softsign(silu(x/3)))″ is N/D with terms up to x⁶·exp(7x/3): D overflowed
    # and 1/inf made it 0 from x = 290 to the far branch at 512 in float64 (-6.0e-8 at
    # 290.45), from x = 28 in float32 (-5.8e-5 at 28.1); now N and D are divided by
    # their largest exponential first
    text = "softsign(softsign(silu(x/3)))"
    _check(text, 2, [290.45, 300.0, 400.0, 482.6, 1e4, -300.0, 5.0, 0.3])
    _check(text, 2, [28.1, 50.0, 100.0, 200.0, 300.0, -30.0, 5.0], np.float32)
    _check(text, 1, [290.45, 400.0, 1e4, 28.1])


def test_the_jax_kernel_scales_the_quotient_too():
    import jax

    text = "softsign(softsign(silu(x/3)))"
    pts = [290.45, 300.0, 400.0, 482.6]
    truth = np.array([_truth(text, 2, p) for p in pts])
    with jax.enable_x64(True):
        got = kernel(text, order=2, backend="jax")(np.asarray(pts))
    np.testing.assert_allclose(got, truth, rtol=1e-12)


def test_a_bounded_factor_is_taken_inside_a_sum_that_overflows():
    # (x·sin²x)′ = (2x·cos x + sin x)·sin x: 2x·cos x overflows at x = 1.79e308 where the
    # value is 1.558e308 (it was inf); now 2x·sin x·cos x + sin²x
    text = "x*sin(x)**2"
    _check(text, 1, [1.79e308, -1.79e308, 1e308, 1e200, 3.0, 0.5, 1e-100])
    _check(text, 1, [3.4e38, -3.4e38, 1e30, 3.0, 0.5], np.float32)


def test_a_quotient_of_exponentials_of_shifted_arguments_is_scaled_too():
    # softplus(3 + x/3)″ = e^(x/3+3)/(9·(2e^(x/3+3) + e^(2x/3+6) + 1)) was inf/inf = NaN
    # from x ≈ 1,056 (float32: from 124); 1.634e-292 at x = 2000
    text = "softplus(3 + x/3)"
    _check(text, 2, [2000.0, 1500.0, -2000.0, 100.0, -100.0, 0.5], together=True)
    _check(text, 2, [220.0, 200.0, 150.0, -200.0, 100.0, 0.5], np.float32, together=True)


def test_erfc_of_a_shifted_argument_gets_its_far_branch():
    # log(erfc(2x - 3))″: its terms of about 2x cancel to 8/x-ish; the far branch in 1/x
    # was never built (SymPy wrote erfc(2/t - 3) as 2 - erfc(3 - 2/t), which is 2 at any
    # precision), and array code's scaled erfc gave -9.3e25 at x = 1e20 for -8 (float32:
    # 1107.6 at 1e4), the NumPy kernel NaN at 1e100
    text = "log(erfc(2*x - 3))"
    _check(text, 2, [10.0, 1e4, 1e20, 1e100, -5.0, 3.0, 0.5])
    _check(text, 2, [10.0, 1e4, 1e20, 3.0, 0.5], np.float32)


def test_a_polynomial_over_a_hypot_forms_no_square_of_the_variable():
    # (2x·√(9 + x²))′ = 2(2x² + 9)/hypot(x, 3): x² overflowed from |x| = 1.3e154 and the
    # value (about 4|x|) came out inf; float32 from 1.8e19
    text = "sqrt(9 + x**2)*2*x"
    _check(text, 1, [1e164, -1e300, 1e200, 1.5, -0.5, 1e10, 1e-300])
    _check(text, 1, [1e20, -1e30, 1e37, 1.5, -0.5], np.float32)
