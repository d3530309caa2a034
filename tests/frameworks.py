"""What the framework tests share: points away from kinks, catalog arguments, the promise.

Not a test module (no ``test_`` prefix): `test_export_jax`, `test_export_torch` and
`test_export_module` import it.  The mpmath truth and the points across the whole float
range are those of `test_stability` (the NumPy kernels' promise), so the frameworks are
held to exactly the same statement.
"""

from __future__ import annotations

import math

import numpy as np
import sympy
from test_stability import Truth as _Truth
from test_stability import _mixed_error_ok, configurations, domain_points

from symcalc.symbolic.catalog import CATALOG, get

__all__ = [
    "CATALOG_NAMES",
    "EXPORT_TARGETS",
    "RTOL",
    "Truth",
    "configurations",
    "check_exported",
    "domain_points",
    "exported_functions",
    "grad_points",
    "promise_failures",
    "run_exported",
    "target_values",
]

CATALOG_NAMES = sorted(CATALOG)

RTOL = {np.dtype(np.float64): 1e-12, np.dtype(np.float32): 1e-5}


def grad_points(name: str) -> np.ndarray:
    """Points of the main variable for finite-difference checks: inside the domain and at
    least 0.05 from every kink and jump of the catalog (0, ±0.5, ±1, ±3, 6, p·y = 1)."""
    entry = get(name)
    domain = entry.domain_of(entry.variable)
    if domain == sympy.S.Reals:
        return np.array([-3.7, -1.3, -0.71, 0.27, 0.83, 2.2, 4.1])
    lo, hi = float(domain.inf), float(domain.sup)
    return lo + (hi - lo) * np.array([0.13, 0.41, 0.77])


def target_values(name: str) -> list[float]:
    """Values of the variables after the main one: the entry's fixed ones (or 0.3)."""
    entry = get(name)
    return [float(entry.fixed.get(v.name, 0.3)) for v in entry.variables[1:]]


class Truth:
    """mpmath values of ``expr`` in ``variables`` (the main one first): for each set of
    values of the others, put in exactly (as rationals), a `test_stability.Truth` in the
    main variable, as `test_stability.truth_for` builds it for the NumPy kernels."""

    def __init__(self, expr: sympy.Expr, variables, lowered: sympy.Expr | None = None):
        self._expr, self._lowered = expr, expr if lowered is None else lowered
        self._variables = tuple(variables)
        self._by_others: dict[tuple[float, ...], _Truth] = {}

    def of(self, others) -> _Truth:
        """The truth in the main variable with the others at ``others``."""
        key = tuple(float(a) for a in others)
        if key not in self._by_others:
            main, *rest = self._variables
            subs = {v: sympy.Rational(a) for v, a in zip(rest, key, strict=True)}
            self._by_others[key] = _Truth(self._expr.subs(subs), main, self._lowered.subs(subs))
        return self._by_others[key]

    def at(self, args) -> float:
        main, *others = args
        return self.of(others).at(float(main))


def promise_failures(
    values: np.ndarray,
    main_values: np.ndarray,
    config: dict[str, float],
    truth: Truth,
    dtype,
    atol: float,
) -> list[tuple]:
    """The points where ``values`` break the kernel promise (as `test_stability` states it:
    relative ``RTOL``, absolute ``atol`` where the truth is smaller, or the documented
    mixed forward-backward error where f is ill-conditioned).  Points whose true value is not a
    finite number of the dtype are outside the promise."""
    dtype = np.dtype(dtype)
    rtol, biggest = RTOL[dtype], float(np.finfo(dtype).max)
    others = [float(np.asarray(v, dtype)) for v in config.values()]
    failures = []
    single = truth.of(others)
    single.many(main_values)  # from the store
    for x, got in zip(main_values.tolist(), np.asarray(values).tolist(), strict=True):
        expected = single.at(x)
        if not (math.isfinite(expected) and abs(expected) <= biggest):
            continue
        if not math.isfinite(got):
            failures.append((x, got, expected, "not finite"))
            continue
        error = abs(got - expected)
        if error <= rtol * abs(expected) or (abs(expected) < atol and error <= atol):
            continue
        if _mixed_error_ok(single, x, got, rtol):
            continue
        failures.append((x, got, expected, f"relative error {error / abs(expected):.3g}"))
    return failures


#: What ``symcalc export --to`` writes for.
EXPORT_TARGETS = ("jax", "torch", "numpy")
_EXPORTED: dict = {}


def exported_functions(text: str, to: str) -> list:
    """The functions of ``symcalc export --to <to>`` of ``text``, by order (run once each)."""
    from symcalc import export_module

    if (text, to) not in _EXPORTED:
        namespace: dict = {}
        exec(compile(export_module(text, to=to).source, "<m>", "exec"), namespace)  # noqa: S102
        names = [n for n in ("f", "d_f_dx", "d2_f_dx2") if n in namespace]
        _EXPORTED[text, to] = [namespace[n] for n in names]
    return _EXPORTED[text, to]


def run_exported(function, to: str, x: np.ndarray) -> np.ndarray:
    """``function`` of ``x`` (a stack of arguments along the first axis for two) in its
    framework, as a NumPy array."""
    args = [x] if x.ndim == 1 else list(x)
    if to == "jax":
        import jax
        import jax.numpy as jnp

        with jax.enable_x64(x.dtype == np.float64):
            return np.asarray(function(*map(jnp.asarray, args)))
    if to == "torch":
        import torch

        return function(*map(torch.as_tensor, args)).numpy()
    with np.errstate(all="ignore"):
        return np.asarray(function(*args))


def check_exported(text: str, order: int, points, truth, dtype=np.float64) -> None:
    """Every exported module of ``text`` at ``points`` against ``truth(text, order, x)``,
    within the promise of ``dtype``."""
    x = np.asarray(points, dtype)
    rtol = 1e-12 if dtype == np.float64 else 1e-5
    expected = np.array([truth(text, order, float(p)) for p in x])
    for to in EXPORT_TARGETS:
        got = run_exported(exported_functions(text, to)[order], to, x)
        np.testing.assert_allclose(got, expected, rtol=rtol, err_msg=f"{to}: {text} order {order}")
