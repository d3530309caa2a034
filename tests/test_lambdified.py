"""`symcalc.numeric.lambdified.lambdify`: SymPy's lambdify without the docstring, the
same generated code and the same values."""

from __future__ import annotations

import inspect

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.numeric.lambdified import lambdify
from symcalc.numeric.rewrites import MPMATH_JUDGE_FUNCTIONS, NUMPY_MODULES
from symcalc.symbolic.functions import sigmoid

x = sympy.Symbol("x", real=True)
FORMULAS = [
    sigmoid(x) * (1 - sigmoid(x)),
    [sympy.exp(-(x**2)), sympy.log(1 + sympy.exp(x)), x / 3],
    sympy.erfc(x / 3) ** 2 + sympy.sqrt(1 + x**2),
]
MODULES = {"numpy": NUMPY_MODULES, "mpmath": [MPMATH_JUDGE_FUNCTIONS, "mpmath"]}


@pytest.mark.parametrize("modules", sorted(MODULES))
@pytest.mark.parametrize("index", range(len(FORMULAS)))
def test_the_code_and_values_are_sympys(index, modules):
    formula, namespace = FORMULAS[index], MODULES[modules]
    ours, theirs = (
        lambdify([x], formula, namespace),  # modules as SymPy takes them: by position too
        sympy.lambdify([x], formula, modules=namespace),
    )
    assert inspect.getsource(ours) == inspect.getsource(theirs)
    point = np.float64(0.7) if modules == "numpy" else mpmath.mpf("0.7")
    assert np.array_equal(
        np.asarray(ours(point), dtype=float), np.asarray(theirs(point), dtype=float)
    )


def test_the_formula_is_not_printed_into_a_docstring_where_sympy_allows():
    allowed = "docstring_limit" in inspect.signature(sympy.lambdify).parameters  # SymPy 1.13
    f = lambdify([x], sympy.exp(x) + x**2)
    assert ("exp(x)" in (f.__doc__ or "")) is not allowed
