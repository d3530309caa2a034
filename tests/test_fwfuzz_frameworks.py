"""What a fuzz of `to_jax`, `to_torch`, ``kernel(backend="jax")`` and exported modules
found wrong, each checked against mpmath at 50 digits or the framework itself.

* A parameter given as a float (``beta=0.5``, ``beta=2.0``) reached the stability
  rewrites as ``exp(0.5·x)`` and ``exp(1.0·x)``, which they did not recognise as a
  square: softplus″ was NaN from x = 1e38 in float32 (NumPy kernels included).
* The array backends' softplus(βx)/β formed βx, which overflows where the value does
  not: inf at x = 3e307 for β = 10 (JAX, torch ops, exported modules; a NumPy module
  took the NumPy kernels' form, which relies on their recomputation in extended range).
* A complex input gave a complex result in JAX and lost its imaginary part in PyTorch;
  a list gave JAX's arithmetic error; a float64 NumPy array became float32 in PyTorch;
  the last JAX level ran NumPy's operations on a NumPy input.
* A NaN input gave a number where a branch or a constant decides (relu'(NaN) = 0), in
  the NumPy kernels too.
* Exported modules (categorical_cross_entropy's, a user's log(softplus(erf(x)))) had
  lines longer than 88 columns, which ``ruff format --check`` refuses.

A second fuzz (eighth session) found:

* huber with a large δ was computed as δ·|r| − δ²/2 (SymPy distributes the bound δ
  over δ·(|r| − δ/2)): NaN beyond δ where the value is inf, in float32 from δ = 2e19
  (NumPy kernels too) and in float64 from δ = 1.4e154 (JAX, torch ops, modules); a
  float δ from 1.4e154 on raised TypeError (δ²/2 has no double), and gave −inf.
* PyTorch's vectorized sinh and cosh (8 float64 or 16 float32 elements and more) are
  inf from |x| = log(max) on, where the value is finite up to log(2·max): a user's
  sinh(x) was inf at 710 (float64) and 89 (float32) in torch ops and torch modules.
* The conjugate rewrite's R + |r| (squareplus: b/2 / (|x| + hypot(x, √b))) overflowed
  where both are near the largest float: squareplus with b = 1e10 was 0 for 2.5e-299 at
  x = -1e308 in every backend, the NumPy kernels included.
* σ of an argument SymPy knows the sign of (x*sigmoid(x**2), silu(x**2), mish(abs(x)))
  was emitted as ``torch.where(True, a, b)``: TypeError in torch ops (CUDA, float16,
  ``compile=True``) and exported torch modules.
* categorical_cross_entropy's logsumexp(0, z₂ − z₁, z₃ − z₁) took its second gap as
  z₁ + max(…) + L − z₃ (SymPy flattens the sum), which lost L next to z₁: 1.2e-11
  off at logits of 1e6, 7e-10 at 1e8, log 4 for log 3 at 1e16, in every backend.

A catalog-wide sweep (ninth session) found:

* JAX ran the stable form on integer arrays as they came: squared_error of int32
  predictions (p - y)**2 wrapped around at 2**31 (1.41e9 for 1e10 at p = 100000, in
  ``to_jax``, under ``jit`` and in exported JAX modules), and a boolean array raised
  JAX's own TypeError (-a of booleans); jnp.tanh and torch.sigmoid take both as floats.
* ``to_torch`` functions (and exported torch modules) refused every ``torch.func``
  transform (vmap, grad, jacrev, jacfwd, hessian, jvp) and forward-mode AD: the
  ``autograd.Function`` had no ``setup_context``, ``jvp`` or vmap rule; gradcheck with
  ``check_forward_ad`` or ``check_batched_grad`` failed on every catalog entry (the CPU
  route read a batched gradient's memory).  With forward mode in, a zero tangent times
  an infinite partial must add 0, not NaN: torch.func gives a target a zero tangent, and
  binary_cross_entropy's d/dy is -inf at p = 1 (jvp was NaN for -1 there).
* A NumPy float64 scalar alone was computed in float32 in PyTorch (np.float64 is a
  Python float, which follows the tensors); a string, None or an array of strings, and
  arguments whose shapes do not broadcast, gave the frameworks' own errors.
"""

