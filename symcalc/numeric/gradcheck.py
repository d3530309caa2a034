"""Symbolic against numeric derivatives: does a claimed gradient match the function?

`gradcheck` has one mechanism for every case: a *function of a point* and a *claimed
derivative* at that point, compared with a numeric derivative of the function.

* ``gradcheck("tanh")``: the function is a catalog entry (or text, or a SymPy
  expression); the claim is its symbolic derivative kernel, for every continuous
  variable (each partial derivative of a loss).
* ``gradcheck("sigmoid", derivative="sigmoid(x)*(1 + sigmoid(x))")``: your own claim,
  as text, a SymPy expression or a vectorized callable of the variables.
* ``gradcheck(J, at=theta, derivative=grad_J)``: ``J`` is a Python function of a
  vector (``J(theta) = mean((X @ theta - y)**2)``) and ``grad_J`` the claimed
  gradient vector; each component is checked.

Points.  By default ``samples`` points drawn across the plot range, each variable inside
its declared domain, kept only where f is real and finite and the claim is finite
(``log(x)`` is checked at x > 0); failed draws are replaced (then wider ranges, then the
real domain SymPy finds under the time budget).  Points given with ``at`` where that
fails are listed in ``excluded_points`` with the reason and not counted; with none left
the check is refused (`SymcalcError`).

Numeric derivatives, each with an error estimate ``e``:

* ``"central"``: (f(x + h) - f(x - h))/2h at h = ε^(1/3)·max(1, |x|)·2^k, k = -8..3, the
  step whose estimated error is smallest; truncation is estimated from the quotients at
  the neighbouring steps, rounding from the values themselves.
* ``"richardson"``: Ridders' method (Numerical Recipes' ``dfridr``): a Richardson
  tableau of central differences at h = 0.1·max(1, |x|), h/2, ... h/2^13, the entry with
  the smallest estimated error (its distance from its neighbours in the tableau) wins,
  so a fast-varying function or a nearby pole picks small steps by itself; the result is
  cross-checked with the central one.
* ``"complex"``: Im f(x + ih)/h with h = 1e-20 (no cancellation; analytic functions only).

Rounding noise is measured, not assumed: the values at x + k·δ for a few ulps δ, minus
a parabola through them, show how much the evaluation itself scatters (the
argument of sin(x⁷) rounded costs millions of ulps); a step shorter than the domain's
end or a kink is never taken.

The verdict.  At each point, with ``scale = max(|claimed|, |numeric|)``, the point fails
when ``|claimed - numeric| > max(tolerance·scale, e)`` (where that fails, ``e`` also
holds the claim's own measured rounding noise).  So PASSED means: at every counted
point the claim agrees with the numeric derivative to the relative tolerance, or, where
the numeric derivative cannot be resolved that finely (``e > tolerance·scale``: f' tiny
next to f, as in erf's tails), to within the numeric error.  Those points are listed as
``unresolved_points`` and left out of ``max_rel_error``, but a claim farther off than
the numeric error still fails there, so a wrong derivative is not hidden by them.
FAILED means some point's discrepancy is larger than both the tolerance and the
estimated numeric error: the claim (or f's own evaluation) is off there.  The estimate
is an estimate, not a bound; on a corpus of random expressions checked against mpmath
at 50 digits the central and Richardson estimates cover the true error at every point.
Points within a few steps of a kink (``relu`` at 0, ``huber`` at |p - y| = δ) are
reported, not counted.

`study_steps` computes the data of the V-shaped "error against step size" curve at the
worst point; `symcalc.present.plotting.plot_step_errors` draws it.

Examples
--------
>>> check = gradcheck("tanh", method="richardson")
>>> check.passed, check.max_rel_error < 1e-10
(True, True)
>>> gradcheck("sigmoid", derivative="sigmoid(x)*(1 + sigmoid(x))").passed
False
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np
import sympy

from ..errors import SymcalcError
from ..hooks import png_of
from ..symbolic.catalog import Entry
from ..symbolic.functions import sigmoid

__all__ = ["METHODS", "GradientCheck", "StepStudy", "gradcheck", "study_steps"]

#: Numeric differentiation methods and their default relative tolerance.
METHODS: dict[str, float] = {"central": 1e-6, "richardson": 1e-8, "complex": 1e-10}

_EPS = float(np.finfo(float).eps)
_COMPLEX_STEP = 1e-20
_TINY = float(np.finfo(float).smallest_subnormal)
_RICHARDSON_LEVELS = 4  # the fixed-step Richardson of `study_steps`
#: Rounding error assumed for each function value, in ulps of the value: a composed kernel
#: loses a few (the argument of each outer function is itself rounded).
_VALUE_ULPS = 8.0
#: Every error estimate is multiplied by this: an estimate from differences between step
#: sizes is not a bound, and the factor makes it cover the error measured against mpmath.
_SAFETY = 2.0
#: Central differences: steps ε^(1/3)·max(1, |x|) times these; the one whose estimated
#: error (truncation from its neighbours, rounding from the values) is smallest is used.
_CENTRAL_MULTIPLES = 2.0 ** np.arange(-8, 4)
#: Rounding noise is also measured: values at x + k·δ (δ = this many ε·max(1, |x|), k =
#: -3..3) scatter around a parabola by the evaluation's own rounding error.
_JITTER = 5.3
_JITTER_LEVELS = 8  # δ up to 32^7 times larger (4e-5·max(1, |x|)) where the values stay flat
#: Ridders' tableau: the first step (times max(1, |x|)), the number of halvings, the
#: highest extrapolation order (columns).
_RIDDERS_FIRST = 0.1
_RIDDERS_LEVELS = 14
_RIDDERS_COLUMNS = 6


# -- the problem: values, a claim, and how to perturb a point ---------------------------


@dataclasses.dataclass(frozen=True)
class _Problem:
    """A function of points (rows of an (n, d) array) and the claimed partial derivatives."""

    name: str
    variables: tuple[str, ...]
    wrt: tuple[int, ...]
    value: Callable[[np.ndarray], np.ndarray]
    claimed: Callable[[np.ndarray], np.ndarray]  # (n, d) -> (n, len(wrt))
    complex_value: Callable[[np.ndarray], np.ndarray] | None
    kinks: Callable[[np.ndarray, int], np.ndarray] | None  # distance to nearest kink per row
    bounds: tuple[tuple[float, float], ...] = ()  # each variable's domain ends (steps stay inside)
    #: Caveats found while checking (a kink list that may be incomplete), filled by ``kinks``.
    notes: list[str] = dataclasses.field(default_factory=list, compare=False)

    def step(self, method: str, points: np.ndarray, j: int) -> np.ndarray:
        """The base step for ``method`` at each point, kept inside the variable's domain."""
        h = _step(method, points[:, j])
        if self.bounds:
            lo, hi = self.bounds[j]
            room = np.minimum(points[:, j] - lo, hi - points[:, j])
            h = np.minimum(h, 0.1 * room)
        return h

    def reach(self, points: np.ndarray, j: int) -> np.ndarray:
        """How far a step may go from each point: to the domain's end or the nearest kink."""
        reach = np.full(points.shape[0], np.inf)
        if self.bounds:
            lo, hi = self.bounds[j]
            reach = np.minimum(points[:, j] - lo, hi - points[:, j])
        if self.kinks is not None:
            reach = np.minimum(reach, self.kinks(points, j))
        return reach


