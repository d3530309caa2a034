"""Descent: fit a model by the optimizers of `symcalc.learn.optimizers`; results and history.

The textbook loop is θ ← θ − α∇J(θ): start somewhere, compute the gradient, step,
repeat until converged.  `descend` fits a model from `symcalc.learn.models` (whose
gradient and Hessian are derived symbolically) to data from `symcalc.learn.data`
(or, for data larger than memory, read chunk by chunk by `symcalc.learn.streaming`);
`optimize` minimizes any `symcalc.learn.models.Objective`.

``optimizer="auto"`` (the default) chooses by problem size and data location
(`symcalc.learn.optimizers.choose`): Newton's method from the symbolic Hessian for
convex models up to 1000 parameters, Newton-CG (SciPy) above, L-BFGS for
networks, minibatch SGD for a file that does not fit in memory.  The result says
what was chosen and why (``optimizer_chosen``, ``reason``).

Scale is handled for the user: unless a learning rate is given to a first-order rule,
the optimizer works in coordinates where every feature has mean 0 and standard
deviation 1 (`symcalc.learn.scaling`: a change of variables, no copy of X), and θ, J
and ∇J are reported in the user's units.  The stopping rule is scale-aware: converged
when ‖∇J‖ in standardized units has fallen to ``tol`` times its value at the start
(`symcalc.learn.stopping`), so one tolerance means the same on every data set; a
strongly convex fit also stops (``loss_bound``) as soon as J − J* is certified below
1e-10·(tol/1e-8)²·|J| by a lower bound on the curvature.  The
run returns the best iterate seen, with its objective; a diverging run stops with a
hint and never returns NaN.

Examples
--------
>>> result = descend("linear", "synthetic:linear")
>>> result.converged, result.stop_reason, result.optimizer_chosen
(True, 'gradient_norm', 'newton')
>>> [round(float(v), 2) for v in result.theta]  # y = 1.5 + 2·x1 - x2 + 0.5·x3 + noise
[1.48, 1.96, -1.05, 0.53]
"""

from __future__ import annotations

import dataclasses
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any, TextIO

import numpy as np

from ..errors import SymcalcError, did_you_mean
from ..hooks import png_of
from .data import Dataset, load_data
from .heads import label_names
from .models import MLP, LinearModel, Objective, make_model
from .optimizers import (
    ADAM_LEARNING_RATE,
    FIRST_ORDER,
    OPTIMIZERS,
    SCHEDULES,
    Settings,
    choose,
    decrement_check,
    estimate_lipschitz,
)
from .scaling import Preconditioned, Scaling, balanced_scale
from .stopping import (
    DECREMENT_FLOOR,
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    STOP_REASONS,
    Monitor,
    Stop,
    norm,
)

__all__ = [
    "ADAM_LEARNING_RATE",
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "OPTIMIZERS",
    "SCHEDULES",
    "STOP_REASONS",
    "DescentResult",
    "History",
    "ProgressBar",
    "descend",
    "estimate_lipschitz",
    "optimize",
]

