"""Emitters: a `Graph` as source code, one node at a time.

`NumpyEmitter` writes straight-line ufunc calls with ``out=`` into a few scratch buffers,
one per live intermediate, reusing a buffer as soon as its value is dead.  It decides
only buffers; every operation's code comes from its node's ``numpy`` method.

`ExpressionEmitter` writes one assignment per node (``v3 = math.exp(v2)``) for backends
that compute element by element (numba) or trace whole arrays functionally (JAX): the
node method it calls is its ``method`` (``"scalar"``, ``"array"``).  A Piecewise branch is
inlined into its conditional expression, so a scalar loop evaluates only the branch taken.
Array code has no extended-precision second pass (`Kernel` recomputes overflowed
elements in long double; JAX and PyTorch have none), so array nodes are given the
emitter too: its `ExpressionEmitter.range` is the NumPy emitter's, and products order
their factors and let a decaying 0 win over an overflow the same way.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping, Sequence

from . import nodes as n
from .graph import Graph
from .ranges import Range, overflows_float32, ranges

__all__ = ["ExpressionEmitter", "NumpyEmitter", "numpy_source"]


class NumpyEmitter:
    """Straight-line ufunc calls for a `Graph`, reusing a buffer as soon as its value is dead.

    Buffers are named by kind: ``f`` (floats), ``b`` (booleans), ``i`` (integers, for bit
    blends), ``k`` (chunk buffers filled with a constant, read-only) and ``out``.
    """

    def __init__(
        self,
        graph: Graph,
        choice: int = 0,
        value_ranges: Mapping[int, Range] = None,
        lift_sites: frozenset[int] | None = None,
    ):
        self.graph = graph
        #: The products whose lifted-underflow check is kept (graph ids; None: every one):
        #: `symcalc.numeric.kernels.api` drops those a probe of the kernel never needs.
        self.lift_sites = lift_sites
        self.choice = choice  # which eligible operand `accumulator` picks (tried in turn)
        self.value_ranges = value_ranges or {}
        self.lines: list[str] = []
        self.preambles: list[str] = []
        self.free: dict[str, list[str]] = {"f": [], "b": [], "i": []}
        self.counts: dict[str, int] = {"f": 0, "b": 0, "i": 0}
        self.code: dict[int, str] = {}
        self.owner: dict[int, str] = {}  # node -> buffer it owns
        self.uses: collections.Counter = collections.Counter()
        self.constants: dict[str, str] = {}  # value -> name of a buffer filled with it
        self.indent = "    "
        self.again = False  # whether a node leaves NaN for the extended-range second pass

    # -- what nodes call -----------------------------------------------------------------------
    def node(self, i: int) -> n.Node:
        return self.graph.nodes[i]

    def emit(self, line: str) -> None:
        self.lines.append(self.indent + line)

    def inputs(self) -> list[str]:
        """The kernel's argument names (``a0``, ``a1``, ...)."""
        return list(self.graph.names.values())

    def compute_again(self) -> None:
        """Say that a node may leave NaN (inf·0, a quotient by an overflowed denominator)
        for the kernel's second pass in extended range: the output is then checked."""
        self.again = True

    def preamble(self, line: str) -> None:
        """A line run once before the body (a flag the body updates)."""
        if line not in self.preambles:
            self.preambles.append(line)

    def range(self, i: int) -> Range:
        """Where node ``i``'s value lies for finite inputs (`symcalc.numeric.kernels.ranges`)."""
        return self.value_ranges.get(i, n.r.ALL)

    def constant(self, value: str) -> str:
        """A scratch buffer holding ``value`` everywhere, filled once per call."""
        if value not in self.constants:
            self.constants[value] = f"k{len(self.constants)}"
        return self.constants[value]

    def take(self, kind: str) -> str:
        if self.free[kind]:
            return self.free[kind].pop()
        name = f"{kind}{self.counts[kind]}"
        self.counts[kind] += 1
        return name

    def give(self, name: str) -> None:
        if name != "out" and name not in self.free[name[0]]:
            self.free[name[0]].append(name)

    def chain(self, op: str, values: Sequence[str], out: str) -> None:
        """out = v0 op v1 op ...; an operand that is ``out`` itself goes first (commutative ops)."""
        values = list(values)
        if out in values[1:]:
            values.remove(out)
            values.insert(0, out)
        first, second, *rest = values
        self.emit(f"{op}({first}, {second}, out={out})")
        for val in rest:
            self.emit(f"{op}({out}, {val}, out={out})")

    # -- buffer bookkeeping --------------------------------------------------------------------
    def count(self, root: int) -> None:
        seen, stack = set(), [root]
        while stack:
            i = stack.pop()
            if i in seen:
                continue
            seen.add(i)
            for child in self.node(i).children:
                self.uses[child] += 1
                stack.append(child)

    def value(self, i: int) -> str:
        if i not in self.code:
            self.compute(i, None)
        return self.code[i]

    def done_with(self, children: Sequence[int]) -> list[str]:
        """Count one use of each child; return the buffers whose values are now dead."""
        dead = []
        for child in children:
            self.uses[child] -= 1
            if self.uses[child] == 0 and child in self.owner:
                name = self.owner.pop(child)
                # a Piecewise branch (`_guarded`) shares its value's buffer: dead only
                # when no live node holds it
                if name not in dead and name not in self.owner.values():
                    dead.append(name)
        return dead

    def target(
        self, dest: str | None, dead: list[str], kind: str, avoid: Sequence[str] = ()
    ) -> str:
        if dest is not None:
            return dest
        for name in dead:
            if name[0] == kind and name not in avoid:
                dead.remove(name)
                return name
        return self.take(kind)

    def compute(self, i: int, dest: str | None) -> str:
        node = self.node(i)
        if isinstance(node, n.Leaf):
            self.code[i] = node.code
            return node.code
        if isinstance(node, n.Guard):
            return self._guarded(i, node, dest)
        children = node.children
        last = self.accumulator(node) if dest == "out" else None
        if last is not None:  # the others first, then this one straight into out
            for c in children:
                if c != last:
                    self.value(c)
            self.compute(last, "out")
        args = [self.value(c) for c in children]
        dead = self.done_with(children)
        out = self.target(dest, dead, "b" if node.boolean else "f", node.hazards(args, self))
        node.numpy(self, args, out)
        for name in dead:
            if name != out:
                self.give(name)
        self.code[i] = out
        if out != "out":
            self.owner[i] = out
        return out

    def _guarded(self, i: int, node: n.Guard, dest: str | None) -> str:
        """A Piecewise branch: computed like any value (the kernel runs with warnings off)."""
        inner = self.code[node.a] if node.a in self.code else self.compute(node.a, dest)
        dead = self.done_with(node.children)
        if inner in dead:
            dead.remove(inner)
        for name in dead:
            self.give(name)
        self.code[i] = inner
        if inner[0] in "fbi" and inner != "out":
            self.owner[i] = inner
        return inner

    def accumulator(self, node: n.Node) -> int | None:
        """An operand of the root sum/product/max to compute last, directly into ``out``.

        The root then updates ``out`` in place: one scratch buffer fewer, so more of the
        chunk stays in cache (log σ(x) = min(x, 0) - log1p(e^-|x|) runs 5% faster).
        Only a first-place operand (a term added, a factor multiplied) used nowhere else.
        """
        eligible = [
            c
            for c in node.accumulable(self)
            if c not in self.code
            and self.uses[c] == 1
            and not isinstance(self.node(c), (n.Leaf, n.Guard))
            and not self.node(c).boolean
        ]
        return eligible[-1 - self.choice] if self.choice < len(eligible) else None

    def fast_indicator(self, root: int) -> None:
        """relu'-style roots: write the comparison straight into the float output (one pass)."""
        node = self.node(root)
        if not isinstance(node, n.Indicator):
            return
        cond = self.node(node.cond)
        if not isinstance(cond, n.Compare) or self.uses[node.cond] != 1:
            return
        a, b = self.value(cond.a), self.value(cond.b)
        self.emit(f"{cond.op}({a}, {b}, out=out)")
        self.code[node.cond] = "out"
        self.done_with((cond.a, cond.b))


