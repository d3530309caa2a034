"""The optimizers, one registry: first-order rules, Newton, L-BFGS, Newton-CG, SGD.

`OPTIMIZERS` maps each name ``descend`` takes to a `Method`; ``auto`` (the default) is a
policy, `choose`, that picks one by problem size and data location and says why.

=========== =====================================================================
newton      damped Newton from the symbolic Hessian: solve ∇²J·s = −∇J by Cholesky
            (of the Hessian scaled to unit diagonal; a singular or nearly singular
            Hessian gets the smallest shift δ·I that factors, e.g. softmax's
            redundant intercepts), then backtrack (Armijo) so every step descends.
            A handful of iterations on every convex model.
lbfgs       SciPy's L-BFGS-B on symcalc's J and ∇J.
newton-cg   SciPy's line-search Newton-CG on J, ∇J and the symbolically derived
            Hessian-vector product ∇²J·v (never forms ∇²J), the algorithm of
            scikit-learn's ``newton-cg``; trust-ncg finishes if SciPy stops early.
trust-ncg   SciPy's trust-region Newton-CG on the same (networks too: it copes with
            negative curvature).
gd          θ ← θ − α∇J, exactly the textbook rule
momentum    v ← βv + ∇J;  θ ← θ − αv  (heavy ball, β = 0.9)
nesterov    v ← βv + ∇J;  θ ← θ − α(∇J + βv)  (Nesterov, look-ahead form)
adam        bias-corrected moments (β₁ = 0.9, β₂ = 0.999, ε = 1e-8), α = 0.1
line-search backtracking (Armijo) gradient descent; the next search starts from 2α
sgd         minibatch SGD over chunks of the data (`symcalc.learn.streaming`): a
            file or dask array larger than memory is read chunk by chunk, rows are
            shuffled within a buffer, and the schedule (constant, inverse, cosine)
            sets the step; deterministic for a seed.
=========== =====================================================================

Why SciPy for L-BFGS and Newton-CG: they are the reference implementations
(scikit-learn's ``lbfgs`` solver calls SciPy's L-BFGS-B, its ``newton-cg`` is a copy of
SciPy's), with line searches and trust-region updates refined over decades; symcalc
contributes what they lack: the exact gradient and Hessian-vector product, derived
symbolically and evaluated by stable kernels.  Why Newton is symcalc's own: SciPy has
no line-search Newton method that takes a dense Hessian and factors it once per step
(``trust-exact`` factors several times per step, ``Newton-CG`` solves by conjugate
gradients); the loop is 40 lines around `scipy.linalg.cho_factor`.

Every method reports each iterate to a `symcalc.learn.stopping.Monitor`, which decides
when to stop (one scale-aware rule for all) and keeps the best iterate.

Examples
--------
>>> sorted(OPTIMIZERS)[:4]
['adam', 'gd', 'lbfgs', 'line-search']
>>> from symcalc.learn.data import load_data
>>> from symcalc.learn.models import make_model
>>> choose(make_model("logistic").objective(load_data("synthetic:logistic")))[0]
'newton'
"""

from __future__ import annotations

import dataclasses
import math
import warnings
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import SymcalcError
from .stopping import Monitor, Stop, norm

__all__ = [
    "ADAM_LEARNING_RATE",
    "NEWTON_MAX_COST",
    "NEWTON_MAX_PARAMETERS",
    "NEWTON_SMALL_OPERATIONS",
    "OPTIMIZERS",
    "SCHEDULES",
    "Method",
    "Settings",
    "choose",
    "estimate_lipschitz",
    "schedule",
]

#: Default Adam step size (Adam's steps are about α in every coordinate).
ADAM_LEARNING_RATE = 0.1
#: ``auto`` uses Newton up to this many parameters (the Hessian is n × n) ...
NEWTON_MAX_PARAMETERS = 1000
#: ... and while one Hessian costs at most this many gradient passes, (p + 1)(K + 1)/2 for
#: the linear models: Newton's ~10 steps then cost less than anything else (breast cancer
#: 31, wine 28).  Above it the Hessian is never formed: Newton-CG takes as few outer
#: steps with Hessian-vector products (digits, 358: 11 steps and 180 products, where
#: trust-region Newton-CG needs 320 and L-BFGS 211 gradients at 14× trust-ncg's time).
NEWTON_MAX_COST = 40
#: ... or while one Hessian and its Cholesky take at most this many operations, (m + n/3)·n²
#: for m samples: then they cost milliseconds whatever their share of a gradient, and
#: Newton's robustness wins (softmax on 5 samples × 80 features, 405 parameters, λ = 1:
#: Newton converges in 35 steps where Newton-CG stalls with J 60× above its minimum).
NEWTON_SMALL_OPERATIONS = 3e7
#: Learning-rate schedules of ``sgd``: α_t from α₀, the step t and the total T.
SCHEDULES: Mapping[str, str] = MappingProxyType(
    {
        "constant": "α_t = α₀",
        "inverse": "α_t = α₀ / (1 + t/τ), τ the steps in one epoch",
        "cosine": "α_t = α₀·(1 + cos(π t/T))/2, annealed to 0 over the T steps of the run",
    }
)


@dataclasses.dataclass(frozen=True)
class Settings:
    """What a method may be told: step size, momentum, seed, and SGD's minibatch plan."""

    learning_rate: float | None = None
    momentum: float = 0.9
    seed: int = 0
    batch_size: int = 256
    epochs: int = 5
    schedule: str = "cosine"


class Method:
    """An optimizer: ``run`` reports every iterate to the monitor until it raises `Stop`."""

    name = "method"
    #: Whether it runs in standardized coordinates by default (see `symcalc.learn.scaling`).
    preconditioned = True
    #: What it needs of the objective: "gradient", "hessian" or "hessian_vector".
    needs = "gradient"

    def run(self, problem: Any, theta: np.ndarray, settings: Settings, monitor: Monitor) -> None:
        raise NotImplementedError  # pragma: no cover

    def __repr__(self) -> str:
        return f"<optimizer {self.name}>"


# -- first-order rules -------------------------------------------------------------------------


class Rule:
    """One first-order update.  ``step`` moves θ in place and returns the step size it used."""

    name = "rule"

    def __init__(self, learning_rate: float, n_parameters: int, momentum: float = 0.9):
        self.learning_rate = learning_rate
        self.momentum = momentum
        self.buffer = np.zeros(n_parameters)

    def step(self, theta: np.ndarray, gradient: np.ndarray, loss: float, objective: Any) -> float:
        raise NotImplementedError  # pragma: no cover


