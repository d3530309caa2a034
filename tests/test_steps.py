"""The rule tree of symcalc.symbolic.steps against SymPy's own derivative, node by node."""

from __future__ import annotations

import numpy as np
import pytest
import sympy
from sympy import (
    Abs,
    Heaviside,
    Max,
    Min,
    Piecewise,
    Rational,
    acos,
    acosh,
    asin,
    asinh,
    atan,
    atanh,
    cos,
    cosh,
    cot,
    coth,
    csc,
    csch,
    erf,
    erfc,
    exp,
    log,
    sec,
    sech,
    sign,
    sin,
    sinh,
    sqrt,
    tan,
    tanh,
)

from symcalc.errors import SymcalcError
from symcalc.symbolic.catalog import CATALOG
from symcalc.symbolic.functions import sigmoid, symbol
from symcalc.symbolic.kinks import CONVENTIONS, apply_convention, kink_candidates, nonsmooth_atoms
from symcalc.symbolic.render import to_latex, to_text
from symcalc.symbolic.steps import (
    ChainRule,
    ConstantMultipleRule,
    DontKnowRule,
    ExponentialRule,
    ExpRule,
    GeneralPowerRule,
    MaxMinRule,
    PiecewiseRule,
    PowerRule,
    ProductRule,
    QuotientRule,
    RewriteRule,
    Rule,
    SigmoidRule,
    SqrtRule,
    SumRule,
    TrigRule,
    derivation_steps,
    walk,
    with_identity,
)

x = symbol("x")

# expression, (low, high) for x: the interval it is sampled in
COMPOSITES = [
    (x * tanh(log(1 + exp(x))), (-3, 3)),
    (exp(sin(x**2)), (-2, 2)),
    (x**x, (0.2, 3)),
    (2**x, (-3, 3)),
    (3 ** (x**2) / (1 + x**2), (-1.5, 1.5)),
    (log(x) / x, (0.2, 4)),
    (sqrt(1 + x**2), (-3, 3)),
    (atan(x) / (1 + x), (0, 3)),
    (erf(x) * exp(-x), (-2, 2)),
    (erfc(x**2) + 2 * x, (-2, 2)),
    (Max(0, x) ** 2, (-3, 3)),
    (Abs(sin(x)), (-3, 3)),
    (x * sin(x) * exp(x), (-3, 3)),
    (x**2 * cos(x) * log(x) * sqrt(x), (0.2, 3)),
    ((x / (1 + x)) / (1 + 1 / x), (0.2, 3)),
    ((sin(x) / (1 + x**2)) / (2 + cos(x) / (3 + x)), (-2, 2)),
    (1 / (x * (1 + x)), (0.2, 3)),
    (5 / (2 + sin(x)), (-3, 3)),
    (sigmoid(2 * x), (-3, 3)),
    (x * sigmoid(x), (-3, 3)),
    (sigmoid(x) ** 2 + sigmoid(sin(x)), (-3, 3)),
    (tan(x) + sec(x) + csc(x) + cot(x), (0.2, 1.3)),
    (sinh(x) * cosh(x) + sech(x) + csch(x) + coth(x), (0.2, 3)),
    (asin(x / 2) + acos(x / 3) + asinh(x) + atanh(x / 4) + acosh(2 + x**2), (-1.5, 1.5)),
    (sympy.acot(x) + sympy.acoth(2 + x**2), (0.2, 3)),
    (Min(x, x**2) + Max(sin(x), cos(x), 0), (-3, 3)),
    (Heaviside(x - 1) * x**2 + sign(x) * x**3, (-3, 3)),
    (Piecewise((x**2, x < 1), (2 * x - 1, True)) * exp(x), (-3, 3)),
    (log(1 + x**2) ** 3, (-3, 3)),
    (x ** sin(x), (0.2, 3)),
    ((1 + x**2) ** Rational(1, 3), (-3, 3)),
    (x ** Rational(1, 2), (0.2, 3)),
    (-exp(-(x**2) / 2) / sqrt(2 * sympy.pi), (-3, 3)),
    (cos(x) ** 2 + sin(x) ** 2, (-3, 3)),
    (sympy.Integer(5), (-3, 3)),
    (x, (-3, 3)),
]


