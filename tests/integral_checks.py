"""An independent judge of antiderivatives, for the tests and the corpus report.

It shares no code with symcalc's own verification: points are drawn with NumPy, f and
F are evaluated by mpmath at 50 digits, F' comes from SymPy's ``diff``, and definite
integrals F(b) − F(a) are compared with ``mpmath.quad`` between points where f stays
finite (so a jump in F, or a wrong constant across a piece, is caught).  Every step
∫ g d(var) = G is checked the same way: G' = g.

``judge(result)`` returns ``"right"``, ``"none"`` (no verified closed form) or
``"wrong: why"``.
"""

from __future__ import annotations

import functools
from pathlib import Path

import mpmath
import numpy as np
import sympy

CORPUS_FILE = Path(__file__).parent / "data" / "integrands.txt"


def corpus() -> list[tuple[str, str]]:
    """(integrand, source) pairs of the corpus file."""
    out = []
    for line in CORPUS_FILE.read_text(encoding="utf-8").splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        expr, _, source = line.partition("|")
        out.append((expr.strip(), source.strip()))
    return out


def _values(result) -> dict[sympy.Symbol, sympy.Expr]:
    """Numbers for the symbols a result kept (parameters, other variables of a loss)."""
    entry = result.entry
    values = {sympy.Symbol(k, real=True): v for k, v in entry.params.items()}
    values.update({sympy.Symbol(k, real=True): sympy.nsimplify(v) for k, v in entry.fixed.items()})
    return values


def _function(expr: sympy.Expr, x: sympy.Symbol, values):
    body = expr.xreplace(values)
    from symcalc.symbolic.functions import expand_named

    body = expand_named(body)
    compiled = sympy.lambdify(x, body, modules="mpmath")

    def evaluate(point):
        """The value as an mpmath number (50 digits), or None where undefined."""
        with mpmath.workdps(50):
            try:
                value = mpmath.mpmathify(compiled(mpmath.mpf(point)))
            except (ZeroDivisionError, ValueError, TypeError, OverflowError):
                try:
                    value = mpmath.mpmathify(
                        complex(body.subs(x, sympy.Float(point, 50)).evalf(50))
                    )
                except (TypeError, ValueError, ZeroDivisionError):
                    return None
            except Exception:  # noqa: BLE001 - mpmath's own errors: undefined here
                return None
            if not (mpmath.isfinite(mpmath.re(value)) and mpmath.isfinite(mpmath.im(value))):
                return None
            return mpmath.mpc(value)

    return evaluate


def _diff(F: sympy.Expr, x: sympy.Symbol) -> sympy.Expr:
    """SymPy's derivative, with floor' = 0 (F is checked for jumps separately)."""
    d = sympy.diff(F, x)
    if d.has(sympy.Derivative):
        d = d.replace(
            lambda e: (
                isinstance(e, sympy.Derivative) and e.expr.func in (sympy.floor, sympy.ceiling)
            ),
            lambda e: sympy.S.Zero,
        ).doit()
    return d


def _real(value) -> bool:
    return value is not None and abs(value.imag) <= 1e-25 * max(1, abs(value.real))


def _points(f, rng: np.random.Generator, count: int = 12) -> list[float]:
    """Points where f is real and finite, drawn over [-8, 8] (more near 0)."""
    candidates = np.concatenate([rng.uniform(-8, 8, count), rng.uniform(-2, 2, count)])
    return [float(p) for p in candidates if _real(f(float(p)))]


def _close(a: complex, b: complex, scale: float) -> bool:
    return abs(a - b) <= 1e-20 * max(1.0, scale)


def _smooth_between(f, a: float, b: float, kinks=(), samples: int = 200) -> bool:
    """f real, finite and without jumps or poles on a grid from a to b.

    At a kink (a branch switch of f) a jump is allowed: the quadrature is split there.
    """
    values = []
    for t in np.linspace(a, b, samples):
        v = f(float(t))
        if not _real(v):
            return False
        values.append(float(v.real))
    size = 1.0 + max(abs(v) for v in values)
    if not np.isfinite(size):
        return False
    grid = np.linspace(a, b, samples)
    steps = np.abs(np.diff(values))
    near_kink = np.array(
        [any(lo <= k <= hi for k in kinks) for lo, hi in zip(grid[:-1], grid[1:], strict=True)],
        dtype=bool,
    )
    smooth = bool(np.all((steps <= 0.1 * size) | near_kink))
    return max(abs(v) for v in values) < 1e6 * (1.0 + np.median(np.abs(values))) and smooth


