"""Integrated gradients: the fundamental theorem of calculus on a path, as an attribution.

Integrated gradients (Sundararajan, Taly & Yan, 2017) share the change f(x) − f(x′)
between the inputs, along the straight path γ(α) = x′ + α(x − x′) from a baseline x′:

    IGᵢ = (xᵢ − x′ᵢ) · ∫₀¹ ∂f/∂xᵢ(γ(α)) dα.

Their sum is ∫₀¹ ∇f(γ(α))·γ′(α) dα = ∫₀¹ (f∘γ)′ dα = f(x) − f(x′): *completeness* is the
fundamental theorem for f∘γ.  `integrated_gradients` computes them

``exact``
    ∂f/∂xᵢ is derived (kink convention applied), the path substituted with the inputs as
    exact rationals, and SymPy integrates over α under the time budget; a component SymPy
    cannot integrate in time is integrated by adaptive Gauss-Legendre quadrature
    (`symcalc.numeric.quadrature`, about 1e-14 relative) instead, and ``exact_by`` says which.
``left``, ``right``, ``midpoint``, ``trapezoid``
    the Riemann sums of `symcalc.numeric.riemann` with ``steps`` subintervals of [0, 1]
    (what Captum computes); their completeness error falls like steps⁻¹, steps⁻¹,
    steps⁻² and steps⁻² on smooth f.
``gauss_legendre``
    ``steps``-point Gauss-Legendre: spectral (faster than any power) on analytic f.

Every result also carries the convergence study of the five numeric rules (completeness
error for 2, 4, ..., 1024 steps and the observed order) and, for comparison, the two
simpler attributions that do not add up: the gradient ∇f(x) (saliency) and the gradient
times the input, (x − x′) ⊙ ∇f(x), which is integrated gradients' right sum with a single
step, exact only where f is linear along the path.

f is an expression (text, SymPy or a catalog entry) in named variables, or any object
with ``names``, ``value(points)`` and ``gradient(points)`` (points: one row per point,
one column per input), and optionally ``symbolic()`` returning (expression, symbols) for
the exact path integral: a trained model (`symcalc.learn.explain.model_function`).  A
result of `symcalc.learn.descent.descend` is read as its model's output f(features)
directly (through `symcalc.hooks.function_of`: this layer does not import the learning
layer); use ``model_function`` to choose the class explained or the feature names.

Examples
--------
>>> ig = integrated_gradients("x*y", at={"x": 1, "y": 2}, baseline={"x": 0, "y": 0})
>>> ig.attributions.tolist(), ig.difference, ig.completeness_error
([1.0, 1.0], 2.0, 0.0)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Iterator, Mapping, Sequence
from typing import Any, Protocol

import numpy as np
import sympy

from ..errors import SymcalcError, check_number, did_you_mean
from ..hooks import function_of, png_of
from ..symbolic import budget
from ..symbolic.catalog import Entry
from ..symbolic.derivatives import differentiate
from ..symbolic.kinks import KinksWithin, heaviside_at_zero, kinks_within, switches
from ..symbolic.parse import resolve
from .quadrature import _panel_integrals
from .riemann import RULES, _observed_order, rule_weights

__all__ = [
    "METHODS",
    "STUDY_STEPS",
    "THEORY",
    "Attribution",
    "AttributionStudy",
    "Differentiable",
    "ExpressionFunction",
    "as_differentiable",
    "integrated_gradients",
]

#: The methods `integrated_gradients` takes, exact first.
METHODS: tuple[str, ...] = ("exact", *RULES, "gauss_legendre")
#: Order of convergence of the completeness error on smooth f (steps⁻ᵖ).
THEORY: Mapping[str, int | str] = {
    "left": 1,
    "right": 1,
    "midpoint": 2,
    "trapezoid": 2,
    "gauss_legendre": "spectral",
}
#: Step counts of the convergence study: 2, 4, ..., 1024.
STUDY_STEPS: tuple[int, ...] = tuple(2**k for k in range(1, 11))
#: Largest number of steps accepted (Gauss-Legendre: its nodes cost O(steps²) to find).
MAX_STEPS = 1_000_000
MAX_GAUSS_STEPS = 2000


class Differentiable(Protocol):
    """What attribution needs of f: its inputs' names, its values and its gradient.

    ``value`` maps an (m, d) array of points to m values, ``gradient`` to an (m, d) array.
    """

    names: tuple[str, ...]

    def value(self, points: np.ndarray) -> np.ndarray: ...

    def gradient(self, points: np.ndarray) -> np.ndarray: ...


# -- f as an expression -------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class ExpressionFunction:
    """f as a SymPy expression: stable kernels for f and for each ∂f/∂xᵢ (derived)."""

    text: str
    entry: Entry
    convention: str = "zero"

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(v.name for v in self.entry.variables)

    def _columns(self, points: np.ndarray) -> list[np.ndarray]:
        return [points[:, i] for i in range(points.shape[1])]

    def value(self, points: np.ndarray) -> np.ndarray:
        from .kernels import kernel

        f = kernel(self.entry, convention=self.convention)
        return np.broadcast_to(f(*self._columns(points)), points.shape[:1]).astype(float)

    def gradient(self, points: np.ndarray) -> np.ndarray:
        from .kernels import kernel

        columns = self._columns(points)
        return np.column_stack(
            [
                np.broadcast_to(
                    kernel(self.entry, order=1, wrt=v, convention=self.convention)(*columns),
                    points.shape[:1],
                )
                for v in self.entry.variables
            ]
        ).astype(float)

    def symbolic(self) -> tuple[sympy.Expr, tuple[sympy.Symbol, ...]]:
        return self.entry.bind(), tuple(self.entry.variables)

    def _path_kinks(self, at: np.ndarray, baseline: np.ndarray) -> KinksWithin:
        """The kinks of f(γ(α)) in α on [0, 1] (`kinks_within`)."""
        alpha = _PATH_ALPHA
        path = {
            s: _exact_float(b) + alpha * (_exact_float(a) - _exact_float(b))
            for s, a, b in zip(self.entry.variables, at, baseline, strict=True)
        }
        return kinks_within(_rational_floats(self.entry.bind()).xreplace(path), alpha, 0.0, 1.0)

    def breakpoints(self, at: np.ndarray, baseline: np.ndarray) -> np.ndarray:
        """α in (0, 1) where ∇f may jump on the path γ(α) = x′ + α(x − x′): the kinks of
        f(γ(α)) in α (`kinks_within`: every period of |sin(3x + y)| on the path)."""
        found = self._path_kinks(at, baseline)
        return np.array([p for p in found.points if 0.0 < p < 1.0])

    def breakpoints_note(self, at: np.ndarray, baseline: np.ndarray) -> str | None:
        """Why `breakpoints` may miss some jumps of ∇f on the path; None where it does not."""
        return _path_note(self._path_kinks(at, baseline).note(0.0, 1.0))

    def __repr__(self) -> str:
        return f"<ExpressionFunction {self.text} of {', '.join(self.names)}>"


def as_differentiable(
    f: str | sympy.Expr | Entry | Differentiable, convention: str = "zero"
) -> Differentiable:
    """``f`` as something with names, values and a gradient (an expression is compiled).

    Examples
    --------
    >>> g = as_differentiable("x**2*y")
    >>> g.names, g.gradient(np.array([[1.0, 3.0]])).tolist()
    (('x', 'y'), [[6.0, 1.0]])
    """
    if hasattr(f, "gradient") and hasattr(f, "value") and hasattr(f, "names"):
        return f  # type: ignore[return-value]
    model = function_of(f)  # a model fitted by descend: its output as f(features)
    if model is not None:
        return model
    heaviside_at_zero(convention)
    entry = resolve(f)
    if entry.params:
        entry = resolve(entry.bind())
    text = f if isinstance(f, str) else entry.name
    return ExpressionFunction(text, entry, convention)


# -- inputs -------------------------------------------------------------------------------


def _point(value: Any, names: Sequence[str], what: str) -> np.ndarray:
    """A mapping {name: number} or a sequence in the order of ``names``, as floats."""
    if isinstance(value, Mapping):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise SymcalcError(
                f"`{what}` names '{unknown[0]}', which is not an input of f"
                f"{did_you_mean(str(unknown[0]), names)} (inputs: {', '.join(names)})",
                parameter=what,
            )
        missing = [n for n in names if n not in value]
        if missing:
            raise SymcalcError(
                f"`{what}` needs a value for every input; missing: {', '.join(missing)}",
                parameter=what,
            )
        values = [value[n] for n in names]
    else:
        values = list(np.ravel(np.asarray(value, dtype=object)))
        if len(values) != len(names):
            raise SymcalcError(
                f"`{what}` has {len(values)} values but f has {len(names)} inputs "
                f"({', '.join(names)})",
                parameter=what,
            )
    return np.array([_number(v, what, n) for n, v in zip(names, values, strict=True)])


def _check_path(at: np.ndarray, baseline: np.ndarray, names: Sequence[str]) -> None:
    """Refuse a path whose steps x − x′ are beyond float64 (every attribution holds one)."""
    with np.errstate(over="ignore"):
        far = [n for n, a, b in zip(names, at, baseline, strict=True) if not np.isfinite(a - b)]
    if far:
        raise SymcalcError(
            f"x − x′ is beyond the floating-point range (about ±1.8e308) for {', '.join(far)}; "
            "choose `at` and `baseline` closer together",
            parameter="baseline",
        )


def _number(value: Any, what: str, name: str) -> float:
    """The value ``what`` gives input ``name``, as a finite float."""
    try:
        return check_number(value, what)
    except SymcalcError:
        raise SymcalcError(
            f"`{what}` must give {name} a finite number, got {value!r}", parameter=what
        ) from None


def _check_steps(steps: Any) -> int:
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)):
        raise SymcalcError(f"`steps` must be a whole number, got {steps!r}", parameter="steps")
    if not 1 <= steps <= MAX_STEPS:
        raise SymcalcError(f"`steps` must be from 1 to {MAX_STEPS}, got {steps}", parameter="steps")
    return int(steps)


def _check_method(method: str) -> str:
    if method not in METHODS:
        raise SymcalcError(
            f"unknown `method` '{method}'{did_you_mean(str(method), METHODS)} "
            f"(choose one of {', '.join(METHODS)})",
            parameter="method",
        )
    return method


# -- the path -----------------------------------------------------------------------------


@functools.lru_cache(maxsize=64)
def _gauss_nodes(steps: int) -> tuple[np.ndarray, np.ndarray]:
    from scipy.special import roots_legendre

    t, w = roots_legendre(steps)
    return (t + 1) / 2, w / 2


def _nodes(method: str, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Points α in [0, 1] and weights of the rule (Σ weights = 1)."""
    if method == "gauss_legendre":
        if steps > MAX_GAUSS_STEPS:
            raise SymcalcError(
                f"gauss_legendre takes at most {MAX_GAUSS_STEPS} `steps` (it is exact to "
                f"rounding long before), got {steps}",
                parameter="steps",
            )
        return _gauss_nodes(steps)
    return rule_weights(0.0, 1.0, steps, method)


