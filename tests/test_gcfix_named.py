"""The false alarms the fuzz run found, one by one, and the promises around them.

Each was a right derivative that ``gradcheck`` said FAILED for: points outside f's real
domain, the numeric derivative's own error ignored, Richardson's fixed large step on a
fast-varying function or next to a pole.  Truth is mpmath at 50 digits.
"""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.errors import SymcalcError
from symcalc.numeric.gradcheck import gradcheck

X = sympy.Symbol("x", real=True)

OUTSIDE_THE_DOMAIN = [
    "log(x)",
    "sqrt(x)",
    "log(x - 1/12)",
    "sqrt(cos(x))",
    "x**x**x**x",
    "asinh(sqrt(x) + 4*x)",
    "exp(exp(exp(exp(x))))*sin(x**7 + x**5)",
]
NUMERIC_ERROR = ["erf(x - 2)", "erf(x + 1)", "tanh(erf(exp(x)))", "sin(x)**30*cos(x)**30"]
FAST_OR_POLES = [
    "2*exp(cosh(x))",
    "1/(x*cos(x))",
    "1/(-3*x/4 + atan(x))",
    "4/(49*(x - 1/2)*(exp(-4) + 1))",
    "cosh(5)/(log(x) + cos(x))",
]


def truth(text: str, xs: np.ndarray) -> np.ndarray:
    expr = sympy.sympify(text, locals={"x": X})
    f = sympy.lambdify(X, sympy.diff(expr, X), "mpmath")
    return np.array([float(f(mpmath.mpf(float(x)))) for x in xs])


@pytest.mark.parametrize("method", ["central", "richardson", "complex"])
@pytest.mark.parametrize("text", OUTSIDE_THE_DOMAIN + NUMERIC_ERROR + FAST_OR_POLES)
def test_the_false_alarms_pass_and_agree_with_mpmath(text, method, mp_digits):
    mp_digits(50)
    check = gradcheck(text, method=method)
    assert check.passed, check.to_text()
    assert check.points.shape[0] == 25
    values = check.problem.value(check.points)
    assert np.all(np.isfinite(values)), "every default point is on the domain"
    exact = truth(text, check.points[:, 0])
    np.testing.assert_array_less(
        np.abs(check.numeric[:, 0] - exact), 10 * check.error_estimates[:, 0] + 1e-300
    )


@pytest.mark.parametrize("text", ["log(x)", "sqrt(x)", "log(x - 1/12)", "sqrt(cos(x))"])
def test_default_points_lie_on_the_real_domain(text):
    x = gradcheck(text).points[:, 0]
    inside = {
        "log(x)": x > 0,
        "sqrt(x)": x > 0,
        "log(x - 1/12)": x > 1 / 12,
        "sqrt(cos(x))": np.cos(x) > 0,
    }[text]
    assert inside.all() and len(set(x)) == 25


def test_an_overflowing_f_is_not_sampled():
    check = gradcheck("exp(exp(exp(exp(x))))*sin(x**7 + x**5)")
    assert np.all(check.points[:, 0] < 1.2)  # exp(exp(exp(exp(1.2)))) overflows


def test_given_points_outside_the_domain_are_reported_not_counted():
    check = gradcheck("log(x)", at=[-1.0, 0.0, 2.0, 3.0])
    assert check.passed and check.points[:, 0].tolist() == [2.0, 3.0]
    assert check.excluded_points == (
        ((-1.0,), "log(x) is not real and finite"),
        ((0.0,), "log(x) is not real and finite"),
    )
    text = check.to_text()
    assert "not counted: x = -1 (log(x) is not real and finite)" in text
    data = check.to_dict()
    assert data["excluded"][0] == {"point": {"x": -1.0}, "reason": "log(x) is not real and finite"}
    assert "NaN" not in json.dumps(data) and "Infinity" not in json.dumps(data)


def test_a_claim_that_is_not_finite_is_reported():
    check = gradcheck("x**3", derivative=lambda x: 3 * x**3 / x, at=[0.0, 1.0])
    assert check.excluded_points == (((0.0,), "the claimed derivative is not finite"),)
    assert check.passed and check.points.tolist() == [[1.0]]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gradcheck("log(x)", at=[-1.0]), r"no point left to check: log\(x\) is not real"),
        (lambda: gradcheck("log(x)", at=[-1.0, -2.0]), "and at the 1 other points"),
        (lambda: gradcheck("bce", at=[1.5]), r"p = 1.5 is outside the domain"),
        # real nowhere (-x² ≤ 0): refused by its derivative before any point is drawn
        (lambda: gradcheck("log(-x**2)"), r"log\(-x\*\*2\) is not real for any real x"),
        (
            lambda: gradcheck(lambda t: np.log(t[0]), at=[-1.0], derivative=lambda t: 1 / t),
            "no point left to check",
        ),
    ],
)
def test_no_point_left_is_a_one_line_error(call, message):
    with pytest.raises(SymcalcError, match=message) as error:
        call()
    assert "\n" not in str(error.value)


