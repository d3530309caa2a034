"""Preconditioning from moments of a sample of the rows: the same optimum as with exact
moments (checked against SciPy on an independent NumPy objective) on adversarial columns,
and θ, J, ∇J reported in the user's units exactly."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special

from symcalc.learn.descent import descend, optimize
from symcalc.learn.models import make_model
from symcalc.learn.scaling import SAMPLE_ROWS, Scaling, column_moments, sample_moments

L2 = 1e-3
ROWS = 5 * SAMPLE_ROWS  # the sample is every 5th row


def adversarial(rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Columns a sample of every 5th row misreads, and a target that depends on them."""
    m = ROWS
    X = np.empty((m, 6))
    X[:, 0] = rng.standard_normal(m)  # plain
    X[:, 1] = 1e4 + 1e-2 * rng.standard_normal(m)  # large mean, tiny spread
    X[:, 2] = rng.standard_normal(m)
    X[rng.choice(m, 5, replace=False), 2] = 1e5  # a few huge outliers
    X[:, 3] = 7.0  # constant
    X[:, 4] = 0.0
    rare = np.arange(1, m, 5)[::7]  # rows the every-5th sample never reads
    X[rare, 4] = 3.0 + rng.standard_normal(rare.size)  # constant on the sample, not on X
    X[:, 5] = rng.standard_t(1.5, m) * 1e3  # heavy tails (infinite variance)
    z = X[:, 0] - 0.5 * (X[:, 1] - 1e4) / 1e-2 + 0.8 * (X[:, 4] > 0) + 1e-3 * X[:, 5] / 1e3
    y = (rng.random(m) < scipy.special.expit(z)).astype(float)
    return X, y


def numpy_objective(X, y, theta):
    """L2-penalized logistic regression from its definition: J, ∇J, ∇²J (NumPy)."""
    m = len(y)
    Xt = np.column_stack([np.ones(m), X])
    z = Xt @ theta
    w = theta.copy()
    w[0] = 0.0
    J = np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * L2 * w @ w
    sigma = scipy.special.expit(z)
    gradient = Xt.T @ (sigma - y) / m + L2 * w
    penalty = np.full(len(theta), L2)
    penalty[0] = 0.0
    hessian = Xt.T @ (Xt * (sigma * (1 - sigma))[:, None]) / m + np.diag(penalty)
    return J, gradient, hessian


def test_small_data_get_exact_moments_and_large_data_a_spread_sample(rng):
    small = rng.standard_normal((SAMPLE_ROWS, 3))
    np.testing.assert_array_equal(sample_moments(small)[0], column_moments(small)[0])
    X = rng.standard_normal((ROWS + 3, 3)) * [1.0, 10.0, 1e-3] + [0.0, 5.0, -2.0]
    mean, spread = sample_moments(X)
    rows = X[:: -(-len(X) // SAMPLE_ROWS)]
    assert len(rows) <= SAMPLE_ROWS
    np.testing.assert_allclose(mean, rows.mean(axis=0), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(spread, rows.std(axis=0), rtol=1e-12)


def test_a_column_constant_on_the_sample_gets_its_exact_moments(rng):
    X, _ = adversarial(rng)
    mean, spread = sample_moments(X)
    assert spread[4] == pytest.approx(X[:, 4].std(), rel=1e-12) and spread[4] > 0
    assert mean[4] == pytest.approx(X[:, 4].mean(), rel=1e-12)
    assert spread[3] == 0.0  # truly constant: kept in its own units by Scaling


@pytest.mark.parametrize("optimizer", ["auto", "lbfgs", "newton-cg", "newton"])
def test_sampled_moments_reach_the_exact_optimum_on_adversarial_columns(optimizer, rng):
    X, y = adversarial(rng)
    result = descend("logistic", (X, y), l2=L2, optimizer=optimizer)
    assert result.converged, result.message
    reference = scipy.optimize.minimize(
        lambda t: numpy_objective(X, y, t)[0],
        result.theta,
        jac=lambda t: numpy_objective(X, y, t)[1],
        hess=lambda t: numpy_objective(X, y, t)[2],
        method="trust-exact",
        options={"gtol": 1e-13},
    )
    best = min(reference.fun, numpy_objective(X, y, result.theta)[0])
    assert (result.loss - best) / abs(best) <= 1e-9
    assert result.loss == pytest.approx(numpy_objective(X, y, result.theta)[0], rel=1e-13)


def test_theta_and_gradient_are_in_the_users_units(rng):
    """Stopped early (not at the optimum, where ∇J is only rounding): the reported J and
    ∇J are those of the independent objective at the reported θ."""
    X, y = adversarial(rng)
    objective = make_model("logistic").objective((X, y), l2=L2)
    sampled = Scaling.for_features(X, objective.feature_blocks, objective.n_parameters)
    exact = Scaling(objective.n_parameters, objective.feature_blocks, *column_moments(X))
    assert not np.allclose(sampled.scale, exact.scale)  # the sample is not the whole
    result = optimize(objective, optimizer="newton", max_iter=2)
    J, gradient, _ = numpy_objective(X, y, result.theta)
    assert result.loss == pytest.approx(J, rel=1e-13)
    # to the rounding of the sums themselves: entries up to ~1e7 over 20,000 rows (a
    # gradient in the wrong units would be off by orders of magnitude)
    assert result.gradient_norm == pytest.approx(np.linalg.norm(gradient), rel=1e-7)
    assert np.abs(X).max() > 1e5
