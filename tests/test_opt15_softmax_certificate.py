"""The certified bound on J − J* for softmax with a penalty on the weights only.

The intercepts are not penalized, so no curvature floor holds for all of θ; the bound
splits J − J* into the intercepts' gap with W fixed and the gap of φ(W) = min_b J(b, W)
(`symcalc.learn.models.InterceptCertificate`).  Truth: the optimum of an independent
NumPy objective (K − 1 free intercepts, the last one 0, which removes softmax's
redundant direction and leaves J* unchanged) by SciPy's trust-exact at gtol 1e-13.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.optimize
import scipy.special

import symcalc
from symcalc.learn import optimizers
from symcalc.learn.data import load_data
from symcalc.learn.descent import _scaling_for
from symcalc.learn.models import InterceptCertificate, make_model
from symcalc.learn.scaling import Preconditioned


def _numpy_softmax(X, codes, l2):
    """J(b, W) = mean(logsumexp(z) − z_y) + (λ/2)‖W‖², z = W x + b, as a function of
    (b₁..b_{K−1}, W) with b_K = 0: (value, gradient, Hessian)."""
    m, p = X.shape
    K = int(codes.max()) + 1
    Y = np.eye(K)[codes]

    def unpack(x):
        b = np.append(x[: K - 1], 0.0)
        return b, x[K - 1 :].reshape(K, p)

    def parts(x):
        b, W = unpack(x)
        Z = X @ W.T + b
        value = np.mean(scipy.special.logsumexp(Z, axis=1) - Z[np.arange(m), codes])
        value += 0.5 * l2 * float(np.sum(W * W))
        P = scipy.special.softmax(Z, axis=1)
        R = (P - Y) / m
        gradient = np.concatenate([R.sum(0)[: K - 1], (R.T @ X + l2 * W).ravel()])
        Xt = np.column_stack([np.ones(m), X])
        blocks = np.zeros((K, p + 1, K, p + 1))
        for c in range(K):
            for d in range(K):
                w = P[:, c] * ((c == d) - P[:, d]) / m
                blocks[c, :, d, :] = Xt.T @ (Xt * w[:, None])
        full = blocks.reshape(K * (p + 1), K * (p + 1))
        keep = [c * (p + 1) for c in range(K - 1)]
        keep += [c * (p + 1) + j for c in range(K) for j in range(1, p + 1)]
        hessian = full[np.ix_(keep, keep)] + np.diag([0.0] * (K - 1) + [l2] * (K * p))
        return value, gradient, hessian

    return parts, unpack


def _optimum(X, codes, l2):
    parts, unpack = _numpy_softmax(X, codes, l2)
    K, p = int(codes.max()) + 1, X.shape[1]
    found = scipy.optimize.minimize(
        lambda x: parts(x)[:2],
        np.zeros(K - 1 + K * p),
        jac=True,
        hess=lambda x: parts(x)[2],
        method="trust-exact",
        options={"gtol": 1e-13},
    )
    b, W = unpack(found.x)
    theta = np.column_stack([b, W]).ravel()  # symcalc's layout: (b_k, w_k) per class
    return theta, float(found.fun), parts, unpack


def _value(parts, theta, K, p):
    """The NumPy J at symcalc's θ (its intercepts shifted so that b_K = 0)."""
    units = theta.reshape(K, p + 1)
    b = units[:, 0] - units[-1, 0]
    return parts(np.concatenate([b[: K - 1], units[:, 1:].ravel()]))[0]


def _data(rows, features, classes, seed, offset=0.0, rare=False):
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((rows, features)) * rng.uniform(0.5, 3.0, features) + offset
    W = rng.standard_normal((classes, features)) * 1.5
    codes = (X - offset) @ W.T + rng.gumbel(size=(rows, classes))
    codes = np.argmax(codes, axis=1)
    if rare:  # one class of three samples: its intercept far out, its curvature tiny
        codes[codes == classes - 1] = 0
        codes[:3] = classes - 1
    return X, codes


