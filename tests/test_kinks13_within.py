"""kinks_within: every kink of a formula in an interval, the one list numeric callers use.

Truth: n·pi exactly for the periodic sets, and the sign changes of x·sin x - 1 found by
mpmath at 50 digits on a grid twenty times finer than symcalc's."""

from __future__ import annotations

import mpmath
import pytest
import sympy

from symcalc.errors import SymcalcError
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.kinks import kinks_within

x = symbol("x")
p, y = symbol("p"), symbol("y")


def _sign_change_roots(f, low, high, steps):
    with mpmath.workdps(50):
        grid = [mpmath.mpf(low) + (high - low) * mpmath.mpf(k) / steps for k in range(steps + 1)]
        values = [f(t) for t in grid]
        return [
            mpmath.findroot(f, (a, b), solver="anderson")
            for a, b, fa, fb in zip(grid, grid[1:], values, values[1:], strict=False)
            if fa * fb < 0
        ]


def test_every_period_of_abs_sin_is_listed_in_the_interval():
    # old callers (kink_candidates) saw 0 and pi only
    found = kinks_within(sympy.Abs(sympy.sin(x)), x, -20.0, 20.0)
    truth = [float(k * mpmath.pi) for k in range(-6, 7)]
    assert found.complete
    assert found.points == pytest.approx(truth, abs=1e-15)


def test_zeros_sympy_cannot_solve_are_searched_on_the_interval_asked_for():
    # search_unsolved_kinks looks on [-10, 10] only; 12.6455..., 15.6439..., 18.9024...
    found = kinks_within(sympy.Abs(x * sympy.sin(x) - 1), x, 10.0, 30.0)
    truth = _sign_change_roots(lambda t: t * mpmath.sin(t) - 1, 10, 30, 40000)
    assert len(truth) == 6
    assert found.complete
    assert found.points == pytest.approx([float(r) for r in truth], rel=1e-14)


def test_max_of_sin_and_cos_lists_every_crossing():
    found = kinks_within(sympy.Max(sympy.sin(x), sympy.cos(x)), x, 0.0, 100.0)
    truth = [float(mpmath.pi / 4 + k * mpmath.pi) for k in range(32)]
    assert found.points == pytest.approx(truth, rel=1e-15)


def test_more_points_than_the_limit_say_the_list_is_incomplete():
    found = kinks_within(sympy.Abs(sympy.sin(x)), x, 0.0, 1000.0, limit=100)
    assert not found.complete
    assert 0.0 in found.points  # the solutions SymPy lists are still there


def test_kinks_that_move_with_another_symbol_are_left_to_kink_candidates():
    found = kinks_within(sympy.Max(0, 1 - y * p), p, -5.0, 5.0)
    assert found.points == ()


def test_an_infinite_interval_is_refused():
    with pytest.raises(SymcalcError, match="finite interval"):
        kinks_within(sympy.Abs(x), x, -mpmath.inf, 1.0)


def test_the_whole_float_range_is_listed_without_overflow():
    top = 1.7976931348623157e308
    found = kinks_within(sympy.Abs(sympy.sin(x)), x, -top, top)
    assert not found.complete and 0.0 in found.points
