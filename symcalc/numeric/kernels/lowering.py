"""Pre-lowering: stable primitives rewritten into the pieces the code generator shares.

The rewrite pass (`symcalc.numeric.rewrites`) leaves σ, softplus, sech and logsumexp as
functions; here they become smaller internal functions (`_sigmoid_of`, `_exp_capped`,
...) that the graph builder turns into one node each, chosen per backend: the NumPy
backend counts passes over memory, the numba backend (one scalar loop, real branches)
takes the sign-split forms.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

import sympy

from ...symbolic.functions import sigmoid
from ..memo import remembered
from ..rewrites import erfc, expm1, hypot, log1p, logsumexp, softplus

__all__ = ["of_reciprocals", "pre_lower"]


class _Lowered(sympy.Function):
    """An internal lowering node of one argument: ``definition`` is its value as a
    formula, so a constant such as ``_sigmoid_pair(1)`` still evaluates to a number."""

    nargs = 1

    @staticmethod
    def definition(u: sympy.Expr) -> sympy.Expr:
        raise NotImplementedError

    def _eval_evalf(self, prec):
        return self.definition(self.args[0])._eval_evalf(prec)


class _sigmoid_of(_Lowered):  # noqa: N801 - internal lowering node
    """σ(u) as 1/(1 + exp(-u)), where exp may overflow to inf: 1/(1 + inf) = 0 exactly."""

    definition = staticmethod(lambda u: 1 / (1 + sympy.exp(-u)))


class _sigmoid_pair(_Lowered):  # noqa: N801 - internal lowering node
    """σ(u)·σ(-u) = 1/(2 + 2·cosh u): NumPy's SIMD cosh (within an ulp), inf -> 0 beyond 710."""

    definition = staticmethod(lambda u: 1 / (2 + 2 * sympy.cosh(u)))


class _log1p_small(_Lowered):  # noqa: N801 - internal lowering node
    """log1p(a) for a in [0, 1] (NumPy's SIMD ``log1p``, within an ulp)."""

    definition = staticmethod(lambda u: sympy.log(1 + u))


class _exp_capped(_Lowered):  # noqa: N801 - internal lowering node
    """exp(u), where it overflows the largest finite number instead of inf (`_exp_finite`)."""

    definition = staticmethod(lambda u: sympy.exp(u))


class _inv_one_plus(_Lowered):  # noqa: N801 - internal lowering node
    """1/(1 + a) for a >= 0."""

    definition = staticmethod(lambda u: 1 / (1 + u))


class _sigmoid_capped(_Lowered):  # noqa: N801 - internal lowering node
    """σ(u) as E/(1 + E) with E = `_exp_capped` (u), sharing 1 + E with σ(-u) = 1/(1 + E)."""

    definition = staticmethod(lambda u: 1 / (1 + sympy.exp(-u)))


class _sigmoid_split(_Lowered):  # noqa: N801 - internal lowering node
    """σ(u) for array backends where σ(-u) appears too: both from e = exp(-|u|) and
    r = 1/(1 + e), σ(|u|) = r and σ(-|u|) = e·r, picked by the sign of u (one exp, one
    division for the two; e never overflows)."""

    definition = staticmethod(lambda u: 1 / (1 + sympy.exp(-u)))


class _erfcx(_Lowered):  # noqa: N801 - internal lowering node
    """erfcx(u) = exp(u²)·erfc(u), the scaled complementary error function (array
    backends: scipy's and torch's erfcx, a continued fraction in JAX, which has none)."""

    definition = staticmethod(lambda u: sympy.exp(u**2) * sympy.erfc(u))


class _mish_slope(_Lowered):  # noqa: N801 - internal lowering node
    """d/du [u·tanh(softplus u)] = tanh(s) + 4u·σ(u)σ(2s)σ(-2s), s = softplus(u), for
    array backends: with e = exp(-|u|), tanh(s) = a/d and the second term 4u·f/d², so the
    whole is (a·d + 4u·f)/d² (`nodes.MishSlope`): one exp and one division, where
    the terms as written take two exps, a log1p, a tanh and two divisions."""

    definition = staticmethod(
        lambda u: (
            sympy.tanh(sympy.log(1 + sympy.exp(u)))
            + u
            * (1 - sympy.tanh(sympy.log(1 + sympy.exp(u))) ** 2)
            * sympy.exp(u)
            / (1 + sympy.exp(u))
        )
    )


class _exp_beside_erfc(sympy.Function):  # noqa: N801 - internal lowering node
    """exp(k·v²) = exp(-w²) where erfc(w) is computed too (gelu′'s Gaussian and Φ),
    arguments (v, w, k): in JAX's float64 code exp(-(w·w)), the exp that XLA's erfc(w)
    computes itself, so XLA computes one exp for the two; elsewhere exp((v·v)·k), where
    v·v may overflow to inf harmlessly (exp(-inf) = 0), so no graph node does
    (`nodes.ExpBesideErfc`)."""

    nargs = 3

    def _eval_evalf(self, prec):
        v, _, k = self.args
        return sympy.exp(k * v**2)._eval_evalf(prec)


class _exp_times(sympy.Function):  # noqa: N801 - internal lowering node
    """f·exp(u) for array backends, as (f·exp(u/2))·exp(u/2): finite wherever the value is
    (exp(x)/x at x = 710 is 3.1e305), inf of the sign of f beyond."""

    nargs = 2

    def _eval_evalf(self, prec):
        f, u = self.args
        return (f * sympy.exp(u))._eval_evalf(prec)


_RECIPROCALS = {
    sympy.cot: sympy.tan,
    sympy.sec: sympy.cos,
    sympy.csc: sympy.sin,
    sympy.coth: sympy.tanh,
    sympy.csch: sympy.sinh,
}
#: f(u) = g(1/u) on f's real domain (acot(0) = π/2 = atan(+inf), as SymPy has it).
_OF_RECIPROCALS = {
    sympy.acot: sympy.atan,
    sympy.asec: sympy.acos,
    sympy.acsc: sympy.asin,
    sympy.acoth: sympy.atanh,
    sympy.asech: sympy.acosh,
    sympy.acsch: sympy.asinh,
}


