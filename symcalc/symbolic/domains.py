"""Where a function of one real variable is defined, and where a formula may jump.

An antiderivative is only checked where its integrand is real and finite, and only
holds with one constant on each interval of that set.  This module finds the set
(`real_domain`), cuts it into intervals inside a window (`domain_intervals`), draws
sample points in them, evaluates expressions there with many digits (`evaluator`),
and lists the points where a formula may be discontinuous (`jump_candidates`:
branch switches of ``Piecewise``, ``Abs``, ``sign``, integer crossings of ``floor``).

Examples
--------
>>> from symcalc.symbolic.functions import symbol
>>> x = symbol("x")
>>> real_domain(1 / x, x)
Union(Interval.open(-oo, 0), Interval.open(0, oo))
>>> [(float(i.inf), float(i.sup)) for i in domain_intervals(real_domain(sympy.log(x), x))]
[(0.0, 30.0)]
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence

import mpmath
import sympy

from ..errors import SymcalcError
from .functions import expand_named

__all__ = [
    "WINDOW",
    "mp_point",
    "Sampled",
    "compiled_for_mpmath",
    "domain_intervals",
    "evaluator",
    "jump_candidates",
    "linear_root",
    "real_domain",
    "real_domain_within",
    "entry_nan_outside_domain",
    "nan_outside_domain",
    "nowhere_real_error",
    "sample",
]

#: The part of the real line that checks look at: points and intervals inside it.
WINDOW = 30.0

#: Functions whose value is defined wherever their argument is; the domain computation
#: replaces each by its argument (SymPy's continuous_domain does not know them).
_TRANSPARENT = (
    sympy.sign,
    sympy.Heaviside,
    sympy.floor,
    sympy.ceiling,
    sympy.frac,
)
#: Integer-valued steps: a formula holding one jumps where its argument is an integer.
_STEPS = (sympy.floor, sympy.ceiling, sympy.frac)


def real_domain(f: sympy.Expr, x: sympy.Symbol) -> sympy.Set | None:
    """The real x where ``f`` is real and continuous, as SymPy finds it; None when unknown.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> real_domain(sympy.sqrt(16 * x**2 - 9) / x, x)
    Union(Interval(-oo, -3/4), Interval(3/4, oo))
    >>> real_domain(sympy.Piecewise((1 / x, x < 1), (1, True)), x)
    Union(Interval.open(-oo, 0), Interval.open(0, oo))
    """
    try:
        g = expand_named(f)
        known = _plain_domain(g, x)
        if known is not None:
            return known
        if _nowhere_real(g, x):
            return sympy.S.EmptySet
        return _domain(g, x)
    except (NotImplementedError, ValueError, TypeError, AttributeError, RecursionError):
        return None


def real_domain_within(f: sympy.Expr, x: sympy.Symbol, timeout: float | None) -> sympy.Set | None:
    """`real_domain` under the time budget (`symcalc.symbolic.budget`); None when SymPy
    finds no answer or the budget runs out.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> real_domain_within(sympy.sqrt(x), x, timeout=5)
    Interval(0, oo)
    """
    from ..errors import TimeBudgetExceeded
    from . import budget

    expr = expand_named(f)
    plain = _plain_domain(expr, x)
    if plain is not None:  # read off the formula: no child process
        return plain
    try:
        return budget.within(timeout, real_domain, expr, x, what="the real domain")
    except TimeBudgetExceeded:
        return None


def refuse_nowhere_real(
    f: sympy.Expr, x: sympy.Symbol, consequence: str = "", *, quick: bool = False
) -> None:
    """Raise `SymcalcError` where ``f`` is real at no real ``x`` (its real domain is
    empty, as SymPy proves under the default budget); return quietly otherwise, also where
    the domain is unknown.  ``consequence`` is said after the fact ("so it has no real
    antiderivative").  ``quick`` asks SymPy's bounds only (no sets solved, no child
    process): log(Min(-1/3, sin x)), whose argument is at most -1/3.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> refuse_nowhere_real(sympy.sqrt(x), x)  # real on [0, oo): nothing to say
    >>> refuse_nowhere_real(sympy.sqrt(-x**2 - 4), x)
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: sqrt(-x**2 - 4) is not real for any real x; symcalc works ...
    """
    from .budget import default_seconds

    if quick:
        try:
            empty = _nowhere_real(expand_named(f), x)
        except (NotImplementedError, ValueError, TypeError, AttributeError, RecursionError):
            empty = False
    else:
        empty = real_domain_within(f, x, default_seconds()) is sympy.S.EmptySet
    if empty:
        raise nowhere_real_error(f, x, consequence)


def nowhere_real_error(f: sympy.Expr, x: sympy.Symbol, consequence: str = "") -> SymcalcError:
    """The one-line refusal of an ``f`` real at no real ``x`` (`refuse_nowhere_real`'s).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> str(nowhere_real_error(sympy.log(-(x**2) - 1), x, "so it has no derivative"))[:52]
    'log(-x**2 - 1) is not real for any real x, so it has'
    """
    then = f", {consequence}" if consequence else ""
    return SymcalcError(
        f"{sympy.sstr(f)} is not real for any real {x}{then}; symcalc works with real "
        "functions of real variables"
    )


#: Functions real and continuous for every real argument.
_EVERYWHERE = (
    sympy.exp,
    sympy.sin,
    sympy.cos,
    sympy.atan,
    sympy.sinh,
    sympy.cosh,
    sympy.tanh,
    sympy.asinh,
    sympy.erf,
    sympy.erfc,
    sympy.Abs,
)
#: Function -> where it is real and continuous, as a function of the variable itself.
_OF_THE_VARIABLE = {
    sympy.log: sympy.Interval.open(0, sympy.oo),
    sympy.asin: sympy.Interval(-1, 1),
    sympy.acos: sympy.Interval(-1, 1),
    sympy.acosh: sympy.Interval(1, sympy.oo),
    sympy.atanh: sympy.Interval.open(-1, 1),
}
_NOT_ZERO = sympy.Union(sympy.Interval.open(-sympy.oo, 0), sympy.Interval.open(0, sympy.oo))


def _plain_domain(f: sympy.Expr, x: sympy.Symbol) -> sympy.Set | None:
    """The domain of the commonest formulas, read off their structure (what SymPy's
    `continuous_domain` finds, without solving inequalities: `integrate 'x*log(x)'`
    starts faster); None where it takes more than that."""
    if x not in f.free_symbols:
        return sympy.S.Reals if f.is_extended_real and f.is_finite else None
    if f == x:
        return sympy.S.Reals
    if isinstance(f, (sympy.Add, sympy.Mul)):
        parts = [_plain_domain(a, x) for a in f.args]
        if any(p is None for p in parts):
            return None
        return sympy.Intersection(*parts)
    if isinstance(f, sympy.Pow) and f.exp.is_Rational:
        if f.exp.is_Integer and f.exp > 0:
            return _plain_domain(f.base, x)
        if f.base != x:
            return None
        if f.exp.is_Integer:
            return _NOT_ZERO
        # a root, even or odd: SymPy's x**(1/3) is the principal root, not real for x < 0
        return sympy.Interval(0, sympy.oo) if f.exp > 0 else sympy.Interval.open(0, sympy.oo)
    if isinstance(f, _EVERYWHERE):
        return _plain_domain(f.args[0], x)
    if type(f) in _OF_THE_VARIABLE and f.args[0] == x:
        return _OF_THE_VARIABLE[type(f)]
    return None


def _domain(f: sympy.Expr, x: sympy.Symbol) -> sympy.Set:
    from sympy.calculus.util import continuous_domain

    if x not in f.free_symbols:
        return _constant_domain(f)
    if isinstance(f, sympy.Piecewise):
        total = sympy.S.EmptySet
        for expr, where in f.as_expr_set_pairs():
            total = sympy.Union(total, sympy.Intersection(_domain(expr, x), where))
        # a condition is decided only where its sides are real: elu(log(199x + 2)) has the
        # branch 199x + 1 where log(199x + 2) > 0 is false, which is not for x < -2/199
        for _, condition in f.args:
            for relation in condition.atoms(sympy.core.relational.Relational):
                total = sympy.Intersection(total, _domain(relation.lhs - relation.rhs, x))
        return total
    if f.has(sympy.Piecewise):
        return _domain(sympy.piecewise_fold(f), x)
    if f.has(sympy.Max, sympy.Min):
        f = _max_min_for_domain(f, x, restricted=False)
        if f.has(sympy.Piecewise):
            return _domain(sympy.piecewise_fold(f), x)
    if f.has(*_TRANSPARENT):
        f = f.replace(lambda e: isinstance(e, _TRANSPARENT), lambda e: e.args[0])
    # SymPy's continuous_domain reads u**(1/3) as the real cube root (all of R), but the
    # expression means the principal root, which is not real where u < 0: ask for u >= 0
    roots = [
        sympy.sqrt(p.base) if p.exp > 0 else 1 / sympy.sqrt(p.base)
        for p in f.atoms(sympy.Pow)
        if p.exp.is_Rational and not p.exp.is_Integer and p.exp.q % 2 == 1 and p.base.has(x)
    ]
    f, special = _without_special(f, x)
    domain = continuous_domain(f, x, sympy.S.Reals)
    domain = sympy.Intersection(domain, special)
    for root in roots:
        domain = sympy.Intersection(domain, continuous_domain(root, x, sympy.S.Reals))
    return domain


def _constant_domain(c: sympy.Expr) -> sympy.Set:
    """Where a part without the variable is real: everywhere, or nowhere (a branch of
    log(Min(-1/3, sin x)) is log(-1/3)).  A part with other symbols counts as real."""
    if c.free_symbols:
        return sympy.S.Reals
    if c.is_extended_real is False or c.is_finite is False:
        return sympy.S.EmptySet
    if c.is_extended_real and c.is_finite:
        return sympy.S.Reals
    value = complex(sympy.N(c, 30))  # TypeError where it has no value: unknown
    real = math.isfinite(abs(value)) and abs(value.imag) <= 1e-20 * abs(value.real)
    return sympy.S.Reals if real else sympy.S.EmptySet


def _max_min_for_domain(f: sympy.Expr, x: sympy.Symbol, restricted: bool) -> sympy.Expr:
    """``f`` for the domain computation: a max/min whose value only joins sums, products,
    whole powers and functions real everywhere is real where its arguments are, and
    becomes their sum (one continuous formula with their domains); one whose value a
    log, a root, a quotient or an inverse function reads (``restricted``) becomes its
    Piecewise, whose branches and conditions decide where it is real: log(Max(1, x)) is
    real everywhere, log(Min(-1/3, sin x)) nowhere (their sums would give x > -1 and
    sin x > 1/3)."""
    if not f.has(sympy.Max, sympy.Min):
        return f
    if restricted:
        return f.replace(
            lambda e: isinstance(e, (sympy.Max, sympy.Min)),
            lambda e: e.rewrite(sympy.Piecewise),
        )
    if isinstance(f, (sympy.Max, sympy.Min)):
        return sympy.Add(*(_max_min_for_domain(a, x, False) for a in f.args))
    if isinstance(f, sympy.Pow):
        whole = f.exp.is_Integer and f.exp > 0
        return sympy.Pow(
            _max_min_for_domain(f.base, x, not whole), _max_min_for_domain(f.exp, x, True)
        )
    free = isinstance(f, (sympy.Add, sympy.Mul, *_EVERYWHERE, *_TRANSPARENT))
    return f.func(*(_max_min_for_domain(a, x, not free) for a in f.args))


def _nowhere_real(f: sympy.Expr, x: sympy.Symbol) -> bool:
    """Whether SymPy's bounds prove a part of ``f`` not real at any real x, where that
    part's value always reaches f's (no branch or comparison above it can avoid it):
    log(Min(-1/3, sin x)), whose argument is at most -1/3, and sqrt(Max(-2, -x² - 1)).
    Conditions SymPy solves only periodically (sin x ≥ -1/3) leave the set unknown, so
    the bounds decide there."""

    def never(part: sympy.Basic) -> bool:
        if isinstance(part, sympy.log):
            return part.args[0].is_nonpositive is True
        if isinstance(part, sympy.Pow) and part.exp.is_number and part.exp.is_integer is False:
            base = part.base
            return (base.is_nonpositive if part.exp.is_negative else base.is_negative) is True
        if isinstance(part, (sympy.asin, sympy.acos)):
            u = part.args[0]
            return (u - 1).is_positive is True or (u + 1).is_negative is True
        if isinstance(part, sympy.acosh):
            return (part.args[0] - 1).is_negative is True
        if isinstance(part, sympy.atanh):
            u = part.args[0]
            return (u - 1).is_nonnegative is True or (u + 1).is_nonpositive is True
        return False

    def reached(e: sympy.Basic) -> Iterator[sympy.Basic]:
        if not e.has(x):
            return
        yield e
        if isinstance(e, _CHOOSING):
            return
        for a in e.args:
            yield from reached(a)

    return any(never(part) for part in reached(f))


def _without_special(f: sympy.Expr, x: sympy.Symbol) -> tuple[sympy.Expr, sympy.Set]:
    """f with its special functions (`symcalc.symbolic.special`) set to 1, and where they
    are real and continuous (SymPy's `continuous_domain` knows none of them).

    Only a special function reached through sums, products and whole positive powers is
    set aside (its value then decides nothing about where f is defined); one inside a
    log, a root, a denominator or another function raises NotImplementedError: unknown.
    """
    from sympy.calculus.util import continuous_domain

    from .special import BY_CLASS

    found: list[sympy.Expr] = []

    def visit(e: sympy.Expr, safe: bool) -> None:
        if type(e) in BY_CLASS and e.has(x):
            if not safe:
                raise NotImplementedError(f"the real domain of {sympy.sstr(e)} is not known")
            found.append(e)
            for a in e.args:
                visit(a, False)
            return
        for a in e.args:
            whole = isinstance(e, sympy.Pow) and e.exp.is_Integer and e.exp > 0
            visit(a, safe and (isinstance(e, (sympy.Add, sympy.Mul)) or (whole and a is e.base)))

    visit(f, True)
    domain = sympy.S.Reals
    for e in found:
        entry = BY_CLASS[type(e)]
        if entry.real is None:
            raise NotImplementedError(f"the real domain of {entry.name} is not known")
        witnesses = entry.real(*e.args)
        where = (
            sympy.Union(
                *(
                    w if isinstance(w, sympy.Set) else continuous_domain(w, x, sympy.S.Reals)
                    for w in witnesses
                )
            )
            if witnesses
            else sympy.S.EmptySet
        )
        domain = sympy.Intersection(domain, where)
    return f.xreplace({e: sympy.S.One for e in found}), domain


def _numbers(points: sympy.Set, low: float, high: float, limit: int = 200) -> list[float]:
    """The elements of a (finite or integer-indexed) set inside [low, high]."""
    if isinstance(points, sympy.FiniteSet):
        out = []
        for p in points:
            try:
                value = float(p)
            except TypeError:
                continue
            if low <= value <= high:
                out.append(value)
        return out
    if isinstance(points, sympy.Union):
        return [v for part in points.args for v in _numbers(part, low, high, limit)]
    if isinstance(points, sympy.ImageSet) and len(points.lamda.variables) == 1:
        (n,) = points.lamda.variables
        value = points.lamda.expr
        if points.base_sets[0] != sympy.S.Integers or not value.is_polynomial(n):
            raise NotImplementedError
        step = float(sympy.diff(value, n))
        if step == 0 or sympy.degree(value, n) != 1:
            raise NotImplementedError
        start = float(value.subs(n, 0))
        first = math.ceil((low - start) / step) if step > 0 else math.ceil((high - start) / step)
        last = math.floor((high - start) / step) if step > 0 else math.floor((low - start) / step)
        if last - first > limit:
            raise NotImplementedError
        return [start + k * step for k in range(first, last + 1)]
    raise NotImplementedError


def domain_intervals(domain: sympy.Set | None, window: float = WINDOW) -> list[sympy.Interval]:
    """The intervals of ``domain`` inside [-window, window], left to right, each open.

    An unknown domain (None) is the whole window.  A set the function cannot cut
    into intervals (a complement of something other than points) is the whole window
    too; the checks then skip points where the function is not finite.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> domain_intervals(real_domain(sympy.tan(x), x), window=4)
    [Interval.open(-4, -pi/2), Interval.open(-pi/2, pi/2), Interval.open(pi/2, 4)]
    """
    box = sympy.Interval(-window, window)
    if domain is None:
        return [box.interior]
    try:
        parts = _interval_parts(domain, window)
    except (NotImplementedError, TypeError, ValueError):
        return [box.interior]
    out = []
    for low, high in parts:
        if high - low > 1e-12 * max(1.0, abs(low), abs(high)):
            out.append(sympy.Interval.open(low, high))
    return out


def _interval_parts(domain: sympy.Set, window: float) -> list[tuple[sympy.Expr, sympy.Expr]]:
    box = sympy.Interval(-window, window)
    if isinstance(domain, sympy.Union) and any(
        isinstance(part, sympy.Complement) for part in domain.args
    ):  # 1/(x cos x): (-∞, 0) and (0, ∞), each without the zeros of cos
        parts = [p for part in domain.args for p in _interval_parts(part, window)]
        return sorted(parts, key=lambda p: float(p[0]))
    if isinstance(domain, sympy.Complement) and isinstance(domain.args[0], sympy.Interval):
        outer = sympy.Intersection(domain.args[0], box)
        if outer.is_empty:
            return []
        if not isinstance(outer, sympy.Interval):
            raise NotImplementedError
        if outer == box:
            outer = sympy.Interval(-sympy.nsimplify(window), sympy.nsimplify(window))
        low, high = float(outer.inf), float(outer.sup)
        cuts = sorted({c for c in _numbers(domain.args[1], low, high) if low < c < high})
        ends = [outer.inf, *(_exact(c, domain.args[1]) for c in cuts), outer.sup]
        return list(zip(ends[:-1], ends[1:], strict=True))
    clipped = sympy.Intersection(domain, box)
    if isinstance(clipped, sympy.Interval):
        pieces = [clipped]
    elif isinstance(clipped, sympy.Union) and all(
        isinstance(p, (sympy.Interval, sympy.FiniteSet)) for p in clipped.args
    ):
        pieces = [p for p in clipped.args if isinstance(p, sympy.Interval)]
    elif clipped.is_empty:
        pieces = []
    else:
        raise NotImplementedError
    pieces.sort(key=lambda p: float(p.inf))
    return [(p.inf, p.sup) for p in pieces]


def _exact(value: float, points: sympy.Set) -> sympy.Expr:
    """The exact element of ``points`` equal to ``value`` (π/2 rather than 1.5707…)."""
    candidates = points.args if isinstance(points, sympy.Union) else (points,)
    for part in candidates:
        if isinstance(part, sympy.ImageSet):
            (n,) = part.lamda.variables
            expr = part.lamda.expr
            start, step = expr.subs(n, 0), sympy.diff(expr, n)
            k = round((value - float(start)) / float(step))
            exact = expr.subs(n, k)
            if abs(float(exact) - value) < 1e-9 * max(1.0, abs(value)):
                return exact
        if isinstance(part, sympy.FiniteSet):
            for p in part:
                if abs(float(p) - value) < 1e-12 * max(1.0, abs(value)):
                    return p
    return sympy.Float(value)


@dataclasses.dataclass(frozen=True)
class Sampled:
    """Sample points of an interval: ``points`` as floats, inside ``interval``."""

    interval: sympy.Interval
    points: tuple[float, ...]


def sample(intervals: Sequence[sympy.Interval], count: int, seed: int = 20261125) -> list[Sampled]:
    """``count`` points in each interval, strictly inside, mostly near the origin.

    Half the points are drawn where the interval meets [-3, 3] (when it does), the rest
    over all of it; points keep a small margin from the ends.

    Examples
    --------
    >>> [len(s.points) for s in sample([sympy.Interval.open(0, 1)], 4)]
    [4]
    """
    import random

    generator = random.Random(seed)
    out = []
    for interval in intervals:
        low, high = float(interval.inf), float(interval.sup)
        margin = 1e-3 * (high - low)
        near = (max(low, -3.0), min(high, 3.0))
        points = []
        for k in range(count):
            lo, hi = near if (k % 2 == 0 and near[0] < near[1]) else (low, high)
            lo, hi = max(lo, low + margin), min(hi, high - margin)
            points.append(generator.uniform(lo, hi))
        out.append(Sampled(interval, tuple(points)))
    return out


def mp_point(point: float | sympy.Expr | mpmath.mpf, digits: int) -> mpmath.mpf:
    """A point as an mpmath number with ``digits`` digits (exact sympy numbers like π/2 too)."""
    if isinstance(point, sympy.Basic):
        return mpmath.mpf(sympy.Float(sympy.N(point, digits + 10), digits + 10)._mpf_)
    return mpmath.mpf(point)


def evaluator(
    expr: sympy.Expr,
    x: sympy.Symbol,
    values: Mapping[sympy.Symbol, sympy.Expr] | None = None,
) -> Callable[..., complex | None]:
    """``(point, digits, offset=0) -> expr(point + offset)`` as a complex, or None where undefined.

    The expression is compiled for mpmath once; each call works with ``digits``
    significant digits, and forms ``point + offset`` with them (so a point next to an
    exact singular point such as π/2 is on the side meant).  Undefined points (a
    division by zero, a branch no condition selects, a function mpmath cannot
    evaluate, an infinite value) give None.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> evaluator(sympy.log(x), x)(2.0, 30)
    (0.6931471805599453+0j)
    >>> evaluator(1 / x, x)(0.0, 30) is None
    True
    >>> evaluator(sympy.tan(x), x)(sympy.pi / 2, 50, -1e-30).real > 1e29
    True
    """
    given = tuple(values.items()) if values else ()
    try:
        body, compiled = compiled_for_mpmath(expr, x, given)
    except TypeError:  # a value that cannot be a key (unhashable): compiled anew
        body, compiled = compiled_for_mpmath.__wrapped__(expr, x, given)

    def evaluate(point, digits: int = 30, offset: float = 0.0) -> complex | None:
        with mpmath.workdps(digits):
            where = mp_point(point, digits) + mpmath.mpf(offset)
            try:
                if compiled is None:
                    raise TypeError
                value = compiled(where)
            except (ZeroDivisionError, ValueError, TypeError, OverflowError, NameError):
                try:
                    value = complex(body.subs(x, sympy.Float(where, digits)).evalf(digits))
                except (TypeError, ValueError, ZeroDivisionError, OverflowError):
                    return None
            except Exception:  # noqa: BLE001 - mpmath raises its own kinds too
                return None
            try:
                value = complex(value)
            except (TypeError, ValueError, OverflowError):
                return None
        if not (math.isfinite(value.real) and math.isfinite(value.imag)):
            return None
        return value

    return evaluate


@functools.lru_cache(maxsize=256)
def compiled_for_mpmath(
    expr: sympy.Expr, x: sympy.Symbol, values: tuple[tuple[sympy.Symbol, sympy.Expr], ...] = ()
) -> tuple[sympy.Expr, Callable | None]:
    """``expr`` with named functions expanded and ``values`` put in, and that body as a
    function of ``x`` for mpmath (None where SymPy cannot print it: evaluate by
    substitution).

    Remembered (least recently used, 256): verifying an antiderivative compiles the same
    formulas again and again (f for the samples and for each candidate, F and dF/dx − f for
    the candidate and again for its steps, F for its continuity across poles), about half
    of the calls; the FTC check compiles f and F at two precisions.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> body, f = compiled_for_mpmath(sympy.sqrt(x), x)
    >>> body, f(4)
    (sqrt(x), mpf('2.0'))
    """
    body = expand_named(expr)
    if values:
        body = body.xreplace(dict(values))
    try:
        compiled = sympy.lambdify(x, body, modules="mpmath")
    except Exception:  # noqa: BLE001 - any printer failure: evaluate by substitution
        compiled = None
    return body, compiled


def jump_candidates(expr: sympy.Expr, x: sympy.Symbol, low: float, high: float) -> list[float]:
    """Points in (low, high) where the formula ``expr`` may be discontinuous.

    Where the argument of ``floor``/``ceiling``/``frac`` crosses an integer, where the
    argument of ``sign``/``Heaviside`` or the two sides of a ``Piecewise`` condition
    cross, and where ``tan``, ``sec`` (at π/2 + kπ) or ``cot``, ``csc`` (at kπ) have a
    pole (``atan(tan(x/2))`` jumps at π), and where a denominator changes sign or an
    absolute value in it vanishes (``x/|x|`` jumps at 0).  Continuous parts (``Abs``,
    ``Max``) give none.  Candidates only, found numerically on a fine grid: the caller looks whether
    the value really jumps.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> jump_candidates(sympy.floor(x / 2) + sympy.sign(x - 1), x, -3, 5)
    [-2.0, 0.0, 1.0, 2.0, 4.0]
    >>> [round(c, 12) for c in jump_candidates(sympy.atan(sympy.tan(x / 2)), x, -4, 4)]
    [-3.14159265359, 3.14159265359]
    >>> jump_candidates(x / sympy.Abs(x - 1), x, -3, 5)
    [1.0]
    """
    # (u, offset, period) for each search, each once: a formula holds the same
    # denominator many times over (1/x in twenty terms), and each search is 401 points
    searches: dict[tuple[sympy.Expr, float, float | None], None] = {}
    for atom in sympy.preorder_traversal(expr):
        if not isinstance(atom, sympy.Basic) or not atom.has(x):
            continue
        crossings = _CROSSINGS.get(type(atom))
        if crossings is not None:
            searches[(atom.args[0], *crossings)] = None
        elif isinstance(atom, sympy.Piecewise):
            for _, condition in atom.args:
                for rel in getattr(condition, "atoms", lambda *_: ())(
                    sympy.core.relational.Relational
                ):
                    searches[(rel.lhs - rel.rhs, 0.0, None)] = None
        elif isinstance(atom, sympy.Pow) and atom.exp.is_negative:
            # a quotient may jump where its denominator vanishes: x/|x| at 0.  |u| and u
            # vanish together, and u changes sign there, which the grid can see
            base = atom.base.replace(lambda e: isinstance(e, sympy.Abs), lambda e: e.args[0])
            searches[(base, 0.0, None)] = None
    points: set[float] = set()
    for u, offset, period in searches:
        points.update(_crossings(u, x, low, high, offset, period))
    return sorted(p for p in points if low < p < high)


#: Function -> (offset, period): it may jump where its argument is offset + k·period.
_CROSSINGS: dict[type, tuple[float, float | None]] = {
    sympy.floor: (0.0, 1.0),
    sympy.ceiling: (0.0, 1.0),
    sympy.frac: (0.0, 1.0),
    sympy.sign: (0.0, None),
    sympy.Heaviside: (0.0, None),
    sympy.tan: (math.pi / 2, math.pi),
    sympy.sec: (math.pi / 2, math.pi),
    sympy.cot: (0.0, math.pi),
    sympy.csc: (0.0, math.pi),
}


def _crossings(
    u: sympy.Expr, x: sympy.Symbol, low: float, high: float, offset: float, period: float | None
) -> set[float]:
    """Points of (low, high) where u(x) = offset + k·period (k whole; only k = 0 without a
    period), located on a grid of 400 and refined by root finding."""
    if not u.has(x):
        return set()
    try:
        f = sympy.lambdify(x, u, modules="mpmath")
    except Exception:  # noqa: BLE001 - a printer gap: no candidates from this part
        return set()
    grid = [low + (high - low) * k / 400 for k in range(401)]
    out: set[float] = set()
    with mpmath.workdps(30):

        def level(t):
            value = (mpmath.re(f(t)) - offset) / (period or 1)
            return value

        try:
            values = [float(level(mpmath.mpf(g))) for g in grid]
        except Exception:  # noqa: BLE001 - undefined somewhere on the grid: give up on u
            return set()
        for a, b, ua, ub in zip(grid, grid[1:], values, values[1:], strict=False):
            if not (math.isfinite(ua) and math.isfinite(ub)):
                continue
            if period is None:
                targets = [0] if (ua <= 0 <= ub or ub <= 0 <= ua) else []
            else:
                targets = range(math.ceil(min(ua, ub)), math.floor(max(ua, ub)) + 1)
            for n in targets:
                try:
                    root = mpmath.findroot(
                        lambda t, n=n: level(t) - n,
                        (mpmath.mpf(a), mpmath.mpf(b)),
                        solver="anderson",
                    )
                    out.add(float(root))
                except Exception:  # noqa: BLE001 - no convergence: the midpoint will do
                    out.add((a + b) / 2)
    return out


def _positive(u: sympy.Expr) -> bool | None:
    """Whether SymPy proves u > 0, as written or over a common denominator
    (1 - 1/(1 + e^-z) = e^-z/(1 + e^-z))."""
    return u.is_positive or sympy.together(u).is_positive


def _nonnegative(u: sympy.Expr) -> bool | None:
    """Whether SymPy proves u >= 0, as `_positive`."""
    return u.is_nonnegative or sympy.together(u).is_nonnegative


#: Functions a condition may hold and still be decided right in floating point: no
#: underflow or overflow of theirs turns a true condition false.
_PIECEWISE_ALGEBRAIC = (sympy.Abs, sympy.Max, sympy.Min, sympy.Piecewise, sympy.sign)


def _decided_in_floats(condition: sympy.Basic) -> bool:
    """Whether ``condition`` is piecewise algebraic in its variables, so the kernel's float
    arithmetic decides it as the reals do.  A transcendental part may underflow: erfc(2x - 3)
    > 0 holds everywhere but is 0 > 0 in floats from x = 14, which would make log(erfc(2x -
    3))′ NaN where it is real; such a condition is left to SymPy's proof or not guarded."""
    return all(
        isinstance(function, _PIECEWISE_ALGEBRAIC) for function in condition.atoms(sympy.Function)
    )


def _part_conditions(part: sympy.Basic) -> list[tuple[sympy.Basic, bool | None]]:
    """(condition, whether SymPy proves it) for each condition under which ``part`` is real."""
    if isinstance(part, sympy.log):
        u = part.args[0]
        return [(sympy.StrictGreaterThan(u, 0, evaluate=False), _positive(u))]
    if isinstance(part, sympy.Pow) and part.exp.is_number and part.exp.is_integer is False:
        u = part.base
        if part.exp.is_negative:
            return [(sympy.StrictGreaterThan(u, 0, evaluate=False), _positive(u))]
        return [(sympy.GreaterThan(u, 0, evaluate=False), _nonnegative(u))]
    if isinstance(part, (sympy.asin, sympy.acos)):
        u = part.args[0]
        return [(sympy.GreaterThan(1 - u**2, 0, evaluate=False), (1 - u**2).is_nonnegative)]
    if isinstance(part, sympy.acosh):
        u = part.args[0]
        return [(sympy.GreaterThan(u, 1, evaluate=False), (u - 1).is_nonnegative)]
    if isinstance(part, sympy.atanh):
        u = part.args[0]
        return [(sympy.StrictGreaterThan(1 - u**2, 0, evaluate=False), (1 - u**2).is_positive)]
    return []


#: Nodes below which a part's NaN may not reach the value: a branch or a comparison
#: chooses (NaN in a condition is false), a step or a sign is read by a condition.
_CHOOSING = (
    sympy.Piecewise,
    sympy.Max,
    sympy.Min,
    sympy.Heaviside,
    sympy.sign,
    sympy.DiracDelta,
    sympy.logic.boolalg.Boolean,
)


def _guard_key(part: sympy.Basic) -> sympy.Basic | tuple:
    """What makes ``part`` NaN where it is not real: a power with a non-integer exponent is
    NaN where its base is negative whatever the exponent (sqrt(x) and x^(-1/2)), asin(u)
    and acos(u) where (1 - u²)^(±1/2) is (their derivatives hold it)."""
    if isinstance(part, sympy.Pow) and part.exp.is_number and part.exp.is_integer is False:
        return ("root", part.base)
    if isinstance(part, (sympy.asin, sympy.acos)):
        return ("root", 1 - part.args[0] ** 2)
    return part


def _carried(expr: sympy.Basic) -> set[sympy.Basic | tuple]:
    """`_guard_key` of the parts of ``expr`` whose NaN always reaches its value (none below
    a `_CHOOSING`)."""
    found = {_guard_key(expr)}
    if isinstance(expr, _CHOOSING):
        return found
    for arg in expr.args:
        found |= _carried(arg)
    return found


def _holds_on(condition: sympy.Basic, domains: Mapping[sympy.Symbol, sympy.Set]) -> bool:
    """Whether ``condition`` in one variable holds on all of its declared domain (p > 0 and
    1 - p > 0 for binary_cross_entropy's p in (0, 1)); the real line is not checked."""
    (symbol, *others) = tuple(condition.free_symbols) or (None,)
    domain = domains.get(symbol, sympy.S.Reals)
    if others or domain == sympy.S.Reals:
        return False
    try:
        return bool(domain.is_subset(sympy.solveset(condition, symbol, sympy.S.Reals)))
    except (NotImplementedError, TypeError, ValueError):
        return False


def _parts_with_weights(
    expr: sympy.Basic, unless: tuple[sympy.Basic, ...] = ()
) -> Iterator[tuple[sympy.Basic, tuple[sympy.Basic, ...]]]:
    """Each part of ``expr`` with the conditions that switch it off: a term w·rest whose
    weight w is linear in a variable rest does not hold is 0 where w is (symcalc's
    convention for labels: -y·log(p) - (1 - y)·log(1 - p) at p = 1, y = 1 is 0), and a
    branch of a Piecewise is not evaluated where another is taken (log(x) in
    Piecewise((log(x), x > 0), (0, True)), which is real everywhere: its kernels were NaN
    for x ≤ 0).  A condition is always evaluated: its parts are not switched off."""
    yield expr, unless
    if isinstance(expr, sympy.Piecewise):
        before: list[sympy.Basic] = []
        for value, condition in expr.args:
            taken = sympy.And(condition, *(sympy.Not(c) for c in before))
            yield from _parts_with_weights(value, unless + (sympy.Not(taken),))
            yield from _parts_with_weights(condition, unless)
            before.append(condition)
        return
    if isinstance(expr, sympy.Mul):
        factors = expr.args
        switches = []  # (index of the weight, equation switching the others off)
        for j, weight in enumerate(factors):
            root = _weight_root(weight)
            rest = sympy.Mul(*(f for k, f in enumerate(factors) if k != j))
            if root is not None and root[0] not in rest.free_symbols:
                switches.append((j, sympy.Eq(root[0], root[1], evaluate=False)))
        for i, factor in enumerate(factors):
            off = tuple(equation for j, equation in switches if j != i)
            yield from _parts_with_weights(factor, unless + off)
        return
    for arg in expr.args:
        yield from _parts_with_weights(arg, unless)


def _weight_root(weight: sympy.Expr) -> tuple[sympy.Symbol, sympy.Expr] | None:
    """(v, r) where ``weight`` is linear in its one variable v, with root r."""
    if len(weight.free_symbols) != 1:
        return None
    (v,) = weight.free_symbols
    root = linear_root(weight, v)
    return None if root is None else (v, root)


def linear_root(expr: sympy.Expr, v: sympy.Symbol) -> sympy.Expr | None:
    """The root of ``expr`` where it is a polynomial of degree 1 in ``v``, else None.

    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> linear_root(2 * x - 3, x), linear_root(x**2, x)
    (3/2, None)
    """
    try:
        poly = sympy.Poly(expr, v)
    except sympy.PolynomialError:
        return None
    if poly.degree() != 1:
        return None
    slope, offset = poly.all_coeffs()
    return -offset / slope


def entry_nan_outside_domain(entry, derivative: sympy.Expr) -> sympy.Expr:
    """`nan_outside_domain` of a catalog entry's f (``entry.expr``), with its variables'
    declared domains (``entry.domain_of``): the guard every kernel and export applies.

    Examples
    --------
    >>> from symcalc.symbolic.parse import resolve
    >>> f = resolve("log(x)")
    >>> entry_nan_outside_domain(f, 1 / f.variable)
    Piecewise((1/x, x > 0), (nan, True))
    """
    domains = {v: entry.domain_of(v) for v in entry.variables}
    return nan_outside_domain(entry.expr, derivative, domains)


def nan_outside_domain(
    f: sympy.Expr,
    derivative: sympy.Expr,
    domains: Mapping[sympy.Symbol, sympy.Set] | None = None,
) -> sympy.Expr:
    """``derivative`` of ``f``, NaN wherever ``f`` is not real: a derivative can be real
    where ``f`` is not (log(x)′ = 1/x for x < 0; elu(log(199x + 2))′ = 199 where its
    Piecewise condition on log(199x + 2) is false).  Conditions of a part the derivative
    still holds where its NaN reaches the value (sqrt(x) in sqrt(x)′ = 1/(2·sqrt(x))) are
    left out, and so are conditions that hold on a variable's declared domain
    (``domains``: variable -> set, the real line where not given); where none is left,
    ``derivative`` is returned as it is.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> nan_outside_domain(sympy.log(x), 1 / x)
    Piecewise((1/x, x > 0), (nan, True))
    >>> nan_outside_domain(sympy.sqrt(x), 1 / (2 * sympy.sqrt(x)))
    1/(2*sqrt(x))
    """
    carried = _carried(derivative)
    conditions = [
        sympy.Or(c, *unless) if unless else c
        for part, unless in _parts_with_weights(f)
        if _guard_key(part) not in carried
        for c, proven in _part_conditions(part)
        if proven is not True and _decided_in_floats(c) and not _holds_on(c, domains or {})
    ]
    conditions = [c for c in dict.fromkeys(conditions) if c is not sympy.true]
    if not conditions:
        return derivative
    try:
        return sympy.Piecewise(
            (derivative, sympy.And(*conditions)), (sympy.nan, True), evaluate=False
        )
    except RecursionError:  # SymPy's Piecewise flips decimal conditions for ever
        raise SymcalcError(
            f"cannot keep the derivative of {sympy.sstr(f)} NaN where the function is not "
            "real: SymPy loops on its conditions with decimal coefficients; write them as "
            "fractions",
            parameter="f",
        ) from None
