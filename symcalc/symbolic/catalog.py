"""The registry of named activations and losses, each a SymPy expression with metadata.

A user's entry is added by `register`; the built-in ones are declared by name, kind and
aliases (``@_builtin``) and built the first time they are looked up, so a command pays
SymPy's evaluation only for the functions it uses.  Parameters (``alpha``,
``slope``, ``delta``, ...) stay symbols in ``entry.expr`` so derivations show them;
their defaults live in ``entry.params`` and `Entry.bind` substitutes them.  An
entry's ``identity`` is the closed form of its first derivative that textbooks
print (σ' = σ(1 − σ), tanh' = 1 − tanh², ...); the tests prove each one equal to
the derivative symcalc derives rather than trusting it.

Examples
--------
>>> entry = get("sigmoid")
>>> entry.expr
1/(1 + exp(-x))
>>> entry.identity
(1 - sigmoid(x))*sigmoid(x)
>>> get("swish").name
'silu'
"""

from __future__ import annotations

import dataclasses
import threading
from collections.abc import Callable, Iterator, Mapping
from types import MappingProxyType
from typing import Any

import sympy
from sympy import (
    Abs,
    Integer,
    Interval,
    Max,
    Min,
    Piecewise,
    Rational,
    S,
    cos,
    erf,
    exp,
    log,
    pi,
    sign,
    sin,
    sqrt,
    tanh,
)

from ..errors import SymcalcError, did_you_mean
from .functions import latex, name_latex, readable_name, set_text, sigmoid, symbol

__all__ = [
    "CATALOG",
    "Entry",
    "Summary",
    "catalog",
    "get",
    "names",
    "register",
    "summaries",
    "univariate_entry",
]

KINDS = ("activation", "loss")

x, p, y, z = (symbol(n) for n in "xpyz")


def _max(*args: Any) -> sympy.Expr:
    """``Max(*args)`` as written: SymPy's own evaluation would spend milliseconds per entry
    at import proving the arguments incomparable (the tests check the form is the same)."""
    return Max(*args, evaluate=False)


def _min(*args: Any) -> sympy.Expr:
    """``Min(*args)`` as written (see `_max`)."""
    return Min(*args, evaluate=False)


