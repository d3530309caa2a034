"""The stability promise of `symcalc.numeric.kernels`, checked against mpmath over the whole
finite range, for the whole catalog and a corpus of user-style expressions.

For every catalog entry and its first and second derivatives, in float64 and float32,
at points across the entry's whole domain up to ±the largest finite float (log-spaced
magnitudes from the smallest subnormal up, the thresholds where exp, x², x³ overflow,
and a dense grid near 0; the closure of an open interval, where the truth is finite):
the kernel's value is finite, raises no floating-point warning, and is within 1e-12
(float64) or 1e-5 (float32) relative of the truth, or within 1e-300 (1e-36) absolute
where the truth is that small.  Points that miss the relative bound must meet the
documented exception (mixed forward-backward error where f is ill-conditioned) exactly as
the module docstring states it.

The truth evaluates the kernel's ``expr`` (the derivative as symcalc derives it,
before any stability rewrite) with mpmath, the other variables substituted exactly
first (a label y = 1 removes the term (1 - y)·log(1 - p) before p reaches 1), at two
working precisions raised until they agree to 25 digits; where the textbook formula
cannot be resolved (1 - σ(1e300)), its identity-rewritten form (see `Truth`).  It is
computed once per expression, configuration and point within this module.

The truth values are stored in ``tests/data/mpmath_truth.npz`` (written by
``python tests/make_truth.py``), keyed by exactly what they depend on: the two formulas
(their ``srepr``), the variable, the precisions and agreement rules of `Truth`, the
mpmath functions used and mpmath's version, and the point.  A formula or point missing
from the store fails with a message saying to run the generator; at every run a random
sample of the stored points (`FRESH_SAMPLE` per formula and call, a new sample each run)
is recomputed with mpmath and must equal the stored value exactly, so a stale or wrong
store fails too.
"""

from __future__ import annotations

import functools
import hashlib
import inspect
import math
import os
from pathlib import Path

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.numeric.kernels import kernel
from symcalc.numeric.rewrites import MPMATH_FUNCTIONS
from symcalc.symbolic.catalog import CATALOG, get
from symcalc.symbolic.functions import symbol
from symcalc.symbolic.parse import parse

RTOL = {np.float64: 1e-12, np.float32: 1e-5}
ATOL = {np.float64: 1e-300, np.float32: 1e-36}
DTYPES = (np.float64, np.float32)
#: Working precisions (digits), tried in turn until two formulas agree to `AGREE` relative.
LEVELS = (30, 60, 120, 260, 640, 1500, 3000)
AGREE = mpmath.mpf("1e-25")
#: Below this a true value only needs to be known to be small (the promise is absolute there).
TINY = mpmath.mpf("1e-330")
#: The stored truth (``python tests/make_truth.py`` writes it).
TRUTH_FILE = Path(__file__).resolve().parent / "data" / "mpmath_truth.npz"
#: Stored points recomputed with mpmath at each run, per formula and call (random each run).
FRESH_SAMPLE = 2
#: Set by `tests/make_truth.py`: compute every value and record it, read nothing stored.
RECORDING = os.environ.get("SYMCALC_RECORD_TRUTH") == "1"
#: What `tests/make_truth.py` writes: values by formula key and point.
RECORDED: dict[str, dict[float, float]] = {}


# -- points ------------------------------------------------------------------------------------


def magnitudes(dtype) -> np.ndarray:
    """Positive magnitudes across the whole finite range of ``dtype``.

    Log-spaced from the smallest subnormal to the largest float, and the places where
    formulas break: where exp overflows (709.78, float32 88.72) or underflows, where x²
    and x³ overflow, the largest floats themselves, 1/eps and a few small numbers.
    float64 gets float32's magnitudes too, so the two dtypes share most of their truth.
    """
    info = np.finfo(dtype)
    top, tiny = float(info.max), float(info.smallest_subnormal)
    logs = np.linspace(math.log10(tiny), math.log10(top), 41)
    special = [tiny, float(info.tiny), 1e-300, float(info.eps), 1e-8, 0.5, 1.0, 2.0]
    special += [20.0, 37.0, 50.0, 88.0, 88.72, 89.0, 100.0, 700.0, 709.78, 710.0, 745.0]
    special += [746.0, 1e3, 1 / float(info.eps), math.sqrt(top), top ** (1 / 3), top / 6]
    special += [top / 2, float(np.nextafter(dtype(top), dtype(0))), top]
    with np.errstate(over="ignore"):  # the top of the log grid may round past the largest float
        values = np.concatenate([10.0**logs, special])
    values = values[np.isfinite(values) & (values <= top)]
    if dtype is np.float64:
        values = np.concatenate([values, magnitudes(np.float32).astype(np.float64)])
    return np.unique(values.astype(dtype))


