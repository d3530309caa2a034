"""When a descent stops: the scale-aware tolerance, divergence, separable classes, best iterate.

Every optimizer of `symcalc.learn.optimizers` reports each iterate to a `Monitor`,
which keeps the history, remembers the best iterate seen, and ends the run by raising
`Stop` with a reason from `STOP_REASONS`:

``gradient_norm``
    converged: the gradient, measured in standardized units (the coordinates θ' of
    `symcalc.learn.scaling`, where every feature has mean 0 and spread 1), has fallen
    to a fraction ``tol`` of its size at the start:

        ‖∇_θ' J(θ)‖₂ ≤ tol · ‖∇_θ' J(θ₀)‖₂.

    The ratio does not change when the features are rescaled (θ' does not), when the
    target is (∇J at corresponding points scales alike), or when the objective is
    multiplied by a constant, so one ``tol`` means the same on every data set; it is
    the relative residual with which conjugate gradients stop on least squares.  Near
    the optimum J − J* ≈ ½ gᵀH⁻¹g, so the default tol = 1e-8 leaves J within about
    1e-16·κ of the optimum, relative to J(θ₀) − J* (κ the condition number in
    standardized units).  That can be far above J* itself (J* ≪ J(θ₀): nearly separable
    classes, fewer samples than features), so Newton also needs its decrement
    ½gᵀH⁻¹g ≈ J − J* to be at most 1e-10·J (times (tol/1e-8)², or 1e-24·J(θ₀) where
    J* = 0) before it calls the run converged (the other optimizers of a convex model
    by conjugate gradients on Hessian-vector products); until then it keeps stepping.
    On softmax with a penalty a certified bound on J − J* itself, within the same
    number, confirms instead where it holds (`Preconditioned.softmax_gap`: the weights'
    penalty and the intercepts' exact curvature), for every optimizer: it spares the
    conjugate gradients (digits: 37 products) or Newton's last Hessian.
``loss_bound``
    converged: J is certified within the same J tolerance Newton's decrement must meet,

        J(θ) − J* ≤ 1e-10·(tol/1e-8)²·|J(θ)|  (plus 1e-24·J(θ₀)),

    before the gradient has met ``tol``.  Checked for every optimizer but Newton (whose
    next step, quadratically convergent, gives θ to full precision for one Hessian), on
    the models whose penalty makes J
    strongly convex in standardized units (one output, ``l2`` > 0, squared error,
    logistic or log-cosh loss; `symcalc.learn.scaling.Preconditioned.certified_gap`):
    with f a lower bound on the eigenvalues of ∇²J on a ball around θ' that holds θ'*,
    J − J* ≤ ‖g‖²/(2f), and θ' is within ‖g‖/f of θ'* (standardized units; the message
    gives both numbers).  This is a bound, not an estimate: it says nothing about the
    gradient rule, and θ can be less accurate than the gradient rule would have made
    it (‖θ' − θ'*‖ ≤ ‖g‖/f instead of ≤ tol·‖∇J(θ₀)‖/f).  It ends L-BFGS on the
    10⁵ × 50 logistic benchmark after 9 of its 10 iterations, where J is 3e-14
    (relative) above J*.  A smaller ``tol`` asks for both a smaller gradient and a
    smaller J tolerance (its square), so ``tol`` keeps one meaning: how far from the
    optimum a run may stop.
``loss_change``
    the relative change of J fell to ``loss_tol`` (off unless given), or no step lowers
    J at floating-point precision any more.
``max_iter``
    the iteration limit.
``diverged``
    J stopped being a number, grew a thousandfold, or grew steadily (above its start
    and rising for `GROWTH_WINDOW` iterations in a row): the learning rate is too large.
``separable``
    a logistic or softmax model without penalty classifies every training sample right
    with a positive margin: then J(tθ) → 0 as t → ∞ while J > 0, so no finite θ
    minimizes J and the weights would grow forever; add an L2 penalty.  For softmax one
    class separated from all the others by a hyperplane is enough (J then falls, though
    not to 0, as that class's weights grow): θ's own rows are the certificate.
``epochs``
    minibatch SGD ran the requested number of passes over the data.

Whatever the reason, the result holds the best iterate seen (lowest J), never the last
one of a diverging run, and never NaN.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from ..errors import SymcalcError
from .scaling import Scaling

__all__ = [
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "DIVERGENCE_FACTOR",
    "GROWTH_WINDOW",
    "STOP_REASONS",
    "Monitor",
    "Stop",
]

#: Default iteration limit.
DEFAULT_MAX_ITER = 10_000
#: Default relative tolerance of the stopping rule (see the module docstring).
DEFAULT_TOL = 1e-8
#: Newton's convergence also needs its decrement ½gᵀH⁻¹g ≈ J − J* at most this times J
#: (at the default tol; J − J* goes as the gradient squared, so as tol²): a gradient 1e-8
#: of its start leaves J − J* ≈ 1e-16·κ·J(θ₀), far above J* itself where J* ≪ J(θ₀)
#: (nearly separable classes, fewer samples than features).
DECREMENT_TOL = 1e-10
#: ... or at most this times J(θ₀), where J* is 0 (least squares through every point: J
#: then ends at its rounding, up to about 1e-28·J(θ₀) on 30 × 30 with features 100 spreads
#: from 0).  So J is within 1e-9 of J* wherever J*/J(θ₀) ≥ 1.2e-15 (1e-20 allowed 5e-8 on
#: softmax with J* = 3e-13, J(θ₀) = 1.6).
DECREMENT_FLOOR = 1e-24
#: A run whose gradient met tol at iteration k but whose decrement did not gets until
#: iteration this·k + 50 to settle it (J and ∇J at the precision of the data).
UNSETTLED_BUDGET = 10
#: J above this factor times its starting value (or not finite) counts as divergence.
DIVERGENCE_FACTOR = 1e3
#: J above its start and rising this many iterations in a row counts as divergence.
GROWTH_WINDOW = 20

#: Why a run stopped, and what that means.
STOP_REASONS: Mapping[str, str] = MappingProxyType(
    {
        "gradient_norm": "the gradient (in standardized units) fell to tol times its start",
        "loss_bound": "J is certified within the J tolerance of its minimum (curvature floor)",
        "loss_change": "the relative change of the loss fell to loss_tol, or no step lowers it",
        "max_iter": "the iteration limit was reached",
        "diverged": "the loss grew without bound, grew steadily, or stopped being a number",
        "separable": "the classes are linearly separable: without a penalty J has no minimizer",
        "epochs": "minibatch SGD ran its epochs (passes over the data)",
    }
)


class Stop(Exception):  # noqa: N818 - a signal, not an error
    """Raised by the `Monitor` to end a run: ``reason`` (from `STOP_REASONS`) and a message."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason
        self.message = message


