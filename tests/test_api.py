"""The public API's conventions: errors name parameters and the CLI says flags (one table),
``wrt=``/``order=`` are keyword-only, time budgets are read at call time, caches are bounded."""

from __future__ import annotations

import argparse
import ast
import inspect
import math
import re
from pathlib import Path

import numpy as np
import pytest
import sympy

import symcalc
from symcalc.cli import build_parser
from symcalc.cli.flags import FLAGS, to_flags
from symcalc.errors import SymcalcError
from symcalc.learn import heads, models
from symcalc.learn.data import load_data
from symcalc.learn.descent import descend
from symcalc.numeric.ftc import check_ftc
from symcalc.numeric.kernels import kernel
from symcalc.present.files import write_atomic
from symcalc.symbolic import budget
from symcalc.symbolic.catalog import get
from symcalc.symbolic.integrals import antiderivative

PACKAGE = Path(symcalc.__file__).parent

# -- the flag table -------------------------------------------------------------------------


def _long_options(parser: argparse.ArgumentParser) -> set[str]:
    found: set[str] = set()
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                found |= _long_options(sub)
        found.update(o for o in action.option_strings if o.startswith("--"))
    return found


def test_every_flag_in_the_table_is_a_real_option():
    options = _long_options(build_parser())
    assert sorted(set(FLAGS.values()) - options) == []


def test_parameters_whose_flag_is_spelled_differently_are_in_the_table():
    assert FLAGS["x_range"] == "--range"
    assert FLAGS["learning_rate"] == "--learning-rate"
    assert FLAGS["max_iter"] == "--max-iter" and FLAGS["loss_tol"] == "--loss-tol"
    assert FLAGS["max_power"] == "--convergence" and FLAGS["params"] == "--param"


@pytest.mark.parametrize(
    "text, expected",
    [
        ("choose another `a` where f is defined", "choose another --a where f is defined"),
        ("pass `force=True` to overwrite it", "pass --force to overwrite it"),
        ("(e.g. `learning_rate=0.05`) or", "(e.g. --learning-rate 0.05) or"),
        (
            "`only` needs a name, as in `only=relu,sigmoid`",
            "--only needs a name, as in --only relu,sigmoid",
        ),
        ("`l2=0.01` and `x_range` and `tol`", "--l2 0.01 and --range and --tol"),
        ("`theta0` must have 3 values", "`theta0` must have 3 values"),  # no flag: left as is
        ("a plain message with 'a' and a", "a plain message with 'a' and a"),
    ],
)
def test_to_flags_rewrites_only_backticked_parameters_of_the_table(text, expected):
    assert to_flags(text) == expected


_FLAG = re.compile(r"(?<![\w`-])--[a-z]")
_COMMAND_EXAMPLE = re.compile(r"`symcalc [^`]*`")


