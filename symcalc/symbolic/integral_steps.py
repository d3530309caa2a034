"""Integration steps: SymPy's ``manualintegrate`` rule trees as `IntegralStep` trees, checked.

Each `IntegralStep` is one equation ∫ f d(var) = F.  `from_manual` converts a SymPy
rule tree.  SymPy records some integrands wrongly (a substitution inside a constant
multiple keeps the integrand from before the constant was pulled out, so
``∫ x/(x²+1) dx = log(x²+1)`` would be shown): the conversion takes each child's
integrand from what its parent integrates (the ``other`` of a constant multiple, the
``rewritten`` form of a rewrite, ``dv`` and ``v du`` of integration by parts), and
`check_steps` proves every node an identity, dF/d(var) = f, at sample points with
30 digits, the way derivative steps are checked.

Examples
--------
>>> from sympy.integrals.manualintegrate import integral_steps
>>> from symcalc.symbolic.functions import symbol
>>> x = symbol("x")
>>> step = from_manual(integral_steps(sympy.atan(x), x), sympy.atan(x))
>>> [(s.rule, sympy.sstr(s.integrand), sympy.sstr(s.result)) for s in step.walk()][3]
('substitution', '2*x/(x**2 + 1)', 'log(x**2 + 1)')
>>> check_steps(step, [0.5, 1.5, -2.0])
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterator, Mapping, Sequence

import sympy

from .domains import domain_intervals, evaluator, real_domain, sample

__all__ = ["IntegralStep", "check_steps", "derivative", "from_manual", "real_form"]


@dataclasses.dataclass(frozen=True)
class IntegralStep:
    """∫ integrand d(variable) = result, by ``rule``; ``substeps`` show how the parts were found.

    The tree is built from SymPy's ``manualintegrate`` rules (one step a rule), with
    a step of symcalc's own for piecewise integrands.  A part no rule covers is a
    step named ``"no rule found"`` whose result is the unevaluated integral.
    ``condition`` (not printed; the ``comment`` says it) is where a branch of a
    piecewise rule applies.
    """

    rule: str
    integrand: sympy.Expr
    variable: sympy.Symbol
    result: sympy.Expr
    details: tuple[tuple[str, sympy.Expr], ...] = ()
    where: sympy.Interval | None = None
    comment: str | None = None
    substeps: tuple[IntegralStep, ...] = ()
    condition: sympy.Basic | None = None

    def note(self) -> str:
        """The rule's name with its details as plain text: ``substitution, u = exp(x) + 1``."""
        parts = [self.rule]
        for key, value in self.details:
            shown = sympy.sstr(value)
            if key == "as":
                parts.append(f"{key} {shown}")
            elif key == "dv":
                factor = f"({shown})" if isinstance(value, sympy.Add) else shown
                parts.append(f"{key} = {factor} d{self.variable}")
            else:
                parts.append(f"{key} = {shown}")
        if self.where is not None:
            parts.append(f"for {interval_text(self.where, self.variable)}")
        if self.comment:
            parts.append(self.comment)
        return ", ".join(parts)

    def walk(self) -> Iterator[IntegralStep]:
        """This step, then its substeps depth-first (reading order)."""
        yield self
        for step in self.substeps:
            yield from step.walk()


def interval_text(interval: sympy.Interval, x: sympy.Symbol) -> str:
    """``0 < x <= 6``, ``x <= 0``, ``x > 6``: an interval as a condition on x."""
    low, high = interval.inf, interval.sup
    left = (
        ""
        if low is sympy.S.NegativeInfinity
        else f"{sympy.sstr(low)} {'<' if interval.left_open else '<='} "
    )
    right = (
        ""
        if high is sympy.S.Infinity
        else f" {'<' if interval.right_open else '<='} {sympy.sstr(high)}"
    )
    if left and not right:
        return f"{x} {'>' if interval.left_open else '>='} {sympy.sstr(low)}"
    return f"{left}{x}{right}" if left or right else f"all {x}"


# -- SymPy's rules as steps -------------------------------------------------------------

