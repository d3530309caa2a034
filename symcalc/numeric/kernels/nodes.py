"""The kernel graph's nodes: one small class per kind of operation.

A node holds its operands as node ids (the graph interns nodes, so equal nodes are one
value computed once) and its literal parameters as strings.  Each class says, in one
place, everything the compiler needs to know about its operation:

``children``
    the operand ids, in the order the emitters pass their code as ``args``;
``hazards(args)``
    the operands the output buffer must not overwrite (they are read after the first
    write into it);
``numpy(em, args, out)``
    NumPy ufunc calls writing into the buffer ``out`` (``em`` is the `NumpyEmitter`);
``scalar(p, args)``
    a Python scalar expression for the numba backend's fused loop (``p`` is the
    `ScalarPrinter`, which decides scalar syntax);
``array(p, args, em)``
    a whole-array expression for libraries that trace array code functionally (JAX,
    PyTorch, plain NumPy); ``p`` is an `ArrayPrinter` that spells calls, conditionals
    and the stable helpers for its library, ``em`` the emitter (node ranges, or None).
    By default it is the ``scalar`` code, which goes through the printer too; nodes
    whose scalar code uses Python's scalar-only syntax (``max``, ``min``, ``and``,
    ``not``, ``if``) override it, and a product orders its factors by their ranges as
    its NumPy code does (there is no long double second pass for array code).
``range(args, inputs)``
    the interval of its value given its operands' (`symcalc.numeric.kernels.ranges`).

Adding a kernel primitive is one class here and one entry of ``BUILDERS`` in
`symcalc.numeric.kernels.graph`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from typing import ClassVar, Protocol

from . import ranges as r

# -- what a node needs from the code writers (they import this module, not the reverse) ---


class NumpyEmitter(Protocol):
    """What a node's ``numpy`` method uses of `symcalc.numeric.kernels.emit.NumpyEmitter`."""

    def node(self, i: int) -> Node: ...
    def emit(self, line: str) -> None: ...
    def preamble(self, line: str) -> None: ...
    def compute_again(self) -> None: ...
    def inputs(self) -> list[str]: ...
    def range(self, i: int) -> r.Range: ...
    def constant(self, value: str) -> str: ...
    def take(self, kind: str) -> str: ...
    def give(self, name: str) -> None: ...
    def chain(self, op: str, values: Sequence[str], out: str) -> None: ...


class ScalarPrinter(Protocol):
    """What ``scalar`` uses of `symcalc.numeric.kernels.printers.ScalarPrinter`."""

    def call(self, function: str, *args: str) -> str: ...
    def comparison(self, ufunc: str) -> str: ...
    def conditional(self, then: str, cond: str, otherwise: str) -> str: ...


class ArrayPrinter(ScalarPrinter, Protocol):
    """What ``array`` uses of `symcalc.numeric.kernels.printers.ArrayPrinter`."""

    def fold(self, name: str, args: Sequence[str]) -> str: ...
    def clip(self, a: str, lo: str, hi: str) -> str: ...
    def product(
        self,
        top: Sequence[str],
        bottom: Sequence[str],
        coeff: str | None,
        *,
        coeff_first: bool = False,
        zero_wins: Sequence[str] = (),
    ) -> str: ...


class ExpressionEmitter(Protocol):
    """What ``array`` uses of `symcalc.numeric.kernels.emit.ExpressionEmitter`."""

    def node(self, i: int) -> Node: ...
    def range(self, i: int) -> r.Range: ...


__all__ = [
    "Add",
    "Clip",
    "Compare",
    "Const",
    "ExpBesideErfc",
    "ExpCapped",
    "Fold",
    "Guard",
    "Hypot",
    "Indicator",
    "Input",
    "Log1p",
    "Logic",
    "MishSlope",
    "Mul",
    "NegAbs",
    "Node",
    "Not",
    "OnePlus",
    "Power",
    "Quotient",
    "Reciprocal",
    "ReciprocalCapped",
    "Root",
    "Sech",
    "SechSquared",
    "Select",
    "Sigmoid",
    "SigmoidPair",
    "SigmoidShared",
    "Square",
    "Unary",
]


@dataclasses.dataclass(frozen=True)
class Node:
    """One value of the kernel graph; subclasses say how each backend computes it."""

    #: Whether the value is a boolean array (comparisons, logic), kept in bool buffers.
    boolean: ClassVar[bool] = False
    #: Whether the value falls to exactly 0 where its argument runs off (σ(-∞) = 0, sech,
    #: exp(-∞)): a product with such a factor is 0 there even if another factor overflowed.
    decays: ClassVar[bool] = False

    @property
    def children(self) -> tuple[int, ...]:
        return ()

    def hazards(self, args: Sequence[str], em: NumpyEmitter | None = None) -> list[str]:
        """Operands the output must not overwrite: they are read after the first write."""
        return []

    def accumulable(self, em: NumpyEmitter | None = None) -> tuple[int, ...]:
        """Operands the root may compute straight into ``out`` and then update in place."""
        return ()

    def numpy(self, em: NumpyEmitter, args: Sequence[str], out: str) -> None:
        raise NotImplementedError(type(self).__name__)  # pragma: no cover - every node has one

    def scalar(self, p: ScalarPrinter, args: Sequence[str]) -> str:
        raise NotImplementedError(type(self).__name__)  # pragma: no cover - every node has one

    def array(
        self, p: ArrayPrinter, args: Sequence[str], em: ExpressionEmitter | None = None
    ) -> str:
        """A whole-array expression of the operands' code (JAX, PyTorch, NumPy)."""
        return self.scalar(p, args)

    def range(self, args: Sequence[r.Range], inputs: Mapping[str, r.Range]) -> r.Range:
        """Where the value lies when the operands lie in ``args`` (anywhere, by default)."""
        return r.ALL