def test_unresolved_points_do_not_hide_a_wrong_claim():
    """erf(x - 2) at x = -3.1: f' = 6e-12 next to f = -1; central differences cannot
    resolve it to 1e-6, so the point is unresolved; a claim twice too large is still
    caught there, by Richardson, which resolves it."""
    right = "2*exp(-(x - 2)**2)/sqrt(pi)"
    check = gradcheck("erf(x - 2)", at=[-3.11], derivative=right)
    assert check.passed and check.unresolved_points == (((-3.11,), "x"),)
    assert check.max_rel_error == 0  # nothing resolved: nothing counted
    assert "unresolved" in check.to_text() and check.to_dict()["unresolved"]
    assert "no point was resolved to the tolerance" in check.to_text()
    wrong = "4*exp(-(x - 2)**2)/sqrt(pi)"
    assert not gradcheck("erf(x - 2)", at=[-3.11], derivative=wrong, method="richardson").passed
    assert not gradcheck("erf(x - 2)", derivative=wrong).passed  # other points resolve it


def test_flat_values_do_not_excuse_a_wrong_slope():
    """relu is exactly 0 for x < 0: the numeric derivative is 0 with a tiny error, so a
    claimed slope of 1 there fails (a flat run of values is no licence)."""
    assert not gradcheck("relu", derivative="1", at=[-1.0, -2.0]).passed
    assert gradcheck("relu", at=[-1.0, -2.0]).passed


def test_richardson_picks_small_steps_where_f_varies_fast(mp_digits):
    mp_digits(50)
    x = [-4.528131157003555]  # the old fixed step 0.05·|x| was off by 180 %
    check = gradcheck("2*exp(cosh(x))", at=x, method="richardson")
    assert check.passed and check.max_rel_error < 1e-10
    assert abs(check.numeric[0, 0] / truth("2*exp(cosh(x))", np.array(x))[0] - 1) < 1e-10


def test_a_pole_between_large_steps_does_not_fool_richardson(mp_digits):
    """Past a pole, large-step quotients can agree with each other by accident: the
    tableau's result is cross-checked with small-step central differences."""
    mp_digits(50)
    x = [0.39802771439128026]  # 3e-4 from a zero of log(x) + cos(x)
    check = gradcheck("cosh(5)/(log(x) + cos(x))", at=x, method="richardson")
    assert check.passed
    exact = truth("cosh(5)/(log(x) + cos(x))", np.array(x))[0]
    assert abs(check.numeric[0, 0] - exact) <= check.error_estimates[0, 0]


# -- the command line ---------------------------------------------------------------------


def test_cli_log_passes_on_its_domain(cli):
    r = cli("gradcheck", "log(x)")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "PASSED" in r.stdout


def test_cli_a_point_outside_the_domain_is_one_line_and_exit_2(cli):
    r = cli("gradcheck", "log(x)", "--at=-1")
    assert r.returncode == 2
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "no point left to check" in lines[0]
    assert "Traceback" not in r.stderr


def test_cli_some_points_outside_are_listed_in_json(cli):
    r = cli("gradcheck", "log(x)", "--at=-1,2", "--format", "json")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["points"] == 1 and data["passed"] is True
    assert data["excluded"] == [{"point": {"x": -1.0}, "reason": "log(x) is not real and finite"}]
    assert data["unresolved"] == [] and data["max_error_estimate"] < 1e-6


def test_cli_a_wrong_derivative_still_exits_1(cli):
    r = cli("gradcheck", "sigmoid", "--derivative", "sigmoid(x)*(1+sigmoid(x))")
    assert r.returncode == 1 and "FAILED" in r.stdout


def test_a_tiny_or_distant_domain_is_found():
    """No uniform draw lands in |x| < 1e-3 or x > 3000: the real domain SymPy finds, and
    a log-scale draw, supply the points."""
    tiny = gradcheck("sqrt(1/10**6 - x**2)").points[:, 0]
    assert tiny.shape == (25,) and np.all(np.abs(tiny) < 1e-3)
    distant = gradcheck("sqrt(x - 3000)").points[:, 0]
    assert distant.shape == (25,) and np.all(distant > 3000)
