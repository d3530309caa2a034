"""Named SymPy functions that machine learning writes as primitives.

SymPy knows ``tanh`` and ``erf`` but not the logistic sigmoid; textbook identities
such as σ' = σ(1 − σ) need it as a function of its own.  `sigmoid` stays
unevaluated, differentiates to ``sigmoid(x)*(1 - sigmoid(x))``, prints as σ in
LaTeX and rewrites to its definition with ``expr.rewrite(sympy.exp)``.
"""

from __future__ import annotations

import importlib
import re
from collections.abc import Callable

import sympy

from ..errors import ParseError
from .special import BY_CLASS, SPECIAL

# sympy.printing.latex the module (the package attribute of that name is the function)
_latex_module = importlib.import_module("sympy.printing.latex")

__all__ = [
    "CONSTANTS",
    "FUNCTIONS",
    "LatexPrinter",
    "expand_named",
    "latex",
    "name_latex",
    "readable_name",
    "sigmoid",
    "set_text",
    "symbol",
]


def symbol(name: str) -> sympy.Symbol:
    """The one way symcalc makes a variable: a real SymPy symbol.

    All symbols are real, so ``diff(Abs(x), x)`` is ``sign(x)`` and the parser,
    the catalog and every result agree on which ``x`` is meant.

    Examples
    --------
    >>> symbol("x").is_real
    True
    """
    return sympy.Symbol(name, real=True)


class sigmoid(sympy.Function):  # noqa: N801 - lower case like sympy.tanh
    """The logistic sigmoid σ(u) = 1 / (1 + exp(-u)).

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> sympy.diff(sigmoid(x), x)
    (1 - sigmoid(x))*sigmoid(x)
    >>> sigmoid(x).rewrite(sympy.exp)
    1/(1 + exp(-x))
    """

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.S.Half
        if arg is sympy.S.Infinity:
            return sympy.S.One
        if arg is sympy.S.NegativeInfinity:
            return sympy.S.Zero
        return None

    def fdiff(self, argindex=1):
        return self * (1 - self)

    def _eval_rewrite_as_exp(self, arg, **kwargs):
        return 1 / (1 + sympy.exp(-arg))

    def _eval_rewrite_as_tanh(self, arg, **kwargs):
        return (1 + sympy.tanh(arg / 2)) / 2

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.exp)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        arg = printer._print(self.args[0])
        base = rf"\sigma\left({arg}\right)"
        return rf"{base}^{{{exp}}}" if exp else base

    def _pretty(self, printer):
        return printer._print_Function(self, func_name="σ")


#: Every named function defined here, by the name the parser accepts.
NAMED_FUNCTIONS: dict[str, type[sympy.Function]] = {"sigmoid": sigmoid}


def expand_named(expr: sympy.Expr) -> sympy.Expr:
    """Rewrite every named function into elementary SymPy functions.

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x", real=True)
    >>> expand_named(x * sigmoid(x))
    x/(1 + exp(-x))
    """
    return expr.replace(lambda e: isinstance(e, sigmoid), lambda e: e.rewrite(sympy.exp))


class LatexPrinter(_latex_module.LatexPrinter):
    r"""SymPy's LaTeX printer with multi-letter names upright: ``slope`` is \mathrm{slope}.

    SymPy prints a symbol called ``slope`` as the product s·l·o·p·e in italics; Greek
    names (``alpha``, ``theta_0``) and one-letter names keep SymPy's form.  Inverse
    trigonometric functions take their standard names (``\arctan``, ``\arcsin``;
    ``\operatorname{arcsinh}`` where LaTeX has no command).  Every LaTeX symcalc writes
    comes from this printer or a subclass of it.

    Examples
    --------
    >>> x = symbol("x")
    >>> print(LatexPrinter().doprint(sympy.atan(x) + sympy.asinh(x)))
    \operatorname{arcsinh}{\left(x \right)} + \arctan{\left(x \right)}
    """

    _default_settings = {**_latex_module.LatexPrinter._default_settings, "inv_trig_style": "full"}

    def _hprint_Function(self, func: str) -> str:
        written = _unicode_function_name(func)
        if written is not None:
            return written
        return super()._hprint_Function(_INVERSE_HYPERBOLIC.get(func, func))

    def _print_Symbol(self, expr, style="plain"):
        base, _, subscript = expr.name.partition("_")
        if base == "lambd":  # PyTorch's spelling of λ (lambda is a Python keyword)
            base = "lambda"
            expr = sympy.Symbol("_".join(filter(None, (base, subscript))))
        known = (
            _latex_module.greek_letters_set | set(_latex_module.other_symbols) | {"lambda", "lamda"}
        )
        if len(base) < 2 or base.lower() in known or not base.isalpha():
            return super()._print_Symbol(expr, style)
        text = rf"\mathrm{{{base}}}"
        if subscript:
            text += f"_{{{super()._print_Symbol(sympy.Symbol(subscript), style)}}}"
        return text


