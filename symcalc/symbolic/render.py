"""Print a derivation (a `symcalc.symbolic.steps` rule tree) as text, LaTeX or JSON-ready records.

Printing is kept apart from the tree: `HANDLERS` maps each rule class to a function
that describes that node's line (the rule's name, the expression differentiated,
the right-hand sides and an optional note), and the three printers format those
lines.  Lines come in reading order: a node's own line first, then its substeps
depth-first, so the reader sees the big step and then how each piece was found; a
final `~symcalc.symbolic.steps.RewriteRule` line (the textbook closed form) comes last.
``d/dx`` of a constant (a term of a sum, a branch of a Piecewise) is folded away.

Examples
--------
>>> import sympy
>>> from symcalc.symbolic.functions import symbol
>>> from symcalc.symbolic.steps import derivation_steps
>>> x = symbol("x")
>>> print(to_text(derivation_steps(x * sympy.exp(-x), x)))
d/dx[x*exp(-x)] = d/dx[x]*exp(-x) + x*d/dx[exp(-x)] = -x*exp(-x) + exp(-x)   (product rule)
d/dx[x] = 1   (identity rule)
d/dx[exp(-x)] = exp(-x)*d/dx[-x] = -exp(-x)   (chain rule, u = -x)
d/du[exp(u)] = exp(u)   (exp rule)
d/dx[-x] = -d/dx[x] = -1   (constant multiple rule)
d/dx[x] = 1   (identity rule)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from . import steps as s
from .functions import LatexPrinter

__all__ = ["HANDLERS", "Line", "lines", "step_records", "to_latex", "to_text"]


@dataclasses.dataclass(frozen=True)
class Line:
    """One equality of a derivation: d/d(variable)[expr] = rhs[0] = rhs[1] = ..., by ``rule``."""

    rule: str
    expr: sympy.Expr
    variable: sympy.Symbol
    rhs: tuple[sympy.Expr, ...]
    note: tuple[sympy.Symbol, sympy.Expr] | str | None = None
    node: s.Rule | None = dataclasses.field(default=None, compare=False, repr=False)


def _result_line(rule: s.Rule) -> Line:
    rhs = [rule.result]
    middle = rule.intermediate
    if middle is not None and middle != rule.result:
        rhs.insert(0, middle)
    return Line(rule.name, rule.expr, rule.variable, tuple(rhs), node=rule)


def _chain_line(rule: s.ChainRule) -> Line:
    line = _result_line(rule)
    return dataclasses.replace(line, note=(rule.placeholder, rule.inner))


def _rewrite_line(rule: s.RewriteRule) -> Line:
    rhs = (rule.substep.result, rule.rewritten)
    return Line(rule.name, rule.expr, rule.variable, rhs, node=rule)


def _dont_know_line(rule: s.DontKnowRule) -> Line:
    what = rule.expr.func.__name__ if rule.expr.args else sympy.sstr(rule.expr)
    note = f"{what} left unevaluated"
    return Line(rule.name, rule.expr, rule.variable, (rule.result,), note, node=rule)


def _convention_line(rule: s.MaxMinRule) -> Line:
    return dataclasses.replace(_result_line(rule), note=f"convention '{rule.convention}' at ties")


def _step_line(rule: s.HeavisideRule | s.SignRule) -> Line:
    note = f"0 away from {sympy.sstr(rule.expr.args[0])} = 0 and, by convention, at it"
    return dataclasses.replace(_result_line(rule), note=note)


#: Rule class -> the function describing that node's line.  Classes not listed use
#: their base class's handler (a plain "d/dx[f] = intermediate = result" line).
HANDLERS: dict[type[s.Rule], Callable[[s.Rule], Line]] = {
    s.Rule: _result_line,
    s.ChainRule: _chain_line,
    s.RewriteRule: _rewrite_line,
    s.DontKnowRule: _dont_know_line,
    s.MaxMinRule: _convention_line,
    s.HeavisideRule: _step_line,
    s.SignRule: _step_line,
}


def _handler(rule: s.Rule) -> Callable[[s.Rule], Line]:
    for cls in type(rule).__mro__:
        if cls in HANDLERS:
            return HANDLERS[cls]
    raise TypeError(f"no printer for {type(rule).__name__}")  # pragma: no cover


def lines(rule: s.Rule) -> list[Line]:
    """The lines of a derivation in reading order (the root first, a final rewrite last).

    Examples
    --------
    >>> import sympy
    >>> from symcalc.symbolic.functions import symbol
    >>> from symcalc.symbolic.steps import derivation_steps
    >>> x = symbol("x")
    >>> [line.rule for line in lines(derivation_steps(sympy.exp(2 * x), x))]
    ['chain rule', 'exp rule', 'constant multiple rule', 'identity rule']
    """
    return list(_walk(rule, root=True))


def _walk(rule: s.Rule, root: bool) -> Iterator[Line]:
    if isinstance(rule, s.ConstantRule) and not root:
        return
    if isinstance(rule, s.RewriteRule):
        yield from _walk(rule.substep, root=True)
        yield _handler(rule)(rule)
        return
    yield _handler(rule)(rule)
    for step in rule.substeps:
        yield from _walk(step, root=False)


# -- printers -------------------------------------------------------------------------


def _textbook_factors(expr: sympy.Mul) -> tuple[sympy.Expr, list[sympy.Expr]] | None:
    """Coefficient and factors, sums last (σ(x)(1 − σ(x))), or None to print as SymPy does."""
    if _written(expr):
        return None
    coeff, factors = expr.as_coeff_mul()
    if not coeff.is_Integer or any(f.is_Pow and f.exp.is_negative for f in factors):
        return None
    sums = [f for f in factors if f.is_Add]
    rest = [f for f in factors if not f.is_Add]
    if not sums or not rest:
        return None
    return coeff, rest + sums


def _written(expr: sympy.Expr) -> bool:
    """Whether a sum or product holds an unevaluated derivative (an intermediate, as written)."""
    return any(a.has(sympy.Derivative) for a in expr.args)


class _WrittenOrder:
    """Print sums and products holding derivatives in the order written (u'v + uv').

    Everything else prints in SymPy's order.
    """

    def _in_order(self, expr, print_):
        keep = self._settings["order"]
        self._settings["order"] = "none" if _written(expr) else self._default_order
        try:
            return print_(expr)
        finally:
            self._settings["order"] = keep

    def _print_Add(self, expr, order=None):
        return self._in_order(expr, lambda e: super(_WrittenOrder, self)._print_Add(e, order=order))

    def _print_Mul(self, expr):
        """Sums last among the factors: x*(1 - x), not (1 - x)*x; spelt with _times, _minus."""
        ordered = _textbook_factors(expr)
        if ordered is None:
            return self._in_order(expr, super()._print_Mul)
        coeff, factors = ordered
        body = self._times.join(self.parenthesize(f, PRECEDENCE["Mul"]) for f in factors)
        if coeff == 1:
            return body
        if coeff == -1:
            return f"{self._minus}{body}"
        return f"{self._print(coeff)}{self._times}{body}"


class TextPrinter(_WrittenOrder, StrPrinter):
    """SymPy's str printer with σ for sigmoid, d/dx[...] for derivatives, sums last in products."""

    def __init__(self, settings=None):
        super().__init__(settings)
        self._default_order = self._settings["order"]

    def _print_sigmoid(self, expr):
        return f"σ({self._print(expr.args[0])})"

    def _print_Derivative(self, expr):
        if len(expr.variable_count) != 1 or expr.variable_count[0][1] != 1:
            return super()._print_Derivative(expr)
        return f"d/d{self._print(expr.variables[0])}[{self._print(expr.expr)}]"

    _times, _minus = "*", "-"


