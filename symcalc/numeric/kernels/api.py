"""The public entry point: `kernel` builds, caches and returns a `Kernel`."""

from __future__ import annotations

import dataclasses
import functools
import importlib.util
import inspect
import math
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from ...errors import SymcalcError, TimeBudgetExceeded
from ...symbolic import budget
from ...symbolic.catalog import Entry
from ...symbolic.derivatives import derivative, variable_of
from ...symbolic.domains import entry_nan_outside_domain
from ...symbolic.functions import latex, sigmoid
from ...symbolic.kinks import apply_convention, heaviside_at_zero
from ...symbolic.parse import resolve
from ...symbolic.special import refuse_kernel
from ..cancellation import SeriesBranch, series_branches
from ..lambdified import lambdify
from ..memo import BuiltOnce, remembered
from ..rewrites import Context, optimize_traced
from ..weights import zero_weights
from . import runtime
from .backends import BACKENDS, compile_jax, compile_numba, compile_numpy
from .extended import ExactElements, modules_extended
from .graph import builder_for
from .lowering import of_reciprocals, pre_lower
from .ranges import FINITE, Range
from .runtime import CHUNK, INT_OF, chunk_pool, output_array

__all__ = ["BACKENDS", "CHUNK", "Kernel", "StableForm", "form_kernel", "kernel", "stable_form"]

