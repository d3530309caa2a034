"""Descent against independent answers: lstsq, closed-form ridge, a hand-written Newton
method and SciPy at tight tolerance; auto's choices, scale-aware stopping, divergence, the best
iterate, separable classes, history, figures."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
import scipy.optimize
import scipy.special

from symcalc.errors import SymcalcError
from symcalc.learn.data import Dataset, load_data, synthetic
from symcalc.learn.descent import (
    OPTIMIZERS,
    STOP_REASONS,
    DescentResult,
    ProgressBar,
    descend,
    estimate_lipschitz,
    optimize,
)
from symcalc.learn.models import make_model

#: Every optimizer that runs on an objective in memory (sgd reads minibatches: test_streaming).
FULL_BATCH = sorted(set(OPTIMIZERS) - {"sgd"})

CONTRACT_KEYS = [
    "model",
    "optimizer",
    "iterations",
    "converged",
    "stop_reason",
    "loss",
    "data_loss",
    "theta",
    "gradient_norm",
    "seconds",
    "history",
    "optimizer_chosen",
    "reason",
]


def with_intercept(X: np.ndarray) -> np.ndarray:
    return np.column_stack([np.ones(len(X)), X])


def lstsq(data: Dataset) -> np.ndarray:
    return np.linalg.lstsq(with_intercept(data.X), data.y, rcond=None)[0]


# Logistic regression written independently of symcalc (no kernels, no SymPy).
def logistic_loss(theta, X, y, l2):
    z = with_intercept(X) @ theta
    return np.mean(np.logaddexp(0.0, z) - y * z) + 0.5 * l2 * theta[1:] @ theta[1:]


def logistic_gradient(theta, X, y, l2):
    Xt = with_intercept(X)
    g = Xt.T @ (scipy.special.expit(Xt @ theta) - y) / len(y)
    g[1:] += l2 * theta[1:]
    return g


def logistic_hessian(theta, X, y, l2):
    Xt = with_intercept(X)
    s = scipy.special.expit(Xt @ theta)
    return Xt.T @ (Xt * (s * (1 - s))[:, None]) / len(y) + np.diag([0.0] + [l2] * X.shape[1])


def logistic_newton(X, y, l2, steps: int = 30) -> np.ndarray:
    """Newton's method with the exact Hessian: quadratic convergence to the optimum."""
    Xt = with_intercept(X)
    theta = np.zeros(Xt.shape[1])
    penalty = np.diag([0.0] + [l2] * X.shape[1])
    for _ in range(steps):
        s = scipy.special.expit(Xt @ theta)
        hessian = Xt.T @ (Xt * (s * (1 - s))[:, None]) / len(y) + penalty
        theta = theta - np.linalg.solve(hessian, logistic_gradient(theta, X, y, l2))
    return theta


# -- linear regression reaches the least-squares solution -----------------------------------


@pytest.mark.parametrize("optimizer", FULL_BATCH)
def test_every_optimizer_reaches_lstsq(optimizer):
    data = load_data("synthetic:linear")
    result = descend("linear", data, optimizer=optimizer, tol=1e-10, max_iter=50_000)
    assert result.converged and result.stop_reason == "gradient_norm"
    assert result.optimizer == result.optimizer_chosen == optimizer
    truth = lstsq(data)
    assert np.linalg.norm(result.theta - truth) <= 1e-8 * np.linalg.norm(truth)


@pytest.mark.parametrize("l2", [0.0, 0.1])
def test_raw_diabetes_converges_with_defaults_to_the_closed_form(l2):
    """Raw features (ages near 50, cholesterol near 190): one Newton step, J to 1e-12."""
    data = load_data("builtin:diabetes")
    result = descend("linear", data, l2=l2)
    Xt = with_intercept(data.X)
    m = data.n_samples
    D = np.diag([0.0] + [1.0] * data.n_features)
    truth = np.linalg.solve(2 / m * Xt.T @ Xt + l2 * D, 2 / m * Xt.T @ data.y)
    J = np.mean((Xt @ truth - data.y) ** 2) + 0.5 * l2 * truth[1:] @ truth[1:]
    assert result.converged and result.optimizer_chosen == "newton" and result.iterations <= 3
    assert result.loss == pytest.approx(J, rel=1e-12)
    np.testing.assert_allclose(result.theta, truth, rtol=1e-8, atol=1e-9 * np.abs(truth).max())


def test_linear_on_real_data_reaches_lstsq():
    data = load_data("builtin:diabetes", standardize=True)
    result = descend("linear", data, optimizer="nesterov", tol=1e-9)
    truth = lstsq(data)
    assert result.converged
    assert np.linalg.norm(result.theta - truth) <= 1e-6 * np.linalg.norm(truth)
    assert result.data_loss == pytest.approx(
        np.mean((with_intercept(data.X) @ truth - data.y) ** 2), rel=1e-12
    )


def test_linear_on_a_csv_written_here(tmp_path, rng):
    X = rng.normal(size=(60, 2))
    y = 3.0 - 2.0 * X[:, 0] + 0.25 * X[:, 1] + 0.1 * rng.standard_normal(60)
    path = tmp_path / "table.csv"
    path.write_text(
        "a,b,out\n"
        + "".join(f"{a!r},{b!r},{t!r}\n" for (a, b), t in zip(X.tolist(), y.tolist(), strict=True))
    )
    result = descend("linear", str(path), target="out", tol=1e-10)
    truth = np.linalg.lstsq(with_intercept(X), y, rcond=None)[0]
    np.testing.assert_allclose(result.theta, truth, rtol=1e-6)
    assert result.parameter_names == ("intercept", "a", "b")


def test_ridge_matches_its_closed_form_and_leaves_the_intercept_alone():
    data = load_data("synthetic:linear")
    l2 = 0.7
    result = descend("linear", data, l2=l2, tol=1e-10)
    Xt = with_intercept(data.X)
    m = data.n_samples
    # ∇J = (2/m) X̃ᵀ(X̃θ - y) + λ (0, w) = 0  ⇔  ((2/m) X̃ᵀX̃ + λ D) θ = (2/m) X̃ᵀy
    D = np.diag([0.0] + [1.0] * data.n_features)
    truth = np.linalg.solve(2 / m * Xt.T @ Xt + l2 * D, 2 / m * Xt.T @ data.y)
    np.testing.assert_allclose(result.theta, truth, rtol=1e-7)
    assert result.loss - result.data_loss == pytest.approx(
        0.5 * l2 * truth[1:] @ truth[1:], rel=1e-9
    )


def test_textbook_loop_is_gd_on_half_the_objective():
    """θ ← θ − α(1/m)X̃ᵀ(X̃θ − y) is our gd on J = MSE with learning rate α/2: same iterates."""
    data = load_data("synthetic:linear")
    alpha = 0.3
    result = descend(
        "linear",
        data,
        optimizer="gd",
        learning_rate=alpha / 2,
        max_iter=25,
        tol=0,
        record_path=True,
    )
    Xt = with_intercept(data.X)
    theta = np.zeros(Xt.shape[1])
    for k in range(25):
        theta = theta - alpha * Xt.T @ (Xt @ theta - data.y) / data.n_samples
        np.testing.assert_allclose(result.path[k + 1], theta, rtol=1e-12, atol=1e-14)


