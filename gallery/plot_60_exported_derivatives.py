"""
Derived, stable functions inside JAX and PyTorch
================================================

A new activation or loss in JAX or PyTorch usually means a hand-written
``jax.custom_jvp`` or ``torch.autograd.Function``, and tails that go wrong.
``symcalc.to_jax`` and ``symcalc.to_torch`` give the function with symcalc's own
symbolic derivatives as the ones the framework takes, evaluated in the same stable forms
as the NumPy kernels. This example measures their tails against the frameworks'
built-ins with mpmath as referee, then trains a tiny network in JAX whose activation is
an expression typed as text, and prints the module ``symcalc export`` would write.
"""

# %%
# The referee
# -----------
# Each derivative written here once more, independently of symcalc, in forms that do not
# cancel (1 + tanh u as 2σ(2u), sech² as 1/cosh²), and evaluated by mpmath with 50
# digits: σ′ = σ(x)σ(−x), tanh′ = sech²x, the exact gelu′ = Φ(x) + xφ(x) and the
# tanh-approximated gelu′ of x/2·(1 + tanh u) with u = √(2/π)(x + 0.044715x³).
from pathlib import Path

import jax

jax.config.update("jax_enable_x64", True)  # float64 for the tails; before any array

import jax.numpy as jnp  # noqa: E402 - after the 64-bit switch
import mpmath  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from matplotlib import rc_context  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

import symcalc  # noqa: E402
from symcalc.present.files import save_figure  # noqa: E402
from symcalc.present.plotting import COLORS, STYLE  # noqa: E402

HERE = Path(__file__).resolve().parent
DIGITS = 50
FLOOR = 1e-18  # relative errors below are drawn at the floor
LOST = 1e3  # where a result is 0 or not finite although the truth is not: every digit lost


def gelu_tanh_derivative(x):
    c = mpmath.sqrt(2 / mpmath.pi)
    u = c * (x + mpmath.mpf("0.044715") * x**3)
    du = c * (1 + 3 * mpmath.mpf("0.044715") * x**2)
    return 1 / (1 + mpmath.exp(-2 * u)) + x / 2 * du / mpmath.cosh(u) ** 2


EXACT = {
    "sigmoid": lambda x: 1 / (4 * mpmath.cosh(x / 2) ** 2),
    "tanh": lambda x: 1 / mpmath.cosh(x) ** 2,
    "gelu": lambda x: mpmath.erfc(-x / mpmath.sqrt(2)) / 2 + x * mpmath.npdf(x),
    "gelu_tanh": gelu_tanh_derivative,
}


def truth(name: str, x: np.ndarray) -> np.ndarray:
    """The first derivative of ``name`` at ``x``, by mpmath with `DIGITS` digits."""
    with mpmath.workdps(DIGITS):
        return np.array([float(EXACT[name](mpmath.mpf(float(v)))) for v in x])


def relative_error(got: np.ndarray, exact: np.ndarray) -> np.ndarray:
    """|got - exact| / |exact|; ``LOST`` where got is 0, inf or NaN and exact is not."""
    got = np.asarray(got, dtype=float)
    with np.errstate(all="ignore"):
        error = np.abs(got - exact) / np.abs(exact)
    error[~np.isfinite(got) | ((got == 0) & (exact != 0))] = LOST
    return np.clip(error, FLOOR, LOST)


def binned_maximum(x: np.ndarray, error: np.ndarray, size: int = 8):
    """The largest error of each run of ``size`` neighbouring points, at the run's middle."""
    runs = len(x) // size
    middles = x[: runs * size].reshape(runs, size).mean(axis=1)
    return middles, error[: runs * size].reshape(runs, size).max(axis=1)


# %%
# The tails
# ---------
# Four derivatives where a framework's own gradient loses digits, in float64:
# σ′ and tanh′ from ``jax.grad`` of ``jax.nn.sigmoid`` and ``jnp.tanh`` (exactly 0 from
# x = 36.7 and 19.1), the exact gelu′ from PyTorch autograd (1.4 % off at −8.38, 0
# from −38.6) and JAX's tanh-approximated gelu′ (84× off at −7.34). The exported
# functions' derivatives are symcalc's, evaluated in stable forms.
def jax_grad(function, x: np.ndarray) -> np.ndarray:
    return np.asarray(jax.jit(jax.vmap(jax.grad(function)))(jnp.asarray(x)))