_DTYPES = {"float64": np.dtype(np.float64), "float32": np.dtype(np.float32)}


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Kernel:
    """A vectorized NumPy function of ``variables`` that evaluates ``expr``.

    ``expr`` is the mathematical expression (parameters bound), ``lowered`` the
    equivalent stable form the generated ``source`` computes, ``rewrites`` the names
    of the stability rules that produced it, and ``branches`` the polynomial branches
    (`symcalc.numeric.cancellation.SeriesBranch`) that replace parts of ``lowered``
    near points where it cancels.  ``entry``, ``order`` and ``wrt`` say what it is of;
    ``dtype`` (None: follow the inputs) and ``backend`` how it runs.

    Examples
    --------
    >>> k = kernel("softplus", order=1)
    >>> k
    <Kernel d/dx softplus(x) = exp(x)/(exp(x) + 1), lowered to sigmoid(x) [numpy]>
    >>> float(k(0.0))
    0.5
    """

    expr: sympy.Expr
    variables: tuple[sympy.Symbol, ...]
    source: str
    entry: Entry
    order: int
    wrt: sympy.Symbol | None
    dtype: np.dtype | None
    backend: str
    stable: bool
    lowered: sympy.Expr
    rewrites: tuple[str, ...]
    function: Callable[..., Any] = dataclasses.field(repr=False)
    buffers: Mapping[str, int] = dataclasses.field(default_factory=dict, repr=False)
    numba_functions: Mapping[np.dtype, Any] = dataclasses.field(default_factory=dict, repr=False)
    constants: tuple[str, ...] = dataclasses.field(default=(), repr=False)
    branches: tuple[SeriesBranch, ...] = dataclasses.field(default=(), repr=False)
    checks_output: bool = dataclasses.field(default=True, repr=False)
    checks_float32: bool = dataclasses.field(default=True, repr=False)
    evaluated: sympy.Expr | None = dataclasses.field(default=None, repr=False)
    jax_function: Callable[..., Any] | None = dataclasses.field(default=None, repr=False)

    # -- evaluation ----------------------------------------------------------------------
    def __call__(self, *args: Any) -> Any:
        if len(args) != len(self.variables):
            names = ", ".join(v.name for v in self.variables)
            raise SymcalcError(
                f"this kernel takes {len(self.variables)} argument(s) ({names}), got {len(args)}"
            )
        dtype = self._dtype_for(args)
        arrays = [self._as_array(a, dtype, v) for a, v in zip(args, self.variables, strict=False)]
        try:
            shape = np.broadcast_shapes(*(a.shape for a in arrays))
        except ValueError:
            shapes = ", ".join(str(a.shape) for a in arrays)
            raise SymcalcError(f"argument shapes {shapes} do not broadcast together") from None
        with np.errstate(all="ignore"):  # intermediate inf and NaN are the kernel's business
            if self.backend == "numba":
                result = self.numba_functions[dtype](*arrays)
                result = np.asarray(result, dtype=dtype)
                if result.shape != shape:
                    result = np.broadcast_to(result, shape).copy()
            elif self.backend == "jax":
                result = _run_jax(self.jax_function, arrays)
            elif not self.stable:
                result = self._plain(arrays, dtype, shape)
            else:
                result = self._run(arrays, dtype, shape)
        if self.stable and self._checked(dtype):
            result = self._finish(result, arrays, dtype)
        if self.stable and self.backend != "numba" and self._masks_nan:
            result = _nan_where_nan(result, arrays)
        return result[()] if result.ndim == 0 else result

    def evaluate(self, *arrays: np.ndarray) -> np.ndarray:
        """The kernel on arrays its caller has checked: no conversion, always an array.

        For callers that already hold arrays of one dtype, float32 or float64, that
        broadcast together (``to_torch`` on CPU tensors): it skips `__call__`'s checks
        and conversions (about 15 µs), and a 0-d result stays a 0-d array.  The result
        is a fresh array of the broadcast shape, the inputs are never written, and the
        promise is `__call__`'s (NumPy's overflow or invalid condition included).  Only
        for ``backend="numpy"`` with ``stable=True``.

        Examples
        --------
        >>> import numpy as np
        >>> kernel("sigmoid", order=1).evaluate(np.zeros(()))
        array(0.25)
        """
        dtype = arrays[0].dtype
        shape = np.broadcast_shapes(*(a.shape for a in arrays))
        with np.errstate(all="ignore"):  # intermediate inf and NaN are the kernel's business
            result = self._run(list(arrays), dtype, shape)
        result = self._finish(result, arrays, dtype) if self._checked(dtype) else result
        return _nan_where_nan(result, arrays) if self._masks_nan else result

    @functools.cached_property
    def _masks_nan(self) -> bool:
        """Whether a NaN input can give a number (relu'(NaN) = 0 from the branch for
        x <= 0, x' = 1 a constant): tried once, a NaN in each argument in turn."""
        for i in range(len(self.variables)):
            args = [np.full(1, np.nan if j == i else 0.5) for j in range(len(self.variables))]
            with np.errstate(all="ignore"):
                if self.backend == "jax":
                    out = _run_jax(self.jax_function, args)
                else:
                    out = self._run(args, np.dtype(np.float64), (1,))
            if not np.isnan(out).all():
                return True
        return False

    def _finish(self, result: np.ndarray, arrays: Sequence[np.ndarray], dtype) -> np.ndarray:
        """Recompute in extended range the elements where finite inputs gave inf or NaN.

        One reduction finds out whether anything is not finite (a sum of huge finite
        values may overflow too: then the elements are looked at).  Those elements are
        evaluated again with ``np.longdouble`` (x86-64: exponent range to 1e4932), so an
        intermediate overflow (x² at x = 1e200 in x²/(√(x² + 1) + 1)) does not reach a
        result that is representable.  Where that is NaN and an intermediate overflows long
        double too (eˣ from x = 11357), mpmath computes the element (`ExactElements`:
        inf - inf becomes the +inf it is).  What is still not finite raises NumPy's overflow or
        invalid condition under the caller's ``np.errstate``, as a ufunc would.
        """
        if result.size == 0:
            return result
        known = getattr(self._all_finite, "value", None)  # what the chunked run saw
        self._all_finite.value = None
        if known is True:
            return result
        with np.errstate(all="ignore"):
            if known is None and np.isfinite(np.add.reduce(result, axis=None)):
                return result
        # the elements' indices, not whole-array masks: they are few (0.3 % in float32
        # gelu′ on N(0, 4) data) and each mask pass costs 0.1-0.3 ns per element
        flat = result.reshape(-1)
        full = [np.broadcast_to(a, result.shape).reshape(-1) for a in arrays]
        bad = np.flatnonzero(~np.isfinite(flat))
        for a in full:
            bad = bad[np.isfinite(a[bad])]
        if not bad.size:
            return result
        if not result.flags.writeable:  # XLA's buffer (backend="jax"): fix a copy of it
            result = result.copy()
            flat = result.reshape(-1)
        if self.evaluated is not None:
            with np.errstate(all="ignore"):
                wide = [a[bad].astype(np.longdouble) for a in full]
                again = np.broadcast_to(_floats(self._extended(*wide)), (bad.size,))
                flat[bad] = again.astype(dtype)
            bad = bad[~np.isfinite(flat[bad])]
            # inf - inf, inf/inf; an inf result stands unless it may hide a value
            unknown = bad if self._exact.inf_may_hide_a_value else bad[np.isnan(flat[bad])]
            if unknown.size:  # beyond long double too: mpmath, where an intermediate overflowed
                exact = self._exact.values([a[unknown] for a in full], np.dtype(dtype))
                known = ~np.isnan(exact)
                flat[unknown[known]] = exact[known]
                bad = bad[~np.isfinite(flat[bad])]
        if bad.size:
            _signal(flat[bad])
        return result

    def _checked(self, dtype: np.dtype) -> bool:
        """Whether the run just made needs `_finish`: its output may hold inf or NaN by
        its range (`_checks`), or a product left NaN where a factor underflowed and
        another lifted it back (`runtime.again_where_lifted`, for any range)."""
        if runtime.take_lifted():
            self._all_finite.value = None  # the chunked run did not look: `_finish` does
            return True
        return self._checks(dtype)

    def _checks(self, dtype: np.dtype) -> bool:
        """Whether the output is checked for inf and NaN (`_finish`) in ``dtype``."""
        return self.checks_float32 if dtype == np.float32 else self.checks_output

    @functools.cached_property
    def _all_finite(self) -> threading.local:
        """Per thread: whether the last chunked run's sums were all finite (None: not known)."""
        return threading.local()

    @functools.cached_property
    def _exact(self) -> ExactElements:
        """The elements long double cannot reach, in mpmath (`ExactElements`)."""
        return ExactElements(
            self.expr, self.variables, of_reciprocals(self.evaluated), self.lowered
        )

    @functools.cached_property
    def _extended(self) -> Callable[..., Any]:
        """``evaluated`` as a NumPy function that keeps ``np.longdouble`` arrays long."""
        formula = of_reciprocals(self.evaluated)
        return lambdify(self.variables, formula, modules=modules_extended())

    def _dtype_for(self, args: Sequence[Any]) -> np.dtype:
        if self.dtype is not None:
            return self.dtype
        kinds = []
        for a in args:
            if isinstance(a, (bool, int, float)):
                continue
            dt = getattr(a, "dtype", None)
            if dt is None:
                dt = np.asarray(a).dtype
            kinds.append(np.dtype(dt))
        if kinds and all(k == np.float32 or k == np.float16 for k in kinds):
            return np.dtype(np.float32)
        return np.dtype(np.float64)

    @staticmethod
    def _as_array(value: Any, dtype: np.dtype, var: sympy.Symbol) -> np.ndarray:
        try:
            array = np.asarray(value)
        except (TypeError, ValueError) as exc:
            raise SymcalcError(
                f"{var}: cannot read {type(value).__name__} as numbers ({exc})"
            ) from None
        if array.dtype.kind == "c":
            raise SymcalcError(f"{var}: complex input; kernels take real numbers")
        if array.dtype.kind not in "biuf":
            raise SymcalcError(f"{var}: expected numbers, got an array of {array.dtype}")
        return array.astype(dtype, copy=False)

    def _scratch(self, shape: tuple[int, ...], dtype: np.dtype) -> list[np.ndarray]:
        """Scratch buffers of ``shape``: views of this thread's chunk pool when they fit."""
        counts = (self.buffers.get("f", 0), self.buffers.get("b", 0), self.buffers.get("i", 0))
        size = math.prod(shape)
        if size <= CHUNK:
            return [b[:size].reshape(shape) for b in chunk_pool(dtype, counts, self.constants)]
        ints = INT_OF[dtype]
        out = [np.empty(shape, dtype) for _ in range(counts[0])]
        out += [np.empty(shape, bool) for _ in range(counts[1])]
        out += [np.empty(shape, ints) for _ in range(counts[2])]
        out += [np.full(shape, float(v), dtype) for v in self.constants]
        return out

    def _run(self, arrays: list[np.ndarray], dtype: np.dtype, shape: tuple[int, ...]) -> np.ndarray:
        out = np.empty(shape, dtype)
        size = out.size
        one_pass = self.buffers.get("calls", 2) <= 1 and not self.constants
        if size <= CHUNK or one_pass:  # one pass over the arrays: nothing to keep in cache
            full = [a if a.shape == shape else np.broadcast_to(a, shape) for a in arrays]
            if any(
                not a.flags.writeable and a.shape != () and a.strides and 0 in a.strides
                for a in full
            ):
                full = [a if a.ndim == 0 or a.size == 1 else np.ascontiguousarray(a) for a in full]
            return self.function(*full, out, self._scratch(shape, dtype))
        flat = []
        for a in arrays:
            if a.size == 1:
                flat.append(a.reshape(()))
            elif a.shape == shape and a.flags.c_contiguous:
                flat.append(a.reshape(-1))
            else:
                flat.append(np.ascontiguousarray(np.broadcast_to(a, shape)).reshape(-1))
        out_flat = out.reshape(-1)
        scratch = self._scratch((CHUNK,), dtype)  # this thread's pool: no fresh pages per call
        finite, checks = True, self._checks(dtype)
        for start in range(0, size, CHUNK):
            stop = min(start + CHUNK, size)
            n = stop - start
            pieces = [a if a.ndim == 0 else a[start:stop] for a in flat]
            buffers = scratch if n == CHUNK else [b[:n] for b in scratch]
            piece = self.function(*pieces, out_flat[start:stop], buffers)
            if checks and finite:  # while the chunk is in cache
                finite = bool(np.isfinite(np.add.reduce(piece)))
        self._all_finite.value = finite
        return out

    def _plain(self, arrays, dtype, shape) -> np.ndarray:
        result = self.function(*arrays)
        return np.asarray(np.broadcast_to(np.asarray(result), shape)).astype(dtype)

    # -- display ----------------------------------------------------------------------------
    def signature(self) -> str:
        name = self.entry.signature() if self.entry.kind != "expression" else "f"
        if not self.order:
            return name
        v = self.wrt.name if self.wrt is not None else self.variables[0].name
        if self.order == 1:
            return f"d/d{v} {name}"
        return f"d^{self.order}/d{v}^{self.order} {name}"

    def to_text(self) -> str:
        lines = [f"{self.signature()} = {sympy.sstr(self.expr)}"]
        if self.stable:
            lines.append(f"  evaluated as: {sympy.sstr(self.lowered)}")
            if self.rewrites:
                lines.append(f"  stability rewrites: {', '.join(dict.fromkeys(self.rewrites))}")
            lines += [f"  {branch.to_text()}" for branch in self.branches]
        else:
            lines.append("  evaluated as written (stable=False)")
        lines.append(f"  backend: {self.backend}; dtype: {self.dtype or 'follows the inputs'}")
        return "\n".join(lines)

    def _repr_latex_(self) -> str:
        return "$" + latex(self.expr) + "$"

    def __repr__(self) -> str:
        how = (
            f", lowered to {sympy.sstr(self.lowered)}"
            if self.stable and self.lowered != self.expr
            else ""
        )
        plain = "" if self.stable else ", plain lambdify"
        return f"<Kernel {self.signature()} = {sympy.sstr(self.expr)}{how}{plain} [{self.backend}]>"


