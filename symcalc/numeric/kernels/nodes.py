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
``array(p, args)``
    a whole-array expression for libraries that trace array code functionally (JAX,
    PyTorch, plain NumPy); ``p`` is an `ArrayPrinter` that spells calls, conditionals
    and the stable helpers for its library.  By default it is the ``scalar`` code, which
    goes through the printer too; nodes whose scalar code uses Python's scalar-only
    syntax (``max``, ``min``, ``and``, ``not``) override it.

Adding a kernel primitive is one class here and one entry of ``BUILDERS`` in
`symcalc.numeric.kernels.graph`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from typing import TYPE_CHECKING, ClassVar

if TYPE_CHECKING:  # pragma: no cover - annotations only
    from .emit import NumpyEmitter
    from .printers import ArrayPrinter, ScalarPrinter

__all__ = [
    "Add",
    "Clip",
    "Compare",
    "Const",
    "ExpCapped",
    "Fold",
    "Guard",
    "Hypot",
    "Indicator",
    "Input",
    "Log1p",
    "Logic",
    "Mul",
    "NegAbs",
    "Node",
    "Not",
    "OnePlus",
    "Power",
    "Quotient",
    "Reciprocal",
    "Root",
    "Sech",
    "SechSquared",
    "Select",
    "Sigmoid",
    "SigmoidPair",
    "Square",
    "Unary",
]


@dataclasses.dataclass(frozen=True)
class Node:
    """One value of the kernel graph; subclasses say how each backend computes it."""

    #: Whether the value is a boolean array (comparisons, logic), kept in bool buffers.
    boolean: ClassVar[bool] = False

    @property
    def children(self) -> tuple[int, ...]:
        return ()

    def hazards(self, args: Sequence[str]) -> list[str]:
        """Operands the output must not overwrite: they are read after the first write."""
        return []

    def accumulable(self) -> tuple[int, ...]:
        """Operands the root may compute straight into ``out`` and then update in place."""
        return ()

    def numpy(self, em: NumpyEmitter, args: Sequence[str], out: str) -> None:
        raise NotImplementedError(type(self).__name__)  # pragma: no cover - every node has one

    def scalar(self, p: ScalarPrinter, args: Sequence[str]) -> str:
        raise NotImplementedError(type(self).__name__)  # pragma: no cover - every node has one

    def array(self, p: ArrayPrinter, args: Sequence[str]) -> str:
        """A whole-array expression of the operands' code (JAX, PyTorch, NumPy)."""
        return self.scalar(p, args)


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


@dataclasses.dataclass(frozen=True)
class Const(Leaf):
    """A number as a Python literal (a weak scalar: float32 arrays stay float32)."""


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

    def hazards(self, args):
        neg = list(args[len(self.pos) :])
        return neg[1:] if not self.pos else neg

    def accumulable(self):
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


@dataclasses.dataclass(frozen=True)
class Mul(Node):
    """coeff · num[0] · num[1] ... / den[0] / den[1] ... (one factor at a time: no overflow
    or underflow of a product of denominators)."""

    num: tuple[int, ...]
    den: tuple[int, ...]
    coeff: str | None

    @property
    def children(self):
        return self.num + self.den

    def hazards(self, args):
        bottom = list(args[len(self.num) :])
        return bottom if len(self.num) >= 2 else bottom[1:]

    def accumulable(self):
        return self.num

    def numpy(self, em, args, out):
        top, bottom = list(args[: len(self.num)]), args[len(self.num) :]
        coeff = self.coeff
        if len(top) >= 2:
            em.chain("np.multiply", top, out)
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

    def scalar(self, p, args):
        top, bottom = args[: len(self.num)], args[len(self.num) :]
        text = " * ".join(top) if top else (self.coeff or "1.0")
        for val in bottom:
            text = f"({text}) / {val}"
        if top and self.coeff is not None:
            text = f"({text}) * {self.coeff}"
        return f"({text})"

    def array(self, p, args):
        top, bottom = args[: len(self.num)], args[len(self.num) :]
        return p.product(top, bottom, self.coeff)


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

    def numpy(self, em, args, out):
        em.emit(f"{self.ufunc}({args[0]}, out={out})")

    def scalar(self, p, args):
        return p.call(self.function, args[0])


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

    def accumulable(self):
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

    def array(self, p, args):
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

    def array(self, p, args):
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


@dataclasses.dataclass(frozen=True)
class ExpCapped(Node):
    """exp(a), the largest finite number where it overflows (never inf)."""

    a: int

    @property
    def children(self):
        return (self.a,)

    def numpy(self, em, args, out):
        em.emit(f"_exp_finite({args[0]}, {out})  # exp(u), the largest float where it overflows")

    def scalar(self, p, args):
        return f"_exp_finite({args[0]})"