@remembered(maxsize=512)
def pre_lower(expr: sympy.Expr, backend: str = "numpy") -> sympy.Expr:
    """Replace σ, softplus, sech, logsumexp, ... by the pieces the code generator emits.

    The NumPy backend counts passes over memory: σ(u) and σ(-u) share one exponential
    (`_share_sigmoid_signs`) and softplus(u) is max(u, log1p(e^u)) with e^u kept finite.
    The numba backend (one scalar loop, real branches) gets the sign-split forms.  Array
    backends (JAX, PyTorch: one traced expression) share one exp(-|u|) between σ(u) and
    σ(-u) (`_sigmoid_split`).

    The answer is remembered (`symcalc.numeric.memo.remembered`, the 512 most recent): a
    kernel, its JAX, PyTorch and NumPy module exports and the exports' range checks
    pre-lower the same stable form again.
    """

    def lower_sigmoid(e):
        return _sigmoid_of(e.args[0])

    def lower_softplus(e):
        w = e.args[0]
        if w.could_extract_minus_sign():  # log σ(v) = -softplus(-v) = min(v, 0) - log1p(e^-|v|)
            return _log1p_small(sympy.exp(-sympy.Abs(w))) - _scaled(sympy.Min, -w)
        if backend != "numpy":
            return _scaled(sympy.Max, w) + _log1p_small(sympy.exp(-sympy.Abs(w)))
        # log1p(e^w) >= w, equal in floating point from w = 37 on; e^w capped, so never inf
        return sympy.Max(w, log1p(_exp_capped(w)))

    def lower_sech(e):
        if backend == "numpy":
            return e  # 1/cosh(w), cosh = inf giving 0: see the "sech" graph node
        w = e.args[0]
        t = sympy.exp(-sympy.Abs(w))
        return 2 * t / (1 + t**2)

    def lower_logsumexp(e):
        if backend == "array":
            return _logsumexp_halved(list(e.args))
        args = list(e.args)
        acc = args[0]
        for a in args[1:]:
            if acc == 0:
                acc = sympy.Max(a, 0) + _log1p_small(sympy.exp(-sympy.Abs(a)))
            else:
                # acc - a unflattened: max(z₂ - z₁, 0) + L - (z₃ - z₁) flattened is
                # z₁ + max(...) + L - z₃, which loses L next to z₁ = 1e16 (log 4 for log 3)
                gap = sympy.Add(acc, -a, evaluate=False) if a != 0 else acc
                acc = sympy.Max(acc, a) + _log1p_small(sympy.exp(-sympy.Abs(gap)))
        return acc

    def pair_query(e):
        if not isinstance(e, sympy.Mul):
            return False
        args = {f.as_base_exp()[0] for f in e.args if isinstance(f.as_base_exp()[0], sigmoid)}
        return any(sigmoid(-a.args[0]) in args for a in args)

    def pair_value(e):
        powers: dict[sympy.Basic, sympy.Expr] = {}
        for f in e.args:
            base, k = f.as_base_exp()
            powers[base] = powers.get(base, 0) + k
        out = sympy.S.One
        done = set()
        for base, k in powers.items():
            if base in done:
                continue
            partner = sigmoid(-base.args[0]) if isinstance(base, sigmoid) else None
            if (
                partner is not None
                and partner in powers
                and k.is_Integer
                and powers[partner].is_Integer
            ):
                common = min(k, powers[partner])
                w = base.args[0] if not base.args[0].could_extract_minus_sign() else -base.args[0]
                out *= (
                    _sigmoid_pair(w) ** common
                    * base ** (k - common)
                    * partner ** (powers[partner] - common)
                )
                done.update({base, partner})
            else:
                out *= base**k
                done.add(base)
        return out

    def symbolic(kind):
        return lambda e: isinstance(e, kind) and bool(e.free_symbols)

    out = _mish_slopes(expr) if backend in ("array", "jax") else expr
    out = out.replace(lambda e: pair_query(e) and bool(e.free_symbols), pair_value)
    out = out.replace(symbolic(logsumexp), lower_logsumexp)
    out = out.replace(symbolic(softplus), lower_softplus)
    out = out.replace(symbolic(sympy.sech), lower_sech)
    if backend == "numpy":
        out = _share_sigmoid_signs(out)
    elif backend != "numba":
        out = _split_sigmoid_signs(out)
    out = out.replace(symbolic(sigmoid), lower_sigmoid)
    for func, base in _RECIPROCALS.items():
        out = out.replace(lambda e, f=func: isinstance(e, f), lambda e, b=base: 1 / b(e.args[0]))
    out = of_reciprocals(_multiple_angles(out))
    if backend in ("array", "jax"):
        out = _bounded_factors_inside(_scaled_exponential_quotients(_hypot_quotients(out)))
        out = _scaled_erfc(_far_rationals(out))
    if backend == "array":
        out = _tame_growth(_tame_logs(_nested_polynomials(_double_angles(out))))
        return _exps_beside_erfc(_variable_last(_powers_into_branches(out)))
    if backend == "jax":  # kernel(backend="jax") recomputes inf and NaN elements, not 0s
        out = _tame_growth(_double_angles(out))
        return _exps_beside_erfc(_variable_last(_powers_into_branches(out)))
    return _tame_logs(out) if backend == "numpy" else out


def _mish_slope_partner(u: sympy.Expr) -> sympy.Expr:
    """The term that, added to tanh(softplus(u)), makes mish′: 4u·σ(u)σ(2s)σ(-2s)."""
    s = softplus(u)
    return 4 * u * sigmoid(u) * sigmoid(2 * s) * sigmoid(-2 * s)


def _mish_slopes(expr: sympy.Expr) -> sympy.Expr:
    """tanh(softplus(u)) + 4u·σ(u)σ(2·softplus u)σ(-2·softplus u), mish′ as derived, as
    `_mish_slope` (u): for array backends, one exp and one division.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _mish_slopes(sympy.tanh(softplus(x)) + _mish_slope_partner(x) + x)
    x + _mish_slope(x)
    """

    def query(e: sympy.Basic) -> bool:
        return isinstance(e, sympy.Add) and any(_tanh_softplus(t) for t in e.args)

    def value(e: sympy.Add) -> sympy.Expr:
        terms = list(e.args)
        for t in e.args:
            if _tanh_softplus(t) and t in terms:
                u = t.args[0].args[0]
                partner = _mish_slope_partner(u)
                if partner in terms:
                    terms.remove(t)
                    terms.remove(partner)
                    terms.append(_mish_slope(u))
        return sympy.Add(*terms)

    return expr.replace(query, value)


def _tanh_softplus(e: sympy.Basic) -> bool:
    return isinstance(e, sympy.tanh) and isinstance(e.args[0], softplus) and bool(e.free_symbols)


def _exps_beside_erfc(expr: sympy.Expr) -> sympy.Expr:
    """exp(k·v²) = exp(-w²) for the argument w of an erfc in ``expr``, k < 0 a number,
    as `_exp_beside_erfc` (v, w, k): gelu′'s exp(-x²/2) beside erfc(-x/√2).

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _exps_beside_erfc(x * sympy.exp(-(x**2) / 2) + sympy.erfc(x / sympy.sqrt(2)))
    x*_exp_beside_erfc(x, sqrt(2)*x/2, -1/2) + erfc(sqrt(2)*x/2)
    """
    arguments = {e.args[0] for e in sympy.preorder_traversal(expr) if _is_erfc(e)}
    if not arguments:
        return expr

    def parts(e: sympy.Basic) -> tuple[sympy.Expr, sympy.Expr, sympy.Expr] | None:
        if not (isinstance(e, sympy.exp) and e.free_symbols):
            return None
        k, square = e.args[0].as_coeff_Mul()
        if not (k.is_Number and k < 0 and square.is_Pow and square.exp == 2):
            return None
        v = square.base
        w = next((w for w in arguments if sympy.expand(k * v**2 + w**2) == 0), None)
        return None if w is None else (v, w, k)

    return expr.replace(lambda e: parts(e) is not None, lambda e: _exp_beside_erfc(*parts(e)))


def _linear_combinations(expr: sympy.Expr) -> list[sympy.Expr]:
    """Sums in ``expr`` linear in two or more variables (x - y, p - 2y + 1), shortest first."""
    found = set()
    for node in sympy.preorder_traversal(expr):
        if isinstance(node, sympy.Add) and len(node.free_symbols) >= 2:
            try:
                if sympy.Poly(node, *sorted(node.free_symbols, key=str)).total_degree() == 1:
                    found.add(node)
            except sympy.PolynomialError:
                continue

    def size(e: sympy.Expr) -> tuple:  # x - y before 2y - 2x, which overflows sooner
        return (len(e.args), sum(abs(c) for c in e.as_coefficients_dict().values()))

    return sorted(found, key=lambda e: (*size(e), sympy.default_sort_key(e)))


