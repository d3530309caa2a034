"""
A function beside its derivatives
=================================

`symcalc.plot_function` draws f next to f' (and f''), each panel titled with its
formula, derived symbolically. A tangent line at a chosen point has the slope that
the derivative panel marks; a kink (where f' jumps) is marked on every panel, and
the derivative's one-sided limits there are open circles, the value symcalc takes
by its convention a filled dot. This example draws the sigmoid with a tangent, the
kinks of hard_swish with both derivatives stacked on a shared x axis, and a
function typed as text, mish written out by hand.
"""

# %%
# The sigmoid and its tangent at x = 1.5
# --------------------------------------
# The tangent's slope, σ'(1.5) = σ(1.5)(1 − σ(1.5)) ≈ 0.149, is the height of the
# dot on the derivative panel.
from pathlib import Path

import symcalc
from symcalc.present.files import save_figure

sigmoid = symcalc.plot_function("sigmoid", tangent=1.5)
save_figure(
    sigmoid, Path(__file__).with_name("plot_01_function_and_derivative_sigmoid.png"), force=True
)
print(symcalc.derive("sigmoid").to_text())

# %%
# Kinks: hard_swish, stacked
# --------------------------
# hard_swish(x) = x·relu6(x + 3)/6 has kinks at x = −3 and x = 3: its derivative
# jumps from 0 to −1/2 at −3 and from 3/2 to 1 at 3, and the value it takes there
# (filled dots) follows the branch conditions. ``layout="stacked"`` lines the panels
# up on one x axis, so each jump sits under its kink.
hard_swish = symcalc.plot_function("hard_swish", order=2, layout="stacked")
save_figure(
    hard_swish,
    Path(__file__).with_name("plot_01_function_and_derivative_kinks.png"),
    force=True,
)
print(symcalc.derive("hard_swish").to_text())

# %%
# Any expression, typed as text
# -----------------------------
# Text goes through symcalc's safe parser (never ``eval``); the range is chosen here.
typed = symcalc.plot_function("x*tanh(log(1 + exp(x)))", x_range=(-5, 3), tangent=-1)
save_figure(typed, Path(__file__).with_name("plot_01_function_and_derivative_text.png"), force=True)
print(symcalc.derive("x*tanh(log(1 + exp(x)))").to_text())