def _print_special(self, expr, exp=None):
    r"""``\operatorname{J}_{1}\left(x\right)``: a special function whose SymPy LaTeX would
    read back as a product (``J_{1}(x)``, ``W(x)``) or not at all, written so that
    `symcalc.symbolic.parse_latex` reads it back."""
    entry = BY_CLASS[type(expr)]
    args = list(expr.args)
    head = r"\operatorname{" + str(entry.latex).replace("_", r"\_") + "}"
    if entry.subscript is not None and entry.subscript < len(args) and len(args) > 1:
        head += "_{" + self._print(args.pop(entry.subscript)) + "}"
    if exp is not None:
        head += "^{" + exp + "}"
    return head + r"\left(" + ", ".join(self._print(a) for a in args) + r"\right)"


def _print_gamma(self, expr, exp=None):
    r"""``\Gamma\left(x\right)`` as SymPy writes it, but a power outside:
    ``\left(\Gamma\left(x\right)\right)^{2}``, not ``\Gamma^{2}(x)`` (read as Γ²·x)."""
    tex = r"\Gamma\left(" + self._print(expr.args[0]) + r"\right)"
    return tex if exp is None else r"\left(" + tex + r"\right)^{" + exp + "}"


def _print_polygamma(self, expr, exp=None):
    r"""The digamma function ``polygamma(0, x)`` as ``\psi\left(x\right)``, which the LaTeX
    parser reads back; higher orders as ``\operatorname{polygamma}\left(n, x\right)``."""
    if expr.args[0] != 0:
        return _print_special(self, expr, exp)
    tex = r"\psi\left(" + self._print(expr.args[1]) + r"\right)"
    return tex if exp is None else r"\left(" + tex + r"\right)^{" + exp + "}"


def _print_heaviside(self, expr, exp=None):
    r"""``\operatorname{Heaviside}\left(x\right)``: SymPy's ``\theta\left(x\right)`` reads
    back as the variable θ times x (θ is a parameter's name in machine learning)."""
    args = ", ".join(self._print(a) for a in expr.pargs)
    tex = r"\operatorname{Heaviside}\left(" + args + r"\right)"
    return tex if exp is None else r"\left(" + tex + r"\right)^{" + exp + "}"


LatexPrinter._print_gamma = _print_gamma
LatexPrinter._print_Heaviside = _print_heaviside
for _entry in BY_CLASS.values():
    if _entry.latex is not None:
        setattr(LatexPrinter, f"_print_{_entry.func.__name__}", _print_special)
LatexPrinter._print_polygamma = _print_polygamma


#: Letters a function's name may hold as Unicode (ℓ for a loss, φ for an activation) and
#: their LaTeX: ``\operatorname{ℓ'}`` would not typeset under pdfTeX.
_UNICODE_LETTERS = {"ℓ": r"\ell", "φ": r"\varphi", "σ": r"\sigma", "ψ": r"\psi"}
_PRIMED = re.compile(r"(?P<base>\S)(?P<primes>'*)")
_PARTIAL = re.compile(r"∂(?P<base>\S)/∂(?P<letter>[A-Za-z])(?P<index>\d*)")


