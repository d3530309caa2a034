"""Polynomial branches where a formula cancels: found from the expression, proven at 50 digits.

Every branch is checked here independently of the module's own verification: its
polynomial against mpmath at 50 digits across its interval, and the kernel built with it
against mpmath at points approaching the branch point, where the plain formula fails.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.numeric.cancellation import KAPPA, TRUNCATION, series_branches
from symcalc.numeric.kernels import kernel
from symcalc.numeric.rewrites import MPMATH_FUNCTIONS
from symcalc.symbolic.functions import symbol

x = symbol("x")

#: Formulas that cancel (or divide 0 by 0) at 0, written as people write them.
CANCELLING = [
    x - sympy.tanh(x),
    x - sympy.sin(x),
    sympy.atan(x) - x,
    sympy.sin(x) / x,
    sympy.diff(sympy.sin(x) / x, x),
    sympy.diff(sympy.sin(x) / x, x, 2),
    (sympy.exp(x) - 1 - x) / x**2,
    sympy.exp(x) * sympy.tanh(x) - x,
]


def _mp(expr):
    return sympy.lambdify([x], expr, modules=[MPMATH_FUNCTIONS, "mpmath"])


@pytest.mark.parametrize("expr", CANCELLING, ids=str)
def test_each_branch_is_within_its_bound_of_the_function_at_50_digits(expr, mp_digits):
    mp_digits(60)
    _, branches = series_branches(expr)
    assert len(branches) == 1, branches
    branch = branches[0]
    assert branch.point == 0 and branch.error <= TRUNCATION and branch.kappa <= KAPPA
    f, p = _mp(expr), _mp(branch.polynomial)
    with mpmath.workdps(120):  # the formula itself cancels: evaluate it with digits to spare
        for t in np.linspace(branch.low, branch.high, 41)[1:-1].tolist() + [1e-9, -3e-7]:
            if t == 0 or not branch.low < t < branch.high:
                continue
            truth = f(mpmath.mpf(t))
            got = p(mpmath.mpf(t))
            assert abs(got - truth) <= 2 * TRUNCATION * abs(truth), (expr, t)
    assert str(branch.order) in branch.to_text() and "error" in repr(branch)


def _truth(f, t: float) -> float:
    """f(t) with digits enough for its cancellation (about 3 per decade below 1); f(0) is
    the limit, read off f(±1e-200) (the formulas here are analytic at 0: a value below
    1e-150 there is a zero of f at 0)."""
    if t == 0:
        near = _truth(f, 1e-200)
        return near if abs(near) > 1e-150 else 0.0
    digits = 60 + 3 * max(0, int(-np.log10(abs(t))))
    with mpmath.workdps(digits):
        return float(f(mpmath.mpf(t)))


@pytest.mark.parametrize("expr", CANCELLING, ids=str)
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_kernels_with_branches_meet_the_promise_near_the_point(expr, dtype):
    """Where the plain formula loses every digit (x = 1e-8 and closer), the kernel holds."""
    k = kernel(expr, dtype=np.dtype(dtype).name)
    assert k.branches
    points = np.array([0.0, 5e-324, 1e-300, 1e-30, 1e-8, 1e-4, 0.01, 0.2, 0.49, 0.51, 0.99, 1.01])
    points = np.unique(np.concatenate([points, -points]).astype(dtype))
    f = _mp(expr)
    with np.errstate(all="raise"):
        got = k(points)
    rtol, atol = (1e-12, 1e-300) if dtype is np.float64 else (1e-5, 1e-36)
    for t, g in zip(points.tolist(), got.tolist(), strict=True):
        truth = _truth(f, t)
        assert abs(g - truth) <= max(rtol * abs(truth), atol), (expr, t, g, truth)


def test_the_plain_formula_really_fails_there():
    """The test above can fail: without the branch, x - tanh(x) at 1e-8 has no right digit."""
    plain = kernel("x - tanh(x)", stable=False)
    assert float(plain(1e-8)) == 0.0  # truth 3.3e-25
    assert float(kernel("x - tanh(x)")(1e-8)) == pytest.approx(1e-24 / 3, rel=1e-14)


def test_formulas_that_do_not_cancel_get_no_branch():
    for expr in (x * sympy.tanh(x), sympy.exp(-(x**2)), x / (1 + sympy.Abs(x)), sympy.log(x)):
        _, branches = series_branches(expr)
        assert branches == ()


def test_points_come_from_the_expression_not_from_names():
    """A shifted formula is handled at its own point: (x-3) - sin(x-3) cancels at x = 3."""
    shifted = (x - 3) - sympy.sin(x - 3)
    _, branches = series_branches(shifted)
    assert [b.point for b in branches] == [3]
    k = kernel(shifted)
    t = 3 + 2.0**-30
    with mpmath.workdps(80):
        truth = float(_mp(shifted)(mpmath.mpf(t)))
    assert float(k(t)) == pytest.approx(truth, rel=1e-12)


def test_a_side_without_real_values_gets_no_branch():
    """sqrt(x) - sin(sqrt(x)) has no Taylor series at 0 (a power x^(3/2)): no branch, no guess."""
    _, branches = series_branches(sympy.sqrt(x) - sympy.sin(sympy.sqrt(x)))
    assert branches == ()


def test_kernel_text_lists_the_branch():
    text = kernel("x - sin(x)").to_text()
    assert "series branch" in text and "degree" in text
