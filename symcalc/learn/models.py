"""Models whose gradients are derived, never written by hand.

Each model states its objective symbolically, with SymPy sums over the m samples,

    J(θ) = (1/m) Σᵢ ℓ(zᵢ(θ), yᵢ) + (λ/2) ‖w‖²        (the intercepts are not penalized)

where ℓ is a catalog loss and zᵢ(θ) the model's output for sample i.  SymPy's
chain rule turns this into ∂J/∂θ = (1/m) Σᵢ ∂ℓ/∂z · ∂zᵢ/∂θ; the per-sample factor
∂ℓ/∂z is the loss's symbolic derivative (`symcalc.symbolic.derivatives`), lambdified by
`symcalc.numeric.kernels.kernel(loss, order=1)`, and the Jacobian ∂zᵢ/∂θ becomes matrix
products over all samples at once:

    linear, logistic   z = X w + b            ∇_w J = (1/m) Xᵀ ℓ'(z, y) + λ w
    softmax            Z = X Wᵀ + b           ∇_W J = (1/m) ℓ'(Z, Y)ᵀ X + λ W
    mlp                A = X W₁ᵀ + b₁, H = φ(A), Z = H W₂ᵀ + b₂   (backpropagation:
                       ∂J/∂A = (∂J/∂Z W₂) ⊙ φ'(A), with φ' = kernel(φ, order=1))

One mechanism serves every model: a *head* (the catalog loss on the outputs, with
its value and derivative kernels) and a Jacobian by matrix products.  The data are
read in row blocks that fit in cache, so a step makes one pass over X, copies
nothing of size X and allocates only block-sized buffers.  `GradientDerivation`
prints the derivation; `check_symbolic_gradient` proves, on a small data set, that
SymPy's gradient of the Sum form equals the vectorized gradient.

Floating point: J and ∇J carry the kernels' promise (float64: a few ulps per sample,
finite for every finite logit, e.g. |z| = 1e3 in logistic and softmax; softmax logits
are also shifted by their row maximum), summed over samples; the tests find the
vectorized gradient within 1e-13 (relative) of SymPy's at 30 digits and of mpmath at
50 digits.  float32 data stay float32 (no copy of X) but are read into float64 one row
block at a time, so J, ∇J and the optimum are those of their exact values in float64; θ
and the gradient are always float64.

Examples
--------
>>> print(make_model("linear").derivation().vectorized[-1])
∇_θ J = (2/m)·X̃ᵀ(X̃θ - y) + λ·(0, w)    (X̃ = [1, X], θ = (b, w))
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import os
from collections.abc import Callable, Mapping, Sequence
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy
from sympy.core.function import AppliedUndef

from ..errors import SymcalcError, did_you_mean
from ..symbolic.catalog import Entry, get
from ..symbolic.functions import latex, symbol
from ..symbolic.parse import resolve
from .data import Dataset, check_arrays
from .heads import (
    CURVATURE,
    SCALAR_LOSSES,
    ScalarHead,
    encode_classes,
    head_for,
    kernel_for,
    scalar_loss,
    softmax_derivatives,
)
from .network import Architecture, Kernels, hidden_sizes

__all__ = [
    "CURVATURE",
    "MODELS",
    "SCALAR_LOSSES",
    "encode_classes",
    "GradientDerivation",
    "LinearModel",
    "MLP",
    "Objective",
    "check_symbolic_gradient",
    "check_symbolic_hessian",
    "make_model",
]

#: Rows per block: a block of X of about this many bytes stays in cache between the
#: forward and backward products, and the kernels are called once per block (each call
#: costs 15-20 µs of its own): 4 MiB passes over 10⁵ × 50 and 10⁶ × 20 in 4 % and 11 %
#: less time than 2 MiB, 1 MiB in 15 % more.
BLOCK_BYTES = 1 << 22

# Index and size symbols of the Sum forms.
_i, _j, _k, _q, _r, _c = (sympy.Symbol(n, integer=True, positive=True) for n in "ijkqrc")
_m, _n, _h = (sympy.Symbol(n, integer=True, positive=True) for n in "mnh")
_lambda = symbol("lambda")
_K = sympy.Symbol("K", integer=True, positive=True)
_INDICES = {_i, _j, _k, _q, _r, _c}


def _indexed(name: str) -> sympy.IndexedBase:
    return sympy.IndexedBase(name, real=True)


# -- objectives ----------------------------------------------------------------------------


class Objective:
    """J(θ), ∇J(θ) and second derivatives of a model on fixed data; θ is one flat float64 vector.

    ``lipschitz`` is a bound on the Lipschitz constant of ∇J (None if there is no
    global bound); `symcalc.learn.descent` derives its default step size from it.
    ``hessian`` (the full matrix, for models whose loss has curvature) and
    ``hessian_vector`` (∇²J·v without forming ∇²J) feed the second-order optimizers of
    `symcalc.learn.optimizers`.  ``feature_blocks`` lists where the units that read
    the raw features start in θ (each unit: its intercept, then one weight per feature),
    which is all `symcalc.learn.scaling` needs to precondition any model.

    A new model (a deeper network, say) needs: ``_evaluate`` (J, and ∇J into an array),
    ``initial``, ``penalty`` and ``_weight_slices`` (where the penalized weights sit),
    ``hessian_vector`` (``has_hessian`` and ``hessian`` too when ∇²J is cheap to form),
    ``feature_blocks``, ``on`` (the same model on other rows, for minibatches), and the
    flags ``convex`` and ``classifier``; every optimizer, the stopping rules, the
    preconditioning and SGD then work unchanged.
    """

    name: str = "objective"
    n_parameters: int = 0
    n_features: int = 0
    n_samples: int = 0
    l2: float = 0.0
    #: Whether `lipschitz` is a global bound (else None, and the step size is estimated).
    bounded: bool = False
    #: Whether J is convex in θ (linear models) or not (networks).
    convex: bool = False
    #: Whether `hessian` returns ∇²J (else only `hessian_vector` is available).
    has_hessian: bool = False
    #: Whether the head classifies (then `separable` can certify an optimum at infinity).
    classifier: bool = False

    def value(self, theta: np.ndarray) -> float:
        """J(θ), the penalty included."""
        return self._evaluate(np.asarray(theta, dtype=float), None)

    def value_and_gradient(
        self, theta: np.ndarray, out: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        """(J(θ), ∇J(θ)); the gradient is written into ``out`` when given."""
        theta = np.asarray(theta, dtype=float)
        gradient = np.empty(self.n_parameters) if out is None else out
        return self._evaluate(theta, gradient), gradient

    def gradient(self, theta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        """∇J(θ) alone (the loss values are not computed); written into ``out`` when given."""
        gradient = np.empty(self.n_parameters) if out is None else out
        self._evaluate(np.asarray(theta, dtype=float), gradient, value=False)
        return gradient

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """∇²J(θ), n × n: by default one `hessian_vector` per column (small n only)."""
        theta = np.asarray(theta, dtype=float)
        n = self.n_parameters
        if n > 4096:
            raise SymcalcError(
                f"the Hessian of {n} parameters is too large to form; use hessian_vector"
            )
        columns = np.empty((n, n))
        unit = np.zeros(n)
        for k in range(n):
            unit[k] = 1.0
            columns[:, k] = self.hessian_vector(theta, unit)
            unit[k] = 0.0
        return 0.5 * (columns + columns.T)

    def hessian_vector(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """∇²J(θ)·v."""
        raise NotImplementedError  # pragma: no cover - every objective overrides

    def data_loss(self, theta: np.ndarray) -> float:
        """The mean loss alone, without the L2 penalty."""
        return self.value(theta) - self.penalty(theta)

    def penalty(self, theta: np.ndarray) -> float:  # pragma: no cover - every objective overrides
        return 0.0

    def null_directions(self) -> np.ndarray | None:
        """Directions along which J never changes (as columns), when the model has any."""
        return None

    def penalty_gradient(self, theta: np.ndarray) -> np.ndarray:
        """∇ of the L2 penalty alone: λ times the weights, 0 on the intercepts."""
        gradient = np.zeros(self.n_parameters)
        if self.l2:
            for offset, width in self._weight_slices():
                gradient[offset : offset + width] = (
                    self.l2 * np.asarray(theta)[offset : offset + width]
                )
        return gradient

    def _weight_slices(self) -> tuple[tuple[int, int], ...]:  # pragma: no cover
        return ()

    @property
    def lipschitz(self) -> float | None:  # pragma: no cover - every objective overrides
        return None

    @property
    def feature_blocks(self) -> tuple[int, ...]:
        """Offsets in θ of the units that read the features (intercept, then p weights)."""
        return ()

    def separable(self, theta: np.ndarray) -> bool:
        """Whether θ classifies every training sample right with a positive margin.

        Then J(tθ) → 0 as t → ∞ while J > 0 everywhere: without a penalty the
        objective has no minimizer (its infimum is at infinity).
        """
        return False

    def _evaluate(
        self, theta: np.ndarray, gradient: np.ndarray | None, value: bool = True
    ) -> float:
        raise NotImplementedError  # pragma: no cover


def _block_rows(n_columns: int, itemsize: int) -> int:
    return max(256, BLOCK_BYTES // max(1, n_columns * itemsize))


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"


def _check_l2(l2: Any) -> float:
    try:
        value = float(l2)
    except (TypeError, ValueError):
        raise SymcalcError(f"`l2` must be a number, got {l2!r}", parameter="l2") from None
    if not (math.isfinite(value) and value >= 0):
        raise SymcalcError(f"`l2` must be a finite number ≥ 0, got {l2!r}", parameter="l2")
    return value


#: The weighted Gram product X̃ᵀ diag(w) X̃ scales at most this share of a block's rows at a
#: time (into a buffer kept by the objective): half the block, so the Hessian's scratch
#: stays at half the size of X however small X is, for one more matrix product.
_GRAM_SHARE = 2


def _add_weighted_gram(
    H: np.ndarray, Xb: np.ndarray, weights: np.ndarray, scratch: np.ndarray | None = None
) -> None:
    """H += X̃ᵀ diag(weights) X̃ for X̃ = [1, Xb] (H is (p+1) × (p+1), filled whole).

    ``scratch`` (rows × p, Xb's dtype) holds diag(w)·X for ``rows`` rows at a time; without
    it the product is allocated whole.
    """
    weights = weights.astype(Xb.dtype, copy=False)
    row = weights @ Xb
    H[0, 0] += float(weights.sum())
    H[0, 1:] += row
    H[1:, 0] += row
    if scratch is None:
        H[1:, 1:] += Xb.T @ (Xb * weights[:, None])
        return
    step = scratch.shape[0]
    for start in range(0, Xb.shape[0], step):
        part = Xb[start : start + step]
        scaled = scratch[: part.shape[0]]
        # einsum, not a broadcast multiply: NumPy buffers a row broadcast in 64 KiB blocks
        np.einsum("ij,i->ij", part, weights[start : start + step], out=scaled)
        H[1:, 1:] += part.T @ scaled


def _add_constant_gram(H: np.ndarray, Xb: np.ndarray, weight: float) -> None:
    """H += weight·X̃ᵀX̃ for X̃ = [1, Xb]: `_add_weighted_gram` with every weight equal,
    without its scratch (the weighted copy of X, half of X, was the peak of a
    least-squares fit).  One product per block instead of two half-block products: the
    sums round in another order (on diabetes, raw or standardized, the same bits)."""
    row = np.ones(Xb.shape[0], dtype=Xb.dtype) @ Xb  # BLAS, as the weighted column sums
    row *= weight
    H[0, 0] += weight * Xb.shape[0]
    H[0, 1:] += row
    H[1:, 0] += row
    gram = Xb.T @ Xb
    gram *= weight
    H[1:, 1:] += gram


#: The softmax Hessian's scratch (the class pairs' weighted copies of X) is held to
#: max(X.nbytes / 2, this floor) bytes: half of X on large data, whatever K, and on small
#: data enough for every pair of a few classes in one matrix product, because there the
#: calls cost more than the arithmetic (wine, 18 KiB of X: its Hessian takes 1.65× as
#: long with a 16 KiB floor, one pair per product; iris 1.2×).
PAIR_SCRATCH_FLOOR = 1 << 17


def _pair_scratch_budget(X: np.ndarray) -> int:
    """Bytes the softmax Hessian may use for scratch on data ``X``."""
    return max(X.nbytes // 2, PAIR_SCRATCH_FLOOR)


def _add_pair_grams(
    H: np.ndarray, Xb: np.ndarray, P: np.ndarray, Q: np.ndarray, budget: int
) -> None:
    """H[c, :, d, :] += X̃ᵀ diag(w_cd) X̃ for every class pair c ≤ d, X̃ = [1, Xb].

    w_cc = P_c·Q_c and w_cd = −P_c·P_d: the softmax curvature, without cancellation.
    Pairs go in groups, and rows in slices, such that a slice of X̃ and its weighted
    copies for one matrix product fit ``budget`` bytes: one product for all pairs on
    small data, one per pair and row slice on large data.
    """
    m, p = Xb.shape
    p1, K = p + 1, P.shape[1]
    pairs = [(c, d) for c in range(K) for d in range(c, K)]
    size = Xb.itemsize
    # k pairs of r rows take r·(p + 1)·(k + 1) numbers: [1, X] and its k weighted copies
    group = int(max(1, min(len(pairs), budget // max(1, m * p1 * size) - 1)))
    rows = int(max(1, min(m, budget // max(1, p1 * (group + 1) * size))))
    rows = -(-m // -(-m // rows))  # equal row slices
    weights = np.empty((m, group), dtype=Xb.dtype)
    tilde = np.empty((rows, p1), dtype=Xb.dtype)
    tilde[:, 0] = 1.0
    scratch = np.empty(rows * p1 * group, dtype=Xb.dtype)
    for first in range(0, len(pairs), group):
        chosen = pairs[first : first + group]
        k = len(chosen)
        W = weights[:, :k]
        for j, (c, d) in enumerate(chosen):
            if c == d:
                np.multiply(P[:, c], Q[:, c], out=W[:, j])
            else:
                np.multiply(P[:, c], P[:, d], out=W[:, j])
                np.negative(W[:, j], out=W[:, j])
        grams = None
        for start in range(0, m, rows):
            part = tilde[: min(rows, m - start)]
            part[:, 1:] = Xb[start : start + rows]
            scaled = scratch[: len(part) * p1 * k].reshape(len(part), p1, k)
            np.einsum("ij,ik->ijk", part, W[start : start + rows], out=scaled)  # no buffer
            product = part.T @ scaled.reshape(len(part), p1 * k)
            grams = product if grams is None else np.add(grams, product, out=grams)
        grams = grams.reshape(p1, p1, k)
        for j, (c, d) in enumerate(chosen):
            H[c, :, d, :] += grams[:, :, j]


#: A softmax objective whose rows fit one block keeps the products x̃ᵢⱼ·x̃ᵢₖ (j ≤ k) of its
#: rows x̃ᵢ = [1, xᵢ] where they take at most this many bytes (iris 18 KiB, wine 146 KiB),
#: formed once: every class pair's Gram matrix X̃ᵀ diag(w_cd) X̃ is then one row of one
#: matrix product W·Rᵀ, where `_add_pair_grams` weights copies of X̃ for every Hessian
#: (wine's Gram matrices, timed alone at load 3: 38 µs a Hessian instead of 107).  The
#: scratch those copies took (up to `PAIR_SCRATCH_FLOOR`) is not needed then.
ROW_PRODUCTS_BYTES = 1 << 18


def _row_products(
    X: np.ndarray, centre: np.ndarray | None = None, scale: np.ndarray | None = None
) -> np.ndarray:
    """R, (p+1)(p+2)/2 × m: the products x̃ⱼ·x̃ₖ (j ≤ k, row by row of j) of the columns
    of X̃ = [1, (X − μ)/s] (as `_centred` makes them), one row per pair (j, k)."""
    m, p = X.shape
    p1 = p + 1
    tilde = np.empty((p1, m))  # X̃ᵀ: no copy of X besides
    tilde[0] = 1.0
    tilde[1:] = X.T
    for j, row in enumerate(tilde[1:]):  # a feature at a time: no broadcast buffer
        if centre is not None:
            row -= centre[j]
            if scale is not None:
                row /= scale[j]
    R = np.empty((p1 * (p1 + 1) // 2, m))
    at = 0
    for j in range(p1):  # rows of one layout: a row broadcast, no buffering
        np.multiply(tilde[j:], tilde[j], out=R[at : at + p1 - j])
        at += p1 - j
    return R


@functools.lru_cache(maxsize=32)
def _pair_layout(K: int, p1: int) -> tuple[tuple[tuple[int, int], ...], np.ndarray]:
    """(pairs, gather): the class pairs c ≤ d, and for every entry (c, j, d, k) of the
    K(p+1) × K(p+1) Hessian its position in the pairs × (p+1)(p+2)/2 array of Gram
    entries of `_row_products`' layout (pair (min, max) of c, d; entry (min, max) of
    j, k), so one gather fills H, exactly symmetric."""
    pairs = tuple((c, d) for c in range(K) for d in range(c, K))
    width = p1 * (p1 + 1) // 2
    upper = np.triu_indices(p1)  # row by row: the order of `_row_products`
    entry = np.empty((p1, p1), dtype=np.intp)
    entry[upper] = np.arange(width)
    entry.T[upper] = np.arange(width)
    pair = np.empty((K, K), dtype=np.intp)
    for n, (c, d) in enumerate(pairs):
        pair[c, d] = pair[d, c] = n
    gather = pair[:, None, :, None] * width + entry[None, :, None, :]
    gather = gather.reshape(-1)
    gather.flags.writeable = False
    return pairs, gather


def _pair_weights(P: np.ndarray, Q: np.ndarray, pairs: tuple[tuple[int, int], ...]) -> np.ndarray:
    """W, one row per class pair: P_c·Q_c for c = d and −P_c·P_d otherwise (as in
    `_add_pair_grams`: the softmax curvature without cancellation)."""
    W = np.empty((len(pairs), P.shape[0]))
    for n, (c, d) in enumerate(pairs):
        if c == d:
            np.multiply(P[:, c], Q[:, c], out=W[n])
        else:
            np.multiply(P[:, c], P[:, d], out=W[n])
            np.negative(W[n], out=W[n])
    return W


def _centred(
    Xb: np.ndarray, centre: np.ndarray | None, scale: np.ndarray | None = None
) -> np.ndarray:
    """Xb − μ, divided by s with a ``scale`` (a block-sized copy, in Xb's dtype), or Xb
    itself without a centre."""
    if centre is None:
        return Xb
    Xc = Xb - np.asarray(centre, dtype=Xb.dtype)
    if scale is not None:
        Xc /= np.asarray(scale, dtype=Xb.dtype)
    return Xc


def _penalty_diagonal(l2: float, scale: np.ndarray | None) -> np.ndarray | float:
    """λ on the weights w (user units), read in the coordinates s·w of ``scale``: λ/s²."""
    if scale is None:
        return l2
    scale = np.asarray(scale, dtype=float)
    return l2 / scale / scale  # s² alone overflows past 1e154


def _symmetrize(H: np.ndarray, copy_allowed: bool) -> None:
    """H (K, p1, K, p1), blocks c ≤ d filled, becomes 2× the exactly symmetric Hessian.

    The Gram products round apart, so H + Hᵀ after mirroring the blocks above the
    diagonal; NumPy copies Hᵀ for that, and when the copy is not allowed (H larger than
    the scratch budget) it is done block by block: each diagonal block plus its
    transpose, each block above doubled (exact) and mirrored below.  Same numbers.
    """
    K = H.shape[0]
    for c in range(K):
        for d in range(c + 1, K):
            H[d, :, c, :] = H[c, :, d, :].T
    if copy_allowed:
        flat = H.reshape(H.shape[0] * H.shape[1], -1)
        flat += flat.T
        return
    for c in range(K):
        block = H[c, :, c, :]
        block += block.T.copy()
        for d in range(c + 1, K):
            H[c, :, d, :] *= 2.0
            H[d, :, c, :] *= 2.0


@functools.lru_cache(maxsize=32)
def _sum_free_basis(K: int) -> np.ndarray:
    """An orthonormal basis (K × (K − 1)) of the vectors whose entries sum to 0."""
    centring = np.eye(K) - 1.0 / K
    basis = np.linalg.qr(centring[:, : K - 1])[0]
    basis.flags.writeable = False
    return basis


@dataclasses.dataclass(frozen=True)
class InterceptCertificate:
    """What bounds J − J* for a softmax fit with an L2 penalty λ on the weights only.

    With W held fixed J is a function h(b) of the intercepts (constant along b + t·1),
    with curvature A(b) = (1/m)Σᵢ (diag pᵢ − pᵢpᵢᵀ); φ(W) = min_b J(b, W) is λ-strongly
    convex (the data term is jointly convex, the penalty λ/2‖W‖²), so

        J(b, W) − J* = [h(b) − min h] + [φ(W) − min φ] ≤ γ²/(2μ_R) + ‖∇φ(W)‖²/(2λ).

    Fields (user units; norms 2 and Frobenius): ``gradient`` γ = ‖∂J/∂b‖ at θ,
    ``curvature`` μ ≤ the smallest eigenvalue of A(b) off the 1 direction, ``step``
    ‖δ‖ of the Newton step on the intercepts, ``stepped_gradient`` γ̂ = ‖∂J/∂b‖ at
    b + δ, ``weight_gradient`` ‖Ĝ‖ the weights' gradient at b + δ in the coordinates
    (b + W·c, W) of a centre c, ``spread`` ρ ≥ √((1/m)Σ‖xᵢ − c‖²), ``l2`` λ.
    """

    gradient: float
    curvature: float
    step: float
    stepped_gradient: float
    weight_gradient: float
    spread: float
    l2: float

    @property
    def finite(self) -> bool:
        return all(math.isfinite(v) for v in dataclasses.astuple(self))

    def bound(self) -> float | None:
        """An upper bound on J(θ) − J*, or None where the ball argument fails.

        Moving every sample's outputs by a shift δ multiplies each pᵢₖ by at least
        e^(−span δ) (span = max − min ≤ √2‖δ‖), so A(b') ⪰ e^(−√2R)·A(b) on the ball
        of radius R around b (within the sum-free directions): μ_R = μ·e^(−√2R).  Where
        2γ/μ_R < R the minimizer b* of h lies in the ball, h(b) − h(b*) ≤ γ²/(2μ_R), and
        ‖b + δ − b*‖ ≤ γ̂/μ_R (strong monotonicity on the ball, which holds b + δ).  By
        Danskin ∇φ(W) is the weights' gradient at b*, and softmax is ½-Lipschitz, so
        ‖∇φ(W)‖ ≤ ‖Ĝ‖ + ½ρ·γ̂/μ_R.
        """
        mu, gamma = self.curvature, self.gradient
        if not (mu > 0 and self.l2 > 0):
            return None
        radius = 4.0 * max(gamma / mu, self.step)
        mu_ball = mu * math.exp(-math.sqrt(2.0) * radius)
        if not mu_ball > 0 or not self.step <= radius:
            return None
        if not (2.0 * gamma < radius * mu_ball or gamma == 0):
            return None
        weights = self.weight_gradient + 0.5 * self.spread * self.stepped_gradient / mu_ball
        return 0.5 * gamma * gamma / mu_ball + 0.5 * weights * weights / self.l2


#: Up to this many outputs (samples × classes, one row block) a softmax pass keeps its
#: Hessian weights P and 1 − P for a Hessian at the same θ (iris, wine: 450 and 534).
SMALL_WEIGHTS = 4096


class AffineObjective(Objective):
    """J for outputs z = X wₖ + bₖ (k = 1..K) and a head: linear, logistic, softmax.

    θ holds, output after output, the intercept then the weights in column order:
    θ = (b₁, w₁₁, ..., w₁ₚ, b₂, ...).  The Hessian follows from the head's curvature in z
    and the Jacobian ∂z/∂θ = X̃ = [1, X]:

        ∇²J = (1/m)·Σᵢ (∂²ℓ/∂z²)ᵢ ⊗ x̃ᵢx̃ᵢᵀ + λ·(I_K ⊗ diag(0, 1, ..., 1)),

    one weighted Gram matrix X̃ᵀ diag(wᵢ) X̃ per pair of outputs, accumulated over row
    blocks (no copy of X).
    """

    convex = True
    #: `hessian` takes a ``centre`` and a ``scale`` (see there).
    centred_hessian = True

    def __init__(self, name: str, X: Any, Y: Any, head: Any, l2: float = 0.0):
        self.name = name
        self.head = head
        self.l2 = _check_l2(l2)
        self.X, self.Y = X, Y
        self.n_samples, self.n_features = (int(s) for s in X.shape)
        self.n_outputs = head.n_outputs
        self.n_parameters = self.n_outputs * (self.n_features + 1)
        self.bounded = head.curvature is not None
        self.has_hessian = bool(head.twice_differentiable)
        self.classifier = getattr(head, "classes", None) is not None
        self._lipschitz: float | None = None
        self._dask = _is_dask(X)
        self._centre: np.ndarray | None = None  # set by `about`
        if self._dask:
            if self.n_outputs != 1:
                raise SymcalcError("dask arrays are supported for the linear and logistic models")
            if self.has_hessian:  # built now: kernels must not be built inside dask's threads
                kernel_for(head.entry, 2)
            return
        self.block = _block_rows(self.n_features, 8)
        rows = min(self.block, self.n_samples)
        if X.dtype != np.float64 and self.n_samples <= self.block:
            # one block: its float64 copy is block-sized (larger X is read block by block)
            self.X = np.asarray(X, dtype=float)
        self._read: np.ndarray | None = None  # float64 rows of a float32 X, one block
        self._Z = np.empty((rows, self.n_outputs))
        self._z = self._Z[:, 0] if self.n_outputs == 1 else None
        self._row = np.empty(self.n_features)
        # θ whose outputs the buffer holds (one block only): Newton asks the Hessian at the
        # point whose value and gradient it has just computed.
        self._outputs_of: bytes | None = None
        # One output on several blocks: every row's z kept, for the θ in `_kept_of`
        # (L-BFGS's decrement check reads ℓ'' where it has just evaluated J: no pass
        # over X); only where z is at most an eighth of X.
        self._kept: np.ndarray | None = None
        self._kept_of: bytes | None = None
        self._scratch: np.ndarray | None = None
        self._constant_hessians: dict[tuple, np.ndarray] = {}  # ℓ'' constant: by centre, scale
        self._products: tuple[tuple, np.ndarray] | None = None  # `_kept_row_products`

    def _weight_slices(self) -> tuple[tuple[int, int], ...]:
        p = self.n_features
        return tuple((k * (p + 1) + 1, p) for k in range(self.n_outputs))

    def null_directions(self) -> np.ndarray | None:
        """Directions along which J never changes (columns, unit length), or None.

        Softmax is unchanged when the same number is added to every class's intercept
        (the intercepts are not penalized), and without a penalty when the same vector
        is added to every class's weights: softmax(z + t) = softmax(z).  Newton's method
        keeps its steps out of these directions (their curvature is exactly 0).
        """
        K, p1 = self.n_outputs, self.n_features + 1
        if K == 1:
            return None
        columns = [0] if self.l2 else range(p1)
        N = np.zeros((K * p1, len(columns)))
        for k, j in enumerate(columns):
            N[np.arange(K) * p1 + j, k] = 1.0 / math.sqrt(K)
        return N

    @property
    def hessian_cost(self) -> float:
        """About how many gradient passes one Hessian costs: (p + 1)(K + 1)/2.

        The Hessian is K(K+1)/2 weighted Gram matrices of m·(p+1)² operations each; the
        gradient is m·(p+1)·K.
        """
        return (self.n_features + 1) * (self.n_outputs + 1) / 2

    def on(self, X: Any, Y: Any) -> AffineObjective:
        """The same model and penalty on other data (``Y`` encoded as the head takes it)."""
        return AffineObjective(self.name, X, Y, self.head, self.l2)

    def about(self, centre: np.ndarray) -> AffineObjective:
        """The same J in the coordinates (b + μ·w, w) of `hessian`'s ``centre``: its
        outputs are b_c + (X − μ)·w, each row block centred as it is read (a block-sized
        copy, never X whole), and its gradient is [Σr, Σr·(x − μ)]/m.  On features far
        from 0 that keeps J and ∇J exact where b + X·w and the gradient moved afterwards
        lose (μ/s)·ε to cancellation (`symcalc.learn.scaling.Preconditioned`)."""
        if self._dask:
            raise SymcalcError("a centred objective is for data in memory")
        centred = AffineObjective(self.name, self.X, self.Y, self.head, self.l2)
        centred._centre = np.asarray(centre, dtype=float)
        # blocks of at most a quarter of X (≥ 256 rows): the centred copy adds a quarter
        # of X to the peak, not X
        centred.block = min(self.block, max(256, -(-self.n_samples // 4)))
        return centred

    @property
    def feature_blocks(self) -> tuple[int, ...]:
        return tuple(k * (self.n_features + 1) for k in range(self.n_outputs))

    # -- J and ∇J ---------------------------------------------------------------------
    def _weights(self, theta: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        Theta = theta.reshape(self.n_outputs, self.n_features + 1)
        return Theta[:, 0], Theta[:, 1:]

    def penalty(self, theta: np.ndarray) -> float:
        _, W = self._weights(np.asarray(theta, dtype=float))
        return 0.5 * self.l2 * float(np.vdot(W, W))

    def _evaluate(
        self, theta: np.ndarray, gradient: np.ndarray | None, value: bool = True
    ) -> float:
        # Far from the data's scale (a diverging run) products may overflow: the result is
        # then inf or nan, which the optimizer reports; no warning is raised for it here.
        with np.errstate(over="ignore", invalid="ignore"):
            if self._dask:
                total = self._dask_pass(theta, gradient, value)
            else:
                total = self._numpy_pass(theta, gradient, value)
        m = self.n_samples
        _, W = self._weights(theta)
        if gradient is not None:
            gradient /= m
            G = gradient.reshape(self.n_outputs, self.n_features + 1)
            if self.l2:
                G[:, 1:] += self.l2 * W
        return total / m + 0.5 * self.l2 * float(np.vdot(W, W))

    def _blocks(self, theta: np.ndarray):
        """(Xb, Yb, Z) for each row block: Z the outputs (one column per output)."""
        X, Y = self.X, self.Y
        if self._centre is not None:
            yield from self._centred_blocks(theta)
            return
        if self.n_samples <= self.block:  # one block: the outputs may be there already
            key = theta.tobytes()
            Z = self._Z if self.n_outputs > 1 else self._z
            if key != self._outputs_of:
                self._outputs_of = None
                bias, W = self._weights(theta)
                if self.n_outputs == 1:
                    np.dot(X, W[0], out=Z)
                    Z += bias[0]
                else:
                    np.dot(X, W.T, out=Z)
                    Z += bias
                self._outputs_of = key
            yield X, Y, Z
            return
        self._outputs_of = None
        bias, W = self._weights(theta)
        scalar = self.n_outputs == 1
        kept = self._kept_buffer() if scalar else None
        key = theta.tobytes() if kept is not None else None
        if kept is not None and key == self._kept_of:  # z known for every row
            for start in range(0, self.n_samples, self.block):
                stop = start + self.block
                yield self._rows(start, stop), Y[start:stop], kept[start:stop]
            return
        self._kept_of = None
        for start in range(0, self.n_samples, self.block):
            Xb = self._rows(start, start + self.block)
            Yb = Y[start : start + self.block]
            if kept is None:
                yield Xb, Yb, self._outputs(Xb, W, bias, scalar)
                continue
            z = kept[start : start + len(Xb)]
            np.dot(Xb, W[0], out=z)
            z += bias[0]
            yield Xb, Yb, z
        self._kept_of = key  # only once every block's z is in place

    def _kept_buffer(self) -> np.ndarray | None:
        """The buffer of every row's output (one output, several row blocks), or None
        where it would pass an eighth of X."""
        if self._kept is None:
            if 8 * self.n_samples * 8 > self.X.nbytes:
                return None
            self._kept = np.empty(self.n_samples)
        return self._kept

    def _kept_outputs(self, theta: np.ndarray) -> np.ndarray | None:
        """Every row's z at ``theta`` if kept from the last pass there (several blocks)."""
        if self._kept is None or self._kept_of != theta.tobytes() or self._centre is not None:
            return None
        return self._kept

    def _rows(self, start: int, stop: int) -> np.ndarray:
        """X[start:stop] in float64: a view, or for float32 data a block-sized buffer
        overwritten by the next call.  float32 data are only stored in float32: every
        product runs in float64 on their exact values, so J, ∇J and the optimum are those
        of float64 data (products in float32 left J 1.2e-7 above J*, θ rounded to 7
        digits, and Newton could not settle where J was flat to float32 rounding)."""
        part = self.X[start:stop]
        if part.dtype == np.float64:
            return part
        if self._read is None:
            self._read = np.empty((min(self.block, self.n_samples), self.n_features))
        out = self._read[: part.shape[0]]
        np.copyto(out, part)
        return out

    def _centred_blocks(self, theta: np.ndarray):
        """`_blocks` of an objective `about` a centre: (Xb − μ, Yb, Z) per row block."""
        self._outputs_of = self._kept_of = None  # the output buffers are overwritten here
        bias, W = self._weights(theta)
        step = self.block  # set by `about`: the centred rows go through one buffer, freed
        # after the pass (kept, it would add to the peak of a Hessian formed later)
        buffer = np.empty((min(step, self.n_samples), self.n_features))
        for start in range(0, self.n_samples, step):
            part = self.X[start : start + step]
            rows = part.shape[0]
            Xb = np.subtract(part, self._centre, out=buffer[:rows])
            yield Xb, self.Y[start : start + step], self._outputs(Xb, W, bias, self.n_outputs == 1)

    def _outputs(self, Xb: np.ndarray, W: np.ndarray, bias: np.ndarray, scalar: bool):
        """z = Xb·Wᵀ + b for one row block, in the block's slice of the output buffer."""
        rows = Xb.shape[0]
        if scalar:
            z = self._z[:rows]
            np.dot(Xb, W[0], out=z)
            z += bias[0]
        else:
            z = self._Z[:rows]
            np.dot(Xb, W.T, out=z)
            z += bias
        return z

    def _numpy_pass(self, theta: np.ndarray, gradient: np.ndarray | None, value: bool) -> float:
        head = self.head
        cached = getattr(self, "_curvature_cache", None)
        if cached is not None and cached[0] != theta.tobytes():
            # another θ's curvature states (Newton-CG's products at the last iterate) go
            # before this pass's temporaries come: both at once were digits' peak
            self._curvature_cache = None
        if gradient is not None:
            gradient.fill(0.0)
            G = gradient.reshape(self.n_outputs, self.n_features + 1)
        total = 0.0
        scalar = self.n_outputs == 1
        single = self.n_samples <= self.block
        # Newton's Hessian at this θ reads the softmax weights of this pass (small data:
        # two n × K arrays kept, `SMALL_WEIGHTS` numbers each at most)
        keep_weights = (
            single
            and not scalar
            and self._centre is None
            and self.n_samples * self.n_outputs <= SMALL_WEIGHTS
            and hasattr(head, "loss_derivative_and_weights")
        )
        self._hessian_weights = None
        # the column sums of `column_means`, on the first pass over several blocks, each
        # while it is in cache (the decrement check's curvature floor reads them)
        sums = (
            np.zeros(self.n_features)
            if not single and self._centre is None and "column_means" not in self.__dict__
            else None
        )
        for Xb, Yb, z in self._blocks(theta):
            if sums is not None:
                sums += self._ones(len(Xb)) @ Xb
            if gradient is None:
                total += head.loss_sum(z, Yb)
                continue
            if value and keep_weights:
                part, r, weights = head.loss_derivative_and_weights(z, Yb)
                self._hessian_weights = (theta.tobytes(), weights)
                total += part
            elif value:
                part, r = head.loss_and_derivative(z, Yb)
                total += part
            else:
                r = head.derivative(z, Yb)
            if r.dtype != np.float64:
                r = r.astype(float)
            if scalar and single:
                G[0, 0] = r.sum()
                np.dot(r, Xb, out=G[0, 1:])
            elif scalar:
                G[0, 0] += float(r.sum())
                np.dot(r, Xb, out=self._row)
                G[0, 1:] += self._row
            else:
                G[:, 0] += self._ones(len(r)) @ r  # a column sum by BLAS: NumPy's axis-0
                # reduction of a narrow (m, K) array is 6× slower
                G[:, 1:] += r.T @ Xb
        if sums is not None:
            self.__dict__["column_means"] = sums / self.n_samples
        return total

    def _dask_sum(self, part: Callable[[AffineObjective], np.ndarray], width: int) -> np.ndarray:
        """Σ over dask blocks of ``part(objective on the block)``: one pass, block by block.

        Each block becomes an in-memory objective (no penalty) whose results are summed;
        nothing but the blocks in flight is ever held, whatever the size of X.
        """
        import dask.array as da

        X, Y = self.X, self.Y.rechunk((self.X.chunks[0],))[:, None]
        name, head = self.name, self.head

        def block(Xb: np.ndarray, Yb: np.ndarray) -> np.ndarray:
            objective = AffineObjective(name, np.asarray(Xb), np.asarray(Yb)[:, 0], head)
            return np.asarray(part(objective), dtype=float).reshape(1, width)

        parts = da.map_blocks(
            block,
            X,
            Y,
            chunks=((1,) * X.numblocks[0], (width,)),
            dtype=float,
            name=_dask_name("symcalc-pass"),  # a fresh name: no hashing of θ and the head
        )
        return np.asarray(parts.sum(axis=0).compute())

    def _dask_pass(self, theta: np.ndarray, gradient: np.ndarray | None, value: bool) -> float:
        n = self.n_parameters

        def part(block: AffineObjective) -> np.ndarray:
            rows = block.n_samples
            if gradient is None:
                return np.array([block.value(theta) * rows])
            total, g = block.value_and_gradient(theta)
            return np.concatenate([[total * rows], g * rows])

        sums = self._dask_sum(part, 1 if gradient is None else n + 1)
        if gradient is not None:
            gradient[:] = sums[1:]
        return float(sums[0])

    # -- ∇²J ----------------------------------------------------------------------------
    def hessian(
        self,
        theta: np.ndarray,
        centre: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ) -> np.ndarray:
        """∇²J(θ): (1/m)·X̃ᵀ diag(ℓ'') X̃ per pair of outputs, plus λ on the weights.

        For softmax the weights are P_c·(1 − P_c) on the diagonal blocks (1 − P_c from
        the other classes, no cancellation) and −P_c·P_d off them.  With ``centre`` (μ,
        one per feature) the Gram products are of [1, X − μ], block by block: the
        Hessian in the coordinates (b + μ·w, w), exact where forming it of X and moving
        the intercept afterwards cancels (features 10⁶ spreads from 0: `Preconditioned`).
        With ``scale`` (s, one per feature; with ``centre`` only) too, of [1, (X − μ)/s]:
        the coordinates (b + μ·w, s·w), where the Gram products neither overflow
        (features near 1e154, whose squares do) nor underflow; the penalty is λ/s².
        Small softmax data (`keeps_row_products`) take every pair's Gram matrix from the
        products x̃ⱼx̃ₖ of the rows, formed once per centre and scale and kept.
        """
        theta = np.asarray(theta, dtype=float)
        K, p1 = self.n_outputs, self.n_features + 1
        if scale is not None and centre is None:
            raise ValueError("a scale needs a centre")
        if centre is not None and scale is None and self._dask:  # moved afterwards (not exact)
            shift = np.eye(K * p1)  # θ = S·θ_c: b = b_c − μ·w
            for k in range(K):
                shift[k * p1, k * p1 + 1 : (k + 1) * p1] = -np.asarray(centre, dtype=float)
            return shift.T @ self.hessian(theta) @ shift
        if K == 1 and not self._dask:
            return self._scalar_hessian(theta, centre, scale)
        products = self._kept_row_products(centre, scale)
        if products is not None:
            return self._hessian_of_products(theta, products, scale)
        H = np.zeros((K, p1, K, p1))
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if self._dask:
                self._dask_hessian(theta, H[0, :, 0, :], centre, scale)
            else:
                budget = _pair_scratch_budget(self.X)
                kept = getattr(self, "_hessian_weights", None)
                for Xb, _, z in self._blocks(theta):
                    if kept is not None and kept[0] == theta.tobytes():
                        P, Q = kept[1]  # from J's pass at this θ: the same numbers
                    else:
                        P, Q = self.head.hessian_weights(z)
                    _add_pair_grams(H, _centred(Xb, centre, scale), P, Q, budget)
        _symmetrize(H, copy_allowed=H.nbytes <= _pair_scratch_budget(self.X))
        H = H.reshape(K * p1, K * p1)
        H *= 0.5 / self.n_samples
        self._add_penalty(H, scale)
        return H

    def _add_penalty(self, H: np.ndarray, scale: np.ndarray | None) -> None:
        """H += λ (λ/s² with a ``scale``) on the weights' diagonal, not the intercepts'."""
        if self.l2:
            K, p1 = self.n_outputs, self.n_features + 1
            weights = np.zeros((K, p1))
            weights[:, 1:] = _penalty_diagonal(self.l2, scale)
            H.flat[:: K * p1 + 1] += weights.ravel()

    @property
    def keeps_row_products(self) -> bool:
        """Whether `hessian` forms a softmax Hessian from kept row products (one row
        block in memory, at most `ROW_PRODUCTS_BYTES` of them: iris, wine)."""
        if self._dask or self.n_outputs == 1 or self._centre is not None:
            return False
        p1 = self.n_features + 1
        size = self.n_samples * (p1 * (p1 + 1) // 2) * 8
        return self.n_samples <= self.block and size <= ROW_PRODUCTS_BYTES

    def _kept_row_products(
        self, centre: np.ndarray | None, scale: np.ndarray | None
    ) -> np.ndarray | None:
        """`_row_products` of [1, (X − μ)/s] for this ``centre`` and ``scale`` (formed on
        the first call, kept for the next), or None where they are not kept."""
        if not self.keeps_row_products:
            return None
        key = tuple(
            None if a is None else np.asarray(a, dtype=float).tobytes() for a in (centre, scale)
        )
        kept = self._products
        if kept is None or kept[0] != key:
            self._products = None  # another centre's go before these come
            with np.errstate(over="ignore", invalid="ignore", under="ignore"):
                R = _row_products(
                    self._rows(0, self.n_samples),
                    None if centre is None else np.asarray(centre, dtype=float),
                    None if scale is None else np.asarray(scale, dtype=float),
                )
            self._products = kept = (key, R)
        return kept[1]

    def forget_row_products(self) -> None:
        """Drop the kept row products (a fit's end: the result keeps its objective)."""
        self._products = None

    def _hessian_of_products(
        self, theta: np.ndarray, products: np.ndarray, scale: np.ndarray | None
    ) -> np.ndarray:
        """`hessian` from the kept row products: the pairs' Gram entries in one product."""
        K, p1 = self.n_outputs, self.n_features + 1
        pairs, gather = _pair_layout(K, p1)
        kept = getattr(self, "_hessian_weights", None)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if kept is not None and kept[0] == theta.tobytes():
                P, Q = kept[1]  # from J's pass at this θ: the same numbers
            else:
                _, _, Z = next(self._blocks(theta))  # one block
                P, Q = self.head.hessian_weights(Z)
            grams = _pair_weights(P, Q, pairs) @ products.T
        grams *= 1.0 / self.n_samples
        H = grams.reshape(-1)[gather].reshape(K * p1, K * p1)
        self._add_penalty(H, scale)
        return H

    def _scalar_hessian(
        self,
        theta: np.ndarray,
        centre: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ) -> np.ndarray:
        """One output: (1/m)·X̃ᵀ diag(ℓ'') X̃ + λ on the weights, by row blocks.  Where ℓ''
        is constant (least squares) it does not depend on θ: formed once per ``centre``
        and ``scale``."""
        constant = getattr(self.head, "constant_curvature", False)
        if constant:
            key = tuple(
                None if a is None else np.asarray(a, dtype=float).tobytes() for a in (centre, scale)
            )
            known = self._constant_hessians.get(key)
            if known is not None:
                return known.copy()
        H = self._scalar_gram_hessian(theta, centre, scale)
        if constant:
            self._constant_hessians[key] = H.copy()
        return H

    def _scalar_gram_hessian(
        self, theta: np.ndarray, centre: np.ndarray | None, scale: np.ndarray | None = None
    ) -> np.ndarray:
        p1 = self.n_features + 1
        H = np.zeros((p1, p1))
        constant = getattr(self.head, "curvature_constant", None)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if constant is not None:  # least squares: c·X̃ᵀX̃, no weighted copy of X
                for Xb, _, _ in self._blocks(theta):
                    _add_constant_gram(H, _centred(Xb, centre, scale), constant)
            else:
                scratch = self._gram_scratch()
                for Xb, Yb, z in self._blocks(theta):
                    Xc = _centred(Xb, centre, scale)
                    _add_weighted_gram(H, Xc, self.head.second(z, Yb), scratch)
            H += H.T  # exactly symmetric (the Gram products round apart)
        H *= 0.5 / self.n_samples
        if self.l2:  # intercepts are not penalized
            H.flat[p1 + 1 :: p1 + 1] += _penalty_diagonal(self.l2, scale)
        return H

    def _gram_scratch(self) -> np.ndarray:
        """The buffer of `_add_weighted_gram`, kept across Hessians (half a block of rows)."""
        if self._scratch is None:
            rows = -(-min(self.block, self.n_samples) // _GRAM_SHARE)
            self._scratch = np.empty((rows, self.n_features))
        return self._scratch

    def diagonal_blocks(
        self,
        theta: np.ndarray,
        centre: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ) -> np.ndarray | None:
        """The K diagonal blocks of ∇²J(θ), (K, p+1, p+1), for K ≥ 2 outputs in memory
        (else None): (1/m)·X̃ᵀ diag(P_c·Q_c) X̃ + λ on the weights, each a Gram product of
        √(P_c·Q_c)·X̃ with itself (NumPy's symmetric rank-k update: half the work of a
        general product), in row slices whose scaled copy fits `PAIR_SCRATCH_FLOOR`
        bytes.  ``centre`` and ``scale`` as in `hessian`.

        A block-Jacobi preconditioner for conjugate gradients on softmax: K Gram products
        where the whole Hessian takes K(K+1)/2.  None where the K blocks would pass the
        softmax Hessian's scratch budget (`PAIR_SCRATCH_FLOOR`: max(X/2, 128 KiB)), which
        they add to a fit's peak memory."""
        K, p1 = self.n_outputs, self.n_features + 1
        if K < 2 or self._dask or 8 * K * p1 * p1 > _pair_scratch_budget(self.X):
            return None  # more than the Hessian's scratch may take (digits: 338 of 460 KiB)
        theta = np.asarray(theta, dtype=float)
        B = np.zeros((K, p1, p1))
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            self._curvature_cache = None  # another θ's (the check's products make their own)
            for Xb, _, z in self._blocks(theta):
                # over the outputs' buffer (one m × K array, not P and Q besides Z: digits'
                # peak 1.32 → 1.16 × X); the outputs are computed again when next asked
                self._outputs_of = None
                roots = self.head.hessian_roots(z)
                Xc = _centred(Xb, centre, scale)
                step = max(16, PAIR_SCRATCH_FLOOR // (p1 * Xc.itemsize))
                scaled = np.empty((min(step, Xc.shape[0]), p1))
                for start in range(0, Xc.shape[0], step):
                    part = Xc[start : start + step]
                    rows = scaled[: part.shape[0]]
                    for c in range(K):
                        weight = roots[start : start + step, c]
                        rows[:, 0] = weight
                        np.einsum("ij,i->ij", part, weight, out=rows[:, 1:])
                        B[c] += rows.T @ rows  # one array with its transpose: syrk
        B *= 1.0 / self.n_samples
        if self.l2:
            B[:, np.arange(1, p1), np.arange(1, p1)] += _penalty_diagonal(self.l2, scale)
        return B

    def _dask_hessian(
        self,
        theta: np.ndarray,
        H: np.ndarray,
        centre: np.ndarray | None = None,
        scale: np.ndarray | None = None,
    ) -> None:
        """Σ over the blocks of m_b·∇²J_b (each block in memory: ``centre`` and ``scale``
        as in `hessian`, exact on every block)."""
        p1 = self.n_features + 1

        def part(block: AffineObjective) -> np.ndarray:
            return (block.hessian(theta, centre, scale) * block.n_samples).ravel()

        sums = self._dask_sum(part, p1 * p1)
        H[...] = sums.reshape(p1, p1)

    def hessian_vector(
        self, theta: np.ndarray, v: np.ndarray, centre: np.ndarray | None = None
    ) -> np.ndarray:
        """∇²J(θ)·v = (1/m)·X̃ᵀ[(∂²ℓ/∂z²)·(X̃V)] + λ·(0, v_w), without forming ∇²J.

        With ``centre`` (μ) v and the product are in the coordinates (b + μ·w, w) of
        `hessian`: X̃ is [1, X − μ], block by block, so features far from 0 lose nothing
        to cancellation (X̃V and X̃ᵀr of the raw X would lose (μ/s)·ε each).
        """
        theta = np.asarray(theta, dtype=float)
        K, p1 = self.n_outputs, self.n_features + 1
        V = np.asarray(v, dtype=float).reshape(K, p1)
        if centre is not None and self._dask:  # moved before and after (not exact)
            mu = np.asarray(centre, dtype=float)
            user = V.copy()
            user[:, 0] -= V[:, 1:] @ mu  # b = b_c − μ·w
            product = self.hessian_vector(theta, user.ravel()).reshape(K, p1)
            product[:, 1:] -= product[:, :1] * mu  # the transpose: g_w − μ·g_b
            return product.ravel()
        out = np.zeros((K, p1))
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            if self._dask:
                sums = self._dask_sum(
                    lambda b: b.hessian_vector(theta, v) * b.n_samples, self.n_parameters
                )
                out[...] = sums.reshape(K, p1)
            else:
                states = self._curvature_states(theta)
                by_class = self._by_class
                weights = V[:, 1:] if by_class else np.ascontiguousarray(V[:, 1:].T)
                for (start, stop), state in zip(self._row_blocks(), states, strict=True):
                    Xb = _centred(self._rows(start, stop), centre)
                    rows = stop - start
                    if by_class:  # Uᵀ = W·X̃ᵀ, K × rows
                        U = np.dot(weights, Xb.T, out=self._directions((K, rows)))
                        U += V[:, :1]
                        r = self.head.apply_class_curvature(state, U)
                        out[:, 0] += r @ self._ones(rows)
                        out[:, 1:] += r @ Xb
                        continue
                    U = np.dot(Xb, weights, out=self._directions((rows, K)))
                    U += V[:, 0]
                    if K == 1:
                        r = self.head.apply_curvature(state, U[:, 0])[:, None]
                    else:
                        r = self.head.apply_curvature(state, U)
                    out[:, 0] += self._ones(rows) @ r
                    out[:, 1:] += r.T @ Xb
        out /= self.n_samples
        if self.l2:
            out[:, 1:] += self.l2 * V[:, 1:]
        return out.ravel()

    @property
    def _by_class(self) -> bool:
        """Whether Hessian-vector products run on Uᵀ (K × m: the head reads it by class)."""
        return self.n_outputs > 1 and hasattr(self.head, "apply_class_curvature")

    def _directions(self, shape: tuple[int, int]) -> np.ndarray:
        """A C-contiguous ``shape`` array (a block's rows × K numbers at most) for X̃V in
        `hessian_vector`, over the outputs' buffer (which then no longer holds the
        outputs of any θ): conjugate gradients ask many products, and each wrote a fresh
        m × K array (an allocation of 144 KiB on digits, mapped and unmapped each time)."""
        self._outputs_of = None
        return self._Z.reshape(-1)[: shape[0] * shape[1]].reshape(shape)

    def _ones(self, rows: int) -> np.ndarray:
        """A vector of ``rows`` ones (at most a block), kept: column sums as products."""
        ones = getattr(self, "_ones_cache", None)
        if ones is None or len(ones) < rows:
            ones = self._ones_cache = np.ones(min(self.block, self.n_samples))
        return ones[:rows]

    def _row_blocks(self) -> list[tuple[int, int]]:
        return [
            (start, min(start + self.block, self.n_samples))
            for start in range(0, self.n_samples, self.block)
        ]

    def _curvature_states(self, theta: np.ndarray) -> list:
        """The head's curvature at each block's outputs, kept for the last θ: the
        conjugate-gradient steps of Newton-CG ask many products at one θ."""
        key = theta.tobytes()
        cached = getattr(self, "_curvature_cache", None)
        if cached is not None and cached[0] == key:
            return cached[1]
        self._curvature_cache = cached = None  # the old θ's states go before the new come
        if self._by_class:
            states = [self.head.class_curvature_state(z) for _, _, z in self._blocks(theta)]
        else:
            states = [self.head.curvature_state(z.copy(), Yb) for _, Yb, z in self._blocks(theta)]
        self._curvature_cache = (key, states)
        return states

    def separable(self, theta: np.ndarray) -> bool | str | tuple[str, ...]:
        """True when θ classifies every sample right with a positive margin; for softmax
        also a class, or a group of classes (a tuple), that θ separates from the others.

        A group G of classes separated from the rest by a hyperplane u (u·x̃ > 0 exactly
        on the samples whose class is in G) already puts the optimum at infinity: adding
        t·u to the rows of every class in G lowers every sample's loss (for a label in G
        the logits outside G fall against it, for a label outside G those in G fall), for
        every θ and t > 0, so no θ is a minimizer.  The candidates are read off θ: each
        class alone, and the groups of the classes whose rows lie furthest along θ's
        principal direction (an iterate running off along t·u has its G rows apart from
        the others along u); for each, u is the mean of G's rows minus the mean of the
        others' (the direction of the run, whatever it does in softmax's null space).
        """
        if not self.classifier:
            return False
        theta = np.asarray(theta, dtype=float)
        if self._dask:
            wrong = self._dask_sum(lambda b: np.array([0.0 if b.separable(theta) else 1.0]), 1)
            return bool(wrong[0] == 0)
        K = self.n_outputs
        groups = self._candidate_groups(theta)
        # S = Z·M: column j is u_j·x̃ per sample, u_j = mean of group j's rows − the rest's
        M = np.where(groups.T, 1.0 / groups.sum(axis=1), -1.0 / (K - groups.sum(axis=1)))
        every = True
        alone = np.full(len(groups), K > 1)  # group j separated from the rest so far
        for _, Yb, z in self._blocks(theta):
            every = every and bool(self.head.correct(z, Yb).all())
            if alone.any():
                S = np.asarray(z, dtype=float) @ M
                mine = groups.T[np.asarray(Yb, dtype=int)]  # (rows, groups): label in group
                alone &= np.where(mine, S > 0, S < 0).all(axis=0)
            if not (every or alone.any()):
                return False
        if every:
            return True
        if not alone.any():
            return False
        members = np.flatnonzero(groups[int(np.flatnonzero(alone)[0])])
        names = tuple(str(self.head.classes[int(c)]) for c in members)
        return names[0] if len(names) == 1 else names

    def smallest_curvature(self, theta: np.ndarray) -> float | None:
        """min over the samples of ∂²ℓ/∂z² at θ (one output, in memory), else None.

        Where θ's outputs are kept from the pass that evaluated J there (`_kept`) and
        the column sums from the first pass (`_numpy_pass`), X is not read at all; else
        one pass, which also sums the columns for `column_means` if they are not known
        yet, each block while it is in cache from its outputs.  (The floor took two
        passes, 7 % of L-BFGS on 10⁵ × 50; now none.)"""
        if self.n_outputs != 1 or self._dask or not self.has_hessian:
            return None
        smallest = math.inf
        theta = np.asarray(theta, dtype=float)
        kept = self._kept_outputs(theta)
        if kept is not None and "column_means" in self.__dict__:  # no pass over X
            with np.errstate(over="ignore", invalid="ignore", under="ignore"):
                for start in range(0, self.n_samples, self.block):
                    stop = start + self.block
                    part = self.head.second(kept[start:stop], self.Y[start:stop])
                    smallest = min(smallest, float(np.min(part)))
            return smallest if math.isfinite(smallest) else None
        total = None if "column_means" in self.__dict__ else np.zeros(self.n_features)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            for Xb, Yb, z in self._blocks(theta):
                smallest = min(smallest, float(np.min(self.head.second(z, Yb))))
                if total is not None:
                    total += self._ones(len(Xb)) @ Xb
        if total is not None and self._centre is None:
            self.__dict__["column_means"] = total / self.n_samples
        return smallest if math.isfinite(smallest) else None

    def weighted_curvature(self, theta: np.ndarray) -> tuple[float, np.ndarray] | None:
        """(the mean of ∂²ℓ/∂z² over the samples, the features' mean weighted by it) at θ
        (one output, in memory; one pass, with the outputs kept from J's pass where they
        are), or None.

        (1/m)Σ ℓ''ᵢ(α + xᵢ·β)² ≥ ā·(α + x̄_a·β)² (the weighted variance is not negative):
        a curvature floor that holds where some sample's ℓ'' is tiny (a point far from
        the boundary), where the smallest ℓ'' (`smallest_curvature`) gives none."""
        if self.n_outputs != 1 or self._dask or not self.has_hessian:
            return None
        theta = np.asarray(theta, dtype=float)
        total, sums = 0.0, np.zeros(self.n_features)
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            for Xb, Yb, z in self._blocks(theta):
                a = self.head.second(z, Yb)
                total += float(a.sum())
                sums += a @ Xb
        if not (total > 0 and math.isfinite(total) and np.isfinite(sums).all()):
            return None
        return total / self.n_samples, sums / total

    def largest_row_norm(self, centre: np.ndarray, scale: np.ndarray) -> float | None:
        """An upper bound on max over the samples of ‖(xᵢ − centre)/scale‖₂:
        (maxᵢ‖xᵢ‖ + ‖centre‖)/min(scale), from one pass by row blocks (‖xᵢ‖², 1.5 ms on
        10⁵ × 50, where the exact norms of the scaled rows took 12 ms), kept; None for
        dask data or where it is not finite.

        How far one sample's output can move when θ' moves by r in the standardized
        coordinates of `symcalc.learn.scaling` (|Δzᵢ| ≤ r·√(1 + this²)): what the
        certified stop (`Preconditioned.certified_gap`) needs to bound ∂²ℓ/∂z² on a ball.
        """
        if self._dask:
            return None
        largest = math.sqrt(self._row_squares()[0])
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            found = (largest + float(np.linalg.norm(centre))) / float(np.min(scale))
        return found if math.isfinite(found) else None

    def intercept_certificate(
        self, theta: np.ndarray, centre: np.ndarray
    ) -> InterceptCertificate | None:
        """What the certified stop of a softmax fit needs at θ (user units, in memory):
        the intercepts' curvature and one Newton step on them with W held fixed, and the
        weights' gradient there (`InterceptCertificate`); None for other models or where
        a number is not finite.

        One K × m array of probabilities per row block (`class_curvature_state`, which
        only reads the outputs kept from J's pass): at b + δ they are those at b times
        e^δ, renormalized, in place.  Then one product Pᵀ·X."""
        head = self.head
        K, m = self.n_outputs, self.n_samples
        if K < 2 or self._dask or not hasattr(head, "class_curvature_state") or not self.l2:
            return None
        theta = np.asarray(theta, dtype=float)
        centre = np.asarray(centre, dtype=float)
        basis = _sum_free_basis(K)
        counts, class_sums = self._class_sums()
        totals = np.zeros(K)  # Σᵢ pᵢ
        products = np.zeros((K, K))  # Σᵢ pᵢpᵢᵀ
        single = self.n_samples <= self.block
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            for _, _, Z in self._blocks(theta):
                P = head.class_curvature_state(Z)[0]
                totals += P @ self._ones(P.shape[1])
                products += P @ P.T
            # A = (1/m)Σ(diag pᵢ − pᵢpᵢᵀ), diag(Σpᵢ) − PᵀP: each entry a sum over the samples
            curvature = -products
            curvature.flat[:: K + 1] += totals
            curvature /= m
            reduced = basis.T @ curvature @ basis
            gradient = basis.T @ ((totals - counts) / m)
            if not (np.isfinite(reduced).all() and np.isfinite(gradient).all()):
                return None
            values, vectors = np.linalg.eigh(reduced)
            # sums of m products of numbers in [0, 1], and the eigensolver: their rounding
            # moves an eigenvalue by far less than this
            error = 4 * K * (m + K) * np.finfo(float).eps * float(np.max(np.abs(curvature)))
            smallest = float(values[0]) - error
            if not smallest > 0:
                return None
            step = -(basis @ (vectors @ ((vectors.T @ gradient) / values)))
            scale = np.exp(step - step.max())
            stepped, weights = np.zeros(K), np.zeros((K, self.n_features))
            for Xb, _, Z in self._blocks(theta):
                if not single:
                    P = head.class_curvature_state(Z)[0]
                P *= scale[:, None]  # pᵢₖ·e^δₖ, renormalized: softmax at b + δ
                norms = P.sum(axis=0)
                for row in P:  # a class at a time: broadcasting buffered 64 KiB
                    row /= norms
                sums = P @ self._ones(P.shape[1])
                stepped += sums
                weights += P @ Xb
                weights -= np.outer(sums, centre)
            del P
            weights -= class_sums - np.outer(counts, centre)  # Σᵢ yᵢ(xᵢ − c)ᵀ
            weights /= m
            _, W = self._weights(theta)
            weights += self.l2 * W
            found = InterceptCertificate(
                gradient=float(np.linalg.norm(gradient)),
                curvature=smallest,
                step=float(np.linalg.norm(step)),
                stepped_gradient=float(np.linalg.norm(basis.T @ ((stepped - counts) / m))),
                weight_gradient=float(np.linalg.norm(weights)),
                spread=self.root_mean_square_distance(centre),
                l2=self.l2,
            )
        return found if found.finite else None

    def _class_sums(self) -> tuple[np.ndarray, np.ndarray]:
        """(samples per class, Σ of their rows of X) for class codes, one pass, kept."""
        found = getattr(self, "_class_sums_cache", None)
        if found is None:
            K = self.n_outputs
            counts, sums = np.zeros(K), np.zeros((K, self.n_features))
            for start, stop in self._row_blocks():
                codes = np.asarray(self.Y[start:stop])
                rows = self._rows(start, stop)
                for k in range(K):
                    member = (codes == k).astype(float)
                    counts[k] += member.sum()
                    sums[k] += member @ rows
            found = self._class_sums_cache = (counts, sums)
        return found

    def _row_squares(self) -> tuple[float, float]:
        """(max ‖xᵢ‖², Σ‖xᵢ‖²) over the rows, from one pass over X, kept."""
        found = getattr(self, "_row_squares_cache", None)
        if found is None:
            largest = total = 0.0
            with np.errstate(over="ignore", invalid="ignore"):
                for start, stop in self._row_blocks():
                    part = self._rows(start, stop)
                    norms = np.einsum("ij,ij->i", part, part)
                    largest = max(largest, float(np.max(norms)))
                    total += float(np.sum(norms))
            found = self._row_squares_cache = (largest, total)
        return found

    def root_mean_square_distance(self, centre: np.ndarray) -> float:
        """An upper bound on √((1/m)Σᵢ‖xᵢ − centre‖²), from Σ‖xᵢ‖² (one pass, kept) and
        the column means; rounding is covered by a relative margin of 1e-12."""
        squares = self._row_squares()[1] / self.n_samples
        means = self.column_means
        with np.errstate(over="ignore", invalid="ignore"):
            value = squares - 2.0 * float(means @ centre) + float(centre @ centre)
            margin = 1e-12 * (squares + float(centre @ centre)) + 1e-300
        return math.sqrt(max(value, 0.0) + margin)

    @functools.cached_property
    def column_means(self) -> np.ndarray | None:
        """The exact mean of each feature (one pass by row blocks); None for dask data."""
        if self._dask:
            return None
        total = np.zeros(self.n_features)
        for start, stop in self._row_blocks():
            total += self._ones(stop - start) @ self._rows(start, stop)  # BLAS: 2× NumPy's sum
        return total / self.n_samples

    def least_norm(self, theta: np.ndarray) -> tuple[np.ndarray, int]:
        """(θ with the least-norm weights among the θ of the same outputs, the dimension
        of that set); (θ, 0) where the centred features have full rank, or where this
        would cost more than `LEAST_NORM_OPERATIONS` (m·p²) or the data are dask arrays.

        Where X − μ has null directions n (collinear or constant features, fewer samples
        than features), b + X·w does not change when w moves along n and b by −μ·n, and
        without a penalty neither does J: its minimizers form an affine set.  The one
        returned has each class's w orthogonal to them (b adjusted, outputs unchanged):
        the limit of ridge as λ → 0, what scikit-learn's LinearRegression gives.  The
        null directions are the eigenvectors of the standardized centred Gram matrix
        with eigenvalues below `LEAST_NORM_RANK` of the largest, mapped to your units.
        """
        m, p = self.n_samples, self.n_features
        theta = np.array(theta, dtype=float)
        if self._dask or m * p * p > LEAST_NORM_OPERATIONS:
            return theta, 0
        step = max(1, min(LEAST_NORM_ROWS, -(-m // 8)))  # centred rows: ≤ X/8 at a time
        buffer = np.empty((step, p))
        mean = self.column_means
        C = np.zeros((p, p))
        with np.errstate(over="ignore", invalid="ignore"):
            for start in range(0, m, step):
                part = self._rows(start, min(start + step, m))
                centred = np.subtract(part, mean, out=buffer[: len(part)])
                C += centred.T @ centred
        if not np.isfinite(C).all():
            return theta, 0
        spread = np.sqrt(np.maximum(C.diagonal(), 0.0))
        varying = spread > 0
        basis = [np.eye(p)[:, ~varying]]  # a constant column is a null direction itself
        if varying.all() and m > p and _clearly_positive(C / np.outer(spread, spread)):
            return theta, 0
        if varying.any():
            sub = C[np.ix_(varying, varying)] / np.outer(spread[varying], spread[varying])
            values, vectors = np.linalg.eigh(sub)
            small = values <= LEAST_NORM_RANK * values[-1]
            directions = np.zeros((p, int(small.sum())))
            directions[varying] = vectors[:, small] / spread[varying, None]
            basis.append(directions)
        N = np.concatenate(basis, axis=1)
        if N.shape[1] == 0:
            return theta, 0
        N = np.linalg.qr(N)[0]
        Theta = theta.reshape(self.n_outputs, p + 1).copy()
        W = Theta[:, 1:].copy()
        with np.errstate(over="ignore", invalid="ignore"):
            along = (W @ N) @ N.T
            Theta[:, 0] += along @ mean  # b + μ·(w − w_new): the outputs stay
            Theta[:, 1:] = W - along
        if not np.isfinite(Theta).all():
            return theta, 0
        return Theta.ravel(), N.shape[1]

    def largest_margin(self, theta: np.ndarray) -> float:
        """The largest margin over the samples at θ: s·z for logistic (s = ±1), z_y minus
        the largest other logit for softmax (−inf for one that is not a classifier).
        A sample of margin μ has loss below e^(−μ)."""
        if not self.classifier or self._dask:
            return -math.inf
        largest = -math.inf
        for _, Yb, z in self._blocks(np.asarray(theta, dtype=float)):
            if self.n_outputs == 1:
                margins = np.where(np.asarray(Yb) > 0.5, z, -z)
            else:
                rows = np.arange(len(z))
                codes = np.asarray(Yb, dtype=np.intp)
                others = np.array(z, dtype=float)
                others[rows, codes] = -np.inf
                margins = z[rows, codes] - others.max(axis=1)
            largest = max(largest, float(np.max(margins)))
        return largest

    def recession_direction(self) -> np.ndarray | None:
        """A direction D (θ's shape, your units) along which no sample's loss rises and
        some sample's falls, or None: none exists, the data are dask arrays, or the
        linear programme would have more than `RECESSION_LP_NONZEROS` nonzeros.

        For a classifier without penalty such a D exists exactly when J has no minimizer
        (J(θ + tD) falls for ever, for every θ); without one J grows along every
        direction outside softmax's null space.  D comes from a linear programme in
        standardized units (HiGHS, through SciPy): (D_c − D_y)·x̃ ≤ 0 for every sample
        and every class c other than its label y (logistic: s·(u·x̃) ≥ 0, s = ±1), their
        sum ≤ −1; and the answer is checked in float64: the largest rise at most
        `RECESSION_RISE` of the largest fall (along tD J then falls at least until
        t·rise ≈ 1, so a minimizer, if any, lies beyond |θ| ≈ 1e9/fall, where z = θ·x̃
        has lost every digit: none in float64).  It
        finds what the checks on θ cannot: samples on the separating hyperplane
        (quasi-complete separation), or a run that stopped before θ ran off.
        """
        import scipy.optimize
        import scipy.sparse

        if not self.classifier or self._dask:
            return None
        K, p = self.n_outputs, self.n_features
        m, p1 = self.n_samples, p + 1
        rows = m * max(K - 1, 1)
        if rows * 2 * p1 > RECESSION_LP_NONZEROS:
            return None
        from .scaling import column_moments

        X = np.asarray(self.X, dtype=float)
        mean, spread = column_moments(X)  # no overflow of the squares at 1e154
        spread[~(spread > 0)] = 1.0
        tilde = np.empty((m, p1))
        tilde[:, 0] = 1.0
        tilde[:, 1:] = (X - mean) / spread
        if K == 1:
            sign = np.where(np.asarray(self.Y) > 0.5, 1.0, -1.0)
            A = scipy.sparse.csr_matrix(-sign[:, None] * tilde)
        else:
            codes = np.asarray(self.Y, dtype=np.intp)
            sample = np.repeat(np.arange(m), K - 1)
            other = np.arange(K - 1)[None, :] + (np.arange(K - 1)[None, :] >= codes[:, None])
            other = other.ravel()
            own = codes[sample]
            columns = np.arange(p1)[None, :]
            data = np.concatenate([tilde[sample], -tilde[sample]], axis=1).ravel()
            cols = np.concatenate(
                [other[:, None] * p1 + columns, own[:, None] * p1 + columns], axis=1
            ).ravel()
            index = np.repeat(np.arange(rows), 2 * p1)
            A = scipy.sparse.csr_matrix((data, (index, cols)), shape=(rows, K * p1))
        total = np.asarray(A.sum(axis=0)).ravel()
        found = scipy.optimize.linprog(
            np.zeros(A.shape[1]),
            A_ub=scipy.sparse.vstack([A, scipy.sparse.csr_matrix(total[None, :])]),
            b_ub=np.r_[np.zeros(rows), -1.0],
            bounds=(-1e4, 1e4),
            method="highs",
        )
        if found.status != 0:
            return None
        x = found.x
        slack = A @ x
        fall = -slack.min()
        active = slack > -1e-6 * fall  # on the hyperplane: HiGHS leaves them ±1e-7
        if fall > 0 and 0 < active.sum() <= RECESSION_ACTIVE:
            # put them on it exactly: the least change of D with A_active·D = 0
            rows_active = A[np.flatnonzero(active)].toarray()
            x = x - np.linalg.lstsq(rows_active, rows_active @ x, rcond=None)[0]
            slack = A @ x
        if not (slack.min() < 0 and slack.max() <= RECESSION_RISE * -slack.min()):
            return None
        D = x.reshape(-1, p1).copy()  # standardized units → yours: w = w'/s, b = b' − μ·w
        D[:, 1:] /= spread
        D[:, 0] -= D[:, 1:] @ mean
        return D.ravel()

    def _candidate_groups(self, theta: np.ndarray) -> np.ndarray:
        """Boolean (groups, K): each class alone, then for K > 3 the top j classes (2 ≤ j ≤
        K − 2) along the principal direction of θ's rows (weights and intercepts, their
        mean removed).  Empty for one output."""
        K = self.n_outputs
        if K == 1:
            return np.zeros((0, 1), dtype=bool)
        groups = [np.eye(K, dtype=bool)]
        if K > 3:
            rows = theta.reshape(K, self.n_features + 1)
            rows = rows - rows.mean(axis=0)
            if np.isfinite(rows).all() and rows.any():
                direction = np.linalg.svd(rows, full_matrices=False)[2][0]
                order = np.argsort(rows @ direction)
                top = np.zeros((K - 3, K), dtype=bool)
                for j in range(2, K - 1):
                    top[j - 2, order[-j:]] = True
                groups.append(top)
        return np.concatenate(groups)

    # -- step size ------------------------------------------------------------------
    def gram(self) -> np.ndarray | None:
        """X̃ᵀX̃ for X̃ = [1, X] ((p+1) × (p+1), by row blocks); None above 2000 features."""
        return _gram(self.X)

    @property
    def lipschitz(self) -> float | None:
        """curvature · λ_max(X̃ᵀX̃)/m + λ, with X̃ = [1, X]; None for a loss with no bound."""
        if self.head.curvature is None:
            return None
        if self._lipschitz is None:
            self._lipschitz = (
                self.head.curvature * _largest_gram_eigenvalue(self.X) / self.n_samples + self.l2
            )
        return self._lipschitz

    # -- reading θ ----------------------------------------------------------------------
    def initial(self, seed: int = 0) -> np.ndarray:
        """θ₀ = 0: the objective is convex, any start reaches the same optimum."""
        return np.zeros(self.n_parameters)

    def outputs(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        bias, W = self._weights(np.asarray(theta, dtype=float))
        Z = np.asarray(X, dtype=float) @ W.T + bias
        return Z[:, 0] if self.n_outputs == 1 else Z

    def predict(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        """Predictions: numbers for regression, class labels for classifiers."""
        return self.head.predict(self.outputs(theta, X))

    def parameter_names(self, features: Sequence[str]) -> tuple[str, ...]:
        """A name for each entry of θ: ``intercept``, the features; per class for softmax."""
        names = ("intercept", *features)
        if self.n_outputs == 1:
            return names
        return tuple(f"{c}: {name}" for c in self.head.classes for name in names)

    def theta_for_json(self, theta: np.ndarray) -> Any:
        """θ as lists: (b, w...) for one output, one such list per class for softmax."""
        Theta = np.asarray(theta, dtype=float).reshape(self.n_outputs, self.n_features + 1)
        rows = [[float(v) for v in row] for row in Theta]
        return rows[0] if self.n_outputs == 1 else rows

    def __repr__(self) -> str:
        return f"<{self.name} objective: {self.n_samples} samples, {self.n_parameters} parameters>"


#: `AffineObjective.recession_direction` builds its linear programme up to this many
#: nonzeros (m·(K − 1) constraints of 2(p + 1) each): up to a few seconds of HiGHS.
RECESSION_LP_NONZEROS = 1_000_000
#: ... and accepts its D where no sample's loss rises by more than this times the largest
#: fall (HiGHS solves to a tolerance: 1.7e-11 against 0.05 on 12 near-collinear samples).
RECESSION_RISE = 1e-9
#: ... after moving the samples HiGHS leaves within 1e-6 of the hyperplane (at most this
#: many) onto it exactly.
RECESSION_ACTIVE = 2000


def _clearly_positive(R: np.ndarray) -> bool:
    """Whether the correlation matrix R factors by Cholesky with every pivot² ≥ 1e-8
    (a fast "full rank" before `AffineObjective.least_norm`'s eigenvalues: an exactly
    duplicated column leaves a pivot² of about 1e-16)."""
    import scipy.linalg.lapack

    factor, info = scipy.linalg.lapack.dpotrf(R, lower=1, clean=0)
    return info == 0 and float(np.min(np.abs(factor.diagonal()))) ** 2 >= 1e-8


#: `AffineObjective.least_norm` runs up to this many operations (m·p², two passes).
LEAST_NORM_OPERATIONS = 5e7
#: ... reading this many centred rows at a time ...
LEAST_NORM_ROWS = 1024
#: ... and counts an eigenvalue of the standardized centred Gram matrix (its largest is
#: between 1 and p) below this times the largest as a null direction.
LEAST_NORM_RANK = 1e-10

_DASK_NAMES = itertools.count()


def _dask_name(prefix: str) -> str:
    return f"{prefix}-{os.getpid()}-{next(_DASK_NAMES)}"


def _gram(X: Any) -> np.ndarray | None:
    """X̃ᵀX̃ with X̃ = [1, X], by row blocks (no copy of X); None above 2000 features."""
    n, p = X.shape
    if p > 2000:
        return None
    if _is_dask(X):
        import dask.array as da

        def block(Xb: np.ndarray) -> np.ndarray:
            full = _gram(np.asarray(Xb))
            return full.reshape(1, (p + 1) ** 2)

        parts = da.map_blocks(
            block,
            X,
            chunks=((1,) * X.numblocks[0], ((p + 1) ** 2,)),
            dtype=float,
            name=_dask_name("symcalc-gram"),
        )
        return np.asarray(parts.sum(axis=0).compute()).reshape(p + 1, p + 1)
    gram, sums = np.zeros((p, p)), np.zeros(p)
    rows = _block_rows(p, X.dtype.itemsize)
    with np.errstate(over="ignore", invalid="ignore"):
        for start in range(0, n, rows):
            Xb = np.asarray(X[start : start + rows], dtype=float)
            gram += Xb.T @ Xb
            sums += Xb.sum(axis=0)
    full = np.empty((p + 1, p + 1))
    full[0, 0] = n
    full[0, 1:] = full[1:, 0] = sums
    full[1:, 1:] = gram
    return full


def _largest_gram_eigenvalue(X: Any) -> float:
    """λ_max of X̃ᵀX̃ with X̃ = [1, X], without building X̃."""
    full = _gram(X)
    if full is None:  # power iteration on X̃ᵀX̃; 1% margin for the unconverged tail
        v = np.ones(X.shape[1] + 1) / math.sqrt(X.shape[1] + 1)
        estimate = 0.0
        for _ in range(50):
            z = X @ v[1:] + v[0]
            u = np.concatenate([[z.sum()], z @ X])
            estimate = float(np.linalg.norm(u))
            v = u / estimate
        return 1.01 * estimate
    if not np.isfinite(full).all():
        raise SymcalcError(
            "the features are too large to square (XᵀX overflows); standardize them "
            "(`standardize=True`)",
            parameter="standardize",
        )
    return float(np.linalg.eigvalsh(full)[-1])


class MLPObjective(Objective):
    """J of a network of any depth (`symcalc.learn.network`), gradient by backpropagation.

    θ = (each layer in turn: for each unit its intercept then its weights on the layer
    below; the output layer last).  ``hidden`` is the tuple of hidden widths (one entry
    for the one-hidden-layer network).
    """

    def __init__(
        self,
        name: str,
        X: np.ndarray,
        Y: np.ndarray,
        head: Any,
        hidden: int | Sequence[int],
        activation: Entry,
        l2: float = 0.0,
        convention: str = "zero",
        *,
        init: str = "xavier",
        output_activation: str = "",
    ):
        self.name = name
        self.head = head
        self.l2 = _check_l2(l2)
        self.X, self.Y = X, Y
        self.n_samples, self.n_features = (int(s) for s in X.shape)
        self.hidden = hidden_sizes(hidden)
        self.activation = activation
        self.n_outputs = head.n_outputs
        self.architecture = Architecture(self.n_features, self.hidden, self.n_outputs)
        self.n_parameters = self.architecture.n_parameters
        self._phi = kernel_for(activation)
        # f′ and f″ at a kink follow the model's convention, as its derivation states
        self._dphi = kernel_for(activation, 1, convention=convention)
        widest = max(self.hidden)
        self.block = max(256, min(4096, _block_rows(self.n_features + 2 * widest, 8)))
        self.classifier = getattr(head, "classes", None) is not None
        self.convention = convention
        self.init = init
        self.output_activation = output_activation or (
            "softmax" if self.n_outputs > 1 else "identity"
        )

    def _weight_slices(self) -> tuple[tuple[int, int], ...]:
        return self.architecture.weight_slices()

    def on(self, X: np.ndarray, Y: np.ndarray) -> MLPObjective:
        """The same network and penalty on other data (``Y`` encoded as the head takes it)."""
        return MLPObjective(
            self.name,
            X,
            Y,
            self.head,
            self.hidden,
            self.activation,
            self.l2,
            self.convention,
            init=self.init,
            output_activation=self.output_activation,
        )

    @property
    def feature_blocks(self) -> tuple[int, ...]:
        return self.architecture.feature_blocks

    def penalty(self, theta: np.ndarray) -> float:
        tables = self.architecture.tables(np.asarray(theta, dtype=float))
        return 0.5 * self.l2 * float(sum(np.vdot(t[:, 1:], t[:, 1:]) for t in tables))

    def _evaluate(
        self, theta: np.ndarray, gradient: np.ndarray | None, value: bool = True
    ) -> float:
        arch = self.architecture
        if gradient is not None:
            gradient.fill(0.0)
        total = 0.0
        for start in range(0, self.n_samples, self.block):
            Xb = self.X[start : start + self.block]
            Yb = self.Y[start : start + self.block]
            pre, acts, Z = arch.forward(theta, Xb, self._phi)
            if self.n_outputs == 1:
                Z = Z[:, 0]
            if value:
                total += self.head.loss_sum(Z, Yb)
            if gradient is None:
                continue
            delta = self.head.derivative(Z, Yb)  # δ⁽ᴸ⁾ = ∂ℓ/∂z⁽ᴸ⁾, per sample
            if delta.ndim == 1:
                delta = delta[:, None]
            # δ⁽ˡ⁾ = (δ⁽ˡ⁺¹⁾W⁽ˡ⁺¹⁾) ⊙ f′(z⁽ˡ⁾): f′ from the activation's symbolic derivative
            arch.backward(theta, pre, acts, delta, self._dphi, gradient)
        m = self.n_samples
        if gradient is not None:
            gradient /= m
            if self.l2:
                gradient += self.penalty_gradient(theta)
        return total / m + self.penalty(theta)

    def hessian_vector(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """∇²J(θ)·v by the chain rule applied to backpropagation (Pearlmutter's R-operator).

        R{·} is the derivative along v, carried forward through every layer and back
        (`symcalc.learn.network.Architecture.backward_r`); R{δ⁽ᴸ⁾} = (∂²ℓ/∂z²)·R{z⁽ᴸ⁾}
        from the head, f″ the kernel of the activation's symbolic second derivative.
        Cost: about two gradient passes.
        """
        theta = np.asarray(theta, dtype=float)
        v = np.asarray(v, dtype=float)
        out = np.zeros(self.n_parameters)
        kernels = Kernels(
            self._phi,
            self._dphi,
            lambda: kernel_for(self.activation, 2, convention=self.convention),
        )
        scalar = self.n_outputs == 1
        with np.errstate(over="ignore", invalid="ignore", under="ignore"):
            for start in range(0, self.n_samples, self.block):
                Xb = self.X[start : start + self.block]
                Yb = self.Y[start : start + self.block]

                def head_r(Z, RZ, Yb=Yb):
                    if scalar:
                        delta = self.head.derivative(Z[:, 0], Yb)[:, None]
                        return delta, self.head.hessian_vector(Z[:, 0], Yb, RZ[:, 0])[:, None]
                    return self.head.derivative(Z, Yb), self.head.hessian_vector(Z, Yb, RZ)

                self.architecture.backward_r(theta, v, Xb, head_r, kernels, out)
        out /= self.n_samples
        if self.l2:
            out += self.penalty_gradient(v)
        return out

    @property
    def lipschitz(self) -> None:
        """None: a network's gradient has no global Lipschitz bound."""
        return None

    def initial(self, seed: int = 0) -> np.ndarray:
        """Weights drawn by the named initialization ``init`` (seeded), zero intercepts."""
        return self.architecture.initial(self.init, np.random.default_rng(seed))

    def outputs(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        Z = self.architecture.forward(
            np.asarray(theta, dtype=float), np.asarray(X, dtype=float), self._phi
        )[2]
        return Z[:, 0] if self.n_outputs == 1 else Z

    def predict(self, theta: np.ndarray, X: np.ndarray) -> np.ndarray:
        return self.head.predict(self.outputs(theta, X))

    def _unit_names(self, layer: int) -> list[str]:
        depth = len(self.hidden)
        if layer == depth:  # the output layer
            classes = getattr(self.head, "classes", None)
            return list(classes if self.n_outputs > 1 and classes else ("output",))
        prefix = "hidden" if depth == 1 else f"layer {layer + 1} unit"
        return [f"{prefix} {u}" for u in range(1, self.hidden[layer] + 1)]

    def parameter_names(self, features: Sequence[str]) -> tuple[str, ...]:
        """A name for each entry of θ: layer by layer, each unit's intercept first."""
        names: list[str] = []
        inputs = list(features)
        for layer in range(len(self.hidden) + 1):
            units = self._unit_names(layer)
            for unit in units:
                names += [f"{unit}: intercept", *(f"{unit}: {f}" for f in inputs)]
            inputs = units
        return tuple(names)

    def layer_tables(self, theta: np.ndarray) -> list[np.ndarray]:
        """One (units, 1 + inputs) table per layer, output last: each row (b, w...)."""
        return [t.copy() for t in self.architecture.tables(np.asarray(theta, dtype=float))]

    def theta_for_json(self, theta: np.ndarray) -> dict[str, Any]:
        """One hidden layer: {"hidden": a (b, w...) list per unit, "output": the same};
        deeper: {"layers": one such table per layer, output last}."""
        tables = [t.tolist() for t in self.layer_tables(theta)]
        if len(self.hidden) == 1:
            return {"hidden": tables[0], "output": tables[1]}
        return {"layers": tables}

    def describe(self) -> dict[str, Any]:
        """The network's shape for the JSON of a fit: widths, activations, initialization."""
        return {
            "hidden": list(self.hidden),
            "activation": self.activation.name,
            "output_activation": self.output_activation,
            "init": self.init,
        }

    def __repr__(self) -> str:
        return f"<{self.name} objective: {self.n_samples} samples, {self.n_parameters} parameters>"


# -- the symbolic side -----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class GradientDerivation:
    """How a model's gradient follows from its objective, step by step.

    ``objective`` is J as a SymPy expression with sums over samples ``i = 1..m`` and
    features ``j = 1..n``; ``loss_derivative`` is ∂ℓ/∂z derived by symcalc (with the
    catalog's classic form in ``classic``); ``partials`` pairs each kind of parameter
    with SymPy's derivative of J (the chain rule, with ℓ' standing for ∂ℓ/∂z);
    ``vectorized`` is the matrix form that `symcalc.learn.descent` runs.
    """

    model: str
    loss: str
    prediction: str
    objective: sympy.Expr
    loss_derivative: sympy.Expr
    classic: sympy.Expr | None
    partials: tuple[tuple[sympy.Expr, sympy.Expr], ...]
    vectorized: tuple[str, ...]
    note: str = ""
    local_derivative: tuple[str, sympy.Expr] | None = None
    variable: str = "z"
    #: ∂²ℓ/∂z² derived by symcalc (for softmax ∂²ℓ/∂z_c∂z_d), and its classic form.
    loss_second: sympy.Expr | None = None
    classic_second: sympy.Expr | None = None
    #: (θₐ, θ_b, ∂²J/∂θₐ∂θ_b) from SymPy, and the matrix form Newton's method evaluates.
    hessian_partials: tuple[tuple[sympy.Expr, sympy.Expr, sympy.Expr], ...] = ()
    hessian: tuple[str, ...] = ()

    def to_text(self) -> str:
        """The derivation as plain text, one fact a line."""
        lines = [
            f"{self.model}, {self.loss} loss",
            f"outputs:  {self.prediction}",
            "objective (mean loss + L2 penalty; intercepts not penalized):",
            f"  J = {sympy.sstr(self.objective)}",
            f"per-sample derivative (symcalc.derivative of {self.loss}):",
            f"  dℓ/d{self.variable} = {sympy.sstr(self.loss_derivative)}",
        ]
        if self.classic is not None and sympy.sstr(self.classic) != sympy.sstr(
            self.loss_derivative
        ):
            lines.append(f"        = {sympy.sstr(self.classic)}   (classic form)")
        if self.local_derivative is not None:
            name, expr = self.local_derivative
            lines.append(
                f"hidden layer: dφ/dx = {sympy.sstr(expr)}   (symcalc.derivative of {name})"
            )
        lines.append("chain rule (SymPy, on the Sum form; ℓ' = dℓ/dz at each sample's output):")
        for parameter, partial in self.partials:
            lines.append(f"  ∂J/∂{sympy.sstr(parameter)} = {sympy.sstr(partial)}")
        lines.append("vectorized (one pass of matrix products per step, what descend runs):")
        lines.extend(f"  {line}" for line in self.vectorized)
        lines += self._hessian_text()
        if self.note:
            lines.append(f"note: {self.note}")
        return "\n".join(lines)

    def _hessian_text(self) -> list[str]:
        if not (self.hessian or self.hessian_partials):
            return []
        lines = ["Hessian (second derivatives, for Newton's method and Newton-CG):"]
        if self.loss_second is not None:
            label = self._second_label()
            lines.append(f"  {label} = {sympy.sstr(self.loss_second)}")
            if self.classic_second is not None and sympy.sstr(self.classic_second) != sympy.sstr(
                self.loss_second
            ):
                pad = " " * len(label)
                lines.append(f"  {pad} = {sympy.sstr(self.classic_second)}   (classic form)")
        for a, b, second in self.hessian_partials:
            lines.append(f"  ∂²J/∂{sympy.sstr(a)}∂{sympy.sstr(b)} = {sympy.sstr(second)}")
        lines.extend(f"  {line}" for line in self.hessian)
        return lines

    def _second_label(self) -> str:
        v = self.variable
        if "[" in v:  # softmax: one logit per class, a K × K Hessian in z
            return f"∂²ℓ/∂{v}∂{v.replace('[c]', '[d]')}"
        return f"d²ℓ/d{v}²"

    def to_latex(self) -> str:
        """J, its partial derivatives and its second partial derivatives as an ``align*`` block."""
        rows = [rf"J &= {latex(self.objective)}"]
        rows += [
            rf"\frac{{\partial J}}{{\partial {latex(p)}}} &= {latex(d)}" for p, d in self.partials
        ]
        if self.loss_second is not None:
            if self.variable.isidentifier():
                v = latex(symbol(self.variable))
                denominator = rf"\partial {v}^2"
            else:
                denominator = r"\partial z_c\,\partial z_d"
            rows.append(rf"\frac{{\partial^2 \ell}}{{{denominator}}} &= {latex(self.loss_second)}")
            if self.classic_second is not None and self.classic_second != self.loss_second:
                rows.append(rf"&= {latex(self.classic_second)}")
        rows += [
            rf"\frac{{\partial^2 J}}{{\partial {latex(a)}\,\partial {latex(b)}}} &= {latex(d)}"
            for a, b, d in self.hessian_partials
        ]
        return r"\begin{align*}" + r"\\ ".join(rows) + r"\end{align*}"

    def _repr_latex_(self) -> str:
        return "$$" + self.to_latex() + "$$"

    def __repr__(self) -> str:
        return f"<GradientDerivation {self.model}: {self.vectorized[-1]}>"


def _loss_placeholder() -> type[sympy.Function]:
    """ℓ as an undefined function: SymPy's chain rule then leaves ∂ℓ/∂z as a factor."""
    return sympy.Function("ℓ", real=True)


_SIZES = {_m, _n, _h, _K}


def _class_indices(condition: sympy.Basic) -> set[sympy.Symbol]:
    """The class indices c, d, s of the generic-K derivation (integer symbols, not data)."""
    return {s for s in condition.free_symbols if s.name in ("c", "d", "s") and s.is_integer}


def _tidy(expr: sympy.Expr) -> sympy.Expr:
    """Sums that hold a Kronecker delta evaluated, index-range branches dropped."""
    for _ in range(4):
        tidier = _in_range(expr.replace(_has_delta_sum, lambda e: e.doit()))
        if tidier == expr:
            break
        expr = tidier
    return expr


def _in_range(expr: sympy.Expr) -> sympy.Expr:
    """Drop the ``k <= n`` branches SymPy adds for indices that are always in range."""

    def only_indices(e):
        return isinstance(e, sympy.Piecewise) and all(
            c.free_symbols and c.free_symbols <= (_INDICES | _SIZES | _class_indices(c))
            for _, c in e.args[:-1]
        )

    return expr.replace(only_indices, lambda e: e.args[0].expr)


def _prime_loss(expr: sympy.Expr) -> sympy.Expr:
    """``Subs(Derivative(ℓ(ξ, y), ξ), ξ, z)`` written as ``ℓ'(z, y)`` (``ℓ''`` for order 2)."""

    def is_loss_derivative(e):
        return isinstance(e, sympy.Subs) and isinstance(e.expr, sympy.Derivative)

    def rewrite(e):
        inner = e.expr.expr
        values = dict(zip(e.variables, e.point, strict=True))
        args = [values.get(a, a) for a in inner.args]
        name = inner.func.__name__
        order = e.expr.derivative_count
        if len(args) > 2:  # softmax: name the logit differentiated by
            position = list(inner.args).index(e.expr.variables[0])
            return sympy.Function(f"∂{name}/∂z{position + 1}", real=True)(*args)
        return sympy.Function(name + "'" * order, real=True)(*args)

    return expr.replace(is_loss_derivative, rewrite)


def _has_delta_sum(e: sympy.Basic) -> bool:
    return isinstance(e, sympy.Sum) and e.has(sympy.KroneckerDelta)


def _chain_rule(J: sympy.Expr, *parameters: sympy.Expr) -> sympy.Expr:
    """∂J/∂θₐ (or ∂²J/∂θₐ∂θ_b for two parameters), Kronecker sums evaluated, ℓ' named."""
    result = sympy.diff(J, *parameters)
    for _ in range(3):  # Kronecker deltas inside nested sums need more than one pass
        # Evaluate only the sums that hold a Kronecker delta: a plain Sum.doit() would run
        # SymPy's closed-form summation on every sum (14 s for the MLP, same answer).
        tidier = _in_range(result.replace(_has_delta_sum, lambda e: e.doit()))
        if tidier == result:
            break
        result = tidier
    return _prime_loss(result)


def _factor_form(
    derivative: sympy.Expr, z: sympy.Symbol, y: sympy.Symbol
) -> tuple[sympy.Expr, bool]:
    """(c, True) when ∂ℓ/∂z = c·(z − y) for a number c."""
    ratio = sympy.cancel(derivative / (z - y))
    return (ratio, True) if ratio.is_number else (ratio, False)


# -- models -------------------------------------------------------------------------------


class LinearModel:
    """Outputs affine in the features, z = b + X·w, with a loss on them.

    ``loss=None`` makes the softmax model (one output per class, categorical
    cross-entropy); otherwise a scalar catalog loss from `SCALAR_LOSSES`.

    Examples
    --------
    >>> LinearModel("squared_error")
    <LinearModel linear: squared_error>
    """

    def __init__(self, loss: str | Entry | None = "squared_error", name: str | None = None):
        self.loss = None if loss is None else scalar_loss(loss)
        default = {
            None: "softmax",
            "squared_error": "linear",
            "binary_cross_entropy_with_logits": "logistic",
        }
        self.name = name or default.get(None if self.loss is None else self.loss.name, "linear")

    @property
    def title(self) -> str:
        return {
            "linear": "linear regression",
            "logistic": "logistic regression",
            "softmax": "softmax regression",
        }.get(self.name, f"{self.name} model")

    def objective_on(self, X: Any, Y: Any, head: Any, l2: float = 0.0) -> AffineObjective:
        """J on ``X`` with targets ``Y`` already encoded for ``head`` (minibatches, streams)."""
        return AffineObjective(self.name, X, Y, head, l2)

    def objective(self, data: Dataset | tuple[Any, Any], l2: float = 0.0) -> AffineObjective:
        """J(θ) on ``data`` (a `Dataset` or ``(X, y)``), with penalty (λ/2)‖w‖², λ = ``l2``."""
        if isinstance(data, tuple) and data and _is_dask(data[0]) and self.loss is not None:
            # Build the kernels before dask starts its threads: symbolic work then runs
            # in a forked process, which is only safe while this process has one thread.
            ScalarHead(self.loss)
        X, y, target = _unpack(data)
        head, Y = head_for(self.loss, y, target)
        return AffineObjective(self.name, X, Y, head, l2)

    # -- symbolic ---------------------------------------------------------------------
    def _sum_form(self, K: int, loss: Callable[..., sympy.Expr]):
        X, b, w = _indexed("X"), _indexed("b"), _indexed("w")
        if self.loss is not None:
            b = symbol("b")
            z = b + sympy.Sum(X[_i, _j] * w[_j], (_j, 1, _n))
            y = _indexed("y")[_i]
            J = sympy.Sum(loss(z, y), (_i, 1, _m)) / _m
            penalty = _lambda / 2 * sympy.Sum(w[_j] ** 2, (_j, 1, _n))
            return J + penalty, [b, w[_k]]
        W, Y = _indexed("W"), _indexed("Y")
        zs = [b[c] + sympy.Sum(X[_i, _j] * W[c, _j], (_j, 1, _n)) for c in range(1, K + 1)]
        ys = [Y[_i, c] for c in range(1, K + 1)]
        J = sympy.Sum(loss(*zs, *ys), (_i, 1, _m)) / _m
        penalty = _lambda / 2 * sympy.Sum(sympy.Sum(W[_c, _j] ** 2, (_j, 1, _n)), (_c, 1, K))
        return J + penalty, [b[1], W[1, _k]]

    def _entry(self, K: int) -> Entry:
        return self.loss if self.loss is not None else get("categorical_cross_entropy", K=K)

    def symbolic_objective(self, K: int = 3) -> sympy.Expr:
        """J with the catalog loss written out, sums over i = 1..m and j = 1..n."""
        entry = self._entry(K)

        def loss(*args):
            return entry.bind().subs(
                dict(zip(entry.variables, args, strict=True)), simultaneous=True
            )

        return self._sum_form(K, loss)[0]

    def derivation(self, K: int = 3) -> GradientDerivation:
        """The derivation of ∇J and ∇²J: objective, ∂ℓ/∂z, ∂²ℓ/∂z², chain rule, matrix forms.

        Softmax regression is derived once for a generic number of classes (``K`` is
        not used: the sums run over k = 1..K).

        Examples
        --------
        >>> d = make_model("logistic").derivation()
        >>> d.classic, d.classic_second
        (-y + sigmoid(z), (1 - sigmoid(z))*sigmoid(z))
        >>> print(d.hessian[-1])
        ∇²_θ J = (1/m)·X̃ᵀ diag(σ(X̃θ)(1 - σ(X̃θ))) X̃ + λ·diag(0, 1, ..., 1)    (λ·I on the weights)
        """
        if self.loss is None:
            return self._softmax_derivation()
        from ..symbolic.derivatives import derivative

        entry = self.loss
        ell = _loss_placeholder()
        J, parameters = self._sum_form(1, lambda *args: ell(*args))
        partials = tuple((p, _chain_rule(J, p)) for p in parameters)
        b, wk = parameters
        wr = _indexed("w")[_r]
        pairs = [(b, b), (b, wr), (wk, wr)]
        second_partials = tuple((p, q, _chain_rule(J, p, q)) for p, q in pairs)
        z, y = entry.variables[:2]
        d = derivative(entry)
        classic = entry.identity if entry.identity is not None else None
        second = derivative(entry, order=2)
        classic_second = None if classic is None else sympy.factor_terms(sympy.diff(classic, z))
        factor, linear = _factor_form(d, z, y)
        residual = (
            f"({sympy.sstr(factor)}/m)·X̃ᵀ(X̃θ - y)"
            if linear
            else "(1/m)·X̃ᵀ" + _vector_text(classic if classic is not None else d, z, "X̃θ")
        )
        lines = (
            "z = X·w + b;  r = dℓ/dz(z, y)  (elementwise: its kernel or its NumPy formula)",
            "∂J/∂b = (1/m)·Σᵢ rᵢ;  ∇_w J = (1/m)·Xᵀr + λ·w",
            f"∇_θ J = {residual} + λ·(0, w)    (X̃ = [1, X], θ = (b, w))",
        )
        curvature = classic_second if classic_second is not None else second
        if curvature.is_number:
            matrix = f"({sympy.sstr(curvature)}/m)·X̃ᵀX̃"
        else:
            matrix = f"(1/m)·X̃ᵀ diag({_vector_math(curvature, z, 'X̃θ')}) X̃"
        hessian = (
            "s = d²ℓ/dz²(z, y)  (elementwise: its kernel or its NumPy formula)",
            "∇²_θ J = (1/m)·X̃ᵀ diag(s) X̃ + λ·diag(0, 1, ..., 1)  (X̃ᵀ diag(s) X̃ by row blocks)",
            f"∇²_θ J = {matrix} + λ·diag(0, 1, ..., 1)    (λ·I on the weights)",
        )
        note = ""
        if linear and factor != 1:
            c = sympy.sstr(factor)
            note = (
                f"the textbook loop θ ← θ - α·(1/m)·Xᵀ(Xθ - y) drops the {c}: "
                f"it descends J/{c}, "
                f"which has the same minimizer; its learning rate α is α/{c} here"
            )
        return GradientDerivation(
            model=self.title,
            loss=entry.name,
            prediction="z_i = b + Σ_j X[i, j]·w[j]",
            objective=self.symbolic_objective(1),
            loss_derivative=d,
            classic=classic,
            partials=partials,
            vectorized=lines,
            note=note,
            variable=z.name,
            loss_second=second,
            classic_second=classic_second,
            hessian_partials=second_partials,
            hessian=hessian,
        )

    def _softmax_derivation(self) -> GradientDerivation:
        """Softmax regression for a generic K: ℓ in log-sum-exp form, then the model's Jacobian.

        With zᵢ_c = b[c] + Σ_j X[i, j]·W[c, j], ∂zᵢ_q/∂W[c, k] = δ_qc·X[i, k], so the chain rule
        ∂J/∂θ = (1/m)·Σᵢ Σ_q R[i, q]·∂zᵢ_q/∂θ (R[i, q] = ∂ℓ/∂z_q at sample i) and
        ∂²J/∂θ∂θ' = (1/m)·Σᵢ Σ_q Σ_s S[i, q, s]·∂zᵢ_q/∂θ·∂zᵢ_s/∂θ' (S = ∂²ℓ/∂z_q∂z_s) are
        evaluated by SymPy with the Kronecker deltas summed out.
        """
        loss = softmax_derivatives()
        X, W, b, Y = (_indexed(n) for n in "XWbY")
        R, S = _indexed("R"), _indexed("S")
        c, d = loss.c, loss.d

        def logit(q):
            return b[q] + sympy.Sum(X[_i, _j] * W[q, _j], (_j, 1, _n))

        penalty = _lambda / 2 * sympy.Sum(sympy.Sum(W[_q, _j] ** 2, (_j, 1, _n)), (_q, 1, _K))
        objective = (
            sympy.Sum(
                sympy.log(sympy.Sum(sympy.exp(logit(_q)), (_q, 1, _K)))
                - sympy.Sum(Y[_i, _q] * logit(_q), (_q, 1, _K)),
                (_i, 1, _m),
            )
            / _m
            + penalty
        )

        def first(theta):
            chain = sympy.Sum(
                sympy.Sum(R[_i, _q] * sympy.diff(logit(_q), theta), (_q, 1, _K)), (_i, 1, _m)
            )
            return _tidy(chain / _m + sympy.diff(penalty, theta))

        def second(theta, other):
            s = sympy.Symbol("s", integer=True, positive=True)
            inner = S[_i, _q, s] * sympy.diff(logit(_q), theta) * sympy.diff(logit(s), other)
            chain = sympy.Sum(sympy.Sum(sympy.Sum(inner, (s, 1, _K)), (_q, 1, _K)), (_i, 1, _m))
            return _tidy(chain / _m + sympy.diff(penalty, theta, other))

        Wck, Wdr = W[c, _k], W[d, _r]
        partials = ((b[c], first(b[c])), (Wck, first(Wck)))
        pairs = [(b[c], b[d]), (b[c], Wdr), (Wck, Wdr)]
        hessian_partials = tuple((p, q, second(p, q)) for p, q in pairs)
        lines = (
            "Z = X·Wᵀ + b  (m × K);  R = dℓ/dZ = softmax(Z) - Y  (softmax of Z minus its row "
            "maximum; at the label -(1 - P) from the other classes)",
            "∇_b J = (1/m)·Rᵀ1;  ∇_W J = (1/m)·RᵀX + λ·W",
        )
        hessian = (
            "R[i, c] = softmax(z_i)[c] - Y[i, c];  S[i, c, d] = P_c·(δ_cd - P_d), P = softmax(z_i)",
            "block (c, d) of ∇²J = (1/m)·X̃ᵀ diag(P_c ⊙ (δ_cd - P_d)) X̃ + λ·δ_cd·diag(0, 1, ..., 1)"
            "   (K(K+1)/2 weighted Gram matrices; 1 - P_c summed from the other classes)",
            "∇²J·v = (1/m)·X̃ᵀ[P ⊙ (U - (P·U)1ᵀ)] with U = X̃Vᵀ  (Hessian-vector product)",
        )
        return GradientDerivation(
            model=self.title,
            loss="categorical_cross_entropy",
            prediction="z_ic = b[c] + Σ_j X[i, j]·W[c, j], one logit per class c = 1..K; Y one-hot",
            objective=objective,
            loss_derivative=loss.gradient,
            classic=loss.softmax_gradient,
            partials=partials,
            vectorized=lines,
            note=(
                "derived once for any number of classes K (log-sum-exp form "
                f"ℓ = {sympy.sstr(loss.log_sum_exp)}); logits are shifted by their row maximum "
                "before exp (softmax is unchanged by the shift)"
            ),
            variable="z[c]",
            loss_second=loss.hessian,
            classic_second=loss.softmax_hessian,
            hessian_partials=hessian_partials,
            hessian=hessian,
        )

    def concrete(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0):
        """(J, θ symbols): the Sum form with ``m``, ``n`` and the data substituted and expanded."""
        objective = self.objective((X, y), l2)
        K = objective.n_outputs
        J = self.symbolic_objective(K)
        m, n = X.shape
        thetas = sympy.symbols(f"theta0:{objective.n_parameters}", real=True)
        values: dict[sympy.Expr, sympy.Expr] = {_lambda: sympy.nsimplify(l2)}
        Xb, w, W, b = _indexed("X"), _indexed("w"), _indexed("W"), _indexed("b")
        for r in range(m):
            for c in range(n):
                values[Xb[r + 1, c + 1]] = sympy.Float(float(X[r, c]), 30)
        if self.loss is not None:
            values[symbol("b")] = thetas[0]
            for c in range(n):
                values[w[c + 1]] = thetas[c + 1]
            yb = _indexed("y")
            for r in range(m):
                values[yb[r + 1]] = sympy.Float(float(objective.Y[r]), 30)
        else:
            Yb = _indexed("Y")
            for k in range(K):
                values[b[k + 1]] = thetas[k * (n + 1)]
                for c in range(n):
                    values[W[k + 1, c + 1]] = thetas[k * (n + 1) + c + 1]
                for r in range(m):
                    values[Yb[r + 1, k + 1]] = sympy.Integer(int(objective.Y[r] == k))
        expanded = _expand_sums(J.subs({_m: m, _n: n}))
        return expanded.xreplace(values), thetas, objective

    def __repr__(self) -> str:
        loss = "categorical_cross_entropy" if self.loss is None else self.loss.name
        return f"<LinearModel {self.name}: {loss}>"


def _expand_sums(expr: sympy.Basic) -> sympy.Basic:
    """Every ``Sum`` with numeric limits written out as the terms it stands for.

    (``Sum.doit`` leaves some sums of ``Piecewise`` terms unexpanded.)
    """
    if not expr.args:
        return expr
    if isinstance(expr, sympy.Sum):
        body = _expand_sums(expr.function)
        for variable, low, high in expr.limits:
            body = sympy.Add(*(body.subs(variable, k) for k in range(int(low), int(high) + 1)))
        return body
    return expr.func(*(_expand_sums(a) for a in expr.args))


def _vector_math(expr: sympy.Expr, z: sympy.Symbol, replacement: str) -> str:
    """A scalar form of z written elementwise in a vector, σ for the sigmoid: σ(X̃θ)(1 - σ(X̃θ))."""
    from ..symbolic.functions import sigmoid

    sig = sigmoid(z)
    if expr == sig * (1 - sig) or sympy.expand(expr - sig * (1 - sig)) == 0:
        return f"σ({replacement})(1 - σ({replacement}))"
    return _vector_text(expr, z, replacement)[1:-1]


def _vector_text(expr: sympy.Expr, z: sympy.Symbol, replacement: str) -> str:
    text = sympy.sstr(expr.subs(z, symbol("Z__")))
    return "(" + text.replace("Z__", replacement) + ")"


class MLP:
    """A network of any depth, z = W⁽ᴸ⁾f(...f(W⁽¹⁾x + b⁽¹⁾)...) + b⁽ᴸ⁾, trained by backpropagation.

    ``hidden`` is the width of the one hidden layer or a sequence of widths, one per
    hidden layer (``(16, 16, 8)``).  ``activation`` is any catalog activation or an
    expression in x; its derivatives f′ and f″ come from `symcalc.symbolic.derivatives`
    through the stable kernels of `symcalc.numeric.kernels`.  ``loss=None`` classifies
    (softmax output, categorical cross-entropy); a scalar loss such as ``"squared_error"``
    makes a regression network, and ``"binary_cross_entropy"`` a sigmoid classifier of
    two classes.  ``output_activation`` puts g on the outputs before the loss: ``softmax``
    (with cross-entropy), ``sigmoid`` (with binary cross-entropy: evaluated as
    binary_cross_entropy_with_logits, the same function), ``identity``, or any
    activation under a regression loss (the loss ℓ(g(z), y) is then composed and
    derived as one function).  ``init`` names the initialization of the weights
    (`symcalc.learn.initializers`: ``xavier``, ``he``, ``normal``).

    Examples
    --------
    >>> MLP(hidden=4, activation="relu")
    <MLP 4 relu units: categorical_cross_entropy>
    >>> MLP(hidden=(16, 16, 8), activation="x*tanh(x)", loss="squared_error").title
    'network with hidden layers 16, 16, 8 (x*tanh(x) units)'
    """

    name = "mlp"

    def __init__(
        self,
        hidden: int | Sequence[int] = 8,
        activation: str | Entry = "tanh",
        loss: str | Entry | None = None,
        convention: str = "zero",
        *,
        output_activation: str | None = None,
        init: str = "xavier",
    ):
        from .initializers import weight_scale

        self.hidden = hidden_sizes(hidden)
        self.activation = _activation(activation)
        weight_scale(init, 1, 1)  # refuses an unknown name
        self.init = init
        self.convention = convention
        self.output_activation, self._target_loss, self.loss = _output_and_loss(
            loss, output_activation
        )

    @property
    def depth(self) -> int:
        """The number of hidden layers."""
        return len(self.hidden)

    @property
    def widths(self) -> str:
        return ", ".join(str(h) for h in self.hidden)

    @property
    def title(self) -> str:
        if self.depth == 1:
            return f"one-hidden-layer network ({self.hidden[0]} {self.activation.name} units)"
        return f"network with hidden layers {self.widths} ({self.activation.name} units)"

    def _options(self) -> dict[str, Any]:
        return {"init": self.init, "output_activation": self.output_activation}

    def objective_on(self, X: Any, Y: Any, head: Any, l2: float = 0.0) -> MLPObjective:
        """J on ``X`` with targets ``Y`` already encoded for ``head`` (minibatches, streams)."""
        return MLPObjective(
            self.name,
            X,
            Y,
            head,
            self.hidden,
            self.activation,
            l2,
            self.convention,
            **self._options(),
        )

    def objective(self, data: Dataset | tuple[Any, Any], l2: float = 0.0) -> MLPObjective:
        """J(θ) on ``data``, with penalty (λ/2)Σₗ‖W⁽ˡ⁾‖², λ = ``l2``."""
        X, y, target = _unpack(data)
        if _is_dask(X):
            raise SymcalcError("dask arrays are supported for the linear and logistic models")
        head, Y = head_for(self._target_loss, y, target)
        if self.loss is not self._target_loss:  # ℓ(g(z), y): the composed loss
            head = ScalarHead(self.loss)
        return self.objective_on(X, Y, head, l2)

    def backprop(self, K: int = 3) -> Any:
        """The textbook derivation of this network's backward pass (`symcalc.backprop`)."""
        from ..symbolic.backprop import backprop

        loss = "categorical_cross_entropy" if self.loss is None else self._target_loss.name
        return backprop(
            hidden=self.hidden,
            activation=self.activation,
            loss=loss,
            output_activation=self.output_activation,
            classes=K,
        )

    def _layer_symbols(self) -> list[tuple[sympy.Symbol, sympy.Symbol]]:
        """(unit index, width) of each hidden layer: q and h for one layer, q1, h1, ... else."""
        if self.depth == 1:
            return [(_q, _h)]
        return [
            (
                sympy.Symbol(f"q{layer}", integer=True, positive=True),
                sympy.Symbol(f"h{layer}", integer=True, positive=True),
            )
            for layer in range(1, self.depth + 1)
        ]

    def _sum_form(
        self, K: int, loss: Callable[..., sympy.Expr], phi: Callable[[sympy.Expr], sympy.Expr]
    ):
        """J as nested sums: a⁽¹⁾ = b1 + Σ_j X·W1, a⁽ˡ⁾ = bl + Σ Wl·φ(a⁽ˡ⁻¹⁾), outputs last."""
        X = _indexed("X")
        layers = self._layer_symbols()
        q, h = layers[0]
        W, b = _indexed("W1"), _indexed("b1")
        a = b[q] + sympy.Sum(X[_i, _j] * W[q, _j], (_j, 1, _n))
        penalty = sympy.Sum(sympy.Sum(W[q, _j] ** 2, (_j, 1, _n)), (q, 1, h))
        for layer in range(2, self.depth + 1):
            (p, g), (q, h) = layers[layer - 2], layers[layer - 1]
            W, b = _indexed(f"W{layer}"), _indexed(f"b{layer}")
            a = b[q] + sympy.Sum(W[q, p] * phi(a), (p, 1, g))
            penalty += sympy.Sum(sympy.Sum(W[q, p] ** 2, (p, 1, g)), (q, 1, h))
        out = self.depth + 1
        if self.loss is not None:
            bo, wo = symbol(f"b{out}"), _indexed(f"w{out}")
            z = bo + sympy.Sum(wo[q] * phi(a), (q, 1, h))
            J = sympy.Sum(loss(z, _indexed("y")[_i]), (_i, 1, _m)) / _m
            penalty += sympy.Sum(wo[q] ** 2, (q, 1, h))
            first = [_indexed("W1")[_k, _r], _indexed("b1")[_k]]
            return J + _lambda / 2 * penalty, [*first, wo[_k], bo]
        Wo, bo, Y = _indexed(f"W{out}"), _indexed(f"b{out}"), _indexed("Y")
        zs = [bo[c] + sympy.Sum(Wo[c, q] * phi(a), (q, 1, h)) for c in range(1, K + 1)]
        J = sympy.Sum(loss(*zs, *(Y[_i, c] for c in range(1, K + 1))), (_i, 1, _m)) / _m
        penalty += sympy.Sum(sympy.Sum(Wo[_c, q] ** 2, (q, 1, h)), (_c, 1, K))
        first = [_indexed("W1")[_k, _r], _indexed("b1")[_k]]
        return J + _lambda / 2 * penalty, [*first, Wo[1, _k], bo[1]]

    def _entry(self, K: int) -> Entry:
        return self.loss if self.loss is not None else get("categorical_cross_entropy", K=K)

    def _activation_function(self) -> type[sympy.Function]:
        name = self.activation.name if self.activation.kind == "activation" else "φ"
        return sympy.Function(name, real=True)

    def symbolic_objective(self, K: int = 2) -> sympy.Expr:
        """J with the catalog loss written out; the activation appears by name.

        (Written out inside the sum over hidden units, a ``Piecewise`` activation
        would be pulled out of that sum by SymPy; `concrete` substitutes it after
        the sums are expanded.)
        """
        entry = self._entry(K)

        def loss(*args):
            return entry.bind().subs(
                dict(zip(entry.variables, args, strict=True)), simultaneous=True
            )

        return self._sum_form(K, loss, self._activation_function())[0]

    def _write_activation(self, expr: sympy.Expr) -> sympy.Expr:
        name = self._activation_function().__name__
        x = self.activation.variables[0]
        body = self.activation.bind()
        return expr.replace(
            lambda e: isinstance(e, AppliedUndef) and e.func.__name__ == name,
            lambda e: body.subs(x, e.args[0]),
        )

    def derivation(self, K: int = 2) -> GradientDerivation:
        """Objective, ∂ℓ/∂z, φ', the chain rule through the hidden layer, backpropagation.

        For one hidden layer; a deeper network's derivation is `backprop`.
        """
        from ..symbolic.derivatives import derivative

        if self.depth > 1:
            raise SymcalcError(
                "the Sum-form derivation covers one hidden layer; for a deeper network see "
                "its backpropagation derivation (MLP.backprop, symcalc.backprop)"
            )

        entry = self._entry(K)
        ell = _loss_placeholder()
        phi = sympy.Function("φ", real=True)
        J, parameters = self._sum_form(K, lambda *args: ell(*args), phi)
        partials = tuple((p, _chain_rule(J, p)) for p in parameters)
        hessian = (
            "∇²J·v by the chain rule on the backward pass (R{·} = derivative along v = (V1, c1, "
            "V2, c2)):",
            "R{A} = X·V1ᵀ + c1;  R{H} = φ'(A) ⊙ R{A};  R{Z} = R{H}·W2ᵀ + H·V2ᵀ + c2",
            "R{dZ} = d²ℓ/dz²(Z, Y)·R{Z}  (softmax: P ⊙ (R{Z} - (P·R{Z})1ᵀ))",
            "R{∇_W2 J} = (1/m)·(R{dZ}ᵀH + dZᵀR{H}) + λ·V2;  R{∇_b2 J} = (1/m)·R{dZ}ᵀ1",
            "R{dA} = (R{dZ}·W2 + dZ·V2) ⊙ φ'(A) + (dZ·W2) ⊙ φ''(A) ⊙ R{A}  "
            "(φ'' = activation second-derivative kernel)",
            "R{∇_W1 J} = (1/m)·R{dA}ᵀX + λ·V1;  R{∇_b1 J} = (1/m)·R{dA}ᵀ1",
        )
        lines = (
            "A = X·W1ᵀ + b1;  H = φ(A);  Z = H·W2ᵀ + b2              (forward)",
            "dZ = dℓ/dz(Z, Y)  (loss derivative kernel)",
            "∇_W2 J = (1/m)·dZᵀH + λ·W2;  ∇_b2 J = (1/m)·dZᵀ1",
            "dA = (dZ·W2) ⊙ φ'(A)  (φ' = activation derivative kernel)   (backward)",
            "∇_W1 J = (1/m)·dAᵀX + λ·W1;  ∇_b1 J = (1/m)·dAᵀ1",
        )
        return GradientDerivation(
            model=self.title,
            loss=entry.name,
            prediction="a_iq = b1[q] + Σ_j X[i, j]·W1[q, j];  "
            + (
                "z_i = b2 + Σ_q w2[q]·φ(a_iq)"
                if self.loss is not None
                else "z_ic = b2[c] + Σ_q W2[c, q]·φ(a_iq), one logit per class c"
            ),
            objective=self.symbolic_objective(K),
            loss_derivative=derivative(entry),
            classic=entry.identity,
            partials=partials,
            vectorized=lines,
            local_derivative=(
                self.activation.name,
                derivative(self.activation, convention=self.convention),
            ),
            variable=entry.variables[0].name,
            hessian=hessian,
        )

    def concrete(self, X: np.ndarray, y: np.ndarray, l2: float = 0.0):
        """(J, θ symbols): the Sum form with the sizes and the data substituted and expanded."""
        objective = self.objective((X, y), l2)
        K = objective.n_outputs
        J = self.symbolic_objective(K)
        m, n = X.shape
        thetas = sympy.symbols(f"theta0:{objective.n_parameters}", real=True)
        values: dict[sympy.Expr, sympy.Expr] = {_lambda: sympy.nsimplify(l2)}
        Xb = _indexed("X")
        for r in range(m):
            for c in range(n):
                values[Xb[r + 1, c + 1]] = sympy.Float(float(X[r, c]), 30)
        arch = objective.architecture
        numbers = arch.tables(np.arange(arch.n_parameters))
        out = self.depth + 1
        for layer, table in enumerate(numbers, start=1):
            scalar = layer == out and self.loss is not None
            W = _indexed(f"w{layer}" if scalar else f"W{layer}")
            b = _indexed(f"b{layer}")
            for u, row in enumerate(table):
                values[symbol(f"b{layer}") if scalar else b[u + 1]] = thetas[row[0]]
                for c, index in enumerate(row[1:]):
                    values[W[c + 1] if scalar else W[u + 1, c + 1]] = thetas[index]
        if self.loss is not None:
            yb = _indexed("y")
            for r in range(m):
                values[yb[r + 1]] = sympy.Float(float(objective.Y[r]), 30)
        else:
            Yb = _indexed("Y")
            for k in range(K):
                for r in range(m):
                    values[Yb[r + 1, k + 1]] = sympy.Integer(int(objective.Y[r] == k))
        sizes = {_m: m, _n: n}
        sizes.update({h: w for (_, h), w in zip(self._layer_symbols(), self.hidden, strict=True)})
        expanded = self._write_activation(_expand_sums(J.subs(sizes)))
        return expanded.xreplace(values), thetas, objective

    def __repr__(self) -> str:
        loss = "categorical_cross_entropy" if self.loss is None else self.loss.name
        return f"<MLP {','.join(str(h) for h in self.hidden)} {self.activation.name} units: {loss}>"


def _output_and_loss(
    loss: str | Entry | None, output_activation: str | Entry | None
) -> tuple[str, Entry | None, Entry | None]:
    """(output activation's name, the loss that reads the targets, the loss the head evaluates).

    softmax pairs with categorical cross-entropy and sigmoid with binary cross-entropy
    (both evaluated on the logits, where they are stable); a regression loss takes the
    identity or any activation g, composed into ℓ(g(z), y).
    """
    g = output_activation
    name = g.name if isinstance(g, Entry) else (None if g is None else str(g).strip())
    entry = None if loss is None else resolve(loss)
    if entry is None or entry.name == "categorical_cross_entropy":
        if name not in (None, "softmax"):
            raise SymcalcError(
                "categorical_cross_entropy reads a softmax output; drop `output_activation` "
                "or choose a scalar loss",
                parameter="output_activation",
            )
        return "softmax", None, None
    if entry.name in ("binary_cross_entropy", "binary_cross_entropy_with_logits"):
        if name not in (None, "sigmoid"):
            raise SymcalcError(
                f"{entry.name} reads a sigmoid output; drop `output_activation` or set it "
                "to sigmoid",
                parameter="output_activation",
            )
        logits = get("binary_cross_entropy_with_logits")  # ℓ(σ(z), y), stable in z
        return "sigmoid", logits, logits
    base = scalar_loss(entry)
    if name in (None, "identity", "linear"):
        return "identity", base, base
    if name == "softmax":
        raise SymcalcError(
            "a softmax output goes with categorical_cross_entropy; drop `loss` to classify",
            parameter="output_activation",
        )
    outer = _activation(g)
    p = base.variables[0]
    body = base.bind().subs(p, outer.bind().subs(outer.variables[0], p))
    composed = Entry(
        f"{base.name}∘{outer.name}",
        "loss",
        body,
        base.variables,
        description=f"{base.name} of {outer.name}(z): the loss composed with the output activation",
        fixed=base.fixed,
    )
    return outer.name, base, composed


def _activation(activation: str | Entry) -> Entry:
    entry = resolve(activation)
    if entry.kind == "loss" or len(entry.variables) != 1:
        raise SymcalcError(
            f"`activation` must be a function of one variable (a catalog activation such as "
            f"tanh), got {entry.signature()}",
            parameter="activation",
        )
    return entry


def _unpack(data: Dataset | tuple[Any, Any]) -> tuple[Any, np.ndarray, str]:
    if isinstance(data, Dataset):
        return data.X, data.y, data.target
    if not (isinstance(data, tuple) and len(data) == 2):
        raise SymcalcError("data must be a Dataset or a pair (X, y)")
    X, y = data
    if _is_dask(X):
        return _dask_pair(X, y)
    X_checked, y_checked = check_arrays(X, y)
    if isinstance(X, np.ndarray) and X.dtype == np.float32 and X.ndim == 2:
        X_checked = X  # kept float32 (no copy of X): read into float64 block by block
    return X_checked, y_checked, "y"


def _dask_pair(X: Any, y: Any):
    import dask
    import dask.array as da

    if X.ndim != 2 or len(X.chunks[1]) != 1:
        raise SymcalcError(
            "a dask X must be 2-D and chunked by rows only (one chunk across the columns)"
        )
    y = da.asarray(y)
    if y.shape != (X.shape[0],):
        raise SymcalcError(f"X has {X.shape[0]} rows but y has shape {y.shape}; they must match")
    y = y.rechunk((X.chunks[0],)).astype(float)
    finite_X, finite_y = dask.compute(da.isfinite(X).all(), da.isfinite(y).all())
    if not (finite_X and finite_y):
        raise SymcalcError("the dask data hold a NaN or infinite value; remove or fill it first")
    return X, y, "y"


# -- the registry --------------------------------------------------------------------------

#: Model names accepted by `make_model` and ``symcalc descend``, with what they are.
MODELS: Mapping[str, str] = MappingProxyType(
    {
        "linear": "linear regression, squared error (MSE)",
        "logistic": "logistic regression, binary cross-entropy on logits",
        "softmax": "softmax regression, categorical cross-entropy",
        "mlp": "a network of any depth (any activation), softmax or a scalar loss",
    }
)


def make_model(
    name: str | LinearModel | MLP,
    *,
    hidden: int | Sequence[int] = 8,
    activation: str | Entry = "tanh",
    loss: str | Entry | None = None,
    output_activation: str | None = None,
    init: str = "xavier",
) -> LinearModel | MLP:
    """The model called ``name``: ``linear``, ``logistic``, ``softmax`` or ``mlp``.

    ``loss`` replaces the default loss of ``linear`` (e.g. ``"huber"``) or makes the
    ``mlp`` a regression network (``"squared_error"``).  ``hidden`` (one width or one per
    layer), ``activation``, ``output_activation`` and ``init`` shape the ``mlp``
    (see `MLP`).

    Examples
    --------
    >>> make_model("mlp", hidden=16, activation="gelu")
    <MLP 16 gelu units: categorical_cross_entropy>
    >>> make_model("lineer")
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: unknown model 'lineer'; did you mean 'linear'? (models: ...)
    """
    if isinstance(name, (LinearModel, MLP)):
        return name
    if name in ("linear", "logistic", "softmax") and (
        output_activation is not None or init != "xavier"
    ):
        raise SymcalcError("`output_activation` and `init` apply to the mlp model only")
    if name == "linear":
        return LinearModel(loss or "squared_error", name="linear")
    if name == "logistic":
        if loss is not None and resolve(loss).name != "binary_cross_entropy_with_logits":
            raise SymcalcError(
                "logistic regression uses binary_cross_entropy_with_logits; drop the loss"
            )
        return LinearModel("binary_cross_entropy_with_logits", name="logistic")
    if name == "softmax":
        if loss is not None and resolve(loss).name != "categorical_cross_entropy":
            raise SymcalcError("softmax regression uses categorical_cross_entropy; drop the loss")
        return LinearModel(None, name="softmax")
    if name == "mlp":
        return MLP(hidden, activation, loss, output_activation=output_activation, init=init)
    raise SymcalcError(
        f"unknown model '{name}'{did_you_mean(str(name), MODELS)} (models: {', '.join(MODELS)})"
    )


def _expanded(what: str, most: int, model, X, y, theta, l2: float, digits: int):
    """J as an expanded Sum on small data, its parameter symbols, the vectorized objective,
    ``theta`` as an array and the point to evaluate SymPy's side at (``digits`` digits)."""
    model = make_model(model)
    X = np.asarray(X, dtype=float)
    if X.size > most:
        raise SymcalcError(f"{what} expands J term by term; use at most {most} data values")
    J, thetas, objective = model.concrete(X, np.asarray(y), l2)
    theta = np.asarray(theta, dtype=float)
    if theta.shape != (objective.n_parameters,):
        raise SymcalcError(
            f"`theta` must have {objective.n_parameters} values, got shape {theta.shape}",
            parameter="theta",
        )
    point = {s: sympy.Float(float(v), digits) for s, v in zip(thetas, theta, strict=True)}
    return J, thetas, objective, theta, point


def check_symbolic_gradient(
    model: str | LinearModel | MLP,
    X: np.ndarray,
    y: np.ndarray,
    theta: Sequence[float] | np.ndarray,
    *,
    l2: float = 0.0,
    digits: int = 30,
) -> float:
    """Largest |∂J/∂θₖ (SymPy) − ∇J(θ)ₖ (vectorized)| / max(1, |∂J/∂θₖ|) on small data.

    The objective's Sum form is expanded with the data substituted; SymPy
    differentiates it in every parameter and evaluates at ``theta`` with ``digits``
    significant digits; the vectorized gradient is the one `symcalc.learn.descent` uses.

    Examples
    --------
    >>> X = np.array([[0.5, -1.0], [1.5, 2.0], [-0.3, 0.1]]); y = np.array([1.0, 0.0, 1.0])
    >>> check_symbolic_gradient("logistic", X, y, [0.1, -0.2, 0.3]) < 1e-14
    True
    """
    J, thetas, objective, theta, point = _expanded(
        "check_symbolic_gradient", 64, model, X, y, theta, l2, digits
    )
    vectorized = objective.gradient(theta)
    worst = 0.0
    for s, numeric in zip(thetas, vectorized, strict=True):
        exact = float(sympy.diff(J, s).xreplace(point).evalf(digits))
        worst = max(worst, abs(exact - float(numeric)) / max(1.0, abs(exact)))
    return worst


def check_symbolic_hessian(
    model: str | LinearModel | MLP,
    X: np.ndarray,
    y: np.ndarray,
    theta: Sequence[float] | np.ndarray,
    *,
    l2: float = 0.0,
    digits: int = 30,
) -> float:
    """Largest |∂²J/∂θₐ∂θ_b (SymPy) − ∇²J(θ)ₐ_b (symcalc)| / max(1, |∂²J/∂θₐ∂θ_b|) on small data.

    SymPy differentiates the expanded Sum form twice (``sympy.hessian``) and evaluates it
    at ``theta`` with ``digits`` digits; symcalc's side is `Objective.hessian` (for the
    network: one Hessian-vector product per column).

    Examples
    --------
    >>> X = np.array([[0.5, -1.0], [1.5, 2.0], [-0.3, 0.1]]); y = np.array([1.0, 0.0, 1.0])
    >>> check_symbolic_hessian("logistic", X, y, [0.1, -0.2, 0.3], l2=0.5) < 1e-14
    True
    """
    J, thetas, objective, theta, point = _expanded(
        "check_symbolic_hessian", 32, model, X, y, theta, l2, digits
    )
    ours = objective.hessian(theta)
    worst = 0.0
    for a, first in enumerate(thetas):
        partial = sympy.diff(J, first)
        for b in range(a, len(thetas)):
            exact = float(sympy.diff(partial, thetas[b]).xreplace(point).evalf(digits))
            worst = max(worst, abs(exact - float(ours[a, b])) / max(1.0, abs(exact)))
    return worst
