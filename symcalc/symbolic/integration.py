"""Finding antiderivatives: several methods raced under a CPU-time budget, each answer verified.

`search` runs in the budget's child process.  It tries, in this order, each method
that applies (`METHODS`): the complete algorithms that are fast where they apply
(partial fractions for rational functions, the Risch algorithm for elementary
functions of exp and log), then SymPy's textbook rules (``manualintegrate``, the one
that gives steps), the same rules after the substitution u = P(x)^(1/q) that clears a
root of a polynomial (``radical``), the heuristic Risch algorithm, Meijer G-functions,
Meijer G-functions after u = exp(x) where the Risch algorithm proved no elementary F
exists (``exponential``: the dilogarithm of softplus), the
textbook rules after exponentials are combined (``combined``) and SymPy's
``integrate``.  Each method gets a slice of the remaining CPU time (on POSIX a
CPU timer ends it), so one slow method cannot starve the others: this is the
race.  Once an answer is verified only the textbook rules still run, for their steps,
at most `_STEPS_RULES` rules of them (a count, the same on every run).
The slices use the virtual timer (``ITIMER_VIRTUAL``, user CPU time, ``SIGVTALRM``);
the budget's own profiling timer, which ends the whole child, is left alone.

Every answer is verified before it is returned (`_fit`): on each interval of the
integrand's real domain (inside a window of ±30), dF/dx − f vanishes at sample points
computed with 30 digits (80 where cancellation needs them), F is real and finite there,
and F does not jump inside the interval.  A formula that holds on some intervals only
(SymPy's ``Piecewise`` with a wrong condition) is kept for those, and another method's
answer fills the rest.  Where F cannot be continued across a singular point of f (a
pole), the antiderivative holds on each interval with its own constant, and the result
says so (``intervals``).

Piecewise integrands are integrated piece by piece, with the constants chosen so that
F is continuous wherever f is integrable; the steps of each piece are kept.

Examples
--------
>>> from symcalc.symbolic.functions import symbol
>>> x = symbol("x")
>>> found = list(search([Problem(1 / (x**2 - 1), x)], 2))[-1]
>>> found.method, found.antiderivative
('manualintegrate', log(Abs(x - 1))/2 - log(Abs(x + 1))/2)
>>> found.intervals
(Interval.open(-oo, -1), Interval.open(-1, 1), Interval.open(1, oo))
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import math
import signal
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence

import sympy

from . import lean
from .domains import (
    WINDOW,
    Sampled,
    domain_intervals,
    evaluator,
    jump_candidates,
    real_domain,
    sample,
)
from .functions import expand_named
from .integral_steps import (
    IntegralStep,
    check_steps,
    derivative,
    from_manual,
    real_form,
    residual_ok,
)
from .textbook import RuleLimit, lean_rules, rule_limit

__all__ = ["METHODS", "Found", "Method", "Problem", "preload_methods", "prepare", "search"]


# -- CPU-time slices ----------------------------------------------------------------------


class _OutOfTime(BaseException):
    """A method's slice of CPU time ran out (raised from the SIGVTALRM handler)."""


class _Clock:
    """CPU time left for the search, and slices of it for one method at a time.

    Slices interrupt a method only where that is safe to do: in the main thread of a
    process that has ``setitimer`` (the budget's child on POSIX).  Elsewhere a method
    runs to its end, and the order of the methods still puts the fast ones first.
    """

    def __init__(self, seconds: float | None, interruptible: bool):
        self.seconds = seconds
        self.start = time.process_time()
        self.interruptible = (
            interruptible
            and seconds is not None
            and hasattr(signal, "setitimer")
            and hasattr(signal, "SIGVTALRM")
            and threading.current_thread() is threading.main_thread()
        )
        self._armed = False

    def remaining(self) -> float:
        if self.seconds is None:
            return math.inf
        return self.seconds - (time.process_time() - self.start)

    @contextlib.contextmanager
    def slice(self, share: float):
        """Run the block with ``share`` of the remaining time at most (raises _OutOfTime)."""
        if self.remaining() <= 0:
            raise _OutOfTime
        if not self.interruptible:
            yield
            return
        seconds = max(0.02, share * self.remaining())
        previous = signal.signal(signal.SIGVTALRM, self._ring)
        self._armed = True
        # after the first signal, one every 50 ms: code that swallows one is stopped by the next
        signal.setitimer(signal.ITIMER_VIRTUAL, seconds, 0.05)
        try:
            yield
        finally:
            self._armed = False
            signal.setitimer(signal.ITIMER_VIRTUAL, 0, 0)
            signal.signal(signal.SIGVTALRM, previous)

    def _ring(self, signum, frame):  # pragma: no cover - timing dependent
        if self._armed:
            raise _OutOfTime


def _attempt(
    clock: _Clock, share: float, func: Callable, *args, rules: int | None = None
) -> tuple[object, str | None]:
    """``func(*args)`` within a slice: (value, None), or (None, why it gave no value).

    The textbook rules run with `textbook.lean_rules` and, given ``rules``, may try that
    many rules at most (`textbook.rule_limit`)."""
    try:
        with lean_rules(), rule_limit(rules), clock.slice(share):  # the slice's signal last
            return func(*args), None
    except _OutOfTime:
        return None, "ran out of its time"
    except RuleLimit:
        return None, f"found no steps within {rules} rules"
    except _NonElementary:
        return None, "proved there is no elementary antiderivative"
    except RecursionError:
        return None, "failed (RecursionError)"
    except Exception as exc:  # noqa: BLE001 - SymPy raises many kinds; the next method runs
        return None, f"failed ({type(exc).__name__})"
    finally:
        _forget_manual_cache()


def _forget_manual_cache() -> None:
    """An interrupted manualintegrate leaves 'in progress' marks in its cache: clear them."""
    from sympy.integrals import manualintegrate as mi

    for name in ("_integral_cache", "_parts_u_cache"):
        cache = getattr(mi, name, None)
        if cache is not None:
            cache.clear()


# -- the methods --------------------------------------------------------------------------

#: Modules the methods (and the checks' `lambdify`) import the first time they run.
_FIRST_USE = (
    "sympy.integrals.manualintegrate",
    "sympy.integrals.risch",
    "sympy.integrals.rde",
    "sympy.integrals.prde",
    "sympy.integrals.heurisch",
    "sympy.polys.polymatrix",
    "sympy.polys.domains.old_fractionfield",
    "sympy.polys.domains.old_polynomialring",
    "sympy.codegen.ast",
)


