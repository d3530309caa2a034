"""Antiderivatives with steps, checks of the fundamental theorem, and Riemann sums.

`antiderivative` integrates symbolically, in a child process under a time budget
(SymPy's ``integrate`` has no timeout and can run for minutes): it returns an
`Antiderivative` holding F and a tree of `IntegralStep` built from SymPy's
``manualintegrate`` rules, or the plain fact that no closed form was found in time.
Piecewise integrands (relu, hard_tanh, huber, ...) are integrated piece by piece and
the constants chosen so that F is continuous.

`check_ftc` checks d/dx ∫ₐˣ f(t) dt = f(x) twice, independently:

* symbolically: F' − f (F from `antiderivative`, never from differentiating an
  unevaluated ``Integral``, which proves nothing) simplifies to 0 within the
  budget, or else vanishes to 1e-12 at random points evaluated with 30 digits;
* numerically, always: the accumulation A(x) = ∫ₐˣ f is computed by adaptive
  Gauss-Legendre quadrature on a grid (cumulatively: each panel once), compared
  with F(x) − F(a) where F exists, and differentiated numerically (a Richardson
  combination of the mean values of f over [x − kh, x + kh], each a short integral
  computed directly, so no cancellation) and compared with f.

`riemann_sum` computes left, right, midpoint and trapezoid sums, vectorized, and
`riemann_convergence` studies their error for n = 2, 4, ..., 2^k with the observed
order of convergence (1 for left/right, 2 for midpoint/trapezoid on smooth f).

Floating point: all numerics run in float64.  Quadrature (`integrate_numeric`,
`accumulate`, the reference integral of a Riemann sum) is accurate to about 1e-14
relative on functions smooth between their kinks (tested against mpmath at 50 digits
for every catalog entry, and out to ±1e3); it refuses, with a `SymcalcError`, an
integral it cannot resolve to 1e-10 (1/x at 0).  The numeric FTC check passes when
every error is at most ``tolerance·max(1, |value|)`` (default 1e-9; on the catalog the
errors are about 1e-15).

Examples
--------
>>> antiderivative("relu").antiderivative
Piecewise((0, x <= 0), (x**2/2, True))
>>> check_ftc("tanh").held
True
>>> round(riemann_sum("x**2", 0, 1, 100, rule="midpoint").value, 6)
0.333325
"""

from __future__ import annotations

import dataclasses
import math
import re
import time
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from . import budget
from .catalog import Entry
from .errors import SymcalcError, TimeBudgetExceeded, did_you_mean
from .functions import expand_named
from .parse import resolve

__all__ = [
    "RULES",
    "Antiderivative",
    "FTCCheck",
    "IntegralStep",
    "RiemannStudy",
    "RiemannSum",
    "accumulate",
    "antiderivative",
    "check_ftc",
    "default_lower_limit",
    "integral_latex",
    "integral_text",
    "integrate_numeric",
    "riemann_convergence",
    "riemann_sum",
    "univariate_entry",
]

Function = str | sympy.Expr | Entry

#: The Riemann-sum rules, in the order tables list them.
RULES: tuple[str, ...] = ("left", "right", "midpoint", "trapezoid")

#: Default tolerance of the numeric FTC check: |error| <= tolerance * max(1, |value|).
NUMERIC_TOLERANCE = 1e-9
#: Largest residual |F' - f| (relative to max(1, |f|)) accepted at random points.
SYMBOLIC_TOLERANCE = 1e-12


# -- functions of one variable ----------------------------------------------------------


def univariate_entry(f: Function, **params: Any) -> Entry:
    """``f`` as a function of one variable: parameters bound, other variables fixed.

    Catalog losses become functions of their first variable with the others at
    ``entry.fixed`` (binary cross-entropy: ``-log(p)`` at ``y = 1``).  A user
    expression must have exactly one variable.

    Examples
    --------
    >>> univariate_entry("huber").expr
    Piecewise((p**2/2, Abs(p) <= 1), (Abs(p) - 1/2, True))
    >>> univariate_entry("x*y")
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: 'x*y' is a function of x, y; ... write numbers for y
    """
    entry = resolve(f, **params)
    if entry.kind == "expression" and len(entry.variables) == 1 and not entry.params:
        return entry
    expr = entry.univariate()
    var = entry.variable
    others = sorted(s.name for s in expr.free_symbols if s != var)
    if others:
        names = ", ".join(v.name for v in entry.variables)
        raise SymcalcError(
            f"'{entry.name}' is a function of {names}; this needs a function of one variable: "
            f"write numbers for {', '.join(others)}"
        )
    domain = {var.name: entry.domain_of(var)} if var.name in entry.domain else {}
    identity = None
    if entry.identity is not None:
        identity = entry.univariate(entry.identity)
        if identity.free_symbols - {var}:
            identity = None
    return dataclasses.replace(
        entry,
        expr=expr,
        variables=(var,),
        params={},
        fixed={},
        domain=domain,
        identity=identity,
        options={},
        builder=None,
        constraints=(),
    )


def _in_domain(entry: Entry, value: float) -> bool:
    domain = entry.domain_of(entry.variable)
    return bool(domain.contains(sympy.Float(value)) == sympy.true)


def default_lower_limit(f: Function, **params: Any) -> float:
    """The lower limit a of ∫ₐˣ f that `check_ftc` and `symcalc.plotting.plot_ftc` use
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


def _check_number(value: Any, what: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SymcalcError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(number):
        raise SymcalcError(f"{what} must be a finite number, got {value!r}")
    return number


def _check_range(x_range: Sequence[float], what: str = "x_range") -> tuple[float, float]:
    try:
        low, high = x_range
    except (TypeError, ValueError):
        raise SymcalcError(f"{what} must be two numbers (A, B), got {x_range!r}") from None
    low, high = _check_number(low, what), _check_number(high, what)
    if not low < high:
        raise SymcalcError(f"{what} must have A < B, got {low:g}:{high:g}")
    return low, high


# -- integration steps ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class IntegralStep:
    """∫ integrand d(variable) = result, by ``rule``; ``substeps`` show how the parts were found.

    The tree is built from SymPy's ``manualintegrate`` rules (one step a rule), with
    a step of symcalc's own for piecewise integrands.  A part no rule covers is a
    step named ``"no rule found"`` whose result is the unevaluated integral.
    """

    rule: str
    integrand: sympy.Expr
    variable: sympy.Symbol
    result: sympy.Expr
    details: tuple[tuple[str, sympy.Expr], ...] = ()
    where: sympy.Interval | None = None
    comment: str | None = None
    substeps: tuple[IntegralStep, ...] = ()

    def note(self) -> str:
        """The rule's name with its details as plain text: ``substitution, u = exp(x) + 1``."""
        parts = [self.rule]
        for key, value in self.details:
            shown = sympy.sstr(value)
            if key == "as":
                parts.append(f"{key} {shown}")
            elif key == "dv":
                factor = f"({shown})" if isinstance(value, sympy.Add) else shown
                parts.append(f"{key} = {factor} d{self.variable}")
            else:
                parts.append(f"{key} = {shown}")
        if self.where is not None:
            parts.append(f"for {_interval_text(self.where, self.variable)}")
        if self.comment:
            parts.append(self.comment)
        return ", ".join(parts)

    def walk(self):
        """This step, then its substeps depth-first (reading order)."""
        yield self
        for step in self.substeps:
            yield from step.walk()


