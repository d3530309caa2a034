"""Zero weights: where a label switches a term off, the term is absent, not 0·∞.

Binary cross-entropy -y·log(p) - (1 - y)·log(1 - p) at a saturated prediction p = 1
with the label y = 1 is 0: the second term has weight 1 - y = 0.  Evaluated as written,
it is 0·log(0) = 0·(-∞) = NaN; the same for its derivatives ((1 - y)/(1 - p) is 0/0).
This is the x·log(x) → 0 convention of ``scipy.special.xlogy``, and in float32 it is
the common case: σ(z) rounds to exactly 1 from z ≈ 17.

`zero_weights` finds, in the expression, each factor w that is linear in one variable v
(a weight: y, 1 - y) multiplying a factor of other variables that is singular somewhere
in their domain (log(p) at p = 0, 1/(1 - p) at p = 1), and returns the value v0 where
w = 0.  The kernel evaluates the expression with v = v0 substituted (so SymPy drops the
term) where v equals v0 exactly, and the general form elsewhere.  Nothing is known by
name: a user's ``y*log(p) + (1 - y)*log(1 - p)`` is treated the same way.

Examples
--------
>>> from symcalc.symbolic.functions import symbol
>>> p, y = symbol("p"), symbol("y")
>>> import sympy
>>> zero_weights(-y * sympy.log(p) - (1 - y) * sympy.log(1 - p), {p: sympy.Interval(0, 1)})
[(y, 0), (y, 1)]
"""

from __future__ import annotations

from collections.abc import Mapping

import sympy

from ..symbolic.domains import linear_root

__all__ = ["zero_weights"]


def zero_weights(
    expr: sympy.Expr, domains: Mapping[sympy.Symbol, sympy.Set]
) -> list[tuple[sympy.Symbol, sympy.Rational]]:
    """(variable, value) pairs where a weight vanishes in front of a singular factor.

    ``domains`` gives each variable's set (the reals where missing); a weight's zero
    must lie in the closure of its variable's domain.
    """
    found: list[tuple[sympy.Symbol, sympy.Rational]] = []
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, sympy.Mul):
            continue
        factors = sympy.Mul.make_args(node)
        for i, weight in enumerate(factors):
            if len(weight.free_symbols) != 1:
                continue
            (v,) = weight.free_symbols
            rest = sympy.Mul(*(f for j, f in enumerate(factors) if j != i))
            if not rest.free_symbols or v in rest.free_symbols:
                continue
            root = _linear_root(weight, v)
            if root is None or not _in_closure(root, domains.get(v, sympy.S.Reals)):
                continue
            if (v, root) not in found and _singular(rest, domains):
                found.append((v, root))
    return sorted(found, key=lambda pair: (pair[0].name, pair[1]))


def _linear_root(weight: sympy.Expr, v: sympy.Symbol) -> sympy.Rational | None:
    root = linear_root(weight, v)
    return root if root is not None and root.is_Rational else None


def _in_closure(value: sympy.Rational, domain: sympy.Set) -> bool:
    if domain == sympy.S.Reals:
        return True
    try:
        return bool(domain.closure.contains(value))
    except (TypeError, NotImplementedError):
        return False


def _singular(expr: sympy.Expr, domains: Mapping[sympy.Symbol, sympy.Set]) -> bool:
    """Whether a log argument or a denominator in ``expr`` vanishes in the closure of its
    variable's domain (polynomials in one variable only: the cases a label multiplies)."""
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.log):
            u = node.args[0]
        elif isinstance(node, sympy.Pow) and node.exp.is_negative:
            u = node.base
        else:
            continue
        if len(u.free_symbols) != 1:
            continue
        (q,) = u.free_symbols
        try:
            roots = sympy.Poly(u, q).real_roots()
        except (sympy.PolynomialError, NotImplementedError):
            continue
        domain = domains.get(q, sympy.S.Reals)
        if any(_in_closure(r, domain) for r in roots if r.is_Rational):
            return True
    return False
