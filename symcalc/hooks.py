"""Pictures of results, registered from above: how a lower layer's result draws itself
(and, the same way, how a higher layer's result reads as a function of its inputs).

A result class of `symcalc.numeric` or `symcalc.learn` must not import the
presentation layer (matplotlib), yet a notebook calls its ``_repr_png_``.  The result
calls `png_of`, which looks up the drawing function registered for its class.  The
package's top-level ``__init__`` registers them by dotted names (the class as
"module.Class", the drawer as "module:function"), so nothing is imported until a
picture is asked for.  Likewise `function_of` turns a result of a higher layer (a
model fitted by `symcalc.learn.descent.descend`) into a function a lower layer can
take (`symcalc.numeric.attribution` takes f with names, values and a gradient),
through the reader registered for its class.  Imports nothing of symcalc.

Examples
--------
>>> class Thing:
...     pass
>>> register_png(f"{__name__}.Thing", "builtins:repr")
>>> png_of(Thing()).startswith("<")
True
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

__all__ = ["function_of", "png_of", "register_function", "register_png"]

#: "module.Class" -> "module:function" (or the function itself) that returns PNG bytes.
_PNG: dict[str, str | Callable[[Any], Any]] = {}
#: "module.Class" -> "module:function" (or the function itself) that reads a result as f.
_FUNCTIONS: dict[str, str | Callable[[Any], Any]] = {}


def register_png(class_name: str, drawer: str | Callable[[Any], Any]) -> None:
    """Draw instances of the class ``class_name`` ("module.Class") with ``drawer``."""
    _PNG[class_name] = drawer


def register_function(class_name: str, reader: str | Callable[[Any], Any]) -> None:
    """Read instances of the class ``class_name`` ("module.Class") as functions with ``reader``."""
    _FUNCTIONS[class_name] = reader


def _lookup(table: dict[str, str | Callable[[Any], Any]], result: Any) -> Callable | None:
    """The function registered for the class of ``result`` (or a base), loaded on first use."""
    for cls in type(result).__mro__:
        key = f"{cls.__module__}.{cls.__qualname__}"
        found = table.get(key)
        if found is None:
            continue
        if isinstance(found, str):
            module, _, name = found.partition(":")
            found = getattr(importlib.import_module(module), name)
            table[key] = found
        return found
    return None


def png_of(result: Any) -> Any:
    """The PNG picture of ``result``, from the drawer registered for its class (or a base)."""
    drawer = _lookup(_PNG, result)
    if drawer is None:
        raise TypeError(f"no picture is registered for {type(result).__name__}")
    return drawer(result)


def function_of(result: Any) -> Any | None:
    """``result`` read as a function by the reader registered for its class, or None.

    Examples
    --------
    >>> class Fit:
    ...     pass
    >>> register_function(f"{__name__}.Fit", lambda fit: "f of the fit")
    >>> function_of(Fit()), function_of(3)
    ('f of the fit', None)
    """
    reader = _lookup(_FUNCTIONS, result)
    return None if reader is None else reader(result)
