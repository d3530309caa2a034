"""The policy for complex values: symcalc works with real functions of real variables.

Every part of an expression that has no variable must have a real value: ``asin(2)``,
``log(-1)``, ``sqrt(-1)`` and ``(-8)**(1/3)`` (SymPy's power of a negative number is the
complex principal value) are refused.  The parser checks each part as it builds it, so
``abs(sqrt(-1))`` is refused before SymPy folds it into 1.  A part with a variable is a
real function on its natural domain (``sqrt(x)`` for x >= 0) and is not checked here.

Examples
--------
>>> import sympy
>>> nonreal_constant(sympy.asin(2) + sympy.Symbol("x"))
asin(2)
>>> nonreal_constant(sympy.asin(sympy.Rational(1, 2))) is None
True
"""

from __future__ import annotations

import warnings

import sympy

from ..errors import ParseError

__all__ = ["complex_error", "nonreal_constant"]


def _approximately(value: sympy.Expr) -> str:
    re_part, im_part = (float(v) for v in sympy.N(value, 15).as_real_imag())
    if re_part == 0:
        return f"{im_part:.4g}i"
    sign = "-" if im_part < 0 else "+"
    return f"{re_part:.4g} {sign} {abs(im_part):.4g}i"


def nonreal_constant(expr: sympy.Expr) -> sympy.Expr | None:
    """The first part of ``expr`` without variables whose value is not a real number."""
    for part in sympy.preorder_traversal(expr):
        if not isinstance(part, sympy.Expr) or part.free_symbols or part.is_Rational:
            continue
        if part.has(sympy.zoo, sympy.nan):
            continue  # reported as undefined
        real = part.is_extended_real
        if real is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                imag = sympy.N(part, 30).as_real_imag()[1]
            real = imag.is_zero or abs(imag) < sympy.Float("1e-25") * max(1, abs(sympy.N(part)))
        if real is False:
            return part
    return None


def complex_error(text: str, part: sympy.Expr, column: int | None = None) -> ParseError:
    """The policy: every part of an expression without variables must be a real number."""
    hint = ""
    if any(isinstance(p, sympy.Pow) and p.base.is_negative for p in sympy.preorder_traversal(part)):
        hint = (
            "; a negative number to a fractional power is complex in SymPy: for the real"
            " odd root write -(8**(1/3)) or sign(u)*abs(u)**(1/3)"
        )
    where = f" (column {column})" if column else ""
    return ParseError(
        f"'{text}'{where} is complex-valued: {sympy.sstr(part)} ≈ {_approximately(part)} is not "
        f"a real number; symcalc works with real functions of real variables{hint}",
        column,
    )
