"""``symcalc descend``: every model and optimizer from the command line, real and synthetic data,
auto's choice and reason, the JSON contract, and one-line errors (exit 2) for bad input."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symcalc.learn.descent import OPTIMIZER_NAMES

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
#: Keys a classifier (accuracy) and a network (its shape) add after the contract's.
EXTRA_KEYS = {"accuracy", "hidden", "activation", "output_activation", "init"}


def run_json(cli, *args):
    result = cli("descend", *args, "--format", "json")
    assert result.returncode == 0, result
    assert result.stderr == ""  # no progress bar when stderr is not a terminal
    data = json.loads(result.stdout)
    assert list(data)[: len(CONTRACT_KEYS)] == CONTRACT_KEYS
    assert set(data) - set(CONTRACT_KEYS) <= EXTRA_KEYS
    assert list(data["history"]) == ["loss", "gradient_norm", "step_size"]
    if data["optimizer_chosen"] != "sgd":  # sgd's history has one entry per epoch
        assert len(data["history"]["loss"]) == data["iterations"] + 1
    return data


@pytest.mark.parametrize(
    "model, data, extra, theta_shape",
    [
        ("linear", "builtin:diabetes", ["--optimizer", "nesterov"], (11,)),
        ("linear", "builtin:diabetes", [], (11,)),
        ("logistic", "builtin:breast_cancer", ["--l2", "0.01"], (31,)),
        ("softmax", "builtin:iris", ["--l2", "0.01", "--optimizer", "line-search"], (3, 5)),
        ("softmax", "builtin:wine", ["--l2", "1e-4"], (3, 14)),
        (
            "mlp",
            "builtin:iris",
            ["--hidden", "4", "--activation", "relu", "--max-iter", "400"],
            None,
        ),
    ],
)
def test_every_model_on_real_data(cli, model, data, extra, theta_shape):
    out = run_json(cli, model, "--data", data, "--standardize", *extra)
    assert out["model"] == model
    if theta_shape is not None:
        assert out["converged"] and out["stop_reason"] == "gradient_norm"
        assert np.shape(out["theta"]) == theta_shape
    else:
        assert set(out["theta"]) == {"hidden", "output"}
        assert np.shape(out["theta"]["hidden"]) == (4, 5) and np.shape(out["theta"]["output"]) == (
            3,
            5,
        )
        assert out["history"]["loss"][-1] < 0.2 * out["history"]["loss"][0]
        assert out["optimizer_chosen"] == "lbfgs"


@pytest.mark.parametrize("optimizer", sorted(set(OPTIMIZER_NAMES) - {"sgd"}))
def test_every_optimizer_on_synthetic_data(cli, optimizer):
    out = run_json(cli, "logistic", "--data", "synthetic:logistic", "--optimizer", optimizer)
    assert out["optimizer"] == optimizer and out["converged"]
    assert out["optimizer_chosen"] == ("newton" if optimizer == "auto" else optimizer)
    assert out["loss"] == pytest.approx(0.4402318295, rel=1e-9)


def test_auto_says_what_it_chose_and_why(cli):
    result = cli("descend", "linear", "--data", "builtin:diabetes")
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[1].startswith("optimizer auto → newton: 11 parameters ≤ 1000")
    assert "solved in standardized coordinates; θ, J and ∇J in your units" in lines[2]
    out = run_json(cli, "linear", "--data", "builtin:diabetes")
    assert (out["optimizer"], out["optimizer_chosen"]) == ("auto", "newton")
    assert out["reason"].startswith("11 parameters ≤ 1000") and out["iterations"] <= 2


def test_sgd_from_the_command_line(cli, tmp_path):
    out = run_json(
        cli,
        "linear",
        "--data",
        "synthetic:linear",
        "--optimizer",
        "sgd",
        "--batch-size",
        "16",
        "--epochs",
        "20",
        "--schedule",
        "inverse",
        "--seed",
        "3",
    )
    assert out["optimizer_chosen"] == "sgd" and out["stop_reason"] == "epochs"
    assert len(out["history"]["loss"]) == 21  # θ₀, then one entry per epoch
    assert out["loss"] == pytest.approx(0.250040043, rel=2e-3)
    again = run_json(
        cli,
        "linear",
        "--data",
        "synthetic:linear",
        "--optimizer",
        "sgd",
        "--batch-size",
        "16",
        "--epochs",
        "20",
        "--schedule",
        "inverse",
        "--seed",
        "3",
    )
    assert again["theta"] == out["theta"]  # deterministic for a seed


def test_synthetic_sets_need_no_target(cli):
    assert run_json(cli, "softmax", "--data", "synthetic:blobs")["converged"]
    assert run_json(cli, "mlp", "--data", "synthetic:moons", "--max-iter", "20")["iterations"] == 20


def test_csv_written_here_matches_lstsq(cli, tmp_path, rng):
    X = rng.normal(size=(40, 2))
    y = 1.0 + X @ [2.0, -3.0] + 0.05 * rng.standard_normal(40)
    path = tmp_path / "points.csv"
    path.write_text(
        "u,v,target\n"
        + "".join(f"{a},{b},{t}\n" for (a, b), t in zip(X.tolist(), y.tolist(), strict=True))
    )
    out = run_json(cli, "linear", "--data", str(path), "--target", "target", "--tol", "1e-10")
    truth = np.linalg.lstsq(np.column_stack([np.ones(40), X]), y, rcond=None)[0]
    np.testing.assert_allclose(out["theta"], truth, rtol=1e-10)


def test_l2_is_in_loss_but_not_in_data_loss(cli):
    out = run_json(cli, "linear", "--data", "synthetic:linear", "--l2", "0.5")
    w = np.array(out["theta"][1:])
    assert out["loss"] - out["data_loss"] == pytest.approx(0.25 * w @ w, rel=1e-9)


def test_learning_rate_gives_the_textbook_update(cli):
    out = run_json(
        cli, "linear", "--data", "synthetic:linear", "--learning-rate", "0.05", "--max-iter", "1"
    )
    assert out["history"]["step_size"] == [0.0, 0.05] and out["optimizer_chosen"] == "gd"


def test_text_output(cli):
    result = cli("descend", "softmax", "--data", "builtin:iris", "--standardize", "--l2", "0.01")
    assert result.returncode == 0, result
    assert "standardized" in result.stdout and "converged: gradient norm" in result.stdout
    assert "virginica: petal_width" in result.stdout
    assert "training accuracy: 0.9" in result.stdout


def test_derivation_needs_no_data(cli):
    result = cli("descend", "linear", "--derivation")
    assert result.returncode == 0, result
    assert "∇_θ J = (2/m)·X̃ᵀ(X̃θ - y) + λ·(0, w)" in result.stdout
    assert "∇²_θ J = (2/m)·X̃ᵀX̃ + λ·diag(0, 1, ..., 1)" in result.stdout
    assert result.stdout.index("∇_θ J") < result.stdout.index("∇²_θ J")
    latex = cli("descend", "logistic", "--derivation", "--format", "latex")
    assert latex.returncode == 0, latex
    assert latex.stdout.startswith("\\begin{align*}") and "\\partial^2 J" in latex.stdout
    assert "the textbook loop θ ← θ - α·(1/m)·Xᵀ(Xθ - y) drops the 2" in result.stdout
    mlp = cli(
        "descend",
        "mlp",
        "--derivation",
        "--activation",
        "softplus",
        "--data",
        "builtin:iris",
        "--max-iter",
        "5",
    )
    assert mlp.returncode == 0, mlp
    assert "δ⁽ᴸ⁾ = a⁽ᴸ⁾ - y" in mlp.stdout and "f′(z) = " in mlp.stdout  # the backprop derivation
    assert "categorical_cross_entropy" in mlp.stdout and "θ: " in mlp.stdout


@pytest.mark.parametrize(
    "extra",
    [
        ["--data", "synthetic:linear", "--learning-rate", "5"],
        [
            "--data",
            "builtin:diabetes",
            "--standardize",
            "--learning-rate",
            "0.25",
            "--max-iter",
            "200",
        ],
    ],
)
def test_divergence_exits_1_with_a_hint(cli, extra):
    result = cli("descend", "linear", *extra, "--format", "json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert data["stop_reason"] == "diverged" and not data["converged"]
    assert data["loss"] == min(data["history"]["loss"])  # the best iterate seen
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "lower the learning rate" in lines[0]


def test_separable_classes_stop_with_the_hint(cli):
    out = run_json(cli, "logistic", "--data", "builtin:breast_cancer")
    assert out["stop_reason"] == "separable" and not out["converged"]
    text = cli("descend", "logistic", "--data", "builtin:breast_cancer")
    assert text.returncode == 0 and "add an L2 penalty (--l2 0.01" in text.stdout


def test_plot_is_written_and_not_overwritten(cli, tmp_path):
    target = tmp_path / "curves.png"
    first = cli("descend", "logistic", "--data", "synthetic:logistic", "--plot", str(target))
    assert first.returncode == 0, first
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and f"wrote {target}" in first.stdout
    again = cli("descend", "logistic", "--data", "synthetic:logistic", "--plot", str(target))
    assert again.returncode == 2 and "already exists; pass --force" in again.stderr
    forced = cli(
        "descend", "logistic", "--data", "synthetic:logistic", "--plot", str(target), "--force"
    )
    assert forced.returncode == 0, forced


@pytest.mark.parametrize(
    "args, message",
    [
        (["linear"], "--data is required"),
        (["linear", "--data", "missing.csv", "--target", "y"], "data file 'missing.csv' not found"),
        (["linear", "--data", "synthetic:lineer"], "did you mean 'linear'?"),
        (
            ["linear", "--data", "builtin:iris"],
            "target 'species' holds text labels; the squared_error loss needs numbers",
        ),
        (
            ["linear", "--data", "builtin:diabetes", "--target", "bmii"],
            "no column 'bmii' in diabetes.csv; did you mean 'bmi'?",
        ),
        (
            ["linear", "--data", "synthetic:linear", "--learning-rate", "nan"],
            "--learning-rate must be a finite number > 0",
        ),
        (
            ["linear", "--data", "synthetic:linear", "--learning-rate", "-1"],
            "--learning-rate must be a finite number > 0",
        ),
        (
            ["linear", "--data", "synthetic:linear", "--learning-rate", "fast"],
            "invalid float value: 'fast'",
        ),
        (
            ["linear", "--data", "synthetic:linear", "--max-iter", "0"],
            "--max-iter must be a whole number ≥ 1",
        ),
        (
            ["linear", "--data", "synthetic:linear", "--tol", "-1"],
            "--tol must be a finite number ≥ 0",
        ),
        (
            ["linear", "--data", "synthetic:linear", "--l2", "inf"],
            "--l2 must be a finite number ≥ 0",
        ),
        (
            ["linear", "--data", "synthetic:linear", "--hidden", "4"],
            "--hidden and --activation apply to the mlp model only",
        ),
        (["logistic", "--data", "builtin:iris"], "needs exactly two classes in 'species', found 3"),
        (
            ["logistic", "--data", "synthetic:logistic", "--loss", "mse"],
            "has a fixed loss; drop --loss",
        ),
        (["mlp", "--data", "synthetic:moons", "--activation", "rleu"], "did you mean 'relu'?"),
        (
            ["mlp", "--data", "synthetic:moons", "--hidden", "0"],
            "--hidden must be a whole number of units",
        ),
        (["svm", "--data", "synthetic:linear"], "invalid choice: 'svm'"),
        (["linear", "--data", "synthetic:linear", "--optimizer", "sdg"], "invalid choice: 'sdg'"),
        (
            ["linear", "--data", "synthetic:linear", "--optimizer", "newton", "--epochs", "3"],
            "--epochs apply to --optimizer sgd only",
        ),
        (
            ["linear", "--data", "synthetic:linear", "--optimizer", "sgd", "--batch-size", "0"],
            "--batch-size must be a whole number ≥ 1",
        ),
        (
            ["mlp", "--data", "synthetic:moons", "--optimizer", "newton"],
            "optimizer 'newton' needs the Hessian",
        ),
        (["linear", "--format", "latex", "--data", "synthetic:linear"], "add --derivation"),
        (
            ["linear", "--data", "synthetic:linear", "--plot", "out.txt"],
            "cannot save a figure as 'out.txt'",
        ),
        (
            ["linear", "--derivation", "--format", "json"],
            "--derivation prints text or LaTeX; drop --format json",
        ),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    result = cli("descend", *args)
    assert result.returncode == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr
    assert message in lines[0]


def test_bad_csv_cells_name_their_line(cli, tmp_path):
    path = tmp_path / "data.csv"
    path.write_text("age,height\n3,95\n4,96\n5,abc\n")
    result = cli("descend", "linear", "--data", str(path), "--target", "age")
    assert result.returncode == 2
    assert (
        result.stderr.strip()
        == "symcalc descend: error: data.csv line 4, column 'height': 'abc' is not a number"
    )
