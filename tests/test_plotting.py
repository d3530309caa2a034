"""Figures: what is drawn is what was computed, kinks sit at the kinks, files are valid.

Truth for curves is mpmath (f and SymPy's derivative at 30 digits); kink positions
are written out by hand below; bar areas are summed from the drawn patches.
"""

from __future__ import annotations

import functools
import subprocess
import sys
import types
import xml.etree.ElementTree as ET

import mpmath
import numpy as np
import pytest
import sympy
from matplotlib.figure import Figure
from PIL import Image

from symcalc import SymcalcError, riemann_convergence, riemann_sum
from symcalc.numeric.kernels import kernel
from symcalc.numeric.quadrature import accumulate
from symcalc.numeric.riemann import RULES
from symcalc.present.files import save_figure
from symcalc.present.plotting import (
    MIN_TITLE_SIZE,
    coinciding,
    mathtext,
    plot_ftc,
    plot_function,
    plot_riemann_convergence,
    plot_riemann_sum,
    plot_step_errors,
)
from symcalc.symbolic.catalog import CATALOG, univariate_entry
from symcalc.symbolic.derivatives import derivative
from symcalc.symbolic.functions import expand_named, sigmoid
from symcalc.symbolic.parse import resolve

ALL = sorted(CATALOG)

#: Where each catalog function has a corner (f' jumps), worked out by hand.
KINKS = {
    "relu": [0.0],
    "leaky_relu": [0.0],
    "relu6": [0.0, 6.0],
    "selu": [0.0],
    "hard_sigmoid": [-3.0, 3.0],
    "hard_tanh": [-1.0, 1.0],
    "hard_swish": [-3.0, 3.0],
    "absolute_error": [0.0],
    "hinge": [1.0],
    "softshrink": [-0.5, 0.5],
}


@functools.cache
def _figure(name: str) -> Figure:
    return plot_function(name, order=2)


def _kernel_of(entry, order: int):
    """The kernel of f or of its derivative (tidied under the same 2 s budget as the plot)."""
    if order == 0:
        return kernel(entry)
    return kernel(derivative(entry, order=order, timeout=2.0))


def _line(ax, gid: str):
    found = [line for line in ax.lines if line.get_gid() == gid]
    assert len(found) == 1, f"expected one line with gid {gid!r}"
    return found[0]


def _mp(expr, var):
    """expr as an mpmath function, for points away from kinks (where DiracDelta is 0)."""
    expr = expand_named(expr).replace(
        lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero
    )
    expr = expr.replace(
        lambda e: isinstance(e, sympy.Heaviside), lambda e: e.rewrite(sympy.Piecewise)
    )
    return sympy.lambdify(var, expr, modules="mpmath")


def _draw(fig: Figure, dpi: int = 100):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig.set_dpi(dpi)
    canvas = FigureCanvasAgg(fig)
    canvas.draw()
    return canvas.get_renderer()


# -- a function beside its derivatives ------------------------------------------------


@pytest.mark.parametrize("name", ALL)
def test_curves_are_the_kernel_values_and_the_true_values(name, rng):
    fig = _figure(name)
    entry = univariate_entry(resolve(name))
    var = entry.variable
    assert len(fig.axes) == 3
    assert fig.axes[0].get_xlim() == pytest.approx(entry.plot_range)
    exprs = [entry.expr, sympy.diff(entry.expr, var), sympy.diff(entry.expr, var, 2)]
    kinks = KINKS.get(name, [])
    for order, (ax, gid) in enumerate(zip(fig.axes, ["f", "f'", "f''"], strict=True)):
        line = _line(ax, gid)
        xs, ys = (np.asarray(d, dtype=float) for d in line.get_data())
        shown = np.isfinite(xs)
        assert shown.sum() >= 700
        assert np.array_equal(np.isnan(ys[shown]), np.zeros(shown.sum(), bool))
        np.testing.assert_allclose(
            ys[shown],
            np.asarray(_kernel_of(entry, order)(xs[shown]), dtype=float),
            rtol=1e-12,
            atol=1e-14,
        )
        truth = _mp(exprs[order], var)
        smooth = xs[shown][
            np.all(np.abs(xs[shown][:, None] - np.array([*kinks, 1e9])[None, :]) > 1e-3, axis=1)
        ]
        for x in rng.choice(smooth, 12, replace=False):
            with mpmath.workdps(30):
                value = complex(truth(mpmath.mpf(float(x))))
            expected = value.real
            got = ys[shown][xs[shown] == x][0]
            assert got == pytest.approx(expected, rel=1e-9, abs=1e-12), (gid, x)