_U = sympy.Symbol("u", real=True)
_RULE_NAMES = {
    "AddRule": "sum rule",
    "ConstantRule": "constant rule",
    "ConstantTimesRule": "constant multiple rule",
    "PowerRule": "power rule",
    "ReciprocalRule": "reciprocal rule",
    "ExpRule": "exponential rule",
    "URule": "substitution",
    "PartsRule": "integration by parts",
    "CyclicPartsRule": "cyclic integration by parts",
    "RewriteRule": "rewrite",
    "ErfRule": "Gaussian integral (erf)",
    "SinRule": "trig rule",
    "CosRule": "trig rule",
    "SinhRule": "hyperbolic rule",
    "CoshRule": "hyperbolic rule",
    "ArctanRule": "arctangent rule",
    "PiecewiseRule": "piecewise rule",
    "HeavisideRule": "Heaviside rule",
    "DontKnowRule": "no rule found",
}


def _rule_name(rule) -> str:
    name = type(rule).__name__
    if name in _RULE_NAMES:
        return _RULE_NAMES[name]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Rule")).lower()
    return f"{words} rule"


def _display(expr: sympy.Expr, real: sympy.Expr | None = None) -> sympy.Expr:
    """Rename substitution dummies to ``u``; given the integrand ``real``, make logs real."""
    expr = sympy.sympify(expr, strict=True)  # a SymPy object or a number: never text
    dummies = {d: _U for d in expr.atoms(sympy.Dummy)}
    if dummies:
        expr = expr.xreplace(dummies)
    return _real_form(expr, _display(real)) if isinstance(real, sympy.Basic) else expr


def _real_form(expr: sympy.Expr, integrand: sympy.Expr = sympy.S.Zero) -> sympy.Expr:
    """An antiderivative that is real for real x: log(u) -> log|u|; no i·π constants.

    A log the integrand already holds (∫ log(x) dx) keeps its domain, and so its form;
    so does log(u) with u > 0.
    """
    if not expr.has(sympy.log, sympy.I):
        return expr
    keep = integrand.atoms(sympy.log)
    expr = expr.replace(
        lambda e: (
            isinstance(e, sympy.log)
            and e not in keep
            and e.args[0].is_positive is not True
            and not isinstance(e.args[0], sympy.Abs)
            and not e.args[0].is_number
        ),
        lambda e: sympy.log(sympy.Abs(e.args[0])),
    )
    if isinstance(expr, sympy.Piecewise):
        return sympy.Piecewise(*((_real_form(e, integrand), c) for e, c in expr.args))
    if expr.is_Add:
        expr = sympy.Add(
            *(t for t in expr.args if not (t.free_symbols == set() and t.has(sympy.I)))
        )
    return expr


def _convert(rule) -> IntegralStep:
    """A SymPy manualintegrate rule tree -> `IntegralStep` tree (alternatives: the simplest)."""
    from sympy.integrals import manualintegrate as mi

    if isinstance(rule, mi.AlternativeRule):
        best = min(rule.alternatives, key=lambda r: (sympy.count_ops(r.eval()), _size(r)))
        return _convert(best)
    children = []
    for field in dataclasses.fields(rule):
        value = getattr(rule, field.name)
        if isinstance(value, mi.Rule):
            children.append(value)
        elif isinstance(value, (list, tuple)):
            children.extend(v for v in value if isinstance(v, mi.Rule))
    details: tuple[tuple[str, sympy.Expr], ...] = ()
    if isinstance(rule, mi.URule):
        details = (("u", _display(rule.u_func)),)
    elif isinstance(rule, mi.PartsRule):
        details = (("u", _display(rule.u)), ("dv", _display(rule.dv)))
    elif isinstance(rule, mi.RewriteRule):
        details = (("as", _display(rule.rewritten)),)
    substeps = tuple(_convert(c) for c in children)
    if isinstance(rule, mi.PartsRule) and len(substeps) == 2:  # say which integral each one is
        substeps = (
            dataclasses.replace(substeps[0], comment="this gives v"),
            dataclasses.replace(substeps[1], comment="the remaining integral of v du"),
        )
    return IntegralStep(
        rule=_rule_name(rule),
        integrand=_display(rule.integrand),
        variable=_display(rule.variable),
        result=_display(rule.eval(), real=rule.integrand),
        details=details,
        substeps=substeps,
    )


def _size(rule) -> int:
    from sympy.integrals import manualintegrate as mi

    count = 1
    for field in dataclasses.fields(rule):
        value = getattr(rule, field.name)
        if isinstance(value, mi.Rule):
            count += _size(value)
        elif isinstance(value, (list, tuple)):
            count += sum(_size(v) for v in value if isinstance(v, mi.Rule))
    return count


def _integrate_smooth(
    g: sympy.Expr, x: sympy.Symbol
) -> tuple[sympy.Expr | None, IntegralStep | None, str]:
    """Integrate a piece with no kinks: textbook rules first, then SymPy's integrate."""
    from sympy.integrals.manualintegrate import integral_steps

    tree = integral_steps(g, x)
    if not tree.contains_dont_know():
        step = _convert(tree)
        return step.result, step, "manualintegrate"
    found = sympy.integrate(g, x)
    if found.has(sympy.Integral):
        return None, None, "none"
    found = _real_form(found, g)
    step = IntegralStep(
        "SymPy's integrate (no textbook rule applies)",
        g,
        x,
        found,
        comment="Risch algorithm and heuristics",
    )
    return found, step, "integrate"


def _pieces(g: sympy.Piecewise, x: sympy.Symbol) -> list[tuple[sympy.Expr, sympy.Interval]] | None:
    """The pieces of ``g`` on intervals that tile the real line, left to right, or None."""
    try:
        pairs = g.as_expr_set_pairs()
    except (NotImplementedError, TypeError, ValueError):
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
    pieces.sort(key=lambda p: float(p[1].inf) if p[1].inf.is_finite else -math.inf)
    if not pieces or pieces[0][1].inf is not sympy.S.NegativeInfinity:
        return None
    if pieces[-1][1].sup is not sympy.S.Infinity:
        return None
    if any(a[1].sup != b[1].inf for a, b in zip(pieces, pieces[1:], strict=False)):
        return None
    return pieces