def preload_methods() -> None:
    """Import what the methods import on first use, in the caller: once per process
    instead of once per budget child (about 20 ms of each search's CPU budget).

    Examples
    --------
    >>> import sys
    >>> preload_methods()
    >>> "sympy.integrals.manualintegrate" in sys.modules
    True
    """
    lean.preload(_FIRST_USE)


class _NonElementary(Exception):
    """The Risch algorithm proved that no elementary antiderivative exists."""


def _rational(g: sympy.Expr, x: sympy.Symbol):
    from sympy.integrals.rationaltools import ratint

    return ratint(g, x), None


def _exp_log_form(g: sympy.Expr) -> sympy.Expr:
    """Hyperbolic functions written with exp (the Risch algorithm works on exp and log)."""
    hyperbolic = (sympy.sinh, sympy.cosh, sympy.tanh, sympy.coth, sympy.sech, sympy.csch)
    return g.rewrite(sympy.exp) if g.has(*hyperbolic) else g


def _risch(g: sympy.Expr, x: sympy.Symbol):
    from sympy.integrals.risch import NonElementaryIntegral, risch_integrate

    F = risch_integrate(_exp_log_form(g), x)
    if F.has(NonElementaryIntegral):  # what is left over provably has no elementary F
        raise _NonElementary
    return (None if F.has(sympy.Integral) else F), None


def _manual(g: sympy.Expr, x: sympy.Symbol):
    from sympy.integrals.manualintegrate import integral_steps

    tree = integral_steps(g, x)
    if tree is None or tree.contains_dont_know():
        return None, None
    step = from_manual(tree, g)  # among alternatives, the simplest
    return step.result, step


def _combined(g: sympy.Expr) -> sympy.Expr:
    """``g`` with its exponentials combined (exp(6x)·exp(−2x²) = exp(6x − 2x²)) and
    products of sines and cosines written as sums (sin x²·cos x² = sin(2x²)/2): forms the
    textbook rules know (a Gaussian, a Fresnel integral) where the product's are not."""
    from sympy.simplify.fu import TR8

    h = sympy.powsimp(g, combine="exp")
    return TR8(h) if h.has(sympy.sin, sympy.cos) else h


def _is_combinable(g: sympy.Expr, x: sympy.Symbol) -> bool:
    """A product with two exponentials, or with sines or cosines beside other factors
    of x (read off the tree; `_combined` itself runs in the method's slice of time)."""
    for node in sympy.preorder_traversal(g):
        if not isinstance(node, sympy.Mul):
            continue
        factors = [f for f in node.args if f.has(x)]
        exps = sum(1 for f in factors if isinstance(f, sympy.exp))
        trig = sum(1 for f in factors if f.has(sympy.sin, sympy.cos))
        if exps >= 2 or (trig >= 1 and len(factors) >= 2):
            return True
    return False


def _manual_combined(g: sympy.Expr, x: sympy.Symbol):
    """The textbook rules on `_combined` ``g``, the rewriting their first step."""
    from sympy.integrals.manualintegrate import RewriteRule, integral_steps

    h = _combined(g)
    if h == g:
        return None, None
    tree = integral_steps(h, x)
    if tree is None or tree.contains_dont_know():
        return None, None
    step = from_manual(RewriteRule(g, x, h, tree), g)
    return step.result, step


def _radicals(g: sympy.Expr, x: sympy.Symbol) -> list[sympy.Expr]:
    """P**(1/q) for each power of a polynomial P in x (degree >= 1) to a non-integer
    rational exponent p/q in ``g``, in the order they are met."""
    found: list[sympy.Expr] = []
    for node in sympy.preorder_traversal(g):
        if not (isinstance(node, sympy.Pow) and node.exp.is_Rational and not node.exp.is_Integer):
            continue
        P = node.base
        if P.has(x) and P.is_polynomial(x) and sympy.degree(P, x) >= 1:
            root = sympy.Pow(P, sympy.Rational(1, node.exp.q))
            if root not in found:
                found.append(root)
    return found


def _has_radical(g: sympy.Expr, x: sympy.Symbol) -> bool:
    return bool(_radicals(g, x))


def _in_root(g: sympy.Expr, x: sympy.Symbol, root: sympy.Expr, u: sympy.Symbol):
    """g dx as H(u) du where u = root = P**(1/q), or None: g/(du/dx) with P = u**q, and
    x from P(x) = u**q; every solution for x must give the same H (√(1 − x²)/x: x² = 1 − u²
    either way), so H holds on each side."""
    P, q = root.base, root.exp.q
    positive = sympy.Dummy("u", positive=True)  # (u**2)**(1/2) = u: the root is >= 0
    h = sympy.cancel(g / sympy.diff(root, x)).subs(P, positive**q)
    solutions = sympy.solve(P - positive**q, x)
    forms = {sympy.cancel(h.subs(x, s)) for s in solutions}
    if len(forms) != 1:
        return None
    H = forms.pop()
    return None if H.has(x) else H.subs(positive, u)


def _manual_radical(g: sympy.Expr, x: sympy.Symbol):
    """The textbook rules after the substitution u = P(x)**(1/q) that clears a root:
    √(1 − x²)/x dx = −u²/(1 − u²) du, a rational function of u.  SymPy's
    ``manualintegrate`` substitutes u only where g/(du/dx) has no x left, and so misses
    these (√(4 − x²)/x³ had no answer; √(1 − x²)/x one with cancelling I·π/2 terms)."""
    from sympy.integrals.manualintegrate import URule, integral_steps

    u = sympy.Dummy("u", real=True)
    for root in _radicals(g, x):
        H = _in_root(g, x, root, u)
        if H is None:
            continue
        tree = integral_steps(H, u)
        if tree is None or tree.contains_dont_know():
            continue
        step = from_manual(URule(g, x, u, root, tree), g)
        return step.result, step
    return None, None


def _has_exp(g: sympy.Expr, x: sympy.Symbol) -> bool:
    """An exponential of x (hyperbolic functions count), whose substitution u = exp(x)
    may leave an integrand SymPy knows in u."""
    return any(
        isinstance(node, sympy.exp) and node.has(x)
        for node in sympy.preorder_traversal(_exp_log_form(g))
    )


def _exponential(g: sympy.Expr, x: sympy.Symbol):
    """Meijer G-functions after the substitution u = exp(x), dx = du/u: the integrand of
    softplus, log(1 + eˣ), becomes log(1 + u)/u, whose antiderivative is the
    dilogarithm −Li₂(−u) (Meijer G-functions find it; in x they do not)."""
    from sympy.integrals.meijerint import meijerint_indefinite

    u = sympy.Dummy("u", positive=True)
    h = _exp_log_form(g).subs(x, sympy.log(u)) / u
    if h.has(x):
        return None, None
    # log(1/(1 + 1/u)) = −log(1 + 1/u): the arguments are positive for u > 0
    H = meijerint_indefinite(sympy.expand_log(h, force=True), u)
    if H is None or H.has(sympy.Integral):
        return None, None
    return H.subs(u, sympy.exp(x)), None  # `real_form` reads its polar numbers


