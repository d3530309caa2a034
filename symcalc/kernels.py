"""Symbolic results lambdified into vectorized NumPy kernels.

FIRST VERSION: a plain lambdify with SciPy special functions.  The kernels issue
replaces the body (stability rewrites, dtype preservation, caching, fast backends)
while keeping this interface: ``kernel(f, order=0, wrt=None, dtype=None, ...)``
returns a `Kernel` callable on arrays (broadcast together) and scalars.

Examples
--------
>>> k = kernel("sigmoid")
>>> float(k(0.0))
0.5
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import scipy.special
import sympy

from .catalog import Entry
from .derivatives import derivative, variable_of
from .functions import sigmoid
from .parse import resolve

__all__ = ["Kernel", "kernel"]

_MODULES = [{"erf": scipy.special.erf, "erfc": scipy.special.erfc, "sigmoid": scipy.special.expit}, "numpy"]


@dataclasses.dataclass(frozen=True, repr=False)
class Kernel:
    """A NumPy function of ``variables`` that evaluates ``expr``."""

    expr: sympy.Expr
    variables: tuple[sympy.Symbol, ...]
    source: str
    function: Callable[..., Any]
    entry: Entry
    order: int = 0
    wrt: sympy.Symbol | None = None

    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.variables):
            names = ", ".join(v.name for v in self.variables)
            from .errors import SymcalcError

            raise SymcalcError(f"kernel takes {len(self.variables)} argument(s) ({names}), got {len(args)}")
        with np.errstate(all="ignore"):
            return self.function(*(np.asarray(a, dtype=float) for a in args))

    def __repr__(self) -> str:
        return f"<Kernel ({', '.join(v.name for v in self.variables)}) -> {sympy.sstr(self.expr)}>"


def kernel(
    f: str | sympy.Expr | Entry,
    order: int = 0,
    wrt: str | sympy.Symbol | None = None,
    dtype: Any = None,
    *,
    params: Mapping[str, Any] | None = None,
    convention: str = "zero",
    stable: bool = True,
) -> Kernel:
    """A NumPy kernel for ``f`` or its derivative of ``order`` in ``wrt``."""
    entry = resolve(f, **dict(params or {}))
    var = variable_of(entry, wrt) if order else None
    expr = derivative(entry, var, order, convention=convention) if order else entry.expr
    bound = entry.bind(expr)
    variables = entry.variables
    fn = sympy.lambdify(variables, bound.replace(lambda e: isinstance(e, sigmoid), lambda e: e), modules=_MODULES, cse=True)
    import inspect

    return Kernel(bound, variables, inspect.getsource(fn), fn, entry, order, var)
