"""Stability rewrites: identities that turn textbook formulas into forms that cannot overflow.

A formula such as ``exp(x)/(exp(x) + 1)**2`` (the derivative of the sigmoid, as
SymPy writes it) is correct and useless in floating point: at ``x = 710``
``exp(x)`` overflows and the kernel returns ``inf/inf = nan``.  Each `Rewrite`
here is one identity, stored as data (a name, the formula it implements, a
*query* that recognizes where it applies and a *value* that builds the
replacement), in the spirit of SymPy's ``codegen.rewriting.ReplaceOptim``.
`optimize` applies a bundle of rules bottom-up until nothing changes.  No rule
knows any catalog name: a user's own ``"log(1 + exp(-x))"`` is rewritten exactly
like the catalog's ``log_sigmoid``.

The rules, in the order they are tried at each node:

``exp_ratio``
    A ratio of sums of exponentials of several variables (a softmax) is divided
    through by ``exp(max)``, so every exponential has a non-positive argument.
``sigmoid_form``
    A rational function of ``exp(k·u)``, ``tanh``, ``cosh``, ``sinh``, ``sech``
    and ``sigmoid`` of one argument ``u`` is rewritten as a polynomial in
    ``s = σ(b)`` and ``t = σ(-b)`` (``exp(b) = s/t``, ``s + t = 1``), factored, and
    its factors mapped back: ``s + t -> 1``, ``s - t -> tanh(b/2)``.  This gives
    σ' = σ(x)σ(-x), σ'' = -σ(x)σ(-x)tanh(x/2), tanh' = 4σ(2x)σ(-2x), with no
    overflow and no cancellation.
``log_of_power``, ``softplus``, ``log_sigmoid``, ``log_softmax``, ``log1p``,
``log_cosh``, ``expm1``, ``erfc``, ``erfc_reflect``, ``piecewise_factor``
    Pattern identities: ``log(1 + exp(u)) -> softplus(u)``,
    ``log σ(u) -> -softplus(-u)``, ``log(1 + u) -> log1p(u)``,
    ``c·exp(u) - c -> c·expm1(u)``, ``c + c·erf(u) -> c·erfc(-u)``,
    ``c·erfc(u) - 2c -> -c·erfc(-u)``, ...
``sign_factors``, ``common_cofactors``
    sign(a·b) -> sign(a)·sign(b) and its kin (a sign that rounds to 0 next to its zero);
    terms that share a factor and whose other factors cancel exactly over one
    denominator are combined (``u'² - u'²·u²/(u² + 1) -> u'²/(u² + 1)``).
``rational_form``
    A rational function of the variables is written as given, factored, or in
    partial fractions, whichever has the fewest cancelling sums on probe points
    (``(y - p)/(p² - p)`` becomes ``(y - p)/(p(p - 1))``).

Every rule carries worked examples (``lhs -> rhs``) that the tests prove equal at
50 digits and check the rule reproduces.

Examples
--------
>>> from symcalc.symbolic.functions import symbol
>>> x = symbol("x")
>>> optimize(sympy.exp(x) / (sympy.exp(x) + 1) ** 2)
sigmoid(-x)*sigmoid(x)
>>> optimize(sympy.log(1 + sympy.exp(-x)))
softplus(-x)
>>> optimize(1 - sympy.tanh(x) ** 2)
4*sigmoid(-2*x)*sigmoid(2*x)
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from functools import reduce
from typing import Any

import numpy as np
import sympy
from sympy.codegen.cfunctions import expm1, log1p

from ..symbolic.functions import sigmoid
from .lambdified import lambdify
from .memo import remembered

__all__ = [
    "MPMATH_FUNCTIONS",
    "MPMATH_JUDGE_FUNCTIONS",
    "NUMPY_MODULES",
    "RULES",
    "Rewrite",
    "erfc",
    "expm1",
    "hypot",
    "log1p",
    "logsumexp",
    "optimize",
    "optimize_traced",
    "softplus",
]


# -- the stable primitives the rules produce ------------------------------------------


class softplus(sympy.Function):  # noqa: N801 - lower case like sympy.tanh
    """softplus(u) = log(1 + exp(u)), evaluated without overflow.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> sympy.diff(softplus(x), x)
    sigmoid(x)
    >>> sympy.N(softplus(sympy.Integer(-800)), 5)
    3.6679e-348
    """

    nargs = 1

    @classmethod
    def eval(cls, arg):
        if arg.is_zero:
            return sympy.log(2)
        return None

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])

    def _eval_rewrite_as_log(self, arg, **kwargs):
        return sympy.log(1 + sympy.exp(arg))

    _eval_rewrite_as_exp = _eval_rewrite_as_log

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        import mpmath

        arg = self.args[0]._eval_evalf(prec)
        if arg is None or not arg.is_Number:
            return None
        with mpmath.workprec(prec + 20):
            value = _mp_softplus(mpmath.mpf(arg._mpf_))
        return sympy.Float._new(mpmath.mpf(value)._mpf_, prec)

    def _latex(self, printer, exp=None):
        base = rf"\operatorname{{softplus}}\left({printer._print(self.args[0])}\right)"
        return rf"{base}^{{{exp}}}" if exp else base


class logsumexp(sympy.Function):  # noqa: N801 - lower case like sympy.tanh
    """logsumexp(a, b, ...) = log(exp(a) + exp(b) + ...), evaluated without overflow.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> a, b = symbol("a"), symbol("b")
    >>> sympy.diff(logsumexp(a, b), a).rewrite(sympy.exp)
    exp(a)/(exp(a) + exp(b))
    """

    @classmethod
    def eval(cls, *args):
        if len(args) == 1:
            return args[0]
        return None

    def fdiff(self, argindex=1):
        return sympy.exp(self.args[argindex - 1] - self)

    def _eval_rewrite_as_exp(self, *args, **kwargs):
        return sympy.log(sympy.Add(*[sympy.exp(a) for a in args]))

    _eval_rewrite_as_log = _eval_rewrite_as_exp

    def _eval_is_real(self):
        return all(a.is_real for a in self.args) or None

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.exp)._eval_evalf(prec)


class erfc(sympy.Function):  # noqa: N801 - lower case like sympy.erfc
    """erfc(u) = 1 - erf(u), kept as written (SymPy's own turns erfc(-u) into 2 - erfc(u)).

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> erfc(-symbol("x"))
    erfc(-x)
    """

    nargs = 1

    def fdiff(self, argindex=1):
        return -2 * sympy.exp(-(self.args[0] ** 2)) / sympy.sqrt(sympy.pi)

    def _eval_rewrite_as_erf(self, arg, **kwargs):
        return 1 - sympy.erf(arg)

    def _eval_is_real(self):
        return self.args[0].is_real

    def _eval_is_positive(self):
        return self.args[0].is_real

    def _eval_evalf(self, prec):
        return sympy.erfc(self.args[0])._eval_evalf(prec)


class hypot(sympy.Function):  # noqa: N801 - lower case like math.hypot
    """hypot(a, b) = sqrt(a² + b²), evaluated without overflow or underflow of the squares.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> x = symbol("x")
    >>> sympy.diff(hypot(x, 2), x)
    x/hypot(x, 2)
    >>> sympy.N(hypot(sympy.Integer(3), 4))
    5.00000000000000
    """

    nargs = 2

    @classmethod
    def eval(cls, a, b):
        if a.is_zero:
            return sympy.Abs(b)
        if b.is_zero:
            return sympy.Abs(a)
        return None

    def fdiff(self, argindex=1):
        return self.args[argindex - 1] / self

    def _eval_rewrite_as_sqrt(self, a, b, **kwargs):
        return sympy.sqrt(a**2 + b**2)

    def _eval_is_real(self):
        return all(a.is_real for a in self.args) or None

    def _eval_is_nonnegative(self):
        return all(a.is_real for a in self.args) or None

    def _eval_evalf(self, prec):
        return self.rewrite(sympy.sqrt)._eval_evalf(prec)

    def _latex(self, printer, exp=None):
        a, b = (printer._print(t) for t in self.args)
        base = rf"\sqrt{{\left({a}\right)^{{2}} + \left({b}\right)^{{2}}}}"
        return rf"\left({base}\right)^{{{exp}}}" if exp else base


def _huge_integer(u) -> bool:
    """Whether ``u`` is a real mpmath number that is an integer of at least 2^63, at a
    working precision above 600 bits: where `mpmath.exp` computes e^u as e**u by
    repeated squaring of e at (precision + 1.45·log2 u) bits (28 ms for u = 2^1000 at
    1,600 digits with mpmath's pure-Python integers, against 0.9 ms for a non-integer
    u, which takes the reduction by log 2)."""
    import mpmath

    if not isinstance(u, mpmath.mpf) or mpmath.mp.prec <= 600:
        return False
    _, mantissa, exponent, bits = u._mpf_
    return bool(mantissa) and exponent >= 0 and exponent + bits > 63


#: Values of exp, cosh and sinh above 600 bits, by function, argument, precision and
#: rounding (mpmath's ``_prec_rounding``): the judge evaluates one formula at one point at
#: one precision several times (its κ, its value, the checks of each branch), and a
#: formula holds exp(x) more than once (cosh and σ of one x).  Bounded; the same numbers,
#: computed once.
_HIGH_PRECISION_VALUES: dict[tuple, Any] = {}


def _remembered_at_high_precision(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``function`` of one mpmath real, its values above 600 bits remembered
    (`_HIGH_PRECISION_VALUES`); below, where they are cheap, computed each time."""

    @functools.wraps(function)
    def remembered(u):
        import mpmath

        if not isinstance(u, mpmath.mpf) or mpmath.mp.prec <= 600:
            return function(u)
        key = (function.__name__, u._mpf_, *mpmath.mp._prec_rounding)
        value = _HIGH_PRECISION_VALUES.get(key)
        if value is None:
            if len(_HIGH_PRECISION_VALUES) >= 1024:
                _HIGH_PRECISION_VALUES.clear()
            value = _HIGH_PRECISION_VALUES[key] = function(u)
        return value

    return remembered


@_remembered_at_high_precision
def _mp_exp(u):
    """mpmath.exp(u); for a huge integer u, as exp(u + 1/2)·exp(-1/2), whose argument
    mpmath reduces by log 2 (`_huge_integer`).  u + 1/2 is exact, and 10 guard bits keep
    the product's two roundings below the working precision's last bit."""
    import mpmath

    if not _huge_integer(u):
        return mpmath.exp(u)
    shifted = mpmath.fadd(u, 0.5, exact=True)
    with mpmath.extraprec(10):
        value = mpmath.exp(shifted) * mpmath.exp(-0.5)
    return +value


@_remembered_at_high_precision
def _mp_cosh(u):
    """mpmath.cosh(u); for a huge integer u, e^|u|/2 (`_mp_exp`): the term e^-|u| is below
    2^-(2^64) relative, beyond any working precision."""
    import mpmath

    return _mp_exp(abs(u)) / 2 if _huge_integer(u) else mpmath.cosh(u)


@_remembered_at_high_precision
def _mp_sinh(u):
    """mpmath.sinh(u); for a huge integer u, sign(u)·e^|u|/2 (as `_mp_cosh`)."""
    import mpmath

    if not _huge_integer(u):
        return mpmath.sinh(u)
    half = _mp_exp(abs(u)) / 2
    return half if u > 0 else -half


def _mp_erfc(u):
    """mpmath.erfc(u), remembered for a real u by its bits, precision and rounding
    (`_mp_erfc_at`)."""
    import mpmath

    if not isinstance(u, mpmath.mpf):
        return mpmath.erfc(u)
    return _mp_erfc_at(u._mpf_, *mpmath.mp._prec_rounding)


@remembered(maxsize=8192)
def _mp_erfc_at(bits: tuple, prec: int, rounding: str):
    """mpmath.erfc of the real with mpmath's ``bits`` (``_mpf_``), computed in the caller's
    context, whose precision and rounding the key holds: the judge of
    `symcalc.numeric.cancellation` evaluates a formula at one point several times (its
    κ, its value, each branch's checks), at about 0.15 ms per erfc at 400 bits (27,180
    calls, 1,640 distinct, in the JAX export of √(log(erfc(x/3))² + (x/7)²), 4 of its 9 s)."""
    import mpmath

    return mpmath.erfc(mpmath.mp.make_mpf(bits))


def _mp_sigmoid(u):
    return 1 / (1 + _mp_exp(-u))


def _mp_softplus(u):
    import mpmath

    return mpmath.log1p(_mp_exp(u)) if u < 0 else u + mpmath.log1p(_mp_exp(-u))


def _mp_logsumexp(*args):
    import mpmath

    top = max(args)
    return top + mpmath.log(mpmath.fsum(_mp_exp(a - top) for a in args))


#: How the stable primitives evaluate in mpmath (for ``lambdify(..., modules=[this, "mpmath"])``).
MPMATH_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "sigmoid": _mp_sigmoid,
    "softplus": _mp_softplus,
    "logsumexp": _mp_logsumexp,
    "log1p": lambda u: __import__("mpmath").log1p(u),
    "expm1": lambda u: __import__("mpmath").expm1(u),
    "erfc": _mp_erfc,
    "hypot": lambda a, b: __import__("mpmath").hypot(a, b),
}