def test_gd_with_a_learning_rate_is_exactly_the_textbook_update():
    objective = make_model("logistic").objective(load_data("synthetic:logistic"))
    theta0 = np.array([0.2, -0.1, 0.4])
    result = optimize(objective, theta0, optimizer="gd", learning_rate=0.7, max_iter=1, tol=0)
    assert result.learning_rate == 0.7
    np.testing.assert_array_equal(result.theta, theta0 - 0.7 * objective.gradient(theta0))


# -- logistic regression reaches a second-order optimum -------------------------------------------


@pytest.mark.parametrize("optimizer", FULL_BATCH)
def test_every_optimizer_reaches_the_newton_optimum(optimizer):
    data = load_data("synthetic:logistic")
    result = descend("logistic", data, optimizer=optimizer, tol=1e-9, max_iter=50_000)
    truth = logistic_newton(data.X, data.y, 0.0)
    assert result.converged or result.stop_reason == "loss_change"  # L-BFGS-B at float precision
    assert np.linalg.norm(result.theta - truth) <= 1e-6 * np.linalg.norm(truth)
    assert result.loss == pytest.approx(logistic_loss(truth, data.X, data.y, 0.0), rel=1e-12)


@pytest.mark.parametrize("l2", [1e-4, 1 / 569, 1.0])
def test_raw_breast_cancer_converges_with_defaults_to_scipy_at_tight_tolerance(l2):
    """Raw features (areas near 650, smoothness near 0.1): Newton in a handful of steps."""
    data = load_data("builtin:breast_cancer")
    y = (data.y == "malignant").astype(float)
    result = descend("logistic", data, l2=l2)
    reference = scipy.optimize.minimize(
        logistic_loss,
        result.theta * 0.9,  # near, not at, the answer: SciPy must work for it
        args=(data.X, y, l2),
        jac=logistic_gradient,
        method="trust-exact",
        hess=logistic_hessian,
        options={"gtol": 1e-12, "maxiter": 1000},
    )
    best = min(reference.fun, logistic_loss(result.theta, data.X, y, l2))
    assert result.converged and result.optimizer_chosen == "newton" and result.iterations <= 15
    assert result.loss == pytest.approx(best, rel=1e-9)
    assert result.loss == pytest.approx(logistic_loss(result.theta, data.X, y, l2), rel=1e-13)


def test_logistic_on_real_data_reaches_scipy_bfgs():
    data = load_data("builtin:breast_cancer", standardize=True)
    y = (data.y == "malignant").astype(float)  # symcalc sorts labels: benign = 0, malignant = 1
    l2 = 0.01
    result = descend("logistic", data, l2=l2, optimizer="line-search", tol=1e-9)
    assert result.converged
    bfgs = scipy.optimize.minimize(
        logistic_loss,
        np.zeros(31),
        args=(data.X, y, l2),
        jac=logistic_gradient,
        method="BFGS",
        options={"gtol": 1e-11, "maxiter": 10_000},
    )
    newton = logistic_newton(data.X, y, l2)
    assert np.linalg.norm(bfgs.x - newton) <= 1e-6 * np.linalg.norm(newton)
    assert np.linalg.norm(result.theta - newton) <= 1e-6 * np.linalg.norm(newton)
    assert result.loss == pytest.approx(logistic_loss(newton, data.X, y, l2), rel=1e-12)
    assert (result.predict(data.X) == data.y).mean() > 0.97


@pytest.mark.parametrize("optimizer, standardize", [("nesterov", True), ("auto", False)])
def test_softmax_reaches_the_scipy_optimum(optimizer, standardize):
    data = load_data("builtin:iris", standardize=standardize)
    l2 = 0.05
    result = descend("softmax", data, l2=l2, optimizer=optimizer, tol=1e-9)
    assert result.converged
    classes = sorted(set(data.y))
    Y = np.array([[label == c for c in classes] for label in data.y], dtype=float)
    Xt = with_intercept(data.X)

    def loss(flat):  # independent: scipy's logsumexp
        Theta = flat.reshape(3, 5)
        Z = Xt @ Theta.T
        return np.mean(
            scipy.special.logsumexp(Z, axis=1) - (Z * Y).sum(axis=1)
        ) + 0.5 * l2 * np.sum(Theta[:, 1:] ** 2)

    def gradient(flat):
        Theta = flat.reshape(3, 5)
        R = scipy.special.softmax(Xt @ Theta.T, axis=1) - Y
        G = R.T @ Xt / len(Y)
        G[:, 1:] += l2 * Theta[:, 1:]
        return G.ravel()

    truth = scipy.optimize.minimize(
        loss, np.zeros(15), jac=gradient, method="BFGS", options={"gtol": 1e-11, "maxiter": 10_000}
    ).x
    assert np.linalg.norm(result.theta - truth) <= 1e-5 * np.linalg.norm(truth)
    assert result.loss == pytest.approx(loss(truth), rel=1e-12)


def test_gd_with_the_lipschitz_step_never_increases_a_convex_loss():
    for model, data in [("softmax", "synthetic:blobs"), ("logistic", "builtin:breast_cancer")]:
        result = descend(model, data, standardize=True, optimizer="gd", max_iter=300, tol=0)
        assert np.all(np.diff(result.history.loss) <= 1e-15 * result.history.loss[:-1])


def test_mlp_learns_the_moons():
    data = load_data("synthetic:moons")
    result = descend("mlp", data, hidden=8, activation="tanh", l2=1e-3, max_iter=3000)
    assert result.optimizer_chosen == "lbfgs"  # auto's choice for a network
    assert "not convex" in result.reason
    assert result.history.loss[-1] < 0.1 * np.log(2)  # a tenth of the loss of a coin toss
    assert (result.predict(data.X) == data.y.astype(int).astype(str)).mean() > 0.97
    again = descend("mlp", data, hidden=8, activation="tanh", l2=1e-3, max_iter=3000)
    np.testing.assert_array_equal(result.theta, again.theta)  # seeded start: reproducible


@pytest.mark.parametrize("activation", ["relu", "gelu", "sigmoid"])
def test_mlp_regression_on_real_data(activation):
    data = load_data("builtin:diabetes", standardize=True)
    result = descend(
        "mlp",
        data,
        hidden=6,
        activation=activation,
        loss="squared_error",
        optimizer="adam",
        learning_rate=0.05,
        max_iter=1500,
    )
    linear = np.mean((with_intercept(data.X) @ lstsq(data) - data.y) ** 2)
    assert result.data_loss < 1.2 * linear  # a network does at least about as well as least squares
    assert result.history.loss[-1] < 0.2 * result.history.loss[0]


# -- stopping rules, history, divergence -----------------------------------------------------------


def test_stop_reasons_and_history():
    data = load_data("synthetic:logistic")
    converged = descend("logistic", data)
    assert converged.stop_reason == "gradient_norm" and converged.optimality <= converged.tol
    capped = descend("logistic", data, optimizer="gd", max_iter=3)
    assert (capped.stop_reason, capped.iterations, capped.converged) == ("max_iter", 3, False)
    flat = descend("logistic", data, optimizer="gd", loss_tol=1e-4)
    assert flat.stop_reason == "loss_change" and not flat.converged
    assert "relative loss change" in flat.message
    for result in (converged, capped, flat):
        assert result.stop_reason in STOP_REASONS
        history = result.history
        assert (
            len(history.loss)
            == len(history.gradient_norm)
            == len(history.step_size)
            == result.iterations + 1
        )
        assert history.step_size[0] == 0 and result.loss == history.loss.min()


