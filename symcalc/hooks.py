"""Pictures of results, registered from above: how a lower layer's result draws itself.

A result class of `symcalc.numeric` or `symcalc.learn` must not import the
presentation layer (matplotlib), yet a notebook calls its ``_repr_png_``.  The result
calls `png_of`, which looks up the drawing function registered for its class.  The
package's top-level ``__init__`` registers them by dotted names (the class as
"module.Class", the drawer as "module:function"), so nothing is imported until a
picture is asked for.  Imports nothing of symcalc.

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

__all__ = ["png_of", "register_png"]

#: "module.Class" -> "module:function" (or the function itself) that returns PNG bytes.
_PNG: dict[str, str | Callable[[Any], Any]] = {}


def register_png(class_name: str, drawer: str | Callable[[Any], Any]) -> None:
    """Draw instances of the class ``class_name`` ("module.Class") with ``drawer``."""
    _PNG[class_name] = drawer


def png_of(result: Any) -> Any:
    """The PNG picture of ``result``, from the drawer registered for its class (or a base)."""
    for cls in type(result).__mro__:
        key = f"{cls.__module__}.{cls.__qualname__}"
        drawer = _PNG.get(key)
        if drawer is None:
            continue
        if isinstance(drawer, str):
            module, _, name = drawer.partition(":")
            drawer = getattr(importlib.import_module(module), name)
            _PNG[key] = drawer
        return drawer(result)
    raise TypeError(f"no picture is registered for {type(result).__name__}")
