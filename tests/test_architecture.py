"""The house: layers that import one way, no import cycles, a light ``import symcalc``."""

from __future__ import annotations

import subprocess
import sys

import grimp
import pytest
from importlinter import api as importlinter_api  # noqa: F401 - the linter must be installed

#: The layers, highest first; names in one layer are independent siblings (``a | b``).
LAYERS = [["cli"], ["present"], ["learn", "export"], ["numeric"], ["symbolic"]]
NAMES = [name for layer in LAYERS for name in layer]


@pytest.fixture(scope="module")
def graph():
    return grimp.build_graph("symcalc")


def test_the_import_linter_contracts_are_kept():
    """`lint-imports` (the layers contract and the forbidden imports in pyproject.toml)."""
    completed = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys; from importlinter.cli import lint_imports_command; "
            "sys.exit(lint_imports_command())",
        ],
        capture_output=True,
        text=True,
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "0 broken" in completed.stdout


def test_the_contract_names_every_layer_and_every_layer_is_a_package(graph):
    from pathlib import Path

    import tomllib

    config = tomllib.loads((Path(__file__).parents[1] / "pyproject.toml").read_text())
    contracts = config["tool"]["importlinter"]["contracts"]
    layers = next(c for c in contracts if c["type"] == "layers")["layers"]
    assert layers == [" | ".join(f"symcalc.{name}" for name in layer) for layer in LAYERS]
    top = {m.split(".")[1] for m in graph.modules if m.count(".") >= 1}
    assert set(NAMES) <= top
    # every module of symcalc lives in a layer, except the small base every layer may use
    assert top - set(NAMES) == {"errors", "hooks", "_version", "__main__"}


def test_there_is_no_import_cycle(graph):
    modules = sorted(m for m in graph.modules if m.startswith("symcalc."))
    cycles = []
    for module in modules:
        for imported in graph.find_modules_directly_imported_by(module):
            if imported.startswith("symcalc.") and graph.chain_exists(
                importer=imported, imported=module
            ):
                cycles.append((module, imported))
    assert cycles == []


def test_a_lower_layer_never_imports_a_higher_one(graph):
    """The same rule as the contract, checked here directly (including imports in functions):
    no import upwards, and none between siblings of one layer (learn and export)."""
    rank = {name: i for i, layer in enumerate(LAYERS) for name in layer}
    wrong = []
    for module in graph.modules:
        parts = module.split(".")
        if len(parts) < 2 or parts[1] not in rank:
            continue
        for imported in graph.find_modules_directly_imported_by(module):
            target = imported.split(".")
            if len(target) >= 2 and target[0] == "symcalc" and target[1] in rank:
                higher = rank[target[1]] < rank[parts[1]]
                sibling = rank[target[1]] == rank[parts[1]] and target[1] != parts[1]
                if higher or sibling:
                    wrong.append((module, imported))
    assert wrong == []


def test_importing_symcalc_loads_no_heavy_library():
    code = (
        "import sys, symcalc, symcalc.cli; "
        "heavy = ('sympy', 'numpy', 'scipy', 'matplotlib', 'mpmath'); "
        "heavy = [m for m in heavy if m in sys.modules]; "
        "print(','.join(heavy))"
    )
    completed = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert completed.returncode == 0, completed.stderr
    assert completed.stdout.strip() == ""


def test_public_names_resolve_lazily_and_are_listed():
    import symcalc

    for name in symcalc.__all__:
        assert getattr(symcalc, name) is not None, name
    assert set(symcalc.__all__) <= set(dir(symcalc))
    with pytest.raises(AttributeError, match="no attribute 'plot_everything'"):
        symcalc.plot_everything  # noqa: B018
