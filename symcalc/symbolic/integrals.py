"""Antiderivatives with their steps, found under a time budget.

`antiderivative` integrates symbolically, in a child process under a time budget
(SymPy's ``integrate`` has no timeout and can run for minutes): it returns an
`Antiderivative` holding F and a tree of `IntegralStep` built from SymPy's
``manualintegrate`` rules, or the plain fact that no closed form was found in time.
Piecewise integrands (relu, hard_tanh, huber, ...) are integrated piece by piece and
the constants chosen so that F is continuous.

Examples
--------
>>> antiderivative("relu").antiderivative
Piecewise((0, x <= 0), (x**2/2, True))
>>> antiderivative("x*exp(x)").to_text()
'∫ x*exp(x) dx = x*exp(x) - exp(x) + C'
"""

from __future__ import annotations

import collections
import dataclasses
import math
import re
import threading
import time
from typing import Any

import sympy

from ..errors import SymcalcError, TimeBudgetExceeded, check_number
from . import budget
from .catalog import Entry, univariate_entry
from .functions import expand_named
from .parse import resolve

__all__ = ["Antiderivative", "IntegralStep", "antiderivative", "integral_latex", "integral_text"]

Function = str | sympy.Expr | Entry


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


#: Integrations that finished (found F, or found there is none), by (integrand, variable,
#: positive), least recently used first: integrating the same function again costs nothing.
#: Runs out of time are not kept (a larger budget may finish).
_FOUND: collections.OrderedDict[tuple, tuple] = collections.OrderedDict()
_FOUND_SIZE = 256
_FOUND_LOCK = threading.Lock()


def _integrated(timeout: float, expr: sympy.Expr, x: sympy.Symbol, positive: bool) -> tuple:
    """`_find_antiderivative` under the time budget, remembered once it finished."""
    key = (expr, x, positive)
    with _FOUND_LOCK:
        if key in _FOUND:
            _FOUND.move_to_end(key)
            return _FOUND[key]
    found = budget.within(timeout, _find_antiderivative, expr, x, positive, what="integration")
    with _FOUND_LOCK:
        _FOUND[key] = found
        while len(_FOUND) > _FOUND_SIZE:
            _FOUND.popitem(last=False)
    return found


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
    from ..symbolic.render import TextbookLatexPrinter, TextPrinter

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
    >>> from symcalc.symbolic.functions import symbol
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
    >>> from symcalc.symbolic.functions import symbol
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


def _latex_step(step: IntegralStep, latex) -> str:
    """One step as a one-line LaTeX equation (for JSON records)."""
    return f"{integral_latex(step.integrand, step.variable)} = {latex.doprint(step.result)}"


def _step_equation(step: IntegralStep, latex):
    """One step as a row of the ``align*``, its rule at the right margin."""
    from .typeset import Equation

    lhs = integral_latex(step.integrand, step.variable)
    return Equation(lhs, (latex.doprint(step.result),), _latex_note(step, latex))


def _latex_note(step: IntegralStep, latex) -> str:
    r"""``substitution, $u = e^{x} + 1$``: the text of the step's ``\tag*``, formulas as math."""
    from .render import latex_tag

    parts: list[str] = [latex_tag(step.rule)]
    for key, value in step.details:
        if key == "as":
            parts.append(f" as ${latex.doprint(value)}$")
        elif key == "dv":
            parts.append(f", $dv = {_latex_differential(value, step.variable, latex)}$")
        else:
            parts.append(f", ${key} = {latex.doprint(value)}$")
    if step.where is not None:
        parts.append(f", for ${_interval_latex(step.where, step.variable, latex)}$")
    if step.comment:
        parts.append(", " + _math_letters(latex_tag(step.comment)))
    return "".join(parts)


def _math_letters(text: str) -> str:
    """The letters of formulas in a comment as math: 'this gives $v$', 'so that $F$ is'."""
    return re.sub(
        r"\b(v du|[FCuv])\b", lambda m: "$" + m.group(1).replace(" d", r"\,d") + "$", text
    )


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

    def latex_equation(self) -> str:
        """``\\int f \\, dx = F + C`` on one line (or why there is no F)."""
        _, latex = _printers()
        lhs = integral_latex(self.integrand, self.variable)
        if not self.found:
            return rf"{lhs} \quad \text{{(no closed form found: {_latex_text(self.reason or '')})}}"
        return rf"{lhs} = {latex.doprint(self.antiderivative)} + C"

    def steps_latex(self) -> str:
        """The steps alone as one ``align*`` (empty when there are none)."""
        from .typeset import align

        _, latex = _printers()
        rows = [_step_equation(s, latex) for s in self.step_list()]
        return align(rows) if rows else ""

    def to_latex(self, steps: bool = True, standalone: bool = False) -> str:
        """The integral as one LaTeX ``align*``: ``\\int f\\,dx = F + C`` and, with
        ``steps``, every step, its rule at the right margin, broken to fit a 6.5 in text
        width at 10 pt (`symcalc.symbolic.typeset`).  ``standalone`` gives a complete
        document that pdflatex compiles."""
        from .render import latex_tag
        from .typeset import Equation, align, standalone_document

        _, latex = _printers()
        lhs = integral_latex(self.integrand, self.variable)
        if not self.found:
            tag = latex_tag(f"no closed form found: {self.reason or 'none'}")
            rows = [Equation(lhs, (), tag)]
        else:
            rows = [Equation(lhs, (rf"{latex.doprint(self.antiderivative)} + C",))]
            if steps:
                found = [_step_equation(s, latex) for s in self.step_list()]
                if found:
                    found[0] = dataclasses.replace(found[0], space_before=True)
                rows.extend(found)
        body = align(rows)
        return standalone_document(body) if standalone else body

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; expressions as SymPy syntax that `symcalc.symbolic.parse` reads back."""
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
                    "latex": _latex_step(s, latex),
                }
                for s in self.step_list()
            ],
        }

    def _repr_latex_(self) -> str:
        return "$$" + self.latex_equation() + "$$"

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
    timeout: float | None = None,
) -> Antiderivative:
    """An antiderivative of ``f`` with step-by-step integration, found within ``timeout`` seconds.

    The integration runs in a child process that is killed when the budget runs out
    (``timeout=None``: the current default, `symcalc.symbolic.budget.default_seconds`;
    ``math.inf``: no limit, in this process);
    no closed form in time is a normal answer (``.antiderivative is None``).  Catalog
    losses are integrated in their first variable with the others fixed.  An integration
    that finished is remembered: asking again for the same function costs nothing.

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
    entry = univariate_entry(resolve(f, **dict(params or {})))
    if timeout is None:
        timeout = budget.default_seconds()
    elif timeout != math.inf:
        timeout = check_number(timeout, "timeout")
        if timeout <= 0:
            raise SymcalcError(
                f"`timeout` must be a positive number of seconds, got {timeout:g}",
                parameter="timeout",
            )
    x = entry.variable
    text = f if isinstance(f, str) else entry.name
    start = time.perf_counter()
    try:
        positive = entry.domain_of(x).is_subset(sympy.Interval.open(0, sympy.oo)) is True
        F, steps, method = _integrated(timeout, entry.expr, x, positive)
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
