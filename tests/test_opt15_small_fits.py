"""The monitor's gradient norm by BLAS's ddot: the same numbers as before, no warnings.

`symcalc.learn.stopping.norm` read Σv² by ``np.dot`` inside ``np.errstate``, which cost
more than the product on a 31-element gradient.  Truth: ``np.dot`` (bit for bit),
``math.hypot`` for the norm, and the overflow-safe path for huge and tiny entries.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

from symcalc.learn.stopping import _dot_product, norm


@pytest.mark.parametrize("size", [1, 2, 11, 31, 42, 650, 651, 4096])
def test_the_blas_product_is_numpys_bit_for_bit(size):
    rng = np.random.default_rng(size)
    for _ in range(50):
        v = rng.standard_normal(size) * 10.0 ** rng.uniform(-100, 100)
        assert _dot_product()(v, v) == float(np.dot(v, v))


@pytest.mark.parametrize(
    "values",
    [
        [3.0, 4.0],
        [1e200, 1e200, 3.0],  # Σv² overflows: the scaled path
        [1e-170, 1e-170, 2e-170],  # Σv² underflows: the scaled path
        [1e308, -1e308],
        [5e-324, 0.0],
        [0.0, 0.0],
    ],
)
def test_the_norm_is_exact_and_warns_nothing(values):
    v = np.array(values)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = norm(v)
    assert found == pytest.approx(math.hypot(*values), rel=1e-15)


@pytest.mark.parametrize(
    ("values", "expected"),
    [([np.nan, 1.0], math.nan), ([np.inf, 1.0], math.inf), ([-np.inf], math.inf), ([], 0.0)],
)
def test_a_norm_of_non_finite_entries_is_not_finite_and_quiet(values, expected):
    v = np.array(values, dtype=float)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        found = norm(v)
    assert (math.isnan(found) and math.isnan(expected)) or found == expected


def test_other_layouts_and_types_take_the_numpy_path():
    v = np.arange(12.0).reshape(3, 4)
    assert norm(v.T) == pytest.approx(math.sqrt(float(np.sum(v * v))), rel=1e-15)
    assert norm(v[:, ::2]) == pytest.approx(math.sqrt(float(np.sum(v[:, ::2] ** 2))))
    assert norm(np.array([3.0, 4.0], dtype=np.float32)) == 5.0


@pytest.mark.parametrize("name", ["iris", "wine"])
def test_newtons_hessian_from_the_kept_softmax_weights_is_the_same_bit_for_bit(name):
    """J's pass keeps softmax's P and 1 − P on small data; the Hessian at that θ reads
    them, with the same numbers as computing them again (and as the NumPy formula)."""
    from symcalc.learn.data import load_data
    from symcalc.learn.models import make_model

    data = load_data(f"builtin:{name}")
    X = (data.X - data.X.mean(axis=0)) / data.X.std(axis=0)
    codes = np.unique(data.y, return_inverse=True)[1].astype(float)
    objective = make_model("softmax").objective((X, codes), l2=1e-3)
    theta = np.random.default_rng(3).standard_normal(objective.n_parameters)
    objective.value_and_gradient(theta)
    assert objective._hessian_weights is not None
    kept = objective.hessian(theta)
    objective._hessian_weights = None
    fresh = objective.hessian(theta)
    assert np.array_equal(kept, fresh)
    # and the NumPy formula: (1/m)Σ (diag p − ppᵀ) ⊗ x̃x̃ᵀ + λ on the weights
    m, p = X.shape
    K = int(codes.max()) + 1
    Xt = np.column_stack([np.ones(m), X])
    Z = Xt @ theta.reshape(K, p + 1).T
    P = np.exp(Z - Z.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    truth = np.zeros((K, p + 1, K, p + 1))
    for c in range(K):
        for d in range(K):
            # 1 − P_c as the sum of the others: no cancellation where P_c is near 1
            w = P[:, c] * (P.sum(axis=1) - P[:, c] if c == d else -P[:, d]) / m
            truth[c, :, d, :] = Xt.T @ (Xt * w[:, None])
    truth = truth.reshape(K * (p + 1), -1) + np.diag(np.tile([0.0] + [1e-3] * p, K))
    np.testing.assert_allclose(kept, truth, rtol=1e-10, atol=1e-12 * np.abs(truth).max())


def test_a_pass_at_another_theta_drops_the_kept_weights():
    from symcalc.learn.data import load_data
    from symcalc.learn.models import make_model

    data = load_data("builtin:iris")
    codes = np.unique(data.y, return_inverse=True)[1].astype(float)
    objective = make_model("softmax").objective((data.X, codes), l2=1e-3)
    first = np.zeros(objective.n_parameters)
    second = np.random.default_rng(4).standard_normal(objective.n_parameters) * 0.1
    objective.value_and_gradient(first)
    objective.value_and_gradient(second)
    at_second = objective.hessian(second)
    at_first = objective.hessian(first)  # not the weights of `second`
    objective._hessian_weights = None
    assert np.array_equal(at_first, objective.hessian(first))
    assert not np.array_equal(at_first, at_second)