@functools.lru_cache(maxsize=1024)
def _far_rational(node: sympy.Expr) -> sympy.Expr | None:
    """`_far_rationals`' branch of one node, or None.  Remembered: the levels of one
    formula and its exports (JAX, PyTorch, modules) lower the same nodes again, and each
    try costs a `sympy.cancel` per linear combination."""
    from ..cancellation import _far_radius

    t = sympy.Dummy("t", real=True)
    if len(node.free_symbols) < 2 or not isinstance(node, (sympy.Mul, sympy.Pow, sympy.Add)):
        return None
    for d in _linear_combinations(node):
        v = min(d.free_symbols, key=str)  # d = c·v + rest: v = (t - rest)/c
        c = d.coeff(v)
        r = sympy.cancel(node.xreplace({v: (t - (d - c * v)) / c}))
        if r.free_symbols != {t} or not r.is_rational_function(t) or r.is_polynomial(t):
            continue
        p, q = sympy.fraction(r)
        try:
            p_poly, q_poly = sympy.Poly(p, t), sympy.Poly(q, t)
        except sympy.PolynomialError:
            continue
        m, n = p_poly.degree(), q_poly.degree()
        if n < 2:
            continue  # a denominator of degree 1 overflows only where the value is 0
        top = sum(c * t**-k for k, c in enumerate(p_poly.all_coeffs()))
        bottom = sum(c * t**-k for k, c in enumerate(q_poly.all_coeffs()))
        form = t ** (m - n) * top / bottom
        radius = _far_radius(form, t)
        if radius >= 2.0**60:
            continue
        return sympy.Piecewise(
            (form.xreplace({t: d}), sympy.Abs(d) > sympy.Float(radius)), (node, True)
        )
    return None


def _far_rationals(expr: sympy.Expr) -> sympy.Expr:
    """A rational function R(d) of one linear combination d of several variables
    (d = x - y), with a far branch in powers of 1/d, for array backends: R's denominator
    overflows before R does, and the quotient was 0 or NaN where the value is an ordinary
    number: d/dx log(1 + (x - y)²) = 2(x - y)/((x - y)² + 1) at x - y = 1e200 is 2e-200,
    and the second derivative was NaN (inf/inf) in JAX.  The NumPy kernels recompute
    such elements in extended range, array backends have none; one variable's rational
    functions get their far branches with the stable form
    (`symcalc.numeric.cancellation`).  The branch starts where no polynomial in 1/d of
    it cancels (`_far_radius`).

    Examples
    --------
    >>> x, y = sympy.symbols("x y", real=True)
    >>> _far_rationals(2 * (x - y) / ((x - y) ** 2 + 1)).args[0]
    (2/((1 + (x - y)**(-2))*(x - y)), Abs(x - y) > 1.0)
    >>> _far_rationals(x / (x**2 + 1))  # one variable: the stable form's business
    x/(x**2 + 1)
    """

    def walk(node: sympy.Expr) -> sympy.Expr:
        if not node.args or len(node.free_symbols) < 2:
            return node
        branched = _far_rational(node)
        if branched is not None:
            return branched
        return _rebuilt(node, [walk(a) for a in node.args])

    return walk(expr) if len(expr.free_symbols) >= 2 else expr


def _bottom_up(expr: sympy.Expr, split: Callable[[sympy.Expr], sympy.Expr | None]) -> sympy.Expr:
    """``expr`` with ``split`` applied to each node with a variable, children first, where
    it gives a form (None: the node stays)."""

    def walk(e: sympy.Expr) -> sympy.Expr:
        if not e.args or not e.free_symbols:
            return e
        e = _rebuilt(e, [walk(a) for a in e.args])
        out = split(e)
        return e if out is None else out

    return walk(expr)


def _rebuilt(node: sympy.Basic, args: list) -> sympy.Basic:
    """``node`` with ``args``; ``node`` itself where none changed (an unevaluated sum,
    logsumexp's gaps, stays unflattened)."""
    if all(new is old for new, old in zip(args, node.args, strict=True)):
        return node
    return node.func(*args)


def _is_erfc(e: sympy.Basic) -> bool:
    return isinstance(e, (sympy.erfc, erfc)) and bool(e.free_symbols)


def _erfc_argument(e: sympy.Basic) -> sympy.Expr | None:
    """u where ``e`` is erfc(u), or 2 - erfc(-u) (SymPy's own spelling of erfc(u) for an
    argument with a minus sign: erfc(1 - x) is 2 - erfc(x - 1)); else None."""
    if _is_erfc(e):
        return e.args[0]
    if isinstance(e, sympy.Add) and len(e.args) == 2 and sympy.Integer(2) in e.args:
        (other,) = [a for a in e.args if a != 2]
        if _is_erfc(-other):
            return -(-other).args[0]
    return None


#: From here on log erfc(u) is log erfcx(u) - u², two terms of one sign; below, down
#: to -0.5, it is log1p(-erf(u)) (erfc(u) rounds to 1 near 0: log1p(-erf u) = -1.13e-300).
_ERFC_LOG_SPLIT = 0.5


def _scaled_erfc(expr: sympy.Expr) -> sympy.Expr:
    """erfc(u) in a quotient, a power, a log or beside an exponential, written with
    erfcx(u) = exp(u²)·erfc(u) where u > 0, for array backends: erfc(u)ᵏ·exp(w) is
    erfcx(u)ᵏ·exp(w - k·u²), one exponential of the merged exponent, and log erfc(u)
    is log erfcx(u) - u².  erfc underflows from u = 26.6 (27.3 below the subnormals)
    where exp(u²)·erfc(u) (0.0211 at u = 26.67), exp(-u²)/erfc(u) and log erfc(u)
    (-749.2 at u = 27.3) are ordinary numbers; as written they were 0, inf or NaN.
    The NumPy kernels recompute such elements in extended range; array backends have
    none.  A lone erfc(u), whose underflow is its value's, is left as it is.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _scaled_erfc(sympy.exp(x**2) * sympy.erfc(x))
    Piecewise((_erfcx(x), x > 0), (exp(x**2)*erfc(x), True))
    >>> _scaled_erfc(sympy.erfc(x) + x), _scaled_erfc(sympy.log(sympy.erfc(x))).args[0]
    (x + erfc(x), (-x**2 + log(_erfcx(x)), x > 0.5))
    """

    def scale(e: sympy.Expr) -> sympy.Expr:
        if not e.args or not e.free_symbols:
            return e
        if isinstance(e, sympy.log) and _is_erfc(e.args[0]):
            u = e.args[0].args[0]
            v = scale(u)
            far = (sympy.log(_erfcx(v)) - v**2, u > _ERFC_LOG_SPLIT)
            near = (log1p(-sympy.erf(v)), u > -_ERFC_LOG_SPLIT)
            return sympy.Piecewise(far, near, (sympy.log(e.args[0].func(v)), True))
        if isinstance(e, (sympy.Mul, sympy.Pow)):
            factors = sympy.Mul.make_args(e)
            exps = [f for f in factors if isinstance(f, sympy.exp)]
            for f in factors:
                base, k = f.as_base_exp()
                u = _erfc_argument(base)
                if u is None or not k.is_Number or (k == 1 and not exps):
                    continue
                w = sympy.expand(sympy.Add(*(g.args[0] for g in exps)) - k * u**2)
                rest = [scale(g) for g in factors if g is not f and g not in exps]
                scaled = sympy.Mul(*rest, _erfcx(scale(u)) ** k, sympy.exp(w))
                old = e.func(*(a if a is f else scale(a) for a in e.args))
                return sympy.Piecewise((scaled, u > 0), (old, True))
        return _rebuilt(e, [scale(a) for a in e.args])

    return scale(expr) if expr.has(sympy.erfc, erfc) else expr


