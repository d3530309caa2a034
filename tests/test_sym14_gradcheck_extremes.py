"""gradcheck never says FAILED for a right derivative at extreme points: a step that
would leave the float range is taken on the other side, a slope of sin x at 1e12 is
not taken from steps of 1e4, and kinks too many to list make a point 'near a kink'.
Truth: mpmath at 40 digits; wrong claims must still fail."""

from __future__ import annotations

import warnings

import mpmath
import pytest

import symcalc
from symcalc import CATALOG

BIG = 1.7976931348623157e308


@pytest.mark.parametrize("at", [BIG, -BIG])
def test_the_largest_float_is_checked_from_inside(at):
    # old: FAILED, rel error inf (x ± h overflows)
    check = symcalc.gradcheck("x", at=[at])
    assert check.passed and check.excluded_points == () and check.kink_points == ()
    assert check.numeric[0, 0] == pytest.approx(1.0, rel=1e-9)
    assert not symcalc.gradcheck("x", derivative="2", at=[at]).passed


def test_exp_next_to_overflow():
    # old: FAILED, rel error inf (|f(x + h)| + |f(x - h)| overflowed in the noise)
    check = symcalc.gradcheck("exp(x)", at=[709.7])
    with mpmath.workdps(40):
        truth = float(mpmath.exp(mpmath.mpf(709.7)))
    assert check.passed
    assert check.numeric[0, 0] == pytest.approx(truth, rel=1e-8)
    assert not symcalc.gradcheck("exp(x)", derivative="exp(x)/2", at=[709.7]).passed


def test_sin_at_1e12_is_not_failed_and_a_wrong_claim_still_is():
    # old: FAILED, numeric 7e-9 (steps of 2e4 .. 5e7 agree on it) for cos(1e12) = 0.7914
    check = symcalc.gradcheck("sin(x)", at=[1e12])
    with mpmath.workdps(40):
        truth = float(mpmath.cos(mpmath.mpf(1e12)))
    assert check.passed
    assert check.numeric[0, 0] == pytest.approx(truth, rel=1e-2)
    assert not symcalc.gradcheck("sin(x)", derivative="-cos(x)", at=[1e12]).passed


def test_kinks_too_many_to_list_make_a_point_near_a_kink_with_a_note():
    # old: FAILED, rel error 0.99999 (3e8 kinks within the pad: none listed)
    check = symcalc.gradcheck("abs(sin(x))", at=[1e12])
    assert check.passed
    assert check.kink_points == (((1e12,), "x"),)
    assert any("may not all be listed" in note for note in check.notes)
    assert check.to_dict()["notes"] == list(check.notes)
    assert "note: the kinks in" in check.to_text()


EXTREMES = [BIG, -BIG, 5e-324, -5e-324, 1e-300, 0.0, 1e12, -1e154]


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_no_false_failure_at_extreme_points_over_the_catalog(name):
    # old: 69 FAILED over this grid and a few expressions (identity at ±max: inf; gelu,
    # silu, mish at -max; the losses at ±max in either argument)
    dims = len(CATALOG[name].variables)
    for at in EXTREMES:
        point = [at] * dims if dims > 1 else [at]
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            try:
                check = symcalc.gradcheck(name, at=[point])
            except symcalc.SymcalcError:
                continue  # no point left to check (outside the domain): refused in one line
        assert check.passed, (at, check.max_rel_error, check.worst_variable)