def _heurisch(g: sympy.Expr, x: sympy.Symbol):
    from sympy.integrals.heurisch import heurisch

    return heurisch(g, x), None


def _meijerg(g: sympy.Expr, x: sympy.Symbol):
    from sympy.integrals.meijerint import meijerint_indefinite

    return meijerint_indefinite(g, x), None


def _integrate(g: sympy.Expr, x: sympy.Symbol):
    F = sympy.integrate(g, x, manual=False)
    return (None if F.has(sympy.Integral) else F), None


def _is_rational(g: sympy.Expr, x: sympy.Symbol) -> bool:
    return bool(g.is_rational_function(x))


_EXP_LOG = (sympy.exp, sympy.log, sympy.Pow, sympy.Add, sympy.Mul, sympy.Symbol, sympy.Number)


def _is_exp_log(g: sympy.Expr, x: sympy.Symbol) -> bool:
    """Only exp, log (hyperbolic functions count) and algebraic operations."""
    return all(
        isinstance(node, _EXP_LOG) or not node.has(x)
        for node in sympy.preorder_traversal(_exp_log_form(g))
    )


def _always(g: sympy.Expr, x: sympy.Symbol) -> bool:
    return True


def _never(outcomes: Mapping[str, str]) -> bool:
    return False


def _elementary_disproved(outcomes: Mapping[str, str]) -> bool:
    """The Risch algorithm proved no elementary F exists (heurisch looks only for those)."""
    return outcomes.get("risch") == "proved"


def _elementary_possible(outcomes: Mapping[str, str]) -> bool:
    """Not proved non-elementary: the dilogarithms of u = exp(x) are for what the Risch
    algorithm proved has no elementary F (softplus); elsewhere they would only race the
    other methods for answers those find."""
    return outcomes.get("risch") != "proved"


@dataclasses.dataclass(frozen=True)
class Method:
    """One way to integrate: its name (the ``method`` of a result), what it is, where it
    applies, the share of the remaining CPU time it may use, and when earlier
    outcomes make it pointless (``skip``)."""

    name: str
    about: str
    applies: Callable[[sympy.Expr, sympy.Symbol], bool]
    run: Callable[[sympy.Expr, sympy.Symbol], tuple[sympy.Expr | None, object]]
    share: float
    skip: Callable[[Mapping[str, str]], bool] = _never

    def __repr__(self) -> str:
        return f"<Method {self.name}: {self.about}>"


#: The methods in the order they run; fast complete ones first, the textbook rules for steps.
METHODS: tuple[Method, ...] = (
    Method(
        "rational",
        "partial fractions and Hermite reduction, complete for rational functions",
        _is_rational,
        _rational,
        0.3,
    ),
    Method("risch", "the Risch algorithm, complete for exp and log", _is_exp_log, _risch, 0.2),
    Method("manualintegrate", "textbook rules, step by step", _always, _manual, 0.6),
    Method(
        "radical",
        "textbook rules after the substitution u = P(x)^(1/q) that clears a root",
        _has_radical,
        _manual_radical,
        0.3,
    ),
    Method(
        "heurisch", "the heuristic Risch algorithm", _always, _heurisch, 0.3, _elementary_disproved
    ),
    Method("meijerg", "Meijer G-functions", _always, _meijerg, 0.3),
    Method(
        "exponential",
        "Meijer G-functions after the substitution u = exp(x)",
        _has_exp,
        _exponential,
        0.5,
        _elementary_possible,
    ),
    Method(
        "combined",
        "textbook rules after combining exponentials and products of sines and cosines",
        _is_combinable,
        _manual_combined,
        0.3,
    ),
    Method("integrate", "SymPy's integrate, all its algorithms", _always, _integrate, 1.0),
)
_ABOUT = {m.name: m.about for m in METHODS}
#: The textbook rules' share of the time left when another method has already answered
#: (they look for steps only, and `_STEPS_RULES` ends them).
_STEPS_SHARE = 0.5
#: The most rules (``integral_steps`` calls) the textbook rules may try for steps when
#: another method has already answered: a count, so that whether an answer comes with
#: steps is the same on every run and under every budget, not decided by whether a
#: slice of CPU time happened to last (36/(x⁵ − 2x⁴ − ...) found its steps in 35 rules,
#: in about the whole of its slice, and so on some runs only; 1/((x + 3)(1 + x)³) in 122
#: under a budget of 30 s, not under 3 s).  The answers of the corpus, the catalog and
#: the tests that show such steps found them within 61 ((x + 1)·log x); those that show
#: none needed 68 or more, or found none.  With half the time left, a search of this
#: many rules ends well within its slice (36/(x⁵ − ...): 0.8 s of 1.6 s at a budget of
#: 4 s), and where it does not, it fails either way.
_STEPS_RULES = 62


# -- what is integrated, where it is checked ----------------------------------------------


@dataclasses.dataclass(frozen=True)
class Problem:
    """An integrand in ``variable`` to integrate, and how to check answers.

    ``domain`` is where the variable may range (an entry's domain, e.g. p in (0, 1));
    ``values`` are assignments of the other symbols (parameters) at which answers are
    checked; ``substituted`` records values put in for symbols that are not kept.
    """

    integrand: sympy.Expr
    variable: sympy.Symbol
    domain: sympy.Set = sympy.S.Reals
    values: tuple[Mapping[sympy.Symbol, sympy.Expr], ...] = ({},)
    substituted: tuple[tuple[sympy.Symbol, sympy.Expr], ...] = ()


@dataclasses.dataclass(frozen=True)
class Found:
    """What the search found for a problem: a verified F with steps, or why none.

    ``intervals`` lists the intervals of the integrand's domain on which F holds with
    a constant of its own (None: one constant on all of it); ``domain`` is that domain
    when it cannot be listed interval by interval (tan x: infinitely many).
    """

    problem: Problem
    antiderivative: sympy.Expr | None
    steps: IntegralStep | None
    method: str
    intervals: tuple[sympy.Interval, ...] | None = None
    domain: sympy.Set | None = None
    notes: tuple[str, ...] = ()
    rank: int = 0


