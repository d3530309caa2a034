"""Checks of the fundamental theorem of calculus, d/dx ∫ₐˣ f(t) dt = f(x).

`check_ftc` checks it twice, independently:

* symbolically: F' − f (F from `symcalc.symbolic.integrals.antiderivative`, never from
  differentiating an unevaluated ``Integral``, which proves nothing) simplifies to 0
  within the budget, or else vanishes to 1e-12 at random points evaluated with 30 digits;
* numerically, always: the accumulation A(x) = ∫ₐˣ f is computed by adaptive
  Gauss-Legendre quadrature on a grid (cumulatively: each panel once), compared
  with F(x) − F(a) where F exists, and differentiated numerically (a Richardson
  combination of the mean values of f over [x − kh, x + kh], each a short integral
  computed directly, so no cancellation) and compared with f.

The numeric check passes when every error is at most ``tolerance·max(1, |value|)``
(default 1e-9; on the catalog the errors are about 1e-15).

Examples
--------
>>> check_ftc("tanh").held
True
"""

from __future__ import annotations

import dataclasses
import math
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from ..errors import SymcalcError, TimeBudgetExceeded, check_number, check_range
from ..hooks import png_of
from ..symbolic import budget
from ..symbolic.catalog import Entry, univariate_entry
from ..symbolic.functions import expand_named
from ..symbolic.integrals import Antiderivative
from ..symbolic.integrals import antiderivative as find_antiderivative
from ..symbolic.parse import resolve
from .quadrature import _accumulation, _kernel, _numeric_kinks, _panel_integrals, _values

__all__ = ["NUMERIC_TOLERANCE", "FTCCheck", "check_ftc", "default_lower_limit"]

Function = str | sympy.Expr | Entry

RULES: tuple[str, ...] = ("left", "right", "midpoint", "trapezoid")

#: Default tolerance of the numeric FTC check: |error| <= tolerance * max(1, |value|).
NUMERIC_TOLERANCE = 1e-9
#: Largest residual |F' - f| (relative to max(1, |f|)) accepted at random points.
SYMBOLIC_TOLERANCE = 1e-12


def _in_domain(entry: Entry, value: float) -> bool:
    domain = entry.domain_of(entry.variable)
    return bool(domain.contains(sympy.Float(value)) == sympy.true)


def default_lower_limit(f: Function, **params: Any) -> float:
    """The lower limit a of ∫ₐˣ f that `check_ftc` and `symcalc.present.plotting.plot_ftc` use
    when none is given: 0 when 0 is in the domain of f's variable, otherwise the middle
    of the entry's plot range.

    Examples
    --------
    >>> default_lower_limit("sigmoid")
    0.0
    >>> default_lower_limit("binary_cross_entropy")  # p in (0, 1)
    0.5
    """
    entry = resolve(f, **params)
    if _in_domain(entry, 0.0):
        return 0.0
    low, high = entry.plot_range
    return float(low + high) / 2


def _domain_text(entry: Entry) -> str:
    return f"{entry.variable} ∈ {sympy.sstr(entry.domain_of(entry.variable))}"


