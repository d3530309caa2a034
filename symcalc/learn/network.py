"""Dense networks of any depth: the layout of θ, the forward pass, backpropagation and ∇²J·v.

A network maps a row x = a⁽⁰⁾ of features through L layers,

    z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ + b⁽ˡ⁾,   a⁽ˡ⁾ = f(z⁽ˡ⁾)   (l = 1..L−1),   z⁽ᴸ⁾ = W⁽ᴸ⁾a⁽ᴸ⁻¹⁾ + b⁽ᴸ⁾,

and the head (`symcalc.learn.heads`) puts the output activation and the loss on z⁽ᴸ⁾.
The backward pass is the one `symcalc.symbolic.backprop` derives, evaluated on all the
rows of a block at once (one row per sample, so the matrix products are transposed):

    δ⁽ᴸ⁾ = ∂ℓ/∂z⁽ᴸ⁾                        (the head's derivative kernel)
    δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾W⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾)         (f′ = the activation's derivative kernel)
    ∂J/∂W⁽ˡ⁾ += δ⁽ˡ⁾ᵀA⁽ˡ⁻¹⁾,  ∂J/∂b⁽ˡ⁾ += δ⁽ˡ⁾ᵀ1

and the Hessian-vector product is that pass differentiated along v (Pearlmutter's
R-operator), with f″ the kernel of the activation's second derivative.

θ holds the layers in order, each as a table with one row per unit: its intercept,
then its weights on the previous layer (the one-hidden-layer network of earlier
versions has exactly this layout).

Examples
--------
>>> arch = Architecture(2, (3, 4), 1)
>>> arch.widths, arch.n_parameters
((2, 3, 4, 1), 30)
>>> [t.shape for t in arch.tables(np.zeros(30))]
[(3, 3), (4, 4), (1, 5)]
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from ..errors import SymcalcError

__all__ = [
    "HESSIAN_VECTOR",
    "MAX_LAYERS",
    "MAX_UNITS",
    "Architecture",
    "Kernels",
    "hidden_sizes",
]

#: Most hidden layers, and most units in one layer.
MAX_LAYERS, MAX_UNITS = 64, 4096

Kernel = Callable[[np.ndarray], np.ndarray]

#: How ∇²J·v follows from the backward pass: R{·} is the derivative along v = (V⁽ˡ⁾, c⁽ˡ⁾).
HESSIAN_VECTOR = (
    "R{z⁽ˡ⁾} = W⁽ˡ⁾R{a⁽ˡ⁻¹⁾} + V⁽ˡ⁾a⁽ˡ⁻¹⁾ + c⁽ˡ⁾;  R{a⁽ˡ⁾} = f′(z⁽ˡ⁾) ⊙ R{z⁽ˡ⁾};  R{a⁽⁰⁾} = 0"
    "   (forward)",
    "R{δ⁽ᴸ⁾} = ∂²ℓ/∂z²·R{z⁽ᴸ⁾}  (softmax: a ⊙ (R{z} − (a·R{z})1))",
    "R{δ⁽ˡ⁾} = (W⁽ˡ⁺¹⁾ᵀR{δ⁽ˡ⁺¹⁾} + V⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾) + (W⁽ˡ⁺¹⁾ᵀδ⁽ˡ⁺¹⁾) ⊙ f″(z⁽ˡ⁾) ⊙ "
    "R{z⁽ˡ⁾}   (backward; f″ = the second-derivative kernel)",
    "R{∂J/∂W⁽ˡ⁾} = R{δ⁽ˡ⁾}a⁽ˡ⁻¹⁾ᵀ + δ⁽ˡ⁾R{a⁽ˡ⁻¹⁾}ᵀ + λV⁽ˡ⁾;  R{∂J/∂b⁽ˡ⁾} = R{δ⁽ˡ⁾}",
)


def hidden_sizes(hidden: Any) -> tuple[int, ...]:
    """The widths of the hidden layers from an int (one layer) or a sequence of ints.

    Examples
    --------
    >>> hidden_sizes(16), hidden_sizes([16, 16, 8])
    ((16,), (16, 16, 8))
    >>> hidden_sizes(0)
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: `hidden` must be a whole number of units from 1 to 4096, got 0
    """
    single = isinstance(hidden, (int, np.integer)) and not isinstance(hidden, bool)
    values = (hidden,) if single else hidden
    if not single and not (isinstance(values, Sequence) and not isinstance(values, str)):
        values = (hidden,)  # reported below as not a whole number
    if not values or len(values) > MAX_LAYERS:
        raise SymcalcError(
            f"`hidden` must list from 1 to {MAX_LAYERS} layer widths, got {hidden!r}",
            parameter="hidden",
        )
    for width in values:
        if (
            isinstance(width, bool)
            or not isinstance(width, (int, np.integer))
            or not 1 <= width <= MAX_UNITS
        ):
            raise SymcalcError(
                f"`hidden` must be a whole number of units from 1 to {MAX_UNITS}, got {width!r}",
                parameter="hidden",
            )
    return tuple(int(w) for w in values)


@dataclasses.dataclass(frozen=True)
class Kernels:
    """f, f′ and f″ of the hidden activation, as stable vectorized kernels."""

    value: Kernel
    first: Kernel
    second: Callable[[], Kernel]


@dataclasses.dataclass(frozen=True)
class Architecture:
    """Layer widths n → h₁ → ... → h_{L−1} → K and where each layer's table sits in θ."""

    n_features: int
    hidden: tuple[int, ...]
    n_outputs: int

    @property
    def widths(self) -> tuple[int, ...]:
        return (self.n_features, *self.hidden, self.n_outputs)

    @property
    def shapes(self) -> tuple[tuple[int, int], ...]:
        """(units, 1 + inputs) of each layer's table: an intercept, then the weights."""
        w = self.widths
        return tuple((w[k + 1], w[k] + 1) for k in range(len(w) - 1))

    @property
    def offsets(self) -> tuple[int, ...]:
        starts = [0]
        for rows, columns in self.shapes:
            starts.append(starts[-1] + rows * columns)
        return tuple(starts)

    @property
    def n_parameters(self) -> int:
        return self.offsets[-1]

    @property
    def depth(self) -> int:
        """L, the number of layers with weights (hidden layers and the output layer)."""
        return len(self.hidden) + 1

    def tables(self, theta: np.ndarray) -> list[np.ndarray]:
        """Views of θ, one (units, 1 + inputs) table per layer."""
        offsets = self.offsets
        return [
            theta[offsets[k] : offsets[k + 1]].reshape(shape) for k, shape in enumerate(self.shapes)
        ]

    def weight_slices(self) -> tuple[tuple[int, int], ...]:
        """(offset, length) of every unit's weights in θ (the penalized entries)."""
        slices = []
        for (rows, columns), start in zip(self.shapes, self.offsets, strict=False):
            slices += [(start + u * columns + 1, columns - 1) for u in range(rows)]
        return tuple(slices)

    @property
    def feature_blocks(self) -> tuple[int, ...]:
        """Offsets of the first layer's units, which read the raw features."""
        return tuple(u * (self.n_features + 1) for u in range(self.widths[1]))

    # -- passes -------------------------------------------------------------------------
    def forward(
        self, theta: np.ndarray, X: np.ndarray, phi: Kernel
    ) -> tuple[list[np.ndarray], list[np.ndarray], np.ndarray]:
        """(pre-activations z⁽¹⁾..z⁽ᴸ⁻¹⁾, activations a⁽⁰⁾ = X..a⁽ᴸ⁻¹⁾, outputs z⁽ᴸ⁾)."""
        tables = self.tables(theta)
        pre, acts = [], [X]
        for table in tables[:-1]:
            z = acts[-1] @ table[:, 1:].T + table[:, 0]
            pre.append(z)
            acts.append(phi(z))
        last = tables[-1]
        return pre, acts, acts[-1] @ last[:, 1:].T + last[:, 0]

    def backward(
        self,
        theta: np.ndarray,
        pre: list[np.ndarray],
        acts: list[np.ndarray],
        delta: np.ndarray,
        slope: Kernel,
        out: np.ndarray,
    ) -> None:
        """Add Σ over the block's rows of ∂ℓ/∂θ to ``out``, from δ⁽ᴸ⁾ = ``delta`` (rows × K)."""
        tables, grads = self.tables(theta), self.tables(out)
        for k in range(self.depth - 1, -1, -1):
            grads[k][:, 0] += delta.sum(axis=0)
            grads[k][:, 1:] += delta.T @ acts[k]
            if k:
                delta = (delta @ tables[k][:, 1:]) * slope(pre[k - 1])

    def backward_r(
        self,
        theta: np.ndarray,
        v: np.ndarray,
        X: np.ndarray,
        head_r: Callable[[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]],
        kernels: Kernels,
        out: np.ndarray,
    ) -> None:
        """Add Σ over the rows of X of (∇²ℓ)·v to ``out`` (Pearlmutter's R-operator).

        ``head_r(Z, RZ)`` returns (δ⁽ᴸ⁾, R{δ⁽ᴸ⁾}) = (∂ℓ/∂z, (∂²ℓ/∂z²)·R{z}) at the outputs.
        R{·} is the derivative along v: R{z⁽ˡ⁾} = R{a⁽ˡ⁻¹⁾}W⁽ˡ⁾ᵀ + a⁽ˡ⁻¹⁾V⁽ˡ⁾ᵀ + c⁽ˡ⁾,
        R{a⁽ˡ⁾} = f′(z⁽ˡ⁾) ⊙ R{z⁽ˡ⁾}; backward, R{∂J/∂W⁽ˡ⁾} = R{δ⁽ˡ⁾}ᵀA⁽ˡ⁻¹⁾ + δ⁽ˡ⁾ᵀR{A⁽ˡ⁻¹⁾}
        and R{δ⁽ˡ⁾} = (R{δ⁽ˡ⁺¹⁾}W⁽ˡ⁺¹⁾ + δ⁽ˡ⁺¹⁾V⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾) + g⁽ˡ⁾ ⊙ f″(z⁽ˡ⁾) ⊙ R{z⁽ˡ⁾}
        with g⁽ˡ⁾ = δ⁽ˡ⁺¹⁾W⁽ˡ⁺¹⁾.
        """
        tables, directions, results = self.tables(theta), self.tables(v), self.tables(out)
        acts, r_acts, pre, r_pre, slopes = [X], [np.zeros_like(X)], [], [], []
        for table, direction in zip(tables[:-1], directions[:-1], strict=True):
            z = acts[-1] @ table[:, 1:].T + table[:, 0]
            rz = r_acts[-1] @ table[:, 1:].T + acts[-1] @ direction[:, 1:].T + direction[:, 0]
            slope = kernels.first(z)
            pre.append(z)
            r_pre.append(rz)
            slopes.append(slope)
            acts.append(kernels.value(z))
            r_acts.append(slope * rz)
        last, r_last = tables[-1], directions[-1]
        Z = acts[-1] @ last[:, 1:].T + last[:, 0]
        RZ = r_acts[-1] @ last[:, 1:].T + acts[-1] @ r_last[:, 1:].T + r_last[:, 0]
        delta, r_delta = head_r(Z, RZ)
        second = kernels.second() if self.depth > 1 else None
        for k in range(self.depth - 1, -1, -1):
            results[k][:, 0] += r_delta.sum(axis=0)
            results[k][:, 1:] += r_delta.T @ acts[k] + delta.T @ r_acts[k]
            if k:
                g = delta @ tables[k][:, 1:]
                r_g = r_delta @ tables[k][:, 1:] + delta @ directions[k][:, 1:]
                z = pre[k - 1]
                delta, r_delta = (
                    g * slopes[k - 1],
                    r_g * slopes[k - 1] + g * second(z) * r_pre[k - 1],
                )

    def initial(self, init: str, rng: np.random.Generator) -> np.ndarray:
        """θ₀: every layer's weights drawn by ``init`` (`symcalc.learn.initializers`), b = 0."""
        from .initializers import initial_weights

        theta = np.zeros(self.n_parameters)
        for table in self.tables(theta):
            table[:, 1:] = initial_weights(table[:, 1:].shape, init, rng)
        return theta

    def __repr__(self) -> str:
        return "Architecture(" + " → ".join(str(w) for w in self.widths) + ")"
