"""``symcalc.backprop`` and ``symcalc backprop``: the derivation's claims against SymPy's
derivative of the scalar loss on small networks (its own check, and an independent one
written here), the classic forms, the cancellations, LaTeX that compiles, JSON, the CLI."""

from __future__ import annotations

import json
import shutil
import subprocess

import numpy as np
import pytest
import sympy

import symcalc
from symcalc.errors import SymcalcError
from symcalc.symbolic import backprop as backprop_module
from symcalc.symbolic import typeset
from symcalc.symbolic.backprop import TOLERANCE, backprop

PDFLATEX = shutil.which("pdflatex")

CASES = [
    ((16, 8), "tanh", "categorical_cross_entropy", None),
    ((4,), "sigmoid", "binary_cross_entropy", None),
    ((3, 3, 3), "x*tanh(x)", "squared_error", None),  # a user's expression, depth 4
    ((3, 2), "relu", "squared_error", "tanh"),
    ((5,), "elu", "huber", None),
    ((2, 2), "hard_tanh", "categorical_cross_entropy", None),
]
IDS = ["tanh-softmax", "sigmoid-bce", "user-expr", "relu-tanh-out", "elu-huber", "hard_tanh"]


@pytest.mark.parametrize("hidden, activation, loss, output", CASES, ids=IDS)
def test_every_claim_holds_on_an_instance(hidden, activation, loss, output):
    d = backprop(hidden=hidden, activation=activation, loss=loss, output_activation=output)
    assert d.verified, d.to_text()
    checked = [s for s in d.steps if s.error is not None]
    assert len(checked) >= 8 and all(s.error <= TOLERANCE for s in checked)
    assert d.depth == len(hidden) + 1
    rules = [s.rule for s in d.steps]
    for rule in ("forward pass", "activation derivative", "output error", "recursion"):
        assert rule in rules
    # the recursion and gradients written out for every layer of this network
    mine = [s.lhs for s in d.steps if s.rule == "this network"]
    L = len(hidden) + 1
    assert [f"δ{_sup(k)}" for k in range(L, 0, -1)] == mine[:L]
    assert [f"∂J/∂W{_sup(k)}" for k in range(L, 0, -1)] == mine[L:]


def _sup(k: int) -> str:
    return f"({k})".translate(str.maketrans("0123456789()", "⁰¹²³⁴⁵⁶⁷⁸⁹⁽⁾"))


def test_the_textbook_forms():
    softmax = backprop(hidden=(16, 8), activation="tanh")
    out = softmax.step("output error")
    assert out.sides[-1] == "a⁽ᴸ⁾_c - y_c" and "aₖ cancels" in out.why
    assert softmax.steps[softmax.steps.index(out) + 1].sides == ("a⁽ᴸ⁾ - y",)
    assert softmax.step("activation derivative").sides[-1] == "1 - a²"  # 1 − tanh²
    assert softmax.step("recursion").sides[-1] == "(W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ (1 - a⁽ˡ⁾²)"
    gradients = {s.lhs: s.sides[-1] for s in softmax.steps if s.rule == "gradients"}
    assert gradients["∂J/∂W⁽ˡ⁾"] == "δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ" and gradients["∂J/∂b⁽ˡ⁾"] == "δ⁽ˡ⁾"
    sigmoid = backprop(hidden=4, activation="sigmoid", loss="binary_cross_entropy")
    out = sigmoid.step("output error")
    assert out.sides[-1] == "a⁽ᴸ⁾ - y" and "cancels" in out.why  # σ′ = a(1 − a) cancels
    assert "a⁽ᴸ⁾·(1 - a⁽ᴸ⁾)" in out.sides[-2]
    assert sigmoid.step("activation derivative").sides[-1] == "a·(1 - a)"  # σ(1 − σ)
    regression = backprop(hidden=3, activation="softsign", loss="squared_error")
    assert regression.step("output error").sides[-1] == "2·a⁽ᴸ⁾ - 2·y"
    user = backprop(hidden=3, activation="x*tanh(x)", loss="squared_error")
    assert user.step("activation derivative").sides == ("z·(1 - tanh(z)²) + tanh(z)",)
    assert user.step("recursion").sides[-1] == "(W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾)"


