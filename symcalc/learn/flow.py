"""Gradient flow across depth: why deep sigmoid networks stopped training.

A network of L layers of ``width`` units, a⁽ˡ⁾ = f(z⁽ˡ⁾), z⁽ˡ⁾ = W⁽ˡ⁾a⁽ˡ⁻¹⁾ (biases 0, as
at initialization), is drawn at random (`symcalc.learn.initializers`), with a random
input a⁽⁰⁾ ~ N(0, I) and the objective J = u·a⁽ᴸ⁾ for a random unit vector u, so that
‖∂J/∂a⁽ᴸ⁾‖ = 1.  Backpropagation

    δ⁽ˡ⁾ = ∂J/∂z⁽ˡ⁾ = ∂J/∂a⁽ˡ⁾ ⊙ f′(z⁽ˡ⁾),    ∂J/∂a⁽ˡ⁻¹⁾ = W⁽ˡ⁾ᵀ δ⁽ˡ⁾

carries the gradient down; f and f′ are symcalc's stable kernels
(`symcalc.numeric.kernels.kernel`, f′ derived symbolically), so any catalog activation or
a user's expression works.  `gradient_flow` records ‖∂J/∂a⁽ᴸ⁻ᵏ⁾‖ after k = 0..L layers
for each of ``seeds`` random networks, and beside it the bound the chain rule gives,

    ‖∂J/∂a⁽ᴸ⁻ᵏ⁾‖ ≤ Πⱼ sup|f′| · ‖W⁽ᴸ⁻ʲ⁾‖₂   (j < k),

with sup|f′| from `symcalc.numeric.bounds.derivative_bound` and ‖W‖₂ the spectral norm:
about (sup|f′|·‖W‖)ᵏ.  σ′ ≤ 1/4 makes sigmoid gradients vanish geometrically; ReLU with He
initialization keeps their size.

Examples
--------
>>> flow = gradient_flow(("sigmoid", "relu"), depth=20, width=32, init="he", seeds=5)
>>> [f"{c.activation}: {c.median[-1]:.0e}" for c in flow.curves]
['sigmoid: 6e-11', 'relu: 5e-01']
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import sympy

from ..errors import SymcalcError
from ..hooks import png_of
from ..symbolic.catalog import Entry, univariate_entry
from ..symbolic.parse import resolve
from .initializers import initial_weights, weight_scale

__all__ = ["FlowCurve", "GradientFlow", "RandomNetwork", "gradient_flow", "random_network"]

#: Limits on the size of the study.
MAX_DEPTH, MAX_WIDTH, MAX_SEEDS = 1000, 4096, 1000


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class RandomNetwork:
    """One random network at initialization: its weights, input and output direction.

    ``weights[l - 1]`` is W⁽ˡ⁾ (width × width), ``x`` the input a⁽⁰⁾ and ``u`` the unit
    vector of J = u·a⁽ᴸ⁾.
    """

    weights: tuple[np.ndarray, ...]
    x: np.ndarray
    u: np.ndarray

    def __repr__(self) -> str:
        depth, width = len(self.weights), self.x.size
        return f"<RandomNetwork {depth} layers × {width} units>"


def random_network(width: int, depth: int, init: str = "xavier", seed: int = 0) -> RandomNetwork:
    """The network `gradient_flow` draws for ``seed``: the same seed gives the same network.

    Examples
    --------
    >>> net = random_network(4, 3, "he", seed=1)
    >>> len(net.weights), net.weights[0].shape, round(float(np.linalg.norm(net.u)), 12)
    (3, (4, 4), 1.0)
    """
    weight_scale(init, width, width)  # refuses an unknown name
    rng = np.random.default_rng(seed)
    weights = tuple(initial_weights((width, width), init, rng) for _ in range(depth))
    x = rng.standard_normal(width)
    u = rng.standard_normal(width)
    return RandomNetwork(weights, x, u / np.linalg.norm(u))


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class FlowCurve:
    """‖∂J/∂a⁽ᴸ⁻ᵏ⁾‖ for k = 0..L on each random network, and the chain-rule bound.

    ``norms`` and ``bounds`` have one row per network (seed) and one column per k.
    """

    activation: str
    entry: Entry
    sup_derivative: float
    norms: np.ndarray
    bounds: np.ndarray

    @property
    def layers(self) -> np.ndarray:
        """k = 0..L: the number of layers the gradient has been carried back through."""
        return np.arange(self.norms.shape[1])

    @property
    def median(self) -> np.ndarray:
        return _percentile(self.norms, 50)

    @property
    def quartiles(self) -> tuple[np.ndarray, np.ndarray]:
        """The 25th and 75th percentiles over the networks, at each k."""
        return _percentile(self.norms, 25), _percentile(self.norms, 75)

    @property
    def bound_median(self) -> np.ndarray:
        return _percentile(self.bounds, 50)

    @property
    def rate(self) -> float:
        """The median factor per layer, (‖∂J/∂a⁽⁰⁾‖ / ‖∂J/∂a⁽ᴸ⁾‖)^(1/L)."""
        last = float(self.median[-1])
        depth = self.norms.shape[1] - 1
        if not last > 0 or not math.isfinite(last):
            return 0.0 if last == 0 else math.inf
        return math.exp(math.log(last) / depth)

    @property
    def note(self) -> str:
        """Why a number is missing (JSON null, 'overflow' in the table), or ''."""
        notes = []
        if not math.isfinite(self.sup_derivative):
            notes.append("f′ is unbounded (sup|f′| = ∞), so the chain rule gives no bound")
        bad = ~np.isfinite(self.norms)
        if bad.any():
            first = int(np.argmax(bad.any(axis=0)))
            networks = int(bad.any(axis=1).sum())
            notes.append(
                f"‖∂J/∂a‖ is not a finite number from k = {first} on in {networks} of "
                f"{self.norms.shape[0]} networks (the forward pass or the gradient overflowed)"
            )
        return "; ".join(notes)

    def to_dict(self) -> dict[str, Any]:
        q1, q3 = self.quartiles
        return {
            "activation": self.activation,
            "sup_derivative": _number(self.sup_derivative),
            "layers": self.layers.tolist(),
            "median": _numbers(self.median),
            "q1": _numbers(q1),
            "q3": _numbers(q3),
            "bound": _numbers(self.bound_median),
            "rate": _number(self.rate),
            "note": self.note or None,
        }

    def __repr__(self) -> str:
        return (
            f"<FlowCurve {self.activation}: ×{self.rate:.3g} per layer, "
            f"‖∂J/∂a⁽⁰⁾‖ ≈ {self.median[-1]:.3g}>"
        )


def _percentile(values: np.ndarray, q: float) -> np.ndarray:
    """Percentile over the networks; where norms overflowed to inf the result may be inf or
    NaN (inf − inf), which the JSON form turns into null."""
    with np.errstate(invalid="ignore"):
        return np.percentile(values, q, axis=0)


def _shown(value: float, spec: str, infinite: str = "overflow") -> str:
    """A number for the table: ``infinite`` for ±inf, 'overflow' for NaN (inf − inf)."""
    if math.isfinite(value):
        return format(value, spec)
    return infinite if math.isinf(value) else "overflow"


def _number(value: float) -> float | None:
    return float(value) if math.isfinite(value) else None


def _numbers(values: np.ndarray) -> list[float | None]:
    return [_number(float(v)) for v in values]


@dataclasses.dataclass(frozen=True, repr=False, eq=False)
class GradientFlow:
    """Gradient norms across depth for several activations on the same random networks."""

    curves: tuple[FlowCurve, ...]
    depth: int
    width: int
    init: str
    seeds: int
    seed: int

    def to_text(self) -> str:
        """A table: sup|f′|, ‖∂J/∂a⁽⁰⁾‖ (median and quartiles), the factor per layer, the bound."""
        lines = [
            f"gradient flow at initialization: {self.depth} layers × {self.width} units, "
            f"{self.init} initialization, {self.seeds} random networks",
            "‖∂J/∂a⁽ᴸ⁾‖ = 1 at the output (J = u·a⁽ᴸ⁾, u a random unit vector); "
            f"after {self.depth} layers back:",
        ]
        names = [c.activation for c in self.curves]
        width = max(10, *(len(n) for n in names))
        lines.append(
            f"  {'activation':<{width}}  {'sup|f′|':>9}  {'‖∂J/∂a⁽⁰⁾‖ median [quartiles]':>33}"
            f"  {'per layer':>9}  {'bound':>9}"
        )
        for c in self.curves:
            q1, q3 = (q[-1] for q in c.quartiles)
            spread = f"{_shown(c.median[-1], '.3g')} [{_shown(q1, '.2g')}, {_shown(q3, '.2g')}]"
            rate = "×" + _shown(c.rate, ".3g")
            bound = _shown(c.bound_median[-1], ".3g") if math.isfinite(c.sup_derivative) else "∞"
            lines.append(
                f"  {c.activation:<{width}}  {_shown(c.sup_derivative, '.4g', '∞'):>9}  "
                f"{spread:>33}  {rate:>9}  {bound:>9}"
            )
        lines.append("bound: Π sup|f′|·‖W⁽ˡ⁾‖₂ over the layers passed (median over the networks)")
        lines += [f"{c.activation}: {c.note}" for c in self.curves if c.note]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form; a norm that overflowed or is undefined is null."""
        return {
            "depth": self.depth,
            "width": self.width,
            "init": self.init,
            "seeds": self.seeds,
            "seed": self.seed,
            "objective": "J = u·a^(L), u a random unit vector",
            "activations": [c.to_dict() for c in self.curves],
        }

    def _repr_png_(self) -> bytes:
        return png_of(self)

    def __repr__(self) -> str:
        rates = ", ".join(f"{c.activation} ×{c.rate:.3g}" for c in self.curves)
        return f"<GradientFlow {self.depth} layers × {self.width}, {self.init}: {rates} per layer>"


