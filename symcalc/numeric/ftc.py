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
(default 1e-9; on the catalog the errors are about 1e-15).  Where f is undefined at
points inside the range (a pole, a 0/0 hole such as |x+1|/(x+1) at -1), the range is cut
there and the theorem checked on each piece from a lower limit of its own.  An F with
an infinite or undefined constant never passes, and the JSON form holds null (with a
reason) where a number is undefined, never NaN.

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
from ..symbolic.domains import (
    compiled_for_mpmath,
    domain_intervals,
    jump_candidates,
    real_domain_within,
    refuse_nowhere_real,
)
from ..symbolic.functions import expand_named
from ..symbolic.integral_steps import derivative
from ..symbolic.integrals import Antiderivative
from ..symbolic.integrals import antiderivative as find_antiderivative
from ..symbolic.parse import resolve, resolve_claimed
from .quadrature import (
    _accumulation,
    _kernel,
    _numeric_kinks,
    _panel_integrals,
    _values,
    kinks_note,
)

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
    ``x``, ``accumulation`` and ``values`` hold A(x) and f(x) on the grid for plots
    (NaN at the singular points, so a curve breaks there).

    Where f is undefined at points inside the range (a pole, a 0/0 hole: ``singular``),
    the theorem is checked on each piece between them, from a lower limit of its own
    (``pieces`` holds (start, end, a) for each: a itself in its piece, the middle
    elsewhere).  A hole where f has the same finite limit from both sides (sin(x)/x at
    0) is ``removable``: f is taken as that limit there, as its kernel computes it, and
    the range is not cut, unless F jumps there (one constant on each side).
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
    pieces: tuple[tuple[float, float, float], ...] = ()
    singular: tuple[float, ...] = ()
    #: (point, limit of f there) of each removable point in the range
    removable: tuple[tuple[float, float], ...] = ()
    #: Caveats, in words: where the kinks of f or the switches of F in the range may not
    #: all be listed (|sin x| over [0, 1e7]), the accumulation between those listed is
    #: adaptive quadrature, and a note says so.
    notes: tuple[str, ...] = ()

    @property
    def held(self) -> bool:
        """True when no part failed (the symbolic part may be None: no closed form)."""
        return self.numeric_held and self.symbolic_held is not False

    @property
    def max_abs_error(self) -> float:
        """The larger of the numeric errors (inf where an error could not be computed)."""
        errors = [e for e in (self.accumulation_error, self.derivative_error) if e is not None]
        return max(math.inf if math.isnan(e) else e for e in errors)

    def to_text(self) -> str:
        """A short report: the antiderivative, then each part with its error and time."""
        x = self.entry.variable
        verdict = {True: "held", False: "FAILED", None: "not checked (no antiderivative)"}
        lines = [
            f"fundamental theorem: d/d{x} ∫_{self.a:g}^{x} f(t) dt = f({x})   for {self.input}"
        ]
        lines.append(self.antiderivative.to_text())
        if self.singular:
            where = ", ".join(f"{x} = {c:g}" for c in self.singular)
            pieces = "; ".join(_piece_text(p, self.singular) for p in self.pieces)
            lines.append(f"f is undefined at {where}: checked on each piece: {pieces}")
        for c, limit in self.removable:
            if c in self.singular and c != self.a:  # cut there: f's value is not used
                continue
            lines.append(
                f"f is undefined at {x} = {c:g} as written; its limit there, {limit:.15g}, "
                "is used (a removable point)"
            )
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
        lines.extend(f"note: {note}" for note in self.notes)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the ``symcalc ftc`` contract; never NaN or inf (null and a reason)."""
        F = self.antiderivative.antiderivative
        reasons: dict[str, str] = {}
        numbers = {
            "symbolic.max_abs_error": self.symbolic_error,
            "numeric.max_abs_error": self.max_abs_error,
            "numeric.accumulation_error": self.accumulation_error,
            "numeric.derivative_error": self.derivative_error,
        }
        shown = {key: _json_number(value, key, reasons) for key, value in numbers.items()}
        return {
            "input": self.input,
            "name": self.entry.name,
            "variable": self.entry.variable.name,
            "a": self.a,
            "x_range": list(self.x_range),
            "antiderivative": None if F is None else sympy.sstr(F),
            "held": self.held,
            "antiderivative_method": self.antiderivative.method,
            "singular_points": list(self.singular),
            "removable_points": [{"x": c, "limit": v} for c, v in self.removable],
            "pieces": [{"start": lo, "end": hi, "a": a} for lo, hi, a in self.pieces],
            "symbolic": {
                "held": self.symbolic_held,
                "method": self.symbolic_method,
                "max_abs_error": shown["symbolic.max_abs_error"],
                "seconds": round(self.symbolic_seconds, 4),
            },
            "numeric": {
                "held": self.numeric_held,
                "max_abs_error": shown["numeric.max_abs_error"],
                "accumulation_error": shown["numeric.accumulation_error"],
                "derivative_error": shown["numeric.derivative_error"],
                "points": self.points,
                "tolerance": self.tolerance,
                "seconds": round(self.numeric_seconds, 4),
            },
            "null_reasons": reasons,
            "notes": list(self.notes),
        }

    def _repr_png_(self) -> bytes:
        return png_of(self)

    def __repr__(self) -> str:
        return (
            f"<FTCCheck {self.input}: symbolic {self.symbolic_held}, numeric {self.numeric_held} "
            f"(max error {self.max_abs_error:.1e})>"
        )


def _piece_text(piece: tuple[float, float, float], singular: tuple[float, ...]) -> str:
    """``(-1, 3] from a = 0``: a piece, open where f is undefined."""
    low, high, a = piece
    left, right = "(" if low in singular else "[", ")" if high in singular else "]"
    return f"{left}{low:g}, {high:g}{right} from a = {a:g}"


def _json_number(value: float | None, key: str, reasons: dict[str, str]) -> float | None:
    """A finite float for JSON, or None with the reason recorded under ``key``."""
    if value is None:
        return None
    if math.isnan(value):
        reasons[key] = "not a number: F or the accumulation is undefined at some point"
        return None
    if math.isinf(value):
        reasons[key] = "infinite: F or the accumulation is infinite at some point"
        return None
    return float(value)


def _integrate(entry: Entry, timeout: float | None) -> Antiderivative:
    return find_antiderivative(entry, timeout=timeout)


def _claimed(entry: Entry, claimed: str | sympy.Expr) -> Antiderivative:
    """A user's claimed antiderivative, read safely, as an `Antiderivative` to check."""
    F = resolve_claimed(claimed).expr if isinstance(claimed, (str, sympy.Basic)) else None
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