def _unicode_function_name(name: str) -> str | None:
    r"""``ℓ''`` as ``\ell''``, ``∂ℓ/∂z1`` as ``\frac{\partial \ell}{\partial z_{1}}``, else None.

    Examples
    --------
    >>> _unicode_function_name("ℓ''"), _unicode_function_name("tanh")
    ("\\ell''", None)
    >>> print(_unicode_function_name("∂ℓ/∂z2"))
    \frac{\partial \ell}{\partial z_{2}}
    """
    primed = _PRIMED.fullmatch(name)
    if primed and primed["base"] in _UNICODE_LETTERS:
        return _UNICODE_LETTERS[primed["base"]] + primed["primes"]
    partial = _PARTIAL.fullmatch(name)
    if partial and partial["base"] in _UNICODE_LETTERS:
        below = partial["letter"] + (f"_{{{partial['index']}}}" if partial["index"] else "")
        return rf"\frac{{\partial {_UNICODE_LETTERS[partial['base']]}}}{{\partial {below}}}"
    return None


def name_latex(name: str) -> str:
    r"""A function's name in LaTeX: ``\tanh`` where LaTeX has the operator, else upright.

    Examples
    --------
    >>> name_latex("tanh"), name_latex("hard_swish")
    ('\\tanh', '\\operatorname{hard\\_swish}')
    """
    if name in _latex_module.accepted_latex_functions:
        return "\\" + name
    return r"\operatorname{" + name.replace("_", r"\_") + "}"


_SUBSCRIPTS = str.maketrans("0123456789aehijklmnoprstuvx", "₀₁₂₃₄₅₆₇₈₉ₐₑₕᵢⱼₖₗₘₙₒₚᵣₛₜᵤᵥₓ")


def readable_name(name: str, sample: str | None = None) -> str:
    """A variable's name as a reader writes it: ``z_1`` is z₁; with ``sample="i"`` the
    i-th sample's value: ``p`` is pᵢ, ``z_1`` is z₁⁽ⁱ⁾ (a subscript already in use).

    Examples
    --------
    >>> readable_name("z_1"), readable_name("p", "i"), readable_name("y_2", "i")
    ('z₁', 'pᵢ', 'y₂⁽ⁱ⁾')
    """
    base, _, subscript = name.partition("_")
    lowered = subscript.translate(_SUBSCRIPTS)
    shown = base + lowered if subscript and all(c not in lowered for c in subscript) else name
    if sample is None:
        return shown
    if shown == base:
        return base + sample.translate(_SUBSCRIPTS)
    return f"{shown}⁽{sample.translate(str.maketrans('in', 'ⁱⁿ'))}⁾"


def set_text(domain: sympy.Set) -> str:
    """A set as a textbook writes it: ℝ, [0, 1], (0, 1), [0, ∞), {-1, 1}.

    Examples
    --------
    >>> set_text(sympy.Interval(0, 1)), set_text(sympy.Interval.open(0, sympy.oo))
    ('[0, 1]', '(0, ∞)')
    >>> set_text(sympy.Interval.open(-sympy.oo, 0) | sympy.Interval.open(0, sympy.oo))
    '(-∞, 0) ∪ (0, ∞)'
    >>> set_text(sympy.Complement(sympy.S.Reals, sympy.Range(0, -sympy.oo, -1)))
    'ℝ ∖ {0, -1, -2, …}'
    >>> n = sympy.Symbol("n", integer=True)
    >>> poles = sympy.ImageSet(sympy.Lambda(n, n * sympy.pi), sympy.S.Integers)
    >>> set_text(sympy.Complement(sympy.S.Reals, poles))
    'ℝ ∖ {pi*k : k ∈ ℤ}'
    """
    if domain == sympy.S.Reals:
        return "ℝ"
    if isinstance(domain, sympy.Interval):

        def end(value):
            return {sympy.S.Infinity: "∞", sympy.S.NegativeInfinity: "-∞"}.get(
                value, sympy.sstr(value)
            )

        left = "(" if domain.left_open else "["
        right = ")" if domain.right_open else "]"
        return f"{left}{end(domain.inf)}, {end(domain.sup)}{right}"
    if isinstance(domain, sympy.FiniteSet):
        values = sorted(domain, key=sympy.default_sort_key)
        return "{" + ", ".join(sympy.sstr(v) for v in values) + "}"
    if isinstance(domain, sympy.Union):
        return " ∪ ".join(_operand_text(part) for part in domain.args)
    if isinstance(domain, sympy.Intersection):
        return " ∩ ".join(_operand_text(part) for part in domain.args)
    if isinstance(domain, sympy.Complement):
        whole, removed = domain.args
        return f"{_operand_text(whole)} ∖ {_operand_text(removed)}"
    if isinstance(domain, sympy.Range):
        return _range_text(domain)
    if isinstance(domain, sympy.ImageSet) and domain.base_sets == (sympy.S.Integers,):
        (n,) = domain.lamda.variables
        k = sympy.Symbol("k", integer=True)
        return "{" + sympy.sstr(sympy.expand(domain.lamda.expr.xreplace({n: k}))) + " : k ∈ ℤ}"
    if domain == sympy.S.Integers:
        return "ℤ"
    return sympy.sstr(domain)


