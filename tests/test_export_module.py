"""`symcalc export` and `symcalc.export_module`: standalone modules that run, lint clean and
agree with symcalc's kernels; files written whole, one-line errors."""

from __future__ import annotations

import ast
import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import sympy
from frameworks import CATALOG_NAMES, RTOL, configurations, domain_points
from test_stability import ATOL

from symcalc import export_module, kernel
from symcalc.errors import SymcalcError
from symcalc.export.functions import FrameworkFunction
from symcalc.export.partials import Partials
from symcalc.symbolic.catalog import get

#: A few entries that cover one and two variables, branches, parameters and an expression.
CASES = ["sigmoid", "binary_cross_entropy_with_logits", "elu", "x*tanh(log(1+exp(x)))"]
FRAMEWORKS = ["jax", "torch", "numpy"]


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Every case for every framework, written once: {(case, to): path}."""
    folder = tmp_path_factory.mktemp("exported")
    paths = {}
    for i, case in enumerate(CASES):
        for to in FRAMEWORKS:
            path = folder / f"case{i}_{to}.py"
            module = export_module(case, to=to)
            path.write_text(module.source)
            paths[case, to] = (path, module.functions[0].name, module.functions[1].name)
    return paths


def test_the_modules_lint_clean_with_ruff_defaults_and_the_project_settings(written):
    folder = str(next(iter(written.values()))[0].parent)
    for settings in (["--isolated"], []):
        for command in (["check"], ["format", "--check"]):
            completed = subprocess.run(
                [sys.executable, "-m", "ruff", *command, *settings, folder],
                capture_output=True,
                text=True,
            )
            assert completed.returncode == 0, completed.stdout + completed.stderr


#: Run in a fresh interpreter: import every module (never symcalc), evaluate each
#: function and its first derivative the framework's way, print the values as JSON.
_RUN = """
import importlib.util, json, sys
import numpy as np
import jax
jax.config.update("jax_enable_x64", True)
import jax.numpy as jnp
import torch

x = np.array([-800.0, -3.0, 0.3, 2.5, 40.0])
out = {}
for key, path, to, target, name, derivative in json.loads(sys.argv[1]):
    spec = importlib.util.spec_from_file_location(f"m{len(out)}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    f, d = getattr(module, name), getattr(module, derivative)
    extra = [target] if target is not None else []
    if to == "jax":
        value = f(jnp.asarray(x), *extra)
        grad = jax.vmap(jax.grad(f), in_axes=(0, *[None] * len(extra)))(jnp.asarray(x), *extra)
    elif to == "torch":
        t = torch.tensor(x, requires_grad=True)
        v = f(t, *extra)
        grad = torch.autograd.grad(v.sum(), t)[0].numpy()
        value = v.detach().numpy()
    else:
        value, grad = f(x, *extra), d(x, *extra)
    out[key] = [np.asarray(value).tolist(), np.asarray(grad).tolist()]
out["symcalc imported"] = "symcalc" in sys.modules
print(json.dumps(out))
"""


def test_the_modules_run_without_symcalc_and_agree_with_the_kernels(written):
    jobs = []
    for (case, to), (path, name, derivative) in written.items():
        target = 1.0 if case == "binary_cross_entropy_with_logits" else None
        jobs.append([f"{case}|{to}", str(path), to, target, name, derivative])
    completed = subprocess.run(
        [sys.executable, "-c", _RUN, json.dumps(jobs)], capture_output=True, text=True, timeout=300
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    assert results.pop("symcalc imported") is False
    x = np.array([-800.0, -3.0, 0.3, 2.5, 40.0])
    for key, (value, grad) in results.items():
        case = key.split("|")[0]
        extra = [1.0] if case == "binary_cross_entropy_with_logits" else []
        np.testing.assert_allclose(value, kernel(case)(x, *extra), rtol=1e-12, err_msg=key)
        np.testing.assert_allclose(grad, kernel(case, order=1)(x, *extra), rtol=1e-12, err_msg=key)


class NumpyFunction(FrameworkFunction):
    """The bodies and runtime a NumPy module holds, built level by level (pure partials
    only: a module of categorical_cross_entropy holds every mixed partial too)."""

    framework = "numpy"


@pytest.mark.parametrize("name", CATALOG_NAMES)
def test_the_numpy_modules_agree_with_the_kernels_over_the_whole_float_range(name):
    """No long double second pass in a module: where the kernel recomputes an overflowed
    element in extended range, the module's ordering of products must already be right.
    The kernels meet the promise against mpmath (`test_stability`); the module code agrees
    with them to twice the promise, in float64 and float32, values and two derivatives."""
    entry = get(name)
    module = NumpyFunction(Partials(name), order_max=2)
    report = []
    for order in range(3):
        function, reference = module.level((0,) * order), kernel(name, order=order)
        for dtype in (np.float64, np.float32):
            x = domain_points(entry, entry.variable, dtype)
            for config in configurations(entry):
                others = [np.asarray(a, dtype) for a in config.values()]
                with np.errstate(all="ignore"):  # a true overflow is inf in both
                    got, expected = function(x, *others), reference(x, *others)
                    error = np.abs(got - expected)
                assert got.dtype == dtype
                rtol, atol = 2 * RTOL[np.dtype(dtype)], 2 * ATOL[dtype]
                ok = (error <= rtol * np.abs(expected)) | (error <= atol) | (got == expected)
                report += [(dtype.__name__, order, config, a) for a in x[~ok][:2].tolist()]
    assert not report, f"{name}: the module and the kernel differ at {report[:6]}"


def test_the_docstring_has_the_formulas_the_derivation_and_the_stable_forms():
    source = export_module("sigmoid", to="jax").source
    doc = source.split('"""')[1]
    for text in (
        "d/dx sigmoid(x) = exp(x)/(exp(x) + 1)**2",
        "classic form of d/dx: (1 - sigmoid(x))*sigmoid(x)",
        "(chain rule, u = 1 + exp(-x))",
        "d_sigmoid_dx = sigmoid(-x)*sigmoid(x)",
        'jax.config.update("jax_enable_x64", True)',
        "it does not import symcalc",
    ):
        assert text in doc, text
    assert "import symcalc" not in source.replace("it does not import symcalc", "")


def test_a_crafted_symbol_name_stays_text():
    """A SymPy symbol may be named anything: it becomes a0 in code and escaped text in docs."""
    evil = sympy.Symbol('x"""; import os; """')
    module = export_module(evil**2, to="numpy", order_max=1)
    namespace: dict = {}
    exec(compile(module.source, "<exported>", "exec"), namespace)  # noqa: S102 - the test's own
    assert namespace["f"](3.0) == 9.0 and namespace["d_f_da0"](3.0) == 6.0
    imported = {
        alias.name
        for node in ast.walk(ast.parse(module.source))
        if isinstance(node, (ast.Import, ast.ImportFrom))
        for alias in node.names
    }
    assert imported == {"functools", "numpy"}  # "import os" stayed inside docstrings


def test_mixed_partials_are_exported_and_wired():
    module = export_module("huber", to="numpy")
    names = [f.name for f in module.functions]
    assert names == [
        "huber",
        "d_huber_dp",
        "d_huber_dy",
        "d2_huber_dp2",
        "d2_huber_dp_dy",
        "d2_huber_dy2",
    ]
    namespace: dict = {}
    exec(module.source, namespace)  # noqa: S102 - generated by the test
    assert namespace["d2_huber_dp_dy"](0.5, 0.0) == -1.0


# -- the command ----------------------------------------------------------------------------


def test_export_writes_a_file_whole_and_reports_it(cli, tmp_path):
    target = tmp_path / "sigmoid_torch.py"
    result = cli("export", "sigmoid", "--to", "torch", "-o", str(target), "--format", "json")
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"input", "to", "path", "functions"}
    assert data["input"] == "sigmoid" and data["to"] == "torch" and data["path"] == str(target)
    assert [f["name"] for f in data["functions"]] == ["sigmoid", "d_sigmoid_dx", "d2_sigmoid_dx2"]
    assert target.read_text().startswith('"""sigmoid and its derivatives for PyTorch')
    assert "symcalc export sigmoid --to torch" in target.read_text()
    again = cli("export", "sigmoid", "--to", "torch", "-o", str(target))
    assert again.returncode == 2 and "already exists; pass --force" in again.stderr
    assert len(again.stderr.splitlines()) == 1
    forced = cli("export", "relu", "--to", "torch", "-o", str(target), "--force")
    assert forced.returncode == 0 and forced.stdout.startswith(f"wrote {target}: relu, d_relu_dx")
    assert [p.name for p in tmp_path.iterdir()] == ["sigmoid_torch.py"]  # no temporary left


