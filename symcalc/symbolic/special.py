"""SymPy's special functions that symcalc reads, differentiates and prints: one table.

Each `Special` is one declarative entry: the name the parsers read, SymPy's class, how
many arguments it takes, and its partial derivative in each argument as a formula of
all the arguments (``None`` where there is no closed form symcalc shows: the order ν
of a Bessel function, the s of ζ(s)).  The parsers admit the names through
`symcalc.symbolic.functions.FUNCTIONS`; the derivation steps take their rule from
``partials``; the LaTeX printer writes the functions whose SymPy LaTeX would read back
as something else (``W(x)``, ``J_{1}(x)``, ``K(m)``: a variable times x) with
``\\operatorname``, and `LATEX_NAMES` maps those words back.

None of these has a NumPy kernel: the derivative is symbolic only, and every numeric
route refuses them with `no_kernel`'s message.

Examples
--------
>>> import sympy
>>> x = sympy.Symbol("x", real=True)
>>> SPECIAL["besselj"].partials[1](sympy.Integer(1), x)
besselj(0, x)/2 - besselj(2, x)/2
>>> no_kernel(sympy.gamma)
'no stable kernel for gamma; the derivative is symbolic only'
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable

import sympy

from ..errors import SymcalcError

__all__ = ["BY_CLASS", "LATEX_NAMES", "SPECIAL", "Special", "no_kernel", "refuse_kernel"]

Partial = Callable[..., sympy.Expr] | None


@dataclasses.dataclass(frozen=True)
class Special:
    """One special function: parser name, SymPy class, arity and partial derivatives."""

    name: str
    func: type
    low: int
    high: int
    #: ∂f/∂(argument i) as a formula of all the arguments; None: not shown in closed form.
    partials: tuple[Partial, ...]
    #: What a reader calls its derivative rule ("gamma rule").
    rule: str
    #: The word written in \operatorname{...} when SymPy's own LaTeX would not read back.
    latex: str | None = None
    #: Which argument the LaTeX writes as a subscript (J_ν, E_ν, W_k): its index, or None.
    subscript: int | None = None
    #: Builds the expression from parsed arguments (``digamma`` makes a polygamma).
    builder: Callable[..., sympy.Expr] | None = None
    #: Where it is real and continuous: elementary witnesses of its arguments whose real
    #: domains' union is that set (Γ: log u or 1/sin(πu)), or the set itself where the
    #: argument is the variable; None when not known.
    real: Callable[..., tuple[sympy.Expr, ...]] | None = None

    def build(self, *args: sympy.Expr) -> sympy.Expr:
        return (self.builder or self.func)(*args)

    def __repr__(self) -> str:
        return f"<Special {self.name}: {self.rule}>"


_pi = sympy.pi
_psi = sympy.polygamma
_W = sympy.LambertW


def _lambertw(u, k=0):
    return _W(u, k) / (u * (1 + _W(u, k)))


def _j(nu, u):  # J′_ν = (J_{ν-1} - J_{ν+1})/2, and Y alike; I′, K′ with +
    return (sympy.besselj(nu - 1, u) - sympy.besselj(nu + 1, u)) / 2


def _y(nu, u):
    return (sympy.bessely(nu - 1, u) - sympy.bessely(nu + 1, u)) / 2


def _i(nu, u):
    return (sympy.besseli(nu - 1, u) + sympy.besseli(nu + 1, u)) / 2


def _k(nu, u):
    return -(sympy.besselk(nu - 1, u) + sympy.besselk(nu + 1, u)) / 2


_ENTRIES = (
    Special("gamma", sympy.gamma, 1, 1, (lambda u: sympy.gamma(u) * _psi(0, u),), "gamma rule"),
    Special("loggamma", sympy.loggamma, 1, 1, (lambda u: _psi(0, u),), "log-gamma rule"),
    Special(
        "polygamma",
        sympy.polygamma,
        2,
        2,
        (None, lambda n, u: _psi(n + 1, u)),
        "polygamma rule",
        latex="polygamma",
    ),
    Special(
        "beta",
        sympy.beta,
        2,
        2,
        (
            lambda a, b: sympy.beta(a, b) * (_psi(0, a) - _psi(0, a + b)),
            lambda a, b: sympy.beta(a, b) * (_psi(0, b) - _psi(0, a + b)),
        ),
        "beta rule",
        latex="B",
    ),
    Special(
        "erfi",
        sympy.erfi,
        1,
        1,
        (lambda u: 2 * sympy.exp(u**2) / sympy.sqrt(_pi),),
        "erfi rule",
    ),
    Special(
        "erfinv",
        sympy.erfinv,
        1,
        1,
        (lambda u: sympy.sqrt(_pi) * sympy.exp(sympy.erfinv(u) ** 2) / 2,),
        "inverse erf rule",
        latex="erfinv",
    ),
    Special(
        "erfcinv",
        sympy.erfcinv,
        1,
        1,
        (lambda u: -sympy.sqrt(_pi) * sympy.exp(sympy.erfcinv(u) ** 2) / 2,),
        "inverse erfc rule",
        latex="erfcinv",
    ),
    Special("Ei", sympy.Ei, 1, 1, (lambda u: sympy.exp(u) / u,), "exponential integral rule"),
    Special(
        "expint",
        sympy.expint,
        2,
        2,
        (None, lambda nu, u: -sympy.expint(nu - 1, u)),
        "exponential integral rule",
        latex="E",
        subscript=0,
    ),
    Special("Si", sympy.Si, 1, 1, (lambda u: sympy.sin(u) / u,), "sine integral rule"),
    Special("Ci", sympy.Ci, 1, 1, (lambda u: sympy.cos(u) / u,), "cosine integral rule"),
    Special("Shi", sympy.Shi, 1, 1, (lambda u: sympy.sinh(u) / u,), "sinh integral rule"),
    Special("Chi", sympy.Chi, 1, 1, (lambda u: sympy.cosh(u) / u,), "cosh integral rule"),
    Special("li", sympy.li, 1, 1, (lambda u: 1 / sympy.log(u),), "logarithmic integral rule"),
    Special("Li", sympy.Li, 1, 1, (lambda u: 1 / sympy.log(u),), "logarithmic integral rule"),
    Special(
        "LambertW",
        sympy.LambertW,
        1,
        2,
        (_lambertw, None),
        "Lambert W rule",
        latex="W",
        subscript=1,
    ),
    Special(
        "besselj",
        sympy.besselj,
        2,
        2,
        (None, _j),
        "Bessel rule",
        latex="J",
        subscript=0,
    ),
    Special(
        "bessely",
        sympy.bessely,
        2,
        2,
        (None, _y),
        "Bessel rule",
        latex="Y",
        subscript=0,
    ),
    Special(
        "besseli",
        sympy.besseli,
        2,
        2,
        (None, _i),
        "Bessel rule",
        latex="I",
        subscript=0,
    ),
    Special(
        "besselk",
        sympy.besselk,
        2,
        2,
        (None, _k),
        "Bessel rule",
        latex="K",
        subscript=0,
    ),
    Special(
        "fresnels",
        sympy.fresnels,
        1,
        1,
        (lambda u: sympy.sin(_pi * u**2 / 2),),
        "Fresnel integral rule",
        latex="fresnels",
    ),
    Special(
        "fresnelc",
        sympy.fresnelc,
        1,
        1,
        (lambda u: sympy.cos(_pi * u**2 / 2),),
        "Fresnel integral rule",
        latex="fresnelc",
    ),
    Special("airyai", sympy.airyai, 1, 1, (sympy.airyaiprime,), "Airy rule", latex="Ai"),
    Special("airybi", sympy.airybi, 1, 1, (sympy.airybiprime,), "Airy rule", latex="Bi"),
    Special(
        "airyaiprime",
        sympy.airyaiprime,
        1,
        1,
        (lambda u: u * sympy.airyai(u),),
        "Airy rule",
        latex="airyaiprime",
    ),
    Special(
        "airybiprime",
        sympy.airybiprime,
        1,
        1,
        (lambda u: u * sympy.airybi(u),),
        "Airy rule",
        latex="airybiprime",
    ),
    Special(
        "zeta",
        sympy.zeta,
        1,
        2,
        (None, lambda s, a: -s * sympy.zeta(s + 1, a)),
        "Hurwitz zeta rule",
        latex="zeta",
    ),
    Special(
        "elliptic_k",
        sympy.elliptic_k,
        1,
        1,
        (lambda m: (sympy.elliptic_e(m) - (1 - m) * sympy.elliptic_k(m)) / (2 * m * (1 - m)),),
        "elliptic integral rule",
        latex="elliptic_k",
    ),
    Special(
        "elliptic_e",
        sympy.elliptic_e,
        1,
        1,
        (lambda m: (sympy.elliptic_e(m) - sympy.elliptic_k(m)) / (2 * m),),
        "elliptic integral rule",
        latex="elliptic_e",
    ),
    Special(
        "lowergamma",
        sympy.lowergamma,
        2,
        2,
        (None, lambda s, u: u ** (s - 1) * sympy.exp(-u)),
        "incomplete gamma rule",
        latex="lowergamma",
    ),
    Special(
        "uppergamma",
        sympy.uppergamma,
        2,
        2,
        (None, lambda s, u: -(u ** (s - 1)) * sympy.exp(-u)),
        "incomplete gamma rule",
        latex="uppergamma",
    ),
)


def _bessel_real(nu, u):
    if nu.is_integer:
        return (u,)
    return (sympy.sqrt(u),) if nu.is_positive else (sympy.log(u),)


def _lambertw_real(u, k=0):
    if k == 0:
        return (sympy.sqrt(u + sympy.exp(-1)),)
    if k == -1:
        return (sympy.sqrt(u + sympy.exp(-1)) + sympy.log(-u),)
    return ()  # the other branches are never real


def _positive(*args):
    return (sympy.log(args[-1]),)


def _everywhere(*args):
    return (args[-1],)


def _gamma_like(*args):  # real but at the poles 0, -1, -2, ...
    u = args[-1]
    if u.is_Symbol:  # the set itself, which reads better than its witnesses' union
        return (sympy.Complement(sympy.S.Reals, sympy.Range(0, -sympy.oo, -1)),)
    return (sympy.log(u), 1 / sympy.sin(_pi * u))


#: name -> where it is real (see `Special.real`); beta and Hurwitz zeta are not listed.
_REAL = {
    "gamma": _gamma_like,
    "polygamma": _gamma_like,
    "loggamma": _positive,
    "erfi": _everywhere,
    "erfinv": lambda u: (sympy.log(1 - u**2),),
    "erfcinv": lambda u: (sympy.log(u * (2 - u)),),
    "Ei": lambda u: (1 / u,),
    "expint": _positive,
    "Si": _everywhere,
    "Shi": _everywhere,
    "Ci": _positive,
    "Chi": _positive,
    "li": lambda u: (1 / sympy.log(u),),
    "Li": lambda u: (1 / sympy.log(u),),
    "LambertW": _lambertw_real,
    "besselj": _bessel_real,
    "besseli": _bessel_real,
    "bessely": _positive,
    "besselk": _positive,
    "fresnels": _everywhere,
    "fresnelc": _everywhere,
    "airyai": _everywhere,
    "airybi": _everywhere,
    "airyaiprime": _everywhere,
    "airybiprime": _everywhere,
    "elliptic_k": lambda m: (sympy.log(1 - m),),
    "elliptic_e": lambda m: (sympy.sqrt(1 - m),),
    "lowergamma": _positive,
    "uppergamma": _positive,
}
_ENTRIES = tuple(dataclasses.replace(s, real=_REAL.get(s.name)) for s in _ENTRIES)

#: Parser name -> entry.  ``digamma``, ``trigamma`` and ``E1`` are spellings SymPy turns
#: into ``polygamma(0, u)``, ``polygamma(1, u)`` and ``expint(1, u)``.
_BY_NAME = {s.name: s for s in _ENTRIES}


def _spelling(name: str, of: str, builder: Callable[..., sympy.Expr]) -> Special:
    return dataclasses.replace(_BY_NAME[of], name=name, low=1, high=1, builder=builder)


SPECIAL: dict[str, Special] = {
    **_BY_NAME,
    "digamma": _spelling("digamma", "polygamma", lambda u: _psi(0, u)),
    "trigamma": _spelling("trigamma", "polygamma", lambda u: _psi(1, u)),
    "E1": _spelling("E1", "expint", lambda u: sympy.expint(1, u)),
}

#: SymPy class -> its entry (the derivative rules and printers look functions up here).
BY_CLASS: dict[type, Special] = {s.func: s for s in _ENTRIES}

#: The \operatorname{...} words of `Special.latex` -> the parser name they stand for.
LATEX_NAMES: dict[str, str] = {s.latex: s.name for s in _ENTRIES if s.latex is not None}


def no_kernel(func: type) -> str:
    """The one-line refusal every numeric route gives for a special function."""
    name = BY_CLASS[func].name if func in BY_CLASS else func.__name__
    return f"no stable kernel for {name}; the derivative is symbolic only"


def refuse_kernel(expr: sympy.Basic) -> None:
    """Raise `no_kernel`'s refusal if ``expr`` calls a special function.

    Numeric routes call this before any analysis, so a special function never reaches
    NumPy, JAX or PyTorch, not even at a constant argument (``Si(2)``: the stability
    analysis evaluates with NumPy).  What SymPy writes in elementary terms is allowed:
    ``gamma(3/2)`` is ``sqrt(pi)/2``.

    Examples
    --------
    >>> x = sympy.Symbol("x")
    >>> refuse_kernel(x * sympy.gamma(sympy.Rational(3, 2)))
    >>> refuse_kernel(sympy.Si(2) * x)
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: no stable kernel for Si; the derivative is symbolic only
    >>> refuse_kernel(sympy.Si(x) + 1)
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: no stable kernel for Si; the derivative is symbolic only
    """
    found = [e for e in sympy.preorder_traversal(expr) if type(e) in BY_CLASS]
    if found:
        raise SymcalcError(no_kernel(type(found[0])))
