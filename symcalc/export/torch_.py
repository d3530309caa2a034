"""`to_torch`: a catalog function or expression as a PyTorch function with symcalc's
derivatives (a ``torch.autograd.Function`` per level)."""

from __future__ import annotations

import warnings
from collections.abc import Callable, Mapping
from typing import Any

import sympy

from ..errors import SymcalcError
from ..symbolic.catalog import Entry
from .functions import FrameworkFunction
from .jax_ import require
from .memo import Memo
from .partials import Partials, check_order_max
from .torch_numpy import NumpyRoute

__all__ = ["TorchFunction", "to_torch"]


class TorchFunction(FrameworkFunction):
    """``f`` as a PyTorch function: forward and backward are symcalc's stable kernels (the
    NumPy kernels on CPU float tensors, torch ops elsewhere), double backward supported,
    dtype and device kept.

    With ``compile=True`` each level's forward and each backward product
    (grad · ∂f/∂aᵢ) go through ``torch.compile``: one fused loop each instead of one
    pass per operation.  A backward that is itself differentiated (``create_graph``)
    takes the eager path of differentiable levels, whose forwards are compiled too.
    """

    framework = "torch"

    def __init__(self, partials: Partials, order_max: int, *, compile: bool = False):
        super().__init__(partials, order_max)
        self.compile = compile
        self._fused: Memo[tuple[int, ...], Callable[..., Any]] = Memo(self._lock)
        self._numpy = NumpyRoute(partials)

    def _traced(self, value: Callable[..., Any], index: tuple[int, ...]) -> Callable[..., Any]:
        if self.compile:
            return _compiled(value)
        return self._numpy.forward(value, index)

    def _extra(self, index: tuple[int, ...]) -> dict[str, Any]:
        n = len(self.variables)
        if self.compile:
            return {"fused": [(lambda i=i: self.fused(index + (i,))) for i in range(n)]}
        return {"fused": [(lambda i=i: self._product(index + (i,))) for i in range(n)]}

    def _product(self, index: tuple[int, ...]) -> Callable[..., Any]:
        """``grad · (partial along index)`` for an undifferentiated eager backward pass."""
        return self._numpy.product(index, lambda: self.body(index))

    def fused(self, index: tuple[int, ...]) -> Callable[..., Any]:
        """``grad · (partial along index)`` as one compiled function of (grad, *args)."""
        return self._fused.get(tuple(sorted(index)), self._compile_product)

    def _compile_product(self, key: tuple[int, ...]) -> Callable[..., Any]:
        # a code object of its own: torch.compile caches per code object, and a closure
        # shared by every level would exhaust its recompile limit
        namespace = {"body": self.body(key)}
        source = "def product(grad, *args):\n    return grad * body(*args)\n"
        label = f"<symcalc torch {self.entry.name} grad * d{list(key)}>"
        exec(compile(source, label, "exec"), namespace)  # noqa: S102 - fixed text
        return _compiled(namespace["product"])

    def __repr__(self) -> str:
        text = super().__repr__()
        return text[:-1] + ", compiled>" if self.compile else text


def _compiled(function: Callable[..., Any]) -> Callable[..., Any]:
    """``function`` under ``torch.compile`` (TorchInductor: one fused C++ loop on CPU).

    The first ``torch.compile`` imports TorchInductor, whose modules warn about PyTorch's
    own deprecated ``torch.jit`` helpers: that warning is PyTorch's business, not the
    caller's, and is silenced for the import.
    """
    import torch

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.compile(function, dynamic=None)


def to_torch(
    f: str | sympy.Expr | Entry,
    *,
    params: Mapping[str, Any] | None = None,
    order_max: int = 2,
    convention: str = "zero",
    compile: bool = False,
) -> TorchFunction:
    """``f`` (catalog name, expression or `Entry`) as a PyTorch function.

    Each level up to ``order_max`` is a ``torch.autograd.Function``: forward evaluates
    the stable form, backward multiplies the gradient by symcalc's stable
    partial derivative, itself such a Function, so ``create_graph=True`` (double
    backward, Hessian-vector products) uses the symbolic second derivative.  Beyond
    ``order_max`` autograd differentiates the last level's code.  Forward mode
    (``torch.autograd.forward_ad``) and the ``torch.func`` transforms (``vmap``,
    ``grad``, ``jacrev``, ``jacfwd``, ``hessian``, ``jvp``) evaluate the same symbolic
    derivatives (under a transform or forward mode each level is a Function with a
    ``jvp`` and a generated vmap rule; batched and forward-mode tensors take the
    torch-op code).  Tensors keep their
    dtype and device; NumPy arrays are tensors of their dtype, Python numbers (a
    loss's target) follow the tensors.  Accuracy: the kernel promise, 1e-12 relative in
    float64 and 1e-5 in float32 over the whole finite range, for the value and the
    symbolic derivatives, with one exception where the stable form runs in torch ops
    (below): the NumPy kernels recompute, in extended precision, elements where finite
    inputs gave inf or NaN on the way (x·sinh(2/x) at x = 1e308, a user's formula);
    torch ops have no wider type, so there such an element is inf or NaN (or 0 where a
    decaying factor meets one that overflowed: softsign(softsign(silu(x/3)))′ at 1e4).

    On CPU tensors of float32 or float64 (the default ``compile=False``) each level's
    forward, and each backward product grad · ∂f/∂aᵢ of a backward pass that is not
    itself differentiated, run through symcalc's NumPy kernel of the same stable form
    (`symcalc.export.torch_numpy`): zero-copy in and out, one chunked, cache-resident
    kernel call instead of one freshly allocated tensor per operation (the grad
    multiplies inside the kernel; erf and erfc inside it are PyTorch's).  The result is a
    fresh tensor; NaN and ±inf inputs give what the torch-op code gives, with no NumPy
    warning.  Other devices (CUDA) and a differentiated backward
    (``create_graph=True``) run the stable form in torch ops.  float16 and bfloat16
    tensors are computed in float32 (on CPU through the kernel) and rounded back, as
    PyTorch's own operations compute them (the stable forms' constants and
    intermediates leave a half's range).

    ``compile=True`` runs each level's forward, and each backward product grad · ∂f/∂aᵢ,
    through ``torch.compile`` (TorchInductor; on CPU it needs a C++ compiler): one fused
    loop instead of one pass per operation of the stable form, same promise; on CPU it
    beats the default route at 10⁶ elements for some functions (silu′, elu′: one loop
    against the kernel's passes) and loses at 10⁷ (``benchmarks/README.md``).
    Compiling costs seconds at
    the first call for each dtype and kind of shape (tens of seconds for the first
    compile in a process), so the default stays eager: turn it on for long training runs
    on large tensors, not for a few small calls.

    Examples
    --------
    >>> import torch
    >>> g = to_torch("sigmoid")
    >>> x = torch.tensor([40.0, 0.0], dtype=torch.float64, requires_grad=True)
    >>> (dx,) = torch.autograd.grad(g(x).sum(), x)
    >>> dx.tolist()  # torch.sigmoid's gradient at 40 is 0.0
    [4.248354255291589e-18, 0.25]
    >>> to_torch("silu", compile=True)  # compiles at the first call, not here
    <TorchFunction silu(x), symbolic derivatives to order 2, compiled>
    """
    require("torch", "torch", "to_torch")
    order_max = check_order_max(order_max)
    if not isinstance(compile, bool):
        raise SymcalcError(f"compile must be True or False, got {compile!r}")
    partials = Partials(f, params=params, convention=convention)
    return TorchFunction(partials, order_max, compile=compile)
