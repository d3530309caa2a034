"""Code printers: scalar Python for the numba backend, whole-array code for JAX and others.

`ScalarPrinter` is a `sympy.printing.pycode.PythonCodePrinter`: SymPy's tables decide how
a function is spelled in scalar code (``exp`` is ``math.exp``, ``Abs`` is ``abs``), and
numbers print as float literals (a SymPy ``Rational(1, 3)`` would otherwise print as
``1/3``).  The kernel graph's nodes ask it for calls, comparisons and conditional
expressions (`call`, `comparison`, `conditional`), so scalar syntax is decided here only;
it also prints whole SymPy expressions (``ScalarPrinter().doprint(expr)``).

``NUMBA_PRELUDE`` holds the small stable helpers that scalar node code calls
(σ from exp(-|u|), sech, 1/(1 + cosh u)), compiled once per kernel with numba.

`ArrayPrinter` spells the same node code for a library that traces whole-array
expressions: calls (``jnp.exp``), conditionals (``jnp.where``), max/min and clipping,
and the same stable helpers written over arrays.  `JaxPrinter` is the one the kernel
compiler uses (``backend="jax"``); `symcalc.export` adds PyTorch and plain NumPy.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import sympy
from sympy.printing.pycode import PythonCodePrinter

from .graph import COMPARISONS, literal

__all__ = [
    "NUMBA_HELPERS",
    "NUMBA_PRELUDE",
    "ArrayPrinter",
    "JaxPrinter",
    "ScalarPrinter",
    "is_literal",
]

_OPERATORS = {
    sympy.StrictGreaterThan: ">",
    sympy.StrictLessThan: "<",
    sympy.GreaterThan: ">=",
    sympy.LessThan: "<=",
    sympy.Equality: "==",
    sympy.Unequality: "!=",
}


class ScalarPrinter(PythonCodePrinter):
    """Python scalar code over the ``math`` module, numbers as float literals.

    Examples
    --------
    >>> import sympy
    >>> x = sympy.Symbol("x")
    >>> ScalarPrinter().doprint(sympy.exp(x) + sympy.Rational(1, 3))
    'math.exp(x) + 0.3333333333333333'
    >>> ScalarPrinter().call("log1p", "v2")
    'math.log1p(v2)'
    """

    printmethod = "_symcalc_scalar"

    #: Scalar forms of functions the ``math`` module lacks (``{0}`` is the operand).
    TEMPLATES = {
        "sign": "(0.0 if {0} == 0 else math.copysign(1.0, {0}))",
        "cbrt": "math.copysign(abs({0}) ** (1.0 / 3.0), {0})",
    }

    def __init__(self, settings=None):
        super().__init__({"fully_qualified_modules": True, **(settings or {})})
        self._comparisons = {ufunc: _OPERATORS[rel] for rel, ufunc in COMPARISONS.items()}

    def call(self, function: str, *args: str) -> str:
        """``function(args)`` in scalar code; ``function`` is a SymPy function's name."""
        if function in self.TEMPLATES:
            return self.TEMPLATES[function].format(*args)
        return f"{self._module_format(self.known_functions[function])}({', '.join(args)})"

    def comparison(self, ufunc: str) -> str:
        """The operator of a NumPy comparison ufunc (``np.greater`` is ``>``)."""
        return self._comparisons[ufunc]

    @staticmethod
    def conditional(then: str, cond: str, otherwise: str) -> str:
        return f"({then} if {cond} else {otherwise})"

    def _print_Number(self, expr):
        return literal(expr)

    _print_Float = _print_Rational = _print_Integer = _print_Number

    def _print_NumberSymbol(self, expr):
        return literal(expr)

    def _print_sign(self, expr):
        return self.call("sign", self._print(expr.args[0]))


#: Helpers scalar node code calls; each is compiled with numba.njit beside the kernel.
NUMBA_HELPERS = ("_sigmoid_neg", "_inv_one_plus_cosh", "_sech", "_exp_finite", "_mish_slope")

NUMBA_PRELUDE = """\
def _sigmoid_neg(m):
    # sigma(-m) = 1/(1 + exp(m)) from exp(-|m|), which never overflows
    e = math.exp(-abs(m))
    return 1.0 / (1.0 + e) if m <= 0 else e / (1.0 + e)


def _inv_one_plus_cosh(u):
    # 1/(1 + cosh u) = 2 sigma(u) sigma(-u)
    e = math.exp(-abs(u))
    d = 1.0 + e
    return 2.0 * e / d / d


def _sech(u):
    e = math.exp(-abs(u))
    return 2.0 * e / (1.0 + e * e)


def _exp_finite(u):
    e = math.exp(min(u, 709.782712893384))
    return e if e < math.inf else 1.7976931348623157e308


def _mish_slope(u):
    # mish'(u) from e = exp(-|u|) alone (the array helper of the same name)
    e = math.exp(-abs(u))
    if u < 0:
        a = e * (e + 2.0)
        d = a + 2.0
        f = e * (1.0 + e)
    else:
        a = 1.0 + 2.0 * e
        d = a + 2.0 * (e * e)
        f = (e * e) * (1.0 + e)
    return (a * d + 4.0 * (u * f)) / (d * d)
"""


