"""L-BFGS whose gradient meets tol while the Newton decrement says J is still above J*
(fewer samples than features, a small ridge penalty) hands over to Newton steps instead of
crawling to a `loss_change` stop; the referee is NumPy's least squares on the augmented
system, the exact ridge optimum."""

from __future__ import annotations

import numpy as np
import pytest

from symcalc.learn.descent import descend


def wide_problem():
    rng = np.random.default_rng(7)
    X = rng.normal(size=(6, 10)) * np.linspace(1, 5, 10) + np.linspace(0, 3, 10)
    y = X @ rng.normal(size=10)
    return X, y


def ridge_optimum(X, y, l2):
    m, p = X.shape
    A = np.hstack([np.ones((m, 1)), X])
    R = np.hstack([np.zeros((p, 1)), np.sqrt(m * l2 / 2) * np.eye(p)])
    theta = np.linalg.lstsq(np.vstack([A, R]), np.r_[y, np.zeros(p)], rcond=None)[0]
    return theta, float(np.mean((A @ theta - y) ** 2) + l2 / 2 * theta[1:] @ theta[1:])


@pytest.mark.parametrize("l2", [1e-8, 1e-6])
def test_lbfgs_settles_an_unsettled_decrement_by_newton_steps(l2):
    # before: "the gradient met tol at iteration 14 ... 176 more iterations did not settle
    # it", stop loss_change, not converged, J 0.9 % above J* (λ = 1e-8)
    X, y = wide_problem()
    theta, truth = ridge_optimum(X, y, l2)
    result = descend("linear", (X, y), l2=l2, optimizer="lbfgs", max_iter=5000)
    assert result.converged and result.stop_reason == "gradient_norm"
    assert "Newton steps" in result.message
    assert abs(result.loss - truth) <= 1e-10 * truth
    # θ to what a J within 1e-10·J* allows on curvature λ: ‖Δθ‖ ≤ √(2e-10·J*/λ)
    slack = np.sqrt(2e-10 * truth / l2)
    assert np.linalg.norm(result.theta - theta) <= 2 * slack