def _kinks(expr: sympy.Expr, x: sympy.Symbol, values) -> list[float]:
    """Where f switches branch (SymPy's solve on the switching expressions)."""
    from symcalc.symbolic.kinks import kink_candidates

    out = []
    for point in kink_candidates(expr.xreplace(values), x):
        try:
            out.append(float(point))
        except TypeError:
            continue
    return sorted(set(out))


def check_derivative(F, f, dF, points) -> str | None:
    for p in points:
        value, F_value, slope = f(p), F(p), dF(p)
        if not _real(F_value):
            return f"F is not real and finite at x = {p:.6g}: {F_value}"
        if slope is None or not _close(slope, value, abs(value)):
            return f"F' = {slope} but f = {value} at x = {p:.6g}"
    return None


def check_definite(F, f, points, same_piece, kinks) -> str | None:
    """F(b) − F(a) against mpmath.quad (split at the kinks of f), for each pair of
    neighbouring sample points with f finite and free of jumps between them: a jump of F
    anywhere between the smallest and the largest point shows."""
    points = sorted(set(points))
    for a, b in zip(points, points[1:], strict=False):
        if b - a < 1e-6 or not same_piece(a, b) or not _smooth_between(f, a, b, kinks, 40):
            continue
        nodes = [a, *[k for k in kinks if a < k < b], b]
        with mpmath.workdps(30):
            truth = mpmath.quad(lambda t: mpmath.re(f(t) or 0), nodes)
            difference = F(b) - F(a)
            if abs(difference - truth) > 1e-15 * max(1, abs(truth)):
                return f"F({b:.6g}) - F({a:.6g}) = {difference.real}, the integral is {truth}"
    return None


def check_steps(result, rng) -> str | None:
    """Every step's result differentiates to its integrand (at points where that is real)."""
    values = _values(result)
    x = result.variable
    for step in result.step_list():
        if step.rule == "no rule found":
            return "a step has no rule"
        condition = step.condition
        if condition is not None and condition.xreplace(values) is sympy.false:
            continue
        g = _function(step.integrand, step.variable, values)
        residual = _function(
            _diff(step.result, step.variable) - step.integrand, step.variable, values
        )
        pool = rng.uniform(-6, 6, 24) if step.variable != x else rng.uniform(-8, 8, 24)
        checked = 0
        for p in pool:
            if step.where is not None and step.where.contains(float(p)) is not sympy.true:
                continue
            value = g(float(p))
            if not _real(value):
                continue
            r = residual(float(p))
            if r is None:
                continue  # the step's own formula is undefined here (outside its domain)
            if abs(r) > 1e-20 * max(1.0, abs(value)):
                return (
                    f"step '{step.rule}' is false at {step.variable} = {p:.6g}: "
                    f"∫ {step.integrand} d{step.variable} ≠ {step.result}"
                )
            checked += 1
            if checked == 3:
                break
    return None


def judge(result, seed: int = 20261125) -> str:
    """``"right"``, ``"none"`` or ``"wrong: ..."`` for an `Antiderivative`."""
    if not result.found:
        return "none"
    rng = np.random.default_rng(seed)
    values = _values(result)
    x = result.variable
    F_expr = result.antiderivative
    if F_expr.has(sympy.oo, -sympy.oo, sympy.zoo, sympy.nan, sympy.Integral):
        return f"wrong: F contains {F_expr}"
    f = _function(result.integrand, x, values)
    F = _function(F_expr, x, values)
    dF = _function(_diff(F_expr, x), x, values)
    points = _points(f, rng)
    if not points:
        return "wrong: no point where f is real, yet an F was returned"
    why = check_derivative(F, f, dF, points)
    if why is None:
        intervals = result.intervals

        @functools.cache
        def inside(k: int, p: float) -> bool:
            """Point ``p`` in the k-th interval (each point ends two pairs: asked twice)."""
            return intervals[k].contains(p) is sympy.true

        def same_piece(a, b):
            if not intervals:
                return True
            return any(inside(k, a) and inside(k, b) for k in range(len(intervals)))

        why = check_definite(F, f, points, same_piece, _kinks(result.integrand, x, values))
    if why is None:
        why = check_steps(result, rng)
    return "right" if why is None else f"wrong: {why}"
