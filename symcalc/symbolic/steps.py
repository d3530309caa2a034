"""The derivative as a tree of rule applications, the way a textbook derives it.

`derivation_steps` walks an expression and returns a tree of small rule objects,
one per rule applied (sum rule, product rule, chain rule, ...).  Every rule holds
the expression it differentiates, the variable, its own fields and its substeps
(the derivations of the parts it needs); its docstring is its formula, and its
``result`` is built from the results of its substeps, so the tree computes the
derivative itself.  ``intermediate`` shows the formula applied with unevaluated
derivatives of the parts (the line a textbook writes before the answer).

A part no rule covers becomes a `DontKnowRule` whose result is the unevaluated
``Derivative``: failure is a node, so a partial tree still renders.  Printing
lives in `symcalc.symbolic.render`.

Non-smooth parts follow `symcalc.symbolic.kinks`: the derivative of a Max, Min, Abs or
Heaviside step equals ``apply_convention(sympy.diff(expr, x), convention)``,
written so that it needs no ``&`` or ``Eq`` (the parser reads every result back).

Examples
--------
>>> from symcalc.symbolic.functions import symbol
>>> x = symbol("x")
>>> rule = derivation_steps(x**2 * sympy.sin(x), x)
>>> rule
<ProductRule d/dx[x**2*sin(x)] = x**2*cos(x) + 2*x*sin(x)>
>>> [type(step).__name__ for step in rule.substeps]
['PowerRule', 'TrigRule']
"""

from __future__ import annotations

import cmath
import dataclasses
import functools
import random
from collections.abc import Callable, Iterable, Iterator
from typing import ClassVar

import sympy

from ..errors import SymcalcError
from .functions import sigmoid, symbol
from .kinks import heaviside_at_zero, tie_value
from .special import BY_CLASS

__all__ = [
    "AbsRule",
    "ChainRule",
    "ConstantMultipleRule",
    "ConstantRule",
    "DontKnowRule",
    "ErfRule",
    "ExpRule",
    "ExponentialRule",
    "FunctionRule",
    "GeneralPowerRule",
    "HeavisideRule",
    "HyperbolicRule",
    "IdentityRule",
    "InverseTrigRule",
    "MultivariableChainRule",
    "LogRule",
    "MaxMinRule",
    "PiecewiseRule",
    "PowerRule",
    "ProductRule",
    "QuotientRule",
    "RewriteRule",
    "Rule",
    "SigmoidRule",
    "SignRule",
    "SpecialFunctionRule",
    "SqrtRule",
    "SumRule",
    "TrigRule",
    "derivation_steps",
    "walk",
    "with_identity",
]

_rule = dataclasses.dataclass(frozen=True, repr=False)


def _d(expr: sympy.Expr, x: sympy.Symbol) -> sympy.Expr:
    """The unevaluated derivative d/dx[expr] (0 for a constant)."""
    return sympy.Derivative(expr, x) if expr.has(x) else sympy.S.Zero


def _written_mul(*factors: sympy.Expr) -> sympy.Expr:
    """A product kept in the order written (u'*v, not SymPy's v*u'), for intermediates."""
    args = [a for f in factors for a in sympy.Mul.make_args(f) if a != 1]
    if any(a == 0 for a in args):
        return sympy.S.Zero
    if not args:
        return sympy.S.One
    return args[0] if len(args) == 1 else sympy.Mul(*args, evaluate=False)


def _written_add(*terms: sympy.Expr) -> sympy.Expr:
    """A sum kept in the order written, for intermediates."""
    args = [t for t in terms if t != 0]
    if not args:
        return sympy.S.Zero
    return args[0] if len(args) == 1 else sympy.Add(*args, evaluate=False)


@_rule
class Rule:
    """d/dx[expr] -> result: one rule applied to ``expr``, a function of ``variable``."""

    expr: sympy.Expr
    variable: sympy.Symbol

    #: What a reader calls the rule ("product rule").
    name: ClassVar[str] = "rule"

    @functools.cached_property
    def result(self) -> sympy.Expr:
        """The derivative of ``expr``, built from the substeps' results."""
        return self.eval()

    def eval(self) -> sympy.Expr:
        """Compute the derivative; `result` caches it."""
        raise NotImplementedError  # pragma: no cover - every rule defines it

    @property
    def substeps(self) -> tuple[Rule, ...]:
        """The child rules, in reading order."""
        return ()

    @property
    def intermediate(self) -> sympy.Expr | None:
        """The formula applied with unevaluated derivatives of the parts, or None."""
        return None

    def __repr__(self) -> str:
        d = f"d/d{self.variable}[{sympy.sstr(self.expr)}]"
        return f"<{type(self).__name__} {d} = {sympy.sstr(self.result)}>"