@dataclasses.dataclass(frozen=True)
class _Scope:
    """Where an integrand is checked: sample points on intervals, parameter values."""

    f: sympy.Expr
    x: sympy.Symbol
    samples: tuple[Sampled, ...]
    values: tuple[Mapping[sympy.Symbol, sympy.Expr], ...]
    window: float = WINDOW
    #: `_fit`'s verdicts on this scope, by candidate (a scope made by `dataclasses.replace`
    #: starts with none of its own)
    fitted: dict = dataclasses.field(default_factory=dict, init=False, repr=False, compare=False)

    @property
    def points(self) -> list[float]:
        return [p for s in self.samples for p in s.points]

    @functools.cached_property
    def f_at(self) -> list[Callable]:
        """f compiled for each assignment of the parameters."""
        return [evaluator(self.f, self.x, v) for v in self.values]


_KINKS = (sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Heaviside, sympy.Piecewise)


def prepare(expr: sympy.Expr) -> sympy.Expr:
    """The expression integrated: named functions expanded, kinks written as Piecewise.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> prepare(sympy.Max(0, symbol("x")))
    Piecewise((0, x <= 0), (x, True))
    """
    g = expand_named(expr)
    if g.has(*_KINKS):
        g = sympy.piecewise_fold(g.rewrite(sympy.Piecewise))
    return g


def _scope(
    f: sympy.Expr,
    x: sympy.Symbol,
    where: sympy.Set,
    values,
    clock: _Clock,
    count: int = 6,
) -> tuple[_Scope, sympy.Set | None]:
    """Sample intervals of f's real domain within ``where`` (and the window)."""
    reference = f.xreplace(dict(values[0])) if values[0] else f
    domain, why = _attempt(clock, 0.15, real_domain, reference, x)
    del why
    if domain is not None:
        domain = sympy.Intersection(domain, where)
    else:
        domain = where if where != sympy.S.Reals else None
    window = _window(reference, x, domain)
    intervals = domain_intervals(domain, window)
    # every interval of a domain made of finitely many (1/((x-1)...(x-14)): 15), else the
    # first ones (tan x: the same pattern again and again)
    most = _MOST_INTERVALS if domain is not None and _listable(domain) else 12
    check = evaluator(reference, x)
    kept = []
    for sampled in sample(intervals[:most], count):
        good = [p for p in sampled.points if _real(check(p, 30))]
        if len(good) < 2:  # f real on a part only (x**(1/3) for x < 0 at 30 digits, x**1000
            # beyond a double): more points, so a narrow real part still gets its samples
            more = sample([sampled.interval], 8 * count, seed=len(good) + 1)[0].points
            good += [p for p in more if _real(check(p, 30))][: count - len(good)]
        if len(good) >= 2:
            kept.append(Sampled(sampled.interval, tuple(good)))
    return _Scope(f, x, tuple(kept), tuple(values), window), domain


#: Most intervals of a domain checked one by one; the widest window checked.
_MOST_INTERVALS = 40
_WIDEST = 1e4


def _window(f: sympy.Expr, x: sympy.Symbol, domain: sympy.Set | None) -> float:
    """Half-width of the window where answers are checked: `WINDOW`, or wider so that it
    holds every finite end of the domain's intervals and every point where a piece of f
    begins (a pole at x = 50 is checked from both sides, not left outside)."""
    landmarks = [abs(float(c)) for c in _landmarks(f, x, domain)]
    far = max(landmarks, default=0.0)
    return WINDOW if far < WINDOW / 2 else min(2 * far + 1, _WIDEST)


def _landmarks(f: sympy.Expr, x: sympy.Symbol, domain: sympy.Set | None) -> list[sympy.Expr]:
    points = []
    if domain is not None and _listable(domain):
        parts = domain.args if isinstance(domain, sympy.Union) else (domain,)
        for part in parts:
            ends = part.args if isinstance(part, sympy.FiniteSet) else (part.inf, part.sup)
            points += [e for e in ends if e.is_finite and e.is_real]
    for relation in f.atoms(sympy.core.relational.Relational):
        try:
            line = sympy.Poly(relation.lhs - relation.rhs, x)
        except sympy.PolynomialError:
            continue
        if line.degree() == 1 and not line.free_symbols - {x}:
            slope, offset = line.all_coeffs()
            points.append(-offset / slope)
    return [p for p in points if p.is_number and p.is_finite]


def _real(value: complex | None) -> bool:
    return value is not None and abs(value.imag) <= 1e-12 * max(1.0, abs(value.real))


# -- verification --------------------------------------------------------------------------


class _Form:
    """A candidate F compiled for checking on the scope's intervals (each check lazily)."""

    def __init__(self, F: sympy.Expr, scope: _Scope):
        self.F, self.scope = F, scope
        x = scope.x
        self.bad = None
        if F.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan, sympy.Integral, sympy.AccumBounds):
            self.bad = "it contains an infinite or undefined constant"
            return
        residual = derivative(F, x) - scope.f
        self.evaluators = [
            (evaluator(F, x, v), evaluator(residual, x, v), f_at)
            for v, f_at in zip(scope.values, scope.f_at, strict=True)
        ]
        self._jumps: list[float] | None = None

    def jumps(self) -> list[float]:
        if self._jumps is None:
            window = self.scope.window
            self._jumps = jump_candidates(self.F, self.scope.x, -window, window)
        return self._jumps

    def why_not(self, sampled: Sampled) -> str | None:
        """None when F is an antiderivative of f on this interval (at its samples)."""
        if self.bad:
            return self.bad
        x = self.scope.x
        for F_at, residual, f_at in self.evaluators:
            checked = 0
            for point in sampled.points:
                if not _real(f_at(point, 30)):
                    continue
                if not _real(F_at(point, 30)):
                    return f"it is not real and finite at {x} = {point:.4g}"
                verdict = residual_ok(residual, f_at, point)
                if verdict is False:
                    return f"its derivative differs from f at {x} = {point:.4g}"
                checked += verdict is True
            if checked == 0:
                return "it could not be checked at any point"
            jump = self._jump_inside(F_at, f_at, sampled.interval)
            if jump is not None:
                return jump
        return None

    def _jump_inside(self, F_at, f_at, interval) -> str | None:
        """Why F is not continuous inside the interval (a jump at a branch switch), or None."""
        low, high = float(interval.inf), float(interval.sup)
        x = self.scope.x
        for c in [c for c in self.jumps() if low < c < high][:60]:
            # c is a float, within 1e-16 of the true point: step well past that
            delta = 1e-11 * max(1.0, abs(c))
            f_left, f_right = f_at(c, 50, -delta), f_at(c, 50, delta)
            left, right = F_at(c, 50, -delta), F_at(c, 50, delta)
            if f_left is None or f_right is None or _blows_up(f_at, c, f_left, f_right):
                # a singular point of f the domain did not exclude (a pole at the end of a
                # piece): one constant across it only where F stays continuous there
                if not _joined_at(F_at, c):
                    return f"f is unbounded at {x} = {c:.6g}, where it is not continuous"
                continue
            if left is None or right is None:
                return f"it is undefined next to {x} = {c:.6g}"
            slope = max(abs(v) for v in (f_left, f_right) if v is not None)
            if abs(left - right) > 1e-7 * max(1.0, abs(left)) + 10 * delta * slope:
                return f"it jumps by {abs(right - left):.3g} at {x} = {c:.6g}"
        return None