def _multiple_angles(expr: sympy.Expr) -> sympy.Expr:
    """sin(k·u) and cos(k·u), k a whole number that is not a power of two, by the angle
    sum over p·u and (k - p)·u, p the largest power of two below k: p·u is exact where
    k·u is rounded, and a rounded argument past 2^53 is a wrong phase (x·cos²x/(2 + sin x)″
    holds sin 3x and cos 3x: it was 1.6 % off at x = 1e36, 50 % at 1e100, in every
    backend).  Each product is within a few ulps of its value at the same u.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _multiple_angles(sympy.sin(3 * x))
    sin(x)*cos(2*x) + sin(2*x)*cos(x)
    >>> _multiple_angles(sympy.cos(3 * x))
    -sin(x)*sin(2*x) + cos(x)*cos(2*x)
    """

    def multiple(e: sympy.Basic) -> bool:
        if not isinstance(e, (sympy.sin, sympy.cos)) or not e.free_symbols:
            return False
        k = e.args[0].as_coeff_Mul()[0]
        return k.is_Integer and 2 < k <= 1024 and k & (k - 1) != 0

    def summed(e: sympy.Expr) -> sympy.Expr:
        k, u = e.args[0].as_coeff_Mul()
        p = 1 << (int(k).bit_length() - 1)
        a, b = sympy.Mul(p, u), sympy.Mul(k - p, u)
        sa, ca = sympy.sin(a), sympy.cos(a)
        sb, cb = _multiple_angles(sympy.sin(b)), _multiple_angles(sympy.cos(b))
        if isinstance(e, sympy.sin):
            return sa * cb + ca * sb
        return ca * cb - sa * sb

    return expr.replace(multiple, summed)


def _bounded(f: sympy.Expr) -> bool:
    """sin(u) or cos(u) of a variable argument, or a positive whole power of one."""
    base, k = f.as_base_exp()
    return (
        isinstance(base, (sympy.sin, sympy.cos))
        and bool(base.free_symbols)
        and k.is_Integer
        and k > 0
    )


def _hypot_quotients(expr: sympy.Expr) -> sympy.Expr:
    """P(v)/hypot(v, c), P a polynomial of degree 2 or more, as (P(v)/v)·sign(v)/hypot(1, c/v)
    beyond |v| = 1, for array backends: v² in P overflows from |v| = 1.3e154 where the
    value (about v^(d-1)) does not ((2x·√(9 + x²))′ = 2(2x² + 9)/hypot(x, 3) was inf from
    x = 1.3e154 for 4x).

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _hypot_quotients((2 * x**2 + 9) / hypot(x, 3)).args[0]
    ((2*x + 9/x)*sign(x)/hypot(1, 3/x), Abs(x) > 1)
    """

    def parts(e: sympy.Basic):
        if not isinstance(e, sympy.Mul) or len(e.free_symbols) != 1:
            return None
        (v,) = e.free_symbols
        roots = [
            f
            for f in e.args
            if isinstance(f, sympy.Pow)
            and f.exp == -1
            and isinstance(f.base, hypot)
            and f.base.args[0] == v
            and f.base.args[1].is_number
        ]
        sums = [f for f in e.args if isinstance(f, sympy.Add)]
        if len(roots) != 1 or len(sums) != 1:
            return None
        rest = [f for f in e.args if f is not roots[0] and f is not sums[0]]
        if any(f.free_symbols for f in rest):
            return None
        p = sums[0]
        if not p.is_polynomial(v) or sympy.degree(p, v) < 2:
            return None
        return v, roots[0].base, p, sympy.Mul(*rest)

    def rewritten(e: sympy.Mul) -> sympy.Expr:
        v, root, p, c = parts(e)
        # v/hypot(v, a) is sign(v)/hypot(1, a/v): no factor as large as v² is formed
        far = c * sympy.expand(p / v) * sympy.sign(v) / hypot(1, root.args[1] / v)
        return sympy.Piecewise((far, sympy.Abs(v) > 1), (e, True))

    return expr.replace(lambda e: parts(e) is not None, rewritten)


def _grows_like_a_power(term: sympy.Expr) -> bool:
    """Whether a product term has a factor x or x^k, k > 0."""
    return any(
        f.is_Symbol or isinstance(f, sympy.Pow) and f.base.is_Symbol and f.exp.is_positive
        for f in sympy.Mul.make_args(term)
    )


def _bounded_factors_inside(expr: sympy.Expr) -> sympy.Expr:
    """(Σ tᵢ)·b, b a product of sines and cosines, as Σ tᵢ·b where a term grows with its
    variable, for array backends: a term may overflow where the product does not
    ((x·sin²x)′ = (2x·cos x + sin x)·sin x was inf at x = 1.79e308 for 1.558e308).

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _bounded_factors_inside((2 * x * sympy.cos(x) + sympy.sin(x)) * sympy.sin(x))
    2*x*sin(x)*cos(x) + sin(x)**2
    >>> _bounded_factors_inside((x + 1) * sympy.sin(x))
    (x + 1)*sin(x)
    """

    def query(e: sympy.Basic) -> bool:
        if not isinstance(e, sympy.Mul) or not e.free_symbols:
            return False
        sums = [f for f in e.args if isinstance(f, sympy.Add) and f.free_symbols]
        if len(sums) != 1 or len(sums[0].args) > 6 or not any(map(_bounded, e.args)):
            return False
        return any(map(_grows_like_a_power, sums[0].args))

    def inside(e: sympy.Mul) -> sympy.Expr:
        (total,) = [f for f in e.args if isinstance(f, sympy.Add) and f.free_symbols]
        bounded = sympy.Mul(*(f for f in e.args if _bounded(f)))
        rest = sympy.Mul(*(f for f in e.args if f is not total and not _bounded(f)))
        # polynomial terms stay one sum: x + 1 next to -1 cancels exactly, x·b + b would not
        exact = sympy.Add(*(t for t in total.args if t.is_polynomial()))
        others = [t for t in total.args if not t.is_polynomial()]
        if not others or not any(map(_grows_like_a_power, others)):
            return e
        return rest * sympy.Add(exact * bounded, *(t * bounded for t in others))

    return expr.replace(query, inside)


def _exponential_rate(term: sympy.Expr, x: sympy.Symbol) -> sympy.Expr | None:
    """c for a product term holding exp(c·x + b) factors (their rates summed; 0 for
    none), None where an exponential's argument is not linear in x with a rational c."""
    rate = sympy.S.Zero
    for f in sympy.Mul.make_args(term):
        base, k = (f.base, f.exp) if isinstance(f, sympy.Pow) else (f, sympy.S.One)
        if isinstance(base, sympy.exp) and base.free_symbols:
            u = sympy.expand(base.args[0])
            c = u.coeff(x)
            if not c.is_Rational or (u - c * x).has(x) or not k.is_Integer:
                return None
            rate += c * k
        elif f.has(sympy.exp):
            return None
    return rate


def _reciprocal_sum(f: sympy.Expr) -> sympy.Expr | None:
    """D for a factor 1/D, or for Piecewise(..., (1/D, True)) (a far branch of 1/D), D a
    sum holding exponentials."""
    if isinstance(f, sympy.Piecewise):
        f, condition = f.args[-1]
        if condition != sympy.true:
            return None
    if isinstance(f, sympy.Pow) and f.exp == -1 and isinstance(f.base, sympy.Add):
        return f.base if f.base.has(sympy.exp) else None
    return None


