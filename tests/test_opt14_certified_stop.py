"""The certified stop (``loss_bound``): J − J* bounded by ‖g‖²/(2f) on a ball that holds θ*.

Truth: the optimum of an independent NumPy objective (intercept and weights, the mean
loss plus (λ/2)‖w‖²) by SciPy's trust-exact at gtol 1e-13.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special

import symcalc
from symcalc.learn.descent import _scaling_for
from symcalc.learn.models import make_model
from symcalc.learn.scaling import Preconditioned


def _numpy_objective(X, y, l2, loss):
    m = len(y)
    Xt = np.column_stack([np.ones(m), X])
    D = np.full(Xt.shape[1], l2)
    D[0] = 0.0

    def parts(theta):
        z = Xt @ theta
        if loss == "logistic":
            value = np.mean(np.logaddexp(0.0, z) - y * z)
            s = scipy.special.expit(z)
            r, c = s - y, s * (1 - s)
        else:
            value = np.mean((z - y) ** 2)
            r, c = 2 * (z - y), np.full(m, 2.0)
        value += 0.5 * float(np.sum(D * theta**2))
        gradient = Xt.T @ r / m + D * theta
        hessian = Xt.T @ (Xt * c[:, None]) / m + np.diag(D)
        return value, gradient, hessian

    return parts


def _optimum(X, y, l2, loss):
    parts = _numpy_objective(X, y, l2, loss)
    found = scipy.optimize.minimize(
        lambda t: parts(t)[:2],
        np.zeros(X.shape[1] + 1),
        jac=True,
        hess=lambda t: parts(t)[2],
        method="trust-exact",
        options={"gtol": 1e-13},
    )
    return found.x, float(found.fun), parts


def _logistic_data(rows, features, seed, scale=2.0):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)) * rng.uniform(0.5, 3.0, features) + 1.0
    w = rng.standard_normal(features) / np.sqrt(features) * scale
    y = (rng.random(rows) < scipy.special.expit(0.3 + (X - 1.0) @ w)).astype(float)
    return X, y


def test_lbfgs_stops_once_j_is_certified_near_its_minimum():
    X, y = _logistic_data(20_000, 20, seed=3)
    theta_star, j_star, _ = _optimum(X, y, 1e-4, "logistic")
    result = symcalc.descend("logistic", (X, y), l2=1e-4, optimizer="lbfgs")
    assert result.stop_reason == "loss_bound"
    assert result.converged
    assert "certified" in result.message
    assert result.loss - j_star <= 1e-10 * abs(j_star) + 1e-15
    # the gradient rule alone takes more iterations to the same optimum
    tight = symcalc.descend("logistic", (X, y), l2=1e-4, optimizer="lbfgs", tol=1e-9)
    assert tight.stop_reason == "gradient_norm"
    assert result.iterations < tight.iterations


@pytest.mark.parametrize(
    ("loss", "model", "l2", "seed"),
    [
        ("logistic", "logistic", 1e-4, 0),
        ("logistic", "logistic", 1e-2, 1),
        ("logistic", "logistic", 1e-3, 2),  # strongly separated classes: tiny ℓ'' far out
        ("squared", "linear", 0.1, 4),
    ],
)
def test_the_certificate_bounds_j_and_theta_wherever_it_is_given(loss, model, l2, seed):
    """At points around θ* (steps 1e-7 to 30 in random directions) the certificate is
    either refused or holds: J(θ') − J* ≤ gap, ‖θ' − θ'*‖ ≤ distance."""
    scale = 30.0 if seed == 2 else 2.0
    X, y = _logistic_data(400, 5, seed=seed, scale=scale)
    if loss == "squared":
        y = X @ np.arange(1.0, 6.0) + np.random.default_rng(seed).standard_normal(len(y))
    theta_star, j_star, parts = _optimum(X, y, l2, loss)
    objective = make_model(model).objective((X, y), l2=l2)
    scaling = _scaling_for(objective)
    problem = Preconditioned(objective, scaling)
    star = scaling.to_working(theta_star)
    rng = np.random.default_rng(seed)
    given = 0
    for size in np.logspace(-7, 1.5, 40):
        direction = rng.standard_normal(star.shape)
        theta = star + size * direction / np.linalg.norm(direction)
        value, gradient = problem.value_and_gradient(theta)
        found = problem.certified_gap(theta, gradient, np.inf)
        if found is None:
            continue
        given += 1
        gap, distance = found
        truth = parts(scaling.to_user(theta))[0] - j_star
        assert truth <= gap * (1 + 1e-9) + 1e-15 * abs(j_star)
        assert np.linalg.norm(theta - star) <= distance * (1 + 1e-9) + 1e-12
    assert given >= 5  # the certificate is given near θ*, not refused everywhere


def test_no_certificate_without_a_penalty_or_for_softmax():
    X, y = _logistic_data(300, 4, seed=5)
    for l2 in (0.0,):
        result = symcalc.descend("logistic", (X, y), l2=l2)
        assert result.stop_reason != "loss_bound"
    labels = (X[:, 0] > 1).astype(int) + (X[:, 1] > 1).astype(int)
    result = symcalc.descend("softmax", (X, labels.astype(float)), l2=1e-3)
    assert result.stop_reason != "loss_bound"


def test_a_smaller_tol_asks_for_a_smaller_certified_gap():
    X, y = _logistic_data(20_000, 20, seed=3)
    _, j_star, _ = _optimum(X, y, 1e-4, "logistic")
    result = symcalc.descend("logistic", (X, y), l2=1e-4, optimizer="lbfgs", tol=1e-10)
    assert result.converged
    assert result.loss - j_star <= 1e-14 * abs(j_star) + 1e-15


def test_the_certificate_holds_where_the_curvature_falls_towards_the_optimum():
    """995 of 1000 labels 1, λ = 1: at θ = 0 every ℓ'' is ¼, at θ* (intercept ≈ log 199)
    about 5e-3.  The curvature at θ alone would give J − J* ≤ 0.5 where it is 0.66."""
    rng = np.random.default_rng(7)
    X = rng.standard_normal((1000, 3))
    y = np.ones(1000)
    y[:5] = 0.0
    theta_star, j_star, parts = _optimum(X, y, 1.0, "logistic")
    objective = make_model("logistic").objective((X, y), l2=1.0)
    scaling = _scaling_for(objective)
    problem = Preconditioned(objective, scaling)
    for t in np.linspace(0.0, 1.0, 11):
        theta = t * scaling.to_working(theta_star)
        _, gradient = problem.value_and_gradient(theta)
        found = problem.certified_gap(theta, gradient, np.inf)
        truth = parts(scaling.to_user(theta))[0] - j_star
        assert found is None or truth <= found[0] * (1 + 1e-9) + 1e-15
    result = symcalc.descend("logistic", (X, y), l2=1.0, optimizer="lbfgs")
    assert result.converged
    assert result.loss - j_star <= 1e-10 * j_star
