"""``symcalc eval`` and ``symcalc gradcheck`` from the command line, as a user runs them."""

from __future__ import annotations

import json

import numpy as np
import pytest

from symcalc.numeric.kernels import kernel


def test_eval_json_contract_and_full_precision(cli):
    r = cli("eval", "--at=-1000,0,0.1,1000", "--order", "1", "--format", "json", "--", "sigmoid")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert {"input", "order", "dtype", "x", "values"} <= set(data)
    assert data["input"] == "sigmoid" and data["order"] == 1 and data["dtype"] == "float64"
    assert data["x"] == [-1000.0, 0.0, 0.1, 1000.0]
    expected = kernel("sigmoid", order=1)(np.array(data["x"])).tolist()
    assert data["values"] == expected  # every digit survives the JSON round trip
    assert data["values"][1] == 0.25


def test_eval_non_finite_values_are_null(cli):
    r = cli("eval", "--at=1000", "--order", "1", "--plain", "--format", "json", "--", "sigmoid")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["values"] == [None]  # exp(1000)/(exp(1000)+1)**2 = inf/inf


def test_eval_float32_rounds_inputs_and_outputs(cli):
    r = cli("eval", "tanh", "--at", "0.1,2", "--dtype", "float32", "--format", "json")
    data = json.loads(r.stdout)
    x32 = np.array([0.1, 2.0], dtype=np.float32)
    assert data["x"] == x32.tolist()
    assert data["values"] == np.tanh(x32).tolist()


def test_eval_loss_with_other_variables(cli):
    r = cli("eval", "bce_with_logits", "--at", "-800,0,3", "--order", "1", "--with", "y=0")
    assert r.returncode == 0, r.stderr
    assert "with y = 0.0" in r.stdout and "z = 0.0" in r.stdout and "->  0.5" in r.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("eval", "sigmoid", "--at", "1,abc"), "'abc' is not a number"),
        (("eval", "sigmoid", "--at", "nan"), "finite numbers"),
        (("eval", "sigmod", "--at", "1"), "did you mean 'sigmoid'"),
        (("eval", "mse", "--at", "1", "--with", "q=1"), "--with q: not another variable"),
        (("eval", "mse", "--at", "1", "--with", "y"), "--with takes name=value"),
        (("eval", "tanh", "--at", "1", "--wrt", "t", "--order", "1"), "unknown variable 't'"),
        (("gradcheck", "relu", "--method", "complex"), "complex step needs an analytic function"),
        (("gradcheck", "tanh", "--range", "-5:5"), "takes A:B:N"),
        (("gradcheck", "tanh", "--range", "5:-5:3"), "needs A < B"),
        (("gradcheck", "tanh", "--plot", "out.txt"), "cannot save a figure"),
        (("gradcheck", "tanh", "--tolerance", "3"), "--tolerance must be between 0 and 1"),
        (("gradcheck", "bce", "--at", "2"), "outside the domain"),
    ],
)
def test_bad_input_is_one_line_and_exit_2(cli, args, message):
    r = cli(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in r.stderr
    assert message in lines[0]


def test_expression_with_leading_minus_goes_after_double_dash(cli):
    r = cli("eval", "--at", "2", "--format", "json", "--", "-log(x)")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["values"] == [-np.log(2.0)]


def test_gradcheck_passes_with_exit_0_and_json(cli):
    r = cli("gradcheck", "--format", "json", "--", "tanh")
    assert r.returncode == 0, r.stderr
    data = json.loads(r.stdout)
    assert data["passed"] is True and data["method"] == "central" and data["points"] == 25
    assert data["max_rel_error"] <= data["tolerance"]


def test_gradcheck_fails_a_wrong_derivative_with_exit_1(cli):
    r = cli(
        "gradcheck",
        "sigmoid",
        "--derivative",
        "sigmoid(x)*(1 + sigmoid(x))",
        "--method",
        "richardson",
    )
    assert r.returncode == 1
    assert "FAILED" in r.stdout and "worst: d/dx at x =" in r.stdout


def test_gradcheck_range_reports_kinks(cli):
    r = cli("gradcheck", "relu", "--range", "-2:2:5", "--format", "json")
    data = json.loads(r.stdout)
    assert r.returncode == 0 and data["points"] == 5
    assert data["kinks"] == [{"point": {"x": 0.0}, "variable": "x"}]


def test_gradcheck_plot_writes_the_v_curve_and_refuses_to_overwrite(cli, tmp_path):
    target = tmp_path / "steps.png"
    r = cli("gradcheck", "tanh", "--at", "0.5", "--plot", str(target))
    assert r.returncode == 0, r.stderr
    assert target.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    again = cli("gradcheck", "tanh", "--at", "0.5", "--plot", str(target))
    assert again.returncode == 2 and "already exists" in again.stderr
    assert cli("gradcheck", "tanh", "--at", "0.5", "--plot", str(target), "--force").returncode == 0