CASES = [
    # rows, features, classes, λ, seed, offset, rare
    (300, 4, 3, 1e-3, 0, 0.0, False),
    (300, 4, 4, 1e-5, 1, 0.0, False),
    (200, 3, 5, 1.0, 2, 0.0, False),
    (400, 5, 3, 1e-2, 3, 50.0, False),  # features far from 0: the centred weight gradient
    (300, 4, 4, 1e-3, 4, 0.0, True),
]


@pytest.mark.parametrize(("rows", "features", "classes", "l2", "seed", "offset", "rare"), CASES)
def test_the_softmax_certificate_bounds_j_wherever_it_is_given(
    rows, features, classes, l2, seed, offset, rare
):
    """At points around θ* (steps 1e-8 to 30 in random directions: all of θ, only the
    intercepts, only the weights) the certificate is either refused or holds."""
    X, codes = _data(rows, features, classes, seed, offset, rare)
    theta_star, j_star, parts, _ = _optimum(X, codes, l2)
    objective = make_model("softmax").objective((X, codes.astype(float)), l2=l2)
    scaling = _scaling_for(objective)
    problem = Preconditioned(objective, scaling)
    star = scaling.to_working(theta_star)
    rng = np.random.default_rng(seed)
    mask_b = np.zeros((classes, features + 1))
    mask_b[:, 0] = 1.0
    masks = [np.ones_like(mask_b), mask_b, 1.0 - mask_b]
    given = 0
    for size in np.logspace(-8, 1.5, 30):
        for mask in masks:
            direction = rng.standard_normal(star.shape) * mask.ravel()
            theta = star + size * direction / np.linalg.norm(direction)
            _, gradient = problem.value_and_gradient(theta)
            gap = problem.softmax_gap(theta, gradient, np.inf)
            if gap is None:
                continue
            given += 1
            truth = _value(parts, scaling.to_user(theta), classes, features) - j_star
            assert truth <= gap * (1 + 1e-9) + 1e-14 * abs(j_star)
    assert given >= 10  # given near θ*, not refused everywhere


def test_the_bound_falls_as_the_gradient_squared():
    """Near θ* the bound goes as ‖∇J‖² (as J − J* does), so it certifies a fit once the
    gradient is small: a step 10× closer gives a bound about 100× smaller, and the bound
    is never below the truth."""
    X, codes = _data(300, 4, 3, 0)
    theta_star, j_star, parts, _ = _optimum(X, codes, 1e-3)
    objective = make_model("softmax").objective((X, codes.astype(float)), l2=1e-3)
    scaling = _scaling_for(objective)
    problem = Preconditioned(objective, scaling)
    star = scaling.to_working(theta_star)
    direction = np.random.default_rng(9).standard_normal(star.shape)
    direction /= np.linalg.norm(direction)
    gaps = []
    for size in (1e-4, 1e-5):
        theta = star + size * direction
        _, gradient = problem.value_and_gradient(theta)
        gap = problem.softmax_gap(theta, gradient, np.inf)
        truth = _value(parts, scaling.to_user(theta), 3, 4) - j_star
        assert truth <= gap
        gaps.append(gap)
    assert 50 <= gaps[0] / gaps[1] <= 200


def test_the_ball_argument_refuses_far_from_the_intercepts_optimum():
    """γ/μ beyond the ball: no bound (the curvature there may be far below μ)."""
    found = InterceptCertificate(
        gradient=1.0,
        curvature=1e-2,
        step=100.0,
        stepped_gradient=0.5,
        weight_gradient=1e-9,
        spread=3.0,
        l2=1e-4,
    )
    assert found.bound() is None
    near = InterceptCertificate(
        gradient=1e-10,
        curvature=1e-2,
        step=1e-8,
        stepped_gradient=1e-18,
        weight_gradient=1e-9,
        spread=3.0,
        l2=1e-4,
    )
    expected = 0.5e-20 / 1e-2 + 0.5e-18 / 1e-4
    assert near.bound() == pytest.approx(expected, rel=1e-6)