def _value_at(expr: sympy.Expr, x: sympy.Symbol, point: sympy.Expr, direction: str) -> sympy.Expr:
    value = expr.subs(x, point)
    if value.is_finite:
        return value
    return sympy.limit(expr, x, point, direction)


def _interval_text(interval: sympy.Interval, x: sympy.Symbol) -> str:
    """``0 < x <= 6``, ``x <= 0``, ``x > 6``: an interval as a condition on x."""
    low, high = interval.inf, interval.sup
    left = (
        ""
        if low is sympy.S.NegativeInfinity
        else f"{sympy.sstr(low)} {'<' if interval.left_open else '<='} "
    )
    right = (
        ""
        if high is sympy.S.Infinity
        else f" {'<' if interval.right_open else '<='} {sympy.sstr(high)}"
    )
    if left and not right:
        return f"{x} {'>' if interval.left_open else '>='} {sympy.sstr(low)}"
    return f"{left}{x}{right}" if left or right else f"all {x}"


def _integrate_piecewise(g: sympy.Expr, x: sympy.Symbol):
    pieces = _pieces(g, x)
    if pieces is None:
        found = sympy.integrate(g, x)
        if found.has(sympy.Integral):
            return None, None, "none"
        step = IntegralStep("SymPy's integrate (piecewise)", g, x, found)
        return found, step, "integrate"
    branches, substeps = [], []
    previous = None
    for expr, interval in pieces:
        found, step, _ = _integrate_smooth(expr, x)
        if found is None:
            return None, None, "none"
        if previous is not None:
            c = interval.inf
            shift = _value_at(previous, x, c, "-") - _value_at(found, x, c, "+")
            found = found + sympy.nsimplify(shift) if shift.is_Rational else found + shift
        substeps.append(dataclasses.replace(step, where=interval))
        branches.append((found, interval.sup))
        previous = found
    F = sympy.Piecewise(*((e, x <= c) for e, c in branches[:-1]), (branches[-1][0], True))
    shown = sympy.Piecewise(
        *((e, x < i.sup if i.right_open else x <= i.sup) for e, i in pieces[:-1]),
        (pieces[-1][0], True),
    )
    step = IntegralStep(
        "piecewise rule",
        shown,
        x,
        F,
        comment="integrate each piece; constants chosen so that F is continuous",
        substeps=tuple(substeps),
    )
    return F, step, "piecewise"


def _integrand(expr: sympy.Expr) -> sympy.Expr:
    """The expression integrated: named functions expanded, kinks written as Piecewise."""
    g = expand_named(expr)
    kinds = (sympy.Max, sympy.Min, sympy.Abs, sympy.sign, sympy.Heaviside, sympy.Piecewise)
    if g.has(*kinds):
        g = sympy.piecewise_fold(g.rewrite(sympy.Piecewise))
    return g


def _find_antiderivative(expr: sympy.Expr, x: sympy.Symbol, positive: bool = False):
    """F, its step tree and the method; runs in the budget's child process.

    With ``positive`` (the domain lies in x > 0) the work uses a positive symbol, so
    ``log(x)`` needs no absolute value.
    """
    if positive:
        t = sympy.Symbol(x.name, positive=True)
        F, step, method = _find_antiderivative(expr.subs(x, t), t)
        if F is None:
            return F, step, method
        return F.subs(t, x), _rename(step, t, x), method
    g = _integrand(expr)
    if isinstance(g, sympy.Piecewise):
        return _integrate_piecewise(g, x)
    return _integrate_smooth(g, x)


def _rename(step: IntegralStep, old: sympy.Symbol, new: sympy.Symbol) -> IntegralStep:
    return dataclasses.replace(
        step,
        integrand=step.integrand.subs(old, new),
        variable=new if step.variable == old else step.variable,
        result=step.result.subs(old, new),
        details=tuple((k, v.subs(old, new)) for k, v in step.details),
        substeps=tuple(_rename(s, old, new) for s in step.substeps),
    )


# -- text and LaTeX of steps ----------------------------------------------------------


def _printers():
    from .render import TextbookLatexPrinter, TextPrinter

    return TextPrinter(), TextbookLatexPrinter()


def _latex_text(text: str) -> str:
    return (
        text.replace("\\", r"\textbackslash{}")
        .replace("_", r"\_")
        .replace("&", r"\&")
        .replace("%", r"\%")
    )


def _step_lines(step: IntegralStep, root: bool = True):
    """Steps in reading order; constant pieces of a sum are folded away as in derivations."""
    if step.rule == "constant rule" and not root and step.integrand == 0:
        return
    yield step
    for sub in step.substeps:
        yield from _step_lines(sub, root=False)


def integral_text(integrand: sympy.Expr, variable: sympy.Symbol) -> str:
    """``∫ f dx`` as plain text; a sum in parentheses, so dx applies to all of it.

    Examples
    --------
    >>> from symcalc.functions import symbol
    >>> p = symbol("p")
    >>> integral_text(-p - sympy.Rational(1, 2), p)
    '∫ (-p - 1/2) dp'
    >>> integral_text(p * sympy.exp(p), p)
    '∫ p*exp(p) dp'
    """
    text, _ = _printers()
    return f"∫ {_text_factor(integrand, text)} d{text.doprint(variable)}"


def integral_latex(integrand: sympy.Expr, variable: sympy.Symbol) -> str:
    r"""``\int f \, dx`` in LaTeX; a sum in parentheses, so dx applies to all of it.

    Examples
    --------
    >>> from symcalc.functions import symbol
    >>> p = symbol("p")
    >>> print(integral_latex(-p - sympy.Rational(1, 2), p))
    \int \left(- p - \frac{1}{2}\right) dp
    >>> print(integral_latex(p**2, p))
    \int p^{2} \, dp
    """
    _, latex = _printers()
    return rf"\int {_latex_differential(integrand, variable, latex)}"


def _text_factor(expr: sympy.Expr, text) -> str:
    """``expr`` as text, in parentheses when it is a sum (before a ``dx``)."""
    shown = text.doprint(expr)
    return f"({shown})" if isinstance(expr, sympy.Add) else shown


def _latex_differential(expr: sympy.Expr, variable: sympy.Symbol, latex) -> str:
    r"""``f \, dx``, or ``\left(f\right) dx`` when f is a sum."""
    shown, d = latex.doprint(expr), f"d{latex.doprint(variable)}"
    if isinstance(expr, sympy.Add):
        return rf"\left({shown}\right) {d}"
    return rf"{shown} \, {d}"


def _text_step(step: IntegralStep, text) -> str:
    lhs = integral_text(step.integrand, step.variable)
    return f"{lhs} = {text.doprint(step.result)}   ({step.note()})"


def _latex_step(step: IntegralStep, latex, align: bool) -> str:
    lhs = integral_latex(step.integrand, step.variable)
    rhs = latex.doprint(step.result)
    if not align:
        return f"{lhs} = {rhs}"
    return rf"{lhs} &= {rhs} && {_latex_note(step, latex)}"