def test_independently_the_recursion_is_sympys_derivative():
    """A 2 → 3 → 2 → 3 tanh network written here in SymPy: ∂J/∂W⁽ˡ⁾ from its scalar J
    against δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ with δ⁽ᴸ⁾ = a − y and δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ (1 − a⁽ˡ⁾²), as the
    derivation prints them, in NumPy."""
    rng = np.random.default_rng(5)
    sizes = [2, 3, 2, 3]
    Ws = [rng.uniform(-1, 1, (sizes[k + 1], sizes[k])) for k in range(3)]
    bs = [rng.uniform(-1, 1, sizes[k + 1]) for k in range(3)]
    x, y = rng.uniform(-1, 1, 2), np.array([0.0, 0.0, 1.0])
    # the derivation, evaluated in floating point
    acts, pre = [x], []
    for k in range(3):
        pre.append(Ws[k] @ acts[-1] + bs[k])
        acts.append(np.tanh(pre[-1]))
    z = pre[-1]
    deltas = [None, None, np.exp(z) / np.exp(z).sum() - y]
    for k in (1, 0):
        deltas[k] = (Ws[k + 1].T @ deltas[k + 1]) * (1 - acts[k + 1] ** 2)
    # SymPy's derivative of the scalar loss in each weight
    for layer in range(3):
        W = sympy.Matrix(*Ws[layer].shape, lambda i, j: sympy.Symbol(f"w{i}{j}"))
        a = sympy.Matrix(x)
        for k in range(3):
            M = W if k == layer else sympy.Matrix(Ws[k])
            z_k = M * a + sympy.Matrix(bs[k])
            a = z_k.applyfunc(sympy.tanh)
        J = -sum(
            y[c] * sympy.log(sympy.exp(z_k[c]) / sum(sympy.exp(v) for v in z_k)) for c in range(3)
        )
        at = dict(zip(W, Ws[layer].ravel(), strict=True))
        exact = np.array([[float(sympy.diff(J, W[i, j]).xreplace(at)) for j in range(W.cols)]
                          for i in range(W.rows)])  # fmt: skip
        below = x if layer == 0 else acts[layer]
        np.testing.assert_allclose(np.outer(deltas[layer], below), exact, rtol=1e-12, atol=1e-14)


def test_a_wrong_claim_is_caught(monkeypatch):
    """The verification can fail: with f′ doubled the recursion no longer matches SymPy."""
    right = backprop_module._classic_function

    def doubled(entry, convention):
        f = right(entry, convention)
        return lambda value: 2 * f(value)

    monkeypatch.setattr(backprop_module, "_classic_function", doubled)
    d = backprop(hidden=(2, 2), activation="tanh")
    assert not d.verified
    assert d.step("recursion").error > 1e-3 and d.step("output error").error <= TOLERANCE
    assert "FAILED" in d.to_text()


@pytest.mark.parametrize("hidden, activation, loss, output", CASES[:4], ids=IDS[:4])
def test_latex_is_one_environment_that_fits_and_compiles(
    hidden, activation, loss, output, tmp_path
):
    d = backprop(hidden=hidden, activation=activation, loss=loss, output_activation=output)
    body = d.to_latex()
    assert body.startswith("\\begin{align*}\n") and body.count("\\begin{align*}") == 1
    assert typeset.overfull_rows(body) == []
    assert "\\odot" in body and "\\delta^{(l)}" in body
    if PDFLATEX is None:
        return
    (tmp_path / "doc.tex").write_text(d.to_latex(standalone=True), encoding="utf-8")
    done = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    assert "Overfull \\hbox" not in done.stdout


def test_json_steps_are_like_derives():
    d = backprop(hidden=(3, 2), activation="sigmoid", classes=4)
    data = json.loads(json.dumps(d.to_dict(), allow_nan=False))
    assert data["hidden"] == [3, 2] and data["layers"] == 3 and data["classes"] == 4
    assert data["verified"] is True and data["output_activation"] == "softmax"
    for step in data["steps"]:
        assert {"rule", "expr", "result", "latex", "verified", "max_error"} <= set(step)
    assert "W⁽³⁾ 4×2" in d.step("forward pass").text or "4×2" in d.to_text()