# -- leaves ------------------------------------------------------------------------


@_rule
class ConstantRule(Rule):
    """d/dx[c] -> 0"""

    name: ClassVar[str] = "constant rule"

    def eval(self):
        return sympy.S.Zero


@_rule
class IdentityRule(Rule):
    """d/dx[x] -> 1"""

    name: ClassVar[str] = "identity rule"

    def eval(self):
        return sympy.S.One


@_rule
class PowerRule(Rule):
    """d/dx[x**n] -> n*x**(n - 1)"""

    exponent: sympy.Expr

    name: ClassVar[str] = "power rule"

    def eval(self):
        n = self.exponent
        return n * self.variable ** (n - 1)


@_rule
class SqrtRule(Rule):
    """d/dx[sqrt(x)] -> 1/(2*sqrt(x))"""

    name: ClassVar[str] = "sqrt rule"

    def eval(self):
        return 1 / (2 * sympy.sqrt(self.variable))


@_rule
class ExponentialRule(Rule):
    """d/dx[a**x] -> a**x*log(a)"""

    base: sympy.Expr

    name: ClassVar[str] = "exponential rule"

    def eval(self):
        return self.base**self.variable * sympy.log(self.base)


@_rule
class FunctionRule(Rule):
    """d/dx[f(x)] -> f'(x), read from the rule's table of derivatives."""

    #: Function class -> its derivative as a function of the argument.
    table: ClassVar[dict[type, Callable[[sympy.Expr], sympy.Expr]]] = {}

    def eval(self):
        return self.table[type(self.expr)](self.expr.args[0])


@_rule
class ExpRule(FunctionRule):
    """d/dx[exp(x)] -> exp(x)"""

    name: ClassVar[str] = "exp rule"
    table: ClassVar[dict] = {sympy.exp: sympy.exp}


@_rule
class LogRule(FunctionRule):
    """d/dx[log(x)] -> 1/x"""

    name: ClassVar[str] = "log rule"
    table: ClassVar[dict] = {sympy.log: lambda u: 1 / u}


@_rule
class TrigRule(FunctionRule):
    """d/dx[sin x] -> cos x

    and cos -> -sin, tan -> sec**2, sec -> sec*tan, csc -> -csc*cot, cot -> -csc**2.
    """

    name: ClassVar[str] = "trig rule"
    table: ClassVar[dict] = {
        sympy.sin: sympy.cos,
        sympy.cos: lambda u: -sympy.sin(u),
        sympy.tan: lambda u: sympy.sec(u) ** 2,
        sympy.sec: lambda u: sympy.sec(u) * sympy.tan(u),
        sympy.csc: lambda u: -sympy.csc(u) * sympy.cot(u),
        sympy.cot: lambda u: -(sympy.csc(u) ** 2),
    }


@_rule
class HyperbolicRule(FunctionRule):
    """d/dx[tanh x] -> 1 - tanh(x)**2

    and sinh -> cosh, cosh -> sinh, sech -> -sech*tanh, csch -> -csch*coth, coth -> 1 - coth**2.
    """

    name: ClassVar[str] = "hyperbolic rule"
    table: ClassVar[dict] = {
        sympy.tanh: lambda u: 1 - sympy.tanh(u) ** 2,
        sympy.sinh: sympy.cosh,
        sympy.cosh: sympy.sinh,
        sympy.sech: lambda u: -sympy.sech(u) * sympy.tanh(u),
        sympy.csch: lambda u: -sympy.csch(u) * sympy.coth(u),
        sympy.coth: lambda u: 1 - sympy.coth(u) ** 2,
    }