@pytest.mark.parametrize("name", ALL)
def test_kink_markers_sit_at_the_kinks(name):
    fig = _figure(name)
    expected = KINKS.get(name, [])
    marks = [line for line in fig.axes[0].lines if line.get_gid() == "kinks"]
    if not expected:
        assert not marks
        return
    xs, ys = (np.asarray(d, dtype=float) for d in marks[0].get_data())
    assert xs.tolist() == pytest.approx(expected)
    entry = univariate_entry(resolve(name))
    assert ys == pytest.approx(np.asarray(kernel(entry)(xs), dtype=float))
    for ax in fig.axes:  # a dotted line through every panel at each kink
        vertical = sorted(
            line.get_xdata()[0]
            for line in ax.lines
            if line.get_linestyle() == ":" and line.get_gid() is None
        )
        assert vertical == pytest.approx(expected)


def test_a_jump_shows_its_one_sided_limits_and_the_convention_value():
    for convention, value in (("zero", 0.0), ("half", 0.5), ("one", 1.0)):
        fig = plot_function("relu", convention=convention)
        ax = fig.axes[1]
        limits = _line(ax, "jump-limits").get_ydata()
        assert sorted(limits) == pytest.approx([0.0, 1.0], abs=1e-12)
        assert _line(ax, "jump-limits").get_markerfacecolor() == "white"
        assert list(_line(ax, "jump-values").get_ydata()) == [value]


def test_a_jump_of_f_itself_is_drawn_as_a_jump_not_as_a_kink():
    """hardshrink jumps at ±1/2: f's line breaks there, with open and filled circles."""
    fig = _figure("hardshrink")
    ax = fig.axes[0]
    assert not [line for line in ax.lines if line.get_gid() == "kinks"]
    assert sorted(_line(ax, "jump-limits").get_ydata()) == pytest.approx([-0.5, 0, 0, 0.5])
    assert sorted(_line(ax, "jump-values").get_ydata()) == pytest.approx([0.0, 0.0])
    xs, ys = _line(ax, "f").get_data()
    riser = (np.abs(np.asarray(xs) - 0.5) < 0.01) & np.isfinite(ys)
    assert not np.any((np.asarray(ys)[riser] > 0.01) & (np.asarray(ys)[riser] < 0.49))


def test_derivative_lines_break_at_jumps_instead_of_drawing_a_riser():
    xs, ys = _line(plot_function("relu").axes[1], "f'").get_data()
    gap = int(np.flatnonzero(np.isnan(xs))[0])
    assert xs[gap - 1] < 0 < xs[gap + 1] and ys[gap - 1] == 0 and ys[gap + 1] == 1


def test_the_tangent_line_has_the_derivative_as_slope():
    fig = plot_function("tanh", tangent=0.5)
    xs, ys = (np.asarray(d, dtype=float) for d in _line(fig.axes[0], "tangent").get_data())
    slope = float(1 - mpmath.tanh(0.5) ** 2)
    assert np.polyfit(xs, ys, 1) == pytest.approx(
        [slope, float(mpmath.tanh(0.5)) - 0.5 * slope], rel=1e-12
    )
    assert list(_line(fig.axes[1], "slope").get_ydata()) == pytest.approx([slope], rel=1e-14)


def test_stacked_layout_shares_the_x_axis():
    fig = plot_function("huber", order=2, layout="stacked")
    assert len(fig.axes) == 3
    top, middle, bottom = fig.axes
    assert top.get_shared_x_axes().joined(top, bottom)
    assert bottom.get_xlabel() == "$p$" and top.get_xlabel() == ""


def test_titles_are_formulas_in_mathtext():
    titles = [ax.get_title() for ax in plot_function("relu").axes]
    assert titles == [
        r"$\mathrm{relu}(x) = \max\left(0, x\right)$",
        r"$\mathrm{relu}'(x) = 1\ \mathrm{if}\ x > 0;\ 0\ \mathrm{otherwise}$",
    ]
    busy = plot_function("gelu_tanh").axes[1].get_title()
    assert busy == r"$\mathrm{gelu\_tanh}'(x)$"  # too long for a title: the name alone


