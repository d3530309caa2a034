"""Non-smooth points: the derivative convention at kinks, and finding the kinks.

SymPy differentiates ``Max(0, x)`` to ``Heaviside(x)`` and leaves ``Heaviside(0)``
undefined (or 1/2).  symcalc makes the choice explicit: every ``Heaviside(u)`` in a
derivative becomes a ``Piecewise`` whose value at ``u = 0`` is set by a *convention*:

``"zero"`` (default)
    Heaviside(0) = 0, so relu'(0) = 0, and a max, min or clamp passes no gradient
    at a tie.  This is what PyTorch and JAX compute for relu, relu6, hardtanh,
    hardsigmoid, abs and hinge losses.
``"half"``
    Heaviside(0) = 1/2, SymPy's value: relu'(0) = 1/2, the mean of the one-sided
    derivatives.
``"one"``
    Heaviside(0) = 1: relu'(0) = 1.

A ``Piecewise`` written with conditions (``leaky_relu``, ``elu``, ``huber``) keeps its
own: its derivative at the boundary is the derivative of the branch the condition
selects there (``x > 0`` strict, so leaky_relu'(0) = slope, as in PyTorch).
``sign(0) = 0`` under every convention (|x| = max(x, -x) ties with equal weight).

Examples
--------
>>> import sympy
>>> from symcalc.symbolic.functions import symbol
>>> x = symbol("x")
>>> apply_convention(sympy.Heaviside(x))
Piecewise((1, x > 0), (0, True))
>>> apply_convention(sympy.Heaviside(x), "half")
Piecewise((1, x > 0), (1/2, Eq(x, 0)), (0, True))
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable

import sympy

from ..errors import SymcalcError, TimeBudgetExceeded
from .budget import default_seconds, within

__all__ = [
    "CONVENTIONS",
    "SEARCH_INTERVAL",
    "KINK_LIMIT",
    "KinkSearch",
    "KinksWithin",
    "apply_convention",
    "deciding_rules",
    "kink_candidates",
    "kinks_within",
    "search_unsolved_kinks",
    "switches",
    "periodic_kink_sets",
    "periodic_switches",
    "points_within",
    "nonsmooth_atoms",
    "tie_value",
    "value_at",
]

#: Convention name -> the value of Heaviside(0) it stands for.
CONVENTIONS: dict[str, sympy.Expr] = {
    "zero": sympy.S.Zero,
    "half": sympy.S.Half,
    "one": sympy.S.One,
}


def heaviside_at_zero(convention: str) -> sympy.Expr:
    """The value Heaviside(0) takes under ``convention``."""
    try:
        return CONVENTIONS[convention]
    except KeyError:
        raise SymcalcError(
            f"unknown kink convention '{convention}'; choose one of {', '.join(CONVENTIONS)}"
        ) from None


def _step(u: sympy.Expr, h0: sympy.Expr) -> sympy.Piecewise:
    cases = _without_max_min(u)

    def where(relation) -> sympy.Basic:
        return sympy.Or(*(sympy.And(condition, relation(v)) for v, condition in cases))

    if h0 == 1:
        return sympy.Piecewise((sympy.S.One, where(lambda v: v >= 0)), (sympy.S.Zero, True))
    pieces = [(sympy.S.One, where(lambda v: v > 0))]
    if h0 != 0:
        pieces.append((h0, where(lambda v: sympy.Eq(v, 0))))
    pieces.append((sympy.S.Zero, True))
    return sympy.Piecewise(*pieces)


def _without_max_min(u: sympy.Expr) -> list[tuple[sympy.Expr, sympy.Basic]]:
    """``u`` as cases (v, condition) free of Max and Min, one a choice of argument for
    each: u - max(a, b) is u - a where a ≥ b, u - b where a < b.

    A step's condition is then written without a Piecewise inside a relation: SymPy
    takes minutes to build ``Piecewise((1, x**3 - 2*x - Piecewise(...) > 0), ...)``
    (its conditions become ITEs it simplifies), the step of max(sin x, x³ - 2x, cos 3x).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> _without_max_min(1 - sympy.Max(x, 2))
    [(-1, 2 >= x), (1 - x, x > 2)]
    """
    inner = [
        a
        for a in sympy.preorder_traversal(u)
        if isinstance(a, (sympy.Max, sympy.Min))
        and not any(b.has(sympy.Max, sympy.Min) for b in a.args)
    ]
    if not inner:
        return [(u, sympy.true)]
    atom = inner[0]
    larger = isinstance(atom, sympy.Max)
    out = []
    args = atom.args
    for i, chosen in enumerate(args):
        # chosen beats the arguments before it strictly and those after it or ties: one
        # argument is chosen at every point, the first of those that tie
        beats = [
            (chosen > other if larger else chosen < other)
            if j < i
            else (chosen >= other if larger else chosen <= other)
            for j, other in enumerate(args)
            if j != i
        ]
        condition = sympy.And(*beats)
        if condition is sympy.false:
            continue
        for v, rest in _without_max_min(u.xreplace({atom: chosen})):
            both = sympy.And(condition, rest)
            if both is not sympy.false:
                out.append((v, both))
    return out


@functools.lru_cache(maxsize=1024)  # every derivative passes here, often the same one again
def apply_convention(expr: sympy.Expr, convention: str = "zero") -> sympy.Expr:
    """Replace Heaviside steps by Piecewise with the chosen value at 0; drop DiracDelta.

    DiracDelta terms only arise from differentiating a step; away from the kink they
    are 0, and at the kink the derivative is a convention (0, as PyTorch's relu'' is).

    Examples
    --------
    >>> import sympy
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> apply_convention(sympy.diff(sympy.Max(0, x), x, 2))
    0
    """
    h0 = heaviside_at_zero(convention)
    if not expr.has(sympy.Heaviside, sympy.DiracDelta):
        return expr
    out = expr.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
    out = out.replace(lambda e: isinstance(e, sympy.Heaviside), lambda e: _step(e.args[0], h0))
    return sympy.piecewise_fold(out) if out.has(sympy.Piecewise) else out


def tie_value(du: sympy.Expr, dv: sympy.Expr) -> sympy.Expr:
    """The derivative of max(u, v) or min(u, v) at a tie where u and v both vary: the mean
    of the one-sided slopes u' and v', under every convention, as PyTorch's and JAX's
    maximum give.  SymPy's H(u - v)·u' + H(v - u)·v' is H(0)·(u' + v') there: for
    max(x, x/10) at 0, 0 under "zero" and 11/10 under "one", outside [1/10, 1].  The
    convention (Heaviside(0)) still decides a max or min against a constant, the relu
    family, where H(0)·u' lies between 0 and u'."""
    return (du + dv) / 2


def nonsmooth_atoms(expr: sympy.Expr) -> set[sympy.Basic]:
    """The sub-expressions where smoothness can break: Abs, sign, Max, Min, Heaviside, Piecewise."""
    kinds = (sympy.Abs, sympy.sign, sympy.Max, sympy.Min, sympy.Heaviside, sympy.Piecewise)
    return {a for a in sympy.preorder_traversal(expr) if isinstance(a, kinds)}


def _switching_expressions(atom: sympy.Basic) -> list[sympy.Expr]:
    """Expressions whose zero set is where ``atom`` switches branch."""
    if isinstance(atom, (sympy.Abs, sympy.sign, sympy.Heaviside)):
        return [atom.args[0]]
    if isinstance(atom, (sympy.Max, sympy.Min)):
        args = atom.args
        return [a - b for i, a in enumerate(args) for b in args[i + 1 :]]
    if isinstance(atom, sympy.Piecewise):
        out = []
        for _, cond in atom.args:
            for rel in cond.atoms(sympy.core.relational.Relational):
                out.append(rel.lhs - rel.rhs)
        return out
    return []  # pragma: no cover


def switches(expr: sympy.Expr) -> list[sympy.Expr]:
    """The expressions whose zeros are where a non-smooth part of ``expr`` switches branch.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> switches(sympy.Abs(sympy.sin(x)) + sympy.Max(0, x))
    [-x, sin(x)]
    """
    found: set[sympy.Expr] = set()
    for atom in nonsmooth_atoms(expr):
        found.update(_switching_expressions(atom))
    return sorted(found, key=sympy.default_sort_key)


def kink_candidates(expr: sympy.Expr, var: sympy.Symbol) -> list[sympy.Expr]:
    """Values of ``var`` where some non-smooth part of ``expr`` switches branch.

    Solutions that depend on other symbols (hinge: p = 1/y) are kept symbolic.
    Candidates are not yet checked: the function may be smooth there (huber's
    first derivative is continuous at |r| = delta).

    Examples
    --------
    >>> import sympy
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> kink_candidates(sympy.Min(sympy.Max(-1, x), 1), x)
    [-1, 1]
    """
    points: set[sympy.Expr] = set()
    for atom in nonsmooth_atoms(expr):
        for u in _switching_expressions(atom):
            if not u.has(var):
                continue
            points.update(_solve_real(u, var))
    return _sorted_points(points)


_PERIODIC = (sympy.sin, sympy.cos, sympy.tan, sympy.cot, sympy.sec, sympy.csc)


def periodic_kink_sets(expr: sympy.Expr, var: sympy.Symbol) -> list[sympy.Set]:
    """Infinite sets of ``var`` where a non-smooth part of ``expr`` switches branch.

    `kink_candidates` lists the solutions `sympy.solve` gives, one period of them where
    a switching expression is periodic (sign(sin x): 0 and pi only); these are the whole
    sets, each an image of the integers (``{2 n pi | n in Z}``).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> periodic_kink_sets(sympy.Abs(sympy.sin(x)), x)
    [ImageSet(Lambda(_n, _n*pi), Integers)]
    """
    out: list[sympy.Set] = []
    for _, found_set in periodic_switches(expr, var):
        if found_set not in out:
            out.append(found_set)
    return out


def periodic_switches(expr: sympy.Expr, var: sympy.Symbol) -> list[tuple[sympy.Expr, sympy.Set]]:
    """Each switching expression u of ``expr`` with an infinite zero set, and that set
    (as `periodic_kink_sets`, one pair a set)."""
    found: list[tuple[sympy.Expr, sympy.Set]] = []
    for atom in nonsmooth_atoms(expr):
        for u in _switching_expressions(atom):
            if u.has(var) and u.has(*_PERIODIC):
                found.extend((u, zeros) for zeros in _infinite_zero_sets(u, var))
    return found


def points_within(
    found: sympy.Set, low: float, high: float, limit: int = 1000
) -> list[sympy.Expr] | None:
    """The points of an image of the integers {a n + b} in [low, high], exactly; None for
    any other set (or more than ``limit`` points)."""
    line = _integer_line(found, low, high, limit)
    if line is None:
        return None
    n, _, _, first, last = line
    points = (found.lamda.expr.xreplace({n: k}) for k in range(first, last + 1))
    return sorted(points, key=lambda p: float(p))


def _integer_line(found: sympy.Set, low: float, high: float, limit: int):
    """(n, a, b, first, last) for an image of the integers {a n + b} whose points in
    [low, high] are those of n = first..last (at most ``limit`` of them); None for any
    other set, or one whose a or b is not a finite number."""
    if not isinstance(found, sympy.ImageSet) or len(found.lamda.variables) != 1:
        return None
    (n,) = found.lamda.variables
    try:
        line = sympy.Poly(found.lamda.expr, n)
        if line.degree() != 1:
            return None
        step, offset = (float(c) for c in line.all_coeffs())
    except (sympy.PolynomialError, TypeError, ValueError):
        return None
    if step == 0 or not (math.isfinite(step) and math.isfinite(offset)):
        return None
    ends = ((low - offset) / step, (high - offset) / step)
    if not all(math.isfinite(e) for e in ends):
        return None  # more points than any limit
    first, last = math.ceil(min(ends)), math.floor(max(ends))
    if last - first >= limit:
        return None
    return n, step, offset, first, last


@functools.lru_cache(maxsize=256)
def _real_zero_set(u: sympy.Expr, var: sympy.Symbol) -> sympy.Set | None:
    """``sympy.solveset(u, var, Reals)`` under the time budget, or None where it fails."""
    try:
        return within(
            default_seconds(), sympy.solveset, u, var, sympy.S.Reals, what="solving for kinks"
        )
    except (NotImplementedError, ValueError, TypeError, TimeBudgetExceeded):
        return None


@functools.lru_cache(maxsize=256)
def _infinite_zero_sets(u: sympy.Expr, var: sympy.Symbol) -> tuple[sympy.Set, ...]:
    """The zero set of u on the reals when it is infinite (images of the integers)."""
    zeros = _real_zero_set(u, var)
    if zeros is None:
        return ()
    if isinstance(zeros, sympy.FiniteSet) or zeros is sympy.S.EmptySet:
        return ()
    parts = zeros.args if isinstance(zeros, sympy.Union) else (zeros,)
    if all(isinstance(p, sympy.ImageSet) for p in parts):
        merged = _merged_images(parts)
        return (merged,) if merged is not None else tuple(parts)
    return (zeros,)  # a set solveset cannot list: reported as it is


def _merged_images(parts: tuple[sympy.Set, ...]) -> sympy.Set | None:
    """{2 n pi} and {2 n pi + pi} as {n pi}: one arithmetic progression, where they form one."""
    if len(parts) < 2:
        return None
    n = sympy.Dummy("n", integer=True)
    terms = []
    for part in parts:
        (variable,), body = part.lamda.variables, part.lamda.expr
        line = sympy.Poly(body.xreplace({variable: n}), n)
        if line.degree() != 1:
            return None
        terms.append(line.all_coeffs())
    steps = {c[0] for c in terms}
    if len(steps) != 1:
        return None
    (step,) = steps
    offsets = sorted((c[1] % step for c in terms), key=lambda v: float(v))
    k = len(offsets)
    if offsets != [offsets[0] + step * i / k for i in range(k)]:
        return None
    m = sympy.Dummy("n", integer=True)
    return sympy.ImageSet(sympy.Lambda(m, step / k * m + offsets[0]), sympy.S.Integers)


@functools.lru_cache(maxsize=1024)  # sympy.solve is slow; the same kinks are asked for often
def _solve_real(u: sympy.Expr, var: sympy.Symbol) -> frozenset[sympy.Expr]:
    """Real solutions of u = 0 in ``var``, branch by branch where u is piecewise."""
    try:
        if u.has(sympy.Max, sympy.Min, sympy.Abs, sympy.Heaviside, sympy.sign):
            u = u.rewrite(sympy.Piecewise)
        u = sympy.piecewise_fold(u)
    except RecursionError:
        # SymPy's Piecewise flips a condition with decimal coefficients back and forth for
        # ever (Max(0.0062*x - 1.0, -0.086*x - 3.0)): solved with the decimals as fractions
        exact = sympy.nsimplify(u, rational=True)
        if exact == u:
            raise
        return frozenset(
            sympy.Float(s, 15) if s.is_Rational else s for s in _solve_real(exact, var)
        )
    pieces = u.args if isinstance(u, sympy.Piecewise) else [(u, sympy.true)]
    out: set[sympy.Expr] = set()
    for piece, cond in pieces:
        try:
            solutions = _solve_within_budget(piece, var)
        except (NotImplementedError, ValueError, TypeError, TimeBudgetExceeded):
            continue
        for s in solutions:
            if s.is_real is False or s.is_finite is False or s.has(sympy.nan):
                continue
            if cond is not sympy.true and cond.subs(var, s) is sympy.false:
                continue
            out.add(s)
    return frozenset(out)


def _solve_within_budget(u: sympy.Expr, var: sympy.Symbol) -> list[sympy.Expr]:
    """``sympy.solve(u, var)``: in this process where u is a polynomial of degree 2 at most
    in ``var`` (x, x - 1, 1 - y·p: almost every kink), else under the time budget, which
    a trigonometric polynomial can exhaust (|sin³x - cos(x)/2 + 1/3| searched for minutes)."""
    numerator = sympy.fraction(sympy.together(u))[0]
    if numerator.is_polynomial(var) and sympy.degree(numerator, var) <= 2:
        return sympy.solve(u, var, dict=False)
    return within(default_seconds(), sympy.solve, u, var, dict=False, what="solving for kinks")


def _sorted_points(points: Iterable[sympy.Expr]) -> list[sympy.Expr]:
    def key(point):
        try:
            return (0, float(point), "")
        except TypeError:
            return (1, math.inf, sympy.sstr(point))

    return sorted(points, key=key)


# -- kinks SymPy cannot solve for -----------------------------------------------------

#: Where the zeros of a switch SymPy cannot solve (x·sin x - 1) are searched numerically.
SEARCH_INTERVAL: tuple[int, int] = (-10, 10)
_GRID = 4000  # samples on SEARCH_INTERVAL: two zeros closer than 0.005 can hide
_MAX_GRID = 40_000  # samples at most on a wider interval (kinks_within): 0.005 to width 200


@dataclasses.dataclass(frozen=True)
class KinkSearch:
    """The switches whose zeros SymPy cannot list in full, and their zeros found numerically.

    ``points`` are the sign changes of each such switch on ``interval``, each certified:
    interval arithmetic proves the switch finite on [r - d, r + d] and of opposite signs
    at its ends, so a zero lies within d of r; r is given to the digits d proves (15 for
    d = 1e-17·max(1, |r|)).  The kink set is
    then not known to be complete: zeros outside ``interval``, zeros the switch touches
    without changing sign, and two zeros closer than the grid step may be missing.
    """

    unsolved: tuple[sympy.Expr, ...] = ()
    points: tuple[sympy.Float, ...] = ()
    interval: tuple[int, int] = SEARCH_INTERVAL
    #: Switches with infinitely many zeros (sin x - cos 3x) where the kinks do not repeat
    #: with a period of the function (max(sin x, cos 3x, x³ - 2x)): their kinks are
    #: listed exactly, for ``interval`` only.
    bounded: tuple[sympy.Expr, ...] = ()

    @property
    def complete(self) -> bool:
        """Whether every kink is listed (SymPy solved every switch, and every infinite set
        of kinks is given whole)."""
        return not self.unsolved and not self.bounded

    def note(self, var: sympy.Symbol) -> str | None:
        """Why the kink list may be incomplete, in words; None where it is complete."""
        if self.complete:
            return None
        lo, hi = self.interval
        periodic = ""
        if self.bounded:
            zeros = ", ".join(sympy.sstr(u) for u in self.bounded)
            periodic = (
                f"the kinks at the zeros of {zeros} (infinitely many, not repeating with a "
                f"period of the function) are listed for {var} in [{lo}, {hi}] only"
            )
        if not self.unsolved:
            return f"kink list may be incomplete: {periodic}"
        equations = ", ".join(f"{sympy.sstr(u)} = 0" for u in self.unsolved)
        moving = [u for u in self.unsolved if u.free_symbols != {var}]
        if len(moving) == len(self.unsolved):  # every zero moves with another symbol
            others = ", ".join(
                sorted({s.name for u in moving for s in u.free_symbols} - {var.name})
            )
            return (
                f"kink list may be incomplete: SymPy cannot list every solution of "
                f"{equations} for {var}, "
                f"and its zeros depend on {others}, so they are not searched numerically"
                + (f"; {periodic}" if periodic else "")
            )
        found = (
            "the kinks marked ≈ are its certified sign changes"
            if self.points
            else "no certified sign change besides the kinks listed was found"
        )
        skipped = (
            f" ({', '.join(sympy.sstr(u) for u in moving)} not searched: "
            "it depends on other symbols)"
            if moving
            else ""
        )
        return (
            f"kink list may be incomplete: SymPy cannot list every solution of {equations} "
            f"for {var}; "
            f"{found} for {var} in [{lo}, {hi}]{skipped}; kinks outside [{lo}, {hi}], zeros "
            f"touched without a sign change and zeros closer than {(hi - lo) / _GRID:g} are "
            "not listed" + (f"; {periodic}" if periodic else "")
        )


def search_unsolved_kinks(expr: sympy.Expr, var: sympy.Symbol) -> KinkSearch:
    """The switches of ``expr`` whose real zeros SymPy cannot list, with their zeros
    on `SEARCH_INTERVAL` found numerically and certified (see `KinkSearch`).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> found = search_unsolved_kinks(sympy.Abs(x - sympy.cos(x)), x)
    >>> found.complete, found.points
    (False, (0.739085133215161,))
    >>> search_unsolved_kinks(sympy.Abs(sympy.sin(x)), x).complete
    True
    """
    unsolved: list[sympy.Expr] = []
    for atom in nonsmooth_atoms(expr):
        for u in _switching_expressions(atom):
            if u.has(var) and u not in unsolved and not _zeros_listed(u, var):
                unsolved.append(u)
    unsolved.sort(key=sympy.default_sort_key)
    points: set[sympy.Float] = set()
    for u in unsolved:
        if u.free_symbols != {var}:
            continue  # a zero that moves with a parameter: not searched
        try:
            found = within(default_seconds(), _certified_zeros, u, var, what="searching for kinks")
        except TimeBudgetExceeded:
            continue
        points.update(found)
    return KinkSearch(tuple(unsolved), tuple(sorted(points)))


#: At most this many kinks of one infinite set are listed by `kinks_within`.
KINK_LIMIT = 1_000_000


@dataclasses.dataclass(frozen=True)
class KinksWithin:
    """The kinks of a formula in an interval, as floats (`kinks_within`)."""

    points: tuple[float, ...]
    #: False where some kinks may be missing: an infinite set with more than the limit
    #: of points there (or one SymPy cannot list), a switch SymPy cannot solve that moves
    #: with another symbol or whose search ran out of time or was coarser than 0.005.
    complete: bool = True
    #: Why the list may be incomplete, in words (empty where it is complete).
    reasons: tuple[str, ...] = ()

    def note(self, low: float, high: float) -> str | None:
        """What a caller reports where the list may miss kinks; None where it is complete.

        Examples
        --------
        >>> KinksWithin((0.0,), False, ("a search too coarse",)).note(0, 1e5)
        'the kinks in [0, 100000] may not all be listed (a search too coarse)'
        """
        if self.complete:
            return None
        why = "; ".join(self.reasons) or "some could not be found"
        return f"the kinks in [{low:.6g}, {high:.6g}] may not all be listed ({why})"


@functools.lru_cache(maxsize=512)
def kinks_within(
    expr: sympy.Expr, var: sympy.Symbol, low: float, high: float, *, limit: int = KINK_LIMIT
) -> KinksWithin:
    """Every kink of ``expr`` in ``var`` on [low, high] that has a number for a value.

    The one list numeric callers (quadrature, FTC checks, gradient checks, plots) use:
    the solutions SymPy lists (`kink_candidates`), every point of a periodic kink set in
    the interval (|sin x|: all n·pi there, not one period; at most ``limit`` a set), and
    the certified sign changes of switches SymPy cannot solve (x·sin x - 1), searched on
    [low, high] itself rather than on `SEARCH_INTERVAL`.  Kinks that depend on another
    symbol (hinge: p = 1/y) are left out; `kink_candidates` keeps them symbolic.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> [round(p, 4) for p in kinks_within(sympy.Abs(sympy.sin(x)), x, -4.0, 7.0).points]
    [-3.1416, 0.0, 3.1416, 6.2832]
    >>> [round(p, 4) for p in kinks_within(sympy.Abs(x * sympy.sin(x) - 1), x, 10, 20).points]
    [12.6455, 15.644, 18.9025]
    """
    low, high = float(low), float(high)
    if not (math.isfinite(low) and math.isfinite(high)) or low > high:
        raise SymcalcError(f"kinks are listed on a finite interval, got [{low}, {high}]")
    points: list[float] = []
    complete = True
    reasons: list[str] = []
    for candidate in kink_candidates(expr, var):
        try:
            value = float(candidate)
        except (TypeError, ValueError):
            continue
        if low <= value <= high:
            points.append(value)
    unsolved: list[sympy.Expr] = []
    for atom in nonsmooth_atoms(expr):
        for u in _switching_expressions(atom):
            if u.has(var) and u not in unsolved and not _zeros_listed(u, var):
                unsolved.append(u)
    for u, found in periodic_switches(expr, var):
        listed = _float_points_within(found, low, high, limit)
        if listed is None:
            if u not in unsolved:  # else the search below finds its zeros
                complete = False
                reasons.append(
                    f"the zeros of {sympy.sstr(u)} are more than {limit:,} there, or not numbers"
                )
            continue
        points.extend(listed)
    for u in sorted(unsolved, key=sympy.default_sort_key):
        if u.free_symbols != {var}:
            complete = False  # a zero that moves with a parameter: not searched
            reasons.append(f"the zeros of {sympy.sstr(u)} move with another symbol")
            continue
        try:
            found = within(
                default_seconds(), _certified_zeros, u, var, low, high, what="searching for kinks"
            )
        except TimeBudgetExceeded:
            complete = False
            reasons.append(f"the search for the zeros of {sympy.sstr(u)} ran out of time")
            continue
        points.extend(float(p) for p in found if low <= float(p) <= high)
        if _samples(low, high) < (high - low) / 0.005:
            complete = False
            spacing = (high - low) / _samples(low, high)
            reasons.append(
                f"the zeros of {sympy.sstr(u)} were searched on a grid of step {spacing:.3g}: "
                "two closer than that may be missed"
            )
    return KinksWithin(_distinct(points), complete, tuple(reasons))


def _float_points_within(
    found: sympy.Set, low: float, high: float, limit: int
) -> list[float] | None:
    """The points of an image of the integers {a n + b} in [low, high], as floats (a n + b
    with a and b rounded once: off by about 1e-16·|a n|); None for any other set, one
    whose a or b is not a number, or more than ``limit`` points.  Listing them exactly
    (`points_within`) takes a second per 10,000 points."""
    line = _integer_line(found, low, high, limit)
    if line is None:
        return None
    _, step, offset, first, last = line
    values = (offset + step * k for k in range(first, last + 1))
    return [v for v in values if low <= v <= high]


def _distinct(points: Iterable[float]) -> tuple[float, ...]:
    """Sorted, with points equal to about 1e-12 (relative) kept once."""
    out: list[float] = []
    for p in sorted(points):
        if out and abs(p - out[-1]) <= 1e-12 * max(1.0, abs(p)):
            continue
        out.append(p)
    return tuple(out)


@functools.lru_cache(maxsize=256)
def _zeros_listed(u: sympy.Expr, var: sympy.Symbol) -> bool:
    """Whether `kink_candidates` and `periodic_kink_sets` hold every real zero of ``u``:
    u's numerator is a polynomial in ``var`` on every branch (`sympy.solve` lists all
    roots), or `sympy.solveset` gives the zeros as a finite set that `_solve_real` found
    in full, or as images of the integers (with finitely many points besides)."""
    try:
        if u.has(sympy.Max, sympy.Min, sympy.Abs, sympy.Heaviside, sympy.sign):
            u = u.rewrite(sympy.Piecewise)
        u = sympy.piecewise_fold(u)
    except RecursionError:  # SymPy's Piecewise loops on it (see `_solve_real`): not known
        return False
    pieces = u.args if isinstance(u, sympy.Piecewise) else [(u, sympy.true)]
    for piece, _ in pieces:
        if not piece.has(var):
            continue
        numerator = sympy.fraction(sympy.together(piece))[0]
        if numerator.is_polynomial(var):
            continue
        zeros = _real_zero_set(piece, var)
        if zeros is None:
            return False
        if not _listed(zeros, lambda piece=piece: _solve_real(piece, var)):
            return False
    return True


def _listed(zeros: sympy.Set, solved: Callable[[], frozenset[sympy.Expr]]) -> bool:
    """Whether the solveset answer ``zeros`` is a finite set within ``solved()`` (equal
    numerically), images of the integers, or a union of those."""
    if zeros is sympy.S.EmptySet or isinstance(zeros, sympy.ImageSet):
        return True
    if isinstance(zeros, sympy.Union):
        return all(_listed(part, solved) for part in zeros.args)
    if isinstance(zeros, sympy.Intersection) and sympy.S.Reals in zeros.args:
        rest = [a for a in zeros.args if a is not sympy.S.Reals]
        return len(rest) == 1 and _listed(rest[0], solved)
    if not isinstance(zeros, sympy.FiniteSet):
        return False  # a ConditionSet: SymPy cannot say where u is 0
    listed = solved()
    for point in zeros:
        if point in listed:
            continue
        try:
            value = complex(point.evalf(30))
            if not any(abs(complex(s.evalf(30)) - value) < 1e-12 for s in listed):
                return False
        except (TypeError, ValueError):
            return False
    return True


def _certified_zeros(
    u: sympy.Expr, var: sympy.Symbol, lo: float = SEARCH_INTERVAL[0], hi: float = SEARCH_INTERVAL[1]
) -> tuple[sympy.Float, ...]:
    """The sign changes of ``u`` on [lo, hi] (`SEARCH_INTERVAL`), each certified (see
    `KinkSearch`)."""
    import mpmath

    f = sympy.lambdify(var, u, "mpmath")
    samples = _samples(lo, hi)
    found = []
    with mpmath.workdps(30):
        previous = None  # the last sample where u is real and nonzero: (t, u(t))
        for k in range(samples + 1):
            t = mpmath.mpf(lo) + (mpmath.mpf(hi) - mpmath.mpf(lo)) * mpmath.mpf(k) / samples
            value = _real_value(f, t)
            if value is None:
                previous = None  # u undefined between: no bracket across it
                continue
            if value == 0:
                continue
            if previous is not None and (previous[1] > 0) != (value > 0):
                root = _bisect(f, previous[0], t, previous[1] > 0)
                digits = None if root is None else _certify(u, var, root)
                if digits is not None:
                    found.append(sympy.Float(mpmath.nstr(root, digits), digits))
            previous = (t, value)
    return tuple(found)


def _samples(lo: float, hi: float) -> int:
    """Grid samples for a sign-change search on [lo, hi]: `_GRID` on `SEARCH_INTERVAL`,
    as dense (0.005 apart) on a wider interval up to `_MAX_GRID` samples."""
    spacing = (SEARCH_INTERVAL[1] - SEARCH_INTERVAL[0]) / _GRID
    return int(min(max(_GRID, math.ceil((hi - lo) / spacing)), _MAX_GRID))


def _real_value(f, t):
    try:
        value = f(t)
    except (ValueError, ZeroDivisionError, OverflowError, TypeError):
        return None
    if isinstance(value, complex) or getattr(value, "imag", 0) != 0:
        return None
    try:
        value = value.real if hasattr(value, "real") else value
        return value if math.isfinite(float(value)) else None
    except (TypeError, ValueError, OverflowError):
        return None


def _bisect(f, a, b, positive_at_a: bool):
    """The point where u changes sign in [a, b], to about 1e-25 (or None where u is
    undefined inside)."""
    for _ in range(80):
        middle = (a + b) / 2
        value = _real_value(f, middle)
        if value is None:
            return None
        if value == 0:
            return middle
        if (value > 0) == positive_at_a:
            a = middle
        else:
            b = middle
    return (a + b) / 2


def _certify(u: sympy.Expr, var: sympy.Symbol, root) -> int | None:
    """How many digits of ``root`` interval arithmetic proves: a zero of u lies within
    d = 10**-n·max(1, |root|) of it, u being finite on [root - d, root + d] (so continuous
    there) and of opposite signs at its two ends; the first n of 17, 12, 8, 5 that works
    (a zero of high order, x - tan x at 0, needs a wide d), else None."""
    import mpmath

    iv = mpmath.iv
    old = iv.dps
    iv.dps = 30
    try:
        for digits in (17, 12, 8, 5):
            with mpmath.workdps(30):
                d = mpmath.mpf(10) ** -digits * max(1, abs(root))
                a, b = root - d, root + d
            try:
                left = _bounds(_enclose(u, var, iv.mpf(a)))
                right = _bounds(_enclose(u, var, iv.mpf(b)))
                whole = _bounds(_enclose(u, var, iv.mpf([a, b])))
            except (_NoEnclosure, ArithmeticError, ValueError, TypeError):
                return None
            if not all(mpmath.isfinite(v) for v in (*left, *right, *whole)):
                return None  # a pole or overflow: no zero proven
            if left[1] < 0 < right[0] or right[1] < 0 < left[0]:
                return digits - 2
        return None
    finally:
        iv.dps = old


def _bounds(interval) -> tuple:
    """The two ends of an mpmath.iv interval, as mpmath numbers."""
    import mpmath

    low, high = interval._mpi_
    return mpmath.mpf(low), mpmath.mpf(high)


class _NoEnclosure(Exception):
    """An expression `_enclose` cannot bound with interval arithmetic."""


_IV_FUNCTIONS = {
    sympy.sin: "sin",
    sympy.cos: "cos",
    sympy.tan: "tan",
    sympy.exp: "exp",
    sympy.log: "log",
    sympy.cot: "cot",
    sympy.sec: "sec",
    sympy.csc: "csc",
}


def _enclose(expr: sympy.Expr, var: sympy.Symbol, box):
    """An interval holding every value of ``expr`` for ``var`` in the interval ``box``
    (mpmath.iv, outward rounding); `_NoEnclosure` for anything else."""
    import mpmath

    iv = mpmath.iv
    if expr == var:
        return box
    if isinstance(expr, sympy.Integer):
        return iv.mpf(int(expr))
    if isinstance(expr, sympy.Rational):
        return iv.mpf(int(expr.p)) / iv.mpf(int(expr.q))
    if isinstance(expr, sympy.Float):
        return iv.mpf(expr._mpf_)  # the float itself, exactly
    if expr is sympy.pi:
        return iv.pi
    if expr is sympy.E:
        return iv.e
    if isinstance(expr, sympy.Add):
        total = iv.mpf(0)
        for arg in expr.args:
            total = total + _enclose(arg, var, box)
        return total
    if isinstance(expr, sympy.Mul):
        product = iv.mpf(1)
        for arg in expr.args:
            product = product * _enclose(arg, var, box)
        return product
    if isinstance(expr, sympy.Pow):
        base = _enclose(expr.base, var, box)
        if isinstance(expr.exp, sympy.Integer):
            n = int(expr.exp)
            if n < 0 and base.a <= 0 <= base.b:
                raise _NoEnclosure(expr)
            return base**n
        if expr.exp == sympy.S.Half:
            if base.a < 0:
                raise _NoEnclosure(expr)
            return iv.sqrt(base)
        if base.a <= 0:
            raise _NoEnclosure(expr)
        return iv.exp(_enclose(expr.exp, var, box) * iv.log(base))
    if isinstance(expr, (sympy.sinh, sympy.cosh, sympy.tanh)) and len(expr.args) == 1:
        z = _enclose(expr.args[0], var, box)
        if isinstance(expr, sympy.tanh):
            return 1 - 2 / (iv.exp(2 * z) + 1)  # z once: no widening by dependency
        sign = -1 if isinstance(expr, sympy.sinh) else 1
        return (iv.exp(z) + sign * iv.exp(-z)) / 2
    name = _IV_FUNCTIONS.get(type(expr))
    if name is not None and len(expr.args) == 1:
        inner = _enclose(expr.args[0], var, box)
        if name == "log" and inner.a <= 0:
            raise _NoEnclosure(expr)
        return getattr(iv, name)(inner)
    raise _NoEnclosure(expr)


# -- the value at a kink ------------------------------------------------------------


#: `derive` asks for the derivative's value at each kink twice (whether the classic form
#: agrees there, then the values it reports), and tests and pages derive one formula again
#: under other conventions; a Piecewise value costs a ``simplify``.  ``typed``: 2 and 2.0
#: are different points.
@functools.lru_cache(maxsize=1024, typed=True)
def value_at(expr: sympy.Expr, var: sympy.Symbol, point: sympy.Expr) -> sympy.Expr | None:
    """``expr`` at ``var = point`` as one definite expression, or None.

    None when the value is not definite there: a Piecewise whose condition cannot be
    decided (it depends on a symbol), an unevaluated derivative, or nan.  Remembered
    (the last 1,024 questions): the answer depends on nothing else.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> value_at(apply_convention(sympy.Heaviside(x), "half"), x, 0)
    1/2
    >>> value_at(sympy.sign(x), x, 0)
    0
    """
    value = sympy.piecewise_fold(expr.subs(var, point))
    if value.has(sympy.Piecewise):
        value = sympy.piecewise_fold(sympy.simplify(value))
    undecided = (sympy.Piecewise, sympy.Heaviside, sympy.Derivative, sympy.DiracDelta)
    if value.has(*undecided) or value.has(sympy.nan, sympy.zoo):
        return None
    return _settled_signs(value)


def _settled_signs(value: sympy.Expr) -> sympy.Expr | None:
    """``value`` with sign(a) = 0 where a is 0 but SymPy left it standing, or None where
    a is 0 to 60 digits and SymPy cannot prove it.

    At the kink x = -W(-1/3) of |exp(x) - 3x| the derivative is sign(-exp(-W(-1/3)) -
    3 W(-1/3))·(...): the argument is 0, SymPy cannot tell, and evaluates the sign of
    rounding noise (1.1428 where the value is 0)."""
    for atom in value.atoms(sympy.sign):
        argument = atom.args[0]
        if argument.free_symbols or argument.is_zero is not None:
            continue
        try:
            tiny = abs(sympy.N(argument, 60)) < sympy.Float("1e-45")
        except (TypeError, ValueError):
            return None
        if not tiny:
            continue
        if argument.equals(0) is not True:
            return None
        value = value.xreplace({atom: sympy.S.Zero})
    return value


def deciding_rules(expr: sympy.Expr, convention: str) -> list[str]:
    """What sets the derivative of ``expr`` at its kinks, in words (one phrase a rule).

    A max, min or step follows the kink ``convention``; an absolute value or sign gives
    sign(0) = 0 whatever the convention; a Piecewise keeps the branch its condition
    selects at the boundary.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> deciding_rules(sympy.Max(0, x), "one")
    ["convention 'one': Heaviside(0) = 1"]
    >>> deciding_rules(sympy.Abs(x), "one")
    ['sign(0) = 0 under every convention']
    """
    rules = []
    if expr.has(sympy.Max, sympy.Min, sympy.Heaviside):
        rules.append(f"convention '{convention}': Heaviside(0) = {heaviside_at_zero(convention)}")
    if expr.has(sympy.Abs, sympy.sign):
        rules.append("sign(0) = 0 under every convention")
    if expr.has(sympy.Piecewise):
        rules.append("a Piecewise keeps the branch its condition selects")
    return rules