def real_line_points(dtype) -> np.ndarray:
    """The whole real line: ±magnitudes, 0 and a grid on [-60, 60] (rounded to float32,
    so the two dtypes share most of their truth)."""
    grid = np.linspace(-60, 60, 81).astype(np.float32).astype(dtype)
    mags = magnitudes(dtype)
    return np.unique(np.concatenate([mags, -mags, [0.0], grid]).astype(dtype))


def interval_points(lo: float, hi: float, dtype) -> np.ndarray:
    """An interval's closure: both ends, points approaching each end from inside by
    log-spaced distances down to the smallest subnormal and the spacing of floats
    there, and a grid."""
    eps = float(np.finfo(dtype).eps)
    inner = [lo + (hi - lo) * float(t) for t in np.linspace(0, 1, 61, dtype=np.float32)]
    steps = magnitudes(dtype)
    steps = steps[steps < (hi - lo) / 2]
    near = [lo + s for s in steps] + [hi - s for s in steps] + [hi - eps / 2, hi - eps]
    points = np.array(inner + near + [lo, hi]).astype(dtype)
    return np.unique(points[(points >= lo) & (points <= hi)])


def domain_points(entry, var, dtype) -> np.ndarray:
    domain = entry.domain_of(var)
    if domain == sympy.S.Reals:
        return real_line_points(dtype)
    if isinstance(domain, sympy.FiniteSet):
        return np.array([float(e) for e in domain], dtype=dtype)
    return interval_points(float(domain.inf), float(domain.sup), dtype)


def configurations(entry) -> list[dict[str, float]]:
    """Values for every variable but the main one: the entry's fixed values and two others
    (a label at 0 and 1 and one between, for a unit interval)."""
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


# -- the truth -----------------------------------------------------------------------------------


def _erfc(u):
    """mpmath's erfc, and past |u| = 1e8 (where mpmath's series check overflows) the
    asymptotic expansion exp(-u²)/(u√π)·(1 - 1/(2u²) + 3/(4u⁴)), exact to 1e-48 there."""
    if abs(u) <= 10**8:
        return mpmath.erfc(u)
    if u < 0:
        return 2 - _erfc(-u)
    t = 1 / (2 * u * u)
    return mpmath.exp(-u * u) / (u * mpmath.sqrt(mpmath.pi)) * (1 - t + 3 * t * t)


#: How mpmath evaluates the functions in an expression (erf and erfc for every argument).
TRUTH_FUNCTIONS = {
    **MPMATH_FUNCTIONS,
    "erfc": _erfc,
    "erf": lambda u: mpmath.erf(u) if abs(u) <= 10**8 else 1 - _erfc(u),
}


