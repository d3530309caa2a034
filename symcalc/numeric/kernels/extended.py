"""Elements computed again in extended range: long double, then mpmath.

A kernel recomputes in ``np.longdouble`` the elements where finite inputs gave inf or
NaN (`Kernel._finish`).  Long double's exponent ends at about 1e4932 (e^11356), so a
formula whose terms grow faster still meets inf - inf or inf/inf there:
((exp(x) - 1)/x)' = (x·eˣ - eˣ + 1)/x² is NaN from x = 11357 on, where its value is +inf
in any float, and sinh(x)/x'' came out -inf for +inf from x = -6e296.  Those elements,
and only those (an intermediate of the long double run is inf or NaN: a NaN from the
domain, log(-1), has none), are evaluated by mpmath, whose exponents have no bound, and
rounded to the kernel's dtype (±inf where the value is beyond its largest number).
mpmath is asked only where it is cheap: every exponent and every function's argument a
finite float (exp(cosh(x)) at x = 1e3 would need 10^430 digits), except the arguments of
the functions that shrink what they are given, log, asinh, acosh, atan, erf, |·| and
roots, which mpmath takes at any size (asinh(cosh(x)) at x = 1e8 is 1e8 + 0.7).  A
periodic function's argument finite in float64 is reduced by mpmath with the few hundred
digits of π it needs (sin(1e308) in 40 µs); sin(cosh(x)) at x = 2^40 would need π to
10^11 digits and is not asked.  The value counts where two precisions agree to 1e-18
(an exact 0 only where every precision gives it: terms can cancel to 0 at two).

An inf result is computed again too where such a shrinking function takes a growing one
(exp, cosh, sinh, a variable power): asinh(cosh(x + 1) + x) is inf from x = 11357 in long
double, and 11358.0 is its value.  Elsewhere an inf result stands: eˣ at x = 1e308 is inf,
and asking mpmath for every one of a million such elements would take a minute.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Callable, Sequence
from typing import Any

import mpmath
import numpy as np
import sympy

from ..cancellation import GROWING
from ..lambdified import lambdify
from ..rewrites import MPMATH_FUNCTIONS

__all__ = ["ExactElements", "modules_extended"]

#: mpmath's precision is global: one evaluation at a time.
_MPMATH = threading.Lock()
#: Working digits tried in turn; a value counts where two in a row agree to 1e-18
#: (an exact 0 where all of them give it).
_DIGITS = (20, 40, 80, 160, 320)
#: What building or running the checks may raise where a function has no printer or no
#: loop for the dtype (the retry is then not made; the element stays as it was).
_CANNOT = (TypeError, ValueError, NameError, KeyError, AttributeError, NotImplementedError)


#: Functions mpmath evaluates at any size cheaply, whose value is far smaller than their
#: argument: an overflowing argument does not make them overflow.
_SHRINKING = (sympy.log, sympy.asinh, sympy.acosh, sympy.atan, sympy.erf, sympy.Abs, sympy.sign)


def _shrinks(node: sympy.Basic) -> bool:
    """Whether ``node`` is a shrinking function (`_SHRINKING`) or a root (u^(1/2), u^(1/3))."""
    if isinstance(node, sympy.Pow):
        return node.exp.is_Rational and 0 < node.exp < 1
    return isinstance(node, _SHRINKING)


def _divides(node: sympy.Basic) -> bool:
    """Whether ``node`` is a denominator: a power with a negative number as exponent."""
    return isinstance(node, sympy.Pow) and node.exp.is_number and bool(node.exp.is_negative)


def _grows(node: sympy.Basic) -> bool:
    """Whether ``node`` is exp, cosh, sinh or a power whose exponent is not a number."""
    if isinstance(node, sympy.Pow):
        return bool(node.exp.free_symbols)
    return isinstance(node, GROWING)


class ExactElements:
    """``expr`` of ``variables`` at single elements, in mpmath, where a long double run of
    ``evaluated`` (the kernel's own form) overflowed on the way.

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> f = sympy.exp(x) - sympy.exp(x - 1)
    >>> exact = ExactElements(f, (x,), f)
    >>> exact.values([np.array([12000.0])], np.dtype(np.float64)).tolist()
    [inf]
    """

    def __init__(
        self,
        expr: sympy.Expr,
        variables: Sequence[sympy.Symbol],
        evaluated: sympy.Expr,
        rewritten: sympy.Expr | None = None,
    ):
        self._expr, self._variables, self._evaluated = expr, tuple(variables), evaluated
        #: the same function written another way (the stability rewrites'), which must
        #: give the same value: a term that one form loses at every precision the other keeps
        self._rewritten = rewritten if rewritten is not None and rewritten != expr else None

    @functools.cached_property
    def inf_may_hide_a_value(self) -> bool:
        """Whether an inf result may be an overflow on the way to a finite value: a
        shrinking function (log, asinh, a root, ...) takes a growing one (exp, cosh, ...),
        or a growing one divides (the derivative of softsign(softsign(silu(x/3))), a ratio
        of sums of powers of exp(x/3), was inf in long double for 7.5e-9 at x = 1e4)."""
        return any(
            (_shrinks(node) or _divides(node))
            and any(_grows(inner) for inner in sympy.preorder_traversal(node))
            for node in sympy.preorder_traversal(self._expr)
        )

    def values(self, arguments: Sequence[np.ndarray], dtype: np.dtype) -> np.ndarray:
        """The value at each element of ``arguments`` (float arrays of one length) rounded
        to ``dtype``; NaN where the long double run met no overflow, mpmath cannot be
        asked cheaply, or gives no real value."""
        n = len(arguments[0]) if arguments else 1
        out = np.full(n, np.nan, dtype=dtype)
        try:
            with np.errstate(all="ignore"):
                overflowed = self._overflowed(list(arguments))
                reachable = self._reachable([np.asarray(a, dtype=np.float64) for a in arguments])
        except _CANNOT:  # a function with no long double or float loop: no retry
            return out
        for i in np.flatnonzero(overflowed & reachable):
            value = self._value([float(a[i]) for a in arguments])
            if value is not None:
                with np.errstate(over="ignore"):
                    out[i] = dtype.type(value)
        return out

    def _value(self, point: list[float]) -> float | None:
        """The value at ``point`` where two precisions in a row agree, for the expression
        and for its rewritten form alike (None where they differ).  An exact 0 counts
        only if every precision gives it: terms that absorb each other cancel to exactly
        0 at 20 and at 40 digits alike (the derivative of softsign(softsign(silu(x/3)))
        at x = 1e44, whose value 7.5e-89 shows from 80 digits on).  A term can vanish at
        every precision too: erfc(x - 1) - 2 at x = -1e4 is -erfc(10001), below 10^-10^7,
        and 3x·exp((1 - x)²)·erfc(1 - x)'' as SymPy writes it settled at 6.8e8 for 3.4e-12;
        its rewritten form, with erfc(1 - x), settles at the truth."""
        value = self._settled(self._mpmath, point)
        if value is None or self._rewritten is None:
            return value
        other = self._settled(self._mpmath_rewritten, point)
        if other is None or abs(other - value) > 1e-15 * abs(value):
            return None
        return value

    def _settled(self, function: Callable, point: list[float]) -> float | None:
        previous = None
        zeros = 0
        with _MPMATH:
            for digits in _DIGITS:
                with mpmath.workdps(digits):
                    try:
                        value = function(*(mpmath.mpf(p) for p in point))
                    except (ZeroDivisionError, ValueError, OverflowError, TypeError):
                        return None
                    if isinstance(value, mpmath.mpc):
                        if value.imag != 0:
                            return None
                        value = value.real
                    if not isinstance(value, mpmath.mpf) or not mpmath.isfinite(value):
                        return None
                    zeros = zeros + 1 if value == 0 else 0
                    if (
                        previous is not None
                        and value != 0
                        and (value == previous or abs(value - previous) <= 1e-18 * abs(value))
                    ):
                        return float(value)  # nearest double; ±inf beyond the largest
                    previous = value
        return 0.0 if zeros == len(_DIGITS) else None

    def _overflowed(self, arguments: list[np.ndarray]) -> np.ndarray:
        """Whether some intermediate of ``evaluated`` is infinite in long double (not NaN
        alone: log(-1) is no overflow).  Only elements with one infinite in float64 are
        looked at in long double (its range holds float64's)."""
        narrow = self._any_infinite([np.asarray(a, dtype=np.float64) for a in arguments])
        where = np.flatnonzero(narrow)
        if where.size:
            wide = [np.asarray(a, dtype=np.longdouble)[where] for a in arguments]
            narrow[where] = self._any_infinite(wide)
        return narrow

    def _any_infinite(self, arguments: list[np.ndarray]) -> np.ndarray:
        flags = np.zeros(len(arguments[0]) if arguments else 1, dtype=bool)
        for value in self._intermediates(*arguments):
            value = np.broadcast_to(np.asarray(value), flags.shape)
            if value.dtype.kind == "c":
                flags |= np.isinf(value.real) | np.isinf(value.imag)
            elif value.dtype.kind == "f":
                flags |= np.isinf(value)
        return flags

    def _reachable(self, arguments: list[np.ndarray]) -> np.ndarray:
        flags = np.ones(len(arguments[0]) if arguments else 1, dtype=bool)
        for value in self._arguments(*arguments):
            flags &= np.isfinite(np.broadcast_to(np.asarray(value, dtype=complex), flags.shape))
        return flags

    @functools.cached_property
    def _intermediates(self) -> Callable:
        nodes = [
            n
            for n in sympy.preorder_traversal(self._evaluated)
            if isinstance(n, sympy.Expr)
            and n.free_symbols
            and not n.is_Symbol
            and not isinstance(n, sympy.Piecewise)
        ]
        return lambdify(self._variables, nodes or [sympy.S.Zero], modules=modules_extended())

    @functools.cached_property
    def _arguments(self) -> Callable:
        nodes = list(sympy.preorder_traversal(self._expr))
        functions = [n for n in nodes if isinstance(n, sympy.Function)]
        finite = [
            a
            for n in functions
            if not _shrinks(n)  # mpmath takes log(e^(1e8)) as it comes
            for a in n.args
            if isinstance(a, sympy.Expr)
        ]
        finite += [n.exp for n in nodes if isinstance(n, sympy.Pow)]
        finite += [n.base for n in nodes if isinstance(n, sympy.Pow) and n.exp.free_symbols]
        from ..rewrites import NUMPY_MODULES

        return lambdify(self._variables, finite or [0], modules=NUMPY_MODULES)

    @functools.cached_property
    def _mpmath(self) -> Callable:
        return lambdify(self._variables, self._expr, modules=[MPMATH_FUNCTIONS, "mpmath"])

    @functools.cached_property
    def _mpmath_rewritten(self) -> Callable:
        return lambdify(self._variables, self._rewritten, modules=[MPMATH_FUNCTIONS, "mpmath"])


def _through_double(function: Callable[..., Any]) -> Callable[..., Any]:
    """A SciPy function without a long double loop, applied in float64 (erf, erfc saturate
    long before the float64 range ends)."""
    return lambda a: function(np.asarray(a, dtype=np.float64)).astype(np.asarray(a).dtype)


def modules_extended() -> list:
    """Functions for ``sympy.lambdify`` that keep long double arrays in long double
    (SciPy is imported here, when a kernel first needs them, not at start-up)."""
    import scipy.special

    return [
        {
            "sigmoid": lambda a: 1 / (1 + np.exp(-a)),
            "softplus": lambda a: np.logaddexp(np.zeros_like(a), a),
            "log1p": np.log1p,
            "expm1": np.expm1,
            "erf": _through_double(scipy.special.erf),
            "erfc": _through_double(scipy.special.erfc),
            "hypot": np.hypot,
            "logsumexp": lambda *a: functools.reduce(np.logaddexp, a),
        },
        "numpy",
    ]
