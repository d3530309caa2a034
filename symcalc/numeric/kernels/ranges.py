"""Value ranges of the kernel graph's nodes, for finite inputs (interval arithmetic).

Each node class has a ``range(args)`` method: the interval its value lies in when its
operands lie in ``args`` (`Range` objects), computed in floating point and rounded
outwards only by saturation (a bound past the largest float is infinite).  `ranges`
walks a graph from its inputs' ranges (the whole finite line, or a variable's domain);
a `Select` narrows an input's range in each branch when its condition compares that
input with a number (elu's exp(x) is only used where x <= 0, so it lies in (0, 1]).

The emitters ask two questions of it: can a node's value be infinite or NaN although
every input is finite (then the kernel checks its output, see `Kernel`), and is a factor
bounded (then a product multiplies it by its small coefficient first, so that
x·clip(x + 3, 0, 6)/6 does not overflow at the largest x).
"""

from __future__ import annotations

import dataclasses
import math
import sys
from collections.abc import Mapping, Sequence

__all__ = ["ALL", "FINITE", "FLOAT32_MAX", "MAX", "Range", "overflows_float32", "ranges"]

#: The largest finite float.
MAX = sys.float_info.max
#: The largest finite float32: a node whose range reaches past it may overflow in float32
#: where float64 holds (exp(x²)·expm1(x²) at x = 7).
FLOAT32_MAX = 3.4028234663852886e38


@dataclasses.dataclass(frozen=True)
class Range:
    """lo <= value <= hi; ``nan``: the value may be NaN."""

    lo: float
    hi: float
    nan: bool = False

    @property
    def finite(self) -> bool:
        return math.isfinite(self.lo) and math.isfinite(self.hi) and not self.nan

    @property
    def magnitude(self) -> float:
        return max(abs(self.lo), abs(self.hi))

    def contains_zero(self) -> bool:
        return self.lo <= 0.0 <= self.hi

    def union(self, other: Range) -> Range:
        return Range(min(self.lo, other.lo), max(self.hi, other.hi), self.nan or other.nan)


#: Anything at all.
ALL = Range(-math.inf, math.inf, True)
#: A finite input.
FINITE = Range(-MAX, MAX)


def _clean(values: Sequence[float], nan: bool = False) -> Range:
    if any(math.isnan(v) for v in values):
        return ALL
    return Range(saturate(min(values)), saturate(max(values)), nan)


def saturate(v: float) -> float:
    """Past the largest float a floating-point result is infinite."""
    return v if abs(v) <= MAX else math.copysign(math.inf, v)


def point(value: float) -> Range:
    return Range(value, value, math.isnan(value))


def add(a: Range, b: Range) -> Range:
    lo, hi = a.lo + b.lo, a.hi + b.hi
    nan = a.nan or b.nan or math.isnan(lo) or math.isnan(hi)
    return Range(-math.inf, math.inf, True) if nan else Range(saturate(lo), saturate(hi))


def neg(a: Range) -> Range:
    return Range(-a.hi, -a.lo, a.nan)


def mul(a: Range, b: Range) -> Range:
    products = [_product(x, y) for x in (a.lo, a.hi) for y in (b.lo, b.hi)]
    nan = a.nan or b.nan or any(math.isnan(p) for p in products)
    if nan and not (a.nan or b.nan):  # 0·inf: the product of a zero and an overflow
        products = [p for p in products if not math.isnan(p)] + [0.0]
    products = [p for p in products if not math.isnan(p)] or [-math.inf, math.inf]
    return _clean(products, nan)


def _product(x: float, y: float) -> float:
    if (x == 0 and math.isinf(y)) or (y == 0 and math.isinf(x)):
        return math.nan
    return x * y


def reciprocal(a: Range) -> Range:
    if a.lo <= 0.0 <= a.hi:
        return Range(-math.inf, math.inf, a.nan or a.lo == a.hi == 0)
    ends = [1.0 / v if v != 0 else math.copysign(math.inf, v) for v in (a.lo, a.hi)]
    return _clean(ends, a.nan)


def monotone(function, a: Range, lo_domain: float = -math.inf) -> Range:
    """An increasing function of the range (NaN possible below ``lo_domain``)."""
    nan = a.nan or a.lo < lo_domain
    lo = function(max(a.lo, lo_domain))
    hi = function(a.hi) if a.hi >= lo_domain else lo
    return _clean([lo, hi], nan)


def exp(a: Range) -> Range:
    return monotone(_safe(math.exp, math.inf), a)


def _safe(function, overflow: float):
    """``function`` with an overflow giving ``±overflow`` (the sign of the argument's:
    sinh(-1e300) is -inf) and a value outside its domain giving -inf."""

    def safe(v: float) -> float:
        if v == math.inf:
            return overflow
        try:
            return function(max(v, -MAX))
        except OverflowError:
            return math.copysign(overflow, v)
        except ValueError:
            return -math.inf

    return safe


def square(a: Range) -> Range:
    m = a.magnitude
    near = min(abs(a.lo), abs(a.hi))
    lo = 0.0 if a.contains_zero() else near * near  # (** 2 raises OverflowError past 1e154)
    return _clean([lo, m * m if math.isfinite(m) else math.inf], a.nan)


