"""Backends: a pre-lowered expression compiled into something that runs.

``numpy``: the graph emitted as ufunc calls into scratch buffers (`numpy_source`), run
in chunks by `Kernel`.  ``numba``: the graph emitted as one scalar assignment per node
(`ExpressionEmitter` with the `ScalarPrinter`) inside a function that numba turns into a
ufunc with float64 and float32 loops.  ``jax``: the graph emitted as one whole-array
assignment per node (`ExpressionEmitter` with the `JaxPrinter`), compiled by XLA under
``jax.jit`` into one fused loop.  Generated source never contains a symbol's own name
(a SymPy symbol may be named anything): arguments are ``a0, a1, ...``.
"""

from __future__ import annotations

import ast
import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from ..memo import remembered
from . import runtime
from .emit import ExpressionEmitter, numpy_source
from .erf import erf_array, erfc_array
from .graph import Graph
from .printers import NUMBA_HELPERS, NUMBA_PRELUDE, ArrayPrinter, JaxPrinter, ScalarPrinter
from .ranges import Range, overflows_float32, ranges

__all__ = ["BACKENDS", "array_source", "compile_jax", "compile_numba", "compile_numpy"]

#: Backends ``kernel(backend=...)`` accepts.
BACKENDS = ("numpy", "numba", "jax")

#: The names generated NumPy source may use.
NAMESPACE: dict[str, Any] = {
    "np": np,
    "_select": runtime.select,
    "_negabs": runtime.negabs,
    "_mish_slope": runtime.mish_slope,
    "_exp_finite": runtime.exp_finite,
    "_hypot": runtime.hypot,
    "_recip_capped": runtime.recip_capped,
    "_again_where_infinite": runtime.again_where_infinite,
    "_again_where_log_subnormal": runtime.again_where_log_subnormal,
    "_zero_wins": runtime.zero_wins,
    "_again_where_lifted": runtime.again_where_lifted,
    "_divide_lifted": runtime.divide_lifted,
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
    functions: Mapping[str, Callable[..., Any]] | None = None,
    lift_sites: frozenset[int] | None = None,
) -> tuple[Callable[..., Any], str, dict[str, int], tuple[str, ...], Range, bool]:
    """``_kernel(a0, ..., out, scratch)``, its source, buffer counts, constant buffers, the
    range of its result when the variables lie in ``domains`` (default: anywhere) and
    whether an intermediate may overflow there in float32.
    ``functions`` replaces names of `NAMESPACE` (another ``erfc_array``, same contract);
    ``lift_sites`` keeps only those products' lifted-underflow checks (None: all)."""
    graph, root, value_ranges, float32 = _analysed(lowered, tuple(variables), tuple(domains))
    inputs = dict(zip(graph.names.values(), domains, strict=False))
    source, counts, constants, result, wide = numpy_source(
        graph, root, inputs, lift_sites, analysed=(value_ranges, float32)
    )
    namespace = {**NAMESPACE, **(functions or {})}
    exec(compile(source, f"<symcalc kernel {label}>", "exec"), namespace)  # noqa: S102 - generated
    return namespace["_kernel"], source, counts, constants, result, wide


@remembered(maxsize=64)
def _analysed(
    lowered: sympy.Expr, variables: tuple[sympy.Symbol, ...], domains: tuple[Range, ...]
) -> tuple[Graph, int, dict[int, Range], bool]:
    """The NumPy kernel's graph of ``lowered``, its root, the nodes' ranges for inputs in
    ``domains`` and whether a node may pass float32's largest number (`numpy_source`).
    Remembered: `kernel` compiles one form once per lifted-underflow check it tries to
    drop (96 times for softsign(softsign(silu(x/3)))″), and only the emitted checks
    differ.  Nothing changes a graph once built: the emitters only read it."""
    graph = Graph(variables)
    root = graph.build(lowered)
    inputs = dict(zip(graph.names.values(), domains, strict=False))
    return graph, root, ranges(graph, root, inputs), overflows_float32(graph, root, inputs)


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


def array_source(
    lowered: sympy.Expr,
    variables: Sequence[sympy.Symbol],
    printer: ArrayPrinter,
    name: str = "_body",
    *,
    names: Sequence[str] | None = None,
    finish: str | None = None,
    doc: str | None = None,
    domains: Sequence[Range] = (),
) -> str:
    """Source of ``name(a0, a1, ...)``: one whole-array assignment per graph node.

    ``names`` replaces the argument names ``a0, a1, ...`` (the caller vouches that they
    are identifiers that clash with nothing the body uses); ``finish`` names a function
    the result goes through with the arguments (``return finish(v7, a0, a1)``); ``doc``
    is the docstring; ``domains`` the variables' ranges (default: every finite number),
    from which the nodes' ranges order products as the NumPy kernels do.  The helpers
    and imports the body needs come from ``printer.prelude`` and ``printer.imports``.
    """
    graph = Graph(variables)
    if names is not None:
        graph.names = dict(zip(variables, names, strict=True))
    root = graph.build(lowered)
    printer.reference = graph.names[variables[0]]
    inputs = dict(zip(graph.names.values(), domains, strict=False))
    emitter = ExpressionEmitter(graph, printer, "array", ranges(graph, root, inputs))
    result = _tidy(emitter.value(root))
    args = ", ".join(graph.names.values())
    returned = f"{finish}({result}, {args})" if finish else result
    pairs = (line.split(" = ", 1) for line in emitter.lines)
    lines = [line for target, code in pairs for line in _fitted(target, _tidy(code))]
    body = [*lines, f"return {returned}"]
    if doc:
        first, *rest = doc.splitlines()
        body[:0] = [f'"""{first}"""'] if not rest else [f'"""{first}', *rest, '"""']
    return f"def {name}({args}):\n" + "".join(f"    {line}\n" if line else "\n" for line in body)


