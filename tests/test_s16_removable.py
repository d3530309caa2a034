"""The FTC check across a removable point of f: sin(x)/x from a = 0 is Si(x).

f undefined at a point where it has one finite limit (sin(x)/x, (eˣ − 1)/x, (1 − cos x)/x²
at 0) was cut there like a pole, and ``a = 0`` was refused ("f is not finite at a = 0"),
although the kernel computes the limit there and ∫₀ˣ sin(t)/t dt = Si(x) is the textbook
case.  The truth: mpmath's Si and quadrature at 30 digits.
"""

from __future__ import annotations

import json
import math

import mpmath
import numpy as np
import pytest

from symcalc import check_ftc
from symcalc.cli import main
from symcalc.errors import SymcalcError


def _quad(f, a: float, points: np.ndarray) -> np.ndarray:
    with mpmath.workdps(30):
        return np.array([float(mpmath.quad(f, [a, float(p)])) for p in points])


@pytest.mark.parametrize(
    ("text", "f", "limit"),
    [
        ("sin(x)/x", lambda t: mpmath.sin(t) / t, 1.0),
        ("(exp(x) - 1)/x", lambda t: mpmath.expm1(t) / t, 1.0),  # F = Ei(x) − log|x|
        ("(1 - cos(x))/x**2", lambda t: (1 - mpmath.cos(t)) / t**2, 0.5),
    ],
)
def test_a_removable_point_is_not_a_cut_and_a_may_sit_on_it(text, f, limit):
    check = check_ftc(text, 0.0, x_range=(-5, 5))
    assert check.held, check.to_text()
    assert check.singular == () and check.removable == ((0.0, limit),)
    assert check.pieces == ((-5.0, 5.0, 0.0),)
    assert check.antiderivative.found
    picked = np.array([0, 17, 60, 100, 141, 198])
    truth = _quad(f, 0.0, check.x[picked])
    np.testing.assert_allclose(check.accumulation[picked], truth, rtol=1e-12, atol=1e-15)
    assert "its limit there" in check.to_text()


def test_sin_x_over_x_accumulates_to_si_by_default():
    check = check_ftc("sin(x)/x")
    assert check.a == 0.0 and check.held and check.singular == ()
    with mpmath.workdps(30):
        si = np.array([float(mpmath.si(float(v))) for v in check.x])
    np.testing.assert_allclose(check.accumulation, si, rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize(
    ("text", "x_range"),
    [
        ("abs(x + 1)/(x + 1)", (-3, 3)),  # a jump: the two sides differ
        ("tanh(1/atan(x))", (-5, 5)),  # its kernel gives 1 at 0, the left side -1
        ("exp(-1/x)", (-1, 3)),  # finite at 0 and from the right; inf from the left
        ("1/x", (-3, 3)),  # a pole
    ],
)
def test_jumps_poles_and_one_sided_limits_are_still_cuts(text, x_range):
    check = check_ftc(text, x_range=x_range)
    assert check.held, check.to_text()
    assert len(check.singular) == 1 and check.removable == ()
    assert len(check.pieces) == 2


def test_where_f_is_removable_but_F_jumps_each_side_starts_from_the_limit():
    """1/sqrt(1 + 9/(16x²)) → 0 at 0 from both sides, but SymPy's F is ±sqrt(16x² + 9)/4:
    the range is cut at 0, and from a = 0 each piece starts at F's limit from its side."""
    text = "1/sqrt(1 + 9/(16*x**2))"
    check = check_ftc(text, 0.0)
    assert check.held, check.to_text()
    assert check.singular == (0.0,) and check.removable == ((0.0, 0.0),)
    truth = _quad(lambda t: 1 / mpmath.sqrt(1 + 9 / (16 * t**2)), 0.0, check.x[[0, -1]])
    np.testing.assert_allclose(check.accumulation[[0, -1]], truth, rtol=1e-12)


def test_a_at_a_true_singular_point_is_still_refused():
    with pytest.raises(SymcalcError, match="f is not finite at a = 0"):
        check_ftc("exp(-1/x)", 0.0, x_range=(-1, 3))


def test_the_cli_reports_the_removable_point(capsys):
    assert main(["ftc", "sin(x)/x", "--a", "0", "--format", "json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["held"] is True and data["singular_points"] == []
    assert data["removable_points"] == [{"x": 0.0, "limit": 1.0}]
    assert math.isclose(data["a"], 0.0)


def test_an_accumulation_the_quadrature_cannot_resolve_is_no_failure_of_the_theorem():
    """sin(x)/x over [-1e6, 1e6]: panels of 10⁴ hold about 1,600 oscillations each, the
    quadrature reports that it did not converge (A(1e6) was off by 4e-3 against Si), and the
    check said "numeric: FAILED" for a true theorem.  Now it says why it cannot check."""
    with pytest.raises(SymcalcError, match="did not reach 1e-10 accuracy .*oscillates"):
        check_ftc("sin(x)/x", 0.0, x_range=(-1e6, 1e6))
    with mpmath.workdps(30):  # on a shorter range it holds, against Si
        check = check_ftc("sin(x)/x", 0.0, x_range=(-50, 50))
        si = np.array([float(mpmath.si(float(v))) for v in check.x])
    assert check.held
    np.testing.assert_allclose(check.accumulation, si, rtol=1e-11, atol=1e-13)


def test_riemann_says_an_unresolved_integral_oscillates_rather_than_blows_up():
    from symcalc import riemann_sum

    with pytest.raises(SymcalcError, match=r"changes sign at least [\d,]+ times"):
        riemann_sum("sin(x)/x", -1e6, 1e6, 10)
    with pytest.raises(SymcalcError, match=r"f is singular there\?"):
        riemann_sum("1/x", 0, 1, 4)
