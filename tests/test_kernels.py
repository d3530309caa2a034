"""Kernels: the interface other modules rely on, dtypes, caching, code generation, backends.

Accuracy at the extremes lives in test_stability.py; here the kernels are compared with
independent evaluations (mpmath, plain lambdify where it is accurate) at ordinary inputs.
"""

from __future__ import annotations

import collections
import importlib.util
import math
import tracemalloc
from concurrent.futures import ThreadPoolExecutor

import mpmath
import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from symcalc.errors import SymcalcError
from symcalc.numeric.kernels import CHUNK, Kernel, erf_array, erfc_array, kernel
from symcalc.numeric.kernels import nodes as kernel_nodes
from symcalc.numeric.kernels.backends import scalar_source
from symcalc.numeric.kernels.graph import BUILDERS, Graph, builder_for
from symcalc.numeric.kernels.printers import ScalarPrinter
from symcalc.numeric.rewrites import MPMATH_FUNCTIONS
from symcalc.symbolic.catalog import CATALOG, get
from symcalc.symbolic.derivatives import derivative
from symcalc.symbolic.functions import sigmoid, symbol
from symcalc.symbolic.parse import parse

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
    assert kernel(entry, order=1) is kernel(entry, order=1)


def test_options_are_keyword_only_in_the_order_of_derivative():
    """kernel(f, *, wrt=, order=) like derivative: a positional order is refused, not misread."""
    import inspect

    from symcalc.symbolic.derivatives import derivative

    with pytest.raises(TypeError, match="positional argument"):
        kernel("mse", 1)
    params = inspect.signature(kernel).parameters
    assert all(p.kind is p.KEYWORD_ONLY for name, p in params.items() if name != "f")
    assert list(params)[1:3] == ["wrt", "order"]
    assert list(inspect.signature(derivative).parameters).index("wrt") < list(
        inspect.signature(derivative).parameters
    ).index("order")
    assert kernel("mse", wrt="y", order=1)(1.0, 3.0) == 4.0  # d/dy (p - y)² = 2(y - p)


def test_threads_asking_for_the_same_new_kernel_build_it_once(monkeypatch):
    """Six threads, one new request: one build, one object; other requests are not held up."""
    import threading
    import time

    from symcalc.numeric.kernels import api

    builds = collections.Counter()
    real = api._build

    def slow_build(entry, *args):
        builds[sympy.srepr(entry.expr)] += 1
        time.sleep(0.2)  # the others arrive while this build runs
        return real(entry, *args)

    monkeypatch.setattr(api, "_build", slow_build)
    text = "x*tanh(x) + 17*x**3 - 5"  # asked nowhere else: not cached yet
    start = threading.Barrier(6)

    def ask(_):
        start.wait()
        return kernel(text, order=1)

    with ThreadPoolExecutor(max_workers=6) as pool:
        got = list(pool.map(ask, range(6)))
    assert sum(builds.values()) == 1
    assert all(k is got[0] for k in got)

    both = threading.Barrier(2, timeout=10)  # two different requests must build at once

    def meet(entry, *args):
        both.wait()
        return real(entry, *args)

    monkeypatch.setattr(api, "_build", meet)
    with ThreadPoolExecutor(max_workers=2) as pool:
        pair = list(pool.map(lambda t: kernel(t), ["x**5 + 11", "x**7 - 13"]))
    assert [float(k(1.0)) for k in pair] == [12.0, -12.0]
    assert not api._KERNELS.building


def test_a_failed_build_releases_its_key(monkeypatch):
    from symcalc.numeric.kernels import api

    with pytest.raises(SymcalcError):
        kernel("x + unknown_function(x)")
    assert not api._KERNELS.building


def test_the_caches_are_bounded(monkeypatch):
    """At most _CACHE_SIZE kernels (least recently used leave first) and CONSTANT_BUFFERS
    constant-filled chunks per thread."""
    from symcalc.numeric.kernels import api, runtime
    from symcalc.numeric.memo import BuiltOnce

    monkeypatch.setattr(api, "_KERNELS", BuiltOnce(3))
    first = kernel("x + 101")
    for c in range(102, 106):
        kernel(f"x + {c}")
        kernel("x + 101")  # used again: stays
    assert len(api._KERNELS) == 3
    assert kernel("x + 101") is first
    assert kernel("x + 102") is not None and len(api._KERNELS) == 3

    monkeypatch.setattr(runtime, "CONSTANT_BUFFERS", 4)
    x = np.linspace(-50, 50, 11)
    for c in range(10):
        np.testing.assert_array_equal(kernel(f"Max(x, {c + 0.5})")(x), np.maximum(x, c + 0.5))
    assert len(runtime._LOCAL.pool["constants"]) <= 4


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
    cases = (("gelu_tanh", 2), ("mish", 2), ("silu", 1), ("relu", 0), ("gelu", 1), ("erf(x)", 0))
    for name, order in cases:
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


def test_scratch_pool_is_reused_without_sharing_results(rng):
    """Scratch comes from a per-thread pool: results never alias it, threads never share it."""
    silu_d, softplus = kernel("silu", order=1), kernel("softplus")
    for n in (7, 3 * CHUNK + 11):
        x = rng.normal(0, 4, n)
        first = silu_d(x)
        kept = first.copy()
        softplus(x)
        silu_d(-x)
        np.testing.assert_array_equal(first, kept)
    inputs = [rng.normal(0, 4, 2 * CHUNK + 3) for _ in range(6)]
    expected = [silu_d(x) for x in inputs]
    with ThreadPoolExecutor(max_workers=3) as pool:
        got = list(pool.map(silu_d, inputs * 3))
    for i, values in enumerate(got):
        np.testing.assert_array_equal(values, expected[i % len(inputs)])


