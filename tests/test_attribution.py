"""Integrated gradients (`symcalc.numeric.attribution`, `symcalc.learn.explain`, ``attribute``).

Independent truth: mpmath's quadrature at 30 digits of (xᵢ − x′ᵢ)·∂ᵢf(γ(α)) with ∂ᵢf from
SymPy's own ``diff``; the closed form of integrated gradients for logistic regression,
IGᵢ = wᵢ(xᵢ − x′ᵢ)/(w·(x − x′)) · (σ(z(x)) − σ(z(x′))); finite differences and SymPy's
derivative of the model's formula for the gradient of a trained model; the theoretical
orders 1, 1, 2, 2 and spectral of the five rules.
"""

from __future__ import annotations

import functools
import json
import math
import types

import mpmath
import numpy as np
import pytest
import sympy

import symcalc
from symcalc.errors import SymcalcError
from symcalc.learn.explain import Layer, ModelFunction, model_function
from symcalc.learn.heads import SoftmaxHead
from symcalc.learn.models import AffineObjective
from symcalc.numeric.attribution import METHODS, THEORY, integrated_gradients

#: Smooth functions of several variables, an input and a baseline.
SMOOTH = [
    ("x*y*sin(x + y)", {"x": 1.0, "y": 2.0}, {"x": 0.0, "y": 0.0}),
    ("exp(x - y)*(1 + z**2)", {"x": 0.5, "y": -1.0, "z": 2.0}, {"x": -0.25, "y": 0.5, "z": 0.0}),
    ("log(1 + exp(2*x - y)) + x*y", {"x": 1.5, "y": 0.3}, {"x": -1.0, "y": 1.0}),
    ("sigmoid(3*x*y - 1)", {"x": 1.2, "y": 0.7}, {"x": 0.1, "y": -0.4}),
]

#: The keys the JSON of ``symcalc attribute`` promises.
JSON_KEYS = {
    "input",
    "at",
    "baseline",
    "method",
    "steps",
    "attributions",
    "sum",
    "difference",
    "completeness_error",
    "order",
}


def mp_integrated_gradients(text: str, at: dict, baseline: dict) -> dict[str, float]:
    """(xᵢ − x′ᵢ)·∫₀¹ ∂ᵢf(γ(α)) dα by mpmath.quad at the working precision (SymPy's diff)."""
    expr = symcalc.resolve(text).expr.replace(
        lambda e: isinstance(e, symcalc.sigmoid), lambda e: 1 / (1 + sympy.exp(-e.args[0]))
    )
    names = list(at)
    symbols = [s for n in names for s in expr.free_symbols if s.name == n]
    out = {}
    for s, name in zip(symbols, names, strict=True):
        partial = sympy.lambdify(symbols, sympy.diff(expr, s), "mpmath")
        x, x0 = mpmath.mpf(at[name]), mpmath.mpf(baseline[name])

        def along(alpha, partial=partial):
            return partial(
                *(mpmath.mpf(baseline[n]) + alpha * (at[n] - baseline[n]) for n in names)
            )

        out[name] = float((x - x0) * mpmath.quad(along, [0, 1]))
    return out


@pytest.mark.parametrize(("text", "at", "baseline"), SMOOTH)
def test_exact_attributions_agree_with_mpmath_quadrature(text, at, baseline, mp_digits):
    mp_digits(30)
    truth = mp_integrated_gradients(text, at, baseline)
    ig = integrated_gradients(text, at, baseline, timeout=2)
    expected = [truth[name] for name in ig.names]
    np.testing.assert_allclose(ig.attributions, expected, rtol=1e-13, atol=1e-15)
    gauss = integrated_gradients(text, at, baseline, method="gauss_legendre", steps=40)
    np.testing.assert_allclose(gauss.attributions, expected, rtol=1e-12, atol=1e-14)


@pytest.mark.parametrize(("text", "at", "baseline"), SMOOTH)
def test_exact_is_complete_to_1e_12_and_every_rule_has_its_order(text, at, baseline):
    ig = integrated_gradients(text, at, baseline, timeout=2)
    assert abs(ig.completeness_error) <= 1e-12 * abs(ig.difference)
    for method, theory in THEORY.items():
        observed = ig.study.orders[method]
        if theory == "spectral":
            assert observed == "spectral"
        else:
            assert abs(observed - theory) <= 0.1, (method, observed)


