"""Array code (JAX, PyTorch, NumPy modules) far out, where the NumPy kernels recompute
in extended range and array code cannot: the lowering itself must keep each step in
range.  Truth: mpmath at 50 digits."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

from symcalc import export_module, kernel, to_jax
from symcalc.symbolic.parse import parse

jax = pytest.importorskip("jax")
torch = pytest.importorskip("torch")
import jax.numpy as jnp  # noqa: E402

FRAMEWORKS = ("jax", "torch", "numpy")
_MODULES: dict = {}


def _module(text: str, to: str) -> dict:
    """The functions of ``symcalc export --to <to>`` of ``text``, by order."""
    if (text, to) not in _MODULES:
        namespace: dict = {}
        exec(compile(export_module(text, to=to).source, "<m>", "exec"), namespace)  # noqa: S102
        names = [n for n in ("f", "d_f_dx", "d2_f_dx2") if n in namespace]
        _MODULES[text, to] = [namespace[n] for n in names]
    return _MODULES[text, to]


def _run(function, to: str, x: np.ndarray) -> np.ndarray:
    if to == "jax":
        with jax.enable_x64(x.dtype == np.float64):
            return np.asarray(function(jnp.asarray(x)))
    if to == "torch":
        return function(torch.as_tensor(x)).numpy()
    with np.errstate(all="ignore"):
        return np.asarray(function(x))


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
    x = np.asarray(points, dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    truth = np.array([_truth(text, order, float(p)) for p in x])
    for to in FRAMEWORKS:
        got = _run(_module(text, to)[order], to, x)
        np.testing.assert_allclose(got, truth, rtol=rtol, err_msg=f"{to}: {text} order {order}")


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
    got = _run(function, "jax", x)
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