def numpy_source(
    graph: Graph,
    root: int,
    inputs: Mapping[str, Range] = None,
    lift_sites: frozenset[int] | None = None,
    analysed: tuple[Mapping[int, Range], bool] | None = None,
) -> tuple[str, dict[str, int], tuple[str, ...], Range, bool]:
    """Source of ``_kernel(a0, a1, ..., out, scratch)``, its buffer counts, constant buffers,
    the range of its result for inputs in ``inputs`` (by argument name) and whether a node
    may overflow in float32 (`overflows_float32`).  ``analysed``: those ranges and that
    answer, where the caller holds them already (`ranges` and `overflows_float32` of the
    same graph, root and inputs).

    Each choice of the operand computed straight into ``out`` is tried; the one with the
    fewest buffers (then lines) wins.
    """
    node = graph.nodes[root]
    if analysed is None:
        analysed = (
            ranges(graph, root, inputs or {}),
            overflows_float32(graph, root, inputs or {}),
        )
    value_ranges, float32 = analysed
    emitter = NumpyEmitter(graph, value_ranges=value_ranges, lift_sites=lift_sites)
    if isinstance(node, n.Const):
        emitter.emit(f"out[...] = {node.code}")
    elif isinstance(node, n.Input):
        emitter.emit(f"np.copyto(out, {node.code}, casting='unsafe')")
    else:
        candidates = []
        for choice in range(1 + len(node.children)):
            trial = NumpyEmitter(graph, choice, value_ranges, lift_sites)
            trial.count(root)
            trial.fast_indicator(root)
            trial.compute(root, "out")
            candidates.append((sum(trial.counts.values()), len(trial.lines), choice, trial))
        emitter = min(candidates, key=lambda c: c[:3])[3]
    args = ", ".join(graph.names.values())
    buffers = [f"{k}{i}" for k in ("f", "b", "i") for i in range(emitter.counts[k])]
    buffers += list(emitter.constants.values())
    lines = [f"def _kernel({args}, out, scratch):"]
    if buffers:
        lines.append(f"    {', '.join(buffers)}{',' if len(buffers) == 1 else ''} = scratch")
    lines.extend(f"    {line}" for line in emitter.preambles)
    lines.extend(emitter.lines)
    lines.append("    return out")
    counts = dict(emitter.counts)
    counts["calls"] = sum(not line.lstrip().startswith(("with ", "#")) for line in emitter.lines)
    source = "\n".join(lines) + "\n"
    result = value_ranges[root]
    if emitter.again:  # NaN left for the second pass: `_output_checks` sees it
        result = Range(result.lo, result.hi, True)
    return source, counts, tuple(emitter.constants), result, float32