@pytest.mark.parametrize("optimizer", ["gd", "momentum", "nesterov"])
def test_too_large_a_learning_rate_is_caught(optimizer):
    data = load_data("synthetic:linear")
    lipschitz = make_model("linear").objective(data).lipschitz
    result = descend("linear", data, optimizer=optimizer, learning_rate=5 / lipschitz)
    assert result.stop_reason == "diverged" and not result.converged
    assert "lower the learning rate" in result.message
    assert np.isfinite(result.theta).all() and np.isfinite(result.loss)
    assert (
        np.isfinite(result.history.loss).all() and result.history.loss[-1] > result.history.loss[0]
    )
    assert result.loss == result.history.loss.min()  # the best iterate, not the last
    json.dumps(result.to_dict(), allow_nan=False)


def test_slow_growth_is_caught_and_the_best_iterate_returned():
    """Just above the stable step the loss dips, then grows slowly: divergence, not max_iter."""
    data = load_data("builtin:diabetes", standardize=True)
    result = descend("linear", data, optimizer="gd", learning_rate=0.25, max_iter=200)
    assert result.stop_reason == "diverged" and "rose" in result.message
    assert result.history.loss[-1] > result.history.loss[0]
    assert result.loss == result.history.loss.min() < 0.2 * result.history.loss[0]
    objective = make_model("linear").objective(data)
    assert result.loss == pytest.approx(objective.value(result.theta), rel=1e-14)


def test_nan_is_never_returned():
    data = Dataset(np.array([[1e200], [-1e200], [3.0]]), np.array([1.0, 2.0, 3.0]), ("x",), "y")
    result = descend("linear", data, learning_rate=1.0)
    assert result.optimizer_chosen == "gd" and "a learning rate was given" in result.reason
    assert result.stop_reason == "diverged"
    assert np.isfinite(result.theta).all() and np.isfinite(result.loss)


@pytest.mark.parametrize("optimizer", FULL_BATCH)
def test_tol_bounds_the_scaled_gradient_whenever_converged(optimizer):
    from symcalc.learn.scaling import Scaling

    data = load_data("synthetic:blobs")
    objective = make_model("softmax").objective(data)
    scaling = Scaling.for_features(data.X, objective.feature_blocks, objective.n_parameters)
    for tol in (1e-3, 1e-7):
        result = descend("softmax", data, optimizer=optimizer, tol=tol, max_iter=20_000)
        assert result.converged
        working = scaling.gradient_to_working(objective.gradient(result.theta))
        start = scaling.gradient_to_working(objective.gradient(np.zeros(objective.n_parameters)))
        assert np.linalg.norm(working) <= tol * np.linalg.norm(start) * (1 + 1e-6)


def test_one_tol_means_the_same_on_rescaled_data():
    """Features ×1000 and target ×1000: the same iterations, θ and J rescaled, same verdict."""
    data = load_data("builtin:diabetes")
    big = Dataset(data.X * 1000, data.y * 1000, data.feature_names, "progression")
    for optimizer in ("newton", "lbfgs", "nesterov"):
        a = descend("linear", data, optimizer=optimizer, tol=1e-7)
        b = descend("linear", big, optimizer=optimizer, tol=1e-7)
        assert a.converged and b.converged
        assert b.loss == pytest.approx(1e6 * a.loss, rel=1e-9)
        if optimizer != "lbfgs":  # L-BFGS-B's first step is 1/‖∇J‖: not scale-free
            assert a.iterations == b.iterations
            np.testing.assert_allclose(b.theta[1:], a.theta[1:], rtol=1e-8)
            assert b.optimality == pytest.approx(a.optimality, rel=1e-3, abs=1e-13)


def test_default_step_sizes():
    from symcalc.learn.scaling import Preconditioned, Scaling

    data = load_data("synthetic:linear")
    objective = make_model("linear").objective(data)
    raw = optimize(objective, optimizer="gd", precondition=False)
    assert raw.learning_rate == pytest.approx(1 / objective.lipschitz)
    working = Preconditioned(
        objective, Scaling.for_features(data.X, objective.feature_blocks, objective.n_parameters)
    )
    assert descend("linear", data, optimizer="gd").learning_rate == pytest.approx(
        1 / working.lipschitz
    )
    assert descend("linear", data, optimizer="adam").learning_rate == 0.1
    # Power iteration on the (exact, for a quadratic) Hessian approaches λ_max from below.
    quadratic = estimate_lipschitz(objective, np.zeros(4), iterations=200)
    assert 0.999 * objective.lipschitz <= quadratic <= objective.lipschitz * (1 + 1e-6)
    rng = np.random.default_rng(0)
    for _ in range(10):  # the bound in standardized coordinates holds
        a, b = rng.normal(scale=2, size=(2, 4))
        change = np.linalg.norm(working.gradient(a) - working.gradient(b))
        assert change <= working.lipschitz * np.linalg.norm(a - b) * (1 + 1e-12)


def test_callback_and_progress_bar():
    seen = []
    result = descend(
        "linear", "synthetic:linear", callback=lambda k, loss, norm: seen.append((k, loss, norm))
    )
    assert [k for k, _, _ in seen] == list(range(1, result.iterations + 1))
    assert seen[-1][1] == result.loss
    stream = io.StringIO()
    bar = ProgressBar(100, stream=stream, delay=0.0)
    bar(50, 0.5, 1e-3)
    assert "[###############...............] 50/100" in stream.getvalue()
    bar.close()
    assert stream.getvalue().endswith("\r")
    quiet = io.StringIO()
    late = ProgressBar(100, stream=quiet, delay=60.0)
    late(1, 1.0, 1.0)
    late.close()
    assert quiet.getvalue() == ""


def test_result_json_and_text():
    result = descend("softmax", "builtin:iris", standardize=True, l2=0.01)
    data = result.to_dict()
    assert list(data) == [*CONTRACT_KEYS, "accuracy"]  # a classifier adds its accuracy
    assert data["accuracy"] == result.training_accuracy > 0.9
    assert data["optimizer"] == "auto" and data["optimizer_chosen"] == "newton"
    assert data["reason"].startswith("15 parameters ≤ 1000")
    assert set(data["history"]) == {"loss", "gradient_norm", "step_size"}
    assert len(data["theta"]) == 3 and len(data["theta"][0]) == 5
    json.dumps(data, allow_nan=False)
    text = result.to_text()
    assert "converged: gradient norm" in text and "virginica: petal_width" in text
    assert "optimizer auto → newton: 15 parameters" in text
    assert repr(result).startswith("<DescentResult softmax newton: J = ")
    assert isinstance(result, DescentResult)