def test_public_api_and_repr():
    assert "backprop" in symcalc.__all__ and "BackpropDerivation" in symcalc.__all__
    d = symcalc.backprop(hidden=2, activation="softplus", loss="log_cosh")
    assert isinstance(d, symcalc.BackpropDerivation) and d.hidden == (2,)
    assert repr(d).startswith("<BackpropDerivation") and "verified" in repr(d)
    assert d._repr_latex_().startswith("$$\\begin{align*}")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"hidden": 0}, r"`hidden` must be a whole number of units from 1 to 4096"),
        ({"hidden": []}, r"`hidden` must list from 1 to 64 layer widths"),
        ({"loss": "hinge"}, r"backprop derives losses on the network's output"),
        ({"activation": "sigmod"}, r"did you mean 'sigmoid'"),
        ({"activation": "mse"}, r"`activation` must be a function of one variable"),
        ({"output_activation": "tanh"}, r"categorical_cross_entropy reads a softmax output"),
        ({"classes": 1}, r"`classes` must be a whole number from 2 to 64"),
    ],
)
def test_bad_input(kwargs, message):
    with pytest.raises(SymcalcError, match=message):
        backprop(**kwargs)


def test_command(cli):
    text = cli("backprop", "--hidden", "16,8", "--activation", "tanh")
    assert text.returncode == 0, text
    assert "δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y" in text.stdout and "verified: every claim held" in text.stdout
    data = json.loads(
        cli(
            "backprop",
            "--hidden",
            "16,8",
            "--loss",
            "categorical_cross_entropy",
            "--format",
            "json",
        ).stdout
    )
    assert data["hidden"] == [16, 8] and data["verified"] is True
    latex = cli("backprop", "--hidden", "4", "--format", "latex", "--standalone")
    assert latex.stdout.startswith("\\documentclass") and "\\end{document}" in latex.stdout
    bad = cli("backprop", "--hidden", "16,0")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1, bad
    assert "--hidden must be a whole number" in bad.stderr
    assert cli("backprop", "--standalone").returncode == 2


def test_descend_derivation_prints_the_same(cli):
    shown = cli("descend", "mlp", "--derivation", "--hidden", "16,8", "--activation", "tanh")
    assert shown.returncode == 0, shown
    derived = backprop(hidden=(16, 8), activation="tanh").to_text()
    assert shown.stdout.startswith(derived)
    assert "R{δ⁽ˡ⁾}" in shown.stdout  # then the Hessian-vector product
    latex = cli("descend", "mlp", "--derivation", "--hidden", "3", "--format", "latex")
    assert latex.stdout.strip() == backprop(hidden=3, activation="tanh").to_latex()


@pytest.mark.parametrize("loss", ["squared_error", "absolute_error", "huber", "log_cosh"])
def test_a_sigmoid_output_cancels_only_against_cross_entropy(loss):
    """The output error of a regression loss through a sigmoid output said 'the factor
    a⁽ᴸ⁾(1 − a⁽ᴸ⁾) cancels' while the result keeps it (2·a·(y − a)·(a − 1) for squared error)."""
    step = backprop(hidden=(2,), activation="tanh", loss=loss, output_activation="sigmoid").step(
        "output error"
    )
    assert "cancels" not in step.why and "cancels" not in (step.tag or "")
    assert "a⁽ᴸ⁾" in step.sides[-1] and "- 1" in step.sides[-1]
    bce = backprop(hidden=(2,), activation="tanh", loss="binary_cross_entropy")
    assert "cancels" in bce.step("output error").why


@pytest.mark.parametrize(
    ("activation", "shown"),
    [("softsign", "(Abs(z) + 1)^(-2)"), ("x**4", "4·z³"), ("x**2.5", "2.5·z^1.5")],
)
def test_powers_in_the_text_read_as_powers(activation, shown):
    """Powers other than squares printed as '··': softsign′ was '(Abs(z) + 1)··(-2)'."""
    d = backprop(hidden=(2,), activation=activation, loss="squared_error", verify=False)
    text = next(s for s in d.steps if s.rule.startswith("activation")).text
    assert shown in text and "··" not in d.to_text()
