"""``to_torch(f, compile=True)``: the compiled forward and fused backward keep the promise.

TorchInductor compiles each level's forward and each backward product grad · ∂f/∂x into
one C++ loop; what it computes must still meet the kernel promise against mpmath (the
truth and points of `test_stability`, via ``tests/frameworks.py``) in float64 and
float32, over the whole finite range.  Compiling costs seconds, so this is one small
test of one function, compiled once for the module (bce_with_logits: σ(z) and σ(-z)
sharing one exponential, and a target), and one of the double-backward path.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
from frameworks import Truth, configurations, domain_points, promise_failures
from lazy import lazy

from symcalc import to_torch
from symcalc.errors import SymcalcError
from symcalc.symbolic.catalog import get

torch = lazy("torch")  # imported by the first test, not by collection (see tests/lazy.py)

ATOL = {np.dtype(np.float64): 1e-300, np.dtype(np.float32): 1e-36}
NAME = "binary_cross_entropy_with_logits"


_COMPILED: list = []


def compiled():
    """One compiled function for the module: what a test compiled, the next one reuses."""
    if not _COMPILED:
        _COMPILED.append(to_torch(NAME, compile=True))
    return _COMPILED[0]


@pytest.mark.parametrize("dtype", [np.dtype(np.float64), np.dtype(np.float32)])
def test_compiled_forward_and_backward_meet_the_kernel_promise(dtype):
    entry = get(NAME)
    g = compiled()
    forms = [g.partials.get((0,) * k).form for k in range(2)]
    truths = [Truth(f.bound, g.variables, f.lowered) for f in forms]
    report = []
    points = domain_points(entry, entry.variable, dtype.type)
    for config in configurations(entry):
        z = torch.from_numpy(points).requires_grad_()
        y = torch.tensor(*config.values(), dtype=z.dtype)
        value = g(z, y)
        (grad,) = torch.autograd.grad(value.sum(), z)  # the fused, compiled product
        for order, out in enumerate((value.detach(), grad)):
            assert out.dtype == z.dtype
            failures = promise_failures(
                out.numpy(), points, config, truths[order], dtype, ATOL[dtype]
            )
            report += [(order, config, *f) for f in failures]
    assert not report, f"compiled {NAME} misses the promise in {dtype} at {report[:4]}"


def test_compiled_double_backward_uses_the_symbolic_second_derivative(mp_digits):
    mp_digits(50)
    g = compiled()
    z = torch.tensor([-40.0, 0.5, 40.0], dtype=torch.float64, requires_grad=True)
    (first,) = torch.autograd.grad(g(z, 1.0).sum(), z, create_graph=True)
    (second,) = torch.autograd.grad(first.sum(), z)
    truth = [float(mpmath.sigmoid(v) * mpmath.sigmoid(-v)) for v in z.detach().tolist()]
    np.testing.assert_allclose(second.numpy(), truth, rtol=1e-12)  # torch's is 0 at ±40
    assert "compiled" in repr(g)


def test_compile_takes_a_bool():
    with pytest.raises(SymcalcError, match="compile must be True or False"):
        to_torch("sigmoid", compile="yes")