@_rule
class InverseTrigRule(FunctionRule):
    """d/dx[atan x] -> 1/(1 + x**2)

    and asin -> 1/sqrt(1 - x**2), acos -> -1/sqrt(1 - x**2), acot -> -1/(1 + x**2),
    asec -> 1/(x**2*sqrt(1 - 1/x**2)), acsc -> -1/(x**2*sqrt(1 - 1/x**2)),
    asinh -> 1/sqrt(x**2 + 1), acosh -> 1/sqrt(x**2 - 1), atanh and acoth -> 1/(1 - x**2),
    asech -> -1/(x*sqrt(1 - x**2)), acsch -> -1/(x**2*sqrt(1 + 1/x**2)).
    """

    name: ClassVar[str] = "inverse trig rule"
    table: ClassVar[dict] = {
        sympy.asin: lambda u: 1 / sympy.sqrt(1 - u**2),
        sympy.acos: lambda u: -1 / sympy.sqrt(1 - u**2),
        sympy.atan: lambda u: 1 / (1 + u**2),
        sympy.acot: lambda u: -1 / (1 + u**2),
        sympy.asec: lambda u: 1 / (u**2 * sympy.sqrt(1 - 1 / u**2)),
        sympy.acsc: lambda u: -1 / (u**2 * sympy.sqrt(1 - 1 / u**2)),
        sympy.asinh: lambda u: 1 / sympy.sqrt(u**2 + 1),
        sympy.acosh: lambda u: 1 / sympy.sqrt(u**2 - 1),
        sympy.atanh: lambda u: 1 / (1 - u**2),
        sympy.acoth: lambda u: 1 / (1 - u**2),
        sympy.asech: lambda u: -1 / (u * sympy.sqrt(1 - u**2)),
        sympy.acsch: lambda u: -1 / (u**2 * sympy.sqrt(1 + 1 / u**2)),
    }


@_rule
class ErfRule(FunctionRule):
    """d/dx[erf x] -> 2*exp(-x**2)/sqrt(pi), erfc -> -2*exp(-x**2)/sqrt(pi)"""

    name: ClassVar[str] = "erf rule"
    table: ClassVar[dict] = {
        sympy.erf: lambda u: 2 * sympy.exp(-(u**2)) / sympy.sqrt(sympy.pi),
        sympy.erfc: lambda u: -2 * sympy.exp(-(u**2)) / sympy.sqrt(sympy.pi),
    }


@_rule
class SpecialFunctionRule(Rule):
    """d/dx[f(..., x, ...)] -> ∂f/∂x, read from `symcalc.symbolic.special`'s table

    (gamma -> gamma*polygamma(0, x), besselj(ν, x) -> (J_{ν-1} - J_{ν+1})/2, Si -> sin(x)/x,
    ...).  ``position`` is the argument that is the variable; the others are constants.
    """

    position: int

    @property
    def name(self) -> str:  # type: ignore[override] - each function names its own rule
        """The function's own rule name ("gamma rule", "Bessel rule")."""
        return BY_CLASS[type(self.expr)].rule

    def eval(self):
        partial = BY_CLASS[type(self.expr)].partials[self.position]
        return partial(*self.expr.args)


@_rule
class MultivariableChainRule(Rule):
    """d/dx[f(u, v)] -> ∂f/∂u*u' + ∂f/∂v*v'   (partials from `symcalc.symbolic.special`)"""

    positions: tuple[int, ...]
    arguments: tuple[Rule, ...]

    name: ClassVar[str] = "multivariable chain rule"

    def _terms(self, derivative: Callable[[Rule], sympy.Expr], add=sympy.Add, mul=sympy.Mul):
        partials = BY_CLASS[type(self.expr)].partials
        args = self.expr.args
        return add(
            *(
                mul(partials[i](*args), derivative(a))
                for i, a in zip(self.positions, self.arguments, strict=True)
            )
        )

    def eval(self):
        return self._terms(lambda a: a.result)

    @property
    def substeps(self):
        return self.arguments

    @property
    def intermediate(self):
        return self._terms(lambda a: _d(a.expr, self.variable), _written_add, _written_mul)


@_rule
class SigmoidRule(FunctionRule):
    """d/dx[σ(x)] -> σ(x)*(1 - σ(x))"""

    name: ClassVar[str] = "sigmoid rule"
    table: ClassVar[dict] = {sigmoid: lambda u: sigmoid(u) * (1 - sigmoid(u))}


@_rule
class AbsRule(FunctionRule):
    """d/dx[|x|] -> sign(x)   (sign(0) = 0 under every kink convention)"""

    name: ClassVar[str] = "abs rule"
    table: ClassVar[dict] = {sympy.Abs: sympy.sign}


