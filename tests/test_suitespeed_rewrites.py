"""The kernel compiler's remembered work gives the values it computed before.

`symcalc.numeric.rewrites` remembers the judge's exp, cosh and sinh above 600 bits, the
cancellation scores of the σ and rational rewrites' candidates (per `Context`, with the
terms of all sums evaluated by one ``lambdify``) and the mapped factors of the σ
polynomials; `symcalc.numeric.kernels.lowering` remembers the far branches of rational
functions of x - y.  Each must leave every value and every choice as it was: checked here
against mpmath itself and against the score computed term by term as before."""

from __future__ import annotations

import math

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.numeric import rewrites
from symcalc.numeric.rewrites import MPMATH_JUDGE_FUNCTIONS, NUMPY_MODULES, Context
from symcalc.symbolic.functions import sigmoid, symbol

x, y = symbol("x"), symbol("y")


@pytest.mark.parametrize("name", ["exp", "cosh", "sinh"])
def test_values_above_600_bits_are_mpmaths_and_computed_once_per_precision(name):
    """The second ask at the same precision is the first answer; another precision is
    another number, each equal to mpmath's own (arguments off the huge integers, where
    the judge calls mpmath as it is)."""
    ours, theirs = MPMATH_JUDGE_FUNCTIONS[name], getattr(mpmath, name)
    for u in (mpmath.mpf(2) ** 40 + 0.5, mpmath.mpf(-700.25), mpmath.mpf(3) / 7):
        with mpmath.workdps(400):
            first, again = ours(u), ours(u)
            assert first is again
            assert first == theirs(u)
        with mpmath.workdps(401):
            other = ours(u)
            assert other is not first and other == theirs(u)
    with mpmath.workdps(100):  # below 600 bits nothing is kept
        u = mpmath.mpf(2.5)
        assert ours(u) == theirs(u)
        assert ours(u) is not ours(u)