class GradientDescent(Rule):
    """θ ← θ − α∇J(θ)."""

    name = "gd"

    def step(self, theta, gradient, loss, objective):
        np.multiply(gradient, self.learning_rate, out=self.buffer)
        theta -= self.buffer
        return self.learning_rate


class Momentum(Rule):
    """Heavy ball: v ← βv + ∇J;  θ ← θ − αv."""

    name = "momentum"

    def step(self, theta, gradient, loss, objective):
        velocity = self.buffer
        velocity *= self.momentum
        velocity += gradient
        theta -= self.learning_rate * velocity
        return self.learning_rate


class Nesterov(Rule):
    """v ← βv + ∇J;  θ ← θ − α(∇J + βv): Nesterov's look-ahead, one gradient per step."""

    name = "nesterov"

    def step(self, theta, gradient, loss, objective):
        velocity = self.buffer
        velocity *= self.momentum
        velocity += gradient
        theta -= self.learning_rate * (gradient + self.momentum * velocity)
        return self.learning_rate


class Adam(Rule):
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


class LineSearchRule(Rule):
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


def estimate_lipschitz(
    objective: Any, theta: np.ndarray, iterations: int = 20, seed: int = 0
) -> float:
    """A local estimate of the Lipschitz constant of ∇J near θ: the largest |eigenvalue|
    of the Hessian, by power iteration on finite-difference Hessian-vector products.

    Examples
    --------
    >>> from symcalc.learn.data import load_data
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
        size = float(np.linalg.norm(product))
        if not math.isfinite(size) or size == 0:
            break
        estimate = size
        v = product / size
    return estimate if estimate > 0 else 1.0


def _lower_rate_hint(problem: Any, alpha: float) -> str:
    """What to try after a run at learning rate α diverged: α/10, or 1/L where the
    objective knows its Lipschitz bound L and 1/L is smaller (gradient descent at 1/L
    cannot diverge on a convex objective; α/10 alone suggested 0.3 after α = 3 on
    standardized diabetes, where 0.25 diverges too)."""
    suggestion = alpha / 10
    try:
        bound = problem.lipschitz if getattr(problem, "bounded", False) else None
    except SymcalcError:  # XᵀX overflows (features near 1e200): no bound to offer
        bound = None
    if bound is not None and bound > 0 and math.isfinite(bound):
        suggestion = min(suggestion, 1.0 / bound)
    return (
        f"lower the learning rate (e.g. `learning_rate={suggestion:.3g}`) or leave it out "
        "for a safe default"
    )


def _minibatch_rate_hint(
    problem: Any, theta: np.ndarray, alpha: float, settings: Settings
) -> Callable[[], str]:
    """SGD's divergence hint, made when asked: min(α/10, 1/L) with L the Lipschitz
    bound of ∇J on the first block (`MinibatchProblem.lipschitz`), as the full-batch
    rules' (`_lower_rate_hint`); α/10 alone suggested 0.3 after α = 3 on standardized
    diabetes, which diverges too."""

    def hint() -> str:
        suggestion = alpha / 10
        try:
            with np.errstate(over="ignore", invalid="ignore"):
                bound = float(problem.lipschitz(theta, settings.seed))
        except SymcalcError:  # the block's Gram matrix overflows: no bound to offer
            bound = math.nan
        if bound > 0 and math.isfinite(bound):
            suggestion = min(suggestion, 1.0 / bound)
        return (
            f"lower the learning rate (e.g. `learning_rate={suggestion:.3g}`) or leave it out "
            "for a safe default"
        )

    return hint


class FirstOrder(Method):
    """A first-order rule in a loop: one gradient per step (the line search may ask more)."""

    needs = "gradient"

    def __init__(self, rule: type[Rule]):
        self.rule = rule
        self.name = rule.name
        self.__doc__ = rule.__doc__

    def step_size(self, problem: Any, theta: np.ndarray, settings: Settings) -> tuple[float, str]:
        """(α, where it came from): as given, Adam's default, or 1/L."""
        if settings.learning_rate is not None:
            return float(settings.learning_rate), "learning rate as given"
        if self.name == "adam":
            return ADAM_LEARNING_RATE, "Adam's default learning rate"
        bound = problem.lipschitz if problem.bounded else None
        if bound is not None:
            return 1.0 / bound, "learning rate 1/L, L the Lipschitz bound of ∇J"
        return (
            1.0 / estimate_lipschitz(problem, theta, seed=settings.seed),
            "learning rate 1/L, L estimated at θ₀",
        )

    def run(self, problem, theta, settings, monitor):
        alpha, origin = self.step_size(problem, theta, settings)
        monitor.learning_rate = alpha
        monitor.notes.append(origin)
        monitor.divergence_hint = lambda: _lower_rate_hint(problem, alpha)
        monitor.unsettled_hint = (
            f"({self.name} is slow along the directions where ∇²J is nearly flat: the "
            "gradient there is tiny while J still falls, so its steps are tiny too; "
            "optimizer='newton' or 'lbfgs' (or 'auto') takes Newton steps that settle it)"
        )
        rule = self.rule(alpha, problem.n_parameters, settings.momentum)
        gradient = np.empty(problem.n_parameters)
        loss, _ = problem.value_and_gradient(theta, out=gradient)
        monitor.start(theta, loss, gradient)
        with np.errstate(over="ignore", invalid="ignore"):
            while True:
                step = rule.step(theta, gradient, loss, problem)
                if step == 0.0:
                    monitor.stall(
                        "the line search found no step that lowers J (the loss no longer "
                        "changes at float precision)"
                    )
                loss, _ = problem.value_and_gradient(theta, out=gradient)
                monitor.record(theta, loss, gradient, step)


# -- Newton ----------------------------------------------------------------------------------


#: Shifts δ tried (on the Hessian scaled to unit diagonal) when Cholesky fails.
_SHIFTS = tuple(10.0**k for k in range(-10, 3))
#: A Cholesky factor whose smallest diagonal entry is below this times its largest is
#: treated as singular (the solve would amplify rounding by more than 1e8).
_PIVOT_RATIO = 1e-8
#: Pivots of H's own factor above this ratio are clearly not near the singular threshold:
#: the step is taken from that factor; anything closer goes through the scaled factors.
_CLEAR_PIVOT_RATIO = 1e-6


def _lapack() -> tuple[Any, Any]:
    """LAPACK's Cholesky factor and solve for float64 (``dpotrf``, ``dpotrs``), looked up once."""
    global _POTRF_POTRS
    if _POTRF_POTRS is None:
        import scipy.linalg.lapack

        _POTRF_POTRS = scipy.linalg.lapack.get_lapack_funcs(("potrf", "potrs"), dtype=np.float64)
    return _POTRF_POTRS