@_rule
class HeavisideRule(Rule):
    """d/dx[H(u)] -> 0   (u ≠ 0; at u = 0 the convention drops the DiracDelta)"""

    convention: str

    name: ClassVar[str] = "Heaviside rule"

    def eval(self):
        return sympy.S.Zero


@_rule
class SignRule(Rule):
    """d/dx[sign(u)] -> 0   (u ≠ 0; at u = 0 the convention drops the DiracDelta)"""

    convention: str

    name: ClassVar[str] = "sign rule"

    def eval(self):
        return sympy.S.Zero


@_rule
class DontKnowRule(Rule):
    """d/dx[f] -> Derivative(f, x): no rule for this, left unevaluated."""

    name: ClassVar[str] = "no rule known"

    def eval(self):
        return sympy.Derivative(self.expr, self.variable)


# -- rules with substeps -----------------------------------------------------------


@_rule
class SumRule(Rule):
    """d/dx[u + v] -> u' + v'"""

    terms: tuple[Rule, ...]

    name: ClassVar[str] = "sum rule"

    def eval(self):
        return sympy.Add(*(t.result for t in self.terms))

    @property
    def substeps(self):
        return self.terms

    @property
    def intermediate(self):
        x = self.variable
        return _written_add(*(_d(t.expr, x) for t in self.terms))


@_rule
class ConstantMultipleRule(Rule):
    """d/dx[c*u] -> c*u'"""

    constant: sympy.Expr
    substep: Rule

    name: ClassVar[str] = "constant multiple rule"

    def eval(self):
        return self.constant * self.substep.result

    @property
    def substeps(self):
        return (self.substep,)

    @property
    def intermediate(self):
        return _written_mul(self.constant, _d(self.substep.expr, self.variable))


@_rule
class ProductRule(Rule):
    """d/dx[u*v*w] -> u'*v*w + u*v'*w + u*v*w'"""

    factors: tuple[Rule, ...]

    name: ClassVar[str] = "product rule"

    def _terms(self, derivative: Callable[[Rule], sympy.Expr], add=sympy.Add, mul=sympy.Mul):
        exprs = [f.expr for f in self.factors]
        return add(
            *(mul(*exprs[:i], derivative(f), *exprs[i + 1 :]) for i, f in enumerate(self.factors))
        )

    def eval(self):
        return self._terms(lambda f: f.result)

    @property
    def substeps(self):
        return self.factors

    @property
    def intermediate(self):
        return self._terms(lambda f: _d(f.expr, self.variable), _written_add, _written_mul)


@_rule
class QuotientRule(Rule):
    """d/dx[u/v] -> (u'*v - u*v')/v**2"""

    numerator: Rule
    denominator: Rule

    name: ClassVar[str] = "quotient rule"

    def eval(self):
        u, v = self.numerator.expr, self.denominator.expr
        du, dv = self.numerator.result, self.denominator.result
        return (du * v - u * dv) / v**2

    @property
    def substeps(self):
        return (self.numerator, self.denominator)

    @property
    def intermediate(self):
        x, u, v = self.variable, self.numerator.expr, self.denominator.expr
        top = _written_add(_written_mul(_d(u, x), v), _written_mul(-1, u, _d(v, x)))
        return _written_mul(top, v**-2)


@_rule
class ChainRule(Rule):
    """d/dx[f(u)] -> f'(u)*u'   (outer: f' as a function of the placeholder u; inner_step: u')"""

    inner: sympy.Expr
    placeholder: sympy.Symbol
    outer: Rule
    inner_step: Rule

    name: ClassVar[str] = "chain rule"

    def _outer_at_inner(self) -> sympy.Expr:
        return self.outer.result.xreplace({self.placeholder: self.inner})

    def eval(self):
        return self._outer_at_inner() * self.inner_step.result

    @property
    def substeps(self):
        return (self.outer, self.inner_step)

    @property
    def intermediate(self):
        return _written_mul(self._outer_at_inner(), _d(self.inner, self.variable))