@dataclasses.dataclass(frozen=True, repr=False)
class Entry:
    """A named function: its SymPy expression, variables, parameters and metadata.

    ``variables[0]`` is the variable derivatives are taken in by default (``x`` for
    activations, the prediction ``p`` or logit ``z`` for losses).  ``fixed`` gives
    the other variables a value when the entry is viewed as a function of
    ``variables[0]`` alone (plots, integrals).

    Examples
    --------
    >>> e = get("leaky_relu")
    >>> e.params
    mappingproxy({'slope': 1/100})
    >>> e.bind()
    Piecewise((x, x > 0), (x/100, True))
    """

    name: str
    kind: str
    expr: sympy.Expr
    variables: tuple[sympy.Symbol, ...]
    description: str = ""
    params: Mapping[str, sympy.Expr] = dataclasses.field(default_factory=dict)
    aliases: tuple[str, ...] = ()
    domain: Mapping[str, sympy.Set] = dataclasses.field(default_factory=dict)
    identity: sympy.Expr | None = None
    plot_range: tuple[float, float] = (-5.0, 5.0)
    fixed: Mapping[str, float] = dataclasses.field(default_factory=dict)
    constraints: tuple[sympy.Expr, ...] = ()
    options: Mapping[str, int] = dataclasses.field(default_factory=dict)
    builder: Callable[..., Entry] | None = None

    def __post_init__(self) -> None:
        for name in ("params", "domain", "fixed", "options"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))

    # -- views ---------------------------------------------------------------
    @property
    def variable(self) -> sympy.Symbol:
        """The default variable of differentiation."""
        return self.variables[0]

    @property
    def parameter_symbols(self) -> dict[str, sympy.Symbol]:
        """The symbols standing for this entry's parameters, by name."""
        return {name: symbol(name) for name in self.params}

    def domain_of(self, var: sympy.Symbol | str) -> sympy.Set:
        """The set a variable ranges over (the reals unless the entry says otherwise)."""
        return self.domain.get(str(var), S.Reals)

    def bind(self, expr: sympy.Expr | None = None, **params: Any) -> sympy.Expr:
        """Substitute parameter values (defaults unless overridden) into ``expr``.

        Examples
        --------
        >>> get("elu").bind(alpha=2)
        Piecewise((x, x > 0), (2*exp(x) - 2, True))
        """
        expr = self.expr if expr is None else expr
        unknown = [k for k in params if k not in self.params]
        if unknown:
            raise SymcalcError(
                f"unknown parameter '{unknown[0]}' for {self.display_name}"
                f"{did_you_mean(unknown[0], self.params)}"
            )
        values = {**self.params, **{k: _as_number(k, v) for k, v in params.items()}}
        bound = expr.subs({symbol(k): v for k, v in values.items()})
        return _defined(bound, {k: values[k] for k in params}, self.display_name)

    def univariate(self, expr: sympy.Expr | None = None) -> sympy.Expr:
        """``expr`` (default: the entry) as a function of ``variables[0]`` alone.

        Parameters take their defaults and the other variables their ``fixed`` values.

        Examples
        --------
        >>> get("squared_error").univariate()
        p**2
        """
        bound = self.bind(expr)
        return bound.subs({symbol(k): sympy.nsimplify(v) for k, v in self.fixed.items()})

    def with_params(self, **values: Any) -> Entry:
        """A copy with some parameters fixed to values (they leave ``params``).

        Structural options (the class count ``K`` of a softmax loss) rebuild the entry.

        Examples
        --------
        >>> get("leaky_relu").with_params(slope=0.2).expr
        Piecewise((x, x > 0), (0.2*x, True))
        """
        structural = {k: v for k, v in values.items() if k in self.options}
        numeric = {k: v for k, v in values.items() if k not in self.options}
        unknown = [k for k in numeric if k not in self.params]
        if unknown:
            known = sorted([*self.params, *self.options])
            listed = ", ".join(known) if known else "none"
            raise SymcalcError(
                f"unknown parameter '{unknown[0]}' for {self.name}"
                f"{did_you_mean(unknown[0], known)} (its parameters: {listed})"
            )
        entry = self
        if structural:
            if self.builder is None:  # pragma: no cover - every option has a builder
                raise SymcalcError(f"{self.name} cannot be rebuilt")
            entry = self.builder(**{**self.options, **_as_options(structural, self.name)})
        if numeric:
            numbers = {k: _as_number(k, v) for k, v in numeric.items()}
            subs = {symbol(k): v for k, v in numbers.items()}
            entry = dataclasses.replace(
                entry,
                expr=_defined(entry.expr.subs(subs), numbers, self.name),
                identity=None if entry.identity is None else entry.identity.subs(subs),
                params={k: v for k, v in entry.params.items() if k not in numeric},
            )
        return entry

    def mean_loss(self, samples: str = "m") -> sympy.Expr:
        """The loss averaged over samples, J = (1/m) Σᵢ ℓ(pᵢ, yᵢ), as SymPy objects.

        Examples
        --------
        >>> get("mse").mean_loss()
        Sum((p[i] - y[i])**2, (i, 1, m))/m
        """
        i = sympy.Symbol("i", integer=True, positive=True)
        m = sympy.Symbol(samples, integer=True, positive=True)
        indexed = {v: sympy.IndexedBase(v.name, real=True)[i] for v in self.variables}
        return sympy.Sum(self.expr.subs(indexed), (i, 1, m)) / m

    # -- display -------------------------------------------------------------
    def signature(self) -> str:
        """``name(x)`` or ``name(p, y)``; a user's expression is ``f(x)``."""
        return f"{self.display_name}({', '.join(v.name for v in self.variables)})"

    @property
    def display_name(self) -> str:
        """The catalog name, or ``f`` for a user's expression (its name is its text)."""
        return "f" if self.kind == "expression" else self.name

    def to_text(self) -> str:
        """A few lines: formula, parameters, domain, description."""
        lines = [f"{self.signature()} = {sympy.sstr(self.expr)}"]
        if self.description:
            lines.append(f"  {self.description}")
        if self.params:
            lines.append("  parameters: " + ", ".join(f"{k} = {v}" for k, v in self.params.items()))
        if self.options:
            lines.append("  options: " + ", ".join(f"{k} = {v}" for k, v in self.options.items()))
        lines.append("  domain: " + self.domain_text())
        return "\n".join(lines)

    def domain_text(self) -> str:
        """``z₁, z₂ ∈ ℝ; y₁, y₂ ∈ [0, 1]``: each variable's set, as a textbook writes it.

        Examples
        --------
        >>> get("bce").domain_text()
        'p ∈ (0, 1); y ∈ [0, 1]'
        """
        groups: list[tuple[list[str], str]] = []
        for v in self.variables:
            shown = set_text(self.domain_of(v))
            if groups and groups[-1][1] == shown:
                groups[-1][0].append(readable_name(v.name))
            else:
                groups.append(([readable_name(v.name)], shown))
        return "; ".join(f"{', '.join(names)} ∈ {where}" for names, where in groups)

    def latex(self) -> str:
        """The defining equation in LaTeX."""
        args = ", ".join(latex(v) for v in self.variables)
        if self.kind == "expression":
            return rf"f\left({args}\right) = {latex(self.expr)}"
        return rf"{name_latex(self.name)}\left({args}\right) = {latex(self.expr)}"

    def _repr_latex_(self) -> str:
        return f"${self.latex()}$"

    def __repr__(self) -> str:
        return f"<Entry {self.kind} {self.signature()} = {sympy.sstr(self.expr)}>"


