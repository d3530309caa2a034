"""Where the kink list of an interval may be incomplete, the numeric callers say so, and
their answers are right or refused in one line.  Truth: the closed form of ∫|sin x| at
40 digits (mpmath), mpmath roots of x·sin x = 1."""

from __future__ import annotations

import matplotlib
import mpmath
import pytest
import sympy

import symcalc
from symcalc.numeric.quadrature import integrate_numeric
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.kinks import kinks_within

matplotlib.use("Agg")
x = symbol("x")


def _abs_sin_integral(b):
    with mpmath.workdps(40):
        b = mpmath.mpf(b)
        n = mpmath.floor(b / mpmath.pi)
        return float(2 * n + (1 - mpmath.cos(b - n * mpmath.pi)))


@pytest.mark.parametrize("b", [3.2e4, 1e5, 1e6])
def test_abs_sin_over_more_than_ten_thousand_periods(b):
    # old: [0, 1e5] refused "did not reach 1e-10 accuracy (f is singular there?)": the
    # 31,831 kinks were past the 10,000 listed, and adaptive quadrature cannot resolve them
    truth = _abs_sin_integral(b)
    # the integrand at x near b is placed to eps·b: the answer is conditioned to ~b·eps
    assert integrate_numeric("abs(sin(x))", 0, b) == pytest.approx(truth, rel=2e-11)


def test_the_kinks_of_a_periodic_set_are_listed_past_ten_thousand():
    found = kinks_within(sympy.Abs(sympy.sin(x)), x, 0.0, 1e5)
    assert found.complete and found.reasons == ()
    assert len(found.points) == 31831
    assert found.points[-1] == pytest.approx(31830 * float(mpmath.pi), rel=1e-15)


def test_an_interval_with_too_many_kinks_is_refused_saying_why():
    found = kinks_within(sympy.Abs(sympy.sin(x)), x, 0.0, 1e7)
    assert not found.complete and "more than 1,000,000" in found.note(0.0, 1e7)
    # old: "f is singular there?", which it is not
    with pytest.raises(symcalc.SymcalcError, match="may not all be listed") as caught:
        integrate_numeric("abs(sin(x))", 0, 1e7)
    assert "singular" not in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(symcalc.SymcalcError, match="may not all be listed"):
        symcalc.check_ftc("abs(sin(x))", x_range=(0, 1e7), points=101)


def test_a_coarse_search_for_unsolved_kinks_is_reported_by_the_ftc_check():
    # x·sin x = 1 has 319 roots in [0, 1000]; the search there is coarser than 0.005
    check = symcalc.check_ftc("abs(x*sin(x) - 1)", x_range=(0, 1000), points=101)
    assert check.numeric_held
    assert len(check.notes) == 1 and "searched on a grid of step" in check.notes[0]
    assert "note: the kinks in [0, 1000] may not all be listed" in check.to_text()
    assert check.to_dict()["notes"] == list(check.notes)
    assert symcalc.check_ftc("relu").notes == ()


def test_the_ftc_check_of_many_kinks_is_quick_and_right():
    # old: an all-pairs table of grid points × kinks (31,831² floats over [0, 1e5])
    check = symcalc.check_ftc("abs(sin(x))", x_range=(0, 1e5), points=101)
    assert check.numeric_held and check.notes == ()
    assert check.accumulation[-1] == pytest.approx(_abs_sin_integral(1e5), rel=2e-11)


def test_a_plot_says_when_its_kinks_are_not_all_marked():
    fig = symcalc.plot_function("abs(sin(x))", x_range=(0, 1e7))
    assert "may not all be listed" in fig.get_supxlabel()
    fig = symcalc.plot_function("abs(sin(x))", x_range=(0, 1e4))
    assert "3184 kinks and jumps in range: not marked one by one" in fig.get_supxlabel()
    assert symcalc.plot_function("abs(sin(x))", x_range=(0, 20)).get_supxlabel() == ""
