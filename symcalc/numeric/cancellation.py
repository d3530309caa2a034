"""Polynomial branches where a formula cancels or divides 0 by 0: found from the expression.

Some formulas lose every digit near a point however they are rewritten: x - tanh(x) and
x - sin(x) near 0 (both terms ≈ x, the difference ≈ x³), the derivatives of sin(x)/x
(sums of terms ≈ 1/x² that cancel to ≈ 1), or a removable 0/0 at the point itself.  No
identity removes these; a polynomial near the point does.  `series_branches` finds the
points and builds the branches, knowing no function by name:

1. Each largest subexpression in one variable ``x`` is examined at candidate points
   x0: 0 and the integer roots of its polynomial arguments and denominators.
2. The cancellation factor of a sum, κ = Σ|tᵢ| / |Σ tᵢ|, bounds how much the rounding
   errors of its terms grow in the result.  At 50+ digits, κ of every sum inside the
   subexpression is measured at x0 ± h on a grid of h; a point is a problem where κ
   exceeds `KAPPA` near it (or where the formula cannot be evaluated at x0 itself).
   The branch radius r is the smallest grid h beyond which κ stays below `KAPPA`
   (error ≤ κ·(a few ulp): under 1e-14 in float64 and 6e-6 in float32).
3. Inside |x - x0| < r the subexpression is replaced by h^m·Q(h), h = x - x0, m the order
   of its zero at x0 and Q the polynomial interpolating f(x0 + h)/h^m at Chebyshev nodes
   (computed at 100 digits, coefficients rounded to doubles), in Horner form.  The degree
   grows until the branch, with its rounded coefficients, is within `TRUNCATION` relative
   of the function at 50 digits on a dense set of points of the interval (both ends,
   and points approaching x0 down to r·2⁻⁴⁰); otherwise no branch is made.

Each `SeriesBranch` records the point, radius, degree and the measured errors.  Where no
radius keeps κ below `KAPPA` (κ stays up to |x - x0| = 1, or that reach takes in a zero
of the function), the branch ends where κ <= `KAPPA_WIDE` instead and says so.  A log of
a computed u counts as a sum with κ = 1/|log u| (log(x² + exp(-x²)) at 0), and at 0 the
plain formula is also compared with mpmath at ±2^-k down to the subnormals (a factor x²
that is subnormal at x = 1e-160).

At large |x| the same construction runs in t = 1/x (`AsymptoticBranch`): where a part
cancels in its tails (cosh(3 + asinh x)'' is two terms of about 10/x that cancel to
10/x³) or is wrong there against mpmath (a factor 1/(x² + 1)² that is subnormal at
x = 1e80 while the value, about 1/x³, is not; 2x·expm1(x²)/(x²·exp(x²) + 1), whose
parts overflow from x = 9.2 in float32 and 110 in float64 even where the kernel's
longdouble retry steps in), it becomes t^m·Q(t) beyond a radius on that side, proven
the same way; the radius reaches at least the first x = 2^k, k >= 3, that failed.
Where a part cancels on the way out instead, at |x| = 8 ... 512 while exponentials are
representable (log(exp(x) + 1) - x: two terms of about x that differ by exp(-x)), the
construction runs in t = exp(-|x|).  The radius comes from κ of the formula the kernel
evaluates, at x(t).  The check compares NumPy's evaluation of the part by SymPy's printer
with mpmath, not the kernel's own code, so it may add a branch the kernel did not need;
a branch is proven either way.  Where neither series fits (terms that differ by a
Gaussian tail exp(-x²)), each saturating function is split into its limit and its tail
and the limits cancel symbolically (`TailBranch`, an identity checked against mpmath).

The other end of the line needs the mirror image: a rational function such as
2x/(x² + 1) (the derivative of log(1 + x²)) overflows in x² from |x| = 1.3e154 on,
where its value 2/x is still representable.  For |x| > 1 it is evaluated in powers of
1/x, x^(m - n)·p̃(1/x)/q̃(1/x), the same function (an identity, `FarBranch`).

Examples
--------
>>> import sympy
>>> from symcalc.symbolic.functions import symbol
>>> x = symbol("x")
>>> lowered, branches = series_branches(x - sympy.tanh(x))
>>> branches[0].point, branches[0].order
(0, 3)
>>> isinstance(lowered, sympy.Piecewise)
True
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
from collections.abc import Callable, Collection, Sequence

import mpmath
import numpy as np
import sympy
from sympy.printing.numpy import NumPyPrinter
from sympy.utilities.iterables import flatten

from ..symbolic.functions import sigmoid
from .lambdified import lambdify
from .rewrites import MPMATH_JUDGE_FUNCTIONS, NUMPY_MODULES, Context, erfc, expm1, softplus

__all__ = [
    "GROWING",
    "KAPPA",
    "KAPPA_WIDE",
    "ROUNDED_TRUNCATION",
    "TRUNCATION",
    "AsymptoticBranch",
    "FarBranch",
    "SeriesBranch",
    "TailBranch",
    "series_branches",
]

#: The largest cancellation factor left to floating point outside a branch.
KAPPA = 30.0
#: Where no radius on the grid keeps κ below `KAPPA` (a sum that crosses zero beside the
#: point keeps κ up: the derivatives of exp(asinh(x)/x) have κ = 85 at x = 1), the branch
#: ends where κ stays below this instead: float64's promise holds (κ·ulp ≈ 1e-13), and
#: float32 may lose up to κ ulp just outside the branch (its ``kappa`` says how much).
KAPPA_WIDE = 1000.0
#: The largest relative error (measured at 50 digits) a polynomial branch may have.
TRUNCATION = 1e-16
#: ... where no degree gets there because the rounding of the coefficients to doubles
#: alone is above it (π·exp(-π²/4), the leading coefficient of exp(-atan(2x + 1)²)'' in
#: 1/x, rounds with 1.005e-16: that function had no branch at all): one unit in the last
#: place of float64.
ROUNDED_TRUNCATION = 2.0**-52
#: Highest polynomial degree tried.
MAX_DEGREE = 41
#: Smallest and largest branch radius, relative to max(1, |x0|).
R_MIN, R_MAX = 2.0**-20, 1.0
#: Digits for interpolation and proofs (evaluation near a cancelling point needs more
#: digits than the 50 of the proof: the sum loses as many as its terms cancel).
WORK_DIGITS = 120


@dataclasses.dataclass(frozen=True, repr=False)
class SeriesBranch:
    """A polynomial replacing ``expr`` for ``point + low < variable < point + high``.

    ``order`` is the order of the zero at the point, ``degree`` that of the polynomial
    Q in h^order·Q(h), h = variable - point; ``error`` the largest relative error of the
    branch found at 50 digits, ``kappa`` the largest cancellation factor of the formula
    at the grid points just outside it.  A side where the formula has no real value
    (log near 0) gets no branch: ``low`` or ``high`` is 0 and the point belongs to it.
    """

    expr: sympy.Expr
    variable: sympy.Symbol
    point: sympy.Integer
    low: float
    high: float
    order: int
    degree: int
    polynomial: sympy.Expr
    error: float
    kappa: float
    #: whether the point belongs to the branch: not where each side has its own (a kink:
    #: (x/tanh(x) - |x|)' is -1 + 2x/3 + ... right of 0 and 1 + 2x/3 + ... left), nor where
    #: the formula's own value there is another (sign(x - 1)² is 0 at 1, its branch 1)
    closed: bool = True

    def condition(self) -> sympy.Basic:
        """Where the polynomial is used."""
        h = self.variable - self.point
        if self.low == -self.high:
            near = sympy.Abs(h) < _exact(self.high)
            return near if self.closed else sympy.And(near, sympy.Abs(h) > 0)
        lower = h > _exact(self.low) if self.low < 0 else h >= 0 if self.closed else h > 0
        upper = h < _exact(self.high) if self.high > 0 else h <= 0 if self.closed else h < 0
        return sympy.And(lower, upper)

    def to_text(self) -> str:
        h = f"{self.variable} - {self.point}" if self.point else str(self.variable)
        power = {0: "", 1: f"{h} · "}.get(self.order, f"{h}^{self.order} · ")
        if self.point and self.order:
            power = power.replace(h, f"({h})", 1)
        return (
            f"series branch: {self.low:.3g} < {h} < {self.high:.3g}, "
            f"{power}polynomial of degree {self.degree}, error {self.error:.1e} at 50 "
            f"digits; κ <= {self.kappa:.3g} outside"
        )

    def __repr__(self) -> str:
        return f"<SeriesBranch {self.to_text()}>"


@dataclasses.dataclass(frozen=True, repr=False)
class FarBranch:
    """A rational function ``expr`` evaluated in powers of 1/``variable`` for
    |variable| > ``radius`` (from 1 on, beyond which the polynomials in 1/variable do
    not cancel: `_far_radius`)."""

    expr: sympy.Expr
    variable: sympy.Symbol
    reversed: sympy.Expr
    radius: float = 1.0

    def to_text(self) -> str:
        return f"far branch: |{self.variable}| > {self.radius:g} as {sympy.sstr(self.reversed)}"

    def __repr__(self) -> str:
        return f"<FarBranch {self.to_text()}>"


@dataclasses.dataclass(frozen=True, repr=False)
class AsymptoticBranch:
    """A polynomial in t (``term``: 1/x or exp(-|x|)) replacing ``expr`` beyond ``start``.

    Where x goes to ``side``·∞, ``expr`` = t^order·Q(t): the same construction as a
    `SeriesBranch` at t = 0, proven the same way (``error`` at 50 digits, ``kappa`` the
    formula's largest cancellation factor just inside ``start``).  In t = 1/x it is made
    where the formula cancels at large |x| (cosh(3 + asinh x)'' loses x² ulps) or fails
    there on the way (a factor 1/x⁴ that is subnormal at x = 1e80 while the value, ~1/x³,
    is not); in t = exp(-side·x) where it cancels on the way out, while exponentials are
    still representable (log(exp(x) + 1) - x, the tail of softplus(-x), was 0 for
    7e-21 at x = 46).
    """

    expr: sympy.Expr
    variable: sympy.Symbol
    side: int
    start: float
    order: int
    degree: int
    polynomial: sympy.Expr
    error: float
    kappa: float
    term: sympy.Expr

    def condition(self) -> sympy.Basic:
        """Where the polynomial is used."""
        if self.side > 0:
            return self.variable > _exact(self.start)
        return self.variable < -_exact(self.start)

    def to_text(self) -> str:
        x = self.variable
        where = f"{x} > {self.start:.3g}" if self.side > 0 else f"{x} < {-self.start:.3g}"
        t = sympy.sstr(self.term)
        power = {0: "", 1: f"{t} · "}.get(self.order, f"({t})^{self.order} · ")
        return (
            f"asymptotic branch: {where}, {power}polynomial of degree {self.degree} in "
            f"{t}, error {self.error:.1e} at 50 digits; κ <= {self.kappa:.3g} inside"
        )

    def __repr__(self) -> str:
        return f"<AsymptoticBranch {self.to_text()}>"


@dataclasses.dataclass(frozen=True, repr=False)
class TailBranch:
    """``expr`` beyond ``start`` in a form of its own for that side (``form``, made as
    ``how`` says): each saturating function split into its limit and its tail, where the
    terms the limits contribute cancel exactly, or a quotient divided through by its
    largest exponential.

    σ(u) = 1 - σ(-u), softplus(u) = u + softplus(-u), tanh(u) = 1 - 2σ(-2u) and
    erf(u) = 1 - erfc(u) (mirrored where u goes to -∞) are identities; after them
    SymPy's own arithmetic cancels the limits, and what is left is a sum of tails.
    The Gaussian tails need it: log(1 + exp(x²))/x² has the derivative
    (2x²σ(x²) - 2 softplus(x²))/x³, two terms of about 2/x that differ by
    2e^{-x²}/x (no series in 1/x or exp(-|x|) describes that), which becomes
    -2σ(-x²)/x - 2 softplus(-x²)/x³.  A quotient whose denominator grows like an
    exponential overflows before its value underflows (x·exp(x)/(1 + x·exp(x))'' in
    float32 from x = 26, with the value -1e-13): divided through by exp(3x) it does not.
    ``form`` is an identity (checked at 40 digits); ``points`` is how many points from
    ``start`` outwards it was checked at against mpmath, in float64 and float32, and
    ``kappa`` its largest cancellation factor there.
    """

    expr: sympy.Expr
    variable: sympy.Symbol
    side: int
    start: float
    form: sympy.Expr
    points: int
    kappa: float
    how: str = "saturating functions split into limit and tail"
    end: float = math.inf

    @property
    def polynomial(self) -> sympy.Expr:
        """What replaces ``expr`` (named like the other branches' replacement)."""
        return self.form

    def condition(self) -> sympy.Basic:
        """Where the tail form is used: start < side·x (<= end, where an asymptotic branch
        takes over)."""
        beyond = self.side * self.variable > _exact(self.start)
        if math.isinf(self.end):
            return beyond
        return sympy.And(beyond, self.side * self.variable <= _exact(self.end))

    def to_text(self) -> str:
        x = self.variable
        where = f"{x} > {self.start:.3g}" if self.side > 0 else f"{x} < {-self.start:.3g}"
        if not math.isinf(self.end):
            where = (
                f"{self.start:.3g} < {x} <= {self.end:.3g}"
                if self.side > 0
                else f"{-self.end:.3g} <= {x} < {-self.start:.3g}"
            )
        return (
            f"tail branch: {where}, as {sympy.sstr(self.form)} ({self.how}; checked "
            f"against mpmath at {self.points} points); κ <= {self.kappa:.3g} inside"
        )

    def __repr__(self) -> str:
        return f"<TailBranch {self.to_text()}>"


Branch = SeriesBranch | FarBranch | AsymptoticBranch | TailBranch


def series_branches(
    expr: sympy.Expr, context: Context | None = None
) -> tuple[sympy.Expr, tuple[Branch, ...]]:
    """``expr`` with a polynomial branch wherever a subexpression cancels near a point,
    and in powers of 1/x where it cancels, or fails on the way, at large |x|.

    ``context.samples`` (probe values by symbol) limits candidate points to the closure
    of each variable's range; without samples every candidate is tried.
    """
    context = context or Context()
    expr, branches = _point_branches(expr, context)
    done = {b.polynomial for b in branches}
    expr, far = _far_branches(expr, context, done)
    return expr, (*branches, *far)


# -- any formula at infinity --------------------------------------------------------------------

#: Where a formula is checked at large |x|: x = ±2^k.  Enough to see a factor under- or
#: overflow on the way (1/x⁴ is subnormal from 2^256, 1/x² from 2^512; 2x overflows at
#: 2^1023) or the formula cancel in the tails (its error grows with |x|, so a later point
#: sees it).
_FAR_EXPONENTS = (16, 40, 100, 200, 300, 400, 600, 800, 1000, 1023)
#: Where exponential tails are checked: x = ±2^k while exp(±x) is representable.  A sum
#: whose terms grow like x and differ by exp(-x) (log(exp(x) + 1) - x) cancels there,
#: and no power of 1/x describes the difference.
_MIDDLE_EXPONENTS = (3, 4, 5, 6, 7, 8, 9)
#: The largest relative error of the plain formula, at those points and at the tiny ones
#: next to 0 (`_TINY_EXPONENTS`), that needs no branch.
_FAR_TOLERANCE = 1e-14


def _point_branches(expr: sympy.Expr, context: Context) -> tuple[sympy.Expr, list[Branch]]:
    """Each univariate part with its polynomial branch at a point where it cancels and its
    branches in powers of 1/x where it fails at large |x|.  Before the far branches of
    rational parts: a part that holds one (1/(x² + 1) in the derivatives of atan(x)/x) is
    examined as written.  Where a part fails far out and no form of it holds there, its
    own parts are examined in turn, so that each keeps what protects it: in
    x·(1 - exp(-x²))/√(x² + exp(-x²)) - sign(x) the quotient's branch beyond 2^20 (where
    x² overflows, the quotient alone is -sign(x) but the plain formula gives 0)."""
    mapping: dict[tuple[sympy.Basic, bool], sympy.Basic] = {}
    found: list[Branch] = []

    def examined(node: sympy.Expr, far_only: bool = False) -> sympy.Expr:
        replaced = {}
        for sub, x in _univariate_parts(node):
            if (sub, far_only) not in mapping:
                mapping[sub, far_only] = examined_part(sub, x, far_only)
            replaced[sub] = mapping[sub, far_only]
        return node.xreplace(replaced) if replaced else node

    def examined_part(sub: sympy.Expr, x: sympy.Symbol, far_only: bool) -> sympy.Expr:
        if isinstance(sub, sympy.Mul):  # a constant factor (√2, log 3) is no part of it
            coefficient, rest = sub.as_independent(x, as_Add=False)
            if coefficient != 1 and _worth_examining(rest):
                return coefficient * examined_part(rest, x, far_only)
        span = _span(context, x)
        far, unresolved = _asymptotic_for(sub, x, span)
        # x·coth(x) - |x|: no polynomial fits across the kink of -sign(x) in its derivative,
        # so near a point the smooth terms, which cancel there, get the branch, and the
        # terms with a kink or a jump are added as they are
        rough = sympy.Add(*_rough_terms(sub))
        smooth = sub - rough
        near = []
        if not far_only and (rough == 0 or (smooth.free_symbols and _worth_examining(smooth))):
            near = _branches_at_a_point(smooth, x, span)
        pieces = []
        for branch in far:
            found.append(branch)
            pieces.append((branch.polynomial, branch.condition()))
        for branch in near:
            found.append(branch)
            pieces.append((branch.polynomial + rough, branch.condition()))
        if unresolved:  # far out only: near a point, the part's own branch (or none) holds
            rebuilt = sub.func(*(examined(a, far_only=True) for a in sub.args))
            sub = _refused_where_wrong(sub, rebuilt, x, span, [c for _, c in pieces])
        return sympy.Piecewise(*pieces, (sub, True)) if pieces else sub

    return examined(expr), found


def _asymptotic_for(
    sub: sympy.Expr, x: sympy.Symbol, span: tuple[float, float]
) -> tuple[list[AsymptoticBranch | TailBranch], bool]:
    """``sub``'s branches in powers of 1/x or exp(-|x|), on each unbounded side where it
    fails, or its tail form (`TailBranch`) where no series fits; and whether a side where
    it fails was left without one."""
    try:
        if sub.is_rational_function(x):
            return [], False  # exactly, in powers of 1/x: a FarBranch
        probe = _Probe(sub, x)
    except (TypeError, ValueError, NameError, KeyError, sympy.PolynomialError):
        return [], False
    found = []
    unresolved = False
    for side in (1, -1):
        if side * (span[1] if side > 0 else span[0]) < 1e3:
            continue  # a bounded variable (the probe reaches 1e3 on an unbounded side)
        branch = None
        # the construction in exp(-|x|) evaluates out to |x| = 60 (x**x**x**x: no tail)
        midway = all(probe.reachable(side * 2.0**k) for k in (5, 6))
        if midway and _cancels_midway(probe, side):  # exponential (a power tail cancels later)
            branch = _asymptotic(sub, x, side, probe, exponential=True)
        # the construction in 1/x evaluates out to 2^64 (sin(cosh(x)) has no tail there)
        far = all(probe.reachable(side * 2.0**k) for k in (16, 40, 64))
        failing = None
        if branch is None and far:
            failing = _first_failure(probe, side)
            if failing is not None:  # the branch starts before the first point that failed
                branch = _asymptotic(sub, x, side, probe, reach=2.0 / failing)
        if branch is None and (failing is not None or midway and _cancels_midway(probe, side)):
            branch = _side_branch(sub, x, side, probe)  # a tail no series describes
            unresolved = unresolved or branch is None or not math.isinf(branch.end)
        elif branch is not None and branch.kappa > KAPPA:  # float32 loses κ ulp next to it
            inner = _side_branch(sub, x, side, probe, end=branch.start)
            if inner is not None:  # between them: the asymptotic branch comes first
                found.append(branch)
                branch = inner
        if branch is not None:
            found.append(branch)
    return found, unresolved


def _refused_where_wrong(
    sub: sympy.Expr,
    rebuilt: sympy.Expr,
    x: sympy.Symbol,
    span: tuple[float, float],
    covered: Sequence[sympy.Basic] = (),
) -> sympy.Expr:
    """``rebuilt`` (``sub`` with its parts' own far branches), NaN on each unbounded side
    beyond the last check point where it still meets the promise against mpmath, if it
    breaks it farther out (points where a branch of ``sub`` holds, ``covered``, are the
    branch's: there ``rebuilt`` is not used).  Parts that each hold may still cancel in
    their sum, where no form of the sum holds: 3x·exp((1 - x)²)·erfc(1 - x)'' has terms
    of about x² that cancel to 1/x³ as x goes to -∞, and came out 6.8e20 at x = -1e10 for
    3.4e-30.  A NaN there is an honest refusal; a wrong number is not."""
    try:
        probe, kernel_form = _Probe(sub, x), _Probe(rebuilt, x)
    except (TypeError, ValueError, NameError, KeyError):
        return rebuilt
    pieces = []
    for side in (1, -1):
        if side * (span[1] if side > 0 else span[0]) < 1e3:
            continue  # a bounded variable
        held = None
        for k in (*range(0, 16), *_FAR_EXPONENTS):
            point = side * 2.0**k
            if not probe.reachable(point) or any(_holds(c, x, point) for c in covered):
                continue
            if _breaks_the_promise(probe, kernel_form, point):
                break
            held = 2.0**k
        else:
            continue
        beyond = side * x > _exact(held) if held is not None else side * x > 0
        pieces.append((sympy.nan, beyond))
    return sympy.Piecewise(*pieces, (rebuilt, True)) if pieces else rebuilt


def _holds(condition: sympy.Basic, x: sympy.Symbol, point: float) -> bool:
    """Whether ``condition`` is true at x = ``point``."""
    try:
        return bool(condition.subs(x, _exact(point)))
    except TypeError:
        return False


def _breaks_the_promise(probe: _Probe, kernel_form: _Probe, point: float) -> bool:
    """Whether ``kernel_form`` gives a finite float64 value at ``point`` more than 1e-12
    relative (1e-300 absolute) from ``probe``'s formula at settled mpmath precision, where
    its sums cancel (κ above `KAPPA`).  An inf or NaN is no broken promise (the kernel
    computes those elements again), nor a factor that under- or overflows (x² at 1e180 in
    a rational part: the far branches of rational functions come next)."""
    with np.errstate(all="ignore"):
        got = complex(np.asarray(kernel_form.np_value(np.float64(point)), dtype=complex))
    if not np.isfinite(got) or got.imag or not KAPPA < kernel_form.kappa_float(point) < math.inf:
        return False
    truth = _settled(probe, point)
    if truth is None or not _real(truth):
        return False
    truth = _real_part(truth)
    return bool(abs(got.real - truth) > max(1e-12 * abs(truth), 1e-300))


def _cancels_midway(probe: _Probe, side: int) -> bool:
    """Whether the plain formula cancels (κ above `KAPPA`) or is wrong against mpmath at
    side·x = 2^3 ... 2^9, where exponentials are representable and power tails are
    still mild."""
    points = [side * 2.0**k for k in _MIDDLE_EXPONENTS]
    if all(probe.kappa_float(p) <= KAPPA for p in points if probe.reachable(p)):
        return any(_fails_at(probe, p) for p in points)
    return True


def _first_failure(probe: _Probe, side: int) -> float | None:
    """The smallest |x| = 2^k (k from 3 on) where the plain formula is wrong against mpmath
    (in float64, or in float32 within its range: an intermediate that overflows there
    first), or math.inf where it only cancels at large side·x (κ above `KAPPA` at 1e4 or
    1e8); None where it holds."""
    for k in (*range(3, 16), *_FAR_EXPONENTS):
        if _fails_at(probe, side * 2.0**k):
            return 2.0**k
    if any(probe.kappa_float(side * h) > KAPPA for h in (1e4, 1e8)):
        return math.inf
    return None


def _fails_at(probe: _Probe, point: float) -> bool:
    """Whether the plain formula in floating point is off the promise at ``point`` (against
    mpmath, where mpmath's value is settled).  Where float64 gives no finite value, the
    kernel computes it again in ``np.longdouble`` (`symcalc.numeric.kernels.Kernel`), so
    that value is judged instead (and none at all where it is not finite either: a value
    that overflows, or a formula with no real value there).  Remembered per probe: the
    exponential and the power checks share the points 2^3 ... 2^9."""
    if point not in probe.failures:
        probe.failures[point] = _judged_at(probe, point)
    return probe.failures[point]


def _judged_at(probe: _Probe, point: float) -> bool:
    if not probe.reachable(point):
        return False
    with np.errstate(all="ignore"):
        got = complex(np.asarray(probe.np_value(np.float64(point)), dtype=complex))
        if not np.isfinite(got):
            got = _in_dtype(probe, point, np.longdouble)
            if got is None:  # a function with no longdouble loop (SciPy's): as before
                return False
            got = complex(got)
        # float32 inputs are normal numbers: 2^-200 is none (its float32 is 0)
        single = _in_dtype(probe, point, np.float32) if 1.2e-38 < abs(point) < 1e38 else None
    with mpmath.workdps(30):  # agreeing with floats to 1e-14, 30 digits are not both wrong
        quick = probe.value(mpmath.mpf(point))
    if single is not None and single.dtype == np.float32 and _fails_in_float32(single, quick):
        return True
    if not np.isfinite(got):
        truth = _settled(probe, point)
        return truth is not None and abs(truth) <= np.finfo(np.float64).max
    if quick is not None and quick != 0 and _close(got, quick):  # (but both may give 0)
        return False
    truth = _settled(probe, point)
    return truth is not None and not _close(got, truth)


def _in_dtype(probe: _Probe, point: float, dtype) -> np.ndarray | None:
    """The plain formula at ``point`` computed in ``dtype`` (None: a function has no loop
    for it, as SciPy's erf for ``np.longdouble``)."""
    try:
        return np.asarray(probe.np_value(dtype(point)))
    except (TypeError, ValueError, AttributeError):
        return None


def _fails_in_float32(got: np.ndarray, truth: mpmath.mpf | None) -> bool:
    """Whether float32's value ``got`` is off float32's promise (1e-5 relative) from
    ``truth`` (30 digits), where that is a normal float32."""
    if truth is None or not 1.2e-38 < abs(truth) < 3.4e38:
        return False
    value = complex(got)
    return not np.isfinite(value) or abs(value - complex(truth)) > 1e-5 * abs(truth)


def _digits(point: float) -> int:
    """Working digits at ``point``: enough to keep x^2.5 beside 1 (or 1 beside x^2.5)."""
    return 40 + int(2.5 * abs(math.log10(abs(point))))


def _close(got: complex, truth: mpmath.mpf) -> bool:
    """Within the promise: `_FAR_TOLERANCE` relative, or 1e-300 where ``truth`` underflows."""
    error = abs(got - complex(truth))
    return error <= 1e-300 if abs(truth) < 1e-300 else error <= _FAR_TOLERANCE * abs(truth)


def _settled(probe: _Probe, point: float) -> mpmath.mpf | None:
    """f(point) where two precisions agree (None: no real value, or digits not enough)."""
    previous = None
    base = _digits(point)
    for digits in (2 * base, 4 * base, 8 * base):
        with mpmath.workdps(digits):
            value = probe.value(mpmath.mpf(point))
        if value is None:
            return None
        if previous is not None and abs(value - previous) <= 1e-20 * abs(value):
            return value
        previous = value
    return None


def _asymptotic(
    sub: sympy.Expr,
    x: sympy.Symbol,
    side: int,
    probe: _Probe,
    exponential: bool = False,
    reach: float = 0.0,
) -> AsymptoticBranch | None:
    """``sub`` (whose `_Probe` is ``probe``) as t^m·Q(t) for side·x beyond a radius, a
    `SeriesBranch` at t = 0: in t = 1/x, or in t = exp(-side·x) when ``exponential``.
    The branch reaches at least |t| = ``reach`` (where the formula fails, whatever κ)."""
    # SymPy's erfc(2/t - 3) is 2 - erfc(3 - 2/t), which is 2 at any precision as t -> 0
    oriented = _oriented(sub, x, side).replace(sympy.erfc, erfc)
    try:
        if exponential:
            t = sympy.Dummy("t", positive=True)
            term, inverted = sympy.exp(-side * x), oriented.xreplace({x: -side * sympy.log(t)})
            x_of = lambda u: -side * mpmath.log(u)  # noqa: E731
        else:
            t = sympy.Dummy("t", real=True)
            term, inverted = 1 / x, oriented.xreplace({x: 1 / t})
            x_of = lambda u: 1 / u  # noqa: E731
    except ValueError:  # a Max/Min SymPy cannot compare there (see `_oriented`)
        return None
    try:
        mapped = _Mapped(_Probe(inverted, t), probe, x_of)
    except (TypeError, ValueError, NameError, KeyError):
        return None
    span = (0.0, math.inf) if side > 0 or exponential else (-math.inf, 0.0)
    for least in dict.fromkeys((reach, reach / 2, 0.0)):  # no polynomial that far: less
        branch = _build(inverted, t, sympy.Integer(0), 1.0, mapped, span, least)
        if branch is not None:
            break
    else:
        return None
    radius = branch.high if side > 0 or exponential else -branch.low
    return AsymptoticBranch(
        sub,
        x,
        side,
        -math.log(radius) if exponential else 1.0 / radius,
        branch.order,
        branch.degree,
        branch.polynomial.xreplace({t: term}),
        branch.error,
        branch.kappa,
        term,
    )


# -- saturating functions split into limit and tail ---------------------------------------------

#: f(u) = limit + tail for a function that saturates as u -> +∞ and as u -> -∞; the tails
#: decay exponentially.  Identities for every u: which one helps depends on where u goes.
_TAIL_IDENTITIES: dict[type, tuple[Callable, Callable | None]] = {
    sigmoid: (lambda u: 1 - sigmoid(-u), None),
    softplus: (lambda u: u + softplus(-u), None),
    sympy.tanh: (lambda u: 1 - 2 * sigmoid(-2 * u), lambda u: 2 * sigmoid(2 * u) - 1),
    sympy.erf: (lambda u: 1 - erfc(u), lambda u: erfc(-u) - 1),
    expm1: (None, lambda u: sympy.exp(u) - 1),
}
#: Where an argument counts as saturated at side·x = 2^9 (σ(-30) = 9e-14).
_SATURATED = 30.0
#: Grid on which a tail form's cancellation is measured: side·x = 2^(k/4), 1 <= x <= 512.
_TAIL_GRID = tuple(2.0 ** (k / 4) for k in range(0, 37))
#: How much larger than ``sub`` (in operations) its tail form may grow.
_TAIL_GROWTH = 4
#: The largest formula (in operations) split into tails (multiplying out costs time).
_TAIL_LARGEST = 200


def _side_branch(
    sub: sympy.Expr, x: sympy.Symbol, side: int, probe: _Probe, end: float = math.inf
) -> TailBranch | None:
    """The first of ``sub``'s forms for ``side`` (`_SIDE_FORMS`) that is right there, out
    to side·x = ``end``."""
    for make, how in _SIDE_FORMS:
        form = make(sub, x, side)
        branch = None if form is None else _proven_side_form(sub, x, side, probe, form, how, end)
        if branch is not None:
            return branch
    return None


#: How far out a side form must hold, at least, to be used at all.  One that fails
#: beyond it (the conjugate of √(x² + exp(-x²)) - x: x²·exp(-x²) is inf·0 once x² overflows)
#: serves up to the last check before the failure, and the part's parts are examined for
#: what lies beyond (`_point_branches`).
_FORM_REACH = 2.0**16


def _proven_side_form(
    sub: sympy.Expr,
    x: sympy.Symbol,
    side: int,
    probe: _Probe,
    form: sympy.Expr,
    how: str,
    end: float = math.inf,
) -> TailBranch | None:
    """``form`` of ``sub`` on ``side`` from the smallest |x| >= 1 beyond which it keeps its
    cancellation factor under `KAPPA` and meets the promise against mpmath (out to
    ``end``); None where it is not the same function, or cancels or fails out there too."""
    try:
        tail = _Probe(form, x)
    except (TypeError, ValueError, NameError, KeyError):
        return None
    if not _same_function(probe, tail, side):
        return None
    # 1, 1.5, 2, 3, ... 512 (their squares exact: the tails are exp(-x²) at most), 2^1000
    checks = [m * 2.0**k for k in range(0, 10) for m in (1.0, 1.5)]
    checks += [2.0**k for k in (*range(10, 16), *_FAR_EXPONENTS)]
    checks = [p for p in checks if p <= end]
    checks = [p for p in checks if tail.reachable(side * p)]
    edges = [e for p, q in itertools.pairwise(checks) for e in _overflow_edges(tail, side, p, q)]
    failing = [p for p in checks if _fails_at(tail, side * p) or _worse(tail, probe, side * p)]
    failing += [p for p in edges if _worse(tail, probe, side * p)]
    far = [p for p in failing if p >= _FORM_REACH]
    if far:  # it holds up to the last check before it fails; the parts' own forms beyond
        end = min(end, max((p for p in checks if p < min(far)), default=0.0))
        failing = [p for p in failing if p < end]
        if end < _FORM_REACH or not any(_fails_at(probe, side * p) for p in checks if p <= end):
            return None  # not right out there either, or no better than the formula
    if failing and max(failing) >= 8.0:
        return None
    start = max(failing, default=0.0)
    kappas = [(g, tail.kappa_float(side * g)) for g in _TAIL_GRID if start < g <= end]
    bad = [g for g, kappa in kappas if not kappa <= KAPPA]
    start = max(max(bad, default=0.0), start, 1.0)
    kappa = max([1.0] + [k for g, k in kappas if g > start])  # no sum at all: 1
    if start >= end:
        return None
    points = sum(p >= start for p in checks)
    return TailBranch(sub, x, side, start, form, points, kappa, how, end)


def _tail_form(sub: sympy.Expr, x: sympy.Symbol, side: int) -> sympy.Expr | None:
    """``sub`` with each saturating function of an argument that saturates as x goes to
    side·∞ written as limit + tail, and the products expanded (so the limits' terms
    cancel); None where nothing changes, or the form grows too large."""
    if _too_large(sub):
        return None
    split_form = _split_tails(sub, x, side)
    if split_form == sub:
        return None
    form = _multiplied_out(split_form)
    return None if _grew(form, sub) else form


def _too_large(sub: sympy.Expr) -> bool:
    """Whether ``sub`` is too large to be rewritten (multiplying out costs time)."""
    return sympy.count_ops(sub) > _TAIL_LARGEST


def _grew(form: sympy.Expr, sub: sympy.Expr) -> bool:
    """Whether ``form`` grew too much larger than the ``sub`` it was made of."""
    return sympy.count_ops(form) > _TAIL_GROWTH * sympy.count_ops(sub) + 10


def _single_fraction(sub: sympy.Expr, x: sympy.Symbol, side: int) -> sympy.Expr | None:
    """``sub`` (its tails split, `_split_tails`) as one fraction with the numerator
    multiplied out, so terms of a sum of fractions that cancel do so exactly
    (x/(1 - exp(-x)) - x = x·exp(-x)/(1 - exp(-x)); growing exponentials written with exp,
    `_as_exponentials`); None where it is no fraction, or grows too large."""
    if _too_large(sub):
        return None
    split_form = _as_exponentials(_split_tails(sub, x, side), x, side)
    numerator, denominator = sympy.fraction(sympy.together(split_form))
    if denominator == 1:
        return None
    form = _multiplied_out(numerator) / denominator
    if _grew(form, sub):
        return None
    return _scaled_quotient(form, x, side) or form  # and divided through, if it grows


def _split_tails(sub: sympy.Expr, x: sympy.Symbol, side: int) -> sympy.Expr:
    """``sub`` where side·x > 0 (`_oriented`), each saturating function whose argument
    saturates as x goes to side·∞ written as limit + tail (`_TAIL_IDENTITIES`)."""

    def split(node: sympy.Basic) -> sympy.Basic:
        identities = _TAIL_IDENTITIES.get(type(node))
        if identities is None or len(node.args) != 1:
            return node
        far = _far_value(node.args[0], x, side)
        sign = 1 if far > _SATURATED else -1 if far < -_SATURATED else 0
        identity = identities[0] if sign > 0 else identities[1] if sign < 0 else None
        return node if identity is None else identity(node.args[0])

    return _oriented(sub, x, side).replace(lambda n: type(n) in _TAIL_IDENTITIES, split)


def _far_value(u: sympy.Expr, x: sympy.Symbol, side: int) -> float:
    """u at side·x = 2^9, where saturation shows (σ(-30) = 9e-14); 0 where u is no number."""
    try:
        return float(u.subs(x, side * 2.0**9))
    except (TypeError, ValueError):
        return 0.0


def _oriented(sub: sympy.Expr, x: sympy.Symbol, side: int) -> sympy.Expr:
    """``sub`` where side·x > 0: |x|, sign(x), max(x, 0), ... of x on that side evaluated
    (|x| - x·tanh(x) is x - x·tanh(x) for x > 0, whose limits can cancel).  A branch
    beyond a start >= 1 on that side may use it."""
    y = sympy.Dummy("y", positive=True)
    try:
        return sub.xreplace({x: side * y}).xreplace({y: side * x})
    except ValueError:
        # SymPy's Max/Min refuse arguments it cannot compare (relu6(hard_sigmoid(log(x)))
        # for x < 0: Min(log(-y)/6 + 1/2, 1)): ``sub`` as written has the same values
        return sub


def _overflow_edges(probe: _Probe, side: int, low: float, high: float) -> list[float]:
    """Points just short of where the value passes float64's or float32's largest number,
    between side·x = ``low`` and ``high`` (cosh(x) at 710.48, where exp(x) has overflowed
    since 709.78: a form may overflow there first)."""

    def size(p: float) -> float:
        with mpmath.workdps(30):
            value = probe.value(side * mpmath.mpf(p))
        return math.inf if value is None else float(min(abs(value), mpmath.mpf(1e309)))

    points = []
    a, b = size(low), size(high)
    for largest in (float(np.finfo(np.float64).max), float(np.finfo(np.float32).max)):
        if not a <= largest < b:
            continue
        lo, hi = low, high
        for _ in range(60):
            middle = 0.5 * (lo + hi)
            lo, hi = (middle, hi) if size(middle) <= largest else (lo, middle)
        points += [lo * (1 - 2.0**-k) for k in (8, 16, 40)] + [lo]
    return points


def _worse(form: _Probe, formula: _Probe, point: float) -> bool:
    """Whether ``form`` is inf or NaN at ``point`` in float64 or float32, where the value is
    a finite number of that dtype and the ``formula`` it would replace is not.  A kernel
    computes such elements again in extended range, but JAX and PyTorch do not: a form that
    overflows before the formula (exp(-x)·(exp(2x) + 1)/2 for cosh(x) at x = -710) is no
    better form there."""
    return bool(_not_finite(form, point) - _not_finite(formula, point))


def _not_finite(probe: _Probe, point: float) -> set[type]:
    """The dtypes (float64, float32) in which the formula is inf or NaN at ``point`` while
    its value is a finite number of that dtype."""
    with np.errstate(all="ignore"):
        values = [(np.float64, probe.np_value(np.float64(point)))]
        if abs(point) < 3e38:
            values.append((np.float32, probe.np_value(np.float32(point))))
    broken = [d for d, got in values if not np.all(np.isfinite(np.asarray(got, dtype=complex)))]
    if not broken:
        return set()
    with mpmath.workdps(30):
        truth = probe.value(mpmath.mpf(point))
    if truth is None:
        return set()
    return {d for d in broken if abs(truth) <= np.finfo(d).max}


def _scaled_quotient(sub: sympy.Expr, x: sympy.Symbol, side: int) -> sympy.Expr | None:
    """``sub`` as a quotient whose denominator's factors are each divided by their largest
    exponential on ``side`` (and the numerator by their product), so neither overflows
    before the value underflows; expm1, cosh and sinh of growing arguments count as
    exponentials.  None where no denominator grows like an exponential."""
    if _too_large(sub):
        return None
    numerator, denominator = sympy.fraction(_as_exponentials(_oriented(sub, x, side), x, side))
    scale, factors = sympy.S.Zero, []
    for factor in sympy.Mul.make_args(denominator):
        base, power = factor.as_base_exp()
        rates = [
            (_far_value(f.args[0], x, side), f.args[0])
            for term in sympy.Add.make_args(base)
            for f in sympy.Mul.make_args(term)
            if isinstance(f, sympy.exp)
        ]
        # (a rational power too: (E·A)^p = E^p·A^p for E = exp(u) > 0, A > 0 where real)
        if not (base.is_Add and power.is_Rational and power > 0 and rates):
            factors.append(factor)
            continue
        rate, exponent = max(rates, key=lambda r: r[0])
        if rate <= _SATURATED:
            factors.append(factor)
            continue
        factors.append(_multiplied_out(base * sympy.exp(-exponent)) ** power)
        scale += power * exponent
    if scale == 0:
        return None
    scaled = _multiplied_out(numerator * sympy.exp(-scale)) / sympy.Mul(*factors)
    return None if _grew(scaled, sub) else scaled


def _as_exponentials(expr: sympy.Expr, x: sympy.Symbol, side: int) -> sympy.Expr:
    """expm1, cosh and sinh of arguments that grow without bound as x goes to side·∞
    written with exp (expm1(u) = exp(u) - 1 loses nothing there), so products with other
    exponentials combine."""

    def rewritten(node: sympy.Basic) -> sympy.Basic:
        if abs(_far_value(node.args[0], x, side)) <= _SATURATED:
            return node
        if isinstance(node, expm1):
            return sympy.exp(node.args[0]) - 1
        return node.rewrite(sympy.exp)

    return expr.replace(lambda n: isinstance(n, (expm1, sympy.cosh, sympy.sinh)), rewritten)


def _multiplied_out(expr: sympy.Expr) -> sympy.Expr:
    """Products and integer powers multiplied out, nothing else (exp(a + b) stays)."""
    return sympy.expand(expr, power_exp=False, power_base=False, log=False)


def _same_function(probe: _Probe, tail: _Probe, side: int) -> bool:
    """Whether the tail form equals the formula to 40 digits at a few points (it is made
    of identities; this guards the construction).  At `WORK_DIGITS`: the formula loses
    what its terms cancel (18 digits at x = 3 where they differ by exp(-x²))."""
    with mpmath.workdps(WORK_DIGITS):
        for point in (1.25, 2.0, 3.0):
            a, b = probe.value(side * mpmath.mpf(point)), tail.value(side * mpmath.mpf(point))
            if a is None or b is None:
                return False
            if abs(a - b) > mpmath.mpf(10) ** -40 * max(abs(a), mpmath.mpf(10) ** -300):
                return False
    return True


def _conjugate_form(sub: sympy.Expr, x: sympy.Symbol, side: int) -> sympy.Expr | None:
    """``sub`` as one fraction whose numerator c·√A + R is multiplied by its conjugate:
    (c²·A - R²)/(c·√A - R), the squares multiplied out, so a root and the terms it nearly
    equals cancel exactly (√(x² + exp(-x²)) - x = exp(-x²)/(√(x² + exp(-x²)) + x)).  The
    roots stand aside while the fraction is formed (together() would take exp(x²) inside
    them).  None where the numerator is not linear in one square root."""
    if _too_large(sub):
        return None
    split_form = _as_exponentials(_split_tails(sub, x, side), x, side)
    bases = {p.base for p in split_form.atoms(sympy.Pow) if abs(p.exp) == sympy.S.Half}
    if len(bases) != 1 or not next(iter(bases)).has(x):
        return None
    root, stand_in = sympy.sqrt(bases.pop()), sympy.Dummy("root", positive=True)
    hidden = {root: stand_in, 1 / root: 1 / stand_in}
    back = {stand_in: root}
    for power in split_form.atoms(sympy.exp):  # exp(-x²) is no denominator here
        hidden[power] = back_key = sympy.Dummy("exp", positive=True)
        back[back_key] = power
    numerator, denominator = sympy.fraction(sympy.together(split_form.xreplace(hidden)))
    try:
        poly = sympy.Poly(_multiplied_out(numerator), stand_in)
    except sympy.PolynomialError:
        return None
    if poly.degree() != 1:
        return None
    c, rest = poly.all_coeffs()
    if rest == 0:
        return None
    top = _multiplied_out(c**2 * root.base.xreplace(hidden) - rest**2)
    form = (top / ((c * stand_in - rest) * denominator)).xreplace(back)
    return None if _grew(form, sub) else form


def _leading_powers(sub: sympy.Expr, x: sympy.Symbol, side: int) -> sympy.Expr | None:
    """``sub`` with each fractional power of a polynomial written with its leading term
    taken out, (c·x^d·(1 + …))^e = c^e·x^(d·e)·(1 + …)^e, and the powers of x combined:
    2x/(3·(x² + 1)^(2/3)) is (2/3)·|x|^(-1/3)·(1 + x⁻²)^(-2/3) for x > 0, where x² would
    overflow (and x^(4/3) underflow its reciprocal) long before the value does; so are the
    polynomials beside them ((6 - 2x²)/(x² + 1)^(5/3)).  No series in 1/x describes a
    fractional power of x.  None where no fractional power of a polynomial is found."""
    if _too_large(sub):
        return None
    y = sympy.Dummy("y", positive=True)
    try:
        oriented = _oriented(sub, x, side).xreplace({x: side * y})
    except ValueError:  # a Max/Min SymPy cannot compare there (see `_oriented`)
        return None

    def polynomial(node: sympy.Basic) -> bool:
        if not isinstance(node, sympy.Add) or not node.has(y):
            return False
        try:
            poly = sympy.Poly(node, y)
        except sympy.PolynomialError:
            return False
        return poly.degree() >= 1 and len(poly.terms()) >= 2

    def lead(node: sympy.Add) -> sympy.Expr:  # c·y^d·(1 + …): its powers split (y > 0)
        poly = sympy.Poly(node, y)
        c, d = poly.LC(), poly.degree()
        return c * y**d * _multiplied_out(node / (c * y**d))

    fractional = [
        n
        for n in sympy.preorder_traversal(oriented)
        if isinstance(n, sympy.Pow)
        and n.exp.is_Rational
        and not n.exp.is_Integer
        and polynomial(n.base)
    ]
    if not fractional:
        return None  # (rational functions have far branches of their own)
    written = oriented.replace(polynomial, lead)
    return sympy.powsimp(written).xreplace({y: sympy.Abs(x)})  # |x| = side·x there


#: A part's forms for one side, tried in turn where no series fits there: (builder, how).
_SIDE_FORMS: tuple[tuple[Callable[..., sympy.Expr | None], str], ...] = (
    (_tail_form, "saturating functions split into limit and tail"),
    (_scaled_quotient, "numerator and denominator divided by their largest exponential"),
    (_single_fraction, "one fraction, its numerator multiplied out"),
    (_conjugate_form, "one fraction, its numerator's square root multiplied by its conjugate"),
    (_leading_powers, "fractional powers of polynomials with their leading terms taken out"),
)


# -- rational functions at infinity -------------------------------------------------------------


def _far_branches(
    expr: sympy.Expr, context: Context, done: Collection[sympy.Expr] = ()
) -> tuple[sympy.Expr, list[FarBranch]]:
    """Rational functions of one unbounded variable, of degree 2 or more and not
    polynomials, with a branch in powers of 1/x for |x| > 1 (except the polynomials in
    1/x in ``done``: asymptotic branches, already so).  The rational factors of a product
    are taken together: x·asinh(x)/(x² + 1) reverses x/(x² + 1), whose 1/x does not
    underflow where 1/(x² + 1) alone does (x = 1e160)."""
    found: list[FarBranch] = []

    def branch(node: sympy.Expr, x: sympy.Symbol, reversed_form: sympy.Expr) -> sympy.Expr:
        radius = _far_radius(reversed_form, x)
        found.append(FarBranch(node, x, reversed_form, radius))
        return sympy.Piecewise((node, sympy.Abs(x) <= radius), (reversed_form, True))

    def visit(node: sympy.Basic) -> sympy.Basic:
        if node in done or not node.free_symbols:
            return node
        reversed_form = _reversed(node, context)
        if reversed_form is not None:
            return branch(node, next(iter(node.free_symbols)), reversed_form)
        grouped = _rational_factors(node, context) if isinstance(node, sympy.Mul) else None
        if grouped is not None:
            x, rational, reversed_form, others = grouped
            rest = [visit(a) for a in reversed(others)][::-1]
            return sympy.Mul(branch(rational, x, reversed_form), *rest)
        args = [visit(a) for a in reversed(node.args)][::-1]  # the order a stack visits
        if all(a is b for a, b in zip(args, node.args, strict=True)):
            return node
        return node.func(*args)

    return visit(expr), found


#: Functions that overflow for finite arguments (exponentially).
GROWING = (sympy.exp, sympy.cosh, sympy.sinh)
#: What may not stand as a coefficient of powers of x (`_rational_factors`).
_TOO_FAST = (*GROWING, sympy.Piecewise)


def _rational_factors(node: sympy.Mul, context: Context):
    """(x, R, R in powers of 1/x, the other factors) where two or more factors of
    ``node`` are rational functions of x whose product R has a far branch.  Functions of
    x other than exponentials count as coefficients there (log x, atan x): the branch of
    (3x⁶·L - 5x⁶ + ...)/(x¹⁰ + ...), L = log(1 + x²/9), is x⁻⁴·(3L - 5 + ...)/(1 + ...);
    the denominator's alone (x¹⁰) overflowed from x = 1e31 and the value came out 0."""
    for x in sorted(node.free_symbols, key=lambda s: s.name):
        hide = {
            f: sympy.Dummy("c")
            for f in node.atoms(sympy.Function)
            if f.has(x) and not isinstance(f, _TOO_FAST)
        }
        back = {d: f for f, d in hide.items()}
        args = [a.xreplace(hide) for a in node.args]
        try:
            mine = [
                i
                for i, a in enumerate(args)
                if x in a.free_symbols
                and not a.free_symbols - set(back) - {x}
                and not a.has(*_TOO_FAST)
                and a.is_rational_function(x)
            ]
        except (TypeError, ValueError):
            continue
        if len(mine) < 2 or (len(mine) == len(node.args) and not back):
            continue  # (a product of rational functions alone is reversed as a whole)
        numbers = [i for i, a in enumerate(node.args) if not a.free_symbols]
        rational = sympy.Mul(*(args[i] for i in numbers + mine))
        reversed_form = _reversed(rational, context, x)
        if reversed_form is not None:
            others = [a for i, a in enumerate(node.args) if i not in mine and i not in numbers]
            return x, rational.xreplace(back), reversed_form.xreplace(back), others
    return None


def _far_radius(reversed_form: sympy.Expr, x: sympy.Symbol) -> float:
    """The least |x| = 2^(k/4), from 1 on, beyond which each polynomial in 1/x of
    ``reversed_form`` keeps its cancellation factor Σ|cₖtᵏ| / |Σcₖtᵏ| under `KAPPA` (t = 1/x
    on both sides).  ((x - 1)² + 1)⁶ in powers of 1/x cancels 10⁴-fold at x = 1.24: the
    far branch of a rational function with it was 2e-12 off there."""
    t = sympy.Dummy("t")
    sums = []  # (powers of t, their coefficients as functions of x: log x in x⁻⁴·(log x + ...))
    for node in sympy.preorder_traversal(reversed_form):
        if not isinstance(node, sympy.Add) or node.has(sympy.Piecewise):
            continue
        hide = {f: sympy.Dummy("c") for f in node.atoms(sympy.Function) if f.has(x)}
        inverted = node.xreplace(hide).xreplace({x: 1 / t})
        if not inverted.has(t):
            continue
        try:
            poly = sympy.Poly(inverted, t)
        except sympy.PolynomialError:
            continue
        back = {d: f for f, d in hide.items()}
        terms = [(e, c.xreplace(back)) for (e,), c in poly.terms()]
        sums.append(lambdify(x, [c * x**-e for e, c in terms], modules=NUMPY_MODULES))
    radius = 2.0**60
    for k in range(240, -1, -1):  # from far in, |x| = 2^(k/4): the first place a sum cancels
        for side in (1.0, -1.0):
            at = side * 2.0 ** (k / 4)
            for terms_at in sums:
                try:
                    with np.errstate(all="ignore"):
                        terms = [float(v) for v in terms_at(at)]
                except (TypeError, ValueError, OverflowError, ZeroDivisionError):
                    return radius
                total = abs(math.fsum(terms))
                if not total or math.fsum(map(abs, terms)) > KAPPA * total:
                    return radius
        radius = 2.0 ** (k / 4)
    return radius


def _reversed(
    node: sympy.Basic, context: Context, x: sympy.Symbol | None = None
) -> sympy.Expr | None:
    """``node``, a rational function of ``x`` (its only variable unless given; other
    symbols are coefficients), in powers of 1/x; None where that does not apply."""
    if not isinstance(node, (sympy.Mul, sympy.Pow, sympy.Add)):
        return None
    if x is None:
        if len(node.free_symbols) != 1:
            return None
        x = next(iter(node.free_symbols))
    lo, hi = _span(context, x)
    if max(abs(lo), abs(hi)) < 1e3:  # a bounded variable (a probability): never large
        return None
    try:
        if not node.is_rational_function(x) or node.is_polynomial(x):
            return None
        p, q = sympy.fraction(sympy.cancel(node))
        p_poly, q_poly = sympy.Poly(p, x), sympy.Poly(q, x)
    except (sympy.PolynomialError, TypeError, ValueError):
        return None
    m, n = p_poly.degree(), q_poly.degree()
    if max(m, n) < 2 or n < 1 or (len(p_poly.terms()) == 1 and len(q_poly.terms()) == 1):
        return None  # a monomial c·x^k overflows exactly where its value does
    t = 1 / x
    top = sum(c * t**k for k, c in enumerate(p_poly.all_coeffs()))  # p(x) = x^m·top(1/x)
    bottom = sum(c * t**k for k, c in enumerate(q_poly.all_coeffs()))
    return x ** (m - n) * top / bottom


# -- where to look ---------------------------------------------------------------------------


def _univariate_parts(expr: sympy.Expr) -> list[tuple[sympy.Expr, sympy.Symbol]]:
    """The largest subexpressions of one variable that hold a sum or a division."""
    out = []
    stack = [expr]
    while stack:
        node = stack.pop()
        symbols = node.free_symbols
        if len(symbols) == 1 and isinstance(node, sympy.Expr) and not node.is_Symbol:
            if _worth_examining(node):
                out.append((node, next(iter(symbols))))
                continue
            if not node.has(sympy.Piecewise):
                continue
        if isinstance(node, sympy.Piecewise):  # each piece's formula, not its condition,
            # nor one used at single points only (the value at a removable 0/0)
            stack.extend(e for e, c in node.args if e.free_symbols and not isinstance(c, sympy.Eq))
            continue
        stack.extend(a for a in node.args if a.free_symbols)
    return out


#: Functions with a kink or a jump: no polynomial fits across the point where they switch.
_ROUGH = (sympy.sign, sympy.Abs, sympy.Heaviside, sympy.Max, sympy.Min, sympy.floor, sympy.ceiling)


def _rough_terms(node: sympy.Expr) -> list[sympy.Expr]:
    """The terms of a sum that hold a kink or a jump, where some of its terms are smooth:
    a polynomial branch for the whole sum (the derivative of x·coth(x) - |x| at 0, with
    its -sign(x)) cannot fit, while the smooth terms alone, which cancel there, have one."""
    if not isinstance(node, sympy.Add):
        return []
    rough = [a for a in node.args if a.has(*_ROUGH)]
    return rough if 0 < len(rough) < len(node.args) else []


def _worth_examining(node: sympy.Expr) -> bool:
    if isinstance(node, sympy.Piecewise) or node.has(sympy.Piecewise):
        return False  # branches already chosen
    x = next(iter(node.free_symbols))
    try:
        if node.is_polynomial(x):
            return False  # polynomials cancel where factoring helps (rational_form)
    except (TypeError, ValueError):
        return False
    return any(
        (isinstance(n, sympy.Add) or isinstance(n, sympy.Pow) and n.exp.is_negative)
        and n.free_symbols
        for n in sympy.preorder_traversal(node)
    )


def _span(context: Context, x: sympy.Symbol) -> tuple[float, float]:
    samples = context.samples.get(x) if context.samples else None
    if samples is None or len(samples) == 0:
        return -math.inf, math.inf
    return float(np.min(samples)), float(np.max(samples))


def _candidates(sub: sympy.Expr, x: sympy.Symbol) -> list[sympy.Integer]:
    """0 and the integer roots of polynomial denominators and function arguments."""
    points = {sympy.Integer(0)}
    parts = []
    for node in sympy.preorder_traversal(sub):
        if isinstance(node, sympy.Pow) and node.exp.is_negative:
            parts.append(node.base)
        elif isinstance(node, sympy.Function):
            parts.extend(node.args)
            if isinstance(node, sympy.log):
                parts.append(node.args[0] - 1)
    for part in parts:
        try:
            if part.free_symbols != {x} or not part.is_polynomial(x):
                continue
            roots = sympy.Poly(part, x).ground_roots()
        except (sympy.PolynomialError, NotImplementedError, TypeError, ValueError):
            continue
        points.update(r for r in roots if r.is_Integer and abs(r) <= 2**20)
    return sorted(points, key=lambda p: (abs(p), p))


# -- measuring cancellation --------------------------------------------------------------------


class _RootPrinter(NumPyPrinter):
    """NumPy code whose powers p/3 of nonnegative bases take np.cbrt, as the kernels do
    (np.power takes 1/3 rounded: 1.3e-14 off at 2^1023)."""

    def _print_Pow(self, expr, rational=False):
        if expr.exp.is_Rational and expr.exp.q == 3 and expr.base.is_nonnegative:
            root = f"{self._module_format('numpy.cbrt')}({self._print(expr.base)})"
            return root if expr.exp.p == 1 else f"{root}**{expr.exp.p}"
        return super()._print_Pow(expr, rational=rational)


def _root_printer() -> _RootPrinter:
    """A `_RootPrinter` set up as `sympy.lambdify` sets up its own printer."""
    return _RootPrinter(
        {"fully_qualified_modules": False, "inline": True, "allow_unknown_functions": True}
    )


def _lambdify(x: sympy.Symbol, expr, **options) -> Callable:
    """``sympy.lambdify([x], expr, **options)``, the same code.  Where ``x`` is a Dummy
    (the t of a branch in t = 1/x), lambdify renames it by rebuilding the whole formula
    (`xreplace` with a new Dummy, every power and sum constructed again): a third of the
    CPU of building ``kernel(derivative("sqrt(1 + (tanh(x) - cosh(x))**2)", order=2))``.
    The printers write a Dummy as a plain name (``t_123``), so a Symbol of that name
    stands in for it as the argument, and nothing is rebuilt."""
    if isinstance(x, sympy.Dummy):
        name = sympy.Symbol(_root_printer().doprint(x))
        if name.name not in {str(s) for e in flatten([expr]) for s in e.free_symbols}:
            x = name
    return lambdify([x], expr, **options)


class _Probe:
    """A subexpression and the terms of every sum inside it, evaluable in floats and mpmath."""

    def __init__(self, sub: sympy.Expr, x: sympy.Symbol):
        nodes = list(sympy.preorder_traversal(sub))
        self.sums = [list(n.args) for n in nodes if isinstance(n, sympy.Add)]
        # log(u) of a computed u loses what u's rounding is worth next to log(u) itself:
        # κ = 1/|log u| (log(x² + exp(-x²)) near 0: u = 1 + x⁴/2 rounds to 1)
        self.logs = [n for n in nodes if isinstance(n, sympy.log) and not n.args[0].is_Symbol]
        flat = [t for terms in self.sums for t in terms] + self.logs
        self._nodes, self._variable = nodes, x
        self.mp_terms = _lambdify(x, flat, modules=[MPMATH_JUDGE_FUNCTIONS, "mpmath"])
        self.np_terms = _lambdify(x, flat, modules=NUMPY_MODULES, printer=_root_printer())
        self.np_value = _lambdify(x, sub, modules=NUMPY_MODULES, printer=_root_printer())
        self.failures: dict[float, bool] = {}  # `_fails_at`, by point
        self.mp_value = _lambdify(x, sub, modules=[MPMATH_JUDGE_FUNCTIONS, "mpmath"])

    def reachable(self, point: float) -> bool:
        """Whether mpmath can evaluate the formula at ``point`` in reasonable time and
        memory: every argument of a function and every exponent finite in floats
        (exp((x - 1)·exp(-x)) at x = -2^1000 asks mpmath for a number of 2^1000 bits,
        x**x**x**x at 32 for one of 2^(32^32) bits), and every argument of a
        periodic function below 2^50 (sin(cosh(x)) at x = 2^40 needs π to 10^11 digits)."""
        with np.errstate(all="ignore"):
            arguments, periodic = self._np_arguments(np.float64(point))
            arguments = np.abs(np.asarray(arguments, dtype=complex))
            periodic = np.abs(np.asarray(periodic, dtype=complex))
        return bool(np.all(np.isfinite(arguments)) and np.all(periodic < 2.0**50))

    @functools.cached_property
    def _np_arguments(self) -> Callable:
        """x -> (every function's arguments, every periodic function's argument)."""
        functions = [n for n in self._nodes if isinstance(n, sympy.Function)]
        arguments = [a for n in functions for a in n.args]
        arguments += [n.exp for n in self._nodes if isinstance(n, sympy.Pow)]  # x**x**x
        periodic = [n.args[0] for n in functions if isinstance(n, PERIODIC)]
        return _lambdify(self._variable, [arguments, periodic], modules=NUMPY_MODULES)

    def _kappa(self, values: Sequence, absolute: Callable, total: Callable) -> float:
        worst, i = 0.0, 0
        for terms in self.sums:
            chunk = values[i : i + len(terms)]
            i += len(terms)
            size = total([absolute(v) for v in chunk])
            s = absolute(total(chunk))
            if size == 0:
                continue
            worst = max(worst, math.inf if s == 0 else float(size / s))
        for v in values[i:]:  # the logs
            size = absolute(v)
            worst = max(worst, math.inf if size == 0 else float(1 / size))
        return worst

    def kappa_float(self, point: float) -> float:
        with np.errstate(all="ignore"):
            values = [float(np.real(v)) for v in self.np_terms(np.float64(point))]
        if not all(math.isfinite(v) for v in values):
            return math.inf
        return self._kappa(values, abs, math.fsum)

    def kappa(self, point: sympy.Rational | float) -> float | None:
        """κ of the worst sum at ``point``, at `WORK_DIGITS` digits; None where a term has
        no finite real value (outside the formula's domain)."""
        with mpmath.workdps(WORK_DIGITS):
            try:
                values = self.mp_terms(_mp(point))
            except _UNDEFINED:
                return None
            if any(not _real(v) for v in values):
                return None
            return self._kappa([_real_part(v) for v in values], abs, mpmath.fsum)

    def value(self, point) -> mpmath.mpf | None:
        """f(point) at the working precision, None where it is not a finite real number."""
        try:
            v = self.mp_value(_mp(point))
        except _UNDEFINED:
            return None
        return _real_part(v) if _real(v) else None


class _Mapped:
    """The probe of f(x(t)) for a branch in t: values of the formula in t (``inverted``),
    cancellation of the formula in x (``original``: what the kernel evaluates outside the
    branch) at x(t).  SymPy may rewrite the formula in t on the way (expm1(-log t)
    becomes 1/t - 1), so its own sums say little about the kernel's."""

    def __init__(self, inverted: _Probe, original: _Probe, x_of: Callable):
        self._inverted, self._original, self._x_of = inverted, original, x_of

    def value(self, point) -> mpmath.mpf | None:
        return self._inverted.value(point)

    def kappa(self, point) -> float | None:
        with mpmath.workdps(WORK_DIGITS):
            t = _mp(point)
            return None if t == 0 else self._original.kappa(self._x_of(t))


def _mp(point):
    if isinstance(point, sympy.Basic):
        return mpmath.mpf(sympy.Rational(point).p) / sympy.Rational(point).q
    return mpmath.mpf(point)


#: Functions whose mpmath value at an argument a needs π to as many digits as a has.
#: Functions whose arguments mpmath reduces by π: costly beyond 2^50 (`_Probe.reachable`).
PERIODIC = (sympy.sin, sympy.cos, sympy.tan, sympy.cot, sympy.sec, sympy.csc)

#: What mpmath raises where a formula has no real value (hypot of a complex: AttributeError).
_UNDEFINED = (ZeroDivisionError, ValueError, OverflowError, TypeError, AttributeError)


def _real_part(v) -> mpmath.mpf:
    """``v`` as an mpmath real (mpmath gives ``mpc(x, 0)`` for some real values)."""
    return v.real if isinstance(v, mpmath.mpc) else mpmath.mpf(v)


def _real(v) -> bool:
    if isinstance(v, mpmath.mpc):
        if v.imag != 0:
            return False
        v = v.real
    return bool(mpmath.isfinite(v))


def _exact(value: float) -> sympy.Float:
    """A grid radius (a power of two times an integer) as an exact SymPy number."""
    return sympy.Float(value, 20)


# -- a branch -----------------------------------------------------------------------------------


def _branches_at_a_point(
    sub: sympy.Expr, x: sympy.Symbol, span: tuple[float, float]
) -> list[SeriesBranch]:
    """The polynomial branch at each candidate point where ``sub`` cancels; or, where no
    polynomial holds across the point (a kink: sign(x), |x|), one on each side of it.  A
    point inside a branch found before is left to that branch."""
    try:
        probe = _Probe(sub, x)
    except (TypeError, ValueError, NameError, KeyError):
        return []
    found: list[SeriesBranch] = []
    for x0 in _candidates(sub, x):
        if not span[0] - 1e-9 <= float(x0) <= span[1] + 1e-9:
            continue
        if any(b.low <= float(x0 - b.point) <= b.high for b in found):
            continue
        scale = max(1.0, abs(float(x0)))
        if not _suspect(probe, float(x0), scale):
            continue
        found += _branches_at(sub, x, x0, scale, probe, span)
    return found


def _branches_at(sub, x, x0, scale, probe, span) -> list[SeriesBranch]:
    """The branch at x0 across it, or one on each side of a kink there, or none."""
    found = _build(sub, x, x0, scale, probe, span)
    if found is not None:
        return [dataclasses.replace(found, closed=_keeps_the_point(found, probe, x0))]
    sides = _sides(probe, x0, scale, span)
    if len(sides) == 2 and _may_kink(sub):
        halves = [_build(sub, x, x0, scale, probe, span, sides=(s,)) for s in sides]
        if all(halves):  # the point with the right half where the two meet there
            left, right = (float(h.polynomial.subs(x, x0)) for h in halves)
            meet = abs(left - right) <= 1e-15 * abs(right)
            meet = meet and _keeps_the_point(halves[-1], probe, x0)
            return [dataclasses.replace(h, closed=meet and h is halves[-1]) for h in halves]
    return []


def _may_kink(sub: sympy.Expr) -> bool:
    """Whether ``sub`` may have a kink or a jump: |x|, sign, a step, max; or a root, which
    is one where its radicand has a double zero (√(x² + log(erfc x)²)″ jumps at 0)."""
    if sub.has(sympy.Abs, sympy.sign, sympy.Heaviside, sympy.Max):
        return True
    return any(
        isinstance(n, sympy.Pow) and n.exp.is_Rational and not n.exp.is_integer
        for n in sympy.preorder_traversal(sub)
    )


def _keeps_the_point(branch: SeriesBranch, probe: _Probe, x0: sympy.Expr) -> bool:
    """Whether the branch may take the point itself: the formula has no value there (0/0
    of sin(x)/x), or the one the polynomial gives.  sign(x - 1)² is 1 on both sides of 1
    and 0 at 1 (as exp(-|x - 1|)'' is by the kink convention): its branch must leave 1 to
    the formula."""
    try:
        with mpmath.workdps(50):
            own = probe.mp_value(mpmath.mpf(float(x0)))
    except _UNDEFINED:
        return True
    if not _real(own):
        return True
    at = float(branch.polynomial.subs(branch.variable, x0))
    return abs(float(_real_part(own)) - at) <= 1e-15 * abs(at)


def _suspect(probe: _Probe, x0: float, scale: float) -> bool:
    """A quick look in floating point: large κ next to x0, or no finite value at x0."""
    with np.errstate(all="ignore"):
        value = np.asarray(probe.np_value(np.float64(x0)), dtype=complex)
    if not np.isfinite(value).all() or value.imag.any():
        return True
    near = [probe.kappa_float(x0 + s * scale * h) for s in (-1, 1) for h in (1e-8, 1e-4)]
    finite = [k for k in near if math.isfinite(k)]
    if finite and max(finite) > KAPPA:
        return True
    return x0 == 0 and any(_fails_at(probe, s * 2.0**-k) for s in (-1, 1) for k in _TINY_EXPONENTS)


#: Where a formula is checked next to 0: x = ±2^-k.  A factor x² is subnormal from 2^-511
#: on (log1p(x²)/x² at x = 1e-160 lost 5 digits), x⁴ from 2^-255.
_TINY_EXPONENTS = (40, 100, 200, 300, 400, 600, 800, 1000)


def _kappas(probe: _Probe, x0, scale: float, side: int) -> list[tuple[float, float | None]]:
    """κ on one side of x0 at the grid radii, from R_MAX·scale down to 2^-40·scale."""
    grid = [scale * 2.0**-k for k in range(0, 41)]
    with mpmath.workdps(WORK_DIGITS):
        return [(h, probe.kappa(_mp(x0) + side * mpmath.mpf(h))) for h in grid]


def _radius(
    kappas: Sequence[tuple[float, float | None]], scale: float, limit: float = KAPPA
) -> tuple[float, float] | None:
    """The smallest grid radius h, going outward, with κ <= ``limit`` at h and at the two
    next larger grid points (fewer at the top of the grid, none where the formula has no
    value: a singularity farther out), and the largest κ at those points."""
    for i in range(len(kappas) - 1, -1, -1):  # from the smallest h outward
        h, kappa = kappas[i]
        if h < R_MIN * scale or kappa is None:
            continue
        window = [k for _, k in kappas[max(0, i - 2) : i + 1] if k is not None]
        if all(k <= limit for k in window):
            return h, max(window)
    return None


def _order(probe: _Probe, x0, scale: float, sides: Sequence[int]) -> int | None:
    """m with f(x0 + h) ≈ c·h^m: from f at h and 2h, h tiny (None: a pole or no value)."""
    s = sides[-1]
    with mpmath.workdps(WORK_DIGITS):
        h = mpmath.mpf(scale) * mpmath.mpf(2) ** -60
        a, b = probe.value(_mp(x0) + s * h), probe.value(_mp(x0) + 2 * s * h)
        if a is None or b is None or a == 0 or b == 0:
            return None
        m = mpmath.log(abs(b / a), 2)
    order = int(mpmath.nint(m))
    if abs(m - order) > 1e-6 or order < 0 or order > 8:
        return None
    return order


def _sides(probe: _Probe, x0, scale: float, span: tuple[float, float]) -> tuple[int, ...]:
    """The sides of x0 on which the formula has real values (and that lie in the span)."""
    sides = []
    with mpmath.workdps(WORK_DIGITS):
        for s in (-1, 1):
            inside = span[0] <= float(x0) + s * 1e-3 * scale <= span[1]
            points = [_mp(x0) + s * mpmath.mpf(scale) * mpmath.mpf(2) ** -k for k in (2, 20, 50)]
            if inside and all(probe.value(p) is not None for p in points):
                sides.append(s)
    return tuple(sides)


def _build(
    sub, x, x0, scale, probe, span, reach: float = 0.0, sides: tuple[int, ...] = ()
) -> SeriesBranch | None:
    """The branch at x0: out to where κ stays below `KAPPA`, or, where no polynomial of
    that reach is found (κ stays up to the grid's top, or the reach takes in a zero of
    the function), below `KAPPA_WIDE`; at least out to ``reach`` on each side (on the
    ``sides`` given, or each where the formula has real values)."""
    sides = sides or _sides(probe, x0, scale, span)
    if not sides:
        return None
    order = _order(probe, x0, scale, sides)
    if order is None:
        return None
    kappas = {side: _kappas(probe, x0, scale, side) for side in sides}
    tried = set()
    for limit in (KAPPA, KAPPA_WIDE):
        radii = {side: _radius(kappas[side], scale, limit) for side in sides}
        if any(r is None for r in radii.values()):
            continue
        lo = -max(radii[-1][0], reach) if -1 in sides else 0.0
        hi = max(radii[1][0], reach) if 1 in sides else 0.0
        if (lo, hi) in tried:
            continue
        tried.add((lo, hi))
        kappa = max(r[1] for r in radii.values())
        branch = _fit(sub, x, x0, probe, order, lo, hi, kappa)
        if branch is not None:
            return branch
    return None


def _fit(sub, x, x0, probe, order, lo, hi, kappa) -> SeriesBranch | None:
    """h^order·Q(h) on [lo, hi] within `TRUNCATION` of ``sub``, Q of the lowest odd degree
    (or within `ROUNDED_TRUNCATION`, where rounded coefficients cannot get closer)."""

    def branch(coefficients: list[float], error: float) -> SeriesBranch:
        h = x - x0
        polynomial = h**order * _horner(coefficients, h)
        return SeriesBranch(
            sub, x, x0, lo, hi, order, len(coefficients) - 1, polynomial, error, kappa
        )

    previous, floor = math.inf, None
    for degree in range(3, MAX_DEGREE + 1, 2):  # an even number of nodes: none at h = 0
        coefficients = _interpolate(probe, x0, order, lo, hi, degree)
        if coefficients is None:
            return None
        quick = _verify(probe, x0, order, coefficients, lo, hi, quick=True)
        if quick is None:  # rounding amplified
            return None
        if quick > TRUNCATION:
            if floor is None and quick <= ROUNDED_TRUNCATION:
                floor = coefficients
            if quick > 0.5 * previous:  # no convergence (or the floor of rounding)
                break
            previous = quick
            continue
        error = _verify(probe, x0, order, coefficients, lo, hi)
        if error is not None and error <= TRUNCATION:
            return branch(coefficients, error)
    if floor is not None:
        error = _verify(probe, x0, order, floor, lo, hi)
        if error is not None and error <= ROUNDED_TRUNCATION:
            return branch(floor, error)
    return None


def _interpolate(probe, x0, order, lo, hi, degree) -> list[float] | None:
    """Monomial coefficients (in h) of the interpolant of f(x0 + h)/h^order at Chebyshev
    nodes of [lo, hi], computed at WORK_DIGITS and rounded to doubles."""
    with mpmath.workdps(WORK_DIGITS):
        mid, half = (mpmath.mpf(lo) + hi) / 2, (mpmath.mpf(hi) - lo) / 2
        n = degree + 1
        nodes = [mid + half * mpmath.cos(mpmath.pi * (j + mpmath.mpf(1) / 2) / n) for j in range(n)]
        rows, rhs = [], []
        for h in nodes:
            if abs(h) < mpmath.mpf(2) ** -60 * half:  # f/h^m has no value at h = 0 itself
                return None
            value = probe.value(_mp(x0) + h)
            if value is None:
                return None
            rows.append([h**k for k in range(n)])
            rhs.append(value / h**order)
        try:
            solution = mpmath.lu_solve(mpmath.matrix(rows), mpmath.matrix(rhs))
        except ZeroDivisionError:
            return None
        coefficients = [float(solution[i]) for i in range(n)]
    scale = max(abs(c) * max(abs(lo), abs(hi)) ** k for k, c in enumerate(coefficients))
    return [
        c if abs(c) * max(abs(lo), abs(hi)) ** k > 1e-30 * scale else 0.0
        for k, c in enumerate(coefficients)
    ]


def _verify(probe, x0, order, coefficients, lo, hi, quick=False):
    """Largest relative error of h^order·Q(h) against f at 50 digits on points of [lo, hi];
    None if Horner's rule would amplify rounding (Σ|cₖhᵏ| > 8|Q(h)|) somewhere.

    ``quick``: only the ends and the middle of each side.
    """
    width = max(abs(lo), abs(hi))
    if quick:
        points = [lo, hi, lo / 2, hi / 2, lo * 0.9, hi * 0.9]
    else:
        points = [lo + (hi - lo) * k / 64 for k in range(65)]
        points += [s * width * 2.0**-k for s in (-1, 1) for k in range(1, 41)]
    points = [h for h in points if h != 0 and lo <= h <= hi]
    worst = 0.0
    with mpmath.workdps(WORK_DIGITS):
        cs = [mpmath.mpf(c) for c in coefficients]
        for h in points:
            hm = mpmath.mpf(h)
            truth = probe.value(_mp(x0) + hm)
            if truth is None:
                return None
            q = mpmath.polyval(cs[::-1], hm)
            size = mpmath.fsum(abs(c * hm**k) for k, c in enumerate(cs))
            if size > 8 * abs(q):
                return None
            got = q * hm**order
            with mpmath.workdps(50):
                if truth == 0:
                    if got != 0:
                        return None
                    continue
                worst = max(worst, float(abs((got - truth) / truth)))
    return worst


def _horner(coefficients: Sequence[float], h: sympy.Expr) -> sympy.Expr:
    """c0 + h·(c1 + h·(...)), in powers of h² when only even or only odd powers are present."""
    nonzero = [k for k, c in enumerate(coefficients) if c != 0.0]
    if not nonzero:
        return sympy.S.Zero
    parity = {k % 2 for k in nonzero}
    if len(parity) == 1:
        odd = parity.pop()
        even_part = [coefficients[k] for k in range(odd, len(coefficients), 2)]
        inner = _horner_in(even_part, h**2)
        return h * inner if odd else inner
    return _horner_in(list(coefficients), h)


def _horner_in(coefficients: Sequence[float], z: sympy.Expr) -> sympy.Expr:
    out = sympy.Float(coefficients[-1], 17)
    for c in reversed(coefficients[:-1]):
        out = sympy.Float(c, 17) + z * out if c != 0.0 else z * out
    return out
