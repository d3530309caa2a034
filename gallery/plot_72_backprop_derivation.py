"""
Backpropagation, derived and trained
====================================

`symcalc.backprop` derives the backward pass of a dense network the way a textbook
writes it: the forward pass z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾, a⁽ˡ⁾ = f(z⁽ˡ⁾); f′ in its classic
form (1 − tanh² = 1 − a²); the output error δ⁽ᴸ⁾ = a⁽ᴸ⁾ − y, where the softmax Jacobian
cancels against the cross-entropy; the recursion δ⁽ˡ⁾ = (W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾); and
the gradients ∂J/∂W⁽ˡ⁾ = δ⁽ˡ⁾a⁽ˡ⁻¹⁾ᵀ. Every claim is checked against SymPy's derivative
of the scalar loss on a small network of the same shape. `symcalc.descend` then trains
networks of one, two and three hidden layers on the two moons with that backward pass,
evaluated by symcalc's stable kernels. This script writes the derivation as a Markdown
page (text and LaTeX) and a figure: the derivation, the training curves and the decision
regions of the deepest network.
"""

# %%
# The derivation, verified
# ------------------------
# A network with hidden layers of 16 and 8 tanh units and a softmax output trained by
# categorical cross-entropy. The text form prints each step with its reason; the LaTeX
# form is one ``align*`` environment that compiles with pdflatex.
from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

import symcalc
from symcalc.present.files import save_figure, write_atomic

HERE = Path(__file__).resolve().parent

derivation = symcalc.backprop(hidden=(16, 8), activation="tanh")
print(derivation.to_text())
page = "\n".join(
    [
        "# Backpropagation through n → 16 → 8 → K, derived by `symcalc backprop`",
        "",
        "Written by [`plot_72_backprop_derivation.py`](plot_72_backprop_derivation.py); the "
        "same as `symcalc backprop --hidden 16,8 --activation tanh`.",
        "",
        "```text",
        derivation.to_text(),
        "```",
        "",
        "As LaTeX (`--format latex`), rendered:",
        "",
        "```math",
        derivation.to_latex().replace("align*", "aligned").replace(r"\tag*", r"\qquad\text"),
        "```",
        "",
    ]
)
write_atomic(HERE / "plot_72_backprop_derivation.md", page, force=True)

# %%
# Training networks of depth 1, 2 and 3
# -------------------------------------
# The same defaults for each (tanh units, Xavier initialization seeded by 0, L-BFGS on
# the derived gradient); each stops when its gradient has fallen to 10⁻⁸ of its start.
data = symcalc.load_data("synthetic:moons")
fits = {hidden: symcalc.descend("mlp", data, hidden=hidden) for hidden in ((8,), (8, 8), (8, 8, 8))}
for hidden, fit in fits.items():
    print(
        f"hidden {hidden}: {fit.iterations} iterations, J = {fit.loss:.3g}, "
        f"training accuracy {fit.training_accuracy:.3f}"
    )

# %%
# The figure
# ----------
# Left: the main steps of the derivation (matplotlib's mathtext). Middle: J against the
# iteration for each depth, on a log scale. Right: the classes the three-layer network
# predicts over the plane, with the training points.
STEPS = [
    (r"$z^{(l)} = W^{(l)} a^{(l-1)} + b^{(l)},\quad a^{(l)} = \tanh(z^{(l)})$", "forward"),
    (r"$J = -\sum_k y_k \log a^{(L)}_k,\quad a^{(L)} = \mathrm{softmax}(z^{(L)})$", "loss"),
    (r"$\tanh'(z) = 1 - \tanh^2 z = 1 - a^2$", "classic form"),
    (
        r"$\delta^{(L)}_c = \sum_k \left(-\frac{y_k}{a_k}\right) a_k (\delta_{kc} - a_c)"
        r" = a^{(L)}_c - y_c$",
        "the $a_k$ cancel",
    ),
    (
        r"$\delta^{(l)} = (W^{(l+1)\top} \delta^{(l+1)}) \odot (1 - a^{(l)} \odot a^{(l)})$",
        "chain rule",
    ),
    (r"$\partial J / \partial W^{(l)} = \delta^{(l)} a^{(l-1)\top}$", "outer product"),
    (r"$\partial J / \partial b^{(l)} = \delta^{(l)}$", ""),
]
figure = Figure(figsize=(15.5, 5.2), layout="constrained")
text_axes, curve_axes, region_axes = figure.subplots(
    1, 3, gridspec_kw={"width_ratios": [1.55, 1, 1]}
)
text_axes.set_axis_off()
text_axes.set_title("backpropagation, derived (symcalc.backprop)", loc="left")
for k, (formula, why) in enumerate(STEPS):
    y = 0.91 - k * 0.13
    text_axes.text(0.0, y, formula, fontsize=12.5, transform=text_axes.transAxes, va="center")
    if why:
        text_axes.text(
            0.97, y, why, fontsize=9.5, color="0.4", ha="right", va="center",
            transform=text_axes.transAxes,
        )  # fmt: skip
checked = sum(s.error is not None for s in derivation.steps)
text_axes.text(
    0.0,
    0.0,
    f"{checked} claims checked against SymPy on a 2 → 2 → 2 → 3 network: "
    + ("all hold" if derivation.verified else "FAILED"),
    fontsize=9.5,
    color="tab:green" if derivation.verified else "tab:red",
    transform=text_axes.transAxes,
)

for hidden, fit in fits.items():
    widths = ", ".join(str(h) for h in hidden)
    label = f"{len(hidden)} hidden layer{'s' if len(hidden) > 1 else ''} ({widths})"
    curve_axes.semilogy(fit.history.loss, label=f"{label}: {fit.training_accuracy:.0%}")
curve_axes.set_xlabel("iteration (L-BFGS)")
curve_axes.set_ylabel("J(θ), mean cross-entropy")
curve_axes.set_title("training on synthetic:moons (accuracy)")
curve_axes.legend(fontsize=9)
curve_axes.grid(True, which="major", alpha=0.3)

deep = fits[(8, 8, 8)]
X, labels = data.X, data.y
span = [(X[:, j].min() - 0.5, X[:, j].max() + 0.5) for j in range(2)]
u, v = np.meshgrid(np.linspace(*span[0], 300), np.linspace(*span[1], 300))
grid = np.column_stack([u.ravel(), v.ravel()])
classes = list(deep.objective.head.classes)
predicted = np.array([classes.index(c) for c in deep.predict(grid)]).reshape(u.shape)
region_axes.contourf(u, v, predicted, levels=[-0.5, 0.5, 1.5], colors=["#c6dbef", "#fdd0a2"])
truth = np.array([classes.index(f"{c:g}") for c in labels])
for code, color in ((0, "tab:blue"), (1, "tab:orange")):
    chosen = truth == code
    region_axes.scatter(
        X[chosen, 0], X[chosen, 1], s=10, color=color, label=f"class {classes[code]}"
    )
region_axes.set_title("classes the 3-layer network predicts")
region_axes.set_xlabel(data.feature_names[0])
region_axes.set_ylabel(data.feature_names[1])
region_axes.legend(fontsize=9, loc="lower left")
save_figure(figure, HERE / "plot_72_backprop_derivation.png", force=True)