def _as_number(name: str, value: Any) -> sympy.Expr:
    try:
        number = (
            sympy.Float(value) if isinstance(value, float) else sympy.sympify(value, strict=True)
        )
    except (sympy.SympifyError, TypeError, ValueError):
        raise SymcalcError(f"parameter '{name}' must be a number, got {value!r}") from None
    if not number.is_number or not number.is_real or not number.is_finite:
        raise SymcalcError(f"parameter '{name}' must be a finite real number, got {value!r}")
    return number


def _defined(expr: sympy.Expr, values: Mapping[str, sympy.Expr], entry_name: str) -> sympy.Expr:
    """``expr`` with parameter ``values`` put in, or one line naming them where that leaves
    it undefined (softplus(βx)/β at β = 0 divides by zero)."""
    if values and expr.has(sympy.zoo, sympy.nan, sympy.oo, -sympy.oo):
        given = ", ".join(f"{k} = {sympy.sstr(v)}" for k, v in values.items())
        raise SymcalcError(
            f"{entry_name} is undefined for {given} (a division by zero or an infinite "
            "constant); choose another value"
        )
    return expr


def _as_options(values: Mapping[str, Any], entry_name: str) -> dict[str, int]:
    out = {}
    for key, value in values.items():
        try:
            as_int = int(value)
        except (TypeError, ValueError):
            raise SymcalcError(f"option '{key}' of {entry_name} must be a whole number") from None
        if as_int != value or not 2 <= as_int <= 64:
            raise SymcalcError(
                f"option '{key}' of {entry_name} must be a whole number from 2 to 64"
            )
        out[key] = as_int
    return out


# -- the registry ---------------------------------------------------------------


class _Registry(Mapping[str, "Entry"]):
    """Canonical name -> `Entry`, in registration order; built-in entries built on first use.

    Building a SymPy expression costs SymPy's evaluation (about 2 ms an entry), so the
    built-in entries are declared by name, kind and aliases and built when first looked
    up: ``symcalc derive sigmoid`` builds one entry, not the whole catalog.
    """

    def __init__(self) -> None:
        self._kinds: dict[str, str] = {}  # every name, in registration order
        self._built: dict[str, Entry] = {}
        self._pending: dict[str, tuple[tuple[str, ...], Callable[[], Entry]]] = {}
        self._summaries: dict[str, Summary] = {}  # of the declared entries
        self._lock = threading.RLock()

    def __getitem__(self, name: str) -> Entry:
        try:
            return self._built[name]
        except KeyError:
            pass
        with self._lock:
            if name not in self._built:
                aliases, build = self._pending[name]  # KeyError: not in the catalog
                entry = build()
                if (entry.name, entry.kind, entry.aliases) != (name, self._kinds[name], aliases):
                    raise SymcalcError(  # pragma: no cover - a declaration that lies
                        f"catalog entry '{name}' was declared with other names or kind"
                    )
                self._built[name] = entry
                del self._pending[name]
            return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self._kinds))

    def __len__(self) -> int:
        return len(self._kinds)

    def __contains__(self, name: object) -> bool:
        return name in self._kinds

    def kind_of(self, name: str) -> str:
        return self._kinds[name]

    def add(self, entry: Entry) -> None:
        with self._lock:
            self._kinds[entry.name] = entry.kind
            self._built[entry.name] = entry

    def declare(self, summary: Summary, aliases: tuple[str, ...], build: Callable[[], Entry]):
        with self._lock:
            self._kinds[summary.name] = summary.kind
            self._pending[summary.name] = (aliases, build)
            self._summaries[summary.name] = summary

    def summary(self, name: str) -> Summary:
        """What a listing shows of entry ``name``, without building it."""
        with self._lock:
            if name in self._built:
                return Summary.of(self._built[name])
            return self._summaries[name]

    def snapshot(self) -> tuple[dict, dict, dict]:
        """The state, for `restore` (tests register scratch entries and take them back)."""
        with self._lock:
            return dict(self._kinds), dict(self._built), dict(self._pending)

    def restore(self, state: tuple[dict, dict, dict]) -> None:
        with self._lock:
            for mine, saved in zip((self._kinds, self._built, self._pending), state, strict=True):
                mine.clear()
                mine.update(saved)


_REGISTRY = _Registry()
_ALIASES: dict[str, str] = {}

#: Read-only view of the catalog: canonical name -> `Entry` (built on first look-up).
CATALOG: Mapping[str, Entry] = _REGISTRY


def _key(name: str) -> str:
    return name.strip().lower().replace("-", "_")


def register(entry: Entry) -> Entry:
    """Add an entry (and its aliases) to the catalog; names must be new.

    A name is a Python identifier in lower case (``leaky_relu``); aliases are looked up
    ignoring case and hyphens.  Nothing is added when any name is refused.

    Examples
    --------
    >>> register(Entry("relu", "activation", x, (x,)))
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: catalog name 'relu' is already taken
    """
    if entry.kind not in KINDS:
        raise SymcalcError(f"kind must be one of {', '.join(KINDS)}, got {entry.kind!r}")
    if not (entry.name.isidentifier() and _key(entry.name) == entry.name):
        raise SymcalcError(
            f"catalog name {entry.name!r} must be a lower-case identifier, such as "
            f"'{_key(entry.name).replace(' ', '_')}'"
        )
    for alias in entry.aliases:
        if not _key(alias).isidentifier():
            raise SymcalcError(f"alias {alias!r} of '{entry.name}' must be an identifier")
    names = [_key(name) for name in (entry.name, *entry.aliases)]
    if len(set(names)) < len(names):
        raise SymcalcError(f"the names of '{entry.name}' repeat: {', '.join(names)}")
    _check_names_are_free(entry.name, entry.aliases)
    _REGISTRY.add(entry)
    for alias in entry.aliases:
        _ALIASES[_key(alias)] = entry.name
    return entry