def _evaluator(
    expr: sympy.Expr, x: sympy.Symbol, digits: int = 30, raw: bool = False
) -> Callable[[float], float]:
    """x -> expr(x) evaluated with ``digits`` significant digits (mpmath); NaN where undefined.

    With ``raw`` the value stays an mpmath number, so differences of large values
    (F(x) − F(a)) lose no digits before they are rounded to a float.
    """
    import mpmath

    body, compiled = compiled_for_mpmath(expr, x)  # None: evaluate by substitution instead

    def evaluate(value: float, offset: float = 0.0) -> float:
        """expr at value + offset, the sum formed with ``digits`` digits (offset may be tiny)."""
        with mpmath.workdps(digits):
            point = mpmath.mpf(value) + mpmath.mpf(offset)
            try:
                if compiled is None:
                    raise TypeError
                out = compiled(point)
            except (TypeError, NameError, ValueError, ZeroDivisionError):
                try:
                    out = body.subs(x, sympy.Float(point, digits)).evalf(digits)
                except (TypeError, ValueError, ZeroDivisionError):
                    return math.nan
            except Exception:  # noqa: BLE001 - mpmath's own errors: undefined here
                return math.nan
            try:
                value = complex(out)
            except (TypeError, ValueError, OverflowError):
                return math.nan
            if abs(value.imag) > 1e-20 * max(1.0, abs(value.real)) or not math.isfinite(value.real):
                return math.nan
            return mpmath.re(mpmath.mpmathify(out)) if raw else value.real

    return evaluate


def _symbolic_check(residual: sympy.Expr) -> bool:  # runs in the budget's child process
    simplified = sympy.simplify(sympy.piecewise_fold(residual))
    return simplified == 0


def _random_points(low: float, high: float, count: int = 24) -> np.ndarray:
    return np.random.default_rng(20261125).uniform(low, high, count)


def _jump_points(F: sympy.Expr, x: sympy.Symbol, x_range: tuple[float, float]) -> list[float]:
    """Where F may jump inside the range: branch switches, floor steps, tan's poles."""
    from ..symbolic.kinks import kinks_within

    points = set(jump_candidates(F, x, *x_range))
    points.update(kinks_within(F, x, float(x_range[0]), float(x_range[1])).points)
    return sorted(p for p in points if x_range[0] < p < x_range[1])


