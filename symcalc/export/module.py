"""Standalone Python modules: a function, its derivatives and their derivation, as code.

`export_module` writes, for JAX, PyTorch or NumPy, a module that imports only its
framework (never symcalc): one body per partial derivative up to ``order_max`` (the
same stable forms and the same emitted code as `to_jax` and `to_torch`), the
framework's shared code (`symcalc.export.runtime`), and a module docstring with the
formulas as derived, the classic form, the derivation step by step, the stable forms
and the accuracy promise.  The public function is differentiable by the framework
with symcalc's derivatives (JAX, PyTorch); every derivative is public too.  Variables
keep their own names where they are safe identifiers.  The result is an
`ExportedModule`; files are written by the caller (``symcalc export`` writes them whole).
"""

from __future__ import annotations

import dataclasses
import re
import textwrap
from collections.abc import Mapping
from typing import Any

import sympy

from .._version import __version__
from ..errors import SymcalcError
from ..numeric.kernels.api import within_build_budget
from ..symbolic.catalog import Entry
from ..symbolic.derivatives import derive
from ..symbolic.parse import resolve
from .functions import level_source
from .partials import Partial, Partials, check_order_max, python_names
from .printers import PRINTERS
from .runtime import RUNTIMES

__all__ = ["FRAMEWORKS", "ExportedFunction", "ExportedModule", "export_module"]

#: Frameworks a module can be written for, with how they are named in prose.
FRAMEWORKS = {"jax": "JAX", "torch": "PyTorch", "numpy": "NumPy"}

#: Docstring lines are wrapped to this width: every line fits ruff's default 88 columns.
WIDTH = 88

_STDLIB = ("functools", "math")

_USAGE = {
    "jax": (
        "Usage: {call} works under jax.jit, jax.vmap and jax.grad to any order; the derivative"
        " JAX takes is {first} (a jax.custom_jvp){second}.  float32 stays float32; float64"
        ' needs jax.config.update("jax_enable_x64", True) before any array is made (JAX'
        " computes float64 inputs in float32 otherwise).  XLA flushes subnormal numbers to"
        " zero: a subnormal input is read as 0."
    ),
    "torch": (
        "Usage: {call} is a torch.autograd.Function whose backward evaluates {first}{second};"
        " tensors keep their dtype and device, Python numbers follow them."
    ),
    "numpy": (
        "Usage: {call} and the derivatives below take NumPy arrays (any shape, broadcast"
        " together) or Python numbers; float32 stays float32, anything else is float64."
    ),
}


@dataclasses.dataclass(frozen=True)
class ExportedFunction:
    """One function of an exported module: its Python ``name`` and what it computes."""

    name: str
    derivative: str
    expr: str
    evaluated_as: str

    def to_dict(self) -> dict[str, str]:
        return dataclasses.asdict(self)


@dataclasses.dataclass(frozen=True, repr=False)
class ExportedModule:
    """A standalone module for ``to`` (jax, torch, numpy): its ``source`` and ``functions``."""

    input: str
    to: str
    name: str
    source: str
    functions: tuple[ExportedFunction, ...]

    def to_dict(self, path: str | None = None) -> dict[str, Any]:
        return {
            "input": self.input,
            "to": self.to,
            "path": path,
            "functions": [f.to_dict() for f in self.functions],
        }

    def __repr__(self) -> str:
        names = ", ".join(f.name for f in self.functions)
        return f"<ExportedModule {self.name} for {FRAMEWORKS[self.to]}: {names}>"


def _escape(text: str) -> str:
    """Text safe inside a triple-quoted docstring."""
    return text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')


def _wrap(line: str, indent: str = "    ", width: int = WIDTH) -> list[str]:
    """A long line wrapped at spaces (or, for one long word, anywhere) under ``width``;
    continuation lines of an indented line (a formula) are indented further."""
    if len(line) <= width:
        return [line]
    lead = line[: len(line) - len(line.lstrip())]
    return textwrap.wrap(
        line,
        width=width,
        subsequent_indent=lead + (indent if lead else ""),
        break_on_hyphens=False,
    )


def _lines(text: str, width: int) -> list[str]:
    return [wrapped for line in text.splitlines() for wrapped in _wrap(line, width=width)]


def _imports(lines: set[str]) -> list[str]:
    """Import lines in ruff's (isort's) order: standard library, then the rest."""

    def module(line: str) -> str:
        return line.split()[1]

    def order(group: list[str]) -> list[str]:
        plain = sorted((x for x in group if x.startswith("import ")), key=module)
        froms = sorted((x for x in group if x.startswith("from ")), key=module)
        return plain + froms

    stdlib = order([x for x in lines if module(x).split(".")[0] in _STDLIB])
    other = order([x for x in lines if module(x).split(".")[0] not in _STDLIB])
    return stdlib + ([""] if stdlib and other else []) + other


def _signature(base: str, names: list[str]) -> str:
    return f"{base}({', '.join(names)})"


