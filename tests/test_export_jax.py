"""`symcalc.to_jax`: JAX itself checks the derivatives, mpmath the values.

* ``jax.test_util.check_grads`` (forward and reverse mode, to second order) on every
  catalog entry: JAX's finite differences against the custom JVPs that evaluate
  symcalc's symbolic derivatives.
* The kernel promise for every catalog entry, its first and second derivatives, in
  float64 and float32, under ``jit``, against mpmath (the truth and points of
  `test_stability`), with XLA's one exception: it flushes subnormal numbers to zero, so
  subnormal inputs are left out and the float32 absolute floor is 1e-34.
* The tails the issue lists, at 50 digits: the exported function is right where
  ``jax.nn`` is not; and ``jax.nn`` agrees with it where ``jax.nn`` is accurate.
"""

from __future__ import annotations

import importlib.util

import mpmath
import numpy as np
import pytest
from frameworks import (
    CATALOG_NAMES,
    Truth,
    configurations,
    domain_points,
    grad_points,
    promise_failures,
    target_values,
)
from lazy import lazy, real

from symcalc import to_jax
from symcalc.errors import SymcalcError
from symcalc.symbolic.catalog import get

jax = lazy("jax")  # imported by the first test, not by collection (see tests/lazy.py)
jnp = lazy("jax.numpy")

#: XLA flushes subnormal results to zero: a float32 value whose computation passes below
#: 1.2e-38 may come out as 0 where the truth is up to about 1e-35 (mish'' at 43.75).
ATOL = {np.dtype(np.float64): 1e-300, np.dtype(np.float32): 1e-34}

_FUNCTIONS: dict[str, object] = {}


def function(name: str):
    """One `to_jax` per catalog entry for the whole module (its levels compile once)."""
    if name not in _FUNCTIONS:
        _FUNCTIONS[name] = to_jax(name)
    return _FUNCTIONS[name]


@pytest.fixture(autouse=True)
def x64():
    """64-bit JAX for this test only (float32 inputs stay float32)."""
    with jax.enable_x64(True):
        yield