def _check_names_are_free(name: str, aliases: tuple[str, ...]) -> None:
    for taken in (name, *aliases):
        if _key(taken) in _REGISTRY or _key(taken) in _ALIASES:
            raise SymcalcError(f"catalog name '{taken}' is already taken")


def _declare(summary: Summary, aliases: tuple[str, ...], build: Callable[[], Entry]) -> None:
    """Add a built-in entry (its summary: name, kind, variables, formula) and its aliases;
    `build` makes it on first look-up."""
    _check_names_are_free(summary.name, aliases)
    _REGISTRY.declare(summary, aliases, build)
    for alias in aliases:
        _ALIASES[_key(alias)] = summary.name


def canonical_name(name: str) -> str | None:
    """The catalog's own name for ``name`` or one of its aliases, else ``None``.

    Examples
    --------
    >>> canonical_name("Swish"), canonical_name("nope")
    ('silu', None)
    """
    key = _key(name)
    if key in _REGISTRY:
        return key
    return _ALIASES.get(key)


def all_names() -> list[str]:
    """Every name and alias the catalog answers to."""
    return sorted([*_REGISTRY, *_ALIASES])


def get(name: str, **params: Any) -> Entry:
    """The catalog entry called ``name`` (or an alias), with parameters optionally set.

    Examples
    --------
    >>> get("huber", delta=2).expr
    Piecewise(((p - y)**2/2, Abs(p - y) <= 2), (2*Abs(p - y) - 2, True))
    >>> get("sigmod")
    Traceback (most recent call last):
    ...
    symcalc.errors.SymcalcError: unknown function 'sigmod'; did you mean 'sigmoid'?
    """
    canonical = canonical_name(name) if isinstance(name, str) else None
    if canonical is None:
        raise SymcalcError(f"unknown function '{name}'{did_you_mean(_key(str(name)), all_names())}")
    entry = _REGISTRY[canonical]
    return entry.with_params(**params) if params else entry


def catalog(kind: str | None = None) -> list[Entry]:
    """The catalog's entries in registration order, optionally of one kind.

    Examples
    --------
    >>> [e.name for e in catalog("loss")][:3]
    ['squared_error', 'absolute_error', 'huber']
    """
    if kind is not None and kind not in KINDS:
        raise SymcalcError(f"kind must be 'activation' or 'loss', got {kind!r}")
    return [_REGISTRY[name] for name in names(kind)]


@dataclasses.dataclass(frozen=True)
class Summary:
    """What a listing shows of an entry: its name, kind, variable names and formula.

    ``formula`` is the expression as ``sympy.sstr`` prints it.
    """

    name: str
    kind: str
    variables: tuple[str, ...]
    formula: str

    @classmethod
    def of(cls, entry: Entry) -> Summary:
        names = tuple(v.name for v in entry.variables)
        return cls(entry.name, entry.kind, names, sympy.sstr(entry.expr))


def summaries(kind: str | None = None) -> list[Summary]:
    """Name, kind, variables and formula of each entry, optionally of one kind.

    Built-in entries that have not been built are not built: their formula text is
    declared beside them (``symcalc list`` prints the catalog without SymPy's work).

    Examples
    --------
    >>> summaries("activation")[1]
    Summary(name='sigmoid', kind='activation', variables=('x',), formula='1/(1 + exp(-x))')
    """
    return [_REGISTRY.summary(name) for name in names(kind)]


def names(kind: str | None = None) -> list[str]:
    """The canonical names, in registration order, optionally of one kind (builds nothing).

    Examples
    --------
    >>> names("loss")[:3]
    ['squared_error', 'absolute_error', 'huber']
    """
    if kind is not None and kind not in KINDS:
        raise SymcalcError(f"kind must be 'activation' or 'loss', got {kind!r}")
    return [name for name in _REGISTRY if kind is None or _REGISTRY.kind_of(name) == kind]


def _builtin(
    name: str,
    kind: str,
    *,
    formula: str,
    aliases: tuple[str, ...] = (),
    variables: tuple[sympy.Symbol, ...] = (x,),
) -> Callable[[Callable[[], dict[str, Any]]], None]:
    """Declare a built-in entry whose fields the decorated function makes on first use.

    ``formula`` is the expression as ``sympy.sstr`` prints it, for listings that build
    nothing (`summaries`); the tests check it against the built expression.
    """

    def declare(fields: Callable[[], dict[str, Any]]) -> None:
        def build() -> Entry:
            return Entry(name, kind, variables=variables, aliases=aliases, **fields())

        _declare(Summary(name, kind, tuple(v.name for v in variables), formula), aliases, build)

    return declare