# -- leaves ----------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Leaf(Node):
    """A value that needs no computation: an argument or a literal."""

    code: str

    def scalar(self, p, args):
        return self.code


@dataclasses.dataclass(frozen=True)
class Input(Leaf):
    """A kernel argument (``a0``, ``a1``, ...: generated names, never a symbol's own)."""

    def range(self, args, inputs):
        return inputs.get(self.code, r.FINITE)


_LITERALS = {"NAN": math.nan, "INF": math.inf, "-INF": -math.inf, "True": 1.0, "False": 0.0}


@dataclasses.dataclass(frozen=True)
class Const(Leaf):
    """A number as a Python literal (a weak scalar: float32 arrays stay float32)."""

    @property
    def value(self) -> float:
        return _LITERALS[self.code] if self.code in _LITERALS else float(self.code)

    def range(self, args, inputs):
        return r.point(self.value)


# -- arithmetic ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Add(Node):
    """pos[0] + pos[1] + ... - neg[0] - ... + constant."""

    pos: tuple[int, ...]
    neg: tuple[int, ...]
    constant: str | None

    @property
    def children(self):
        return self.pos + self.neg

    def hazards(self, args, em=None):
        neg = list(args[len(self.pos) :])
        return neg[1:] if not self.pos else neg

    def accumulable(self, em=None):
        return self.pos

    def numpy(self, em, args, out):
        p, q = list(args[: len(self.pos)]), list(args[len(self.pos) :])
        constant = self.constant
        if len(p) >= 2:
            em.chain("np.add", p, out)
        elif len(p) == 1 and q:
            em.emit(f"np.subtract({p[0]}, {q[0]}, out={out})")
            q = q[1:]
        elif len(p) == 1:
            em.emit(f"np.add({p[0]}, {constant or '0.0'}, out={out})")
            constant = None
        else:
            em.emit(f"np.negative({q[0]}, out={out})")
            q = q[1:]
        for val in q:
            em.emit(f"np.subtract({out}, {val}, out={out})")
        if constant is not None:
            em.emit(f"np.add({out}, {constant}, out={out})")

    def scalar(self, p, args):
        pos, neg = args[: len(self.pos)], args[len(self.pos) :]
        text = " + ".join(pos) if pos else ""
        for val in neg:
            text = f"{text} - {val}" if text else f"-{val}"
        if self.constant is not None:
            text = f"{text} + {self.constant}"
        return f"({text})"

    def range(self, args, inputs):
        total = r.point(float(self.constant) if self.constant is not None else 0.0)
        for a in args[: len(self.pos)]:
            total = r.add(total, a)
        for a in args[len(self.pos) :]:
            total = r.add(total, r.neg(a))
        return total