# -- the fundamental theorem --------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class FTCCheck:
    """The result of checking d/dx ∫ₐˣ f(t) dt = f(x), symbolically and numerically.

    ``symbolic_held`` is True or False, or None when no antiderivative was found in
    time; ``symbolic_method`` says how: ``"simplify"`` (F' − f simplified to 0) or
    ``"random points"`` (|F' − f| <= 1e-12 at random points, 30 digits).
    ``numeric_held`` compares the quadrature accumulation A with F(x) − F(a)
    (``accumulation_error``, None without F) and its numeric derivative with f
    (``derivative_error``), each as a maximum absolute error over ``points`` points.
    ``x``, ``accumulation`` and ``values`` hold A(x) and f(x) on the grid for plots.
    """

    input: str
    entry: Entry
    a: float
    x_range: tuple[float, float]
    antiderivative: Antiderivative
    symbolic_held: bool | None
    symbolic_method: str | None
    symbolic_error: float | None
    symbolic_seconds: float
    numeric_held: bool
    accumulation_error: float | None
    derivative_error: float
    points: int
    tolerance: float
    numeric_seconds: float
    x: np.ndarray
    accumulation: np.ndarray
    values: np.ndarray

    @property
    def held(self) -> bool:
        """True when no part failed (the symbolic part may be None: no closed form)."""
        return self.numeric_held and self.symbolic_held is not False

    @property
    def max_abs_error(self) -> float:
        """The larger of the numeric errors."""
        errors = [e for e in (self.accumulation_error, self.derivative_error) if e is not None]
        return max(errors)

    def to_text(self) -> str:
        """A short report: the antiderivative, then each part with its error and time."""
        x = self.entry.variable
        verdict = {True: "held", False: "FAILED", None: "not checked (no antiderivative)"}
        lines = [
            f"fundamental theorem: d/d{x} ∫_{self.a:g}^{x} f(t) dt = f({x})   for {self.input}"
        ]
        lines.append(self.antiderivative.to_text())
        how = f" by {self.symbolic_method}" if self.symbolic_method else ""
        error = ""
        if self.symbolic_error is not None and self.symbolic_method in (
            "simplify",
            "random points",
        ):
            error = f", max |F' - f| = {self.symbolic_error:.2e}"
        lines.append(
            f"symbolic: {verdict[self.symbolic_held]}{how}{error} ({self.symbolic_seconds:.2f} s)"
        )
        low, high = self.x_range
        parts = [f"max |A' - f| = {self.derivative_error:.2e}"]
        if self.accumulation_error is not None:
            parts.insert(0, f"max |A - (F(x) - F(a))| = {self.accumulation_error:.2e}")
        lines.append(
            f"numeric:  {verdict[self.numeric_held]} at {self.points} points in "
            f"[{low:g}, {high:g}]: {', '.join(parts)} "
            f"(tolerance {self.tolerance:g}·max(1, |value|); {self.numeric_seconds:.2f} s)"
        )
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the ``symcalc ftc`` contract."""
        F = self.antiderivative.antiderivative
        return {
            "input": self.input,
            "name": self.entry.name,
            "variable": self.entry.variable.name,
            "a": self.a,
            "x_range": list(self.x_range),
            "antiderivative": None if F is None else sympy.sstr(F),
            "held": self.held,
            "symbolic": {
                "held": self.symbolic_held,
                "method": self.symbolic_method,
                "max_abs_error": self.symbolic_error,
                "seconds": round(self.symbolic_seconds, 4),
            },
            "numeric": {
                "held": self.numeric_held,
                "max_abs_error": self.max_abs_error,
                "accumulation_error": self.accumulation_error,
                "derivative_error": self.derivative_error,
                "points": self.points,
                "tolerance": self.tolerance,
                "seconds": round(self.numeric_seconds, 4),
            },
        }

    def _repr_png_(self) -> bytes:
        return png_of(self)

    def __repr__(self) -> str:
        return (
            f"<FTCCheck {self.input}: symbolic {self.symbolic_held}, numeric {self.numeric_held} "
            f"(max error {self.max_abs_error:.1e})>"
        )


def _integrate(entry: Entry, timeout: float | None) -> Antiderivative:
    return find_antiderivative(entry, timeout=timeout)


def _claimed(entry: Entry, claimed: str | sympy.Expr) -> Antiderivative:
    """A user's claimed antiderivative, read safely, as an `Antiderivative` to check."""
    F = resolve(claimed).expr if isinstance(claimed, (str, sympy.Basic)) else None
    if F is None:
        raise SymcalcError(
            f"antiderivative must be an expression (text or SymPy), got {type(claimed).__name__}"
        )
    if F.has(sympy.Integral, sympy.Derivative):
        raise SymcalcError(
            "antiderivative must be a closed form; an unevaluated Integral differentiates "
            "back to f "
            "by definition and proves nothing"
        )
    x = entry.variable
    F = F.xreplace({s: x for s in F.free_symbols if s.name == x.name})
    others = sorted(s.name for s in F.free_symbols if s != x)
    if others:
        raise SymcalcError(f"the antiderivative may only use {x}, but it has {', '.join(others)}")
    return Antiderivative(
        input=str(claimed),
        entry=entry,
        variable=x,
        integrand=entry.expr,
        antiderivative=F,
        steps=None,
        method="given",
        seconds=0.0,
    )


def _evaluator(expr: sympy.Expr, x: sympy.Symbol, digits: int = 30) -> Callable[[float], float]:
    """x -> expr(x) evaluated with ``digits`` significant digits (mpmath)."""
    import mpmath

    try:
        compiled = sympy.lambdify(x, expand_named(expr), modules="mpmath")
    except (TypeError, NameError, SyntaxError):  # pragma: no cover - lambdify covers our functions
        compiled = None

    def evaluate(value: float, offset: float = 0.0) -> float:
        """expr at value + offset, the sum formed with ``digits`` digits (offset may be tiny)."""
        with mpmath.workdps(digits):
            point = mpmath.mpf(value) + mpmath.mpf(offset)
            try:
                if compiled is None:
                    raise TypeError
                out = compiled(point)
            except (TypeError, NameError, ValueError, ZeroDivisionError):
                out = expand_named(expr).subs(x, sympy.Float(point, digits)).evalf(digits)
            out = complex(out)
        return out.real if abs(out.imag) <= 1e-20 * max(1.0, abs(out.real)) else math.nan

    return evaluate


