"""SymPy's textbook rules (``manualintegrate``) searched without work that cannot succeed.

``integral_steps`` tries every rule on every integrand it meets, and several rules
begin with a ``match`` against a pattern (``a/(b*x**2 + c*x + d)``,
``f*sqrt(a + b*x + c*x**2)**n``, ``a + b*x + c*x**2`` under a power, a special
function's argument).  SymPy's matching of a sum against a pattern is combinatorial,
and on a search among the partial fractions of a rational function of high degree, or on
a quadratic with ``exp(1/2)`` among its coefficients, these matches took much of the
time, most of them where the integrand could not have the pattern's form at all:
guarded, (4x⁴ + ...)/(x⁶ + 2x⁵ + ...) finds its steps in 6.4 s of CPU instead of 11.4 s,
1/((x + 3)(1 + x)³) in 1.9 s instead of 3.4 s (315 and 122 rules; the same steps).
`lean_rules` puts a guard before each such rule that returns "no match" at once where
the form is impossible, decided by a necessary condition that costs a degree or a type
test:

* ``quadratic_denom_rule``: a rational function whose numerator has degree <= 1 and
  whose denominator has degree <= 2 in the variable, once cancelled;
* ``sqrt_quadratic_rule``: a power with exponent n/2 (n odd) of something with the
  variable;
* ``inverse_trig_rule``: an exponent of -1/2 or 1/2 (for any other number it returns
  nothing whatever it matched);
* ``special_function_rule``: one of the functions its patterns are made of.

Elsewhere the rule runs as SymPy wrote it, so the search finds the same steps.

The search also tries alternatives without end on some integrands (every
substitution, partial fractions, cancelling, expanding, by parts, each of their
integrands again): `rule_limit` stops it after a number of rules (calls of
``integral_steps``), a count that, unlike CPU time, is the same on every run.

Examples
--------
>>> import sympy
>>> from sympy.integrals.manualintegrate import integral_steps
>>> x = sympy.Symbol("x")
>>> with lean_rules():
...     integral_steps(1 / (x**2 + 1), x).eval()
atan(x)
>>> with lean_rules(), rule_limit(1):
...     integral_steps(x * sympy.exp(x), x)
Traceback (most recent call last):
...
symcalc.symbolic.textbook.RuleLimit: more than 1 rules tried
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

import sympy

__all__ = ["RuleLimit", "lean_rules", "rule_limit"]


class RuleLimit(BaseException):
    """The textbook rules tried more rules than `rule_limit` allows.

    A BaseException, as the time budget's own signal is: SymPy's rules catch some
    exceptions of their own, and this one must end the whole search."""


_state = threading.local()


@contextlib.contextmanager
def rule_limit(most: int | None) -> Iterator[None]:
    """Inside: `lean_rules`' ``integral_steps`` raises `RuleLimit` at its ``most + 1``-th
    call in this thread (``None``: no limit).  Use it inside `lean_rules`."""
    previous = getattr(_state, "limit", None)
    _state.limit, _state.count = most, 0
    try:
        yield
    finally:
        _state.limit = previous


def _counted(integral_steps: Callable) -> Callable:
    def integral_steps_counted(integrand, symbol, **options):
        most = getattr(_state, "limit", None)
        if most is not None:
            _state.count += 1
            if _state.count > most:
                raise RuleLimit(f"more than {most} rules tried")
        return integral_steps(integrand, symbol, **options)

    return integral_steps_counted


def _quadratic_denominator(rule: Callable) -> Callable:
    """a/(b x² + c), a/(b x² + c x + d) and (a x + b)/(c x² + d x + e), with a ... e free
    of x: only a rational function of degrees (<= 1)/(<= 2) once cancelled can match."""

    def quadratic_denom_rule(integral):
        integrand, x = integral
        try:
            if not integrand.is_rational_function(x):
                return None
            numerator, denominator = sympy.fraction(sympy.cancel(integrand))
            if sympy.degree(numerator, x) > 1 or sympy.degree(denominator, x) > 2:
                return None
        except (sympy.PolynomialError, TypeError, ValueError):
            pass  # undecided: the rule decides
        return rule(integral)

    return quadratic_denom_rule


def _half_power(expr: sympy.Expr, x: sympy.Symbol) -> bool:
    """Whether ``expr`` holds a power of something with x to an exponent n/2 (n odd)."""
    for power in expr.atoms(sympy.Pow):
        exponent = power.exp
        if not exponent.is_Rational or exponent.q == 2:
            if power.base.has(x):
                return True
    return False


def _square_root_of_quadratic(rule: Callable) -> Callable:
    """f·sqrt(a + b x + c x²)**n with n odd: the integrand holds a power to n/2."""

    def sqrt_quadratic_rule(integral, *args, **kwargs):
        integrand, x = integral
        if not _half_power(integrand, x):
            return None
        return rule(integral, *args, **kwargs)

    return sqrt_quadratic_rule


def _inverse_trigonometric(rule: Callable) -> Callable:
    """(a + b x + c x²)**e gives a rule only for e = ±1/2: for any other number the
    rule returns nothing, whatever the base matched."""
    half = sympy.Rational(1, 2)

    def inverse_trig_rule(integral, *args, **kwargs):
        _, exponent = integral[0].as_base_exp()
        if exponent.is_Number and exponent not in (half, -half):
            return None
        return rule(integral, *args, **kwargs)

    return inverse_trig_rule


#: The functions the patterns of ``special_function_rule`` are made of (Ei, Ci, Chi, Si,
#: Shi, li, erf, Fresnel, upper Gamma, polylog, elliptic): one must be in the integrand.
_SPECIAL_PATTERN_FUNCTIONS = (
    sympy.exp,
    sympy.cos,
    sympy.cosh,
    sympy.sin,
    sympy.sinh,
    sympy.log,
    sympy.polylog,
)


def _special_function(rule: Callable) -> Callable:
    def special_function_rule(integral, *args, **kwargs):
        if not integral[0].has(*_SPECIAL_PATTERN_FUNCTIONS):
            return None
        return rule(integral, *args, **kwargs)

    return special_function_rule


#: Module-level names of ``sympy.integrals.manualintegrate`` and their guards; the
#: search looks each name up when it runs, so the guarded one is used while installed.
_GUARDS: dict[str, Callable[[Callable], Callable]] = {
    "integral_steps": _counted,
    "quadratic_denom_rule": _quadratic_denominator,
    "sqrt_quadratic_rule": _square_root_of_quadratic,
    "inverse_trig_rule": _inverse_trigonometric,
    "special_function_rule": _special_function,
}
_lock = threading.Lock()
_users = 0
_originals: dict[str, Callable] = {}


@contextlib.contextmanager
def lean_rules() -> Iterator[None]:
    """Inside: SymPy's ``manualintegrate`` runs with the guards (and `rule_limit`'s count).

    Installed while any thread is inside and removed when the last one leaves, so a
    caller's own use of SymPy afterwards meets SymPy's module as it was.
    """
    global _users
    from sympy.integrals import manualintegrate as mi

    with _lock:
        if _users == 0:
            for name, guard in _GUARDS.items():
                _originals[name] = getattr(mi, name)
                setattr(mi, name, guard(_originals[name]))
        _users += 1
    try:
        yield
    finally:
        with _lock:
            _users -= 1
            if _users == 0:
                for name, original in _originals.items():
                    setattr(mi, name, original)
                _originals.clear()