def _value(expr: sympy.Expr, point: dict) -> complex:
    value = complex(sympy.N(expr.xreplace({s: sympy.Float(v, 30) for s, v in point.items()}), 30))
    assert np.isfinite(value), f"{expr} is not finite at {point}"
    return value


def _close(a: complex, b: complex) -> bool:
    return abs(a - b) <= 1e-12 * max(1.0, abs(a), abs(b))


def _check_tree(rule: Rule, point: dict, convention: str = "zero", bind=lambda e: e) -> int:
    """Every node's result equals apply_convention(diff(node.expr, node.variable)) at ``point``.

    A chain rule's outer node (a function of its placeholder u) is checked where it is
    used: at u = the inner expression's value.  Returns the number of nodes checked.
    """
    expected = bind(apply_convention(sympy.diff(rule.expr, rule.variable), convention))
    got = bind(rule.result)
    a, b = _value(got, point), _value(expected, point)
    assert _close(a, b), f"{rule}: {a} != {b} at {point}"
    if rule.intermediate is not None:  # the intermediate, evaluated, is the same derivative
        middle = bind(apply_convention(rule.intermediate.doit(), convention))
        assert _close(_value(middle, point), b), f"intermediate of {rule}"
    checked = 1
    for step in rule.substeps:
        inner_point = point
        if isinstance(rule, ChainRule) and step is rule.outer:
            inner = _value(bind(rule.inner), point)
            assert abs(inner.imag) < 1e-20
            inner_point = {**point, rule.placeholder: inner.real}
        checked += _check_tree(step, inner_point, convention, bind)
    return checked


def _sample(domain: sympy.Set, rng: np.random.Generator) -> float:
    if domain == sympy.S.Reals:
        return float(rng.uniform(-3, 3))
    if isinstance(domain, sympy.FiniteSet):
        return float(rng.choice([float(v) for v in domain]))
    low, high = float(domain.inf), float(domain.sup)
    return low + (high - low) * float(rng.uniform(0.05, 0.95))


def _entry_variables(kind: str | None = None):
    return [
        (name, str(var))
        for name, entry in sorted(CATALOG.items())
        for var in (entry.variables if entry.kind == "loss" else entry.variables[:1])
        if kind is None or entry.kind == kind
    ]


@pytest.mark.parametrize("name, var", _entry_variables())
def test_every_node_matches_sympy_for_catalog(name, var):
    entry = CATALOG[name]
    var = symbol(var)
    rng = np.random.default_rng(0)
    rule = derivation_steps(entry.expr, var)
    for _ in range(3):
        point = {v: _sample(entry.domain_of(v), rng) for v in entry.variables}
        assert _check_tree(rule, point, bind=entry.bind) >= 1
    assert not any(isinstance(node, DontKnowRule) for node in walk(rule))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_tree_for_first_variable_is_complete(name):
    entry = CATALOG[name]
    rule = derivation_steps(entry.expr, entry.variable)
    assert rule.expr == entry.expr and rule.variable == entry.variable
    for node in walk(rule):
        assert isinstance(node.substeps, tuple)
        assert type(node).__doc__ and "->" in type(node).__doc__
        assert repr(node).startswith(f"<{type(node).__name__} d/d")


@pytest.mark.parametrize("expr, interval", COMPOSITES, ids=[sympy.sstr(e) for e, _ in COMPOSITES])
def test_every_node_matches_sympy_for_composites(expr, interval):
    rng = np.random.default_rng(0)
    rule = derivation_steps(expr, x)
    for value in rng.uniform(*interval, size=3):
        _check_tree(rule, {x: float(value)})
    assert not any(isinstance(node, DontKnowRule) for node in walk(rule))