def _path_gradients(f: Differentiable, at, baseline, alphas: np.ndarray) -> np.ndarray:
    points = baseline[None, :] + alphas[:, None] * (at - baseline)[None, :]
    with np.errstate(all="ignore"):
        gradients = np.asarray(f.gradient(points), dtype=float).reshape(points.shape)
    bad = ~np.isfinite(gradients).all(axis=1)
    if bad.any():
        alpha = float(alphas[np.flatnonzero(bad)[0]])
        raise SymcalcError(
            f"the gradient of f is not finite at α = {alpha:.6g} on the path from the baseline "
            "to the input; choose a `baseline` from which the straight path stays where f is "
            "smooth",
            parameter="baseline",
        )
    return gradients


def _rule(f: Differentiable, at, baseline, method: str, steps: int) -> np.ndarray:
    alphas, weights = _nodes(method, steps)
    return (at - baseline) * (weights @ _path_gradients(f, at, baseline, alphas))


def _quadrature(f: Differentiable, at, baseline, i: int) -> float:
    """(xᵢ − x′ᵢ)·∫₀¹ ∂ᵢf(γ(α)) dα by adaptive Gauss-Legendre (about 1e-14 relative)."""
    if at[i] == baseline[i]:
        return 0.0

    def integrand(alphas: np.ndarray) -> np.ndarray:
        flat = np.ravel(alphas)
        return _path_gradients(f, at, baseline, flat)[:, i].reshape(np.shape(alphas))

    # where ∇f jumps along the path (a network's relu units switching), the integral is
    # taken piece by piece: adaptive quadrature across a jump stopped 2e-4 off
    breakpoints = getattr(f, "breakpoints", None)
    cuts = np.empty(0) if breakpoints is None else np.asarray(breakpoints(at, baseline))
    edges = np.concatenate([[0.0], cuts, [1.0]])
    totals, converged = _panel_integrals(integrand, edges[:-1], edges[1:])
    total = [float(np.sum(totals))]
    if not converged:
        note = _breakpoints_note(f, at, baseline)
        why = (
            f": ∇f may jump where no panel ends; {note};"
            if note
            else (" (f is not integrable along the path?);")
        )
        raise SymcalcError(
            f"the path integral for '{f.names[i]}' did not converge{why} choose another "
            "`baseline` or a rule `method`",
            parameter="baseline",
        )
    return float((at[i] - baseline[i]) * total[0])


