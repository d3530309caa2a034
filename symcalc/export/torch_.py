"""`to_torch`: a catalog function or expression as a PyTorch function with symcalc's
derivatives (a ``torch.autograd.Function`` per level)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import sympy

from ..symbolic.catalog import Entry
from .functions import FrameworkFunction
from .jax_ import require
from .partials import Partials, check_order_max

__all__ = ["TorchFunction", "to_torch"]


class TorchFunction(FrameworkFunction):
    """``f`` as a PyTorch function: forward and backward are symcalc's stable kernels in
    torch ops, double backward supported, dtype and device kept."""

    framework = "torch"


def to_torch(
    f: str | sympy.Expr | Entry,
    *,
    params: Mapping[str, Any] | None = None,
    order_max: int = 2,
    convention: str = "zero",
) -> TorchFunction:
    """``f`` (catalog name, expression or `Entry`) as a PyTorch function.

    Each level up to ``order_max`` is a ``torch.autograd.Function``: forward evaluates
    the stable form in torch ops, backward multiplies the gradient by symcalc's stable
    partial derivative, itself such a Function, so ``create_graph=True`` (double
    backward, Hessian-vector products) uses the symbolic second derivative.  Beyond
    ``order_max`` autograd differentiates the last level's code.  Tensors keep their
    dtype and device; Python numbers (a loss's target) follow them.  Accuracy: the
    kernel promise, 1e-12 relative in float64 and 1e-5 in float32 over the whole finite
    range, for the value and the symbolic derivatives.

    Examples
    --------
    >>> import torch
    >>> g = to_torch("sigmoid")
    >>> x = torch.tensor([40.0, 0.0], dtype=torch.float64, requires_grad=True)
    >>> (dx,) = torch.autograd.grad(g(x).sum(), x)
    >>> dx.tolist()  # torch.sigmoid's gradient at 40 is 0.0
    [4.248354255291589e-18, 0.25]
    """
    require("torch", "torch", "to_torch")
    order_max = check_order_max(order_max)
    return TorchFunction(Partials(f, params=params, convention=convention), order_max)
