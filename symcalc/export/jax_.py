"""`to_jax`: a catalog function or expression as a JAX function with symcalc's derivatives."""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Any

import sympy

from ..errors import SymcalcError
from ..symbolic.catalog import Entry
from .functions import FrameworkFunction
from .partials import Partials, check_order_max

__all__ = ["JaxFunction", "to_jax"]


def require(package: str, extra: str, what: str) -> None:
    """A one-line `SymcalcError` naming the extra to install when ``package`` is missing."""
    if importlib.util.find_spec(package) is None:
        raise SymcalcError(
            f"{what} needs {package}, which is not installed: pip install 'symcalc[{extra}]'"
        )


class JaxFunction(FrameworkFunction):
    """``f`` as a JAX function: jit, vmap and grad to any order; derivatives are symcalc's.

    Each level up to ``order_max`` is a ``jax.custom_jvp`` whose JVP evaluates the next
    symbolic derivative (see `symcalc.export.functions`).  float32 stays float32; float64
    needs JAX's 64-bit mode (``jax.config.update("jax_enable_x64", True)``), without
    which JAX turns float64 inputs into float32: a NumPy float64 input given while the
    mode is off is refused, rather than silently computed in float32.
    """

    framework = "jax"

    def _extra(self, index: tuple[int, ...]) -> dict[str, Any]:
        # whether each partial is finite for finite inputs, asked when a JVP needs it
        n = len(self.variables)
        get = self.partials.get
        return {"finite": [(lambda i=i: get(index + (i,)).finite) for i in range(n)]}

    def __call__(self, *args: Any) -> Any:
        self.check_arguments(args)
        for a in args:
            if not (isinstance(a, (bool, int, float)) or hasattr(a, "dtype")):
                raise SymcalcError(
                    f"{self.signature()} takes arrays or numbers, as jax.numpy functions do: "
                    f"got a {type(a).__name__}; pass jnp.asarray(...) of it"
                )
        _check_x64(args)
        return self.level(())(*args)


def _check_x64(args) -> None:
    import jax.numpy as jnp
    import numpy as np

    if jnp.result_type(float) == jnp.float64:
        return
    for a in args:
        if isinstance(a, (np.ndarray, np.floating)) and a.dtype == np.float64:
            raise SymcalcError(
                "a float64 NumPy input, but JAX computes in float32 until 64-bit mode is on: "
                'call jax.config.update("jax_enable_x64", True) first, or pass float32'
            )


def to_jax(
    f: str | sympy.Expr | Entry,
    *,
    params: Mapping[str, Any] | None = None,
    order_max: int = 2,
    convention: str = "zero",
) -> JaxFunction:
    """``f`` (catalog name, expression or `Entry`) as a JAX function with symbolic derivatives.

    The value is computed from the same stable forms as `symcalc.kernel`, emitted as
    ``jax.numpy`` code; the derivative that ``jax.grad``, ``jax.jvp`` or ``jax.hessian``
    sees is symcalc's own stable derivative (a ``jax.custom_jvp``), and so on up to
    ``order_max``; beyond it JAX differentiates the last level's code.  It works under
    ``jit`` and ``vmap``, on any device, keeps float32 as float32 and takes a loss's
    target after the prediction, like the NumPy kernels.  float16 and bfloat16 are
    computed in float32 and rounded back, as PyTorch's own operations compute them (the
    stable forms' constants and intermediates leave a half's range).  ``params`` override catalog
    parameters, ``convention`` sets derivatives at kinks (`symcalc.symbolic.kinks`).

    Accuracy: the kernel promise (1e-12 relative in float64, 1e-5 in float32, over the
    whole finite range) for the value and the symbolic derivatives, with exceptions
    that are XLA's and array code's:

    * XLA flushes subnormal numbers to zero, so a subnormal input is read as ±0, a
      float32 result below about 1e-34 may come out as 0, and so may a result computed
      through a subnormal intermediate (exp(-2x²)·exp(x²) in a user's formula);
    * under ``jit``, XLA on CPU contracts ``a·b + c`` into one fused multiply-add, so a
      difference that is exact in separate roundings is not: hard_swish′(-1.5) is
      2.8e-17, not 0, and a user's formula that cancels exactly (3x − 3·softplus(x) at
      x = 1e24) can lose every digit;
    * the NumPy kernels recompute, in extended precision, elements where finite inputs
      gave inf or NaN on the way (x·sinh(2/x) at x = 1e308); JAX has no wider type, so
      such an element of a user's formula is inf or NaN here, or 0 where a decaying
      factor meets one that overflowed in a quotient of sums of exponentials
      (softsign(softsign(silu(x/3)))′ at x = 1e4, for 7.5e-9).

    Forward mode (``jax.jacfwd``, ``jax.hessian``) gives the other arguments and
    elements zero tangents; a zero tangent adds 0 even where its partial overflows
    (squared_hinge's Jacobian at p = -1e200, y = 1 is (-2e200, inf), not (NaN, inf)).

    The catalog (parameters included) meets the promise apart from the first two.

    Examples
    --------
    >>> import jax, jax.numpy as jnp
    >>> g = to_jax("sigmoid")
    >>> with jax.enable_x64(True):  # float64 (JAX's default is float32)
    ...     float(jax.grad(g)(40.0))  # jax.nn.sigmoid's gradient is 0.0 here
    4.248354255291589e-18
    >>> jax.jit(jax.vmap(jax.grad(jax.grad(g))))(jnp.array([0.0, 1.0], jnp.float32)).dtype
    dtype('float32')
    >>> bce = to_jax("bce_with_logits")
    >>> float(jax.grad(bce)(-800.0, 1.0))
    -1.0
    """
    require("jax", "jax", "to_jax")
    order_max = check_order_max(order_max)
    return JaxFunction(Partials(f, params=params, convention=convention), order_max)