def bounded(lo: float, hi: float, a: Range) -> Range:
    """A function with values in [lo, hi] for every argument (NaN only from a NaN)."""
    return Range(lo, hi, a.nan)


def periodic(lo: float, hi: float, a: Range) -> Range:
    """sin, cos: values in [lo, hi], NaN from a NaN and from an infinite argument (sin(2x)
    where 2x overflows, |x| > 9e307: the kernel then checks its output and computes those
    elements again in long double; they were NaN)."""
    return Range(lo, hi, a.nan or math.isinf(a.lo) or math.isinf(a.hi))


def narrow(a: Range, lo: float = -math.inf, hi: float = math.inf) -> Range:
    return Range(max(a.lo, lo), min(a.hi, hi), a.nan)


def _erfc(v: float) -> float:
    return math.erfc(v)


def _erfcx(v: float) -> float:
    """exp(v²)·erfc(v) (decreasing; inf below -26.6, 1/(√π·v) beyond 1e8)."""
    if v < -26.5:
        return math.inf
    if v < 20:
        return math.exp(v * v) * math.erfc(v)
    if v > 1e8:
        return 1 / (math.sqrt(math.pi) * v)
    t = v
    for k in range(40, 0, -1):  # the continued fraction 1/(v + (1/2)/(v + 1/(v + ...)))
        t = v + 0.5 * k / t
    return 1 / (math.sqrt(math.pi) * t)


def _log(v: float) -> float:
    return math.log(v) if v > 0 else -math.inf


def _closest_to_zero(a: Range) -> float:
    return 0.0 if a.contains_zero() else min(abs(a.lo), abs(a.hi))


#: Ranges of the functions a `Unary` node applies, by SymPy name.
UNARY = {
    "exp": exp,
    "log": lambda a: monotone(_log, a, 0.0),
    "tanh": lambda a: monotone(math.tanh, a),
    "sinh": lambda a: monotone(_safe(math.sinh, math.inf), a),
    "cosh": lambda a: Range(1.0, _safe(math.cosh, math.inf)(a.magnitude), a.nan),
    "sin": lambda a: periodic(-1.0, 1.0, a),
    "cos": lambda a: periodic(-1.0, 1.0, a),
    "tan": lambda a: ALL,
    "asin": lambda a: Range(-math.pi / 2, math.pi / 2, a.nan or a.lo < -1 or a.hi > 1),
    "acos": lambda a: Range(0.0, math.pi, a.nan or a.lo < -1 or a.hi > 1),
    "atan": lambda a: monotone(math.atan, a),
    "asinh": lambda a: monotone(math.asinh, a),
    "acosh": lambda a: monotone(_safe(math.acosh, math.inf), a, 1.0),
    "atanh": lambda a: ALL,
    "Abs": lambda a: Range(_closest_to_zero(a), a.magnitude, a.nan),
    "sign": lambda a: bounded(-1.0, 1.0, a),
    "erf": lambda a: monotone(math.erf, a),
    "erfc": lambda a: Range(_erfc(a.hi), _erfc(a.lo), a.nan),
    "erfcx": lambda a: Range(_erfcx(a.hi), _erfcx(a.lo), a.nan),
    "expm1": lambda a: monotone(_safe(math.expm1, math.inf), a),
}


def ranges(graph, root: int, inputs: Mapping[str, Range]) -> dict[int, Range]:
    """The range of every node reachable from ``root`` (under the inputs' ranges; inside a
    `Select` branch, under the branch's narrowed ranges, merged over all uses)."""
    out: dict[int, Range] = {}
    memo: dict[tuple[int, tuple], Range] = {}

    def visit(i: int, env: tuple) -> Range:
        key = (i, env)
        if key in memo:
            return memo[key]
        node = graph.nodes[i]
        env_map = dict(env)
        refine = getattr(node, "branch_inputs", None)  # a Select: each branch where it is used
        if refine is not None:
            then_env, else_env = refine(graph, env_map)
            cond = visit(node.cond, env)
            args = [cond, visit(node.a, _key(then_env)), visit(node.b, _key(else_env))]
        else:
            args = [visit(c, env) for c in node.children]
        result = node.range(args, env_map)
        memo[key] = result
        out[i] = out[i].union(result) if i in out else result
        return result

    visit(root, _key(dict(inputs)))
    return out


def _key(env: Mapping[str, Range]) -> tuple:
    return tuple(sorted(env.items()))


def overflows_float32(graph, root: int, inputs: Mapping[str, Range]) -> bool:
    """Whether some node may pass float32's largest number (or be NaN) for float32 inputs
    in ``inputs``' ranges: float64 may hold where float32 does not."""
    narrowed = {}
    for name in graph.names.values():
        given = inputs.get(name, FINITE)
        narrowed[name] = Range(max(given.lo, -FLOAT32_MAX), min(given.hi, FLOAT32_MAX))
    found = ranges(graph, root, narrowed)
    return any(r.nan or r.magnitude > FLOAT32_MAX for r in found.values())
