"""
A derivation, step by step
==========================

`symcalc.derive` returns the derivative together with the tree of rules that
produced it: each step names its rule (chain, product, quotient, ...) and shows the
pieces it needs, which are derived in the steps below it. Printed as text or as a
LaTeX ``align*`` block, it reads like a worked example. This example derives the
sigmoid (a chain rule whose outer function is 1/u, then the textbook form
σ(1 − σ)), and then x·σ(x), whose product rule is drawn term by term: the two terms
u′v and uv′, their sum, and a finite-difference check that the sum is the derivative.
"""

# %%
# The sigmoid: chain rule, then the classic form
# ----------------------------------------------
# The last step rewrites SymPy's result into the textbook identity σ' = σ(1 − σ),
# which symcalc's tests prove equal rather than trust.
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

import symcalc
from symcalc.present.files import save_figure
from symcalc.present.plotting import COLORS, PALETTE, STYLE

print(symcalc.derive("sigmoid").to_text(steps=True))
print()
print(symcalc.derive("sigmoid").to_latex())

# %%
# The product rule for x·σ(x)
# ---------------------------
# Every step is also a record (rule, expression, result, LaTeX), here drawn as
# matplotlib math text above the curves.
silu = symcalc.derive("x*sigmoid(x)")
print(silu.to_text(steps=True))
records = silu.to_dict()["steps"]

f = symcalc.kernel("x*sigmoid(x)")
derivative = symcalc.kernel("x*sigmoid(x)", order=1)
first_term = symcalc.kernel("sigmoid(x)")  # u'v with u = x, v = σ(x)
second_term = symcalc.kernel("x*sigmoid(x)*(1 - sigmoid(x))")  # uv'

x = np.linspace(-6.0, 4.0, 401)
h = 1e-5
finite_differences = (f(x + h) - f(x - h)) / (2 * h)
error = np.max(np.abs(finite_differences - derivative(x)))
print(f"largest |central difference - symbolic derivative| on [-6, 4]: {error:.1e}")

with rc_context(STYLE):
    figure = Figure(figsize=(10.0, 6.6), layout="constrained")
    grid = figure.add_gridspec(2, 2, height_ratios=[1.0, 2.4])
    text = figure.add_subplot(grid[0, :])
    text.set_axis_off()
    for row, record in enumerate(records):
        y = 1.0 - (row + 0.5) / len(records)
        text.text(0.0, y, record["rule"], ha="left", va="center", fontsize=11, color="#444444")
        text.text(0.16, y, f"${record['latex']}$", ha="left", va="center", fontsize=12)
    text.set_title("the derivation symcalc.derive returns for f(x) = x·σ(x)", loc="left")

    left = figure.add_subplot(grid[1, 0])
    left.plot(x, f(x), color=COLORS["function"], label="f(x) = x·σ(x)")
    left.plot(x, derivative(x), color=COLORS["derivative"], label="f′(x), symbolic")
    left.axhline(0.0, color=COLORS["zero"], linewidth=0.8)
    left.axvline(0.0, color=COLORS["zero"], linewidth=0.8)
    left.set_xlabel("x")
    left.set_xlim(x[0], x[-1])
    left.set_title("f and its derivative")
    left.legend(loc="upper left")

    right = figure.add_subplot(grid[1, 1])
    right.plot(x, first_term(x), color=PALETTE[2], linestyle="--", label="u′v = σ(x)")
    right.plot(x, second_term(x), color=PALETTE[3], linestyle="--", label="uv′ = x·σ(x)(1 − σ(x))")
    right.plot(x, first_term(x) + second_term(x), color=COLORS["derivative"], label="u′v + uv′")
    every = slice(None, None, 16)
    right.plot(
        x[every],
        finite_differences[every],
        linestyle="none",
        marker="o",
        markersize=4.5,
        markerfacecolor="white",
        color="#222222",
        label=f"central differences (max gap {error:.0e})",
    )
    right.axhline(0.0, color=COLORS["zero"], linewidth=0.8)
    right.axvline(0.0, color=COLORS["zero"], linewidth=0.8)
    right.set_xlabel("x")
    right.set_xlim(x[0], x[-1])
    right.set_title("the product rule, term by term")
    handles, labels = right.get_legend_handles_labels()
    figure.legend(handles, labels, loc="outside lower right", ncol=4)

save_figure(figure, Path(__file__).with_name("plot_02_derivation_steps.png"), force=True)
