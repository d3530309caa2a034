"""sup |f′| of a function of one variable and where it is reached: derived, then checked.

How much a layer can amplify a gradient is bounded by the largest slope of its
activation: ‖∂J/∂z‖ ≤ sup|f′| · ‖∂J/∂a‖ for a = f(z).  `derivative_bound` finds that
number the way a calculus course does, then checks it the way a numerical analyst
would:

1. f′ is derived (`symcalc.symbolic.derivatives`, kink convention applied) and split
   into its smooth pieces (a ``Piecewise`` branch on its region; Abs, Max, Min as
   ``Piecewise``).
2. On each piece, under the time budget (`symcalc.symbolic.budget`): the critical
   points, where f″ = 0 (SymPy's ``solveset`` on the numerator of f″; a whole set of
   solutions such as x = 2πn is kept as a set), the ends of the region (attained when
   the region contains them, approached otherwise), the one-sided limits at the poles
   of f′ and the limits at ±∞.
3. Where ``solveset`` gives no closed form (silu, mish: f″ = 0 is transcendental) or
   runs out of time, f″ (compiled with `symcalc.numeric.kernels.kernel`) is bracketed
   on a grid of step 2⁻⁹ over [−64, 64] and each sign change refined by Brent's method.
4. The candidate values are compared at 30 digits; sup|f′| is the largest.
5. The check: the stable kernel of f′ is evaluated at 1.5 million points, every 2⁻⁹
   on [−64, 64] and then geometrically (ratio 1 + 2⁻¹⁰) out to the largest float, on
   both sides; the largest is refined by a bounded local search.  The bound holds when
   no value exceeds sup·(1 + 1e-12) (the kernels' accuracy) and the kernel reaches
   sup at the places found (or at the far end of the grid, for a limit).  A dense
   evaluation cannot prove a bound between grid points by itself; together with the
   symbolic list of critical points it is the evidence a person would ask for.

Examples
--------
>>> b = derivative_bound("sigmoid")
>>> b.exact, [p.text for p in b.places], b.check.held
(1/4, ['x = 0'], True)
>>> derivative_bound("softplus").places[0].text
'x → ∞'
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterator, Sequence
from typing import Any

import numpy as np
import sympy

from ..errors import SymcalcError
from ..symbolic import budget
from ..symbolic.catalog import Entry, univariate_entry
from ..symbolic.derivatives import derivative
from ..symbolic.domains import real_domain_within
from ..symbolic.functions import latex
from ..symbolic.kinks import kink_candidates, nonsmooth_atoms
from ..symbolic.parse import resolve

__all__ = [
    "CHECK_TOLERANCE",
    "DenseCheck",
    "DerivativeBound",
    "Jump",
    "Place",
    "derivative_bound",
    "dense_grid",
]

Function = str | sympy.Expr | Entry

#: Relative slack of the dense check: the stable kernels are accurate to 1e-12.
CHECK_TOLERANCE = 1e-12
#: The grid: step 2⁻⁹ on [−64, 64], then geometric with ratio 1 + 2⁻¹⁰ to the largest float.
GRID_STEP = 2.0**-9
GRID_HALF_WIDTH = 64.0
GRID_RATIO = 1.0 + 2.0**-10
#: At most this many sign changes of f″ are refined numerically (within [−64, 64]).
MAX_BRACKETS = 200
#: Candidate values closer than this (relative, at 30 digits) count as the same value.
_TIE = 1e-20


def dense_grid() -> np.ndarray:
    """The check's points, sorted: every 2⁻⁹ on [−64, 64], then geometric to ±max float.

    Examples
    --------
    >>> grid = dense_grid()
    >>> grid.size, bool(grid[0] == -np.finfo(float).max), float(grid[grid.size // 2])
    (1511361, True, 0.0)
    """
    inner = np.arange(-GRID_HALF_WIDTH / GRID_STEP, GRID_HALF_WIDTH / GRID_STEP + 1) * GRID_STEP
    largest = np.finfo(float).max
    count = math.floor(math.log(largest / GRID_HALF_WIDTH) / math.log1p(GRID_RATIO - 1.0))
    outer = np.exp(math.log(GRID_HALF_WIDTH) + np.arange(1, count + 1) * math.log1p(2.0**-10))
    outer = np.append(outer[outer < largest], largest)
    return np.concatenate([-outer[::-1], inner, outer])


# -- results ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Place:
    """Where |f′| reaches its supremum (``attained``), or approaches it (a limit).

    ``x`` is a representative point as a float (None for a limit at ±∞).
    """

    text: str
    latex: str
    attained: bool
    x: float | None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class Jump:
    """A point where f itself jumps: its one-sided limits ``left`` and ``right`` differ.

    f′ does not exist there, and no slope bounds |f(a) − f(b)| for a and b on either
    side: sup|f′| is taken over the points where f′ exists.
    """

    text: str
    latex: str
    x: float
    left: float
    right: float

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True)
class DenseCheck:
    """The stable kernel of f′ at ``points`` grid points from ``low`` to ``high``.

    ``largest`` is the largest |f′| seen (after a local refinement around the best grid
    point) and ``at`` where; ``reached`` is what the kernel gives where the bound says
    sup is attained (or next to it, for a limit).  ``held`` says that no value exceeds
    sup·(1 + tolerance) and that ``reached`` is sup.
    """

    points: int
    low: float
    high: float
    largest: float
    at: float
    reached: float
    held: bool
    tolerance: float = CHECK_TOLERANCE
    note: str = ""

    def to_text(self, sup: float) -> str:
        if not self.held:
            return f"check FAILED: {self.note}"
        if not math.isfinite(sup):
            return (
                f"checked at {self.points:,} points from {self.low:.3g} to {self.high:.3g} "
                f"(stable kernel): largest |f′| = {self.largest:.3g} at {self.at:.3g}"
            )
        return (
            f"checked: |f′| ≤ {_g(sup)}·(1 + {self.tolerance:g}) at {self.points:,} points "
            f"from {self.low:.3g} to {self.high:.3g} (stable kernel; largest {_g(self.largest)})"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "held": self.held,
            "points": self.points,
            "low": self.low,
            "high": self.high,
            "largest": _finite_or_none(self.largest),
            "at": _finite_or_none(self.at),
            "reached": _finite_or_none(self.reached),
            "tolerance": self.tolerance,
            "note": self.note,
        }


@dataclasses.dataclass(frozen=True, repr=False)
class DerivativeBound:
    """sup over the domain of |f′|, where it is reached, how it was found and checked.

    ``sup`` is a float (``inf`` when f′ is unbounded); ``exact`` the closed form when
    every candidate was found symbolically (else None).  ``places`` lists where the
    supremum is attained or, when it is not attained, approached.  ``method`` is
    ``"symbolic"`` when f″ = 0 was solved by SymPy on every piece, ``"numeric"`` when
    it was bracketed on the grid for at least one piece.

    ``jumps`` lists the points where f itself is discontinuous (hardshrink at ±λ),
    where f′ does not exist; the supremum is over the points where it does, which is
    what backpropagation multiplies by.  None when the budget ran out before the
    one-sided limits were compared.
    """

    input: str
    entry: Entry
    variable: sympy.Symbol
    derivative: sympy.Expr
    sup: float
    exact: sympy.Expr | None
    places: tuple[Place, ...]
    method: str
    check: DenseCheck
    jumps: tuple[Jump, ...] | None = ()

    @property
    def attained(self) -> bool:
        """Whether |f′| equals its supremum somewhere (rather than only in a limit)."""
        return any(p.attained for p in self.places)

    @property
    def bounded(self) -> bool:
        return math.isfinite(self.sup)

    @property
    def held(self) -> bool:
        return self.check.held

    def sup_text(self) -> str:
        """``= 1/4 ≈ 0.25``, ``≈ 1.0998`` or ``= ∞``: the relation and the value."""
        if not self.bounded:
            return "= ∞ (f′ is unbounded)"
        if self.exact is not None and not isinstance(self.exact, sympy.Float):
            shown = sympy.sstr(self.exact)
            return f"= {shown}" if shown == _g(self.sup) else f"= {shown} ≈ {_g(self.sup)}"
        return f"≈ {_g(self.sup)}"

    def where_text(self) -> str:
        if not self.places:
            return ""
        if not self.bounded:
            return "|f′| → ∞ as " + " and as ".join(p.text for p in self.places)
        if self.attained:
            return "attained at " + "; ".join(p.text for p in self.places)
        return "approached as " + "; ".join(p.text for p in self.places) + " (not attained)"

    def how_text(self) -> str:
        return {
            "symbolic": "f″ = 0 solved symbolically",
            "numeric": "f″ = 0 bracketed on a grid, refined by Brent's method",
        }[self.method]

    def jumps_text(self) -> str:
        """Where f jumps and what that means for the bound ('' when f is continuous)."""
        if self.jumps is None:
            return "whether f jumps was not decided within the time budget"
        if not self.jumps:
            return ""
        where = " and ".join(f"{j.text} (from {_g(j.left)} to {_g(j.right)})" for j in self.jumps)
        return (
            f"f jumps at {where}: f′ does not exist there and no slope bounds f across a "
            "jump; the supremum is over the points where f′ exists (what backpropagation uses)"
        )

    def to_text(self) -> str:
        """Two lines: the bound and where, then the check (and a line on jumps, if any)."""
        v = self.variable.name
        head = f"sup |f′({v})| {self.sup_text()}"
        where = self.where_text()
        lines = [f"{head}, {where} ({self.how_text()})" if where else f"{head} ({self.how_text()})"]
        lines.append(self.check.to_text(self.sup))
        if self.jumps_text():
            lines.append(self.jumps_text())
        return "\n".join(lines)

    def to_latex(self) -> str:
        """``\\sup_x |f'(x)| = \\frac{1}{4}`` (with ≈ a decimal when not a plain number)."""
        v = latex(self.variable)
        left = rf"\sup_{{{v}}} \left|f'\left({v}\right)\right|"
        if not self.bounded:
            return rf"{left} = \infty"
        if self.exact is not None and not isinstance(self.exact, sympy.Float):
            shown = latex(self.exact)
            if shown == _g(self.sup):
                return f"{left} = {shown}"
            return rf"{left} = {shown} \approx {_g(self.sup)}"
        return rf"{left} \approx {_g(self.sup)}"

    def to_dict(self) -> dict[str, Any]:
        """The JSON form (never NaN or inf: an unbounded f′ has ``sup`` null)."""
        exact = None
        if self.bounded and self.exact is not None:
            exact = sympy.sstr(self.exact)
        return {
            "sup": _finite_or_none(self.sup),
            "sup_exact": exact,
            "sup_latex": self.to_latex(),
            "bounded": self.bounded,
            "attained": self.attained,
            "where": [p.to_dict() for p in self.places],
            "method": self.method,
            "check": self.check.to_dict(),
            "jumps": None if self.jumps is None else [j.to_dict() for j in self.jumps],
        }

    def __repr__(self) -> str:
        where = ", ".join(p.text for p in self.places)
        return (
            f"<DerivativeBound {self.input}: sup|f′| {self.sup_text()} at {where}, "
            f"{self.method}, check {'held' if self.held else 'FAILED'}>"
        )


def _g(value: float) -> str:
    return f"{value:.6g}"


def _finite_or_none(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


# -- the symbolic analysis (runs in the budget's child process) ---------------------------


@dataclasses.dataclass(frozen=True)
class _Candidate:
    """A value f′ takes on the set ``where``, or approaches towards ``limit`` (point, side)."""

    value: Any  # a SymPy number (AccumBounds for an oscillating limit), or a float
    where: sympy.Set | None = None
    limit: tuple[sympy.Expr, str] | None = None


def _pieces(g: sympy.Expr, var: sympy.Symbol, domain: sympy.Set) -> list[tuple[sympy.Expr, Any]]:
    """f′ as smooth pieces (expression, region); the regions partition the domain."""
    if g.has(sympy.Abs, sympy.sign, sympy.Max, sympy.Min, sympy.Heaviside):
        g = g.rewrite(sympy.Piecewise)
    g = sympy.piecewise_fold(g)
    if not isinstance(g, sympy.Piecewise):
        return [(g, domain)]
    pieces, taken = [], sympy.S.EmptySet
    for expr, condition in g.args:
        where = domain if condition is sympy.true else condition.as_set().intersect(domain)
        region = sympy.Complement(where, taken)
        taken = sympy.Union(taken, where)
        if region is not sympy.S.EmptySet:
            pieces.append((expr, region))
    return pieces


def _components(region: sympy.Set) -> list[sympy.Set] | None:
    """The intervals and points a region is made of, or None for a set SymPy left unsolved."""
    parts = region.args if isinstance(region, sympy.Union) else (region,)
    if all(isinstance(p, (sympy.Interval, sympy.FiniteSet)) for p in parts):
        return list(parts)
    return None


def _limit(expr: sympy.Expr, var: sympy.Symbol, point: sympy.Expr, side: str) -> sympy.Expr:
    """The limit of ``expr``; an oscillating one (AccumBounds) as tight as SymPy's bounds of
    ``expr`` and of its simplified form make it: -2·sin(x)·cos(x) is bounded by [-2, 2]
    factor by factor, -sin(2x) by [-1, 1] (sup|cos²′| was reported as 2)."""

    def limit(e: sympy.Expr) -> sympy.Expr:
        if point in (sympy.oo, -sympy.oo):
            return sympy.limit(e, var, point)
        return sympy.limit(e, var, point, side)

    value = limit(expr)
    if not isinstance(value, sympy.AccumBounds):
        return value
    simpler = limit(sympy.simplify(expr))
    if isinstance(simpler, sympy.AccumBounds):
        low, high = sympy.Max(value.min, simpler.min), sympy.Min(value.max, simpler.max)
        return sympy.AccumBounds(low, high) if (low <= high) is sympy.true else value
    return value


def _ends(
    expr: sympy.Expr, var: sympy.Symbol, parts: list[sympy.Set], infinite: bool = True
) -> Iterator[_Candidate]:
    """Values at (or limits towards) the ends of each interval of the region (the ends at
    ±∞ only if ``infinite``)."""
    for part in parts:
        if isinstance(part, sympy.FiniteSet):
            for point in part:
                yield _Candidate(expr.subs(var, point), sympy.FiniteSet(point))
            continue
        for point, side, is_open in (
            (part.inf, "+", part.left_open),
            (part.sup, "-", part.right_open),
        ):
            if point.is_infinite and not infinite:
                continue
            value = None if point.is_infinite else expr.subs(var, point)
            if point.is_infinite or is_open or not value.is_finite:
                yield _Candidate(_limit(expr, var, point, side), limit=(point, side))
            else:
                yield _Candidate(value, sympy.FiniteSet(point))


def _poles(expr: sympy.Expr, var: sympy.Symbol, region: sympy.Set) -> Iterator[_Candidate]:
    """One-sided limits of f′ at the real zeros of its denominator inside the region."""
    denominator = sympy.denom(sympy.together(expr))
    if not denominator.has(var):
        return
    zeros = sympy.solveset(denominator, var, region)
    if not isinstance(zeros, sympy.FiniteSet):
        return
    for point in zeros:
        for side in ("+", "-"):
            yield _Candidate(_limit(expr, var, point, side), limit=(point, side))


def _critical(expr: sympy.Expr, var: sympy.Symbol, region: sympy.Set) -> list[_Candidate] | None:
    """Values of f′ where f″ = 0 inside the region; None when SymPy finds no closed form."""
    slope = sympy.diff(expr, var)
    if slope == 0:  # a constant piece: every point of the region
        return [_Candidate(expr, region)]
    numerator = sympy.numer(sympy.together(slope))
    solutions = sympy.solveset(numerator, var, region)
    parts = solutions.args if isinstance(solutions, sympy.Union) else (solutions,)
    found: list[_Candidate] = []
    n = sympy.Symbol("n", integer=True)
    for part in parts:
        if part is sympy.S.EmptySet:
            continue
        if isinstance(part, sympy.FiniteSet):
            found += [_Candidate(expr.subs(var, p), sympy.FiniteSet(p)) for p in part]
        elif isinstance(part, sympy.ImageSet) and len(part.lamda.variables) == 1:
            at = part.lamda.expr.xreplace({part.lamda.variables[0]: n})
            value = sympy.simplify(expr.subs(var, at))
            if value.has(n):
                return None
            found.append(_Candidate(value, part))
        else:
            return None
    return found


def _analyse_piece(
    expr: sympy.Expr, region: sympy.Set, var: sympy.Symbol
) -> Iterator[tuple[tuple[_Candidate, ...], bool]]:
    """Yields (candidates, True) when every candidate of the piece is known in closed form.

    The critical points come first.  Where they have no closed form the piece is
    bracketed numerically, but the values at the ends and poles are still wanted (a grid
    cannot see |f′| → ∞ at an end of the domain: |log x + sin x| at 0⁺), so they are
    yielded as (candidates, False).
    """
    parts = _components(region)
    if parts is None:
        return
    critical = _critical(expr, var, region)
    if critical is None:  # ±∞ is the numeric path's (`_numeric_limits`, `_missed`)
        yield (*_ends(expr, var, parts, infinite=False), *_poles(expr, var, region)), False
        return
    yield (*critical, *_ends(expr, var, parts), *_poles(expr, var, region)), True


def _side_value(
    pieces: Sequence[tuple[sympy.Expr, Any]], var: sympy.Symbol, point: sympy.Expr, probe: Any
) -> sympy.Expr | None:
    """The limit of f at ``point`` from the side of ``probe``: the branch that holds at
    ``probe`` holds on the whole side (no condition switches in between)."""
    for expr, condition in pieces:
        try:
            holds = (
                condition if condition in (sympy.true, sympy.false) else condition.subs(var, probe)
            )
        except TypeError:  # a comparison not real there: f is not real on that side
            return None  # (log(199x + 2) > 0 in elu(log(199x + 2)) for x < -2/199)
        if holds is sympy.true:
            value = expr.subs(var, point)
            if not value.is_finite:
                value = _limit(expr, var, point, "+" if probe > point else "-")
            return value if value.is_finite else None
        if holds is not sympy.false:
            return None
    return None


def _jumps(f: sympy.Expr, var: sympy.Symbol) -> Iterator[tuple[Jump, ...]]:
    """Yields the points where f's one-sided limits differ (checked at every point where a
    branch of f switches), sorted."""
    points = [p for p in kink_candidates(f, var) if p.is_real and p.is_number]
    if not points:
        yield ()
        return
    g = f.rewrite(sympy.Piecewise) if f.has(sympy.Heaviside, sympy.sign) else f
    g = sympy.piecewise_fold(g.rewrite(sympy.Piecewise) if g.has(sympy.Max, sympy.Min) else g)
    pieces = g.args if isinstance(g, sympy.Piecewise) else ((g, sympy.true),)
    found = []
    for k, point in enumerate(points):
        gaps = [abs(point - q) for q in (points[k - 1 : k] + points[k + 1 : k + 2])]
        step = min(gaps) / 2 if gaps else sympy.S.Half
        left = _side_value(pieces, var, point, point - step)
        right = _side_value(pieces, var, point, point + step)
        if left is None or right is None:
            continue
        if sympy.simplify(right - left) != 0:
            found.append(
                Jump(
                    f"{var.name} {_number_text(point)}",
                    f"{latex(var)} {_number_latex(point)}",
                    float(point),
                    float(left),
                    float(right),
                )
            )
    yield tuple(found)


# -- places -------------------------------------------------------------------------------


def _number_text(value: sympy.Expr) -> str:
    if isinstance(value, sympy.Float):
        return f"≈ {float(value):.6g}"
    return f"= {sympy.sstr(value)}"


def _number_latex(value: sympy.Expr) -> str:
    if isinstance(value, sympy.Float):
        return rf"\approx {float(value):.6g}"
    return f"= {latex(value)}"


def _end_text(value: sympy.Expr) -> str:
    return {sympy.oo: "∞", -sympy.oo: "−∞"}.get(value, sympy.sstr(value))


def _places_of(where: sympy.Set, var: sympy.Symbol) -> list[Place]:
    """The attained places: one per point, interval or family of points (x = 2πn)."""
    parts = where.args if isinstance(where, sympy.Union) else (where,)
    v, tex = var.name, latex(var)
    places = []
    for part in parts:
        if isinstance(part, sympy.FiniteSet):
            for p in sorted(part, key=float):
                places.append(
                    Place(f"{v} {_number_text(p)}", f"{tex} {_number_latex(p)}", True, float(p))
                )
        elif isinstance(part, sympy.Interval):
            low, high = part.inf, part.sup
            left = "(" if part.left_open or low.is_infinite else "["
            right = ")" if part.right_open or high.is_infinite else "]"
            if low.is_finite and high.is_finite:
                x = (low + high) / 2
            else:
                x = low + 1 if low.is_finite else (high - 1 if high.is_finite else sympy.S.Zero)
            text = f"{v} ∈ {left}{_end_text(low)}, {_end_text(high)}{right}"
            places.append(Place(text, rf"{tex} \in {latex(part)}", True, float(x)))
        elif isinstance(part, sympy.ImageSet):
            n = sympy.Symbol("n", integer=True)
            form = part.lamda.expr.xreplace({part.lamda.variables[0]: n})
            places.append(
                Place(
                    f"{v} = {sympy.sstr(form)} (n ∈ ℤ)",
                    rf"{tex} = {latex(form)},\ n \in \mathbb{{Z}}",
                    True,
                    float(form.subs(n, 0)),
                )
            )
        else:  # pragma: no cover - the analysis only makes the three kinds above
            places.append(Place(f"{v} ∈ {sympy.sstr(part)}", latex(part), True, None))
    return places


def _limit_place(point: sympy.Expr, side: str, var: sympy.Symbol) -> Place:
    v, tex = var.name, latex(var)
    if point.is_infinite:
        return Place(f"{v} → {_end_text(point)}", rf"{tex} \to {latex(point)}", False, None)
    mark = "⁺" if side == "+" else "⁻"
    return Place(
        f"{v} → {sympy.sstr(point)}{mark}",
        rf"{tex} \to {latex(point)}^{{{side}}}",
        False,
        float(point),
    )


# -- numbers ------------------------------------------------------------------------------


def _magnitude(value: Any) -> float | None:
    """|value| as a float (inf for an infinite limit), None when it is not a real number."""
    if isinstance(value, float):
        return abs(value)
    if isinstance(value, sympy.AccumBounds):
        return max(_magnitude(value.min) or 0.0, _magnitude(value.max) or 0.0)
    if value in (sympy.oo, -sympy.oo, sympy.zoo):
        return math.inf
    number = sympy.Abs(value).evalf(30)
    if not number.is_number or not number.is_real:
        return None
    return float(number)


def _exact(value: Any) -> sympy.Expr | None:
    """|value| in closed form, or None for a float, an oscillating or infinite limit."""
    if isinstance(value, (float, sympy.AccumBounds)) or value in (sympy.oo, -sympy.oo, sympy.zoo):
        return None
    magnitude = sympy.Abs(value)
    return magnitude if magnitude.is_number else None


def _real_domain(entry: Entry, var: sympy.Symbol, timeout: float | None) -> sympy.Set:
    """The entry's domain where f is also real (log: x > 0), as far as SymPy finds it
    within the budget; else the entry's domain as declared."""
    declared = entry.domain_of(var)
    real = real_domain_within(entry.bind(), var, timeout)
    return declared if real is None else sympy.Intersection(declared, real)


def _kernel_values(kern, x: Any) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.asarray(kern(np.asarray(x, dtype=float)), dtype=float)


def _at(kern, x: float) -> float:
    return float(_kernel_values(kern, np.array([x]))[0])


def _numeric_critical(first, second, grid: np.ndarray, magnitudes: np.ndarray) -> list[_Candidate]:
    """Zeros of f″ where |f′| may be largest: brackets from the grid, refined by Brent.

    Each point of the grid's uniform part [−64, 64] where |f′| is a local maximum (above
    at least one neighbour) within 1e-4 of the largest value there brackets a zero of f″
    between its neighbours (the true peak between grid points exceeds the grid value by
    at most |f‴|h²/2, far below 1e-4 of any bound).
    Where f″ changes sign across the bracket its zero is found by Brent's root finder;
    otherwise |f′| is maximized there by Brent's bounded search.
    """
    from scipy.optimize import brentq, minimize_scalar

    inside = np.abs(grid) <= GRID_HALF_WIDTH
    grid, magnitudes = grid[inside], magnitudes[inside]
    finite = np.where(np.isfinite(magnitudes), magnitudes, -np.inf)
    top = float(finite.max())
    middle = finite[1:-1]
    peaks = 1 + np.flatnonzero(
        (middle >= finite[:-2])
        & (middle >= finite[2:])
        & ((middle > finite[:-2]) | (middle > finite[2:]))
        & (middle >= top * (1 - 1e-4))
    )
    peaks = peaks[np.argsort(-finite[peaks], kind="stable")][:MAX_BRACKETS]
    found = []
    for k in sorted(peaks.tolist()):
        low, high = float(grid[k - 1]), float(grid[k + 1])
        ends = _at(second, low), _at(second, high)
        if math.isfinite(ends[0]) and math.isfinite(ends[1]) and ends[0] * ends[1] < 0:
            root = brentq(lambda t: _at(second, t), low, high, xtol=1e-15, rtol=1e-15)
            found.append(float(root))
            continue
        best = minimize_scalar(
            lambda t: -abs(_at(first, t)),
            bounds=(low, high),
            method="bounded",
            options={"xatol": 1e-12 * max(1.0, abs(float(grid[k])))},
        )
        found.append(float(best.x) if -best.fun >= finite[k] else float(grid[k]))
    return [_Candidate(_at(first, x), sympy.FiniteSet(sympy.Float(x, 17))) for x in found]


def _numeric_limits(first, grid: np.ndarray) -> list[_Candidate]:
    """|f′| at the ends of the float range, as the limits at ±∞ where it has settled."""
    out = []
    for end, point in ((grid[-1], sympy.oo), (grid[0], -sympy.oo)):
        probes = _kernel_values(first, np.array([end / 1e200, end / 1e100, end]))
        scale = max(float(np.abs(probes).max()), 1e-300) if np.all(np.isfinite(probes)) else 0
        if scale and float(np.ptp(probes)) <= 1e-12 * scale:
            out.append(_Candidate(float(probes[-1]), limit=(point, "")))
    return out


#: |f′| this many times the largest candidate, in the outer half of the float range (by
#: magnitude), is growth without bound (x·cos x, sin(2x²)), not a missed maximum.
_GROWTH = 1e6


def _missed(
    first, grid: np.ndarray, magnitudes: np.ndarray, finite_f: np.ndarray, candidates
) -> list[_Candidate]:
    """What the dense grid shows beyond the numeric candidates (critical points in
    [−64, 64] and settled limits at ±∞).

    f′ not finite where f is: an infinite value there (asinh(1/log x) at 0), or, in the
    outer half of the float range, ∞ as x → ±∞ (4x·cos(2x²) overflows).  The largest
    |f′| above every candidate: ∞ as x → ±∞ when it lies in the outer half of the float
    range and exceeds the candidates `_GROWTH`-fold (x·cos x: f′ grows with x); that value
    where it is when it lies inside (a maximum the brackets missed).  Otherwise nothing:
    a largest value near the end of the floats that is not growing may be a limit not yet
    settled there, and the check then says the bound failed.
    """
    known = max((m for c in candidates if (m := _magnitude(c.value)) is not None), default=0.0)
    broken = ~np.isfinite(magnitudes) & finite_f
    far = np.log2(np.maximum(np.abs(grid), 1.0)) >= np.log2(float(np.abs(grid).max())) / 2
    if (broken & ~far).any():  # a pole
        where = sympy.Float(float(grid[broken & ~far][0]), 17)
        return [_Candidate(sympy.oo, sympy.FiniteSet(where))]
    if (broken & far).any():  # |f′| past the largest float out there: 4x·cos(2x²) at -1e308
        at = float(grid[broken & far][0])
        return [_Candidate(sympy.oo, limit=(sympy.oo if at > 0 else -sympy.oo, ""))]
    shown = np.where(np.isfinite(magnitudes), magnitudes, -np.inf)
    with np.errstate(all="ignore"):
        at, largest = _refine_maximum(first, grid, shown)
    if not largest > known * (1 + CHECK_TOLERANCE) + 1e-300:
        return []
    outer = float(grid[-1] if at > 0 else grid[0])
    if math.log2(max(abs(at), 1.0)) >= math.log2(abs(outer)) / 2:
        if largest >= _GROWTH * max(known, 1.0):
            return [_Candidate(sympy.oo, limit=(sympy.oo if at > 0 else -sympy.oo, ""))]
        return []
    return [_Candidate(largest, sympy.FiniteSet(sympy.Float(at, 17)))]


def _choose(
    candidates: Sequence[_Candidate], var: sympy.Symbol
) -> tuple[float, sympy.Expr | None, list[Place]]:
    """The largest |value|, its closed form, and where it is attained (or else approached)."""
    rated = [(m, c) for c in candidates if (m := _magnitude(c.value)) is not None]
    if not rated:
        raise SymcalcError("f′ takes no real value on the domain; is f real there?")
    sup = max(m for m, _ in rated)
    top = [c for m, c in rated if m == sup or m >= sup * (1 - _TIE)]
    attained = [c.where for c in top if c.where is not None]
    if attained:
        places = _places_of(sympy.Union(*attained), var)
    else:
        limits = dict.fromkeys(c.limit for c in top)
        places = [_limit_place(point, side, var) for point, side in limits]
    reaching = [c for c in top if c.where is not None] or top
    exact = _exact(reaching[0].value) if math.isfinite(sup) else None
    if exact is not None and any(_exact(c.value) is None for c in reaching):
        exact = None
    return sup, exact, places


# -- the check ----------------------------------------------------------------------------


def _refine_maximum(first, grid: np.ndarray, magnitudes: np.ndarray) -> tuple[float, float]:
    """The largest |f′| near the best grid point, by a bounded search between its neighbours."""
    from scipy.optimize import minimize_scalar

    k = int(np.argmax(magnitudes))
    best_x, best = float(grid[k]), float(magnitudes[k])
    low, high = float(grid[max(k - 1, 0)]), float(grid[min(k + 1, grid.size - 1)])
    if math.isfinite(best) and high > low and abs(best_x) < 1e300:
        found = minimize_scalar(
            lambda t: -abs(_at(first, t)),
            bounds=(low, high),
            method="bounded",
            options={"xatol": 1e-14 * max(1.0, abs(best_x))},
        )
        if -found.fun > best:
            best_x, best = float(found.x), float(-found.fun)
    return best_x, best


def _reached(first, places: Sequence[Place], grid: np.ndarray) -> float:
    """The largest |f′| the kernel gives where the bound says the supremum is."""
    reached = 0.0
    for place in places:
        x = place.x
        if x is None:  # a limit at ±∞: the last grid point on that side
            x = float(grid[0] if "−∞" in place.text else grid[-1])
        elif not place.attained:  # a one-sided limit: the next float inside
            x = float(np.nextafter(x, math.inf if "⁺" in place.text else -math.inf))
        reached = max(reached, abs(_at(first, x)))
    return reached


def _dense_check(
    first, sup: float, places: Sequence[Place], grid: np.ndarray, magnitudes: np.ndarray
) -> DenseCheck:
    magnitudes = magnitudes.copy()
    low, high = float(grid[0]), float(grid[-1])
    bad = ~np.isfinite(magnitudes)
    if bad.any() and math.isfinite(sup):
        where = float(grid[bad][0])
        note = f"the kernel of f′ is not finite at {where:.6g}"
        return DenseCheck(grid.size, low, high, math.inf, where, math.nan, False, note=note)
    magnitudes[bad] = np.inf
    with np.errstate(all="ignore"):
        at, largest = _refine_maximum(first, grid, magnitudes)
    if not math.isfinite(sup):
        return DenseCheck(grid.size, low, high, largest, at, math.inf, True)
    reached = _reached(first, places, grid)
    slack = CHECK_TOLERANCE * sup + 1e-300
    notes = []
    if largest > sup + slack:
        notes.append(f"|f′({at:.6g})| = {largest:.15g} exceeds the bound {sup:.15g}")
    if abs(reached - sup) > max(slack, 1e-9 * sup):
        notes.append(f"the kernel gives {reached:.15g} where the bound {sup:.15g} is claimed")
    return DenseCheck(grid.size, low, high, largest, at, reached, not notes, note="; ".join(notes))


# -- the bound ----------------------------------------------------------------------------


def derivative_bound(
    f: Function,
    *,
    params: dict[str, Any] | None = None,
    convention: str = "zero",
    timeout: float | None = budget.DEFAULT_SECONDS,
) -> DerivativeBound:
    """sup |f′| over the domain of ``f`` (one variable), where it is reached, and the check.

    ``timeout`` bounds each piece's symbolic work (None: the current default,
    `symcalc.symbolic.budget.default_seconds`; ``math.inf``: no limit); when it runs
    out, or SymPy finds no closed form for f″ = 0, the critical points are bracketed
    numerically (and ``method`` says so).  See the module docstring for the check.

    Examples
    --------
    >>> derivative_bound("tanh").to_text().splitlines()[0]
    'sup |f′(x)| = 1, attained at x = 0 (f″ = 0 solved symbolically)'
    >>> b = derivative_bound("silu")
    >>> round(b.sup, 6), b.method, b.places[0].text
    (1.099839, 'numeric', 'x ≈ 2.39936')
    >>> derivative_bound("relu").places[0].text
    'x ∈ (0, ∞)'
    """
    from .kernels import kernel

    # None is the default budget, as everywhere (`symcalc show` passes None): it ran the
    # pieces' limits in this process without any (x^x^x^x^x^x: 30 s of SymPy's limit)
    timeout = budget.default_seconds() if timeout is None else timeout
    entry = univariate_entry(resolve(f, **dict(params or {})))
    var = entry.variable
    g = entry.bind(derivative(entry, convention=convention, simplify=False))
    candidates: list[_Candidate] = []
    solved = True
    for expr, region in _pieces(g, var, _real_domain(entry, var, timeout)):
        last, _ = budget.best_within(timeout, _analyse_piece, expr, region, var)
        found, piece_solved = last if last is not None else ((), False)
        candidates += found
        solved = solved and piece_solved
    first = kernel(entry, order=1, convention=convention)
    everywhere = dense_grid()
    # only where f is real: (1 - x²)^(3/2) is defined on [-1, 1] alone
    values = _kernel_values(kernel(entry, order=0), everywhere)
    grid = everywhere[~np.isnan(values)]
    if grid.size == 0:
        raise SymcalcError("f takes no real value at any float; is f real there?")
    finite_f = np.isfinite(values[~np.isnan(values)])
    magnitudes = np.abs(_kernel_values(first, grid))
    if not solved:
        # f″ by symcalc's rules (sympy.diff leaves Derivative(sign(u)) of |u|'s f′ = u′·sign(u))
        second = kernel(derivative(g, wrt=var, convention=convention, simplify=False), stable=False)
        with np.errstate(all="ignore"):  # SciPy's Brent steps overflow on huge |f′|
            candidates += _numeric_critical(first, second, grid, magnitudes)
        candidates += _numeric_limits(first, everywhere)
        candidates += _missed(first, grid, magnitudes, finite_f, candidates)
    sup, exact, places = _choose(candidates, var)
    jumps: tuple[Jump, ...] | None = ()
    if nonsmooth_atoms(entry.bind()):
        jumps, _ = budget.best_within(timeout, _jumps, entry.bind(), var)
    return DerivativeBound(
        input=f if isinstance(f, str) else entry.name,
        entry=entry,
        variable=var,
        derivative=g,
        sup=sup,
        exact=exact if solved else None,
        places=tuple(places),
        method="symbolic" if solved else "numeric",
        check=_dense_check(first, sup, places, grid, magnitudes),
        jumps=jumps,
    )