# -- activations -----------------------------------------------------------------

alpha, beta, slope, scale, delta = (symbol(n) for n in ("alpha", "beta", "slope", "scale", "delta"))
lambd, b = symbol("lambd"), symbol("b")  # PyTorch spells λ lambd (lambda is a keyword)
_s = sigmoid(x)


@_builtin("identity", "activation", aliases=("linear",), formula="x")
def _identity_fields() -> dict[str, Any]:
    return dict(
        expr=x,
        description="the identity (linear) activation",
        identity=S.One,
    )


@_builtin("sigmoid", "activation", aliases=("logistic", "expit"), formula="1/(1 + exp(-x))")
def _sigmoid_fields() -> dict[str, Any]:
    return dict(
        expr=1 / (1 + exp(-x)),
        description="logistic sigmoid, squashes ℝ onto (0, 1)",
        identity=_s * (1 - _s),
        plot_range=(-6.0, 6.0),
    )


@_builtin("tanh", "activation", formula="tanh(x)")
def _tanh_fields() -> dict[str, Any]:
    return dict(
        expr=tanh(x),
        description="hyperbolic tangent, squashes ℝ onto (-1, 1)",
        identity=1 - tanh(x) ** 2,
        plot_range=(-4.0, 4.0),
    )


@_builtin("relu", "activation", formula="Max(0, x)")
def _relu_fields() -> dict[str, Any]:
    return dict(
        expr=_max(0, x),
        description="rectified linear unit max(0, x)",
        identity=Piecewise((1, x > 0), (0, True)),
        plot_range=(-3.0, 3.0),
    )


@_builtin("leaky_relu", "activation", formula="Piecewise((x, x > 0), (slope*x, True))")
def _leaky_relu_fields() -> dict[str, Any]:
    return dict(
        expr=Piecewise((x, x > 0), (slope * x, True)),
        description="ReLU with a small slope for negative inputs",
        params={"slope": Rational(1, 100)},
        identity=Piecewise((1, x > 0), (slope, True)),
        plot_range=(-3.0, 3.0),
    )


@_builtin("relu6", "activation", formula="Min(6, Max(0, x))")
def _relu6_fields() -> dict[str, Any]:
    return dict(
        expr=_min(_max(0, x), 6),
        description="ReLU capped at 6 (MobileNet)",
        identity=Piecewise((1, (x > 0) & (x < 6)), (0, True)),
        plot_range=(-2.0, 8.0),
    )


@_builtin("elu", "activation", formula="Piecewise((x, x > 0), (alpha*(exp(x) - 1), True))")
def _elu_fields() -> dict[str, Any]:
    return dict(
        expr=Piecewise((x, x > 0), (alpha * (exp(x) - 1), True)),
        description="exponential linear unit",
        params={"alpha": S.One},
        identity=Piecewise((1, x > 0), (alpha * exp(x), True)),
        plot_range=(-4.0, 3.0),
    )


@_builtin("selu", "activation", formula="scale*Piecewise((x, x > 0), (alpha*(exp(x) - 1), True))")
def _selu_fields() -> dict[str, Any]:
    return dict(
        expr=scale * Piecewise((x, x > 0), (alpha * (exp(x) - 1), True)),
        description="scaled ELU (self-normalizing networks)",
        params={
            "scale": sympy.Float("1.0507009873554804934193349852946", 30),
            "alpha": sympy.Float("1.6732632423543772848170429916717", 30),
        },
        identity=scale * Piecewise((1, x > 0), (alpha * exp(x), True)),
        plot_range=(-4.0, 3.0),
    )


@_builtin("celu", "activation", formula="Piecewise((x, x > 0), (alpha*(exp(x/alpha) - 1), True))")
def _celu_fields() -> dict[str, Any]:
    return dict(
        expr=Piecewise((x, x > 0), (alpha * (exp(x / alpha) - 1), True)),
        description="continuously differentiable ELU",
        params={"alpha": S.One},
        identity=Piecewise((1, x > 0), (exp(x / alpha), True)),
        plot_range=(-4.0, 3.0),
    )


@_builtin("softplus", "activation", formula="log(exp(beta*x) + 1)/beta")
def _softplus_fields() -> dict[str, Any]:
    return dict(
        expr=log(1 + exp(beta * x)) / beta,
        description="smooth ReLU, log(1 + exp(βx))/β",
        params={"beta": S.One},
        identity=sigmoid(beta * x),
    )


@_builtin("softsign", "activation", formula="x/(Abs(x) + 1)")
def _softsign_fields() -> dict[str, Any]:
    return dict(
        expr=x / (1 + Abs(x)),
        description="x / (1 + |x|)",
        identity=1 / (1 + Abs(x)) ** 2,
        plot_range=(-8.0, 8.0),
    )