def _digits():
    data = load_data("builtin:digits")
    spread = data.X.std(axis=0)
    X = (data.X - data.X.mean(axis=0)) / np.where(spread > 0, spread, 1.0)
    return X, np.unique(data.y, return_inverse=True)[1].astype(float)


def test_digits_is_confirmed_without_conjugate_gradients(monkeypatch):
    """Newton-CG on digits: the decrement check's 37 products are replaced by the
    certificate, and J stays within 1e-10 of J* (J* from Newton at tol 1e-12)."""
    X, y = _digits()
    reference = symcalc.descend("softmax", (X, y), l2=1e-4, optimizer="newton", tol=1e-12)

    def refuse(*args, **kwargs):
        raise AssertionError("the conjugate-gradient decrement check ran")

    monkeypatch.setattr(optimizers, "cg_decrement", refuse)
    result = symcalc.descend("softmax", (X, y), l2=1e-4)
    assert result.optimizer_chosen == "newton-cg"
    assert result.converged
    assert result.stop_reason in ("gradient_norm", "loss_bound")
    assert 0 <= result.loss - reference.loss <= 1e-10 * reference.loss


def test_the_certificate_confirms_but_never_stops_a_softmax_fit_early():
    """L-BFGS on a penalized softmax: the bound stands in for the conjugate-gradient
    decrement check once the gradient has met tol, and is no stopping rule of its own
    (no `loss_bound`: it bounds J, not θ); J is within the J tolerance of J*."""
    X, codes = _data(2000, 6, 4, 5)
    _, j_star, _, _ = _optimum(X, codes, 1e-2)
    result = symcalc.descend("softmax", (X, codes.astype(float)), l2=1e-2, optimizer="lbfgs")
    assert result.converged
    assert result.stop_reason == "gradient_norm"
    assert result.loss - j_star <= 1e-10 * abs(j_star) + 1e-15


def test_a_gap_above_the_allowed_one_is_refused():
    X, codes = _data(300, 4, 3, 0)
    objective = make_model("softmax").objective((X, codes.astype(float)), l2=1e-3)
    problem = Preconditioned(objective, _scaling_for(objective))
    theta = problem.initial()
    _, gradient = problem.value_and_gradient(theta)
    assert problem.softmax_gap(theta, gradient, 1e-12) is None  # θ = 0 is far from θ*


def test_no_softmax_certificate_without_a_penalty():
    X, codes = _data(300, 4, 3, 0)
    objective = make_model("softmax").objective((X, codes.astype(float)), l2=0.0)
    problem = Preconditioned(objective, _scaling_for(objective))
    theta = np.zeros(problem.n_parameters)
    _, gradient = problem.value_and_gradient(theta)
    assert problem.softmax_gap(theta, gradient * 0, np.inf) is None


def test_newton_spares_the_last_hessian_where_the_certificate_holds(monkeypatch):
    """Newton on a penalized softmax (wine, standardized): the decrement at the last
    iterate is confirmed by the certificate, so one Hessian per step and none more; J
    within 1e-10 of J* (the independent optimum)."""
    data = load_data("builtin:wine")
    spread = data.X.std(axis=0)
    X = (data.X - data.X.mean(axis=0)) / spread
    codes = np.unique(data.y, return_inverse=True)[1]
    _, j_star, _, _ = _optimum(X, codes, 1e-4)
    formed = []
    hessian = Preconditioned.hessian

    def counted(self, theta):
        formed.append(1)
        return hessian(self, theta)

    monkeypatch.setattr(Preconditioned, "hessian", counted)
    result = symcalc.descend("softmax", (X, codes.astype(float)), l2=1e-4, optimizer="newton")
    assert result.converged and result.stop_reason == "gradient_norm"
    assert len(formed) == result.iterations
    assert abs(result.loss - j_star) <= 1e-10 * j_star
