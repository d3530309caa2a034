"""The integrate, ftc, riemann and plot commands, run the way a user runs them."""

from __future__ import annotations

import json
import math
import xml.etree.ElementTree as ET

import pytest
from PIL import Image


def _one_line_error(result, *fragments: str) -> None:
    assert result.returncode == 2, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


def test_integrate_text_with_steps(cli):
    result = cli("integrate", "sigmoid", "--steps", "--timeout", "20")
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert lines[0] == "∫ 1/(1 + exp(-x)) dx = log(exp(x) + 1) + C"
    assert "(substitution, u = exp(x) + 1)" in result.stdout


def test_integrate_json_and_latex(cli):
    data = json.loads(cli("integrate", "relu", "--format", "json").stdout)
    assert data["antiderivative"] == "Piecewise((0, x <= 0), (x**2/2, True))"
    assert data["method"] == "piecewise" and data["steps"][0]["rule"] == "piecewise rule"
    latex = cli("integrate", "x*exp(x)", "--format", "latex", "--steps").stdout
    assert latex.startswith("\\begin{align*}\n\\int x e^{x} \\, dx &= x e^{x} - e^{x} + C")
    assert latex.count(r"\begin{align*}") == 1 and r"\tag*{integration by parts" in latex


def test_integrate_without_closed_form_is_not_an_error(cli):
    result = cli("integrate", "silu", "--format", "json", "--timeout", "20")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["antiderivative"] is None and "no elementary antiderivative" in data["reason"]
    assert data["method"] == "none"


