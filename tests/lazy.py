"""JAX and PyTorch, imported when a test first uses them rather than when pytest collects.

Not a test module (no ``test_`` prefix).  Importing both costs a test process about 1.8 s
of CPU and 1.6 GB of address space; collected at module level, every ``pytest -n``
worker paid for them before its first test, and every budget child (SymPy work under a
CPU budget, forked thousands of times in the suite) was forked from the larger process.
The framework test modules name them through this module instead::

    jax = lazy("jax")                 # a module: imported at the first attribute asked
    F = lazy("torch.nn.functional")
    TAILS = [("sigmoid", lazy("jax.nn.sigmoid"), ...)]  # a parameter: `real` in the test

A test receiving a `Lazy` as a parameter passes it through `real` first, so it works with
the framework's own object, exactly as if the module had imported it.  A parameter's
test id is the one the framework's object gave: the attribute's name (pytest names a
function by its ``__name__``; ``named="..."`` for an alias), or with ``named=False``
pytest's ``argname`` + index (as for a ``torch.dtype``).
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["Lazy", "lazy", "real", "torch_dtype"]


def _load(path: str) -> Any:
    """The module ``path``, or the attribute ``path`` of the longest module prefix."""
    parts = path.split(".")
    for end in range(len(parts), 0, -1):
        module = ".".join(parts[:end])
        try:
            found = importlib.import_module(module)
        except ModuleNotFoundError as error:
            if error.name != module:  # the module exists; something it imports does not
                raise
            continue
        for part in parts[end:]:
            found = getattr(found, part)
        return found
    raise ModuleNotFoundError(f"No module named {parts[0]!r}", name=parts[0])


class Lazy:
    """A module, or an attribute of one, loaded the first time something is asked of it.

    Attribute access and calls go to the real object; so do submodules not yet imported
    (``lazy("jax").test_util``).  Names that begin with ``_`` are not forwarded: pytest's
    collection asks every module-level object for some (``__name__``, ``_mock_name``),
    and must import nothing.

    ``named``: the ``__name__`` that pytest takes for a parameter's test id; True for the
    attribute's own (the last part of ``path``), a string where the framework's object is
    named otherwise (an alias), False for none (pytest's ``argname`` + index)."""

    def __init__(self, path: str, *, named: bool | str = True) -> None:
        self._path = path
        self._real: Any = None
        if named:
            self.__name__ = named if isinstance(named, str) else path.rpartition(".")[2]

    def _resolve(self) -> Any:
        if self._real is None:
            self._real = _load(self._path)
        return self._real

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        target = self._resolve()
        try:
            return getattr(target, name)
        except AttributeError:
            if not hasattr(target, "__path__"):  # not a package: no submodules
                raise
            return importlib.import_module(f"{target.__name__}.{name}")

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self._resolve()(*args, **kwargs)

    def __repr__(self) -> str:
        state = "loaded" if self._real is not None else "not loaded"
        return f"<lazy {self._path} ({state})>"


def lazy(path: str, *, named: bool | str = True) -> Lazy:
    """`Lazy` for ``path`` (``"torch"``, ``"jax.numpy"``, ``"jax.nn.sigmoid"``)."""
    return Lazy(path, named=named)


def real(value: Any) -> Any:
    """The framework's own object for a `Lazy` (imported now if need be); any other value
    as it is."""
    return value._resolve() if isinstance(value, Lazy) else value


def torch_dtype(dtype: Any) -> Any:
    """PyTorch's dtype for a NumPy float64 or float32 ``np.dtype``."""
    import numpy as np
    import torch

    return {np.dtype(np.float64): torch.float64, np.dtype(np.float32): torch.float32}[dtype]
