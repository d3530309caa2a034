"""Every figure symcalc draws, in one shared look.

Each ``plot_*`` function returns a matplotlib `~matplotlib.figure.Figure` built with
the object-oriented API (no pyplot state, never ``plt.show()``); save it with
`symcalc.present.files.save_figure` (atomic, no timestamps) or let a notebook show it.

The shared look lives at the top of this module: `COLORS` (one colour per role,
from the colour-blind-safe Okabe-Ito palette), `STYLE` (fonts: DejaVu Sans, which
ships with matplotlib, so figures are the same on every machine), the `_styled`
decorator that applies it while a figure is built and then fits every title to its
space (wrapped between words, formulas shrunk, never cut off at the figure's edge),
and `_figure` which makes a figure with constrained layout.  New figure functions
should use all three.

Examples
--------
>>> fig = plot_function("relu")
>>> print(fig.axes[0].get_title())
$\\mathrm{relu}(x) = \\max\\left(0, x\\right)$
>>> print(fig.axes[1].get_title())
$\\mathrm{relu}'(x) = 1\\ \\mathrm{if}\\ x > 0;\\ 0\\ \\mathrm{otherwise}$
"""

from __future__ import annotations

import functools
import io
import math
import re
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import numpy as np
import sympy
from matplotlib import rc_context
from matplotlib.figure import Figure

from ..errors import SymcalcError, check_range
from ..symbolic.catalog import Entry
from ..symbolic.functions import latex, name_latex
from ..symbolic.render import TextbookLatexPrinter, chained_bounds

__all__ = [
    "COLORS",
    "PALETTE",
    "STYLE",
    "figure_png",
    "mathtext",
    "plot_attribution",
    "plot_ftc",
    "plot_function",
    "plot_gradient_flow",
    "plot_riemann_convergence",
    "plot_riemann_sum",
    "plot_step_errors",
]

F = TypeVar("F", bound=Callable[..., Any])

# -- the shared look -----------------------------------------------------------------

#: One colour per role, from the Okabe-Ito palette (distinguishable with colour blindness).
COLORS: dict[str, str] = {
    "function": "#0072B2",  # blue
    "derivative": "#D55E00",  # vermillion
    "second": "#009E73",  # bluish green
    "tangent": "#E69F00",  # orange
    "area": "#CC79A7",  # reddish purple
    "bars": "#56B4E9",  # sky blue
    "bar_edge": "#0072B2",
    "kink": "#444444",
    "reference": "#888888",
    "zero": "#222222",
}

#: Colours for series without a fixed role (methods, rules, optimizers), in order.
PALETTE: tuple[str, ...] = (
    "#0072B2",
    "#D55E00",
    "#009E73",
    "#CC79A7",
    "#E69F00",
    "#56B4E9",
    "#000000",
)

#: matplotlib settings every symcalc figure is drawn with.
STYLE: dict[str, Any] = {
    "font.family": "DejaVu Sans",
    "mathtext.fontset": "dejavusans",
    "font.size": 10,
    "axes.titlesize": 11,
    "axes.labelsize": 10,
    "xtick.labelsize": 9,
    "ytick.labelsize": 9,
    "legend.fontsize": 9,
    "figure.titlesize": 12,
    "axes.grid": True,
    "grid.alpha": 0.35,
    "grid.linewidth": 0.6,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.titlepad": 8,
    "lines.linewidth": 2.0,
    "legend.frameon": True,
    "legend.framealpha": 0.9,
    "legend.edgecolor": "#cccccc",
    "figure.facecolor": "white",
    "axes.facecolor": "white",
    "savefig.facecolor": "white",
    "svg.fonttype": "path",
}

#: Size of one panel, in inches (width, height).
PANEL = (4.4, 3.4)