def test_the_difference_is_f_at_the_input_minus_f_at_the_baseline(mp_digits):
    mp_digits(30)
    ig = integrated_gradients("x*y*sin(x + y)", {"x": 1, "y": 2}, method="midpoint", steps=8)
    assert ig.difference == pytest.approx(float(2 * mpmath.sin(3)), rel=1e-15)
    assert ig.value_baseline == 0.0 and ig.order == pytest.approx(2.0, abs=0.1)
    assert ig.completeness_error == pytest.approx(ig.sum - ig.difference)


def test_riemann_rules_are_captums_sums():
    f, at = "x**2*y + y", {"x": 1.0, "y": 3.0}
    for method, alphas in {
        "left": np.arange(4) / 4,
        "right": np.arange(1, 5) / 4,
        "midpoint": (np.arange(4) + 0.5) / 4,
    }.items():
        ig = integrated_gradients(f, at, method=method, steps=4)
        grads = np.array([[2 * a * 3 * a, a**2 + 1] for a in alphas])  # ∇f on the path
        np.testing.assert_allclose(ig.attributions, [1.0, 3.0] * grads.mean(axis=0), rtol=1e-14)


def test_a_path_integral_sympy_cannot_do_falls_back_to_quadrature(mp_digits):
    mp_digits(30)
    at, baseline = {"x": 1.0, "y": 2.0}, {"x": -0.5, "y": 0.0}
    ig = integrated_gradients("tanh(x)*exp(y)", at, baseline)
    assert "numeric quadrature" in ig.exact_by and "numeric quadrature" in ig.to_text()
    truth = mp_integrated_gradients("tanh(x)*exp(y)", at, baseline)
    np.testing.assert_allclose(ig.attributions, [truth["x"], truth["y"]], rtol=1e-13)
    quick = integrated_gradients("x*y*sin(x + y)", [1, 2], timeout=1e-6)
    assert quick.exact_by == ("numeric quadrature", "numeric quadrature")
    assert abs(quick.completeness_error) <= 1e-13


def test_a_kink_on_the_path_is_integrated_exactly():
    # relu(x - y) switches on at α = 1/3 on the path γ(α) = (2α, 1 − α) from (0, 1) to (2, 0):
    # ∂f/∂x = H(3α − 1) + 1 − α and ∂f/∂y = −H(3α − 1) + 2α, so IG = (2·7/6, −1·1/3)
    ig = integrated_gradients("relu(x - y) + x*y", {"x": 2, "y": 0}, {"x": 0, "y": 1}, timeout=60)
    assert ig.exact_by == ("symbolic", "symbolic")
    assert ig.attributions.tolist() == pytest.approx([7 / 3, -1 / 3], rel=1e-14)
    assert abs(ig.completeness_error) <= 1e-14 and ig.difference == 2.0
    orders = ig.study.orders  # a jump in ∂f/∂x: midpoint, trapezoid and Gauss drop to order 1
    assert orders["midpoint"] < 1.3 and orders["gauss_legendre"] != "spectral"


def test_gradient_times_input_violates_completeness_except_on_linear_f():
    linear = integrated_gradients("2*x - 3*y + 1", {"x": 1, "y": 2})
    np.testing.assert_allclose(linear.gradient_times_input, linear.attributions, rtol=1e-14)
    assert "adds up to f(x) − f(x′) here" in linear.comparison()[0]
    curved = integrated_gradients("x*y*sin(x + y)", {"x": 1, "y": 2})
    assert curved.comparison()[0].startswith(
        "gradient × input (x − x′)⊙∇f(x) violates completeness"
    )
    np.testing.assert_allclose(
        curved.saliency, [2 * np.sin(3) + 2 * np.cos(3), np.sin(3) + 2 * np.cos(3)]
    )
    right_one_step = integrated_gradients("x*y*sin(x + y)", [1, 2], method="right", steps=1)
    np.testing.assert_allclose(right_one_step.attributions, curved.gradient_times_input, rtol=1e-14)