from __future__ import annotations

import math
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from lazy import lazy

from symcalc import export_module, kernel, to_jax, to_torch
from symcalc.errors import SymcalcError

jax = lazy("jax")  # imported by the first test, not by collection (see tests/lazy.py)
jnp = lazy("jax.numpy")
torch = lazy("torch")

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}
#: JAX's absolute floor is XLA's: it flushes subnormal results to zero.
ATOL = {np.dtype(np.float64): 1e-300, np.dtype(np.float32): 1e-34}


@pytest.fixture(autouse=True)
def x64():
    with jax.enable_x64(True):
        yield


def softplus_truth(beta: float, order: int, x: float) -> float:
    """softplus(βx)/β and its derivatives σ(βx), β·σ(βx)σ(-βx), by mpmath at 50 digits."""
    with mpmath.workdps(50):
        b, u = mpmath.mpf(beta), mpmath.mpf(beta) * mpmath.mpf(x)
        s, t = 1 / (1 + mpmath.exp(-u)), 1 / (1 + mpmath.exp(u))
        return float([mpmath.log1p(mpmath.exp(-abs(u))) / b + max(x, 0), s, b * s * t][order])


def assert_promise(got, beta: float, order: int, xs: np.ndarray) -> None:
    got = np.asarray(got)
    dtype = np.dtype(xs.dtype)
    assert got.dtype == dtype
    for x, g in zip(xs.tolist(), got.astype(float).tolist(), strict=True):
        t = softplus_truth(beta, order, x)
        assert np.isfinite(g), (beta, order, x, g, t)
        assert abs(g - t) <= max(RTOL[dtype] * abs(t), ATOL[dtype]), (beta, order, x, g, t)


POINTS = {
    np.dtype(np.float32): np.array([-3e38, -40.0, -1.0, 0.5, 40.0, 700.0, 1.7e38, 3.4e38]),
    np.dtype(np.float64): np.array([-1e308, -40.0, -1.0, 0.5, 40.0, 1e5, 3e307, 1.79e308]),
}


@pytest.mark.parametrize("beta", [0.5, 2.0, 0.3, 10.0])
def test_float_parameters_meet_the_promise_in_every_backend(beta):
    for dtype, points in POINTS.items():
        xs = points.astype(dtype)
        for order in range(3):
            assert_promise(
                kernel("softplus", order=order, params={"beta": beta})(xs), beta, order, xs
            )
        g = to_jax("softplus", params={"beta": beta})
        evaluated = jax.jit(
            lambda v, g=g: [g(v), jax.vmap(jax.grad(g))(v), jax.vmap(jax.grad(jax.grad(g)))(v)]
        )
        for order, value in enumerate(evaluated(jnp.asarray(xs))):
            assert_promise(value, beta, order, xs)
        t = to_torch("softplus", params={"beta": beta})
        x = torch.from_numpy(xs.copy())
        for order in range(3):  # the NumPy route and the torch-op code
            assert_promise(t.level((0,) * order)(x), beta, order, xs)
            assert_promise(t.body((0,) * order)(x), beta, order, xs)


def test_a_float_parameter_gives_the_form_of_the_exact_one():
    exact = kernel("softplus", order=2, params={"beta": 2}).lowered
    assert kernel("softplus", order=2, params={"beta": 2.0}).lowered == exact
    assert "sigmoid" in str(kernel("softplus", order=2, params={"beta": 0.5}).lowered)


def test_softplus_with_a_large_beta_stays_finite_in_kernels_and_modules():
    xs = POINTS[np.dtype(np.float64)]
    assert_promise(kernel("softplus", params={"beta": 10}, backend="jax")(xs), 10.0, 0, xs)
    namespace: dict = {}
    exec(export_module("softplus", to="numpy", params={"beta": 10}).source, namespace)  # noqa: S102
    assert_promise(namespace["softplus"](xs), 10.0, 0, xs)