_POTRF_POTRS: tuple[Any, Any] | None = None
_SYRK: Any = None


def _syrk() -> Any:
    """BLAS's ``dsyrk`` (C ← αAAᵀ + βC on one triangle), looked up once."""
    global _SYRK
    if _SYRK is None:
        import scipy.linalg.blas

        _SYRK = scipy.linalg.blas.dsyrk
    return _SYRK


def newton_step(
    hessian: np.ndarray,
    gradient: np.ndarray,
    null: np.ndarray | None = None,
    clear: list[bool] | None = None,
) -> tuple[np.ndarray, float]:
    """(s, δ): the solution of (H + δ·diag(H))·s = −g by Cholesky, δ = 0 when H factors well.

    H is scaled to unit diagonal first (Jacobi), so δ is relative to each parameter's
    curvature; a singular H (a redundant parameter, a feature that is all zeros) gets
    the smallest δ in 1e-10, 1e-9, ... that factors with pivots above 1e-8 of the
    largest.  In a direction of zero curvature the gradient is zero too, so the shift
    changes nothing there; elsewhere it is below rounding.  Only the lower triangle of
    H is read.

    ``null`` (orthonormal columns) are directions of exactly zero curvature known in
    advance (softmax's redundant intercepts): the gradient is projected off them and H
    gets their outer product (scaled to H's diagonal), so the step stays out of them.
    ``clear``, a list, gets True when H factored with clear pivots (full rank), else
    False (the Jacobi-scaled solve, even where it needed no shift).

    Examples
    --------
    >>> s, shift = newton_step(np.array([[2.0, 0.0], [0.0, 4.0]]), np.array([2.0, 4.0]))
    >>> s.round(12).tolist(), shift
    ([-1.0, -1.0], 0.0)
    >>> newton_step(np.array([[1.0, 1.0], [1.0, 1.0]]), np.array([1.0, 1.0]))[1] > 0
    True
    """
    potrf, potrs = _lapack()
    if null is not None:
        gradient = gradient - null @ (null.T @ gradient)
        level = float(np.abs(hessian.diagonal()).sum()) / len(gradient) or 1.0  # the mean
        # H + level·NNᵀ on the lower triangle, all that is read: one BLAS call, a copy of
        # H and nothing else (the n × n outer product and the sum took two more of H)
        hessian = _syrk()(level, null, 1.0, hessian, lower=1)
    diagonal = hessian.diagonal()
    # Cholesky is invariant under the Jacobi scaling (up to rounding): factor H itself, and
    # read the pivots of the scaled matrix off the factor, diag(L)/√diag(H).
    factor, info = potrf(hessian, lower=1, clean=0)
    if info == 0:
        with np.errstate(divide="ignore", invalid="ignore"):
            pivots = factor.diagonal() / np.sqrt(diagonal)
        smallest, largest = float(pivots.min()), float(pivots.max())
        if math.isfinite(largest) and smallest >= _CLEAR_PIVOT_RATIO * largest:
            solution, info = potrs(factor, gradient, lower=1)
            if info == 0 and math.isfinite(float(solution.sum())):
                if clear is not None:
                    clear.append(True)
                return np.negative(solution, out=solution), 0.0
    if clear is not None:
        clear.append(False)
    return _regularized_step(hessian, gradient, diagonal)


def _regularized_step(
    hessian: np.ndarray, gradient: np.ndarray, diagonal: np.ndarray
) -> tuple[np.ndarray, float]:
    """`newton_step` when H does not factor well: Jacobi scaling, then the smallest shift."""
    potrf, potrs = _lapack()
    usable = np.isfinite(diagonal) & (diagonal > 0)
    inverse = 1.0 / np.sqrt(np.where(usable, diagonal, 1.0))
    scaled = hessian * inverse[:, None]
    scaled *= inverse
    rhs = gradient * -inverse
    with np.errstate(over="ignore", invalid="ignore"):
        finite = math.isfinite(float(np.add.reduce(scaled, axis=None)) + float(rhs.sum()))
    if not finite and not (np.isfinite(scaled).all() and np.isfinite(rhs).all()):
        return -gradient / max(float(np.nanmax(np.abs(diagonal), initial=1.0)), 1.0), math.inf
    for shift in (0.0, *_SHIFTS):
        matrix = scaled
        if shift:
            matrix = scaled.copy()
            matrix.flat[:: len(diagonal) + 1] += shift
        factor, info = potrf(matrix, lower=1, clean=0)
        if info != 0:
            continue
        pivots = np.abs(np.diag(factor))
        if pivots.min() < _PIVOT_RATIO * pivots.max():
            continue
        solution, info = potrs(factor, rhs, lower=1)
        if info == 0:
            return solution * inverse, shift
    return -gradient / max(float(diagonal.max(initial=1.0)), 1.0), math.inf


class Newton(Method):
    """Damped Newton: Cholesky of the symbolic Hessian, Armijo backtracking from the full step."""

    name = "newton"
    needs = "hessian"
    armijo = 1e-4

    def run(self, problem, theta, settings, monitor):
        if not problem.has_hessian:
            raise SymcalcError(
                f"newton needs the Hessian, which the {problem.name} model does not form; "
                "use trust-ncg (Hessian-vector products) or lbfgs"
            )
        monitor.learning_rate = 1.0
        monitor.divergence_hint = ""
        loss, gradient = problem.value_and_gradient(theta)
        monitor.start(theta, loss, gradient)
        shifted = 0
        null = problem.null_directions() if hasattr(problem, "null_directions") else None
        solved: list[Any] = [None, None, 0.0]  # θ's bytes, its Newton step and shift
        clear: list[bool] = []  # per solve: whether H factored with clear pivots

        def solve(theta: np.ndarray, gradient: np.ndarray) -> tuple[np.ndarray, float]:
            if solved[0] != theta.tobytes():
                step = newton_step(problem.hessian(theta), gradient, null, clear)
                solved[:] = [theta.tobytes(), *step]
                monitor.hessian_regular = all(clear)
            return solved[1], solved[2]

        certified = getattr(problem, "softmax_gap", None)

        def confirm(value: float) -> str:
            """Nothing when ½gᵀH⁻¹g ≤ `Monitor.decrement_bound`, else why not.  A softmax
            fit with a penalty first tries the certified bound on J − J*
            (`Preconditioned.softmax_gap`: two softmax passes and one product with X),
            which spares the last Hessian where it holds."""
            bound = monitor.decrement_bound(value)
            if certified is not None and solved[0] != theta.tobytes():
                with np.errstate(over="ignore", invalid="ignore"):
                    if certified(theta, gradient, bound) is not None:
                        return ""
            step, _ = solve(theta, gradient)
            decrement = -0.5 * float(gradient @ step)
            if decrement <= bound:
                return ""
            return _still_above(decrement, value, "=")

        monitor.confirm = confirm
        # no certified stop (`Monitor.certify`): Newton's next step, quadratically
        # convergent, gives θ to full precision for one Hessian; stopping a step early
        # left θ 2.7e-7 (relative) from θ* on logistic with λ = 1e-3
        monitor.certify = None
        with np.errstate(over="ignore", invalid="ignore"):
            while True:
                step, shift = solve(theta, gradient)
                if shift:
                    shifted += 1
                    monitor.notes[:] = [f"{shifted} regularized Newton solves (singular Hessian)"]
                found = damped_step(problem, theta, loss, gradient, step, self.armijo)
                if found is None:
                    monitor.stall("no Newton step lowers J at float precision")
                t, theta, loss, gradient = found
                monitor.record(theta, loss, gradient, t)


