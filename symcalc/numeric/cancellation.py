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

Each `SeriesBranch` records the point, radius, degree and the measured errors.

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
import math
from collections.abc import Callable, Sequence

import mpmath
import numpy as np
import sympy

from .rewrites import MPMATH_FUNCTIONS, NUMPY_MODULES, Context

__all__ = ["KAPPA", "TRUNCATION", "FarBranch", "SeriesBranch", "series_branches"]

#: The largest cancellation factor left to floating point outside a branch.
KAPPA = 30.0
#: The largest relative error (measured at 50 digits) a polynomial branch may have.
TRUNCATION = 1e-16
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

    def condition(self) -> sympy.Basic:
        """Where the polynomial is used."""
        h = self.variable - self.point
        if self.low == -self.high:
            return sympy.Abs(h) < _exact(self.high)
        lower = h > _exact(self.low) if self.low < 0 else h >= 0
        upper = h < _exact(self.high) if self.high > 0 else h <= 0
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
    """A rational function ``expr`` evaluated in powers of 1/``variable`` for |variable| > 1."""

    expr: sympy.Expr
    variable: sympy.Symbol
    reversed: sympy.Expr

    def to_text(self) -> str:
        return f"far branch: |{self.variable}| > 1 as {sympy.sstr(self.reversed)}"

    def __repr__(self) -> str:
        return f"<FarBranch {self.to_text()}>"


def series_branches(
    expr: sympy.Expr, context: Context | None = None
) -> tuple[sympy.Expr, tuple[SeriesBranch | FarBranch, ...]]:
    """``expr`` with a polynomial branch wherever a subexpression cancels near a point.

    ``context.samples`` (probe values by symbol) limits candidate points to the closure
    of each variable's range; without samples every candidate is tried.
    """
    context = context or Context()
    expr, far = _far_branches(expr, context)
    mapping: dict[sympy.Basic, sympy.Basic] = {}
    branches: list[SeriesBranch | FarBranch] = list(far)
    for sub, x in _univariate_parts(expr):
        if sub in mapping:
            continue
        branch = _branch(sub, x, _span(context, x))
        if branch is not None:
            branches.append(branch)
            mapping[sub] = sympy.Piecewise((branch.polynomial, branch.condition()), (sub, True))
    return (expr.xreplace(mapping) if mapping else expr), tuple(branches)


# -- rational functions at infinity -------------------------------------------------------------


def _far_branches(expr: sympy.Expr, context: Context) -> tuple[sympy.Expr, list[FarBranch]]:
    """Rational functions of one unbounded variable, of degree 2 or more and not
    polynomials, with a branch in powers of 1/x for |x| > 1."""
    mapping: dict[sympy.Basic, sympy.Basic] = {}
    found: list[FarBranch] = []
    stack = [expr]
    while stack:
        node = stack.pop()
        reversed_form = _reversed(node, context)
        if reversed_form is not None:
            x = next(iter(node.free_symbols))
            found.append(FarBranch(node, x, reversed_form))
            mapping[node] = sympy.Piecewise((node, sympy.Abs(x) <= 1), (reversed_form, True))
            continue
        stack.extend(a for a in node.args if a.free_symbols)
    return (expr.xreplace(mapping) if mapping else expr), found


def _reversed(node: sympy.Basic, context: Context) -> sympy.Expr | None:
    if not isinstance(node, (sympy.Mul, sympy.Pow, sympy.Add)) or len(node.free_symbols) != 1:
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
        stack.extend(a for a in node.args if a.free_symbols)
    return out


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


class _Probe:
    """A subexpression and the terms of every sum inside it, evaluable in floats and mpmath."""

    def __init__(self, sub: sympy.Expr, x: sympy.Symbol):
        self.sums = [
            list(n.args) for n in sympy.preorder_traversal(sub) if isinstance(n, sympy.Add)
        ]
        flat = [t for terms in self.sums for t in terms]
        self.mp_terms = sympy.lambdify([x], flat, modules=[MPMATH_FUNCTIONS, "mpmath"])
        self.np_terms = sympy.lambdify([x], flat, modules=NUMPY_MODULES)
        self.np_value = sympy.lambdify([x], sub, modules=NUMPY_MODULES)
        self.mp_value = sympy.lambdify([x], sub, modules=[MPMATH_FUNCTIONS, "mpmath"])

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