def _scaled_exponential_quotients(expr: sympy.Expr) -> sympy.Expr:
    """N/D, N and D sums of terms c·p(x)·exp(r·x), with both divided by exp(m·x), m the
    largest rate in D for x > 0 (the smallest for x < 0), for array backends: N and D
    overflow where N/D does not, and 1/inf is 0 (softsign(softsign(silu(x/3)))″ was 0
    from x = 290 in float64 and from x = 28 in float32, for -6e-8 and -6e-5).  The NumPy
    kernels recompute such elements in extended range; array backends have none.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _scaled_exponential_quotients(x * sympy.exp(2 * x) / (1 + sympy.exp(2 * x)))
    Piecewise((x/(1 + exp(-2*x)), x > 0), (x*exp(2*x)/(exp(2*x) + 1), True))
    >>> _scaled_exponential_quotients(sympy.exp(x) / (sympy.exp(2 * x) + sympy.exp(-x)))
    Piecewise((exp(-x)/(1 + exp(-3*x)), x >= 0), (exp(2*x)/(exp(3*x) + 1), True))
    """

    def query(e: sympy.Basic) -> bool:
        if not isinstance(e, sympy.Mul) or len(e.free_symbols) != 1:
            return False
        return any(_reciprocal_sum(f) is not None for f in e.args)

    def scaled(e: sympy.Mul) -> sympy.Expr:
        (x,) = e.free_symbols
        f = next(f for f in e.args if _reciprocal_sum(f) is not None)
        d = _reciprocal_sum(f)
        rest = sympy.Mul(*(g for g in e.args if g is not f))
        rates = [_exponential_rate(t, x) for t in sympy.Add.make_args(d)]
        if any(r is None for r in rates) or not rest.has(sympy.exp):
            return e

        def times(a: sympy.Expr, m: sympy.Expr) -> sympy.Expr:  # each term's exps as one
            a = sympy.expand(a * sympy.exp(-m * x), power_exp=False, power_base=False, log=False)
            return sympy.Add(*(sympy.powsimp(t, combine="exp") for t in sympy.Add.make_args(a)))

        def divided(m: sympy.Expr) -> sympy.Expr:
            return times(rest, m) / times(d, m)

        top, bottom = max(rates), min(rates)
        if top <= 0 and bottom >= 0:
            return e
        if top > 0 and bottom < 0:  # at 0 either form is the formula
            pieces = [(divided(top), x >= 0), (divided(bottom), True)]
        elif top > 0:
            pieces = [(divided(top), x > 0), (e, True)]
        else:
            pieces = [(divided(bottom), x < 0), (e, True)]
        outer = [(rest * v, c) for v, c in f.args[:-1]] if isinstance(f, sympy.Piecewise) else []
        return sympy.Piecewise(*outer, *pieces)

    return expr.replace(query, scaled)


#: Beyond this |u|, cos(2u) is (cos u - sin u)·(cos u + sin u): 2u overflows float32
#: from 2^127 (float64 from 2^1023), and a finite u is a whole number of periods' mess.
_DOUBLE_ANGLE = 2.0**126


def _double_angles(expr: sympy.Expr) -> sympy.Expr:
    """sin(2u) and cos(2u) without 2u, for array backends: 2u overflows where u does
    not, and sin(inf) is NaN (x/(2 + cos x)'' holds sin 2x and cos 2x, NaN at x = 1e308
    for -4.2e307).  sin(2u) is 2·sin u·cos u, a few ulps relative everywhere (each
    factor is within an ulp of its value at the same u); cos(2u) is so rewritten only
    beyond `_DOUBLE_ANGLE`, where (cos u - sin u)·(cos u + sin u) loses relative
    accuracy next to its zeros but an input's own rounding spans many periods.  The
    NumPy kernels recompute such elements in extended range; array backends have none.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _double_angles(sympy.sin(2 * x))
    2*sin(x)*cos(x)
    >>> _double_angles(sympy.cos(2 * x)).args[1]
    ((-sin(x) + cos(x))*(sin(x) + cos(x)), True)
    """

    def double(e: sympy.Expr) -> bool:
        return isinstance(e, (sympy.sin, sympy.cos)) and e.args[0].as_coeff_Mul()[0] == 2

    def halved(e: sympy.Expr) -> sympy.Expr:
        u = e.args[0] / 2
        s, c = sympy.sin(u), sympy.cos(u)
        if isinstance(e, sympy.sin):
            return 2 * s * c
        near = (e.func(2 * u), sympy.Abs(u) <= sympy.Float(_DOUBLE_ANGLE))
        return sympy.Piecewise(near, ((c - s) * (c + s), True))

    return expr.replace(lambda e: double(e) and bool(e.free_symbols), halved)


def _rational_branches(e: sympy.Basic, v: sympy.Symbol) -> bool:
    """Whether ``e`` is a Piecewise of v whose values are rational functions of v, not
    all polynomials (a far branch in powers of 1/v and its near form)."""
    if not isinstance(e, sympy.Piecewise) or e.free_symbols != {v}:
        return False
    values = [value for value, _ in e.args]
    try:
        rational = all(value.is_rational_function(v) for value in values)
    except (TypeError, ValueError):
        return False
    return rational and not all(value.is_polynomial(v) for value in values)


def _powers_into_branches(expr: sympy.Expr) -> sympy.Expr:
    """v^k·R and (Σ cᵢ·v^kᵢ·gᵢ)·R, R a Piecewise of rational functions of v (a far
    branch 1/(v¹¹·(1 + ...)) and its near form), with each v^k taken into R's branches,
    for array backends: v^k/v¹¹ is v^(k - 11), and v¹¹ alone overflows float32 from
    v = 3.2e3 (erf(x)/(1 + x⁴)'' was 0 in float32 from 3.2e3 to 1e6 for 2e-23 at 1e4).
    A sum that is a polynomial of v is left as it is.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> r = sympy.Piecewise((x / (x**4 + 1), sympy.Abs(x) <= 1), (1 / (x**3 * (1 + x**-4)), True))
    >>> _powers_into_branches(x**2 * r)
    Piecewise((x**3/(x**4 + 1), Abs(x) <= 1), (1/(x*(1 + x**(-4))), True))
    >>> sum_times_r = _powers_into_branches((x**2 * sympy.erf(x) + sympy.sin(x)) * r)
    >>> sum_times_r.has(1 / (x * (1 + x**-4)), 1 / (x**3 * (1 + x**-4)))
    True
    """

    def into(r: sympy.Piecewise, k: int, v: sympy.Symbol) -> sympy.Piecewise:
        return sympy.Piecewise(*((v**k * value, cond) for value, cond in r.args))

    def split(e: sympy.Expr) -> sympy.Expr | None:
        if not isinstance(e, sympy.Mul) or len(e.free_symbols) != 1:
            return None
        (v,) = e.free_symbols
        factors = list(sympy.Mul.make_args(e))
        branches = [f for f in factors if _rational_branches(f, v)]
        if len(branches) != 1:
            return None
        (r,) = branches
        others = [f for f in factors if f is not r]
        k = sum(_variable_power(f, v) for f in others if f.is_Symbol or f.is_Pow)
        if k:
            rest = [f for f in others if not _variable_power(f, v)]
            return sympy.Mul(*rest, into(r, k, v))
        sums = [f for f in others if isinstance(f, sympy.Add) and not f.is_polynomial(v)]
        if len(sums) != 1:
            return None
        (total,) = sums
        if not any(_variable_power(t, v) for t in total.args):
            return None
        rest = sympy.Mul(*(f for f in others if f is not total))
        terms = []
        for t in total.args:
            power = _variable_power(t, v)
            terms.append(t / v**power * into(r, power, v) if power else t * r)
        return rest * sympy.Add(*terms)

    return _bottom_up(expr, split)