def normal_points(entry, dtype) -> np.ndarray:
    """`test_stability`'s points without subnormal numbers (XLA reads them as 0)."""
    points = domain_points(entry, entry.variable, dtype)
    tiny = np.finfo(dtype).tiny
    return points[(points == 0) | (np.abs(points) >= tiny)]


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_check_grads_agrees_with_the_symbolic_derivatives(name):
    g = function(name)
    targets = target_values(name)
    x = jnp.asarray(grad_points(name))
    jax.test_util.check_grads(lambda v: g(v, *targets), (x,), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", ["binary_cross_entropy_with_logits", "huber", "squared_error"])
def test_check_grads_through_the_target_too(name):
    g = to_jax(name)
    p = jnp.asarray(grad_points(name))
    y = jnp.full_like(p, 0.35 if name != "huber" else 0.1)
    jax.test_util.check_grads(g, (p, y), order=2, modes=("fwd", "rev"))


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_values_and_derivatives_meet_the_kernel_promise_under_jit(name):
    entry = get(name)
    g = function(name)
    levels = [g.level((0,) * order) for order in range(3)]
    forms = [g.partials.get((0,) * k).form for k in range(3)]
    truths = [Truth(f.bound, g.variables, f.lowered) for f in forms]
    evaluate = jax.jit(lambda *args: [level(*args) for level in levels])  # one jit per dtype
    report = []
    for dtype in (np.float64, np.float32):
        points = normal_points(entry, dtype)
        for config in configurations(entry):
            others = [np.asarray(v, dtype) for v in config.values()]
            values = evaluate(points, *others)
            for order, (value, truth) in enumerate(zip(values, truths, strict=True)):
                assert value.dtype == dtype
                failures = promise_failures(
                    value, points, config, truth, dtype, ATOL[np.dtype(dtype)]
                )
                report += [(np.dtype(dtype).name, order, config, *f) for f in failures]
    assert not report, f"{g!r} misses the promise at {len(report)} points, e.g. {report[:4]}"


def test_grad_evaluates_the_symbolic_levels_and_builds_only_what_is_asked():
    g = to_jax("binary_cross_entropy_with_logits")
    z = jnp.linspace(-30.0, 30.0, 13)
    first = jax.vmap(jax.grad(g), in_axes=(0, None))(z, 1.0)
    second = jax.vmap(jax.grad(jax.grad(g)), in_axes=(0, None))(z, 1.0)
    np.testing.assert_array_equal(first, g.level((0,))(z, 1.0))
    np.testing.assert_array_equal(second, g.level((0, 0))(z, 1.0))
    assert set(g._levels) == {(), (0,), (0, 0)}  # the target's derivatives were never built
    dy = jax.grad(g, argnums=1)(2.0, 0.25)  # d/dy = -z
    assert float(dy) == -2.0
    assert (1,) in g._levels


def test_jit_vmap_grad_keep_float32_and_broadcast():
    g = to_jax("bce_with_logits")
    z = jnp.asarray(np.linspace(-5, 5, 12, dtype=np.float32).reshape(3, 4))
    y = jnp.asarray(np.array([0.0, 1.0, 0.5, 1.0], dtype=np.float32))
    assert g(z, y).dtype == jnp.float32 and g(z, y).shape == (3, 4)
    assert g(z, 1.0).dtype == jnp.float32  # a Python number follows the array
    hessian = jax.jit(jax.vmap(jax.vmap(jax.grad(jax.grad(g)), in_axes=(0, 0)), in_axes=(0, None)))
    assert hessian(z, y).dtype == jnp.float32
    assert to_jax("relu").level((0, 0))(z, *()).shape == (3, 4)  # a constant, one per element
    assert g(3, 1).dtype == jnp.float64  # integers become the default float


def test_a_float64_numpy_input_without_64_bit_jax_is_refused():
    g = to_jax("sigmoid")
    with jax.enable_x64(False):
        with pytest.raises(SymcalcError, match="jax_enable_x64"):
            g(np.array([1.0, 2.0]))
        assert g(np.array([1.0], dtype=np.float32)).dtype == jnp.float32


def test_beyond_order_max_jax_differentiates_the_last_level(mp_digits):
    mp_digits(50)
    g = to_jax("sigmoid", order_max=2)
    third = jax.grad(jax.grad(jax.grad(g)))
    for x in (-3.0, 0.5, 2.0):
        s = mpmath.mpf(1) / (1 + mpmath.exp(-x))
        exact = float(s * (1 - s) * (1 - 6 * s + 6 * s**2))
        assert abs(float(third(x)) - exact) <= 1e-14
    plain = to_jax("softplus", order_max=0)  # JAX differentiates the stable value's code,
    assert abs(float(jax.grad(plain)(0.3)) - 0.574442516811659) <= 1e-15  # right off its kinks
    assert float(jax.grad(plain)(0.0)) == 0.0  # but at |x| = 0 of max(x, 0) + log1p(e^-|x|)
    assert float(jax.grad(to_jax("softplus"))(0.0)) == 0.5  # the symbolic derivative is right


def test_arguments_and_options_are_checked(monkeypatch):
    with pytest.raises(SymcalcError, match=r"takes 2 argument\(s\) \(z, y\), got 1"):
        to_jax("bce_with_logits")(1.0)
    with pytest.raises(SymcalcError, match="order_max must be a whole number"):
        to_jax("sigmoid", order_max=-1)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    with pytest.raises(SymcalcError, match=r"pip install 'symcalc\[jax\]'"):
        to_jax("sigmoid")


# -- where jax.nn fails: the tails the issue lists, at 50 digits ---------------------------------


def gelu_tanh(t):
    inner = mpmath.sqrt(2 / mpmath.pi) * (t + mpmath.mpf("0.044715") * t**3)
    return t / 2 * (1 + mpmath.tanh(inner))


def _exact(expr: str, x: float) -> float:
    with mpmath.workdps(50):
        v = mpmath.mpf(x)
        s = 1 / (1 + mpmath.exp(-v))
        values = {
            "sigmoid'": s * (1 - s),
            "tanh'": 1 / mpmath.cosh(v) ** 2,
            "elu'": mpmath.exp(v),
            "selu'": mpmath.mpf("1.05070098735548049341933498529")
            * mpmath.mpf("1.67326324235437728481704299167")
            * mpmath.exp(v),
            "gelu_tanh'": mpmath.diff(gelu_tanh, v),
        }
        return float(values[expr])


TAILS = [  # (our entry, jax.nn function, x, dtype, name of the truth)
    ("sigmoid", lazy("jax.nn.sigmoid"), 40.0, np.float64, "sigmoid'"),
    ("sigmoid", lazy("jax.nn.sigmoid"), 36.7, np.float64, "sigmoid'"),
    ("sigmoid", lazy("jax.nn.sigmoid"), 17.0, np.float32, "sigmoid'"),
    ("tanh", lazy("jax.numpy.tanh"), 19.1, np.float64, "tanh'"),
    ("tanh", lazy("jax.numpy.tanh"), 9.0, np.float32, "tanh'"),
    ("elu", lazy("jax.nn.elu"), -40.0, np.float64, "elu'"),
    ("celu", lazy("jax.nn.celu"), -40.0, np.float64, "elu'"),
    ("selu", lazy("jax.nn.selu"), -40.0, np.float64, "selu'"),
    ("gelu_tanh", lambda v: jax.nn.gelu(v, approximate=True), -7.34, np.float64, "gelu_tanh'"),
]


@pytest.mark.parametrize(("name", "builtin", "x", "dtype", "truth"), TAILS)
def test_the_exported_derivative_is_right_in_the_tails_where_jax_nn_is_not(
    name, builtin, x, dtype, truth
):
    builtin = real(builtin)
    exact = _exact(truth, float(np.asarray(x, dtype)))
    ours = float(jax.grad(function(name))(jnp.asarray(x, dtype)))
    theirs = float(jax.grad(builtin)(jnp.asarray(x, dtype)))
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    assert abs(ours - exact) <= rtol * abs(exact)
    assert abs(theirs - exact) > 0.5 * abs(exact)  # jax.nn loses every digit here


BUILTINS = [  # (entry, jax.nn function) that agree where jax.nn is accurate
    ("sigmoid", lazy("jax.nn.sigmoid")),
    ("tanh", lazy("jax.numpy.tanh")),
    ("relu", lazy("jax.nn.relu")),
    ("relu6", lazy("jax.nn.relu6")),
    ("leaky_relu", lazy("jax.nn.leaky_relu")),
    ("elu", lazy("jax.nn.elu")),
    ("selu", lazy("jax.nn.selu")),
    ("celu", lazy("jax.nn.celu")),
    ("softplus", lazy("jax.nn.softplus")),
    ("softsign", lazy("jax.nn.soft_sign")),
    ("silu", lazy("jax.nn.silu")),
    ("gelu", lambda v: jax.nn.gelu(v, approximate=False)),
    ("gelu_tanh", lambda v: jax.nn.gelu(v, approximate=True)),
    ("mish", lazy("jax.nn.mish")),
    ("hard_sigmoid", lazy("jax.nn.hard_sigmoid")),
    ("hard_tanh", lazy("jax.nn.hard_tanh")),
    ("hard_swish", lazy("jax.nn.hard_swish", named="hard_silu")),
    ("log_sigmoid", lazy("jax.nn.log_sigmoid")),
    ("squareplus", lazy("jax.nn.squareplus")),
    ("sparse_plus", lazy("jax.nn.sparse_plus")),
]


@pytest.mark.parametrize(("name", "builtin"), BUILTINS)
def test_jax_nn_agrees_where_it_is_accurate(name, builtin):
    builtin = real(builtin)
    x = jnp.asarray(grad_points(name))
    g = function(name)
    np.testing.assert_allclose(g(x), builtin(x), rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(
        jax.vmap(jax.grad(g))(x), jax.vmap(jax.grad(builtin))(x), rtol=1e-12, atol=1e-300
    )


# -- kernel(backend="jax") -------------------------------------------------------------------


@pytest.mark.parametrize("name", ["sigmoid", "gelu", "bce_with_logits", "huber", "relu"])
@pytest.mark.parametrize("order", [0, 1, 2])
def test_the_jax_backend_matches_the_numpy_kernel(name, order):
    from symcalc import kernel

    numpy_kernel = kernel(name, order=order)
    jax_kernel = kernel(name, order=order, backend="jax")
    x = np.linspace(-50, 50, 101) if get(name).variables[0].name != "p" else np.linspace(-3, 3, 7)
    others = target_values(name)
    got = jax_kernel(x, *others)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    assert not got.flags.writeable  # XLA's buffer, handed over without a copy
    np.testing.assert_allclose(got, numpy_kernel(x, *others), rtol=1e-12, atol=1e-300)
    got32 = jax_kernel(x.astype(np.float32), *others)
    assert got32.dtype == np.float32
    assert jax_kernel(0.5, *others).shape == ()


def test_the_jax_backend_needs_jax_and_says_which_extra(monkeypatch):
    from symcalc import kernel

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    with pytest.raises(SymcalcError, match=r"pip install 'symcalc\[jax\]'"):
        kernel("sigmoid", backend="jax")