def _mp(point):
    if isinstance(point, sympy.Basic):
        return mpmath.mpf(sympy.Rational(point).p) / sympy.Rational(point).q
    return mpmath.mpf(point)


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


def _branch(sub: sympy.Expr, x: sympy.Symbol, span: tuple[float, float]) -> SeriesBranch | None:
    try:
        probe = _Probe(sub, x)
    except (TypeError, ValueError, NameError, KeyError):
        return None
    for x0 in _candidates(sub, x):
        if not span[0] - 1e-9 <= float(x0) <= span[1] + 1e-9:
            continue
        scale = max(1.0, abs(float(x0)))
        if not _suspect(probe, float(x0), scale):
            continue
        found = _build(sub, x, x0, scale, probe, span)
        if found is not None:
            return found
    return None


def _suspect(probe: _Probe, x0: float, scale: float) -> bool:
    """A quick look in floating point: large κ next to x0, or no finite value at x0."""
    with np.errstate(all="ignore"):
        value = np.asarray(probe.np_value(np.float64(x0)), dtype=complex)
    if not np.isfinite(value).all() or value.imag.any():
        return True
    near = [probe.kappa_float(x0 + s * scale * h) for s in (-1, 1) for h in (1e-8, 1e-4)]
    finite = [k for k in near if math.isfinite(k)]
    return bool(finite) and max(finite) > KAPPA


def _radius(probe: _Probe, x0, scale: float, side: int) -> tuple[float, float] | None:
    """On one side of x0: the smallest grid radius h, going outward, with κ <= KAPPA at h
    and at the two next larger grid points (fewer at the top of the grid, none where the
    formula has no value: a singularity farther out), and the largest κ at those points."""
    grid = [scale * 2.0**-k for k in range(0, 41)]  # from R_MAX·scale down to 2^-40
    with mpmath.workdps(WORK_DIGITS):
        kappas = [probe.kappa(_mp(x0) + side * mpmath.mpf(h)) for h in grid]
    for i in range(len(grid) - 1, -1, -1):  # from the smallest h outward
        if grid[i] < R_MIN * scale:
            continue
        if kappas[i] is None:
            continue
        window = [k for k in kappas[max(0, i - 2) : i + 1] if k is not None]
        if all(k <= KAPPA for k in window):
            return grid[i], max(window)
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


def _build(sub, x, x0, scale, probe, span) -> SeriesBranch | None:
    sides = _sides(probe, x0, scale, span)
    radii = {side: _radius(probe, x0, scale, side) for side in sides}
    if not sides or any(r is None for r in radii.values()):
        return None
    order = _order(probe, x0, scale, sides)
    if order is None:
        return None
    lo = -radii[-1][0] if -1 in sides else 0.0
    hi = radii[1][0] if 1 in sides else 0.0
    kappa = max(r[1] for r in radii.values())
    previous = math.inf
    for degree in range(3, MAX_DEGREE + 1, 2):  # an even number of nodes: none at h = 0
        coefficients = _interpolate(probe, x0, order, lo, hi, degree)
        if coefficients is None:
            return None
        quick = _verify(probe, x0, order, coefficients, lo, hi, quick=True)
        if quick is None or quick > 0.5 * previous:  # rounding amplified, or no convergence
            return None
        previous = quick
        if quick > TRUNCATION:
            continue
        error = _verify(probe, x0, order, coefficients, lo, hi)
        if error is not None and error <= TRUNCATION:
            h = x - x0
            polynomial = h**order * _horner(coefficients, h)
            return SeriesBranch(
                sub, x, x0, lo, hi, order, len(coefficients) - 1, polynomial, error, kappa
            )
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
