"""Models: the vectorized gradient equals SymPy's gradient of the Sum form, finite differences
and mpmath; losses are stable at extreme logits; the Lipschitz bounds hold."""

from __future__ import annotations

import json

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.errors import SymcalcError
from symcalc.learn.models import (
    CURVATURE,
    MODELS,
    SCALAR_LOSSES,
    check_symbolic_gradient,
    check_symbolic_hessian,
    encode_classes,
    make_model,
)
from symcalc.symbolic.catalog import catalog, get
from symcalc.symbolic.derivatives import derivative


@pytest.fixture(autouse=True)
def _digits(mp_digits):
    """The mpmath references of this module work at 50 digits (restored after each test)."""
    mp_digits(50)


ACTIVATIONS = sorted(e.name for e in catalog("activation"))


def central_differences(objective, theta: np.ndarray, h: float = 1e-6) -> np.ndarray:
    """∂J/∂θₖ ≈ (J(θ + h eₖ) − J(θ − h eₖ)) / 2h, independent of any derivative code."""
    out = np.empty_like(theta)
    for k in range(theta.size):
        step = np.zeros_like(theta)
        step[k] = h
        out[k] = (objective.value(theta + step) - objective.value(theta - step)) / (2 * h)
    return out


def small_problem(name: str, rng, samples: int = 4, features: int = 2):
    X = rng.standard_normal((samples, features))
    y = {
        "linear": rng.standard_normal(samples),
        "logistic": np.array([0.0, 1.0] * (samples // 2)),
        "softmax": np.arange(samples) % 3.0,
        "mlp": np.arange(samples) % 2.0,
    }[name]
    return X, y


# -- the symbolic gradient of the Sum form is the vectorized gradient --------------------------


@pytest.mark.parametrize("name", sorted(MODELS))
def test_sympy_gradient_of_sum_form_equals_vectorized(name, rng):
    X, y = small_problem(name, rng)
    model = make_model(name, hidden=2)
    objective = model.objective((X, y), l2=0.3)
    for _ in range(2):
        theta = rng.standard_normal(objective.n_parameters)
        assert check_symbolic_gradient(model, X, y, theta, l2=0.3) < 1e-13


@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_mlp_backprop_equals_sympy_for_every_activation(activation, rng):
    X = rng.standard_normal((2, 2))
    y = rng.standard_normal(2)
    model = make_model("mlp", hidden=2, activation=activation, loss="squared_error")
    theta = rng.uniform(-1.5, 1.5, model.objective((X, y)).n_parameters)
    assert check_symbolic_gradient(model, X, y, theta, l2=0.1) < 1e-12


@pytest.mark.parametrize("loss", sorted(SCALAR_LOSSES))
def test_linear_model_with_every_scalar_loss_matches_sympy(loss, rng):
    X = rng.standard_normal((4, 2))
    y = (
        np.array([0.0, 1.0, 1.0, 0.0])
        if SCALAR_LOSSES[loss] == "two classes"
        else rng.standard_normal(4)
    )
    model = (
        make_model("linear", loss=loss)
        if loss != "binary_cross_entropy_with_logits"
        else make_model("logistic")
    )
    theta = rng.standard_normal(3)
    assert check_symbolic_gradient(model, X, y, theta, l2=0.2) < 1e-13


# -- finite differences at realistic sizes -------------------------------------------------------


@pytest.mark.parametrize(
    "name, data, options",
    [
        ("linear", "synthetic:linear", {}),
        ("logistic", "synthetic:logistic", {}),
        ("softmax", "synthetic:blobs", {}),
        ("mlp", "synthetic:moons", {"hidden": 5, "activation": "tanh"}),
        ("mlp", "synthetic:moons", {"hidden": 4, "activation": "gelu", "loss": "squared_error"}),
    ],
)
def test_gradient_agrees_with_central_differences(name, data, options, rng):
    from symcalc.learn.data import load_data

    objective = make_model(name, **options).objective(load_data(data), l2=0.05)
    for _ in range(2):
        theta = rng.uniform(-1, 1, objective.n_parameters)
        analytic = objective.gradient(theta)
        numeric = central_differences(objective, theta)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-7)
        value, with_value = objective.value_and_gradient(theta)
        np.testing.assert_array_equal(with_value, analytic)
        assert value == pytest.approx(objective.value(theta), rel=1e-15)


@pytest.mark.parametrize(
    "name, data, options",
    [
        ("linear", "builtin:diabetes", {}),
        ("logistic", "builtin:breast_cancer", {}),
        ("softmax", "builtin:iris", {}),
        ("mlp", "builtin:iris", {"hidden": 3, "activation": "softplus"}),
    ],
)
def test_gradient_passes_symcalc_gradcheck(name, data, options, rng):
    from symcalc.learn.data import load_data
    from symcalc.numeric.gradcheck import gradcheck

    objective = make_model(name, **options).objective(load_data(data, standardize=True), l2=0.01)
    theta = rng.uniform(-0.5, 0.5, objective.n_parameters)
    check = gradcheck(objective.value, at=theta, derivative=objective.gradient, method="richardson")
    assert check.passed, check


def test_gradcheck_rejects_the_textbook_gradient_without_the_2():
    from symcalc.learn.data import load_data
    from symcalc.numeric.gradcheck import gradcheck

    data = load_data("synthetic:linear")
    objective = make_model("linear").objective(data)
    Xt = np.column_stack([np.ones(data.n_samples), data.X])

    def textbook(theta):
        return Xt.T @ (Xt @ theta - data.y) / data.n_samples

    theta = np.array([0.5, -1.0, 2.0, 0.0])
    assert not gradcheck(objective.value, at=theta, derivative=textbook).passed
    assert gradcheck(objective.value, at=theta, derivative=lambda t: 2 * textbook(t)).passed


# -- second derivatives: the symbolic Hessian, Hessian-vector products ----------------------------


@pytest.mark.parametrize(
    "name, options, y",
    [
        ("linear", {}, [0.3, -1.1, 2.0]),
        ("logistic", {}, [0.0, 1.0, 1.0]),
        ("softmax", {}, [0.0, 2.0, 1.0]),
        ("mlp", {"hidden": 2, "activation": "tanh", "loss": "squared_error"}, [0.3, -1.1, 2.0]),
    ],
)
def test_hessian_equals_sympy_hessian_of_the_sum_form(name, options, y, rng):
    X = rng.standard_normal((3, 2))
    model = make_model(name, **options)
    n = model.objective((X, np.array(y))).n_parameters
    theta = rng.uniform(-1, 1, n)
    assert check_symbolic_hessian(model, X, np.array(y), theta, l2=0.25) < 1e-13


def hessian_by_differences(objective, theta, h=1e-6):
    """Column k: (∇J(θ + h eₖ) − ∇J(θ − h eₖ)) / 2h, from the gradient alone."""
    n = theta.size
    H = np.empty((n, n))
    for k in range(n):
        step = np.zeros(n)
        step[k] = h
        H[:, k] = (objective.gradient(theta + step) - objective.gradient(theta - step)) / (2 * h)
    return H


@pytest.mark.parametrize(
    "name, data, standardize",
    [
        ("linear", "builtin:diabetes", False),
        ("logistic", "builtin:breast_cancer", True),
        ("softmax", "builtin:iris", False),
        ("softmax", "synthetic:blobs", True),
    ],
)
def test_hessian_agrees_with_differences_of_the_gradient(name, data, standardize, rng):
    from symcalc.learn.data import load_data

    objective = make_model(name).objective(load_data(data, standardize=standardize), l2=0.05)
    theta = rng.uniform(-0.3, 0.3, objective.n_parameters) / (1 if standardize else 10)
    H = objective.hessian(theta)
    np.testing.assert_array_equal(H, H.T)
    numeric = hessian_by_differences(objective, theta, h=1e-6 if standardize else 1e-7)
    scale = np.abs(H).max()
    assert np.abs(H - numeric).max() <= 2e-6 * scale
    assert np.linalg.eigvalsh(H)[0] >= -1e-10 * scale  # convex: positive semidefinite
    v = rng.standard_normal(objective.n_parameters)
    np.testing.assert_allclose(
        objective.hessian_vector(theta, v), H @ v, rtol=1e-10, atol=1e-12 * scale
    )


@pytest.mark.parametrize(
    "options, data",
    [
        ({"hidden": 4, "activation": "tanh"}, "builtin:iris"),
        ({"hidden": 3, "activation": "softplus", "loss": "squared_error"}, "builtin:diabetes"),
        ({"hidden": 3, "activation": "sigmoid"}, "synthetic:moons"),
    ],
)
def test_mlp_hessian_vector_product_agrees_with_differences_of_the_gradient(options, data, rng):
    from symcalc.learn.data import load_data

    objective = make_model("mlp", **options).objective(load_data(data, standardize=True), l2=0.1)
    theta = objective.initial(3)
    for _ in range(2):
        v = rng.standard_normal(objective.n_parameters)
        h = 1e-6
        numeric = (objective.gradient(theta + h * v) - objective.gradient(theta - h * v)) / (2 * h)
        exact = objective.hessian_vector(theta, v)
        assert np.abs(exact - numeric).max() <= 1e-7 * np.abs(exact).max()


def test_derivation_prints_the_hessian_after_the_gradient():
    logistic = make_model("logistic").derivation()
    text = logistic.to_text()
    assert text.index("∇_θ J =") < text.index("Hessian")
    assert "∇²_θ J = (1/m)·X̃ᵀ diag(σ(X̃θ)(1 - σ(X̃θ))) X̃ + λ·diag(0, 1, ..., 1)" in text
    z = get("bce_with_logits").variables[0]
    assert sympy.simplify((logistic.loss_second - logistic.classic_second).rewrite(sympy.exp)) == 0
    partials = {f"{a}{b}": d for a, b, d in logistic.hessian_partials}
    assert "ℓ''" in str(partials["w[k]w[r]"]) and "KroneckerDelta(k, r)" in str(
        partials["w[k]w[r]"]
    )
    latex = logistic.to_latex()
    assert latex.startswith("\\begin{align*}") and "\\partial^2 J" in latex and "\\sigma" in latex
    assert "(2/m)·X̃ᵀX̃ + λ·diag(0, 1, ..., 1)" in make_model("linear").derivation().to_text()
    softmax = make_model("softmax").derivation().to_text()
    assert "∂²ℓ/∂z[c]∂z[d]" in softmax and "P_c·(δ_cd - P_d)" in softmax
    mlp = make_model("mlp").derivation().to_text()
    assert "R{dA} = (R{dZ}·W2 + dZ·V2) ⊙ φ'(A) + (dZ·W2) ⊙ φ''(A) ⊙ R{A}" in mlp
    del z


# -- values against mpmath, stable at extreme logits -----------------------------------------------


def test_logistic_objective_is_stable_and_exact_at_extreme_logits():
    X = np.array([[-1.0], [1.0], [0.5], [-0.25]]) * 1e3
    y = np.array([1.0, 0.0, 1.0, 0.0])
    objective = make_model("logistic").objective((X, y), l2=0.5)
    theta = np.array([0.5, 0.9])
    value, gradient = objective.value_and_gradient(theta)

    def loss(z, label):  # -[y log σ(z) + (1 - y) log σ(-z)] at 50 digits; 1 - σ(z) = σ(-z)
        return -(
            label * mpmath.log(1 / (1 + mpmath.exp(-z)))
            + (1 - label) * mpmath.log(1 / (1 + mpmath.exp(z)))
        )

    zs = [mpmath.mpf(0.5) + mpmath.mpf(0.9) * mpmath.mpf(float(x)) for x in X[:, 0]]
    exact = (
        sum(loss(z, int(t)) for z, t in zip(zs, y, strict=True)) / 4
        + mpmath.mpf(0.25) * mpmath.mpf(0.9) ** 2
    )
    exact_b = sum(1 / (1 + mpmath.exp(-z)) - int(t) for z, t in zip(zs, y, strict=True)) / 4
    exact_w = (
        sum(
            (1 / (1 + mpmath.exp(-z)) - int(t)) * mpmath.mpf(float(x))
            for z, t, x in zip(zs, y, X[:, 0], strict=True)
        )
        / 4
    )
    exact_w += mpmath.mpf(0.5) * mpmath.mpf(0.9)
    assert value == pytest.approx(float(exact), rel=1e-13)
    np.testing.assert_allclose(gradient, [float(exact_b), float(exact_w)], rtol=1e-13)


def test_softmax_objective_is_stable_at_extreme_logits():
    X = np.array([[800.0], [-900.0], [0.0], [1000.0]])
    y = np.array([0.0, 1.0, 2.0, 2.0])
    objective = make_model("softmax").objective((X, y))
    theta = np.array([0.0, 1.0, 0.5, -1.0, 0.2, 0.3])  # per class: intercept, weight
    value, gradient = objective.value_and_gradient(theta)
    assert np.isfinite(value) and np.isfinite(gradient).all()

    total = mpmath.mpf(0)
    for x, label in zip(X[:, 0], y.astype(int), strict=True):
        z = [
            mpmath.mpf(theta[2 * c]) + mpmath.mpf(theta[2 * c + 1]) * mpmath.mpf(float(x))
            for c in range(3)
        ]
        total += mpmath.log(sum(mpmath.exp(v) for v in z)) - z[label]
    assert value == pytest.approx(float(total / 4), rel=1e-12)


@pytest.mark.parametrize("rows", [2000, 3000])
def test_float32_data_stay_float32_and_give_float64_sums(rng, rows):
    # float32 X is read into float64 block by block: J, ∇J and ∇²J are those of its exact
    # float64 values (products in float32 agreed only to 2e-5, θ rounded to 7 digits).
    p = 2 if rows == 2000 else 200  # one block (copied to float64, block-sized) or many
    X = rng.standard_normal((rows, p)).astype(np.float32)
    y = (X[:, 0] - X[:, 1] + rng.standard_normal(rows) > 0).astype(float)
    theta = rng.standard_normal(p + 1) * 0.3
    exact = make_model("logistic").objective((X.astype(np.float64), y))
    objective32 = make_model("logistic").objective((X, y))
    if rows == 3000:
        assert objective32.X.dtype == np.float32  # no copy of X beyond a block
    J32, g32 = objective32.value_and_gradient(theta)
    J64, g64 = exact.value_and_gradient(theta)
    assert J32 == pytest.approx(J64, rel=1e-14)
    np.testing.assert_allclose(g32, g64, rtol=1e-12, atol=1e-15)
    v = rng.standard_normal(p + 1)
    np.testing.assert_allclose(
        objective32.hessian_vector(theta, v), exact.hessian_vector(theta, v), rtol=1e-12
    )
    np.testing.assert_allclose(objective32.hessian(theta), exact.hessian(theta), rtol=1e-12)


# -- curvature and Lipschitz bounds ---------------------------------------------------------


@pytest.mark.parametrize("name", sorted(set(CURVATURE) - {"categorical_cross_entropy"}))
def test_curvature_bound_of_each_loss_holds_and_is_attained(name):
    entry = get(name)
    second = entry.bind(derivative(entry, order=2, simplify=False))
    z, y = entry.variables
    labels = [0, 1] if entry.domain_of(y) != sympy.S.Reals else [0]
    worst = mpmath.mpf(0)
    for label in labels:
        f = sympy.lambdify((z, y), second, "mpmath")
        for point in np.linspace(-8, 8, 641):
            worst = max(worst, abs(f(mpmath.mpf(float(point)), label)))
    bound = mpmath.mpf(float(CURVATURE[name]))
    assert worst <= bound * (1 + mpmath.mpf(10) ** -30)
    assert worst >= bound * mpmath.mpf(0.99)


def test_softmax_hessian_bound(rng):
    bound = float(CURVATURE["categorical_cross_entropy"])
    largest = 0.0
    for _ in range(200):
        z = rng.normal(scale=3.0, size=3)
        s = np.exp(z - z.max())
        s /= s.sum()
        largest = max(largest, np.linalg.eigvalsh(np.diag(s) - np.outer(s, s))[-1])
    two = np.array([0.5, 0.5, 0.0])
    assert np.linalg.eigvalsh(np.diag(two) - np.outer(two, two))[-1] == pytest.approx(bound)
    assert largest <= bound


@pytest.mark.parametrize(
    "name, data",
    [
        ("linear", "synthetic:linear"),
        ("logistic", "synthetic:logistic"),
        ("softmax", "synthetic:blobs"),
    ],
)
def test_lipschitz_bound_is_the_textbook_formula_and_holds(name, data, rng):
    from symcalc.learn.data import load_data

    dataset = load_data(data)
    objective = make_model(name).objective(dataset, l2=0.1)
    Xt = np.column_stack([np.ones(dataset.n_samples), dataset.X])
    largest = np.linalg.eigvalsh(Xt.T @ Xt)[-1]
    curvature = {"linear": 2.0, "logistic": 0.25, "softmax": 0.5}[name]
    assert objective.lipschitz == pytest.approx(
        curvature * largest / dataset.n_samples + 0.1, rel=1e-12
    )
    for _ in range(20):
        a, b = rng.normal(scale=2, size=(2, objective.n_parameters))
        change = np.linalg.norm(objective.gradient(a) - objective.gradient(b))
        assert change <= objective.lipschitz * np.linalg.norm(a - b) * (1 + 1e-12)


def test_mlp_has_no_global_lipschitz_bound():
    from symcalc.learn.data import load_data

    assert make_model("mlp").objective(load_data("synthetic:moons")).lipschitz is None


# -- the printed derivation ------------------------------------------------------------------------


def test_linear_derivation_shows_the_2_and_the_textbook_note():
    derivation = make_model("linear").derivation()
    text = derivation.to_text()
    assert "∇_θ J = (2/m)·X̃ᵀ(X̃θ - y) + λ·(0, w)" in text
    assert "drops the 2: it descends J/2" in text
    p, y = get("squared_error").variables
    assert sympy.simplify(derivation.loss_derivative - 2 * (p - y)) == 0
    partial_w = dict((str(k), v) for k, v in derivation.partials)["w[k]"]
    assert "X[i, k]" in str(partial_w) and "lambda*w[k]" in str(partial_w)
    assert derivation._repr_latex_().startswith("$$\\begin{align*}")


def test_logistic_and_softmax_derivations_use_the_classic_forms():
    logistic = make_model("logistic").derivation()
    assert "sigmoid(X̃θ)" in logistic.to_text()
    z, y = get("bce_with_logits").variables
    difference = (logistic.loss_derivative - logistic.classic).rewrite(sympy.exp)
    assert sympy.simplify(difference.subs(y, 0)) == 0 and sympy.simplify(difference.subs(y, 1)) == 0
    softmax = make_model("softmax").derivation(K=4)
    text = softmax.to_text()
    assert "R = dℓ/dZ = softmax(Z) - Y" in text
    assert "= softmax(z)[c] - y[c]   (classic form)" in text
    assert ", 1, K)" in text  # one derivation for any number of classes


def test_mlp_derivation_names_the_activation_derivative():
    text = make_model("mlp", activation="tanh", loss="squared_error").derivation().to_text()
    assert "dφ/dx = 1 - tanh(x)**2" in text
    assert "φ'(b1[k]" in text and "dA = (dZ·W2) ⊙ φ'(A)" in text


# -- structure and bad input -----------------------------------------------------------------------


def test_theta_for_json_shapes(rng):
    X, y = small_problem("softmax", rng, samples=6)
    softmax = make_model("softmax").objective((X, y))
    rows = softmax.theta_for_json(np.arange(9.0))
    assert rows == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]
    mlp = make_model("mlp", hidden=2).objective((X, y))
    structured = mlp.theta_for_json(np.arange(float(mlp.n_parameters)))
    assert [len(structured["hidden"]), len(structured["hidden"][0])] == [2, 3]
    assert [len(structured["output"]), len(structured["output"][0])] == [3, 3]
    json.dumps(structured, allow_nan=False)


