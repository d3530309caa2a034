"""`symcalc.to_torch`: PyTorch itself checks the derivatives, mpmath the values.

* ``torch.autograd.gradcheck`` and ``gradgradcheck`` on every catalog entry: PyTorch's
  finite differences against the backward passes that evaluate symcalc's symbolic
  derivatives (the second through double backward).
* The kernel promise for every catalog entry, its first and second derivatives, in
  float64 and float32, against mpmath (the truth and points of `test_stability`); PyTorch
  keeps subnormal numbers, so the promise is exactly the NumPy kernels'.
* The tails the issue lists, at 50 digits: the exported function is right where
  ``torch.nn.functional`` is not; and they agree where the built-in is accurate.
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
from lazy import lazy, real, torch_dtype

from symcalc import to_torch
from symcalc.errors import SymcalcError
from symcalc.symbolic.catalog import get

torch = lazy("torch")  # imported by the first test, not by collection (see tests/lazy.py)
F = lazy("torch.nn.functional")

ATOL = {np.dtype(np.float64): 1e-300, np.dtype(np.float32): 1e-36}

_FUNCTIONS: dict[str, object] = {}


def function(name: str):
    """One `to_torch` per catalog entry for the whole module."""
    if name not in _FUNCTIONS:
        _FUNCTIONS[name] = to_torch(name)
    return _FUNCTIONS[name]


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_gradcheck_and_gradgradcheck_agree_with_the_symbolic_derivatives(name):
    g = function(name)
    targets = target_values(name)
    x = torch.tensor(grad_points(name), dtype=torch.float64, requires_grad=True)
    assert torch.autograd.gradcheck(lambda v: g(v, *targets), (x,))
    assert torch.autograd.gradgradcheck(lambda v: g(v, *targets), (x,))


@pytest.mark.parametrize("name", ["binary_cross_entropy_with_logits", "huber", "squared_error"])
def test_gradcheck_through_the_target_too(name):
    g = function(name)
    p = torch.tensor(grad_points(name), dtype=torch.float64, requires_grad=True)
    y = torch.full_like(p, 0.35 if name != "huber" else 0.1).requires_grad_()
    assert torch.autograd.gradcheck(g, (p, y))
    assert torch.autograd.gradgradcheck(g, (p, y))


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_values_and_derivatives_meet_the_kernel_promise(name):
    entry = get(name)
    g = function(name)
    levels = [g.level((0,) * order) for order in range(3)]
    forms = [g.partials.get((0,) * k).form for k in range(3)]
    truths = [Truth(f.bound, g.variables, f.lowered) for f in forms]
    report = []
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        points = domain_points(entry, entry.variable, dtype.type)
        x = torch.from_numpy(points)
        for config in configurations(entry):
            others = [torch.tensor(v, dtype=torch_dtype(dtype)) for v in config.values()]
            for order, (level, truth) in enumerate(zip(levels, truths, strict=True)):
                value = level(x, *others)
                assert value.dtype == torch_dtype(dtype)
                failures = promise_failures(
                    value.numpy(), points, config, truth, dtype, ATOL[dtype]
                )
                report += [(dtype.name, order, config, *f) for f in failures]
    assert not report, f"{g!r} misses the promise at {len(report)} points, e.g. {report[:4]}"


def test_backward_evaluates_the_symbolic_levels_and_builds_only_what_is_asked():
    g = to_torch("binary_cross_entropy_with_logits")
    z = torch.linspace(-30.0, 30.0, 13, dtype=torch.float64, requires_grad=True)
    loss = g(z, 1.0)
    (first,) = torch.autograd.grad(loss.sum(), z, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), z)
    assert torch.equal(first.detach(), g.level((0,))(z.detach(), 1.0))
    # an undifferentiated backward on CPU runs the same form as a NumPy kernel: an ulp off
    torch.testing.assert_close(second, g.level((0, 0))(z.detach(), 1.0), rtol=5e-16, atol=0)
    assert set(g._levels) == {(), (0,), (0, 0)}  # the target's derivatives were never built


def test_dtype_device_and_broadcast_target_gradients_are_kept():
    g = function("binary_cross_entropy_with_logits")
    z = torch.linspace(-4, 4, 12, dtype=torch.float32).reshape(3, 4).requires_grad_()
    y = torch.tensor(0.25, dtype=torch.float32, requires_grad=True)  # broadcast against z
    loss = g(z, y)
    assert loss.dtype == torch.float32 and loss.shape == (3, 4)
    dz, dy = torch.autograd.grad(loss.sum(), (z, y))
    assert dz.dtype == torch.float32 and dz.shape == (3, 4)
    assert dy.shape == () and torch.allclose(dy, -z.detach().sum())  # d/dy = -z, summed
    meta = torch.empty(5, dtype=torch.float64, device="meta")  # no data: device is kept
    assert g(meta, 1.0).device.type == "meta"
    assert function("relu").level((0, 0))(torch.ones(3)).tolist() == [0.0, 0.0, 0.0]
    assert g(torch.tensor([2.0], dtype=torch.float64), 1).dtype == torch.float64
    x = torch.ones(3, dtype=torch.float64)
    assert function("identity")(x) is not x  # a fresh tensor, never the input itself


def test_beyond_order_max_autograd_differentiates_the_last_level(mp_digits):
    mp_digits(50)
    g = to_torch("sigmoid")
    x = torch.tensor([-3.0, 0.5, 2.0], dtype=torch.float64, requires_grad=True)
    (d1,) = torch.autograd.grad(g(x).sum(), x, create_graph=True)
    (d2,) = torch.autograd.grad(d1.sum(), x, create_graph=True)
    (d3,) = torch.autograd.grad(d2.sum(), x)
    for value, point in zip(d3.tolist(), x.tolist(), strict=True):
        s = mpmath.mpf(1) / (1 + mpmath.exp(-point))
        assert abs(value - float(s * (1 - s) * (1 - 6 * s + 6 * s**2))) <= 1e-14


def test_arguments_and_a_missing_torch_are_one_line_errors(monkeypatch):
    with pytest.raises(SymcalcError, match=r"takes 2 argument\(s\) \(z, y\), got 3"):
        function("binary_cross_entropy_with_logits")(1.0, 2.0, 3.0)
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(SymcalcError, match=r"pip install 'symcalc\[torch\]'"):
        to_torch("sigmoid")


# -- where torch.nn.functional fails: the tails the issue lists, at 50 digits -----------------


def _grad(f, x: float, dtype, *args) -> float:
    t = torch.tensor([x], dtype=dtype, requires_grad=True)
    return torch.autograd.grad(f(t, *args).sum(), t)[0].item()


def _exact(which: str, x: float, mp_digits) -> float:
    mp_digits(50)
    v = mpmath.mpf(x)
    s = 1 / (1 + mpmath.exp(-v))
    return float(
        {
            "sigmoid'": lambda: s * (1 - s),
            "tanh'": lambda: 1 / mpmath.cosh(v) ** 2,
            "gelu'": lambda: mpmath.ncdf(v) + v * mpmath.npdf(v),
        }[which]()
    )


FLOAT64 = lazy("torch.float64", named=False)  # test ids dtype0, dtype1, ... as before
FLOAT32 = lazy("torch.float32", named=False)

TAILS = [  # (entry, built-in, x, dtype, truth)
    ("sigmoid", lazy("torch.sigmoid"), 40.0, FLOAT64, "sigmoid'"),
    ("sigmoid", lazy("torch.sigmoid"), 36.7, FLOAT64, "sigmoid'"),
    ("sigmoid", lazy("torch.sigmoid"), 17.0, FLOAT32, "sigmoid'"),
    ("tanh", lazy("torch.tanh"), 19.1, FLOAT64, "tanh'"),
    ("tanh", lazy("torch.tanh"), 9.0, FLOAT32, "tanh'"),
    ("gelu", lazy("torch.nn.functional.gelu"), -8.38, FLOAT64, "gelu'"),
    ("gelu", lazy("torch.nn.functional.gelu"), -6.15, FLOAT32, "gelu'"),
]


@pytest.mark.parametrize(("name", "builtin", "x", "dtype", "truth"), TAILS)
def test_the_exported_derivative_is_right_in_the_tails_where_torch_is_not(
    name, builtin, x, dtype, truth, mp_digits
):
    builtin, dtype = real(builtin), real(dtype)
    exact = _exact(truth, float(torch.tensor(x, dtype=dtype)), mp_digits)
    rtol = 1e-12 if dtype == torch.float64 else 1e-5
    assert abs(_grad(function(name), x, dtype) - exact) <= rtol * abs(exact)
    assert abs(_grad(builtin, x, dtype) - exact) > 0.01 * abs(exact)  # the built-in is off


def test_hardsigmoid_slope_is_one_sixth_in_float64():
    ours = _grad(function("hard_sigmoid"), 0.5, torch.float64)
    assert ours == 1 / 6
    assert _grad(F.hardsigmoid, 0.5, torch.float64) == float(np.float32(1 / 6))  # rounded


def test_binary_cross_entropy_is_not_clamped(mp_digits):
    """PyTorch clamps log at -100 and the gradient's denominator at 1e-12."""
    g = function("binary_cross_entropy")
    p = torch.tensor([1e-13], dtype=torch.float64, requires_grad=True)
    zero = torch.zeros(1, dtype=torch.float64)
    ours = torch.autograd.grad(g(p, zero).sum(), p)[0].item()
    theirs = torch.autograd.grad(F.binary_cross_entropy(p, zero), p)[0].item()
    assert abs(ours - 1.0000000000001) <= 1e-12 and abs(theirs - 0.1) < 1e-8
    tiny = torch.tensor([1e-50], dtype=torch.float64)
    assert g(tiny, 1.0).item() == pytest.approx(115.12925464970229, rel=1e-15)  # -log(1e-50)
    assert F.binary_cross_entropy(tiny, torch.ones(1, dtype=torch.float64)).item() == 100.0