def test_titles_are_typeset_as_the_latex_printer_sets_them():
    """hard_swish: x min(...) with TeX's thin space (not a variable "xmin"), -3 < x < 3."""
    stacked = plot_function("hard_swish", order=2, layout="stacked")  # as in the gallery
    titles = [ax.get_title() for ax in stacked.axes]
    assert r"x\, \min\left(6, \max\left(0, x + 3\right)\right)" in titles[0]
    assert r"\mathrm{if}\ -3 < x < 3;" in titles[1] and r"\mathrm{and}" not in titles[1]
    assert plot_function("tanh").axes[0].get_title().startswith(r"$\tanh(x) = ")
    x = sympy.Symbol("x", real=True)
    sigma = mathtext(sigmoid(x) * (1 - sigmoid(x)))  # the order the steps print
    assert sigma == r"$\sigma\left(x\right) \left(1 - \sigma\left(x\right)\right)$"


def test_curves_that_cover_each_other_are_found_as_the_eye_sees_them():
    h = np.logspace(-10, 0, 60)
    assert coinciding([h] * 3, [h**2, h**2 * 1.02, h], log_x=True) == [0, 1]
    assert coinciding([h] * 2, [h**2, 1e6 * h**2], log_x=True) == []
    # a steep descent squeezed at the left of a long axis hides another one next to it
    k = np.arange(5000)
    fast, faster, slow = np.exp(-k[:300] / 10), np.exp(-k[:280] / 9), np.exp(-k / 300)
    assert coinciding([k[:300], k[:280], k], [fast, faster, slow]) == [0, 1]


def test_coinciding_curves_are_drawn_so_each_can_be_seen():
    h = np.logspace(-12, 0, 40)
    study = types.SimpleNamespace(
        steps=h,
        errors={"central": h**2 / 6, "complex": h**2 / 6 * 1.001, "forward": h / 2},
        exact=1.0,
        point=0.5,
        function_name="tanh",
    )
    ax = plot_step_errors(study).axes[0]
    central, complex_, forward = (
        _line(ax, f"error-{m}") for m in ("central", "complex", "forward")
    )
    assert central.get_linestyle() != complex_.get_linestyle()
    assert central.get_marker() != complex_.get_marker()
    assert central.get_linewidth() > complex_.get_linewidth()  # the one below shows around
    assert complex_.get_markerfacecolor() == "white"
    assert forward.get_linestyle() == "-"  # a curve nobody covers stays plain
    legend = " ".join(ax.get_legend().get_title().get_text().split())
    assert "central and complex coincide, told apart by dashes and markers" in legend


def test_mathtext_converter_handles_what_mathtext_lacks():
    x = sympy.Symbol("x", real=True)
    text = mathtext(sympy.Piecewise((x, x > 0), (sympy.exp(x) - 1, True)), lhs="f(x)")
    assert "cases" not in text and r"\mathrm{if}" in text
    assert r"\operatorname" not in mathtext(sympy.erf(x))
    assert mathtext(sympy.Float("1.0507009873554804934193349852946", 30) * x) == "$1.051 x$"


#: A user expression too long for one line of title.
LONG_EXPRESSION = "x*tanh(log(1+exp(x)))*sin(x)**2/(1+x**2)"


@functools.cache
def _stacked(name: str, layout: str = "stacked") -> Figure:
    """f and f' (quick: the titles are what is tested), one above the other by default."""
    return plot_function(name, order=1, layout=layout, timeout=0.5)


def _titles(fig: Figure) -> list:
    """The figure title (one of the figure's texts) and the axes titles, as Text artists."""
    suptitle = [t for t in fig.texts if fig.get_suptitle() and t.get_text() == fig.get_suptitle()]
    return suptitle + [ax.title for ax in fig.axes if ax.get_visible() and ax.get_title()]