_RULE_NAMES = {
    "AddRule": "sum rule",
    "ConstantRule": "constant rule",
    "ConstantTimesRule": "constant multiple rule",
    "PowerRule": "power rule",
    "ReciprocalRule": "reciprocal rule",
    "ExpRule": "exponential rule",
    "URule": "substitution",
    "PartsRule": "integration by parts",
    "CyclicPartsRule": "cyclic integration by parts",
    "RewriteRule": "rewrite",
    "CompleteSquareRule": "completing the square",
    "ErfRule": "Gaussian integral (erf)",
    "SinRule": "trig rule",
    "CosRule": "trig rule",
    "SinhRule": "hyperbolic rule",
    "CoshRule": "hyperbolic rule",
    "ArctanRule": "arctangent rule",
    "PiecewiseRule": "piecewise rule",
    "HeavisideRule": "Heaviside rule",
    "TrigSubstitutionRule": "trigonometric substitution",
    "DontKnowRule": "no rule found",
}

#: Rules whose parts integrate in the rule's own variable (a child's variable wins when
#: SymPy recorded the parent's wrongly).
_SAME_VARIABLE = ("ConstantTimesRule", "RewriteRule", "CompleteSquareRule", "AddRule")


def _rule_name(rule) -> str:
    name = type(rule).__name__
    if name in _RULE_NAMES:
        return _RULE_NAMES[name]
    words = re.sub(r"(?<!^)(?=[A-Z])", " ", name.removesuffix("Rule")).lower()
    return f"{words} rule"


@dataclasses.dataclass(frozen=True)
class _Part:
    """A child rule and what its parent says it integrates (None: as SymPy recorded)."""

    rule: object
    integrand: sympy.Expr | None = None
    comment: str | None = None
    condition: sympy.Basic | None = None


def _parts_children(rule) -> list[_Part]:
    v = rule.v_step.eval()
    du = sympy.diff(rule.u, rule.variable)
    out = [_Part(rule.v_step, rule.dv, "this gives v")]
    if rule.second_step is not None:
        out.append(_Part(rule.second_step, v * du, "the remaining integral of v du"))
    return out


#: Rule class name -> its children, each with the integrand the parent hands it.
_CHILDREN = {
    "ConstantTimesRule": lambda r: [_Part(r.substep, r.other)],
    "RewriteRule": lambda r: [_Part(r.substep, r.rewritten)],
    "CompleteSquareRule": lambda r: [_Part(r.substep, r.rewritten)],
    "TrigSubstitutionRule": lambda r: [_Part(r.substep, r.rewritten)],
    "URule": lambda r: [_Part(r.substep)],
    "AddRule": lambda r: [_Part(s) for s in r.substeps],
    "PartsRule": _parts_children,
    "PiecewiseRule": lambda r: [
        _Part(sub, r.integrand, f"when {sympy.sstr(cond)}", cond)
        for sub, cond in r.subfunctions
        if sub is not None
    ],
    "CyclicPartsRule": lambda r: [_Part(p.v_step, p.dv, "this gives v") for p in r.parts_rules],
}


def _generic_children(rule) -> list[_Part]:
    from sympy.integrals import manualintegrate as mi

    out = []
    for field in dataclasses.fields(rule):
        value = getattr(rule, field.name)
        if isinstance(value, mi.Rule):
            out.append(_Part(value))
        elif isinstance(value, (list, tuple)):
            out.extend(_Part(v) for v in value if isinstance(v, mi.Rule))
    return out


def _fresh_symbol(taken: set[str]) -> sympy.Symbol:
    for name in ("u", "v", "w", "s", "t"):
        if name not in taken:
            return sympy.Symbol(name, real=True)
    return sympy.Symbol("u_1", real=True)  # pragma: no cover - every short name taken


def _details(rule, show) -> tuple[tuple[str, sympy.Expr], ...]:
    name = type(rule).__name__
    if name == "URule":
        return (("u", show(rule.u_func)),)
    if name == "PartsRule":
        return (("u", show(rule.u)), ("dv", show(rule.dv)))
    if name == "CyclicPartsRule":
        first = rule.parts_rules[0]
        return (("u", show(first.u)), ("dv", show(first.dv)))
    if name in ("RewriteRule", "CompleteSquareRule", "TrigSubstitutionRule"):
        return (("as", show(rule.rewritten)),)
    return ()


def _cyclic_comment(rule) -> str:
    times = len(rule.parts_rules)
    c = sympy.sstr(rule.coefficient)
    return f"by parts {times} times the integral returns times {c}; solve for it"


