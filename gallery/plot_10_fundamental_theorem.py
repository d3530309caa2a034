"""
The fundamental theorem of calculus, checked
============================================

The area under f from a to x, A(x) = ∫ₐˣ f(t) dt, grows at the rate f(x):
A′ = f. `symcalc.check_ftc` checks this two independent ways: symbolically, by
differentiating a closed-form antiderivative F (found step by step, within a time
budget) and simplifying F′ − f to 0; and numerically, always, by accumulating the
area with adaptive quadrature and differentiating it. The picture of
`symcalc.plot_ftc` shows the same thing: the bars of a Riemann sum under f add up
to the area, and the slope of A at b is f(b). Here for relu (a kink, integrated
piece by piece), silu (no closed form: only the numeric check applies), and a wrong
antiderivative, caught.
"""

# %%
# relu: a piecewise antiderivative
# --------------------------------
# F is integrated piece by piece, with the constants chosen so that F is continuous
# at the kink; both checks hold.
from pathlib import Path

import symcalc
from symcalc.present.files import save_figure

relu = symcalc.check_ftc("relu")
print(relu.antiderivative.to_text(steps=True))
print(relu.to_text())
save_figure(
    symcalc.plot_ftc(relu),
    Path(__file__).with_name("plot_10_fundamental_theorem_relu.png"),
    force=True,
)

# %%
# silu: no closed form, the numeric check still holds
# ---------------------------------------------------
# ∫ x·σ(x) dx needs the dilogarithm; SymPy finds no closed form, which is a normal
# answer. The accumulated area is computed by quadrature and its slope is still silu.
silu = symcalc.check_ftc("silu")
print(silu.to_text())
save_figure(
    symcalc.plot_ftc(silu, n=16),
    Path(__file__).with_name("plot_10_fundamental_theorem_silu.png"),
    force=True,
)

# %%
# A wrong antiderivative is caught
# --------------------------------
# log(cosh(x)) is an antiderivative of tanh; log(cosh(x)) + x/10 is not, and both
# checks say so (the numeric one by how far A drifts from F(x) − F(a)).
wrong = symcalc.check_ftc("tanh", antiderivative="log(cosh(x)) + x/10")
print(wrong.to_text())
right = symcalc.check_ftc("tanh", antiderivative="log(cosh(x))")
print(right.to_text())
