"""The stability promise of `symcalc.numeric.kernels`, checked against mpmath for the whole catalog.

For every catalog entry and its first and second derivatives, at the extreme points
the issue lists (±1e3, ±745, ±710, ±50, ±1e-8, 0, the smallest subnormal, ...) and a
dense grid, restricted to the entry's domain, in float64 and float32: the kernel's
value is finite, raises no floating-point warning, and is within 1e-12 (float64) or
1e-5 (float32) relative of the truth, or within 1e-300 (1e-36) absolute where the
truth is that small.  Points that miss the relative bound must meet the documented
exception (mixed forward-backward error near a zero crossing) exactly as the module
docstring states it.

The truth evaluates the kernel's ``expr`` (the derivative as symcalc derives it,
before any stability rewrite) with mpmath, at a working precision raised until two
precisions agree to 50 digits.
"""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.numeric.kernels import kernel
from symcalc.numeric.rewrites import MPMATH_FUNCTIONS
from symcalc.symbolic.catalog import CATALOG, get

RTOL = {np.float64: 1e-12, np.float32: 1e-5}
ATOL = {np.float64: 1e-300, np.float32: 1e-36}
SMALLEST_SUBNORMAL = {
    np.float64: 5e-324,
    np.float32: float(np.finfo(np.float32).smallest_subnormal),
}

EXTREMES = [
    0.0,
    1e-300,
    1e-8,
    0.5,
    1.0,
    2.0,
    20.0,
    37.0,
    50.0,
    88.0,
    89.0,
    100.0,
    700.0,
    709.78,
    710.0,
    745.0,
    746.0,
    1e3,
]


def real_line_points(dtype) -> np.ndarray:
    """Extremes and a dense grid, both signs.

    The grid is rounded to float32 for both dtypes, so the two runs share their truth;
    float64 also gets the extremes float32 cannot hold (5e-324, 1e-300, 709.78, ...).
    """
    grid = np.concatenate(
        [np.linspace(-60, 60, 97), np.logspace(-12, 3, 31), -np.logspace(-12, 3, 31)]
    )
    extremes = np.array(EXTREMES + [SMALLEST_SUBNORMAL[dtype]])
    points = np.concatenate([extremes, -extremes, grid.astype(np.float32)]).astype(dtype)
    return np.unique(points)


def interval_points(lo: float, hi: float, left_open: bool, right_open: bool, dtype) -> np.ndarray:
    """Points of an interval: both ends (closed) or their nearest neighbours, and a grid."""
    eps = np.finfo(dtype).eps
    inner = [lo + (hi - lo) * float(t) for t in np.linspace(0, 1, 61, dtype=np.float32)[1:-1]]
    near = [lo + SMALLEST_SUBNORMAL[dtype], lo + 1e-300, lo + 1e-8, hi - 1e-8, hi - eps / 2]
    points = np.array(inner + near + ([] if left_open else [lo]) + ([] if right_open else [hi]))
    points = points.astype(dtype)
    keep = (points > lo if left_open else points >= lo) & (
        points < hi if right_open else points <= hi
    )
    return np.unique(points[keep])


def domain_points(entry, var, dtype) -> np.ndarray:
    domain = entry.domain_of(var)
    if domain == sympy.S.Reals:
        return real_line_points(dtype)
    if isinstance(domain, sympy.FiniteSet):
        return np.array([float(e) for e in domain], dtype=dtype)
    return interval_points(
        float(domain.inf), float(domain.sup), bool(domain.left_open), bool(domain.right_open), dtype
    )


def configurations(entry) -> list[dict[str, float]]:
    """Values for every variable but the main one: the entry's fixed values and two others."""
    others = entry.variables[1:]
    if not others:
        return [{}]
    configs = []
    for i in range(3):
        config = {}
        for v in others:
            domain = entry.domain_of(v)
            fixed = entry.fixed.get(v.name, 0.0)
            if domain == sympy.S.Reals:
                choices = [fixed, 1.3, -2.5]
            elif isinstance(domain, sympy.FiniteSet):
                choices = [fixed, -1.0, 1.0]
            else:
                choices = [fixed, 0.3, 0.0]
            config[v.name] = choices[i]
        configs.append(config)
    return configs


class Truth:
    """mpmath evaluation of an expression, raising precision until it is good to 50 digits."""

    def __init__(self, expr: sympy.Expr, variables):
        self.function = sympy.lambdify(variables, expr, modules=[MPMATH_FUNCTIONS, "mpmath"])
        self.cache: dict[tuple[float, ...], float] = {}

    def at(self, args: list[float]) -> float:
        key = tuple(args)
        if key not in self.cache:
            self.cache[key] = self._evaluate(args)
        return self.cache[key]

    def _evaluate(self, args: list[float]) -> float:
        # Values below 1e-300 only need to be known to be that small, so 380 digits cover
        # any cancellation that matters; the second precision proves the first settled.
        previous = None
        for dps in (380, 420, 840, 1680):
            with mpmath.workdps(dps):
                value = self.function(*[mpmath.mpf(float(a)) for a in args])
                value = mpmath.mpf(value) if not isinstance(value, mpmath.mpc) else value.real
            if previous is not None:
                scale = max(abs(value), abs(previous))
                if scale < mpmath.mpf("1e-330") or abs(value - previous) <= scale * mpmath.mpf(
                    "1e-50"
                ):
                    return float(value)
            previous = value
        raise AssertionError(f"mpmath truth did not settle at {args}")