# -- inputs ---------------------------------------------------------------------------------


def test_complex_inputs_are_refused_with_one_line():
    with pytest.raises(SymcalcError, match="real function: got a complex input"):
        to_jax("sigmoid")(jnp.array([1 + 1j]))
    with pytest.raises(SymcalcError, match="real function: got a complex input"):
        to_torch("bce_with_logits")(torch.zeros(2), torch.tensor([1j, 0j]))
    with pytest.raises(SymcalcError, match="complex"):
        to_torch("sigmoid")(1j)


def test_to_jax_refuses_a_list_as_jax_numpy_does():
    with pytest.raises(SymcalcError, match="takes arrays or numbers.*got a list"):
        to_jax("sigmoid")([1.0, 2.0])
    with pytest.raises(TypeError):  # what JAX itself says, for comparison
        jax.nn.sigmoid([1.0, 2.0])


def test_to_torch_keeps_a_numpy_arrays_dtype_and_python_numbers_follow():
    g, bce = to_torch("sigmoid"), to_torch("bce_with_logits")
    x = np.linspace(-3, 3, 5)
    out = g(x)
    assert out.dtype == torch.float64
    torch.testing.assert_close(out, torch.sigmoid(torch.from_numpy(x)), rtol=1e-15, atol=0)
    z = torch.linspace(-3, 3, 4)
    assert bce(z, np.float64(0.3)).dtype == torch.float32  # a NumPy scalar is a number
    assert bce(z, np.full(4, 0.3)).dtype == torch.float64  # an array promotes, as in torch


def test_the_last_jax_level_runs_xla_on_numpy_inputs():
    g = to_jax("gaussian")  # d2 = (4x² - 2)·exp(-x²): x² overflows at 1e200 (a NumPy warning)
    out = g.level((0, 0))(np.array([1e200, 0.5]))
    assert isinstance(out, jax.Array)
    np.testing.assert_allclose(np.asarray(out), [0.0, (4 * 0.25 - 2) * np.exp(-0.25)], rtol=1e-15)


# -- generated code ---------------------------------------------------------------------------