@_rule
class GeneralPowerRule(Rule):
    """d/dx[u**v] -> u**v*(v'*log(u) + v*u'/u)   (logarithmic differentiation)"""

    base: Rule
    exponent: Rule

    name: ClassVar[str] = "general power rule"

    def eval(self):
        u, v = self.base.expr, self.exponent.expr
        du, dv = self.base.result, self.exponent.result
        return u**v * (dv * sympy.log(u) + v * du / u)

    @property
    def substeps(self):
        return (self.base, self.exponent)

    @property
    def intermediate(self):
        x, u, v = self.variable, self.base.expr, self.exponent.expr
        dv_log_u = _written_mul(_d(v, x), sympy.log(u))
        v_du_over_u = _written_mul(v, _d(u, x), 1 / u)
        return _written_mul(u**v, _written_add(dv_log_u, v_du_over_u))


def _step(lhs: sympy.Expr, rhs: sympy.Expr, convention: str) -> sympy.Expr:
    """1 where lhs > rhs, 0 where lhs < rhs, Heaviside(0) of the convention at a tie."""
    h0 = heaviside_at_zero(convention)
    if h0 == 0:
        return sympy.Piecewise((1, lhs > rhs), (0, True))
    if h0 == 1:
        return sympy.Piecewise((1, lhs >= rhs), (0, True))
    return sympy.Piecewise((1, lhs > rhs), (0, lhs < rhs), (h0, True))


@_rule
class MaxMinRule(Rule):
    """d/dx[max(u, v)] -> u' where u > v, v' where v > u

    (min: where smaller); at a tie, the kink convention's Heaviside(0) weights each; a tie
    of two arguments that both vary takes the mean of their slopes
    (`symcalc.symbolic.kinks.tie_value`).
    """

    arguments: tuple[Rule, ...]
    convention: str

    name: ClassVar[str] = "max/min rule"

    def _cases(self, derivative: Callable[[Rule], sympy.Expr]) -> sympy.Expr:
        args = self.expr.args
        by_expr = {a.expr: a for a in self.arguments}
        if len(args) == 2 and all(a in by_expr for a in args):
            (u, v), larger = args, isinstance(self.expr, sympy.Max)
            du, dv = derivative(by_expr[u]), derivative(by_expr[v])
            tie = tie_value(du, dv)
            return sympy.Piecewise(
                (du, u > v if larger else u < v), (dv, u < v if larger else u > v), (tie, True)
            )
        terms = []
        for i, arg in enumerate(args):
            if arg not in by_expr:
                continue
            others = args[:i] + args[i + 1 :]
            other = others[0] if len(others) == 1 else self.expr.func(*others)
            if isinstance(self.expr, sympy.Max):
                step = _step(arg, other, self.convention)
            else:
                step = _step(other, arg, self.convention)
            terms.append(derivative(by_expr[arg]) * step)
        if len(terms) == 1 and len(terms[0].atoms(sympy.Piecewise)) == 1:
            return sympy.piecewise_fold(terms[0])
        return sympy.Add(*terms)

    def eval(self):
        return self._cases(lambda a: a.result)

    @property
    def substeps(self):
        return self.arguments

    @property
    def intermediate(self):
        if all(a.expr == self.variable for a in self.arguments):
            return None
        return self._cases(lambda a: _d(a.expr, self.variable))


@_rule
class PiecewiseRule(Rule):
    """d/dx[Piecewise((u, c1), (v, c2))] -> Piecewise((u', c1), (v', c2))   (conditions kept)"""

    branches: tuple[Rule, ...]

    name: ClassVar[str] = "piecewise rule"

    def _cases(self, derivative: Callable[[Rule], sympy.Expr]) -> sympy.Expr:
        conditions = [c for _, c in self.expr.args]
        pairs = zip(self.branches, conditions, strict=True)
        return sympy.Piecewise(*((derivative(b), c) for b, c in pairs))

    def eval(self):
        return self._cases(lambda b: b.result)

    @property
    def substeps(self):
        return self.branches

    @property
    def intermediate(self):
        return self._cases(lambda b: _d(b.expr, self.variable))


@_rule
class RewriteRule(Rule):
    """d/dx[f] -> g: the derivative found by ``substep``, rewritten into the closed form g."""

    substep: Rule
    rewritten: sympy.Expr
    #: Equations the variables obey, under which g equals the derivative (Σ y = 1), or ().
    conditions: tuple[sympy.Eq, ...] = ()

    name: ClassVar[str] = "rewrite"

    def eval(self):
        return self.rewritten

    @property
    def substeps(self):
        return (self.substep,)


# -- dispatch ------------------------------------------------------------------------