# -- whole-array code ------------------------------------------------------------------------

#: Stable helpers node code calls, over whole arrays; ``{m}`` is the library's module name.
#: Each is the formula of the NUMBA_PRELUDE helper of the same name, without branches.
ARRAY_HELPERS = {
    "_sigmoid_neg": """\
def _sigmoid_neg(m):
    # sigma(-m) = 1/(1 + exp(m)); where exp(m) overflows to inf the result is exactly 0
    return 1.0 / (1.0 + {m}.exp(m))
""",
    "_sigmoid_pair": """\
def _sigmoid_pair(u):
    # sigma(u) sigma(-u) = e/(1 + e)^2 with e = exp(-|u|), which never overflows
    e = {m}.exp(-{m}.abs(u))
    d = 1.0 + e
    return e / (d * d)
""",
    "_sech": """\
def _sech(u):
    # sech(u) = 2e/(1 + e^2) with e = exp(-|u|), which never overflows
    e = {m}.exp(-{m}.abs(u))
    return 2.0 * e / (1.0 + e * e)
""",
    "_sech_squared": """\
def _sech_squared(u):
    # sech(u)^2 = 4e/(1 + e)^2 with e = exp(-2|u|), which never overflows: one exp
    e = {m}.exp(-2.0 * {m}.abs(u))
    d = 1.0 + e
    return 4.0 * e / (d * d)
""",
    "_exp_beside_erfc": """\
def _exp_beside_erfc(v, w, k):
    # exp(k*v*v) = exp(-w*w) beside erfc(w): in float64 exp(-(w*w)), the exp XLA's
    # erfc(w) computes itself (one exp for both; 2w^2 ulp from the rounded w, <= 1.7e-13
    # where the value is normal); in float32 from v (the rounded w would cost 1.4e-5),
    # where v*v may be inf: exp(-inf) = 0
    if {m}.result_type(v) == {m}.float64:
        return {m}.exp(-(w * w))
    return {m}.exp((v * v) * k)
""",
    "_mish_slope": """\
def _mish_slope(u):
    # mish'(u) = tanh(s) + 4u sigma(u) sigma(2s) sigma(-2s), s = softplus(u), from
    # e = exp(-|u|) alone: e^s = 1 + e^u, so tanh(s) = a/d and the sigma product is f/d^2
    # with, for u < 0, a = e(e + 2), d = a + 2, f = e(1 + e), and for u >= 0 (through
    # by e^2, e^4) a = 1 + 2e, d = a + 2e^2, f = e^2 (1 + e); d is in [1, 5] and u*f
    # decays with e (0 at the largest |u|): one exp and one division
    e = {m}.exp(-{m}.abs(u))
    ee = e * e
    negative = u < 0.0
    a = {m}.where(negative, e * (e + 2.0), 1.0 + 2.0 * e)
    d = a + {m}.where(negative, 2.0, 2.0 * ee)
    f = (1.0 + e) * {m}.where(negative, e, ee)
    return (a * d + 4.0 * (u * f)) / (d * d)
""",
    "_sinh_wide": """\
def _sinh_wide(u):
    # sinh(u); from |u| = 20 on it is sign(u)*e*(e/2), e = exp(|u|/2), which stays finite
    # up to |u| = log(2*max), where a vectorized sinh that forms exp(|u|) overflows first
    a = {m}.abs(u)
    e = {m}.exp(a * 0.5)
    return {m}.where(a < 20.0, {m}.sinh(u), {m}.sign(u) * (e * (e * 0.5)))
""",
    "_cosh_wide": """\
def _cosh_wide(u):
    # cosh(u); from |u| = 20 on it is e*(e/2), e = exp(|u|/2) (see _sinh_wide)
    a = {m}.abs(u)
    e = {m}.exp(a * 0.5)
    return {m}.where(a < 20.0, {m}.cosh(u), e * (e * 0.5))
""",
    "_erfc_wide": """\
def _erfc_wide(u):
    # erfc(u); scipy.special.erfc is 0 from u = 26.64 on (Cephes' underflow test), where
    # erfc is subnormal up to u = 27.2: from 26.5 on it is erfcx(u)*exp(-u*u)
    out = scipy.special.erfc(u)
    far = u >= 26.5
    if {m}.any(far):
        out = {m}.where(far, scipy.special.erfcx(u) * {m}.exp(-u * u), out)
    return out
""",
    "_erfcx": """\
def _erfcx(u):
    # erfcx(u) = exp(u*u)*erfc(u) (JAX has none): as written below u = 4, where exp(u*u)
    # is at most 8.9e6; from 4 on the continued fraction 1/(u + (1/2)/(u + 1/(u + ...)))
    # of erfc's asymptotic series, 24 terms (1e-15 relative at u = 4, better beyond);
    # no u*u there, so it holds up to the largest u (1/(sqrt(pi)*u))
    near = {m}.exp(u * u) * jax.scipy.special.erfc(u)
    z = {m}.maximum(u, 4.0)
    t = z
    for k in range(24, 0, -1):
        t = z + (0.5 * k) / t
    return {m}.where(u < 4.0, near, 0.5641895835477563 / t)
""",
    "_recip_capped": """\
def _recip_capped(d):
    # 1/d, exactly 0 where d = 1 + exp(u) was capped at the largest float (see _exp_finite)
    return {m}.where(d >= {m}.finfo(d.dtype).max, 0.0, 1.0 / d)
""",
    "_exp_finite": """\
def _exp_finite(u):
    # exp(u), the largest finite number where it overflows (never inf)
    return {clamp_max}
""",
}

#: Names of constants node code may use, and their definitions.
ARRAY_CONSTANTS = {"NAN": 'NAN = float("nan")', "INF": 'INF = float("inf")'}


def is_literal(code: str) -> bool:
    """Whether node code is a number literal (a weak scalar), not an array expression.

    Examples
    --------
    >>> is_literal("0.5"), is_literal("NAN"), is_literal("v3")
    (True, True, False)
    """
    try:
        float(code)
    except ValueError:
        return False
    return True


class ArrayPrinter:
    """Whole-array expressions for a library that traces array code (JAX, PyTorch, NumPy).

    Subclasses name the library: ``MODULE`` (how generated code refers to it),
    `imports` (the lines that import it), ``FUNCTIONS`` (a SymPy function's name ->
    the library's function), ``TEMPLATES`` (functions it lacks, ``{0}`` the operand) and
    ``CLAMP_MAX`` (min(u, the dtype's largest number), for `_exp_finite`).  The node
    methods call `call`, `comparison`, `conditional`, `fold` and `clip`; `prelude` gives
    the helpers and constants a body uses.
    """

    MODULE = ""
    FUNCTIONS: dict[str, str] = {}
    TEMPLATES: dict[str, str] = {}
    CLAMP_MAX = ""
    NAMES = {
        "exp": "exp",
        "log": "log",
        "log1p": "log1p",
        "expm1": "expm1",
        "sqrt": "sqrt",
        "tanh": "tanh",
        "sinh": "sinh",
        "cosh": "cosh",
        "sin": "sin",
        "cos": "cos",
        "tan": "tan",
        "asin": "arcsin",
        "acos": "arccos",
        "atan": "arctan",
        "asinh": "arcsinh",
        "acosh": "arccosh",
        "atanh": "arctanh",
        "Abs": "abs",
        "sign": "sign",
        "hypot": "hypot",
        "cbrt": "cbrt",
    }

    def __init__(self, reference: str = "a0"):
        #: An argument whose dtype and device literal arrays take (where a library needs one).
        self.reference = reference
        self._comparisons = {ufunc: _OPERATORS[rel] for rel, ufunc in COMPARISONS.items()}

    def call(self, function: str, *args: str) -> str:
        """``function(args)`` over arrays; ``function`` is a SymPy function's name."""
        if function in self.TEMPLATES:
            return self.TEMPLATES[function].format(*args)
        name = self.FUNCTIONS.get(function) or f"{self.MODULE}.{self.NAMES[function]}"
        return f"{name}({', '.join(args)})"

    def comparison(self, ufunc: str) -> str:
        return self._comparisons[ufunc]

    def conditional(self, then: str, cond: str, otherwise: str) -> str:
        return f"{self.MODULE}.where({cond}, {then}, {otherwise})"

    def fold(self, name: str, args: Sequence[str]) -> str:
        """max or min of several operands (``name`` is "max" or "min")."""
        text, *rest = args
        for arg in rest:
            text = f"{self.MODULE}.{name}imum({text}, {arg})"
        return text

    def clip(self, a: str, lo: str, hi: str) -> str:
        return f"{self.MODULE}.clip({a}, {lo}, {hi})"

    def product(
        self,
        top: Sequence[str],
        bottom: Sequence[str],
        coeff: str | None,
        *,
        coeff_first: bool = False,
        zero_wins: Sequence[str] = (),
        inputs: Sequence[str] | None = None,
    ) -> str:
        """coeff · top[0] · top[1] ... / bottom[0] / bottom[1] ..., one factor at a time.

        ``coeff_first``: the coefficient multiplies ``top[0]`` before the other factors
        (a small one keeps (clip/6)·x finite at the largest x); where a factor of
        ``zero_wins`` is exactly 0 the product is 0, whatever another factor overflowed to;
        given ``inputs``, only where one of them is infinite (the limit: x·exp(-x²) at
        x = inf): from finite inputs inf·0 then stays NaN, where the decay need not win
        (exp(u)·σ(-u) = σ(u)) and a kernel's output check computes the element again.

        Examples
        --------
        >>> JaxPrinter().product(["v1", "a0"], [], "0.5", coeff_first=True, zero_wins=["v1"])
        'jnp.where(v1 == 0.0, 0.0, ((v1 * 0.5) * a0))'
        >>> JaxPrinter().product(["v1", "v2"], [], None, zero_wins=["v1"], inputs=["a0"])
        'jnp.where((v1 == 0.0) & ~jnp.isfinite(a0), 0.0, (v1 * v2))'
        """
        if top and coeff is not None and coeff_first:
            top = [f"({top[0]} * {coeff})", *top[1:]]
            coeff = None
        text = " * ".join(top) if top else (coeff or "1.0")
        text = self.divide(text, bottom)
        if top and coeff is not None:
            text = f"({text}) * {coeff}"
        text = f"({text})"
        if zero_wins:
            cond = " | ".join(f"({z} == 0.0)" for z in zero_wins)
            cond = cond if len(zero_wins) > 1 else cond[1:-1]
            if inputs:
                finite = " & ".join(f"{self.MODULE}.isfinite({a})" for a in inputs)
                finite = f"({finite})" if len(inputs) > 1 else finite
                cond = f"({cond}) & ~{finite}"
            text = self.conditional("0.0", cond, text)
        return text

    def divide(self, text: str, bottom: Sequence[str]) -> str:
        """``text`` divided by each of ``bottom`` in turn."""
        for val in bottom:
            text = f"({text}) / {val}"
        return text

    def imports(self, source: str) -> list[str]:  # pragma: no cover - every printer has one
        """The import lines ``source`` needs."""
        raise NotImplementedError

    def prelude(self, body: str) -> str:
        """The constants and helpers ``body`` uses, as source (two blank lines apart)."""
        used = set(re.findall(r"\b[A-Za-z_][A-Za-z0-9_]*\b", body))
        parts = [ARRAY_CONSTANTS[c] for c in ARRAY_CONSTANTS if c in used]
        for name, text in ARRAY_HELPERS.items():
            if name in used:
                parts.append(text.format(m=self.MODULE, clamp_max=self.CLAMP_MAX).strip())
        return "\n\n\n".join(parts)


class JaxPrinter(ArrayPrinter):
    """``jax.numpy`` and ``jax.scipy.special``: the code of ``backend="jax"`` and `to_jax`.

    Examples
    --------
    >>> p = JaxPrinter()
    >>> p.call("erfc", "v1"), p.conditional("1.0", "v2", "0.0")
    ('jax.scipy.special.erfc(v1)', 'jnp.where(v2, 1.0, 0.0)')
    """

    MODULE = "jnp"
    FUNCTIONS = {
        "erf": "jax.scipy.special.erf",
        "erfc": "jax.scipy.special.erfc",
        "erfcx": "_erfcx",
    }

    def divide(self, text: str, bottom: Sequence[str]) -> str:
        """As `ArrayPrinter.divide`, but the second and later denominators multiply as
        reciprocals: XLA rewrites (a/b)/c into a/(b·c), and b·c may underflow to 0
        (y/p² at p = 1e-300 would be 0/0)."""
        if len(bottom) < 2:
            return super().divide(text, bottom)
        text = super().divide(text, bottom[:1])
        return " * ".join([f"({text})", *(f"(1.0 / {val})" for val in bottom[1:])])

    CLAMP_MAX = "jnp.minimum(jnp.exp(u), jnp.finfo(u.dtype).max)"

    def imports(self, source: str) -> list[str]:
        """The import lines ``source`` needs."""
        lines = ["import jax"] if re.search(r"\bjax\.(?!numpy|scipy)", source) else []
        if "jnp." in source:
            lines.append("import jax.numpy as jnp")
        if "jax.scipy.special." in source:
            lines.append("import jax.scipy.special")
        return lines