def _relative(a: np.ndarray, n: np.ndarray) -> np.ndarray:
    """|a - n| / max(|a|, |n|), 0 where they are equal, inf where either is not a number."""
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.maximum(np.maximum(np.abs(a), np.abs(n)), 1e-300)
        difference = np.abs(a - n)
        out = np.where(difference == 0, 0.0, difference / scale)
    return np.where(np.isnan(out), np.inf, out)


def _shifted(points: np.ndarray, j: int, h: np.ndarray | float) -> np.ndarray:
    moved = points.astype(np.result_type(points, h), copy=True)
    moved[:, j] = moved[:, j] + h
    return moved


def _jitter(evaluate: Callable[[np.ndarray], np.ndarray], points: np.ndarray, j: int) -> np.ndarray:
    """The rounding noise of ``evaluate`` near each point, measured.

    ``evaluate`` at x + k·δ (k = -3..3, δ = `_JITTER`·ε·max(1, |x|)), minus the parabola
    fitted through those seven values: what is left is the evaluation's own rounding
    error (an argument rounded before sin(x²) near a zero of sin costs thousands of ulps,
    not a few).  Where the seven values are all equal (the values move in steps larger
    than the slope covers: log(erf(x)) for large x), δ grows by 2^5 until they differ
    (`_JITTER_LEVELS` times at most);
    where they never do, the noise is taken as `_VALUE_ULPS`·ε·max(1, |value|) (a flat
    run hides the rounding of values near 1 inside).  Twice the largest residual; NaN
    values give inf.
    """
    k = np.arange(-3.0, 4.0)
    design = np.vander(k, 3)
    residual_of = np.eye(k.size) - design @ np.linalg.pinv(design)
    base = _JITTER * _EPS * np.maximum(1.0, np.abs(points[:, j]))
    noise = None
    with np.errstate(all="ignore"):
        for level in range(_JITTER_LEVELS):
            delta = base * 32.0**level
            values = np.array([np.real(evaluate(_shifted(points, j, i * delta))) for i in k])
            values = values.reshape(k.size, points.shape[0], -1)
            residual = 2 * np.max(np.abs(np.tensordot(residual_of, values, axes=(1, 0))), axis=0)
            residual = np.where(np.isfinite(residual), residual, np.inf)
            flat = np.all(values == values[:1], axis=0)
            floor = _VALUE_ULPS * _EPS * np.maximum(1.0, np.abs(values[3]))
            if noise is None:
                noise, pending = residual, flat
            else:
                noise = np.where(pending & ~flat, residual, noise)
                pending = pending & flat
            if not pending.any():
                break
        noise = np.where(pending, floor, noise)
    return noise.reshape(points.shape[0], -1)


def _difference(
    problem: _Problem,
    points: np.ndarray,
    j: int,
    h: np.ndarray,
    reach: np.ndarray | None = None,
    jitter: np.ndarray | float = 0.0,
) -> tuple[np.ndarray, np.ndarray]:
    """The central difference at step h, and its rounding noise from the values themselves.

    The quotient divides by the distance actually stepped ((x + h) - (x - h) in floating
    point), so the rounding of x + h costs nothing; the values' own rounding
    (`_VALUE_ULPS` ulps each) is the noise.  Steps that leave the domain or cross a kink
    (``h >= reach``) give NaN.
    """
    up_points, down_points = _shifted(points, j, h), _shifted(points, j, -h)
    width = up_points[:, j] - down_points[:, j]
    up, down = problem.value(up_points), problem.value(down_points)
    quotient = (up - down) / width
    ulps = _VALUE_ULPS * _EPS  # times each value first: |f| near the largest float
    noise = (ulps * np.abs(up) + ulps * np.abs(down) + 2 * jitter) / width
    if reach is not None:
        quotient = np.where(h < reach, quotient, np.nan)
    return quotient, noise