#: `MPMATH_FUNCTIONS` with exp, cosh and sinh that skip mpmath's slow path for a huge
#: integer (`_huge_integer`): for the kernel compiler's judge, which evaluates formulas at
#: integer points up to 2^1023 at up to thousands of digits.
MPMATH_JUDGE_FUNCTIONS: dict[str, Callable[..., Any]] = {
    **MPMATH_FUNCTIONS,
    "exp": _mp_exp,
    "cosh": _mp_cosh,
    "sinh": _mp_sinh,
}


# -- rule objects ---------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Context:
    """What a rule may know besides the node: probe values of the variables, by symbol."""

    samples: Mapping[sympy.Symbol, np.ndarray] = dataclasses.field(default_factory=dict)
    #: `_cancellation_score` of each expression already scored at these samples: the σ and
    #: rational rewrites weigh the same candidates again, level after level.
    _scores: dict[sympy.Expr, float] = dataclasses.field(
        default_factory=dict, init=False, compare=False, repr=False
    )


@dataclasses.dataclass(frozen=True, repr=False)
class Rewrite:
    """One identity: where it applies (``query``) and what replaces the node (``value``).

    ``value(node, context)`` returns the replacement, or ``None`` to decline.
    ``examples`` are ``(lhs, rhs)`` pairs: the rule turns ``lhs`` into ``rhs``, and the
    tests prove ``lhs == rhs`` at 50 digits.
    """

    name: str
    formula: str
    query: Callable[[sympy.Basic], bool]
    value: Callable[[sympy.Basic, Context], sympy.Basic | None]
    examples: tuple[tuple[sympy.Expr, sympy.Expr], ...] = ()

    def __call__(self, expr: sympy.Expr, context: Context | None = None) -> sympy.Expr:
        """Apply this rule alone, bottom-up, until nothing changes."""
        return optimize(expr, (self,), context=context)

    def to_text(self) -> str:
        return f"{self.name}: {self.formula}"

    def __repr__(self) -> str:
        return f"<Rewrite {self.name}: {self.formula}>"


def _u(name: str = "u") -> sympy.Symbol:
    return sympy.Symbol(name, real=True)


u, v, c = _u("u"), _u("v"), sympy.Symbol("c", positive=True)


# -- helpers ------------------------------------------------------------------------------

_RATIONAL = (sympy.Add, sympy.Mul)


def _is_rational_node(expr: sympy.Basic) -> bool:
    if isinstance(expr, _RATIONAL):
        return True
    return isinstance(expr, sympy.Pow) and expr.exp.is_Integer


def _rational_leaves(expr: sympy.Basic) -> list[sympy.Basic]:
    """The operands reached from ``expr`` through +, * and integer powers only."""
    if _is_rational_node(expr):
        args = expr.args if not isinstance(expr, sympy.Pow) else (expr.base,)
        return [leaf for a in args for leaf in _rational_leaves(a)]
    return [expr]


def _is_exact(term: sympy.Expr) -> bool:
    """A term whose floating-point value carries no rounding error: a number or ±2^k·variable."""
    if term.is_Number or term.is_Symbol:
        return True
    coeff, rest = term.as_coeff_Mul()
    if rest.is_Symbol and coeff.is_Rational:
        q = abs(coeff)
        return q.p & (q.p - 1) == 0 and q.q & (q.q - 1) == 0
    return False


# -- sigmoid normal form ----------------------------------------------------------------

_FAMILY = (sympy.exp, expm1, sympy.tanh, sympy.sinh, sympy.cosh, sympy.sech, sigmoid)
#: Family members that overflow for large arguments: worth rewriting wherever they appear.
_UNBOUNDED = (sympy.exp, expm1, sympy.sinh, sympy.cosh)


def _family_key(atom: sympy.Basic) -> tuple[sympy.Expr, sympy.Rational] | None:
    """(direction w, exponent multiple) with atom rational in exp(multiple·w)."""
    if not isinstance(atom, _FAMILY):
        return None
    coeff, w = atom.args[0].as_coeff_Mul(rational=True)
    if w.could_extract_minus_sign():
        coeff, w = -coeff, -w
    if coeff == 0:
        return None
    return w, (2 * coeff if isinstance(atom, sympy.tanh) else coeff)


def _reduce_even_powers(expr: sympy.Expr) -> sympy.Expr:
    """sinh(u)/cosh(u) = tanh(u); cosh(u)² = (cosh(2u) + 1)/2 and friends, so bases match."""
    expr = _tanh_ratios(expr)

    def query(e):
        return (
            isinstance(e, sympy.Pow)
            and e.exp.is_Integer
            and e.exp % 2 == 0
            and isinstance(e.base, (sympy.cosh, sympy.sinh, sympy.sech))
        )

    def value(e):
        w = e.base.args[0]
        k = e.exp // 2
        if isinstance(e.base, sympy.cosh):
            return ((sympy.cosh(2 * w) + 1) / 2) ** k
        if isinstance(e.base, sympy.sinh):
            return ((sympy.cosh(2 * w) - 1) / 2) ** k
        return (2 / (sympy.cosh(2 * w) + 1)) ** k

    return expr.replace(query, value)


