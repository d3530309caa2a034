"""Kernels of users' expressions found wrong or refused by a random-expression fuzz.

Each case is a minimized expression from the fuzz, checked in float64 and float32 against
SymPy's own derivative (``sympy.diff``, independent of symcalc's derivation) evaluated by
mpmath at 60 digits or more.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import sympy
from mpmath_derivative import derivative_values

from symcalc import kernel

x = sympy.Symbol("x", real=True)


def _truth(expr: sympy.Expr, order: int, points: np.ndarray) -> np.ndarray:
    return derivative_values(expr, x, order, points)


def _check(text: str, expr: sympy.Expr, order: int, points: np.ndarray) -> None:
    for dtype, rtol, tiny in ((np.float64, 1e-12, 1e-300), (np.float32, 1e-5, 1e-36)):
        inputs = points[np.abs(points) <= np.finfo(dtype).max].astype(dtype)
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            got = kernel(text, order=order)(inputs)
        assert got.dtype == dtype
        truth = _truth(expr, order, inputs.astype(np.float64))
        np.testing.assert_allclose(got, truth, rtol=rtol, atol=tiny, err_msg=f"{text} {dtype}")


def test_exponentials_of_polynomials_are_one_exponential():
    """(gaussian((0.35x + 0.5)x) - Min(exp(1 - 0.0064x), selu(770x + 2.8)))″ was derived with
    a polynomial times exp(-x²/4)·exp(-7x³/20)·exp(-49x⁴/400): NaN (0·inf·0) from
    x = -1e78, where its value is 0.  For x < -1 the Min is selu's exp branch, whose
    second derivative is below 1e-600 there."""
    u = (sympy.Rational(35, 100) * x + sympy.Rational(1, 2)) * x
    selu = (
        sympy.Rational(10507, 10000)
        * sympy.Rational(16733, 10000)
        * (sympy.exp(770 * x + sympy.Rational(14, 5)) - 1)
    )
    points = np.array([-1e308, -1e200, -1e100, -1e78, -1e10, -30.0, -2.0, -1.5])
    text = "gaussian((0.35*x + 0.5)*x) - Min(exp(-0.0064*x + 1.0), selu(770.0*x + 2.8))"
    _check(text, sympy.exp(-(u**2)) - selu, 2, points)


@pytest.mark.parametrize("order", [0, 1, 2])
def test_a_kink_condition_is_decided_by_signs_that_cannot_underflow(order):
    """leaky_relu(g)′, g = softsign(|x|)·(erfc(1.4 - 90x) + x), took the slope 0.01 of
    g ≤ 0 at x = ±5e-324, where g > 0 underflows to 0: 0.00048 for 0.048."""
    g = sympy.Abs(x) / (sympy.Abs(x) + 1) * (sympy.erfc(sympy.Rational(7, 5) - 90 * x) + x)
    expr = sympy.Piecewise((g, g > 0), (g / 100, True))
    points = np.array([-5e-324, 5e-324, 1e-322, -1e-320, 1e-300, -0.1, 0.3, 3.0])
    text = "leaky_relu(softsign(abs(x))*(erfc(-90.0*x + 1.4) + x))"
    _check(text, expr, order, points[np.abs(points) > 1e-40] if order == 0 else points)