@dataclasses.dataclass(frozen=True)
class Mul(Node):
    """coeff · num[0] · num[1] ... / den[0] / den[1] ... (one factor at a time: no overflow
    or underflow of a product of denominators).

    A coefficient below 1 in magnitude multiplies first, and bounded factors (σ, clip,
    erfc, ...) before unbounded ones: x·clip(x + 3, 0, 6)/6 is (clip/6)·x, which does
    not overflow where x is the largest float.  Where a factor that decays to exactly 0
    (σ(-u), exp(-u²)) meets a factor that overflowed, the NumPy product is inf·0 = NaN,
    which the kernel computes again in extended range (long double, then mpmath): the decay
    need not win (exp(x²)·exp(-x²) in erf(x)/(1 + x⁴)″, exp(u)·σ(-u) = σ(u)).  Array code
    takes the 0 (`array`) beside factors that overflow slowly (polynomials: x² at x = 1e200
    beside exp(-x²/2)); beside an exponential that may overflow only where an input is
    infinite, and leaves NaN elsewhere (the JAX kernel's output check computes it again).
    Where a denominator overflowed, the quotient (2u/(u² + 1) at u = 1e200: 0) is
    computed again the same way.
    """

    num: tuple[int, ...]
    den: tuple[int, ...]
    coeff: str | None

    @property
    def children(self):
        return self.num + self.den

    def hazards(self, args, em=None):
        bottom = list(args[len(self.num) :])
        out = bottom if len(self.num) >= 2 else bottom[1:]
        small, large = self._lifted(em)
        kept = [args[i] for i in dict.fromkeys(self._decaying(em) + small + large)]
        return out + kept + self._overflowing(em, bottom)

    def _overflowing(self, em, bottom: Sequence[str]) -> list[str]:
        """The denominators whose range reaches ±inf: where one overflowed, the quotient
        (2u/(u² + 1) at u = 1e200: 0) is computed again in extended range."""
        if em is None:
            return []
        found = [b for b, c in zip(bottom, self.den, strict=True) if not em.range(c).finite]
        return list(dict.fromkeys(found))

    def accumulable(self, em=None):
        small, large = self._lifted(em)
        kept = set(self._decaying(em) + small + large)  # read after the product: not out
        return tuple(c for i, c in enumerate(self.num) if i not in kept)

    def _lifted(self, em) -> tuple[list[int], list[int]]:
        """(factors that may underflow, factors that may lift them back): the positions
        of factors whose value may fall below the normal numbers (exp(-x), a far branch's
        1/x⁴) in a product with a factor of more than `_LIFT` in magnitude, which brings
        the lost digits back into the normal range: x⁴·exp(-x) at x = 730 (exp(-x) is
        subnormal: 1.8e-7 off), x²·(1/x⁴) at x = 1e84 (0 for 1e-168).  Such elements are
        computed again in extended range (`symcalc.numeric.kernels.runtime.again_where_lifted`)."""
        if em is None or len(self.num) < 2:
            return [], []
        sites = getattr(em, "lift_sites", None)
        if sites is not None and em.graph.index[self] not in sites:
            return [], []  # a probe of the kernel found no element that needs it
        ranges = [em.range(c) for c in self.num]
        large = [i for i, rg in enumerate(ranges) if rg.magnitude > _LIFT]
        small = [
            i
            for i, c in enumerate(self.num)
            if ranges[i].contains_zero() and _may_underflow(em, c) and any(j != i for j in large)
        ]
        return small, large if small else []

    def _decaying(self, em) -> list[int]:
        """The positions of factors whose exact 0 must win over another factor's overflow."""
        if em is None or len(self.num) < 2:
            return []
        ranges = [em.range(c) for c in self.num]
        found = [
            i
            for i, c in enumerate(self.num)
            if em.node(c).decays
            and ranges[i].contains_zero()
            and not all(rg.finite for j, rg in enumerate(ranges) if j != i)
        ]
        return found

    def _order(self, em, top: list[str]) -> list[str]:
        """Bounded factors first (their range is finite), the others after, in their order."""
        pairs = list(zip(top, self.num, strict=True))
        bounded = [a for a, c in pairs if em.range(c).finite]
        return bounded + [a for a, c in pairs if not em.range(c).finite]

    def numpy(self, em, args, out):
        top, bottom = list(args[: len(self.num)]), args[len(self.num) :]
        coeff = self.coeff
        if len(top) >= 2:
            order = self._order(em, top)
            if out in order[1:]:  # update out in place: it goes first
                order.remove(out)
                order.insert(0, out)
            if _shrinks(coeff):
                em.emit(f"np.multiply({order[0]}, {coeff}, out={out})")
                for val in order[1:]:
                    em.emit(f"np.multiply({out}, {val}, out={out})")
                coeff = None
            else:
                em.chain("np.multiply", order, out)
            numerator = out
        elif len(top) == 1:
            numerator = top[0]
        else:
            numerator = coeff or "1.0"
            coeff = None
        for i, val in enumerate(bottom):
            em.emit(f"np.divide({numerator if i == 0 else out}, {val}, out={out})")
            numerator = out
        if coeff is not None:
            if coeff == "-1.0":
                em.emit(f"np.negative({numerator}, out={out})")
            else:
                em.emit(f"np.multiply({numerator}, {coeff}, out={out})")
        elif numerator != out:
            em.emit(f"np.multiply({numerator}, 1.0, out={out})")
        inputs = f"({', '.join(em.inputs())},)"
        decaying = [top[i] for i in self._decaying(em)]
        if decaying:  # the limit where an input is infinite; NaN for the second pass elsewhere
            em.emit(f"_zero_wins({out}, ({', '.join(decaying)},), {inputs})")
        overflowing = self._overflowing(em, bottom)
        if overflowing:
            em.emit(f"_again_where_infinite({out}, ({', '.join(overflowing)},), {inputs})")
        small, large = self._lifted(em)
        if small:
            signed = any(em.range(self.num[i]).lo < 0.0 for i in small)
            # a coefficient below 1 multiplies first: it may take a normal factor below
            # the normal numbers (1e-5·exp(u) in gelu_tanh' at x = -10 in float32)
            shrink = abs(float(self.coeff)) if _shrinks(self.coeff) else 1.0
            em.emit(
                f"_again_where_lifted({out}, ({', '.join(top[i] for i in small)},), "
                f"({', '.join(top[i] for i in large)},), {inputs}, {signed}, {shrink!r}, "
                f"{em.graph.index[self]})"
            )
        if overflowing or decaying:
            em.compute_again()

    def scalar(self, p, args):
        top, bottom = args[: len(self.num)], args[len(self.num) :]
        text = " * ".join(top) if top else (self.coeff or "1.0")
        for val in bottom:
            text = f"({text}) / {val}"
        if top and self.coeff is not None:
            text = f"({text}) * {self.coeff}"
        return f"({text})"

    def range(self, args, inputs):
        total = r.point(float(self.coeff) if self.coeff is not None else 1.0)
        top = args[: len(self.num)]
        for a in top:
            total = r.mul(total, a)
        for a in args[len(self.num) :]:
            total = r.mul(total, r.reciprocal(a))
        if total.nan and not any(a.nan for a in args) and any(t.contains_zero() for t in top):
            total = r.Range(total.lo, total.hi, False)  # 0·overflow: 0 in array code
            # (not beside an exponential: NaN there, `_grows_exponentially`)
        return total  # (NumPy computes such elements again: `NumpyEmitter.compute_again`)

    def array(self, p, args, em=None):
        """Bounded factors first, as in `numpy`; a small coefficient multiplies the factor
        of largest range first (never a tiny bounded one, which it could push below the
        normal numbers: XLA flushes those to 0); 0 where a decaying factor is 0."""
        top, bottom = list(args[: len(self.num)]), args[len(self.num) :]
        if em is None:
            return p.product(top, bottom, self.coeff)
        decaying = [top[i] for i in self._decaying(em)]
        coeff_first = len(top) >= 2 and _shrinks(self.coeff)
        pairs = list(zip(top, self.num, strict=True))
        if len(top) >= 2:  # bounded first, as `_order` does
            pairs.sort(key=lambda pair: not em.range(pair[1]).finite)
        if coeff_first:
            biggest = max(range(len(pairs)), key=lambda i: em.range(pairs[i][1]).magnitude)
            pairs.insert(0, pairs.pop(biggest))
        top = [a for a, _ in pairs]
        bottom = list(bottom)
        safe = [
            b
            for b, c in zip(bottom, self.den, strict=True)
            if em.range(c).finite and (em.range(c).lo >= 1.0 or em.range(c).hi <= -1.0)
        ]
        small = [a for a, c in pairs if em.range(c).magnitude <= _SMALL]
        if safe and small and len(small) < len(top) and not coeff_first:
            # small / D (1 <= |D|, bounded) before the large factors: x·A/(2 + cos x)³ is
            # (A/(2 + cos x)³)·x, finite where the value is (x = 1.8e308)
            inner = p.divide(" * ".join(small), safe)
            top = [f"({inner})", *(a for a in top if a not in small)]
            bottom = [b for b in bottom if b not in safe]
        # beside a factor that grows exponentially the decay need not win (exp(u)·σ(-u))
        races = decaying and any(
            _grows_exponentially(em, c)
            for i, c in enumerate(self.num)
            if i not in self._decaying(em)
        )
        inputs = list(em.graph.names.values()) if races else None
        text = p.product(
            top, bottom, self.coeff, coeff_first=coeff_first, zero_wins=decaying, inputs=inputs
        )
        return self._indicator_selects(p, em, args, text)

    def _indicator_selects(self, p, em, args: Sequence[str], text: str) -> str:
        """An indicator (1 where p·y < 1, else 0) selects rather than multiplies: where it
        is 0 and another factor overflowed (4p·y - 2 at p·y = 1e308) the product is its 0,
        not inf·0 = NaN.  Only beside factors whose range reaches ±inf, and only from
        finite inputs: NaN stays NaN, and an infinite input gives NaN as the NumPy kernels
        do (the torch-op code and the NumPy route of `to_torch` agree there)."""
        top = args[: len(self.num)]
        zeros = [
            a
            for a, c in zip(top, self.num, strict=True)
            if isinstance(em.node(c), Indicator) and float(em.node(c).otherwise) == 0.0
        ]
        unbounded = [
            a
            for a, c in zip(top, self.num, strict=True)
            if a not in zeros and not em.range(c).finite
        ]
        if not zeros or not unbounded:
            return text
        zero = " | ".join(f"({z} == 0.0)" for z in zeros)
        inf = " | ".join(f"{p.MODULE}.isinf({a})" for a in unbounded)
        zero, inf = (f"({t})" if " | " in t else t for t in (zero, inf))
        finite = " & ".join(f"{p.MODULE}.isfinite({a})" for a in em.graph.names.values())
        return p.conditional("0.0", f"{zero} & {inf} & {finite}", text)