#: The names ``optimizer`` takes: ``auto`` and every optimizer of the registry.
OPTIMIZER_NAMES = ("auto", *OPTIMIZERS)
_FIRST_ORDER_NAMES = (*FIRST_ORDER, "sgd")


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
    `theta_for_json` for its structured form), the best iterate seen, in the user's
    units, with its ``loss`` and ``gradient_norm``.  ``optimizer`` is what was asked
    (``auto`` or a name), ``optimizer_chosen`` what ran and ``reason`` why.
    ``optimality`` is the stopping measure ‖∇J(θ)‖ / ‖∇J(θ₀)‖ (standardized units), and
    ``converged`` is True exactly when it is at most ``tol`` (where checked, with the
    Newton decrement confirming J), or when J − J* was certified within the J tolerance
    (``stop_reason`` ``loss_bound``, see `symcalc.learn.stopping`).
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
    optimizer_chosen: str = ""
    reason: str = ""
    optimality: float = math.nan
    preconditioned: bool = False

    def predict(self, X: Any) -> np.ndarray:
        """The model's predictions for new rows (on the same feature scale as the training data)."""
        return self.objective.predict(self.theta, X)

    def theta_for_json(self) -> Any:
        """θ as JSON lists: intercept first, then the weights in column order."""
        if self.objective is not None and hasattr(self.objective, "theta_for_json"):
            return self.objective.theta_for_json(self.theta)
        return [float(v) for v in self.theta]

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the keys of the ``symcalc descend --format json`` contract.

        Classifiers add ``accuracy`` (the training accuracy); networks add their shape
        (``hidden``, ``activation``, ``output_activation``, ``init``).
        """
        extra: dict[str, Any] = {}
        if self.training_accuracy is not None:
            extra["accuracy"] = self.training_accuracy
        describe = getattr(self.objective, "describe", None)
        if describe is not None:
            extra.update(describe())
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
            "optimizer_chosen": self.optimizer_chosen or self.optimizer,
            "reason": self.reason,
            **extra,
        }

    def to_text(self) -> str:
        """A short report: what ran, why it stopped, J, and θ by name."""
        verdict = "converged" if self.converged else "NOT converged"
        lines = [
            f"{self.model} on {self.data}" if self.data else self.model,
            self._optimizer_line(),
            f"{verdict}: {self.message}",
            f"J(θ) = {self.loss:.10g}   (mean loss {self.data_loss:.10g}, "
            f"penalty {self.loss - self.data_loss:.3g})",
            f"‖∇J(θ)‖ = {self.gradient_norm:.3g} after {self.iterations} "
            f"iteration{'' if self.iterations == 1 else 's'} in {self.seconds:.3g} s",
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

    def _optimizer_line(self) -> str:
        chosen = self.optimizer_chosen or self.optimizer
        line = f"optimizer {chosen}"
        if self.optimizer == "auto":
            line = f"optimizer auto → {chosen}: {self.reason}"
        if chosen in _FIRST_ORDER_NAMES:
            line += f", learning rate {self.learning_rate:.6g}"
        return line

    def _repr_png_(self) -> bytes:
        """The loss and gradient-norm curves, drawn (what a notebook shows)."""
        return png_of(self)

    def __repr__(self) -> str:
        plural = "" if self.iterations == 1 else "s"
        return (
            f"<DescentResult {self.model} {self.optimizer_chosen or self.optimizer}: "
            f"J = {self.loss:.6g}, ‖∇J‖ = {self.gradient_norm:.2g}, "
            f"{self.iterations} iteration{plural}, {self.stop_reason}>"
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


def _optimizer_name(optimizer: str | None) -> str:
    name = "auto" if optimizer is None else optimizer
    if name not in OPTIMIZER_NAMES:
        raise SymcalcError(
            f"unknown optimizer '{name}'{did_you_mean(str(name), OPTIMIZER_NAMES)} "
            f"(optimizers: {', '.join(OPTIMIZER_NAMES)})"
        )
    return name


def _scaling_for(objective: Objective) -> Scaling:
    blocks = getattr(objective, "feature_blocks", ())
    X = getattr(objective, "X", None)
    if not blocks or X is None:
        return Scaling.none(objective.n_parameters)
    head = getattr(objective, "head", None)
    scaling = Scaling.for_features(
        X,
        blocks,
        objective.n_parameters,
        l2=objective.l2,
        curvature=getattr(head, "curvature", None),
    )
    tiny = np.flatnonzero((scaling.scale > 0) & (scaling.scale < TINY_SPREAD))
    if tiny.size:
        j = int(tiny[0])
        raise SymcalcError(
            f"feature column {j} varies by only {scaling.scale[j]:.3g}: its squares "
            "underflow in float64, so no gradient or Hessian of it can be trusted; "
            "multiply the column by a power of ten (its weight scales back by the same "
            "factor), pass `standardize=True`, or add an `l2` penalty"
        )
    return scaling


def _check_target(objective: Objective) -> None:
    """Refuse a least-squares target that varies by less than `TINY_SPREAD`: its squared
    residuals underflow, so J is 0 (or subnormal) everywhere near the optimum (y at 1e-170:
    L-BFGS stopped "diverged" at θ = 0, trust-ncg divided 0 by 0)."""
    Y = getattr(objective, "Y", None)
    if objective.classifier or Y is None or type(Y).__module__.split(".")[0] == "dask":
        return
    Y = np.asarray(Y)
    if Y.dtype.kind != "f":
        return
    # half the range (at least half the deviation; halves: no overflow), two reductions
    if Y.ndim == 1:  # one target (the common case): two scalar reductions
        half = np.array([float(Y.max()) * 0.5 - float(Y.min()) * 0.5])
    else:
        half = Y.max(axis=0) * 0.5 - Y.min(axis=0) * 0.5
    tiny = np.flatnonzero((half > 0) & (half < 0.5 * TINY_SPREAD))
    head = getattr(objective, "head", None)
    if tiny.size and getattr(head, "constant_curvature", False):
        raise SymcalcError(
            f"the target varies by only {2 * half[tiny[0]]:.3g}: its squared errors underflow "
            "in float64, so the loss cannot be minimized; multiply the target by a power of "
            "ten (θ scales by the same factor)"
        )


#: Below this spread (2⁻⁵⁰⁰, about 3e-151) a feature's squared deviations, and so its
#: Hessian entries and its gradient in standardized units, fall below float64's normal
#: range: fits there stopped at θ = 0 (J = var(y)) or short of the optimum.
TINY_SPREAD = 2.0**-500


def optimize(
    objective: Objective,
    theta0: Any = None,
    *,
    optimizer: str | None = "auto",
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
    precondition: bool | None = None,
    scaling: Scaling | None = None,
) -> DescentResult:
    """Minimize ``objective`` from ``theta0`` (default: the objective's own start).

    See the module docstring for the optimizers, step sizes and stopping rules.
    ``precondition`` None works in standardized coordinates except for a first-order
    rule given a ``learning_rate`` (whose update is then exactly θ ← θ − α∇J in your
    units); True or False forces the choice.  ``record_path=True`` keeps every iterate
    θₖ in ``result.path`` (for plots).

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
    requested = _optimizer_name(optimizer)
    if learning_rate is not None:
        _positive(learning_rate, "learning_rate")
    if requested == "auto":
        name, reason = choose(objective, learning_rate=learning_rate)
    else:
        name, reason = requested, "chosen by the caller"
    if name == "sgd":
        raise SymcalcError(
            "sgd reads the data in minibatches; call descend(model, data, optimizer='sgd')"
        )
    method = OPTIMIZERS[name]
    if method.needs == "hessian" and not objective.has_hessian:
        raise SymcalcError(
            f"optimizer '{name}' needs the Hessian, which the {objective.name} model does not "
            "form (a network, or a loss without curvature); use trust-ncg or lbfgs"
        )
    if theta0 is not None:
        theta0 = np.array(theta0, dtype=float).ravel()
        if theta0.shape != (objective.n_parameters,):
            raise SymcalcError(
                f"theta0 must have {objective.n_parameters} values, got {theta0.size}"
            )
        if not np.isfinite(theta0).all():
            raise SymcalcError("theta0 holds NaN or infinite values")
    if precondition is None:
        precondition = method.preconditioned and not (
            learning_rate is not None and name in FIRST_ORDER
        )
    _check_target(objective)
    scaling = scaling if scaling is not None else _scaling_for(objective)
    working = bool(precondition) and not scaling.identity
    problem = Preconditioned(objective, scaling) if working else objective
    if theta0 is None:
        theta = problem.initial(seed) if hasattr(problem, "initial") else objective.initial(seed)
    else:
        theta = scaling.to_working(theta0) if working else theta0
    separable = (
        problem.separable
        if objective.classifier and objective.convex and objective.l2 == 0
        else None
    )
    monitor = Monitor(
        scaling,
        working=working,
        max_iter=max_iter,
        tol=tol,
        loss_tol=loss_tol,
        callback=callback,
        record_path=record_path,
        separable=separable,
    )
    monitor.learning_rate = 0.0
    if objective.convex and objective.has_hessian:  # Newton sets its own (exact) check
        monitor.confirm = decrement_check(problem, monitor)
        if hasattr(problem, "certified_gap"):
            monitor.certify = problem.certified_gap
    if (
        requested == "auto"
        and name in ("newton", "newton-cg")
        and objective.n_parameters <= CONDITION_CHECK_PARAMETERS
        and _hessian_is_costly(objective)
    ):
        name, reason = _newton_or_lbfgs(objective, problem, theta, name, reason)
        method = OPTIMIZERS[name]
    settings = Settings(learning_rate=learning_rate, momentum=momentum, seed=seed)
    try:
        method.run(problem, np.array(theta, dtype=float), settings, monitor)
    except Stop as stop:
        stopped = stop
    else:  # pragma: no cover - every method ends by a Stop
        stopped = Stop("max_iter", "stopped")
    finally:
        if hasattr(objective, "forget_row_products"):
            objective.forget_row_products()
    if separable is not None and stopped.reason in ("gradient_norm", "loss_change", "max_iter"):
        stopped = _recession_check(objective, monitor.user_theta(monitor.best_theta), stopped)
    return _result(
        objective,
        monitor,
        stopped,
        requested=requested,
        chosen=name,
        reason=reason,
        seconds=time.perf_counter() - started,
        data=data,
        parameter_names=parameter_names,
    )


#: A run of an unpenalized classifier ending where some sample's margin is above this
#: (its loss below e⁻¹⁰ ≈ 4.5e-5) is checked for separability by a linear programme.
SEPARABLE_MARGIN = 10.0


def _recession_check(objective: Any, theta: np.ndarray, stopped: Stop) -> Stop:
    """``stopped``, unless a linear programme finds a direction along which J falls for
    ever (`AffineObjective.recession_direction`): then the run ends ``separable``.

    The checks on θ during the run see complete separation and a class, or a group of
    classes, separated from the others by θ's own rows; a run can still stop first
    (‖∇J‖ along the escape direction already below tol), or samples lie on the
    separating hyperplane: softmax, 12 samples, 8 classes, 'converged' at J 1.5e-11
    above its infimum.  A run can only stop so near an infimum at infinity where the
    samples that J's escape direction improves have tiny losses, so the programme (up
    to seconds) runs only where some margin at θ exceeds `SEPARABLE_MARGIN`.
    """
    if not hasattr(objective, "recession_direction"):
        return stopped
    if not objective.largest_margin(theta) > SEPARABLE_MARGIN:
        return stopped
    direction = objective.recession_direction()
    if direction is None:
        return stopped
    return Stop(
        "separable",
        "the classes are (quasi-)linearly separable: a linear programme finds a direction "
        "D along which no sample's loss rises and some sample's falls, so J(θ + tD) keeps "
        "falling as t grows and no finite θ minimizes J (θ is where the run stopped: "
        f"{stopped.reason}); add an L2 penalty (`l2=0.01`) for a finite optimum",
    )


#: Above this many operations (m·n²) a Hessian costs real time, and ``auto`` looks at the
#: conditioning before it commits to Newton.
COSTLY_HESSIAN = 5e7
#: At most this condition number (of ∇²J at the start, in standardized coordinates) L-BFGS
#: needs a few tens of iterations, cheaper than Newton's few Hessians.
LBFGS_CONDITION = 1e3


def _hessian_is_costly(objective: Any) -> bool:
    return objective.n_samples * objective.n_parameters**2 >= COSTLY_HESSIAN


#: Rows, spread over the data, on which ``auto`` measures the conditioning.
CONDITION_SAMPLE = 5_000
#: Up to this many parameters the conditioning check costs little (a Hessian of the sample
#: and its eigenvalues); above it ``auto`` keeps what it chose by size.
CONDITION_CHECK_PARAMETERS = 200


def _newton_or_lbfgs(
    objective: Any, problem: Any, theta: np.ndarray, name: str, reason: str
) -> tuple[str, str]:
    """``name`` (Newton or Newton-CG), unless ∇²J(θ₀) is so well conditioned
    that L-BFGS wins (large data only).

    The condition number is measured on at most `CONDITION_SAMPLE` rows spread over the
    data (a Hessian of that many rows costs little), in standardized coordinates.
    """
    if getattr(objective, "_dask", False) or not hasattr(objective, "on"):
        return name, reason
    step = max(1, objective.n_samples // CONDITION_SAMPLE)
    sample = objective.on(objective.X[::step], objective.Y[::step])
    scaled = Preconditioned(sample, problem.scaling) if hasattr(problem, "scaling") else sample
    with np.errstate(all="ignore"):
        eigenvalues = np.linalg.eigvalsh(scaled.hessian(np.array(theta, dtype=float)))
    top, bottom = float(eigenvalues[-1]), float(eigenvalues[0])
    condition = top / bottom if bottom > 0 and np.isfinite(top) else math.inf
    if condition <= LBFGS_CONDITION:
        return "lbfgs", (
            f"{objective.n_parameters} parameters on {objective.n_samples} samples, and ∇²J "
            f"at the start is well conditioned (κ = {condition:.3g} ≤ {LBFGS_CONDITION:g} in "
            "standardized units, on a sample of the rows): L-BFGS (SciPy) needs a few tens "
            "of gradients, fewer operations than Newton's Hessians"
        )
    return name, (
        f"{reason}; ∇²J at the start has κ = {condition:.3g} > {LBFGS_CONDITION:g}, too "
        "ill-conditioned for L-BFGS"
    )


def _result(
    objective: Any,
    monitor: Monitor,
    stopped: Stop,
    *,
    requested: str,
    chosen: str,
    reason: str,
    seconds: float,
    data: str,
    parameter_names: tuple[str, ...],
) -> DescentResult:
    """The result from the monitor's best iterate, in the user's units."""
    theta = monitor.user_theta(monitor.best_theta)
    gradient = monitor.best_gradient
    if monitor.working:
        gradient = monitor.scaling.gradient_to_user(gradient)
    loss = float(monitor.best_loss)
    notes = [n for n in monitor.notes if n]
    if stopped.reason != "separable" and not monitor.hessian_regular:
        theta = _least_norm(objective, theta, loss, monitor.start_loss, notes)
    penalty = objective.penalty(theta)
    if monitor.working:
        notes.append("solved in standardized coordinates; θ, J and ∇J in your units")
    message = stopped.message + (f" ({'; '.join(notes)})" if notes else "")
    return DescentResult(
        model=objective.name,
        optimizer=requested,
        learning_rate=float(monitor.learning_rate),
        theta=theta,
        loss=loss,
        data_loss=float(loss - penalty),
        gradient_norm=norm(gradient),
        iterations=monitor.iteration,
        converged=monitor.converged and stopped.reason != "separable",
        stop_reason=stopped.reason,
        message=message,
        seconds=seconds,
        history=History(np.array(monitor.losses), np.array(monitor.norms), np.array(monitor.steps)),
        tol=monitor.tol,
        parameter_names=parameter_names,
        data=data,
        objective=objective,
        path=None if monitor.path is None else np.array(monitor.path),
        optimizer_chosen=chosen,
        reason=reason,
        optimality=float(monitor.best_optimality),
        preconditioned=monitor.working,
    )


def _least_norm(
    objective: Any, theta: np.ndarray, loss: float, start: float, notes: list[str]
) -> np.ndarray:
    """Without a penalty, on features whose centred matrix is rank-deficient: the θ of
    least-norm weights with the same outputs (`AffineObjective.least_norm`), and a note.

    J's minimizers then form an affine set, and which one a run reaches depends on the
    optimizer and the scaling (OLS on 12 × 30: |w| = 1.9e4 where the least norm is
    0.37).  Moving along the set leaves J and ∇J as they were (the outputs do not
    change); the move is kept only if J at the new θ is J to rounding (1e-12 of J, or
    `DECREMENT_FLOOR` of J(θ₀) where J* = 0).  Not called after a Newton run whose every
    Hessian factored with clear pivots: full rank, nothing to move along.
    """
    if getattr(objective, "l2", 1.0) != 0 or not hasattr(objective, "least_norm"):
        return theta
    moved, dimension = objective.least_norm(theta)
    if dimension == 0:
        return theta
    with np.errstate(all="ignore"):
        value = objective.value(moved)
    kept = value <= loss + 1e-12 * abs(loss) + DECREMENT_FLOOR * abs(start)
    notes.append(
        f"the centred features have {dimension} null direction"
        f"{'s' if dimension > 1 else ''} (collinear or constant features, or fewer samples "
        "than features): J's minimizers are not unique, and θ is "
        + (
            "the one with the least-norm weights, the limit of ridge as l2 → 0"
            if kept
            else f"one of them, not the least-norm one (moving there costs J {value:.3g} "
            "to rounding; a tiny l2 picks a unique θ)"
        )
    )
    return moved if kept else theta


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
    delimiter: str | None = None,
    standardize: bool = False,
    optimizer: str | None = "auto",
    learning_rate: float | None = None,
    l2: float = 0.0,
    max_iter: int = DEFAULT_MAX_ITER,
    tol: float = DEFAULT_TOL,
    loss_tol: float | None = None,
    hidden: int | Sequence[int] = 8,
    activation: str = "tanh",
    loss: str | None = None,
    output_activation: str | None = None,
    init: str = "xavier",
    momentum: float = 0.9,
    theta0: Any = None,
    seed: int = 0,
    callback: Callable[[int, float, float], Any] | None = None,
    record_path: bool = False,
    batch_size: int = 256,
    epochs: int = 5,
    schedule: str = "cosine",
    precondition: bool | None = None,
) -> DescentResult:
    """Fit ``model`` to ``data`` by the optimizers on its symbolically derived derivatives.

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
    delimiter
        The CSV cell delimiter (``","``, ``";"`` or tab; default: detected from the header).
    standardize
        Rescale every feature to mean 0 and standard deviation 1 first.
    optimizer, learning_rate, max_iter, tol, loss_tol, momentum
        See the module docstring.
    l2
        λ of the penalty (λ/2)‖w‖² added to the mean loss; intercepts are not penalized.
    hidden, activation, loss, output_activation, init
        Build the model when ``model`` is a name (see `symcalc.learn.models.make_model`):
        ``hidden`` is one width or one per hidden layer (``(16, 16, 8)``).
    theta0, seed
        The starting point (default: zeros for the convex models, seeded weights drawn
        by ``init`` for ``mlp``).
    callback
        Called as ``callback(iteration, loss, gradient_norm)`` after every step
        (`ProgressBar` is one).
    record_path
        Keep every iterate θₖ in ``result.path`` (for `symcalc.plot_descent_paths`).
    batch_size, epochs, schedule
        Minibatch SGD (``optimizer="sgd"``, or ``auto`` on a CSV file too large to load):
        rows per minibatch, passes over the data, and the step schedule
        (`symcalc.learn.optimizers.SCHEDULES`).  The data are then read chunk by chunk
        (`symcalc.learn.streaming`), never whole.
    precondition
        None (default): optimize in standardized coordinates (`symcalc.learn.scaling`)
        unless a first-order rule is given a ``learning_rate``; False runs the textbook
        update in the raw coordinates; True forces the standardized ones.

    Examples
    --------
    >>> result = descend("logistic", "synthetic:logistic", optimizer="nesterov")
    >>> result.converged, result.optimizer_chosen
    (True, 'nesterov')
    >>> descend("softmax", "builtin:iris", l2=1e-4).reason.split(":")[0]
    '15 parameters ≤ 1000 and a convex model with a symbolic Hessian'
    """
    built = make_model(
        model,
        hidden=hidden,
        activation=activation,
        loss=loss,
        output_activation=output_activation,
        init=init,
    )
    requested = _optimizer_name(optimizer)
    streamed = _streaming_plan(data, requested)
    if streamed is not None:
        settings = _sgd_settings(learning_rate, momentum, seed, batch_size, epochs, schedule)
        return _descend_streaming(
            built,
            data,
            target=target,
            delimiter=delimiter,
            standardize=standardize,
            l2=l2,
            tol=_positive(tol, "tol", allow_zero=True),
            requested=requested,
            why=streamed,
            settings=settings,
            theta0=theta0,
            callback=callback,
        )
    dataset: Dataset | None = None
    if isinstance(data, (str, os.PathLike, Dataset)):
        dataset = load_data(data, target, standardize=standardize, delimiter=delimiter)
        source: Any = dataset
        label = f"{dataset.source} ({dataset.n_samples} samples × {dataset.n_features} features"
        label += ", standardized)" if dataset.is_standardized else ")"
    else:
        if target is not None:
            raise SymcalcError("target names a CSV column; with arrays pass data=(X, y)")
        source = data
        if standardize and isinstance(data, tuple) and len(data) == 2 and _is_dask(data[0]):
            source = (_standardized_dask(data[0]), data[1])
        elif standardize:
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
        precondition=precondition,
    )
    if (
        not result.converged
        and not result.preconditioned
        and dataset is not None
        and not dataset.is_standardized
    ):
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