@pytest.mark.parametrize(
    ("kwargs", "message", "parameter"),
    [
        ({"at": {"x": 1}}, "`at` needs a value for every input; missing: y", "at"),
        ({"at": {"x": 1, "y": 2, "w": 3}}, "`at` names 'w', which is not an input of f", "at"),
        ({"at": [1, 2, 3]}, "`at` has 3 values but f has 2 inputs", "at"),
        ({"at": [1, "two"]}, "`at` must give y a finite number, got 'two'", "at"),
        ({"baseline": [0, math.inf]}, "`baseline` must give y a finite number", "baseline"),
        ({"method": "midpiont"}, "unknown `method` 'midpiont'; did you mean 'midpoint'", "method"),
        ({"steps": 0}, "`steps` must be from 1", "steps"),
        ({"steps": 2.5}, "`steps` must be a whole number", "steps"),
        ({"method": "gauss_legendre", "steps": 5000}, "at most 2000 `steps`", "steps"),
    ],
)
def test_bad_input_is_refused(kwargs, message, parameter):
    with pytest.raises(SymcalcError, match=message) as refused:
        integrated_gradients("x*y", **{"at": [1, 2], **kwargs})
    assert refused.value.parameter == parameter


def test_a_gradient_that_is_not_finite_on_the_path_is_refused_or_set_aside():
    with pytest.raises(SymcalcError, match="not finite at α = 0 on the path") as refused:
        integrated_gradients("sqrt(x) + y", [1, 2], method="left")
    assert refused.value.parameter == "baseline"
    # ∂f/∂x = 1/(2√x) is infinite at the baseline but integrable: exact and midpoint work
    # (IGₓ = ∫₀¹ dα/(2√α) = 1), left and trapezoid cannot
    ig = integrated_gradients("sqrt(x) + y", [1, 2], method="midpoint", steps=64)
    assert set(ig.study.unavailable) == {"left", "trapezoid"}
    assert "not finite" in ig.study.unavailable["left"] and "left" not in ig.study.orders
    assert ig.study.orders["midpoint"] == pytest.approx(0.5, abs=0.1)  # error ~ steps^(-1/2)
    exact = integrated_gradients("sqrt(x) + y", [1, 2])
    np.testing.assert_allclose(exact.attributions, [1.0, 2.0], rtol=1e-14)
    # f = √x·y has ∂f/∂x = y/(2√x) = √α on the path: 0 at the baseline, where ∂f/∂x(0, 0) = 0
    # is the true partial (f(h, 0) = 0), so every rule works
    left = integrated_gradients("sqrt(x)*y", [1, 2], method="left", steps=64)
    assert left.study.unavailable == {} and left.saliency.tolist() == [1.0, 1.0]
    np.testing.assert_allclose(
        integrated_gradients("sqrt(x)*y", [1, 2]).attributions, [2 / 3, 4 / 3], rtol=1e-14
    )
    with pytest.raises(SymcalcError, match="f is not finite at the input or the baseline"):
        integrated_gradients("log(x) + y", [1, 2], method="left")


@pytest.mark.parametrize("method", METHODS)
def test_json_has_the_promised_keys_and_no_nan(method):
    data = integrated_gradients("x*y + x**3", {"x": 1, "y": 2}, method=method).to_dict()
    assert JSON_KEYS <= set(data)
    json.dumps(data, allow_nan=False)
    assert data["order"] == (None if method == "exact" else data["convergence"]["orders"][method])
    assert data["steps"] == (None if method == "exact" else 50)
    assert list(data["attributions"]) == ["x", "y"]


# -- trained models -----------------------------------------------------------------------


@functools.cache
def breast_cancer():
    data = symcalc.load_data("builtin:breast_cancer", standardize=True)
    return data, symcalc.descend("logistic", data, l2=0.01)


def test_logistic_attributions_have_their_closed_form():
    data, fit = breast_cancer()
    f = model_function(fit, feature_names=data.feature_names, target=data.target)
    assert f.output == "P(diagnosis = malignant)" and f.names == data.feature_names
    x, x0 = data.X[3], np.zeros(data.n_features)
    ig = integrated_gradients(f, x, x0, timeout=60)
    assert set(ig.exact_by) == {"symbolic"}
    b, w = fit.theta[0], fit.theta[1:]
    sigma = lambda z: 1 / (1 + np.exp(-z))  # noqa: E731
    closed = w * (x - x0) / (w @ (x - x0)) * (sigma(b + w @ x) - sigma(b + w @ x0))
    np.testing.assert_allclose(ig.attributions, closed, rtol=1e-10, atol=1e-15)
    assert abs(ig.completeness_error) <= 1e-12 * abs(ig.difference)
    # the result of descend itself is read as its model's output (through symcalc.hooks)
    direct = integrated_gradients(fit, x, x0, method="gauss_legendre", steps=30)
    assert direct.input == "P(y = malignant) of the logistic model"
    np.testing.assert_allclose(direct.attributions, closed, rtol=1e-10, atol=1e-15)


