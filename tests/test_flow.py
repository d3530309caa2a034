"""Gradient flow across depth (`symcalc.learn.flow`, ``symcalc gradient-flow``).

Independent truth: the same random network backpropagated by hand in NumPy, with the
full Jacobian products ∏ diag(f′(z⁽ˡ⁾)) W⁽ˡ⁾ and f′ written out (1 − tanh², 1/(1 + |x|)²);
the classic facts of initialization (ReLU halves the gradient's squared norm per layer
under Xavier and keeps it under He; σ′ ≤ 1/4 makes sigmoid gradients vanish).
"""

from __future__ import annotations

import json
import math

import numpy as np
import pytest

import symcalc
from symcalc.errors import SymcalcError
from symcalc.learn.flow import gradient_flow, random_network
from symcalc.learn.initializers import INITIALIZERS, initial_weights, weight_scale


def hand_backprop(net, f, df) -> np.ndarray:
    """‖∂J/∂a⁽ᴸ⁻ᵏ⁾‖ from the Jacobians ∂a⁽ˡ⁾/∂a⁽ˡ⁻¹⁾ = diag(f′(z⁽ˡ⁾)) W⁽ˡ⁾, multiplied out."""
    a, jacobians = net.x, []
    for W in net.weights:
        z = W @ a
        jacobians.append(np.diag(df(z)) @ W)
        a = f(z)
    norms, product = [np.linalg.norm(net.u)], np.eye(net.x.size)
    for J in reversed(jacobians):
        product = product @ J  # ∂a⁽ᴸ⁾/∂a⁽ˡ⁻¹⁾
        norms.append(np.linalg.norm(net.u @ product))
    return np.array(norms)


@pytest.mark.parametrize(
    ("activation", "f", "df"),
    [
        ("tanh", np.tanh, lambda z: 1 - np.tanh(z) ** 2),
        ("x/(1 + abs(x))", lambda z: z / (1 + abs(z)), lambda z: 1 / (1 + abs(z)) ** 2),
        ("sigmoid", lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    ],
)
@pytest.mark.parametrize("init", ["xavier", "he", "normal"])
def test_norms_are_those_of_a_direct_numpy_backprop(activation, f, df, init):
    flow = gradient_flow([activation], depth=6, width=5, init=init, seeds=3, seed=7)
    for s in range(3):
        expected = hand_backprop(random_network(5, 6, init, seed=7 + s), f, df)
        np.testing.assert_allclose(flow.curves[0].norms[s], expected, rtol=1e-12)


def test_the_bound_holds_layer_by_layer_on_every_network():
    flow = gradient_flow(("sigmoid", "tanh", "relu", "gelu", "silu"), depth=12, width=8, seeds=6)
    for curve in flow.curves:
        assert np.all(curve.norms <= curve.bounds * (1 + 1e-12)), curve.activation
        net = random_network(8, 12, "xavier", seed=0)
        first = curve.sup_derivative * np.linalg.norm(net.weights[-1], 2)
        assert curve.bounds[0, 1] == pytest.approx(first, rel=1e-14)


def test_the_classic_facts_of_initialization():
    xavier = {c.activation: c for c in gradient_flow(depth=30, width=64, seeds=10).curves}
    he = {c.activation: c for c in gradient_flow(depth=30, width=64, seeds=10, init="he").curves}
    assert he["relu"].rate == pytest.approx(1.0, abs=0.05)  # He: E‖g‖² kept
    assert xavier["relu"].rate == pytest.approx(math.sqrt(0.5), abs=0.05)  # halved per layer
    assert xavier["sigmoid"].rate < 0.3 and xavier["sigmoid"].sup_derivative == 0.25
    assert xavier["tanh"].rate > 0.9  # tanh′(0) = 1: Xavier keeps it near 1


def test_initializers_have_the_stated_spread(rng):
    for init, fan_in, fan_out in (("xavier", 200, 100), ("he", 300, 50), ("normal", 100, 100)):
        W = initial_weights((fan_out, fan_in), init, rng)
        expected = {"xavier": math.sqrt(2 / 300), "he": math.sqrt(2 / 300), "normal": 1.0}[init]
        assert weight_scale(init, fan_in, fan_out) == pytest.approx(expected)
        assert W.shape == (fan_out, fan_in)
        assert W.std() == pytest.approx(expected, rel=0.03)
    assert set(INITIALIZERS) == {"xavier", "he", "normal"}


def test_json_has_no_infinity_when_gradients_overflow():
    flow = gradient_flow(["relu"], depth=400, width=64, init="normal", seeds=2)
    data = json.loads(json.dumps(flow.to_dict(), allow_nan=False))
    median = data["activations"][0]["median"]
    assert median[0] == 1.0 and median[-1] is None  # 5.6^400 overflows
    assert set(data) == {"depth", "width", "init", "seeds", "seed", "objective", "activations"}


@pytest.mark.parametrize(
    ("kwargs", "message", "parameter"),
    [
        ({"init": "xavir"}, "unknown `init` 'xavir'; did you mean 'xavier'", "init"),
        ({"depth": 0}, "`depth` must be from 1 to 1000", "depth"),
        ({"width": 2.5}, "`width` must be a whole number", "width"),
        ({"seeds": 10**6}, "`seeds` must be from 1 to 1000", "seeds"),
        ({"seed": -1}, "`seed` must be a whole number ≥ 0", "seed"),
        ({"activations": []}, "at least one activation", "activations"),
        ({"activations": ["mse"]}, "is a loss; give an activation", "activations"),
        ({"activations": ["x*y"]}, "function of one variable", None),
    ],
)
def test_bad_arguments_are_refused(kwargs, message, parameter):
    with pytest.raises(SymcalcError, match=message) as refused:
        gradient_flow(**{"depth": 3, "width": 3, "seeds": 1, **kwargs})
    assert refused.value.parameter == parameter


def test_cli_prints_the_table_and_json(cli, tmp_path):
    out = cli("gradient-flow", "--depth", "8", "--width", "8", "--seeds", "3").stdout
    assert "8 layers × 8 units, xavier initialization, 3 random networks" in out
    assert [line.split()[0] for line in out.splitlines()[3:7]] == [
        "sigmoid",
        "tanh",
        "relu",
        "gelu",
    ]
    args = ("--depth", "5", "--width", "6", "--seeds", "2", "--init", "he", "--format", "json")
    run = cli("gradient-flow", "--activation", "relu,max(0, x),softsign", *args)
    data = json.loads(run.stdout)
    assert [c["activation"] for c in data["activations"]] == ["relu", "max(0, x)", "softsign"]
    relu, same = data["activations"][:2]
    assert relu["median"] == same["median"] and relu["layers"] == list(range(6))
    assert {"activation", "sup_derivative", "median", "q1", "q3", "bound", "rate"} <= set(relu)
    png = tmp_path / "flow.png"
    run = cli("gradient-flow", "--depth", "4", "--width", "4", "--seeds", "2", "--plot", str(png))
    assert run.returncode == 0 and png.read_bytes()[:4] == b"\x89PNG"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--activation", "relu,,tanh"], "separated by commas"),
        (["--init", "lecun"], "invalid choice"),
        (["--depth", "-3"], "error: --depth must be from 1"),
        (
            ["--activation", "mse"],
            "is a loss; give an activation, a function of x, in --activation",
        ),
        (["--activation", "sigmod"], "did you mean 'sigmoid'"),
    ],
)
def test_cli_refuses_bad_input_with_one_line(cli, args, message):
    run = cli("gradient-flow", *args)
    assert run.returncode == 2 and message in run.stderr and len(run.stderr.splitlines()) == 1