#: Function rules, registered by a loop over their tables.
FUNCTION_RULES: dict[type, type[FunctionRule]] = {
    func: rule
    for rule in (
        ExpRule,
        LogRule,
        TrigRule,
        HyperbolicRule,
        InverseTrigRule,
        ErfRule,
        SigmoidRule,
        AbsRule,
    )
    for func in rule.table
}

_PLACEHOLDERS = ("u", "v", "w", "s", "t")


def _placeholder(expr: sympy.Expr) -> sympy.Symbol:
    """A fresh real symbol (u, unless ``expr`` already uses u) for the chain rule's inner part."""
    taken = {str(s) for s in expr.free_symbols}
    for name in (*_PLACEHOLDERS, *(f"u_{k}" for k in range(1, 100))):  # pragma: no branch
        if name not in taken:
            return symbol(name)
    raise SymcalcError("no free placeholder name for the chain rule")  # pragma: no cover


def _chain(expr, inner, x, convention, make_outer: Callable[[sympy.Symbol], Rule]) -> Rule:
    u = _placeholder(expr)
    return ChainRule(expr, x, inner, u, make_outer(u), _derive(inner, x, convention))


def _sum(expr, x, convention):
    return SumRule(expr, x, tuple(_derive(t, x, convention) for t in expr.as_ordered_terms()))


def _mul(expr, x, convention):
    constant, dependent = expr.as_independent(x, as_Add=False)
    if constant != 1:
        return ConstantMultipleRule(expr, x, constant, _derive(dependent, x, convention))
    numerator, denominator = sympy.fraction(expr, exact=True)
    if not denominator.has(x):
        factors = expr.as_ordered_factors()
        return ProductRule(expr, x, tuple(_derive(f, x, convention) for f in factors))
    if numerator.has(x):
        top, bottom = _derive(numerator, x, convention), _derive(denominator, x, convention)
        return QuotientRule(expr, x, top, bottom)
    # 1/v (constants are already out): the chain rule on v**(-1), as for a lone 1/v
    return _chain(expr, denominator, x, convention, lambda u: PowerRule(1 / u, u, -1))


def _pow(expr, x, convention):
    base, exponent = expr.args
    if base.has(x) and exponent.has(x):
        u, v = _derive(base, x, convention), _derive(exponent, x, convention)
        return GeneralPowerRule(expr, x, u, v)
    if exponent.has(x):
        if exponent == x:
            return ExponentialRule(expr, x, base)
        return _chain(expr, exponent, x, convention, lambda u: ExponentialRule(base**u, u, base))

    def outer(u):
        if exponent == sympy.S.Half:
            return SqrtRule(sympy.sqrt(u), u)
        return PowerRule(u**exponent, u, exponent)

    if base == x:
        return outer(x)
    return _chain(expr, base, x, convention, outer)


def _function(expr, x, convention):
    rule = FUNCTION_RULES[type(expr)]
    if len(expr.args) != 1:  # pragma: no cover - every tabled function takes one argument
        return DontKnowRule(expr, x)
    (arg,) = expr.args
    if arg == x:
        return rule(expr, x)
    return _chain(expr, arg, x, convention, lambda u: rule(expr.func(u), u))


def _special(expr, x, convention):
    """The partials of the arguments that depend on x: by the chain rule when one does
    (none at all when it is x itself), by the multivariable chain rule when several do.

    Where an argument has no closed-form partial, the part is left to `DontKnowRule`
    (and the derivative itself is refused)."""
    dependent = [i for i, a in enumerate(expr.args) if a.has(x)]
    partials = BY_CLASS[type(expr)].partials
    if any(i >= len(partials) or partials[i] is None for i in dependent):
        return DontKnowRule(expr, x)
    if len(dependent) > 1:
        arguments = tuple(_derive(expr.args[i], x, convention) for i in dependent)
        return MultivariableChainRule(expr, x, tuple(dependent), arguments)
    (i,) = dependent
    arg = expr.args[i]
    if arg == x:
        return SpecialFunctionRule(expr, x, i)

    def outer(u):
        args = (*expr.args[:i], u, *expr.args[i + 1 :])
        return SpecialFunctionRule(expr.func(*args), u, i)

    return _chain(expr, arg, x, convention, outer)


def _max_min(expr, x, convention):
    arguments = tuple(_derive(a, x, convention) for a in expr.args if a.has(x))
    return MaxMinRule(expr, x, arguments, convention)


