"""What the eleventh session's fuzz of the framework exports found wrong, each checked
against mpmath at 50 digits in every array route (``to_jax`` under ``jit``, ``to_torch``'s
torch-op code, the exported JAX, PyTorch and NumPy modules).

* A polynomial summed as written gave inf - inf = NaN where two of its terms overflow
  with opposite signs (the NumPy kernels recompute such elements in extended range,
  array code has none): x³ - x² at x = 1e200 for +inf, x⁴ - 3x³ + x at x = 1e110 for
  +inf, ((x² - x)(x + 4))′ = 3x² + 6x - 4 at x = -1e308 for +inf (6x overflows too), and
  the same in float32 from x = -1e38.  Sums of monomials of one variable are now
  written in Horner's form in array code.
* ∂/∂y of bce(σ(x), y), log(1/σ(x) - 1) as derived, is -x; it was inf from x = -709.8
  (float32: -88.7) in every kernel and framework, since 1/σ(x) - 1 overflowed on the way
  (x = -1e200 gave inf for 1e200).  The rewrite rule ``odds`` writes c/σ(u) - c as
  c·exp(-u), and log(exp(-x)) is -x.
* The exported NumPy module's erfc was ``scipy.special.erfc``, which is 0 from
  x = 26.64 on (Cephes' underflow test), where erfc is subnormal (down to x = 27.2): a
  square root or a log of it is a normal number there, and sqrt(erfc(x)) at x = 26.67
  was 0 for 5.1e-156, log(erfc(x)) -inf for -715.1 (the NumPy kernels and PyTorch were
  right).  From 26.5 on the module computes erfcx(x)·exp(-x²).
* elu(x²/(1 + 4x²)), elu(x/(1 + x²)) and relu(x³/(1 + x²) - 1) were refused by every
  kernel and framework ("cannot make a NumPy kernel for 'ITE(...)'"): the argument's far
  branch turned the condition u > 0 into an if-then-else of conditions, which the kernel
  graph now builds as And/Or.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy
from lazy import lazy

from symcalc import export_module, to_jax, to_torch

jax = lazy("jax")  # imported by the first test, not by collection (see tests/lazy.py)
jnp = lazy("jax.numpy")


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def array_routes(formula: str, order: int, xs: np.ndarray) -> dict[str, np.ndarray]:
    """``formula``'s derivative of ``order`` at ``xs`` through every array route."""
    import torch

    index = (0,) * order
    out = {
        "to_jax": np.asarray(jax.jit(to_jax(formula).level(index))(jnp.asarray(xs))),
        "torch ops": to_torch(formula).body(index)(torch.from_numpy(xs.copy())).numpy(),
    }
    if order == 1:
        out["jax.grad"] = np.asarray(jax.jit(jax.vmap(jax.grad(to_jax(formula))))(xs))
    for to in ("jax", "torch", "numpy"):
        module = export_module(formula, to=to)
        namespace: dict = {}
        exec(module.source, namespace)
        function = namespace[module.functions[order].name]
        arg = {"jax": jnp.asarray, "torch": lambda a: torch.from_numpy(a.copy())}.get(
            to, lambda a: a
        )(xs)
        out[f"{to} module"] = np.asarray(function(arg))
    return out


def expected(formula: str, order: int, xs: np.ndarray) -> np.ndarray:
    x = sympy.Symbol("x", real=True)
    exact = sympy.diff(
        sympy.sympify(formula, locals={"x": x, "Piecewise": sympy.Piecewise}), x, order
    )
    truth = sympy.lambdify(x, exact, "mpmath")
    big = np.finfo(xs.dtype).max
    with mpmath.workdps(450):  # exp(-1e-308) - 1 keeps its digits
        values = [truth(mpmath.mpf(float(v))) for v in xs]
    return np.array([float(t) if abs(t) <= big else float(mpmath.sign(t)) * np.inf for t in values])