#: Longest assignment in a generated body (88 columns, ruff's default, less the indent).
LINE = 84


def _fitted(target: str, code: str, width: int = LINE) -> list[str]:
    """``target = code`` as lines of at most ``width`` columns: while too long, the
    longest operand of the outermost operation becomes an assignment of its own
    (``v15_1 = ...``, then ``v15 = jnp.where(c, 0.0, v15_1)``), so the code reads as
    ruff formats it.  Every operand of array code is computed anyway (a ``where``
    evaluates both branches) and parentheses go only where the syntax tree is the same,
    so this changes no value and no order of operations.

    Examples
    --------
    >>> line = "jnp.where(v1 == 0.0, 0.0, ((v2 * v3) / v4) * (1.0 / v4) * -1.0)"
    >>> _fitted("v9", line, width=40)
    ['v9_1 = v2 * v3 / v4 * (1.0 / v4) * -1.0', 'v9 = jnp.where(v1 == 0.0, 0.0, v9_1)']
    """
    lines: list[str] = []
    tree = ast.parse(code, mode="eval").body
    count = 0
    while len(f"{target} = {code}") > width:
        slots = [
            (node, field, i)
            for field, value in ast.iter_fields(tree)
            for i, node in (enumerate(value) if isinstance(value, list) else [(None, value)])
            if isinstance(node, ast.expr) and not _atomic(node)
        ]
        if not slots:
            break  # a single call of names too long to split: left as it is
        node, field, i = max(slots, key=lambda slot: len(ast.unparse(slot[0])))
        count += 1
        name = f"{target}_{count}"
        lines += _fitted(name, _tidy(ast.unparse(node)), width)
        if i is None:
            setattr(tree, field, ast.Name(name))
        else:
            getattr(tree, field)[i] = ast.Name(name)
        code = _tidy(ast.unparse(tree))
    return [*lines, f"{target} = {code}"]


def _atomic(node: ast.expr) -> bool:
    """A name or a number (``-1.0`` too): nothing to move to a line of its own."""
    if isinstance(node, ast.UnaryOp):
        node = node.operand
    return isinstance(node, (ast.Name, ast.Constant))


def _tidy(code: str) -> str:
    """``code`` without parentheses around a bare name or number, or around all of it.

    Examples
    --------
    >>> _tidy("((a0) * -1.0)"), _tidy("(v1 + v2) * (v3 - v1)"), _tidy("(v2 ** 5.0)")
    ('a0 * -1.0', '(v1 + v2) * (v3 - v1)', 'v2**5.0')
    """
    code = re.sub(r"(?<![\w.\])\]])\(([\w.]+)\)", r"\1", code)
    code = re.sub(r"(?<![\w.)\]])([\w.]+) \*\* (-?[\w.]+)(?![\w.(\[])", r"\1**\2", code)
    while code.startswith("(") and code.endswith(")") and _closes_at_end(code):
        code = code[1:-1]
    return _single_parentheses(code)


def _single_parentheses(code: str) -> str:
    """``((a + b))`` as ``(a + b)``: grouping parentheses directly inside others go."""
    stack, pairs = [], {}
    for i, char in enumerate(code):
        if char == "(":
            stack.append(i)
        elif char == ")" and stack:
            pairs[stack.pop()] = i

    def grouping(i: int) -> bool:  # not the parenthesis of a call
        return i == 0 or not (code[i - 1].isalnum() or code[i - 1] in "_.")

    drop = {
        k
        for i, j in pairs.items()
        if pairs.get(i + 1) == j - 1 and grouping(i)
        for k in (i + 1, j - 1)
    }
    return "".join(c for k, c in enumerate(code) if k not in drop)


def _closes_at_end(code: str) -> bool:
    """Whether the parenthesis that opens ``code`` is the one that closes it."""
    depth = 0
    for i, char in enumerate(code):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0:
            return i == len(code) - 1
    return False


#: Broadcasting and the dtype around a JAX body: a constant or a function of fewer
#: arguments still gives one value per element, in the arguments' dtype.
JAX_WRAPPER = """\
def _jax(*args):
    shape = jnp.broadcast_shapes(*(jnp.shape(a) for a in args))
    dtype = jnp.result_type(*args)
    return jnp.broadcast_to(jnp.asarray(_body(*args), dtype), shape)
"""


