"""The partial derivatives of a function, each derived symbolically and made stable.

A `Partials` holds one entry (catalog name, expression or `Entry`) and builds, on
request and once, the `Partial` for a multi-index: ``()`` the function itself,
``(0,)`` d/dx, ``(0, 1)`` d²/dp dy.  Each is derived the way `symcalc.derivative`
derives (one `differentiate` and one `tidy` per order, the kink convention applied),
so a pure partial is the very expression `symcalc.kernel` compiles, and its stable
form (`symcalc.numeric.kernels.stable_form`: rewrites and polynomial branches) is
shared with the NumPy kernels through their cache.  Mixed partials are taken in the
order of the variables (they agree wherever the function is twice differentiable).

Examples
--------
>>> partials = Partials("binary_cross_entropy_with_logits")
>>> [v.name for v in partials.variables]
['z', 'y']
>>> partials.get((0,)).notation()
'd/dz'
>>> partials.get((0,)).form.lowered
-y*sigmoid(-z) - (y - 1)*sigmoid(z)
"""

from __future__ import annotations

import dataclasses
import functools
import keyword
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import sympy

from ..errors import SymcalcError
from ..numeric.kernels import StableForm, stable_form
from ..numeric.kernels.api import domain_range, within_build_budget
from ..numeric.kernels.backends import finite_dtypes
from ..numeric.kernels.lowering import pre_lower
from ..symbolic.catalog import Entry
from ..symbolic.derivatives import differentiate, tidy
from ..symbolic.domains import entry_nan_outside_domain
from ..symbolic.kinks import apply_convention, heaviside_at_zero
from ..symbolic.parse import resolve
from .memo import Memo

__all__ = ["Partial", "Partials", "check_order_max", "python_names"]

#: Names generated code uses at module level or inside bodies: a variable never takes one.
RESERVED = frozenset(
    {"jax", "jnp", "torch", "np", "scipy", "functools", "math", "SymbolicZero", "NAN", "INF"}
)


def check_order_max(order_max: Any) -> int:
    """``order_max`` as a whole number from 0 to 4 (one custom derivative level each)."""
    if isinstance(order_max, bool) or not isinstance(order_max, int) or not 0 <= order_max <= 4:
        raise SymcalcError(f"order_max must be a whole number from 0 to 4, got {order_max!r}")
    return order_max


def python_names(variables: Sequence[sympy.Symbol]) -> list[str]:
    """Identifiers for the variables in generated code: their own names where safe.

    A name that is not an identifier, is a keyword, starts with ``_``, looks like a
    generated temporary (``v3``, ``v3_1``) or is one of `RESERVED` becomes ``a<i>``.

    Examples
    --------
    >>> python_names(sympy.symbols("x lambda v1 y"))
    ['x', 'a1', 'a2', 'y']
    """
    names = []
    for i, v in enumerate(variables):
        name = v.name
        safe = (
            name.isidentifier()
            and name.isascii()
            and not keyword.iskeyword(name)
            and not name.startswith("_")
            and not re.fullmatch(r"[va]\d+(_\d+)*", name)
            and name not in RESERVED
        )
        names.append(name if safe else f"a{i}")
    if len(set(names)) != len(names):
        names = [f"a{i}" for i in range(len(variables))]
    return names


