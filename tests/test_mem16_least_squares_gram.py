"""The least-squares Hessian as c·X̃ᵀX̃ (ℓ'' = c everywhere), without a weighted copy of X.

`AffineObjective._scalar_gram_hessian` formed X̃ᵀ diag(ℓ'') X̃ through a scratch of half
of X even where ℓ'' is one number (squared error: 2); that scratch was the peak of a
diabetes fit.  Truth here: the weighted Gram product it replaces (np.longdouble bound),
(2/m)·X̃ᵀX̃ and the normal equations solved by mpmath at 50 digits, on raw diabetes
(means of about 50 and 190 against their spreads) and on adversarial scales.
"""

from __future__ import annotations

import mpmath
import numpy as np
import pytest

from symcalc.learn.data import load_data
from symcalc.learn.descent import descend
from symcalc.learn.models import LinearModel, _add_constant_gram, _add_weighted_gram


def _exact_gram(X: np.ndarray) -> mpmath.matrix:
    """X̃ᵀX̃ of X̃ = [1, X] at 50 digits (the float64 entries are exact rationals)."""
    with mpmath.workdps(50):
        Xt = mpmath.matrix([[1] + [mpmath.mpf(float(v)) for v in row] for row in X])
        return Xt.T * Xt


def _least_squares(X: np.ndarray, y: np.ndarray, l2: float) -> np.ndarray:
    """argmin (1/m)Σ(b + x·w − y)² + (λ/2)‖w‖², by the normal equations at 50 digits."""
    m, p = X.shape
    with mpmath.workdps(50):
        Xt = mpmath.matrix([[1] + [mpmath.mpf(float(v)) for v in row] for row in X])
        A = (Xt.T * Xt) * (mpmath.mpf(2) / m)
        for j in range(1, p + 1):
            A[j, j] += mpmath.mpf(l2)
        rhs = (Xt.T * mpmath.matrix([mpmath.mpf(float(v)) for v in y])) * (mpmath.mpf(2) / m)
        return np.array([float(t) for t in mpmath.lu_solve(A, rhs)])


def _diabetes(standardize: bool) -> tuple[np.ndarray, np.ndarray]:
    data = load_data("builtin:diabetes", standardize=standardize)
    return np.ascontiguousarray(data.X, dtype=float), np.asarray(data.y, dtype=float)


def _adversarial(kind: str) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(16)
    Z = rng.standard_normal((200, 4))
    noise = 0.1 * rng.standard_normal(200)
    if kind == "offsets 1e6, spreads 1e-3":
        return Z * 1e-3 + 1e6, Z @ [1.0, -2.0, 3.0, 0.5] + noise
    if kind == "spreads 1e-8 to 1e8":
        return Z * [1e-8, 1.0, 1e8, 1e3] + [0.0, 5e2, 0.0, -1e4], Z @ [1.0, 2.0, 0.0, 1.0] + noise
    raise AssertionError(kind)  # pragma: no cover


@pytest.mark.parametrize("weight", [2.0, 0.5, 3.0, 1.0 / 3.0])
@pytest.mark.parametrize("offset", [0.0, 1e3])
def test_the_constant_gram_is_the_weighted_gram_with_equal_weights(rng, weight, offset):
    X = rng.standard_normal((301, 7)) * [1e-3, 1, 10, 1e4, 1, 1, 5] + offset
    new, old = np.zeros((8, 8)), np.zeros((8, 8))
    _add_constant_gram(new, X, weight)
    _add_weighted_gram(old, X, np.full(len(X), weight), np.empty((151, 7)))
    Xt = np.hstack([np.ones((len(X), 1)), X]).astype(np.longdouble)
    exact = np.longdouble(weight) * (Xt.T @ Xt)
    bound = 1e-13 * weight * (np.abs(Xt).T @ np.abs(Xt))  # ≈ m·ε times the absolute products
    assert np.all(np.abs(new - exact) <= bound)
    assert np.all(np.abs(old - exact) <= bound)


@pytest.mark.parametrize("standardize", [False, True])
def test_the_diabetes_hessian_is_the_exact_gram_without_a_weighted_copy(standardize):
    X, y = _diabetes(standardize)
    objective = LinearModel().objective((X, y))
    assert objective.head.curvature_constant == 2.0
    H = objective.hessian(np.zeros(X.shape[1] + 1))
    assert objective._scratch is None  # no weighted copy of X made, none kept
    with mpmath.workdps(50):
        exact = _exact_gram(X) * (mpmath.mpf(2) / X.shape[0])
        reference = np.array(
            [[float(exact[i, j]) for j in range(exact.cols)] for i in range(exact.rows)]
        )
    scale = np.sqrt(np.outer(np.diag(reference), np.diag(reference)))
    assert np.all(np.abs(H - reference) <= 1e-14 * scale)
    assert np.array_equal(H, H.T)


def test_a_curved_head_has_no_curvature_constant():
    data = load_data("builtin:breast_cancer", standardize=True)
    objective = LinearModel("binary_cross_entropy_with_logits").objective(data)
    assert objective.head.curvature_constant is None
    assert not objective.head.constant_curvature
    objective.hessian(np.zeros(objective.n_parameters))
    assert objective._scratch is not None  # ℓ'' varies: the weighted rows go through it


@pytest.mark.parametrize("l2", [0.0, 0.1])
@pytest.mark.parametrize(
    "data",
    ["diabetes raw", "diabetes standardized", "offsets 1e6, spreads 1e-3", "spreads 1e-8 to 1e8"],
)
def test_least_squares_theta_is_the_50_digit_solution(data, l2):
    if data.startswith("diabetes"):
        X, y = _diabetes(standardize=data.endswith("standardized"))
    else:
        X, y = _adversarial(data)
    result = descend("linear", (X, y), l2=l2)
    assert result.converged
    reference = _least_squares(X, y, l2)
    theta = np.asarray(result.theta, dtype=float).ravel()
    # measured: at most 2.3e-14 relative (old and new Hessian alike)
    assert np.all(np.abs(theta - reference) <= 1e-10 * np.abs(reference))
