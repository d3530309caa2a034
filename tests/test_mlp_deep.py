"""Networks of any depth: the backward pass against SymPy's gradient of the whole Sum and
against finite differences, the Hessian-vector product, named initializations, output
activations, training to 97 % on moons and iris at depths 1-3, and the JSON of a fit."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symcalc.errors import SymcalcError
from symcalc.learn.data import load_data
from symcalc.learn.descent import descend
from symcalc.learn.initializers import weight_scale
from symcalc.learn.models import MLP, check_symbolic_gradient, make_model


def central_differences(objective, theta, h=1e-6):
    out = np.empty_like(theta)
    for k in range(theta.size):
        step = np.zeros_like(theta)
        step[k] = h
        out[k] = (objective.value(theta + step) - objective.value(theta - step)) / (2 * h)
    return out


# -- SymPy's gradient of the whole Sum form (expanded on a small data set) -------------------


@pytest.mark.parametrize(
    "hidden, activation, options",
    [
        ((2, 2), "tanh", {}),  # softmax output, two classes
        ((2, 2), "x*tanh(x)", {"loss": "squared_error"}),  # a user's activation
        ((2, 1, 2), "sigmoid", {"loss": "squared_error"}),  # depth 3
        ((2, 2), "softplus", {"loss": "binary_cross_entropy"}),  # sigmoid output
        ((2, 2), "elu", {"loss": "squared_error", "output_activation": "tanh"}),  # composed
    ],
)
def test_backward_pass_equals_sympys_gradient_of_the_sum(hidden, activation, options, rng):
    X = rng.standard_normal((2, 1))
    regression = options.get("loss") == "squared_error"
    y = rng.standard_normal(2) if regression else np.array([0.0, 1.0])
    model = make_model("mlp", hidden=hidden, activation=activation, **options)
    theta = rng.uniform(-1.2, 1.2, model.objective((X, y)).n_parameters)
    assert check_symbolic_gradient(model, X, y, theta, l2=0.2) < 1e-13


# -- finite differences at realistic sizes ----------------------------------------------------


@pytest.mark.parametrize(
    "hidden, activation, data, loss",
    [
        ((5, 4), "tanh", "builtin:iris", None),
        ((4, 3, 3), "x*tanh(x)", "synthetic:moons", None),
        ((3, 4), "gelu", "synthetic:linear", "squared_error"),
    ],
)
def test_gradient_and_hessian_vector_product_agree_with_differences(
    hidden, activation, data, loss, rng
):
    objective = make_model("mlp", hidden=hidden, activation=activation, loss=loss).objective(
        load_data(data, standardize=True), l2=0.05
    )
    theta = objective.initial(1) + rng.uniform(-0.3, 0.3, objective.n_parameters)
    gradient = objective.gradient(theta)
    np.testing.assert_allclose(
        gradient, central_differences(objective, theta), rtol=1e-6, atol=1e-7
    )
    value, with_value = objective.value_and_gradient(theta)
    np.testing.assert_array_equal(with_value, gradient)
    for _ in range(2):
        v = rng.standard_normal(objective.n_parameters)
        h = 1e-6
        numeric = (objective.gradient(theta + h * v) - objective.gradient(theta - h * v)) / (2 * h)
        exact = objective.hessian_vector(theta, v)
        assert np.abs(exact - numeric).max() <= 1e-7 * np.abs(exact).max()


def test_one_hidden_layer_is_the_special_case(rng):
    X, y = rng.standard_normal((6, 3)), np.arange(6) % 3.0
    single, listed = MLP(hidden=4), MLP(hidden=[4])
    a, b = single.objective((X, y)), listed.objective((X, y))
    theta = rng.standard_normal(a.n_parameters)
    assert a.n_parameters == 4 * 4 + 3 * 5 and single.hidden == listed.hidden == (4,)
    np.testing.assert_array_equal(a.gradient(theta), b.gradient(theta))
    assert set(a.theta_for_json(theta)) == {"hidden", "output"}  # the earlier JSON form
    deep = MLP(hidden=(4, 2)).objective((X, y))
    tables = deep.theta_for_json(np.arange(float(deep.n_parameters)))["layers"]
    assert [np.shape(t) for t in tables] == [(4, 4), (2, 5), (3, 3)]
    assert len(deep.parameter_names(["a", "b", "c"])) == deep.n_parameters
    assert repr(MLP(hidden=(16, 16, 8))) == "<MLP 16,16,8 tanh units: categorical_cross_entropy>"


# -- training --------------------------------------------------------------------------------


@pytest.mark.parametrize("data", ["synthetic:moons", "builtin:iris"])
@pytest.mark.parametrize("hidden", [8, (8, 8), (8, 8, 8)], ids=["depth1", "depth2", "depth3"])
def test_defaults_train_to_97_percent(data, hidden):
    dataset = load_data(data)
    result = descend("mlp", dataset, hidden=hidden)
    assert result.training_accuracy >= 0.97
    truth = dataset.y if dataset.target_is_text else np.array([f"{v:g}" for v in dataset.y])
    assert (result.predict(dataset.X) == truth).mean() == result.training_accuracy


# -- initialization, output activations, bad input --------------------------------------------


@pytest.mark.parametrize("init", ["xavier", "he", "normal"])
def test_named_initialization_draws_each_layer_with_its_spread(init):
    X, y = np.zeros((4, 200)), np.arange(4) % 2.0
    objective = MLP(hidden=(300, 100), init=init).objective((X, y))
    theta = objective.initial(seed=3)
    for table in objective.layer_tables(theta):
        fan_out, fan_in = table[:, 1:].shape
        spread = weight_scale(init, fan_in, fan_out)
        assert np.all(table[:, 0] == 0)
        assert table[:, 1:].std() == pytest.approx(spread, rel=0.08)
    np.testing.assert_array_equal(theta, objective.initial(seed=3))  # seeded


def test_output_activations_are_the_composed_losses(rng):
    X, y = rng.standard_normal((7, 2)), rng.standard_normal(7)
    composed = make_model("mlp", hidden=3, loss="squared_error", output_activation="tanh")
    objective = composed.objective((X, y))
    theta = rng.standard_normal(objective.n_parameters)
    z = objective.outputs(theta, X)
    assert objective.value(theta) == pytest.approx(np.mean((np.tanh(z) - y) ** 2), rel=1e-14)
    labels = (rng.random(7) > 0.5).astype(float)
    sigmoid = make_model("mlp", hidden=3, loss="binary_cross_entropy").objective((X, labels))
    z = sigmoid.outputs(theta, X)
    p = 1 / (1 + np.exp(-z))
    expected = -np.mean(labels * np.log(p) + (1 - labels) * np.log(1 - p))
    assert sigmoid.value(theta) == pytest.approx(expected, rel=1e-13)
    assert sigmoid.describe()["output_activation"] == "sigmoid"


@pytest.mark.parametrize(
    "options, message",
    [
        ({"hidden": (8, 0)}, r"`hidden` must be a whole number of units from 1 to 4096, got 0"),
        ({"hidden": ()}, r"`hidden` must list from 1 to 64 layer widths"),
        ({"init": "glorot"}, r"unknown `init` 'glorot'"),
        ({"output_activation": "sigmoid"}, r"categorical_cross_entropy reads a softmax output"),
        ({"loss": "squared_error", "output_activation": "softmax"}, r"softmax output goes with"),
        ({"loss": "hinge"}, r"loss 'hinge' cannot be used on one model output"),
    ],
)
def test_bad_networks(options, message):
    with pytest.raises(SymcalcError, match=message):
        make_model("mlp", **options)


def test_deep_model_function_has_the_networks_gradient():
    from symcalc.learn.explain import model_function

    fit = descend("mlp", "builtin:iris", hidden=(4, 3), standardize=True, max_iter=40)
    f = model_function(fit, output="virginica")
    X = fit.objective.X[:3]
    h = 1e-6
    for j in range(X.shape[1]):
        step = np.zeros(X.shape[1])
        step[j] = h
        numeric = (f.value(X + step) - f.value(X - step)) / (2 * h)
        np.testing.assert_allclose(f.gradient(X)[:, j], numeric, rtol=1e-6, atol=1e-9)


# -- the command line --------------------------------------------------------------------------


def test_json_gains_accuracy_and_the_networks_shape(cli):
    result = cli(
        "descend", "mlp", "--data", "builtin:iris", "--hidden", "4,4", "--activation",
        "x*tanh(x)", "--init", "he", "--max-iter", "30", "--format", "json",
    )  # fmt: skip
    assert result.returncode == 0, result
    data = json.loads(result.stdout)
    assert data["hidden"] == [4, 4] and data["activation"] == "x*tanh(x)"
    assert data["init"] == "he" and data["output_activation"] == "softmax"
    assert 0 <= data["accuracy"] <= 1 and len(data["theta"]["layers"]) == 3
    json.dumps(data, allow_nan=False)
    linear = json.loads(
        cli("descend", "linear", "--data", "synthetic:linear", "--format", "json").stdout
    )
    assert "accuracy" not in linear and "hidden" not in linear
    logistic = cli("descend", "logistic", "--data", "synthetic:logistic", "--format", "json")
    assert json.loads(logistic.stdout)["accuracy"] > 0.8


@pytest.mark.parametrize(
    "args, message",
    [
        (["--hidden", "4,x"], "--hidden takes whole numbers separated by commas"),
        (["--hidden", "4,0"], "--hidden must be a whole number of units from 1 to 4096, got 0"),
        (["--init", "glorot"], "invalid choice: 'glorot'"),
        (["--output-activation", "sigmoid"], "reads a softmax output; drop --output-activation"),
    ],
)
def test_bad_network_flags_are_one_line(cli, args, message):
    result = cli("descend", "mlp", "--data", "synthetic:moons", *args)
    assert result.returncode == 2 and message in result.stderr, result
    assert len(result.stderr.strip().splitlines()) == 1
    other = cli("descend", "linear", "--data", "synthetic:linear", "--init", "he")
    assert other.returncode == 2 and "apply to the mlp model only" in other.stderr


@pytest.mark.parametrize(
    ("convention", "slope_at_kink"), [("zero", 0.0), ("half", 0.5), ("one", 1.0)]
)
def test_gradient_at_a_kink_follows_the_models_convention(convention, slope_at_kink):
    """MLP(convention=...) stated relu′(0) = 1 in its derivation but backpropagated with 0:
    the kernels of f′ and f″ ignored the convention.  Truth: backpropagation by hand with
    relu′(z) = 1 (z > 0), the convention's value (z = 0), 0 (z < 0)."""
    X = np.array([[0.0, 1.0], [1.0, 0.0], [-1.0, 1.0], [1.0, 1.0]])
    y = np.array([0, 1, 2, 0])
    W1 = np.array([[1.0, 0.0], [0.0, 1.0]])  # hidden pre-activations hit 0 exactly
    W2 = np.array([[0.2, -0.3], [-0.1, 0.2], [0.5, 0.1]])
    b2 = np.array([0.1, 0.3, 0.0])
    theta = np.concatenate(
        [np.column_stack([np.zeros(2), W1]).ravel(), np.column_stack([b2, W2]).ravel()]
    )
    objective = MLP(hidden=2, activation="relu", convention=convention).objective((X, y))
    Z1 = X @ W1.T
    A1 = np.maximum(Z1, 0)
    Z2 = A1 @ W2.T + b2
    P = np.exp(Z2 - Z2.max(axis=1, keepdims=True))
    P /= P.sum(axis=1, keepdims=True)
    D2 = (P - np.eye(3)[y]) / len(y)
    D1 = (D2 @ W2) * np.where(Z1 > 0, 1.0, np.where(Z1 == 0, slope_at_kink, 0.0))
    truth = np.concatenate(
        [
            np.column_stack([D1.sum(0), D1.T @ X]).ravel(),
            np.column_stack([D2.sum(0), D2.T @ A1]).ravel(),
        ]
    )
    np.testing.assert_allclose(objective.gradient(theta), truth, rtol=1e-13, atol=1e-16)
