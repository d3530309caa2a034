"""Array code (JAX, PyTorch, NumPy modules of ``symcalc export``, and the NumPy kernels
that share its stable forms) where session 14's checks found wrong finite numbers.
Truth: mpmath at 50 digits or more."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy
from frameworks import check_exported

from symcalc import kernel
from symcalc.symbolic.parse import parse

pytest.importorskip("jax")
pytest.importorskip("torch")


def _truth(text: str, order: int, x: float) -> float:
    expr = parse(text)
    (v,) = expr.free_symbols
    d = sympy.diff(expr, v, order).replace(sympy.DiracDelta, lambda *_: 0)  # no point is at 0
    with mpmath.workdps(50 + int(3 * abs(np.log10(abs(x) or 1.0)))):
        f = sympy.lambdify(v, d, modules="mpmath")
        return float(f(mpmath.mpf(x)))


def _check(text: str, order: int, points, dtype=np.float64) -> None:
    check_exported(text, order, points, _truth, dtype)
    k = kernel(text, order=order, dtype=np.dtype(dtype).name)
    x = np.asarray(points, dtype)
    expected = np.array([_truth(text, order, float(p)) for p in x])
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