def _is_dask(array: Any) -> bool:
    return type(array).__module__.split(".")[0] == "dask"


# -- data larger than memory: minibatch SGD over chunks -----------------------------------------


def _is_csv_path(data: Any) -> bool:
    if not isinstance(data, (str, os.PathLike)):
        return False
    kind, sep, _ = os.fspath(data).partition(":")
    return not (sep and kind in ("builtin", "synthetic"))


def _streaming_plan(data: Any, requested: str) -> str | None:
    """Why the data go through minibatch SGD ("" for a plain request), or None."""
    if requested == "sgd":
        return ""
    if requested == "auto" and _is_csv_path(data):
        from .streaming import csv_fits_in_memory

        fits, why = csv_fits_in_memory(data)
        if not fits:
            return why
    return None


def _sgd_settings(learning_rate, momentum, seed, batch_size, epochs, schedule) -> Settings:
    if learning_rate is not None:
        _positive(learning_rate, "learning_rate")
    if schedule not in SCHEDULES:
        raise SymcalcError(
            f"unknown schedule '{schedule}'{did_you_mean(str(schedule), SCHEDULES)} "
            f"(schedules: {', '.join(SCHEDULES)})"
        )
    return Settings(
        learning_rate=learning_rate,
        momentum=float(momentum),
        seed=int(seed),
        batch_size=_count(batch_size, "batch_size"),
        epochs=_count(epochs, "epochs"),
        schedule=schedule,
    )