@dataclasses.dataclass(frozen=True, repr=False)
class Partial:
    """∂^k f/∂v_i ∂v_j ... of ``entry``: ``index`` the positions in ``variables``, sorted.

    ``expr`` is the derivative as derived (parameters as symbols), ``form`` its stable
    form with parameters bound.
    """

    entry: Entry
    variables: tuple[sympy.Symbol, ...]
    index: tuple[int, ...]
    expr: sympy.Expr
    form: StableForm

    @property
    def order(self) -> int:
        return len(self.index)

    def _counts(self, names: Sequence[str]) -> list[tuple[str, int]]:
        counts: dict[str, int] = {}
        for i in self.index:
            counts[names[i]] = counts.get(names[i], 0) + 1
        return list(counts.items())

    def _parts(self, names: Sequence[str]) -> list[str]:
        """``dx2`` for x twice; a name ending in a digit is repeated instead (``dz_1 dz_1``)."""
        parts = []
        for n, c in self._counts(names):
            if c == 1 or n[-1].isdigit():
                parts += [f"d{n}"] * c
            else:
                parts.append(f"d{n}{c}")
        return parts

    def notation(self, names: Sequence[str] | None = None) -> str:
        """``d/dx``, ``d2/dx2``, ``d2/dp dy`` (empty for the function itself)."""
        if not self.index:
            return ""
        names = names or [v.name for v in self.variables]
        k = "" if self.order == 1 else str(self.order)
        return f"d{k}/{' '.join(self._parts(names))}"

    def python_name(self, base: str, names: Sequence[str]) -> str:
        """``base``, ``d_base_dx``, ``d2_base_dx2``, ``d2_base_dp_dy``."""
        if not self.index:
            return base
        k = "" if self.order == 1 else str(self.order)
        return f"d{k}_{base}_{'_'.join(self._parts(names))}"

    def lowered_for(self, framework: str) -> sympy.Expr:
        """The stable form pre-lowered for whole-array code in ``framework`` (the
        sign-split forms; a NumPy module too: the NumPy kernels' own forms lean on their
        recomputation in extended range, which a standalone module does not have)."""
        return pre_lower(self.form.branched, "array")

    @functools.cached_property
    def finite(self) -> tuple[str, ...]:
        """The dtypes in which the array code is finite for finite inputs in the
        variables' domains (range analysis of the kernel graph): there a JAX JVP
        multiplies by its tangent plainly, without the care a partial that may overflow
        needs (`symcalc.export.runtime`)."""
        domains = [domain_range(self.entry, v) for v in self.variables]
        return finite_dtypes(self.lowered_for("jax"), self.variables, domains)

    def __repr__(self) -> str:
        what = self.notation() or "f"
        return f"<Partial {what} = {sympy.sstr(self.expr)}, evaluated as {self.form.lowered}>"


class Partials:
    """The partial derivatives of one function, built on request, once (thread-safe).

    ``f`` is a catalog name, an expression (text or SymPy) or an `Entry`; ``params``
    override catalog parameters; ``convention`` sets derivatives at kinks.
    """

    def __init__(
        self,
        f: str | sympy.Expr | Entry,
        *,
        params: Mapping[str, Any] | None = None,
        convention: str = "zero",
    ):
        heaviside_at_zero(convention)
        self.entry = resolve(f, **dict(params or {}))
        self.convention = convention
        self._built: Memo[tuple[int, ...], Partial] = Memo()
        function = self.get(())
        self.variables: tuple[sympy.Symbol, ...] = function.form.variables

    def get(self, index: Iterable[int]) -> Partial:
        """The partial derivative along the variables at positions ``index`` (any order)."""
        return self._built.get(tuple(sorted(index)), self._build)

    def _build(self, index: tuple[int, ...]) -> Partial:
        """One partial, under the CPU budget of a kernel build (the kernels' own)."""
        return within_build_budget(self.entry, len(index), self._partial, index)

    def _partial(self, index: tuple[int, ...]) -> Partial:
        # every partial is NaN where f is not real, as the kernels are (the form only:
        # ``expr`` is the derivative as printed)
        if not index:
            expr = apply_convention(self.entry.expr, self.convention)
            form = stable_form(self.entry, entry_nan_outside_domain(self.entry, expr))
            return Partial(self.entry, form.variables, (), expr, form)
        parent = self.get(index[:-1])
        var = self.variables[index[-1]]
        start = self.entry.expr if len(index) == 1 else parent.expr
        expr, _ = tidy(differentiate(start, var, self.convention))
        # the derivative before simplification joined its terms: labels that switch a term
        # off (y·log p at y = 0) are read from it, as the NumPy kernels read them
        raw = sympy.diff(self.entry.expr, *(self.variables[i] for i in index))
        wrt = var if len(set(index)) == 1 else None
        guarded = entry_nan_outside_domain(self.entry, expr)
        form = stable_form(self.entry, guarded, raw=raw, wrt=wrt)
        return Partial(self.entry, self.variables, index, expr, form)

    def all(self, order_max: int) -> list[Partial]:
        """Every partial up to ``order_max``, by order, then by index."""
        out = [self.get(())]
        frontier = [()]
        for _ in range(order_max):
            frontier = sorted(
                {tuple(sorted(i + (j,))) for i in frontier for j in range(len(self.variables))}
            )
            out += [self.get(i) for i in frontier]
        return out
