"""A function real at no real point is refused when its derivative comes out complex.

sqrt(-x**2 - 4) is i*sqrt(x**2 + 4) for every real x: symcalc printed its derivative as
I*x/sqrt(x**2 + 4), which is no real function and which its own parser (and `show`) then
refused.  SymPy's diff agrees that this is the complex derivative; symcalc's promise is
real functions of real variables, so the honest answer is a one-line refusal.
"""

from __future__ import annotations

import pytest
import sympy

from symcalc.errors import SymcalcError
from symcalc.symbolic.derivatives import derivative, derive
from symcalc.symbolic.functions import symbol

x = symbol("x")


@pytest.mark.parametrize("text", ["sqrt(-x**2 - 4)", "sqrt(-1 - exp(x))"])
def test_a_nowhere_real_function_is_refused_in_one_line(text):
    f = sympy.sympify(text, locals={"x": x})
    assert all(sympy.im(f.subs(x, t)) != 0 for t in (-3, -1, 0, 2, 5))  # not real there
    for call in (derivative, derive):
        with pytest.raises(SymcalcError, match="is not real for any real x") as caught:
            call(text)
        assert "\n" not in str(caught.value)


def test_the_command_line_refuses_it_with_exit_2(cli):
    result = cli("derive", "sqrt(-x**2 - 4)", "--format", "json")
    assert result.returncode == 2 and result.stdout == ""
    assert "is not real for any real x" in result.stderr and result.stderr.count("\n") == 1


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("sqrt(1 - x**2)", -x / sympy.sqrt(1 - x**2)),  # real on [-1, 1]: answered
        ("log(x**2 + 1)", 2 * x / (x**2 + 1)),
    ],
)
def test_a_function_real_somewhere_is_answered(text, expected):
    assert sympy.simplify(derivative(text) - expected) == 0
