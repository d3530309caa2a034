"""Preconditioning: the change of variables θ = Tθ' against an explicit dense T, finite
differences, and exact moments (statistics on fractions)."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from symcalc.learn.data import load_data
from symcalc.learn.descent import descend
from symcalc.learn.models import make_model
from symcalc.learn.scaling import Preconditioned, Scaling, balanced_scale, column_moments


def dense_T(scaling: Scaling) -> np.ndarray:
    """T as a matrix, column by column from its definition w = w'/s, b = b' − μ·w'/s."""
    n = scaling.n_parameters
    T = np.eye(n)
    for start in scaling.blocks:
        for j in range(scaling.p):
            column = start + 1 + j
            T[:, column] = 0.0
            T[column, column] = 1.0 / scaling.scale[j]
            T[start, column] = -scaling.mean[j] / scaling.scale[j]
    return T


@pytest.mark.parametrize(
    "name, data, options",
    [
        ("linear", "builtin:diabetes", {}),
        ("softmax", "builtin:wine", {}),
        ("mlp", "builtin:iris", {"hidden": 3}),
    ],
)
def test_the_map_is_T_and_its_transposes(name, data, options, rng):
    objective = make_model(name, **options).objective(load_data(data), l2=0.2)
    scaling = Scaling.for_features(objective.X, objective.feature_blocks, objective.n_parameters)
    T = dense_T(scaling)
    v = rng.standard_normal(objective.n_parameters)
    np.testing.assert_allclose(scaling.to_user(v), T @ v, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(scaling.to_working(T @ v), v, rtol=1e-10, atol=1e-10)
    np.testing.assert_allclose(scaling.gradient_to_working(v), T.T @ v, rtol=1e-13, atol=1e-13)
    np.testing.assert_allclose(
        scaling.gradient_to_user(T.T @ v), v, rtol=1e-9, atol=1e-9 * np.abs(v).max()
    )
    problem = Preconditioned(objective, scaling)
    theta = 0.1 * rng.standard_normal(objective.n_parameters)
    h = 1e-6
    numeric = (problem.value(theta + h * v) - problem.value(theta - h * v)) / (2 * h)
    assert problem.gradient(theta) @ v == pytest.approx(numeric, rel=1e-6)
    if objective.has_hessian:
        H = objective.hessian(T @ theta)
        np.testing.assert_allclose(problem.hessian(theta), T.T @ H @ T, rtol=1e-9, atol=1e-12)


def test_moments_are_exact_next_to_a_large_mean(rng):
    X = 1e8 + rng.standard_normal((5000, 3)) * [1.0, 1e-3, 10.0]
    mean, std = column_moments(X)
    for j in range(3):
        column = X[:, j].tolist()
        assert mean[j] == pytest.approx(statistics.fmean(column), rel=1e-14)
        assert std[j] == pytest.approx(statistics.pstdev(column), rel=1e-9)


def test_the_balanced_scale_evens_out_the_penalty():
    """Uncorrelated features of spreads 1e-3 … 1e3 and λ = 0.01: the working Hessian's
    diagonal is the loss's curvature c everywhere (Jacobi preconditioning)."""
    rng = np.random.default_rng(5)
    spreads = np.array([1e-3, 0.1, 1.0, 1e3])
    X = rng.standard_normal((20000, 4)) * spreads
    y = rng.standard_normal(20000)
    objective = make_model("linear").objective((X, y), l2=0.01)
    scaling = Scaling.for_features(X, (0,), 5, l2=0.01, curvature=2.0)
    diagonal = np.diag(Preconditioned(objective, scaling).hessian(np.zeros(5)))[1:]
    np.testing.assert_allclose(diagonal, 2.0, rtol=0.05)
    np.testing.assert_allclose(balanced_scale(spreads, 0.0, 2.0), spreads)


def _ridge_by_lstsq(X: np.ndarray, y: np.ndarray, l2: float) -> tuple[np.ndarray, float]:
    """argmin (1/m)‖Xw + b − y‖² + (λ/2)‖w‖² and its J, by lstsq on centred columns."""
    m, n = X.shape
    mean = X.mean(axis=0)
    A = np.vstack([X - mean, np.sqrt(m * l2 / 2) * np.eye(n)])
    w = np.linalg.lstsq(A, np.concatenate([y - y.mean(), np.zeros(n)]), rcond=None)[0]
    theta = np.concatenate([[y.mean() - mean @ w], w])
    # J of the centred form (exact: the shift does not enter the residuals)
    r = (X - mean) @ w + y.mean() - y
    return theta, float(np.mean(r**2) + l2 / 2 * w @ w)


@pytest.mark.parametrize("l2", [0.0, 1e-6])
def test_newton_converges_on_features_a_million_away_from_zero(l2):
    # Diabetes with every spread 0.05 (as scikit-learn ships it), shifted by 1e6: the
    # features sit 2e7 spreads from 0.
    # The Hessian formed of the raw X and moved to standardized units lost everything to
    # cancellation (X̃ᵀX̃ ≈ 1e12 against a centred Gram of 2e-3): Newton shifted a
    # "singular" Hessian every step and stopped after thousands, not converged.
    data = load_data("builtin:diabetes")
    X = (data.X - data.X.mean(axis=0)) / data.X.std(axis=0) * 0.05 + 1e6
    y = data.y
    result = descend("linear", (X, y), l2=l2)
    theta, loss = _ridge_by_lstsq(X, y, l2)
    assert result.converged and result.iterations <= 5
    assert result.loss == pytest.approx(loss, rel=1e-9)
    assert np.allclose(result.theta[1:], theta[1:], rtol=1e-5, atol=1e-3 * np.abs(theta).max())


def test_a_centred_hessian_equals_the_moved_one_where_nothing_cancels(rng):
    objective = make_model("softmax").objective(load_data("builtin:iris"), l2=0.1)
    theta = rng.normal(size=objective.n_parameters)
    centre = objective.X.mean(axis=0)
    p1 = objective.n_features + 1
    S = np.eye(objective.n_parameters)  # θ = S·θ_c: b = b_c − μ·w per class
    for k in range(3):
        S[k * p1, k * p1 + 1 : (k + 1) * p1] = -centre
    expected = S.T @ objective.hessian(theta) @ S
    assert np.allclose(objective.hessian(theta, centre=centre), expected, rtol=1e-12, atol=1e-14)


def test_a_centred_hessian_vector_product_equals_the_moved_one_where_nothing_cancels(rng):
    objective = make_model("softmax").objective(load_data("builtin:iris"), l2=0.1)
    theta, v = rng.normal(size=(2, objective.n_parameters))
    centre = objective.X.mean(axis=0)
    p1 = objective.n_features + 1
    S = np.eye(objective.n_parameters)  # θ = S·θ_c: b = b_c − μ·w per class
    for k in range(3):
        S[k * p1, k * p1 + 1 : (k + 1) * p1] = -centre
    expected = S.T @ objective.hessian(theta) @ S @ v
    product = objective.hessian_vector(theta, v, centre=centre)
    assert np.allclose(product, expected, rtol=1e-12, atol=1e-13)


@pytest.mark.parametrize("model", ["linear", "logistic", "softmax"])
def test_hessian_vector_products_far_from_zero_match_the_centred_hessian(model, rng):
    """Features 1e6 spreads from 0: TᵀHTv formed of the raw X lost 1e-9..4e-8 (relative)
    to cancellation, which Newton-CG's inner solves and the decrement check read; about the
    means it agrees with the (centred) dense Hessian to rounding."""
    m = 500
    X = rng.normal(size=(m, 3)) * [1e-3, 1.0, 50.0] + [1e4, -3e7, 2e8]
    y = {
        "linear": rng.normal(size=m),
        "logistic": (rng.random(m) < 0.4).astype(float),
        "softmax": rng.integers(0, 3, m).astype(float),
    }[model]
    objective = make_model(model).objective((X, y))
    scaling = Scaling.for_features(X, objective.feature_blocks, objective.n_parameters)
    problem = Preconditioned(objective, scaling)
    theta, v = rng.normal(size=(2, objective.n_parameters)) * [[0.3], [1.0]]
    expected = problem.hessian(theta) @ v
    product = problem.hessian_vector(theta, v)
    assert np.abs(product - expected).max() <= 1e-13 * np.abs(expected).max()


def _optimum(model: str, Z: np.ndarray, y: np.ndarray) -> float:
    """min J of the unpenalized model on (centred) Z, by NumPy Newton steps (softmax with
    the last class's row held at 0, which removes its redundant direction)."""
    import scipy.special

    m = len(Z)
    Zt = np.column_stack([np.ones(m), Z])
    K = 1 if model == "logistic" else int(y.max())  # free rows
    Y = (y[:, None] == np.arange(K)).astype(float) if model == "softmax" else y[:, None]
    theta = np.zeros((K, Zt.shape[1]))
    for _ in range(40):
        S = Zt @ theta.T
        if model == "logistic":
            P = scipy.special.expit(S)
            W = [[P[:, 0] * (1 - P[:, 0])]]
        else:
            P = scipy.special.softmax(np.column_stack([S, np.zeros(m)]), axis=1)[:, :K]
            W = [[P[:, c] * ((c == d) - P[:, d]) for d in range(K)] for c in range(K)]
        g = ((P - Y).T @ Zt / m).ravel()
        H = np.block([[Zt.T @ (Zt * W[c][d][:, None]) / m for d in range(K)] for c in range(K)])
        theta -= np.linalg.solve(H, g).reshape(theta.shape)
    S = np.column_stack([Zt @ theta.T, np.zeros(m)])
    if model == "logistic":
        z = S[:, 0]
        return float(np.mean(np.where(y > 0.5, np.logaddexp(0, -z), np.logaddexp(0, z))))
    rows = np.arange(m)
    return float(np.mean(scipy.special.logsumexp(S, axis=1) - S[rows, y.astype(int)]))


@pytest.mark.parametrize("model", ["logistic", "softmax"])
@pytest.mark.parametrize("optimizer", ["auto", "newton", "lbfgs", "trust-ncg", "newton-cg"])
def test_classifiers_converge_on_features_a_million_spreads_from_zero(model, optimizer):
    """b + X·w and the gradient moved to standardized units lose (μ/s)·ε to cancellation:
    at 1e6 spreads ‖∇J‖ at the optimum stayed up to 14 times above the tolerance, and 5
    of these 10 runs stopped 'NOT converged' (no step lowers J) with J right to 1e-11.
    J and ∇J are now evaluated about the means: all converge, to the optimum on centred
    data."""
    rng = np.random.default_rng(1)
    m = 2000
    Z = rng.normal(size=(m, 4))
    X = Z * [1e-3, 1.0, 50.0, 2.0] + [1e3, -3e6, 2e8, 1e6]
    score = Z @ [1.0, -1.0, 0.5, 2.0]
    if model == "logistic":
        y = (rng.random(m) < 1 / (1 + np.exp(-score))).astype(float)
    else:
        y = np.digitize(score + rng.normal(size=m), [-1.0, 1.0]).astype(float)
    result = descend(model, (X, y), optimizer=optimizer)
    assert result.converged and result.stop_reason == "gradient_norm"
    truth = _optimum(model, X - X.mean(axis=0), y)
    assert result.loss == pytest.approx(truth, rel=1e-9)


@pytest.mark.parametrize("seed", range(6))
def test_curvature_floor_is_a_lower_bound_on_the_hessian(seed):
    # the floor that lets the decrement check skip its Hessian-vector products must be
    # at most the smallest eigenvalue of ∇²J(θ') in the working coordinates, also where
    # the scaling's means are off (sampled) and the features far from 0
    rng = np.random.default_rng(seed)
    m, p = 300, 4
    scales = 10.0 ** rng.uniform(-3, 3, p)
    X = (rng.standard_normal((m, p)) + rng.uniform(-5, 5, p)) * scales
    y = (rng.random(m) < 0.5).astype(float)
    name, l2 = ("logistic", 10.0 ** rng.uniform(-4, 0)) if seed % 2 else ("linear", 0.1)
    if name == "linear":
        y = X @ rng.standard_normal(p) + rng.standard_normal(m)
    objective = make_model(name).objective((X, y), l2=l2)
    mean, spread = X.mean(axis=0), X.std(axis=0)
    if seed >= 3:  # means as a sample would give them
        mean = mean + 0.3 * spread * rng.standard_normal(p)
    problem = Preconditioned(objective, Scaling(p + 1, (0,), mean, spread))
    theta = rng.standard_normal(p + 1)
    floor = problem.curvature_floor(theta)
    smallest = np.linalg.eigvalsh(problem.hessian(theta))[0]
    assert floor is not None and 0 < floor <= smallest * (1 + 1e-9)


def test_decrement_check_of_a_penalized_logistic_fit_takes_no_products(monkeypatch):
    # L-BFGS on logistic 15,000 × 50 with l2 = 1e-3: the conjugate-gradient check of
    # ½gᵀH⁻¹g took Hessian-vector products (4 on 10⁵ × 50, a fifth of the fit); the
    # curvature floor bounds it from above at once.  Same answer, converged.
    from symcalc.learn import models

    rng = np.random.default_rng(0)
    X = rng.standard_normal((15_000, 50)) * 3 + 1
    y = (X @ rng.standard_normal(50) / 20 + rng.standard_normal(15_000) > 0).astype(float)
    before = descend("logistic", (X, y), l2=1e-3, optimizer="lbfgs")
    calls = []
    original = models.AffineObjective.hessian_vector

    def counted(self, *args, **kwargs):
        calls.append(1)
        return original(self, *args, **kwargs)

    monkeypatch.setattr(models.AffineObjective, "hessian_vector", counted)
    result = descend("logistic", (X, y), l2=1e-3, optimizer="lbfgs")
    assert result.converged and not calls
    assert result.loss == before.loss
    exact = descend("logistic", (X, y), l2=1e-3, optimizer="newton")
    assert result.loss == pytest.approx(exact.loss, rel=1e-12)


def _softmax_problem(seed: int, far: bool = False, m: int = 400, p: int = 6, K: int = 4):
    """A penalized softmax fit (λ = 1e-3) in working coordinates, features of mixed scales
    (and ``far``: a million spreads from 0)."""
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((m, p))
    X = Z * 10.0 ** rng.uniform(-2, 2, p) + (rng.uniform(-1, 1, p) * 1e6 if far else 0.0)
    y = np.argmax(Z[:, :K] * 2 + rng.standard_normal((m, K)), axis=1).astype(float)
    objective = make_model("softmax").objective((X, y), l2=1e-3)
    scaling = Scaling.for_features(X, objective.feature_blocks, objective.n_parameters)
    return Preconditioned(objective, scaling), rng


@pytest.mark.parametrize("far", [False, True])
def test_diagonal_blocks_are_the_hessians_own(far):
    # the block-Jacobi preconditioner of the decrement check: the K diagonal blocks of
    # ∇²J(θ') in working coordinates, against the dense Hessian's (also about the means)
    problem, rng = _softmax_problem(0, far)
    theta = 0.5 * rng.standard_normal(problem.n_parameters)
    H = problem.hessian(theta)
    blocks = problem.diagonal_blocks(theta)
    K, p1 = 4, problem.n_features + 1
    assert blocks.shape == (K, p1, p1)
    for c in range(K):
        expected = H[c * p1 : (c + 1) * p1, c * p1 : (c + 1) * p1]
        np.testing.assert_allclose(blocks[c], expected, rtol=1e-10, atol=1e-12 * abs(H).max())
    one_output = make_model("logistic").objective(load_data("builtin:breast_cancer"))
    assert one_output.diagonal_blocks(np.zeros(one_output.n_parameters)) is None


def _exact_decrement(H: np.ndarray, gradient: np.ndarray, null: np.ndarray) -> float:
    """½bᵀH⁺b, b = −g off the null directions, by a dense solve on their complement."""
    complement = np.linalg.svd(np.eye(len(gradient)) - null @ null.T)[0][:, : -null.shape[1]]
    b = complement.T @ -gradient
    return 0.5 * float(b @ np.linalg.solve(complement.T @ H @ complement, b))


@pytest.mark.parametrize("seed", range(4))
def test_preconditioned_decrement_is_a_lower_bound_and_takes_fewer_products(seed):
    """Conjugate gradients preconditioned by the diagonal blocks (`block_jacobi`) still
    bound ½gᵀH⁻¹g from below at every step (compared with a dense solve), reach it as the
    plain ones do, and with fewer Hessian-vector products (on digits 79 → 37)."""
    from symcalc.learn.optimizers import block_jacobi, cg_decrement

    problem, rng = _softmax_problem(seed, far=seed == 3)
    null = problem.null_directions()
    optimum = descend("softmax", (problem.inner.X, problem.inner.Y), l2=1e-3, tol=1e-12)
    start = problem.scaling.to_working(optimum.theta)
    for distance in (1e-1, 1e-3, 1e-5):
        theta = start + distance * rng.standard_normal(problem.n_parameters)
        _, gradient = problem.value_and_gradient(theta)
        exact = _exact_decrement(problem.hessian(theta), gradient, null)
        counts = {}
        for label, precondition in (("plain", None), ("blocks", block_jacobi(problem, theta))):
            calls = []

            def product(v, at=theta, calls=calls):
                calls.append(1)
                return problem.hessian_vector(at, v)

            for limit in (1, 2, 3, 5, 200):  # a lower bound after any number of steps
                lower = cg_decrement(
                    product, gradient, np.inf, limit, null, precondition=precondition
                )
                assert lower <= exact * (1 + 1e-9)
            assert lower == pytest.approx(exact, rel=1e-3)  # to its residual 1e-3·‖g‖
            calls.clear()
            cg_decrement(product, gradient, np.inf, 200, null, precondition=precondition)
            counts[label] = len(calls)
        assert counts["blocks"] < counts["plain"]


def test_curvature_floor_reads_X_once_and_its_means_are_exact(monkeypatch):
    # the floor needs min ℓ'' at θ and the exact column means: one pass over X by row
    # blocks (two passes before: 7 % of L-BFGS on logistic 10⁵ × 50)
    from symcalc.learn import models

    rng = np.random.default_rng(3)
    X = rng.standard_normal((5000, 4)) * [1.0, 10.0, 0.1, 3.0] + [2.0, -5.0, 0.0, 1e3]
    y = (rng.random(5000) < 0.5).astype(float)
    objective = make_model("logistic").objective((X, y), l2=0.01)
    objective.block = 700  # 8 row blocks
    problem = Preconditioned(objective, Scaling(5, (0,), X[::7].mean(axis=0), X.std(axis=0)))
    reads = []
    original = models.AffineObjective._rows
    monkeypatch.setattr(
        models.AffineObjective, "_rows", lambda self, *a: reads.append(1) or original(self, *a)
    )
    theta = 0.1 * rng.standard_normal(5)
    floor = problem.curvature_floor(theta)
    assert len(reads) == 8
    np.testing.assert_allclose(objective.column_means, X.mean(axis=0), rtol=1e-13, atol=1e-13)
    assert 0 < floor <= np.linalg.eigvalsh(problem.hessian(theta))[0] * (1 + 1e-9)


def test_curvature_floor_where_J_was_just_evaluated_reads_no_X(monkeypatch):
    # L-BFGS's decrement check asks the floor at the iterate it has just evaluated: the
    # outputs z of every row are kept from that pass and the column sums from the first
    # one, so the floor reads no block of X (it took two passes: 7 % of the fit on 10⁵ × 50)
    # and is the same number as from scratch
    from symcalc.learn import models

    rng = np.random.default_rng(4)
    X = rng.standard_normal((5000, 9)) * 3.0 + 1.0
    y = (X @ rng.standard_normal(9) + rng.standard_normal(5000) > 0).astype(float)

    def problem():
        objective = make_model("logistic").objective((X, y), l2=0.01)
        objective.block = 700
        return Preconditioned(objective, Scaling(10, (0,), X[::9].mean(axis=0), X.std(axis=0)))

    theta = 0.1 * rng.standard_normal(10)
    fresh = problem().curvature_floor(theta)
    evaluated = problem()
    evaluated.value_and_gradient(0.5 * theta)
    evaluated.value_and_gradient(theta)
    reads = []
    original = models.AffineObjective._rows
    monkeypatch.setattr(
        models.AffineObjective, "_rows", lambda self, *a: reads.append(1) or original(self, *a)
    )
    assert evaluated.curvature_floor(theta) == fresh and not reads
    np.testing.assert_allclose(evaluated.inner.column_means, X.mean(axis=0), rtol=1e-13, atol=1e-13)
    assert evaluated.curvature_floor(0.5 * theta) != fresh and len(reads) == 8  # not kept
