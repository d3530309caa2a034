"""
Gradient descent on data that is never in memory at once
========================================================

The kernels symcalc derives are NumPy ufunc code, so dask can run them chunk by chunk
(``dask.array.map_blocks``). Here logistic regression is trained on a 500,000 × 10
dask array whose rows are generated block by block, only when a step needs them: the
memory held during training stays at a few blocks, and θ is the same as a fit of
the same data held in memory, to rounding. Needs the optional extra:
``pip install "symcalc[dask]"``.
"""

# %%
# A data set built chunk by chunk
# -------------------------------
# Each block of 50,000 rows comes from its own seeded generator, so the dask array
# is a recipe, not a copy: computing any block again gives the same numbers.
import tracemalloc
from pathlib import Path

import dask
import dask.array as da
import numpy as np

import symcalc
from symcalc.present.files import save_figure
from symcalc.present.plotting import plot_descent

HERE = Path(__file__).resolve().parent
ROWS, FEATURES, BLOCK = 500_000, 10, 50_000
TRUE_THETA = np.linspace(-1.0, 1.0, FEATURES + 1)  # intercept first


def block(index: int) -> np.ndarray:
    """Features and label of block ``index``: label ~ Bernoulli(σ(b + x·w))."""
    rng = np.random.default_rng(1000 + index)
    X = rng.standard_normal((BLOCK, FEATURES))
    p = 1.0 / (1.0 + np.exp(-(TRUE_THETA[0] + X @ TRUE_THETA[1:])))
    label = (rng.random(BLOCK) < p).astype(float)
    return np.column_stack([X, label])


blocks = [
    da.from_delayed(dask.delayed(block)(i), (BLOCK, FEATURES + 1), dtype=float)
    for i in range(ROWS // BLOCK)
]
table = da.concatenate(blocks)
X, y = table[:, :FEATURES], table[:, FEATURES]
print(
    f"X: {X.shape}, {X.numblocks[0]} blocks of {BLOCK} rows, "
    f"{X.nbytes / 2**20:.0f} MiB if held at once"
)

# %%
# Training on the dask array
# --------------------------
# ``auto`` picks Newton's method (11 parameters): each step asks dask for J, ∇J and the
# Hessian X̃ᵀ diag(σ(1 − σ)) X̃, each block reduced on its own (the logit, the loss and
# derivative kernels, the block's Gram matrix) and the small results summed, so a step is
# one pass over the blocks. tracemalloc sees every NumPy allocation, so its peak is the
# most memory the fit held at one time.
tracemalloc.start()
out_of_core = symcalc.descend("logistic", (X, y))
_, peak = tracemalloc.get_traced_memory()
tracemalloc.stop()
print(repr(out_of_core))
print(out_of_core.reason)
print(f"peak memory while training: {peak / 2**20:.0f} MiB (X alone: {X.nbytes / 2**20:.0f} MiB)")

# %%
# The same fit in memory
# ----------------------
X_memory, y_memory = dask.compute(X, y)
in_memory = symcalc.descend("logistic", (X_memory, y_memory))
print(repr(in_memory))
difference = np.max(np.abs(out_of_core.theta - in_memory.theta))
print(f"largest |θ_dask - θ_memory| = {difference:.1e}")
print("θ (intercept first):", np.round(in_memory.theta, 3))
print("θ used to draw the labels:", TRUE_THETA.round(3))

figure = plot_descent(
    [out_of_core, in_memory], labels=["dask array, block by block", "NumPy array in memory"]
)
save_figure(figure, HERE / "plot_51_descent_on_dask.png", force=True)