@pytest.mark.parametrize(
    "expr",
    [
        x**2 * sin(x),
        exp(sin(x**2)),
        log(x) / x,
        sqrt(1 + x**2),
        x * sigmoid(x),
        2**x,
        atan(x) / (1 + x),
    ],
    ids=sympy.sstr,
)
def test_small_results_are_symbolically_sympys(expr):
    rule = derivation_steps(expr, x)
    assert sympy.simplify(rule.result - sympy.diff(expr, x)) == 0


@pytest.mark.parametrize("convention", sorted(CONVENTIONS))
@pytest.mark.parametrize(
    "name",
    sorted(n for n, e in CATALOG.items() if nonsmooth_atoms(e.expr) and len(e.variables) <= 2),
)
def test_kinks_follow_the_convention(name, convention):
    entry = CATALOG[name]
    var = entry.variable
    expr = entry.univariate()
    rule = derivation_steps(expr, var, convention)
    expected = apply_convention(sympy.diff(expr, var), convention)
    kinks = kink_candidates(expr, var)
    assert kinks, name
    for kink in kinks:
        got, want = rule.result.subs(var, kink), expected.subs(var, kink)
        message = f"{name} at {var} = {kink}: {got} != {want}"
        assert abs(complex(sympy.N(got - want))) < 1e-12, message


@pytest.mark.parametrize(
    "expr, at", [(Max(0, x), 0), (Min(x, -x), 0), (Abs(x), 0), (Max(0, x, 2 * x), 0)]
)
def test_convention_values_at_the_kink(expr, at):
    for convention in CONVENTIONS:
        got = derivation_steps(expr, x, convention).result.subs(x, at)
        want = apply_convention(sympy.diff(expr, x), convention).subs(x, at)
        assert got == want


def _names(rule: Rule) -> set[type]:
    return {type(node) for node in walk(rule)}


@pytest.mark.parametrize(
    "expr, expected",
    [
        (CATALOG["sigmoid"].expr, {ChainRule, ExpRule, PowerRule}),
        (CATALOG["silu"].expr, {QuotientRule, ExpRule}),  # x/(1 + exp(-x)): a quotient, as written
        (x * sigmoid(x), {ProductRule, SigmoidRule}),
        (CATALOG["mish"].expr, {ProductRule, ChainRule}),
        (CATALOG["gelu"].expr, {ConstantMultipleRule, ProductRule}),
        (CATALOG["relu"].expr, {MaxMinRule}),
        (CATALOG["elu"].expr, {PiecewiseRule}),
        (x**2 * sin(x), {ProductRule, PowerRule, TrigRule}),
        (x * sin(x) * exp(x), {ProductRule}),
        (log(x) / x, {QuotientRule}),
        (sqrt(1 + x**2), {ChainRule, SqrtRule, SumRule}),
        (x**x, {GeneralPowerRule}),
        (2**x, {ExponentialRule}),
    ],
    ids=lambda v: sympy.sstr(v) if isinstance(v, sympy.Basic) else "",
)
def test_expected_rules_appear(expr, expected):
    assert expected <= _names(derivation_steps(expr, x))


def test_product_rule_is_nary():
    rule = derivation_steps(x * sin(x) * exp(x), x)
    assert isinstance(rule, ProductRule) and len(rule.factors) == 3
    assert [f.expr for f in rule.factors] == [x, exp(x), sin(x)]


def test_constant_numerator_uses_the_chain_rule_on_a_reciprocal():
    rule = derivation_steps(5 / (2 + sin(x)), x)
    assert isinstance(rule, ConstantMultipleRule) and rule.constant == 5
    assert isinstance(rule.substep, ChainRule) and isinstance(rule.substep.outer, PowerRule)
    assert rule.substep.outer.exponent == -1


def test_quotient_rule_parts():
    rule = derivation_steps(log(x) / x, x)
    assert isinstance(rule, QuotientRule)
    assert (rule.numerator.expr, rule.denominator.expr) == (log(x), x)
    assert rule.intermediate.has(sympy.Derivative)
    assert sympy.simplify(rule.result - (1 - log(x)) / x**2) == 0