class TextbookLatexPrinter(_WrittenOrder, LatexPrinter):
    """SymPy's LaTeX printer with d/dx[...] for derivatives and sums last in products."""

    def __init__(self, settings=None):
        super().__init__(settings)
        self._default_order = self._settings["order"]

    def _print_Derivative(self, expr):
        if len(expr.variable_count) != 1 or expr.variable_count[0][1] != 1:
            return super()._print_Derivative(expr)
        return _latex_d(expr.variables[0], self._print(expr.expr))

    _times, _minus = " ", "- "


_TEXT = TextPrinter()
_LATEX = TextbookLatexPrinter()


def _latex_d(variable: sympy.Symbol, inside: str) -> str:
    return rf"\frac{{d}}{{d{_LATEX._print(variable)}}}\left[{inside}\right]"


def _text_note(line: Line) -> str:
    if line.note is None:
        return line.rule
    if isinstance(line.note, str):
        return f"{line.rule}, {line.note}"
    u, inner = line.note
    return f"{line.rule}, {_TEXT.doprint(u)} = {_TEXT.doprint(inner)}"


def _latex_note(line: Line) -> str:
    name = rf"\text{{{line.rule}}}"
    if line.note is None:
        return name
    if isinstance(line.note, str):
        return rf"\text{{{line.rule}, {_latex_escape(line.note)}}}"
    u, inner = line.note
    return rf"\text{{{line.rule}, }} {_LATEX.doprint(u)} = {_LATEX.doprint(inner)}"


