"""Every stability rewrite is an identity, proved at 50 digits, and does what it says."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy

from symcalc.numeric.rewrites import (
    MPMATH_FUNCTIONS,
    RULES,
    Rewrite,
    logsumexp,
    optimize,
    optimize_traced,
    softplus,
)
from symcalc.symbolic.catalog import CATALOG, get
from symcalc.symbolic.derivatives import derivative
from symcalc.symbolic.functions import sigmoid, symbol

POINTS = [-30.0, -7.5, -1.0, -0.125, 0.0, 0.3, 1.0, 4.0, 25.0]


def agree_at_50_digits(lhs: sympy.Expr, rhs: sympy.Expr, points=POINTS, extra=None) -> None:
    """lhs and rhs take the same value (50 digits) at every point of every free symbol."""
    symbols = sorted(lhs.free_symbols | rhs.free_symbols, key=lambda s: s.name)
    f = sympy.lambdify(symbols, lhs, modules=[MPMATH_FUNCTIONS, "mpmath"])
    g = sympy.lambdify(symbols, rhs, modules=[MPMATH_FUNCTIONS, "mpmath"])
    rng = np.random.default_rng(7)
    for _i, x in enumerate(points):
        values = [
            x if j == 0 else (extra or {}).get(s.name, float(rng.uniform(0.05, 0.95)))
            for j, s in enumerate(symbols)
        ]
        with mpmath.workdps(80):
            a = f(*[mpmath.mpf(v) for v in values])
            b = g(*[mpmath.mpf(v) for v in values])
            assert a == b or abs(a - b) <= mpmath.mpf("1e-50") * max(1, abs(a)), (
                lhs,
                rhs,
                values,
                a,
                b,
            )


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.name)
def test_rule_examples_are_identities_and_the_rule_produces_them(rule: Rewrite):
    assert rule.examples, f"{rule.name} has no worked example"
    for lhs, rhs in rule.examples:
        agree_at_50_digits(lhs, rhs)
        produced = rule(lhs)
        agree_at_50_digits(produced, lhs)
        assert sympy.simplify(produced - rhs) == 0 or produced == rhs, (
            rule.name,
            lhs,
            produced,
            rhs,
        )
    assert rule.name in rule.to_text() and rule.name in repr(rule)


@pytest.mark.parametrize("order", [0, 1, 2])
@pytest.mark.parametrize("name", sorted(CATALOG))
def test_optimizing_catalog_derivatives_keeps_their_value(name, order):
    """The whole pass (every rule together) is an identity on every catalog result."""
    entry = get(name)
    expr = entry.bind(derivative(entry, wrt=entry.variable, order=order) if order else entry.expr)
    rewritten = optimize(expr)
    main = entry.variable
    points = POINTS if entry.domain_of(main) == sympy.S.Reals else [0.01, 0.2, 0.5, 0.77, 0.99]
    extra = {v.name: float(entry.fixed.get(v.name, 0.3)) for v in entry.variables[1:]}
    if isinstance(entry.domain_of(entry.variables[-1]), sympy.FiniteSet):
        extra = {v.name: -1.0 for v in entry.variables[1:]}
    lhs, rhs = expr, rewritten
    order_first = [main] + [v for v in entry.variables if v != main]
    renamed = {v: symbol(f"a{i}_{v.name}") for i, v in enumerate(order_first)}
    extra = {
        renamed[v].name: value
        for v, value in ((v, extra.get(v.name)) for v in entry.variables[1:])
        if value is not None
    }
    agree_at_50_digits(lhs.xreplace(renamed), rhs.xreplace(renamed), points, extra)


def test_named_patterns_from_the_issue():
    x, z, y = symbol("x"), symbol("z"), symbol("y")
    e = sympy.exp
    assert optimize(1 / (1 + e(-x))) == sigmoid(x)
    assert optimize(sympy.log(1 + e(x))) == softplus(x)
    assert str(optimize(sympy.log(1 + x**2))) == "log1p(x**2)"
    assert str(optimize(e(x) - 1)) == "expm1(x)"
    assert optimize(sympy.log(sigmoid(x))) == -softplus(-x)
    assert optimize(1 - sigmoid(x)) == sigmoid(-x)
    assert optimize(sigmoid(x) * (1 - sigmoid(x))) == sigmoid(x) * sigmoid(-x)
    assert optimize(e(-x) / (1 + e(-x)) ** 2) == sigmoid(x) * sigmoid(-x)
    assert optimize(sympy.log(e(x) + e(y))) == logsumexp(x, y)
    logits = optimize(-(y * sympy.log(1 / (1 + e(-z))) + (1 - y) * sympy.log(1 - 1 / (1 + e(-z)))))
    assert logits == y * softplus(-z) + (1 - y) * softplus(z)


def test_traced_optimize_names_the_rules_that_fired():
    x = symbol("x")
    result, fired = optimize_traced(x * sympy.tanh(sympy.log(1 + sympy.exp(x))))
    assert result == x * sympy.tanh(softplus(x)) and fired == ("softplus",)
    assert optimize_traced(x**2 + 1) == (x**2 + 1, ())


def test_rules_never_touch_what_is_already_stable():
    x = symbol("x")
    for expr in (
        sympy.tanh(x),
        sympy.sin(x) * x,
        sympy.exp(-(x**2)),
        sigmoid(x) + 1,
        sympy.Max(0, x),
    ):
        assert optimize(expr) == expr


def test_a_rule_that_feeds_on_its_own_output_is_stopped():
    """Rules map a node to a normal form; one whose output it rewrites again, growing each
    time, is stopped by the driver's growth limit instead of doubling the expression until
    memory runs out (the sigmoid form once did this to sqrt(sqrt(x) + σ(x))′)."""
    x = symbol("x")
    g = sympy.Function("g")
    nesting = Rewrite("nest", "g(u) -> g(g(u))", lambda e: isinstance(e, g), lambda e, c: g(e))
    result, fired = optimize_traced(g(x) + 1, (nesting,))
    assert sum(1 for _ in sympy.preorder_traversal(result)) <= 4 * 4 + 48
    assert fired and set(fired) == {"nest"}


def test_the_sigmoid_form_leaves_what_is_inside_other_functions_alone():
    """σ(x) inside sqrt(...) is an opaque coefficient of the rational form around it: it is
    not rewritten in exponentials (which once nested σ(x)/σ(-x) deeper at every pass)."""
    x = symbol("x")
    expr = (2 * sigmoid(-x) * sigmoid(x) + 1 / sympy.sqrt(x)) / (
        4 * sympy.sqrt(sympy.sqrt(x) + sigmoid(x))
    )
    assert optimize(expr) == expr


def test_the_sigmoid_form_of_a_formula_seen_before_is_remembered_not_factored_again(
    monkeypatch,
):
    """A derivative's levels and the kernel, JAX and PyTorch builds lower the same σ
    polynomials again: the second time the answer is the same and costs no `factor_list`
    (which, with `cancel`, was most of a gelu_tanh JAX export); the form is an identity
    at 50 digits either way."""
    from symcalc.numeric import rewrites

    x = symbol("x")
    expr = derivative(sigmoid(3 * x) * (1 - sigmoid(3 * x)) * x)
    first = optimize(expr)
    agree_at_50_digits(expr, first)
    calls = []
    factor_list = sympy.factor_list
    monkeypatch.setattr(
        rewrites.sympy, "factor_list", lambda *a, **k: calls.append(a) or factor_list(*a, **k)
    )
    assert optimize(expr) == first
    assert calls == []
    assert rewrites._sigmoid_forms_cached.cache_info().maxsize == 1024  # bounded


def test_a_sum_around_a_piecewise_cancels_inside_it():
    """log(cosh(x)) - |x|: the stable log cosh is |x| + softplus(-2|x|) - log 2 for |x| >= 1,
    so the sum is two terms of about |x| that cancel to -log 2 (2.7e-9 off at x = 1e8 and
    0 from 1e16).  Taken into the piecewise form, |x| - |x| cancels exactly."""
    from symcalc.numeric.kernels import kernel

    k = kernel("log(cosh(x)) - abs(x)")
    assert "piecewise_sum" in k.rewrites
    x = symbol("x")
    f = sympy.lambdify(x, sympy.log(sympy.cosh(x)) - sympy.Abs(x), "mpmath")
    points = np.array([0.001, 0.5, 0.999, 1.0, 3.0, 30.0, 1e8, 1e16, 1e300])
    points = np.concatenate([points, -points])
    for dtype, rtol in ((np.float64, 1e-12), (np.float32, 1e-5)):
        inputs = points[np.abs(points) <= np.finfo(dtype).max].astype(dtype)
        got = k(inputs)
        assert got.dtype == dtype
        for t, g in zip(inputs.tolist(), got.tolist(), strict=True):
            with mpmath.workdps(40 + int(abs(np.log10(abs(t))))):  # |x| beside log 2
                truth = float(f(mpmath.mpf(t)))
            assert abs(g - truth) <= rtol * abs(truth), (dtype, t, g, truth)
