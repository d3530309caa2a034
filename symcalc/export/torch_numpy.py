"""`to_torch` on CPU: each level runs through symcalc's NumPy kernel, zero-copy.

In eager mode PyTorch runs a stable form one operation at a time, each into a freshly
allocated tensor (page faults at every call), and its float64 ``exp`` is twice
NumPy's.  The NumPy kernels (`symcalc.numeric.kernels`) compute the same stable forms
in chunks that stay in cache, into reused scratch, with cheaper primitives (σ′ through
``cosh``).  So on CPU tensors of float32 or float64, `NumpyRoute` evaluates a level's
forward, and a backward product grad · ∂f/∂aᵢ (the grad is one more argument of the
kernel, multiplied in its own pass), through the kernel: the tensors are read as NumPy
arrays sharing their memory (``t.detach().numpy()``) and the kernel's fresh output is
returned as a tensor sharing its memory (``torch.from_numpy``).  Inside the kernel,
erf and erfc are PyTorch's (`TORCH_FUNCTIONS`), on the kernel's own buffers.  float16
and bfloat16 tensors arrive here as float32 (`symcalc.export.runtime` widens them).

Everything else takes the torch-op code, unchanged: other devices (CUDA), tensor
subclasses, code being traced by ``torch.compile``, and a
backward pass that is differentiated itself (``create_graph=True``), which needs
autograd to record it; `symcalc.export.runtime` decides that last case.  Both routes
compute the same stable form and keep the kernel promise; an element may differ in its
last bit (the NumPy kernel uses other primitives), and where finite inputs overflow
on the way the kernel recomputes in extended range, so it may return a finite value
where the torch-op code returns inf or NaN.  NaN and ±inf inputs give what the
torch-op code gives (tested over the catalog); no NumPy warning is raised or shown.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from ..numeric.kernels import Kernel, erf_array, erfc_array, form_kernel
from .memo import Memo
from .partials import Partials

__all__ = ["TORCH_FUNCTIONS", "NumpyRoute", "numpy_views"]


def _torch_pass(name: str, fallback: Callable[..., Any]) -> Callable[..., Any]:
    """A kernel helper ``f(z, out=None)`` as one call of ``torch.special.<name>`` on the
    arrays' memory (``fallback``, the NumPy helper, for a read-only input)."""

    def run(z, out=None):
        import torch

        z = np.asarray(z)
        if not z.flags.writeable or z.dtype not in (np.float32, np.float64):
            return fallback(z, out=out)
        if out is None:
            out = np.empty_like(z)
        getattr(torch.special, name)(torch.from_numpy(z), out=torch.from_numpy(out))
        return out

    run.__name__ = f"torch_{name}"
    return run


#: Kernel helpers that PyTorch computes faster, replaced inside the kernels it runs.
#: erf and erfc are Cephes' rational approximations as whole-array float64 NumPy passes
#: in the kernels (gelu′ at 10⁶ elements: 24 ns/element in float32), vectorized
#: polynomials in PyTorch; both meet the kernel promise (tested over the catalog).
TORCH_FUNCTIONS = {
    "erf_array": _torch_pass("erf", erf_array),
    "erfc_array": _torch_pass("erfc", erfc_array),
}


def numpy_views(tensors: Sequence[Any]) -> list[np.ndarray] | None:
    """The tensors as NumPy arrays sharing their memory, or None where NumPy cannot run
    them: not all plain CPU tensors of one dtype, float32 or float64, or traced code.

    Examples
    --------
    >>> import torch
    >>> numpy_views([torch.zeros(2, dtype=torch.float64), torch.tensor(1.0).double()])
    [array([0., 0.]), array(1.)]
    >>> numpy_views([torch.zeros(2, dtype=torch.float16)]) is None
    True
    """
    import torch

    dtype = tensors[0].dtype
    if dtype not in (torch.float32, torch.float64) or torch.compiler.is_compiling():
        return None
    for t in tensors:
        plain = type(t) is torch.Tensor or type(t) is torch.nn.Parameter
        if plain and _wrapped(t):  # a torch.func transform's (batched, dual): no memory
            return None
        if not plain or t.dtype != dtype or t.device.type != "cpu" or t.layout != torch.strided:
            return None
    return [t.detach().resolve_neg().numpy() for t in tensors]


