"""Kinks SymPy cannot solve for (x·sin x = 1): found numerically and certified, or the
list said to be incomplete; never silently missing."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest
import sympy

import symcalc
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.kinks import _certified_zeros, search_unsolved_kinks

x = symbol("x")


#: Where the NumPy scan of `_sign_change_roots` gives |f| below this (or no finite
#: value), mpmath decides the sign: float64 rounding is some 1e-15 of these functions.
SCAN_TRUST = 1e-6


def _sign_change_roots(f, low=-10, high=10, steps=20000, *, scan=None):
    """Every sign change of f on [low, high] at 50 digits (a finer grid than symcalc's),
    each refined by mpmath.findroot on its bracket: the independent truth.

    ``scan``, the same function written with NumPy, gives the signs on the grid in one
    pass; each value it puts within `SCAN_TRUST` of zero, or NaN, is f's at 50
    digits instead (20,001 mpmath evaluations cost about 0.3 s of CPU)."""

    def at(k: int) -> mpmath.mpf:
        return mpmath.mpf(low) + (high - low) * mpmath.mpf(k) / steps

    with mpmath.workdps(50):
        if scan is None:
            values = [f(at(k)) for k in range(steps + 1)]
        else:
            with np.errstate(all="ignore"):
                scanned = scan(np.linspace(low, high, steps + 1)).tolist()
            values = [v if abs(v) > SCAN_TRUST else f(at(k)) for k, v in enumerate(scanned)]
        roots = []
        for k in range(steps):
            if values[k] * values[k + 1] < 0:
                try:
                    roots.append(mpmath.findroot(f, (at(k), at(k + 1)), solver="anderson"))
                except ValueError:
                    continue  # a pole, not a root (tan at pi/2)
        return roots


def test_abs_x_sin_x_minus_1_lists_its_kinks_and_says_the_list_is_incomplete():
    # old code: kinks [] and nothing said; the kinks are the roots of x sin x = 1
    d = symcalc.derive("abs(x*sin(x) - 1)")
    truth = _sign_change_roots(lambda t: t * mpmath.sin(t) - 1, scan=lambda t: t * np.sin(t) - 1)
    assert len(truth) == 8  # ±1.114, ±2.773, ±6.439, ±9.317
    got = [float(p) for p in d.kink_search.points]
    assert len(got) == len(truth)
    for value, root in zip(got, truth, strict=True):
        assert abs(value - float(root)) <= 1e-14 * abs(float(root))
    assert d.kinks_complete is False
    text = d.to_text()
    assert "x ≈ 1.11415714087193" in text
    assert "may be incomplete" in text and "x*sin(x) - 1 = 0" in text


def test_derive_json_reports_numeric_kinks_and_completeness(cli):
    done = cli("derive", "--format", "json", "--", "abs(x - cos(x))")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["kinks"] == []  # the exact list stays exact
    assert out["kinks_complete"] is False
    assert "x - cos(x) = 0" in out["kinks_note"]
    (kink,) = out["kinks_numeric"]
    with mpmath.workdps(50):
        dottie = mpmath.findroot(lambda t: t - mpmath.cos(t), 0.7)
    assert abs(float(sympy.Float(kink)) - float(dottie)) <= 1e-15


@pytest.mark.parametrize("f", ["relu", "hinge", "huber", "abs(sin(x))", "abs(exp(x) - 2)"])
def test_solved_kinks_are_complete(f):
    d = symcalc.derive(f)
    assert d.kinks_complete is True
    assert d.to_dict()["kinks_complete"] is True
    assert d.to_dict()["kinks_note"] is None
    assert "incomplete" not in d.to_text()


def test_a_pole_is_no_kink():
    # x - tan x changes sign at each pole of tan (odd multiples of pi/2): no zero there;
    # at 0 it has a triple zero but |x - tan x| is smooth there (derivative -tan²x·sign)
    d = symcalc.derive("abs(x - tan(x))")
    truth = [
        r
        for r in _sign_change_roots(lambda t: t - mpmath.tan(t), scan=lambda t: t - np.tan(t))
        if abs(r) > 0.1
    ]
    got = [float(p) for p in d.kink_search.points]
    assert len(got) == len(truth) == 4  # ±4.4934, ±7.7253
    for value, root in zip(got, truth, strict=True):
        assert abs(value - float(root)) <= 1e-14 * abs(float(root))


def test_a_sign_change_across_a_pole_is_not_certified():
    # 1/(x - cos x) changes sign at the Dottie number, where it has a pole, not a zero;
    # x - cos x itself changes sign there through a zero
    assert _certified_zeros(1 / (x - sympy.cos(x)), x) == ()
    assert len(_certified_zeros(x - sympy.cos(x), x)) == 1
    assert search_unsolved_kinks(sympy.Max(0, 1 / (x - sympy.cos(x))), x).complete


def test_exp_minus_square_kink_found_where_lambert_w_has_no_closed_form_list():
    # solveset cannot solve exp(x) = x² + 10; the one real root is about 2.5287
    d = symcalc.derive("Abs(exp(x) - x**2 - 10)")
    assert d.kinks_complete is False
    (root,) = _sign_change_roots(
        lambda t: mpmath.exp(t) - t**2 - 10, scan=lambda t: np.exp(t) - t**2 - 10
    )
    (got,) = d.kink_search.points
    assert abs(float(got) - float(root)) <= 1e-14 * float(root)


def _one_sided_slopes_differ(f, point) -> bool:
    with mpmath.workdps(40):
        t, h = mpmath.mpf(point), mpmath.mpf("1e-9")
        left = (f(t) - f(t - h)) / h
        right = (f(t + h) - f(t)) / h
        return abs(left - right) > 1e-6


def test_max_of_three_lists_kinks_of_the_periodic_switch_beyond_one_period():
    # max(sin x, x³ - 2x, cos 3x): for x < -1.48 the max is sin x or cos 3x, so every zero
    # of sin x - cos 3x there is a kink; the old list had -7pi/8 and pi/8 only (missing
    # -5pi/4, -11pi/8, ...) and said nothing.  One second for the tidying: its cheap forms
    # come in 0.03 s and SymPy's piecewise simplify after them had not finished after 12 s
    # (it took the whole default budget, 4.8 s); the derivation's to_dict() is the same.
    d = symcalc.derive("Max(sin(x), x**3 - 2*x, cos(3*x))", steps=False, timeout=1)

    def f(t):
        return max(mpmath.sin(t), t**3 - 2 * t, mpmath.cos(3 * t))

    exact = [k for k in d.kinks if not k.free_symbols]
    assert -5 * sympy.pi / 4 in exact and -11 * sympy.pi / 8 in exact
    for k in exact + list(d.kink_search.points):
        assert _one_sided_slopes_differ(f, float(k)), k
    # every sign change of sin x - cos 3x in [-10, -1.5] is listed
    for root in _sign_change_roots(
        lambda t: mpmath.sin(t) - mpmath.cos(3 * t),
        -10,
        -1.5,
        scan=lambda t: np.sin(t) - np.cos(3 * t),
    ):
        assert any(abs(float(k) - float(root)) < 1e-12 for k in exact), root
    assert d.kinks_complete is False
    assert "sin(x) - cos(3*x)" in d.to_dict()["kinks_note"]


@pytest.mark.parametrize(
    ("f", "sets"),
    [
        ("Abs(sin(x))", ["x = pi*n for every integer n"]),
        ("Max(sin(x), cos(x))", ["x = pi*n + pi/4 for every integer n"]),
    ],
)
def test_a_periodic_function_keeps_its_whole_kink_set(f, sets):
    d = symcalc.derive(f, steps=False)
    assert d.to_dict()["kink_sets"] == sets
    assert d.kinks_complete is True


def test_a_kink_set_is_not_claimed_for_a_function_that_does_not_repeat():
    # |sin x| + |x| is not periodic: its kinks at n pi are listed on [-10, 10] only, and the
    # list says so (each listed point is a kink)
    d = symcalc.derive("Abs(sin(x)) + Abs(x)", steps=False)
    assert d.kink_sets == ()
    assert [float(k) for k in d.kinks] == pytest.approx(
        [n * float(mpmath.pi) for n in range(-3, 4)]
    )
    assert d.kinks_complete is False


def test_no_kink_set_claimed_where_the_function_is_flat():
    # |sin x|·max(0, 5 - x) is 0 for x > 5: no kink at 2 pi, 3 pi, ...; the old list said
    # "x = pi*n for every integer n" from the kinks at 0 and pi
    d = symcalc.derive("Abs(sin(x))*Max(0, 5 - x)", steps=False)

    def f(t):
        return abs(mpmath.sin(t)) * max(0, 5 - t)

    assert d.kink_sets == ()
    listed = {float(k) for k in d.kinks}
    for n in range(-3, 4):
        point = n * float(mpmath.pi)
        assert (point in listed) == _one_sided_slopes_differ(f, point)
    assert 5.0 in listed


def test_a_switch_that_moves_with_another_symbol_is_said_not_searched():
    # x = exp(x y) has zeros that depend on y: not searched, and the note says so (it said
    # "no certified sign change was found", as if it had looked)
    d = symcalc.derive("abs(exp(x*y) - x)", wrt="x", steps=False)
    assert d.kinks_complete is False
    note = d.to_dict()["kinks_note"]
    assert "depend on y" in note and "not searched" in note
    assert "no certified sign change" not in note


def test_a_kink_value_is_never_the_sign_of_rounding_noise():
    # at x = -W(-1/3), exp(x) = 3x: the derivative of |exp(x) - 3x| there is
    # sign(0)·(3 - exp(x)) = 0; the text showed sign(-exp(-W(-1/3)) - 3 W(-1/3))·(...),
    # which SymPy evaluates to 1.1428 (the sign of 1e-160 of noise)
    d = symcalc.derive("abs(exp(x) - 3*x)", steps=False)
    assert len(d.kinks) == 2
    for value in d.kink_values:
        assert value is None or sympy.N(value, 30) == 0
    assert "sign(-exp(-LambertW" not in d.to_text()
    relu = symcalc.derive("relu", steps=False)
    assert relu.kink_values == (0,)