def _unbounded_at(f_at, c: float) -> bool:
    """Whether |f| grows without bound at c, from either side: far larger 1e-20 from c than
    1e-10 from it (scale-free: a pole with a tiny residue counts)."""
    scale = max(1.0, abs(c))
    for side in (-1, 1):
        near, far = f_at(c, 60, side * 1e-20 * scale), f_at(c, 60, side * 1e-10 * scale)
        if near is None or far is None:
            return True
        if abs(near) > 1e3 * abs(far) and abs(near) > 0:
            return True
    return False


def _joined_at(F_at, c: float) -> bool:
    """Whether F has one finite limit at c: its values 1e-30 on either side agree (a
    logarithm's slow growth shows there; 2√x, F of an integrable 1/√x, is 2e-15)."""
    step = 1e-30 * max(1.0, abs(c))
    left, right = F_at(c, 60, -step), F_at(c, 60, step)
    if not (_real(left) and _real(right)):
        return False
    return abs(left - right) <= 1e-7 * max(1.0, abs(left))


def _blows_up(f_at, c: float, f_left: complex, f_right: complex) -> bool:
    """Whether f grows without bound at c (a pole): far larger next to c than near it."""
    step = 1e-6 * max(1.0, abs(c))
    near = [f_at(c, 50, -step), f_at(c, 50, step)]
    if any(v is None for v in near):
        return True
    scale = 1.0 + max(abs(v) for v in near)
    return max(abs(f_left), abs(f_right)) > 1e3 * scale


def _real_shift(form: _Form, sampled: Sampled) -> sympy.Expr | None:
    """F − i·c when F has the same imaginary part c, a rational multiple of π, at every
    sample point (a branch of log, Ei or Ci taken on the other side of its cut)."""
    F_at = form.evaluators[0][0]
    parts = [F_at(p, 30) for p in sampled.points]
    if any(v is None for v in parts):
        return None
    imaginary = [v.imag for v in parts]
    c = imaginary[0]
    if abs(c) < 1e-12 or any(abs(v - c) > 1e-12 * max(1.0, abs(c)) for v in imaginary):
        return None
    multiple = sympy.nsimplify(c / math.pi, rational=True, tolerance=1e-12)
    if multiple.q > 12 or abs(float(multiple) * math.pi - c) > 1e-12 * max(1.0, abs(c)):
        return None
    return form.F - sympy.I * sympy.pi * multiple


def _forms(F: sympy.Expr) -> list[sympy.Expr]:
    """F, then each branch of a top-level Piecewise F (a branch may hold where its
    condition, as SymPy wrote it, does not)."""
    forms = [F]
    if isinstance(F, sympy.Piecewise):
        forms += [e for e, _ in F.args if e not in forms]
    return forms


def _fit(
    F: sympy.Expr, scope: _Scope, whole_first: bool = True
) -> tuple[list[sympy.Expr | None], list[str]]:
    """For each sample interval, the form of F that is an antiderivative there (or None).

    F itself when it holds on every interval; otherwise, interval by interval, the
    simplest form that holds: a branch of a piecewise F before F, F shifted by a constant
    imaginary part last.  Remembered on the scope: the race checks the textbook rules'
    answer once for the signed-variable retry and again as an answer.
    """
    key = (F, whole_first)
    if key not in scope.fitted:
        scope.fitted[key] = (F, *_fit_anew(F, scope, whole_first))
    known, chosen, reasons = scope.fitted[key]
    return [F if c is known else c for c in chosen], list(reasons)


def _fit_anew(
    F: sympy.Expr, scope: _Scope, whole_first: bool
) -> tuple[list[sympy.Expr | None], list[str]]:
    forms = [_Form(form, scope) for form in _forms(F)]
    whole = [forms[0].why_not(sampled) for sampled in scope.samples]
    if whole_first and all(why is None for why in whole):
        return [F] * len(scope.samples), []
    chosen: list[sympy.Expr | None] = []
    reasons: list[str] = []
    for sampled, why in zip(scope.samples, whole, strict=True):
        pick = None
        for form in forms[1:]:
            if form.why_not(sampled) is None:
                pick = form.F
                break
        if pick is None and why is None:
            pick = F
        if pick is None and forms[0].bad is None:
            shifted = _real_shift(forms[0], sampled)
            if shifted is not None and _Form(shifted, scope).why_not(sampled) is None:
                pick = shifted
        chosen.append(pick)
        if pick is None:
            reasons.append(f"on {_interval_words(sampled.interval, scope.x, scope.window)} {why}")
    return chosen, reasons


def _interval_words(interval: sympy.Interval, x: sympy.Symbol, window: float = WINDOW) -> str:
    low, high = interval.inf, interval.sup
    if abs(float(low)) >= window and abs(float(high)) >= window:
        return "the real line"
    if abs(float(low)) >= window:
        return f"{x} < {sympy.sstr(high)}"
    if abs(float(high)) >= window:
        return f"{x} > {sympy.sstr(low)}"
    return f"{sympy.sstr(low)} < {x} < {sympy.sstr(high)}"


# -- one smooth integrand -------------------------------------------------------------------


@dataclasses.dataclass
class _Cover:
    """The forms found so far for each sample interval, and by which method."""

    forms: list[sympy.Expr | None]
    methods: list[str | None]
    steps: IntegralStep | None = None
    whole: sympy.Expr | None = None
    method: str | None = None

    @property
    def complete(self) -> bool:
        return all(f is not None for f in self.forms)


def _method_step(g, x, F, method: str) -> IntegralStep:
    return IntegralStep(f"{method} ({_ABOUT.get(method, method)})", g, x, F)


def _smooth(g: sympy.Expr, scope: _Scope, clock: _Clock, notes: list[str]) -> _Cover:
    """Race the methods on a smooth integrand ``g``; the cover of its sample intervals."""
    cover = None
    for cover in _racing(g, scope, clock, notes):  # noqa: B007 - the last one is the answer
        pass
    return cover