def _operand_text(part: sympy.Set) -> str:
    """`set_text` of a part of a union, intersection or difference, bracketed if needed."""
    text = set_text(part)
    compound = isinstance(part, (sympy.Union, sympy.Intersection, sympy.Complement))
    return f"({text})" if compound else text


def _range_text(numbers: sympy.Range) -> str:
    """{0, -1, -2, …} for an endless range, the elements for a short one."""
    if numbers.size.is_finite and numbers.size <= 6:
        return "{" + ", ".join(sympy.sstr(v) for v in numbers) + "}"
    step = numbers.step
    if numbers.start.is_finite:
        shown = ", ".join(sympy.sstr(numbers.start + i * step) for i in range(3))
        end = f", {sympy.sstr(numbers.stop - step)}" if numbers.stop.is_finite else ""
        return "{" + f"{shown}, …{end}" + "}"
    last = numbers.stop - step  # (-∞, …, -2, -1]: shown from its end
    return "{…, " + ", ".join(sympy.sstr(last - i * step) for i in (2, 1, 0)) + "}"


#: SymPy's "full" names of inverse hyperbolic functions (ISO's arsinh) -> the names
#: symcalc's parsers read (arcsinh).
_INVERSE_HYPERBOLIC = {
    "arsinh": "arcsinh",
    "arcosh": "arccosh",
    "artanh": "arctanh",
    "arcoth": "arccoth",
    "arsech": "arcsech",
    "arcsch": "arccsch",
}


def latex(expr: sympy.Basic, **settings) -> str:
    r"""LaTeX for ``expr`` through symcalc's `LatexPrinter`.

    Examples
    --------
    >>> print(latex(symbol("slope") * symbol("x") + symbol("alpha")))
    \alpha + \mathrm{slope} x
    """
    return LatexPrinter(settings).doprint(expr)


# -- the names a user's expression may use ------------------------------------------


def _log(*args):
    if len(args) == 2:  # log(x, base)
        return sympy.log(args[0], args[1])
    return sympy.log(args[0])


def _number(name: str, what: str, *kinds: type):
    """SymPy's number constructors (``Rational(1, 3)``, ``Integer(2)``, ``S(1)``): numbers in,
    a number out; anything else is refused (``Rational(x, 2)`` is no number)."""

    def build(*args):
        if not all(isinstance(a, kinds) for a in args):
            shown = ", ".join(sympy.sstr(a) for a in args)
            raise ParseError(f"{name}() takes {what}, got {name}({shown})")
        return sympy.Rational(*args) if name == "Rational" else args[0]  # a SymPy number

    return build


def _root(u, n):
    """``root(u, n)``: SymPy's principal n-th root u**(1/n) (real where u >= 0)."""
    return sympy.root(u, n)


def _minmax(cls):
    def build(*args):
        return cls(*args)

    return build