def _symbolic_check(residual: sympy.Expr) -> bool:  # runs in the budget's child process
    simplified = sympy.simplify(sympy.piecewise_fold(residual))
    return simplified == 0


def _random_points(low: float, high: float, count: int = 24) -> np.ndarray:
    return np.random.default_rng(20261125).uniform(low, high, count)


def _largest_jump(
    F: sympy.Expr, x: sympy.Symbol, x_range: tuple[float, float]
) -> tuple[float, float | None]:
    """The largest jump |F(c+) − F(c−)| of a piecewise F at its switches in range, and where."""
    from ..symbolic.kinks import kink_candidates

    if not F.has(sympy.Piecewise, sympy.Abs, sympy.Max, sympy.Min, sympy.sign, sympy.Heaviside):
        return 0.0, None
    evaluate = _evaluator(F, x, digits=50)
    worst, where = 0.0, None
    for point in kink_candidates(F, x):
        try:
            c = float(point)
        except (TypeError, ValueError):
            continue
        if not x_range[0] < c < x_range[1]:
            continue
        delta = 1e-30 * max(1.0, abs(c))
        left, right = evaluate(c, -delta), evaluate(c, delta)
        jump = (
            abs(right - left) / max(1.0, abs(left))
            if math.isfinite(left) and math.isfinite(right)
            else math.inf
        )
        if jump > worst:
            worst, where = jump, c
    return worst, where


def _check_symbolically(entry, F, x_range, timeout) -> tuple[bool, str, float | None]:
    from ..symbolic.derivatives import differentiate

    x = entry.variable
    jump, where = _largest_jump(F, x, x_range)
    if jump > SYMBOLIC_TOLERANCE:
        return False, f"continuity (F jumps by {jump:.3g} at {x} = {where:g})", jump
    f = expand_named(entry.expr)
    dF = differentiate(F, x)
    residual = dF - f
    try:
        if budget.within(timeout, _symbolic_check, residual, what="simplification"):
            return True, "simplify", 0.0
    except TimeBudgetExceeded:
        pass
    evaluate_residual, evaluate_f = _evaluator(residual, x), _evaluator(f, x)
    worst = 0.0
    for point in _random_points(*x_range):
        r = evaluate_residual(float(point))
        scale = max(1.0, abs(evaluate_f(float(point))))
        worst = max(worst, abs(r) / scale if math.isfinite(r) else math.inf)
    return worst <= SYMBOLIC_TOLERANCE, "random points", worst


def _richardson_weights(terms: int = 4) -> np.ndarray:
    """Weights w with Σ w_k = 1 and Σ w_k k^(2j) = 0 (j = 1..terms-1): error O(h^(2·terms))."""
    k = np.arange(1, terms + 1, dtype=float)
    system = np.vstack([k ** (2 * j) for j in range(terms)])
    rhs = np.zeros(terms)
    rhs[0] = 1.0
    return np.linalg.solve(system, rhs)


_WEIGHTS_RICHARDSON = _richardson_weights(4)


def _numeric_derivative(kern, points: np.ndarray, h: np.ndarray) -> np.ndarray:
    """d/dx of the accumulation at ``points``: Richardson on (A(x+kh) − A(x−kh)) / 2kh.

    A(x+kh) − A(x−kh) is the short integral ∫ f over [x − kh, x + kh], computed
    directly, so the difference quotient loses no digits however small h is.
    """
    k = np.arange(1, len(_WEIGHTS_RICHARDSON) + 1)
    h = np.broadcast_to(np.asarray(h, dtype=float), points.shape)
    lo = (points[:, None] - k[None, :] * h[:, None]).ravel()
    hi = (points[:, None] + k[None, :] * h[:, None]).ravel()
    integrals, _ = _panel_integrals(kern, lo, hi)
    means = (integrals / (hi - lo)).reshape(points.size, k.size)  # the float widths, not 2kh
    return means @ _WEIGHTS_RICHARDSON


