"""Polynomial branches where a formula cancels: found from the expression, proven at 50 digits.

Every branch is checked here independently of the module's own verification: its
polynomial against mpmath at 50 digits across its interval, and the kernel built with it
against mpmath at points approaching the branch point, where the plain formula fails.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy

from symcalc import derivative
from symcalc.numeric.cancellation import (
    KAPPA,
    KAPPA_WIDE,
    ROUNDED_TRUNCATION,
    TRUNCATION,
    AsymptoticBranch,
    FarBranch,
    SeriesBranch,
    TailBranch,
    series_branches,
)
from symcalc.numeric.kernels import kernel
from symcalc.numeric.rewrites import MPMATH_FUNCTIONS
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.parse import parse

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
    at_zero = [b for b in branches if isinstance(b, SeriesBranch)]
    assert len(at_zero) == 1, branches  # (and an asymptotic branch where one helps)
    branch = at_zero[0]
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


# -- far out, next to 0, and where κ stays up -------------------------------------------------


def _settled_truth(f, t: float) -> float:
    """f(t) at digits that grow with |log10 t| (x² beside 1 at t = 1e-160 needs 320 more),
    doubled until two precisions agree to 25 digits."""
    base = 60 + int(2.5 * abs(np.log10(abs(t))))
    previous = None
    for digits in (base, 2 * base, 4 * base):
        with mpmath.workdps(digits):
            value = f(mpmath.mpf(t))
        if previous is not None and abs(value - previous) <= 1e-25 * abs(value):
            return float(value)
        previous = value
    raise AssertionError(f"no settled value at {t}")


def _derivative(text: str, order: int) -> sympy.Expr:
    return derivative(text, order=order) if order else parse(text)


#: Formulas that fail at large |x| however x is rounded: cancellation in the tails
#: (cosh(3 + asinh x)'' is two terms ≈ 10/x that cancel to ≈ 10/x³), or a factor that is
#: subnormal on the way (1/(x² + 1)² at x = 1e80) while the value, ≈ 1/x³, is not.
FAILING_FAR = [
    ("cosh(3 + asinh(x))", 2),
    ("sin(atan(x)**2)", 2),
    ("atan(abs(5*x))", 2),
    # the rational factors of a product reversed together: 1/x, not 1/x² (0 from 1e164)
    ("x*asinh(2*x)/(3*(1 + (x + 1)**2))", 0),
    ("x*asinh(2*x)/(3*(1 + (x + 1)**2))", 2),
    # exp(x²) over exp(x²): NaN from x = 200 in float64 (longdouble overflows too), and
    # 0 for 0.22 at x = 9.2 in float32, where x²·exp(x²) overflows first
    ("log(x**2 + exp(-x**2))", 1),
    ("log(x**2 + exp(-x**2))", 2),
    # its leading coefficient in 1/x, π·exp(-π²/4), rounds to a double 1.005e-16 off: no
    # branch reached 1e-16, and it was 0 for 2.7e-253 from x = 1e84
    ("exp(-atan(2*x + 1)**2)", 2),
]
FAR_POINTS = [1e4, 1e8, 1e20, 1e80, 3e100, 1e200, 1e300, 1.7976931348623157e308]


@pytest.mark.parametrize(("text", "order"), FAILING_FAR, ids=str)
def test_formulas_that_fail_far_out_get_a_branch_that_holds_there(text, order):
    expr = _derivative(text, order)
    k = kernel(expr)
    far = [b for b in k.branches if isinstance(b, AsymptoticBranch)]
    assert all(b.error <= ROUNDED_TRUNCATION for b in far)
    assert {b.side for b in far} == {1, -1} or "asinh(2*x)" in text, k.to_text()
    f = _mp(expr)
    points = np.array(FAR_POINTS + [-p for p in FAR_POINTS])
    truths = [_settled_truth(f, t) for t in points.tolist()]
    _right_where_the_plain_formula_is_wrong(text, k, points, truths, at_least=4)


@pytest.mark.parametrize(
    ("text", "order"),
    [
        ("log(1 + (x/3)**2)/(1 + x**2)", 2),
        ("atan(exp(x/3))/(1 + (x + 1)**2)**2", 1),
    ],
)
def test_rational_factors_with_a_log_or_atan_beside_them_are_reversed_together(text, order):
    """(3x⁶·log(1 + x²/9) - ...)/(x¹⁰ + ...) had a far branch for its denominator alone:
    x¹⁰ overflows from x = 1e31, and the value (≈ 6·log(x)/x⁴) came out 0 for 8.6e-126 at
    x = 1e32; atan(exp(x/3))/(1 + (x + 1)²)² ′ was 0 for -6.3e-200 at x = 1e40.  log and
    atan now stand as coefficients of the powers of 1/x."""
    expr = _derivative(text, order)
    k = kernel(expr)
    f = _mp(expr)
    points = np.array(FAR_POINTS[:-1] + [-p for p in FAR_POINTS[:-1]])
    truths = [_settled_truth(f, t) for t in points.tolist()]
    _right_where_the_plain_formula_is_wrong(text, k, points, truths, at_least=4, under="ignore")


@pytest.mark.parametrize(
    ("text", "order", "far", "far32"),
    [
        ("(asinh(x/3) - x/3)/(1 + x**2)", 0, [1e156, 1e160, 1e164, 1e200, 1e300], [1e24, 3e38]),
        ("x*log(1 + x**2)/(1 + x**2)**2", 1, [1e52, 1e60, 1e75], [1e8, 1e9]),
    ],
)
def test_a_product_of_rational_factors_once_functions_are_coefficients_is_reversed(
    text, order, far, far32
):
    """Every factor of these is rational in x once log and asinh stand as coefficients,
    and the far branch was made for the denominator alone, whose reciprocal power is
    subnormal or 0 where the value is not: (asinh(x/3) - x/3)/(1 + x²) was 1e-5 off at
    x = 1e160 (1/x² subnormal, times ≈ -x/3) and 0 from 1e164; (x·log(1 + x²)/(1 + x²)²)′,
    (2x² + (1 - 3x²)·L)·(x² + 1)⁻³, was 0 for -7.2e-206 at x = 1e52 (1/x⁶ underflowed;
    float32: 0 for -1.1e-30 at 1e8).  The product is now reversed as a whole."""
    expr = _derivative(text, order)
    k = kernel(expr)
    f = _mp(expr)
    points = np.array(far + [-p for p in far])
    for t, g in zip(points.tolist(), k(points).tolist(), strict=True):
        truth = _settled_truth(f, t)
        assert abs(g - truth) <= 1e-12 * abs(truth), (t, g, truth)
    points32 = np.array(far32 + [-p for p in far32], dtype=np.float32)
    for t, g in zip(points32.tolist(), k(points32).tolist(), strict=True):
        truth = _settled_truth(f, t)
        assert abs(g - truth) <= 1e-5 * abs(truth), (t, g, truth)


def test_a_far_branch_starts_where_its_polynomials_in_one_over_x_stop_cancelling():
    """((x - 1)² + 1)⁻⁶ in powers of 1/x is 1 - 12/x + 72/x² - ... - 384/x¹¹ + 64/x¹²,
    which cancels 10⁴-fold at x = 1.24: the far branch, taken from |x| = 1 on, made
    exp(-(|x|/(1 + (1 - x)²))²)'' 2.3e-12 off there (float32 1e-3)."""
    expr = _derivative("exp(-(abs(x)/(1 + (1 - x)**2))**2)", 2)
    k = kernel(expr)
    assert any(b.radius > 1 for b in k.branches if isinstance(b, FarBranch)), k.to_text()
    points = np.linspace(1.01, 2.99, 67)
    f = _mp(expr)
    truths = [_settled_truth(f, t) for t in points.tolist()]
    got = k(points)
    for t, g, truth in zip(points.tolist(), got.tolist(), truths, strict=True):
        assert abs(g - truth) <= 1e-12 * abs(truth), (t, g, truth)
    got32 = k(points.astype(np.float32))
    truths32 = [_settled_truth(f, float(t)) for t in points.astype(np.float32).tolist()]
    for g, truth in zip(got32.tolist(), truths32, strict=True):  # away from its zero at 2.16
        assert abs(g - truth) <= 1e-4 * abs(truth) or abs(truth) < 0.1, (g, truth)


def _right_where_the_plain_formula_is_wrong(text, k, points, truths, at_least, under="raise"):
    """``k`` within 1e-12 of ``truths`` at ``points``, and the same formula without its
    branches wrong at ``at_least`` of them (so the test can fail)."""
    with np.errstate(all="raise", under=under):
        got = k(points)
    with np.errstate(all="ignore"):
        plain_got = kernel(k.expr, stable=False)(points)
    plain_wrong = 0
    rows = zip(points.tolist(), got.tolist(), plain_got.tolist(), truths, strict=True)
    for t, g, p, truth in rows:
        assert abs(g - truth) <= max(1e-12 * abs(truth), 1e-300), (text, t, g, truth)
        plain_wrong += not abs(p - truth) <= max(1e-12 * abs(truth), 1e-300)
    assert plain_wrong >= at_least


@pytest.mark.parametrize("order", [1, 2])
def test_a_branch_starts_before_float32_overflows_on_the_way(order):
    """log(x² + exp(-x²))' in float32 was 0 for 0.217 at x = 9.2: x²·exp(x²) overflows
    float32 there, long before float64; the branch in 1/x starts before it.  Its ''
    was -inf for -0.031 at |x| = 7 ... 8, short of the branch, where x²·exp(x²)·expm1(x²)
    overflows float32 only: float32 results are checked where an intermediate may.  And
    1.3e-5 off at |x| = 6, where the plain formula's κ is 259: between 1.41 and the branch
    it is one fraction divided through by exp(2x²)."""
    expr = _derivative("log(x**2 + exp(-x**2))", order)
    k = kernel(expr)
    f = _mp(expr)
    points = [3.0, 6.0, 7.0, 7.5, 8.0, 8.5, 9.2, 12.0, 20.0, 100.0, 1e4, 1e18, -6.0, -7.5, -8.0]
    points = np.array(points, dtype=np.float32)
    with np.errstate(all="raise", under="ignore"):
        got = k(points)
    assert got.dtype == np.float32
    for t, g in zip(points.tolist(), got.tolist(), strict=True):
        truth = _settled_truth(f, t)
        assert abs(g - truth) <= 1e-5 * abs(truth), (order, t, g, truth)


#: Formulas whose terms grow like x and differ by about exp(-x): they cancel from x ≈ 20 on
#: (log(exp(x) + 1) - x, softplus(-x) as one writes it by hand, was 0 for 7e-21 at x = 46),
#: while exponentials are representable, and no power of 1/x describes the difference.
EXPONENTIAL_TAILS = [
    ("log(exp(x) + 1) - x", 0),
    ("x - log(exp(x) - 1)", 0),
    ("log(1 + exp(x)) - log(exp(x))", 0),
]
TAIL_POINTS = [1.0, 2.0, 5.0, 10.0, 20.0, 35.0, 46.0, 100.0, 300.0, 700.0, 740.0, 745.0, 800.0]


@pytest.mark.parametrize(("text", "order"), EXPONENTIAL_TAILS, ids=str)
def test_formulas_that_cancel_in_an_exponential_tail_get_a_branch_in_exp_of_minus_x(text, order):
    expr = _derivative(text, order)
    k = kernel(expr)
    (tail,) = [b for b in k.branches if isinstance(b, AsymptoticBranch)]
    x = tail.variable
    assert tail.side == 1 and tail.term == sympy.exp(-x) and tail.error <= TRUNCATION
    assert f"in exp(-{x})" in k.to_text()
    f = _mp(expr)
    points = np.array(TAIL_POINTS)
    truths = []
    for t in TAIL_POINTS:
        with mpmath.workdps(40 + int(t)):  # e^-t beside t: t/ln 10 digits cancel
            truths.append(float(f(mpmath.mpf(t))))
    _right_where_the_plain_formula_is_wrong(text, k, points, truths, at_least=5, under="ignore")
    with np.errstate(all="raise", under="ignore"):
        got32 = k(points.astype(np.float32))
    assert got32.dtype == np.float32
    for t, g32, truth in zip(TAIL_POINTS, got32.tolist(), truths, strict=True):
        if abs(truth) > 1e-36:  # float32's normal range
            assert abs(g32 - truth) <= 1e-5 * abs(truth), (text, t, g32, truth)


#: Formulas whose terms differ by a Gaussian tail exp(-x²) at large |x|: no series in 1/x
#: or exp(-|x|) describes that, and each was 0 (or off from x ≈ 3) where the truth is not.
#: And sums around |x| or max(x, 0) that cancel in an exponential tail, where the
#: series in exp(-|x|) meets x·exp(-x) (no polynomial in exp(-x)): each side sees the
#: sign of x first.
TAILS_NO_SERIES_FITS = [
    ("log(1 + exp(x**2))/x**2", 1, {1, -1}),
    ("log(1 + exp(x**2))/x**2", 2, {1, -1}),
    ("erf(x)**2 - 1", 0, {1, -1}),
    ("abs(x) - x*tanh(x)", 0, {1, -1}),
    ("abs(x) - x*tanh(x)", 1, {1, -1}),
    ("max(x, 0) - x*sigmoid(x)", 0, {1}),
    ("x/tanh(x) - abs(x)", 0, {1, -1}),
    ("x/(1 - exp(-x)) - x", 0, {1}),
    ("x*exp(x)/(exp(x) - 1) - x", 0, {1}),
]
GAUSSIAN_POINTS = [1.5, 3.0, 5.0, 8.0, 15.0, 20.0, 26.0, -3.0, -8.0, -20.0]


@pytest.mark.parametrize(("text", "order", "sides"), TAILS_NO_SERIES_FITS, ids=str)
def test_formulas_that_cancel_in_a_tail_no_series_fits_are_split_into_limits_and_tails(
    text, order, sides
):
    """log(1 + exp(x²))/x²' was 0 for 2.6e-99 at x = 15 (1.7e-6 off at x = 5), erf(x)² - 1
    0 for -7e-222 at x = 22.5, |x| - x·tanh(x) 0 for 5e-25 at x = 30 (its derivative 1.7 %
    off there), max(x, 0) - x·σ(x) 2e-12 off at x = 10, x/tanh(x) - |x| 0 for 5e-25 at
    x = 30, x/(1 - exp(-x)) - x 1.5e-12 off at x = 10: each becomes a sum of tails (or one
    fraction whose numerator's limits cancel)."""
    expr = _derivative(text, order)
    k = kernel(expr)
    tails = [b for b in k.branches if isinstance(b, TailBranch)]
    assert {b.side for b in tails} == sides and "tail branch" in k.to_text()
    assert all(b.start <= 3.0 and b.kappa <= KAPPA for b in tails)
    f = _mp(expr)
    truths = []
    for t in GAUSSIAN_POINTS:
        with mpmath.workdps(40 + int(t * t / 2)):  # exp(-x²) beside 1: x²/ln 10 digits
            truths.append(float(f(mpmath.mpf(t))))
    points = np.array(GAUSSIAN_POINTS)
    _right_where_the_plain_formula_is_wrong(text, k, points, truths, at_least=3, under="ignore")
    with np.errstate(all="raise", under="ignore"):
        got32 = k(points.astype(np.float32))
    assert got32.dtype == np.float32
    for t, g32, truth in zip(GAUSSIAN_POINTS, got32.tolist(), truths, strict=True):
        if abs(truth) > 1e-30:  # well inside float32's normal range
            assert abs(g32 - truth) <= 1e-5 * abs(truth), (text, t, g32, truth)


#: Quotients whose denominator grows like an exponential: it overflows before the value
#: underflows, and the value came out 0 (or NaN where the numerator overflows too).
GROWING_QUOTIENTS = [
    ("x*exp(x)/(1 + x*exp(x))", 2, {1}),
    ("exp(x**2)/(exp(x**2) + x)", 1, {1, -1}),
    # a rational power of the growing sum: (x²·exp(x²) + 1)^(3/2), 0 for 1e-281 at 25.5
    ("sqrt(x**2 + exp(-x**2)) - abs(x)", 2, {1, -1}),
]
QUOTIENT_POINTS = [2.0, 10.0, 26.5, 30.0, 100.0, 700.0, 1e6, -2.0, -18.5, -26.0, -1e3]


@pytest.mark.parametrize(("text", "order", "sides"), GROWING_QUOTIENTS, ids=str)
def test_quotients_of_growing_exponentials_are_divided_through_by_the_largest(text, order, sides):
    """(x·exp(x)/(1 + x·exp(x)))'' was NaN with an invalid-value warning at x = 1e6 (the
    value underflows to -0) and 0 for -1.3e-13 at x = 26.5 in float32; exp(x²)/(exp(x²) +
    x)' was 0 for 3.5e-291 at x = -26 and NaN from |x| = 1e3; (√(x² + exp(-x²)) - |x|)''
    0 for 1.4e-292 at x = -26."""
    expr = _derivative(text, order)
    k = kernel(expr)
    tails = [b for b in k.branches if isinstance(b, TailBranch)]
    assert {b.side for b in tails} == sides and all("largest exponential" in b.how for b in tails)
    f = _mp(expr)
    truths = []
    for t in QUOTIENT_POINTS:
        with mpmath.workdps(60):
            truths.append(float(f(mpmath.mpf(t))))
    points = np.array(QUOTIENT_POINTS)
    _right_where_the_plain_formula_is_wrong(text, k, points, truths, at_least=2, under="ignore")
    small = np.abs(points) < 3e38
    with np.errstate(all="raise", under="ignore"):
        got32 = k(points[small].astype(np.float32))
    assert got32.dtype == np.float32
    for t, g32, truth in zip(points[small].tolist(), got32.tolist(), truths, strict=True):
        if abs(truth) > 1e-30:  # well inside float32's normal range
            assert abs(g32 - truth) <= 1e-5 * abs(truth), (text, t, g32, truth)
        else:
            assert abs(g32) <= 1e-30, (text, t, g32, truth)


def test_a_part_no_form_holds_for_far_out_keeps_the_branches_of_its_parts():
    """(√(x² + exp(-x²)) - |x|)' is x·(1 - exp(-x²))/√(x² + exp(-x²)) - sign(x): it was -1
    for 0 at x = 1e156, where x² overflows and the quotient, -sign(x) alone, came out 0
    (its own branch beyond 2^20 was never examined once the whole had no form), and 0 for
    -1.4e-220 at x = 22.5.  The quotient keeps its branch; up to where x²·exp(-x²) is inf·0
    the conjugate form holds."""
    text = "sqrt(x**2 + exp(-x**2)) - abs(x)"
    expr = _derivative(text, 1)
    k = kernel(expr)
    tails = [b for b in k.branches if isinstance(b, TailBranch)]
    assert {b.side for b in tails} == {1, -1} and all("conjugate" in b.how for b in tails)
    assert all(math.isfinite(b.end) for b in tails)  # beyond: the parts' own branches
    f = _mp(expr)
    points = [1.5, 3.0, 5.0, 8.0, 15.0, 22.5, 26.0, 1e6, 1e156, 1e300, 1.7976931348623157e308]
    points += [-p for p in points]
    truths = []
    for t in points:
        with mpmath.workdps(40 + int(min(t * t, 1e4) / 2)):
            truths.append(float(f(mpmath.mpf(t))) if abs(t) < 100 else 0.0)  # underflows
    _right_where_the_plain_formula_is_wrong(
        text, k, np.array(points), truths, at_least=8, under="ignore"
    )
    with np.errstate(all="ignore"):
        got32 = k(np.array(points[:8] + points[11:19], dtype=np.float32))
    for g32, truth in zip(got32.tolist(), truths[:8] + truths[11:19], strict=True):
        assert abs(g32 - truth) <= max(1e-5 * abs(truth), 1e-36), (g32, truth)


@pytest.mark.parametrize(
    ("text", "order"),
    [("(x**2 + 1)**(1/3)", 1), ("(x**2 + 1)**(1/3)", 2), ("x/(x**2 + x + 1)**(1/3)", 2)],
)
def test_fractional_powers_of_polynomials_keep_their_leading_term_apart_far_out(text, order):
    """(x² + 1)^(1/3)' = 2x/(3·(x² + 1)^(2/3)) was 0 for 1.4e-67 at x = 1e200 (x² overflows
    and x/inf is 0), its ″ 0 for -1e-134 at 1e100 (a ^(5/3) overflows); no series in 1/x
    describes x^(-1/3).  Each polynomial is c·|x|^d·(1 + …) there and the powers of |x|
    combine: (2/3)·|x|^(-1/3)·(1 + x⁻²)^(-2/3).  Cube roots are np.cbrt (np.power takes 1/3
    rounded, 1.3e-14 off at 2^1023)."""
    expr = _derivative(text, order)
    k = kernel(expr)
    tails = [b for b in k.branches if isinstance(b, TailBranch)]
    assert {b.side for b in tails} == {1, -1} and all("leading" in b.how for b in tails)
    f = _mp(expr)
    points = np.array([3.0, 1e10, 1e100, 1e200, 1e300, 1.7976931348623157e308, -1e100, -1e200])
    truths = [_settled_truth(f, t) for t in points.tolist()]
    _right_where_the_plain_formula_is_wrong(text, k, points, truths, at_least=2, under="ignore")


def test_a_part_with_a_kink_where_it_cancels_gets_a_branch_on_each_side():
    """(x/tanh(x) - |x|)' is -1 + 2x/3 + ... right of 0 and 1 + 2x/3 + ... left of it: no
    one polynomial holds across 0, and 1/tanh(x) - x/sinh(x)² (two terms of 1/x) gave 0
    from |x| = 1e-20 in.  The smooth terms, 2x/3 + ..., get one branch across 0 and
    -sign(x) is added as it is; at the kink itself the value is the convention's,
    sign(0) = 0 (as for |x|' and relu' there), not NaN.  The value, continuous at 0, is 1
    there (NaN before)."""
    expr = _derivative("x/tanh(x) - abs(x)", 1)
    k = kernel(expr)
    near = [b for b in k.branches if isinstance(b, SeriesBranch) and b.point == 0]
    assert near and all(b.low < 0 < b.high for b in near)
    f = _mp(expr)
    points = np.array([p * s for p in NEAR_POINTS[1:] for s in (1, -1)])
    truths = [_settled_truth(f, t) for t in points.tolist()]
    _right_where_the_plain_formula_is_wrong("x/tanh(x) - abs(x)'", k, points, truths, at_least=6)
    assert k(0.0) == 0.0  # the smooth terms' limit 0 and sign(0) = 0 (was NaN)
    value = kernel(parse("x/tanh(x) - abs(x)"))
    assert value(np.array([0.0, 1e-300, -1e-300])).tolist() == [1.0, 1.0, 1.0]


#: Formulas that cancel at 0 with κ above KAPPA out to |x| = 1 (or whose reach there takes
#: in a zero of the function): the branch ends where κ <= KAPPA_WIDE; and a formula with a
#: subnormal factor next to 0 (x² in log1p(x²)/x²), and a log of a sum that rounds to 1.
NEAR_ZERO = [
    ("exp(asinh(x)/x)", 2),
    ("atan(x)/x", 1),
    ("atan(x)/x", 2),
    ("tanh(x)/x", 2),
    ("erf(x)/x", 2),
    ("log1p(x**2)/x", 1),
    ("log(x**2 + exp(-x**2))", 0),
]
NEAR_POINTS = [5e-324, 1e-300, 1e-160, 1e-40, 1e-8, 1e-3, 0.03, 0.2, 0.7, 1.0, 3.0]


@pytest.mark.parametrize(("text", "order"), NEAR_ZERO, ids=str)
def test_formulas_that_cancel_at_zero_with_kappa_up_keep_the_float64_promise(text, order):
    expr = _derivative(text, order)
    k = kernel(expr)
    near = [b for b in k.branches if isinstance(b, SeriesBranch) and b.point == 0]
    assert near, k.to_text()
    f = _mp(expr)
    points = np.array(NEAR_POINTS + [-p for p in NEAR_POINTS])
    with np.errstate(all="raise"):
        got = k(points)
    for t, g in zip(points.tolist(), got.tolist(), strict=True):
        truth = _settled_truth(f, t)
        assert abs(g - truth) <= max(1e-12 * abs(truth), 1e-300), (text, t, g, truth)


def test_a_branch_whose_kappa_stays_up_says_so():
    """exp(asinh(x)/x)'' has κ = 85 at x = 1 (a sum crossing zero): its branch ends where
    κ <= KAPPA_WIDE, and says how large κ is beside it."""
    _, branches = series_branches(_derivative("exp(asinh(x)/x)", 2))
    (branch,) = branches
    assert KAPPA < branch.kappa <= KAPPA_WIDE
    assert f"κ <= {branch.kappa:.3g}" in branch.to_text()


@pytest.mark.parametrize(
    "text", ["sin(cosh(x))", "exp((x - 1)*exp(-x))", "cos(exp(x))*x", "sin(1/x)*x**2"]
)
def test_formulas_mpmath_cannot_reach_far_out_still_get_a_kernel(text):
    """The far and tiny checks never ask mpmath for sin of cosh(2^40) (π to 10^11 digits)
    or exp of exp(2^1000) (a number of 2^1000 bits): these built forever or raised
    MemoryError.  The kernels are checked at moderate points against mpmath."""
    for order in (0, 1, 2):
        expr = _derivative(text, order)
        k = kernel(expr)
        f = _mp(expr)
        for t in (-1.5, 0.3, 2.0):
            truth = _settled_truth(f, t)
            assert float(k(t)) == pytest.approx(truth, rel=1e-12, abs=1e-300), (text, order, t)


@pytest.mark.parametrize(
    ("text", "order", "point"),
    [("sign(x - 1)**2", 0, 1.0), ("exp(-abs(1 - x))", 2, 1.0), ("x*sign(x - 2)**2", 0, 2.0)],
)
def test_a_branch_leaves_the_point_to_the_formula_where_its_value_there_is_another(
    text, order, point
):
    """sign(x - 1)² is 1 on both sides of 1 and 0 at 1; its branch took 1 for the point too,
    and exp(-|1 - x|)'' = exp(-|x - 1|)·sign(x - 1)² was 1 at x = 1 where the derivative
    symcalc shows (and PyTorch's autograd, by the kink convention) is 0."""
    expr = _derivative(text, order)
    x = sorted(expr.free_symbols, key=str)[0]
    k = kernel(expr)
    near = np.array([point, point - 1e-9, point + 1e-9, point + 0.1, point - 0.1])
    truth = [float(expr.subs(x, sympy.Float(t, 30))) for t in near.tolist()]
    np.testing.assert_allclose(k(near), truth, rtol=1e-12, atol=0)