def _piecewise(expr, x, convention):
    return PiecewiseRule(expr, x, tuple(_derive(e, x, convention) for e, _ in expr.args))


def _heaviside(expr, x, convention):
    return HeavisideRule(expr, x, convention)


def _sign(expr, x, convention):
    return SignRule(expr, x, convention)


#: Expression class -> the function that picks its rule; function classes are found
#: by walking their MRO, and a class found nowhere gets a `DontKnowRule`.
DISPATCH: dict[type, Callable[[sympy.Expr, sympy.Symbol, str], Rule]] = {
    sympy.Add: _sum,
    sympy.Mul: _mul,
    sympy.Pow: _pow,
    sympy.Max: _max_min,
    sympy.Min: _max_min,
    sympy.Piecewise: _piecewise,
    sympy.Heaviside: _heaviside,
    sympy.sign: _sign,
    **{func: _function for func in FUNCTION_RULES},
    **{func: _special for func in BY_CLASS},
}


def _derive(expr: sympy.Expr, x: sympy.Symbol, convention: str) -> Rule:
    if not expr.has(x):
        return ConstantRule(expr, x)
    if expr == x:
        return IdentityRule(expr, x)
    for cls in type(expr).__mro__:
        handler = DISPATCH.get(cls)
        if handler is not None:
            return handler(expr, x, convention)
    return DontKnowRule(expr, x)


def derivation_steps(
    expr: sympy.Expr, variable: sympy.Symbol | str, convention: str = "zero"
) -> Rule:
    """The derivative of ``expr`` in ``variable`` as a tree of rule applications.

    Parameters
    ----------
    expr
        A SymPy expression (symcalc's real symbols; `symcalc.symbolic.functions.sigmoid` allowed).
    variable
        The variable of differentiation, a symbol or its name.
    convention
        The kink convention of `symcalc.symbolic.kinks` ("zero", "half" or "one") for Max,
        Min and Heaviside steps.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol, sigmoid
    >>> x = symbol("x")
    >>> rule = derivation_steps(sigmoid(2 * x), x)
    >>> rule
    <ChainRule d/dx[sigmoid(2*x)] = 2*(1 - sigmoid(2*x))*sigmoid(2*x)>
    >>> rule.outer
    <SigmoidRule d/du[sigmoid(u)] = (1 - sigmoid(u))*sigmoid(u)>
    >>> derivation_steps(sympy.Max(0, x), "x").result
    Piecewise((1, x > 0), (0, True))
    """
    if isinstance(variable, str):
        variable = symbol(variable)
    if not isinstance(variable, sympy.Symbol):
        raise SymcalcError(f"the variable must be a symbol, got {variable!r}")
    if not isinstance(expr, sympy.Expr):
        raise SymcalcError(
            f"expected a SymPy expression, got {type(expr).__name__}; "
            "read text with symcalc.symbolic.parse.parse first"
        )
    heaviside_at_zero(convention)  # refuse an unknown convention up front
    if variable not in expr.free_symbols:
        namesakes = [v for v in expr.free_symbols if str(v) == str(variable)]
        if namesakes:
            raise SymcalcError(
                f"{sympy.sstr(expr)} uses a symbol '{variable}' with other assumptions than "
                f"the variable; make both with symcalc.symbolic.functions.symbol('{variable}')"
            )
    return _derive(expr, variable, convention)


def walk(rule: Rule) -> Iterator[Rule]:
    """Every node of the tree, the root first, then each substep's subtree in order.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> [type(r).__name__ for r in walk(derivation_steps(sympy.exp(-x), x))]
    ['ChainRule', 'ExpRule', 'ConstantMultipleRule', 'IdentityRule']
    """
    yield rule
    for step in rule.substeps:
        yield from walk(step)


# -- identities ------------------------------------------------------------------------


