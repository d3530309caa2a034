"""Numeric integration: adaptive Gauss-Legendre quadrature, split at kinks.

All numerics run in float64.  `integrate_numeric` and `accumulate` are accurate to
about 1e-14 relative on functions smooth between their kinks (tested against mpmath
at 50 digits for every catalog entry, and out to ±1e3), and to about 1e-13 where f has
an integrable singularity at a kink, pole or end (1/√|x| at 0, by QUADPACK's
extrapolation); they refuse, with a `SymcalcError`, an integral they cannot resolve to
1e-10 (1/x across 0: the integral diverges).

Examples
--------
>>> round(integrate_numeric("relu", -1, 2), 12)
2.0
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from ..errors import SymcalcError, check_number
from ..symbolic.catalog import Entry, univariate_entry
from ..symbolic.parse import resolve

__all__ = ["accumulate", "integrate_numeric"]

Function = str | sympy.Expr | Entry


# -- numeric integration ----------------------------------------------------------------

_NODES_HIGH, _WEIGHTS_HIGH = np.polynomial.legendre.leggauss(20)
_NODES_LOW, _WEIGHTS_LOW = np.polynomial.legendre.leggauss(10)
_EPS = float(np.finfo(float).eps)


def _values(kern, x: np.ndarray | float) -> np.ndarray:
    """f at x as a float array of x's shape; inf and nan are returned, not warned about.

    Callers check for non-finite values and raise a `SymcalcError` that names the point.
    """
    x = np.asarray(x, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore", under="ignore"):
        values = kern(x)
    return np.array(np.broadcast_to(np.asarray(values, dtype=float), x.shape))


def _rule_on(func, lo: np.ndarray, hi: np.ndarray, nodes, weights) -> np.ndarray:
    # halves first: hi - lo of a range across the whole float line overflows
    mid, half = lo / 2 + hi / 2, hi / 2 - lo / 2
    points = mid[:, None] + half[:, None] * nodes[None, :]
    values = _values(func, points)
    if not np.all(np.isfinite(values)):
        bad = points[~np.isfinite(values)][0]
        raise SymcalcError(
            f"f is not finite at {bad:.6g} ({values[~np.isfinite(values)][0]}); "
            "choose a range where f is defined and finite"
        )
    with np.errstate(over="ignore", invalid="ignore"):
        found = half * (values @ weights)
    if not np.all(np.isfinite(found)):
        at = int(np.flatnonzero(~np.isfinite(found))[0])
        raise _beyond_floats(float(lo[at]), float(hi[at]))
    return found


def _beyond_floats(low: float, high: float) -> SymcalcError:
    return SymcalcError(
        f"the integral of f over [{low:.6g}, {high:.6g}] is beyond the float range "
        "(above 1.8e308 in size); choose a shorter range"
    )


def _panel_integrals(
    func: Callable[[np.ndarray], np.ndarray],
    lo: np.ndarray,
    hi: np.ndarray,
    tolerance: float = 1e-14,
    max_depth: int = 40,
) -> tuple[np.ndarray, bool]:
    """∫ f over each panel [lo_i, hi_i], adaptively; and whether every panel converged.

    Each panel is integrated with 20- and 10-point Gauss-Legendre rules; where they
    differ by more than ``tolerance`` (relative, with an absolute floor scaled by the
    panel width), the panel is halved, all panels of a level at once.  After
    ``max_depth`` halvings (or once more than 32 panels per panel asked for are left:
    rounding noise in f that no halving removes) the pieces left count as converged
    when their estimated error is below 1e-10 of the panel's value (log x at 0); a
    panel still unresolved is integrated again by QUADPACK with extrapolation
    (`_extrapolated`: 1/√x at 0), and counts as not converged where that fails too
    (1/x at 0: the integral diverges).
    """
    with np.errstate(over="ignore", invalid="ignore"):  # sums past 1e308: callers check
        return _halving(func, lo, hi, tolerance, max_depth)


def _halving(func, lo, hi, tolerance: float, max_depth: int) -> tuple[np.ndarray, bool]:
    """`_panel_integrals`' work."""
    lo, hi = np.asarray(lo, dtype=float), np.asarray(hi, dtype=float)
    first = (lo, hi)
    total = np.zeros(lo.shape)
    lo, hi, owner = _split_at_scales(lo.ravel(), hi.ravel())
    # rounding noise in f (cancellation in its formula: sqrt(16x² - 9) near 3/4) keeps the
    # two rules apart at every scale; past this many panels the halving stops and the
    # pieces left are judged as after max_depth
    most = 32 * lo.size + 4096
    for _ in range(max_depth):
        if owner.size == 0 or owner.size > most:
            break
        high = _rule_on(func, lo, hi, _NODES_HIGH, _WEIGHTS_HIGH)
        low = _rule_on(func, lo, hi, _NODES_LOW, _WEIGHTS_LOW)
        # a panel far narrower than |x| is placed only to eps·|x|: its rules cannot agree
        # better than about eps·|x|/width (|sin x| between kinks near 1e5)
        with np.errstate(divide="ignore", over="ignore"):
            far = 8 * _EPS * np.maximum(np.abs(lo), np.abs(hi)) / (hi / 2 - lo / 2) / 2
        floor = np.maximum(tolerance, far)
        done = np.abs(high - low) <= floor * np.maximum(np.abs(high), hi - lo)
        np.add.at(total, owner[done], high[done])
        lo, hi, owner = lo[~done], hi[~done], owner[~done]
        mid = lo / 2 + hi / 2
        lo, hi, owner = (
            np.concatenate([lo, mid]),
            np.concatenate([mid, hi]),
            np.concatenate([owner, owner]),
        )
    if not owner.size:
        return total, True
    high = _rule_on(func, lo, hi, _NODES_HIGH, _WEIGHTS_HIGH)
    low = _rule_on(func, lo, hi, _NODES_LOW, _WEIGHTS_LOW)
    np.add.at(total, owner, high)
    left_over = np.zeros(total.shape)
    np.add.at(left_over, owner, np.abs(high - low))
    unresolved = np.flatnonzero(~(left_over <= 1e-10 * np.maximum(1.0, np.abs(total))))
    first_lo, first_hi = np.asarray(first[0], dtype=float), np.asarray(first[1], dtype=float)
    for panel in unresolved:  # an endpoint singularity the halving cannot resolve
        value = _extrapolated(func, float(first_lo.flat[panel]), float(first_hi.flat[panel]))
        if value is None:
            return total, False
        total[panel] = value
    return total, True