def assert_text_fits(fig: Figure, dpi: int) -> None:
    """Titles and labels inside the figure, titles apart and clear of their axes, readable."""
    renderer = _draw(fig, dpi)
    bounds = fig.bbox
    labels = [a.get_label() for ax in fig.axes if ax.get_visible() for a in (ax.xaxis, ax.yaxis)]
    texts = [t for t in _titles(fig) + labels if t.get_text()]
    for text in texts:
        box = text.get_window_extent(renderer)
        assert (
            bounds.x0 - 1 <= box.x0
            and box.x1 <= bounds.x1 + 1
            and bounds.y0 - 1 <= box.y0
            and box.y1 <= bounds.y1 + 1
        ), f"{text.get_text()!r} sticks out of the figure at {dpi} dpi"
    titles = _titles(fig)
    boxes = [t.get_window_extent(renderer) for t in titles]
    for i, first in enumerate(boxes):
        for second in boxes[i + 1 :]:
            assert not first.overlaps(second), [t.get_text() for t in titles]
    for ax in fig.axes:
        if ax.get_visible() and ax.get_title():
            gap = ax.title.get_window_extent(renderer).y0 - ax.get_window_extent(renderer).y1
            assert gap >= 1, f"the title {ax.get_title()!r} touches its axes ({gap:.1f} px)"
    assert all(t.get_fontsize() >= MIN_TITLE_SIZE for t in titles)


@pytest.mark.parametrize(
    "name",
    [
        "relu",
        "hard_swish",
        "mish",
        "binary_cross_entropy",
        "categorical_cross_entropy",
        "gelu_tanh",
        LONG_EXPRESSION,
    ],
)
@pytest.mark.parametrize("layout", ["side", "stacked"])
def test_text_stays_inside_the_figure_and_titles_do_not_collide(name, layout):
    if layout == "side":
        fig = _figure(name) if name != LONG_EXPRESSION else _stacked(name, "side")
    else:
        fig = _stacked(name)
    try:
        for dpi in (100, 200):
            assert_text_fits(fig, dpi)
    finally:
        fig.set_dpi(100)
    entry = univariate_entry(resolve(name))
    if entry.kind != "expression":  # the figure title says the same, on as many lines as needed
        assert " ".join(fig.get_suptitle().split()) == f"{entry.name}: {entry.description}"


def assert_wrapped(title: str, original: str) -> None:
    """``title`` is ``original`` broken into lines at spaces or just after an operator."""
    done = ""
    lines = title.split("\n")
    for line in lines[:-1]:
        if original.startswith(done + line + " "):
            done += line + " "
        else:
            assert line[-1] in "+-*/," and original.startswith(done + line), (line, original)
            done += line
    assert done + lines[-1] == original


def test_a_long_figure_title_is_wrapped_between_words_not_cut_off():
    entry = CATALOG["categorical_cross_entropy"]
    title = _stacked(entry.name).get_suptitle()
    assert len(title.splitlines()) == 2
    assert_wrapped(title, f"{entry.name}: {entry.description}")
    assert plot_function("relu").get_suptitle() == f"relu: {CATALOG['relu'].description}"


def test_long_titles_of_every_figure_are_wrapped_at_spaces_or_operators():
    study = _study()
    study.function_name = LONG_EXPRESSION  # the title is what is tested: tanh's errors do
    steps = plot_step_errors(study)
    title = steps.axes[0].get_title()
    assert title.count("\n") >= 1
    assert_wrapped(title, f"gradient check of {LONG_EXPRESSION} at 0.7")
    longer = LONG_EXPRESSION + "+x**4/24+x**6/720+x**8/40320"  # no spaces: operator breaks
    convergence = plot_riemann_convergence(riemann_convergence(longer, 0, 1, max_power=6))
    assert convergence.get_suptitle().count("\n") >= 1
    assert_wrapped(convergence.get_suptitle(), f"Riemann sums of {longer}")
    for fig in (steps, convergence, plot_ftc(LONG_EXPRESSION)):
        for dpi in (100, 200):
            assert_text_fits(fig, dpi)


def test_the_wrap_check_catches_a_title_cut_inside_a_word():
    with pytest.raises(AssertionError):
        assert_wrapped("gradient che\nck of f", "gradient check of f")
    assert_wrapped("sums of x*\ntanh(x)", "sums of x*tanh(x)")


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"order": 3}, "`order` must be 1 or 2"),
        ({"layout": "grid"}, "`layout` must be 'side' or 'stacked'"),
        ({"x_range": (2, -2)}, "A < B"),
        ({"x_range": (0, float("inf"))}, "finite"),
        ({"tangent": 9.0}, "outside the range"),
    ],
)
def test_plot_function_bad_input(kwargs, message):
    with pytest.raises(SymcalcError, match=message):
        plot_function("tanh", **kwargs)


# -- Riemann sums and the fundamental theorem -------------------------------------------


