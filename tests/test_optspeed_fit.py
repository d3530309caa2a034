"""The fast in-memory fit (issue 13's speed and memory targets) keeps its answers.

Memory is measured by tracemalloc (NumPy's buffers and Python objects alike) after a
warm-up fit, so one-time setup (kernels, symbolic derivation) is not counted.  The
answers are checked against closed forms, an explicit standardization and exact sums.
"""

from __future__ import annotations

import math
import tracemalloc

import numpy as np
import pytest

from symcalc.learn.descent import descend
from symcalc.learn.heads import SoftmaxHead
from symcalc.learn.models import make_model
from symcalc.learn.optimizers import newton_step
from symcalc.learn.scaling import column_moments


def peak_bytes(call):
    """(peak of what ``call()`` allocates while it runs, its result), after an untraced warm-up."""
    call()
    tracemalloc.start()
    try:
        result = call()
        return tracemalloc.get_traced_memory()[1], result
    finally:
        tracemalloc.stop()


def logistic_data(rng, rows: int, features: int) -> tuple[np.ndarray, np.ndarray]:
    """Features on scales 1 to 1000 around means far from 0, labels from a logistic model."""
    scales = np.logspace(0, 3, features)
    X = 50 * scales + rng.standard_normal((rows, features)) * scales
    w = rng.standard_normal(features) / scales
    z = (X - 50 * scales) @ w
    y = (rng.random(rows) < 1 / (1 + np.exp(-z))).astype(float)
    return X, y


@pytest.mark.parametrize(
    "model, l2",
    [("logistic", 1e-3), ("linear", 0.0), ("softmax", 1e-3)],
)
def test_a_fit_allocates_less_than_a_copy_of_X(model, l2, rng):
    X, y = logistic_data(rng, 20_000, 20)
    if model == "linear":
        y = X @ rng.standard_normal(20) + rng.standard_normal(len(X))
    if model == "softmax":
        score = (X[:, 0] - X[:, 0].mean()) + (X[:, 1] - X[:, 1].mean()) / X[:, 1].std()
        y = np.digitize(score, np.quantile(score, [0.3, 0.7])).astype(float)
    # 20,000 × 20: X is 3.2 MB, more than one 2 MB block of rows.
    peak, result = peak_bytes(lambda: descend(model, (X, y), l2=l2))
    assert result.converged  # Newton (softmax: trust-region Newton-CG, Hessian too costly)
    # No standardized copy, no [1, X] copy, no X-sized product: scratch is half a block.
    assert peak <= 1.2 * X.nbytes, f"{model}: peak {peak / X.nbytes:.2f}× the size of X"


def test_preconditioning_gives_the_theta_of_explicit_standardization(rng):
    X, y = logistic_data(rng, 600, 6)
    mean, scale = X.mean(axis=0), X.std(axis=0)
    standardized = (X - mean) / scale
    # Without a penalty the optimum on (X − μ)/s, mapped back by w = w'/s, b = b' − μ·w,
    # is the optimum on X; symcalc folds the same map into θ instead of copying X.
    raw = descend("logistic", (X, y), tol=1e-12)
    fitted = descend("logistic", (standardized, y), tol=1e-12).theta
    w = fitted[1:] / scale
    back = np.concatenate([[fitted[0] - w @ mean], w])
    np.testing.assert_allclose(raw.theta, back, rtol=1e-7, atol=1e-9 * np.abs(back).max())
    # The objective is the same function in both coordinates.
    on_raw = make_model("logistic").objective((X, y))
    on_standardized = make_model("logistic").objective((standardized, y))
    assert on_raw.value(raw.theta) == pytest.approx(on_standardized.value(fitted), rel=1e-12)
    # With a penalty (on the weights in the user's units) the fit is stationary there.
    penalized = descend("logistic", (X, y), l2=1e-3, tol=1e-12)
    gradient = on_raw.gradient(penalized.theta) + 1e-3 * np.r_[0.0, penalized.theta[1:]]
    assert np.linalg.norm(gradient * np.r_[1.0, scale]) <= 1e-9 * np.linalg.norm(
        on_raw.gradient(np.zeros(7)) * np.r_[1.0, scale]
    )


def test_ridge_on_raw_features_is_the_normal_equations(rng):
    X = 100 + rng.standard_normal((400, 5)) * [1, 10, 100, 0.1, 1000]
    y = X @ [1.0, -2.0, 0.03, 5.0, 0.001] + rng.standard_normal(400)
    lam = 0.1
    result = descend("linear", (X, y), l2=lam)
    m = len(y)
    Xt = np.column_stack([np.ones(m), X])
    A = 2 * Xt.T @ Xt / m + lam * np.diag([0.0, *[1.0] * 5])
    exact = np.linalg.solve(A, 2 * Xt.T @ y / m)
    np.testing.assert_allclose(result.theta, exact, rtol=1e-9, atol=1e-12)


def test_moments_over_several_blocks_are_exact_next_to_a_large_mean(rng):
    # 150,000 rows × 2 columns: more than one 2 MB block, then halves.
    X = 1e8 + rng.standard_normal((150_000, 2)) * [1e-3, 10.0]
    mean, std = column_moments(X)
    for j in range(2):
        column = X[:, j]
        exact_mean = math.fsum(column) / len(column)
        spread = math.sqrt(math.fsum((column - exact_mean) ** 2) / len(column))
        assert mean[j] == pytest.approx(exact_mean, rel=1e-15)
        assert std[j] == pytest.approx(spread, rel=1e-9)


def test_the_hessian_follows_theta_changed_in_place(rng):
    X, y = logistic_data(rng, 300, 4)
    objective = make_model("logistic").objective((X, y), l2=0.1)
    fresh = make_model("logistic").objective((X, y), l2=0.1)
    theta = rng.standard_normal(5) / 100
    objective.value_and_gradient(theta)
    theta[1:] *= 2.0  # the same array, new values: the outputs of the old θ must not be reused
    np.testing.assert_array_equal(objective.hessian(theta), fresh.hessian(theta.copy()))


def test_softmax_hessian_vector_leaves_its_input_alone(rng):
    head = SoftmaxHead(("a", "b", "c"))
    Z, U = rng.standard_normal((50, 3)), rng.standard_normal((50, 3))
    before = U.copy()
    product = head.hessian_vector(Z, np.zeros(50, dtype=int), U)
    np.testing.assert_array_equal(U, before)
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    expected = P * U - P * np.einsum("ik,ik->i", P, U)[:, None]  # (diag P − PPᵀ)·u
    np.testing.assert_allclose(product, expected, rtol=1e-12, atol=1e-15)


def test_newton_step_solves_and_shifts_only_when_singular(rng):
    A = rng.standard_normal((8, 8))
    H, g = A @ A.T + 0.1 * np.eye(8), rng.standard_normal(8)
    step, shift = newton_step(H, g)
    assert shift == 0.0
    np.testing.assert_allclose(step, np.linalg.solve(H, -g), rtol=1e-10)
    B = rng.standard_normal((8, 3))
    singular = B @ B.T  # rank 3
    g = singular @ rng.standard_normal(8)  # in the range: the step reaches the minimum
    step, shift = newton_step(singular, g)
    assert 0 < shift < 1e-3 and g @ step < 0
    np.testing.assert_allclose(singular @ step, -g, rtol=1e-5, atol=1e-8 * np.abs(g).max())