def test_long_generated_lines_are_split_as_ruff_formats_them(tmp_path):
    for to in ("jax", "torch", "numpy"):  # a product of five factors under a where
        module = export_module("log(softplus(erf(x)))", to=to)
        (tmp_path / f"long_{to}.py").write_text(module.source)
        assert max(len(line) for line in module.source.splitlines()) <= 88
    for command in (["check"], ["format", "--check"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--isolated", str(tmp_path)],
            capture_output=True,
            text=True,
        )
        assert done.returncode == 0, done.stdout + done.stderr


# -- NaN in, NaN out ------------------------------------------------------------------------

#: Derivatives that a branch or a constant made a number at NaN (relu'(NaN) was 0,
#: identity'(NaN) 1, squared_error''(NaN, y) 2), in every backend.
MASKING = [("relu", 1), ("identity", 1), ("hard_sigmoid", 2), ("squared_error", 2)]


@pytest.mark.parametrize(("name", "order"), MASKING)
def test_a_nan_input_gives_nan_in_every_backend(name, order):
    x = np.array([np.nan, 2.0, -2.0])
    y = [0.5] * (name == "squared_error")
    index = (0,) * order
    values = {
        "numpy": kernel(name, order=order)(x, *y),
        "kernel jax": kernel(name, order=order, backend="jax")(x, *y),
        "to_jax": to_jax(name).level(index)(jnp.asarray(x), *y),
        "to_torch": to_torch(name).level(index)(torch.from_numpy(x), *y),
        "torch ops": to_torch(name).body(index)(torch.from_numpy(x), *map(torch.tensor, y)),
    }
    for to in ("numpy", "jax", "torch"):
        namespace: dict = {}
        module = export_module(name, to=to)
        exec(module.source, namespace)  # noqa: S102 - generated by symcalc
        values[f"{to} module"] = namespace[module.functions[order].name](x, *y)
    for where, value in values.items():
        value = np.asarray(value)
        assert np.isnan(value[0]) and np.isfinite(value[1:]).all(), (where, value)


# -- a large parameter ------------------------------------------------------------------------


def huber_truth(delta: float, order: int, r: float, dtype: np.dtype) -> float:
    """huber(r; δ) and its derivatives in r, by mpmath at 50 digits (inf where it overflows
    ``dtype``)."""
    with mpmath.workdps(50):
        d, r = mpmath.mpf(delta), mpmath.mpf(r)
        inside = abs(r) <= d
        value = [r**2 / 2 if inside else d * (abs(r) - d / 2), r if inside else d * mpmath.sign(r)]
        value.append(1 if inside else 0)
        v = value[order]
        return float(v) if abs(v) <= np.finfo(dtype).max else float(mpmath.sign(v) * mpmath.inf)


#: δ with δ²/2 beyond the dtype's range, and residuals on both sides of it.
LARGE_DELTA = {
    np.dtype(np.float32): (1e20, np.array([0.5, -3e19, 1.5e20, -3e38], np.float32)),
    np.dtype(np.float64): (1e160, np.array([0.5, -3e159, 1.5e160, -1e300, 1.7e308])),
}


@pytest.mark.parametrize("delta", ["float", "int"])
def test_huber_with_a_large_delta_is_inf_beyond_it_not_nan(delta):
    # δ·|r| − δ²/2 (SymPy distributes δ over δ·(|r| − δ/2)) was inf − inf = NaN beyond δ,
    # −inf from a float δ in the NumPy kernels, and a float δ ≥ 1.4e154 raised TypeError
    for dtype, (value, xs) in LARGE_DELTA.items():
        params = {"delta": value if delta == "float" else int(value)}
        y = dtype.type(0.0)
        t, j = to_torch("huber", params=params), to_jax("huber", params=params)
        for order in range(3):
            truth = [huber_truth(value, order, float(x), dtype) for x in xs]
            index = (0,) * order
            with np.errstate(over="ignore"):  # the NumPy kernels signal it, as ufuncs do
                got = {
                    "numpy": kernel("huber", order=order, params=params, dtype=dtype)(xs, y),
                    "to_jax": j.level(index)(jnp.asarray(xs), y),
                    "torch ops": t.body(index)(torch.from_numpy(xs), torch.tensor(y)),
                    "to_torch": t.level(index)(torch.from_numpy(xs), torch.tensor(y)),
                }
            for where, out in got.items():
                out = np.asarray(out)
                assert out.dtype == dtype, where
                np.testing.assert_allclose(out, truth, rtol=RTOL[dtype], err_msg=where)


# -- PyTorch's sinh and cosh ------------------------------------------------------------------

#: Past log(max) and short of log(2·max), where sinh and cosh are finite; PyTorch's
#: vectorized loops (8 or more elements) gave inf there.  By the name of the torch dtype.
WIDE = {"float64": [709.9, 710.0, 710.4, -710.2], "float32": [88.8, 89.0, 89.4, -89.3]}


@pytest.mark.parametrize(("formula", "first"), [("sinh(x)", 0), ("cosh(x) - 1", 1)])
def test_torch_ops_keep_sinh_and_cosh_finite_up_to_log_of_twice_max(formula, first):
    g = to_torch(formula)
    namespace: dict = {}
    exec(export_module(formula, to="torch").source, namespace)  # noqa: S102
    for dtype_name, points in WIDE.items():
        dtype = getattr(torch, dtype_name)
        x = torch.tensor(points * 4, dtype=dtype)  # 16 elements: the vectorized loop
        rtol = RTOL[np.dtype(str(dtype).removeprefix("torch."))]
        for order, name in enumerate(["f", "d_f_dx", "d2_f_dx2"]):
            with mpmath.workdps(50):  # sinh, cosh, sinh, ... or cosh, sinh, cosh
                function = [mpmath.sinh, mpmath.cosh][(order + first) % 2]
                truth = [float(function(mpmath.mpf(float(v)))) for v in x]
            for where, out in (
                ("torch ops", g.body((0,) * order)(x)),
                ("module", namespace[name](x)),
            ):
                assert out.dtype == dtype, where
                np.testing.assert_allclose(out.numpy(), truth, rtol=rtol, err_msg=where)


# -- a sum near the largest float -----------------------------------------------------------


def squareplus_truth(b: float, order: int, x: float) -> float:
    """(x + r)/2 and its derivatives, r = sqrt(x² + b), by mpmath at 50 digits, written
    without the cancellation of x + r: x + r = b/(r - x)."""
    with mpmath.workdps(50):
        x, b = mpmath.mpf(x), mpmath.mpf(b)
        r = mpmath.sqrt(x**2 + b)
        return float([b / (2 * (r - x)), b / (2 * r * (r - x)), b / (2 * r**3)][order])


def test_squareplus_next_to_minus_max_is_not_zero():
    # b/2 / (|x| + hypot(x, √b)) overflowed in its denominator: 0 for 2.5e-299 at -1e308
    xs = np.array([-1.7976931348623157e308, -1e308, -3e307, -1.0, 2.0])
    params = {"b": 10**10}
    g, t = to_jax("squareplus", params=params), to_torch("squareplus", params=params)
    for order in range(3):
        index = (0,) * order
        truth = [squareplus_truth(1e10, order, x) for x in xs]
        got = {
            "numpy": kernel("squareplus", order=order, params=params)(xs),
            "to_jax": g.level(index)(jnp.asarray(xs)),
            "to_torch": t.level(index)(torch.from_numpy(xs)),
            "torch ops": t.body(index)(torch.from_numpy(xs)),
        }
        for where, out in got.items():
            np.testing.assert_allclose(np.asarray(out), truth, rtol=1e-12, atol=0, err_msg=where)


# -- a sign SymPy decides ---------------------------------------------------------------------

#: σ of a sign-free argument (x²; also silu(x**2), mish(abs(x))): its stable form's
#: select on w >= 0 was ``torch.where(True, ...)``, which PyTorch refuses (TypeError), in
#: torch ops and exported modules.
SIGN_FREE = {
    "x*sigmoid(x**2)": lambda x: x * torch.sigmoid(x**2),
    "log(1+exp(-x**2))": lambda x: torch.nn.functional.softplus(-(x**2)),
}


@pytest.mark.parametrize("formula", sorted(SIGN_FREE))
def test_a_sigmoid_of_a_sign_free_argument_runs_in_torch_ops(formula):
    x = torch.tensor([-3.0, -0.5, 0.25, 2.0], dtype=torch.float64, requires_grad=True)
    value = SIGN_FREE[formula](x)  # PyTorch's own autograd of its own ops: the truth
    (d1,) = torch.autograd.grad(value.sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x)
    truths = [value.detach(), d1.detach(), d2]
    g = to_torch(formula)
    namespace: dict = {}
    exec(export_module(formula, to="torch").source, namespace)  # noqa: S102
    for order, name in enumerate(["f", "d_f_dx", "d2_f_dx2"]):
        for out in (g.body((0,) * order)(x.detach()), namespace[name](x.detach())):
            torch.testing.assert_close(out, truths[order], rtol=1e-12, atol=1e-15)


# -- logsumexp of differences -----------------------------------------------------------------


def test_categorical_cross_entropy_of_large_logits_keeps_the_log_of_the_count():
    # logsumexp(0, z₂ - z₁, z₃ - z₁) took its second gap as z₁ + max(...) + L - z₃, which
    # lost L next to z₁: log 4 for log 3 at z = 1e16, 1.2e-11 off at 1e6
    z = np.array([[1e16, 1e16, 1e16], [1e6, 1e6 + 0.3, 1e6 - 0.2], [-1e300, -1e300, -1e300]])
    y = np.array([1.0, 0.0, 0.0])
    with mpmath.workdps(50):
        truth = [
            float(mpmath.log(sum(mpmath.exp(mpmath.mpf(v) - mpmath.mpf(row[0])) for v in row)))
            for row in z.tolist()
        ]
    columns = [*z.T, *y]
    got = {
        "numpy": kernel("categorical_cross_entropy")(*columns),
        "to_jax": to_jax("categorical_cross_entropy")(*map(jnp.asarray, columns)),
        "torch ops": to_torch("categorical_cross_entropy").body(())(
            *(torch.tensor(c, dtype=torch.float64) for c in columns)
        ),
    }
    for where, out in got.items():
        np.testing.assert_allclose(np.asarray(out), truth, rtol=1e-12, atol=0, err_msg=where)


# -- ninth session: overflow on the way in array code ---------------------------------------


def cce_truth(z: list[float], y: list[float]) -> float:
    """Σ yₖ·log Σᵢ exp(zᵢ - zₖ) by mpmath at 50 digits (the gaps exactly, inf beyond max)."""
    with mpmath.workdps(50):
        z_ = [mpmath.mpf(v) for v in z]
        total = mpmath.mpf(0)
        for zk, yk in zip(z_, y, strict=True):
            if yk:
                top = max(zi - zk for zi in z_)
                lse = top + mpmath.log(sum(mpmath.exp(zi - zk - top) for zi in z_))
                total += mpmath.mpf(yk) * lse
        return float(total) if abs(total) <= np.finfo(np.float64).max else math.inf


def module(formula: str, to: str, order_max: int = 2) -> dict:
    namespace: dict = {}
    source = export_module(formula, to=to, order_max=order_max).source
    exec(source, namespace)  # noqa: S102 - generated by symcalc
    return namespace


def test_categorical_cross_entropy_with_logit_gaps_beyond_max_float():
    # a gap z₁ - z₂ = 2e308 overflows: y₂·inf was NaN for y₂ = 0 and inf for y₂ = 0.3
    # (6e307) in JAX, torch ops and modules; the NumPy kernels recompute in long double
    rows = [
        ([1e308, -1e308, 0.0], [1.0, 0.0, 0.0]),
        ([1e308, -1e308, 0.0], [0.3, 0.3, 0.4]),
        ([-1.7e308, 1.7e308, 1.0], [1e-10, 0.0, 1.0 - 1e-10]),
        ([1.0, 1e308, -1e308], [1.0, 0.0, 0.0]),
        ([1e300, 1e300, -1e300], [0.5, 0.5, 0.0]),
    ]
    columns = [np.array([r[i // 3][i % 3] for r in rows]) for i in range(6)]
    truth = [cce_truth(z, y) for z, y in rows]
    name = "categorical_cross_entropy"
    got = {
        "numpy": kernel(name)(*columns),
        "to_jax": jax.jit(to_jax(name))(*map(jnp.asarray, columns)),
        "torch ops": to_torch(name).body(())(*map(torch.from_numpy, columns)),
        "jax module": module(name, "jax", order_max=0)[name](*columns),
        "numpy module": module(name, "numpy", order_max=0)[name](*columns),
    }
    for where, out in got.items():
        np.testing.assert_allclose(np.asarray(out), truth, rtol=1e-12, atol=0, err_msg=where)


def growth_truth(formula, order: int, x: float, dtype) -> float:
    """A derivative of exp(x)/x or (exp(x) - 1)/x by mpmath at 50 digits, ±inf beyond
    ``dtype``'s range."""
    with mpmath.workdps(50):
        t = mpmath.mpf(x)
        e = mpmath.exp(t)
        if formula == "exp(x)/x":
            v = e * [1 / t, 1 / t - 1 / t**2, 1 / t - 2 / t**2 + 2 / t**3][order]
        else:
            v = [(e - 1) / t, (t * e - e + 1) / t**2, (t**2 * e - 2 * t * e + 2 * e - 2) / t**3]
            v = v[order]
        return float(v) if abs(v) <= np.finfo(dtype).max else float(mpmath.sign(v) * mpmath.inf)


#: Where exp(x) overflows and the value does not (710, 89.5), and where both do.
GROWTH = {
    np.dtype(np.float64): np.array([700.0, 709.0, 710.0, 712.0, 720.0, 1000.0, -1000.0]),
    np.dtype(np.float32): np.array([80.0, 88.5, 89.5, 91.0, 100.0, -100.0], np.float32),
}


@pytest.mark.parametrize("formula", ["exp(x)/x", "(exp(x) - 1)/x"])
def test_a_factor_that_divides_an_overflowing_exponential_meets_it_half_way(formula):
    # ((exp(x) - 1)/x)' was (x·eˣ - eˣ + 1)/x² = inf - inf = NaN from x = 710 (float32:
    # 88.8) in JAX, torch ops and modules; exp(x)/x was inf at 710 for 3.1e305
    g, t = to_jax(formula), to_torch(formula)  # (modules print the same code)
    for dtype, xs in GROWTH.items():
        rtol = RTOL[dtype]
        for order in range(3):
            index = (0,) * order
            truth = [growth_truth(formula, order, float(x), dtype) for x in xs]
            got = {
                "to_jax": jax.jit(g.level(index))(jnp.asarray(xs)),
                "torch ops": t.body(index)(torch.from_numpy(xs)),
            }
            for where, out in got.items():
                out = np.asarray(out)
                assert out.dtype == dtype, where
                np.testing.assert_allclose(out, truth, rtol=rtol, atol=ATOL[dtype], err_msg=where)


def test_an_exported_jax_module_takes_a_list_as_jax_numpy_does():
    # JAX's custom_jvp raised its own TypeError on a list
    name = "binary_cross_entropy_with_logits"
    namespace = module(name, "jax", order_max=1)
    z, y = [-2.0, 0.5, 3.0], [1.0, 0.0, 1.0]
    expected = namespace[name](jnp.asarray(z), jnp.asarray(y))
    np.testing.assert_array_equal(namespace[name](z, y), expected)
    np.testing.assert_array_equal(
        namespace[f"d_{name}_dz"](z, y),
        jax.vmap(jax.grad(namespace[name]))(jnp.asarray(z), jnp.asarray(y)),
    )


def test_integer_and_boolean_arrays_are_read_as_the_default_float():
    # int32 arithmetic wrapped around; booleans raised JAX's TypeError; as jnp.tanh does
    p = np.array([100000, 3], dtype=np.int32)
    truth = np.array([1e10, 9.0])  # (p - 0)**2
    g = to_jax("squared_error")
    namespace = module("squared_error", "jax", order_max=1)
    for got in (
        g(jnp.asarray(p), 0),
        jax.jit(g)(jnp.asarray(p), jnp.zeros(2, jnp.int32)),
        g(p, np.int32(0)),
        namespace["squared_error"](jnp.asarray(p), 0),
        to_torch("squared_error")(torch.from_numpy(p), 0),
    ):
        np.testing.assert_array_equal(np.asarray(got), truth)
    assert g(jnp.asarray(p), 0).dtype == jnp.float64  # the default float (64-bit mode)
    hinge = to_jax("hinge")(jnp.array([True, False]), 1)  # max(0, 1 - p·y)
    np.testing.assert_array_equal(hinge, [0.0, 1.0])
    assert hinge.dtype == jnp.float64
    np.testing.assert_array_equal(to_jax("huber").level((0,))(jnp.array([True]), 0), [1.0])


# torch.func.jvp's first call imports PyTorch modules that warn about its own torch.jit
@pytest.mark.filterwarnings("ignore:`torch.jit.script` is deprecated:DeprecationWarning")
def test_torch_func_transforms_and_forward_mode_evaluate_the_symbolic_levels():
    # the autograd.Function had no setup_context, jvp or vmap rule: every torch.func
    # transform raised, and so did forward-mode AD and gradcheck's batched checks
    import torch.autograd.forward_ad as fwad

    t = to_torch("binary_cross_entropy_with_logits")
    z = torch.tensor([-800.0, -40.0, -1.5, 0.0, 2.0, 40.0], dtype=torch.float64)
    y = torch.tensor(1.0, dtype=torch.float64)
    first, second = t.level((0,))(z, y), t.level((0, 0))(z, y)
    assert second[1].item() == pytest.approx(4.248354255291589e-18, rel=1e-15)  # σ′(40)
    grad = torch.func.vmap(torch.func.grad(t), in_dims=(0, None))
    hessian = torch.func.vmap(torch.func.hessian(t), in_dims=(0, None))
    jvp = torch.func.jvp(lambda v: t(v, y), (z,), (torch.ones_like(z),))[1]
    jacfwd = torch.func.vmap(torch.func.jacfwd(torch.func.jacrev(t)), in_dims=(0, None))
    with fwad.dual_level():
        dual = fwad.unpack_dual(t(fwad.make_dual(z, torch.ones_like(z)), y)).tangent
    for got, expected in [
        (grad(z, y), first),
        (jvp, first),
        (dual, first),
        (hessian(z, y), second),
        (jacfwd(z, y), second),
    ]:
        torch.testing.assert_close(got, expected, rtol=5e-16, atol=0)
    p = torch.tensor([-1.3, 0.4, 2.2], dtype=torch.float64, requires_grad=True)
    target = torch.tensor([0.2, 0.9, 0.5], dtype=torch.float64, requires_grad=True)
    checks = {"check_forward_ad": True, "check_batched_grad": True}
    assert torch.autograd.gradcheck(t, (p, target), check_batched_forward_grad=True, **checks)
    assert torch.autograd.gradgradcheck(t, (p, target), check_fwd_over_rev=True)
    # torch.func gives the target a zero tangent, where d/dy = log((1 - p)/p) is -inf
    bce, one = to_torch("binary_cross_entropy"), torch.tensor(1.0, dtype=torch.float64)
    p = torch.tensor([1.0, 0.5], dtype=torch.float64)
    assert torch.func.jvp(lambda v: bce(v, one), (p,), (torch.ones_like(p),))[1].tolist() == [
        -1.0,
        -2.0,
    ]
    sigmoid = module("sigmoid", "torch")["sigmoid"]  # the modules share the runtime
    torch.testing.assert_close(
        torch.func.vmap(torch.func.grad(sigmoid))(z), to_torch("sigmoid").level((0,))(z)
    )


def test_a_numpy_scalar_keeps_its_dtype_and_bad_arguments_are_one_line():
    # np.float64(2.0) alone was computed in float32 (it is a Python float); with a
    # tensor it follows the tensor, as in torch's own operators
    sigmoid, bce = to_torch("sigmoid"), to_torch("bce_with_logits")
    assert sigmoid(np.float64(2.0)).dtype == torch.float64
    assert sigmoid(np.float64(2.0)).item() == 1 / (1 + math.exp(-2.0))
    assert module("sigmoid", "torch")["sigmoid"](np.float64(2.0)).dtype == torch.float64
    assert bce(torch.ones(2), np.float64(1.0)).dtype == (torch.ones(2) * np.float64(1.0)).dtype
    for g in (sigmoid, to_jax("sigmoid")):
        for bad in ("abc", None, np.array(["a"])):
            with pytest.raises(SymcalcError, match=r"sigmoid\(x\) takes arrays or numbers"):
                g(bad)
    with pytest.raises(SymcalcError, match=r"shapes \(3,\), \(4,\) do not broadcast"):
        bce(torch.ones(3), torch.ones(4))
    with pytest.raises(SymcalcError, match=r"shapes \(3,\), \(4,\) do not broadcast"):
        to_jax("bce_with_logits")(jnp.ones(3), jnp.ones(4))
