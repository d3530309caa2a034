"""Gradient descent on derived gradients: optimizers, stopping rules, history, results.

The textbook loop is θ ← θ − α∇J(θ): start somewhere, compute the gradient,
step, repeat until converged.  `descend` runs it on a model from
`symcalc.learn.models` (whose gradient is derived symbolically) and data from
`symcalc.learn.data`; `optimize` runs it on any `symcalc.learn.models.Objective`.

Optimizers (`OPTIMIZERS`), each one small class with a ``step``:

========== ==================================================================
gd         θ ← θ − α∇J, exactly the textbook rule
momentum   v ← βv + ∇J;  θ ← θ − αv  (heavy ball, β = 0.9)
nesterov   v ← βv + ∇J;  θ ← θ − α(∇J + βv)  (Nesterov in the look-ahead form:
           one gradient per step)
adam       bias-corrected first and second moment estimates (β₁ = 0.9,
           β₂ = 0.999, ε = 1e-8), θ ← θ − α m̂ / (√v̂ + ε)
line-search backtracking (Armijo): halve α until J(θ − α∇J) ≤ J(θ) − c α ‖∇J‖²
           (c = 0.3); the next search starts from 2α
========== ==================================================================

Step sizes: ``learning_rate`` given is used as is (for ``gd`` the update is
exactly θ − α∇J).  Otherwise ``gd``, ``momentum`` and ``nesterov`` take α = 1/L
from the model's Lipschitz bound L of ∇J (for MSE L = 2·λ_max(X̃ᵀX̃)/m, for the
logistic loss λ_max(X̃ᵀX̃)/(4m)), which converges on any data without tuning; for a
network, which has no global bound, L is estimated at the start by power
iteration on Hessian-vector products; ``adam`` takes α = 0.1; the line search
starts from 1/L.  The default optimizer is ``gd`` when L is known, else
``line-search``.

Stopping: the gradient norm falls to ``tol`` (``converged`` is True exactly when
‖∇J‖ ≤ tol at the end), the relative change of J falls to ``loss_tol`` (off
unless given), or ``max_iter`` steps.  Divergence (J not finite or grown a
thousandfold) stops the run and returns the last good θ with a hint to lower the
learning rate; a result never holds NaN.

Examples
--------
>>> result = descend("linear", "synthetic:linear")
>>> result.converged, result.stop_reason
(True, 'gradient_norm')
>>> [round(float(v), 2) for v in result.theta]  # y = 1.5 + 2·x1 - x2 + 0.5·x3 + noise
[1.48, 1.96, -1.05, 0.53]
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any, TextIO

import numpy as np

from ..errors import SymcalcError, did_you_mean
from ..hooks import png_of
from .data import Dataset, load_data
from .models import MLP, LinearModel, Objective, make_model

__all__ = [
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "OPTIMIZERS",
    "STOP_REASONS",
    "DescentResult",
    "History",
    "ProgressBar",
    "descend",
    "estimate_lipschitz",
    "optimize",
]

#: Default iteration limit.
DEFAULT_MAX_ITER = 10_000
#: Default bound on the gradient norm at convergence.
DEFAULT_TOL = 1e-6
#: J above this factor times its starting value (or not finite) counts as divergence.
DIVERGENCE_FACTOR = 1e3
#: Default Adam step size (Adam's steps are about α in every coordinate).
ADAM_LEARNING_RATE = 0.1

#: Why a run stopped, and what that means.
STOP_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "gradient_norm": "the gradient norm fell to tol",
        "loss_change": "the relative change of the loss fell to loss_tol",
        "max_iter": "the iteration limit was reached",
        "diverged": "the loss grew without bound or stopped being a number",
    }
)


# -- optimizers ---------------------------------------------------------------------------


class Optimizer:
    """One update rule.  ``step`` moves θ in place and returns the step size it used."""

    name = "optimizer"

    def __init__(self, learning_rate: float, n_parameters: int, momentum: float = 0.9):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.buffer = np.zeros(n_parameters)

    def step(
        self, theta: np.ndarray, gradient: np.ndarray, loss: float, objective: Objective
    ) -> float:
        raise NotImplementedError  # pragma: no cover


class GradientDescent(Optimizer):
    """θ ← θ − α∇J(θ)."""

    name = "gd"

    def step(self, theta, gradient, loss, objective):
        np.multiply(gradient, self.learning_rate, out=self.buffer)
        theta -= self.buffer
        return self.learning_rate


class Momentum(Optimizer):
    """Heavy ball: v ← βv + ∇J;  θ ← θ − αv."""

    name = "momentum"

    def step(self, theta, gradient, loss, objective):
        velocity = self.buffer
        velocity *= self.momentum
        velocity += gradient
        theta -= self.learning_rate * velocity
        return self.learning_rate


class Nesterov(Optimizer):
    """v ← βv + ∇J;  θ ← θ − α(∇J + βv): Nesterov's look-ahead, one gradient per step."""

    name = "nesterov"

    def step(self, theta, gradient, loss, objective):
        velocity = self.buffer
        velocity *= self.momentum
        velocity += gradient
        theta -= self.learning_rate * (gradient + self.momentum * velocity)
        return self.learning_rate