def finite_dtypes(
    lowered: sympy.Expr, variables: Sequence[sympy.Symbol], domains: Sequence[Range] = ()
) -> tuple[str, ...]:
    """The dtypes (of "float64", "float32") in which ``lowered``, as array code, is finite
    for every finite input in ``domains`` (default: anywhere), by the kernel graph's
    ranges: in float64 where the result's range is finite and never NaN, in float32 where
    besides no node may pass float32's largest number.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> finite_dtypes(sympy.tanh(x), [x]), finite_dtypes(sympy.exp(x), [x])
    (('float64', 'float32'), ())
    >>> finite_dtypes(x * sympy.exp(-(x**2)), [x])  # x² overflows in float32
    ('float64',)
    """
    graph = Graph(variables)
    root = graph.build(lowered)
    inputs = dict(zip(graph.names.values(), domains, strict=False))
    result = ranges(graph, root, inputs)[root]
    if result.nan or not math.isfinite(result.magnitude):
        return ()
    return ("float64",) if overflows_float32(graph, root, inputs) else ("float64", "float32")


#: Nodes whose value is NaN wherever one of their operands is NaN, in JAX (XLA's arithmetic,
#: the stable helpers built of it, ``jnp.maximum``/``minimum``/``clip``).
_NAN_FROM_ANY = (
    "Add",
    "Mul",
    "Square",
    "NegAbs",
    "OnePlus",
    "Reciprocal",
    "ReciprocalCapped",
    "Sigmoid",
    "SigmoidPair",
    "SechSquared",
    "Sech",
    "Log1p",
    "MishSlope",
    "Fold",
    "Clip",
)
#: Unary functions that XLA computes as NaN from NaN (`tests/test_fw15_formulas.py` asks XLA).
NAN_UNARY = ("exp", "log", "log1p", "expm1", "tanh", "Abs", "erf", "erfc")


def nan_inputs(lowered: sympy.Expr, variables: Sequence[sympy.Symbol]) -> frozenset[str]:
    """The arguments (``a0``, ``a1``, ...) whose NaN makes the JAX array code of ``lowered``
    NaN for certain, by the kernel graph: a `Select` keeps what both branches keep (its
    condition is False for NaN), a constant or a comparison keeps none, a node that is not
    known to propagate NaN keeps none.  Where it holds for every argument, `to_jax` needs
    no NaN select at the end (`symcalc.export.runtime`'s ``_finish_kept``).

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> sorted(nan_inputs(sympy.exp(-sympy.Abs(x)) / (1 + x**2), [x]))
    ['a0']
    >>> sorted(nan_inputs(sympy.Piecewise((x, x > 0), (0, True)), [x]))
    []
    """
    graph = Graph(variables)
    root = graph.build(lowered)
    memo: dict[int, frozenset[str]] = {}

    def visit(i: int) -> frozenset[str]:
        if i in memo:
            return memo[i]
        node = graph.nodes[i]
        kind = type(node).__name__
        if kind == "Input":
            out = frozenset({node.code})
        elif kind in ("Select", "SigmoidSplit"):
            out = visit(node.a) & visit(node.b)
        elif kind == "ExpBesideErfc":  # from v in float32, from w in float64
            out = visit(node.v) & visit(node.w)
        elif kind in _NAN_FROM_ANY or (kind == "Unary" and node.function in NAN_UNARY):
            out = frozenset().union(*(visit(c) for c in node.children))
        else:
            out = frozenset()
        memo[i] = out
        return out

    return visit(root)


def jax_source(
    lowered: sympy.Expr, variables: Sequence[sympy.Symbol], domains: Sequence[Range] = ()
) -> str:
    """Source of ``_jax(a0, a1, ...)`` (``_body`` wrapped for shape and dtype), with helpers."""
    printer = JaxPrinter()
    body = array_source(lowered, variables, printer, domains=domains)
    parts = [printer.prelude(body), body, JAX_WRAPPER]
    return "\n\n".join(p for p in parts if p)


def compile_jax(
    lowered: sympy.Expr, variables: Sequence[sympy.Symbol], domains: Sequence[Range] = ()
) -> tuple[str, Any, Range, bool]:
    """Source of the JAX function, the function under ``jax.jit`` (XLA fuses it), the range
    of its result when the variables lie in ``domains`` (default: anywhere) and whether an
    intermediate may overflow there in float32."""
    import jax
    import jax.numpy as jnp
    import jax.scipy.special

    source = jax_source(lowered, variables, domains)
    namespace: dict[str, Any] = {"jax": jax, "jnp": jnp}
    exec(compile(source, "<symcalc jax kernel>", "exec"), namespace)  # noqa: S102 - generated
    graph = Graph(variables)
    root = graph.build(lowered)
    inputs = dict(zip(graph.names.values(), domains, strict=False))
    result, float32 = ranges(graph, root, inputs)[root], overflows_float32(graph, root, inputs)
    return source, jax.jit(namespace["_jax"]), result, float32
