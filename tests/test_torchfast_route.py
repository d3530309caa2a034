"""`to_torch` on CPU float tensors: levels and backward products run the NumPy kernels.

* The route is taken (calls of `Kernel.evaluate` are counted) wherever it should be, and
  not where it should not: a differentiated backward (``create_graph``); float16 is
  computed in float32, so through the float32 kernel, and rounded back; inside
  the kernels erf and erfc are PyTorch's, which agree with Cephes' (`erfc_array`).
* Against mpmath (the truth and points of `test_stability`), over the whole finite range,
  float64 and float32: the first and second derivatives that a plain backward pass
  returns meet the kernel promise for every catalog entry (the values are checked by
  `test_export_torch`, whose forward passes now take this route).
* Against the torch-op code of the same forms (`TorchFunction.body`): the same values at
  ordinary points, and the same NaN and ±inf at NaN and ±inf inputs.
* Double backward still evaluates the symbolic second derivative; non-contiguous, 0-d,
  empty and broadcast tensors, Python-number targets, gradients to the target, fresh
  results, threads, and no NumPy warning even under ``np.errstate(all="raise")``.
"""

from __future__ import annotations

import threading

import mpmath
import numpy as np
import pytest
from frameworks import CATALOG_NAMES, Truth, configurations, domain_points, promise_failures
from lazy import lazy, torch_dtype

from symcalc import to_torch
from symcalc.export.torch_numpy import TORCH_FUNCTIONS
from symcalc.numeric.kernels import Kernel, erf_array, erfc_array, kernel
from symcalc.symbolic.catalog import get

ATOL = {np.dtype(np.float64): 1e-300, np.dtype(np.float32): 1e-36}
torch = lazy("torch")  # imported by the first test, not by collection (see tests/lazy.py)
DTYPES = (np.dtype(np.float64), np.dtype(np.float32))

_FUNCTIONS: dict[str, object] = {}


def function(name: str):
    """One `to_torch` per catalog entry for the whole module."""
    if name not in _FUNCTIONS:
        _FUNCTIONS[name] = to_torch(name)
    return _FUNCTIONS[name]


@pytest.fixture
def evaluations(monkeypatch):
    """The kernels `Kernel.evaluate` ran, in order (the NumPy route counted)."""
    calls: list[Kernel] = []
    original = Kernel.evaluate

    def counted(self, *arrays):
        calls.append(self)
        return original(self, *arrays)

    monkeypatch.setattr(Kernel, "evaluate", counted)
    return calls


def _backward(level, x, others):
    """d(level)/dx from a plain backward pass (the gradient of the sum: one value broadcast)."""
    leaf = x.clone().requires_grad_()
    (grad,) = torch.autograd.grad(level(leaf, *others).sum(), leaf)
    return grad


# -- the route is taken ----------------------------------------------------------------------


def test_forward_and_backward_run_one_kernel_each_on_cpu_floats(evaluations):
    g = to_torch("silu")
    for dtype in (torch.float64, torch.float32):
        evaluations.clear()
        x = torch.linspace(-5, 5, 11, dtype=dtype, requires_grad=True)
        y = g(x)
        assert [k.order for k in evaluations] == [0]
        (dx,) = torch.autograd.grad(y, x, torch.full_like(x, 2.0))
        assert [k.order for k in evaluations] == [0, 1]
        assert evaluations[1].variables[-1] == g._numpy.grad  # grad · σ′ in one kernel
        expected = 2.0 * kernel("silu", order=1)(x.detach().numpy())
        np.testing.assert_array_equal(dx.numpy(), expected)
        assert dx.dtype == dtype


def test_float16_runs_the_float32_kernel_and_a_differentiated_backward_torch_ops(evaluations):
    g = to_torch("sigmoid")
    half = torch.linspace(-3, 3, 7, dtype=torch.float16, requires_grad=True)
    (dh,) = torch.autograd.grad(g(half).sum(), half)
    assert [k.order for k in evaluations] == [0, 1] and dh.dtype == torch.float16
    expected = kernel("sigmoid", order=1)(half.detach().float().numpy())
    np.testing.assert_array_equal(dh.numpy(), expected.astype(np.float16))
    evaluations.clear()
    x = torch.linspace(-3, 3, 7, dtype=torch.float64, requires_grad=True)
    y = g(x)
    evaluations.clear()
    (d1,) = torch.autograd.grad(y.sum(), x, create_graph=True)  # recorded: torch ops
    assert [k.order for k in evaluations] == [1]  # only level (0,)'s forward, as a value
    assert d1.grad_fn is not None