#: A product's factors of at most this magnitude meet a bounded denominator first.
_SMALL = 2.0**64
#: A factor larger than this may lift a subnormal factor's rounding error above the
#: promise: a subnormal f carries an absolute error of up to half its last place, so a
#: normal f·L is off by up to L·2^-1075 / 2^-1022 in float64, which passes 1e-12 from
#: L = 2^13 on, and by L·2^-150 / 2^-126 in float32, past 1e-5 from L = 2^7.4.
_LIFT = 2.0**7


def _may_underflow(em, i: int) -> bool:
    """Whether node ``i`` may fall below the normal numbers where its value does not:
    a decaying function (exp(-x), σ(-x)), a quotient by an unbounded denominator (a far
    branch's 1/x⁴), or a product, square or branch of such a value."""
    node = em.node(i)
    if node.decays:
        return True
    if isinstance(node, Mul):
        return any(not em.range(d).finite for d in node.den) or any(
            _may_underflow(em, c) for c in node.num
        )
    if isinstance(node, Select):
        return _may_underflow(em, node.a) or _may_underflow(em, node.b)
    if isinstance(node, (Guard, Square)):
        return _may_underflow(em, node.a)
    return False


def _grows_exponentially(em, i: int, seen: set[int] | None = None) -> bool:
    """Whether node ``i`` is or uses an exponential (exp, cosh, sinh) that may overflow
    for finite inputs: beside it a decaying factor's 0 need not win in a product
    (σ(u)·exp(-u²/2)·exp(u²/2 + 2u) is finite where both exponentials left float64)."""
    seen = set() if seen is None else seen
    if i in seen:
        return False
    seen.add(i)
    node = em.node(i)
    if isinstance(node, Unary) and node.function in ("exp", "cosh", "sinh"):
        if not em.range(i).finite:
            return True
    return any(_grows_exponentially(em, c, seen) for c in node.children)


#: float32's smallest normal number: a log's operand that may fall below it may have lost
#: digits (float64's is smaller; float32 kernels use the same code).
_TINY32 = 1.1754943508222875e-38


def _shrinks(coeff: str | None) -> bool:
    """Whether a product's coefficient is below 1 in magnitude (it multiplies first)."""
    return coeff is not None and coeff != "-1.0" and abs(float(coeff)) < 1.0


@dataclasses.dataclass(frozen=True)
class Unary(Node):
    """A function of one operand that NumPy has as a ufunc (``np.exp``, ``erf_array``, ...).

    ``function`` is the SymPy function's name; the printer knows its scalar spelling.
    """

    ufunc: str
    function: str
    a: int

    @property
    def children(self):
        return (self.a,)

    @property
    def decays(self) -> bool:  # exp(-∞) = 0, erfc(∞) = 0
        return self.function in ("exp", "erfc")

    def numpy(self, em, args, out):
        em.emit(f"{self.ufunc}({args[0]}, out={out})")
        if self.function == "log" and em.range(self.a).lo < _TINY32:
            # log of a value below the normal numbers: its digits may be lost already
            em.emit(f"_again_where_log_subnormal({out}, ({', '.join(em.inputs())},))")
            em.compute_again()

    def scalar(self, p, args):
        return p.call(self.function, args[0])

    def range(self, args, inputs):
        return r.UNARY.get(self.function, lambda a: r.ALL)(args[0])