def from_manual(rule, integrand: sympy.Expr | None = None) -> IntegralStep:
    """A SymPy ``manualintegrate`` rule tree as an `IntegralStep` tree.

    ``integrand`` is what the root integrates (the expression asked for); each child's
    integrand is what its parent hands it.  Among alternatives the simplest result is
    shown.  Dummies of substitutions print as ``u`` (or the first free short name).
    """
    root = integrand if integrand is not None else rule.integrand
    taken = {s.name for s in root.free_symbols}
    u = _fresh_symbol(taken)

    def show(expr):
        expr = sympy.sympify(expr, strict=True)  # a SymPy object or a number: never text
        dummies = {d: u for d in expr.atoms(sympy.Dummy)}
        return expr.xreplace(dummies) if dummies else expr

    return _convert(rule, integrand, show)


def _convert(rule, integrand, show, comment=None, condition=None) -> IntegralStep:
    from sympy.integrals import manualintegrate as mi

    if isinstance(rule, mi.AlternativeRule):
        best = min(rule.alternatives, key=lambda r: (sympy.count_ops(r.eval()), _size(r)))
        return _convert(best, integrand, show, comment, condition)
    name = type(rule).__name__
    parts = _CHILDREN.get(name, _generic_children)(rule)
    substeps = tuple(_convert(p.rule, p.integrand, show, p.comment, p.condition) for p in parts)
    own = rule.integrand if integrand is None else integrand
    variable = show(rule.variable)
    if name in _SAME_VARIABLE and substeps and substeps[0].variable != variable:
        variable = substeps[0].variable
    if name == "CyclicPartsRule":
        comment = (
            _cyclic_comment(rule) if comment is None else f"{comment}; {_cyclic_comment(rule)}"
        )
    shown_integrand = show(own)
    return IntegralStep(
        rule=_rule_name(rule),
        integrand=shown_integrand,
        variable=variable,
        result=real_form(show(rule.eval()), shown_integrand),
        details=_details(rule, show),
        comment=comment,
        substeps=substeps,
        condition=None if condition is None else show(condition),
    )


def _size(rule) -> int:
    return 1 + sum(
        _size(p.rule) for p in _CHILDREN.get(type(rule).__name__, _generic_children)(rule)
    )


def real_form(expr: sympy.Expr, integrand: sympy.Expr = sympy.S.Zero) -> sympy.Expr:
    """An antiderivative that is real for real x: log(u) -> log|u|; no i·π constants; no
    polar numbers.

    A log the integrand already holds (∫ log(x) dx) keeps its domain, and so its form;
    so does log(u) with u > 0.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> real_form(sympy.log(x - 1))
    log(Abs(x - 1))
    >>> real_form(sympy.log(x) * x - x, sympy.log(x))
    x*log(x) - x
    >>> real_form(-sympy.polylog(2, x * sympy.exp_polar(sympy.I * sympy.pi)))
    -polylog(2, -x)
    """
    if expr.has(sympy.exp_polar):  # Meijer G-functions' x·exp_polar(iπ) is the number -x
        expr = sympy.unpolarify(expr).replace(sympy.exp_polar, sympy.exp)
    if not expr.has(sympy.log, sympy.I):
        return expr
    keep = integrand.atoms(sympy.log)
    expr = expr.replace(
        lambda e: (
            isinstance(e, sympy.log)
            and e not in keep
            and e.args[0].is_positive is not True
            and not isinstance(e.args[0], sympy.Abs)
            and not e.args[0].is_number
        ),
        lambda e: sympy.log(sympy.Abs(e.args[0])),
    )
    if isinstance(expr, sympy.Piecewise):
        return sympy.Piecewise(*((real_form(e, integrand), c) for e, c in expr.args))
    if expr.is_Add:
        expr = sympy.Add(
            *(t for t in expr.args if not (t.free_symbols == set() and t.has(sympy.I)))
        )
    return expr


# -- checking -----------------------------------------------------------------------------


def derivative(F: sympy.Expr, x: sympy.Symbol) -> sympy.Expr:
    """dF/dx for checking: steps (floor, Heaviside) have derivative 0 where they are constant.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> derivative(x + sympy.pi * sympy.floor(x / sympy.pi), x)
    1
    """
    d = sympy.diff(F, x)
    if d.has(sympy.Derivative, sympy.DiracDelta):
        d = d.replace(
            lambda e: (
                isinstance(e, sympy.Derivative) and isinstance(e.expr, (sympy.floor, sympy.ceiling))
            ),
            lambda e: sympy.S.Zero,
        )
        d = d.replace(lambda e: isinstance(e, sympy.DiracDelta), lambda e: sympy.S.Zero)
        d = d.replace(lambda e: isinstance(e, sympy.Subs), lambda e: e.doit())
    return d