def test_a_model_gradient_is_the_derivative_of_its_formula(rng):
    data, fit = breast_cancer()
    f = model_function(fit, feature_names=data.feature_names)
    expr, symbols = f.symbolic()
    point = data.X[10]
    subs = {s: sympy.Float(v, 30) for s, v in zip(symbols, point, strict=True)}
    exact = [float(sympy.diff(expr, s).xreplace(subs).evalf(30)) for s in symbols[:5]]
    np.testing.assert_allclose(f.gradient(point[None, :])[0, :5], exact, rtol=1e-12)
    assert float(expr.xreplace(subs).evalf(30)) == pytest.approx(
        f.value(point[None, :])[0], rel=1e-13
    )


def finite_differences(f, points: np.ndarray, h: float = 1e-6) -> np.ndarray:
    columns = []
    for j in range(points.shape[1]):
        step = np.zeros(points.shape[1])
        step[j] = h
        columns.append((f.value(points + step) - f.value(points - step)) / (2 * h))
    return np.column_stack(columns)


def deep_network(rng, head: str, outputs: int) -> ModelFunction:
    """Two hidden layers (tanh, then softplus) and an output layer: random weights."""
    sizes = [4, 5, 3, outputs]
    activations = [symcalc.get("tanh"), symcalc.get("softplus"), None]
    layers = tuple(
        Layer(rng.normal(size=(m, n)), rng.normal(size=m), a)
        for n, m, a in zip(sizes[:-1], sizes[1:], activations, strict=True)
    )
    return ModelFunction(("a", "b", "c", "d"), layers, head, outputs - 1, "f")


@pytest.mark.parametrize(("head", "outputs"), [("softmax", 3), ("sigmoid", 1), ("identity", 1)])
def test_a_network_gradient_is_backpropagation_checked_two_ways(rng, head, outputs):
    f = deep_network(rng, head, outputs)
    points = rng.normal(size=(4, 4))
    np.testing.assert_allclose(
        f.gradient(points), finite_differences(f, points), rtol=1e-7, atol=1e-9
    )
    expr, symbols = f.symbolic()
    subs = {s: sympy.Float(v, 30) for s, v in zip(symbols, points[0], strict=True)}
    exact = [float(sympy.diff(expr, s).xreplace(subs).evalf(30)) for s in symbols]
    np.testing.assert_allclose(f.gradient(points[:1])[0], exact, rtol=1e-12)
    ig = integrated_gradients(f, points[0], points[1], timeout=1e-6)
    assert abs(ig.completeness_error) <= 1e-12 * max(1.0, abs(ig.difference))


def test_trained_models_are_read_layer_by_layer(rng):
    linear = symcalc.descend("linear", "synthetic:linear")
    f = model_function(linear)
    assert f.names == ("x1", "x2", "x3") and f.output == "predicted y"
    X = linear.objective.X[:5]
    np.testing.assert_allclose(f.value(X), linear.objective.outputs(linear.theta, X), rtol=1e-14)
    np.testing.assert_allclose(f.gradient(X), np.tile(linear.theta[1:], (5, 1)), rtol=1e-14)
    net = symcalc.descend("mlp", "synthetic:linear", loss="squared_error", hidden=4, max_iter=50)
    g = model_function(net)
    X = net.objective.X[:5]
    np.testing.assert_allclose(g.value(X), net.objective.outputs(net.theta, X), rtol=1e-13)
    np.testing.assert_allclose(g.gradient(X), finite_differences(g, X), rtol=1e-6, atol=1e-9)
    assert [layer.activation.name if layer.activation else None for layer in g.layers] == [
        "tanh",
        None,
    ]


def test_a_softmax_objective_is_read_with_its_classes():
    X = np.array([[0.5, -1.0], [1.0, 2.0]])
    objective = AffineObjective("softmax", X, np.array([0, 2]), SoftmaxHead(("a", "b", "c")))
    theta = np.arange(9.0) / 10  # per class: intercept, w1, w2
    fit = types.SimpleNamespace(
        objective=objective,
        theta=theta,
        model="softmax",
        parameter_names=("a: intercept", "a: u", "a: v"),
    )
    f = model_function(fit, output="b", target="label")
    assert (f.names, f.output, f.head, f.index) == (("u", "v"), "P(label = b)", "softmax", 1)
    Z = X @ theta.reshape(3, 3)[:, 1:].T + theta.reshape(3, 3)[:, 0]
    np.testing.assert_allclose(f.value(X), np.exp(Z[:, 1]) / np.exp(Z).sum(axis=1), rtol=1e-14)
    np.testing.assert_allclose(f.gradient(X), finite_differences(f, X), rtol=1e-7, atol=1e-10)
    far = X * 1e3  # logits near ±1e4: the shifted softmax neither overflows nor loses P
    assert np.isfinite(f.value(far)).all() and np.isfinite(f.gradient(far)).all()