def _styled(func: F) -> F:
    """Build the figure under `STYLE` (fonts and sizes are fixed when artists are made),
    then fit its titles to their space (`_fit_titles`)."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with rc_context(STYLE):
            figure = func(*args, **kwargs)
            if isinstance(figure, Figure):
                _fit_titles(figure)
            return figure

    return wrapper  # type: ignore[return-value]


def _figure(
    nrows: int = 1, ncols: int = 1, *, panel: tuple[float, float] = PANEL, **subplot_kw: Any
) -> tuple[Figure, np.ndarray]:
    """A constrained-layout `Figure` of ``nrows`` x ``ncols`` panels and its axes, flat."""
    figure = Figure(figsize=(panel[0] * ncols, panel[1] * nrows), layout="constrained")
    axes = figure.subplots(nrows, ncols, squeeze=False, **subplot_kw)
    return figure, axes.ravel()


def _zero_lines(ax, x_range: tuple[float, float] | None = None) -> None:
    """Thin lines at y = 0 and, when it is in range, x = 0."""
    ax.axhline(0.0, color=COLORS["zero"], linewidth=0.8, zorder=1)
    if x_range is None or x_range[0] < 0 < x_range[1]:
        ax.axvline(0.0, color=COLORS["zero"], linewidth=0.8, zorder=1)


def _legend_below(ax, ncol: int = 2, **kwargs: Any):
    """A legend under the axes (constrained layout makes room), so it never hides data."""
    from matplotlib.transforms import ScaledTranslation

    below_labels = ax.transAxes + ScaledTranslation(0, -0.48, ax.figure.dpi_scale_trans)
    return ax.legend(
        loc="upper center",
        bbox_to_anchor=(0.5, 0.0),
        bbox_transform=below_labels,
        ncol=ncol,
        **kwargs,
    )


def _mark_point(ax, x: float, label: str) -> None:
    """A dotted vertical line at x, labelled at the top of the axes."""
    ax.axvline(x, color=COLORS["kink"], linestyle=":", linewidth=1.0, zorder=2)
    ax.annotate(
        label,
        xy=(x, 1.0),
        xycoords=("data", "axes fraction"),
        xytext=(0, 2),
        textcoords="offset points",
        ha="center",
        va="bottom",
        fontsize=9,
        color=COLORS["kink"],
    )


#: Line styles and markers that tell curves apart where they lie on top of each other.
DISTINCT: tuple[dict[str, Any], ...] = (
    {"linestyle": "-", "marker": "o"},
    {"linestyle": (0, (5, 2)), "marker": "s"},
    {"linestyle": (0, (1, 1.2)), "marker": "^"},
    {"linestyle": (0, (6, 2, 1.5, 2)), "marker": "D"},
    {"linestyle": (0, (3, 1.5, 1, 1.5, 1, 1.5)), "marker": "v"},
    {"linestyle": (0, (8, 3)), "marker": "P"},
    {"linestyle": (0, (2, 2)), "marker": "X"},
)


def _drawn_cells(x: np.ndarray, y: np.ndarray, limits, grid: tuple[int, int]) -> set:
    """The cells of a ``grid`` over the axes that the polyline through (x, y) passes through
    (x and y already on the axes' scale; ``limits`` = (x0, x1, y0, y1))."""
    x0, x1, y0, y1 = limits
    u = (x - x0) / max(x1 - x0, 1e-300)
    v = (y - y0) / max(y1 - y0, 1e-300)
    keep = np.isfinite(u) & np.isfinite(v)
    cells: set = set()
    for start, stop in _runs_of(keep):
        us, vs = u[start:stop], v[start:stop]
        if us.size > 1:  # points along each segment, closer than a cell
            steps = np.hypot(np.diff(us) * grid[0], np.diff(vs) * grid[1])
            counts = np.maximum(1, np.ceil(steps * 2).astype(int))
            t = np.concatenate([np.arange(c) / c for c in counts])
            index = np.repeat(np.arange(us.size - 1), counts)
            us = np.append(us[index] + t * (us[index + 1] - us[index]), us[-1])
            vs = np.append(vs[index] + t * (vs[index + 1] - vs[index]), vs[-1])
        cells.update(zip((us * grid[0]).astype(int), (vs * grid[1]).astype(int), strict=True))
    return cells


def _runs_of(mask: np.ndarray) -> list[tuple[int, int]]:
    """(start, stop) of each run of True in ``mask``."""
    edges = np.flatnonzero(np.diff(np.concatenate([[0], mask.astype(int), [0]])))
    return list(zip(edges[::2], edges[1::2], strict=True))


def coinciding(
    x: Sequence[np.ndarray],
    curves: Sequence[np.ndarray],
    *,
    log_x: bool = False,
    share: float = 0.35,
    grid: tuple[int, int] = (240, 160),
) -> list[int]:
    """The curves, drawn on a log-y axis, that other curves cover over much of their length.

    Each curve is traced over a ``grid`` of cells spanning the axes (about a line's
    width each); a curve is listed when at least ``share`` of the cells it passes
    through are passed through by some other curve as well.  This is what the eye
    sees: curves with different values still cover each other where the axis squeezes
    them together (a steep descent at the left of a long x axis).

    Examples
    --------
    >>> h = np.logspace(-8, 0, 40)
    >>> coinciding([h, h, h], [h**2, h**2 * 1.01, h], log_x=True)
    [0, 1]
    """
    xs = [np.log10(np.asarray(a, float)) if log_x else np.asarray(a, float) for a in x]
    ys = []
    for curve in curves:
        values = np.asarray(curve, dtype=float)
        with np.errstate(divide="ignore", invalid="ignore"):
            ys.append(np.where(values > 0, np.log10(np.abs(values)), np.nan))
    finite_x = np.concatenate([a[np.isfinite(a)] for a in xs])
    finite_y = np.concatenate([b[np.isfinite(b)] for b in ys])
    if finite_x.size == 0 or finite_y.size == 0:
        return []
    limits = (finite_x.min(), finite_x.max(), finite_y.min(), finite_y.max())
    cells = [_drawn_cells(a, b, limits, grid) for a, b in zip(xs, ys, strict=True)]
    covered = []
    for i, mine in enumerate(cells):
        others = set().union(*(c for j, c in enumerate(cells) if j != i))
        shared = len(mine & others)
        if mine and shared >= 4 and shared >= share * len(mine):
            covered.append(i)
    return covered if len(covered) > 1 else []


def _separated(count: int, covered: Sequence[int]) -> list[dict[str, Any]]:
    """Line styles for ``count`` curves: plain, except that curves that cover each other get
    distinct dashes, hollow markers at staggered places and widths that narrow from the
    first drawn (so the one below shows around the one above)."""
    styles: list[dict[str, Any]] = [{} for _ in range(count)]
    for rank, k in enumerate(covered):
        styles[k] = {
            **DISTINCT[rank % len(DISTINCT)],
            "linewidth": max(1.0, 2.6 - 0.5 * rank),
            "markevery": (0.03 * rank, 0.09),  # spaced along the drawn line, staggered
            "markersize": 5.5,
            "markerfacecolor": "white",
            "markeredgewidth": 1.3,
        }
    return styles


def _coincidence_note(labels: Sequence[str], covered: Sequence[int]) -> str:
    """'momentum, nesterov and line-search coincide in places'."""
    names = list(dict.fromkeys(labels[k] for k in covered))
    listed = ", ".join(names[:-1]) + f" and {names[-1]}" if len(names) > 1 else names[0]
    return f"{listed} coincide in places"


def figure_png(figure: Figure, dpi: int = 100) -> bytes:
    """The figure as PNG bytes (for ``_repr_png_`` of results)."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi, metadata={"Software": None})
    return buffer.getvalue()


# -- titles that fit ----------------------------------------------------------------

#: Smallest size, in points, a title formula is shrunk to (below it, it may stick out).
MIN_TITLE_SIZE = 8.0
#: Space, in inches, kept free between a title and the figure's edge.
TITLE_MARGIN = 0.1
#: Room, in points, a title keeps above its axes beyond the title pad: a title's text
#: reaching further below its baseline than this (a fraction's denominator) raises the
#: titles of its row.
TITLE_DESCENT = 3.5


def _fit_titles(figure: Figure) -> Figure:
    """Make every title of ``figure`` fit its space: wrap text, shrink formulas, clear the axes.

    A figure title may use the figure's width (less `TITLE_MARGIN` at each side); an
    axes title the width of its axes plus half the gap to its neighbours in the row (or
    to the figure's edge).  A title wider than that is wrapped between words (user
    expressions also after ``+ - * / ,``, never inside ``$...$`` math); a formula no
    break can shorten is shrunk, down to `MIN_TITLE_SIZE`.  Titles reaching below their
    baseline (fractions) are raised, with every title of their row, so they do not
    touch the axes.  Every ``plot_*`` function calls this once (`_styled`), when the
    figure is built.  Returns the figure.

    Examples
    --------
    >>> fig = plot_function("categorical_cross_entropy", layout="stacked")
    >>> print(fig.get_suptitle())
    categorical_cross_entropy: cross-entropy of softmax(z)
    against a probability vector y, K = 3 classes
    """
    titles = _titles(figure)
    originals = {id(text): (text.get_text(), text.get_fontsize()) for text, _ in titles}
    _raise_deep_titles(figure)
    for _ in range(2):  # a wrapped title is taller and may change the layout: check again
        figure.draw_without_rendering()
        changed = False
        for text, space in titles:
            label, size = originals[id(text)]
            changed |= _fit_text(text, label, size, space(text))
        if not changed:
            break
    return figure


def _titles(figure: Figure) -> list[tuple[Any, Callable[[Any], float]]]:
    """The figure's titles with, for each, a function giving its width to fill (pixels)."""
    found = []
    suptitle = figure.get_suptitle()
    for text in figure.texts[::-1]:  # the figure title is one of the figure's texts
        if suptitle and text.get_text() == suptitle:

            def page_width(text) -> float:
                return figure.bbox.width - 2 * TITLE_MARGIN * figure.dpi

            found.append((text, page_width))
            break
    shown = [ax for ax in figure.axes if ax.get_visible()]
    found += [
        (ax.title, functools.partial(_space_above, ax, shown)) for ax in shown if ax.get_title()
    ]
    return found


def _space_above(ax, shown, text) -> float:
    """Width, in pixels, an axes title may use: its axes and half the gaps beside it."""
    figure = ax.get_figure(root=True)
    box = ax.get_window_extent()
    margin = TITLE_MARGIN * figure.dpi
    low, high = figure.bbox.x0 + margin, figure.bbox.x1 - margin
    for other in shown:
        if other is ax:
            continue
        them = other.get_window_extent()
        if them.y1 <= box.y0 or them.y0 >= box.y1:  # not in this row
            continue
        if them.x1 <= box.x0:
            low = max(low, (them.x1 + box.x0) / 2)
        elif them.x0 >= box.x1:
            high = min(high, (box.x1 + them.x0) / 2)
    align = text.get_horizontalalignment()
    if align == "left":
        return high - box.x0
    if align == "right":
        return box.x1 - low
    centre = (box.x0 + box.x1) / 2
    return max(2 * min(centre - low, high - centre), 1.0)


def _fit_text(text, label: str, size: float, space: float) -> bool:
    """Wrap and if need be shrink ``text`` (originally ``label`` at ``size``) into ``space``.

    Returns whether its text or size changed.
    """
    before = (text.get_text(), text.get_fontsize())
    text.set_text(label)
    text.set_fontsize(size)
    if text.get_window_extent().width > space:
        text.set_text(_wrapped(text, label, space))
        width = text.get_window_extent().width
        if width > space:
            text.set_fontsize(max(MIN_TITLE_SIZE, size * space / width))
            text.set_text(_wrapped(text, label, space))
    return (text.get_text(), text.get_fontsize()) != before


def _breakable(label: str) -> list[tuple[str, str, int]]:
    """``label`` as (separator, piece, kind of break before it) triples.

    Breaks: 1 at a space outside brackets and ``$...$`` math; 2 at a space inside
    brackets, or in a formula typed as text after ``+``, ``/``, ``,``, a binary ``-``
    or a single ``*``; the first piece has 0.
    """
    words: list[tuple[str, int]] = []
    current, math, depth, kind = "", False, 0, 0
    for char in label:
        if char == "$":
            math = not math
        elif not math and char in "([{":
            depth += 1
        elif not math and char in ")]}":
            depth = max(depth - 1, 0)
        if char == " " and not math:
            words.append((current, kind))
            current, kind = "", 1 if depth == 0 else 2
        else:
            current += char
    words.append((current, kind))
    pieces = []
    for word, kind in words:
        formula = len(word) > 12 and "$" not in word  # x*tanh(...)/..., not d/dx
        parts = _OPERATOR_BREAKS.split(word) if formula else [word]
        pieces += [(" ", part, kind) if i == 0 else ("", part, 2) for i, part in enumerate(parts)]
    pieces = [piece for piece in pieces if piece[1]]
    return [("", pieces[0][1], 0), *pieces[1:]] if pieces else []


_OPERATOR_BREAKS = re.compile(r"(?<=[+/,])|(?<=[\w)]-)|(?<=(?<!\*)\*)(?!\*)")


def _wrapped(text, label: str, space: float) -> str:
    """``label`` in the fewest lines that fit ``space`` pixels at ``text``'s size, balanced.

    Breaks of kind 1 (spaces) are tried alone first, then with those of kind 2.  Of the
    ways to use the fewest lines, the one with the narrowest widest line is kept.  A
    piece wider than ``space`` gets a line of its own (the caller shrinks the text).
    """
    pieces = _breakable(label)
    widths: dict[tuple[int, int], float] = {}
    best: list[tuple[int, float, int]] = []

    def line(i: int, j: int) -> str:
        return "".join(f"{sep}{piece}" for sep, piece, _ in pieces[i:j]).strip()

    def width(i: int, j: int) -> float:
        if (i, j) not in widths:
            text.set_text(line(i, j))
            widths[(i, j)] = text.get_window_extent().width
        return widths[(i, j)]

    for allowed in (1, 2):
        starts = [i for i, (_, _, kind) in enumerate(pieces) if 0 < kind <= allowed]
        cuts = [0, *starts, len(pieces)]
        # best[c]: (lines, widest line, previous cut) for the pieces before cuts[c]
        best = [(0, 0.0, -1)] + [(10**9, math.inf, -1)] * (len(cuts) - 1)
        for c in range(1, len(cuts)):
            for b in range(c - 1, -1, -1):
                w = width(cuts[b], cuts[c])
                if w > space and b < c - 1:
                    break  # longer lines only get wider
                lines, widest, _ = best[b]
                candidate = (lines + 1, max(widest, w), b)
                if candidate[:2] < best[c][:2]:
                    best[c] = candidate
        if best[-1][1] <= space:
            break
    breaks, c = [], len(best) - 1
    while c > 0:
        breaks.append(c)
        c = best[c][2]
    bounds = [0, *reversed(breaks)]
    return "\n".join(line(cuts[a], cuts[b]) for a, b in zip(bounds, bounds[1:], strict=False))


def _raise_deep_titles(figure: Figure) -> None:
    """Raise the titles of a row when one reaches below its baseline into the pad."""
    rows: dict[Any, list] = {}
    for ax in figure.axes:
        spec = ax.get_subplotspec()
        if spec is None or not ax.get_visible():
            continue
        rows.setdefault((id(spec.get_gridspec()), spec.rowspan.start), []).append(ax)
    points = 72 / figure.dpi
    for axes in rows.values():
        extra = 0.0
        for ax in axes:
            text = ax.title
            if not text.get_text() or text.get_verticalalignment() != "baseline":
                continue
            baseline = text.get_transform().transform(text.get_position())[1]
            depth = (baseline - text.get_window_extent().y0) * points
            extra = max(extra, depth - TITLE_DESCENT)
        if extra <= 0.5:
            continue
        for ax in axes:
            pad = ax.titleOffsetTrans.transform((0.0, 0.0))[1] * points
            ax.set_title(ax.get_title(), pad=pad + extra, fontsize=ax.title.get_fontsize())


# -- formulas as mathtext ------------------------------------------------------------


#: Formulas with more operations than this are too busy for a title; the name is shown.
MAX_TITLE_OPERATIONS = 30


class _MathtextPrinter(TextbookLatexPrinter):
    """The LaTeX printer's typesetting (σ, sums last, 2(p − y), −3 < x < 3) in a form
    matplotlib's mathtext can draw: no ``cases``, no ``\\operatorname``."""

    def _print_Piecewise(self, expr):
        parts = []
        for value, condition in expr.args:
            shown = self._print(value)
            if condition is sympy.true:
                parts.append(rf"{shown}\ \mathrm{{otherwise}}")
            else:
                parts.append(rf"{shown}\ \mathrm{{if}}\ {self._print(condition)}")
        return r";\ ".join(parts)

    def _print_sigmoid(self, expr, exp=None):
        base = rf"\sigma\left({self._print(expr.args[0])}\right)"
        return rf"{base}^{{{exp}}}" if exp else base

    def _hprint_Function(self, func: str) -> str:
        name = super()._hprint_Function(func)
        return re.sub(r"\\operatorname\{([^}]*)\}", r"\\mathrm{\1}", name)

    def _print_And(self, expr):
        if chained_bounds(expr) is not None:
            return super()._print_And(expr)
        return r"\ \mathrm{and}\ ".join(self._print(a) for a in expr.args)

    def _print_Or(self, expr):
        return r"\ \mathrm{or}\ ".join(self._print(a) for a in expr.args)


def _mathtext_size(text: str, fontsize: float = 11.0) -> tuple[float, float] | None:
    """Width and height of ``text`` in points when mathtext can draw it, else None."""
    from matplotlib.font_manager import FontProperties
    from matplotlib.mathtext import MathTextParser

    try:
        parsed = MathTextParser("path").parse(text, dpi=72, prop=FontProperties(size=fontsize))
    except ValueError:
        return None
    return float(parsed.width), float(parsed.height)


def _brace_group(text: str, start: int) -> int:
    """Index just past the ``{...}`` group that opens at ``text[start]``."""
    depth = 0
    for i in range(start, len(text)):
        depth += {"{": 1, "}": -1}.get(text[i], 0)
        if depth == 0:
            return i + 1
    return len(text)


def _nested_fractions(body: str) -> bool:
    """Whether a ``\\frac`` sits inside another (mathtext draws the inner one tiny)."""
    position = body.find(r"\frac{")
    while position != -1:
        end = _brace_group(body, _brace_group(body, position + 5))
        if r"\frac" in body[position + 5 : end]:
            return True
        position = body.find(r"\frac{", end)
    return False


#: Operator names mathtext sets without the thin space TeX puts before them.
_OPERATOR_NAMES = "min|max|log|exp|sin|cos|tan|sec|csc|cot|sinh|cosh|tanh|coth|arcsin|arccos|arctan"


def _operator_spacing(body: str) -> str:
    """x \\min(...) with a thin space, as TeX sets it (mathtext would draw "xmin")."""
    pattern = rf"(?<=[A-Za-z0-9}}\)])\s+(?=\\(?:{_OPERATOR_NAMES}|mathrm)\b)"
    return re.sub(pattern, r"\\, ", body)


def _formula(expr: sympy.Expr) -> str:
    """Mathtext for expr: full-size fractions, or inline a / b where fractions would nest."""
    body = _MathtextPrinter({"mul_symbol": None}).doprint(expr)
    if _nested_fractions(body):
        body = _MathtextPrinter({"mul_symbol": None, "fold_short_frac": True}).doprint(expr)
        if _nested_fractions(body):
            return _operator_spacing(body)
    return _operator_spacing(body.replace(r"\frac{", r"\dfrac{"))


def mathtext(
    expr: sympy.Expr, *, lhs: str = "", max_width: float | None = None, fontsize: float = 11.0
) -> str:
    """``$lhs = expr$`` in mathtext, or just ``$lhs$`` when the formula cannot be drawn.

    Piecewise expressions are written on one line (``x if x > 0; 0 otherwise``) since
    mathtext has no ``cases``.  With ``max_width`` (points), a formula wider than that
    is dropped in favour of the left-hand side alone.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> mathtext(sympy.Max(0, x), lhs="f(x)")
    '$f(x) = \\\\max\\\\left(0, x\\\\right)$'
    >>> mathtext(sympy.Piecewise((x, x > 0), (x / 100, True)))
    '$x\\\\ \\\\mathrm{if}\\\\ x > 0;\\\\ \\\\dfrac{x}{100}\\\\ \\\\mathrm{otherwise}$'
    """
    expr = expr.xreplace({f: sympy.Float(f, 4) for f in expr.atoms(sympy.Float)})
    body = _formula(expr)
    full = f"${lhs} = {body}$" if lhs else f"${body}$"
    size = _mathtext_size(full, fontsize)
    readable = sympy.count_ops(expr) <= MAX_TITLE_OPERATIONS and size is not None
    if readable and (max_width is None or size[0] <= max_width) and size[1] <= 3.2 * fontsize:
        return full
    if lhs:
        return f"${lhs}$"
    return "$f$"


def _name_tex(entry: Entry) -> str:
    """The entry's name as the LaTeX printer writes it (\\tanh), in mathtext (\\mathrm)."""
    if entry.kind == "expression":
        return "f"
    return re.sub(r"\\operatorname\{([^}]*)\}", r"\\mathrm{\1}", name_latex(entry.name))


# -- sampling curves -----------------------------------------------------------------


def _grid(
    a: float, b: float, points: int, breaks: Sequence[float] = (), include: Sequence[float] = ()
):
    """Sample points on [a, b] with a NaN gap at each break (a jump) and ``include`` exactly.

    At a break the segments stop a hair short of the point, so a line shows the one-sided
    limits instead of a vertical connector.
    """
    interior = sorted({float(p) for p in breaks if a < p < b})
    exact = sorted({float(p) for p in include if a <= p <= b} - set(interior))
    edges = [a, *interior, b]
    width = b / 2 - a / 2  # half the width: b - a overflows over the whole float line
    hair = 2e-9 * width
    pieces: list[np.ndarray] = []
    for i, (lo, hi) in enumerate(zip(edges, edges[1:], strict=False)):
        count = max(8, int(round(points * ((hi / 2 - lo / 2) / width))))
        start = lo + (hair if i > 0 else 0.0)
        stop = hi - (hair if i < len(edges) - 2 else 0.0)
        if math.isfinite(stop - start):
            xs = np.linspace(start, stop, count)
        else:  # by halves, doubled exactly
            xs = 2 * np.linspace(start / 2, stop / 2, count)
        inside = [p for p in exact if start < p < stop]
        if inside:
            xs = np.union1d(xs, inside)
        if pieces:
            pieces.append(np.array([np.nan]))
        pieces.append(xs)
    return np.concatenate(pieces)


def _evaluate(kern, xs: np.ndarray) -> np.ndarray:
    """Kernel values at xs (NaN where xs is a gap); poles give inf or nan, not warnings."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        values = np.asarray(kern(xs), dtype=float)
    values = np.broadcast_to(values, xs.shape).astype(float)
    values[np.isnan(xs)] = np.nan
    return values


def _limits(values: np.ndarray) -> tuple[float, float] | None:
    """y limits that keep a curve readable near a pole (-1/p at 0): robust percentiles.

    When the full range is more than 8 times the 5-95 percentile range, the axis shows
    the percentile range (padded) and the curve runs off the top or bottom.
    """
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return None
    low, high = np.percentile(finite, [5, 95])
    full_low, full_high = finite.min(), finite.max()
    span = max(high - low, 1e-12)
    if full_high - full_low <= 8 * span:
        return None  # nothing extreme: let matplotlib choose
    pad = 0.25 * span
    return float(low - pad), float(high + pad)


def _break_at_poles(xs: np.ndarray, ys: np.ndarray, limits: tuple[float, float]):
    """A NaN gap where the curve leaps from one side of the view to the other (tan at π/2)."""
    span = limits[1] - limits[0]
    leaps = np.flatnonzero((np.abs(np.diff(ys)) > span) & (np.sign(ys[:-1]) * np.sign(ys[1:]) < 0))
    if leaps.size == 0:
        return xs, ys
    return np.insert(xs, leaps + 1, np.nan), np.insert(ys, leaps + 1, np.nan)


# -- a function beside its derivatives -------------------------------------------------

_PRIMES = ("", "'", "''")
_ROLE_BY_ORDER = ("function", "derivative", "second")


@_styled
def plot_function(
    f: str | sympy.Expr | Entry,
    order: int = 1,
    *,
    x_range: Sequence[float] | None = None,
    tangent: float | None = None,
    layout: str = "side",
    params: dict[str, Any] | None = None,
    convention: str = "zero",
    points: int = 801,
    timeout: float | None = 2.0,
) -> Figure:
    """``f`` beside its derivative (and second derivative with ``order=2``).

    Kinks (where f' jumps) are marked on f with dots and on every panel with dotted
    lines; where f or a derivative jumps, its one-sided limits are open circles and the
    value taken there (for a derivative, the one symcalc's ``convention`` gives) a
    filled dot.  ``tangent=x0`` draws
    the tangent line at x0 on f and marks its slope on f'.  ``layout`` is ``"side"``
    (panels side by side) or ``"stacked"`` (one above the other, shared x axis).
    The default range is the catalog entry's ``plot_range``.

    Each curve carries a gid (``"f"``, ``"f'"``, ``"f''"``, ``"kinks"``, ``"tangent"``)
    so it can be found in the figure (and in an SVG file).  ``timeout`` bounds the
    time spent tidying each derivative for its title (the curves do not depend on it).

    Examples
    --------
    >>> fig = plot_function("tanh", order=2, tangent=0.5)
    >>> len(fig.axes)
    3
    """
    from ..numeric.kernels import kernel
    from ..symbolic.catalog import univariate_entry
    from ..symbolic.derivatives import derivative
    from ..symbolic.domains import nan_outside_domain
    from ..symbolic.parse import resolve

    if order not in (1, 2):
        raise SymcalcError(f"`order` must be 1 or 2, got {order!r}", parameter="order")
    if layout not in ("side", "stacked"):
        raise SymcalcError(
            f"`layout` must be 'side' or 'stacked', got {layout!r}", parameter="layout"
        )
    entry = univariate_entry(resolve(f, **dict(params or {})))
    var = entry.variable
    a, b = check_range(entry.plot_range if x_range is None else x_range)
    if max(abs(a), abs(b)) > _PLOT_LIMIT:
        raise SymcalcError(
            f"plots reach |{entry.variable}| <= {_PLOT_LIMIT:g} (their axes and sample grids "
            f"overflow past it), got {a:g}:{b:g}; choose a range inside it",
            parameter="x_range",
        )
    if tangent is not None:
        tangent = float(tangent)
        if not (math.isfinite(tangent) and a <= tangent <= b):
            raise SymcalcError(
                f"tangent point {tangent:g} is outside the range {a:g}:{b:g}; pick x0 inside it"
            )

    exprs = [entry.expr]
    for _ in range(order):  # each derivative from the last, tidied once
        exprs.append(derivative(exprs[-1], wrt=var, convention=convention, timeout=timeout))
    # each derivative is NaN where f is not real, as the derivatives' kernels are: as a
    # formula of its own, sqrt(hinge(x, 1) - 0.15)′ is 0 for x > 1, where f is not real
    domains = {var: entry.domain_of(var)}
    kernels = [
        kernel(entry),
        *(kernel(nan_outside_domain(exprs[0], e, domains)) for e in exprs[1:]),
    ]
    # jumps[k]: where the k-th panel's curve jumps; the kinks of f are where f is
    # continuous and f' jumps (where f itself jumps, its panel shows the jump instead)
    jumps = [_jump_points(exprs[k], var, kernels[k], (a, b)) for k in range(order + 1)]
    kinks = [point for point in jumps[1] if point not in jumps[0]]

    n_panels = order + 1
    if layout == "side":
        fig, axes = _figure(1, n_panels)
    else:
        fig, axes = _figure(n_panels, 1, panel=(PANEL[0] * 1.5, PANEL[1] * 0.85), sharex=True)
    title_width = (PANEL[0] * (1.5 if layout == "stacked" else 1.0) - 0.5) * 72
    name = _name_tex(entry)
    var_tex = latex(var)
    marked = sorted({*kinks, *jumps[0]})
    notes = _kink_notes(exprs[:2], var, (a, b), len(marked))
    if len(marked) > _MARKED:
        marked, kinks = [], []
    for k, ax in enumerate(axes):
        include = [*kinks, *([tangent] if tangent is not None else [])]
        xs = _grid(a, b, points, breaks=jumps[k], include=include)
        ys = _evaluate(kernels[k], xs)
        role = _ROLE_BY_ORDER[k]
        lhs = f"{name}{_PRIMES[k]}({var_tex})"
        limits = _limits(ys)
        if limits is not None:
            xs, ys = _break_at_poles(xs, ys, limits)
            ax.set_ylim(*limits)
        (line,) = ax.plot(xs, ys, color=COLORS[role], zorder=3)
        line.set_gid(f"f{_PRIMES[k]}")
        ax.set_title(mathtext(exprs[k], lhs=lhs, max_width=title_width))
        _zero_lines(ax, (a, b))
        ax.set_xlim(a, b)
        if layout == "side" or k == n_panels - 1:
            ax.set_xlabel(f"${var_tex}$")
        for point in marked:
            ax.axvline(point, color=COLORS["kink"], linestyle=":", linewidth=1.0, zorder=2)
        _mark_jumps(
            ax, kernels[k], jumps[k] if len(jumps[k]) <= _MARKED else [], COLORS[role], (a, b)
        )
    if kinks:
        kx = np.array(kinks)
        marks = axes[0].plot(
            kx,
            _evaluate(kernels[0], kx),
            linestyle="none",
            marker="o",
            markersize=6,
            color=COLORS["kink"],
            zorder=5,
            label="kink (f' jumps)",
        )
        marks[0].set_gid("kinks")
    if tangent is not None:
        _draw_tangent(axes, kernels, tangent, (a, b))
    if kinks or tangent is not None:
        axes[0].legend(loc="best")
    if entry.kind != "expression":
        title = entry.name if not entry.description else f"{entry.name}: {entry.description}"
        fig.suptitle(title)
    if notes:
        fig.supxlabel("\n".join(f"note: {n}" for n in notes), fontsize=7, wrap=True)
    return fig


def _jump_points(
    expr: sympy.Expr, var: sympy.Symbol, kern, x_range: tuple[float, float]
) -> list[float]:
    """Where ``expr`` (drawn by ``kern``) has different one-sided limits, inside the range.

    Candidates are the switching points of its non-smooth parts; each is kept when the
    values a hair to the left and right differ.
    """
    from ..symbolic.kinks import kinks_within

    c = np.array(kinks_within(expr, var, float(x_range[0]), float(x_range[1])).points)
    if not c.size:
        return []
    h = 1e-7 * np.maximum(1.0, np.abs(c))
    left, right = _evaluate(kern, c - h), _evaluate(kern, c + h)
    finite = np.isfinite(left) & np.isfinite(right)
    real = ~(np.isnan(left) & np.isnan(right))  # not where f is real on neither side
    with np.errstate(invalid="ignore", over="ignore"):
        apart = np.abs(left - right) > 1e-5 * (1 + np.abs(left) + np.abs(right))
    return sorted({float(p) for p in c[real & (~finite | apart)]})


def _kink_notes(exprs: Sequence[sympy.Expr], var: sympy.Symbol, x_range, marked: int) -> list[str]:
    """What a plot says about its kinks: where their list may be incomplete (|sin x| over
    [0, 1e7]), and when there are too many to mark one by one (more than `_MARKED`)."""
    from ..symbolic.kinks import kinks_within

    a, b = float(x_range[0]), float(x_range[1])
    notes = [kinks_within(e, var, a, b).note(a, b) for e in exprs]
    if marked > _MARKED:
        notes.append(f"{marked} kinks and jumps in range: not marked one by one")
    return [n for n in dict.fromkeys(notes) if n is not None]


#: The largest |x| a plot reaches.
_PLOT_LIMIT = 1e307
#: At most this many kinks and jumps are marked on a plot, each with a line.
_MARKED = 200


def _mark_jumps(
    ax, kern, points: Sequence[float], color: str, x_range: tuple[float, float]
) -> None:
    """Open circles at the one-sided limits of a jump, a filled dot at the value taken."""
    if not points:
        return
    h = 1e-9 * (x_range[1] - x_range[0])
    px = np.array(points, dtype=float)
    left, right, at = (_evaluate(kern, px + d) for d in (-h, h, 0.0))
    limits = ax.plot(
        np.concatenate([px, px]),
        np.concatenate([left, right]),
        linestyle="none",
        marker="o",
        markersize=6,
        markerfacecolor="white",
        markeredgecolor=color,
        zorder=6,
    )
    limits[0].set_gid("jump-limits")
    taken = ax.plot(px, at, linestyle="none", marker="o", markersize=5, color=color, zorder=7)
    taken[0].set_gid("jump-values")


def _tangent_line(
    ax,
    x0: float,
    y0: float,
    slope: float,
    x_range: tuple[float, float],
    reach: float,
    points: int,
    zorder: int,
    label: str,
) -> None:
    """Dashed tangent y0 + slope·(x - x0) across 2·reach of the range, and its point."""
    low, high = x_range
    half = reach * (high - low)
    xs = np.linspace(max(low, x0 - half), min(high, x0 + half), points)
    (line,) = ax.plot(
        xs,
        y0 + slope * (xs - x0),
        color=COLORS["tangent"],
        linestyle="--",
        linewidth=1.6,
        zorder=zorder,
        label=label,
    )
    line.set_gid("tangent")
    ax.plot([x0], [y0], marker="o", color=COLORS["tangent"], markersize=6, zorder=6)


def _draw_tangent(axes, kernels, x0: float, x_range: tuple[float, float]) -> None:
    a, b = x_range
    y0 = float(_evaluate(kernels[0], np.array([x0]))[0])
    slope = float(_evaluate(kernels[1], np.array([x0]))[0])
    _tangent_line(
        axes[0], x0, y0, slope, (a, b), 0.2, 50, 4, f"tangent at {x0:g}: slope {slope:.4g}"
    )
    (dot,) = axes[1].plot(
        [x0],
        [slope],
        marker="o",
        color=COLORS["tangent"],
        markersize=7,
        zorder=6,
        linestyle="none",
        label=f"slope at {x0:g} = {slope:.4g}",
    )
    dot.set_gid("slope")
    axes[1].legend(loc="best")


# -- Riemann sums and the fundamental theorem ---------------------------------------------

_RULE_COLORS = {
    "left": PALETTE[0],
    "right": PALETTE[1],
    "midpoint": PALETTE[2],
    "trapezoid": PALETTE[3],
}


def _draw_bars(ax, result) -> None:
    """The Riemann sum's bars (trapezoids for the trapezoid rule), gid ``"riemann-bars"``."""
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Polygon, Rectangle

    edges, heights = result.edges, result.heights
    width = (result.b - result.a) / result.n
    if result.rule == "trapezoid":
        patches = [
            Polygon([(x0, 0.0), (x0, h0), (x1, h1), (x1, 0.0)], closed=True)
            for x0, x1, h0, h1 in zip(edges[:-1], edges[1:], heights[:-1], heights[1:], strict=True)
        ]
    else:
        corners = zip(edges[:-1], heights, strict=True)
        patches = [Rectangle((x0, 0.0), width, h) for x0, h in corners]
    collection = PatchCollection(
        patches,
        facecolor=COLORS["bars"],
        edgecolor=COLORS["bar_edge"],
        linewidth=0.8 if result.n <= 60 else 0.0,
        alpha=0.55,
        zorder=2,
        label=f"{result.rule} sum, n = {result.n}",
    )
    collection.set_gid("riemann-bars")
    ax.add_collection(collection)
    if result.n <= 60 and result.rule != "trapezoid":
        marks = ax.plot(
            result.samples,
            heights,
            linestyle="none",
            marker="o",
            markersize=3.5,
            color=COLORS["bar_edge"],
            zorder=4,
        )
        marks[0].set_gid("riemann-samples")


def _function_panel(ax, entry, kern, x_range, points: int = 801) -> None:
    a, b = x_range
    xs = _grid(a, b, points)
    ys = _evaluate(kern, xs)
    (line,) = ax.plot(
        xs,
        ys,
        color=COLORS["function"],
        zorder=3,
        label=f"${_name_tex(entry)}({latex(entry.variable)})$",
    )
    line.set_gid("f")
    ax.set_xlim(a, b)
    _zero_lines(ax, (a, b))
    ax.set_xlabel(f"${latex(entry.variable)}$")


@_styled
def plot_riemann_sum(result, study=None) -> Figure:
    """f with the bars of a `~symcalc.numeric.ftc.RiemannSum` (and its convergence beside it).

    The bars are one `~matplotlib.collections.PatchCollection` with gid
    ``"riemann-bars"`` whose signed areas add up to ``result.value``.  With a
    `~symcalc.numeric.ftc.RiemannStudy`, a second panel shows the error against n.

    Examples
    --------
    >>> from symcalc import riemann_sum
    >>> fig = plot_riemann_sum(riemann_sum("sigmoid", -4, 4, 16))
    >>> fig.axes[0].get_title()
    'midpoint sum, n = 16: 4 (integral 4)'
    """
    from ..numeric.kernels import kernel

    entry = result.entry
    fig, axes = _figure(1, 2 if study is not None else 1, panel=(PANEL[0] * 1.15, PANEL[1]))
    ax = axes[0]
    span = result.b - result.a
    view = (result.a - 0.06 * span, result.b + 0.06 * span)
    domain = entry.domain_of(entry.variable)
    if not all(domain.contains(sympy.Float(v)) is sympy.true for v in view):
        view = (result.a, result.b)  # do not step outside the domain (binary cross-entropy)
    _function_panel(ax, entry, kernel(entry), view)
    _draw_bars(ax, result)
    ax.set_title(
        f"{result.rule} sum, n = {result.n}: {result.value:.6g} (integral {result.exact:.6g})"
    )
    _legend_below(ax)
    if study is not None:
        _convergence_panel(axes[1], study, mark=result)
    return fig


def _star(ax, x: float, y: float, label: str) -> None:
    """The one result a convergence figure is about, as a star over the study's lines."""
    ax.loglog(
        [x],
        [y],
        marker="*",
        markersize=12,
        color=COLORS["tangent"],
        linestyle="none",
        zorder=5,
        label=label,
    )


def _convergence_panel(ax, study, mark=None) -> None:
    counts = np.asarray(study.counts, dtype=float)
    for rule, errors in study.errors.items():
        errors = np.where(np.asarray(errors) > 0, errors, np.nan)
        order = study.orders.get(rule)
        label = f"{rule} (order {order:.2f})" if order is not None else f"{rule} (exact)"
        (line,) = ax.loglog(
            counts, errors, marker="o", markersize=4, color=_RULE_COLORS.get(rule), label=label
        )
        line.set_gid(f"error-{rule}")
    finite = [np.asarray(e)[np.asarray(e) > 0] for e in study.errors.values()]
    top = max((float(e[0]) for e in finite if e.size), default=1.0)
    for slope, style in ((1, "--"), (2, ":")):
        reference = top * 1.8 * (counts / counts[0]) ** (-slope)
        (line,) = ax.loglog(
            counts,
            reference,
            color=COLORS["reference"],
            linestyle=style,
            linewidth=1.2,
            label=f"slope −{slope} ($n^{{-{slope}}}$)",
        )
        line.set_gid(f"reference-{slope}")
    if mark is not None and mark.rule in study.errors and abs(mark.error) > 0:
        _star(ax, mark.n, abs(mark.error), f"this sum (n = {mark.n})")
    ax.set_xscale("log", base=2)
    ax.set_xlabel("number of subintervals n")
    ax.set_ylabel("|sum − integral|")
    ax.set_title(f"convergence on [{study.a:g}, {study.b:g}]")
    _legend_below(ax, ncol=2)
    ax.grid(True, which="major")


@_styled
def plot_riemann_convergence(study) -> Figure:
    """Error of each Riemann rule against n, log-log, with reference slopes −1 and −2.

    Examples
    --------
    >>> from symcalc import riemann_convergence
    >>> fig = plot_riemann_convergence(riemann_convergence("exp(x)", 0, 1, max_power=6))
    >>> sorted(line.get_gid() for line in fig.axes[0].lines if line.get_gid())[:2]
    ['error-left', 'error-midpoint']
    """
    fig, axes = _figure(1, 1, panel=(PANEL[0] * 1.3, PANEL[1] * 1.1))
    _convergence_panel(axes[0], study)
    fig.suptitle(f"Riemann sums of {study.input}")
    return fig


@_styled
def plot_ftc(
    f,
    a: float | None = None,
    b: float | None = None,
    *,
    n: int = 12,
    rule: str = "midpoint",
    x_range: Sequence[float] | None = None,
    params: dict[str, Any] | None = None,
) -> Figure:
    """The fundamental theorem in one picture: f with Riemann bars, and A(x) = ∫ₐˣ f beside it.

    Left: f over the range with ``n`` bars of the ``rule`` sum on [a, b].  Right: the
    accumulated area A (by quadrature), the running totals of the bars as dots on it,
    and the tangent of A at b, whose slope is f(b).  ``f`` may be an
    `~symcalc.numeric.ftc.FTCCheck`, whose a and range are then used.  ``b`` defaults to
    80% of the way from a to the far end of the range.

    Examples
    --------
    >>> fig = plot_ftc("sigmoid", a=-4, b=4, n=8)
    >>> [ax.get_title() for ax in fig.axes][1]
    '$A(x) = \\\\int_{-4}^{x} \\\\mathrm{sigmoid}(t)\\\\,dt$'
    """
    from ..numeric.ftc import FTCCheck, default_lower_limit
    from ..numeric.kernels import kernel
    from ..numeric.quadrature import accumulate
    from ..numeric.riemann import riemann_sum
    from ..symbolic.catalog import univariate_entry
    from ..symbolic.parse import resolve

    if isinstance(f, FTCCheck):
        entry, a, x_range = (
            f.entry,
            f.a if a is None else a,
            f.x_range if x_range is None else x_range,
        )
    else:
        entry = univariate_entry(resolve(f, **dict(params or {})))
    low, high = check_range(entry.plot_range if x_range is None else x_range)
    a = default_lower_limit(entry) if a is None else float(a)
    if b is None:  # most of the way to the far end, so the tangent at b shows whole
        b = a + 0.8 * ((high if a < high else low) - a)
    b = float(b)
    low, high = min(low, a, b), max(high, a, b)
    if a == b:
        raise SymcalcError(f"a and b must differ to draw bars, got a = b = {a:g}")
    start, stop = min(a, b), max(a, b)
    result = riemann_sum(entry, start, stop, n, rule=rule)
    kern = kernel(entry)
    var = latex(entry.variable)
    name = _name_tex(entry)

    fig, axes = _figure(1, 2)
    left, right = axes
    _function_panel(left, entry, kern, (low, high))
    _draw_bars(left, result)
    for point, label in ((a, "a"), (b, "b")):
        _mark_point(left, point, label)
        _mark_point(right, point, label)
    left.set_title(
        mathtext(entry.expr, lhs=f"{name}({var})", max_width=(PANEL[0] - 0.5) * 72), pad=20
    )
    _legend_below(
        left, title=f"bars add up to {result.value:.6g}; the integral is {result.exact:.6g}"
    )

    xs = _grid(low, high, 801, include=[a, b])
    area = accumulate(entry, a, xs)
    (line,) = right.plot(
        xs, area, color=COLORS["area"], zorder=3, label=f"$A({var})$ by quadrature"
    )
    line.set_gid("accumulation")
    areas = _bar_areas(result)
    if b > a:  # A at each right edge is the sum of the bars to its left
        running, totals = result.edges[1:], np.cumsum(areas)
    else:  # A(x) = -∫_x^a f: minus the bars between x and a
        running, totals = result.edges[:-1], -np.cumsum(areas[::-1])[::-1]
    dots = right.plot(
        running,
        totals,
        linestyle="none",
        marker="o",
        markersize=4,
        color=COLORS["bar_edge"],
        zorder=4,
        label="running total of the bars",
    )
    dots[0].set_gid("running-sum")
    A_b = float(np.interp(b, xs, area))
    f_b = float(_evaluate(kern, np.array([b]))[0])
    _tangent_line(right, b, A_b, f_b, (low, high), 0.15, 20, 5, f"slope at b = {f_b:.4g} = f(b)")
    _zero_lines(right, (low, high))
    right.set_xlim(low, high)
    right.set_xlabel(f"${var}$")
    right.set_title(rf"$A({var}) = \int_{{{a:g}}}^{{{var}}} {name}(t)\,dt$", pad=20)
    _legend_below(right, ncol=1)
    fig.suptitle(f"fundamental theorem: the area accumulated from a = {a:g} has slope f")
    return fig


def _bar_areas(result) -> np.ndarray:
    """Signed area of each bar (each trapezoid for the trapezoid rule)."""
    width = (result.b - result.a) / result.n
    if result.rule == "trapezoid":
        return width * (result.heights[:-1] + result.heights[1:]) / 2
    return width * result.heights


# -- gradient checks --------------------------------------------------------------------

_METHOD_ORDERS = {"forward": 1, "backward": 1, "central": 2, "richardson": 4, "complex": 2}


@_styled
def plot_step_errors(study) -> Figure:
    """The V-shaped curve of a gradient check: numeric-derivative error against step size.

    ``study`` is the step-size study of `symcalc.numeric.gradcheck` (``steps``: array of step
    sizes; ``errors``: method -> array of absolute errors; ``point``; ``function_name``).
    Truncation error falls like h^p to the left of the V, rounding error grows like
    ε/h to the right; each method's best step is marked.  Errors below a twentieth of
    an ulp of the derivative (exact agreement, as the complex step reaches) are left out
    of the log scale.
    """
    steps = np.asarray(study.steps, dtype=float)
    if steps.ndim != 1 or steps.size < 2 or np.any(steps <= 0):
        raise SymcalcError("a step-size study needs at least two positive steps")
    fig, axes = _figure(1, 1, panel=(PANEL[0] * 1.35, PANEL[1] * 1.2))
    ax = axes[0]
    positive = []
    scale = abs(float(getattr(study, "exact", 1.0) or 1.0))
    exact_below = 0.05 * np.finfo(float).eps * max(1.0, scale)
    series = {}
    for method, errors in study.errors.items():
        errors = np.asarray(errors, dtype=float)
        if errors.shape != steps.shape:
            raise SymcalcError(
                f"errors for '{method}' have {errors.size} values for {steps.size} steps"
            )
        series[method] = np.where(errors > exact_below, errors, np.nan)
    # central differences and the complex step share their h² term: where their curves
    # coincide, each is drawn so it can be seen (dashes, markers) and the legend says so
    covered = coinciding([steps] * len(series), list(series.values()), log_x=True)
    styles = _separated(len(series), covered)
    for i, (method, shown) in enumerate(series.items()):
        color = PALETTE[i % len(PALETTE)]
        style = styles[i] or {"marker": "o", "markersize": 3.5}
        (line,) = ax.loglog(steps, shown, color=color, label=method, **style)
        line.set_gid(f"error-{method}")
        if np.any(np.isfinite(shown)):
            best = int(np.nanargmin(shown))
            ax.loglog(
                [steps[best]],
                [shown[best]],
                marker="*",
                markersize=12,
                color=color,
                linestyle="none",
                zorder=5,
            )
            positive.append(shown[np.isfinite(shown)])
    eps = np.finfo(float).eps
    if positive:
        floor = min(float(p.min()) for p in positive)
        ceiling = max(float(p.max()) for p in positive)
        rounding = eps / steps
        (line,) = ax.loglog(
            steps,
            rounding,
            color=COLORS["reference"],
            linestyle=":",
            linewidth=1.2,
            label="rounding ε/h",
        )
        line.set_gid("reference-rounding")
        ax.set_ylim(max(floor / 10, 1e-18), ceiling * 10)
    ax.set_xlabel("step size h")
    ax.set_ylabel("|numeric − symbolic derivative|")
    point = getattr(study, "point", None)
    where = ""
    if point is not None:
        values = np.atleast_1d(np.asarray(point, dtype=float))
        shown = ", ".join(f"{v:.4g}" for v in values)
        where = f" at ({shown})" if values.size > 1 else f" at {shown}"
    variable = getattr(study, "variable", None)
    operator = f"d/d{variable} " if variable else ""
    ax.set_title(f"gradient check of {operator}{getattr(study, 'function_name', 'f')}{where}")
    title = "★ best step"
    if covered:
        note = _coincidence_note(list(series), covered).replace(" in places", "")
        title += f"\n{note},\ntold apart by dashes and markers"
    ax.legend(loc="center left", bbox_to_anchor=(1.02, 0.5), title=title)
    return fig


# -- gradient descent (symcalc.learn.descent) ------------------------------------------------

__all__ += ["plot_descent", "plot_descent_paths"]

#: One colour per optimizer, the same in every descent figure.
OPTIMIZER_COLORS: dict[str, str] = {
    "gd": PALETTE[0],
    "momentum": PALETTE[1],
    "nesterov": PALETTE[2],
    "adam": PALETTE[3],
    "line-search": PALETTE[4],
    "newton": PALETTE[5],
    "lbfgs": PALETTE[6],
    "trust-ncg": "#8C564B",
    "newton-cg": "#BCBD22",
    "sgd": "#7F7F7F",
}

#: The optimizers whose step is a learning rate α (the others choose their own steps).
_LEARNING_RATE_OPTIMIZERS = ("gd", "momentum", "nesterov", "adam", "line-search", "sgd")


def _optimizer_of(run) -> str:
    """The optimizer that ran (what ``auto`` chose, when it chose)."""
    return getattr(run, "optimizer_chosen", "") or run.optimizer


def _runs(results) -> list:
    runs = list(results) if isinstance(results, (list, tuple)) else [results]
    if not runs:
        raise SymcalcError("no descent results to draw; pass one DescentResult or a list of them")
    for run in runs:
        if not hasattr(run, "history") or not hasattr(run, "theta"):
            raise SymcalcError(f"expected DescentResult objects, got {type(run).__name__}")
    return runs


def _run_colors(runs) -> list[str]:
    if len({_optimizer_of(r) for r in runs}) == len(runs):
        return [
            OPTIMIZER_COLORS.get(_optimizer_of(r), PALETTE[i % len(PALETTE)])
            for i, r in enumerate(runs)
        ]
    return [PALETTE[i % len(PALETTE)] for i in range(len(runs))]


def _run_label(run, runs) -> str:
    name = _optimizer_of(run)
    if name in _LEARNING_RATE_OPTIMIZERS:
        return f"{name} (α = {run.learning_rate:.3g})"
    return name


def _curve_panel(
    ax, runs, values: str, ylabel: str, offset: float = 0.0, labels=None, styles=None
) -> None:
    labels = labels or [_run_label(run, runs) for run in runs]
    styles = styles or [{} for _ in runs]
    for run, color, label, style in zip(runs, _run_colors(runs), labels, styles, strict=False):
        series = np.asarray(getattr(run.history, values), dtype=float) - offset
        shown = np.where(series > 0, series, np.nan)
        iterations = np.arange(len(series))
        (line,) = ax.semilogy(
            iterations, shown, **{"color": color, "linewidth": 1.6, "label": label, **style}
        )
        line.set_gid(f"{values}-{_optimizer_of(run)}")
        if run.stop_reason == "diverged":
            ax.semilogy(
                [iterations[-1]],
                [shown[-1]],
                marker="x",
                markersize=9,
                color=color,
                linestyle="none",
            )
    ax.set_xlabel("iteration k")
    ax.set_ylabel(ylabel)
    if len(runs) and max(len(r.history) for r in runs) > 1:
        ax.set_xlim(0, max(len(r.history) for r in runs) - 1)


@_styled
def plot_descent(results, labels: Sequence[str] | None = None) -> Figure:
    """Loss curves of one or more descents, log scale: J(θₖ) − J_best and ‖∇J(θₖ)‖.

    ``results`` is a `~symcalc.learn.descent.DescentResult` or a list of them (e.g. one per
    optimizer on the same problem); ``labels`` name them in the legend (default: the
    optimizer and its learning rate).  The left panel shows how far each loss is above
    J_best, the lowest loss any run reached (a loss that levels off at J* > 0 is a flat
    line on a log scale; its distance to the optimum is not).  The right panel is in the
    user's units; the stopping rule compares the gradient in standardized units with its
    start (`symcalc.learn.stopping`), so no fixed line marks it.

    Examples
    --------
    >>> from symcalc.learn.descent import descend
    >>> runs = [descend("linear", "synthetic:linear", optimizer=o) for o in ("gd", "adam")]
    >>> fig = plot_descent(runs)
    >>> [ax.get_ylabel() for ax in fig.axes]
    ['J(θₖ) − J_best', 'gradient norm ‖∇J(θₖ)‖']
    """
    runs = _runs(results)
    if labels is not None and len(labels) != len(runs):
        raise SymcalcError(f"got {len(labels)} labels for {len(runs)} runs; give one label per run")
    fig, (left, right) = _figure(1, 2, panel=(5.0, 3.6))
    best = min(float(np.min(r.history.loss)) for r in runs)
    # runs that lie on top of each other (in either panel) get dashes and markers
    losses = [np.asarray(r.history.loss, dtype=float) - best for r in runs]
    norms = [np.asarray(r.history.gradient_norm, dtype=float) for r in runs]
    iterations = [np.arange(len(r.history.loss)) for r in runs]
    covered = sorted(set(coinciding(iterations, losses)) | set(coinciding(iterations, norms)))
    same_optimizer = len({_optimizer_of(r) for r in runs}) < len(runs)
    if same_optimizer:  # runs of one optimizer may coincide (the same fit two ways)
        covered = list(range(len(runs)))
    styles = _separated(len(runs), covered)
    _curve_panel(left, runs, "loss", "J(θₖ) − J_best", best, labels, styles)
    _curve_panel(right, runs, "gradient_norm", "gradient norm ‖∇J(θₖ)‖", 0.0, labels, styles)
    titles = {
        "linear": "linear regression",
        "logistic": "logistic regression",
        "softmax": "softmax regression",
        "mlp": "neural network",
    }
    title = (
        titles.get(runs[0].model, runs[0].model)
        if len({r.model for r in runs}) == 1
        else "gradient descent"
    )
    data = runs[0].data.split(" (")[0] if runs[0].data else ""
    fig.suptitle(f"{title} on {data}" if data else title)
    left.set_title(f"loss above J_best = {best:.6g}")
    right.set_title("gradient norm")
    handles, shown = right.get_legend_handles_labels()
    note = None
    if covered and not same_optimizer:
        names = [_optimizer_of(r) for r in runs]
        note = _coincidence_note(names, covered) + ": told apart by dashes and markers"
    fig.legend(handles, shown, loc="outside lower center", ncol=min(len(shown), 3), title=note)
    return fig


def _grid_limits(
    paths: list[np.ndarray], margin: float = 0.25
) -> tuple[tuple[float, float], tuple[float, float]]:
    points = np.concatenate(paths)
    limits = []
    for column in (0, 1):
        low, high = float(points[:, column].min()), float(points[:, column].max())
        span = max(high - low, 1e-3 * max(1.0, abs(high)))
        limits.append((low - margin * span, high + margin * span))
    return limits[0], limits[1]


@_styled
def plot_descent_paths(results, *, grid: int = 81) -> Figure:
    """For a two-parameter problem: the contour of J with each run's path of θ, side by side.

    ``results`` are `~symcalc.learn.descent.DescentResult` objects on the same objective
    (e.g. one per optimizer); each needs the iterates, so pass runs made with
    ``descend(..., record_path=True)``.  Contours are drawn at log-spaced heights above
    the lowest J found, so both the valley floor and the walls show.

    Examples
    --------
    >>> from symcalc.learn.data import synthetic
    >>> from symcalc.learn.descent import descend
    >>> data = synthetic("linear", n_features=1)
    >>> runs = [descend("linear", data, optimizer=o, record_path=True) for o in ("gd", "nesterov")]
    >>> fig = plot_descent_paths(runs)
    >>> len(fig.axes)  # two contour panels, the loss curves, the colour bar
    4
    """
    runs = _runs(results)
    objective = runs[0].objective
    if objective is None or objective.n_parameters != 2:
        size = "unknown" if objective is None else objective.n_parameters
        raise SymcalcError(
            "contour paths need a two-parameter problem (θ = (b, w): one feature),"
            f" got {size} parameters"
        )
    tracks = []
    for run in runs:
        track = getattr(run, "path", None)
        if track is None or len(track) == 0:
            raise SymcalcError("a run has no recorded path; call descend(..., record_path=True)")
        same = run.objective is objective or math.isclose(
            objective.value(run.theta), run.loss, rel_tol=1e-9, abs_tol=1e-12
        )
        if not same:
            raise SymcalcError(
                "the runs minimize different objectives; use one model, data set and l2"
            )
        tracks.append(np.asarray(track, dtype=float))
    xlim, ylim = _grid_limits(tracks)
    xs = np.linspace(*xlim, grid)
    ys = np.linspace(*ylim, grid)
    values = np.array([[objective.value(np.array([a, b])) for a in xs] for b in ys])
    lowest = min(float(values.min()), min(float(r.history.loss.min()) for r in runs))
    heights = values - lowest
    top = float(np.nanmax(heights))
    levels = np.geomspace(max(top * 1e-4, 1e-12), top, 14)
    names = runs[0].parameter_names if len(runs[0].parameter_names) == 2 else ("θ₀", "θ₁")
    names = [n if n in ("intercept", "θ₀", "θ₁") else f"weight of {n}" for n in names]
    columns = min(3, len(runs) + 1)
    rows = -(-(len(runs) + 1) // columns)
    fig, axes = _figure(rows, columns, panel=(3.8, 3.4))
    colors = _run_colors(runs)
    norm = _log_norm(levels)
    for ax, run, track, color in zip(axes, runs, tracks, colors, strict=False):
        filled = ax.contourf(
            xs, ys, heights, levels=levels, cmap="Greys", norm=norm, extend="both", alpha=0.8
        )
        ax.contour(xs, ys, heights, levels=levels, colors="white", linewidths=0.6)
        ax.plot(track[:, 0], track[:, 1], color=color, linewidth=1.5)
        dots = track[: min(len(track), 60)]
        ax.plot(dots[:, 0], dots[:, 1], color=color, marker=".", markersize=4.5, linestyle="none")
        ax.plot(
            *track[0],
            marker="o",
            markersize=8,
            color=color,
            markeredgecolor="black",
            linestyle="none",
        )
        ax.plot(
            *track[-1],
            marker="*",
            markersize=15,
            color=color,
            markeredgecolor="black",
            linestyle="none",
        )
        verdict = f"{run.iterations} step{'' if run.iterations == 1 else 's'}" + (
            "" if run.converged else ", not converged"
        )
        ax.set_title(f"{_run_label(run, runs)}: {verdict}", fontsize=10)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        ax.set_xlabel(names[0])
        ax.set_ylabel(names[1])
        ax.grid(False)
    curves = axes[len(runs)]
    best = min(float(np.min(r.history.loss)) for r in runs)
    losses = [np.asarray(r.history.loss, dtype=float) - best for r in runs]
    covered = coinciding([np.arange(len(v)) for v in losses], losses)
    _curve_panel(curves, runs, "loss", "J(θₖ) − J_best", best, None, _separated(len(runs), covered))
    curves.set_title("loss above J_best (log scale)", fontsize=10)
    note = None
    if covered:
        note = _coincidence_note([r.optimizer for r in runs], covered).replace(" in places", "")
    curves.legend(loc="upper right", fontsize=8, title=note, title_fontsize=8)
    for ax in axes[len(runs) + 1 :]:
        ax.set_visible(False)
    fig.colorbar(
        filled, ax=list(axes[: len(runs)]), label="J(θ) − J_best", shrink=0.8, format="%.0e"
    )
    fig.suptitle(f"paths of θ from ● to ★ on the contours of J ({runs[0].model})")
    return fig


def _log_norm(levels):
    from matplotlib.colors import LogNorm

    return LogNorm(vmin=levels[0], vmax=levels[-1])


# -- pictures of results (what a notebook shows; registered in symcalc/__init__.py) ----

#: Result class name -> the figure that draws it.
_PICTURES: dict[str, Callable[[Any], Figure]] = {
    "FTCCheck": lambda check: plot_ftc(check),
    "RiemannSum": lambda result: plot_riemann_sum(result),
    "RiemannStudy": lambda study: plot_riemann_convergence(study),
    "GradientCheck": lambda check: plot_step_errors(check.study_steps()),
    "DescentResult": lambda result: plot_descent(result),
    "GradientFlow": lambda flow: plot_gradient_flow(flow),
    "Attribution": lambda result: plot_attribution(result),
}


def result_png(result: Any) -> bytes:
    """The PNG a notebook shows for a result (`FTCCheck`, `RiemannSum`, `DescentResult`, ...)."""
    return figure_png(_PICTURES[type(result).__name__](result))


# -- gradient flow across depth ------------------------------------------------------------


def _flow_panel(ax, flow, show_bounds: bool) -> None:
    for k, curve in enumerate(flow.curves):
        color = PALETTE[k % len(PALETTE)]
        layers = curve.layers
        q1, q3 = curve.quartiles
        finite = np.isfinite(curve.median) & (curve.median > 0)
        shown = np.where(finite, curve.median, np.nan)
        ax.fill_between(layers, q1, q3, color=color, alpha=0.2, linewidth=0)
        sup = f"{curve.sup_derivative:.3g}" if math.isfinite(curve.sup_derivative) else "∞"
        label = f"{curve.activation} (sup|f′| = {sup})"
        if not finite.all():  # a log axis cannot show 0, and an overflow has no value
            missing = "overflow" if not np.isfinite(curve.median).all() else "0"
            k = int(np.argmin(finite))
            label += f", {missing} from k = {k}"
        (line,) = ax.semilogy(layers, shown, color=color, label=label)
        line.set_gid(f"median-{curve.activation}")
        if show_bounds and math.isfinite(curve.sup_derivative):
            (bound,) = ax.semilogy(
                layers, curve.bound_median, color=color, linestyle="--", linewidth=1.0
            )
            bound.set_gid(f"bound-{curve.activation}")
    ax.set_xlim(0, flow.depth)
    ax.set_xlabel("layers back from the output, k")
    ax.set_ylabel("‖∂J/∂a⁽ᴸ⁻ᵏ⁾‖")
    ax.set_title(f"{flow.init} initialization")
    ax.grid(True, which="major")


def _decade_ticks(ax, low: float, high: float) -> None:
    """Major ticks at round powers of ten: every 1, 2, 5 or 10 decades, about 6 to 12 ticks."""
    from matplotlib.ticker import FixedLocator, LogFormatterSciNotation, NullLocator

    span = math.log10(high) - math.log10(low)
    step = next((s for s in (1, 2, 5, 10, 20, 50) if span / s <= 12), 100)
    first, last = math.ceil(math.log10(low) / step), math.floor(math.log10(high) / step)
    ax.yaxis.set_major_locator(FixedLocator([10.0 ** (step * k) for k in range(first, last + 1)]))
    ax.yaxis.set_major_formatter(LogFormatterSciNotation())
    ax.yaxis.set_minor_locator(NullLocator())


@_styled
def plot_gradient_flow(flows, *, bounds: bool = True) -> Figure:
    """Gradient norm against depth, log scale: one line per activation, quartiles as a band.

    ``flows`` is a `~symcalc.learn.flow.GradientFlow` or a list of them (one panel each,
    e.g. one per initialization, sharing the y axis).  The solid line is the median over
    the random networks of ‖∂J/∂a⁽ᴸ⁻ᵏ⁾‖ after k layers, the band its quartiles, and the
    dashed line of the same colour the bound Π sup|f′|·‖W‖₂ (``bounds=False`` leaves it out).

    Examples
    --------
    >>> from symcalc.learn.flow import gradient_flow
    >>> fig = plot_gradient_flow(gradient_flow(("sigmoid", "relu"), depth=8, width=8, seeds=3))
    >>> sorted(line.get_gid() for line in fig.axes[0].lines if line.get_gid())
    ['bound-relu', 'bound-sigmoid', 'median-relu', 'median-sigmoid']
    """
    flows = [flows] if not isinstance(flows, (list, tuple)) else list(flows)
    if not flows:
        raise SymcalcError("give at least one gradient flow to draw")
    fig, axes = _figure(1, len(flows), panel=(5.0, 4.6), sharey=True)
    for ax, flow in zip(axes, flows, strict=True):
        _flow_panel(ax, flow, bounds)
    for ax in axes[1:]:
        ax.set_ylabel("")
    shown = [c.norms for f in flows for c in f.curves]
    if bounds:
        shown += [c.bound_median for f in flows for c in f.curves]
    values = np.concatenate([np.ravel(v) for v in shown])
    values = values[np.isfinite(values) & (values > 0)]
    if values.size:
        low, high = float(values.min()) / 30, float(values.max()) * 30
        axes[0].set_ylim(low, high)
        _decade_ticks(axes[0], low, high)
    first = flows[0]
    fig.suptitle(
        f"gradient norm across depth: {first.depth} layers × {first.width} units, "
        f"median and quartiles of {first.seeds} random networks"
    )
    handles, labels = axes[0].get_legend_handles_labels()
    if bounds:
        from matplotlib.lines import Line2D

        handles.append(Line2D([], [], color=COLORS["reference"], linestyle="--", linewidth=1.0))
        labels.append("bound Π sup|f′|·‖W‖₂ (same colour)")
    columns = min(len(labels), 3 if len(flows) > 1 else 1)  # one panel is too narrow for 3
    fig.legend(handles, labels, loc="outside lower center", ncol=columns)
    return fig


# -- integrated gradients ------------------------------------------------------------------

#: Inputs drawn one bar each; the rest of the attributions are added up into one bar.
ATTRIBUTION_BARS = 15


def _attribution_bars(ax, result) -> None:
    values, names = result.attributions, list(result.names)
    order = np.argsort(-np.abs(values), kind="stable")
    shown = order[:ATTRIBUTION_BARS]
    labels = [names[i] for i in shown]
    ig = [float(values[i]) for i in shown]
    gxi = [float(result.gradient_times_input[i]) for i in shown]
    if len(order) > ATTRIBUTION_BARS:
        rest = order[ATTRIBUTION_BARS:]
        labels.append(f"the other {len(rest)} inputs")
        ig.append(float(values[rest].sum()))
        gxi.append(float(result.gradient_times_input[rest].sum()))
    y = np.arange(len(labels))[::-1]
    colors = [PALETTE[0] if v >= 0 else PALETTE[1] for v in ig]
    bars = ax.barh(y, ig, color=colors, alpha=0.85, label="integrated gradients")
    for bar in bars:
        bar.set_gid("attribution")
    (marks,) = ax.plot(
        gxi,
        y,
        linestyle="none",
        marker="D",
        markersize=4,
        color=COLORS["zero"],
        label="gradient × input",
    )
    marks.set_gid("gradient-times-input")
    ax.set_yticks(y, labels)
    ax.axvline(0.0, color=COLORS["zero"], linewidth=0.8)
    ax.set_xlabel("attribution (share of f(x) − f(x′))")
    ax.set_title(
        f"Σ IG = {result.sum:.6g},  f(x) − f(x′) = {result.difference:.6g}\n"
        f"completeness error {result.completeness_error:.2g}"
    )
    ax.grid(True, axis="x")
    ax.grid(False, axis="y")
    _legend_below(ax, ncol=2)


def _attribution_convergence(ax, result) -> None:
    from ..numeric.attribution import THEORY

    study = result.study
    steps = np.asarray(study.steps, dtype=float)
    colors = {**_RULE_COLORS, "gauss_legendre": PALETTE[4]}
    for method, errors in study.errors.items():
        errors = np.where(np.asarray(errors) > 0, errors, np.nan)
        order = study.orders.get(method)
        shown = "exact" if order is None else (order if isinstance(order, str) else f"{order:.2f}")
        (line,) = ax.loglog(
            steps,
            errors,
            marker="o",
            markersize=3.5,
            color=colors[method],
            label=f"{method.replace('_', '-')}: order {shown} (theory {THEORY[method]})",
        )
        line.set_gid(f"completeness-{method}")
    finite = [np.asarray(e)[np.asarray(e) > 0] for e in study.errors.values()]
    top = max((float(e[0]) for e in finite if e.size), default=1.0)
    for slope, style in ((1, "--"), (2, ":")):
        (line,) = ax.loglog(
            steps,
            top * 1.8 * (steps / steps[0]) ** (-slope),
            color=COLORS["reference"],
            linestyle=style,
            linewidth=1.2,
            label=f"slope −{slope}",
        )
        line.set_gid(f"reference-{slope}")
    ax.axhline(study.floor, color=COLORS["kink"], linestyle="-.", linewidth=0.8)
    ax.annotate(
        "rounding floor",
        xy=(steps[0], study.floor),
        xytext=(2, 3),
        textcoords="offset points",
        fontsize=8,
        color=COLORS["kink"],
    )
    if result.method != "exact" and abs(result.completeness_error) > 0:
        _star(
            ax,
            result.steps,
            abs(result.completeness_error),
            f"this result ({result.method}, {result.steps} steps)",
        )
    ax.set_xscale("log", base=2)
    ax.set_xlabel("steps")
    ax.set_ylabel("|Σ IG − (f(x) − f(x′))|")
    ax.set_title("completeness error of each rule")
    _legend_below(ax, ncol=1)
    ax.grid(True, which="major")


@_styled
def plot_attribution(result) -> Figure:
    """Integrated gradients as bars (gradient × input as diamonds), and the completeness
    error of the five rules against the number of steps, log-log.

    Examples
    --------
    >>> from symcalc.numeric.attribution import integrated_gradients
    >>> fig = plot_attribution(integrated_gradients("x*y*sin(x + y)", at=[1, 2], method="left"))
    >>> sorted(line.get_gid() for line in fig.axes[1].lines if line.get_gid())[:3]
    ['completeness-gauss_legendre', 'completeness-left', 'completeness-midpoint']
    """
    rows = min(len(result.names), ATTRIBUTION_BARS + 1)
    fig, (bars, convergence) = _figure(1, 2, panel=(5.2, max(6.0, 2.4 + 0.28 * rows)))
    _attribution_bars(bars, result)
    _attribution_convergence(convergence, result)
    how = "exact" if result.method == "exact" else f"{result.method}, {result.steps} steps"
    fig.suptitle(f"integrated gradients of {result.input} ({how})")
    return fig
