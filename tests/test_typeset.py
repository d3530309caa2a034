"""LaTeX that fits a page (symcalc.symbolic.typeset): the width estimate, line breaking, and
every catalog derivation and integral as printed, compiled by pdfTeX where it is installed.

The estimate is checked against widths pdfTeX measured (committed below, so the check
runs everywhere); breaking is checked to keep the mathematics (the broken lines, joined
and read back by symcalc's LaTeX reader, are the same function, by mpmath at 50 digits)
and to fit 6.5 in at 10 pt, by the estimate always and by pdfTeX when ``pdflatex`` is on
the PATH (Debian: ``apt-get install texlive-latex-base``): no "Overfull \\hbox".
"""

from __future__ import annotations

import re
import shutil
import subprocess

import mpmath
import pytest
import sympy

import symcalc
from symcalc import CATALOG
from symcalc.symbolic import typeset
from symcalc.symbolic.functions import expand_named, symbol
from symcalc.symbolic.parse import parse
from symcalc.symbolic.render import TextbookLatexPrinter

PDFLATEX = shutil.which("pdflatex")

#: Widths pdfTeX 3.14 (TeX Live 2022) set in display style at 10 pt, in points.
MEASURED = [
    (r"x", 5.71527),
    (r"x + y", 23.199),
    (r"- x", 13.49307),
    (r"\frac{1}{2}", 7.40001),
    (r"\sqrt{x}", 14.04863),
    (r"e^{- x^{2}}", 19.84384),
    (r"\log{\left(e^{x} + 1 \right)}", 49.27426),
    (r"\tanh^{2}{\left(x \right)}", 39.64589),
    (r"\max\left(0, x\right)", 43.2153),
    (r"\begin{cases} 1 & \text{for}\: x > 0 \\0 & \text{otherwise} \end{cases}", 65.45012),
    (r"\frac{d}{dx}\left[x^{3}\right]", 33.52153),
    (r"\int x e^{x} \, dx", 39.65967),
    (r"\sigma\left(x\right) \left(1 - \sigma\left(x\right)\right)", 69.13179),
    (r"\frac{\sqrt{2} e^{- \frac{x^{2}}{2}}}{\sqrt{\pi}}", 37.40083),
    (r"\frac{\partial}{\partial z_{1}}\left[e^{z_{1}} + e^{z_{2}} + e^{z_{3}}\right]", 87.70691),
    (r"2 \left(p - y\right)", 36.95943),
    (r"\operatorname{erf}{\left(\frac{\sqrt{2} x}{2} \right)}", 51.14311),
    (r"\Bigl( x + \frac{1}{2}", 31.30965),
    (
        r"\frac{x \left(1 - \tanh^{2}{\left(\log{\left(e^{x} + 1 \right)} \right)}\right) e^{x}}"
        r"{e^{x} + 1} + \tanh{\left(\log{\left(e^{x} + 1 \right)} \right)}",
        221.67415,
    ),
    (r"\arctan{\left(x \right)} + \operatorname{arcsinh}{\left(x \right)}", 101.54166),
    (r"200000 x^{2} + 0.5", 65.20145),
]

#: Functions people write, long enough that their derivations need breaking.
COMPOSITES = [
    "x*tanh(log(1+exp(x)))",
    "log(1+exp(-x))*sin(x)**2/(1+x**2)",
    "sigmoid(3*x)*tanh(x)**2 + exp(-x**2)*log(1+x**2)",
    "sqrt(1+x**2)*atan(x)*exp(sin(x))",
    "x**x",
    "exp(-x**2/2)*(x**3 - 3*x)/(1 + exp(-2*x))",
    "tanh(x/2)*sigmoid(x)*(1 - sigmoid(x))*x**2",
    "log(cosh(x - 1)) + (x - 1)**2*erf(x)",
]


@pytest.mark.parametrize("latex, points", MEASURED, ids=[m[0][:30] for m in MEASURED])
def test_width_estimate_is_within_6_percent_of_tex(latex, points):
    estimate = typeset.width(latex) * 10  # em at 10 pt -> points
    assert abs(estimate - points) <= 0.06 * points + 0.3, (estimate, points)


def test_a_wider_formula_is_estimated_wider():
    assert typeset.width("x + y + z") > typeset.width("x + y") > typeset.width("x")
    assert typeset.width(r"\frac{a + b + c}{2}") < typeset.width("a + b + c + 2")
    assert typeset.width("x^{2}") < typeset.width("x 2")  # a superscript is set small


# -- breaking keeps the mathematics -----------------------------------------------------


def _joined(lines: list[str]) -> str:
    """Broken lines as one formula symcalc's reader takes: sized delimiters as \\left/\\right."""
    text = " ".join(lines).replace("{} ", "")
    text = re.sub(r"\\[bB]igg?l", r"\\left", text)
    text = re.sub(r"\\[bB]igg?r", r"\\right", text)
    return text.replace(r"\times", r"\cdot")