def _tanh_ratios(expr: sympy.Expr) -> sympy.Expr:
    """sinh(w)^k · cosh(w)^-k -> tanh(w)^k inside products."""

    def query(e):
        return isinstance(e, sympy.Mul) and e.has(sympy.sinh) and e.has(sympy.cosh)

    def value(e):
        powers = dict(f.as_base_exp() for f in e.args)
        out = e
        for base, k in powers.items():
            if isinstance(base, sympy.sinh) and powers.get(sympy.cosh(base.args[0])) == -k:
                out = (
                    out / (base**k * sympy.cosh(base.args[0]) ** -k) * sympy.tanh(base.args[0]) ** k
                )
        return out

    return expr.replace(query, value)


def _in_exponentials(atom: sympy.Basic, n: sympy.Rational, E: sympy.Symbol) -> sympy.Expr:
    """``atom`` written in powers of E, where atom's argument is n·b and E stands for exp(b)."""
    if isinstance(atom, sympy.exp):
        return E**n
    if isinstance(atom, expm1):
        return E**n - 1
    if isinstance(atom, sigmoid):
        return E**n / (E**n + 1)
    if isinstance(atom, sympy.tanh):
        return (E**n - 1) / (E**n + 1)  # n already counts the 2 in tanh(w) = (e^2w - 1)/(e^2w + 1)
    if isinstance(atom, sympy.sinh):
        return (E**n - E**-n) / 2
    if isinstance(atom, sympy.cosh):
        return (E**n + E**-n) / 2
    return 2 / (E**n + E**-n)  # sech


_S, _T = sympy.symbols("s_, t_", positive=True)


def _map_linear(factor: sympy.Expr, b: sympy.Expr) -> sympy.Expr | None:
    """a·s + b·t with numeric a, b: s + t -> 1, s - t -> tanh(b/2); else None."""
    poly = sympy.Poly(factor, _S, _T)
    if poly.total_degree() != 1 or not poly.is_homogeneous:
        return None
    a, bb = poly.coeff_monomial(_S), poly.coeff_monomial(_T)
    if not (a.is_Number and bb.is_Number):
        return None
    if a == bb:
        return a
    if a == -bb:
        return a * sympy.tanh(b / 2)
    return None


@functools.lru_cache(maxsize=1024)
def _map_polynomial(poly_expr: sympy.Expr, b: sympy.Expr, style: str) -> sympy.Expr:
    """A homogeneous polynomial in s, t whose coefficients hold other symbols, made stable.

    ``style`` "monomials" keeps Σ c_ij(x)·s^i·t^j with each coefficient factored
    ((1 - y)·σ(z) - y·σ(-z)); "coefficients" collects by the other symbols and maps
    each numeric polynomial in s, t (tanh(u) + 4xσ(x)σ(2u)σ(-2u)).
    """
    expanded = sympy.expand(poly_expr)
    if not expanded.has(_S, _T):
        return expanded
    poly = sympy.Poly(expanded, _S, _T)
    degree = poly.total_degree()
    if style == "monomials":
        return sympy.Add(*[sympy.factor(coeff) * _S**i * _T**j for (i, j), coeff in poly.terms()])
    groups: dict[sympy.Expr, sympy.Expr] = {}
    for (i, j), coeff in poly.terms():
        for term in sympy.Add.make_args(sympy.expand(coeff)):
            number, rest = term.as_coeff_Mul()
            groups[rest] = groups.get(rest, 0) + number * _S**i * _T**j
    out = []
    for rest, numeric in groups.items():
        numeric = sympy.expand(
            numeric * (_S + _T) ** (degree - sympy.Poly(numeric, _S, _T).total_degree())
        )
        out.append(rest * _map_numeric(numeric, b))
    return sympy.Add(*out)


@functools.lru_cache(maxsize=1024)
def _map_numeric(numeric: sympy.Expr, b: sympy.Expr) -> sympy.Expr:
    """Factor a numeric homogeneous polynomial in s, t and map its linear factors.

    Remembered (as `_map_polynomial`): the factors of one numerator come back in both
    styles, and the same numeric polynomials in many numerators."""
    content, factors = sympy.factor_list(numeric, _S, _T)
    result = content
    for f, e in factors:
        mapped = _map_linear(f, b)
        result *= (f if mapped is None else mapped) ** e
    return result


def _positive_denominator_factor(f: sympy.Expr) -> bool:
    """Sums like s² + t² or s + t: positive coefficients, both pure powers present (≥ 1/2^d)."""
    poly = sympy.Poly(f, _S, _T)
    d = poly.total_degree()
    coeffs = poly.terms()
    if not all(cf.is_Number and cf > 0 for _, cf in coeffs):
        return False
    monomials = {m for m, _ in coeffs}
    return (d, 0) in monomials and (0, d) in monomials


def _is_risky(expr: sympy.Expr, atoms: Iterable[sympy.Basic]) -> bool:
    """Worth rewriting: a member that may overflow, or a family atom inside a sum."""
    atoms = set(atoms)
    if any(isinstance(a, _UNBOUNDED) for a in atoms):
        return True
    for node in sympy.preorder_traversal(expr):
        if (
            isinstance(node, sympy.Add)
            and any(t.has(*atoms) for t in node.args)
            and any(
                t.could_extract_minus_sign() or t.has(sympy.tanh, sympy.sinh) for t in node.args
            )
        ):
            return True  # a signed sum: σ(x) + 1 is safe, 1 - σ(x) and 1 + tanh(x) cancel
        if (
            isinstance(node, sympy.Pow)
            and node.exp.is_negative
            and isinstance(node.base, sympy.Add)
        ):
            if node.base.has(*atoms):
                return True
    return False


def _sigmoid_form(expr: sympy.Expr, context: Context) -> sympy.Expr | None:
    leaves = _rational_leaves(expr)
    groups: dict[sympy.Expr, list[tuple[sympy.Basic, sympy.Rational]]] = {}
    for leaf in leaves:
        key = _family_key(leaf)
        if key is not None:
            groups.setdefault(key[0], []).append((leaf, key[1]))
    for w, members in sorted(groups.items(), key=lambda kv: sympy.default_sort_key(kv[0])):
        atoms = [m[0] for m in members]
        if not _is_risky(expr, atoms):
            continue
        candidates = _sigmoid_forms_for(expr, w, members, ("coefficients", "monomials"))
        if expr in candidates:
            continue  # already in one of the normal forms: nothing to do
        candidates = [cand for cand in candidates if cand is not None]
        if not candidates:
            continue
        if len(candidates) == 1 or candidates[0] == candidates[1] or not context.samples:
            return candidates[0]
        scores = [(_cancellation_score(cand, context), i) for i, cand in enumerate(candidates)]
        return candidates[min(scores)[1]]
    return None


def _sigmoid_forms_for(expr, w, members, styles: Sequence[str]) -> list[sympy.Expr | None]:
    """``expr`` as a polynomial in σ(b) and σ(-b), factored, with its factors mapped back
    in each of ``styles`` (`_map_polynomial`); the rational function and its factors are
    found once for all styles.

    The same question comes back often (a derivative's levels share their parts, and the
    kernel, the JAX and the PyTorch builds of one formula lower it again), so answers are
    remembered, a bounded number of them: the same answer, the `cancel` and `factor_list`
    paid once."""
    return list(_sigmoid_forms_cached(expr, w, tuple(map(tuple, members)), tuple(styles)))


@functools.lru_cache(maxsize=1024)
def _sigmoid_forms_cached(expr, w, members, styles) -> tuple[sympy.Expr | None, ...]:
    multiples = [abs(m) for _, m in members]
    q = reduce(lambda a, b_: sympy.gcd(a, b_), multiples)
    b = q * w
    E = sympy.Dummy("E", positive=True)
    subs = {}
    for atom, _ in members:
        n = _family_key(atom)[1] / q
        if not n.is_Integer:
            return (None,) * len(styles)
        subs[atom] = _in_exponentials(atom, n, E)
    # every other leaf is an opaque coefficient, hidden first: a member inside one
    # (σ(x) in sqrt(sqrt(x) + σ(x))) is left alone, not rewritten in E
    opaque = {
        leaf: sympy.Dummy()
        for leaf in _rational_leaves(expr)
        if not leaf.is_Number and leaf not in subs
    }
    back = {d: leaf for leaf, d in opaque.items()}
    rational = expr.xreplace(opaque | subs).xreplace({E: _S / _T})  # at once: x in exp(x) stays
    rational = sympy.cancel(sympy.together(rational))
    numer, denom = sympy.fraction(rational)
    d_content, d_factors = sympy.factor_list(denom)
    kept_denominator = d_content
    for f, e in d_factors:
        if not f.has(_S, _T):
            kept_denominator *= f**e
        elif sympy.expand(f - _S - _T) == 0:
            continue
        elif _positive_denominator_factor(f):
            kept_denominator *= f**e
        else:
            return (None,) * len(styles)
    n_content, n_factors = sympy.factor_list(numer)
    forms = []
    for style in styles:
        mapped = n_content
        for f, e in n_factors:
            mapped *= (_map_polynomial(f, b, style) if f.has(_S, _T) else f) ** e
        result = (mapped / kept_denominator).xreplace(back)
        forms.append(result.xreplace({_S: sigmoid(b), _T: sigmoid(-b)}))
    return tuple(forms)