def test_either_class_of_a_logistic_model_is_explained():
    """P(benign) = 1 − P(malignant): its value is σ(−z), its attributions the negatives."""
    _, fit = breast_cancer()
    X = fit.objective.X[:4]
    malignant = model_function(fit, output="malignant", target="diagnosis")
    benign = model_function(fit, output="benign", target="diagnosis")
    assert (malignant.output, benign.output) == (
        "P(diagnosis = malignant)",
        "P(diagnosis = benign)",
    )
    z = fit.objective.outputs(fit.theta, X).ravel()
    with mpmath.workdps(30):
        truth = [float(1 / (1 + mpmath.exp(mpmath.mpf(float(t))))) for t in z]  # σ(−z)
    np.testing.assert_allclose(benign.value(X), truth, rtol=1e-14)
    np.testing.assert_allclose(benign.gradient(X), -malignant.gradient(X), rtol=1e-14)
    a, b = (
        integrated_gradients(f, X[0], np.zeros(30), method="exact") for f in (malignant, benign)
    )
    np.testing.assert_allclose(b.attributions, -a.attributions, rtol=1e-10, atol=1e-15)
    assert abs(b.completeness_error) < 1e-12 * max(1.0, abs(b.difference))


def test_model_function_refuses_a_class_the_model_does_not_know():
    _, fit = breast_cancer()
    with pytest.raises(SymcalcError, match="'benigne' is not a class.*did you mean 'benign'"):
        model_function(fit, output="benigne")


# -- the command line ---------------------------------------------------------------------


def test_cli_attributes_an_expression(cli, tmp_path):
    run = cli(
        "attribute", "x*y*sin(x+y)", "--at", "x=1,y=2", "--baseline", "x=0,y=0", "--format", "json"
    )
    data = json.loads(run.stdout)
    assert JSON_KEYS <= set(data) and data["method"] == "exact" and data["order"] is None
    assert data["at"] == {"x": 1.0, "y": 2.0} and data["baseline"] == {"x": 0.0, "y": 0.0}
    assert data["sum"] == pytest.approx(data["difference"], rel=1e-14)
    out = cli("attribute", "x*y", "--at", "x=1,y=2", "--method", "left", "--steps", "4").stdout
    assert "method: left, 4 steps" in out and "observed order of left: 1.00" in out
    png = tmp_path / "ig.png"
    run = cli("attribute", "x*y", "--at", "x=1,y=2", "--method", "midpoint", "--plot", str(png))
    assert (
        run.returncode == 0 and png.read_bytes()[:4] == b"\x89PNG" and f"wrote {png}" in run.stdout
    )


def test_cli_attributes_a_model_fitted_in_the_same_command(cli):
    args = ("--data", "builtin:breast_cancer", "--standardize", "--l2", "0.01", "--row", "3")
    run = cli("attribute", "logistic", *args, "--method", "gauss_legendre", "--format", "json")
    data = json.loads(run.stdout)
    assert JSON_KEYS <= set(data) and data["order"] == "spectral"
    assert data["model"]["output"] == "P(diagnosis = malignant)" and data["model"]["row"] == 3
    assert set(data["baseline"].values()) == {0.0}  # the mean of standardized features
    assert len(data["attributions"]) == 30 and abs(data["completeness_error"]) < 1e-12
    text = cli("attribute", "logistic", *args, "--class", "benign", "--steps", "8").stdout
    assert "explaining row 3: f = P(diagnosis = benign)" in text
    assert "training accuracy 0.98" in text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["x*y"], "--at is required"),
        (["x*y", "--at", "x=1,y"], "name=value pairs"),
        (["x*y", "--at", "x=1,x=2"], "gives 'x' twice"),
        (["x*y", "--at", "x=1,y=2", "--baseline", "mean"], "needs a model"),
        (["x*y", "--at", "x=1,y=2", "--class", "a"], "need a model and --data"),
        (["x*y", "--data", "builtin:iris"], "the first argument is a model"),
        (
            ["logistic", "--data", "builtin:breast_cancer", "--row", "600"],
            "--row must be from 0 to 568",
        ),
        (["logistic", "--data", "builtin:breast_cancer", "--at", "x=1"], "give --row K, not --at"),
        (["logistic", "--data", "builtin:iris", "--hidden", "4"], "apply to the mlp model only"),
    ],
)
def test_cli_refuses_bad_input_with_one_line(cli, args, message):
    run = cli("attribute", *args)
    assert run.returncode == 2 and message in run.stderr and len(run.stderr.splitlines()) == 1