def _racing(g: sympy.Expr, scope: _Scope, clock: _Clock, notes: list[str]) -> Iterator[_Cover]:
    """The race on a smooth integrand: yields the cover when an answer first stands (so a
    caller can keep it if time runs out while the textbook rules look for steps), and at
    the end."""
    x = scope.x
    cover = _Cover([None] * len(scope.samples), [None] * len(scope.samples))
    outcomes: dict[str, str] = {}
    for method in METHODS:
        if cover.steps is not None:
            break
        answered = cover.whole is not None or cover.complete
        if answered and method.name != "manualintegrate":
            continue  # an answer is verified: only the textbook rules still run, for steps
        if method.skip(outcomes):
            outcomes[method.name] = "skipped"
            continue
        try:
            applies = method.applies(g, x)
        except Exception:  # noqa: BLE001 - a test SymPy cannot decide: try the method
            applies = True
        if not applies:
            continue
        if answered:
            yield dataclasses.replace(cover, forms=list(cover.forms), methods=list(cover.methods))
        share = _STEPS_SHARE if answered else method.share
        rules = _STEPS_RULES if answered else None
        value, why = _attempt(clock, share, method.run, g, x, rules=rules)
        if method.name == "manualintegrate" and not answered:
            partial = value is not None and value[0] is not None
            value = _manual_then_twins(value, g, scope, clock, cover, notes)
            if value is None and partial:
                outcomes[method.name] = "partial"
                continue
        if value is None or value[0] is None:
            outcomes[method.name] = {
                None: "none",
                "proved there is no elementary antiderivative": "proved",
                "ran out of its time": "timeout",
            }.get(why, "failed")
            notes.append(f"{method.name}: {why or 'found no antiderivative'}")
            continue
        F, tree = value
        F = real_form(sympy.sympify(F, strict=True), g)  # a SymPy result, never text
        chosen, reasons = _fit(F, scope)
        if not any(c is not None for c in chosen):
            outcomes[method.name] = "rejected"
            notes.append(
                f"{method.name}: answer rejected, {reasons[0] if reasons else 'unchecked'}"
            )
            continue
        if all(c is F for c in chosen):  # one formula for the whole domain
            outcomes[method.name] = "found"
            steps = None
            if tree is not None:
                steps, note = _checked_steps(tree, g, F, scope)
                if note:
                    notes.append(note)
            if cover.whole is None or steps is not None:
                cover.whole, cover.method = F, method.name
                cover.steps = steps
                cover.forms = list(chosen)
                cover.methods = [method.name] * len(chosen)
            continue
        outcomes[method.name] = "partial"
        notes.extend(f"{method.name}: holds only in part, {r}" for r in reasons)
        for i, form in enumerate(chosen):
            if cover.forms[i] is None and form is not None:
                cover.forms[i], cover.methods[i] = form, method.name
    yield _with_twins(g, scope, clock, cover, notes, "integrate")


def _with_twins(g, scope, clock, cover: _Cover, notes, name: str) -> _Cover:
    """The cover, its gaps on one side of 0 filled (if it can) by ``name`` in a signed variable."""
    if cover.whole is None and not cover.complete:
        _twins(g, scope, clock, cover, notes, next(m for m in METHODS if m.name == name))
    return cover


def _manual_then_twins(value, g, scope, clock, cover: _Cover, notes) -> object:
    """After the textbook rules: where their answer (if any) does not hold, try them again
    in a signed variable, before slower methods fill the gaps with longer formulas."""
    if value is not None and value[0] is not None:
        F = real_form(sympy.sympify(value[0], strict=True), g)  # never text
        chosen, _ = _fit(F, scope)
        if all(c is F for c in chosen):
            return value  # it holds everywhere: the race goes on as usual
        for i, form in enumerate(chosen):
            if cover.forms[i] is None and form is not None:
                cover.forms[i], cover.methods[i] = form, "manualintegrate"
        notes.append("manualintegrate: holds only in part")
    _with_twins(g, scope, clock, cover, notes, "manualintegrate")
    return None


def _twins(
    g: sympy.Expr, scope: _Scope, clock: _Clock, cover: _Cover, notes: list[str], method: Method
) -> None:
    """Fill intervals on one side of 0 by integrating in a signed variable.

    On x > 0 the integrand is integrated in a positive symbol t (so sqrt(t**2) = t and
    a substitution's condition is decided); on x < 0, x = -t: F(x) = -G(-x) where
    G' = g(-t).  Each answer is verified on the intervals it is meant for.
    """
    x = scope.x
    t = sympy.Symbol(f"{x.name}_", positive=True)
    for sign in (1, -1):
        wanted = [
            i
            for i, s in enumerate(scope.samples)
            if cover.forms[i] is None and (s.interval.inf >= 0 if sign > 0 else s.interval.sup <= 0)
        ]
        if not wanted:
            continue
        value, why = _attempt(clock, 0.3, method.run, sign * g.xreplace({x: sign * t}), t)
        side = f"{method.name} for {x} {'>' if sign > 0 else '<'} 0"
        if value is None or value[0] is None:
            notes.append(f"{side}: {why or 'none'}")
            continue
        G = sympy.sympify(value[0], strict=True)  # a SymPy result, never text
        F = real_form(G.xreplace({t: sign * x}), g)
        part = dataclasses.replace(scope, samples=tuple(scope.samples[i] for i in wanted))
        chosen, reasons = _fit(F, part, whole_first=False)
        notes.extend(f"{side}: {r}" for r in reasons)
        for i, form in zip(wanted, chosen, strict=True):
            if form is not None:
                cover.forms[i], cover.methods[i] = form, method.name


def _checked_steps(
    step: IntegralStep, g, F, scope: _Scope
) -> tuple[IntegralStep | None, str | None]:
    """The step tree when every step checks out (its root made F), else None.

    F itself, the root's equation, was verified by `_fit` at the same points: only the
    steps under it are checked here."""
    step = dataclasses.replace(step, result=F)
    for values in scope.values:
        why = check_steps(step, scope.points, values, root_verified=True)
        if why is not None:
            return None, f"steps withheld: {why}"
    return step, None


# -- piecewise integrands -----------------------------------------------------------------


def _pieces(g: sympy.Piecewise, x: sympy.Symbol) -> list[tuple[sympy.Expr, sympy.Interval]] | None:
    """The pieces of ``g`` on intervals that tile the real line, left to right, or None."""
    try:
        pairs = g.as_expr_set_pairs()
    except (NotImplementedError, TypeError, ValueError, AttributeError):
        return None
    pieces = []
    for expr, where in pairs:
        parts = where.args if isinstance(where, sympy.Union) else (where,)
        for part in parts:
            if part.is_empty:
                continue
            if not isinstance(part, sympy.Interval):
                return None
            pieces.append((expr, part))
    try:
        pieces.sort(key=lambda p: float(p[1].inf) if p[1].inf.is_finite else -math.inf)
    except TypeError:
        return None
    if not pieces or pieces[0][1].inf is not sympy.S.NegativeInfinity:
        return None
    if pieces[-1][1].sup is not sympy.S.Infinity:
        return None
    if any(a[1].sup != b[1].inf for a, b in zip(pieces, pieces[1:], strict=False)):
        return None
    return pieces