def _jump_note(F: sympy.Expr | None, x: sympy.Symbol, low: float, high: float) -> str | None:
    """Where F's switches in [low, high] may not all be listed, why; else None."""
    from ..symbolic.kinks import kinks_within

    if F is None:
        return None
    try:
        note = kinks_within(F, x, float(low), float(high)).note(low, high)
    except SymcalcError:
        return None
    if note is None:
        return None
    return (
        note.replace("the kinks", "the switches of F", 1)
        + "; F's continuity was checked at those listed only"
    )


def _largest_jump(
    F: sympy.Expr,
    f: sympy.Expr,
    x: sympy.Symbol,
    x_range: tuple[float, float],
    singular: Sequence[float] = (),
) -> tuple[float, float | None]:
    """The largest jump |F(c+) − F(c−)| of F at its switches in range, and where.

    Points where f itself is undefined (a pole between two intervals of its domain, or a
    hole such as 1/sqrt(1 + 9/(16x²)) at 0) are skipped: there F holds on each side with
    a constant of its own.
    """
    points = _jump_points(F, x, x_range)
    if not points:
        return 0.0, None
    evaluate, integrand = _evaluator(F, x, digits=50), _evaluator(f, x, digits=50)
    worst, where = 0.0, None
    for c in points:
        if any(abs(c - s) <= 1e-12 * max(1.0, abs(s)) for s in singular):
            continue  # f's domain ends here: the check runs on each side (check_ftc's pieces)
        delta = 1e-11 * max(1.0, abs(c))  # c is a float: step past its rounding
        sides = (integrand(c, -delta), integrand(c, 0.0), integrand(c, delta))
        if not all(math.isfinite(v) for v in sides):
            continue
        left, right = evaluate(c, -delta), evaluate(c, delta)
        slope = max(abs(integrand(c, -delta)), abs(integrand(c, delta)))
        if math.isfinite(left) and math.isfinite(right):
            jump = max(abs(right - left) - 10 * delta * slope, 0.0) / max(1.0, abs(left))
        else:
            jump = math.inf
        if jump > worst:
            worst, where = jump, c
    return worst, where


def _check_symbolically(
    entry, F, x_range, timeout, singular: Sequence[float] = ()
) -> tuple[bool, str, float | None]:
    x = entry.variable
    f = expand_named(entry.expr)
    if F.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan, sympy.AccumBounds):
        return False, "F is not finite (it contains an infinite or undefined constant)", None
    jump, where = _largest_jump(F, f, x, x_range, singular)
    if jump > 1e-7:
        return False, f"continuity (F jumps by {jump:.3g} at {x} = {where:g})", jump
    residual = derivative(F, x) - f
    try:
        if budget.within(timeout, _symbolic_check, residual, what="simplification"):
            finite = _evaluator(F, x)
            if all(math.isfinite(finite(float(p))) for p in _random_points(*x_range, count=8)):
                return True, "simplify", 0.0
    except TimeBudgetExceeded:
        pass
    evaluate_residual, evaluate_f, evaluate_F = (
        _evaluator(residual, x),
        _evaluator(f, x),
        _evaluator(F, x),
    )
    worst = 0.0
    for point in _random_points(*x_range):
        value = evaluate_f(float(point))
        if not math.isfinite(value):
            continue  # a singular point of f: nothing to compare
        if not math.isfinite(evaluate_F(float(point))):
            return False, f"F is not finite at {x} = {point:.6g}", math.inf
        r = evaluate_residual(float(point))
        worst = max(worst, abs(r) / max(1.0, abs(value)) if math.isfinite(r) else math.inf)
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