class Adam(Optimizer):
    """m ← β₁m + (1−β₁)∇J;  v ← β₂v + (1−β₂)∇J²;  θ ← θ − α m̂/(√v̂ + ε)."""

    name = "adam"
    beta1, beta2, epsilon = 0.9, 0.999, 1e-8

    def __init__(self, learning_rate, n_parameters, momentum=0.9):
        super().__init__(learning_rate, n_parameters, momentum)
        self.second = np.zeros(n_parameters)
        self.t = 0

    def step(self, theta, gradient, loss, objective):
        self.t += 1
        first, second = self.buffer, self.second
        first *= self.beta1
        first += (1 - self.beta1) * gradient
        second *= self.beta2
        second += (1 - self.beta2) * gradient**2
        corrected_first = first / (1 - self.beta1**self.t)
        corrected_second = second / (1 - self.beta2**self.t)
        theta -= self.learning_rate * corrected_first / (np.sqrt(corrected_second) + self.epsilon)
        return self.learning_rate


class LineSearch(Optimizer):
    """Backtracking (Armijo): the largest α in {α₀, α₀/2, ...} with J(θ − α∇J) ≤ J − cα‖∇J‖²."""

    name = "line-search"
    armijo = 0.3
    shrink = 0.5
    grow = 2.0

    def __init__(self, learning_rate, n_parameters, momentum=0.9):
        super().__init__(learning_rate, n_parameters, momentum)
        self.slope_buffer = np.empty(n_parameters)

    def step(self, theta, gradient, loss, objective):
        trial = self.buffer
        squared = float(np.dot(gradient, gradient))
        alpha = self.learning_rate
        while True:
            np.multiply(gradient, -alpha, out=trial)
            trial += theta
            value = objective.value(trial)
            decrease = self.armijo * alpha * squared
            if math.isfinite(value) and value <= loss - decrease:
                break
            resolution = 8 * np.finfo(float).eps * abs(loss)
            if math.isfinite(value) and decrease < resolution and value <= loss + resolution:
                # The decrease is below the rounding of J: test Armijo on slopes instead
                # (Hager and Zhang's approximate condition, exact for a quadratic):
                # φ'(α) ≤ (1 − 2c)‖∇J‖² with φ(α) = J(θ − α∇J).
                slope = -float(np.dot(gradient, objective.gradient(trial, out=self.slope_buffer)))
                if slope <= (1 - 2 * self.armijo) * squared:
                    break
            alpha *= self.shrink
            if alpha * math.sqrt(squared) <= 1e-16 * (1 + float(np.linalg.norm(theta))):
                return 0.0  # no step lowers J at this precision: θ stays
        theta[...] = trial
        self.learning_rate = alpha * self.grow
        return alpha