def test_chain_rule_placeholder_avoids_the_expressions_symbols():
    u = symbol("u")
    rule = derivation_steps(exp(u * x), x)
    assert isinstance(rule, ChainRule) and rule.placeholder != u
    assert rule.result == u * exp(u * x)


def test_piecewise_keeps_conditions():
    rule = derivation_steps(CATALOG["leaky_relu"].expr, x)
    assert isinstance(rule, PiecewiseRule)
    assert [c for _, c in rule.result.args] == [c for _, c in CATALOG["leaky_relu"].expr.args]


def test_sigmoid_function_rule():
    rule = derivation_steps(sigmoid(x), x)
    assert isinstance(rule, SigmoidRule)
    assert rule.result == sigmoid(x) * (1 - sigmoid(x))


@pytest.mark.parametrize("name", sorted(CATALOG))
def test_with_identity_accepts_every_catalog_identity(name):
    entry = CATALOG[name]
    steps = derivation_steps(entry.expr, entry.variable)
    rule = with_identity(steps, entry.identity, entry.constraints)
    assert rule.result == entry.identity
    if isinstance(rule, RewriteRule):
        assert rule.substep.expr == entry.expr
        assert rule.substep.result != entry.identity
    else:  # the derivation already ends on the classic form: no step that changes nothing
        assert rule is steps


def test_with_identity_refuses_a_false_identity():
    steps = derivation_steps(CATALOG["sigmoid"].expr, x)
    with pytest.raises(SymcalcError, match=r"is not d/dx\[1/\(1 \+ exp\(-x\)\)\]"):
        with_identity(steps, sigmoid(x) * (1 + sigmoid(x)))


def test_with_identity_needs_constraints_for_softmax():
    entry = CATALOG["categorical_cross_entropy"]
    steps = derivation_steps(entry.expr, entry.variable)
    with pytest.raises(SymcalcError, match="is not"):
        with_identity(steps, entry.identity)


def test_with_identity_none_is_a_no_op():
    steps = derivation_steps(x**2, x)
    assert with_identity(steps, None) is steps


@pytest.mark.parametrize(
    "unsupported",
    [sympy.zeta(x), sympy.besselj(x, 1), sympy.dirichlet_eta(x**2), sympy.expint(x, 2)],
    ids=sympy.sstr,
)
def test_unsupported_functions_become_dont_know_nodes(unsupported):
    expr = x**2 * unsupported + sin(x)
    rule = derivation_steps(expr, x)
    unknown = [node for node in walk(rule) if isinstance(node, DontKnowRule)]
    assert [node.expr for node in unknown] == [unsupported]
    assert unknown[0].result == sympy.Derivative(unsupported, x)
    assert sympy.simplify(rule.result.doit() - sympy.diff(expr, x)) == 0
    assert "no rule known" in to_text(rule)
    assert r"\tag*{no rule known" in to_latex(rule)


def test_bad_input_is_refused():
    with pytest.raises(SymcalcError, match="unknown kink convention 'zro'"):
        derivation_steps(Max(0, x), x, convention="zro")
    with pytest.raises(SymcalcError, match="expected a SymPy expression"):
        derivation_steps("x**2", x)
    assert derivation_steps(x**2, "x").result == 2 * x
    with pytest.raises(SymcalcError, match="other assumptions"):
        derivation_steps(sympy.Symbol("x") ** 2, x)


def test_rules_are_frozen_and_hashable():
    rule = derivation_steps(x**2 * sin(x), x)
    with pytest.raises(AttributeError):
        rule.expr = x
    assert rule == derivation_steps(x**2 * sin(x), x)
    assert len({rule, derivation_steps(x**2 * sin(x), x)}) == 1


def test_whole_catalog_builds_fast():
    import time

    start = time.perf_counter()
    for entry in CATALOG.values():
        for var in entry.variables:
            for node in walk(derivation_steps(entry.expr, var)):
                node.result  # noqa: B018 - force the lazy result
    assert time.perf_counter() - start < 1.0