def _settled_derivative(
    kern, points: np.ndarray, h: np.ndarray, tolerance: float, halvings: int = 8
) -> np.ndarray:
    """`_numeric_derivative` at steps ``h``, halved where two successive steps disagree by
    more than a tenth of ``tolerance`` (relative to max(1, |slope|)): f varying on a scale
    shorter than h (exp(cosh x) at x = 4, where f'/f = 27).  Where the first two agree the
    first estimate is kept."""
    h = np.array(np.broadcast_to(np.asarray(h, dtype=float), points.shape))
    slopes = _numeric_derivative(kern, points, h)
    todo = np.arange(points.size)
    for _ in range(halvings):
        with np.errstate(over="ignore"):
            h[todo] = np.maximum(h[todo] / 2, 64 * np.spacing(np.abs(points[todo])))
        finer = _numeric_derivative(kern, points[todo], h[todo])
        with np.errstate(invalid="ignore"):
            change = np.abs(finer - slopes[todo])
            settled = change <= 0.1 * tolerance * np.maximum(1.0, np.abs(finer))
        slopes[todo[~settled]] = finer[~settled]
        todo = todo[~settled]
        if not todo.size:
            break
    return slopes


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

    The check runs on ``x_range`` (default: the entry's ``plot_range``, cut to where f is
    real: ``sqrt(x)`` on [0, 5]; of several stretches the one holding 0, else the
    longest), widened to contain ``a``, at ``points`` equally spaced points plus the
    kinks; it is split where f is undefined (a pole, log x at 0).  ``a`` defaults to 0,
    or to the middle of the entry's plot range when 0 is outside its domain (binary
    cross-entropy: p ∈ (0, 1)); where f is not finite at 0 (log x, 1/x), halfway from 0
    to the right end of the range.  The numeric part holds when every error is
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
    _check_width(low, high)
    kern = _kernel(entry)
    timeout = budget.default_seconds() if timeout is None else timeout
    domain = _real_domain(entry, timeout)
    if x_range is None:  # sqrt(x): [0, 5], not [-5, 5] where half of it is not real
        low, high = _on_domain(domain, low, high)
        if domain is None:  # SymPy found no domain: where f is finite, as the kernel says
            low, high = _finite_stretch(kern, low, high)
    if isinstance(points, bool) or not isinstance(points, int) or not 11 <= points <= 100_000:
        raise SymcalcError(
            f"`points` must be a whole number from 11 to 100000, got {points!r}", parameter="points"
        )
    found = singular = removable = None  # found once the range is known
    if a is None:  # a default a lies inside [low, high]: the range stays as it is
        with np.errstate(all="ignore"):
            nowhere = not np.isfinite(_values(kern, np.linspace(low, high, points))).any()
        if nowhere and len(entry.variables) == 1:  # before integrating: ftc's own refusal
            refuse_nowhere_real(entry.bind(), entry.variable)
        found = _found(entry, antiderivative, timeout)
        singular, removable = _cuts(entry, domain, (low, high), points, kern, found)
        a = _default_a(entry, kern, low, high, singular)
    a = check_number(a, "a")
    if not _in_domain(entry, a):
        raise SymcalcError(
            f"a = {a:g} is outside the domain of {entry.name} ({_domain_text(entry)}); "
            f"choose `a` inside it, e.g. {default_lower_limit(entry):g}",
            parameter="a",
        )
    if not math.isfinite(float(_values(kern, a))):
        if len(entry.variables) == 1:
            refuse_nowhere_real(entry.bind(), entry.variable)
        raise SymcalcError(
            f"f is not finite at a = {a:g}; choose another `a` where f is defined", parameter="a"
        )
    low, high = min(low, a), max(high, a)
    _check_width(low, high)
    for end in (low, high):
        if not _in_domain(entry, end):
            raise SymcalcError(
                f"the range {low:g}:{high:g} leaves the domain of {entry.name} "
                f"({_domain_text(entry)}); "
                "choose a range inside it"
            )
    tolerance = check_number(tolerance, "tolerance")

    if found is None:
        found = _found(entry, antiderivative, timeout)
    base = np.linspace(low, high, points)
    if singular is None:
        singular, removable = _cuts(entry, domain, (low, high), points, kern, found)

    # symbolic part
    start = time.perf_counter()
    if found.found:
        symbolic_held, method, symbolic_error = _check_symbolically(
            entry, found.antiderivative, (low, high), timeout, singular
        )
    else:
        symbolic_held, method, symbolic_error = None, None, None
    symbolic_seconds = time.perf_counter() - start

    # numeric part, on each piece between the points where f is undefined
    start = time.perf_counter()
    kinks = _numeric_kinks(entry, low, high)
    if any(abs(a - c) <= 1e-9 * (high - low) for c in singular):
        if not _removable_points(kern, [a], high - low):  # else each side starts at a
            raise SymcalcError(
                f"f is not finite at a = {a:g}; choose another `a` where f is defined",
                parameter="a",
            )
    F = _evaluator(found.antiderivative, entry.variable, raw=True) if found.found else None
    edges = sorted({low, *singular, high})
    parts = []
    for lo, hi in zip(edges[:-1], edges[1:], strict=True):
        a_k = a if lo <= a <= hi else (lo + hi) / 2
        parts.append(
            _check_piece(
                kern,
                F,
                (lo, hi),
                a_k,
                base,
                kinks,
                tolerance,
                (lo in singular, hi in singular),
                [c for c, _ in removable if c not in singular],
            )
        )
    jump_note = _jump_note(found.antiderivative if found.found else None, entry.variable, low, high)
    converged = all(p.converged for p in parts)
    kink_note = kinks_note(entry, low, high)
    if not converged:  # not a failure of the theorem: A(x) itself is not known well enough
        why = kink_note or "f oscillates or varies too fast for its quadrature over this range"
        raise SymcalcError(
            f"the accumulation of {entry.name} over [{low:g}, {high:g}] did not reach 1e-10 "
            f"accuracy ({why}), so the theorem cannot be checked there; choose a shorter range"
        )
    accumulation_ok = all(p.accumulation_ok for p in parts)
    derivative_ok = all(p.derivative_ok for p in parts)
    accumulation_error = None if F is None else _worst(p.accumulation_error for p in parts)
    derivative_error = _worst(p.derivative_error for p in parts)
    grid, accumulated, values = _joined(parts)
    numeric_seconds = time.perf_counter() - start
    checked_points = sum(p.checked for p in parts)

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
        points=checked_points,
        tolerance=tolerance,
        numeric_seconds=numeric_seconds,
        x=grid,
        accumulation=accumulated,
        values=values,
        pieces=tuple((p.low, p.high, p.a) for p in parts),
        singular=tuple(singular),
        removable=tuple(removable),
        notes=tuple(n for n in (kink_note, jump_note) if n is not None),
    )