def test_sigmoid_of_both_signs_shares_one_exponential():
    """σ(x) and σ(-x) from one exp(x), kept finite where it overflows; NaN stays NaN."""
    k = kernel("x*sigmoid(-x) + sigmoid(x)")
    assert k.source.count("_exp_finite(") == 1 and "np.exp(" not in k.source
    x = np.array([-1e3, -745.0, -710.0, -30.0, -1.0, -0.0, 1.0, 30.0, 709.0, 710.0, 745.0, 1e3])
    f = sympy.lambdify([_x], k.expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
    with mpmath.workdps(50):
        expected = np.array([float(f(mpmath.mpf(float(v)))) for v in x])
    with np.errstate(all="raise"):
        got = k(x)
        with_nan = k(np.append(x, np.nan))
    np.testing.assert_allclose(got, expected, rtol=1e-12, atol=1e-300)
    assert np.isnan(with_nan[-1]) and np.array_equal(with_nan[:-1], got)


@pytest.mark.parametrize(
    "f",
    [
        "elu",
        "celu",
        "Piecewise((exp(x), x <= 0), (1, True))",
        "Piecewise((1, x > 0), (exp(x), True))",
    ],
)
def test_one_above_zero_and_exp_below_is_exp_of_min_in_two_passes(f):
    """elu′ = (1 if x > 0 else exp(x)) is exp(min(x, 0)): a minimum and an exp, no select
    (five passes: a comparison, an exp and a bit blend of four); mpmath at 50 digits."""
    k = kernel(f, order=1) if f in ("elu", "celu") else kernel(f)
    body = [line.strip().split("(")[0] for line in k.source.splitlines()[1:-1]]
    assert [op for op in body if op.startswith("np.")] == ["np.minimum", "np.exp"], k.source
    points = [-1e300, -800.0, -745.0, -700.0, -87.0, -30.0, -1.0, -1e-300, -0.0, 0.0, 2.0, 1e30]
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-6)):
        x = np.array([v for v in points if abs(v) <= float(np.finfo(dtype).max)], dtype)
        with mpmath.workdps(50):
            expected = [1.0 if v > 0 else float(mpmath.exp(mpmath.mpf(float(v)))) for v in x]
        with np.errstate(all="raise"):
            got = k(x)
            special = k(np.array([np.nan, np.inf, -np.inf], dtype))
        assert got.dtype == dtype
        np.testing.assert_allclose(got, np.array(expected, dtype), rtol=rtol, atol=0)
        np.testing.assert_array_equal(special, [np.nan, 1.0, 0.0])


def test_max_against_a_constant_reads_a_filled_buffer():
    """np.maximum against an array runs SIMD; against a scalar it takes a slow path."""
    k = kernel("relu")
    body = [line.strip() for line in k.source.splitlines()[2:-1]]
    assert body == ["np.maximum(a0, k0, out=out)"]
    x = np.array([-2.0, -0.0, 0.5, np.inf, np.nan], dtype=np.float32)
    got = k(x)
    assert got.dtype == np.float32
    np.testing.assert_array_equal(got, [0.0, 0.0, 0.5, np.inf, np.nan])
    np.testing.assert_array_equal(kernel("Min(x, 6)")(np.array([7.0, -1.0])), [6.0, -1.0])


# -- the compiler as data -----------------------------------------------------------------------


def _node_classes() -> list[type]:
    found, stack = [], [kernel_nodes.Node]
    while stack:
        cls = stack.pop()
        for sub in cls.__subclasses__():
            stack.append(sub)
            found.append(sub)
    return found


@pytest.mark.parametrize("cls", _node_classes(), ids=lambda c: c.__name__)
def test_every_node_class_says_how_each_backend_computes_it(cls):
    """A node kind is one class: NumPy and scalar code of its own, the JAX hook inherited."""
    if issubclass(cls, (kernel_nodes.Leaf, kernel_nodes.Guard)):
        return  # values the emitters place themselves: no operation of their own
    assert cls.numpy is not kernel_nodes.Node.numpy, f"{cls.__name__} has no NumPy code"
    assert cls.scalar is not kernel_nodes.Node.scalar, f"{cls.__name__} has no scalar code"
    assert cls.__doc__, f"{cls.__name__} has no docstring"


def test_array_code_is_the_scalar_code_except_where_python_syntax_is_scalar_only():
    """Array code (JAX, PyTorch, NumPy) goes through the printer; max, min, and, not differ."""
    from symcalc.numeric.kernels.printers import JaxPrinter

    p = JaxPrinter()
    assert kernel_nodes.Log1p(0).array(p, ["a"]) == "jnp.log1p(a)"
    assert kernel_nodes.Sigmoid(0).array(p, ["m"]) == "_sigmoid_neg(m)"
    assert kernel_nodes.Fold("np.maximum", (0, 1)).array(p, ["a", "b"]) == "jnp.maximum(a, b)"
    assert kernel_nodes.Clip(0, "0.0", "6.0").array(p, ["a"]) == "jnp.clip(a, 0.0, 6.0)"
    assert kernel_nodes.Logic("np.bitwise_and", (0, 1)).array(p, ["a", "b"]) == "(a & b)"
    assert kernel_nodes.Not(0).array(p, ["a"]) == "(~a)"
    assert kernel_nodes.Indicator(0, "1.0", "0.0").array(p, ["c"]) == "jnp.where(c, 1.0, 0.0)"


def test_builders_are_found_through_base_classes():
    """A subclass of a tabled SymPy class needs no entry of its own; unknown ones fail clearly."""

    class shifted_exp(sympy.exp):  # noqa: N801 - a SymPy function
        pass

    assert builder_for(shifted_exp) is BUILDERS[sympy.exp]
    assert builder_for(sympy.Function("g")) is None
    with pytest.raises(SymcalcError, match="cannot make a NumPy kernel for the function 'g'"):
        Graph([_x]).build(sympy.Function("g")(_x))


def test_equal_subexpressions_are_one_node():
    graph = Graph([_x])
    root = graph.build(sympy.exp(_x) * sympy.sin(sympy.exp(_x)) + sympy.exp(_x))
    exps = [node for node in graph.nodes if getattr(node, "ufunc", None) == "np.exp"]
    assert len(exps) == 1 and root == len(graph.nodes) - 1


def test_scalar_code_comes_from_sympy_s_python_printer():
    from sympy.printing.pycode import PythonCodePrinter

    printer = ScalarPrinter()
    assert isinstance(printer, PythonCodePrinter)
    assert printer.call("erfc", "v1") == "math.erfc(v1)"
    assert printer.doprint(_x + sympy.Rational(1, 3)) == "x + 0.3333333333333333"


def test_scalar_code_evaluates_only_the_branch_taken():
    """selu': exp(x) appears only inside the conditional expression, never assigned
    (elu′ itself is exp(min(x, 0)), no branch)."""
    source = scalar_source(kernel("selu", order=1).lowered, [_x])
    assert "math.exp(a0)" in source
    exp_line = next(line for line in source.splitlines() if "math.exp" in line)
    assert " if " in exp_line and " else " in exp_line


def test_value_ranges_decide_which_kernels_check_their_output():
    """relu, σ', silu' cannot give inf from finite inputs (no check, no cost); exp can;
    elu's exp(x) is only used where x <= 0, so elu cannot either."""
    assert not kernel("relu").checks_output
    assert not kernel("sigmoid", order=1).checks_output
    assert not kernel("silu", order=1).checks_output
    assert not kernel("elu").checks_output
    assert kernel("exp(x)").checks_output


def test_float32_results_are_checked_where_an_intermediate_overflows_float32_only():
    """x²·exp(x²)·expm1(x²) in log(x² + exp(-x²))'' overflows float32 from |x| ≈ 6.7 while
    the result is -0.04: float32 checks its output (and gets the value again in extended
    range).  The range analysis asks it for float32's bounds apart: silu' needs the check
    in float32 alone; relu needs neither."""
    k = kernel("log(x**2 + exp(-x**2))", order=2)
    assert k.checks_float32
    silu = kernel("silu", order=1)
    assert not silu.checks_output and silu.checks_float32
    assert not kernel("relu").checks_float32 and not kernel("sigmoid", order=2).checks_float32
    points = np.array([7.0, -7.5, 8.0], dtype=np.float32)
    with np.errstate(all="raise", under="ignore"):
        got = k(points)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, k(points.astype(np.float64)), rtol=1e-6)