def test_predictions_are_labels_for_classifiers():
    from symcalc.learn.data import load_data

    data = load_data("builtin:iris", standardize=True)
    objective = make_model("softmax").objective(data)
    assert set(objective.predict(objective.initial(), data.X[:3])) <= {
        "setosa",
        "versicolor",
        "virginica",
    }
    codes, classes = encode_classes(np.array([2.0, 1.0, 2.0]))
    assert codes.tolist() == [1, 0, 1] and classes == ("1", "2")


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda: make_model("lineer"), r"unknown model 'lineer'; did you mean 'linear'\?"),
        (
            lambda: make_model("linear", loss="hinge"),
            r"loss 'hinge' cannot be used on one model output",
        ),
        (
            lambda: make_model("logistic", loss="mse"),
            r"logistic regression uses binary_cross_entropy_with_logits",
        ),
        (
            lambda: make_model("softmax", loss="mse"),
            r"softmax regression uses categorical_cross_entropy",
        ),
        (
            lambda: make_model("mlp", hidden=0),
            r"`hidden` must be a whole number of units from 1 to 4096",
        ),
        (lambda: make_model("mlp", hidden=2.5), r"`hidden` must be a whole number"),
        (
            lambda: make_model("mlp", activation="mse"),
            r"`activation` must be a function of one variable",
        ),
        (
            lambda: make_model("mlp", activation="relux"),
            r"unknown function 'relux'; did you mean 'relu'\?",
        ),
    ],
)
def test_bad_models(call, message):
    with pytest.raises(SymcalcError, match=message):
        call()


