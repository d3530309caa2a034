"""Print a derivation (a `symcalc.symbolic.steps` rule tree) as text, LaTeX or JSON-ready records.

Printing is kept apart from the tree: `HANDLERS` maps each rule class to a function
that describes that node's line (the rule's name, the expression differentiated,
the right-hand sides and an optional note), and the three printers format those
lines.  Lines come in reading order: a node's own line first, then its substeps
depth-first, so the reader sees the big step and then how each piece was found; a
final `~symcalc.symbolic.steps.RewriteRule` line (the textbook closed form) comes last.
``d/dx`` of a constant (a term of a sum, a branch of a Piecewise) is folded away, and
a derivative already shown above is not shown again.

The printers write as a textbook does: σ for the sigmoid, sums last among the factors
of a product (σ(x)(1 − σ(x))), a common whole-number factor taken out of a sum
(2(p − y), not 2p − 2y), and ∂ for the variables of a function of several variables
(``partial``).  LaTeX comes as one ``align*`` environment broken to fit a page
(`symcalc.symbolic.typeset`), each line's rule at the right margin.

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
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Iterable, Iterator

import sympy
from sympy.printing.precedence import PRECEDENCE
from sympy.printing.str import StrPrinter

from . import steps as s
from . import typeset
from .functions import LatexPrinter

__all__ = [
    "HANDLERS",
    "Line",
    "TextPrinter",
    "TextbookLatexPrinter",
    "chained_bounds",
    "equations",
    "latex_tag",
    "lines",
    "step_records",
    "to_latex",
    "to_text",
]


@dataclasses.dataclass(frozen=True)
class Line:
    """One equality of a derivation: d/d(variable)[expr] = rhs[0] = rhs[1] = ..., by ``rule``.

    ``note`` says more about the rule, as parts: words (str) and formulas (SymPy
    objects, ``Eq(u, inner)`` for the chain rule's placeholder), printed as text or as
    math by each printer.
    """

    rule: str
    expr: sympy.Expr
    variable: sympy.Symbol
    rhs: tuple[sympy.Expr, ...]
    note: tuple[str | sympy.Basic, ...] = ()
    node: s.Rule | None = dataclasses.field(default=None, compare=False, repr=False)


def _result_line(rule: s.Rule) -> Line:
    rhs = [rule.result]
    middle = rule.intermediate
    if middle is not None and middle != rule.result:
        rhs.insert(0, middle)
    return Line(rule.name, rule.expr, rule.variable, tuple(rhs), node=rule)


def _chain_line(rule: s.ChainRule) -> Line:
    line = _result_line(rule)
    return dataclasses.replace(line, note=(sympy.Eq(rule.placeholder, rule.inner, evaluate=False),))


def _rewrite_line(rule: s.RewriteRule) -> Line:
    rhs = (rule.substep.result, rule.rewritten)
    note = ("where ", *_joined(rule.conditions)) if rule.conditions else ()
    return Line(rule.name, rule.expr, rule.variable, rhs, note, node=rule)


def _joined(equations) -> list:
    """Equations for a note, ", " between them."""
    out: list = []
    for k, equation in enumerate(equations):
        out += [", ", equation] if k else [equation]
    return out


def _dont_know_line(rule: s.DontKnowRule) -> Line:
    what = rule.expr.func.__name__ if rule.expr.args else sympy.sstr(rule.expr)
    return Line(
        rule.name, rule.expr, rule.variable, (rule.result,), (what, " left unevaluated"), node=rule
    )


def _convention_line(rule: s.MaxMinRule) -> Line:
    return dataclasses.replace(
        _result_line(rule), note=(f"convention '{rule.convention}' at ties",)
    )


def _step_line(rule: s.HeavisideRule | s.SignRule) -> Line:
    where = sympy.Eq(rule.expr.args[0], 0, evaluate=False)
    note = ("0 away from ", where, " and, by convention, at it")
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
    return list(_walk(rule, root=True, shown=set()))


def _walk(rule: s.Rule, root: bool, shown: set) -> Iterator[Line]:
    """Lines depth-first; a derivative shown above (d/dx[x] twice in x**x) is not repeated."""
    if isinstance(rule, s.ConstantRule) and not root:
        return
    if isinstance(rule, s.RewriteRule):
        yield from _walk(rule.substep, root=True, shown=shown)
        yield _handler(rule)(rule)
        return
    key = (rule.expr, rule.variable)
    if key in shown:
        return
    shown.add(key)
    yield _handler(rule)(rule)
    for step in rule.substeps:
        yield from _walk(step, root=False, shown=shown)


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


def _content(add: sympy.Expr) -> tuple[sympy.Integer, sympy.Expr] | None:
    """A whole-number factor common to every term of a sum, and the rest: 2p − 2y -> (2, p − y).

    The sign goes out too when every term is negative (−2p − 2y -> (−2, p + y)).
    None when there is no such factor.
    """
    if not add.is_Add or _written(add):
        return None
    if sum(1 for term in add.args if term.free_symbols) < 2:
        return None  # 2x + 2 stays as it is; 2p − 2y is 2(p − y)
    content, rest = add.primitive()
    if not (content.is_Integer and content > 1):
        return None
    if all(term.could_extract_minus_sign() for term in rest.args):
        content, rest = -content, -rest
    return content, rest


def factor_content(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with whole-number factors taken out of its sums, for printing only.

    The result is an unevaluated product (SymPy would multiply 2*(p - y) out again).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> p, y = symbol("p"), symbol("y")
    >>> factor_content(2 * p - 2 * y)
    2*(p - y)
    >>> factor_content(p * (2 * p - 2 * y))
    2*p*(p - y)
    """
    if expr.is_Add:
        found = _content(expr)
        return expr if found is None else sympy.Mul(*found, evaluate=False)
    if not expr.is_Mul:
        return expr
    coeff, factors, changed = sympy.S.One, [], False
    for factor in expr.args:
        base, exponent = factor.as_base_exp() if factor.is_Pow else (factor, sympy.S.One)
        found = _content(base) if exponent.is_Integer else None
        if found is None:
            factors.append(factor)
            continue
        coeff *= found[0] ** exponent
        factors.append(found[1] ** exponent)
        changed = True
    if not changed:
        return expr
    if _written(expr):  # an intermediate keeps the order it is written in
        numbers = [f for f in factors if f.is_Number]
        coeff *= sympy.Mul(*numbers)
        others = [f for f in factors if not f.is_Number]
        return sympy.Mul(*([coeff] if coeff != 1 else []), *others, evaluate=False)
    rest = sympy.Mul(*factors)
    if rest.is_Add:
        return sympy.Mul(coeff, rest, evaluate=False)
    return sympy.Mul(coeff, rest)


class _Textbook:
    """Textbook habits shared by the text and LaTeX printers (see the module's docstring).

    Sums and products holding derivatives (intermediates) print in the order written
    (u'v + uv'); everything else in SymPy's order, sums last among factors.
    """

    def _in_order(self, expr, print_):
        keep = self._settings["order"]
        self._settings["order"] = "none" if _written(expr) else self._default_order
        try:
            return print_(expr)
        finally:
            self._settings["order"] = keep

    def _print_Add(self, expr, order=None):
        factored = factor_content(expr)
        if factored is not expr:
            return self._print(factored)
        return self._in_order(expr, lambda e: super(_Textbook, self)._print_Add(e, order=order))

    def _print_Mul(self, expr):
        """Sums last among the factors: x*(1 - x), not (1 - x)*x; spelt with _times, _minus."""
        expr = factor_content(expr)
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

    def _print_Pow(self, expr, *args, **kwargs):
        """(2p − 2y)² as 4(p − y)²: a whole-number factor out of a sum raised to a power."""
        found = _content(expr.base) if expr.exp.is_Integer and expr.exp > 0 else None
        if found is None:
            return super()._print_Pow(expr, *args, **kwargs)
        coeff, rest = found
        return self._print(sympy.Mul(coeff**expr.exp, rest**expr.exp, evaluate=False))

    def _partial(self, variable) -> bool:
        return variable in self._settings["partial"]


class TextPrinter(_Textbook, StrPrinter):
    """SymPy's str printer with σ for sigmoid, d/dx[...] for derivatives, sums last in products.

    The setting ``partial`` (a set of symbols) writes ∂/∂p for those variables.
    """

    _default_settings = {**StrPrinter._default_settings, "partial": frozenset()}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._default_order = self._settings["order"]

    def _print_sigmoid(self, expr):
        return f"σ({self._print(expr.args[0])})"

    def _print_Derivative(self, expr):
        if len(expr.variable_count) != 1 or expr.variable_count[0][1] != 1:
            return super()._print_Derivative(expr)
        variable = expr.variables[0]
        d = "∂" if self._partial(variable) else "d"
        return f"{d}/{d}{self._print(variable)}[{self._print(expr.expr)}]"

    def _print_Equality(self, expr):
        return f"{self._print(expr.lhs)} = {self._print(expr.rhs)}"

    _times, _minus = "*", "-"


class TextbookLatexPrinter(_Textbook, LatexPrinter):
    """SymPy's LaTeX printer with d/dx[...] for derivatives and sums last in products.

    The setting ``partial`` (a set of symbols) writes ∂/∂p for those variables.
    """

    _default_settings = {**LatexPrinter._default_settings, "partial": frozenset()}

    def __init__(self, settings=None):
        super().__init__(settings)
        self._default_order = self._settings["order"]

    def _print_Derivative(self, expr):
        if len(expr.variable_count) != 1 or expr.variable_count[0][1] != 1:
            return super()._print_Derivative(expr)
        variable = expr.variables[0]
        return _latex_d(variable, self._print(expr.expr), self._partial(variable))

    def _print_And(self, expr):
        """-3 < x < 3, not x > -3 ∧ x < 3."""
        bounds = chained_bounds(expr)
        if bounds is None:
            return super()._print_And(expr)
        low, low_op, variable, high_op, high = bounds
        ops = {"<": "<", "<=": r"\leq"}
        return (
            f"{self._print(low)} {ops[low_op]} {self._print(variable)} "
            f"{ops[high_op]} {self._print(high)}"
        )

    _times, _minus = " ", "- "


def chained_bounds(expr: sympy.Basic):
    """(a, op, x, op, b) when ``expr`` says a < x < b (either end may be ≤), else None.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> chained_bounds((x > -3) & (x <= 3))
    (-3, '<', x, '<=', 3)
    """
    if not isinstance(expr, sympy.And) or len(expr.args) != 2:
        return None
    lows, highs = [], []
    for rel in expr.args:
        if not isinstance(rel, sympy.core.relational.Relational) or not rel.lhs.is_Symbol:
            return None
        if rel.rhs.has(rel.lhs):
            return None
        if isinstance(rel, (sympy.StrictGreaterThan, sympy.GreaterThan)):
            lows.append((rel.rhs, "<" if rel.rel_op == ">" else "<=", rel.lhs))
        elif isinstance(rel, (sympy.StrictLessThan, sympy.LessThan)):
            highs.append((rel.rhs, rel.rel_op, rel.lhs))
    if len(lows) != 1 or len(highs) != 1 or lows[0][2] != highs[0][2]:
        return None
    (low, low_op, variable), (high, high_op, _) = lows[0], highs[0]
    return low, low_op, variable, high_op, high


_TEXT = TextPrinter()
_LATEX = TextbookLatexPrinter()


def _printers(partial) -> tuple[TextPrinter, TextbookLatexPrinter]:
    if not partial:
        return _TEXT, _LATEX
    chosen = frozenset(partial)
    return TextPrinter({"partial": chosen}), TextbookLatexPrinter({"partial": chosen})


def _latex_d(variable: sympy.Symbol, inside: str, partial: bool = False) -> str:
    name = _LATEX._print(variable)
    if partial:
        return rf"\frac{{\partial}}{{\partial {name}}}\left[{inside}\right]"
    return rf"\frac{{d}}{{d{name}}}\left[{inside}\right]"


def _text_d(variable: sympy.Symbol, inside: str, partial: bool = False) -> str:
    d = "∂" if partial else "d"
    return f"{d}/{d}{_TEXT.doprint(variable)}[{inside}]"


def _text_note(line: Line, text: TextPrinter) -> str:
    if not line.note:
        return line.rule
    parts = "".join(p if isinstance(p, str) else text.doprint(p) for p in line.note)
    return f"{line.rule}, {parts}"


#: Characters LaTeX's text mode reads as commands, and how a tag writes them.
_TAG_TEXT = {"&": "and", "%": " percent", "_": " ", "#": "no. ", "$": "", "\\": "/", "~": "-"}
_TAG_TEXT.update({"{": "(", "}": ")", "^": "", "'": "’"})


def _tag_text(words: str) -> str:
    """Words for a ``\\tag*{...}``: plain text MathJax and LaTeX both print as written."""
    out = "".join(_TAG_TEXT.get(char, char) for char in words)
    return re.sub(r"’(\w[^’]*)’", r"‘\1’", out)


def latex_tag(words: str, *parts: str | sympy.Basic, printer=None) -> str:
    r"""The text of a ``\tag*{...}``: words as text, formulas between ``$`` signs.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> u, x = symbol("u"), symbol("x")
    >>> latex_tag("chain rule", ", ", sympy.Eq(u, x**2, evaluate=False))
    'chain rule, $u = x^{2}$'
    """
    printer = _LATEX if printer is None else printer
    out = [_tag_text(words)]
    for part in parts:
        out.append(_tag_text(part) if isinstance(part, str) else f"${printer.doprint(part)}$")
    return "".join(out)


def _latex_note(line: Line, latex: TextbookLatexPrinter) -> str:
    if not line.note:
        return latex_tag(line.rule, printer=latex)
    return latex_tag(line.rule, ", ", *line.note, printer=latex)


def _text_line(line: Line, text: TextPrinter) -> str:
    partial = text._partial(line.variable)
    lhs = _text_d(line.variable, text.doprint(line.expr), partial)
    rhs = " = ".join(text.doprint(e) for e in line.rhs)
    return f"{lhs} = {rhs}   ({_text_note(line, text)})"


def _latex_equation(line: Line, latex: TextbookLatexPrinter) -> str:
    lhs = _latex_d(line.variable, latex.doprint(line.expr), latex._partial(line.variable))
    return " = ".join([lhs, *(latex.doprint(e) for e in line.rhs)])


def equations(rule: s.Rule, partial: Iterable[sympy.Symbol] = ()) -> list[typeset.Equation]:
    r"""The derivation's lines as `~symcalc.symbolic.typeset.Equation` objects (for `to_latex`).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> from symcalc.symbolic.steps import derivation_steps
    >>> x = symbol("x")
    >>> (row,) = equations(derivation_steps(x**3, x))
    >>> print(row.lhs, "=", *row.sides, "   ", row.tag)
    \frac{d}{dx}\left[x^{3}\right] = 3 x^{2}     power rule
    """
    _, latex = _printers(partial)
    out = []
    for line in lines(rule):
        lhs = _latex_d(line.variable, latex.doprint(line.expr), latex._partial(line.variable))
        sides = tuple(latex.doprint(e) for e in line.rhs)
        out.append(typeset.Equation(lhs, sides, _latex_note(line, latex)))
    return out


def to_text(rule: s.Rule, partial: Iterable[sympy.Symbol] = ()) -> str:
    """The derivation as plain text, one equality a line, each line naming its rule.

    Variables in ``partial`` are written ∂ (the variables of a function of several).

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
    text, _ = _printers(partial)
    return "\n".join(_text_line(line, text) for line in lines(rule))


def to_latex(
    rule: s.Rule,
    partial: Iterable[sympy.Symbol] = (),
    text_width: float = typeset.TEXT_WIDTH,
) -> str:
    r"""The derivation as one LaTeX ``align*``, one equality a line, its rule at the right.

    Long lines are broken to fit ``text_width`` em (6.5 in at 10 pt by default); see
    `symcalc.symbolic.typeset`.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> from symcalc.symbolic.steps import derivation_steps
    >>> x = symbol("x")
    >>> print(to_latex(derivation_steps(x**3, x)))
    \begin{align*}
    \frac{d}{dx}\left[x^{3}\right] &= 3 x^{2} \tag*{power rule}
    \end{align*}
    """
    return typeset.align(equations(rule, partial), text_width)


def step_records(rule: s.Rule, partial: Iterable[sympy.Symbol] = ()) -> list[dict[str, str]]:
    r"""The derivation as JSON-ready dicts, one a line, in reading order.

    Keys: ``rule`` (display name), ``variable``, ``expr`` and ``result`` (``sympy.sstr``
    of the expression differentiated and of its derivative, readable by
    `symcalc.symbolic.parse.parse`) and ``latex`` (that line's equation, on one line).

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
    _, latex = _printers(partial)
    return [
        {
            "rule": line.rule,
            "variable": sympy.sstr(line.variable),
            "expr": sympy.sstr(line.expr),
            "result": sympy.sstr(line.rhs[-1]),
            "latex": _latex_equation(line, latex),
        }
        for line in lines(rule)
    ]
