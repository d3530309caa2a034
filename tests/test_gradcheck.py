"""Gradient checks: they pass on correct derivatives, fail on wrong ones, and say where."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import sympy

from symcalc.errors import SymcalcError
from symcalc.numeric.gradcheck import GradientCheck, StepStudy, gradcheck, study_steps
from symcalc.symbolic.catalog import CATALOG, get


def _analytic(name: str) -> bool:
    return not get(name).bind().has(sympy.Abs, sympy.Max, sympy.Min, sympy.Piecewise, sympy.sign)


SMOOTH = sorted(n for n in CATALOG if _analytic(n))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_symbolic_derivatives_pass_central_differences(name):
    check = gradcheck(name)
    assert isinstance(check, GradientCheck)
    assert check.passed, check.to_text()
    entry = get(name)
    continuous = [
        v.name for v in entry.variables if not isinstance(entry.domain_of(v), sympy.FiniteSet)
    ]
    assert list(check.wrt) == continuous  # every partial derivative of a loss
    assert check.analytic.shape == (25, len(continuous))


@pytest.mark.parametrize("method", ["richardson", "complex"])
@pytest.mark.parametrize("name", SMOOTH)
def test_richardson_and_complex_step_reach_1e_10(name, method):
    check = gradcheck(name, method=method)
    assert check.max_rel_error <= 1e-10, check.to_text()


def test_richardson_handles_functions_with_kinks_away_from_them():
    check = gradcheck("huber", method="richardson", at={"p": [-3.0, -0.5, 0.4, 2.5], "y": 0.0})
    assert check.passed and check.max_rel_error <= 1e-10


def test_kinks_are_reported_not_counted():
    check = gradcheck("relu", at=[-1.0, 0.0, 2.0])
    assert check.passed
    assert check.kink_points == (((0.0,), "x"),)
    hinge = gradcheck("hinge", at={"p": [0.5, 1.0, 2.0], "y": 1.0})
    assert ((1.0, 1.0), "p") in hinge.kink_points and hinge.passed


# -- it catches wrong gradients ------------------------------------------------------------


def _linear_regression(rng, m=40, d=3):
    X = rng.normal(size=(m, d))
    y = X @ np.array([1.5, -2.0, 0.5]) + 0.1 * rng.normal(size=m)

    def J(theta):
        return np.mean((X @ theta - y) ** 2)

    return X, y, J


def test_textbook_linear_regression_gradient_is_caught(rng):
    """X.T @ (X @ theta - y) / m is half the gradient of the MSE it claims to minimize."""
    X, y, J = _linear_regression(rng)
    m = len(y)
    theta = rng.normal(size=3)
    textbook = gradcheck(J, at=theta, derivative=lambda th: X.T @ (X @ th - y) / m)
    assert not textbook.passed
    assert textbook.max_rel_error == pytest.approx(0.5, rel=1e-6)  # exactly a factor 2 off
    right = gradcheck(
        J, at=theta, derivative=lambda th: 2 * X.T @ (X @ th - y) / m, method="complex"
    )
    assert right.passed and right.max_rel_error <= 1e-12
    # independent truth: SciPy's finite-difference gradient agrees with the right one
    np.testing.assert_allclose(
        scipy.optimize.approx_fprime(theta, J, 1e-7), right.analytic[0], rtol=1e-5
    )
    assert right.wrt == ("theta[0]", "theta[1]", "theta[2]")


def test_wrong_sigmoid_derivative_is_caught():
    check = gradcheck("sigmoid", derivative="sigmoid(x)*(1 + sigmoid(x))")
    assert not check.passed and check.max_rel_error > 0.3
    assert gradcheck("sigmoid", derivative="sigmoid(x)*(1 - sigmoid(x))").passed


@pytest.mark.parametrize("method", ["central", "richardson", "complex"])
def test_a_sign_flip_is_caught(method):
    check = gradcheck("tanh", derivative="tanh(x)**2 - 1", method=method)
    assert not check.passed
    assert check.max_rel_error == pytest.approx(2.0, rel=1e-6)


def test_a_wrong_partial_of_a_loss_is_caught():
    assert not gradcheck("bce_with_logits", wrt="z", derivative="y - sigmoid(z)").passed
    assert gradcheck("bce_with_logits", wrt="z", derivative="sigmoid(z) - y").passed
    assert not gradcheck("mse", wrt="y", derivative=lambda p, y: 2 * (p - y)).passed


def test_a_sympy_derivative_with_plain_symbols_is_read_as_the_real_variables():
    x, y, p = sympy.symbols("x y p")  # plain SymPy symbols, not symcalc's real ones
    assert gradcheck("tanh", derivative=1 - sympy.tanh(x) ** 2, at=[0.3, -1.2]).passed
    assert not gradcheck("tanh", derivative=sympy.tanh(x) ** 2 - 1, at=[0.3, -1.2]).passed
    assert gradcheck("mse", wrt="y", derivative=2 * (y - p)).passed


def test_worst_point_is_where_the_error_is_largest():
    check = gradcheck("x**3", derivative="3*x**2 + x**4/100", at=[0.5, 1.0, 4.0, -2.0])
    assert check.worst_point == (4.0,)
    expected = (4.0**4 / 100) / (3 * 16 + 4.0**4 / 100)
    assert check.max_rel_error == pytest.approx(expected, rel=1e-6)


# -- the step-size study (the V-shaped curve) ---------------------------------------------------


def test_step_study_is_v_shaped_at_the_worst_point():
    check = gradcheck("tanh", at=[0.3, 1.2])
    study = check.study_steps()
    assert isinstance(study, StepStudy)
    assert study.point == check.worst_point and study.variable == "x"
    central = study.errors["central"]
    best = int(np.argmin(central))
    assert central[best] < 1e-9
    assert central[0] > 100 * central[best] and central[-1] > 100 * central[best]  # both arms rise
    assert 1e-7 < study.steps[best] < 1e-3  # near ε^(1/3)
    assert study.best_steps()["complex"][1] < 1e-15


def test_step_study_of_a_failed_check_uses_an_independent_reference():
    check = gradcheck("sigmoid", derivative="sigmoid(x)*(1 + sigmoid(x))", at=[0.5])
    study = study_steps(check)
    s = 1 / (1 + np.exp(-0.5))
    assert study.exact == pytest.approx(s * (1 - s), rel=1e-12)


def test_step_study_draws_with_the_plotting_module(tmp_path):
    from symcalc.present import plotting

    figure = plotting.plot_step_errors(gradcheck("tanh", at=[0.7]).study_steps())
    assert figure.axes and figure.axes[0].get_xscale() == "log"


# -- bad input -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: gradcheck("tanh", method="secant"), "unknown method 'secant'"),
        (lambda: gradcheck("relu", method="complex"), "complex step needs an analytic function"),
        (lambda: gradcheck("tanh", at=[0.0, float("nan")]), "NaN or infinity"),
        (lambda: gradcheck("tanh", at=[]), "empty"),
        (lambda: gradcheck("bce", at=[1.5]), r"p = 1.5 is outside the domain"),
        (lambda: gradcheck("tanh", tolerance=2.0), "`tolerance` must be"),
        (lambda: gradcheck("tanh", samples=0), "`samples` must be"),
        (lambda: gradcheck("mse", at={"q": [1.0]}), "'q', which is not a variable"),
        (lambda: gradcheck("tanh", derivative="cosh(t)"), "uses 't', which is not a variable"),
        (lambda: gradcheck(lambda th: th @ th, at=[1.0, 2.0]), "give the claimed gradient"),
        (
            lambda: gradcheck(lambda th: th @ th, at=[1.0, 2.0], derivative=lambda th: th[:1]),
            "1 components for a point with 2",
        ),
        (lambda: gradcheck(42), "expected a catalog name"),
        (lambda: gradcheck("sigmod"), "did you mean 'sigmoid'"),
    ],
)
def test_bad_input_gets_a_clear_error(call, message):
    with pytest.raises(SymcalcError, match=message):
        call()


def test_results_render_as_text_and_json():
    check = gradcheck("relu", at=[-1.0, 0.0, 2.0])
    text = check.to_text()
    assert "PASSED" in text and "near kinks, not counted: x = 0 (d/dx)" in text
    data = check.to_dict()
    assert data["passed"] is True and data["kinks"] == [{"point": {"x": 0.0}, "variable": "x"}]
    assert "passed" in repr(check)