def torch_grad(function, x: np.ndarray) -> np.ndarray:
    t = torch.tensor(x, dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(function(t).sum(), t)
    return grad.numpy()


CASES = [
    ("σ′(x), JAX", "sigmoid", np.linspace(0.0, 700.0, 1401), "jax", jax.nn.sigmoid),
    ("tanh′(x), JAX", "tanh", np.linspace(0.0, 350.0, 1401), "jax", jnp.tanh),
    ("exact gelu′(x), PyTorch", "gelu", np.linspace(-37.5, 0.0, 1501), "torch", F.gelu),
    (
        "tanh-approximated gelu′(x), JAX",
        "gelu_tanh",
        np.linspace(-20.0, 0.0, 1601),
        "jax",
        lambda x: jax.nn.gelu(x, approximate=True),
    ),
]

results = []
for title, name, x, framework, builtin in CASES:
    exact = truth(name, x)
    if framework == "jax":
        theirs, ours = jax_grad(builtin, x), jax_grad(symcalc.to_jax(name), x)
    else:
        theirs, ours = torch_grad(builtin, x), torch_grad(symcalc.to_torch(name), x)
    theirs_error, ours_error = relative_error(theirs, exact), relative_error(ours, exact)
    results.append((title, framework, x, theirs_error, ours_error))
    print(
        f"{title:>32}: built-in worst {theirs_error.max():.1e}, "
        f"exported worst {ours_error.max():.1e}"
    )

# %%
# The picture
# -----------
# Relative error against mpmath over x (each step is the largest error among 8
# neighbouring points). The built-ins lose every digit in the tails
# (drawn in the grey band where they return 0); the exported derivatives stay within
# the kernel promise, 1e-12 relative, across the whole range shown. The error left in
# the gelu tails is the rounding of the exponent, magnified by its size: x²/2 = 703 at
# x = −37.5 is exact to 1.1e-16 relative, so exp(−x²/2) is to about 703 × 1.1e-16.
with rc_context(STYLE):
    figure = Figure(figsize=(11.0, 7.0), layout="constrained")
    axes = figure.subplots(2, 2)
    for ax, (title, framework, x, theirs_error, ours_error) in zip(axes.flat, results, strict=True):
        builtin = "jax.grad of jax.nn" if framework == "jax" else "torch.autograd, built-in"
        exported = f"symcalc.to_{framework}"
        for error, colour, label in (
            (theirs_error, COLORS["derivative"], builtin),
            (ours_error, COLORS["function"], exported),
        ):
            ax.step(*binned_maximum(x, error), where="mid", color=colour, label=label)
        ax.axhspan(30.0, 3e4, color="#f2f2f2", zorder=0)
        ax.axhline(
            np.finfo(float).eps,
            color=COLORS["reference"],
            linestyle=":",
            linewidth=1.2,
            label="machine ε = 2.2e-16",
        )
        ax.set_yscale("log")
        ax.set_ylim(FLOOR / 3, 3e4)
        ax.set_yticks([1e-18, 1e-12, 1e-6, 1e0, LOST])
        ax.set_yticklabels(["≤ 1e-18", "1e-12", "1e-6", "1", "0 / inf"])
        ax.minorticks_off()
        ax.set_xlim(x[0], x[-1])
        ax.set_title(title)
        ax.set_xlabel("x")
        ax.set_ylabel("relative error")
        ax.legend(loc="center left" if x[0] >= 0 else "center right")
    figure.suptitle(f"float64 derivatives against mpmath with {DIGITS} digits")

save_figure(figure, HERE / "plot_60_exported_derivatives_tails.png", force=True)

# %%
# A custom activation, trained in JAX
# -----------------------------------
# An activation typed as text: x·tanh(log(1 + eˣ)), mish as written, whose eˣ
# overflows float32 from x = 88.7. ``to_jax`` makes it stable and gives it symcalc's
# derivatives; the loss is ``bce_with_logits``, exported too (prediction first, the
# target after it). A 2-16-16-1 network learns two interleaved half circles with plain
# gradient descent in float32, under ``jax.jit``.
activation = symcalc.to_jax("x*tanh(log(1 + exp(x)))")
loss_function = symcalc.to_jax("bce_with_logits")
print(activation.to_text())

rng = np.random.default_rng(0)
angles = rng.uniform(0.0, np.pi, 200)
upper = np.column_stack([np.cos(angles[:100]), np.sin(angles[:100])])
lower = np.column_stack([1.0 - np.cos(angles[100:]), 0.5 - np.sin(angles[100:])])
X = jnp.asarray(np.vstack([upper, lower]) + rng.normal(0.0, 0.1, (200, 2)), jnp.float32)
y = jnp.asarray(np.repeat([0.0, 1.0], 100), jnp.float32)


def layer(key, n_in: int, n_out: int) -> dict:
    w = jax.random.normal(key, (n_in, n_out), jnp.float32) * np.sqrt(2.0 / n_in)
    return {"w": w.astype(jnp.float32), "b": jnp.zeros(n_out, jnp.float32)}


keys = jax.random.split(jax.random.PRNGKey(0), 3)
params = [layer(keys[0], 2, 16), layer(keys[1], 16, 16), layer(keys[2], 16, 1)]


def logits(params, X):
    h = X
    for p in params[:-1]:
        h = activation(h @ p["w"] + p["b"])
    return (h @ params[-1]["w"] + params[-1]["b"])[:, 0]


def loss(params, X, y):
    return jnp.mean(loss_function(logits(params, X), y))


@jax.jit
def step(params, X, y):
    value, grads = jax.value_and_grad(loss)(params, X, y)
    return value, jax.tree_util.tree_map(lambda p, g: p - 0.5 * g, params, grads)


losses = []
for _ in range(300):
    value, params = step(params, X, y)
    losses.append(float(value))
predict = jax.jit(logits)  # one compiled program, not one per operation and shape
accuracy = float(jnp.mean((predict(params, X) > 0) == (y > 0.5)))
print(f"loss {losses[0]:.3f} -> {losses[-1]:.4f}, training accuracy {accuracy:.3f}")
print(f"activation at 100 in float32: {float(jax.jit(activation)(jnp.float32(100.0)))}")

with rc_context(STYLE):
    figure = Figure(figsize=(11.0, 4.2), layout="constrained")
    left, right = figure.subplots(1, 2)
    left.plot(losses, color=COLORS["function"])
    left.set_yscale("log")
    left.set_xlabel("gradient step")
    left.set_ylabel("mean binary cross-entropy")
    left.set_title("training loss (float32, jax.jit)")
    grid = np.linspace(-1.6, 2.6, 200)
    gx, gy = np.meshgrid(grid, np.linspace(-1.1, 1.6, 150))
    points = jnp.asarray(np.column_stack([gx.ravel(), gy.ravel()]), jnp.float32)
    probability = np.asarray(jax.nn.sigmoid(predict(params, points))).reshape(gx.shape)
    right.contourf(gx, gy, probability, levels=[0.0, 0.5, 1.0], colors=["#dcecf7", "#f7e1d3"])
    right.contour(gx, gy, probability, levels=[0.5], colors=COLORS["zero"], linewidths=1.0)
    X_np, y_np = np.asarray(X), np.asarray(y)
    for label, colour in ((0.0, COLORS["function"]), (1.0, COLORS["derivative"])):
        chosen = y_np == label
        right.scatter(X_np[chosen, 0], X_np[chosen, 1], s=10, color=colour, label=f"y = {label:g}")
    right.legend(loc="lower left")
    right.set_aspect("equal")
    right.set_title(f"decision boundary, training accuracy {accuracy:.1%}")
    figure.suptitle("a 2-16-16-1 network with the activation x·tanh(log(1 + eˣ)) from to_jax")

save_figure(figure, HERE / "plot_60_exported_derivatives_training.png", force=True)

# %%
# The same as a file
# ------------------
# ``symcalc export NAME --to jax|torch|numpy -o FILE`` writes a module that imports only
# its framework: the function, its derivatives as code, and the derivation in the
# docstring (``symcalc.export_module`` from Python). Its first lines:
module = symcalc.export_module("x*tanh(log(1 + exp(x)))", to="torch", order_max=1)
print("\n".join(module.source.splitlines()[:12]))