@dataclasses.dataclass(frozen=True)
class Square(Node):
    """a²."""

    a: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"np.square({args[0]}, out={out})")

    def scalar(self, p, args):
        return f"({args[0]} * {args[0]})"

    def range(self, args, inputs):
        return r.square(args[0])


@dataclasses.dataclass(frozen=True)
class Root(Node):
    """The square root (degree 2) or the real cube root (degree 3) of a."""

    a: int
    degree: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"{'np.sqrt' if self.degree == 2 else 'np.cbrt'}({args[0]}, out={out})")

    def scalar(self, p, args):
        return p.call("sqrt" if self.degree == 2 else "cbrt", args[0])

    def range(self, args, inputs):
        if self.degree == 2:
            return r.monotone(math.sqrt, args[0], 0.0)
        return r.monotone(lambda v: math.copysign(abs(v) ** (1 / 3), v), args[0])


@dataclasses.dataclass(frozen=True)
class Power(Node):
    """a ** b."""

    a: int
    b: int

    @property
    def children(self):
        return (self.a, self.b)

    def numpy(self, em, args, out):
        em.emit(f"np.power({args[0]}, {args[1]}, out={out})")

    def scalar(self, p, args):
        return f"({args[0]} ** {args[1]})"


@dataclasses.dataclass(frozen=True)
class Fold(Node):
    """max or min of several operands (``op`` is ``np.maximum`` or ``np.minimum``).

    A constant operand reads a filled chunk buffer: against an array NumPy runs its SIMD
    loop, against a scalar a slow path (0.46 against 0.11 ns/element here).
    """

    op: str
    operands: tuple[int, ...]

    @property
    def children(self):
        return self.operands

    def accumulable(self, em=None):
        return self.operands

    def numpy(self, em, args, out):
        if len(args) == 1:
            em.emit(f"np.add({args[0]}, 0.0, out={out})")
            return
        constant = [isinstance(em.node(c), Const) for c in self.operands]
        args = [em.constant(a) if k else a for a, k in zip(args, constant, strict=True)]
        em.chain(self.op, args, out)

    def scalar(self, p, args):
        name = "max" if self.op == "np.maximum" else "min"
        return f"{name}({', '.join(args)})"

    def range(self, args, inputs):
        pick = max if self.op == "np.maximum" else min
        return r.Range(pick(a.lo for a in args), pick(a.hi for a in args), any(a.nan for a in args))

    def array(self, p, args, em=None):
        return p.fold("max" if self.op == "np.maximum" else "min", args)


@dataclasses.dataclass(frozen=True)
class Clip(Node):
    """min(hi, max(lo, a)) with number bounds lo < hi: one ``np.clip`` pass."""

    a: int
    lo: str
    hi: str

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"np.clip({args[0]}, {self.lo}, {self.hi}, out={out})")

    def scalar(self, p, args):
        return f"min(max({args[0]}, {self.lo}), {self.hi})"

    def range(self, args, inputs):
        lo, hi = float(self.lo), float(self.hi)
        return r.Range(min(max(args[0].lo, lo), hi), max(min(args[0].hi, hi), lo), args[0].nan)

    def array(self, p, args, em=None):
        return p.clip(args[0], self.lo, self.hi)


@dataclasses.dataclass(frozen=True)
class NegAbs(Node):
    """-|a| in one pass: the sign bit set through an integer view."""

    a: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"_negabs({args[0]}, {out})  # -|u| in one pass: set the sign bit")

    def scalar(self, p, args):
        return f"(-abs({args[0]}))"

    def range(self, args, inputs):
        return r.neg(r.UNARY["Abs"](args[0]))


@dataclasses.dataclass(frozen=True)
class OnePlus(Node):
    """1 + a."""

    a: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"np.add({args[0]}, 1.0, out={out})")

    def scalar(self, p, args):
        return f"(1.0 + {args[0]})"

    def range(self, args, inputs):
        return r.add(args[0], r.point(1.0))


@dataclasses.dataclass(frozen=True)
class Reciprocal(Node):
    """1/a."""

    a: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"np.divide(1.0, {args[0]}, out={out})")

    def scalar(self, p, args):
        return f"(1.0 / {args[0]})"

    def range(self, args, inputs):
        return r.reciprocal(args[0])


@dataclasses.dataclass(frozen=True)
class Quotient(Node):
    """a/b, one correctly rounded division."""

    a: int
    b: int

    @property
    def children(self):
        return (self.a, self.b)

    def numpy(self, em, args, out):
        em.emit(f"np.divide({args[0]}, {args[1]}, out={out})")

    def scalar(self, p, args):
        return f"({args[0]} / {args[1]})"

    def range(self, args, inputs):
        return r.mul(args[0], r.reciprocal(args[1]))


# -- stable primitives ----------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Log1p(Node):
    """log(1 + a) (NumPy's SIMD ``log1p``, within an ulp)."""

    a: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"np.log1p({args[0]}, out={out})")

    def scalar(self, p, args):
        return p.call("log1p", args[0])

    def range(self, args, inputs):
        return r.monotone(lambda v: math.log1p(v) if v > -1 else -math.inf, args[0], -1.0)