@_builtin("silu", "activation", aliases=("swish",), formula="x/(1 + exp(-x))")
def _silu_fields() -> dict[str, Any]:
    return dict(
        expr=x / (1 + exp(-x)),
        description="sigmoid-weighted linear unit x·σ(x)",
        identity=_s * (1 + x * (1 - _s)),
        plot_range=(-6.0, 4.0),
    )


@_builtin("gelu", "activation", formula="x*(erf(sqrt(2)*x/2) + 1)/2")
def _gelu_fields() -> dict[str, Any]:
    return dict(
        expr=x / 2 * (1 + erf(x / sqrt(2))),
        description="Gaussian error linear unit x·Φ(x), exact erf form",
        identity=(1 + erf(x / sqrt(2))) / 2 + x * exp(-(x**2) / 2) / sqrt(2 * pi),
        plot_range=(-4.0, 3.0),
    )


@_builtin(
    "gelu_tanh",
    "activation",
    aliases=("gelu_approx",),
    formula="x*(tanh(sqrt(2)*(8943*x**3/200000 + x)/sqrt(pi)) + 1)/2",
)
def _gelu_tanh_fields() -> dict[str, Any]:
    c = Rational(44715, 1000000)
    u = sqrt(2 / pi) * (x + c * x**3)
    return dict(
        expr=x / 2 * (1 + tanh(u)),
        description="GELU, the tanh approximation (GPT-2, BERT)",
        identity=(1 + tanh(u)) / 2 + x / 2 * (1 - tanh(u) ** 2) * sqrt(2 / pi) * (1 + 3 * c * x**2),
        plot_range=(-4.0, 3.0),
    )


@_builtin("mish", "activation", formula="x*tanh(log(exp(x) + 1))")
def _mish_fields() -> dict[str, Any]:
    softplus_x = log(1 + exp(x))
    return dict(
        expr=x * tanh(softplus_x),
        description="self-regularized activation x·tanh(softplus(x))",
        identity=tanh(softplus_x) + x * _s * (1 - tanh(softplus_x) ** 2),
        plot_range=(-6.0, 4.0),
    )


@_builtin(
    "hard_sigmoid", "activation", aliases=("hardsigmoid",), formula="Min(1, Max(0, x/6 + 1/2))"
)
def _hard_sigmoid_fields() -> dict[str, Any]:
    return dict(
        expr=_min(_max(0, x / 6 + S.Half), 1),
        description="piecewise-linear sigmoid, relu6(x + 3)/6",
        identity=Piecewise((Rational(1, 6), (x > -3) & (x < 3)), (0, True)),
    )


@_builtin("hard_tanh", "activation", aliases=("hardtanh",), formula="Min(1, Max(-1, x))")
def _hard_tanh_fields() -> dict[str, Any]:
    return dict(
        expr=_min(_max(-1, x), 1),
        description="tanh clipped to a line, max(-1, min(1, x))",
        identity=Piecewise((1, (x > -1) & (x < 1)), (0, True)),
        plot_range=(-3.0, 3.0),
    )


@_builtin("hard_swish", "activation", aliases=("hardswish",), formula="x*Min(6, Max(0, x + 3))/6")
def _hard_swish_fields() -> dict[str, Any]:
    return dict(
        expr=x * _min(_max(0, x + 3), 6) / 6,
        description="x·relu6(x + 3)/6 (MobileNetV3)",
        identity=Piecewise((0, x < -3), (x / 3 + S.Half, x < 3), (1, True)),
    )


@_builtin("log_sigmoid", "activation", aliases=("logsigmoid",), formula="-log(1 + exp(-x))")
def _log_sigmoid_fields() -> dict[str, Any]:
    return dict(
        expr=-log(1 + exp(-x)),
        description="log σ(x) = -softplus(-x)",
        identity=sigmoid(-x),
    )


@_builtin("gaussian", "activation", formula="exp(-x**2)")
def _gaussian_fields() -> dict[str, Any]:
    return dict(
        expr=exp(-(x**2)),
        description="Gaussian bump exp(-x²) (RBF networks)",
        identity=-2 * x * exp(-(x**2)),
        plot_range=(-3.0, 3.0),
    )


@_builtin("sinusoid", "activation", aliases=("sin", "sine"), formula="sin(x)")
def _sinusoid_fields() -> dict[str, Any]:
    return dict(
        expr=sin(x),
        description="sine activation (SIREN)",
        identity=cos(x),
        plot_range=(-6.3, 6.3),
    )


@_builtin("tanhshrink", "activation", aliases=("tanh_shrink",), formula="x - tanh(x)")
def _tanhshrink_fields() -> dict[str, Any]:
    return dict(
        expr=x - tanh(x),
        description=(
            "the residual x - tanh(x): like x³/3 near 0, like x ∓ 1 far away (PyTorch Tanhshrink)"
        ),
        identity=tanh(x) ** 2,
        plot_range=(-4.0, 4.0),
    )