def test_export_prints_the_module_without_a_file(cli):
    result = cli("export", "softplus", "--to", "numpy", "--order-max", "1", "--param", "beta=2")
    assert result.returncode == 0, result.stderr
    assert "softplus(x) = log(exp(2*x) + 1)/2" in result.stdout  # the parameter given
    namespace: dict = {}
    exec(result.stdout, namespace)  # noqa: S102 - the module symcalc just printed
    assert namespace["d_softplus_dx"](0.0) == 0.5


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["sigmoid", "--to", "jax", "-o", "out.txt"], "ends in .py"),
        (["sigmoid", "--to", "jax", "-o", "missing/out.py"], "folder 'missing' does not exist"),
        (["sigmoid", "--to", "jax", "--order-max", "7"], "order_max must be a whole number"),
        (["sigmod", "--to", "jax"], "did you mean 'sigmoid'"),
    ],
)
def test_export_mistakes_are_one_line(cli, tmp_path, args, message):
    result = cli("export", *args, cwd=tmp_path)
    assert result.returncode == 2
    assert len(result.stderr.splitlines()) == 1 and message in result.stderr
    assert list(tmp_path.iterdir()) == []


def test_unknown_framework_is_refused():
    with pytest.raises(SymcalcError, match="unknown framework 'tensorflow'"):
        export_module("sigmoid", to="tensorflow")


def test_eval_on_the_jax_backend_and_a_missing_jax_in_one_line(cli, monkeypatch):
    result = cli("eval", "sigmoid", "--order", "1", "--at=-1000,0,1000", "--backend", "jax")
    assert result.returncode == 0, result.stderr
    assert "backend: jax" in result.stdout and "x = 0.0" in result.stdout
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "jax" else real(name, *a)
    )
    missing = cli("eval", "tanh", "--at", "1", "--backend", "jax")
    assert missing.returncode == 2
    assert missing.stderr.strip() == textwrap.dedent(
        "symcalc eval: error: backend 'jax' needs the jax package: pip install 'symcalc[jax]' "
        "(or pip install jax); backend='numpy' works without it"
    )