def _nan_where_nan(result: np.ndarray, arrays: Sequence[np.ndarray]) -> np.ndarray:
    """``result`` with NaN wherever an input is NaN (a NaN in is a NaN out).

    Examples
    --------
    >>> _nan_where_nan(np.zeros(3), [np.array([1.0, np.nan, 0.0]), np.float64(2.0)])
    array([ 0., nan,  0.])
    """
    nan = np.zeros(result.shape, dtype=bool)
    for a in arrays:
        if a.dtype.kind == "f":
            nan |= np.isnan(a)
    if not nan.any():
        return result
    if not result.flags.writeable:  # XLA's buffer (backend="jax"): a copy
        result = result.copy()
    np.copyto(result, np.nan, where=nan)
    return result


def _run_jax(function: Callable[..., Any], arrays: Sequence[np.ndarray]) -> np.ndarray:
    """``function`` (jitted) on NumPy arrays of one dtype, float64 staying float64; the
    result is XLA's output buffer as a writable NumPy array (no copy, see `output_array`).

    JAX's 64-bit mode is switched on for the call only where it is needed (float64 while
    the mode is off): inside ``jax.enable_x64`` every call takes JAX's slower dispatch
    path (0.1 ms a call here), so float32, or float64 with the mode already on, call the
    jitted function directly.
    """
    import jax

    if arrays[0].dtype == np.float32 or jax.config.jax_enable_x64:
        return output_array(function(*arrays), arrays)
    with jax.enable_x64(True):
        return output_array(function(*arrays), arrays)


