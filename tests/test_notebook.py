"""Jupyter rendering: results show as LaTeX and figures inline, without Jupyter installed.

A notebook calls ``_repr_latex_`` and ``_repr_png_`` and hands the answers to MathJax
and the browser.  These tests check what those methods return: LaTeX that is well
formed (delimiters, braces, ``\\left``/``\\right``, environments), uses only macros
MathJax knows, and denotes the right function (read back with symcalc's own LaTeX
reader and compared with the result at random points); PNG bytes with the PNG
signature that decode to a figure of the expected size that is not blank.  Also:
``import symcalc`` stays light (no matplotlib) while ``symcalc.plot_function`` works.
"""

from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import unicodedata

import matplotlib.image
import mpmath
import numpy as np
import pytest
import sympy

import symcalc
from symcalc import CATALOG
from symcalc.symbolic.functions import expand_named

#: Macros symcalc's LaTeX may use: all are standard LaTeX/AMS that MathJax 3 renders.
MATHJAX_MACROS = {
    ",",
    ":",
    ";",
    "!",
    "\\",
    "_",
    "{",
    "}",
    "|",
    " ",
    "alpha",
    "beta",
    "gamma",
    "delta",
    "epsilon",
    "lambda",
    "mu",
    "pi",
    "sigma",
    "theta",
    "begin",
    "end",
    "frac",
    "dfrac",
    "tfrac",
    "left",
    "right",
    "sqrt",
    "sum",
    "prod",
    "int",
    "partial",
    "ell",
    "varphi",
    "nabla",
    "prime",
    "cdot",
    "times",
    "infty",
    "in",
    "leq",
    "geq",
    "neq",
    "lt",
    "gt",
    "wedge",
    "vee",
    "neg",
    "quad",
    "qquad",
    "text",
    "mathrm",
    "mathit",
    "mathbf",
    "mathbb",
    "operatorname",
    "substack",
    "vert",
    "log",
    "exp",
    "sin",
    "cos",
    "tan",
    "sinh",
    "cosh",
    "tanh",
    "max",
    "min",
    "ldots",
    "cdots",
    "tag*",  # a justification at the right margin; its text may hold $...$ math
    "bigl",
    "bigr",
    "Bigl",
    "Bigr",
    "biggl",
    "biggr",
    "Biggl",
    "Biggr",
    "arcsin",
    "arccos",
    "arctan",
    "coth",
    "sec",
    "csc",
    "cot",
    "sup",
    "approx",
    "to",
}
#: Environments MathJax renders.
MATHJAX_ENVIRONMENTS = {"cases", "align*", "aligned", "matrix", "pmatrix"}

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def latex_body(text: str) -> str:
    """The math inside ``$...$`` or ``$$...$$``; fails on anything else."""
    assert isinstance(text, str), f"_repr_latex_ must return str, got {type(text).__name__}"
    for delimiter in ("$$", "$"):
        if (
            text.startswith(delimiter)
            and text.endswith(delimiter)
            and len(text) > 2 * len(delimiter)
        ):
            body = text[len(delimiter) : -len(delimiter)]
            assert "$" not in body, f"a '$' inside the math would end it early: {text[:80]}"
            return body
    raise AssertionError(f"LaTeX for a notebook must be wrapped in $ or $$: {text[:80]!r}")


def check_latex(body: str) -> None:
    """Assert that ``body`` is well-formed math MathJax can typeset."""
    depth = 0
    for match in re.finditer(r"\\.|[{}]", body):
        token = match.group()
        if token == "{":
            depth += 1
        elif token == "}":
            depth -= 1
            assert depth >= 0, f"unbalanced '}}' at {match.start()}: {body[:120]}"
    assert depth == 0, f"unbalanced braces: {body[:120]}"
    math = re.sub(r"\\tag\*\{[^{}]*\}", "", body)  # a tag's words are text (quotes ‘’ fine)
    letters = sorted({c for c in math if not c.isascii() and unicodedata.category(c)[0] in "LS"})
    assert not letters, f"Unicode in math (pdfTeX cannot typeset it; write the macro): {letters}"
    macros = re.findall(r"\\([A-Za-z]+\*?|.)", body)
    unknown = sorted({m for m in macros if m not in MATHJAX_MACROS})
    assert not unknown, f"macros MathJax may not know: {unknown}"
    lefts = len(re.findall(r"\\left(?![A-Za-z])", body))
    rights = len(re.findall(r"\\right(?![A-Za-z])", body))
    assert lefts == rights, f"{lefts} \\left but {rights} \\right"
    stack = []
    for kind, name in re.findall(r"\\(begin|end)\{([^}]*)\}", body):
        if kind == "begin":
            assert name in MATHJAX_ENVIRONMENTS, f"environment {name} is not one MathJax renders"
            stack.append(name)
        else:
            assert stack and stack.pop() == name, f"\\end{{{name}}} without its \\begin"
    assert not stack, f"\\begin{{{stack[-1]}}} is never closed"