def _sigmoid_query(expr: sympy.Basic) -> bool:
    if not _is_rational_node(expr):
        return False
    return any(_family_key(leaf) is not None for leaf in _rational_leaves(expr))


def _sigmoid_value(expr, context):
    reduced = _reduce_even_powers(expr)
    return _sigmoid_form(reduced, context)


# -- ratios of exponential sums in several variables (softmax) -------------------------


def _exp_args(expr: sympy.Expr) -> list[sympy.Expr]:
    return [a.args[0] for a in _rational_leaves(expr) if isinstance(a, sympy.exp)]


def _exp_ratio_query(expr: sympy.Basic) -> bool:
    if not _is_rational_node(expr):
        return False
    args = _exp_args(expr)
    if len({a.as_coeff_Mul(rational=True)[1] for a in args}) < 2:
        return False
    return any(
        isinstance(n, sympy.Pow)
        and n.exp.is_negative
        and isinstance(n.base, sympy.Add)
        and n.base.has(sympy.exp)
        for n in sympy.preorder_traversal(expr)
    )


def _exp_ratio_value(expr, context):
    together = sympy.factor(sympy.together(expr))
    numer, denom = sympy.fraction(together)
    arguments = sorted(set(_exp_args(denom)), key=sympy.default_sort_key)
    if len(arguments) < 2:
        return None
    top = sympy.Max(*arguments)
    M = sympy.Dummy("M", positive=True)
    shift = {sympy.exp(a): sympy.exp(a - top) * M for a in set(_exp_args(numer)) | set(arguments)}
    n2, d2 = sympy.expand(numer.xreplace(shift)), sympy.expand(denom.xreplace(shift))
    try:
        dn, dd = sympy.degree(n2, M), sympy.degree(d2, M)
    except sympy.PolynomialError:
        return None
    if dn != dd or not (sympy.Poly(n2, M).is_homogeneous and sympy.Poly(d2, M).is_homogeneous):
        return None
    return numer.xreplace(shift).subs(M, 1) / denom.xreplace(shift).subs(M, 1)


def _exp_factors(expr: sympy.Basic) -> list[sympy.exp]:
    """The exp factors of a product (``exp(a)**n`` counted as exp(n·a))."""
    if not isinstance(expr, sympy.Mul):
        return []
    return [f for f in expr.args if isinstance(f, sympy.exp) and f.free_symbols]


def _exp_product_query(expr: sympy.Basic) -> bool:
    factors = _exp_factors(expr)
    if len(factors) < 2:
        return False
    # exp(k·u) for one u is a rational function of exp(u) (sigmoid_form's business), and
    # exponentials of linear arguments are exp_ratio's (softmax: exp(z₁)·exp(z₂) stays)
    if len({f.args[0].as_coeff_Mul(rational=True)[1] for f in factors}) < 2:
        return False
    return any(not _is_linear(f.args[0]) for f in factors)


def _is_linear(arg: sympy.Expr) -> bool:
    """Whether ``arg`` is a polynomial of degree at most 1 in its variables."""
    try:
        return sympy.Poly(arg, *sorted(arg.free_symbols, key=str)).total_degree() <= 1
    except sympy.PolynomialError:
        return False


def _exp_product_value(expr, context):
    factors = _exp_factors(expr)
    rest = [f for f in expr.args if f not in factors]
    return sympy.Mul(*rest, sympy.exp(sympy.Add(*(f.args[0] for f in factors))))


# -- pattern rules ------------------------------------------------------------------------


def _power_and_factor(arg: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr] | None:
    """``(c, b**n)`` for an argument ``c·b**n`` with c a positive number (1 if absent)."""
    if isinstance(arg, sympy.Pow):
        return sympy.S.One, arg
    if isinstance(arg, sympy.Mul):
        c, rest = arg.as_independent(*arg.free_symbols) if arg.free_symbols else (arg, 1)
        if c.is_positive and c.is_number and isinstance(rest, sympy.Pow):
            return c, rest
    return None


def _log_of_power_query(e):
    if not isinstance(e, sympy.log):
        return False
    split = _power_and_factor(e.args[0])
    if split is None:
        return False
    base, exponent = split[1].as_base_exp()
    return bool(base.is_positive or (exponent.is_integer and base.is_extended_real is not False))


def _log_of_power_value(e, context):
    """log(c·b**n) = log c + n·log b for b > 0; for an integer n and any real b, n·log|b|
    when n is even (b**n ≥ 0 always) and n·log b when n is odd (both real only for
    b > 0).  b**n itself may underflow or overflow where log(b**n) is an ordinary
    number: log(x**2) at x = 1e-300 is -1381.55, and 1/log(x**2) is not 0."""
    c, power = _power_and_factor(e.args[0])
    base, exponent = power.as_base_exp()
    if not exponent.is_real:
        return None
    if base.is_positive or not exponent.is_even:
        log_base = sympy.log(base)
    else:
        log_base = sympy.log(sympy.Abs(base))
    return sympy.log(c) + exponent * log_base


def _one_plus(arg: sympy.Expr) -> sympy.Expr | None:
    """The u in 1 + u, or None."""
    if isinstance(arg, sympy.Add) and sympy.S.One in arg.args:
        return arg - 1
    return None


def _softplus_query(e):
    if not isinstance(e, sympy.log):
        return False
    rest = _one_plus(e.args[0])
    return rest is not None and isinstance(rest, sympy.exp)


def _softplus_value(e, context):
    return softplus(_one_plus(e.args[0]).args[0])


def _odds_parts(e) -> tuple[sympy.Expr, sympy.Expr] | None:
    """(m, w) where ``e`` is m/σ(w) - m, else None."""
    if not isinstance(e, sympy.Add) or len(e.args) != 2:
        return None
    for term, other in (e.args, e.args[::-1]):
        for f in sympy.Mul.make_args(term):
            if isinstance(f, sympy.Pow) and f.exp == -1 and isinstance(f.base, sigmoid):
                m = term / f
                if sympy.expand(other + m) == 0 and not m.has(sigmoid):
                    return m, f.base.args[0]
    return None


def _odds_query(e):
    return _odds_parts(e) is not None


def _odds_value(e, context):
    m, w = _odds_parts(e)
    return m * sympy.exp(-w)


def _log_sigmoid_query(e):
    return isinstance(e, sympy.log) and isinstance(e.args[0], sigmoid)


def _log_sigmoid_value(e, context):
    return -softplus(-e.args[0].args[0])


def _exp_terms(arg: sympy.Expr) -> list[sympy.Expr] | None:
    """The aₖ of a sum Σ cₖ·exp(bₖ) (cₖ > 0 numbers) written as Σ exp(aₖ), or None."""
    if not isinstance(arg, sympy.Add):
        return None
    out = []
    for term in arg.args:
        coeff, rest = term.as_coeff_Mul()
        if rest == 1 and coeff > 0:
            out.append(sympy.log(coeff))
        elif isinstance(rest, sympy.exp) and coeff > 0:
            out.append(rest.args[0] + sympy.log(coeff))
        else:
            return None
    exponentials = sum(1 for t in arg.args if t.has(sympy.exp))
    if exponentials >= 2 or exponentials == 1 and _one_plus(arg) is None:
        return out  # (1 + exp(u) is softplus's; exp(u) + 2 is logsumexp(u, log 2))
    return None


def _logsumexp_query(e):
    return isinstance(e, sympy.log) and _exp_terms(e.args[0]) is not None


def _logsumexp_value(e, context):
    return logsumexp(*_exp_terms(e.args[0]))


def _log1p_query(e):
    return isinstance(e, sympy.log) and _one_plus(e.args[0]) is not None


def _log1p_value(e, context):
    return log1p(_one_plus(e.args[0]))


def _log_cosh_query(e):
    return isinstance(e, sympy.log) and isinstance(e.args[0], sympy.cosh)


def _log_cosh_value(e, context):
    w = e.args[0].args[0]
    small = log1p(2 * sympy.sinh(w / 2) ** 2)
    large = sympy.Abs(w) + softplus(-2 * sympy.Abs(w)) - sympy.log(2)
    return sympy.Piecewise((small, sympy.Abs(w) < 1), (large, True))


def _log_softmax_query(e):
    if not isinstance(e, sympy.log) or not isinstance(e.args[0], sympy.Mul):
        return False
    factors = e.args[0].args
    tops = [f for f in factors if isinstance(f, sympy.exp)]
    sums = [
        f
        for f in factors
        if isinstance(f, sympy.Pow) and f.exp == -1 and isinstance(f.base, sympy.Add)
    ]
    return (
        len(tops) == 1
        and len(sums) == 1
        and len(factors) == 2
        and all(isinstance(t, sympy.exp) for t in sums[0].base.args)
    )


def _log_softmax_value(e, context):
    factors = e.args[0].args
    top = next(f for f in factors if isinstance(f, sympy.exp)).args[0]
    total = next(f for f in factors if isinstance(f, sympy.Pow)).base
    return -logsumexp(*[t.args[0] - top for t in total.args])