def _breakpoints_note(f: Differentiable, at: np.ndarray, baseline: np.ndarray) -> str | None:
    """Why f's breakpoints on the path may be incomplete (None: complete, or f lists none)."""
    note = getattr(f, "breakpoints_note", None)
    return None if note is None else note(at, baseline)


def _exact_float(x: float) -> sympy.Rational:
    return sympy.Rational(float(x))  # the binary value exactly


def _rational_floats(expr: sympy.Expr) -> sympy.Expr:
    """``expr`` with every Float replaced by the exact rational of its binary value."""
    floats = expr.atoms(sympy.Float)
    return expr.xreplace({v: sympy.Rational(v) for v in floats}) if floats else expr


#: The path parameter α of γ(α) = x′ + α(x − x′), one symbol so lists of kinks are cached.
_PATH_ALPHA = sympy.Dummy("alpha", real=True)


def _path_note(note: str | None) -> str | None:
    """A kink list's note (`KinksWithin.note`) said of the path parameter α."""
    if note is None:
        return None
    return f"on the path γ(α) = x′ + α(x − x′), {note}".replace(str(_PATH_ALPHA), "α")


def _symbolic_integrals(
    expr: sympy.Expr,
    symbols: tuple[sympy.Symbol, ...],
    at: tuple[float, ...],
    baseline: tuple[float, ...],
    convention: str,
) -> Iterator[tuple[Any, ...]]:
    """Yields the exact attributions found so far (None where SymPy cannot integrate)."""
    alpha = sympy.Dummy("alpha", real=True)
    path = {
        s: _exact_float(b) + alpha * (_exact_float(a) - _exact_float(b))
        for s, a, b in zip(symbols, at, baseline, strict=True)
    }
    done: dict[sympy.Expr, sympy.Expr | None] = {}
    found: list[Any] = []
    for s, a, b in zip(symbols, at, baseline, strict=True):
        length = _exact_float(a) - _exact_float(b)
        if length == 0:
            found.append(sympy.Float(0, 30))
            yield tuple(found)
            continue
        # SymPy integrates Floats inexactly (∫₀¹ −1/(2α + 1e-4)² dα came out 0): every
        # Float becomes the rational it stands for, as the inputs do
        integrand = _rational_floats(differentiate(expr, s, convention)).xreplace(path)
        constant, varying = integrand.as_independent(alpha, as_Add=False)
        if varying not in done:
            done[varying] = _integral_over_path(varying, alpha)
        integral = done[varying]
        value = None if integral is None else (length * constant * integral).evalf(30)
        found.append(value if value is not None and value.is_real and value.is_finite else None)
        yield tuple(found)