def _variable_power(term: sympy.Expr, v: sympy.Symbol) -> int:
    """k where ``term`` has the factor v^k (k >= 1), else 0."""
    for f in sympy.Mul.make_args(term):
        if f == v:
            return 1
        if f.is_Pow and f.base == v and f.exp.is_Integer and f.exp > 0:
            return int(f.exp)
    return 0


def _variable_last(expr: sympy.Expr) -> sympy.Expr:
    """S·R, S a sum with terms v^k·g (g not a polynomial) and R a quotient by a
    non-polynomial of v, written v^k·(A·R) + B·R (S = v^k·A + B), for array backends:
    the product node then divides the bounded A by a bounded denominator before v^k
    multiplies (`symcalc.numeric.kernels.nodes.Mul`).  As written, S overflows where the
    value does not: x/(2 + cos x)'' is (2x·cos x - x·cos 2x/2 + 3x/2 + 4 sin x +
    sin 2x)/(cos x + 2)³, -1.8e308 at x = 1.8e308, and was inf - inf = NaN.  The NumPy
    kernels recompute such elements in extended range; array backends have none.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _variable_last((x * sympy.cos(x) + 3 * x + sympy.sin(x)) / (sympy.cos(x) + 2))
    x*(cos(x) + 3)/(cos(x) + 2) + sin(x)/(cos(x) + 2)
    >>> _variable_last((x**2 + x) / (sympy.cos(x) + 2))  # a polynomial: as it is
    (x**2 + x)/(cos(x) + 2)
    """

    def split(e: sympy.Expr) -> sympy.Expr | None:
        if not isinstance(e, sympy.Mul) or len(e.free_symbols) != 1:
            return None
        (v,) = e.free_symbols
        factors = sympy.Mul.make_args(e)
        sums = [f for f in factors if isinstance(f, sympy.Add)]
        quotient = any(
            f.is_Pow
            and f.exp.is_negative
            and f.base.has(v)
            and not f.base.is_polynomial(v)
            and not f.base.has(sympy.Piecewise)
            for f in factors
        )
        if len(sums) != 1 or not quotient:
            return None
        (s,) = sums
        powers = [_variable_power(t, v) for t in s.args]
        k = min((p for p in powers if p), default=0)
        if not k:
            return None
        a = sympy.Add(*(t / v**k for t, p in zip(s.args, powers, strict=True) if p))
        b = sympy.Add(*(t for t, p in zip(s.args, powers, strict=True) if not p))
        if a.is_polynomial(v):
            return None
        rest = sympy.Mul(*(f for f in factors if f is not s))
        return v**k * a * rest + b * rest

    return _bottom_up(expr, split)


def _nested_polynomials(expr: sympy.Expr) -> sympy.Expr:
    """Sums of two or more monomials c·x^k of one variable, of degree 2 or more, in
    Horner's form, for array backends: x³ - x² is x²·(x - 1).  Summed as written, two
    terms that overflow with opposite signs give inf - inf = NaN where the value is ±inf
    (x³ - x² at x = 1e200; 3x² + 6x - 4 at x = -1e308, where 6x overflows too) or
    finite.  Horner's form adds only numbers to a growing partial value, so it is ±inf,
    never NaN, wherever a term overflows, and its rounding error has the same bound as
    the sum's.  The NumPy kernels recompute such elements in extended range; array
    backends have none.  Sums of other forms (factors such as (x - 1)³ + x, which
    Horner would multiply out) are left as they are.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> _nested_polynomials(x**4 - 3 * x**3 + x)
    x*(x**2*(x - 3) + 1)
    >>> _nested_polynomials(3 * x**2 + 6 * x - 4), _nested_polynomials(x**2 + 1)
    (x*(3*x + 6) - 4, x**2 + 1)
    """

    def monomial_sum(e: sympy.Basic) -> bool:
        if not isinstance(e, sympy.Add) or len(e.free_symbols) != 1:
            return False
        (x,) = e.free_symbols
        degrees = []
        for term in e.args:
            c, m = term.as_coeff_Mul()
            if m is sympy.S.One:
                continue
            base, k = m.as_base_exp()
            if not c.is_Rational or base != x or not (k.is_Integer and k > 0):
                return False
            degrees.append(int(k))
        return len(degrees) >= 2 and max(degrees) >= 2

    return expr.replace(monomial_sum, lambda e: sympy.horner(e, *e.free_symbols))


def _logsumexp_halved(args: list[sympy.Expr]) -> sympy.Expr:
    """logsumexp(args) as 2·H, H computed from the halves aₖ/2, for array backends.

    A difference of arguments (categorical cross-entropy's logit gaps z₁ - z₂) overflows
    where the value does too, but a weight in front of it need not: y·logsumexp(z₁ - z₂,
    0) at z = (1e308, -1e308) is 0 for y = 0 (inf·0 = NaN as written) and 6e307 for
    y = 0.3.  The halves never overflow, and H meets the weight first (2·y·H); the NumPy
    kernels recompute such elements in extended range, array backends have none.  In
    the normal range each step is the plain form scaled by exactly 2: same roundings.

    Examples
    --------
    >>> a, b = sympy.symbols("a b")
    >>> _logsumexp_halved([0, a - b])
    2*(_log1p_small(exp(-2*Abs(a/2 - b/2)))/2 + Max(0, a/2 - b/2))
    """
    halves = [a / 2 for a in args]
    acc = halves[0]
    for h in halves[1:]:
        if acc == 0:
            acc = sympy.Max(h, 0) + _log1p_small(sympy.exp(-2 * sympy.Abs(h))) / 2
        else:
            # acc - h unflattened, as `pre_lower` keeps it (L lost next to z₁ = 1e16)
            gap = sympy.Add(acc, -h, evaluate=False) if h != 0 else acc
            acc = sympy.Max(acc, h) + _log1p_small(sympy.exp(-2 * sympy.Abs(gap))) / 2
    # unevaluated: 2·(M + L/2) would distribute into 2·M + L, which overflows before a
    # weight meets it (y·2·H keeps it out: SymPy distributes a number over a lone sum)
    return sympy.Mul(2, acc, evaluate=False)


def _scaled(extremum: type[sympy.Function], w: sympy.Expr) -> sympy.Expr:
    """max(w, 0) or min(w, 0) with a positive coefficient of ``w`` outside: c·max(v, 0).
    The coefficient then meets the others of the expression (softplus(βx)/β is
    max(x, 0) + log1p(e^-β|x|)/β), so c·v is never formed: it overflows where the value
    does not (β = 10 at x = 1e308; the NumPy kernels recompute such elements in extended
    range, array backends have none).

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> _scaled(sympy.Max, 10 * x) / 10, _scaled(sympy.Min, -2 * x)
    (Max(0, x), Min(0, -2*x))
    """
    c, v = w.as_coeff_Mul()
    if c.is_positive and c != 1:
        return c * extremum(v, 0)
    return extremum(w, 0)


def of_reciprocals(expr: sympy.Expr) -> sympy.Expr:
    """acot(u), asec(u), ... written atan(1/u), acos(1/u), ...: real formulas (SymPy's
    NumPy printer writes acot with complex numbers).

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> of_reciprocals(sympy.acot(x) + sympy.asech(2 * x))
    acosh(1/(2*x)) + atan(1/x)
    """
    for func, base in _OF_RECIPROCALS.items():
        expr = expr.replace(lambda e, f=func: isinstance(e, f), lambda e, b=base: b(1 / e.args[0]))
    return expr


