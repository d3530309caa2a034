"""Riemann sums and their convergence.

`riemann_sum` computes left, right, midpoint and trapezoid sums, vectorized, and
`riemann_convergence` studies their error for n = 2, 4, ..., 2^k with the observed
order of convergence (1 for left/right, 2 for midpoint/trapezoid on smooth f).

Examples
--------
>>> round(riemann_sum("x**2", 0, 1, 100, rule="midpoint").value, 6)
0.333325
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from ..errors import SymcalcError, check_number, did_you_mean
from ..hooks import png_of
from ..symbolic.catalog import Entry, univariate_entry
from ..symbolic.parse import resolve
from .ftc import _domain_text, _in_domain
from .quadrature import _kernel, _values, integrate_numeric

__all__ = [
    "RULES",
    "RiemannStudy",
    "RiemannSum",
    "riemann_convergence",
    "riemann_sum",
    "rule_weights",
]

Function = str | sympy.Expr | Entry

#: The Riemann-sum rules, in the order tables list them.
RULES: tuple[str, ...] = ("left", "right", "midpoint", "trapezoid")


# -- Riemann sums -----------------------------------------------------------------------


def _check_rule(rule: str) -> str:
    if rule not in RULES:
        raise SymcalcError(
            f"unknown Riemann rule '{rule}'{did_you_mean(str(rule), RULES)} "
            f"(choose one of {', '.join(RULES)})"
        )
    return rule


def _check_count(n: Any) -> int:
    if (
        isinstance(n, bool)
        or not isinstance(n, (int, np.integer))
        and not (isinstance(n, float) and n.is_integer())
    ):
        raise SymcalcError(f"`n` must be a whole number of subintervals, got {n!r}", parameter="n")
    n = int(n)
    if not 1 <= n <= 10_000_000:
        raise SymcalcError(f"`n` must be from 1 to 10000000 subintervals, got {n}", parameter="n")
    return n


def _sample_points(a: float, b: float, n: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """Edges of the n subintervals and the points where f is sampled."""
    if math.isfinite(b - a):
        edges = np.linspace(a, b, n + 1)
    else:  # over the whole float line: by halves, doubled exactly
        edges = 2 * np.linspace(a / 2, b / 2, n + 1)
    if rule == "left":
        return edges, edges[:-1]
    if rule == "right":
        return edges, edges[1:]
    if rule == "midpoint":
        return edges, edges[:-1] / 2 + edges[1:] / 2  # halves first: no overflow
    return edges, edges


def rule_weights(a: float, b: float, n: int, rule: str) -> tuple[np.ndarray, np.ndarray]:
    """The points and weights of the ``rule`` sum with n subintervals: Σ wₖ f(xₖ).

    The same sample points as `riemann_sum`; for the trapezoid rule the two ends weigh half.

    Examples
    --------
    >>> points, weights = rule_weights(0.0, 1.0, 2, "trapezoid")
    >>> points.tolist(), weights.tolist()
    ([0.0, 0.5, 1.0], [0.25, 0.5, 0.25])
    """
    _, points = _sample_points(a, b, _check_count(n), _check_rule(rule))
    weights = np.full(points.size, (b - a) / n)
    if rule == "trapezoid":
        weights[[0, -1]] /= 2
    return points, weights


def _weighted_sum(heights: np.ndarray, width: float, rule: str) -> float:
    if rule == "trapezoid":
        return float(width * (heights.sum() - (heights[0] + heights[-1]) / 2))
    return float(width * heights.sum())


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class RiemannSum:
    """A Riemann sum of f over [a, b] with n subintervals by ``rule``, and its error.

    ``edges`` are the n + 1 subinterval ends, ``samples`` the points where f was
    evaluated and ``heights`` its values there (for the trapezoid rule, at the edges).
    ``exact`` is the integral by adaptive quadrature (about 1e-14 relative).
    """

    input: str
    entry: Entry
    a: float
    b: float
    n: int
    rule: str
    value: float
    exact: float
    edges: np.ndarray
    samples: np.ndarray
    heights: np.ndarray

    @property
    def error(self) -> float:
        """value − exact."""
        return self.value - self.exact

    def __float__(self) -> float:
        return self.value

    def to_text(self) -> str:
        """One line: the sum, the integral and the error."""
        return (
            f"{self.rule} Riemann sum of {self.input} on [{self.a:g}, {self.b:g}] "
            f"with n = {self.n}: "
            f"{self.value:.12g}   (integral {self.exact:.12g}, error {self.error:.3e})"
        )

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "input": self.input,
            "name": self.entry.name,
            "variable": self.entry.variable.name,
            "a": self.a,
            "b": self.b,
            "n": self.n,
            "rule": self.rule,
            "value": self.value,
            "exact": self.exact,
            "error": self.error,
        }

    def _repr_png_(self) -> bytes:
        return png_of(self)

    def __repr__(self) -> str:
        where = f"[{self.a:g}, {self.b:g}]"
        return f"<RiemannSum {self.rule} n={self.n} of {self.input} on {where} = {self.value:.10g}>"


def _prepare_interval(f: Function, a: Any, b: Any, params) -> tuple[Entry, float, float]:
    entry = univariate_entry(resolve(f, **dict(params or {})))
    a, b = check_number(a, "a"), check_number(b, "b")
    if not a < b:
        raise SymcalcError(f"the interval needs a < b, got a = {a:g}, b = {b:g}")
    if not math.isfinite(b - a):  # the widths of the subintervals would overflow
        raise SymcalcError(
            f"the interval [{a:g}, {b:g}] is wider than the largest float (1.8e308); "
            "choose a narrower one"
        )
    for name, end in (("a", a), ("b", b)):
        if not _in_domain(entry, end):
            raise SymcalcError(
                f"{name} = {end:g} is outside the domain of {entry.name} "
                f"({_domain_text(entry)}); choose [a, b] inside it"
            )
    return entry, a, b


def _riemann(
    entry: Entry, kern, a: float, b: float, n: int, rule: str, exact: float, text: str
) -> RiemannSum:
    edges, samples = _sample_points(a, b, n, rule)
    heights = _values(kern, samples)
    if not np.all(np.isfinite(heights)):
        bad = samples[~np.isfinite(heights)][0]
        raise SymcalcError(
            f"f is not finite at {bad:.6g}, a sample point of the {rule} rule; "
            "choose another interval"
        )
    value = _weighted_sum(heights, (b - a) / n, rule)
    return RiemannSum(text, entry, a, b, n, rule, value, exact, edges, samples, heights)


def riemann_sum(
    f: Function,
    a: float,
    b: float,
    n: int,
    rule: str = "midpoint",
    *,
    params: dict[str, Any] | None = None,
) -> RiemannSum:
    """The ``rule`` Riemann sum of ``f`` over [a, b] with ``n`` equal subintervals.

    ``rule`` is ``"left"``, ``"right"``, ``"midpoint"`` or ``"trapezoid"``.  One
    vectorized evaluation of f at the sample points; the result also holds the exact
    integral (adaptive quadrature) and so the error.

    Examples
    --------
    >>> s = riemann_sum("x**2", 0, 1, 4, rule="left")
    >>> s.value, s.samples.tolist()
    (0.21875, [0.0, 0.25, 0.5, 0.75])
    >>> round(s.exact, 15)
    0.333333333333333
    """
    entry, a, b = _prepare_interval(f, a, b, params)
    rule, n = _check_rule(rule), _check_count(n)
    text = f if isinstance(f, str) else entry.name
    exact = integrate_numeric(entry, a, b)
    return _riemann(entry, _kernel(entry), a, b, n, rule, exact, text)


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class RiemannStudy:
    """Errors of Riemann sums for n = 2, 4, ..., 2^k and the observed orders of convergence.

    ``errors[rule]`` holds |sum − exact| for each n in ``counts``; ``orders[rule]`` is
    the slope p of log(error) ≈ c − p·log(n), fitted over the sums with n >= 8 whose
    error is above the rounding floor (None when the rule is exact for this f).
    """

    input: str
    entry: Entry
    a: float
    b: float
    exact: float
    counts: np.ndarray
    errors: dict[str, np.ndarray]
    orders: dict[str, float | None]

    def to_text(self) -> str:
        """A table: n, then the error of each rule; the observed orders last."""
        rules = list(self.errors)
        lines = [
            f"Riemann sums of {self.input} on [{self.a:g}, {self.b:g}]; "
            f"integral = {self.exact:.15g}"
        ]
        lines.append(f"{'n':>8}  " + "  ".join(f"{r:>10}" for r in rules))
        for i, n in enumerate(self.counts):
            lines.append(f"{n:>8}  " + "  ".join(f"{self.errors[r][i]:>10.3e}" for r in rules))
        shown = ["exact" if self.orders[r] is None else f"{self.orders[r]:.3f}" for r in rules]
        lines.append(f"{'order':>8}  " + "  ".join(f"{s:>10}" for s in shown))
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form."""
        return {
            "input": self.input,
            "a": self.a,
            "b": self.b,
            "exact": self.exact,
            "n": self.counts.tolist(),
            "errors": {r: e.tolist() for r, e in self.errors.items()},
            "orders": dict(self.orders),
        }

    def _repr_png_(self) -> bytes:
        return png_of(self)

    def __repr__(self) -> str:
        orders = ", ".join(
            f"{r} {o:.2f}" if o is not None else f"{r} exact" for r, o in self.orders.items()
        )
        where = f"[{self.a:g}, {self.b:g}]"
        return f"<RiemannStudy {self.input} on {where}, n up to {self.counts[-1]}: {orders}>"