def _strings_outside_docstrings(tree: ast.Module):
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)):
            body = node.body
            if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
                docstrings.add(id(body[0].value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            if id(node) not in docstrings:
                yield node


def test_no_library_message_mentions_a_flag():
    """Only symcalc/cli knows flags; a quoted command line (`symcalc ... --x`) is an example."""
    found = []
    for path in sorted(PACKAGE.rglob("*.py")):
        if "cli" in path.relative_to(PACKAGE).parts:
            continue
        for node in _strings_outside_docstrings(ast.parse(path.read_text())):
            text = _COMMAND_EXAMPLE.sub("", node.value)
            if _FLAG.search(text):
                found.append(f"{path.relative_to(PACKAGE)}:{node.lineno}: {node.value[:60]!r}")
    assert found == []


# -- both ways: the library names the parameter, the command line the flag ------------------


def _library_words(message: str, parameter_text: str) -> None:
    assert parameter_text in message and "--" not in message


def test_lower_limit_where_f_is_undefined(cli):
    with pytest.raises(SymcalcError) as refused:
        check_ftc("log(x)", a=0, x_range=(0.5, 4))
    _library_words(str(refused.value), "choose another `a`")
    assert refused.value.parameter == "a"
    result = cli("ftc", "log(x)", "--a", "0", "--range", "0.5:4")
    assert result.returncode == 2
    assert "f is not finite at a = 0; choose another --a where f is defined" in result.stderr


def test_existing_file_needs_force(cli, tmp_path):
    target = tmp_path / "f.png"
    target.write_bytes(b"mine")
    with pytest.raises(SymcalcError) as refused:
        write_atomic(target, b"new")
    _library_words(str(refused.value), "pass `force=True` to overwrite it")
    assert refused.value.parameter == "force"
    result = cli("plot", "tanh", "-o", str(target))
    assert (
        result.returncode == 2 and "already exists; pass --force to overwrite it" in result.stderr
    )
    assert target.read_bytes() == b"mine"


def test_csv_target_must_be_named(cli, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("u,v\n" + "".join(f"{k},{2 * k}\n" for k in range(10)))
    with pytest.raises(SymcalcError) as refused:
        load_data(str(path))
    _library_words(str(refused.value), "name the column to predict with `target`")
    assert refused.value.parameter == "target"
    result = cli("descend", "linear", "--data", str(path))
    assert result.returncode == 2
    assert "name the column to predict with --target; columns of d.csv: u, v" in result.stderr


def test_divergence_hint_suggests_a_learning_rate(cli):
    result = descend("linear", "synthetic:linear", learning_rate=5.0)
    assert result.stop_reason == "diverged"
    suggested = re.search(r"`learning_rate=([0-9.e+-]+)`", result.message)
    assert suggested and "--" not in result.message
    run = cli("descend", "linear", "--data", "synthetic:linear", "--learning-rate", "5")
    assert run.returncode == 1
    assert f"(e.g. --learning-rate {suggested.group(1)})" in run.stderr
    assert f"(e.g. --learning-rate {suggested.group(1)})" in run.stdout  # the text report too


def test_a_long_parameter_vector_points_to_the_json_form():
    result = descend("mlp", "synthetic:moons", hidden=16, max_iter=1)
    assert "parameters (the JSON form lists them)" in result.to_text()


def test_bad_library_numbers_name_the_parameter_and_the_cli_names_the_flag(cli):
    with pytest.raises(SymcalcError, match=r"^`l2` must be a finite number ≥ 0") as refused:
        descend("linear", "synthetic:linear", l2=-1)
    assert refused.value.parameter == "l2"
    result = cli("descend", "linear", "--data", "synthetic:linear", "--max-iter", "0")
    assert result.returncode == 2
    assert "error: --max-iter must be a whole number ≥ 1, got 0" in result.stderr


# -- keyword-only wrt= and order= -----------------------------------------------------------


@pytest.mark.parametrize("name", ["derivative", "derive", "gradcheck"])
def test_wrt_and_order_are_keyword_only(name):
    parameters = inspect.signature(getattr(symcalc, name)).parameters
    for keyword in ("wrt", "order"):
        if keyword in parameters:
            assert parameters[keyword].kind is inspect.Parameter.KEYWORD_ONLY, keyword


def test_derivative_refuses_positional_wrt_and_order():
    with pytest.raises(TypeError):
        symcalc.derivative("x**3", "x", 2)
    assert symcalc.derivative("x**3", wrt="x", order=2) == 6 * sympy.Symbol("x", real=True)


# -- time budgets are read when a function runs ---------------------------------------------


def test_the_default_budget_is_read_at_call_time(monkeypatch):
    monkeypatch.setenv("SYMCALC_TIME_BUDGET", "0.001")
    assert budget.default_seconds() == 0.001
    # integrated nowhere else (a finished integration is remembered); not found in 1 ms
    slow = antiderivative("x**3*exp(x)*sin(x)*cos(3*x)")
    assert slow.antiderivative is None and "time budget of 0.001 s" in slow.reason
    monkeypatch.setenv("SYMCALC_TIME_BUDGET", "30")
    assert budget.default_seconds() == 30.0
    monkeypatch.delenv("SYMCALC_TIME_BUDGET")
    assert budget.default_seconds() == budget.DEFAULT_SECONDS == 5.0


@pytest.mark.parametrize("text", ["soon", "0", "-1", "nan", "inf"])
def test_a_bad_budget_setting_is_a_clear_error(monkeypatch, text):
    monkeypatch.setenv("SYMCALC_TIME_BUDGET", text)
    with pytest.raises(SymcalcError, match="SYMCALC_TIME_BUDGET must be a positive number"):
        budget.default_seconds()


def test_an_infinite_timeout_means_no_limit_in_this_process(monkeypatch):
    def no_child(*args, **kwargs):  # pragma: no cover - fails the test if called
        raise AssertionError("no worker process without a limit")

    monkeypatch.setattr(budget, "_context", no_child)
    x = sympy.Symbol("x", real=True)
    found = antiderivative("x*exp(x)", timeout=math.inf).antiderivative
    assert sympy.expand(found - (x - 1) * sympy.exp(x)) == 0
    assert budget.within(math.inf, sum, [1, 2]) == 3


# -- bounded caches ---------------------------------------------------------------------------


def test_models_share_the_kernel_compilers_bounded_cache():
    """Models keep no cache of their own (it grew without bound): a model's kernel is the
    compiler's cached kernel, so building many models holds at most its cache's size."""
    entry = get("leaky_relu", slope=0.2)
    assert heads.kernel_for(entry, order=1) is kernel(entry, order=1)
    assert heads.kernel_for(entry) is heads.kernel_for(entry)
    assert not hasattr(models, "_ENTRIES") and not hasattr(heads, "_ENTRIES")
    assert heads.kernel_for(entry)(np.array([-2.0, 3.0])).tolist() == [-0.4, 3.0]


def test_a_finished_integration_is_remembered(monkeypatch):
    first = antiderivative("x**2*exp(3*x) + x", timeout=60)
    assert first.antiderivative is not None

    def no_child(*args, **kwargs):  # pragma: no cover - fails the test if called
        raise AssertionError("integrated again")

    monkeypatch.setattr(budget, "_context", no_child)
    again = antiderivative("x**2*exp(3*x) + x", timeout=0.001)
    assert again.antiderivative == first.antiderivative and again.method == first.method