def _extrapolated(func: Callable[[np.ndarray], np.ndarray], lo: float, hi: float) -> float | None:
    """∫ f over [lo, hi] by QUADPACK's QAGS (`scipy.integrate.quad`: adaptive bisection with
    Wynn's epsilon extrapolation, which resolves integrable endpoint singularities such as
    1/√x, log x, x^(-0.9) at 0 to about 1e-13), asked for 1e-13, else 1e-12, else 1e-11
    relative; None unless QUADPACK reports success with an error estimate within 1e-10 of
    the value (it returns -1e4 for the divergent
    ∫ x^(-1.0001) over [0, 1], and says so)."""
    import warnings

    from scipy.integrate import IntegrationWarning, quad

    def f(t: float) -> float:
        return float(_values(func, t))

    # QUADPACK asked for 1e-13 can give up on rounding in its extrapolation table where a
    # looser request converges (1/√(1 - x²) over [-0.957, 1]: 2e-15 off at 1e-12); a
    # divergent integral fails at every request
    for relative in (1e-13, 1e-12, 1e-11):
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", IntegrationWarning)
            try:
                value, error, *rest = quad(
                    f, lo, hi, epsabs=0.0, epsrel=relative, limit=200, full_output=1
                )
            except (ValueError, ZeroDivisionError, OverflowError):
                return None
        failed = len(rest) > 1  # full_output adds a message where QUADPACK's ier is not 0
        if not failed and math.isfinite(value) and error <= 1e-10 * max(1.0, abs(value)):
            return value
    return None


def _numeric_kinks(entry: Entry, low: float, high: float) -> list[float]:
    """Where ``entry``'s nonsmooth parts switch branch, inside [low, high]: every point of
    a periodic kink set there and the zeros of switches SymPy cannot solve
    (`symcalc.symbolic.kinks.kinks_within`)."""
    from ..symbolic.kinks import kinks_within

    found = kinks_within(entry.expr, entry.variable, float(low), float(high))
    return [p for p in found.points if low < p < high]


