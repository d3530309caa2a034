"""A step of u - max(a, b) is written without a Piecewise inside a relation.

SymPy builds ``Piecewise((1, x**3 - 2*x - Piecewise(...) > 0), (0, True))`` by turning the
condition into an ITE and simplifying it: minutes for max(sin x, x³ - 2x, cos 3x), whose
derivative took 277 s to derive.  The truth for the values is mpmath at 30 digits.
"""

from __future__ import annotations

import mpmath
import pytest
import sympy

import symcalc
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.kinks import apply_convention

x = symbol("x")
POINTS = [-2.3, -1.1, -0.4, 0.3, 0.77, 1.6, 2.9]


def _relations_hold_no_piecewise(expr: sympy.Basic) -> bool:
    for piece in expr.atoms(sympy.Piecewise):
        for _, condition in piece.args:
            if condition.has(sympy.ITE) or any(
                r.has(sympy.Piecewise, sympy.Max, sympy.Min)
                for r in condition.atoms(sympy.core.relational.Relational)
            ):
                return False
    return True


@pytest.mark.parametrize("convention", ["zero", "half", "one"])
def test_step_of_a_difference_with_max_is_written_case_by_case(convention, monkeypatch):
    built = []  # every relation built while the step is written
    for relation in (sympy.StrictGreaterThan, sympy.GreaterThan, sympy.Equality):
        original = relation.__new__

        def spy(cls, *args, _original=original, **kwargs):
            built.append(args[:2])
            return _original(cls, *args, **kwargs)

        monkeypatch.setattr(relation, "__new__", spy)
    u = sympy.cos(3 * x) - sympy.Max(x**3 - 2 * x, sympy.sin(x))
    step = apply_convention.__wrapped__(sympy.Heaviside(u), convention)
    monkeypatch.undo()
    # the old step built u > 0 with u holding max(...) as a Piecewise (minutes for SymPy
    # with x**3 - 2*x - max(sin x, cos 3x)); now no relation holds a Piecewise or Max
    assert built
    assert not any(
        isinstance(side, sympy.Basic) and side.has(sympy.Piecewise, sympy.Max)
        for sides in built
        for side in sides
    )
    assert _relations_hold_no_piecewise(step)
    for p in POINTS:
        with mpmath.workdps(30):
            t = mpmath.mpf(p)
            w = mpmath.cos(3 * t) - max(t**3 - 2 * t, mpmath.sin(t))
        assert step.subs(x, sympy.Float(p, 30)) == (1 if w > 0 else 0)
    h0 = {"zero": 0, "half": sympy.S.Half, "one": 1}[convention]
    # a tie: cos(3x) = max(...) where cos 3x = sin x, at pi/8 (x**3 - 2x is below)
    assert step.subs(x, sympy.pi / 8) == h0


def test_derivative_of_max_of_three_is_right_and_its_steps_plain():
    f = "Max(sin(x), x**3 - 2*x, cos(3*x))"
    d = symcalc.derivative(f, simplify=False)
    assert _relations_hold_no_piecewise(d)
    g = sympy.lambdify(x, d, "mpmath")
    for p in POINTS:
        with mpmath.workdps(30):
            truth = mpmath.diff(
                lambda t: max(mpmath.sin(t), t**3 - 2 * t, mpmath.cos(3 * t)), mpmath.mpf(p)
            )
            assert abs(g(mpmath.mpf(p)) - truth) <= 1e-20 * max(1, abs(truth))
