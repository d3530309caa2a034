"""No NumPy warning escapes the numeric API on extreme ranges (warnings are errors in
this suite): a result beyond the float range, or a range wider than the largest float,
is refused in one line; a check at 1e300 is not failed for want of a step."""

from __future__ import annotations

import matplotlib
import mpmath
import pytest

import symcalc
from symcalc.numeric.quadrature import integrate_numeric

matplotlib.use("Agg")
BIG = 1.7976931348623157e308


@pytest.mark.parametrize(
    ("call", "message"),
    [
        # old: RuntimeWarning overflow in matmul (the true ∫ is 0, its halves ±5e615)
        (lambda: integrate_numeric("x", -1e308, 1e308), "beyond the float range"),
        # e^710 = 2.2e308: old RuntimeWarning overflow in multiply
        (lambda: integrate_numeric("exp(x)", -745, 710), "beyond the float range"),
        (lambda: symcalc.accumulate("x", -BIG, [BIG]), "beyond the float range"),
        (lambda: symcalc.accumulate("exp(x)", -745, [710]), "beyond the float range"),
        # old: RuntimeWarning overflow in subtract (np.linspace over the float line)
        (lambda: symcalc.check_ftc("x", x_range=(-1e308, 1e308)), "wider than the largest"),
        (lambda: symcalc.riemann_sum("tanh", -BIG, BIG, 16), "wider than the largest"),
        (lambda: symcalc.riemann_sum("x", 0, BIG, 16), "beyond the float range"),
        # old: OverflowError, a traceback (cannot convert float infinity to integer)
        (lambda: symcalc.plot_function("x", x_range=(0, BIG)), "plots reach"),
    ],
)
def test_extreme_ranges_are_refused_in_one_line(call, message):
    with pytest.raises(symcalc.SymcalcError, match=message) as caught:
        call()
    assert "\n" not in str(caught.value)


def test_an_ftc_check_at_1e300_holds():
    # old: RuntimeWarning invalid value in divide (a step of 1e-2 is below one ulp of
    # 1e300: x ± h was x, 0/0), and the check said FAILED
    check = symcalc.check_ftc("sigmoid", x_range=(1e300, 1e301), points=11)
    assert check.numeric_held and check.points > 0
    with mpmath.workdps(30):  # ∫ sigmoid from a to 1e301 is 1e301 - a to 30 digits
        assert check.accumulation[-1] == pytest.approx(float(1e301 - check.a), rel=1e-12)


def test_a_riemann_sum_reaching_the_largest_float_is_right():
    # ∫ exp(-x) over [0, max]: 1; the midpoints are taken by halves (a + b overflowed)
    found = symcalc.riemann_sum("exp(-x)", 0, BIG, 16, rule="midpoint")
    assert found.exact == pytest.approx(1.0, rel=1e-12)


def test_a_plot_of_a_wide_range_draws():
    fig = symcalc.plot_function("tanh", x_range=(-1e307, 1e307))
    assert fig.axes
