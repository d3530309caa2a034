"""What the tenth session's fuzz of the framework exports found wrong, each checked
against closed forms, mpmath or the framework itself.

* JAX forward mode gives an argument, or an element of a vector, a tangent of zeros
  where another is differentiated, and the JVP formed ∂f/∂aᵢ · 0 = inf · 0 = NaN where
  that other partial overflows: ``jax.jacfwd(squared_hinge, argnums=(0, 1))`` at
  p = -1e200, y = 1 gave NaN for ∂/∂p = -2e200, ``jax.hessian`` NaN for ∂²/∂y∂p =
  -4e200, and the Hessian of sum(x²eˣ) at x = (1, 700, 2) NaN off its diagonal where
  it is 0.  The JVP now adds 0 for a zero tangent (as `to_torch`'s forward mode did),
  and keeps the derivative of an overflowed partial for the order above.
  A partial that the kernel graph's ranges show finite for finite inputs (sigmoid′,
  tanh′, silu′, ...) keeps the plain product, which costs nothing.
* ``to_jax`` refused JAX's bfloat16 arrays (ml_dtypes' NumPy kind is "V").
* log1p, asinh and acosh of an argument that overflows where the value does not were
  inf in array code (JAX, torch ops, exported modules; the NumPy kernels recompute such
  elements in extended range): asinh(x³) at x = 1.3e143 for 989.4, log(1 + x⁴) at
  2.6e117 for 1081.5, asinh(exp(x)) at 7.4e248 for itself, asinh(x⁻³) in float32 at
  7.2e-21 for 139.8.  Past |w| = 1e8 (log1p: 1e16) they are log|w| (+ log 2), and log|w|
  of a product of powers and exponentials is a sum.
* A constant factor that is not a rational number (√2, log 3, erf 2) hid a part's far
  branch in powers of 1/x: (√2·sin(x/(3(1 + x⁴))))″ was NaN from x = 8.6e30 in array code
  (the NumPy kernels recomputed it in extended range), 1.2e-154 there.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from lazy import lazy

from symcalc import export_module, to_jax, to_torch

jax = lazy("jax")  # imported by the first test, not by collection (see tests/lazy.py)
jnp = lazy("jax.numpy")


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def _module_function(name: str):
    namespace: dict = {}
    exec(export_module(name, to="jax").source, namespace)
    return namespace[name]


@pytest.mark.parametrize("route", ["to_jax", "module"])
def test_jacfwd_over_two_arguments_is_finite_where_the_other_partial_overflows(route):
    g = to_jax("squared_hinge") if route == "to_jax" else _module_function("squared_hinge")
    p, y = -1e200, 1.0
    # (1 - p·y)²: ∂p = -2y(1 - py), ∂y = -2p(1 - py) (overflows), ∂pp = 2y²,
    # ∂py = 4py - 2, ∂yy = 2p² (overflows)
    dp, dy = jax.jacfwd(g, argnums=(0, 1))(p, y)
    assert float(dp) == -2e200 and float(dy) == np.inf
    rev = jax.jacrev(g, argnums=(0, 1))(p, y)
    assert [float(v) for v in rev] == [-2e200, np.inf]
    hessian = jax.hessian(g, argnums=(0, 1))(p, y)
    got = [[float(v) for v in row] for row in hessian]
    assert got == [[2.0, -4e200], [-4e200, np.inf]]
    for outer, inner in [
        (jax.jacfwd, jax.jacfwd),
        (jax.jacrev, jax.jacfwd),
        (jax.jacrev, jax.jacrev),
    ]:
        second = outer(inner(g, argnums=(0, 1)), argnums=(0, 1))(p, y)
        assert [[float(v) for v in row] for row in second] == got


def test_hessian_of_a_sum_is_zero_off_the_diagonal_where_the_second_derivative_overflows():
    g = to_jax("x**2*exp(x)")
    xs = jnp.array([1.0, 700.0, 2.0])
    # (x²eˣ)'' = (x² + 4x + 2)eˣ, inf at 700
    diagonal = [(x * x + 4 * x + 2) * np.exp(x) for x in (1.0, 2.0)]
    expected = np.diag([diagonal[0], np.inf, diagonal[1]])
    for outer in (jax.jacfwd, jax.jacrev):
        for inner in (jax.jacfwd, jax.jacrev):
            hessian = np.asarray(outer(inner(lambda v: g(v).sum()))(xs))
            np.testing.assert_allclose(hessian, expected, rtol=1e-13)
    for transform in (jax.jacfwd, jax.jacrev):
        jacobian = np.asarray(transform(g)(xs))  # (x² + 2x)eˣ on the diagonal
        assert np.isnan(jacobian).sum() == 0 and jacobian[1, 1] == np.inf
        assert (jacobian[~np.eye(3, dtype=bool)] == 0).all()


def test_a_zero_tangent_adds_zero_and_another_adds_inf_where_the_partial_is_inf():
    g = to_jax("sqrt(x)*y")  # ∂x = y/(2√x): inf at 0
    primal, tangent = jax.jvp(g, (0.0, 2.0), (0.0, 1.0))
    assert float(primal) == 0.0 and float(tangent) == 0.0
    _, tangent = jax.jvp(g, (0.0, 2.0), (1.0, 0.0))
    assert float(tangent) == np.inf


def test_bfloat16_arrays_are_taken_and_stay_bfloat16():
    g = to_jax("gelu")
    x = jnp.array([1.0, -3.0, 0.5], jnp.bfloat16)
    reference = jax.vmap(jax.grad(lambda v: jax.nn.gelu(v, approximate=False)))
    got = jax.vmap(jax.grad(g))(x)
    assert g(x).dtype == got.dtype == jnp.bfloat16
    expected = np.asarray(reference(x.astype(jnp.float64)))
    np.testing.assert_allclose(np.asarray(got, np.float64), expected, rtol=2**-7)


def test_partials_proven_finite_keep_the_plain_product():
    from symcalc.export.partials import Partials

    assert Partials("sigmoid").get((0,)).finite == ("float64", "float32")
    assert Partials("x*exp(-x**2)").get(()).finite == ("float64",)  # x² passes float32's max
    # gelu′'s x² is computed inside its Gaussian beside erfc (session 15), not a node
    assert Partials("gelu").get((0,)).finite == ("float64", "float32")
    assert Partials("x**2*exp(x)").get((0,)).finite == ()
    source = export_module("sigmoid", to="jax").source
    assert 'finite=[\n        lambda: ("float64", "float32"),\n    ],' in source


def test_mish_derivative_is_proven_finite_in_float32_and_is_at_the_extremes():
    # 4x·σ(x)σ(2 sp)σ(-2 sp), sp = softplus(x), is x·σ(x)/cosh²(sp): no 2·sp node, which
    # passed float32's largest number for x > 1.7e38, so the JVP multiplies plainly
    from symcalc.export.partials import Partials

    assert Partials("mish").get((0,)).finite == ("float64", "float32")
    big = float(np.finfo(np.float32).max)
    xs = np.array([-big, -1e38, -100.0, -3.0, 0.5, 44.0, 1e20, 1.8e38, big], np.float32)
    g = jax.jit(jax.vmap(jax.grad(to_jax("mish"))))(jnp.asarray(xs))
    mpmath.mp.dps = 50

    def truth(x):
        x = mpmath.mpf(x)
        sp = mpmath.log1p(mpmath.exp(x))
        return mpmath.tanh(sp) + x * mpmath.sech(sp) ** 2 / (1 + mpmath.exp(-x))

    for x, got in zip(xs.tolist(), np.asarray(g).tolist(), strict=True):
        want = float(truth(x))
        assert abs(got - want) <= 1e-5 * abs(want) + 1e-34, (x, got, want)


#: log1p, asinh and acosh of an argument that overflows where the value does not.
FAR_LOGS = {
    "asinh(x**3)": lambda x: mpmath.asinh(x**3),
    "asinh(-2*x**3)": lambda x: mpmath.asinh(-2 * x**3),
    "log(1 + x**4)": lambda x: mpmath.log1p(x**4),
    "asinh(exp(x))": lambda x: mpmath.asinh(mpmath.exp(x)),
    "acosh(x**2)": lambda x: mpmath.acosh(x**2),
    "log(1 + exp(2*x)/3)": lambda x: mpmath.log1p(mpmath.exp(2 * x) / 3),
    "asinh(x**-3)": lambda x: mpmath.asinh(x**-3),
}


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("formula", sorted(FAR_LOGS))
def test_a_log_of_an_overflowing_argument_is_finite_in_array_code(formula, dtype):
    import torch

    # XLA flushes subnormal numbers to zero (to_jax's documented exception)
    rtol, atol = (1e-12, 1e-300) if dtype == np.float64 else (1e-5, 1e-34)
    big = np.finfo(dtype).max
    rng = np.random.default_rng(5)
    xs = 10.0 ** rng.uniform(-30, np.log10(big), 60)
    xs = np.concatenate([xs, [464.1588, 464.159, 9999.99, 10000.01, 18.42, 18.43]])
    xs = np.concatenate([xs, -xs]).astype(dtype)
    if formula.startswith("acosh"):
        xs = xs[np.abs(xs) > 1]
    namespace: dict = {}
    exec(export_module(formula, to="numpy").source, namespace)
    routes = {
        "jax": np.asarray(jax.jit(to_jax(formula))(jnp.asarray(xs))),
        "torch ops": to_torch(formula).body(())(torch.from_numpy(xs.copy())).numpy(),
        "numpy module": np.asarray(namespace["f"](xs)),
    }
    with mpmath.workdps(50):
        truth = [FAR_LOGS[formula](mpmath.mpf(float(x))) for x in xs]
    expected = np.array(
        [float(t) if abs(t) <= big else float(mpmath.sign(t)) * np.inf for t in truth]
    )
    for route, got in routes.items():
        assert got.dtype == dtype, route
        np.testing.assert_allclose(got, expected, rtol=rtol, atol=atol, err_msg=route)


@pytest.mark.parametrize("constant", ["sqrt(2)", "log(3)", "erf(2)"])
def test_a_constant_factor_keeps_the_far_branch_of_a_rational_argument(constant):
    import sympy
    import torch

    formula = f"{constant}*sin((x/3)/(1 + x**4))"
    x = sympy.Symbol("x", real=True)
    exact = sympy.diff(sympy.sympify(formula, locals={"x": x}), x, 2)
    truth = sympy.lambdify(x, exact, "mpmath")
    xs = np.array([8.6e30, -3e40, 1e100, 3.0, -200.0, 1e5])
    with mpmath.workdps(50):
        expected = np.array([float(truth(mpmath.mpf(float(v)))) for v in xs])
    namespace: dict = {}
    exec(export_module(formula, to="numpy").source, namespace)
    routes = {
        "jax": np.asarray(jax.jit(to_jax(formula).level((0, 0)))(jnp.asarray(xs))),
        "torch ops": to_torch(formula).body((0, 0))(torch.from_numpy(xs.copy())).numpy(),
        "numpy module": np.asarray(namespace["d2_f_dx2"](xs)),
    }
    for route, got in routes.items():  # NaN from x = 2**20 on, where x**12 overflows
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300, err_msg=route)