def test_an_overflowing_result_warns_like_numpy_and_respects_errstate():
    k = kernel("exp(x)")
    with pytest.warns(RuntimeWarning, match="overflow"):
        assert np.isinf(k(np.array([1.0, 1000.0]))[1])
    with np.errstate(over="ignore"):
        assert np.isinf(k(1000.0))
    with np.errstate(invalid="raise"), pytest.raises(FloatingPointError, match="invalid"):
        kernel("log(x)")(-1.0)
    with np.errstate(all="raise"):  # an overflow on the way to a finite result is not one
        assert kernel("exp(-x**2)")(1e200) == 0.0


def test_an_intermediate_overflow_is_recomputed_in_extended_range():
    """x²/(√(x² + 1) + 1) overflows in x² from |x| = 1.3e154; the value (≈ |x| - 1) does not."""
    k = kernel("sqrt(x**2 + 1) - 1")
    x = np.array([1e200, -3e300, 2.0, 1e-8])
    with np.errstate(all="raise"):
        got = k(x)
    np.testing.assert_allclose(got, [1e200, 3e300, np.sqrt(5.0) - 1, 5e-17], rtol=1e-15)


def test_what_overflows_long_double_too_is_computed_by_mpmath():
    """((exp(x) - 1)/x)' = (x·eˣ - eˣ + 1)/x² was NaN for +inf from x = 11357 (long double's
    e^x overflows too: inf - inf) and in float32 from 4.4e4; sinh(x)/x'' was -inf for
    +inf from x = -6e296.  Long double still serves where it reaches (x = 710: 3.14e305),
    and a NaN from the domain stays NaN."""
    first = kernel("(exp(x) - 1)/x", order=1)
    x = np.array([710.0, 2e4, 1e10, 1.7976931348623157e308, -1e308])
    with np.errstate(over="ignore"):
        got = first(x)
    truth = float((mpmath.exp(710) * 709 + 1) / mpmath.mpf(710) ** 2)
    assert got[0] == pytest.approx(truth, rel=1e-14)
    assert got[1:4].tolist() == [math.inf] * 3 and got[4] == 0.0  # 1/x² = 1e-616
    with np.errstate(over="ignore"):
        got32 = first(np.array([89.0, 4.4e4, 3e38], dtype=np.float32))
    assert got32.dtype == np.float32 and got32[1:].tolist() == [math.inf] * 2
    assert got32[0] == pytest.approx(float(mpmath.exp(89) * 88 / 89**2), rel=1e-5)
    second = kernel("sinh(x)/x", order=2)
    with np.errstate(over="ignore"):
        assert second(np.array([-6e296, -1e300, 6e296])).tolist() == [math.inf] * 3
    with pytest.warns(RuntimeWarning, match="overflow"):
        first(2e4)
    with np.errstate(invalid="ignore"):
        assert np.isnan(kernel("log(x) + exp(x)")(np.array([-1.0, -2e4]))).all()


@pytest.mark.parametrize(
    "f",
    [
        "asinh(exp(x))",
        "log(cosh(x) + x)",
        "asinh(x - 2 + cosh(x + 1))",
        "log(1 + cosh(x)**2) - sin(x)",  # sin(1e300) too: mpmath reduces it (was not asked)
    ],
)
def test_a_logarithm_of_what_overflows_long_double_is_computed_by_mpmath(f):
    """asinh(x - 2 + cosh(x + 1)) was inf for 1e8 + 0.7 from x = 11357 (its argument
    overflows long double too; an inf result stood).  A log-like function of a growing
    one now sends its inf results to mpmath, with no warning; float32 too.  A periodic
    function of x beyond 2^50 kept mpmath away (log(1 + cosh(x)²) - sin(x) was inf for
    2e16 at x = 1e16)."""
    x = np.array([1.2e4, 1e8, 1e300, 8e307, -8e307])  # the values stay below the largest float
    x32 = np.array([1.2e4, 1e8, 1.5e38], dtype=np.float32)
    with np.errstate(all="raise"):
        got, got32 = kernel(f)(x), kernel(f)(x32)
    truth_at = sympy.lambdify(symbol("x"), parse(f), "mpmath")
    with mpmath.workdps(40):
        truth = [float(truth_at(mpmath.mpf(t))) for t in x.tolist()]
        truth32 = [float(truth_at(mpmath.mpf(t))) for t in x32.tolist()]
    np.testing.assert_allclose(got, truth, rtol=1e-14)
    assert got32.dtype == np.float32
    np.testing.assert_allclose(got32, np.float32(truth32), rtol=1e-6)


@pytest.mark.parametrize(
    ("f", "order"),
    [("3*x/(1 + ((x/3)/(1 + (x + 1)**2))**2)", 1), ("exp(-(abs(x)/(1 + (1 - x)**2))**2)", 2)],
)
def test_a_rational_part_is_not_multiplied_out_where_that_cancels_in_float32(f, order):
    """A rational function was written multiplied out unless that lost 3 digits somewhere:
    -3x⁸ + 12x⁷ - ... - 16 cancels 230-fold at x = 1.24, 230 float32 ulps, and
    (3x/(1 + ((x/3)/(1 + (x + 1)²))²))′ was 2.4e-5 off at x = -1.39 in float32."""
    points = np.linspace(-2.4, 1.8, 43, dtype=np.float32)
    expr = derivative(f, order=order)
    truth_at = sympy.lambdify(symbol("x"), expr, "mpmath")
    got = kernel(expr)(points)
    with mpmath.workdps(40):
        truth = np.array([float(truth_at(mpmath.mpf(float(t)))) for t in points])
    away = np.abs(truth) > 0.1  # (the promise's exception next to a zero crossing)
    np.testing.assert_allclose(got[away], truth[away], rtol=1e-5)


def test_the_range_of_a_square_far_from_zero_does_not_raise():
    """The range analysis squared a range bounded away from 0 with ``** 2``, which raises
    OverflowError past 1e154: kernel(sqrt(1 + (tanh(x) - cosh(x))**2), order=2) was a
    traceback."""
    from symcalc.numeric.kernels import ranges

    assert ranges.square(ranges.Range(1e200, 1e300)).lo == math.inf
    expr = derivative("sqrt(1 + (tanh(x) - cosh(x))**2)", order=2)
    x = np.array([-700.0, -3.0, 0.5, 2.0, 30.0, 700.0])
    got = kernel(expr)(x)
    truth_at = sympy.lambdify(symbol("x"), expr, "mpmath")
    with mpmath.workdps(60):
        np.testing.assert_allclose(got, [float(truth_at(mpmath.mpf(t))) for t in x], rtol=1e-12)