BUILTINS = [  # (entry, torch function, keyword arguments) that agree where accurate
    ("sigmoid", lazy("torch.sigmoid")),
    ("tanh", lazy("torch.tanh")),
    ("relu", lazy("torch.nn.functional.relu")),
    ("relu6", lazy("torch.nn.functional.relu6")),
    ("leaky_relu", lazy("torch.nn.functional.leaky_relu")),
    ("elu", lazy("torch.nn.functional.elu")),
    ("selu", lazy("torch.nn.functional.selu")),
    ("celu", lazy("torch.nn.functional.celu")),
    ("softplus", lazy("torch.nn.functional.softplus")),
    ("softsign", lazy("torch.nn.functional.softsign")),
    ("silu", lazy("torch.nn.functional.silu")),
    ("gelu", lazy("torch.nn.functional.gelu")),
    ("gelu_tanh", lambda v: F.gelu(v, approximate="tanh")),
    ("mish", lazy("torch.nn.functional.mish")),
    ("hard_tanh", lazy("torch.nn.functional.hardtanh")),
    ("hard_swish", lazy("torch.nn.functional.hardswish")),
    ("log_sigmoid", lazy("torch.nn.functional.logsigmoid", named="log_sigmoid")),
    ("tanhshrink", lazy("torch.nn.functional.tanhshrink")),
    ("hardshrink", lazy("torch.nn.functional.hardshrink")),
    ("softshrink", lazy("torch.nn.functional.softshrink")),
]


