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

import functools
import math
from collections.abc import Iterable

import sympy

from ..errors import SymcalcError, TimeBudgetExceeded
from .budget import default_seconds, within

__all__ = [
    "CONVENTIONS",
    "apply_convention",
    "deciding_rules",
    "kink_candidates",
    "periodic_kink_sets",
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
    if u.has(sympy.Max, sympy.Min):
        u = u.rewrite(sympy.Piecewise)
    if h0 == 1:
        return sympy.Piecewise((sympy.S.One, u >= 0), (sympy.S.Zero, True))
    pieces = [(sympy.S.One, u > 0)]
    if h0 != 0:
        pieces.append((h0, sympy.Eq(u, 0)))
    pieces.append((sympy.S.Zero, True))
    return sympy.Piecewise(*pieces)


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
    found: list[sympy.Set] = []
    for atom in nonsmooth_atoms(expr):
        for u in _switching_expressions(atom):
            if u.has(var) and u.has(*_PERIODIC):
                found.extend(_infinite_zero_sets(u, var))
    out: list[sympy.Set] = []
    for found_set in found:
        if found_set not in out:
            out.append(found_set)
    return out


@functools.lru_cache(maxsize=256)
def _infinite_zero_sets(u: sympy.Expr, var: sympy.Symbol) -> tuple[sympy.Set, ...]:
    """The zero set of u on the reals when it is infinite (images of the integers)."""
    try:
        zeros = within(
            default_seconds(), sympy.solveset, u, var, sympy.S.Reals, what="solving for kinks"
        )
    except (NotImplementedError, ValueError, TypeError, TimeBudgetExceeded):
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
    if u.has(sympy.Max, sympy.Min, sympy.Abs, sympy.Heaviside, sympy.sign):
        u = u.rewrite(sympy.Piecewise)
    u = sympy.piecewise_fold(u)
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


# -- the value at a kink ------------------------------------------------------------


def value_at(expr: sympy.Expr, var: sympy.Symbol, point: sympy.Expr) -> sympy.Expr | None:
    """``expr`` at ``var = point`` as one definite expression, or None.

    None when the value is not definite there: a Piecewise whose condition cannot be
    decided (it depends on a symbol), an unevaluated derivative, or nan.

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