def test_unscaled_features_get_a_hint_when_not_preconditioned():
    result = descend("linear", "builtin:diabetes", learning_rate=1e-4, max_iter=50)
    assert not result.converged and not result.preconditioned
    assert "`standardize=True`" in result.message
    assert "--" not in result.message  # the library names parameters; flags are the CLI's


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"optimizer": "adma"}, r"unknown optimizer 'adma'; did you mean 'adam'\?"),
        ({"optimizer": "newtn"}, r"unknown optimizer 'newtn'; did you mean 'newton'\?"),
        ({"optimizer": "sgd", "batch_size": 0}, r"`batch_size` must be a whole number ≥ 1"),
        ({"optimizer": "sgd", "epochs": 2.5}, r"`epochs` must be a whole number ≥ 1"),
        ({"optimizer": "sgd", "schedule": "cosin"}, r"unknown schedule 'cosin'; did you mean"),
        ({"learning_rate": 0}, r"`learning_rate` must be a finite number > 0"),
        ({"learning_rate": float("nan")}, r"`learning_rate` must be a finite number > 0"),
        ({"learning_rate": "fast"}, r"`learning_rate` must be a number"),
        ({"max_iter": 0}, r"`max_iter` must be a whole number ≥ 1"),
        ({"max_iter": 10.5}, r"`max_iter` must be a whole number ≥ 1"),
        ({"tol": -1}, r"`tol` must be a finite number ≥ 0"),
        ({"loss_tol": float("inf")}, r"`loss_tol` must be a finite number ≥ 0"),
        ({"momentum": 1.0}, r"momentum must be in \[0, 1\)"),
        ({"theta0": [0.0, 1.0]}, r"theta0 must have 4 values, got 2"),
        ({"theta0": [0.0, np.nan, 0.0, 0.0]}, r"theta0 holds NaN or infinite values"),
        ({"l2": -0.5}, r"`l2` must be a finite number ≥ 0"),
        ({"target": "y2"}, r"has one target column, 'y'; drop `target`"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(SymcalcError, match=message) as refused:
        descend("linear", "synthetic:linear", **kwargs)
    name = next(k for k in kwargs if k != "optimizer" or len(kwargs) == 1)
    if f"`{name}`" in message:  # a message that names a parameter says which one
        assert refused.value.parameter == name


def test_bad_data_arguments(rng):
    with pytest.raises(
        SymcalcError, match=r"target names a CSV column; with arrays pass data=\(X, y\)"
    ):
        descend("linear", (rng.standard_normal((5, 2)), np.ones(5)), target="y")
    with pytest.raises(SymcalcError, match=r"data must be a Dataset or a pair"):
        descend("linear", [1, 2, 3])
    with pytest.raises(SymcalcError, match=r"not finite at the starting point"):
        descend("linear", (np.array([[1e300], [2e300]]), np.array([1e300, 1.0])))


def test_arrays_can_be_standardized_on_the_way_in(rng):
    X = rng.normal(loc=100.0, scale=20.0, size=(50, 2))
    y = X @ [0.5, -0.25] + rng.standard_normal(50)
    result = descend("linear", (X, y), standardize=True, tol=1e-10)
    Xs = (X - X.mean(axis=0)) / X.std(axis=0)
    np.testing.assert_allclose(
        result.theta, np.linalg.lstsq(with_intercept(Xs), y, rcond=None)[0], rtol=1e-7
    )


# -- figures --------------------------------------------------------------------------------------


def test_loss_curves_figure(tmp_path):
    from symcalc.present.files import save_figure
    from symcalc.present.plotting import plot_descent

    runs = [
        descend("linear", "builtin:diabetes", standardize=True, optimizer=o)
        for o in ("gd", "nesterov")
    ]
    figure = plot_descent(runs)
    left, right = figure.axes[:2]
    assert left.get_yscale() == "log" and right.get_yscale() == "log"
    assert {line.get_gid() for line in right.get_lines() if line.get_gid()} == {
        "gradient_norm-gd",
        "gradient_norm-nesterov",
    }
    for dpi in (100, 200):
        path = save_figure(figure, tmp_path / f"curves{dpi}.png", dpi=dpi)
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_contour_paths_figure_for_two_parameters():
    from symcalc.present.plotting import plot_descent_paths

    data = synthetic("linear", n_features=1)
    names = ["gd", "nesterov", "newton", "lbfgs"]
    runs = [descend("linear", data, optimizer=o, record_path=True) for o in names]
    figure = plot_descent_paths(runs)
    contour_panels = [ax for ax in figure.axes if ax.get_xlabel() == "intercept"]
    assert len(contour_panels) == len(names)
    assert [ax.get_title().split(" ")[0].rstrip(":") for ax in contour_panels] == names
    three = descend("linear", "synthetic:linear", record_path=True)
    with pytest.raises(SymcalcError, match=r"need a two-parameter problem .* got 4 parameters"):
        plot_descent_paths([three])
    with pytest.raises(
        SymcalcError, match=r"has no recorded path; call descend\(\.\.\., record_path=True\)"
    ):
        plot_descent_paths([descend("linear", data)])
    other = descend("linear", synthetic("linear", n_features=1, seed=5), record_path=True)
    with pytest.raises(SymcalcError, match=r"different objectives"):
        plot_descent_paths([runs[0], other])


def test_separable_classes_are_detected_with_the_hint_to_add_l2():
    """Logistic regression on separable data has no finite minimum: say so, and how to fix it."""
    X = np.array([[-2.0], [-1.0], [1.0], [2.0]])
    y = np.array([0.0, 0.0, 1.0, 1.0])
    for optimizer in ("auto", "gd", "lbfgs"):
        result = descend("logistic", (X, y), optimizer=optimizer, max_iter=5000)
        assert result.stop_reason == "separable" and not result.converged
        assert "linearly separable" in result.message and "`l2=0.01`" in result.message
        assert result.iterations < 100
        assert (result.predict(X) == np.array(["0", "0", "1", "1"])).all()
    regularized = descend("logistic", (X, y), l2=0.1)
    assert regularized.converged and "separable" not in regularized.message
    softmax = descend("softmax", "builtin:iris", standardize=True, l2=1e-4)  # a finite optimum
    assert softmax.converged
    cancer = descend("logistic", "builtin:breast_cancer")  # 30 features separate the classes
    assert cancer.stop_reason == "separable" and cancer.training_accuracy == 1.0


def _separable_from_the_rest(X: np.ndarray, inside: np.ndarray) -> bool:
    """Whether a hyperplane u·[1, x] has ``inside`` rows strictly on its positive side and
    the others on its negative one (a linear programme, independent of symcalc)."""
    sign = np.where(inside, 1.0, -1.0)
    tilde = with_intercept(X)
    found = scipy.optimize.linprog(
        np.zeros(tilde.shape[1]),
        A_ub=-sign[:, None] * tilde,
        b_ub=-np.ones(len(X)),
        bounds=[(None, None)] * tilde.shape[1],
        method="highs",
    )
    return found.status == 0


@pytest.mark.parametrize("optimizer", ["auto", "lbfgs", "trust-ncg", "newton-cg", "line-search"])
def test_one_class_separable_from_the_rest_puts_the_softmax_optimum_at_infinity(optimizer):
    """Setosa is linearly separable from the other two iris species (the others overlap):
    adding t·u to setosa's row lowers every sample's loss, so unpenalized softmax has no
    minimizer.  Old: 'converged' at a J that was only the infimum, θ different per
    optimizer (|θ| 20 to 49)."""
    data = load_data("builtin:iris", standardize=True)
    setosa = data.y == "setosa"
    assert _separable_from_the_rest(data.X, setosa)
    assert not _separable_from_the_rest(data.X, data.y == "virginica")
    result = descend("softmax", data, optimizer=optimizer)
    assert result.stop_reason == "separable" and not result.converged
    assert "class 'setosa' is linearly separable" in result.message
    assert "`l2=0.01`" in result.message
    assert result.iterations < 100


def test_overlapping_classes_are_not_called_separable():
    """No class of these three is separable from the rest (each overlaps another): the
    certificate must not fire; softmax converges to SciPy's optimum."""
    rng = np.random.default_rng(3)
    X = rng.standard_normal((300, 2))
    y = np.digitize(X @ [1.0, 0.5] + rng.standard_normal(300), [-0.5, 0.5]).astype(float)
    for c in np.unique(y):
        assert not _separable_from_the_rest(X, y == c)
    result = descend("softmax", (X, y))
    assert result.converged and result.stop_reason == "gradient_norm"


def _group_separable(seed: int) -> tuple[np.ndarray, np.ndarray]:
    """4 classes: {0, 1} on one side of x₀ = 0, {2, 3} on the other, mixed within."""
    rng = np.random.default_rng(seed)
    X = rng.standard_normal((300, 3))
    X[:, 0] = np.abs(X[:, 0]) + 0.1
    top = rng.random(300) < 0.5
    X[top, 0] *= -1
    return X, np.where(top, rng.integers(0, 2, 300), rng.integers(2, 4, 300)).astype(float)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("optimizer", ["auto", "lbfgs", "trust-ncg", "newton-cg"])
def test_a_group_of_classes_separable_from_the_rest_is_detected(seed, optimizer):
    """Classes {0, 1} together are separable from {2, 3} (no class alone is): adding t·u
    to both their rows lowers every sample's loss, so unpenalized softmax has no
    minimizer.  Old: 'converged' (J 0.6736 on seed 0) with |θ| 88 to 157 by optimizer."""
    X, y = _group_separable(seed)
    assert _separable_from_the_rest(X, y <= 1)
    assert not any(_separable_from_the_rest(X, y == c) for c in range(4))
    result = descend("softmax", (X, y), optimizer=optimizer)
    assert result.stop_reason == "separable" and not result.converged
    assert "together are linearly separable" in result.message
    assert "`l2=0.01`" in result.message
    assert result.iterations < 100
    penalized = descend("softmax", (X, y), l2=0.01, optimizer=optimizer)
    assert penalized.converged


def _quasi_separable(K: int) -> tuple[np.ndarray, np.ndarray]:
    """Class K−1 on x₀ > 0, the others on x₀ < 0, and at two points of x₀ = 0 one sample
    of every class: separated but for samples on the hyperplane (quasi-complete)."""
    rng = np.random.default_rng(0)
    x0 = np.r_[-rng.random(20 * (K - 1)) - 0.1, rng.random(20) + 0.1, np.zeros(2 * K)]
    x1 = np.r_[rng.standard_normal(20 * K), np.repeat([-0.5, 0.7], K)]
    labels = np.r_[rng.integers(0, K - 1, 20 * (K - 1)), np.full(20, K - 1), np.arange(2 * K) % K]
    return np.column_stack([x0, x1]), labels.astype(float)


def _recession_lp(X: np.ndarray, y: np.ndarray, K: int) -> bool:
    """Whether some D has (D_c − D_y)·x̃ ≤ 0 for every sample and class c ≠ y, with sum
    −1: J(θ + tD) falls for ever (a linear programme, independent of symcalc)."""
    tilde, codes = with_intercept(X), y.astype(int)
    rows = []
    for i, x in enumerate(tilde):
        for c in set(range(K)) - {codes[i]}:
            row = np.zeros((K, len(x)))
            row[c] += x
            row[codes[i]] -= x
            rows.append(row.ravel())
    A = np.array(rows)
    found = scipy.optimize.linprog(
        np.zeros(A.shape[1]),
        A_ub=np.vstack([A, A.sum(axis=0)]),
        b_ub=np.r_[np.zeros(len(A)), -1.0],
        bounds=(-10, 10),
        method="highs",
    )
    return found.status == 0


@pytest.mark.parametrize("optimizer", ["auto", "lbfgs", "trust-ncg", "newton-cg"])
@pytest.mark.parametrize("model", ["logistic", "softmax"])
def test_quasi_complete_separation_is_detected(model, optimizer):
    """Samples on the separating hyperplane: no θ classifies them all right and no class
    has every sample strictly on its side, yet J(θ + tD) falls for ever along D.  Old:
    logistic 'converged' with w₀ from 204 to 219 by optimizer."""
    K = 2 if model == "logistic" else 3
    X, y = _quasi_separable(K)
    if model == "logistic":
        y = (y == 1).astype(float)
    assert _recession_lp(X, y, K)
    assert not _separable_from_the_rest(X, y == K - 1)
    result = descend(model, (X, y), optimizer=optimizer)
    assert result.stop_reason == "separable" and not result.converged
    assert "`l2=0.01`" in result.message
    assert descend(model, (X, y), l2=0.01, optimizer=optimizer).converged


def test_newton_handles_a_singular_hessian():
    """A repeated column makes ∇²J singular: the regularized solve still reaches the optimum."""
    data = load_data("synthetic:linear")
    X = np.column_stack([data.X, data.X[:, 0]])
    result = descend("linear", (X, data.y))
    assert result.converged and result.optimizer_chosen == "newton"
    fitted = with_intercept(X) @ result.theta
    best = with_intercept(data.X) @ lstsq(data)
    np.testing.assert_allclose(fitted, best, rtol=1e-9, atol=1e-9)
    assert "regularized" in result.message


def test_auto_chooses_by_problem_size_and_says_why(monkeypatch):
    import symcalc.learn.optimizers as optimizers

    small = descend("logistic", "synthetic:logistic")
    assert small.optimizer_chosen == "newton" and "3 parameters ≤ 1000" in small.reason
    monkeypatch.setattr(optimizers, "NEWTON_MAX_PARAMETERS", 2)
    large = descend("logistic", "synthetic:logistic")
    assert large.optimizer_chosen == "newton-cg" and "Hessian-vector product" in large.reason
    assert large.converged and large.loss == pytest.approx(small.loss, rel=1e-12)
    monkeypatch.setattr(optimizers, "NEWTON_MAX_PARAMETERS", 1000)
    monkeypatch.setattr(optimizers, "NEWTON_MAX_COST", 1)
    monkeypatch.setattr(optimizers, "NEWTON_SMALL_OPERATIONS", 0)
    costly = descend("logistic", "synthetic:logistic")
    assert costly.optimizer_chosen == "newton-cg" and "gradient passes" in costly.reason
    assert costly.loss == pytest.approx(small.loss, rel=1e-12)
    import symcalc.learn.descent as descent_module

    monkeypatch.setattr(optimizers, "NEWTON_MAX_COST", 40)
    monkeypatch.setattr(descent_module, "COSTLY_HESSIAN", 0)  # as if the data were large
    conditioned = descend("logistic", "synthetic:logistic")
    assert (
        conditioned.optimizer_chosen == "lbfgs" and "well conditioned (κ = " in conditioned.reason
    )
    collinear = descend("logistic", "builtin:breast_cancer", l2=1e-3)
    assert collinear.optimizer_chosen == "newton" and "too ill-conditioned" in collinear.reason
    network = descend("mlp", "synthetic:moons", hidden=3, max_iter=20)
    assert network.optimizer_chosen == "lbfgs" and "not convex" in network.reason
    rate = descend("linear", "synthetic:linear", learning_rate=0.01, max_iter=5)
    assert rate.optimizer_chosen == "gd" and rate.history.step_size[1] == 0.01


@pytest.mark.parametrize(
    "model, data, l2",
    [
        ("linear", "builtin:diabetes", 0.0),
        ("logistic", "builtin:breast_cancer", 1e-4),
        ("softmax", "builtin:iris", 1e-4),
        ("softmax", "builtin:wine", 1e-4),
    ],
)
def test_newton_needs_a_handful_of_iterations_raw_or_standardized(model, data, l2):
    for standardize in (False, True):
        result = descend(model, data, l2=l2, standardize=standardize)
        assert result.converged and result.optimizer_chosen == "newton"
        assert result.iterations <= 15


def test_preconditioning_changes_the_path_not_the_answer():
    objective = make_model("logistic").objective(load_data("builtin:breast_cancer"), l2=0.01)
    inside = optimize(objective, optimizer="newton")
    outside = optimize(objective, optimizer="newton", precondition=False)
    assert inside.preconditioned and not outside.preconditioned
    assert inside.loss == pytest.approx(outside.loss, rel=1e-12)
    np.testing.assert_allclose(inside.theta, outside.theta, rtol=1e-6, atol=1e-9)


def test_classifiers_report_their_training_accuracy():
    result = descend("logistic", "builtin:breast_cancer", standardize=True, l2=0.01)
    data = load_data("builtin:breast_cancer", standardize=True)
    predicted = result.predict(data.X)
    assert result.training_accuracy == pytest.approx(float((predicted == data.y).mean()))
    assert 0.95 < result.training_accuracy <= 1.0
    assert f"training accuracy: {result.training_accuracy:.4f}" in result.to_text()
    assert descend("linear", "synthetic:linear").training_accuracy is None


@pytest.mark.parametrize("name", ["logistic", "softmax"])
@pytest.mark.parametrize("l2", [0.0, 0.01])
def test_newton_stops_when_no_step_changes_j(name, l2):
    # float32 X: J is exact to ~1e-7, so the default tol is out of reach.  Armijo's test
    # passed a step so small that θ + tp == θ (J + c·t·∇Jᵀp rounds to J), and Newton
    # "stepped" in place until max_iter (10,000 iterations, 47 s on 30 × 3); with l2 = 0.01
    # it took steps where J stayed the same and ‖∇J‖ fell by 3e-24 each (91 s).
    rng = np.random.default_rng(0)
    X = rng.normal(size=(30, 3))
    y = (X[:, 0] + rng.normal(size=30) > 0).astype(int)
    result = descend(name, (X.astype(np.float32), y), l2=l2, optimizer="newton", max_iter=300)
    assert result.iterations < 50
    # Since float32 X is summed in float64, the run converges to the float64 optimum of
    # the float32 values (it used to stop `loss_change`, J right to ~1e-7).
    exact = descend(name, (X.astype(np.float32).astype(float), y), l2=l2, optimizer="newton")
    assert result.converged and result.stop_reason == "gradient_norm"
    assert result.loss == pytest.approx(exact.loss, rel=1e-13)


def test_float32_data_reach_the_float64_optimum():
    # 20,000 × 30 float32, features spread 1e-8…1e8 about large offsets, a duplicate and a
    # constant column, ridge l2 = 1: Newton said converged with J 1.2e-7 above the float64
    # optimum J* of the same (float32) values; it now reaches J* (J within 1e-12).
    rng = np.random.default_rng(91)
    m, n = 20000, 30
    Z = rng.standard_normal((m, n))
    scale = 10.0 ** rng.uniform(-8, 8, n)
    X = Z * scale + rng.choice([1.0, -1.0], n) * 10.0 ** rng.uniform(0, 5, n) * scale
    X[:, -1] = X[:, 0] * 2.5
    X[:, 1] = 7.0
    X = X.astype(np.float32)
    y = 3.0 + Z @ rng.standard_normal(n) + rng.standard_normal(m)
    result = descend("linear", (X, y), l2=1.0)
    X64 = X.astype(float)
    keep = X64.std(axis=0) > 0  # J* by a direct solve in standardized units
    mu, s = X64[:, keep].mean(0), X64[:, keep].std(0)
    A = np.column_stack([np.ones(m), (X64[:, keep] - mu) / s])
    D = np.r_[0.0, 1.0 / s**2]  # λ·‖w‖² = λ·‖w'/s‖²
    H = 2 * A.T @ A / m + np.diag(D)
    t = np.linalg.solve(H, 2 * A.T @ y / m)
    J_star = np.mean((A @ t - y) ** 2) + 0.5 * np.sum(D * t**2)
    assert result.converged
    assert result.loss == pytest.approx(J_star, rel=1e-12)


def _logistic_j(theta, X, y, l2):
    """J = mean log(1 + exp(−s·z)) + (λ/2)‖w‖², s = ±1: accurate where J ≪ 1."""
    z = X @ theta[1:] + theta[0]
    return np.mean(np.logaddexp(0.0, -(2.0 * y - 1.0) * z)) + 0.5 * l2 * theta[1:] @ theta[1:]


def _logistic_derivatives(theta, X, y, l2):
    A = np.hstack([np.ones((len(y), 1)), X])
    p = scipy.special.expit(A @ theta)
    penalty = np.r_[0.0, np.full(X.shape[1], l2)]
    gradient = A.T @ (p - y) / len(y) + penalty * theta
    hessian = A.T @ (A * (p * (1 - p))[:, None]) / len(y) + np.diag(penalty)
    return gradient, hessian


@pytest.mark.parametrize("seed", [6, 8])
def test_newton_converged_means_j_at_its_minimum_when_j_star_is_tiny(seed):
    # 10 samples, 20 features spread over 1e-6..1e6: with λ = 0.01 on the weights in
    # the user's units the large features are barely penalized and J* ≈ 1e-7 ≪ J(θ₀) =
    # log 2.  The gradient fell to 1e-8 of its start with J still 1.75 (seed 6) and 8.6e-5
    # (seed 8) times J* above it, and the run said converged; Newton's decrement now
    # has to put J within 1e-10 of J* too.
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(10, 20))
    y = (X[:, 0] + X[:, 1] + rng.normal(size=10) > 0).astype(float)
    X *= 10.0 ** rng.integers(-6, 7, 20)
    result = descend("logistic", (X, y), l2=0.01)
    reference = scipy.optimize.minimize(
        _logistic_j,
        result.theta,
        args=(X, y, 0.01),
        method="trust-exact",
        jac=lambda t, *a: _logistic_derivatives(t, *a)[0],
        hess=lambda t, *a: _logistic_derivatives(t, *a)[1],
        options={"gtol": 1e-15, "maxiter": 200},
    )
    best = min(reference.fun, _logistic_j(result.theta, X, y, 0.01))
    assert result.converged and result.optimizer_chosen == "newton"
    assert result.loss == pytest.approx(_logistic_j(result.theta, X, y, 0.01), rel=1e-12)
    assert result.loss == pytest.approx(best, rel=1e-9)