def _strict_json(text: str) -> dict:
    """JSON as a strict reader takes it: NaN and Infinity refused."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


def test_integrate_says_the_method_and_the_intervals_of_a_pole(cli):
    result = cli("integrate", "1/abs(x)")
    assert result.returncode == 0, result
    lines = result.stdout.splitlines()
    assert "oo" not in lines[0]
    assert lines[1] == "  on each interval, with a constant of its own: x < 0; x > 0"
    assert lines[2].startswith("  found by ")
    data = _strict_json(cli("integrate", "1/abs(x)", "--format", "json").stdout)
    assert data["intervals"] == ["x < 0", "x > 0"] and data["method"] == "piecewise"


@pytest.mark.parametrize("text", ["exp(x)*sin(x)", "cos(x)*exp(x/4)", "sin(2*x)*exp(x)"])
def test_integrate_cyclic_parts_is_no_error(cli, text):
    result = cli("integrate", text, "--steps", "--timeout", "20")
    assert result.returncode == 0, result
    assert "no verified closed form" not in result.stdout and "cyclic" in result.stdout


def test_integrate_states_values_put_in(cli):
    data = _strict_json(cli("integrate", "huber", "--format", "json", "--timeout", "20").stdout)
    assert data["antiderivative"] is not None
    assert data["substituted"] == {"y": "0", "delta": "1"}
    selu = _strict_json(cli("integrate", "selu", "--format", "json", "--timeout", "20").stdout)
    assert selu["substituted"] == {} and "1.0507" not in selu["antiderivative"]


def test_integrate_bad_input(cli):
    _one_line_error(cli("integrate", "sigmod"), "integrate", "did you mean 'sigmoid'")
    _one_line_error(
        cli("integrate", "tanh", "--timeout", "-1"), "--timeout must be a positive number"
    )


def test_ftc_json_contract_and_exit_code(cli):
    result = cli("ftc", "--format", "json", "--timeout", "20", "--", "sigmoid")
    assert result.returncode == 0, result
    data = json.loads(result.stdout)
    assert {"input", "a", "antiderivative", "symbolic", "numeric"} <= set(data)
    assert data["input"] == "sigmoid" and data["a"] == 0.0
    assert data["antiderivative"] == "log(exp(x) + 1)"
    assert data["symbolic"]["held"] is True and data["symbolic"]["seconds"] >= 0
    numeric = data["numeric"]
    assert numeric["held"] is True and numeric["max_abs_error"] < 1e-12 and numeric["points"] > 150


def test_ftc_json_has_no_nan_and_pieces_at_singular_points(cli):
    result = cli("ftc", "1/abs(x)", "--format", "json", "--range=0.2:3", "--a=1")
    assert result.returncode == 0, result
    data = _strict_json(result.stdout)
    assert data["held"] is True and data["singular_points"] == []
    jump = cli("ftc", "sqrt(x**2 + 2*x + 1)/(x + 1)", "--range=-3:3", "--a=0")
    assert jump.returncode == 0, jump
    assert "f is undefined at x = -1: checked on each piece: [-3, -1) from a = -2" in jump.stdout


def test_ftc_without_closed_form_still_checks_numerically(cli):
    data = json.loads(cli("ftc", "mish", "--format", "json").stdout)
    assert data["antiderivative"] is None and data["symbolic"]["held"] is None
    assert data["numeric"]["held"] is True


def test_ftc_exits_1_when_a_check_fails(cli):
    result = cli("ftc", "sigmoid", "--antiderivative", "x + log(1 + exp(x))")
    assert result.returncode == 1
    assert "symbolic: FAILED" in result.stdout and "numeric:  FAILED" in result.stdout


def test_ftc_with_negative_limits_and_a_plot(cli, tmp_path):
    target = tmp_path / "ftc.png"
    result = cli("ftc", "tanh", "--a", "-1.5", "--range", "-3:2", "--plot", str(target))
    assert result.returncode == 0, result
    assert "∫_-1.5^x" in result.stdout and f"wrote {target}" in result.stdout
    assert target.read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    again = cli("ftc", "tanh", "--plot", str(target))
    _one_line_error(again, "already exists; pass --force")
    assert cli("ftc", "tanh", "--plot", str(target), "--force").returncode == 0


def test_ftc_domain_errors(cli):
    _one_line_error(
        cli("ftc", "binary_cross_entropy", "--a", "0"), "outside the domain", "e.g. 0.5"
    )
    _one_line_error(cli("ftc", "tanh", "--range", "5:1"), "--range needs A < B")
    _one_line_error(cli("ftc", "tanh", "--range", "a:b"), "--range takes A:B")
    _one_line_error(cli("ftc", "tanh", "--a", "nan"), "--a must be a finite number")
    _one_line_error(cli("ftc", "tanh", "--plot", "out.jpg"), "use a name ending in .png")


def test_riemann_text_json_and_convergence(cli):
    result = cli("riemann", "x**2", "--a", "0", "--b", "1", "--n", "4", "--rule", "left")
    assert result.returncode == 0
    assert result.stdout.startswith("left Riemann sum of x**2 on [0, 1] with n = 4: 0.21875")
    data = json.loads(
        cli(
            "riemann", "exp(x)", "--a=0", "--b", "1", "--convergence", "8", "--format", "json"
        ).stdout
    )
    assert data["value"] == pytest.approx(
        (math.e - 1) * 0.05 / math.sinh(0.05), rel=1e-14
    )  # midpoint, n = 10
    assert data["exact"] == pytest.approx(math.e - 1, rel=1e-15)
    orders = data["convergence"]["orders"]
    assert orders["left"] == pytest.approx(1, abs=0.05) and orders["midpoint"] == pytest.approx(
        2, abs=0.05
    )


def test_riemann_plot_and_bad_input(cli, tmp_path):
    target = tmp_path / "bars.svg"
    result = cli("riemann", "gaussian", "--a", "-2", "--b", "2", "--n", "8", "--plot", str(target))
    assert result.returncode == 0, result
    ids = {element.get("id") for element in ET.parse(target).iter()}
    assert {"riemann-bars", "error-midpoint"} <= ids
    _one_line_error(
        cli("riemann", "x", "--a", "0", "--b", "1", "--rule", "midpont"),
        "invalid choice: 'midpont'",
    )
    _one_line_error(cli("riemann", "x", "--a", "1", "--b", "0"), "needs a < b")
    _one_line_error(cli("riemann", "x", "--a", "0", "--b", "1", "--n", "0"), "--n must be from 1")
    _one_line_error(cli("riemann", "x", "--b", "1"), "--a")


@pytest.mark.parametrize("range_args", [["--range", "-5:5"], ["--range=-5:5"]])
def test_plot_accepts_negative_ranges_both_ways(cli, tmp_path, range_args):
    target = tmp_path / "relu.png"
    result = cli("plot", "relu", "-o", str(target), *range_args, "--tangent", "-1")
    assert result.returncode == 0, result
    with Image.open(target) as image:
        assert image.size == (1320, 510)  # 150 dpi


def test_plot_formats_order_and_force(cli, tmp_path):
    for suffix in ("svg", "pdf"):
        target = tmp_path / f"huber.{suffix}"
        assert cli("plot", "huber", "--order", "2", "-o", str(target)).returncode == 0
    assert (tmp_path / "huber.pdf").read_bytes().startswith(b"%PDF-")
    ids = {element.get("id") for element in ET.parse(tmp_path / "huber.svg").iter()}
    assert {"f", "f'", "f''"} <= ids
    before = (tmp_path / "huber.svg").read_bytes()
    _one_line_error(
        cli("plot", "tanh", "-o", str(tmp_path / "huber.svg")), "already exists; pass --force"
    )
    assert (tmp_path / "huber.svg").read_bytes() == before
    assert cli("plot", "tanh", "-o", str(tmp_path / "huber.svg"), "--force").returncode == 0
    assert (tmp_path / "huber.svg").read_bytes() != before


def test_plot_default_file_name(cli, tmp_path):
    result = cli("plot", "softplus", cwd=tmp_path)
    assert result.returncode == 0 and (tmp_path / "softplus.png").exists()


def test_plot_bad_input(cli, tmp_path):
    _one_line_error(cli("plot", "relu", "-o", str(tmp_path / "x.jpg")), "use a name ending in .png")
    _one_line_error(
        cli("plot", "relu", "-o", str(tmp_path / "missing" / "x.png")), "does not exist"
    )
    _one_line_error(
        cli("plot", "relu", "--order", "3", "-o", str(tmp_path / "y.png")), "invalid choice: 3"
    )
    _one_line_error(
        cli("plot", "relu", "--tangent", "9", "-o", str(tmp_path / "z.png")), "outside the range"
    )
    _one_line_error(cli("plot", "x*y", "-o", str(tmp_path / "w.png")), "function of one variable")
    _one_line_error(cli("plot", "-o", str(tmp_path / "v.png"), "--", "-log("), "never closed")
