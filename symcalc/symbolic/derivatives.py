"""Symbolic derivatives: first and higher, any variable, tidied within a time budget.

`derivative` returns the SymPy expression; `derive` returns a `Derivation`: the
derivative with its step-by-step rule trees, the textbook identity where the
catalog has one, the kinks, and renderings as text, LaTeX and JSON.

Kinks follow a convention (see `symcalc.symbolic.kinks`): by default relu'(0) = 0, as in
PyTorch and JAX.  Simplification runs under a time budget: when it cannot finish,
the correct but untidied derivative is returned and ``simplified`` is False.

Examples
--------
>>> derivative("tanh")
1 - tanh(x)**2
>>> derivative("relu")
Piecewise((1, x > 0), (0, True))
>>> derive("sigmoid").identity
(1 - sigmoid(x))*sigmoid(x)
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from collections.abc import Mapping
from typing import Any

import sympy

from ..errors import SymcalcError, TimeBudgetExceeded
from . import budget
from .catalog import Entry
from .domains import evaluator, nowhere_real_error
from .functions import latex, name_latex
from .kinks import (
    SEARCH_INTERVAL,
    KinkSearch,
    apply_convention,
    deciding_rules,
    heaviside_at_zero,
    kink_candidates,
    periodic_switches,
    points_within,
    search_unsolved_kinks,
    tie_value,
    value_at,
)
from .parse import MAX_ORDER, derivative_request, resolve  # MAX_ORDER: one limit for both
from .special import BY_CLASS

__all__ = ["Derivation", "derivative", "derive"]


def variable_of(entry: Entry, wrt: str | sympy.Symbol | None) -> sympy.Symbol:
    """The symbol to differentiate by: ``wrt`` checked against the entry's variables.

    A parameter name (``alpha`` of elu) is accepted too: the derivative with respect
    to a trainable parameter.

    Examples
    --------
    >>> from symcalc.symbolic.catalog import get
    >>> variable_of(get("mse"), "y")
    y
    """
    if wrt is None:
        return entry.variable
    name = wrt.name if isinstance(wrt, sympy.Symbol) else str(wrt).strip()
    allowed = {v.name: v for v in entry.variables}
    allowed.update(entry.parameter_symbols)
    allowed.update({s.name: s for s in entry.expr.free_symbols if isinstance(s, sympy.Symbol)})
    if name not in allowed:
        from ..errors import did_you_mean

        listed = ", ".join(v.name for v in entry.variables)
        raise SymcalcError(
            f"unknown variable '{name}' for {entry.signature()}{did_you_mean(name, allowed)}"
            f" (its variables: {listed})"
        )
    return allowed[name]


def _check_order(order: Any) -> int:
    if (
        isinstance(order, bool)
        or not isinstance(order, (int,))
        and not (isinstance(order, float) and order.is_integer())
    ):
        raise SymcalcError(
            f"`order` must be a whole number from 1 to {MAX_ORDER}, got {order!r}",
            parameter="order",
        )
    order = int(order)
    if not 1 <= order <= MAX_ORDER:
        raise SymcalcError(
            f"`order` must be a whole number from 1 to {MAX_ORDER}, got {order}", parameter="order"
        )
    return order


def differentiate(expr: sympy.Expr, var: sympy.Symbol, convention: str = "zero") -> sympy.Expr:
    """One derivative, with the kink convention applied and ``u*sign(u)`` written ``|u|``.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> differentiate(sympy.Max(0, x), x)
    Piecewise((1, x > 0), (0, True))
    """
    _refuse_without_partial(expr, var)
    if expr.has(sympy.Abs, sympy.sign, sympy.Max, sympy.Min):
        real = expr.replace(lambda e: type(e) in _REAL, lambda e: _REAL[type(e)](*e.args))
        found = sympy.diff(real, var).replace(
            lambda e: type(e) in _GENERAL, lambda e: _GENERAL[type(e)](*e.args)
        )
    else:
        found = sympy.diff(expr, var)
    _refuse_unevaluated(found, var)
    return _clean(apply_convention(found, convention))


def _refuse_without_partial(expr: sympy.Expr, var: sympy.Symbol) -> None:
    """Refuse a special function whose argument in ``var`` has no closed-form partial in
    `symcalc.symbolic.special` (SymPy may answer with a Meijer G no parser reads back:
    expint(ν, 3) in ν)."""
    for e in sympy.preorder_traversal(expr):
        entry = BY_CLASS.get(type(e))
        if entry is None:
            continue
        partials = entry.partials + (None,) * (len(e.args) - len(entry.partials))
        where = [str(i + 1) for i, a in enumerate(e.args) if a.has(var) and partials[i] is None]
        if where:
            raise SymcalcError(
                f"no closed-form derivative of {sympy.sstr(e)} with respect to {var}: "
                f"symcalc does not differentiate {entry.name} in its argument {' and '.join(where)}"
            )


def _refuse_unevaluated(found: sympy.Expr, var: sympy.Symbol) -> None:
    """Refuse a derivative SymPy left unevaluated (a special function differentiated in an
    argument without a closed-form partial: ζ(s) in s, besselj(ν, x) in its order ν)."""
    left = sorted(found.atoms(sympy.Derivative), key=sympy.default_sort_key)
    if not left:
        return
    inner = left[0].expr
    if isinstance(inner, sympy.Function):
        where = [str(i + 1) for i, a in enumerate(inner.args) if a.has(var)]
        what = f"{inner.func.__name__} in its argument {' and '.join(where)}"
    else:
        what = getattr(inner.func, "__name__", sympy.sstr(inner))
    raise SymcalcError(
        f"no closed-form derivative of {sympy.sstr(inner)} with respect to {var}: "
        f"symcalc does not differentiate {what}"
    )


class _RealAbs(sympy.Abs):
    """|u| of a u that is real wherever it is defined, as every part of a symcalc
    expression is: its derivative is u′·sign(u).  SymPy's own `Abs` differentiates a u
    it cannot prove real (``sqrt(x)``, ``log(x)``: complex for x < 0) as a complex
    function, with ``re``, ``im`` and ``atan2`` in the result."""

    def _eval_derivative(self, x):
        u = self.args[0]
        return sympy.Derivative(u, x, evaluate=True) * sympy.sign(u)


class _RealSign(sympy.sign):
    """sign(u) of a u that is real wherever it is defined: its derivative is
    2·δ(u)·u′, zero away from u = 0 (the kink convention drops δ).  SymPy leaves
    ``Derivative(sign(u), x)`` unevaluated for a u it cannot prove real (``log(x) +
    sin(x)``), which no kernel can evaluate: the second derivative of |log x + sin x|."""

    def _eval_derivative(self, x):
        u = self.args[0]
        return 2 * sympy.DiracDelta(u) * sympy.Derivative(u, x, evaluate=True)


def _tie_derivative(expr: sympy.Basic, x: sympy.Symbol, larger: bool) -> sympy.Expr | None:
    """d/dx of max(u, v) (``larger``) or min(u, v) with the tie value between the
    one-sided slopes (`tie_value`); None where one argument is constant in ``x`` (the
    relu family), so SymPy's rule stands."""
    if len(expr.args) != 2 or not all(a.has(x) for a in expr.args):
        return None
    u, v = expr.args
    du, dv = (sympy.Derivative(a, x, evaluate=True) for a in (u, v))
    u_taken, v_taken = (u > v, u < v) if larger else (u < v, u > v)
    pieces = ((du, u_taken), (dv, v_taken), (tie_value(du, dv), True))
    try:
        return sympy.Piecewise(*pieces)
    except RecursionError:
        # SymPy's Piecewise can flip a condition with decimal coefficients back and forth
        # for ever (0.0036*x - 3.0 < 0.29 - 0.47*x); the conditions as written are right
        return sympy.Piecewise(*pieces, evaluate=False)