def test_bad_targets(rng):
    X = rng.standard_normal((6, 2))
    with pytest.raises(
        SymcalcError, match=r"logistic regression needs exactly two classes in 'y', found 3"
    ):
        make_model("logistic").objective((X, np.arange(6) % 3.0))
    with pytest.raises(
        SymcalcError, match=r"has one class \('1'\); a classifier needs two or more"
    ):
        make_model("softmax").objective((X, np.ones(6)))
    with pytest.raises(
        SymcalcError, match=r"holds text labels; the squared_error loss needs numbers"
    ):
        make_model("linear").objective((X, np.array(list("abcabc"), dtype=object)))
    with pytest.raises(
        SymcalcError, match=r"has 100 distinct values; a classifier takes at most 64"
    ):
        make_model("softmax").objective((np.ones((100, 1)), np.arange(100.0)))
    with pytest.raises(SymcalcError, match=r"`l2` must be a finite number ≥ 0"):
        make_model("linear").objective((X, np.ones(6)), l2=-1)
    with pytest.raises(SymcalcError, match=r"data must be a Dataset or a pair"):
        make_model("linear").objective(X)
    with pytest.raises(SymcalcError, match=r"check_symbolic_gradient expands J term by term"):
        check_symbolic_gradient("linear", np.ones((40, 2)), np.ones(40), np.zeros(3))


