"""Independent truth for kernel tests: SymPy's own derivative (``sympy.diff``, not symcalc's
derivation) evaluated by mpmath with digits enough for the point's magnitude."""

from __future__ import annotations

import mpmath
import numpy as np
import sympy


def derivative_values(
    expr: sympy.Expr, x: sympy.Symbol, order: int, points: np.ndarray
) -> np.ndarray:
    """``expr``'s derivative of ``order`` in ``x`` at ``points`` (exact floats), by mpmath
    at 60 digits plus 2.2 per decade of |x| (DiracDelta taken as 0: no point sits on a kink)."""
    derivative = sympy.diff(expr, x, order).replace(sympy.DiracDelta, lambda *a: 0)
    function = sympy.lambdify(x, derivative, modules="mpmath")
    values = []
    for p in points.tolist():
        digits = 60 + int(2.2 * abs(np.log10(abs(p)))) if p else 60
        with mpmath.workdps(digits):
            values.append(float(function(mpmath.mpf(p))))
    return np.array(values)