def _bar_areas(ax) -> np.ndarray:
    (bars,) = [c for c in ax.collections if c.get_gid() == "riemann-bars"]
    areas = []
    for path in bars.get_paths():
        x, y = (
            path.vertices[:-1].T
            if len(path.vertices) > 4 and np.allclose(path.vertices[0], path.vertices[-1])
            else path.vertices.T
        )
        signed = 0.5 * np.sum(x * np.roll(y, -1) - np.roll(x, -1) * y)  # shoelace
        height = y[np.argmax(np.abs(y))]
        areas.append(abs(signed) * np.sign(height))
    return np.array(areas)


@pytest.mark.parametrize("rule", RULES)
def test_bars_add_up_to_the_riemann_sum(rule):
    result = riemann_sum("sin(x) + 0.3", -2, 3, 9, rule=rule)
    fig = plot_riemann_sum(result)
    assert _bar_areas(fig.axes[0]).sum() == pytest.approx(result.value, rel=1e-12)
    assert len(_bar_areas(fig.axes[0])) == 9


def test_riemann_figure_with_its_convergence_beside_it():
    result = riemann_sum("exp(x)", 0, 1, 8, rule="left")
    study = riemann_convergence("exp(x)", 0, 1, max_power=7)
    fig = plot_riemann_sum(result, study)
    assert len(fig.axes) == 2
    for rule in RULES:
        ys = _line(fig.axes[1], f"error-{rule}").get_ydata()
        assert np.asarray(ys) == pytest.approx(study.errors[rule], rel=1e-15)


def test_convergence_plot_has_reference_slopes_on_log_axes():
    study = riemann_convergence("sigmoid", -1, 2, max_power=8)
    ax = plot_riemann_convergence(study).axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    for slope in (1, 2):
        xs, ys = (np.asarray(d, dtype=float) for d in _line(ax, f"reference-{slope}").get_data())
        assert np.polyfit(np.log(xs), np.log(ys), 1)[0] == pytest.approx(-slope, rel=1e-12)
    assert "order 2.00" in [t.get_text() for t in ax.get_legend().get_texts()][2]


@pytest.mark.parametrize(
    ("a", "b", "rule"), [(-4.0, 3.0, "midpoint"), (2.0, -3.0, "trapezoid"), (0.0, 2.5, "left")]
)
def test_ftc_picture_bars_accumulation_and_slope(a, b, rule):
    f = "sin(x) + x/4"
    fig = plot_ftc(f, a=a, b=b, n=10, rule=rule, x_range=(-5, 5))
    left, right = fig.axes
    result = riemann_sum(f, min(a, b), max(a, b), 10, rule=rule)
    assert _bar_areas(left).sum() == pytest.approx(result.value, rel=1e-12)
    xs, area = (np.asarray(d, dtype=float) for d in _line(right, "accumulation").get_data())
    assert area == pytest.approx(accumulate(f, a, xs), rel=1e-13, abs=1e-14)
    exact = lambda x: -np.cos(x) + x**2 / 8 - (-np.cos(a) + a**2 / 8)  # noqa: E731 - closed form
    assert area == pytest.approx(exact(xs), abs=1e-13)
    dots_x, dots_y = (np.asarray(d, dtype=float) for d in _line(right, "running-sum").get_data())
    assert dots_y == pytest.approx(exact(dots_x), abs=0.2)  # the running sum tracks A
    assert abs(dots_y[-1 if b > a else 0]) == pytest.approx(abs(result.value), rel=1e-12)
    tx, ty = (np.asarray(d, dtype=float) for d in _line(right, "tangent").get_data())
    assert np.polyfit(tx, ty, 1)[0] == pytest.approx(np.sin(b) + b / 4, rel=1e-12)


def test_ftc_picture_accepts_a_check_and_stays_in_the_domain():
    from symcalc import check_ftc

    check = check_ftc("binary_cross_entropy")
    fig = plot_ftc(check)
    assert fig.axes[0].get_xlim() == pytest.approx((0.001, 0.999))
    assert (
        fig.axes[1].get_title() == r"$A(p) = \int_{0.5}^{p} \mathrm{binary\_cross\_entropy}(t)\,dt$"
    )
    with pytest.raises(SymcalcError, match="a and b must differ"):
        plot_ftc("tanh", a=1, b=1)


# -- gradient checks ---------------------------------------------------------------------