def _value(expr: sympy.Expr, point: dict[sympy.Symbol, sympy.Float]) -> complex | None:
    """``expr`` at ``point`` to 30 digits, or None where it is undefined."""
    try:
        value = sympy.N(expr.xreplace(point), 30)
        number = complex(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    if not cmath.isfinite(number):
        return None
    return number


def _eliminate(
    constraints: Iterable[sympy.Expr], keep: sympy.Symbol
) -> dict[sympy.Symbol, sympy.Expr]:
    """Solve each constraint (an expression equal to 0) for a symbol other than ``keep``."""
    out: dict[sympy.Symbol, sympy.Expr] = {}
    for constraint in constraints:
        constraint = sympy.sympify(constraint, strict=True).xreplace(out)
        candidates = sorted(constraint.free_symbols - {keep} - set(out), key=sympy.default_sort_key)
        for sym in reversed(candidates):
            solutions = sympy.solve(constraint, sym)
            if len(solutions) == 1:
                out = {k: v.xreplace({sym: solutions[0]}) for k, v in out.items()}
                out[sym] = solutions[0]
                break
    return out


def _disagreement(a: sympy.Expr, b: sympy.Expr, points: int = 8) -> str | None:
    """Where ``a`` and ``b`` differ at random real points (a message), or None if they agree."""
    symbols = sorted(a.free_symbols | b.free_symbols, key=sympy.default_sort_key)
    rng = random.Random(0)  # the same points every time
    compared = 0
    for k in range(4 * points):
        low, high = ((0.05, 0.95), (-3.0, 3.0))[k % 2]
        values = [rng.uniform(low, high) for _ in symbols]
        point = {s: sympy.Float(float(v), 30) for s, v in zip(symbols, values, strict=True)}
        va, vb = _value(a, point), _value(b, point)
        if va is None or vb is None or abs(va.imag) > 1e-20 or abs(vb.imag) > 1e-20:
            continue
        if abs(va - vb) > 1e-9 * max(1.0, abs(va), abs(vb)):
            where = ", ".join(f"{s} = {float(v):.6g}" for s, v in point.items())
            return (
                f"at {where} the derivative is {va.real:.10g} but the identity gives {vb.real:.10g}"
            )
        compared += 1
        if compared == points:
            return None
    if compared == 0:
        return "they could not be compared at any real point"
    return None


def with_identity(
    rule: Rule, identity: sympy.Expr | None, constraints: Iterable[sympy.Expr] = ()
) -> Rule:
    """End the derivation on ``identity``, a closed form of its result (σ(1 − σ), 1 − tanh², ...).

    When the result already is ``identity``, the tree is returned as it is: no step
    that changes nothing.

    The identity is checked numerically at random real points first (all symbols
    sampled, parameters included).  ``constraints`` are expressions equal to zero that
    the variables obey (a probability vector summing to 1: ``y_1 + y_2 + y_3 - 1``);
    they are used to eliminate a variable before the comparison.

    Raises
    ------
    SymcalcError
        If the identity is not the derivative.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol, sigmoid
    >>> x = symbol("x")
    >>> steps = derivation_steps(1 / (1 + sympy.exp(-x)), x)
    >>> with_identity(steps, sigmoid(x) * (1 - sigmoid(x)))
    <RewriteRule d/dx[1/(1 + exp(-x))] = (1 - sigmoid(x))*sigmoid(x)>
    >>> with_identity(steps, 2 * sigmoid(x))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: 2*sigmoid(x) is not d/dx[1/(1 + exp(-x))]: at x = ...
    """
    if identity is None:
        return rule
    identity = sympy.sympify(identity, strict=True)  # SymPy objects only, never text
    if not isinstance(identity, sympy.Expr):
        raise SymcalcError(f"an identity must be an expression, got {identity!r}")
    elimination = _eliminate(constraints, rule.variable)
    problem = _disagreement(rule.result.xreplace(elimination), identity.xreplace(elimination))
    if problem is not None:
        raise SymcalcError(
            f"{sympy.sstr(identity)} is not d/d{rule.variable}[{sympy.sstr(rule.expr)}]: "
            f"{problem}; check the identity, or leave it out"
        )
    if identity == rule.result or sympy.sstr(identity) == sympy.sstr(rule.result):
        return rule  # already the classic form: a rewrite step would change nothing
    return RewriteRule(rule.expr, rule.variable, rule, identity, conditions(constraints))


def conditions(constraints: Iterable[sympy.Expr]) -> tuple[sympy.Eq, ...]:
    """Constraints (expressions equal to 0) as the equations they say: ``y_1 + y_2 = 1``.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> conditions([symbol("y_1") + symbol("y_2") - 1])
    (Eq(y_1 + y_2, 1),)
    """
    out = []
    for constraint in constraints:
        constant = sympy.sympify(constraint, strict=True).as_coeff_Add()[0]
        out.append(sympy.Eq(constraint - constant, -constant, evaluate=False))
    return tuple(out)
