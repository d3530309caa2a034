"""Session 15's cheaper array formulas against mpmath at 50 digits, over the whole range.

* mish′ as (a·d + 4u·f)/d² from one exp(-|u|) (`nodes.MishSlope`): `to_jax`, the
  ``backend="jax"`` kernel, the NumPy module's reference (`runtime.mish_slope`) and the
  scalar (numba) helper;
* gelu′'s Gaussian beside erfc (`nodes.ExpBesideErfc`): exp(-(w·w)) in float64, shared
  with XLA's erfc(w), exp(-x²/2) in float32;
* σ(u)σ(-u) as e/(1 + e)² with its coefficient in one product (`nodes.SigmoidPair`);
* `_finish_kept`: where the kernel graph shows that a NaN argument gives NaN, `to_jax`
  drops its NaN select, so XLA itself must give NaN there (every catalog entry, to
  second order, both dtypes).

Points: `test_stability`'s over the whole finite range (subnormal inputs left out: XLA
reads them as 0) and a dense grid where the values change, [-60, 60] by 0.01.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy
from frameworks import CATALOG_NAMES, RTOL, domain_points, target_values
from lazy import lazy

from symcalc import kernel, to_jax
from symcalc.numeric.kernels import runtime
from symcalc.numeric.kernels.backends import NAN_UNARY, compile_numba
from symcalc.numeric.kernels.lowering import _mish_slope
from symcalc.symbolic.catalog import get

jax = lazy("jax")
jnp = lazy("jax.numpy")

ATOL = {np.dtype(np.float64): 1e-300, np.dtype(np.float32): 1e-34}
DTYPES = (np.float64, np.float32)


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def points(name: str, dtype) -> np.ndarray:
    """The whole finite range and a dense grid in [-60, 60], normal numbers and 0."""
    entry = get(name)
    grid = np.arange(-6000, 6001) / 100.0
    p = np.unique(np.concatenate([domain_points(entry, entry.variable, dtype), grid]))
    p = p.astype(dtype)
    return p[(p == 0) | (np.abs(p) >= np.finfo(dtype).tiny)]


def truth(name: str, x: float) -> float:
    """The first derivative of ``name`` at ``x`` by mpmath at 50 digits."""
    with mpmath.workdps(50):
        v = mpmath.mpf(x)
        if name == "mish":
            t = mpmath.tanh(mpmath.log1p(mpmath.exp(v)))
            return float(t + v * (1 - t * t) / (1 + mpmath.exp(-v)))
        if name == "gelu":  # Φ(x) + xφ(x); beyond |x| = 1e4 it rounds to 0 or 1
            return (
                0.0 if v < -1e4 else 1.0 if v > 1e4 else float(mpmath.ncdf(v) + v * mpmath.npdf(v))
            )
        e = mpmath.exp(-abs(v))  # sigmoid
        return float(e / (1 + e) ** 2)


def failures(name: str, values, x: np.ndarray, dtype) -> list:
    """Where ``values`` break the promise: relative RTOL, the absolute floor where the
    truth is smaller, or `test_stability`'s mixed error (within RTOL of f(x') for some
    |x' - x| <= RTOL·|x|, near a zero of the derivative)."""
    rtol, atol = RTOL[np.dtype(dtype)], ATOL[np.dtype(dtype)]
    out = []
    for xi, got in zip(x.tolist(), np.asarray(values, np.float64).tolist(), strict=True):
        expected = truth(name, xi)
        error = abs(got - expected)
        if error <= rtol * abs(expected) or (abs(expected) < atol and error <= atol):
            continue
        lo, hi = truth(name, xi * (1 - rtol)), truth(name, xi * (1 + rtol))
        low, high = min(lo, hi), max(lo, hi)
        if xi != 0 and low - rtol * abs(low) <= got <= high + rtol * abs(high):
            continue
        out.append((xi, got, expected))
    return out