def _one_sided(F: sympy.Expr, x: sympy.Symbol, c: sympy.Expr, direction: str, values):
    """F(c) from one side, or None where F has no finite limit there (a pole)."""
    F_at = evaluator(F, x, values)
    sign = -1 if direction == "-" else 1
    near = [F_at(c, 60, sign * d * max(1.0, abs(float(c)))) for d in (1e-20, 1e-28)]
    if not all(_real(v) for v in near) or abs(near[0] - near[1]) > 1e-6 * max(1.0, abs(near[0])):
        return None
    try:
        value = F.subs(x, c)
        if value.is_finite and not value.has(sympy.nan, sympy.zoo):
            return value
        value = sympy.limit(F, x, c, direction)
    except (NotImplementedError, ValueError, TypeError):
        return None
    return value if value.is_finite else None


def _restricted(scope: _Scope, interval: sympy.Interval) -> _Scope:
    samples = []
    for sampled in scope.samples:
        inside = [p for p in sampled.points if interval.contains(p) is sympy.true]
        if inside:
            part = sympy.Intersection(sampled.interval, interval)
            samples.append(
                Sampled(
                    part if isinstance(part, sympy.Interval) else sampled.interval, tuple(inside)
                )
            )
    return dataclasses.replace(scope, samples=tuple(samples))


def _piecewise(g: sympy.Piecewise, scope: _Scope, clock: _Clock, notes: list[str]) -> _Cover:
    """Integrate piece by piece; constants make F continuous where f is integrable."""
    x = scope.x
    pieces = _pieces(g, x)
    if pieces is None:
        conditions = {s for _, c in g.args for s in getattr(c, "free_symbols", set())}
        if conditions - {x}:  # pieces that move with parameters: SymPy's answers are unreadable
            notes.append("piecewise: the pieces depend on parameters")
            return _Cover([None] * len(scope.samples), [None] * len(scope.samples))
        return _smooth(g, scope, clock, notes)
    branches, substeps, joined = [], [], []
    previous = None
    for expr, interval in pieces:
        part_scope = _restricted(scope, interval)
        if not part_scope.samples:  # the piece lies outside the domain or the window
            clipped = _clip(interval, scope.window)
            if clipped.is_empty:
                notes.append(f"piecewise: the piece on {interval} lies outside the window checked")
                return _Cover([None] * len(scope.samples), [None] * len(scope.samples))
            part_scope = dataclasses.replace(part_scope, samples=tuple(sample([clipped], 6)))
        cover = _smooth(expr, part_scope, clock, notes)
        own = _compose(cover, part_scope, x)
        if own is None:
            return _Cover([None] * len(scope.samples), [None] * len(scope.samples))
        F = own
        if previous is not None:
            c = interval.inf
            values = scope.values[0]
            left = _one_sided(previous, x, c, "-", values)
            right = _one_sided(F, x, c, "+", values)
            joined.append(left is not None and right is not None)
            if joined[-1]:
                shift = left - right
                F = F + (sympy.nsimplify(shift) if shift.is_Rational else shift)
        step = (
            cover.steps
            if cover.steps is not None
            else _method_step(expr, x, own, cover.method or "by interval")
        )
        substeps.append(dataclasses.replace(step, result=own, where=interval))
        branches.append((F, interval))
        previous = F
    # F continuous at c: the left branch includes c (x <= c); at a pole it does not
    conditions = [
        (x <= i.sup) if is_joined else (x < i.sup)
        for (_, i), is_joined in zip(branches[:-1], joined, strict=True)
    ]
    F = sympy.Piecewise(
        *((e, c) for (e, _), c in zip(branches[:-1], conditions, strict=True)),
        (branches[-1][0], True),
    )
    shown = sympy.Piecewise(*((e, _condition(i, x)) for e, i in pieces[:-1]), (pieces[-1][0], True))
    step = IntegralStep(
        "piecewise rule",
        shown,
        x,
        F,
        comment="integrate each piece; constants chosen so that F is continuous",
        substeps=tuple(substeps),
    )
    chosen, reasons = _fit(F, scope)
    notes.extend(f"piecewise: answer rejected, {r}" for r in reasons)
    cover = _Cover(chosen, ["piecewise"] * len(chosen))
    if all(c is F for c in chosen):
        cover.whole, cover.method = F, "piecewise"
        for values in scope.values:
            why = check_steps(step, scope.points, values)
            if why is not None:
                notes.append(f"steps withheld: {why}")
                step = None
                break
        cover.steps = step
    return cover


def _clip(interval: sympy.Interval, window: float = WINDOW) -> sympy.Interval:
    return sympy.Interval.open(max(interval.inf, -window), min(interval.sup, window))


def _condition(interval: sympy.Interval, x: sympy.Symbol) -> sympy.Basic:
    """The right end of an interval as a condition on x (pieces are read left to right)."""
    return x < interval.sup if interval.right_open else x <= interval.sup


def _compose(cover: _Cover, scope: _Scope, x: sympy.Symbol) -> sympy.Expr | None:
    """One formula for the scope: the whole answer, or the forms interval by interval."""
    if cover.whole is not None:
        return cover.whole
    if not cover.complete or not cover.forms:
        return None
    if all(f == cover.forms[0] for f in cover.forms):
        return cover.forms[0]
    return sympy.Piecewise(
        *(
            (form, _as_condition(s.interval, x, scope.window))
            for form, s in zip(cover.forms, scope.samples, strict=True)
        )
    )


def _as_condition(interval: sympy.Interval, x: sympy.Symbol, window: float = WINDOW) -> sympy.Basic:
    low, high = interval.inf, interval.sup
    parts = []
    if abs(float(low)) < window:
        parts.append(x > low)
    if abs(float(high)) < window:
        parts.append(x < high)
    return sympy.And(*parts) if parts else sympy.true


# -- the intervals with their own constants ---------------------------------------------------


def _continuous_across(F: sympy.Expr, scope: _Scope, c: sympy.Expr) -> bool:
    """Whether F has one finite limit at c from both sides (so one constant suffices).

    Never across a pole of f: F's logarithm there may be too weak to see at 60 digits
    (log|x - 1|/13! in ∫ dx/((x - 1)···(x - 14))).
    """
    if _unbounded_at(scope.f_at[0], float(c)):
        return False
    values = scope.values[0]
    F_at = evaluator(F, scope.x, values)
    near = []
    for delta in (1e-20, 1e-28):
        d = delta * max(1.0, abs(float(c)))
        near.append((F_at(c, 60, -d), F_at(c, 60, d)))
    flat = [v for pair in near for v in pair]
    if any(not _real(v) for v in flat):
        return False
    scale = max(1.0, *(abs(v) for v in flat))
    return max(abs(a - b) for a in flat for b in flat) <= 1e-6 * scale


