"""Kernels: the interface other modules rely on, dtypes, caching, code generation, backends.

Accuracy at the extremes lives in test_stability.py; here the kernels are compared with
independent evaluations (mpmath, plain lambdify where it is accurate) at ordinary inputs.
"""

from __future__ import annotations

import importlib.util
import tracemalloc

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symcalc.catalog import CATALOG, get
from symcalc.errors import SymcalcError
from symcalc.functions import sigmoid, symbol
from symcalc.kernels import CHUNK, Kernel, kernel
from symcalc.parse import parse
from symcalc.rewrites import MPMATH_FUNCTIONS

HAS_NUMBA = importlib.util.find_spec("numba") is not None


def sample_args(entry, n: int, rng, dtype=np.float64) -> list[np.ndarray]:
    """Points inside each variable's domain (losses: every variable varies)."""
    args = []
    for v in entry.variables:
        domain = entry.domain_of(v)
        if isinstance(domain, sympy.FiniteSet):
            args.append(rng.choice([float(e) for e in domain], n).astype(dtype))
        elif domain == sympy.S.Reals:
            args.append(rng.uniform(-6, 6, n).astype(dtype))
        else:
            args.append(
                rng.uniform(float(domain.inf) + 0.01, float(domain.sup) - 0.01, n).astype(dtype)
            )
    return args