def _latex_note(step: IntegralStep, latex) -> str:
    r"""``\text{substitution, } u = e^{x} + 1``: names as text, formulas as math."""
    parts = [rf"\text{{{_latex_text(step.rule)}}}"]
    for key, value in step.details:
        if key == "as":
            parts.append(rf"\text{{ as }} {latex.doprint(value)}")
        else:
            shown = (
                _latex_differential(value, step.variable, latex)
                if key == "dv"
                else latex.doprint(value)
            )
            parts.append(rf"\text{{, }} {key} = {shown}")
    if step.where is not None:
        parts.append(rf"\text{{, for }} {_interval_latex(step.where, step.variable, latex)}")
    if step.comment:
        parts.append(rf"\text{{, {_latex_text(step.comment)}}}")
    return "".join(parts)


def _interval_latex(interval: sympy.Interval, x: sympy.Symbol, latex) -> str:
    low, high = interval.inf, interval.sup
    name = latex.doprint(x)
    opening = "<" if interval.left_open else r"\leq"
    closing = "<" if interval.right_open else r"\leq"
    left = "" if low is sympy.S.NegativeInfinity else f"{latex.doprint(low)} {opening} "
    right = "" if high is sympy.S.Infinity else f" {closing} {latex.doprint(high)}"
    if left and not right:
        above = ">" if interval.left_open else r"\geq"
        return f"{name} {above} {latex.doprint(low)}"
    return f"{left}{name}{right}" if left or right else rf"\text{{all }} {name}"


# -- antiderivative ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class Antiderivative:
    """An antiderivative F of ``integrand`` with its steps, or the fact that none was found.

    ``antiderivative`` is None when no closed form was found within the time budget
    (``reason`` says why): a normal answer, not an error.  ``method`` is
    ``"manualintegrate"`` (textbook rules), ``"piecewise"`` (piece by piece, made
    continuous), ``"integrate"`` (SymPy's general algorithm, no textbook steps) or
    ``"none"``.
    """

    input: str
    entry: Entry
    variable: sympy.Symbol
    integrand: sympy.Expr
    antiderivative: sympy.Expr | None
    steps: IntegralStep | None
    method: str
    seconds: float
    reason: str | None = None

    @property
    def found(self) -> bool:
        """Whether a closed form was found."""
        return self.antiderivative is not None

    def step_list(self) -> list[IntegralStep]:
        """The steps in reading order (empty when there are none)."""
        return [] if self.steps is None else list(_step_lines(self.steps))

    def to_text(self, steps: bool = False) -> str:
        """``∫ f dx = F + C`` (or why there is none), optionally with the steps."""
        text, _ = _printers()
        lhs = integral_text(self.integrand, self.variable)
        if not self.found:
            return f"{lhs}: no closed form found ({self.reason})"
        lines = [f"{lhs} = {text.doprint(self.antiderivative)} + C"]
        if steps and self.steps is not None:
            lines.append("\nsteps:")
            lines.extend(_text_step(s, text) for s in self.step_list())
        return "\n".join(lines)

    def to_latex(self, steps: bool = True) -> str:
        """``\\int f\\,dx = F + C`` and, with ``steps``, an ``align*`` block of the steps."""
        _, latex = _printers()
        lhs = integral_latex(self.integrand, self.variable)
        if not self.found:
            return rf"{lhs} \quad \text{{(no closed form found: {_latex_text(self.reason or '')})}}"
        parts = [rf"{lhs} = {latex.doprint(self.antiderivative)} + C"]
        if steps and self.steps is not None:
            body = " \\\\\n".join(_latex_step(s, latex, align=True) for s in self.step_list())
            parts.append(f"\\begin{{align*}}\n{body}\n\\end{{align*}}")
        return "\n".join(parts)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; expressions as SymPy syntax that `symcalc.parse` reads back."""
        _, latex = _printers()
        F = self.antiderivative
        return {
            "input": self.input,
            "name": self.entry.name,
            "variable": self.variable.name,
            "integrand": sympy.sstr(self.integrand),
            "integrand_latex": latex.doprint(self.integrand),
            "antiderivative": None if F is None else sympy.sstr(F),
            "antiderivative_latex": None if F is None else latex.doprint(F),
            "method": self.method,
            "seconds": round(self.seconds, 4),
            "reason": self.reason,
            "steps": [
                {
                    "rule": s.rule,
                    "variable": s.variable.name,
                    "expr": sympy.sstr(s.integrand),
                    "result": sympy.sstr(s.result),
                    "note": s.note(),
                    "latex": _latex_step(s, latex, align=False),
                }
                for s in self.step_list()
            ],
        }

    def _repr_latex_(self) -> str:
        return "$$" + self.to_latex(steps=False) + "$$"

    def __repr__(self) -> str:
        shown = sympy.sstr(self.antiderivative) if self.found else "no closed form"
        integrand = sympy.sstr(self.integrand)
        if isinstance(self.integrand, sympy.Add):
            integrand = f"({integrand})"
        return f"<Antiderivative ∫ {integrand} d{self.variable} = {shown}>"


def antiderivative(
    f: Function,
    *,
    params: dict[str, Any] | None = None,
    timeout: float | None = budget.DEFAULT_SECONDS,
) -> Antiderivative:
    """An antiderivative of ``f`` with step-by-step integration, found within ``timeout`` seconds.

    The integration runs in a child process that is killed when the budget runs out;
    no closed form in time is a normal answer (``.antiderivative is None``).  Catalog
    losses are integrated in their first variable with the others fixed.

    Examples
    --------
    >>> result = antiderivative("sigmoid")
    >>> result.antiderivative
    log(exp(x) + 1)
    >>> [step.rule for step in result.step_list()][:2]
    ['rewrite', 'substitution']
    >>> antiderivative("x*exp(x)").to_text()
    '∫ x*exp(x) dx = x*exp(x) - exp(x) + C'
    """
    entry = univariate_entry(f, **dict(params or {}))
    if timeout is not None:
        timeout = _check_number(timeout, "timeout")
        if timeout <= 0:
            raise SymcalcError(f"timeout must be a positive number of seconds, got {timeout:g}")
    x = entry.variable
    text = f if isinstance(f, str) else entry.name
    start = time.perf_counter()
    try:
        positive = entry.domain_of(x).is_subset(sympy.Interval.open(0, sympy.oo)) is True
        F, steps, method = budget.within(
            timeout, _find_antiderivative, entry.expr, x, positive, what="integration"
        )
        reason = (
            None
            if F is not None
            else "SymPy finds no closed form in elementary or special functions"
        )
    except TimeBudgetExceeded:
        F, steps, method = None, None, "none"
        reason = f"not found within the time budget of {timeout:g} s"
    except (NotImplementedError, TypeError, ValueError, ZeroDivisionError, RecursionError) as exc:
        F, steps, method = None, None, "none"
        reason = f"SymPy could not integrate it ({type(exc).__name__})"
    return Antiderivative(
        input=text,
        entry=entry,
        variable=x,
        integrand=entry.expr,
        antiderivative=F,
        steps=steps,
        method=method,
        seconds=time.perf_counter() - start,
        reason=reason,
    )


# -- numeric integration ----------------------------------------------------------------

_NODES_HIGH, _WEIGHTS_HIGH = np.polynomial.legendre.leggauss(20)
_NODES_LOW, _WEIGHTS_LOW = np.polynomial.legendre.leggauss(10)


def _values(kern, x: np.ndarray | float) -> np.ndarray:
    """f at x as a float array of x's shape; inf and nan are returned, not warned about.

    Callers check for non-finite values and raise a `SymcalcError` that names the point.
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        values = kern(x)
    return np.array(np.broadcast_to(np.asarray(values, dtype=float), x.shape))