def _ridge_optimum(X, y, l2):
    """min (1/m)‖Xw + b − y‖² + (λ/2)‖w‖², by lstsq on centred columns."""
    m, n = X.shape
    mean = X.mean(axis=0)
    A = np.vstack([X - mean, np.sqrt(m * l2 / 2) * np.eye(n)])
    w = np.linalg.lstsq(A, np.concatenate([y - y.mean(), np.zeros(n)]), rcond=None)[0]
    r = (X - mean) @ w + y.mean() - y
    return float(np.mean(r**2) + l2 / 2 * w @ w)


@pytest.mark.parametrize("seed, shape", [(5, (5, 60)), (1, (10, 200))])
def test_newton_cg_converged_means_j_at_its_minimum(seed, shape):
    # Ridge with fewer samples than features (61 and 201 parameters): Newton-CG's
    # gradient fell to 1e-8 of its start with J still 9e-4 (5 × 60) and 8.5e-4 (10 × 200)
    # above J*, relative, and the run said converged.  The decrement ½gᵀH⁻¹g now has to
    # agree.  auto takes Newton here (its Hessian costs milliseconds): the same optimum.
    rng = np.random.default_rng(seed)
    if shape == (10, 200):
        rng.normal(size=(5, 60)), rng.normal(size=60), rng.normal(size=5)
    X = rng.normal(size=shape)
    y = X @ rng.normal(size=shape[1]) + rng.normal(size=shape[0])
    truth = _ridge_optimum(X, y, 1e-6)
    for optimizer in ("newton-cg", "auto"):
        result = descend("linear", (X, y), l2=1e-6, optimizer=optimizer)
        assert result.converged and result.loss == pytest.approx(truth, rel=1e-9)
    assert result.optimizer_chosen == "newton" and "milliseconds" in result.reason