def _formula(partial: Partial, base: str, names: list[str]) -> str:
    head = _signature(base, names)
    notation = partial.notation(names)
    return f"{notation + ' ' if notation else ''}{head} = {sympy.sstr(partial.expr)}"


def _docstring(
    partials: Partials,
    levels: list[Partial],
    base: str,
    names: list[str],
    to: str,
    command: str,
    public: dict[tuple[int, ...], str],
) -> str:
    entry = partials.entry
    order_max = max(p.order for p in levels)
    what = "and its derivatives" if order_max else "(value only)"
    parts = [f"{base} {what} for {FRAMEWORKS[to]}, exported by symcalc {__version__}.", ""]
    if entry.kind != "expression":
        parts.append(entry.to_text().splitlines()[1].strip().capitalize() + ".")
    bound = {k: v for k, v in entry.params.items()}
    if bound:
        values = ", ".join(f"{k} = {sympy.sstr(v)}" for k, v in bound.items())
        parts.append(f"Parameters (bound in the code below): {values}.")
    parts += ["", "Formulas, as symcalc derives them:", ""]
    parts += [f"    {_formula(p, base, names)}" for p in levels]
    if entry.identity is not None and order_max:
        parts.append(f"    classic form of d/d{names[0]}: {sympy.sstr(entry.identity)}")
    if order_max:
        derivation = derive(entry, wrt=entry.variable)
        parts += ["", f"Derivation of d/d{names[0]}, rule by rule:", ""]
        steps = derivation.to_text(steps=True).split("steps:", 1)[-1].strip().splitlines()
        parts += [f"    {line}" for line in steps]
    parts += ["", "Evaluated in stable forms (the forms of symcalc's NumPy kernels):", ""]
    for p in levels:
        rewrites = ", ".join(dict.fromkeys(p.form.rewrites))
        how = f"   (rewrites: {rewrites})" if rewrites else ""
        parts.append(f"    {public[p.index]} = {sympy.sstr(p.form.lowered)}{how}")
        parts += [f"        {b.to_text()}" for b in p.form.branches]
    parts += [
        "",
        "Accuracy, tested by symcalc against mpmath at 50 digits: within 1e-12 relative in",
        "float64 (1e-300 absolute where the value underflows) and 1e-5 in float32, for every",
        "finite input of the domain, for the function and each derivative above.",
        "",
    ]
    first = public.get((0,), "its derivative")
    second = f", whose own derivative is {public[(0, 0)]}" if (0, 0) in public else ""
    call = _signature(base, names)
    parts += textwrap.wrap(_USAGE[to].format(call=call, first=first, second=second), WIDTH)
    parts += ["", f"Generated by `{command}`; it does not import symcalc."]
    text = "\n".join(wrapped for line in parts for wrapped in _wrap(_escape(line)))
    return f'"""{text}\n"""'


