"""Small softmax Hessians from kept row products: the same ∇²J, in the same coordinates.

`AffineObjective.hessian` on small data (one row block, `ROW_PRODUCTS_BYTES`) forms every
class pair's Gram matrix from the products x̃ⱼ·x̃ₖ of X̃ = [1, (X − μ)/s], kept across
Newton's iterations.  Truth: the Hessian written out block by block from its definition
(NumPy, `numpy_hessian`), mapped to standardized coordinates by TᵀHT where that applies,
the weighted copies of X̃ (`ROW_PRODUCTS_BYTES` = 0), and fits against SciPy's
trust-exact on the independent Hessian.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special
from softmax_reference import numpy_hessian

from symcalc.learn import models
from symcalc.learn.descent import descend
from symcalc.learn.models import make_model
from symcalc.learn.scaling import Preconditioned, Scaling


def softmax_data(rng, m, p, K, offset=3.0):
    X = rng.standard_normal((m, p)) * rng.uniform(0.5, 5.0, p) + offset
    W = rng.standard_normal((p, K))
    y = np.argmax((X - offset) @ W / 2 + rng.gumbel(size=(m, K)), axis=1).astype(float)
    y[:K] = np.arange(K)  # every class present
    return X, y


def numpy_objective(X, codes, theta, l2):
    m, p = X.shape
    K = int(codes.max()) + 1
    Theta = theta.reshape(K, p + 1)
    Z = X @ Theta[:, 1:].T + Theta[:, 0]
    loss = scipy.special.logsumexp(Z, axis=1) - Z[np.arange(m), codes]
    return float(np.mean(loss)) + 0.5 * l2 * float(np.sum(Theta[:, 1:] ** 2))


def numpy_gradient(X, codes, theta, l2):
    m, p = X.shape
    K = int(codes.max()) + 1
    Xt = np.column_stack([np.ones(m), X])
    Theta = theta.reshape(K, p + 1)
    R = scipy.special.softmax(Xt @ Theta.T, axis=1) - np.eye(K)[codes]
    G = R.T @ Xt / m
    G[:, 1:] += l2 * Theta[:, 1:]
    return G.ravel()


def close(found, expected, rtol=1e-12):
    np.testing.assert_allclose(found, expected, rtol=rtol, atol=rtol * np.abs(expected).max())


@pytest.mark.parametrize(
    ("m", "p", "K", "l2"), [(150, 4, 3, 1e-4), (178, 13, 3, 1e-4), (60, 5, 2, 0.0), (90, 3, 5, 0.1)]
)
def test_the_kept_products_give_the_definitions_hessian(m, p, K, l2, rng):
    X, y = softmax_data(rng, m, p, K)
    objective = make_model("softmax").objective((X, y), l2=l2)
    assert objective.keeps_row_products
    theta = rng.standard_normal(objective.n_parameters) * 0.3
    H = objective.hessian(theta)
    close(H, numpy_hessian(X, y.astype(int), theta, l2))
    np.testing.assert_array_equal(H, H.T)
    assert objective._products is not None  # kept for the next Hessian


def test_the_kept_products_give_the_weighted_copies_hessian(rng, monkeypatch):
    X, y = softmax_data(rng, 178, 13, 3)
    theta = rng.standard_normal(3 * 14) * 0.3
    found = {}
    for limit in (0, models.ROW_PRODUCTS_BYTES):
        monkeypatch.setattr(models, "ROW_PRODUCTS_BYTES", limit)
        objective = make_model("softmax").objective((X, y), l2=1e-3)
        assert objective.keeps_row_products == bool(limit)
        mean, scale = X.mean(axis=0), X.std(axis=0) * 1.5
        found[limit] = (objective.hessian(theta), objective.hessian(theta, mean, scale))
    for old, new in zip(found[0], found[models.ROW_PRODUCTS_BYTES], strict=True):
        close(new, old, rtol=1e-13)


def test_the_standardized_hessian_is_t_transposed_h_t(rng):
    """Preconditioned asks the kept products of [1, (X − μ)/s] directly: TᵀHT of the
    definition's Hessian in the user's units, with the penalty λ/s² on the weights."""
    X, y = softmax_data(rng, 150, 4, 3, offset=40.0)
    objective = make_model("softmax").objective((X, y), l2=1e-3)
    scaling = Scaling.for_features(X, objective.feature_blocks, objective.n_parameters, l2=1e-3)
    problem = Preconditioned(objective, scaling)
    working = rng.standard_normal(objective.n_parameters) * 0.3
    H = problem.hessian(working)
    p1 = X.shape[1] + 1
    T = np.zeros((p1, p1))  # θ = Tθ' per class: b = b' − μ·w'/s, w = w'/s
    T[0, 0] = 1.0
    T[0, 1:] = -scaling.mean / scaling.scale
    T[1:, 1:] = np.diag(1.0 / scaling.scale)
    T = np.kron(np.eye(3), T)
    expected = T.T @ numpy_hessian(X, y.astype(int), T @ working, 1e-3) @ T
    close(H, expected, rtol=1e-10)
    np.testing.assert_array_equal(H, H.T)


def test_products_are_formed_once_per_centre_and_dropped_after_a_fit(rng):
    X, y = softmax_data(rng, 120, 5, 3)
    objective = make_model("softmax").objective((X, y), l2=1e-3)
    theta = rng.standard_normal(objective.n_parameters) * 0.2
    objective.hessian(theta)
    first = objective._products[1]
    objective.hessian(theta * 0.5)
    assert objective._products[1] is first  # the same X̃: kept
    objective.hessian(theta, X.mean(axis=0), np.ones(5))
    assert objective._products[1] is not first  # another centre: formed again
    result = descend("softmax", (X, y), l2=1e-3)
    assert result.optimizer_chosen == "newton" and result.converged
    assert result.objective._products is None  # the result does not keep them


def test_large_or_scalar_objectives_keep_no_products(rng):
    X, y = softmax_data(rng, 2000, 40, 6)
    assert not make_model("softmax").objective((X, y), l2=1e-3).keeps_row_products
    X, y = softmax_data(rng, 100, 3, 2)
    assert not make_model("logistic").objective((X, y), l2=1e-3).keeps_row_products


@pytest.mark.parametrize("offset", [0.0, 3.0, 1e4])
def test_newton_fits_reach_scipys_optimum(offset, rng):
    """Features near 0, off 0, and far from 0 (the objective about the means)."""
    X, y = softmax_data(rng, 160, 6, 4, offset=offset)
    codes = y.astype(int)
    l2 = 1e-3
    result = descend("softmax", (X, y), l2=l2)
    assert result.optimizer_chosen == "newton" and result.converged
    reference = scipy.optimize.minimize(
        lambda t: numpy_objective(X, codes, t, l2),
        result.theta,
        jac=lambda t: numpy_gradient(X, codes, t, l2),
        hess=lambda t: numpy_hessian(X, codes, t, l2),
        method="trust-exact",
        options={"gtol": 1e-13},
    )
    best = min(reference.fun, numpy_objective(X, codes, result.theta, l2))
    assert numpy_objective(X, codes, result.theta, l2) - best <= 1e-10 * best
    np.testing.assert_allclose(result.loss, numpy_objective(X, codes, result.theta, l2), rtol=1e-12)


def test_fits_with_and_without_kept_products_agree(rng, monkeypatch):
    X, y = softmax_data(rng, 178, 13, 3)
    found = {}
    for limit in (0, models.ROW_PRODUCTS_BYTES):
        monkeypatch.setattr(models, "ROW_PRODUCTS_BYTES", limit)
        found[limit] = descend("softmax", (X, y), l2=1e-4)
    old, new = found[0], found[models.ROW_PRODUCTS_BYTES]
    assert new.converged and new.iterations == old.iterations
    assert abs(new.loss - old.loss) <= 1e-13 * old.loss
    np.testing.assert_allclose(new.theta, old.theta, rtol=1e-7, atol=1e-9)


@pytest.mark.parametrize("K", [2, 3, 7])
@pytest.mark.parametrize("spread", [1.0, 40.0, 800.0])
def test_the_small_data_softmax_pass_is_the_general_ones_bit_for_bit(K, spread, rng):
    """`loss_derivative_and_weights` (Newton's pass on small data) against
    `loss_and_derivative` and `hessian_weights`, and its loss against logsumexp."""
    from symcalc.learn.heads import SoftmaxHead

    head = SoftmaxHead(tuple(str(k) for k in range(K)))
    m = 200
    Z = rng.standard_normal((m, K)) * spread
    Z[:10] = np.round(Z[:10])  # ties for the row maximum
    Z[10, :] = 5.0
    codes = rng.integers(0, K, m)
    codes[:K] = np.argmax(Z[:K], axis=1)  # labels at the row maximum
    loss, residual, (P, Q) = head.loss_derivative_and_weights(Z.copy(), codes)
    expected_loss, expected_residual = head.loss_and_derivative(Z.copy(), codes)
    expected_P, expected_Q = head.hessian_weights(Z.copy())
    assert loss == expected_loss
    for found, expected in ((residual, expected_residual), (P, expected_P), (Q, expected_Q)):
        assert np.array_equal(found, expected)
    truth = float(np.sum(scipy.special.logsumexp(Z, axis=1) - Z[np.arange(m), codes]))
    assert loss == pytest.approx(truth, rel=1e-13, abs=1e-300)