def test_erf_inside_the_kernels_is_torchs_and_meets_the_promise(evaluations):
    gelu = to_torch("gelu")
    x = torch.linspace(-9, 9, 19, dtype=torch.float64, requires_grad=True)
    (dg,) = torch.autograd.grad(gelu(x).sum(), x)
    assert [k.function.__globals__["erfc_array"] for k in evaluations] == [
        TORCH_FUNCTIONS["erfc_array"]
    ] * 2
    torch.testing.assert_close(dg, gelu.body((0,))(x.detach()), rtol=1e-14, atol=0)
    for dtype, rtol, atol in ((np.float64, 1e-13, 1e-300), (np.float32, 1e-6, 1e-36)):
        z = np.concatenate([np.linspace(-7, 27, 3401), [0.0, -0.0, np.nan, np.inf, -np.inf]])
        z = z.astype(dtype)
        for name, numpy_helper in (("erf_array", erf_array), ("erfc_array", erfc_array)):
            ours, cephes = TORCH_FUNCTIONS[name](z.copy()), numpy_helper(z)
            assert ours.dtype == dtype
            np.testing.assert_allclose(ours, cephes, rtol=rtol, atol=atol)
            z.flags.writeable = False  # no torch tensor on read-only memory: NumPy's
            np.testing.assert_array_equal(TORCH_FUNCTIONS[name](z), cephes)
            z = z.copy()


def test_double_backward_uses_the_symbolic_second_derivative():
    g = to_torch("softplus")
    x = torch.tensor([-800.0, -3.0, 0.0, 2.5, 40.0, 800.0], dtype=torch.float64)
    x.requires_grad_()
    (d1,) = torch.autograd.grad(g(x).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1, x, torch.full_like(x, 3.0))
    truth = 3.0 * kernel("softplus", order=2)(x.detach().numpy())
    np.testing.assert_allclose(d2.numpy(), truth, rtol=1e-15, atol=0)
    assert d2[0] == 0.0 and d2[-1] == 0.0  # σ′(±800) underflows to exactly 0, not NaN


# -- the kernel promise, against mpmath -------------------------------------------------------


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_backward_products_meet_the_kernel_promise(name):
    entry = get(name)
    g = function(name)
    forms = [g.partials.get((0,) * k).form for k in (1, 2)]
    truths = [Truth(f.bound, g.variables, f.lowered) for f in forms]
    levels = [g.level(()), g.level((0,))]
    report = []
    for dtype in DTYPES:
        points = domain_points(entry, entry.variable, dtype.type)
        x = torch.from_numpy(points)
        for config in configurations(entry):
            others = [torch.tensor(v, dtype=torch_dtype(dtype)) for v in config.values()]
            for order, (level, truth) in enumerate(zip(levels, truths, strict=True), 1):
                value = _backward(level, x, others)
                assert value.dtype == torch_dtype(dtype)
                failures = promise_failures(
                    value.numpy(), points, config, truth, dtype, ATOL[dtype]
                )
                report += [(dtype.name, order, config, *f) for f in failures]
    assert not report, f"{g!r} misses the promise at {len(report)} points, e.g. {report[:4]}"


#: A backward product grad·∂f whose grad is the numerator of one division: its passes
#: (was: a division of a constant, a product by the grad, tanh′'s also one by 4).
ONE_DIVISION = {
    "tanh": (["np.cosh", "np.square", "np.divide"], lambda x: mpmath.sech(x) ** 2),
    "softplus": (
        # the division: NaN for the extended pass where exp overflowed and the grad lifts
        ["np.negative", "np.exp", "np.add", "_divide_lifted"],
        lambda x: 1 / (1 + mpmath.exp(-x)),
    ),
}


@pytest.mark.parametrize("name", sorted(ONE_DIVISION))
def test_a_grad_times_a_reciprocal_is_one_division_that_meets_the_promise(name):
    # tanh′ = 4σ(2x)σ(-2x) times the grad is grad/cosh²(x), softplus′ = σ(x) times it
    # grad/(1 + exp(-x)); against mpmath at 50 digits for grads of every size and sign
    import sympy

    from symcalc.numeric.kernels import form_kernel, stable_form

    ops, derivative = ONE_DIVISION[name]
    entry = get(name)
    form = stable_form(entry, sympy.diff(entry.expr, entry.variable))
    product = form_kernel(entry, form, order=1, scale=sympy.Dummy("grad"))
    body = [line.split("(")[0].strip() for line in product.source.splitlines()[1:-1]]
    assert [op for op in body if op.startswith(("np.", "_divide"))] == ops, product.source
    g = function(name)
    xs = [0.0, 1e-300, 0.3, -2.5, 9.0, -19.5, 40.0, -300.0, 354.0, -354.5, 709.0, -800.0]
    mpmath.mp.dps = 50
    for dtype, rtol, tiny, big in (
        (torch.float64, 1e-12, 2.3e-308, 1e300),
        (torch.float32, 1e-5, 1.2e-38, 1e35),
    ):
        grads = [1.0, -3.5, 1 / big, -1e-30, 1e30, -big]
        x = torch.tensor([a for a in xs for _ in grads], dtype=dtype)
        grad = torch.tensor(grads * len(xs), dtype=dtype)
        leaf = x.clone().requires_grad_()
        (got,) = torch.autograd.grad(g(leaf), leaf, grad)
        for a, b, value in zip(x.tolist(), grad.tolist(), got.tolist(), strict=True):
            truth = float(mpmath.mpf(b) * derivative(mpmath.mpf(a)))
            if abs(truth) >= tiny / rtol:  # a normal result, with room for its digits
                assert value == pytest.approx(truth, rel=rtol), (dtype, a, b)
            else:
                assert abs(value - truth) <= tiny, (dtype, a, b)