class ExpressionEmitter:
    """One assignment per node, through the node method ``method`` (``"scalar"``, ``"array"``).

    Nodes under a `Guard` (non-polynomial Piecewise branches) are not assigned: their code
    is inlined where the `Select` uses it, so only the branch taken is evaluated.  Array
    code evaluates every branch on every element anyway: there (``method="array"``)
    branches are assigned like any node, one short line each.
    """

    def __init__(
        self,
        graph: Graph,
        printer,
        method: str = "scalar",
        value_ranges: Mapping[int, Range] | None = None,
    ):
        self.graph = graph
        self.printer = printer
        self.method = method
        self.inline_branches = method != "array"
        self.value_ranges = value_ranges or {}
        self.names: dict[int, str] = {}
        self.lines: list[str] = []

    def node(self, i: int) -> n.Node:
        return self.graph.nodes[i]

    def range(self, i: int) -> Range:
        """Where node ``i``'s value lies for finite inputs (anywhere, if not computed)."""
        return self.value_ranges.get(i, n.r.ALL)

    def _code(self, i: int, args: Sequence[str]) -> str:
        node = self.graph.nodes[i]
        if self.method == "array":
            return node.array(self.printer, args, self)
        return getattr(node, self.method)(self.printer, args)

    def _operand(self, i: int) -> str:
        node = self.graph.nodes[i]
        if isinstance(node, n.Guard) and self.inline_branches:
            return self.inline(node.a)
        return self.value(i)

    def value(self, i: int) -> str:
        """The name holding node ``i``, assigning it (and its operands) first."""
        if i in self.names:
            return self.names[i]
        node = self.graph.nodes[i]
        if isinstance(node, n.Leaf):
            self.names[i] = node.code
            return node.code
        if isinstance(node, n.Guard):
            return self.value(node.a)
        code = self._code(i, [self._operand(c) for c in node.children])
        name = f"v{i}"
        self.lines.append(f"{name} = {code}")
        self.names[i] = name
        return name

    def inline(self, i: int) -> str:
        """Node ``i`` as one expression, reusing assigned names where they exist."""
        if i in self.names:
            return self.names[i]
        node = self.graph.nodes[i]
        if isinstance(node, n.Leaf):
            return node.code
        if isinstance(node, n.Guard):
            return self.inline(node.a)
        return self._code(i, [self.inline(c) for c in node.children])