class Truth:
    """mpmath values of ``expr`` in ``variable`` (the other variables already substituted),
    cached by point.

    Two formulas of the same function are evaluated at rising precisions (`LEVELS`
    digits): the textbook ``expr`` and the kernel's ``lowered`` form (the same function,
    rewritten by identities that `tests/test_rewrites.py` proves: softplus(z) instead of
    log(1 + exp(z))), the second always at the next higher precision.  A value is
    accepted when the two agree to 25 digits: two formulas at two precisions do not lose
    the same digits (log(1 + 2e-26) does in both forms at 30 digits, not at 60).  Where the textbook
    formula cannot be resolved at all (1 - σ(z) at z = 1e300 needs 1e300 digits: more
    digits leave it unchanged), the lowered form is accepted once it agrees with itself
    at two successive precisions.  Values far below 1e-300 agree if both are (only their
    smallness matters); infinities and NaN count only when both formulas give them at
    120 digits or more, exact zeros at 1500.
    """

    def __init__(self, expr: sympy.Expr, variable: sympy.Symbol, lowered: sympy.Expr = None):
        modules = [TRUTH_FUNCTIONS, "mpmath"]
        self.expr = sympy.lambdify([variable], expr, modules=modules, cse=True)
        same = lowered is None or sympy.srepr(lowered) == sympy.srepr(expr)
        self.lowered = (
            self.expr if same else sympy.lambdify([variable], lowered, modules=modules, cse=True)
        )
        self.same = same
        self.cache: dict[float, float] = {}
        self.key = truth_key(expr, variable, lowered)
        self.text = str(expr)

    def at(self, x: float) -> float:
        """The true value at ``x``: known, or computed now (mixed-error neighbours)."""
        if x not in self.cache:
            self.cache[x] = self._evaluate(x)
            if RECORDING:
                RECORDED.setdefault(self.key, {})[x] = self.cache[x]
        return self.cache[x]

    def many(self, xs) -> np.ndarray:
        """True values at ``xs``, from the store (a random few recomputed and compared)."""
        xs = [float(x) for x in xs]
        if not RECORDING:
            self._load([x for x in xs if x not in self.cache])
        return np.array([self.at(x) for x in xs], dtype=float)

    def _load(self, xs: list[float]) -> None:
        if not xs:
            return
        stored = stored_truth(self.key)
        if stored is None or any(x not in stored for x in xs):
            where = "" if stored is None else f" at {[x for x in xs if x not in stored][:3]}"
            pytest.fail(
                f"no stored mpmath truth for {self.text[:80]!r}{where}: "
                "run  python tests/make_truth.py",
                pytrace=False,
            )
        picks = np.random.default_rng().choice(len(xs), min(FRESH_SAMPLE, len(xs)), False)
        for x in (xs[i] for i in picks):
            fresh, kept = self._evaluate(x), stored[x]
            if not (fresh == kept or (math.isnan(fresh) and math.isnan(kept))):
                pytest.fail(
                    f"stored mpmath truth for {self.text[:80]!r} at {x!r} is {kept!r}, "
                    f"mpmath gives {fresh!r}: run  python tests/make_truth.py",
                    pytrace=False,
                )
        for x in xs:
            self.cache[x] = stored[x]

    @staticmethod
    def _value(function, x: float, digits: int):
        with mpmath.workdps(digits):
            try:
                value = function(mpmath.mpf(x))
            except (ZeroDivisionError, ValueError, OverflowError):
                return mpmath.nan
            if isinstance(value, mpmath.mpc):
                return value.real if value.imag == 0 else mpmath.nan
            return mpmath.mpf(value)

    def _evaluate(self, x: float) -> float:
        previous = None
        for i, digits in enumerate(LEVELS[:-1]):
            # different formulas at different precisions: they cannot fail the same way
            a = self._value(self.expr, x, digits)
            b = self._value(self.lowered, x, LEVELS[i + 1])
            if _agree(a, b, digits):
                return float(b)
            if previous is not None and not self.same:
                old_a, old_b = previous
                stuck = not mpmath.isfinite(a) or a == old_a  # more digits changed nothing
                if stuck and _agree(old_b, b, digits):
                    return float(b)
            previous = (a, b)
        raise AssertionError(f"mpmath truth did not settle at {x!r}")


def _truth_version() -> str:
    """What every stored value depends on besides its formulas and point: this module's
    truth code, the mpmath functions it evaluates with, mpmath's version."""
    parts = [inspect.getsource(f) for f in (Truth, _agree, _erfc)]
    parts += [repr(LEVELS), str(AGREE), str(TINY), mpmath.__version__]
    parts += [
        f"{name}:{getattr(f, '__module__', '')}.{getattr(f, '__qualname__', type(f).__name__)}"
        for name, f in sorted(TRUTH_FUNCTIONS.items())
    ]
    return "\n".join(parts)


def truth_key(expr: sympy.Expr, variable: sympy.Symbol, lowered: sympy.Expr | None) -> str:
    """The key of a formula's stored values: exactly what they depend on, hashed."""
    text = "\n".join(
        [_TRUTH_VERSION, sympy.srepr(variable), sympy.srepr(expr), sympy.srepr(lowered)]
    )
    return hashlib.sha256(text.encode()).hexdigest()[:32]


@functools.cache
def _store() -> dict[str, tuple[int, int]]:
    """The stored truth: its arrays, and each key's slice of them."""
    if RECORDING or not TRUTH_FILE.is_file():
        return {}
    with np.load(TRUTH_FILE) as data:
        keys, counts = data["keys"], data["counts"]
        _ARRAYS.update(x=data["x"], value=data["value"])
    ends = np.cumsum(counts)
    return {str(k): (int(e - c), int(e)) for k, c, e in zip(keys, counts, ends, strict=True)}


_ARRAYS: dict[str, np.ndarray] = {}