@pytest.mark.parametrize("order", [0, 1])
def test_an_overflow_a_bounded_function_absorbs_does_not_reach_the_value(order):
    """atan(log(1 + x²)) was π/2 for 1.5694 at x = 1e156 (x² overflows, log1p(inf) = inf,
    atan(inf) = π/2: a finite result, so no retry), and its derivative 0 for 3.9e-162;
    log1p of a power is now 2·log|x| where the power is large."""
    expr = derivative("atan(log(1 + x**2))", order=order) if order else parse("atan(log(1 + x**2))")
    x = np.array([1e156, -1e200, 1.7976931348623157e308, 1e10, 3.0])
    with np.errstate(all="raise", under="ignore"):
        got = kernel(expr)(x)
    truth_at = sympy.lambdify(symbol("x"), expr, "mpmath")
    with mpmath.workdps(60):
        truth = [float(truth_at(mpmath.mpf(t))) for t in x]
    np.testing.assert_allclose(got, truth, rtol=1e-13)


def test_a_constant_beside_one_exponential_and_a_factor_inside_a_root_do_not_overflow():
    """log(exp(x) + 2) (softplus(softplus(x)) as SymPy writes it) was inf for 1e8 from
    x = 11357, where even long double's exp overflows: it is logsumexp(log 2, x) now.
    4x/√(4x² + 1) was 0 for 2 from x = 2^1023, where 2x overflows inside hypot(2x, 1) and
    x/inf is 0: it is 2x/hypot(x, 1/2) now."""
    x = np.array([1e8, 1e300, -1e308, 30.0, -3.0])
    with np.errstate(all="raise"):
        got = kernel("log(1 + exp(log(1 + exp(x))))")(x)
    truth = [float(mpmath.log(mpmath.exp(mpmath.mpf(t)) + 2)) for t in x.tolist()]
    np.testing.assert_allclose(got, truth, rtol=1e-15)
    top = np.array([2.0**1023, 1.7976931348623157e308, -1e308, 1e8, 0.25])
    with np.errstate(all="raise"):
        got = kernel("sqrt(1 + abs(2*x)**2)", order=1)(top)
    truth = [
        float(4 * mpmath.mpf(t) / mpmath.sqrt(4 * mpmath.mpf(t) ** 2 + 1)) for t in top.tolist()
    ]
    np.testing.assert_allclose(got, truth, rtol=1e-15)


def test_a_third_power_is_the_principal_root_as_sympy_and_mpmath_read_it():
    """x**(1/3) at -8 was -2 (np.cbrt, the real root) while its derivative was NaN and
    SymPy, mpmath and the symbolic layer say it has no real value there; |x|**(4/3) was
    np.power(|x|, 4/3 rounded), 3.6e-14 off at 2^700; x**(1/3) 1.3e-14 at 1e300."""
    with np.errstate(invalid="ignore"):
        got = kernel("x**(1/3)")(np.array([-8.0, 8.0, 1e300]))
    assert np.isnan(got[0]) and got[1] == 2.0 and got[2] == pytest.approx(1e100, rel=3e-16)
    assert complex(mpmath.cbrt(-8)).imag != 0  # the principal root, as mpmath gives it
    x = np.array([2.0**700, 3e210, 3.0, 1e-300])
    with np.errstate(all="raise"):
        got = kernel("abs(x)**(4/3)")(x)
    with mpmath.workdps(40):
        truth = [float(mpmath.mpf(t) ** (mpmath.mpf(4) / 3)) for t in x.tolist()]
    np.testing.assert_allclose(got, truth, rtol=4e-16)


