"""Runs whose Newton decrement was left unsettled, and SGD's divergence hint.

Truth: the ridge optimum of 6 samples × 10 features with λ = 1e-12 by mpmath at 60
digits (the normal equations), J of the returned θ evaluated at 60 digits; for SGD, full
gradient descent's safe step 1/L from the eigenvalues of X̃ᵀX̃.
"""

from __future__ import annotations

import re

import mpmath
import numpy as np
import pytest

from symcalc.learn.data import load_data
from symcalc.learn.descent import descend


def wide_problem():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 10)) * np.linspace(1, 5, 10) + np.linspace(0, 3, 10)
    y = X @ rng.normal(size=10)
    return X, y


def exact_objective(X, y, l2):
    """(J at 60 digits as a function of float θ, J*)."""
    m, p = X.shape
    with mpmath.workdps(60):
        A = mpmath.matrix([[1] + [mpmath.mpf(float(v)) for v in row] for row in X])
        Y = mpmath.matrix([mpmath.mpf(float(v)) for v in y])
        H = (A.T * A) * (mpmath.mpf(2) / m) + mpmath.diag([0] + [mpmath.mpf(l2)] * p)
        star = mpmath.lu_solve(H, (A.T * Y) * (mpmath.mpf(2) / m))

    def J(theta):
        with mpmath.workdps(60):
            t = (
                theta
                if isinstance(theta, mpmath.matrix)
                else mpmath.matrix([mpmath.mpf(float(v)) for v in theta])
            )
            r = A * t - Y
            data = sum(r[i] ** 2 for i in range(m)) / m
            return data + mpmath.mpf(l2) / 2 * sum(t[j] ** 2 for j in range(1, p + 1))

    return J, J(star)


@pytest.mark.parametrize("optimizer", ["newton", "auto", "lbfgs", "newton-cg"])
def test_a_run_at_its_minimum_is_called_converged(optimizer):
    # before: stop `loss_change`, not converged, "J is still 4.3e-10 (relative) above its
    # minimum" (Newton) from the decrement of the iterate before the last, where J was
    # 1e-18 (relative) above J* at 60 digits
    X, y = wide_problem()
    J, best = exact_objective(X, y, 1e-12)
    result = descend("linear", (X, y), l2=1e-12, optimizer=optimizer, max_iter=5000)
    assert result.converged
    assert result.stop_reason == "gradient_norm"
    assert J(result.theta) - best <= 1e-10 * best


@pytest.mark.parametrize("optimizer", ["gd", "line-search"])
def test_a_first_order_run_that_cannot_settle_says_why_and_what_would(optimizer):
    # before: "... did not settle it (J at the precision of the data?)", where J was 1.8×
    # J* (far above its rounding): gradient descent crawls where ∇²J is nearly flat
    X, y = wide_problem()
    J, best = exact_objective(X, y, 1e-12)
    result = descend("linear", (X, y), l2=1e-12, optimizer=optimizer, max_iter=5000)
    assert not result.converged
    assert J(result.theta) - best > 1e-3 * best  # genuinely not at the minimum
    assert "precision of the data" not in result.message
    assert "nearly flat" in result.message and "optimizer='newton'" in result.message


@pytest.mark.parametrize("rate", [3.0, 30.0])
def test_sgd_suggests_a_learning_rate_that_does_not_diverge(rate):
    # before: "e.g. `learning_rate=0.3`" after 3.0, and SGD at 0.3 diverges too
    data = load_data("builtin:diabetes", standardize=True)
    settings = dict(optimizer="sgd", epochs=20, batch_size=64)
    failed = descend("linear", data, learning_rate=rate, **settings)
    assert failed.stop_reason == "diverged"
    suggested = float(re.search(r"learning_rate=([0-9.eE+-]+)`", failed.message).group(1))
    assert suggested < rate / 10
    X = np.hstack([np.ones((data.n_samples, 1)), data.X])
    bound = 2 * np.linalg.eigvalsh(X.T @ X / data.n_samples)[-1]  # L of mean squared error
    assert suggested <= 1.5 / bound  # 1/L of a block, near the full batch's
    retry = descend("linear", data, learning_rate=suggested, **settings)
    assert retry.stop_reason != "diverged"
    assert retry.loss < 1e-3 * failed.loss