def _integral_over_path(integrand: sympy.Expr, alpha: sympy.Symbol) -> sympy.Expr | None:
    """∫₀¹ integrand dα by SymPy, or None where it fails or cannot be trusted: a switch
    (sign, Piecewise condition) that is not a polynomial in α.  SymPy integrates
    sign(sin(13α + 3/10))·cos(13α + 3/10) over [0, 1] to 0 (it is 0.0288) and drops the
    conditions of such a Piecewise; numeric quadrature, cut at the kinks, takes over."""
    for u in switches(integrand):
        numerator = sympy.fraction(sympy.together(u))[0]
        if u.has(alpha) and not numerator.is_polynomial(alpha):
            return None
    integral = sympy.integrate(integrand, (alpha, 0, 1))
    return None if integral.has(sympy.Integral) else integral


def _exact(
    f: Differentiable, at, baseline, convention: str, timeout: float | None
) -> tuple[np.ndarray, tuple[str, ...]]:
    symbolic = getattr(f, "symbolic", None)
    found: tuple[Any, ...] = ()
    if symbolic is not None and symbolic() is not None:
        expr, symbols = symbolic()
        args = (expr, symbols, tuple(at), tuple(baseline), convention)
        last, _ = budget.best_within(timeout, _symbolic_integrals, *args)
        found = last or ()
    values, how = [], []
    for i in range(len(at)):
        if i < len(found) and found[i] is not None:
            values.append(float(found[i]))
            how.append("symbolic")
        else:
            values.append(_quadrature(f, at, baseline, i))
            how.append("numeric quadrature")
    return np.array(values), tuple(how)