def test_the_decrement_bound_keeps_1e_9_down_to_j_star_1e_15_of_the_start():
    """Softmax on 5 samples × 80 features (scales 1e-8..1e8), λ = 1: J* ≈ 3e-13 against
    J(θ₀) = log 5.  The floor 1e-20·J(θ₀) of the decrement bound allowed J − J* ≈ 5e-8·J*
    there, and Newton said converged 1.8e-9 and 2.2e-9 above the J Newton-CG reached
    (fuzz, seeds 0 and 1 of that shape).  The bound is now within 1e-9·J for every
    J ≥ 1.2e-15·J(θ₀), and still above the rounding of an exact least-squares fit."""
    from symcalc.learn.scaling import Scaling
    from symcalc.learn.stopping import Monitor

    monitor = Monitor(Scaling.none(1), working=False, max_iter=10, tol=1e-8)
    monitor.start(np.zeros(1), np.log(5.0), np.ones(1))
    for loss in (3e-13, 1e-14, 2e-15):
        assert monitor.decrement_bound(loss) <= 1e-9 * loss
    assert monitor.decrement_bound(0.0) >= 1e-28 * np.log(5.0)


def test_auto_takes_newton_where_the_hessian_is_small_though_costly_next_to_a_gradient():
    """Softmax on 5 samples × 80 features, 5 classes (405 parameters): one Hessian is 243
    gradient passes, so auto took Newton-CG, however small the data (in the fuzz, with
    scales 1e-8..1e8 and offsets, it stalled NOT converged with J 61× above its minimum).
    The Hessian costs milliseconds: auto now takes Newton, which reaches the optimum
    SciPy's trust-exact (on NumPy derivatives) finds."""
    rng = np.random.default_rng(0)
    X = rng.normal(size=(5, 80)) * np.logspace(-3, 0, 80)
    y = np.arange(5.0)
    result = descend("softmax", (X, y), l2=1.0)
    assert result.optimizer_chosen == "newton" and "milliseconds" in result.reason
    assert result.converged
    Xt = with_intercept(X)
    D = np.zeros((5, 81))
    D[:, 1:] = 1.0

    def J(t):
        Z = Xt @ t.reshape(5, 81).T
        return np.mean(scipy.special.logsumexp(Z, axis=1) - Z[np.arange(5), y.astype(int)]) + (
            0.5 * np.sum(D * t.reshape(5, 81) ** 2)
        )

    def derivatives(t):
        T = t.reshape(5, 81)
        P = scipy.special.softmax(Xt @ T.T, axis=1)
        g = ((P - np.eye(5)).T @ Xt / 5 + D * T).ravel()
        H = np.zeros((5, 81, 5, 81))
        for c in range(5):
            for d in range(5):
                H[c, :, d, :] = Xt.T @ (Xt * (P[:, c] * ((c == d) - P[:, d]))[:, None]) / 5
        return g, H.reshape(405, 405) + np.diag(D.ravel())

    reference = scipy.optimize.minimize(
        J,
        np.zeros(405),
        jac=lambda t: derivatives(t)[0],
        hess=lambda t: derivatives(t)[1],
        method="trust-exact",
        options={"gtol": 1e-13},
    )
    assert result.loss <= reference.fun * (1 + 1e-9)


