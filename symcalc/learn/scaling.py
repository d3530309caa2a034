"""Preconditioning: optimize in coordinates where every feature has mean 0 and spread 1.

Raw features on different scales (diabetes as shipped: ages near 50, cholesterol near
190, sex coded 1 and 2) make J a long, narrow valley: gradient methods crawl and the
Hessian is badly conditioned.  Standardizing the features fixes that, but the user
wants θ, J and ∇J in their own units, and an out-of-core X must not be copied.

`Scaling` is the change of variables θ = T θ' that makes the model on raw features
exactly the model on standardized ones: for every unit that reads the features (each
output of a linear model, each hidden unit of a network) with intercept b and weights
w,

    w_j = w'_j / s_j,      b = b' − Σ_j μ_j w'_j / s_j,

where μ_j, s_j are the mean and standard deviation of feature j.  Then z = b + Xw =
b' + ((X − μ)/s) w' for every row, so J(Tθ') is the objective on standardized
features (the penalty stays the one on w, in the user's units), and nothing of size
X is ever allocated.  `Preconditioned` wraps any `symcalc.learn.models.Objective` in
the new coordinates: value, gradient Tᵀ∇J, Hessian TᵀHT and Hessian-vector products.
The moments come from one blocked pass (NumPy) or one dask reduction, chunk by chunk.

Examples
--------
>>> X = np.array([[1.0, 100.0], [2.0, 300.0], [3.0, 200.0]])
>>> scaling = Scaling.for_features(X, blocks=(0,), n_parameters=3)
>>> theta = np.array([0.5, 2.0, -0.01])
>>> np.allclose(scaling.to_user(scaling.to_working(theta)), theta)
True
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from typing import Any

import numpy as np

__all__ = [
    "SAMPLE_ROWS",
    "Moments",
    "Preconditioned",
    "Scaling",
    "balanced_scale",
    "column_moments",
    "dask_rescaled",
    "quiet_compute",
    "sample_moments",
]

#: Rows per block of the moment pass (about 2 MB of float64 at 128 columns).
_BLOCK_BYTES = 1 << 21


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"


def column_moments(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """(mean, standard deviation) of each column, by row blocks (no copy of X) or dask.

    Blocks are merged with Chan's pairwise update, so the spread is accurate even when
    the mean is large next to it.

    Examples
    --------
    >>> column_moments(np.array([[1.0, 10.0], [3.0, 30.0]]))
    (array([ 2., 20.]), array([ 1., 10.]))
    """
    if _is_dask(X):
        return dask_rescaled(X, *quiet_compute(X.mean(axis=0), X.std(axis=0)))
    with np.errstate(over="ignore", invalid="ignore"):
        return _moments(X)


def quiet_compute(*arrays: Any) -> tuple:
    """``dask.compute(*arrays)`` without the RuntimeWarnings of dask's own reductions (its
    std squares the raw values: at 1e155 they overflow, and `dask_rescaled` redoes those
    columns; np.errstate does not reach dask's worker threads)."""
    import warnings

    import dask

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return dask.compute(*arrays)