@pytest.mark.parametrize(("name", "builtin"), BUILTINS)
def test_torch_functional_agrees_where_it_is_accurate(name, builtin):
    builtin = real(builtin)
    x = torch.tensor(grad_points(name), dtype=torch.float64, requires_grad=True)
    ours, theirs = function(name)(x), builtin(x)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-300)
    (d_ours,) = torch.autograd.grad(ours.sum(), x)
    (d_theirs,) = torch.autograd.grad(theirs.sum(), x)
    torch.testing.assert_close(d_ours, d_theirs, rtol=1e-12, atol=1e-300)


LOSSES = [  # (entry, torch loss with reduction="none")
    ("squared_error", lambda p, y: F.mse_loss(p, y, reduction="none")),
    ("absolute_error", lambda p, y: F.l1_loss(p, y, reduction="none")),
    ("huber", lambda p, y: F.huber_loss(p, y, reduction="none")),
    ("binary_cross_entropy", lambda p, y: F.binary_cross_entropy(p, y, reduction="none")),
    (
        "binary_cross_entropy_with_logits",
        lambda z, y: F.binary_cross_entropy_with_logits(z, y, reduction="none"),
    ),
]


@pytest.mark.parametrize(("name", "builtin"), LOSSES)
def test_torch_losses_agree_where_they_are_accurate(name, builtin):
    p = torch.tensor(grad_points(name), dtype=torch.float64, requires_grad=True)
    y = torch.full_like(p, 0.3)
    ours, theirs = function(name)(p, y), builtin(p, y)
    torch.testing.assert_close(ours, theirs, rtol=1e-12, atol=1e-300)
    (d_ours,) = torch.autograd.grad(ours.sum(), p)
    (d_theirs,) = torch.autograd.grad(theirs.sum(), p)
    torch.testing.assert_close(d_ours, d_theirs, rtol=1e-12, atol=1e-300)
