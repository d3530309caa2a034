"""A function real at no real point has no real antiderivative and no FTC check: both
say so in one line (as `derive` does), instead of "no closed form" or "f is not finite
at a = 0".  Truth: sqrt(-x² - 4) = i·sqrt(x² + 4) and log(-x² - 1) have an empty real
domain; x**x and sqrt(x² - 4) do not."""

from __future__ import annotations

import pytest

from symcalc import SymcalcError, antiderivative, check_ftc
from symcalc.cli import main

NOWHERE_REAL = ["sqrt(-x**2 - 4)", "log(-x**2 - 1)", "asin(x**2 + 2)"]


@pytest.mark.parametrize("text", NOWHERE_REAL)
def test_antiderivative_refuses_a_function_real_nowhere(text):
    with pytest.raises(SymcalcError, match=r"is not real for any real x, so it has no real"):
        antiderivative(text, timeout=2)


@pytest.mark.parametrize("text", NOWHERE_REAL[:2])
def test_check_ftc_refuses_a_function_real_nowhere(text):
    with pytest.raises(SymcalcError, match=r"is not real for any real x; symcalc works"):
        check_ftc(text, timeout=2)


def test_the_command_line_says_it_in_one_line_with_exit_2(capsys):
    assert main(["integrate", "--", "sqrt(-x**2 - 4)"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "not real for any real x" in err
    assert main(["ftc", "--", "sqrt(-x**2 - 4)"]) == 2


def test_functions_real_somewhere_are_not_refused():
    assert antiderivative("x**x", timeout=2).antiderivative is None  # no elementary F
    found = antiderivative("sqrt(x**2 - 4)", timeout=5)  # real for |x| >= 2
    assert found.antiderivative is not None


# -- the "combined" method: products SymPy's integrate leaves unevaluated ------------------


@pytest.mark.parametrize(
    ("text", "truth"),
    [
        # exp(6x)·exp(−2x²) = exp(9/2)·exp(−2(x − 3/2)²): √(π/8)·e^(9/2)·erf(√2(x − 3/2))
        ("exp(6*x)*exp(-2*x**2)", "sqrt(pi/8)*exp(9/2)*erf(sqrt(2)*(x - 3/2))"),
        # sin(x²)·cos(x²) = sin(2x²)/2: ∫ = √π/4·S(2x/√π) (S the Fresnel sine integral)
        ("sin(x**2)*cos(x**2)", "sqrt(pi)/4*fresnels(2*x/sqrt(pi))"),
    ],
)
def test_products_are_integrated_after_combining(text, truth):
    import sympy

    found = antiderivative(text, timeout=10)
    assert found.method == "combined"
    assert [s.rule for s in found.step_list()][0] == "rewrite"
    x = found.variable
    want_F = sympy.sympify(truth, locals={"x": x})

    def at(F, point):
        return F.subs(x, sympy.Rational(point)).evalf(40)

    # the same function up to a constant: equal differences at 30 digits
    for a, b in [("-13/10", "2/5"), ("1/5", "5/2"), ("-3", "3")]:
        got = at(found.antiderivative, b) - at(found.antiderivative, a)
        want = at(want_F, b) - at(want_F, a)
        assert abs(got - want) <= sympy.Float(10, 40) ** -30 * max(1, abs(want))
