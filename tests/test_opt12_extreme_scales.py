"""Features at the ends of float64's range (1e200, 1e-170): the preconditioning's moments
stay exact, fits reach the optimum of the same data at scale 1 (an independent NumPy /
SciPy referee: z = b + (sX)w is z = b + X(sw), so J* does not depend on s when λ = 0),
and where float64 cannot carry the fit the answer is a one-line error, never θ = 0
reported as converged."""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
import scipy.special

from symcalc.errors import SymcalcError
from symcalc.learn.descent import descend
from symcalc.learn.scaling import balanced_scale, column_moments, sample_moments

M, P = 60, 4


@pytest.fixture
def data():
    rng = np.random.default_rng(1)
    X = rng.normal(size=(M, P))
    y_linear = X @ np.array([1.0, -2.0, 0.5, 3.0]) + 0.7 + rng.normal(size=M)
    y_binary = (X[:, 0] - X[:, 1] + rng.normal(size=M) > 0).astype(int)
    return X, y_linear, y_binary


def least_squares_optimum(X, y):
    """min mean((b + Xw − y)²) by NumPy's lstsq on [1, X] (scale-1 data)."""
    A = np.hstack([np.ones((len(y), 1)), X])
    theta = np.linalg.lstsq(A, y, rcond=None)[0]
    return float(np.mean((A @ theta - y) ** 2))


def logistic_optimum(X, y):
    """min mean log-loss by SciPy's trust-exact at gtol 1e-13 on the exact Hessian."""
    A = np.hstack([np.ones((len(y), 1)), X])

    def f(t):
        z = A @ t
        value = np.mean(-y * scipy.special.log_expit(z) - (1 - y) * scipy.special.log_expit(-z))
        return value, A.T @ (scipy.special.expit(z) - y) / len(y)

    def h(t):
        w = scipy.special.expit(A @ t) * scipy.special.expit(-(A @ t))
        return A.T @ (A * w[:, None]) / len(y)

    result = scipy.optimize.minimize(
        f, np.zeros(A.shape[1]), jac=True, hess=h, method="trust-exact", options={"gtol": 1e-13}
    )
    return float(result.fun)


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300])
def test_column_moments_of_huge_columns_are_exact(data, scale):
    # the squared deviations overflow: the spread was inf (and the scaling fell back to 1)
    X = data[0]
    mean, spread = column_moments(X * scale)
    assert np.allclose(mean, X.mean(axis=0) * scale, rtol=1e-13, atol=0)
    assert np.allclose(spread, X.std(axis=0) * scale, rtol=1e-13, atol=0)


@pytest.mark.parametrize("scale", [1e-160, 1e-170, 1e-300])
def test_column_moments_of_tiny_columns_are_exact(data, scale):
    # the squared deviations underflow: the spread was 0 (the column looked constant)
    X = data[0]
    mean, spread = sample_moments(X * scale)
    assert np.allclose(spread, X.std(axis=0) * scale, rtol=1e-13, atol=0)
    assert np.allclose(mean, X.mean(axis=0) * scale, rtol=1e-12, atol=0)


def test_a_constant_column_keeps_spread_zero(data):
    X = data[0].copy()
    X[:, 1] = 5.0
    X[:, 2] = 0.0
    mean, spread = column_moments(X)
    assert spread[1] == 0 and spread[2] == 0 and mean[1] == 5.0


@pytest.mark.parametrize("scale", [1e154, 1e200, 1e300])
def test_linear_fit_on_huge_features_reaches_the_optimum(data, scale):
    # before: stopped at iteration 0, J = 10.83 where J* = 0.8548
    X, y, _ = data
    result = descend("linear", (X * scale, y))
    truth = least_squares_optimum(X, y)
    assert result.converged
    assert abs(result.loss - truth) <= 1e-9 * truth
    # θ in the user's units: the weights are those of the scale-1 fit divided by s
    reference = descend("linear", (X, y))
    assert np.allclose(result.theta[1:] * scale, reference.theta[1:], rtol=1e-6)


@pytest.mark.parametrize("scale", [1e154, 1e200])
def test_logistic_fit_on_huge_features_reaches_the_optimum(data, scale):
    # before: θ = 0, J = log 2 = 0.693 where J* = 0.3532
    X, _, y = data
    result = descend("logistic", (X * scale, y))
    truth = logistic_optimum(X, y.astype(float))
    assert abs(result.loss - truth) <= 1e-9 * truth


@pytest.mark.parametrize("model", ["linear", "logistic", "softmax"])
@pytest.mark.parametrize("scale", [1e-160, 1e-170, 1e-300])
def test_tiny_unpenalized_features_are_refused(data, model, scale):
    # before: at 1e-170 "converged" with θ = 0 and J = var(y) = 10.43 (linear), where
    # J* = 0.8548 with weights near 1e170, representable
    X, y_linear, y_binary = data
    y = y_linear if model == "linear" else y_binary
    with pytest.raises(SymcalcError, match="varies by only .*power of ten"):
        descend(model, (X * scale, y))


def test_tiny_features_with_a_penalty_fit_the_intercept_alone(data):
    # λ/2‖w‖² with w near 1e160: the penalty wins, w = 0 to double precision, and J is
    # the variance of y (the intercept-only fit); before: RuntimeWarning (overflow)
    X, y, _ = data
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = descend("linear", (X * 1e-160, y), l2=1e-3)
    truth = float(np.mean((y - y.mean()) ** 2))
    assert result.converged
    assert abs(result.loss - truth) <= 1e-12 * truth


def test_balanced_scale_where_the_square_underflows():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        widened = balanced_scale(np.array([1e-160, 2.0, 0.0]), 1e-2, 0.25)
    assert widened[0] == pytest.approx(np.sqrt(1e-2 / 0.25), rel=1e-15)
    assert widened[1] == pytest.approx(2.0 * np.sqrt(1.0 + 1e-2 / (0.25 * 4.0)), rel=1e-15)
    assert widened[2] == 0.0