def _difference(f: Differentiable, at, baseline) -> tuple[float, float, float]:
    """f(x), f(x′) and f(x) − f(x′), from the expression at 30 digits when there is one."""
    symbolic = getattr(f, "symbolic", None)
    form = symbolic() if symbolic is not None else None
    if form is not None:
        expr, symbols = form
        ends = []
        for point in (at, baseline):
            value = expr.xreplace({s: _exact_float(v) for s, v in zip(symbols, point, strict=True)})
            value = value.evalf(30)
            ends.append(value if value.is_real and value.is_finite else None)
        if all(e is not None for e in ends):
            return _representable(ends[0], ends[1])
    with np.errstate(all="ignore"):
        values = np.asarray(f.value(np.vstack([at, baseline])), dtype=float)
    if not np.isfinite(values).all():
        raise SymcalcError(
            "f is not finite at the input or the baseline; choose `at` and `baseline` where "
            "f is defined",
            parameter="at",
        )
    return _representable(float(values[0]), float(values[1]))


def _representable(value_at: Any, value_baseline: Any) -> tuple[float, float, float]:
    """(f(x), f(x′), f(x) − f(x′)) as floats; refused where one is beyond float64, since
    attributions adding up to such a difference cannot be represented."""
    exact = (sympy.Float(value_at, 30), sympy.Float(value_baseline, 30))
    triple = (float(exact[0]), float(exact[1]), float(exact[0] - exact[1]))
    if all(math.isfinite(v) for v in triple):
        return triple
    raise SymcalcError(
        f"f(x) = {sympy.Float(exact[0], 3)}, f(x′) = {sympy.Float(exact[1], 3)}: f or "
        "f(x) − f(x′) is beyond the floating-point range (about ±1.8e308), so attributions "
        "adding up to the difference cannot be represented; rescale f, or choose `at` and "
        "`baseline` where f is smaller",
        parameter="at",
    )