def _source_for(data: Any, target: str | None, delimiter: str | None = None):
    """A chunked source for ``data``: a CSV read block by block, dask blocks, or arrays."""
    from .streaming import ArraySource, CSVSource, DaskSource

    if _is_csv_path(data):
        return CSVSource(data, target, delimiter=delimiter), os.fspath(data)
    if isinstance(data, tuple) and len(data) == 2 and _is_dask(data[0]):
        if target is not None:
            raise SymcalcError("target names a CSV column; with arrays pass data=(X, y)")
        return DaskSource(*data), "dask arrays"
    if isinstance(data, tuple) and len(data) == 2:
        from .data import check_arrays

        if target is not None:
            raise SymcalcError("target names a CSV column; with arrays pass data=(X, y)")
        X, y = check_arrays(*data)
        return ArraySource(X, y), "arrays"
    dataset = load_data(data, target, delimiter=delimiter)
    return (
        ArraySource(dataset.X, dataset.y, dataset.feature_names, dataset.target),
        dataset.source,
    )


def _descend_streaming(
    built: Any,
    data: Any,
    *,
    target: str | None,
    delimiter: str | None,
    standardize: bool,
    l2: float,
    tol: float,
    requested: str,
    why: str,
    settings: Settings,
    theta0: Any,
    callback: Callable[[int, float, float], Any] | None,
) -> DescentResult:
    """Minibatch SGD over the data read chunk by chunk, then one exact pass for J and ∇J."""
    from .heads import head_for_labels
    from .models import _check_l2
    from .streaming import MinibatchProblem

    started = time.perf_counter()
    l2 = _check_l2(l2)
    source, where = _source_for(data, target, delimiter)
    classify = built.loss is None or built.loss.name == "binary_cross_entropy_with_logits"
    summary = source.scan(classify=classify)
    head = head_for_labels(built.loss, summary.labels, source.target) if classify else None
    if head is None:
        from .heads import ScalarHead

        head = ScalarHead(built.loss)

    def make(X, Y, penalty):
        return built.objective_on(X, Y, head, penalty)

    template = make(np.zeros((2, source.n_features)), head.encode(_two_labels(head, summary)), l2)
    scaling = (
        None
        if standardize
        else Scaling(
            template.n_parameters,
            template.feature_blocks,
            summary.mean,
            balanced_scale(summary.scale, l2, head.curvature),
        )
    )
    if standardize and not (summary.scale > 0).all():
        j = int(np.flatnonzero(~(summary.scale > 0))[0])
        raise SymcalcError(
            f"column '{source.feature_names[j]}' of {where} is constant, so it cannot be "
            "standardized; drop the column or do not standardize"
        )
    problem = MinibatchProblem(
        source,
        summary,
        head,
        make,
        l2,
        scaling=scaling,
        standardize=standardize,
        batch_size=settings.batch_size,
    )
    identity = scaling if scaling is not None else Scaling.none(template.n_parameters)
    if theta0 is None:
        theta = np.array(template.initial(settings.seed), dtype=float)
    else:
        theta = identity.to_working(np.array(theta0, dtype=float).ravel())
        if theta.shape != (template.n_parameters,) or not np.isfinite(theta).all():
            raise SymcalcError(f"theta0 must hold {template.n_parameters} finite values")
    monitor = Monitor(
        identity,
        working=scaling is not None,
        max_iter=settings.epochs + 1,
        tol=-1.0,
        callback=callback,
    )
    try:
        OPTIMIZERS["sgd"].run(problem, theta, settings, monitor)
    except Stop as stop:
        stopped = stop
    loss, gradient, accuracy = problem.exact(theta)
    if not (math.isfinite(loss) and np.isfinite(gradient).all()):
        theta = monitor.best_theta
        loss, gradient, accuracy = problem.exact(theta)
    optimality = monitor.optimality(loss, gradient)
    converged = optimality <= tol
    user_theta = identity.to_user(theta)
    user_gradient = identity.gradient_to_user(gradient)
    verdict = "≤" if converged else ">"
    notes = [*monitor.notes]
    if scaling is not None:
        notes.append("solved in standardized coordinates; θ, J and ∇J in your units")
    message = (
        f"{stopped.message}; one more pass for the exact J: gradient norm "
        f"{float(np.linalg.norm(gradient)):.3g} (standardized units) {verdict} "
        f"tol·‖∇J(θ₀)‖ = {tol:g}·{monitor.scale():.4g} ({'; '.join(notes)})"
    )
    reason = why or "chosen by the caller"
    if requested == "auto":
        reason = f"{why}: minibatch SGD reads it chunk by chunk"
    penalty = template.penalty(user_theta)
    features = source.feature_names
    n_features = source.n_features
    label = (
        f"{where} ({summary.n_rows} samples × {n_features} features, read in "
        f"{source.n_chunks} chunks" + (", standardized)" if standardize else ")")
    )
    return DescentResult(
        model=template.name,
        optimizer=requested,
        learning_rate=float(monitor.learning_rate),
        theta=user_theta,
        loss=float(loss),
        data_loss=float(loss - penalty),
        gradient_norm=norm(user_gradient),
        iterations=int(getattr(monitor, "steps_taken", monitor.iteration)),
        converged=converged,
        stop_reason=stopped.reason,
        message=message,
        seconds=time.perf_counter() - started,
        history=History(np.array(monitor.losses), np.array(monitor.norms), np.array(monitor.steps)),
        tol=tol,
        parameter_names=template.parameter_names(features),
        data=label,
        objective=template,
        training_accuracy=accuracy,
        optimizer_chosen="sgd",
        reason=reason,
        optimality=float(optimality),
        preconditioned=scaling is not None,
    )


