"""Integrated gradients of an expression whose kinks are periodic or unsolvable: the
exact route no longer trusts SymPy's integral of a sign or Piecewise with a switch that
is not polynomial in α (it gave 0), and the quadrature fallback cuts the path at every
kink.  Truth: mpmath.quad of the path derivative split at the true kinks."""

from __future__ import annotations

import mpmath
import numpy as np
import sympy

from symcalc.numeric.attribution import as_differentiable, integrated_gradients
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.kinks import switches


def test_abs_sin_3x_plus_y_attributions_against_mpmath():
    # old: attributions [0, 0] with f(x) - f(x') = 0.99999 (completeness error -1)
    ig = integrated_gradients("abs(sin(3*x + y))", at=[3.0, 2.0], timeout=20)
    # on the path (3a, 2a): z = 11a, and d/dx |sin z| = 3 sign(sin z) cos z, d/dy = 1 * ...
    slope = lambda a: mpmath.sign(mpmath.sin(11 * a)) * mpmath.cos(11 * a)  # noqa: E731
    with mpmath.workdps(30):
        cuts = [k * mpmath.pi / 11 for k in range(1, 4)]
        integral = mpmath.quad(slope, [0, *cuts, 1])
    np.testing.assert_allclose(
        ig.attributions, [float(3 * 3 * integral), float(2 * 1 * integral)], rtol=1e-12
    )


def test_the_path_is_cut_at_every_kink_of_an_expression():
    f = as_differentiable("abs(sin(3*x + y))")
    cuts = f.breakpoints(np.array([3.0, 2.0]), np.array([0.0, 0.0]))
    np.testing.assert_allclose(cuts, [float(k * mpmath.pi / 11) for k in range(1, 4)], rtol=1e-14)


def test_switches_lists_each_switching_expression_once():
    x = symbol("x")
    assert switches(sympy.Abs(sympy.sin(x)) + sympy.sign(sympy.sin(x))) == [sympy.sin(x)]