def _latex_escape(text: str) -> str:
    for char in "&%_":
        text = text.replace(char, "\\" + char)
    return text


def _text_line(line: Line) -> str:
    lhs = f"d/d{_TEXT.doprint(line.variable)}[{_TEXT.doprint(line.expr)}]"
    rhs = " = ".join(_TEXT.doprint(e) for e in line.rhs)
    return f"{lhs} = {rhs}   ({_text_note(line)})"


def _latex_equation(line: Line, align: bool) -> str:
    lhs = _latex_d(line.variable, _LATEX.doprint(line.expr))
    rhs = " = ".join(_LATEX.doprint(e) for e in line.rhs)
    if align:
        return rf"{lhs} &= {rhs} && {_latex_note(line)}"
    return f"{lhs} = {rhs}"


def to_text(rule: s.Rule) -> str:
    """The derivation as plain text, one equality a line, each line naming its rule.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol, sigmoid
    >>> from symcalc.symbolic.steps import derivation_steps
    >>> x = symbol("x")
    >>> print(to_text(derivation_steps(sigmoid(x) ** 2, x)))
    d/dx[σ(x)**2] = 2*σ(x)*d/dx[σ(x)] = 2*σ(x)**2*(1 - σ(x))   (chain rule, u = σ(x))
    d/du[u**2] = 2*u   (power rule)
    d/dx[σ(x)] = σ(x)*(1 - σ(x))   (sigmoid rule)
    """
    return "\n".join(_text_line(line) for line in lines(rule))


def to_latex(rule: s.Rule) -> str:
    r"""The derivation as a LaTeX ``align*`` block, one equality a line, named by ``\text{...}``.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> from symcalc.symbolic.steps import derivation_steps
    >>> x = symbol("x")
    >>> print(to_latex(derivation_steps(x**3, x)))
    \begin{align*}
    \frac{d}{dx}\left[x^{3}\right] &= 3 x^{2} && \text{power rule}
    \end{align*}
    """
    body = " \\\\\n".join(_latex_equation(line, align=True) for line in lines(rule))
    return f"\\begin{{align*}}\n{body}\n\\end{{align*}}"


def step_records(rule: s.Rule) -> list[dict[str, str]]:
    r"""The derivation as JSON-ready dicts, one a line, in reading order.

    Keys: ``rule`` (display name), ``variable``, ``expr`` and ``result`` (``sympy.sstr``
    of the expression differentiated and of its derivative, readable by
    `symcalc.symbolic.parse.parse`) and ``latex`` (that line's equation).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> from symcalc.symbolic.steps import derivation_steps
    >>> x = symbol("x")
    >>> (record,) = step_records(derivation_steps(x**3, x))
    >>> record["rule"], record["variable"], record["expr"], record["result"]
    ('power rule', 'x', 'x**3', '3*x**2')
    >>> print(record["latex"])
    \frac{d}{dx}\left[x^{3}\right] = 3 x^{2}
    """
    return [
        {
            "rule": line.rule,
            "variable": sympy.sstr(line.variable),
            "expr": sympy.sstr(line.expr),
            "result": sympy.sstr(line.rhs[-1]),
            "latex": _latex_equation(line, align=False),
        }
        for line in lines(rule)
    ]