def _two_labels(head: Any, summary: Any) -> np.ndarray:
    """Two raw targets the head can encode (to build a 2-row template objective)."""
    if getattr(head, "labels", None) is not None:
        return np.asarray(head.labels)[[0, -1]]
    return np.zeros(2)


def _standardized_dask(X: Any) -> Any:
    """(X − μ)/s as a lazy dask array: the moments by one chunked pass, nothing loaded whole."""
    from .scaling import column_moments

    if X.ndim != 2:
        raise SymcalcError("a dask X must be 2-D (samples × features)")
    mean, scale = column_moments(X)
    constant = np.flatnonzero(~(scale > 0))
    if constant.size:
        j = int(constant[0])
        raise SymcalcError(
            f"column {j} of the dask array is constant (every value is {mean[j]:g}), so it "
            "cannot be standardized; drop the column or do not standardize"
        )
    return (X - mean) / scale


def _training_accuracy(result: DescentResult, dataset: Dataset | None) -> float | None:
    """Share of the data set's samples a fitted classifier labels correctly, else None."""
    head = getattr(result.objective, "head", None)
    if dataset is None or getattr(head, "classes", None) is None:
        return None
    predicted = result.predict(dataset.X)
    if dataset.target_is_text:
        truth = dataset.y
    else:  # each distinct label named once, as the head names its classes
        values, inverse = np.unique(dataset.y, return_inverse=True)
        truth = np.array(label_names(values), dtype=object)[inverse]
    return float((predicted == truth).mean())


def _is_classifier(model: Any) -> bool:
    """Whether the model is a linear classifier (logistic or softmax regression)."""
    return getattr(model, "name", "") in ("logistic", "softmax")
