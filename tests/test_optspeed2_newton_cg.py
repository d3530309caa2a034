"""Newton-CG (SciPy's, driven by the derived Hessian-vector product): the optimum checked
against an independent NumPy objective, the Hessian-vector products counted against
trust-ncg, and SciPy's absolute curvature test kept out of the way by the units."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.special

from symcalc.learn import models, optimizers
from symcalc.learn.data import load_data
from symcalc.learn.descent import descend

L2 = 1e-4


@pytest.fixture(scope="module")
def digits():
    data = load_data("builtin:digits")
    X = data.X.astype(float)
    scale = X.std(axis=0)
    X = (X - X.mean(axis=0)) / np.where(scale > 0, scale, 1.0)
    codes = np.unique(data.y, return_inverse=True)[1]
    return X, codes


def numpy_objective(X, codes, theta):
    """J and ∇J of L2-penalized softmax regression, written from the definition (NumPy)."""
    m, p = X.shape
    K = int(codes.max()) + 1
    Theta = theta.reshape(K, p + 1)
    Z = X @ Theta[:, 1:].T + Theta[:, 0]
    Y = np.eye(K)[codes]
    J = np.mean(scipy.special.logsumexp(Z, axis=1) - Z[np.arange(m), codes])
    J += 0.5 * L2 * np.sum(Theta[:, 1:] ** 2)
    R = (scipy.special.softmax(Z, axis=1) - Y) / m
    G = np.column_stack([R.sum(axis=0), R.T @ X])
    G[:, 1:] += L2 * Theta[:, 1:]
    return J, G.ravel()


def counted(monkeypatch):
    """Count the objective's Hessian-vector products."""
    calls = {"hessian_vector": 0}
    original = models.AffineObjective.hessian_vector

    def hessian_vector(self, theta, v):
        calls["hessian_vector"] += 1
        return original(self, theta, v)

    monkeypatch.setattr(models.AffineObjective, "hessian_vector", hessian_vector)
    return calls


def test_newton_cg_reaches_the_optimum_with_fewer_products_than_trust_ncg(digits, monkeypatch):
    X, codes = digits
    calls = counted(monkeypatch)
    trust = descend("softmax", (X, codes), l2=L2, optimizer="trust-ncg")
    trust_products = calls["hessian_vector"]
    calls["hessian_vector"] = 0
    result = descend("softmax", (X, codes), l2=L2, optimizer="newton-cg")
    products = calls["hessian_vector"]
    assert result.converged and result.stop_reason == "gradient_norm"
    # Stationary for the independent objective (convex: the optimum), J the same number.
    J, gradient = numpy_objective(X, codes, result.theta)
    start = np.linalg.norm(numpy_objective(X, codes, 0 * result.theta)[1])
    assert np.linalg.norm(gradient) <= 1e-8 * start
    assert result.loss == pytest.approx(J, rel=1e-12)
    assert result.loss == pytest.approx(trust.loss, rel=1e-10)
    # The inner solves stop at the looser L1 forcing term, and no trust region cuts them
    # short: 180 products where trust-ncg takes 314-320 (SciPy 1.17).
    assert products <= 0.7 * trust_products, (products, trust_products)
    assert result.iterations <= 15


def test_auto_picks_newton_cg_when_the_hessian_is_costly_and_says_why(digits):
    X, codes = digits
    result = descend("softmax", (X, codes), l2=L2)
    assert result.optimizer_chosen == "newton-cg"
    assert "gradient passes" in result.reason and "Newton-CG (SciPy)" in result.reason


def test_the_units_keep_scipys_absolute_curvature_test_away(digits, monkeypatch):
    """In θ's own units SciPy ends a solve once pᵀ∇²J p ≤ 3ε (‖∇J‖ near 1e-7 here) and
    stops short of the tolerance; trust-ncg then finishes.  In units of 2³² it does not."""
    X, codes = digits
    scaled = descend("softmax", (X, codes), l2=L2, optimizer="newton-cg")
    assert "trust-ncg took the last steps" not in scaled.message
    monkeypatch.setattr(optimizers.NewtonCG, "unit", 1.0)
    plain = descend("softmax", (X, codes), l2=L2, optimizer="newton-cg")
    assert "Newton-CG (SciPy) stopped" in plain.message
    assert "trust-ncg took the last steps" in plain.message
    assert plain.converged and plain.loss == pytest.approx(scaled.loss, rel=1e-10)


@pytest.mark.parametrize("unit", [1.0, 2.0**32])
def test_the_units_change_nothing_scipy_reports_on_a_small_problem(unit, monkeypatch):
    monkeypatch.setattr(optimizers.NewtonCG, "unit", unit)
    newton = descend("logistic", "builtin:breast_cancer", l2=1e-3, optimizer="newton")
    result = descend("logistic", "builtin:breast_cancer", l2=1e-3, optimizer="newton-cg")
    assert result.converged
    assert result.loss == pytest.approx(newton.loss, rel=1e-12)
    # θ to the accuracy the tolerance gives on an ill-conditioned ∇²J (κ ≈ 10⁴)
    np.testing.assert_allclose(result.theta, newton.theta, rtol=1e-3, atol=1e-6)
