"""What the symbolic layer remembers to save the suite's CPU gives the answers it gave before.

`symcalc.symbolic.kinks.value_at` is remembered (a bounded LRU): a derivative's value at a
kink is asked for twice by `derive` and again under each convention.  Truth: the value
each convention defines (relu′(0) = 0, ½ or 1), and exact arithmetic at the point.
"""

from __future__ import annotations

import sympy

from symcalc import derive
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.kinks import value_at

x = symbol("x")


def test_a_point_and_its_float_are_different_questions():
    """2 and 2.0 are equal and hash alike in Python: the cache must not give one the
    other's answer (an exact 3 for 2.0, or a Float for 2)."""
    value_at.cache_clear()
    f = sympy.Piecewise((x**2, x < 1), (2 * x - 1, True))
    exact, rounded = value_at(f, x, 2), value_at(f, x, 2.0)
    assert exact == 3 and isinstance(exact, sympy.Integer)
    assert rounded == sympy.Float(3) and isinstance(rounded, sympy.Float)
    assert value_at(f, x, 2) is exact  # remembered
    assert isinstance(value_at(f, x, 2.0), sympy.Float)


def test_each_convention_keeps_its_own_value_at_the_kink_asked_in_any_order():
    expected = {"zero": 0, "half": sympy.S.Half, "one": 1}
    for order in (["zero", "half", "one"], ["one", "half", "zero"]):
        for convention in order:
            d = derive("relu", convention=convention, steps=False)
            assert d.kinks == (0,)
            assert d.kink_values == (expected[convention],), convention


def test_a_remembered_value_is_the_value_computed_afresh():
    f = sympy.Abs(x**2 - 2) * sympy.sign(x - 1) + sympy.Max(x, 2 - x)
    points = [sympy.sqrt(2), -sympy.sqrt(2), 1, sympy.Rational(3, 2)]
    value_at.cache_clear()
    fresh = [value_at(f, x, p) for p in points]
    again = [value_at(f, x, p) for p in points]
    assert again == fresh
    # exact truth: each value by direct substitution (none of these points is undecided)
    assert fresh == [sympy.nsimplify(f.subs(x, p)) for p in points]