# -- the same as the torch-op code ------------------------------------------------------------

SPECIAL = [np.nan, np.inf, -np.inf]


def _inputs(entry, dtype) -> np.ndarray:
    """Ordinary points of the domain (and 0), then NaN and ±inf."""
    domain = entry.domain_of(entry.variable)
    lo, hi = max(float(domain.inf), -30.0), min(float(domain.sup), 30.0)
    grid = np.linspace(lo, hi, 41)[1:-1]
    return np.concatenate([grid, SPECIAL]).astype(dtype)


def _same(fast: torch.Tensor, ops: torch.Tensor, dtype, where: str) -> None:
    a, b = fast.detach().numpy(), ops.detach().numpy()
    n = len(SPECIAL)
    np.testing.assert_array_equal(np.isnan(a), np.isnan(b), err_msg=where)
    np.testing.assert_array_equal(a[-n:], b[-n:], err_msg=where)  # NaN and inf inputs exactly
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    # atol: near a zero crossing (mish″ at 1.5) forms that differ in rounding differ most
    np.testing.assert_allclose(a[:-n], b[:-n], rtol=rtol, atol=rtol, err_msg=where)


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_the_route_gives_what_the_torch_op_code_gives_nan_and_inf_included(name):
    entry = get(name)
    g = function(name)
    for dtype in DTYPES:
        x = torch.from_numpy(_inputs(entry, dtype))
        for config in configurations(entry):
            others = [torch.tensor(v, dtype=torch_dtype(dtype)) for v in config.values()]
            with np.errstate(all="raise"):  # the route neither warns nor raises
                values = [g.level(())(x, *others), g.level((0,))(x, *others)]
                grads = [_backward(g.level(i), x, others) for i in ((), (0,))]
            for k in range(2):
                where = f"{name} {dtype} {config} order {k}"
                _same(values[k], g.body((0,) * k)(x, *others), dtype, where)
                _same(grads[k], g.body((0,) * (k + 1))(x, *others), dtype, f"d {where}")


# -- tensors of every kind --------------------------------------------------------------------


def test_non_contiguous_expanded_zero_d_and_empty_tensors():
    g = to_torch("elu")
    base = torch.linspace(-6, 6, 24, dtype=torch.float64).reshape(4, 6)
    for x in (base.t(), base[:, ::2], base[1], base[0, 0], base[:0], base[:1].expand(3, 6)):
        leaf = x.clone() if x.is_contiguous() else x
        leaf = leaf.detach().requires_grad_()
        y = g(leaf)
        expected = g.body(())(x)
        assert y.shape == x.shape and torch.equal(y.detach(), expected)
        (dx,) = torch.autograd.grad(y, leaf, torch.full_like(y, 0.5))
        assert dx.shape == x.shape
        torch.testing.assert_close(dx, 0.5 * g.body((0,))(x), rtol=1e-15, atol=0)


def test_losses_take_number_and_broadcast_targets_and_give_their_gradients():
    g = to_torch("binary_cross_entropy_with_logits")
    z = torch.linspace(-40, 40, 12, dtype=torch.float32).reshape(3, 4).requires_grad_()
    loss = g(z, 1.0)
    assert loss.dtype == torch.float32 and loss.shape == (3, 4)
    (dz,) = torch.autograd.grad(loss.sum(), z)
    np.testing.assert_array_equal(dz.numpy(), kernel(g.entry, order=1)(z.detach().numpy(), 1.0))
    y = torch.tensor([0.0, 0.25, 1.0, 0.5], dtype=torch.float32, requires_grad=True)
    dz, dy = torch.autograd.grad(g(z, y).sum(), (z, y))
    assert dy.shape == (4,)  # d/dy = -z, summed over the broadcast rows
    torch.testing.assert_close(dy, -z.detach().sum(0), rtol=1e-6, atol=0)
    torch.testing.assert_close(dz, g.body((0,))(z.detach(), y.detach()), rtol=1e-6, atol=0)


def test_results_are_fresh_tensors_and_threads_agree():
    g = to_torch("identity")
    x = torch.ones(5, dtype=torch.float64, requires_grad=True)
    y = g(x)
    with torch.no_grad():
        y.mul_(3.0)
    assert torch.equal(x.detach(), torch.ones(5, dtype=torch.float64))
    silu = to_torch("silu")
    rng = np.random.default_rng(7)
    xs = [torch.from_numpy(rng.normal(0, 5, 200_000)) for _ in range(4)]
    expected = [_backward(silu, x, []) for x in xs]
    results: dict[int, torch.Tensor] = {}

    def work(i: int) -> None:
        for _ in range(3):
            results[i] = _backward(silu, xs[i], [])

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(torch.equal(results[i], expected[i]) for i in range(4))