class _TieMax(sympy.Max):
    """max(u, v) whose derivative at a tie lies between its one-sided slopes (`tie_value`);
    where one argument is constant in the variable (the relu family) SymPy's rule stands."""

    def _eval_derivative(self, x):
        derivative = _tie_derivative(self, x, larger=True)
        return super()._eval_derivative(x) if derivative is None else derivative


class _TieMin(sympy.Min):
    """min(u, v), as `_TieMax`."""

    def _eval_derivative(self, x):
        derivative = _tie_derivative(self, x, larger=False)
        return super()._eval_derivative(x) if derivative is None else derivative


#: SymPy's functions -> their real-argument stand-ins while differentiating, and back.
_REAL = {sympy.Abs: _RealAbs, sympy.sign: _RealSign, sympy.Max: _TieMax, sympy.Min: _TieMin}
_GENERAL = {real: general for general, real in _REAL.items()}


def _clean(expr: sympy.Expr) -> sympy.Expr:
    """Identities SymPy leaves alone for real arguments: u*sign(u) = |u|."""
    if not expr.has(sympy.sign):
        return expr

    def fold(term):
        if not isinstance(term, sympy.Mul):
            return term
        factors = list(term.args)
        for s in [f for f in factors if isinstance(f, sympy.sign)]:
            u = s.args[0]
            for candidate in (u, -u):
                if candidate in factors and s in factors:
                    factors.remove(candidate)
                    factors.remove(s)
                    factors.append(sympy.Abs(u) if candidate == u else -sympy.Abs(u))
        return sympy.Mul(*factors)

    return expr.replace(lambda e: isinstance(e, sympy.Mul) and e.has(sympy.sign), fold)


# -- tidying under a time budget ---------------------------------------------------


def _readability(expr: sympy.Expr, original: sympy.Expr) -> float:
    """Lower is more readable: operation count, with penalties for surprising forms."""
    score = float(sympy.count_ops(expr))
    new_functions = {type(f) for f in expr.atoms(sympy.Function)} - {
        type(f) for f in original.atoms(sympy.Function)
    }
    score += 4 * len(new_functions)
    for pw in expr.atoms(sympy.Piecewise):
        score += 6 * (len(pw.atoms(sympy.Piecewise)) - 1)
        score += 4 * sum(1 for _, cond in pw.args if cond.has(sympy.Eq))
    return score


def _tidier_forms(expr: sympy.Expr):  # runs in the budget's child process
    """Yield ever more readable forms of ``expr``: cheap rewrites first, simplify last.

    ``simplify`` works on the best cheap form, not on ``expr`` as differentiated: on the
    raw second derivative of gelu_tanh it runs for minutes, on its factored form for a
    second (for every catalog derivative the answer is the same).
    """
    best, best_score = expr, _readability(expr, expr)
    yield best

    def consider(candidate):
        nonlocal best, best_score
        score = _readability(candidate, expr)
        if (score, sympy.default_sort_key(candidate)) < (best_score, sympy.default_sort_key(best)):
            if not same_values(candidate, expr):  # SymPy's simplify got it wrong
                return False
            best, best_score = candidate, score
            return True
        return False

    cheap = (sympy.factor_terms, sympy.together, sympy.cancel)
    for tidy_step in cheap:
        try:
            if consider(_clean(tidy_step(expr))):
                yield best
        except (NotImplementedError, TypeError, ValueError, sympy.PolynomialError, RecursionError):
            continue
    if expr.has(sympy.Piecewise) and expr.has(sympy.Max, sympy.Min):
        # Inside a branch, a max/min is often decided by the branch's condition.
        try:
            unfolded = expr.replace(
                lambda e: isinstance(e, (sympy.Max, sympy.Min)),
                lambda e: e.rewrite(sympy.Piecewise),
            )
            if consider(sympy.simplify(sympy.piecewise_fold(unfolded))):
                yield best
        except _SYMPY_LOOPS:
            pass
    try:
        if consider(_clean(sympy.simplify(best))):
            yield best
    except _SYMPY_LOOPS:
        pass  # the best form so far stands (it is checked against expr)


#: What SymPy raises where a rewrite loops: its Piecewise flips a condition with decimal
#: coefficients back and forth (Max(0.0036*x - 3.0, 0.29 - 0.47*x).rewrite(Piecewise)).
#: A tidying step that raises it is skipped; the form found before it stands.
_SYMPY_LOOPS = (RecursionError,)


