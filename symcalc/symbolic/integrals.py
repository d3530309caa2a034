"""Antiderivatives with their steps, found under a time budget and verified.

`antiderivative` integrates symbolically, in a child process under a time budget
(SymPy's ``integrate`` has no timeout and can run for minutes).  Several methods race
for the answer (`symcalc.symbolic.integration`: partial fractions, the Risch
algorithm, SymPy's textbook rules with their steps, heuristics, Meijer G-functions),
and every answer is verified before it is shown: F' = f at points of each interval of
the integrand's real domain, with 30 digits, F real and finite there and without
jumps; every step is checked the same way.  The result is an `Antiderivative`
holding F, the method that found it and a tree of `IntegralStep`, or the plain fact
that no verified closed form was found.  Where f has a pole, F holds on each
interval of its domain with a constant of its own, and the result says so.
Piecewise integrands (relu, hard_tanh, huber, ...) are integrated piece by piece and
the constants chosen so that F is continuous.  A catalog entry's parameters stay
symbols where SymPy can integrate with them; values put in are stated.

Examples
--------
>>> antiderivative("relu").antiderivative
Piecewise((0, x <= 0), (x**2/2, True))
>>> antiderivative("x*exp(x)").to_text()
'∫ x*exp(x) dx = x*exp(x) - exp(x) + C'
>>> print(antiderivative("1/x").to_text())
∫ 1/x dx = log(Abs(x)) + C
  on each interval, with a constant of its own: x < 0; x > 0
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

from ..errors import SymcalcError, check_number
from . import budget
from .catalog import Entry, univariate_entry
from .domains import refuse_nowhere_real
from .integral_steps import IntegralStep, interval_text
from .integration import METHODS, Problem, preload_methods, search
from .parse import resolve

__all__ = ["Antiderivative", "IntegralStep", "antiderivative", "integral_latex", "integral_text"]

Function = str | sympy.Expr | Entry


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

#: What each ``method`` means, for people (the ``method`` field holds the short name): a
#: method's own description (`Method.about`) unless a shorter one reads better here.
METHOD_NAMES = {
    **{method.name: method.about for method in METHODS},
    "rational": "partial fractions and Hermite reduction (rational functions)",
    "risch": "the Risch algorithm",
    "manualintegrate": "textbook rules (SymPy's manualintegrate)",
    "heurisch": "the heuristic Risch algorithm",
    "meijerg": "Meijer G-functions",
    "integrate": "SymPy's integrate",
    "piecewise": "integrating piece by piece",
    "given": "the user",
    "none": "none",
}


def _method_words(method: str) -> str:
    if method.startswith("by interval"):
        return f"different methods on different intervals {method.removeprefix('by interval ')}"
    return METHOD_NAMES.get(method, method)


@dataclasses.dataclass(frozen=True, repr=False)
class Antiderivative:
    """An antiderivative F of ``integrand`` with its steps, or the fact that none was found.

    ``antiderivative`` is None when no verified closed form was found within the time
    budget (``reason`` says why): a normal answer, not an error.  ``method`` names what
    found F: ``"rational"``, ``"risch"``, ``"manualintegrate"`` (textbook rules, with
    steps), ``"radical"`` (the same after u = P(x)^(1/q), a root of a polynomial:
    √(1 − x²)/x), ``"combined"`` (the same after exp(a)·exp(b) = exp(a + b) and products of
    sines and cosines written as sums), ``"heurisch"``, ``"meijerg"``, ``"exponential"`` (Meijer
    G-functions after u = exp(x): softplus, −Li₂(−eˣ)), ``"integrate"``,
    ``"piecewise"`` (piece by piece, made continuous), ``"by interval (...)"`` (different
    methods on different intervals of the domain), or ``"none"``.  Every F returned has
    been verified: F' = f at sample points of each interval of f's real domain (30
    digits), F real, finite and without jumps there.

    ``intervals``: where f has a pole, the intervals of its domain on which F holds,
    each with a constant of its own (None: one constant everywhere); ``domain`` is set
    instead when there are infinitely many (tan x).  ``substituted`` lists the values
    put in for parameters or other variables that could not stay symbols.
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
    intervals: tuple[sympy.Interval, ...] | None = None
    domain: sympy.Set | None = None
    substituted: tuple[tuple[sympy.Symbol, sympy.Expr], ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def found(self) -> bool:
        """Whether a verified closed form was found."""
        return self.antiderivative is not None

    def step_list(self) -> list[IntegralStep]:
        """The steps in reading order (empty when there are none)."""
        return [] if self.steps is None else list(_step_lines(self.steps))

    def constants_text(self) -> str | None:
        """Where F holds with its own constant, as text (None: one constant everywhere)."""
        x = self.variable
        if self.intervals:
            parts = "; ".join(interval_text(i, x) for i in self.intervals)
            return f"on each interval, with a constant of its own: {parts}"
        if self.domain is not None:
            return (
                "on each interval of the domain of f, with a constant of its own: "
                f"{x} ∈ {sympy.sstr(self.domain)}"
            )
        return None

    def substituted_text(self) -> str | None:
        """``with y = 0, delta = 1``: the values put in (None when all stayed symbols)."""
        if not self.substituted:
            return None
        return "with " + ", ".join(f"{k} = {sympy.sstr(v)}" for k, v in self.substituted)

    def to_text(self, steps: bool = False, method: bool = False) -> str:
        """``∫ f dx = F + C`` (or why there is none), optionally the method and the steps."""
        text, _ = _printers()
        lhs = integral_text(self.integrand, self.variable)
        if not self.found:
            lines = [f"{lhs}: no verified closed form ({self.reason})"]
        else:
            lines = [f"{lhs} = {text.doprint(self.antiderivative)} + C"]
        lines += [f"  {note}" for note in (self.constants_text(), self.substituted_text()) if note]
        if method and self.found:
            lines.append(
                f"  found by {_method_words(self.method)}; verified: F' = f at random points"
            )
        if steps and self.steps is not None:
            lines.append("\nsteps:")
            lines.extend(_text_step(s, text) for s in self.step_list())
        return "\n".join(lines)

    def latex_equation(self) -> str:
        """``\\int f \\, dx = F + C`` on one line (or why there is no F)."""
        _, latex = _printers()
        lhs = integral_latex(self.integrand, self.variable)
        if not self.found:
            reason = _latex_text(self.reason or "")
            return rf"{lhs} \quad \text{{(no verified closed form: {reason})}}"
        return rf"{lhs} = {latex.doprint(self.antiderivative)} + C"

    def steps_latex(self) -> str:
        """The steps alone as one ``align*`` (empty when there are none)."""
        from .typeset import align

        _, latex = _printers()
        rows = [_step_equation(s, latex) for s in self.step_list()]
        return align(rows) if rows else ""

    def to_latex(self, steps: bool = True, method: bool = False, standalone: bool = False) -> str:
        """The integral as one LaTeX ``align*``: ``\\int f\\,dx = F + C`` (where it holds and
        the values put in at the right margin) and, with ``steps``, every step, its rule at
        the right margin, broken to fit a 6.5 in text width at 10 pt
        (`symcalc.symbolic.typeset`); ``method`` adds a comment naming the method.
        ``standalone`` gives a complete document that pdflatex compiles."""
        from .render import latex_tag
        from .typeset import Equation, align, standalone_document

        _, latex = _printers()
        lhs = integral_latex(self.integrand, self.variable)
        if not self.found:
            tag = latex_tag(f"no verified closed form: {self.reason or 'none'}")
            rows = [Equation(lhs, (), tag)]
        else:
            notes = [n for n in (self.constants_text(), self.substituted_text()) if n]
            tag = latex_tag("; ".join(notes)) if notes else None
            rows = [Equation(lhs, (rf"{latex.doprint(self.antiderivative)} + C",), tag)]
            if steps:
                found = [_step_equation(s, latex) for s in self.step_list()]
                if found:
                    found[0] = dataclasses.replace(found[0], space_before=True)
                rows.extend(found)
        body = align(rows)
        if method and self.found:
            body += f"\n% found by {_method_words(self.method)}"
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
            "method_description": _method_words(self.method),
            "verified": None if F is None else "random points, 30 digits",
            "intervals": (
                None
                if self.intervals is None
                else [interval_text(i, self.variable) for i in self.intervals]
            ),
            "domain": None if self.domain is None else sympy.sstr(self.domain),
            "constants": self.constants_text(),
            "substituted": {str(k): sympy.sstr(v) for k, v in self.substituted},
            "seconds": round(self.seconds, 4),
            "reason": self.reason,
            "notes": list(self.notes),
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


# -- what is integrated: parameters kept where SymPy can ------------------------------------


def _other_value(value: sympy.Expr, domain: sympy.Set) -> sympy.Expr:
    """A second value for a symbol, inside its domain, to check answers at."""
    if isinstance(domain, sympy.FiniteSet):
        others = [v for v in domain if v != value]
        return others[0] if others else value
    for candidate in (value * sympy.Rational(13, 10) + sympy.Rational(3, 10), value / 2):
        if domain.contains(candidate) is sympy.true:
            return candidate
    return value


def _problems(entry: Entry) -> list[Problem]:
    """What to integrate, most symbolic first: all symbols kept, then the other variables
    fixed (parameters kept), then everything bound (values stated)."""
    x = entry.variable
    where = entry.domain_of(x)
    if entry.kind == "expression":
        bound = univariate_entry(entry)
        return [Problem(bound.expr, x, where)]
    fixed = {sympy.Symbol(k, real=True): sympy.nsimplify(v) for k, v in entry.fixed.items()}
    params = {sympy.Symbol(k, real=True): v for k, v in entry.params.items()}
    fixed = {s: v for s, v in fixed.items() if s in entry.expr.free_symbols}
    params = {s: v for s, v in params.items() if s in entry.expr.free_symbols}

    def second(values):
        return {s: _other_value(v, entry.domain_of(s.name)) for s, v in values.items()}

    problems = []
    if fixed or params:
        everything = {**fixed, **params}
        problems.append(Problem(entry.expr, x, where, (everything, second(everything))))
    if fixed and params:
        problems.append(
            Problem(
                entry.expr.xreplace(fixed), x, where, (params, second(params)), tuple(fixed.items())
            )
        )
    bound = univariate_entry(entry)
    problems.append(Problem(bound.expr, x, where, ({},), tuple({**fixed, **params}.items())))
    return problems


def _sample_values(var: sympy.Symbol, domain: sympy.Set) -> list[sympy.Expr]:
    """Values of a symbol kept in an integrand, to check answers at: a positive one, a
    negative one and zero where its domain has them (an answer that holds only for
    y > 0, such as atan(x/sqrt(y))/sqrt(y) for 1/(x^2 + y), fails at y < 0)."""
    found = [
        v
        for v in (sympy.Rational(7, 10), sympy.Rational(-13, 10), sympy.S.Zero)
        if domain.contains(v) is sympy.true
    ]
    return found or [_other_value(sympy.S.One, domain)]


def _problems_in(entry: Entry, var: sympy.Symbol) -> list[Problem]:
    """What to integrate by a variable the caller named (``wrt``) that is not the entry's
    first: every other symbol kept, and answers checked with each of them at a positive
    value, a negative one and zero; for a catalog entry, then everything else bound to
    its stated value (the other variables at their fixed values, parameters bound; the
    entry's first variable has no such value, so it stays a symbol)."""
    if var not in entry.variables:
        listed = ", ".join(v.name for v in entry.variables)
        raise SymcalcError(
            f"'{var.name}' is a parameter of {entry.signature()}; integrate by one of its "
            f"variables ({listed})",
            parameter="wrt",
        )
    others = sorted((s for s in entry.expr.free_symbols if s != var), key=lambda s: s.name)
    samples = {s: _sample_values(s, entry.domain_of(s)) for s in others}
    rows = max((len(v) for v in samples.values()), default=1)
    values = tuple({s: v[k % len(v)] for s, v in samples.items()} for k in range(rows))
    problems = [Problem(entry.expr, var, entry.domain_of(var), values)]
    if entry.kind != "expression":
        stated = {sympy.Symbol(k, real=True): sympy.nsimplify(v) for k, v in entry.params.items()}
        stated.update(
            {
                sympy.Symbol(k, real=True): sympy.nsimplify(v)
                for k, v in entry.fixed.items()
                if k != var.name
            }
        )
        stated = {s: v for s, v in stated.items() if s in entry.expr.free_symbols}
        bound = entry.expr.xreplace(stated)
        if bound.free_symbols <= {var} and stated:
            problems.append(Problem(bound, var, entry.domain_of(var), ({},), tuple(stated.items())))
    return problems


def antiderivative(
    f: Function,
    *,
    wrt: str | sympy.Symbol | None = None,
    params: dict[str, Any] | None = None,
    timeout: float | None = None,
) -> Antiderivative:
    """A verified antiderivative of ``f`` with step-by-step integration, within ``timeout`` s.

    The integration runs in a child process that is killed when its CPU-time budget runs
    out (``timeout=None``: the current default, `symcalc.symbolic.budget.default_seconds`;
    ``math.inf``: no limit, in this process); no verified closed form in time is a
    normal answer (``.antiderivative is None``).  Catalog entries keep their parameters
    (and a loss its other variables) as symbols where SymPy can integrate with them, and
    otherwise state the values put in.  A search that finished is remembered: asking
    again for the same function costs nothing.

    Examples
    --------
    >>> result = antiderivative("sigmoid", timeout=30)  # ends when done, well before
    >>> result.antiderivative
    log(exp(x) + 1)
    >>> [step.rule for step in result.step_list()][:2]
    ['rewrite', 'substitution']
    >>> antiderivative("x*exp(x)").to_text()
    '∫ x*exp(x) dx = x*exp(x) - exp(x) + C'
    >>> antiderivative("1/(x + 3)/(1 + x)**3").method
    'rational'

    ``wrt`` names the variable to integrate by, as in `derivative`; the other symbols
    stay symbols (answers are checked with each at a positive value, a negative one and
    zero):

    >>> antiderivative("x*y**2", wrt="y").antiderivative
    x*y**3/3
    """
    from .derivatives import variable_of

    entry = resolve(f, **dict(params or {}))
    var = None if wrt is None else variable_of(entry, wrt)
    if timeout is None:
        timeout = budget.default_seconds()
    elif timeout != math.inf:
        timeout = check_number(timeout, "timeout")
        if timeout <= 0:
            raise SymcalcError(
                f"`timeout` must be a positive number of seconds, got {timeout:g}",
                parameter="timeout",
            )
    if var is None or (var == entry.variable and len(entry.expr.free_symbols - {var}) == 0):
        problems = _problems(entry)
    elif var == entry.variable and entry.kind != "expression":
        problems = _problems(entry)
    else:
        problems = _problems_in(entry, var)
    text = f if isinstance(f, str) else entry.name
    start = time.perf_counter()
    found, finished = _searched(problems, timeout)
    elapsed = time.perf_counter() - start
    solved = found is not None and found.antiderivative is not None
    problem = found.problem if solved else problems[-1]
    common = {
        "input": text,
        "entry": entry,
        "variable": problem.variable,
        "integrand": problem.integrand,
        "seconds": elapsed,
        "substituted": problem.substituted,
        "notes": () if found is None else found.notes,
    }
    if not solved:
        if len(entry.expr.free_symbols) == 1:
            no_real = "so it has no real antiderivative"
            refuse_nowhere_real(problem.integrand, problem.variable, no_real)
        reason = _reason(found, finished, timeout)
        return Antiderivative(
            antiderivative=None, steps=None, method="none", reason=reason, **common
        )
    return Antiderivative(
        antiderivative=found.antiderivative,
        steps=found.steps,
        method=found.method,
        intervals=found.intervals,
        domain=found.domain,
        **common,
    )


#: Searches that finished (found F, or found there is none), by what was integrated, least
#: recently used first: the gallery, the FTC check and the tests integrate the same
#: functions again and again.  Runs out of time are not kept (a larger budget may finish).
_FOUND: collections.OrderedDict[tuple, Any] = collections.OrderedDict()
_FOUND_SIZE = 256
_FOUND_LOCK = threading.Lock()


def _searched(problems: list[Problem], timeout: float) -> tuple[Any, bool]:
    """`search` under the time budget (best answer so far, finished?), remembered once done."""
    key = tuple((p.integrand, p.variable, p.domain, p.substituted) for p in problems)
    with _FOUND_LOCK:
        if key in _FOUND:
            _FOUND.move_to_end(key)
            return _FOUND[key], True
    limited = timeout != math.inf
    # the search keeps a tenth of the budget for checking and handing back its answer
    seconds = 0.9 * timeout if limited else None
    preload_methods()  # here, not in every child forked for a search
    found, finished = budget.best_within(timeout, search, problems, seconds, limited)
    if finished and not _cut_short(found):  # an answer a larger budget could change is not kept
        with _FOUND_LOCK:
            _FOUND[key] = found
            while len(_FOUND) > _FOUND_SIZE:
                _FOUND.popitem(last=False)
    return found, finished


def _cut_short(found) -> bool:
    """Whether a method of the search was stopped by its slice of the budget."""
    return found is not None and any(n.endswith("ran out of its time") for n in found.notes)


def _reason(found, finished: bool, timeout: float | None) -> str:
    notes = () if found is None else found.notes
    proved = any("no elementary antiderivative" in n for n in notes)
    rejected = [n for n in notes if "rejected" in n or "only in part" in n]
    if proved:  # a proof, whatever the other methods did in their time (so the text is stable)
        return "the Risch algorithm proves there is no elementary antiderivative"
    if rejected:
        why = "the answers found failed verification (" + rejected[0] + ")"
    else:
        why = "SymPy finds no closed form in elementary or special functions"
    # a method stopped by its slice of the budget: the budget, not SymPy, ended the search
    if (not finished or _cut_short(found)) and timeout != math.inf:
        return f"not found within the time budget of {timeout:g} s; {why}"
    return why