def dask_rescaled(X: Any, mean: Any, spread: Any) -> tuple[np.ndarray, np.ndarray]:
    """Dask's own (mean, std) of X's columns, with the columns whose squares overflowed or
    underflowed (features near 1e155 or 1e-170) recomputed on the column scaled by a power
    of two."""
    mean, spread = np.asarray(mean, dtype=float), np.asarray(spread, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        return _rescaled(X, mean, spread, _dask_moments)


def _dask_moments(X: Any) -> tuple[np.ndarray, np.ndarray]:
    mean, std = quiet_compute(X.mean(axis=0), X.std(axis=0))
    return np.asarray(mean, dtype=float), np.asarray(std, dtype=float)


#: Spreads outside [2⁻⁴⁶⁰, 2⁴⁶⁰] (about 1e-138 to 1e138) are computed again on the column
#: divided by a power of 2 near its largest magnitude: squared deviations of features near
#: 1e154 overflow and those near 1e-155 underflow, which made the spread inf or 0 (a column
#: at 1e-170 looked constant, kept its raw scale, and the fit stopped at θ = 0, J = var(y)
#: "converged", where J* = 0.85 with weights near 1e170).
_SPREAD_RANGE = (2.0**-460, 2.0**460)


def _rescaled(
    X: Any, mean: np.ndarray, spread: np.ndarray, moments: Callable[[Any], tuple]
) -> tuple[np.ndarray, np.ndarray]:
    """``(mean, spread)`` with the columns whose spread left `_SPREAD_RANGE` recomputed exactly
    scaled (a power of 2 changes no digit), so the squares neither overflow nor underflow."""
    low, high = _SPREAD_RANGE
    odd = np.flatnonzero(~((spread >= low) & (spread <= high)))
    if not odd.size:
        return mean, spread
    if _is_dask(X):
        columns = X[:, odd].astype(float)
        biggest = np.asarray(abs(columns).max(axis=0).compute(), dtype=float)
    else:
        columns = np.asarray(X[:, odd], dtype=float)
        biggest = np.abs(columns).max(axis=0)
    keep = np.isfinite(biggest) & (biggest > 0)
    if not np.any(keep):
        return mean, spread
    odd, columns = odd[keep], columns[:, np.flatnonzero(keep)]
    factor = np.ldexp(1.0, np.frexp(biggest[keep])[1])  # 2^e ≥ max|x|, exact
    mean, spread = mean.copy(), spread.copy()
    scaled_mean, scaled_spread = moments(columns / factor)
    with np.errstate(over="ignore"):
        mean[odd], spread[odd] = scaled_mean * factor, scaled_spread * factor
    return mean, spread


def _moments(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """`_moments_raw`, then the columns whose squares overflowed or underflowed again, scaled."""
    mean, spread = _moments_raw(X)
    return _rescaled(X, mean, spread, _moments_raw)


def _moments_raw(X: Any) -> tuple[np.ndarray, np.ndarray]:
    """The corrected two-pass rule over row blocks (X is in memory: two passes are cheap).

    Pass 1 sums the columns (m = Σx/n); pass 2 puts each block's deviations x − m in one
    buffer, reused, and sums d and d²: the mean is m + Σd/n and n·var = Σd² − (Σd)²/n,
    which cancels the rounding of m to first order.  Blocks hold at most half of X's rows
    (and 2 MB), so the buffer is never the size of X; column sums are matrix-vector
    products.
    """
    n, p = X.shape
    rows = max(1, min(max(256, _BLOCK_BYTES // max(1, 8 * p)), -(-n // 2)))
    ones = np.ones(min(rows, n))
    starts = range(0, n, rows)

    def block(start: int) -> np.ndarray:
        return np.asarray(X[start : start + rows], dtype=float)

    total = np.zeros(p)
    for start in starts:
        part = block(start)
        total += ones[: part.shape[0]] @ part
    mean = total / n
    from scipy.linalg.blas import dger

    drift, squares = np.zeros(p), np.zeros(p)
    scratch = np.empty((ones.size, p))
    for start in starts:
        part = block(start)
        k = part.shape[0]
        deviation = scratch[:k]
        np.copyto(deviation, part)
        # d = x − m as the rank-one update dᵀ −= m·1ᵀ, in place (BLAS ger): a broadcast
        # subtraction would make NumPy buffer up to 64 KiB of it
        deviation = dger(-1.0, mean, ones[:k], a=deviation.T, overwrite_a=True).T
        drift += ones[:k] @ deviation
        squares += ones[:k] @ np.square(deviation, out=deviation)
    squares -= drift**2 / n
    return mean + drift / n, np.sqrt(np.maximum(squares, 0.0) / n)


#: Above this many rows the preconditioning's moments come from this many rows spread evenly
#: over X (`sample_moments`): any nonsingular scaling has the same optimum, so estimates
#: serve as well as exact moments, and two passes over a large X cost more than the
#: optimizer's first iterations (10⁵ × 50: 7 ms of a 73 ms fit).
SAMPLE_ROWS = 4096


def sample_moments(X: Any, rows: int = SAMPLE_ROWS) -> tuple[np.ndarray, np.ndarray]:
    """Column (mean, spread) for preconditioning: exact up to ``rows`` rows, above it
    estimated on ``rows`` rows spread evenly over X (every ⌈m/rows⌉-th row, no randomness).

    A column that is constant on the sample but not on X (a rare value, a few outliers
    the stride misses) gets its exact moments from the whole column, so no feature that
    varies keeps an unscaled direction.  A dask array gets its exact moments, chunk by
    chunk (a strided sample would read every chunk anyway).

    Examples
    --------
    >>> X = np.zeros((10_000, 2)); X[:, 0] = np.arange(10_000) % 7; X[5, 1] = 1.0
    >>> mean, spread = sample_moments(X, rows=100)
    >>> bool(spread[1] > 0), round(float(mean[1]), 6)  # column 1 is 0 on the sample
    (True, 0.0001)
    """
    n = X.shape[0]
    if _is_dask(X) or n <= rows:
        return column_moments(X)
    step = -(-n // rows)
    with np.errstate(over="ignore", invalid="ignore"):
        mean, spread = _moments(np.asarray(X[::step], dtype=float))
        flat = np.flatnonzero(~(spread > 0))
        if flat.size:  # constant on the sample: the whole column decides
            exact_mean, exact_spread = _moments(np.asarray(X[:, flat], dtype=float))
            mean[flat], spread[flat] = exact_mean, exact_spread
    return mean, spread


class Moments:
    """Column means and spreads merged block by block (Chan, Golub and LeVeque's update).

    Each block is summed by the corrected two-pass rule, so rounding of the block mean
    cancels to first order; blocks merge pairwise.  Accurate to a few ulps of the
    spread even next to a mean 10¹¹ times larger.  Each column is kept divided by a power
    of two at least its largest magnitude seen so far (``factor``; the division is exact
    but for values some 10³⁰⁸ times below that, which add nothing), so the squares
    neither overflow at 1e155 nor underflow at 1e-170, as the in-memory `column_moments`.
    """

    def __init__(self, p: int):
        self.count, self.mean, self.squares = 0, np.zeros(p), np.zeros(p)
        self.factor = np.ones(p)

    def add(self, block: np.ndarray) -> None:
        k = block.shape[0]
        if k == 0:
            return
        with np.errstate(over="ignore", under="ignore", invalid="ignore"):
            biggest = np.abs(block).max(axis=0)
            usable = np.isfinite(biggest) & (biggest > 0)
            grown = np.where(
                usable, np.ldexp(1.0, np.frexp(np.where(usable, biggest, 1.0))[1]), 0.0
            )
            # the first block sets the factor; later ones only raise it
            factor = grown if self.count == 0 else np.maximum(self.factor, grown)
            factor = np.where(factor > 0, factor, 1.0)
            # a power of two ≤ 1; nothing to carry over before the first block
            ratio = self.factor / factor if self.count else np.zeros_like(factor)
            self.mean, self.squares, self.factor = (
                self.mean * ratio,
                self.squares * ratio**2,
                factor,
            )
            block = block / factor
            block_mean = block.mean(axis=0)
            deviation = block - block_mean
            drift = deviation.sum(axis=0)
            block_squares = (deviation**2).sum(axis=0) - drift**2 / k
            block_mean = block_mean + drift / k
            delta = block_mean - self.mean
            total = self.count + k
            self.mean = self.mean + delta * (k / total)
            self.squares = self.squares + block_squares + delta**2 * (self.count * k / total)
            self.count = total

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        """(mean, standard deviation)."""
        spread = np.sqrt(np.maximum(self.squares, 0.0) / max(self.count, 1))
        with np.errstate(over="ignore"):
            return self.mean * self.factor, spread * self.factor


def balanced_scale(scale: np.ndarray, l2: float, curvature: float | None) -> np.ndarray:
    """s·√(1 + λ/(c·s²)): the spread, widened where the penalty dominates (see `Scaling`)."""
    scale = np.asarray(scale, dtype=float)
    if not l2:
        return scale
    c = curvature if curvature else 1.0
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        widened = scale * np.sqrt(1.0 + l2 / (c * scale**2))
        # s² underflowed (s below 1e-154): the penalty's √(λ/c) is the whole of it
        widened = np.where(np.isfinite(widened), widened, math.sqrt(l2 / c))
        return np.where(scale > 0, widened, scale)


#: Features whose mean lies more than this many spreads from 0 get their Hessian formed
#: about the mean (`Preconditioned.hessian`): the raw Gram matrix then loses (μ/s)²·ε,
#: 2e-12 here, of its accuracy.
FAR_FROM_ORIGIN = 100.0


def far_from_origin(mean: np.ndarray, scale: np.ndarray) -> bool:
    """Whether some feature's mean is more than `FAR_FROM_ORIGIN` spreads from 0."""
    return bool(np.any(np.abs(mean) > FAR_FROM_ORIGIN * scale))


class Scaling:
    """θ = T θ': standardized coordinates for the units starting at ``blocks`` in θ.

    Each block is (intercept, one weight per feature); the rest of θ (a network's later
    layers) is left as it is.  A constant or non-finite column keeps its own scale.
    """

    def __init__(self, n_parameters: int, blocks: tuple[int, ...], mean: Any, scale: Any):
        self.n_parameters = int(n_parameters)
        self.blocks = tuple(int(b) for b in blocks)
        mean = np.asarray(mean, dtype=float)
        scale = np.asarray(scale, dtype=float)
        usable = np.isfinite(mean) & np.isfinite(scale) & (scale > 0)
        self.mean = np.where(usable, mean, 0.0)
        self.scale = np.where(usable, scale, 1.0)
        self.p = len(self.mean)
        self.identity = not self.blocks or (
            bool(np.all(self.mean == 0)) and bool(np.all(self.scale == 1))
        )
        # Units stored one after the other from the start of θ (every symcalc model): a
        # reshaped view instead of fancy indexing.
        units = len(self.blocks)
        self._prefix = (
            units * (self.p + 1)
            if self.blocks == tuple(range(0, units * (self.p + 1), self.p + 1))
            else None
        )
        # One unit's map as a (p+1) × (p+1) matrix for each direction, applied to all units
        # (rows of a reshaped view) by one small matrix product: u ↦ L·u is U ↦ U·Lᵀ.
        self._maps: dict[str, np.ndarray] = {}
        if self._prefix is not None and not self.identity:
            p1 = self.p + 1
            M = np.zeros((2, p1, p1))  # per unit θ = M[0]θ' and θ' = M[1]θ
            M[:, 0, 0] = 1.0
            M[0, 0, 1:] = -self.mean / self.scale  # b = b' − μ·w'/s
            M[0].flat[p1 + 1 :: p1 + 1] = 1.0 / self.scale  # w = w'/s
            M[1, 0, 1:] = self.mean  # b' = b + μ·w
            M[1].flat[p1 + 1 :: p1 + 1] = self.scale  # w' = s·w
            # each map's Lᵀ, for the row form U·Lᵀ (gradients map by the transposes)
            self._maps = {
                "to_user": M[0].T,
                "to_working": M[1].T,
                "gradient_to_working": M[0],
                "gradient_to_user": M[1],
            }

    @classmethod
    def for_features(
        cls,
        X: Any,
        blocks: tuple[int, ...],
        n_parameters: int,
        *,
        l2: float = 0.0,
        curvature: float | None = None,
    ) -> Scaling:
        """The scaling for a model on ``X`` whose feature-reading units start at ``blocks``.

        With a penalty λ (``l2``) on the weights in the user's units, a feature of small
        spread s_j gets penalty curvature λ/s_j² in standardized units, far above the
        data's c (``curvature``, the loss's bound): the scale becomes
        s_j·√(1 + λ/(c·s_j²)), so both add up to c on the diagonal of the Hessian
        (a Jacobi preconditioner, exact for uncorrelated features).  On large X the
        moments are estimated on a sample of the rows (`sample_moments`).
        """
        mean, scale = sample_moments(X)
        return cls(n_parameters, blocks, mean, balanced_scale(scale, l2, curvature))

    @classmethod
    def none(cls, n_parameters: int) -> Scaling:
        """The identity (no preconditioning)."""
        return cls(n_parameters, (), np.zeros(0), np.ones(0))

    def _units(self, vector: np.ndarray) -> np.ndarray:
        """The blocks of ``vector`` (n, ...) as an array (units, p + 1, ...)."""
        if self._prefix is not None:
            return vector[: self._prefix].reshape(len(self.blocks), self.p + 1, *vector.shape[1:])
        return vector[self._index]

    def _store(self, vector: np.ndarray, units: np.ndarray) -> None:
        if self._prefix is not None:
            vector[: self._prefix] = units.reshape(self._prefix, *vector.shape[1:])
        else:
            vector[self._index] = units

    @functools.cached_property
    def _index(self) -> np.ndarray:
        """Positions of the units' entries in θ, (units, p + 1), when they are not a prefix."""
        if not self.blocks:
            return np.zeros((0, self.p + 1), dtype=int)
        return np.asarray(self.blocks)[:, None] + np.arange(self.p + 1)[None, :]

    def _mapped(self, vector: np.ndarray, name: str) -> np.ndarray | None:
        """``vector`` (1-D) mapped unit by unit with the matrix of ``name``; None if no matrix."""
        if vector.ndim != 1 or name not in self._maps:
            return None
        if vector.size == self._prefix:  # all of θ in units: one product, no copies
            units = vector.reshape(len(self.blocks), self.p + 1)
            return np.matmul(units, self._maps[name]).reshape(-1)
        out = np.array(vector, dtype=float)
        units = out[: self._prefix].reshape(len(self.blocks), self.p + 1)
        np.matmul(units.copy(), self._maps[name], out=units)
        return out

    def _map(
        self, vector: np.ndarray, name: str, change: Callable[[np.ndarray], None]
    ) -> np.ndarray:
        """A copy of ``vector`` with each unit's block changed in place by ``change``;
        1-D vectors by the unit matrix of ``name`` where there is one (one product)."""
        fast = self._mapped(np.asarray(vector), name)
        if fast is not None:
            return fast
        vector = np.array(vector, dtype=float)
        if self.identity:
            return vector
        U = self._units(vector)
        change(U)
        self._store(vector, U)
        return vector

    def to_user(self, theta: np.ndarray) -> np.ndarray:
        """θ = Tθ': w = w'/s, b = b' − μ·w."""

        def change(U: np.ndarray) -> None:
            w = U[:, 1:] / self.scale
            U[:, 0] = U[:, 0] - w @ self.mean
            U[:, 1:] = w

        return self._map(theta, "to_user", change)

    def to_working(self, theta: np.ndarray) -> np.ndarray:
        """θ' = T⁻¹θ: w' = s·w, b' = b + μ·w."""

        def change(U: np.ndarray) -> None:
            U[:, 0] = U[:, 0] + U[:, 1:] @ self.mean
            U[:, 1:] = U[:, 1:] * self.scale

        return self._map(theta, "to_working", change)

    def gradient_to_working(self, gradient: np.ndarray) -> np.ndarray:
        """Tᵀg: ∂J/∂b' = g_b, ∂J/∂w'_j = (g_w_j − μ_j·g_b)/s_j (also for n × k arrays)."""

        def change(U: np.ndarray) -> None:
            extra = (None,) * (U.ndim - 2)
            mean = self.mean[(slice(None), *extra)]
            scale = self.scale[(slice(None), *extra)]
            U[:, 1:] = (U[:, 1:] - mean[None] * U[:, :1]) / scale[None]

        return self._map(gradient, "gradient_to_working", change)

    def gradient_to_user(self, gradient: np.ndarray) -> np.ndarray:
        """T⁻ᵀg': g_b = g'_b, g_w_j = s_j·g'_w_j + μ_j·g'_b."""

        def change(U: np.ndarray) -> None:
            U[:, 1:] = U[:, 1:] * self.scale + self.mean * U[:, :1]

        return self._map(gradient, "gradient_to_user", change)

    def direction_to_user(self, v: np.ndarray) -> np.ndarray:
        """Tv' for a direction (the same linear map as `to_user`)."""
        return self.to_user(v)

    def hessian_to_working(self, H: np.ndarray) -> np.ndarray:
        """TᵀHT (H symmetric): the map Tᵀ applied to the rows, then to the columns."""
        if self.identity:
            return H
        H = np.asarray(H, dtype=float)
        n = H.shape[0]
        if self._prefix is not None and self._prefix == n:  # every row is in a unit
            units, p1 = len(self.blocks), self.p + 1
            M = self._maps["gradient_to_working"]  # Mᵀ·H·M, unit block by unit block
            left = np.matmul(M.T, H.reshape(units, p1, n))
            return np.matmul(left.reshape(n, units, p1), M).reshape(n, n)
        left = self.gradient_to_working(H)
        return self.gradient_to_working(np.ascontiguousarray(left.T))

    def __repr__(self) -> str:
        if self.identity:
            return "<Scaling identity>"
        return f"<Scaling {len(self.blocks)} units × {self.p} features>"


class Preconditioned:
    """``objective`` in the coordinates θ' of ``scaling`` (θ = Tθ'): J(Tθ'), Tᵀ∇J, TᵀHT.

    Everything an optimizer reads (value, gradient, Hessian, Hessian-vector product,
    separability, the initial point) is here; `symcalc.learn.descent` maps the result
    back to the user's units.
    """

    def __init__(self, objective: Any, scaling: Scaling):
        self.inner = objective
        self.scaling = scaling
        for attribute in (
            "name",
            "n_parameters",
            "n_features",
            "n_samples",
            "l2",
            "bounded",
            "convex",
            "has_hessian",
            "classifier",
            "feature_blocks",
        ):
            setattr(self, attribute, getattr(objective, attribute))
        #: About how many gradient passes one Hessian costs (inf where it is not formed).
        self.hessian_cost = float(getattr(objective, "hessian_cost", float("inf")))
        self._lipschitz: float | None = None
        self._last: tuple[bytes, np.ndarray] | None = None

    def _user(self, theta: np.ndarray) -> np.ndarray:
        """Tθ', remembered for the last θ' (Newton asks the Hessian where it just evaluated)."""
        key = np.asarray(theta, dtype=float).tobytes()
        if self._last is not None and self._last[0] == key:
            return self._last[1]
        user = self.scaling.to_user(theta)
        user.flags.writeable = False  # shared between calls: nobody may change it
        self._last = (key, user)
        return user

    @functools.cached_property
    def _centred(self) -> Any:
        """On features far from 0, the objective `about` the means (J and ∇J without
        cancellation: b + X·w and the gradient moved to θ' lose (μ/s)·ε, which at 1e6
        spreads leaves ‖∇J‖ above the tolerance at the optimum); else None."""
        if self._spread is None or getattr(self.inner, "_dask", False):
            return None
        return self.inner.about(self.scaling.mean)

    def value(self, theta: np.ndarray) -> float:
        if self._centred is not None:
            return self._centred.value(self._spread.to_user(theta))
        return self.inner.value(self._user(theta))

    def value_and_gradient(
        self, theta: np.ndarray, out: np.ndarray | None = None
    ) -> tuple[float, np.ndarray]:
        if self._centred is not None:
            value, gradient = self._centred.value_and_gradient(self._spread.to_user(theta))
            working = self._spread.gradient_to_working(gradient)
        else:
            value, gradient = self.inner.value_and_gradient(self._user(theta))
            if math.isfinite(value):
                working = self.scaling.gradient_to_working(gradient)
            else:  # an overflowed J (the monitor says so): its ±inf gradient maps to NaN
                with np.errstate(invalid="ignore", over="ignore"):
                    working = self.scaling.gradient_to_working(gradient)
        if out is None:
            return value, working
        out[...] = working
        return value, out

    def gradient(self, theta: np.ndarray, out: np.ndarray | None = None) -> np.ndarray:
        if self._centred is not None:
            working = self._spread.gradient_to_working(
                self._centred.gradient(self._spread.to_user(theta))
            )
        else:
            working = self.scaling.gradient_to_working(
                self.inner.gradient(self.scaling.to_user(theta))
            )
        if out is None:
            return working
        out[...] = working
        return out

    def hessian(self, theta: np.ndarray) -> np.ndarray:
        """TᵀHT; on features far from 0 (`far_from_origin`) the objective forms H of
        [1, X − μ] and only the spreads are applied after: X̃ᵀDX̃ of the raw X and then
        Tᵀ·T would lose (μ/s)²·ε of its accuracy to cancellation (all of it at 10⁸)."""
        user = self._user(theta)
        if self._hessian_here:
            return self.inner.hessian(user, centre=self.scaling.mean, scale=self.scaling.scale)
        spread = self._spread
        if spread is not None:
            return spread.hessian_to_working(self.inner.hessian(user, centre=self.scaling.mean))
        return self.scaling.hessian_to_working(self.inner.hessian(user))

    @functools.cached_property
    def _hessian_here(self) -> bool:
        """Whether the objective forms the Hessian in these coordinates itself: on extreme
        features (`_extreme`), and on small softmax data, from its kept row products of
        [1, (X − μ)/s] (`AffineObjective.keeps_row_products`: no TᵀHT afterwards)."""
        return self._extreme or bool(getattr(self.inner, "keeps_row_products", False))

    @functools.cached_property
    def _extreme(self) -> bool:
        """Whether some feature's spread or mean lies outside `_SPREAD_RANGE` (about 1e±138),
        where the Gram products of X overflow or underflow: the objective then forms the
        Hessian of [1, (X − μ)/s] itself, in these coordinates (at 1e154 the user-unit
        Hessian was inf, and Newton crawled 1,120 steps to stop for ``loss_change``)."""
        if not getattr(self.inner, "centred_hessian", False):
            return False
        low, high = _SPREAD_RANGE
        scale, mean = self.scaling.scale[: self.scaling.p], np.abs(self.scaling.mean)
        return bool(np.any((scale < low) | (scale > high) | (mean > high)))

    @functools.cached_property
    def _spread(self) -> Scaling | None:
        """On features far from 0 (`far_from_origin`), the scaling by the spreads alone:
        the objective then works about the means (`hessian`, `hessian_vector`); else None."""
        if not (
            getattr(self.inner, "centred_hessian", False)
            and far_from_origin(self.scaling.mean, self.scaling.scale)
        ):
            return None
        return Scaling(
            self.n_parameters,
            self.scaling.blocks,
            np.zeros_like(self.scaling.mean),
            self.scaling.scale,
        )

    def hessian_vector(self, theta: np.ndarray, v: np.ndarray) -> np.ndarray:
        """TᵀHTv; about the means on features far from 0, like `hessian` (the products of
        the raw X would lose (μ/s)²·ε: Newton-CG's steps and the decrement check with them)."""
        spread = self._spread
        if spread is not None:
            product = self.inner.hessian_vector(
                self._user(theta), spread.direction_to_user(v), centre=self.scaling.mean
            )
            return spread.gradient_to_working(product)
        product = self.inner.hessian_vector(self._user(theta), self.scaling.direction_to_user(v))
        return self.scaling.gradient_to_working(product)

    def diagonal_blocks(self, theta: np.ndarray) -> np.ndarray | None:
        """The objective's diagonal Hessian blocks (one per unit: softmax's classes) in
        these coordinates, Mᵀ·B·M with M the unit's map (about the means on features far
        from 0, like `hessian`); None where the objective has none or the units do not
        tile θ."""
        finder = getattr(self.inner, "diagonal_blocks", None)
        if finder is None:
            return None
        if self._extreme:
            return finder(self._user(theta), centre=self.scaling.mean, scale=self.scaling.scale)
        spread = self._spread
        if spread is not None:
            scaling, blocks = spread, finder(self._user(theta), centre=self.scaling.mean)
        else:
            scaling, blocks = self.scaling, finder(self._user(theta))
        if blocks is None or scaling.identity:
            return blocks
        if scaling._prefix != self.n_parameters or blocks.shape[0] != len(scaling.blocks):
            return None
        M = scaling._maps["gradient_to_working"]
        for block in blocks:  # in place, one block at a time: no copy of all K
            block[...] = M.T @ block @ M
        return blocks

    def penalty(self, theta: np.ndarray) -> float:
        return self.inner.penalty(self.scaling.to_user(theta))

    def penalty_gradient(self, theta: np.ndarray) -> np.ndarray:
        return self.scaling.gradient_to_working(
            self.inner.penalty_gradient(self.scaling.to_user(theta))
        )

    def separable(self, theta: np.ndarray) -> bool | str:
        return self.inner.separable(self.scaling.to_user(theta))

    def curvature_floor(self, theta: np.ndarray) -> float | None:
        """A lower bound on the eigenvalues of ∇²J(θ') in these coordinates, or None.

        For one output with a penalty: z = b' + x'·w' with x' = (x − μ)/s, so for a unit
        u = (α, β), uᵀHu ≥ d·(1/m)Σ(α + x'·β)² + λ_w‖β‖² ≥ d·(α + μ̄'·β)² + λ_w‖β‖², with
        d the smallest ∂²ℓ/∂z² over the samples, λ_w = λ·min 1/s² the penalty's curvature
        and μ̄' the mean of x' (0 up to the sampling of μ).  The smallest eigenvalue of
        that 2 × 2 form is the bound.  Conjugate gradients then stop as soon as their lower
        bound on the decrement plus ½‖r‖²/floor is within the tolerance (usually before
        the first product: logistic 10⁵ × 50, λ = 1e-4, took 4 products, 20 % of the fit).
        """
        parts = self._curvature_parts(theta)
        return None if parts is None else _floor(*parts)

    def _curvature_parts(self, theta: np.ndarray) -> tuple[float, float, float] | None:
        """(d, c, λ_w) of `curvature_floor`: the smallest ∂²ℓ/∂z² at θ, the shift ‖μ̄'‖ of
        the exact column means, the penalty's least curvature; None where there is none."""
        inner = self.inner
        finder = getattr(inner, "smallest_curvature", None)
        if finder is None or not self.l2 or getattr(inner, "n_outputs", 0) != 1:
            return None
        d = finder(self._user(theta))  # first: it sums the columns in the same pass
        means = inner.column_means
        if means is None or d is None or not d > 0:
            return None
        shift = float(np.linalg.norm((means - self.scaling.mean) / self.scaling.scale))
        return d, shift, self.penalty_curvature

    @functools.cached_property
    def penalty_curvature(self) -> float:
        """λ·min 1/s²: the least curvature of the penalty along the weights in θ'."""
        return self.l2 * float(np.min(1.0 / self.scaling.scale**2)) if self.l2 else 0.0

    def certified_gap(
        self, theta: np.ndarray, gradient: np.ndarray, allowed: float
    ) -> tuple[float, float] | None:
        """(an upper bound on J(θ') − J*, an upper bound on ‖θ' − θ'*‖) where the first
        is at most ``allowed``, else None; ``gradient`` is ∇J(θ') in these coordinates.

        J is strongly convex on a ball B of radius R around θ' with modulus f_B, the
        floor of `curvature_floor` (or its form with the mean ℓ'' and the weighted mean
        of the features, `weighted_curvature`, where that is larger) with d replaced by
        its least value on B: every
        sample's output moves by at most ρR there (ρ = √(1 + max‖(xᵢ − μ)/s‖²)), and
        ∂²ℓ/∂z² by at most a factor e^(−cρR) (`CURVATURE_LOG_LIPSCHITZ`).  Where
        2‖g‖/f_B < R, the minimizer of J over B is inside it, so it is θ'*, and
        J(θ') − J* ≤ ‖g‖²/(2f_B), ‖θ' − θ'*‖ ≤ ‖g‖/f_B.  The logistic loss's curvature
        falls to 0 far from the data, and the intercept is not penalized, so no modulus
        holds everywhere: the ball is what makes the bound certain.

        The cheap test first: f_B ≤ λ_w, so ‖g‖²/(2λ_w) above ``allowed`` ends it before
        any pass over the data.
        """
        head = getattr(self.inner, "head", None)
        c = getattr(head, "curvature_log_lipschitz", None)
        penalty = self.penalty_curvature
        if c is None or not penalty > 0 or self._extreme or self._centred is not None:
            return None
        squared = float(gradient @ gradient)
        if not (math.isfinite(squared) and 0.5 * squared / penalty <= allowed):
            return None
        parts = self._curvature_parts(theta)
        d, shift = (0.0, 0.0) if parts is None else parts[:2]
        local = _floor(d, shift, penalty) if parts is not None else None
        if local is None or local < 0.5 * penalty:
            # the smallest ℓ'' is small (a sample far from the boundary): the mean ℓ''
            # and the features' mean weighted by it (one pass over X) may give up to λ_w
            weighted = self.inner.weighted_curvature(self._user(theta))
            if weighted is not None:
                mean_d, centre = weighted
                mean_shift = float(
                    np.linalg.norm((centre - self.scaling.mean) / self.scaling.scale)
                )
                other = _floor(mean_d, mean_shift, penalty)
                if other is not None and (local is None or other > local):
                    d, shift, local = mean_d, mean_shift, other
        if local is None:
            return None
        size = math.sqrt(squared)
        radius = 4.0 * size / local
        reach = 0.0
        if c > 0:
            spread = self.inner.largest_row_norm(self.scaling.mean, self.scaling.scale)
            if spread is None:
                return None
            reach = c * math.hypot(1.0, spread) * radius
        # ℓ'' on the ball, less 1e-12 of it for the kernel's rounding
        floor = _floor(d * math.exp(-reach) * (1 - 1e-12), shift, penalty)
        if floor is None or not 2.0 * size / floor < radius:
            return None
        gap = 0.5 * squared / floor
        return (gap, size / floor) if gap <= allowed else None

    def softmax_gap(self, theta: np.ndarray, gradient: np.ndarray, allowed: float) -> float | None:
        """For a softmax model with a penalty, an upper bound on J(θ') − J* where it is
        at most ``allowed``, else None; ``gradient`` is ∇J(θ') in these coordinates.
        The decrement check (`symcalc.learn.optimizers.decrement_check`) reads it in
        place of conjugate gradients once the gradient has met tol; it is no stopping
        rule of its own (no ``loss_bound`` stop: it bounds J, not θ).

        The intercepts are not penalized, so no curvature floor holds for all of θ; the
        bound (`symcalc.learn.models.InterceptCertificate`) splits J − J* into the
        intercepts' gap with W fixed (their exact curvature, on a ball) and the gap of
        φ(W) = min_b J(b, W), which the penalty makes λ-strongly convex.  The cheap test
        first: the weights' gradient in the user's units (about the means, s⊙g'_w) must
        be within 2√(2λ·allowed), else no pass over the data is made.
        """
        finder = getattr(self.inner, "intercept_certificate", None)
        if finder is None or not self.l2 or self._extreme or self._centred is not None:
            return None
        scaling = self.scaling
        if scaling._prefix != self.n_parameters:
            return None
        units = np.asarray(gradient, dtype=float).reshape(len(scaling.blocks), scaling.p + 1)
        weights = float(np.linalg.norm(units[:, 1:] * scaling.scale))
        if not weights <= 2.0 * math.sqrt(2.0 * self.l2 * allowed):
            return None
        found = finder(self._user(theta), scaling.mean)
        gap = None if found is None else found.bound()
        return gap if gap is not None and gap <= allowed else None

    def null_directions(self) -> np.ndarray | None:
        """T⁻¹N: the directions along which J never changes, in θ' (orthonormalized;
        computed once, read-only: Newton and the decrement check both ask)."""
        return self._null_directions

    @functools.cached_property
    def _null_directions(self) -> np.ndarray | None:
        directions = (
            self.inner.null_directions() if hasattr(self.inner, "null_directions") else None
        )
        if directions is None:
            return None
        mapped = np.column_stack([self.scaling.to_working(v) for v in directions.T])
        found = np.linalg.qr(mapped)[0]
        found.flags.writeable = False
        return found

    def initial(self, seed: int = 0) -> np.ndarray:
        """The objective's own start, read in standardized coordinates (zeros stay zeros)."""
        return self.inner.initial(seed)

    @property
    def lipschitz(self) -> float | None:
        """L of ∇J in θ': curvature·λ_max(TᵀX̃ᵀX̃T)/m + λ·max 1/s², or None."""
        if not self.inner.bounded or not hasattr(self.inner, "gram"):
            return None
        if self._lipschitz is None:
            gram = self.inner.gram()
            if gram is None:
                return None
            p1 = gram.shape[0]
            local = Scaling(p1, (0,), self.scaling.mean, self.scaling.scale)
            working = local.hessian_to_working(gram)
            largest = float(np.linalg.eigvalsh(working)[-1])
            penalty = self.l2 * float(np.max(1.0 / self.scaling.scale**2)) if self.l2 else 0.0
            self._lipschitz = self.inner.head.curvature * largest / self.n_samples + penalty
        return self._lipschitz

    def __repr__(self) -> str:
        return f"<Preconditioned {self.inner!r} {self.scaling!r}>"


def _floor(d: float, shift: float, penalty: float) -> float | None:
    """The smaller eigenvalue of [[d, d·c], [d·c, d·c² + λ_w]] (c = ``shift``, λ_w =
    ``penalty``), at most λ_w: `Preconditioned.curvature_floor`; None if not positive."""
    # trace and determinant; the smaller eigenvalue by their quotient (no cancellation)
    half, determinant = 0.5 * (d + d * shift**2 + penalty), d * penalty
    smallest = determinant / (half + math.sqrt(max(half * half - determinant, 0.0)))
    floor = min(smallest, penalty)
    return floor if floor > 0 and math.isfinite(floor) else None