def _share_sigmoid_signs(expr: sympy.Expr) -> sympy.Expr:
    """σ(u) and σ(-u) both present: one exponential, E = exp(u) (finite), serves both.

    σ(-u) = 1/(1 + E) and σ(u) = E/(1 + E) = E·σ(-u): the exact formulas (a few ulps)
    wherever exp(u) is finite.  Where it overflows (u > 709.78; float32 88.72) E is the
    largest finite number: σ(u) rounds to 1 and σ(-u) is 1/E = 5.6e-309 (float32 2.9e-39)
    where the truth is smaller still, an absolute error inside the underflow allowance.
    """
    args = {s.args[0] for s in expr.atoms(sigmoid) if s.free_symbols}
    pairs = {
        min(a, -a, key=lambda e: (e.could_extract_minus_sign(), sympy.default_sort_key(e)))
        for a in args
        if -a in args
    }
    if not pairs:
        return expr
    mapping: dict[sympy.Basic, sympy.Expr] = {}
    for u in pairs:
        capped = _exp_capped(u)
        mapping[sigmoid(-u)] = _inv_one_plus(capped)
        mapping[sigmoid(u)] = _sigmoid_capped(u)
    return expr.xreplace(mapping)


def _split_sigmoid_signs(expr: sympy.Expr) -> sympy.Expr:
    """σ(u) and σ(-u) both present, or σ(u) beside an exp(-|u|) that is computed anyway
    (softplus's, in mish'), for array backends: each becomes `_sigmoid_split`, whose
    graph node shares e = exp(-|u|) and 1/(1 + e) between the two signs.

    Accuracy: σ(|u|) = 1/(1 + e) and σ(-|u|) = e·(1/(1 + e)), a few ulps wherever e is
    normal; where e underflows (|u| > 745; float32 103) σ(-|u|) is 0 and σ(|u|) is 1, the
    truth rounded.
    """
    args = {s.args[0] for s in expr.atoms(sigmoid) if s.free_symbols}
    exps = expr.atoms(sympy.exp)
    split = {a for a in args if -a in args or sympy.exp(-sympy.Abs(a)) in exps}
    if not split:
        return expr
    return expr.xreplace({sigmoid(a): _sigmoid_split(a) for a in split})


#: Beyond this u, expm1(u) is exp(u) to 4e-18 relative (float64 and float32).
_EXPM1_IS_EXP = 40


def _grows(u: sympy.Expr, where: dict[sympy.Symbol, sympy.Interval] | None = None) -> bool:
    """Whether exp(u) may overflow: u depends on a variable and is not known ≤ 0, nor,
    linear in one variable, below 80 where that variable lies (``where``: a branch's)."""
    if not u.free_symbols or u.is_nonpositive is True:
        return False
    if where and len(u.free_symbols) == 1:
        (v,) = u.free_symbols
        if v in where and where[v].is_empty:  # a piece no input reaches
            return False
        poly = u.as_poly(v) if v in where else None
        if poly is not None and poly.degree() == 1:
            a, b = poly.all_coeffs()
            edge = where[v].sup if a > 0 else where[v].inf
            return bool(a * edge + b > 80)
    return True


def _narrowed(where, cond) -> dict[sympy.Symbol, sympy.Interval]:
    """``where`` with a branch condition on one variable (x > c, |x| < c) applied."""
    where = dict(where or {})
    if len(cond.free_symbols) != 1:
        return where
    (v,) = cond.free_symbols
    interval = _as_set(cond)
    if isinstance(interval, sympy.Interval):
        where[v] = where.get(v, sympy.S.Reals).intersect(interval)
    return where


@remembered(maxsize=4096)
def _as_set(cond: sympy.Basic) -> sympy.Set | None:
    """``cond.as_set()`` (None where SymPy cannot say), remembered: SymPy solves each
    inequality again (``periodicity``, ``simplify``) wherever it appears, and the branch
    conditions of one stable form come back for every sum and product under them.

    An And, Or or Not of bounds on one variable (x > c, x <= c) is taken apart here as
    SymPy takes it apart (`sympy.logic.boolalg.Boolean.as_set`: no bound is periodic, so
    nothing is substituted; the intersection, union or complement of its parts' sets),
    with each part's set remembered too: the same bounds recur in the conditions of
    every branch after them."""
    if isinstance(cond, (sympy.And, sympy.Or, sympy.Not)) and _bounds_only(cond):
        parts = [_as_set(a) for a in cond.args]
        if any(p is None for p in parts):
            return None
        if isinstance(cond, sympy.And):
            return sympy.Intersection(*parts)
        if isinstance(cond, sympy.Or):
            return sympy.Union(*parts)
        return parts[0].complement(sympy.S.Reals)
    try:
        return cond.as_set()
    except (NotImplementedError, TypeError, ValueError):
        return None


def _bounds_only(cond: sympy.Basic) -> bool:
    """Whether every relation in ``cond`` compares its one variable with a finite number."""
    if len(cond.free_symbols) != 1:
        return False
    (v,) = cond.free_symbols
    for r in cond.atoms(sympy.core.relational.Relational):
        sides = {r.lhs, r.rhs}
        if v not in sides or len(sides) != 2:
            return False
        (other,) = sides - {v}
        if not (other.is_Number and other.is_finite):
            return False
    return True


def _exp_part(add: sympy.Add, where=None) -> tuple[sympy.Expr, sympy.Expr, sympy.Expr, int] | None:
    """``add`` as A·exp(u) + B for an exponential that may overflow: (u, A, B, the number
    of terms A collects), or None."""
    found: dict[sympy.Expr, list[sympy.Expr]] = {}
    for term in sympy.Add.make_args(add):
        for factor in sympy.Mul.make_args(term):
            if isinstance(factor, sympy.exp) and _grows(factor.args[0], where):
                found.setdefault(factor.args[0], []).append(term)
    if not found:
        return None
    u, terms = max(found.items(), key=lambda item: len(item[1]))
    a = sympy.Add(*(t / sympy.exp(u) for t in terms))
    if a.has(sympy.exp(u)):
        return None
    b = sympy.Add(*(t for t in sympy.Add.make_args(add) if t not in terms))
    return u, a, b, len(terms)


def _divides(rest: sympy.Expr) -> bool:
    """Whether ``rest`` divides by a variable's expression free of exponentials (a
    quotient of exponentials is for the cancellation pass, not this one)."""
    if any(
        isinstance(f, sympy.Piecewise) and all(_divides(v) for v, _ in f.args)
        for f in sympy.Mul.make_args(rest)
    ):
        return True  # each branch divides (exp(x)/x's derivative)
    q = rest.as_numer_denom()[1]
    return bool(q.free_symbols) and not q.has(sympy.exp, expm1)


#: Past this |w|, asinh(w) and acosh(w) are log 2|w| (next term 1/(4w²): below 1e-17
#: relative), and past its square log1p(w) is log w (next term 1/w).
_LOG_FAR = 1e8