def norm(vector: np.ndarray) -> float:
    """‖v‖₂ without overflow for huge entries (inf only if an entry is not finite)."""
    flat = vector.reshape(-1)
    if flat.dtype == np.float64 and flat.flags.c_contiguous and flat.size:
        squares = _dot_product()(flat, flat)
    else:
        with np.errstate(over="ignore", invalid="ignore"):
            squares = float(np.dot(flat, flat))
    if _TINY < squares < _HUGE:  # no overflow, no underflow that matters: the plain formula
        return math.sqrt(squares)
    largest = float(np.max(np.abs(vector))) if vector.size else 0.0
    if largest == 0 or not math.isfinite(largest):
        return largest
    return largest * float(np.linalg.norm(vector / largest))


#: Between these, Σv² neither overflowed nor lost its accuracy to underflow.
_TINY, _HUGE = 1e-280, 1e300


@functools.cache
def _dot_product() -> Callable[[np.ndarray, np.ndarray], float]:
    """BLAS's ``ddot`` (SciPy's binding), looked up once: the numbers of ``np.dot`` on
    1-D float64 arrays (the same BLAS routine; checked bit for bit in the tests), but
    no floating-point status check afterwards, so no ``np.errstate`` around it.  A
    monitor takes two or three norms an iteration, and the context cost more than the
    dot: `norm` of 11 numbers took 7.3 µs with it, 1.9 µs without (a loaded machine),
    and a least-squares fit of 0.3-0.4 ms takes 8 norms."""
    import scipy.linalg.blas

    return scipy.linalg.blas.ddot