def test_console_script_keeps_the_json_contract(cli_subprocess):
    """What ``python ../shared/checks/contract.py`` checks, for attribute, run as a user runs it."""
    run = cli_subprocess(
        "attribute", "x*y", "--at", "x=1,y=2", "--method", "trapezoid", "--format", "json"
    )
    assert run.returncode == 0, run.stderr
    data = json.loads(run.stdout)
    assert JSON_KEYS <= set(data) and data["order"] is None  # trapezoid is exact on x·y


# -- tenth session: found against mpmath and torch-autograd integrated gradients ----------


def test_exact_integrates_a_float_constant_exactly():
    """SymPy integrated −1/(2α + 1e-4)² over [0, 1] as 0 with the Float 1.0001 in it: the
    attribution was 0 where it is f(1) − f(−1) = 1/2.0001 − 1/0.0001 (one input)."""
    truth = 1 / mpmath.mpf(2.0001) - 1 / (mpmath.mpf(-1) + mpmath.mpf(1.0001))
    ig = integrated_gradients("1/(x + 1.0001)", at=[1], baseline=[-1])
    assert ig.attributions[0] == pytest.approx(float(truth), rel=1e-13)
    assert abs(ig.completeness_error) <= 1e-12 * abs(ig.difference)
    two = integrated_gradients("y/(x + 1.001)", at=[1, 2], baseline=[-1, 1])
    x0, x1, y0, y1 = (mpmath.mpf(v) for v in (-1, 1, 1, 2))
    c = mpmath.mpf(1.001)
    ig_y = mpmath.quad(lambda a: (y1 - y0) / (x0 + a * (x1 - x0) + c), [0, 1])
    assert two.attributions[1] == pytest.approx(float(ig_y), rel=1e-13)


def _relu_network_ig(W, b, w, at, baseline):
    """IG of f(x) = w·relu(Wx + b) exactly: ∇f is constant between the α where a unit's
    pre-activation (linear in α) changes sign, so the integral is a finite sum."""
    z0, z1 = W @ baseline + b, W @ at + b
    with np.errstate(divide="ignore", invalid="ignore"):
        cross = -z0 / (z1 - z0)
    cuts = np.unique(np.concatenate([[0.0, 1.0], cross[(cross > 0) & (cross < 1)]]))
    total = np.zeros(len(at))
    for lo, hi in zip(cuts[:-1], cuts[1:], strict=True):
        z = z0 + 0.5 * (lo + hi) * (z1 - z0)
        total += (hi - lo) * ((w * (z > 0)) @ W)
    return (at - baseline) * total


def test_exact_attributions_of_a_relu_network_are_complete():
    """The quadrature fallback integrated across the jumps of a relu network's gradient
    and stopped 2e-4 off completeness (f(x) − f(x′) = −0.506); the path is now cut where
    a unit switches."""
    rng = np.random.default_rng(7)
    W, b, w = rng.normal(size=(6, 3)), rng.normal(size=6), rng.normal(size=(1, 6))
    relu = symcalc.get("relu")
    f = ModelFunction(
        ("a", "b", "c"), (Layer(W, b, relu), Layer(w, np.zeros(1))), "identity", 0, "y"
    )
    at, baseline = np.array([1.5, -2.0, 0.7]), np.array([-1.0, 1.0, 0.2])
    truth = _relu_network_ig(W, b, w[0], at, baseline)
    ig = integrated_gradients(f, at=at, baseline=baseline, timeout=0.5)
    np.testing.assert_allclose(ig.attributions, truth, rtol=1e-12, atol=1e-13)
    assert abs(ig.completeness_error) <= 1e-12 * max(1.0, abs(ig.difference))
