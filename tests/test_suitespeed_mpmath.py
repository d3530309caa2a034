"""The cheaper paths the kernel compiler's mpmath judge takes give mpmath's values.

`symcalc.numeric.rewrites.MPMATH_JUDGE_FUNCTIONS` (the kernel compiler's judge)
evaluates exp, cosh and sinh of a huge integer above 600 bits without mpmath's repeated
squaring of e, and
`symcalc.numeric.cancellation._lambdify` compiles a formula in a Dummy without rebuilding
it.  Both must leave every value as it was: checked here against mpmath at twice the
digits, and against ``sympy.lambdify`` itself."""

from __future__ import annotations

import inspect

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.numeric.cancellation import _lambdify, _root_printer
from symcalc.numeric.rewrites import MPMATH_JUDGE_FUNCTIONS, NUMPY_MODULES

HUGE = [
    sign * m * 2**k for k in (63, 64, 100, 1000, 1023) for m in (1, 2**52 - 1) for sign in (1, -1)
]


@pytest.mark.parametrize("name", ["exp", "cosh", "sinh"])
@pytest.mark.parametrize("digits", [190, 1600])
def test_exp_cosh_sinh_of_a_huge_integer_are_mpmaths_to_the_last_bit(name, digits):
    """Within one unit of the working precision's last bit of mpmath at digits + 40,
    the integers 2^63 ... 2^1023 where mpmath itself squares e repeatedly (its exp of
    2^1000 at 1,600 digits took 28 ms)."""
    ours, theirs = MPMATH_JUDGE_FUNCTIONS[name], getattr(mpmath, name)
    for u in HUGE:
        with mpmath.workdps(digits):
            got = ours(mpmath.mpf(u))
            unit = mpmath.mpf(2) ** -mpmath.mp.prec
            with mpmath.workdps(digits + 40):
                truth = theirs(mpmath.mpf(u))
                assert abs(got - truth) <= unit * abs(truth), (name, u, digits)


@pytest.mark.parametrize("name", ["exp", "cosh", "sinh", "sigmoid", "softplus"])
def test_below_600_bits_and_off_the_integers_the_values_are_mpmaths_exactly(name):
    """Where mpmath's own exp is quick (600 bits or fewer, or a non-integer argument, or
    a small one) it is called as it is: the same bits."""
    ours = MPMATH_JUDGE_FUNCTIONS[name]
    plain = {
        "exp": mpmath.exp,
        "cosh": mpmath.cosh,
        "sinh": mpmath.sinh,
        "sigmoid": lambda u: 1 / (1 + mpmath.exp(-u)),
        "softplus": lambda u: (
            mpmath.log1p(mpmath.exp(u)) if u < 0 else u + mpmath.log1p(mpmath.exp(-u))
        ),
    }[name]
    for digits in (30, 120, 180):
        with mpmath.workdps(digits):
            for u in (*HUGE[:8], 0.5, -3, 2**62, 1e300):
                assert ours(mpmath.mpf(u)) == plain(mpmath.mpf(u)), (name, u, digits)
    with mpmath.workdps(1600):
        for u in (0.5, -3, 2**62, 2.0**100 + 0.5, mpmath.mpf(2) ** -1000):
            assert ours(mpmath.mpf(u)) == plain(mpmath.mpf(u)), (name, u)


def test_a_formula_in_a_dummy_compiles_to_the_same_function_without_a_rebuild():
    """`_lambdify` in a Dummy t gives the values ``sympy.lambdify`` gives, in NumPy and
    in mpmath, with t under its printed name as the argument (lambdify itself renames a
    Dummy argument by rebuilding the whole formula)."""
    t = sympy.Dummy("t", positive=True)
    expr = sympy.sqrt(1 + (sympy.tanh(1 / t) - sympy.cosh(1 / t)) ** 2) + sympy.log(1 + t**2)
    points = [0.01, 0.3, 2.0, 7.5]
    for modules, number in (
        (NUMPY_MODULES, np.float64),
        ([MPMATH_JUDGE_FUNCTIONS, "mpmath"], None),
    ):
        ours, theirs = _lambdify(t, expr, modules=modules), sympy.lambdify([t], expr, modules)
        assert list(inspect.signature(ours).parameters) == [_root_printer().doprint(t)]
        for p in points:
            with mpmath.workdps(40):
                value = mpmath.mpf(p) if number is None else number(p)
                assert ours(value) == theirs(value), (modules, p)


def test_a_dummy_whose_printed_name_is_taken_falls_back_to_lambdify():
    """A formula that already holds a symbol named as the Dummy prints is compiled the
    way lambdify does it (a fresh name), so the two never mix."""
    t = sympy.Dummy("t")
    clash = sympy.Symbol(_root_printer().doprint(t))
    f = _lambdify(t, t + 2 * clash, modules=NUMPY_MODULES)
    assert list(inspect.signature(f).parameters) != [clash.name]
    assert f(1) == 1 + 2 * clash  # the argument is t alone; the other symbol stays free
