"""Array code (JAX kernels, to_jax) found giving wrong finite numbers by a fuzz (session 17).

Truth is SymPy's own derivative (``sympy.diff`` of the formula written out here, not
symcalc's derivation) evaluated by mpmath at 60 digits or more.  The promise: within
1e-12 relative in float64 where the value is finite, or inf/NaN where array code cannot
recover it: never a wrong finite number.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy
from mpmath_derivative import derivative_values

from symcalc import kernel, to_jax

x = sympy.Symbol("x", real=True)


def _truth(expr: sympy.Expr, order: int, points: np.ndarray) -> np.ndarray:
    return derivative_values(expr, x, order, points)


def _right_or_nan(got: np.ndarray, truth: np.ndarray, rtol: float) -> None:
    """Every finite element within ``rtol`` of the truth; the others NaN or inf."""
    finite = np.isfinite(got)
    np.testing.assert_allclose(got[finite], truth[finite], rtol=rtol, atol=0.0)


def _gelu(u: sympy.Expr) -> sympy.Expr:
    return u / 2 * (1 + sympy.erf(u / sympy.sqrt(2)))


@pytest.fixture(scope="module")
def jax64():
    jax = pytest.importorskip("jax")
    with jax.enable_x64(True):
        yield jax


# The fuzz found gelu(bce_with_logits(hinge(0.72x, -1), 0.25))′ = 0 for 0.54 from x ≈ 490
# in the JAX kernel (3 s to build): σ(h)·exp(-u²/2 - 2h)·(0.18e^h - 0.54e^{2h})·(...), where
# the growing exponentials overflowed and the decaying one was 0.  The same race, cheaper:
_RACE = sympy.exp(-(x**2)) * (sympy.exp(x**2 + x) - sympy.exp(x))
_RACE_TEXT = "exp(-x**2)*(exp(x**2 + x) - exp(x))"
_RACE_POINTS = np.array([-30.0, 0.5, 5.0, 40.0, 77.6, 700.0])


def test_jax_kernel_decay_does_not_win_over_an_exponential(jax64):
    """exp(-x²)·(exp(x² + x) - exp(x)) = eˣ - e^{x - x²}: from x = 27 exp(-x²) is 0 and
    from x = 26.6 exp(x² + x) is inf; the JAX kernel took the 0 (0 for 2.4e17 at x = 40).
    inf·0 now stays NaN and the kernel computes those elements again."""
    got = np.asarray(kernel(_RACE_TEXT, backend="jax")(_RACE_POINTS))
    np.testing.assert_allclose(got, _truth(_RACE, 0, _RACE_POINTS), rtol=1e-12)


def test_to_jax_decay_does_not_win_over_an_exponential(jax64):
    """to_jax has no second pass: NaN where the race is lost, never the 0."""
    f = to_jax(_RACE_TEXT)
    got = np.asarray(f(jax64.numpy.asarray(_RACE_POINTS)))
    _right_or_nan(got, _truth(_RACE, 0, _RACE_POINTS), 1e-12)
    assert np.isfinite(got[:3]).all()


def test_decay_still_wins_beside_a_polynomial(jax64):
    """gelu″ = (1 - x²/2)·φ(x)·√2·...: at x = 1e200 x² overflowed and exp(-x²/2) is 0;
    the value is below the smallest float, so 0 stays (to_jax and the JAX kernel)."""
    points = np.array([-1e200, -40.0, 3.0, 40.0, 1e200])
    truth = _truth(_gelu(x), 2, points)
    got = np.asarray(kernel("gelu", order=2, backend="jax")(points))
    np.testing.assert_allclose(got, truth, rtol=1e-12, atol=1e-300)


def test_squared_hinge_indicator_selects_beside_an_overflow(jax64):
    """∂²/∂p∂y squared_hinge = [p·y < 1]·(4p·y - 2): where p·y overflowed the indicator's 0
    met inf (NaN in to_jax for the true 0); it selects now."""
    p, y = sympy.symbols("p y", real=True)
    mixed = sympy.diff(sympy.Piecewise(((1 - p * y) ** 2, p * y < 1), (0, True)), p, y)
    truth_of = sympy.lambdify((p, y), mixed, modules="mpmath")
    ps = np.array([1e308, 0.25, 2.0, -1e308, 1e200, -3.0])
    ys = np.array([1.0, 1.0, 1.0, -1.0, 1e200, 1e308])
    with mpmath.workdps(60):
        exact = [truth_of(mpmath.mpf(a), mpmath.mpf(b)) for a, b in zip(ps, ys, strict=True)]
    truth = np.array([float(v) for v in exact])
    f = to_jax("squared_hinge")
    jnp = jax64.numpy
    got = np.asarray(jax64.vmap(jax64.grad(jax64.grad(f, 0), 1))(jnp.asarray(ps), jnp.asarray(ys)))
    np.testing.assert_allclose(got[:-1], truth[:-1], rtol=1e-12, atol=0.0)
    assert got[-1] == truth[-1] or np.isnan(got[-1])  # -3e308·4 - 2: -inf, NaN if not


def _bce(z: sympy.Expr, y: sympy.Expr) -> sympy.Expr:
    return sympy.log(1 + sympy.exp(z)) - y * z


def test_log_of_a_subnormal_quotient_is_computed_again():
    """bce_with_logits(-190x - 3, 0.25) is evaluated as -log(σ(-u)/(σ(-u) + e³σ(u)))/4 -
    3/4·log(e³σ(u)/(...)) with u = 190x: where σ(u) is subnormal (x from -3.73 in float64,
    from -0.46 in float32) the log took its lost digits: 556.08 for 556.35 at x = -3.92
    (4.8e-4 off), 73.2858 for 73.27500 at x = -0.53 in float32.  Those elements are now
    computed again in extended range, and each element's value is the same whatever the
    rest of the array holds."""
    text = "bce_with_logits(-190.0*x - 3.0, 0.25)"
    f = kernel(text)
    expr = _bce(-190 * x - 3, sympy.Rational(1, 4))
    for dtype, rtol, points in (
        (np.float64, 1e-12, np.linspace(-3.95, -3.7, 41)),
        (np.float32, 1e-5, np.linspace(-0.6, -0.4, 41)),
    ):
        inputs = np.concatenate([points, [1e30, -3.0, 0.5, 3.716]]).astype(dtype)
        with np.errstate(over="ignore"):
            got = f(inputs)
            alone = np.array([f(inputs[i : i + 1])[0] for i in range(inputs.size)])
        truth = _truth(expr, 0, inputs.astype(np.float64))
        np.testing.assert_allclose(got, truth, rtol=rtol, err_msg=str(dtype))
        np.testing.assert_array_equal(got, alone)
