"""Numeric callers see every kink in their interval (kinks_within), not one period of a
periodic kink set and none of the zeros SymPy cannot solve.  Truth: mpmath.quad split at
the true kinks, at 30 digits; exact kink positions."""

from __future__ import annotations

import math

import matplotlib
import mpmath
import pytest

import symcalc
from symcalc.numeric.quadrature import integrate_numeric

matplotlib.use("Agg")


def _quad(f, low, high, kinks):
    with mpmath.workdps(30):
        return float(mpmath.quad(f, [low, *[k for k in kinks if low < k < high], high]))


@pytest.mark.parametrize(
    ("text", "low", "high", "f", "kinks"),
    [
        # old: 636.4375583538173 (rel error 9.8e-8); truth 636.4376209237093
        ("abs(sin(x))", 0, 1000, lambda t: abs(mpmath.sin(t)), [k * mpmath.pi for k in range(320)]),
        # old: 6.362322382009807 (rel error 9.9e-8); truth 6.362323014531371
        (
            "abs(sin(50*x))",
            0,
            10,
            lambda t: abs(mpmath.sin(50 * t)),
            [k * mpmath.pi / 50 for k in range(160)],
        ),
        # old: 1704204.885814136 (rel error 1.0e-9)
        (
            "x**2*abs(sin(x))",
            0,
            200,
            lambda t: t**2 * abs(mpmath.sin(t)),
            [k * mpmath.pi for k in range(64)],
        ),
    ],
)
def test_quadrature_of_a_periodic_kink_set_reaches_its_accuracy(text, low, high, f, kinks):
    truth = _quad(f, low, high, kinks)
    assert integrate_numeric(text, low, high) == pytest.approx(truth, rel=1e-13)


def test_check_ftc_of_abs_sin_50x_holds():
    # old: numeric False (max error 5.3e-4): A' was taken across kinks it did not know
    check = symcalc.check_ftc("abs(sin(50*x))", a=0, x_range=(0, 10))
    assert check.numeric_held
    assert check.derivative_error < 1e-12


@pytest.mark.parametrize(
    ("text", "kink"),
    [
        ("abs(sin(x))", 3 * math.pi),
        ("abs(sin(x))", 5 * math.pi),
        # the 5th positive zero of x sin x - 1, outside [-10, 10]
        ("abs(x*sin(x) - 1)", 12.645532578789107952407985386681),
    ],
)
@pytest.mark.parametrize("offset", [-1e-7, 1e-6])
def test_gradcheck_next_to_a_far_kink_says_near_kink_and_does_not_fail(text, kink, offset):
    # old: FAILED, max rel error ~1, on the right derivative (the step straddled the kink)
    check = symcalc.gradcheck(text, at=[kink + offset])
    assert check.passed
    assert len(check.kink_points) == 1


def test_gradcheck_away_from_kinks_still_catches_a_wrong_derivative():
    # sin < 0 on (3pi, 4pi): there |sin x|' = -cos x, not cos x
    wrong = symcalc.gradcheck("abs(sin(x))", at=[3 * math.pi + 0.5], derivative="cos(x)")
    assert not wrong.passed and wrong.kink_points == ()
    # sin > 0 on (2pi, 3pi): there |sin x|' = cos x
    right = symcalc.gradcheck("abs(sin(x))", at=[3 * math.pi - 0.5], derivative="cos(x)")
    assert right.passed and right.kink_points == ()


def _kink_marks(fig):
    (marks,) = [line for line in fig.axes[0].lines if line.get_gid() == "kinks"]
    return list(marks.get_xdata())


def test_plot_marks_every_period_of_abs_sin():
    # old: marks at 0 and pi only
    fig = symcalc.plot_function("abs(sin(x))", x_range=(-10, 10))
    assert _kink_marks(fig) == pytest.approx([k * math.pi for k in range(-3, 4)], abs=1e-15)


def test_plot_marks_the_zeros_of_x_sin_x_minus_1_beyond_ten():
    # old: no kink marks at all
    f = lambda t: t * mpmath.sin(t) - 1  # noqa: E731
    with mpmath.workdps(40):
        truth = [
            float(mpmath.findroot(f, k * mpmath.pi + (-1) ** k / (k * mpmath.pi)))
            for k in range(4, 7)
        ]
    fig = symcalc.plot_function("abs(x*sin(x) - 1)", x_range=(10, 20))
    assert _kink_marks(fig) == pytest.approx(truth, rel=1e-14)


@pytest.mark.parametrize("text", ["abs(x)", "abs(sin(x))"])
def test_gradcheck_at_the_largest_float_still_runs(text):
    # the window around the point must not reach inf (kinks_within refuses it); whether
    # the check passes there is the step's business (one-sided there: gradcheck("x") passes)
    check = symcalc.gradcheck(text, at=[1.7976931348623157e308])
    if text == "abs(x)":
        assert check.kink_points == ()
    else:  # |sin x| has ~1e305 kinks within reach there: none listed, the point is not
        # counted, and a note says why (sym14)
        assert check.kink_points == (((1.7976931348623157e308,), "x"),)
        assert any("may not all be listed" in note for note in check.notes)