#: The optimizers, by the name ``descend(optimizer=...)`` takes.
OPTIMIZERS: Mapping[str, type[Optimizer]] = MappingProxyType(
    {
        "gd": GradientDescent,
        "momentum": Momentum,
        "nesterov": Nesterov,
        "adam": Adam,
        "line-search": LineSearch,
    }
)


# -- results --------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class History:
    """Per iteration k = 0..K: J(θₖ), ‖∇J(θₖ)‖ and the step size that led to θₖ (0 for k = 0)."""

    loss: np.ndarray
    gradient_norm: np.ndarray
    step_size: np.ndarray

    def to_dict(self) -> dict[str, list[float]]:
        return {
            "loss": [float(v) for v in self.loss],
            "gradient_norm": [float(v) for v in self.gradient_norm],
            "step_size": [float(v) for v in self.step_size],
        }

    def __len__(self) -> int:
        return len(self.loss)

    def __repr__(self) -> str:
        return f"<History {len(self)} points, loss {self.loss[0]:.4g} -> {self.loss[-1]:.4g}>"


@dataclasses.dataclass(frozen=True, repr=False)
class DescentResult:
    """The outcome of a descent: θ, J, why it stopped, and the history.

    ``loss`` is the objective that was minimized (penalty included), ``data_loss``
    the mean loss alone.  ``theta`` is flat, intercepts first (see
    `theta_for_json` for its structured form).  ``converged`` is True exactly when
    ``gradient_norm`` ≤ ``tol``.
    """

    model: str
    optimizer: str
    learning_rate: float
    theta: np.ndarray
    loss: float
    data_loss: float
    gradient_norm: float
    iterations: int
    converged: bool
    stop_reason: str
    message: str
    seconds: float
    history: History
    tol: float
    parameter_names: tuple[str, ...] = ()
    data: str = ""
    objective: Objective | None = dataclasses.field(default=None, compare=False)
    path: np.ndarray | None = dataclasses.field(default=None, compare=False)
    #: Fraction of training samples classified correctly (classifiers fitted to a data set).
    training_accuracy: float | None = None

    def predict(self, X: Any) -> np.ndarray:
        """The model's predictions for new rows (on the same feature scale as the training data)."""
        return self.objective.predict(self.theta, X)

    def theta_for_json(self) -> Any:
        """θ as JSON lists: intercept first, then the weights in column order."""
        if self.objective is not None and hasattr(self.objective, "theta_for_json"):
            return self.objective.theta_for_json(self.theta)
        return [float(v) for v in self.theta]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the keys of the ``symcalc descend --format json`` contract."""
        return {
            "model": self.model,
            "optimizer": self.optimizer,
            "iterations": self.iterations,
            "converged": self.converged,
            "stop_reason": self.stop_reason,
            "loss": self.loss,
            "data_loss": self.data_loss,
            "theta": self.theta_for_json(),
            "gradient_norm": self.gradient_norm,
            "seconds": self.seconds,
            "history": self.history.to_dict(),
        }

    def to_text(self) -> str:
        """A short report: what ran, why it stopped, J, and θ by name."""
        verdict = "converged" if self.converged else "NOT converged"
        lines = [
            f"{self.model} on {self.data}" if self.data else self.model,
            f"optimizer {self.optimizer}, learning rate {self.learning_rate:.6g}",
            f"{verdict}: {self.message}",
            f"J(θ) = {self.loss:.10g}   (mean loss {self.data_loss:.10g}, "
            f"penalty {self.loss - self.data_loss:.3g})",
            f"‖∇J(θ)‖ = {self.gradient_norm:.3g} after {self.iterations} iterations "
            f"in {self.seconds:.3g} s",
        ]
        if len(self.theta) <= 40 and len(self.parameter_names) == len(self.theta):
            width = max(len(n) for n in self.parameter_names)
            lines.append("θ:")
            pairs = zip(self.parameter_names, self.theta, strict=True)
            lines += [f"  {n:<{width}}  {v: .8g}" for n, v in pairs]
        else:
            lines.append(f"θ: {len(self.theta)} parameters (the JSON form lists them)")
        if self.training_accuracy is not None:
            classes = getattr(getattr(self.objective, "head", None), "classes", None) or ()
            listed = f" (classes: {', '.join(classes)})" if classes else ""
            lines.append(f"training accuracy: {self.training_accuracy:.4f}{listed}")
        return "\n".join(lines)

    def _repr_png_(self) -> bytes:
        """The loss and gradient-norm curves, drawn (what a notebook shows)."""
        return png_of(self)

    def __repr__(self) -> str:
        return (
            f"<DescentResult {self.model} {self.optimizer}: J = {self.loss:.6g}, "
            f"‖∇J‖ = {self.gradient_norm:.2g}, {self.iterations} iterations, {self.stop_reason}>"
        )


# -- progress -------------------------------------------------------------------------------


class ProgressBar:
    """A one-line progress bar for long runs, redrawn at most ten times a second.

    Nothing is drawn during the first ``delay`` seconds, so short runs stay quiet.
    Use it as the ``callback`` of `descend`; call `close` at the end.
    """

    def __init__(
        self, total: int, stream: TextIO | None = None, delay: float = 0.5, width: int = 30
    ):
        self.total = max(1, total)
        self.stream = sys.stderr if stream is None else stream
        self.delay = delay
        self.width = width
        self.start = time.perf_counter()
        self.last = 0.0
        self.drawn = False

    def __call__(self, iteration: int, loss: float, gradient_norm: float) -> None:
        now = time.perf_counter()
        if now - self.start < self.delay or now - self.last < 0.1:
            return
        self.last = now
        filled = int(self.width * min(iteration, self.total) / self.total)
        bar = "#" * filled + "." * (self.width - filled)
        self.stream.write(
            f"\r[{bar}] {iteration}/{self.total}  J {loss:.6g}  ‖∇J‖ {gradient_norm:.2e}  "
            f"{now - self.start:.0f} s"
        )
        self.stream.flush()
        self.drawn = True

    def close(self) -> None:
        if self.drawn:
            self.stream.write("\r" + " " * (self.width + 70) + "\r")
            self.stream.flush()


# -- the loop -------------------------------------------------------------------------------


def _positive(value: Any, name: str, *, allow_zero: bool = False) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise SymcalcError(f"`{name}` must be a number, got {value!r}", parameter=name) from None
    if not math.isfinite(number) or number < 0 or (number == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise SymcalcError(
            f"`{name}` must be a finite number {bound}, got {value!r}", parameter=name
        )
    return number


def _count(value: Any, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
        raise SymcalcError(f"`{name}` must be a whole number ≥ 1, got {value!r}", parameter=name)
    return int(value)


def estimate_lipschitz(
    objective: Objective, theta: np.ndarray, iterations: int = 20, seed: int = 0
) -> float:
    """A local estimate of the Lipschitz constant of ∇J near θ: the largest |eigenvalue|
    of the Hessian, by power iteration on finite-difference Hessian-vector products.

    Examples
    --------
    >>> from symcalc.learn.models import make_model
    >>> objective = make_model("mlp", hidden=3).objective(load_data("synthetic:moons"))
    >>> estimate_lipschitz(objective, objective.initial()) > 0
    True
    """
    rng = np.random.default_rng(seed)
    theta = np.asarray(theta, dtype=float)
    base = objective.gradient(theta)
    v = rng.standard_normal(theta.shape)
    v /= np.linalg.norm(v)
    shifted = np.empty_like(base)
    h = 1e-5 * max(1.0, float(np.linalg.norm(theta)))
    estimate = 0.0
    for _ in range(iterations):
        objective.gradient(theta + h * v, out=shifted)
        product = (shifted - base) / h
        norm = float(np.linalg.norm(product))
        if not math.isfinite(norm) or norm == 0:
            break
        estimate = norm
        v = product / norm
    return estimate if estimate > 0 else 1.0


def _norm(vector: np.ndarray) -> float:
    """‖v‖₂ without overflow for huge entries (inf only if an entry is not finite)."""
    largest = float(np.max(np.abs(vector))) if vector.size else 0.0
    if largest == 0 or not math.isfinite(largest):
        return largest
    return largest * float(np.linalg.norm(vector / largest))


def _diverged(loss: float, start: float, gradient_norm: float) -> bool:
    if not (math.isfinite(loss) and math.isfinite(gradient_norm)):
        return True
    return loss > start + DIVERGENCE_FACTOR * max(abs(start), 1e-8)


def optimize(
    objective: Objective,
    theta0: Any = None,
    *,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    loss_tol: float | None = None,
    momentum: float = 0.9,
    seed: int = 0,
    callback: Callable[[int, float, float], Any] | None = None,
    data: str = "",
    parameter_names: tuple[str, ...] = (),
    record_path: bool = False,
) -> DescentResult:
    """Minimize ``objective`` from ``theta0`` (default: the objective's own start).

    See the module docstring for the optimizers, step sizes and stopping rules.
    ``record_path=True`` keeps every iterate θₖ in ``result.path`` (for plots).

    Examples
    --------
    >>> from symcalc.learn.models import make_model
    >>> objective = make_model("logistic").objective(load_data("synthetic:logistic"))
    >>> optimize(objective, optimizer="line-search").stop_reason
    'gradient_norm'
    """
    started = time.perf_counter()
    max_iter = _count(max_iter, "max_iter")
    tol = _positive(tol, "tol", allow_zero=True)
    loss_tol = None if loss_tol is None else _positive(loss_tol, "loss_tol", allow_zero=True)
    momentum = float(momentum)
    if not 0 <= momentum < 1:
        raise SymcalcError(f"momentum must be in [0, 1), got {momentum!r}")
    theta = objective.initial(seed) if theta0 is None else np.array(theta0, dtype=float).ravel()
    if theta.shape != (objective.n_parameters,):
        raise SymcalcError(f"theta0 must have {objective.n_parameters} values, got {theta.size}")
    if not np.isfinite(theta).all():
        raise SymcalcError("theta0 holds NaN or infinite values")
    name = optimizer or ("gd" if objective.bounded else "line-search")
    if name not in OPTIMIZERS:
        raise SymcalcError(
            f"unknown optimizer '{name}'{did_you_mean(name, OPTIMIZERS)} "
            f"(optimizers: {', '.join(OPTIMIZERS)})"
        )
    if learning_rate is not None:
        _positive(learning_rate, "learning_rate")
    gradient = np.empty(objective.n_parameters)
    loss, _ = objective.value_and_gradient(theta, out=gradient)
    norm = _norm(gradient)
    if not (math.isfinite(loss) and math.isfinite(norm)):
        raise SymcalcError(
            "the objective is not finite at the starting point; check the data for extreme values "
            "or standardize them"
        )
    if learning_rate is not None:
        alpha = float(learning_rate)
        origin = "learning rate as given"
    elif name == "adam":
        alpha, origin = ADAM_LEARNING_RATE, "Adam's default learning rate"
    else:
        if objective.bounded:
            bound = objective.lipschitz
            origin = "learning rate 1/L, L the Lipschitz bound of ∇J"
        else:
            bound = estimate_lipschitz(objective, theta, seed=seed)
            origin = "learning rate 1/L, L estimated at θ₀"
        alpha = 1.0 / bound
    rule = OPTIMIZERS[name](alpha, objective.n_parameters, momentum)
    start_loss = loss
    losses, norms, steps = [loss], [norm], [0.0]
    track = [theta.copy()] if record_path else None
    previous = theta.copy()
    reason, message = "", ""
    iteration = 0
    while True:
        if norm <= tol:
            reason = "gradient_norm"
            message = f"gradient norm {norm:.3g} ≤ tol {tol:g}"
            break
        if iteration >= max_iter:
            reason = "max_iter"
            message = (
                f"stopped at max_iter = {max_iter} with gradient norm {norm:.3g} > tol {tol:g}"
            )
            break
        previous[...] = theta
        step = rule.step(theta, gradient, loss, objective)
        new_loss, _ = objective.value_and_gradient(theta, out=gradient)
        new_norm = _norm(gradient)
        if _diverged(new_loss, start_loss, new_norm) or not np.isfinite(theta).all():
            theta[...] = previous
            loss, _ = objective.value_and_gradient(theta, out=gradient)
            norm = _norm(gradient)
            reason = "diverged"
            grown = (
                "stopped being a number"
                if not math.isfinite(new_loss)
                else (f"grew from {start_loss:.4g} to {new_loss:.4g}")
            )
            suggestion = alpha / 10
            if objective.bounded:
                try:
                    suggestion = min(suggestion, 1.0 / objective.lipschitz)
                except SymcalcError:  # features too large to square: the hint below says enough
                    pass
            message = (
                f"diverged at iteration {iteration + 1}: the loss {grown}; lower the learning rate "
                f"(e.g. `learning_rate={suggestion:.3g}`) or leave it out for a safe default; "
                f"θ is the last finite iterate"
            )
            break
        iteration += 1
        change = abs(new_loss - loss)
        loss, norm = new_loss, new_norm
        losses.append(loss)
        norms.append(norm)
        steps.append(step)
        if track is not None:
            track.append(theta.copy())
        if callback is not None:
            callback(iteration, loss, norm)
        if norm <= tol:
            continue
        if loss_tol is not None and change <= loss_tol * max(abs(loss), 1e-300):
            reason = "loss_change"
            message = (
                f"relative loss change {change / max(abs(loss), 1e-300):.3g} "
                f"≤ loss_tol {loss_tol:g}"
                f" with gradient norm {norm:.3g} > tol {tol:g}"
            )
            break
        if step == 0.0:
            reason = "loss_change"
            message = (
                f"the line search found no step that lowers J (the loss no longer changes at "
                f"float precision) with gradient norm {norm:.3g} > tol {tol:g}"
            )
            break
    penalty = objective.penalty(theta)
    seconds = time.perf_counter() - started
    return DescentResult(
        model=objective.name,
        optimizer=name,
        learning_rate=alpha,
        theta=theta.copy(),
        loss=float(loss),
        data_loss=float(loss - penalty),
        gradient_norm=norm,
        iterations=iteration,
        converged=norm <= tol,
        stop_reason=reason,
        message=f"{message} ({origin})",
        seconds=seconds,
        history=History(np.array(losses), np.array(norms), np.array(steps)),
        tol=tol,
        parameter_names=parameter_names,
        data=data,
        objective=objective,
        path=None if track is None else np.array(track),
    )


def _parameter_names(objective: Objective, data: Dataset | None) -> tuple[str, ...]:
    if not hasattr(objective, "parameter_names"):
        return ()
    n_features = getattr(objective, "n_features", 0)
    features = (
        data.feature_names if data is not None else tuple(f"x{j}" for j in range(1, n_features + 1))
    )
    return objective.parameter_names(features)


def descend(
    model: str | LinearModel | MLP,
    data: Dataset | str | os.PathLike | tuple[Any, Any],
    *,
    target: str | None = None,
    standardize: bool = False,
    optimizer: str | None = None,
    learning_rate: float | None = None,
    l2: float = 0.0,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    loss_tol: float | None = None,
    hidden: int = 8,
    activation: str = "tanh",
    loss: str | None = None,
    momentum: float = 0.9,
    theta0: Any = None,
    seed: int = 0,
    callback: Callable[[int, float, float], Any] | None = None,
    record_path: bool = False,
) -> DescentResult:
    """Fit ``model`` to ``data`` by gradient descent on its symbolically derived gradient.

    Parameters
    ----------
    model
        ``"linear"``, ``"logistic"``, ``"softmax"``, ``"mlp"`` or a model from
        `symcalc.learn.models.make_model` (``hidden``, ``activation`` and ``loss`` build one).
    data
        A CSV path, ``"builtin:NAME"``, ``"synthetic:NAME"``, a `Dataset`, or ``(X, y)``
        (NumPy arrays, or dask arrays for linear and logistic models).
    target
        The CSV column to predict (shipped and synthetic sets know theirs).
    standardize
        Rescale every feature to mean 0 and standard deviation 1 first.
    optimizer, learning_rate, max_iter, tol, loss_tol, momentum
        See the module docstring.
    l2
        λ of the penalty (λ/2)‖w‖² added to the mean loss; intercepts are not penalized.
    hidden, activation, loss
        Build the model when ``model`` is a name (see `symcalc.learn.models.make_model`).
    theta0, seed
        The starting point (default: zeros for the convex models, seeded Glorot
        weights for ``mlp``).
    callback
        Called as ``callback(iteration, loss, gradient_norm)`` after every step
        (`ProgressBar` is one).
    record_path
        Keep every iterate θₖ in ``result.path`` (for `symcalc.plot_descent_paths`).

    Examples
    --------
    >>> result = descend("logistic", "synthetic:logistic", optimizer="nesterov")
    >>> result.converged, result.gradient_norm <= 1e-6
    (True, True)
    """
    built = make_model(model, hidden=hidden, activation=activation, loss=loss)
    dataset: Dataset | None = None
    if isinstance(data, (str, os.PathLike, Dataset)):
        dataset = load_data(data, target, standardize=standardize)
        source: Any = dataset
        label = f"{dataset.source} ({dataset.n_samples} samples × {dataset.n_features} features"
        label += ", standardized)" if dataset.is_standardized else ")"
    else:
        if target is not None:
            raise SymcalcError("target names a CSV column; with arrays pass data=(X, y)")
        source = data
        if standardize:
            from .data import check_arrays
            from .data import standardize as rescale

            X, y = (
                check_arrays(*data) if isinstance(data, tuple) and len(data) == 2 else (None, None)
            )
            if X is None:
                raise SymcalcError(
                    "data must be a Dataset, a path, builtin:NAME, synthetic:NAME or (X, y)"
                )
            source = (rescale(X)[0], y)
        label = "arrays"
    objective = built.objective(source, l2)
    result = optimize(
        objective,
        theta0,
        optimizer=optimizer,
        learning_rate=learning_rate,
        max_iter=max_iter,
        tol=tol,
        loss_tol=loss_tol,
        momentum=momentum,
        seed=seed,
        callback=callback,
        data=label,
        parameter_names=_parameter_names(objective, dataset),
        record_path=record_path,
    )
    if not result.converged and dataset is not None and not dataset.is_standardized:
        with np.errstate(over="ignore", invalid="ignore"):
            spread, centre = dataset.X.std(axis=0), np.abs(dataset.X.mean(axis=0))
        if not (spread.max() <= 10 * spread.min() and centre.max() <= 3 * spread.max()):
            hint = "; the features are on different scales: `standardize=True` converges faster"
            result = dataclasses.replace(result, message=result.message + hint)
    accuracy = _training_accuracy(result, dataset)
    if accuracy is not None:
        result = dataclasses.replace(result, training_accuracy=accuracy)
    if result.stop_reason == "max_iter" and l2 == 0 and _is_classifier(built):
        hint = (
            "; cross-entropy on classes that are (nearly) linearly separable has no finite "
            "minimum or a very flat one, so the weights keep growing: add an L2 penalty "
            "(`l2=0.01`) for a finite, well-conditioned optimum"
        )
        result = dataclasses.replace(result, message=result.message + hint)
    return result


def _training_accuracy(result: DescentResult, dataset: Dataset | None) -> float | None:
    """Share of the data set's samples a fitted classifier labels correctly, else None."""
    head = getattr(result.objective, "head", None)
    if dataset is None or getattr(head, "classes", None) is None:
        return None
    predicted = result.predict(dataset.X)
    truth = dataset.y if dataset.target_is_text else np.array([f"{v:g}" for v in dataset.y])
    return float((predicted == truth).mean())


def _is_classifier(model: Any) -> bool:
    """Whether the model is a linear classifier (logistic or softmax regression)."""
    return getattr(model, "name", "") in ("logistic", "softmax")