def test_a_buffer_shared_by_a_branch_and_its_value_lives_while_either_is_used():
    """sqrt(1 + (erf(x + 1) - exp(2x))²)'' has erf(x + 1) - exp(2x) both as the default of
    a far branch and as an operand after it: the branch's last use freed the buffer the
    value still held, and the kernel gave 0.88 for 3.17 at x = 0."""
    from symcalc import derivative

    expr = derivative("sqrt(1 + (erf(x + 1) - exp(2*x))**2)", order=2)
    x = sorted(expr.free_symbols, key=str)[0]
    f = sympy.lambdify(x, expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
    points = [0.0, 0.1, 1.0, -0.5, 3.0]
    with mpmath.workdps(30):
        truth = [float(f(mpmath.mpf(t))) for t in points]
    np.testing.assert_allclose(kernel(expr)(np.array(points)), truth, rtol=1e-12)


def test_a_decaying_factor_meeting_an_overflowed_one_is_computed_again():
    """x³·σ(-u) with u ~ x³ in gelu_tanh': inf·0 is NaN in float64, and the extended-range
    pass finds the 0 (long double holds x³ and σ(-u) rounds to 0 there), with no warning;
    at an infinite input the product is its decaying factor's 0, the limit."""
    k = kernel("gelu_tanh", order=1)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(k(np.array([-1e300, 1e300])), [0.0, 1.0])
        assert k(np.array([-np.inf]))[0] == 0.0


@pytest.mark.parametrize(
    ("text", "order", "wrt", "points"),
    [
        # exp(x²)·erf(x) in a sum times exp(-x²): both round (to inf and 0) from x = 26.7,
        # and the decay was taken to win: 0 for 2e-23 at x = 1e4
        ("erf(x)/(1 + x**4)", 2, None, [30.0, 200.0, 1e4, -1e4, 5e5]),
        # a denominator that overflowed: 2u/(u² + 1) was 0 for 2e-200 at u = x - y = 1e200
        ("log(1 + (x - y)**2)", 1, "x", [(1e200, 0.0), (1e160, 1.0), (-1e300, 2.0)]),
        # a ratio of sums of powers of exp(x/3) times σ(-x/3): 0 (the decay won) for
        # 7.5e-9 at x = 1e4, and inf in long double: an inf there now goes to mpmath;
        # from x = 1e44 mpmath's terms cancel to exactly 0 at 20 and at 40 digits, which
        # counted as two precisions agreeing (0 for 7.5e-89)
        ("softsign(softsign(silu(x/3)))", 1, None, [1e4, 1e8, 1e44, 1e88, 1e120]),
    ],
)
def test_a_product_or_quotient_that_overflowed_on_the_way_is_not_taken_as_0(
    text, order, wrt, points
):
    from symcalc import derivative

    expr = derivative(text, order=order, wrt=wrt)
    variables = sorted(expr.free_symbols, key=str)
    f = sympy.lambdify(variables, expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
    columns = np.array(points, dtype=float).reshape(len(points), -1).T
    got = kernel(expr)(*columns)
    with mpmath.workdps(400):  # the softsign terms cancel to 1e-177 relative at 1e88
        truth = [float(f(*(mpmath.mpf(float(c)) for c in row))) for row in columns.T]
    assert all(t != 0 for t in truth)
    np.testing.assert_allclose(got, truth, rtol=1e-12)


def test_an_exact_0_from_mpmath_counts_only_where_every_precision_gives_it():
    from symcalc.numeric.kernels.extended import ExactElements

    x = symbol("x")
    # e^x·max(0, -x) is 0 for x > 0: 0 at each precision, so 0 (inf·0 in long double)
    zero = sympy.exp(x) * sympy.Max(0, -x)
    exact = ExactElements(zero, (x,), zero)
    assert exact.values([np.array([12000.0])], np.dtype(np.float64)).tolist() == [0.0]
    # σ(u)·((x + 1) - x) with u = x/1e46 is σ(u): at x = 2e50 the 1 is absorbed at 20
    # and at 40 digits, where (x + 1) - x is exactly 0 (e^u overflows long double)
    u = x / 10**46
    absorbed = sympy.exp(u) / (sympy.exp(u) + 1) * sympy.Add(x + 1, -x, evaluate=False)
    exact = ExactElements(absorbed, (x,), absorbed)
    assert exact.values([np.array([2e50])], np.dtype(np.float64)).tolist() == [1.0]


def test_a_label_at_0_or_1_switches_its_term_off_in_user_expressions_too():
    from symcalc.numeric.weights import zero_weights

    p, y = symbol("p"), symbol("y")
    written = -y * sympy.log(p) - (1 - y) * sympy.log(1 - p)
    assert zero_weights(written, {p: sympy.Interval(0, 1)}) == [(y, 0), (y, 1)]
    assert zero_weights(sympy.log(1 + sympy.exp(-p)) * y, {}) == []  # never singular
    k = kernel(written, order=1)
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(k(np.array([1.0, 0.0]), np.array([1.0, 0.0])), [-1.0, 1.0])
    assert "zero_weight" in k.rewrites


def test_kernels_for_two_dtypes_share_one_build():
    base = kernel("silu", order=2)
    narrow = kernel("silu", order=2, dtype="float32")
    assert narrow.function is base.function and narrow.dtype == np.float32
    assert narrow is kernel("silu", order=2, dtype=np.float32)


def test_hypot_is_exact_at_both_ends_of_the_range():
    k = kernel("sqrt(x**2 + y**2)")
    assert "_hypot(" in k.source
    x, y = np.array([3e200, 3e-200, 3.0, 0.0]), np.array([4e200, 4e-200, 4.0, 0.0])
    with np.errstate(all="raise"):
        np.testing.assert_allclose(k(x, y), [5e200, 5e-200, 5.0, 0.0], rtol=1e-15)


# -- erf and erfc from NumPy passes -----------------------------------------------------------

#: The bounds erf_array/erfc_array state: (largest |z|, relative error) for float64.
ERFC_BOUNDS = ((4.0, 3e-15), (8.0, 6e-15), (30.0, 1e-13))
ERF_BOUND = 5e-16
FLOAT32_BOUND = 6e-8


def erf_points() -> np.ndarray:
    """A dense grid to |z| = 30, both switch points (1, 8) and their neighbours, subnormals.

    erfc underflows below 1e-300 from z = 26.3 on (to 0 from 27.23): those points are
    checked against 1e-300 absolute.
    """
    switches = [1.0, 8.0]
    near = [float(np.nextafter(s, t)) for s in switches for t in (0.0, math.inf)]
    tiny = np.logspace(-323, -1, 120)
    points = np.concatenate(
        [np.linspace(0, 30, 3001), tiny, switches, near, [5e-324, 1e-310, 26.5, 27.0, 29.9]]
    )
    return np.unique(np.concatenate([points, -points]))


def _relative_errors(got: np.ndarray, truth, points: np.ndarray, floor: float):
    """Relative errors where |truth| >= floor; absolute errors below it (two arrays)."""
    with mpmath.workdps(50):
        exact = [truth(mpmath.mpf(float(z))) for z in points]
    rel, small = [], []
    for g, t in zip(got.astype(np.float64).tolist(), exact, strict=True):
        if abs(t) >= floor:
            rel.append(float(abs(g - t) / abs(t)))
        else:
            small.append(float(abs(g - t)))
    return np.array(rel), np.array(small)


def test_erf_array_is_within_its_stated_bound_of_mpmath():
    z = erf_points()
    rel, small = _relative_errors(erf_array(z), mpmath.erf, z, 1e-300)
    assert rel.max() <= ERF_BOUND, rel.max()
    assert small.size and small.max() <= 1e-300  # subnormal z: erf(z) = 2z/√π, subnormal too
    z32 = z[np.abs(z) < 10].astype(np.float32)
    rel32, small32 = _relative_errors(erf_array(z32), mpmath.erf, z32, 1e-36)
    assert erf_array(z32).dtype == np.float32
    assert rel32.max() <= FLOAT32_BOUND and small32.max() <= 1e-36


@pytest.mark.parametrize(("limit", "bound"), ERFC_BOUNDS)
def test_erfc_array_is_within_its_stated_bounds_of_mpmath(limit, bound):
    z = erf_points()
    z = z[np.abs(z) <= limit]
    rel, small = _relative_errors(erfc_array(z), mpmath.erfc, z, 1e-300)
    assert rel.max() <= bound, rel.max()
    assert not small.size or small.max() <= 1e-300  # erfc(z) < 1e-300 from z = 26.3 on
    if limit == 8.0:  # float32: within one final rounding
        z32 = z.astype(np.float32)
        rel32, small32 = _relative_errors(erfc_array(z32), mpmath.erfc, z32, 1e-36)
        assert rel32.max() <= FLOAT32_BOUND
        assert not small32.size or small32.max() <= 1e-36


def test_erfc_array_handles_special_values():
    special = np.array([np.inf, -np.inf, np.nan, 0.0, -0.0, 1e300, -1e300])
    with np.errstate(all="raise"):
        np.testing.assert_array_equal(erfc_array(special), [0, 2, np.nan, 1, 1, 0, 2])
        got = erf_array(special)
    np.testing.assert_array_equal(got, [1, -1, np.nan, 0, 0, 1, -1])
    assert np.signbit(got[4]) and not np.signbit(got[3])


def test_erf_arrays_over_chunks_shapes_and_in_place(rng):
    """Every chunk has a few |z| >= 8 elements (the gathered tail); results do not depend
    on how the array is cut, its shape, or whether it is written in place."""
    n = 2 * CHUNK + 5
    z = rng.normal(0, 3, n)
    z[::997] = rng.uniform(8, 40, z[::997].size) * rng.choice([-1, 1], z[::997].size)
    whole = erfc_array(z)
    pieces = np.concatenate([erfc_array(z[i : i + 1000]) for i in range(0, n, 1000)])
    np.testing.assert_array_equal(whole, pieces)
    sample = rng.choice(n, 300, replace=False)
    rel, _ = _relative_errors(whole[sample], mpmath.erfc, z[sample], 1e-300)
    assert rel.max() <= 1e-13
    grid = z[: 2 * CHUNK].reshape(-1, 4)
    np.testing.assert_array_equal(erf_array(grid), erf_array(z[: 2 * CHUNK]).reshape(-1, 4))
    copy = z.copy()
    assert erfc_array(copy, out=copy) is copy
    np.testing.assert_array_equal(copy, whole)
    strided = np.empty((n, 2))[:, 0]
    erf_array(z, out=strided)
    np.testing.assert_array_equal(strided, erf_array(z))


def test_gelu_kernels_use_the_numpy_erf():
    for order in (0, 1):
        source = kernel("gelu", order=order).source
        assert "erfc_array(" in source and "_sp." not in source
    assert "erf_array(a0, out=out)" in kernel("erf(x)").source


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


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_shared_exponential_sigmoid_is_exactly_one_where_it_rounds_to_one(dtype):
    """σ(z) - y for y = 0 at large z: E/(1 + E) must round to exactly 1, as σ(z) does.

    Regression: E·(1/(1 + E)) came out one ulp below 1, and sums of such residuals
    (the intercept's gradient in logistic regression) lost their exact cancellation.
    """
    z = np.array([40.0, 90.0, 400.0, 709.0, 710.0, 900.5, 1e4], dtype=dtype)
    residual = kernel("bce_with_logits", order=1)(z, dtype(0.0))
    assert residual.dtype == dtype
    assert np.all(residual == 1.0), residual
    both = kernel("bce_with_logits", order=1)(np.concatenate([z, -z]), dtype(1.0))
    assert np.all(both[: z.size] == 0.0) or np.all(np.abs(both[: z.size]) < 1e-17)
    assert np.all(both[z.size :] == -1.0)


@pytest.mark.parametrize("backend", ["numpy", "numba"] if HAS_NUMBA else ["numpy"])
def test_symbol_names_never_reach_generated_source(backend, tmp_path):
    """A SymPy symbol may be named anything; kernels must not paste names into code."""
    marker = tmp_path / "ran"
    name = f"x=open({str(marker)!r}, 'w').close()"
    hostile = sympy.Symbol(name)
    k = kernel(hostile**2 + sympy.exp(hostile), backend=backend)
    np.testing.assert_allclose(k(np.array([1.0, 2.0])), [1 + np.e, 4 + np.exp(2.0)], rtol=1e-15)
    assert not marker.exists()
    assert name not in k.source


@pytest.mark.parametrize(
    ("text", "order", "points", "expected"),
    [
        # the range of sinh over (-inf, ...) once overflowed while the kernel was built
        ("cosh(2*x/cos(2))", 1, [-1.0, 0.5], "2/cos(2)*sinh(2*x/cos(2))"),
        ("sinh(x)**2", 0, [-3.0, 2.0], "sinh(x)**2"),
        # |sqrt(x)| once made a complex derivative (atan2) and a crash in the rewrites
        (
            "tanh(x**2)*Abs(sqrt(x))",
            1,
            [0.5, 2.0, 1e-10],
            "2*x*(1 - tanh(x**2)**2)*sqrt(x) + tanh(x**2)/(2*sqrt(x))",
        ),
        # mpmath's hypot of a complex (asec(x) for |x| < 1) crashed the cancellation probe
        (
            "asinh(7*asec(x)/4)",
            1,
            [-3.0, 1.5, 1e300],
            "7/(4*x**2*sqrt(1 - 1/x**2)*sqrt(49*asec(x)**2/16 + 1))",
        ),
        # a constant the rewrites turned into internal nodes could not be evaluated
        ("x*tanh(1)/cosh(1)", 1, [2.0], "tanh(1)/cosh(1) + 0*x"),
        ("exp(acot(x))*tanh(1)/cosh(1)", 0, [2.0, -3.0], "exp(acot(x))*tanh(1)/cosh(1)"),
        # the sigmoid form once nested σ(x)/σ(-x) deeper at every pass: a build that hung
        (
            "sqrt(sqrt(x) + 1/(1 + exp(-x)))",
            1,
            [0.5, 2.0, 1e-8, 100.0, 1e300],
            "(2*exp(-x)/(1 + exp(-x))**2 + 1/sqrt(x))/(4*sqrt(sqrt(x) + 1/(1 + exp(-x))))",
        ),
    ],
)
def test_kernels_of_expressions_that_once_failed_to_build(text, order, points, expected):
    values = kernel(text, order=order)(np.array(points))
    truth = sympy.lambdify(symbol("x"), parse(expected), "mpmath")
    with mpmath.workdps(40):
        for got, t in zip(values, points, strict=True):
            assert got == pytest.approx(float(truth(mpmath.mpf(t))), rel=1e-12)


@pytest.mark.parametrize(
    ("text", "points"),
    [
        ("acot(x)", [-1e300, -3.0, -1e-300, 1e-300, 0.5, 1e300]),
        ("asec(x)", [-1e300, -2.0, -1.0, 1.0, 1.5, 1e300]),
        ("acsc(x)", [-1e300, -2.0, -1.0, 1.0, 1.5, 1e300]),
        ("acoth(x)", [-1e300, -1.5, 1.001, 3.0, 1e300]),
        ("asech(x)", [1e-300, 1e-8, 0.3, 0.99, 1.0]),
        ("acsch(x)", [-1e300, -2.0, -1e-300, 1e-300, 0.5, 1e300]),
    ],
)
def test_inverse_reciprocal_functions_meet_the_promise(text, points):
    """acot, asec, acsc, acoth, asech and acsch, written atan(1/u), acos(1/u), ...: values and
    first derivatives within 1e-12 relative of SymPy's evalf at 50 digits over their domains
    (1e-300 absolute where the truth underflows); where the derivative is infinite
    (asec′(±1)) it is inf.  (lambdify would write acsch as a log that cancels.)"""
    x = symbol("x")
    for order in (0, 1):
        expr = parse(text) if order == 0 else sympy.diff(parse(text), x)
        with np.errstate(all="ignore"):
            got = kernel(text, order=order)(np.array(points))
        for g, t in zip(got, points, strict=True):
            want = complex(expr.subs(x, sympy.Float(t, 60)).evalf(50))
            if not math.isfinite(want.real):
                assert math.isinf(g), (text, order, t, g)
                continue
            assert abs(g - want.real) <= 1e-12 * abs(want.real) + 1e-300, (text, order, t)


def test_the_long_double_retry_of_an_inverse_reciprocal_stays_real():
    """Outside its domain asec(u) has no real value: NaN with NumPy's invalid warning, and
    no ComplexWarning from the long double retry (SymPy's NumPy printer writes acot with
    complex numbers; the retry uses atan(1/u) as the kernel does)."""
    k = kernel("asec(-acot(x) + erf(1/7))")
    with np.errstate(invalid="ignore"):
        values = k(np.array([-3.0, -0.5, 3.0]))
    assert np.isnan(values[0]) and np.isnan(values[2])
    assert values[1] == pytest.approx(math.acos(1 / (math.atan(2.0) + math.erf(1 / 7))), rel=1e-13)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("text", ["1/log(x**2)", "(cos(x) - x**3)/log(x**2)", "log(2*x**2)"])
def test_a_log_of_a_power_does_not_go_through_the_power(text, dtype):
    """x² underflows at x = 1e-300 (1e-40 in float32) where log(x²) is an ordinary number:
    1/log(x**2) came out -0.0 there instead of -7.24e-4 (log(x**2) alone was saved by
    the retry of non-finite results).  log(c·x**n) is now log c + n·log|x|.  The truth:
    mpmath at 50 digits."""
    tiny = 1e-300 if dtype == np.float64 else 1e-40
    points = np.array([tiny, -tiny, 1e-20, -0.5, 3.0, 1e10], dtype=dtype)
    got = kernel(text, dtype=dtype)(points)
    f = sympy.lambdify(sympy.Symbol("x"), sympy.sympify(text), "mpmath")
    with mpmath.workdps(50):
        truth = [float(f(mpmath.mpf(float(p)))) for p in points]
    tolerance = 1e-12 if dtype == np.float64 else 1e-5
    assert np.allclose(got.astype(float), truth, rtol=tolerance, atol=0), (got, truth)


@pytest.mark.parametrize(
    "text",
    # |w|' = sign(w)·w', and w rounded to 0 next to its zero: cos x - 1 from |x| = 1e-8
    # (truth sin x), x²/2 in log(cosh x) below 1e-154, x² in exp(x²) - 1 likewise
    ["abs(1 - cos(x))", "abs(log(cosh(x)))", "abs(exp(x**2) - 1)", "abs(log(cosh(2*x)))"],
)
def test_the_sign_of_a_part_that_rounds_to_0_next_to_its_zero_is_kept(text):
    from symcalc import derivative

    points = np.array([1e-300, -1e-200, 1e-160, 3e-9, -1e-5, 0.5, -2.0])
    for order in (1, 2):
        expr = derivative(text, order=order)
        (x,) = expr.free_symbols
        f = sympy.lambdify(x, expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
        with mpmath.workdps(700):  # cos(1e-300) - 1 is -5e-601
            truth = [float(f(mpmath.mpf(float(p)))) for p in points]
        assert all(t != 0 for t in truth)
        np.testing.assert_allclose(kernel(text, order=order)(points), truth, rtol=1e-12)
        narrow = kernel(text, order=order, dtype="float32")(points[3:].astype(np.float32))
        np.testing.assert_allclose(narrow, truth[3:], rtol=1e-5)


def test_a_formula_inside_a_piecewise_gets_its_branches():
    # the derivative of softsign(x·(1 - x)) comes as Piecewise((value at the kinks,
    # Eq(x² - x, 0)), (one fraction, True)); the fraction was never examined, and its
    # numerator 3x⁴ - 6x³ + 4x² - x - |x(x - 1)| cancels to 3x² left of 0: the second
    # derivative at x = -1e-100 was 1.2e-199 for 6e-100, and 0 at -1e-300
    from symcalc import derivative

    text = "softsign(x*(1 - x))"
    points = np.array([-1e-300, -1e-100, -1e-20, -1e-8, -1e-3, 1e-300, 1e-8, 1 - 1e-9, 1 + 1e-9])
    expr = derivative(text, order=2)
    (x,) = expr.free_symbols
    f = sympy.lambdify(x, expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
    with mpmath.workdps(700):
        truth = [float(f(mpmath.mpf(float(p)))) for p in points]
        narrow = points[np.abs(points) > 1e-38].astype(np.float32)  # normal numbers
        truth32 = [float(f(mpmath.mpf(float(p)))) for p in narrow]  # 1 ± 1e-9 is 1 there
    np.testing.assert_allclose(kernel(text, order=2)(points), truth, rtol=1e-12)
    got = kernel(text, order=2, dtype="float32")(narrow)
    np.testing.assert_allclose(got, truth32, rtol=1e-5)


def test_a_removable_point_in_a_piecewise_holds_down_to_the_subnormals():
    # softsign(softsign(silu(x/3)))' comes as Piecewise((1/6, Eq(x, 0)), (N/(...·|x|), True)):
    # N and |x| lose their digits in the subnormals, and the value there was 0.143 at
    # 9.8e-45 in float32 and 0 at 5e-324 in float64, for 1/6
    text = "softsign(softsign(silu(x/3)))"
    wide = np.array([5e-324, -5e-324, 1e-320, -1e-310, 2e-308])
    narrow = np.array([1.4e-45, 9.8e-45, -3e-42, 1e-39], dtype=np.float32)
    np.testing.assert_allclose(kernel(text, order=1)(wide), 1 / 6, rtol=1e-12)
    np.testing.assert_allclose(kernel(text, order=1, dtype="float32")(narrow), 1 / 6, rtol=1e-5)


def test_a_sum_whose_parts_hold_but_whose_terms_cancel_is_nan_not_a_wrong_number():
    # 3x·exp((1 - x)²)·erfc(1 - x)'' has terms of about x² that cancel to about 1/x³ as x
    # goes to -∞; each part got its own branch in 1/x, no form of the sum holds, and the
    # kernel gave 5118 at x = -27 for 1.6e-4 and 6.8e20 at -1e10 for 3.4e-30.  The mpmath
    # pass agreed with it: SymPy writes erfc(1 - x) as 2 - erfc(x - 1), which is 2 at
    # every precision tried.  Now each element is right or NaN.
    text = "3*x*exp((1 - x)**2)*erfc(1 - x)"
    points = np.array([2.0, 0.5, -1.0, -3.0, -5.0, -8.0, -27.0, -100.0, -1e4, -1e10, -1e300])
    with np.errstate(invalid="ignore"):  # NaN results raise NumPy's invalid condition
        got = kernel(text, order=2)(points)

    def f(t):
        return 3 * t * mpmath.exp((1 - t) ** 2) * mpmath.erfc(1 - t)

    with mpmath.workdps(60):
        truth = np.array([float(mpmath.diff(f, mpmath.mpf(p), 2)) for p in points[:-1]])
    assert np.isfinite(got[:3]).all()  # near the middle: a number
    finite = np.isfinite(got[:-1])
    np.testing.assert_allclose(got[:-1][finite], truth[finite], rtol=1e-12)
    assert not np.isfinite(got[-1]) or abs(got[-1]) < 1e-300


def test_the_mpmath_pass_needs_the_formula_and_its_rewritten_form_to_agree():
    from symcalc.numeric.kernels.extended import ExactElements
    from symcalc.numeric.rewrites import erfc  # SymPy's own erfc(-x) is 2 - erfc(x)

    x = sympy.Symbol("x", real=True)
    # 2 - erfc(x) is erfc(-x): at x = -1e4 the left side is 0 at every precision mpmath is
    # asked for, the right side is erfc(1e4), about 1e-43429450
    written, rewritten = (2 - sympy.erfc(x)) * sympy.exp(x**2), erfc(-x) * sympy.exp(x**2)
    exact = ExactElements(written, (x,), written, rewritten)
    assert exact._value([-1e4]) is None
    alone = ExactElements(rewritten, (x,), rewritten)
    with mpmath.workdps(40):
        truth = mpmath.erfc(mpmath.mpf(1e4)) * mpmath.exp(mpmath.mpf(1e4) ** 2)
    assert alone._value([-1e4]) == pytest.approx(float(truth), rel=1e-15)


def test_terms_that_share_a_factor_and_cancel_exactly_are_combined():
    from symcalc import derivative

    # (√(1 + u²))'' has u'² - u'²·u²/(u² + 1) = u'²/(u² + 1): for u = asinh(x) - x two terms
    # of about 1 cancelled to 1/x², and at x = 1e8 the value was 1.0000000111e-16 for
    # 1.0000000100e-16 (9 digits lost)
    text = "sqrt(1 + (asinh(x) - x)**2)"
    points = np.array([1e5, 1e6, -1e7, 1e8, 1e9, -1e12, 1e20, 1e100, -1e300, 0.5, -3.0])
    for order in (1, 2):
        expr = derivative(text, order=order)
        (x,) = expr.free_symbols
        f = sympy.lambdify(x, expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
        with mpmath.workdps(1300):  # x² - x·asinh(x) at 1e300 keeps 600 digits
            truth = [float(f(mpmath.mpf(float(p)))) for p in points]
        np.testing.assert_allclose(kernel(text, order=order)(points), truth, rtol=1e-12)
        inside = np.abs(points) < 1e30  # float32's range
        got = kernel(text, order=order, dtype="float32")(points[inside].astype(np.float32))
        np.testing.assert_allclose(got, np.array(truth)[inside], rtol=1e-5)


def _lift_truth(text: str, order: int, points) -> list[float]:
    """``text``'s derivative of ``order`` at ``points`` by mpmath at 50 digits."""
    formula = derivative(text, order=order) if order else parse(text)
    f = sympy.lambdify(sorted(formula.free_symbols, key=str)[0], formula, "mpmath")
    with mpmath.workdps(50):
        return [float(f(mpmath.mpf(float(p)))) for p in points]


@pytest.mark.parametrize(
    ("text", "order", "points"),
    [
        # exp(-x) is subnormal from x = 708 (3 digits left at 740): x⁴ lifts the product
        # back into the normal numbers, which was 1.8e-7 off at 730 and 2.6e-3 at 740
        ("x**4*exp(-x)", 0, [715.0, 720.0, 725.0, 730.0]),
        ("exp(-x)*x**8/(1+x**2)", 0, [720.0, 745.0, 750.0, 760.0]),
        # σ(-x) is 0 where exp(x) overflows (x > 709.8), for a truth of up to 5.6e-309,
        # which x³ lifts to 1.6e-300: 0 at 710
        ("x**3*sigmoid(-x)", 0, [705.0, 710.0, 712.0]),
        ("x**3*sigmoid(-x)", 1, [705.0, 710.0, 712.0]),
        ("exp(-x)*x**8/(1+x**2)", 1, [720.0, 745.0, 750.0, 760.0]),
        # the far branch of 1/((x + 1)² + 1)² is x⁻⁴/(...): subnormal from x = 1e77, 0 from
        # 1e81, times a numerator of about x²: 1e-5 off at 1e80 and -0.0 for -1e-168 at 1e84
        ("log(cosh(1 - x))/(1 + (x + 1)**2) - 3", 1, [1e78, 1e80, 1e84, 1e100, 1e150, -1e80]),
    ],
)
def test_a_product_lifted_back_from_an_underflowed_factor_is_right(text, order, points):
    got = kernel(text, order=order)(np.array(points))
    np.testing.assert_allclose(got, _lift_truth(text, order, points), rtol=1e-12)


def test_a_lifted_product_is_right_in_float32():
    # float32's exp(-x) is subnormal from x = 87.3 and 0 from 103.3; x⁸/(1 + x²) lifts it
    points = np.array([90.0, 95.0, 100.0, 104.0, 106.0, 109.0], dtype=np.float32)
    text = "exp(-x)*x**8/(1+x**2)"
    got = kernel(text, dtype="float32")(points)
    np.testing.assert_allclose(got, _lift_truth(text, 0, points), rtol=1e-5)
    points = np.array([89.0, 90.0, 95.0], dtype=np.float32)  # σ(-x) is 0 from 88.7
    got = kernel("x**3*sigmoid(-x)", dtype="float32")(points)
    np.testing.assert_allclose(got, _lift_truth("x**3*sigmoid(-x)", 0, points), rtol=1e-5)
    far = np.array([1e12, 1e16, -1e12], dtype=np.float32)
    text = "log(cosh(1 - x))/(1 + (x + 1)**2) - 3"
    got = kernel(text, order=1, dtype="float32")(far)
    np.testing.assert_allclose(got, _lift_truth(text, 1, far), rtol=1e-5)


def test_a_decaying_factor_that_is_really_0_stays_0_and_quiet():
    # silu'' = σ'(x)(2 + x(1 - 2σ(x))): σ'(x) is 0 beyond |x| = 745, beside x of up to
    # 1.8e308; those elements go through the extended pass and come back 0, with no warning
    points = np.array([-1e300, -1e20, -800.0, 800.0, 1e20, 1e300, 1.0])
    with np.errstate(all="raise"):
        got = kernel("silu", order=2)(points)
    assert (got[:-1] == 0).all()
    assert got[-1] == pytest.approx(_lift_truth("x*sigmoid(x)", 2, [1.0])[0], rel=1e-14)


def test_silu_in_the_window_where_exp_overflows_but_the_value_is_normal():
    # silu(x) = x/(1 + exp(-x)): exp(-x) overflows from x = -709.8, and x/inf gave -0.0
    # where the value is -3.2e-306 (x = -710); float32 from x = -88.7
    points = np.array([-700.0, -710.0, -720.0, -740.0])
    truth = _lift_truth("x*sigmoid(x)", 0, points)
    np.testing.assert_allclose(kernel("silu")(points), truth, rtol=1e-12, atol=1e-300)
    np.testing.assert_allclose(kernel("x*sigmoid(-x)")(-points), truth, rtol=1e-12, atol=1e-300)
    narrow = np.array([-80.0, -89.0, -92.0], dtype=np.float32)
    got = kernel("silu", dtype="float32")(narrow)
    np.testing.assert_allclose(got, _lift_truth("x*sigmoid(x)", 0, narrow), rtol=1e-5)


def test_a_small_coefficient_that_takes_a_factor_below_the_normal_numbers_is_seen():
    # gelu_tanh' in float32 multiplies exp(u) ≈ 1.2e-38 by 1e-5 first (a coefficient below 1
    # goes first): 1e-43 keeps 3 digits, and the product is lifted back by about 2e7:
    # 8.5e-4 off at x = -10, and gelu_tanh'' was -0.0 at -9.75 for -1.5e-32
    points = np.array([-9.5, -9.75, -10.0, -10.2], dtype=np.float32)
    for order in (1, 2):
        got = kernel("gelu_tanh", order=order, dtype="float32")(points)
        truth = _lift_truth("x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))", order, points)
        np.testing.assert_allclose(got, truth, rtol=1e-5)
