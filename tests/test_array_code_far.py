"""Array code (JAX, PyTorch, NumPy modules) far out, where the NumPy kernels recompute
in extended range and array code cannot: the lowering itself must keep each step in
range.  Truth: mpmath at 50 digits."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy
from frameworks import EXPORT_TARGETS, check_exported, exported_functions, run_exported

from symcalc import export_module, kernel, to_jax
from symcalc.symbolic.parse import parse

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
import jax.numpy as jnp  # noqa: E402

FRAMEWORKS = EXPORT_TARGETS


def _erfc(u):
    """mpmath's erfc, and its asymptotic series beyond 1e5 (mpmath's overflows there):
    the next term, 105/(16u⁸), is below 1e-39 relative."""
    if u < 1e5:
        return mpmath.erfc(u)
    s = 1 - 1 / (2 * u**2) + 3 / (4 * u**4) - 15 / (8 * u**6)
    return mpmath.exp(-(u**2)) / (u * mpmath.sqrt(mpmath.pi)) * s


def _truth(text: str, order: int, x: float) -> float:
    expr = parse(text)
    (v,) = expr.free_symbols
    d = sympy.diff(expr, v, order)
    with mpmath.workdps(50 + int(2.5 * abs(np.log10(abs(x) or 1.0)))):
        f = sympy.lambdify(v, d, modules=[{"erfc": _erfc}, "mpmath"])
        return float(f(mpmath.mpf(x)))


def _check(text: str, order: int, points, dtype=np.float64) -> None:
    check_exported(text, order, points, _truth, dtype)


# -- erfc in products, quotients, powers and logs: erfcx -------------------------------------

ERFC_CASES = [
    ("exp(x**2)*erfc(x)", 0, [26.67, 27.3, 1e4, 1e200, 3.0, -3.0]),
    ("exp(-x**2)/erfc(x)", 0, [27.3, 1e4, 1e300, 0.5, -2.0]),
    ("log(erfc(x))", 0, [27.3, 1e4, 1e150, 1e-300, 0.3, 5.0, -4.0]),
    ("log(erfc(x))", 1, [27.3, 1e4, 1e-300, 2.0, -4.0]),
    ("sqrt(erfc(x))", 0, [26.67, 30.0, 1e3, 1.0, -2.0]),
]


@pytest.mark.parametrize(("text", "order", "points"), ERFC_CASES)
def test_erfc_far_out_goes_through_erfcx(text, order, points):
    """exp(x²)·erfc(x) at 26.67 was 0 (JAX) and inf (torch, the NumPy module) for 0.0211;
    exp(-x²)/erfc(x) inf or NaN from 27.3; log(erfc(x)) -inf from 27.3 for -749.2."""
    _check(text, order, points)


def test_erfc_of_a_negated_argument_goes_through_erfcx():
    """SymPy writes erfc(1 - x) as 2 - erfc(x - 1): 3x·exp((1 - x)²)·erfc(1 - x) was NaN
    (inf·0) from x = -27 on; it is 3x·erfcx(1 - x), -1.6924 at x = -1e4.  (The truth
    from the closed form in mpmath: SymPy's 2 - erfc(x - 1) cancels at any precision.)"""
    points = [-30.0, -1e4, -1e20, 0.5, 3.0]
    with mpmath.workdps(50):
        truth = [
            float(3 * u * mpmath.exp((1 - u) ** 2) * _erfc(1 - u)) for u in map(mpmath.mpf, points)
        ]
    for to in FRAMEWORKS:
        got = run_exported(
            exported_functions("3*x*exp((1-x)**2)*erfc(1-x)", to)[0], to, np.array(points)
        )
        np.testing.assert_allclose(got, truth, rtol=1e-12, err_msg=to)


def test_erfc_far_out_in_float32():
    _check("exp(x**2)*erfc(x)", 0, [9.5, 12.0, 1e4, 1e30], np.float32)
    _check("log(erfc(x))", 0, [9.5, 30.0, 1e4], np.float32)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_jax_erfcx_meets_the_promise_against_mpmath(dtype):
    """JAX has no erfcx: erfc below 4, a continued fraction beyond (`_erfcx`)."""
    tiny, big = np.finfo(dtype).tiny, np.finfo(dtype).max
    x = np.concatenate([np.linspace(-5, 40, 451), np.geomspace(40, float(big) / 4, 200)])
    x = x.astype(dtype)
    function = to_jax("exp(x**2)*erfc(x)")
    got = run_exported(function, "jax", x)
    with mpmath.workdps(50):
        truth = []
        for p in x.tolist():
            u = mpmath.mpf(p)
            truth.append(float(_erfc(u) * mpmath.exp(u * u)))
    truth = np.array(truth)
    keep = truth >= tiny  # XLA flushes subnormal results to 0
    rtol = 1e-13 if dtype == np.float64 else 2e-6
    np.testing.assert_allclose(got[keep], truth[keep], rtol=rtol)


def test_the_jax_kernel_uses_erfcx_too():
    k = kernel("exp(x**2)*erfc(x)", backend="jax")
    got = k(np.array([26.67, 27.3, 1e4]))
    truth = [_truth("exp(x**2)*erfc(x)", 0, p) for p in (26.67, 27.3, 1e4)]
    np.testing.assert_allclose(got, truth, rtol=1e-12)


# -- a decaying factor beside a growing one: one exponential ---------------------------------


def test_a_decaying_factor_and_a_growing_one_share_one_exponential():
    """erf(x)/(1 + x⁴)'' holds exp(-x²)·(... + Q(x)·erf(x)·exp(x²)): computed apart, the
    second term was inf·0, inf at x = 1e4 (JAX, torch, the NumPy module) for 2e-23."""
    _check("erf(x)/(1+x**4)", 2, [27.0, 30.0, 100.0, 1e4, 1e5, -1e4, 1e6, 3.0, 0.5, -2.0])


# -- rational functions of a difference: a far branch --------------------------------------


def _truth2(expr, wrt, x: float, y: float) -> float:
    d = sympy.diff(expr, *wrt) if wrt else expr
    with mpmath.workdps(60):
        return float(sympy.lambdify(X_Y, d, "mpmath")(mpmath.mpf(x), mpmath.mpf(y)))


X_Y = sympy.symbols("x y", real=True)
CAUCHY = sympy.log(1 + (X_Y[0] - X_Y[1]) ** 2)
PARTIALS = {
    "f": (),
    "d_f_dx": (X_Y[0],),
    "d_f_dy": (X_Y[1],),
    "d2_f_dx2": (X_Y[0], X_Y[0]),
    "d2_f_dx_dy": (X_Y[0], X_Y[1]),
    "d2_f_dy2": (X_Y[1], X_Y[1]),
}


@pytest.mark.parametrize("to", FRAMEWORKS)
def test_a_rational_function_of_a_difference_has_a_far_branch(to):
    """d/dx log(1 + (x - y)²) = 2(x - y)/((x - y)² + 1) was 0 at x - y = 1e200 for
    2e-200 (the denominator overflowed), the second derivatives NaN (inf/inf)."""
    namespace: dict = {}
    exec(compile(export_module(CAUCHY, to=to).source, "<m>", "exec"), namespace)  # noqa: S102
    gaps = np.array([1e200, -1e200, 1e300, -1e150, 1e20, 3.0, 1.5, 1.1, 0.7, 1e-3, 1e-200])
    for y in (0.0, 2.0, -7.5):
        x, ys = gaps + y, np.full_like(gaps, y)
        for name, wrt in PARTIALS.items():
            truth = np.array([_truth2(CAUCHY, wrt, a, b) for a, b in zip(x, ys, strict=True)])
            got = run_exported(lambda a, b, f=namespace[name]: f(a, b), to, np.stack([x, ys]))
            np.testing.assert_allclose(got, truth, rtol=1e-12, atol=1e-300, err_msg=name)


def test_to_jax_derivatives_of_a_rational_function_of_a_difference():
    f = to_jax(CAUCHY)
    with jax.enable_x64(True):
        x, y = jnp.array([1e200, 1e150, 1.5]), jnp.array([0.0, 2.0, 0.0])
        dx = np.asarray(jax.vmap(jax.grad(f))(x, y))
        dxy = np.asarray(jax.vmap(jax.grad(jax.grad(f), argnums=1))(x, y))
    truth = [
        _truth2(CAUCHY, PARTIALS["d_f_dx"], a, b) for a, b in ((1e200, 0), (1e150, 2), (1.5, 0))
    ]
    np.testing.assert_allclose(dx, truth, rtol=1e-12)
    truth = [
        _truth2(CAUCHY, PARTIALS["d2_f_dx_dy"], a, b) for a, b in ((1e200, 0), (1e150, 2), (1.5, 0))
    ]
    np.testing.assert_allclose(dxy, truth, rtol=1e-12, atol=1e-300)