def export_module(
    f: str | sympy.Expr | Entry,
    *,
    to: str = "jax",
    params: Mapping[str, Any] | None = None,
    order_max: int = 2,
    convention: str = "zero",
    command: str | None = None,
) -> ExportedModule:
    """A standalone module for ``to`` ("jax", "torch" or "numpy") with ``f``'s derivatives.

    Every partial derivative up to ``order_max`` is a public function (``d_f_dx``,
    ``d2_f_dx2``, ``d2_f_dp_dy``); ``command`` is the command quoted in the module's
    docstring (default: this call).  The framework itself is not needed to write it.

    Examples
    --------
    >>> module = export_module("sigmoid", to="numpy", order_max=1)
    >>> [f.name for f in module.functions]
    ['sigmoid', 'd_sigmoid_dx']
    >>> namespace = {}
    >>> exec(module.source, namespace)
    >>> float(namespace["d_sigmoid_dx"](1000.0))
    0.0
    """
    if to not in FRAMEWORKS:
        raise SymcalcError(f"unknown framework '{to}'; choose one of {', '.join(FRAMEWORKS)}")
    order_max = check_order_max(order_max)

    def built() -> tuple[Partials, list[Partial]]:
        partials = Partials(f, params=params, convention=convention)
        return partials, partials.all(order_max)

    # one budget for all the partials, as for one kernel (each had its own: the three of
    # x^x^x^x^x^x took 22 s of CPU time under the default 5 s)
    entry = resolve(f, **dict(params or {}))
    what = f"building the kernels of derivatives 0 to {order_max} of {entry.signature()}"
    partials, levels = within_build_budget(entry, order_max, built, what=what)
    entry = partials.entry
    base = entry.name if entry.kind != "expression" else "f"
    names = python_names(partials.variables)
    public = {p.index: p.python_name(base, names) for p in levels}
    runtime = RUNTIMES[to]
    helpers: dict[str, None] = {}
    bodies = []
    for p in levels:
        formula = _escape(_formula(p, base, names))
        lowered = _escape(f"Evaluated as {sympy.sstr(p.form.lowered)}.")
        doc = "\n".join(_lines(f"{formula}\n\n{lowered}", WIDTH - 8))
        wrapped = runtime.plain or (p.order < order_max and runtime.differentiates)
        body_name = f"_{public[p.index]}" if wrapped else public[p.index]
        helper, body = level_source(p, to, body_name, names=names, doc=doc)
        helpers.update(dict.fromkeys(h.strip() for h in helper.split("\n\n\n") if h.strip()))
        bodies.append(body)
    wiring = []
    for p in levels:
        name = public[p.index]
        if p.order < order_max and runtime.differentiates:
            nexts = [public[tuple(sorted(p.index + (i,)))] for i in range(len(names))]
            thunks = [f"lambda: {n}" for n in nexts]
            finite = None
            if to == "jax":  # the dtypes where each partial is finite for finite inputs
                flags = [partials.get(tuple(sorted(i))).finite for i in _nexts(p.index, names)]
                finite = [f"lambda: {_tuple(f)}" for f in flags]
            wiring.append(_wiring(name, thunks, finite))
        elif runtime.plain:
            wiring.append(f"{name} = _plain(_{name})")
    code = "\n\n\n".join([*helpers, runtime.source.strip(), *(b.strip() for b in bodies)])
    imports = _imports(set(runtime.imports) | set(PRINTERS[to]().imports(code)))
    command = command or _call(entry, to, params, order_max, convention)
    docstring = _docstring(partials, levels, base, names, to, command, public)
    exported = sorted((public[p.index] for p in levels), key=_natural)
    listed = ", ".join(f'"{name}"' for name in exported)
    how = (
        "# Each function's derivative along each argument is the next function: the"
        "\n# framework evaluates symcalc's derivatives, and differentiates the last one's"
        "\n# code itself."
        if runtime.differentiates
        else "# The function and its derivatives, each on arrays of one dtype."
    )
    wiring_lines = [line for w in wiring for line in _wrap_call(w)]
    source = "\n".join(
        [
            docstring,
            "",
            *imports,
            "",
            f"__all__ = [{listed}]" if len(listed) < 76 else _all_block(exported),
            "",
            "",
            code.rstrip(),
            "",
            "",
            how,
            *wiring_lines,
            "",
        ]
    )
    functions = tuple(
        ExportedFunction(
            public[p.index],
            p.notation([v.name for v in partials.variables]) or "f",
            sympy.sstr(p.expr),
            sympy.sstr(p.form.lowered),
        )
        for p in levels
    )
    return ExportedModule(entry.name, to, base, source, functions)


def _call(
    entry: Entry, to: str, params: Mapping[str, Any] | None, order_max: int, convention: str
) -> str:
    """The Python call that writes the module again (quoted in its docstring)."""
    args = [repr(entry.name), f"to={to!r}"]
    if params:
        args.append(f"params={dict(params)!r}")
    if order_max != 2:
        args.append(f"order_max={order_max}")
    if convention != "zero":
        args.append(f"convention={convention!r}")
    return f"symcalc.export_module({', '.join(args)})"


def _all_block(names: list[str]) -> str:
    return "__all__ = [\n" + "".join(f'    "{name}",\n' for name in names) + "]"


def _wrap_call(line: str) -> list[str]:
    """A wiring line over several lines when longer than 88 columns, in the form
    ``ruff format`` gives it (lists one item a line, with trailing commas)."""
    if len(line) <= 88:
        return [line]
    head, _, rest = line.partition(" = ")
    call, _, args = rest.partition("(")
    first, _, items = args.removesuffix(")").partition(", [")
    if not items:
        return [f"{head} = {call}(", f"    {first},", ")"]
    items, _, finite = items.partition("], finite=[")
    lines = [f"{head} = {call}(", f"    {first},", "    ["]
    lines += [f"        {t}," for t in _lambdas(items.removesuffix("]"))]
    lines.append("    ],")
    if finite:
        lines.append("    finite=[")
        lines += [f"        {f}," for f in _lambdas(finite.removesuffix("]"))]
        lines.append("    ],")
    return [*lines, ")"]


def _lambdas(text: str) -> list[str]:
    """``lambda: a, lambda: (b, c)`` split into its lambdas."""
    return re.split(r", (?=lambda: )", text)


def _wiring(name: str, thunks: list[str], finite: list[str] | None) -> str:
    """``name = _differentiable(_name, [thunks], finite=[...])`` on one line."""
    extra = f", finite=[{', '.join(finite)}]" if finite is not None else ""
    return f"{name} = _differentiable(_{name}, [{', '.join(thunks)}]{extra})"


def _nexts(index: tuple[int, ...], names: list[str]) -> list[tuple[int, ...]]:
    """The indices one order up from ``index``, one per variable."""
    return [(*index, i) for i in range(len(names))]


def _tuple(names: tuple[str, ...]) -> str:
    """``names`` as ruff formats a tuple of strings: ``()``, ``("a",)``, ``("a", "b")``."""
    quoted = [f'"{n}"' for n in names]
    return f"({quoted[0]},)" if len(quoted) == 1 else f"({', '.join(quoted)})"


def _natural(name: str) -> list:
    """Sort key of ruff's ``__all__`` order: runs of digits compare as numbers."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", name)]