def top_level_sides(body: str) -> list[str]:
    """``a = b = c`` split at the '=' signs outside braces and \\left...\\right."""
    sides, depth, start = [], 0, 0
    for match in re.finditer(r"\\left(?![A-Za-z])|\\right(?![A-Za-z])|[{}]|=", body):
        token = match.group()
        if token in ("{", "\\left"):
            depth += 1
        elif token in ("}", "\\right"):
            depth -= 1
        elif depth == 0:
            sides.append(body[start : match.start()].strip())
            start = match.end()
    sides.append(body[start:].strip())
    return sides


def assert_denotes(latex: str, expected: sympy.Expr, points: np.ndarray, entry=None) -> None:
    """The LaTeX, read back by symcalc's LaTeX reader, equals ``expected`` at ``points``.

    With a catalog ``entry``, both sides get its parameter values first.
    """
    read = symcalc.parse(latex)
    if entry is not None:
        read, expected = entry.univariate(read), entry.univariate(expected)
    variable = entry.variable if entry is not None else min(expected.free_symbols, key=str)
    read = read.xreplace({s: variable for s in read.free_symbols if s.name == variable.name})
    assert read.free_symbols <= {variable}, f"{latex} reads with symbols {read.free_symbols}"
    mine = sympy.lambdify(variable, expand_named(read), modules="mpmath")
    truth = sympy.lambdify(variable, expand_named(expected), modules="mpmath")
    with mpmath.workdps(50):
        for point in points:
            a, b = mine(mpmath.mpf(float(point))), truth(mpmath.mpf(float(point)))
            assert abs(a - b) <= mpmath.mpf("1e-40") * max(1, abs(b)), (latex, point, a, b)


def readable(latex: str) -> bool:
    """symcalc's LaTeX reader has no ``cases``; those are checked for form only."""
    return r"\begin" not in latex


def decode_png(data: bytes) -> np.ndarray:
    assert isinstance(data, bytes), f"_repr_png_ must return bytes, got {type(data).__name__}"
    assert data.startswith(PNG_SIGNATURE)
    return matplotlib.image.imread(io.BytesIO(data), format="png")


def assert_picture(data: bytes, figure_inches: tuple[float, float]) -> None:
    """A PNG at 100 dpi of the given figure size, with something drawn on it."""
    image = decode_png(data)
    width, height = (round(100 * v) for v in figure_inches)
    assert image.shape[:2] == (height, width)
    gray = image[..., :3].mean(axis=2)
    assert (gray < 0.5).mean() > 0.005, "the figure is (nearly) blank"
    assert gray.std() > 0.05


# -- LaTeX ------------------------------------------------------------------------------


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_entry_latex_is_well_formed_and_denotes_the_formula(name, rng):
    entry = CATALOG[name]
    body = latex_body(entry._repr_latex_())
    check_latex(body)
    lhs, rhs = top_level_sides(body)[:2]
    # a standard operator where LaTeX has one (\tanh), else the name upright
    assert lhs.startswith(r"\operatorname{" if f"\\{name}" not in body else f"\\{name}")
    if readable(rhs) and len(entry.variables) == 1:
        assert_denotes(rhs, entry.expr, rng.uniform(0.05, 0.95, 5), entry)


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_derivation_latex_is_well_formed_and_denotes_the_derivative(name, rng):
    derivation = symcalc.derive(name)
    body = latex_body(derivation._repr_latex_())
    check_latex(body)
    check_latex(derivation.to_latex(steps=True))
    sides = top_level_sides(body)
    d = r"\partial" if len(derivation.entry.variables) > 1 else "d"  # ∂ for several variables
    assert sides[0].startswith(rf"\frac{{{d}}}{{{d}")
    shows_identity = (
        derivation.identity is not None and derivation.identity != derivation.derivative
    )
    assert len(sides) == (3 if shows_identity else 2)
    if len(derivation.entry.variables) == 1:
        points = rng.uniform(0.05, 0.95, 5)  # inside every catalog domain
        for side in sides[1:]:
            if readable(side):
                assert_denotes(side, derivation.derivative, points, derivation.entry)


@pytest.mark.parametrize("name", ["sigmoid", "tanh", "gaussian", "relu", "silu", "hinge"])
def test_antiderivative_latex_is_well_formed_and_differentiates_back(name, rng):
    found = symcalc.antiderivative(name)
    body = latex_body(found._repr_latex_())
    check_latex(body)
    check_latex(found.to_latex(steps=True))
    assert body.startswith(r"\int ")
    if not found.found:
        assert r"\text{(no verified closed form" in body
        return
    F_latex = top_level_sides(body)[1].removesuffix("+ C").strip()
    if readable(F_latex):
        x = found.variable
        assert_denotes(F_latex, found.antiderivative, rng.uniform(-3, 3, 5))
        # and F' = f, the independent truth of an antiderivative, by mpmath
        F = sympy.lambdify(x, expand_named(found.antiderivative), modules="mpmath")
        f = sympy.lambdify(x, expand_named(found.integrand), modules="mpmath")
        with mpmath.workdps(50):
            for point in rng.uniform(-3, 3, 3):
                slope, value = mpmath.diff(F, float(point)), f(float(point))
                assert abs(slope - value) <= 1e-15 * max(1, abs(value))