def _tame_logs(expr: sympy.Expr) -> sympy.Expr:
    """log1p(w), asinh(w) and acosh(w) of a w that may overflow where the value does not:
    where |w| is large they are log|w| (+ log 2), and log|w| of a product of powers and
    exponentials is a sum of logs and exponents (asinh(x³) at x = 1e154 is 1067, not
    asinh(inf) = inf).  Array backends have no extended-range retry; the NumPy kernels'
    retry sees only inf and NaN results, and atan(log1p(x²)) at x = 1e156 was π/2, not
    1.5694 (atan(inf) is finite).  Other arguments are left as they are.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _tame_logs(sympy.asinh(x**3)).args[:2]
    ((3*log(Abs(x)) + log(2), x**3 > 100000000.0), (-3*log(Abs(x)) - log(2), x**3 < -100000000.0))
    >>> _tame_logs(log1p(sympy.exp(x) / 2))
    Piecewise((x - log(2), exp(x) > 2.0e+16), (log1p(exp(x)/2), True))
    >>> _tame_logs(sympy.asinh(x))
    asinh(x)
    """

    def log_linear(w: sympy.Add, c: sympy.Expr) -> sympy.Expr | None:
        """log|c·(a·v + b)| as log|c·a| + log|v + b/a|, where c·a·v may overflow first
        (asinh(2x + 1) at x = 1e308 is 710.58); None for other sums."""
        if len(w.free_symbols) != 1:
            return None
        (v,) = w.free_symbols
        poly = w.as_poly(v)
        if poly is None or poly.degree() != 1:
            return None
        a, b = poly.all_coeffs()
        if not (a.is_Number and b.is_Number) or abs(c * a) <= 1:
            return None
        return sympy.log(abs(c * a)) + sympy.log(sympy.Abs(v + b / a))

    def log_abs(w: sympy.Expr) -> sympy.Expr | None:
        c, rest = w.as_coeff_Mul()
        if rest.is_Symbol and abs(c) <= 1:
            return None  # never past the input's own magnitude
        if isinstance(rest, sympy.Add):
            return log_linear(rest, c)
        terms = [sympy.log(abs(c))] if c not in (1, -1) else []
        for f in sympy.Mul.make_args(rest):
            if isinstance(f, sympy.exp):
                terms.append(f.args[0])
            elif f.is_Pow and f.exp.is_Number:
                inner = log_linear(f.base, 1) if isinstance(f.base, sympy.Add) else None
                terms.append(f.exp * (sympy.log(sympy.Abs(f.base)) if inner is None else inner))
            elif f.is_Symbol:
                terms.append(sympy.log(sympy.Abs(f)))
            else:
                return None  # a factor that overflows by itself: left as it is
        return sympy.Add(*terms)

    def tame(e):
        w = e.args[0]
        big = log_abs(w) if w.free_symbols else None
        if big is None:
            return e
        far = sympy.Float(_LOG_FAR)
        if isinstance(e, log1p):
            return sympy.Piecewise((big, w > far**2), (e, True))
        near = sympy.log(2) + big
        if isinstance(e, sympy.acosh):
            return sympy.Piecewise((near, w > far), (e, True))
        return sympy.Piecewise((near, w > far), (-near, w < -far), (e, True))

    kinds = (log1p, sympy.asinh, sympy.acosh)
    return expr.replace(lambda e: isinstance(e, kinds) and bool(e.free_symbols), tame)


def _times_exp(f: sympy.Expr, u: sympy.Expr, where=None) -> sympy.Expr:
    """f·exp(u) (u may overflow), tamed: an exponential factor exp(w) of f first joins
    exp(u) in one exp(u + w).  A decaying factor beside a growing one, each computed
    alone, is 0·inf = NaN, or 0 where the zero wins, or inf where exp(u) is halved
    (`_exp_times`) while the value is finite: erf(x)/(1 + x⁴)'' is
    4x·(P(x) + Q(x)·erf(x)·exp(x²))·exp(-x²)/(√π·(1 + x⁴)³), and its second term is
    Q(x)·erf(x)/(√π·(1 + x⁴)³), 2e-23 at x = 1e4, with no exponential at all.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _times_exp(sympy.erf(x) * sympy.exp(-(x**2)) / x, x**2)
    erf(x)/x
    >>> _times_exp(sympy.exp(-x) / x, x**2)
    _exp_times(1/x, x**2 - x)
    """
    factors = sympy.Mul.make_args(f)
    exps = [g for g in factors if isinstance(g, sympy.exp)]
    if exps:
        f = sympy.Mul(*(g for g in factors if not isinstance(g, sympy.exp)))
        u = sympy.expand(u + sympy.Add(*(g.args[0] for g in exps)))
        if not _grows(u, where):
            return _tame_growth(f * sympy.exp(u), where)
    return _exp_times(_tame_growth(f, where), _tame_growth(u, where))


def _tame_growth(expr: sympy.Expr, where=None) -> sympy.Expr:
    """A factor f of an exponential that may overflow multiplies it half at a time,
    f·exp(u/2)·exp(u/2) (`_exp_times`), for array backends, where f divides by a
    variable's expression or collects several terms: exp(x)/x at x = 710, and
    (x·eˣ - eˣ + 1)/x² (((eˣ - 1)/x)' where x > 1) as ((x - 1)/x²)·eˣ + 1/x², are finite
    where the value is, and inf of its sign beyond, instead of inf or inf - inf = NaN.
    The NumPy kernels recompute such elements in extended range; array backends have
    none.  f·expm1(u) is f·exp(u) from u = 40 on.  Other forms are left as they are.

    Examples
    --------
    >>> x = sympy.Symbol("x", real=True)
    >>> _tame_growth(sympy.exp(x) / x)
    _exp_times(1/x, x)
    >>> _tame_growth((x * sympy.exp(x) - sympy.exp(x) + 1) / x**2)
    _exp_times((x - 1)/x**2, x) + x**(-2)
    >>> _tame_growth(x * sympy.exp(x) + sympy.exp(x) * (1 - sympy.exp(x) / 3))
    x*exp(x) + (1 - exp(x)/3)*exp(x)
    """
    if not expr.args or not expr.free_symbols:
        return expr

    def tame(e):
        return _tame_growth(e, where)

    if isinstance(expr, sympy.Piecewise):
        pieces, seen = [], sympy.S.false
        for value, cond in expr.args:
            inside = _narrowed(where, sympy.And(cond, sympy.Not(seen)))
            pieces.append((_tame_growth(value, inside), cond))
            seen = sympy.Or(seen, cond)
        if all(new is old for (new, _), (old, _) in zip(pieces, expr.args, strict=True)):
            return expr
        return sympy.Piecewise(*pieces)
    if isinstance(expr, sympy.Mul):
        factors = sympy.Mul.make_args(expr)
        for i, f in enumerate(factors):
            rest = sympy.Mul(*factors[:i], *factors[i + 1 :])
            if not rest.free_symbols:
                continue
            if isinstance(f, (sympy.exp, expm1)) and _grows(f.args[0], where):
                u = f.args[0]
                if not _divides(rest):
                    continue
                tamed = _exp_times(tame(rest), tame(u))
                if isinstance(f, sympy.exp):
                    return tamed
                return sympy.Piecewise((tamed, u > _EXPM1_IS_EXP), (tame(rest) * f, True))
            part = _exp_part(f, where) if isinstance(f, sympy.Add) else None
            if part is not None and (part[3] > 1 or _divides(rest)):
                u, a, b, _ = part
                return _times_exp(rest * a, u, where) + tame(rest * b)
    if isinstance(expr, sympy.Add):
        part = _exp_part(expr, where)
        if part is not None and part[3] > 1:
            u, a, b, _ = part
            return _exp_times(tame(a), tame(u)) + tame(b)
    args = [tame(a) for a in expr.args]
    if all(new is old for new, old in zip(args, expr.args, strict=True)):
        return expr
    return expr.func(*args)