def _signal(values: np.ndarray) -> None:
    """NumPy's invalid (NaN) or overflow (inf) condition, under the caller's errstate."""
    if np.isnan(values).any():
        np.subtract(np.float64(np.inf), np.float64(np.inf))  # invalid value
    if np.isinf(values).any():
        np.multiply(np.float64(np.finfo(np.float64).max), np.float64(2.0))  # overflow


# -- building ----------------------------------------------------------------------------------


def _modules_plain() -> list:
    """Functions for the plain ``sympy.lambdify`` of ``stable=False`` (SciPy's)."""
    import scipy.special

    return [
        {"erf": scipy.special.erf, "erfc": scipy.special.erfc, "sigmoid": scipy.special.expit},
        "numpy",
    ]


_CACHE_SIZE = 512
#: Built kernels by request, least recently used first; at most `_CACHE_SIZE` of them.
#: Threads asking for the same new kernel wait for the first one's build; different
#: requests build in parallel (`symcalc.numeric.memo.BuiltOnce`).
_KERNELS: BuiltOnce[Kernel] = BuiltOnce(_CACHE_SIZE)


def _lowered(
    entry: Entry,
    bound: sympy.Expr,
    variables: Sequence[sympy.Symbol],
    context: Context,
    raw: sympy.Expr,
    wrt: sympy.Symbol | None,
) -> tuple[sympy.Expr, tuple[str, ...]]:
    """``bound`` after the stability rewrites, and, where a label switches a term off
    (`symcalc.numeric.weights`, read from ``raw``, the expression before simplification
    joined its terms), the rewritten form with the label's value substituted."""
    general, fired = optimize_traced(bound, context=context)
    domains = {v: entry.domain_of(v) for v in variables if v in entry.variables}
    pieces = []
    for v, value in zero_weights(raw, domains):
        if v == wrt:
            continue  # the variable differentiated in is not a label here
        special = sympy.cancel(bound.subs(v, value))  # (1 - p)/(p(p - 1)) is -1/p
        special, more = optimize_traced(special, context=context)
        pieces.append((special, sympy.Eq(v, value)))
        fired += ("zero_weight", *more)
    if not pieces:
        return general, fired
    return sympy.Piecewise(*pieces, (general, True)), fired


def domain_range(entry: Entry, variable: sympy.Symbol) -> Range:
    """The closure of a variable's domain as a `Range` (the real line: every finite float)."""
    domain = entry.domain_of(variable) if variable in entry.variables else sympy.S.Reals
    if domain == sympy.S.Reals or not isinstance(domain, (sympy.Interval, sympy.FiniteSet)):
        return FINITE
    lo, hi = float(domain.inf), float(domain.sup)
    return Range(max(lo, FINITE.lo), min(hi, FINITE.hi))


def _check_dtype(dtype: Any) -> np.dtype | None:
    if dtype is None:
        return None
    try:
        resolved = np.dtype(dtype)
    except TypeError:
        resolved = None
    if resolved is None or resolved.name not in _DTYPES:
        raise SymcalcError(f"dtype must be float32 or float64, got {dtype!r}")
    return resolved


def _check_order(order: Any) -> int:
    if isinstance(order, bool) or not isinstance(order, (int, np.integer)) or not 0 <= order <= 10:
        raise SymcalcError(f"order must be a whole number from 0 to 10, got {order!r}")
    return int(order)


