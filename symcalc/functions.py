"""Named SymPy functions that machine learning writes as primitives.

SymPy knows ``tanh`` and ``erf`` but not the logistic sigmoid; textbook identities
such as σ' = σ(1 − σ) need it as a function of its own.  `sigmoid` stays
unevaluated, differentiates to ``sigmoid(x)*(1 - sigmoid(x))``, prints as σ in
LaTeX and rewrites to its definition with ``expr.rewrite(sympy.exp)``.
"""

from __future__ import annotations

import sympy

__all__ = ["expand_named", "sigmoid", "symbol"]


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