def _check_width(low: float, high: float) -> None:
    """Refuse a range wider than the largest float (its grid's steps would overflow)."""
    if not math.isfinite(high - low):
        raise SymcalcError(
            f"the range {low:g}:{high:g} is wider than the largest float (1.8e308); "
            "choose a narrower one",
            parameter="x_range",
        )


def _real_domain(entry: Entry, timeout: float) -> sympy.Set | None:
    """Where f is real and continuous, as SymPy finds it within ``timeout``; None if not."""
    return real_domain_within(entry.expr, entry.variable, timeout)


def _finite_stretch(kern, low: float, high: float, count: int = 1001) -> tuple[float, float]:
    """[low, high] cut to the stretch where f is finite at ``count`` grid points (the one
    holding 0, else the longest; the first grid points where f is finite), or as it is.
    x**log(x**log(x**log(x))), whose domain SymPy does not find, is checked on (0, 5]."""
    grid = np.linspace(low, high, count)
    with np.errstate(all="ignore"):
        finite = np.isfinite(_values(kern, grid))
    if finite.all() or not finite.any():
        return low, high
    edges = np.flatnonzero(np.diff(np.concatenate(([0], finite.astype(np.int8), [0]))))
    runs = [(int(i), int(j) - 1) for i, j in zip(edges[::2], edges[1::2], strict=True)]
    runs = [r for r in runs if r[1] > r[0]] or runs
    holding = [r for r in runs if grid[r[0]] <= 0.0 <= grid[r[1]]]
    first, last = holding[0] if holding else max(runs, key=lambda r: r[1] - r[0])
    return float(grid[first]), float(grid[last])


def _on_domain(domain: sympy.Set | None, low: float, high: float) -> tuple[float, float]:
    """[low, high] cut to f's real domain: of the stretches where f is real (single points
    where it is undefined, poles, bridged: the check splits there), the one holding 0,
    else the longest (the right one of two as long); [low, high] if the domain is unknown
    or covers it."""
    if domain is None:
        return low, high
    window = max(abs(low), abs(high)) + 1.0
    stretches: list[list[float]] = []
    for interval in domain_intervals(domain, window=window):
        left, right = max(float(interval.inf), low), min(float(interval.sup), high)
        if right <= left:
            continue
        if stretches and stretches[-1][1] == left:  # only a point between: bridge it
            stretches[-1][1] = right
        else:
            stretches.append([left, right])
    if not stretches:
        return low, high
    holding_zero = [s for s in stretches if s[0] <= 0.0 <= s[1]]
    longest = max(reversed(stretches), key=lambda s: s[1] - s[0])
    chosen = holding_zero[0] if holding_zero else longest
    return chosen[0], chosen[1]