def _paired_terms(e: sympy.Add, head) -> tuple[sympy.Expr, sympy.Basic, sympy.Expr] | None:
    """A term ``coeff·head(w)`` of the sum and a term ``±coeff`` beside it.

    expand(a ± b) is expand(a) ± expand(b), so each term and coefficient is expanded once
    and a pair is first looked for among the expanded ones (a sum, no expansion); the
    pair found is then confirmed as before.  The expansions of each two terms were most
    of the stability rewrites' time on long sums (1.9 s of CPU for the three levels of
    softsign(softsign(silu(x/3)))″)."""
    expanded: dict[sympy.Expr, sympy.Expr] = {}

    def expand(t: sympy.Expr) -> sympy.Expr:
        if t not in expanded:
            expanded[t] = sympy.expand(t)
        return expanded[t]

    for term in e.args:
        atoms = [f for f in sympy.Mul.make_args(term) if isinstance(f, head)]
        if len(atoms) != 1:
            continue
        coeff = term / atoms[0]
        if coeff.has(head):
            continue
        for other in e.args:
            if other is term:
                continue
            if expand(other) + expand(coeff) != 0 and expand(other) - expand(coeff) != 0:
                continue
            if sympy.expand(other + coeff) == 0 or sympy.expand(other - coeff) == 0:
                return coeff, atoms[0], other
    return None


def _expm1_query(e):
    return isinstance(e, sympy.Add) and e.has(sympy.exp) and _paired_terms(e, sympy.exp) is not None


def _expm1_value(e, context):
    coeff, atom, other = _paired_terms(e, sympy.exp)
    if sympy.expand(other + coeff) != 0:  # c·exp(u) + c is not an expm1
        return None
    rest = e - coeff * atom - other
    return rest + coeff * expm1(atom.args[0])


def _erfc_query(e):
    return isinstance(e, sympy.Add) and e.has(sympy.erf) and _paired_terms(e, sympy.erf) is not None


def _erfc_value(e, context):
    coeff, atom, other = _paired_terms(e, sympy.erf)
    rest = e - coeff * atom - other
    if sympy.expand(other - coeff) == 0:  # c + c·erf(w) = c·erfc(-w)
        return rest + coeff * erfc(-atom.args[0])
    return rest - coeff * erfc(atom.args[0])  # c·erf(w) - c = -c·erfc(w)


def _erfc_reflect_query(e):
    return (
        isinstance(e, sympy.Add) and e.has(sympy.erfc) and _doubled_terms(e, sympy.erfc) is not None
    )


def _doubled_terms(e: sympy.Add, head) -> tuple[sympy.Expr, sympy.Basic, sympy.Expr] | None:
    """A term ``coeff·head(w)`` of the sum and a term ``-2·coeff`` beside it."""
    for term in e.args:
        atoms = [f for f in sympy.Mul.make_args(term) if isinstance(f, head)]
        if len(atoms) != 1 or not atoms[0].free_symbols:
            continue
        coeff = term / atoms[0]
        if coeff.has(head):
            continue
        for other in e.args:
            if other is not term and sympy.expand(other + 2 * coeff) == 0:
                return coeff, atoms[0], other
    return None


def _erfc_reflect_value(e, context):
    coeff, atom, other = _doubled_terms(e, sympy.erfc)
    rest = e - coeff * atom - other
    return rest - coeff * erfc(-atom.args[0])  # c·erfc(w) - 2c = -c·erfc(-w)


def _half_angle_query(e):
    return isinstance(e, sympy.Add) and e.has(sympy.cos) and _paired_terms(e, sympy.cos) is not None


def _half_angle_value(e, context):
    coeff, atom, other = _paired_terms(e, sympy.cos)
    rest = e - coeff * atom - other
    half = atom.args[0] / 2
    if sympy.expand(other + coeff) == 0:  # c·cos(w) - c = -2c·sin²(w/2)
        return rest - 2 * coeff * sympy.sin(half) ** 2
    return rest + 2 * coeff * sympy.cos(half) ** 2  # c·cos(w) + c = 2c·cos²(w/2)