def _intervals(F: sympy.Expr, scope: _Scope, domain: sympy.Set | None):
    """(intervals, domain) for the result: where F holds with a constant of its own."""
    samples = scope.samples
    if domain is not None and _listable(domain) and _beyond(domain, scope.window):
        return None, domain  # an end beyond the window checked (a pole at 2e4): say so
    if len(samples) < 2:
        return None, None
    groups = [[samples[0].interval]]
    for left, right in zip(samples, samples[1:], strict=False):
        same_point = left.interval.sup == right.interval.inf
        if same_point and _continuous_across(F, scope, left.interval.sup):
            groups[-1].append(right.interval)
        else:
            groups.append([right.interval])
    if len(groups) == 1:
        return None, None
    if domain is None or not _listable(domain):
        return None, domain
    out = []
    for group in groups:
        low, high = group[0].inf, group[-1].sup
        low = -sympy.oo if abs(float(low)) >= scope.window else low
        high = sympy.oo if abs(float(high)) >= scope.window else high
        part = sympy.Intersection(domain, sympy.Interval(low, high))
        out.append(part if isinstance(part, sympy.Interval) else sympy.Interval.open(low, high))
    return tuple(out), None


def _beyond(domain: sympy.Set, window: float) -> bool:
    """Whether a finite end of the domain's intervals lies outside the window."""
    ends = [abs(float(e)) for e in _landmarks(sympy.S.Zero, sympy.Dummy(), domain)]
    return any(e >= window for e in ends)


def _listable(domain: sympy.Set) -> bool:
    if isinstance(domain, sympy.Interval):
        return True
    return isinstance(domain, sympy.Union) and all(
        isinstance(p, (sympy.Interval, sympy.FiniteSet)) for p in domain.args
    )


# -- the search -------------------------------------------------------------------------------


def _positive_twin(problem: Problem) -> tuple[Problem, sympy.Symbol] | None:
    """The problem in a positive symbol when the variable's domain lies in x > 0."""
    if problem.domain.is_subset(sympy.Interval.open(0, sympy.oo)) is not True:
        return None
    x = problem.variable
    t = sympy.Symbol(x.name, positive=True)
    return (
        dataclasses.replace(problem, integrand=problem.integrand.xreplace({x: t}), variable=t),
        t,
    )


def _solutions(problem: Problem, clock: _Clock, rank: int) -> Iterator[Found]:
    """Ever better answers to one problem; a last `Found` without F says why there is none."""
    twin = _positive_twin(problem)
    working = twin[0] if twin else problem
    x = working.variable
    g = prepare(working.integrand)
    notes: list[str] = []
    scope, domain = _scope(g, x, working.domain, working.values, clock)
    if not scope.samples:
        yield Found(problem, None, None, "none", notes=("f is not real at any point tried",))
        return
    if isinstance(g, sympy.Piecewise):
        covers: Iterator[_Cover] = iter([_piecewise(g, scope, clock, notes)])
    else:
        covers = _racing(g, scope, clock, notes)
    found = None
    for cover in covers:
        F = _compose(cover, scope, x)
        if F is None:
            continue
        found = _found(problem, twin, g, F, cover, scope, domain, notes, rank)
        yield found
    if found is None:
        yield Found(problem, None, None, "none", notes=tuple(notes))


def _found(problem, twin, g, F, cover, scope, domain, notes, rank) -> Found:
    x = scope.x
    method = (
        cover.method
        or "by interval (" + ", ".join(dict.fromkeys(m for m in cover.methods if m)) + ")"
    )
    steps = cover.steps if cover.whole is not None else None
    if steps is None:
        steps = _method_step(g, x, F, method)
    intervals, loose = _intervals(F, scope, domain)
    if twin:
        back = {x: problem.variable}
        F = F.xreplace(back)
        steps = _renamed(steps, x, problem.variable)
        if loose is not None:
            loose = loose.xreplace(back)
    return Found(
        problem,
        F,
        steps,
        method,
        intervals=intervals,
        domain=loose,
        notes=tuple(notes),
        rank=rank + (2 if cover.steps is not None else 1),
    )


def _renamed(step: IntegralStep, old: sympy.Symbol, new: sympy.Symbol) -> IntegralStep:
    swap = {old: new}
    return dataclasses.replace(
        step,
        integrand=step.integrand.xreplace(swap),
        variable=new if step.variable == old else step.variable,
        result=step.result.xreplace(swap),
        details=tuple((k, v.xreplace(swap)) for k, v in step.details),
        substeps=tuple(_renamed(s, old, new) for s in step.substeps),
    )


def search(
    problems: Sequence[Problem], seconds: float | None, interruptible: bool = False
) -> Iterator[Found]:
    """Yield ever better `Found` answers; the last one is the best found.

    ``problems`` are in order of preference (parameters kept symbolic first, the values
    put in last).  The last, most concrete problem is solved first: it is the cheapest
    and decides whether there is any closed form at all.  When it has an answer, that
    is yielded at once and the more symbolic problems are tried with the time left,
    each answer that is found replacing it.  A `Found` without an antiderivative carries
    the reasons.  ``interruptible`` lets CPU-time slices stop a method (only in the
    budget's child process).
    """
    clock = _Clock(seconds, interruptible)
    *symbolic, concrete = problems
    failures: list[str] = []
    answered = False
    for found in _attempts(concrete, clock, 1.0, 10):
        if found.antiderivative is not None:
            answered = True
            yield found
        else:
            failures.extend(found.notes)
    if not answered:
        yield Found(concrete, None, None, "none", notes=tuple(failures))
        return
    for index, problem in enumerate(symbolic):
        rank = 10 * (len(problems) - index)
        share = 1.0 if index == len(symbolic) - 1 else 0.5
        for found in _attempts(problem, clock, share, rank):
            if found.antiderivative is not None:
                yield found
                return


def _attempts(problem: Problem, clock: _Clock, share: float, rank: int) -> Iterator[Found]:
    """`_solutions` of one problem on its share of the time; running out ends them."""
    seconds = None if clock.seconds is None else share * clock.remaining()
    part = _Clock(seconds, clock.interruptible)
    try:
        yield from _solutions(problem, part, rank)
    except _OutOfTime:
        yield Found(problem, None, None, "none", notes=("ran out of time",))
