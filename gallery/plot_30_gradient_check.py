"""
Gradient checks: the step size, and a wrong gradient caught
===========================================================

A numeric derivative (f(x + h) − f(x − h))/2h is only as good as its step h: too
large and the truncation error ~h² dominates, too small and rounding error ~ε/h
takes over, so the error against h is a V. `symcalc.gradcheck` compares a claimed
derivative (by default symcalc's own symbolic one) with numeric derivatives at many
points; `GradientCheck.study_steps` measures that V at the worst point, and
`symcalc.plot_step_errors` draws it for forward, central, Richardson and
complex-step differences. Then a derivative with a sign slip, σ(1 + σ) for the
sigmoid's σ(1 − σ), is caught.
"""

# %%
# The V-shaped error against the step size
# ----------------------------------------
# For tanh, forward differences do best near h ≈ √ε ≈ 1e-8 and central ones near
# ε^(1/3) ≈ 6e-6; Richardson extrapolation reaches 1e-15 with a large step; the
# complex step has no cancellation at all, so its error falls like h² until it is
# exactly 0 (left off the log scale). Left of each V, rounding error ~ε/h rules.
from pathlib import Path

import numpy as np
from matplotlib import rc_context
from matplotlib.figure import Figure

import symcalc
from symcalc.present.files import save_figure
from symcalc.present.plotting import COLORS, STYLE

check = symcalc.gradcheck("tanh", method="richardson")
print(check.to_text())
study = check.study_steps()
print(study.to_text())
save_figure(
    symcalc.plot_step_errors(study),
    Path(__file__).with_name("plot_30_gradient_check_steps.png"),
    force=True,
)

# %%
# A wrong derivative is caught
# ----------------------------
# The claim is text, read by symcalc's safe parser. At every sampled point the
# claim is compared with the central difference of the sigmoid itself; the relative
# error is far above the tolerance everywhere, so the check fails (and
# ``symcalc gradcheck`` exits with status 1).
claim = "sigmoid(x)*(1 + sigmoid(x))"
wrong = symcalc.gradcheck("sigmoid", derivative=claim)
print(wrong.to_text())
right = symcalc.gradcheck("sigmoid", derivative="sigmoid(x)*(1 - sigmoid(x))")
print(right.to_text())

x = np.linspace(-6.0, 6.0, 401)
claimed_curve = symcalc.kernel(claim)(x)
true_curve = symcalc.kernel("sigmoid", order=1)(x)
order = np.argsort(wrong.points[:, 0])
points = wrong.points[order, 0]

with rc_context(STYLE):
    figure = Figure(figsize=(10.0, 4.2), layout="constrained")
    left, right_axes = figure.subplots(1, 2)
    left.plot(x, claimed_curve, color=COLORS["derivative"], label="claimed: σ(x)(1 + σ(x))")
    left.plot(x, true_curve, color=COLORS["function"], label="symcalc: σ(x)(1 − σ(x))")
    left.plot(
        points,
        wrong.numeric[order, 0],
        linestyle="none",
        marker="o",
        markersize=5,
        markerfacecolor="white",
        color="#222222",
        label="central differences of σ",
    )
    left.set_xlabel("x")
    left.set_xlim(x[0], x[-1])
    left.set_title("the claim against numeric derivatives")
    left.legend(loc="upper left")

    right_axes.semilogy(
        points,
        wrong.relative_errors[order, 0],
        marker="o",
        markersize=5,
        color=COLORS["derivative"],
        label="claimed σ(1 + σ): FAILED",
    )
    right_axes.semilogy(
        right.points[np.argsort(right.points[:, 0]), 0],
        np.maximum(right.relative_errors[np.argsort(right.points[:, 0]), 0], 1e-17),
        marker="o",
        markersize=5,
        color=COLORS["function"],
        label="σ(1 − σ): passed",
    )
    right_axes.axhline(
        wrong.tolerance,
        color=COLORS["reference"],
        linestyle="--",
        linewidth=1.2,
        label=f"tolerance {wrong.tolerance:g}",
    )
    right_axes.set_xlabel("x")
    right_axes.set_xlim(x[0], x[-1])
    right_axes.set_ylabel("relative error at each point")
    right_axes.set_title(f"{wrong.points.shape[0]} sampled points")
    right_axes.legend(loc="center left")
    figure.suptitle("gradcheck catches a sign slip in the sigmoid's derivative")

save_figure(figure, Path(__file__).with_name("plot_30_gradient_check_caught.png"), force=True)