def _default_a(entry: Entry, kern, low: float, high: float, avoid: Sequence[float]) -> float:
    """The default lower limit: `default_lower_limit` when f is finite there (and not at a
    point to ``avoid``) and it lies in [low, high].  Else, from inside the range, halfway
    to the right end (log x on [0, 5]: 2.5; 1/x on [-5, 5]: 2.5), or to the left end, the
    first of these where f is finite; from outside, the middle of the range (an end may be
    where f is defined but its antiderivative's formula is not)."""
    start = default_lower_limit(entry)
    tiny = 1e-9 * (high - low)

    def usable(x: float) -> bool:
        return (
            low <= x <= high
            and all(abs(x - c) > tiny for c in avoid)
            and math.isfinite(float(_values(kern, x)))
        )

    middle = (low + high) / 2
    inside = [start, (start + high) / 2, (low + start) / 2]
    candidates = inside if low <= start <= high else [middle]
    return float(next((c for c in candidates if usable(c)), middle))


def _singular_points(
    entry: Entry, domain: sympy.Set | None, low: float, high: float, grid: np.ndarray, kern
) -> list[float]:
    """Points of [low, high] where f is undefined next to where it is defined.

    From SymPy's domain of f (a pole, a 0/0 hole such as |x+1|/(x+1) at -1), and
    numerically: a grid point where f is not finite between two where it is, and an end
    of the range where f is not finite (log x at 0: the check runs on (0, high]).
    """
    found: set[float] = set()
    if domain is not None:
        window = max(abs(low), abs(high)) + 1.0
        intervals = domain_intervals(domain, window=window)
        for left, right in zip(intervals, intervals[1:], strict=False):
            if left.sup == right.inf and low < float(left.sup) < high:
                found.add(float(left.sup))
    values = _values(kern, grid)
    bad = ~np.isfinite(values)
    for i in np.flatnonzero(bad[1:-1]) + 1:
        if not bad[i - 1] and not bad[i + 1]:
            found.add(float(grid[i]))
    for end, inner in ((0, 1), (-1, -2)):
        if bad[end] and not bad[inner]:
            found.add(float(grid[end]))
        elif not bad[end] and _blows_up_at_end(kern, float(grid[end]), float(grid[inner])):
            found.add(float(grid[end]))
    gap = 1e-9 * (high - low)
    for pole in _poles_between(kern, grid, values):  # the same pole, found twice, is one
        if all(abs(pole - known) > gap for known in found):
            found.add(pole)
    return sorted(found)


def _found(entry: Entry, claimed: str | sympy.Expr | None, timeout: float) -> Antiderivative:
    """The user's claimed antiderivative, or the one symcalc finds within ``timeout``."""
    return _claimed(entry, claimed) if claimed is not None else _integrate(entry, timeout)


def _cuts(
    entry: Entry,
    domain: sympy.Set | None,
    span: tuple[float, float],
    points: int,
    kern,
    found: Antiderivative,
) -> tuple[list[float], list[tuple[float, float]]]:
    """Where the range is cut, and the removable points with f's limit there.

    A point where f is undefined is removable when f has one finite limit there
    (`_removable_points`); the range is cut there only where F jumps (F holds on each
    side with a constant of its own), as at a pole.
    """
    low, high = span
    undefined = _singular_points(entry, domain, low, high, np.linspace(low, high, points), kern)
    removable = _removable_points(kern, undefined, high - low)
    uncut = {c for c, _ in removable}
    if found.found and removable:
        F = _evaluator(found.antiderivative, entry.variable, raw=True)
        uncut = {c for c in uncut if not _jumps(F, c)}
    return [c for c in undefined if c not in uncut], removable


#: Distances, relative to the range's width, at which f must approach its value at a
#: removable point from both sides.
_APPROACH = (1e-4, 1e-6, 1e-8, 1e-10)


def _removable_points(kern, candidates: Sequence[float], width: float) -> list[tuple[float, float]]:
    """(c, f(c)) for each candidate c where f, as its kernel evaluates it, is finite at c
    and approaches that value from both sides: within 1e-8 relative at the nearest of
    `_APPROACH` (sin(x)/x at 0: its kernel's series branch gives 1), never further
    away than at the one before.  A jump (|x + 1|/(x + 1)), a pole, or a side that
    blows up (exp(-1/x) at 0 from the left) is not removable."""
    found = []
    for c in candidates:
        value = float(_values(kern, c))
        if not math.isfinite(value):
            continue
        steps = np.array(_APPROACH) * width
        with np.errstate(all="ignore"):
            near = _values(kern, np.concatenate([c - steps, c + steps]))
            gaps = np.abs(near - value).reshape(2, -1) / max(1.0, abs(value))
        if not np.all(np.isfinite(gaps)):
            continue
        approaches = np.all(np.diff(gaps, axis=1) <= 1e-15)
        if approaches and np.all(gaps[:, -1] <= 1e-8):
            found.append((c, value))
    return found