def _same(a: sympy.Expr, b: sympy.Expr, variable: sympy.Symbol) -> None:
    fa = sympy.lambdify(variable, expand_named(a), modules="mpmath")
    fb = sympy.lambdify(variable, expand_named(b), modules="mpmath")
    with mpmath.workdps(50):
        for point in ("0.3", "0.71", "1.9", "2.6"):
            va, vb = fa(mpmath.mpf(point)), fb(mpmath.mpf(point))
            assert abs(va - vb) <= mpmath.mpf("1e-40") * max(1, abs(vb)), (point, va, vb)


@pytest.mark.parametrize("text", COMPOSITES[:6])
@pytest.mark.parametrize("budget", [12.0, 20.0])
def test_broken_lines_read_back_as_the_same_function(text, budget):
    x = symbol("x")
    derivative = symcalc.derivative(text, simplify=False)  # untidied: long, quick
    latex = TextbookLatexPrinter().doprint(derivative)
    lines = typeset.break_lines(latex, budget, budget)
    if typeset.width(latex) > budget:
        assert len(lines) > 1
    for indent, line in lines[1:]:
        assert indent >= 1 and line.startswith(("{} + ", "{} - ", r"{} \times ", r"\quad"))
    _same(parse(_joined([line for _, line in lines])), derivative, x)


def test_a_sum_inside_parentheses_is_broken_with_sized_delimiters():
    inside = " + ".join(f"x^{{{k}}}" for k in range(1, 30))
    lines = [line for _, line in typeset.break_lines(rf"2 \left({inside}\right)", 20, 20)]
    assert lines[0].startswith(r"2 \bigl( x^{1}") and lines[-1].endswith(r"\bigr)")
    assert all(r"\left" not in line and r"\right" not in line for line in lines)
    assert all(typeset.width(line.replace("{} ", "")) <= 20 for line in lines)


def test_an_argument_list_breaks_after_a_comma_not_with_a_times():
    args = ", ".join(f"z_{{{k}}}" for k in range(1, 25))
    lines = [line for _, line in typeset.break_lines(rf"f\left({args}\right)", 15, 15)]
    assert len(lines) > 1 and all(r"\times" not in line for line in lines)
    assert all(line.rstrip().endswith(",") for line in lines[:-1])


def test_align_refuses_nothing_and_fits_what_it_can():
    long = " + ".join(f"x^{{{k}}}" for k in range(1, 60))
    body = typeset.align([typeset.Equation("f(x)", (long, "y"), "a long one")])
    assert body.count(r"\begin{align*}") == 1 and r"\tag*{a long one}" in body
    assert typeset.overfull_rows(body) == []
    assert typeset.overfull_rows(long)  # one line of it would not fit


# -- every derivation and integral as printed --------------------------------------------


def printed(kind: str, name: str) -> str:
    """The LaTeX symcalc prints for one catalog entry or composite, with its steps."""
    if kind == "derivation":
        return symcalc.derive(name).to_latex(steps=True)
    if kind == "second derivative":
        return symcalc.derive(name, order=2).to_latex(steps=True)
    return symcalc.antiderivative(name, timeout=2).to_latex(steps=True)


CASES = (
    [("derivation", name) for name in CATALOG]
    + [("integral", name) for name in CATALOG]
    + [("derivation", text) for text in COMPOSITES[:5]]
    + [("second derivative", name) for name in ("silu", "log_cosh", "binary_cross_entropy")]
)
IDS = [f"{c.values[0]}-{c.values[1]}" if hasattr(c, "values") else "-".join(c) for c in CASES]


def compile_latex(body: str, folder) -> str:
    """Run pdflatex on a plain article (amsmath, 6.5 in text width) holding ``body``."""
    (folder / "doc.tex").write_text(typeset.standalone_document(body), encoding="utf-8")
    done = subprocess.run(
        [PDFLATEX, "-interaction=nonstopmode", "-halt-on-error", "doc.tex"],
        cwd=folder,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stdout[-2000:]
    return done.stdout


@pytest.mark.parametrize("kind, name", CASES, ids=IDS)
def test_printed_latex_is_one_environment_that_fits_the_page(kind, name, tmp_path):
    """By the width estimate everywhere, and by pdfTeX where it is installed."""
    body = printed(kind, name)
    assert body.startswith("\\begin{align*}\n") and body.endswith("\n\\end{align*}")
    assert body.count(r"\begin{align*}") == 1, "one self-contained environment"
    assert typeset.overfull_rows(body) == [], f"rows wider than 6.5 in at 10 pt in {name}"
    if PDFLATEX is not None:
        log = compile_latex(body, tmp_path)
        assert "Overfull \\hbox" not in log, re.findall(r"Overfull \\hbox.*", log)


@pytest.mark.skipif(PDFLATEX is None, reason="pdflatex is not installed (texlive-latex-base)")
def test_the_overfull_check_can_fail(tmp_path):
    long = " + ".join(f"x^{{{k}}}" for k in range(1, 60))
    log = compile_latex(rf"\begin{{align*}} f(x) &= {long} \end{{align*}}", tmp_path)
    assert "Overfull \\hbox" in log
