"""Heads: the loss on a model's outputs, with its first and second derivatives in the outputs.

A head turns a model's outputs z (one per sample, or K per sample for softmax) and the
targets into what the objectives need: the loss values ℓ(z, y), the derivative
∂ℓ/∂z and the curvature ∂²ℓ/∂z².

* `ScalarHead` evaluates a catalog loss of one output (squared error, Huber,
  binary cross-entropy on logits, ...) and its symbolic first and second derivatives
  with the kernels of `symcalc.numeric.kernels` (``kernel(loss, order=1)``,
  ``kernel(loss, order=2)``).
* `SoftmaxHead` is categorical cross-entropy of softmax(z) over K classes.  Its
  derivatives are derived **once for a generic K** (`softmax_derivatives`: indexed
  logits zₖ, sums over k = 1..K, no per-class expansion), in the log-sum-exp form

      ℓ(z, y) = (Σₖ yₖ)·log Σₖ exp(zₖ) − Σₖ yₖ zₖ
      ∂ℓ/∂z_c = softmax(z)_c − y_c                      (Σₖ yₖ = 1)
      ∂²ℓ/∂z_c∂z_d = softmax(z)_c (δ_cd − softmax(z)_d)

  and evaluated with the stable primitives those forms name: log-sum-exp and
  softmax, shifted by each row's largest logit, with ``log1p`` of the sum of the
  other classes' exponentials, so that the loss of a confidently right sample
  (ℓ ≈ e⁻¹⁰⁰⁰) keeps its relative accuracy and no exp overflows.  Building a head
  costs microseconds for any K (the old per-class kernels took 23 s for K = 3 and
  1,001 s for K = 10).

Floating point: for finite logits, ℓ, ∂ℓ/∂z and the curvature weights are within a
few ulps per sample of their exact values (tests: mpmath at 50 digits, logits up to
±1e3); float32 outputs stay float32.

Examples
--------
>>> head = SoftmaxHead(("a", "b", "c"))
>>> Z = np.array([[1000.0, 0.0, -1000.0]]); codes = np.array([0])
>>> head.values(Z, codes), head.derivative(Z, codes).round(6)
(array([0.]), array([[-0.,  0.,  0.]]))
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np
import sympy

from ..errors import SymcalcError, did_you_mean
from ..symbolic.catalog import Entry
from ..symbolic.parse import resolve

__all__ = [
    "CURVATURE",
    "SCALAR_LOSSES",
    "ScalarHead",
    "SoftmaxDerivatives",
    "SoftmaxHead",
    "encode_classes",
    "head_for",
    "kernel_for",
    "scalar_loss",
    "softmax_derivatives",
]

#: sup |∂²ℓ/∂z²| (for softmax: the largest eigenvalue of the Hessian in z) of the losses a
#: head may use.  With it, ∇J is Lipschitz with L = bound · λ_max(X̃ᵀX̃)/m + λ.  The tests
#: check every bound against the symbolic second derivative.
CURVATURE: Mapping[str, sympy.Rational] = MappingProxyType(
    {
        "squared_error": sympy.Integer(2),
        "huber": sympy.Integer(1),
        "log_cosh": sympy.Integer(1),
        "binary_cross_entropy_with_logits": sympy.Rational(1, 4),
        "categorical_cross_entropy": sympy.Rational(1, 2),
    }
)

_CURVATURE_FLOATS = {name: float(bound) for name, bound in CURVATURE.items()}

#: sup |d/dz log ∂²ℓ/∂z²| of the losses where it is finite: ℓ''(z + δ) ≥ ℓ''(z)·e^(−c|δ|).
#: Squared error: ℓ'' = 2, c = 0; binary cross-entropy: ℓ'' = σ(1 − σ), whose log has
#: derivative 1 − 2σ ∈ (−1, 1); log-cosh: ℓ'' = sech²(z − y), derivative −2·tanh ∈ (−2, 2).
#: The certified stop (`symcalc.learn.scaling.Preconditioned.certified_gap`) bounds the
#: curvature on a ball around θ with it; other losses get no certificate.
CURVATURE_LOG_LIPSCHITZ: Mapping[str, float] = MappingProxyType(
    {"squared_error": 0.0, "binary_cross_entropy_with_logits": 1.0, "log_cosh": 2.0}
)

#: Catalog losses a model can use on one real output, and the target each expects.
SCALAR_LOSSES: Mapping[str, str] = MappingProxyType(
    {
        "squared_error": "number",
        "absolute_error": "number",
        "huber": "number",
        "log_cosh": "number",
        "binary_cross_entropy_with_logits": "two classes",
    }
)

#: Most classes a classifier takes.
MAX_CLASSES = 64


# -- kernels, built once per function ------------------------------------------------------


def kernel_for(
    entry: Entry,
    order: int = 0,
    wrt: str | None = None,
    dtype: str | None = None,
    convention: str = "zero",
) -> Callable[..., np.ndarray]:
    """``kernel(entry, order=order, wrt=wrt, dtype=dtype, convention=convention)``: built
    once (the kernel cache), and remembered here by the entry's identity, so asking again
    costs a dictionary look-up.

    Examples
    --------
    >>> from symcalc.symbolic.catalog import get
    >>> kernel_for(get("squared_error"), 2)(np.array([3.0]), 1.0)
    array([2.])
    """
    key = (id(entry), order, wrt, dtype, convention)
    known = _KERNELS.get(key)
    if known is not None and known[0] is entry:
        return known[1]
    from ..numeric.kernels import kernel

    built = kernel(entry, order=order, wrt=wrt, dtype=dtype, convention=convention)
    if len(_KERNELS) >= 64:
        _KERNELS.clear()
    _KERNELS[key] = (entry, built)
    return built


#: The kernels of the entries heads use, by (id(entry), order, wrt): a fit asks for the same
#: few every time, and the kernel cache's key (the entry's expression) costs more to hash
#: than the evaluation of a small batch.  The entry is kept too, so an id is never reused.
_KERNELS: dict[tuple[Any, ...], tuple[Entry, Callable[..., np.ndarray]]] = {}


# -- classes ---------------------------------------------------------------------------------


def label_text(value: float) -> str:
    """A numeric class label as text: short where that names it exactly (``1``, ``0.5``,
    ``1e+06``), else every digit it needs (``123456789``, ``1.0000002``), so two labels
    never share a name.

    Examples
    --------
    >>> [label_text(v) for v in (1.0, 0.5, 1e6, 123456789.0, 1.0000002)]
    ['1', '0.5', '1e+06', '123456789', '1.0000002']
    """
    number = float(value)
    short = f"{number:g}"
    if float(short) == number:
        return short
    if number.is_integer() and abs(number) < 1e16:
        return str(int(number))
    return repr(number)


def label_names(labels: np.ndarray) -> tuple[str, ...]:
    """The names of sorted class labels: numbers by `label_text`, integers and text as is."""
    if labels.dtype.kind == "f":
        return tuple(label_text(v) for v in labels)
    return tuple(str(v) for v in labels)


def encode_classes(y: np.ndarray, target: str = "y") -> tuple[np.ndarray, tuple[str, ...]]:
    """Class codes 0..K-1 (sorted labels) and the labels as text.

    Examples
    --------
    >>> codes, classes = encode_classes(np.array(["b", "a", "b"], dtype=object))
    >>> codes.tolist(), classes
    ([1, 0, 1], ('a', 'b'))
    """
    labels, codes, classes = _classes(y, target)
    return codes, classes


def _classes(y: np.ndarray, target: str) -> tuple[np.ndarray, np.ndarray, tuple[str, ...]]:
    """(sorted labels, codes 0..K-1, labels as text), from one sort of ``y`` (numbers of
    at most two values: a few comparisons, `_two_labels`)."""
    found = _two_labels(y)
    labels, codes = found if found is not None else np.unique(y, return_inverse=True)
    if len(labels) > MAX_CLASSES:
        raise SymcalcError(
            f"target '{target}' has {len(labels)} distinct values; a classifier takes at most "
            f"{MAX_CLASSES} classes (for a numeric target use the linear model, or mlp with "
            "`loss=squared_error`)"
        )
    return labels, codes.astype(np.intp, copy=False), label_names(labels)


def _two_labels(y: np.ndarray) -> tuple[np.ndarray, np.ndarray] | None:
    """``np.unique(y, return_inverse=True)`` for numeric ``y`` of one or two distinct
    values, by comparisons instead of a sort (10⁵ labels: 0.2 ms instead of 3 ms, 5 % of
    a logistic fit on 10⁵ × 50); None for anything else."""
    if not isinstance(y, np.ndarray) or y.ndim != 1 or y.dtype.kind not in "biuf" or not y.size:
        return None
    first = y[0]
    other = y != first
    if not other.any():
        return np.array([first], dtype=y.dtype), np.zeros(y.size, dtype=np.intp)
    second = y[int(np.argmax(other))]
    low, high = (first, second) if first < second else (second, first)
    upper = y == high
    if not (upper | (y == low)).all():  # a third value (or NaN): the sort decides
        return None
    return np.array([low, high], dtype=y.dtype), upper.astype(np.intp)


def _codes_for(labels: np.ndarray, y: np.ndarray, target: str) -> np.ndarray:
    """Codes of ``y`` among the sorted ``labels`` (a label not among them is an error)."""
    y = np.asarray(y)
    if labels.dtype.kind == "f":
        y = y.astype(float)
    codes = np.searchsorted(labels, y)
    codes = np.minimum(codes, len(labels) - 1)
    unknown = labels[codes] != y
    if np.any(unknown):
        bad = y[np.argmax(unknown)]
        bad = bad.item() if hasattr(bad, "item") else bad
        raise SymcalcError(
            f"target '{target}' holds the label {bad!r}, which was not among the classes "
            f"{', '.join(label_names(labels))} seen first; every class must be known up front"
        )
    return codes.astype(np.intp)


@functools.lru_cache(maxsize=64)
def _curvature_constant(loss: sympy.Expr, z: sympy.Symbol) -> float | None:
    """∂²loss/∂z² where it is one finite real number (correctly rounded), else None (asked
    once per loss: a fit makes a new head)."""
    second = sympy.diff(loss, z, 2)
    if second.free_symbols or not (second.is_finite and second.is_real):
        return None
    return float(second)


# -- the scalar head -----------------------------------------------------------------------------


def _squared_residual(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.subtract(z, y)
    return np.square(out, out=out)  # one array, as the kernel's


def _doubled_residual(z: np.ndarray, y: np.ndarray) -> np.ndarray:
    out = np.subtract(z, y)
    out *= 2.0
    return out


#: ℓ = (z − y)², ℓ' = 2(z − y), ℓ'' = 2 in float64 NumPy: what the kernels compute (the
#: kernel of ℓ' forms 2z − 2y: the same number, 2z and 2y being exact, except where 2z
#: overflows and the kernel redoes the element in long double to get 2(z − y)), with the
#: kernels' roundings, inf exactly where the true value passes the float range.
_SQUARED_ERROR: tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], ...] = (
    _squared_residual,
    _doubled_residual,
    lambda z, y: np.full(z.shape, 2.0),
)


def _logistic_parts(z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
    """(Σ ℓ, ℓ') of the logistic loss ℓ = softplus(z) − y·z for labels y ∈ {0, 1}.

    With s = (1 − 2y)·z (exact: a sign), ℓ = softplus(s) = max(s, 0) + log1p(e^(−|z|)),
    two terms of one sign, and ℓ' = `_logistic_slope`, from the same e^(−|z|).  Not for
    soft labels 0 < y < 1."""
    sign, e = _sign_and_decay(z, y)
    loss = np.log1p(e)
    loss += np.maximum(np.multiply(z, sign), 0.0)
    return float(np.add.reduce(loss)), _logistic_slope(z, y, sign, e, loss)


def _sign_and_decay(z: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(1 − 2y, e^(−|z|)): a sign per label and a number in (0, 1] that never overflows."""
    sign = np.multiply(y, -2.0)
    sign += 1.0
    e = np.abs(z)
    np.negative(e, out=e)
    return sign, np.exp(e, out=e)


def _logistic_slope(
    z: np.ndarray,
    y: np.ndarray,
    sign: np.ndarray | None = None,
    e: np.ndarray | None = None,
    scratch: np.ndarray | None = None,
) -> np.ndarray:
    """ℓ' = σ(z) − y = (1 − 2y)·σ(s), s = (1 − 2y)·z, for labels y ∈ {0, 1}: σ(s) is
    1/(1 + e^(−|z|)) for s ≥ 0 and e^(−|z|)/(1 + e^(−|z|)) below, no difference of nearly
    equal numbers (σ(z) − 1 loses every digit for z ≫ 1; the kernel rounds −e^(−720) to
    −0, this keeps it).  ``scratch``, if given, is overwritten."""
    if sign is None or e is None:
        sign, e = _sign_and_decay(z, y)
    slope = np.add(e, 1.0)
    np.reciprocal(slope, out=slope)  # σ(|z|)
    small = np.multiply(e, slope, out=scratch)  # σ(−|z|)
    np.copyto(slope, small, where=(z < 0) != (sign < 0))  # where s < 0 (or s = −0)
    slope *= sign
    return slope


def _logistic_curvature(z: np.ndarray) -> np.ndarray:
    """ℓ'' = σ(z)·σ(−z) = e^(−|z|)/(1 + e^(−|z|))², for either label: a quotient of
    positive numbers, a few roundings."""
    e = np.abs(z)
    np.negative(e, out=e)
    np.exp(e, out=e)
    denominator = np.add(e, 1.0)
    np.square(denominator, out=denominator)
    return np.divide(e, denominator, out=e)


@dataclasses.dataclass(frozen=True, repr=False)
class ScalarHead:
    """A catalog loss ℓ(z, y) on one real output z per sample.

    ``classes`` names the two classes of a binary classifier (codes 0 and 1), with
    ``labels`` the raw sorted label values they stand for.
    """

    entry: Entry
    classes: tuple[str, ...] | None = None
    labels: np.ndarray | None = dataclasses.field(default=None, compare=False)

    n_outputs = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "_kernels", {})
        self._kernel(0, None)  # the loss and ∂ℓ/∂z built now (absolute error's ℓ'' never)
        self._kernel(1, None)

    def _kernel(self, order: int, z: Any) -> Callable[..., np.ndarray]:
        """The kernel of ∂ᵒℓ/∂zᵒ; for float64 outputs one fixed to float64 (no per-call
        inference of the dtype), else one that follows the inputs (float32 stays float32)."""
        wide = getattr(z, "dtype", None) == np.float64
        found = self._kernels.get((order, wide))
        if found is None:
            found = kernel_for(self.entry, order, dtype="float64" if wide else None)
            self._kernels[order, wide] = found
        return found

    def _apply(self, order: int, z: Any, y: Any) -> np.ndarray:
        """∂ᵒℓ/∂zᵒ at (z, y).  float64 arrays (what a fit passes, checked when the data
        were read) go through `Kernel.evaluate`, which skips the call's argument checks
        and conversions (about 15 % of a kernel call on breast cancer's 569 rows); the
        numbers and the promise are the call's.  Squared error's are NumPy's own
        (`_SQUARED_ERROR`): the kernel's formulas, without its 11 µs of call overhead
        on 442 rows (two calls per gradient pass, 10 % of a diabetes fit)."""
        kernel = self._kernel(order, z)
        if (
            type(z) is np.ndarray
            and type(y) is np.ndarray
            and z.dtype == y.dtype == np.float64
            and z.ndim >= 1
            and z.shape == y.shape
            and kernel.backend == "numpy"
            and kernel.stable
        ):
            if self.entry.name == "squared_error":
                return _SQUARED_ERROR[order](z, y)
            if order and self._class_codes:
                return _logistic_slope(z, y) if order == 1 else _logistic_curvature(z)
            return kernel.evaluate(z, y)
        return kernel(z, y)

    @property
    def curvature(self) -> float | None:
        """sup |ℓ''|, or None when the loss has no bounded second derivative."""
        return _CURVATURE_FLOATS.get(self.entry.name)

    @property
    def _class_codes(self) -> bool:
        """Whether this is logistic regression on class codes 0 and 1 (`_logistic_parts`)."""
        return self.classes is not None and self.entry.name == "binary_cross_entropy_with_logits"

    @property
    def curvature_log_lipschitz(self) -> float | None:
        """c with ℓ''(z + δ) ≥ ℓ''(z)·e^(−c|δ|) everywhere (`CURVATURE_LOG_LIPSCHITZ`), or None."""
        return CURVATURE_LOG_LIPSCHITZ.get(self.entry.name)

    @property
    def twice_differentiable(self) -> bool:
        """Whether ℓ'' carries curvature Newton's method can use (not absolute error)."""
        return self.entry.name in CURVATURE

    @property
    def constant_curvature(self) -> bool:
        """Whether ∂²ℓ/∂z² is one number everywhere (squared error): then the Hessian of a
        model on this head is the same at every θ."""
        return self.curvature_constant is not None

    @property
    def curvature_constant(self) -> float | None:
        """∂²ℓ/∂z² where it is one number everywhere (2 for squared error), else None."""
        return _curvature_constant(self.entry.expr, self.entry.variable)

    def values(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """ℓ(zᵢ, yᵢ) for every sample."""
        return self._apply(0, z, y)

    def loss_sum(self, z: np.ndarray, y: np.ndarray) -> float:
        return float(np.add.reduce(self.values(z, y), axis=None))

    def derivative(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∂ℓ/∂z at every sample: the kernel of the loss's symbolic derivative."""
        return self._apply(1, z, y)

    def loss_and_derivative(self, z: np.ndarray, y: np.ndarray) -> tuple[float, np.ndarray]:
        """(Σᵢ ℓ(zᵢ, yᵢ), ∂ℓ/∂z at every sample).  For logistic regression's class codes
        (0 and 1) both come from one e^(−|z|) (`_logistic_parts`): the two kernels took
        137 µs on 10⁴ values, this 79 µs (a tenth of a fit on 10⁵ × 50)."""
        if (
            self._class_codes
            and type(z) is np.ndarray
            and type(y) is np.ndarray
            and z.dtype == y.dtype == np.float64
            and z.ndim == 1
            and z.shape == y.shape
        ):
            return _logistic_parts(z, y)
        return self.loss_sum(z, y), self._apply(1, z, y)

    def second(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """∂²ℓ/∂z² at every sample: the kernel of the loss's symbolic second derivative."""
        return self._apply(2, z, y)

    def hessian_vector(self, z: np.ndarray, y: np.ndarray, u: np.ndarray) -> np.ndarray:
        """(∂²ℓ/∂z²)·u per sample (the Hessian in z is 1 × 1)."""
        return self.second(z, y) * u

    def curvature_state(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """What `apply_curvature` needs at fixed z (kept across Hessian-vector products)."""
        return self.second(z, y)

    def apply_curvature(self, state: np.ndarray, u: np.ndarray) -> np.ndarray:
        return state * u

    def encode(self, y: Any, target: str = "y") -> np.ndarray:
        """Targets in the form the kernels take: numbers, or codes 0/1 as floats."""
        if self.labels is None:
            return np.asarray(y, dtype=float)
        return _codes_for(self.labels, y, target).astype(float)

    def predict(self, z: np.ndarray) -> np.ndarray:
        if self.classes is None:
            return z
        return np.asarray(self.classes, dtype=object)[(z > 0).astype(np.intp)]

    def correct(self, z: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Whether each sample is classified right with a strictly positive margin."""
        return np.where(y > 0.5, z > 0, z < 0)

    def __repr__(self) -> str:
        return f"<ScalarHead {self.entry.name}>"


# -- the softmax head: derived once for a generic K ---------------------------------------------


@dataclasses.dataclass(frozen=True)
class SoftmaxDerivatives:
    """Categorical cross-entropy and its derivatives for a generic number of classes K.

    ``loss`` is the catalog form −Σₖ yₖ log softmax(z)ₖ, ``log_sum_exp`` the same
    rewritten by ``expand_log``; ``gradient`` is ∂ℓ/∂z_c and ``hessian`` ∂²ℓ/∂z_c∂z_d,
    as SymPy derived them (sums over k = 1..K, Kronecker deltas evaluated);
    ``softmax_gradient`` and ``softmax_hessian`` are the same with Σₖ yₖ = 1 and
    softmax(z)_c = exp(z_c)/Σₖ exp(zₖ) named, the forms the head evaluates.
    """

    K: sympy.Symbol
    z: sympy.IndexedBase
    y: sympy.IndexedBase
    c: sympy.Symbol
    d: sympy.Symbol
    loss: sympy.Expr
    log_sum_exp: sympy.Expr
    gradient: sympy.Expr
    hessian: sympy.Expr
    softmax_gradient: sympy.Expr
    softmax_hessian: sympy.Expr


def _drop_index_ranges(expr: sympy.Expr) -> sympy.Expr:
    """``Piecewise((e, c <= K), (0, True))`` is e: the class indices are always in range."""
    return expr.replace(
        lambda e: (
            isinstance(e, sympy.Piecewise) and len(e.args) == 2 and e.args[1].cond is sympy.true
        ),
        lambda e: e.args[0].expr,
    )


def _pull_constants(expr: sympy.Expr) -> sympy.Expr:
    """Σₖ (a + b·fₖ) → K·a + b·Σₖ fₖ for factors a, b free of k: each sum split and factored."""

    def split(e: sympy.Sum) -> sympy.Expr:
        (index, low, high), body = e.limits[0], sympy.expand(e.function)
        total = sympy.Integer(0)
        for term in sympy.Add.make_args(body):
            outside, inside = term.as_independent(index, as_Add=False)
            total += outside * sympy.Sum(inside, (index, low, high))
        return total

    return expr.replace(lambda e: isinstance(e, sympy.Sum) and len(e.limits) == 1, split)


def _evaluate_deltas(expr: sympy.Expr) -> sympy.Expr:
    for _ in range(3):
        tidier = _drop_index_ranges(
            expr.replace(
                lambda e: isinstance(e, sympy.Sum) and e.has(sympy.KroneckerDelta),
                lambda e: e.doit(),
            )
        )
        if tidier == expr:
            break
        expr = tidier
    return expr


@functools.lru_cache(maxsize=1)
def softmax_derivatives() -> SoftmaxDerivatives:
    """∂ℓ/∂z and ∂²ℓ/∂z² of softmax cross-entropy, derived by SymPy once for any K.

    Examples
    --------
    >>> d = softmax_derivatives()
    >>> d.softmax_gradient
    softmax(z)[c] - y[c]
    >>> d.softmax_hessian
    KroneckerDelta(c, d)*softmax(z)[c] - softmax(z)[c]*softmax(z)[d]
    """
    K = sympy.Symbol("K", integer=True, positive=True)
    k, j, c, d = (sympy.Symbol(n, integer=True, positive=True) for n in "kjcd")
    z, y = sympy.IndexedBase("z", real=True), sympy.IndexedBase("y", real=True)
    total = sympy.Sum(sympy.exp(z[j]), (j, 1, K))
    loss = -sympy.Sum(y[k] * sympy.log(sympy.exp(z[k]) / total), (k, 1, K))
    log_sum_exp = _pull_constants(sympy.expand_log(loss, force=True))
    gradient = _pull_constants(_evaluate_deltas(sympy.diff(log_sum_exp, z[c])))
    hessian = _pull_constants(_evaluate_deltas(sympy.diff(gradient, z[d])))
    softmax = sympy.IndexedBase("softmax(z)", real=True)
    named = {
        sympy.Sum(y[k], (k, 1, K)): sympy.Integer(1),
        sympy.exp(z[c]) / total: softmax[c],
        sympy.exp(z[d]) / total: softmax[d],
        sympy.exp(z[c]) * sympy.exp(z[d]) / total**2: softmax[c] * softmax[d],
    }
    softmax_gradient = sympy.expand(gradient).subs(named)
    softmax_hessian = sympy.expand(hessian).subs(named)
    return SoftmaxDerivatives(
        K, z, y, c, d, loss, log_sum_exp, gradient, hessian, softmax_gradient, softmax_hessian
    )


def _softmax_parts(Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(top, S, E, rest) with S = Z − max, E = exp(S) (E[top] = 1), rest = Σ_{k≠top} exp(Sₖ).

    log Σₖ exp(Zₖ) = max + log1p(rest) and softmax = E / (1 + rest), with no overflow
    and no rounding of 1 + rest before the log.
    """
    rows = np.arange(Z.shape[0])
    top = np.argmax(Z, axis=1)
    largest = Z[rows, top]
    S = np.array(Z, dtype=float)
    for c in range(S.shape[1]):  # a class at a time: `Z - max[:, None]` buffered 64 KiB
        S[:, c] -= largest
    E = np.exp(S)
    E[rows, top] = 0
    rest = E.sum(axis=1)
    E[rows, top] = 1
    return top, S, E, rest


def _residual(parts: tuple, codes: np.ndarray) -> np.ndarray:
    """softmax(z) − y with the label's entry −(1 − P) summed from the other classes.

    Written over the exponentials E of ``parts`` (no other n × K array is allocated).
    """
    top, _, E, rest = parts
    rows = np.arange(E.shape[0])
    total = 1 + rest
    label = E[rows, codes]
    complement = np.where(top == codes, rest, total - label) / total
    for c in range(E.shape[1]):  # a class at a time: broadcasting buffered 64 KiB
        E[:, c] /= total
    E[rows, codes] = -complement
    return E


@dataclasses.dataclass(frozen=True, repr=False)
class SoftmaxHead:
    """Categorical cross-entropy of softmax(z) over K classes; targets are class codes.

    The forms evaluated are those of `softmax_derivatives` (derived once for any K);
    ``labels`` are the raw sorted label values the codes 0..K-1 stand for.
    """

    classes: tuple[str, ...]
    labels: np.ndarray | None = dataclasses.field(default=None, compare=False)

    name = "categorical_cross_entropy"

    @property
    def n_outputs(self) -> int:
        return len(self.classes)

    @property
    def curvature(self) -> float:
        return _CURVATURE_FLOATS["categorical_cross_entropy"]

    twice_differentiable = True

    def values(self, Z: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """ℓᵢ = log Σₖ exp(zᵢₖ) − zᵢ,yᵢ = log1p(rest) − S[yᵢ] (each term ≥ 0: no cancellation)."""
        _, S, _, rest = _softmax_parts(Z)
        return np.log1p(rest) - S[np.arange(Z.shape[0]), codes]

    def loss_sum(self, Z: np.ndarray, codes: np.ndarray) -> float:
        return float(np.sum(self.values(Z, codes)))

    def probabilities(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(P, top, Q): softmax(Z), the row maxima, and Q = 1 − P computed without cancellation.

        Off the row's top P ≤ ½, so 1 − P is exact to rounding; at the top Q is the sum of
        the others, rest/(1 + rest).  P and Q are written over the buffers of the
        exponentials and the shifted outputs (two n × K arrays in all).
        """
        top, S, E, rest = _softmax_parts(Z)
        total = 1 + rest
        P = np.divide(E, total[:, None], out=E)
        Q = np.subtract(1.0, P, out=S)
        Q[np.arange(Z.shape[0]), top] = rest / total
        return P, top, Q

    def derivative(self, Z: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """∂ℓ/∂z = softmax(z) − y; at the label, −(1 − softmax) from the other classes."""
        return _residual(_softmax_parts(Z), codes)

    def loss_and_derivative(self, Z: np.ndarray, codes: np.ndarray) -> tuple[float, np.ndarray]:
        """(Σᵢ ℓᵢ, ∂ℓ/∂z) from one softmax evaluation."""
        parts = _softmax_parts(Z)
        rows = np.arange(Z.shape[0])
        loss = float(np.sum(np.log1p(parts[3]) - parts[1][rows, codes]))
        return loss, _residual(parts, codes)

    def hessian_weights(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(P, Q): ∂²ℓ/∂z_c∂z_d is P_c·Q_c on the diagonal and −P_c·P_d off it."""
        P, _, Q = self.probabilities(Z)
        return P, Q

    def loss_derivative_and_weights(
        self, Z: np.ndarray, codes: np.ndarray
    ) -> tuple[float, np.ndarray, tuple[np.ndarray, np.ndarray]]:
        """`loss_and_derivative` and `hessian_weights` from one softmax evaluation, the
        same numbers as each: for Newton, which asks the Hessian where it has just
        evaluated J (one more n × K array than `loss_and_derivative`)."""
        # The steps of `_softmax_parts`, `_residual` and `probabilities` on small data (the
        # only caller keeps m·K ≤ 4096 numbers): whole-array operations where those loop
        # over the classes (their loops spare large arrays NumPy's broadcast buffers), and
        # entries picked by flat positions, computed once; the same operations on the
        # same numbers, so the same results bit for bit (tested).
        m, K = Z.shape
        first = np.arange(0, m * K, K)  # flat position of each row's first entry
        top = np.argmax(Z, axis=1)
        tops = first + top
        labels = first + np.asarray(codes, dtype=np.intp)
        S = Z - Z.take(tops)[:, None]
        E = np.exp(S)
        flat = E.reshape(-1)
        flat[tops] = 0
        rest = E.sum(axis=1)
        flat[tops] = 1
        loss = float(np.sum(np.log1p(rest) - S.take(labels)))
        total = 1 + rest
        P = np.divide(E, total[:, None])
        Q = np.subtract(1.0, P, out=S)
        Q.reshape(-1)[tops] = rest / total
        # the residual P − y, at the label −(1 − P) summed from the other classes
        complement = np.where(top == codes, rest, total - flat[labels]) / total
        np.copyto(E, P)
        flat[labels] = -complement
        return loss, E, (P, Q)

    def hessian_roots(self, Z: np.ndarray) -> np.ndarray:
        """√(P_c·Q_c), the roots of the diagonal ∂²ℓ/∂z_c², written over ``Z`` (which is
        lost): `probabilities` in one buffer instead of two, the same numbers (Q = 1 − P
        off the row's top, rest/(1 + rest) at it)."""
        rows = np.arange(Z.shape[0])
        top = np.argmax(Z, axis=1)
        largest = Z[rows, top]
        columns = [Z[:, c] for c in range(Z.shape[1])]
        # a class (column) at a time: a broadcast operation on the m × K array made NumPy
        # buffer 64 KiB of it, and P·(1 − P) whole would take a second m × K array
        for column in columns:
            column -= largest  # S
        E = np.exp(Z, out=Z)
        E[rows, top] = 0
        rest = E.sum(axis=1)
        total = 1 + rest
        E[rows, top] = 1
        for column in columns:
            column /= total  # P
        at_top = Z[rows, top] * (rest / total)  # P·Q at the top
        for column in columns:
            column *= 1.0 - column
        Z[rows, top] = at_top
        return np.sqrt(Z, out=Z)

    def hessian_vector(self, Z: np.ndarray, codes: np.ndarray, U: np.ndarray) -> np.ndarray:
        """(∂²ℓ/∂z²)·u per sample: P_c (u_c − P·u), with u shifted by u_top first (stable)."""
        return self.apply_curvature(self.curvature_state(Z, codes), np.array(U))

    def curvature_state(self, Z: np.ndarray, codes: Any = None) -> tuple[np.ndarray, np.ndarray]:
        """(P, top) at fixed Z: all `apply_curvature` needs (``top`` as flat positions
        i·K + argmaxᵢ, so a product reads U's row tops without building indices)."""
        top, _, E, rest = _softmax_parts(Z)
        E /= (1 + rest)[:, None]  # P = softmax(Z), in the buffer of the exponentials
        return E, top + np.arange(0, top.size * Z.shape[1], Z.shape[1])

    def apply_curvature(self, state: tuple[np.ndarray, np.ndarray], U: np.ndarray) -> np.ndarray:
        """P ⊙ (V − (P·V)) with V = U − U_top per row; ``U`` (a fresh C-contiguous
        array) is overwritten."""
        P, top = state
        V = np.subtract(U, U.reshape(-1)[top][:, None], out=U)
        V -= np.einsum("ik,ik->i", P, V)[:, None]
        V *= P
        return V

    def class_curvature_state(self, Z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`curvature_state` laid out by class, for `apply_class_curvature`: (Pᵀ, the flat
        positions argmaxᵢ·m + i of the row tops in a K × m array).

        `_softmax_parts` laid out by class in one K × m buffer, written in place: Sᵀ, then
        exp(Sᵀ), then Pᵀ (``Z`` is only read).  The m × K layout took two more arrays of
        Z's size at once (S and E, and the caller's copy of Z): digits' fit peaked at
        1.51 × X in the decrement check's first product."""
        m, K = Z.shape
        rows = np.arange(m)
        top = np.argmax(Z, axis=1)
        largest = Z[rows, top]
        P = np.empty((K, m))
        np.copyto(P, Z.T)  # (np.subtract from Z.T buffered 128 KiB of it)
        for row in P:  # a class at a time: broadcasting buffered 64 KiB
            row -= largest  # Sᵀ = (Z − max)ᵀ
        np.exp(P, out=P)
        tops = top * m + rows
        flat = P.reshape(-1)  # a view: P is C-contiguous
        flat[tops] = 0
        rest = P.sum(axis=0)  # Σ_{k≠top} exp(Sₖ)
        flat[tops] = 1
        rest += 1
        for row in P:
            row /= rest
        return P, tops

    def apply_class_curvature(
        self, state: tuple[np.ndarray, np.ndarray], U: np.ndarray
    ) -> np.ndarray:
        """`apply_curvature` on Uᵀ (K × m, C-contiguous, overwritten): one contiguous row
        per class, so X̃V and X̃ᵀr are products of X with a K-row matrix, which BLAS does
        in 0.8× the time of the m × K layout (digits: 211 µs a product instead of 264)."""
        P, top = state
        V = np.subtract(U, U.reshape(-1)[top], out=U)
        V -= np.einsum("ki,ki->i", P, V)
        V *= P
        return V

    def encode(self, y: Any, target: str = "y") -> np.ndarray:
        """Class codes 0..K-1 of raw labels."""
        if self.labels is None:
            raise SymcalcError("this softmax head was built without its labels; pass codes")
        return _codes_for(self.labels, y, target)

    def predict(self, Z: np.ndarray) -> np.ndarray:
        return np.asarray(self.classes, dtype=object)[np.argmax(Z, axis=1)]

    def correct(self, Z: np.ndarray, codes: np.ndarray) -> np.ndarray:
        """Whether each sample's label has the strictly largest logit."""
        rows = np.arange(Z.shape[0])
        mine = Z[rows, codes]
        others = Z.copy()
        others[rows, codes] = -np.inf
        return mine > others.max(axis=1)

    def __repr__(self) -> str:
        return f"<SoftmaxHead K={self.n_outputs}>"


# -- choosing a head -------------------------------------------------------------------------------


def scalar_loss(loss: str | Entry) -> Entry:
    """The catalog entry of a loss usable on one output (else a `SymcalcError` naming them)."""
    entry = resolve(loss)
    if entry.name not in SCALAR_LOSSES:
        raise SymcalcError(
            f"loss '{entry.name}' cannot be used on one model output"
            f"{did_you_mean(entry.name, SCALAR_LOSSES)}"
            f" (use one of: {', '.join(SCALAR_LOSSES)})"
        )
    return entry


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"


def head_for(loss: Entry | None, y: Any, target: str) -> tuple[Any, Any]:
    """The head for ``loss`` (None: softmax) and the target in the form its kernels take."""
    if _is_dask(y):
        if loss is None:
            raise SymcalcError("dask arrays are supported for the linear and logistic models")
        if SCALAR_LOSSES[loss.name] == "two classes":
            if not bool(((y == 0) | (y == 1)).all().compute()):
                raise SymcalcError(
                    "with dask arrays, logistic regression needs labels coded 0 and 1"
                )
            return ScalarHead(loss, ("0", "1"), np.array([0.0, 1.0])), y
        return ScalarHead(loss), y
    if loss is None or loss.name == "categorical_cross_entropy":
        labels, codes, classes = _classes(y, target)
        if len(classes) < 2:
            raise SymcalcError(
                f"target '{target}' has one class ({classes[0]!r}); a classifier needs two or more"
            )
        return SoftmaxHead(classes, labels), codes
    if SCALAR_LOSSES[loss.name] == "two classes":
        labels, codes, classes = _classes(y, target)
        if len(classes) != 2:
            found = ", ".join(repr(c) for c in classes[:5]) + (", ..." if len(classes) > 5 else "")
            raise SymcalcError(
                f"logistic regression needs exactly two classes in '{target}', found {len(classes)}"
                f" ({found}); use softmax for more"
            )
        return ScalarHead(loss, classes, labels), codes.astype(float)
    if y.dtype.kind != "f":
        raise SymcalcError(
            f"target '{target}' holds text labels; the {loss.name} loss needs numbers "
            "(use logistic, softmax or mlp to classify)"
        )
    return ScalarHead(loss), y


def head_for_labels(loss: Entry | None, labels: np.ndarray, target: str) -> Any:
    """The head for ``loss`` when only the distinct labels are known (streamed data)."""
    labels = np.unique(labels)
    if loss is None or SCALAR_LOSSES.get(loss.name) == "two classes":
        head, _ = head_for(loss, labels, target)
        return head
    if labels.dtype.kind != "f":
        raise SymcalcError(
            f"target '{target}' holds text labels; the {loss.name} loss needs numbers "
            "(use logistic, softmax or mlp to classify)"
        )
    return ScalarHead(loss)