def _jumps(F, c: float) -> bool:
    """Whether F's one-sided values at c differ (1e-20·max(1, |c|) either side, 30 digits),
    or either is undefined."""
    hair = 1e-20 * max(1.0, abs(c))
    left, right = F(c, -hair), F(c, hair)
    if isinstance(left, float) or isinstance(right, float):  # NaN: undefined there
        return True
    return bool(abs(left - right) > 1e-12 * max(1.0, abs(left)))


def _blows_up_at_end(kern, end: float, inner: float) -> bool:
    """Whether f grows without bound at an end of the range that is finite in floats only by
    rounding (1/sqrt(2x² - 4) at the float next to √2, inside the domain: about 1e8): |f|
    there exceeds |f| 1e-4 of a grid step inward a thousandfold.  Such an end is left out
    like a pole; no quadrature resolves the panel that reaches it."""
    step = 1e-4 * (inner - end)
    near, at = _values(kern, np.array([end + step, end]))
    with np.errstate(over="ignore"):
        return bool(np.isfinite(near) and abs(at) > 1e3 * (1.0 + abs(near)))


#: |f| at a pole found between grid points exceeds its grid neighbours this many times.
_POLE_GROWTH = 1e6


def _poles_between(kern, grid: np.ndarray, values: np.ndarray) -> list[float]:
    """Poles of f between grid points that SymPy's domain does not give (the zeros of
    atan(x) - 3x/4): around each grid point where |f| is a local maximum, or each pair
    where f changes sign, the largest |f| is searched for (|f| rises towards a pole from
    both sides); where it exceeds its grid neighbours `_POLE_GROWTH`-fold it is a pole."""
    size = np.abs(values)
    finite = np.isfinite(size)
    inner = np.arange(1, grid.size - 1)
    peak = finite[inner] & (size[inner] >= size[inner - 1]) & (size[inner] >= size[inner + 1])
    turn = finite[:-1] & finite[1:] & (np.sign(values[:-1]) * np.sign(values[1:]) < 0)
    centres = np.union1d(inner[peak], np.flatnonzero(turn))
    centres = centres[(centres >= 1) & (centres <= grid.size - 2)]
    if centres.size == 0:
        return []
    low, high = grid[centres - 1].copy(), grid[centres + 1].copy()
    near = np.max(np.stack([size[centres - 1], size[centres], size[centres + 1]]), axis=0)
    with np.errstate(all="ignore"):
        for _ in range(100):  # golden-section search for the largest |f|, all at once
            left = high - 0.618 * (high - low)
            right = low + 0.618 * (high - low)
            keep_left = np.abs(_values(kern, left)) > np.abs(_values(kern, right))
            high = np.where(keep_left, right, high)
            low = np.where(keep_left, low, left)
        where = (low + high) / 2
        top = np.abs(_values(kern, where))
    pole = ~(top <= _POLE_GROWTH * np.maximum(near, 1.0))  # inf and NaN count as a pole
    return sorted({float(w) for w in where[pole]})


@dataclasses.dataclass(frozen=True)
class _Piece:
    """The numeric check on one piece [low, high] between singular points of f."""

    low: float
    high: float
    a: float
    x: np.ndarray
    accumulation: np.ndarray
    values: np.ndarray
    converged: bool
    accumulation_ok: bool
    accumulation_error: float | None
    derivative_ok: bool
    derivative_error: float
    checked: int


