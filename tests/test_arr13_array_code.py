"""Array code (JAX, PyTorch, NumPy modules of ``symcalc export``) where a step overflows
or underflows before the value does, found by session 13's fuzzing; the NumPy kernels
recompute such elements in extended range, array code cannot.  Truth: mpmath at 50
digits or more."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy
from frameworks import EXPORT_TARGETS, check_exported, exported_functions, run_exported

from symcalc.symbolic.parse import parse

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
import jax.numpy as jnp  # noqa: E402

FRAMEWORKS = EXPORT_TARGETS


def _truth(text: str, order: int, x: float) -> float:
    expr = parse(text)
    (v,) = expr.free_symbols
    d = sympy.diff(expr, v, order)
    with mpmath.workdps(50 + int(3 * abs(np.log10(abs(x) or 1.0)))):
        f = sympy.lambdify(v, d, modules="mpmath")
        return float(f(mpmath.mpf(x)))


def _check(text: str, order: int, points, dtype=np.float64) -> None:
    check_exported(text, order, points, _truth, dtype)


BIG = [1e308, -1e308, 1.7976931348623157e308, -1.7976931348623157e308, 1e200, 1e300]


@pytest.mark.parametrize("order", [1, 2])
def test_a_bounded_periodic_times_x_form_stays_finite_at_the_largest_floats(order):
    # x/(2 + cos x)'' is (2x·cos x - x·cos 2x/2 + 3x/2 + 4 sin x + sin 2x)/(cos x + 2)³:
    # 2x and 2x·cos x overflowed, and sin(inf) is NaN (-1.8e308 at x = 1.8e308)
    _check("x/(2+cos(x))", order, [*BIG, 3.0, 0.1, np.pi / 4, 1e20])


def test_a_bounded_periodic_times_x_form_in_float32():
    _check("x/(2+cos(x))", 2, [3e38, -3e38, 1e38, 3.0, 0.7], np.float32)


def test_sin_and_cos_of_a_doubled_argument_keep_their_digits():
    # sin 2u as 2 sin u cos u (everywhere) and cos 2u as (cos u - sin u)(cos u + sin u)
    # (only past 2^126): next to their zeros, in the normal range, still 1e-12 relative
    pts = [np.pi / 4, np.pi / 2, np.pi, 1e-300, 1e-8, 100.0, 1e15, 1e300, 1.7e308]
    _check("sin(x)**2", 1, pts)
    _check("sin(x)**2", 2, pts[:-1] + [1e30])
    _check("sin(2*x)", 0, pts)


def test_a_power_meets_a_far_branch_before_it_overflows_float32():
    # erf(x)/(1 + x⁴)'' holds 5√π·x⁵·erf(x)·R, R = 1/(x¹¹·(1 + ...)): x¹¹ overflowed
    # float32 from 3.2e3 and the value came out 0 up to 2^20 (2e-23 at 1e4)
    pts = [3.3e3, 1e4, -1e4, 1e5, 1e6, -1e6, 0.5, 1.5, 30.0]
    _check("erf(x)/(1+x**4)", 2, pts, np.float32)
    _check("erf(x)/(1+x**4)", 2, [*pts, 1e20, 1e100])


def test_the_jax_kernel_takes_the_same_forms():
    # kernel(backend="jax") recomputes inf and NaN elements with the NumPy kernel, but
    # not a 0: erf(x)/(1 + x⁴)'' was 0 at x = 1e4 in float64 too (2e-23)
    from symcalc import kernel

    pts = [1e4, -1e4, 1e5, 1e6, 30.0]
    truth = np.array([_truth("erf(x)/(1+x**4)", 2, p) for p in pts])
    with jax.enable_x64(True):
        for dtype, rtol in (("float64", 1e-12), ("float32", 1e-5)):
            k = kernel("erf(x)/(1+x**4)", order=2, backend="jax", dtype=dtype)
            got = k(np.asarray(pts, dtype))
            np.testing.assert_allclose(got, truth, rtol=rtol, err_msg=dtype)


def test_jax_grad_and_torch_double_backward_see_the_same_forms():
    from symcalc import to_jax, to_torch

    x = np.array([1.7976931348623157e308, -1e308, 3.0])
    truth = np.array([_truth("x/(2+cos(x))", 2, p) for p in x])
    f = to_jax("x/(2+cos(x))")
    with jax.enable_x64(True):
        got = np.asarray(jax.vmap(jax.grad(jax.grad(f)))(jnp.asarray(x)))
    np.testing.assert_allclose(got, truth, rtol=1e-12)
    g = to_torch("x/(2+cos(x))")
    t = torch.tensor(x, requires_grad=True)
    (d1,) = torch.autograd.grad(g(t).sum(), t, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), t)
    np.testing.assert_allclose(d2.numpy(), truth, rtol=1e-12)


def test_erfc_of_a_reflected_argument_is_not_two_minus_erfc():
    # SymPy writes erfc(1 - x) as 2 - erfc(x - 1), which rounds to 2 - 2 = 0 from
    # x = -5: (3x·exp((1 - x)²)·erfc(1 - x))' was -16.93 at x = -5 for 0.0524 (NumPy
    # kernel and array code alike), and NaN from -27 in array code
    from symcalc import kernel

    text = "3*x*exp((1-x)**2)*erfc(1-x)"

    def f(v):
        return 3 * v * mpmath.exp((1 - v) ** 2) * mpmath.erfc(1 - v)

    pts = [-3.0, -5.0, -8.0, -27.0, -100.0, -1e4, 2.0, 0.5]
    with mpmath.workdps(60):
        truth = np.array([float(mpmath.diff(f, mpmath.mpf(p))) for p in pts])
    np.testing.assert_allclose(kernel(text, order=1)(np.array(pts)), truth, rtol=1e-12)
    for to in FRAMEWORKS:
        got = run_exported(exported_functions(text, to)[1], to, np.array(pts))
        np.testing.assert_allclose(got, truth, rtol=1e-12, err_msg=to)
        # (float32 at x = -3 is 1.6e-5 off: its terms cancel 50-fold there, README)
        got = run_exported(exported_functions(text, to)[1], to, np.array(pts[1:], np.float32))
        np.testing.assert_allclose(got, truth[1:], rtol=1e-5, err_msg=to)


@pytest.mark.parametrize("text", ["asinh(2*x+1)", "log1p((2*x+1)**2)"])
def test_a_log_like_function_of_a_linear_argument_that_overflows(text):
    # asinh(2x + 1) at x = 1e308 is 710.58: 2x + 1 overflowed, and asinh(inf) is inf
    from symcalc import kernel

    pts = [1e308, -1e308, 1.7976931348623157e308, 1e9, -1e9, 0.3, -0.5]
    truth = np.array([_truth(text, 0, p) for p in pts])
    np.testing.assert_allclose(kernel(text)(np.array(pts)), truth, rtol=1e-12)
    _check(text, 0, pts)
    _check(text, 0, [3e38, -3e38, 1e9, 0.3], np.float32)