def test_dask_arrays_give_the_in_memory_gradient(rng):
    import dask.array as da  # the optional extra symcalc[dask]; the test extra installs it

    X = rng.standard_normal((4000, 3))
    y = (X @ [1.0, -1.0, 0.5] + rng.standard_normal(4000) > 0).astype(float)
    theta = rng.standard_normal(4) * 0.5
    in_memory = make_model("logistic").objective((X, y), l2=0.1)
    chunked = make_model("logistic").objective(
        (da.from_array(X, chunks=(700, 3)), da.from_array(y, chunks=500)), l2=0.1
    )
    value, gradient = chunked.value_and_gradient(theta)
    expected_value, expected = in_memory.value_and_gradient(theta)
    assert value == pytest.approx(expected_value, rel=1e-13)
    np.testing.assert_allclose(gradient, expected, rtol=1e-12)
    assert chunked.lipschitz == pytest.approx(in_memory.lipschitz, rel=1e-12)
    with pytest.raises(SymcalcError, match=r"labels coded 0 and 1"):
        make_model("logistic").objective(
            (da.from_array(X, chunks=(700, 3)), da.from_array(y + 1, chunks=700))
        )


def test_a_least_squares_hessian_is_formed_once_and_is_the_same_everywhere(rng, monkeypatch):
    """ℓ'' of squared error is constant, so ∇²J does not depend on θ: the objective forms
    it once per centre (Newton asks it again at its last iterate to bound J - J*), and
    hands out copies, equal to a fresh Gram product at any θ."""
    from symcalc.learn.data import load_data
    from symcalc.learn.models import AffineObjective

    objective = make_model("linear").objective(load_data("builtin:diabetes"), l2=0.1)
    fresh = make_model("linear").objective(load_data("builtin:diabetes"), l2=0.1)
    formed = []
    original = AffineObjective._scalar_gram_hessian
    monkeypatch.setattr(
        AffineObjective,
        "_scalar_gram_hessian",
        lambda self, *a: formed.append(self) or original(self, *a),
    )
    thetas = [rng.standard_normal(objective.n_parameters) for _ in range(3)]
    first = objective.hessian(thetas[0])
    first[0, 0] = np.nan  # a caller's copy: the remembered Hessian is not changed by it
    for theta in thetas[1:]:
        np.testing.assert_array_equal(objective.hessian(theta), fresh.hessian(theta))
    assert formed.count(objective) == 1
    centre = np.full(objective.n_features, 3.0)
    objective.hessian(thetas[0], centre)
    objective.hessian(thetas[1], centre)
    assert formed.count(objective) == 2
    logistic = make_model("logistic").objective(load_data("builtin:breast_cancer"), l2=0.1)
    logistic.hessian(np.zeros(logistic.n_parameters))
    logistic.hessian(np.full(logistic.n_parameters, 0.01))
    assert formed.count(logistic) == 2  # ℓ'' depends on z: formed every time