def _central(
    problem: _Problem, points: np.ndarray, j: int, h: np.ndarray, reach: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Central differences at the step with the smallest estimated error, and that error.

    The truncation error of D(h) ~ c·h² is estimated from its neighbours D(h/4) ... D(4h)
    (the largest of (4/3)|D(h) - D(h/2)|, |D(2h) - D(h)|/3 and the like: two on each
    side, because values that move in steps make neighbouring quotients agree by
    accident); rounding from the values; both times `_SAFETY`.
    """
    noise_of_f = _jitter(problem.value, points, j)[:, 0]
    wide, wide_error = _central_family(problem, points, j, h, reach, noise_of_f)
    # steps scaled by |x| assume features of size |x|; sin x at 1e12 has them of size 1,
    # and sin(x²) at 1249 of size 2.5e-3, and quotients over larger steps agree by
    # accident on a wrong slope (-2.2 for -815.6).  Wherever |x| > 1 steps from
    # eps^(1/3) or 2^14 ulps of x up are tried too; where the two disagree beyond both
    # error estimates, the local one is taken (as `_richardson` does)
    unit = np.maximum(_EPS ** (1 / 3), 2.0**14 * np.spacing(np.abs(points[:, j])))
    unit = np.minimum(unit, h)  # |x| <= 1: h is eps^(1/3) already
    if not np.any(unit < h):
        return wide, wide_error
    local, local_error = _central_family(problem, points, j, unit, reach, noise_of_f)
    best, best_error = _best(np.array([wide, local]), np.array([wide_error, local_error]))
    disagree = np.abs(wide - local) > wide_error + local_error  # NaN: False
    use_local = disagree & np.isfinite(local) & (unit < h)
    return np.where(use_local, local, best), np.where(use_local, local_error, best_error)


def _central_family(
    problem: _Problem, points: np.ndarray, j: int, h: np.ndarray, reach: np.ndarray, noise_of_f
) -> tuple[np.ndarray, np.ndarray]:
    """`_central` over the steps h·`_CENTRAL_MULTIPLES`: the best quotient and its error."""
    rows = [_difference(problem, points, j, m * h, reach, noise_of_f) for m in _CENTRAL_MULTIPLES]
    return _best_of_family(rows)


def _best_of_family(rows) -> tuple[np.ndarray, np.ndarray]:
    """The best of second-order quotients over steps h·`_CENTRAL_MULTIPLES` (rows of
    (quotient, noise)): truncation estimated from neighbours, D(h) - D(h/2^gap) =
    (1 - 4^-gap)·c·h²."""
    quotients = np.array([q for q, _ in rows])
    noise = np.array([n for _, n in rows])
    truncation = np.zeros_like(quotients)
    for gap in (1, 2):
        apart = np.abs(quotients[gap:] - quotients[:-gap])
        truncation[gap:] = np.maximum(truncation[gap:], apart / (1 - 4.0**-gap))
        truncation[:-gap] = np.maximum(truncation[:-gap], apart / (4.0**gap - 1))
    return _best(quotients, _SAFETY * (truncation + noise))


def _one_sided_difference(
    problem: _Problem, points: np.ndarray, j: int, h: np.ndarray, reach: np.ndarray, jitter
) -> tuple[np.ndarray, np.ndarray]:
    """(-3f(x) + 4f(x + h) - f(x + 2h)) / 2h (h of either sign: second order, one side
    only), and its rounding noise; NaN where 2|h| reaches a kink or the domain's end."""
    near, far = _shifted(points, j, h), _shifted(points, j, 2 * h)
    width = (far[:, j] - points[:, j]) / 2  # the step actually taken
    f0, f1, f2 = problem.value(points), problem.value(near), problem.value(far)
    quotient = (f1 - 0.75 * f0 - 0.25 * f2) / (width / 2)  # scaled: no overflow near max
    ulps = _VALUE_ULPS * _EPS  # times each value first: |f| near the largest float
    rounding = 3 * ulps * np.abs(f0) + 4 * ulps * np.abs(f1) + ulps * np.abs(f2)
    noise = (rounding + 8 * jitter) / (2 * np.abs(width))
    return np.where(2 * np.abs(h) < reach, quotient, np.nan), noise


def _one_sided(
    problem: _Problem, points: np.ndarray, j: int, h: np.ndarray, reach: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """One-sided differences, from whichever side keeps x + 2h and f there finite (x at
    the largest float: a central step leaves the float range; exp(x) at 709.7: f does),
    with the error estimated as `_central` estimates its own."""
    picked, errors = [], []
    # the noise is measured beside the point, on the side stepped to (its samples reach
    # 3·`_JITTER`·ε·32^7·|x| = 1.2e-4·|x| at most)
    inward = 1.3e-4 * np.maximum(1.0, np.abs(points[:, j]))
    for side in (1.0, -1.0):
        noise_of_f = _jitter(problem.value, _shifted(points, j, side * inward), j)[:, 0]
        rows = [
            _one_sided_difference(problem, points, j, side * m * h, reach, noise_of_f)
            for m in _CENTRAL_MULTIPLES
        ]
        value, error = _best_of_family(rows)
        picked.append(value)
        errors.append(error)
    return _best(np.array(picked), np.array(errors))


def _richardson(
    problem: _Problem, points: np.ndarray, j: int, h: np.ndarray, reach: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Ridders' method: a Richardson tableau of central differences at h, h/2, h/4, ...

    Each extrapolated entry's error is estimated as its largest distance from the two
    entries it was built from (Numerical Recipes' ``dfridr``) and from its neighbours in
    its own column, plus twice the rounding noise of the smallest step it uses; the
    entry with the smallest estimate wins.  Steps too large for the function (it varies
    fast, a pole or the domain's end is near) drop out by themselves: their entries
    disagree, or are NaN.  Large steps past a pole can still agree by accident, so the
    result is compared with small-step central differences: where the two disagree by
    more than both error estimates, the central one (local) is taken.
    """
    noise_of_f = _jitter(problem.value, points, j)[:, 0]
    rows = [
        _difference(problem, points, j, h / 2**i, reach, noise_of_f) for i in range(_RIDDERS_LEVELS)
    ]
    column = np.array([q for q, _ in rows])
    noise = np.array([n for _, n in rows])
    candidates, errors = [], []
    for k in range(1, _RIDDERS_COLUMNS + 1):
        factor = 4.0**k
        extrapolated = (factor * column[1:] - column[:-1]) / (factor - 1)
        spread = np.maximum(np.abs(extrapolated - column[1:]), np.abs(extrapolated - column[:-1]))
        for gap in (1, 2):  # neighbours in the same column
            along = np.abs(extrapolated[gap:] - extrapolated[:-gap])
            spread[gap:] = np.maximum(spread[gap:], along)
            spread[:-gap] = np.maximum(spread[:-gap], along)
        candidates.append(extrapolated)
        errors.append(spread + 2 * noise[k:])
        column = extrapolated
    ridders, error = _best(np.concatenate(candidates), _SAFETY * np.concatenate(errors))
    local, local_error = _central(problem, points, j, problem.step("central", points, j), reach)
    agree = ~(np.abs(ridders - local) > error + local_error)  # NaN on one side: keep Ridders'
    use_local = ~agree | ~np.isfinite(ridders)
    return np.where(use_local, local, ridders), np.where(use_local, local_error, error)


def _best(candidates: np.ndarray, errors: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per column (point): the candidate with the smallest finite error, and the error."""
    usable = np.isfinite(candidates) & np.isfinite(errors)
    errors = np.where(usable, errors, np.inf)
    best = np.argmin(errors, axis=0)
    picked = np.take_along_axis(candidates, best[None, :], axis=0)[0]
    error = np.take_along_axis(errors, best[None, :], axis=0)[0]
    return np.where(np.isfinite(error), picked, np.nan), error


def _complex(
    problem: _Problem, points: np.ndarray, j: int, h: np.ndarray, reach: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Im f(x + ih)/h: no cancellation, truncation ~h² = 1e-40; error a few ulps."""
    if problem.complex_value is None:
        raise SymcalcError(
            f"complex step needs an analytic function, and {problem.name} has kinks or branches "
            "(Abs, Max, Min, Piecewise, sign); use method='richardson'"
        )

    def complex_step(at: np.ndarray) -> np.ndarray:
        shifted = _shifted(at.astype(complex), j, 1j * _COMPLEX_STEP)
        return np.imag(problem.complex_value(shifted)) / _COMPLEX_STEP

    with np.errstate(all="ignore"):
        values = problem.complex_value(_shifted(points.astype(complex), j, 1j * _COMPLEX_STEP))
        estimate = np.imag(values) / _COMPLEX_STEP
        noise = _jitter(complex_step, points, j)[:, 0]
        underflow = 64 * _TINY / _COMPLEX_STEP  # Im f(x + ih) below the normal range
        error = _SAFETY * (_VALUE_ULPS * _EPS * np.abs(estimate) + noise + underflow)
    finite = np.isfinite(estimate) & np.isfinite(np.real(values))
    return np.where(finite, estimate, np.nan), np.where(finite, error, np.inf)


_NUMERIC = {"central": _central, "richardson": _richardson, "complex": _complex}


def _step(method: str, x: np.ndarray) -> np.ndarray:
    scale = np.maximum(1.0, np.abs(x))
    if method == "richardson":
        return _RIDDERS_FIRST * scale
    return _EPS ** (1 / 3) * scale


def _fixed_central(problem: _Problem, points: np.ndarray, j: int, h: np.ndarray) -> np.ndarray:
    """(f(x + h) - f(x - h))/2h at exactly step h, as a textbook writes it (`study_steps`)."""
    up = problem.value(_shifted(points, j, h))
    down = problem.value(_shifted(points, j, -h))
    return (up - down) / (2 * h)


def _fixed_richardson(problem: _Problem, points: np.ndarray, j: int, h: np.ndarray) -> np.ndarray:
    """Central differences at h, h/2, h/4, h/8 extrapolated to h = 0 (for `study_steps`)."""
    rows = [_fixed_central(problem, points, j, h / 2**level) for level in range(_RICHARDSON_LEVELS)]
    for k in range(1, _RICHARDSON_LEVELS):
        factor = 4.0**k
        rows = [(factor * rows[i + 1] - rows[i]) / (factor - 1) for i in range(len(rows) - 1)]
    return rows[0]


# -- results ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False)
class StepStudy:
    """Numeric-derivative error against step size at one point: the V-shaped curve.

    ``errors`` maps a method to the absolute error at each of ``steps``; ``point`` is the
    point (one value per variable of ``function_name``), ``variable`` the one varied.
    """

    function_name: str
    variable: str
    point: tuple[float, ...]
    exact: float
    steps: np.ndarray
    errors: Mapping[str, np.ndarray]

    def best_steps(self) -> dict[str, tuple[float, float]]:
        """method -> (step, error) where the error is smallest."""
        out = {}
        for method, errors in self.errors.items():
            finite = np.where(np.isfinite(errors), errors, np.inf)
            i = int(np.argmin(finite))
            out[method] = (float(self.steps[i]), float(errors[i]))
        return out

    def to_text(self) -> str:
        lines = [f"step-size study of d/d{self.variable} {self.function_name} at {self.point}"]
        for method, (h, err) in self.best_steps().items():
            lines.append(f"  {method:<10} best step {h:.1e}: error {err:.2e}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        methods = ", ".join(self.errors)
        where = f"{self.function_name} at {self.point}"
        return f"<StepStudy {where}: {len(self.steps)} steps, {methods}>"


@dataclasses.dataclass(frozen=True, repr=False)
class GradientCheck:
    """The outcome of comparing claimed derivatives with numeric ones.

    ``analytic`` and ``numeric`` hold one column per checked variable (``wrt``) and one
    row per point of ``points`` (columns: ``variables``); ``error_estimates`` the numeric
    derivative's estimated error there.  ``passed`` is True when at every point
    |claimed - numeric| <= max(tolerance·max(|claimed|, |numeric|), error estimate).
    Not counted in ``max_rel_error``: ``kink_points``, the (point, variable) pairs with
    a kink within reach of the steps, and ``unresolved_points``, those where the numeric
    derivative's error is above the tolerance and the claim agrees with it within that
    error (a claim farther off still fails there).  ``excluded_points`` are points of
    ``at`` left out, with the reason (outside the domain, f or the claim not finite).

    Examples
    --------
    >>> gradcheck("relu", at=[-1.0, 0.0, 2.0])
    <GradientCheck relu d/dx central: passed, max rel error 0 at 3 points (1 near kinks)>
    >>> check = gradcheck("log(x)", at=[-1.0, 2.0])
    >>> check.excluded_points, check.points.shape[0]
    ((((-1.0,), 'log(x) is not real and finite'),), 1)
    """

    input: str
    method: str
    variables: tuple[str, ...]
    wrt: tuple[str, ...]
    points: np.ndarray
    analytic: np.ndarray
    numeric: np.ndarray
    relative_errors: np.ndarray
    max_abs_error: float
    max_rel_error: float
    worst_point: tuple[float, ...]
    worst_variable: str
    tolerance: float
    passed: bool
    kink_points: tuple[tuple[tuple[float, ...], str], ...]
    problem: _Problem = dataclasses.field(repr=False, compare=False)
    error_estimates: np.ndarray | None = None
    unresolved_points: tuple[tuple[tuple[float, ...], str], ...] = ()
    excluded_points: tuple[tuple[tuple[float, ...], str], ...] = ()
    max_error_estimate: float = 0.0
    #: Caveats, in words: where the kinks near a point may not all be known (|sin x| at
    #: 1e12), the point is counted as near a kink and a note says so.
    notes: tuple[str, ...] = ()

    def study_steps(self, steps: Sequence[float] | None = None) -> StepStudy:
        """The error-against-step-size data at the worst point (see `study_steps`)."""
        return study_steps(self, steps)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready summary (non-finite numbers as None)."""
        return {
            "input": self.input,
            "method": self.method,
            "variables": list(self.variables),
            "wrt": list(self.wrt),
            "points": int(self.points.shape[0]),
            "max_abs_error": _json_float(self.max_abs_error),
            "max_rel_error": _json_float(self.max_rel_error),
            "worst_point": _named(self.variables, self.worst_point),
            "worst_variable": self.worst_variable,
            "tolerance": self.tolerance,
            "passed": self.passed,
            "kinks": [
                {"point": _named(self.variables, p), "variable": var} for p, var in self.kink_points
            ],
            "unresolved": [
                {"point": _named(self.variables, p), "variable": var}
                for p, var in self.unresolved_points
            ],
            "excluded": [
                {"point": _named(self.variables, p), "reason": why}
                for p, why in self.excluded_points
            ],
            "max_error_estimate": _json_float(self.max_error_estimate),
            "notes": list(self.notes),
        }

    def to_text(self) -> str:
        verdict = "PASSED" if self.passed else "FAILED"
        where = _where(self.variables, self.worst_point)
        lines = [
            f"gradient check of {self.input} ({self.method} differences, "
            f"{', '.join('d/d' + w for w in self.wrt)})",
            f"  {verdict}: max relative error {self.max_rel_error:.3g} "
            f"(tolerance {self.tolerance:.1g}), "
            f"max absolute error {self.max_abs_error:.3g}",
            f"  worst: d/d{self.worst_variable} at {where}",
            f"  points: {self.points.shape[0]} (numeric error estimate up to "
            f"{self.max_error_estimate:.2g} relative)",
        ]
        listed = (
            ("near kinks, not counted", self.kink_points, "d/d"),
            (
                "unresolved (numeric error above the tolerance; the claim agrees within it)",
                self.unresolved_points,
                "d/d",
            ),
            ("not counted", self.excluded_points, ""),
        )
        for title, pairs, prefix in listed:
            if pairs:
                shown = "; ".join(
                    _where(self.variables, p) + f" ({prefix}{why})" for p, why in pairs[:5]
                )
                more = f" and {len(pairs) - 5} more" if len(pairs) > 5 else ""
                lines.append(f"  {title}: {shown}{more}")
        lines.extend(f"  note: {note}" for note in self.notes)
        checked = self.points.shape[0] * len(self.wrt) - len(self.kink_points)
        if self.passed and checked and len(self.unresolved_points) == checked:
            lines.append(
                "  no point was resolved to the tolerance: the claim agrees with the numeric "
                "derivative only within its error; try method='richardson' or other points"
            )
        return "\n".join(lines)

    def _repr_png_(self) -> bytes:
        """The step-size study at the worst point, drawn (what a notebook shows)."""
        return png_of(self)

    def __repr__(self) -> str:
        verdict = "passed" if self.passed else "FAILED"
        notes = [
            f"{len(pairs)} {what}"
            for pairs, what in (
                (self.kink_points, "near kinks"),
                (self.unresolved_points, "unresolved"),
                (self.excluded_points, "excluded"),
            )
            if pairs
        ]
        kinks = f" ({', '.join(notes)})" if notes else ""
        wrt = ", ".join("d/d" + w for w in self.wrt)
        return (
            f"<GradientCheck {self.input} {wrt} {self.method}: {verdict}, max rel error "
            f"{self.max_rel_error:.3g} at {self.points.shape[0]} points{kinks}>"
        )


def _named(names: Sequence[str], values: Sequence[float]) -> dict[str, float | None]:
    return {v: _json_float(x) for v, x in zip(names, values, strict=True)}


def _where(names: Sequence[str], values: Sequence[float]) -> str:
    return ", ".join(f"{v} = {x:.6g}" for v, x in zip(names, values, strict=True))


def _json_float(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


# -- building the problem --------------------------------------------------------------------


def _complex_log1p(w: np.ndarray) -> np.ndarray:
    """log(1 + w) for complex w, accurate where |w| is small (NumPy's complex log1p is
    log(1 + w)): Re = log1p(2 Re w + |w|²)/2, Im = atan2(Im w, 1 + Re w)."""
    w = np.asarray(w, dtype=complex)
    u, v = w.real, w.imag
    with np.errstate(all="ignore"):
        near = 0.5 * np.log1p(2 * u + u * u + v * v) + 1j * np.arctan2(v, 1 + u)
        return np.where(np.abs(w) < 0.5, near, np.log(1 + w))


def _complex_function(expr: sympy.Expr, variables: Sequence[sympy.Symbol]) -> Callable | None:
    nonsmooth = (sympy.Abs, sympy.Max, sympy.Min, sympy.Piecewise, sympy.sign, sympy.Heaviside)
    if expr.has(*nonsmooth):
        return None
    import scipy.special

    plain = expr.replace(
        lambda e: isinstance(e, sigmoid), lambda e: 1 / (1 + sympy.exp(-e.args[0]))
    )
    # log(1 + w) as log1p(w): Re log(1 + w) rounds to 0 for |w| below 1e-16, and a product
    # with it loses its half of Im f (x²·log(1 + x²) at 1e-8, softplus(x)·σ(x) at -309)
    log1p = sympy.Function("_complex_log1p")
    plain = plain.replace(
        lambda e: isinstance(e, sympy.log) and e.args[0].as_coeff_Add()[0] == 1,
        lambda e: log1p(e.args[0].as_coeff_Add()[1]),
    )
    f = sympy.lambdify(
        variables,
        plain,
        modules=[
            {
                "erf": scipy.special.erf,
                "erfc": scipy.special.erfc,
                "_complex_log1p": _complex_log1p,
            },
            "numpy",
        ],
    )

    def evaluate(points: np.ndarray) -> np.ndarray:
        with np.errstate(all="ignore"):
            return np.broadcast_to(np.asarray(f(*points.T), dtype=complex), points.shape[:1])

    return evaluate


def _claim_from(derivative: Any, entry: Entry, variables, var_index: int, params) -> Callable:
    """The user's claimed derivative (text, SymPy or callable) as points -> values."""
    if callable(derivative) and not isinstance(derivative, sympy.Basic):

        def claimed(points: np.ndarray) -> np.ndarray:
            try:
                values = derivative(*points.T)
            except Exception as exc:  # noqa: BLE001 - the user's function failed
                raise SymcalcError(
                    f"the derivative function raised {type(exc).__name__}: {exc}"
                ) from None
            return np.broadcast_to(np.asarray(values, dtype=float), points.shape[:1])

        return claimed
    from ..symbolic.parse import parse, resolve
    from .kernels import kernel

    expr = parse(derivative) if isinstance(derivative, str) else derivative
    if not isinstance(expr, sympy.Expr):
        raise SymcalcError(
            "derivative must be text, a SymPy expression or a function, "
            f"got {type(derivative).__name__}"
        )
    expr = entry.bind(resolve(expr).expr)  # resolve: plain SymPy symbols become real ones
    unknown = sorted(s.name for s in expr.free_symbols if s not in set(variables))
    if unknown:
        names = ", ".join(v.name for v in variables)
        raise SymcalcError(
            f"the derivative uses '{unknown[0]}', which is not a variable of the function ({names})"
        )
    k = kernel(Entry("derivative", "expression", expr, tuple(variables)))

    def claimed(points: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(k(*points.T), dtype=float), points.shape[:1])

    return claimed


def _symbolic_problem(f, wrt, derivative, params, convention) -> tuple[_Problem, Entry]:
    from ..symbolic.derivatives import variable_of
    from ..symbolic.kinks import kink_candidates, kinks_within
    from ..symbolic.parse import resolve
    from .kernels import kernel

    entry = resolve(f, **dict(params or {}))
    variables = entry.variables
    names = tuple(v.name for v in variables)
    if wrt is None:
        chosen = (
            [entry.variable]
            if derivative is not None
            else [v for v in variables if not isinstance(entry.domain_of(v), sympy.FiniteSet)]
        )
    else:
        chosen = [
            variable_of(entry, w) for w in ([wrt] if isinstance(wrt, (str, sympy.Symbol)) else wrt)
        ]
        for v in chosen:
            if v not in variables:
                raise SymcalcError(
                    f"gradcheck checks derivatives in the variables {', '.join(names)}, not '{v}'"
                )
    if derivative is not None and len(chosen) != 1:
        raise SymcalcError(
            "a claimed derivative is for one variable: pass wrt='name' with derivative="
        )
    value_kernel = kernel(entry, convention=convention)

    def value(points: np.ndarray) -> np.ndarray:
        return np.broadcast_to(np.asarray(value_kernel(*points.T), dtype=float), points.shape[:1])

    if derivative is not None:
        claims = [_claim_from(derivative, entry, variables, variables.index(chosen[0]), params)]
    else:
        claims = []
        for v in chosen:
            k = kernel(entry, order=1, wrt=v, convention=convention)
            claims.append(
                lambda points, k=k: np.broadcast_to(
                    np.asarray(k(*points.T), dtype=float), points.shape[:1]
                )
            )

    def claimed(points: np.ndarray) -> np.ndarray:
        return np.stack([c(points) for c in claims], axis=1)

    bound = entry.bind()
    # kinks that move with the other variables (hinge: p = 1/y) stay symbolic; those with
    # a number for a value are all listed near the points (every period of |sin x|, the
    # zeros of x·sin x - 1) by kinks_within
    kink_exprs = {
        variables.index(v): [c for c in kink_candidates(bound, v) if not c.is_number]
        for v in chosen
    }
    notes: list[str] = []

    def kinks(points: np.ndarray, j: int) -> np.ndarray:
        distance = np.full(points.shape[0], np.inf)
        candidates = kink_exprs.get(j)
        if candidates is None:
            return distance
        column = points[:, j]
        finite = column[np.isfinite(column)]
        if finite.size:
            pad = 1.0 + 1e-3 * float(np.max(np.abs(finite)))
            top = np.finfo(float).max
            low = max(float(finite.min()) - pad, -top)
            high = min(float(finite.max()) + pad, top)
            found = kinks_within(bound, variables[j], low, high)
            if found.complete:
                for where in found.points:
                    distance = np.minimum(distance, np.abs(column - where))
            else:  # too many to list over all the points: near each point, or not counted
                distance = _kinks_near_each(bound, variables[j], column, distance, notes)
        others = [s for s in variables if s != variables[j]]
        for candidate in candidates:
            f_kink = sympy.lambdify(others, candidate, "numpy") if others else None
            with np.errstate(all="ignore"):
                where = (
                    np.asarray(
                        f_kink(*[points[:, variables.index(o)] for o in others]), dtype=float
                    )
                    if f_kink
                    else np.full(points.shape[0], float(candidate))
                )
            where = np.broadcast_to(where, distance.shape)
            distance = np.minimum(
                distance, np.where(np.isfinite(where), np.abs(points[:, j] - where), np.inf)
            )
        return distance

    name = f if isinstance(f, str) else entry.name
    bounds = []
    for v in variables:
        domain = entry.domain_of(v)
        if isinstance(domain, sympy.Interval):
            bounds.append((float(domain.inf), float(domain.sup)))
        else:
            bounds.append((-math.inf, math.inf))
    problem = _Problem(
        name=name,
        variables=names,
        wrt=tuple(variables.index(v) for v in chosen),
        value=value,
        claimed=claimed,
        complex_value=_complex_function(bound, variables),
        kinks=kinks,
        bounds=tuple(bounds),
        notes=notes,
    )
    return problem, entry


#: At most this many points get a kink list of their own (`_kinks_near_each`).
_KINK_WINDOWS = 200


def _kinks_near_each(
    bound: sympy.Expr, var: sympy.Symbol, column: np.ndarray, distance: np.ndarray, notes: list
) -> np.ndarray:
    """The distance to the nearest kink from each point, each with a list of its own
    (|sin x| at 1e12: the kinks over the range of all the points are too many to list);
    0 (a kink assumed: the point is not counted) where even that list may be incomplete,
    with the reason added to ``notes``."""
    from ..symbolic.kinks import kinks_within

    distance = distance.copy()
    unique = np.unique(column[np.isfinite(column)])
    top = np.finfo(float).max
    for k, p in enumerate(unique):
        at = column == p
        if k >= _KINK_WINDOWS:
            distance[at] = 0.0
            notes.append(
                f"kinks in {var} were listed near the first {_KINK_WINDOWS} points only; "
                "the others are counted as near kinks"
            )
            break
        pad = 1.0 + 1e-3 * abs(float(p))
        low, high = max(float(p) - pad, -top), min(float(p) + pad, top)
        found = kinks_within(bound, var, low, high)
        if not found.complete:
            distance[at] = 0.0
            notes.append(f"{found.note(low, high)}: {var} = {p:.6g} is counted as near a kink")
            continue
        for where in found.points:
            distance[at] = np.minimum(distance[at], abs(float(p) - where))
    return distance


def _callable_problem(f: Callable, at: Any, derivative: Any) -> _Problem:
    if derivative is None or not callable(derivative):
        raise SymcalcError(
            "for a Python function give the claimed gradient as a function too: "
            "gradcheck(J, at=theta, derivative=grad_J)"
        )
    if at is None:
        raise SymcalcError(
            "for a Python function give the point(s) to check: "
            "gradcheck(J, at=theta, derivative=grad_J)"
        )
    first = np.atleast_2d(np.asarray(at, dtype=float))
    d = first.shape[1]

    def call(func, point):
        try:
            return func(point)
        except Exception as exc:  # noqa: BLE001 - the user's function failed
            raise SymcalcError(
                f"{getattr(func, '__name__', 'the function')} raised {type(exc).__name__}: {exc}"
            ) from None

    def value(points: np.ndarray) -> np.ndarray:
        return np.array([np.asarray(call(f, p)).reshape(()) for p in points])

    def complex_value(points: np.ndarray) -> np.ndarray:
        return np.array([complex(np.asarray(call(f, p)).reshape(())) for p in points])

    def claimed(points: np.ndarray) -> np.ndarray:
        rows = []
        for p in points:
            g = np.asarray(call(derivative, p), dtype=float).reshape(-1)
            if g.shape != (d,):
                raise SymcalcError(
                    f"the gradient has {g.size} components for a point with {d}; they must match"
                )
            rows.append(g)
        return np.array(rows)

    name = getattr(f, "__name__", "f")
    return _Problem(
        name=name,
        variables=tuple(f"theta[{i}]" for i in range(d)),
        wrt=tuple(range(d)),
        value=value,
        claimed=claimed,
        complex_value=complex_value,
        kinks=None,
    )


def _points_for(entry: Entry, at: Any) -> np.ndarray:
    """The points ``at`` names, as rows of values of every variable."""
    variables = entry.variables
    names = [v.name for v in variables]
    if isinstance(at, Mapping):
        unknown = [k for k in at if k not in names]
        if unknown:
            raise SymcalcError(
                f"`at` names '{unknown[0]}', which is not a variable of {entry.signature()}",
                parameter="at",
            )
        columns = [
            np.asarray(at.get(v.name, entry.fixed.get(v.name, 0.5)), dtype=float) for v in variables
        ]
        columns = np.broadcast_arrays(*columns)
        points = np.stack([c.reshape(-1) for c in columns], axis=1)
    else:
        try:
            array = np.asarray(at, dtype=float)
        except (TypeError, ValueError):
            raise SymcalcError(f"`at` must be numbers, got {at!r}", parameter="at") from None
        if array.ndim <= 1:
            main = array.reshape(-1)
            columns = [main] + [
                np.full(main.shape, entry.fixed.get(v.name, 0.5)) for v in variables[1:]
            ]
            points = np.stack(columns, axis=1)
        elif array.ndim == 2 and array.shape[1] == len(variables):
            points = array
        else:
            raise SymcalcError(
                f"`at` has shape {array.shape}; give values of {names[0]}, "
                f"rows of {len(names)} values, "
                "or a mapping {name: values}",
                parameter="at",
            )
    return _finite_points(points)


def _finite_points(points: np.ndarray) -> np.ndarray:
    if points.size == 0:
        raise SymcalcError("`at` is empty; give at least one point", parameter="at")
    if not np.all(np.isfinite(points)):
        raise SymcalcError("`at` contains NaN or infinity; give finite points", parameter="at")
    return points


def _unusable(problem: _Problem, entry: Entry | None, points: np.ndarray) -> list[str]:
    """Per point: why it cannot be checked ('' when it can).

    Outside a variable's declared domain; f not real and finite there; the claimed
    derivative not finite there (a derivative is claimed where f is differentiable).
    """
    reasons = [""] * points.shape[0]
    for j, v in enumerate(entry.variables if entry is not None else ()):
        domain = entry.domain_of(v)
        if domain == sympy.S.Reals:
            continue
        for i, x in enumerate(points[:, j]):
            if not reasons[i] and domain.contains(sympy.Float(x)) != sympy.true:
                reasons[i] = (
                    f"{v} = {x:g} is outside the domain of {entry.signature()} ({v} in {domain})"
                )
    with np.errstate(all="ignore"):
        values = np.asarray(problem.value(points))
        claims = np.asarray(problem.claimed(points), dtype=float).reshape(points.shape[0], -1)
    value_ok = np.isfinite(values) & (np.imag(values) == 0)
    claim_ok = np.all(np.isfinite(claims), axis=1)
    for i in range(points.shape[0]):
        if reasons[i]:
            continue
        if not value_ok[i]:
            reasons[i] = f"{problem.name} is not real and finite"
        elif not claim_ok[i]:
            reasons[i] = "the claimed derivative is not finite"
    return reasons


def _usable_points(
    problem: _Problem, entry: Entry | None, points: np.ndarray
) -> tuple[np.ndarray, tuple[tuple[tuple[float, ...], str], ...]]:
    """The given points that can be checked, and the others with the reason."""
    reasons = _unusable(problem, entry, points)
    keep = np.array([not r for r in reasons])
    excluded = tuple(
        (tuple(float(v) for v in row), r) for row, r in zip(points, reasons, strict=True) if r
    )
    if not keep.any():
        row, reason = excluded[0]
        where = "" if " = " in reason else " at " + _where(problem.variables, row)
        more = f" (and at the {len(excluded) - 1} other points)" if len(excluded) > 1 else ""
        raise SymcalcError(
            f"no point left to check: {reason}{where}{more}; "
            f"give points where {problem.name} is real and differentiable",
            parameter="at",
        )
    return points[keep], excluded


def _sample(problem: _Problem, entry: Entry, samples: int, seed: int) -> np.ndarray:
    """``samples`` points where f is real and finite and the claim is defined.

    The first draw is uniform across the plot range (each variable inside its declared
    domain); points that fail are replaced by further draws there, then across
    [-100, 100], then on a log scale out to 1e6, then inside the real domain SymPy finds
    (under the time budget).  Fewer points are returned only when all of that fails.
    """
    rng = np.random.default_rng(seed)
    found = np.empty((0, len(entry.variables)))
    for spread in (None, None, None, 100.0, "log", "symbolic"):
        candidates = _draw(entry, rng, samples if not found.size else 40 * samples, spread)
        if candidates is None or not candidates.size:
            continue
        usable = np.array([not r for r in _unusable(problem, None, candidates)])
        found = np.concatenate([found, candidates[usable]])
        if found.shape[0] >= samples:
            return found[:samples]
    if not found.size:
        raise SymcalcError(
            f"found no point where {problem.name} is real and finite and its derivative is "
            "defined; give points with `at`",
            parameter="at",
        )
    return found


def _draw(entry: Entry, rng: np.random.Generator, count: int, spread: Any) -> np.ndarray | None:
    columns = []
    for i, v in enumerate(entry.variables):
        domain = entry.domain_of(v)
        if isinstance(domain, sympy.FiniteSet):
            choices = np.array([float(e) for e in domain])
            columns.append(rng.choice(choices, count))
            continue
        lo, hi = entry.plot_range if i == 0 else (-3.0, 3.0)
        if i == 0 and spread == "log":
            column = rng.choice([-1.0, 1.0], count) * 10.0 ** rng.uniform(-3, 6, count)
        elif i == 0 and spread == "symbolic":
            column = _draw_in_real_domain(entry, v, rng, count)
            if column is None:
                return None
        else:
            if i == 0 and isinstance(spread, float):
                lo, hi = -spread, spread
            if domain != sympy.S.Reals:
                lo, hi = max(lo, float(domain.inf)), min(hi, float(domain.sup))
            margin = 0.02 * (hi - lo)
            column = rng.uniform(lo + margin, hi - margin, count)
        columns.append(column)
    return np.stack(columns, axis=1)


def _draw_in_real_domain(
    entry: Entry, v: sympy.Symbol, rng: np.random.Generator, count: int
) -> np.ndarray | None:
    """Uniform draws in the intervals of the real domain SymPy finds within the budget."""
    from ..symbolic import budget
    from ..symbolic.domains import real_domain_within

    domain = real_domain_within(entry.bind(), v, budget.default_seconds())
    if domain is None:
        return None
    domain = sympy.Intersection(domain, entry.domain_of(v), sympy.Interval(-1e6, 1e6))
    pieces = domain.args if isinstance(domain, sympy.Union) else (domain,)
    intervals = [
        (float(piece.inf), float(piece.sup))
        for piece in pieces
        if isinstance(piece, sympy.Interval) and piece.measure > 0
    ]
    if not intervals:
        return None
    which = rng.integers(0, len(intervals), count)
    lo, hi = np.array(intervals).T
    width = hi[which] - lo[which]
    return lo[which] + width * rng.uniform(0.01, 0.99, count)


# -- the public API ----------------------------------------------------------------------------


def gradcheck(
    f: str | sympy.Expr | Entry | Callable[[np.ndarray], float],
    at: Any = None,
    *,
    wrt: str | Sequence[str] | None = None,
    method: str = "central",
    derivative: str | sympy.Expr | Callable[..., Any] | None = None,
    tolerance: float | None = None,
    params: Mapping[str, Any] | None = None,
    samples: int = 25,
    seed: int = 0,
    convention: str = "zero",
) -> GradientCheck:
    """Compare a function's claimed derivative with a numeric one.

    ``f`` is a catalog name, text, SymPy expression or `Entry` (the claim defaults to
    its symbolic derivative, every continuous variable checked), or a Python function
    of a vector ``theta`` (then ``at`` is the point and ``derivative`` the claimed
    gradient function).  ``at``: values of the first variable (others at the entry's
    ``fixed`` values), rows of full points, or a mapping ``{name: values}``; default:
    ``samples`` points drawn across the domain with ``seed``.  ``method``: "central",
    "richardson" or "complex".  ``tolerance`` defaults to `METHODS` [method].

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X, y = rng.normal(size=(20, 3)), rng.normal(size=20)
    >>> J = lambda th: np.mean((X @ th - y) ** 2)
    >>> textbook = lambda th: X.T @ (X @ th - y) / len(y)   # half the true gradient
    >>> gradcheck(J, at=np.zeros(3), derivative=textbook).passed
    False
    >>> gradcheck(J, at=np.zeros(3), derivative=lambda th: 2 * X.T @ (X @ th - y) / len(y)).passed
    True
    """
    if method not in _NUMERIC:
        raise SymcalcError(f"unknown method '{method}'; choose one of {', '.join(METHODS)}")
    if tolerance is None:
        tolerance = METHODS[method]
    elif not (isinstance(tolerance, (int, float)) and 0 < tolerance < 1):
        raise SymcalcError(
            f"`tolerance` must be a number between 0 and 1, got {tolerance!r}",
            parameter="tolerance",
        )
    if isinstance(samples, bool) or not isinstance(samples, int) or samples < 1:
        raise SymcalcError(
            f"`samples` must be a positive whole number, got {samples!r}", parameter="samples"
        )
    is_symbolic = isinstance(f, (str, sympy.Basic, Entry))
    if is_symbolic:
        problem, entry = _symbolic_problem(f, wrt, derivative, params, convention)
        if at is None:
            points, excluded = _sample(problem, entry, samples, seed), ()
        else:
            points, excluded = _usable_points(problem, entry, _points_for(entry, at))
        label = f if isinstance(f, str) else entry.name
    elif callable(f):
        if wrt is not None or params:
            raise SymcalcError(
                "wrt= and params= apply to symbolic functions; "
                "a Python function's gradient is checked whole"
            )
        problem = _callable_problem(f, at, derivative)
        points = _finite_points(np.atleast_2d(np.asarray(at, dtype=float)))
        points, excluded = _usable_points(problem, None, points)
        label = problem.name
    else:
        raise SymcalcError(
            f"expected a catalog name, expression or Python function, got {type(f).__name__}"
        )
    return _compare(problem, points, method, float(tolerance), label, excluded)


def _compare(
    problem: _Problem,
    points: np.ndarray,
    method: str,
    tolerance: float,
    label: str,
    excluded: tuple[tuple[tuple[float, ...], str], ...] = (),
) -> GradientCheck:
    """The verdict: a point fails when |claimed - numeric| > max(tolerance·scale, error).

    ``error`` is the numeric derivative's error estimate, plus, at points that would fail
    without it, the claim's own rounding noise (measured like the function's, `_jitter`).
    """
    numeric_of = _NUMERIC[method]
    with np.errstate(all="ignore"):
        analytic = np.asarray(problem.claimed(points), dtype=float).reshape(
            points.shape[0], len(problem.wrt)
        )
    numeric = np.empty_like(analytic)
    error = np.empty_like(analytic)
    near_kink = np.zeros_like(analytic, dtype=bool)
    for c, j in enumerate(problem.wrt):
        h = problem.step(method, points, j)
        with np.errstate(all="ignore"):
            reach = problem.reach(points, j)
            numeric[:, c], error[:, c] = numeric_of(problem, points, j, h, reach)
            lost = ~np.isfinite(numeric[:, c]) & np.isfinite(analytic[:, c])
            if method != "complex" and lost.any():  # no central step stays in range
                side, side_error = _one_sided(
                    problem, points[lost], j, problem.step("central", points[lost], j), reach[lost]
                )
                numeric[lost, c], error[lost, c] = side, side_error
            error[:, c] += _claim_noise(problem, points, j, c, analytic, numeric, error, tolerance)
        if problem.kinks is not None:
            near_kink[:, c] = problem.kinks(points, j) <= 4 * _EPS ** (1 / 3) * np.maximum(
                1.0, np.abs(points[:, j])
            )
    relative = _relative(analytic, numeric)
    scale = np.maximum(np.abs(analytic), np.abs(numeric))
    discrepancy = np.abs(analytic - numeric)
    with np.errstate(invalid="ignore"):
        resolved = (error <= tolerance * scale) | (discrepancy == 0)
        failing = ~(discrepancy <= np.maximum(tolerance * scale, error))  # NaN fails
    failing &= ~near_kink
    # no finite difference could be taken (every step leaves the float range, or f is
    # not finite beside the point) while the claim is a number: not checkable, not failed
    uncheckable = ~np.isfinite(numeric) & np.isfinite(analytic) & ~near_kink
    failing &= ~uncheckable
    for i, c in zip(*np.nonzero(uncheckable), strict=False):
        excluded = (
            *excluded,
            (
                tuple(float(v) for v in points[i]),
                f"not checkable here: no finite-difference step in "
                f"{problem.variables[problem.wrt[c]]} keeps f finite",
            ),
        )
    unresolved = ~resolved & ~near_kink & ~failing & ~uncheckable
    shown = ~near_kink & ~unresolved & ~uncheckable  # the points the errors are taken over
    counted = np.where(shown, relative, 0.0)
    absolute = np.where(shown, np.where(np.isnan(discrepancy), np.inf, discrepancy), 0.0)
    worst = np.unravel_index(int(np.argmax(counted)), counted.shape)
    max_rel = float(counted.max()) if counted.size else 0.0
    with np.errstate(all="ignore"):
        estimates = np.where(shown & (error > 0) & (scale > 0), error / scale, 0.0)
    return GradientCheck(
        input=label,
        method=method,
        variables=problem.variables,
        wrt=tuple(problem.variables[j] for j in problem.wrt),
        points=points,
        analytic=analytic,
        numeric=numeric,
        relative_errors=relative,
        max_abs_error=float(absolute.max()),
        max_rel_error=max_rel,
        worst_point=tuple(float(v) for v in points[worst[0]]),
        worst_variable=problem.variables[problem.wrt[worst[1]]],
        tolerance=tolerance,
        passed=not bool(failing.any()),
        kink_points=_pairs(problem, points, near_kink),
        problem=problem,
        error_estimates=error,
        unresolved_points=_pairs(problem, points, unresolved),
        excluded_points=excluded,
        max_error_estimate=float(np.nan_to_num(estimates, nan=np.inf).max(initial=0.0)),
        notes=tuple(dict.fromkeys(problem.notes)),
    )


def _claim_noise(
    problem: _Problem,
    points: np.ndarray,
    j: int,
    c: int,
    analytic: np.ndarray,
    numeric: np.ndarray,
    error: np.ndarray,
    tolerance: float,
) -> np.ndarray:
    """The claim's own rounding noise (times `_SAFETY`), measured where it could matter:
    at the points that would fail without it (a gradient of many variables is costly)."""
    noise = np.zeros(points.shape[0])
    scale = np.maximum(np.abs(analytic[:, c]), np.abs(numeric[:, c]))
    close = np.abs(analytic[:, c] - numeric[:, c]) <= np.maximum(tolerance * scale, error[:, c])
    rows = np.nonzero(~close)[0]
    if rows.size:
        noise[rows] = _SAFETY * _jitter(problem.claimed, points[rows], j)[:, c]
    return noise


def _pairs(problem: _Problem, points: np.ndarray, mask: np.ndarray):
    return tuple(
        (tuple(float(v) for v in points[i]), problem.variables[problem.wrt[c]])
        for i, c in zip(*np.nonzero(mask), strict=False)
    )


def study_steps(check: GradientCheck, steps: Sequence[float] | None = None) -> StepStudy:
    """Error of each numeric method against the step size at ``check``'s worst point.

    The reference is the claimed derivative there when the check passed, otherwise the
    complex-step derivative (or Richardson's where complex step does not apply), so the
    curve shows the numeric methods' own error.  Default steps: 10^-16 ... 10^0.

    Examples
    --------
    >>> study = study_steps(gradcheck("tanh", at=[0.5]))
    >>> h, err = study.best_steps()["central"]
    >>> 1e-7 < h < 1e-3 and err < 1e-9
    True
    """
    problem = check.problem
    steps = np.logspace(-16, 0, 49) if steps is None else np.asarray(steps, dtype=float)
    if steps.ndim != 1 or steps.size < 2 or np.any(~np.isfinite(steps)) or np.any(steps <= 0):
        raise SymcalcError("steps must be at least two positive numbers")
    point = np.asarray(check.worst_point, dtype=float)[None, :]
    j = problem.variables.index(check.worst_variable)
    c = check.wrt.index(check.worst_variable)
    exact = float(np.asarray(problem.claimed(point))[0, c])
    if not check.passed:
        reference = "complex" if problem.complex_value is not None else "richardson"
        with np.errstate(all="ignore"):
            exact = float(
                _NUMERIC[reference](
                    problem, point, j, problem.step(reference, point, j), problem.reach(point, j)
                )[0][0]
            )
    errors: dict[str, np.ndarray] = {}
    with np.errstate(all="ignore"):
        f0 = problem.value(point)[0]
        forward = np.array([(problem.value(_shifted(point, j, h))[0] - f0) / h for h in steps])
        errors["forward"] = np.abs(forward - exact)
        errors["central"] = np.array(
            [abs(_fixed_central(problem, point, j, np.array([h]))[0] - exact) for h in steps]
        )
        errors["richardson"] = np.array(
            [abs(_fixed_richardson(problem, point, j, np.array([h]))[0] - exact) for h in steps]
        )
        if problem.complex_value is not None:
            errors["complex"] = np.array(
                [
                    abs(
                        float(
                            np.imag(
                                problem.complex_value(_shifted(point.astype(complex), j, 1j * h))[0]
                            )
                        )
                        / h
                        - exact
                    )
                    for h in steps
                ]
            )
    return StepStudy(
        function_name=check.input,
        variable=check.worst_variable,
        point=tuple(float(v) for v in point[0]),
        exact=exact,
        steps=steps,
        errors=errors,
    )