def _score_term_by_term(expr: sympy.Expr, context: Context) -> float:
    """The score as it was computed before: one ``lambdify`` per term of each sum."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if not symbols or any(s not in context.samples for s in symbols):
        return 0.0
    columns = np.broadcast_arrays(*[np.asarray(context.samples[s], dtype=float) for s in symbols])
    score = 0.0
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, sympy.Add) or all(rewrites._is_exact(t) for t in node.args):
            continue
        if len(node.args) == 2 and all(rewrites._is_exact(t) or t.is_Number for t in node.args):
            continue
        with np.errstate(all="ignore"):
            terms = [
                np.broadcast_to(
                    np.asarray(sympy.lambdify(symbols, t, NUMPY_MODULES)(*columns), dtype=float),
                    columns[0].shape,
                )
                for t in node.args
            ]
            total = np.abs(np.sum(terms, axis=0))
            biggest = np.max(np.abs(terms), axis=0)
            ratio = np.where(
                np.isfinite(total) & (total > 0), biggest / np.where(total > 0, total, 1), 1.0
            )
        worst = np.nanmax(ratio) if ratio.size else 1.0
        if worst > 30:
            score += 1 + math.log10(worst) / 100
    return score


SCORED = [
    1 - sigmoid(x),
    sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x)),
    (sympy.tanh(x) - x) / (x**2 + 1) + sympy.exp(-x) - 1,
    (1 - sympy.tanh(x) ** 2) * (x - sympy.sin(x)) + (x - y) ** 2 - x**2 + 2 * x * y,
    sympy.log(1 + x**2) - 2 * sympy.log(sympy.Abs(x)) + 3,
    x + 2 * y,  # only exact terms: no sum is scored
    sympy.Integer(4),
]


@pytest.mark.parametrize("expr", SCORED, ids=str)
def test_cancellation_scores_are_the_term_by_term_scores(expr):
    samples = {
        x: np.array([-40.0, -3.0, -1e-3, 0.0, 2e-8, 0.5, 7.0, 36.0, 800.0]),
        y: np.array([1.0, -2.0, 1e-3, 3.0, 2e-8, 0.5, 7.0 + 1e-9, -36.0, 800.0]),
    }
    context = Context(samples)
    truth = _score_term_by_term(expr, context)
    assert rewrites._cancellation_score(expr, context) == truth
    assert rewrites._cancellation_score(expr, context) == truth  # remembered
    assert rewrites._cancellation_score(expr, Context({x: samples[x]})) == (
        _score_term_by_term(expr, Context({x: samples[x]}))
    )


def test_a_score_is_measured_once_per_context_with_one_lambdify(monkeypatch):
    """Before: one ``lambdify`` per term of every sum, and again for every ask."""
    calls = []
    real = sympy.lambdify

    def counted(*args, **kwargs):
        calls.append(args[1])
        return real(*args, **kwargs)

    monkeypatch.setattr(sympy, "lambdify", counted)
    expr = sigmoid(x) * (1 - sigmoid(x)) * (1 - 2 * sigmoid(x)) + sympy.tanh(x) - x
    context = Context({x: np.linspace(-30, 30, 61)})
    first = rewrites._cancellation_score(expr, context)
    assert rewrites._cancellation_score(expr, context) == first
    assert len(calls) == 1
    assert rewrites._cancellation_score(expr, Context({x: np.linspace(-30, 30, 61)})) == first
    assert len(calls) == 2  # a new context measures again
    assert first == _score_term_by_term(expr, context)


def test_the_mapped_sigma_polynomials_are_the_same_when_asked_again():
    """`_map_numeric` and `_map_polynomial` are remembered; their answers (compared with a
    fresh computation through the undecorated functions) do not change."""
    s, t = rewrites._S, rewrites._T
    b = 2 * x
    numeric = sympy.expand((s - t) * (s + t) ** 2 * (3 * s - t))
    mixed = sympy.expand(x * (s - t) * (s + t) + y * s * t * (s + t))
    for style in ("coefficients", "monomials"):
        fresh = rewrites._map_polynomial.__wrapped__(mixed, b, style)
        assert rewrites._map_polynomial(mixed, b, style) == fresh
        assert rewrites._map_polynomial(mixed, b, style) == fresh
    fresh = rewrites._map_numeric.__wrapped__(numeric, b)
    assert rewrites._map_numeric(numeric, b) == fresh == rewrites._map_numeric(numeric, b)
    assert fresh.has(sympy.tanh(x))  # s - t mapped: tanh(b/2)


def test_far_rational_branches_are_found_once_per_node(monkeypatch):
    """`symcalc.numeric.kernels.lowering._far_rationals` tries a ``sympy.cancel`` per
    node and linear combination; the levels of a formula and its JAX, PyTorch and module
    exports lower the same nodes again, and ask no second time.  The branch is the one
    the doctest shows: 2/((1 + (x - y)⁻²)(x - y)) beyond |x - y| = 1, which at
    x - y = 1e200 is the 2e-200 the plain quotient loses (0 or NaN)."""
    from symcalc.numeric.kernels import lowering

    calls = []
    real = sympy.cancel
    monkeypatch.setattr(
        sympy, "cancel", lambda *a, **k: calls.append(a[0]) or real(*a, **k), raising=True
    )
    a, b = sympy.symbols("a b", real=True)
    expr = 2 * (a - b) / ((a - b) ** 2 + 1) + sympy.exp(a) * (a - 2 * b) ** 2 / (
        (a - 2 * b) ** 4 + 3
    )
    first = lowering._far_rationals(expr)
    asked = len(calls)
    assert asked > 0
    assert lowering._far_rationals(expr) == first
    assert len(calls) == asked
    branch = next(p for p in first.atoms(sympy.Piecewise) if p.has(a - b))
    value = sympy.lambdify([a, b], branch, "mpmath")
    with mpmath.workdps(30):
        truth = 2 * mpmath.mpf(10) ** 200 / (mpmath.mpf(10) ** 400 + 1)
        got = value(mpmath.mpf(10) ** 200, 0)
        assert abs(got - truth) <= 1e-25 * truth
