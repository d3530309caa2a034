"""
Gradient descent on gradients nobody wrote by hand
==================================================

The textbook loop is θ ← θ − α∇J(θ). Here ∇J is never typed in: each model states
its objective J(θ) as a SymPy sum over the samples, SymPy's chain rule and symcalc's
derivative of the catalog loss give the gradient, and stable NumPy kernels evaluate
it for all samples at once. This example prints that derivation for linear
regression, races the five optimizers on a two-parameter problem (the contour of J
with each optimizer's path of θ), and compares their loss curves on two real data
sets shipped with symcalc: diabetes progression (regression) and breast cancer
diagnosis (logistic regression).
"""

# %%
# The derivation
# --------------
# J is the mean squared error plus an optional penalty (λ/2)‖w‖². The per-sample
# derivative 2(p − y) carries a 2 that the textbook loop leaves out: it descends J/2.
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
# (x ~ N(2, 1)), so b and w are coupled and J is a long, narrow valley: plain
# gradient descent with its safe step 1/L crawls along the floor, momentum
# overshoots across it, Nesterov and the line search get there in fewer steps.
rng = np.random.default_rng(7)
x = rng.normal(2.0, 1.0, 120)
y = 1.0 + 0.8 * x + 0.4 * rng.standard_normal(120)
data = symcalc.Dataset(x[:, None], y, ("x",), "y", source="x ~ N(2, 1), y = 1 + 0.8x + noise")

runs = [symcalc.descend("linear", data, optimizer=name, record_path=True) for name in OPTIMIZERS]
for run in runs:
    print(repr(run))
least_squares = np.linalg.lstsq(np.column_stack([np.ones_like(x), x]), y, rcond=None)[0]
print("least squares:", least_squares.round(6), " gd:", runs[0].theta.round(6))
save_figure(plot_descent_paths(runs), HERE / "plot_50_gradient_descent_paths.png", force=True)

# %%
# Real data: diabetes progression
# -------------------------------
# 442 patients, 10 standardized measurements. The step sizes come from the Lipschitz
# bound L = 2·λ_max(X̃ᵀX̃)/m of the gradient, so every optimizer converges untuned;
# the loss is drawn as its distance to the best value reached, on a log scale.
diabetes = symcalc.load_data("builtin:diabetes", standardize=True)
runs = [symcalc.descend("linear", diabetes, optimizer=name) for name in OPTIMIZERS]
for run in runs:
    print(repr(run))
save_figure(plot_descent(runs), HERE / "plot_50_gradient_descent_diabetes.png", force=True)

# %%
# Real data: breast cancer diagnosis
# ----------------------------------
# Logistic regression on logits (binary cross-entropy with logits, stable for any
# |z|), with a small penalty λ = 0.01 because the two classes are almost separable.
cancer = symcalc.load_data("builtin:breast_cancer", standardize=True)
runs = [symcalc.descend("logistic", cancer, optimizer=name, l2=0.01) for name in OPTIMIZERS]
for run in runs:
    accuracy = (run.predict(cancer.X) == cancer.y).mean()
    print(f"{run!r}  training accuracy {accuracy:.3f}")
save_figure(plot_descent(runs), HERE / "plot_50_gradient_descent_breast_cancer.png", force=True)