def test_lbfgs_converged_means_j_at_its_minimum():
    # Ridge on 5 × 10 with λ = 1e-6 (condition ≈ 1e7 in standardized units): L-BFGS's
    # gradient fell to 1e-8 of its start after 57 iterations with J 1.1e-3 above J*
    # (relative), and the run said converged.  Every optimizer of a convex model now also
    # needs the decrement ½gᵀH⁻¹g (conjugate gradients on Hessian-vector products).
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 10))
    y = X @ rng.normal(size=10) * 10 + rng.normal(size=5)
    result = descend("linear", (X, y), l2=1e-6, optimizer="lbfgs")
    assert result.converged
    assert result.loss == pytest.approx(_ridge_optimum(X, y, 1e-6), rel=1e-9)


def test_a_loose_tol_asks_a_loose_decrement():
    # The decrement bound goes as tol² (J − J* as the gradient squared): tol = 1e-3 stops
    # where the gradient test alone stops.
    rng = np.random.default_rng(2)
    X = rng.normal(size=(5, 10))
    y = X @ rng.normal(size=10) * 10 + rng.normal(size=5)
    result = descend("linear", (X, y), l2=1e-6, optimizer="gd", tol=1e-3)
    assert result.converged and result.optimality <= 1e-3
    assert result.optimality > 1e-4  # it did not run on


