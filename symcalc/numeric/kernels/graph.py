"""The lowered expression as an interned graph of nodes, built by a dispatch table.

`Graph.build` turns a pre-lowered SymPy expression into node ids: equal subexpressions
(and equal nodes reached two ways) are one node, computed once.  ``BUILDERS`` maps a
SymPy class to the function that builds its node; a class that is not in the table is
looked up through its bases, so subclasses need no entry of their own.  Building decides
every operation; the emitters (`symcalc.numeric.kernels.emit`) only allocate buffers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any

import sympy

from ...errors import SymcalcError
from ...symbolic.special import BY_CLASS, no_kernel
from ..rewrites import erfc, expm1, hypot, log1p
from . import nodes as n
from .lowering import (
    _erfcx,
    _exp_beside_erfc,
    _exp_capped,
    _exp_times,
    _inv_one_plus,
    _log1p_small,
    _mish_slope,
    _sigmoid_capped,
    _sigmoid_of,
    _sigmoid_pair,
    _sigmoid_split,
)
from .ranges import FLOAT32_MAX

__all__ = ["BUILDERS", "Graph", "literal"]


class Graph:
    """Nodes in the order they were built; ``index`` interns them, ``memo`` caches SymPy."""

    def __init__(self, variables: Sequence[sympy.Symbol]):
        self.names = {v: f"a{i}" for i, v in enumerate(variables)}
        self.nodes: list[n.Node] = []
        self.index: dict[n.Node, int] = {}
        self.memo: dict[sympy.Basic, int] = {}

    def add(self, node: n.Node) -> int:
        """The id of ``node``, appended if no equal node exists yet."""
        if node not in self.index:
            self.index[node] = len(self.nodes)
            self.nodes.append(node)
        return self.index[node]

    def const(self, number: Any) -> int:
        if isinstance(number, sympy.Basic):
            return self.add(n.Const(literal(number)))
        return self.add(n.Const(repr(float(number))))

    def build(self, expr: sympy.Basic) -> int:
        if expr in self.memo:
            return self.memo[expr]
        result = self._build(expr)
        self.memo[expr] = result
        return result

    def _build(self, expr: sympy.Basic) -> int:
        if expr is sympy.true or expr is sympy.false:
            return self.add(n.Const(repr(bool(expr))))
        if not expr.free_symbols:
            return self.const(expr)
        if expr.is_Symbol:
            if expr not in self.names:
                raise SymcalcError(
                    f"symbol '{expr}' has no value; give it as a variable or bind it"
                )
            return self.add(n.Input(self.names[expr]))
        builder = builder_for(type(expr))
        if builder is not None:
            return builder(self, expr)
        if type(expr) in BY_CLASS:
            raise SymcalcError(no_kernel(type(expr)))
        if isinstance(expr, sympy.Function):
            raise SymcalcError(
                f"cannot make a NumPy kernel for the function '{type(expr).__name__}'; "
                "use the functions listed in symcalc.symbolic.functions.FUNCTIONS"
            )
        raise SymcalcError(f"cannot make a NumPy kernel for {sympy.sstr(expr)!r}")


def builder_for(kind: type) -> Callable[[Graph, Any], int] | None:
    """The builder of ``kind`` or of its nearest base class in ``BUILDERS``."""
    for cls in kind.__mro__:
        if cls in BUILDERS:
            return BUILDERS[cls]
    return None


# -- builders, one per SymPy class (or family) -----------------------------------------------


def _factored(expr: sympy.Add) -> tuple[sympy.Expr, sympy.Add] | None:
    """``expr`` as k·(expr/k), k the largest coefficient of its terms, where its constant
    term is too large for float32 and k makes it smaller: a bound parameter makes
    δ·(|r| − δ/2) into δ·|r| − δ²/2 (SymPy distributes a number over a sum), which is
    inf − inf where the value is inf, and −inf in float32 from δ = 2e19 on.

    Examples
    --------
    >>> r = sympy.Symbol("r")
    >>> _factored(10**20 * sympy.Abs(r) - 5 * 10**39)
    (100000000000000000000, Abs(r) - 50000000000000000000)
    >>> _factored(2 * sympy.Abs(r) - 2) is None
    True
    """
    constant, rest = expr.as_coeff_Add()
    if not constant.is_Number or abs(constant) <= FLOAT32_MAX:  # inf in float32 code
        return None
    coefficients = [abs(term.as_coeff_Mul()[0]) for term in sympy.Add.make_args(rest)]
    k = max(coefficients, default=sympy.S.One)
    if not k.is_Number or k <= 1:
        return None
    return k, sympy.Add(*(term / k for term in sympy.Add.make_args(rest)), constant / k)


def _add(g: Graph, expr: sympy.Add) -> int:
    factored = _factored(expr)
    if factored is not None:
        k, inner = factored
        return g.add(n.Mul((g.build(inner),), (), literal(k)))
    constant, rest = expr.as_coeff_Add()
    pos, neg = [], []
    for term in sympy.Add.make_args(rest):
        coeff, _ = term.as_coeff_Mul()
        (neg if coeff.is_Number and coeff < 0 else pos).append(-term if coeff < 0 else term)
    return g.add(
        n.Add(
            tuple(g.build(t) for t in pos),
            tuple(g.build(t) for t in neg),
            literal(constant) if constant != 0 else None,
        )
    )


def _mul(g: Graph, expr: sympy.Mul) -> int:
    coeff, rest = expr.as_coeff_Mul()
    if coeff == -1 and isinstance(rest, sympy.Abs):
        return g.add(n.NegAbs(g.build(rest.args[0])))
    if isinstance(rest, _sigmoid_pair):  # the factor folds into the numerator
        return _pair(g, rest.args[0], coeff)
    num, den = [], []
    factors = list(sympy.Mul.make_args(rest))
    if coeff == 1 and len(factors) == 2:  # grad·σ(u) = grad/(1 + exp(-u)): one division
        sig, over = sorted(factors, key=lambda f: not isinstance(f, _sigmoid_of))
        if isinstance(sig, _sigmoid_of) and over.is_Symbol:
            return g.add(n.Sigmoid(g.build(-sig.args[0]), g.build(over)))
    pairs = [f for f in factors if isinstance(f, _sigmoid_pair)]
    if len(pairs) == 1 and _foldable(coeff):  # 4·x·σ(2w)σ(-2w) = x/cosh²(w): no pass for 4
        factors.remove(pairs[0])
        single = factors[0] if len(factors) == 1 else None
        over = single if single is not None and single.is_Symbol else None
        num.append(_pair(g, pairs[0].args[0], coeff, over))
        factors = [] if over is not None else factors
        coeff = sympy.S.One
    for factor in factors:
        if not factor.free_symbols:
            coeff = coeff * factor
            continue
        base, exponent = factor.as_base_exp()
        if exponent.is_Integer and -4 <= exponent < 0:
            den.extend([g.build(base)] * int(-exponent))  # a/b/b: b² may underflow
        elif exponent.is_Number and exponent < 0:
            den.append(g.build(base ** (-exponent)))
        else:
            num.append(g.build(factor))
    if len(num) == 1 and not den and coeff == 1:  # all but one factor folded away
        return num[0]
    return g.add(n.Mul(tuple(num), tuple(den), literal(coeff) if coeff != 1 else None))


def _pow(g: Graph, expr: sympy.Pow) -> int:
    base, exponent = expr.args
    if exponent.is_Number and exponent < 0:
        if exponent.is_Integer and exponent >= -4:
            return g.add(n.Mul((), (g.build(base),) * int(-exponent), "1.0"))
        return g.add(n.Mul((), (g.build(base ** (-exponent)),), "1.0"))
    b = g.build(base)
    if exponent == 1:
        return b
    if exponent == 2:
        return g.add(n.Square(b))
    if exponent == 3:
        return g.add(n.Mul((g.add(n.Square(b)), b), (), None))
    if exponent == sympy.S.Half:
        return g.add(n.Root(b, 2))
    if exponent == sympy.Rational(1, 3):  # the principal root, as SymPy reads it: NaN for b < 0
        root = g.add(n.Root(b, 3))
        if base.is_nonnegative:
            return root
        negative = g.add(n.Compare("np.less", b, g.const(sympy.Integer(0))))
        return g.add(n.Select(negative, g.const(sympy.nan), root))
    if exponent.is_Rational and exponent.q in (2, 3):
        # √b^p, ∛b^p: np.power(b, 4/3) takes 4/3 rounded, 3e-14 off at b = 2^800
        root = sympy.Pow(base, sympy.Rational(1, exponent.q), evaluate=False)
        return _pow(g, sympy.Pow(root, exponent.p, evaluate=False))
    if exponent.free_symbols:
        return g.add(n.Power(b, g.build(exponent)))
    return g.add(n.Power(b, g.const(exponent)))


def _fold(g: Graph, expr: sympy.Max | sympy.Min) -> int:
    op = "np.maximum" if isinstance(expr, sympy.Max) else "np.minimum"
    args = sorted(expr.args, key=lambda a: (not a.free_symbols, sympy.default_sort_key(a)))
    return g.add(n.Fold(op, tuple(g.build(a) for a in args)))


def _min(g: Graph, expr: sympy.Min) -> int:
    clip = _clip_bounds(expr) if len(expr.args) == 2 else None
    if clip is None:
        return _fold(g, expr)
    inner, lo, hi = clip
    return g.add(n.Clip(g.build(inner), lo, hi))


def _clip_bounds(expr: sympy.Min) -> tuple[sympy.Expr, str, str] | None:
    """Min(hi, Max(lo, u)) with numbers lo < hi -> (u, lo, hi): one np.clip pass."""
    hi = [a for a in expr.args if not a.free_symbols]
    inner = [a for a in expr.args if isinstance(a, sympy.Max)]
    if len(hi) != 1 or len(inner) != 1 or len(inner[0].args) != 2:
        return None
    lo = [a for a in inner[0].args if not a.free_symbols]
    rest = [a for a in inner[0].args if a.free_symbols]
    if len(lo) != 1 or len(rest) != 1 or not lo[0] < hi[0]:
        return None
    return rest[0], literal(lo[0]), literal(hi[0])


def _pair(g: Graph, u: sympy.Expr, scale: sympy.Expr, over: sympy.Symbol | None = None) -> int:
    """scale·σ(u)σ(-u) = (scale/2)/(1 + cosh u) = (scale/4)/cosh²(u/2).

    The second form when u/2 costs no pass (u = 2w: tanh' = 4σ(2x)σ(-2x) = 1/cosh²x;
    mish′'s u = 2·softplus(x), where building u itself would take a product more, and
    one that passes float32's largest number for x > 1.7e38).
    ``over``, an input that multiplies the pair (a backward pass's grad), becomes the
    numerator where scale/4 is 1: grad/cosh²(w), one division instead of a division
    and a product (an input is finite where cosh² overflows: 0 there, as before).
    """
    half = u / 2
    plain = half.as_coeff_Mul()[0] == 1
    if half.is_Symbol or (plain and (half in g.memo or u not in g.memo)):
        if over is not None and scale == 4:
            return g.add(n.SechSquared(g.build(half), "1.0", g.build(over)))
        node = g.add(n.SechSquared(g.build(half), literal(scale / 4)))
    else:
        node = g.add(n.SigmoidPair(g.build(u), literal(scale / 2)))
    return node if over is None else g.add(n.Mul((node, g.build(over)), (), None))


def _foldable(coeff: sympy.Expr) -> bool:
    """Whether a product's coefficient folds into a σ(u)σ(-u) factor's numerator: a
    small ratio (2, 4, -8, 1/2, ...), never one that could underflow the pair early."""
    return coeff != 1 and coeff.is_Rational and abs(coeff.p) <= 1024 and coeff.q <= 1024


def _sigmoid_capped_node(g: Graph, expr: _sigmoid_capped) -> int:
    """σ(u) = E/(1 + E), sharing E = exp(u) (capped) and 1 + E with σ(-u) = 1/(1 + E)."""
    capped = g.build(_exp_capped(expr.args[0]))
    return g.add(n.SigmoidShared(capped, g.add(n.OnePlus(capped))))


def _sigmoid_split_node(g: Graph, expr: _sigmoid_split) -> int:
    """σ(u) from w = ±u (the sign-free one), e = exp(-|w|) and r = 1/(1 + e), shared with
    σ(-u): σ(w) = r where w >= 0, else e·r; σ(-w) the other way round."""
    u = expr.args[0]
    w = -u if u.could_extract_minus_sign() else u
    e = g.build(sympy.exp(-sympy.Abs(w)))
    r = g.add(n.Reciprocal(g.add(n.OnePlus(e))))
    er = g.add(n.Mul((e, r), (), None))
    pos, neg = (r, er) if u == w else (er, r)
    sign = sympy.GreaterThan(w, 0)
    if sign in (sympy.true, sympy.false):  # w = x² >= 0: SymPy decides, no select is made
        return pos if sign is sympy.true else neg
    return g.add(n.SigmoidSplit(g.build(sign), pos, neg))


def _exp_times_node(g: Graph, expr: _exp_times) -> int:
    """f·exp(u) as ((p·e)/q)·e with e = exp(u/2), f = p/q: finite wherever the product
    is; where e itself overflows, inf of the sign of p·q (XLA flushes a subnormal 1/q to
    0, and XLA's (a/b)/c is a/(b·c): the product alone would be inf·0 = NaN there)."""
    f, u = expr.args
    p, q = f.as_numer_denom()
    half = sympy.exp(u / 2)
    e = g.build(half)
    product = g.add(n.Mul((g.build(sympy.Mul(p, half, 1 / q)), e), (), None))
    signs = tuple(g.add(n.Unary("np.sign", "sign", g.build(s))) for s in (p, q) if s.free_symbols)
    sign = signs[0] if len(signs) == 1 else g.add(n.Mul(signs, (), None))
    coeff = "INF" if p.could_extract_minus_sign() == q.could_extract_minus_sign() else "-INF"
    overflowed = g.add(n.Mul((sign,), (), coeff)) if signs else g.const(sympy.oo)
    beyond = g.add(n.Compare("np.equal", e, g.const(sympy.oo)))
    return g.add(n.Select(beyond, overflowed, product))


def _one_operand(kind: type[n.Node], transform=lambda a: a) -> Callable[[Graph, Any], int]:
    """A builder for a node of one operand, the function's argument (transformed)."""
    return lambda g, expr: g.add(kind(g.build(transform(expr.args[0]))))


def _compare(g: Graph, expr: sympy.core.relational.Relational) -> int:
    op = COMPARISONS[type(expr)]
    return g.add(n.Compare(op, g.build(expr.args[0]), g.build(expr.args[1])))


def _logic(g: Graph, expr: sympy.And | sympy.Or) -> int:
    op = "np.bitwise_and" if isinstance(expr, sympy.And) else "np.bitwise_or"  # on bools
    args = sorted(expr.args, key=sympy.default_sort_key)
    return g.add(n.Logic(op, tuple(g.build(a) for a in args)))


def _piecewise(g: Graph, expr: sympy.Piecewise) -> int:
    pieces = list(expr.args)
    if pieces[-1][1] is not sympy.true:
        if _covers_everything([cond for _, cond in pieces]):
            pieces[-1] = (pieces[-1][0], sympy.true)
        else:
            pieces.append((sympy.nan, sympy.true))
    if len(pieces) == 2 and all(not val.free_symbols and val.is_finite for val, _ in pieces):
        # two finite numbers: one indicator pass (with NaN, where no condition holds, the
        # indicator's arithmetic would give NaN everywhere: a select instead)
        (a, cond), (b, _) = pieces
        return g.add(n.Indicator(g.build(cond), literal(a), literal(b)))
    clipped = _exp_of_min(pieces)
    if clipped is not None:
        return g.build(clipped)
    result = _branch(g, pieces[-1][0])
    for val, cond in reversed(pieces[:-1]):
        result = g.add(n.Select(g.build(cond), _branch(g, val), result))
    return result


def _exp_of_min(pieces: list[tuple[sympy.Expr, sympy.Basic]]) -> sympy.Expr | None:
    """(1 if u > 0 else exp(u)) as exp(min(u, 0)), exactly (exp(0) = 1; NaN stays NaN):
    elu′ in two passes instead of a comparison, an exp and a select (five passes).

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _exp_of_min([(sympy.S.One, x > 0), (sympy.exp(x), sympy.true)])
    exp(Min(0, x))
    >>> _exp_of_min([(sympy.exp(x), x <= 0), (sympy.S.One, sympy.true)])
    exp(Min(0, x))
    >>> _exp_of_min([(sympy.S.One, x > 1), (sympy.exp(x), sympy.true)]) is None
    True
    """
    if len(pieces) != 2 or pieces[1][1] is not sympy.true:
        return None
    (a, cond), (b, _) = pieces
    one_above = isinstance(cond, (sympy.StrictGreaterThan, sympy.GreaterThan))
    one_below = isinstance(cond, (sympy.StrictLessThan, sympy.LessThan))
    if not (one_above or one_below) or cond.rhs != 0:
        return None
    u = cond.lhs
    if (a, b) == ((sympy.S.One, sympy.exp(u)) if one_above else (sympy.exp(u), sympy.S.One)):
        return sympy.exp(sympy.Min(u, 0))
    return None


def _branch(g: Graph, val: sympy.Expr) -> int:
    """A Piecewise branch, evaluated everywhere; discarded elements' warnings are silenced.

    Only constants and polynomials of degree one (which cannot overflow where the input
    is finite, beyond what the branch itself returns) go unguarded.
    """
    if not val.free_symbols or _is_linear(val):
        return g.build(val)
    return g.add(n.Guard(g.build(val)))


def _is_linear(expr: sympy.Expr) -> bool:
    try:
        return (
            bool(expr.is_polynomial(*expr.free_symbols))
            and sympy.Poly(expr, *expr.free_symbols).total_degree() <= 1
        )
    except (sympy.PolynomialError, TypeError, ValueError):
        return False


def _unary(g: Graph, expr: sympy.Function) -> int:
    ufunc, function = UNARY[type(expr)]
    return g.add(n.Unary(ufunc, function, g.build(expr.args[0])))


#: SymPy function -> (NumPy ufunc, the function's name for the scalar printer).
UNARY: dict[type, tuple[str, str]] = {
    sympy.exp: ("np.exp", "exp"),
    sympy.log: ("np.log", "log"),
    sympy.tanh: ("np.tanh", "tanh"),
    sympy.sinh: ("np.sinh", "sinh"),
    sympy.cosh: ("np.cosh", "cosh"),
    sympy.sin: ("np.sin", "sin"),
    sympy.cos: ("np.cos", "cos"),
    sympy.tan: ("np.tan", "tan"),
    sympy.asin: ("np.arcsin", "asin"),
    sympy.acos: ("np.arccos", "acos"),
    sympy.atan: ("np.arctan", "atan"),
    sympy.asinh: ("np.arcsinh", "asinh"),
    sympy.acosh: ("np.arccosh", "acosh"),
    sympy.atanh: ("np.arctanh", "atanh"),
    sympy.Abs: ("np.abs", "Abs"),
    sympy.sign: ("np.sign", "sign"),
    sympy.erf: ("erf_array", "erf"),
    sympy.erfc: ("erfc_array", "erfc"),
    erfc: ("erfc_array", "erfc"),
    _erfcx: ("erfcx_array", "erfcx"),  # array backends only
    expm1: ("np.expm1", "expm1"),
}

#: SymPy relation -> NumPy comparison ufunc.
COMPARISONS: dict[type, str] = {
    sympy.StrictGreaterThan: "np.greater",
    sympy.StrictLessThan: "np.less",
    sympy.GreaterThan: "np.greater_equal",
    sympy.LessThan: "np.less_equal",
    sympy.Equality: "np.equal",
    sympy.Unequality: "np.not_equal",
}

#: SymPy class -> the builder of its node (found through the class's bases).
BUILDERS: dict[type, Callable[[Graph, Any], int]] = {
    sympy.Add: _add,
    sympy.Mul: _mul,
    sympy.Pow: _pow,
    sympy.Max: _fold,
    sympy.Min: _min,
    log1p: _one_operand(n.Log1p),
    _log1p_small: _one_operand(n.Log1p),
    _sigmoid_of: _one_operand(n.Sigmoid, lambda u: -u),
    _sigmoid_pair: lambda g, expr: _pair(g, expr.args[0], sympy.S.One),
    sympy.sech: _one_operand(n.Sech),
    _exp_capped: _one_operand(n.ExpCapped),
    _inv_one_plus: lambda g, expr: g.add(
        n.ReciprocalCapped(g.add(n.OnePlus(g.build(expr.args[0]))))
    ),
    _sigmoid_capped: _sigmoid_capped_node,
    _sigmoid_split: _sigmoid_split_node,
    _exp_times: _exp_times_node,
    _mish_slope: _one_operand(n.MishSlope),
    _exp_beside_erfc: lambda g, expr: g.add(
        n.ExpBesideErfc(g.build(expr.args[0]), g.build(expr.args[1]), literal(expr.args[2]))
    ),
    **dict.fromkeys(COMPARISONS, _compare),
    sympy.And: _logic,
    sympy.Or: _logic,
    sympy.Not: _one_operand(n.Not),
    # if-then-else of conditions, as And/Or: SymPy writes a comparison of a Piecewise so
    # (elu(u)'s u > 0 where u has a far branch: x**2/(1 + 4*x**2) > 0)
    sympy.ITE: lambda g, expr: g.build(expr.to_nnf()),
    sympy.Piecewise: _piecewise,
    hypot: lambda g, expr: g.add(n.Hypot(g.build(expr.args[0]), g.build(expr.args[1]))),
    **dict.fromkeys(UNARY, _unary),
}


# -- helpers ------------------------------------------------------------------------------------


def has_branches(expr: sympy.Expr) -> bool:
    """A Piecewise whose branches are not all polynomials: both sides may be evaluated."""
    return any(
        not is_polynomial(val) and val.free_symbols
        for pw in expr.atoms(sympy.Piecewise)
        for val, _ in pw.args
    )


def _covers_everything(conditions: Sequence[sympy.Basic]) -> bool:
    """Whether the conditions of a one-variable Piecewise leave no real number out."""
    symbols = set().union(*(c.free_symbols for c in conditions))
    if len(symbols) != 1:
        return False
    try:
        return sympy.Or(*conditions).as_set() == sympy.S.Reals
    except (NotImplementedError, TypeError, ValueError):
        return False


def is_polynomial(expr: sympy.Expr) -> bool:
    try:
        return bool(expr.is_polynomial(*expr.free_symbols))
    except (TypeError, ValueError):
        return False


def literal(number: sympy.Basic) -> str:
    """A Python float literal (a weak scalar: float32 arrays stay float32)."""
    if number is sympy.true or number is sympy.false:
        return repr(bool(number))
    try:
        value = float(sympy.N(number, 30))
    except (TypeError, ValueError):
        raise SymcalcError(
            f"cannot evaluate the constant {sympy.sstr(number)!r} as a number"
        ) from None
    if math.isnan(value):
        return "NAN"
    if math.isinf(value):
        return "INF" if value > 0 else "-INF"
    return repr(value)