@dataclasses.dataclass(frozen=True)
class ExpCapped(Node):
    """exp(a), the largest finite number where it overflows (never inf).

    The kernel remembers whether any element was capped (``capped``), so that the
    shared σ(-u) = 1/(1 + E) can be 0 there (`ReciprocalCapped`).
    """

    a: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.preamble("capped = False")
        em.emit(f"capped |= _exp_finite({args[0]}, {out})  # exp(u), the largest float at most")

    def scalar(self, p, args):
        return f"_exp_finite({args[0]})"

    def range(self, args, inputs):
        e = r.exp(args[0])
        return r.Range(min(e.lo, r.MAX), min(e.hi, r.MAX), e.nan)


@dataclasses.dataclass(frozen=True)
class SigmoidShared(Node):
    """σ(u) = E/(1 + E) from the shared E = exp(u) (capped) and d = 1 + E: one correctly
    rounded division, exactly 1 wherever 1 + E == E (E >= 2^53), unlike E·(1/(1 + E))."""

    decays: ClassVar[bool] = True

    e: int
    d: int

    @property
    def children(self):
        return (self.e, self.d)

    def numpy(self, em, args, out):
        em.emit(f"np.divide({args[0]}, {args[1]}, out={out})")

    def scalar(self, p, args):
        return f"({args[0]} / {args[1]})"

    def range(self, args, inputs):
        return r.bounded(0.0, 1.0, args[0])


@dataclasses.dataclass(frozen=True)
class ReciprocalCapped(Node):
    """σ(-u) = 1/d from the shared d = 1 + E, exactly 0 where E was capped (the truth is
    below the smallest subnormal there; 1/largest float would leave a floor of 5.6e-309,
    which a large factor such as x in x·σ(-x) turns into a visible error)."""

    decays: ClassVar[bool] = True

    d: int

    @property
    def children(self):
        return (self.d,)

    def hazards(self, args, em=None):
        return list(args)

    def numpy(self, em, args, out):
        em.emit(f"_recip_capped({args[0]}, {out}, capped)  # 1/(1 + E); 0 where E was capped")

    def scalar(self, p, args):
        return f"(0.0 if {args[0]} >= 1.7976931348623157e308 else 1.0 / {args[0]})"

    def array(self, p, args, em=None):
        return f"_recip_capped({args[0]})"

    def range(self, args, inputs):
        return r.bounded(0.0, 1.0, args[0])


@dataclasses.dataclass(frozen=True)
class Sigmoid(Node):
    """σ(u) = 1/(1 + exp(m)) of m = -u, or v·σ(u) = v/(1 + exp(m)) of an input ``over``
    = v (a grad: one division); exp may overflow to inf, and 1/(1 + inf) = 0."""

    decays: ClassVar[bool] = True

    m: int
    over: int | None = None

    @property
    def children(self):
        return (self.m,) if self.over is None else (self.m, self.over)

    def numpy(self, em, args, out):
        top = "1.0" if self.over is None else args[1]  # an input: never out
        em.emit(f"np.exp({args[0]}, out={out})  # sigmoid(u) = 1/(1 + exp(-u)); inf gives 0")
        em.emit(f"np.add({out}, 1.0, out={out})")
        if self.over is None:
            em.emit(f"np.divide({top}, {out}, out={out})")
        else:  # v/inf is 0 where v·exp(-m) may be normal (x·σ(x) at x = -710: -3.2e-306)
            em.emit(f"_divide_lifted({top}, {out}, {out}, ({', '.join(em.inputs())},))")

    def scalar(self, p, args):
        value = f"_sigmoid_neg({args[0]})"
        return value if self.over is None else f"({args[1]} * {value})"

    def range(self, args, inputs):
        unit = r.bounded(0.0, 1.0, args[0])
        return unit if self.over is None else r.mul(unit, args[1])


@dataclasses.dataclass(frozen=True)
class SigmoidPair(Node):
    """c·σ(u)σ(-u) = (c/2)/(1 + cosh u), ``half_scale`` = c/2: NumPy's SIMD cosh, whose
    inf beyond |u| = 710 gives 0."""

    decays: ClassVar[bool] = True

    u: int
    half_scale: str

    @property
    def children(self):
        return (self.u,)

    def numpy(self, em, args, out):
        em.emit(f"np.cosh({args[0]}, out={out})  # c·σ(u)σ(-u) = (c/2)/(1 + cosh u); inf: 0")
        em.emit(f"np.add({out}, 1.0, out={out})")
        em.emit(f"np.divide({self.half_scale}, {out}, out={out})")

    def scalar(self, p, args):
        return f"({self.half_scale} * _inv_one_plus_cosh({args[0]}))"

    def array(self, p, args, em=None):
        """c·e/(1 + e)², e = exp(-|u|): the coefficient c = 2·half_scale in one product
        (none for σ′, where c = 1), not 2 inside the helper and c/2 outside."""
        scale = 2 * float(self.half_scale)  # exact: a power-of-two multiple
        pair = f"_sigmoid_pair({args[0]})"
        return pair if scale == 1 else f"({scale!r} * {pair})"

    def range(self, args, inputs):
        top = float(self.half_scale) / 2
        return r.bounded(min(0.0, top), max(0.0, top), args[0])