def stored_truth(key: str) -> dict[float, float] | None:
    """The stored true values of the formula ``key`` by point, or None."""
    where = _store().get(key)
    if where is None:
        return None
    lo, hi = where
    return dict(zip(_ARRAYS["x"][lo:hi].tolist(), _ARRAYS["value"][lo:hi].tolist(), strict=True))


def _agree(a, b, digits: int) -> bool:
    """Equal to 25 digits (both nonzero), or both far below 1e-300 (only their smallness
    matters, and a value like exp(-1e300) has no right digit below thousands of digits);
    inf and NaN only from 120 digits on, an exact 0 only from 1500 (below, it may be a
    cancellation of the subnormal range's 650 digits)."""
    if a == 0 or b == 0:  # a true zero, or a cancellation the digits could not resolve
        return a == b and digits >= 1500
    if not (mpmath.isfinite(a) and mpmath.isfinite(b)):
        return digits >= 120 and (a == b or (mpmath.isnan(a) and mpmath.isnan(b)))
    if abs(a) < TINY and abs(b) < TINY:
        return True
    return abs(a - b) <= AGREE * max(abs(a), abs(b))


_TRUTH_VERSION = _truth_version()


@functools.cache
def truth_for(name: str, order: int, config: tuple[tuple[str, float], ...]) -> Truth:
    k = kernel(name, order=order)
    subs = {v: sympy.Rational(dict(config)[v.name]) for v in k.variables[1:]}
    return Truth(k.expr.subs(subs), k.variables[0], k.lowered.subs(subs))


# -- checking ------------------------------------------------------------------------------------


def check(k, truth: Truth, xs: np.ndarray, others: list[float], dtype) -> list[tuple]:
    """The points where the kernel breaks the promise: (x, got, truth, why)."""
    rtol, atol = RTOL[dtype], ATOL[dtype]
    biggest = float(np.finfo(dtype).max)
    expected = truth.many(xs)
    inside = np.isfinite(expected) & (np.abs(expected) <= biggest)  # representable truth
    xs, expected = xs[inside], expected[inside]
    args = [np.asarray(o, dtype=dtype) for o in others]
    with np.errstate(all="raise"):
        got = np.asarray(k(xs, *args))
    assert got.dtype == dtype
    got = got.astype(np.float64)
    error = np.abs(got - expected)
    ok = np.isfinite(got) & ((error <= rtol * np.abs(expected)) | (error <= atol))
    failures = []
    for x, g, e in zip(xs[~ok].tolist(), got[~ok].tolist(), expected[~ok].tolist(), strict=True):
        if math.isfinite(g) and _mixed_error_ok(truth, x, g, rtol):
            continue
        why = "not finite" if not math.isfinite(g) else f"error {abs(g - e):.3g}"
        failures.append((x, g, e, why))
    return failures


def _mixed_error_ok(truth: Truth, x: float, got: float, rtol: float) -> bool:
    """The documented exception: within rtol of f(x') for some |x' - x| <= rtol·|x|."""
    if x == 0:
        return False
    lo, hi = truth.at(x * (1 - rtol)), truth.at(x * (1 + rtol))
    low, high = min(lo, hi), max(lo, hi)
    return low - rtol * abs(low) <= got <= high + rtol * abs(high)


def promise_failures(name: str, order: int) -> list[tuple]:
    entry = get(name) if name in CATALOG else kernel(name).entry
    report = []
    for dtype in DTYPES:
        k = kernel(name, order=order, dtype=np.dtype(dtype).name)
        xs = domain_points(entry, entry.variable, dtype)
        for config in configurations(entry):
            truth = truth_for(name, order, tuple(sorted(config.items())))
            others = [config[v.name] for v in entry.variables[1:]]
            failures = check(k, truth, xs, others, dtype)
            report += [(np.dtype(dtype).name, config, *f) for f in failures]
    return report


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(CATALOG))
def test_catalog_kernel_meets_the_stability_promise(name, order):
    report = promise_failures(name, order)
    k = kernel(name, order=order)
    assert not report, f"{k!r} misses the promise at {len(report)} points, e.g. {report[:4]}"


# -- the cases an outside review found (issue 9) ---------------------------------------------------


@pytest.mark.parametrize(
    ("name", "order", "args", "expected"),
    [
        ("bce", 0, (1.0, 1.0), 0.0),
        ("bce", 0, (0.0, 0.0), 0.0),
        ("bce", 1, (1.0, 1.0), -1.0),
        ("bce", 1, (0.0, 0.0), 1.0),
        ("bce", 2, (1.0, 1.0), 1.0),
        ("silu", 1, (1e300,), 1.0),
        ("silu", 1, (np.float32(1e38),), 1.0),
        ("gelu_tanh", 1, (1e100,), 1.0),
        ("gelu_tanh", 1, (-1e101,), 0.0),
        ("gelu_tanh", 1, (np.float32(1e13),), 1.0),
        ("gelu_tanh", 1, (np.float32(-2.5e11),), 0.0),
        ("hard_swish", 0, (np.float32(1e38),), 1e38),
        ("gelu", 0, (1e308,), 1e308),
        ("bce_with_logits", 1, (1000.0, 1.0), 0.0),
    ],
)
def test_the_reported_cases_hold(name, order, args, expected):
    with np.errstate(all="raise"):
        got = kernel(name, order=order)(*args)
    rtol = 1e-5 if getattr(args[0], "dtype", None) == np.float32 else 1e-12
    assert got == pytest.approx(expected, rel=rtol, abs=1e-300), (name, order, args, got)


def test_a_saturated_float32_prediction_gives_a_finite_loss():
    """σ(z) rounds to exactly 1 in float32 from z ≈ 17: bce(σ(z), 1) must be 0, not nan."""
    z = np.array([10.0, 17.0, 20.0, 100.0], dtype=np.float32)
    p = kernel("sigmoid")(z)
    assert p[-1] == 1.0
    with np.errstate(all="raise"):
        loss = kernel("bce")(p, np.float32(1.0))
        grad = kernel("bce", order=1)(p, np.float32(1.0))
    assert loss.dtype == np.float32 and np.all(np.isfinite(loss)) and loss[-1] == 0.0
    assert np.all(np.isfinite(grad)) and grad[-1] == -1.0


# -- user expressions ------------------------------------------------------------------------------

#: Activations and losses as people write them: textbook formulas, each with a trap
#: (overflow, cancellation, a removable singularity, a label at 0 or 1).
CORPUS = [
    "1/(1 + exp(-x))",
    "exp(x)/(1 + exp(x))",
    "x/(1 + exp(-x))",
    "x*sigmoid(x)",
    "log(1 + exp(x))",
    "log(1 + exp(-x))",
    "-log(1 + exp(-x))",
    "x*tanh(log(1 + exp(x)))",
    "(exp(x) - exp(-x))/(exp(x) + exp(-x))",
    "2/(1 + exp(-2*x)) - 1",
    "x/2*(1 + erf(x/sqrt(2)))",
    "x/2*(1 + tanh(sqrt(2/pi)*(x + 0.044715*x**3)))",
    "x*sigmoid(1.702*x)",
    "x/(1 + abs(x))",
    "x/sqrt(1 + x**2)",
    "(x + sqrt(x**2 + 1))/2",
    "sqrt(x**2 + 1) - 1",
    "x - tanh(x)",
    "x - sin(x)",
    "sin(x)/x",
    "(1 - cos(x))/x**2",
    "log(1 + x**2)",
    "exp(x) - 1",
    "(exp(x) - 1)/x",
    "log(cosh(x))",
    "exp(-x**2/2)",
    "x*exp(-x**2)",
    "atan(x)",
    "log(1 + exp(2*x))/2",
    "max(x, 0) + log(1 + exp(-abs(x)))",
    "1 - 1/(1 + exp(x))",
    "exp(x)/(exp(x) + 1)**2",
    "x*erf(x)",
    "Piecewise((x, x > 0), (exp(x) - 1, True))",
    "log(exp(x) + exp(2*x))",
    "sinh(x)/cosh(x)**2",
]


@pytest.mark.parametrize("order", [0, 1])
@pytest.mark.parametrize("text", CORPUS)
def test_user_expressions_meet_the_stability_promise(text, order):
    report = promise_failures(text, order)
    k = kernel(text, order=order)
    assert not report, f"{k!r} misses the promise at {len(report)} points, e.g. {report[:4]}"


def test_the_plain_lambdify_is_not_stable():
    """stable=False really is the textbook formula: it overflows where the stable one does not."""
    x = np.array([-800.0, 800.0])
    plain = kernel("sigmoid", order=1, stable=False)
    with np.errstate(all="ignore"):
        assert np.isnan(plain(x)).any()
    assert np.all(np.isfinite(kernel("sigmoid", order=1)(x)))


def test_mixed_error_exception_is_exercised_only_where_f_is_ill_conditioned():
    """The exception is narrow: at gelu''s zero crossing it is needed, one step away it is not."""
    k = kernel("gelu", order=2)
    truth = Truth(k.expr, k.variables[0], k.lowered)
    root = math.sqrt(2.0)  # gelu''(±√2) = 0, and √2 is not a double
    got = float(k(root))
    assert abs(got - truth.at(root)) <= 1e-12  # tiny absolute error...
    assert _mixed_error_ok(truth, root, got, 1e-12)  # ...within the documented exception
    away = root + 1e-3
    assert abs(float(k(away)) - truth.at(away)) <= 1e-12 * abs(truth.at(away))
    assert not _mixed_error_ok(truth, away, float(k(away)) * (1 + 1e-6), 1e-12)


class _Direct:
    """f at a point by mpmath at 50 digits (no store: a handful of points)."""

    def __init__(self, text: str):
        self.f = sympy.lambdify(symbol("x"), parse(text), "mpmath")

    def at(self, x: float) -> float:
        with mpmath.workdps(50):
            return float(self.f(mpmath.mpf(x)))

    def range_near(self, x: float, rtol: float) -> tuple[float, float]:
        """Lowest and highest f on [x(1 - rtol), x(1 + rtol)] (sampled: f oscillates there)."""
        with mpmath.workdps(50):
            ends = sorted([mpmath.mpf(x) * (1 - mpmath.mpf(rtol)), mpmath.mpf(x) * (1 + rtol)])
            values = [float(self.f(t)) for t in mpmath.linspace(*ends, 2001)]
        return min(values), max(values)


@pytest.mark.parametrize(
    ("text", "order"), [("4*x**3*sin(cosh(x))/3", 0), ("4*x**3*sin(cosh(x))/3", 1)]
)
def test_an_ill_conditioned_expression_meets_the_mixed_error_exception(text, order):
    """sin(cosh(x)) at x = 20: a relative change of 1e-12 in x moves cosh(x) by about 5e-3,
    so no float64 evaluation is within 1e-12 relative; the kernel's value is f at an input
    within 1e-12 relative of x, as the exception says (and plainly accurate where f is not
    ill-conditioned)."""
    k = kernel(text, order=order)
    truth = _Direct(sympy.sstr(k.expr))
    xs = [-23.829951240821412, -19.956993752320095, 14.640384992220504, 24.645865096759998]
    got = k(np.array(xs))
    pairs = list(zip(got, xs, strict=True))
    assert not all(abs(g - truth.at(x)) <= 1e-12 * abs(truth.at(x)) for g, x in pairs)  # needed
    for g, x in pairs:  # and met: g is within 1e-12 of a value f takes near x
        low, high = truth.range_near(x, 1e-12)
        assert low - 1e-12 * abs(low) <= g <= high + 1e-12 * abs(high), (x, g, low, high)
    assert abs(float(k(0.7)) - truth.at(0.7)) <= 1e-12 * abs(truth.at(0.7))


def test_a_missing_or_wrong_stored_truth_fails_and_names_the_generator(monkeypatch):
    """The store is checked: a formula or point it lacks, or a value mpmath does not give
    again, fails (each `many` call recomputes a random sample; here the sample is all)."""
    module = __import__(__name__)
    monkeypatch.setattr(module, "RECORDING", False)
    k = kernel("sigmoid", order=1)
    xs = [0.5, 2.0]
    right = {x: Truth(k.expr, k.variables[0], k.lowered)._evaluate(x) for x in xs}
    stores = {
        "missing formula": None,
        "missing point": {0.5: right[0.5]},
        "wrong value": {0.5: right[0.5], 2.0: right[2.0] * (1 + 4e-16)},
    }
    for why, store in stores.items():
        monkeypatch.setattr(module, "stored_truth", lambda key, store=store: store)
        with pytest.raises(pytest.fail.Exception, match="run  python tests/make_truth.py") as info:
            Truth(k.expr, k.variables[0], k.lowered).many(xs)
        assert ("is 0." in str(info.value)) == (why == "wrong value"), why
    monkeypatch.setattr(module, "stored_truth", lambda key: dict(right))
    assert Truth(k.expr, k.variables[0], k.lowered).many(xs).tolist() == [right[0.5], right[2.0]]
    assert right[2.0] * (1 + 4e-16) != right[2.0]