@_builtin(
    "hardshrink",
    "activation",
    aliases=("hard_shrink",),
    formula="Piecewise((x, lambd < Abs(x)), (0, True))",
)
def _hardshrink_fields() -> dict[str, Any]:
    return dict(
        expr=Piecewise((x, Abs(x) > lambd), (0, True)),
        description="keeps x where |x| > λ, else 0 (PyTorch Hardshrink; λ is its lambd)",
        params={"lambd": S.Half},
        identity=Piecewise((1, Abs(x) > lambd), (0, True)),
        plot_range=(-2.0, 2.0),
    )


@_builtin(
    "softshrink",
    "activation",
    aliases=("soft_shrink",),
    formula="Piecewise((-lambd + x, lambd < x), (lambd + x, lambd < -x), (0, True))",
)
def _softshrink_fields() -> dict[str, Any]:
    return dict(
        expr=Piecewise((x - lambd, x > lambd), (x + lambd, x < -lambd), (0, True)),
        description="moves x towards 0 by λ, 0 where |x| ≤ λ (PyTorch Softshrink; λ is its lambd)",
        params={"lambd": S.Half},
        identity=Piecewise((1, Abs(x) > lambd), (0, True)),
        plot_range=(-2.0, 2.0),
    )


@_builtin("squareplus", "activation", formula="x/2 + sqrt(b + x**2)/2")
def _squareplus_fields() -> dict[str, Any]:
    return dict(
        expr=(x + sqrt(x**2 + b)) / 2,
        description="(x + √(x² + b))/2, a smooth ReLU from algebra alone (JAX squareplus)",
        params={"b": Integer(4)},
        identity=(1 + x / sqrt(x**2 + b)) / 2,
        plot_range=(-4.0, 4.0),
    )


@_builtin(
    "sparse_plus",
    "activation",
    aliases=("sparseplus",),
    formula="Piecewise((0, x <= -1), ((x + 1)**2/4, x < 1), (x, True))",
)
def _sparse_plus_fields() -> dict[str, Any]:
    return dict(
        expr=Piecewise((0, x <= -1), ((x + 1) ** 2 / 4, x < 1), (x, True)),
        description=(
            "0, then (x + 1)²/4 on (-1, 1), then x: a smooth ReLU with a flat part "
            "(JAX sparse_plus)"
        ),
        identity=Min(Max(0, (x + 1) / 2), 1),
        plot_range=(-2.5, 2.5),
    )


# -- losses ------------------------------------------------------------------------

_r = p - y
_probability = Interval.open(0, 1)
_unit = Interval(0, 1)
_pm_one = sympy.FiniteSet(-1, 1)


@_builtin(
    "squared_error",
    "loss",
    aliases=("mse", "l2", "squared_loss"),
    variables=(p, y),
    formula="(p - y)**2",
)
def _squared_error_fields() -> dict[str, Any]:
    return dict(
        expr=_r**2,
        description="squared error (p - y)²; averaged over samples it is the MSE",
        identity=2 * _r,
        fixed={"y": 0.0},
        plot_range=(-3.0, 3.0),
    )


@_builtin("absolute_error", "loss", aliases=("mae", "l1"), variables=(p, y), formula="Abs(p - y)")
def _absolute_error_fields() -> dict[str, Any]:
    return dict(
        expr=Abs(_r),
        description="absolute error |p - y|; averaged over samples it is the MAE",
        identity=sign(_r),
        fixed={"y": 0.0},
        plot_range=(-3.0, 3.0),
    )


@_builtin(
    "huber",
    "loss",
    aliases=("huber_loss",),
    variables=(p, y),
    formula="Piecewise(((p - y)**2/2, delta >= Abs(p - y)), (delta*(-delta/2 + Abs(p - y)), True))",
)
def _huber_fields() -> dict[str, Any]:
    return dict(
        expr=Piecewise((_r**2 / 2, Abs(_r) <= delta), (delta * (Abs(_r) - delta / 2), True)),
        description="quadratic near the target, linear beyond delta",
        params={"delta": S.One},
        identity=Piecewise((_r, Abs(_r) <= delta), (delta * sign(_r), True)),
        fixed={"y": 0.0},
        plot_range=(-3.0, 3.0),
    )


@_builtin("log_cosh", "loss", aliases=("logcosh",), variables=(p, y), formula="log(cosh(p - y))")
def _log_cosh_fields() -> dict[str, Any]:
    return dict(
        expr=log(sympy.cosh(_r)),
        description="log(cosh(p - y)): like squared error near 0, absolute far away",
        identity=tanh(_r),
        fixed={"y": 0.0},
        plot_range=(-3.0, 3.0),
    )


@_builtin(
    "binary_cross_entropy",
    "loss",
    aliases=("bce", "log_loss"),
    variables=(p, y),
    formula="-y*log(p) - (1 - y)*log(1 - p)",
)
def _binary_cross_entropy_fields() -> dict[str, Any]:
    return dict(
        expr=-(y * log(p) + (1 - y) * log(1 - p)),
        description="cross-entropy of a probability p against a label y",
        domain={"p": _probability, "y": _unit},
        identity=(p - y) / (p * (1 - p)),
        fixed={"y": 1.0},
        plot_range=(0.001, 0.999),
    )