def _wrapped(t) -> bool:
    """Whether ``t`` is a ``torch.func`` transform's wrapper (vmap's batched tensor,
    grad's or jvp's level; the batched tensor of autograd's own ``is_grads_batched``,
    which gradcheck's batched checks use) or carries a forward-mode tangent: no NumPy
    view of it."""
    import torch

    functorch = getattr(torch._C, "_functorch", None)
    if functorch is not None and (
        functorch.is_functorch_wrapped_tensor(t) or functorch.is_legacy_batchedtensor(t)
    ):
        return True
    return t._fw_grad(0) is not None if hasattr(t, "_fw_grad") else False


def _collapsed(grad: np.ndarray) -> np.ndarray:
    """A gradient that is one value broadcast (``sum()``'s backward) as that 0-d value."""
    if grad.ndim and grad.size > 1 and not any(grad.strides):
        return grad[(0,) * grad.ndim]
    return grad


class NumpyRoute:
    """The NumPy kernels of one function's levels (built on first use, thread-safe) and
    the wrappers that route CPU tensors through them."""

    def __init__(self, partials: Partials):
        self.partials = partials
        #: The gradient, as the extra last argument of a backward product's kernel.
        self.grad = sympy.Dummy("grad")
        self._kernels: Memo[tuple[tuple[int, ...], bool], Kernel | None] = Memo()
        self._products: Memo[tuple[int, ...], Callable[..., Any]] = Memo()

    def kernel(self, index: tuple[int, ...], *, scaled: bool = False) -> Kernel | None:
        """The kernel of the partial along ``index``, times the gradient if ``scaled``
        (None: the level runs in torch ops; a subclass may decide so)."""
        return self._kernels.get((tuple(sorted(index)), scaled), self._build_kernel)

    def _build_kernel(self, key: tuple[tuple[int, ...], bool]) -> Kernel | None:
        index, scaled = key
        partial = self.partials.get(index)
        pure = len(set(index)) == 1
        return form_kernel(
            partial.entry,
            partial.form,
            order=partial.order,
            wrt=self.partials.variables[index[0]] if pure else None,
            scale=self.grad if scaled else None,
            functions=TORCH_FUNCTIONS,
        )

    def forward(self, value: Callable[..., Any], index: tuple[int, ...]) -> Callable[..., Any]:
        """``value`` (the level's torch-op body) with CPU float tensors sent to the kernel."""
        import torch

        @functools.wraps(value)
        def level(*args):
            arrays = numpy_views(args)
            kernel = None if arrays is None else self.kernel(index)
            if kernel is None:
                return value(*args)
            with np.errstate(all="ignore"):  # an inf or NaN result is torch's, silent
                return torch.from_numpy(kernel.evaluate(*arrays))

        return level

    def product(
        self, index: tuple[int, ...], body: Callable[[], Callable[..., Any]]
    ) -> Callable[..., Any]:
        """``grad · (partial along index)`` as a function of (grad, *args): one kernel
        pass on CPU float tensors, else ``grad * body()(*args)`` in torch ops."""
        return self._products.get(tuple(sorted(index)), lambda key: self._product(key, body))

    def _product(
        self, key: tuple[int, ...], body: Callable[[], Callable[..., Any]]
    ) -> Callable[..., Any]:
        import torch

        def product(grad, *args):
            arrays = numpy_views((*args, grad))
            kernel = None if arrays is None else self.kernel(key, scaled=True)
            if kernel is None:
                return grad * body()(*args)
            arrays[-1] = _collapsed(arrays[-1])
            with np.errstate(all="ignore"):
                return torch.from_numpy(kernel.evaluate(*arrays))

        return product
