"""A trained model as a function of its input features, for attribution.

`model_function` turns the result of `symcalc.learn.descent.descend` into a
`ModelFunction`: f(x), the model's output for one row x of features (a probability for
a classifier, the prediction for a regression), with

* ``value(points)`` and ``gradient(points)``, vectorized: the forward pass and
  backpropagation through the layers, with each activation's derivative from its stable
  kernel (`symcalc.numeric.kernels.kernel(φ, order=1)`), never written by hand;
* ``symbolic()``: the same f as one SymPy expression in the features, with the trained
  weights as exact rationals, for the exact path integral of integrated gradients.

Any network is a list of `Layer` (weights, intercepts, activation) and an output: the
identity (regression), σ(±z) of the one output (logistic regression: σ(z) is P(second
class), σ(−z) = 1 − σ(z) P(first class)) or component c of the softmax (P(class c)).
The objectives of `symcalc.learn.models` are read into that form by the builders in
`LAYER_BUILDERS` (one per objective class), and their heads
(`symcalc.learn.heads`) by the readers in `HEAD_READERS` (one per head class); a new
kind of network or head adds one entry.

Examples
--------
>>> from symcalc.learn.descent import descend
>>> fit = descend("logistic", "synthetic:logistic", l2=0.01)
>>> f = model_function(fit)
>>> f.names, f.output
(('x1', 'x2'), 'P(y = 1)')
>>> X = fit.objective.X[:3]
>>> bool(np.allclose(f.value(X), 1 / (1 + np.exp(-fit.objective.outputs(fit.theta, X)))))
True
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
import sympy

from ..errors import SymcalcError, did_you_mean
from ..symbolic.catalog import Entry
from ..symbolic.functions import symbol
from .heads import ScalarHead, SoftmaxHead, kernel_for

if TYPE_CHECKING:
    from ..symbolic.kinks import KinksWithin

__all__ = ["HEAD_READERS", "LAYER_BUILDERS", "Layer", "ModelFunction", "model_function"]


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Layer:
    """z = W a + b, then the activation (None: none, the layer is linear)."""

    weights: np.ndarray
    intercepts: np.ndarray
    activation: Entry | None = None

    def __repr__(self) -> str:
        shape = "×".join(str(s) for s in self.weights.shape)
        name = self.activation.name if self.activation is not None else "linear"
        return f"<Layer {shape} {name}>"


def _sigmoid(order: int = 0):
    from ..symbolic.catalog import get

    return kernel_for(get("sigmoid"), order)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class ModelFunction:
    """A trained network's output f(x) as a function of its features.

    ``layers`` are the hidden layers then the output layer (no activation); ``head``
    is ``"identity"``, ``"sigmoid"`` or ``"softmax"`` with ``index`` the class whose
    probability f is (for ``"sigmoid"``: 1 is σ(z), 0 is σ(−z) = 1 − σ(z)).  ``output``
    names f (``P(diagnosis = malignant)``).
    """

    names: tuple[str, ...]
    layers: tuple[Layer, ...]
    head: str
    index: int
    output: str
    model: str = "model"
    classes: tuple[str, ...] = ()

    def _softmax(self, Z: np.ndarray) -> np.ndarray:
        """softmax(Z) row by row, as the softmax head evaluates it (shifted: no overflow)."""
        P, _, _ = SoftmaxHead(self.classes).probabilities(Z)
        return P

    @property
    def text(self) -> str:
        return f"{self.output} of the {self.model} model"

    # -- numbers ---------------------------------------------------------------------
    def _forward(self, points: np.ndarray) -> tuple[list[np.ndarray], np.ndarray]:
        a = np.asarray(points, dtype=float)
        pre = []
        for layer in self.layers[:-1]:
            z = a @ layer.weights.T + layer.intercepts
            pre.append(z)
            a = np.asarray(kernel_for(layer.activation)(z), dtype=float)
        last = self.layers[-1]
        return pre, a @ last.weights.T + last.intercepts

    def value(self, points: np.ndarray) -> np.ndarray:
        """f at each row of ``points``."""
        _, Z = self._forward(points)
        if self.head == "softmax":
            return self._softmax(Z)[:, self.index]
        if self.head == "sigmoid":
            return np.asarray(_sigmoid()(self._sign * Z[:, 0]), dtype=float)
        return Z[:, 0]

    @property
    def _sign(self) -> float:
        """+1 when f is σ(z), the second class's probability; −1 when f is σ(−z)."""
        return 1.0 if self.index == 1 else -1.0

    def _output_slope(self, Z: np.ndarray) -> np.ndarray:
        """∂f/∂Z, one row per point."""
        if self.head == "softmax":
            P = self._softmax(Z)
            slope = -P * P[:, [self.index]]
            slope[:, self.index] += P[:, self.index]
            return slope
        if self.head == "sigmoid":
            return self._sign * np.asarray(_sigmoid(1)(self._sign * Z[:, :1]), dtype=float)
        return np.ones((Z.shape[0], 1))

    def gradient(self, points: np.ndarray) -> np.ndarray:
        """∇ₓf at each row of ``points``: backpropagation, φ′ from its derived kernel."""
        pre, Z = self._forward(points)
        g = self._output_slope(Z) @ self.layers[-1].weights
        for layer, z in zip(reversed(self.layers[:-1]), reversed(pre), strict=True):
            g = (g * np.asarray(kernel_for(layer.activation, 1)(z), dtype=float)) @ layer.weights
        return g

    def breakpoints(self, at: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        """α in (0, 1) where ∇f jumps on the path γ(α) = x′ + α(x − x′): where a hidden
        unit's pre-activation crosses a kink of its activation (relu at 0, hard_tanh at
        ±1).  Found on a grid of 4097 points and bisected to rounding; the path integral
        of integrated gradients is taken piece by piece between them, where ∇f is smooth.
        """
        at, baseline = np.asarray(at, dtype=float), np.asarray(baseline, dtype=float)
        grid = _PATH_GRID
        # every kink the pre-activations reach on the path (each period of |sin z|)
        kinks = [np.array(k.points) for k, _ in self._path_kinks(at, baseline)]
        if not any(k.size for k in kinks):
            return np.empty(0)

        def shifted(alphas: np.ndarray) -> list[np.ndarray]:
            """z − kink for every layer, unit and kink: one (points, units·kinks) block each."""
            pre, _ = self._forward(baseline[None, :] + alphas[:, None] * (at - baseline)[None, :])
            return [
                (z[:, :, None] - k[None, None, :]).reshape(len(alphas), z.shape[1] * k.size)
                for z, k in zip(pre, kinks, strict=True)
            ]

        found: list[np.ndarray] = []
        with np.errstate(all="ignore"):
            for layer, s in enumerate(shifted(grid)):
                if not s.size:
                    continue
                found.append(grid[np.flatnonzero((s == 0).any(axis=1))])
                rows, columns = np.nonzero(np.sign(s[:-1]) * np.sign(s[1:]) < 0)
                if not rows.size:
                    continue
                lo, hi, left = grid[rows], grid[rows + 1], np.sign(s[rows, columns])
                for _ in range(60):  # bisection, all crossings at once
                    mid = 0.5 * (lo + hi)
                    value = shifted(mid)[layer][np.arange(mid.size), columns]
                    same = np.sign(value) == left
                    lo, hi = np.where(same, mid, lo), np.where(same, hi, mid)
                found.append(0.5 * (lo + hi))
        cuts = np.unique(np.concatenate(found)) if found else np.empty(0)
        return cuts[(cuts > 0.0) & (cuts < 1.0)]

    def _path_kinks(
        self, at: np.ndarray, baseline: np.ndarray
    ) -> list[tuple[KinksWithin, tuple[float, float]]]:
        """Per hidden layer: the kinks of its activation within the range its
        pre-activations sweep on the path (sampled at `_PATH_GRID`), with that range."""
        grid = _PATH_GRID
        with np.errstate(all="ignore"):
            pre, _ = self._forward(baseline[None, :] + grid[:, None] * (at - baseline)[None, :])
        return [
            _kinks_in_range(layer.activation, z)
            for layer, z in zip(self.layers[:-1], pre, strict=True)
        ]

    def breakpoints_note(self, at: np.ndarray, baseline: np.ndarray) -> str | None:
        """Why `breakpoints` may miss some jumps of ∇f on the path; None where it does not."""
        at, baseline = np.asarray(at, dtype=float), np.asarray(baseline, dtype=float)
        notes = [
            f"layer {i + 1}'s activation {self.layers[i].activation.name}, over the range "
            f"its inputs sweep on the path: {note}"
            for i, (found, (low, high)) in enumerate(self._path_kinks(at, baseline))
            if (note := found.note(low, high)) is not None
        ]
        return "; ".join(notes) or None

    # -- the formula -----------------------------------------------------------------
    @property
    def symbols(self) -> tuple[sympy.Symbol, ...]:
        return tuple(symbol(_identifier(n)) for n in self.names)

    def symbolic(self) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
        """f as one SymPy expression in the features, weights as exact rationals."""
        values: list[sympy.Expr] = list(self.symbols)
        for layer in self.layers[:-1]:
            phi = layer.activation
            values = [phi.bind().xreplace({phi.variable: z}) for z in _affine(layer, values)]
        outputs = _affine(self.layers[-1], values)
        if self.head == "softmax":
            f = sympy.exp(outputs[self.index]) / sum(sympy.exp(z) for z in outputs)
        elif self.head == "sigmoid":
            f = 1 / (1 + sympy.exp(-int(self._sign) * outputs[0]))
        else:
            f = outputs[0]
        return f, self.symbols

    def __repr__(self) -> str:
        sizes = " → ".join(str(layer.weights.shape[1]) for layer in self.layers)
        return f"<ModelFunction {self.output}: {sizes} → {self.layers[-1].weights.shape[0]}>"


#: α on the path γ(α) = x′ + α(x − x′) where the pre-activations are sampled for kinks.
_PATH_GRID = np.linspace(0.0, 1.0, 4097)


def _kinks_in_range(
    activation: Entry | None, z: np.ndarray
) -> tuple[KinksWithin, tuple[float, float]]:
    """The real kinks of an activation (relu: 0) within the range of the pre-activations
    ``z`` (every period of |sin z| there, `kinks_within`), with that range; none for a
    smooth one."""
    from ..symbolic.kinks import KinksWithin, kinks_within

    finite = z[np.isfinite(z)]
    if activation is None or not finite.size:
        return KinksWithin(()), (0.0, 0.0)
    low, high = float(finite.min()), float(finite.max())
    return kinks_within(activation.bind(), activation.variables[0], low, high), (low, high)


def _affine(layer: Layer, inputs: Sequence[sympy.Expr]) -> list[sympy.Expr]:
    rows = []
    for w, b in zip(layer.weights, layer.intercepts, strict=True):
        total = sympy.Rational(float(b))
        for wi, xi in zip(w, inputs, strict=True):
            total += sympy.Rational(float(wi)) * xi
        rows.append(total)
    return rows


def _identifier(name: str) -> str:
    """A feature name as a variable name: ``mean radius`` -> ``mean_radius``."""
    text = re.sub(r"\W", "_", str(name))
    return text if text and not text[0].isdigit() else f"x_{text}"


# -- reading trained objectives -----------------------------------------------------------


def _rows(theta: np.ndarray, outputs: int, columns: int) -> tuple[np.ndarray, np.ndarray]:
    """(W, b) from rows that hold an intercept then the weights."""
    table = np.asarray(theta, dtype=float).reshape(outputs, columns + 1)
    return table[:, 1:].copy(), table[:, 0].copy()


def _affine_layers(objective: Any, theta: np.ndarray) -> list[Layer]:
    W, b = _rows(theta, objective.n_outputs, objective.n_features)
    return [Layer(W, b)]


def _mlp_layers(objective: Any, theta: np.ndarray) -> list[Layer]:
    if getattr(objective, "output_activation", "identity") not in (
        "identity",
        "softmax",
        "sigmoid",
    ):
        raise SymcalcError("attribution reads networks whose output is linear, sigmoid or softmax")
    tables = objective.layer_tables(theta)
    hidden = [Layer(t[:, 1:], t[:, 0], objective.activation) for t in tables[:-1]]
    return [*hidden, Layer(tables[-1][:, 1:], tables[-1][:, 0])]


#: Objective class name -> reads its θ into layers (a new kind of network adds one entry).
LAYER_BUILDERS: dict[str, Callable[[Any, np.ndarray], list[Layer]]] = {
    "AffineObjective": _affine_layers,
    "MLPObjective": _mlp_layers,
}


def _class(classes: Sequence[str], output: str | None) -> int:
    """The index of the class ``output`` names (default: the last class)."""
    label = classes[-1] if output is None else str(output)
    if label not in classes:
        raise SymcalcError(
            f"`output` '{label}' is not a class of the model{did_you_mean(label, classes)} "
            f"(classes: {', '.join(classes)})",
            parameter="output",
        )
    return list(classes).index(label)


def _scalar_head(head: ScalarHead, output: str | None, target: str) -> tuple[str, int, str]:
    """A regression gives its prediction; a binary classifier σ(z) = P(second class) on
    logits (binary cross-entropy with logits), σ(−z) for the first class."""
    if head.classes is None:
        if output is not None:
            raise SymcalcError(
                "`output` names a class; this model predicts a number", parameter="output"
            )
        return "identity", 0, f"predicted {target}"
    index = _class(head.classes, output)
    return "sigmoid", index, f"P({target} = {head.classes[index]})"


def _softmax_head(head: SoftmaxHead, output: str | None, target: str) -> tuple[str, int, str]:
    index = _class(head.classes, output)
    return "softmax", index, f"P({target} = {head.classes[index]})"


#: Head class -> (kind of output, class index, name of f); a new head adds one entry.
HEAD_READERS: dict[type, Callable[[Any, str | None, str], tuple[str, int, str]]] = {
    ScalarHead: _scalar_head,
    SoftmaxHead: _softmax_head,
}


def _head(objective: Any, output: str | None, target: str) -> tuple[str, int, str]:
    head = objective.head
    reader = HEAD_READERS.get(type(head))
    if reader is None:
        raise SymcalcError(
            f"attribution cannot read a model with a {type(head).__name__} yet "
            f"(it reads {', '.join(k.__name__ for k in HEAD_READERS)})"
        )
    return reader(head, output, target)


def model_function(
    result: Any,
    *,
    feature_names: Sequence[str] | None = None,
    output: str | None = None,
    target: str = "y",
) -> ModelFunction:
    """The trained model of ``result`` (a `DescentResult`) as a function of its features.

    ``output`` is the class whose probability f is (default: the last class in sorted
    order, the positive class of a logistic model); regression models give the
    prediction itself.  ``feature_names`` default to the ones the fit used.

    Examples
    --------
    >>> from symcalc.learn.descent import descend
    >>> fit = descend("linear", "synthetic:linear")
    >>> f = model_function(fit)
    >>> f.output, f.gradient(fit.objective.X[:1]).round(2).tolist()
    ('predicted y', [[1.96, -1.05, 0.53]])
    """
    objective = getattr(result, "objective", None)
    if objective is None:
        raise SymcalcError("the result holds no trained model (descend returns one)")
    kind = type(objective).__name__
    if kind not in LAYER_BUILDERS:
        raise SymcalcError(
            f"attribution cannot read a {kind} yet (it reads {', '.join(LAYER_BUILDERS)})"
        )
    layers = LAYER_BUILDERS[kind](objective, np.asarray(result.theta, dtype=float))
    n = objective.n_features
    if feature_names is None:
        names = result.parameter_names[1 : n + 1] if kind == "AffineObjective" else ()
        names = [name.split(": ", 1)[-1] for name in names]  # softmax: "class: feature"
        feature_names = names if len(names) == n else [f"x{j}" for j in range(1, n + 1)]
    if len(feature_names) != n:
        raise SymcalcError(
            f"the model has {n} features; `feature_names` gives {len(feature_names)}",
            parameter="feature_names",
        )
    head, index, label = _head(objective, output, target)
    classes = tuple(getattr(objective.head, "classes", None) or ())
    return ModelFunction(
        tuple(feature_names), tuple(layers), head, index, label, result.model, classes
    )