@pytest.mark.parametrize("dtype", DTYPES, ids=lambda d: np.dtype(d).name)
@pytest.mark.parametrize("name", ["mish", "gelu", "sigmoid"])
def test_the_new_jax_formulas_meet_the_kernel_promise(name, dtype):
    x = points(name, dtype)
    ours = jax.jit(jax.vmap(jax.grad(to_jax(name))))(jnp.asarray(x))
    assert ours.dtype == dtype
    bad = failures(name, ours, x, dtype)
    assert not bad, f"{name}′ {np.dtype(dtype).name}: {len(bad)} misses, e.g. {bad[:4]}"
    same = kernel(name, order=1, backend="jax")(x)  # the kernel emits the same code
    np.testing.assert_array_equal(np.asarray(same), np.asarray(ours))


def test_the_jax_code_uses_the_new_formulas():
    mish, gelu, sigmoid = (to_jax(n).source((0,)) for n in ("mish", "gelu", "sigmoid"))
    assert "_mish_slope(a0)" in mish and "jnp.tanh" not in mish and "jnp.log1p" not in mish
    assert "_exp_beside_erfc(" in gelu
    assert "_sigmoid_pair(a0)" in sigmoid and "0.5 *" not in sigmoid


def test_mish_slope_reference_and_scalar_code_meet_the_promise():
    x = points("mish", np.float64)
    with np.errstate(all="ignore"):
        reference = runtime.mish_slope(x, np.empty_like(x))
    u = sympy.Symbol("u", real=True)
    _, ufuncs = compile_numba(_mish_slope(u), [u])
    scalar = ufuncs[np.dtype(np.float64)](x)
    for values in (reference, scalar):
        bad = failures("mish", values, x, np.float64)
        assert not bad, f"{len(bad)} misses, e.g. {bad[:4]}"


def test_gelu_float64_shares_the_exp_and_float32_does_not():
    """float64: exp(-(w·w)) with w = -x/√2, the operations of XLA's erfc(w); float32
    keeps exp(-x²/2) (from the rounded w, 1.4e-5 off at x = -11.8, as jax.nn.gelu's
    derivative is)."""
    level = jax.jit(to_jax("gelu").level((0,)))
    erfc = jax.scipy.special.erfc

    def written(x, shared):
        w = x * -0.7071067811865476
        gauss = jnp.exp(-(w * w)) if shared else jnp.exp((x * x) * -0.5)
        return erfc(w) * 0.5 + (x * 0.3989422804014327) * gauss

    # x² is computed inside the Gaussian: no node of the graph passes float32's largest
    # number, so the JVP multiplies plainly and the float32 kernel checks no output
    assert to_jax("gelu").partials.get((0,)).finite == ("float64", "float32")
    assert not kernel("gelu", order=1, backend="jax").checks_float32
    for dtype, shared in ((np.float64, True), (np.float32, False)):
        x = np.linspace(-30, 5, 3501).astype(dtype)
        expected = jax.jit(written, static_argnums=1)(x, shared)
        np.testing.assert_array_equal(np.asarray(level(x)), np.asarray(expected))


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_a_nan_argument_gives_nan_where_the_select_is_dropped(name):
    g = to_jax(name)
    n = len(g.variables)
    targets = target_values(name)
    for index in [(), (0,), (0, 0)]:
        if "_finish_kept" not in g.source(index):
            continue
        level = jax.jit(g.level(index))
        for dtype in DTYPES:
            for i in range(n):
                args = [np.full(2, 0.5 if i else 0.25, dtype)] + [
                    np.full(2, t, dtype) for t in targets
                ]
                args[i] = np.array([np.nan, np.nan], dtype)
                out = np.asarray(level(*args))
                assert np.isnan(out).all(), (name, index, np.dtype(dtype).name, i, out)


@pytest.mark.parametrize("function", NAN_UNARY)
def test_xla_gives_nan_from_nan_in_the_unary_functions_trusted_to(function):
    names = {"Abs": jnp.abs, "erf": jax.scipy.special.erf, "erfc": jax.scipy.special.erfc}
    f = names.get(function) or getattr(jnp, function)
    for dtype in DTYPES:
        assert np.isnan(np.asarray(jax.jit(f)(np.full(3, np.nan, dtype)))).all()