def _check_piece(kern, F, span, a, base, kinks, tolerance, open_ends, removable=()) -> _Piece:
    """A(x) = ∫ₐˣ f against F(x) − F(a), and A' against f, at the grid points of one piece.

    At a ``removable`` point of f inside the piece F may be undefined too ((exp(x) − 1)/x:
    F = Ei(x) − log|x|); its limit there is used, as for F(a)."""
    low, high = span
    gap = 1e-9 * (high - low)
    inside = base[(base > low + gap) & (base < high - gap)]
    ends = [e for e, is_open in zip(span, open_ends, strict=True) if not is_open]
    grid = np.union1d(inside, [a, *ends, *[k for k in kinks if low < k < high]])
    values = _values(kern, grid)
    if not np.all(np.isfinite(values)):
        bad = grid[~np.isfinite(values)][0]
        raise SymcalcError(
            f"f is not finite at {bad:.6g}; choose a range where f is defined and finite"
        )
    accumulated, converged = _accumulation(kern, a, grid)
    accumulation_error, accumulation_ok = None, True
    if F is not None:
        F_a = _start_value(F, a, low, high, open_ends)
        exact = np.array(
            [
                _float_difference(
                    _start_value(F, float(v), low, high) if v in removable else F(float(v)), F_a
                )
                for v in grid
            ]
        )
        # an end of the range where F's formula is undefined though f is not (sqrt(16x² - 9)/x
        # at 3/4: F's pieces hold for x > 3/4) is not compared; anywhere else NaN fails
        compared = ~(np.isnan(exact) & ((grid == grid[0]) | (grid == grid[-1])))
        exact, accumulated_here = exact[compared], accumulated[compared]
        with np.errstate(invalid="ignore"):
            deviation = np.abs(accumulated_here - exact) / np.maximum(1.0, np.abs(exact))
            accumulation_ok = bool(np.all(deviation <= tolerance))  # NaN fails
        error = np.abs(accumulated_here - exact)
        accumulation_error = float(np.nan if np.any(np.isnan(error)) else np.max(error))

    # step per point: small against the distance to the nearest end or kink, so the
    # stencil x ± 4h stays where f is smooth; the short integrals carry no cancellation,
    # so a small h costs no accuracy
    fences = np.unique([low, high, *kinks])  # sorted: the nearest by bisection, not an
    at = np.clip(np.searchsorted(fences, grid), 1, fences.size - 1)  # all-pairs table
    distance = np.minimum(np.abs(grid - fences[at - 1]), np.abs(fences[at] - grid))
    # a step of 64 ulps at least (1e-2 is below one ulp of 1e300: x ± h would be x); a
    # point whose step would reach a kink or an end that way is not checked
    with np.errstate(over="ignore"):  # the spacing of the largest float is inf
        floor = 64 * np.spacing(np.abs(grid))
    inner = (distance > 1e-9 * (high - low)) & (floor <= 0.01 * distance)
    checked = grid[inner]
    h = np.maximum(np.minimum(min(1e-2, 1e-3 * (high - low)), 0.01 * distance[inner]), floor[inner])
    slopes = _settled_derivative(kern, checked, h, tolerance)
    deviation = np.abs(slopes - values[inner])
    return _Piece(
        low=low,
        high=high,
        a=a,
        x=grid,
        accumulation=accumulated,
        values=values,
        converged=converged,
        accumulation_ok=accumulation_ok,
        accumulation_error=accumulation_error,
        derivative_ok=bool(np.all(deviation <= tolerance * np.maximum(1.0, np.abs(values[inner])))),
        derivative_error=float(np.max(deviation)) if deviation.size else 0.0,
        checked=int(checked.size),
    )


def _start_value(F, a: float, low: float, high: float, open_ends=(False, False)):
    """F(a), or where F's formula is undefined at a though f is finite there (x³/log(x)²
    from a = 0: F = -E₂(-4 log x)/log x), its limit: F a hair inside the piece, 1e-20·|a|
    away, which moves F(a) by about f(a)·1e-20.  Undefined (NaN) if the two sides differ.
    At an open end of the piece (a removable point of f where F jumps), F's limit from
    inside the piece, whatever F's own value there."""
    hair = 1e-20 * max(1.0, abs(a))
    for end, is_open, inward in ((low, open_ends[0], hair), (high, open_ends[1], -hair)):
        if is_open and a == end:
            return F(a, inward)
    value = F(a)
    if not isinstance(value, float):  # an mpmath number: defined
        return value
    sides = [F(a, offset) for offset in (hair, -hair) if low <= a + offset <= high]
    sides = [v for v in sides if not isinstance(v, float)]
    if not sides or abs(sides[0] - sides[-1]) > 1e-15 * max(1.0, abs(sides[0])):
        return value
    return sides[0]


def _float_difference(value, start) -> float:
    """value − start formed in mpmath (both may be large), then rounded; NaN if undefined."""
    if isinstance(value, float) or isinstance(start, float):  # NaN: undefined there
        return math.nan
    import mpmath

    with mpmath.workdps(30):
        return float(value - start)


def _worst(errors) -> float:
    errors = list(errors)
    return math.nan if any(math.isnan(e) for e in errors) else max(errors)


def _joined(parts: list[_Piece]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The pieces' grids, accumulations and values end to end, NaN at each singular point."""
    xs, accumulations, values = [], [], []
    for i, part in enumerate(parts):
        if i:
            xs.append([part.low])
            accumulations.append([np.nan])
            values.append([np.nan])
        xs.append(part.x)
        accumulations.append(part.accumulation)
        values.append(part.values)
    return np.concatenate(xs), np.concatenate(accumulations), np.concatenate(values)