def _freeze(value: Any) -> Any:
    if isinstance(value, Entry):
        return (
            "entry",
            value.name,
            value.kind,
            value.expr,
            value.variables,
            tuple(value.params.items()),
        )
    if isinstance(value, (str, sympy.Basic)):
        return value
    return None


def _probe_samples(
    entry: Entry, variables: Sequence[sympy.Symbol]
) -> dict[sympy.Symbol, np.ndarray]:
    """Points across each variable's domain, for rewrites that compare forms on numbers."""
    grid = np.concatenate([-np.logspace(-8, 3, 12), [0.0], np.logspace(-8, 3, 12)])
    unit = np.concatenate([np.logspace(-8, -1, 6), [0.3, 0.5, 0.7], 1 - np.logspace(-8, -1, 6)])
    columns = []
    for v in variables:
        domain = entry.domain_of(v)
        if domain == sympy.S.Reals:
            values = grid
        elif isinstance(domain, sympy.FiniteSet):
            values = np.array([float(e) for e in domain])
        else:
            lo, hi = float(domain.inf), float(domain.sup)
            values = lo + (hi - lo) * np.concatenate(
                [
                    [0.0] if not domain.left_open else [],
                    unit,
                    [1.0] if not domain.right_open else [],
                ]
            )
        columns.append(values)
    mesh = np.meshgrid(*columns, indexing="ij") if len(columns) <= 3 else None
    if mesh is None:
        return {}
    return {v: m.reshape(-1) for v, m in zip(variables, mesh, strict=False)}


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class StableForm:
    """``expr`` with parameters bound (``bound``), made stable for every backend.

    ``lowered`` is ``bound`` after the stability rewrites (``rewrites`` name the rules
    that fired), ``branched`` is ``lowered`` with the polynomial ``branches`` where it
    cancels; ``variables`` are the arguments, the entry's first.  Backends pre-lower
    ``branched`` their own way (`symcalc.numeric.kernels.lowering.pre_lower`).
    """

    bound: sympy.Expr
    variables: tuple[sympy.Symbol, ...]
    lowered: sympy.Expr
    rewrites: tuple[str, ...]
    branches: tuple[SeriesBranch, ...]
    branched: sympy.Expr

    def __repr__(self) -> str:
        return f"<StableForm {sympy.sstr(self.bound)} -> {sympy.sstr(self.lowered)}>"