@dataclasses.dataclass(frozen=True)
class SechSquared(Node):
    """c·sech²(w) = c/cosh²(w), ``scale`` = c, or v/cosh²(w) of an input ``over`` = v
    (a grad: one division); cosh = inf gives 0."""

    decays: ClassVar[bool] = True

    w: int
    scale: str
    over: int | None = None

    @property
    def children(self):
        return (self.w,) if self.over is None else (self.w, self.over)

    def numpy(self, em, args, out):
        top = self.scale if self.over is None else args[1]  # an input: never out
        em.emit(f"np.cosh({args[0]}, out={out})  # c·sech(w)^2 = c/cosh(w)^2; inf gives 0")
        em.emit(f"np.square({out}, out={out})")
        em.emit(f"np.divide({top}, {out}, out={out})")

    def scalar(self, p, args):
        top = self.scale if self.over is None else args[1]
        return f"({top} * _sech({args[0]}) ** 2)"

    def array(self, p, args, em=None):
        top = self.scale if self.over is None else args[1]
        return f"({top} * _sech_squared({args[0]}))"

    def range(self, args, inputs):
        c = float(self.scale)
        unit = r.bounded(min(0.0, c), max(0.0, c), args[0])
        return unit if self.over is None else r.mul(unit, args[1])


@dataclasses.dataclass(frozen=True)
class ExpBesideErfc(Node):
    """exp(k·v²) = exp(-w²) where erfc(w) is computed too: array code only.  JAX's code
    is ``_exp_beside_erfc`` (`ARRAY_HELPERS`): in float64 exp(-(w·w)), the very
    operations of XLA's erfc(w), so that XLA computes the exp once for both (relative
    error 2w²·2⁻⁵³ from the rounded w, at most 1.7e-13 where the value is a normal
    number); in float32 exp((v·v)·k) (the rounded w would cost 1.4e-5 at x = -11.8 in
    gelu′).  v·v is computed inside: it may pass float32's largest number, harmlessly
    (exp(-inf) = 0), so the range analysis sees no node that overflows."""

    decays: ClassVar[bool] = True

    v: int
    w: int
    k: str

    @property
    def children(self):
        return (self.v, self.w)

    def numpy(self, em, args, out):
        em.emit(f"np.multiply({args[0]}, {args[0]}, out={out})")
        em.emit(f"np.multiply({out}, {self.k}, out={out})")
        em.emit(f"np.exp({out}, out={out})")

    def scalar(self, p, args):
        return p.call("exp", f"(({args[0]} * {args[0]}) * {self.k})")

    def array(self, p, args, em=None):
        if p.MODULE == "jnp":
            return f"_exp_beside_erfc({args[0]}, {args[1]}, {self.k})"
        # no parentheses of its own inside the call's (ruff's UP034 in exported modules)
        return p.call("exp", f"({args[0]} * {args[0]}) * {self.k}")

    def range(self, args, inputs):
        return r.exp(r.mul(r.point(float(self.k)), r.square(args[0])))


@dataclasses.dataclass(frozen=True)
class MishSlope(Node):
    """mish′(u) = tanh(s) + 4u·σ(u)σ(2s)σ(-2s), s = softplus(u), in array code only
    (`_mish_slope` of `ARRAY_HELPERS`: one exp, one division); in [-0.5, 1.5]."""

    u: int

    @property
    def children(self):
        return (self.u,)

    def hazards(self, args, em=None):
        return list(args)

    def numpy(self, em, args, out):
        em.emit(f"_mish_slope({args[0]}, {out})  # mish'(u) from exp(-|u|): a reference")

    def scalar(self, p, args):
        return f"_mish_slope({args[0]})"

    def range(self, args, inputs):
        return r.bounded(-0.5, 1.5, args[0])


@dataclasses.dataclass(frozen=True)
class Sech(Node):
    """sech(u) = 1/cosh(u); cosh = inf gives 0."""

    decays: ClassVar[bool] = True

    u: int

    @property
    def children(self):
        return (self.u,)

    def numpy(self, em, args, out):
        em.emit(f"np.cosh({args[0]}, out={out})  # sech(u) = 1/cosh(u); cosh = inf gives 0")
        em.emit(f"np.divide(1.0, {out}, out={out})")

    def scalar(self, p, args):
        return f"_sech({args[0]})"

    def range(self, args, inputs):
        return r.bounded(0.0, 1.0, args[0])


@dataclasses.dataclass(frozen=True)
class Hypot(Node):
    """√(a² + b²) without overflow or underflow of the squares: four passes, and
    ``np.hypot`` where they over- or underflow (`symcalc.numeric.kernels.runtime.hypot`)."""

    a: int
    b: int

    @property
    def children(self):
        return (self.a, self.b)

    def hazards(self, args, em=None):
        return list(args)

    def numpy(self, em, args, out):
        note = "  # sqrt(a² + b²); np.hypot where the squares over/underflow"
        if isinstance(em.node(self.b), Const):
            em.emit(f"_hypot({args[0]}, {args[1]}, {out}){note}")
            return
        square = em.take("f")
        em.emit(f"_hypot({args[0]}, {args[1]}, {out}, {square}){note}")
        em.give(square)

    def scalar(self, p, args):
        return p.call("hypot", *args)

    def range(self, args, inputs):
        a, b = args
        return r.Range(0.0, r.saturate(math.hypot(a.magnitude, b.magnitude)), a.nan or b.nan)


