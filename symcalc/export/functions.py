"""A function of framework arrays whose derivatives are symcalc's: the core of to_jax/to_torch.

`FrameworkFunction` compiles, on request and once, one function per partial
derivative (`symcalc.export.partials`): its stable form goes through the kernel graph
and the framework's `ArrayPrinter` into a body of whole-array code, run in a namespace
that holds the framework's shared code (`symcalc.export.runtime`).  Up to ``order_max``
each level is wired by the runtime's ``_differentiable``: its derivative along
argument ``i`` is the level one order up, itself wired the same way, so a second
derivative taken by the framework evaluates symcalc's symbolic second derivative.
The last level is plain code that the framework differentiates itself if asked for
more (exact arithmetic of that code, without symcalc's stability promise).

Generated code names its arguments ``a0, a1, ...`` and carries no docstrings here, so
nothing of an expression's text reaches the code that runs; `symcalc.export.module`
writes the same bodies with readable names into files.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import sympy

from ..errors import SymcalcError
from ..numeric.kernels.backends import array_source, nan_inputs
from .memo import Memo
from .partials import Partial, Partials
from .printers import PRINTERS
from .runtime import RUNTIMES, load

__all__ = ["FrameworkFunction", "level_source"]


def _is_complex(a: Any) -> bool:
    """Whether ``a`` is a complex number or a NumPy, JAX or PyTorch array of complex dtype.

    Examples
    --------
    >>> import numpy as np
    >>> _is_complex(1j), _is_complex(np.zeros(2, complex)), _is_complex(np.float32(1.0))
    (True, True, False)
    """
    if isinstance(a, complex):
        return True
    dtype = getattr(a, "dtype", None)
    if getattr(dtype, "is_complex", False) is True:  # a torch.dtype
        return True
    return getattr(dtype, "kind", "") == "c"  # NumPy's and JAX's dtypes


def _is_numeric(a: Any) -> bool:
    """Whether ``a`` is a number, or an array, tensor or (nested) list that may hold
    numbers: a string, None or a NumPy array of strings or objects is not."""
    if isinstance(a, (bool, int, float, list, tuple)):
        return True
    dtype = getattr(a, "dtype", None)
    if dtype is None:
        return False
    kind = getattr(dtype, "kind", None)  # NumPy's and JAX's dtypes; a torch.dtype has none
    if kind == "V":  # ml_dtypes' floats in JAX (bfloat16, float8_*) are of NumPy kind "V"
        return str(getattr(dtype, "name", "")).startswith(("bfloat16", "float"))
    return kind is None or kind in "biuf"


def _dtype_text(a: Any) -> str:
    dtype = getattr(a, "dtype", None)
    return f" of dtype {dtype}" if dtype is not None else ""


def _shape(a: Any) -> tuple[int, ...]:
    """``a``'s shape without converting it (a tensor that requires grad stays one)."""
    shape = getattr(a, "shape", None)
    return tuple(shape) if shape is not None else np.shape(a)


def level_source(
    partial: Partial,
    framework: str,
    name: str,
    *,
    names: Sequence[str] | None = None,
    doc: str | None = None,
) -> tuple[str, str]:
    """The body of one partial derivative for ``framework``: (helpers, function source)."""
    printer = PRINTERS[framework]()
    lowered = partial.lowered_for(framework)
    finish = "_finish"
    if framework == "jax" and len(nan_inputs(lowered, partial.variables)) == len(partial.variables):
        finish = "_finish_kept"  # NaN in, NaN out already: no NaN select
    body = array_source(
        lowered, partial.variables, printer, name, names=names, finish=finish, doc=doc
    )
    return printer.prelude(body), body


class FrameworkFunction:
    """``f`` and its partial derivatives as functions of ``framework`` arrays.

    Call it like the NumPy kernel: one argument per variable (a loss takes its target
    after the prediction), arrays broadcast together, Python numbers follow the arrays'
    dtype.  `level` gives the function of any partial derivative, `source` its code.
    """

    framework = ""

    def __init__(self, partials: Partials, order_max: int):
        self.partials = partials
        self.entry = partials.entry
        self.variables = partials.variables
        self.order_max = order_max
        self._runtime = RUNTIMES[self.framework]
        self._namespace = load(self.framework)
        self._lock = threading.RLock()
        self._levels: Memo[tuple[int, ...], Callable[..., Any]] = Memo(self._lock)
        self._bodies: Memo[tuple[int, ...], Callable[..., Any]] = Memo(self._lock)
        self._sources: dict[tuple[int, ...], str] = {}

    # -- levels -------------------------------------------------------------------------
    def level(self, index: Sequence[int] = ()) -> Callable[..., Any]:
        """The function of the partial derivative along ``index`` (variable positions)."""
        return self._levels.get(tuple(sorted(index)), self._wire)

    def _wire(self, index: tuple[int, ...]) -> Callable[..., Any]:
        value = self.body(index)
        if len(index) >= self.order_max or not self._runtime.differentiates:
            return self._namespace["_plain"](value) if self._runtime.plain else value
        partials = [(lambda i=i: self.level(index + (i,))) for i in range(len(self.variables))]
        return self._namespace["_differentiable"](
            self._traced(value, index), partials, **self._extra(index)
        )

    def _traced(self, value: Callable[..., Any], index: tuple[int, ...]) -> Callable[..., Any]:
        """A level's body as its wrapper calls it (a subclass may compile it or route it)."""
        return value

    def _extra(self, index: tuple[int, ...]) -> dict[str, Any]:
        """Extra arguments of the runtime's ``_differentiable`` for the level at ``index``."""
        return {}

    def body(self, index: Sequence[int] = ()) -> Callable[..., Any]:
        """The plain generated function of the partial along ``index`` (built once)."""
        return self._bodies.get(tuple(sorted(index)), self._compile)

    def _compile(self, index: tuple[int, ...]) -> Callable[..., Any]:
        partial = self.partials.get(index)
        name = f"_level_{'_'.join(map(str, index)) or 'f'}"
        helpers, body = level_source(partial, self.framework, name)
        imports = "\n".join(PRINTERS[self.framework]().imports(f"{helpers}\n{body}"))
        source = "\n\n".join(part for part in (imports, helpers, body) if part)
        self._sources[index] = source
        namespace = dict(self._namespace)
        code = compile(source, f"<symcalc {self.framework} {self.entry.name} {name}>", "exec")
        exec(code, namespace)  # noqa: S102 - generated: arguments a0, a1, ..., no text of the input
        return namespace[name]

    def source(self, index: Sequence[int] = ()) -> str:
        """The generated code of the partial derivative along ``index``."""
        key = tuple(sorted(index))
        self.body(key)
        return self._sources[key]

    # -- calling ----------------------------------------------------------------------------
    def check_arguments(self, args: Sequence[Any]) -> None:
        """One argument per variable, each real: a complex input is refused (the stable
        forms are real formulas; JAX would compute a complex result, PyTorch drop the
        imaginary part)."""
        if len(args) != len(self.variables):
            names = ", ".join(v.name for v in self.variables)
            raise SymcalcError(
                f"{self.signature()} takes {len(self.variables)} argument(s) ({names}), "
                f"got {len(args)}"
            )
        if any(map(_is_complex, args)):
            raise SymcalcError(
                f"{self.signature()} is a real function: got a complex input; "
                "pass its real part (or real and imaginary parts separately)"
            )
        for a in args:
            if not _is_numeric(a):
                raise SymcalcError(
                    f"{self.signature()} takes arrays or numbers: got a {type(a).__name__}"
                    f"{_dtype_text(a)}"
                )
        shapes = [_shape(a) for a in args]
        try:
            np.broadcast_shapes(*shapes)
        except ValueError:
            listed = ", ".join(str(s) for s in shapes)
            raise SymcalcError(
                f"{self.signature()}: arguments of shapes {listed} do not broadcast together"
            ) from None

    def __call__(self, *args: Any) -> Any:
        self.check_arguments(args)
        return self.level(())(*args)

    # -- display ----------------------------------------------------------------------------
    def signature(self) -> str:
        name = self.entry.name if self.entry.kind != "expression" else "f"
        return f"{name}({', '.join(v.name for v in self.variables)})"

    def to_text(self) -> str:
        lines = [f"{self.signature()} = {sympy.sstr(self.entry.expr)}  [{self.framework}]"]
        lines.append(f"  evaluated as: {sympy.sstr(self.partials.get(()).form.lowered)}")
        lines.append(
            f"  derivatives: symcalc's own up to order {self.order_max}"
            f"{'' if self.order_max else ' (none: the framework differentiates the code)'}"
        )
        return "\n".join(lines)

    def __repr__(self) -> str:
        kind = type(self).__name__
        return f"<{kind} {self.signature()}, symbolic derivatives to order {self.order_max}>"