def exact_floats(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with each float of double precision (a catalog parameter given as
    ``beta=0.5`` or ``beta=0.3``) as the rational it was written as: the rewrites see
    exp(x/2)² = exp(x) where exp(0.5·x)² and exp(1.0·x) are different expressions to
    them.  The code prints the same double back; higher-precision floats stay.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> exact_floats(sympy.Float(0.5) * x + sympy.Float(2.0) + sympy.Float(0.3))
    x/2 + 23/10
    """
    floats = {f: _written(f) for f in expr.atoms(sympy.Float) if f._prec <= 53}
    return expr.xreplace(floats) if floats else expr


def _written(f: sympy.Float) -> sympy.Rational:
    """The rational a double ``f`` reads as (0.3: 3/10); beyond the double range (δ²/2
    of a bound δ = 1e160, folded by SymPy) its exact value, where float() is inf."""
    value = float(f)
    return sympy.Rational(repr(value)) if math.isfinite(value) else sympy.Rational(f)


def _bound(entry: Entry, expr: sympy.Expr) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
    """``expr`` with the entry's parameters bound, and its variables (the entry's first)."""
    bound = entry.bind(expr)
    variables = tuple(entry.variables)
    extra = sorted((s for s in bound.free_symbols if s not in variables), key=lambda s: s.name)
    return bound, variables + tuple(extra)


def _refuse_unbuildable(expr: sympy.Expr) -> None:
    """Refuse a SymPy special function no builder knows (``hankel1``, ``dirichlet_eta``,
    reached through the Python API or a derivative) before the stability analysis
    evaluates it with NumPy, which has no such name (NameError)."""
    for e in sympy.preorder_traversal(expr):
        cls = type(e)
        if (
            isinstance(e, sympy.Function)
            and cls.__module__.startswith(("sympy.functions.special", "sympy.functions.combinat"))
            and builder_for(cls) is None
            and cls not in (sympy.Heaviside, sympy.DiracDelta)
        ):
            raise SymcalcError(
                f"no stable kernel for {cls.__name__}; use the functions listed "
                "in symcalc.symbolic.functions.FUNCTIONS"
            )


def stable_form(
    entry: Entry,
    expr: sympy.Expr,
    *,
    raw: sympy.Expr | None = None,
    wrt: sympy.Symbol | None = None,
) -> StableForm:
    """The stable form of ``expr`` (an expression in ``entry``'s variables and parameters).

    ``raw`` is ``expr`` before simplification joined its terms (default ``expr``): where
    a label switches a term off (x·log x -> 0, `symcalc.numeric.weights`), it is read
    from there; ``wrt``, the variable differentiated in, is never such a label.
    The same request twice returns the same result (the 512 most recent are kept;
    threads asking at once for a new one build it once).

    Examples
    --------
    >>> from symcalc.symbolic.catalog import get
    >>> entry = get("softplus")
    >>> stable_form(entry, entry.expr).lowered
    softplus(x)
    """
    refuse_kernel(expr)  # a special function: the derivative is symbolic only
    _refuse_unbuildable(expr)
    return _stable_form(entry, expr, expr if raw is None else raw, wrt)


@remembered(maxsize=_CACHE_SIZE, key=lambda entry, expr, raw, wrt: (_freeze(entry), expr, raw, wrt))
def _stable_form(
    entry: Entry, expr: sympy.Expr, raw: sympy.Expr, wrt: sympy.Symbol | None
) -> StableForm:
    """`stable_form`, remembered (`symcalc.numeric.memo.remembered`): kernels of every
    backend and the exports' levels share one form, built once."""
    bound, variables = _bound(entry, expr)
    samples = _probe_samples(entry, variables)
    exact = exact_floats if entry.kind != "expression" else (lambda e: e)  # parameters
    lowered, fired = _lowered(
        entry, exact(bound), variables, Context(samples), exact(entry.bind(raw)), wrt
    )
    branched, branches = series_branches(lowered, Context(samples))
    return StableForm(bound, variables, lowered, tuple(fired), branches, branched)


def _build(
    entry: Entry,
    order: int,
    wrt: sympy.Symbol | None,
    dtype: np.dtype | None,
    convention: str,
    stable: bool,
    backend: str,
) -> Kernel:
    if order:
        expr = derivative(entry, wrt=wrt, order=order, convention=convention)
        expr = entry_nan_outside_domain(entry, expr)  # f^(k) is NaN where f is not real
    else:
        expr = apply_convention(entry.expr, convention)
        # f itself is NaN where it is not real: elu(log(199x + 2)) is 199x + 1 where the
        # condition log(199x + 2) > 0 is false, also for x < -2/199 where it means nothing
        expr = entry_nan_outside_domain(entry, expr)
    if not stable:
        bound, variables = _bound(entry, expr)
        plain = bound.replace(lambda e: isinstance(e, sigmoid), lambda e: e)
        function = sympy.lambdify(variables, plain, modules=_modules_plain(), cse=True)
        source = inspect.getsource(function)
        return Kernel(
            bound, variables, source, entry, order, wrt, dtype, backend, False, bound, (), function
        )
    raw = sympy.diff(entry.expr, wrt or entry.variable, order) if order else entry.expr
    form = stable_form(entry, expr, raw=raw, wrt=wrt)
    variables = form.variables
    pre = pre_lower(form.branched, backend)
    if backend == "jax":
        domains = [domain_range(entry, v) for v in variables]
        source, compiled, result, wide = compile_jax(pre, variables, domains)
        own = {
            "function": _compiled_elsewhere,
            "jax_function": compiled,
            **_output_checks(result, wide),
        }
    elif backend == "numba":
        source, compiled = compile_numba(pre, variables)
        own = {"function": _compiled_elsewhere, "numba_functions": compiled}
    else:
        domains = [domain_range(entry, v) for v in variables]
        source, own = _numpy_parts(pre, variables, entry.name, domains)

    def build(source: str, own: dict) -> Kernel:
        return Kernel(
            form.bound,
            variables,
            source,
            entry,
            order,
            wrt,
            dtype,
            backend,
            True,
            form.lowered,
            form.rewrites,
            branches=form.branches,
            evaluated=form.branched,
            **own,
        )

    kernel = build(source, own)
    if backend == "numpy":
        sites = _lift_sites_needed(
            kernel, lambda sites: build(*_numpy_parts(pre, variables, entry.name, domains, sites))
        )
        if sites is not None:
            kernel = build(*_numpy_parts(pre, variables, entry.name, domains, sites))
    return kernel


def _numpy_parts(pre, variables, label, domains, lift_sites=None) -> tuple[str, dict]:
    """The NumPy kernel's source and its `Kernel` fields (`compile_numpy`)."""
    function, source, counts, constants, result, wide = compile_numpy(
        pre, variables, label, domains, lift_sites=lift_sites
    )
    return source, {
        "function": function,
        "buffers": counts,
        "constants": constants,
        **_output_checks(result, wide),
    }


#: Where a probe looks for products that need their lifted-underflow check: ±10^k for k
#: from -320 to 308.25 in steps of 1/6400 of the range (a step of 0.04 % of x: the
#: window where exp(-x) is subnormal, x in [708, 745], holds about 140 points).
_PROBE = np.concatenate([-np.logspace(308.25, -320, 4001), [0.0], np.logspace(-320, 308.25, 4001)])


def _lift_sites_needed(
    kernel: Kernel, rebuilt: Callable[[frozenset[int]], Kernel]
) -> frozenset[int] | None:
    """The products of a one-variable kernel whose lifted-underflow check
    (`runtime.again_where_lifted`) changes its result somewhere on `_PROBE`, in float64
    or float32; None where the kernel has no such check, takes several variables (every
    check stays) or needs every one.  A check that changes nothing there only costs time:
    gaussian′ = -2x·exp(-x²) has one, but exp(-x²) is subnormal only where x is too small
    to lift it back, and 0 only where the product is 0 too."""
    if "_again_where_lifted(" not in kernel.source or len(kernel.variables) != 1:
        return None
    pattern = r"_again_where_lifted\(.*, (\d+)\)$"
    sites = frozenset(int(m) for m in re.findall(pattern, kernel.source, re.M))
    grids = []
    for dtype in (np.dtype(np.float64), np.dtype(np.float32)):
        with np.errstate(all="ignore"):
            grid = np.unique(_PROBE.astype(dtype))
        grids.append(grid[np.isfinite(grid)])

    def raw(k: Kernel) -> list[np.ndarray]:  # the first pass only: NaN where a check fired
        with np.errstate(all="ignore"):
            out = [k._run([grid], grid.dtype, grid.shape) for grid in grids]
        runtime.take_lifted()
        return out

    reference = raw(kernel)
    kept = sites
    for site in sorted(sites):
        if _changes_a_result(kernel, raw(rebuilt(kept - {site})), reference, grids):
            continue
        kept = kept - {site}
    return None if kept == sites else kept


def _changes_a_result(kernel: Kernel, trial, reference, grids) -> bool:
    """Whether a kernel without a check (``trial``, first pass) differs from the kernel
    with it (``reference``, first pass, then the long-double pass where it left NaN)
    by more than well inside the promise; elements long double cannot settle count as
    changed (they would need mpmath, about 50 µs each: too slow for a probe)."""
    with np.errstate(all="ignore"):
        for got, ref, grid, tolerance in zip(trial, reference, grids, (1e-14, 1e-7), strict=True):
            tiny = np.finfo(grid.dtype).tiny
            again = np.isnan(ref) & ~np.isnan(got)
            if again.any():
                ref = ref.copy()
                wide = np.broadcast_to(
                    kernel._extended(grid[again].astype(np.longdouble)), (int(again.sum()),)
                )
                ref[again] = np.asarray(wide).astype(grid.dtype)
            if not np.allclose(got, ref, rtol=tolerance, atol=tiny, equal_nan=True):
                return True
    return False


def form_kernel(
    entry: Entry,
    form: StableForm,
    *,
    order: int = 0,
    wrt: sympy.Symbol | None = None,
    scale: sympy.Symbol | None = None,
    functions: Mapping[str, Callable[..., Any]] | None = None,
) -> Kernel:
    """The NumPy kernel of a stable form that is already built (not cached here).

    `kernel` derives the form it compiles; a caller that holds one (a mixed partial
    derivative of ``symcalc.export``) compiles it here.  ``order`` and ``wrt`` only
    label the result.  ``scale``, a symbol not among the form's variables, becomes
    one more argument, last, that multiplies the result inside the kernel's own pass
    (grad · ∂f/∂x for a backward pass, with no extra pass over memory).  ``functions``
    replaces run-time helpers of the generated code by others with the same contract
    (``erfc_array``: another whole-array erfc that meets the kernel promise).

    Examples
    --------
    >>> import numpy as np
    >>> from symcalc.symbolic.catalog import get
    >>> entry = get("sigmoid")
    >>> form = stable_form(entry, sympy.diff(entry.expr, entry.variable))
    >>> g = sympy.Dummy("g")
    >>> form_kernel(entry, form, order=1, scale=g).evaluate(np.zeros(2), np.array([1.0, 4.0]))
    array([0.25, 1.  ])
    """
    variables = form.variables
    bound, lowered, branched = form.bound, form.lowered, form.branched
    if scale is not None:
        variables += (scale,)
        bound, lowered, branched = (sympy.Mul(scale, e) for e in (bound, lowered, branched))
    domains = [domain_range(entry, v) for v in variables]
    pre = pre_lower(branched, "numpy")
    function, source, counts, constants, result, wide = compile_numpy(
        pre, variables, entry.name, domains, functions
    )
    return Kernel(
        bound,
        variables,
        source,
        entry,
        order,
        wrt,
        None,
        "numpy",
        True,
        lowered,
        form.rewrites,
        function,
        buffers=counts,
        constants=constants,
        branches=form.branches,
        evaluated=branched,
        **_output_checks(result, wide),
    )


def _output_checks(result: Range, float32: bool) -> dict[str, bool]:
    """Whether a kernel checks its output for inf and NaN (and computes those elements
    again in extended range): in float64 where its result's range may overflow, in float32
    also where an intermediate may pass float32's largest number (x²·exp(x²)·expm1(x²) in
    log(x² + exp(-x²))'' at x = 7, a result of -0.04 that came out -inf)."""
    return {"checks_output": not result.finite, "checks_float32": not result.finite or float32}


#: A kernel's whole build (its derivative, tidied, and its stable form, checked) may take
#: this many times the budget of one piece of symbolic work (`budget.default_seconds`,
#: SYMCALC_TIME_BUDGET) of CPU time; the steps each had a budget, their sum none
#: (x^x^x^x^x^x: minutes in the checks of its stable form).  Three, not two: under a
#: 0.5 s budget, x·tanh(log(1 + eˣ))/7″ takes 0.8 s in all (tidying cut at 0.5 s, then its
#: stable form), and a slower machine needs the room; the catalog's costliest, gelu_tanh′,
#: takes 1.8 s under the default 5 s.
BUILD_BUDGETS = 3


def within_build_budget(
    entry: Entry, order: int, work: Callable[..., Any], *args: Any, what: str | None = None
) -> Any:
    """``work(*args)`` under the CPU budget of a whole kernel build (`BUILD_BUDGETS` times
    the default budget, children included), or `TimeBudgetExceeded` (a `SymcalcError`)
    naming the kernel (or ``what``), the budget and the setting that gives more."""
    seconds = BUILD_BUDGETS * budget.default_seconds()
    which = "f" if not order else f"derivative {order} of"
    what = what or f"building the kernel of {which} {entry.signature()}"
    try:
        with budget.deadline(seconds, what):
            return work(*args)
    except TimeBudgetExceeded as exc:
        if exc.what != what:
            raise
        formula = sympy.sstr(entry.expr)
        formula = formula if len(formula) <= 60 else formula[:57] + "..."
        refusal = TimeBudgetExceeded(f"{what} = {formula}", seconds)
        refusal.args = (
            f"{what} = {formula} did not finish within {seconds:g} s of CPU time "
            f"({BUILD_BUDGETS} × SYMCALC_TIME_BUDGET); give more time, or write the formula "
            "more simply",
        )
        raise refusal from None


def _compiled_elsewhere(*args: Any) -> None:
    """The NumPy function of a kernel that JAX or numba runs (never called)."""


def kernel(
    f: str | sympy.Expr | Entry,
    *,
    wrt: str | sympy.Symbol | None = None,
    order: int = 0,
    dtype: Any = None,
    params: Mapping[str, Any] | None = None,
    convention: str = "zero",
    stable: bool = True,
    backend: str = "numpy",
) -> Kernel:
    """A vectorized kernel for ``f`` (catalog name, text, SymPy expression or `Entry`).

    Every argument but ``f`` is keyword-only, in the order of
    `symcalc.symbolic.derivatives.derivative`: ``wrt`` the variable (default: the
    first), ``order`` 0 for the function itself, 1 and 2 for its derivatives.
    ``dtype`` None follows the inputs (float32 stays float32, everything else becomes
    float64); "float32"/"float64" casts the inputs.  ``params`` overrides catalog
    parameters (defaults: the entry's).  ``convention`` sets derivatives at kinks (see
    `symcalc.symbolic.kinks`).  ``stable=False`` gives the plain lambdify.  ``backend``
    is "numpy" or "numba" (the ``fast`` extra).

    The same request twice returns the same kernel from a bounded cache (the 512 most
    recently used); threads asking at once for the same new kernel build it once.

    Examples
    --------
    >>> import numpy as np
    >>> kernel("relu", order=1)(np.array([-1.0, 0.0, 2.0]))
    array([0., 0., 1.])
    >>> kernel("mse", wrt="p", order=1)(np.array([1.0, 2.0]), 0.5)
    array([1., 3.])
    >>> float(kernel("x*tanh(log(1+exp(x)))")(1000.0))
    1000.0
    >>> kernel("sigmoid") is kernel("sigmoid")
    True
    """
    order = _check_order(order)
    resolved_dtype = _check_dtype(dtype)
    heaviside_at_zero(convention)
    if backend not in BACKENDS:
        raise SymcalcError(f"unknown backend '{backend}'; choose one of {', '.join(BACKENDS)}")
    if backend == "numba" and importlib.util.find_spec("numba") is None:
        raise SymcalcError(
            "backend 'numba' needs the numba package: pip install 'symcalc[fast]' "
            "(or pip install numba); backend='numpy' works without it"
        )
    if backend == "jax" and importlib.util.find_spec("jax") is None:
        raise SymcalcError(
            "backend 'jax' needs the jax package: pip install 'symcalc[jax]' "
            "(or pip install jax); backend='numpy' works without it"
        )

    def build() -> Kernel:  # for any dtype: the dtype only decides how inputs are cast
        entry = resolve(f, **dict(params or {}))
        refuse_kernel(entry.expr)  # before any derivative: the refusal names the function
        var = variable_of(entry, wrt) if (order or wrt is not None) else None
        return within_build_budget(
            entry, order, _build, entry, order, var, None, convention, bool(stable), backend
        )

    key_f = _freeze(f)
    if key_f is None:
        built = build()
        return built if resolved_dtype is None else dataclasses.replace(built, dtype=resolved_dtype)
    frozen_params = tuple(sorted((k, str(v)) for k, v in dict(params or {}).items()))
    wrt_key = wrt.name if isinstance(wrt, sympy.Symbol) else wrt
    key = (key_f, frozen_params, order, wrt_key, convention, bool(stable), backend)
    base = _cached((*key, None), build)
    if resolved_dtype is None:
        return base
    return _cached((*key, resolved_dtype), lambda: dataclasses.replace(base, dtype=resolved_dtype))


def _cached(key: tuple, build: Callable[[], Kernel]) -> Kernel:
    """The cached kernel for ``key``, built once however many threads ask at the same time."""
    return _KERNELS.get(key, build)


def _floats(values: Any) -> np.ndarray:
    """Values as a float array: a constant kernel's exact Python integer beyond the float
    range (10**400) is ±inf, as NumPy's float arithmetic gives, not an OverflowError."""
    values = np.asarray(values)
    if values.dtype != object:
        return values
    return np.array([_float(v) for v in values.flat]).reshape(values.shape)


def _float(value: Any) -> float:
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf
