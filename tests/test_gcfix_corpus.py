"""gradcheck on a seeded corpus of random expressions: no false alarms, wrong claims caught.

The corpus is built the way the fuzz run that found the false alarms built it (sums,
products, quotients and powers of sin, cos, exp, log, sqrt, tanh, atan, |.|, asinh, erf,
cosh and the sigmoid, three levels deep).  Each expression is checked as text with the
default points and tolerance; the claim is SymPy's own derivative (a NumPy function, so
only f's kernel is built: the corpus stays fast).  Independent truth is that derivative
evaluated by mpmath at 50 digits.

* Correct claims pass with every method, and each numeric derivative lies within its
  error estimate of the truth at every counted point (central, Richardson; the complex
  step within 10 of its estimates, see `ESTIMATE_SLACK`).
* Wrong claims (×(1 + 1e-3), + 1e-3·max|f′|, a dropped chain-rule factor, one term's
  sign flipped) FAIL wherever the truth says the claim is off by far more than the
  tolerance at a checked point (100 % detection), and never FAIL where it is not off.
"""

from __future__ import annotations

import functools
import random

import mpmath
import numpy as np
import pytest
import scipy.special
import sympy

from symcalc.errors import SymcalcError
from symcalc.numeric.gradcheck import METHODS, gradcheck

X = sympy.Symbol("x", real=True)
UNARY = (
    sympy.sin,
    sympy.cos,
    sympy.exp,
    sympy.log,
    sympy.sqrt,
    sympy.tanh,
    sympy.atan,
    sympy.Abs,
    sympy.asinh,
    sympy.erf,
    sympy.cosh,
    lambda e: 1 / (1 + sympy.exp(-e)),
)
SIZE = 160
CHUNK = 10
#: "Far off": a wrong claim must be caught when it is off by this many tolerances.
FAR = 100
#: How far the numeric derivative may be from the truth, in its own error estimates.  The
#: complex step's estimate is its measured rounding noise only: an error that is smooth
#: in x (the complex kernel's own conditioning: 1/erf(exp(x)) for x < -4) goes unseen and
#: reaches 5 estimates on other seeds (tolerance 1e-10 covers it: no false alarm there).
ESTIMATE_SLACK = {"central": 1.0, "richardson": 1.0, "complex": 10.0}


def corpus(seed: int = 2026, count: int = SIZE) -> list[sympy.Expr]:
    """``count`` distinct random expressions in x (deterministic), refusing none of them."""
    rng = random.Random(seed)

    def grow(depth: int) -> sympy.Expr:
        if depth == 0 or rng.random() < 0.2:
            return rng.choice(
                [X, X, X, sympy.Integer(rng.randint(1, 5)), sympy.Rational(rng.randint(1, 5), 7)]
            )
        if rng.random() < 0.4:
            return rng.choice(UNARY)(grow(depth - 1))
        a, b = grow(depth - 1), grow(depth - 1)
        power = rng.choice([2, 3, sympy.Rational(1, 2), -1])
        return rng.choice([a + b, a * b, a - b, a / b if b != 0 else a, a**power])

    out: dict[str, sympy.Expr] = {}
    while len(out) < count:
        e = grow(3)
        if X in e.free_symbols and e.is_real is not False:
            out.setdefault(sympy.sstr(e), e)
    return list(out.values())


CORPUS = corpus()
CHUNKS = [CORPUS[i : i + CHUNK] for i in range(0, len(CORPUS), CHUNK)]


def numpy_function(expr: sympy.Expr):
    return sympy.lambdify(X, expr, [{"erf": scipy.special.erf}, "numpy"])


@functools.lru_cache(maxsize=256)
def _mp_derivative(expr: sympy.Expr):
    """SymPy's d expr/dx as an mpmath function: made once per expression, not once per
    method (it works at whatever precision is set when it is called)."""
    return sympy.lambdify(X, sympy.diff(expr, X), "mpmath")


def truth(expr: sympy.Expr, xs: np.ndarray) -> np.ndarray:
    """d expr/dx at xs: SymPy's derivative evaluated by mpmath (50 digits set by the caller)."""
    f = _mp_derivative(expr)
    out = []
    for x in xs:
        try:
            value = f(mpmath.mpf(float(x)))
        except (ZeroDivisionError, ValueError):
            value = mpmath.nan
        out.append(float(value.real) if abs(value.imag) == 0 else np.nan)
    return np.array(out)


def methods_for(expr: sympy.Expr) -> list[str]:
    return ["central", "richardson"] + ([] if expr.has(sympy.Abs) else ["complex"])


def counted(check) -> np.ndarray:
    """Rows of ``check.points`` that count (not within reach of a kink)."""
    kinks = {p for p, _ in check.kink_points}
    return np.array([tuple(map(float, p)) not in kinks for p in check.points])