def _rule_on(func, lo: np.ndarray, hi: np.ndarray, nodes, weights) -> np.ndarray:
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    points = mid[:, None] + half[:, None] * nodes[None, :]
    values = _values(func, points)
    if not np.all(np.isfinite(values)):
        bad = points[~np.isfinite(values)][0]
        raise SymcalcError(
            f"f is not finite at {bad:.6g} ({values[~np.isfinite(values)][0]}); "
            "choose a range where f is defined and finite"
        )
    return half * (values @ weights)


def _panel_integrals(
    func: Callable[[np.ndarray], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    tolerance: float = 1e-14,
    max_depth: int = 40,
) -> tuple[np.ndarray, bool]:
    """∫ f over each panel [lo_i, hi_i], adaptively; and whether every panel converged.

    Each panel is integrated with 20- and 10-point Gauss-Legendre rules; where they
    differ by more than ``tolerance`` (relative, with an absolute floor scaled by the
    panel width), the panel is halved, all panels of a level at once.  After
    ``max_depth`` halvings the pieces left count as converged when their estimated
    error is below 1e-10 of the panel's value (an integrable endpoint singularity such
    as log x at 0) and not otherwise (1/x at 0: the integral diverges).
    """
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    total = np.zeros(lo.shape)
    owner = np.arange(lo.size)
    converged = True
    for _ in range(max_depth):
        if owner.size == 0:
            break
        high = _rule_on(func, lo, hi, _NODES_HIGH, _WEIGHTS_HIGH)
        low = _rule_on(func, lo, hi, _NODES_LOW, _WEIGHTS_LOW)
        done = np.abs(high - low) <= tolerance * np.maximum(np.abs(high), hi - lo)
        np.add.at(total, owner[done], high[done])
        lo, hi, owner = lo[~done], hi[~done], owner[~done]
        mid = (lo + hi) / 2
        lo, hi, owner = (
            np.concatenate([lo, mid]),
            np.concatenate([mid, hi]),
            np.concatenate([owner, owner]),
        )
    else:
        if owner.size:
            high = _rule_on(func, lo, hi, _NODES_HIGH, _WEIGHTS_HIGH)
            low = _rule_on(func, lo, hi, _NODES_LOW, _WEIGHTS_LOW)
            np.add.at(total, owner, high)
            left_over = np.zeros(total.shape)
            np.add.at(left_over, owner, np.abs(high - low))
            converged = bool(np.all(left_over <= 1e-10 * np.maximum(1.0, np.abs(total))))
    return total, converged


def _numeric_kinks(entry: Entry, low: float, high: float) -> list[float]:
    """Where ``entry``'s nonsmooth parts switch branch, inside [low, high]."""
    from .kinks import kink_candidates

    points = []
    for point in kink_candidates(entry.expr, entry.variable):
        try:
            value = float(point)
        except (TypeError, ValueError):
            continue
        if low < value < high:
            points.append(value)
    return sorted(set(points))


def _kernel(entry: Entry):
    from .kernels import kernel

    return kernel(entry)


def integrate_numeric(
    f: Function, a: float, b: float, *, params: dict[str, Any] | None = None
) -> float:
    """∫ₐᵇ f by adaptive Gauss-Legendre quadrature, split at the kinks of f.

    Accurate to about 1e-14 relative on functions that are smooth between kinks.

    Examples
    --------
    >>> round(integrate_numeric("relu", -1, 2), 12)
    2.0
    """
    entry = univariate_entry(f, **dict(params or {}))
    a, b = _check_number(a, "a"), _check_number(b, "b")
    if a == b:
        return 0.0
    lo, hi = min(a, b), max(a, b)
    edges = np.array([lo, *_numeric_kinks(entry, lo, hi), hi])
    panels, converged = _panel_integrals(_kernel(entry), edges[:-1], edges[1:])
    if not converged:
        raise SymcalcError(
            f"quadrature of {entry.name} over [{lo:g}, {hi:g}] did not reach 1e-10 accuracy "
            "(f is singular there?); choose an interval where f is bounded"
        )
    total = float(panels.sum())
    return total if a < b else -total


def accumulate(
    f: Function, a: float, x: Sequence[float] | np.ndarray, *, params: dict[str, Any] | None = None
) -> np.ndarray:
    """The accumulation A(x) = ∫ₐˣ f(t) dt at each x, by adaptive quadrature.

    The points are sorted together with ``a`` and the kinks, and each panel between
    neighbours is integrated once; A is their running sum.  About 1e-14 relative.

    Examples
    --------
    >>> accumulate("2*x", 1, [0.0, 1.0, 3.0]).round(12).tolist()
    [-1.0, 0.0, 8.0]
    """
    entry = univariate_entry(f, **dict(params or {}))
    a = _check_number(a, "a")
    points = np.asarray(x, dtype=float)
    if points.size == 0:
        return np.zeros(points.shape)
    if not np.all(np.isfinite(points)):
        raise SymcalcError("x must hold finite numbers only")
    low, high = min(a, float(points.min())), max(a, float(points.max()))
    grid = np.union1d(points.ravel(), [a, *_numeric_kinks(entry, low, high)])
    accumulated, _ = _accumulation(_kernel(entry), a, grid)
    return accumulated[np.searchsorted(grid, points)]


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
    ``x``, ``accumulation`` and ``values`` hold A(x) and f(x) on the grid for plots.
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

    @property
    def held(self) -> bool:
        """True when no part failed (the symbolic part may be None: no closed form)."""
        return self.numeric_held and self.symbolic_held is not False

    @property
    def max_abs_error(self) -> float:
        """The larger of the numeric errors."""
        errors = [e for e in (self.accumulation_error, self.derivative_error) if e is not None]
        return max(errors)

    def to_text(self) -> str:
        """A short report: the antiderivative, then each part with its error and time."""
        x = self.entry.variable
        verdict = {True: "held", False: "FAILED", None: "not checked (no antiderivative)"}
        lines = [
            f"fundamental theorem: d/d{x} ∫_{self.a:g}^{x} f(t) dt = f({x})   for {self.input}"
        ]
        lines.append(self.antiderivative.to_text())
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
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form of the ``symcalc ftc`` contract."""
        F = self.antiderivative.antiderivative
        return {
            "input": self.input,
            "name": self.entry.name,
            "variable": self.entry.variable.name,
            "a": self.a,
            "x_range": list(self.x_range),
            "antiderivative": None if F is None else sympy.sstr(F),
            "held": self.held,
            "symbolic": {
                "held": self.symbolic_held,
                "method": self.symbolic_method,
                "max_abs_error": self.symbolic_error,
                "seconds": round(self.symbolic_seconds, 4),
            },
            "numeric": {
                "held": self.numeric_held,
                "max_abs_error": self.max_abs_error,
                "accumulation_error": self.accumulation_error,
                "derivative_error": self.derivative_error,
                "points": self.points,
                "tolerance": self.tolerance,
                "seconds": round(self.numeric_seconds, 4),
            },
        }

    def _repr_png_(self) -> bytes:
        from .plotting import figure_png, plot_ftc

        return figure_png(plot_ftc(self))

    def __repr__(self) -> str:
        return (
            f"<FTCCheck {self.input}: symbolic {self.symbolic_held}, numeric {self.numeric_held} "
            f"(max error {self.max_abs_error:.1e})>"
        )


def _integrate(entry: Entry, timeout: float | None) -> Antiderivative:
    return antiderivative(entry, timeout=timeout)


def _claimed(entry: Entry, claimed: str | sympy.Expr) -> Antiderivative:
    """A user's claimed antiderivative, read safely, as an `Antiderivative` to check."""
    F = resolve(claimed).expr if isinstance(claimed, (str, sympy.Basic)) else None
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


def _evaluator(expr: sympy.Expr, x: sympy.Symbol, digits: int = 30) -> Callable[[float], float]:
    """x -> expr(x) evaluated with ``digits`` significant digits (mpmath)."""
    import mpmath

    try:
        compiled = sympy.lambdify(x, expand_named(expr), modules="mpmath")
    except (TypeError, NameError, SyntaxError):  # pragma: no cover - lambdify covers our functions
        compiled = None

    def evaluate(value: float, offset: float = 0.0) -> float:
        """expr at value + offset, the sum formed with ``digits`` digits (offset may be tiny)."""
        with mpmath.workdps(digits):
            point = mpmath.mpf(value) + mpmath.mpf(offset)
            try:
                if compiled is None:
                    raise TypeError
                out = compiled(point)
            except (TypeError, NameError, ValueError, ZeroDivisionError):
                out = expand_named(expr).subs(x, sympy.Float(point, digits)).evalf(digits)
            out = complex(out)
        return out.real if abs(out.imag) <= 1e-20 * max(1.0, abs(out.real)) else math.nan

    return evaluate


def _symbolic_check(residual: sympy.Expr) -> bool:  # runs in the budget's child process
    simplified = sympy.simplify(sympy.piecewise_fold(residual))
    return simplified == 0


def _random_points(low: float, high: float, count: int = 24) -> np.ndarray:
    return np.random.default_rng(20261125).uniform(low, high, count)


def _largest_jump(
    F: sympy.Expr, x: sympy.Symbol, x_range: tuple[float, float]
) -> tuple[float, float | None]:
    """The largest jump |F(c+) − F(c−)| of a piecewise F at its switches in range, and where."""
    from .kinks import kink_candidates

    if not F.has(sympy.Piecewise, sympy.Abs, sympy.Max, sympy.Min, sympy.sign, sympy.Heaviside):
        return 0.0, None
    evaluate = _evaluator(F, x, digits=50)
    worst, where = 0.0, None
    for point in kink_candidates(F, x):
        try:
            c = float(point)
        except (TypeError, ValueError):
            continue
        if not x_range[0] < c < x_range[1]:
            continue
        delta = 1e-30 * max(1.0, abs(c))
        left, right = evaluate(c, -delta), evaluate(c, delta)
        jump = (
            abs(right - left) / max(1.0, abs(left))
            if math.isfinite(left) and math.isfinite(right)
            else math.inf
        )
        if jump > worst:
            worst, where = jump, c
    return worst, where


def _check_symbolically(entry, F, x_range, timeout) -> tuple[bool, str, float | None]:
    from .derivatives import differentiate

    x = entry.variable
    jump, where = _largest_jump(F, x, x_range)
    if jump > SYMBOLIC_TOLERANCE:
        return False, f"continuity (F jumps by {jump:.3g} at {x} = {where:g})", jump
    f = expand_named(entry.expr)
    dF = differentiate(F, x)
    residual = dF - f
    try:
        if budget.within(timeout, _symbolic_check, residual, what="simplification"):
            return True, "simplify", 0.0
    except TimeBudgetExceeded:
        pass
    evaluate_residual, evaluate_f = _evaluator(residual, x), _evaluator(f, x)
    worst = 0.0
    for point in _random_points(*x_range):
        r = evaluate_residual(float(point))
        scale = max(1.0, abs(evaluate_f(float(point))))
        worst = max(worst, abs(r) / scale if math.isfinite(r) else math.inf)
    return worst <= SYMBOLIC_TOLERANCE, "random points", worst


def _richardson_weights(terms: int = 4) -> np.ndarray:
    """Weights w with Σ w_k = 1 and Σ w_k k^(2j) = 0 (j = 1..terms-1): error O(h^(2·terms))."""
    k = np.arange(1, terms + 1, dtype=float)
    system = np.vstack([k ** (2 * j) for j in range(terms)])
    rhs = np.zeros(terms)
    rhs[0] = 1.0
    return np.linalg.solve(system, rhs)


_WEIGHTS_RICHARDSON = _richardson_weights(4)


def _accumulation(kern, a: float, grid: np.ndarray) -> tuple[np.ndarray, bool]:
    """A(x) = ∫ₐˣ f at every grid point (sorted, containing a), each panel integrated once."""
    panels, converged = _panel_integrals(kern, grid[:-1], grid[1:])
    cumulative = np.concatenate([[0.0], np.cumsum(panels)])
    start = int(np.searchsorted(grid, a))
    return cumulative - cumulative[start], converged


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


def check_ftc(
    f: Function,
    a: float | None = None,
    *,
    x_range: Sequence[float] | None = None,
    points: int = 201,
    params: dict[str, Any] | None = None,
    tolerance: float = NUMERIC_TOLERANCE,
    timeout: float | None = budget.DEFAULT_SECONDS,
    antiderivative: str | sympy.Expr | None = None,
) -> FTCCheck:
    """Check d/dx ∫ₐˣ f(t) dt = f(x) symbolically (where F exists) and numerically (always).

    ``a`` defaults to 0, or to the middle of the entry's plot range when 0 is outside
    its domain (binary cross-entropy: p ∈ (0, 1)).  The check runs on ``x_range``
    (default: the entry's ``plot_range``, widened to contain ``a``) at ``points``
    equally spaced points plus the kinks.  The numeric part holds when every error is
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
    entry = univariate_entry(f, **dict(params or {}))
    text = f if isinstance(f, str) else entry.name
    low, high = _check_range(entry.plot_range if x_range is None else x_range)
    kern = _kernel(entry)
    if a is None:
        a = default_lower_limit(entry)
        if not math.isfinite(float(_values(kern, a))):  # log(x): start inside the range
            a = (low + high) / 2
    a = _check_number(a, "a")
    if not _in_domain(entry, a):
        raise SymcalcError(
            f"a = {a:g} is outside the domain of {entry.name} ({_domain_text(entry)}); "
            f"choose a inside it, e.g. {default_lower_limit(entry):g}"
        )
    if not math.isfinite(float(_values(kern, a))):
        raise SymcalcError(f"f is not finite at a = {a:g}; choose a (--a) where f is defined")
    low, high = min(low, a), max(high, a)
    for end in (low, high):
        if not _in_domain(entry, end):
            raise SymcalcError(
                f"the range {low:g}:{high:g} leaves the domain of {entry.name} "
                f"({_domain_text(entry)}); "
                "choose a range inside it"
            )
    if isinstance(points, bool) or not isinstance(points, int) or not 11 <= points <= 100_000:
        raise SymcalcError(f"points must be a whole number from 11 to 100000, got {points!r}")
    tolerance = _check_number(tolerance, "tolerance")

    found = (
        _claimed(entry, antiderivative)
        if antiderivative is not None
        else _integrate(entry, timeout)
    )

    # symbolic part
    start = time.perf_counter()
    if found.found:
        symbolic_held, method, symbolic_error = _check_symbolically(
            entry, found.antiderivative, (low, high), timeout
        )
    else:
        symbolic_held, method, symbolic_error = None, None, None
    symbolic_seconds = time.perf_counter() - start

    # numeric part
    start = time.perf_counter()
    kinks = _numeric_kinks(entry, low, high)
    grid = np.union1d(np.linspace(low, high, points), [a, *kinks])
    accumulated, converged = _accumulation(kern, a, grid)
    values = _values(kern, grid)
    if not np.all(np.isfinite(values)):
        bad = grid[~np.isfinite(values)][0]
        raise SymcalcError(
            f"f is not finite at {bad:.6g}; choose a range where f is defined and finite"
        )

    accumulation_error = None
    if found.found:
        F = _evaluator(found.antiderivative, entry.variable)
        F_a = F(a)
        exact = np.array([F(float(v)) - F_a for v in grid])
        deviation = np.abs(accumulated - exact) / np.maximum(1.0, np.abs(exact))
        accumulation_error = float(np.max(np.abs(accumulated - exact)))
        accumulation_ok = bool(np.all(deviation <= tolerance))
    else:
        accumulation_ok = True

    # step per point: small against the distance to the nearest end or kink, so the
    # stencil x ± 4h stays where f is smooth; the short integrals carry no cancellation,
    # so a small h costs no accuracy
    fences = np.array([low, high, *kinks])
    distance = np.min(np.abs(grid[:, None] - fences[None, :]), axis=1)
    inner = distance > 1e-9 * (high - low)
    checked = grid[inner]
    h = np.minimum(min(1e-2, 1e-3 * (high - low)), 0.01 * distance[inner])
    slopes = _numeric_derivative(kern, checked, h)
    derivative_deviation = np.abs(slopes - values[inner])
    derivative_error = float(np.max(derivative_deviation))
    derivative_ok = bool(
        np.all(derivative_deviation <= tolerance * np.maximum(1.0, np.abs(values[inner])))
    )
    numeric_seconds = time.perf_counter() - start

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
        points=int(checked.size),
        tolerance=tolerance,
        numeric_seconds=numeric_seconds,
        x=grid,
        accumulation=accumulated,
        values=values,
    )


# -- Riemann sums -----------------------------------------------------------------------


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise SymcalcError(
            f"unknown Riemann rule '{rule}'{did_you_mean(str(rule), RULES)} "
            f"(choose one of {', '.join(RULES)})"
        )
    return rule


def _check_count(n: Any) -> int:
    if (
        isinstance(n, bool)
        or not isinstance(n, (int, np.integer))
        and not (isinstance(n, float) and n.is_integer())
    ):
        raise SymcalcError(f"n must be a whole number of subintervals, got {n!r}")
    n = int(n)
    if not 1 <= n <= 10_000_000:
        raise SymcalcError(f"n must be from 1 to 10000000 subintervals, got {n}")
    return n


def _sample_points(a: float, b: float, n: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Edges of the n subintervals and the points where f is sampled."""
    edges = np.linspace(a, b, n + 1)
    if rule == "left":
        return edges, edges[:-1]
    if rule == "right":
        return edges, edges[1:]
    if rule == "midpoint":
        return edges, (edges[:-1] + edges[1:]) / 2
    return edges, edges


def _weighted_sum(heights: np.ndarray, width: float, rule: str) -> float:
    if rule == "trapezoid":
        return float(width * (heights.sum() - (heights[0] + heights[-1]) / 2))
    return float(width * heights.sum())


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class RiemannSum:
    """A Riemann sum of f over [a, b] with n subintervals by ``rule``, and its error.

    ``edges`` are the n + 1 subinterval ends, ``samples`` the points where f was
    evaluated and ``heights`` its values there (for the trapezoid rule, at the edges).
    ``exact`` is the integral by adaptive quadrature (about 1e-14 relative).
    """

    input: str
    entry: Entry
    a: float
    b: float
    n: int
    rule: str
    value: float
    exact: float
    edges: np.ndarray
    samples: np.ndarray
    heights: np.ndarray

    @property
    def error(self) -> float:
        """value − exact."""
        return self.value - self.exact

    def __float__(self) -> float:
        return self.value

    def to_text(self) -> str:
        """One line: the sum, the integral and the error."""
        return (
            f"{self.rule} Riemann sum of {self.input} on [{self.a:g}, {self.b:g}] "
            f"with n = {self.n}: "
            f"{self.value:.12g}   (integral {self.exact:.12g}, error {self.error:.3e})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "input": self.input,
            "name": self.entry.name,
            "variable": self.entry.variable.name,
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "rule": self.rule,
            "value": self.value,
            "exact": self.exact,
            "error": self.error,
        }

    def _repr_png_(self) -> bytes:
        from .plotting import figure_png, plot_riemann_sum

        return figure_png(plot_riemann_sum(self))

    def __repr__(self) -> str:
        where = f"[{self.a:g}, {self.b:g}]"
        return f"<RiemannSum {self.rule} n={self.n} of {self.input} on {where} = {self.value:.10g}>"


def _prepare_interval(f: Function, a: Any, b: Any, params) -> tuple[Entry, float, float]:
    entry = univariate_entry(f, **dict(params or {}))
    a, b = _check_number(a, "a"), _check_number(b, "b")
    if not a < b:
        raise SymcalcError(f"the interval needs a < b, got a = {a:g}, b = {b:g}")
    for name, end in (("a", a), ("b", b)):
        if not _in_domain(entry, end):
            raise SymcalcError(
                f"{name} = {end:g} is outside the domain of {entry.name} "
                f"({_domain_text(entry)}); choose [a, b] inside it"
            )
    return entry, a, b


def _riemann(
    entry: Entry, kern, a: float, b: float, n: int, rule: str, exact: float, text: str
) -> RiemannSum:
    edges, samples = _sample_points(a, b, n, rule)
    heights = _values(kern, samples)
    if not np.all(np.isfinite(heights)):
        bad = samples[~np.isfinite(heights)][0]
        raise SymcalcError(
            f"f is not finite at {bad:.6g}, a sample point of the {rule} rule; "
            "choose another interval"
        )
    value = _weighted_sum(heights, (b - a) / n, rule)
    return RiemannSum(text, entry, a, b, n, rule, value, exact, edges, samples, heights)


def riemann_sum(
    f: Function,
    a: float,
    b: float,
    n: int,
    rule: str = "midpoint",
    *,
    params: dict[str, Any] | None = None,
) -> RiemannSum:
    """The ``rule`` Riemann sum of ``f`` over [a, b] with ``n`` equal subintervals.

    ``rule`` is ``"left"``, ``"right"``, ``"midpoint"`` or ``"trapezoid"``.  One
    vectorized evaluation of f at the sample points; the result also holds the exact
    integral (adaptive quadrature) and so the error.

    Examples
    --------
    >>> s = riemann_sum("x**2", 0, 1, 4, rule="left")
    >>> s.value, s.samples.tolist()
    (0.21875, [0.0, 0.25, 0.5, 0.75])
    >>> round(s.exact, 15)
    0.333333333333333
    """
    entry, a, b = _prepare_interval(f, a, b, params)
    rule, n = _check_rule(rule), _check_count(n)
    text = f if isinstance(f, str) else entry.name
    exact = integrate_numeric(entry, a, b)
    return _riemann(entry, _kernel(entry), a, b, n, rule, exact, text)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class RiemannStudy:
    """Errors of Riemann sums for n = 2, 4, ..., 2^k and the observed orders of convergence.

    ``errors[rule]`` holds |sum − exact| for each n in ``counts``; ``orders[rule]`` is
    the slope p of log(error) ≈ c − p·log(n), fitted over the sums with n >= 8 whose
    error is above the rounding floor (None when the rule is exact for this f).
    """

    input: str
    entry: Entry
    a: float
    b: float
    exact: float
    counts: np.ndarray
    errors: dict[str, np.ndarray]
    orders: dict[str, float | None]

    def to_text(self) -> str:
        """A table: n, then the error of each rule; the observed orders last."""
        rules = list(self.errors)
        lines = [
            f"Riemann sums of {self.input} on [{self.a:g}, {self.b:g}]; "
            f"integral = {self.exact:.15g}"
        ]
        lines.append(f"{'n':>8}  " + "  ".join(f"{r:>10}" for r in rules))
        for i, n in enumerate(self.counts):
            lines.append(f"{n:>8}  " + "  ".join(f"{self.errors[r][i]:>10.3e}" for r in rules))
        shown = ["exact" if self.orders[r] is None else f"{self.orders[r]:.3f}" for r in rules]
        lines.append(f"{'order':>8}  " + "  ".join(f"{s:>10}" for s in shown))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "input": self.input,
            "a": self.a,
            "b": self.b,
            "exact": self.exact,
            "n": self.counts.tolist(),
            "errors": {r: e.tolist() for r, e in self.errors.items()},
            "orders": dict(self.orders),
        }

    def _repr_png_(self) -> bytes:
        from .plotting import figure_png, plot_riemann_convergence

        return figure_png(plot_riemann_convergence(self))

    def __repr__(self) -> str:
        orders = ", ".join(
            f"{r} {o:.2f}" if o is not None else f"{r} exact" for r, o in self.orders.items()
        )
        where = f"[{self.a:g}, {self.b:g}]"
        return f"<RiemannStudy {self.input} on {where}, n up to {self.counts[-1]}: {orders}>"


