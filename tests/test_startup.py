"""Start-up: a command builds only its own parser and imports only what it needs.

The ratios to ``import sympy`` are measured by ``benchmarks/bench_startup.py`` (timing
does not belong in tests on a shared machine); these tests pin down what makes them:
which modules a command loads, and SymPy's units kept out of the budget's workers.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from symcalc.cli import COMMANDS, _command_named, build_parser

HEAVY = ("numpy", "scipy", "matplotlib", "sympy")


def _loaded_after(code: str) -> dict:
    """Run ``code`` in a fresh interpreter; it leaves a JSON answer as its last line."""
    done = subprocess.run(
        [sys.executable, "-B", "-c", code], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout.strip().splitlines()[-1])


def _modules_after_command(*args: str) -> list[str]:
    code = (
        "import contextlib, io, json, sys\n"
        "from symcalc.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({list(args)!r})\n"
        f"print(json.dumps([code, [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    code, loaded = _loaded_after(code)
    assert code == 0
    return loaded


def test_help_imports_no_heavy_library():
    code = (
        "import contextlib, io, json, sys\n"
        "from symcalc.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    try:\n"
        "        main(['--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        f"print(json.dumps([out.getvalue(), [m for m in {HEAVY!r} if m in sys.modules]]))\n"
    )
    text, loaded = _loaded_after(code)
    assert loaded == []
    assert all(name in text and summary[:30] in text for name, summary in COMMANDS.items())


@pytest.mark.parametrize(
    "args",
    [
        ("list",),
        ("derive", "sigmoid"),
        ("integrate", "x*log(x)"),
        ("show", "relu", "--format", "latex"),
    ],
)
def test_symbolic_commands_import_sympy_only(args):
    assert _modules_after_command(*args) == ["sympy"]


@pytest.mark.parametrize(
    ("args", "built"),
    [
        (("derive", "sigmoid"), ["sigmoid"]),
        (("derive", "tanh(x)*relu(x)"), ["relu"]),  # tanh is SymPy's; relu the catalog's
        (("integrate", "x*log(x)"), []),
        (("list", "--kind", "loss"), []),  # the formulas are declared as text
        (("list", "--kind", "loss", "--format", "json"), "every loss"),  # LaTeX, domains
    ],
)
def test_a_command_builds_only_the_catalog_entries_it_uses(args, built):
    """The catalog's entries are built on first look-up (SymPy's evaluation costs about
    2 ms an entry): a command pays only for the functions it names."""
    code = (
        "import contextlib, io, json\n"
        "from symcalc.cli import main\n"
        "from symcalc.symbolic import catalog\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        f"    code = main({list(args)!r})\n"
        "print(json.dumps([code, list(catalog._REGISTRY._built), catalog.names('loss')]))\n"
    )
    code, made, losses = _loaded_after(code)
    assert code == 0
    assert made == (losses if built == "every loss" else built)


def test_show_checks_sup_abs_derivative_with_the_kernel_but_draws_nothing():
    """``show`` proves sup|f′| against a dense evaluation of the stable kernel: NumPy and
    SciPy, never matplotlib."""
    assert _modules_after_command("show", "relu") == ["numpy", "scipy", "sympy"]


def test_the_budget_worker_spares_simplify_the_units_package():
    """simplify() in the budget's worker does not load sympy.physics.units (0.1 s a process),
    gives the same answer, and code that asks for units still gets the real package."""
    code = (
        "import json, sys, sympy\n"
        "from symcalc.symbolic import budget\n"
        "def work():\n"
        "    x = sympy.Symbol('x', real=True)\n"
        "    form = sympy.simplify(sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2)\n"
        "    spared = 'sympy.physics.units.quantities' not in sys.modules\n"
        "    from sympy.physics.units import meter\n"
        "    return sympy.srepr(form), spared, type(meter).__name__\n"
        "form, spared, meter = budget.within(60, work)\n"
        "x = sympy.Symbol('x', real=True)\n"
        "same = form == sympy.srepr(sympy.simplify(sympy.exp(-x) / (1 + sympy.exp(-x)) ** 2))\n"
        "units = type(sys.modules['sympy.physics.units']).__name__\n"
        "print(json.dumps([same, spared, meter, units]))\n"
    )
    assert _loaded_after(code) == [True, True, "Quantity", "module"]


def test_the_budget_worker_inherits_what_sympys_first_sum_imports():
    """SymPy's first sum imports sympy.tensor.tensor (25 ms): the caller imports it once
    before forking, instead of every worker and then the caller each importing it."""
    code = (
        "import json, sys, sympy\n"
        "from symcalc.symbolic import budget\n"
        "def work():\n"
        "    inherited = 'sympy.tensor.tensor' in sys.modules\n"
        "    return inherited, str(sympy.Symbol('x') + 1)\n"
        "before = 'sympy.tensor.tensor' in sys.modules\n"
        "print(json.dumps([before, *budget.within(60, work)]))\n"
    )
    assert _loaded_after(code) == [False, True, "x + 1"]


def test_the_command_line_spares_sympys_isinstance_only_imports():
    """A command runs under stand-ins for sympy.tensor.tensor (which SymPy's first sum
    imports, with sympy.combinatorics, to test isinstance) and sympy.physics.units: the
    same answer, without loading either; code that really uses them gets the real ones."""
    code = (
        "import contextlib, io, json, sys\n"
        "from symcalc.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()) as out:\n"
        "    main(['integrate', 'x*log(x)'])\n"
        "loaded = [m for m in ('sympy.tensor.tensor', 'sympy.combinatorics',\n"
        "    'sympy.physics.units') if m in sys.modules]\n"
        "from symcalc.symbolic.lean import stand_ins\n"
        "with stand_ins('sympy.tensor.tensor'):\n"
        "    from sympy.tensor.tensor import TensorIndexType\n"
        "real = TensorIndexType.__module__\n"
        "print(json.dumps([out.getvalue().splitlines()[0], loaded, real]))\n"
    )
    first, loaded, real = _loaded_after(code)
    assert first == "∫ x*log(x) dx = x**2*log(x)/2 - x**2/4 + C"
    assert loaded == [] and real == "sympy.tensor.tensor"


def test_a_run_builds_only_its_commands_parser():
    parser = build_parser(["derive"])
    sub = next(a for a in parser._actions if a.dest == "command")
    assert list(sub.choices) == list(COMMANDS)
    options = {o for a in sub.choices["derive"]._actions for o in a.option_strings}
    assert {"--wrt", "--order", "--steps", "--timeout"} <= options
    assert [a.option_strings for a in sub.choices["list"]._actions] == [["-h", "--help"]]
    summaries = {a.dest: a.help for a in sub._choices_actions}
    assert summaries == COMMANDS


def test_every_command_module_declares_its_parser_under_its_summary():
    sub = next(a for a in build_parser()._actions if a.dest == "command")
    assert {a.dest: a.help for a in sub._choices_actions} == COMMANDS
    assert all(len(parser._actions) > 1 for parser in sub.choices.values())


@pytest.mark.parametrize(
    "argv, named",
    [
        (["derive", "sigmoid"], ["derive"]),
        (["--version"], []),
        (["--help"], []),
        ([], []),
        (["frobnicate", "x"], []),
        (["--", "derive"], []),
    ],
)
def test_the_command_is_the_first_argument_that_is_not_an_option(argv, named):
    assert _command_named(argv) == named


def test_an_unknown_command_lists_them_all(cli):
    result = cli("frobnicate")
    assert result.returncode == 2
    assert "invalid choice: 'frobnicate'" in result.stderr
    assert all(f"'{name}'" in result.stderr for name in COMMANDS)