# -- convergence --------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class AttributionStudy:
    """|completeness error| of each numeric rule for ``steps`` = 2 .. 1024, and the orders.

    ``orders[method]`` is the slope p of error ≈ C·steps⁻ᵖ (Riemann rules), ``"spectral"``
    for Gauss-Legendre when its error falls faster than any power (to the rounding
    floor), or None when the rule is exact for this f (error at the floor throughout).
    A rule that samples a point where ∇f is not finite (the left rule at a baseline where
    √x has its pole) is left out, with the reason in ``unavailable``.
    """

    steps: np.ndarray
    errors: dict[str, np.ndarray]
    orders: dict[str, float | str | None]
    floor: float
    unavailable: dict[str, str] = dataclasses.field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "steps": self.steps.tolist(),
            "errors": {m: [float(e) for e in v] for m, v in self.errors.items()},
            "orders": dict(self.orders),
            "floor": self.floor,
            "unavailable": dict(self.unavailable),
        }

    def to_text(self) -> str:
        shown = ", ".join(f"{m} {_order_text(o)}" for m, o in self.orders.items())
        first, last = int(self.steps[0]), int(self.steps[-1])
        text = f"observed orders of the completeness error (steps {first} .. {last}): {shown}"
        for method, why in self.unavailable.items():
            text += f"\n  {method}: not available ({why})"
        return text

    def __repr__(self) -> str:
        return f"<AttributionStudy {self.to_text()}>"


def _order_text(order: float | str | None) -> str:
    if order is None:
        return "exact"
    return order if isinstance(order, str) else f"{order:.2f}"


def _gauss_order(counts: np.ndarray, errors: np.ndarray, floor: float) -> float | str | None:
    """Spectral when the error falls to the rounding floor by 64 points, faster than any
    power of the steps (f∘γ analytic; rounding noise may lift it a little above the floor
    later); otherwise the fitted algebraic order (at a kink on the path)."""
    above = errors > floor
    if not above.any():
        return None
    reached = np.flatnonzero(~above)
    if reached.size and counts[reached[0]] <= 64:
        return "spectral"
    return _observed_order(counts, errors, floor)


def _study(f: Differentiable, at, baseline, difference: float, scale: float) -> AttributionStudy:
    counts = np.array(STUDY_STEPS)
    floor = 1e3 * np.finfo(float).eps * max(abs(difference), scale)
    errors, orders, unavailable = {}, {}, {}
    for method in THEORY:
        try:
            totals = np.array([_rule(f, at, baseline, method, int(n)).sum() for n in counts])
        except SymcalcError as exc:
            unavailable[method] = str(exc).split(";")[0]
            continue
        errors[method] = np.abs(totals - difference)
        if method == "gauss_legendre":
            orders[method] = _gauss_order(counts, errors[method], floor)
        else:
            orders[method] = _observed_order(counts, errors[method], floor)
    return AttributionStudy(counts, errors, orders, float(floor), unavailable)


