"""Backends: a pre-lowered expression compiled into something that runs.

``numpy``: the graph emitted as ufunc calls into scratch buffers (`numpy_source`), run
in chunks by `Kernel`.  ``numba``: the graph emitted as one scalar assignment per node
(`ExpressionEmitter` with the `ScalarPrinter`) inside a function that numba turns into a
ufunc with float64 and float32 loops.  Generated source never contains a symbol's own
name (a SymPy symbol may be named anything): arguments are ``a0, a1, ...``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import scipy.special
import sympy

from . import runtime
from .emit import ExpressionEmitter, numpy_source
from .erf import erf_array, erfc_array
from .graph import Graph
from .printers import NUMBA_HELPERS, NUMBA_PRELUDE, ScalarPrinter
from .ranges import Range

__all__ = ["BACKENDS", "compile_numba", "compile_numpy"]

#: Backends ``kernel(backend=...)`` accepts.
BACKENDS = ("numpy", "numba")

#: The names generated NumPy source may use.
NAMESPACE: dict[str, Any] = {
    "np": np,
    "_sp": scipy.special,
    "_select": runtime.select,
    "_negabs": runtime.negabs,
    "_exp_finite": runtime.exp_finite,
    "_hypot": runtime.hypot,
    "_recip_capped": runtime.recip_capped,
    "_zero_wins": runtime.zero_wins,
    "erf_array": erf_array,
    "erfc_array": erfc_array,
    "NAN": math.nan,
    "INF": math.inf,
}


def compile_numpy(
    lowered: sympy.Expr,
    variables: Sequence[sympy.Symbol],
    label: str,
    domains: Sequence[Range] = (),
) -> tuple[Callable[..., Any], str, dict[str, int], tuple[str, ...], Range]:
    """``_kernel(a0, ..., out, scratch)``, its source, buffer counts, constant buffers and
    the range of its result when the variables lie in ``domains`` (default: anywhere)."""
    graph = Graph(variables)
    root = graph.build(lowered)
    inputs = dict(zip(graph.names.values(), domains, strict=False))
    source, counts, constants, result = numpy_source(graph, root, inputs)
    namespace = dict(NAMESPACE)
    exec(compile(source, f"<symcalc kernel {label}>", "exec"), namespace)  # noqa: S102 - generated
    return namespace["_kernel"], source, counts, constants, result


def scalar_source(lowered: sympy.Expr, variables: Sequence[sympy.Symbol]) -> str:
    """Source of ``_scalar(a0, a1, ...)``: one assignment per graph node, branches inlined."""
    graph = Graph(variables)
    root = graph.build(lowered)
    emitter = ExpressionEmitter(graph, ScalarPrinter(), "scalar")
    result = emitter.value(root)
    body = [*emitter.lines, f"return {result}"]
    args = ", ".join(graph.names.values())
    return f"def _scalar({args}):\n" + "".join(f"    {line}\n" for line in body)


def compile_numba(
    lowered: sympy.Expr, variables: Sequence[sympy.Symbol]
) -> tuple[str, dict[np.dtype, Any]]:
    """Source of one scalar function and its numba ufunc (float64 and float32 loops)."""
    import numba

    source = NUMBA_PRELUDE + "\n\n" + scalar_source(lowered, variables)
    namespace: dict[str, Any] = {"math": math, "NAN": math.nan, "INF": math.inf}
    exec(compile(source, "<symcalc numba kernel>", "exec"), namespace)  # noqa: S102 - generated
    for helper in NUMBA_HELPERS:
        namespace[helper] = numba.njit(namespace[helper])
    scalar = numba.njit(namespace["_scalar"])
    signatures = [nb(*([nb] * len(variables))) for nb in (numba.float64, numba.float32)]
    ufunc = numba.vectorize(signatures, nopython=True)(scalar)
    return source, {np.dtype(np.float64): ufunc, np.dtype(np.float32): ufunc}