def damped_step(
    problem: Any,
    theta: np.ndarray,
    loss: float,
    gradient: np.ndarray,
    step: np.ndarray,
    armijo: float = 1e-4,
) -> tuple[float, np.ndarray, float, np.ndarray] | None:
    """(t, θ + t·s, J, ∇J) for the first t in 1, ½, ¼, ... that passes Armijo's test, or
    that halves ‖∇J‖ where the decrease is below the rounding of J; None below t = 1e-12.

    Near the optimum J − J* ≈ ½gᵀH⁻¹g falls below J's rounding long before ‖∇J‖ meets a
    relative tolerance (a large penalty: λ = 1e4 makes H⁻¹ tiny), and only the gradient
    can still tell a better iterate.  A step that is not one of descent (rounding at the
    optimum) is replaced by −∇J.
    """
    eps = np.finfo(float).eps
    slope = float(gradient @ step)
    if not slope < 0:
        step, slope = -gradient, -float(gradient @ gradient)
    t = 1.0
    while t >= 1e-12:
        trial = theta + t * step
        value, trial_gradient = problem.value_and_gradient(trial)
        if accepts(value, loss, armijo * t * slope):
            return t, trial, value, trial_gradient
        resolution = 16 * eps * max(abs(loss), 1e-300)
        if (
            math.isfinite(value)
            and value <= loss + resolution
            and norm(trial_gradient) <= 0.5 * norm(gradient)
        ):
            return t, trial, value, trial_gradient
        t *= 0.5
    return None


def accepts(value: float, loss: float, decrease: float) -> bool:
    """Armijo's test J(θ + tp) ≤ J(θ) + c·t·∇Jᵀp, with J lowered for real.

    When c·t·∇Jᵀp is below the rounding of J, ``loss + decrease`` rounds to ``loss`` and
    a step that leaves J unchanged (θ + tp == θ for a tiny t) would pass; it must not,
    or a run makes no progress until max_iter (float32 data, a huge offset).
    """
    return math.isfinite(value) and value <= loss + decrease and value < loss


# -- SciPy's quasi-Newton and Newton-CG ------------------------------------------------------


