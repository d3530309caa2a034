"""
Gradient descent and Newton's method on derivatives nobody wrote by hand
========================================================================

The textbook loop is θ ← θ − α∇J(θ). Here ∇J is never typed in: each model states
its objective J(θ) as a SymPy sum over the samples, SymPy's chain rule and symcalc's
derivative of the catalog loss give the gradient and the Hessian, and stable NumPy
kernels evaluate them for all samples at once. This example prints that derivation
for linear regression, races the first-order rules and Newton's method on a
two-parameter problem (the contour of J with each optimizer's path of θ), and compares
every optimizer's loss curve on two real data sets shipped with symcalc: diabetes
progression (regression, raw features) and breast cancer diagnosis (logistic
regression).
"""

# %%
# The derivation
# --------------
# J is the mean squared error plus an optional penalty (λ/2)‖w‖². The per-sample
# derivative 2(p − y) carries a 2 that the textbook loop leaves out: it descends J/2.
# The second derivative 2 makes the Hessian (2/m)·X̃ᵀX̃ + λ·diag(0, 1, ..., 1).
from pathlib import Path

import numpy as np

import symcalc
from symcalc.learn.descent import OPTIMIZERS
from symcalc.present.files import save_figure
from symcalc.present.plotting import plot_descent, plot_descent_paths

HERE = Path(__file__).resolve().parent

print(symcalc.make_model("linear").derivation().to_text())

# %%
# Two parameters: intercept and slope
# -----------------------------------
# With one feature θ = (b, w) and J can be drawn. The feature is not centred
# (x ~ N(2, 1)), so b and w are coupled and J is a long, narrow valley. Run in the raw
# coordinates (``precondition=False``, the textbook setting), plain gradient descent
# with its safe step 1/L crawls along the floor, momentum overshoots across it,
# Nesterov and the line search get there in fewer steps; Newton's method, which
# divides by the exact Hessian, lands on the minimum in one step.
rng = np.random.default_rng(7)
x = rng.normal(2.0, 1.0, 120)
y = 1.0 + 0.8 * x + 0.4 * rng.standard_normal(120)
data = symcalc.Dataset(x[:, None], y, ("x",), "y", source="x ~ N(2, 1), y = 1 + 0.8x + noise")

racers = ["gd", "momentum", "nesterov", "adam", "line-search", "newton"]
runs = [
    symcalc.descend("linear", data, optimizer=name, record_path=True, precondition=False)
    for name in racers
]
for run in runs:
    print(repr(run))
least_squares = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
print("least squares:", least_squares.round(6), " newton:", runs[-1].theta.round(6))
save_figure(plot_descent_paths(runs), HERE / "plot_50_gradient_descent_paths.png", force=True)

# %%
# Real data: diabetes progression, raw features
# ---------------------------------------------
# 442 patients, 10 measurements as recorded (ages near 50, cholesterol near 190, sex
# coded 1 and 2). Every optimizer works in standardized coordinates (a change of
# variables, no copy of X) and reports θ in the raw units; the first-order rules take
# the step 1/L from the Lipschitz bound of the gradient there. The loss is drawn as
# its distance to the best value reached, on a log scale. ``auto`` picks Newton.
diabetes = symcalc.load_data("builtin:diabetes")
full_batch = [name for name in OPTIMIZERS if name != "sgd"]
runs = [symcalc.descend("linear", diabetes, optimizer=name) for name in full_batch]
for run in runs:
    print(repr(run))
print(symcalc.descend("linear", diabetes).reason)
save_figure(plot_descent(runs), HERE / "plot_50_gradient_descent_diabetes.png", force=True)

# %%
# Real data: breast cancer diagnosis
# ----------------------------------
# Logistic regression on logits (binary cross-entropy with logits, stable for any
# |z|), with a small penalty λ = 0.01 because the two classes are almost separable
# (without it, symcalc stops and says the classes are separable).
cancer = symcalc.load_data("builtin:breast_cancer", standardize=True)
runs = [symcalc.descend("logistic", cancer, optimizer=name, l2=0.01) for name in full_batch]
for run in runs:
    accuracy = (run.predict(cancer.X) == cancer.y).mean()
    print(f"{run!r}  training accuracy {accuracy:.3f}")
save_figure(plot_descent(runs), HERE / "plot_50_gradient_descent_breast_cancer.png", force=True)
