"""Keep SymPy lean in the time budget's worker processes.

``sympy.simplify`` (also called inside ``integrate`` and ``manualintegrate``) imports
``sympy.physics.units``, about 0.1 s of CPU in every process, only to ask whether the
expression holds a ``Quantity``.  No expression can hold one before that package is
loaded, so while it is not, `units_placeholder` puts a small module in its place whose
``Quantity`` no expression contains.  Any other name asked of it loads the real package,
so code that does use units still gets them.  The budget's worker (one thread, discarded
after its work) runs under it; nothing else does.

SymPy's first sum imports ``sympy.tensor.tensor`` (and ``sympy.combinatorics`` with it,
about 25 ms): `Add.flatten` asks whether a term is a tensor expression.  A worker forked
before the caller's first sum would import it, and then the caller again; `preload`
imports it in the caller, once, before a worker is forked.

Examples
--------
>>> import sympy
>>> x = sympy.Symbol("x")
>>> with units_placeholder():
...     sympy.simplify(sympy.exp(x) * sympy.exp(-x))
1
"""

from __future__ import annotations

import contextlib
import importlib
import sys
import types
from collections.abc import Iterator
from typing import Any

__all__ = ["preload", "units_placeholder"]

_NAME = "sympy.physics.units"


class Quantity:
    """Stands for ``sympy.physics.units.Quantity`` while that package is not loaded."""


class _Placeholder(types.ModuleType):
    def __getattr__(self, name: str) -> Any:  # any other name: the real package
        if name.startswith("__"):  # the import system asking (__path__, ...): no
            raise AttributeError(name)
        if sys.modules.get(_NAME) is self:
            del sys.modules[_NAME]
        return getattr(importlib.import_module(_NAME), name)


@contextlib.contextmanager
def units_placeholder() -> Iterator[None]:
    """Within the block, importing ``Quantity`` from ``sympy.physics.units`` costs nothing."""
    if _NAME in sys.modules:
        yield
        return
    placeholder = _Placeholder(
        _NAME, "stands in for sympy.physics.units (see symcalc.symbolic.lean)"
    )
    placeholder.Quantity = Quantity
    sys.modules[_NAME] = placeholder
    try:
        yield
    finally:
        if sys.modules.get(_NAME) is placeholder:
            del sys.modules[_NAME]


#: Modules SymPy imports inside its arithmetic, the first time it runs.
_FIRST_USE = ("sympy.tensor.tensor",)


def preload() -> None:
    """Import, in this process, what SymPy's arithmetic would import on first use.

    Examples
    --------
    >>> preload()
    >>> "sympy.tensor.tensor" in sys.modules
    True
    """
    for name in _FIRST_USE:
        if name not in sys.modules:
            importlib.import_module(name)