# -- booleans and branches ------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Compare(Node):
    """a <op> b, ``op`` a NumPy comparison ufunc (``np.greater``, ...)."""

    boolean: ClassVar[bool] = True

    op: str
    a: int
    b: int

    @property
    def children(self):
        return (self.a, self.b)

    def numpy(self, em, args, out):
        em.emit(f"{self.op}({args[0]}, {args[1]}, out={out})")

    def scalar(self, p, args):
        return f"({args[0]} {p.comparison(self.op)} {args[1]})"

    def range(self, args, inputs):
        return r.Range(0.0, 1.0)

    def narrowed(self, graph, inputs: Mapping[str, r.Range], holds: bool) -> dict[str, r.Range]:
        """``inputs`` with the compared input narrowed to where this holds (or fails)."""
        left, right, op = graph.nodes[self.a], graph.nodes[self.b], self.op
        if isinstance(left, Const) and not isinstance(right, Const):
            left, right, op = right, left, _MIRRORED.get(op, op)
        if not holds:
            op = _NEGATED[op]
        absolute = isinstance(left, Unary) and left.function == "Abs"
        target = graph.nodes[left.a] if absolute else left
        if not isinstance(right, Const) or not isinstance(target, Input) or op is None:
            return dict(inputs)
        c, current = right.value, inputs.get(target.code, r.FINITE)
        if absolute:
            if op in ("np.less", "np.less_equal"):
                current = r.narrow(current, -c, c)
        elif op in ("np.greater", "np.greater_equal"):
            current = r.narrow(current, lo=c)
        elif op in ("np.less", "np.less_equal"):
            current = r.narrow(current, hi=c)
        elif op == "np.equal":
            current = r.narrow(current, c, c)
        return {**inputs, target.code: current}


_MIRRORED = {
    "np.greater": "np.less",
    "np.less": "np.greater",
    "np.greater_equal": "np.less_equal",
    "np.less_equal": "np.greater_equal",
}
_NEGATED = {
    "np.greater": "np.less_equal",
    "np.less": "np.greater_equal",
    "np.greater_equal": "np.less",
    "np.less_equal": "np.greater",
    "np.equal": None,
    "np.not_equal": "np.equal",
}


@dataclasses.dataclass(frozen=True)
class Logic(Node):
    """and/or of several booleans (``op`` is ``np.bitwise_and`` or ``np.bitwise_or``)."""

    boolean: ClassVar[bool] = True

    op: str
    operands: tuple[int, ...]

    @property
    def children(self):
        return self.operands

    def numpy(self, em, args, out):
        em.chain(self.op, args, out)

    def scalar(self, p, args):
        word = " and " if self.op == "np.bitwise_and" else " or "
        return f"({word.join(args)})"

    def range(self, args, inputs):
        return r.Range(0.0, 1.0)

    def narrowed(self, graph, inputs, holds):
        """Where an and holds, every comparison in it holds (else: no narrowing)."""
        inputs = dict(inputs)
        if self.op == "np.bitwise_and" and holds:
            for c in self.operands:
                node = graph.nodes[c]
                if isinstance(node, (Compare, Logic)):
                    inputs = node.narrowed(graph, inputs, True)
        return inputs

    def array(self, p, args, em=None):
        return f"({(' & ' if self.op == 'np.bitwise_and' else ' | ').join(args)})"


@dataclasses.dataclass(frozen=True)
class Not(Node):
    """not a."""

    boolean: ClassVar[bool] = True

    a: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"np.logical_not({args[0]}, out={out})")

    def scalar(self, p, args):
        return f"(not {args[0]})"

    def range(self, args, inputs):
        return r.Range(0.0, 1.0)

    def array(self, p, args, em=None):
        return f"(~{args[0]})"


@dataclasses.dataclass(frozen=True)
class Indicator(Node):
    """then if cond else otherwise, two literals: one comparison and at most two passes."""

    cond: int
    then: str
    otherwise: str

    @property
    def children(self):
        return (self.cond,)

    def numpy(self, em, args, out):
        if args[0] != out:
            em.emit(f"np.copyto({out}, {args[0]})  # True -> 1.0, False -> 0.0")
        if (self.then, self.otherwise) != ("1.0", "0.0"):
            em.emit(f"np.multiply({out}, {float(self.then) - float(self.otherwise)!r}, out={out})")
            if float(self.otherwise) != 0.0:
                em.emit(f"np.add({out}, {self.otherwise}, out={out})")

    def scalar(self, p, args):
        return p.conditional(self.then, args[0], self.otherwise)

    def range(self, args, inputs):
        return r.point(Const(self.then).value).union(r.point(Const(self.otherwise).value))


@dataclasses.dataclass(frozen=True)
class Select(Node):
    """a where cond else b: a branch-free bit blend of two computed arrays."""

    cond: int
    a: int
    b: int

    @property
    def children(self):
        return (self.cond, self.a, self.b)

    def hazards(self, args, em=None):
        return [args[2]]

    def numpy(self, em, args, out):
        ints = em.take("i")
        em.emit(f"_select({args[0]}, {args[1]}, {args[2]}, {out}, {ints})")
        em.give(ints)

    def scalar(self, p, args):
        return p.conditional(args[1], args[0], args[2])

    def range(self, args, inputs):
        return args[1].union(args[2])

    def branch_inputs(self, graph, inputs):
        """The inputs' ranges where the condition holds and where it fails."""
        cond = graph.nodes[self.cond]
        if not isinstance(cond, (Compare, Logic)):
            return dict(inputs), dict(inputs)
        return cond.narrowed(graph, inputs, True), cond.narrowed(graph, inputs, False)


@dataclasses.dataclass(frozen=True)
class SigmoidSplit(Select):
    """σ(±w) for array backends: ``a`` (1/(1 + e)) where w >= 0, else ``b`` (e/(1 + e)),
    with e = exp(-|w|) shared by both signs (`symcalc.numeric.kernels.lowering`)."""

    decays: ClassVar[bool] = True

    def range(self, args, inputs):
        return r.bounded(0.0, 1.0, args[1])


@dataclasses.dataclass(frozen=True)
class Guard(Node):
    """A Piecewise branch: NumPy computes it on all elements (the kernel runs with
    floating-point warnings off; the blend discards the other elements' values); scalar
    backends inline it into the conditional expression, so it runs only when taken."""

    a: int

    @property
    def children(self):
        return (self.a,)

    def scalar(self, p, args):
        return args[0]

    def range(self, args, inputs):
        return args[0]