def check_points(k, truth: Truth, main_values: np.ndarray, config: dict[str, float], entry, dtype):
    """Evaluate the kernel at all points; return the points that break the promise."""
    rtol, atol = RTOL[dtype], ATOL[dtype]
    others = [np.asarray(config[v.name], dtype=dtype) for v in entry.variables[1:]]
    biggest = float(np.finfo(dtype).max)
    truths = [truth.at([x] + [float(o) for o in others]) for x in main_values.tolist()]
    # the true value must be representable: other points are outside the promise
    inside = np.array([math.isfinite(t) and abs(t) <= biggest for t in truths], dtype=bool)
    main_values = main_values[inside]
    truths = [t for t, keep in zip(truths, inside, strict=False) if keep]
    with np.errstate(all="raise"):
        values = k(main_values, *others)
    assert values.dtype == dtype
    failures = []
    for x, got, expected in zip(main_values.tolist(), values.tolist(), truths, strict=False):
        args = [x] + [float(o) for o in others]
        if not math.isfinite(got):
            failures.append((x, got, expected, "not finite"))
            continue
        error = abs(got - expected)
        if error <= rtol * abs(expected) or (abs(expected) < atol and error <= atol):
            continue
        if _mixed_error_ok(truth, args, got, rtol):
            continue
        failures.append(
            (x, got, expected, f"relative error {error / max(abs(expected), 1e-320):.3g}")
        )
    return failures


def _mixed_error_ok(truth: Truth, args: list[float], got: float, rtol: float) -> bool:
    """The documented exception: within rtol of f(x') for some |x' - x| <= rtol·|x|."""
    x = args[0]
    if x == 0:
        return False
    lo = truth.at([x * (1 - rtol)] + args[1:])
    hi = truth.at([x * (1 + rtol)] + args[1:])
    low, high = min(lo, hi), max(lo, hi)
    return low - rtol * abs(low) <= got <= high + rtol * abs(high)


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(CATALOG))
def test_catalog_kernel_meets_the_stability_promise(name, order):
    entry = get(name)
    k64 = kernel(name, order=order, dtype="float64")
    k32 = kernel(name, order=order, dtype="float32")
    truth = Truth(k64.expr, k64.variables)
    report = []
    for dtype, k in ((np.float64, k64), (np.float32, k32)):
        points = domain_points(entry, entry.variable, dtype)
        for config in configurations(entry):
            failures = check_points(k, truth, points, config, entry, dtype)
            report += [(np.dtype(dtype).name, config, *f) for f in failures]
    assert not report, f"{k64!r} misses the promise at {len(report)} points, e.g. {report[:4]}"


@pytest.mark.parametrize(
    "text",
    [
        "x*tanh(log(1+exp(x)))",
        "log(1+exp(-x))",
        "1/(1+exp(-x))",
        "log(1/(1+exp(-x)))",
        "exp(x)/(1+exp(x))**2",
        "log(exp(x)+exp(2*x))",
        "x*sigmoid(-x) + sigmoid(x)",
        "sech(x)**2",
        "x*sech(x/2)",
        "erfc(x)",
        "x*erf(x/3)",
    ],
)
@pytest.mark.parametrize("order", [0, 1])
def test_user_expressions_built_from_the_patterns_are_stable(text, order):
    k = kernel(text, order=order, dtype="float64")
    truth = Truth(k.expr, k.variables)
    points = real_line_points(np.float64)
    entry = k.entry
    failures = check_points(k, truth, points, {}, entry, np.float64)
    assert not failures, f"{k!r}: {failures[:4]}"


def test_the_plain_lambdify_is_not_stable():
    """stable=False really is the textbook formula: it overflows where the stable one does not."""
    x = np.array([-800.0, 800.0])
    plain = kernel("sigmoid", order=1, stable=False)
    with np.errstate(all="ignore"):
        assert np.isnan(plain(x)).any()
    assert np.all(np.isfinite(kernel("sigmoid", order=1)(x)))


def test_mixed_error_exception_is_exercised_only_near_zero_crossings():
    """The exception is narrow: at gelu''s zero crossing it is needed, one step away it is not."""
    k = kernel("gelu", order=2)
    truth = Truth(k.expr, k.variables)
    root = math.sqrt(2.0)  # gelu''(±√2) = 0, and √2 is not a double
    got = float(k(root))
    expected = truth.at([root])
    assert abs(got - expected) <= 1e-12 * abs(1.0)  # tiny absolute error...
    assert _mixed_error_ok(truth, [root], got, 1e-12)  # ...within the documented exception
    away = root + 1e-3
    assert abs(float(k(away)) - truth.at([away])) <= 1e-12 * abs(truth.at([away]))