def _squares(w: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr] | None:
    """(a, b) with w = a² + b², from two terms each a positive multiple of a square or a
    positive number; None otherwise."""
    if not isinstance(w, sympy.Add) or len(w.args) != 2:
        return None
    roots = []
    for term in w.args:
        coeff, rest = term.as_coeff_Mul()
        if not coeff.is_positive:
            return None
        if rest == 1:
            roots.append(sympy.sqrt(coeff))
            continue
        base, exponent = rest.as_base_exp()
        if not (exponent.is_Integer and exponent % 2 == 0):
            return None
        roots.append(sympy.sqrt(coeff) * base ** (exponent // 2))
    return roots[0], roots[1]


def _hypot_query(e):
    return (
        isinstance(e, sympy.Pow)
        and e.exp.is_Rational
        and e.exp.q == 2
        and bool(e.base.free_symbols)
        and _squares(e.base) is not None
    )


def _hypot_value(e, context):
    a, b = _squares(e.base)
    if not a.free_symbols:
        a, b = b, a
    scale, rest = a.as_coeff_Mul()
    if abs(scale) > 1:  # hypot(2x, 1) = 2·hypot(x, 1/2): 2x overflows from x = 2^1023
        return (abs(scale) * hypot(rest, b / abs(scale))) ** (2 * e.exp)
    return hypot(a, b) ** (2 * e.exp)


def _radical(term: sympy.Expr) -> tuple[sympy.Expr, sympy.Expr, int] | None:
    """term = b·R^k with R a square root (sqrt(w) or hypot) and k = ±1: (b, R, k), else None."""
    found = None
    for factor in sympy.Mul.make_args(term):
        base, exponent = factor.as_base_exp()
        if isinstance(base, hypot) and exponent in (1, -1):
            radical, k = base, int(exponent)
        elif exponent in (sympy.S.Half, -sympy.S.Half) and base.free_symbols:
            radical, k = sympy.sqrt(base), 1 if exponent > 0 else -1
        else:
            continue
        if found is not None:
            return None
        found = (term / factor, radical, k)
    if found is None or found[0].has(found[1]) or found[0].has(sympy.Pow(found[1], -1)):
        return None
    return found


def _radical_square(radical: sympy.Expr) -> sympy.Expr:
    if isinstance(radical, hypot):
        return radical.args[0] ** 2 + radical.args[1] ** 2
    return radical.base


def _conjugate_parts(e: sympy.Add):
    """(p, q, R, k) with e = p + q·R^k and R in no other term, or None."""
    parts = [(t, _radical(t)) for t in e.args]
    with_radical = [(t, r) for t, r in parts if r is not None]
    if len(with_radical) != 1:
        return None
    term, (q, radical, k) = with_radical[0]
    p = e - term
    if p == 0 or p.has(radical) or (k == 1 and p.has(sympy.Pow(radical, -1))):
        return None
    return p, q, radical, k


def _conjugate_query(e):
    return isinstance(e, sympy.Add) and _conjugate_parts(e) is not None


def _sum_without_cancellation(p, q, radical):
    """p + q·R = q·(r + R) with r = p/q, as q·(2·max(r, 0) + (R² - r²)/(R + |r|)).

    r + |r| = 2·max(r, 0) never cancels, and R - |r| is the conjugate fraction, whose
    numerator R² - r² must simplify (its leading terms cancel symbolically).  None when q
    may be 0, r + R cannot cancel (r >= 0), or nothing simplifies.
    """
    if q.is_zero is not False:
        return None
    r = sympy.cancel(p / q)
    if r.is_nonnegative:
        return None
    square = sympy.expand(_radical_square(radical))
    numerator = sympy.expand(square - sympy.expand(r**2))
    before = len(sympy.Add.make_args(square)) + len(sympy.Add.make_args(sympy.expand(r**2)))
    if numerator == 0 or len(sympy.Add.make_args(numerator)) >= before:
        return None
    # halves: R + |r| overflows where both are near the largest float (|r| = 1e308)
    tail = (sympy.factor(numerator) / 2) / (radical / 2 + sympy.Abs(r) / 2)
    return q * (2 * sympy.Max(r, 0) + tail)


def _conjugate_value(e, context):
    p, q, radical, k = _conjugate_parts(e)
    if k == 1:
        return _sum_without_cancellation(p, q, radical)
    numerator = _sum_without_cancellation(q, p, radical)  # p + q/R = (q + pR)/R
    return None if numerator is None else numerator / radical


def _piecewise_factor_query(e):
    return isinstance(e, sympy.Piecewise) and len(e.args) >= 2


def _piecewise_factor_value(e, context):
    values = [val for val, _ in e.args]
    common = reduce(sympy.gcd, values)
    if common.is_Number or common == 1 or not common.is_polynomial(*common.free_symbols):
        return None
    reduced = [sympy.cancel(val / common) for val in values]
    if any(
        r.has(sympy.zoo, sympy.nan)
        or sympy.fraction(sympy.together(r))[1].has(*common.free_symbols)
        for r in reduced
    ):
        return None
    pieces = [(r, cond) for r, (_, cond) in zip(reduced, e.args, strict=True)]
    return common * sympy.Piecewise(*pieces)


def _piecewise_sum_query(e):
    return isinstance(e, sympy.Add) and sum(isinstance(a, sympy.Piecewise) for a in e.args) == 1


def _piecewise_sum_value(e, context):
    (piecewise,) = [a for a in e.args if isinstance(a, sympy.Piecewise)]
    rest = sympy.Add(*[a for a in e.args if a is not piecewise])
    n_rest = len(sympy.Add.make_args(rest))
    pieces = [(val + rest, cond) for val, cond in piecewise.args]
    cancelled = any(
        len(sympy.Add.make_args(new)) < len(sympy.Add.make_args(val)) + n_rest
        for (new, _), (val, _) in zip(pieces, piecewise.args, strict=True)
    )
    return sympy.Piecewise(*pieces) if cancelled else None


# -- terms that share a factor and cancel exactly -------------------------------------------

#: Sums of more terms than this, or terms larger than `_COFACTOR_OPS`, are left as they are
#: (every pair of terms is tried, and each try multiplies out two products).
_COFACTOR_TERMS = 12
_COFACTOR_OPS = 120


def _multiplied(e: sympy.Expr) -> sympy.Expr:
    """``e`` with its products and integer powers of sums multiplied out, at the top level only
    (no exp(a + b) = exp(a)·exp(b), no log of a product split, nothing inside a function)."""
    return sympy.expand(e, deep=False, power_exp=False, power_base=False, log=False)


def _cofactors_combined(a: sympy.Expr, b: sympy.Expr) -> sympy.Expr | None:
    """a + b as g·N/D, where g is every factor a and b share and N/D the sum of what is
    left over one denominator, if N is smaller than each of its two products (its terms
    cancel exactly); None otherwise.

    The quotient rule leaves such pairs: in (√(1 + u²))'' the terms u'² and -u'²·u²/(u² + 1)
    are u'²/(u² + 1); as written, two terms of about 1 cancelled to 1/x² for u = asinh(x) - x,
    and x = 1e8 lost 9 digits."""
    shared = [f for f in sympy.Mul.make_args(a) if not f.is_number and f in sympy.Mul.make_args(b)]
    if not shared:
        return None
    common = sympy.Mul(*shared)
    (na, da), (nb, db) = sympy.fraction(a / common), sympy.fraction(b / common)
    if da == 1 and db == 1:
        return None  # a sum of products: SymPy's own terms already cancel
    if da == db:
        first, second, denominator = _multiplied(na), _multiplied(nb), da
    else:
        first, second, denominator = _multiplied(na * db), _multiplied(nb * da), da * db
    numerator = first + second
    if sympy.count_ops(numerator) >= min(sympy.count_ops(first), sympy.count_ops(second)):
        return None
    return common * sympy.factor_terms(numerator) / denominator


def _cofactor_query(e):
    return (
        isinstance(e, sympy.Add)
        and 2 <= len(e.args) <= _COFACTOR_TERMS
        and sum(isinstance(t, sympy.Mul) for t in e.args) >= 2
        and sympy.count_ops(e) <= _COFACTOR_TERMS * _COFACTOR_OPS
    )


def _cofactor_value(e, context):
    terms = list(e.args)
    changed = False
    again = True
    while again:
        again = False
        for i in range(len(terms)):
            for j in range(i + 1, len(terms)):
                if max(sympy.count_ops(terms[i]), sympy.count_ops(terms[j])) > _COFACTOR_OPS:
                    continue
                combined = _cofactors_combined(terms[i], terms[j])
                if combined is not None:
                    terms[i] = combined
                    del terms[j]
                    changed = again = True
                    break
            if again:
                break
    return sympy.Add(*terms) if changed else None


# -- rational functions: as given, factored or in partial fractions ------------------------


#: Functions that are increasing, odd and 0 only at 0: sign(f(w)) = sign(w).
_SIGN_KEEPING = (sympy.sinh, sympy.tanh, sympy.atan, sympy.asinh, sympy.erf, expm1, log1p)


def _sign_of(w: sympy.Expr) -> sympy.Expr | None:
    """An expression equal to sign(w) everywhere w is defined whose arguments are simpler
    than ``w`` and cannot round to 0 where ``w`` is not 0, or None.

    sign(w) of a w that underflows (x² below 1e-154, log(cosh x) ≈ x²/2) or cancels on the
    way (cos x - 1 from |x| = 1e-8) is sign(0) = 0 in floating point, so |w|' = sign(w)·w'
    came out 0 there.  Signs of products are products of signs, an even power's sign is
    sign(base)², and an increasing odd function through 0 keeps the sign of its argument.
    """
    if w.is_positive:
        return sympy.S.One
    if w.is_negative:
        return sympy.S.NegativeOne
    if isinstance(w, sympy.Mul):
        return sympy.Mul(*(_sign_of(f) or sympy.sign(f) for f in w.args))
    if isinstance(w, sympy.Pow) and w.exp.is_Integer:
        base = _sign_of(w.base) or sympy.sign(w.base)
        return base**2 if w.exp.is_even else base
    if isinstance(w, _SIGN_KEEPING):
        return _sign_of(w.args[0]) or sympy.sign(w.args[0])
    if isinstance(w, sympy.log):  # log v has the sign of v - 1
        return _sign_of(sympy.expand(w.args[0] - 1))
    if isinstance(w, sympy.Add):
        for head in (sympy.exp, sympy.cosh, sympy.cos):
            pair = _paired_terms(w, head)
            if pair is None or len(w.args) != 2:
                continue
            coeff, atom, other = pair
            if sympy.expand(other + coeff) != 0:
                continue
            sign_c = _sign_of(coeff) or sympy.sign(coeff)
            arg = atom.args[0]
            if head is sympy.exp:  # c·(exp(a) - 1)
                return sign_c * (_sign_of(arg) or sympy.sign(arg))
            if head is sympy.cosh:  # c·(cosh a - 1) = 2c·sinh²(a/2)
                return sign_c * (_sign_of(arg) or sympy.sign(arg)) ** 2
            return -sign_c * sympy.sign(sympy.sin(arg / 2)) ** 2  # c·(cos a - 1) = -2c·sin²(a/2)
    return None


def _sign_query(e):
    return isinstance(e, sympy.sign) and not e.args[0].is_Symbol


def _sign_value(e, context):
    return _sign_of(e.args[0])


def signs_first(expr: sympy.Expr) -> sympy.Expr:
    """Every sign(w) in ``expr`` through `_sign_of`, top-down on the formula as written
    (before the other rules turn log(cosh x) into its stable form, whose sign cancels),
    and so every condition ``w > 0`` (or <, ≥, ≤) of a Piecewise: leaky_relu(g)′ with
    g = |x|·(erfc(1.4 - 90x) + x)/(|x| + 1) took the slope of g ≤ 0 at x = 5e-324, where
    g is positive but underflows to 0 (its value 0.00048 for 0.048)."""
    if expr.has(sympy.sign):
        expr = expr.replace(_sign_query, lambda e: _sign_of(e.args[0]) or e)
    if expr.has(sympy.Piecewise):
        expr = expr.replace(_sign_condition_query, _sign_condition_value)
    return expr


_INEQUALITIES = (sympy.StrictGreaterThan, sympy.StrictLessThan, sympy.GreaterThan, sympy.LessThan)


def _sign_condition_query(e: sympy.Basic) -> bool:
    """Whether ``e`` compares a product or power with 0 (``w > 0``, ``0 >= w``)."""
    if not isinstance(e, _INEQUALITIES) or 0 not in e.args:
        return False
    w = e.args[0] if e.args[1] == 0 else e.args[1]
    return isinstance(w, (sympy.Mul, sympy.Pow)) and bool(w.free_symbols)


def _sign_condition_value(e: sympy.Basic) -> sympy.Basic:
    """``w > 0`` as ``sign_of(w) > 0`` (`_sign_of`), whose factors cannot round to 0."""
    lhs, rhs = e.args
    if lhs == 0:
        return e.func(0, _sign_of(rhs) or rhs)
    return e.func(_sign_of(lhs) or lhs, 0)


def _scipy_special(name: str) -> Callable[..., Any]:
    """``scipy.special.<name>``, imported on the first call (SciPy stays out of start-up)."""

    def call(*args: Any, **kwargs: Any) -> Any:
        import scipy.special

        return getattr(scipy.special, name)(*args, **kwargs)

    call.__name__ = name
    return call


def _expit(a: Any) -> Any:
    """σ(a) in NumPy from exp(-|a|), which never overflows (within a few ulps of
    ``scipy.special.expit``, without importing SciPy); floating dtypes are kept."""
    a = np.asarray(a)
    a = a if a.dtype.kind == "f" else a.astype(float)
    e = np.exp(-np.abs(a))
    return np.where(a >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def _numpy_modules() -> list:
    logsumexp = _scipy_special("logsumexp")
    return [
        {
            "sigmoid": _expit,
            "softplus": lambda a: np.logaddexp(0, a),
            "log1p": np.log1p,
            "expm1": np.expm1,
            "erfc": _scipy_special("erfc"),
            "logsumexp": lambda *a: logsumexp(np.stack(np.broadcast_arrays(*a)), axis=0),
            "erf": _scipy_special("erf"),
            "hypot": np.hypot,
        },
        "numpy",
    ]


#: ``sympy.lambdify`` modules that evaluate the stable primitives with NumPy/SciPy.
NUMPY_MODULES = _numpy_modules()
_NUMPY_MODULES = NUMPY_MODULES


def _cancellation_score(expr: sympy.Expr, context: Context) -> float:
    """How many sums cancel more than 30-fold (`KAPPA`) at some probe point.

    Remembered per context; the terms of all the sums are evaluated by one ``lambdify``
    (the same printed code for each term as one ``lambdify`` per term, so the same values:
    building a function costs far more than evaluating a small one)."""
    symbols = sorted(expr.free_symbols, key=lambda s: s.name)
    if not symbols or any(s not in context.samples for s in symbols):
        return 0.0
    if expr in context._scores:
        return context._scores[expr]
    columns = np.broadcast_arrays(*[np.asarray(context.samples[s], dtype=float) for s in symbols])
    sums = []
    for node in sympy.preorder_traversal(expr):
        if not isinstance(node, sympy.Add) or all(_is_exact(t) for t in node.args):
            continue
        if len(node.args) == 2 and all(_is_exact(t) or t.is_Number for t in node.args):
            continue
        sums.append(node.args)
    distinct = list(dict.fromkeys(t for terms in sums for t in terms))
    score = 0.0
    if distinct:
        with np.errstate(all="ignore"):
            evaluated = lambdify(symbols, distinct, _NUMPY_MODULES)(*columns)
            values = {
                t: np.broadcast_to(np.asarray(v, dtype=float), columns[0].shape)
                for t, v in zip(distinct, evaluated, strict=True)
            }
    for node_terms in sums:
        with np.errstate(all="ignore"):
            terms = [values[t] for t in node_terms]
            total = np.abs(np.sum(terms, axis=0))
            biggest = np.max(np.abs(terms), axis=0)
            ratio = np.where(
                np.isfinite(total) & (total > 0), biggest / np.where(total > 0, total, 1), 1.0
            )
        worst = np.nanmax(ratio) if ratio.size else 1.0
        if worst > 30:  # the cancellation the kernels leave to floating point (KAPPA)
            score += 1 + math.log10(worst) / 100
    if len(context._scores) > 1024:
        context._scores.clear()
    context._scores[expr] = score
    return score


def _rational_query(e):
    if not _is_rational_node(e) or not e.free_symbols:
        return False
    if not isinstance(e, (sympy.Add, sympy.Mul, sympy.Pow)):
        return False
    try:
        return (
            e.is_rational_function(*e.free_symbols)
            and e.has(sympy.Add)
            and not e.is_polynomial(*e.free_symbols)
            or (e.is_polynomial(*e.free_symbols) and isinstance(e, sympy.Add) and len(e.args) > 1)
        )
    except (TypeError, ValueError):
        return False


def _rational_value(e, context):
    if not context.samples:
        factored = sympy.factor(e)
        return factored if sympy.count_ops(factored) <= sympy.count_ops(e) else None
    candidates = [e, sympy.factor(e)]
    symbols = sorted(e.free_symbols, key=lambda s: s.name)
    main = next((s for s in context.samples if s in e.free_symbols), symbols[0])
    try:
        candidates.append(sympy.apart(e, main))
    except (sympy.PolynomialError, NotImplementedError):
        pass
    scored = [
        (_cancellation_score(cand, context), sympy.count_ops(cand), i)
        for i, cand in enumerate(candidates)
    ]
    best = min(scored)
    if best[2] == 0 or best[0] >= scored[0][0] and best[1] >= scored[0][1]:
        return None
    return candidates[best[2]]


# -- the rule table -------------------------------------------------------------------------

_x = _u("x")

RULES: tuple[Rewrite, ...] = (
    Rewrite(
        "exp_ratio",
        "Σ cₖ·exp(aₖ) / Σ exp(aₖ) -> the same with every exp(aₖ) divided by exp(max aₖ)",
        _exp_ratio_query,
        _exp_ratio_value,
        examples=(
            (
                sympy.exp(u) / (sympy.exp(u) + sympy.exp(v)),
                sympy.exp(u - sympy.Max(u, v))
                / (sympy.exp(u - sympy.Max(u, v)) + sympy.exp(v - sympy.Max(u, v))),
            ),
        ),
    ),
    Rewrite(
        "odds",
        "c/σ(u) - c -> c·exp(-u) (log(1/σ(u) - 1), d/dy of bce(σ(x), y), is -u; as written it "
        "overflowed from u = -710)",
        _odds_query,
        _odds_value,
        examples=(
            (1 / sigmoid(u) - 1, sympy.exp(-u)),
            (c / sigmoid(-u) - c, c * sympy.exp(u)),
            (sympy.log(1 / sigmoid(u) - 1), -u),
        ),
    ),
    Rewrite(
        "sigmoid_form",
        "rational function of exp(k·u), tanh, cosh, sinh, σ -> polynomial in σ(±u), tanh(u/2)",
        _sigmoid_query,
        _sigmoid_value,
        examples=(
            (1 / (1 + sympy.exp(-u)), sigmoid(u)),
            (sympy.exp(u) / (sympy.exp(u) + 1) ** 2, sigmoid(u) * sigmoid(-u)),
            (sympy.exp(-u) / (1 + sympy.exp(-u)) ** 2, sigmoid(u) * sigmoid(-u)),
            (sigmoid(u) * (1 - sigmoid(u)), sigmoid(u) * sigmoid(-u)),
            (1 - sigmoid(u), sigmoid(-u)),
            (
                (1 - sympy.exp(u)) * sympy.exp(u) / (sympy.exp(u) + 1) ** 3,
                -sigmoid(u) * sigmoid(-u) * sympy.tanh(u / 2),
            ),
            (1 - sympy.tanh(u) ** 2, 4 * sigmoid(2 * u) * sigmoid(-2 * u)),
            (sympy.sinh(u) / sympy.cosh(u), sympy.tanh(u)),
        ),
    ),
    Rewrite(
        "log_of_power",
        "log(c·a**n) -> log(c) + n·log(a) for a > 0, n·log|a| for an even n",
        _log_of_power_query,
        _log_of_power_value,
        examples=(
            (sympy.log(1 / (1 + sympy.exp(u))), -sympy.log(1 + sympy.exp(u))),
            (sympy.log(u**2), 2 * sympy.log(sympy.Abs(u))),
            (sympy.log(3 * u**4), sympy.log(3) + 4 * sympy.log(sympy.Abs(u))),
        ),
    ),
    Rewrite(
        "log_softmax",
        "log(exp(a) / Σ exp(aₖ)) -> -logsumexp(aₖ - a)",
        _log_softmax_query,
        _log_softmax_value,
        examples=((sympy.log(sympy.exp(u) / (sympy.exp(u) + sympy.exp(v))), -logsumexp(0, v - u)),),
    ),
    Rewrite(
        "softplus",
        "log(1 + exp(u)) -> softplus(u)",
        _softplus_query,
        _softplus_value,
        examples=(
            (sympy.log(1 + sympy.exp(u)), softplus(u)),
            (sympy.log(1 + sympy.exp(-u)), softplus(-u)),
        ),
    ),
    Rewrite(
        "logsumexp",
        "log(Σ exp(aₖ)) -> logsumexp(aₖ) = max + log Σ exp(aₖ - max)",
        _logsumexp_query,
        _logsumexp_value,
        examples=(
            (sympy.log(sympy.exp(u) + sympy.exp(2 * u)), logsumexp(u, 2 * u)),
            (sympy.log(sympy.exp(u) + sympy.exp(v) + 2), logsumexp(sympy.log(2), u, v)),
            (sympy.log(sympy.exp(u) + 2), logsumexp(sympy.log(2), u)),  # log(inf) from u = 710
        ),
    ),
    Rewrite(
        "log_sigmoid",
        "log σ(u) -> -softplus(-u)",
        _log_sigmoid_query,
        _log_sigmoid_value,
        examples=((sympy.log(sigmoid(u)), -softplus(-u)), (sympy.log(sigmoid(-u)), -softplus(u))),
    ),
    Rewrite(
        "log_cosh",
        "log(cosh u) -> log1p(2 sinh²(u/2)) for |u| < 1, else |u| + softplus(-2|u|) - log 2",
        _log_cosh_query,
        _log_cosh_value,
        examples=(
            (sympy.log(sympy.cosh(u)), _log_cosh_value(sympy.log(sympy.cosh(u)), Context())),
        ),
    ),
    Rewrite(
        "log1p",
        "log(1 + u) -> log1p(u)",
        _log1p_query,
        _log1p_value,
        examples=((sympy.log(1 - u), log1p(-u)), (sympy.log(1 + u**2), log1p(u**2))),
    ),
    Rewrite(
        "expm1",
        "c·exp(u) - c -> c·expm1(u)",
        _expm1_query,
        _expm1_value,
        examples=(
            (sympy.exp(u) - 1, expm1(u)),
            (c * sympy.exp(u) - c, c * expm1(u)),
            (1 - sympy.exp(-u), -expm1(-u)),
        ),
    ),
    Rewrite(
        "erfc",
        "c + c·erf(u) -> c·erfc(-u);  c - c·erf(u) -> c·erfc(u)",
        _erfc_query,
        _erfc_value,
        examples=(
            (1 + sympy.erf(u), erfc(-u)),
            (c - c * sympy.erf(u), c * erfc(u)),
            (sympy.erf(u) / 2 + sympy.Rational(1, 2), erfc(-u) / 2),
        ),
    ),
    Rewrite(
        "erfc_reflect",
        "c·erfc(u) - 2c -> -c·erfc(-u) (SymPy writes erfc(1 - x) as 2 - erfc(x - 1), which "
        "cancels to 0 where x - 1 < -6)",
        _erfc_reflect_query,
        _erfc_reflect_value,
        examples=(
            (2 - sympy.erfc(u), erfc(-u)),
            (c * sympy.erfc(u) - 2 * c, -c * erfc(-u)),
        ),
    ),
    Rewrite(
        "half_angle",
        "c·cos(u) - c -> -2c·sin²(u/2);  c·cos(u) + c -> 2c·cos²(u/2)",
        _half_angle_query,
        _half_angle_value,
        examples=(
            (1 - sympy.cos(u), 2 * sympy.sin(u / 2) ** 2),
            (c * sympy.cos(u) + c, 2 * c * sympy.cos(u / 2) ** 2),
        ),
    ),
    Rewrite(
        "hypot",
        "(a² + b²)^(k/2) -> hypot(a, b)^k, no overflow or underflow of the squares "
        "(hypot(c·u, b) = c·hypot(u, b/c) for a number c > 1)",
        _hypot_query,
        _hypot_value,
        examples=(
            (sympy.sqrt(u**2 + 4), hypot(u, 2)),
            (sympy.sqrt(u**2 + v**2), hypot(u, v)),
            ((u**2 + 1) ** sympy.Rational(-3, 2), hypot(u, 1) ** -3),
            # a factor > 1 taken out: 4u/hypot(2u, 1) was 0 for 2 from u = 2^1023
            (sympy.sqrt(4 * u**2 + 1), 2 * hypot(u, sympy.Rational(1, 2))),
        ),
    ),
    Rewrite(
        "conjugate",
        "p + q·R (R a square root) -> q·(2·max(r, 0) + (R² - r²)/(R + |r|)), r = p/q "
        "(halves in R + |r|, which overflows at |r| = 1e308); "
        "p + q/R -> (q + pR)/R likewise",
        _conjugate_query,
        _conjugate_value,
        examples=(
            (hypot(u, 1) - 1, u**2 / (hypot(u, 1) + 1)),
            (
                u + hypot(u, 2),
                2 * sympy.Max(u, 0) + 2 / (hypot(u, 2) / 2 + sympy.Abs(u) / 2),
            ),
            (
                u / hypot(u, 2) + 1,
                (2 * sympy.Max(u, 0) + 2 / (hypot(u, 2) / 2 + sympy.Abs(u) / 2)) / hypot(u, 2),
            ),
            (u / 2 + hypot(u, 2) / 2, sympy.Max(u, 0) + 1 / (hypot(u, 2) / 2 + sympy.Abs(u) / 2)),
        ),
    ),
    Rewrite(
        "piecewise_factor",
        "Piecewise((a·g, c₁), (b·g, c₂)) -> g·Piecewise((a, c₁), (b, c₂))",
        _piecewise_factor_query,
        _piecewise_factor_value,
        examples=(
            (
                sympy.Piecewise((u, u > 0), (u / 100, True)),
                u * sympy.Piecewise((1, u > 0), (sympy.Rational(1, 100), True)),
            ),
        ),
    ),
    Rewrite(
        "piecewise_sum",
        "Piecewise((a, c₁), (b, c₂)) + r -> Piecewise((a + r, c₁), (b + r, c₂)) where terms cancel",
        _piecewise_sum_query,
        _piecewise_sum_value,
        examples=(
            (
                sympy.Piecewise((u + 1, u > 0), (2 * u, True)) - u,
                sympy.Piecewise((1, u > 0), (u, True)),
            ),
        ),
    ),
    Rewrite(
        "sign_factors",
        "sign(a·b) -> sign(a)·sign(b), sign(b²) -> sign(b)², sign(f(w)) -> sign(w) for f "
        "odd and increasing, sign(log v) -> sign(v - 1), sign(c·exp(w) - c) -> sign(c)·sign(w)",
        _sign_query,
        _sign_value,
        examples=(
            (sympy.sign(u * v**2), sympy.sign(u) * sympy.sign(v) ** 2),
            (sympy.sign(sympy.log(sympy.cosh(u))), sympy.sign(u) ** 2),
            (sympy.sign(sympy.cos(u) - 1), -(sympy.sign(sympy.sin(u / 2)) ** 2)),
            (sympy.sign(expm1(u**3)), sympy.sign(u)),
        ),
    ),
    Rewrite(
        "common_cofactors",
        "g·a/b + g·c/d -> g·(ad + cb)/(bd) where the terms of ad + cb cancel exactly "
        "(u'² - u'²·u²/(u² + 1) -> u'²/(u² + 1))",
        _cofactor_query,
        _cofactor_value,
        examples=(
            (v**2 - v**2 * u**2 / (u**2 + 1), v**2 / (u**2 + 1)),
            (v / (u**2 + 1) - v / (u**2 + 2), v / ((u**2 + 1) * (u**2 + 2))),
        ),
    ),
    Rewrite(
        "exp_product",
        "exp(a)·exp(b) -> exp(a + b) (a derivative of exp(-(x²/2 + 7x²/20)²) expanded to "
        "exp(-x²/4)·exp(-7x³/20)·exp(-49x⁴/400), 0·inf·0 from x = -1e77)",
        _exp_product_query,
        _exp_product_value,
        examples=(
            (sympy.exp(-(u**2)) * sympy.exp(u**3) * v, v * sympy.exp(u**3 - u**2)),
            (sympy.exp(u**2) * sympy.exp(-v), sympy.exp(u**2 - v)),
        ),
    ),
    Rewrite(
        "rational_form",
        "rational function -> as given, factored or partial fractions, fewest cancelling sums",
        _rational_query,
        _rational_value,
        examples=((u / (v**2 - v), u / (v * (v - 1))), (2 * u - 2 * v, 2 * (u - v))),
    ),
)


# -- the driver -----------------------------------------------------------------------------


def optimize_traced(
    expr: sympy.Expr,
    rules: Sequence[Rewrite] = RULES,
    *,
    context: Context | None = None,
    max_passes: int = 8,
) -> tuple[sympy.Expr, tuple[str, ...]]:
    """`optimize`, also returning the names of the rules that fired, in order."""
    context = context or Context()
    fired: list[str] = []
    memo: dict[sympy.Basic, sympy.Basic] = {}

    def visit(node: sympy.Basic) -> sympy.Basic:
        if node in memo:
            return memo[node]
        if (
            node.is_Atom
            or isinstance(node, sympy.core.relational.Relational)
            and not node.args
            or not node.free_symbols  # a constant: the kernel evaluates it once, exactly
        ):
            memo[node] = node
            return node
        args = tuple(visit(a) for a in node.args)
        current = node.func(*args) if args != node.args else node
        limit = None
        for _ in range(max_passes):
            for rule in rules:
                if not isinstance(current, sympy.Basic) or not rule.query(current):
                    continue
                try:
                    replaced = rule.value(current, context)
                except (
                    sympy.PolynomialError,
                    sympy.polys.polyerrors.CoercionFailed,
                    NotImplementedError,
                    TypeError,
                    ValueError,
                    ZeroDivisionError,
                ):
                    replaced = None  # a rule that cannot handle this node declines it
                if replaced is None or replaced == current:
                    continue
                limit = limit or _growth_limit(current)
                if _size(replaced) > limit:
                    continue  # a form that keeps growing is no normal form: declined
                fired.append(rule.name)
                current = replaced  # its new parts are visited by the next pass
                break
            else:
                break
        memo[node] = current
        return current

    result = _tanh_ratios(signs_first(expr))
    limit = _growth_limit(result)
    kept: list[str] = []
    for _ in range(max_passes):
        memo.clear()
        fired.clear()
        new = visit(result)
        if new == result or _size(new) > limit:
            break
        result = new
        kept += fired
    return result, tuple(kept)


def _size(expr: sympy.Basic) -> int:
    """The number of nodes of ``expr``'s tree."""
    return sum(1 for _ in sympy.preorder_traversal(expr))


def _growth_limit(expr: sympy.Basic) -> int:
    """The largest size a rewritten ``expr`` may reach (the catalog's stable forms stay
    within it: log(cosh u), 7 nodes, becomes 45).  Rules map nodes to normal forms, so a
    form that grows past it is one rule feeding on its own output (a pass doubled
    ``sqrt(sqrt(x) + σ(x))``'s derivative each time); the driver stops there."""
    return 4 * _size(expr) + 48


def optimize(
    expr: sympy.Expr,
    rules: Sequence[Rewrite] = RULES,
    *,
    context: Context | None = None,
) -> sympy.Expr:
    """Apply ``rules`` bottom-up to ``expr`` until no rule changes anything.

    ``context.samples`` (probe values of the variables) lets `rational_form` choose
    between equivalent forms by their cancellation on those points.

    Examples
    --------
    >>> from symcalc.symbolic.functions import symbol
    >>> p, y = symbol("p"), symbol("y")
    >>> optimize(-y * sympy.log(p) - (1 - y) * sympy.log(1 - p))
    -y*log(p) - (1 - y)*log1p(-p)
    >>> optimize(sympy.exp(p) - 1)
    expm1(p)
    """
    return optimize_traced(expr, rules, context=context)[0]