def _breaks(entry: Entry, low: float, high: float) -> list[float]:
    """Where the panels must end inside [low, high]: the kinks, and the points where f
    may jump or have a pole (`symcalc.symbolic.domains.jump_candidates`).  A pole inside
    a panel can hide from Gauss-Legendre nodes: the rules agree on ∫ 1/x over [-1, 1]
    (both 0, the nodes being symmetric); at a panel's end the divergence shows."""
    from ..symbolic.domains import jump_candidates

    jumps = jump_candidates(entry.expr, entry.variable, low, high)
    return sorted({*_numeric_kinks(entry, low, high), *jumps})


def kinks_note(entry: Entry, low: float, high: float) -> str | None:
    """Where the kinks of ``entry`` in [low, high] may not all be listed, why (a periodic
    set of more than `~symcalc.symbolic.kinks.KINK_LIMIT` points there, a coarse search):
    the quadrature between the kinks listed is adaptive, and callers say so; else None."""
    from ..symbolic.kinks import kinks_within

    found = kinks_within(entry.expr, entry.variable, float(low), float(high))
    note = found.note(low, high)
    return None if note is None else note + "; between those listed, adaptive quadrature"


def _not_resolved(entry: Entry, low: float, high: float) -> SymcalcError:
    note = kinks_note(entry, low, high)
    if note is not None:  # |sin x| over [0, 1e7]: 3.2 million kinks
        return SymcalcError(
            f"quadrature of {entry.name} over [{low:g}, {high:g}] did not reach 1e-10 "
            f"accuracy: {note}; choose a shorter interval"
        )
    why, choose = "f is singular there?", "choose an interval where f is bounded"
    turns = _sign_changes(entry, low, high)
    if turns is not None:  # bounded on a fine grid: it oscillates, it does not blow up
        why = (
            f"f is bounded there and changes sign at least {turns:,} times, "
            f"seen on a grid of {_SCAN:,} points"
        )
        choose = "choose a shorter interval"
    return SymcalcError(
        f"quadrature of {entry.name} over [{low:g}, {high:g}] did not reach 1e-10 accuracy "
        f"({why}); {choose}"
    )


#: Grid points of the scan that tells an oscillating f from a singular one.
_SCAN = 100_001


def _sign_changes(entry: Entry, low: float, high: float) -> int | None:
    """How often f changes sign on a grid of `_SCAN` points of [low, high] where it is
    finite everywhere there and at least a hundred times; else None."""
    grid = np.linspace(low, high, _SCAN)
    with np.errstate(all="ignore"):
        values = np.asarray(_values(_kernel(entry), grid), dtype=float)
    if not np.all(np.isfinite(values)):
        return None
    turns = int(np.count_nonzero(np.signbit(values[1:]) != np.signbit(values[:-1])))
    return turns if turns >= 100 else None


def _kernel(entry: Entry):
    from .kernels import kernel

    return kernel(entry)


#: Panel edges at 0 and ±2^k, k from 0 to 1023, sorted (an interval within [-1, 1] keeps
#: its panels: the halving resolves features there).
_SCALE_POINTS = np.array(sorted([0.0] + [s * 2.0**k for k in range(1024) for s in (1.0, -1.0)]))


