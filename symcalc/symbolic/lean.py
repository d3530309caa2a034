"""Keep SymPy lean in short-lived processes: the time budget's workers and the command line.

Two SymPy modules are imported by SymPy's own code only to ask whether an expression
holds one of their objects:

* ``sympy.simplify`` (also called inside ``integrate`` and ``manualintegrate``) imports
  ``sympy.physics.units``, about 0.1 s of CPU in every process, to ask whether the
  expression holds a ``Quantity``;
* SymPy's first sum (``Add.flatten``) imports ``sympy.tensor.tensor``, and with it
  ``sympy.combinatorics``, about 25 ms, to ask whether a term is a ``TensExpr``.

No expression can hold such an object before its module is loaded, so while it is not,
`stand_ins` puts a small module in its place whose classes nothing is an instance of.
Any other name asked of it loads the real module, so code that does use units or tensors
still gets them.  The budget's worker (one thread, discarded after its work) runs under
the units stand-in, the command line under both; a library caller under neither.

A worker forked before the caller's first sum would import ``sympy.tensor.tensor``, and
then the caller again; `preload` imports it in the caller, once, before a worker is
forked (where no stand-in is in place).

Examples
--------
>>> import sympy
>>> x = sympy.Symbol("x")
>>> with stand_ins("sympy.physics.units"):
...     sympy.simplify(sympy.exp(x) * sympy.exp(-x))
1
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterable, Iterator
from typing import Any

__all__ = ["STAND_INS", "preload", "stand_ins", "units_placeholder"]

#: Module -> the names SymPy's own code asks of it, only to test isinstance.
STAND_INS: dict[str, tuple[str, ...]] = {
    "sympy.physics.units": ("Quantity",),
    "sympy.tensor.tensor": ("TensExpr", "TensAdd"),
}


class _StandIn(types.ModuleType):
    def __getattr__(self, name: str) -> Any:  # any other name: the real module
        if name.startswith("__"):  # the import system asking (__path__, ...): no
            raise AttributeError(name)
        if sys.modules.get(self.__name__) is self:
            del sys.modules[self.__name__]
        return getattr(importlib.import_module(self.__name__), name)


def _stand_in(module: str) -> _StandIn:
    made = _StandIn(module, f"stands in for {module} (see symcalc.symbolic.lean)")
    for name in STAND_INS[module]:
        setattr(made, name, type(name, (), {"__doc__": f"Stands for {module}.{name}."}))
    return made


@contextlib.contextmanager
def stand_ins(*modules: str) -> Iterator[None]:
    """Within the block, the ``modules`` (keys of `STAND_INS`) not yet loaded cost nothing
    to import for the names SymPy asks of them."""
    placed = {m: _stand_in(m) for m in modules if m not in sys.modules}
    sys.modules.update(placed)
    try:
        yield
    finally:
        for module, made in placed.items():
            if sys.modules.get(module) is made:
                del sys.modules[module]


def units_placeholder() -> contextlib.AbstractContextManager[None]:
    """`stand_ins` for ``sympy.physics.units`` alone (the budget's workers)."""
    return stand_ins("sympy.physics.units")


#: Modules SymPy imports inside its arithmetic, the first time it runs.
_FIRST_USE = ("sympy.tensor.tensor",)


def preload(names: Iterable[str] = _FIRST_USE) -> None:
    """Import, in this process, what SymPy would import on first use (by default what its
    arithmetic imports; nothing while a stand-in is in its place): once in the caller
    rather than once in each worker forked from it.

    Examples
    --------
    >>> preload()
    >>> "sympy.tensor.tensor" in sys.modules
    True
    """
    for name in names:
        if name not in sys.modules:
            importlib.import_module(name)