@_builtin(
    "binary_cross_entropy_with_logits",
    "loss",
    aliases=("bce_with_logits", "logistic_loss"),
    variables=(z, y),
    formula="-y*log(1/(1 + exp(-z))) - (1 - y)*log(1 - 1/(1 + exp(-z)))",
)
def _binary_cross_entropy_with_logits_fields() -> dict[str, Any]:
    sz = 1 / (1 + exp(-z))
    return dict(
        expr=-(y * log(sz) + (1 - y) * log(1 - sz)),
        description="cross-entropy of σ(z) against a label y, taken on the logit z",
        domain={"y": _unit},
        identity=sigmoid(z) - y,
        fixed={"y": 1.0},
        plot_range=(-6.0, 6.0),
    )


@_builtin("hinge", "loss", variables=(p, y), formula="Max(0, -p*y + 1)")
def _hinge_fields() -> dict[str, Any]:
    return dict(
        expr=_max(0, 1 - y * p),
        description="margin loss max(0, 1 - y·p) for labels ±1 (SVM)",
        domain={"y": _pm_one},
        identity=Piecewise((-y, y * p < 1), (0, True)),
        fixed={"y": 1.0},
        plot_range=(-2.0, 3.0),
    )


@_builtin("squared_hinge", "loss", variables=(p, y), formula="Max(0, -p*y + 1)**2")
def _squared_hinge_fields() -> dict[str, Any]:
    return dict(
        expr=_max(0, 1 - y * p) ** 2,
        description="max(0, 1 - y·p)², the smooth hinge",
        domain={"y": _pm_one},
        identity=-2 * y * _max(0, 1 - y * p),
        fixed={"y": 1.0},
        plot_range=(-2.0, 3.0),
    )


def _softmax_cross_entropy(K: int = 3) -> Entry:
    zs = [symbol(f"z_{k}") for k in range(1, K + 1)]
    ys = [symbol(f"y_{k}") for k in range(1, K + 1)]
    total = sum(exp(zk) for zk in zs)
    expr = -sum(yk * log(exp(zk) / total) for yk, zk in zip(ys, zs, strict=False))
    return Entry(
        "categorical_cross_entropy",
        "loss",
        expr,
        (*zs, *ys),
        f"cross-entropy of softmax(z) against a probability vector y, K = {K} classes",
        aliases=("cross_entropy", "softmax_cross_entropy"),
        domain={str(yk): _unit for yk in ys},
        identity=exp(zs[0]) / total - ys[0],
        constraints=(sum(ys) - 1,),
        fixed={str(zk): 0.0 for zk in zs[1:]} | {"y_1": 1.0} | {str(yk): 0.0 for yk in ys[1:]},
        options={"K": K},
        builder=_softmax_cross_entropy,
    )


_declare(
    Summary(
        "categorical_cross_entropy",
        "loss",
        ("z_1", "z_2", "z_3", "y_1", "y_2", "y_3"),
        "-y_1*log(exp(z_1)/(exp(z_1) + exp(z_2) + exp(z_3)))"
        " - y_2*log(exp(z_2)/(exp(z_1) + exp(z_2) + exp(z_3)))"
        " - y_3*log(exp(z_3)/(exp(z_1) + exp(z_2) + exp(z_3)))",
    ),
    ("cross_entropy", "softmax_cross_entropy"),
    _softmax_cross_entropy,
)


def univariate_entry(entry: Entry) -> Entry:
    """``f`` as a function of one variable: parameters bound, other variables fixed.

    Catalog losses become functions of their first variable with the others at
    ``entry.fixed`` (binary cross-entropy: ``-log(p)`` at ``y = 1``).  A user
    expression must have exactly one variable.

    Examples
    --------
    >>> univariate_entry(get("huber")).expr
    Piecewise((p**2/2, Abs(p) <= 1), (Abs(p) - 1/2, True))
    >>> univariate_entry(get("binary_cross_entropy")).expr  # y fixed at 1
    -log(p)
    """
    if entry.kind == "expression" and len(entry.variables) == 1 and not entry.params:
        return entry
    expr = entry.univariate()
    var = entry.variable
    others = sorted(s.name for s in expr.free_symbols if s != var)
    if others:
        names = ", ".join(v.name for v in entry.variables)
        raise SymcalcError(
            f"'{entry.name}' is a function of {names}; this needs a function of one variable: "
            f"write numbers for {', '.join(others)}"
        )
    domain = {var.name: entry.domain_of(var)} if var.name in entry.domain else {}
    identity = None
    if entry.identity is not None:
        identity = entry.univariate(entry.identity)
        if identity.free_symbols - {var}:
            identity = None
    return dataclasses.replace(
        entry,
        expr=expr,
        variables=(var,),
        params={},
        fixed={},
        domain=domain,
        identity=identity,
        options={},
        builder=None,
        constraints=(),
    )
