"""
Riemann sums and their order of convergence
===========================================

A Riemann sum adds up n bars under f. `symcalc.riemann_sum` computes the left,
right, midpoint and trapezoid sums, and `symcalc.riemann_convergence` measures their
error for n = 2, 4, ..., 1024 against the integral by adaptive quadrature, with the
observed order p of error ≈ C·n^(−p): 1 for left and right sums, 2 for midpoint and
trapezoid when f is smooth. On a log-log plot the order is the slope. This example
shows softplus on [−2, 3], then the Gaussian on [−3, 3], where the left and right
sums converge like the trapezoid rule, because f(a) = f(b).
"""

# %%
# softplus on [−2, 3]
# -------------------
# Eight midpoint bars already come within 0.01 of the integral; each doubling of n
# divides the midpoint error by 4 and the left-sum error by 2.
from pathlib import Path

import symcalc
from symcalc.present.files import save_figure

bars = symcalc.riemann_sum("softplus", -2, 3, 8, rule="midpoint")
study = symcalc.riemann_convergence("softplus", -2, 3)
print(bars.to_text())
print(study.to_text())
save_figure(
    symcalc.plot_riemann_sum(bars, study),
    Path(__file__).with_name("plot_11_riemann_convergence_softplus.png"),
    force=True,
)

# %%
# The Gaussian on [−3, 3]: when f(a) = f(b)
# -----------------------------------------
# The left sum is the trapezoid sum plus (f(a) − f(b))·h/2, so when the ends match
# it converges with order 2 as well, and the left, right and trapezoid curves lie on
# top of each other. For small n the error falls faster still: the trapezoid rule is
# nearly exact for a function that fades out at both ends, until the small slopes
# f′(±3) = ∓6e⁻⁹ ≈ ∓7e-4 set the order-2 trend. The order is a property of f and
# [a, b], not of the rule alone.
gaussian = symcalc.riemann_convergence("gaussian", -3, 3)
print(gaussian.to_text())
save_figure(
    symcalc.plot_riemann_convergence(gaussian),
    Path(__file__).with_name("plot_11_riemann_convergence_gaussian.png"),
    force=True,
)