def test_kernel_and_gradient_derivation_latex_are_well_formed():
    check_latex(latex_body(symcalc.kernel("softplus", order=1)._repr_latex_()))
    for model in ("linear", "logistic", "softmax", "mlp"):
        check_latex(latex_body(symcalc.make_model(model).derivation()._repr_latex_()))


def test_the_latex_checker_catches_broken_math():
    broken_forms = (
        r"\frac{1}{2",
        r"\left( x",
        r"\begin{cases} x \end{align*}",
        r"\foo{x}",
        r"\operatorname{ℓ'}{\left(z \right)}",
    )
    for broken in broken_forms:
        with pytest.raises(AssertionError):
            check_latex(broken)
    with pytest.raises(AssertionError):
        latex_body("x^2")  # no delimiters


# -- figures inline ---------------------------------------------------------------------


def test_ftc_check_renders_its_picture():
    check = symcalc.check_ftc("relu")
    assert_picture(check._repr_png_(), (8.8, 3.4))


def test_riemann_results_render_their_pictures():
    bars = symcalc.riemann_sum("sigmoid", -4, 4, 8)
    study = symcalc.riemann_convergence("sigmoid", -4, 4, max_power=6)
    assert_picture(bars._repr_png_(), (4.4 * 1.15, 3.4))
    assert_picture(study._repr_png_(), (4.4 * 1.3, 3.4 * 1.1))


def test_gradient_check_renders_the_step_size_study_at_its_worst_point():
    from symcalc.present.plotting import figure_png, plot_step_errors

    check = symcalc.gradcheck("tanh", at=[0.2, 0.7])
    data = check._repr_png_()
    assert_picture(data, (4.4 * 1.35, 3.4 * 1.2))
    assert data == figure_png(plot_step_errors(check.study_steps()))  # that study, drawn
    failed = symcalc.gradcheck("x**2", derivative="x", at=[1.5])
    assert not failed.passed
    assert_picture(failed._repr_png_(), (4.4 * 1.35, 3.4 * 1.2))


def test_descent_result_renders_its_loss_curves():
    from symcalc.present.plotting import figure_png, plot_descent

    result = symcalc.descend("logistic", "synthetic:logistic")
    data = result._repr_png_()
    assert_picture(data, (10.0, 3.6))
    assert data == figure_png(plot_descent(result))


def test_png_decoding_rejects_other_bytes():
    with pytest.raises(AssertionError):
        decode_png(b"GIF89a not a png")


# -- lazy public access to the figures --------------------------------------------------

#: A fresh interpreter's environment: nothing of this one's but HOME, so matplotlib finds its
#: font cache (without it, it rebuilds the cache in a temporary folder: 10-20 s a run); -B
#: keeps it from writing bytecode into the source tree.
CLEAN_ENV = {"MPLBACKEND": "Agg", "PATH": "", "HOME": os.environ.get("HOME", "")}


def test_import_symcalc_does_not_import_matplotlib_but_plot_functions_work():
    code = (
        "import sys, symcalc\n"
        "assert 'matplotlib' not in sys.modules, 'import symcalc loaded matplotlib'\n"
        "figure = symcalc.plot_function('relu')\n"
        "assert 'matplotlib' in sys.modules\n"
        "assert symcalc.plot_function is symcalc.present.plotting.plot_function\n"
        "print(type(figure).__name__, len(figure.axes))\n"
    )
    done = subprocess.run(
        [sys.executable, "-B", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=CLEAN_ENV,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["Figure", "2"]


def test_results_draw_without_matplotlib_until_a_notebook_asks_for_the_picture():
    code = (
        "import sys, symcalc\n"
        "check = symcalc.gradcheck('tanh', at=[0.5])\n"
        "result = symcalc.descend('linear', 'synthetic:linear')\n"
        "assert 'matplotlib' not in sys.modules, 'gradcheck or descend loaded matplotlib'\n"
        "pictures = [check._repr_png_(), result._repr_png_()]\n"
        "assert 'matplotlib' in sys.modules and 'matplotlib.pyplot' not in sys.modules\n"
        "print(*(p[:4] == b'\\x89PNG' for p in pictures))\n"
    )
    done = subprocess.run(
        [sys.executable, "-B", "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        env=CLEAN_ENV,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.split() == ["True", "True"]


def test_lazy_names_are_public_and_listed():
    lazy = [
        "build_gallery",
        "plot_descent",
        "plot_descent_paths",
        "plot_ftc",
        "plot_function",
        "plot_riemann_convergence",
        "plot_riemann_sum",
        "plot_step_errors",
    ]
    for name in lazy:
        assert name in symcalc.__all__
        assert name in dir(symcalc)
        assert callable(getattr(symcalc, name))
    with pytest.raises(AttributeError, match="no attribute 'plot_nothing'"):
        symcalc.plot_nothing  # noqa: B018