def check_ftc(
    f: Function,
    a: float | None = None,
    *,
    x_range: Sequence[float] | None = None,
    points: int = 201,
    params: dict[str, Any] | None = None,
    tolerance: float = NUMERIC_TOLERANCE,
    timeout: float | None = None,
    antiderivative: str | sympy.Expr | None = None,
) -> FTCCheck:
    """Check d/dx ∫ₐˣ f(t) dt = f(x) symbolically (where F exists) and numerically (always).

    ``a`` defaults to 0, or to the middle of the entry's plot range when 0 is outside
    its domain (binary cross-entropy: p ∈ (0, 1)).  The check runs on ``x_range``
    (default: the entry's ``plot_range``, widened to contain ``a``) at ``points``
    equally spaced points plus the kinks.  The numeric part holds when every error is
    at most ``tolerance * max(1, |value|)``.  ``antiderivative`` checks a claimed F
    (text or SymPy) instead of integrating: a wrong one fails both parts.  A piecewise
    F must also be continuous (a jump is no antiderivative across it).

    Examples
    --------
    >>> check = check_ftc("relu")
    >>> check.symbolic_held, check.numeric_held
    (True, True)
    >>> check.derivative_error < 1e-12
    True
    >>> check_ftc("silu").symbolic_held is None  # no closed form, numeric still checked
    True
    """
    entry = univariate_entry(resolve(f, **dict(params or {})))
    text = f if isinstance(f, str) else entry.name
    low, high = check_range(entry.plot_range if x_range is None else x_range)
    kern = _kernel(entry)
    if a is None:
        a = default_lower_limit(entry)
        if not math.isfinite(float(_values(kern, a))):  # log(x): start inside the range
            a = (low + high) / 2
    a = check_number(a, "a")
    if not _in_domain(entry, a):
        raise SymcalcError(
            f"a = {a:g} is outside the domain of {entry.name} ({_domain_text(entry)}); "
            f"choose `a` inside it, e.g. {default_lower_limit(entry):g}",
            parameter="a",
        )
    if not math.isfinite(float(_values(kern, a))):
        raise SymcalcError(
            f"f is not finite at a = {a:g}; choose another `a` where f is defined", parameter="a"
        )
    low, high = min(low, a), max(high, a)
    for end in (low, high):
        if not _in_domain(entry, end):
            raise SymcalcError(
                f"the range {low:g}:{high:g} leaves the domain of {entry.name} "
                f"({_domain_text(entry)}); "
                "choose a range inside it"
            )
    if isinstance(points, bool) or not isinstance(points, int) or not 11 <= points <= 100_000:
        raise SymcalcError(
            f"`points` must be a whole number from 11 to 100000, got {points!r}", parameter="points"
        )
    tolerance = check_number(tolerance, "tolerance")
    timeout = budget.default_seconds() if timeout is None else timeout

    found = (
        _claimed(entry, antiderivative)
        if antiderivative is not None
        else _integrate(entry, timeout)
    )

    # symbolic part
    start = time.perf_counter()
    if found.found:
        symbolic_held, method, symbolic_error = _check_symbolically(
            entry, found.antiderivative, (low, high), timeout
        )
    else:
        symbolic_held, method, symbolic_error = None, None, None
    symbolic_seconds = time.perf_counter() - start

    # numeric part
    start = time.perf_counter()
    kinks = _numeric_kinks(entry, low, high)
    grid = np.union1d(np.linspace(low, high, points), [a, *kinks])
    accumulated, converged = _accumulation(kern, a, grid)
    values = _values(kern, grid)
    if not np.all(np.isfinite(values)):
        bad = grid[~np.isfinite(values)][0]
        raise SymcalcError(
            f"f is not finite at {bad:.6g}; choose a range where f is defined and finite"
        )

    accumulation_error = None
    if found.found:
        F = _evaluator(found.antiderivative, entry.variable)
        F_a = F(a)
        exact = np.array([F(float(v)) - F_a for v in grid])
        deviation = np.abs(accumulated - exact) / np.maximum(1.0, np.abs(exact))
        accumulation_error = float(np.max(np.abs(accumulated - exact)))
        accumulation_ok = bool(np.all(deviation <= tolerance))
    else:
        accumulation_ok = True

    # step per point: small against the distance to the nearest end or kink, so the
    # stencil x ± 4h stays where f is smooth; the short integrals carry no cancellation,
    # so a small h costs no accuracy
    fences = np.array([low, high, *kinks])
    distance = np.min(np.abs(grid[:, None] - fences[None, :]), axis=1)
    inner = distance > 1e-9 * (high - low)
    checked = grid[inner]
    h = np.minimum(min(1e-2, 1e-3 * (high - low)), 0.01 * distance[inner])
    slopes = _numeric_derivative(kern, checked, h)
    derivative_deviation = np.abs(slopes - values[inner])
    derivative_error = float(np.max(derivative_deviation))
    derivative_ok = bool(
        np.all(derivative_deviation <= tolerance * np.maximum(1.0, np.abs(values[inner])))
    )
    numeric_seconds = time.perf_counter() - start

    return FTCCheck(
        input=text,
        entry=entry,
        a=a,
        x_range=(low, high),
        antiderivative=found,
        symbolic_held=symbolic_held,
        symbolic_method=method,
        symbolic_error=symbolic_error,
        symbolic_seconds=symbolic_seconds,
        numeric_held=converged and accumulation_ok and derivative_ok,
        accumulation_error=accumulation_error,
        derivative_error=derivative_error,
        points=int(checked.size),
        tolerance=tolerance,
        numeric_seconds=numeric_seconds,
        x=grid,
        accumulation=accumulated,
        values=values,
    )
