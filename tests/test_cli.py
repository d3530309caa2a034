"""The command line for the foundation: list, show, derive; exit codes and one-line errors."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import mpmath
import pytest
import sympy

import symcalc
from symcalc import CATALOG, parse


def _one_line_error(result, code=2):
    assert result.returncode == code, result
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_list_shows_every_entry_with_its_formula(cli):
    result = cli("list")
    assert result.returncode == 0
    for name in CATALOG:
        assert name in result.stdout
    assert "1/(1 + exp(-x))" in result.stdout


def test_list_filters_by_kind_and_speaks_json(cli):
    losses = cli("list", "--kind", "loss").stdout
    assert "huber" in losses and "sigmoid" not in losses
    data = json.loads(cli("list", "--format", "json").stdout)
    assert {d["name"] for d in data} == set(CATALOG)
    assert {"name", "kind", "variables", "expr", "params", "domain", "identity"} <= set(data[0])


def test_show_prints_formula_latex_parameters_and_domain(cli):
    out = cli("show", "elu").stdout
    assert "elu(x) = Piecewise((x, x > 0), (alpha*(exp(x) - 1), True))" in out
    assert "parameters: alpha = 1" in out and "LaTeX:" in out and "domain: x ∈ ℝ" in out
    data = json.loads(cli("show", "bce", "--format", "json").stdout)
    assert data["name"] == "binary_cross_entropy" and data["domain"]["p"] == "Interval.open(0, 1)"
    assert "Sum(" in data["mean_loss"]
    shown = cli("show", "--format", "latex", "--", "-x**2").stdout.strip()
    assert shown.startswith("\\begin{align*}") and shown.endswith("&= - x^{2}\n\\end{align*}")
    softmax = cli("show", "categorical_cross_entropy").stdout
    assert "domain: z₁, z₂, z₃ ∈ ℝ; y₁, y₂, y₃ ∈ [0, 1]" in softmax  # not Interval(0, 1)
    assert "(z₁⁽ⁱ⁾, z₂⁽ⁱ⁾, z₃⁽ⁱ⁾, y₁⁽ⁱ⁾, y₂⁽ⁱ⁾, y₃⁽ⁱ⁾), i = 1, …, m" in softmax  # not z_1_i
    assert "classic derivative: ∂/∂z₁ = " in softmax
    assert "binary_cross_entropy(pᵢ, yᵢ)" in cli("show", "bce").stdout


@pytest.mark.parametrize(
    ("f", "domain", "inside", "outside"),
    [
        ("sqrt(x)", "x ∈ [0, ∞)", [0.0, 2.0], [-0.5]),
        ("1/x", "x ∈ (-∞, 0) ∪ (0, ∞)", [-1.0, 1.0], [0.0]),
        ("sqrt(16*x**2 - 9)/x", "x ∈ (-∞, -3/4] ∪ [3/4, ∞)", [-0.75, 0.75, 3.0], [0.5, 0.0]),
        ("asin(x)", "x ∈ [-1, 1]", [-1.0, 1.0], [1.01]),
        # written as a textbook does (it was "Complement(Reals, Union(ImageSet(Lambda(...")
        ("tan(x)", "x ∈ ℝ ∖ ({2*pi*k + pi/2 : k ∈ ℤ} ∪ {2*pi*k + 3*pi/2 : k ∈ ℤ})", [0.0, 3.0], []),
        ("gamma(x)", "x ∈ ℝ ∖ {0, -1, -2, …}", [0.5, -0.5, -2.5], [0.0, -3.0]),
    ],
)
def test_show_gives_a_users_function_the_domain_where_it_is_real(cli, f, domain, inside, outside):
    """It said "domain: x ∈ ℝ" for sqrt(x); the truth: mpmath's value is real (and
    finite) inside the stated set and not outside it."""
    out = cli("show", "--", f).stdout
    assert f"domain: {domain} (where f is real)" in out
    g = sympy.lambdify(sympy.Symbol("x"), sympy.sympify(f), "mpmath")

    def real(t):
        try:
            value = mpmath.mpc(g(mpmath.mpf(t)))
        except (ZeroDivisionError, ValueError):  # a pole (mpmath: "gamma function pole")
            return False
        return value.imag == 0 and mpmath.isfinite(value.real)

    assert all(real(t) for t in inside) and not any(real(t) for t in outside)


def test_derive_text_shows_derivative_and_classic_form(cli):
    result = cli("derive", "sigmoid", "--steps")
    assert result.returncode == 0, result
    assert "d/dx sigmoid(x) = exp(x)/(exp(x) + 1)**2" in result.stdout
    assert "σ(x)*(1 - σ(x))   (classic form)" in result.stdout  # the order of the steps
    assert "steps:" in result.stdout and "rewrite" in result.stdout


def test_derive_json_has_the_contract_keys_and_readable_expressions(cli):
    result = cli("derive", "--format", "json", "--", "sigmoid")
    data = json.loads(result.stdout)
    for key in (
        "input",
        "expr",
        "expr_latex",
        "variable",
        "order",
        "derivative",
        "derivative_latex",
        "identity",
        "kinks",
        "steps",
    ):
        assert key in data
    assert all({"rule", "expr", "result", "latex"} <= set(step) for step in data["steps"])
    assert parse(data["derivative"]) == parse("exp(x)/(exp(x) + 1)**2")
    assert data["identity"] == "(1 - sigmoid(x))*sigmoid(x)"


def test_derive_latex_is_an_align_block(cli):
    out = cli("derive", "x**2*sin(x)", "--steps", "--format", "latex").stdout
    assert out.startswith(r"\begin{align*}") and out.rstrip().endswith(r"\end{align*}")
    assert out.count(r"\begin{") - out.count(r"\begin{cases}") == 1  # one environment
    assert r"\tag*{product rule}" in out


@pytest.mark.parametrize(
    "args",
    [
        ["derive", "--", "-log(x)"],
        ["derive", "--format", "json", "--", "-log(x)"],
        ["derive", "--order", "2", "--", "-log(x)"],
    ],
)
def test_expressions_starting_with_minus_work_after_double_dash(cli, args):
    result = cli(*args)
    assert result.returncode == 0, result
    assert "-1/x" in result.stdout or "x**(-2)" in result.stdout or "x^{-2}" in result.stdout


def test_leading_minus_without_double_dash_explains_the_fix(cli):
    line = _one_line_error(cli("derive", "-log(x)"))
    assert "goes after '--'" in line


def test_derive_options(cli):
    out = json.loads(cli("derive", "mse", "--wrt", "y", "--format", "json").stdout)
    assert out["variable"] == "y" and parse(out["derivative"]) == parse("2*y - 2*p")
    out = json.loads(cli("derive", "leaky_relu", "--param", "slope=0.2", "--format", "json").stdout)
    assert out["derivative"] == "Piecewise((1, x > 0), (0.2, True))" and out["kinks"] == ["0"]
    out = json.loads(cli("derive", "relu", "--convention", "half", "--format", "json").stdout)
    assert out["derivative"] == "Piecewise((1, x > 0), (1/2, Eq(x, 0)), (0, True))"
    out = json.loads(cli("derive", "x**5", "--order", "3", "--format", "json").stdout)
    assert out["derivative"] == "60*x**2" and out["order"] == 3


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["derive", "--format", "json", "--", "__import__('os').getcwd()"], "attribute access"),
        (["derive", "sigmod"], "unknown function 'sigmod'; did you mean 'sigmoid'?"),
        (["derive", "sigmod(x)"], "unknown function 'sigmod'; did you mean 'sigmoid'?"),
        (["derive", "(x + 1"], "unbalanced parenthesis"),
        (["derive", "sigmoid", "--wrt", "q"], "unknown variable 'q'"),
        (["derive", "sigmoid", "--order", "0"], "--order must be a whole number"),
        (["derive", "sigmoid", "--order", "two"], "invalid int value"),
        (["derive", "elu", "--param", "alpha"], "--param takes name=value"),
        (["derive", "elu", "--param", "alpha=big"], "'big' is not a number"),
        (["derive", "elu", "--param", "beta=2"], "unknown parameter 'beta'"),
        (["derive", "sigmoid", "--timeout", "-1"], "--timeout must be a positive number"),
        (["derive", "sigmoid", "--format", "yaml"], "invalid choice"),
        (["show", "9**9**9**9"], "number is too large"),
        (["list", "--kind", "optimizer"], "invalid choice"),
        (["frobnicate"], "invalid choice"),
        ([], "required"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli, args, message):
    line = _one_line_error(cli(*args))
    assert message in line


def test_version_and_help(cli):
    assert cli("--version").stdout.startswith("symcalc ")
    help_text = cli("derive", "--help").stdout
    assert "--wrt" in help_text and "--convention" in help_text


@pytest.mark.parametrize(
    "args, line",
    [
        (
            ["derive", "sigmoid", "--ordr", "2"],
            "symcalc derive: error: unrecognized arguments: --ordr 2; did you mean --order? "
            "(see symcalc derive --help)",
        ),
        (
            ["plot", "relu", "--rnage=0:1"],
            "symcalc plot: error: unrecognized arguments: --rnage=0:1; did you mean --range? "
            "(see symcalc plot --help)",
        ),
        (
            ["derive", "sigmoid", "--ordr", "2", "--stesp"],
            "symcalc derive: error: unrecognized arguments: --ordr 2 --stesp; did you mean "
            "--order for --ordr, --steps for --stesp? (see symcalc derive --help)",
        ),
        (
            ["derive", "sigmoid", "--zzz", "3"],
            "symcalc derive: error: unrecognized arguments: --zzz 3 (see symcalc derive --help)",
        ),
    ],
)
def test_a_mistyped_option_names_the_command_and_the_option_meant(cli, args, line):
    result = cli(*args)
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.splitlines() == [line]


def test_a_mistyped_command_is_suggested(cli):
    result = cli("derve", "sigmoid")
    assert result.returncode == 2
    (line,) = result.stderr.splitlines()
    assert line.startswith("symcalc: error: argument COMMAND: invalid choice: 'derve'")
    assert line.endswith("; did you mean 'derive'? (see symcalc --help)")


def test_standalone_latex_is_a_document_and_refuses_json(cli):
    out = cli("derive", "relu", "--steps", "--standalone").stdout
    assert out.startswith("\\documentclass[10pt]{article}")
    assert "\\usepackage{amsmath}" in out and out.rstrip().endswith("\\end{document}")
    assert out.count("\\begin{align*}") == 1
    refused = cli("derive", "relu", "--standalone", "--format", "json")
    assert refused.returncode == 2 and "--standalone writes a LaTeX document" in refused.stderr


# -- a handful of real processes: the console script, exit codes, streams -----------------


def _console_script() -> str:
    script = Path(sys.executable).with_name("symcalc")
    return str(script) if script.exists() else shutil.which("symcalc") or ""


def test_the_installed_console_script_runs():
    script = _console_script()
    assert script, "the symcalc console script is not installed beside this interpreter"
    done = subprocess.run([script, "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"symcalc {symcalc.__version__}"


@pytest.mark.parametrize(
    "args, code, stream, text",
    [
        (["derive", "sigmoid"], 0, "stdout", "d/dx sigmoid(x) = exp(x)/(exp(x) + 1)**2"),
        (["derive", "sigmod"], 2, "stderr", "symcalc derive: error: unknown function 'sigmod'"),
        (
            ["gradcheck", "tanh", "--at", "0.5", "--derivative", "1 - tanh(x)"],
            1,
            "stdout",
            "FAILED",
        ),
        (["ftc", "log(x)", "--a", "0", "--range", "0.5:4"], 2, "stderr", "choose another --a"),
    ],
)
def test_exit_codes_and_streams_of_a_real_process(cli_subprocess, args, code, stream, text):
    result = cli_subprocess(*args)
    assert result.returncode == code, result
    assert text in getattr(result, stream)
    assert "Traceback" not in result.stderr
    if code == 2:
        assert result.stdout == "" and len(result.stderr.strip().splitlines()) == 1