def _split_at_scales(lo: np.ndarray, hi: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The panels [lo_i, hi_i] wider than 2 cut at the `_SCALE_POINTS` inside them, with
    the index of the panel each piece belongs to.

    One panel over a wide interval puts its Gauss nodes far apart, and two rules that
    both miss a peak between them agree on 0: ∫ exp(-x²) over [-1e5, 1e5] came out 0.0
    for √π.  Panels of width about |x| around 0 see every feature of size 1 near 0
    (where ML's functions have theirs), at about 2,000 panels for the whole float line."""
    first = np.searchsorted(_SCALE_POINTS, lo, side="right")
    inner = np.searchsorted(_SCALE_POINTS, hi, side="left") - first
    inner = np.where(hi / 2 - lo / 2 > 1, inner, 0)  # halves: hi - lo may overflow
    if not inner.any():
        return lo, hi, np.arange(lo.size)
    owner = np.repeat(np.arange(lo.size), inner + 1)
    k = np.arange(owner.size) - np.repeat(np.cumsum(inner + 1) - (inner + 1), inner + 1)
    at = np.clip(first[owner] + k, 1, _SCALE_POINTS.size) - 1  # the cut below piece k
    pieces_lo = np.where(k == 0, lo[owner], _SCALE_POINTS[at])
    above = np.clip(first[owner] + k, 0, _SCALE_POINTS.size - 1)  # the cut above it
    pieces_hi = np.where(k == inner[owner], hi[owner], _SCALE_POINTS[above])
    return pieces_lo, pieces_hi, owner


def integrate_numeric(
    f: Function, a: float, b: float, *, params: dict[str, Any] | None = None
) -> float:
    """∫ₐᵇ f by adaptive Gauss-Legendre quadrature, split at the kinks of f.

    Accurate to about 1e-14 relative on functions that are smooth between kinks.

    Examples
    --------
    >>> round(integrate_numeric("relu", -1, 2), 12)
    2.0
    """
    entry = univariate_entry(resolve(f, **dict(params or {})))
    a, b = check_number(a, "a"), check_number(b, "b")
    if a == b:
        return 0.0
    lo, hi = min(a, b), max(a, b)
    edges = np.array([lo, *_breaks(entry, lo, hi), hi])
    panels, converged = _panel_integrals(_kernel(entry), edges[:-1], edges[1:])
    if not converged:
        raise _not_resolved(entry, lo, hi)
    with np.errstate(over="ignore", invalid="ignore"):
        total = float(panels.sum())
    if not math.isfinite(total):
        raise _beyond_floats(lo, hi)
    return total if a < b else -total


def accumulate(
    f: Function, a: float, x: Sequence[float] | np.ndarray, *, params: dict[str, Any] | None = None
) -> np.ndarray:
    """The accumulation A(x) = ∫ₐˣ f(t) dt at each x, by adaptive quadrature.

    The points are sorted together with ``a`` and the kinks (and poles and jumps), and
    each panel between neighbours is integrated once; A is their running sum.  About
    1e-14 relative; an accumulation that quadrature cannot resolve to 1e-10 (across a pole
    of f) is refused, as in `integrate_numeric`.

    Examples
    --------
    >>> accumulate("2*x", 1, [0.0, 1.0, 3.0]).round(12).tolist()
    [-1.0, 0.0, 8.0]
    """
    entry = univariate_entry(resolve(f, **dict(params or {})))
    a = check_number(a, "a")
    try:
        points = np.asarray(x, dtype=float)
    except (TypeError, ValueError):
        raise SymcalcError(f"x must be numbers, got {x!r}"[:200]) from None
    if points.size == 0:
        return np.zeros(points.shape)
    if not np.all(np.isfinite(points)):
        raise SymcalcError("x must hold finite numbers only")
    low, high = min(a, float(points.min())), max(a, float(points.max()))
    grid = np.union1d(points.ravel(), [a, *_breaks(entry, low, high)])
    accumulated, converged = _accumulation(_kernel(entry), a, grid)
    if not converged:
        raise _not_resolved(entry, low, high)
    return accumulated[np.searchsorted(grid, points)]


def _accumulation(kern, a: float, grid: np.ndarray) -> tuple[np.ndarray, bool]:
    """A(x) = ∫ₐˣ f at every grid point (sorted, containing a), each panel integrated once."""
    panels, converged = _panel_integrals(kern, grid[:-1], grid[1:])
    start = int(np.searchsorted(grid, a))
    # summed outwards from a, not from the grid's left end: a running sum from -5 of
    # cosh(5t) reaches 7e9, and subtracting it at a left A(x) near a with errors of 1e-6
    with np.errstate(over="ignore", invalid="ignore"):
        right = np.cumsum(panels[start:])
        left = -np.cumsum(panels[:start][::-1])[::-1]
    found = np.concatenate([left, [0.0], right])
    if not np.all(np.isfinite(found)):
        raise _beyond_floats(float(grid[0]), float(grid[-1]))
    return found, converged