class _Cache:
    """J and ∇J at the last few points SciPy asked for (its callbacks only pass θ)."""

    def __init__(self, problem: Any):
        self.problem = problem
        self.entries: list[tuple[bytes, float, np.ndarray]] = []

    def __call__(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        key = np.asarray(theta, dtype=float).tobytes()
        for stored, value, gradient in self.entries:
            if stored == key:
                return value, gradient
        with np.errstate(over="ignore", invalid="ignore"):
            value, gradient = self.problem.value_and_gradient(np.array(theta, dtype=float))
        self.entries = [*self.entries[-3:], (key, value, gradient)]
        return value, gradient

    def fun(self, theta: np.ndarray) -> tuple[float, np.ndarray]:
        value, gradient = self(theta)
        if not math.isfinite(value):  # SciPy's line searches back off from inf
            return math.inf, np.zeros_like(gradient)
        return value, gradient.copy()


class SciPyMethod(Method):
    """``scipy.optimize.minimize(method=...)`` with symcalc's J, ∇J (and ∇²J·v), stopped by
    symcalc's monitor from the callback (SciPy's own tolerances are set to 0).

    SciPy sees θ' in units of `unit` (x = θ'/unit, f(x) = J(unit·x)/unit): the gradient
    is the same numbers, the Hessian unit times larger; a power of two, so the change
    rounds nothing.  1 except where a method compares curvature to an absolute constant.
    """

    scipy_name = ""
    needs = "gradient"
    unit = 1.0

    def options(self, settings: Settings, monitor: Monitor) -> dict:
        return {"maxiter": monitor.max_iter + 10}

    def extra(self, problem: Any) -> dict:
        return {}

    def run(self, problem, theta, settings, monitor):
        cache = self.start(problem, theta, monitor)
        try:
            message = self.minimize(problem, theta, settings, monitor, cache)
        except Stop as stop:
            if not _newton_may_settle(problem, monitor, stop):
                raise
            # the gradient met tol but the decrement did not, for 10× the iterations it
            # took: Newton steps, not more of the same (L-BFGS on 6 samples × 10 features,
            # λ = 1e-12, crawled 176 iterations and stopped 0.9 % above J*)
            monitor.unsettled_at = monitor.iteration
            finish(problem, monitor, stop.message)
        finish(problem, monitor, f"{self.scipy_name} stopped: {message}")

    @staticmethod
    def start(problem: Any, theta: np.ndarray, monitor: Monitor) -> _Cache:
        """The run's first evaluation, recorded: the cache SciPy's calls then share."""
        cache = _Cache(problem)
        loss, gradient = cache(theta)
        monitor.start(theta, loss, gradient)
        monitor.learning_rate = 0.0
        return cache

    def minimize(
        self, problem: Any, theta: np.ndarray, settings: Settings, monitor: Monitor, cache: _Cache
    ) -> str:
        """SciPy's method from ``theta``, each iterate recorded (the monitor raises `Stop`
        when it is done); returns SciPy's message if SciPy stops first."""
        import scipy.optimize

        unit, scale = self.unit, _objective_scale(cache(theta)[1])
        previous = [np.array(theta, dtype=float)]

        def fun(x):
            value, gradient = cache.fun(x * unit)
            return value * scale / unit, gradient * scale

        def callback(xk):
            theta = xk * unit
            value, g = cache(theta)
            step = float(np.linalg.norm(theta - previous[0]))
            previous[0] = theta
            monitor.record(theta, value, g, step)

        extra = self.extra(problem)
        if "hessp" in extra and (unit != 1.0 or scale != 1.0):
            hessp = extra["hessp"]
            extra["hessp"] = lambda x, v: hessp(x * unit, v) * (unit * scale)

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", scipy.optimize.OptimizeWarning)
            result = scipy.optimize.minimize(
                fun if unit != 1.0 or scale != 1.0 else cache.fun,
                np.array(theta, dtype=float) / unit,
                jac=True,
                method=self.scipy_name,
                callback=callback,
                options=self.options(settings, monitor),
                **extra,
            )
        message = result.message if isinstance(result.message, str) else str(result.message)
        return message.lower().rstrip(".")


#: A starting gradient whose norm lies outside [2⁻³², 2³²] is handed to SciPy divided by a
#: power of two near it (`_objective_scale`).
SCIPY_GRADIENT_RANGE = 32


def _objective_scale(gradient: np.ndarray) -> float:
    """1, or 2⁻ᵉ with 2ᵉ near ‖∇J(θ₀)‖ where that lies outside 2^±`SCIPY_GRADIENT_RANGE`:
    SciPy then sees c·J, c·∇J and c·∇²J·v, the same problem (a power of two rounds
    nothing) at a gradient near 1.  SciPy's inner solvers compare to absolute numbers: at
    a least-squares target near 1e-140 (‖∇J‖ ≈ 4e-140) trust-ncg's trust-region boundary
    solve divided 0 by 0 and the run stopped at θ = 0 after max_iter."""
    with np.errstate(over="ignore", invalid="ignore"):
        norm = float(np.linalg.norm(gradient))
    if not (math.isfinite(norm) and norm > 0):
        return 1.0
    exponent = math.frexp(norm)[1]
    if abs(exponent) <= SCIPY_GRADIENT_RANGE:
        return 1.0
    return math.ldexp(1.0, -exponent)


def _still_above(decrement: float, value: float, relation: str) -> str:
    """Why a decrement does not confirm convergence at J = ``value`` (``relation``: "=" for
    Newton's exact one, "≥" for the lower bound of conjugate gradients)."""
    return (
        f"the Newton decrement ½gᵀH⁻¹g {relation} {decrement:.3g} says J is still "
        f"{decrement / max(abs(value), 1e-300):.2g} (relative) above its minimum"
    )


def cg_decrement(
    product: Callable[[np.ndarray], np.ndarray],
    gradient: np.ndarray,
    above: float,
    limit: int,
    null: np.ndarray | None = None,
    floor: float | None = None,
    precondition: Callable[[np.ndarray], np.ndarray] | None = None,
) -> float:
    """½gᵀH⁻¹g from below: conjugate gradients on H·s = −g from s = 0, whose ½gᵀs_k
    grows with k towards it; stops once past ``above``, at residual 1e-3·‖g‖, on a
    direction of no curvature (as in `cg_step`), or after ``limit`` products H·v.
    Residuals are kept off the ``null`` directions: the rounding of g there, over a
    curvature of 1e-30, made a decrement of 1e-9 out of a gradient of 1e-16.

    With ``floor``, a lower bound on H's eigenvalues, the decrement is at most the
    bound so far plus ½‖r‖²/floor (r the residual): once that is within ``above`` the
    check stops and returns it (an upper bound, so within ``above`` for certain).

    With ``precondition`` (r ↦ M⁻¹r, M symmetric positive definite) the iteration is
    preconditioned conjugate gradients: s_k is still the minimizer of ½sᵀHs + gᵀs over
    a growing subspace (of M⁻¹H's Krylov space), so ½gᵀs_k = ½Σ α_i r_iᵀM⁻¹r_i still
    grows towards ½gᵀH⁻¹g from below; r_k is still the true residual −g − H·s_k, so
    the stopping tests and the ``floor`` bound read it as before."""

    project = _off(null)
    b = project(-np.asarray(gradient, dtype=float))
    start = float(b @ b)
    if floor and 0.5 * start / floor <= above:
        return 0.5 * start / floor
    decrement = 0.0
    for alpha, _, rz, following in _conjugate_gradients(product, b, limit, project, precondition):
        decrement += 0.5 * alpha * rz  # ½bᵀs_k = ½Σ α_i r_iᵀM⁻¹r_i (M = I: ‖r_i‖²)
        if decrement > above or following <= 1e-6 * start:
            break
        if floor and decrement + 0.5 * following / floor <= above:
            return decrement + 0.5 * following / floor
    return decrement


def _off(null: np.ndarray | None) -> Callable[[np.ndarray], np.ndarray]:
    """v without its components along the orthonormal columns of ``null`` (if any)."""
    return lambda v: v if null is None else v - null @ (null.T @ v)


def _conjugate_gradients(
    product: Callable[[np.ndarray], np.ndarray],
    b: np.ndarray,
    limit: int,
    project: Callable[[np.ndarray], np.ndarray],
    precondition: Callable[[np.ndarray], np.ndarray] | None = None,
) -> Iterator[tuple[float, np.ndarray, float, float]]:
    """Conjugate gradients on H·s = b from s = 0: each step's (α, direction p, rᵀz
    before, ‖r‖² after) with z = M⁻¹r (``precondition``; z = r without it);
    s_k = Σ α·p.  Ends on a direction of no curvature (pᵀHp ≤ 1e-12·‖p‖² times the
    largest seen), where rᵀz is not positive (M not positive definite to rounding), or
    after ``limit`` products H·p."""

    def solve(r: np.ndarray) -> np.ndarray:
        return r.copy() if precondition is None else project(precondition(r))

    r = b.copy()
    p = solve(r)
    rz, largest = float(r @ p), 0.0
    for _ in range(limit):
        if not (rz > 0 and math.isfinite(rz)):
            return
        Hp = project(product(p))
        curvature = float(p @ Hp)
        ratio = curvature / float(p @ p)
        largest = max(largest, ratio) if math.isfinite(ratio) else largest
        if not (curvature > 0 and math.isfinite(curvature) and ratio > 1e-12 * largest):
            return
        alpha = rz / curvature
        r -= alpha * Hp
        following = float(r @ r)
        yield alpha, p, rz, following
        z = r if precondition is None else solve(r)
        following_rz = following if precondition is None else float(r @ z)
        p = z + (following_rz / rz) * p
        rz = following_rz


#: Hessian-vector products the conjugate-gradient decrement check may take.
CG_DECREMENT_PRODUCTS = 100


def _small_hessian(problem: Any) -> bool:
    """Whether one Hessian and its Cholesky take at most `NEWTON_SMALL_OPERATIONS`."""
    m, n = float(getattr(problem, "n_samples", math.inf)), problem.n_parameters
    return (m + n / 3) * n * n <= NEWTON_SMALL_OPERATIONS


def _exact_hessian_affordable(problem: Any) -> bool:
    """Whether one symbolic Hessian costs no more gradient passes than the products
    conjugate gradients may take (two passes each) and no more than `NEWTON_MAX_COST`, or
    is small (`NEWTON_SMALL_OPERATIONS`)."""
    n = problem.n_parameters
    limit = min(n, CG_DECREMENT_PRODUCTS)
    return (
        problem.has_hessian
        and n <= NEWTON_MAX_PARAMETERS
        and (
            float(getattr(problem, "hessian_cost", math.inf)) <= min(2 * limit, NEWTON_MAX_COST)
            or _small_hessian(problem)
        )
    )


def block_jacobi(problem: Any, theta: np.ndarray) -> Callable[[np.ndarray], np.ndarray] | None:
    """r ↦ M⁻¹r with M the diagonal blocks of ∇²J(θ) (`diagonal_blocks`: softmax's
    classes), or None where the problem has none or a block is not positive definite.

    M is symmetric positive definite, so preconditioned conjugate gradients keep their
    lower bound on the decrement (`cg_decrement`).  On softmax, digits (K = 10, 650
    parameters, λ = 1e-4), the check took 79 products without it and 37 with it; the
    blocks cost K Gram products (5 ms, about 20 products' worth) and K(p+1)² numbers
    (338 KiB: peak memory 1.32 → 1.51 × X)."""
    finder = getattr(problem, "diagonal_blocks", None)
    blocks = None if finder is None else finder(theta)
    if blocks is None or blocks.shape[0] * blocks.shape[1] != problem.n_parameters:
        return None
    import scipy.linalg.lapack

    units, width = blocks.shape[0], blocks.shape[1]
    inverses = blocks  # each block is replaced by its inverse: no second K × (p+1)² array
    for inverse in inverses:
        factor, info = scipy.linalg.lapack.dpotrf(inverse, lower=1)
        if info != 0:  # not positive definite
            return None
        lower, info = scipy.linalg.lapack.dpotri(factor, lower=1, overwrite_c=1)  # M⁻¹
        if info != 0:
            return None
        lower = np.tril(lower)  # the lower triangle is M⁻¹'s
        np.add(lower, lower.T, out=inverse)  # the whole of M⁻¹, exactly symmetric
        inverse.flat[:: width + 1] *= 0.5
    if not np.isfinite(inverses).all():
        return None

    def apply(r: np.ndarray) -> np.ndarray:
        return np.matmul(inverses, r.reshape(units, width, 1)).reshape(-1)

    return apply


def decrement_check(problem: Any, monitor: Monitor) -> Callable[[float], str]:
    """`Monitor.confirm` for any optimizer on a convex ``problem`` with Hessian-vector
    products: at the monitor's last iterate, "" when ½gᵀH⁻¹g is within
    `Monitor.decrement_bound`, else why not.

    The decrement is exact (`newton_step` on the symbolic Hessian) where one Hessian
    costs no more gradient passes than the products conjugate gradients may take (two
    passes each) and no more than `NEWTON_MAX_COST`, or where it is small
    (`NEWTON_SMALL_OPERATIONS`): where ``auto`` would form it (above, its scratch passes
    the memory target on large data); else `cg_decrement`, a lower bound, from at most
    `CG_DECREMENT_PRODUCTS` products, unless the problem certifies J − J* within the
    bound itself (`Preconditioned.softmax_gap`: softmax with a penalty, where no
    curvature floor serves the conjugate gradients).  The lower bound can miss a J
    still 1e-8 above its minimum on a nearly singular Hessian (softmax with λ = 1e-12
    on 12 samples), where CG stops at its residual long before it has seen the small
    eigenvalues.
    """
    limit = min(problem.n_parameters, CG_DECREMENT_PRODUCTS)
    # a softmax fit with a penalty: J − J* bounded from the weights' penalty and the
    # intercepts' curvature (two softmax passes and one product with X; digits' check
    # by conjugate gradients took 37 products and the block-Jacobi blocks)
    certified = getattr(problem, "softmax_gap", None)
    known: list[Any] = []  # (exact, null), found at the first check (Newton sets its own)

    def confirm(value: float) -> str:
        _, theta, gradient = monitor.last
        bound = monitor.decrement_bound(value)
        if not known:
            null = problem.null_directions() if hasattr(problem, "null_directions") else None
            known.extend((_exact_hessian_affordable(problem), null))
        exact, null = known
        with np.errstate(over="ignore", invalid="ignore"):
            if exact:
                step, _ = newton_step(problem.hessian(theta), gradient, null)
                decrement = -0.5 * float(gradient @ step)
            else:
                floor = (
                    problem.curvature_floor(theta) if hasattr(problem, "curvature_floor") else None
                )
                if not floor and certified is not None:
                    if certified(theta, gradient, bound) is not None:
                        return ""  # J − J* itself is certified within the bound (softmax)
                decrement = cg_decrement(
                    lambda v: problem.hessian_vector(theta, v),
                    gradient,
                    bound,
                    limit,
                    null,
                    floor,
                    None if floor else block_jacobi(problem, theta),
                )
        if not decrement > bound:
            return ""
        return _still_above(decrement, value, "=" if exact else "≥")

    return confirm


class LBFGS(SciPyMethod):
    """SciPy's L-BFGS-B (10 correction pairs) on symcalc's J and ∇J."""

    name = "lbfgs"
    scipy_name = "L-BFGS-B"

    def options(self, settings, monitor):
        return {
            "maxiter": monitor.max_iter + 10,
            "maxfun": 50 * (monitor.max_iter + 10),
            "gtol": 0.0,
            "ftol": 0.0,
            "maxcor": 10,
        }


def _hessp(problem: Any) -> dict:
    """SciPy's ``hessp`` argument: the derived ∇²J(θ)·v."""

    def hessp(theta, v):
        with np.errstate(over="ignore", invalid="ignore"):
            return problem.hessian_vector(np.asarray(theta, dtype=float), v)

    return {"hessp": hessp}


class TrustNCG(SciPyMethod):
    """SciPy's trust-region Newton-CG with the symbolically derived Hessian-vector product."""

    name = "trust-ncg"
    scipy_name = "trust-ncg"
    needs = "hessian_vector"

    def options(self, settings, monitor):
        return {"maxiter": monitor.max_iter + 10, "gtol": 0.0}

    def extra(self, problem):
        return _hessp(problem)


class NewtonCG(SciPyMethod):
    """SciPy's line-search Newton-CG with the derived Hessian-vector product.

    The algorithm scikit-learn's ``newton-cg`` solver runs (its own copy of SciPy's):
    each step solves ∇²J·s = −∇J by conjugate gradients to the residual
    min(½, √‖g‖₁)·‖g‖₁, then a Wolfe line search.  On digits (650 parameters) 180
    Hessian-vector products where trust-ncg, whose inner solves stop at the tighter
    min(½, √‖g‖₂)·‖g‖₂ and at its trust region, takes 320.

    SciPy also ends a solve when the curvature pᵀ∇²J p ≤ 3ε, an absolute number
    (scikit-learn's copy made it relative): near the optimum, ‖∇J‖ ≈ 1e-7 on digits,
    every direction passes it, and SciPy stops short of symcalc's tolerance.  So SciPy
    works in units of 2³² (`SciPyMethod.unit`): the same gradients, the Hessian 2³²
    times larger, and the test sees only directions of no curvature.  If SciPy still
    stops first (a line search that fails at rounding level), trust-ncg takes the last
    steps from the best iterate.
    """

    name = "newton-cg"
    scipy_name = "Newton-CG"
    needs = "hessian_vector"
    unit = 2.0**32

    def options(self, settings, monitor):
        return {"maxiter": monitor.max_iter + 10, "xtol": 0.0}

    def extra(self, problem):
        return _hessp(problem)

    def run(self, problem, theta, settings, monitor):
        cache = self.start(problem, theta, monitor)
        message = self.minimize(problem, theta, settings, monitor, cache)
        monitor.notes.append(
            f"Newton-CG (SciPy) stopped ({message}); trust-ncg took the last steps"
        )
        finisher = OPTIMIZERS["trust-ncg"]
        message = finisher.minimize(problem, monitor.best_theta, settings, monitor, cache)
        finish(problem, monitor, f"trust-ncg stopped: {message}")


def _newton_may_settle(problem: Any, monitor: Monitor, stop: Stop) -> bool:
    """Whether ``stop`` is the monitor giving up on an unsettled decrement (the gradient
    met tol, ½gᵀH⁻¹g did not confirm it) on a convex model with second derivatives,
    where `finish`'s Newton steps can settle it."""
    return (
        stop.reason == "loss_change"
        and bool(monitor.unsettled)
        and getattr(problem, "convex", False)
        and getattr(problem, "has_hessian", False)
    )


#: Newton steps `finish` takes at most (each halves ‖∇J‖ at least, or lowers J).
FINISH_STEPS = 30


def finish(problem: Any, monitor: Monitor, why: str) -> None:
    """A SciPy method stopped short of the tolerance (``why``): on a convex model with
    second derivatives, Newton steps from the best iterate take over, each accepted by
    `damped_step` (a lower J, or a halved gradient where J is flat to its rounding),
    until the monitor stops the run; else, or when no step helps, stop ``loss_change``.

    SciPy's line searches judge steps by J alone, and near the optimum J's change can
    fall below its rounding while ‖∇J‖ is still above tol: L-BFGS-B stopped "no
    reduction" on softmax 20,000 × 2, K = 11, λ = 1e4 with ‖∇J‖ 11× tol·‖∇J(θ₀)‖.  The
    step is exact (the symbolic Hessian) where `decrement_check` forms it, else
    conjugate gradients on Hessian-vector products.
    """
    if not (getattr(problem, "convex", False) and getattr(problem, "has_hessian", False)):
        monitor.stall(why)
    exact = _exact_hessian_affordable(problem)
    null = problem.null_directions() if hasattr(problem, "null_directions") else None
    theta = np.array(monitor.best_theta, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        loss, gradient = problem.value_and_gradient(theta)
        for _ in range(FINISH_STEPS):
            if exact:
                step, _ = newton_step(problem.hessian(theta), gradient, null)
            else:
                step = cg_step(
                    lambda v, at=theta: problem.hessian_vector(at, v),
                    gradient,
                    min(problem.n_parameters, FINISH_PRODUCTS),
                    null,
                )
            found = damped_step(problem, theta, loss, gradient, step)
            if found is None:
                break
            t, theta, loss, gradient = found
            if not monitor.notes or not monitor.notes[-1].startswith("Newton steps"):
                monitor.notes.append("Newton steps from the best iterate took over")
            monitor.record(theta, loss, gradient, t)
    monitor.stall(f"{why}; Newton steps from the best iterate did not settle it")


#: Hessian-vector products one conjugate-gradient step of `finish` may take.
FINISH_PRODUCTS = 200


def cg_step(
    product: Callable[[np.ndarray], np.ndarray],
    gradient: np.ndarray,
    limit: int,
    null: np.ndarray | None = None,
) -> np.ndarray:
    """s with H·s ≈ −g: conjugate gradients from s = 0 to the residual 1e-8·‖g‖, stopped
    on a direction of no curvature (pᵀHp ≤ 1e-12·‖p‖² times the largest seen) or after
    ``limit`` products (−g if the first one).

    Residuals are kept off the ``null`` directions (orthonormal columns of exactly zero
    curvature): there rounding leaves curvature of 1e-30, and a step of 1e15 along them
    (softmax's common intercept) ruined J's accuracy while seeming to lower it.
    """

    project = _off(null)
    b = project(-np.asarray(gradient, dtype=float))
    s = np.zeros_like(b)
    target = 1e-16 * float(b @ b)
    for alpha, p, _, following in _conjugate_gradients(product, b, limit, project):
        s += alpha * p
        if following <= target:
            break
    return s if s.any() else b


def schedule(name: str, alpha: float, step: int, per_epoch: int, total: int) -> float:
    """α_t of a schedule in `SCHEDULES`.

    Examples
    --------
    >>> [round(schedule("cosine", 1.0, t, 10, 100), 3) for t in (0, 50, 100)]
    [1.0, 0.5, 0.0]
    >>> schedule("inverse", 1.0, 10, 10, 100)
    0.5
    """
    if name == "constant":
        return alpha
    if name == "inverse":
        return alpha / (1.0 + step / max(per_epoch, 1))
    return alpha * 0.5 * (1.0 + math.cos(math.pi * min(step, total) / max(total, 1)))


class SGD(Method):
    """Minibatch SGD over a `symcalc.learn.streaming.MinibatchProblem`.

    θ ← θ − α_t ∇J_B(θ) for each shuffled minibatch B; α₀ is the given learning rate or
    1/L with L the Lipschitz bound of ∇J on the first block (the safe full-batch step),
    and α_t follows the schedule.  The monitor sees one record per epoch: the mean
    minibatch gradient over that epoch and J averaged over every 8th minibatch
    (estimates; the exact J and ∇J come from one pass at the end).
    """

    name = "sgd"
    needs = "gradient"
    #: J is evaluated on every this-many-th minibatch (the gradient on all of them).
    loss_every = 8

    def run(self, problem, theta, settings, monitor):
        if not hasattr(problem, "epoch"):
            raise SymcalcError("sgd reads minibatches; call descend(model, data, optimizer='sgd')")
        rng = np.random.default_rng(settings.seed)
        per_epoch = max(1, -(-problem.n_rows // settings.batch_size))
        total = per_epoch * settings.epochs
        if settings.learning_rate is not None:
            alpha0, origin = float(settings.learning_rate), "learning rate as given"
        else:
            alpha0 = 1.0 / problem.lipschitz(theta, settings.seed)
            origin = "learning rate 1/L, L the Lipschitz bound of ∇J on the first block"
        monitor.learning_rate = alpha0
        monitor.notes.append(
            f"{origin}; schedule {settings.schedule}: {SCHEDULES[settings.schedule]}"
        )
        monitor.divergence_hint = _minibatch_rate_hint(problem, theta.copy(), alpha0, settings)
        step = 0
        alpha = alpha0
        with np.errstate(over="ignore", invalid="ignore"):
            for _ in range(settings.epochs):
                loss_sum, loss_rows = 0.0, 0
                gradient_sum, rows = np.zeros(problem.n_parameters), 0
                for batch in problem.epoch(rng):
                    k = batch.n_samples
                    if step % self.loss_every == 0:  # J sampled on every 8th minibatch
                        loss, gradient = batch.value_and_gradient(theta)
                        loss_sum += loss * k
                        loss_rows += k
                    else:
                        gradient = batch.gradient(theta)
                    if step == 0:
                        monitor.start(theta, loss, gradient)
                    if not np.isfinite(gradient).all():
                        monitor.record(theta, math.nan, gradient, alpha)
                    gradient_sum += gradient * k
                    rows += k
                    alpha = schedule(settings.schedule, alpha0, step, per_epoch, total)
                    theta -= alpha * gradient
                    step += 1
                monitor.record(theta, loss_sum / max(loss_rows, 1), gradient_sum / rows, alpha)
        monitor.steps_taken = step
        raise Stop(
            "epochs",
            f"ran {settings.epochs} epoch{'s' if settings.epochs != 1 else ''} ({step} minibatch "
            f"steps of {settings.batch_size} rows)",
        )


#: The optimizers, by the name ``descend(optimizer=...)`` takes.
OPTIMIZERS: Mapping[str, Method] = MappingProxyType(
    {
        "newton": Newton(),
        "lbfgs": LBFGS(),
        "trust-ncg": TrustNCG(),
        "newton-cg": NewtonCG(),
        "gd": FirstOrder(GradientDescent),
        "momentum": FirstOrder(Momentum),
        "nesterov": FirstOrder(Nesterov),
        "adam": FirstOrder(Adam),
        "line-search": FirstOrder(LineSearchRule),
        "sgd": SGD(),
    }
)

#: The first-order rules (the textbook loop and its classic refinements).
FIRST_ORDER = ("gd", "momentum", "nesterov", "adam", "line-search")


def choose(
    objective: Any, *, streamed: str = "", learning_rate: float | None = None
) -> tuple[str, str]:
    """The optimizer ``auto`` picks for ``objective``, and why (one sentence).

    ``streamed`` describes data that do not fit in memory (then SGD, reading chunks); a
    ``learning_rate`` asks for the textbook update (then gd).

    Examples
    --------
    >>> from symcalc.learn.data import load_data
    >>> from symcalc.learn.models import make_model
    >>> name, reason = choose(make_model("mlp").objective(load_data("synthetic:moons")))
    >>> name, reason.split(":")[0]
    ('lbfgs', '42 parameters, not convex')
    """
    n = objective.n_parameters
    if streamed:
        return "sgd", f"{streamed}: minibatch SGD reads it chunk by chunk"
    if learning_rate is not None:
        return "gd", "a learning rate was given: the textbook update θ ← θ − α∇J"
    where = (
        " (each iteration one pass over the dask chunks)"
        if type(getattr(objective, "X", None)).__module__.split(".")[0] == "dask"
        else ""
    )
    cost = float(getattr(objective, "hessian_cost", 1.0))
    if objective.has_hessian and n <= NEWTON_MAX_PARAMETERS and cost <= NEWTON_MAX_COST:
        return "newton", (
            f"{n} parameters ≤ {NEWTON_MAX_PARAMETERS} and a convex model with a symbolic "
            f"Hessian: Newton's method ({n} × {n} Cholesky per step) converges in a handful "
            f"of iterations{where}"
        )
    if objective.has_hessian and n <= NEWTON_MAX_PARAMETERS and _small_hessian(objective):
        return "newton", (
            f"{n} parameters on {objective.n_samples} samples: one Hessian and its Cholesky "
            f"take about (m + n/3)·n² ≤ {NEWTON_SMALL_OPERATIONS:.0e} operations "
            f"(milliseconds), and Newton's method converges in a handful of iterations{where}"
        )
    if objective.has_hessian and n <= NEWTON_MAX_PARAMETERS:
        return "newton-cg", (
            f"{n} parameters, but one exact Hessian costs about {cost:.0f} gradient passes "
            f"(> {NEWTON_MAX_COST}): Newton-CG (SciPy) with the symbolic Hessian-vector "
            f"product takes Newton's few steps without forming it{where}"
        )
    if objective.has_hessian:
        return "newton-cg", (
            f"{n} parameters > {NEWTON_MAX_PARAMETERS}: Newton-CG (SciPy) with the symbolic "
            f"Hessian-vector product, never forming the {n} × {n} Hessian{where}"
        )
    if objective.convex:
        return "lbfgs", (
            f"{n} parameters, a loss without curvature to use: L-BFGS (SciPy) on the derived "
            f"gradient{where}"
        )
    return "lbfgs", (
        f"{n} parameters, not convex: L-BFGS (SciPy) on the derived gradient; its line "
        "search handles the curvature of a network"
    )