@dataclasses.dataclass(frozen=True)
class Sigmoid(Node):
    """σ(u) = 1/(1 + exp(m)) of m = -u; exp may overflow to inf, and 1/(1 + inf) = 0."""

    m: int

    @property
    def children(self):
        return (self.m,)

    def numpy(self, em, args, out):
        em.emit(
            "with np.errstate(over='ignore'):  # sigmoid(u) = 1/(1 + exp(-u)); exp = inf gives 0"
        )
        em.emit(f"    np.exp({args[0]}, out={out})")
        em.emit(f"np.add({out}, 1.0, out={out})")
        em.emit(f"np.divide(1.0, {out}, out={out})")

    def scalar(self, p, args):
        return f"_sigmoid_neg({args[0]})"


@dataclasses.dataclass(frozen=True)
class SigmoidPair(Node):
    """c·σ(u)σ(-u) = (c/2)/(1 + cosh u), ``half_scale`` = c/2: NumPy's SIMD cosh, whose
    inf beyond |u| = 710 gives 0."""

    u: int
    half_scale: str

    @property
    def children(self):
        return (self.u,)

    def numpy(self, em, args, out):
        em.emit("with np.errstate(over='ignore'):  # c·σ(u)σ(-u) = (c/2)/(1 + cosh u)")
        em.emit(f"    np.cosh({args[0]}, out={out})  # cosh = inf beyond |u| = 710 gives 0")
        em.emit(f"np.add({out}, 1.0, out={out})")
        em.emit(f"np.divide({self.half_scale}, {out}, out={out})")

    def scalar(self, p, args):
        return f"({self.half_scale} * _inv_one_plus_cosh({args[0]}))"


@dataclasses.dataclass(frozen=True)
class SechSquared(Node):
    """c·sech²(w) = c/cosh²(w), ``scale`` = c; cosh = inf gives 0."""

    w: int
    scale: str

    @property
    def children(self):
        return (self.w,)

    def numpy(self, em, args, out):
        em.emit("with np.errstate(over='ignore'):  # c·sech(w)^2 = c/cosh(w)^2; inf gives 0")
        em.emit(f"    np.cosh({args[0]}, out={out})")
        em.emit(f"    np.square({out}, out={out})")
        em.emit(f"np.divide({self.scale}, {out}, out={out})")

    def scalar(self, p, args):
        return f"({self.scale} * _sech({args[0]}) ** 2)"


@dataclasses.dataclass(frozen=True)
class Sech(Node):
    """sech(u) = 1/cosh(u); cosh = inf gives 0."""

    u: int

    @property
    def children(self):
        return (self.u,)

    def numpy(self, em, args, out):
        em.emit("with np.errstate(over='ignore'):  # sech(u) = 1/cosh(u); cosh = inf gives 0")
        em.emit(f"    np.cosh({args[0]}, out={out})")
        em.emit(f"np.divide(1.0, {out}, out={out})")

    def scalar(self, p, args):
        return f"_sech({args[0]})"


@dataclasses.dataclass(frozen=True)
class Hypot(Node):
    """√(a² + b²) without overflow or underflow of the squares: four passes, and
    ``np.hypot`` where they over- or underflow (`symcalc.numeric.kernels.runtime.hypot`)."""

    a: int
    b: int

    @property
    def children(self):
        return (self.a, self.b)

    def hazards(self, args):
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

    def array(self, p, args):
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

    def array(self, p, args):
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


@dataclasses.dataclass(frozen=True)
class Select(Node):
    """a where cond else b: a branch-free bit blend of two computed arrays."""

    cond: int
    a: int
    b: int

    @property
    def children(self):
        return (self.cond, self.a, self.b)

    def hazards(self, args):
        return [args[2]]

    def numpy(self, em, args, out):
        ints = em.take("i")
        em.emit(f"_select({args[0]}, {args[1]}, {args[2]}, {out}, {ints})")
        em.give(ints)

    def scalar(self, p, args):
        return p.conditional(args[1], args[0], args[2])


@dataclasses.dataclass(frozen=True)
class Guard(Node):
    """A Piecewise branch evaluated everywhere (NumPy) or only where taken (scalar code).

    NumPy computes ``a`` on all elements inside ``np.errstate(all="ignore")``: warnings
    of elements the blend discards are nobody's (an exp(1000) masked out).  Scalar
    backends inline the branch into the conditional expression, so it runs only when taken.
    """

    a: int

    @property
    def children(self):
        return (self.a,)

    def scalar(self, p, args):
        return args[0]