#: The functions an expression may call: name -> (builder, smallest arity, largest arity
#: or None for any).  The parsers (text and LaTeX) read names through this table only.
FUNCTIONS: dict[str, tuple[Callable[..., sympy.Expr], int, int | None]] = {
    "exp": (sympy.exp, 1, 1),
    "log": (_log, 1, 2),
    "ln": (sympy.log, 1, 1),
    "log1p": (lambda u: sympy.log(1 + u), 1, 1),
    "expm1": (lambda u: sympy.exp(u) - 1, 1, 1),
    "sqrt": (sympy.sqrt, 1, 1),
    "cbrt": (sympy.cbrt, 1, 1),
    "abs": (sympy.Abs, 1, 1),
    "Abs": (sympy.Abs, 1, 1),
    "sign": (sympy.sign, 1, 1),
    "Heaviside": (sympy.Heaviside, 1, 1),
    "max": (_minmax(sympy.Max), 2, None),
    "Max": (_minmax(sympy.Max), 2, None),
    "min": (_minmax(sympy.Min), 2, None),
    "Min": (_minmax(sympy.Min), 2, None),
    "sin": (sympy.sin, 1, 1),
    "cos": (sympy.cos, 1, 1),
    "tan": (sympy.tan, 1, 1),
    "cot": (sympy.cot, 1, 1),
    "sec": (sympy.sec, 1, 1),
    "csc": (sympy.csc, 1, 1),
    "asin": (sympy.asin, 1, 1),
    "acos": (sympy.acos, 1, 1),
    "atan": (sympy.atan, 1, 1),
    "arcsin": (sympy.asin, 1, 1),
    "arccos": (sympy.acos, 1, 1),
    "arctan": (sympy.atan, 1, 1),
    "acot": (sympy.acot, 1, 1),
    "asec": (sympy.asec, 1, 1),
    "acsc": (sympy.acsc, 1, 1),
    "arccot": (sympy.acot, 1, 1),
    "arcsec": (sympy.asec, 1, 1),
    "arccsc": (sympy.acsc, 1, 1),
    "sinh": (sympy.sinh, 1, 1),
    "cosh": (sympy.cosh, 1, 1),
    "tanh": (sympy.tanh, 1, 1),
    "sech": (sympy.sech, 1, 1),
    "csch": (sympy.csch, 1, 1),
    "coth": (sympy.coth, 1, 1),
    "asinh": (sympy.asinh, 1, 1),
    "acosh": (sympy.acosh, 1, 1),
    "atanh": (sympy.atanh, 1, 1),
    "arcsinh": (sympy.asinh, 1, 1),
    "arccosh": (sympy.acosh, 1, 1),
    "arctanh": (sympy.atanh, 1, 1),
    "acoth": (sympy.acoth, 1, 1),
    "asech": (sympy.asech, 1, 1),
    "acsch": (sympy.acsch, 1, 1),
    "arccoth": (sympy.acoth, 1, 1),
    "arcsech": (sympy.asech, 1, 1),
    "arccsch": (sympy.acsch, 1, 1),
    "erf": (sympy.erf, 1, 1),
    "erfc": (sympy.erfc, 1, 1),
    "sigmoid": (sigmoid, 1, 1),
    "root": (_root, 2, 2),
    "Rational": (_number("Rational", "whole numbers", sympy.Integer), 1, 2),
    "Integer": (_number("Integer", "a whole number", sympy.Integer), 1, 1),
    "Float": (_number("Float", "a number", sympy.Number), 1, 1),
    "S": (_number("S", "a number", sympy.Number), 1, 1),
    # gamma, Bessel, exponential integrals, ...: symbolic only (see symcalc.symbolic.special)
    **{name: (entry.build, entry.low, entry.high) for name, entry in SPECIAL.items()},
}

#: The constants an expression may name.
CONSTANTS: dict[str, sympy.Expr] = {
    "pi": sympy.pi,
    "e": sympy.E,
    "E": sympy.E,
    "oo": sympy.oo,
    # SymPy's named real constants: a variable of that name would be read where SymPy
    # means the number (d/da of a*EulerGamma + a**2 was taken by 'EulerGamma')
    "GoldenRatio": sympy.GoldenRatio,
    "EulerGamma": sympy.EulerGamma,
    "Catalan": sympy.Catalan,
    "TribonacciConstant": sympy.TribonacciConstant,
    "inf": sympy.oo,
    "True": sympy.true,
    "False": sympy.false,
}