POLYNOMIALS = [
    ("x**3 - x**2", 0),
    ("x**4 - 3*x**3 + x", 0),
    ("x**4 - 3*x**3 + x", 1),
    ("(x**2 - x)*(x + 4)", 1),
    ("(x**2 - x)*(x + 4)", 2),
    ("tanh(x)*(x**5 - 2*x**3)", 0),
]


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize(("formula", "order"), POLYNOMIALS)
def test_a_polynomial_is_inf_not_nan_where_its_terms_overflow(formula, order, dtype):
    big = float(np.finfo(dtype).max)
    xs = np.array([1e200, -1e200, 1e110, -1e110, 1e300, -1e308, big, -big, 2.5, -0.5, 0.0])
    xs = np.concatenate([xs, [1e38, -1e38, 3e12, -2e19, 7.0]])
    xs = xs[np.abs(xs) <= big].astype(dtype)
    rtol, atol = (1e-12, 1e-300) if dtype == np.float64 else (1e-5, 1e-34)
    want = expected(formula, order, xs)
    for route, got in array_routes(formula, order, xs).items():
        assert got.dtype == dtype, route
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol, err_msg=route)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_the_target_derivative_of_bce_of_sigmoid_is_minus_the_logit(dtype):
    import torch

    from symcalc import kernel

    formula = "bce(sigmoid(x), y)"
    big = float(np.finfo(dtype).max)
    xs = np.array([-1e308, -1e200, -1e30, -800.0, -100.0, -3.0, 0.5, 40.0, 1e200, big, -big])
    xs = xs[np.abs(xs) <= big].astype(dtype)
    ys = np.full_like(xs, 0.3)
    want = -xs.astype(float)  # d/dy [-y log σ(x) - (1 - y) log(1 - σ(x))] = log(σ(-x)/σ(x))
    got = {
        "kernel": kernel(formula, order=1, wrt="y")(xs, ys),
        "to_jax": jax.jit(jax.vmap(jax.grad(to_jax(formula), argnums=1)))(xs, ys),
        "torch ops": to_torch(formula).body((1,))(torch.from_numpy(xs), torch.from_numpy(ys)),
    }
    x = torch.from_numpy(xs.copy())
    y = torch.from_numpy(ys.copy()).requires_grad_(True)
    (got["torch autograd"],) = torch.autograd.grad(to_torch(formula)(x, y).sum(), y)
    for to in ("jax", "torch", "numpy"):
        namespace: dict = {}
        exec(export_module(formula, to=to).source, namespace)
        convert = {"jax": jnp.asarray, "torch": torch.from_numpy}.get(to, np.asarray)
        got[f"{to} module"] = namespace["d_f_dy"](convert(xs), convert(ys))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    for route, value in got.items():
        value = np.asarray(value.detach() if hasattr(value, "detach") else value)
        assert value.dtype == dtype, route
        np.testing.assert_allclose(value, want, rtol=rtol, err_msg=route)


@pytest.mark.parametrize("formula", ["sqrt(erfc(x))", "log(erfc(x))", "erfc(x)*exp(x**2/2)"])
def test_the_numpy_module_keeps_erfc_where_it_is_subnormal(formula):
    import torch

    xs = np.array([-3.0, 0.5, 26.0, 26.5, 26.6, 26.64, 26.65, 26.67, 26.7])
    want = expected(formula, 0, xs)
    got = {}
    for to, convert in (("numpy", np.asarray), ("torch", torch.from_numpy)):
        namespace: dict = {}
        exec(export_module(formula, to=to).source, namespace)
        got[to] = np.asarray(namespace["f"](convert(xs.copy())))
    for route, value in got.items():
        np.testing.assert_allclose(value, want, rtol=1e-12, err_msg=route)
    # past 27.28 erfc is below the smallest subnormal, but its square root is a normal
    # number (erfcx: exp(-x²/2)·sqrt(erfcx(x)), 2.09e-163 at 27.3, was 0); 0 where the
    # value underflows too
    namespace = {}
    exec(export_module("sqrt(erfc(x))", to="numpy").source, namespace)
    got = namespace["f"](np.array([27.3, 1e300, np.inf]))
    np.testing.assert_allclose(
        got[0], expected("sqrt(erfc(x))", 0, np.array([27.3]))[0], rtol=1e-12
    )
    assert got[1:].tolist() == [0.0, 0.0]


#: formula -> the same without the catalog function (a Piecewise where it has a kink)
CONDITIONS_WITH_FAR_BRANCHES = {
    "elu(x**2/(1 + 4*x**2))": "x**2/(1 + 4*x**2)",
    "elu(x/(1 + x**2))": "Piecewise((x/(1 + x**2), x > 0), (exp(x/(1 + x**2)) - 1, True))",
    "relu(x**3/(1 + x**2) - 1)": "Piecewise((x**3/(1 + x**2) - 1, x**3 > 1 + x**2), (0, True))",
}


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("formula", sorted(CONDITIONS_WITH_FAR_BRANCHES))
def test_a_kink_condition_on_an_argument_with_a_far_branch_is_built(formula, order):
    import torch

    from symcalc import kernel

    xs = np.array([0.5, -3.0, 2.0, 1e-300, -1e-5, 7.5, 1e200, -1e200, 1e308, -1e308])
    want = expected(CONDITIONS_WITH_FAR_BRANCHES[formula], order, xs)
    index = (0,) * order  # the exported modules print the same graph
    got = {
        "kernel": kernel(formula, order=order)(xs),
        "to_jax": np.asarray(jax.jit(to_jax(formula).level(index))(jnp.asarray(xs))),
        "torch ops": to_torch(formula).body(index)(torch.from_numpy(xs.copy())).numpy(),
    }
    for route, value in got.items():
        np.testing.assert_allclose(value, want, rtol=1e-12, atol=1e-300, err_msg=route)