def mp_values(k: Kernel, args: list[np.ndarray]) -> np.ndarray:
    f = sympy.lambdify(k.variables, k.expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
    with mpmath.workdps(50):
        rows = zip(*args, strict=True)
        return np.array([float(f(*[mpmath.mpf(float(a)) for a in row])) for row in rows])


# -- the interface ------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_kernel_matches_mpmath_on_arrays_and_scalars(name, rng):
    entry = get(name)
    for order in (0, 1):
        k = kernel(name, order=order)
        args = sample_args(entry, 40, rng)
        expected = mp_values(k, args)
        got = k(*args)
        assert got.shape == (40,)
        np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)
        scalar = k(*[float(a[0]) for a in args])
        assert isinstance(scalar, np.float64)
        assert scalar == pytest.approx(expected[0], rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_dtype_is_kept(name, rng):
    """float32 in, float32 out; float64 in, float64 out; ints and Python floats become float64."""
    entry = get(name)
    k = kernel(name, order=1)
    args64 = sample_args(entry, 8, rng)
    args32 = [a.astype(np.float32) for a in args64]
    assert k(*args64).dtype == np.float64
    assert k(*args32).dtype == np.float32
    assert kernel(name, order=1, dtype="float32")(*args64).dtype == np.float32
    assert kernel(name, order=1, dtype=np.float64)(*args32).dtype == np.float64


def test_constants_do_not_promote_float32():
    """A plain lambdify of sqrt(2)*x returns float64 for float32 input; a kernel does not."""
    x32 = np.linspace(-1, 1, 5, dtype=np.float32)
    plain = sympy.lambdify(symbol("x"), sympy.sqrt(2) * symbol("x"), "numpy")
    assert plain(x32).dtype == np.float64
    assert kernel("sqrt(2)*x")(x32).dtype == np.float32
    assert kernel("gelu", order=1)(x32).dtype == np.float32


def test_constant_kernels_broadcast_to_the_input():
    x = np.zeros((3, 4), dtype=np.float32)
    out = kernel("identity", order=1)(x)
    assert out.shape == (3, 4) and out.dtype == np.float32 and np.all(out == 1)
    assert kernel("relu", order=2)(x).shape == (3, 4)


def test_loss_variables_broadcast_together(rng):
    z = rng.normal(size=(5, 1))
    y = rng.uniform(0, 1, size=(1, 7))
    k = kernel("bce_with_logits", order=1)
    got = k(z, y)
    assert got.shape == (5, 7)
    expected = 1 / (1 + np.exp(-z)) - y  # σ(z) - y, the textbook gradient
    np.testing.assert_allclose(got, expected, rtol=1e-12)
    assert k(z, 1.0).shape == (5, 1)


def test_long_inputs_are_chunked_and_agree_with_short_ones(rng):
    n = 3 * CHUNK + 17
    x = rng.normal(0, 5, n)
    k = kernel("silu", order=2)
    whole = k(x)
    pieces = np.concatenate([k(x[i : i + 1000]) for i in range(0, n, 1000)])
    np.testing.assert_array_equal(whole, pieces)
    strided = x[::2]
    np.testing.assert_array_equal(k(strided), k(np.ascontiguousarray(strided)))
    grid = k(x.reshape(-1, 1)[: 2 * CHUNK] * np.ones((1, 2)))
    assert grid.shape == (2 * CHUNK, 2)


def test_kernel_describes_what_it_is_of():
    k = kernel("mse", order=2, wrt="p")
    assert (k.order, k.wrt.name, k.entry.name) == (2, "p", "squared_error")
    assert [v.name for v in k.variables] == ["p", "y"]
    assert k.expr == 2
    assert "def _kernel" in k.source
    assert "<Kernel d^2/dp^2 squared_error(p, y)" in repr(k)
    assert "evaluated as" in kernel("sigmoid", order=1).to_text()


def test_parameters_default_to_the_entry_and_can_be_set():
    x = np.array([-2.0, 3.0])
    np.testing.assert_allclose(kernel("leaky_relu")(x), [-0.02, 3.0])
    np.testing.assert_allclose(kernel("leaky_relu", params={"slope": 0.2})(x), [-0.4, 3.0])
    np.testing.assert_allclose(kernel("elu", params={"alpha": 2})(x), [2 * np.expm1(-2.0), 3.0])


def test_sigmoid_function_in_user_expressions():
    x = np.array([-800.0, 0.0, 800.0])
    np.testing.assert_allclose(kernel("sigmoid(x)*(1 - sigmoid(x))")(x), [0.0, 0.25, 0.0])
    np.testing.assert_allclose(kernel(sigmoid(symbol("x")) ** 2)(x), [0.0, 0.25, 1.0])


def test_same_request_returns_the_cached_kernel():
    assert kernel("tanh", order=1) is kernel("tanh", order=1)
    assert kernel("tanh", order=1) is not kernel("tanh", order=1, dtype="float32")
    entry = get("huber", delta=2)
    assert kernel(entry, 1) is kernel(entry, 1)


def test_stable_false_is_the_plain_lambdify():
    k = kernel("softplus", stable=False)
    assert not k.stable and k.lowered == k.expr
    assert "log(exp(x) + 1)" in k.source
    with np.errstate(all="ignore"):
        assert np.isinf(k(np.array([1000.0]))[0])
    assert kernel("softplus")(np.array([1000.0]))[0] == 1000.0


# -- generated code --------------------------------------------------------------------------


def test_relu_derivative_is_one_comparison():
    source = kernel("relu", order=1).source
    body = [line.strip() for line in source.splitlines()[1:-1]]
    assert body == ["np.greater(a0, 0.0, out=out)"]


def test_masked_out_branches_raise_no_floating_point_warning():
    x = np.array([-1000.0, -1.0, 0.0, 1.0, 1000.0])
    with np.errstate(all="raise"):
        np.testing.assert_allclose(kernel("elu", order=1)(x), [0.0, np.exp(-1.0), 1.0, 1.0, 1.0])
        np.testing.assert_allclose(
            kernel("Piecewise((log(x), x > 0), (0, True))")(x), [0, 0, 0, 0, np.log(1000.0)]
        )


def test_a_kernel_needs_few_buffers_whatever_its_size(rng):
    """Memory: the output plus chunk-sized scratch, not one array per operation."""
    x = rng.normal(size=10**6)
    for name, order in (("gelu_tanh", 2), ("mish", 2), ("silu", 1)):
        k = kernel(name, order=order)
        k(x)
        tracemalloc.start()
        k(x)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        assert peak < 1.6 * x.nbytes, f"{name}'' allocated {peak / x.nbytes:.2f} arrays"


_x = symbol("x")
_leaves = st.sampled_from([_x, sympy.Integer(2), sympy.Rational(1, 3), sympy.Float(0.7)])


def _combine(children):
    unary = st.sampled_from(
        [
            sympy.exp,
            sympy.tanh,
            sympy.sin,
            sympy.Abs,
            sigmoid,
            lambda u: sympy.log(1 + u**2),
            lambda u: sympy.Max(u, 0),
        ]
    )
    binary = st.sampled_from(
        [
            sympy.Add,
            sympy.Mul,
            lambda a, b: a - b,
            lambda a, b: a / (1 + b**2),
            lambda a, b: sympy.Piecewise((a, _x > 0.5), (b, True)),
        ]
    )
    return st.one_of(
        st.builds(lambda f, a: f(a), unary, children),
        st.builds(lambda f, a, b: f(a, b), binary, children, children),
    )


@settings(
    max_examples=150, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)
@given(st.recursive(_leaves, _combine, max_leaves=8))
def test_generated_code_computes_the_expression(expr):
    """Buffer reuse and operand order never change a value: compare with mpmath."""
    if not expr.has(_x):
        return
    xs = np.linspace(-2.0, 2.0, 9)
    k = kernel(expr)
    f = sympy.lambdify([_x], expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
    with mpmath.workdps(40):
        expected = np.array([float(f(mpmath.mpf(float(v)))) for v in xs])
    with np.errstate(all="ignore"):
        got = k(xs)
    finite = np.isfinite(expected) & (np.abs(expected) < 1e200)
    np.testing.assert_allclose(got[finite], expected[finite], rtol=1e-9, atol=1e-12)


# -- bad input --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: kernel("sigmod"), "did you mean 'sigmoid'"),
        (lambda: kernel("tanh", dtype="int32"), "dtype must be float32 or float64"),
        (lambda: kernel("tanh", order=-1), "order must be a whole number"),
        (lambda: kernel("tanh", order=1.5), "order must be a whole number"),
        (lambda: kernel("tanh", backend="cuda"), "unknown backend 'cuda'"),
        (lambda: kernel("tanh", convention="third"), "unknown kink convention"),
        (lambda: kernel("mse", order=1, wrt="q"), "unknown variable 'q'"),
        (lambda: kernel("tanh")(1.0, 2.0), r"takes 1 argument\(s\) \(x\), got 2"),
        (lambda: kernel("mse")(np.ones(3), np.ones(4)), "do not broadcast"),
        (lambda: kernel("tanh")(np.array([1j])), "complex input"),
        (lambda: kernel("tanh")("abc"), "expected numbers"),
        (lambda: kernel("elu", params={"alhpa": 1}), "did you mean 'alpha'"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(SymcalcError, match=message):
        call()


# -- the fused backend ---------------------------------------------------------------------------


def test_numba_backend_without_numba_says_how_to_install_it(monkeypatch):
    """A real test whether or not numba is installed: hide it and ask for the backend."""
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "numba" else real(name, *a)
    )
    with pytest.raises(SymcalcError, match=r"pip install 'symcalc\[fast\]'"):
        kernel("tanh", order=1, backend="numba")


@pytest.mark.skipif(not HAS_NUMBA, reason="the fast extra (numba) is not installed")
@pytest.mark.parametrize("name", sorted(CATALOG))
def test_numba_backend_agrees_with_numpy(name, rng):
    entry = get(name)
    fused = kernel(name, order=1, backend="numba")
    plain = kernel(name, order=1)
    args = sample_args(entry, 200, rng)
    args[0][:3] = (
        [-800.0, 0.0, 800.0] if entry.domain_of(entry.variable) == sympy.S.Reals else args[0][:3]
    )
    with np.errstate(all="raise", under="ignore"):
        got = fused(*args)
    np.testing.assert_allclose(got, plain(*args), rtol=1e-12, atol=1e-300)
    assert fused(*[a.astype(np.float32) for a in args]).dtype == np.float32


def test_piecewise_whose_branches_share_a_max_min_value_compiles_and_is_right():
    """Regression: a guarded branch whose value was computed already emitted an empty block."""
    text = (
        "Piecewise((x/6 + Min(6, Max(0, x + 3))/6, (x > -3) & ((x <= -3) | (x < 3))),"
        " (Min(6, Max(0, x + 3))/6, True))"
    )
    expr = parse(text)
    xs = np.array([-5.0, -3.0, -1.5, 0.0, 1.0, 2.999, 3.0, 4.5])
    expected = [float(expr.subs(symbol("x"), float(v))) for v in xs]
    np.testing.assert_allclose(kernel(expr)(xs), expected, rtol=1e-15, atol=0)