def _observed_order(counts: np.ndarray, errors: np.ndarray, floor: float) -> float | None:
    usable = (counts >= 8) & (errors > floor)
    if usable.sum() < 2:
        return None
    slope = np.polyfit(np.log(counts[usable]), np.log(errors[usable]), 1)[0]
    return float(-slope)


def riemann_convergence(
    f: Function,
    a: float,
    b: float,
    *,
    max_power: int = 10,
    rules: Sequence[str] = RULES,
    exact: float | None = None,
    params: dict[str, Any] | None = None,
) -> RiemannStudy:
    """Errors of the Riemann sums for n = 2, 4, ..., 2^max_power and the observed orders.

    The error is measured against ``exact`` when given, else against adaptive
    quadrature (about 1e-14 relative).  Expect order 1 for left and right sums and 2
    for midpoint and trapezoid on smooth f.

    Examples
    --------
    >>> study = riemann_convergence("exp(x)", 0, 1, max_power=8)
    >>> {rule: round(order) for rule, order in study.orders.items()}
    {'left': 1, 'right': 1, 'midpoint': 2, 'trapezoid': 2}
    """
    entry, a, b = _prepare_interval(f, a, b, params)
    if isinstance(max_power, bool) or not isinstance(max_power, int) or not 1 <= max_power <= 22:
        raise SymcalcError(f"max_power must be a whole number from 1 to 22, got {max_power!r}")
    rules = [_check_rule(r) for r in rules]
    if not rules:
        raise SymcalcError(f"give at least one rule ({', '.join(RULES)})")
    text = f if isinstance(f, str) else entry.name
    exact = integrate_numeric(entry, a, b) if exact is None else _check_number(exact, "exact")
    kern = _kernel(entry)
    counts = 2 ** np.arange(1, max_power + 1)
    errors = {}
    orders = {}
    for rule in rules:
        values = np.array(
            [_riemann(entry, kern, a, b, int(n), rule, exact, text).value for n in counts]
        )
        errors[rule] = np.abs(values - exact)
        floor = (
            1e3
            * np.finfo(float).eps
            * max(abs(exact), (b - a) * float(np.max(np.abs(_values(kern, np.linspace(a, b, 65))))))
        )
        orders[rule] = _observed_order(counts, errors[rule], floor)
    return RiemannStudy(text, entry, a, b, exact, counts, errors, orders)