def _activation(activation: str | sympy.Expr | Entry) -> Entry:
    entry = univariate_entry(resolve(activation))
    if entry.kind == "loss":
        raise SymcalcError(
            f"'{entry.name}' is a loss; give an activation, a function of x, in `activations`",
            parameter="activations",
        )
    return entry


def _count(value: Any, name: str, largest: int) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise SymcalcError(f"`{name}` must be a whole number, got {value!r}", parameter=name)
    if not 1 <= value <= largest:
        raise SymcalcError(f"`{name}` must be from 1 to {largest}, got {value}", parameter=name)
    return int(value)


@functools.lru_cache(maxsize=64)
def _sup_derivative_cached(name: str, srepr: str) -> float:
    from ..numeric.bounds import derivative_bound

    return derivative_bound(_ENTRIES[(name, srepr)]).sup


_ENTRIES: dict[tuple[str, str], Entry] = {}


def _sup_derivative(name: str, srepr: str, entry: Entry) -> float:
    """sup|f′| of the activation (`symcalc.numeric.bounds`), computed once per process."""
    _ENTRIES.setdefault((name, srepr), entry)
    return _sup_derivative_cached(name, srepr)


def _backpropagate(net: RandomNetwork, f, df) -> np.ndarray:
    """‖∂J/∂a⁽ᴸ⁻ᵏ⁾‖ for k = 0..L: the forward pass, then the chain rule layer by layer."""
    a, zs = net.x, []
    for W in net.weights:
        z = W @ a
        zs.append(z)
        a = np.asarray(f(z), dtype=float)
    g = net.u
    norms = [float(np.linalg.norm(g))]
    for W, z in zip(reversed(net.weights), reversed(zs), strict=True):
        g = W.T @ (g * np.asarray(df(z), dtype=float))
        norms.append(float(np.linalg.norm(g)))
    return np.array(norms)