class Monitor:
    """Watches a run: history, best iterate, and every stopping rule.

    ``working`` says which coordinates the optimizer hands in: True for θ' of
    ``scaling`` (the gradient then is Tᵀ∇J), False for the user's θ.
    """

    def __init__(
        self,
        scaling: Scaling,
        *,
        working: bool,
        max_iter: int,
        tol: float,
        loss_tol: float | None = None,
        callback: Callable[[int, float, float], Any] | None = None,
        record_path: bool = False,
        separable: Callable[[np.ndarray], bool | str] | None = None,
        divergence_hint: str | Callable[[], str] = "",
        check_growth: bool = True,
    ):
        self.scaling = scaling
        self.working = working
        self.max_iter = max_iter
        self.tol = tol
        self.loss_tol = loss_tol
        self.callback = callback
        self.separable = separable
        self.divergence_hint = divergence_hint
        self.check_growth = check_growth
        self.iteration = 0
        self.losses: list[float] = []
        self.norms: list[float] = []
        self.steps: list[float] = []
        self.path: list[np.ndarray] | None = [] if record_path else None
        self.start_loss = math.nan
        self.start_gradient = math.nan
        self.best_loss = math.inf
        self.best_theta: np.ndarray | None = None
        self.best_gradient: np.ndarray | None = None
        self.best_optimality = math.inf
        self.rises = 0
        self.notes: list[str] = []
        #: Set by an optimizer that can bound J − J* (Newton): called with J when the
        #: gradient has met the tolerance, it returns "" to confirm or why not yet.
        self.confirm: Callable[[float], str] | None = None
        #: Set by Newton: True while every Hessian factored with clear pivots (full rank).
        self.hessian_regular = False
        #: Why the last iterate that met the gradient tolerance was not confirmed ("" if none).
        self.unsettled = ""
        self.recheck_below = math.inf
        self.unsettled_at = 0
        #: Set for a strongly convex problem in standardized coordinates: called with
        #: (θ', ∇J(θ'), allowed), it returns (a bound on J − J*, on ‖θ' − θ'*‖) where the
        #: first is at most ``allowed``, else None (`Preconditioned.certified_gap`).
        #: Said when a run gives up on an unsettled decrement (a first-order rule says why).
        self.unsettled_hint = "(J at the precision of the data?)"
        self.certify: Callable[[np.ndarray, np.ndarray, float], tuple[float, float] | None]
        self.certify = None
        self.certified = False
        self.certify_below = math.inf

    # -- measures ------------------------------------------------------------------------
    def user_theta(self, theta: np.ndarray) -> np.ndarray:
        return self.scaling.to_user(theta) if self.working else np.array(theta, dtype=float)

    def _gradients(self, gradient: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(gradient in the user's units, gradient in standardized units).

        A gradient that is not finite maps to one that is not finite, quietly: the callers
        check and stop with their own message (NumPy's matmul warns on some CPUs only).
        """
        with np.errstate(invalid="ignore", over="ignore"):
            if self.working:
                return self.scaling.gradient_to_user(gradient), np.asarray(gradient, dtype=float)
            return np.asarray(gradient, dtype=float), self.scaling.gradient_to_working(gradient)

    def scale(self, loss: float = math.nan) -> float:
        """‖∇_θ' J(θ₀)‖, the yardstick of the tolerance (never 0)."""
        return max(self.start_gradient, 1e-300)

    def optimality(self, loss: float, working_gradient: np.ndarray) -> float:
        """‖∇_θ' J(θ)‖ / ‖∇_θ' J(θ₀)‖: converged when at most tol."""
        if self.start_gradient == 0:
            return 0.0
        return norm(working_gradient) / self.scale()

    # -- events --------------------------------------------------------------------------
    def start(self, theta: np.ndarray, loss: float, gradient: np.ndarray) -> None:
        """Iteration 0; raises `Stop` when θ₀ already meets the tolerance."""
        user, working = self._gradients(gradient)
        size = norm(user)
        if not (math.isfinite(loss) and math.isfinite(size)):
            raise SymcalcError(
                "the objective is not finite at the starting point; check the data for extreme "
                "values or standardize them"
            )
        self.start_loss = float(loss)
        self.start_gradient = norm(working)
        self._append(theta, loss, size, 0.0)
        self._remember(theta, loss, user, working)
        self._check_tolerance(loss, working)

    def record(self, theta: np.ndarray, loss: float, gradient: np.ndarray, step: float) -> None:
        """One iteration done; raises `Stop` when a rule says so."""
        user, working = self._gradients(gradient)
        size = norm(user)
        previous = self.losses[-1]
        if not (math.isfinite(loss) and math.isfinite(size) and np.isfinite(theta).all()):
            self._diverged("stopped being a number", self.iteration + 1)
        self.iteration += 1
        measure = self.optimality(loss, working)
        self._append(theta, loss, size, step)
        self._remember(theta, loss, user, working, measure)
        if self.callback is not None:
            self.callback(self.iteration, float(loss), size)
        if loss > self.start_loss + DIVERGENCE_FACTOR * max(abs(self.start_loss), 1e-8):
            self._diverged(f"grew from {self.start_loss:.4g} to {loss:.4g}", self.iteration)
        self._check_tolerance(loss, working, measure)
        self._check_separable(theta)
        if self.loss_tol is not None:
            change = abs(loss - previous) / max(abs(loss), 1e-300)
            if change <= self.loss_tol:
                raise Stop(
                    "loss_change",
                    f"relative loss change {change:.3g} ≤ loss_tol {self.loss_tol:g}"
                    f" {self._not_yet(loss, working)}",
                )
        self.rises = self.rises + 1 if loss > previous else 0
        if self.check_growth and self.rises >= GROWTH_WINDOW and loss > self.start_loss:
            self._diverged(
                f"rose {self.rises} iterations in a row, from {self.start_loss:.4g} "
                f"(start) to {loss:.4g}",
                self.iteration,
            )
        if self.iteration >= self.max_iter:
            raise Stop(
                "max_iter", f"stopped at max_iter = {self.max_iter} {self._not_yet(loss, working)}"
            )

    def stall(self, why: str) -> None:
        """The optimizer can make no more progress: stop with reason ``loss_change``,
        unless the last iterate meets the tolerance and its decrement confirms it now
        (an unsettled check is otherwise repeated only once the gradient has fallen 4×,
        which a gradient at its rounding never does: Newton on 6 × 10 with λ = 1e-12
        stopped `loss_change` on a decrement of 1.2e-21 from the iterate before the
        last, where the last one's was 4.8e-30)."""
        if self.unsettled and self.confirm is not None:
            last_loss, _, last_gradient = self.last
            self.recheck_below = math.inf
            self._check_tolerance(last_loss, self._gradients(last_gradient)[1])
        loss = self.losses[-1]
        _, working = self._gradients(self.best_gradient)
        raise Stop("loss_change", f"{why} {self._not_yet(loss, working)}")

    # -- helpers -------------------------------------------------------------------------
    def _append(self, theta: np.ndarray, loss: float, size: float, step: float) -> None:
        self.losses.append(float(loss))
        self.norms.append(float(size))
        self.steps.append(float(step))
        if self.path is not None:
            self.path.append(self.user_theta(theta))

    def _remember(self, theta, loss, user, working, measure: float | None = None) -> None:
        theta = np.array(theta, dtype=float)
        self.last = (float(loss), theta, working if self.working else user)
        if loss <= self.best_loss:
            self.best_loss = float(loss)
            self.best_theta = theta
            self.best_gradient = np.array(working if self.working else user, dtype=float)
            self.best_optimality = self.optimality(loss, working) if measure is None else measure

    def _check_tolerance(
        self, loss: float, working: np.ndarray, measure: float | None = None
    ) -> None:
        if measure is None:
            measure = self.optimality(loss, working)
        if self.unsettled and self.iteration >= UNSETTLED_BUDGET * self.unsettled_at + 50:
            raise Stop(
                "loss_change",
                f"the gradient met tol at iteration {self.unsettled_at}, but "
                f"{self.unsettled}, and {self.iteration - self.unsettled_at} more iterations "
                f"did not settle it {self.unsettled_hint}",
            )
        if measure > self.tol and self.certify is not None and measure <= self.certify_below:
            self._check_certificate(loss, working, measure)
        if measure <= self.tol:
            if self.confirm is not None:
                if self.unsettled and measure > self.recheck_below:
                    return  # checked already: again once the gradient has fallen 4×
                why = self.confirm(loss)
                if why:
                    self.unsettled_at = self.unsettled_at if self.unsettled else self.iteration
                    self.unsettled = why
                    self.recheck_below = measure / 4
                    return
                self.unsettled = ""
            # The converged iterate is the answer (an earlier one may have a lower J only
            # by rounding): it becomes the best.
            self._last_is_best(measure)
            raise Stop(
                "gradient_norm",
                f"gradient norm {norm(working):.3g} (standardized units) ≤ tol·‖∇J(θ₀)‖ = "
                f"{self.tol:g}·{self.scale():.4g}",
            )

    def _last_is_best(self, measure: float) -> None:
        """The last iterate, converged, becomes the answer."""
        self.best_loss, self.best_theta, best_gradient = self.last
        self.best_gradient = np.array(best_gradient, dtype=float)
        self.best_optimality = measure

    def _check_certificate(self, loss: float, working: np.ndarray, measure: float) -> None:
        """Stop ``loss_bound`` where J − J* is certified within `decrement_bound`."""
        theta = self.last[1]
        found = self.certify(theta, working, self.decrement_bound(loss))
        if found is None:
            # tried (or ruled out by the cheap test): again once the gradient has halved
            self.certify_below = measure / 2
            return
        gap, distance = found
        self.certified = True
        self._last_is_best(measure)
        raise Stop(
            "loss_bound",
            f"J − J* ≤ {gap:.3g} = {gap / max(abs(loss), 1e-300):.2g}·|J| (certified by the "
            f"curvature floor; θ within {distance:.3g} of the minimizer in standardized units), "
            f"with gradient norm {norm(working):.3g} (standardized units) > tol·‖∇J(θ₀)‖ = "
            f"{self.tol:g}·{self.scale():.4g}",
        )

    def decrement_bound(self, loss: float) -> float:
        """The largest Newton decrement ½gᵀH⁻¹g that confirms convergence at J = ``loss``."""
        relative = DECREMENT_TOL * (self.tol / DEFAULT_TOL) ** 2
        return relative * abs(loss) + DECREMENT_FLOOR * abs(self.start_loss)

    @property
    def converged(self) -> bool:
        """Whether the best iterate met the tolerance (and, where checked, the J bound)."""
        return self.certified or (self.best_optimality <= self.tol and not self.unsettled)

    def _not_yet(self, loss: float, working: np.ndarray) -> str:
        if self.unsettled and self.optimality(loss, working) <= self.tol:
            return (
                f"with gradient norm {norm(working):.3g} (standardized units) ≤ tol·‖∇J(θ₀)‖ "
                f"= {self.tol:g}·{self.scale():.4g}, but {self.unsettled}"
            )
        return (
            f"with gradient norm {norm(working):.3g} (standardized units) > tol·‖∇J(θ₀)‖ = "
            f"{self.tol:g}·{self.scale():.4g}"
        )

    def _check_separable(self, theta: np.ndarray) -> None:
        k = self.iteration
        if self.separable is None or not (k & (k - 1) == 0 or k % 32 == 0):
            return
        found = self.separable(theta)
        if isinstance(found, tuple):
            names = ", ".join(f"'{c}'" for c in found)
            raise Stop(
                "separable",
                f"classes {names} together are linearly separable from the others: J keeps "
                "falling as their weights grow along the separating direction, so no finite "
                "θ minimizes J (the weights would grow forever); add an L2 penalty "
                "(`l2=0.01`) for a finite optimum",
            )
        if isinstance(found, str):
            raise Stop(
                "separable",
                f"class '{found}' is linearly separable from the others: J keeps falling as "
                "that class's weights grow along the separating direction, so no finite θ "
                "minimizes J (the weights would grow forever); add an L2 penalty (`l2=0.01`) "
                "for a finite optimum",
            )
        if found:
            raise Stop(
                "separable",
                "the classes are linearly separable: θ classifies every training sample right, "
                "so J(tθ) → 0 as t → ∞ and no finite θ minimizes J (the weights would grow "
                "forever); add an L2 penalty (`l2=0.01`) for a finite optimum",
            )

    def _diverged(self, what: str, iteration: int) -> None:
        hint = self.divergence_hint() if callable(self.divergence_hint) else self.divergence_hint
        hint = f"; {hint}" if hint else ""
        raise Stop(
            "diverged",
            f"diverged at iteration {iteration}: the loss {what}{hint}; θ is the best "
            f"iterate seen (J = {self.best_loss:.6g})",
        )