def test_an_unbounded_or_overflowing_activation_is_explained_not_nan(cli):
    flow = gradient_flow(["exp(x)", "tanh"], depth=30, width=16, seeds=3)
    blowup, tanh = flow.curves
    assert blowup.note.startswith("f′ is unbounded (sup|f′| = ∞), so the chain rule gives no bound")
    assert "not a finite number from k = 1 on in 3 of 3 networks" in blowup.note
    assert tanh.note == "" and tanh.to_dict()["note"] is None
    text = flow.to_text()
    assert "nan" not in text and "overflow [overflow, overflow]" in text
    assert "exp(x): f′ is unbounded" in text
    run = cli("gradient-flow", "--activation", "exp(x)", "--depth", "30", "--width", "16",
              "--seeds", "3", "--format", "json")  # fmt: skip
    data = json.loads(run.stdout)  # parses: no NaN or Infinity in the JSON
    json.dumps(data, allow_nan=False)
    assert data["activations"][0]["median"][-1] is None
    assert data["activations"][0]["note"] == blowup.note
    fig = symcalc.plot_gradient_flow(flow)
    labels = [text.get_text() for text in fig.legends[0].get_texts()]
    assert labels[:2] == ["exp(x) (sup|f′| = ∞), overflow from k = 1", "tanh (sup|f′| = 1)"]


def test_plot_draws_one_panel_per_flow_with_medians_and_bounds():
    from symcalc.present.plotting import plot_gradient_flow

    flows = [
        gradient_flow(("sigmoid", "relu"), depth=6, width=6, seeds=3, init=i)
        for i in ("xavier", "he")
    ]
    fig = plot_gradient_flow(flows)
    assert [ax.get_title() for ax in fig.axes] == ["xavier initialization", "he initialization"]
    gids = sorted(line.get_gid() for line in fig.axes[1].lines if line.get_gid())
    assert gids == ["bound-relu", "bound-sigmoid", "median-relu", "median-sigmoid"]
    median = next(line for line in fig.axes[0].lines if line.get_gid() == "median-sigmoid")
    np.testing.assert_allclose(median.get_ydata(), flows[0].curves[0].median)
    assert fig.axes[0].get_yscale() == "log"