def test_the_decrement_check_is_exact_where_the_hessian_is_cheap(rng):
    """Two nearly collinear columns: ∇²J has eigenvalues ~4 and ~1e-12.  At θ* + d, d mostly
    along the large one plus a piece along the small one, conjugate gradients stop at their
    1e-3 residual after a step and see ½gᵀH⁻¹g ≈ 2 where it is ≈ 1e5 (the old check then
    confirmed a J far above its minimum, as trust-ncg did on softmax with λ = 1e-12).  With
    a Hessian cheaper than the products, the check solves with it: the decrement is exact."""
    from symcalc.learn.optimizers import decrement_check
    from symcalc.learn.scaling import Scaling
    from symcalc.learn.stopping import Monitor

    x = rng.normal(size=400)
    X = np.column_stack([x, x + 1e-6 * rng.normal(size=400)])
    X = (X - X.mean(axis=0)) / X.std(axis=0)
    y = X @ [1.0, 2.0] + 0.1 * rng.normal(size=400)
    objective = make_model("linear").objective((X, y))
    H = objective.hessian(np.zeros(3))
    values, vectors = np.linalg.eigh(H)
    optimum = np.linalg.solve(H, -objective.gradient(np.zeros(3)))
    small, large = vectors[:, 0], vectors[:, -1]
    theta = optimum + large + 1e-4 * values[-1] / values[0] * small
    loss, gradient = objective.value_and_gradient(theta)
    truth = 0.5 * gradient @ np.linalg.solve(H, gradient)
    assert truth > 1e4
    monitor = Monitor(Scaling.none(3), working=False, max_iter=10, tol=1e-8)
    monitor.start(theta, loss, gradient)
    why = decrement_check(objective, monitor)(loss)
    assert why, "confirmed a J about 1e5 above its minimum"
    reported = float(why.split("½gᵀH⁻¹g = ")[1].split()[0])
    assert reported == pytest.approx(truth, rel=1e-3)


def _softmax_problem(seed, m, n, K, scale):
    rng = np.random.default_rng(seed)
    Z = rng.standard_normal((m, n))
    y = (Z @ (rng.standard_normal((n, K)) * 2) + rng.gumbel(size=(m, K))).argmax(axis=1)
    return Z * scale, y.astype(float)


@pytest.mark.parametrize("seed", [0, 1])
@pytest.mark.parametrize("optimizer", ["lbfgs", "trust-ncg"])
def test_scipy_methods_converge_where_j_is_flat_to_rounding(seed, optimizer):
    # softmax, 2000 × 2, K = 11, λ = 1e4: J − J* falls below J's rounding while ‖∇J‖ is
    # still above tol, and L-BFGS-B stopped "no reduction" (honestly, not converged).
    # Newton steps accepted on a halved gradient now finish the run at J*.
    X, y = _softmax_problem(seed, 2000, 2, 11, 1.0)
    result = descend("softmax", (X, y), l2=1e4, optimizer=optimizer)
    reference = descend("softmax", (X, y), l2=1e4, optimizer="newton")
    assert reference.converged
    assert result.converged and result.stop_reason == "gradient_norm"
    assert result.loss == pytest.approx(reference.loss, rel=1e-14)
    np.testing.assert_allclose(result.theta, reference.theta, rtol=1e-6, atol=1e-9)


def test_lbfgs_confirms_convergence_off_softmax_null_directions():
    # softmax 2000 × 30, K = 10, λ = 1e4, features 0.01 spreads: L-BFGS reached J* with
    # ‖∇J‖ 1e-16, but the conjugate-gradient decrement check read the rounding of g along
    # the common intercept (zero curvature) as J 7.7e-10 above J*, and the run ended
    # `loss_change`, not converged.
    X, y = _softmax_problem(1, 2000, 30, 10, 0.01)
    result = descend("softmax", (X, y), l2=1e4, optimizer="lbfgs")
    reference = descend("softmax", (X, y), l2=1e4, optimizer="newton")
    assert result.converged
    assert result.loss == pytest.approx(reference.loss, rel=1e-14)


def test_cg_decrement_and_step_ignore_null_directions():
    # H with an exactly null direction (curvature 1e-30 by rounding) and a gradient whose
    # rounding has a part along it: the decrement is that of the rest, the step finite.
    from symcalc.learn.optimizers import cg_decrement, cg_step

    Q = np.linalg.qr(np.random.default_rng(0).standard_normal((4, 4)))[0]
    H = Q @ np.diag([2.0, 1.0, 0.5, 1e-30]) @ Q.T
    null = Q[:, 3:]
    g = Q @ np.array([1e-16, 2e-16, 0.0, 0.0]) + 1e-18 * Q[:, 3]
    exact = 0.5 * (1e-32 / 2 + 4e-32 / 1)
    assert cg_decrement(lambda v: H @ v, g, 1.0, 4, null) == pytest.approx(exact, rel=1e-6)
    step = cg_step(lambda v: H @ v, g, 4, null)
    np.testing.assert_allclose(step, -Q @ np.array([5e-17, 2e-16, 0.0, 0.0]), atol=1e-22)


def _least_norm_ols(X: np.ndarray, y: np.ndarray) -> np.ndarray:
    """OLS with the least-norm weights, intercept free: lstsq on the centred data."""
    mean = X.mean(axis=0)
    w = np.linalg.lstsq(X - mean, y - y.mean(), rcond=None)[0]
    return np.r_[y.mean() - mean @ w, w]


@pytest.mark.parametrize("optimizer", ["auto", "lbfgs", "trust-ncg"])
@pytest.mark.parametrize("case", ["duplicate", "constant", "wide"])
def test_rank_deficient_ols_returns_the_least_norm_solution(case, optimizer):
    """Without a penalty, collinear or constant columns (or fewer samples than
    features) leave J's minimizers an affine set: θ is the one with least-norm weights,
    the ridge limit (scikit-learn's LinearRegression), and the message says so.  Old:
    whatever point the run reached, differing by optimizer, with no word of it."""
    rng = np.random.default_rng(5)
    m, p = (8, 12) if case == "wide" else (40, 4)
    X = rng.standard_normal((m, p))
    if case == "duplicate":
        X[:, 3] = 2.5 * X[:, 0]
    if case == "constant":
        X[:, 2] = 7.0
    y = X @ rng.standard_normal(p) + 0.1 * rng.standard_normal(m) + 3.0
    result = descend("linear", (X, y), optimizer=optimizer)
    expected = _least_norm_ols(X, y)
    assert result.converged
    np.testing.assert_allclose(result.theta, expected, rtol=1e-5, atol=1e-6)
    assert "least-norm weights" in result.message
    full_rank = descend("linear", (rng.standard_normal((m, min(p, m - 2))), y), optimizer=optimizer)
    assert "null direction" not in full_rank.message


def test_least_norm_applies_to_every_class_of_softmax():
    # softmax without penalty on a duplicated column: each class's weights least-norm
    X, y = _softmax_problem(3, 300, 3, 3, 1.0)
    X = np.column_stack([X, -X[:, 1]])
    result = descend("softmax", (X, y))
    T = result.theta.reshape(3, 5)
    n = np.array([0.0, 1.0, 0.0, 1.0]) / np.sqrt(2)  # x₂ + x₄ = 0: the null direction
    np.testing.assert_allclose(T[:, 1:] @ n, 0.0, atol=1e-9)
    reduced = descend("softmax", (X[:, :3], y))
    assert result.loss == pytest.approx(reduced.loss, rel=1e-12)
    assert "least-norm weights" in result.message