# -- the result ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class Attribution:
    """Integrated gradients of f from ``baseline`` to ``at``, checked for completeness.

    ``attributions[i]`` belongs to ``names[i]``; ``sum`` is their total, ``difference``
    f(x) − f(x′), ``completeness_error`` their difference (sum − difference).  ``order``
    is the observed order of the chosen rule (None for ``exact``).  ``saliency`` is
    ∇f(x) and ``gradient_times_input`` (x − x′) ⊙ ∇f(x), for comparison.
    """

    input: str
    names: tuple[str, ...]
    at: np.ndarray
    baseline: np.ndarray
    method: str
    steps: int | None
    attributions: np.ndarray
    value_at: float
    value_baseline: float
    difference: float
    exact_by: tuple[str, ...] | None
    saliency: np.ndarray
    gradient_times_input: np.ndarray
    study: AttributionStudy
    #: Caveats, in words: where the numeric path integral may have crossed a jump of ∇f
    #: that no panel ends at (a list of kinks on the path that may be incomplete).
    notes: tuple[str, ...] = ()

    @property
    def sum(self) -> float:
        return float(np.sum(self.attributions))

    @property
    def completeness_error(self) -> float:
        return self.sum - self.difference

    @property
    def relative_completeness_error(self) -> float:
        scale = max(abs(self.difference), float(np.sum(np.abs(self.attributions))), 1e-300)
        return abs(self.completeness_error) / scale

    @property
    def order(self) -> float | str | None:
        return None if self.method == "exact" else self.study.orders.get(self.method)

    def _gap(self, values: np.ndarray) -> float:
        return float(np.sum(values)) - self.difference

    def comparison(self) -> list[str]:
        """Where the simpler attributions violate completeness, in words."""
        tolerance = 1e-9 * max(abs(self.difference), 1e-300)
        lines = []
        gap = self._gap(self.gradient_times_input)
        if abs(gap) > tolerance:
            lines.append(
                f"gradient × input (x − x′)⊙∇f(x) violates completeness: its sum is "
                f"{np.sum(self.gradient_times_input):.6g}, not {self.difference:.6g} (off by "
                f"{gap:.3g}); it is the right Riemann sum with one step, exact only where f is "
                "linear along the path"
            )
        else:
            lines.append(
                "gradient × input adds up to f(x) − f(x′) here: f is linear along the path"
            )
        lines.append(
            f"saliency ∇f(x) is a rate, not a share of f(x) − f(x′): its sum "
            f"{np.sum(self.saliency):.6g} is off by {self._gap(self.saliency):.3g}; "
            "completeness fails for it in general"
        )
        return lines

    def to_text(self) -> str:
        """The attributions by input, the completeness check, the comparison and the orders."""
        how = self.method if self.steps is None else f"{self.method}, {self.steps} steps"
        if self.exact_by is not None:
            ways = sorted(set(self.exact_by))
            how += " (" + (ways[0] if len(ways) == 1 else "symbolic and numeric quadrature")
            how += " path integral)"
        lines = [
            f"integrated gradients of {self.input}, from the baseline x′ to the input x",
            f"method: {how}",
        ]
        width = max(5, *(len(n) for n in self.names))
        lines.append(
            f"  {'input':<{width}}  {'x′':>10}  {'x':>10}  {'IG':>14}  {'gradient×input':>14}"
            f"  {'saliency':>11}"
        )
        for i in np.argsort(-np.abs(self.attributions), kind="stable"):
            lines.append(
                f"  {self.names[i]:<{width}}  {self.baseline[i]:>10.4g}  {self.at[i]:>10.4g}  "
                f"{self.attributions[i]:>14.8g}  {self.gradient_times_input[i]:>14.6g}  "
                f"{self.saliency[i]:>11.4g}"
            )
        lines += [
            f"sum of attributions  {self.sum:.15g}",
            f"f(x) − f(x′)         {self.difference:.15g}   "
            f"(f(x) = {self.value_at:.10g}, f(x′) = {self.value_baseline:.10g})",
            f"completeness error   {self.completeness_error:.3g} "
            f"(relative {self.relative_completeness_error:.2g})",
        ]
        if self.order is not None:
            lines.append(f"observed order of {self.method}: {_order_text(self.order)}")
        lines += self.comparison()
        lines.append(self.study.to_text())
        lines += [f"note: {note}" for note in self.notes]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: input, at, baseline, method, steps, attributions, sum, difference,
        completeness_error, order, the comparison and convergence study, and notes."""

        def by_name(values: np.ndarray) -> dict[str, float]:
            return {n: float(v) for n, v in zip(self.names, values, strict=True)}

        return {
            "input": self.input,
            "at": by_name(self.at),
            "baseline": by_name(self.baseline),
            "method": self.method,
            "steps": self.steps,
            "attributions": by_name(self.attributions),
            "sum": self.sum,
            "difference": self.difference,
            "completeness_error": self.completeness_error,
            "relative_completeness_error": self.relative_completeness_error,
            "order": self.order,
            "value_at": self.value_at,
            "value_baseline": self.value_baseline,
            "exact_by": None if self.exact_by is None else by_name_text(self.names, self.exact_by),
            "gradient_times_input": {
                "attributions": by_name(self.gradient_times_input),
                "sum": float(np.sum(self.gradient_times_input)),
                "completeness_gap": self._gap(self.gradient_times_input),
            },
            "saliency": {
                "gradient": by_name(self.saliency),
                "sum": float(np.sum(self.saliency)),
                "completeness_gap": self._gap(self.saliency),
            },
            "comparison": self.comparison(),
            "convergence": self.study.to_dict(),
            "notes": list(self.notes),
        }

    def _repr_png_(self) -> bytes:
        return png_of(self)

    def __repr__(self) -> str:
        return (
            f"<Attribution {self.method} of {self.input}: sum {self.sum:.6g}, "
            f"f(x) − f(x′) {self.difference:.6g}, completeness error {self.completeness_error:.2g}>"
        )


def by_name_text(names: Sequence[str], values: Sequence[str]) -> dict[str, str]:
    return dict(zip(names, values, strict=True))


def integrated_gradients(
    f: str | sympy.Expr | Entry | Differentiable | Any,
    at: Mapping[str, float] | Sequence[float],
    baseline: Mapping[str, float] | Sequence[float] | None = None,
    method: str = "exact",
    steps: int = 50,
    *,
    convention: str = "zero",
    timeout: float | None = budget.DEFAULT_SECONDS,
) -> Attribution:
    """Integrated gradients of ``f`` at ``at`` from ``baseline`` (default: all zeros).

    ``at`` and ``baseline`` are {name: value} mappings or sequences in the order of
    f's inputs.  ``method`` is ``"exact"`` (symbolic path integral under ``timeout``,
    adaptive quadrature where that fails), ``"left"``, ``"right"``, ``"midpoint"``,
    ``"trapezoid"`` or ``"gauss_legendre"`` with ``steps`` points.  See the module
    docstring.

    Examples
    --------
    >>> ig = integrated_gradients("x*y*sin(x + y)", at=[1, 2], method="midpoint", steps=50)
    >>> round(ig.sum, 6), round(ig.difference, 6), round(ig.order, 2)
    (0.282669, 0.28224, 2.0)
    >>> {m: o if isinstance(o, str) else round(o) for m, o in ig.study.orders.items()}
    {'left': 1, 'right': 1, 'midpoint': 2, 'trapezoid': 2, 'gauss_legendre': 'spectral'}
    """
    method = _check_method(method)
    steps = _check_steps(steps)
    g = as_differentiable(f, convention)
    names = tuple(g.names)
    x = _point(at, names, "at")
    x0 = np.zeros(len(names)) if baseline is None else _point(baseline, names, "baseline")
    _check_path(x, x0, names)
    value_at, value_baseline, difference = _difference(g, x, x0)
    gradient_at = _path_gradients(g, x, x0, np.array([1.0]))[0]
    if method == "exact":
        attributions, exact_by = _exact(g, x, x0, convention, timeout)
    else:
        attributions, exact_by = _rule(g, x, x0, method, steps), None
    scale = float(np.sum(np.abs(attributions)))
    study = _study(g, x, x0, difference, scale)
    numeric = exact_by is not None and "numeric quadrature" in exact_by
    note = _breakpoints_note(g, x, x0) if numeric else None
    return Attribution(
        input=getattr(g, "text", None) or (f if isinstance(f, str) else repr(g)),
        names=names,
        at=x,
        baseline=x0,
        method=method,
        steps=None if method == "exact" else steps,
        attributions=np.asarray(attributions, dtype=float),
        value_at=value_at,
        value_baseline=value_baseline,
        difference=difference,
        exact_by=exact_by,
        saliency=gradient_at,
        gradient_times_input=(x - x0) * gradient_at,
        study=study,
        notes=() if note is None else (note,),
    )