def same_values(form: sympy.Expr, expr: sympy.Expr, count: int = 8) -> bool:
    """Whether ``form`` has the values of ``expr`` (double precision, from 30 digits) at
    random points where ``expr`` is real: a tidied derivative is checked, not trusted
    (SymPy's simplify read Min(sin(x), J₁(5))′ = cos(x)·[sin(x) < J₁(5)] as 0).
    Other symbols take the same random values in both."""
    import random

    symbols = sorted(expr.free_symbols | form.free_symbols, key=sympy.default_sort_key)
    x = symbols[0] if symbols else sympy.Dummy("x")
    generator = random.Random(20261201)
    for _ in range(2):
        values = {s: sympy.Float(generator.uniform(0.3, 2.5), 15) for s in symbols[1:]}
        at_form, at_expr = evaluator(form, x, values), evaluator(expr, x, values)
        points = [generator.uniform(-30, 30)] + [
            generator.uniform(-6, 6) for _ in range(count // 2)
        ]
        for point in points:
            want = at_expr(point, 30)
            if want is None or abs(want.imag) > 1e-12 * max(1.0, abs(want.real)):
                continue  # not real there: no value to keep
            got = at_form(point, 30)
            if got is None or abs(got - want) > 1e-9 * max(1.0, abs(want)):
                return False
        for end in _condition_ends(expr, x, values):  # exactly: the conditions decide there
            want = expr.xreplace(values).subs(x, end)
            if not (want.is_number and want.is_finite and want.is_extended_real):
                continue
            got = form.xreplace(values).subs(x, end)
            if (
                not (got.is_number and got.is_finite)
                or abs(complex(sympy.N(got - want, 30))) > 1e-9
            ):
                return False
    return True


def _condition_ends(expr: sympy.Expr, x: sympy.Symbol, values) -> list[sympy.Expr]:
    """Where a condition of ``expr`` linear in x changes (a kink: x = J₁(5) in Min(x, J₁(5))′,
    whose value under the convention a tidied form must keep)."""
    ends = []
    for relation in expr.atoms(sympy.core.relational.Relational):
        try:
            line = sympy.Poly((relation.lhs - relation.rhs).xreplace(values), x)
        except (sympy.PolynomialError, sympy.GeneratorsNeeded):
            continue
        if line.degree() == 1 and not line.free_symbols - {x}:
            slope, offset = line.all_coeffs()
            ends.append(-offset / slope)
    return ends[:8]


#: Finished tidyings, by expression: asking again costs nothing.
_TIDIED: dict[sympy.Expr, sympy.Expr] = {}
#: Tidyings their budget cut short, by expression: the best form found, the budget it had
#: and the budget of the call it was part of (`derivative` shares one among its orders).
#: Asking again with no more time, or within a call with no larger budget, gives that form
#: at once, so one process gives one answer to one question (a plot and the kernels of its
#: curves, a page and its checks, a kernel of f″ and an export built after it, whose
#: order 1 is then remembered and leaves order 2 a larger share); a larger budget searches
#: again.
_TIDIED_PARTLY: dict[sympy.Expr, tuple[sympy.Expr, float, float]] = {}


def tidy(
    expr: sympy.Expr, seconds: float | None = None, *, call_seconds: float | None = None
) -> tuple[sympy.Expr, bool]:
    """The most readable form found within ``seconds``, and whether the search finished.

    Cheap rewrites (factor_terms, together, cancel) come first and SymPy's ``simplify``
    of the best of them last; when time runs out the best form found so far is returned.
    Results are cached, so asking again costs nothing (a search cut short is searched
    again only when asked with a larger budget).  ``seconds=None`` is the current
    default budget (`symcalc.symbolic.budget.default_seconds`); ``math.inf`` is no limit.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> tidy(x * (1 + x) - x)
    (x**2, True)
    """
    if sympy.count_ops(expr) <= 2:
        return expr, True
    if expr in _TIDIED:
        return _TIDIED[expr], True
    if seconds is None:
        seconds = budget.default_seconds()
    call_seconds = seconds if call_seconds is None else call_seconds
    partly = _TIDIED_PARTLY.get(expr)
    if partly is not None and (seconds <= partly[1] or call_seconds <= partly[2]):
        return partly[0], False
    best, finished = budget.best_within(seconds, _tidier_forms, expr)
    best = expr if best is None else best
    cache = _TIDIED if finished else _TIDIED_PARTLY
    if len(cache) > 1024:
        cache.clear()
    if finished:
        _TIDIED[expr] = best
        _TIDIED_PARTLY.pop(expr, None)
    else:
        _TIDIED_PARTLY[expr] = (best, seconds, call_seconds)
    return best, finished


def _tidy_shared(
    expr: sympy.Expr, seconds: float, start: float, left: int
) -> tuple[sympy.Expr, bool]:
    """`tidy` with an even share of what is left of ``seconds`` of CPU time counted from
    ``start`` (`symcalc.symbolic.budget.cpu_seconds`) among the ``left`` derivatives still
    to tidy: one budget for all the orders of a call, which added up before (order 5 of
    (x + 1)^1000·sin(x)^50: five budgets, 53 s).  Where the budget is spent, the form is
    the one `tidy` already found, or ``expr`` as it is (not simplified), remembered as a
    search cut short within a call of ``seconds``."""
    if seconds == math.inf:
        return tidy(expr, seconds)
    share = (seconds - (budget.cpu_seconds() - start)) / left
    if share >= _LEAST_SHARE:
        return tidy(expr, share, call_seconds=seconds)
    if sympy.count_ops(expr) <= 2:
        return expr, True
    known = _TIDIED.get(expr)
    if known is not None:
        return known, True
    partly = _TIDIED_PARTLY.get(expr)
    if partly is not None and seconds <= partly[2]:
        return partly[0], False
    # remembered as a search cut short at once, so that a later call with no larger
    # budget (an export after a kernel) gives this form too, not one it finds with the
    # larger share it gets when order 1 is remembered
    _TIDIED_PARTLY[expr] = (expr, 0.0, seconds)
    return expr, False


#: A derivative is not sent to be tidied with less than this many CPU seconds left.
_LEAST_SHARE = 0.05
#: A formula with more operations than this is differentiated in a worker, under what is
#: left of the call's budget: untidied derivatives grow (gelu_tanh's tenth ran for
#: minutes in SymPy's diff).
_LARGE = 400


def _differentiate_shared(
    expr: sympy.Expr,
    var: sympy.Symbol,
    convention: str,
    seconds: float,
    start: float,
    order: int,
    name: str,
) -> sympy.Expr:
    """`differentiate`, under what is left of ``seconds`` of CPU time counted from
    ``start`` where ``expr`` is large; a one-line refusal where that runs out."""
    if seconds == math.inf or sympy.count_ops(expr) <= _LARGE:
        return differentiate(expr, var, convention)
    left = seconds - (budget.cpu_seconds() - start)
    try:
        if left < _LEAST_SHARE:
            raise TimeBudgetExceeded("differentiation", seconds)
        return budget.within(left, differentiate, expr, var, convention, what="differentiation")
    except TimeBudgetExceeded:
        raise SymcalcError(
            f"derivative {order} of {name} grew too large to find within the budget of "
            f"{seconds:g} s of CPU time for the whole call; ask for a lower order, or give "
            "more time (`timeout`, SYMCALC_TIME_BUDGET)",
            parameter="timeout",
        ) from None


# -- kinks -------------------------------------------------------------------------


def _probe_values(entry: Entry, var: sympy.Symbol) -> dict[sympy.Symbol, sympy.Expr]:
    """Numbers for every symbol but ``var``: parameter defaults, fixed values, else 0.7."""
    values: dict[sympy.Symbol, sympy.Expr] = {}
    for name, value in entry.params.items():
        values[sympy.Symbol(name, real=True)] = value
    for v in entry.variables:
        if v != var:
            values[v] = sympy.nsimplify(entry.fixed.get(v.name, 0.7))
    return values


def _jumps(expr: sympy.Expr, var: sympy.Symbol, point: float) -> bool:
    h = 1e-7 * max(1.0, abs(point))
    try:
        left = complex(expr.subs(var, point - h).evalf(30))
        right = complex(expr.subs(var, point + h).evalf(30))
    except (TypeError, ValueError):
        return True
    if not (math.isfinite(abs(left)) and math.isfinite(abs(right))):
        return True
    return abs(left - right) > 1e-5 * (1 + abs(left) + abs(right))


def find_kinks(
    function: sympy.Expr, result: sympy.Expr, var: sympy.Symbol, entry: Entry
) -> tuple[sympy.Expr, ...]:
    """Points where ``function`` is not differentiable in ``var``.

    Candidates come from the non-smooth parts of ``function``; each is kept only if
    ``function`` or its derivative ``result`` has different one-sided limits there
    (a jump in ``function`` itself, like relu' at 0, leaves no derivative), checked with the
    parameters at their defaults and other variables at their ``fixed`` values.
    Symbolic positions (hinge: p = 1/y) are checked the same way and kept symbolic.
    """
    values = _probe_values(entry, var)
    kinks = []
    for point in kink_candidates(function, var):
        try:
            at = float(point.subs(values))
        except (TypeError, ValueError):
            kinks.append(point)
            continue
        if not math.isfinite(at):
            continue
        if _jumps(function.subs(values), var, at) or _jumps(result.subs(values), var, at):
            kinks.append(point)
    return tuple(kinks)


def find_unsolved_kinks(
    function: sympy.Expr,
    result: sympy.Expr,
    var: sympy.Symbol,
    entry: Entry,
    kinks: tuple[sympy.Expr, ...],
) -> KinkSearch:
    """The kinks at zeros SymPy cannot solve for (x·sin x = 1), found numerically.

    `~symcalc.symbolic.kinks.search_unsolved_kinks` gives the certified sign changes of
    each such switch; each is kept, as `find_kinks` keeps a candidate, where ``function``
    or ``result`` jumps, and unless it is one of ``kinks`` already.
    """
    search = search_unsolved_kinks(function, var)
    if search.complete:
        return search
    values = _probe_values(entry, var)
    exact = []
    for point in kinks:
        try:
            exact.append(float(point.subs(values)))
        except (TypeError, ValueError):
            continue
    kept = []
    for point in search.points:
        at = float(point)
        if any(abs(at - k) <= 1e-9 * max(1.0, abs(k)) for k in exact):
            continue
        if _jumps(function.subs(values), var, at) or _jumps(result.subs(values), var, at):
            kept.append(point)
    return dataclasses.replace(search, points=tuple(kept))


# -- the public API ---------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class Derivation:
    """A derivative with everything that explains it.

    ``steps`` holds one rule tree per order (the tree for order k differentiates the
    tidied derivative of order k - 1).  ``identity`` is the catalog's classic closed
    form (first derivatives in the entry's main variable only), shown only where it
    equals the derivative under the chosen ``convention``, kinks included: checked at
    random points and, exactly, at every kink.  ``kink_values`` holds the derivative's
    value at each kink (None where it is not one definite expression).
    """

    input: str
    entry: Entry
    variable: sympy.Symbol
    order: int
    expr: sympy.Expr
    derivative: sympy.Expr
    identity: sympy.Expr | None
    kinks: tuple[sympy.Expr, ...]
    convention: str
    simplified: bool
    steps: tuple[Any, ...] = ()
    kink_values: tuple[sympy.Expr | None, ...] = ()
    #: Infinite sets of kinks (sign(sin x): every n pi), each an image of the integers; the
    #: points of ``kinks`` lie outside them.
    kink_sets: tuple[sympy.Set, ...] = ()
    #: The derivative's value on each set of ``kink_sets`` where one value holds at the
    #: points checked, else None.
    kink_set_values: tuple[sympy.Expr | None, ...] = ()
    #: The switches SymPy cannot solve (x·sin x - 1) and the kinks found numerically at
    #: their zeros (``kink_search.points``, certified, on ``kink_search.interval`` only);
    #: where there are such switches the kinks listed may not be all.
    kink_search: KinkSearch = KinkSearch()
    #: The real ``variable`` where every part of the function is real (`real_domain`):
    #: the derivative is the derivative there only.  Outside it (|sqrt x| at x = -2) the
    #: formula may still evaluate to a number, which is not the derivative.  None where
    #: it is not known (SymPy found none in time, or it missed real points: log(sin x)).
    domain: sympy.Set | None = None

    def domain_text(self) -> str | None:
        """``x in Interval(0, oo)``, or None where it is every real number or not known.

        Examples
        --------
        >>> derive("abs(sqrt(x))", steps=False).domain_text()
        'x in Interval(0, oo); outside it the formula is not the derivative'
        """
        if self.domain is None or self.domain == sympy.S.Reals:
            return None
        return (
            f"{self.variable} in {sympy.sstr(self.domain)}; "
            "outside it the formula is not the derivative"
        )

    @property
    def kinks_complete(self) -> bool:
        """Whether ``kinks`` and ``kink_sets`` hold every kink (SymPy solved every switch)."""
        return self.kink_search.complete

    @property
    def partial(self) -> bool:
        """Whether the function has several variables, so the derivative is written ∂."""
        return len(self.entry.variables) > 1

    @property
    def notation(self) -> str:
        """``d/dx``, ``d²/dx²`` or ``∂/∂p`` style operator, plain text."""
        d = "∂" if self.partial else "d"
        v = self.variable.name
        if self.order == 1:
            return f"{d}/{d}{v}"
        sup = str(self.order).translate(str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹"))
        return f"{d}{sup}/{d}{v}{sup}"

    def latex_notation(self) -> str:
        """``\\frac{d}{dx}`` or ``\\frac{\\partial}{\\partial p}`` (and higher orders)."""
        v = latex(self.variable)
        d = r"\partial " if self.partial else "d"
        top = r"\partial" if self.partial else "d"
        if self.order == 1:
            return rf"\frac{{{top}}}{{{d}{v}}}"
        return rf"\frac{{{top}^{{{self.order}}}}}{{{d}{v}^{{{self.order}}}}}"

    def kinks_text(self) -> str | None:
        """``x = 0, where d/dx relu(x) = 0 (convention 'zero': Heaviside(0) = 0)``, or None.

        Kinks found numerically are written ``x ≈ 1.11415714087193``, and where the list
        may be incomplete the text says so."""
        note = self.kink_search.note(self.variable)
        if not self.kinks and not self.kink_sets and not self.kink_search.points:
            return None if note is None else f"none found; {note}"
        from .render import TextPrinter

        text = TextPrinter()
        call = f"{self.notation} {self.entry.signature()}"
        places = []
        set_values = self.kink_set_values or (None,) * len(self.kink_sets)
        for found, value in zip(self.kink_sets, set_values, strict=True):
            place = kink_set_text(self.variable, found)
            if value is not None:
                place += f", where {call} = {text.doprint(value)}"
            places.append(place)
        values = self.kink_values or (None,) * len(self.kinks)
        for point, value in zip(self.kinks, values, strict=True):
            place = f"{self.variable} = {text.doprint(point)}"
            if value is not None:
                place += f", where {call} = {text.doprint(value)}"
            places.append(place)
        places.extend(f"{self.variable} ≈ {point}" for point in self.kink_search.points)
        rules = deciding_rules(self._differentiated(), self.convention)
        why = f" ({'; '.join(rules)})" if rules else ""
        return "; ".join(places) + why + ("" if note is None else f"; {note}")

    def _differentiated(self) -> sympy.Expr:
        """The function the last derivative was taken of (f, or f^(n-1) for order n)."""
        return self.steps[-1].expr if self.steps else self.expr

    @property
    def identity_conditions(self) -> tuple[sympy.Eq, ...]:
        """What the variables obey for the classic form to hold (Σ y = 1), or ()."""
        from .steps import conditions

        return conditions(self.entry.constraints) if self.identity is not None else ()

    @property
    def shows_identity(self) -> bool:
        """Whether a classic form is printed: there is one and it is written differently."""
        return self.identity is not None and sympy.sstr(self.identity) != sympy.sstr(
            self.derivative
        )

    def to_text(self, steps: bool = False) -> str:
        """Formula, derivative, classic form and kinks as plain text; optionally the steps."""
        from . import render

        name = self.entry.signature()
        lines = [f"{name} = {sympy.sstr(self.expr)}"]
        if self.entry.params:
            lines.append(
                "parameters: " + ", ".join(f"{k} = {v}" for k, v in self.entry.params.items())
            )
        text = render.TextPrinter()
        lines.append(f"{self.notation} {name} = {text.doprint(self.derivative)}")
        if self.shows_identity:
            where = ", ".join(text.doprint(e) for e in self.identity_conditions)
            label = f"classic form, where {where}" if where else "classic form"
            lines.append(
                f"{' ' * len(self.notation)} {' ' * len(name)} = "
                f"{text.doprint(self.identity)}   ({label})"
            )
        domain = self.domain_text()
        if domain is not None:
            lines.append(f"real domain: {domain}")
        kinks = self.kinks_text()
        if kinks is not None:
            lines.append(f"kinks: {kinks}")
        if not self.simplified:
            lines.append(
                "note: simplification ran out of time; the derivative is correct but not simplified"
            )
        if steps and self.steps:
            for k, tree in enumerate(self.steps, 1):
                if len(self.steps) > 1:
                    lines.append(f"\nsteps for derivative {k}:")
                else:
                    lines.append("\nsteps:")
                lines.append(render.to_text(tree, self.partial_variables))
        return "\n".join(lines)

    def call_latex(self) -> str:
        r"""The function applied to its variables: ``\tanh\left(x\right)``, ``f\left(x\right)``."""
        args = ", ".join(latex(v) for v in self.entry.variables)
        name = "f" if self.entry.kind == "expression" else name_latex(self.entry.name)
        return rf"{name}\left({args}\right)"

    def equations(self, steps: bool = True) -> list:
        """The LaTeX as `~symcalc.symbolic.typeset.Equation` rows: f, its derivative, the
        classic form, then (with ``steps``) each derivation line."""
        from . import render, typeset

        printer = render.TextbookLatexPrinter({"partial": self.partial_variables})
        call = self.call_latex()
        rows = [typeset.Equation(call, (latex(self.expr),))]
        if self.entry.params:
            shown = ", ".join(
                rf"{latex(sympy.Symbol(k))} = {printer.doprint(sympy.sympify(v))}"
                for k, v in self.entry.params.items()
            )
            rows[0] = dataclasses.replace(rows[0], tag=render.latex_tag("with ", f"${shown}$"))
        sides = [printer.doprint(self.derivative)]
        tag = None
        if self.shows_identity:
            sides.append(printer.doprint(self.identity))
            tag = "classic form"
            if self.identity_conditions:
                where = render._joined(self.identity_conditions)
                tag = render.latex_tag("classic form, where ", *where, printer=printer)
        rows.append(typeset.Equation(f"{self.latex_notation()} {call}", tuple(sides), tag))
        if steps:
            for tree in self.steps:
                found = render.equations(tree, self.partial_variables)
                found[0] = dataclasses.replace(found[0], space_before=True)
                rows.extend(found)
        return rows

    def to_latex(self, steps: bool = True, standalone: bool = False) -> str:
        """The derivation as one LaTeX ``align*``: f, its derivative, the classic form and
        (with ``steps``) every step, broken to fit a 6.5 in text width at 10 pt.

        Paste it into a document that loads ``amsmath`` as it is (it is a display of
        its own: do not wrap it in ``\\[ ... \\]``); ``standalone`` gives a complete
        document that pdflatex compiles.
        """
        from . import typeset

        body = typeset.align(self.equations(steps))
        return typeset.standalone_document(body) if standalone else body

    def latex_equation(self) -> str:
        """The result on one line: ``\\frac{d}{dx}\\left[f\\right] = f' (= classic form)``."""
        from . import render

        printer = render.TextbookLatexPrinter({"partial": self.partial_variables})
        lhs = self.latex_notation() + r"\left[" + latex(self.expr) + r"\right]"
        sides = [lhs, printer.doprint(self.derivative)]
        if self.shows_identity:
            sides.append(printer.doprint(self.identity))
        return " = ".join(sides)

    @property
    def partial_variables(self) -> frozenset:
        """The variables written with ∂ (all of them, for a function of several)."""
        return frozenset(self.entry.variables) if self.partial else frozenset()

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: every expression as SymPy syntax that `symcalc.parse` reads back."""
        from . import render

        printer = render.TextbookLatexPrinter({"partial": self.partial_variables})
        return {
            "input": self.input,
            "name": self.entry.name,
            "kind": self.entry.kind,
            "expr": sympy.sstr(self.expr),
            "expr_latex": latex(self.expr),
            "variable": self.variable.name,
            "order": self.order,
            "derivative": sympy.sstr(self.derivative),
            "derivative_latex": printer.doprint(self.derivative),
            "identity": None if self.identity is None else sympy.sstr(self.identity),
            "identity_latex": None if self.identity is None else printer.doprint(self.identity),
            # where the classic form holds only on a constraint: its equations (Eq(y_1 + y_2, 1))
            "identity_conditions": [sympy.sstr(e) for e in self.identity_conditions],
            "params": {k: sympy.sstr(v) for k, v in self.entry.params.items()},
            "kinks": [sympy.sstr(k) for k in self.kinks],
            "kink_sets": [kink_set_text(self.variable, k) for k in self.kink_sets],
            # kinks at zeros SymPy cannot solve for, found numerically (certified digits)
            "kinks_numeric": [sympy.sstr(k) for k in self.kink_search.points],
            # False where some switch could not be solved: the lists above may miss kinks
            "kinks_complete": self.kinks_complete,
            "kinks_note": self.kink_search.note(self.variable),
            # the real variable where every part of f is real: the derivative holds there
            # only (null: not determined)
            "domain": None if self.domain is None else sympy.sstr(self.domain),
            "convention": self.convention,
            "simplified": self.simplified,
            "steps": [
                record
                for tree in self.steps
                for record in render.step_records(tree, self.partial_variables)
            ],
        }

    def _repr_latex_(self) -> str:
        return "$$" + self.latex_equation() + "$$"

    def __repr__(self) -> str:
        return (
            f"<Derivation {self.notation} {sympy.sstr(self.expr)} = {sympy.sstr(self.derivative)}>"
        )


def kink_set_text(variable: sympy.Symbol, found: sympy.Set) -> str:
    """``x = pi*n for every integer n``: an infinite set of kinks, in words.

    Examples
    --------
    >>> n = sympy.Dummy("n", integer=True)
    >>> every_n_pi = sympy.ImageSet(sympy.Lambda(n, n * sympy.pi), sympy.S.Integers)
    >>> kink_set_text(sympy.Symbol("x"), every_n_pi)
    'x = pi*n for every integer n'
    """
    if isinstance(found, sympy.ImageSet) and len(found.lamda.variables) == 1:
        (dummy,) = found.lamda.variables
        body = found.lamda.expr.xreplace({dummy: sympy.Symbol("n")})
        return f"{variable} = {sympy.sstr(body)} for every integer n"
    return f"{variable} in {sympy.sstr(found)}"


def _split_periodic(
    function: sympy.Expr,
    result: sympy.Expr,
    var: sympy.Symbol,
    entry: Entry,
    kinks: tuple[sympy.Expr, ...],
    values: tuple,
) -> tuple[tuple, tuple, tuple, tuple, tuple]:
    """The kinks outside infinite kink sets, their values, the sets, the sets' values, and
    the switches whose infinite zero sets are not kink sets.

    A set is kept where `find_kinks` found a kink at one of its points (sign(sin x) at 0
    and pi) and ``function`` repeats with the set's step (|sin x| with pi): then every
    point is one.  Its value is the one its points share, else None.  Otherwise (max(sin
    x, cos 3x, x³ - 2x): sin x = cos 3x is a kink only where x³ - 2x is below) the set's
    points in `~symcalc.symbolic.kinks.SEARCH_INTERVAL` are checked one by one as
    `find_kinks` checks a candidate, and the switch is returned: the list is then
    incomplete outside that interval."""
    sets, set_values, bounded = [], [], []
    inside: set[int] = set()
    extra: list[sympy.Expr] = []
    probe = _probe_values(entry, var)

    def is_kink(point: sympy.Expr) -> bool:
        at = float(point)
        return _jumps(function.subs(probe), var, at) or _jumps(result.subs(probe), var, at)

    for u, found in periodic_switches(function, var):
        if found in sets or not isinstance(found, sympy.ImageSet):
            continue  # a set SymPy cannot list is the numeric search's (find_unsolved_kinks)
        members = [i for i, k in enumerate(kinks) if found.contains(k) is sympy.true]
        if members and _repeats(function, var, found, kinks[members[0]], is_kink):
            sets.append(found)
            inside.update(members)
            shared = {values[i] for i in members}
            set_values.append(shared.pop() if len(shared) == 1 else None)
            continue
        if u not in bounded:
            bounded.append(u)
        extra.extend(points_within(found, *SEARCH_INTERVAL) or ())
    rest = [i for i in range(len(kinks)) if i not in inside]
    kept = [kinks[i] for i in rest]
    kept_values = [values[i] for i in rest]
    if extra:
        known = [float(k) for k in kept if not k.free_symbols]
        for point in sorted(set(extra), key=float):
            at = float(point)
            if any(abs(at - k) <= 1e-9 * max(1.0, abs(k)) for k in known):
                continue
            if is_kink(point):
                point = _plainer(point)
                kept.append(point)
                kept_values.append(value_at(result, var, point))
                known.append(at)
        order = sorted(range(len(kept)), key=lambda i: _sort_key(kept[i]))
        kept, kept_values = [kept[i] for i in order], [kept_values[i] for i in order]
    return tuple(kept), tuple(kept_values), tuple(sets), tuple(set_values), tuple(bounded)


def _sort_key(point: sympy.Expr) -> tuple:
    try:
        return (0, float(point), "")
    except TypeError:
        return (1, math.inf, sympy.sstr(point))


def _plainer(point: sympy.Expr) -> sympy.Expr:
    """A rational multiple of pi equal to ``point`` to 50 digits (atan(sqrt(2 - sqrt(2)) /
    sqrt(sqrt(2) + 2)) is pi/8), else ``point`` as it is."""
    if point.is_Rational or not point.has(sympy.atan, sympy.asin, sympy.acos):
        return point
    ratio = sympy.nsimplify(float(point / sympy.pi), tolerance=1e-13, rational=True)
    if ratio.q > 1000:
        return point
    candidate = ratio * sympy.pi
    if abs(sympy.N(point - candidate, 60)) < sympy.Float("1e-50"):
        return candidate
    return point


def _repeats(
    function: sympy.Expr, var: sympy.Symbol, found: sympy.ImageSet, member: sympy.Expr, is_kink
) -> bool:
    """Whether every point of ``found`` (a n + b) is a kink: ``function`` repeats with a
    period P = k·a (k ≤ 4; proven, f(x + P) - f(x) = 0), and the k points of the set from
    ``member`` on, one period of them, are all kinks (``is_kink``)."""
    (n,) = found.lamda.variables
    try:
        step = sympy.Poly(found.lamda.expr, n).all_coeffs()[0]
    except (sympy.PolynomialError, IndexError):
        return False
    for k in range(1, 5):
        difference = function.subs(var, var + k * step) - function
        if difference != 0 and k <= 2:
            try:
                difference = budget.within(budget.default_seconds(), sympy.simplify, difference)
            except (TimeBudgetExceeded, NotImplementedError, ValueError, TypeError):
                continue
        if difference == 0:
            return all(is_kink(member + j * step) for j in range(k))
    return False


def _agrees_at_kinks(
    derivative: sympy.Expr,
    identity: sympy.Expr,
    var: sympy.Symbol,
    kinks: tuple[sympy.Expr, ...],
    entry: Entry,
) -> bool:
    """Whether ``identity`` takes the derivative's value at every kink, proven exactly.

    Away from the kinks the two are compared by `~symcalc.symbolic.steps.with_identity`;
    at a kink the convention decides the derivative's value, and a classic form
    written for one convention may differ there (relu' = [x > 0] is 0 at 0, but the
    convention 'half' gives 1/2).  Each kink is substituted exactly and the difference
    must simplify to 0 (other symbols stay symbolic).  Where the kink is at a
    parameter (hardshrink's x = λ), the two values may be undecided Piecewise
    expressions in λ; their difference is then proven 0 branch by branch
    (`_zero_on_every_branch`).
    """
    for point in kinks:
        a, b = value_at(derivative, var, point), value_at(identity, var, point)
        if a is not None and b is not None:
            difference = sympy.simplify(sympy.expand(a - b))
            if difference == 0 or difference.equals(0) is True:
                continue
            return False
        if not _zero_on_every_branch(
            sympy.piecewise_fold((derivative - identity).subs(var, point))
        ):
            return False
    return True


def _zero_on_every_branch(expr: sympy.Expr, depth: int = 0) -> bool:
    """Whether ``expr`` is 0 for every real value of its symbols, proven exactly.

    A Piecewise whose conditions are in one symbol s is split into its reachable
    branches (each condition as a set of s, less the sets of the branches before it),
    and each branch's value must be 0 there.  An ``Abs(u)`` in a condition is first
    resolved case by case, on u ≥ 0 and on u < 0.  Anything undecided counts as not
    proven.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> t = symbol("t")
    >>> left = sympy.Piecewise((1, t < -t), (0, True))
    >>> right = sympy.Piecewise((1, abs(t) > t), (0, True))
    >>> _zero_on_every_branch(left - right), _zero_on_every_branch(left)
    (True, False)
    """
    if not expr.has(sympy.Piecewise):
        difference = sympy.simplify(sympy.expand(expr))
        return difference == 0 or difference.equals(0) is True
    expr = sympy.piecewise_fold(expr)
    if not isinstance(expr, sympy.Piecewise) or depth > 3:
        return False
    symbols = set().union(*(c.free_symbols for _, c in expr.args))
    if len(symbols) != 1:
        return False
    (s,) = symbols
    inner = sorted(
        {a.args[0] for _, c in expr.args for a in c.atoms(sympy.Abs)}, key=sympy.default_sort_key
    )
    for signs in itertools.product((1, -1), repeat=len(inner)):
        case: sympy.Set = sympy.S.Reals
        for u, sign in zip(inner, signs, strict=True):
            case = case.intersect((u >= 0 if sign > 0 else u < 0).as_set())
        if case is sympy.S.EmptySet:
            continue
        cases = zip(inner, signs, strict=True)
        resolved = expr.xreplace({sympy.Abs(u): sign * u for u, sign in cases})
        if not _branches_vanish(resolved, case, depth):
            return False
    return True


def _branches_vanish(expr: sympy.Expr, case: sympy.Set, depth: int) -> bool:
    """Every branch of the Piecewise ``expr`` reachable within ``case`` is 0 there."""
    pieces = expr.args if isinstance(expr, sympy.Piecewise) else ((expr, sympy.true),)
    taken: sympy.Set = sympy.S.EmptySet
    for value, condition in pieces:
        try:
            here = sympy.S.Reals if condition is sympy.true else condition.as_set()
        except NotImplementedError:
            return False
        if isinstance(here, sympy.ConditionSet):
            return False
        where = sympy.Complement(here.intersect(case), taken)
        taken = sympy.Union(taken, here)
        if where is sympy.S.EmptySet or where.is_empty:
            continue
        if not _zero_on_every_branch(value, depth + 1):
            return False
    return True


def _refuse_nowhere_real(entry: Entry, var: sympy.Symbol, found: sympy.Expr) -> None:
    """Refuse a function real at no real point.

    ``sqrt(-x**2 - 4)`` is i·sqrt(x² + 4): its derivative ``I*x/sqrt(x**2 + 4)`` is no real
    function, and its text is not one symcalc reads back.  A derivative holding ``I`` (rare)
    has the real domain of f solved; any other only SymPy's bounds asked (cheap):
    log(Min(-1/3, sin x))′ is a real formula, but f is real nowhere (its argument is at
    most -1/3).  Only an empty real domain is refused; a domain SymPy cannot find leaves
    the answer as it is (`derive` refuses one it finds empty, `real_domain_of`).
    """
    from .domains import refuse_nowhere_real

    if not found.has(sympy.I):
        refuse_nowhere_real(entry.expr, var, "so it has no derivative", quick=True)
        return
    refuse_nowhere_real(entry.expr, var, f"so its derivative {sympy.sstr(found)} is complex")


def real_domain_of(entry: Entry, var: sympy.Symbol, timeout: float) -> sympy.Set | None:
    """Where every part of the entry's formula is real, in ``var``; None where unknown.

    SymPy's set (`real_domain_within`) is checked at points of the window around 0 it
    leaves out: where every part of the formula (each function and power) is real and
    finite at one of them, the set is incomplete (SymPy gives (0, π) for log(sin x)), and None is
    returned.  Only for a function of ``var`` alone (the others would enter the set).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> real_domain_of(resolve("abs(log(x))"), symbol("x"), timeout=5)
    Interval.open(0, oo)
    """
    from .domains import evaluator, real_domain_within

    if entry.expr.free_symbols - {var}:
        return None
    found = real_domain_within(entry.expr, var, timeout)
    if found is None or found == sympy.S.Reals:
        return found
    parts = [
        e
        for e in sympy.preorder_traversal(entry.expr)
        if isinstance(e, (sympy.Function, sympy.Pow)) and e.has(var)
    ]
    if len(parts) > _DOMAIN_PARTS:
        return None  # too many to check at every point: not stated
    values = [evaluator(e, var) for e in parts]
    for point in [k + 0.3712 for k in range(-30, 31)]:
        try:
            outside = found.contains(sympy.Float(point)) == sympy.false
        except (TypeError, ValueError, NotImplementedError, RecursionError):
            return None
        if outside and all(_is_real(value(point, 30)) for value in values):
            return None
    return found


def _may_hold(domain: sympy.Set, point: Any) -> bool:
    """Whether ``point`` may lie in ``domain`` (False only where SymPy decides it does not)."""
    try:
        return domain.contains(sympy.sympify(point)) is not sympy.false
    except (TypeError, ValueError, NotImplementedError, RecursionError):
        return True


#: A formula with more functions and powers than this has no domain stated (each is
#: checked at 61 points, with mpmath).
_DOMAIN_PARTS = 40


def _is_real(value: complex | None) -> bool:
    """Whether an `evaluator` value is a real number (defined, imaginary part negligible)."""
    return value is not None and abs(value.imag) <= 1e-20 * abs(value.real)


def _identity_for(entry: Entry, var: sympy.Symbol, order: int) -> sympy.Expr | None:
    if order == 1 and entry.identity is not None and var == entry.variable:
        return entry.identity
    return None


def derivative(
    f: str | sympy.Expr | Entry,
    *,
    wrt: str | sympy.Symbol | None = None,
    order: int = 1,
    params: Mapping[str, Any] | None = None,
    convention: str = "zero",
    simplify: bool = True,
    timeout: float | None = None,
) -> sympy.Expr:
    """The derivative of ``f`` (catalog name, text, SymPy expression or `Entry`).

    Kinks get an explicit value by ``convention`` ("zero", "half", "one"); see
    `symcalc.symbolic.kinks`.  ``simplify=False`` skips tidying; otherwise tidying runs for at
    most ``timeout`` seconds and falls back to the untidied (still correct) result
    (``None``: the current default, `symcalc.symbolic.budget.default_seconds`).

    The formula is the derivative where f is real (``derive(f).domain``, stated with the
    derivative); outside that set it may still give numbers, which are no derivative
    (log(x)′ = 1/x at x = -1).  The numbers symcalc gives from it (kernels, ``eval``,
    ``gradcheck``, plots, exports) are NaN there.  A function real nowhere is refused
    where SymPy's bounds prove it (log(Min(-1/3, sin x))).

    Examples
    --------
    >>> derivative("x**3", order=2)
    6*x
    >>> derivative("mse", wrt="p")
    2*p - 2*y
    >>> derivative("relu", convention="half")
    Piecewise((1, x > 0), (1/2, Eq(x, 0)), (0, True))
    """
    f, wrt, order, _ = derivative_request(f, wrt, order)  # '\frac{d}{dx} u' asks for d/dx u
    entry = resolve(f, **dict(params or {}))
    var = variable_of(entry, wrt)
    order = _check_order(order)
    heaviside_at_zero(convention)
    timeout = budget.default_seconds() if timeout is None else timeout
    result = entry.expr
    start = budget.cpu_seconds()
    for k in range(1, order + 1):
        result = _differentiate_shared(result, var, convention, timeout, start, k, entry.name)
        if simplify:
            result, _ = _tidy_shared(result, timeout, start, order - k + 1)
    _refuse_nowhere_real(entry, var, result)
    return result


def derive(
    f: str | sympy.Expr | Entry,
    *,
    wrt: str | sympy.Symbol | None = None,
    order: int = 1,
    params: Mapping[str, Any] | None = None,
    convention: str = "zero",
    steps: bool = True,
    timeout: float | None = None,
) -> Derivation:
    """Derive ``f`` symbolically, with steps, classic identity and kinks.

    Tidying the derivatives of every order shares one budget of ``timeout`` seconds of CPU
    time (``None``: the current default, `symcalc.symbolic.budget.default_seconds`;
    ``math.inf``: no limit); where it runs out, the derivative is right but not simplified
    (``simplified`` is False, and the text says so).

    Examples
    --------
    >>> d = derive("relu")
    >>> d.derivative, d.kinks
    (Piecewise((1, x > 0), (0, True)), (0,))
    >>> derive("x**2*sin(x)").derivative
    x*(x*cos(x) + 2*sin(x))
    """
    if steps:  # the rule trees' module loads only when trees are asked for
        from .steps import derivation_steps, with_identity

    text = f if isinstance(f, str) else None
    f, wrt, order, _ = derivative_request(f, wrt, order)  # '\frac{d}{dx} u' asks for d/dx u
    entry = resolve(f, **dict(params or {}))
    var = variable_of(entry, wrt)
    order = _check_order(order)
    heaviside_at_zero(convention)
    timeout = budget.default_seconds() if timeout is None else timeout
    text = text or entry.name

    previous = entry.expr
    trees = []
    simplified = True
    start = budget.cpu_seconds()
    for k in range(1, order + 1):
        raw = _differentiate_shared(previous, var, convention, timeout, start, k, text)
        if steps:
            trees.append(derivation_steps(previous, var, convention))
        result, finished = _tidy_shared(raw, timeout, start, order - k + 1)
        simplified = simplified and finished
        if k < order:
            previous = result
    _refuse_nowhere_real(entry, var, result)
    kinks = find_kinks(previous, result, var, entry)
    identity = _identity_for(entry, var, order)
    if identity is not None and not _agrees_at_kinks(result, identity, var, kinks, entry):
        identity = None  # the catalog's form takes another value at a kink: not shown
    if identity is not None and trees:
        trees[-1] = with_identity(trees[-1], identity, constraints=entry.constraints)
    values = tuple(value_at(result, var, k) for k in kinks)
    kinks, values, kink_sets, kink_set_values, bounded = _split_periodic(
        previous, result, var, entry, kinks, values
    )
    search = find_unsolved_kinks(previous, result, var, entry, kinks)
    search = dataclasses.replace(search, bounded=bounded)
    left = timeout - (budget.cpu_seconds() - start)  # what the tidying left, 0.5 s at least
    domain = real_domain_of(entry, var, max(0.5, left) if left == left else timeout)
    if domain is sympy.S.EmptySet:  # log(Piecewise((-1, x < 0), (-x - 1, True)))
        raise nowhere_real_error(entry.expr, var, "so it has no derivative")
    if domain is not None:  # f has no kink where it is not real (sqrt(hinge(x, 1) - 0.15) at 1)
        kept = [i for i, k in enumerate(kinks) if _may_hold(domain, k)]
        kinks, values = tuple(kinks[i] for i in kept), tuple(values[i] for i in kept)
        points = tuple(p for p in search.points if _may_hold(domain, p))
        search = dataclasses.replace(search, points=points)
    return Derivation(
        input=text,
        entry=entry,
        variable=var,
        order=order,
        expr=entry.expr,
        derivative=result,
        identity=identity,
        kinks=kinks,
        convention=convention,
        simplified=simplified,
        steps=tuple(trees),
        kink_values=values,
        kink_sets=kink_sets,
        kink_set_values=kink_set_values,
        kink_search=search,
        domain=domain,
    )