def _study():
    steps = np.logspace(-14, -1, 27)
    x0 = 0.7
    true = 1 - np.tanh(x0) ** 2
    central = np.abs((np.tanh(x0 + steps) - np.tanh(x0 - steps)) / (2 * steps) - true)
    forward = np.abs((np.tanh(x0 + steps) - np.tanh(x0)) / steps - true)
    exact = np.zeros_like(steps)
    return types.SimpleNamespace(
        steps=steps,
        errors={"forward": forward, "central": central, "complex": exact},
        point=x0,
        function_name="tanh",
    )


def test_step_error_plot_draws_each_method_and_marks_the_best_step():
    study = _study()
    fig = plot_step_errors(study)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    for method in ("forward", "central"):
        xs, ys = _line(ax, f"error-{method}").get_data()
        assert np.asarray(xs) == pytest.approx(study.steps)
        assert np.asarray(ys) == pytest.approx(study.errors[method])
    stars = [line for line in ax.lines if line.get_marker() == "*"]
    best = int(np.argmin(study.errors["central"]))
    assert any(line.get_xdata()[0] == study.steps[best] for line in stars)
    assert np.all(
        np.isnan(_line(ax, "error-complex").get_ydata())
    )  # zeros are left off a log scale
    assert ax.get_title() == "gradient check of tanh at 0.7"


def test_step_error_plot_draws_the_gradcheck_study():
    from symcalc.numeric.gradcheck import gradcheck, study_steps

    study = study_steps(gradcheck("binary_cross_entropy_with_logits", at=[[0.5, 1.0]], wrt="z"))
    ax = plot_step_errors(study).axes[0]
    title = " ".join(ax.get_title().split())  # long titles are wrapped at spaces
    assert title == "gradient check of d/dz binary_cross_entropy_with_logits at (0.5, 1)"
    for method, errors in study.errors.items():
        ys = np.asarray(_line(ax, f"error-{method}").get_ydata(), dtype=float)
        assert np.array_equal(np.isnan(ys), ~(np.asarray(errors) > 0))
        assert ys[~np.isnan(ys)] == pytest.approx(np.asarray(errors)[np.asarray(errors) > 0])


def test_step_error_plot_bad_input():
    study = _study()
    study.errors["central"] = study.errors["central"][:-1]
    with pytest.raises(SymcalcError, match="errors for 'central' have 26 values for 27 steps"):
        plot_step_errors(study)
    with pytest.raises(SymcalcError, match="two positive steps"):
        plot_step_errors(
            types.SimpleNamespace(steps=[0.1], errors={}, point=0.0, function_name="f")
        )


# -- files ------------------------------------------------------------------------------


def test_files_are_valid_and_byte_identical_when_rebuilt(tmp_path):
    for suffix in (".png", ".svg", ".pdf"):
        first, second = tmp_path / f"a{suffix}", tmp_path / f"b{suffix}"
        save_figure(plot_function("relu", tangent=1.0), first)
        save_figure(plot_function("relu", tangent=1.0), second)
        assert first.read_bytes() == second.read_bytes(), suffix
    assert (tmp_path / "a.png").read_bytes().startswith(b"\x89PNG\r\n\x1a\n")
    pdf = (tmp_path / "a.pdf").read_bytes()
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF")
    ids = {element.get("id") for element in ET.parse(tmp_path / "a.svg").iter()}
    assert {"f", "f'", "kinks", "tangent", "jump-limits"} <= ids


def test_png_resolution_follows_dpi(tmp_path):
    fig = plot_ftc("sigmoid")
    save_figure(fig, tmp_path / "low.png", dpi=100)
    save_figure(fig, tmp_path / "high.png", dpi=200)
    with Image.open(tmp_path / "low.png") as small, Image.open(tmp_path / "high.png") as large:
        low, high = small.size, large.size
    assert high == (2 * low[0], 2 * low[1])
    assert low == (880, 340)


def test_saving_refuses_to_overwrite_without_force(tmp_path):
    target = tmp_path / "f.png"
    save_figure(plot_function("tanh"), target)
    with pytest.raises(SymcalcError, match="already exists; pass `force=True`"):
        save_figure(plot_function("tanh"), target)
    save_figure(plot_function("tanh"), target, force=True)


def test_plotting_never_touches_pyplot():
    code = (
        "import sys, symcalc.present.plotting as p; p.plot_function('relu'); p.plot_ftc('relu'); "
        "print('matplotlib.pyplot' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
