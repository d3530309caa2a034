"""Scalar Python code for the numba backend: SymPy's Python code printer, specialised.

`ScalarPrinter` is a `sympy.printing.pycode.PythonCodePrinter`: SymPy's tables decide how
a function is spelled in scalar code (``exp`` is ``math.exp``, ``Abs`` is ``abs``), and
numbers print as float literals (a SymPy ``Rational(1, 3)`` would otherwise print as
``1/3``).  The kernel graph's nodes ask it for calls, comparisons and conditional
expressions (`call`, `comparison`, `conditional`), so scalar syntax is decided here only;
it also prints whole SymPy expressions (``ScalarPrinter().doprint(expr)``).

``NUMBA_PRELUDE`` holds the small stable helpers that scalar node code calls
(σ from exp(-|u|), sech, 1/(1 + cosh u)), compiled once per kernel with numba.
"""

from __future__ import annotations

import sympy
from sympy.printing.pycode import PythonCodePrinter

from .graph import COMPARISONS, literal

__all__ = ["NUMBA_HELPERS", "NUMBA_PRELUDE", "ScalarPrinter"]

_OPERATORS = {
    sympy.StrictGreaterThan: ">",
    sympy.StrictLessThan: "<",
    sympy.GreaterThan: ">=",
    sympy.LessThan: "<=",
    sympy.Equality: "==",
    sympy.Unequality: "!=",
}


class ScalarPrinter(PythonCodePrinter):
    """Python scalar code over the ``math`` module, numbers as float literals.

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> ScalarPrinter().doprint(sympy.exp(x) + sympy.Rational(1, 3))
    'math.exp(x) + 0.3333333333333333'
    >>> ScalarPrinter().call("log1p", "v2")
    'math.log1p(v2)'
    """

    printmethod = "_symcalc_scalar"

    #: Scalar forms of functions the ``math`` module lacks (``{0}`` is the operand).
    TEMPLATES = {
        "sign": "(0.0 if {0} == 0 else math.copysign(1.0, {0}))",
        "cbrt": "math.copysign(abs({0}) ** (1.0 / 3.0), {0})",
    }

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": True, **(settings or {})})
        self._comparisons = {ufunc: _OPERATORS[rel] for rel, ufunc in COMPARISONS.items()}

    def call(self, function: str, *args: str) -> str:
        """``function(args)`` in scalar code; ``function`` is a SymPy function's name."""
        if function in self.TEMPLATES:
            return self.TEMPLATES[function].format(*args)
        return f"{self._module_format(self.known_functions[function])}({', '.join(args)})"

    def comparison(self, ufunc: str) -> str:
        """The operator of a NumPy comparison ufunc (``np.greater`` is ``>``)."""
        return self._comparisons[ufunc]

    @staticmethod
    def conditional(then: str, cond: str, otherwise: str) -> str:
        return f"({then} if {cond} else {otherwise})"

    def _print_Number(self, expr):
        return literal(expr)

    _print_Float = _print_Rational = _print_Integer = _print_Number

    def _print_NumberSymbol(self, expr):
        return literal(expr)

    def _print_sign(self, expr):
        return self.call("sign", self._print(expr.args[0]))


#: Helpers scalar node code calls; each is compiled with numba.njit beside the kernel.
NUMBA_HELPERS = ("_sigmoid_neg", "_inv_one_plus_cosh", "_sech", "_exp_finite")

NUMBA_PRELUDE = """\
def _sigmoid_neg(m):
    # sigma(-m) = 1/(1 + exp(m)) from exp(-|m|), which never overflows
    e = math.exp(-abs(m))
    return 1.0 / (1.0 + e) if m <= 0 else e / (1.0 + e)


def _inv_one_plus_cosh(u):
    # 1/(1 + cosh u) = 2 sigma(u) sigma(-u)
    e = math.exp(-abs(u))
    d = 1.0 + e
    return 2.0 * e / d / d


def _sech(u):
    e = math.exp(-abs(u))
    return 2.0 * e / (1.0 + e * e)


def _exp_finite(u):
    e = math.exp(min(u, 709.782712893384))
    return e if e < math.inf else 1.7976931348623157e308
"""