def _observed_order(counts: np.ndarray, errors: np.ndarray, floor: float) -> float | None:
    usable = (counts >= 8) & (errors > floor)
    if usable.sum() < 2:
        return None
    slope = np.polyfit(np.log(counts[usable]), np.log(errors[usable]), 1)[0]
    return float(-slope)


def riemann_convergence(
    f: Function,
    a: float,
    b: float,
    *,
    max_power: int = 10,
    rules: Sequence[str] = RULES,
    exact: float | None = None,
    params: dict[str, Any] | None = None,
) -> RiemannStudy:
    """Errors of the Riemann sums for n = 2, 4, ..., 2^max_power and the observed orders.

    The error is measured against ``exact`` when given, else against adaptive
    quadrature (about 1e-14 relative).  Expect order 1 for left and right sums and 2
    for midpoint and trapezoid on smooth f.

    Examples
    --------
    >>> study = riemann_convergence("exp(x)", 0, 1, max_power=8)
    >>> {rule: round(order) for rule, order in study.orders.items()}
    {'left': 1, 'right': 1, 'midpoint': 2, 'trapezoid': 2}
    """
    entry, a, b = _prepare_interval(f, a, b, params)
    if isinstance(max_power, bool) or not isinstance(max_power, int) or not 1 <= max_power <= 22:
        raise SymcalcError(
            f"`max_power` must be a whole number from 1 to 22, got {max_power!r}",
            parameter="max_power",
        )
    rules = [_check_rule(r) for r in rules]
    if not rules:
        raise SymcalcError(f"give at least one rule ({', '.join(RULES)})")
    text = f if isinstance(f, str) else entry.name
    exact = integrate_numeric(entry, a, b) if exact is None else check_number(exact, "exact")
    kern = _kernel(entry)
    counts = 2 ** np.arange(1, max_power + 1)
    errors = {}
    orders = {}
    for rule in rules:
        values = np.array(
            [_riemann(entry, kern, a, b, int(n), rule, exact, text).value for n in counts]
        )
        errors[rule] = np.abs(values - exact)
        floor = (
            1e3
            * np.finfo(float).eps
            * max(abs(exact), (b - a) * float(np.max(np.abs(_values(kern, np.linspace(a, b, 65))))))
        )
        orders[rule] = _observed_order(counts, errors[rule], floor)
    return RiemannStudy(text, entry, a, b, exact, counts, errors, orders)