def test_the_corpus_is_what_the_fuzz_run_found_hard():
    texts = {sympy.sstr(e) for e in CORPUS}
    assert len(texts) == SIZE
    roots = [any(p.exp == sympy.S.Half for p in e.atoms(sympy.Pow)) for e in CORPUS]
    assert sum(e.has(sympy.log) or root for e, root in zip(CORPUS, roots, strict=True)) > 30
    assert sum(e.has(sympy.erf) for e in CORPUS) > 15  # tiny derivatives, f near ±1
    assert sum(e.has(sympy.Abs) for e in CORPUS) > 10  # kinks


@pytest.mark.parametrize("chunk", range(len(CHUNKS)))
def test_correct_derivatives_pass_and_the_error_estimates_hold(chunk, mp_digits):
    """No false alarm: every check of a claim that is right to the tolerance passes.

    The claim is SymPy's derivative as a NumPy function; where its own rounding puts it
    off the truth by more than the tolerance (2x·(1 - tanh(x²)²) is 0 for x = -4.4,
    the derivative 5.8e-16), a FAILED is right, not a false alarm.
    """
    mp_digits(50)
    accurate = 0
    for expr in CHUNKS[chunk]:
        text = sympy.sstr(expr)
        claim = numpy_function(sympy.diff(expr, X))
        for method in methods_for(expr):
            check = gradcheck(text, method=method, derivative=claim)
            assert check.points.shape[0] == 25, text  # all on the domain
            keep = counted(check)
            exact = truth(expr, check.points[keep, 0])
            claimed = check.analytic[keep, 0]
            right = np.abs(claimed - exact) <= METHODS[method] * np.maximum(
                np.abs(claimed), np.abs(exact)
            )
            if right.all():
                accurate += 1
                assert check.passed, f"false alarm, {method}: {check.to_text()}"
            numeric = check.numeric[keep, 0]
            estimate = check.error_estimates[keep, 0] * ESTIMATE_SLACK[method]
            off = np.abs(numeric - exact) > estimate
            assert not off.any(), (
                f"{method} {text}: numeric {numeric[off]} exact {exact[off]} "
                f"estimate {estimate[off]} at {check.points[keep, 0][off]}"
            )
    assert accurate >= 2 * len(CHUNKS[chunk])  # the claims are mostly right to 1e-10


@pytest.mark.parametrize("start", range(0, 24, 4))
def test_symcalcs_own_derivatives_pass_on_the_corpus(start):
    """The default check, claim and all, on the first expressions of the corpus (building
    symcalc's derivative kernels costs most of the time: the rest use SymPy's claim)."""
    for expr in CORPUS[start : start + 4]:
        for method in methods_for(expr):
            check = gradcheck(sympy.sstr(expr), method=method)
            assert check.passed, check.to_text()
            assert check.points.shape[0] == 25


def wrong_claims(expr: sympy.Expr) -> dict[str, sympy.Expr]:
    """Four wrong derivatives of ``expr`` (a kind is left out where it does not apply)."""
    right = sympy.diff(expr, X)
    with np.errstate(all="ignore"):
        grid = np.abs(np.asarray(numpy_function(right)(np.linspace(-5, 5, 201)), dtype=float))
    grid = grid[np.isfinite(grid)]
    largest = float(grid.max()) if grid.size else 1.0
    claims = {"scaled": right * (1 + sympy.Rational(1, 1000)), "offset": right + largest / 1000}
    terms = sympy.Add.make_args(right)
    claims["sign"] = right - 2 * terms[0] if len(terms) > 1 else -right
    inner = [
        e
        for e in sympy.preorder_traversal(expr)
        if isinstance(e, sympy.Function) and len(e.args) == 1 and e.args[0] != X
    ]
    if inner:
        outer = inner[0]
        u, t, holder = outer.args[0], sympy.Dummy("t", real=True), sympy.Dummy("F", real=True)
        rest = sympy.diff(expr.xreplace({outer: holder}), holder).xreplace({holder: outer})
        slope = sympy.diff(outer.func(t), t).subs(t, u)
        claims["chain"] = right + rest * slope * (1 - sympy.diff(u, X))  # d/dx u taken as 1
    return claims


@pytest.mark.parametrize("chunk", range(len(CHUNKS)))
def test_wrong_claims_are_caught_wherever_they_are_far_off(chunk, mp_digits):
    mp_digits(50)
    for index, expr in enumerate(CHUNKS[chunk]):
        text = sympy.sstr(expr)
        methods = methods_for(expr)
        for k, (kind, claim) in enumerate(wrong_claims(expr).items()):
            method = methods[(index + k) % len(methods)]
            try:
                check = gradcheck(text, method=method, derivative=numpy_function(claim))
            except SymcalcError as error:  # the claim is undefined wherever f is defined
                assert "no point" in str(error) or "found no point" in str(error)
                continue
            keep = counted(check)
            exact = truth(expr, check.points[keep, 0])
            claimed = check.analytic[keep, 0]
            scale = np.maximum(np.abs(claimed), np.abs(exact))
            off = np.abs(claimed - exact)
            tolerance = METHODS[method]
            if np.any(off > FAR * tolerance * scale):
                assert not check.passed, f"{kind} {method} {text}: {check.to_text()}"
            if not check.passed:  # a FAILED is never a false alarm
                assert np.any(off > tolerance * scale), f"{kind} {method} {text}"