#: |dF/dx − f| must be at most this, relative to max(1, |f|), at every sample point.
TOLERANCE = 1e-12


def residual_ok(residual, integrand, point: float, digits: int = 30) -> bool | None:
    """Whether dF/dx − f vanishes at ``point`` (None: not defined there, not checked).

    A residual above the tolerance at 30 digits is recomputed at 80 digits, so
    cancellation in a long formula is not mistaken for an error.
    """
    f = integrand(point, digits)
    if f is None or abs(f.imag) > TOLERANCE * max(1.0, abs(f.real)):
        return None
    r = residual(point, digits)
    scale = max(1.0, abs(f))
    if r is not None and abs(r) <= TOLERANCE * scale:
        return True
    r = residual(point, 80)
    return r is not None and abs(r) <= TOLERANCE * scale


def check_steps(
    step: IntegralStep,
    points: Sequence[float],
    values: Mapping[sympy.Symbol, sympy.Expr] | None = None,
    *,
    root_verified: bool = False,
) -> str | None:
    """None when every step is an identity, d(result)/d(variable) = integrand; else why not.

    Each node is checked at the sample ``points`` of its variable (a substitution's
    points are u(x) at its parent's points; a node with a new variable and no map
    gets points of its own), with ``values`` for other symbols (parameters).
    ``root_verified``: the root's own equation was verified at these points already (the
    answer it shows), so only its substeps are checked.
    """
    values = dict(values or {})
    points = list(points)
    if root_verified:
        for sub in step.substeps:
            why = check_steps(sub, _child_points(step, sub, points, values), values)
            if why is not None:
                return why
        return None
    if step.condition is not None and not _holds(step.condition, values):
        return None  # a branch that does not apply at these parameter values
    residual = evaluator(
        derivative(step.result, step.variable) - step.integrand, step.variable, values
    )
    integrand = evaluator(step.integrand, step.variable, values)
    own = [p for p in points if step.where is None or step.where.contains(p) is sympy.true]
    checked = 0
    for point in own:
        verdict = residual_ok(residual, integrand, point)
        if verdict is False:
            return (
                f"step '{step.rule}' is false at {step.variable} = {point:.6g}: "
                f"∫ {sympy.sstr(step.integrand)} d{step.variable} ≠ {sympy.sstr(step.result)}"
            )
        checked += verdict is True
    if checked == 0:
        own = _own_points(step, values)
        for point in own:
            verdict = residual_ok(residual, integrand, point)
            if verdict is False:
                return f"step '{step.rule}' is false at {step.variable} = {point:.6g}"
            checked += verdict is True
        if checked == 0:
            return f"step '{step.rule}' could not be checked at any point"
    for sub in step.substeps:
        why = check_steps(sub, _child_points(step, sub, own, values), values)
        if why is not None:
            return why
    return None


def _holds(condition: sympy.Basic, values: Mapping[sympy.Symbol, sympy.Expr]) -> bool:
    """Whether a branch condition (on parameters only) holds for ``values``; True if unknown."""
    try:
        value = condition.xreplace(dict(values)) if values else condition
    except (TypeError, AttributeError):
        return True
    return value is not sympy.false


def _child_points(step: IntegralStep, sub: IntegralStep, points, values) -> list[float]:
    if sub.variable == step.variable:
        return list(points)
    u_func = dict(step.details).get("u")
    if u_func is None or step.rule != "substitution":
        return _own_points(sub, values)
    mapped = []
    u_of = evaluator(u_func, step.variable, values)
    for p in points:
        value = u_of(p, 30)
        if value is not None and abs(value.imag) <= 1e-20 * max(1.0, abs(value.real)):
            mapped.append(value.real)
    return mapped or _own_points(sub, values)


def _own_points(step: IntegralStep, values) -> list[float]:
    integrand = step.integrand.xreplace(dict(values)) if values else step.integrand
    intervals = domain_intervals(real_domain(integrand, step.variable), window=10)
    return [p for s in sample(intervals[:6], 3) for p in s.points]