def _chain_bound(net: RandomNetwork, sup: float) -> np.ndarray:
    """Πⱼ<ₖ sup|f′|·‖W⁽ᴸ⁻ʲ⁾‖₂ for k = 0..L."""
    factors = [sup * float(np.linalg.norm(W, 2)) for W in reversed(net.weights)]
    return np.concatenate([[1.0], np.cumprod(factors)])


def gradient_flow(
    activations: Sequence[str | sympy.Expr | Entry] = ("sigmoid", "tanh", "relu", "gelu"),
    *,
    depth: int = 50,
    width: int = 64,
    init: str = "xavier",
    seeds: int = 20,
    seed: int = 0,
) -> GradientFlow:
    """‖∂J/∂a⁽ˡ⁾‖ layer by layer on ``seeds`` random networks per activation, with its bound.

    Every activation runs on the same networks (seeds ``seed``, ``seed + 1``, ...), so
    the curves differ only by f.  See the module docstring for the set-up.

    Examples
    --------
    >>> flow = gradient_flow(["tanh", "x/(1 + abs(x))"], depth=10, width=16, seeds=3)
    >>> [c.activation for c in flow.curves], flow.curves[0].norms.shape
    (['tanh', 'x/(1 + abs(x))'], (3, 11))
    """
    from ..numeric.kernels import kernel

    depth = _count(depth, "depth", MAX_DEPTH)
    width = _count(width, "width", MAX_WIDTH)
    seeds = _count(seeds, "seeds", MAX_SEEDS)
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise SymcalcError(f"`seed` must be a whole number ≥ 0, got {seed!r}", parameter="seed")
    weight_scale(init, width, width)
    if isinstance(activations, (str, sympy.Expr, Entry)):
        activations = [activations]
    if not activations:
        raise SymcalcError(
            "give at least one activation, as in `activations=sigmoid,relu`",
            parameter="activations",
        )
    entries = [(a if isinstance(a, str) else None, _activation(a)) for a in activations]
    networks = [random_network(width, depth, init, seed + s) for s in range(seeds)]
    curves = []
    for text, entry in entries:
        f, df = kernel(entry), kernel(entry, order=1)
        sup = _sup_derivative(entry.name, sympy.srepr(entry.expr), entry)
        with np.errstate(over="ignore", invalid="ignore"):
            norms = np.array([_backpropagate(net, f, df) for net in networks])
            bounds = np.array([_chain_bound(net, sup) for net in networks])
        name = text if text is not None else entry.name
        curves.append(FlowCurve(name, entry, sup, norms, bounds))
    return GradientFlow(tuple(curves), depth, width, init, seeds, seed)
